//! AArch64 (little-endian) NEON kernels. NEON is part of every AArch64 target, so
//! the entry points need no run-time detection; they still carry
//! `#[target_feature(enable = "neon")]` so that the generic kernels compile with it.

use core::arch::aarch64::*;

use super::generic::{self, finish_i8_i16, F32Le, Vector, I8};
use super::Rows;

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
            generic::project::<Neon, I8>(w, xs, b, bias, out)
        } else {
            generic::project::<Neon, F32Le>(w, xs, b, bias, out)
        }
    }
}

/// Rows per tile of the integer product.
const INT_ROWS: usize = 4;

/// Integer dot products of int8 rows with i16 inputs, 16 columns per step into four
/// i32x4 accumulators per row (widening multiply-accumulate): each lane holds
/// `cols / 16` exact products, far from overflow for `cols <= MAX_EXACT_COLS`;
/// lanes and tail are summed in i64, so the sum equals the scalar `dot_i8_i16`.
///
/// # Safety
///
/// NEON is enabled; rows `w + r * stride` (`cols` bytes each) and `x` (`cols` i16)
/// lie in memory.
#[inline(always)]
unsafe fn dot_i8_i16<const R: usize>(
    w: *const u8,
    stride: usize,
    cols: usize,
    x: *const i16,
) -> [i64; R] {
    // SAFETY: loads stay within `i + 16 <= cols` (vectors) and `j < cols` (tail);
    // byte and i16 loads need no more alignment than their pointers have.
    unsafe {
        let mut acc = [[vdupq_n_s32(0); 4]; R];
        let mut i = 0;
        while i + 16 <= cols {
            let x0 = vld1q_s16(x.add(i));
            let x1 = vld1q_s16(x.add(i + 8));
            for (r, a) in acc.iter_mut().enumerate() {
                let q = vld1q_s8(w.add(r * stride + i).cast());
                let lo = vmovl_s8(vget_low_s8(q));
                let hi = vmovl_high_s8(q);
                a[0] = vmlal_s16(a[0], vget_low_s16(lo), vget_low_s16(x0));
                a[1] = vmlal_high_s16(a[1], lo, x0);
                a[2] = vmlal_s16(a[2], vget_low_s16(hi), vget_low_s16(x1));
                a[3] = vmlal_high_s16(a[3], hi, x1);
            }
            i += 16;
        }
        let mut out = [0i64; R];
        for (r, (o, a)) in out.iter_mut().zip(&acc).enumerate() {
            let mut s: i64 = a.iter().map(|&v| vaddlvq_s32(v)).sum();
            for j in i..cols {
                s += (w.add(r * stride + j).read() as i8 as i64) * (x.add(j).read() as i64);
            }
            *o = s;
        }
        out
    }
}

/// # Safety
///
/// `w.int8`, `w.in_bounds()`, `w.cols <= MAX_EXACT_COLS`, `xq.len() >= w.cols`,
/// `out.len() >= w.rows`.
#[target_feature(enable = "neon")]
pub(super) unsafe fn gemv_i8_i16_neon(w: &Rows<'_>, xq: &[i16], x_scale: f32, out: &mut [f32]) {
    let base = w.data.as_ptr();
    let mut r = 0;
    // SAFETY: rows r..r+INT_ROWS (or r) are within `w.rows`, all in `data`; `xq`
    // holds `cols` values.
    unsafe {
        while r + INT_ROWS <= w.rows {
            let d = dot_i8_i16::<INT_ROWS>(base.add(r * w.stride), w.stride, w.cols, xq.as_ptr());
            for (k, &d) in d.iter().enumerate() {
                finish_i8_i16(w, r + k, x_scale, d, out);
            }
            r += INT_ROWS;
        }
        while r < w.rows {
            let d = dot_i8_i16::<1>(base.add(r * w.stride), w.stride, w.cols, xq.as_ptr());
            finish_i8_i16(w, r, x_scale, d[0], out);
            r += 1;
        }
    }
}
