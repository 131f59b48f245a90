//! A model's bytes together with the validated view that reads them.
//!
//! `postag_core::Model` borrows its blob. A Python object cannot carry a lifetime, so
//! `Loaded` owns both: the bytes in a heap allocation (a `BlobBuf`: 64-byte aligned)
//! that never moves and is never written, and a `Model` view into them, validated once.
//! The view is only handed out borrowed from `Loaded`, so it cannot outlive the bytes.

use std::ptr::NonNull;

use postag_core::format::BlobBuf;
use postag_core::segment::Segmenter;
use postag_core::{Error, Model};

/// A blob owned through a raw pointer (made from a `Box<BlobBuf>`, freed in `Drop`).
/// Unlike a `Box`, moving it asserts nothing about the uniqueness of the allocation, so
/// shared borrows of the bytes may stay alive across moves.
struct OwnedBytes(NonNull<BlobBuf>);

// SAFETY: the buffer is owned exclusively by this value and never written after
// construction; sending it or sharing `&OwnedBytes` across threads is like doing so
// with a `Box<BlobBuf>`.
unsafe impl Send for OwnedBytes {}
// SAFETY: as above: only shared, read-only access is ever given out.
unsafe impl Sync for OwnedBytes {}

impl OwnedBytes {
    fn new(bytes: BlobBuf) -> Self {
        OwnedBytes(NonNull::from(Box::leak(Box::new(bytes))))
    }

    /// The bytes, for as long as `'a`.
    ///
    /// # Safety
    ///
    /// The caller must not use the returned slice after this value is dropped.
    unsafe fn get<'a>(&self) -> &'a [u8] {
        // SAFETY: the pointer came from a live `Box<BlobBuf>` that only `Drop` frees,
        // and nothing writes through it; the caller bounds the lifetime.
        unsafe { self.0.as_ref() }.as_bytes()
    }
}

impl Drop for OwnedBytes {
    fn drop(&mut self) {
        // SAFETY: the pointer came from `Box::leak` in `new` and is freed only here,
        // once; `Loaded` drops every borrower (its `Model`) before this value.
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }
}

/// Where the bytes live: a static (the built-in model) or our own allocation.
enum Bytes {
    Static(&'static [u8]),
    Owned(OwnedBytes),
}

/// A validated model and the bytes it reads.
pub struct Loaded {
    // Fields drop in declaration order: the views go first, then the bytes they read.
    // (`Model` and `Segmenter` have no `Drop` of their own; the order is kept anyway.)
    /// Borrows `bytes`: `'static` is a lie kept inside this type; `model()` gives it
    /// out only for the lifetime of `&self`.
    model: Model<'static>,
    /// The blob's segmenter, as `Segmenter::from_bytes` found it (an invalid segmenter
    /// part does not stop the tagger from loading; the error is raised on raw text, as
    /// the CLI does). Borrows `bytes` like `model`.
    segmenter: Result<Option<Segmenter<'static>>, Error>,
    bytes: Bytes,
}

impl Loaded {
    /// Validates a blob that lives forever (the built-in model).
    pub fn borrowed(bytes: &'static [u8]) -> Result<Self, Error> {
        Ok(Loaded {
            model: Model::from_bytes(bytes)?,
            segmenter: Segmenter::from_bytes(bytes),
            bytes: Bytes::Static(bytes),
        })
    }

    /// Takes ownership of `bytes` and validates them.
    pub fn owned(bytes: BlobBuf) -> Result<Self, Error> {
        let owned = OwnedBytes::new(bytes);
        // SAFETY: the slice is used only by the `Model` and `Segmenter` stored next to
        // `owned` in the `Loaded` built below, which drops them before `owned` frees
        // the bytes (field order) and never gives them out for longer than a borrow of
        // itself. On error all are dropped here, the slice unused.
        let view: &'static [u8] = unsafe { owned.get() };
        let model = Model::from_bytes(view)?;
        Ok(Loaded {
            model,
            segmenter: Segmenter::from_bytes(view),
            bytes: Bytes::Owned(owned),
        })
    }

    /// The model view, borrowed from `self` (`Model` is covariant in its lifetime).
    pub fn model(&self) -> &Model<'_> {
        &self.model
    }

    /// The segmenter view, borrowed from `self` (`Segmenter` is covariant in its
    /// lifetime): `Ok(None)` when the blob has none, the core's error when its
    /// segmenter part is invalid.
    pub fn segmenter(&self) -> Result<Option<&Segmenter<'_>>, Error> {
        self.segmenter.as_ref().map(Option::as_ref).map_err(|e| *e)
    }

    /// The blob.
    pub fn bytes(&self) -> &[u8] {
        match &self.bytes {
            Bytes::Static(b) => b,
            // SAFETY: borrowed from `self`, so the bytes outlive the slice.
            Bytes::Owned(o) => unsafe { o.get() },
        }
    }
}
