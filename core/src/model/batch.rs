//! Several sentences per call ([`Model::tag_batch`]): the word LSTM runs eight
//! sentences side by side, so each recurrent weight load serves eight of them. The
//! lanes' layout and step ([`Lanes`]) serve the char net's eight words side by side too.

use super::scratch::aligned_words;
use super::{Model, MAX_TOKENS, PROJECTION_BLOCK};
use crate::arch::lstm_cell;
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
    /// Whether [`Model::tag_batch`] runs sentences side by side: a word LSTM and
    /// `hidden2tag` with f32 weights. Other models are tagged one sentence after
    /// another, with the same results as [`Model::tag`].
    pub fn batches_side_by_side(&self) -> bool {
        let shape = self.lstm.shape;
        self.tag_weights.storage() == Storage::F32
            && (0..shape.layers as usize).all(|l| {
                (0..shape.directions()).all(|d| {
                    let cell = self.lstm.cell(l, d);
                    cell.w_ih.storage() == Storage::F32 && cell.w_hh.storage() == Storage::F32
                })
            })
    }

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
        let char_work = match &self.chars {
            Some(_) => cfg.chars.map_or(0, |c| {
                let m = c.max_word_chars as usize;
                m + super::lstm::Stack::work_len(&c.lstm, m, c.dim as usize, PROJECTION_BLOCK)
            }),
            None => 0,
        };
        let input = cfg.word_input_dim().max(out_dim);
        let seq = if cfg.lstm.layers > 1 { out_dim } else { 0 };
        // Layer input and output per token, one direction's input projection per
        // token, a decoded row, eight lanes of gates and state, one projection block
        // (inputs and outputs) and one hidden state.
        let word_work = tokens * (input + seq + 4 * h)
            + input
            + L * 6 * h
            + PROJECTION_BLOCK * (input + 4 * h)
            + h;
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
    /// have a longest of at least 1), or `tokens` exceeds [`MAX_BATCH_TOKENS`]. Where
    /// sentences are tagged one after another (not [`Model::batches_side_by_side`]) it
    /// includes the char projection cache ([`Model::char_cache_bytes`]), which then
    /// serves the whole call; less also works there, without the cache: the staged
    /// outputs and what [`Model::tag`] needs for the longest sentence.
    pub fn batch_scratch_bytes(&self, tokens: usize, longest: usize) -> Option<usize> {
        if longest == 0 && tokens > 0 {
            return None;
        }
        if !self.batches_side_by_side() {
            if longest > tokens || tokens > MAX_BATCH_TOKENS {
                return None;
            }
            if tokens == 0 {
                // No token: nothing to stage, nothing to tag.
                return Some(0);
            }
            // The staged outputs (from the first aligned byte), the char projection
            // cache beside them, then one sentence's scratch: `scratch_bytes` in full,
            // which a sentence needs for the default schedule (the slack the
            // alignment did not take is left at the end).
            let staged = 4 * (tokens.div_ceil(2) + tokens * self.num_tags()) + 3;
            return Some(staged + self.cached_scratch_bytes(longest)?);
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
    /// Each sentence gets the tags and scores [`Model::tag`] gives it: bit for bit,
    /// except where [`Model::batches_side_by_side`] (the word LSTM runs eight sentences
    /// side by side) and an LSTM's weights are in rows: there the scores may differ in
    /// the last bits, from the order of the recurrent product's sums (in panels both
    /// LSTMs compute `tag`'s sums, the char net's eight words side by side too). A sentence's result does not depend on the sentences beside it. Errors are those of [`Model::tag`] (an
    /// empty token anywhere is reported first, then token errors in order), and
    /// nothing is written then.
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
        if !self.batches_side_by_side() {
            return self.tag_each(sentences, scratch, tags, scores);
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
        self.lookups(all, total, rows, feats, work, PROJECTION_BLOCK, None)?;
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

    /// [`Model::tag_batch`] one sentence at a time, for models whose word LSTM does
    /// not run side by side: the outputs are staged in `scratch` and reach the caller
    /// only when every sentence succeeded.
    fn tag_each<'s, T, I>(
        &self,
        sentences: SamePass<'_, I>,
        scratch: &mut [u8],
        tags: &mut [u16],
        scores: Option<&mut [f32]>,
    ) -> Result<(), Error>
    where
        T: AsRef<[u8]> + 's,
        I: Iterator<Item = &'s [T]>,
    {
        let (total, longest, changed) = (sentences.left, sentences.longest, sentences.changed);
        let num_tags = self.num_tags();
        let staged_words = total.div_ceil(2) + total * num_tags;
        // Given all of `batch_scratch_bytes`, the char projection cache, which then
        // serves every sentence of the call.
        let cache_words = match self.batch_scratch_bytes(total, longest) {
            Some(need) if longest > 0 && scratch.len() >= need => self.char_cache_bytes() / 4,
            _ => 0,
        };
        let skip = scratch.as_ptr().align_offset(4).min(scratch.len());
        let (head, rest) = scratch[skip..]
            .split_at_mut_checked((staged_words + cache_words) * 4)
            .ok_or(Error::ScratchTooSmall)?;
        let head: &mut [u32] =
            bytemuck::try_cast_slice_mut(head).map_err(|_| Error::ScratchTooSmall)?;
        let (head, cache_words) = head.split_at_mut(staged_words);
        let mut cache = self
            .chars
            .as_ref()
            .filter(|_| !cache_words.is_empty())
            .map(|chars| chars.cache(cache_words, true));
        let (staged_tags, staged_scores) = head.split_at_mut(total.div_ceil(2));
        let staged_tags: &mut [u16] = &mut bytemuck::cast_slice_mut(staged_tags)[..total];
        let staged_scores: &mut [f32] = bytemuck::cast_slice_mut(staged_scores);
        let mut offset = 0;
        let mut left = sentences;
        while let Some(s) = left.next() {
            let n = s.len();
            let r = self.run(
                s,
                None,
                rest,
                &mut staged_tags[offset..offset + n],
                Some(&mut staged_scores[offset * num_tags..(offset + n) * num_tags]),
                cache.as_mut(),
            );
            if r == Err(Error::NonFiniteScore) {
                // A token error anywhere comes first, as side by side, where every
                // lookup precedes the arithmetic.
                if let Some(e) = left
                    .by_ref()
                    .flatten()
                    .find_map(|t| self.token_error(t.as_ref()))
                {
                    return Err(e);
                }
            }
            if r.is_err() && changed.get() {
                return Err(Error::SentencesChanged);
            }
            r?;
            offset += n;
        }
        if changed.get() {
            return Err(Error::SentencesChanged);
        }
        tags[..total].copy_from_slice(staged_tags);
        if let Some(out) = scores {
            out[..total * num_tags].copy_from_slice(staged_scores);
        }
        Ok(())
    }

    /// The error tagging `token` meets in its lookups, if any: not UTF-8, an unknown
    /// word, an unknown character among those the char net reads.
    fn token_error(&self, token: &[u8]) -> Option<Error> {
        let Ok(word) = core::str::from_utf8(token) else {
            return Some(Error::InvalidUtf8);
        };
        if self.word_row(word).is_none() {
            return Some(Error::UnknownWord);
        }
        let chars = self.chars.as_ref()?;
        crate::vocab::word_chars(word, chars.max_word_chars)
            .any(|c| chars.row(c).is_none())
            .then_some(Error::UnknownChar)
    }

    /// Runs every layer of the word LSTM over sentences of lengths `lens`
    /// (`total` tokens, concatenated), eight side by side, the last layer feeding
    /// `hidden2tag` into `logits`. In panels every sum is [`Model::tag`]'s: the input
    /// projection of all tokens is one GEMM (a token's projection does not depend on
    /// its block there) and the eight lanes' `W_hh h` another. In rows the input
    /// projection of each sentence runs in the blocks [`Model::tag`] uses, so it is
    /// the same; only the recurrent product sums in another order.
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
        let hcol = &mut rest[..h];
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
                // The input projection. In panels, every token's is the same in any
                // block: all tokens at once.
                let all_at_once = cell.w_ih.layout() == Layout::Panels;
                if all_at_once {
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
                // The recurrence: a lane takes the next sentence when its own ends.
                // Lane state: (first token, length, steps done).
                let mut lanes: [Option<(usize, usize, usize)>; L] = [None; L];
                let (mut queue, mut next_off) = (lens.clone(), 0);
                // In panels, lane `l`'s gates, hidden and cell state are rows `l` of
                // `gates (L, 4H)`, `hs (L, H)` and `cs (L, H)`: `W_hh h` for all lanes is
                // one GEMM whose sums are `tag`'s (`Matrix::gemm_add`). In rows they are
                // columns `l` of `gates (4H, L)`, `hs (H, L)` and `cs (H, L)`, the eight
                // lanes side by side (`Matrix::gemm_lanes_add`: one pass over `W_hh`,
                // its sums in another order than `tag`'s).
                let lanes_at = Lanes {
                    by_row: cell.w_hh.layout() == Layout::Panels,
                };
                loop {
                    for (lane, slot) in lanes.iter_mut().enumerate() {
                        if slot.is_some() {
                            continue;
                        }
                        while slot.is_none() {
                            let Some(n) = queue.next() else { break };
                            if n > 0 {
                                *slot = Some((next_off, n, 0));
                            }
                            next_off += n;
                        }
                        lanes_at.put(hs, lane, h, None);
                        lanes_at.put(cs, lane, h, None);
                    }
                    if lanes.iter().all(Option::is_none) {
                        break;
                    }
                    let step_token = |(off, n, k): (usize, usize, usize)| {
                        off + if dir == 1 { n - 1 - k } else { k }
                    };
                    for (lane, slot) in lanes.iter().enumerate() {
                        let src = slot.map(|s| &p[step_token(s) * 4 * h..][..4 * h]);
                        lanes_at.put(gates, lane, 4 * h, src);
                    }
                    lanes_at.step(&cell.w_hh, lanes.map(|s| s.is_some()), gates, cs, hs);
                    for (lane, slot) in lanes.iter_mut().enumerate() {
                        let Some(state) = slot else { continue };
                        let t = step_token(*state);
                        lanes_at.get(hs, lane, hcol);
                        let hcol = &*hcol;
                        if last {
                            let row = &mut logits[t * num_tags..(t + 1) * num_tags];
                            self.tag_weights.matvec_add_cols(dir * h, hcol, row);
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
