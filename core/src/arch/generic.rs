//! Floating-point kernels written once over a vector type ([`Vector`]) and a weight
//! element type ([`Elem`]). Every function here is `#[inline(always)]`: it is
//! compiled only inside a level's `#[target_feature]` entry point, with that level's
//! instructions.
//!
//! The register tile: `R` weight rows times `T` inputs, one vector accumulator per
//! (row, input) pair. Each weight vector is loaded (and, for int8, converted) once
//! and serves all `T` inputs; each input vector serves all `R` rows. After the
//! columns, one horizontal sum per pair, plus the `cols % LANES` tail in scalar
//! arithmetic.

use super::{Panels, Rows, Start};

/// A vector of `LANES` f32.
///
/// # Safety
///
/// Every method requires the level's target features; pointers must be valid for
/// reads of `LANES` elements (no alignment needed).
pub(super) trait Vector: Copy {
    /// At most [`MAX_LANES`].
    const LANES: usize;
    unsafe fn zero() -> Self;
    /// `LANES` f32 from `p`.
    unsafe fn load(p: *const f32) -> Self;
    /// `LANES` little-endian f32 from the bytes at `p`.
    unsafe fn load_le(p: *const u8) -> Self;
    /// `LANES` signed bytes from `p`, converted to f32.
    unsafe fn load_i8(p: *const u8) -> Self;
    /// The first `n < LANES` f32 from `p` (valid for `n` reads), the rest zero.
    #[inline(always)]
    unsafe fn load_partial(p: *const f32, n: usize) -> Self {
        let mut pad = [0.0f32; MAX_LANES];
        // SAFETY: `p` is valid for `n <= MAX_LANES` reads; `pad` holds MAX_LANES.
        unsafe {
            core::ptr::copy_nonoverlapping(p, pad.as_mut_ptr(), n);
            Self::load(pad.as_ptr())
        }
    }
    /// The first `n < LANES` little-endian f32 from `p`, the rest zero.
    #[inline(always)]
    unsafe fn load_le_partial(p: *const u8, n: usize) -> Self {
        let mut pad = [0u8; 4 * MAX_LANES];
        // SAFETY: `p` is valid for `4 n` bytes; `pad` holds `4 MAX_LANES`.
        unsafe {
            core::ptr::copy_nonoverlapping(p, pad.as_mut_ptr(), 4 * n);
            Self::load_le(pad.as_ptr())
        }
    }
    /// The first `n < LANES` signed bytes from `p` as f32, the rest zero.
    #[inline(always)]
    unsafe fn load_i8_partial(p: *const u8, n: usize) -> Self {
        let mut pad = [0u8; MAX_LANES];
        // SAFETY: `p` is valid for `n` bytes; `pad` holds MAX_LANES.
        unsafe {
            core::ptr::copy_nonoverlapping(p, pad.as_mut_ptr(), n);
            Self::load_i8(pad.as_ptr())
        }
    }
    /// Hints that the cache line holding `p` will be read soon (where the level has
    /// such a hint; it reads nothing, so any address will do, and changes no result).
    #[inline(always)]
    unsafe fn prefetch(_p: *const u8) {}
    /// `v` in every lane.
    unsafe fn splat(v: f32) -> Self;
    /// Writes the `LANES` f32 to `p` (valid for `LANES` writes, no alignment needed).
    unsafe fn store(self, p: *mut f32);
    /// `self + b`, lane by lane.
    unsafe fn add(self, b: Self) -> Self;
    /// `acc + self * b` (fused where the level has FMA).
    unsafe fn mul_add(self, b: Self, acc: Self) -> Self;
    /// The sum of the lanes.
    unsafe fn sum(self) -> f32;
    /// The lane sums of eight vectors (a transposing reduction where the level has
    /// one).
    #[inline(always)]
    unsafe fn sum8(v: [Self; 8]) -> [f32; 8] {
        // SAFETY: forwarded to the caller.
        v.map(|x| unsafe { x.sum() })
    }
}

/// The widest vector, in f32 lanes.
const MAX_LANES: usize = 16;

/// How weights are stored.
pub(super) trait Elem {
    /// Bytes per element.
    const BYTES: usize;
    /// `V::LANES` elements from `p`.
    ///
    /// # Safety
    ///
    /// As [`Vector`]'s loads.
    unsafe fn load<V: Vector>(p: *const u8) -> V;
    /// The first `n < V::LANES` elements from `p`, the other lanes zero.
    ///
    /// # Safety
    ///
    /// As [`Vector`]'s partial loads.
    unsafe fn load_partial<V: Vector>(p: *const u8, n: usize) -> V;
    /// Row `r`'s dot product `s` as the matrix means it (times the row's scale).
    fn finish(w: &Rows<'_>, r: usize, s: f32) -> f32;
    /// [`Elem::finish`] of rows `r..r + s.len()` in place.
    fn finish_rows(w: &Rows<'_>, r: usize, s: &mut [f32]);
}

/// Little-endian f32 weights.
pub(super) struct F32Le;
/// Signed byte weights with one f32 scale per row.
pub(super) struct I8;

impl Elem for F32Le {
    const BYTES: usize = 4;
    #[inline(always)]
    unsafe fn load<V: Vector>(p: *const u8) -> V {
        // SAFETY: forwarded to the caller.
        unsafe { V::load_le(p) }
    }
    #[inline(always)]
    unsafe fn load_partial<V: Vector>(p: *const u8, n: usize) -> V {
        // SAFETY: forwarded to the caller.
        unsafe { V::load_le_partial(p, n) }
    }
    #[inline(always)]
    fn finish(_: &Rows<'_>, _: usize, s: f32) -> f32 {
        s
    }
    #[inline(always)]
    fn finish_rows(_: &Rows<'_>, _: usize, _: &mut [f32]) {}
}

impl Elem for I8 {
    const BYTES: usize = 1;
    #[inline(always)]
    unsafe fn load<V: Vector>(p: *const u8) -> V {
        // SAFETY: forwarded to the caller.
        unsafe { V::load_i8(p) }
    }
    #[inline(always)]
    unsafe fn load_partial<V: Vector>(p: *const u8, n: usize) -> V {
        // SAFETY: forwarded to the caller.
        unsafe { V::load_i8_partial(p, n) }
    }
    #[inline(always)]
    fn finish(w: &Rows<'_>, r: usize, s: f32) -> f32 {
        let b = &w.scales[r * 4..r * 4 + 4];
        f32::from_le_bytes([b[0], b[1], b[2], b[3]]) * s
    }
    #[inline(always)]
    fn finish_rows(w: &Rows<'_>, r: usize, s: &mut [f32]) {
        let scales = &w.scales[r * 4..(r + s.len()) * 4];
        for (v, b) in s.iter_mut().zip(scales.chunks_exact(4)) {
            *v *= f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
    }
}

/// The `R x T` dot products of rows `w + r * row_bytes` (`cols` elements each) with
/// inputs `x + t * x_stride` (`cols` f32 each).
///
/// # Safety
///
/// The level's target features are enabled; every row and input lies in memory.
#[inline(always)]
unsafe fn tile<V: Vector, E: Elem, const R: usize, const T: usize>(
    w: *const u8,
    row_bytes: usize,
    cols: usize,
    x: *const f32,
    x_stride: usize,
) -> [[f32; T]; R] {
    // SAFETY: forwarded to the caller; no prefetching.
    unsafe { tile_ahead::<V, E, R, T, false>(w, row_bytes, cols, x, x_stride, w) }
}

/// [`tile`], and, if `AHEAD`, a prefetch of each line of the `R` rows at `ahead` (same
/// `row_bytes` and `cols`) as the columns reach it: the next tile's weights, streamed
/// from L2 or L3 while this tile computes. The same results.
///
/// # Safety
///
/// As [`tile`] (`ahead` is only a hint: it is never read).
#[inline(always)]
unsafe fn tile_ahead<V: Vector, E: Elem, const R: usize, const T: usize, const AHEAD: bool>(
    w: *const u8,
    row_bytes: usize,
    cols: usize,
    x: *const f32,
    x_stride: usize,
    ahead: *const u8,
) -> [[f32; T]; R] {
    const { assert!(V::LANES <= MAX_LANES) };
    // SAFETY: every pointer below stays within the R rows and T inputs of `cols`
    // elements the caller guarantees (`i + LANES <= cols`, then `rem` elements
    // from `i`).
    unsafe {
        let mut acc = [[V::zero(); T]; R];
        let mut i = 0;
        while i + V::LANES <= cols {
            if AHEAD && (i * E::BYTES) % LINE_BYTES == 0 {
                for r in 0..R {
                    V::prefetch(ahead.wrapping_add(r * row_bytes + i * E::BYTES));
                }
            }
            let mut xv = [V::zero(); T];
            for (t, v) in xv.iter_mut().enumerate() {
                *v = V::load(x.add(t * x_stride + i));
            }
            for (r, acc_r) in acc.iter_mut().enumerate() {
                let wv: V = E::load(w.add(r * row_bytes + i * E::BYTES));
                for (a, &xt) in acc_r.iter_mut().zip(&xv) {
                    *a = wv.mul_add(xt, *a);
                }
            }
            i += V::LANES;
        }
        // The last `cols % LANES` columns: one more step with the missing lanes
        // zero (they contribute 0 * 0).
        let rem = cols - i;
        if rem > 0 {
            let mut xv = [V::zero(); T];
            for (t, v) in xv.iter_mut().enumerate() {
                *v = V::load_partial(x.add(t * x_stride + i), rem);
            }
            for (r, acc_r) in acc.iter_mut().enumerate() {
                let wv: V = E::load_partial(w.add(r * row_bytes + i * E::BYTES), rem);
                for (a, &xt) in acc_r.iter_mut().zip(&xv) {
                    *a = wv.mul_add(xt, *a);
                }
            }
        }
        let mut out = [[0.0f32; T]; R];
        if (R * T).is_multiple_of(8) {
            // One transposing reduction per eight accumulators.
            for k0 in (0..R * T).step_by(8) {
                let sums = V::sum8(core::array::from_fn(|k| acc[(k0 + k) / T][(k0 + k) % T]));
                for (k, s) in sums.into_iter().enumerate() {
                    out[(k0 + k) / T][(k0 + k) % T] = s;
                }
            }
        } else {
            for (out_r, acc_r) in out.iter_mut().zip(&acc) {
                for (o, a) in out_r.iter_mut().zip(acc_r) {
                    *o = a.sum();
                }
            }
        }
        out
    }
}

/// Rows per tile of the matrix-vector product: enough independent accumulators to
/// hide the multiply-add latency, one input load shared by all of them.
const GEMV_ROWS: usize = 8;
/// Cache line size of the processors the levels run on, for prefetching.
const LINE_BYTES: usize = 64;
/// Shortest rows whose matrix-vector products prefetch the next tile: with shorter
/// rows a matrix comes from L1 or L2 in few lines per tile, where the hardware
/// prefetchers keep up and the hints only cost instructions (measured on Zen 3: 16
/// columns slower with them, 128 faster).
const PREFETCH_ROW_BYTES: usize = 256;
/// Rows and inputs per tile of the block projection, for levels with 16 vector
/// registers; [`project`] takes others.
pub(super) const PROJECT_ROWS: usize = 2;
pub(super) const PROJECT_INPUTS: usize = 4;

/// `out[r] += finish(r, row r . x)`; one input (from `x`) against every row.
///
/// # Safety
///
/// The level's target features are enabled; `w.in_bounds()`, `x.len() >= w.cols`,
/// `out.len() >= w.rows`.
#[inline(always)]
pub(super) unsafe fn gemv<V: Vector, E: Elem>(w: &Rows<'_>, x: &[f32], out: &mut [f32]) {
    // SAFETY: forwarded to the caller.
    unsafe {
        gemv_rows::<V, E>(w, x.as_ptr(), |r, s| {
            for (o, &v) in out[r..r + s.len()].iter_mut().zip(s) {
                *o += v;
            }
        })
    }
}

/// Calls `put(r, s)` with `s[k] = finish(r + k, row r + k . x)` for consecutive runs
/// of rows covering all of them.
///
/// # Safety
///
/// As [`gemv`], with `x` valid for `w.cols` reads.
#[inline(always)]
unsafe fn gemv_rows<V: Vector, E: Elem>(
    w: &Rows<'_>,
    x: *const f32,
    mut put: impl FnMut(usize, &[f32]),
) {
    let row_bytes = w.stride * E::BYTES;
    let base = w.data.as_ptr();
    let mut r = 0;
    // SAFETY: rows r..r+GEMV_ROWS (or r) are within `w.rows`, which lie in `data`.
    unsafe {
        if row_bytes >= PREFETCH_ROW_BYTES {
            // Each tile that has a next one prefetches it.
            while r + 2 * GEMV_ROWS <= w.rows {
                let (at, ahead) = (
                    base.add(r * row_bytes),
                    base.add((r + GEMV_ROWS) * row_bytes),
                );
                let s = tile_ahead::<V, E, GEMV_ROWS, 1, true>(at, row_bytes, w.cols, x, 0, ahead);
                let mut v: [f32; GEMV_ROWS] = core::array::from_fn(|k| s[k][0]);
                E::finish_rows(w, r, &mut v);
                put(r, &v);
                r += GEMV_ROWS;
            }
        }
        while r + GEMV_ROWS <= w.rows {
            let s = tile::<V, E, GEMV_ROWS, 1>(base.add(r * row_bytes), row_bytes, w.cols, x, 0);
            let mut v: [f32; GEMV_ROWS] = core::array::from_fn(|k| s[k][0]);
            E::finish_rows(w, r, &mut v);
            put(r, &v);
            r += GEMV_ROWS;
        }
        while r < w.rows {
            let s = tile::<V, E, 1, 1>(base.add(r * row_bytes), row_bytes, w.cols, x, 0);
            put(r, &[E::finish(w, r, s[0][0])]);
            r += 1;
        }
    }
}

/// `out[t * rows + r] = bias[r] + finish(r, row r . xs[t])` for `b` inputs, in tiles of
/// `PROJECT_ROWS` rows and `PROJECT_INPUTS` inputs.
///
/// # Safety
///
/// The level's target features are enabled; `w.in_bounds()`, `xs.len() >= b *
/// w.cols`, `bias.len() >= 4 * w.rows`, `out.len() >= b * w.rows`.
#[inline(always)]
pub(super) unsafe fn project<
    V: Vector,
    E: Elem,
    const PROJECT_ROWS: usize,
    const PROJECT_INPUTS: usize,
>(
    w: &Rows<'_>,
    xs: &[f32],
    b: usize,
    bias: &[u8],
    out: &mut [f32],
) {
    let (rows, cols) = (w.rows, w.cols);
    let bias_at = |r: usize| {
        let v = &bias[r * 4..r * 4 + 4];
        f32::from_le_bytes([v[0], v[1], v[2], v[3]])
    };
    let row_bytes = w.stride * E::BYTES;
    let base = w.data.as_ptr();
    let mut t = 0;
    // SAFETY: inputs t..t+PROJECT_INPUTS are within `b`, rows within `w.rows`.
    unsafe {
        while t + PROJECT_INPUTS <= b {
            let x = xs.as_ptr().add(t * cols);
            let mut r = 0;
            while r + PROJECT_ROWS <= rows {
                let s = tile::<V, E, PROJECT_ROWS, PROJECT_INPUTS>(
                    base.add(r * row_bytes),
                    row_bytes,
                    cols,
                    x,
                    cols,
                );
                for (i, s) in s.iter().enumerate() {
                    let bi = bias_at(r + i);
                    for (k, &v) in s.iter().enumerate() {
                        out[(t + k) * rows + r + i] = bi + E::finish(w, r + i, v);
                    }
                }
                r += PROJECT_ROWS;
            }
            while r < rows {
                let s = tile::<V, E, 1, PROJECT_INPUTS>(
                    base.add(r * row_bytes),
                    row_bytes,
                    cols,
                    x,
                    cols,
                );
                let bi = bias_at(r);
                for (k, &v) in s[0].iter().enumerate() {
                    out[(t + k) * rows + r] = bi + E::finish(w, r, v);
                }
                r += 1;
            }
            t += PROJECT_INPUTS;
        }
        while t < b {
            let o = &mut out[t * rows..(t + 1) * rows];
            gemv_rows::<V, E>(w, xs.as_ptr().add(t * cols), |r, s| {
                let bs = &bias[r * 4..(r + s.len()) * 4];
                for ((o, &v), b) in o[r..r + s.len()].iter_mut().zip(s).zip(bs.chunks_exact(4)) {
                    *o = f32::from_le_bytes([b[0], b[1], b[2], b[3]]) + v;
                }
            });
            t += 1;
        }
    }
}

/// `out[r] += (scale_r * x_scale) * dot(r)`, as the scalar path computes it.
#[inline(always)]
pub(super) fn finish_i8_i16(w: &Rows<'_>, r: usize, x_scale: f32, dot: i64, out: &mut [f32]) {
    let s = &w.scales[r * 4..r * 4 + 4];
    let scale = f32::from_le_bytes([s[0], s[1], s[2], s[3]]) * x_scale;
    out[r] += scale * dot as f32;
}

/// `out[r * 8 + l] += sum_k w_r[k] * xt[k * 8 + l]`: eight inputs side by side
/// ([`crate::kernels::gemm_lanes`], whose summation order it keeps: from zero, column by
/// column). `VPR` vectors hold the eight lanes; `R` rows share each load of `xt`, each
/// weight broadcast to all lanes, so no horizontal sums are needed.
///
/// # Safety
///
/// The level's target features are enabled; `V::LANES * VPR == 8`; `w.in_bounds()`,
/// f32 rows, `xt.len() >= 8 * w.cols`, `out.len() >= 8 * w.rows`.
#[inline(always)]
pub(super) unsafe fn gemm_lanes<V: Vector, const R: usize, const VPR: usize>(
    w: &Rows<'_>,
    xt: &[f32],
    out: &mut [f32],
) {
    const L: usize = crate::kernels::BATCH_LANES;
    const { assert!(R > 0 && VPR > 0) };
    let (cols, row_bytes) = (w.cols, 4 * w.stride);
    let base = w.data.as_ptr();
    let (x, o) = (xt.as_ptr(), out.as_mut_ptr());
    // SAFETY: rows `r..r + R` (or `r`) are below `w.rows`, whose bytes lie in `data`
    // (`in_bounds`); column `k < cols` of `xt` and row `r` of `out` hold 8 f32 each.
    unsafe {
        let mut r = 0;
        while r + R <= w.rows {
            let mut acc = [[V::zero(); VPR]; R];
            for k in 0..cols {
                let mut xv = [V::zero(); VPR];
                for (j, v) in xv.iter_mut().enumerate() {
                    *v = V::load(x.add(k * L + j * V::LANES));
                }
                for (i, acc_i) in acc.iter_mut().enumerate() {
                    let p = base.add((r + i) * row_bytes + 4 * k);
                    let wk = V::splat(f32::from_le_bytes(p.cast::<[u8; 4]>().read()));
                    for (a, &xj) in acc_i.iter_mut().zip(&xv) {
                        *a = wk.mul_add(xj, *a);
                    }
                }
            }
            for (i, acc_i) in acc.iter().enumerate() {
                for (j, a) in acc_i.iter().enumerate() {
                    let p = o.add((r + i) * L + j * V::LANES);
                    V::load(p).add(*a).store(p);
                }
            }
            r += R;
        }
        while r < w.rows {
            let mut acc = [V::zero(); VPR];
            for k in 0..cols {
                let p = base.add(r * row_bytes + 4 * k);
                let wk = V::splat(f32::from_le_bytes(p.cast::<[u8; 4]>().read()));
                for (j, a) in acc.iter_mut().enumerate() {
                    *a = wk.mul_add(V::load(x.add(k * L + j * V::LANES)), *a);
                }
            }
            for (j, a) in acc.iter().enumerate() {
                let p = o.add(r * L + j * V::LANES);
                V::load(p).add(*a).store(p);
            }
            r += 1;
        }
    }
}

/// [`crate::kernels::gemv_panels`] of `z = [x, h]` (`cols = x.len() + h.len()`, the two
/// read in place): `T` panels at a time (each 16 rows, `VPP` vectors), then single
/// panels ([`PanelSums`]).
///
/// # Safety
///
/// The level's target features are enabled; `V::LANES * VPP == 16`;
/// `out.len()` is a multiple of 16, `panels.len() >= out.len() / 16 * 16 * (1 + cols)`.
#[inline(always)]
pub(super) unsafe fn gemv_panels<V: Vector, const T: usize, const VPP: usize>(
    panels: &[f32],
    x: &[f32],
    h: &[f32],
    out: &mut [f32],
) {
    const P: usize = crate::kernels::PANEL_ROWS;
    let stride = P * (1 + x.len() + h.len());
    let n = out.len() / P;
    let (w, o) = (panels.as_ptr(), out.as_mut_ptr());
    // SAFETY: panels `p..p + T` (or `p`) are below `n`, whose floats lie in `panels`;
    // their outputs in `out` (caller).
    unsafe {
        let mut p = 0;
        while p + T <= n {
            let rows = panel_rows::<V, T, VPP>(w.add(p * stride), stride, x, h);
            store_rows(&rows, o.add(p * P));
            p += T;
        }
        while p < n {
            let rows = panel_rows::<V, 1, VPP>(w.add(p * stride), stride, x, h);
            store_rows(&rows, o.add(p * P));
            p += 1;
        }
    }
}

/// The rows of `T` panels (`stride` floats apart from `w`) times `z = [x, h]`
/// ([`PanelSums`]), panel by panel.
///
/// # Safety
///
/// The level's target features are enabled; `V::LANES * VPP == 16`; `w + t * stride`
/// (`t < T`) starts a panel of `x.len() + h.len()` columns.
#[inline(always)]
pub(super) unsafe fn panel_rows<V: Vector, const T: usize, const VPP: usize>(
    w: *const f32,
    stride: usize,
    x: &[f32],
    h: &[f32],
) -> [[V; VPP]; T] {
    // SAFETY: as the caller's.
    unsafe {
        let mut sums = PanelSums::<V, T, VPP>::bias(w, stride);
        sums.columns(0, x);
        sums.columns(x.len(), h);
        sums.finish()
    }
}

/// Writes `T` panels' rows ([`panel_rows`]) to `o`, 16 floats per panel.
///
/// # Safety
///
/// The level's target features are enabled; `V::LANES * VPP == 16`; `o` is valid for
/// `T * 16` floats.
#[inline(always)]
pub(super) unsafe fn store_rows<V: Vector, const T: usize, const VPP: usize>(
    rows: &[[V; VPP]; T],
    o: *mut f32,
) {
    // SAFETY: as the caller's.
    unsafe {
        for (t, r) in rows.iter().enumerate() {
            for (j, v) in r.iter().enumerate() {
                v.store(o.add(t * crate::kernels::PANEL_ROWS + j * V::LANES));
            }
        }
    }
}

/// The rows of `T` panels (each 16 rows, `VPP` vectors; `stride` floats apart from
/// `w`) as [`crate::kernels::gemv_panels`] sums them: each row's bias and products of
/// the even columns, and its products of the odd columns, each in column order (fused
/// where the level has FMA), in two accumulators; the row's value is their sum. Each
/// input value is broadcast to every lane, so no horizontal sums are needed.
struct PanelSums<V, const T: usize, const VPP: usize> {
    w: *const f32,
    stride: usize,
    even: [[V; VPP]; T],
    odd: [[V; VPP]; T],
}

impl<V: Vector, const T: usize, const VPP: usize> PanelSums<V, T, VPP> {
    /// The panels' biases.
    ///
    /// # Safety
    ///
    /// The level's target features are enabled; `V::LANES * VPP == 16`; `w + t *
    /// stride` (`t < T`) starts a panel.
    #[inline(always)]
    unsafe fn bias(w: *const f32, stride: usize) -> Self {
        const { assert!(T > 0 && V::LANES * VPP == crate::kernels::PANEL_ROWS) };
        // SAFETY: each panel begins with its 16 biases (caller); the features are
        // enabled.
        unsafe {
            let mut even = [[V::zero(); VPP]; T];
            for (t, e) in even.iter_mut().enumerate() {
                for (j, v) in e.iter_mut().enumerate() {
                    *v = V::load(w.add(t * stride + j * V::LANES));
                }
            }
            PanelSums {
                w,
                stride,
                even,
                odd: [[V::zero(); VPP]; T],
            }
        }
    }

    /// Adds columns `k0..k0 + z.len()` times `z`.
    ///
    /// # Safety
    ///
    /// As [`Self::bias`]; the panels have these columns.
    #[inline(always)]
    unsafe fn columns(&mut self, k0: usize, z: &[f32]) {
        const P: usize = crate::kernels::PANEL_ROWS;
        let (w, stride, n) = (self.w, self.stride, z.len());
        // SAFETY: column `k0 + i` (`i < n`) is `P` floats at `P * (1 + k0 + i)` of each
        // panel (caller).
        unsafe {
            let column = |t: usize, k: usize| w.add(t * stride + P * (1 + k));
            let mut i = 0;
            if k0 % 2 == 1 && n > 0 {
                let z1 = V::splat(*z.as_ptr());
                for t in 0..T {
                    for j in 0..VPP {
                        let wv = V::load(column(t, k0).add(j * V::LANES));
                        self.odd[t][j] = wv.mul_add(z1, self.odd[t][j]);
                    }
                }
                i = 1;
            }
            while i + 2 <= n {
                let (z0, z1) = (
                    V::splat(*z.as_ptr().add(i)),
                    V::splat(*z.as_ptr().add(i + 1)),
                );
                for t in 0..T {
                    let at = column(t, k0 + i);
                    for j in 0..VPP {
                        let (w0, w1) = (
                            V::load(at.add(j * V::LANES)),
                            V::load(at.add(P + j * V::LANES)),
                        );
                        self.even[t][j] = w0.mul_add(z0, self.even[t][j]);
                        self.odd[t][j] = w1.mul_add(z1, self.odd[t][j]);
                    }
                }
                i += 2;
            }
            if i < n {
                let z0 = V::splat(*z.as_ptr().add(i));
                for t in 0..T {
                    for j in 0..VPP {
                        let wv = V::load(column(t, k0 + i).add(j * V::LANES));
                        self.even[t][j] = wv.mul_add(z0, self.even[t][j]);
                    }
                }
            }
        }
    }

    /// The rows' values, panel by panel.
    ///
    /// # Safety
    ///
    /// As [`Self::bias`] (the level's target features are enabled).
    #[inline(always)]
    unsafe fn finish(self) -> [[V; VPP]; T] {
        let mut sums = self.even;
        for (s, o) in sums.iter_mut().zip(self.odd) {
            for (v, o) in s.iter_mut().zip(o) {
                // SAFETY: the level's features are enabled (contract of `bias`).
                *v = unsafe { v.add(o) };
            }
        }
        sums
    }
}

/// The `VPP` vectors of one panel column: the 16 rows' little-endian f32 at `p`.
///
/// # Safety
///
/// The level's target features are enabled; `p` is valid for 64 bytes.
#[inline(always)]
unsafe fn panel_column<V: Vector, const VPP: usize>(p: *const u8) -> [V; VPP] {
    // SAFETY: vector `j` reads bytes `4 LANES j..4 LANES (j + 1)` of the 64 (caller).
    core::array::from_fn(|j| unsafe { V::load_le(p.add(4 * j * V::LANES)) })
}

/// The 16 sums of a panel's rows (`VPP` vectors), spilled to an array: the rows of the
/// last, partial panel, which has fewer than 16 outputs.
///
/// # Safety
///
/// The level's target features are enabled; `V::LANES * VPP == 16`.
#[inline(always)]
unsafe fn panel_sums<V: Vector, const VPP: usize>(acc: &[V; VPP]) -> [f32; 16] {
    let mut sums = [0.0f32; 16];
    for (j, a) in acc.iter().enumerate() {
        // SAFETY: vector `j` fills floats `LANES j..LANES (j + 1)` of the 16.
        unsafe { a.store(sums.as_mut_ptr().add(j * V::LANES)) };
    }
    sums
}

/// [`crate::kernels::panel_gemv`]: `out[r] += sum_k w(r, k) x[k]` over a matrix in the
/// panel layout, `T` panels at a time, then single panels. Each row keeps the
/// reference's two sums (even and odd columns, each from zero in column order, fused
/// where the level has FMA) and adds them, as the reference does: two independent
/// chains per vector of rows. Each input value is broadcast to the 16 rows of a panel
/// column, so there are no horizontal sums. One panel at a time reads the weights as
/// one sequential stream, which on some processors arrives from L2 faster than several
/// panels' streams side by side (on a Zen 5, with the base model's `W_hh` of 256 KB per
/// direction, batch-1 tagging ran about 10% faster at `avx512` than with 4 panels at a
/// time, 5% at `avx2` than with 2; on an Intel Ice Lake 5% slower); weights in L1 gain
/// from more chains side by side.
///
/// # Safety
///
/// The level's target features are enabled; `V::LANES * VPP == 16`;
/// `w.in_bounds()`, `x.len() >= w.cols`, `out.len() >= w.rows`.
#[inline(always)]
pub(super) unsafe fn panel_gemv<V: Vector, const T: usize, const VPP: usize>(
    w: &Panels<'_>,
    x: &[f32],
    out: &mut [f32],
) {
    const P: usize = crate::kernels::PANEL_ROWS;
    const { assert!(T > 0 && V::LANES * VPP == P) };
    let n = w.rows.div_ceil(P);
    // SAFETY: panels `p..p + T` (or `p`) are below `n`: their columns lie in `data`
    // (`in_bounds`), their rows' outputs below `w.rows` in `out`.
    unsafe {
        let mut p = 0;
        while p + T <= n {
            panel_gemv_tile::<V, T, VPP>(w, p, x, out);
            p += T;
        }
        while p < n {
            panel_gemv_tile::<V, 1, VPP>(w, p, x, out);
            p += 1;
        }
    }
}

/// [`panel_gemv`] for panels `p..p + T`.
///
/// # Safety
///
/// As [`panel_gemv`]; `p + T <= ceil(rows / 16)`.
#[inline(always)]
unsafe fn panel_gemv_tile<V: Vector, const T: usize, const VPP: usize>(
    w: &Panels<'_>,
    p: usize,
    x: &[f32],
    out: &mut [f32],
) {
    const P: usize = crate::kernels::PANEL_ROWS;
    // (A function, not a closure: closures do not inherit the target features.)
    #[inline(always)]
    unsafe fn column<V: Vector, const VPP: usize>(w: &Panels<'_>, q: usize, k: usize) -> [V; VPP] {
        // SAFETY: column `k` of panel `q` (the caller's bounds).
        unsafe { panel_column::<V, VPP>(w.data.as_ptr().add(4 * (q * w.stride + P * k))) }
    }
    // SAFETY: column `k < cols` of panel `p + t` is 64 bytes at float `(p + t) stride +
    // 16 k`, within `data` (`in_bounds`); `x` holds `cols` values; the rows stored are
    // below `w.rows <= out.len()`.
    unsafe {
        let (mut even, mut odd) = ([[V::zero(); VPP]; T], [[V::zero(); VPP]; T]);
        let mut k = 0;
        while k + 2 <= w.cols {
            let (x0, x1) = (
                V::splat(*x.as_ptr().add(k)),
                V::splat(*x.as_ptr().add(k + 1)),
            );
            for t in 0..T {
                let (c0, c1) = (
                    column::<V, VPP>(w, p + t, k),
                    column::<V, VPP>(w, p + t, k + 1),
                );
                for j in 0..VPP {
                    even[t][j] = c0[j].mul_add(x0, even[t][j]);
                    odd[t][j] = c1[j].mul_add(x1, odd[t][j]);
                }
            }
            k += 2;
        }
        if k < w.cols {
            let x0 = V::splat(*x.as_ptr().add(k));
            for (t, even_t) in even.iter_mut().enumerate() {
                for (a, c) in even_t.iter_mut().zip(column::<V, VPP>(w, p + t, k)) {
                    *a = c.mul_add(x0, *a);
                }
            }
        }
        for (t, (even_t, odd_t)) in even.iter_mut().zip(&odd).enumerate() {
            for (a, o) in even_t.iter_mut().zip(odd_t) {
                *a = a.add(*o);
            }
            let r0 = (p + t) * P;
            let o = out.as_mut_ptr().add(r0);
            if w.rows - r0 >= P {
                for (j, a) in even_t.iter().enumerate() {
                    let q = o.add(j * V::LANES);
                    V::load(q).add(*a).store(q);
                }
            } else {
                let sums = panel_sums::<V, VPP>(even_t);
                for (i, s) in sums.iter().enumerate().take(w.rows - r0) {
                    *o.add(i) += s;
                }
            }
        }
    }
}

/// The panel layout's [`crate::tensor::Matrix::project_block`] (with a `bias`) and
/// [`crate::tensor::Matrix::gemm_add`] (without): `out[t * rows + r] = bias[r] + sum_k w(r,
/// k) xs[t * cols + k]`, or `out[t * rows + r] += sum_k ...`, for `b` inputs over a matrix
/// in the panel layout, in tiles of `PT8` panels times 8 inputs (then the last 5 to 7
/// inputs in one tile of `PT8` panels), `PT4` panels times 4 inputs (then 3 left in one
/// tile) and `PT2` panels times 2 inputs (none where 0), then `PT1` panels times 1 input
/// (a single panel where 0): each tile reads every weight once, so the inputs of a block
/// take as few passes over the weights as the tiles allow. Each sum starts at zero and
/// takes its products in column order (fused where the level has FMA), then lands on the
/// bias or the output, as the reference does: an input's results do not depend on the
/// tile it is in (or on input `t`'s own row `rows[t]`, [`Start::Rows`]). With `PAIRS`
/// (used without a bias) each row keeps two sums, of the
/// even and of the odd columns, added before they land, as
/// [`crate::kernels::panel_gemv`] defines them. Each weight column serves every input
/// of the tile, each input value every row of the panel column: a register-tiled GEMM
/// without horizontal sums.
///
/// # Safety
///
/// The level's target features are enabled; `V::LANES * VPP == 16`;
/// `w.in_bounds()`, `xs.len() >= b * w.cols`, `out.len() >= b * w.rows`; a
/// [`Start::Bias`] holds `4 * w.rows` bytes, a [`Start::Rows`] `b` rows of `w.rows`
/// values.
#[inline(always)]
pub(super) unsafe fn panel_project<
    V: Vector,
    const PAIRS: bool,
    const VPP: usize,
    const PT8: usize,
    const PT4: usize,
    const PT2: usize,
    const PT1: usize,
>(
    w: &Panels<'_>,
    xs: &[f32],
    b: usize,
    start: Start<'_>,
    out: &mut [f32],
) {
    // SAFETY: inputs `t..t + B` are below `b` (the requirements of each call).
    unsafe {
        let mut t = 0;
        if PT8 > 0 {
            while t + 8 <= b {
                panel_project_inputs::<V, PAIRS, VPP, PT8, 8>(w, xs, t, start, out);
                t += 8;
            }
            // The last 5 to 7 inputs in one pass over the weights, in a tile with fewer
            // sums than the 8 inputs' one.
            t = match b - t {
                7 => {
                    panel_project_inputs::<V, PAIRS, VPP, PT8, 7>(w, xs, t, start, out);
                    b
                }
                6 => {
                    panel_project_inputs::<V, PAIRS, VPP, PT8, 6>(w, xs, t, start, out);
                    b
                }
                5 => {
                    panel_project_inputs::<V, PAIRS, VPP, PT8, 5>(w, xs, t, start, out);
                    b
                }
                _ => t,
            };
        }
        if PT4 > 0 {
            while t + 4 <= b {
                panel_project_inputs::<V, PAIRS, VPP, PT4, 4>(w, xs, t, start, out);
                t += 4;
            }
            if b - t == 3 {
                panel_project_inputs::<V, PAIRS, VPP, PT4, 3>(w, xs, t, start, out);
                t = b;
            }
        }
        if PT2 > 0 {
            while t + 2 <= b {
                panel_project_inputs::<V, PAIRS, VPP, PT2, 2>(w, xs, t, start, out);
                t += 2;
            }
        }
        while t < b {
            panel_project_inputs::<V, PAIRS, VPP, PT1, 1>(w, xs, t, start, out);
            t += 1;
        }
    }
}

/// [`panel_project`] for inputs `t..t + B`: every panel, `PT` at a time, then one at a
/// time.
///
/// # Safety
///
/// As [`panel_project`]; `t + B <= b`.
#[inline(always)]
unsafe fn panel_project_inputs<
    V: Vector,
    const PAIRS: bool,
    const VPP: usize,
    const PT: usize,
    const B: usize,
>(
    w: &Panels<'_>,
    xs: &[f32],
    t: usize,
    start: Start<'_>,
    out: &mut [f32],
) {
    const P: usize = crate::kernels::PANEL_ROWS;
    // `PT` is 0 only in a level's unused tiles (`PT8`, `PT4` or `PT2` 0), never called.
    const { assert!(V::LANES * VPP == P) };
    let n = w.rows.div_ceil(P);
    // SAFETY: forwarded, panels below `n`.
    unsafe {
        let mut p = 0;
        while PT > 0 && p + PT <= n {
            panel_project_tile::<V, PAIRS, VPP, PT, B>(w, xs, t, p, start, out);
            p += PT;
        }
        while p < n {
            panel_project_tile::<V, PAIRS, VPP, 1, B>(w, xs, t, p, start, out);
            p += 1;
        }
    }
}

/// [`panel_project`] for panels `p..p + PT` and inputs `t..t + B`.
///
/// # Safety
///
/// As [`panel_project`]; `p + PT <= ceil(rows / 16)`, `t + B <= b`.
#[inline(always)]
unsafe fn panel_project_tile<
    V: Vector,
    const PAIRS: bool,
    const VPP: usize,
    const PT: usize,
    const B: usize,
>(
    w: &Panels<'_>,
    xs: &[f32],
    t: usize,
    p: usize,
    start: Start<'_>,
    out: &mut [f32],
) {
    const P: usize = crate::kernels::PANEL_ROWS;
    let (rows, cols) = (w.rows, w.cols);
    let base = w.data.as_ptr();
    // SAFETY: column `k < cols` of panel `p + q` lies in `data` (`in_bounds`); input
    // `t + i` is `cols` values of `xs`; rows below `w.rows` of output `t + i` lie in
    // `out`, their biases in a `Start::Bias`, their starts in a `Start::Rows`' row `t + i`.
    unsafe {
        let mut acc = [[[V::zero(); VPP]; B]; PT];
        let x = xs.as_ptr().add(t * cols);
        let mut k = 0;
        if PAIRS {
            let mut odd = [[[V::zero(); VPP]; B]; PT];
            while k + 2 <= cols {
                panel_project_column::<V, VPP, PT, B>(&mut acc, base, w.stride, p, x, cols, k);
                panel_project_column::<V, VPP, PT, B>(&mut odd, base, w.stride, p, x, cols, k + 1);
                k += 2;
            }
            if k < cols {
                panel_project_column::<V, VPP, PT, B>(&mut acc, base, w.stride, p, x, cols, k);
            }
            for (acc_q, odd_q) in acc.iter_mut().zip(&odd) {
                for (acc_i, odd_i) in acc_q.iter_mut().zip(odd_q) {
                    for (a, o) in acc_i.iter_mut().zip(odd_i) {
                        *a = a.add(*o);
                    }
                }
            }
        } else {
            while k < cols {
                panel_project_column::<V, VPP, PT, B>(&mut acc, base, w.stride, p, x, cols, k);
                k += 1;
            }
        }
        for (q, acc_q) in acc.iter().enumerate() {
            let r0 = (p + q) * P;
            for (i, acc_i) in acc_q.iter().enumerate() {
                let o = out.as_mut_ptr().add((t + i) * rows + r0);
                if rows - r0 >= P {
                    for (j, a) in acc_i.iter().enumerate() {
                        let q = o.add(j * V::LANES);
                        let at = r0 + j * V::LANES;
                        let start = match start {
                            Start::Bias(bias) => V::load_le(bias.as_ptr().add(4 * at)),
                            Start::Out => V::load(q),
                            Start::Rows(rows) => {
                                V::load(rows.get_unchecked(t + i).as_ptr().add(at))
                            }
                        };
                        start.add(*a).store(q);
                    }
                } else {
                    let sums = panel_sums::<V, VPP>(acc_i);
                    for (l, s) in sums.iter().enumerate().take(rows - r0) {
                        let start = match start {
                            Start::Bias(bias) => {
                                let b = &bias[4 * (r0 + l)..4 * (r0 + l) + 4];
                                f32::from_le_bytes([b[0], b[1], b[2], b[3]])
                            }
                            Start::Out => *o.add(l),
                            Start::Rows(rows) => *rows.get_unchecked(t + i).as_ptr().add(r0 + l),
                        };
                        *o.add(l) = start + s;
                    }
                }
            }
        }
    }
}

/// Column `k` of panels `p..p + PT` times value `k` of inputs `0..B` (`cols` apart from
/// `x`), multiply-added into `acc`.
///
/// # Safety
///
/// The level's target features are enabled; column `k` of those panels lies at
/// `base` (panels `stride` floats apart), `x` holds the `B` inputs' `cols` values.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn panel_project_column<V: Vector, const VPP: usize, const PT: usize, const B: usize>(
    acc: &mut [[[V; VPP]; B]; PT],
    base: *const u8,
    stride: usize,
    p: usize,
    x: *const f32,
    cols: usize,
    k: usize,
) {
    const P: usize = crate::kernels::PANEL_ROWS;
    // SAFETY: within the panels and inputs (caller).
    unsafe {
        let wk: [[V; VPP]; PT] = core::array::from_fn(|q| {
            panel_column::<V, VPP>(base.add(4 * ((p + q) * stride + P * k)))
        });
        for i in 0..B {
            let xv = V::splat(*x.add(i * cols + k));
            for (acc_q, wq) in acc.iter_mut().zip(&wk) {
                for (a, c) in acc_q[i].iter_mut().zip(wq) {
                    *a = c.mul_add(xv, *a);
                }
            }
        }
    }
}

/// [`crate::kernels::panel_gemm_lanes`]: `out[r * 8 + l] += sum_k w(r, k) xt[k * 8 +
/// l]` for eight inputs side by side over a matrix in the panel layout, `LP` lanes at a
/// time. Each sum starts at zero and takes its products in column order (fused where
/// the level has FMA), as the reference does.
///
/// # Safety
///
/// The level's target features are enabled; `V::LANES * VPP == 16`, `LP` divides 8;
/// `w.in_bounds()`, `xt.len() >= 8 * w.cols`, `out.len() >= 8 * w.rows`.
#[inline(always)]
pub(super) unsafe fn panel_gemm_lanes<V: Vector, const VPP: usize, const LP: usize>(
    w: &Panels<'_>,
    xt: &[f32],
    out: &mut [f32],
) {
    const P: usize = crate::kernels::PANEL_ROWS;
    const L: usize = crate::kernels::BATCH_LANES;
    const { assert!(LP > 0 && L.is_multiple_of(LP) && V::LANES * VPP == P) };
    let base = w.data.as_ptr();
    // SAFETY: column `k < cols` of panel `p < ceil(rows / 16)` lies in `data`
    // (`in_bounds`); `xt` holds 8 values per column; the rows stored are below `rows`.
    unsafe {
        for p in 0..w.rows.div_ceil(P) {
            let r0 = p * P;
            for l0 in (0..L).step_by(LP) {
                let mut acc = [[V::zero(); VPP]; LP];
                for k in 0..w.cols {
                    let col = panel_column::<V, VPP>(base.add(4 * (p * w.stride + P * k)));
                    for (l, acc_l) in acc.iter_mut().enumerate() {
                        let xv = V::splat(*xt.as_ptr().add(k * L + l0 + l));
                        for (a, c) in acc_l.iter_mut().zip(col) {
                            *a = c.mul_add(xv, *a);
                        }
                    }
                }
                for (l, acc_l) in acc.iter().enumerate() {
                    let sums = panel_sums::<V, VPP>(acc_l);
                    for (i, s) in sums.iter().enumerate().take(w.rows - r0) {
                        *out.as_mut_ptr().add((r0 + i) * L + l0 + l) += s;
                    }
                }
            }
        }
    }
}

/// Independent multiply-add chains per probe: enough to cover the latency of a fused
/// multiply-add on every processor the levels run on (4 cycles, 2 per cycle).
const PROBE_CHAINS: usize = 12;

/// The peak multiply-add rate of a level: `rounds` rounds of [`PROBE_CHAINS`]
/// independent `acc = acc * a + b` vectors (nothing but multiply-adds in the loop).
/// Returns the lanes' sum (so the work is kept) and the floating-point operations done.
///
/// # Safety
///
/// The level's target features are enabled.
#[inline(always)]
pub(super) unsafe fn fma_probe<V: Vector>(rounds: usize, seed: f32) -> (f32, u64) {
    // SAFETY: register arithmetic only; the caller enabled the features.
    unsafe {
        let mut acc: [V; PROBE_CHAINS] = core::array::from_fn(|k| V::splat(seed + k as f32 * 1e-3));
        let (a, b) = (V::splat(0.999_9), V::splat(1e-4));
        for _ in 0..rounds {
            for v in acc.iter_mut() {
                *v = v.mul_add(a, b);
            }
        }
        let mut total = V::zero();
        for v in acc {
            total = total.add(v);
        }
        (total.sum(), (rounds * PROBE_CHAINS * V::LANES * 2) as u64)
    }
}
