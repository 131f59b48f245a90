//! The C ABI of postag: `libpostag.a` (and a shared library) with the header
//! `include/postag.h`, generated from this crate by cbindgen.
//!
//! Conventions (the root README's "C API" section says the same for C readers):
//!
//! - Every function returns a [`postag_status`]; `POSTAG_STATUS_OK` is 0.
//! - Inputs come first, outputs last; every pointer to a buffer is followed by its
//!   length (a pointer to one value, a `*_out` result or the model, has none).
//! - Outputs are written only when the call returns `POSTAG_STATUS_OK` (one exception:
//!   `postag_segment`'s `tokens_out` on `POSTAG_STATUS_NON_FINITE_SCORE`, a check that
//!   no valid blob fails).
//! - A `const` pointer is never written through.
//! - The caller owns all memory (the model object, the scratch buffer, the outputs);
//!   the library never allocates (but once, in a host build: the first kernel call reads
//!   `POSTAG_SIMD`, and when it is set `std::env::var` allocates a copy of its value).
//! - A NULL pointer is accepted only with a length of 0 (or where a function says
//!   "may be NULL"); buffers written by a call must not overlap anything else it is
//!   given (`POSTAG_STATUS_INVALID_ARGUMENT`).
//!
//! Every pointer a caller hands in is checked by the helpers of the private `checks`
//! module and nowhere else.
//!
//! Panic policy: the core is panic-free on any input (every blob is validated once,
//! tagging indexes only within validated bounds), so no panic is expected here. With the
//! default `std` feature a panic would still be caught at the boundary and returned as
//! `POSTAG_STATUS_INTERNAL_ERROR`; without it (firmware builds, `no_std`) the panic
//! handler halts the processor with a permanently undefined instruction (a HardFault on
//! Cortex-M, which the firmware's fault handler sees) and never unwinds into C. A blob
//! changed after loading is not validated again and can panic; caught, the panic's
//! message still goes to Rust's panic hook (by default, printed on standard error).
#![cfg_attr(all(not(feature = "std"), not(test)), no_std)]
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![allow(non_camel_case_types)]

mod checks;
mod model;
mod segment;
mod status;
mod tag;
mod token;

pub use model::{
    postag_blob_format_version, postag_model, postag_model_get_info, postag_model_info,
    postag_model_load, postag_num_tags, postag_tag_name, postag_tag_name_copy, POSTAG_MODEL_SIZE,
    POSTAG_MODEL_WORDS,
};
pub use segment::{
    postag_expand, postag_segment, postag_segment_token, postag_tag_text, postag_text_counts,
    postag_text_size, postag_text_sizes, postag_text_token, POSTAG_MAX_WINDOW,
    POSTAG_SEGMENT_WINDOW, POSTAG_TOKEN_CUT, POSTAG_TOKEN_MULTIWORD, POSTAG_TOKEN_SENTENCE_END,
};
pub use status::{
    postag_status, postag_status_message, postag_status_str, POSTAG_STATUS_MESSAGE_MAX,
};
pub use tag::{
    postag_scratch_size, postag_state_len, postag_step, postag_tag, postag_tag_from_state,
    POSTAG_MAX_TOKENS,
};
pub use token::postag_token;

/// Major version of the library (semantic versioning).
pub const POSTAG_VERSION_MAJOR: u32 = 0;
/// Minor version of the library.
pub const POSTAG_VERSION_MINOR: u32 = 1;
/// Patch version of the library.
pub const POSTAG_VERSION_PATCH: u32 = 0;
/// The newest model blob format version this library reads: it reads versions 1 to 3
/// (version 2 adds the panel layout of f32 weights, version 3 that of int8 weights);
/// built for a bare-metal target (Cortex-M), version 1 only.
pub const POSTAG_FORMAT_VERSION: u16 = 3;

const VERSION: &core::ffi::CStr =
    match core::ffi::CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes())
    {
        Ok(s) => s,
        Err(_) => panic!("the package version contains a NUL byte"),
    };

/// Parses a decimal version component at compile time.
const fn parse_component(s: &str) -> u32 {
    let bytes = s.as_bytes();
    let mut value = 0u32;
    let mut i = 0;
    while i < bytes.len() {
        assert!(
            bytes[i].is_ascii_digit(),
            "version component is not a number"
        );
        value = value * 10 + (bytes[i] - b'0') as u32;
        i += 1;
    }
    value
}

// The header's version macros are literals (cbindgen copies them); these keep them
// equal to Cargo.toml, so a version bump that forgets them does not build.
const _: () = assert!(POSTAG_VERSION_MAJOR == parse_component(env!("CARGO_PKG_VERSION_MAJOR")));
const _: () = assert!(POSTAG_VERSION_MINOR == parse_component(env!("CARGO_PKG_VERSION_MINOR")));
const _: () = assert!(POSTAG_VERSION_PATCH == parse_component(env!("CARGO_PKG_VERSION_PATCH")));
const _: () = assert!(POSTAG_FORMAT_VERSION == postag_core::FORMAT_VERSION);

/// The library version, `"MAJOR.MINOR.PATCH"` as in `Cargo.toml`: a static,
/// NUL-terminated string.
#[no_mangle]
pub extern "C" fn postag_version() -> *const core::ffi::c_char {
    VERSION.as_ptr()
}

/// The SIMD level the library's kernels run at on the calling thread, as a static,
/// NUL-terminated string: `"scalar"`, `"sse2"`, `"avx2"`, `"avx512"` or `"neon"`. With
/// the default build the fastest level the processor supports, detected at the first
/// call that needs it (the environment variable `POSTAG_SIMD` picks another it
/// supports); without `std` (firmware) fixed by the target's features (`"scalar"` on
/// Cortex-M). Scores may differ between levels in the last bits of f32 models (see
/// `core/README.md`, "SIMD kernels").
#[no_mangle]
pub extern "C" fn postag_simd_level() -> *const core::ffi::c_char {
    use postag_core::arch::{level, Level};
    let name = match level() {
        Level::Scalar => c"scalar",
        Level::Sse2 => c"sse2",
        Level::Avx2 => c"avx2",
        Level::Avx512 => c"avx512",
        Level::Neon => c"neon",
        _ => c"unknown",
    };
    name.as_ptr()
}

/// Halts: no unwinding into C. Never reached in practice (the core is panic-free).
#[cfg(all(not(feature = "std"), not(test)))]
#[panic_handler]
fn halt(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {
        #[cfg(target_arch = "arm")]
        // SAFETY: `udf` only raises an undefined-instruction exception; it touches no
        // memory. The fault handler decides what happens next.
        unsafe {
            core::arch::asm!("udf #0xfe", options(nomem, nostack))
        };
        core::hint::spin_loop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(feature = "std")]
    fn simd_level_names_the_level_of_the_calling_thread() {
        use postag_core::arch::{self, Level};
        // SAFETY: postag_simd_level returns a static NUL-terminated string.
        let name = || unsafe { core::ffi::CStr::from_ptr(postag_simd_level()) };
        assert_eq!(name().to_str().unwrap(), arch::level().name());
        for level in Level::ALL.into_iter().filter(|l| l.is_supported()) {
            assert!(arch::force(Some(level)));
            assert_eq!(name().to_str().unwrap(), level.name());
        }
        arch::force(None);
    }

    #[test]
    fn version_string_is_cargo_version() {
        // SAFETY: postag_version returns a static NUL-terminated string.
        let v = unsafe { core::ffi::CStr::from_ptr(postag_version()) };
        assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
        assert_eq!(
            format!("{POSTAG_VERSION_MAJOR}.{POSTAG_VERSION_MINOR}.{POSTAG_VERSION_PATCH}"),
            env!("CARGO_PKG_VERSION")
        );
    }
}
