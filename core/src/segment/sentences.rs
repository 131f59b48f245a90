//! Raw text to sentences of tokens with their words (feature `alloc`): paragraphs split
//! at blank lines, each segmented in windows of [`WINDOW`] characters, multiword tokens
//! expanded. What `postag tag --format raw` and the Python package run.

use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use super::{
    lines, one_space_into, paragraphs, SegToken, Segmenter, Word, TOKEN_CUT, TOKEN_MULTIWORD,
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
/// expanded into their words ([`SentenceIter`], collected).
pub fn sentences(seg: &Segmenter<'_>, text: &str) -> Result<Vec<RawSentence>, Error> {
    SentenceIter::new(seg, text, false).collect()
}

/// [`sentences`] of a text with one sentence per line: each line that is not blank is
/// one sentence, tokenized as a paragraph of its own (the sentence ends the segmenter
/// finds inside it are ignored); a blank line still ends a paragraph.
pub fn line_sentences(seg: &Segmenter<'_>, text: &str) -> Result<Vec<RawSentence>, Error> {
    SentenceIter::new(seg, text, true).collect()
}

/// Tokens of room for one call of the segmenter: a few windows' worth (a window of
/// [`WINDOW`] characters has at most that many tokens); a call stops at a window's end
/// when it runs out of room, and the next one resumes there with the same results.
const TOKENS_PER_CALL: usize = 4 * WINDOW;

/// The sentences of [`sentences`] (or, `by_line`, [`line_sentences`]) one at a time:
/// each paragraph (line) is segmented a few windows at a time, so that what is held
/// follows the sentence, not the paragraph. The same sentences as segmenting each
/// paragraph whole. After an error, it ends.
pub struct SentenceIter<'s, 't> {
    seg: &'s Segmenter<'s>,
    text: &'t str,
    by_line: bool,
    paragraphs: alloc::boxed::Box<dyn Iterator<Item = core::ops::Range<usize>> + 't>,
    /// The units (paragraphs, or lines) of the current paragraph left: `(start, end)`.
    units: alloc::collections::VecDeque<(usize, usize)>,
    /// The unit being segmented, `(start, end)`, its next byte, and whether its next
    /// sentence starts a paragraph.
    unit: Option<((usize, usize), usize, bool)>,
    /// The sentence being built, and those complete.
    partial: RawSentence,
    ready: alloc::collections::VecDeque<RawSentence>,
    /// A projection cache per direction, serving every unit.
    scratch: Vec<u8>,
    warm: bool,
    toks: Vec<SegToken>,
    done: bool,
}

impl<'s, 't> SentenceIter<'s, 't> {
    /// The sentences of `text`; `by_line`: one per line that is not blank.
    pub fn new(seg: &'s Segmenter<'s>, text: &'t str, by_line: bool) -> Self {
        SentenceIter {
            seg,
            text,
            by_line,
            paragraphs: alloc::boxed::Box::new(paragraphs(text)),
            units: alloc::collections::VecDeque::new(),
            unit: None,
            partial: RawSentence::default(),
            ready: alloc::collections::VecDeque::new(),
            scratch: vec![0u8; seg.persistent_scratch_bytes(WINDOW).unwrap_or(0)],
            warm: false,
            toks: vec![SegToken::default(); TOKENS_PER_CALL],
            done: false,
        }
    }

    /// One bounded step of [`Iterator::next`]: a sentence if one is complete (no work),
    /// else one call of the segmenter (a few windows of text), which gives
    /// `Some(Ok(None))`: the sentences it completed come from the next polls; `None` at
    /// the end. A caller that must answer between steps (a signal, a deadline) polls
    /// this and checks after each `Ok(None)`: `next` runs calls until a sentence ends,
    /// which in a paragraph without sentence ends is at the paragraph's end.
    pub fn poll(&mut self) -> Option<Result<Option<RawSentence>, Error>> {
        if let Some(s) = self.ready.pop_front() {
            return Some(Ok(Some(s)));
        }
        if self.done {
            return None;
        }
        match self.advance() {
            Ok(true) => Some(Ok(None)),
            Ok(false) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }

    /// Segments the next part of the current unit (taking the next unit first if none
    /// is under way); false at the end of the text.
    fn advance(&mut self) -> Result<bool, Error> {
        let ((start, end), at, newpar) = match self.unit {
            Some(u) => u,
            None => {
                if self.units.is_empty() {
                    let Some(p) = self.paragraphs.next() else {
                        return Ok(false);
                    };
                    match self.by_line {
                        true => {
                            let mut at = p.start;
                            for line in lines(&self.text[p]) {
                                self.units.push_back((at, at + line.len()));
                                at += line.len();
                            }
                        }
                        false => self.units.push_back((p.start, p.end)),
                    }
                    let Some(first) = self.units.pop_front() else {
                        return Ok(true);
                    };
                    (first, first.0, true)
                } else {
                    let u = self.units.pop_front().unwrap_or((0, 0));
                    (u, u.0, false)
                }
            }
        };
        let rest = &self.text[at..end];
        // The projection cache a previous unit left serves this one.
        let r =
            self.seg
                .segment_from(rest, WINDOW, &mut self.scratch, &mut self.toks, self.warm)?;
        self.warm = true;
        let mut newpar = newpar;
        for t in &self.toks[..r.tokens] {
            let (s, e) = (t.start as usize, t.end as usize);
            let surface = &rest[s..e];
            let multiword = t.flags & TOKEN_MULTIWORD != 0;
            let words: Vec<String> = if multiword {
                self.seg
                    .expand(surface)
                    .enumerate()
                    .map(|(i, w)| match w {
                        Word::Table(word) => in_case_of(surface, word, i == 0),
                        Word::Surface(..) => w.as_str().to_string(),
                    })
                    .collect()
            } else {
                // A token with spaces inside (a model with `SEG_SPACES_IN_TOKENS`) is the
                // word its treebank spells: each whitespace run one space.
                vec![one_space(surface)]
            };
            if self.partial.tokens.is_empty() {
                self.partial.newpar = newpar;
                newpar = false;
            }
            self.partial.tokens.push(RawToken {
                start: at + s,
                end: at + e,
                multiword: multiword && words.len() > 1,
                cut: t.flags & TOKEN_CUT != 0,
                words,
            });
            // A line is one sentence: the segmenter's sentence ends inside it ignored.
            if t.flags & TOKEN_SENTENCE_END != 0 && !self.by_line {
                self.ready.push_back(core::mem::take(&mut self.partial));
            }
        }
        let at = at + r.consumed;
        if at < end {
            self.unit = Some(((start, end), at, newpar));
        } else {
            self.unit = None;
            if !self.partial.tokens.is_empty() {
                self.ready.push_back(core::mem::take(&mut self.partial));
            }
        }
        Ok(true)
    }
}

impl Iterator for SentenceIter<'_, '_> {
    type Item = Result<RawSentence, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.poll()? {
                Ok(Some(s)) => return Some(Ok(s)),
                Ok(None) => {}
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// `s` with every run of whitespace (`char::is_whitespace`) replaced by one U+0020
/// ([`one_space_into`]).
pub fn one_space(s: &str) -> String {
    let mut out = vec![0u8; s.len()];
    let len = one_space_into(s, &mut out).unwrap_or(0);
    out.truncate(len);
    String::from_utf8(out).unwrap_or_default()
}

/// A word of a multiword token's table entry (which the blob holds lowercased) in the
/// case of the token's surface form: the first as [`super::first_word_in_case`] writes
/// it; the other words as the table has them.
fn in_case_of(surface: &str, word: &str, first: bool) -> String {
    if !first {
        return word.to_string();
    }
    let mut out = String::with_capacity(word.len());
    super::first_word_in_case(surface, word, |c| out.push(c));
    out
}

#[cfg(test)]
mod tests {
    use super::in_case_of;

    /// The treebank's own spellings (French Sequoia: `Aux` -> `À les`, `DU` -> `DE le`).
    #[test]
    fn table_words_take_the_case_of_their_surface() {
        let case = |surface: &str, words: &[&str]| -> alloc::vec::Vec<String> {
            words
                .iter()
                .enumerate()
                .map(|(i, w)| in_case_of(surface, w, i == 0))
                .collect()
        };
        assert_eq!(case("Aux", &["à", "les"]), ["À", "les"]);
        assert_eq!(case("DU", &["de", "le"]), ["DE", "le"]);
        assert_eq!(case("AUX", &["à", "les"]), ["À", "les"]);
        assert_eq!(case("du", &["de", "le"]), ["de", "le"]);
        assert_eq!(case("Στο", &["σε", "το"]), ["Σε", "το"]);
        // One letter uppercase is a capital, not a word in capitals.
        assert_eq!(case("Ä", &["a", "e"]), ["A", "e"]);
        // A surface starting with a non-letter keeps the table's case.
        assert_eq!(case("'s", &["is"]), ["is"]);
    }
}
