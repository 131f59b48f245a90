//! The int8 x i16 products on the int8 panel layout ([`crate::format::DType::I8Panels`])
//! written once over a level's registers for one panel ([`PanelI8`]): each pair of
//! columns of a panel (16 rows x 2 bytes, 32 bytes) is sign-extended once and
//! multiplied by one broadcast pair of inputs per input, the two products of each row
//! added into its i32 lane: no horizontal sums, no copy. Every sum is the exact integer
//! dot product (at most 1024 columns: every lane stays below `128 * 16383 * 1024 <
//! 2^31` in magnitude), converted and scaled as the row kernels do (multiply, then add:
//! the same roundings). Every function here is `#[inline(always)]`: it compiles inside a
//! level's `#[target_feature]` entry point.

use super::I8Panels;
use crate::kernels::PANEL_ROWS as P;

/// A level's registers for one panel.
pub(super) trait PanelI8 {
    /// The 16 rows' sums (i32 lanes).
    type Acc: Copy;
    /// A pair of columns of a panel, sign-extended to i16.
    type W: Copy;
    /// A pair of inputs broadcast to every row.
    type X: Copy;
    /// Panels side by side for one input (4, 2 or 1), each with two chains of sums.
    const GEMV_PANELS: usize;
    /// Inputs of the block tile (8: two panels at a time; 4 or 2: one panel).
    const TOKENS: usize;
    /// # Safety
    ///
    /// The level's target features are enabled.
    unsafe fn zero() -> Self::Acc;
    /// # Safety
    ///
    /// The level's target features are enabled; `w` is valid for 32 bytes.
    unsafe fn load(w: *const u8) -> Self::W;
    /// # Safety
    ///
    /// The level's target features are enabled.
    unsafe fn splat(x: i32) -> Self::X;
    /// `acc + w * x`, the two products of each row added into its lane.
    ///
    /// # Safety
    ///
    /// The level's target features are enabled.
    unsafe fn madd(acc: Self::Acc, w: Self::W, x: Self::X) -> Self::Acc;
    /// # Safety
    ///
    /// The level's target features are enabled.
    unsafe fn add(a: Self::Acc, b: Self::Acc) -> Self::Acc;
    /// `out[k] = start[k] + (scale_k * x_scale) * sum_k` for the 16 rows, `scales` their
    /// little-endian f32 scales.
    ///
    /// # Safety
    ///
    /// The level's target features are enabled; `scales` is valid for 64 bytes,
    /// `start` for 16 reads and `out` for 16 writes.
    unsafe fn finish(
        acc: Self::Acc,
        scales: *const u8,
        x_scale: f32,
        start: *const f32,
        out: *mut f32,
    );
    /// The 16 sums.
    ///
    /// # Safety
    ///
    /// The level's target features are enabled.
    unsafe fn sums(acc: Self::Acc) -> [i32; P];
}

/// [`super::project_i8_panels`] at a level: inputs [`PanelI8::TOKENS`] at a time (then
/// fewer), the last ones one at a time with [`PanelI8::GEMV_PANELS`] panels side by
/// side and two chains each.
///
/// # Safety
///
/// The level's target features are enabled; the requirements of
/// [`super::project_i8_panels`] (checked there).
#[inline(always)]
pub(super) unsafe fn project<V: PanelI8>(
    w: &I8Panels<'_>,
    xq: &[i16],
    x_scales: &[f32],
    bias: Option<&[u8]>,
    out: &mut [f32],
) {
    let b = x_scales.len();
    let mut t = 0;
    // SAFETY: inputs `t..t + T <= b` (the caller's lengths).
    unsafe {
        while V::TOKENS == 8 && t + 8 <= b {
            panels::<V, 2, 8, 1>(w, xq, x_scales, bias, out, t);
            t += 8;
        }
        while V::TOKENS >= 4 && t + 4 <= b {
            panels::<V, 1, 4, 1>(w, xq, x_scales, bias, out, t);
            t += 4;
        }
        while t + 2 <= b {
            panels::<V, 1, 2, 1>(w, xq, x_scales, bias, out, t);
            t += 2;
        }
        if t < b {
            match V::GEMV_PANELS {
                4 => panels::<V, 4, 1, 2>(w, xq, x_scales, bias, out, t),
                2 => panels::<V, 2, 1, 2>(w, xq, x_scales, bias, out, t),
                _ => panels::<V, 1, 1, 2>(w, xq, x_scales, bias, out, t),
            }
        }
    }
}

/// Inputs `t..t + T` against every panel, `PT` at a time (then one at a time).
///
/// # Safety
///
/// As [`project`]; `t + T <= x_scales.len()`.
#[inline(always)]
unsafe fn panels<V: PanelI8, const PT: usize, const T: usize, const CH: usize>(
    w: &I8Panels<'_>,
    xq: &[i16],
    x_scales: &[f32],
    bias: Option<&[u8]>,
    out: &mut [f32],
    t: usize,
) {
    let n = w.rows.div_ceil(P);
    let mut p = 0;
    // SAFETY: panels `p..p + PT <= n` (forwarded).
    unsafe {
        while p + PT <= n {
            tile::<V, PT, T, CH>(w, xq, x_scales, bias, out, p, t);
            p += PT;
        }
        while p < n {
            tile::<V, 1, T, CH>(w, xq, x_scales, bias, out, p, t);
            p += 1;
        }
    }
}

/// Panels `p..p + PT` times inputs `t..t + T`, each sum in `CH` chains (pairs of
/// columns taken in turn), then finished into `out`.
///
/// # Safety
///
/// As [`project`]; `p + PT <= ceil(rows / 16)`, `t + T <= x_scales.len()`.
#[inline(always)]
unsafe fn tile<V: PanelI8, const PT: usize, const T: usize, const CH: usize>(
    w: &I8Panels<'_>,
    xq: &[i16],
    x_scales: &[f32],
    bias: Option<&[u8]>,
    out: &mut [f32],
    p: usize,
    t: usize,
) {
    const { assert!(CH == 1 || CH == 2) };
    let (rows, cols) = (w.rows, w.cols);
    let (full, pairs) = (cols / 2, cols.div_ceil(2));
    let panel_bytes = 2 * P * pairs;
    // SAFETY: panel `p + q` holds `pairs` pairs of 32 bytes in `data`; input `t + i`
    // is `cols` values of `xq` (a pair past `full` reads its one value); its outputs
    // for rows below `rows` lie in `out`, their scales in `scales` and biases in `bias`
    // (the caller's lengths).
    unsafe {
        let base = w.data.as_ptr().add(p * panel_bytes);
        let x = xq.as_ptr().add(t * cols);
        let mut acc = [[[V::zero(); CH]; T]; PT];
        // Pair `j` of panel `p + q` at `wq[q] + 32 * j`, advanced as the pairs are taken.
        let mut wq: [*const u8; PT] = core::array::from_fn(|q| base.add(q * panel_bytes));
        let mut j = 0;
        while j + CH <= full {
            for c in 0..CH {
                let ws: [V::W; PT] = core::array::from_fn(|q| V::load(wq[q].add(32 * c)));
                for i in 0..T {
                    let pair = x.add(i * cols + 2 * (j + c)).cast::<i32>().read_unaligned();
                    let xv = V::splat(pair);
                    for (acc_q, &w) in acc.iter_mut().zip(&ws) {
                        acc_q[i][c] = V::madd(acc_q[i][c], w, xv);
                    }
                }
            }
            for w in &mut wq {
                *w = w.add(32 * CH);
            }
            j += CH;
        }
        // The last full pair (for an odd count with two chains), then an odd last
        // column, paired with zero: into sums of their own, so that the main loop's
        // stay in registers.
        let mut rest = [[V::zero(); T]; PT];
        while j < pairs {
            let ws: [V::W; PT] = core::array::from_fn(|q| V::load(wq[q]));
            for i in 0..T {
                let at = x.add(i * cols + 2 * j);
                let pair = match j < full {
                    true => at.cast::<i32>().read_unaligned(),
                    false => i32::from(at.read() as u16),
                };
                let xv = V::splat(pair);
                for (rest_q, &w) in rest.iter_mut().zip(&ws) {
                    rest_q[i] = V::madd(rest_q[i], w, xv);
                }
            }
            for w in &mut wq {
                *w = w.add(32);
            }
            j += 1;
        }
        for q in 0..PT {
            let r0 = (p + q) * P;
            for i in 0..T {
                let sum = match CH {
                    1 => acc[q][i][0],
                    _ => V::add(acc[q][i][0], acc[q][i][CH - 1]),
                };
                let sum = V::add(sum, rest[q][i]);
                let x_scale = x_scales[t + i];
                let o = out.as_mut_ptr().add((t + i) * rows + r0);
                if r0 + P <= rows {
                    let start = match bias {
                        Some(bias) => {
                            let mut v = [0.0f32; P];
                            for (k, v) in v.iter_mut().enumerate() {
                                let b = bias.as_ptr().add(4 * (r0 + k));
                                *v = f32::from_le_bytes([*b, *b.add(1), *b.add(2), *b.add(3)]);
                            }
                            v
                        }
                        None => core::array::from_fn(|k| *o.add(k)),
                    };
                    V::finish(
                        sum,
                        w.scales.as_ptr().add(4 * r0),
                        x_scale,
                        start.as_ptr(),
                        o,
                    );
                } else {
                    for (k, &d) in V::sums(sum).iter().enumerate().take(rows - r0) {
                        let s = &w.scales[4 * (r0 + k)..4 * (r0 + k) + 4];
                        let scale = f32::from_le_bytes([s[0], s[1], s[2], s[3]]) * x_scale;
                        let start = match bias {
                            Some(bias) => {
                                let b = &bias[4 * (r0 + k)..4 * (r0 + k) + 4];
                                f32::from_le_bytes([b[0], b[1], b[2], b[3]])
                            }
                            None => *o.add(k),
                        };
                        *o.add(k) = start + scale * d as f32;
                    }
                }
            }
        }
    }
}
