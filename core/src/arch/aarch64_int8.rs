//! AArch64 NEON integer tile for the int8 x i16 block projection: weight bytes widen
//! to i16 once per load (`sxtl`) and serve every input of the tile through widening
//! multiply-accumulates (`smlal`, `smlal2`: i16 x i16 added into i32 lanes, exact).

use core::arch::aarch64::*;

#[cfg(not(target_os = "none"))]
use super::i8_panels::PanelI8;
use super::int8::{self, IntTile};
#[cfg(not(target_os = "none"))]
use super::I8Panels;
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

/// The int8 panel layout's registers at the `neon` level ([`super::i8_panels`]): four
/// i32x4 sums per panel (rows 0-3, 4-7, 8-11, 12-15); each pair of columns widened to
/// i16 (`sxtl`), multiplied by the input pair (`smull`, `smull2`: the two products of
/// two rows each) and each row's two products added pairwise (`addp`).
#[cfg(not(target_os = "none"))]
pub(super) struct NeonPanels;

#[cfg(not(target_os = "none"))]
impl PanelI8 for NeonPanels {
    type Acc = [int32x4_t; 4];
    type W = [int16x8_t; 4];
    type X = int16x8_t;
    const GEMV_PANELS: usize = 2;
    const TOKENS: usize = 4;
    #[inline(always)]
    unsafe fn zero() -> [int32x4_t; 4] {
        // SAFETY: NEON is part of the target.
        unsafe { [vdupq_n_s32(0); 4] }
    }
    #[inline(always)]
    unsafe fn load(w: *const u8) -> [int16x8_t; 4] {
        // SAFETY: 32 readable bytes (caller); NEON is part of the target.
        unsafe {
            let (a, b) = (vld1q_s8(w.cast()), vld1q_s8(w.add(16).cast()));
            [
                vmovl_s8(vget_low_s8(a)),
                vmovl_high_s8(a),
                vmovl_s8(vget_low_s8(b)),
                vmovl_high_s8(b),
            ]
        }
    }
    #[inline(always)]
    unsafe fn splat(x: i32) -> int16x8_t {
        // SAFETY: NEON is part of the target.
        unsafe { vreinterpretq_s16_s32(vdupq_n_s32(x)) }
    }
    #[inline(always)]
    unsafe fn madd(acc: [int32x4_t; 4], w: [int16x8_t; 4], x: int16x8_t) -> [int32x4_t; 4] {
        // SAFETY: NEON is part of the target.
        unsafe {
            core::array::from_fn(|k| {
                let lo = vmull_s16(vget_low_s16(w[k]), vget_low_s16(x));
                let hi = vmull_high_s16(w[k], x);
                vaddq_s32(acc[k], vpaddq_s32(lo, hi))
            })
        }
    }
    #[inline(always)]
    unsafe fn add(a: [int32x4_t; 4], b: [int32x4_t; 4]) -> [int32x4_t; 4] {
        // SAFETY: NEON is part of the target.
        unsafe { core::array::from_fn(|k| vaddq_s32(a[k], b[k])) }
    }
    #[inline(always)]
    unsafe fn finish(
        acc: [int32x4_t; 4],
        scales: *const u8,
        x_scale: f32,
        start: *const f32,
        out: *mut f32,
    ) {
        // SAFETY: the reads and writes are the caller's (the scales little-endian, as
        // the target); NEON is part of the target.
        unsafe {
            for (k, &a) in acc.iter().enumerate() {
                let s = vmulq_n_f32(vld1q_f32(scales.add(16 * k).cast()), x_scale);
                let p = vmulq_f32(s, vcvtq_f32_s32(a));
                vst1q_f32(out.add(4 * k), vaddq_f32(vld1q_f32(start.add(4 * k)), p));
            }
        }
    }
    #[inline(always)]
    unsafe fn sums(acc: [int32x4_t; 4]) -> [i32; 16] {
        let mut d = [0i32; 16];
        // SAFETY: 16 writable i32; NEON is part of the target.
        unsafe {
            for (k, &a) in acc.iter().enumerate() {
                vst1q_s32(d.as_mut_ptr().add(4 * k), a);
            }
        }
        d
    }
}

/// [`super::project_i8_panels`] with NEON.
///
/// # Safety
///
/// The requirements of [`super::project_i8_panels`] (checked there).
#[cfg(not(target_os = "none"))]
pub(super) unsafe fn project_i8_panels_neon(
    w: &I8Panels<'_>,
    xq: &[i16],
    x_scales: &[f32],
    bias: Option<&[u8]>,
    out: &mut [f32],
) {
    // SAFETY: forwarded; NEON is part of the target.
    unsafe { super::i8_panels::project::<NeonPanels>(w, xq, x_scales, bias, out) }
}
