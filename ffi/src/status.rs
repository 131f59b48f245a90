//! Status codes and their messages.

use core::ffi::{c_char, CStr};

use postag_core::Error;

use crate::checks;

/// What a call did: `POSTAG_STATUS_OK` (0) or why it failed.
///
/// The numbers are stable: a code keeps its meaning in every later version and a
/// retired code is never reused. New codes may be added, so treat an unknown code as a
/// failure (`postag_status_str` names it "unknown status code").
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum postag_status {
    /// Success.
    Ok = 0,
    /// A required pointer is NULL, or a NULL pointer came with a non-zero length.
    NullPointer = 1,
    /// An argument is out of range: a tag index past the last tag, a buffer that
    /// overlaps another argument, a misaligned pointer, a length past the address space.
    InvalidArgument = 2,
    /// The `postag_model` was not filled by a successful `postag_model_load`.
    ModelNotLoaded = 3,
    /// The bytes do not start with the postag magic: this is not a model blob.
    BadMagic = 4,
    /// The blob's format version is not one this library reads: it reads versions 1
    /// to 3, built for a bare-metal target (Cortex-M) version 1 only, to which
    /// `postag convert --layout rows` rewrites a version 2 or 3 model, f32 or int8
    /// (`postag_blob_format_version` tells which version a blob has).
    UnsupportedVersion = 5,
    /// The blob is shorter than its preamble, or than the header (and CRC) its preamble
    /// declares; a blob cut inside its payload is POSTAG_STATUS_CHECKSUM_MISMATCH.
    Truncated = 6,
    /// The CRC-32 at the end of the blob does not match its contents: a damaged blob,
    /// or one whose length is not the blob's own (cut short, or passed with bytes after
    /// its end: its last four bytes are then not its checksum).
    ChecksumMismatch = 7,
    /// The blob's header cannot be decoded.
    MalformedHeader = 8,
    /// The header decodes but describes an inconsistent model.
    InvalidModel = 9,
    /// The scratch buffer is smaller than the call needs. The size queries give sizes that
    /// always suffice: for tagging, `postag_min_scratch_size` (the least for any
    /// alignment of the buffer: an aligned one may take up to 3 bytes less;
    /// `postag_scratch_size` is the size of the default, faster schedule); for
    /// `postag_tag_batch`, `postag_batch_scratch_size` (for any sentences of those
    /// totals: particular sentences may need less); for raw text (`postag_segment`,
    /// `postag_tag_text`), `postag_text_size`.
    ScratchTooSmall = 10,
    /// Too many tokens in one call: more than `POSTAG_MAX_TOKENS` in a sentence, or, in
    /// a batch (`postag_tag_batch`, `postag_batch_scratch_size`), more than
    /// `POSTAG_MAX_BATCH_TOKENS` tokens or sentences.
    TooManyTokens = 11,
    /// An output buffer is too short (tags: one per token; scores: tokens x tags;
    /// strings: their length plus the NUL).
    OutputTooSmall = 12,
    /// A token, or a raw text, is not valid UTF-8.
    InvalidUtf8 = 13,
    /// A word is not in the vocabulary and the model has no unknown-word row.
    UnknownWord = 14,
    /// A character is not in the vocabulary and the model has no unknown-char row.
    UnknownChar = 15,
    /// A caller-held state needs a unidirectional model; one-token steps also need
    /// a model without CRF transitions.
    NotStreamable = 16,
    /// The state buffer's length is not `postag_state_len`.
    StateSize = 17,
    /// A bug in postag: a caught panic, or an error this version cannot name.
    InternalError = 18,
    /// The blob holds an f32 weight, bias, int8 row scale or CRF score that is NaN,
    /// infinite, or beyond 2^48 in magnitude (where f32 arithmetic could overflow).
    NonFiniteWeight = 19,
    /// A token is empty (zero bytes); checked before anything is written.
    EmptyToken = 20,
    /// A score became NaN, or the best CRF path's score infinite: no tag is trusted.
    /// From a streaming state (`postag_tag_from_state`, `postag_step`) that holds a NaN
    /// (an infinity may give it too); otherwise a check only: a blob's values are within
    /// 2^48, where no sum overflows.
    NonFiniteScore = 21,
    /// Raw text was given to a model without a segmenter (it tags tokens only).
    NoSegmenter = 22,
    /// A segmenter window of 0 characters or more than `POSTAG_MAX_WINDOW`.
    InvalidWindow = 23,
    /// Raw text of 4 GiB or more (token offsets are 32-bit).
    TextTooLong = 24,
    /// The blob's segmenter has a tensor twice, or one that does not belong to it.
    UnexpectedTensor = 25,
    /// The sentences changed between the passes over them (the Rust core's
    /// `tag_batch_iter` with an iterator whose clones differ; no C call returns it).
    SentencesChanged = 26,
    /// A tag name in the blob is empty, holds whitespace or a control character, or
    /// repeats another.
    BadTagName = 27,
}

/// The highest code this version assigns.
const LAST: postag_status = postag_status::BadTagName;

impl From<Error> for postag_status {
    fn from(e: Error) -> Self {
        match e {
            Error::BadMagic => postag_status::BadMagic,
            Error::UnsupportedVersion { .. } => postag_status::UnsupportedVersion,
            Error::Truncated => postag_status::Truncated,
            Error::ChecksumMismatch => postag_status::ChecksumMismatch,
            Error::MalformedHeader => postag_status::MalformedHeader,
            Error::InvalidModel => postag_status::InvalidModel,
            Error::ScratchTooSmall => postag_status::ScratchTooSmall,
            Error::TooManyTokens => postag_status::TooManyTokens,
            Error::OutputTooSmall => postag_status::OutputTooSmall,
            Error::InvalidUtf8 => postag_status::InvalidUtf8,
            Error::UnknownWord => postag_status::UnknownWord,
            Error::UnknownChar => postag_status::UnknownChar,
            Error::NotStreamable => postag_status::NotStreamable,
            Error::StateSize => postag_status::StateSize,
            Error::NonFiniteWeight { .. } => postag_status::NonFiniteWeight,
            Error::EmptyToken => postag_status::EmptyToken,
            Error::NonFiniteScore => postag_status::NonFiniteScore,
            Error::NoSegmenter => postag_status::NoSegmenter,
            Error::InvalidWindow => postag_status::InvalidWindow,
            Error::TextTooLong => postag_status::TextTooLong,
            Error::UnexpectedTensor { .. } => postag_status::UnexpectedTensor,
            Error::SentencesChanged => postag_status::SentencesChanged,
            Error::BadTagName { .. } => postag_status::BadTagName,
            // `Error` is non-exhaustive: a variant added to the core gets its own code
            // here; until then it is reported, never lost.
            _ => postag_status::InternalError,
        }
    }
}

/// Bytes a buffer needs for any status message, including its NUL.
pub const POSTAG_STATUS_MESSAGE_MAX: usize = 128;

/// Messages indexed by code.
const MESSAGES: [&CStr; 28] = [
    c"ok",
    c"a required pointer is NULL (or a NULL pointer came with a non-zero length)",
    c"invalid argument (index or length out of range, overlapping or misaligned buffer)",
    c"the model object was not loaded (call postag_model_load first)",
    c"not a postag model (bad magic bytes)",
    c"model blob version not read by this build (newer: upgrade; v2 or v3 on Cortex-M: convert)",
    c"model blob is truncated",
    c"model blob is corrupt, cut short or too long (CRC-32 mismatch)",
    c"model blob header cannot be decoded",
    c"model blob describes an inconsistent model",
    c"scratch buffer is too small (see postag_scratch_size, postag_batch_scratch_size, postag_text_size)",
    c"too many tokens in one call (see POSTAG_MAX_TOKENS, POSTAG_MAX_BATCH_TOKENS)",
    c"output buffer is too small",
    c"token or text is not valid UTF-8",
    c"word not in the vocabulary and the model has no unknown-word entry",
    c"character not in the vocabulary and the model has no unknown-char entry",
    c"a caller-held state needs a unidirectional model (one-token steps also no CRF)",
    c"state buffer has the wrong length for this model (see postag_state_len)",
    c"internal error in postag (a bug: please report it)",
    c"model blob holds a NaN, infinite or over 2^48 weight",
    c"a token is empty (zero bytes)",
    c"a score became NaN or infinite: a non-finite state, or an overflow",
    c"the model has no segmenter: it tags tokens, not raw text",
    c"segmenter window must be 1 to POSTAG_MAX_WINDOW characters",
    c"raw text is 4 GiB or longer",
    c"model blob's segmenter has a duplicated or stray tensor",
    c"the sentences changed between the passes over them",
    c"model blob has an empty or repeated tag name, or one with whitespace or controls",
];

const UNKNOWN: &CStr = c"unknown status code";

const _: () = {
    assert!(MESSAGES.len() == LAST as usize + 1);
    let mut i = 0;
    while i < MESSAGES.len() {
        assert!(MESSAGES[i].count_bytes() < POSTAG_STATUS_MESSAGE_MAX);
        i += 1;
    }
    assert!(UNKNOWN.count_bytes() < POSTAG_STATUS_MESSAGE_MAX);
};

fn message(status: u32) -> &'static CStr {
    MESSAGES.get(status as usize).copied().unwrap_or(UNKNOWN)
}

/// A static, NUL-terminated English description of `status` (any value: codes this
/// version does not know give "unknown status code"). Never NULL.
#[no_mangle]
pub extern "C" fn postag_status_str(status: u32) -> *const c_char {
    message(status).as_ptr()
}

/// Copies the description of `status` (as `postag_status_str`), with its NUL, into
/// `buf`, and its length without the NUL into `*len_out` (`len_out` may be NULL).
/// A buffer of `POSTAG_STATUS_MESSAGE_MAX` bytes always fits.
///
/// Returns `POSTAG_STATUS_OUTPUT_TOO_SMALL` (writing nothing) if `buf_len` is less than
/// the length plus one.
///
/// # Safety
/// `buf` must be valid for writes of `buf_len` bytes; `len_out` NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn postag_status_message(
    status: u32,
    buf: *mut c_char,
    buf_len: usize,
    len_out: *mut usize,
) -> postag_status {
    checks::boundary(|| {
        let text = message(status).to_bytes_with_nul();
        let buf = checks::Out::new(buf.cast::<u8>(), buf_len)?;
        let len_out = checks::OptionalValue::new(len_out)?;
        checks::disjoint(&[buf.region(), len_out.region()], &[])?;
        if buf_len < text.len() {
            return Err(postag_status::OutputTooSmall);
        }
        // SAFETY: the C caller guarantees `buf` is writable for `buf_len` bytes and
        // `len_out` is NULL or writable; both were checked and do not overlap.
        unsafe {
            buf.get()[..text.len()].copy_from_slice(text);
            len_out.set(text.len() - 1);
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_distinct_message() {
        let mut seen = std::collections::BTreeSet::new();
        for code in 0..=LAST as u32 {
            assert!(seen.insert(message(code).to_bytes()), "code {code}");
        }
        assert_eq!(message(999), UNKNOWN);
    }

    #[test]
    fn core_errors_map_to_their_own_codes() {
        let errors = [
            Error::BadMagic,
            Error::UnsupportedVersion { found: 2 },
            Error::Truncated,
            Error::ChecksumMismatch,
            Error::MalformedHeader,
            Error::InvalidModel,
            Error::ScratchTooSmall,
            Error::TooManyTokens,
            Error::OutputTooSmall,
            Error::InvalidUtf8,
            Error::UnknownWord,
            Error::UnknownChar,
            Error::NotStreamable,
            Error::StateSize,
            Error::NonFiniteWeight {
                role: postag_core::format::Role::TagBias,
                row: 0,
                col: Some(1),
                bits: f32::NAN.to_bits(),
            },
            Error::EmptyToken,
            Error::NonFiniteScore,
            Error::NoSegmenter,
            Error::InvalidWindow,
            Error::TextTooLong,
            Error::UnexpectedTensor {
                role: postag_core::format::Role::TagBias,
                duplicate: true,
            },
            Error::SentencesChanged,
            Error::BadTagName { tag: 3 },
        ];
        let codes: std::collections::BTreeSet<u32> = errors
            .iter()
            .map(|&e| postag_status::from(e) as u32)
            .collect();
        assert_eq!(codes.len(), errors.len());
        assert!(!codes.contains(&(postag_status::InternalError as u32)));
        assert!(!codes.contains(&0));
    }
}
