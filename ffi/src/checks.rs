//! Every pointer a caller hands in is checked here, and only here, before it becomes a
//! reference: NULL (allowed only with length 0, or where an argument is optional),
//! alignment, a byte length that fits the address space, and no overlap between a
//! buffer the call writes and anything else the call is given.
//!
//! The C caller's side of the contract, which no check can see, is that a non-NULL
//! pointer is valid for its stated length for the duration of the call.

use core::mem::size_of;

use crate::postag_status;
use crate::token::postag_token;

/// Runs the body of an exported function and turns its result into a status.
///
/// With `std`, a panic (never expected: the core is panic-free) is caught here and
/// becomes `POSTAG_STATUS_INTERNAL_ERROR` instead of unwinding into C.
pub(crate) fn boundary(body: impl FnOnce() -> Result<(), postag_status>) -> postag_status {
    #[cfg(feature = "std")]
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body))
        .unwrap_or(Err(postag_status::InternalError));
    #[cfg(not(feature = "std"))]
    let result = body();
    match result {
        Ok(()) => postag_status::Ok,
        Err(status) => status,
    }
}

/// The bytes an argument occupies, for overlap checks; empty for a zero length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Region {
    start: usize,
    len: usize,
}

impl Region {
    const EMPTY: Region = Region { start: 0, len: 0 };

    fn overlaps(self, other: Region) -> bool {
        // `region` guarantees start + len does not overflow.
        self.len != 0
            && other.len != 0
            && self.start < other.start + other.len
            && other.start < self.start + self.len
    }
}

/// Checks `len` elements at `ptr` and returns the bytes they span.
fn region<T>(ptr: *const T, len: usize) -> Result<Region, postag_status> {
    if len == 0 {
        return Ok(Region::EMPTY);
    }
    if ptr.is_null() {
        return Err(postag_status::NullPointer);
    }
    if !ptr.is_aligned() {
        return Err(postag_status::InvalidArgument);
    }
    let bytes = len
        .checked_mul(size_of::<T>())
        .filter(|&b| b <= isize::MAX as usize)
        .ok_or(postag_status::InvalidArgument)?;
    let start = ptr as usize;
    start
        .checked_add(bytes)
        .ok_or(postag_status::InvalidArgument)?;
    Ok(Region { start, len: bytes })
}

/// `Ok` if no region in `writes` overlaps another one of `writes` or one of `reads`.
pub(crate) fn disjoint(writes: &[Region], reads: &[Region]) -> Result<(), postag_status> {
    for (i, w) in writes.iter().enumerate() {
        let clash = writes[i + 1..].iter().chain(reads).any(|r| w.overlaps(*r));
        if clash {
            return Err(postag_status::InvalidArgument);
        }
    }
    Ok(())
}

/// `len` elements the call reads.
pub(crate) struct In<T> {
    ptr: *const T,
    len: usize,
    region: Region,
}

impl<T> In<T> {
    pub(crate) fn new(ptr: *const T, len: usize) -> Result<Self, postag_status> {
        Ok(In {
            ptr,
            len,
            region: region(ptr, len)?,
        })
    }

    pub(crate) fn region(&self) -> Region {
        self.region
    }

    /// # Safety
    /// The caller's contract: `ptr` is valid for reads of `len` elements during `'a`,
    /// and nothing writes them meanwhile.
    pub(crate) unsafe fn get<'a>(self) -> &'a [T] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: `region` checked non-NULL, alignment and a byte length within
        // isize::MAX; validity for reads is this function's own precondition.
        unsafe { core::slice::from_raw_parts(self.ptr, self.len) }
    }
}

/// `len` elements the call may write.
pub(crate) struct Out<T> {
    ptr: *mut T,
    len: usize,
    region: Region,
}

impl<T> Out<T> {
    pub(crate) fn new(ptr: *mut T, len: usize) -> Result<Self, postag_status> {
        Ok(Out {
            ptr,
            len,
            region: region(ptr, len)?,
        })
    }

    /// An output the caller may leave out: `None` for a NULL pointer with length 0.
    pub(crate) fn optional(ptr: *mut T, len: usize) -> Result<Option<Self>, postag_status> {
        if ptr.is_null() && len == 0 {
            return Ok(None);
        }
        Self::new(ptr, len).map(Some)
    }

    pub(crate) fn region(&self) -> Region {
        self.region
    }

    /// # Safety
    /// The caller's contract: `ptr` is valid for reads and writes of `len` elements
    /// during `'a`, and [`disjoint`] has accepted this region against every other
    /// argument of the call.
    pub(crate) unsafe fn get<'a>(self) -> &'a mut [T] {
        if self.len == 0 {
            return &mut [];
        }
        // SAFETY: `region` checked non-NULL, alignment and a byte length within
        // isize::MAX; validity and exclusivity are this function's own precondition.
        unsafe { core::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

/// The region of an optional output.
pub(crate) fn region_of_optional<T>(out: &Option<Out<T>>) -> Region {
    out.as_ref().map_or(Region::EMPTY, Out::region)
}

/// One value the call reads.
pub(crate) struct Ref<T> {
    ptr: *const T,
}

impl<T> Ref<T> {
    pub(crate) fn new(ptr: *const T) -> Result<Self, postag_status> {
        region(ptr, 1)?;
        Ok(Ref { ptr })
    }

    pub(crate) fn region(&self) -> Region {
        Region {
            start: self.ptr as usize,
            len: size_of::<T>(),
        }
    }

    /// # Safety
    /// The caller's contract: `ptr` points to an initialized `T` that nothing writes
    /// during `'a`.
    pub(crate) unsafe fn get<'a>(self) -> &'a T {
        // SAFETY: `region` checked non-NULL and alignment; the rest is this
        // function's own precondition.
        unsafe { &*self.ptr }
    }
}

/// One value the call writes on success.
pub(crate) struct Value<T> {
    ptr: *mut T,
}

impl<T> Value<T> {
    pub(crate) fn new(ptr: *mut T) -> Result<Self, postag_status> {
        region(ptr, 1)?;
        Ok(Value { ptr })
    }

    pub(crate) fn region(&self) -> Region {
        Region {
            start: self.ptr as usize,
            len: size_of::<T>(),
        }
    }

    /// The same place seen as a `U` that fits inside a `T` (checked at compile time).
    pub(crate) fn cast<U>(self) -> Value<U> {
        const {
            assert!(size_of::<U>() <= size_of::<T>());
            assert!(core::mem::align_of::<U>() <= core::mem::align_of::<T>());
        }
        Value {
            ptr: self.ptr.cast(),
        }
    }

    /// The checked pointer, for a value written a part at a time.
    pub(crate) fn ptr(&self) -> *mut T {
        self.ptr
    }

    /// Writes `value` without reading or dropping what was there (it may be
    /// uninitialized memory).
    ///
    /// # Safety
    /// The caller's contract: `ptr` is valid for a write of one `T`, and [`disjoint`]
    /// has accepted this region against every other argument of the call.
    pub(crate) unsafe fn set(self, value: T) {
        // SAFETY: `region` checked non-NULL and alignment; validity is this
        // function's own precondition.
        unsafe { self.ptr.write(value) }
    }
}

/// One value the call writes on success, or NULL for "not wanted".
pub(crate) struct OptionalValue<T>(Option<Value<T>>);

impl<T> OptionalValue<T> {
    pub(crate) fn new(ptr: *mut T) -> Result<Self, postag_status> {
        if ptr.is_null() {
            return Ok(OptionalValue(None));
        }
        Value::new(ptr).map(|v| OptionalValue(Some(v)))
    }

    pub(crate) fn region(&self) -> Region {
        self.0.as_ref().map_or(Region::EMPTY, Value::region)
    }

    /// # Safety
    /// As [`Value::set`], when the pointer is not NULL.
    pub(crate) unsafe fn set(self, value: T) {
        if let Some(v) = self.0 {
            // SAFETY: forwarded precondition.
            unsafe { v.set(value) }
        }
    }
}

/// A token whose bytes were checked by [`tokens`]; only that function makes one.
#[repr(transparent)]
pub(crate) struct Token(postag_token);

impl AsRef<[u8]> for Token {
    fn as_ref(&self) -> &[u8] {
        if self.0.len == 0 {
            return &[];
        }
        // SAFETY: a `Token` exists only inside a slice returned by `tokens`, which
        // checked this pointer (non-NULL, byte length within isize::MAX, not overlapping
        // any buffer the call writes); the caller's contract keeps the bytes valid and
        // unchanged for the call, which is as long as that slice lives.
        unsafe { core::slice::from_raw_parts(self.0.ptr, self.0.len) }
    }
}

/// Checks `n` tokens at `ptr`: the array and every token's bytes, each against the
/// regions the call writes.
///
/// # Safety
/// The caller's contract: `ptr` is valid for reads of `n` tokens, and each token's
/// `ptr` for reads of its `len` bytes, during `'a`; nothing writes them meanwhile.
pub(crate) unsafe fn tokens<'a>(
    ptr: *const postag_token,
    n: usize,
    writes: &[Region],
) -> Result<&'a [Token], postag_status> {
    let array = In::new(ptr, n)?;
    disjoint(writes, &[array.region()])?;
    // SAFETY: forwarded precondition; the array overlaps nothing the call writes.
    let array = unsafe { array.get() };
    for token in array {
        let bytes = region(token.ptr, token.len)?;
        disjoint(writes, &[bytes])?;
    }
    let (data, len) = (array.as_ptr().cast::<Token>(), array.len());
    if len == 0 {
        return Ok(&[]);
    }
    // SAFETY: `Token` is `repr(transparent)` over `postag_token`, so the array is also
    // a valid `[Token]` of the same length, borrowed for the same `'a`.
    Ok(unsafe { core::slice::from_raw_parts(data, len) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_overlap_only_when_they_share_a_byte() {
        let r = |start, len| Region { start, len };
        assert!(r(10, 4).overlaps(r(13, 1)));
        assert!(!r(10, 4).overlaps(r(14, 1)));
        assert!(!r(10, 4).overlaps(r(6, 4)));
        assert!(r(10, 4).overlaps(r(0, 100)));
        assert!(!r(10, 0).overlaps(r(0, 100)));
    }

    #[test]
    fn null_and_misaligned_and_huge_pointers_are_refused() {
        assert_eq!(
            region(core::ptr::null::<f32>(), 1),
            Err(postag_status::NullPointer)
        );
        assert_eq!(region(core::ptr::null::<f32>(), 0), Ok(Region::EMPTY));
        let buf = [0f32; 4];
        let odd = (buf.as_ptr() as *const u8).wrapping_add(1).cast::<f32>();
        assert_eq!(region(odd, 1), Err(postag_status::InvalidArgument));
        assert_eq!(
            region(buf.as_ptr(), usize::MAX / 2),
            Err(postag_status::InvalidArgument)
        );
    }

    #[cfg(feature = "std")]
    #[test]
    fn a_panic_becomes_a_status_instead_of_unwinding_into_c() {
        assert_eq!(boundary(|| Ok(())), postag_status::Ok);
        assert_eq!(
            boundary(|| Err(postag_status::StateSize)),
            postag_status::StateSize
        );
        let status = boundary(|| panic!("a bug"));
        assert_eq!(status, postag_status::InternalError);
    }

    #[test]
    fn writes_must_not_overlap_each_other_or_reads() {
        let r = |start, len| Region { start, len };
        assert!(disjoint(&[r(0, 4), r(4, 4)], &[r(8, 8)]).is_ok());
        assert!(disjoint(&[r(0, 4), r(3, 4)], &[]).is_err());
        assert!(disjoint(&[r(0, 4)], &[r(2, 1)]).is_err());
        // Reads may overlap each other.
        assert!(disjoint(&[], &[r(0, 4), r(0, 4)]).is_ok());
    }
}
