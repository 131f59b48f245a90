//! The one error type of the core.

use core::fmt;

use crate::format::Role;

/// Everything that can go wrong when loading a blob or tagging.
///
/// Numeric codes for the C ABI are assigned in `postag-ffi` (`ffi/src/status.rs`) and
/// never reused.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// The bytes do not start with the postag magic: this is not a model blob.
    BadMagic,
    /// The blob's format version is not one this library reads (versions
    /// [`crate::format::MIN_FORMAT_VERSION`] to [`crate::format::READ_VERSION`]: 1 to
    /// 3, on bare-metal targets 1).
    UnsupportedVersion {
        /// The version the blob declares.
        found: u16,
    },
    /// The blob is shorter than its 12-byte preamble, or than the header (and CRC) the
    /// preamble declares; a blob cut inside its payload fails its CRC
    /// ([`Error::ChecksumMismatch`]).
    Truncated,
    /// The CRC-32 at the end of the blob does not match its contents: a damaged blob,
    /// or one whose length is not the blob's own (cut short, or with bytes after its
    /// end: its last four bytes are then not its checksum).
    ChecksumMismatch,
    /// The postcard-encoded header cannot be decoded.
    MalformedHeader,
    /// The header decodes but describes an inconsistent model (a missing,
    /// duplicated, misplaced or wrongly shaped tensor, an index out of range); also a
    /// [`crate::Cell`] built by hand whose parts disagree on their shapes.
    InvalidModel,
    /// The scratch buffer is smaller than the call needs. The size queries give sizes
    /// that always suffice: [`crate::Model::min_scratch_bytes`] (the least for any
    /// alignment of the buffer: an aligned one may take up to 3 bytes less;
    /// [`crate::Model::scratch_bytes`] is the size of the default schedule),
    /// [`crate::Model::batch_scratch_bytes`] (for any sentences of those totals) and
    /// [`crate::segment::Segmenter::scratch_bytes`]; for [`crate::Cell::step`]'s
    /// `work` and [`crate::Cell::pack`]'s buffer, their `work_len` and `packed_len`.
    ScratchTooSmall,
    /// Too many tokens in one call: more than [`crate::MAX_TOKENS`] in a sentence, or
    /// more than [`crate::MAX_BATCH_TOKENS`] tokens or sentences in a batch; for a
    /// [`crate::Tagger`], more than its [`crate::Tagger::max_tokens`].
    TooManyTokens,
    /// An output slice is shorter than the number of tokens (or tokens x tags); a
    /// segmenter's token output with no room for the tokens of the text's first
    /// window; a fixed-capacity output
    /// (`Tagger::tag_vec`) smaller than the tokens or the tags.
    OutputTooSmall,
    /// A token, or a raw text, is not valid UTF-8.
    InvalidUtf8,
    /// A word is not in the vocabulary and the model has no unknown-word row.
    UnknownWord,
    /// A character is not in the vocabulary and the model has no unknown-char row.
    UnknownChar,
    /// A caller-held state needs a unidirectional model; one-token steps also need no CRF.
    NotStreamable,
    /// A state slice does not have [`crate::Model::state_len`] elements (or, for
    /// [`crate::Cell::step`], its input `x`, `h` or `c` is not the cell's size).
    StateSize,
    /// A weight, bias, int8 row scale or CRF score in the blob is NaN, infinite, or
    /// beyond [`crate::format::MAX_MAGNITUDE`] (2^48), where f32 arithmetic could
    /// overflow.
    NonFiniteWeight {
        /// The tensor.
        role: Role,
        /// Its row (0 for a vector).
        row: u32,
        /// Its column, or `None` for the int8 scale of `row`.
        col: Option<u32>,
        /// The value's bits (`f32::from_bits`): a NaN, an infinity, or a value beyond
        /// [`crate::format::MAX_MAGNITUDE`].
        bits: u32,
    },
    /// A token is empty (zero bytes): there is no word to tag.
    EmptyToken,
    /// A score became NaN or the best CRF path's score infinite: no tag can be trusted.
    /// From a caller's streaming state that holds a NaN (an infinity may give it too:
    /// [`crate::Model::tag_from_state`], [`crate::Model::step`]); otherwise a check
    /// kept for what the bound's reasoning might miss: blobs store no value beyond
    /// [`crate::format::MAX_MAGNITUDE`], within which no sum overflows.
    NonFiniteScore,
    /// Raw text was given to a blob without a segmenter (it tags pre-tokenized input only).
    NoSegmenter,
    /// A segmenter window of 0 characters or more than [`crate::segment::MAX_WINDOW`].
    InvalidWindow,
    /// Raw text longer than 4 GiB - 1 bytes (token offsets are 32-bit).
    TextTooLong,
    /// The sentences of [`crate::Model::tag_batch_iter`] changed from one pass over
    /// its iterator to another (each clone must yield the same sentences).
    SentencesChanged,
    /// A tag name is empty, holds whitespace or a control character, or repeats an
    /// earlier tag's (tag names are written in CoNLL-U columns and as `word/TAG`).
    BadTagName {
        /// The tag's index.
        tag: u16,
    },
    /// A segmenter tensor appears twice, or does not belong (a reverse-direction tensor
    /// of a unidirectional segmenter, a segmenter tensor without the segmenter's options).
    UnexpectedTensor {
        /// The tensor.
        role: Role,
        /// Whether it appears twice (else it does not belong).
        duplicate: bool,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BadMagic => f.write_str("not a postag model (bad magic bytes)"),
            // Bare-metal builds read version 1 only (`format::READ_VERSION`).
            Error::UnsupportedVersion { found } if cfg!(target_os = "none") => write!(
                f,
                "model blob format version {found} is not read by this build, which reads version 1"
            ),
            Error::UnsupportedVersion { found } if *found > crate::format::FORMAT_VERSION => write!(
                f,
                "model blob format version {found} is newer than this library reads (up to {}); upgrade postag",
                crate::format::FORMAT_VERSION
            ),
            Error::UnsupportedVersion { found } => write!(
                f,
                "model blob format version {found} is not one this library reads ({} to {})",
                crate::format::MIN_FORMAT_VERSION,
                crate::format::FORMAT_VERSION
            ),
            Error::Truncated => f.write_str("model blob is truncated"),
            Error::ChecksumMismatch => {
                f.write_str("model blob is corrupt, cut short or too long (CRC-32 mismatch)")
            }
            Error::MalformedHeader => f.write_str("model blob header cannot be decoded"),
            Error::InvalidModel => f.write_str("model blob describes an inconsistent model"),
            Error::ScratchTooSmall => f.write_str("scratch buffer is too small for this call"),
            Error::TooManyTokens => f.write_str("too many tokens in one call"),
            Error::OutputTooSmall => f.write_str("output buffer is too small"),
            Error::InvalidUtf8 => f.write_str("token or text is not valid UTF-8"),
            Error::UnknownWord => {
                f.write_str("word not in the vocabulary and the model has no unknown-word entry")
            }
            Error::UnknownChar => {
                f.write_str("character not in the vocabulary and the model has no unknown-char entry")
            }
            Error::NotStreamable => f.write_str(
                "a caller-held state needs a unidirectional model (and one-token steps a model without CRF)",
            ),
            Error::StateSize => f.write_str("state buffer has the wrong length for this model"),
            Error::NonFiniteWeight {
                role,
                row,
                col,
                bits,
            } => {
                let value = f32::from_bits(*bits);
                match col {
                    None => write!(f, "model blob is invalid: the int8 scale of {role} row {row} is {value:e}")?,
                    Some(c) if role.is_vector() => write!(f, "model blob is invalid: {role}[{c}] is {value:e}")?,
                    Some(c) => write!(f, "model blob is invalid: {role}[{row}, {c}] is {value:e}")?,
                }
                if value.is_finite() {
                    f.write_str(", beyond 2^48, where f32 arithmetic could overflow")?;
                }
                Ok(())
            }
            Error::EmptyToken => f.write_str("a token is empty (zero bytes)"),
            Error::NonFiniteScore => f.write_str(
                "a score became NaN or infinite on this input: a NaN or infinite streaming state, or an arithmetic overflow",
            ),
            Error::NoSegmenter => f.write_str(
                "this model has no segmenter: it tags tokens, not raw text",
            ),
            Error::InvalidWindow => write!(
                f,
                "segmenter window must be 1 to {} characters",
                crate::segment::MAX_WINDOW
            ),
            Error::TextTooLong => f.write_str("raw text is longer than 4 GiB - 1 bytes"),
            Error::SentencesChanged => f.write_str(
                "the sentences changed between the passes over them (every clone of the iterator must yield the same sentences)",
            ),
            Error::BadTagName { tag } => write!(
                f,
                "model blob is invalid: the name of tag {tag} is empty, holds whitespace or a control character, or repeats an earlier tag's"
            ),
            Error::UnexpectedTensor {
                role,
                duplicate: true,
            } => write!(f, "model blob is invalid: tensor {role} appears twice"),
            Error::UnexpectedTensor {
                role,
                duplicate: false,
            } => write!(
                f,
                "model blob is invalid: tensor {role} does not belong to its segmenter"
            ),
        }
    }
}

impl core::error::Error for Error {}
