//! AArch64 (little-endian) NEON kernels. NEON is part of every AArch64 target, so
//! the entry points need no run-time detection; they still carry
//! `#[target_feature(enable = "neon")]` so that the generic kernels compile with it.

use core::arch::aarch64::*;

use super::cell::{self, CellMath};
use super::generic::{self, F32Le, Vector, I8, PROJECT_INPUTS, PROJECT_ROWS};
use super::{Panels, Rows, Start};

/// Four f32 lanes, fused multiply-add.
#[derive(Clone, Copy)]
struct Neon(float32x4_t);

impl Vector for Neon {
    const LANES: usize = 4;
    #[inline(always)]
    unsafe fn zero() -> Self {
        // SAFETY: NEON is part of the target.
        Neon(unsafe { vdupq_n_f32(0.0) })
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: `p` is valid for 4 f32 (trait contract).
        Neon(unsafe { vld1q_f32(p) })
    }
    #[inline(always)]
    unsafe fn load_le(p: *const u8) -> Self {
        // SAFETY: `p` is valid for 16 bytes; a byte load needs no alignment, and on a
        // little-endian target the bytes are the f32 values.
        Neon(unsafe { vreinterpretq_f32_u8(vld1q_u8(p)) })
    }
    #[inline(always)]
    unsafe fn load_i8(p: *const u8) -> Self {
        // SAFETY: `p` is valid for 4 bytes, read unaligned; widened i8 -> i16 -> i32,
        // then converted exactly to f32.
        unsafe {
            let bytes = p.cast::<u32>().read_unaligned();
            let q = vcreate_s8(bytes as u64);
            let q16 = vget_low_s16(vmovl_s8(q));
            Neon(vcvtq_f32_s32(vmovl_s16(q16)))
        }
    }
    #[inline(always)]
    unsafe fn splat(v: f32) -> Self {
        // SAFETY: NEON is part of the target.
        Neon(unsafe { vdupq_n_f32(v) })
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        // SAFETY: `p` is valid for 4 f32 writes (trait contract).
        unsafe { vst1q_f32(p, self.0) }
    }
    #[inline(always)]
    unsafe fn add(self, b: Self) -> Self {
        // SAFETY: NEON is part of the target.
        Neon(unsafe { vaddq_f32(self.0, b.0) })
    }
    #[inline(always)]
    unsafe fn mul_add(self, b: Self, acc: Self) -> Self {
        // SAFETY: NEON is part of the target.
        Neon(unsafe { vfmaq_f32(acc.0, self.0, b.0) })
    }
    #[inline(always)]
    unsafe fn sum(self) -> f32 {
        // SAFETY: NEON is part of the target.
        unsafe { vaddvq_f32(self.0) }
    }
    #[inline(always)]
    unsafe fn sum8(v: [Self; 8]) -> [f32; 8] {
        // SAFETY: NEON is part of the target; `out` holds 8 f32.
        unsafe {
            let mut out = [0.0f32; 8];
            for (k, o) in out.chunks_exact_mut(4).enumerate() {
                // Pairwise adds: [a01, a23, b01, b23], then [a, b, c, d].
                let ab = vpaddq_f32(v[4 * k].0, v[4 * k + 1].0);
                let cd = vpaddq_f32(v[4 * k + 2].0, v[4 * k + 3].0);
                vst1q_f32(o.as_mut_ptr(), vpaddq_f32(ab, cd));
            }
            out
        }
    }
}

impl CellMath for Neon {
    cell::cell_math_from_vector!(fused: true);
    #[inline(always)]
    unsafe fn mul(self, b: Self) -> Self {
        // SAFETY: NEON is part of the target.
        Neon(unsafe { vmulq_f32(self.0, b.0) })
    }
    #[inline(always)]
    unsafe fn sub(self, b: Self) -> Self {
        // SAFETY: NEON is part of the target.
        Neon(unsafe { vsubq_f32(self.0, b.0) })
    }
    #[inline(always)]
    unsafe fn div(self, b: Self) -> Self {
        // SAFETY: NEON is part of the target.
        Neon(unsafe { vdivq_f32(self.0, b.0) })
    }
    #[inline(always)]
    unsafe fn clamp(self, lo: Self, hi: Self) -> Self {
        // SAFETY: NEON is part of the target. `fmax`/`fmin` return NaN for a NaN lane.
        Neon(unsafe { vminq_f32(vmaxq_f32(self.0, lo.0), hi.0) })
    }
    #[inline(always)]
    unsafe fn neg(self) -> Self {
        // SAFETY: NEON is part of the target. `fneg` flips the sign bit.
        Neon(unsafe { vnegq_f32(self.0) })
    }
    #[inline(always)]
    unsafe fn abs(self) -> Self {
        // SAFETY: NEON is part of the target. `fabs` clears the sign bit.
        Neon(unsafe { vabsq_f32(self.0) })
    }
    #[inline(always)]
    unsafe fn copysign(self, sign: Self) -> Self {
        // SAFETY: NEON is part of the target.
        Neon(unsafe { vbslq_f32(vdupq_n_u32(0x8000_0000), sign.0, self.0) })
    }
    #[inline(always)]
    unsafe fn select_lt(self, limit: Self, then: Self, otherwise: Self) -> Self {
        // SAFETY: NEON is part of the target. `fcmgt` is false for NaN.
        Neon(unsafe { vbslq_f32(vcltq_f32(self.0, limit.0), then.0, otherwise.0) })
    }
    #[inline(always)]
    unsafe fn pow2_shifted(self) -> Self {
        // SAFETY: NEON is part of the target; integer lanes wrap as the scalar code's.
        unsafe {
            let shifter = vdupq_n_s32(crate::kernels::ROUND_SHIFTER.to_bits() as i32);
            let n = vsubq_s32(vreinterpretq_s32_f32(self.0), shifter);
            let bits = vshlq_n_s32::<23>(vaddq_s32(n, vdupq_n_s32(127)));
            Neon(vreinterpretq_f32_s32(bits))
        }
    }
}

/// # Safety
///
/// The requirements of [`generic::gemv`].
#[target_feature(enable = "neon")]
pub(super) unsafe fn gemv_neon(w: &Rows<'_>, x: &[f32], out: &mut [f32]) {
    // SAFETY: forwarded.
    unsafe {
        if w.int8 {
            generic::gemv::<Neon, I8>(w, x, out)
        } else {
            generic::gemv::<Neon, F32Le>(w, x, out)
        }
    }
}

/// # Safety
///
/// NEON is part of the target.
#[target_feature(enable = "neon")]
pub(super) unsafe fn fma_probe_neon(rounds: usize, seed: f32) -> (f32, u64) {
    // SAFETY: register arithmetic only.
    unsafe { generic::fma_probe::<Neon>(rounds, seed) }
}

/// # Safety
///
/// The requirements of [`generic::gemm_lanes`].
#[target_feature(enable = "neon")]
pub(super) unsafe fn gemm_lanes_neon(w: &Rows<'_>, xt: &[f32], out: &mut [f32]) {
    // SAFETY: forwarded.
    unsafe { generic::gemm_lanes::<Neon, 4, 2>(w, xt, out) }
}

/// # Safety
///
/// The requirements of [`generic::panel_gemv`].
#[target_feature(enable = "neon")]
pub(super) unsafe fn panel_gemv_neon(w: &Panels<'_>, x: &[f32], out: &mut [f32]) {
    // SAFETY: forwarded.
    unsafe { generic::panel_gemv::<Neon, 1, 4>(w, x, out) }
}

/// # Safety
///
/// The requirements of [`generic::panel_project`].
#[target_feature(enable = "neon")]
pub(super) unsafe fn panel_project_neon(
    w: &Panels<'_>,
    xs: &[f32],
    b: usize,
    start: Start<'_>,
    out: &mut [f32],
) {
    // SAFETY: forwarded.
    unsafe {
        // Without a bias (the recurrent product): two sums per row, in smaller tiles.
        if !matches!(start, Start::Bias(_)) {
            generic::panel_project::<Neon, true, 4, 0, 0, 1, 2>(w, xs, b, start, out)
        } else {
            generic::panel_project::<Neon, false, 4, 0, 1, 2, 4>(w, xs, b, start, out)
        }
    }
}

/// # Safety
///
/// The requirements of [`generic::panel_gemm_lanes`].
#[target_feature(enable = "neon")]
pub(super) unsafe fn panel_gemm_lanes_neon(w: &Panels<'_>, xt: &[f32], out: &mut [f32]) {
    // SAFETY: forwarded.
    unsafe { generic::panel_gemm_lanes::<Neon, 4, 2>(w, xt, out) }
}

/// # Safety
///
/// The requirements of [`generic::project`].
#[target_feature(enable = "neon")]
pub(super) unsafe fn project_neon(
    w: &Rows<'_>,
    xs: &[f32],
    b: usize,
    bias: &[u8],
    out: &mut [f32],
) {
    // SAFETY: forwarded.
    unsafe {
        if w.int8 {
            generic::project::<Neon, I8, PROJECT_ROWS, PROJECT_INPUTS>(w, xs, b, bias, out)
        } else {
            generic::project::<Neon, F32Le, PROJECT_ROWS, PROJECT_INPUTS>(w, xs, b, bias, out)
        }
    }
}

/// [`crate::kernels::quantize_i16`] with NEON: the same operations (the maximum of the
/// magnitudes' bits, one multiply, one add of the rounding shifter, the integers from
/// the sums' bits), 4 lanes wide; identical results.
///
/// # Safety
///
/// NEON is available (always, on AArch64).
#[target_feature(enable = "neon")]
pub(super) unsafe fn quantize_i16_neon(x: &[f32], q: &mut [i16]) -> Option<f32> {
    use crate::kernels::{max_abs_finite, quantize_into, quantize_inv, ROUND_SHIFTER};
    let n = x.len();
    let mut i = 0;
    // SAFETY: NEON is enabled here; each load reads x[i..i + 4], inside `x`.
    let body = unsafe {
        let (mut m, magnitude) = (vdupq_n_u32(0), vdupq_n_u32(0x7FFF_FFFF));
        while i + 4 <= n {
            m = vmaxq_u32(m, vandq_u32(vld1q_u32(x.as_ptr().add(i).cast()), magnitude));
            i += 4;
        }
        vmaxvq_u32(m)
    };
    // As `max_abs_finite`: finite magnitudes order as their bits, infinity and NaN above.
    if body >= f32::INFINITY.to_bits() {
        return None;
    }
    let max = max_abs_finite(&x[i..])?.max(f32::from_bits(body));
    let inv = quantize_inv(max);
    let n = n.min(q.len());
    let mut i = 0;
    // SAFETY: NEON is enabled here; each step reads x[i..i + 4] and writes
    // q[i..i + 4], inside both (i + 4 <= n).
    unsafe {
        let (vinv, shifter) = (vdupq_n_f32(inv), vdupq_n_f32(ROUND_SHIFTER));
        while i + 4 <= n {
            // The product plus the rounding shifter; the sums' low 16 bits are the
            // integers (a narrowing move keeps them).
            let t = vaddq_f32(vmulq_f32(vld1q_f32(x.as_ptr().add(i)), vinv), shifter);
            vst1_s16(q.as_mut_ptr().add(i), vmovn_s32(vreinterpretq_s32_f32(t)));
            i += 4;
        }
    }
    quantize_into(&x[i..n], &mut q[i..n], inv);
    Some(max / 16383.0)
}

/// A packed f32 step at the `neon` level in one call: the panel product
/// ([`generic::gemv_panels`], 2 panels side by side) into `gates`, then the cell update
/// of its first `4 * c.len()` ([`cell::lstm_cell`], 4 lanes wide).
///
/// # Safety
///
/// The requirements of [`generic::gemv_panels`] for `out = gates`; `gates` holds at
/// least `4 * c.len()` values, `h` as many as `c`.
#[target_feature(enable = "neon")]
pub(super) unsafe fn packed_step_neon(
    panels: &[f32],
    x: &[f32],
    gates: &mut [f32],
    c: &mut [f32],
    h: &mut [f32],
) {
    // SAFETY: forwarded; NEON is enabled here.
    unsafe {
        generic::gemv_panels::<Neon, 2, 4>(panels, x, h, gates);
        cell::lstm_cell::<Neon, false>(gates, c, h, c.len());
    }
}

/// [`crate::kernels::lstm_cell`] of cells of `hidden` units side by side, 4 lanes at a
/// time ([`cell::lstm_cell`]): identical results.
///
/// # Safety
///
/// NEON is available (always, on AArch64).
#[target_feature(enable = "neon")]
pub(super) unsafe fn lstm_cell_neon(gates: &[f32], c: &mut [f32], h: &mut [f32], hidden: usize) {
    // SAFETY: forwarded; NEON is enabled here.
    unsafe { cell::lstm_cell::<Neon, false>(gates, c, h, hidden) }
}

/// [`cell::exp_each`] 4 lanes at a time (for the tests).
///
/// # Safety
///
/// NEON is available (always, on AArch64).
#[cfg(test)]
#[target_feature(enable = "neon")]
pub(super) unsafe fn exp_neon(x: &mut [f32]) {
    // SAFETY: forwarded; NEON is enabled here.
    unsafe { cell::exp_each::<Neon>(x) }
}
