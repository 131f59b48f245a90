//! Numeric kernels. Each has a one-line contract (shapes, lengths), which a caller
//! must keep: a kernel given slices of other lengths panics, as slice indexing does
//! (the model's own calls keep them, from validated shapes). Loops take fixed-size groups of
//! elements (`chunks_exact` on hosts, arrays on bare metal) into several independent
//! accumulators so that the compiler vectorizes them.

/// Independent partial sums per dot product (breaks the add dependency chain).
const LANES: usize = 8;

/// `f(k)` for every lane `k` in order, written out rather than looped, so that the
/// lane accumulators stay in registers in builds that do not unroll loops (the
/// size-optimized firmware profile).
#[inline(always)]
fn each_lane(mut f: impl FnMut(usize)) {
    const _: () = assert!(LANES == 8);
    f(0);
    f(1);
    f(2);
    f(3);
    f(4);
    f(5);
    f(6);
    f(7);
}

/// Calls `f` on the whole groups of `a` (`A` elements each) and `b` (`B` each) side by
/// side, as many as both hold, as arrays; returns the elements of each that do not
/// fill a group.
///
/// On bare-metal targets the groups are split off one by one (`split_first_chunk`),
/// which leaves no bounds checks in the size-optimized firmware build (where the
/// zipped `chunks_exact` iterators are not inlined and their constant chunk length is
/// lost); elsewhere `chunks_exact`, which the speed-optimized build vectorizes best.
#[inline(always)]
fn groups<'s, T, U, const A: usize, const B: usize>(
    a: &'s [T],
    b: &'s [U],
    mut f: impl FnMut(&'s [T; A], &'s [U; B]),
) -> (&'s [T], &'s [U]) {
    if cfg!(target_os = "none") {
        let (mut a, mut b) = (a, b);
        while let (Some((x, ar)), Some((y, br))) = (a.split_first_chunk(), b.split_first_chunk()) {
            f(x, y);
            (a, b) = (ar, br);
        }
        (a, b)
    } else {
        let (ac, bc) = (a.chunks_exact(A), b.chunks_exact(B));
        let rest = (ac.remainder(), bc.remainder());
        for (x, y) in ac.zip(bc) {
            if let (Ok(x), Ok(y)) = (x.try_into(), y.try_into()) {
                f(x, y);
            }
        }
        rest
    }
}

/// `sum_i a[i] * b[i]` over `min(a.len(), b.len())` elements.
#[cfg_attr(not(target_os = "none"), inline)]
#[cfg_attr(target_os = "none", inline(never))]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f32; LANES];
    let (a, b) = groups(a, b, |x: &[f32; LANES], y: &[f32; LANES]| {
        each_lane(|k| acc[k] += x[k] * y[k])
    });
    let mut tail = 0.0;
    for (x, y) in a.iter().zip(b) {
        tail += x * y;
    }
    reduce(acc) + tail
}

/// `sum_k product(k)` over `k < n` as the dot products of whole groups of [`LANES`]
/// sum it (product `k` into lane `k % LANES` while whole groups remain, the rest into a
/// tail from 0.0, then `reduce(lanes) + tail`), one element per pass: on bare metal,
/// where tagging multiplies f32 or int8 weights with f32 inputs in no hot loop (the
/// segmenter's output layer, a few rows per character, does), in a fifth of the
/// code of the unrolled groups.
#[inline(always)]
fn by_element(n: usize, product: impl Fn(usize) -> f32) -> f32 {
    let whole = n - n % LANES;
    let (mut acc, mut tail) = ([0.0f32; LANES], 0.0f32);
    for k in 0..n {
        let p = product(k);
        if k < whole {
            acc[k % LANES] += p;
        } else {
            tail += p;
        }
    }
    reduce(acc) + tail
}

/// The little-endian f32 at element `k` of `b`.
#[inline(always)]
fn f32_le<const N: usize>(b: &[u8; N], k: usize) -> f32 {
    f32::from_le_bytes([b[4 * k], b[4 * k + 1], b[4 * k + 2], b[4 * k + 3]])
}

/// `sum_i w[i] * x[i]` where `w` holds `x.len()` little-endian f32 values.
#[cfg_attr(not(target_os = "none"), inline)]
#[cfg_attr(target_os = "none", inline(never))]
pub fn dot_f32le(w: &[u8], x: &[f32]) -> f32 {
    if cfg!(target_os = "none") {
        let n = (w.len() / 4).min(x.len());
        let (w, x) = (&w[..4 * n], &x[..n]);
        return by_element(n, |k| {
            f32::from_le_bytes([w[4 * k], w[4 * k + 1], w[4 * k + 2], w[4 * k + 3]]) * x[k]
        });
    }
    let mut acc = [0.0f32; LANES];
    let (w, x) = groups(w, x, |wb: &[u8; 4 * LANES], xv: &[f32; LANES]| {
        each_lane(|k| acc[k] += f32_le(wb, k) * xv[k])
    });
    let mut tail = 0.0;
    for (b, v) in w.chunks_exact(4).zip(x) {
        tail += f32::from_le_bytes([b[0], b[1], b[2], b[3]]) * v;
    }
    reduce(acc) + tail
}

/// `sum_i q[i] * x[i]` where `q` holds `x.len()` signed bytes.
#[cfg_attr(not(target_os = "none"), inline)]
#[cfg_attr(target_os = "none", inline(never))]
pub fn dot_i8(q: &[u8], x: &[f32]) -> f32 {
    if cfg!(target_os = "none") {
        let n = q.len().min(x.len());
        let (q, x) = (&q[..n], &x[..n]);
        return by_element(n, |k| (q[k] as i8 as f32) * x[k]);
    }
    let mut acc = [0.0f32; LANES];
    let (q, x) = groups(q, x, |qv: &[u8; LANES], xv: &[f32; LANES]| {
        each_lane(|k| acc[k] += (qv[k] as i8 as f32) * xv[k])
    });
    let sum = reduce(acc);
    let mut tail = 0.0;
    for (&b, v) in q.iter().zip(x) {
        tail += (b as i8 as f32) * v;
    }
    sum + tail
}

/// `sum_i q[i] * x[i]` in exact integer arithmetic, `q` signed bytes and `x` i16.
/// Callers keep `|x| <= 16383`: then the products of up to 1024 columns sum to less
/// than `128 * 16383 * 1024 < 2^31` in magnitude, so each chunk of 1024 columns is
/// summed in i32 (eight lanes, then the lanes and the tail) and the chunks in i64.
#[cfg_attr(not(target_os = "none"), inline)]
#[cfg_attr(target_os = "none", inline(never))]
pub fn dot_i8_i16(q: &[u8], x: &[i16]) -> i64 {
    if cfg!(postag_arm_dsp) {
        // The same integer in any order: one element per pass in i64 on Cortex-M with
        // the DSP extension, whose products go through the DSP kernels but for rows
        // they do not take (without it, as on the Cortex-M0, this is the hot loop).
        return q
            .iter()
            .zip(x)
            .map(|(&q, &x)| i64::from(q as i8) * i64::from(x))
            .sum();
    }
    const CHUNK: usize = 1024;
    let n = q.len().min(x.len());
    let mut sum = 0i64;
    for (q, x) in q[..n].chunks(CHUNK).zip(x[..n].chunks(CHUNK)) {
        let mut acc = [0i32; LANES];
        let (q, x) = groups(q, x, |qv: &[u8; LANES], xv: &[i16; LANES]| {
            each_lane(|k| acc[k] = acc[k].wrapping_add(qv[k] as i8 as i32 * xv[k] as i32))
        });
        // Wrapping adds: exact within the callers' bound, and never a panic outside it.
        let mut s = 0i32;
        each_lane(|k| s = s.wrapping_add(acc[k]));
        for (&b, &v) in q.iter().zip(x) {
            s = s.wrapping_add(b as i8 as i32 * v as i32);
        }
        sum += s as i64;
    }
    sum
}

/// Inputs the batched kernel [`gemm_lanes`] runs side by side.
pub const BATCH_LANES: usize = 8;

/// `out[r * 8 + l] += sum_k w_r[k] * xt[k * 8 + l]` for the eight lanes `l`: eight
/// inputs side by side, `xt` (cols, 8) holding input `l` in lane `l`, `out` (rows,
/// 8). Row `r` of `w` is the `cols` little-endian f32 at byte `4 * r * stride`. Each
/// sum starts at zero and adds its products in column order, then lands in `out`.
#[inline]
pub fn gemm_lanes(w: &[u8], stride: usize, rows: usize, cols: usize, xt: &[f32], out: &mut [f32]) {
    const L: usize = BATCH_LANES;
    for (r, o) in out.chunks_exact_mut(L).take(rows).enumerate() {
        let row = &w[4 * r * stride..4 * (r * stride + cols)];
        let mut acc = [0.0f32; L];
        for (b, x) in row.chunks_exact(4).zip(xt.chunks_exact(L)) {
            let wk = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            for (a, &v) in acc.iter_mut().zip(x) {
                *a += wk * v;
            }
        }
        for (o, a) in o.iter_mut().zip(acc) {
            *o += a;
        }
    }
}

/// Rows per panel of the blob's panel layout ([`crate::format::DType::F32Panels`],
/// read by [`panel_dot`] and the kernels after it) and of the packed layout
/// [`gemv_panels`] reads.
pub const PANEL_ROWS: usize = crate::format::PANEL_ROWS;

/// Index of element (r, c) of a matrix of `cols` columns in the panel layout
/// ([`crate::format::DType::F32Panels`]).
#[inline]
pub fn panel_index(r: usize, c: usize, cols: usize) -> usize {
    (r / PANEL_ROWS) * PANEL_ROWS * cols + c * PANEL_ROWS + r % PANEL_ROWS
}

/// The widest int8 matrix the vector kernels take in the int8 panel layout: each row's
/// products sum in one i32 lane (`128 * 16383 * 1024 < 2^31`). The builder keeps wider
/// matrices in rows, whose kernels sum chunks of columns in i64.
pub const I8_PANELS_MAX_COLS: usize = 1024;

/// Index of `q(r, c)` of an int8 matrix of `cols` columns in the int8 panel layout
/// ([`crate::format::DType::I8Panels`]): panels of 16 rows, pairs of columns inside a
/// panel, 32 bytes per pair (row by row, two bytes each).
#[inline]
pub fn panel_index_i8(r: usize, c: usize, cols: usize) -> usize {
    ((r / PANEL_ROWS) * cols.div_ceil(2) + c / 2) * 2 * PANEL_ROWS + 2 * (r % PANEL_ROWS) + c % 2
}

/// The (row, column) of byte `i` of an int8 matrix of `cols` columns (`cols > 0`) in
/// the int8 panel layout: [`panel_index_i8`] inverted (rows and the column past the
/// matrix's are its padding).
#[inline]
pub fn panel_position_i8(i: usize, cols: usize) -> (usize, usize) {
    let pair_bytes = 2 * PANEL_ROWS;
    let (panel, within) = (
        i / (pair_bytes * cols.div_ceil(2)),
        i % (pair_bytes * cols.div_ceil(2)),
    );
    let (pair, byte) = (within / pair_bytes, within % pair_bytes);
    (panel * PANEL_ROWS + byte / 2, 2 * pair + byte % 2)
}

/// `sum_k q(r, col0 + k) * xq[k]` in exact integer arithmetic for the int8 matrix of
/// `cols` columns whose bytes `q` holds in the int8 panel layout: the definition of
/// the int8 panel kernels (an exact integer, so the same in any order; callers keep
/// `|xq| <= 16383`).
pub fn panel_dot_i8_i16(q: &[u8], cols: usize, r: usize, col0: usize, xq: &[i16]) -> i64 {
    xq.iter()
        .enumerate()
        .map(|(k, &x)| i64::from(q[panel_index_i8(r, col0 + k, cols)] as i8) * i64::from(x))
        .sum()
}

/// The (row, column) of element `i` of a matrix of `cols` columns (`cols > 0`) in the
/// panel layout: [`panel_index`] inverted (rows past the matrix's are its padding).
#[inline]
pub fn panel_position(i: usize, cols: usize) -> (usize, usize) {
    let (panel, within) = (i / (PANEL_ROWS * cols), i % (PANEL_ROWS * cols));
    (
        panel * PANEL_ROWS + within % PANEL_ROWS,
        within / PANEL_ROWS,
    )
}

/// `sum_k w(r, col0 + k) * x[k]` for the matrix of `cols` columns whose little-endian
/// f32 values `w` holds in the panel layout: from zero, one product after another in
/// column order. The order of [`crate::tensor::Matrix::row_dot`], of the block
/// projection ([`crate::tensor::Matrix::project_block`], tagging's `W_ih x`) and of the
/// eight inputs side by side ([`panel_gemm_lanes`]), whose kernels keep it (the vector
/// levels fuse each multiply-add where they have FMA). Requires `r` a row and `col0 +
/// x.len() <= cols`.
pub fn panel_dot(w: &[u8], cols: usize, r: usize, col0: usize, x: &[f32]) -> f32 {
    panel_sum(w, cols, r, col0, x, 0, 1)
}

/// The products `w(r, col0 + k) * x[k]` of every `step`-th `k` from `first`, summed from
/// zero in column order ([`panel_dot`]'s terms).
fn panel_sum(
    w: &[u8],
    cols: usize,
    r: usize,
    col0: usize,
    x: &[f32],
    first: usize,
    step: usize,
) -> f32 {
    let mut acc = 0.0f32;
    let at0 = panel_index(r, col0, cols);
    for k in (first..x.len()).step_by(step) {
        let at = 4 * (at0 + k * PANEL_ROWS);
        acc += f32::from_le_bytes([w[at], w[at + 1], w[at + 2], w[at + 3]]) * x[k];
    }
    acc
}

/// `out[r] += even + odd` for rows `0..out.len()` of a matrix of `cols` columns in the
/// panel layout, where `even` sums the products `w(r, col0 + k) * x[k]` of even `k` and
/// `odd` those of odd `k`, each from zero in column order: the layout's matrix-vector
/// product ([`crate::tensor::Matrix::matvec_add`] and, input by input,
/// [`crate::tensor::Matrix::gemm_add`]: the word LSTM's recurrent `W_hh h`, and
/// `hidden2tag` where a blob stores it in panels). Two chains, so that the vector kernels,
/// which keep this order, can read a large matrix one panel at a time (one stream of
/// weights) and still overlap their multiply-adds' latencies; the vector levels fuse each
/// multiply-add where they have FMA.
///
/// A panel at a time: its 16 rows' sums side by side, each weight read once in the
/// order it is stored (each row's sums are [`panel_dot`]'s terms in its order, split
/// by column parity).
pub fn panel_gemv(w: &[u8], cols: usize, col0: usize, x: &[f32], out: &mut [f32]) {
    for_each_panel(w, cols, col0, x, out, |panel, out| {
        let (mut even, mut odd) = ([0.0f32; PANEL_ROWS], [0.0f32; PANEL_ROWS]);
        let mut columns = panel.chunks_exact(4 * PANEL_ROWS).zip(x);
        while let Some((w0, &x0)) = columns.next() {
            add_column(&mut even, w0, x0);
            if let Some((w1, &x1)) = columns.next() {
                add_column(&mut odd, w1, x1);
            }
        }
        for ((o, e), d) in out.iter_mut().zip(even).zip(odd) {
            *o += e + d;
        }
    });
}

/// `out[r] = panel_dot(w, cols, r, col0, x)` for rows `0..out.len()` (at most the
/// matrix's), a panel at a time as [`panel_gemv`] reads them: the same bits.
pub fn panel_dots(w: &[u8], cols: usize, col0: usize, x: &[f32], out: &mut [f32]) {
    for_each_panel(w, cols, col0, x, out, |panel, out| {
        let mut acc = [0.0f32; PANEL_ROWS];
        for (wk, &xk) in panel.chunks_exact(4 * PANEL_ROWS).zip(x) {
            add_column(&mut acc, wk, xk);
        }
        out.copy_from_slice(&acc[..out.len()]);
    });
}

/// Calls `panel(columns, out)` for each panel of rows that `out` reaches: the panel's
/// little-endian weights of columns `col0..col0 + x.len()` (16 rows per column, the
/// padding rows of a last partial panel included) and its rows of `out`.
#[inline(always)]
fn for_each_panel(
    w: &[u8],
    cols: usize,
    col0: usize,
    x: &[f32],
    out: &mut [f32],
    mut panel: impl FnMut(&[u8], &mut [f32]),
) {
    let stride = 4 * PANEL_ROWS * cols;
    let (from, to) = (4 * PANEL_ROWS * col0, 4 * PANEL_ROWS * (col0 + x.len()));
    for (p, out) in out.chunks_mut(PANEL_ROWS).enumerate() {
        panel(&w[p * stride + from..p * stride + to], out);
    }
}

/// `acc[l] += w(l) * x` for the 16 little-endian weights of one panel column.
#[inline(always)]
fn add_column(acc: &mut [f32; PANEL_ROWS], column: &[u8], x: f32) {
    for (a, b) in acc.iter_mut().zip(column.chunks_exact(4)) {
        *a += f32::from_le_bytes([b[0], b[1], b[2], b[3]]) * x;
    }
}

/// [`gemm_lanes`] for a (rows, cols) matrix in the panel layout: `out[r * 8 + l] +=
/// sum_k w(r, k) * xt[k * 8 + l]`, each sum from zero in column order.
pub fn panel_gemm_lanes(w: &[u8], rows: usize, cols: usize, xt: &[f32], out: &mut [f32]) {
    const L: usize = BATCH_LANES;
    for (r, o) in out.chunks_exact_mut(L).take(rows).enumerate() {
        let mut acc = [0.0f32; L];
        for (k, x) in xt.chunks_exact(L).take(cols).enumerate() {
            let at = 4 * panel_index(r, k, cols);
            let wk = f32::from_le_bytes([w[at], w[at + 1], w[at + 2], w[at + 3]]);
            for (a, &v) in acc.iter_mut().zip(x) {
                *a += wk * v;
            }
        }
        for (o, a) in o.iter_mut().zip(acc) {
            *o += a;
        }
    }
}

/// `out[16 p + l] = bias + sum_k w[k] z[k]` for row `l` of every panel `p` of a packed
/// matrix (the layout of [`crate::PackedCell`]): panel `p` is `16 * (1 + cols)` floats,
/// its 16 rows' biases, then for each column `k` the 16 rows' weights at column `k`.
/// `out.len()` is a multiple of 16 (one run of 16 per panel). Each row keeps two sums:
/// the bias plus the products of the even columns, and the products of the odd
/// columns from zero, each in column order; the row's value is their sum. (Two
/// chains, so that vector kernels, which keep this order, overlap their latencies.)
pub fn gemv_panels(panels: &[f32], cols: usize, z: &[f32], out: &mut [f32]) {
    const P: usize = PANEL_ROWS;
    let stride = P * (1 + cols);
    let z = &z[..cols.min(z.len())];
    for (panel, o) in panels.chunks_exact(stride).zip(out.chunks_exact_mut(P)) {
        let (bias, columns) = panel.split_at(P);
        let (mut even, mut odd) = ([0.0f32; P], [0.0f32; P]);
        even.copy_from_slice(bias);
        // Columns two at a time (each sum in a register row of its own), then the last.
        let pairs = columns[..P * cols]
            .chunks_exact(2 * P)
            .zip(z.chunks_exact(2));
        for (w, zk) in pairs {
            let (w0, w1) = w.split_at(P);
            for l in 0..P {
                even[l] += w0[l] * zk[0];
                odd[l] += w1[l] * zk[1];
            }
        }
        if cols % 2 == 1 {
            let w = &columns[P * (cols - 1)..P * cols];
            for (a, &wv) in even.iter_mut().zip(w) {
                *a += wv * z[cols - 1];
            }
        }
        for ((o, e), d) in o.iter_mut().zip(even).zip(odd) {
            *o = e + d;
        }
    }
}

/// Quantizes `x` to i16 in `q` (as far as both go) with one scale: `x[i] ~= q[i] *
/// scale`, `|q[i]| <= 16383`, error at most `scale / 2 = max|x| / 32766`. `None` (and
/// `q` untouched) when some element is not finite: the caller then keeps to f32
/// arithmetic.
#[cfg_attr(not(target_os = "none"), inline)]
#[cfg_attr(target_os = "none", inline(never))]
pub fn quantize_i16(x: &[f32], q: &mut [i16]) -> Option<f32> {
    let max = max_abs_finite(x)?;
    quantize_into(x, q, quantize_inv(max));
    Some(max / 16383.0)
}

/// Below this largest magnitude (2^-100) [`quantize_i16`] gives zeros: `16383 / max`
/// would leave the f32 range near the smallest normal numbers.
pub(crate) const QUANTIZE_MIN: f32 = f32::from_bits((127 - 100) << 23);

/// The factor [`quantize_i16`] multiplies by, from `max = max|x|`: `16383 / max`, or 0
/// below [`QUANTIZE_MIN`] (all zeros by the same loop, also for a vector of zeros).
#[inline(always)]
pub(crate) fn quantize_inv(max: f32) -> f32 {
    if max < QUANTIZE_MIN {
        0.0
    } else {
        16383.0 / max
    }
}

/// `max|x|` for [`quantize_i16`] (0 for an empty slice); `None` if some element is not
/// finite.
#[inline(always)]
pub(crate) fn max_abs_finite(x: &[f32]) -> Option<f32> {
    // The largest magnitude as bits: for non-negative floats the bit patterns order
    // as the values do, infinity above every finite value and NaN above infinity, so
    // one integer maximum (which vectorizes) finds max|x| and any non-finite value.
    // (The bits shifted left rather than masked: Arm compares with a shifted operand,
    // one instruction less per element.)
    // (Four values per step on Cortex-M with an FPU, in assembly.)
    #[cfg(all(postag_arm_dsp, target_abi = "eabihf"))]
    let max_bits = crate::arch::max_magnitude_bits(x);
    #[cfg(not(all(postag_arm_dsp, target_abi = "eabihf")))]
    let max_bits = x.iter().fold(0u32, |m, v| m.max(v.to_bits() << 1));
    (max_bits < f32::INFINITY.to_bits() << 1).then(|| f32::from_bits(max_bits >> 1))
}

/// `q[i] = round(x[i] * inv)` (the product rounded to f32, then to the nearest integer,
/// ties to even) for [`quantize_i16`], as far as both slices go; `|x[i] * inv| < 2^22`.
#[inline(always)]
pub(crate) fn quantize_into(x: &[f32], q: &mut [i16], inv: f32) {
    for (o, &v) in q.iter_mut().zip(x) {
        // The sum's low 16 bits are the integer as an i16 (`0x4B40_0000` ends in 16
        // zero bits): a multiply, an add and a store of a half word.
        *o = (v * inv + ROUND_SHIFTER).to_bits() as i16;
    }
}

#[inline(always)]
fn reduce(v: [f32; LANES]) -> f32 {
    // Pairwise halving (lane k + width onto lane k, width 4, 2, 1), written out.
    let (a, b, c, d) = (v[0] + v[4], v[1] + v[5], v[2] + v[6], v[3] + v[7]);
    let (a, b) = (a + c, b + d);
    a + b
}

/// [`exp`]'s input range: the result is a normal f32 throughout.
pub(crate) const EXP_MIN: f32 = -87.0;
pub(crate) const EXP_MAX: f32 = 88.0;
/// ln 2 split so that `n * LN2_HI` is exact for the `n` that occur.
pub(crate) const LN2_HI: f32 = 0.693_359_4;
pub(crate) const LN2_LO: f32 = -2.121_944_4e-4;
/// Adding 1.5 * 2^23 to an f32 of magnitude below 2^22 rounds it to an integer (ties to
/// even) held in the low mantissa bits: the sum's bits are `0x4B40_0000 + integer`.
pub(crate) const ROUND_SHIFTER: f32 = 12_582_912.0;
/// Cephes' `expf` minimax polynomial for `(e^r - 1 - r) / r^2`, highest degree first.
pub(crate) const EXP_POLY: [f32; 6] = [
    1.987_569_1e-4,
    1.398_199_9e-3,
    8.333_452e-3,
    4.166_579_6e-2,
    1.666_666_5e-1,
    5e-1,
];
/// Cephes' `tanhf` polynomial in `x^2` below [`TANH_SMALL`], highest degree first.
pub(crate) const TANH_POLY: [f32; 5] = [
    -5.704_988_7e-3,
    2.063_909e-2,
    -5.373_971_6e-2,
    1.333_144_2e-1,
    -3.333_328e-1,
];
/// Below this magnitude [`tanh`] uses its polynomial (no cancellation near zero).
pub(crate) const TANH_SMALL: f32 = 0.625;

/// `e^x` for f32, written without branches so that loops over slices vectorize.
///
/// Cody-Waite range reduction `x = n ln2 + r`, `|r| <= ln2/2`, then Cephes' `expf`
/// minimax polynomial for `e^r` (about 1 ulp; its coefficients in pairs, then Horner's
/// scheme in `r^2`) and `2^n` built in the exponent bits.
/// Inputs are clamped to [-87, 88], where the result still is a normal f32.
///
/// On bare-metal targets the activations of [`lstm_cell`] inline it once, in the one
/// loop that computes them all.
#[cfg_attr(not(target_os = "none"), inline(always))]
#[cfg_attr(target_os = "none", inline(never))]
pub fn exp(x: f32) -> f32 {
    exp_inline(x)
}

/// [`exp`], always inlined.
#[inline(always)]
fn exp_inline(x: f32) -> f32 {
    exp_in_range(x.clamp(EXP_MIN, EXP_MAX))
}

/// [`exp`] of an `x` in [[`EXP_MIN`], [`EXP_MAX`]] (or NaN), not clamped again.
#[inline(always)]
fn exp_in_range(x: f32) -> f32 {
    // No mul_add: without a compile-time FMA target it would be a slow library call.
    let t = x * core::f32::consts::LOG2_E + ROUND_SHIFTER;
    let n = t - ROUND_SHIFTER;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    // The polynomial as three independent pairs `c0 r + c1`, `c2 r + c3`, `c4 r + c5`
    // combined by Horner's scheme in r^2 (Estrin's first step): a chain of dependent
    // operations about half as long as Horner's in r, with as many multiplications
    // (each a library call on a Cortex-M0: full Estrin's extra r^4 cost that core 2.4%
    // more instructions per token). Small cells' steps wait on the chain: a packed f32
    // 16 -> 16 step on an Intel Ice Lake, `avx512`, 179-184 ns by Horner's scheme
    // against 162-167 by Estrin's (best of 30 passes, alternated), and these pairs as
    // fast as Estrin's whole scheme (137 against 142 ns once the step ran as one
    // function).
    let r2 = r * r;
    let [c0, c1, c2, c3, c4, c5] = EXP_POLY;
    let (a, b, c) = (c0 * r + c1, c2 * r + c3, c4 * r + c5);
    let p = (a * r2 + b) * r2 + c;
    let e = p * r2 + r + 1.0;
    let n_int = t.to_bits().wrapping_sub(ROUND_SHIFTER.to_bits()) as i32;
    e * f32::from_bits(((n_int + 127) as u32) << 23)
}

/// Logistic function `1 / (1 + e^-x)`.
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// Whether [`activate_all`] inlines `exp`: on 32-bit Arm with a hardware FPU (the
/// hard-float ABI: Cortex-M4F, M7, M33), and in the host's tests of that form.
#[cfg(any(target_os = "none", test))]
const ACTIVATE_INLINE_EXP: bool =
    cfg!(all(target_arch = "arm", target_abi = "eabihf")) || cfg!(test);

/// Largest `|x|` whose `exp` argument in [`activate_all`] (`-x` for the sigmoid, `2|x|`
/// for tanh) needs no clamp: both lie in [-87, 87] there.
#[cfg(any(target_os = "none", test))]
const ACTIVATE_NO_CLAMP: f32 = 43.5;

/// `x` clamped as [`exp`] clamps it, out of the activation loop (rarely needed there).
#[cfg(any(target_os = "none", test))]
#[cold]
#[inline(never)]
fn clamp_exp_arg(x: f32) -> f32 {
    x.clamp(EXP_MIN, EXP_MAX)
}

/// Cephes' `tanhf` polynomial for `|x| < 0.625`, `ax = |x|`: `tanh(|x|)`.
#[inline(always)]
fn tanh_small(x: f32, ax: f32) -> f32 {
    let z = x * x;
    let mut p = TANH_POLY[0];
    p = p * z + TANH_POLY[1];
    p = p * z + TANH_POLY[2];
    p = p * z + TANH_POLY[3];
    p = p * z + TANH_POLY[4];
    p * z * ax + ax
}

/// `tanh(|x|)` from `e = e^(2|x|)`, for `|x| >= 0.625`.
#[inline(always)]
fn tanh_big(e: f32) -> f32 {
    1.0 - 2.0 / (e + 1.0)
}

/// Hyperbolic tangent, odd by construction: Cephes' `tanhf` polynomial below 0.625
/// (no cancellation near zero), `1 - 2 / (e^2|x| + 1)` above; a few ulp from libm.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    let ax = x.abs();
    let big = tanh_big(exp(2.0 * ax));
    let small = tanh_small(x, ax);
    let magnitude = if ax < TANH_SMALL { small } else { big };
    magnitude.copysign(x)
}

/// `x <- tanh(x)` if `tanh`, else `x <- sigmoid(x)`, element-wise: bit for bit what
/// [`tanh`] and [`sigmoid`] give, with a branch per element where those select
/// without one. On bare-metal targets every activation of [`lstm_cell`] runs this one
/// out-of-line loop, with one copy of `exp` inlined (its constants stay in
/// registers), and `tanh` computes only the side it takes: no `exp` below 0.625. One
/// compare of `|x|` with [`ACTIVATE_NO_CLAMP`] stands for `exp`'s two of its argument.
#[cfg(any(target_os = "none", test))]
#[inline(never)]
fn activate_all(x: &mut [f32], tanh: bool) {
    // One loop per side (with an FPU): no test of the side per element.
    if ACTIVATE_INLINE_EXP && tanh {
        activate_loop::<true>(x);
    } else if ACTIVATE_INLINE_EXP {
        activate_loop::<false>(x);
    } else {
        activate_loop_either(x, tanh);
    }
}

/// [`activate_all`]'s loop for one side.
#[cfg(any(target_os = "none", test))]
#[inline(always)]
fn activate_loop<const TANH: bool>(x: &mut [f32]) {
    activate_loop_either(x, TANH);
}

/// [`activate_all`]'s loop.
#[cfg(any(target_os = "none", test))]
#[inline(always)]
fn activate_loop_either(x: &mut [f32], tanh: bool) {
    // Last to first: the loop keeps one index that addresses and counts (forwards it
    // keeps a pointer and a count, and a copy of the pointer).
    for v in x.iter_mut().rev() {
        let y = *v;
        let ax = y.abs();
        // `ax < TANH_SMALL` on the bits (as the clamp's test below; false for NaN).
        *v = if tanh && y.to_bits() << 1 < TANH_SMALL.to_bits() << 1 {
            tanh_small(y, ax).copysign(y)
        } else {
            let arg = if tanh { 2.0 * ax } else { -y };
            // Without an FPU (ARMv6-M) the one out-of-line `exp`: smaller code, and its
            // call is little next to the soft-float routines.
            let e = if ACTIVATE_INLINE_EXP {
                // The clamp changes no argument of an `|x| <= 43.5` (and not NaN). The
                // test on the bits with the sign shifted out (as `max_abs_finite`
                // orders magnitudes): one integer compare and branch, where the FPU's
                // takes a compare, a move of its flags and the branch. It also takes NaN
                // to the clamp, which leaves NaN as it is.
                let arg = if y.to_bits() << 1 > ACTIVATE_NO_CLAMP.to_bits() << 1 {
                    clamp_exp_arg(arg)
                } else {
                    arg
                };
                exp_in_range(arg)
            } else {
                exp(arg)
            };
            if tanh {
                tanh_big(e).copysign(y)
            } else {
                1.0 / (1.0 + e)
            }
        };
    }
}

/// `x <- sigmoid(x)` element-wise (the three sigmoid gates of [`lstm_cell`]).
#[inline(always)]
fn sigmoid_all(x: &mut [f32]) {
    #[cfg(target_os = "none")]
    activate_all(x, false);
    #[cfg(not(target_os = "none"))]
    for v in x.iter_mut() {
        *v = sigmoid(*v);
    }
}

/// `x <- tanh(x)` element-wise (both tanh passes of [`lstm_cell`]).
#[inline(always)]
fn tanh_all(x: &mut [f32]) {
    #[cfg(target_os = "none")]
    activate_all(x, true);
    #[cfg(not(target_os = "none"))]
    for v in x.iter_mut() {
        *v = tanh(*v);
    }
}

/// One LSTM cell update from pre-activations, PyTorch gate order i, f, g, o:
/// `gates (4H,)` is consumed as working memory, `c (H,)` updated in place, `h (H,)` written.
/// `c' = sigmoid(f) * c + sigmoid(i) * tanh(g)`, `h = sigmoid(o) * tanh(c')`.
#[inline(always)]
pub fn lstm_cell(gates: &mut [f32], c: &mut [f32], h: &mut [f32]) {
    lstm_cell_from(gates, c, h, false);
}

/// [`lstm_cell`], told whether `c` is the zero state (every element +0.0, not
/// checked): then `sigmoid(f) * c` is +0.0 for every finite `f` (its sigmoid is finite
/// and not negative), so a forget gate of finite values is set to +0.0 instead of
/// activated, with the same results (a first step skips a quarter of the gates'
/// activations); one with an infinity or NaN is activated as usual.
#[inline(always)]
pub(crate) fn lstm_cell_from(gates: &mut [f32], c: &mut [f32], h: &mut [f32], zero_state: bool) {
    let hidden = c.len();
    let (ifg, o_g) = gates.split_at_mut(3 * hidden);
    let (if_g, g_g) = ifg.split_at_mut(2 * hidden);
    // The activations first, each a loop of independent elements (they vectorize, and
    // the processor overlaps their long dependency chains), then the state update.
    // (One pass over i and f, or over i only and f set; no bounds check: a shorter
    // `if_g` splits into empty parts.)
    let skip = zero_state && max_abs_finite(if_g.get(hidden..).unwrap_or_default()).is_some();
    let active = if skip { hidden } else { 2 * hidden };
    let (active, zeros) = if_g.split_at_mut_checked(active).unwrap_or_default();
    sigmoid_all(active);
    zeros.fill(0.0);
    tanh_all(g_g);
    sigmoid_all(o_g);
    let (i_g, f_g) = if_g.split_at_mut(hidden);
    if cfg!(target_os = "none") {
        // `c'` also where `tanh(g)` was, for the one out-of-line tanh loop (less code)
        // to take `tanh(c')` there. Last to first: fewer instructions per element.
        let t = &mut g_g[..hidden];
        #[cfg(all(postag_arm_dsp, target_abi = "eabihf"))]
        crate::arch::cell_state(c, i_g, f_g, t);
        #[cfg(not(all(postag_arm_dsp, target_abi = "eabihf")))]
        for (((c, i), f), t) in c
            .iter_mut()
            .zip(i_g.iter())
            .zip(f_g.iter())
            .zip(t.iter_mut())
            .rev()
        {
            *c = *f * *c + *i * *t;
            *t = *c;
        }
        tanh_all(t);
        #[cfg(all(postag_arm_dsp, target_abi = "eabihf"))]
        crate::arch::gate_product(h, o_g, t);
        #[cfg(not(all(postag_arm_dsp, target_abi = "eabihf")))]
        for ((h, o), t) in h.iter_mut().zip(o_g.iter()).zip(t.iter()) {
            *h = *o * *t;
        }
    } else {
        for (((c, i), f), g) in c.iter_mut().zip(i_g.iter()).zip(f_g.iter()).zip(g_g.iter()) {
            *c = *f * *c + *i * *g;
        }
        for ((h, o), c) in h.iter_mut().zip(o_g.iter()).zip(c.iter()) {
            *h = *o * tanh(*c);
        }
    }
}

/// In place `x <- x - log(sum(exp(x)))`, computed stably around the maximum `m` as
/// PyTorch does: `(x - m) - log(sum(exp(x - m)))`, so that the log of the sum is never
/// lost against a large `m` (two equal logits of 3e38 each get ln(1/2), not 0).
pub fn log_softmax(x: &mut [f32]) {
    // The largest element by compare (NaN never wins), where `f32::max` is a library
    // call on Cortex-M; either zero's sign makes the same results.
    let max = x
        .iter()
        .fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m });
    let sum: f32 = x.iter().map(|&v| exp_inline(v - max)).sum();
    let log_sum = libm::logf(sum);
    for v in x.iter_mut() {
        *v = (*v - max) - log_sum;
    }
}

/// Index of the largest element (the first one on ties); NaN never wins unless every
/// element is NaN; 0 for an empty or all-NaN slice.
pub fn argmax(x: &[f32]) -> usize {
    let mut best: Option<(usize, f32)> = None;
    for (i, &v) in x.iter().enumerate() {
        if !v.is_nan() && best.is_none_or(|(_, b)| v > b) {
            best = Some((i, v));
        }
    }
    best.map_or(0, |(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The int8 panel layout's index: every byte of the layout has one position, each
    /// element one byte (the hand-computed ones of `docs/FORMAT.md`'s formula), and the
    /// portable dot product reads each row's elements.
    #[test]
    fn int8_panel_index_and_position_agree() {
        // Row 17, column 5 of 11 columns (6 pairs): panel 1, pair 2, row 1 of the panel,
        // second column of the pair: (1 * 6 + 2) * 32 + 2 * 1 + 1.
        assert_eq!(panel_index_i8(17, 5, 11), 259);
        assert_eq!(panel_position_i8(259, 11), (17, 5));
        for (rows, cols) in [(1usize, 1usize), (5, 3), (16, 8), (17, 5), (33, 12)] {
            let len = rows.div_ceil(PANEL_ROWS) * PANEL_ROWS * 2 * cols.div_ceil(2);
            let mut seen = vec![false; len];
            for r in 0..rows {
                for c in 0..cols {
                    let i = panel_index_i8(r, c, cols);
                    assert!(!seen[i] && panel_position_i8(i, cols) == (r, c));
                    seen[i] = true;
                }
            }
            for (i, _) in seen.iter().enumerate().filter(|(_, s)| !**s) {
                let (r, c) = panel_position_i8(i, cols);
                assert!(r >= rows || c >= cols, "{rows} x {cols}: byte {i}");
            }
            let mut q = vec![0u8; len];
            let x: Vec<i16> = (0..cols).map(|k| k as i16 * 7 - 20).collect();
            for r in 0..rows {
                for c in 0..cols {
                    q[panel_index_i8(r, c, cols)] = (r as i8 - c as i8) as u8;
                }
                let want: i64 = (0..cols)
                    .map(|c| (r as i64 - c as i64) * i64::from(x[c]))
                    .sum();
                assert_eq!(panel_dot_i8_i16(&q, cols, r, 0, &x), want);
                assert_eq!(
                    panel_dot_i8_i16(&q, cols, r, 1, &x[1..]),
                    want - r as i64 * i64::from(x[0])
                );
            }
        }
    }

    /// [`panel_gemv`] and [`panel_dots`], which read a panel at a time, give each row
    /// the bits of its sums written out one row at a time ([`panel_sum`]: one chain in
    /// column order for the dots, even and odd columns for the product): rows ending in
    /// a partial panel (its padding rows hold NaN, which must not reach a row), fewer
    /// rows than the matrix's, columns from `col0`, odd and even counts.
    #[test]
    fn panel_kernels_sum_each_row_as_written_out() {
        let cases: &[(usize, usize)] = if cfg!(miri) {
            &[(17, 5), (16, 4)]
        } else {
            &[(1, 1), (5, 3), (16, 8), (17, 5), (33, 12), (40, 1)]
        };
        for &(rows, cols) in cases {
            let padded = rows.div_ceil(PANEL_ROWS) * PANEL_ROWS;
            let mut w = vec![0u8; 4 * padded * cols];
            for i in 0..padded * cols {
                let (r, _) = panel_position(i, cols);
                let v = if r < rows {
                    (i as f32 * 0.613).sin()
                } else {
                    f32::NAN
                };
                w[4 * i..4 * i + 4].copy_from_slice(&v.to_le_bytes());
            }
            for col0 in [0, cols / 2] {
                let x: Vec<f32> = (0..cols - col0).map(|k| (k as f32 * 0.29).cos()).collect();
                for n in [rows, rows.saturating_sub(3).max(1)] {
                    let mut dots = vec![f32::NAN; n];
                    panel_dots(&w, cols, col0, &x, &mut dots);
                    let start: Vec<f32> = (0..n).map(|r| r as f32 * 0.5).collect();
                    let mut gemv = start.clone();
                    panel_gemv(&w, cols, col0, &x, &mut gemv);
                    for r in 0..n {
                        let what = format!("{rows} x {cols} from {col0}, row {r} of {n}");
                        let dot = panel_sum(&w, cols, r, col0, &x, 0, 1);
                        assert_eq!(dots[r].to_bits(), dot.to_bits(), "{what}");
                        let two = panel_sum(&w, cols, r, col0, &x, 0, 2)
                            + panel_sum(&w, cols, r, col0, &x, 1, 2);
                        assert_eq!(gemv[r].to_bits(), (start[r] + two).to_bits(), "{what}");
                    }
                }
            }
        }
    }

    #[test]
    fn dots_agree_with_a_plain_sum_for_every_length() {
        for n in 0..40 {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            let want: f64 = a.iter().zip(&b).map(|(x, y)| *x as f64 * *y as f64).sum();
            assert!((dot(&a, &b) as f64 - want).abs() < 1e-5, "n={n}");
            let le: Vec<u8> = a.iter().flat_map(|v| v.to_le_bytes()).collect();
            assert!((dot_f32le(&le, &b) as f64 - want).abs() < 1e-5, "n={n}");
            let q: Vec<u8> = (0..n).map(|i| (i as i8 - 20) as u8).collect();
            let want_q: f64 = (0..n).map(|i| (i as f64 - 20.0) * b[i] as f64).sum();
            assert!((dot_i8(&q, &b) as f64 - want_q).abs() < 1e-4, "n={n}");
        }
    }

    #[test]
    fn integer_dot_is_exact_and_quantization_within_half_a_step() {
        for n in [0usize, 1, 7, 8, 9, 100, 1000] {
            let q: Vec<u8> = (0..n).map(|i| ((i * 37) % 255) as u8).collect();
            let x: Vec<i16> = (0..n)
                .map(|i| ((i as i32 * 7919) % 32767 - 16383) as i16)
                .collect();
            let want: i64 = q
                .iter()
                .zip(&x)
                .map(|(&a, &b)| a as i8 as i64 * b as i64)
                .sum();
            assert_eq!(dot_i8_i16(&q, &x), want, "n={n}");
        }
        // The worst case stays in range: 8192 products of 127 * 16383.
        assert_eq!(dot_i8_i16(&[127; 8192], &[16383; 8192]), 127 * 16383 * 8192);
        let x: Vec<f32> = (0..50).map(|i| (i as f32 * 0.7).sin() * 0.9).collect();
        let mut q = vec![0i16; 50];
        let s = quantize_i16(&x, &mut q).unwrap();
        for (v, &k) in x.iter().zip(&q) {
            assert!(
                (v - k as f32 * s).abs() <= s * 0.5 + 1e-7,
                "{v} vs {}",
                k as f32 * s
            );
            assert!(k.unsigned_abs() <= 16383);
        }
        assert_eq!(quantize_i16(&[0.0; 3], &mut q[..3]), Some(0.0));
        assert_eq!(quantize_i16(&[0.5, f32::INFINITY], &mut q[..2]), None);
        assert_eq!(quantize_i16(&[f32::NAN, 0.5], &mut q[..2]), None);
    }

    #[test]
    fn quantization_rounds_to_nearest_with_ties_to_even() {
        // A largest magnitude of 16383 makes the factor exactly 1.
        let x = [
            16383.0f32, 2.5, 3.5, -2.5, -0.5, 0.5, 0.49, -1.5, 1.5000001, -0.0,
        ];
        let mut q = [9i16; 10];
        assert_eq!(quantize_i16(&x, &mut q), Some(1.0));
        assert_eq!(q, [16383, 2, 4, -2, 0, 0, 0, -2, 2, 0]);
        // More ties, and a value that rounds up.
        let x = [-16383.0f32, 8191.5, -8190.5, 1.0, 0.75];
        let mut q = [9i16; 5];
        assert_eq!(quantize_i16(&x, &mut q), Some(1.0));
        assert_eq!(q, [-16383, 8192, -8190, 1, 1]);
        // Below 2^-100 zeros, with the scale of the largest magnitude; at it, 16383.
        let tiny = [QUANTIZE_MIN.next_down(), -f32::from_bits(1), 0.0];
        let mut q = [9i16; 3];
        assert_eq!(quantize_i16(&tiny, &mut q), Some(tiny[0] / 16383.0));
        assert_eq!(q, [0, 0, 0]);
        let small = [QUANTIZE_MIN, -QUANTIZE_MIN / 2.0];
        let mut q = [9i16; 2];
        assert!(quantize_i16(&small, &mut q).is_some());
        assert_eq!(q, [16383, -8192]);
        // 2^-100, from exact arithmetic (Miri perturbs `powi`).
        assert_eq!(QUANTIZE_MIN as f64, 1.0 / (1u128 << 100) as f64);
    }

    #[test]
    fn exp_and_activations_match_libm() {
        let (mut worst_exp, mut worst_s, mut worst_t) = (0.0f64, 0.0f64, 0.0f64);
        // Every 1e-3 over the whole range; under Miri (which interprets every step) every
        // 0.25, still crossing each branch of the polynomials.
        let step = if cfg!(miri) { 250 } else { 1 };
        for i in (-87_000..88_000).step_by(step) {
            let x = i as f32 * 1e-3 + 1.234e-4;
            let want = libm::exp(x as f64);
            worst_exp = worst_exp.max((exp(x) as f64 - want).abs() / want);
            if x.abs() < 30.0 {
                let s = 1.0 / (1.0 + libm::exp(-x as f64));
                let t = libm::tanh(x as f64);
                worst_s = worst_s.max((sigmoid(x) as f64 - s).abs() / s);
                worst_t = worst_t.max((tanh(x) as f64 - t).abs() / t.abs().max(1e-30));
            }
        }
        assert!(worst_exp < 2.5e-7, "exp relative error {worst_exp:e}");
        assert!(worst_s < 4e-7, "sigmoid relative error {worst_s:e}");
        assert!(worst_t < 4e-7, "tanh relative error {worst_t:e}");
        for x in [1e-20f32, 1e-8, 3e-8, 1e-6, 1e-3, 0.6249, 0.6251] {
            assert_eq!(tanh(-x), -tanh(x));
            let want = libm::tanh(x as f64);
            assert!(((tanh(x) as f64 - want) / want).abs() < 4e-7, "tanh({x})");
        }
        assert_eq!((tanh(0.0), tanh(100.0), tanh(-100.0)), (0.0, 1.0, -1.0));
        assert!(sigmoid(-1e4) < 1e-37 && sigmoid(1e4) == 1.0);
    }

    #[test]
    fn activation_loop_matches_sigmoid_and_tanh_bit_for_bit() {
        // Every 1e-3 over [-100, 100] (every 0.37 under Miri), both sides of each
        // branch and clamp (43.5: where the loop's one compare stands for the clamp's
        // two), the special values and random bit patterns.
        let step = if cfg!(miri) { 370 } else { 1 };
        let mut xs: Vec<f32> = (-100_000..100_000)
            .step_by(step)
            .map(|i| i as f32 * 1e-3)
            .collect();
        for x in [
            0.625f32,
            43.5,
            44.0,
            87.0,
            88.0,
            1e-30,
            1e30,
            f32::MAX,
            f32::MIN_POSITIVE,
        ] {
            xs.extend([
                x,
                -x,
                f32::from_bits(x.to_bits() - 1),
                -f32::from_bits(x.to_bits() + 1),
            ]);
        }
        xs.extend([0.0, -0.0, f32::INFINITY, f32::NEG_INFINITY, f32::NAN]);
        // Random bit patterns: every exponent, both signs, NaNs among them.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        xs.extend((0..200_000 / step).map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            f32::from_bits((state >> 32) as u32)
        }));
        for (tanh_side, f) in [(false, sigmoid as fn(f32) -> f32), (true, tanh)] {
            let mut got = xs.clone();
            activate_all(&mut got, tanh_side);
            for (x, g) in xs.iter().zip(&got) {
                // A NaN is any NaN: its sign and payload are not part of the result
                // (Miri picks them at random).
                let want = f(*x);
                let same = g.to_bits() == want.to_bits() || (g.is_nan() && want.is_nan());
                assert!(same, "x={x} tanh={tanh_side}: {g} vs {want}");
            }
        }
    }

    #[test]
    fn a_first_step_from_the_zero_state_skips_the_forget_gate_with_the_same_bits() {
        // Gates of every sign and size, -0.0 and tiny values among them (a product
        // `i * g` of -0.0 is where `+0.0 + i * g` and `i * g` differ), and forget gates
        // of +-infinity and NaN (which stays NaN: every NaN compared as one value).
        let hidden = 37;
        let mut gates: Vec<f32> = (0..4 * hidden)
            .map(|k| ((k * 7919) % 200) as f32 * 0.37 - 37.0)
            .collect();
        gates[2 * hidden] = -0.0;
        gates[2 * hidden + 1] = -1e-38;
        gates[2 * hidden + 2] = 1e-38;
        gates[hidden] = 90.0;
        gates[hidden + 1] = f32::INFINITY;
        gates[hidden + 2] = f32::NEG_INFINITY;
        gates[hidden + 3] = f32::NAN;
        gates[0] = -90.0;
        let run = |zero_state| {
            let (mut g, mut c, mut h) = (gates.clone(), vec![0.0f32; hidden], vec![7.0; hidden]);
            lstm_cell_from(&mut g, &mut c, &mut h, zero_state);
            let bits = |v: &[f32]| -> Vec<u32> {
                v.iter()
                    .map(|v| if v.is_nan() { u32::MAX } else { v.to_bits() })
                    .collect()
            };
            (bits(&c), bits(&h))
        };
        assert_eq!(run(true), run(false));
        // And both are the definition: c = sigmoid(i) * tanh(g) from c = 0, NaN for the
        // NaN forget gate.
        let (c, _) = run(true);
        for j in 0..hidden {
            let want = 0.0 + sigmoid(gates[j]) * tanh(gates[2 * hidden + j]);
            let want = if j == 3 { u32::MAX } else { want.to_bits() };
            assert_eq!(c[j], want, "unit {j}");
        }
    }

    #[test]
    fn log_softmax_matches_hand_computed_values() {
        // log_softmax([1, 2, 3]) = [1, 2, 3] - ln(e + e^2 + e^3) = [-2.4076, -1.4076, -0.4076]
        let mut x = [1.0f32, 2.0, 3.0];
        log_softmax(&mut x);
        for (got, want) in x.iter().zip([-2.407_606, -1.407_606, -0.407_606]) {
            assert!((got - want).abs() < 1e-5);
        }
        assert_eq!(argmax(&x), 2);
        assert_eq!(argmax(&[f32::NAN, 1.0, 1.0]), 1);
        assert_eq!(argmax(&[f32::NAN, f32::NAN, f32::NAN]), 0);
        assert_eq!(argmax(&[1.0, f32::NAN, 2.0]), 2);
    }

    #[test]
    fn log_softmax_keeps_the_log_of_the_sum_beside_huge_logits() {
        // Two equal logits near f32's limit: each has probability 1/2, the third 0.
        let mut x = [3.0e38f32, 3.0e38, -3.0e38];
        log_softmax(&mut x);
        let half = -core::f32::consts::LN_2;
        assert_eq!(x[..2], [half, half], "{x:?}");
        // -6e38 is beyond f32: probability 0.
        assert_eq!(x[2], f32::NEG_INFINITY);
    }
}
