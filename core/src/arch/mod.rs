//! Instruction-set specific kernels, chosen at run time (with `std`) or at compile
//! time (without it). This module is the only place in the crate that uses `unsafe`.
//!
//! Levels:
//!
//! - [`Level::Scalar`]: the portable code of [`crate::kernels`] and [`crate::tensor`],
//!   which stays the definition of every kernel. Firmware runs it; on Cortex-M with the
//!   DSP extension its int8 x i16 products run the `SMLAD` kernels of `arm.rs` (chosen
//!   at compile time by the build script, identical results).
//! - [`Level::Sse2`] (x86-64): explicit 128-bit kernels, register tiles sharing each
//!   load (8 rows per input value in the product with one vector, 2 rows x 4 tokens in
//!   the block projection), one transposing reduction per 8 dot products.
//! - [`Level::Avx2`] (x86-64 with AVX2 and FMA): the same kernels 256 bits wide with
//!   fused multiply-adds; the LSTM gate activations are compiled for AVX2 too.
//! - [`Level::Avx512`] (x86-64 with AVX-512 F, BW, VL and VNNI): the floating-point
//!   tiles, the LSTM cell update and the int8 x i16 products 512 bits wide (`vpdpwssd`
//!   adds the exact products); the other kernels run their AVX2 code.
//! - [`Level::Neon`] (little-endian AArch64): the 128-bit kernels with NEON fused
//!   multiply-adds.
//!
//! Floating-point kernels sum in a different order than the scalar code (and FMA
//! rounds once per multiply-add), so their results differ from the scalar path in the
//! last bits. The int8 × i16 products (`W_ih`, `W_hh`) are exact integer arithmetic at every
//! level, hence identical. The activations give identical results at every level
//! (same element-wise operations in the same order; fused multiply-adds only where
//! they round as the scalar code's product and sum do: two places in `exp`).
//!
//! With `std`, the best level the processor supports is detected once and cached
//! (`POSTAG_SIMD=scalar|sse2|avx2|avx512|neon` in the environment picks another one the
//! processor supports). Without `std`,
//! the level is fixed at compile time by the target features (for example
//! `-C target-feature=+avx2,+fma`, or `-C target-cpu=native` on a machine with
//! AVX-512 VNNI); Cortex-M targets run the scalar path.
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

#[cfg(postag_neon)]
mod aarch64;
#[cfg(postag_simd)]
mod cell;
#[cfg(postag_simd)]
mod generic;
#[cfg(postag_x86)]
mod x86_64;

// Cortex-M with the DSP extension (selected by the build script); its kernels' logic is
// tested on every host through a portable model of the instructions.
#[cfg(any(postag_arm_dsp, all(test, feature = "std")))]
mod arm;
#[cfg(all(postag_arm_dsp, target_abi = "eabihf"))]
pub(crate) use arm::{cell_state, gate_product, max_magnitude_bits};
#[cfg(postag_arm_dsp)]
pub(crate) use arm::{crc32_reduce, max_u32_steps, strings_valid};

// The int8 x i16 block projection: a driver over integer tiles, one tile per level.
#[cfg(postag_neon)]
mod aarch64_int8;
// (Builds that read no panels, bare-metal ones, carry no panel code.)
#[cfg(all(postag_simd, not(target_os = "none")))]
mod i8_panels;
#[cfg(postag_simd)]
mod int8;
#[cfg(all(postag_x86, not(target_os = "none")))]
mod x86_64_i8_panels;
#[cfg(postag_x86)]
mod x86_64_int8;

/// Whether this build has vector levels (x86-64 with SSE2, little-endian AArch64 with
/// NEON): schedules that only pay off with vector kernels (the char LSTM's eight words
/// side by side) are compiled for these targets only, keeping firmware code small.
pub(crate) const HAS_VECTOR_LEVELS: bool = cfg!(postag_simd);

/// An instruction-set level of the kernels. The order ranks the levels of one
/// architecture from slowest to fastest (`Scalar` < `Sse2` < `Avx2` < `Avx512` on
/// x86-64, `Scalar` < `Neon` on AArch64); across architectures it means nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Level {
    /// Portable Rust; the definition of every kernel.
    Scalar = 1,
    /// x86-64 SSE2 (every x86-64 processor).
    Sse2 = 2,
    /// x86-64 AVX2 with FMA.
    Avx2 = 3,
    /// AArch64 NEON.
    Neon = 4,
    /// x86-64 AVX-512 (F, BW, VL, VNNI), with AVX2 and FMA.
    Avx512 = 5,
}

impl Level {
    /// Every level, slowest first.
    pub const ALL: [Level; 5] = [
        Level::Scalar,
        Level::Sse2,
        Level::Avx2,
        Level::Neon,
        Level::Avx512,
    ];

    /// Lower-case name, as `POSTAG_SIMD` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Level::Scalar => "scalar",
            Level::Sse2 => "sse2",
            Level::Avx2 => "avx2",
            Level::Neon => "neon",
            Level::Avx512 => "avx512",
        }
    }

    /// The level named `name` (as [`Level::name`] spells it).
    pub fn from_name(name: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.name() == name)
    }

    /// Whether this processor (or, without `std`, this build's target features)
    /// runs the level.
    pub fn is_supported(self) -> bool {
        match self {
            Level::Scalar => true,
            Level::Sse2 => cfg!(postag_x86),
            Level::Avx2 => avx2_supported(),
            Level::Neon => cfg!(postag_neon),
            Level::Avx512 => avx2_supported() && avx512_supported(),
        }
    }

    /// Whether the level runs the AVX2 kernels (its own, or, at `avx512`, those it has
    /// no wider version of).
    pub(crate) fn has_avx2(self) -> bool {
        matches!(self, Level::Avx2 | Level::Avx512)
    }

    /// Whether the level has [`gemv_pairs`], the int8 product on an interleaved i16 copy
    /// ([`interleave_pairs`]): the x86-64 vector levels.
    pub(crate) fn has_pairs(self) -> bool {
        matches!(self, Level::Sse2 | Level::Avx2 | Level::Avx512)
    }

    /// Whether [`gemv_pairs`] is faster than [`gemv_i8_i16`] even where the copy does
    /// not fit L1 and is read from L2: at `sse2`, whose row kernels sign-extend every
    /// weight byte in every product (an unpack and a shift per 8 bytes). On an AMD EPYC
    /// (Zen 5), int8 steps at `sse2` took 220 / 480 / 1,350 / 4,170 ns on the copy
    /// against 315 / 865 / 2,825 / 9,945 ns without (16, 32, 64, 128 inputs and
    /// units); at `avx2` and `avx512`, whose row kernels widen 16 bytes in one
    /// instruction, only a copy within L1 pays ([`crate::Cell::packed_len`]).
    pub(crate) fn pairs_from_l2(self) -> bool {
        self == Level::Sse2
    }
}

#[cfg(all(feature = "std", postag_x86))]
fn avx512_supported() -> bool {
    std::is_x86_feature_detected!("avx512f")
        && std::is_x86_feature_detected!("avx512bw")
        && std::is_x86_feature_detected!("avx512vl")
        && std::is_x86_feature_detected!("avx512vnni")
}

#[cfg(not(all(feature = "std", postag_x86)))]
fn avx512_supported() -> bool {
    cfg!(all(
        postag_x86,
        target_feature = "avx512f",
        target_feature = "avx512bw",
        target_feature = "avx512vl",
        target_feature = "avx512vnni"
    ))
}

#[cfg(all(feature = "std", postag_x86))]
fn avx2_supported() -> bool {
    std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
}

#[cfg(not(all(feature = "std", postag_x86)))]
fn avx2_supported() -> bool {
    cfg!(all(
        postag_x86,
        target_feature = "avx2",
        target_feature = "fma"
    ))
}

/// The fastest level this processor supports.
pub fn best() -> Level {
    Level::ALL
        .into_iter()
        .rev()
        .find(|l| l.is_supported())
        .unwrap_or(Level::Scalar)
}

#[cfg(feature = "std")]
mod cache {
    use super::Level;
    use core::sync::atomic::{AtomicU8, Ordering};
    use std::cell::Cell;

    /// The detected level, 0 until the first kernel call.
    static DETECTED: AtomicU8 = AtomicU8::new(0);

    std::thread_local! {
        /// A level forced on this thread (tests, benchmarks), 0 for none.
        static FORCED: Cell<u8> = const { Cell::new(0) };
    }

    fn detect() -> Level {
        let best = super::best();
        let level = match std::env::var("POSTAG_SIMD") {
            Ok(name) => Level::from_name(name.trim())
                .filter(|l| l.is_supported())
                .unwrap_or(best),
            Err(_) => best,
        };
        // Racing threads store the same value.
        DETECTED.store(level as u8, Ordering::Relaxed);
        level
    }

    fn from_u8(v: u8) -> Option<Level> {
        match v {
            1 => Some(Level::Scalar),
            2 => Some(Level::Sse2),
            3 => Some(Level::Avx2),
            4 => Some(Level::Neon),
            5 => Some(Level::Avx512),
            _ => None,
        }
    }

    #[inline]
    pub fn level() -> Level {
        // (While the thread's locals are being destroyed: no forced level.)
        let forced = FORCED.try_with(Cell::get).unwrap_or(0);
        let v = if forced != 0 {
            forced
        } else {
            DETECTED.load(Ordering::Relaxed)
        };
        match from_u8(v) {
            Some(l) => l,
            None => detect(),
        }
    }

    pub fn force(level: Option<Level>) -> bool {
        match level {
            Some(l) if !l.is_supported() => false,
            _ => FORCED
                .try_with(|f| f.set(level.map_or(0, |l| l as u8)))
                .is_ok(),
        }
    }
}

/// The level the kernels run at on this thread.
#[cfg(feature = "std")]
#[inline]
pub fn level() -> Level {
    cache::level()
}

/// The level the kernels run at: fixed by the build's target features.
#[cfg(not(feature = "std"))]
#[inline]
pub fn level() -> Level {
    COMPILED
}

/// The best level the compile-time target features allow (a constant, so that
/// builds without `std` keep only that level's code).
#[cfg(not(feature = "std"))]
const COMPILED: Level = if cfg!(all(
    postag_x86,
    target_feature = "avx2",
    target_feature = "fma",
    target_feature = "avx512f",
    target_feature = "avx512bw",
    target_feature = "avx512vl",
    target_feature = "avx512vnni"
)) {
    Level::Avx512
} else if cfg!(all(
    postag_x86,
    target_feature = "avx2",
    target_feature = "fma"
)) {
    Level::Avx2
} else if cfg!(postag_x86) {
    Level::Sse2
} else if cfg!(postag_neon) {
    Level::Neon
} else {
    Level::Scalar
};

/// Makes the kernels of the calling thread run at `level` (`None`: the detected
/// level again), for tests and benchmarks. Returns false, changing nothing, if the
/// processor does not support it.
#[cfg(feature = "std")]
#[doc(hidden)]
pub fn force(level: Option<Level>) -> bool {
    cache::force(level)
}

/// A row-major matrix as the kernels read it: row `r` starts at element `r * stride`
/// of `data`, and its first `cols` elements take part.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rows<'a> {
    /// Little-endian f32 values, or signed bytes if `int8`.
    pub data: &'a [u8],
    /// int8: one little-endian f32 scale per row.
    pub scales: &'a [u8],
    pub int8: bool,
    pub rows: usize,
    pub cols: usize,
    pub stride: usize,
}

impl Rows<'_> {
    /// Whether every row (and scale) lies within the slices.
    fn in_bounds(&self) -> bool {
        let size = if self.int8 { 1 } else { 4 };
        let end = match self.rows.checked_sub(1) {
            None => 0,
            Some(last) => match last
                .checked_mul(self.stride)
                .and_then(|s| s.checked_add(self.cols))
            {
                Some(e) => e,
                None => return false,
            },
        };
        self.cols <= self.stride
            && end.checked_mul(size).is_some_and(|b| b <= self.data.len())
            && (!self.int8
                || self
                    .rows
                    .checked_mul(4)
                    .is_some_and(|b| b <= self.scales.len()))
    }
}

/// A matrix in the panel layout (`crate::format::DType::F32Panels`) as the kernels read
/// it: panel `p` (rows `16 p..16 p + 16`) starts at float `p * stride` of `data`
/// (little-endian f32) and holds its rows column by column, 16 floats per column; the
/// first `cols` columns take part. The last panel's padding rows are read, never
/// written anywhere.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Panels<'a> {
    pub data: &'a [u8],
    pub rows: usize,
    pub cols: usize,
    pub stride: usize,
}

impl Panels<'_> {
    /// Whether every panel's first `cols` columns lie within `data`.
    fn in_bounds(&self) -> bool {
        const P: usize = crate::kernels::PANEL_ROWS;
        let end = match self.rows.div_ceil(P).checked_sub(1) {
            None => Some(0),
            Some(last) => last
                .checked_mul(self.stride)
                .and_then(|s| s.checked_add(self.cols.checked_mul(P)?)),
        };
        self.cols.checked_mul(P).is_some_and(|c| c <= self.stride)
            && end
                .and_then(|e| e.checked_mul(4))
                .is_some_and(|b| b <= self.data.len())
    }
}

/// An int8 matrix in the int8 panel layout (`crate::format::DType::I8Panels`) as the
/// kernels read it: `data` the bytes of `q` (panel `p`'s pair of columns `j` at byte
/// `(p * ceil(cols / 2) + j) * 32`), `scales` one little-endian f32 per row.
#[cfg(not(target_os = "none"))]
#[derive(Debug, Clone, Copy)]
pub(crate) struct I8Panels<'a> {
    pub data: &'a [u8],
    pub scales: &'a [u8],
    pub rows: usize,
    pub cols: usize,
}

/// `out[t * rows + r] = base + (scale_r * x_scales[t]) * (q_r . xq_t)` for the `b =
/// x_scales.len()` i16 inputs `xq_t = xq[t * cols..(t + 1) * cols]` (callers keep
/// `|xq| <= 16383`) on an int8 matrix in panels, where `base` is `bias[r]` if `bias` is
/// given, else what `out` holds there: [`project_i8_i16`]'s result on the same matrix in
/// rows, bit for bit (exact integer dot products, the same float operations after
/// them). Returns false, doing nothing, at the scalar level (whose caller runs the
/// portable definition, [`crate::kernels::panel_dot_i8_i16`]), for more than 1024
/// columns or if the shapes disagree.
#[cfg(not(target_os = "none"))]
#[inline]
#[cfg_attr(not(postag_simd), allow(unused_variables))]
pub(crate) fn project_i8_panels(
    w: &I8Panels<'_>,
    xq: &[i16],
    x_scales: &[f32],
    bias: Option<&[u8]>,
    out: &mut [f32],
) -> bool {
    const P: usize = crate::kernels::PANEL_ROWS;
    let (rows, cols, b) = (w.rows, w.cols, x_scales.len());
    let q_len = (rows.div_ceil(P) * P).checked_mul(2 * cols.div_ceil(2));
    let rows_bytes = rows.checked_mul(4);
    if cols == 0
        || cols > crate::kernels::I8_PANELS_MAX_COLS
        || q_len.is_none_or(|n| n > w.data.len())
        || rows_bytes.is_none_or(|n| n > w.scales.len())
        || b.checked_mul(cols).is_none_or(|n| xq.len() < n)
        || rows_bytes.is_none_or(|n| n > bias.map_or(usize::MAX, <[u8]>::len))
        || b.checked_mul(rows).is_none_or(|n| out.len() < n)
    {
        return false;
    }
    match level() {
        #[cfg(postag_x86)]
        Level::Avx512 => {
            // SAFETY: the level is supported; shapes checked above.
            unsafe { x86_64_i8_panels::project_i8_panels_avx512(w, xq, x_scales, bias, out) };
            true
        }
        #[cfg(postag_x86)]
        Level::Avx2 => {
            // SAFETY: the level is supported; shapes checked above.
            unsafe { x86_64_i8_panels::project_i8_panels_avx2(w, xq, x_scales, bias, out) };
            true
        }
        #[cfg(postag_x86)]
        Level::Sse2 => {
            // SAFETY: as above.
            unsafe { x86_64_i8_panels::project_i8_panels_sse2(w, xq, x_scales, bias, out) };
            true
        }
        #[cfg(postag_neon)]
        Level::Neon => {
            // SAFETY: as above.
            unsafe { aarch64_int8::project_i8_panels_neon(w, xq, x_scales, bias, out) };
            true
        }
        _ => false,
    }
}

/// Runs the level's entry point (`$avx512`, `$avx2`, `$sse2` or `$neon`, each an
/// `unsafe fn` taking `$args`) and evaluates to true, or to false at a level without
/// one (scalar). Callers check first what the entry points require besides the level:
/// shapes and bounds.
macro_rules! dispatch {
    ($level:expr, $avx512:path, $avx2:path, $sse2:path, $neon:path, ($($arg:expr),*)) => {
        match $level {
            #[cfg(postag_x86)]
            Level::Avx512 => {
                // SAFETY: the level is supported (checked when it was set), and the
                // caller checked the entry point's requirements on its arguments.
                unsafe { $avx512($($arg),*) };
                true
            }
            #[cfg(postag_x86)]
            Level::Avx2 => {
                // SAFETY: the level is supported (checked when it was set), and the
                // caller checked the entry point's requirements on its arguments.
                unsafe { $avx2($($arg),*) };
                true
            }
            #[cfg(postag_x86)]
            Level::Sse2 => {
                // SAFETY: as above; SSE2 is part of the compile-time target.
                unsafe { $sse2($($arg),*) };
                true
            }
            #[cfg(postag_neon)]
            Level::Neon => {
                // SAFETY: as above; NEON is part of the compile-time target.
                unsafe { $neon($($arg),*) };
                true
            }
            _ => {
                // No vector level here (bare metal): the arguments go unused.
                let _ = ($(&$arg),*);
                false
            }
        }
    };
}

/// The number of inputs `b = xs.len() / cols` of a block projection `out (b, rows) = xs
/// (b, cols) @ W^T (+ bias)`, if `out` and (`with_bias`) `bias` (little-endian f32)
/// are long enough.
fn block_inputs(
    rows: usize,
    cols: usize,
    xs: &[f32],
    bias: &[u8],
    out: &[f32],
    with_bias: bool,
) -> Option<usize> {
    let b = xs.len().checked_div(cols)?;
    ((!with_bias || rows.checked_mul(4).is_some_and(|n| bias.len() >= n))
        && b.checked_mul(rows).is_some_and(|n| out.len() >= n))
    .then_some(b)
}

/// Whether `xt (cols, 8)` and `out (rows, 8)` hold eight inputs and outputs side by side.
fn lanes_fit(rows: usize, cols: usize, xt: &[f32], out: &[f32]) -> bool {
    const L: usize = crate::kernels::BATCH_LANES;
    cols.checked_mul(L).is_some_and(|n| xt.len() >= n)
        && rows.checked_mul(L).is_some_and(|n| out.len() >= n)
}

/// Hints that `bytes` will be read soon: on x86-64 each of their cache lines is
/// prefetched into the caches (`prefetcht0`); elsewhere nothing is done. Reads nothing
/// and changes no result; for data a later step reads at an address known early (a
/// word's embedding row, while the char net runs).
#[inline]
pub(crate) fn prefetch(bytes: &[u8]) {
    #[cfg(postag_x86)]
    {
        const LINE: usize = 64;
        let start = bytes.as_ptr();
        // From the line that holds the first byte to the one that holds the last.
        let lines = (start as usize % LINE + bytes.len()).div_ceil(LINE);
        for k in 0..lines {
            x86_64::prefetch_line(start.wrapping_add(k * LINE));
        }
    }
    #[cfg(not(postag_x86))]
    let _ = bytes;
}

/// `out[r] += row r . x[..cols]` (times the row's scale for int8) for every row.
/// Returns false, doing nothing, at the scalar level or if the shapes disagree.
#[inline]
pub(crate) fn gemv(w: &Rows<'_>, x: &[f32], out: &mut [f32]) -> bool {
    let level = level();
    if level == Level::Scalar || !w.in_bounds() || x.len() < w.cols || out.len() < w.rows {
        return false;
    }
    dispatch!(
        level,
        x86_64::gemv_avx512,
        x86_64::gemv_avx2,
        x86_64::gemv_sse2,
        aarch64::gemv_neon,
        (w, x, out)
    )
}

/// `out (b, rows) = xs (b, cols) @ W^T + bias` with `b = xs.len() / cols`.
/// Returns false, doing nothing, at the scalar level or if the shapes disagree.
#[inline]
pub(crate) fn project(w: &Rows<'_>, xs: &[f32], bias: &[u8], out: &mut [f32]) -> bool {
    let level = level();
    let Some(b) = block_inputs(w.rows, w.cols, xs, bias, out, true) else {
        return false;
    };
    if level == Level::Scalar || !w.in_bounds() {
        return false;
    }
    dispatch!(
        level,
        x86_64::project_avx512,
        x86_64::project_avx2,
        x86_64::project_sse2,
        aarch64::project_neon,
        (w, xs, b, bias, out)
    )
}

/// `out[r * 8 + l] += row r . (lane l of xt)` for f32 rows and eight inputs side by
/// side ([`crate::kernels::gemm_lanes`]). Returns false, doing nothing, at the scalar
/// level, for int8 rows or if the shapes disagree.
#[inline]
pub(crate) fn gemm_lanes(w: &Rows<'_>, xt: &[f32], out: &mut [f32]) -> bool {
    let level = level();
    if level == Level::Scalar || w.int8 || !w.in_bounds() || !lanes_fit(w.rows, w.cols, xt, out) {
        return false;
    }
    // At `avx512` too: eight lanes are one AVX2 vector.
    dispatch!(
        level,
        x86_64::gemm_lanes_avx2,
        x86_64::gemm_lanes_avx2,
        x86_64::gemm_lanes_sse2,
        aarch64::gemm_lanes_neon,
        (w, xt, out)
    )
}

/// A packed f32 step's products and cell update ([`crate::PackedCell::step`]) in one
/// call at this thread's level: [`crate::kernels::gemv_panels`] of `z = [x, h]` (`cols
/// = x.len() + h.len()`, read in place) into `gates`, then [`lstm_cell`] of its first
/// `4 * c.len()` values, `c` and `h` (at `avx512`, 16 units as one 16-lane vector per
/// gate on every processor: `x86_64::packed_step_avx512`; the same results). Returns
/// false, doing nothing, at the scalar level or if the shapes disagree.
#[inline]
pub(crate) fn packed_step(
    panels: &[f32],
    x: &[f32],
    gates: &mut [f32],
    c: &mut [f32],
    h: &mut [f32],
) -> bool {
    const P: usize = crate::kernels::PANEL_ROWS;
    let level = level();
    let stride = x
        .len()
        .checked_add(h.len())
        .and_then(|cols| cols.checked_add(1))
        .and_then(|c| c.checked_mul(P));
    if level == Level::Scalar
        || !gates.len().is_multiple_of(P)
        || stride
            .and_then(|s| s.checked_mul(gates.len() / P))
            .is_none_or(|n| panels.len() < n)
        || c.len().checked_mul(4).is_none_or(|g| gates.len() < g)
        || h.len() != c.len()
    {
        return false;
    }
    dispatch!(
        level,
        x86_64::packed_step_avx512,
        x86_64::packed_step_avx2,
        x86_64::packed_step_sse2,
        aarch64::packed_step_neon,
        (panels, x, gates, c, h)
    )
}

/// [`crate::kernels::panel_gemv`] at this thread's level: `out[r] += row r . x[..cols]`.
/// Returns false, doing nothing, at the scalar level or if the shapes disagree.
#[inline]
pub(crate) fn panel_gemv(w: &Panels<'_>, x: &[f32], out: &mut [f32]) -> bool {
    let level = level();
    if level == Level::Scalar || !w.in_bounds() || x.len() < w.cols || out.len() < w.rows {
        return false;
    }
    dispatch!(
        level,
        x86_64::panel_gemv_avx512,
        x86_64::panel_gemv_avx2,
        x86_64::panel_gemv_sse2,
        aarch64::panel_gemv_neon,
        (w, x, out)
    )
}

/// Where each sum of [`panel_project`] starts: the products of an input's row land on
/// it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Start<'a> {
    /// The output's own values: `out += xs @ W^T`.
    Out,
    /// One bias row for every input: `4 * rows` bytes, f32 little-endian.
    Bias(&'a [u8]),
    /// A row of `rows` values for each input: input `t`'s sums start at `rows[t]`.
    Rows(&'a [&'a [f32]]),
}

/// The panel layout's [`crate::tensor::Matrix::project_block`] (from a bias),
/// [`crate::tensor::Matrix::gemm_add`] (from the output) and
/// [`crate::tensor::Matrix::gemm_from`] (from a row per input) at this thread's level:
/// `out (b, rows) = start + xs (b, cols) @ W^T`, with `b = xs.len() / cols`. Returns
/// false, doing nothing, at the scalar level or if the shapes disagree.
#[inline]
pub(crate) fn panel_project(w: &Panels<'_>, xs: &[f32], start: Start<'_>, out: &mut [f32]) -> bool {
    let level = level();
    let (bias, with_bias) = match start {
        Start::Bias(bias) => (bias, true),
        _ => (&[][..], false),
    };
    let Some(b) = block_inputs(w.rows, w.cols, xs, bias, out, with_bias) else {
        return false;
    };
    if let Start::Rows(rows) = start {
        if rows.len() < b || rows[..b].iter().any(|r| r.len() < w.rows) {
            return false;
        }
    }
    if level == Level::Scalar || !w.in_bounds() {
        return false;
    }
    dispatch!(
        level,
        x86_64::panel_project_avx512,
        x86_64::panel_project_avx2,
        x86_64::panel_project_sse2,
        aarch64::panel_project_neon,
        (w, xs, b, start, out)
    )
}

/// [`crate::kernels::panel_gemm_lanes`] at this thread's level. Returns false, doing
/// nothing, at the scalar level or if the shapes disagree.
#[inline]
pub(crate) fn panel_gemm_lanes(w: &Panels<'_>, xt: &[f32], out: &mut [f32]) -> bool {
    let level = level();
    if level == Level::Scalar || !w.in_bounds() || !lanes_fit(w.rows, w.cols, xt, out) {
        return false;
    }
    dispatch!(
        level,
        x86_64::panel_gemm_lanes_avx512,
        x86_64::panel_gemm_lanes_avx2,
        x86_64::panel_gemm_lanes_sse2,
        aarch64::panel_gemm_lanes_neon,
        (w, xt, out)
    )
}

/// The peak multiply-add rate of the level this thread runs at, for benchmarks to
/// state what share of it they reach: `rounds` rounds of independent multiply-add
/// vector chains (separate multiply and add where the level has no fused one; plain
/// Rust at the scalar level). Returns the sum of the results (use it, so that the work
/// is kept) and the floating-point operations done (2 per multiply-add per lane).
#[doc(hidden)]
pub fn fma_probe(rounds: usize, seed: f32) -> (f32, u64) {
    match level() {
        #[cfg(postag_x86)]
        // SAFETY: the level is supported (checked when it was set).
        Level::Avx512 => unsafe { x86_64::fma_probe_avx512(rounds, seed) },
        #[cfg(postag_x86)]
        // SAFETY: the level is supported (checked when it was set).
        Level::Avx2 => unsafe { x86_64::fma_probe_avx2(rounds, seed) },
        #[cfg(postag_x86)]
        // SAFETY: SSE2 is part of the compile-time target.
        Level::Sse2 => unsafe { x86_64::fma_probe_sse2(rounds, seed) },
        #[cfg(postag_neon)]
        // SAFETY: NEON is part of the compile-time target.
        Level::Neon => unsafe { aarch64::fma_probe_neon(rounds, seed) },
        _ => {
            // Eight-wide chains, as the compiler vectorizes the portable kernels.
            const CHAINS: usize = 12;
            let mut acc: [[f32; 8]; CHAINS] = core::array::from_fn(|k| [seed + k as f32 * 1e-3; 8]);
            for _ in 0..rounds {
                for chain in acc.iter_mut() {
                    for v in chain.iter_mut() {
                        *v = *v * 0.999_9 + 1e-4;
                    }
                }
            }
            let sum = acc.iter().flatten().sum();
            (sum, (rounds * CHAINS * 8 * 2) as u64)
        }
    }
}

/// Columns of the int8 probe's rows and inputs: a multiple of every level's int8 step.
const PROBE_COLS: usize = 256;

/// The int8 probe's weights (`R` rows, each -1, 0 or 1) and inputs (`T` of them, from
/// `seed - 4` to `seed + 4`), small enough that no i32 lane can overflow.
#[allow(clippy::type_complexity)] // Two arrays.
fn probe_values<const R: usize, const T: usize>(
    seed: i16,
) -> ([[i8; PROBE_COLS]; R], [[i16; PROBE_COLS]; T]) {
    let w = core::array::from_fn(|r| core::array::from_fn(|j| ((r + j) % 3) as i8 - 1));
    let x = core::array::from_fn(|t| {
        core::array::from_fn(|j| seed.wrapping_add(((t * 7 + j) % 9) as i16 - 4))
    });
    (w, x)
}

/// The int8 counterpart of [`fma_probe`]: the rate of the level's int8 x i16 tile of
/// the block projection (2 rows x 4 inputs; at the scalar level its dot product), over
/// rows and inputs of [`PROBE_COLS`] columns in the first-level cache (at the vector
/// levels each at the start of a cache line), `rounds` times.
/// Returns the sum of the tile's accumulated dot products (exact for `rounds` up to
/// 2^16 and `|seed|` up to 100) and the integer operations done (2 per multiply-add).
#[doc(hidden)]
pub fn int_probe(rounds: usize, seed: i16) -> (i64, u64) {
    match level() {
        #[cfg(postag_x86)]
        // SAFETY: the level is supported (checked when it was set).
        Level::Avx512 => unsafe { x86_64_int8::int_probe_avx512(rounds, seed) },
        #[cfg(postag_x86)]
        // SAFETY: the level is supported (checked when it was set).
        Level::Avx2 => unsafe { x86_64_int8::int_probe_avx2(rounds, seed) },
        #[cfg(postag_x86)]
        // SAFETY: SSE2 is part of the compile-time target.
        Level::Sse2 => unsafe { x86_64_int8::int_probe_sse2(rounds, seed) },
        #[cfg(postag_neon)]
        // SAFETY: NEON is part of the compile-time target.
        Level::Neon => unsafe { aarch64_int8::int_probe_neon(rounds, seed) },
        _ => {
            let (w, x) = probe_values::<2, 4>(seed);
            let w: [[u8; PROBE_COLS]; 2] = w.map(|r| r.map(|q| q as u8));
            let mut total = 0i64;
            for _ in 0..rounds {
                let (w, x) = core::hint::black_box((&w, &x));
                for w in w {
                    for x in x {
                        total = total.wrapping_add(crate::kernels::dot_i8_i16(w, x));
                    }
                }
            }
            (total, (rounds * 2 * 4 * PROBE_COLS * 2) as u64)
        }
    }
}

/// Longest int8 row whose integer dot products are exact at every level: each i32
/// lane then holds at most `8192 / 8 = 1024` products of `|q| <= 128` and
/// `|x| <= 16383`, and `128 * 16383 * 1024 < 2^31`. (Blob rows are at most
/// `MAX_DIM` = 4096 long.)
pub(crate) const MAX_EXACT_COLS: usize = 8192;

/// `out[r] += (scale_r * x_scale) * (q_r . xq)` for int8 rows, the dot product in
/// exact integer arithmetic (callers keep `|xq| <= 16383`): the same result as the
/// scalar path at every level. Returns false, doing nothing, at the scalar level or
/// if the shapes disagree.
#[inline]
#[cfg_attr(
    not(any(postag_x86, postag_neon, postag_arm_dsp)),
    allow(unused_variables)
)]
pub(crate) fn gemv_i8_i16(w: &Rows<'_>, xq: &[i16], x_scale: f32, out: &mut [f32]) -> bool {
    let level = level();
    if (level == Level::Scalar && !cfg!(postag_arm_dsp))
        || !w.int8
        || !w.in_bounds()
        || w.cols > MAX_EXACT_COLS
        || xq.len() < w.cols
        || out.len() < w.rows
    {
        return false;
    }
    match level {
        #[cfg(postag_x86)]
        Level::Avx512 => {
            // SAFETY: the level is supported; shapes checked above.
            unsafe { x86_64_int8::gemv_i8_i16_avx512(w, xq, x_scale, out) };
            true
        }
        #[cfg(postag_x86)]
        Level::Avx2 => {
            // SAFETY: the level is supported; shapes checked above.
            unsafe { x86_64::gemv_i8_i16_avx2(w, xq, x_scale, out) };
            true
        }
        #[cfg(postag_x86)]
        Level::Sse2 => {
            // SAFETY: as above.
            unsafe { x86_64_int8::gemv_i8_i16_sse2(w, xq, x_scale, out) };
            true
        }
        #[cfg(postag_neon)]
        Level::Neon => {
            // SAFETY: as above.
            unsafe { aarch64_int8::gemv_i8_i16_neon(w, xq, x_scale, out) };
            true
        }
        #[cfg(postag_arm_dsp)]
        // SAFETY: shapes checked above.
        Level::Scalar => unsafe { arm::gemv_i8_i16::<arm::Asm>(w, xq, x_scale, out) },
        _ => false,
    }
}

/// `out[t * rows + r] = base + (scale_r * x_scales[t]) * (q_r . xq_t)` for the `b =
/// x_scales.len()` i16 inputs `xq_t = xq[t * cols..(t + 1) * cols]` (callers keep
/// `|xq| <= 16383`), where `base` is `bias[r]` if `bias` is given, else what `out`
/// holds there (the products added), each dot product in exact integer arithmetic:
/// the scalar path's result at every level. Returns false, doing nothing, at the
/// scalar level (on Cortex-M with the DSP extension: when adding) or if the shapes
/// disagree.
#[inline]
#[cfg_attr(
    not(any(postag_x86, postag_neon, postag_arm_dsp)),
    allow(unused_variables)
)]
pub(crate) fn project_i8_i16(
    w: &Rows<'_>,
    xq: &[i16],
    x_scales: &[f32],
    bias: Option<&[u8]>,
    out: &mut [f32],
) -> bool {
    let level = level();
    let b = x_scales.len();
    if (level == Level::Scalar && (!cfg!(postag_arm_dsp) || bias.is_none()))
        || !w.int8
        || !w.in_bounds()
        || w.cols > MAX_EXACT_COLS
        || b.checked_mul(w.cols).is_none_or(|n| xq.len() < n)
        || w.rows
            .checked_mul(4)
            .is_none_or(|n| bias.is_some_and(|b| b.len() < n))
        || b.checked_mul(w.rows).is_none_or(|n| out.len() < n)
    {
        return false;
    }
    match level {
        #[cfg(postag_x86)]
        Level::Avx512 => {
            // SAFETY: the level is supported; shapes checked above.
            unsafe { x86_64_int8::project_i8_i16_avx512(w, xq, x_scales, bias, out) };
            true
        }
        #[cfg(postag_x86)]
        Level::Avx2 => {
            // SAFETY: the level is supported; shapes checked above.
            unsafe { x86_64_int8::project_i8_i16_avx2(w, xq, x_scales, bias, out) };
            true
        }
        #[cfg(postag_x86)]
        Level::Sse2 => {
            // SAFETY: as above.
            unsafe { x86_64_int8::project_i8_i16_sse2(w, xq, x_scales, bias, out) };
            true
        }
        #[cfg(postag_neon)]
        Level::Neon => {
            // SAFETY: as above.
            unsafe { aarch64_int8::project_i8_i16_neon(w, xq, x_scales, bias, out) };
            true
        }
        #[cfg(postag_arm_dsp)]
        Level::Scalar => match bias {
            // SAFETY: shapes checked above.
            Some(bias) => unsafe { arm::project_i8_i16::<arm::Asm>(w, xq, x_scales, bias, out) },
            None => false,
        },
        _ => false,
    }
}

/// [`crate::kernels::lstm_cell`], a vector of lanes at a time at every vector level
/// (`cell`); identical results at every level.
#[inline]
pub(crate) fn lstm_cell(gates: &mut [f32], c: &mut [f32], h: &mut [f32]) {
    lstm_cell_from(gates, c, h, false);
}

/// [`lstm_cell`] of `c.len() / hidden` cells side by side: `gates` (rows, 4 * hidden),
/// `c` and `h` (rows, hidden); at the vector levels in one call, whose passes over
/// every row's units let the processor overlap their activations
/// (`cell::lstm_cell`). Each row's results are [`crate::kernels::lstm_cell`]'s.
pub(crate) fn lstm_cell_rows(gates: &mut [f32], c: &mut [f32], h: &mut [f32], hidden: usize) {
    match level() {
        #[cfg(postag_x86)]
        // SAFETY: the level is supported.
        Level::Avx512 => unsafe { x86_64::lstm_cell_avx512(gates, c, h, hidden) },
        #[cfg(postag_x86)]
        // SAFETY: the level is supported.
        Level::Avx2 => unsafe { x86_64::lstm_cell_avx2(gates, c, h, hidden) },
        #[cfg(postag_x86)]
        // SAFETY: the level is supported.
        Level::Sse2 => unsafe { x86_64::lstm_cell_sse2(gates, c, h, hidden) },
        #[cfg(postag_neon)]
        // SAFETY: the level is supported.
        Level::Neon => unsafe { aarch64::lstm_cell_neon(gates, c, h, hidden) },
        _ => {
            let rows = gates.chunks_exact_mut(4 * hidden.max(1));
            for ((g, c), h) in rows
                .zip(c.chunks_exact_mut(hidden.max(1)))
                .zip(h.chunks_exact_mut(hidden.max(1)))
            {
                crate::kernels::lstm_cell(g, c, h);
            }
        }
    }
}

/// [`lstm_cell`], told whether `c` is the zero state (every element +0.0, not
/// checked), which the scalar path takes as [`crate::kernels::lstm_cell_from`] does:
/// identical results.
#[inline]
pub(crate) fn lstm_cell_from(gates: &mut [f32], c: &mut [f32], h: &mut [f32], zero_state: bool) {
    match level() {
        #[cfg(postag_x86)]
        // SAFETY: the level is supported.
        Level::Avx512 => unsafe { x86_64::lstm_cell_avx512(gates, c, h, c.len()) },
        #[cfg(postag_x86)]
        // SAFETY: the level is supported.
        Level::Avx2 => unsafe { x86_64::lstm_cell_avx2(gates, c, h, c.len()) },
        #[cfg(postag_x86)]
        // SAFETY: the level is supported.
        Level::Sse2 => unsafe { x86_64::lstm_cell_sse2(gates, c, h, c.len()) },
        #[cfg(postag_neon)]
        // SAFETY: the level is supported.
        Level::Neon => unsafe { aarch64::lstm_cell_neon(gates, c, h, c.len()) },
        _ => crate::kernels::lstm_cell_from(gates, c, h, zero_state),
    }
}

/// `x <- exp(x)` at this thread's level with the cell update's vector `exp` (for the
/// tests: [`crate::kernels::exp`]'s results). Returns false, doing nothing, at the
/// scalar level.
#[cfg(test)]
pub(crate) fn exp_each(x: &mut [f32]) -> bool {
    dispatch!(
        level(),
        x86_64::exp_avx512,
        x86_64::exp_avx2,
        x86_64::exp_sse2,
        aarch64::exp_neon,
        (x)
    )
}

/// Rows per block of the interleaved copy [`interleave_pairs`] makes.
const PAIR_ROWS: usize = 8;

/// i16 elements of the interleaved copy of `rows x cols` int8 rows ([`interleave_pairs`]).
pub(crate) fn pairs_len(rows: usize, cols: usize) -> usize {
    rows.div_ceil(PAIR_ROWS) * cols.div_ceil(2) * 2 * PAIR_ROWS
}

/// An i16 copy of int8 rows for [`gemv_pairs`], laid out for this thread's level, into
/// `out`: blocks of 8 rows, and in a block, for each pair of columns j, the 16 values
/// `w[r][2j], w[r][2j + 1]` of its rows in order (rows and columns past the matrix are
/// zeros). Returns false, writing nothing, at a level without [`gemv_pairs`] (all but
/// `sse2`, `avx2` and `avx512`), for f32 rows, rows longer than 1024 or if `out` is shorter than
/// [`pairs_len`].
pub(crate) fn interleave_pairs(w: &Rows<'_>, out: &mut [i16]) -> bool {
    let pairs = w.cols.div_ceil(2);
    let level = level();
    if !level.has_pairs()
        || !w.int8
        || !w.in_bounds()
        || w.cols > PAIRS_MAX_COLS
        || out.len() < pairs_len(w.rows, w.cols)
    {
        return false;
    }
    let out = &mut out[..pairs_len(w.rows, w.cols)];
    let block = pairs * 2 * PAIR_ROWS;
    // Rows and columns past the matrix: zeros (only the last block has such rows, an
    // odd column count leaves one per row).
    if !w.rows.is_multiple_of(PAIR_ROWS) {
        let last = out.len() - block;
        out[last..].fill(0);
    }
    // The whole blocks' first columns by vectors where the level has them.
    #[cfg(postag_x86)]
    let done = if level.has_avx2() {
        // SAFETY: AVX2 is supported (the level); bounds and lengths checked above.
        unsafe { x86_64_int8::interleave_pairs_avx2(w, out) }
    } else {
        // SAFETY: SSE2 is part of every x86-64 target; bounds and lengths checked above.
        unsafe { x86_64_int8::interleave_pairs_sse2(w, out) }
    };
    #[cfg(not(postag_x86))]
    let done = 0;
    for r in 0..w.rows {
        // Columns `done..` of the whole blocks' rows, every column of the others.
        let c0 = if r < w.rows / PAIR_ROWS * PAIR_ROWS {
            done
        } else {
            0
        };
        if c0 == w.cols {
            continue;
        }
        let row = &w.data[r * w.stride + c0..r * w.stride + w.cols];
        // Row r's pair j is at `16j + 2k` in its block (k = r mod 8).
        let at = r / PAIR_ROWS * block + 2 * (r % PAIR_ROWS) + 8 * c0;
        let slots = out[at..].chunks_mut(2 * PAIR_ROWS);
        for (slot, pair) in slots.zip(row.chunks(2)) {
            slot[0] = pair[0] as i8 as i16;
            slot[1] = pair.get(1).map_or(0, |&v| v as i8 as i16);
        }
    }
    true
}

/// Longest rows [`gemv_pairs`] takes: each i32 lane sums a whole row's products, at
/// most `128 * 16383 * 1024 < 2^31` in magnitude, so exactly.
pub(crate) const PAIRS_MAX_COLS: usize = 1024;

/// [`gemv_i8_i16`] on the interleaved copy `pairs` of `w` ([`interleave_pairs`]; `w`
/// gives the shape and the scales): the same result, each row's dot product summed in
/// one i32 lane, no horizontal sums. With `base`, `out[r] = base[r] + ...` instead of
/// `out[r] += ...` (the same sums, without copying `base` into `out` first). Returns
/// false, doing nothing, at a level without the kernel or if the shapes disagree.
#[inline]
#[cfg_attr(not(postag_x86), allow(unused_variables))]
pub(crate) fn gemv_pairs(
    pairs: &[i16],
    w: &Rows<'_>,
    xq: &[i16],
    x_scale: f32,
    base: Option<&[f32]>,
    out: &mut [f32],
) -> bool {
    // The shapes first: steps without a copy pass none.
    if !w.int8
        || !(1..=PAIRS_MAX_COLS).contains(&w.cols)
        || pairs.len() < pairs_len(w.rows, w.cols)
        || w.rows.checked_mul(4).is_none_or(|n| w.scales.len() < n)
        || xq.len() < w.cols
        || out.len() < w.rows
        || base.is_some_and(|b| b.len() < w.rows)
    {
        return false;
    }
    match level() {
        #[cfg(postag_x86)]
        Level::Avx2 | Level::Avx512 => {
            // SAFETY: the level (and so AVX2) is supported; shapes checked above.
            unsafe { x86_64_int8::gemv_pairs_avx2(pairs, w, xq, x_scale, base, out) };
            true
        }
        #[cfg(postag_x86)]
        Level::Sse2 => {
            // SAFETY: SSE2 is supported (the level); shapes checked above.
            unsafe { x86_64_int8::gemv_pairs_sse2(pairs, w, xq, x_scale, base, out) };
            true
        }
        _ => false,
    }
}

/// `out[t * rows + r] += (scale_r * x_scales[t]) * (q_r . xq_t)` for the `b =
/// x_scales.len()` i16 inputs `xq_t = xq[t * cols..(t + 1) * cols]`, on the
/// interleaved copy `pairs` of `w` ([`interleave_pairs`]): for each input
/// [`gemv_pairs`]' result, bit for bit, with each weight load serving several inputs.
/// Returns false, doing nothing, at a level without the kernel ([`has_gemm_pairs`])
/// or if the shapes disagree.
#[inline]
#[cfg_attr(not(postag_x86), allow(unused_variables))]
pub(crate) fn gemm_pairs(
    pairs: &[i16],
    w: &Rows<'_>,
    xq: &[i16],
    x_scales: &[f32],
    out: &mut [f32],
) -> bool {
    let b = x_scales.len();
    if !w.int8
        || !(1..=PAIRS_MAX_COLS).contains(&w.cols)
        || pairs.len() < pairs_len(w.rows, w.cols)
        || w.rows.checked_mul(4).is_none_or(|n| w.scales.len() < n)
        || b.checked_mul(w.cols).is_none_or(|n| xq.len() < n)
        || b.checked_mul(w.rows).is_none_or(|n| out.len() < n)
    {
        return false;
    }
    match level() {
        #[cfg(postag_x86)]
        Level::Avx512 => {
            // SAFETY: the level is supported; shapes checked above.
            unsafe { x86_64_int8::gemm_pairs_avx512(pairs, w, xq, x_scales, out) };
            true
        }
        #[cfg(postag_x86)]
        Level::Avx2 => {
            // SAFETY: the level is supported; shapes checked above.
            unsafe { x86_64_int8::gemm_pairs_avx2(pairs, w, xq, x_scales, out) };
            true
        }
        _ => false,
    }
}

/// Whether this thread's level has [`gemm_pairs`]: `avx2` and `avx512`.
pub(crate) fn has_gemm_pairs() -> bool {
    level().has_avx2()
}

/// `out[r] = scale_r * (row r [col0 .. col0 + x.len()] . x)` for int8 rows `r <
/// out.len()`, each dot product summed as [`crate::kernels::dot_i8`] sums it (eight
/// lanes, their pairwise sum, then the tail): [`crate::tensor::Matrix::row_dot`]'s
/// result. Returns false, doing nothing, at a level without the kernel, for f32 rows or
/// if the shapes disagree.
#[inline]
#[cfg_attr(not(postag_x86), allow(unused_variables))]
pub(crate) fn row_dots_i8(w: &Rows<'_>, col0: usize, x: &[f32], out: &mut [f32]) -> bool {
    let level = level();
    if !level.has_avx2()
        || !w.int8
        || !w.in_bounds()
        || col0.checked_add(x.len()).is_none_or(|n| n > w.cols)
        || out.len() > w.rows
    {
        return false;
    }
    match level {
        #[cfg(postag_x86)]
        Level::Avx2 | Level::Avx512 => {
            // SAFETY: the level (and so AVX2) is supported; shapes checked above.
            unsafe { x86_64::row_dots_i8_avx2(w, col0, x, out) };
            true
        }
        _ => false,
    }
}

/// [`crate::kernels::quantize_i16`], 8 lanes wide at the AVX2 and AVX-512 levels and
/// 4 at NEON; identical results at every level.
#[inline]
pub(crate) fn quantize_i16(x: &[f32], q: &mut [i16]) -> Option<f32> {
    match level() {
        #[cfg(postag_x86)]
        // SAFETY: the level (and so AVX2) is supported.
        Level::Avx2 | Level::Avx512 => unsafe { x86_64_int8::quantize_i16_avx2(x, q) },
        #[cfg(postag_neon)]
        // SAFETY: the level is supported.
        Level::Neon => unsafe { aarch64::quantize_i16_neon(x, q) },
        _ => crate::kernels::quantize_i16(x, q),
    }
}

#[cfg(all(test, feature = "std"))]
mod tests;
