//! Raw-text cases: a model with a segmenter, a text, and what the Rust core makes of
//! it (tokens, their words, one tag per word), written as a small text file that the
//! C programs (`tests/c/test_api.c`, `tests/firmware/raw.c`) read.
//!
//! The expectation comes from the core's own calls (`Segmenter::segment`,
//! `Segmenter::expand`, `Model::tag` per sentence), never from the C ABI.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use postag_core::segment::{SegToken, Segmenter, Word, TOKEN_MULTIWORD, TOKEN_SENTENCE_END};
use postag_core::Model;

/// A paragraph of English with contractions, abbreviations, numbers, punctuation,
/// non-ASCII letters and quotes, and several sentences.
pub const ENGLISH: &str = "I can't believe it's already 5 p.m. on Friday! Don't you think \
the café's prices went up? My sister's friend said, \u{201c}We'll see.\u{201d} \
Dr. Smith won't come: he's in Zürich until Jan. 3rd, 2024. Call (555) 123-4567 or \
e-mail info@example.com; they're open 9-5. Isn't that great?";

/// A word of a token: bytes of the text, or of the blob (a multiword table string).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// Offset into the text.
    Text(usize),
    /// Offset into the blob.
    Blob(usize),
}

/// What the core makes of a text.
#[derive(Debug, Clone, Default)]
pub struct Expected {
    /// The tokens, and the index of each one's first word and its word count.
    pub tokens: Vec<(SegToken, usize, usize)>,
    /// The words: where they are, their length, their tag.
    pub words: Vec<(Place, usize, u16)>,
    /// Characters of the text that are not whitespace.
    pub max_tokens: usize,
}

/// Segments `text` in windows of `window` characters, expands multiword tokens and
/// tags each sentence, with the core.
pub fn expected(blob: &[u8], text: &str, window: usize) -> Expected {
    let seg = Segmenter::from_bytes(blob).unwrap().unwrap();
    let model = Model::from_bytes(blob).unwrap();
    let mut scratch = vec![0u8; seg.scratch_bytes(window).unwrap()];
    let mut toks = vec![SegToken::default(); text.chars().count()];
    let done = seg.segment(text, window, &mut scratch, &mut toks).unwrap();
    assert_eq!(done.consumed, text.len());
    toks.truncate(done.tokens);
    let mut e = Expected {
        max_tokens: text.chars().filter(|c| !c.is_whitespace()).count(),
        ..Expected::default()
    };
    let mut sentence: Vec<(Place, usize, &[u8])> = Vec::new();
    for t in toks {
        let (s, end) = (t.start as usize, t.end as usize);
        let surface = &text[s..end];
        let first = e.words.len() + sentence.len();
        if t.flags & TOKEN_MULTIWORD != 0 {
            for w in seg.expand(surface) {
                sentence.push(match w {
                    Word::Surface(a, b, x) => (Place::Text(s + a), b - a, x.as_bytes()),
                    Word::Table(x) => (
                        Place::Blob(x.as_ptr() as usize - blob.as_ptr() as usize),
                        x.len(),
                        x.as_bytes(),
                    ),
                });
            }
        } else {
            sentence.push((Place::Text(s), surface.len(), surface.as_bytes()));
        }
        let n = e.words.len() + sentence.len() - first;
        e.tokens.push((t, first, n));
        if t.flags & TOKEN_SENTENCE_END != 0 {
            let words: Vec<&[u8]> = sentence.iter().map(|w| w.2).collect();
            let mut s = vec![0u8; model.scratch_bytes(words.len()).unwrap()];
            let mut tags = vec![0u16; words.len()];
            model.tag(&words, &mut s, &mut tags, None).unwrap();
            for (w, tag) in sentence.drain(..).zip(tags) {
                e.words.push((w.0, w.1, tag));
            }
        }
    }
    assert!(sentence.is_empty(), "the last token ends a sentence");
    e
}

/// Writes the case file `dir/name.raw` (and the text as `dir/name.txt`):
///
/// ```text
/// model PATH
/// text PATH
/// window W
/// max_tokens N
/// tokens T
/// START END FLAGS FIRST_WORD N_WORDS      (T lines)
/// words M
/// t|b OFFSET LEN TAG                      (M lines: into the text or the blob)
/// ```
pub fn write_case(dir: &Path, name: &str, model: &Path, text: &str, window: usize) -> PathBuf {
    let blob = std::fs::read(model).unwrap();
    let e = expected(&blob, text, window);
    std::fs::create_dir_all(dir).unwrap();
    let text_path = dir.join(format!("{name}.txt"));
    std::fs::write(&text_path, text).unwrap();
    let mut out = String::new();
    writeln!(out, "model {}", model.display()).unwrap();
    writeln!(out, "text {}", text_path.display()).unwrap();
    writeln!(out, "window {window}").unwrap();
    writeln!(out, "max_tokens {}", e.max_tokens).unwrap();
    writeln!(out, "tokens {}", e.tokens.len()).unwrap();
    for (t, first, n) in &e.tokens {
        writeln!(out, "{} {} {} {first} {n}", t.start, t.end, t.flags).unwrap();
    }
    writeln!(out, "words {}", e.words.len()).unwrap();
    for (place, len, tag) in &e.words {
        let (c, at) = match place {
            Place::Text(a) => ('t', a),
            Place::Blob(a) => ('b', a),
        };
        writeln!(out, "{c} {at} {len} {tag}").unwrap();
    }
    let path = dir.join(format!("{name}.raw"));
    std::fs::write(&path, out).unwrap();
    path
}
