//! The LSTM stack (PyTorch's `nn.LSTM`: layers, directions, gate order i, f, g, o) and
//! the working memory one direction uses while it runs.

use super::cache::{aligned_pairs, pairs_words};
use crate::arch::{self, gemv_pairs, interleave_pairs, lstm_cell_from, pairs_len, quantize_i16};
use crate::format::{LstmShape, MAX_LAYERS};
use crate::kernels::{self, PANEL_ROWS};
use crate::tensor::{Layout, Matrix, Storage, Vector};
use crate::Error;
use core::mem::take;

/// Tokens whose input projection `W_ih x` is computed together, so that each
/// weight row is read once per block instead of once per token.
pub const PROJECTION_BLOCK: usize = 8;

/// Largest i16 pair copy of an int8 cell [`Cell::pack`] makes at `avx2` and `avx512`:
/// 32 KiB, an L1 data cache.
const PAIRS_COPY_MAX_BYTES: usize = 32 * 1024;

/// Byte alignment of the weights [`Cell::pack`] copies: a cache line, as a blob's panels
/// ([`crate::format::PANELS_ALIGN`]), so that no vector load of the packed weights
/// straddles two lines (on an Intel Xeon, Ice Lake, at `avx512`, a 128 -> 128 f32 step
/// on panels 16 bytes off a line took 14.5 us against 6.5 us aligned).
pub const PACK_ALIGN: usize = crate::format::PANELS_ALIGN;

/// Floats a [`Cell::pack`] buffer holds past the packed weights, so that they can start
/// at a multiple of [`PACK_ALIGN`] bytes wherever the buffer starts (at any 4-byte
/// alignment).
const PACK_SLACK: usize = PACK_ALIGN / 4 - 1;

/// The projection block of the low-memory schedule ([`crate::Model::min_scratch_bytes`]):
/// one token's input projection at a time.
pub const LOW_MEMORY_BLOCK: usize = 1;

/// One direction of one LSTM layer.
#[derive(Debug, Clone, Copy)]
pub struct Cell<'a> {
    /// `W_ih` (4H, in), gate rows i, f, g, o (in rows, or f32 in panels: [`Matrix`]).
    pub w_ih: Matrix<'a>,
    /// `W_hh` (4H, H).
    pub w_hh: Matrix<'a>,
    /// `b_ih + b_hh` (4H,).
    pub bias: Vector<'a>,
}

impl Cell<'_> {
    pub(super) const EMPTY: Cell<'static> = Cell {
        w_ih: Matrix::EMPTY,
        w_hh: Matrix::EMPTY,
        bias: Vector::EMPTY,
    };

    /// Hidden size H.
    pub fn hidden(&self) -> usize {
        self.w_hh.cols()
    }

    /// Floats of working memory [`Cell::step`] needs: the gate pre-activations (4H), a
    /// weight row decoded to f32 (in), the i16 copies of `x` and `h` for int8 weights
    /// (`ceil(in / 2) + ceil(H / 2)`) and the scale of `x` (1).
    pub fn work_len(&self) -> usize {
        let (input, hidden) = (self.w_ih.cols(), self.hidden());
        4 * hidden + input + input.div_ceil(2) + hidden.div_ceil(2) + 1
    }

    /// One time step: `x (in,)`, state `h, c (H,)` updated in place, `work` is working
    /// memory of at least [`Cell::work_len`] floats. The arithmetic of a step of
    /// tagging's low-memory schedule ([`LOW_MEMORY_BLOCK`], one token's input projection
    /// at a time), bit for bit:
    /// int8 weights multiply i16 copies of `x` and `h` in integer arithmetic
    /// (core/README.md, "Numerics"), identical at every level.
    ///
    /// Non-finite values in `x`, `h` or `c` are not errors: they propagate into `h` and
    /// `c` as IEEE arithmetic has them (as in PyTorch's `LSTMCell`); check the inputs
    /// first where they may come from an untrusted source. The weights are taken as
    /// they are: a blob's are checked when it loads (finite and at most
    /// [`crate::format::MAX_MAGNITUDE`]: [`Error::NonFiniteWeight`]), a cell built from
    /// bytes by hand is not. With an infinite or NaN weight the results are not
    /// defined: an `h` of zeros skips the `W_hh h` product on hosts (for finite weights
    /// it adds zeros), where [`PackedCell::step`] and bare-metal builds compute it
    /// (`0 * inf`, a NaN).
    ///
    /// Errors, before anything is written: [`Error::InvalidModel`] for a cell whose
    /// parts disagree (`W_ih` or the bias without 4H rows, `W_hh` not 4H x H);
    /// [`Error::StateSize`] if `x`, `h` or `c` does not have `in`, H and H elements;
    /// [`Error::ScratchTooSmall`] if `work` is shorter than [`Cell::work_len`].
    pub fn step(
        &self,
        x: &[f32],
        h: &mut [f32],
        c: &mut [f32],
        work: &mut [f32],
    ) -> Result<(), Error> {
        self.check_step(x, h, c, work, self.work_len())?;
        self.step_checked(&[], &[], x, h, c, work);
        Ok(())
    }

    /// Checks that `W_ih`, `W_hh` and the bias agree on 4H rows.
    fn check_parts(&self) -> Result<(), Error> {
        let g = 4 * self.hidden();
        if self.w_ih.rows() != g || self.w_hh.rows() != g || self.bias.len() != g {
            return Err(Error::InvalidModel);
        }
        Ok(())
    }

    /// The checks of a step, in [`Cell::step`]'s order: the parts, the sizes of `x`,
    /// `h` and `c`, then `work` (at least `need` floats).
    fn check_step(
        &self,
        x: &[f32],
        h: &[f32],
        c: &[f32],
        work: &[f32],
        need: usize,
    ) -> Result<(), Error> {
        self.check_parts()?;
        if x.len() != self.w_ih.cols() || h.len() != self.hidden() || c.len() != self.hidden() {
            return Err(Error::StateSize);
        }
        if work.len() < need {
            return Err(Error::ScratchTooSmall);
        }
        Ok(())
    }

    /// [`Cell::step`] after [`Cell::check_step`], with int8 `W_ih` and `W_hh` as the
    /// i16 pairs of [`arch::gemv_pairs`] where given (empty: none; the same results).
    fn step_checked(
        &self,
        ih_pairs: &[i16],
        hh_pairs: &[i16],
        x: &[f32],
        h: &mut [f32],
        c: &mut [f32],
        work: &mut [f32],
    ) {
        let (input, hidden) = (self.w_ih.cols(), self.hidden());
        let (gates, rest) = work[..self.work_len()].split_at_mut(4 * hidden);
        let (row, rest) = rest.split_at_mut(input);
        let (xq, rest) = rest.split_at_mut(input.div_ceil(2));
        let (hq, x_scale) = rest.split_at_mut(hidden.div_ceil(2));
        let xq = &mut bytemuck::cast_slice_mut(xq)[..input];
        let hq = &mut bytemuck::cast_slice_mut(hq)[..hidden];
        // `bias + (scale * s_x) * dot` on the pairs, as `project` computes it.
        let paired = !ih_pairs.is_empty()
            && input > 0
            && quantize_i16(x, xq).is_some_and(|scale| {
                self.bias.copy_into(gates);
                gemv_pairs(ih_pairs, &self.w_ih.kernel_rows(), xq, scale, None, gates)
            });
        if paired {
            // Done.
        } else if input > 0
            && self.w_ih.layout() == Layout::Panels
            && self.w_ih.storage() == Storage::F32
        {
            // As `project` computes it: the block projection of one input.
            self.w_ih.project_block(&x[..input], &self.bias, row, gates);
        } else if input == 0 || self.w_ih.storage() == Storage::F32 {
            // The projection of one input, as `project` computes it: `bias + W_ih x`.
            self.bias.copy_into(gates);
            self.w_ih.matvec_add(&x[..input], gates);
        } else {
            project(self, &x[..input], xq, x_scale, row, gates);
        }
        recur(self, hh_pairs, h, (hq, None), c, (None, gates), false);
    }
}

impl<'a> Cell<'a> {
    /// The packed layout of this cell's weights: panels for f32, the interleaved i16
    /// pairs of [`arch::gemv_pairs`] for int8 where this thread's level has it.
    fn packing(&self) -> Packing {
        match (self.w_ih.storage(), self.w_hh.storage()) {
            (Storage::F32, Storage::F32) => Packing::Panels,
            // (The pair copy is made from rows: int8 panels step as they are.)
            (Storage::I8, Storage::I8)
                if self.pairs_pay() && !self.w_ih.in_i8_panels() && !self.w_hh.in_i8_panels() =>
            {
                Packing::Pairs
            }
            _ => Packing::Plain,
        }
    }

    /// Whether int8 steps are faster on the i16 pair copy ([`arch::gemv_pairs`]) at this
    /// thread's level: at `sse2`, `avx2` and `avx512`, for `in` and H up to the kernel's
    /// 1024; at `avx2` and `avx512` only while the copy (about twice the int8 weights'
    /// bytes) fits a 32 KiB L1 data cache (the smallest of current x86-64 cores'). Past L1
    /// the copy's extra reads cost those levels more than it saves: on an AMD EPYC (Zen
    /// 5, 48 KiB L1), at `avx512`, a 64 -> 64 step took 806 ns on the copy and 586
    /// without, a 32 -> 32 step 207 and 262. `sse2` gains at every size
    /// ([`arch::Level::pairs_from_l2`]).
    fn pairs_pay(&self) -> bool {
        let (input, hidden) = (self.w_ih.cols(), self.hidden());
        let level = arch::level();
        level.has_pairs()
            && input.max(hidden) <= arch::PAIRS_MAX_COLS
            && (level.pairs_from_l2() || 2 * self.pairs_copy_len() <= PAIRS_COPY_MAX_BYTES)
    }

    /// i16 elements of the pair copy of `W_ih` then `W_hh` ([`pairs_len`] of each).
    fn pairs_copy_len(&self) -> usize {
        let (input, hidden) = (self.w_ih.cols(), self.hidden());
        pairs_len(4 * hidden, input) + pairs_len(4 * hidden, hidden)
    }

    /// Floats of the buffer [`Cell::pack`] fills, for the layout it chooses on this
    /// thread's kernel level (so size it on the thread that packs): for f32 weights
    /// `16 * ceil(4H / 16) * (1 + in + H)`; for int8 weights, at the `sse2`, `avx2` and
    /// `avx512` levels, an i16 copy of `W_ih` and `W_hh` (rows in blocks of 8, columns in pairs,
    /// padded with zeros) of `8 * ceil(H / 2) * (ceil(in / 2) + ceil(H / 2))` floats
    /// where `in` and H are at most 1024 and, at `avx2` and `avx512`, that is at most
    /// 8,192 (32 KiB); otherwise 0. Where it is not 0, 15 floats more, so that the copy
    /// starts at a multiple of [`PACK_ALIGN`] bytes wherever the buffer does.
    pub fn packed_len(&self) -> usize {
        match self.packing_len() {
            0 => 0,
            len => len + PACK_SLACK,
        }
    }

    /// Floats of the packed copy itself: [`Cell::packed_len`] without the slack.
    fn packing_len(&self) -> usize {
        let (input, hidden) = (self.w_ih.cols(), self.hidden());
        let g = 4 * hidden;
        match self.packing() {
            Packing::Panels => g.div_ceil(PANEL_ROWS) * PANEL_ROWS * (1 + input + hidden),
            Packing::Pairs => self.pairs_copy_len().div_ceil(2),
            Packing::Plain => 0,
        }
    }

    /// Copies the weights into `buf` ([`Cell::packed_len`] floats or more) in a layout
    /// for the streaming step's vector kernels, for callers that step one cell many
    /// times (a stream of inputs): [`PackedCell::step`] then computes what
    /// [`Cell::step`] does, faster for small cells.
    ///
    /// f32 weights go into panels of 16 gate rows: each panel holds its rows' biases,
    /// then, column by column, the 16 rows' weights of `W_ih` and then of `W_hh`, so
    /// that a step broadcasts each input value to the 16 rows at once
    /// ([`crate::kernels::gemv_panels`], whose order of sums the results keep: they
    /// differ from [`Cell::step`]'s by rounding, as the kernel levels do; one step
    /// from the same state, 164 -> 128 at `avx512`, is within 1.6e-6 of a float64
    /// reference where [`Cell::step`] is within 3e-7).
    /// int8 weights in rows are copied as i16 pairs (the interleaved layout of the
    /// vector levels' int8 products) at the `sse2` level, and at `avx2` and `avx512`
    /// those of small cells (a copy of 32 KiB at most: [`Cell::packed_len`]; int8
    /// weights in panels are read where they lie);
    /// their steps are [`Cell::step`]'s bit for bit (exact integer dot products). Where
    /// the weights are not copied the buffer is not used and steps are [`Cell::step`]'s.
    ///
    /// Errors: [`Error::InvalidModel`] for a cell whose parts disagree on 4H rows,
    /// [`Error::ScratchTooSmall`] if `buf` is shorter than [`Cell::packed_len`].
    pub fn pack<'b>(&self, buf: &'b mut [f32]) -> Result<PackedCell<'b>, Error>
    where
        'a: 'b,
    {
        self.check_parts()?;
        if buf.len() < self.packed_len() {
            return Err(Error::ScratchTooSmall);
        }
        // The first float at a multiple of PACK_ALIGN bytes (at most PACK_SLACK on).
        let len = self.packing_len();
        let skip = match buf.as_ptr().align_offset(PACK_ALIGN) {
            s if len > 0 && s <= PACK_SLACK => s,
            _ => 0,
        };
        let buf = &mut buf[skip..skip + len];
        let (input, hidden) = (self.w_ih.cols(), self.hidden());
        let g = 4 * hidden;
        let mut packing = self.packing();
        match packing {
            Packing::Panels => {
                let stride = PANEL_ROWS * (1 + input + hidden);
                for (p, panel) in buf.chunks_exact_mut(stride).enumerate() {
                    for (l, r) in (p * PANEL_ROWS..(p + 1) * PANEL_ROWS).enumerate() {
                        let real = r < g;
                        panel[l] = if real { self.bias.get(r) } else { 0.0 };
                        for k in 0..input + hidden {
                            panel[PANEL_ROWS * (1 + k) + l] = match (real, k < input) {
                                (false, _) => 0.0,
                                (true, true) => self.w_ih.get(r, k),
                                (true, false) => self.w_hh.get(r, k - input),
                            };
                        }
                    }
                }
            }
            Packing::Pairs => {
                let pairs: &mut [i16] = bytemuck::cast_slice_mut(buf);
                let (ih, hh) = pairs.split_at_mut(pairs_len(g, input));
                if !interleave_pairs(&self.w_ih.kernel_rows(), ih)
                    || !interleave_pairs(&self.w_hh.kernel_rows(), hh)
                {
                    // Rows longer than the pair kernels take: plain steps.
                    packing = Packing::Plain;
                }
            }
            Packing::Plain => {}
        }
        Ok(PackedCell {
            cell: *self,
            packed: buf,
            packing,
        })
    }
}

/// How a [`PackedCell`] holds its weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Packing {
    /// f32 panels of [`PANEL_ROWS`] rows with their biases ([`kernels::gemv_panels`]).
    Panels,
    /// int8 `W_ih` then `W_hh` as the i16 pairs of [`arch::gemv_pairs`].
    Pairs,
    /// Not packed: [`Cell::step`].
    Plain,
}

/// An LSTM cell with its weights packed for streaming steps ([`Cell::pack`]).
#[derive(Debug, Clone, Copy)]
pub struct PackedCell<'a> {
    cell: Cell<'a>,
    packed: &'a [f32],
    packing: Packing,
}

impl PackedCell<'_> {
    /// The cell it was packed from.
    pub fn cell(&self) -> Cell<'_> {
        self.cell
    }

    /// Floats of working memory [`PackedCell::step`] needs: [`Cell::work_len`], or for
    /// f32 panels the gates of whole panels (`16 * ceil(4H / 16)`) and the input and
    /// hidden state side by side (`in + H`) if that is more.
    pub fn work_len(&self) -> usize {
        let (input, hidden) = (self.cell.w_ih.cols(), self.cell.hidden());
        let panels = (4 * hidden).div_ceil(PANEL_ROWS) * PANEL_ROWS + input + hidden;
        match self.packing {
            Packing::Panels => self.cell.work_len().max(panels),
            _ => self.cell.work_len(),
        }
    }

    /// One time step, as [`Cell::step`] (the same arguments, state and errors), on the
    /// packed weights: `x (in,)`, state `h, c (H,)` updated in place, `work` at least
    /// [`PackedCell::work_len`] floats.
    pub fn step(
        &self,
        x: &[f32],
        h: &mut [f32],
        c: &mut [f32],
        work: &mut [f32],
    ) -> Result<(), Error> {
        let cell = &self.cell;
        cell.check_step(x, h, c, work, self.work_len())?;
        let (input, hidden) = (cell.w_ih.cols(), cell.hidden());
        let g = 4 * hidden;
        match self.packing {
            Packing::Panels => {
                let rows = g.div_ceil(PANEL_ROWS) * PANEL_ROWS;
                let (gates, rest) = work.split_at_mut(rows);
                if !arch::packed_step(self.packed, x, gates, c, h) {
                    let z = &mut rest[..input + hidden];
                    z[..input].copy_from_slice(x);
                    z[input..].copy_from_slice(h);
                    kernels::gemv_panels(self.packed, input + hidden, z, gates);
                    kernels::lstm_cell(&mut gates[..g], c, h);
                }
            }
            Packing::Pairs => {
                let pairs: &[i16] = bytemuck::cast_slice(self.packed);
                let (ih, hh) = pairs.split_at(pairs_len(g, input));
                cell.step_checked(ih, hh, x, h, c, work);
            }
            Packing::Plain => cell.step_checked(&[], &[], x, h, c, work),
        }
        Ok(())
    }
}

/// The caller's side of [`Stack::run`]: where layer 0 reads its inputs and where the
/// last layer's hidden states go. Its own trait rather than `dyn FnMut` callbacks,
/// whose vtables carry a second (`FnOnce`) copy of each callback's code.
pub(crate) trait StackIo {
    /// Step `t`'s input of layer 0 into `x`.
    fn input(&mut self, t: usize, x: &mut [f32]);
    /// The last layer's new hidden state `h` of `direction` (0 forward, 1 reverse) at
    /// step `t`; `hq` (as long as `h`) is working memory for an i16 copy of it. Returns
    /// the scale if it left `hq` holding `h` rounded as `quantize_i16` rounds it (the
    /// next step then takes it as it is).
    fn output(&mut self, _direction: usize, _t: usize, _h: &[f32], _hq: &mut [i16]) -> Option<f32> {
        None
    }
    /// The last layer's final hidden state `h` of `direction`.
    fn finished(&mut self, _direction: usize, _h: &[f32]) {}
}

/// A stack of LSTM layers; `cells[layer][direction]`, direction 1 = reverse.
#[derive(Debug, Clone, Copy)]
pub struct Stack<'a> {
    pub(super) shape: LstmShape,
    // `[layer][direction]`; layers and directions beyond `shape` are empty.
    pub(super) cells: [[Cell<'a>; 2]; MAX_LAYERS],
}

impl<'a> Stack<'a> {
    /// The shape from the header.
    pub fn shape(&self) -> LstmShape {
        self.shape
    }

    /// Cell of `layer` (from 0) and `direction` (0 forward, 1 reverse). A layer or
    /// direction the shape does not have (`layer < shape().layers`, `direction` 1 only
    /// when bidirectional) is an empty cell (hidden size 0) up to
    /// [`crate::format::MAX_LAYERS`] layers and 2 directions.
    ///
    /// # Panics
    ///
    /// When `layer >= MAX_LAYERS` or `direction > 1`, as indexing out of bounds does.
    pub fn cell(&self, layer: usize, direction: usize) -> &Cell<'a> {
        &self.cells[layer][direction]
    }

    /// Words (of 4 bytes) of the room for [`Stack::run`]'s interleaved copies of int8
    /// `W_hh`, one cell at a time, on x86-64 (whose `sse2` level reads them:
    /// [`arch::Level::pairs_from_l2`]), for H up to 1024; otherwise 0.
    pub(super) fn copy_words(&self) -> usize {
        if !cfg!(postag_x86) {
            return 0;
        }
        let shape = self.shape;
        (0..shape.layers as usize)
            .flat_map(|l| (0..shape.directions()).map(move |d| self.cell(l, d)))
            .map(pairs_words)
            .max()
            .unwrap_or(0)
    }

    /// Words of working memory [`Stack::run`] needs for up to `steps` steps (at least
    /// one) with a first layer `input` wide, projecting inputs `block` steps at a time:
    /// layer outputs for stacked layers, and one [`DirectionScratch`].
    pub(super) fn work_len(shape: &LstmShape, steps: usize, input: usize, block: usize) -> usize {
        let seq = steps * shape.output_dim();
        let seqs = match shape.layers {
            1 => 0,
            2 => seq,
            _ => 2 * seq,
        };
        let block = steps.min(block);
        seqs + DirectionScratch::len(input.max(shape.output_dim()), shape.hidden as usize, block)
    }

    /// Runs every layer over `n` steps. Layer 0 reads step t's input (`input` wide)
    /// through `io.input(t, x)`; the last layer hands each new hidden state to
    /// `io.output(direction, t, h)` and each direction's final hidden state to
    /// `io.finished(direction, h)`. Each layer and direction starts from the state in
    /// `state` (and leaves its final state there), or from zero. Inputs are projected
    /// `block` steps at a time (the results do not depend on it at the scalar level).
    /// `work` holds at least [`Stack::work_len`] words for that block.
    ///
    /// `copies`: room for an interleaved copy of each cell's int8 `W_hh` in turn
    /// ([`Stack::copy_words`]; the same results), or empty.
    ///
    /// `io` is a trait object, so that the word and the char LSTM share one copy of
    /// this code and of the kernels inlined into it (it is called once per step, next
    /// to a step's matrix products).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn run(
        &self,
        n: usize,
        input: usize,
        work: &mut [f32],
        mut state: Option<&mut [f32]>,
        io: &mut dyn StackIo,
        block: usize,
        copies: &mut [f32],
    ) {
        let shape = self.shape;
        let (h, layers) = (shape.hidden as usize, shape.layers as usize);
        let out_dim = shape.output_dim();
        let seq = if layers > 1 { n * out_dim } else { 0 };
        let (seq_a, rest) = work.split_at_mut(seq);
        let (seq_b, rest) = rest.split_at_mut(if layers > 2 { seq } else { 0 });
        let mut scratch = DirectionScratch::new(rest, input.max(out_dim), h, n.min(block).max(1));
        // Layer 0 writes `seq_a`; later layers alternate (two layers need only `seq_a`).
        let (mut prev, mut next) = (seq_b, seq_a);
        for layer in 0..layers {
            let last = layer + 1 == layers;
            for dir in 0..shape.directions() {
                match state.as_deref() {
                    Some(s) => scratch.load_state(s, layer, layers),
                    None => scratch.zero_state(),
                }
                let cell = self.cell(layer, dir);
                let copy = aligned_pairs(copies);
                let copied = cfg!(postag_x86)
                    && !copy.is_empty()
                    && cell.w_hh.storage() == Storage::I8
                    && !cell.w_hh.in_i8_panels()
                    && interleave_pairs(&cell.w_hh.kernel_rows(), copy);
                let w_hh_pairs: &[i16] = if copied { copy } else { &[] };
                let mut layer_io = LayerIo {
                    io: &mut *io,
                    layer,
                    dir,
                    last,
                    prev,
                    next,
                    out_dim,
                    h,
                };
                scratch.run(cell, w_hh_pairs, n, dir == 1, &mut layer_io);
                if last {
                    io.finished(dir, scratch.h);
                }
                if let Some(s) = state.as_deref_mut() {
                    scratch.store_state(s, layer, layers);
                }
            }
            if !last {
                core::mem::swap(&mut prev, &mut next);
            }
        }
    }
}

/// Where one direction of one layer reads its inputs and puts its hidden states:
/// layer 0 reads the caller's inputs, later layers the previous layer's outputs;
/// the last layer hands its states to the caller, earlier ones write them for the
/// next layer.
pub(crate) struct LayerIo<'x> {
    io: &'x mut dyn StackIo,
    layer: usize,
    dir: usize,
    last: bool,
    // (n, out_dim) the previous layer's outputs.
    prev: &'x [f32],
    // (n, out_dim) this layer's outputs, unless it is the last.
    next: &'x mut [f32],
    out_dim: usize,
    h: usize,
}

impl<'x> LayerIo<'x> {
    /// One direction of a one-layer LSTM whose inputs and hidden states are `io`'s.
    pub(crate) fn single(io: &'x mut dyn StackIo, dir: usize, h: usize) -> Self {
        LayerIo {
            io,
            layer: 0,
            dir,
            last: true,
            prev: &[],
            next: &mut [],
            out_dim: h,
            h,
        }
    }

    /// Step `t`'s input into `x`.
    fn input(&mut self, t: usize, x: &mut [f32]) {
        if self.layer == 0 {
            self.io.input(t, x);
        } else {
            x.copy_from_slice(&self.prev[t * self.out_dim..(t + 1) * self.out_dim]);
        }
    }

    /// The new hidden state `h_t` of step `t`; `hq` is working memory as long as it
    /// ([`StackIo::output`]).
    fn output(&mut self, t: usize, h_t: &[f32], hq: &mut [i16]) -> Option<f32> {
        if self.last {
            self.io.output(self.dir, t, h_t, hq)
        } else {
            let at = t * self.out_dim + self.dir * self.h;
            self.next[at..at + self.h].copy_from_slice(h_t);
            None
        }
    }
}

/// Working memory of one LSTM direction: the block of inputs, their projections,
/// and the recurrent state.
pub(crate) struct DirectionScratch<'s> {
    // (B, in) inputs of the current block, row per token.
    x: &'s mut [f32],
    // (B, 4H) gate pre-activations of the current block.
    p: &'s mut [f32],
    // (in,) one weight row decoded to f32.
    row: &'s mut [f32],
    // (H,) the hidden state quantized to i16, for int8 `W_hh`.
    hq: &'s mut [i16],
    // (B, in) the inputs of the block quantized to i16, for int8 `W_ih`.
    xq: &'s mut [i16],
    // (B,) the scale of each row of `xq`.
    x_scales: &'s mut [f32],
    // (H,) hidden state.
    h: &'s mut [f32],
    // (H,) cell state.
    c: &'s mut [f32],
    // Whether `h` and `c` are the zero state (set by `zero_state`, cleared by a step).
    zero_state: bool,
    // The scale of `hq` when it holds `h` rounded to i16 (from `StackIo::output`).
    hq_scale: Option<f32>,
    // Steps whose inputs are projected together.
    block: usize,
}

impl<'s> DirectionScratch<'s> {
    /// Words of f32 it needs for inputs up to `in_max` wide, hidden size `h` and
    /// blocks of up to `block` steps.
    pub(crate) fn len(in_max: usize, h: usize, block: usize) -> usize {
        block * (in_max + 4 * h)
            + in_max
            + 2 * h
            + h.div_ceil(2)
            + (block * in_max).div_ceil(2)
            + block
    }

    /// The working memory for runs of at most `block` steps per block
    /// ([`DirectionScratch::run`] takes blocks of `min(block, steps left)`).
    pub(crate) fn new(work: &'s mut [f32], in_max: usize, h: usize, block: usize) -> Self {
        let (x, rest) = work.split_at_mut(block * in_max);
        let (p, rest) = rest.split_at_mut(block * 4 * h);
        let (row, rest) = rest.split_at_mut(in_max);
        let (hs, rest) = rest.split_at_mut(h);
        let (c, rest) = rest.split_at_mut(h);
        let (hq, rest) = rest.split_at_mut(h.div_ceil(2));
        let hq: &mut [i16] = bytemuck::cast_slice_mut(hq);
        let (xq, rest) = rest.split_at_mut((block * in_max).div_ceil(2));
        let xq: &mut [i16] = bytemuck::cast_slice_mut(xq);
        DirectionScratch {
            x,
            p,
            row,
            h: hs,
            c,
            hq: &mut hq[..h],
            xq: &mut xq[..block * in_max],
            x_scales: &mut rest[..block],
            zero_state: false,
            hq_scale: None,
            block,
        }
    }

    /// The hidden state.
    pub(crate) fn h(&self) -> &[f32] {
        self.h
    }

    pub(crate) fn zero_state(&mut self) {
        self.h.fill(0.0);
        self.c.fill(0.0);
        self.zero_state = true;
        self.hq_scale = None;
    }

    fn load_state(&mut self, state: &[f32], layer: usize, layers: usize) {
        self.zero_state = false;
        self.hq_scale = None;
        let h = self.h.len();
        self.h.copy_from_slice(&state[layer * h..(layer + 1) * h]);
        self.c
            .copy_from_slice(&state[(layers + layer) * h..(layers + layer + 1) * h]);
    }

    fn store_state(&self, state: &mut [f32], layer: usize, layers: usize) {
        let h = self.h.len();
        state[layer * h..(layer + 1) * h].copy_from_slice(self.h);
        state[(layers + layer) * h..(layers + layer + 1) * h].copy_from_slice(self.c);
    }

    /// Runs `cell` over `n` steps from the current state (in reverse order if
    /// `reverse`), reading step t's input through `io.input(t, x)` and handing
    /// each new hidden state to `io.output(t, h)`. `w_hh_pairs`: the interleaved copy
    /// of an int8 `W_hh` ([`crate::arch::interleave_pairs`]; the same results), or empty.
    pub(crate) fn run(
        &mut self,
        cell: &Cell<'_>,
        w_hh_pairs: &[i16],
        n: usize,
        reverse: bool,
        io: &mut LayerIo<'_>,
    ) {
        let in_dim = cell.w_ih.cols();
        let g = cell.w_hh.rows();
        let mut done = 0;
        while done < n {
            let b = self.block.min(n - done);
            let step = |k: usize| {
                if reverse {
                    n - 1 - (done + k)
                } else {
                    done + k
                }
            };
            let xs = &mut self.x[..b * in_dim];
            for (k, x) in xs.chunks_exact_mut(in_dim).enumerate() {
                io.input(step(k), x);
            }
            let ps = &mut self.p[..b * g];
            project(cell, xs, self.xq, self.x_scales, self.row, ps);
            for (k, gates) in ps.chunks_exact_mut(g).enumerate() {
                let (zero, hq_scale) = (take(&mut self.zero_state), take(&mut self.hq_scale));
                let gates = (None, gates);
                let state = (&mut *self.hq, hq_scale);
                recur(cell, w_hh_pairs, self.h, state, self.c, gates, zero);
                self.hq_scale = io.output(step(k), self.h, self.hq);
            }
            done += b;
        }
    }

    /// Projects `n` inputs, `io.input(i, x)` for i in 0..n, into `out (n, 4H)` (`W_ih x +
    /// bias`), blocks of inputs at a time as [`DirectionScratch::run`] does: for int8
    /// weights (and at the scalar level) exactly the values `run` computes for those
    /// inputs wherever they occur; f32 vector kernels round an input's products
    /// differently inside a tile than alone.
    pub(crate) fn project_inputs(
        &mut self,
        cell: &Cell<'_>,
        n: usize,
        io: &mut dyn StackIo,
        out: &mut [f32],
    ) {
        let (in_dim, g) = (cell.w_ih.cols(), cell.w_hh.rows());
        for (i0, ps) in (0..n)
            .step_by(self.block)
            .zip(out.chunks_mut(self.block * g))
        {
            let b = self.block.min(n - i0);
            let xs = &mut self.x[..b * in_dim];
            for (k, x) in xs.chunks_exact_mut(in_dim).enumerate() {
                io.input(i0 + k, x);
            }
            project(cell, xs, self.xq, self.x_scales, self.row, &mut ps[..b * g]);
        }
    }

    /// [`DirectionScratch::run`] with the input projections known: step t's is row
    /// `index[t]` of `table (rows, 4H)`, or, for an `index[t]` past its rows, projected
    /// from `io.input(t, x)`, blocks of such steps at a time. With the table from
    /// [`DirectionScratch::project_inputs`], `run`'s results (as exactly as that says).
    /// `w_hh_pairs`: the interleaved copy of an int8 `W_hh`
    /// ([`crate::arch::interleave_pairs`]; the same results), or empty.
    pub(crate) fn run_projected(
        &mut self,
        cell: &Cell<'_>,
        w_hh_pairs: &[i16],
        reverse: bool,
        table: &[f32],
        index: &[u32],
        io: &mut LayerIo<'_>,
    ) {
        let (in_dim, g) = (cell.w_ih.cols(), cell.w_hh.rows());
        let n = index.len();
        let step = |k: usize| if reverse { n - 1 - k } else { k };
        let cached = |t: usize| (index[t] as usize) < table.len() / g.max(1);
        // Steps without a table row are projected ahead, `queue` at a time (the next
        // ones in step order), into rows `first..` of `p`; row 0 takes a table row.
        let queue = self.block.saturating_sub(1).max(1);
        let first = self.block - queue;
        let (mut queued, mut taken, mut scan) = (0, 0, 0);
        for k in 0..n {
            let t = step(k);
            let (row, base) = if cached(t) {
                let i = index[t] as usize;
                let projection = &table[i * g..(i + 1) * g];
                // The interleaved kernel reads a table row where it is; other paths add
                // `W_hh h` to a copy.
                if cfg!(postag_x86) && !w_hh_pairs.is_empty() {
                    (0, Some(projection))
                } else {
                    self.p[..g].copy_from_slice(projection);
                    (0, None)
                }
            } else {
                if taken == queued {
                    (queued, taken, scan) = (0, 0, scan.max(k));
                    while queued < queue && scan < n {
                        if !cached(step(scan)) {
                            io.input(
                                step(scan),
                                &mut self.x[queued * in_dim..(queued + 1) * in_dim],
                            );
                            queued += 1;
                        }
                        scan += 1;
                    }
                    let ps = &mut self.p[first * g..(first + queued) * g];
                    project(
                        cell,
                        &self.x[..queued * in_dim],
                        self.xq,
                        self.x_scales,
                        self.row,
                        ps,
                    );
                }
                taken += 1;
                (first + taken - 1, None)
            };
            let gates = (base, &mut self.p[row * g..(row + 1) * g]);
            let (zero, hq_scale) = (take(&mut self.zero_state), take(&mut self.hq_scale));
            recur(
                cell,
                w_hh_pairs,
                self.h,
                (self.hq, hq_scale),
                self.c,
                gates,
                zero,
            );
            self.hq_scale = io.output(t, self.h, self.hq);
        }
    }
}

/// `ps (b, 4H) = xs (b, in) @ W_ih^T + bias`; each weight row serves the whole block.
/// Int8 weights multiply i16 copies of the inputs (`xq`, one scale per input in
/// `x_scales`) in integer arithmetic, as `W_hh` does with h in [`recur`]. `row (in,)` is
/// working memory for f32 weights.
pub(super) fn project(
    cell: &Cell<'_>,
    xs: &[f32],
    xq: &mut [i16],
    x_scales: &mut [f32],
    row: &mut [f32],
    ps: &mut [f32],
) {
    let in_dim = cell.w_ih.cols();
    let b = xs.len().checked_div(in_dim).unwrap_or(0);
    let xq = &mut xq[..b * in_dim];
    let x_scales = &mut x_scales[..b];
    let quantized = cell.w_ih.storage() == Storage::I8
        && in_dim > 0
        && xs
            .chunks_exact(in_dim)
            .zip(xq.chunks_exact_mut(in_dim))
            .zip(x_scales.iter_mut())
            .all(|((x, q), s)| quantize_i16(x, q).map(|v| *s = v).is_some())
        && cell
            .w_ih
            .project_block_quantized(xq, x_scales, &cell.bias, ps);
    if !quantized {
        cell.w_ih.project_block(xs, &cell.bias, row, ps);
    }
}

/// One step from its input projection (`base (4H,)` if given, else already in `gates
/// (4H,)`): `gates` gets the projection plus `W_hh h`, then `h` and `c (H,)` are updated
/// in place. Int8 weights multiply an i16 copy of h (`hq`) in integer
/// arithmetic, on their interleaved copy `w_hh_pairs` if given
/// ([`crate::arch::interleave_pairs`]; empty otherwise): h is rounded to within
/// max|h| / 32766, far below the weights' own quantization error. f32 weights (or a
/// non-finite h) take floats. An h of zeros (the first step from a zero state) adds
/// nothing: the product is skipped. (It would add zeros, which change a gate only
/// from -0.0 to 0.0, where the activations give the same cell state and output.)
fn recur(
    cell: &Cell<'_>,
    w_hh_pairs: &[i16],
    h: &mut [f32],
    (hq, hq_scale): (&mut [i16], Option<f32>),
    c: &mut [f32],
    (base, gates): (Option<&[f32]>, &mut [f32]),
    zero_state: bool,
) {
    // The interleaved kernel reads `base` where it is; the other paths add `W_hh h` to
    // a copy (a second copy, after a path that added nothing, changes nothing; the
    // float path after a quantized one is taken only for a non-finite h, whose product
    // makes every gate non-finite anyway). Only x86 has that kernel: elsewhere callers
    // pass no `base` (filtered out, so that those targets compile none of this).
    debug_assert!(base.is_none() || cfg!(postag_x86));
    let base = base.filter(|_| cfg!(postag_x86));
    let settle = |gates: &mut [f32]| {
        if let Some(base) = base {
            gates.copy_from_slice(base);
        }
    };
    let quantized = cell.w_hh.storage() == Storage::I8
        && hq_scale
            .or_else(|| quantize_i16(h, hq))
            .is_some_and(|scale| {
                let on_pairs = scale.to_bits() != 0
                    && !w_hh_pairs.is_empty()
                    && gemv_pairs(w_hh_pairs, &cell.w_hh.kernel_rows(), hq, scale, base, gates);
                on_pairs || {
                    settle(gates);
                    scale.to_bits() == 0 || cell.w_hh.matvec_add_quantized(hq, scale, gates)
                }
            });
    // (f32 weights on bare-metal targets take the product for every h: the test would
    // cost more code there than their rare f32 models gain.)
    if !quantized {
        settle(gates);
        if cfg!(target_os = "none") || h.iter().any(|&v| v != 0.0) {
            cell.w_hh.matvec_add(h, gates);
        }
    }
    lstm_cell_from(gates, c, h, zero_state);
}
