//! Arbitrary token bytes (split at 0xFF), buffer sizes and states through every
//! tagging entry point of a model with all features: errors or tags, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use postag_core::Model;

/// The pinned test model: char BiLSTM, two bidirectional layers, CRF, int8 and f32.
static BLOB: &[u8] = include_bytes!("../../core/tests/golden/tiny.postag");

fuzz_target!(|data: &[u8]| {
    let model = Model::from_bytes(BLOB).expect("the golden blob loads");
    let (sizes, rest) = data.split_at(data.len().min(2));
    let tokens: Vec<&[u8]> = rest.split(|&b| b == 0xFF).collect();
    let need = model.scratch_bytes(tokens.len()).unwrap_or(0);
    // Sometimes too small a scratch buffer or output, on purpose.
    let scratch_len = match sizes.first() {
        Some(&b) if b < 16 => need * b as usize / 16,
        _ => need,
    };
    let out_len = match sizes.get(1) {
        Some(&b) if b < 16 => tokens.len().saturating_sub(1),
        _ => tokens.len(),
    };
    let mut scratch = vec![0u8; scratch_len];
    let mut tags = vec![0u16; out_len];
    let mut scores = vec![0f32; out_len * model.num_tags()];
    let _ = model.tag(&tokens, &mut scratch, &mut tags, Some(&mut scores));
    let mut state = vec![0.5f32; model.state_len()];
    let _ = model.tag_from_state(&tokens, &mut state, &mut scratch, &mut tags, None);
    if let Some(t) = tokens.first() {
        let _ = model.step(t, &mut state, &mut scratch, None);
    }
});
