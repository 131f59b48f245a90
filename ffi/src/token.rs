//! The token type of the C API.

/// A token: `len` bytes of UTF-8 at `ptr` (no NUL needed; `ptr` may be NULL only when
/// `len` is 0). The bytes are read during the call only. An empty token (`len` 0) is
/// `POSTAG_STATUS_EMPTY_TOKEN`; any other is a word, whitespace only too.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct postag_token {
    /// First byte of the token.
    pub ptr: *const u8,
    /// Number of bytes.
    pub len: usize,
}
