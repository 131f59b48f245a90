//! The int8 x i16 block projection written once over an integer register tile
//! ([`IntTile`]), which each vector level implements with its widening multiply-adds.
//! Every function here is `#[inline(always)]`: it compiles inside a level's
//! `#[target_feature]` entry point.
//!
//! Exactness: a tile sums at most [`CHUNK`] columns in i32 lanes and reduces them in
//! i32 (with `|q| <= 128` and `|x| <= 16383` every partial sum is at most `128 *
//! 16383 * 1024 < 2^31` in magnitude), then adds the chunks in i64. The result is
//! the exact integer dot product, equal to the scalar `dot_i8_i16`, whatever the
//! order of the additions.

use super::Rows;

/// Columns summed in i32 before a tile's sums move to i64; a multiple of every
/// [`IntTile::STEP`].
const CHUNK: usize = 1024;

/// A level's integer register tile: one accumulator per (row, input), a step over
/// [`IntTile::STEP`] columns, and a reduction of the accumulators to i32.
pub(super) trait IntTile {
    /// Lanes of partial sums in i32.
    type Acc: Copy;
    /// Columns per step: 16, or 32 for a tile that also has [`IntTile::step16`].
    const STEP: usize;
    /// # Safety
    ///
    /// The level's target features are enabled.
    unsafe fn zero() -> Self::Acc;
    /// `acc[r][t] += q_r[j] * x_t[j]` for the [`IntTile::STEP`] columns at `w[r]`
    /// (bytes) and `x[t]` (i16), each product added into a lane of i32.
    ///
    /// # Safety
    ///
    /// The level's target features are enabled; every pointer is valid for
    /// [`IntTile::STEP`] elements.
    unsafe fn step<const R: usize, const T: usize>(
        acc: &mut [[Self::Acc; T]; R],
        w: [*const u8; R],
        x: [*const i16; T],
    );
    /// As [`IntTile::step`] for 16 columns, where the step is wider (the loads read
    /// exactly 16 elements). The default: four [`IntTile::step4`].
    ///
    /// # Safety
    ///
    /// The level's target features are enabled; every pointer is valid for 16
    /// elements.
    #[inline(always)]
    unsafe fn step16<const R: usize, const T: usize>(
        acc: &mut [[Self::Acc; T]; R],
        w: [*const u8; R],
        x: [*const i16; T],
    ) {
        for k in 0..4 {
            // SAFETY: 4 elements at `4k < 16` of every pointer (caller's contract).
            unsafe {
                Self::step4(
                    acc,
                    core::array::from_fn(|r| w[r].add(4 * k)),
                    core::array::from_fn(|t| x[t].add(4 * k)),
                )
            };
        }
    }
    /// As [`IntTile::step`] for 4 columns (the loads read exactly 4 elements).
    ///
    /// # Safety
    ///
    /// The level's target features are enabled; every pointer is valid for 4
    /// elements.
    unsafe fn step4<const R: usize, const T: usize>(
        acc: &mut [[Self::Acc; T]; R],
        w: [*const u8; R],
        x: [*const i16; T],
    );
    /// The sum of each accumulator's lanes, in i32 (exact when the lanes hold the
    /// products of at most [`CHUNK`] columns).
    ///
    /// # Safety
    ///
    /// The level's target features are enabled.
    unsafe fn sums<const R: usize, const T: usize>(acc: &[[Self::Acc; T]; R]) -> [[i32; T]; R];
    /// The outputs of a [`ROWS`] x [`TOKENS`] projection tile:
    /// `out[t * rows + r] = bias[r] + (scales[r] * x_scales[t]) * sum(acc[r][t])`, each
    /// sum an exact i32 rounded to f32, the float operations in that order.
    ///
    /// # Safety
    ///
    /// The level's target features are enabled; `out` is valid for writes at
    /// `t * rows + r` for `t < TOKENS`, `r < ROWS`.
    #[inline(always)]
    unsafe fn store_projection(
        acc: &[[Self::Acc; TOKENS]; ROWS],
        scales: [f32; ROWS],
        bias: [f32; ROWS],
        x_scales: [f32; TOKENS],
        out: *mut f32,
        rows: usize,
    ) {
        // SAFETY: forwarded; the writes are the caller's.
        unsafe {
            let d = Self::sums_f32(acc);
            for (r, d) in d.iter().enumerate() {
                for (t, &d) in d.iter().enumerate() {
                    *out.add(t * rows + r) = bias[r] + (scales[r] * x_scales[t]) * d;
                }
            }
        }
    }
    /// The outputs of a [`GEMV_ROWS`] x 1 projection tile, rows `r..r + 8` of one input:
    /// `out[r] = bias[r] + (scales[r] * x_scale) * sum(acc[r][0])`, each sum an exact
    /// i32 rounded to f32, the float operations in that order. `scales` and `bias`
    /// point at the tile's first row's little-endian f32.
    ///
    /// # Safety
    ///
    /// The level's target features are enabled; `scales` and `bias` are valid for
    /// reads of 32 bytes, `out` for writes of [`GEMV_ROWS`] f32.
    #[inline(always)]
    unsafe fn store_column(
        acc: &[[Self::Acc; 1]; GEMV_ROWS],
        scales: *const u8,
        bias: *const u8,
        x_scale: f32,
        out: *mut f32,
    ) {
        // SAFETY: forwarded; the reads and writes are the caller's.
        unsafe {
            let d = Self::sums_f32(acc);
            let f32_at =
                |p: *const u8, r: usize| f32::from_le_bytes(p.add(4 * r).cast::<[u8; 4]>().read());
            for (r, d) in d.iter().enumerate() {
                *out.add(r) = f32_at(bias, r) + (f32_at(scales, r) * x_scale) * d[0];
            }
        }
    }
    /// Adds a [`GEMV_ROWS`] x 1 tile into the outputs of rows `r..r + 8` of one input:
    /// `out[r] += (scales[r] * x_scale) * sum(acc[r][0])`, each sum an exact i32
    /// rounded to f32, the float operations in that order (the scalar path's).
    /// `scales` points at the tile's first row's little-endian f32.
    ///
    /// # Safety
    ///
    /// The level's target features are enabled; `scales` is valid for reads of 32
    /// bytes, `out` for reads and writes of [`GEMV_ROWS`] f32.
    #[inline(always)]
    unsafe fn add_column(
        acc: &[[Self::Acc; 1]; GEMV_ROWS],
        scales: *const u8,
        x_scale: f32,
        out: *mut f32,
    ) {
        // SAFETY: forwarded; the reads and writes are the caller's.
        unsafe {
            let d = Self::sums_f32(acc);
            for (r, d) in d.iter().enumerate() {
                let s = f32::from_le_bytes(scales.add(4 * r).cast::<[u8; 4]>().read());
                *out.add(r) += (s * x_scale) * d[0];
            }
        }
    }
    /// [`IntTile::sums`] converted to f32 (each i32 rounded to the nearest f32, as
    /// `as f32` does).
    ///
    /// # Safety
    ///
    /// The level's target features are enabled.
    #[inline(always)]
    unsafe fn sums_f32<const R: usize, const T: usize>(acc: &[[Self::Acc; T]; R]) -> [[f32; T]; R] {
        // SAFETY: forwarded.
        let sums = unsafe { Self::sums(acc) };
        let mut out = [[0.0f32; T]; R];
        for (o, s) in out.iter_mut().zip(&sums) {
            for (o, &s) in o.iter_mut().zip(s) {
                *o = s as f32;
            }
        }
        out
    }
}

/// Adds the products of columns `c0..` into `acc`: full steps, then (for a tile whose
/// step is wider) one of 16 columns, then steps of 4 columns, up to `c1`; returns the
/// first column not added (`c1 - (c1 - c0) % 4`).
///
/// # Safety
///
/// As [`tile`], for the columns `c0..c1`.
#[inline(always)]
unsafe fn accumulate<K: IntTile, const R: usize, const T: usize>(
    acc: &mut [[K::Acc; T]; R],
    w: *const u8,
    stride: usize,
    x: *const i16,
    x_stride: usize,
    c0: usize,
    c1: usize,
) -> usize {
    let mut i = c0;
    // SAFETY: steps read `i + K::STEP <= c1`, `i + 16 <= c1` or `i + 4 <= c1` elements
    // of each row and input, which lie in memory (caller's contract).
    unsafe {
        while i + K::STEP <= c1 {
            K::step(
                acc,
                core::array::from_fn(|r| w.add(r * stride + i)),
                core::array::from_fn(|t| x.add(t * x_stride + i)),
            );
            i += K::STEP;
        }
        if K::STEP > 16 && i + 16 <= c1 {
            K::step16(
                acc,
                core::array::from_fn(|r| w.add(r * stride + i)),
                core::array::from_fn(|t| x.add(t * x_stride + i)),
            );
            i += 16;
        }
        while i + 4 <= c1 {
            K::step4(
                acc,
                core::array::from_fn(|r| w.add(r * stride + i)),
                core::array::from_fn(|t| x.add(t * x_stride + i)),
            );
            i += 4;
        }
    }
    i
}

/// [`tile`] as f32 (each exact sum rounded to the nearest f32). One chunk whose columns
/// the steps cover converts the i32 sums directly; anything else goes through [`tile`].
///
/// # Safety
///
/// As [`tile`].
#[inline(always)]
unsafe fn tile_f32<K: IntTile, const R: usize, const T: usize>(
    w: *const u8,
    stride: usize,
    cols: usize,
    x: *const i16,
    x_stride: usize,
) -> [[f32; T]; R] {
    // SAFETY: forwarded to the caller.
    unsafe {
        if cols <= CHUNK && cols.is_multiple_of(4) {
            let mut acc = [[K::zero(); T]; R];
            accumulate::<K, R, T>(&mut acc, w, stride, x, x_stride, 0, cols);
            return K::sums_f32(&acc);
        }
        let d = tile::<K, R, T>(w, stride, cols, x, x_stride);
        let mut out = [[0.0f32; T]; R];
        for (o, d) in out.iter_mut().zip(&d) {
            for (o, &d) in o.iter_mut().zip(d) {
                *o = d as f32;
            }
        }
        out
    }
}

/// `out[r][t] = sum_j q[r * stride + j] * x[t * x_stride + j]` over `j < cols`,
/// exact: full steps, then steps of 4 columns, then the last `cols % 4` columns in
/// scalar arithmetic; each chunk of [`CHUNK`] columns reduced in i32, the chunks
/// added in i64.
///
/// # Safety
///
/// The level's target features are enabled; rows `w + r * stride` (`cols` bytes each,
/// `r < R`) and inputs `x + t * x_stride` (`cols` i16 each, `t < T`) lie in memory.
#[inline(always)]
unsafe fn tile<K: IntTile, const R: usize, const T: usize>(
    w: *const u8,
    stride: usize,
    cols: usize,
    x: *const i16,
    x_stride: usize,
) -> [[i64; T]; R] {
    let mut out = [[0i64; T]; R];
    let mut c0 = 0;
    // SAFETY: steps read elements `i < c1 <= cols` of each row and input (see
    // [`accumulate`]), the scalar tail the elements `j < c1`.
    unsafe {
        while c0 < cols {
            let c1 = cols.min(c0 + CHUNK);
            let mut acc = [[K::zero(); T]; R];
            let i = accumulate::<K, R, T>(&mut acc, w, stride, x, x_stride, c0, c1);
            let mut sums = K::sums(&acc);
            for (r, s) in sums.iter_mut().enumerate() {
                for (t, s) in s.iter_mut().enumerate() {
                    for j in i..c1 {
                        let q = w.add(r * stride + j).read() as i8 as i32;
                        *s = s.wrapping_add(q * x.add(t * x_stride + j).read() as i32);
                    }
                }
            }
            for (o, s) in out.iter_mut().zip(sums) {
                for (o, s) in o.iter_mut().zip(s) {
                    *o += s as i64;
                }
            }
            c0 = c1;
        }
    }
    out
}

/// The rate of the level's int8 block-projection tile ([`ROWS`] rows x [`TOKENS`]
/// inputs, [`IntTile::STEP`] columns per step), for benchmarks: `rounds` times over
/// the same rows and inputs of [`super::PROBE_COLS`] columns (in the first-level
/// cache) into the same accumulators. Returns the sum of the accumulators (use it, so
/// that the work is kept; exact for `rounds` up to 2^16 and `|seed|` up to 100) and
/// the integer operations done (2 per multiply-add).
///
/// # Safety
///
/// The level's target features are enabled.
#[inline(always)]
pub(super) unsafe fn int_probe<K: IntTile>(rounds: usize, seed: i16) -> (i64, u64) {
    const COLS: usize = super::PROBE_COLS;
    const { assert!(COLS.is_multiple_of(K::STEP)) };
    // Rows and inputs at the start of a line, as the block projection stages its inputs.
    let (w, x) = super::probe_values::<ROWS, TOKENS>(seed);
    let (w, x) = (Lines(w), Lines(x));
    // SAFETY: every step reads `STEP` elements at `c + STEP <= COLS` of each row and
    // input; the features are enabled (caller).
    unsafe {
        let mut acc = [[K::zero(); TOKENS]; ROWS];
        for _ in 0..rounds {
            // Opaque pointers: each round loads its operands again, as the kernels do.
            let wp: [*const u8; ROWS] =
                core::hint::black_box(core::array::from_fn(|r| w.0[r].as_ptr().cast()));
            let xp: [*const i16; TOKENS] =
                core::hint::black_box(core::array::from_fn(|t| x.0[t].as_ptr()));
            for c in (0..COLS).step_by(K::STEP) {
                K::step::<ROWS, TOKENS>(
                    &mut acc,
                    core::array::from_fn(|r| wp[r].add(c)),
                    core::array::from_fn(|t| xp[t].add(c)),
                );
            }
        }
        let total = K::sums(&acc).iter().flatten().map(|&s| s as i64).sum();
        (total, (rounds * ROWS * TOKENS * COLS * 2) as u64)
    }
}

/// Tokens per tile of the block projection; each weight load serves all of them.
pub(super) const TOKENS: usize = 4;
/// Rows per tile of the block projection; each input load serves all of them.
pub(super) const ROWS: usize = 2;
/// Rows per tile for a single input.
pub(super) const GEMV_ROWS: usize = 8;

/// Inputs of up to [`STAGED_COLS`] values each go through [`Staged`].
const STAGED_COLS: usize = CHUNK;

/// A tile's inputs copied so that each starts a cache line: then no vector load of an
/// input straddles two lines (a 64-byte load at any other offset does). On an Intel
/// Xeon (Ice Lake) at `avx512`, projecting 8 inputs of 164 values (`164 x 2` bytes
/// apart) by 512 int8 rows ran at 61 GMAC/s, and at 69 staged. The copy is made once
/// per tile of inputs and serves every row of the matrix.
struct Staged(Lines<core::mem::MaybeUninit<[i16; TOKENS * STAGED_COLS]>>);

/// A value at the start of a cache line (64 bytes, the line of every processor the
/// levels run on).
#[repr(C, align(64))]
struct Lines<T>(T);

impl Staged {
    #[inline(always)]
    fn new() -> Self {
        Staged(Lines(core::mem::MaybeUninit::uninit()))
    }

    /// `x` (`x.len() / cols` inputs of `cols` values, at most [`TOKENS`]) copied into the
    /// stage, each input at a multiple of 32 values: the first input's address and the
    /// distance between inputs. Inputs longer than [`STAGED_COLS`] stay where they are.
    #[inline(always)]
    fn inputs(&mut self, x: &[i16], cols: usize) -> (*const i16, usize) {
        let n = x.len().checked_div(cols).unwrap_or(0);
        if cols == 0 || cols > STAGED_COLS || n > TOKENS {
            return (x.as_ptr(), cols);
        }
        let x_stride = cols.next_multiple_of(32);
        let stage = self.0 .0.as_mut_ptr().cast::<i16>();
        for (t, input) in x.chunks_exact(cols).enumerate() {
            // SAFETY: `t < TOKENS` inputs of `cols <= x_stride <= STAGED_COLS` values,
            // each at `t * x_stride`, lie in the stage; `x` and the stage are distinct.
            unsafe {
                core::ptr::copy_nonoverlapping(input.as_ptr(), stage.add(t * x_stride), cols)
            };
        }
        (stage, x_stride)
    }
}

/// `out[t * rows + r] = base + (scale_r * x_scales[t]) * (q_r . xq_t)` for the
/// `b = x_scales.len()` inputs, where `base` is `bias[r]` if `bias` is given, else
/// `out[t * rows + r]` itself (the products added), the float operations in the scalar
/// path's order.
///
/// # Safety
///
/// The level's target features are enabled; `w.int8`, `w.in_bounds()`, `xq.len() >=
/// b * w.cols`, `bias.len() >= 4 * w.rows` if given, `out.len() >= b * w.rows`.
#[inline(always)]
pub(super) unsafe fn project<K: IntTile>(
    w: &Rows<'_>,
    xq: &[i16],
    x_scales: &[f32],
    bias: Option<&[u8]>,
    out: &mut [f32],
) {
    let (rows, cols, b) = (w.rows, w.cols, x_scales.len());
    let f32_at = |bytes: &[u8], i: usize| {
        let v = &bytes[i * 4..i * 4 + 4];
        f32::from_le_bytes([v[0], v[1], v[2], v[3]])
    };
    let put = |out: &mut [f32], r: usize, t: usize, d: f32| {
        let scale = f32_at(w.scales, r) * x_scales[t];
        let o = &mut out[t * rows + r];
        *o = bias.map_or(*o, |bias| f32_at(bias, r)) + scale * d;
    };
    let (base, stride) = (w.data.as_ptr(), w.stride);
    let mut staged = Staged::new();
    let mut t = 0;
    // SAFETY: tiles cover rows `r..r + R <= rows` (in `data` by `in_bounds`) and inputs
    // `t..t + T <= b` (in `xq`, or staged: `x_stride` apart), `cols` elements each.
    unsafe {
        while t + TOKENS <= b {
            let (x, x_stride) = staged.inputs(&xq[t * cols..(t + TOKENS) * cols], cols);
            let mut r = 0;
            // One chunk whose columns the steps cover: the tile's sums stay exact in i32
            // and go out through the level's own conversion and scaling.
            while cols <= CHUNK && cols % 4 == 0 && r + ROWS <= rows {
                let mut acc = [[K::zero(); TOKENS]; ROWS];
                accumulate::<K, ROWS, TOKENS>(
                    &mut acc,
                    base.add(r * stride),
                    stride,
                    x,
                    x_stride,
                    0,
                    cols,
                );
                match bias {
                    Some(bias) => K::store_projection(
                        &acc,
                        core::array::from_fn(|i| f32_at(w.scales, r + i)),
                        core::array::from_fn(|i| f32_at(bias, r + i)),
                        core::array::from_fn(|k| x_scales[t + k]),
                        out.as_mut_ptr().add(t * rows + r),
                        rows,
                    ),
                    // Added to what `out` holds: a tile's eight outputs, one float
                    // multiply-add each (the i32 sums rounded as the level rounds them).
                    None => {
                        for (i, d) in K::sums_f32(&acc).iter().enumerate() {
                            for (k, &d) in d.iter().enumerate() {
                                put(out, r + i, t + k, d);
                            }
                        }
                    }
                }
                r += ROWS;
            }
            while r + ROWS <= rows {
                let d =
                    tile_f32::<K, ROWS, TOKENS>(base.add(r * stride), stride, cols, x, x_stride);
                for (i, d) in d.iter().enumerate() {
                    for (k, &d) in d.iter().enumerate() {
                        put(out, r + i, t + k, d);
                    }
                }
                r += ROWS;
            }
            while r < rows {
                let d = tile_f32::<K, 1, TOKENS>(base.add(r * stride), stride, cols, x, x_stride);
                for (k, &d) in d[0].iter().enumerate() {
                    put(out, r, t + k, d);
                }
                r += 1;
            }
            t += TOKENS;
        }
        while t < b {
            let (x, _) = staged.inputs(&xq[t * cols..(t + 1) * cols], cols);
            let mut r = 0;
            // As above: exact i32 sums, the level's own conversion and scaling.
            while cols <= CHUNK && cols % 4 == 0 && r + GEMV_ROWS <= rows {
                let mut acc = [[K::zero(); 1]; GEMV_ROWS];
                accumulate::<K, GEMV_ROWS, 1>(
                    &mut acc,
                    base.add(r * stride),
                    stride,
                    x,
                    0,
                    0,
                    cols,
                );
                let (scales, o) = (
                    w.scales.as_ptr().add(4 * r),
                    out.as_mut_ptr().add(t * rows + r),
                );
                match bias {
                    Some(bias) => {
                        K::store_column(&acc, scales, bias.as_ptr().add(4 * r), x_scales[t], o)
                    }
                    None => K::add_column(&acc, scales, x_scales[t], o),
                }
                r += GEMV_ROWS;
            }
            while r + GEMV_ROWS <= rows {
                let d = tile_f32::<K, GEMV_ROWS, 1>(base.add(r * stride), stride, cols, x, 0);
                for (i, d) in d.iter().enumerate() {
                    put(out, r + i, t, d[0]);
                }
                r += GEMV_ROWS;
            }
            while r < rows {
                let d = tile_f32::<K, 1, 1>(base.add(r * stride), stride, cols, x, 0);
                put(out, r, t, d[0][0]);
                r += 1;
            }
            t += 1;
        }
    }
}

/// `out[r] += (scale_r * x_scale) * (q_r . xq)` for one input, eight rows per tile:
/// the scalar path's float operations in its order. Rows of at most [`CHUNK`] columns,
/// a multiple of 4, go out through the level's own conversion and scaling
/// ([`IntTile::add_column`]).
///
/// # Safety
///
/// The level's target features are enabled; `w.int8`, `w.in_bounds()`, `xq.len() >=
/// w.cols`, `out.len() >= w.rows`.
#[inline(always)]
pub(super) unsafe fn gemv<K: IntTile>(w: &Rows<'_>, xq: &[i16], x_scale: f32, out: &mut [f32]) {
    let (base, stride, cols) = (w.data.as_ptr(), w.stride, w.cols);
    let mut staged = Staged::new();
    let (x, _) = staged.inputs(&xq[..cols], cols);
    let mut r = 0;
    // SAFETY: tiles cover rows `r..r + R <= w.rows`, in `data` by `in_bounds`; `x`
    // holds `cols` values.
    unsafe {
        while cols <= CHUNK && cols % 4 == 0 && r + GEMV_ROWS <= w.rows {
            let mut acc = [[K::zero(); 1]; GEMV_ROWS];
            accumulate::<K, GEMV_ROWS, 1>(&mut acc, base.add(r * stride), stride, x, 0, 0, cols);
            K::add_column(
                &acc,
                w.scales.as_ptr().add(4 * r),
                x_scale,
                out.as_mut_ptr().add(r),
            );
            r += GEMV_ROWS;
        }
        while r + GEMV_ROWS <= w.rows {
            let d = tile::<K, GEMV_ROWS, 1>(base.add(r * stride), stride, cols, x, 0);
            for (i, d) in d.iter().enumerate() {
                super::generic::finish_i8_i16(w, r + i, x_scale, d[0], out);
            }
            r += GEMV_ROWS;
        }
        while r < w.rows {
            let d = tile::<K, 1, 1>(base.add(r * stride), stride, cols, x, 0);
            super::generic::finish_i8_i16(w, r, x_scale, d[0][0], out);
            r += 1;
        }
    }
}
