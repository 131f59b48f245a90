//! Raw text to sentences of tokens with their words (feature `alloc`): paragraphs split
//! at blank lines, each segmented in windows of [`WINDOW`] characters, multiword tokens
//! expanded. What `postag tag --format raw` and the Python package run.

use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use super::{paragraphs, SegToken, Segmenter, TOKEN_MULTIWORD, TOKEN_SENTENCE_END, WINDOW};
use crate::Error;

/// A token of raw text: bytes `[start, end)` of the text and its syntactic words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawToken {
    /// First byte in the text.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
    /// Whether it is a multiword token that expanded into several words.
    pub multiword: bool,
    /// Its syntactic words: the token itself, or a multiword token's expansion.
    pub words: Vec<String>,
}

/// A sentence of raw text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawSentence {
    /// Whether it starts a paragraph.
    pub newpar: bool,
    /// Its tokens, in text order.
    pub tokens: Vec<RawToken>,
}

/// Splits `text` into sentences of tokens (byte offsets into `text`), multiword tokens
/// expanded into their words.
pub fn sentences(seg: &Segmenter<'_>, text: &str) -> Result<Vec<RawSentence>, Error> {
    // A projection cache per direction: it serves every paragraph.
    let mut scratch = vec![0u8; seg.persistent_scratch_bytes(WINDOW).unwrap_or(0)];
    let mut out = Vec::new();
    for (i, para_range) in paragraphs(text).enumerate() {
        let p0 = para_range.start;
        let para = &text[para_range];
        let mut toks = vec![SegToken::default(); para.chars().count()];
        // Each paragraph alone; the projection cache serves them all.
        let r = seg.segment_from(para, WINDOW, &mut scratch, &mut toks, i > 0)?;
        let mut sentence = RawSentence {
            newpar: true,
            tokens: Vec::new(),
        };
        for t in &toks[..r.tokens] {
            let (s, e) = (t.start as usize, t.end as usize);
            let surface = &para[s..e];
            let multiword = t.flags & TOKEN_MULTIWORD != 0;
            let words: Vec<String> = if multiword {
                seg.expand(surface)
                    .map(|w| w.as_str().to_string())
                    .collect()
            } else {
                vec![surface.to_string()]
            };
            sentence.tokens.push(RawToken {
                start: p0 + s,
                end: p0 + e,
                multiword: multiword && words.len() > 1,
                words,
            });
            if t.flags & TOKEN_SENTENCE_END != 0 {
                out.push(core::mem::take(&mut sentence));
            }
        }
        if !sentence.tokens.is_empty() {
            out.push(sentence);
        }
    }
    Ok(out)
}
