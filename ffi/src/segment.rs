//! Raw text: tokens, sentences and multiword tokens from the blob's segmenter, and
//! tagging their words.

use core::mem::{align_of, size_of, MaybeUninit};

use postag_core::segment::{
    first_word_in_case_into, one_space_into, SegToken, Segmenter, Word, MAX_WINDOW, RECASE_GROWTH,
    TOKEN_SENTENCE_END, WINDOW,
};
use postag_core::{Error, Model};

use crate::checks::{self, In, OptionalValue, Out, Region, Value};
use crate::model::{loaded, ModelArg};
use crate::postag_status;
use crate::tag::POSTAG_MAX_TOKENS;
use crate::token::postag_token;

/// `postag_segment_token` flag: the token ends a sentence.
pub const POSTAG_TOKEN_SENTENCE_END: u32 = 1;
/// `postag_segment_token` flag: the token is a multiword token (`postag_expand` gives
/// its words).
pub const POSTAG_TOKEN_MULTIWORD: u32 = 2;
/// `postag_segment_token` flag: the end of a window ended the token, the text running on
/// without whitespace (a token that ran past the window from its first half: the rest
/// is the next token).
pub const POSTAG_TOKEN_CUT: u32 = 4;
/// The window, in characters, that `postag tag --format raw` segments with: pass it to
/// get the same tokens as the command line.
pub const POSTAG_SEGMENT_WINDOW: usize = 2048;
/// The largest window, in characters.
pub const POSTAG_MAX_WINDOW: usize = 65536;

// The header's constants are literals (cbindgen copies them); these keep them equal to
// the core's.
const _: () = assert!(POSTAG_SEGMENT_WINDOW == WINDOW);
const _: () = assert!(POSTAG_MAX_WINDOW == MAX_WINDOW);

const _: () = assert!(POSTAG_TOKEN_SENTENCE_END == postag_core::segment::TOKEN_SENTENCE_END);
const _: () = assert!(POSTAG_TOKEN_MULTIWORD == postag_core::segment::TOKEN_MULTIWORD);
const _: () = assert!(POSTAG_TOKEN_CUT == postag_core::segment::TOKEN_CUT);

/// A token of raw text: bytes `[start, end)` of the text, and `POSTAG_TOKEN_*` flags.
/// The tokens plus the whitespace between them are the text, byte for byte.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct postag_segment_token {
    /// First byte.
    pub start: u32,
    /// One past the last byte.
    pub end: u32,
    /// `POSTAG_TOKEN_SENTENCE_END`, `POSTAG_TOKEN_MULTIWORD`, `POSTAG_TOKEN_CUT`.
    pub flags: u32,
}

const _: () = assert!(size_of::<postag_segment_token>() == size_of::<SegToken>());
const _: () = assert!(align_of::<postag_segment_token>() == align_of::<SegToken>());

/// A token of `postag_tag_text`: as `postag_segment_token`, and its syntactic words,
/// `words_out[first_word .. first_word + n_words]` (one word unless it is a multiword
/// token).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct postag_text_token {
    /// First byte.
    pub start: u32,
    /// One past the last byte.
    pub end: u32,
    /// `POSTAG_TOKEN_SENTENCE_END`, `POSTAG_TOKEN_MULTIWORD`, `POSTAG_TOKEN_CUT`.
    pub flags: u32,
    /// Index of its first word.
    pub first_word: u32,
    /// Number of its words (at least 1).
    pub n_words: u32,
}

/// Upper bounds for one text, from `postag_text_size`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct postag_text_sizes {
    /// Most tokens the text can have: its characters that are not whitespace.
    pub max_tokens: usize,
    /// Most words one token can expand into (the longest entry of the multiword table).
    pub max_token_words: usize,
    /// Most words the text can have: `max_tokens * max_token_words` (saturated at
    /// `SIZE_MAX`).
    pub max_words: usize,
    /// Scratch bytes `postag_segment` needs for this text and window: a text shorter
    /// than the window needs less (the figure for a text of `window` characters or
    /// more suffices for any text).
    pub segment_scratch: usize,
    /// Scratch bytes `postag_tag_text` needs for this text and window (`SIZE_MAX` if
    /// that is more than the address space: split the text).
    pub tag_text_scratch: usize,
}

/// What `postag_tag_text` wrote.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct postag_text_counts {
    /// Tokens written to `tokens_out`.
    pub n_tokens: usize,
    /// Words written to `words_out`, and tags to `tags_out`.
    pub n_words: usize,
}

/// The regions of the model and of one more input.
fn with_model(model: &ModelArg<'_>, input: Region) -> [Region; 3] {
    let [object, blob] = model.reads();
    [object, blob, input]
}

/// The model's segmenter (validated on each call, without the CRC-32 that loading the
/// model checked), or `POSTAG_STATUS_NO_SEGMENTER`.
fn segmenter(model: &ModelArg<'_>) -> Result<Segmenter<'static>, postag_status> {
    Segmenter::from_accepted_bytes(model.blob())?.ok_or(postag_status::NoSegmenter)
}

/// The text as `str`: `POSTAG_STATUS_TEXT_TOO_LONG` from 4 GiB on, else
/// `POSTAG_STATUS_INVALID_UTF8` if it is not UTF-8.
fn text_str(bytes: &[u8]) -> Result<&str, postag_status> {
    if bytes.len() > u32::MAX as usize {
        return Err(Error::TextTooLong.into());
    }
    core::str::from_utf8(bytes).map_err(|_| postag_status::InvalidUtf8)
}

/// The scratch layout of `postag_tag_text`, in bytes from an address aligned for
/// `&[u8]`: the words (as slices), the segmenter's tokens, each token's word count, the
/// tags, then the working memory of the segmenter or the tagger (never both at once).
struct Layout {
    max_tokens: usize,
    max_words: usize,
    tokens_at: usize,
    counts_at: usize,
    tags_at: usize,
    arena_at: usize,
    work_at: usize,
    work: usize,
    total: usize,
}

impl Layout {
    fn new(
        model: &Model<'_>,
        seg: &Segmenter<'_>,
        sizes: &postag_text_sizes,
        text_len: usize,
        window: usize,
    ) -> Option<Self> {
        let (max_tokens, max_words) = (sizes.max_tokens, sizes.max_words);
        let tokens_at = max_words.checked_mul(size_of::<&[u8]>())?;
        let counts_at = tokens_at.checked_add(max_tokens.checked_mul(size_of::<SegToken>())?)?;
        let tags_at = counts_at.checked_add(max_tokens.checked_mul(4)?)?;
        let arena_at = tags_at.checked_add(max_words.checked_mul(2)?)?;
        // Room for the words of tokens with spaces inside, one space per run, and for
        // the first words of multiword tokens in their token's case.
        let spaced = if seg.spaces_in_tokens() { text_len } else { 0 };
        let first_words = seg
            .multiword_table()
            .map(|(_, words)| words.split('\t').next().map_or(0, str::len))
            .max()
            .unwrap_or(0);
        let recased = max_tokens.checked_mul(first_words.checked_mul(RECASE_GROWTH)?)?;
        let arena = spaced.checked_add(recased)?;
        let work_at = arena_at.checked_add(arena)?.checked_next_multiple_of(4)?;
        let tag_work = model.scratch_bytes(max_words.min(POSTAG_MAX_TOKENS))?;
        let work = seg.scratch_bytes(window)?.max(tag_work);
        let total = work_at
            .checked_add(work)?
            .checked_add(align_of::<&[u8]>() - 1)?;
        (total <= isize::MAX as usize).then_some(Layout {
            max_tokens,
            max_words,
            tokens_at,
            counts_at,
            tags_at,
            arena_at,
            work_at,
            work,
            total,
        })
    }
}

/// The window the raw-text calls segment `text` with: `window`, or one more than the
/// text's length in characters where that is less. A text that fits in one window is
/// segmented as one window either way, with the same tokens (the one more is the
/// paragraph end's step, so that the segmenter's cache of projected characters has
/// the same room either way); the scratch it needs then follows its own length, not
/// the window's. An invalid window stays as it is (and is refused).
fn text_window(text: &str, window: usize) -> usize {
    if (1..=POSTAG_MAX_WINDOW).contains(&window) {
        window.min(text.chars().count() + 1)
    } else {
        window
    }
}

/// The sizes of `text`; `POSTAG_STATUS_INVALID_WINDOW` for a window of 0 or above
/// `POSTAG_MAX_WINDOW`.
fn sizes(
    model: &Model<'_>,
    seg: &Segmenter<'_>,
    text: &str,
    window: usize,
) -> Result<(postag_text_sizes, Option<Layout>), postag_status> {
    let segment_scratch = seg.scratch_bytes(window).ok_or(Error::InvalidWindow)?;
    let max_tokens = text.chars().filter(|c| !c.is_whitespace()).count();
    let max_token_words = seg
        .multiword_table()
        .map(|(_, words)| words.split('\t').count())
        .max()
        .unwrap_or(1)
        .max(1);
    // Saturated: still upper bounds, and a scratch no buffer can have.
    let mut sizes = postag_text_sizes {
        max_tokens,
        max_token_words,
        max_words: max_tokens.saturating_mul(max_token_words),
        segment_scratch,
        tag_text_scratch: usize::MAX,
    };
    let layout = Layout::new(model, seg, &sizes, text.len(), window);
    if let Some(l) = &layout {
        sizes.tag_text_scratch = l.total;
    }
    Ok((sizes, layout))
}

/// Writes into `*sizes_out` upper bounds for `text` (`text_len` bytes of UTF-8, one
/// paragraph) segmented in windows of `window` characters (`POSTAG_SEGMENT_WINDOW` as
/// the command line): the tokens and words it can have, and the scratch bytes
/// `postag_segment` and `postag_tag_text` need. A text shorter than the window is one
/// window of its own length (the same tokens): its scratch follows its length, so a
/// short text needs little (an empty one the least). For `postag_segment`, a buffer
/// sized for a text of `window` characters or more serves any text; `postag_tag_text`
/// holds the whole text's tokens and words, so its scratch grows with the text. It
/// reads the text but does not run the network.
///
/// Errors: `POSTAG_STATUS_NO_SEGMENTER` (a model without a segmenter),
/// `POSTAG_STATUS_INVALID_WINDOW` (0 or above `POSTAG_MAX_WINDOW`),
/// `POSTAG_STATUS_INVALID_UTF8`, `POSTAG_STATUS_TEXT_TOO_LONG` (4 GiB or more).
/// `postag_model_load` does not look at the segmenter (a program that tags tokens only
/// does not link its code): every raw-text call validates it, and refuses an invalid
/// one with `POSTAG_STATUS_INVALID_MODEL`, `POSTAG_STATUS_UNEXPECTED_TENSOR` or
/// `POSTAG_STATUS_NON_FINITE_WEIGHT`.
///
/// # Safety
/// `model` as in `postag_scratch_size`; `text` valid for reads of `text_len` bytes;
/// `sizes_out` valid for one write.
#[no_mangle]
pub unsafe extern "C" fn postag_text_size(
    model: *const crate::postag_model,
    text: *const u8,
    text_len: usize,
    window: usize,
    sizes_out: *mut postag_text_sizes,
) -> postag_status {
    checks::boundary(|| {
        // SAFETY: forwarded caller's contract.
        let model = unsafe { loaded(model) }?;
        let seg = &segmenter(&model)?;
        let text = In::new(text, text_len)?;
        let out = Value::new(sizes_out)?;
        checks::disjoint(&[out.region()], &with_model(&model, text.region()))?;
        // SAFETY: readable for the call (caller's contract), not written.
        let text = text_str(unsafe { text.get() })?;
        let window = text_window(text, window);
        let (sizes, _) = sizes(&model.loaded.model, seg, text, window)?;
        // SAFETY: writable (caller's contract), overlaps no input.
        unsafe { out.set(sizes) };
        Ok(())
    })
}

/// Splits `text` (`text_len` bytes of UTF-8, one paragraph: any run of whitespace in
/// it, line breaks included, separates words as one space does; its end reads as a
/// line break, whether or not whitespace follows its last character; a leading
/// byte-order mark is a character of the text, which file readers strip first) into
/// tokens and sentences with the model's segmenter, in windows of `window` characters
/// (see `core/README.md`, "Raw text"): the same tokens as the Rust core's
/// `Segmenter::segment`.
///
/// - `scratch`: at least `postag_text_size(...).segment_scratch` bytes, any alignment.
/// - `tokens_out`: at least `min(max_tokens, window)` tokens (`postag_text_size`),
///   else `POSTAG_STATUS_OUTPUT_TOO_SMALL`. With `max_tokens` the whole text fits;
///   with less, the call stops at the end of a window: `*consumed_out` is then less
///   than `text_len` and the next call continues with the rest of the text (offsets
///   are relative to the text of each call; the tokens are those of one call).
/// - `*n_tokens_out`: tokens written; `*consumed_out` (may be NULL): bytes of the text
///   read.
///
/// The last token of the text ends a sentence. Multiword tokens are flagged
/// (`POSTAG_TOKEN_MULTIWORD`); `postag_expand` gives their words.
///
/// Errors: those of `postag_text_size`, `POSTAG_STATUS_SCRATCH_TOO_SMALL`,
/// `POSTAG_STATUS_OUTPUT_TOO_SMALL`; nothing is written then.
/// `POSTAG_STATUS_NON_FINITE_SCORE` if a character's scores were NaN or infinite (a
/// check only: a blob's values are within 2^48, where no sum overflows);
/// `*n_tokens_out` and `*consumed_out` are not written then, and `tokens_out` may have
/// been written in part (the one exception to the rule that outputs are written only on
/// success).
///
/// # Safety
/// `model` as in `postag_scratch_size`; `text` valid for reads of `text_len` bytes;
/// `scratch` and `tokens_out` valid for reads and writes of their lengths;
/// `n_tokens_out` valid for one write, `consumed_out` NULL or valid for one write;
/// no written buffer overlaps another argument.
#[no_mangle]
pub unsafe extern "C" fn postag_segment(
    model: *const crate::postag_model,
    text: *const u8,
    text_len: usize,
    window: usize,
    scratch: *mut u8,
    scratch_len: usize,
    tokens_out: *mut postag_segment_token,
    tokens_len: usize,
    n_tokens_out: *mut usize,
    consumed_out: *mut usize,
) -> postag_status {
    checks::boundary(|| {
        // SAFETY: forwarded caller's contract.
        let model = unsafe { loaded(model) }?;
        let seg = &segmenter(&model)?;
        let text = In::new(text, text_len)?;
        let scratch = Out::new(scratch, scratch_len)?;
        let tokens = Out::new(tokens_out.cast::<SegToken>(), tokens_len)?;
        let n_out = Value::new(n_tokens_out)?;
        let consumed = OptionalValue::new(consumed_out)?;
        checks::disjoint(
            &[
                scratch.region(),
                tokens.region(),
                n_out.region(),
                consumed.region(),
            ],
            &with_model(&model, text.region()),
        )?;
        // SAFETY: readable for the call (caller's contract), not written.
        let text = text_str(unsafe { text.get() })?;
        let window = text_window(text, window);
        let (sizes, _) = sizes(&model.loaded.model, seg, text, window)?;
        if scratch_len < sizes.segment_scratch {
            return Err(postag_status::ScratchTooSmall);
        }
        // With room for a whole window (or the whole text) the core never stops for
        // lack of room before writing: nothing is written on error.
        if tokens_len < sizes.max_tokens.min(window) {
            return Err(postag_status::OutputTooSmall);
        }
        // SAFETY: writable (caller's contract); no overlap (checked above);
        // `postag_segment_token` has the layout of `SegToken` (asserted above).
        let (scratch, tokens) = unsafe { (scratch.get(), tokens.get()) };
        let done = seg.segment(text, window, scratch, tokens)?;
        // SAFETY: writable (caller's contract), overlapping no other argument.
        unsafe {
            n_out.set(done.tokens);
            consumed.set(done.consumed);
        }
        Ok(())
    })
}

/// The words of a token: as `postag_token`s into `token`'s own bytes (a surface
/// form, kept as written) or into the blob (the multiword table's strings).
fn expand_into<'t>(seg: &Segmenter<'static>, token: &'t str, mut put: impl FnMut(&'t [u8])) {
    for word in seg.expand(token) {
        match word {
            Word::Surface(_, _, s) => put(s.as_bytes()),
            Word::Table(s) => put(s.as_bytes()),
        }
    }
}

/// Writes the syntactic words of a multiword token into `words_out` and their number
/// into `*n_words_out`: `token` is the token's bytes (`token_len`, UTF-8), e.g. a
/// `postag_segment_token`'s span of the text. Each word points either into `token`
/// (a span of its surface, case kept, when the table's words spell it) or into the
/// blob (the table's string). A token not in the table splits in two spans of itself
/// when it ends with, and is longer than, the last word of an entry whose words spell
/// their form (the longest such word, compared lowercased: with an entry `bob's` ->
/// `bob` `'s`, `Arafat's` is `Arafat` + `'s`), and is otherwise its one word, itself. At most `postag_text_size(...).max_token_words`
/// words.
///
/// Errors: `POSTAG_STATUS_NO_SEGMENTER` (or the model's segmenter error, as
/// `postag_text_size` reports it), `POSTAG_STATUS_EMPTY_TOKEN` (`token_len` 0: no token
/// has zero bytes), `POSTAG_STATUS_INVALID_UTF8`, `POSTAG_STATUS_TEXT_TOO_LONG` (4 GiB
/// or more), `POSTAG_STATUS_OUTPUT_TOO_SMALL` (nothing written).
///
/// # Safety
/// `model` as in `postag_scratch_size`; `token` valid for reads of `token_len` bytes
/// for as long as the words are used; `words_out` valid for writes of `words_len`
/// words; `n_words_out` for one write.
#[no_mangle]
pub unsafe extern "C" fn postag_expand(
    model: *const crate::postag_model,
    token: *const u8,
    token_len: usize,
    words_out: *mut postag_token,
    words_len: usize,
    n_words_out: *mut usize,
) -> postag_status {
    checks::boundary(|| {
        // SAFETY: forwarded caller's contract.
        let model = unsafe { loaded(model) }?;
        let seg = &segmenter(&model)?;
        let token = In::new(token, token_len)?;
        let words = Out::new(words_out, words_len)?;
        let n_out = Value::new(n_words_out)?;
        checks::disjoint(
            &[words.region(), n_out.region()],
            &with_model(&model, token.region()),
        )?;
        if token_len == 0 {
            return Err(postag_status::EmptyToken);
        }
        // SAFETY: readable for the call (caller's contract), not written.
        let token = text_str(unsafe { token.get() })?;
        let mut n = 0;
        expand_into(seg, token, |_| n += 1);
        if n > words_len {
            return Err(postag_status::OutputTooSmall);
        }
        // SAFETY: writable (caller's contract), overlapping no other argument.
        let (words, n_out) = (unsafe { words.get() }, n_out);
        let mut at = 0;
        expand_into(seg, token, |w| {
            words[at] = postag_token {
                ptr: w.as_ptr(),
                len: w.len(),
            };
            at += 1;
        });
        // SAFETY: as above.
        unsafe { n_out.set(n) };
        Ok(())
    })
}

/// Segments and tags a paragraph: `postag_segment` over the whole `text`, each
/// multiword token expanded (`postag_expand`), then each sentence's words tagged as
/// `postag_tag` does. What `postag tag --format raw` does with one paragraph.
///
/// - `scratch`: at least `postag_text_size(...).tag_text_scratch` bytes, any alignment.
/// - `tokens_out`: the tokens, each with its words' range in `words_out`.
/// - `words_out`: the words, pointing into `text` or into the blob (as
///   `postag_expand`), or into `scratch`: for a token with whitespace inside (models
///   whose tokens may hold spaces, e.g. Vietnamese) its word with one space per run, as
///   a treebank spells it, and for a multiword token the table's first word in the
///   token's case (`Aux` -> `À les`), as the command line writes them (and as they are
///   tagged); `tags_out`: one tag per word.
/// - `*counts_out`: how many tokens and words were written.
///
/// The outputs need only hold the text's actual tokens and words
/// (`POSTAG_STATUS_OUTPUT_TOO_SMALL` otherwise); `max_tokens` and `max_words` of
/// `postag_text_size` always suffice. Sentences of more than `POSTAG_MAX_TOKENS` words
/// are `POSTAG_STATUS_TOO_MANY_TOKENS`. Other errors: those of `postag_text_size` and
/// `postag_tag`. Nothing is written on error.
///
/// # Safety
/// As `postag_segment`; `words_out`, `tags_out` valid for writes of their lengths and
/// `counts_out` for one write; no written buffer overlaps another argument.
#[no_mangle]
pub unsafe extern "C" fn postag_tag_text(
    model: *const crate::postag_model,
    text: *const u8,
    text_len: usize,
    window: usize,
    scratch: *mut u8,
    scratch_len: usize,
    tokens_out: *mut postag_text_token,
    tokens_len: usize,
    words_out: *mut postag_token,
    words_len: usize,
    tags_out: *mut u16,
    tags_len: usize,
    counts_out: *mut postag_text_counts,
) -> postag_status {
    checks::boundary(|| {
        // SAFETY: forwarded caller's contract.
        let model = unsafe { loaded(model) }?;
        let seg = &segmenter(&model)?;
        let text = In::new(text, text_len)?;
        let scratch = Out::new(scratch, scratch_len)?;
        let tokens_out = Out::new(tokens_out, tokens_len)?;
        let words_out = Out::new(words_out, words_len)?;
        let tags_out = Out::new(tags_out, tags_len)?;
        let counts_out = Value::new(counts_out)?;
        checks::disjoint(
            &[
                scratch.region(),
                tokens_out.region(),
                words_out.region(),
                tags_out.region(),
                counts_out.region(),
            ],
            &with_model(&model, text.region()),
        )?;
        // SAFETY: readable for the call (caller's contract), not written.
        let text = text_str(unsafe { text.get() })?;
        let tagger = &model.loaded.model;
        let window = text_window(text, window);
        let (sizes, layout) = sizes(tagger, seg, text, window)?;
        let layout = layout.ok_or(postag_status::ScratchTooSmall)?;
        if scratch_len < layout.total {
            return Err(postag_status::ScratchTooSmall);
        }
        // SAFETY: writable (caller's contract); overlaps no other argument.
        let scratch = unsafe { scratch.get() };
        let staged = stage(tagger, seg, text, window, &layout, scratch)?;
        if staged.tokens.len() > tokens_len || staged.words.len() > words_len {
            return Err(postag_status::OutputTooSmall);
        }
        if staged.words.len() > tags_len {
            return Err(postag_status::OutputTooSmall);
        }
        debug_assert!(staged.tokens.len() <= sizes.max_tokens);
        // SAFETY: writable (caller's contract), overlapping no other argument.
        let (tokens_out, words_out, tags_out) =
            unsafe { (tokens_out.get(), words_out.get(), tags_out.get()) };
        let mut first = 0u32;
        for ((t, &n), out) in staged.tokens.iter().zip(staged.counts).zip(tokens_out) {
            *out = postag_text_token {
                start: t.start,
                end: t.end,
                flags: t.flags,
                first_word: first,
                n_words: n,
            };
            first += n;
        }
        for (w, out) in staged.words.iter().zip(words_out) {
            *out = postag_token {
                ptr: w.as_ptr(),
                len: w.len(),
            };
        }
        tags_out[..staged.tags.len()].copy_from_slice(staged.tags);
        // SAFETY: as above.
        unsafe {
            counts_out.set(postag_text_counts {
                n_tokens: staged.tokens.len(),
                n_words: staged.words.len(),
            })
        };
        Ok(())
    })
}

/// The results of `postag_tag_text`, in its scratch until the call succeeds.
struct Staged<'s> {
    tokens: &'s [SegToken],
    counts: &'s [u32],
    words: &'s [&'s [u8]],
    tags: &'s [u16],
}

/// Segments, expands and tags `text` into `scratch` (laid out as `layout`).
fn stage<'s, 't>(
    tagger: &Model<'static>,
    seg: &Segmenter<'static>,
    text: &'t str,
    window: usize,
    layout: &Layout,
    scratch: &'s mut [u8],
) -> Result<Staged<'s>, postag_status>
where
    't: 's,
{
    let skip = scratch.as_ptr().align_offset(align_of::<&[u8]>());
    let scratch = scratch
        .get_mut(skip..)
        .ok_or(postag_status::ScratchTooSmall)?;
    let (words, rest) = scratch.split_at_mut(layout.tokens_at);
    let (tokens, rest) = rest.split_at_mut(layout.counts_at - layout.tokens_at);
    let (counts, rest) = rest.split_at_mut(layout.tags_at - layout.counts_at);
    let (tags, rest) = rest.split_at_mut(layout.arena_at - layout.tags_at);
    let (mut arena, rest) = rest.split_at_mut(layout.work_at - layout.arena_at);
    let work = &mut rest[..layout.work];
    let tokens: &mut [SegToken] = cast_slice_mut(tokens, layout.max_tokens);
    let counts: &mut [u32] = cast_slice_mut(counts, layout.max_tokens);
    let tags: &mut [u16] = cast_slice_mut(tags, layout.max_words);
    let words = words_arena(words, layout.max_words);

    let done = seg.segment(text, window, work, tokens)?;
    let tokens = &tokens[..done.tokens];
    let mut n_words = 0;
    for (t, count) in tokens.iter().zip(counts.iter_mut()) {
        let surface = &text[t.start as usize..t.end as usize];
        let before = n_words;
        if t.flags & postag_core::segment::TOKEN_MULTIWORD != 0 {
            for (i, word) in seg.expand(surface).enumerate() {
                words[n_words] = match word {
                    Word::Surface(_, _, s) => s.as_bytes(),
                    // The first word of the table's (lowercase) entry in the token's
                    // case (`Aux` -> `À les`), as the core writes and tags it.
                    Word::Table(s) if i == 0 => spelled(&mut arena, s, |out| {
                        first_word_in_case_into(surface, s, out)
                    }),
                    Word::Table(s) => s.as_bytes(),
                };
                n_words += 1;
            }
        } else {
            // A token with whitespace inside (a model with spaces in tokens) is
            // tagged as its treebank spells it: one U+0020 per run (a tab alone too).
            words[n_words] = spelled(&mut arena, surface, |out| one_space_into(surface, out));
            n_words += 1;
        }
        *count = (n_words - before) as u32;
    }
    let mut first = 0;
    let mut word = 0;
    for (t, &count) in tokens.iter().zip(counts.iter()) {
        word += count as usize;
        if t.flags & TOKEN_SENTENCE_END != 0 {
            let sentence = &words[first..word];
            if sentence.len() > POSTAG_MAX_TOKENS {
                return Err(postag_status::TooManyTokens);
            }
            tagger.tag(sentence, work, &mut tags[first..word], None)?;
            first = word;
        }
    }
    Ok(Staged {
        tokens,
        counts: &counts[..done.tokens],
        words: &words[..n_words],
        tags: &tags[..n_words],
    })
}

/// The word `write` spells `word` as (into the front of `arena`, which keeps the rest):
/// `word` itself, taking no room, where the spelling is the same (or does not fit).
fn spelled<'s>(
    arena: &mut &'s mut [u8],
    word: &'s str,
    write: impl FnOnce(&mut [u8]) -> Option<usize>,
) -> &'s [u8] {
    let free = core::mem::take(arena);
    match write(free) {
        Some(len) if free[..len] != *word.as_bytes() => {
            let (spelled, rest) = free.split_at_mut(len);
            *arena = rest;
            spelled
        }
        _ => {
            *arena = free;
            word.as_bytes()
        }
    }
}

/// Types for which every bit pattern is a valid value.
///
/// # Safety
/// Implement only for such types.
unsafe trait Plain: Copy {}
// SAFETY: integers accept any bits.
unsafe impl Plain for u16 {}
// SAFETY: as above.
unsafe impl Plain for u32 {}
// SAFETY: `SegToken` is `repr(C)` of three `u32`, without padding.
unsafe impl Plain for SegToken {}

/// `n` values at the start of `bytes` (aligned for them by the layout).
fn cast_slice_mut<T: Plain>(bytes: &mut [u8], n: usize) -> &mut [T] {
    let bytes = &mut bytes[..n * size_of::<T>()];
    // SAFETY: any bits are a valid `T` (`Plain`); `align_to_mut` only returns a middle
    // part that is aligned and inside `bytes`.
    let (head, values, _) = unsafe { bytes.align_to_mut::<T>() };
    debug_assert!(head.is_empty() && values.len() == n);
    values
}

/// `n` byte slices at the start of `bytes` (aligned for them by the layout), each the
/// empty slice until set.
fn words_arena<'s, 't>(bytes: &'s mut [u8], n: usize) -> &'s mut [&'t [u8]] {
    let bytes = &mut bytes[..n * size_of::<&[u8]>()];
    // SAFETY: any bytes are a valid `MaybeUninit`; `align_to_mut` only returns a middle
    // part that is aligned and inside `bytes`.
    let (head, slots, _) = unsafe { bytes.align_to_mut::<MaybeUninit<&'t [u8]>>() };
    debug_assert!(head.is_empty() && slots.len() == n);
    for slot in slots.iter_mut() {
        slot.write(&[]);
    }
    // SAFETY: every slot was initialized just above; `MaybeUninit<T>` has the layout
    // of `T`.
    unsafe { &mut *(slots as *mut [MaybeUninit<&'t [u8]>] as *mut [&'t [u8]]) }
}

#[cfg(test)]
mod tests {
    use postag_core::segment::build::{with_segmenter, SegCell, SegmenterWeights};
    use postag_core::segment::TOKEN_MULTIWORD;
    use postag_core::tensor::Storage;

    use super::*;
    use crate::postag_model;

    /// The core's pinned test model with a small segmenter whose multiword table has a
    /// form the table's words spell and one they do not.
    fn blob() -> Vec<u8> {
        // Every character ends a multiword token, some a sentence.
        blob_with(false, vec![-9.0, -9.0, 9.0, -9.0, 8.9])
    }

    /// [`blob`]'s model with spaces in tokens or not, the output bias `out_b`.
    fn blob_with(spaces_in_tokens: bool, out_b: Vec<f32>) -> Vec<u8> {
        let tiny = include_bytes!("../../core/tests/golden/tiny.postag");
        let (dim, h) = (4, 3);
        let chars: Vec<(char, u32)> = "thedogat .'ñ".chars().zip(1..).collect();
        let rows = chars.len() + 1;
        let w = |n: usize, seed: usize| -> Vec<f32> {
            (0..n)
                .map(|i| (((i * 7919 + seed * 104_729) % 2001) as f32) / 1000.0 - 1.0)
                .collect()
        };
        let seg = SegmenterWeights {
            spaces_in_tokens,
            chars,
            embedding: w(rows * dim, 1),
            rows,
            dim,
            cells: (0..2)
                .map(|d| SegCell {
                    w_ih: w(4 * h * dim, 10 + d),
                    w_hh: w(4 * h * h, 20 + d),
                    bias: w(4 * h, 30 + d),
                })
                .collect(),
            out_w: w(5 * 2 * h, 50),
            out_b,
            multiwords: vec![
                ("t".into(), vec!["the".into(), "dog".into()]),
                ("e".into(), vec!["e".into()]),
            ],
        };
        with_segmenter(tiny, Some(&seg), Storage::F32).unwrap()
    }

    /// `postag_tag_text` of `text` in `scratch` (all of it), with room for `n_tokens`
    /// tokens and `n_words` words and tags: the status and the outputs.
    fn tag_text(
        model: &postag_model,
        text: &str,
        window: usize,
        scratch: &mut [u8],
        n_tokens: usize,
        n_words: usize,
    ) -> (
        postag_status,
        Vec<postag_text_token>,
        Vec<postag_token>,
        Vec<u16>,
        postag_text_counts,
    ) {
        let mut tokens = vec![postag_text_token::default(); n_tokens];
        let empty = postag_token {
            ptr: core::ptr::null(),
            len: 0,
        };
        let mut words = vec![empty; n_words];
        let mut tags = vec![0u16; n_words];
        let mut counts = postag_text_counts::default();
        // SAFETY: valid, disjoint buffers of the stated lengths.
        let status = unsafe {
            postag_tag_text(
                model,
                text.as_ptr(),
                text.len(),
                window,
                scratch.as_mut_ptr(),
                scratch.len(),
                tokens.as_mut_ptr(),
                tokens.len(),
                words.as_mut_ptr(),
                words.len(),
                tags.as_mut_ptr(),
                tags.len(),
                &mut counts,
            )
        };
        (status, tokens, words, tags, counts)
    }

    #[test]
    fn tag_text_equals_the_core_at_any_scratch_alignment() {
        let blob = blob();
        let text = "the dog ate. ñat'e";
        let mut model = postag_model {
            opaque: [0; crate::POSTAG_MODEL_WORDS],
        };
        // SAFETY: valid buffers of the stated lengths.
        let status = unsafe { crate::postag_model_load(blob.as_ptr(), blob.len(), &mut model) };
        assert_eq!(status, postag_status::Ok);
        let mut sizes = postag_text_sizes::default();
        // SAFETY: as above.
        let status = unsafe { postag_text_size(&model, text.as_ptr(), text.len(), 5, &mut sizes) };
        assert_eq!(status, postag_status::Ok);
        assert_eq!(sizes.max_tokens, 15);
        assert_eq!(sizes.max_token_words, 2);

        // The core's answer: tokens, words, one tag per sentence's word.
        let seg = Segmenter::from_bytes(&blob).unwrap().unwrap();
        let tagger = Model::from_bytes(&blob).unwrap();
        let mut s = vec![0u8; seg.scratch_bytes(5).unwrap()];
        let mut toks = vec![SegToken::default(); 20];
        let n = seg.segment(text, 5, &mut s, &mut toks).unwrap().tokens;
        let mut want_words: Vec<&[u8]> = Vec::new();
        let mut want_tags: Vec<u16> = Vec::new();
        let mut first = 0;
        for t in &toks[..n] {
            let surface = &text[t.start as usize..t.end as usize];
            assert!(t.flags & TOKEN_MULTIWORD != 0);
            want_words.extend(seg.expand(surface).map(|w| w.as_str().as_bytes()));
            if t.flags & TOKEN_SENTENCE_END != 0 {
                let sentence = &want_words[first..];
                let mut tags = vec![0u16; sentence.len()];
                let mut s = vec![0u8; tagger.scratch_bytes(sentence.len()).unwrap()];
                tagger.tag(sentence, &mut s, &mut tags, None).unwrap();
                want_tags.extend(tags);
                first = want_words.len();
            }
        }
        assert!(want_words.len() > n, "some token expands into two words");

        for offset in 0..8 {
            let mut scratch = vec![0u8; sizes.tag_text_scratch + offset];
            let (status, tokens, words, tags, counts) =
                tag_text(&model, text, 5, &mut scratch[offset..], n, want_words.len());
            assert_eq!(status, postag_status::Ok, "offset {offset}");
            assert_eq!((counts.n_tokens, counts.n_words), (n, want_words.len()));
            let got: Vec<&[u8]> = words
                .iter()
                // SAFETY: the words point into `text` or `blob` (no spaces in tokens),
                // both alive.
                .map(|w| unsafe { core::slice::from_raw_parts(w.ptr, w.len) })
                .collect();
            assert_eq!(got, want_words);
            assert_eq!(tags, want_tags);
            let mut next = 0;
            for (t, want) in tokens.iter().zip(&toks[..n]) {
                assert_eq!(
                    (t.start, t.end, t.flags),
                    (want.start, want.end, want.flags)
                );
                assert_eq!(t.first_word, next);
                next += t.n_words;
            }
            assert_eq!(next as usize, want_words.len());
        }
    }

    /// A multiword token in capitals, or starting with one, has its table entry's first
    /// word in its case (`T` -> `The dog`), written into the scratch and tagged so, as
    /// the core's `sentences` (what the command line and Python write) has it.
    #[test]
    fn tag_text_writes_and_tags_a_table_word_in_its_token_case() {
        let blob = blob();
        let text = "T. tE  TT.";
        let mut model = postag_model {
            opaque: [0; crate::POSTAG_MODEL_WORDS],
        };
        // SAFETY: valid buffers of the stated lengths.
        let status = unsafe { crate::postag_model_load(blob.as_ptr(), blob.len(), &mut model) };
        assert_eq!(status, postag_status::Ok);
        let seg = Segmenter::from_bytes(&blob).unwrap().unwrap();
        let tagger = Model::from_bytes(&blob).unwrap();
        let (mut want_words, mut want_tags) = (Vec::new(), Vec::new());
        for sentence in postag_core::segment::sentences(&seg, text).unwrap() {
            let words: Vec<String> = sentence.tokens.into_iter().flat_map(|t| t.words).collect();
            let mut tags = vec![0u16; words.len()];
            let mut s = vec![0u8; tagger.scratch_bytes(words.len()).unwrap()];
            tagger.tag(&words, &mut s, &mut tags, None).unwrap();
            want_words.extend(words);
            want_tags.extend(tags);
        }
        // The premise: the first words take the token's case (a hand-checked list).
        let first = [
            "The", "dog", ".", "the", "dog", "E", "The", "dog", "The", "dog", ".",
        ];
        assert_eq!(want_words, first);

        let mut sizes = postag_text_sizes::default();
        // SAFETY: as above.
        let status =
            unsafe { postag_text_size(&model, text.as_ptr(), text.len(), WINDOW, &mut sizes) };
        assert_eq!(status, postag_status::Ok);
        let mut scratch = vec![0u8; sizes.tag_text_scratch];
        let (status, _, words, tags, counts) = tag_text(&model, text, WINDOW, &mut scratch, 16, 32);
        assert_eq!(status, postag_status::Ok);
        let got: Vec<&str> = words[..counts.n_words]
            .iter()
            .map(|w| {
                // SAFETY: the words point into `text`, `blob` or `scratch`, all alive and
                // not written since.
                let bytes = unsafe { core::slice::from_raw_parts(w.ptr, w.len) };
                core::str::from_utf8(bytes).unwrap()
            })
            .collect();
        assert_eq!(got, want_words);
        assert_eq!(tags[..counts.n_words], want_tags);
    }

    /// A token with spaces inside (no label ends it before the text's end) keeps its
    /// span, and its word and tag are those of the core's `sentences`: one space per
    /// whitespace run.
    #[test]
    fn tag_text_tags_a_token_with_spaces_inside_as_its_treebank_spelling() {
        let blob = blob_with(true, vec![9.0, -9.0, -9.0, -9.0, -9.0]);
        // Runs longer than one space, and single whitespace characters of one byte
        // (their rewrite is no shorter) and of three.
        for text in [
            "the  dog   ate",
            "the\tdog ate",
            "the dog\nate",
            "the\u{2003}dog ate",
        ] {
            tag_text_spells_the_token_as_the_treebank(&blob, text);
        }
    }

    fn tag_text_spells_the_token_as_the_treebank(blob: &[u8], text: &str) {
        let mut model = postag_model {
            opaque: [0; crate::POSTAG_MODEL_WORDS],
        };
        // SAFETY: valid buffers of the stated lengths.
        let status = unsafe { crate::postag_model_load(blob.as_ptr(), blob.len(), &mut model) };
        assert_eq!(status, postag_status::Ok);
        let seg = Segmenter::from_bytes(blob).unwrap().unwrap();
        let want = postag_core::segment::sentences(&seg, text).unwrap();
        assert_eq!(want.len(), 1);
        assert_eq!(want[0].tokens.len(), 1);
        assert_eq!(want[0].tokens[0].words, ["the dog ate"]);
        let tagger = Model::from_bytes(blob).unwrap();
        let mut want_tag = [0u16];
        let mut s = vec![0u8; tagger.scratch_bytes(1).unwrap()];
        tagger
            .tag(&["the dog ate"], &mut s, &mut want_tag, None)
            .unwrap();

        let mut sizes = postag_text_sizes::default();
        // SAFETY: as above.
        let status =
            unsafe { postag_text_size(&model, text.as_ptr(), text.len(), WINDOW, &mut sizes) };
        assert_eq!(status, postag_status::Ok);
        let mut scratch = vec![0u8; sizes.tag_text_scratch];
        let (status, tokens, words, tags, counts) =
            tag_text(&model, text, WINDOW, &mut scratch, 4, 4);
        assert_eq!(status, postag_status::Ok);
        assert_eq!((counts.n_tokens, counts.n_words), (1, 1));
        assert_eq!((tokens[0].start, tokens[0].end), (0, text.len() as u32));
        // SAFETY: the word points into `scratch`, alive and not written since.
        let word = unsafe { core::slice::from_raw_parts(words[0].ptr, words[0].len) };
        assert_eq!(word, b"the dog ate", "{text:?}");
        assert_eq!(tags[0], want_tag[0]);
    }
}
