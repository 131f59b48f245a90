//! The segmenter on any input: `Segmenter::from_bytes` on a blob with a segmenter whose
//! bytes the input mutates (CRC-32 made valid, so that mutations reach the validation),
//! and `segment` and `expand` on any text, window and output size. Errors or tokens
//! that are char-boundary spans of the text in order, never a panic.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use postag_core::segment::build::{with_segmenter, SegCell, SegmenterWeights};
use postag_core::segment::{SegToken, Segmenter};
use postag_core::tensor::Storage;

/// The pinned test model with a small bidirectional segmenter over a few characters.
fn blob() -> &'static [u8] {
    static BLOB: OnceLock<Vec<u8>> = OnceLock::new();
    BLOB.get_or_init(|| {
        let tiny = include_bytes!("../../core/tests/golden/tiny.postag");
        let (dim, h) = (4, 3);
        let chars: Vec<(char, u32)> = "ab .!'".chars().zip(1..).collect();
        let rows = chars.len() + 1;
        let w = |n: usize, seed: usize| -> Vec<f32> {
            (0..n)
                .map(|i| (((i * 7919 + seed * 104_729) % 2001) as f32) / 1000.0 - 1.0)
                .collect()
        };
        let cells = (0..2)
            .map(|d| SegCell {
                w_ih: w(4 * h * dim, 10 + d),
                w_hh: w(4 * h * h, 20 + d),
                bias: w(4 * h, 30 + d),
            })
            .collect();
        let seg = SegmenterWeights {
            spaces_in_tokens: false,
            chars,
            embedding: w(rows * dim, 1),
            rows,
            dim,
            cells,
            out_w: w(5 * 2 * h, 50),
            out_b: vec![0.0, 0.5, 0.3, 0.2, 0.1],
            multiwords: vec![
                ("ab".into(), vec!["a".into(), "b".into()]),
                ("b'a".into(), vec!["be".into(), "a".into()]),
            ],
        };
        with_segmenter(tiny, Some(&seg), Storage::I8).expect("the test segmenter builds")
    })
}

fuzz_target!(|data: &[u8]| {
    let seed = blob();
    // The seed with bytes flipped where the input says, CRC-32 made valid.
    let mut mutated = seed.to_vec();
    for c in data.chunks_exact(3).take(8) {
        let at = u16::from_le_bytes([c[0], c[1]]) as usize % (mutated.len() - 4);
        mutated[at] ^= c[2];
    }
    let body = mutated.len() - 4;
    let crc = postag_core::crc32(&mutated[..body]);
    mutated[body..].copy_from_slice(&crc.to_le_bytes());
    if let Ok(Some(seg)) = Segmenter::from_bytes(&mutated) {
        segment(&seg, "ab. b'a ab!", 4, usize::MAX);
    }
    // Any text through the seed's segmenter.
    let seg = Segmenter::from_bytes(seed)
        .expect("the seed loads")
        .expect("the seed has a segmenter");
    let (head, rest) = data.split_at(data.len().min(2));
    let window = match head.first() {
        Some(0) => 0,
        Some(255) => postag_core::segment::MAX_WINDOW + 1,
        Some(&b) => b as usize % 40 + 1,
        None => 8,
    };
    let room = head.get(1).map_or(usize::MAX, |&b| b as usize);
    segment(&seg, &String::from_utf8_lossy(rest), window, room);
});

/// Segments `text` (with at most `room` output tokens), checks the tokens and expands
/// each one.
fn segment(seg: &Segmenter<'_>, text: &str, window: usize, room: usize) {
    let mut scratch = vec![0u8; seg.scratch_bytes(window).unwrap_or(0)];
    let mut out = vec![SegToken::default(); text.chars().count().min(room)];
    let Ok(done) = seg.segment(text, window, &mut scratch, &mut out) else {
        return;
    };
    assert!(done.consumed <= text.len() && text.is_char_boundary(done.consumed));
    let mut at = 0;
    for t in &out[..done.tokens] {
        let (s, e) = (t.start as usize, t.end as usize);
        assert!(at <= s && s < e && e <= done.consumed, "{t:?}");
        let surface = &text[s..e];
        let words: usize = seg.expand(surface).map(|w| w.as_str().len()).sum();
        assert!(words > 0 || surface.is_empty());
        at = e;
    }
}
