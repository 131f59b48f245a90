//! Eight inputs side by side through one LSTM direction's recurrence: bulk tagging's
//! sentences ([`crate::Model::tag_batch`]) and the char net's words
//! ([`super::chars::CharNet`]). Each recurrent weight load serves every lane.

use crate::arch::lstm_cell;
use crate::kernels::BATCH_LANES;
use crate::tensor::Matrix;

/// Lanes side by side.
pub(super) const L: usize = BATCH_LANES;

/// Where the lanes' vectors lie in their buffers. By row, lane `l`'s vector of `len`
/// values is row `l` of an `(8, len)` buffer: the lanes' gates, hidden and cell states
/// are those of a GEMM over 8 inputs ([`Matrix::gemm_add`], which sums as
/// [`Matrix::matvec_add`] does). By column, it is column `l` of a `(len, 8)` buffer:
/// each weight is broadcast once for the eight lanes ([`Matrix::gemm_lanes_add`], which
/// sums in another order).
#[derive(Debug, Clone, Copy)]
pub(super) struct Lanes {
    pub(super) by_row: bool,
}

impl Lanes {
    /// Where element `j` of lane `lane`'s vector of `len` values lies.
    #[inline(always)]
    pub(super) fn at(self, lane: usize, j: usize, len: usize) -> usize {
        if self.by_row {
            lane * len + j
        } else {
            j * L + lane
        }
    }

    /// Lane `lane`'s vector of `len` values in `buf` becomes `values` (zeros if `None`).
    pub(super) fn put(self, buf: &mut [f32], lane: usize, len: usize, values: Option<&[f32]>) {
        if self.by_row {
            let row = &mut buf[lane * len..(lane + 1) * len];
            match values {
                Some(v) => row.copy_from_slice(&v[..len]),
                None => row.fill(0.0),
            }
        } else {
            for j in 0..len {
                buf[j * L + lane] = values.map_or(0.0, |v| v[j]);
            }
        }
    }

    /// Lane `lane`'s vector of `out.len()` values in `buf`, into `out`.
    pub(super) fn get(self, buf: &[f32], lane: usize, out: &mut [f32]) {
        let len = out.len();
        for (j, o) in out.iter_mut().enumerate() {
            *o = buf[self.at(lane, j, len)];
        }
    }

    /// One step of the lanes: `gates (4H)` of each lane, its input projection, gets
    /// `W_hh h` added, then the cell update takes `c` and `h (H)` to the next step, for
    /// the lanes that are `busy` (by column every lane's: an idle lane's results are
    /// never read).
    pub(super) fn step(
        self,
        w_hh: &Matrix<'_>,
        busy: [bool; L],
        gates: &mut [f32],
        c: &mut [f32],
        h: &mut [f32],
    ) {
        let hidden = w_hh.cols();
        if self.by_row {
            w_hh.gemm_add(&h[..L * hidden], gates);
            for lane in (0..L).filter(|&l| busy[l]) {
                lstm_cell(
                    &mut gates[lane * 4 * hidden..(lane + 1) * 4 * hidden],
                    &mut c[lane * hidden..(lane + 1) * hidden],
                    &mut h[lane * hidden..(lane + 1) * hidden],
                );
            }
        } else {
            w_hh.gemm_lanes_add(h, gates);
            lstm_cell(gates, c, h);
        }
    }
}
