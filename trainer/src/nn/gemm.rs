//! Strided matrix views and the one sgemm entry point (matrixmultiply: packed microkernels
//! with runtime AVX/FMA/AVX-512 detection), plus a direct kernel for products with few rows
//! (a recurrent step's last active sequences). Transposes are free: a view swaps its strides.

use multiversion::multiversion;

/// Read-only (rows, cols) view: element (i, j) is `data[i * rs + j * cs]`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MatRef<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
}

/// Mutable (rows, cols) view; see [`MatRef`].
#[derive(Debug)]
pub(crate) struct MatMut<'a> {
    data: &'a mut [f32],
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
}

/// Panics unless every element of a (rows, cols) view with these strides lies in `len`.
fn check_fits(len: usize, rows: usize, cols: usize, rs: usize, cs: usize) {
    if rows > 0 && cols > 0 {
        let last = (rows - 1) * rs + (cols - 1) * cs;
        assert!(
            last < len,
            "matrix view ({rows}x{cols}, rs {rs}, cs {cs}) exceeds {len}"
        );
    }
}

impl<'a> MatRef<'a> {
    /// Row-major (rows, cols) with rows `rs` apart (`rs >= cols`; `rs > cols` views columns
    /// of a wider matrix, e.g. one direction's half of a bidirectional output).
    pub(crate) fn new(data: &'a [f32], rows: usize, cols: usize, rs: usize) -> Self {
        check_fits(data.len(), rows, cols, rs, 1);
        MatRef {
            data,
            rows,
            cols,
            rs,
            cs: 1,
        }
    }

    /// Contiguous row-major (rows, cols).
    pub(crate) fn dense(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self::new(data, rows, cols, cols)
    }

    /// The transpose, (cols, rows), sharing storage.
    pub(crate) fn t(self) -> Self {
        MatRef {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
        }
    }

    /// Rows `start .. start + n`.
    pub(crate) fn rows(self, start: usize, n: usize) -> Self {
        assert!(start + n <= self.rows);
        let data = if n == 0 {
            &self.data[..0]
        } else {
            &self.data[start * self.rs..]
        };
        MatRef {
            data,
            rows: n,
            ..self
        }
    }
}

impl<'a> MatMut<'a> {
    /// See [`MatRef::new`].
    pub(crate) fn new(data: &'a mut [f32], rows: usize, cols: usize, rs: usize) -> Self {
        check_fits(data.len(), rows, cols, rs, 1);
        MatMut {
            data,
            rows,
            cols,
            rs,
            cs: 1,
        }
    }

    /// See [`MatRef::dense`].
    pub(crate) fn dense(data: &'a mut [f32], rows: usize, cols: usize) -> Self {
        Self::new(data, rows, cols, cols)
    }

    /// Rows `start .. start + n`.
    pub(crate) fn rows(self, start: usize, n: usize) -> Self {
        assert!(start + n <= self.rows);
        let data = if n == 0 {
            &mut self.data[..0]
        } else {
            &mut self.data[start * self.rs..]
        };
        MatMut {
            data,
            rows: n,
            ..self
        }
    }
}

/// Up to this many rows of A (with unit column strides), [`gemm_direct`] beats
/// matrixmultiply, which packs all of B on every call. Measured on the recurrent step
/// (k = 128, n = 512, AVX-512): m = 4: 4 us vs 23 us; m = 8: 12 vs 28; m = 16: 24 vs 26;
/// m = 32: 50 vs 38.
const DIRECT_MAX_ROWS: usize = 16;

/// C (m, n) = A (m, k) @ B (k, n) + beta * C. With beta = 0, C's old contents are ignored.
pub(crate) fn gemm(a: MatRef, b: MatRef, beta: f32, c: MatMut) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert!(
        b.rows == k && c.rows == m && c.cols == n,
        "gemm shape mismatch"
    );
    if m == 0 || n == 0 {
        return;
    }
    if m <= DIRECT_MAX_ROWS && k > 0 && a.cs == 1 && b.cs == 1 && c.cs == 1 {
        return gemm_direct(m, k, n, a.data, a.rs, b.data, b.rs, beta, c.data, c.rs);
    }
    if k == 0 {
        // matrixmultiply would scale C by beta too; spelled out so a zero-step batch is obvious.
        for i in 0..m {
            for j in 0..n {
                let x = &mut c.data[i * c.rs + j * c.cs];
                *x = if beta == 0.0 { 0.0 } else { beta * *x };
            }
        }
        return;
    }
    // SAFETY: the constructors checked that every element of each view (rows x cols with its
    // strides) lies inside its slice, and `rows()` re-slices consistently, so sgemm reads A
    // and B and writes C in bounds. C is borrowed mutably while A and B are shared borrows,
    // so C cannot alias them. Strides are < isize::MAX because they index a real slice.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.data.as_ptr(),
            a.rs as isize,
            a.cs as isize,
            b.data.as_ptr(),
            b.rs as isize,
            b.cs as isize,
            beta,
            c.data.as_mut_ptr(),
            c.rs as isize,
            c.cs as isize,
        );
    }
}

/// Columns per register tile of [`gemm_direct`]: two AVX-512 or four AVX2 vectors.
const TILE: usize = 32;

/// C (m, n) = A (m, k) @ B (k, n) + beta * C without packing, for few rows: each block of up
/// to 4 rows of C accumulates `a[r, p] * B[p, :]` over p in registers (4 x 32 floats), so B
/// is streamed once per block. A, B, C row-major with row strides lda, ldb, ldc.
#[allow(clippy::too_many_arguments)]
#[multiversion(targets("x86_64+avx512f+avx512vl+avx2+fma", "x86_64+avx2+fma"))]
fn gemm_direct(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
) {
    // Fused multiply-add only where the clone has it (elsewhere mul_add is a libm call).
    const FMA: bool = multiversion::target::target_cfg_f!(target_feature = "fma");
    let mut i = 0;
    while i + 4 <= m {
        direct_rows::<4, FMA>(i, k, n, a, lda, b, ldb, beta, c, ldc);
        i += 4;
    }
    match m - i {
        3 => direct_rows::<3, FMA>(i, k, n, a, lda, b, ldb, beta, c, ldc),
        2 => direct_rows::<2, FMA>(i, k, n, a, lda, b, ldb, beta, c, ldc),
        1 => direct_rows::<1, FMA>(i, k, n, a, lda, b, ldb, beta, c, ldc),
        _ => {}
    }
}

/// acc (TILE,) += av * b (TILE,)
#[inline(always)]
fn axpy_tile<const FMA: bool>(acc: &mut [f32; TILE], av: f32, b: &[f32; TILE]) {
    for (x, &y) in acc.iter_mut().zip(b) {
        *x = if FMA { av.mul_add(y, *x) } else { *x + av * y };
    }
}

/// Rows i .. i + R (R <= 4) of [`gemm_direct`]: full column tiles in registers, then the
/// remainder columns. The accumulators are separate named arrays because LLVM keeps those in
/// registers, where an array of arrays ended up on the stack (4 GF/s instead of 128).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn direct_rows<const R: usize, const FMA: bool>(
    i: usize,
    k: usize,
    n: usize,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
) {
    // Rows beyond R alias the last real row; their results are never stored.
    let a_row = |r: usize| &a[(i + r.min(R - 1)) * lda..][..k];
    let (a0, a1, a2, a3) = (a_row(0), a_row(1), a_row(2), a_row(3));
    let mut j = 0;
    while j + TILE <= n {
        let load = |r: usize| -> [f32; TILE] {
            let mut t = [0.0f32; TILE];
            if r < R && beta != 0.0 {
                let row = &c[(i + r) * ldc + j..][..TILE];
                for (x, &y) in t.iter_mut().zip(row) {
                    *x = beta * y;
                }
            }
            t
        };
        let (mut c0, mut c1, mut c2, mut c3) = (load(0), load(1), load(2), load(3));
        for p in 0..k {
            let bt: &[f32; TILE] = b[p * ldb + j..][..TILE].try_into().unwrap();
            axpy_tile::<FMA>(&mut c0, a0[p], bt);
            if R > 1 {
                axpy_tile::<FMA>(&mut c1, a1[p], bt);
            }
            if R > 2 {
                axpy_tile::<FMA>(&mut c2, a2[p], bt);
            }
            if R > 3 {
                axpy_tile::<FMA>(&mut c3, a3[p], bt);
            }
        }
        for (r, tile) in [c0, c1, c2, c3].iter().enumerate().take(R) {
            c[(i + r) * ldc + j..][..TILE].copy_from_slice(tile);
        }
        j += TILE;
    }
    if j < n {
        for r in 0..R {
            let c_row = &mut c[(i + r) * ldc + j..(i + r) * ldc + n];
            for x in c_row.iter_mut() {
                *x = if beta == 0.0 { 0.0 } else { beta * *x };
            }
            for (p, &av) in a_row(r).iter().enumerate() {
                for (x, &y) in c_row.iter_mut().zip(&b[p * ldb + j..p * ldb + n]) {
                    *x += av * y;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemm_with_transposes_and_strides() {
        // A (2,3), B^T where B is stored (2,3) -> A @ B^T (2,2).
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let b = [1.0, 0.0, 1.0, 0.0, 1.0, 0.0];
        // C is the right half of a (2, 4) buffer.
        let mut c = [9.0; 8];
        gemm(
            MatRef::dense(&a, 2, 3),
            MatRef::dense(&b, 2, 3).t(),
            0.0,
            MatMut::new(&mut c[2..], 2, 2, 4),
        );
        assert_eq!(c, [9.0, 9.0, 4.0, 2.0, 9.0, 9.0, 10.0, 5.0]);
        // Accumulate A^T (3,2) @ A (2,3) into a 3x3.
        let mut d = [1.0; 9];
        gemm(
            MatRef::dense(&a, 2, 3).t(),
            MatRef::dense(&a, 2, 3),
            1.0,
            MatMut::dense(&mut d, 3, 3),
        );
        assert_eq!(d, [18.0, 23.0, 28.0, 23.0, 30.0, 37.0, 28.0, 37.0, 46.0]);
    }

    /// Both paths (direct for few rows, matrixmultiply for many) against a naive product,
    /// with tile remainders, strided rows and beta 0 / 1.
    #[test]
    fn direct_and_packed_paths_agree_with_naive() {
        let mut rng = crate::nn::rng::Rng::new(3);
        for &(m, k, n) in &[
            (1, 5, 70),
            (3, 17, 32),
            (5, 8, 64),
            (11, 3, 33),
            (13, 7, 40),
            (40, 9, 5),
        ] {
            let lda = k + 2;
            let ldc = n + 3;
            let a: Vec<f32> = (0..m * lda).map(|_| rng.normal()).collect();
            let b: Vec<f32> = (0..k * n).map(|_| rng.normal()).collect();
            for beta in [0.0f32, 1.0] {
                let c0: Vec<f32> = (0..m * ldc).map(|_| rng.normal()).collect();
                let mut c = c0.clone();
                gemm(
                    MatRef::new(&a, m, k, lda),
                    MatRef::dense(&b, k, n),
                    beta,
                    MatMut::new(&mut c, m, n, ldc),
                );
                for i in 0..m {
                    for j in 0..n {
                        let want: f32 = beta * c0[i * ldc + j]
                            + (0..k).map(|p| a[i * lda + p] * b[p * n + j]).sum::<f32>();
                        let got = c[i * ldc + j];
                        assert!(
                            (got - want).abs() < 1e-4,
                            "({m},{k},{n}) [{i},{j}] {got} vs {want}"
                        );
                    }
                    // Padding between rows is untouched.
                    for j in n..ldc.min(c.len() - i * ldc) {
                        assert_eq!(c[i * ldc + j], c0[i * ldc + j]);
                    }
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "exceeds")]
    fn view_out_of_bounds_panics() {
        let a = [0.0; 5];
        let _ = MatRef::dense(&a, 2, 3);
    }
}
