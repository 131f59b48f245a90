//! Arbitrary token bytes (split at 0xFF), buffer sizes and states through every
//! tagging entry point of a model with all features, of one whose char net takes the
//! char projection cache, and of that one with its word LSTM in int8 panels: errors or
//! tags, never a panic; with the cache, the same answers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

use postag_core::synthetic::RandomModel;
use postag_core::tensor::Storage;
use postag_core::Model;

/// The pinned test model: char BiLSTM, two bidirectional layers, CRF, int8 and f32.
static BLOB: &[u8] = include_bytes!("../../core/tests/golden/tiny.postag");

/// A random int8 model whose one-layer char BiLSTM takes the char projection cache.
fn cached_blob() -> &'static [u8] {
    static BLOB: OnceLock<Vec<u8>> = OnceLock::new();
    BLOB.get_or_init(|| cached_spec().build().expect("a random model builds").0)
}

/// [`cached_blob`] with its word LSTM in the int8 panel layout.
fn int8_panels_blob() -> &'static [u8] {
    static BLOB: OnceLock<Vec<u8>> = OnceLock::new();
    BLOB.get_or_init(|| {
        let built = cached_spec().build_layout(true, true);
        built.expect("a random model builds").0
    })
}

/// The shape of [`cached_blob`]'s model.
fn cached_spec() -> RandomModel {
    RandomModel {
        words: 50,
        word_dim: 6,
        chars: Some((5, 7)),
        hidden: 4,
        layers: 1,
        bidirectional: true,
        tags: 3,
        storage: Storage::I8,
        seed: 3,
    }
}

fuzz_target!(|data: &[u8]| {
    for blob in [BLOB, cached_blob(), int8_panels_blob()] {
        run(&Model::from_bytes(blob).expect("the blob loads"), data);
    }
});

fn run(model: &Model<'_>, data: &[u8]) {
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
    let plain = model.tag(&tokens, &mut scratch, &mut tags, Some(&mut scores));
    // With the char projection cache (in scratch left with garbage): the same answer.
    if sizes.first().is_some_and(|&b| b >= 240) {
        let cached = model.cached_scratch_bytes(tokens.len()).unwrap_or(0);
        let mut more = vec![0xA5u8; cached.max(scratch_len)];
        let (mut tags2, mut scores2) = (vec![0u16; out_len], vec![0f32; scores.len()]);
        let again = model.tag(&tokens, &mut more, &mut tags2, Some(&mut scores2));
        assert_eq!(plain, again);
        if plain.is_ok() {
            assert_eq!(tags, tags2);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&scores), bits(&scores2));
        }
    }
    let mut state = vec![0.5f32; model.state_len()];
    let _ = model.tag_from_state(&tokens, &mut state, &mut scratch, &mut tags, None);
    if let Some(t) = tokens.first() {
        let _ = model.step(t, &mut state, &mut scratch, None);
    }
}
