//! Any byte string as a model blob: loading returns an error or a model, and a loaded
//! model tags without panicking. Each input is also tried with its CRC-32 made valid, so
//! that mutations reach the header decoder and the validation behind the checksum.
#![no_main]

use libfuzzer_sys::fuzz_target;
use postag_core::Model;

#[path = "../../core/tests/common/exercise.rs"]
mod exercise;

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
    if let Ok(model) = Model::from_bytes(data) {
        exercise::exercise(&model);
    }
}
