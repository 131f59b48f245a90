//! Every kernel at every level this machine runs, against the scalar path.

use super::{force, Level, Rows};
use crate::tensor::{Matrix, Storage, Vector};

/// xorshift64*: deterministic test data without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in [-scale, scale).
    fn f32(&mut self, scale: f32) -> f32 {
        ((self.next() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
    }
    fn floats(&mut self, n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|_| self.f32(scale)).collect()
    }
}

/// The levels other than scalar that this machine runs.
fn simd_levels() -> Vec<Level> {
    Level::ALL
        .into_iter()
        .filter(|&l| l != Level::Scalar && l.is_supported())
        .collect()
}

/// Runs `f` at `level` on this thread.
fn at<R>(level: Level, f: impl FnOnce() -> R) -> R {
    assert!(force(Some(level)));
    let r = f();
    force(None);
    r
}

std::thread_local! {
    /// The panel products' choice past the L1 bound forced on this thread: one panel
    /// at a time (`Some(true)`, as on AMD) or several (`Some(false)`); `None`: the
    /// processor's vendor decides.
    pub(super) static ONE_STREAM: std::cell::Cell<Option<bool>> =
        const { std::cell::Cell::new(None) };
}

/// The SIMD levels this machine runs, `avx2` and `avx512` with both choices of the
/// panel products past the L1 bound (theirs alone), the others once.
fn simd_variants() -> Vec<(Level, bool)> {
    simd_levels()
        .into_iter()
        .flat_map(|l| {
            let both = matches!(l, Level::Avx2 | Level::Avx512);
            [(l, false), (l, true)]
                .into_iter()
                .take(if both { 2 } else { 1 })
        })
        .collect()
}

/// Runs `f` at `level` on this thread, with the panel products' choice past the L1
/// bound forced to `one_stream`.
fn at_variant<R>((level, one_stream): (Level, bool), f: impl FnOnce() -> R) -> R {
    ONE_STREAM.with(|c| c.set(Some(one_stream)));
    let r = at(level, f);
    ONE_STREAM.with(|c| c.set(None));
    r
}

/// A matrix blob `shift` bytes into a buffer (so that it is misaligned), kept alive
/// by the returned vector.
fn blob(rng: &mut Rng, storage: Storage, rows: usize, cols: usize, scale: f32) -> Vec<u8> {
    match storage {
        Storage::F32 => rng
            .floats(rows * cols, scale)
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect(),
        Storage::I8 => {
            let mut b: Vec<u8> = (0..rows * cols).map(|_| rng.next() as u8).collect();
            for _ in 0..rows {
                b.extend_from_slice(&(rng.f32(scale).abs() / 127.0 + 1e-3).to_le_bytes());
            }
            b
        }
    }
}

fn matrix(bytes: &[u8], storage: Storage, rows: usize, cols: usize) -> Matrix<'_> {
    match storage {
        Storage::F32 => Matrix::f32_le(bytes, rows, cols),
        Storage::I8 => Matrix::i8_scaled(bytes, rows, cols),
    }
    .unwrap()
}

/// `|got - want| <= tol * (sum |w x| + 1)`: summation order and FMA change rounding.
fn close(got: &[f32], want: &[f32], magnitude: f32, what: &str) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 2e-6 * (magnitude + 1.0),
            "{what}: element {i}: {g} vs scalar {w}"
        );
    }
}

#[cfg(not(miri))]
const ROWS: &[usize] = &[1, 2, 3, 5, 7, 8, 9, 17, 33];
#[cfg(not(miri))]
const COLS: &[usize] = &[
    1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 63, 100, 164,
];
/// Longer integer rows (the i32 and i64 reductions).
#[cfg(not(miri))]
const INT_COLS: &[usize] = &[48, 128, 176, 255, 256, 257, 1060, 1076, 2080, 4096];
/// (rows, cols) of the integer extremes.
#[cfg(not(miri))]
const EXTREME_SHAPES: &[(usize, usize)] = &[(3, 4096), (8, 1024), (9, 1024), (8, 1040)];

// Under Miri (which checks every pointer of the kernels): fewer, smaller shapes.
#[cfg(miri)]
const ROWS: &[usize] = &[1, 3, 8, 9];
#[cfg(miri)]
const COLS: &[usize] = &[1, 4, 7, 8, 9, 17];
#[cfg(miri)]
const INT_COLS: &[usize] = &[33];
#[cfg(miri)]
const EXTREME_SHAPES: &[(usize, usize)] = &[(3, 40), (8, 17), (9, 16)];

/// Eight inputs side by side: the SIMD levels against the scalar definition. Without
/// FMA (SSE2) the sums are bit for bit the scalar ones (same products, same order);
/// with it, within rounding.
#[test]
fn side_by_side_kernel_matches_scalar_at_every_level() {
    const L: usize = crate::kernels::BATCH_LANES;
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut checked = 0;
    for level in simd_levels() {
        for &rows in ROWS {
            for &cols in COLS {
                let scale = if cols % 2 == 0 { 1.0 } else { 300.0 };
                let (buf, shift) =
                    misaligned(blob(&mut rng, Storage::F32, rows, cols, scale), rows + cols);
                let w = matrix(&buf[shift..], Storage::F32, rows, cols);
                let xt = rng.floats(cols * L, scale);
                let init = rng.floats(rows * L, 1.0);
                let run = |l| {
                    at(l, || {
                        let mut out = init.clone();
                        assert!(w.gemm_lanes_add(&xt, &mut out));
                        out
                    })
                };
                let (got, want) = (run(level), run(Level::Scalar));
                let what = format!("{level:?} side by side {rows}x{cols}");
                if level == Level::Sse2 {
                    assert_eq!(got, want, "{what}");
                }
                close(&got, &want, scale * scale * cols as f32, &what);
                // Lane l is row r . (lane l of xt), whatever the other lanes hold.
                for (r, lane) in [(0, 0), (rows - 1, L - 1), (rows / 2, 3)] {
                    let x: Vec<f32> = (0..cols).map(|k| xt[k * L + lane]).collect();
                    let mut one = vec![0.0f32; rows];
                    at(Level::Scalar, || w.matvec_add(&x, &mut one));
                    let mag = scale * scale * cols as f32;
                    let d = got[r * L + lane] - init[r * L + lane] - one[r];
                    assert!(d.abs() <= 4e-6 * (mag + 1.0), "{what}: lane {lane} row {r}");
                }
                checked += 1;
            }
        }
        // int8 rows are not for this kernel: it declines them.
        let q = blob(&mut rng, Storage::I8, 4, 4, 1.0);
        let w = matrix(&q, Storage::I8, 4, 4);
        assert!(!at(level, || w.gemm_lanes_add(&[0.0; 4 * L], &mut [0.0; 4 * L])));
    }
    println!("side-by-side kernel: {checked} shapes checked");
}

/// `values` (rows, cols, row-major) in the blob's panel layout, as little-endian bytes.
fn panel_bytes(values: &[f32], rows: usize, cols: usize) -> Vec<u8> {
    const P: usize = crate::kernels::PANEL_ROWS;
    let mut panels = vec![0.0f32; rows.div_ceil(P) * P * cols];
    for r in 0..rows {
        for c in 0..cols {
            panels[crate::kernels::panel_index(r, c, cols)] = values[r * cols + c];
        }
    }
    panels.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// The blob's panel layout (`DType::F32Panels`): every product the model takes of such
/// a matrix (one input, a column range of one input, blocks of 1 to 9 inputs with a
/// bias and without, eight inputs side by side) at every SIMD level against the scalar
/// definitions ([`crate::kernels::panel_dot`] for the projections,
/// [`crate::kernels::panel_gemv`] for the others): bit for bit without FMA (SSE2),
/// within rounding with it. The scalar definitions are checked against float64 sums of
/// the row-major values, and the layout's decoding against those values exactly. Row
/// counts cover partial last panels and every level's tile remainders; sizes lie on
/// both sides of the bound past which `avx2` and `avx512` read one panel at a time on
/// AMD processors (both choices forced here, whatever the processor).
#[test]
fn panel_layout_kernels_match_scalar_at_every_level() {
    const L: usize = crate::kernels::BATCH_LANES;
    #[cfg(not(miri))]
    const PANEL_ROWS_CASES: &[usize] = &[1, 7, 16, 17, 31, 32, 33, 48, 64, 65, 96, 129, 144];
    #[cfg(miri)]
    const PANEL_ROWS_CASES: &[usize] = &[1, 17, 33];
    let mut rng = Rng(0x510e_527f_ade6_82d1);
    let mut checked = 0;
    for &rows in PANEL_ROWS_CASES {
        for &cols in COLS {
            let shift = 1 + (rows + cols) % 3;
            let scale = if cols % 2 == 0 { 1.0 } else { 300.0 };
            let values = rng.floats(rows * cols, scale);
            let mut buf = vec![0u8; shift];
            buf.extend(panel_bytes(&values, rows, cols));
            let w = Matrix::f32_panels(&buf[shift..], rows, cols).unwrap();
            assert_eq!(w.dtype(), crate::format::DType::F32Panels);
            let mut row = vec![0.0f32; cols];
            for r in 0..rows {
                w.row_into(r, &mut row);
                assert_eq!(
                    row,
                    values[r * cols..(r + 1) * cols],
                    "row {r} of {rows}x{cols}"
                );
            }
            let bias_values = rng.floats(rows, 1.0);
            let bias_bytes: Vec<u8> = bias_values.iter().flat_map(|v| v.to_le_bytes()).collect();
            let bias = Vector::f32_le(&bias_bytes, rows).unwrap();
            let b = 1 + (rows + cols) % 9;
            let xs = rng.floats(b * cols, scale);
            let xt = rng.floats(cols * L, scale);
            let init = rng.floats(rows * L, 1.0);
            let init_many = rng.floats(b * rows, 1.0);
            let col0 = cols / 3;
            let run = |level| {
                at(level, || {
                    let mut one = init[..rows].to_vec();
                    w.matvec_add(&xs[..cols], &mut one);
                    let mut part = init[..rows].to_vec();
                    w.matvec_add_cols(col0, &xs[col0..cols], &mut part);
                    let mut block = vec![f32::NAN; b * rows];
                    w.project_block(&xs, &bias, &mut vec![0.0; cols], &mut block);
                    let mut lanes = init.clone();
                    assert!(w.gemm_lanes_add(&xt, &mut lanes));
                    let mut many = init_many.clone();
                    w.gemm_add(&xs, &mut many);
                    // The same sums landing on start rows apart from the output.
                    let starts: Vec<&[f32]> = init_many.chunks_exact(rows).collect();
                    let mut from = vec![f32::NAN; b * rows];
                    w.gemm_from(&xs, &starts, &mut from);
                    [one, part, block, lanes, many, from]
                })
            };
            let want = run(Level::Scalar);
            assert_eq!(want[5], want[4], "{rows}x{cols}: gemm_from");
            // The definition against float64 sums of the row-major values.
            let mag = scale * scale * cols as f32;
            let f64_dot = |r: usize, x: &[f32], col0: usize| -> f32 {
                (col0..cols)
                    .map(|c| values[r * cols + c] as f64 * x[c - col0] as f64)
                    .sum::<f64>() as f32
            };
            // Without a bias, each input's rows sum as one input's do.
            for t in 0..b {
                let mut one = init_many[t * rows..(t + 1) * rows].to_vec();
                at(Level::Scalar, || {
                    w.matvec_add(&xs[t * cols..(t + 1) * cols], &mut one)
                });
                assert_eq!(
                    one,
                    want[4][t * rows..(t + 1) * rows],
                    "{rows}x{cols} input {t}"
                );
            }
            for r in 0..rows {
                let d = want[0][r] - init[r] - f64_dot(r, &xs[..cols], 0);
                assert!(d.abs() <= 4e-6 * (mag + 1.0), "{rows}x{cols} row {r}");
                let d = want[1][r] - init[r] - f64_dot(r, &xs[col0..cols], col0);
                assert!(
                    d.abs() <= 4e-6 * (mag + 1.0),
                    "{rows}x{cols} columns {col0}.. row {r}"
                );
                for t in 0..b {
                    let d = want[2][t * rows + r]
                        - bias_values[r]
                        - f64_dot(r, &xs[t * cols..(t + 1) * cols], 0);
                    assert!(
                        d.abs() <= 4e-6 * (mag + 1.0),
                        "{rows}x{cols} input {t} row {r}"
                    );
                }
                let x: Vec<f32> = (0..cols).map(|k| xt[k * L + 5]).collect();
                let d = want[3][r * L + 5] - init[r * L + 5] - f64_dot(r, &x, 0);
                assert!(
                    d.abs() <= 4e-6 * (mag + 1.0),
                    "{rows}x{cols} lane 5 row {r}"
                );
            }
            for variant in simd_variants() {
                let level = variant.0;
                let got = at_variant(variant, || run(level));
                assert_eq!(got[5], got[4], "{variant:?} {rows}x{cols}: gemm_from");
                let parts = [
                    "one input",
                    "columns",
                    "block",
                    "side by side",
                    "inputs",
                    "from",
                ];
                for (what, (g, w)) in parts.iter().zip(got.iter().zip(&want)) {
                    let what = format!("{variant:?} panels {what} {rows}x{cols}, {b} inputs");
                    if level == Level::Sse2 {
                        assert_eq!(g, w, "{what}");
                    }
                    close(g, w, mag, &what);
                }
                checked += 1;
            }
        }
    }
    println!("panel layout kernels: {checked} shapes checked");
}

/// Packed steps ([`super::packed_step`]): the products ([`crate::kernels::gemv_panels`]
/// of `z = [x, h]`, read from `x` and `h` in place) at the SIMD levels against the
/// scalar definition, which is itself checked against a float64 sum of the products.
/// Without FMA (SSE2) the sums are bit for bit the scalar ones; with it, within
/// rounding. Then the cell update of those gates, bit for bit
/// [`crate::kernels::lstm_cell`]'s: 4 units per panel (4 to 36; at `avx512` 16 take one
/// 16-lane vector per gate, straight from the product's registers), one unit fewer,
/// which leaves rows past the gates (a hidden size whose 4H rows end inside a panel),
/// and for one panel none. Inputs `x` of even and odd lengths put the first column of
/// `h` in either sum. Each shape that disagrees is declined on its own.
/// Panel counts cover single panels and the remainders of every level's tile; sizes lie
/// on both sides of the bound past which `avx2` and `avx512` run one panel at a time on
/// AMD processors (both choices forced here, whatever the processor).
#[test]
fn packed_step_matches_scalar_at_every_level() {
    const P: usize = crate::kernels::PANEL_ROWS;
    let mut rng = Rng(0x6a09_e667_f3bc_c909);
    let mut checked = 0;
    for &panels in &[1usize, 2, 3, 4, 5, 9] {
        let hidden = panels * P / 4;
        // (No units at all: the products of `x` alone, whose odd length leaves `h`'s
        // first column, which is not there, to the odd sums.)
        let no_units = (panels == 1).then_some(0);
        for units in [hidden, hidden - 1].into_iter().chain(no_units) {
            for &input in COLS.iter().chain(&[0]) {
                let cols = input + units;
                let scale = if input % 2 == 0 { 1.0 } else { 300.0 };
                let stride = P * (1 + cols);
                let packed = rng.floats(panels * stride, scale);
                let z = rng.floats(cols, scale);
                let (x, h0) = z.split_at(input);
                let mut want = vec![f32::NAN; panels * P];
                crate::kernels::gemv_panels(&packed, cols, &z, &mut want);
                let mag = scale * scale * (cols + 1) as f32;
                // The definition: bias plus the products, in f64.
                let exact: Vec<f32> = (0..panels * P)
                    .map(|r| {
                        let (p, l) = (r / P, r % P);
                        let panel = &packed[p * stride..(p + 1) * stride];
                        let sum: f64 = (0..cols)
                            .map(|k| panel[P * (1 + k) + l] as f64 * z[k] as f64)
                            .sum();
                        (panel[l] as f64 + sum) as f32
                    })
                    .collect();
                let what = format!("{panels} panels, {input} inputs, {units} units");
                close(&want, &exact, mag, &format!("scalar {what}"));
                let c0 = rng.floats(units, 3.0);
                for variant in simd_variants() {
                    let (got, c, h) = at_variant(variant, || {
                        let mut out = vec![f32::NAN; panels * P];
                        let (mut c, mut h) = (c0.clone(), h0.to_vec());
                        assert!(super::packed_step(&packed, x, &mut out, &mut c, &mut h));
                        (out, c, h)
                    });
                    let what = format!("{variant:?} {what}");
                    if variant.0 == Level::Sse2 {
                        assert_eq!(got, want, "{what}");
                    }
                    close(&got, &want, mag, &what);
                    let mut gates = got[..4 * units].to_vec();
                    let (mut c_want, mut h_want) = (c0.clone(), vec![0.0; units]);
                    crate::kernels::lstm_cell(&mut gates, &mut c_want, &mut h_want);
                    assert_eq!(bits(&c), bits(&c_want), "{what}: c");
                    assert_eq!(bits(&h), bits(&h_want), "{what}: h");
                    checked += 1;
                }
                // Shapes that disagree, one at a time: declined, nothing written.
                let declined = |w: &[f32], x: &[f32], rows: usize, units: usize, h_len: usize| {
                    let mut out = vec![f32::NAN; rows];
                    let (mut c, mut h) = (vec![f32::NAN; units], vec![f32::NAN; h_len]);
                    !super::packed_step(w, x, &mut out, &mut c, &mut h)
                        && out.iter().chain(&c).chain(&h).all(|v| v.is_nan())
                };
                let rows = panels * P;
                let longer = rng.floats(input + 1, 1.0);
                assert!(
                    declined(&packed[1..], x, rows, units, units),
                    "{what}: panels"
                );
                assert!(
                    declined(&packed, x, rows - 1, units, units),
                    "{what}: gates"
                );
                assert!(
                    declined(&packed, &longer, rows, units, units),
                    "{what}: columns"
                );
                // The panels' columns, but `h` shorter than `c`, or (with an input to spare)
                // more units than the gates hold.
                if units > 0 {
                    let h_len = units - 1;
                    assert!(declined(&packed, &longer, rows, units, h_len), "{what}: h");
                }
                if input > 0 && units == hidden {
                    let (x, u) = (&x[1..], units + 1);
                    assert!(declined(&packed, x, rows, u, u), "{what}: units");
                }
            }
        }
    }
    println!("packed steps: {checked} shapes checked");
}

#[test]
fn float_kernels_match_scalar_at_every_level() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut checked = 0;
    for level in simd_levels() {
        for storage in [Storage::F32, Storage::I8] {
            for &rows in ROWS {
                for &cols in COLS {
                    let scale = if cols % 2 == 0 { 1.0 } else { 300.0 };
                    let (buf, shift) =
                        misaligned(blob(&mut rng, storage, rows, cols, scale), rows + cols);
                    let w = matrix(&buf[shift..], storage, rows, cols);
                    // Upper bound on |w| * |x| summed over a row.
                    let wmax = if storage == Storage::F32 {
                        scale
                    } else {
                        scale + 0.2
                    };
                    let what = format!("{level:?} {storage:?} {rows}x{cols}");

                    // out += W x
                    let x = rng.floats(cols, scale);
                    let init = rng.floats(rows, 1.0);
                    let run = |l| {
                        at(l, || {
                            let mut out = init.clone();
                            w.matvec_add(&x, &mut out);
                            out
                        })
                    };
                    let mag = wmax * scale * cols as f32;
                    close(&run(level), &run(Level::Scalar), mag, &what);

                    // The same on a column range (the tag layer's per-direction half).
                    let (col0, len) = (cols / 3, cols - cols / 3 - cols / 4);
                    let run = |l| {
                        at(l, || {
                            let mut out = init.clone();
                            w.matvec_add_cols(col0, &x[..len], &mut out);
                            out
                        })
                    };
                    close(&run(level), &run(Level::Scalar), mag, &what);

                    // P = X W^T + bias for every block size.
                    let bias_f = rng.floats(rows, 1.0);
                    let bias_b: Vec<u8> = bias_f.iter().flat_map(|v| v.to_le_bytes()).collect();
                    let bias = Vector::f32_le(&bias_b, rows).unwrap();
                    for b in 1..=crate::PROJECTION_BLOCK {
                        let xs = rng.floats(b * cols, scale);
                        let run = |l| {
                            at(l, || {
                                let mut out = vec![f32::NAN; b * rows];
                                let mut row = vec![0.0; cols];
                                w.project_block(&xs, &bias, &mut row, &mut out);
                                out
                            })
                        };
                        close(&run(level), &run(Level::Scalar), mag, &what);
                    }
                    checked += 1;
                }
            }
        }
    }
    println!("{checked} shapes checked at {:?}", simd_levels());
}

/// Rows long enough that the matrix-vector product prefetches each next tile (int8
/// rows of 256 bytes and more, f32 rows of 64 columns and more), with and without a
/// next tile and with rows left over: the scalar results within rounding.
#[test]
fn prefetching_products_match_scalar_at_every_level() {
    #[cfg(not(miri))]
    const SHAPES: &[(usize, usize)] = &[(16, 64), (17, 300), (24, 256), (41, 257), (64, 260)];
    #[cfg(miri)]
    const SHAPES: &[(usize, usize)] = &[(17, 64), (24, 256)];
    let mut rng = Rng(0x51_7cc1_b727_220a);
    for level in simd_levels() {
        for storage in [Storage::F32, Storage::I8] {
            for &(rows, cols) in SHAPES {
                let mut buf = vec![0u8; 3];
                buf.extend(blob(&mut rng, storage, rows, cols, 1.0));
                let w = matrix(&buf[3..], storage, rows, cols);
                let what = format!("{level:?} {storage:?} {rows}x{cols}");
                let x = rng.floats(cols, 1.0);
                let init = rng.floats(rows, 1.0);
                let bias_b: Vec<u8> = init.iter().flat_map(|v| v.to_le_bytes()).collect();
                let bias = Vector::f32_le(&bias_b, rows).unwrap();
                let run = |l| {
                    at(l, || {
                        let mut out = init.clone();
                        w.matvec_add(&x, &mut out);
                        let mut one = vec![f32::NAN; rows];
                        w.project_block(&x, &bias, &mut vec![0.0; cols], &mut one);
                        out.extend(one);
                        out
                    })
                };
                close(&run(level), &run(Level::Scalar), 1.2 * cols as f32, &what);
            }
        }
    }
}

#[test]
fn integer_kernel_is_identical_at_every_level() {
    let mut rng = Rng(12345);
    for level in simd_levels() {
        let mut cols_list = COLS.to_vec();
        cols_list.extend(INT_COLS);
        for &rows in ROWS {
            for &cols in &cols_list {
                let mut buf = vec![0u8; 1];
                buf.extend(blob(&mut rng, Storage::I8, rows, cols, 1.0));
                let w = matrix(&buf[1..], Storage::I8, rows, cols);
                let xq: Vec<i16> = (0..cols)
                    .map(|_| (rng.next() % 32767) as i16 - 16383)
                    .collect();
                let init = rng.floats(rows, 1.0);
                let run = |l| {
                    at(l, || {
                        let mut out = init.clone();
                        assert!(w.matvec_add_quantized(&xq, 3e-5, &mut out));
                        out
                    })
                };
                let (got, want) = (run(level), run(Level::Scalar));
                assert_eq!(
                    got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                    want.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                    "{level:?} {rows}x{cols}"
                );
            }
        }
        // The extremes: every product at its largest magnitude, one sign, longest
        // rows (up to 1024 columns sums may be reduced in i32, beyond in i64).
        let extremes = [
            (127u8, 16383i16),
            (0x80, 16383),
            (0x80, -16383),
            (127, -16383),
        ];
        for (q, x) in extremes {
            for &(rows, cols) in EXTREME_SHAPES {
                let bytes = uniform_int8(q, rows, cols);
                let w = matrix(&bytes, Storage::I8, rows, cols);
                let xq = vec![x; cols];
                let want = (q as i8 as i64 * x as i64 * cols as i64) as f32;
                let out = at(level, || {
                    let mut out = vec![0.0f32; rows];
                    w.matvec_add_quantized(&xq, 1.0, &mut out);
                    out
                });
                assert_eq!(out, vec![want; rows], "{level:?} q={q} x={x} {rows}x{cols}");
            }
        }
    }
}

#[test]
fn integer_products_on_column_ranges_follow_their_definition() {
    // `out[r] += (scale_r * s) * sum_c q[r][col0 + c] * xq[c]`, the sum in i64, written
    // out here, at every level (the output layer's two halves take such ranges).
    let mut rng = Rng(0xc01);
    for level in Level::ALL.into_iter().filter(|l| l.is_supported()) {
        for (rows, cols, col0, len) in [
            (17, 128, 0, 64),
            (17, 128, 64, 64),
            (5, 96, 48, 48),
            (9, 40, 3, 33),
            (4, 16, 12, 4),
            (3, 7, 6, 1),
        ] {
            let bytes = blob(&mut rng, Storage::I8, rows, cols, 1.0);
            let w = matrix(&bytes, Storage::I8, rows, cols);
            let xq = quantized(&mut rng, len);
            let init = rng.floats(rows, 1.0);
            let s = 3e-5f32;
            let want: Vec<f32> = (0..rows)
                .map(|r| {
                    let at = rows * cols + 4 * r;
                    let scale = f32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
                    let q = &bytes[r * cols + col0..r * cols + col0 + len];
                    let dot: i64 = q
                        .iter()
                        .zip(&xq)
                        .map(|(&q, &x)| q as i8 as i64 * x as i64)
                        .sum();
                    init[r] + (scale * s) * dot as f32
                })
                .collect();
            let got = at(level, || {
                let mut out = init.clone();
                assert!(w.matvec_add_cols_quantized(col0, &xq, s, &mut out));
                // Past the last column, or f32 weights: nothing done.
                let mut none = init.clone();
                assert!(!w.matvec_add_cols_quantized(
                    col0 + 1,
                    &quantized(&mut Rng(1), cols - col0),
                    s,
                    &mut none
                ));
                assert_eq!(bits(&none), bits(&init));
                out
            });
            assert_eq!(
                bits(&got),
                bits(&want),
                "{level:?} {rows}x{cols} at {col0}+{len}"
            );
        }
    }
}

#[test]
fn interleaved_rows_give_the_integer_kernels_result() {
    let mut rng = Rng(0x9a1);
    let mut cols_list = COLS.to_vec();
    cols_list.extend(INT_COLS);
    cols_list.extend([20, 48, 1023, 1024, 1025]);
    let mut rows_list = ROWS.to_vec();
    // Groups of 8, 4 and single blocks of 8 rows, and a last partial block.
    rows_list.extend([80, 100, 192]);
    for level in Level::ALL.into_iter().filter(|l| l.is_supported()) {
        for &rows in &rows_list {
            for &cols in &cols_list {
                let (buf, shift) =
                    misaligned(blob(&mut rng, Storage::I8, rows, cols, 1.0), rows + cols);
                let w = matrix(&buf[shift..], Storage::I8, rows, cols);
                let kr = w.kernel_rows();
                let xq = quantized(&mut rng, cols);
                let init = rng.floats(rows, 1.0);
                let mut want = init.clone();
                at(Level::Scalar, || {
                    w.matvec_add_quantized(&xq, 3e-5, &mut want)
                });
                // Only `sse2`, `avx2` and `avx512` have the kernel, for rows up to 1024
                // columns.
                let kernel = level.has_pairs() && cols <= 1024;
                let mut pairs = vec![7i16; super::pairs_len(rows, cols)];
                let got = at(level, || {
                    assert_eq!(super::interleave_pairs(&kr, &mut pairs), kernel);
                    let short = &pairs[..pairs.len() - 1];
                    let mut out = init.clone();
                    assert!(!super::gemv_pairs(short, &kr, &xq, 3e-5, None, &mut out));
                    let base = Some(&init[..rows - 1]);
                    assert!(!super::gemv_pairs(&pairs, &kr, &xq, 3e-5, base, &mut out));
                    assert_eq!(
                        super::gemv_pairs(&pairs, &kr, &xq, 3e-5, None, &mut out),
                        kernel
                    );
                    // The projection read from `base` rather than added to in `out`
                    // (which a refused call leaves as it was).
                    let before = rng.floats(rows, 1.0);
                    let mut from = before.clone();
                    let base = Some(&init[..]);
                    let done = super::gemv_pairs(&pairs, &kr, &xq, 3e-5, base, &mut from);
                    assert_eq!(done, kernel);
                    if !kernel {
                        assert_eq!(bits(&from), bits(&before), "{level:?} {rows}x{cols}");
                        from = init.clone();
                    }
                    (out, from)
                });
                let want = if kernel { want } else { init };
                assert_eq!(bits(&got.0), bits(&want), "{level:?} {rows}x{cols}");
                assert_eq!(bits(&got.1), bits(&want), "{level:?} {rows}x{cols} base");
                if kernel {
                    // The layout itself, element by element as documented, padding
                    // included (the buffer held 7s).
                    let layout = documented_pairs(&buf[shift..], cols, rows, cols);
                    assert_eq!(pairs, layout, "{rows}x{cols} layout");
                }
            }
        }
        if !level.has_pairs() {
            continue;
        }
        // The extremes: every product at its largest magnitude, one sign, the longest
        // rows the kernel takes.
        for (q, x) in [
            (127u8, 16383i16),
            (0x80, 16383),
            (0x80, -16383),
            (127, -16383),
        ] {
            for (rows, cols) in [(8, 1024), (9, 1024), (3, 1023)] {
                let bytes = uniform_int8(q, rows, cols);
                let w = matrix(&bytes, Storage::I8, rows, cols);
                let mut pairs = vec![0i16; super::pairs_len(rows, cols)];
                let want = (q as i8 as i64 * x as i64 * cols as i64) as f32;
                let out = at(level, || {
                    assert!(super::interleave_pairs(&w.kernel_rows(), &mut pairs));
                    let mut out = vec![0.0f32; rows];
                    assert!(super::gemv_pairs(
                        &pairs,
                        &w.kernel_rows(),
                        &vec![x; cols],
                        1.0,
                        None,
                        &mut out
                    ));
                    out
                });
                assert_eq!(out, vec![want; rows], "q={q} x={x} {rows}x{cols}");
            }
        }
    }
}

#[test]
fn interleaved_rows_give_each_input_the_integer_kernels_result() {
    let mut rng = Rng(0x9a2);
    let mut cols_list = COLS.to_vec();
    cols_list.extend([20, 48, 128, 1023, 1024, 1025]);
    let mut rows_list = ROWS.to_vec();
    // Whole groups of 4 and 2 blocks of 8 rows, single blocks, a last partial block
    // (in a group of 4 too).
    rows_list.extend([25, 31, 32, 40, 56, 57, 63, 100, 512]);
    let mut checked = 0;
    for level in Level::ALL.into_iter().filter(|l| l.is_supported()) {
        for &rows in &rows_list {
            for &cols in &cols_list {
                let (buf, shift) =
                    misaligned(blob(&mut rng, Storage::I8, rows, cols, 1.0), rows + cols);
                let w = matrix(&buf[shift..], Storage::I8, rows, cols);
                let kr = w.kernel_rows();
                // Only `avx2` and `avx512` have the kernel, for rows up to 1024 columns.
                let kernel = level.has_avx2() && cols <= 1024;
                let mut pairs = vec![7i16; super::pairs_len(rows, cols)];
                let copied = at(level, || super::interleave_pairs(&kr, &mut pairs));
                for b in [1, 3, 4, 5, 8, 9, 12, 17] {
                    let xq = quantized(&mut rng, b * cols);
                    let x_scales: Vec<f32> = (0..b).map(|_| rng.f32(1e-3).abs()).collect();
                    let init = rng.floats(b * rows, 1.0);
                    let mut want = init.clone();
                    at(Level::Scalar, || {
                        for (t, o) in want.chunks_exact_mut(rows).enumerate() {
                            w.matvec_add_quantized(&xq[t * cols..(t + 1) * cols], x_scales[t], o);
                        }
                    });
                    let mut got = init.clone();
                    let done = at(level, || {
                        let short = &pairs[..pairs.len() - 1];
                        assert!(!super::gemm_pairs(short, &kr, &xq, &x_scales, &mut got));
                        let few = &xq[..xq.len() - 1];
                        assert!(!super::gemm_pairs(&pairs, &kr, few, &x_scales, &mut got));
                        let out = &mut got[1..];
                        assert!(!super::gemm_pairs(&pairs, &kr, &xq, &x_scales, out));
                        super::gemm_pairs(&pairs, &kr, &xq, &x_scales, &mut got)
                    });
                    assert_eq!(done, kernel && copied, "{level:?} {rows}x{cols}");
                    let want = if done { want } else { init };
                    assert_eq!(
                        bits(&got),
                        bits(&want),
                        "{level:?} {rows}x{cols}, {b} inputs"
                    );
                    checked += usize::from(done);
                }
            }
        }
        if !level.has_avx2() {
            continue;
        }
        // The extremes: every product at its largest magnitude, one sign, the longest
        // rows the kernel takes, a full tile of inputs and more.
        for (q, x) in [(127u8, 16383i16), (0x80, 16383), (0x80, -16383)] {
            for (rows, cols) in [(32, 1024), (41, 1024), (3, 1023)] {
                let bytes = uniform_int8(q, rows, cols);
                let w = matrix(&bytes, Storage::I8, rows, cols);
                let mut pairs = vec![0i16; super::pairs_len(rows, cols)];
                let want = (q as i8 as i64 * x as i64 * cols as i64) as f32;
                let b = 13;
                let out = at(level, || {
                    assert!(super::interleave_pairs(&w.kernel_rows(), &mut pairs));
                    let mut out = vec![0.0f32; b * rows];
                    let xq = vec![x; b * cols];
                    assert!(super::gemm_pairs(
                        &pairs,
                        &w.kernel_rows(),
                        &xq,
                        &[1.0; 13],
                        &mut out
                    ));
                    out
                });
                assert_eq!(out, vec![want; b * rows], "q={q} x={x} {rows}x{cols}");
            }
        }
    }
    println!("{checked} products on the interleaved copy checked");
}

/// Random i16 inputs within the quantizer's range, with runs at its ends.
fn quantized(rng: &mut Rng, n: usize) -> Vec<i16> {
    (0..n)
        .map(|_| match rng.next() % 8 {
            0 => 16383,
            1 => -16383,
            _ => (rng.next() % 32767) as i16 - 16383,
        })
        .collect()
}

#[test]
fn integer_projection_is_identical_at_every_level() {
    let mut rng = Rng(4242);
    let mut cols_list = COLS.to_vec();
    cols_list.extend(INT_COLS);
    let mut checked = 0;
    for level in simd_levels() {
        for &rows in ROWS {
            for &cols in &cols_list {
                let (buf, shift) =
                    misaligned(blob(&mut rng, Storage::I8, rows, cols, 1.0), rows + cols);
                let w = matrix(&buf[shift..], Storage::I8, rows, cols);
                let bias_b = le_bytes(&rng.floats(rows, 1.0));
                let bias = Vector::f32_le(&bias_b, rows).unwrap();
                for b in 1..=crate::PROJECTION_BLOCK {
                    let xq = quantized(&mut rng, b * cols);
                    let x_scales: Vec<f32> = (0..b).map(|_| rng.f32(1e-3).abs()).collect();
                    let run = |l| {
                        at(l, || {
                            let mut out = vec![f32::NAN; b * rows];
                            assert!(w.project_block_quantized(&xq, &x_scales, &bias, &mut out));
                            out
                        })
                    };
                    let (got, want) = (run(level), run(Level::Scalar));
                    assert_eq!(
                        got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                        want.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                        "{level:?} {rows}x{cols}, {b} inputs"
                    );
                    checked += 1;
                }
                // The products added to what `out` holds, for more inputs than a tile
                // takes too: each input's `matvec_add_quantized` (the scalar one).
                for b in [1, 3, 4, 5, 8, 9, 13] {
                    let xq = quantized(&mut rng, b * cols);
                    let x_scales: Vec<f32> = (0..b).map(|_| rng.f32(1e-3).abs()).collect();
                    let init = rng.floats(b * rows, 1.0);
                    let mut want = init.clone();
                    at(Level::Scalar, || {
                        for (t, o) in want.chunks_exact_mut(rows).enumerate() {
                            w.matvec_add_quantized(&xq[t * cols..(t + 1) * cols], x_scales[t], o);
                        }
                    });
                    let got = at(level, || {
                        let mut out = init.clone();
                        assert!(!w.gemm_add_quantized(&xq[1..], &x_scales, &mut out));
                        assert!(!w.gemm_add_quantized(&xq, &x_scales, &mut out[1..]));
                        assert!(w.gemm_add_quantized(&xq, &x_scales, &mut out));
                        out
                    });
                    assert_eq!(
                        bits(&got),
                        bits(&want),
                        "{level:?} {rows}x{cols}, {b} added"
                    );
                }
            }
        }
        // Every product at its largest magnitude with one sign, on the longest rows
        // (sums beyond 1024 columns leave i32), for one input and for a full tile.
        for (q, x) in [(127u8, 16383i16), (0x80, 16383), (0x80, -16383)] {
            for &(rows, cols) in EXTREME_SHAPES {
                let bytes = uniform_int8(q, rows, cols);
                let w = matrix(&bytes, Storage::I8, rows, cols);
                let zeros = vec![0u8; 4 * rows];
                let bias = Vector::f32_le(&zeros, rows).unwrap();
                for b in [1, 5] {
                    let xq = vec![x; b * cols];
                    let want = (q as i8 as i64 * x as i64 * cols as i64) as f32;
                    let out = at(level, || {
                        let mut out = vec![0.0f32; b * rows];
                        w.project_block_quantized(&xq, &vec![1.0; b], &bias, &mut out);
                        out
                    });
                    assert_eq!(
                        out,
                        vec![want; b * rows],
                        "{level:?} q={q} x={x} {rows}x{cols}"
                    );
                }
            }
        }
    }
    println!("{checked} projections checked at {:?}", simd_levels());
}

#[test]
fn strided_rows_read_only_their_columns() {
    // Rows of 10 columns of which the kernels read 7 starting at column 0 (and rows of
    // 52 of which they read 47, a partial vector at every level): the other columns
    // hold NaN, which must not leak into the sums.
    for (cols, stride) in [(7, 10), (47, 52)] {
        strided_rows_of(cols, stride);
    }
}

fn strided_rows_of(cols: usize, stride: usize) {
    let mut rng = Rng(7);
    let rows = 11;
    let mut vals = rng.floats(rows * stride, 1.0);
    for r in 0..rows {
        for v in &mut vals[r * stride + cols..(r + 1) * stride] {
            *v = f32::NAN;
        }
    }
    let data: Vec<u8> = vals[..(rows - 1) * stride + cols]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let w = Rows {
        data: &data,
        scales: &[],
        int8: false,
        rows,
        cols,
        stride,
    };
    let x = rng.floats(cols, 1.0);
    let want: Vec<f32> = (0..rows)
        .map(|r| {
            (0..cols)
                .map(|j| vals[r * stride + j] as f64 * x[j] as f64)
                .sum::<f64>() as f32
        })
        .collect();
    for level in simd_levels() {
        let out = at(level, || {
            let mut out = vec![0.0f32; rows];
            assert!(super::gemv(&w, &x, &mut out));
            out
        });
        close(&out, &want, cols as f32, &format!("{level:?}"));
    }
    // Rows that do not fit the data are refused, not read.
    let short = Rows { rows: 12, ..w };
    for level in simd_levels() {
        assert!(!at(level, || super::gemv(&short, &x, &mut [0.0; 12])));
    }
    assert!(!at(Level::Scalar, || super::gemv(&w, &x, &mut [0.0; 11])));
}

/// Below `WIDE_COLS` columns (and units, 16 excepted on AMD processors) the `avx512`
/// level runs the AVX2 code: the `avx2` level's results, bit for bit.
#[test]
#[cfg(target_arch = "x86_64")]
fn avx512_runs_narrow_rows_as_avx2() {
    if !Level::Avx512.is_supported() {
        return;
    }
    let mut rng = Rng(0x5A);
    for storage in [Storage::F32, Storage::I8] {
        for (rows, cols) in [(1, 1), (9, 7), (8, 16), (17, 31)] {
            let buf = blob(&mut rng, storage, rows, cols, 1.0);
            let w = matrix(&buf, storage, rows, cols);
            let (x, init) = (rng.floats(8 * cols, 1.0), rng.floats(rows, 1.0));
            let bias: Vec<u8> = init.iter().flat_map(|v| v.to_le_bytes()).collect();
            let bias = Vector::f32_le(&bias, rows).unwrap();
            let xq = quantized(&mut rng, 8 * cols);
            let run = |level| {
                at(level, || {
                    let mut gemv = init.clone();
                    w.matvec_add(&x[..cols], &mut gemv);
                    let mut block = vec![0.0; 8 * rows];
                    w.project_block(&x, &bias, &mut vec![0.0; cols], &mut block);
                    let mut ints = init.clone();
                    let int8 = w.matvec_add_quantized(&xq[..cols], 3e-5, &mut ints);
                    (bits(&gemv), bits(&block), int8.then(|| bits(&ints)))
                })
            };
            assert_eq!(
                run(Level::Avx512),
                run(Level::Avx2),
                "{storage:?} {rows}x{cols}"
            );
        }
    }
    for hidden in [1, 8, 17, 31] {
        let (gates, c0) = (rng.floats(4 * hidden, 12.0), rng.floats(hidden, 3.0));
        let run = |level| {
            at(level, || {
                let (mut g, mut c, mut h) = (gates.clone(), c0.clone(), vec![0.0; hidden]);
                super::lstm_cell(&mut g, &mut c, &mut h);
                (cell_bits(&c), cell_bits(&h))
            })
        };
        assert_eq!(run(Level::Avx512), run(Level::Avx2), "hidden {hidden}");
    }
}

/// The `avx512` level runs exactly where the processor has every feature it uses.
#[test]
#[cfg(target_arch = "x86_64")]
fn avx512_runs_where_its_features_are() {
    let features = std::is_x86_feature_detected!("avx512f")
        && std::is_x86_feature_detected!("avx512bw")
        && std::is_x86_feature_detected!("avx512vl")
        && std::is_x86_feature_detected!("avx512vnni")
        && std::is_x86_feature_detected!("avx2")
        && std::is_x86_feature_detected!("fma");
    assert_eq!(Level::Avx512.is_supported(), features);
}

#[test]
fn row_dots_are_identical_at_every_level() {
    let mut rng = Rng(5);
    for storage in [Storage::I8, Storage::F32] {
        for (rows, cols) in [(5, 96), (5, 40), (3, 17), (1, 1), (7, 200)] {
            let (buf, shift) = misaligned(blob(&mut rng, storage, rows, cols, 2.0), rows + cols);
            let w = matrix(&buf[shift..], storage, rows, cols);
            let x = rng.floats(cols, 1.0);
            // Any columns (none too), fewer outputs than rows.
            for (col0, len) in [
                (0, cols),
                (cols / 2, cols - cols / 2),
                (0, cols.min(3)),
                (cols, 0),
            ] {
                for n in [rows, rows - 1] {
                    let run = |l| {
                        at(l, || {
                            let mut out = vec![f32::NAN; n];
                            w.row_dots(col0, &x[..len], &mut out);
                            bits(&out)
                        })
                    };
                    let want: Vec<u32> = (0..n)
                        .map(|r| w.row_dot(r, col0, &x[..len]).to_bits())
                        .collect();
                    for level in Level::ALL.into_iter().filter(|l| l.is_supported()) {
                        assert_eq!(
                            run(level),
                            want,
                            "{level:?} {storage:?} {rows}x{cols} at {col0}+{len}"
                        );
                    }
                }
            }
        }
    }
}

/// The bits of cell results, every NaN as one value: the payload is not part of the
/// result.
fn cell_bits(v: &[f32]) -> Vec<u32> {
    v.iter()
        .map(|x| if x.is_nan() { u32::MAX } else { x.to_bits() })
        .collect()
}

#[test]
fn lstm_cell_is_identical_at_every_level() {
    let mut rng = Rng(99);
    // Values at the activations' edges: exp's clamps, tanh's switch to its polynomial,
    // signed zeros, overflow to infinity and NaN.
    let edges = [
        0.0,
        -0.0,
        0.625,
        -0.625,
        0.624_999_94,
        43.5,
        -43.5,
        44.0,
        88.0,
        -87.0,
        100.0,
        -100.0,
        1e30,
        -1e30,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        f32::MIN_POSITIVE,
        1e-30,
    ];
    // (16: one whole 16-lane vector per gate; 33 to 113: the 16-lane cell's padded
    // last vector.)
    for hidden in [
        1, 3, 7, 8, 9, 16, 17, 20, 32, 33, 40, 47, 48, 63, 100, 113, 128,
    ] {
        let mut cases = vec![(rng.floats(4 * hidden, 12.0), rng.floats(hidden, 3.0))];
        let mut gates = rng.floats(4 * hidden, 60.0);
        for (k, g) in gates.iter_mut().enumerate().step_by(3) {
            *g = edges[k % edges.len()];
        }
        let c0 = (0..hidden)
            .map(|k| edges[(k * 7 + 3) % edges.len()])
            .collect();
        cases.push((gates, c0));
        for (gates, c0) in &cases {
            let run = |l| {
                at(l, || {
                    let (mut g, mut c, mut h) = (gates.clone(), c0.clone(), vec![0.0; hidden]);
                    super::lstm_cell(&mut g, &mut c, &mut h);
                    (cell_bits(&c), cell_bits(&h))
                })
            };
            let want = run(Level::Scalar);
            for level in simd_levels() {
                assert_eq!(run(level), want, "{level:?} hidden {hidden}");
            }
        }
    }
}

/// [`super::lstm_cell_rows`] at every level against [`crate::kernels::lstm_cell`] row by
/// row, bit for bit: 1 to 8 cells side by side of sizes with and without units past the
/// levels' whole vectors, gates at the activations' edges among random ones.
#[test]
fn lstm_cell_rows_are_each_rows_cell_at_every_level() {
    let mut rng = Rng(0x3c6e_f372_fe94_f82b);
    let edges = [
        0.0,
        -0.0,
        0.625,
        -0.625,
        43.5,
        -88.0,
        1e30,
        f32::INFINITY,
        f32::NAN,
    ];
    for hidden in [1, 4, 5, 8, 12, 16, 20, 32, 33, 48, 128] {
        for rows in [1, 2, 3, 8] {
            let mut gates = rng.floats(rows * 4 * hidden, 8.0);
            for (k, g) in gates.iter_mut().enumerate().step_by(7) {
                *g = edges[k % edges.len()];
            }
            let c0 = rng.floats(rows * hidden, 3.0);
            let (mut c_want, mut h_want) = (c0.clone(), vec![0.0; rows * hidden]);
            for r in 0..rows {
                let mut g = gates[r * 4 * hidden..(r + 1) * 4 * hidden].to_vec();
                crate::kernels::lstm_cell(
                    &mut g,
                    &mut c_want[r * hidden..(r + 1) * hidden],
                    &mut h_want[r * hidden..(r + 1) * hidden],
                );
            }
            for level in Level::ALL.into_iter().filter(|l| l.is_supported()) {
                let (c, h) = at(level, || {
                    let (mut g, mut c, mut h) =
                        (gates.clone(), c0.clone(), vec![0.0; rows * hidden]);
                    super::lstm_cell_rows(&mut g, &mut c, &mut h, hidden);
                    (c, h)
                });
                assert_eq!(
                    cell_bits(&c),
                    cell_bits(&c_want),
                    "{level:?} {rows} x {hidden}: c"
                );
                assert_eq!(
                    cell_bits(&h),
                    cell_bits(&h_want),
                    "{level:?} {rows} x {hidden}: h"
                );
            }
        }
    }
}

/// The cell update's vector `exp` against [`crate::kernels::exp`] bit for bit, over the
/// clamped range's edges (50,000 values on each side of each, where `exp` is near 2^-126
/// and 2^127), the 33 values nearest each point where `x log2(e)` is half-way between
/// integers (where the rounded product and the exact one may round to different `n`), a
/// sweep of [-100, 100] in 2^-12 steps, and values of every exponent from random bits.
#[test]
fn vector_exp_is_the_scalar_function_at_every_level() {
    let mut rng = Rng(0xbb67_ae85_84ca_a73b);
    let mut x: Vec<f32> = (-409_600..=409_600).map(|k| k as f32 / 4096.0).collect();
    for edge in [crate::kernels::EXP_MIN, crate::kernels::EXP_MAX] {
        let mut up = edge;
        let mut down = edge;
        for _ in 0..50_000 {
            (up, down) = (up.next_up(), down.next_down());
            x.extend([up, down]);
        }
    }
    let log2_e = f64::from(core::f32::consts::LOG2_E);
    for n in -126..=127 {
        let mut up = ((f64::from(n) + 0.5) / log2_e) as f32;
        let mut down = up;
        x.push(up);
        for _ in 0..16 {
            (up, down) = (up.next_up(), down.next_down());
            x.extend([up, down]);
        }
    }
    x.extend((0..200_000).map(|_| f32::from_bits(rng.next() as u32)));
    let bits = |v: f32| if v.is_nan() { u32::MAX } else { v.to_bits() };
    let want: Vec<u32> = x.iter().map(|&v| bits(crate::kernels::exp(v))).collect();
    for level in simd_levels() {
        let mut got = x.clone();
        assert!(at(level, || super::exp_each(&mut got)));
        for (k, (&g, &w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(bits(g), w, "{level:?} exp({:e})", x[k]);
        }
    }
}

/// The activations inside the vector cell update, each on its own over a sweep of
/// inputs, against the scalar functions bit for bit: with `i` at 100 (whose `sigmoid`
/// is exactly one) and `c` zero, the new `c` is `tanh(g)`; with `g` at 100 (`tanh`
/// exactly one), it is `sigmoid(i)`. The sweep: every 2^-12 step over [-100, 100] (past
/// `exp`'s clamps), and values of every exponent from random bits.
#[test]
fn cell_activations_are_the_scalar_functions_at_every_level() {
    let mut rng = Rng(0x3c6e_f372_fe94_f82b);
    let mut sweep: Vec<f32> = (-409_600..=409_600).map(|k| k as f32 / 4096.0).collect();
    sweep.extend((0..200_000).map(|_| f32::from_bits(rng.next() as u32)));
    let n = sweep.len();
    let (big, zero) = (&vec![100.0f32; n][..], &vec![0.0f32; n][..]);
    let sweep = &sweep[..];
    // The gates `i`, `f`, `g`, `o` one after another, and the function `c` follows.
    let tanh_case = (
        [big, zero, sweep, big],
        crate::kernels::tanh as fn(f32) -> f32,
    );
    let sigmoid_case = (
        [sweep, zero, big, big],
        crate::kernels::sigmoid as fn(f32) -> f32,
    );
    for (name, (gates, want)) in [("tanh", tanh_case), ("sigmoid", sigmoid_case)] {
        let want: Vec<u32> = sweep
            .iter()
            .map(|&v| {
                if want(v).is_nan() {
                    u32::MAX
                } else {
                    want(v).to_bits()
                }
            })
            .collect();
        for level in simd_levels() {
            let got = at(level, || {
                let mut g = gates.concat();
                let (mut c, mut h) = (vec![0.0f32; n], vec![0.0f32; n]);
                super::lstm_cell(&mut g, &mut c, &mut h);
                c
            });
            for (k, (&c, &w)) in got.iter().zip(&want).enumerate() {
                let c = if c.is_nan() { u32::MAX } else { c.to_bits() };
                assert_eq!(c, w, "{level:?} {name}({:e})", sweep[k]);
            }
        }
    }
}

#[test]
fn quantize_i16_is_identical_at_every_level() {
    let mut rng = Rng(7);
    for n in [1, 3, 8, 17, 48, 100, 196] {
        let mut cases = vec![rng.floats(n, 5.0), vec![0.0; n], vec![-0.0; n]];
        // Halves after scaling (the rounding ties), both signs, and the largest value.
        let mut ties: Vec<f32> = (0..n).map(|i| (i as f32 - n as f32 / 2.0) + 0.5).collect();
        ties[0] = 16383.0;
        cases.push(ties);
        let mut bad = rng.floats(n, 1.0);
        bad[n / 2] = f32::NAN;
        cases.push(bad.clone());
        bad[n / 2] = f32::NEG_INFINITY;
        cases.push(bad);
        // A subnormal maximum (below 2^-100): zeros.
        let mut tiny: Vec<f32> = (0..n).map(|i| f32::from_bits(i as u32 % 3)).collect();
        tiny[0] = -f32::from_bits(1);
        cases.push(tiny);
        // Hidden states: within (-1, 1), some exactly 0 or -0.
        let mut h = rng.floats(n, 1.0);
        h[n - 1] = -0.0;
        h[0] = 0.0;
        cases.push(h);
        for x in &cases {
            // `q` as long as `x`, and one longer or shorter: written as far as both go.
            for len in [n, n + 3, n - 1] {
                let run = |l| {
                    at(l, || {
                        let mut q = vec![7i16; len];
                        let s = super::quantize_i16(x, &mut q).map(f32::to_bits);
                        (s, q)
                    })
                };
                let want = run(Level::Scalar);
                let (scale, q) = &want;
                if scale.is_some() {
                    assert!(q[len.min(n)..].iter().all(|&v| v == 7), "{n} {len}");
                    if x.iter().all(|&v| v == 0.0) {
                        assert!(q[..len.min(n)].iter().all(|&v| v == 0), "{n} {len}");
                    }
                }
                for level in simd_levels() {
                    assert_eq!(run(level), want, "{level:?} {n} {len}");
                }
            }
        }
    }
}

#[test]
fn levels_have_names_and_forcing_is_per_thread() {
    for l in Level::ALL {
        assert_eq!(Level::from_name(l.name()), Some(l));
    }
    assert!(Level::Scalar.is_supported() && super::best().is_supported());
    assert!(force(Some(Level::Scalar)));
    assert_eq!(super::level(), Level::Scalar);
    let other = std::thread::spawn(super::level).join().unwrap();
    assert_eq!(other, super::best().min(other));
    force(None);
    for l in Level::ALL.into_iter().filter(|l| !l.is_supported()) {
        assert!(!force(Some(l)));
    }
}

/// The peak probe does the work it counts at every level: the same chains (within
/// the rounding fused multiply-adds change) and the stated operation count.
#[test]
fn peak_probe_counts_its_work_at_every_level() {
    let rounds = if cfg!(miri) { 3 } else { 1000 };
    // Every lane of every chain: x <- x * 0.9999 + 1e-4, from seed + chain * 1e-3.
    let chain = |k: usize| {
        let mut x = 1.0f64 + k as f64 * 1e-3;
        for _ in 0..rounds {
            x = x * 0.999_9 + 1e-4;
        }
        x
    };
    for level in Level::ALL.into_iter().filter(|l| l.is_supported()) {
        let (sum, flops) = at(level, || super::fma_probe(rounds, 1.0));
        let lanes = (flops / (2 * rounds as u64)) as usize;
        assert!(
            lanes >= 8 && lanes.is_multiple_of(4),
            "{level:?}: {flops} FLOP"
        );
        let width = if level == Level::Scalar {
            8
        } else {
            lanes / 12
        };
        let want: f64 = (0..lanes / width).map(|k| chain(k) * width as f64).sum();
        assert!(
            (sum as f64 - want).abs() <= 1e-4 * want,
            "{level:?}: {sum} vs {want}"
        );
    }
}

/// The int8 probe does the work it counts at every level: its tile's exact dot
/// products (2 rows x 4 inputs of `PROBE_COLS` columns), `rounds` times.
#[test]
fn int8_probe_counts_its_work_at_every_level() {
    let rounds = if cfg!(miri) { 3 } else { 1000 };
    let seed = 3;
    let (w, x) = super::probe_values::<2, 4>(seed);
    for level in Level::ALL.into_iter().filter(|l| l.is_supported()) {
        let (sum, ops) = at(level, || super::int_probe(rounds, seed));
        let cols = super::PROBE_COLS;
        assert_eq!(ops, (2 * 8 * cols * rounds) as u64, "{level:?}");
        let tile: i64 = (0..2)
            .flat_map(|r| (0..4).map(move |t| (r, t)))
            .map(|(r, t)| {
                (0..cols)
                    .map(|j| w[r][j] as i64 * x[t][j] as i64)
                    .sum::<i64>()
            })
            .sum();
        assert_ne!(tile, 0);
        assert_eq!(sum, rounds as i64 * tile, "{level:?}");
    }
}

#[test]
fn dsp_instruction_model_matches_the_architecture_manual() {
    use super::arm::model::{smlad, sxtb16};
    // Bytes 7F 01 FF 80 (little-endian word 0x80FF017F): even bytes 127, -1; odd
    // bytes 1, -128 (`SXTB16` with `ROR #8`).
    let w = 0x80FF_017Fu32;
    assert_eq!(sxtb16(w), 0xFFFF_007F);
    assert_eq!(sxtb16(w.rotate_right(8)), 0xFF80_0001);
    // 127 * 16383 + (-1) * (-16383) + 5 = 2_096_769.
    let x = (16383u32) | ((-16383i16 as u16 as u32) << 16);
    assert_eq!(smlad(sxtb16(w), x, 5), 127 * 16383 + 16383 + 5);
}

#[test]
fn dsp_kernels_match_scalar() {
    use super::arm::{self, model::Portable, MAX_COLS};
    let mut rng = Rng(0xd5b);
    let mut cols_list = COLS.to_vec();
    // Groups of four and their remainders, the buffer's limits (four inputs up to 128
    // columns, one up to 504).
    if cfg!(miri) {
        cols_list.extend([0, 6, 11]);
    } else {
        cols_list.extend([0, 6, 10, 11, 127, 128, 129, 130, 255, 503, 504, 505, 512]);
    }
    let (mut checked, mut aligned) = (0, [0; 2]);
    for &rows in ROWS {
        for &cols in &cols_list {
            // Word-aligned storage, the matrix `shift` bytes into it: its scales
            // (after `rows * cols` bytes) word-aligned, which the tiles of the one-input
            // products need, or not (those products then run in plain Rust).
            let shift = (4 - rows * cols % 4 + (rows + cols) % 2) % 4;
            let bytes = blob(&mut rng, Storage::I8, rows, cols, 1.0);
            let mut words = vec![0u32; (shift + bytes.len()).div_ceil(4)];
            let buf: &mut [u8] = bytemuck::cast_slice_mut(&mut words);
            buf[shift..shift + bytes.len()].copy_from_slice(&bytes);
            let w = matrix(&buf[shift..shift + bytes.len()], Storage::I8, rows, cols);
            let kr = w.kernel_rows();
            if rows >= 4 && cols % 4 == 0 && cols > 0 {
                aligned[usize::from(kr.scales.as_ptr().cast::<f32>().is_aligned())] += 1;
            }
            let bias_b = le_bytes(&rng.floats(rows, 1.0));
            let bias = Vector::f32_le(&bias_b, rows).unwrap();
            let fits = cols <= MAX_COLS;

            let xq = quantized(&mut rng, cols);
            let init = rng.floats(rows, 1.0);
            let mut want = init.clone();
            let mut got = init.clone();
            if cols > 0 {
                at(Level::Scalar, || {
                    w.matvec_add_quantized(&xq, 3e-5, &mut want)
                });
            }
            // SAFETY: `kr` is the matrix's (in bounds), `xq` holds `cols` and `got`
            // `rows` values.
            let ok = unsafe { arm::gemv_i8_i16::<Portable>(&kr, &xq, 3e-5, &mut got) };
            assert_eq!(ok, fits);
            if fits {
                assert_eq!(bits(&got), bits(&want), "gemv {rows}x{cols}");
            }

            for b in 1..=crate::PROJECTION_BLOCK {
                let xq = quantized(&mut rng, b * cols);
                let x_scales: Vec<f32> = (0..b).map(|_| rng.f32(1e-3).abs()).collect();
                let mut want = vec![0.0; b * rows];
                let mut got = vec![f32::NAN; b * rows];
                if cols > 0 {
                    at(Level::Scalar, || {
                        w.project_block_quantized(&xq, &x_scales, &bias, &mut want)
                    });
                } else {
                    // No columns: the bias alone.
                    for (o, r) in want.iter_mut().zip((0..rows).cycle()) {
                        *o = bias.get(r) + 0.0;
                    }
                }
                // SAFETY: `kr` is the matrix's (in bounds), `xq` holds `b * cols`,
                // `bias_b` `rows` and `got` `b * rows` values.
                let ok = unsafe {
                    arm::project_i8_i16::<Portable>(&kr, &xq, &x_scales, &bias_b, &mut got)
                };
                assert_eq!(ok, fits);
                if fits {
                    assert_eq!(bits(&got), bits(&want), "project {rows}x{cols}, {b} inputs");
                }
                checked += 1;
            }
        }
    }
    // The extremes: every product at its largest magnitude with one sign, on the
    // longest rows the kernels take.
    for (q, x) in [(127u8, 16383i16), (0x80, 16383), (0x80, -16383)] {
        let (rows, cols) = (3, MAX_COLS);
        let mut bytes = vec![q; rows * cols];
        for _ in 0..rows {
            bytes.extend_from_slice(&1.0f32.to_le_bytes());
        }
        let w = matrix(&bytes, Storage::I8, rows, cols);
        let kr = w.kernel_rows();
        let want = (q as i8 as i64 * x as i64 * cols as i64) as f32;
        let mut out = vec![0.0f32; rows];
        // SAFETY: `kr` is the matrix's (in bounds), the input holds `cols` and `out`
        // `rows` values.
        assert!(unsafe { arm::gemv_i8_i16::<Portable>(&kr, &vec![x; cols], 1.0, &mut out) });
        assert_eq!(out, vec![want; rows], "q={q} x={x}");
    }
    assert!(aligned[0] > 0 && aligned[1] > 0, "{aligned:?}");
    println!("{checked} DSP projections checked; tiled matrices with unaligned and aligned scales: {aligned:?}");
}

/// The interleaved copy of int8 rows (`stride` bytes apart) as documented, element by
/// element: blocks of 8 rows, pair j of the block's rows in order, zeros past the
/// matrix.
fn documented_pairs(data: &[u8], stride: usize, rows: usize, cols: usize) -> Vec<i16> {
    let pairs = cols.div_ceil(2);
    let mut want = vec![0i16; super::pairs_len(rows, cols)];
    for (i, e) in want.iter_mut().enumerate() {
        let (b, j, k, m) = (i / (16 * pairs), i / 16 % pairs, i % 16 / 2, i % 2);
        let (r, col) = (8 * b + k, 2 * j + m);
        if r < rows && col < cols {
            *e = data[r * stride + col] as i8 as i16;
        }
    }
    want
}

/// `bytes` after 1 to 3 bytes of zeros (chosen by `seed`), so that kernels meet
/// unaligned data: the buffer and where the bytes start.
fn misaligned(bytes: Vec<u8>, seed: usize) -> (Vec<u8>, usize) {
    let shift = 1 + seed % 3;
    let mut buf = vec![0u8; shift];
    buf.extend(bytes);
    (buf, shift)
}

/// An int8 matrix blob whose every weight byte is `q` and every row scale 1.
fn uniform_int8(q: u8, rows: usize, cols: usize) -> Vec<u8> {
    let mut bytes = vec![q; rows * cols];
    for _ in 0..rows {
        bytes.extend_from_slice(&1.0f32.to_le_bytes());
    }
    bytes
}

/// Little-endian bytes of `values`, as a blob stores f32.
fn le_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|v| v.to_bits()).collect()
}

#[test]
fn interleaved_copy_reads_only_its_columns_of_strided_rows() {
    // Int8 rows of 40 bytes of which 33 are the matrix's (two whole 16-column groups and
    // an odd one), 17 rows (two whole blocks of 8 and one row): the other bytes hold
    // 0x7F, which must not reach the copy.
    let (rows, cols, stride) = (17, 33, 40);
    let mut rng = Rng(0x51);
    let mut data = vec![0x7Fu8; (rows - 1) * stride + cols];
    for r in 0..rows {
        for v in &mut data[r * stride..r * stride + cols] {
            *v = (rng.next() % 256) as u8;
        }
    }
    let scales = vec![0u8; 4 * rows];
    let w = Rows {
        data: &data,
        scales: &scales,
        int8: true,
        rows,
        cols,
        stride,
    };
    let want = documented_pairs(&data, stride, rows, cols);
    for level in simd_levels() {
        let mut got = vec![-1i16; want.len()];
        let made = at(level, || super::interleave_pairs(&w, &mut got));
        assert_eq!(made, level.has_pairs(), "{level:?}");
        if made {
            assert_eq!(got, want);
        }
    }
}

/// The int8 rows and scales `rows_bytes` (the `I8` layout) in the int8 panel layout.
fn to_i8_panels(rows_bytes: &[u8], rows: usize, cols: usize) -> Vec<u8> {
    let n = crate::format::DType::I8Panels
        .byte_len(rows as u32, cols as u32)
        .unwrap();
    let mut out = vec![0u8; n - 4 * rows];
    for r in 0..rows {
        for c in 0..cols {
            out[crate::kernels::panel_index_i8(r, c, cols)] = rows_bytes[r * cols + c];
        }
    }
    out.extend_from_slice(&rows_bytes[rows * cols..]);
    out
}

/// The int8 panel layout's products at every level (its kernels at the vector levels,
/// which must take every matrix of at most 1024 columns, the portable definition at the
/// scalar level and past 1024 columns) against the
/// same matrix in rows at the scalar level: bit for bit (exact integer dot products,
/// the same float operations after them), at odd shapes, misaligned, with and without
/// a bias, for one input and for blocks, and at the integer extremes.
#[test]
fn int8_panel_products_are_the_rows_products_at_every_level() {
    let mut rng = Rng(9090);
    let mut cols_list = COLS.to_vec();
    cols_list.extend(INT_COLS);
    let mut levels = simd_levels();
    levels.push(Level::Scalar);
    let mut checked = 0;
    let mut check = |rows_bytes: &[u8], rows: usize, cols: usize, x: Option<i16>, rng: &mut Rng| {
        let w = matrix(rows_bytes, Storage::I8, rows, cols);
        let (buf, shift) = misaligned(to_i8_panels(rows_bytes, rows, cols), rows + cols);
        let p = Matrix::i8_panels(&buf[shift..], rows, cols).unwrap();
        let bias_b = le_bytes(&rng.floats(rows, 1.0));
        let bias = Vector::f32_le(&bias_b, rows).unwrap();
        for b in [1, 2, 3, 4, 5, 8, 9, 13] {
            let xq = match x {
                Some(x) => vec![x; b * cols],
                None => quantized(rng, b * cols),
            };
            let x_scales: Vec<f32> = (0..b).map(|_| rng.f32(1e-3).abs()).collect();
            let init = rng.floats(b * rows, 1.0);
            let run = |m: &Matrix<'_>, level| {
                at(level, || {
                    let mut projected = vec![f32::NAN; b * rows];
                    if b <= crate::PROJECTION_BLOCK {
                        assert!(m.project_block_quantized(&xq, &x_scales, &bias, &mut projected));
                    }
                    let mut added = init.clone();
                    assert!(m.gemm_add_quantized(&xq, &x_scales, &mut added));
                    let mut one = init[..rows].to_vec();
                    assert!(m.matvec_add_quantized(&xq[..cols], x_scales[0], &mut one));
                    // Columns from the second on (the portable path in panels).
                    let mut part = init[..rows].to_vec();
                    if cols > 1 {
                        let x = &xq[1..cols];
                        assert!(m.matvec_add_cols_quantized(1, x, x_scales[0], &mut part));
                    }
                    [projected, added, one, part].concat()
                })
            };
            let want = run(&w, Level::Scalar);
            for &level in &levels {
                assert_eq!(
                    bits(&run(&p, level)),
                    bits(&want),
                    "{level:?} {rows}x{cols}, {b} inputs"
                );
                checked += 1;
            }
        }
        // The vector levels run their kernel (not the portable fallback) up to 1024
        // columns, and refuse wider matrices.
        let panel_bytes = to_i8_panels(rows_bytes, rows, cols);
        let (q, scales) = panel_bytes.split_at(panel_bytes.len() - 4 * rows);
        let kernel = super::I8Panels {
            data: q,
            scales,
            rows,
            cols,
        };
        for &level in &levels {
            let mut out = vec![0.0f32; rows];
            let ran = at(level, || {
                super::project_i8_panels(&kernel, &vec![1; cols], &[1.0], None, &mut out)
            });
            let expected = level != Level::Scalar && cols <= crate::kernels::I8_PANELS_MAX_COLS;
            assert_eq!(ran, expected, "{level:?} {rows}x{cols}");
        }
        // Element access.
        for r in 0..rows {
            for c in 0..cols {
                assert_eq!(p.get(r, c).to_bits(), w.get(r, c).to_bits());
            }
        }
    };
    for &rows in ROWS.iter().chain(&[16, 31, 48, 64, 100]) {
        for &cols in &cols_list {
            let bytes = blob(&mut rng, Storage::I8, rows, cols, 1.0);
            check(&bytes, rows, cols, None, &mut rng);
        }
    }
    for (q, x) in [(127u8, 16383i16), (0x80, 16383), (0x80, -16383)] {
        for &(rows, cols) in EXTREME_SHAPES {
            check(&uniform_int8(q, rows, cols), rows, cols, Some(x), &mut rng);
        }
    }
    println!("{checked} products checked");
}
