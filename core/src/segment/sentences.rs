//! Raw text to sentences of tokens with their words (feature `alloc`): paragraphs split
//! at blank lines, each segmented in windows of [`WINDOW`] characters, multiword tokens
//! expanded. What `postag tag --format raw` and the Python package run.

use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use super::{
    lines, one_space_into, paragraphs, SegToken, Segmenter, TOKEN_CUT, TOKEN_MULTIWORD,
    TOKEN_SENTENCE_END, WINDOW,
};
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
    /// Whether the segmenter's window ended it, the text running on without
    /// whitespace ([`super::TOKEN_CUT`]).
    pub cut: bool,
    /// Its syntactic words: the token itself (each run of whitespace in it read as one
    /// U+0020, as its form in a treebank), or a multiword token's expansion.
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
    split(seg, text, false)
}

/// [`sentences`] of a text with one sentence per line: each line that is not blank is
/// one sentence, tokenized as a paragraph of its own (the sentence ends the segmenter
/// finds inside it are ignored); a blank line still ends a paragraph.
pub fn line_sentences(seg: &Segmenter<'_>, text: &str) -> Result<Vec<RawSentence>, Error> {
    split(seg, text, true)
}

/// The paragraphs of `text` (its lines, with `by_line`) segmented one by one.
fn split(seg: &Segmenter<'_>, text: &str, by_line: bool) -> Result<Vec<RawSentence>, Error> {
    // A projection cache per direction: it serves every paragraph (line).
    let mut scratch = vec![0u8; seg.persistent_scratch_bytes(WINDOW).unwrap_or(0)];
    let mut warm = false;
    let mut out = Vec::new();
    for para_range in paragraphs(text) {
        let mut at = para_range.start;
        let units = match by_line {
            true => lines(&text[para_range.clone()]).collect(),
            false => vec![&text[para_range]],
        };
        for (i, unit) in units.into_iter().enumerate() {
            let start = out.len();
            segment_unit(seg, unit, at, &mut scratch, warm, &mut out)?;
            warm = true;
            at += unit.len();
            if by_line && out.len() > start + 1 {
                // One sentence: the segmenter's sentence ends inside the line dropped.
                let rest: Vec<RawToken> = out.drain(start + 1..).flat_map(|s| s.tokens).collect();
                out[start].tokens.extend(rest);
            }
            if let Some(first) = out.get_mut(start) {
                first.newpar = i == 0;
            }
        }
    }
    Ok(out)
}

/// Segments `unit` (at byte `at` of the text) alone, its sentences appended to `out`.
fn segment_unit(
    seg: &Segmenter<'_>,
    unit: &str,
    at: usize,
    scratch: &mut [u8],
    warm: bool,
    out: &mut Vec<RawSentence>,
) -> Result<(), Error> {
    let mut toks = vec![SegToken::default(); unit.chars().count()];
    // The projection cache a previous unit left serves this one.
    let r = seg.segment_from(unit, WINDOW, scratch, &mut toks, warm)?;
    let mut sentence = RawSentence::default();
    for t in &toks[..r.tokens] {
        let (s, e) = (t.start as usize, t.end as usize);
        let surface = &unit[s..e];
        let multiword = t.flags & TOKEN_MULTIWORD != 0;
        let words: Vec<String> = if multiword {
            seg.expand(surface)
                .map(|w| w.as_str().to_string())
                .collect()
        } else {
            // A token with spaces inside (a model with `SEG_SPACES_IN_TOKENS`) is the
            // word its treebank spells: each whitespace run one space.
            vec![one_space(surface)]
        };
        sentence.tokens.push(RawToken {
            start: at + s,
            end: at + e,
            multiword: multiword && words.len() > 1,
            cut: t.flags & TOKEN_CUT != 0,
            words,
        });
        if t.flags & TOKEN_SENTENCE_END != 0 {
            out.push(core::mem::take(&mut sentence));
        }
    }
    if !sentence.tokens.is_empty() {
        out.push(sentence);
    }
    Ok(())
}

/// `s` with every run of whitespace (`char::is_whitespace`) replaced by one U+0020
/// ([`one_space_into`]).
pub fn one_space(s: &str) -> String {
    let mut out = vec![0u8; s.len()];
    let len = one_space_into(s, &mut out).unwrap_or(0);
    out.truncate(len);
    String::from_utf8(out).unwrap_or_default()
}
