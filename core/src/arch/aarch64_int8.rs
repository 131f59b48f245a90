//! AArch64 NEON integer tile for the int8 x i16 block projection: weight bytes widen
//! to i16 once per load (`sxtl`) and serve every input of the tile through widening
//! multiply-accumulates (`smlal`, `smlal2`: i16 x i16 added into i32 lanes, exact).

use core::arch::aarch64::*;

use super::int8::{self, tail, IntTile, CHUNK};
use super::Rows;

/// 16 columns per step, one i32x4 accumulator per (row, input): four products per
/// lane per step, so a chunk of 1024 columns puts 256 products in a lane.
pub(super) struct Neon;

impl IntTile for Neon {
    #[inline(always)]
    unsafe fn tile<const R: usize, const T: usize>(
        w: *const u8,
        stride: usize,
        cols: usize,
        x: *const i16,
        x_stride: usize,
    ) -> [[i64; T]; R] {
        let mut out = [[0i64; T]; R];
        let mut c0 = 0;
        // SAFETY: loads stay within `i + 16 <= c1 <= cols` (vectors) and `j < cols`
        // (tails) of each row and input; NEON is part of the target, and byte and
        // i16 loads need no more alignment than their pointers have.
        unsafe {
            while c0 < cols {
                let c1 = cols.min(c0 + CHUNK);
                let mut acc = [[vdupq_n_s32(0); T]; R];
                let mut i = c0;
                while i + 16 <= c1 {
                    let q: [(int16x8_t, int16x8_t); R] = core::array::from_fn(|r| {
                        let q = vld1q_s8(w.add(r * stride + i).cast());
                        (vmovl_s8(vget_low_s8(q)), vmovl_high_s8(q))
                    });
                    for t in 0..T {
                        let xt = x.add(t * x_stride + i);
                        let (x0, x1) = (vld1q_s16(xt), vld1q_s16(xt.add(8)));
                        for (r, &(lo, hi)) in q.iter().enumerate() {
                            let mut a = acc[r][t];
                            a = vmlal_s16(a, vget_low_s16(lo), vget_low_s16(x0));
                            a = vmlal_high_s16(a, lo, x0);
                            a = vmlal_s16(a, vget_low_s16(hi), vget_low_s16(x1));
                            acc[r][t] = vmlal_high_s16(a, hi, x1);
                        }
                    }
                    i += 16;
                }
                for (r, (o, a)) in out.iter_mut().zip(&acc).enumerate() {
                    for (t, (o, &a)) in o.iter_mut().zip(a).enumerate() {
                        *o += vaddvq_s32(a) as i64
                            + tail(w.add(r * stride), x.add(t * x_stride), i, c1);
                    }
                }
                c0 = c1;
            }
        }
        out
    }
}

/// # Safety
///
/// The requirements of [`int8::project`].
#[target_feature(enable = "neon")]
pub(super) unsafe fn project_i8_i16_neon(
    w: &Rows<'_>,
    xq: &[i16],
    x_scales: &[f32],
    bias: &[u8],
    out: &mut [f32],
) {
    // SAFETY: forwarded; NEON is enabled here.
    unsafe { int8::project::<Neon>(w, xq, x_scales, bias, out) }
}
