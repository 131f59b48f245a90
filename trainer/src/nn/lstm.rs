//! One LSTM layer over a packed batch of sequences, forward and backward, with the matrix
//! work batched as PyTorch does for packed sequences:
//! - the input projection of all time steps is one sgemm;
//! - each time step adds one small sgemm over its active rows (the recurrent part);
//! - backward accumulates dW_ih and dW_hh with one sgemm each over all steps, and dX with one.

use super::gemm::{gemm, MatMut, MatRef};
use super::math::{sigmoid_inplace, tanh, tanh_inplace};
use super::params::Cell;
use multiversion::multiversion;

/// Time-major packed layout of sequences sorted by length, longest first (PyTorch's
/// `PackedSequence`): at step t the sequences still running are a prefix `0..batch(t)`, and
/// row `offset(t) + b` holds sequence b's element t. Sequences of length 0 have no rows.
#[derive(Clone, Debug)]
pub(crate) struct Packing {
    /// (steps,) number of sequences longer than t.
    batch_sizes: Vec<usize>,
    /// (steps + 1,) first row of step t; the last entry is the row count.
    offsets: Vec<usize>,
}

impl Packing {
    /// `sorted_lens` must be non-increasing.
    pub(crate) fn new(sorted_lens: &[usize]) -> Self {
        assert!(
            sorted_lens.windows(2).all(|w| w[0] >= w[1]),
            "lengths must be sorted, longest first"
        );
        let steps = sorted_lens.first().copied().unwrap_or(0);
        let batch_sizes: Vec<usize> = (0..steps)
            .map(|t| sorted_lens.iter().take_while(|&&len| len > t).count())
            .collect();
        let mut offsets = vec![0];
        for &bs in &batch_sizes {
            offsets.push(offsets.last().unwrap() + bs);
        }
        Packing {
            batch_sizes,
            offsets,
        }
    }

    /// Number of time steps (the longest length).
    pub(crate) fn steps(&self) -> usize {
        self.batch_sizes.len()
    }

    /// Total rows (sum of lengths).
    pub(crate) fn rows(&self) -> usize {
        *self.offsets.last().unwrap()
    }

    /// Sequences active at step t.
    pub(crate) fn batch(&self, t: usize) -> usize {
        self.batch_sizes[t]
    }

    /// Row of sequence b's element t.
    pub(crate) fn row(&self, t: usize, b: usize) -> usize {
        debug_assert!(b < self.batch_sizes[t]);
        self.offsets[t] + b
    }

    /// Rows of step t whose entering state comes from the previous processing step (the rest
    /// start from zero). Forward: all but at t = 0. Reverse (t from the end): the sequences
    /// that also have element t + 1, so a sequence starts fresh at its last element.
    fn state_in(&self, t: usize, reverse: bool) -> usize {
        match reverse {
            false if t > 0 => self.batch_sizes[t],
            true if t + 1 < self.steps() => self.batch_sizes[t + 1],
            _ => 0,
        }
    }

    /// The step processed after t, if any.
    fn next_step(&self, t: usize, reverse: bool) -> Option<usize> {
        match reverse {
            false => (t + 1 < self.steps()).then_some(t + 1),
            true => t.checked_sub(1),
        }
    }

    /// Steps in processing order.
    fn order(&self, reverse: bool) -> Vec<usize> {
        let mut ts: Vec<usize> = (0..self.steps()).collect();
        if reverse {
            ts.reverse();
        }
        ts
    }
}

/// What one direction's forward pass keeps for its backward pass. Rows are packed rows.
pub(crate) struct DirCache {
    /// (N, 4H) activated gates i, f, g, o; the backward pass overwrites them with dG.
    gates: Vec<f32>,
    /// (N, H) hidden state entering each row's step (0 where the sequence starts).
    h_prev: Vec<f32>,
    /// (N, H) cell state entering each row's step.
    c_prev: Vec<f32>,
    /// (N, H) tanh of the cell state each row's step produced.
    tanh_c: Vec<f32>,
}

/// Runs one direction over a packed batch.
/// X (N, in) -> writes h into `out` (N rows, H columns starting at `col`, row stride `rs`).
pub(crate) fn dir_forward(
    cell: &Cell,
    pack: &Packing,
    reverse: bool,
    x: MatRef,
    out: &mut [f32],
    col: usize,
    rs: usize,
) -> DirCache {
    let h = cell.hidden();
    let n = pack.rows();
    let mut gates = vec![0.0f32; n * 4 * h];
    for row in gates.chunks_exact_mut(4 * h) {
        row.copy_from_slice(&cell.b);
    }
    // G (N, 4H) = X (N, in) @ W_ih^T (in, 4H) + b: every step's input projection at once.
    gemm(
        x,
        MatRef::dense(&cell.w_ih, 4 * h, cell.input()).t(),
        1.0,
        MatMut::dense(&mut gates, n, 4 * h),
    );
    let mut cache = DirCache {
        gates,
        h_prev: vec![0.0; n * h],
        c_prev: vec![0.0; n * h],
        tanh_c: vec![0.0; n * h],
    };
    // W_hh^T (H, 4H) stored row-major, so a step with few rows can use the direct kernel.
    let mut w_hh_t = vec![0.0f32; h * 4 * h];
    for (j, w_row) in cell.w_hh.chunks_exact(h).enumerate() {
        for (p, &w) in w_row.iter().enumerate() {
            w_hh_t[p * 4 * h + j] = w;
        }
    }
    let w_hh_t = MatRef::dense(&w_hh_t, h, 4 * h);
    let mut c_new = vec![0.0f32; h];
    for t in pack.order(reverse) {
        let (r0, active, with_state) = (pack.row(t, 0), pack.batch(t), pack.state_in(t, reverse));
        // G_t (m, 4H) += H_prev (m, H) @ W_hh^T (H, 4H), over the rows that have a state.
        gemm(
            MatRef::dense(&cache.h_prev, n, h).rows(r0, with_state),
            w_hh_t,
            1.0,
            MatMut::dense(&mut cache.gates, n, 4 * h).rows(r0, with_state),
        );
        let next = pack.next_step(t, reverse);
        for b in 0..active {
            let row = r0 + b;
            let g = &mut cache.gates[row * 4 * h..(row + 1) * 4 * h];
            let c_prev = &cache.c_prev[row * h..(row + 1) * h];
            let tanh_c = &mut cache.tanh_c[row * h..(row + 1) * h];
            let h_out = &mut out[row * rs + col..row * rs + col + h];
            cell_forward(g, c_prev, &mut c_new, tanh_c, h_out);
            // Hand (h, c) to this sequence's row in the next processing step, if it has one.
            if let Some(tn) = next.filter(|&tn| b < pack.state_in(tn, reverse)) {
                let nr = pack.row(tn, b);
                cache.h_prev[nr * h..(nr + 1) * h].copy_from_slice(h_out);
                cache.c_prev[nr * h..(nr + 1) * h].copy_from_slice(&c_new);
            }
        }
    }
    cache
}

/// One row's pointwise LSTM step (also compiled for AVX2 and AVX-512, picked at run time).
/// gates (4H,) pre-activations i, f, g, o -> activated in place; c_prev (H,) -> c (H,),
/// tanh_c (H,), h (H,).
#[multiversion(targets("x86_64+avx512f+avx512vl+avx2+fma", "x86_64+avx2+fma"))]
fn cell_forward(
    gates: &mut [f32],
    c_prev: &[f32],
    c: &mut [f32],
    tanh_c: &mut [f32],
    h: &mut [f32],
) {
    let hid = c.len();
    let (ifg, o) = gates.split_at_mut(3 * hid);
    let (i_f, g) = ifg.split_at_mut(2 * hid);
    sigmoid_inplace(i_f);
    tanh_inplace(g);
    sigmoid_inplace(o);
    let (i, f) = i_f.split_at(hid);
    // Equal lengths up front, so the loop has no bounds checks and vectorizes.
    let (i, f, g, o) = (&i[..hid], &f[..hid], &g[..hid], &o[..hid]);
    let (c_prev, tanh_c, h) = (&c_prev[..hid], &mut tanh_c[..hid], &mut h[..hid]);
    for j in 0..hid {
        c[j] = f[j] * c_prev[j] + i[j] * g[j];
        tanh_c[j] = tanh(c[j]);
        h[j] = o[j] * tanh_c[j];
    }
}

/// Backward of [`dir_forward`]. `dout` holds dL/dh for this direction (N rows, H columns at
/// `col`, row stride `rs`). Accumulates into `grad`; writes dX (N, in) into `dx` as
/// `dx = dG @ W_ih + dx_beta * dx`. Consumes the cache (its gates become dG).
#[allow(clippy::too_many_arguments)]
pub(crate) fn dir_backward(
    cell: &Cell,
    grad: &mut Cell,
    pack: &Packing,
    reverse: bool,
    x: MatRef,
    mut cache: DirCache,
    dout: &[f32],
    col: usize,
    rs: usize,
    dx: MatMut,
    dx_beta: f32,
) {
    let h = cell.hidden();
    let n = pack.rows();
    let max_batch = if n == 0 { 0 } else { pack.batch(0) };
    // Gradient w.r.t. the state each row of the current step hands to the next processing
    // step; filled by the step processed after it (earlier in this backward sweep).
    let mut dh_carry = vec![0.0f32; max_batch * h];
    let mut dc_carry = vec![0.0f32; max_batch * h];
    let mut dh = vec![0.0f32; h];
    let w_hh = MatRef::dense(&cell.w_hh, 4 * h, h);
    for t in pack.order(!reverse) {
        let (r0, active, with_state) = (pack.row(t, 0), pack.batch(t), pack.state_in(t, reverse));
        // Rows whose output state the next processing step consumed.
        let handed_on = pack
            .next_step(t, reverse)
            .map_or(0, |tn| pack.state_in(tn, reverse));
        for b in 0..active {
            let row = r0 + b;
            let carried = b < handed_on;
            dh.copy_from_slice(&dout[row * rs + col..row * rs + col + h]);
            if carried {
                for (d, &c) in dh.iter_mut().zip(&dh_carry[b * h..(b + 1) * h]) {
                    *d += c;
                }
            }
            let dc = &mut dc_carry[b * h..(b + 1) * h];
            if !carried {
                dc.fill(0.0);
            }
            cell_backward(
                &mut cache.gates[row * 4 * h..(row + 1) * 4 * h],
                &cache.c_prev[row * h..(row + 1) * h],
                &cache.tanh_c[row * h..(row + 1) * h],
                &dh,
                dc,
            );
        }
        // dH_prev (m, H) = dG_t (m, 4H) @ W_hh (4H, H), for the rows that had a state.
        gemm(
            MatRef::dense(&cache.gates, n, 4 * h).rows(r0, with_state),
            w_hh,
            0.0,
            MatMut::dense(&mut dh_carry, max_batch, h).rows(0, with_state),
        );
    }
    let dg = MatRef::dense(&cache.gates, n, 4 * h);
    // dW_ih (4H, in) += dG^T (4H, N) @ X (N, in)
    gemm(
        dg.t(),
        x,
        1.0,
        MatMut::dense(&mut grad.w_ih, 4 * h, cell.input()),
    );
    // dW_hh (4H, H) += dG^T (4H, N) @ H_prev (N, H)
    gemm(
        dg.t(),
        MatRef::dense(&cache.h_prev, n, h),
        1.0,
        MatMut::dense(&mut grad.w_hh, 4 * h, h),
    );
    // db (4H,) += column sums of dG
    for row in cache.gates.chunks_exact(4 * h) {
        for (gb, &d) in grad.b.iter_mut().zip(row) {
            *gb += d;
        }
    }
    // dX (N, in) = dG (N, 4H) @ W_ih (4H, in) (+ dx_beta * dX)
    gemm(
        dg,
        MatRef::dense(&cell.w_ih, 4 * h, cell.input()),
        dx_beta,
        dx,
    );
}

/// One row's pointwise LSTM backward. gates (4H,) activated i, f, g, o -> overwritten with
/// dL/d(pre-activation); c_prev, tanh_c (H,) from the forward pass; dh (H,) = dL/dh;
/// dc (H,) = dL/dc from the next step on entry, dL/dc_prev on exit.
#[multiversion(targets("x86_64+avx512f+avx512vl+avx2+fma", "x86_64+avx2+fma"))]
fn cell_backward(gates: &mut [f32], c_prev: &[f32], tanh_c: &[f32], dh: &[f32], dc: &mut [f32]) {
    let hid = dh.len();
    let (i_f, g_o) = gates.split_at_mut(2 * hid);
    let (i, f) = i_f.split_at_mut(hid);
    let (g, o) = g_o.split_at_mut(hid);
    // Equal lengths up front, so the loop has no bounds checks and vectorizes.
    let (i, f, g, o) = (&mut i[..hid], &mut f[..hid], &mut g[..hid], &mut o[..hid]);
    let (c_prev, tanh_c, dc) = (&c_prev[..hid], &tanh_c[..hid], &mut dc[..hid]);
    for j in 0..hid {
        let (iv, fv, gv, ov, tc) = (i[j], f[j], g[j], o[j], tanh_c[j]);
        let dcj = dc[j] + dh[j] * ov * (1.0 - tc * tc);
        i[j] = dcj * gv * iv * (1.0 - iv);
        f[j] = dcj * c_prev[j] * fv * (1.0 - fv);
        g[j] = dcj * iv * (1.0 - gv * gv);
        o[j] = dh[j] * tc * ov * (1.0 - ov);
        dc[j] = dcj * fv;
    }
}

/// Output (N, dirs*H) of one (uni- or bidirectional) layer plus what backward needs.
pub(crate) struct LayerCache {
    caches: Vec<DirCache>,
}

/// One layer, both directions: X (N, in) -> Y (N, dirs*H) = [h_fwd ; h_bwd] per row.
pub(crate) fn layer_forward(cells: &[Cell], pack: &Packing, x: MatRef) -> (Vec<f32>, LayerCache) {
    let h = cells[0].hidden();
    let width = h * cells.len();
    let mut y = vec![0.0f32; pack.rows() * width];
    let caches = cells
        .iter()
        .enumerate()
        .map(|(dir, cell)| dir_forward(cell, pack, dir == 1, x, &mut y, dir * h, width))
        .collect();
    (y, LayerCache { caches })
}

/// Backward of [`layer_forward`]: dY (N, dirs*H) -> dX (N, in), gradients into `grads`.
pub(crate) fn layer_backward(
    cells: &[Cell],
    grads: &mut [Cell],
    pack: &Packing,
    x: MatRef,
    cache: LayerCache,
    dy: &[f32],
    dx: &mut [f32],
) {
    let h = cells[0].hidden();
    let width = h * cells.len();
    let input = cells[0].input();
    for (dir, (dcache, (cell, grad))) in cache
        .caches
        .into_iter()
        .zip(cells.iter().zip(grads.iter_mut()))
        .enumerate()
    {
        let beta = if dir == 0 { 0.0 } else { 1.0 };
        let dx_view = MatMut::dense(dx, pack.rows(), input);
        dir_backward(
            cell,
            grad,
            pack,
            dir == 1,
            x,
            dcache,
            dy,
            dir * h,
            width,
            dx_view,
            beta,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_of_sorted_lengths() {
        let p = Packing::new(&[3, 2, 2, 0]);
        assert_eq!(p.steps(), 3);
        assert_eq!(p.rows(), 7);
        assert_eq!((p.batch(0), p.batch(1), p.batch(2)), (3, 3, 1));
        assert_eq!(p.row(1, 2), 5);
        assert_eq!(p.row(2, 0), 6);
        // Reverse direction: at t = 1 sequences 1 and 2 start fresh (their last element).
        assert_eq!(p.state_in(1, true), 1);
        assert_eq!(p.state_in(2, true), 0);
        assert_eq!(p.state_in(0, false), 0);
        assert_eq!(p.state_in(2, false), 1);
    }

    /// Packed batch == each sequence run alone, both directions.
    #[test]
    fn packed_equals_one_at_a_time() {
        let mut rng = super::super::rng::Rng::new(5);
        let (input, h) = (3, 4);
        let mut cell = Cell {
            w_ih: vec![0.0; 4 * h * input],
            w_hh: vec![0.0; 4 * h * h],
            b: vec![0.0; 4 * h],
        };
        for v in cell
            .w_ih
            .iter_mut()
            .chain(&mut cell.w_hh)
            .chain(&mut cell.b)
        {
            *v = rng.uniform(-0.7, 0.7);
        }
        let lens = [4usize, 2, 1];
        let seqs: Vec<Vec<f32>> = lens
            .iter()
            .map(|&l| (0..l * input).map(|_| rng.normal()).collect())
            .collect();
        let pack = Packing::new(&lens);
        let mut x = vec![0.0; pack.rows() * input];
        for (b, s) in seqs.iter().enumerate() {
            for t in 0..lens[b] {
                let r = pack.row(t, b);
                x[r * input..(r + 1) * input].copy_from_slice(&s[t * input..(t + 1) * input]);
            }
        }
        for reverse in [false, true] {
            let mut out = vec![0.0; pack.rows() * h];
            dir_forward(
                &cell,
                &pack,
                reverse,
                MatRef::dense(&x, pack.rows(), input),
                &mut out,
                0,
                h,
            );
            for (b, s) in seqs.iter().enumerate() {
                let one = Packing::new(&[lens[b]]);
                let mut o1 = vec![0.0; lens[b] * h];
                dir_forward(
                    &cell,
                    &one,
                    reverse,
                    MatRef::dense(s, lens[b], input),
                    &mut o1,
                    0,
                    h,
                );
                for t in 0..lens[b] {
                    let r = pack.row(t, b);
                    assert_eq!(&out[r * h..(r + 1) * h], &o1[t * h..(t + 1) * h]);
                }
            }
        }
    }
}
