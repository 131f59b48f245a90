//! Batch-1 tagging throughput: one sentence per call, as a firmware caller tags.
//!
//! Base model with random weights (`RandomModel::BASE`): word embedding 100 (10k
//! words), char BiLSTM 32 (char embedding 32), word BiLSTM 128, 17 tags.
//! Run: `cargo bench -p postag-core`.

use std::time::{Duration, Instant};

use postag_core::synthetic::RandomModel;
use postag_core::tensor::Storage;
use postag_core::Model;

fn main() {
    for storage in [Storage::F32, Storage::I8] {
        let spec = RandomModel {
            storage,
            ..RandomModel::BASE
        };
        let (blob, words) = spec.build().unwrap();
        let model = Model::from_bytes(&blob).unwrap();
        let sentences = RandomModel::sentences(&words, 500, 7);
        let mut scratch = vec![0u8; model.scratch_bytes(64).unwrap()];
        let mut tags = vec![0u16; 64];
        let mut run = || {
            let mut tokens = 0;
            for s in &sentences {
                model.tag(s, &mut scratch, &mut tags, None).unwrap();
                tokens += s.len();
            }
            tokens
        };
        run(); // warm up
        let (mut tokens, start) = (0usize, Instant::now());
        while start.elapsed() < Duration::from_secs(3) {
            tokens += run();
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "batch-1 tagging, base model {:?}: {:.0} tokens/s ({:.1} us/token), blob {} KB, scratch for 64 tokens {} KB",
            storage,
            tokens as f64 / secs,
            secs * 1e6 / tokens as f64,
            blob.len() / 1024,
            model.scratch_bytes(64).unwrap() / 1024
        );
    }
}
