//! Read-only views of weights where they lie in the blob (zero copy).
//!
//! Elements are decoded from little-endian bytes on every read, so a view works
//! at any address: the blob needs no alignment.

use crate::arch::{self, Start};
use crate::format::DType;
use crate::kernels::{self, dot, dot_f32le, dot_i8, dot_i8_i16, PANEL_ROWS};

/// How a weight matrix stores its elements: the two element types ([`DType`]) a weight
/// may have in a blob. A restricted type of its own, so that code matching on a
/// matrix's storage needs no arm for the blob's index types (`U8`, `U32`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// f32, little-endian ([`DType::F32`]).
    F32,
    /// int8 with one f32 scale per row ([`DType::I8`]).
    I8,
}

impl Storage {
    /// Bytes of one element.
    const fn element_bytes(self) -> usize {
        match self {
            Storage::F32 => 4,
            Storage::I8 => 1,
        }
    }
}

impl From<Storage> for DType {
    fn from(s: Storage) -> DType {
        match s {
            Storage::F32 => DType::F32,
            Storage::I8 => DType::I8,
        }
    }
}

/// How a matrix orders its elements in the blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Row after row ([`DType::F32`], [`DType::I8`]).
    Rows,
    /// Panels of 16 rows: f32 column by column inside a panel ([`DType::F32Panels`]),
    /// int8 pair of columns by pair ([`DType::I8Panels`]): the layouts of the vector
    /// kernels.
    Panels,
}

/// A (rows, cols) matrix view: row-major, or in a panel layout ([`Layout`]).
#[derive(Debug, Clone, Copy)]
pub struct Matrix<'a> {
    rows: usize,
    cols: usize,
    storage: Storage,
    // Bare-metal builds read no panels (`format::READ_VERSION`): every matrix is in rows.
    #[cfg(not(target_os = "none"))]
    layout: Layout,
    // F32: rows*cols*4 bytes. I8: rows*cols bytes of q. F32 panels:
    // ceil(rows/16)*16*cols*4. I8 panels: ceil(rows/16)*16*2*ceil(cols/2) bytes of q.
    data: &'a [u8],
    // I8: rows*4 bytes of little-endian f32 scales. F32: empty.
    scales: &'a [u8],
}

impl<'a> Matrix<'a> {
    /// A (0, 0) matrix.
    pub const EMPTY: Matrix<'static> = Matrix {
        rows: 0,
        cols: 0,
        storage: Storage::F32,
        #[cfg(not(target_os = "none"))]
        layout: Layout::Rows,
        data: &[],
        scales: &[],
    };

    /// A view of `rows * cols` little-endian f32 values; `None` if the length is wrong.
    pub fn f32_le(bytes: &'a [u8], rows: usize, cols: usize) -> Option<Self> {
        (rows.checked_mul(cols)?.checked_mul(4)? == bytes.len()).then_some(Matrix {
            rows,
            cols,
            storage: Storage::F32,
            #[cfg(not(target_os = "none"))]
            layout: Layout::Rows,
            data: bytes,
            scales: &[],
        })
    }

    /// A view of a (rows, cols) f32 matrix in the panel layout ([`DType::F32Panels`]:
    /// `ceil(rows / 16) * 16 * cols` little-endian f32); `None` if the length is wrong
    /// (always on bare-metal targets, whose builds read no panels).
    pub fn f32_panels(bytes: &'a [u8], rows: usize, cols: usize) -> Option<Self> {
        if cfg!(target_os = "none") {
            return None;
        }
        let len = rows
            .div_ceil(PANEL_ROWS)
            .checked_mul(PANEL_ROWS)?
            .checked_mul(cols)?
            .checked_mul(4)?;
        (len == bytes.len()).then_some(Matrix {
            rows,
            cols,
            storage: Storage::F32,
            #[cfg(not(target_os = "none"))]
            layout: Layout::Panels,
            data: bytes,
            scales: &[],
        })
    }

    /// A view of int8 rows followed by one little-endian f32 scale per row
    /// (the `I8` tensor layout); `None` if the length is wrong.
    pub fn i8_scaled(bytes: &'a [u8], rows: usize, cols: usize) -> Option<Self> {
        let n = rows.checked_mul(cols)?;
        if n.checked_add(rows.checked_mul(4)?)? != bytes.len() {
            return None;
        }
        let (data, scales) = bytes.split_at(n);
        Some(Matrix {
            rows,
            cols,
            storage: Storage::I8,
            #[cfg(not(target_os = "none"))]
            layout: Layout::Rows,
            data,
            scales,
        })
    }

    /// A view of a (rows, cols) int8 matrix in the int8 panel layout
    /// ([`DType::I8Panels`]: `ceil(rows / 16) * 16 * 2 * ceil(cols / 2)` bytes of `q`,
    /// then one little-endian f32 scale per row); `None` if the length is wrong (always
    /// on bare-metal targets, whose builds read no panels).
    pub fn i8_panels(bytes: &'a [u8], rows: usize, cols: usize) -> Option<Self> {
        if cfg!(target_os = "none") {
            return None;
        }
        let n = DType::I8Panels.byte_len(rows.try_into().ok()?, cols.try_into().ok()?)?;
        if n != bytes.len() {
            return None;
        }
        let (data, scales) = bytes.split_at(n - 4 * rows);
        Some(Matrix {
            rows,
            cols,
            storage: Storage::I8,
            #[cfg(not(target_os = "none"))]
            layout: Layout::Panels,
            data,
            scales,
        })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Element storage.
    pub fn storage(&self) -> Storage {
        self.storage
    }

    /// Element order.
    pub fn layout(&self) -> Layout {
        #[cfg(not(target_os = "none"))]
        return self.layout;
        #[cfg(target_os = "none")]
        Layout::Rows
    }

    /// Whether the matrix is in panels, in a build that reads them: bare-metal builds
    /// read format version 1 only (no panels), so that their code carries no panel
    /// paths.
    #[inline(always)]
    fn in_panels(&self) -> bool {
        crate::format::READ_VERSION >= crate::format::PANELS_VERSION
            && self.layout() == Layout::Panels
    }

    /// The element type the blob stores it as.
    pub fn dtype(&self) -> DType {
        match (self.layout(), self.storage) {
            (Layout::Rows, storage) => storage.into(),
            (Layout::Panels, Storage::F32) => DType::F32Panels,
            (Layout::Panels, Storage::I8) => DType::I8Panels,
        }
    }

    /// Bytes this matrix takes in the blob.
    pub fn byte_len(&self) -> usize {
        self.data.len() + self.scales.len()
    }

    /// Columns `col0..col0 + cols` of a panel-layout matrix as the kernels read them.
    fn kernel_panels(&self, col0: usize, cols: usize) -> arch::Panels<'a> {
        arch::Panels {
            data: self.data.get(4 * PANEL_ROWS * col0..).unwrap_or(&[]),
            rows: self.rows,
            cols,
            stride: PANEL_ROWS * self.cols,
        }
    }

    /// Element (r, c) (requires `r < rows`, `c < cols`).
    pub fn get(&self, r: usize, c: usize) -> f32 {
        let (at, scale) = match (self.in_panels(), self.storage) {
            (true, Storage::F32) => (4 * kernels::panel_index(r, c, self.cols), None),
            (true, Storage::I8) => (
                kernels::panel_index_i8(r, c, self.cols),
                Some(self.scale(r)),
            ),
            (false, Storage::F32) => (4 * (r * self.cols + c), None),
            (false, Storage::I8) => (r * self.cols + c, Some(self.scale(r))),
        };
        match scale {
            None => {
                let b = &self.data[at..at + 4];
                f32::from_le_bytes([b[0], b[1], b[2], b[3]])
            }
            Some(s) => self.data[at] as i8 as f32 * s,
        }
    }

    /// An int8 matrix in the int8 panel layout as the kernels read it.
    #[cfg(not(target_os = "none"))]
    fn kernel_i8_panels(&self) -> arch::I8Panels<'a> {
        arch::I8Panels {
            data: self.data,
            scales: self.scales,
            rows: self.rows,
            cols: self.cols,
        }
    }

    /// Whether this is an int8 matrix in the int8 panel layout, in a build that reads it.
    #[inline(always)]
    pub(crate) fn in_i8_panels(&self) -> bool {
        self.storage == Storage::I8 && self.in_panels()
    }

    /// The whole matrix as the instruction-set kernels read it (row-major matrices).
    pub(crate) fn kernel_rows(&self) -> arch::Rows<'a> {
        debug_assert!(self.layout() == Layout::Rows);
        arch::Rows {
            data: self.data,
            scales: self.scales,
            int8: self.storage == Storage::I8,
            rows: self.rows,
            cols: self.cols,
            stride: self.cols,
        }
    }

    fn scale(&self, r: usize) -> f32 {
        let s = &self.scales[r * 4..r * 4 + 4];
        f32::from_le_bytes([s[0], s[1], s[2], s[3]])
    }

    /// `row r [col0 .. col0 + x.len()] . x`. Requires `r < rows`, `col0 + x.len() <= cols`.
    #[inline]
    pub fn row_dot(&self, r: usize, col0: usize, x: &[f32]) -> f32 {
        #[cfg(not(target_os = "none"))]
        if self.in_i8_panels() {
            // (f32 inputs meet int8 panels only where an input is not finite.)
            let dot = x.iter().enumerate().fold(0.0, |acc, (k, &v)| {
                let q = self.data[kernels::panel_index_i8(r, col0 + k, self.cols)];
                acc + q as i8 as f32 * v
            });
            return self.scale(r) * dot;
        }
        if self.in_panels() {
            return kernels::panel_dot(self.data, self.cols, r, col0, x);
        }
        let start = r * self.cols + col0;
        match self.storage {
            Storage::F32 => dot_f32le(&self.data[start * 4..(start + x.len()) * 4], x),
            Storage::I8 => self.scale(r) * dot_i8(&self.data[start..start + x.len()], x),
        }
    }

    /// `out[r] = row r [col0 .. col0 + x.len()] . x` for the first `out.len()` rows:
    /// [`Matrix::row_dot`] for several rows, the same results at every level. Requires
    /// `col0 + x.len() <= cols`, `out.len() <= rows`.
    pub fn row_dots(&self, col0: usize, x: &[f32], out: &mut [f32]) {
        if !self.in_panels() && arch::row_dots_i8(&self.kernel_rows(), col0, x, out) {
            return;
        }
        for (r, o) in out.iter_mut().enumerate() {
            *o = self.row_dot(r, col0, x);
        }
    }

    /// `out[r] += row r [col0 .. col0 + x.len()] . x` for every row (`out.len() ==
    /// rows`). In rows: [`Matrix::row_dot`] for all rows at once. In the f32 panel layout
    /// each row's products are summed as [`kernels::panel_gemv`] sums them (two chains,
    /// even and odd columns), where [`Matrix::row_dot`] takes one chain; in the int8
    /// panel layout [`Matrix::row_dot`] row by row (one chain in column order: f32 inputs
    /// meet int8 weights only where an input is not finite).
    pub fn matvec_add_cols(&self, col0: usize, x: &[f32], out: &mut [f32]) {
        #[cfg(not(target_os = "none"))]
        if self.in_i8_panels() {
            for (r, o) in out.iter_mut().enumerate().take(self.rows) {
                *o += self.row_dot(r, col0, x);
            }
            return;
        }
        if self.in_panels() {
            let out = &mut out[..self.rows];
            if col0 + x.len() > self.cols
                || !arch::panel_gemv(&self.kernel_panels(col0, x.len()), x, out)
            {
                kernels::panel_gemv(self.data, self.cols, col0, x, out);
            }
            return;
        }
        let size = self.storage.element_bytes();
        let sub =
            (arch::level() != arch::Level::Scalar && col0 + x.len() <= self.cols).then(|| {
                arch::Rows {
                    data: self.data.get(col0 * size..).unwrap_or(&[]),
                    cols: x.len(),
                    ..self.kernel_rows()
                }
            });
        if sub.is_some_and(|w| arch::gemv(&w, x, out)) {
            return;
        }
        for (r, o) in out.iter_mut().enumerate().take(self.rows) {
            *o += self.row_dot(r, col0, x);
        }
    }

    /// Hints that row `r` (`r < rows`) will be read soon ([`arch::prefetch`]; no
    /// result changes). Rows in the panel layout are spread over the panel's columns:
    /// nothing is done for them.
    #[inline]
    pub(crate) fn prefetch_row(&self, r: usize) {
        if !cfg!(postag_x86) || self.in_panels() {
            return;
        }
        let width = self.storage.element_bytes() * self.cols;
        if let Some(row) = self.data.get(r * width..(r + 1) * width) {
            arch::prefetch(row);
        }
    }

    /// Decodes row `r` into `out` (`out.len() == cols`).
    pub fn row_into(&self, r: usize, out: &mut [f32]) {
        if self.in_panels() {
            for (c, o) in out.iter_mut().enumerate().take(self.cols) {
                *o = self.get(r, c);
            }
            return;
        }
        let start = r * self.cols;
        match self.storage {
            Storage::F32 => {
                let row = &self.data[start * 4..(start + self.cols) * 4];
                for (o, b) in out.iter_mut().zip(row.chunks_exact(4)) {
                    *o = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                }
            }
            Storage::I8 => {
                let s = self.scale(r);
                for (o, &q) in out.iter_mut().zip(&self.data[start..start + self.cols]) {
                    *o = q as i8 as f32 * s;
                }
            }
        }
    }

    /// `out (rows, 8) += W (rows, cols) @ xt (cols, 8)` for f32 weights: eight
    /// inputs side by side, input `l` in lane `l` of each row of `xt`
    /// ([`crate::kernels::gemm_lanes`]). Returns false (and does nothing) for int8
    /// weights or if `xt` or `out` is too short.
    pub fn gemm_lanes_add(&self, xt: &[f32], out: &mut [f32]) -> bool {
        const L: usize = crate::kernels::BATCH_LANES;
        if self.storage != Storage::F32 || xt.len() < self.cols * L || out.len() < self.rows * L {
            return false;
        }
        if self.in_panels() {
            if !arch::panel_gemm_lanes(&self.kernel_panels(0, self.cols), xt, out) {
                kernels::panel_gemm_lanes(self.data, self.rows, self.cols, xt, out);
            }
        } else if !arch::gemm_lanes(&self.kernel_rows(), xt, out) {
            kernels::gemm_lanes(self.data, self.cols, self.rows, self.cols, xt, out);
        }
        true
    }

    /// `out (b, rows) += xs (b, cols) @ W^T` with `b = xs.len() / cols`: one input after
    /// another, each input's products exactly as [`Matrix::matvec_add`] sums them (for
    /// the panel layout a register-tiled GEMM over all the inputs, which sums each row
    /// as [`Matrix::matvec_add`] does: the same bits; otherwise one
    /// [`Matrix::matvec_add`] per input). Requires `out.len() >= b * rows`.
    pub fn gemm_add(&self, xs: &[f32], out: &mut [f32]) {
        let (cols, rows) = (self.cols, self.rows);
        if cols == 0 || rows == 0 {
            return;
        }
        if self.in_panels()
            && self.storage == Storage::F32
            && arch::panel_project(&self.kernel_panels(0, cols), xs, Start::Out, out)
        {
            return;
        }
        for t in 0..xs.len() / cols {
            self.matvec_add(
                &xs[t * cols..(t + 1) * cols],
                &mut out[t * rows..(t + 1) * rows],
            );
        }
    }

    /// `out (b, rows) = starts[t] + xs (b, cols) @ W^T` for each input `t < b =
    /// starts.len()`: [`Matrix::gemm_add`] onto a copy of each input's start row, the
    /// same bits; in the panel layout with f32 weights at the vector levels without the
    /// copy (the products land on the start rows where they are). Requires `xs.len() >=
    /// b * cols`, every start `rows` long and `out.len() >= b * rows`.
    pub fn gemm_from(&self, xs: &[f32], starts: &[&[f32]], out: &mut [f32]) {
        let (cols, rows, b) = (self.cols, self.rows, starts.len());
        let xs = &xs[..b * cols];
        if rows == 0 {
            return;
        }
        if cols > 0
            && self.in_panels()
            && self.storage == Storage::F32
            && arch::panel_project(&self.kernel_panels(0, cols), xs, Start::Rows(starts), out)
        {
            return;
        }
        for (o, start) in out.chunks_exact_mut(rows).zip(starts) {
            o.copy_from_slice(&start[..rows]);
        }
        self.gemm_add(xs, &mut out[..b * rows]);
    }

    /// `out (rows,) += W (rows, cols) @ x (cols,)` (in the panel layout summed as
    /// [`kernels::panel_gemv`] sums it: [`Matrix::matvec_add_cols`]).
    pub fn matvec_add(&self, x: &[f32], out: &mut [f32]) {
        if self.cols == 0 {
            return;
        }
        // Firmware: [`Matrix::matvec_add_cols`] over every column, the same products,
        // so that one copy of this loop serves both; panels there too.
        if cfg!(target_os = "none") || self.in_panels() {
            return self.matvec_add_cols(0, &x[..x.len().min(self.cols)], out);
        }
        if arch::gemv(&self.kernel_rows(), x, out) {
            return;
        }
        match self.storage {
            Storage::F32 => {
                for (o, row) in out.iter_mut().zip(self.data.chunks_exact(self.cols * 4)) {
                    *o += dot_f32le(row, x);
                }
            }
            Storage::I8 => {
                let rows = self
                    .data
                    .chunks_exact(self.cols)
                    .zip(self.scales.chunks_exact(4));
                for (o, (row, s)) in out.iter_mut().zip(rows) {
                    *o += f32::from_le_bytes([s[0], s[1], s[2], s[3]]) * dot_i8(row, x);
                }
            }
        }
    }

    /// `out (rows,) += W (rows, cols) @ x` for int8 weights and an i16-quantized `x`
    /// (`x ~= xq * x_scale`): integer dot products, one float multiply per row.
    /// Returns false (and does nothing) for f32 weights.
    pub fn matvec_add_quantized(&self, xq: &[i16], x_scale: f32, out: &mut [f32]) -> bool {
        self.matvec_add_cols_quantized(0, &xq[..xq.len().min(self.cols)], x_scale, out)
    }

    /// `out[r] += row r [col0 .. col0 + xq.len()] . x` for every row (`out.len() ==
    /// rows`), for int8 weights and an i16-quantized `x` (`x ~= xq * x_scale`): as
    /// [`Matrix::matvec_add_quantized`] on those columns, `out[r] += (scale_r *
    /// x_scale) * (q_r . xq)`. Returns false (and does nothing) for f32 weights, an
    /// empty `xq` or columns past the matrix.
    pub fn matvec_add_cols_quantized(
        &self,
        col0: usize,
        xq: &[i16],
        x_scale: f32,
        out: &mut [f32],
    ) -> bool {
        if self.storage != Storage::I8
            || xq.is_empty()
            || col0.checked_add(xq.len()).is_none_or(|end| end > self.cols)
        {
            return false;
        }
        #[cfg(not(target_os = "none"))]
        if self.in_panels() {
            let whole = col0 == 0 && xq.len() == self.cols;
            if !(whole
                && arch::project_i8_panels(&self.kernel_i8_panels(), xq, &[x_scale], None, out))
            {
                self.add_products_i8_i16(col0, xq, x_scale, out);
            }
            return true;
        }
        let sub = arch::Rows {
            data: self.data.get(col0..).unwrap_or_default(),
            cols: xq.len(),
            ..self.kernel_rows()
        };
        if !arch::gemv_i8_i16(&sub, xq, x_scale, out) {
            self.add_products_i8_i16(col0, xq, x_scale, out);
        }
        true
    }

    /// The portable [`Matrix::matvec_add_cols_quantized`] (int8 weights, `col0 +
    /// xq.len() <= cols`): one out-of-line copy that
    /// [`Matrix::project_block_quantized`] runs too.
    #[inline(never)]
    fn add_products_i8_i16(&self, col0: usize, xq: &[i16], x_scale: f32, out: &mut [f32]) {
        #[cfg(not(target_os = "none"))]
        if self.in_panels() {
            for (r, o) in out.iter_mut().enumerate().take(self.rows) {
                let scale = self.scale(r) * x_scale;
                *o += scale * kernels::panel_dot_i8_i16(self.data, self.cols, r, col0, xq) as f32;
            }
            return;
        }
        let rows = self
            .data
            .chunks_exact(self.cols)
            .zip(self.scales.chunks_exact(4));
        for (o, (row, s)) in out.iter_mut().zip(rows) {
            let scale = f32::from_le_bytes([s[0], s[1], s[2], s[3]]) * x_scale;
            *o += scale * dot_i8_i16(row.get(col0..).unwrap_or_default(), xq) as f32;
        }
    }

    /// `out (b, rows) += X (b, cols) @ W^T` for int8 weights and inputs quantized to i16
    /// one by one (`x_t ~= xq[t * cols..(t + 1) * cols] * x_scales[t]`, `b =
    /// x_scales.len()`): each input's row of `out` gets what
    /// [`Matrix::matvec_add_quantized`] adds for it, bit for bit, in tiles that read each
    /// weight for several inputs. Returns false (and does nothing) for f32 weights or if
    /// `xq` or `out` is too short.
    pub fn gemm_add_quantized(&self, xq: &[i16], x_scales: &[f32], out: &mut [f32]) -> bool {
        let (cols, rows, b) = (self.cols, self.rows, x_scales.len());
        if self.storage != Storage::I8
            || b.checked_mul(cols).is_none_or(|n| xq.len() < n)
            || b.checked_mul(rows).is_none_or(|n| out.len() < n)
        {
            return false;
        }
        if cols == 0 || rows == 0 || self.project_i8_kernel(xq, x_scales, None, out) {
            return true;
        }
        let inputs = xq.chunks_exact(cols).zip(x_scales);
        for ((x, &x_scale), o) in inputs.zip(out.chunks_exact_mut(rows)) {
            self.matvec_add_quantized(x, x_scale, o);
        }
        true
    }

    /// `out (b, rows) = X (b, cols) @ W^T + bias` for int8 weights and inputs quantized to
    /// i16 one by one (`x_t ~= xq[t * cols..(t + 1) * cols] * x_scales[t]`, `b =
    /// x_scales.len()`): `out[t * rows + r] = bias[r] + (scale_r * x_scales[t]) * (q_r .
    /// xq_t)`, each dot product in exact integer arithmetic (callers keep `|xq| <=
    /// 16383`). Returns false (and does nothing) for f32 weights.
    pub fn project_block_quantized(
        &self,
        xq: &[i16],
        x_scales: &[f32],
        bias: &Vector<'_>,
        out: &mut [f32],
    ) -> bool {
        let (cols, rows) = (self.cols, self.rows);
        if self.storage != Storage::I8 || cols == 0 {
            return false;
        }
        if rows == 0 || self.project_i8_kernel(xq, x_scales, Some(bias.0), out) {
            return true;
        }
        // Each input's row of `out` starts at the bias and gets the products added:
        // `b + p` is the same f32 sum as `p + b`.
        let inputs = xq.chunks_exact(cols).zip(x_scales);
        for ((x, &x_scale), o) in inputs.zip(out.chunks_exact_mut(rows)) {
            bias.copy_into(o);
            self.add_products_i8_i16(0, x, x_scale, o);
        }
        true
    }

    /// The level's kernel for the int8 products of several inputs: on rows
    /// [`arch::project_i8_i16`], on int8 panels [`arch::project_i8_panels`] (not in
    /// bare-metal builds, which read no panels and carry none of their code).
    #[inline(always)]
    fn project_i8_kernel(
        &self,
        xq: &[i16],
        x_scales: &[f32],
        bias: Option<&[u8]>,
        out: &mut [f32],
    ) -> bool {
        #[cfg(not(target_os = "none"))]
        if self.in_panels() {
            return arch::project_i8_panels(&self.kernel_i8_panels(), xq, x_scales, bias, out);
        }
        arch::project_i8_i16(&self.kernel_rows(), xq, x_scales, bias, out)
    }

    /// `out (b, rows) = xs (b, cols) @ W^T + bias`: each weight row is read once
    /// for all `b` inputs of the block. `row (cols,)` is working memory: an int8 row (on
    /// bare-metal targets an f32 row too) is decoded into it once and then serves every
    /// input as plain f32; elsewhere f32 rows are read in place.
    pub fn project_block(&self, xs: &[f32], bias: &Vector<'_>, row: &mut [f32], out: &mut [f32]) {
        let (cols, rows) = (self.cols, self.rows);
        if cols == 0 || rows == 0 {
            return;
        }
        if self.in_panels() && self.storage == Storage::F32 {
            if !arch::panel_project(&self.kernel_panels(0, cols), xs, Start::Bias(bias.0), out) {
                for (x, o) in xs.chunks_exact(cols).zip(out.chunks_exact_mut(rows)) {
                    kernels::panel_dots(self.data, cols, 0, x, o);
                    for (r, o) in o.iter_mut().enumerate() {
                        *o += bias.get(r);
                    }
                }
            }
            return;
        }
        if !self.in_panels() && arch::project(&self.kernel_rows(), xs, bias.0, out) {
            return;
        }
        if self.storage == Storage::F32 && !cfg!(target_os = "none") {
            for (r, w) in self.data.chunks_exact(cols * 4).enumerate() {
                let b = bias.get(r);
                for (x, o) in xs.chunks_exact(cols).zip(out.chunks_exact_mut(rows)) {
                    o[r] = b + dot_f32le(w, x);
                }
            }
            return;
        }
        // Each row decoded once; on firmware f32 rows too (`dot` sums as `dot_f32le`
        // does), so that one copy of this loop serves both.
        let row = &mut row[..cols];
        for r in 0..rows {
            self.row_into(r, row);
            let b = bias.get(r);
            for (x, o) in xs.chunks_exact(cols).zip(out.chunks_exact_mut(rows)) {
                o[r] = b + dot_row(row, x);
            }
        }
    }
}

/// `dot(row, x)`; on little-endian targets through `dot_f32le` on the row's bytes, which
/// sums the same way, so that firmware carries one f32 dot product, not two.
#[inline(always)]
fn dot_row(row: &[f32], x: &[f32]) -> f32 {
    if cfg!(target_endian = "little") {
        dot_f32le(bytemuck::cast_slice(row), x)
    } else {
        dot(row, x)
    }
}

/// A view of little-endian f32 values.
#[derive(Debug, Clone, Copy)]
pub struct Vector<'a>(&'a [u8]);

impl<'a> Vector<'a> {
    /// A vector of length 0.
    pub const EMPTY: Vector<'static> = Vector(&[]);

    /// A view of `len` little-endian f32 values; `None` if the length is wrong.
    pub fn f32_le(bytes: &'a [u8], len: usize) -> Option<Self> {
        (len.checked_mul(4)? == bytes.len()).then_some(Vector(bytes))
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.0.len() / 4
    }

    /// Whether it has no elements.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Element `i` (requires `i < len`).
    #[inline]
    pub fn get(&self, i: usize) -> f32 {
        let b = &self.0[i * 4..i * 4 + 4];
        f32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }

    /// The elements in order.
    pub fn iter(&self) -> impl Iterator<Item = f32> + 'a {
        self.0
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Copies the elements into `out` (`out.len() == len`).
    pub fn copy_into(&self, out: &mut [f32]) {
        for (o, v) in out.iter_mut().zip(self.iter()) {
            *o = v;
        }
    }
}

/// A view of little-endian u32 values.
#[derive(Debug, Clone, Copy)]
pub struct U32s<'a>(&'a [u8]);

impl<'a> U32s<'a> {
    /// No values.
    pub const EMPTY: U32s<'static> = U32s(&[]);

    /// A view of `len` little-endian u32 values; `None` if the length is wrong.
    pub fn new(bytes: &'a [u8], len: usize) -> Option<Self> {
        (len.checked_mul(4)? == bytes.len()).then_some(U32s(bytes))
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.0.len() / 4
    }

    /// Whether it has no elements.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Element `i` (requires `i < len`).
    #[inline]
    pub fn get(&self, i: usize) -> u32 {
        let b = &self.0[i * 4..i * 4 + 4];
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }

    /// The values' bytes (`4 * len`, little-endian).
    #[cfg(postag_arm_dsp)]
    pub(crate) fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// The elements in order.
    pub fn iter(&self) -> impl Iterator<Item = u32> + 'a {
        self.0
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}
