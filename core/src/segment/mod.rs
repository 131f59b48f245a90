//! The segmenter: raw UTF-8 text to tokens, sentences and multiword tokens, without a heap.
//!
//! A char-level network, stored as an optional part of the blob ([`Role::Segmenter`]),
//! labels every character of a window of text: char embedding -> one-layer (Bi)LSTM ->
//! linear -> argmax over five classes ([`CLASS_LABELS`]): no boundary, or the last
//! character of a token, marked as a multiword token and/or as the end of a sentence.
//!
//! The network reads a run of whitespace as one U+0020 (a text is one paragraph: a line
//! break in it is a line wrap, not a paragraph's end; a CRLF or two spaces read as the
//! one space of the training text), except the whitespace that ends the text, which
//! reads as one line break (a paragraph's end, as in the training text); a text that
//! ends without whitespace reads one such line break after its last character.
//!
//! Decoding (the same for every window):
//! - whitespace (`char::is_whitespace`) ends the open token and belongs to no token,
//!   except inside an open token when the model allows spaces in tokens
//!   ([`SEG_SPACES_IN_TOKENS`], Vietnamese): there any whitespace (a space, a line
//!   wrap, a tab), read as the one space, continues the token, which only a label
//!   ends (its word has one space per run of whitespace: [`one_space_into`]);
//! - any other character opens a token if none is open; a token-end label closes it,
//!   except right before a character that extends the one before it (a combining mark,
//!   a joiner, an emoji modifier: see `gen_marks.py`) or right after a zero width joiner
//!   followed by a character that is not whitespace: the label then moves on to that
//!   character, so that no token ends inside such a cluster (`👍🏽`, `e\u{301}`);
//! - a token never ends on whitespace, so the tokens plus the whitespace between them
//!   are the text, byte for byte.
//!
//! Windows: [`Segmenter::segment`] reads at most `window` characters at a time. A text
//! of at most `window` characters is one window. Otherwise a window's last
//! [`WINDOW_MARGIN`] characters (a quarter of a window shorter than 256, at least one),
//! labelled without the text after them, end none of its kept tokens but one that
//! starts in the window's first half: they are labelled again by the next window. The
//! tokens of a window are kept, the first rule that applies deciding: up to its last
//! sentence end before those characters, if that token is its last or ends in the
//! window's second half (of its characters); all of them, if its last token starts in
//! the window's first half (a window of one token included); up to the last token that
//! ends in the second half before the last characters; up to the last token that
//! starts in the first half, if it ends in the second half; up to the last token that
//! ends before the last characters (whitespace follows it into the second half); else
//! none (the next window starts at the first token, in the second half). The next
//! window starts right after the
//! last kept token (so tokens it labels again start in the previous window's second
//! half, or after whitespace: a network that finds boundaries only near a window's
//! start, as on text without whitespace, does not label each character many times
//! over). Only the end of the whole text forces a sentence end. So a token that runs
//! past a window's end from its first half (at least half a window without whitespace
//! or a token end) is cut where the window ends, whatever character follows (a
//! combining mark included). With spaces in tokens, a window that holds nothing but
//! part of one token ends it at its last character that is not whitespace, and the next
//! window starts a token of its own (without [`TOKEN_CUT`] when whitespace follows).
//!
//! Multiword tokens: [`Segmenter::expand`] gives a token's words from the blob's table
//! (keys lowercased as [`NORMALIZE_LOWERCASE`] does). When the table's words spell the
//! surface form, the words are spans of the text (their case kept); otherwise they are the
//! table's strings. A token the table lacks splits like the entries it has: among the
//! entries whose words spell their form, the one whose last word is the longest proper
//! suffix of the token (compared lowercased, character by character) gives that suffix as
//! the second word and the rest of the token as the first (with an entry `bob's` ->
//! `bob` `'s`, `Arafat's` is `Arafat` `'s`); a token no such last word ends is one word,
//! itself. The builder leaves out the
//! entries this split reproduces from the others (see `build::with_segmenter`, feature
//! `alloc`).

#[cfg(feature = "alloc")]
pub mod build;
mod marks;
#[cfg(feature = "alloc")]
mod sentences;

#[cfg(feature = "alloc")]
pub use sentences::{line_sentences, one_space, sentences, RawSentence, RawToken, SentenceIter};

use crate::arch;
use crate::format::{
    self, DType, LstmPart, Role, SegPart, TensorEntry, NORMALIZE_LOWERCASE, SEG_SPACES_IN_TOKENS,
};
use crate::kernels::argmax;
use crate::lowercase::{lower, Lower};
use crate::model::cache::{aligned_pairs, pairs_words, slot, CachedRows, UNCACHED};
use crate::model::load::check_finite;
use crate::model::{DirectionScratch, LayerIo, StackIo, PROJECTION_BLOCK};
use crate::tensor::{Matrix, Storage, U32s, Vector};
use crate::vocab::{find_code, scalar_values, StringTable};
use crate::{Cell, Error};

/// Writes `s` into `out` with every run of whitespace (`char::is_whitespace`) as one
/// U+0020, as a treebank spells a token with spaces inside; the bytes written, or
/// `None` when `out` is shorter than that (never when it holds `s.len()` bytes).
pub fn one_space_into(s: &str, out: &mut [u8]) -> Option<usize> {
    let mut len = 0;
    let mut after_space = false;
    for c in s.chars() {
        let space = c.is_whitespace();
        if !(space && after_space) {
            let c = if space { ' ' } else { c };
            let room = out.get_mut(len..len + c.len_utf8())?;
            c.encode_utf8(room);
            len += c.len_utf8();
        }
        after_space = space;
    }
    Some(len)
}

/// A word in the case of its surface form has at most this many times its bytes
/// (`char::to_uppercase` of a character takes at most three times its UTF-8 bytes).
pub const RECASE_GROWTH: usize = 3;

/// `put`s the first word of a multiword token's table entry (which the blob holds
/// lowercased) in the case of the token's `surface`, as treebanks write it: uppercased
/// when the surface's letters are all uppercase (at least two: `DU` -> `DE`), its first
/// letter uppercased when the surface starts with an uppercase letter (`Aux` -> `À`),
/// else as the table has it. (The entry's other words stay as the table has them.)
pub fn first_word_in_case(surface: &str, word: &str, mut put: impl FnMut(char)) {
    let starts_upper = surface.chars().next().is_some_and(char::is_uppercase);
    let mut letters = surface
        .chars()
        .filter(|c| c.is_lowercase() || c.is_uppercase());
    let all_upper = starts_upper && letters.clone().count() >= 2 && letters.all(char::is_uppercase);
    for (i, c) in word.chars().enumerate() {
        if all_upper || (starts_upper && i == 0) {
            c.to_uppercase().for_each(&mut put);
        } else {
            put(c);
        }
    }
}

/// [`first_word_in_case`] written into `out` as UTF-8: the bytes written, or `None` when
/// `out` is shorter than that (never when it holds [`RECASE_GROWTH`] times `word`'s).
pub fn first_word_in_case_into(surface: &str, word: &str, out: &mut [u8]) -> Option<usize> {
    let mut len = 0;
    let mut fits = true;
    first_word_in_case(surface, word, |c| {
        match out.get_mut(len..len + c.len_utf8()) {
            Some(room) => {
                c.encode_utf8(room);
            }
            None => fits = false,
        }
        len += c.len_utf8();
    });
    fits.then_some(len)
}

/// Label bit: the character is the last of a token.
pub const LABEL_TOKEN_END: u8 = 1;
/// Label bit: the token it ends is a multiword token.
pub const LABEL_MULTIWORD: u8 = 2;
/// Label bit: the token it ends is the last of a sentence.
pub const LABEL_SENTENCE_END: u8 = 4;
/// No boundary after this character.
pub const LABEL_NONE: u8 = 0;
/// Number of output classes.
pub const CLASSES: usize = 5;
/// The label of each output class.
pub const CLASS_LABELS: [u8; CLASSES] = [
    LABEL_NONE,
    LABEL_TOKEN_END,
    LABEL_TOKEN_END | LABEL_MULTIWORD,
    LABEL_TOKEN_END | LABEL_SENTENCE_END,
    LABEL_TOKEN_END | LABEL_MULTIWORD | LABEL_SENTENCE_END,
];

/// The class of a label (labels without `LABEL_TOKEN_END` are class 0).
pub fn class_of(label: u8) -> usize {
    if label & LABEL_TOKEN_END == 0 {
        return 0;
    }
    CLASS_LABELS.iter().position(|&l| l == label).unwrap_or(1)
}

/// Largest accepted window, in characters.
pub const MAX_WINDOW: usize = 1 << 16;

/// Characters at the end of a window (of at least 4 times as many) whose labels, read
/// without the text after them, do not end the window's kept tokens: a boundary there
/// is labelled again by the next window (see the module's documentation).
pub const WINDOW_MARGIN: usize = 64;

/// [`WINDOW_MARGIN`], or a quarter of a smaller window (at least 1: a token that ends
/// where the window ends may go on after it).
fn window_margin(window: usize) -> usize {
    WINDOW_MARGIN.min(window / 4).max(1)
}

/// The window, in characters, that `postag tag --format raw` and the Python package
/// segment with.
pub const WINDOW: usize = 2048;

/// The lines of `text`, each with its line break: LF, CR LF or a lone CR (old Mac
/// files), as Python's universal newlines read them; the last line may have none.
pub fn lines(text: &str) -> impl Iterator<Item = &str> + Clone + '_ {
    let mut rest = text;
    core::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let bytes = rest.as_bytes();
        let end = match bytes.iter().position(|&b| b == b'\n' || b == b'\r') {
            Some(i) if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') => i + 2,
            Some(i) => i + 1,
            None => rest.len(),
        };
        let (line, next) = rest.split_at(end);
        rest = next;
        Some(line)
    })
}

/// Byte ranges of the paragraphs of `text`: maximal runs of lines ([`lines`]) that are
/// not blank (a line of whitespace only is blank).
pub fn paragraphs(text: &str) -> impl Iterator<Item = core::ops::Range<usize>> + '_ {
    let mut lines = lines(text);
    let mut at = 0;
    core::iter::from_fn(move || {
        let mut start = None;
        for line in lines.by_ref() {
            let line_start = at;
            at += line.len();
            match (line.trim().is_empty(), start) {
                (true, Some(s)) => return Some(s..line_start),
                (false, None) => start = Some(line_start),
                _ => {}
            }
        }
        start.map(|s| s..text.len())
    })
}

/// [`SegToken::flags`] bit: the token ends a sentence.
pub const TOKEN_SENTENCE_END: u32 = 1;
/// [`SegToken::flags`] bit: the token is a multiword token (see [`Segmenter::expand`]).
pub const TOKEN_MULTIWORD: u32 = 2;
/// [`SegToken::flags`] bit: the token was ended at a window's end, where the text runs
/// on without whitespace (a token that runs past the window from its first half).
pub const TOKEN_CUT: u32 = 4;

/// A token: bytes `[start, end)` of the text, and `TOKEN_*` flags.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SegToken {
    /// First byte.
    pub start: u32,
    /// One past the last byte.
    pub end: u32,
    /// `TOKEN_SENTENCE_END`, `TOKEN_MULTIWORD`, `TOKEN_CUT`.
    pub flags: u32,
}

/// What one [`Segmenter::segment`] call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segmented {
    /// Tokens written to the start of the output.
    pub tokens: usize,
    /// Bytes of the text read: the whole text, or less when the output filled up (call
    /// again with the rest; the result is the same as in one call).
    pub consumed: usize,
}

/// Refuses a window of 0 or above [`MAX_WINDOW`] characters and a text of 4 GiB or more.
fn check_text(window: usize, text_len: usize) -> Result<(), Error> {
    if !(1..=MAX_WINDOW).contains(&window) {
        return Err(Error::InvalidWindow);
    }
    if u32::try_from(text_len).is_err() {
        return Err(Error::TextTooLong);
    }
    Ok(())
}

/// The segmenter of a blob: a view of its tensors, like [`crate::Model`].
#[derive(Debug, Clone, Copy)]
pub struct Segmenter<'a> {
    flags: u32,
    // (rows, E); row 0 is the unknown character.
    embedding: Matrix<'a>,
    // (m,) strictly increasing code points and their rows.
    codes: U32s<'a>,
    rows: U32s<'a>,
    forward: Cell<'a>,
    backward: Option<Cell<'a>>,
    // (5, D), (5,)
    out_w: Matrix<'a>,
    out_b: Vector<'a>,
    mwt_forms: StringTable<'a>,
    mwt_words: StringTable<'a>,
    bytes: usize,
}

/// The segmenter's tensors in a blob's table.
struct Tensors<'a> {
    raw: format::RawBlob<'a>,
}

impl<'a> Tensors<'a> {
    fn find(&mut self, part: SegPart) -> Result<Option<(TensorEntry, &'a [u8])>, Error> {
        let mut found = None;
        for entry in self.raw.header.tensors.iter() {
            let entry = entry?;
            if entry.role != Role::Segmenter(part) {
                continue;
            }
            let len = entry
                .dtype
                .byte_len(entry.rows, entry.cols)
                .ok_or(Error::InvalidModel)?;
            let start = entry.offset as usize;
            let bytes = start
                .checked_add(len)
                .and_then(|end| self.raw.payload.get(start..end))
                .ok_or(Error::InvalidModel)?;
            if found.replace((entry, bytes)).is_some() {
                return Err(Error::UnexpectedTensor {
                    role: entry.role,
                    duplicate: true,
                });
            }
        }
        Ok(found)
    }

    fn need(&mut self, part: SegPart) -> Result<(TensorEntry, &'a [u8]), Error> {
        self.find(part)?.ok_or(Error::InvalidModel)
    }

    fn matrix(
        &mut self,
        part: SegPart,
        rows: Option<usize>,
        cols: usize,
    ) -> Result<Matrix<'a>, Error> {
        let (e, bytes) = self.need(part)?;
        let r = e.rows as usize;
        if e.cols as usize != cols || rows.is_some_and(|n| n != r) || r == 0 {
            return Err(Error::InvalidModel);
        }
        let role = Role::Segmenter(part);
        let m = match e.dtype {
            DType::F32 => {
                check_finite(role, bytes, cols, false)?;
                Matrix::f32_le(bytes, r, cols)
            }
            DType::I8 => {
                check_finite(role, &bytes[(r * cols).min(bytes.len())..], 1, true)?;
                Matrix::i8_scaled(bytes, r, cols)
            }
            _ => return Err(Error::InvalidModel),
        };
        m.ok_or(Error::InvalidModel)
    }

    fn vector(&mut self, part: SegPart, len: usize) -> Result<Vector<'a>, Error> {
        let (e, bytes) = self.need(part)?;
        if e.dtype != DType::F32 || e.rows != 1 || e.cols as usize != len {
            return Err(Error::InvalidModel);
        }
        check_finite(Role::Segmenter(part), bytes, len, false)?;
        Vector::f32_le(bytes, len).ok_or(Error::InvalidModel)
    }

    fn u32s(&mut self, part: SegPart) -> Result<U32s<'a>, Error> {
        let (e, bytes) = self.need(part)?;
        if e.dtype != DType::U32 || e.rows != 1 {
            return Err(Error::InvalidModel);
        }
        U32s::new(bytes, e.cols as usize).ok_or(Error::InvalidModel)
    }

    fn strings(&mut self, strings: SegPart, offsets: SegPart) -> Result<StringTable<'a>, Error> {
        let offsets = self.u32s(offsets)?;
        let (e, bytes) = self.need(strings)?;
        if e.dtype != DType::U8 || e.rows != 1 {
            return Err(Error::InvalidModel);
        }
        StringTable::new(bytes, offsets).ok_or(Error::InvalidModel)
    }

    fn cell(&mut self, reverse: bool, input: usize, h: Option<usize>) -> Result<Cell<'a>, Error> {
        let part = |part| SegPart::Lstm { reverse, part };
        let (e, _) = self.need(part(LstmPart::HiddenWeights))?;
        let hidden = e.cols as usize;
        if hidden == 0 || hidden > format::MAX_DIM as usize || h.is_some_and(|h| h != hidden) {
            return Err(Error::InvalidModel);
        }
        Ok(Cell {
            w_ih: self.matrix(part(LstmPart::InputWeights), Some(4 * hidden), input)?,
            w_hh: self.matrix(part(LstmPart::HiddenWeights), Some(4 * hidden), hidden)?,
            bias: self.vector(part(LstmPart::Bias), 4 * hidden)?,
        })
    }
}

impl<'a> Segmenter<'a> {
    /// The segmenter of a blob: `Ok(None)` when the blob has none, an error when the blob
    /// or its segmenter part is invalid. Every tensor is validated here.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Option<Self>, Error> {
        Self::from_raw(format::split(bytes)?)
    }

    /// [`Segmenter::from_bytes`] without the CRC-32 check, which is the one pass over
    /// the whole blob: for a blob that [`crate::Model::from_bytes`] (or this module)
    /// accepted before and that has not changed since, such as the blob of a loaded C
    /// `postag_model`. Every segmenter tensor is still validated.
    pub fn from_accepted_bytes(bytes: &'a [u8]) -> Result<Option<Self>, Error> {
        Self::from_raw(format::split_with(bytes, false)?)
    }

    fn from_raw(raw: format::RawBlob<'a>) -> Result<Option<Self>, Error> {
        let mut t = Tensors { raw };
        let Some((e, options)) = t.find(SegPart::Options)? else {
            for entry in raw.header.tensors.iter() {
                if let role @ Role::Segmenter(_) = entry?.role {
                    return Err(Error::UnexpectedTensor {
                        role,
                        duplicate: false,
                    });
                }
            }
            return Ok(None);
        };
        let options = match (e.dtype, e.rows, e.cols) {
            (DType::U32, 1, 4) => U32s::new(options, 4).ok_or(Error::InvalidModel)?,
            _ => return Err(Error::InvalidModel),
        };
        let flags = options.get(0);
        if flags & !SEG_SPACES_IN_TOKENS != 0 || options.iter().skip(1).any(|w| w != 0) {
            return Err(Error::InvalidModel);
        }
        let (emb, _) = t.need(SegPart::CharEmbedding)?;
        let (rows, dim) = (emb.rows as usize, emb.cols as usize);
        if !(1..=format::MAX_ROWS as usize).contains(&rows)
            || !(1..=format::MAX_DIM as usize).contains(&dim)
        {
            return Err(Error::InvalidModel);
        }
        let embedding = t.matrix(SegPart::CharEmbedding, Some(rows), dim)?;
        let codes = t.u32s(SegPart::CharCodes)?;
        let char_rows = t.u32s(SegPart::CharRows)?;
        let n = codes.len();
        if char_rows.len() != n
            || !(1..n).all(|i| codes.get(i - 1) < codes.get(i))
            || !scalar_values(codes)
            || char_rows.iter().any(|r| r as usize >= rows)
        {
            return Err(Error::InvalidModel);
        }
        let forward = t.cell(false, dim, None)?;
        let h = forward.hidden();
        let backward = match t.find(SegPart::Lstm {
            reverse: true,
            part: LstmPart::HiddenWeights,
        })? {
            None => None,
            Some(_) => Some(t.cell(true, dim, Some(h))?),
        };
        // Every segmenter tensor was looked up above (and refused if duplicated), except
        // the reverse direction's of a unidirectional segmenter: those are stray.
        if backward.is_none() {
            for entry in raw.header.tensors.iter() {
                if let role @ Role::Segmenter(SegPart::Lstm { reverse: true, .. }) = entry?.role {
                    return Err(Error::UnexpectedTensor {
                        role,
                        duplicate: false,
                    });
                }
            }
        }
        let out_dim = if backward.is_some() { 2 * h } else { h };
        let out_w = t.matrix(SegPart::OutputWeights, Some(CLASSES), out_dim)?;
        let out_b = t.vector(SegPart::OutputBias, CLASSES)?;
        let mwt_forms = t.strings(SegPart::MultiwordForms, SegPart::MultiwordFormOffsets)?;
        let mwt_words = t.strings(SegPart::MultiwordWords, SegPart::MultiwordWordOffsets)?;
        if mwt_forms.len() != mwt_words.len() || !mwt_forms.is_strictly_sorted() {
            return Err(Error::InvalidModel);
        }
        // (Bare-metal builds leave this check to the tools that write their blobs, to
        // save the flash its Unicode tables take.)
        #[cfg(not(target_os = "none"))]
        if !writable_table(&mwt_forms, &mwt_words, flags & SEG_SPACES_IN_TOKENS != 0) {
            return Err(Error::InvalidModel);
        }
        Ok(Some(Segmenter {
            flags,
            embedding,
            codes,
            rows: char_rows,
            forward,
            backward,
            out_w,
            out_b,
            mwt_forms,
            mwt_words,
            bytes: raw
                .header
                .tensors
                .iter()
                .flatten()
                .filter(|e| matches!(e.role, Role::Segmenter(_)))
                .map(|e| e.dtype.byte_len(e.rows, e.cols).unwrap_or(0))
                .sum(),
        }))
    }

    /// Whether whitespace may be inside a token ([`SEG_SPACES_IN_TOKENS`]).
    pub fn spaces_in_tokens(&self) -> bool {
        self.flags & SEG_SPACES_IN_TOKENS != 0
    }

    /// Embedding size E.
    pub fn embedding_dim(&self) -> usize {
        self.embedding.cols()
    }

    /// Rows R of the char embedding: one per character of the vocabulary and the
    /// unknown character's, as postag writes them (a blob may map characters to shared
    /// rows).
    pub fn embedding_rows(&self) -> usize {
        self.embedding.rows()
    }

    /// How its LSTM and output weights are stored (f32, or int8 with a scale per row).
    pub fn storage(&self) -> Storage {
        self.forward.w_hh.storage()
    }

    /// Hidden size H of each LSTM direction.
    pub fn hidden(&self) -> usize {
        self.forward.hidden()
    }

    /// Whether the LSTM is bidirectional.
    pub fn bidirectional(&self) -> bool {
        self.backward.is_some()
    }

    /// Characters in the vocabulary.
    pub fn vocab_len(&self) -> usize {
        self.codes.len()
    }

    /// Entries in the multiword table.
    pub fn multiwords(&self) -> usize {
        self.mwt_forms.len()
    }

    /// The multiword table: (lowercased surface form, its words separated by tabs).
    pub fn multiword_table(&self) -> impl Iterator<Item = (&'a str, &'a str)> + '_ {
        self.mwt_forms.iter().zip(self.mwt_words.iter())
    }

    /// Bytes of the blob's payload the segmenter's tensors take (plus their padding,
    /// at most 16 bytes each, not counted).
    pub fn byte_len(&self) -> usize {
        self.bytes
    }

    /// Embedding row of a character (row 0 for an unknown one). Any whitespace reads
    /// as U+0020: inside a paragraph a line break, a tab, a carriage return or a
    /// no-break space separates words as a space does (the training text has only
    /// spaces there).
    fn row(&self, c: char) -> usize {
        let c = if c.is_whitespace() { ' ' } else { c };
        self.raw_row(c)
    }

    /// Embedding row of `c` as it is (row 0 for an unknown one).
    fn raw_row(&self, c: char) -> usize {
        find_code(self.codes, c as u32).map_or(0, |i| self.rows.get(i) as usize)
    }

    /// The characters of `text` with their byte offsets and the embedding rows the
    /// network reads: a run of whitespace is one step (a CRLF, or two spaces after a
    /// full stop, reads as the one space of the training text), its first character
    /// carries the step's row and the others `None`. Rows are [`Segmenter::row`]'s,
    /// except that the whitespace ending the text, if `ends` (the end of a paragraph),
    /// reads as a line break, as a paragraph's end reads in the training text.
    fn rows_of<'t>(
        &'t self,
        text: &'t str,
        ends: bool,
    ) -> impl Iterator<Item = (usize, char, Option<u32>)> + 't {
        let tail = if ends {
            text.trim_end().len()
        } else {
            text.len()
        };
        let end = self.end_row();
        let mut after_space = false;
        text.char_indices().map(move |(b, c)| {
            let space = c.is_whitespace();
            let step = !(space && after_space);
            after_space = space;
            let row = if b >= tail { end } else { self.row(c) };
            (b, c, step.then_some(row as u32))
        })
    }

    /// The embedding row a paragraph's end reads as: a line break's, or, for a
    /// vocabulary without one (a treebank without paragraphs), a space's rather than
    /// the unknown character's.
    fn end_row(&self) -> usize {
        match self.raw_row('\n') {
            0 => self.row(' '),
            r => r,
        }
    }

    /// The projection cache of a window of `n` characters: (slots, hash table entries).
    fn cache_len(&self, n: usize) -> (usize, usize) {
        let slots = n.min(self.embedding.rows()).min(CACHED_CHARS);
        (slots, (2 * slots).next_power_of_two())
    }

    /// Words of scratch for the interleaved copy of an int8 `W_hh` that a kernel takes
    /// ([`arch::interleave_pairs`]; 0 for f32 weights or longer rows).
    fn pairs_words(&self) -> usize {
        pairs_words(&self.forward)
    }

    /// LSTM directions: 2 for a BiLSTM, else 1.
    fn directions(&self) -> usize {
        1 + usize::from(self.bidirectional())
    }

    /// Projection caches in the scratch: one per direction where the cache persists
    /// across windows (`persistent`, and only with [`Segmenter::exact_projections`]),
    /// else one that each direction fills in turn, every window.
    fn caches(&self, persistent: bool) -> usize {
        match persistent && self.exact_projections() {
            true => self.directions(),
            false => 1,
        }
    }

    /// Words (u32) of scratch for a window of `window` characters, in the order
    /// [`Segmenter::split_scratch`] lays them out, with [`Segmenter::caches`]`(persistent)`
    /// projection caches.
    fn scratch_words(&self, window: usize, persistent: bool) -> Option<usize> {
        let h = self.hidden();
        let back = if self.bidirectional() {
            window.checked_mul(CLASSES)?
        } else {
            0
        };
        let (slots, table) = self.cache_len(window);
        // The cache's hash table, rows and count; offsets (n+1), slots (n+1: a step
        // for the paragraph's end), labels (n+1); the cached projections; `W_hh`
        // interleaved; the backward direction's terms of the logits (n, 5); one LSTM
        // direction's working memory; logits.
        (table + slots + 1)
            .checked_add(window.checked_mul(3)?.checked_add(3)?)?
            .checked_add(
                slots
                    .checked_mul(4 * h)?
                    .checked_mul(self.caches(persistent))?,
            )?
            .checked_add(self.pairs_words())?
            .checked_add(back)?
            .checked_add(DirectionScratch::len(self.embedding_dim(), h, PROJECTION_BLOCK) + CLASSES)
    }

    /// The parts of `words` (at least [`Segmenter::scratch_words`]`(window, ..)`) for a
    /// window of `n <= window` characters and `caches` projection caches.
    fn split_scratch<'w>(
        &self,
        words: &'w mut [u32],
        window: usize,
        n: usize,
        caches: usize,
    ) -> Scratch<'w> {
        let h = self.hidden();
        let (slots, table) = self.cache_len(window);
        let (u, f) = words.split_at_mut(table + slots + 1 + 3 * window + 3);
        let (table, u) = u.split_at_mut(table);
        let (rows, u) = u.split_at_mut(slots);
        let (used, u) = u.split_at_mut(1);
        let (offsets, u) = u.split_at_mut(n + 1);
        let (index, u) = u.split_at_mut(n + 1);
        let labels = &mut u[..n + 1];
        let f: &mut [f32] = bytemuck::cast_slice_mut(f);
        let (cache, f) = f.split_at_mut(caches * slots * 4 * h);
        let (pairs, f) = f.split_at_mut(self.pairs_words());
        let (back, f) = f.split_at_mut(if self.bidirectional() { n * CLASSES } else { 0 });
        let (work, f) = f.split_at_mut(DirectionScratch::len(
            self.embedding_dim(),
            h,
            PROJECTION_BLOCK,
        ));
        Scratch {
            table,
            rows,
            used: &mut used[0],
            offsets,
            index,
            labels,
            cache,
            pairs: aligned_pairs(pairs),
            back,
            work,
            logits: &mut f[..CLASSES],
        }
    }

    /// Bytes of scratch [`Segmenter::segment`] needs for windows of `window` characters
    /// (`None` if `window` is 0 or above [`MAX_WINDOW`]). Any address: 3 bytes of
    /// alignment slack are included. With embedding size E, hidden size H, R embedding
    /// rows ([`Segmenter::embedding_rows`]), `B = 5 * window` for a bidirectional
    /// segmenter (else 0), the cache's `S =
    /// min(window, R, 256)` characters and `T` (the smallest power of two `>= 2S`) hash
    /// entries, `P = ceil(H / 2)` and `W = 8P^2 + 7` for an int8 `W_hh` with `H <= 1024`
    /// (else 0), it is
    /// `4 * (T + S + 1 + 3 * window + 3 + 4H * S + W + B + 13E + 34H + P + 13) + 3`:
    /// the cache's table, rows and count; per character its offset, cache slot and
    /// label (and one more of each: the text's end, and the step a paragraph's end
    /// reads as); the cached input projections (of one direction at a time); an
    /// interleaved copy of `W_hh` (for the x86-64 vector levels, 32-byte aligned); the backward
    /// direction's terms of each character's logits; one LSTM direction's working
    /// memory; the logits.
    pub fn scratch_bytes(&self, window: usize) -> Option<usize> {
        self.scratch_bytes_with(window, false)
    }

    /// [`Segmenter::scratch_bytes`] plus room for a projection cache per direction:
    /// with int8 weights, [`Segmenter::segment`] given this much keeps the cache from
    /// one window to the next (until it is full), projecting fewer characters, with the
    /// same results; f32 weights need no more than `scratch_bytes`. `None` as there.
    pub fn persistent_scratch_bytes(&self, window: usize) -> Option<usize> {
        self.scratch_bytes_with(window, true)
    }

    /// [`Segmenter::scratch_words`] in bytes, with the alignment slack; `None` for a
    /// window of 0 or above [`MAX_WINDOW`].
    fn scratch_bytes_with(&self, window: usize, persistent: bool) -> Option<usize> {
        check_text(window, 0).ok()?;
        self.scratch_words(window, persistent)?
            .checked_mul(4)?
            .checked_add(3)
    }

    /// Labels each character of `text` (at most `window`, the scratch's window):
    /// `labels[i]` gets the `LABEL_*` bits of character i, `offsets[i]` its first
    /// byte, `offsets[n]` the length (see [`Segmenter::split_scratch`], with `caches`
    /// projection caches). Whitespace gets [`LABEL_NONE`] without the output layer
    /// (decoding never reads its label). `ends`: the text ends the paragraph
    /// ([`Segmenter::rows_of`]). `warm` (only with a cache per direction): the
    /// scratch holds the caches an earlier window left, whose characters are not
    /// projected again (unless the cache is full: then it starts afresh). A character
    /// whose logits are NaN or infinite is [`Error::NonFiniteScore`].
    fn label(
        &self,
        text: &str,
        words: &mut [u32],
        window: usize,
        caches: usize,
        warm: bool,
        ends: bool,
    ) -> Result<usize, Error> {
        let h = self.hidden();
        let e = self.embedding_dim();
        let n = text.chars().count();
        let (slots, _) = self.cache_len(window);
        let Scratch {
            table,
            rows: cached_rows,
            used,
            offsets,
            index,
            labels,
            cache,
            pairs,
            back,
            work,
            logits,
        } = self.split_scratch(words, window, n, caches);
        // Each distinct character (embedding row) takes a slot of the cache, in order
        // of first appearance, until the slots run out: its input projection is then
        // computed once per direction instead of once per occurrence. `index[i]` is
        // character i's slot, or `UNCACHED | row`.
        if !warm || caches == 1 || *used as usize >= slots {
            table.fill(0);
            *used = 0;
        }
        let before = *used as usize;
        let mut count = before;
        // `index` and `labels` by step first (a run of whitespace is one step).
        let mut steps = 0;
        for (i, (b, c, row)) in self.rows_of(text, ends).enumerate() {
            offsets[i] = b as u32;
            let Some(row) = row else { continue };
            index[steps] = slot(table, cached_rows, &mut count, row).unwrap_or(UNCACHED | row);
            labels[steps] = if c.is_whitespace() { UNLABELLED } else { 0 };
            steps += 1;
        }
        offsets[n] = text.len() as u32;
        // A paragraph that ends without whitespace reads its end as one more step, as
        // if a line break followed (as the paragraph's end reads in the training text):
        // the same tokens as the text with a line break after it. The step has no
        // character and no label.
        let chars = steps;
        if ends && text.chars().next_back().is_some_and(|c| !c.is_whitespace()) {
            let row = self.end_row() as u32;
            index[steps] = slot(table, cached_rows, &mut count, row).unwrap_or(UNCACHED | row);
            labels[steps] = UNLABELLED;
            steps += 1;
        }
        let index = &index[..steps];
        *used = count as u32;
        // Each direction runs on the tagger's LSTM runner: the characters new to its
        // cache projected a block at a time first, int8 weights in integer arithmetic
        // on i16 copies (so the same values as projected at each occurrence).
        let mut dir = DirectionScratch::new(work, e, h, PROJECTION_BLOCK);
        let mut io = Directions {
            seg: self,
            index,
            back,
            logits,
            labels,
            h,
            overflowed: false,
        };
        let g = 4 * h;
        // The backward direction first: the forward one's labels add its terms.
        let cells = [self.backward.as_ref(), Some(&self.forward)];
        for (k, cell) in cells.into_iter().flatten().enumerate() {
            let d = usize::from(k + 1 < self.directions());
            // A cache per direction keeps its projections; a shared one is refilled.
            let (cache, first) = match caches {
                1 => (&mut cache[..slots * g], 0),
                _ => (&mut cache[k * slots * g..(k + 1) * slots * g], before),
            };
            let mut rows = CachedRows {
                embedding: &self.embedding,
                rows: &cached_rows[first..count],
            };
            let new = &mut cache[first * g..count * g];
            dir.project_inputs(cell, count - first, &mut rows, new);
            dir.zero_state();
            // The recurrent product reads `W_hh` interleaved where a level has a kernel
            // for it (the same sums).
            let pairs = match arch::interleave_pairs(&cell.w_hh.kernel_rows(), pairs) {
                true => &*pairs,
                false => &[],
            };
            dir.run_projected(
                cell,
                pairs,
                d == 1,
                &cache[..count * g],
                index,
                &mut LayerIo::single(&mut io, d, h),
            );
        }
        if io.overflowed {
            return Err(Error::NonFiniteScore);
        }
        by_character(text, labels, chars);
        Ok(n)
    }

    /// Whether the cached input projections equal those projected at each occurrence
    /// bit for bit (int8 `W_ih`), so that the cache may serve later windows.
    fn exact_projections(&self) -> bool {
        [Some(&self.forward), self.backward.as_ref()]
            .into_iter()
            .flatten()
            .all(|cell| cell.w_ih.storage() == Storage::I8)
    }

    /// Splits `text` into tokens and sentences, into `out`, in windows of at most
    /// `window` characters (see the module's documentation). `out.len()` of
    /// `text.chars().count()` always suffices; with less, the call stops at a window's
    /// end and says how many bytes it read, and room for `window` tokens (or the text's
    /// characters, if fewer) always takes one window; with room for fewer tokens than
    /// the first window has, it fails with [`Error::OutputTooSmall`], `out` then holding
    /// some of them (to be ignored). `scratch` holds at least
    /// [`Segmenter::scratch_bytes`]`(window)` bytes (with
    /// [`Segmenter::persistent_scratch_bytes`], fewer projections). A window of 0 or above
    /// [`MAX_WINDOW`] is [`Error::InvalidWindow`]; a text of 4 GiB or more
    /// [`Error::TextTooLong`]; a character whose scores overflow f32 (NaN or infinite:
    /// weights too large) [`Error::NonFiniteScore`] (`out` may then hold the tokens of
    /// earlier windows; the errors other than these two come before anything is
    /// written).
    pub fn segment(
        &self,
        text: &str,
        window: usize,
        scratch: &mut [u8],
        out: &mut [SegToken],
    ) -> Result<Segmented, Error> {
        self.segment_from(text, window, scratch, out, false)
    }

    /// [`Segmenter::segment`]; with `warm`, `scratch` is the one the previous call
    /// (with the same `window`) used, untouched since: given
    /// [`Segmenter::persistent_scratch_bytes`], its projection caches serve this text
    /// too (the same results, fewer projections).
    pub(crate) fn segment_from(
        &self,
        text: &str,
        window: usize,
        scratch: &mut [u8],
        out: &mut [SegToken],
        warm: bool,
    ) -> Result<Segmented, Error> {
        check_text(window, text.len())?;
        let need = self.scratch_bytes(window).ok_or(Error::ScratchTooSmall)?;
        if scratch.len() < need {
            return Err(Error::ScratchTooSmall);
        }
        // With room for a cache per direction (and int8 weights), windows after the
        // first reuse the projection cache.
        let persistent = self
            .persistent_scratch_bytes(window)
            .is_some_and(|p| scratch.len() >= p);
        let caches = self.caches(persistent);
        let (_, words, _) = bytemuck::pod_align_to_mut::<u8, u32>(scratch);
        let words = &mut words[..self
            .scratch_words(window, persistent)
            .ok_or(Error::ScratchTooSmall)?];
        let mut warm = warm && caches > 1;
        let mut pos = 0usize;
        let mut written = 0usize;
        while pos < text.len() {
            let rest = &text[pos..];
            let end = rest
                .char_indices()
                .nth(window)
                .map_or(rest.len(), |(b, _)| b);
            let last = end == rest.len();
            let n = self.label(&rest[..end], words, window, caches, warm, last)?;
            warm = caches > 1;
            let labelled = self.split_scratch(words, window, n, caches);
            let (offsets, labels) = (&*labelled.offsets, &*labelled.labels);
            let room = &mut out[written..];
            let Some(count) = self.decode(&rest[..end], offsets, labels, pos, room) else {
                if written == 0 {
                    return Err(Error::OutputTooSmall);
                }
                return Ok(Segmented {
                    tokens: written,
                    consumed: pos,
                });
            };
            let (keep, next) = if last {
                if let Some(t) = room[..count].last_mut() {
                    t.flags |= TOKEN_SENTENCE_END;
                }
                (count, text.len())
            } else {
                // What the next window labels again starts in this one's second half,
                // or after whitespace (else a network that finds boundaries only near a
                // window's start, as on text without whitespace, would label each
                // character many times over). The labels of the window's last `margin`
                // characters were read without the text after them: a token end there
                // is not settled. In order: the last settled sentence end, if it ends
                // the last token or lies in the second half; all the tokens, if the
                // last one starts in the first half (cut where the window ends); the
                // last settled token that ends in the second half; the last token that
                // starts in the first half, if it ends in the second half (it spans the
                // middle); the last settled token, whitespace reaching from it into the
                // second half; else none, the next window starting at the first token
                // (which starts in the second half). Characters count: `at(b)` is the
                // character of byte `b` of the text.
                let n = offsets.len() - 1;
                let margin = window_margin(window);
                let at = |b: u32| offsets.partition_point(|&o| (o as usize) < b as usize - pos);
                let in_first_half = |b: u32| 2 * at(b) < n;
                let settled = |b: u32| at(b) + margin <= n;
                let toks = &room[..count];
                let sentence_end = toks
                    .iter()
                    .rposition(|t| t.flags & TOKEN_SENTENCE_END != 0 && settled(t.end))
                    .filter(|&i| i + 1 == count || !in_first_half(toks[i].end));
                let keep_last = count == 1 || count > 1 && in_first_half(toks[count - 1].start);
                let last_settled = toks.iter().rposition(|t| settled(t.end));
                let keep_through = |i: usize| (i + 1, toks[i].end as usize);
                let kept = match sentence_end {
                    _ if count == 0 => Some((0, pos + end)),
                    Some(i) => Some(keep_through(i)),
                    None if keep_last => None,
                    None => last_settled
                        .filter(|&i| !in_first_half(toks[i].end))
                        .or_else(|| {
                            toks.iter()
                                .rposition(|t| in_first_half(t.start))
                                .filter(|&i| !in_first_half(toks[i].end))
                        })
                        .or(last_settled)
                        .map(keep_through)
                        .or(Some((0, toks[0].start as usize)))
                        // (Never reached: the first token starts in the second half.)
                        .filter(|&(_, next)| next > pos),
                };
                kept.unwrap_or_else(|| {
                    let t = &mut room[count - 1];
                    let next = t.end as usize;
                    if text[next..].starts_with(|c: char| !c.is_whitespace()) {
                        t.flags |= TOKEN_CUT;
                    }
                    (count, next)
                })
            };
            written += keep;
            pos = next;
        }
        // The last window may hold only whitespace after the previous one's tokens.
        if let Some(t) = out[..written].last_mut() {
            t.flags |= TOKEN_SENTENCE_END;
        }
        Ok(Segmented {
            tokens: written,
            consumed: text.len(),
        })
    }

    /// Tokens of one labelled window (`base`: its first byte in the whole text), into
    /// `out`; `None` if `out` is too short.
    fn decode(
        &self,
        text: &str,
        offsets: &[u32],
        labels: &[u32],
        base: usize,
        out: &mut [SegToken],
    ) -> Option<usize> {
        let mut count = 0usize;
        let mut open: Option<u32> = None;
        let mut last_end = 0u32;
        // The label of a character that an extending one follows, moving on to it.
        let mut carry = 0u32;
        let spaces = self.spaces_in_tokens();
        let base = base as u32;
        let mut emit = |start: u32, end: u32, label: u32, count: &mut usize| -> Option<()> {
            let mut flags = 0;
            if label & LABEL_SENTENCE_END as u32 != 0 {
                flags |= TOKEN_SENTENCE_END;
            }
            if label & LABEL_MULTIWORD as u32 != 0 {
                flags |= TOKEN_MULTIWORD;
            }
            *out.get_mut(*count)? = SegToken {
                start: base + start,
                end: base + end,
                flags,
            };
            *count += 1;
            Some(())
        };
        for (i, c) in text.chars().enumerate() {
            let (b0, b1) = (offsets[i], offsets[i + 1]);
            if c.is_whitespace() {
                let inside = spaces && open.is_some();
                if !inside {
                    if let Some(s) = open.take() {
                        emit(s, last_end, 0, &mut count)?;
                    }
                }
                continue;
            }
            let start = *open.get_or_insert(b0);
            last_end = b1;
            let label = labels[i] | carry;
            carry = 0;
            if label & LABEL_TOKEN_END as u32 != 0 {
                // Not before a character that extends this one (nor after a joiner): the
                // label moves on to it.
                let next = text[b1 as usize..].chars().next();
                if next.is_some_and(|n| extends(n) || (c == ZWJ && !n.is_whitespace())) {
                    carry = label;
                    continue;
                }
                emit(start, b1, label, &mut count)?;
                open = None;
            }
        }
        if let Some(s) = open {
            emit(s, last_end, 0, &mut count)?;
        }
        Some(count)
    }

    /// The words of the token `surface`: from the multiword table, or split off by the
    /// table's longest matching last word, or itself (see the module's documentation).
    /// No token is empty: an empty `surface` gives one empty word (the C API's
    /// `postag_expand` refuses it).
    pub fn expand<'s>(&self, surface: &'s str) -> Expansion<'a, 's> {
        let entry = self
            .mwt_forms
            .find_normalized(surface, NORMALIZE_LOWERCASE)
            .map(|i| self.mwt_words.get(i));
        let spelled = entry.is_some_and(|words| spells(words, surface.chars()));
        let split = match entry {
            Some(_) => None,
            None => suffix_split(self.multiword_table(), surface),
        };
        Expansion {
            surface,
            words: entry.unwrap_or(""),
            found: entry.is_some(),
            spelled,
            split,
            at: 0,
            done: false,
        }
    }
}

/// U+200D ZERO WIDTH JOINER: what follows it joins the character before it.
const ZWJ: char = '\u{200d}';

/// Whether `c` extends the character before it: a combining mark, a joiner, an emoji
/// modifier or tag (the table of `marks.rs`, from Python's `unicodedata`).
fn extends(c: char) -> bool {
    // No such character below U+0300 (the combining grave accent, the first of them).
    if (c as u32) < 0x300 {
        return false;
    }
    let c = c as u32;
    let start_mask = (1u32 << marks::START_BITS) - 1;
    let at = marks::EXTEND_RUNS.partition_point(|&r| r & start_mask <= c);
    at.checked_sub(1).is_some_and(|k| {
        let r = marks::EXTEND_RUNS[k];
        c - (r & start_mask) <= r >> marks::START_BITS
    })
}

/// Spreads the labels of the `steps` steps of `text` (`labels[..steps]`, see
/// [`Segmenter::rows_of`]) over its characters: each step's label to the character that
/// starts it, [`LABEL_NONE`] to the rest of a run of whitespace.
fn by_character(text: &str, labels: &mut [u32], steps: usize) {
    // Backwards: a step's character is never before the step, so no label is
    // overwritten before it is read.
    let mut step = steps;
    let mut at = text.chars().count();
    let mut chars = text.chars().rev().peekable();
    while let Some(c) = chars.next() {
        at -= 1;
        let continues_run = c.is_whitespace() && chars.peek().is_some_and(|p| p.is_whitespace());
        labels[at] = if continues_run {
            LABEL_NONE as u32
        } else {
            step -= 1;
            labels[step]
        };
    }
}

/// The characters whose input projections are cached: at most this many distinct
/// embedding rows (the rest are projected at each occurrence) per window, or, where the
/// cache persists, until it is full (the next window then starts it afresh).
const CACHED_CHARS: usize = 256;

/// A character's label before the forward direction reaches it: whitespace, whose
/// logits are not computed (see [`Directions::output`]).
const UNLABELLED: u32 = u32::MAX;

/// The parts of a segmenter's scratch ([`Segmenter::split_scratch`]) for a window of
/// `n` characters.
struct Scratch<'w> {
    // The projection cache: hash table, the embedding row of each slot, slots used.
    table: &'w mut [u32],
    rows: &'w mut [u32],
    used: &'w mut u32,
    // (n + 1,) each character's first byte, then the text's length.
    offsets: &'w mut [u32],
    // (n + 1,) each step's cache slot or `UNCACHED | row`; (n + 1,) its label (a
    // step per character or run of whitespace, and one for a paragraph's end).
    index: &'w mut [u32],
    labels: &'w mut [u32],
    // The cached projections (slots, 4H), one or (backward first) one per direction;
    // `W_hh` interleaved, 32-byte aligned.
    cache: &'w mut [f32],
    pairs: &'w mut [i16],
    // (n, 5) the backward direction's terms of the logits.
    back: &'w mut [f32],
    work: &'w mut [f32],
    logits: &'w mut [f32],
}

/// A direction's inputs (the characters' embedding rows) and outputs: the backward
/// direction keeps its terms of each character's logits in `back`; the forward one adds
/// its own and labels the character.
struct Directions<'r, 'a> {
    seg: &'r Segmenter<'a>,
    // (steps,) each step's cache slot, or `UNCACHED | row` (a step per character or
    // run of whitespace, and one for a paragraph's end without whitespace).
    index: &'r [u32],
    back: &'r mut [f32],
    logits: &'r mut [f32],
    // (steps,) 0, or `UNLABELLED` for whitespace (and the end step), until the forward
    // direction labels it.
    labels: &'r mut [u32],
    h: usize,
    // Set when a character's logits were NaN or infinite (weights too large for f32):
    // its label would be arbitrary.
    overflowed: bool,
}

impl StackIo for Directions<'_, '_> {
    fn input(&mut self, t: usize, x: &mut [f32]) {
        let row = self.index[t] & !UNCACHED;
        self.seg.embedding.row_into(row as usize, x);
    }

    fn output(&mut self, direction: usize, t: usize, hs: &[f32], _hq: &mut [i16]) -> Option<f32> {
        // The output layer on [forward h, backward h], summed as `(bias + forward
        // terms) + backward terms` (each term the row's scale times its dot product).
        let (seg, h) = (self.seg, self.h);
        if self.labels[t] == UNLABELLED {
            if direction == 0 {
                self.labels[t] = LABEL_NONE as u32;
            }
            return None;
        }
        let back = self.back.get_mut(t * CLASSES..(t + 1) * CLASSES);
        if direction == 1 {
            if let Some(back) = back {
                seg.out_w.row_dots(h, hs, back);
            }
            return None;
        }
        seg.out_w.row_dots(0, hs, self.logits);
        for (k, l) in self.logits.iter_mut().enumerate() {
            *l += seg.out_b.get(k);
            if let Some(b) = back.as_ref().map(|b| b[k]) {
                *l += b;
            }
        }
        self.overflowed |= self.logits.iter().any(|l| !l.is_finite());
        self.labels[t] = CLASS_LABELS[argmax(self.logits)] as u32;
        None
    }
}

/// Whether each multiword form and each of its words (tab-separated) is a token the
/// output can write as one: not empty, no control characters, whitespace only where
/// tokens may hold it (`spaces`).
#[cfg(not(target_os = "none"))]
fn writable_table(forms: &StringTable<'_>, words: &StringTable<'_>, spaces: bool) -> bool {
    let token = |w: &str| {
        !w.is_empty()
            && w.chars()
                .all(|c| !c.is_control() && (spaces || !c.is_whitespace()))
    };
    forms
        .iter()
        .zip(words.iter())
        .all(|(form, words)| token(form) && words.split('\t').all(token))
}

/// Where a token the multiword `table` (lowercased form, tab-separated words) lacks
/// splits: the byte offset of the longest last word of an entry whose words spell its
/// form that is a proper suffix of `surface` (lowercased); `None` if no such word ends it.
pub(crate) fn suffix_split<'t>(
    table: impl Iterator<Item = (&'t str, &'t str)>,
    surface: &str,
) -> Option<usize> {
    let mut best: Option<(usize, usize)> = None; // (suffix chars, byte offset)
    for (form, words) in table {
        let Some((_, last)) = words.rsplit_once('\t') else {
            continue;
        };
        let chars = last.chars().count();
        if best.is_some_and(|(n, _)| n >= chars) || !spells(words, form.chars()) {
            continue;
        }
        if let Some(at) = suffix_start(surface, last) {
            best = Some((chars, at));
        }
    }
    best.map(|(_, at)| at)
}

/// Whether `words` (separated by tabs, lowercase) spell `surface` lowercased.
pub(crate) fn spells(words: &str, surface: impl Iterator<Item = char>) -> bool {
    let mut letters = words.chars().filter(|&c| c != '\t');
    let mut surface = surface;
    loop {
        match (letters.next(), surface.next()) {
            (None, None) => return true,
            (Some(w), Some(c)) if lowers_to(c, w) => {}
            _ => return false,
        }
    }
}

/// Whether `c` lowercases to exactly the character `w` (as [`NORMALIZE_LOWERCASE`]).
fn lowers_to(c: char, w: char) -> bool {
    matches!(lower(c), Lower::One(l) if l == w)
}

/// The byte offset of `suffix` (lowercase) at the end of `surface`, compared character
/// by character lowercased, if `surface` has more characters than it.
fn suffix_start(surface: &str, suffix: &str) -> Option<usize> {
    let mut rest = surface.char_indices().rev();
    let mut at = surface.len();
    for w in suffix.chars().rev() {
        match rest.next() {
            Some((b, c)) if lowers_to(c, w) => at = b,
            _ => return None,
        }
    }
    (at > 0).then_some(at)
}

/// One word of an expanded token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Word<'a, 's> {
    /// Bytes `[start, end)` of the surface form.
    Surface(usize, usize, &'s str),
    /// A string of the blob's multiword table.
    Table(&'a str),
}

impl<'a: 'r, 's: 'r, 'r> Word<'a, 's> {
    /// The word's text.
    pub fn as_str(&self) -> &'r str {
        match *self {
            Word::Surface(_, _, s) | Word::Table(s) => s,
        }
    }
}

/// Iterator over the words of a token ([`Segmenter::expand`]).
#[derive(Debug, Clone)]
pub struct Expansion<'a, 's> {
    surface: &'s str,
    words: &'a str,
    found: bool,
    spelled: bool,
    // Not in the table: the byte offset where the token splits in two, if it does.
    split: Option<usize>,
    // Bytes of `surface` (spelled or split) already given; unused otherwise.
    at: usize,
    done: bool,
}

impl<'a, 's> Iterator for Expansion<'a, 's> {
    type Item = Word<'a, 's>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if !self.found {
            let start = self.at;
            let end = match self.split {
                Some(k) if start < k => k,
                _ => self.surface.len(),
            };
            self.at = end;
            self.done = end == self.surface.len();
            return Some(Word::Surface(start, end, &self.surface[start..end]));
        }
        let (word, rest) = match self.words.split_once('\t') {
            Some((w, r)) => (w, r),
            None => {
                self.done = true;
                (self.words, "")
            }
        };
        self.words = rest;
        if !self.spelled {
            return Some(Word::Table(word));
        }
        let len: usize = self.surface[self.at..]
            .chars()
            .take(word.chars().count())
            .map(char::len_utf8)
            .sum();
        let start = self.at;
        self.at += len;
        Some(Word::Surface(start, self.at, &self.surface[start..self.at]))
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec::Vec;

    use super::build::{with_segmenter, SegCell, SegmenterWeights};
    use super::{
        aligned_pairs, by_character, check_text, first_word_in_case_into, paragraphs, Directions,
        SegToken, Segmenter, CACHED_CHARS, CLASSES, MAX_WINDOW, RECASE_GROWTH, TOKEN_CUT,
        TOKEN_SENTENCE_END, UNCACHED, UNLABELLED,
    };
    use crate::arch::{self, force, Level};
    use crate::builder::BuildError;
    use crate::model::{DirectionScratch, LayerIo, PROJECTION_BLOCK};
    use crate::synthetic::RandomModel;
    use crate::tensor::Storage;
    use crate::Error;

    /// The table of characters that extend the one before them: those the generator
    /// names and no others, at the edges of its runs, from the same Unicode as the
    /// lowercase tables.
    #[test]
    fn extending_characters_are_marks_joiners_and_emoji_modifiers() {
        use super::{extends, marks};
        assert_eq!(marks::UNICODE_VERSION, crate::lowercase::UNICODE_VERSION);
        let yes = [
            '\u{300}',
            '\u{301}',
            '\u{36f}',
            '\u{93f}',
            '\u{20e3}',
            '\u{200c}',
            '\u{200d}',
            '\u{fe0f}',
            '\u{ff9e}',
            '\u{1f3fb}',
            '\u{1f3ff}',
            '\u{e0020}',
            '\u{e007f}',
            '\u{e01ef}',
        ];
        let no = [
            'a',
            ' ',
            '\u{2ff}',
            '\u{370}',
            '(',
            '\u{200b}',
            '\u{200e}',
            '\u{1f3fa}',
            '\u{1f400}',
            '\u{e0080}',
            '\u{10ffff}',
            'é',
            '\u{44d}',
        ];
        for c in yes {
            assert!(extends(c), "U+{:04X}", c as u32);
        }
        for c in no {
            assert!(!extends(c), "U+{:04X}", c as u32);
        }
        // Every run is in order and apart from the next one.
        let start = |r: u32| r & ((1 << marks::START_BITS) - 1);
        let end = |r: u32| start(r) + (r >> marks::START_BITS);
        assert!(marks::EXTEND_RUNS
            .windows(2)
            .all(|w| end(w[0]) + 1 < start(w[1])));
    }

    /// A random segmenter over `chars` distinct characters (above `CACHED_CHARS` when
    /// asked), `dim`-wide embeddings and `h` hidden units per direction.
    fn random(
        chars: usize,
        dim: usize,
        h: usize,
        bidirectional: bool,
        storage: Storage,
    ) -> Vec<u8> {
        let mut x = 0x2545_f491u32 ^ (chars * 31 + dim * 7 + h) as u32;
        let mut weights = |n: usize, scale: f32| -> Vec<f32> {
            (0..n)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    ((x % 2001) as f32 / 1000.0 - 1.0) * scale
                })
                .collect()
        };
        let chars: Vec<(char, u32)> = "abcdefghijklmnopqrstuvwxyz.,!?'-"
            .chars()
            .chain(('\u{3b1}'..).take(chars.saturating_sub(32)))
            .take(chars)
            .zip(1..)
            .collect();
        let rows = chars.len() + 1;
        let cells = (0..1 + bidirectional as usize)
            .map(|_| SegCell {
                w_ih: weights(4 * h * dim, 1.0),
                w_hh: weights(4 * h * h, 0.8),
                bias: weights(4 * h, 0.5),
            })
            .collect::<Vec<_>>();
        let out_dim = h * cells.len();
        let seg = SegmenterWeights {
            spaces_in_tokens: false,
            chars,
            embedding: weights(rows * dim, 2.0),
            rows,
            dim,
            cells,
            out_w: weights(5 * out_dim, 3.0),
            out_b: weights(5, 1.0),
            multiwords: std::vec![],
        };
        let tagger = RandomModel {
            words: 5,
            word_dim: 2,
            chars: None,
            hidden: 2,
            layers: 1,
            bidirectional: false,
            tags: 2,
            storage: Storage::F32,
            seed: 1,
        };
        with_segmenter(&tagger.build().unwrap().0, Some(&seg), storage).unwrap()
    }

    /// A forward-only segmenter over `chars` (rows from 1), `h` hidden units, embeddings
    /// of `dim`: every weight 0.1 (embeddings 0.5), every bias 0, no multiword table.
    fn constant(chars: &[(char, u32)], h: usize, dim: usize) -> SegmenterWeights {
        let rows = chars.len() + 1;
        SegmenterWeights {
            spaces_in_tokens: false,
            chars: chars.to_vec(),
            embedding: std::vec![0.5; rows * dim],
            rows,
            dim,
            cells: std::vec![SegCell {
                w_ih: std::vec![0.1; 4 * h * dim],
                w_hh: std::vec![0.1; 4 * h * h],
                bias: std::vec![0.0; 4 * h],
            }],
            out_w: std::vec![0.1; 5 * h],
            out_b: std::vec![0.0; 5],
            multiwords: std::vec![],
        }
    }

    /// `n` characters of text: the segmenter's characters, unknown ones and spaces.
    fn text(n: usize, chars: usize, seed: u32) -> std::string::String {
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                match x % (chars as u32 + 8) {
                    k if k < 26 => char::from(b'a' + k as u8),
                    k if k < 32 => ".,!?'-".chars().nth(k as usize - 26).unwrap(),
                    k if k < chars as u32 => char::from_u32(0x3b1 + k - 32).unwrap(),
                    k if k < chars as u32 + 4 => ' ',
                    _ => '\u{4e00}',
                }
            })
            .collect()
    }

    /// (labels, the backward terms of the logits as bits) of `Segmenter::label`.
    fn labelled(seg: &Segmenter<'_>, text: &str) -> (Vec<u32>, Vec<u32>) {
        let n = text.chars().count();
        let mut words = std::vec![0u32; seg.scratch_words(n, false).unwrap()];
        assert_eq!(seg.label(text, &mut words, n, 1, false, true), Ok(n));
        let s = seg.split_scratch(&mut words, n, n, 1);
        (
            s.labels[..n].to_vec(),
            s.back.iter().map(|v| v.to_bits()).collect(),
        )
    }

    /// The same from the tagger's LSTM runner, every character's input projected as
    /// the runner reads it, without the cache.
    fn labelled_by_the_runner(seg: &Segmenter<'_>, text: &str) -> (Vec<u32>, Vec<u32>) {
        let (n, h, e) = (text.chars().count(), seg.hidden(), seg.embedding_dim());
        let mut steps: Vec<(char, u32)> = seg
            .rows_of(text, true)
            .filter_map(|(_, c, r)| Some((c, r?)))
            .collect();
        let m = steps.len();
        // The paragraph's end read as a line break where no whitespace ends the text.
        if text.chars().next_back().is_some_and(|c| !c.is_whitespace()) {
            steps.push(('\n', seg.end_row() as u32));
        }
        let index: Vec<u32> = steps.iter().map(|&(_, r)| UNCACHED | r).collect();
        let mut back = std::vec![0.0f32; if seg.bidirectional() { n * CLASSES } else { 0 }];
        let mut labels = std::vec![0u32; n + 1];
        for (label, &(c, _)) in labels.iter_mut().zip(&steps) {
            *label = if c.is_whitespace() { UNLABELLED } else { 0 };
        }
        let mut logits = [0.0f32; 5];
        let mut work = std::vec![0.0f32; DirectionScratch::len(e, h, PROJECTION_BLOCK)];
        let mut dir = DirectionScratch::new(&mut work, e, h, PROJECTION_BLOCK);
        let mut io = Directions {
            seg,
            index: &index,
            back: &mut back,
            logits: &mut logits,
            labels: &mut labels,
            h,
            overflowed: false,
        };
        let all = steps.len();
        if let Some(cell) = &seg.backward {
            dir.zero_state();
            dir.run(cell, &[], all, true, &mut LayerIo::single(&mut io, 1, h));
        }
        dir.zero_state();
        dir.run(
            &seg.forward,
            &[],
            all,
            false,
            &mut LayerIo::single(&mut io, 0, h),
        );
        by_character(text, &mut labels, m);
        labels.truncate(n);
        (labels, back.iter().map(|v| v.to_bits()).collect())
    }

    /// Asserts equal labels and states, naming the first difference.
    fn same(got: &(Vec<u32>, Vec<u32>), want: &(Vec<u32>, Vec<u32>), what: &str) {
        for (part, g, w) in [
            ("label", &got.0, &want.0),
            ("backward term", &got.1, &want.1),
        ] {
            assert_eq!(g.len(), w.len(), "{what}");
            if let Some(i) = (0..g.len()).find(|&i| g[i] != w[i]) {
                panic!("{what}: {part} {i}: {:#x} vs {:#x}", g[i], w[i]);
            }
        }
    }

    #[test]
    fn cached_projections_label_exactly_as_the_runner_at_every_level() {
        let levels: Vec<Level> = Level::ALL
            .into_iter()
            .filter(|l| l.is_supported())
            .collect();
        let shapes = [
            (40, 5, 7, true),
            (40, 24, 48, true),
            (300, 6, 9, true),
            (40, 3, 4, false),
        ];
        for (chars, dim, h, bidirectional) in shapes {
            for storage in [Storage::I8, Storage::F32] {
                let blob = random(chars, dim, h, bidirectional, storage);
                let seg = Segmenter::from_bytes(&blob).unwrap().unwrap();
                // Short texts, and texts with more distinct characters than the cache holds.
                for (n, seed) in [(1, 3), (9, 5), (200, 7), (1500, 11)] {
                    let text = text(n, chars, seed);
                    let what = std::format!("{chars} chars, {dim}/{h}, {storage:?}, {n} chars");
                    let mut scalar = None;
                    for &level in &levels {
                        assert!(force(Some(level)));
                        let got = labelled(&seg, &text);
                        let want = labelled_by_the_runner(&seg, &text);
                        force(None);
                        if storage == Storage::I8 || level == Level::Scalar {
                            same(&got, &want, &std::format!("{what} {level:?}"));
                        } else {
                            // f32 vector kernels round a character's projection
                            // differently in a block's tile than alone.
                            for (g, w) in got.1.iter().zip(&want.1) {
                                let (g, w) = (f32::from_bits(*g), f32::from_bits(*w));
                                assert!(
                                    (g - w).abs() <= 1e-4 * (1.0 + w.abs()),
                                    "{what} {level:?}: {g} vs {w}"
                                );
                            }
                        }
                        // Int8 weights: the same labels and states at every level.
                        if storage == Storage::I8 {
                            let scalar = scalar.get_or_insert(got.clone());
                            same(&got, scalar, &std::format!("{what} {level:?} vs scalar"));
                        }
                    }
                    if n == 1500 && chars == 300 {
                        let (slots, _) = seg.cache_len(n);
                        assert_eq!(slots, CACHED_CHARS);
                    }
                }
            }
        }
    }

    #[test]
    fn a_warm_cache_labels_as_a_cold_one() {
        // Int8 projections are exact, so with a cache per direction later windows (and
        // paragraphs) reuse it: each text's labels and states equal the runner's
        // without a cache, also once the cache is full and new characters go uncached,
        // and after a full cache starts afresh.
        for (chars, dim, h, bidirectional) in [(300, 6, 9, true), (40, 3, 4, false)] {
            let blob = random(chars, dim, h, bidirectional, Storage::I8);
            let seg = Segmenter::from_bytes(&blob).unwrap().unwrap();
            let caches = seg.caches(true);
            assert_eq!(caches, 1 + usize::from(bidirectional));
            let window = 1500;
            let (slots, _) = seg.cache_len(window);
            for level in Level::ALL.into_iter().filter(|l| l.is_supported()) {
                assert!(force(Some(level)));
                let mut words = std::vec![0u32; seg.scratch_words(window, true).unwrap()];
                let texts = [(200, 7), (9, 5), (1500, 11), (300, 13)];
                for (k, (n, seed)) in texts.into_iter().enumerate() {
                    let text = text(n, chars, seed);
                    let s = seg.split_scratch(&mut words, window, n, caches);
                    // Whitespace leaves its terms as they were: zeros, as the runner's.
                    s.back.fill(0.0);
                    let before = *s.used as usize;
                    assert_eq!(
                        seg.label(&text, &mut words, window, caches, k > 0, true),
                        Ok(n)
                    );
                    let s = seg.split_scratch(&mut words, window, n, caches);
                    let got = (
                        s.labels[..n].to_vec(),
                        s.back.iter().map(|v| v.to_bits()).collect(),
                    );
                    let what = std::format!("{chars} chars, text {k}, {level:?}");
                    same(&got, &labelled_by_the_runner(&seg, &text), &what);
                    // The cache kept its characters, unless it was full.
                    let mut distinct: Vec<u32> =
                        seg.rows_of(&text, true).filter_map(|r| r.2).collect();
                    if !text.ends_with(char::is_whitespace) {
                        distinct.push(seg.end_row() as u32);
                    }
                    distinct.sort_unstable();
                    distinct.dedup();
                    let used = *s.used as usize;
                    if k > 0 && before < slots {
                        assert!(used >= before.max(distinct.len().min(slots)), "{what}");
                    } else {
                        assert_eq!(used, distinct.len().min(slots), "{what}");
                    }
                }
                force(None);
            }
        }
        // f32 projections round differently in a block than alone: never reused.
        let blob = random(40, 5, 7, true, Storage::F32);
        let seg = Segmenter::from_bytes(&blob).unwrap().unwrap();
        assert!(!seg.exact_projections());
        assert_eq!(seg.caches(true), 1);
        assert_eq!(seg.persistent_scratch_bytes(100), seg.scratch_bytes(100));
    }

    #[test]
    fn the_network_reads_any_whitespace_as_a_space() {
        // A vocabulary with a space and a line break of its own (as a treebank's text
        // with paragraphs gives).
        let weights = constant(&[('a', 1), (' ', 2), ('\n', 3)], 3, 2);
        let tagger = RandomModel {
            chars: None,
            ..RandomModel::BASE
        };
        let base = tagger.build().unwrap().0;
        let blob = with_segmenter(&base, Some(&weights), Storage::F32).unwrap();
        let seg = Segmenter::from_bytes(&blob).unwrap().unwrap();
        let space = seg.row(' ');
        assert_eq!((space, seg.row('a'), seg.row('\u{1}')), (2, 1, 0));
        for c in [
            '\n', '\r', '\t', '\u{b}', '\u{c}', '\u{85}', '\u{a0}', '\u{2028}', '\u{3000}',
        ] {
            assert_eq!(seg.row(c), space, "{c:?}");
        }
        // A run of whitespace is one step: a line break when it ends a paragraph,
        // otherwise a space.
        let rows =
            |ends| -> Vec<Option<u32>> { seg.rows_of("a\t\na \r\n", ends).map(|r| r.2).collect() };
        let (a, s, n) = (Some(1), Some(2), Some(3));
        assert_eq!(rows(true), [a, s, None, a, n, None, None]);
        assert_eq!(rows(false), [a, s, None, a, s, None, None]);
        assert_eq!(
            seg.rows_of(" a", true).map(|r| r.2).collect::<Vec<_>>(),
            [s, a]
        );
    }

    #[test]
    fn a_multiword_table_of_tokens_that_cannot_be_written_is_refused() {
        let tagger = RandomModel {
            chars: None,
            ..RandomModel::BASE
        };
        let base = tagger.build().unwrap().0;
        let with_table = |spaces_in_tokens: bool, form: &str, words: &[&str]| {
            let weights = SegmenterWeights {
                spaces_in_tokens,
                multiwords: std::vec![(form.into(), words.iter().map(|w| (*w).into()).collect())],
                ..constant(&[('a', 1)], 2, 2)
            };
            with_segmenter(&base, Some(&weights), Storage::F32).map(|_| ())
        };
        assert!(with_table(false, "cannot", &["can", "not"]).is_ok());
        assert!(with_table(false, "e", &["e"]).is_ok());
        assert!(with_table(true, "a b", &["a b"]).is_ok());
        for (form, words) in [
            ("cannot", &["", "cannot"][..]),
            ("cannot", &["can", ""]),
            ("cannot", &["ca\nn", "not"]),
            ("cannot", &["can", "no\u{0}t"]),
            ("can not", &["can", "not"]),
            ("cannot", &["can not"]),
            ("ca\u{7f}", &["can"]),
        ] {
            let got = with_table(false, form, words);
            assert_eq!(
                got,
                Err(BuildError::Invalid(Error::InvalidModel)),
                "{form:?} {words:?}"
            );
        }
        assert!(with_table(true, "cannot", &["can", "\tnot"]).is_err());
    }

    #[test]
    fn the_largest_storable_weights_give_finite_labels_and_larger_ones_are_refused() {
        // Zero LSTM weights and gate biases of 10: every h is about 0.76 or more, and
        // every output weight is `out`: the logits are about 6 * out.
        let (h, dim) = (4, 2);
        let weights = |out: f32| SegmenterWeights {
            cells: (0..2)
                .map(|_| SegCell {
                    w_ih: std::vec![0.0; 4 * h * dim],
                    w_hh: std::vec![0.0; 4 * h * h],
                    bias: std::vec![10.0; 4 * h],
                })
                .collect(),
            out_w: std::vec![out; 5 * 2 * h],
            ..constant(&[('a', 1), ('.', 2)], h, dim)
        };
        let tagger = RandomModel {
            chars: None,
            ..RandomModel::BASE
        };
        let base = tagger.build().unwrap().0;
        let largest = crate::format::MAX_MAGNITUDE;
        for storage in [Storage::F32, Storage::I8] {
            let blob = with_segmenter(&base, Some(&weights(largest)), storage).unwrap();
            let seg = Segmenter::from_bytes(&blob).unwrap().unwrap();
            for level in Level::ALL.into_iter().filter(|l| l.is_supported()) {
                assert!(force(Some(level)));
                let mut scratch = std::vec![0u8; seg.scratch_bytes(16).unwrap()];
                let mut tokens = std::vec![super::SegToken::default(); 16];
                let got = seg.segment("aa. a", 16, &mut scratch, &mut tokens);
                assert!(got.is_ok(), "{storage:?} {level:?}: {got:?}");
                force(None);
            }
            let refused = with_segmenter(&base, Some(&weights(2.0 * largest)), storage);
            assert!(
                matches!(refused, Err(BuildError::NonFinite { .. })),
                "{storage:?}: {refused:?}"
            );
        }
    }

    #[test]
    fn the_interleaved_copy_starts_32_byte_aligned_with_room_at_any_address() {
        let blob = random(40, 5, 48, true, Storage::I8);
        let seg = Segmenter::from_bytes(&blob).unwrap().unwrap();
        let words = seg.pairs_words();
        assert!(words > 0);
        let mut buf = std::vec![0.0f32; words + 8];
        for at in 0..8 {
            let pairs = aligned_pairs(&mut buf[at..at + words]);
            assert_eq!(pairs.as_ptr() as usize % 32, 0, "offset {at}");
            assert!(pairs.len() >= arch::pairs_len(4 * 48, 48), "offset {at}");
        }
    }

    /// A window whose only sentence end comes early keeps all its tokens but the last
    /// (before, each window advanced to that sentence end: a paragraph without others,
    /// where the network found one near every window's start, was labelled about
    /// `window / 87` times over). A segmenter whose labels depend on the character alone
    /// (no recurrence): `.` ends a token and a sentence, `a` nothing; with room for one
    /// window's tokens, the call stops after the first window, saying where it ended.
    #[test]
    fn a_sentence_end_early_in_a_window_does_not_end_what_it_keeps() {
        let tagger = RandomModel {
            chars: None,
            ..RandomModel::BASE
        };
        let weights = SegmenterWeights {
            chars: std::vec![('a', 1), ('.', 2)],
            embedding: std::vec![0.0, 0.0, 1.0],
            rows: 3,
            dim: 1,
            cells: std::vec![SegCell {
                // i = o = sigmoid(10), f = sigmoid(-10), g = tanh(10 e): h = 0.76 for
                // `.`, 0 for `a`.
                w_ih: std::vec![0.0, 0.0, 10.0, 0.0],
                w_hh: std::vec![0.0; 4],
                bias: std::vec![10.0, -10.0, 0.0, 10.0],
            }],
            out_w: std::vec![0.0, 0.0, 0.0, 100.0, 0.0],
            out_b: std::vec![1.0, 0.0, -5.0, 0.0, -5.0],
            ..constant(&[], 1, 1)
        };
        let blob =
            with_segmenter(&tagger.build().unwrap().0, Some(&weights), Storage::F32).unwrap();
        let seg = Segmenter::from_bytes(&blob).unwrap().unwrap();
        let text = std::format!("a. {}", "aa ".repeat(100));
        let mut scratch = std::vec![0u8; seg.scratch_bytes(32).unwrap()];
        let mut out = std::vec![SegToken::default(); text.len()];
        let whole = seg.segment(&text, 32, &mut scratch, &mut out).unwrap();
        assert_eq!((whole.tokens, whole.consumed), (101, text.len()));
        let spans: Vec<_> = out[..101].iter().map(|t| (t.start, t.end)).collect();
        let want: Vec<_> = core::iter::once((0, 2))
            .chain((0..100).map(|k| (3 + 3 * k, 5 + 3 * k)))
            .collect();
        assert_eq!(spans, want);
        assert_ne!(out[0].flags & TOKEN_SENTENCE_END, 0);
        assert!(out[1..100]
            .iter()
            .all(|t| t.flags & TOKEN_SENTENCE_END == 0));
        // The first window (bytes 0..32): "a." and ten "aa", the last of them [30, 32)
        // at its end; kept: those that end at least the margin (32 / 4 = 8 characters)
        // before the window's end, up to byte 23 (not up to "a.", byte 2).
        let part = seg
            .segment(&text, 32, &mut scratch, &mut out[..11])
            .unwrap();
        assert_eq!((part.tokens, part.consumed), (8, 23));
        // A last token that starts in the first half is kept, cut at the window's end
        // (before, the next window started at byte 2, and cut it at byte 34).
        let text = std::format!("a. {} a.", "a".repeat(40));
        let r = seg.segment(&text, 32, &mut scratch, &mut out).unwrap();
        let got: Vec<_> = out[..r.tokens]
            .iter()
            .map(|t| (t.start, t.end, t.flags & TOKEN_CUT != 0))
            .collect();
        assert_eq!(
            got,
            [
                (0, 2, false),
                (3, 32, true),
                (32, 43, false),
                (44, 46, false)
            ]
        );
    }

    #[test]
    fn a_bad_window_and_a_text_of_4_gib_have_their_own_errors() {
        assert_eq!(check_text(1, 0), Ok(()));
        assert_eq!(check_text(MAX_WINDOW, u32::MAX as usize), Ok(()));
        assert_eq!(check_text(0, 10), Err(Error::InvalidWindow));
        assert_eq!(check_text(MAX_WINDOW + 1, 10), Err(Error::InvalidWindow));
        #[cfg(target_pointer_width = "64")]
        assert_eq!(
            check_text(2048, u32::MAX as usize + 1),
            Err(Error::TextTooLong)
        );
        // The window is checked first.
        #[cfg(target_pointer_width = "64")]
        assert_eq!(check_text(0, usize::MAX), Err(Error::InvalidWindow));
    }

    /// The first word in its token's case fits in [`RECASE_GROWTH`] times its bytes,
    /// whatever its characters (all of them tried, uppercased); a shorter `out` is
    /// `None`, and the exact length suffices.
    #[test]
    fn a_word_in_its_tokens_case_fits_in_three_times_its_bytes() {
        for c in (0..=char::MAX as u32).filter_map(char::from_u32) {
            let upper: usize = c.to_uppercase().map(char::len_utf8).sum();
            assert!(upper <= RECASE_GROWTH * c.len_utf8(), "{c:?}");
        }
        let mut out = [0u8; 16];
        // U+0390 takes 2 bytes, its uppercase three characters of 2.
        assert_eq!(first_word_in_case_into("ΑΒ", "\u{390}a", &mut out), Some(7));
        assert_eq!(&out[..7], "\u{399}\u{308}\u{301}A".as_bytes());
        assert_eq!(first_word_in_case_into("Au", "à", &mut out[..2]), Some(2));
        assert_eq!(&out[..2], "À".as_bytes());
        assert_eq!(first_word_in_case_into("Au", "à", &mut out[..1]), None);
        assert_eq!(first_word_in_case_into("au", "à", &mut out), Some(2));
        assert_eq!(&out[..2], "à".as_bytes());
    }

    #[test]
    fn paragraphs_are_runs_of_non_blank_lines() {
        let t = "a b\nc\n\n \r\nd\n\n";
        let p: Vec<&str> = paragraphs(t).map(|r| &t[r]).collect();
        assert_eq!(p, ["a b\nc\n", "d\n"]);
        assert_eq!(paragraphs("\n\n").count(), 0);
        assert_eq!(paragraphs("x").map(|r| &"x"[r]).collect::<Vec<_>>(), ["x"]);
        assert_eq!(paragraphs("").count(), 0);
        // A lone CR ends a line as LF and CR LF do.
        let t = "a\rb\r\rc\r\n\r\nd\n\re";
        let p: Vec<&str> = paragraphs(t).map(|r| &t[r]).collect();
        assert_eq!(p, ["a\rb\r", "c\r\n", "d\n", "e"]);
        let l: Vec<&str> = super::lines(t).collect();
        assert_eq!(l, ["a\r", "b\r", "\r", "c\r\n", "\r\n", "d\n", "\r", "e"]);
        assert_eq!(super::lines("").count(), 0);
        assert_eq!(super::lines("\n\n").collect::<Vec<_>>(), ["\n", "\n"]);
    }
}
