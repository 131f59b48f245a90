//! Raw text to sentences of tokens and their words, as `postag tag --format raw` does
//! (trainer/src/pipeline.rs): paragraphs (split at blank lines), each segmented by the
//! blob's segmenter in windows of [`WINDOW`] characters, multiword tokens expanded.
//!
//! The paragraph split, the window size and the windows over long sentences are
//! copies of the CLI's (pipeline.rs, tagging.rs): the core does not have them yet.
//! Keep them in step until it does.

use std::ops::Range;

use postag_core::segment::{SegToken, Segmenter, TOKEN_MULTIWORD, TOKEN_SENTENCE_END};
use postag_core::{Error, MAX_TOKENS};

/// Characters the segmenter reads at a time (pipeline.rs `WINDOW`).
pub const WINDOW: usize = 2048;

/// Context, in tokens, each window of a sentence longer than [`MAX_TOKENS`] reads on
/// each side of the tokens it answers for (tagging.rs `WINDOW_CONTEXT`).
const WINDOW_CONTEXT: usize = 256;

/// A token: bytes `[start, end)` of the text and its syntactic words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawToken {
    pub start: usize,
    pub end: usize,
    pub words: Vec<String>,
}

/// Byte ranges of the paragraphs of `text`: maximal runs of lines that are not blank.
fn paragraphs(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        match (line.trim().is_empty(), start) {
            (true, Some(s)) => {
                out.push((s, at));
                start = None;
            }
            (false, None) => start = Some(at),
            _ => {}
        }
        at += line.len();
    }
    if let Some(s) = start {
        out.push((s, text.len()));
    }
    out
}

/// Splits `text` into sentences of tokens (byte offsets into `text`), multiword tokens
/// expanded into their words.
pub fn segment(seg: &Segmenter<'_>, text: &str) -> Result<Vec<Vec<RawToken>>, Error> {
    let mut scratch = vec![0u8; seg.scratch_bytes(WINDOW).unwrap_or(0)];
    let mut out = Vec::new();
    for (p0, p1) in paragraphs(text) {
        let para = &text[p0..p1];
        let mut toks = vec![SegToken::default(); para.chars().count()];
        let r = seg.segment(para, WINDOW, &mut scratch, &mut toks)?;
        let mut sentence = Vec::new();
        for t in &toks[..r.tokens] {
            let (s, e) = (t.start as usize, t.end as usize);
            let surface = &para[s..e];
            let words = if t.flags & TOKEN_MULTIWORD != 0 {
                seg.expand(surface)
                    .map(|w| w.as_str().to_string())
                    .collect()
            } else {
                vec![surface.to_string()]
            };
            sentence.push(RawToken {
                start: p0 + s,
                end: p0 + e,
                words,
            });
            if t.flags & TOKEN_SENTENCE_END != 0 {
                out.push(std::mem::take(&mut sentence));
            }
        }
        if !sentence.is_empty() {
            out.push(sentence);
        }
    }
    Ok(out)
}

/// How a sentence of `n` words is tagged: `(window, kept)` token ranges, the core
/// tagging `window` (at most [`MAX_TOKENS`] words) and the tags of `kept` taken from
/// it (tagging.rs `windows`).
pub fn windows(n: usize) -> Vec<(Range<usize>, Range<usize>)> {
    if n <= MAX_TOKENS {
        return vec![(0..n, 0..n)];
    }
    let stride = MAX_TOKENS - 2 * WINDOW_CONTEXT;
    (0..n)
        .step_by(stride)
        .map(|a| {
            let b = (a + stride).min(n);
            let window = a.saturating_sub(WINDOW_CONTEXT)..(b + WINDOW_CONTEXT).min(n);
            (window, a..b)
        })
        .collect()
}

/// Character (code point) index of each byte offset in `offsets`, which must be
/// non-decreasing char boundaries of `text`: Python's str indices.
pub struct CharIndex<'t> {
    text: &'t str,
    byte: usize,
    chars: usize,
}

impl<'t> CharIndex<'t> {
    pub fn new(text: &'t str) -> Self {
        CharIndex {
            text,
            byte: 0,
            chars: 0,
        }
    }

    /// The character index of byte `at` (not before the previous call's).
    pub fn at(&mut self, at: usize) -> usize {
        self.chars += self.text[self.byte..at].chars().count();
        self.byte = at;
        self.chars
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_are_runs_of_non_blank_lines() {
        let t = "a b\nc\n\n \r\nd\n\n";
        let p = paragraphs(t);
        assert_eq!(
            p.iter().map(|&(a, b)| &t[a..b]).collect::<Vec<_>>(),
            ["a b\nc\n", "d\n"]
        );
        assert!(paragraphs("\n\n").is_empty());
    }

    #[test]
    fn windows_cover_every_word_once() {
        for n in [0, 1, MAX_TOKENS, MAX_TOKENS + 1, 3 * MAX_TOKENS + 7] {
            let mut next = 0;
            for (w, k) in windows(n) {
                assert!(w.len() <= MAX_TOKENS && w.start <= k.start && k.end <= w.end);
                assert_eq!(k.start, next);
                next = k.end;
            }
            assert_eq!(next, n);
        }
    }

    #[test]
    fn char_indices_count_code_points() {
        let t = "é a😀b";
        let mut ix = CharIndex::new(t);
        assert_eq!([0, 2, 3, 8].map(|b| ix.at(b)), [0, 1, 2, 4]);
    }
}
