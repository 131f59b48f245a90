//! Small segmenters for the segmentation tests: weights, blobs and a whole-text run.

use postag_core::segment::build::{with_segmenter, SegmenterWeights};
use postag_core::segment::{SegToken, Segmenter};
use postag_core::tensor::Storage;

/// `n` deterministic pseudo-random weights in [-1, 1] (xorshift from `seed`).
pub fn weights(n: usize, seed: u32) -> Vec<f32> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x % 2001) as f32 / 1000.0 - 1.0
        })
        .collect()
}

/// The tiny test model's blob with segmenter `s` (f32).
pub fn blob(s: &SegmenterWeights) -> Vec<u8> {
    with_segmenter(&super::tiny::blob(), Some(s), Storage::F32).unwrap()
}

/// The tokens of all of `text`, segmented in windows of `window` characters.
pub fn run(s: &Segmenter<'_>, text: &str, window: usize) -> Vec<SegToken> {
    let mut scratch = vec![0u8; s.scratch_bytes(window).unwrap()];
    let mut out = vec![SegToken::default(); text.chars().count()];
    let r = s.segment(text, window, &mut scratch, &mut out).unwrap();
    assert_eq!(r.consumed, text.len());
    out.truncate(r.tokens);
    out
}
