//! AArch64 NEON integer tile for the int8 x i16 block projection: weight bytes widen
//! to i16 once per load (`sxtl`) and serve every input of the tile through widening
//! multiply-accumulates (`smlal`, `smlal2`: i16 x i16 added into i32 lanes, exact).

use core::arch::aarch64::*;

use super::int8::{self, IntTile};
use super::Rows;

/// 16 columns per step, one i32x4 accumulator per (row, input): four products per
/// lane per step.
pub(super) struct Neon;

impl IntTile for Neon {
    type Acc = int32x4_t;
    const STEP: usize = 16;
    #[inline(always)]
    unsafe fn zero() -> int32x4_t {
        // SAFETY: NEON is part of the target.
        unsafe { vdupq_n_s32(0) }
    }
    #[inline(always)]
    unsafe fn step<const R: usize, const T: usize>(
        acc: &mut [[int32x4_t; T]; R],
        w: [*const u8; R],
        x: [*const i16; T],
    ) {
        // SAFETY: NEON is part of the target; every pointer is valid for 16
        // elements (trait contract), and byte and i16 loads need no more alignment
        // than their pointers have.
        unsafe {
            let q: [(int16x8_t, int16x8_t); R] = core::array::from_fn(|r| {
                let q = vld1q_s8(w[r].cast());
                (vmovl_s8(vget_low_s8(q)), vmovl_high_s8(q))
            });
            for (t, &xt) in x.iter().enumerate() {
                let (x0, x1) = (vld1q_s16(xt), vld1q_s16(xt.add(8)));
                for (acc_r, &(lo, hi)) in acc.iter_mut().zip(&q) {
                    let mut a = acc_r[t];
                    a = vmlal_s16(a, vget_low_s16(lo), vget_low_s16(x0));
                    a = vmlal_high_s16(a, lo, x0);
                    a = vmlal_s16(a, vget_low_s16(hi), vget_low_s16(x1));
                    acc_r[t] = vmlal_high_s16(a, hi, x1);
                }
            }
        }
    }
    #[inline(always)]
    unsafe fn step4<const R: usize, const T: usize>(
        acc: &mut [[int32x4_t; T]; R],
        w: [*const u8; R],
        x: [*const i16; T],
    ) {
        // SAFETY: NEON is part of the target; every pointer is valid for 4 elements
        // (trait contract): 4 weight bytes read unaligned, 4 i16 of input.
        unsafe {
            let q: [int16x4_t; R] = core::array::from_fn(|r| {
                let b = w[r].cast::<u32>().read_unaligned();
                vget_low_s16(vmovl_s8(vcreate_s8(b as u64)))
            });
            for (t, &xt) in x.iter().enumerate() {
                let xv = vld1_s16(xt);
                for (acc_r, &q) in acc.iter_mut().zip(&q) {
                    acc_r[t] = vmlal_s16(acc_r[t], q, xv);
                }
            }
        }
    }
    #[inline(always)]
    unsafe fn sums<const R: usize, const T: usize>(acc: &[[int32x4_t; T]; R]) -> [[i32; T]; R] {
        // SAFETY: NEON is part of the target.
        acc.map(|a| a.map(|v| unsafe { vaddvq_s32(v) }))
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
    bias: Option<&[u8]>,
    out: &mut [f32],
) {
    // SAFETY: forwarded; NEON is enabled here.
    unsafe { int8::project::<Neon>(w, xq, x_scales, bias, out) }
}

/// # Safety
///
/// The requirements of [`int8::gemv`].
#[target_feature(enable = "neon")]
pub(super) unsafe fn gemv_i8_i16_neon(w: &Rows<'_>, xq: &[i16], x_scale: f32, out: &mut [f32]) {
    // SAFETY: forwarded; NEON is enabled here.
    unsafe { int8::gemv::<Neon>(w, xq, x_scale, out) }
}

/// # Safety
///
/// NEON is part of the target.
#[target_feature(enable = "neon")]
pub(super) unsafe fn int_probe_neon(rounds: usize, seed: i16) -> (i64, u64) {
    // SAFETY: register and stack arithmetic only.
    unsafe { int8::int_probe::<Neon>(rounds, seed) }
}
