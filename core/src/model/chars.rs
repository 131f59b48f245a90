//! Character features: `c_w`, the char LSTM's final hidden state over a word's
//! characters.

use super::batch::{Lanes, L};
use super::cache::{aligned_pairs, pairs_words, slot, CachedRows, UNCACHED};
use super::lstm::{Cell, DirectionScratch, LayerIo, Stack, StackIo};
use super::PROJECTION_BLOCK;
use crate::arch::interleave_pairs;
use crate::tensor::{Layout, Matrix, Storage, U32s};
use crate::vocab::{find_code, word_chars};
use crate::Error;

/// Character features: embedding, vocabulary and char LSTM.
#[derive(Debug, Clone, Copy)]
pub struct CharNet<'a> {
    /// (rows, Dc) embedding.
    pub embedding: Matrix<'a>,
    /// (n,) the vocabulary's code points, strictly increasing.
    pub(super) codes: U32s<'a>,
    /// (n,) embedding row of each code point.
    pub(super) rows: U32s<'a>,
    /// The unknown-char row, if any.
    pub(super) unknown: Option<u32>,
    /// Longest word read whole (see [`word_chars`]).
    pub(super) max_word_chars: usize,
    /// The char LSTM.
    pub lstm: Stack<'a>,
}

impl CharNet<'_> {
    /// Embedding row of `c`, or the unknown-char row.
    pub fn row(&self, c: char) -> Option<u32> {
        find_code(self.codes, c as u32)
            .map(|i| self.rows.get(i))
            .or(self.unknown)
    }

    /// Number of characters in the vocabulary.
    pub fn vocab_len(&self) -> usize {
        self.codes.len()
    }

    /// The vocabulary as (character, embedding row) pairs, by code point.
    pub fn vocab(&self) -> impl Iterator<Item = (char, u32)> + '_ {
        self.codes
            .iter()
            .zip(self.rows.iter())
            .map(|(c, r)| (char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER), r))
    }
}

impl CharNet<'_> {
    /// Computes `c_w` of `word` into `out` (width of the last layer's output), the char
    /// LSTM projecting `block` chars' inputs at a time.
    pub(super) fn features(
        &self,
        word: &str,
        work: &mut [u32],
        out: &mut [f32],
        block: usize,
    ) -> Result<(), Error> {
        let hc = self.lstm.shape.hidden as usize;
        let (ids, rest) = work.split_at_mut(self.max_word_chars);
        let mut m = 0;
        for c in word_chars(word, self.max_word_chars) {
            ids[m] = self.row(c).ok_or(Error::UnknownChar)?;
            m += 1;
        }
        out.fill(0.0);
        if m == 0 {
            return Ok(());
        }
        /// Inputs: the chars' embedding rows; output: the final hidden states.
        struct Io<'x, 'a> {
            embedding: &'x Matrix<'a>,
            ids: &'x [u32],
            out: &'x mut [f32],
            hc: usize,
        }
        impl StackIo for Io<'_, '_> {
            fn input(&mut self, t: usize, x: &mut [f32]) {
                self.embedding.row_into(self.ids[t] as usize, x);
            }
            fn finished(&mut self, dir: usize, h: &[f32]) {
                self.out[dir * self.hc..(dir + 1) * self.hc].copy_from_slice(h);
            }
        }
        let mut io = Io {
            embedding: &self.embedding,
            ids: &ids[..m],
            out,
            hc,
        };
        let work = bytemuck::cast_slice_mut(rest);
        self.lstm.run(
            m,
            self.embedding.cols(),
            work,
            None,
            &mut io,
            block,
            &mut [],
        );
        Ok(())
    }
}

impl CharNet<'_> {
    /// Whether the char features can run eight words side by side
    /// ([`CharNet::features_lanes`]): a one-layer char LSTM with f32 weights, in builds
    /// for processors with vector kernels (x86-64, AArch64). They do at every level but
    /// the scalar one ([`CharNet::runs_in_lanes_now`]), which stays the portable path,
    /// the same arithmetic as on Cortex-M, where every char net runs one word at a time
    /// ([`CharNet::features`]).
    pub(super) fn runs_in_lanes(&self) -> bool {
        let shape = self.lstm.shape;
        crate::arch::HAS_VECTOR_LEVELS
            && shape.layers == 1
            && (0..shape.directions()).all(|d| {
                let cell = self.lstm.cell(0, d);
                cell.w_ih.storage() == Storage::F32 && cell.w_hh.storage() == Storage::F32
            })
    }

    /// Whether this call runs the char features side by side: [`CharNet::runs_in_lanes`]
    /// and a kernel level other than scalar.
    pub(super) fn runs_in_lanes_now(&self) -> bool {
        self.runs_in_lanes() && crate::arch::level() != crate::arch::Level::Scalar
    }

    /// Words of one word's entry in the char-id table: its length, then up to
    /// `max_word_chars` embedding rows.
    pub(super) fn ids_len(&self) -> usize {
        1 + self.max_word_chars
    }

    /// Words [`CharNet::features_lanes`] takes of its working memory besides the
    /// char-id table: a decoded embedding row, and eight lanes of inputs, gates and state.
    pub(super) fn lanes_state_len(&self) -> usize {
        let (dc, hc) = (self.embedding.cols(), self.lstm.shape.hidden as usize);
        dc + L * (dc + 6 * hc)
    }

    /// How many words' char-id tables fit in `words` of working memory beside the
    /// lanes' state: the most [`CharNet::features_lanes`] runs in one call there.
    pub(super) fn lanes_capacity(&self, words: usize) -> usize {
        words.saturating_sub(self.lanes_state_len()) / self.ids_len()
    }

    /// Writes `word`'s entry of the char-id table into `ids` ([`CharNet::ids_len`]
    /// words): its length, then the embedding row of each char it reads.
    pub(super) fn char_ids(&self, word: &str, ids: &mut [u32]) -> Result<(), Error> {
        let (count, rows) = ids.split_first_mut().ok_or(Error::ScratchTooSmall)?;
        let mut m = 0;
        for (c, slot) in word_chars(word, self.max_word_chars).zip(rows.iter_mut()) {
            *slot = self.row(c).ok_or(Error::UnknownChar)?;
            m += 1;
        }
        *count = m as u32;
        Ok(())
    }

    /// Words of room for [`CharNet::features_lanes`]' cache of up to `CACHED_CHARS`
    /// distinct chars ([`CharNet::lanes_cache`]): for a char vocabulary of R rows and
    /// hidden size Hc, `R + S + S * 4Hc` with S = min(R, 128) slots. `None` where the
    /// char net does not run side by side ([`CharNet::runs_in_lanes`]) and in firmware
    /// builds.
    pub(super) fn lanes_cache_words(&self) -> Option<usize> {
        if cfg!(target_os = "none") || !self.runs_in_lanes() {
            return None;
        }
        let (rows, slots) = (self.embedding.rows(), self.cache_len().0);
        Some(rows + slots + slots * 4 * self.lstm.shape.hidden as usize)
    }

    /// The distinct chars of the `n` words of the id table `ids`, for
    /// [`CharNet::features_lanes`], if `spare` holds them and their projections: their
    /// embedding rows in order of first occurrence (the slots), then room for one
    /// direction's projections (slots, 4H). Each id in `ids` becomes its char's slot.
    /// `None`, changing nothing, without the room.
    fn lanes_cache<'s>(
        &self,
        n: usize,
        ids: &mut [u32],
        spare: &'s mut [u32],
    ) -> Option<(&'s [u32], &'s mut [f32])> {
        let stride = self.ids_len();
        let rows = self.embedding.rows();
        let g = 4 * self.lstm.shape.hidden as usize;
        // Each embedding row's slot (`u32::MAX`: none yet), then the slots' rows.
        let (slot_of, rest) = spare.split_at_mut_checked(rows)?;
        slot_of.fill(u32::MAX);
        let mut distinct = 0usize;
        for w in 0..n {
            let m = ids[w * stride] as usize;
            for &r in &ids[w * stride + 1..][..m] {
                let s = &mut slot_of[r as usize];
                if *s == u32::MAX {
                    *s = distinct as u32;
                    distinct += 1;
                }
            }
        }
        let (slots, rest) = rest.split_at_mut_checked(distinct)?;
        let projections = rest.get_mut(..distinct.checked_mul(g)?)?;
        for (r, &s) in slot_of.iter().enumerate() {
            if s != u32::MAX {
                slots[s as usize] = r as u32;
            }
        }
        for w in 0..n {
            let m = ids[w * stride] as usize;
            for id in &mut ids[w * stride + 1..][..m] {
                *id = slot_of[*id as usize];
            }
        }
        Some((slots, bytemuck::cast_slice_mut(projections)))
    }

    /// Whether [`CharNet::features_lanes`] keeps each lane's inputs, gates and state in
    /// a row of its own (`(8, 4H)` gates: the GEMMs of tagging's block projection and of
    /// bulk tagging's recurrence, [`Matrix::project_block`] and [`Matrix::gemm_add`]),
    /// as it does where every char LSTM matrix is in panels; otherwise the eight lanes
    /// are the columns (`(4H, 8)` gates: [`Matrix::gemm_lanes_add`]).
    pub(super) fn lanes_by_row(&self) -> bool {
        (0..self.lstm.shape.directions()).all(|d| {
            let cell = self.lstm.cell(0, d);
            cell.w_ih.layout() == Layout::Panels && cell.w_hh.layout() == Layout::Panels
        })
    }

    /// The char features of `n` words whose char-id table ([`CharNet::char_ids`]) fills
    /// the start of `work`, into `out` (n, F): [`CharNet::features`] for each word,
    /// eight words side by side, each in a lane of the batched kernels so that every
    /// weight load and activation pass serves eight words. A lane takes the next word
    /// as soon as its word ends, the longest words first; once none is left, the last
    /// busy lane moves into the freed one ([`Lanes::close_gaps`]). A word's features do
    /// not depend on the words beside it: lanes never mix.
    ///
    /// With the char LSTM in panels ([`CharNet::lanes_by_row`]) the products are
    /// [`CharNet::features`]'s (the block projection, and `W_hh h` summed as
    /// [`Matrix::matvec_add`] sums it): the same bits. In rows the eight lanes share
    /// each weight load ([`Matrix::gemm_lanes_add`]), which sums in another order.
    ///
    /// Where `room` holds them ([`CharNet::lanes_cache_words`] for up to that many
    /// distinct chars), each distinct char's input projection `W_ih x + b` is computed
    /// once per direction, eight chars side by side by the same kernel (so the same bits
    /// as at each occurrence), and its occurrences start from it. The id table is
    /// overwritten; `work` past the lanes' state is not used.
    pub(super) fn features_lanes(
        &self,
        n: usize,
        work: &mut [u32],
        room: &mut [u32],
        out: &mut [f32],
    ) {
        let shape = self.lstm.shape;
        let (dc, hc) = (self.embedding.cols(), shape.hidden as usize);
        let g = 4 * hc;
        let feat = shape.output_dim();
        let stride = self.ids_len();
        let (ids, rest) = work.split_at_mut(n * stride);
        let rest: &mut [f32] = bytemuck::cast_slice_mut(&mut rest[..self.lanes_state_len()]);
        let (row, rest) = rest.split_at_mut(dc);
        let (xt, rest) = rest.split_at_mut(L * dc);
        let (gates, rest) = rest.split_at_mut(L * g);
        let (h, rest) = rest.split_at_mut(L * hc);
        let c = &mut rest[..L * hc];
        let lanes_at = Lanes {
            by_row: self.lanes_by_row(),
        };
        // `gates = W_ih x + bias` for the eight lanes' inputs in `xt`.
        let project = |cell: &Cell<'_>, xt: &[f32], row: &mut [f32], gates: &mut [f32]| {
            if lanes_at.by_row {
                cell.w_ih.project_block(xt, &cell.bias, row, gates);
            } else {
                for (r, g) in gates.chunks_exact_mut(L).enumerate() {
                    g.fill(cell.bias.get(r));
                }
                cell.w_ih.gemm_lanes_add(xt, gates);
            }
        };
        let mut cache = self.lanes_cache(n, ids, room);
        let len = |w: usize| ids[w * stride] as usize;
        out[..n * feat].fill(0.0);
        for dir in 0..shape.directions() {
            let cell = self.lstm.cell(0, dir);
            if let Some((slots, projections)) = cache.as_mut() {
                // The distinct chars' projections, eight at a time in the lanes.
                for (k, chunk) in slots.chunks(L).enumerate() {
                    if lanes_at.by_row {
                        // Each lane's input and gates are rows: the chars' embedding
                        // rows go straight into `xt`, their projections into the cache.
                        let n = chunk.len();
                        for (&r, x) in chunk.iter().zip(xt.chunks_exact_mut(dc)) {
                            self.embedding.row_into(r as usize, x);
                        }
                        project(
                            cell,
                            &xt[..n * dc],
                            row,
                            &mut projections[k * L * g..][..n * g],
                        );
                        continue;
                    }
                    for (lane, &r) in chunk.iter().enumerate() {
                        self.embedding.row_into(r as usize, row);
                        lanes_at.put(xt, lane, dc, Some(row));
                    }
                    project(cell, xt, row, gates);
                    for lane in 0..chunk.len() {
                        let p = &mut projections[(k * L + lane) * g..][..g];
                        lanes_at.get(gates, lane, p);
                    }
                }
            }
            // Each lane's word and how many of its chars it has read.
            let mut lanes: [Option<(usize, usize)>; L] = [None; L];
            // Longest words first: the lanes then run out of work together, where words
            // in sentence order leave lanes idle behind a late long word.
            let longest = (0..n).map(len).max().unwrap_or(0);
            let mut queue = (1..=longest)
                .rev()
                .flat_map(|m| (0..n).filter(move |&w| len(w) == m));
            // The embedding row (or slot, see `lanes_cache`) of the char a lane reads.
            let char_of = |(w, s): (usize, usize)| {
                let m = len(w);
                ids[w * stride + 1 + if dir == 1 { m - 1 - s } else { s }] as usize
            };
            loop {
                for (lane, slot) in lanes.iter_mut().enumerate() {
                    if slot.is_none() {
                        *slot = queue.next().map(|w| (w, 0));
                        // By row an idle lane is not computed (`close_gaps` moves the
                        // busy ones first); by column it runs from zeros.
                        if slot.is_some() || !lanes_at.by_row {
                            lanes_at.put(h, lane, hc, None);
                            lanes_at.put(c, lane, hc, None);
                        }
                    }
                }
                lanes_at.close_gaps(&mut lanes, hc, (h, c));
                if lanes.iter().all(Option::is_none) {
                    break;
                }
                // Each lane's gates start from its char's projection: in the cache, or
                // projected here into `gates`.
                let starts = match cache.as_ref() {
                    Some((_, projections)) => {
                        Some(lanes.map(|slot| slot.map(|s| &projections[char_of(s) * g..][..g])))
                    }
                    None => {
                        for (lane, slot) in lanes.iter().enumerate() {
                            if let Some(s) = *slot {
                                self.embedding.row_into(char_of(s), row);
                            }
                            lanes_at.put(xt, lane, dc, slot.map(|_| &row[..]));
                        }
                        project(cell, xt, row, gates);
                        None
                    }
                };
                lanes_at.step(
                    &cell.w_hh,
                    lanes.map(|s| s.is_some()),
                    starts,
                    gates,
                    c,
                    h,
                    (&mut [], &[]),
                );
                for (lane, slot) in lanes.iter_mut().enumerate() {
                    if let Some((w, s)) = slot {
                        *s += 1;
                        if *s == len(*w) {
                            lanes_at.get(h, lane, &mut out[*w * feat + dir * hc..][..hc]);
                            *slot = None;
                        }
                    }
                }
            }
        }
    }
}

/// Distinct characters (embedding rows) a call's char projection cache holds; the
/// others are projected at each occurrence. (Fewer in unit tests, whose vocabularies
/// are small, so that they reach the characters without a slot.)
pub(super) const CACHED_CHARS: usize = if cfg!(test) { 16 } else { 128 };

/// The char projection cache of one tagging call ([`CharNet::features_cached`]): each
/// distinct character's input projection per direction, computed at its first
/// occurrence in the sentence, and each direction's `W_hh` interleaved for
/// [`crate::arch::gemv_pairs`] where the level has that kernel.
pub(super) struct CharCache<'w> {
    // Open-addressing hash table of the slots, the embedding row of each slot, slots used.
    table: &'w mut [u32],
    rows: &'w mut [u32],
    used: usize,
    // (max_word_chars,) each char of the current word: its slot, or `UNCACHED | row`.
    index: &'w mut [u32],
    // Per direction: (slots, 4H) projections; the interleaved `W_hh` (or empty).
    projections: [&'w mut [f32]; 2],
    pairs: [&'w mut [i16]; 2],
}

impl CharNet<'_> {
    /// (slots, hash table entries) of the char projection cache.
    fn cache_len(&self) -> (usize, usize) {
        let slots = self.embedding.rows().min(CACHED_CHARS);
        (slots, (2 * slots).next_power_of_two())
    }

    /// Words of scratch [`CharNet::cache`] takes, or `None` where the char net runs
    /// without a cache: an f32 or multi-layer char LSTM (whose cached projections
    /// would differ from those it computes in blocks, or serve one layer only), and
    /// firmware builds (Cortex-M: the code and RAM go to the low-memory schedule).
    pub(super) fn cache_words(&self) -> Option<usize> {
        let shape = self.lstm.shape;
        let cells = (0..shape.directions()).map(|d| self.lstm.cell(0, d));
        let int8 = cells
            .clone()
            .all(|c| c.w_ih.storage() == Storage::I8 && c.w_hh.storage() == Storage::I8);
        if cfg!(target_os = "none") || shape.layers != 1 || !int8 {
            return None;
        }
        let (slots, table) = self.cache_len();
        let g = 4 * shape.hidden as usize;
        let per_direction = slots * g + pairs_words(self.lstm.cell(0, 0));
        Some(table + slots + self.max_word_chars + shape.directions() * per_direction)
    }

    /// The cache in `words` ([`CharNet::cache_words`] of them), empty; with the
    /// interleaved `W_hh` copies if `pairs` (and the level has their kernel).
    pub(super) fn cache<'w>(&self, words: &'w mut [u32], pairs: bool) -> CharCache<'w> {
        let shape = self.lstm.shape;
        let (slots, table_len) = self.cache_len();
        let g = 4 * shape.hidden as usize;
        let (table, rest) = words.split_at_mut(table_len);
        let (rows, rest) = rest.split_at_mut(slots);
        let (index, rest) = rest.split_at_mut(self.max_word_chars);
        let mut rest: &mut [f32] = bytemuck::cast_slice_mut(rest);
        table.fill(0);
        let mut projections: [&mut [f32]; 2] = [&mut [], &mut []];
        let mut copies: [&mut [i16]; 2] = [&mut [], &mut []];
        for d in 0..shape.directions() {
            let cell = self.lstm.cell(0, d);
            let (p, r) = core::mem::take(&mut rest).split_at_mut(slots * g);
            let (q, r) = r.split_at_mut(pairs_words(cell));
            rest = r;
            projections[d] = p;
            let q = aligned_pairs(q);
            if pairs && interleave_pairs(&cell.w_hh.kernel_rows(), q) {
                copies[d] = q;
            }
        }
        CharCache {
            table,
            rows,
            used: 0,
            index,
            projections,
            pairs: copies,
        }
    }

    /// [`CharNet::features`] with the sentence's char projection cache: a character
    /// new to the cache is projected once per direction (with the others new in the
    /// word, a block at a time), the recurrent product reads the interleaved `W_hh`
    /// where the cache has it. Int8 weights only ([`CharNet::cache_words`]): the same
    /// features, bit for bit.
    pub(super) fn features_cached(
        &self,
        word: &str,
        cache: &mut CharCache<'_>,
        work: &mut [u32],
        out: &mut [f32],
    ) -> Result<(), Error> {
        let hc = self.lstm.shape.hidden as usize;
        let g = 4 * hc;
        let before = cache.used;
        let mut m = 0;
        for (c, index) in word_chars(word, self.max_word_chars).zip(cache.index.iter_mut()) {
            let row = self.row(c).ok_or(Error::UnknownChar)?;
            *index = slot(cache.table, cache.rows, &mut cache.used, row).unwrap_or(UNCACHED | row);
            m += 1;
        }
        out.fill(0.0);
        if m == 0 {
            return Ok(());
        }
        /// Inputs of the chars without a slot: their embedding rows.
        struct Uncached<'x, 'a> {
            embedding: &'x Matrix<'a>,
            index: &'x [u32],
        }
        impl StackIo for Uncached<'_, '_> {
            fn input(&mut self, t: usize, x: &mut [f32]) {
                self.embedding
                    .row_into((self.index[t] & !UNCACHED) as usize, x);
            }
        }
        let used = cache.used;
        let index = &cache.index[..m];
        let work = bytemuck::cast_slice_mut(work);
        let block = PROJECTION_BLOCK.min(self.max_word_chars).max(1);
        let mut dir = DirectionScratch::new(work, self.embedding.cols(), hc, block);
        for d in 0..self.lstm.shape.directions() {
            let cell = self.lstm.cell(0, d);
            let mut new = CachedRows {
                embedding: &self.embedding,
                rows: &cache.rows[before..used],
            };
            let projections = &mut *cache.projections[d];
            dir.project_inputs(
                cell,
                used - before,
                &mut new,
                &mut projections[before * g..used * g],
            );
            dir.zero_state();
            let mut io = Uncached {
                embedding: &self.embedding,
                index,
            };
            dir.run_projected(
                cell,
                cache.pairs[d],
                d == 1,
                &projections[..used * g],
                index,
                &mut LayerIo::single(&mut io, d, hc),
            );
            out[d * hc..(d + 1) * hc].copy_from_slice(dir.h());
        }
        Ok(())
    }
}
