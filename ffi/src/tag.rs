//! Tagging: whole sentences, and streams from a caller-held state.

use crate::checks::{self, region_of_optional, Out, Value};
use crate::model::{loaded, postag_model};
use crate::postag_status;

/// Most tokens one call accepts.
pub const POSTAG_MAX_TOKENS: usize = 4096;

const _: () = assert!(POSTAG_MAX_TOKENS == postag_core::MAX_TOKENS);

/// A token: `len` bytes of UTF-8 at `ptr` (no NUL needed; `ptr` may be NULL only when
/// `len` is 0). The bytes are read during the call only.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct postag_token {
    /// First byte of the token.
    pub ptr: *const u8,
    /// Number of bytes.
    pub len: usize,
}

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
/// dimensions (`postag_model_info`). It grows linearly with `n`.
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
    checks::boundary(|| {
        // SAFETY: forwarded caller's contract.
        let model = unsafe { loaded(model) }?;
        let out = Value::new(bytes_out)?;
        checks::disjoint(&[out.region()], &model.reads())?;
        let bytes = model
            .loaded
            .model
            .scratch_bytes(max_tokens)
            .ok_or(postag_status::TooManyTokens)?;
        // SAFETY: writable (caller's contract), overlaps no input.
        unsafe { out.set(bytes) };
        Ok(())
    })
}

/// Tags a sentence of `n_tokens` tokens (`tokens` may be NULL when `n_tokens` is 0: an
/// empty sentence is tagged successfully).
///
/// - `scratch`: `scratch_len` bytes of working memory, at least
///   `postag_scratch_size(model, n_tokens)`; any alignment.
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
/// `POSTAG_STATUS_UNKNOWN_CHAR`. `POSTAG_STATUS_NON_FINITE_SCORE` if the model's finite
/// weights are so large that the arithmetic overflows on this input (a NaN score, or
/// an infinite best CRF path): no tag is given.
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
    checks::boundary(|| {
        // SAFETY: forwarded caller's contract.
        let model = unsafe { loaded(model) }?;
        let scratch = Out::new(scratch, scratch_len)?;
        let tags = Out::new(tags_out, tags_len)?;
        let scores = Out::optional(scores_out, scores_len)?;
        let writes = [scratch.region(), tags.region(), region_of_optional(&scores)];
        checks::disjoint(&writes, &model.reads())?;
        // SAFETY: forwarded caller's contract; checked against every written region.
        let tokens = unsafe { checks::tokens(tokens, n_tokens, &writes) }?;
        // SAFETY: the written buffers are valid (caller's contract) and overlap neither
        // each other nor any input (checked above).
        let (scratch, tags, scores) =
            unsafe { (scratch.get(), tags.get(), scores.map(|s| s.get())) };
        model.loaded.model.tag(tokens, scratch, tags, scores)?;
        Ok(())
    })
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
    checks::boundary(|| {
        // SAFETY: forwarded caller's contract.
        let model = unsafe { loaded(model) }?;
        let out = Value::new(state_len_out)?;
        checks::disjoint(&[out.region()], &model.reads())?;
        let m = &model.loaded.model;
        if !m.has_state() {
            return Err(postag_status::NotStreamable);
        }
        // SAFETY: writable (caller's contract), overlaps no input.
        unsafe { out.set(m.state_len()) };
        Ok(())
    })
}

/// Like `postag_tag` for a unidirectional model, starting from the `(h, c)` in `state`
/// (`state_len` floats, see `postag_state_len`) and leaving the final state there, so
/// that the next call continues the stream. A zeroed state is the start of a stream;
/// zero it again to reset. The same as `postag_step` once per token (for a model
/// without CRF transitions). The state, too, is written only on success.
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
    checks::boundary(|| {
        // SAFETY: forwarded caller's contract.
        let model = unsafe { loaded(model) }?;
        let state = Out::new(state, state_len)?;
        let scratch = Out::new(scratch, scratch_len)?;
        let tags = Out::new(tags_out, tags_len)?;
        let scores = Out::optional(scores_out, scores_len)?;
        let writes = [
            state.region(),
            scratch.region(),
            tags.region(),
            region_of_optional(&scores),
        ];
        checks::disjoint(&writes, &model.reads())?;
        // SAFETY: forwarded caller's contract; checked against every written region.
        let tokens = unsafe { checks::tokens(tokens, n_tokens, &writes) }?;
        // SAFETY: the written buffers are valid (caller's contract) and overlap neither
        // each other nor any input (checked above).
        let (state, scratch, tags, scores) = unsafe {
            (
                state.get(),
                scratch.get(),
                tags.get(),
                scores.map(|s| s.get()),
            )
        };
        model
            .loaded
            .model
            .tag_from_state(tokens, state, scratch, tags, scores)?;
        Ok(())
    })
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
/// As `postag_tag_from_state`, for the single `token`; `tag_out` valid for one write.
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
    checks::boundary(|| {
        // SAFETY: forwarded caller's contract.
        let model = unsafe { loaded(model) }?;
        let state = Out::new(state, state_len)?;
        let scratch = Out::new(scratch, scratch_len)?;
        let tag = Value::new(tag_out)?;
        let scores = Out::optional(scores_out, scores_len)?;
        let writes = [
            state.region(),
            scratch.region(),
            tag.region(),
            region_of_optional(&scores),
        ];
        checks::disjoint(&writes, &model.reads())?;
        // SAFETY: `token` is a local copy (readable); its bytes are the caller's
        // contract and are checked against every written region.
        let token = unsafe { checks::tokens(&token, 1, &writes) }?;
        // SAFETY: the written buffers are valid (caller's contract) and overlap neither
        // each other nor any input (checked above).
        let (state, scratch, scores) =
            unsafe { (state.get(), scratch.get(), scores.map(|s| s.get())) };
        let index = model
            .loaded
            .model
            .step(token[0].as_ref(), state, scratch, scores)?;
        // SAFETY: writable (caller's contract), overlaps no input.
        unsafe { tag.set(index) };
        Ok(())
    })
}
