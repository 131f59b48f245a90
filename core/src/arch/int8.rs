//! The int8 x i16 block projection written once over an integer register tile
//! ([`IntTile`]), which each vector level implements with its widening multiply-adds.
//! Every function here is `#[inline(always)]`: it compiles inside a level's
//! `#[target_feature]` entry point.
//!
//! Exactness: a tile sums at most [`CHUNK`] columns in i32 lanes and reduces them in
//! i32 (every partial sum is at most `128 * 16383 * 1024 < 2^31` in magnitude), then
//! adds the chunks in i64. The result is the exact integer dot product, equal to
//! the scalar `dot_i8_i16`, whatever the order of the additions.

use super::Rows;

/// Columns summed in i32 before a tile's sums move to i64; a multiple of every
/// level's step (16 columns).
pub(super) const CHUNK: usize = 1024;

/// The exact `R x T` integer dot products of int8 rows with i16 inputs.
pub(super) trait IntTile {
    /// `out[r][t] = sum_j q[r * stride + j] * x[t * x_stride + j]` over `j < cols`,
    /// exact.
    ///
    /// # Safety
    ///
    /// The level's target features are enabled; rows `w + r * stride` (`cols` bytes
    /// each, `r < R`) and inputs `x + t * x_stride` (`cols` i16 each, `t < T`) lie in
    /// memory.
    unsafe fn tile<const R: usize, const T: usize>(
        w: *const u8,
        stride: usize,
        cols: usize,
        x: *const i16,
        x_stride: usize,
    ) -> [[i64; T]; R];
}

/// `sum_j q[j] * x[j]` for `j` in `from..to`, the scalar tail of a tile.
///
/// # Safety
///
/// `q` and `x` are valid for `to` elements.
#[inline(always)]
pub(super) unsafe fn tail(q: *const u8, x: *const i16, from: usize, to: usize) -> i64 {
    let mut s = 0i64;
    for j in from..to {
        // SAFETY: `j < to` (the caller's bound).
        s += unsafe { (q.add(j).read() as i8 as i64) * (x.add(j).read() as i64) };
    }
    s
}

/// Tokens per tile of the block projection; each weight load serves all of them.
const TOKENS: usize = 4;
/// Rows per tile of the block projection.
const ROWS: usize = 2;
/// Rows per tile for a single token.
const GEMV_ROWS: usize = 8;

/// `out[t * rows + r] = bias[r] + (scale_r * x_scales[t]) * (q_r . xq_t)` for the
/// `b = x_scales.len()` inputs, the float operations in the scalar path's order.
///
/// # Safety
///
/// The level's target features are enabled; `w.int8`, `w.in_bounds()`, `xq.len() >=
/// b * w.cols`, `bias.len() >= 4 * w.rows`, `out.len() >= b * w.rows`.
#[inline(always)]
pub(super) unsafe fn project<K: IntTile>(
    w: &Rows<'_>,
    xq: &[i16],
    x_scales: &[f32],
    bias: &[u8],
    out: &mut [f32],
) {
    let (rows, cols, b) = (w.rows, w.cols, x_scales.len());
    let f32_at = |bytes: &[u8], i: usize| {
        let v = &bytes[i * 4..i * 4 + 4];
        f32::from_le_bytes([v[0], v[1], v[2], v[3]])
    };
    let mut put = |r: usize, t: usize, d: i64| {
        let scale = f32_at(w.scales, r) * x_scales[t];
        out[t * rows + r] = f32_at(bias, r) + scale * d as f32;
    };
    let base = w.data.as_ptr();
    let mut t = 0;
    // SAFETY: tiles cover rows `r..r + R <= rows` (in `data` by `in_bounds`) and inputs
    // `t..t + T <= b` (in `xq`), `cols` elements each.
    unsafe {
        while t + TOKENS <= b {
            let x = xq.as_ptr().add(t * cols);
            let mut r = 0;
            while r + ROWS <= rows {
                let d = K::tile::<ROWS, TOKENS>(base.add(r * w.stride), w.stride, cols, x, cols);
                for (i, d) in d.iter().enumerate() {
                    for (k, &d) in d.iter().enumerate() {
                        put(r + i, t + k, d);
                    }
                }
                r += ROWS;
            }
            while r < rows {
                let d = K::tile::<1, TOKENS>(base.add(r * w.stride), w.stride, cols, x, cols);
                for (k, &d) in d[0].iter().enumerate() {
                    put(r, t + k, d);
                }
                r += 1;
            }
            t += TOKENS;
        }
        while t < b {
            let x = xq.as_ptr().add(t * cols);
            let mut r = 0;
            while r + GEMV_ROWS <= rows {
                let d = K::tile::<GEMV_ROWS, 1>(base.add(r * w.stride), w.stride, cols, x, 0);
                for (i, d) in d.iter().enumerate() {
                    put(r + i, t, d[0]);
                }
                r += GEMV_ROWS;
            }
            while r < rows {
                let d = K::tile::<1, 1>(base.add(r * w.stride), w.stride, cols, x, 0);
                put(r, t, d[0][0]);
                r += 1;
            }
            t += 1;
        }
    }
}
