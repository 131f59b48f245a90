//! Several sentences per call ([`Model::tag_batch`]): the word LSTM runs eight
//! sentences side by side, so each recurrent weight load serves eight of them. The
//! lanes' layout and step ([`Lanes`]) serve the char net's eight words side by side too.

use super::cache::{aligned_pairs, matrix_pairs_words};
use super::lstm::project;
use super::scratch::aligned_words;
use super::{Model, MAX_TOKENS, PROJECTION_BLOCK};
use crate::arch::{
    gemm_pairs, has_gemm_pairs, interleave_pairs, lstm_cell, lstm_cell_rows, quantize_i16,
};
use crate::kernels::{argmax, log_softmax, BATCH_LANES};
use crate::tensor::{Layout, Matrix, Storage};
use crate::Error;

/// Inputs side by side through one LSTM direction's recurrence ([`Lanes`]): bulk
/// tagging's sentences, and the char net's words ([`super::chars::CharNet`]).
pub(super) const L: usize = BATCH_LANES;

/// Most tokens, summed over the sentences, accepted in one [`Model::tag_batch`] call
/// (and most sentences).
pub const MAX_BATCH_TOKENS: usize = 1 << 20;

/// How many sentences from the start of `sentences`, at most `most`, one
/// [`Model::tag_batch`] call takes whole: those of at most [`MAX_TOKENS`] tokens (a
/// longer one is tagged alone, in windows: [`sentence_windows`]). For callers that tag a
/// list in runs.
///
/// [`sentence_windows`]: crate::sentence_windows
pub fn batch_run<S: AsRef<[W]>, W>(sentences: &[S], most: usize) -> usize {
    sentences
        .iter()
        .take(most)
        .take_while(|s| s.as_ref().len() <= MAX_TOKENS)
        .count()
}

/// Most worker threads worth starting to tag `sentences` (at least 1): one per
/// `batch` sentences or per [`TOKENS_PER_WORKER`] tokens, whichever allows more, and
/// not more than the sentences. A caller that splits a list into contiguous shares
/// caps the threads it was asked for with it: beyond, threads cost more to start than
/// their share of the work.
pub fn worker_limit<S: AsRef<[W]>, W>(sentences: &[S], batch: usize) -> usize {
    let tokens: usize = sentences.iter().map(|s| s.as_ref().len()).sum();
    let by_sentences = sentences.len().div_ceil(batch.max(1));
    let by_tokens = tokens.div_ceil(TOKENS_PER_WORKER);
    by_sentences.max(by_tokens).min(sentences.len()).max(1)
}

/// Tokens a worker thread is worth in [`worker_limit`] (a thread starts in tens of
/// microseconds; a token takes about as long to tag).
pub const TOKENS_PER_WORKER: usize = 1024;

/// The passes of [`Model::tag_batch_iter`] over its sentences after the first: at
/// most the first pass's number of sentences (`count`), each cut to what that pass saw
/// (`left` tokens in all, none longer than `longest`), so that a pass that yields
/// other sentences stays within the buffers the first pass sized and ends; `changed`
/// is set when a pass's sentence lengths are not the first pass's (`lengths`, a hash
/// of them in order).
#[derive(Clone)]
struct SamePass<'c, I> {
    inner: I,
    count: usize,
    left: usize,
    longest: usize,
    hash: u64,
    lengths: u64,
    changed: &'c core::cell::Cell<bool>,
}

/// An iterator that, dropped, reads the rest of `inner` if it is the `primary` one
/// (not a clone): the lookups stop after the tokens they need, and a [`SamePass`] only
/// compares a pass's sentence lengths with the first pass's at its end.
struct ToTheEnd<I: Iterator> {
    inner: I,
    primary: bool,
}

impl<I: Iterator + Clone> Clone for ToTheEnd<I> {
    fn clone(&self) -> Self {
        ToTheEnd {
            inner: self.inner.clone(),
            primary: false,
        }
    }
}

impl<I: Iterator> Iterator for ToTheEnd<I> {
    type Item = I::Item;

    fn next(&mut self) -> Option<I::Item> {
        self.inner.next()
    }
}

impl<I: Iterator> Drop for ToTheEnd<I> {
    fn drop(&mut self) {
        if self.primary {
            for _ in &mut self.inner {}
        }
    }
}

/// The hash of sentence lengths in order, one length at a time (FNV-1a's step).
fn hash_length(hash: u64, len: usize) -> u64 {
    (hash ^ len as u64).wrapping_mul(0x0000_0100_0000_01b3)
}

/// [`hash_length`] of no lengths.
const NO_LENGTHS: u64 = 0xcbf2_9ce4_8422_2325;

impl<'s, T: 's, I: Iterator<Item = &'s [T]>> Iterator for SamePass<'_, I> {
    type Item = &'s [T];

    fn next(&mut self) -> Option<&'s [T]> {
        let next = if self.count == 0 {
            None
        } else {
            self.inner.next()
        };
        let Some(s) = next else {
            let more = self.count == 0 && self.inner.next().is_some();
            if more || self.count != 0 || self.left != 0 || self.hash != self.lengths {
                self.changed.set(true);
            }
            return None;
        };
        let n = s.len().min(self.longest).min(self.left);
        if n != s.len() {
            self.changed.set(true);
        }
        self.count -= 1;
        self.left -= n;
        self.hash = hash_length(self.hash, s.len());
        Some(&s[..n])
    }
}

/// Sizes, in 4-byte words, of the scratch regions of one batch call.
struct BatchLayout {
    rows: usize,
    feats: usize,
    logits: usize,
    viterbi: usize,
    total: usize,
}

impl Model<'_> {
    fn batch_layout(&self, tokens: usize, longest: usize) -> Option<BatchLayout> {
        if tokens > MAX_BATCH_TOKENS || longest > MAX_TOKENS.min(tokens) {
            return None;
        }
        let cfg = &self.config;
        let t = cfg.tags as usize;
        let (h, out_dim) = (cfg.lstm.hidden as usize, cfg.lstm.output_dim());
        let feat_dim = cfg.chars.map_or(0, |c| c.feature_dim());
        let viterbi = if cfg.crf && longest > 0 {
            2 * t + (longest * t).div_ceil(2)
        } else {
            0
        };
        // The char net's working memory, after its projection cache (int8 only).
        let char_work = match &self.chars {
            Some(_) => cfg.chars.map_or(0, |c| {
                let m = c.max_word_chars as usize;
                m + super::lstm::Stack::work_len(&c.lstm, m, c.dim as usize, PROJECTION_BLOCK)
                    + self.call_cache_words()
            }),
            None => 0,
        };
        let input = cfg.word_input_dim().max(out_dim);
        let seq = if cfg.lstm.layers > 1 { out_dim } else { 0 };
        // Layer input and output per token, one direction's input projection per
        // token, a decoded row, eight lanes of gates and state, one projection block
        // (inputs and outputs), one hidden state; for int8 weights the i16 copies of
        // the block's inputs, the lanes' and one hidden state, and the block's scales.
        let word_work = tokens * (input + seq + 4 * h)
            + input
            + L * 6 * h
            + PROJECTION_BLOCK * (input + 4 * h)
            + h
            + quantized_words(input, h)
            + PROJECTION_BLOCK
            + self.word_pairs_words();
        let total = tokens * (1 + feat_dim + t) + viterbi + char_work.max(word_work);
        Some(BatchLayout {
            rows: tokens,
            feats: tokens * feat_dim,
            logits: tokens * t,
            viterbi,
            total: if tokens == 0 { 0 } else { total },
        })
    }

    /// Scratch bytes [`Model::tag_batch`] needs for sentences of `tokens` tokens in
    /// all, the longest `longest` tokens long; `None` when `longest` exceeds
    /// [`MAX_TOKENS`] or `tokens`, is 0 while `tokens` is not (sentences with tokens
    /// have a longest of at least 1), or `tokens` exceeds [`MAX_BATCH_TOKENS`]. It
    /// includes the char projection cache of an int8 char net
    /// ([`Model::char_cache_bytes`] of such a net), which serves the whole call, and for int8 word
    /// LSTM weights room for an interleaved copy of one matrix at a time.
    pub fn batch_scratch_bytes(&self, tokens: usize, longest: usize) -> Option<usize> {
        if longest == 0 && tokens > 0 {
            return None;
        }
        let layout = self.batch_layout(tokens, longest)?;
        Some(if layout.total == 0 {
            0
        } else {
            layout.total * 4 + 3
        })
    }

    /// Tags several sentences in one call: the tags of sentence `i` go to
    /// `tags[o_i..o_i + n_i]` (and its log-probabilities, if `scores` is given, to
    /// `scores[o_i * T..(o_i + n_i) * T]`), where `o_i` is the number of tokens of the
    /// sentences before it. `scratch` holds [`Model::batch_scratch_bytes`] for the
    /// total and the longest sentence.
    ///
    /// The word LSTM runs eight sentences side by side (a lane takes the next sentence
    /// when its own ends, the longest of each 64 first). Each sentence gets the tags
    /// and scores [`Model::tag`] gives it: bit for bit, except where an LSTM's f32
    /// weights are in rows: there the scores may differ in the last bits, from the
    /// order of the recurrent product's sums (f32 weights in panels compute `tag`'s
    /// sums, the char net's eight words side by side too; int8 weights sum exactly in
    /// integers). A sentence's result does not depend on the sentences beside it.
    /// Errors are those of [`Model::tag`], in its order (over the whole batch: an empty
    /// token anywhere before the scratch's size, then the first token error in sentence
    /// order), and nothing is written then.
    pub fn tag_batch<S, T>(
        &self,
        sentences: &[S],
        scratch: &mut [u8],
        tags: &mut [u16],
        scores: Option<&mut [f32]>,
    ) -> Result<(), Error>
    where
        S: AsRef<[T]>,
        T: AsRef<[u8]>,
    {
        self.tag_batch_iter(sentences.iter().map(AsRef::as_ref), scratch, tags, scores)
    }

    /// [`Model::tag_batch`] for sentences given by an iterator, for callers that hold
    /// the tokens in another shape, such as one array of all tokens and the sentences'
    /// lengths. The call reads the iterator several times (through clones), and each
    /// clone must yield the same sentences. Whatever they yield, the call stays within
    /// its buffers and ends (at most [`MAX_BATCH_TOKENS`] sentences and tokens); each
    /// pass that reads every sentence compares their lengths with the first pass's
    /// (through a hash), and a difference makes the call return
    /// [`Error::SentencesChanged`], writing nothing, unless an error of its input came
    /// first. Other changes (of tokens, or in the passes that stop early) give
    /// unspecified tags.
    pub fn tag_batch_iter<'s, T, I>(
        &self,
        sentences: I,
        scratch: &mut [u8],
        tags: &mut [u16],
        scores: Option<&mut [f32]>,
    ) -> Result<(), Error>
    where
        T: AsRef<[u8]> + 's,
        I: Iterator<Item = &'s [T]> + Clone,
    {
        let (mut count, mut total, mut longest) = (0usize, 0usize, 0usize);
        let mut lengths = NO_LENGTHS;
        for s in sentences.clone() {
            let n = s.len();
            count += 1;
            total = total.saturating_add(n);
            // Checked as the sentences come: an endless iterator ends here.
            if n > MAX_TOKENS || total > MAX_BATCH_TOKENS || count > MAX_BATCH_TOKENS {
                return Err(Error::TooManyTokens);
            }
            longest = longest.max(n);
            lengths = hash_length(lengths, n);
        }
        let changed = core::cell::Cell::new(false);
        let again = SamePass {
            inner: sentences,
            count,
            left: total,
            longest,
            hash: NO_LENGTHS,
            lengths,
            changed: &changed,
        };
        self.tag_batch_checked(again, scratch, tags, scores)
    }

    /// [`Model::tag_batch_iter`] after its first pass, whose token count and longest
    /// sentence `sentences` carries; its `changed`, set when a later pass saw other
    /// sentences, is checked before their results are used.
    fn tag_batch_checked<'s, T, I>(
        &self,
        sentences: SamePass<'_, I>,
        scratch: &mut [u8],
        tags: &mut [u16],
        scores: Option<&mut [f32]>,
    ) -> Result<(), Error>
    where
        T: AsRef<[u8]> + 's,
        I: Iterator<Item = &'s [T]> + Clone,
    {
        let (total, longest, changed) = (sentences.left, sentences.longest, sentences.changed);
        let num_tags = self.num_tags();
        if tags.len() < total || scores.as_ref().is_some_and(|s| s.len() < total * num_tags) {
            return Err(Error::OutputTooSmall);
        }
        if sentences
            .clone()
            .any(|s| s.iter().any(|t| t.as_ref().is_empty()))
        {
            return Err(Error::EmptyToken);
        }
        if total == 0 {
            // Empty sentences only (or none): nothing to tag, whatever the scratch.
            return if changed.get() {
                Err(Error::SentencesChanged)
            } else {
                Ok(())
            };
        }
        let layout = self
            .batch_layout(total, longest)
            .ok_or(Error::TooManyTokens)?;
        let words = aligned_words(scratch, layout.total).ok_or(Error::ScratchTooSmall)?;
        let (rows, rest) = words.split_at_mut(layout.rows);
        let (feats, rest) = rest.split_at_mut(layout.feats);
        let (logits, rest) = rest.split_at_mut(layout.logits);
        let (viterbi, work) = rest.split_at_mut(layout.viterbi);
        let feats: &mut [f32] = bytemuck::cast_slice_mut(feats);
        let logits: &mut [f32] = bytemuck::cast_slice_mut(logits);

        // Phase 1: every lookup and the char features of every word of every
        // sentence; all input errors surface here.
        let all = ToTheEnd {
            inner: sentences.clone().flatten(),
            primary: true,
        };
        // An int8 char net keeps one projection cache for the whole call (the same
        // features: `CharNet::features_cached`).
        let (cache_words, char_work) = work.split_at_mut(self.call_cache_words());
        let mut cache = self
            .chars
            .as_ref()
            .filter(|_| !cache_words.is_empty())
            .map(|chars| chars.cache(cache_words, true));
        self.lookups(
            all,
            total,
            rows,
            feats,
            char_work,
            PROJECTION_BLOCK,
            cache.as_mut(),
            &mut [],
        )?;
        if changed.get() {
            return Err(Error::SentencesChanged);
        }

        // Phase 2: the word LSTM, sentences side by side.
        self.word_lstm_lanes(
            sentences.clone().map(<[T]>::len),
            total,
            rows,
            feats,
            bytemuck::cast_slice_mut(work),
            logits,
        );

        // Phase 3: log_softmax, then each sentence decoded into the room the embedding
        // rows took (no longer needed), so that `tags` is written only on success.
        for row in logits.chunks_exact_mut(num_tags) {
            log_softmax(row);
        }
        if changed.get() {
            return Err(Error::SentencesChanged);
        }
        if logits.iter().any(|v| v.is_nan()) {
            return Err(Error::NonFiniteScore);
        }
        let staged: &mut [u16] = &mut bytemuck::cast_slice_mut(rows)[..total];
        let mut offset = 0;
        for s in sentences {
            let n = s.len();
            let e = &logits[offset * num_tags..(offset + n) * num_tags];
            let out = &mut staged[offset..offset + n];
            match &self.crf {
                Some(crf) if n > 0 => crf.viterbi(e, n, viterbi, out)?,
                _ => {
                    for (tag, row) in out.iter_mut().zip(e.chunks_exact(num_tags)) {
                        *tag = argmax(row) as u16;
                    }
                }
            }
            offset += n;
        }
        if changed.get() {
            return Err(Error::SentencesChanged);
        }
        tags[..total].copy_from_slice(staged);
        if let Some(out) = scores {
            out[..total * num_tags].copy_from_slice(logits);
        }
        Ok(())
    }

    /// Runs every layer of the word LSTM over sentences of lengths `lens`
    /// (`total` tokens, concatenated), eight side by side, the last layer feeding
    /// `hidden2tag` into `logits`. In panels every sum is [`Model::tag`]'s: the input
    /// projection of all tokens is one GEMM (a token's projection does not depend on
    /// its block there) and the eight lanes' `W_hh h` another. Int8 weights likewise,
    /// on interleaved copies where the level has [`gemm_pairs`] (exact integer sums),
    /// each lane's h rounded to i16 as `tag` rounds it. Otherwise the input projection
    /// of each sentence runs in the blocks [`Model::tag`] uses, so it is the same; for
    /// f32 weights in rows the recurrent product sums in another order.
    fn word_lstm_lanes(
        &self,
        lens: impl Iterator<Item = usize> + Clone,
        total: usize,
        rows: &[u32],
        feats: &[f32],
        work: &mut [f32],
        logits: &mut [f32],
    ) {
        let cfg = &self.config;
        let shape = cfg.lstm;
        let (h, layers, out_dim) = (
            shape.hidden as usize,
            shape.layers as usize,
            shape.output_dim(),
        );
        let (in0, word_dim) = (cfg.word_input_dim(), cfg.words.dim as usize);
        let feat_dim = in0 - word_dim;
        let input = in0.max(out_dim);
        let num_tags = self.num_tags();
        let block = PROJECTION_BLOCK;
        let (x, rest) = work.split_at_mut(total * input);
        let (y, rest) = rest.split_at_mut(if layers > 1 { total * out_dim } else { 0 });
        let (p, rest) = rest.split_at_mut(total * 4 * h);
        let (row, rest) = rest.split_at_mut(input);
        let (gates, rest) = rest.split_at_mut(L * 4 * h);
        let (hs, rest) = rest.split_at_mut(L * h);
        let (cs, rest) = rest.split_at_mut(L * h);
        let (xb, rest) = rest.split_at_mut(block * input);
        let (pb, rest) = rest.split_at_mut(block * 4 * h);
        let (hcol, rest) = rest.split_at_mut(h);
        let (x_scales, rest) = rest.split_at_mut(block);
        let (quantized, work_tail) = rest.split_at_mut(quantized_words(input, h));
        let quantized: &mut [i16] = bytemuck::cast_slice_mut(quantized);
        let (xq, quantized) = quantized.split_at_mut(block * input);
        let (hq, rest) = quantized.split_at_mut(L * h);
        let hq_out = &mut rest[..h];
        let pairs_region = &mut work_tail[..self.word_pairs_words()];
        for (t, xt) in x.chunks_exact_mut(in0).take(total).enumerate() {
            let (xw, xc) = xt.split_at_mut(word_dim);
            self.word_embedding.row_into(rows[t] as usize, xw);
            xc.copy_from_slice(&feats[t * feat_dim..(t + 1) * feat_dim]);
        }
        for row in logits.chunks_exact_mut(num_tags) {
            self.tag_bias.copy_into(row);
        }
        for layer in 0..layers {
            let in_l = if layer == 0 { in0 } else { out_dim };
            let last = layer + 1 == layers;
            for dir in 0..shape.directions() {
                let cell = self.lstm.cell(layer, dir);
                // The input projection. In panels, and for int8 weights (exact integer
                // products, on the interleaved copy where the level has the kernel),
                // every token's is the same in any block: all tokens at once.
                let int8 = cell.w_ih.storage() == Storage::I8;
                let copy = aligned_pairs(pairs_region);
                let pairs: &[i16] = match int8_pairs(&cell.w_ih, copy) {
                    true => copy,
                    false => &[],
                };
                let all_at_once = int8 || cell.w_ih.layout() == Layout::Panels;
                if int8 {
                    // Exact integer products: the same in any block. (An input that is
                    // not finite makes its block of tokens take floats, and the call
                    // fail with `NonFiniteScore` whatever the block holds.)
                    let inputs = x[..total * in_l].chunks(block * in_l);
                    for (xs, ps) in inputs.zip(p.chunks_mut(block * 4 * h)) {
                        project_pairs(cell, pairs, xs, (xq, x_scales), row, ps);
                    }
                } else if all_at_once {
                    cell.w_ih.project_block(
                        &x[..total * in_l],
                        &cell.bias,
                        row,
                        &mut p[..total * 4 * h],
                    );
                }
                // In rows, sentence by sentence in `tag`'s blocks (steps in reading
                // order, so backwards for the reverse direction).
                let mut off = 0;
                for n in lens.clone().filter(|_| !all_at_once) {
                    let token = |step: usize| off + if dir == 1 { n - 1 - step } else { step };
                    let mut done = 0;
                    while done < n {
                        let b = block.min(n - done);
                        for k in 0..b {
                            let t = token(done + k);
                            xb[k * in_l..(k + 1) * in_l]
                                .copy_from_slice(&x[t * in_l..(t + 1) * in_l]);
                        }
                        let pb = &mut pb[..b * 4 * h];
                        cell.w_ih
                            .project_block(&xb[..b * in_l], &cell.bias, row, pb);
                        for k in 0..b {
                            let t = token(done + k);
                            p[t * 4 * h..(t + 1) * 4 * h]
                                .copy_from_slice(&pb[k * 4 * h..(k + 1) * 4 * h]);
                        }
                        done += b;
                    }
                    off += n;
                }
                // The recurrence: a lane takes the next sentence when its own ends, the
                // longest first ([`LongestFirst`]). Lane state: (first token, length,
                // steps done).
                let mut lanes: [Option<(usize, usize, usize)>; L] = [None; L];
                let mut queue = LongestFirst::new(lens.clone());
                // In panels and for int8, lane `l`'s gates, hidden and cell state are
                // rows `l` of `gates (L, 4H)`, `hs (L, H)` and `cs (L, H)`: `W_hh h` for
                // all lanes is one GEMM whose sums are `tag`'s (`Matrix::gemm_add`; int8:
                // `gemm_pairs` on the interleaved copy where the level has the kernel,
                // else `Matrix::gemm_add_quantized`). f32 in rows:
                // columns `l` of `gates (4H, L)`, `hs (H, L)` and `cs (H, L)`, the eight
                // lanes side by side (`Matrix::gemm_lanes_add`: one pass over `W_hh`,
                // its sums in another order than `tag`'s).
                let copy = aligned_pairs(pairs_region);
                let pairs: &[i16] = match int8_pairs(&cell.w_hh, copy) {
                    true => copy,
                    false => &[],
                };
                let lanes_at = Lanes {
                    by_row: cell.w_hh.layout() == Layout::Panels
                        || cell.w_hh.storage() == Storage::I8,
                };
                loop {
                    for (lane, slot) in lanes.iter_mut().enumerate() {
                        if slot.is_some() {
                            continue;
                        }
                        if let Some((off, n)) = queue.next() {
                            *slot = Some((off, n, 0));
                        }
                        lanes_at.put(hs, lane, h, None);
                        lanes_at.put(cs, lane, h, None);
                    }
                    lanes_at.close_gaps(&mut lanes, h, (hs, cs));
                    if lanes.iter().all(Option::is_none) {
                        break;
                    }
                    let step_token = |(off, n, k): (usize, usize, usize)| {
                        off + if dir == 1 { n - 1 - k } else { k }
                    };
                    let starts =
                        lanes.map(|slot| slot.map(|s| &p[step_token(s) * 4 * h..][..4 * h]));
                    lanes_at.step(
                        &cell.w_hh,
                        lanes.map(|s| s.is_some()),
                        Some(starts),
                        gates,
                        cs,
                        hs,
                        (hq, pairs),
                    );
                    for (lane, slot) in lanes.iter_mut().enumerate() {
                        let Some(state) = slot else { continue };
                        let t = step_token(*state);
                        lanes_at.get(hs, lane, hcol);
                        let hcol = &*hcol;
                        if last {
                            let row = &mut logits[t * num_tags..(t + 1) * num_tags];
                            self.add_tag_scores(dir * h, hcol, hq_out, row);
                        } else {
                            y[t * out_dim + dir * h..t * out_dim + (dir + 1) * h]
                                .copy_from_slice(hcol);
                        }
                        state.2 += 1;
                        if state.2 == state.1 {
                            *slot = None;
                        }
                    }
                }
            }
            if !last {
                x[..total * out_dim].copy_from_slice(y);
            }
        }
    }
}

impl Model<'_> {
    /// Words (of 4 bytes) of scratch for the interleaved copy of one int8 matrix of the
    /// word LSTM at a time (`W_ih` or `W_hh`, [`matrix_pairs_words`], the largest),
    /// which [`Model::word_lstm_lanes`] multiplies where the level has [`gemm_pairs`]
    /// (0 outside x86-64: no other target's levels have it).
    fn word_pairs_words(&self) -> usize {
        if !cfg!(postag_x86) {
            return 0;
        }
        let shape = self.lstm.shape;
        (0..shape.layers as usize)
            .flat_map(|l| (0..shape.directions()).map(move |d| self.lstm.cell(l, d)))
            .flat_map(|cell| [&cell.w_ih, &cell.w_hh])
            .map(matrix_pairs_words)
            .max()
            .unwrap_or(0)
    }
}

/// Sentences [`LongestFirst`] sorts at a time.
const LANE_ORDER_WINDOW: usize = 64;

/// Sentences of a batch in the order the word LSTM's lanes take them: as `(first token,
/// length)`, the empty ones left out, in windows of [`LANE_ORDER_WINDOW`] sentences
/// of the batch's order, each window's longest first (ties in the batch's order).
/// Lanes fall idle only once the last window runs out, so its shortest sentences end
/// the batch nearly together. (The base model's benchmark sentences, 32 per batch:
/// 97% of the lane steps busy, against 85% in the batch's order.) A sentence's results
/// do not depend on its lane or on when it runs.
struct LongestFirst<I> {
    lens: I,
    // The batch's token offset of the next window.
    next_off: usize,
    // The current window, sorted: (length, first token), `taken` of them handed out.
    window: [(u32, u32); LANE_ORDER_WINDOW],
    filled: usize,
    taken: usize,
}

impl<I: Iterator<Item = usize>> LongestFirst<I> {
    fn new(lens: I) -> Self {
        LongestFirst {
            lens,
            next_off: 0,
            window: [(0, 0); LANE_ORDER_WINDOW],
            filled: 0,
            taken: 0,
        }
    }
}

impl<I: Iterator<Item = usize>> Iterator for LongestFirst<I> {
    type Item = (usize, usize);

    fn next(&mut self) -> Option<(usize, usize)> {
        if self.taken == self.filled {
            // The next window (batches hold at most `MAX_BATCH_TOKENS` tokens: u32).
            self.filled = 0;
            self.taken = 0;
            while self.filled < self.window.len() {
                let Some(n) = self.lens.next() else { break };
                if n > 0 {
                    self.window[self.filled] = (n as u32, self.next_off as u32);
                    self.filled += 1;
                }
                self.next_off += n;
            }
            // Longest first, equal lengths in the batch's order: an insertion sort of at
            // most 64 (the library's sorts would bring their panic messages into
            // firmware images, whose read-only data has a budget).
            for i in 1..self.filled {
                let mut j = i;
                while j > 0 && self.window[j - 1].0 < self.window[j].0 {
                    self.window.swap(j - 1, j);
                    j -= 1;
                }
            }
        }
        let (n, off) = *self.window[..self.filled].get(self.taken)?;
        self.taken += 1;
        Some((off as usize, n as usize))
    }
}

/// Words (of 4 bytes) of the i16 copies [`Model::word_lstm_lanes`] keeps for int8
/// weights: a projection block of inputs of `input` values, and eight lanes' and one
/// more hidden state of `h`.
fn quantized_words(input: usize, h: usize) -> usize {
    (PROJECTION_BLOCK * input + (L + 1) * h).div_ceil(2)
}

/// Whether `w` has int8 weights and the level [`gemm_pairs`], and then its
/// interleaved copy is in `copy` ([`crate::arch::interleave_pairs`]).
fn int8_pairs(w: &Matrix<'_>, copy: &mut [i16]) -> bool {
    w.storage() == Storage::I8
        && !w.in_i8_panels()
        && has_gemm_pairs()
        && interleave_pairs(&w.kernel_rows(), copy)
}

/// [`project`] for int8 `W_ih` on its interleaved copy `pairs`
/// ([`crate::arch::interleave_pairs`]; [`project`] itself if empty): the same
/// projections, `ps (b, 4H) = xs (b, in) @ W_ih^T + bias`, each weight load serving
/// the block's inputs.
fn project_pairs(
    cell: &crate::Cell<'_>,
    pairs: &[i16],
    xs: &[f32],
    (xq, x_scales): (&mut [i16], &mut [f32]),
    row: &mut [f32],
    ps: &mut [f32],
) {
    let (in_dim, g) = (cell.w_ih.cols(), cell.w_ih.rows());
    let b = xs.len() / in_dim.max(1);
    let quantized = !pairs.is_empty()
        && xs
            .chunks_exact(in_dim.max(1))
            .zip(xq.chunks_exact_mut(in_dim.max(1)))
            .zip(x_scales.iter_mut())
            .all(|((x, q), s)| quantize_i16(x, q).map(|v| *s = v).is_some());
    if quantized {
        // `bias + p`, as the tiles of `project` add them.
        for o in ps[..b * g].chunks_exact_mut(g) {
            cell.bias.copy_into(o);
        }
        let (xq, x_scales) = (&xq[..b * in_dim], &x_scales[..b]);
        if gemm_pairs(
            pairs,
            &cell.w_ih.kernel_rows(),
            xq,
            x_scales,
            &mut ps[..b * g],
        ) {
            return;
        }
    }
    project(cell, xs, xq, x_scales, row, ps);
}

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

    /// By row, for the idle lanes left once no work is: the last busy lane after each
    /// moves into it (its slot, and its rows of `h` and `c`, `hidden` values each), so
    /// that the busy lanes come first and [`Lanes::step`]'s f32 product covers only
    /// them. A lane's results do not depend on its place. By column nothing moves (the
    /// product takes the eight columns anyway).
    pub(super) fn close_gaps<T>(
        self,
        slots: &mut [Option<T>; L],
        hidden: usize,
        (h, c): (&mut [f32], &mut [f32]),
    ) {
        if !self.by_row {
            return;
        }
        for lane in 0..L {
            if slots[lane].is_some() {
                continue;
            }
            let Some(last) = (lane + 1..L).rev().find(|&l| slots[l].is_some()) else {
                return;
            };
            slots[lane] = slots[last].take();
            for state in [&mut *h, &mut *c] {
                let (to, from) = state.split_at_mut(last * hidden);
                to[lane * hidden..(lane + 1) * hidden].copy_from_slice(&from[..hidden]);
            }
        }
    }

    /// One step of the lanes: `gates (4H)` of each lane, its input projection (read from
    /// `starts`' lane, or already in `gates` where `starts` is `None`), gets `W_hh h`
    /// added, then the cell update takes `c` and `h (H)` to the next step, for the lanes
    /// that are `busy` (by column every lane's: an idle lane's results are never read).
    /// By row, f32 `W_hh` multiplies the lanes up to the last busy one, each lane's
    /// products landing on its start where it lies ([`Matrix::gemm_from`]) if each of
    /// those lanes has one; int8 `W_hh` multiplies each lane's h rounded to i16 (into `hq
    /// (8, H)`), as [`Model::tag`] does one sentence at a time: the same sums, on the
    /// interleaved copy `pairs` of `W_hh` if not empty
    /// ([`crate::arch::interleave_pairs`]).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn step(
        self,
        w_hh: &Matrix<'_>,
        busy: [bool; L],
        starts: Option<[Option<&[f32]>; L]>,
        gates: &mut [f32],
        c: &mut [f32],
        h: &mut [f32],
        (hq, pairs): (&mut [i16], &[i16]),
    ) {
        let hidden = w_hh.cols();
        let g = 4 * hidden;
        if self.by_row {
            let k = busy.iter().rposition(|&b| b).map_or(0, |l| l + 1);
            // Each lane's start below `k`, if all of them have one (the busy lanes come
            // first: `close_gaps`).
            let rows = starts
                .filter(|_| w_hh.storage() == Storage::F32)
                .and_then(|s| {
                    let mut rows: [&[f32]; L] = [&[]; L];
                    for (row, start) in rows.iter_mut().zip(&s[..k]) {
                        *row = (*start)?;
                    }
                    Some(rows)
                });
            if let Some(rows) = rows {
                w_hh.gemm_from(&h[..k * hidden], &rows[..k], &mut gates[..k * g]);
            } else {
                if let Some(starts) = starts {
                    for (lane, start) in starts.into_iter().enumerate() {
                        self.put(gates, lane, g, start);
                    }
                }
                if !(w_hh.storage() == Storage::I8 && add_quantized(w_hh, pairs, h, hq, gates)) {
                    w_hh.gemm_add(&h[..k * hidden], &mut gates[..k * g]);
                }
            }
            // The cells of each run of busy lanes in one call.
            let mut next = 0;
            while let Some(start) = (next..L).find(|&l| busy[l]) {
                next = (start..L).find(|&l| !busy[l]).unwrap_or(L);
                lstm_cell_rows(
                    &mut gates[start * g..next * g],
                    &mut c[start * hidden..next * hidden],
                    &mut h[start * hidden..next * hidden],
                    hidden,
                );
            }
        } else {
            if let Some(starts) = starts {
                for (lane, start) in starts.into_iter().enumerate() {
                    self.put(gates, lane, g, start);
                }
            }
            w_hh.gemm_lanes_add(h, gates);
            lstm_cell(gates, c, h);
        }
    }
}

/// `gates (8, 4H) += h (8, H) @ W_hh^T` for int8 `W_hh`, each lane's h rounded to i16
/// in `hq (8, H)` with a scale of its own (a lane whose h is not finite takes floats,
/// as one sentence alone does), on the interleaved copy `pairs` if not empty. False,
/// nothing done, if `hq` is too short.
fn add_quantized(
    w_hh: &Matrix<'_>,
    pairs: &[i16],
    h: &[f32],
    hq: &mut [i16],
    gates: &mut [f32],
) -> bool {
    let (hidden, g) = (w_hh.cols(), w_hh.rows());
    let Some(hq) = hq.get_mut(..L * hidden) else {
        return false;
    };
    let mut scales = [0.0f32; L];
    let mut floats = [false; L];
    for (lane, q) in hq.chunks_exact_mut(hidden.max(1)).enumerate().take(L) {
        match quantize_i16(&h[lane * hidden..(lane + 1) * hidden], q) {
            Some(scale) => scales[lane] = scale,
            None => {
                // Adds nothing here; the floats below.
                q.fill(0);
                floats[lane] = true;
            }
        }
    }
    let on_pairs = !pairs.is_empty() && gemm_pairs(pairs, &w_hh.kernel_rows(), hq, &scales, gates);
    if !(on_pairs || w_hh.gemm_add_quantized(hq, &scales, gates)) {
        return false;
    }
    for lane in (0..L).filter(|&l| floats[l]) {
        w_hh.matvec_add(
            &h[lane * hidden..(lane + 1) * hidden],
            &mut gates[lane * g..(lane + 1) * g],
        );
    }
    true
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec::Vec;

    use proptest::prelude::*;

    use super::{LongestFirst, LANE_ORDER_WINDOW};

    proptest! {
        #![proptest_config(crate::test_support::cases(256))]

        /// Every sentence with tokens once, at its offset in the batch; each window of
        /// 64 of them (in the batch's order) longest first, ties in the batch's order.
        #[test]
        fn lanes_take_each_window_longest_first(lens in proptest::collection::vec(0usize..50, 0..200)) {
            let mut offsets = Vec::new();
            let mut off = 0;
            for &n in &lens {
                if n > 0 {
                    offsets.push((off, n));
                }
                off += n;
            }
            let mut want = Vec::new();
            for window in offsets.chunks(LANE_ORDER_WINDOW) {
                let mut w = window.to_vec();
                // A stable sort: equal lengths stay in the batch's order.
                w.sort_by_key(|&(_, n)| core::cmp::Reverse(n));
                want.extend(w);
            }
            let got: Vec<_> = LongestFirst::new(lens.iter().copied()).collect();
            prop_assert_eq!(got, want);
        }
    }
}
