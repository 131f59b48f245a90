//! The caller-owned model object: loading, dimensions, tag names.

use core::ffi::c_char;
use core::mem::{align_of, size_of, MaybeUninit};
use core::ptr::{addr_of_mut, copy_nonoverlapping};

use postag_core::Model;

use crate::checks::{self, In, OptionalValue, Out, Ref, Region, Value};
use crate::postag_status;

/// Bytes of a `postag_model` on a target with 64-bit pointers: exactly what the model
/// view takes there (checked at compile time).
#[cfg(target_pointer_width = "64")]
pub const POSTAG_MODEL_SIZE: usize = 2536;

/// Bytes of a `postag_model` on a target with 32-bit pointers (Cortex-M, wasm32): exactly
/// what the model view takes there (checked at compile time).
#[cfg(target_pointer_width = "32")]
pub const POSTAG_MODEL_SIZE: usize = 1320;

#[cfg(not(any(target_pointer_width = "32", target_pointer_width = "64")))]
compile_error!("postag_model is sized for 32-bit and 64-bit pointers only");

/// Number of 8-byte words in a `postag_model`.
pub const POSTAG_MODEL_WORDS: usize = POSTAG_MODEL_SIZE / 8;

/// A loaded model: a validated view of a blob, a few KB that the caller owns (a static,
/// a global, the stack). Opaque: fill it with `postag_model_load`.
///
/// It holds pointers into the blob, never copies of it: the blob must stay where it is,
/// unchanged, for as long as the model is used. The object may be copied (`memcpy`,
/// assignment) to another place; the copy works the same. It owns nothing, so there is
/// nothing to free. A zeroed object is recognized as not loaded
/// (`POSTAG_STATUS_MODEL_NOT_LOADED`).
#[repr(C)]
pub struct postag_model {
    /// Opaque storage, 8-byte aligned.
    pub opaque: [u64; POSTAG_MODEL_WORDS],
}

/// What `postag_model_load` stores inside a `postag_model`.
#[repr(C)]
pub(crate) struct Loaded {
    /// [`LOADED`] once loaded; first, so that a zeroed object reads as not loaded.
    magic: u64,
    /// The blob's bytes, for overlap checks against buffers a call writes.
    blob: Region,
    pub(crate) model: Model<'static>,
    /// The blob, for the segmenter (read by each raw-text call, so that a program
    /// that tags tokens only does not link the segmenter's code).
    bytes: &'static [u8],
}

/// "postag01": marks a `postag_model` that `postag_model_load` filled.
const LOADED: u64 = u64::from_le_bytes(*b"postag01");

// Exact, so that no byte of a caller's object is wasted: a change of the model view
// changes POSTAG_MODEL_SIZE (and the ABI) with it.
const _: () = assert!(size_of::<Loaded>() == size_of::<postag_model>());
const _: () = assert!(align_of::<Loaded>() <= align_of::<postag_model>());
const _: () = assert!(POSTAG_MODEL_SIZE.is_multiple_of(8));

/// A loaded model the call reads, and the region of its object.
pub(crate) struct ModelArg<'a> {
    pub(crate) loaded: &'a Loaded,
    pub(crate) object: Region,
}

impl ModelArg<'_> {
    /// The regions nothing the call writes may overlap: the object and the blob.
    pub(crate) fn reads(&self) -> [Region; 2] {
        [self.object, self.loaded.blob]
    }

    /// The blob's bytes.
    pub(crate) fn blob(&self) -> &'static [u8] {
        self.loaded.bytes
    }
}

/// The body of a call that reads a loaded model and writes one value: checks `model`
/// and `out` (which must not overlap the model), computes the value, and writes it on
/// success; at the boundary.
///
/// # Safety
/// `model` as in [`loaded`]; `out` valid for one write.
pub(crate) unsafe fn answer<T>(
    model: *const postag_model,
    out: *mut T,
    value: impl FnOnce(&Model<'static>) -> Result<T, postag_status>,
) -> postag_status {
    checks::boundary(|| {
        // SAFETY: forwarded caller's contract.
        let model = unsafe { loaded(model) }?;
        let out = Value::new(out)?;
        checks::disjoint(&[out.region()], &model.reads())?;
        let value = value(&model.loaded.model)?;
        // SAFETY: writable (caller's contract), overlaps no input.
        unsafe { out.set(value) };
        Ok(())
    })
}

/// Checks `model` and returns the model it holds.
///
/// # Safety
/// The caller's contract: `model` points to a `postag_model` that is zeroed or was
/// filled by `postag_model_load`, whose blob is still valid; nothing writes it meanwhile.
#[inline(never)]
pub(crate) unsafe fn loaded<'a>(model: *const postag_model) -> Result<ModelArg<'a>, postag_status> {
    let object = Ref::new(model)?;
    let region = object.region();
    // SAFETY: forwarded precondition.
    let object = unsafe { object.get() };
    if object.opaque[0] != LOADED {
        return Err(postag_status::ModelNotLoaded);
    }
    let loaded = (object as *const postag_model).cast::<Loaded>();
    Ok(ModelArg {
        // SAFETY: the marker is written only by `postag_model_load`, together with the
        // `Loaded` value it starts (size and alignment fit: see the assertions above).
        loaded: unsafe { &*loaded },
        object: region,
    })
}

/// Validates the blob (`blob_len` bytes at `blob`: framing, version, CRC-32, every
/// tensor and index, every f32 weight, bias, int8 row scale and CRF score finite) and
/// fills `*out` with a model that reads its weights in place.
///
/// A segmenter section, if the blob has one, is validated by the raw-text calls
/// (`postag_text_size` and the others) instead, so that a program that tags tokens only
/// does not carry the segmenter's code.
///
/// The blob is not copied: keep it where it is (flash, a static array, a mapped file),
/// unchanged, for as long as `*out` is used. It needs no particular alignment; a blob
/// with panels (format version 2 or 3) written by this version's builder tags faster at
/// a 64-byte-aligned address (e.g. `aligned_alloc(64, ...)`, `_Alignas(64)`), where each
/// panel column (int8: each pair of columns) lies within one cache line, read by vector
/// loads that do not straddle lines (same results at any address).
///
/// Errors: `POSTAG_STATUS_BAD_MAGIC`, `POSTAG_STATUS_UNSUPPORTED_VERSION` (a blob of a
/// newer or older format), `POSTAG_STATUS_TRUNCATED`, `POSTAG_STATUS_CHECKSUM_MISMATCH`,
/// `POSTAG_STATUS_MALFORMED_HEADER`, `POSTAG_STATUS_INVALID_MODEL`,
/// `POSTAG_STATUS_NON_FINITE_WEIGHT` (a NaN, an infinity, or a value beyond 2^48); `*out`
/// is then left as it was.
///
/// # Safety
/// `blob` must be valid for reads of `blob_len` bytes, unchanged, for as long as the
/// model is used; `out` must be valid for writes of one `postag_model`.
#[no_mangle]
pub unsafe extern "C" fn postag_model_load(
    blob: *const u8,
    blob_len: usize,
    out: *mut postag_model,
) -> postag_status {
    checks::boundary(|| {
        let bytes = In::new(blob, blob_len)?;
        let out = Value::new(out)?;
        let blob = bytes.region();
        checks::disjoint(&[out.region()], &[blob])?;
        // SAFETY: the caller keeps the blob valid and unchanged for as long as the model
        // is used, which is all the lifetime this library relies on.
        let bytes: &'static [u8] = unsafe { bytes.get() };
        // The CRC first, while the model takes no stack: its loop's buffer and the
        // model are never on the stack together.
        let verified = postag_core::format::verify(bytes)?;
        load_verified(verified, blob, out)
    })
}

/// The rest of [`postag_model_load`] after the CRC: the model built in place and
/// copied once, so that it is on the stack once (a microcontroller's is small), not
/// also in a `Loaded` written afterwards; a function of its own, whose frame with the
/// model exists only now.
#[inline(never)]
fn load_verified(
    verified: postag_core::format::Verified<'static>,
    blob: Region,
    out: Value<postag_model>,
) -> Result<(), postag_status> {
    let mut model = MaybeUninit::uninit();
    let model = Model::from_verified_in_place(verified, &mut model)?;
    let out = out.cast::<Loaded>().ptr();
    // SAFETY: `out` is writable (caller's contract, checked by the caller), overlaps no
    // input, and `Loaded` fits a `postag_model` (size and alignment asserted above);
    // each field is written through a raw pointer, never read.
    unsafe {
        addr_of_mut!((*out).magic).write(LOADED);
        addr_of_mut!((*out).blob).write(blob);
        copy_nonoverlapping(model, addr_of_mut!((*out).model), 1);
        addr_of_mut!((*out).bytes).write(verified.bytes());
    }
    Ok(())
}

/// The format version that a blob declares, without loading it: to tell a user which
/// version a refused blob has (`POSTAG_STATUS_UNSUPPORTED_VERSION`). Errors:
/// `POSTAG_STATUS_BAD_MAGIC` when the bytes do not start with the magic (or, for fewer
/// than 6, with its start), `POSTAG_STATUS_TRUNCATED` for fewer than 8 bytes that do.
///
/// # Safety
/// `blob` must be valid for reads of `blob_len` bytes; `version_out` for one write.
#[no_mangle]
pub unsafe extern "C" fn postag_blob_format_version(
    blob: *const u8,
    blob_len: usize,
    version_out: *mut u16,
) -> postag_status {
    checks::boundary(|| {
        let bytes = In::new(blob, blob_len)?;
        let out = Value::new(version_out)?;
        checks::disjoint(&[out.region()], &[bytes.region()])?;
        // SAFETY: readable for the call (caller's contract), not written.
        let bytes = unsafe { bytes.get() };
        let version = postag_core::format::declared_version(bytes)?;
        // SAFETY: writable (caller's contract), overlaps no input.
        unsafe { out.set(version) };
        Ok(())
    })
}

/// Dimensions and options of a loaded model.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct postag_model_info {
    /// Size of the blob in bytes.
    pub blob_len: usize,
    /// Floats of a caller-held state (`postag_state_len`); 0 for a bidirectional model.
    pub state_len: usize,
    /// Number of tags T: tag indices are 0..T-1.
    pub num_tags: u32,
    /// Words in the vocabulary (not counting an unknown-word row).
    pub vocab_words: u32,
    /// Rows of the word embedding.
    pub word_rows: u32,
    /// Word embedding size.
    pub word_dim: u32,
    /// Hidden size of each direction of the word LSTM.
    pub hidden: u32,
    /// Layers of the word LSTM (1 to 4).
    pub layers: u32,
    /// Characters in the char vocabulary; 0 without char features.
    pub vocab_chars: u32,
    /// Char embedding size; 0 without char features.
    pub char_dim: u32,
    /// Hidden size of each direction of the char LSTM; 0 without char features.
    pub char_hidden: u32,
    /// Layers of the char LSTM; 0 without char features.
    pub char_layers: u32,
    /// Characters of a word the char LSTM reads whole (longer words: the first and
    /// last halves); 0 without char features.
    pub max_word_chars: u32,
    /// Whether the word LSTM is bidirectional (then no caller-held state).
    pub bidirectional: bool,
    /// Whether the model decodes with Viterbi over CRF transitions (then no `postag_step`).
    pub crf: bool,
    /// Whether words missing from the vocabulary use an unknown-word row.
    pub unknown_word: bool,
    /// Whether words are lowercased before lookup.
    pub lowercase: bool,
    /// Whether ASCII digits are replaced by `0` before lookup.
    pub fold_digits: bool,
    /// Whether the model has char features.
    pub chars: bool,
    /// Whether the char LSTM is bidirectional.
    pub char_bidirectional: bool,
    /// Whether characters missing from the char vocabulary use an unknown-char row.
    pub unknown_char: bool,
    /// Whether `postag_tag_from_state` works (a unidirectional model).
    pub can_tag_from_state: bool,
    /// Whether `postag_step` works (a unidirectional model without CRF).
    pub can_step: bool,
}

impl postag_model_info {
    fn of(model: &Model<'_>) -> Self {
        let config = model.config();
        let chars = config.chars;
        let state = model.has_state();
        postag_model_info {
            blob_len: model.blob_len(),
            state_len: if state { model.state_len() } else { 0 },
            num_tags: config.tags,
            vocab_words: model.vocab_len() as u32,
            word_rows: config.words.rows,
            word_dim: config.words.dim,
            hidden: config.lstm.hidden,
            layers: config.lstm.layers.into(),
            vocab_chars: model.chars().map_or(0, |c| c.vocab_len() as u32),
            char_dim: chars.map_or(0, |c| c.dim),
            char_hidden: chars.map_or(0, |c| c.lstm.hidden),
            char_layers: chars.map_or(0, |c| c.lstm.layers.into()),
            max_word_chars: chars.map_or(0, |c| c.max_word_chars),
            bidirectional: config.lstm.bidirectional,
            crf: config.crf,
            unknown_word: config.words.unknown.is_some(),
            lowercase: config.words.normalize & postag_core::format::NORMALIZE_LOWERCASE != 0,
            fold_digits: config.words.normalize & postag_core::format::NORMALIZE_FOLD_DIGITS != 0,
            chars: chars.is_some(),
            char_bidirectional: chars.is_some_and(|c| c.lstm.bidirectional),
            unknown_char: chars.is_some_and(|c| c.unknown.is_some()),
            can_tag_from_state: state,
            can_step: state && !config.crf,
        }
    }
}

/// Writes the dimensions and options of `model` into `*info_out`.
///
/// # Safety
/// `model` must point to a loaded or zeroed `postag_model` whose blob is still valid;
/// `info_out` must be valid for one write.
#[no_mangle]
pub unsafe extern "C" fn postag_model_get_info(
    model: *const postag_model,
    info_out: *mut postag_model_info,
) -> postag_status {
    // SAFETY: forwarded caller's contract.
    unsafe { answer(model, info_out, |m| Ok(postag_model_info::of(m))) }
}

/// Writes the number of tags T of `model` into `*num_tags_out`.
///
/// # Safety
/// As `postag_model_get_info`.
#[no_mangle]
pub unsafe extern "C" fn postag_num_tags(
    model: *const postag_model,
    num_tags_out: *mut usize,
) -> postag_status {
    // SAFETY: forwarded caller's contract.
    unsafe { answer(model, num_tags_out, |m| Ok(m.num_tags())) }
}

/// The name of tag `tag` (0..T-1) where it lies in the blob: `*name_out` points to
/// `*name_len_out` bytes of UTF-8, **not** NUL-terminated, valid as long as the blob.
/// `POSTAG_STATUS_INVALID_ARGUMENT` if `tag` is out of range.
///
/// # Safety
/// As `postag_model_get_info`; `name_out` and `name_len_out` must be valid for one write.
#[no_mangle]
pub unsafe extern "C" fn postag_tag_name(
    model: *const postag_model,
    tag: usize,
    name_out: *mut *const u8,
    name_len_out: *mut usize,
) -> postag_status {
    checks::boundary(|| {
        // SAFETY: forwarded caller's contract.
        let model = unsafe { loaded(model) }?;
        let name = tag_name(&model.loaded.model, tag)?;
        let ptr_out = Value::new(name_out)?;
        let len_out = Value::new(name_len_out)?;
        checks::disjoint(&[ptr_out.region(), len_out.region()], &model.reads())?;
        // SAFETY: both writable (caller's contract), overlapping nothing else.
        unsafe {
            ptr_out.set(name.as_ptr());
            len_out.set(name.len());
        }
        Ok(())
    })
}

/// Copies the name of tag `tag` (0..T-1) into `buf` with a terminating NUL, and its
/// length without the NUL into `*name_len_out` (`name_len_out` may be NULL).
/// `POSTAG_STATUS_OUTPUT_TOO_SMALL` (nothing written) if `buf_len` is not at least
/// the length plus one; `POSTAG_STATUS_INVALID_ARGUMENT` if `tag` is out of range.
///
/// # Safety
/// As `postag_model_get_info`; `buf` must be valid for writes of `buf_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn postag_tag_name_copy(
    model: *const postag_model,
    tag: usize,
    buf: *mut c_char,
    buf_len: usize,
    name_len_out: *mut usize,
) -> postag_status {
    checks::boundary(|| {
        // SAFETY: forwarded caller's contract.
        let model = unsafe { loaded(model) }?;
        let name = tag_name(&model.loaded.model, tag)?.as_bytes();
        let buf = Out::new(buf.cast::<u8>(), buf_len)?;
        let len_out = OptionalValue::new(name_len_out)?;
        checks::disjoint(&[buf.region(), len_out.region()], &model.reads())?;
        if buf_len <= name.len() {
            return Err(postag_status::OutputTooSmall);
        }
        // SAFETY: writable (caller's contract), overlapping nothing else.
        unsafe {
            let buf = buf.get();
            buf[..name.len()].copy_from_slice(name);
            buf[name.len()] = 0;
            len_out.set(name.len());
        }
        Ok(())
    })
}

fn tag_name<'a>(model: &Model<'a>, tag: usize) -> Result<&'a str, postag_status> {
    if tag >= model.num_tags() {
        return Err(postag_status::InvalidArgument);
    }
    Ok(model.tag_name(tag))
}
