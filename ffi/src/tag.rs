//! Tagging: whole sentences, and streams from a caller-held state.

use postag_core::Model;

use crate::checks::{self, region_of_optional, In, Out, Token};
use crate::model::{answer, loaded, postag_model};
use crate::postag_status;
use crate::token::postag_token;

/// Most tokens one call accepts.
pub const POSTAG_MAX_TOKENS: usize = 4096;

const _: () = assert!(POSTAG_MAX_TOKENS == postag_core::MAX_TOKENS);

/// Writes into `*bytes_out` the scratch bytes that `postag_tag`, `postag_tag_from_state`
/// and `postag_step` need for sentences of up to `max_tokens` tokens with this model.
/// Any buffer of that size works, at any alignment; its contents on entry do not
/// matter. `POSTAG_STATUS_TOO_MANY_TOKENS` above `POSTAG_MAX_TOKENS`.
///
/// The size is 0 for `max_tokens` 0 (an empty sentence needs no scratch), else
/// `4 * (n * (1 + F + T) + V + S + max(Ww, Wc)) + 3` bytes for `n = max_tokens`: word
/// rows, char features (`F` = char LSTM output width, 0 without chars) and scores (`T`
/// tags) per token; `V = 2T + ceil(n*T/2)` for CRF models (else 0); `S = 2 * layers *
/// hidden` for a unidirectional word LSTM (else 0); `Ww` and `Wc` the word and char
/// LSTMs' working memory, defined in `core/README.md` ("Memory") from the model's
/// dimensions (`postag_model_info`). It grows linearly with `n` from 8 tokens on (below
/// 8, the LSTMs' working memory grows with `n` too: their inputs are projected up to 8
/// tokens at a time).
///
/// # Safety
/// `model` must point to a loaded or zeroed `postag_model` whose blob is still valid;
/// `bytes_out` must be valid for one write.
#[no_mangle]
pub unsafe extern "C" fn postag_scratch_size(
    model: *const postag_model,
    max_tokens: usize,
    bytes_out: *mut usize,
) -> postag_status {
    // SAFETY: forwarded caller's contract.
    unsafe {
        answer(model, bytes_out, |m| {
            m.scratch_bytes(max_tokens)
                .ok_or(postag_status::TooManyTokens)
        })
    }
}

/// Writes into `*bytes_out` the scratch bytes with which `postag_tag`,
/// `postag_tag_from_state` and `postag_step` run fastest on processors with caches:
/// `postag_scratch_size` plus a cache of the char LSTM's input projections (each
/// distinct character projected once per call, or with f32 weights once per group of
/// words run side by side) and, for int8 weights at the x86-64 vector levels, a copy
/// of its recurrent weights laid out for the kernel; on x86-64, room for such a copy of
/// the word LSTM's int8 recurrent weights too, which the `sse2` level makes (in the
/// cache's bytes: the size is the larger of the two). The results are the same bit for
/// bit. It equals `postag_scratch_size` for a model with neither a one-layer char LSTM
/// (int8, or f32 on x86-64 and AArch64) nor (on x86-64) int8 recurrent weights of up to
/// 1024 units in the word LSTM, and in Cortex-M builds (the formulas are
/// `Model::char_cache_bytes` and `Model::cached_scratch_bytes` in the Rust core's
/// documentation).
/// `POSTAG_STATUS_TOO_MANY_TOKENS` above `POSTAG_MAX_TOKENS`.
///
/// # Safety
/// As `postag_scratch_size`.
#[no_mangle]
pub unsafe extern "C" fn postag_cached_scratch_size(
    model: *const postag_model,
    max_tokens: usize,
    bytes_out: *mut usize,
) -> postag_status {
    // SAFETY: forwarded caller's contract.
    unsafe {
        answer(model, bytes_out, |m| {
            m.cached_scratch_bytes(max_tokens)
                .ok_or(postag_status::TooManyTokens)
        })
    }
}

/// Writes into `*bytes_out` the least scratch that tags sentences of up to `max_tokens`
/// tokens: the low-memory schedule (the LSTMs project one token's input at a time),
/// for firmware with little RAM. A tagging call given at least this but less than
/// `postag_scratch_size` runs it, with the same results on Cortex-M (bit for bit at
/// the scalar kernel level). The formula is `postag_scratch_size`'s with the
/// projection block 1 (`core/README.md`, "Memory"). `POSTAG_STATUS_TOO_MANY_TOKENS`
/// above `POSTAG_MAX_TOKENS`.
///
/// # Safety
/// As `postag_scratch_size`.
#[no_mangle]
pub unsafe extern "C" fn postag_min_scratch_size(
    model: *const postag_model,
    max_tokens: usize,
    bytes_out: *mut usize,
) -> postag_status {
    // SAFETY: forwarded caller's contract.
    unsafe {
        answer(model, bytes_out, |m| {
            m.min_scratch_bytes(max_tokens)
                .ok_or(postag_status::TooManyTokens)
        })
    }
}

/// Tags a sentence of `n_tokens` tokens (`tokens` may be NULL when `n_tokens` is 0: an
/// empty sentence is tagged successfully).
///
/// - `scratch`: `scratch_len` bytes of working memory, at least
///   `postag_scratch_size(model, n_tokens)` (or `postag_min_scratch_size`, for the
///   low-memory schedule); any alignment.
/// - `tags_out`: one tag index per token (`tags_len >= n_tokens`); names come from
///   `postag_tag_name`.
/// - `scores_out`: NULL (with `scores_len` 0) or the log-probabilities of every tag for
///   every token, row per token (`scores_len >= n_tokens * T`).
///
/// Decodes with Viterbi when the model has CRF transitions, else with the per-token
/// argmax. Starts from a zero state. Outputs are written only on success.
///
/// Every token must have at least one byte: an empty token is
/// `POSTAG_STATUS_EMPTY_TOKEN`, checked before anything is written. Token errors:
/// `POSTAG_STATUS_INVALID_UTF8`, `POSTAG_STATUS_UNKNOWN_WORD`,
/// `POSTAG_STATUS_UNKNOWN_CHAR`. `POSTAG_STATUS_NON_FINITE_SCORE` if a score were NaN or
/// the best CRF path's score infinite (no tag is given then; a check only: a blob's
/// values are within 2^48, where no sum overflows).
///
/// # Safety
/// `model` as in `postag_scratch_size`; `tokens` valid for reads of `n_tokens` tokens,
/// each token's `ptr` for its `len` bytes; `scratch`, `tags_out` and `scores_out`
/// valid for reads and writes of their lengths, overlapping nothing else passed.
#[no_mangle]
pub unsafe extern "C" fn postag_tag(
    model: *const postag_model,
    tokens: *const postag_token,
    n_tokens: usize,
    scratch: *mut u8,
    scratch_len: usize,
    tags_out: *mut u16,
    tags_len: usize,
    scores_out: *mut f32,
    scores_len: usize,
) -> postag_status {
    let buffers = Buffers {
        sentence_lens: None,
        state: None,
        scratch: (scratch, scratch_len),
        tags: (tags_out, tags_len),
        scores: (scores_out, scores_len),
    };
    // SAFETY: forwarded caller's contract.
    unsafe {
        tag_call(model, tokens, n_tokens, buffers, |m, call| {
            m.tag(call.tokens, call.scratch, call.tags, call.scores)
        })
    }
}

/// Writes into `*bytes_out` the scratch bytes `postag_tag_batch` needs for sentences of
/// `n_tokens` tokens in all, the longest `longest` tokens long. Any buffer of that size
/// works, at any alignment. It holds each token's inputs and gate projections of the
/// word LSTM, for a one-layer int8 char net its projection cache (which serves the
/// whole call), and on x86-64 for int8 word-LSTM weights an i16 copy of one matrix at a
/// time. `POSTAG_STATUS_TOO_MANY_TOKENS` when `longest` exceeds
/// `POSTAG_MAX_TOKENS` or `n_tokens` exceeds `POSTAG_MAX_BATCH_TOKENS`;
/// `POSTAG_STATUS_INVALID_ARGUMENT` when `longest > n_tokens`, or `longest` is 0 while
/// `n_tokens` is not.
///
/// # Safety
/// As `postag_scratch_size`.
#[no_mangle]
pub unsafe extern "C" fn postag_batch_scratch_size(
    model: *const postag_model,
    n_tokens: usize,
    longest: usize,
    bytes_out: *mut usize,
) -> postag_status {
    // SAFETY: forwarded caller's contract.
    unsafe {
        answer(model, bytes_out, |m| {
            if longest > n_tokens || (longest == 0 && n_tokens > 0) {
                return Err(postag_status::InvalidArgument);
            }
            m.batch_scratch_bytes(n_tokens, longest)
                .ok_or(postag_status::TooManyTokens)
        })
    }
}

/// Most tokens, summed over its sentences, one `postag_tag_batch` call accepts (and
/// most sentences: more is `POSTAG_STATUS_TOO_MANY_TOKENS`).
pub const POSTAG_MAX_BATCH_TOKENS: usize = 1 << 20;

const _: () = assert!(POSTAG_MAX_BATCH_TOKENS == postag_core::MAX_BATCH_TOKENS);

/// Tags `n_sentences` sentences in one call (server throughput; `postag_tag` is the call
/// for one sentence). `tokens` holds all `n_tokens` tokens, sentence after sentence;
/// `sentence_lens[i]` is sentence `i`'s token count (0 is an empty sentence), and the
/// lengths sum to `n_tokens` (else `POSTAG_STATUS_INVALID_ARGUMENT`). The outputs follow
/// the same order: `tags_out` one tag per token (`tags_len >= n_tokens`), `scores_out`
/// NULL or one row of T log-probabilities per token. `scratch` holds at least
/// `postag_batch_scratch_size(model, n_tokens, longest sentence)` bytes.
///
/// The word LSTM runs eight sentences side by side. Each sentence gets the tags
/// `postag_tag` gives it, and its scores: bit for bit with int8 weights and with f32
/// LSTMs in panels (as `postag train` and `import-torch` write them), with f32 LSTMs in
/// rows up to the summation order of the recurrent product (within 1e-5 on the tests);
/// a sentence's result never depends on the sentences beside it. Errors are
/// `postag_tag`'s (an empty token anywhere is reported first, then the first token
/// error in order, then an overflow); outputs are written only on success. A batch
/// without tokens needs no scratch.
///
/// # Safety
/// As `postag_tag`, with `sentence_lens` valid for reads of `n_sentences` values
/// (may be NULL when `n_sentences` is 0), overlapping nothing written.
#[no_mangle]
pub unsafe extern "C" fn postag_tag_batch(
    model: *const postag_model,
    tokens: *const postag_token,
    n_tokens: usize,
    sentence_lens: *const usize,
    n_sentences: usize,
    scratch: *mut u8,
    scratch_len: usize,
    tags_out: *mut u16,
    tags_len: usize,
    scores_out: *mut f32,
    scores_len: usize,
) -> postag_status {
    let buffers = Buffers {
        sentence_lens: Some((sentence_lens, n_sentences)),
        state: None,
        scratch: (scratch, scratch_len),
        tags: (tags_out, tags_len),
        scores: (scores_out, scores_len),
    };
    // SAFETY: forwarded caller's contract.
    unsafe {
        tag_call(model, tokens, n_tokens, buffers, |m, call| {
            let tokens = call.tokens;
            let sentences = call.sentence_lens.iter().scan(0usize, |start, &n| {
                let s = &tokens[*start..*start + n];
                *start += n;
                Some(s)
            });
            m.tag_batch_iter(sentences, call.scratch, call.tags, call.scores)
        })
    }
}

/// Writes into `*state_len_out` the number of floats of a caller-held state:
/// `2 * layers * hidden`, laid out like PyTorch's `(h_0, c_0)`: `h` of layers 0..L-1,
/// then `c` of layers 0..L-1, `hidden` floats each. `POSTAG_STATUS_NOT_STREAMABLE`
/// for a bidirectional model.
///
/// # Safety
/// As `postag_scratch_size`; `state_len_out` must be valid for one write.
#[no_mangle]
pub unsafe extern "C" fn postag_state_len(
    model: *const postag_model,
    state_len_out: *mut usize,
) -> postag_status {
    // SAFETY: forwarded caller's contract.
    unsafe {
        answer(model, state_len_out, |m| {
            if !m.has_state() {
                return Err(postag_status::NotStreamable);
            }
            Ok(m.state_len())
        })
    }
}

/// Like `postag_tag` for a unidirectional model, starting from the `(h, c)` in `state`
/// (`state_len` floats, see `postag_state_len`) and leaving the final state there, so
/// that the next call continues the stream. A zeroed state is the start of a stream;
/// zero it again to reset. What `postag_step` once per token gives (for a model
/// without CRF transitions): bit for bit for int8 weights and at the scalar level
/// (`POSTAG_SIMD=scalar`); with f32 weights at a vector level the input projections of
/// tokens (and of a word's characters) computed together round differently from one's
/// alone, so scores and state may differ in the last bits. The state, too, is written
/// only on success.
///
/// Errors besides `postag_tag`'s (an empty token among them, leaving the state as it
/// was): `POSTAG_STATUS_NOT_STREAMABLE` (bidirectional model),
/// `POSTAG_STATUS_STATE_SIZE` (`state_len` differs from `postag_state_len`).
///
/// # Safety
/// As `postag_tag`; `state` valid for reads and writes of `state_len` floats,
/// overlapping nothing else passed.
#[no_mangle]
pub unsafe extern "C" fn postag_tag_from_state(
    model: *const postag_model,
    tokens: *const postag_token,
    n_tokens: usize,
    state: *mut f32,
    state_len: usize,
    scratch: *mut u8,
    scratch_len: usize,
    tags_out: *mut u16,
    tags_len: usize,
    scores_out: *mut f32,
    scores_len: usize,
) -> postag_status {
    let buffers = Buffers {
        sentence_lens: None,
        state: Some((state, state_len)),
        scratch: (scratch, scratch_len),
        tags: (tags_out, tags_len),
        scores: (scores_out, scores_len),
    };
    // SAFETY: forwarded caller's contract.
    unsafe {
        tag_call(model, tokens, n_tokens, buffers, |m, call| {
            let state = call.state.unwrap_or_default();
            m.tag_from_state(call.tokens, state, call.scratch, call.tags, call.scores)
        })
    }
}

/// Streams one token through a unidirectional model without CRF transitions: updates
/// `state` (see `postag_tag_from_state`) and writes the token's tag into `*tag_out` and,
/// if `scores_out` is not NULL, its T log-probabilities (`scores_len >= T`).
/// `scratch` as for `postag_tag` with one token.
///
/// Errors besides `postag_tag`'s (an empty `token` is `POSTAG_STATUS_EMPTY_TOKEN`, state
/// untouched): `POSTAG_STATUS_NOT_STREAMABLE` (bidirectional or CRF model),
/// `POSTAG_STATUS_STATE_SIZE`.
///
/// # Safety
/// As `postag_tag_from_state`, for the single `token`; `tag_out` valid for reads and
/// writes of one `uint16_t`.
#[no_mangle]
pub unsafe extern "C" fn postag_step(
    model: *const postag_model,
    token: postag_token,
    state: *mut f32,
    state_len: usize,
    scratch: *mut u8,
    scratch_len: usize,
    tag_out: *mut u16,
    scores_out: *mut f32,
    scores_len: usize,
) -> postag_status {
    let buffers = Buffers {
        sentence_lens: None,
        state: Some((state, state_len)),
        scratch: (scratch, scratch_len),
        tags: (tag_out, 1),
        scores: (scores_out, scores_len),
    };
    // SAFETY: forwarded caller's contract; `token` is a local copy, readable as an
    // array of one token for the call.
    unsafe {
        tag_call(model, &token, 1, buffers, |m, call| {
            let state = call.state.unwrap_or_default();
            call.tags[0] = m.step(call.tokens[0].as_ref(), state, call.scratch, call.scores)?;
            Ok(())
        })
    }
}

/// The buffers a tagging call writes, as pointers and lengths: the stream's state (for
/// the streaming calls), the scratch, the tags and the optional scores.
struct Buffers {
    /// The sentences' lengths, for the batch call.
    sentence_lens: Option<(*const usize, usize)>,
    state: Option<(*mut f32, usize)>,
    scratch: (*mut u8, usize),
    tags: (*mut u16, usize),
    scores: (*mut f32, usize),
}

/// The checked arguments of a tagging call.
struct Call<'a> {
    tokens: &'a [Token],
    /// The sentences' lengths (summing to `tokens.len()`), for the batch call.
    sentence_lens: &'a [usize],
    state: Option<&'a mut [f32]>,
    scratch: &'a mut [u8],
    tags: &'a mut [u16],
    scores: Option<&'a mut [f32]>,
}

/// Checks the arguments every tagging call shares (`model` loaded; every buffer
/// non-NULL unless empty, aligned, and overlapping no other argument; the tokens and
/// their bytes), then runs `body`, at the boundary.
///
/// # Safety
/// `model` as in [`loaded`]; `tokens` valid for reads of `n_tokens` tokens, each
/// token's `ptr` for its `len` bytes; every buffer valid for reads and writes of its
/// length.
unsafe fn tag_call(
    model: *const postag_model,
    tokens: *const postag_token,
    n_tokens: usize,
    buffers: Buffers,
    body: impl FnOnce(&Model<'static>, Call<'_>) -> Result<(), postag_core::Error>,
) -> postag_status {
    checks::boundary(|| {
        // SAFETY: forwarded caller's contract.
        let model = unsafe { loaded(model) }?;
        let state = buffers
            .state
            .map(|(ptr, len)| Out::new(ptr, len))
            .transpose()?;
        let scratch = Out::new(buffers.scratch.0, buffers.scratch.1)?;
        let tags = Out::new(buffers.tags.0, buffers.tags.1)?;
        let scores = Out::optional(buffers.scores.0, buffers.scores.1)?;
        let writes = [
            region_of_optional(&state),
            scratch.region(),
            tags.region(),
            region_of_optional(&scores),
        ];
        checks::disjoint(&writes, &model.reads())?;
        // SAFETY: forwarded caller's contract; checked against every written region.
        let tokens = unsafe { checks::tokens(tokens, n_tokens, &writes) }?;
        let sentence_lens: &[usize] = match buffers.sentence_lens {
            None => &[],
            Some((ptr, len)) => {
                let lens = In::new(ptr, len)?;
                checks::disjoint(&writes, &[lens.region()])?;
                // SAFETY: forwarded caller's contract; overlaps nothing written.
                let lens = unsafe { lens.get() };
                let sum = lens.iter().try_fold(0usize, |a, &n| a.checked_add(n));
                if sum != Some(n_tokens) {
                    return Err(postag_status::InvalidArgument);
                }
                lens
            }
        };
        // SAFETY: the written buffers are valid (caller's contract) and overlap neither
        // each other nor any input (checked above).
        let call = unsafe {
            Call {
                tokens,
                sentence_lens,
                state: state.map(|s| s.get()),
                scratch: scratch.get(),
                tags: tags.get(),
                scores: scores.map(|s| s.get()),
            }
        };
        body(&model.loaded.model, call)?;
        Ok(())
    })
}
