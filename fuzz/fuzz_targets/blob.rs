//! Any byte string as a model blob: loading returns an error or a model, and a loaded
//! model tags without panicking. Each input is also tried with its CRC-32 made valid, so
//! that mutations reach the header decoder and the validation behind the checksum.
#![no_main]

use libfuzzer_sys::fuzz_target;
use postag_core::Model;

const SENTENCES: [&[&str]; 3] = [
    &["the", "dog", "ate", "ñandú"],
    &[""],
    &["a\u{0301}\u{1F600}", "0000000000000000000000000000000000"],
];

fuzz_target!(|data: &[u8]| {
    exercise(data);
    if data.len() >= 16 {
        let mut fixed = data.to_vec();
        let body = fixed.len() - 4;
        let crc = postag_core::crc32(&fixed[..body]);
        fixed[body..].copy_from_slice(&crc.to_le_bytes());
        exercise(&fixed);
    }
});

fn exercise(data: &[u8]) {
    let Ok(model) = Model::from_bytes(data) else {
        return;
    };
    for tokens in SENTENCES {
        let Some(len) = model.scratch_bytes(tokens.len()) else {
            continue;
        };
        if len > 16 << 20 {
            continue;
        }
        let mut scratch = vec![0u8; len];
        let mut tags = vec![0u16; tokens.len()];
        let mut scores = vec![0f32; tokens.len() * model.num_tags()];
        let _ = model.tag(tokens, &mut scratch, &mut tags, Some(&mut scores));
    }
}
