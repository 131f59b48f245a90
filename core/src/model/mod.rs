//! The validated model view and the forward pass.
//!
//! Split by concern, as the trainer's `nn` is: `lstm` (the LSTM stack and one
//! direction's working memory), `chars` (char features), `crf` (Viterbi), `load`
//! (blob to tensors, validated once) and `scratch` (the per-call memory layout).

mod batch;
pub(crate) mod cache;
mod chars;
mod crf;
mod explain;
pub(crate) mod load;
mod lstm;
mod scratch;

pub use batch::{batch_run, worker_limit, MAX_BATCH_TOKENS, TOKENS_PER_WORKER};
use chars::CharCache;
pub use chars::CharNet;
pub use crf::Crf;
pub use explain::Explained;
pub use lstm::{Cell, PackedCell, Stack, LOW_MEMORY_BLOCK, PACK_ALIGN, PROJECTION_BLOCK};
pub(crate) use lstm::{DirectionScratch, LayerIo, StackIo};

use crate::arch::{self, quantize_i16};
use crate::format::Config;
use crate::kernels::{argmax, log_softmax, BATCH_LANES};
use crate::tensor::{Matrix, Storage, U32s, Vector};
use crate::vocab::StringTable;
use crate::Error;
use scratch::{aligned_words, Layout};

/// Most tokens accepted in one call.
pub const MAX_TOKENS: usize = 4096;

/// Tokens before a token that tagging compares it with, byte for byte, to reuse the
/// embedding row and char features of an equal one (see [`Model::lookups`]).
const REUSE_WINDOW: usize = 32;

/// Context, in tokens, that a window of a sentence longer than [`MAX_TOKENS`] reads on
/// each side of the tokens it answers for (see [`sentence_windows`]).
pub const WINDOW_CONTEXT: usize = 256;

/// How a sentence of `n` tokens of any length is tagged: `(window, kept)` pairs of
/// token ranges, a call tagging `window` (at most [`MAX_TOKENS`] tokens) and the
/// answer for `kept` (a part of it) taken from there. Sentences up to [`MAX_TOKENS`]
/// are one window; longer ones are cut into consecutive kept ranges of
/// `MAX_TOKENS - 2 * WINDOW_CONTEXT` tokens, each read with up to [`WINDOW_CONTEXT`]
/// tokens of context on either side.
pub fn sentence_windows(
    n: usize,
) -> impl Iterator<Item = (core::ops::Range<usize>, core::ops::Range<usize>)> {
    let (stride, context) = if n <= MAX_TOKENS {
        (n.max(1), 0)
    } else {
        (MAX_TOKENS - 2 * WINDOW_CONTEXT, WINDOW_CONTEXT)
    };
    (0..n.max(1)).step_by(stride).map(move |a| {
        let b = (a + stride).min(n);
        (a.saturating_sub(context)..(b + context).min(n), a..b)
    })
}

/// A model whose blob was validated once; tagging reads weights in place.
#[derive(Debug, Clone, Copy)]
pub struct Model<'a> {
    /// Dimensions and options from the header.
    config: Config,
    /// (rows, Dw) `word_embeddings.weight`.
    word_embedding: Matrix<'a>,
    /// (n,) the vocabulary's normalized words, in byte order.
    words: StringTable<'a>,
    /// (n,) embedding row of each word of `words`.
    word_rows: U32s<'a>,
    /// Char features, when the model has them.
    chars: Option<CharNet<'a>>,
    /// The word LSTM over `[x_w ; c_w]` (Dw + F wide).
    lstm: Stack<'a>,
    /// (T, D) `hidden2tag.weight`, D the word LSTM's output width.
    tag_weights: Matrix<'a>,
    /// (T,) `hidden2tag.bias`.
    tag_bias: Vector<'a>,
    /// (T,) tag names, in tag order.
    tag_names: StringTable<'a>,
    /// Transitions for Viterbi decoding, when the model has them.
    crf: Option<Crf<'a>>,
    /// Length of the blob in bytes.
    blob_len: usize,
}

impl<'a> Model<'a> {
    /// Dimensions and options.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Size of the blob in bytes.
    pub fn blob_len(&self) -> usize {
        self.blob_len
    }

    /// Number of tags T.
    pub fn num_tags(&self) -> usize {
        self.config.tags as usize
    }

    /// Name of tag `i` (empty when out of range).
    pub fn tag_name(&self, i: usize) -> &'a str {
        self.tag_names.get(i)
    }

    /// Tag names in tag order.
    pub fn tag_names(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.tag_names.iter()
    }

    /// Index of the tag called `name`.
    pub fn tag_index(&self, name: &str) -> Option<usize> {
        self.tag_names.iter().position(|t| t == name)
    }

    /// The word embedding (rows, Dw).
    pub fn word_embedding(&self) -> &Matrix<'a> {
        &self.word_embedding
    }

    /// Number of words in the vocabulary (not counting an unknown-word row).
    pub fn vocab_len(&self) -> usize {
        self.words.len()
    }

    /// The vocabulary as (normalized word, embedding row) pairs, in byte order.
    pub fn vocab(&self) -> impl Iterator<Item = (&'a str, u32)> + '_ {
        self.words.iter().zip(self.word_rows.iter())
    }

    /// Embedding row used for `word` (after normalization), or the unknown-word row.
    pub fn word_row(&self, word: &str) -> Option<u32> {
        self.known_word_row(word).or(self.config.words.unknown)
    }

    /// Embedding row of `word` if it is in the vocabulary.
    pub fn known_word_row(&self, word: &str) -> Option<u32> {
        self.words
            .find_normalized(word, self.config.words.normalize)
            .map(|i| self.word_rows.get(i))
    }

    /// Character features, if the model has them.
    pub fn chars(&self) -> Option<&CharNet<'a>> {
        self.chars.as_ref()
    }

    /// The word LSTM.
    pub fn lstm(&self) -> &Stack<'a> {
        &self.lstm
    }

    /// The storage of every weight matrix of the tagger (the word and char embeddings,
    /// every LSTM `W_ih` and `W_hh`, `hidden2tag`), or `None` when they differ: a blob
    /// written by hand may mix f32 and int8 (the builder writes one storage).
    pub fn storage(&self) -> Option<Storage> {
        /// Every `W_ih` and `W_hh` storage of a stack.
        fn stack<'s>(s: &'s Stack<'_>) -> impl Iterator<Item = Storage> + 's {
            let shape = s.shape();
            (0..shape.layers as usize)
                .flat_map(move |l| (0..shape.directions()).map(move |d| (l, d)))
                .flat_map(move |(l, d)| {
                    let c = s.cell(l, d);
                    [c.w_ih.storage(), c.w_hh.storage()]
                })
        }
        let first = self.word_embedding.storage();
        let chars = self
            .chars
            .iter()
            .flat_map(|c| core::iter::once(c.embedding.storage()).chain(stack(&c.lstm)));
        let mut all = core::iter::once(self.tag_weights.storage())
            .chain(stack(&self.lstm))
            .chain(chars);
        all.all(|s| s == first).then_some(first)
    }

    /// `hidden2tag` weights (T, D) and bias (T,).
    pub fn tag_layer(&self) -> (&Matrix<'a>, &Vector<'a>) {
        (&self.tag_weights, &self.tag_bias)
    }

    /// `scores[r] += hidden2tag.weight[r, col0 .. col0 + h.len()] . h` for every tag
    /// `r`: one direction's part of the tag scores. Int8 weights multiply `h` rounded to
    /// i16 (into `hq`, as long as `h`) in integer arithmetic, as the LSTMs' int8
    /// products do, and the scale is returned; f32 weights (or an `h` that is not
    /// finite) take floats.
    fn add_tag_scores(
        &self,
        col0: usize,
        h: &[f32],
        hq: &mut [i16],
        scores: &mut [f32],
    ) -> Option<f32> {
        let w = &self.tag_weights;
        if w.storage() == Storage::I8 {
            if let Some(scale) = quantize_i16(h, hq) {
                if w.matvec_add_cols_quantized(col0, hq, scale, scores) {
                    return Some(scale);
                }
            }
        }
        w.matvec_add_cols(col0, h, scores);
        None
    }

    /// CRF transitions, if the model decodes with Viterbi.
    pub fn crf(&self) -> Option<&Crf<'a>> {
        self.crf.as_ref()
    }

    /// Whether the model runs from a caller-held state ([`Model::tag_from_state`]):
    /// a unidirectional word LSTM.
    pub fn has_state(&self) -> bool {
        !self.config.lstm.bidirectional
    }

    /// Length of a streaming state: `(h, c)` of every layer, laid out like PyTorch's
    /// `(h_0, c_0)`: `h` of layers 0..L, then `c` of layers 0..L, H floats each. Only a
    /// unidirectional model streams ([`Model::has_state`]); for a bidirectional one this
    /// is the size such a state would have, and the state calls return
    /// [`crate::Error::NotStreamable`].
    pub fn state_len(&self) -> usize {
        2 * self.config.lstm.layers as usize * self.config.lstm.hidden as usize
    }

    /// Scratch bytes needed to tag up to `tokens` tokens in one call (also enough
    /// for [`Model::step`]); `None` above [`MAX_TOKENS`].
    pub fn scratch_bytes(&self, tokens: usize) -> Option<usize> {
        Layout::new(self, tokens, PROJECTION_BLOCK).map(|l| l.bytes())
    }

    /// Scratch bytes to tag up to `tokens` tokens in one call with a cache of the char
    /// LSTM's input projections (each distinct character projected once per call and
    /// direction) and, at the x86-64 vector levels, an i16 copy of its `W_hh` laid out for the
    /// kernel: [`Model::scratch_bytes`] plus the cache's ([`Model::char_cache_bytes`]),
    /// or, on x86-64 with int8 `W_hh` in the word LSTM (H up to 1024), plus the room for
    /// an i16 copy of one of them (one layer and direction at a time) if that is more: 4
    /// bytes x `ceil(pairs / 2) + 7`, pairs = `ceil(4H / 8) * 8 * 2 * ceil(H / 2)`. The
    /// copy takes the cache's bytes once the lookups are done; the `sse2` level makes it
    /// (calls of three tokens or more), whose steps read it faster than the int8 weights
    /// themselves. A call given at least this much runs that way, with the same results
    /// (int8: exact integer products; f32: each distinct character projected by the
    /// kernel that projects it at each occurrence, eight at a time). `None` above
    /// [`MAX_TOKENS`].
    pub fn cached_scratch_bytes(&self, tokens: usize) -> Option<usize> {
        let bytes = self.scratch_bytes(tokens)?;
        let extra = self.char_cache_bytes().max(4 * self.lstm.copy_words());
        Some(match bytes {
            0 => 0,
            _ => bytes + extra,
        })
    }

    /// Bytes of the char projection cache ([`Model::cached_scratch_bytes`]): for a
    /// one-layer char BiLSTM of hidden size Hc with int8 weights and a char vocabulary
    /// of R rows, `4 * (E + S + m + D * (S * 4Hc + P))` with S = min(R, 128) slots,
    /// E = the power of two at or above 2S, m = max_word_chars, D directions and P the
    /// words of the interleaved `W_hh` copy (`ceil(pairs / 2) + 7`, pairs =
    /// `ceil(4Hc / 8) * 8 * 2 * ceil(Hc / 2)`, 0 for Hc above 1024). With f32 weights
    /// (the char net runs eight words side by side, at every level but the scalar
    /// one), the distinct characters of a group of words side by side, if they are at
    /// most S: `4 * (R + S + S * 4Hc)`, one direction at a time. 0 for models without
    /// chars, with multi-layer char LSTMs, and in Cortex-M builds.
    pub fn char_cache_bytes(&self) -> usize {
        4 * self
            .chars
            .as_ref()
            .and_then(|c| c.cache_words().or_else(|| c.lanes_cache_words()))
            .unwrap_or(0)
    }

    /// Words of an int8 char net's projection cache, which can serve a whole call
    /// ([`CharNet::cache_words`]); 0 for other models (an f32 char net's serves one group
    /// of words side by side, in the room their char ids leave in `tag_batch`).
    fn call_cache_words(&self) -> usize {
        self.chars
            .as_ref()
            .and_then(CharNet::cache_words)
            .unwrap_or(0)
    }

    /// The least scratch that tags up to `tokens` tokens in one call: the low-memory
    /// schedule, which projects one token's LSTM inputs at a time instead of
    /// [`PROJECTION_BLOCK`] (for firmware with little RAM; slower on processors with
    /// caches). A call given less than [`Model::scratch_bytes`] but at least this runs
    /// it; with int8 weights, and at the scalar level (as on Cortex-M), the results are
    /// bit for bit the same (f32 vector kernels may round an input's products
    /// differently alone than in a block).
    /// `None` above [`MAX_TOKENS`].
    pub fn min_scratch_bytes(&self, tokens: usize) -> Option<usize> {
        Layout::new(self, tokens, LOW_MEMORY_BLOCK).map(|l| l.bytes())
    }

    /// Tags a sentence. Writes one tag per token into `tags[..tokens.len()]` and, if
    /// given, the log-probabilities of every tag (`tokens.len() * T`, row per token)
    /// into `scores`. Decodes with Viterbi when the model has CRF transitions, else
    /// with the per-token argmax. Outputs are written only on success.
    ///
    /// `scratch`, at any alignment: [`Model::scratch_bytes`] for the default schedule,
    /// at least [`Model::min_scratch_bytes`] (the low-memory one runs in between), and
    /// [`Model::cached_scratch_bytes`] to keep a char projection cache for the call.
    ///
    /// Errors, before anything is written, in this order (the first that applies):
    /// [`Error::TooManyTokens`] (more than [`MAX_TOKENS`]), [`Error::OutputTooSmall`]
    /// (`tags` or `scores` shorter than above), [`Error::EmptyToken`] (any token),
    /// [`Error::ScratchTooSmall`] (which so hides the token errors after it), then the
    /// first token, in order, that is not UTF-8 ([`Error::InvalidUtf8`]) or unknown
    /// ([`Error::UnknownWord`], [`Error::UnknownChar`]: a model without unknown rows);
    /// last [`Error::NonFiniteScore`] (a check: see its doc). [`Model::explain`] names
    /// the token at fault.
    pub fn tag<T: AsRef<[u8]>>(
        &self,
        tokens: &[T],
        scratch: &mut [u8],
        tags: &mut [u16],
        scores: Option<&mut [f32]>,
    ) -> Result<(), Error> {
        self.run(tokens, None, scratch, tags, scores)
    }

    /// Like [`Model::tag`] for a unidirectional model, starting from the `(h, c)` in
    /// `state` (see [`Model::state_len`]) and leaving the final state there: what
    /// calling [`Model::step`] once per token gives, bit for bit for int8 weights and at
    /// the scalar level; with f32 weights at a vector level the input projections of
    /// tokens (and of a word's characters) computed together round differently from
    /// one's alone, so scores and state may differ in the last bits.
    ///
    /// Scratch and errors as [`Model::tag`]'s, and [`Error::NotStreamable`] (a
    /// bidirectional model), [`Error::StateSize`] (`state` not [`Model::state_len`]
    /// long); a state holding a NaN gives [`Error::NonFiniteScore`]. The state too is
    /// written only on success.
    pub fn tag_from_state<T: AsRef<[u8]>>(
        &self,
        tokens: &[T],
        state: &mut [f32],
        scratch: &mut [u8],
        tags: &mut [u16],
        scores: Option<&mut [f32]>,
    ) -> Result<(), Error> {
        if !self.has_state() {
            return Err(Error::NotStreamable);
        }
        if state.len() != self.state_len() {
            return Err(Error::StateSize);
        }
        self.run(tokens, Some(state), scratch, tags, scores)
    }

    /// Streams one token: updates `state` and returns its tag (and its T log-probabilities
    /// in `scores`, if given). A zeroed state is the start of a sentence. Needs a
    /// unidirectional model without CRF transitions, whose tags depend only on the
    /// tokens so far (a CRF model is tagged a sentence at a time, with
    /// [`Model::tag_from_state`]). Scratch and errors as [`Model::tag_from_state`]'s
    /// for one token ([`Error::NotStreamable`] for a CRF model too).
    pub fn step(
        &self,
        token: &[u8],
        state: &mut [f32],
        scratch: &mut [u8],
        scores: Option<&mut [f32]>,
    ) -> Result<u16, Error> {
        if self.crf.is_some() {
            return Err(Error::NotStreamable);
        }
        let mut tag = [0u16];
        self.tag_from_state(&[token], state, scratch, &mut tag, scores)?;
        Ok(tag[0])
    }

    /// Tags `tokens`, with the char projection cache if `scratch` has room for it.
    fn run<T: AsRef<[u8]>>(
        &self,
        tokens: &[T],
        state: Option<&mut [f32]>,
        scratch: &mut [u8],
        tags_out: &mut [u16],
        scores_out: Option<&mut [f32]>,
    ) -> Result<(), Error> {
        let n = tokens.len();
        let num_tags = self.num_tags();
        let layout = Layout::new(self, n, PROJECTION_BLOCK).ok_or(Error::TooManyTokens)?;
        // Less scratch than that, but enough for one token's projection at a time: the
        // low-memory schedule.
        let (layout, block) = if scratch.len() < layout.bytes() {
            let low = Layout::new(self, n, LOW_MEMORY_BLOCK).ok_or(Error::TooManyTokens)?;
            (low, LOW_MEMORY_BLOCK)
        } else {
            (layout, PROJECTION_BLOCK)
        };
        if tags_out.len() < n {
            return Err(Error::OutputTooSmall);
        }
        if let Some(s) = &scores_out {
            if s.len() < n * num_tags {
                return Err(Error::OutputTooSmall);
            }
        }
        if tokens.iter().any(|t| t.as_ref().is_empty()) {
            return Err(Error::EmptyToken);
        }
        if n == 0 {
            return Ok(());
        }
        // Past the default schedule's scratch, where there is room for them: the char
        // projection cache (the same results) for the lookups, then, in
        // the same words, an interleaved copy of the word LSTM's int8 `W_hh` where the
        // level's row kernels are slower than reading it. The copy pays from three
        // tokens on (base model, `sse2`, Zen 5: two tokens about even, three 10% faster).
        let room = scratch.len().saturating_sub(layout.bytes()) / 4;
        let chars = self
            .chars
            .as_ref()
            .filter(|_| !cfg!(target_os = "none") && block == PROJECTION_BLOCK);
        let fits = |w: &usize| room >= *w;
        let cache_words = chars
            .and_then(CharNet::cache_words)
            .filter(fits)
            .unwrap_or(0);
        // An f32 char net side by side keeps its distinct chars' projections there
        // instead (`CharNet::features_lanes`).
        let lanes_words = chars
            .filter(|c| c.runs_in_lanes_now())
            .and_then(CharNet::lanes_cache_words)
            .filter(fits)
            .unwrap_or(0);
        let copy_words = Some(self.lstm.copy_words())
            .filter(|&w| {
                arch::level().pairs_from_l2() && n >= 3 && block == PROJECTION_BLOCK && room >= w
            })
            .unwrap_or(0);
        let extra_words = cache_words.max(lanes_words).max(copy_words);
        let words =
            aligned_words(scratch, layout.total + extra_words).ok_or(Error::ScratchTooSmall)?;
        let (words, extra) = words.split_at_mut(layout.total);
        let (rows, rest) = words.split_at_mut(layout.rows);
        let (feats, rest) = rest.split_at_mut(layout.feats);
        let (logits, rest) = rest.split_at_mut(layout.logits);
        let (viterbi, rest) = rest.split_at_mut(layout.viterbi);
        let (new_state, work) = rest.split_at_mut(layout.state);
        let feats: &mut [f32] = bytemuck::cast_slice_mut(feats);
        let logits: &mut [f32] = bytemuck::cast_slice_mut(logits);
        // A unidirectional LSTM runs on a copy of the state (zero for `tag`), which
        // reaches the caller's state only when the call succeeds.
        let new_state: &mut [f32] = bytemuck::cast_slice_mut(new_state);
        match &state {
            Some(s) => new_state.copy_from_slice(s),
            None => new_state.fill(0.0),
        }

        // Phase 1: every lookup and the char features. All input errors surface
        // here, before any output or state is touched.
        // (Firmware builds take no cache: none of its code is linked.)
        let firmware = cfg!(target_os = "none");
        let (cache_room, lanes_room) = extra.split_at_mut(cache_words);
        let mut own = match (&self.chars, cache_words == 0 || firmware) {
            // The interleaved copies pay for themselves from two words on.
            (Some(chars), false) => Some(chars.cache(cache_room, n >= 2)),
            _ => None,
        };
        let lanes_room = &mut lanes_room[..lanes_words];
        self.lookups(
            tokens.iter(),
            n,
            rows,
            feats,
            work,
            block,
            own.as_mut(),
            lanes_room,
        )?;

        // Phase 2: the word LSTM; its last layer feeds hidden2tag directly.
        let lstm_state = (!new_state.is_empty()).then_some(&mut *new_state);
        let copies = bytemuck::cast_slice_mut(&mut extra[..copy_words]);
        self.word_lstm(rows, feats, lstm_state, work, logits, (block, copies));

        // Phase 3: log_softmax per token, then decode. A NaN score (which a blob's
        // bound of 2^48 on its values rules out) would be an error, never a tag.
        for row in logits.chunks_exact_mut(num_tags) {
            log_softmax(row);
        }
        if logits.iter().any(|v| v.is_nan()) {
            return Err(Error::NonFiniteScore);
        }
        match &self.crf {
            Some(crf) => crf.viterbi(logits, n, viterbi, tags_out)?,
            None => {
                for (tag, row) in tags_out.iter_mut().zip(logits.chunks_exact(num_tags)) {
                    *tag = argmax(row) as u16;
                }
            }
        }
        if let Some(out) = scores_out {
            out[..n * num_tags].copy_from_slice(logits);
        }
        if let Some(s) = state {
            s.copy_from_slice(new_state);
        }
        Ok(())
    }

    /// Phase 1 of tagging `n` tokens: each token's embedding row into `rows` and its
    /// char features into `feats` (n, F), `work` being the shared working memory.
    /// Every input error surfaces here, in token order. A token whose bytes equal one
    /// of the [`REUSE_WINDOW`] tokens before it takes that token's row and its char
    /// features: the same values, computed once (side by side, a word's features do not
    /// depend on the words beside it).
    /// `cache`: the char projection cache of an int8 char net, if the call has room for
    /// it; `lanes_room`: room for the distinct chars' projections of an f32 char net
    /// side by side ([`CharNet::lanes_cache_words`]), or empty.
    #[allow(clippy::too_many_arguments)] // The outputs, then the working memories.
    fn lookups<'t, T: AsRef<[u8]> + 't>(
        &self,
        tokens: impl Iterator<Item = &'t T> + Clone,
        n: usize,
        rows: &mut [u32],
        feats: &mut [f32],
        work: &mut [u32],
        block: usize,
        mut cache: Option<&mut CharCache<'_>>,
        lanes_room: &mut [u32],
    ) -> Result<(), Error> {
        let feat_dim = self.config.chars.map_or(0, |c| c.feature_dim());
        // Side by side, the char net runs on groups of as many words as the working
        // memory holds char-id tables for (at least a full set of lanes), in order.
        let lanes = self
            .chars
            .as_ref()
            .filter(|c| c.runs_in_lanes_now())
            .map(|c| (c, c.lanes_capacity(work.len())))
            .filter(|&(_, cap)| cap >= BATCH_LANES);
        let (mut group_start, mut in_group) = (0, 0);
        // The group's tokens that take an earlier token's char features: (token, earlier).
        let mut copies = [(0u32, 0u32); REUSE_WINDOW];
        let mut copied = 0;
        // The tokens before token `i` that it is compared with, from the earliest.
        let mut window = tokens.clone();
        for (i, token) in tokens.enumerate().take(n) {
            let word = core::str::from_utf8(token.as_ref()).map_err(|_| Error::InvalidUtf8)?;
            let earlier = (i.saturating_sub(REUSE_WINDOW)..i)
                .zip(window.clone())
                .find(|(_, t)| t.as_ref() == token.as_ref())
                .map(|(j, _)| j);
            if i >= REUSE_WINDOW {
                window.next();
            }
            rows[i] = match earlier {
                Some(j) => rows[j],
                None => self.word_row(word).ok_or(Error::UnknownWord)?,
            };
            // The word LSTM reads the row after the char net has run: it arrives meanwhile.
            self.word_embedding.prefetch_row(rows[i] as usize);
            match (&self.chars, lanes) {
                (Some(chars), None) => {
                    let (done, out) = feats.split_at_mut(i * feat_dim);
                    let out = &mut out[..feat_dim];
                    match earlier {
                        Some(j) => out.copy_from_slice(&done[j * feat_dim..][..feat_dim]),
                        // (Firmware builds take no cache: none of its code is linked.)
                        None => match cache.as_deref_mut().filter(|_| !cfg!(target_os = "none")) {
                            Some(cache) => chars.features_cached(word, cache, work, out)?,
                            None => chars.features(word, work, out, block)?,
                        },
                    }
                }
                (_, Some((chars, cap))) => {
                    let k = chars.ids_len();
                    let entry = &mut work[in_group * k..(in_group + 1) * k];
                    match earlier {
                        // An entry of no characters (nothing to run), its features
                        // copied from the earlier token's once the group has run.
                        Some(j) => {
                            entry[0] = 0;
                            copies[copied] = (i as u32, j as u32);
                            copied += 1;
                        }
                        None => chars.char_ids(word, entry)?,
                    }
                    in_group += 1;
                    if in_group == cap || copied == copies.len() || i + 1 == n {
                        let out = &mut feats[group_start * feat_dim..(i + 1) * feat_dim];
                        // The distinct chars' projections in the larger of the room
                        // left in `work` and `lanes_room`.
                        let (group, spare) =
                            work.split_at_mut(in_group * chars.ids_len() + chars.lanes_state_len());
                        let room = match lanes_room.len() > spare.len() {
                            true => &mut *lanes_room,
                            false => spare,
                        };
                        chars.features_lanes(in_group, group, room, out);
                        // In token order: an earlier token copied in this group has its
                        // features before a later one copies them.
                        for &(i, j) in &copies[..copied] {
                            let (i, j) = (i as usize * feat_dim, j as usize * feat_dim);
                            feats.copy_within(j..j + feat_dim, i);
                        }
                        (group_start, in_group, copied) = (i + 1, 0, 0);
                    }
                }
                (None, None) => {}
            }
        }
        Ok(())
    }

    /// Runs the word LSTM; its last layer writes `hidden2tag` outputs into `logits` (n, T).
    /// Inputs are projected `block` tokens at a time; `copies` is room for the
    /// interleaved `W_hh` copies of [`Stack::run`], or empty.
    fn word_lstm(
        &self,
        rows: &[u32],
        feats: &[f32],
        state: Option<&mut [f32]>,
        work: &mut [u32],
        logits: &mut [f32],
        (block, copies): (usize, &mut [f32]),
    ) {
        let n = rows.len();
        let h = self.config.lstm.hidden as usize;
        let word_dim = self.config.words.dim as usize;
        let feat_dim = feats.len().checked_div(n).unwrap_or(0);
        let num_tags = self.num_tags();
        for row in logits.chunks_exact_mut(num_tags) {
            self.tag_bias.copy_into(row);
        }
        /// Inputs: `[x_w ; c_w]`; outputs: each direction's part of `hidden2tag`.
        struct Io<'x, 'a> {
            model: &'x Model<'a>,
            rows: &'x [u32],
            feats: &'x [f32],
            logits: &'x mut [f32],
            word_dim: usize,
            feat_dim: usize,
            h: usize,
        }
        impl StackIo for Io<'_, '_> {
            fn input(&mut self, t: usize, x: &mut [f32]) {
                let (xw, xc) = x.split_at_mut(self.word_dim);
                let word = self.rows[t] as usize;
                self.model.word_embedding.row_into(word, xw);
                xc.copy_from_slice(&self.feats[t * self.feat_dim..(t + 1) * self.feat_dim]);
            }
            fn output(&mut self, dir: usize, t: usize, h_t: &[f32], hq: &mut [i16]) -> Option<f32> {
                let num_tags = self.model.num_tags();
                let row = &mut self.logits[t * num_tags..(t + 1) * num_tags];
                self.model.add_tag_scores(dir * self.h, h_t, hq, row)
            }
        }
        let mut io = Io {
            model: self,
            rows,
            feats,
            logits,
            word_dim,
            feat_dim,
            h,
        };
        let (input, work) = (self.config.word_input_dim(), bytemuck::cast_slice_mut(work));
        self.lstm.run(n, input, work, state, &mut io, block, copies);
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec;

    use super::*;
    use crate::arch::{force, Level};

    /// The pinned test model: char BiLSTM, two bidirectional word LSTM layers, CRF.
    const TINY: &[u8] = include_bytes!("../../tests/golden/tiny.postag");

    #[test]
    fn windows_cover_every_token_once_and_fit_the_model() {
        for n in [
            0,
            1,
            MAX_TOKENS - 1,
            MAX_TOKENS,
            MAX_TOKENS + 1,
            3 * MAX_TOKENS + 17,
            20_000,
        ] {
            let w: vec::Vec<_> = sentence_windows(n).collect();
            let mut next = 0;
            for (window, kept) in &w {
                assert_eq!(kept.start, next, "n = {n}: kept ranges are consecutive");
                assert!(window.start <= kept.start && kept.end <= window.end);
                assert!(
                    window.len() <= MAX_TOKENS,
                    "n = {n}: window {window:?} too long"
                );
                assert!(kept.start - window.start == kept.start.min(WINDOW_CONTEXT));
                assert!(window.end - kept.end == (n - kept.end).min(WINDOW_CONTEXT));
                next = kept.end;
            }
            assert_eq!(next, n, "n = {n}: every token is answered for");
        }
        assert_eq!(sentence_windows(MAX_TOKENS).count(), 1);
        assert_eq!(sentence_windows(MAX_TOKENS + 1).count(), 2);
    }

    /// The char net's side-by-side schedule ([`CharNet::features_lanes`]) against the
    /// one-word-at-a-time one ([`CharNet::features`]), at every level: bit for bit the
    /// same with the char LSTM in panels, equal up to summation order in rows; and a
    /// word's features do not depend on the words beside it (bit for bit the same as
    /// when it is alone).
    #[test]
    #[cfg_attr(
        miri,
        ignore = "RandomModel::build calls libm's sqrtf, inline assembly"
    )]
    fn char_features_side_by_side_match_one_word_at_a_time() {
        use crate::synthetic::RandomModel;
        let counts: &[usize] = if cfg!(miri) { &[9] } else { &[1, 7, 8, 9, 23] };
        // Char LSTMs of 11 units (past whole vectors at every level) and of 16 (whole
        // vectors: the busy lanes' cells in two passes at `avx2` and `avx512`).
        let hidden: &[usize] = if cfg!(miri) { &[3] } else { &[11, 16] };
        let configs = [(true, true), (false, true), (true, false), (false, false)];
        let configs = hidden
            .iter()
            .flat_map(|&hc| configs.map(|(bidirectional, panels)| (hc, bidirectional, panels)));
        for (hc, bidirectional, panels) in configs {
            let spec = RandomModel {
                words: 40,
                word_dim: 6,
                chars: Some((5, hc)),
                hidden: 4,
                layers: 1,
                bidirectional: true,
                tags: 3,
                storage: Storage::F32,
                seed: 11 + bidirectional as u64,
            };
            let (blob, _) = spec.build_in(panels).unwrap();
            let mut model = Model::from_bytes(&blob).unwrap();
            let chars = model.chars.as_mut().unwrap();
            if !bidirectional {
                chars.lstm.shape.bidirectional = false;
            }
            let chars = *chars;
            assert!(chars.runs_in_lanes());
            assert_eq!(chars.lanes_by_row(), panels);
            let feat = chars.lstm.shape.output_dim();
            // Lengths 1 to 40: some longer than max_word_chars (32).
            let alphabet: vec::Vec<char> = chars.vocab().map(|(c, _)| c).collect();
            let words: vec::Vec<std::string::String> = (0..*counts.last().unwrap())
                .map(|i| {
                    let len = 1 + (i * 7 + i * i) % 40;
                    (0..len)
                        .map(|k| alphabet[(i * 13 + k * 5) % alphabet.len()])
                        .collect()
                })
                .collect();
            for level in Level::ALL.into_iter().filter(|l| l.is_supported()) {
                assert!(force(Some(level)));
                for &n in counts {
                    let k = chars.ids_len();
                    let mut work = vec![0u32; 1 << 16];
                    assert!(chars.lanes_capacity(work.len()) >= n);
                    for (i, w) in words[..n].iter().enumerate() {
                        chars.char_ids(w, &mut work[i * k..(i + 1) * k]).unwrap();
                    }
                    let mut lanes = vec![0f32; n * feat];
                    let (group, room) = work.split_at_mut(n * k + chars.lanes_state_len());
                    chars.features_lanes(n, group, room, &mut lanes);
                    // With no room for the distinct chars' projections: each occurrence
                    // projected in the lanes, the same bits.
                    let tight = n * k + chars.lanes_state_len();
                    for (i, w) in words[..n].iter().enumerate() {
                        chars.char_ids(w, &mut work[i * k..(i + 1) * k]).unwrap();
                    }
                    let mut uncached = vec![0f32; n * feat];
                    chars.features_lanes(n, &mut work[..tight], &mut [], &mut uncached);
                    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<vec::Vec<_>>();
                    assert_eq!(bits(&lanes), bits(&uncached), "{level:?} n={n}");
                    for (i, w) in words[..n].iter().enumerate() {
                        let mut one = vec![0f32; feat];
                        chars
                            .features(w, &mut work, &mut one, PROJECTION_BLOCK)
                            .unwrap();
                        let got = &lanes[i * feat..(i + 1) * feat];
                        if panels {
                            assert_eq!(bits(got), bits(&one), "{level:?} n={n} word {i}");
                        }
                        for (g, o) in got.iter().zip(&one) {
                            assert!(
                                (g - o).abs() <= 1e-5,
                                "{level:?} n={n} word {i}: {got:?} vs {one:?}"
                            );
                        }
                        let mut alone = vec![0f32; feat];
                        chars.char_ids(w, &mut work[..k]).unwrap();
                        let (group, room) = work.split_at_mut(k + chars.lanes_state_len());
                        chars.features_lanes(1, group, room, &mut alone);
                        assert_eq!(
                            got,
                            &alone[..],
                            "{level:?} n={n} word {i}: neighbours changed it"
                        );
                    }
                }
            }
            force(None);
        }
    }

    /// Tags `tokens` in `scratch` (from `state` if given): the tags and the bits of the
    /// scores.
    fn tagged(
        model: &Model<'_>,
        tokens: &[&str],
        scratch: &mut [u8],
        state: Option<&mut [f32]>,
    ) -> (vec::Vec<u16>, vec::Vec<u32>) {
        let n = tokens.len();
        let mut tags = vec![0u16; n];
        let mut scores = vec![0f32; n * model.num_tags()];
        let scores_out = Some(&mut scores[..]);
        match state {
            Some(state) => model.tag_from_state(tokens, state, scratch, &mut tags, scores_out),
            None => model.tag(tokens, scratch, &mut tags, scores_out),
        }
        .unwrap();
        (tags, scores.iter().map(|s| s.to_bits()).collect())
    }

    /// The char projection cache ([`Model::cached_scratch_bytes`]) gives int8 and f32
    /// char nets the tags and score bits of the call without it, at every level: odd and
    /// even sizes, words longer than `max_word_chars`, more distinct characters than the
    /// cache holds, one-token calls (no interleaved copy); and its bytes are used where
    /// the call takes it.
    #[test]
    #[cfg_attr(
        miri,
        ignore = "RandomModel::build calls libm's sqrtf, inline assembly"
    )]
    fn the_char_projection_cache_changes_no_bit() {
        use crate::synthetic::RandomModel;
        use crate::tensor::Storage;
        for storage in [Storage::I8, Storage::F32] {
            for (k, (dim, hidden)) in [(5, 4), (20, 17), (8, 48)].into_iter().enumerate() {
                let spec = RandomModel {
                    words: 30,
                    word_dim: 6,
                    chars: Some((dim, hidden)),
                    hidden: 5,
                    layers: 1,
                    bidirectional: true,
                    tags: 4,
                    storage,
                    seed: 40 + k as u64,
                };
                let (blob, words) = spec.build().unwrap();
                let model = Model::from_bytes(&blob).unwrap();
                let int8 = storage == Storage::I8 && !cfg!(target_os = "none");
                // (f32: the distinct chars of the words side by side.)
                assert!(model.char_cache_bytes() > 0, "{storage:?}");
                let alphabet: vec::Vec<char> = "etaoinshrdlucmfwypvbgkqjxzETAO0123456789-.,'é"
                    .chars()
                    .collect();
                // Known words, and made-up ones of 1 to 40 chars over 45 letters
                // (one unknown to the vocabulary).
                let mut tokens: vec::Vec<std::string::String> = words[..6].to_vec();
                tokens.extend((0..34).map(|i| {
                    (0..1 + (i * 7 + i * i) % 40)
                        .map(|j| alphabet[(i * 11 + j * j * 3 + j) % alphabet.len()])
                        .collect()
                }));
                // One buffer for every cached call, first filled with garbage: a
                // call reads nothing an earlier one left.
                let mut reused = vec![0xA5u8; model.cached_scratch_bytes(40).unwrap()];
                for n in [1, 2, 9, 40] {
                    let sentence: vec::Vec<&str> = tokens[..n].iter().map(|t| t.as_str()).collect();
                    let cached = model.cached_scratch_bytes(n).unwrap();
                    let plain = model.scratch_bytes(n).unwrap();
                    let copy = 4 * model.lstm.copy_words();
                    assert_eq!(cached - plain, model.char_cache_bytes().max(copy));
                    for level in Level::ALL.into_iter().filter(|l| l.is_supported()) {
                        assert!(force(Some(level)));
                        let run = |scratch: &mut [u8]| tagged(&model, &sentence, scratch, None);
                        let what = std::format!("{storage:?} chars {dim}/{hidden} n {n} {level:?}");
                        let want = run(&mut vec![0u8; plain]);
                        assert_eq!(run(&mut reused[..cached]), want, "{what}");
                        // The cache's bytes past the plain scratch were used: by every
                        // int8 char net; by an f32 one where it runs side by side (not at
                        // the scalar level, and only where the working memory holds
                        // eight words' char ids) on no more distinct chars than it holds.
                        let distinct = sentence
                            .iter()
                            .flat_map(|t| t.chars())
                            .collect::<std::collections::BTreeSet<char>>()
                            .len();
                        let l = Layout::new(&model, n, PROJECTION_BLOCK).unwrap();
                        let work = l.total - l.rows - l.feats - l.logits - l.viterbi - l.state;
                        let chars = model.chars.as_ref().unwrap();
                        let f32_cached = storage == Storage::F32
                            && chars.runs_in_lanes_now()
                            && chars.lanes_capacity(work) >= BATCH_LANES
                            && distinct <= chars::CACHED_CHARS;
                        if int8 || f32_cached {
                            let mut fresh = vec![0xA5u8; cached];
                            assert_eq!(run(&mut fresh), want, "{what}, fresh");
                            let used = fresh[plain..].iter().any(|&b| b != 0xA5);
                            assert!(used, "{what}: the cache's bytes unused");
                        }
                        // (f32 char nets may run side by side in more scratch: equal
                        // up to rounding only.)
                        if int8 {
                            assert_eq!(run(&mut reused), want, "{what}, more scratch");
                        }
                    }
                    force(None);
                }
                // `tag_batch` keeps one cache for all its sentences, started afresh
                // when full (these 40 tokens have more distinct chars than it holds
                // here): each sentence as `tag` without the cache tags it.
                if storage == Storage::I8 {
                    let batch: vec::Vec<vec::Vec<&str>> = tokens
                        .chunks(3)
                        .map(|c| c.iter().map(|t| t.as_str()).collect())
                        .collect();
                    let total = tokens.len();
                    let mut scratch = vec![0xA5u8; model.batch_scratch_bytes(total, 3).unwrap()];
                    let (mut tags, mut scores) = (vec![0u16; total], vec![0f32; total * 4]);
                    model
                        .tag_batch(&batch, &mut scratch, &mut tags, Some(&mut scores))
                        .unwrap();
                    for (i, s) in batch.iter().enumerate() {
                        let mut one = vec![0u8; model.scratch_bytes(s.len()).unwrap()];
                        let (mut t, mut sc) = (vec![0u16; s.len()], vec![0f32; s.len() * 4]);
                        model.tag(s, &mut one, &mut t, Some(&mut sc)).unwrap();
                        assert_eq!(&tags[3 * i..3 * i + s.len()], &t[..], "sentence {i}");
                        let bits =
                            |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<vec::Vec<_>>();
                        assert_eq!(
                            bits(&scores[12 * i..12 * i + 4 * s.len()]),
                            bits(&sc),
                            "sentence {i}"
                        );
                    }
                }
            }
        }
    }

    /// The interleaved copy of an int8 word `W_hh` that [`Model::cached_scratch_bytes`]
    /// makes room for at `sse2` gives the tags and score bits of a call without it, at
    /// every level, tagging and streaming: one to three layers, one or two directions,
    /// hidden sizes whose 4H rows end in a partial block of 8, odd and even columns;
    /// calls of one and two tokens (no copy). The room is the documented size at every
    /// level (the char cache's bytes, or the copy's if more); f32 models take none.
    #[test]
    #[cfg_attr(
        miri,
        ignore = "RandomModel::build calls libm's sqrtf, inline assembly"
    )]
    fn the_word_w_hh_copy_changes_no_bit() {
        use crate::synthetic::RandomModel;
        use crate::tensor::Storage;
        let shapes = [
            (5, 1, true),
            (9, 2, true),
            (8, 3, false),
            (33, 1, false),
            (20, 2, true),
        ];
        for storage in [Storage::I8, Storage::F32] {
            for (k, &(hidden, layers, bidirectional)) in shapes.iter().enumerate() {
                let spec = RandomModel {
                    words: 30,
                    word_dim: 7,
                    chars: (k % 2 == 0).then_some((4, 6)),
                    hidden,
                    layers,
                    bidirectional,
                    tags: 5,
                    storage,
                    seed: 70 + k as u64,
                };
                let (blob, words) = spec.build().unwrap();
                let model = Model::from_bytes(&blob).unwrap();
                let sentence: vec::Vec<&str> =
                    (0..23).map(|i| words[(i * 7) % 30].as_str()).collect();
                for level in Level::ALL.into_iter().filter(|l| l.is_supported()) {
                    assert!(force(Some(level)));
                    let what =
                        std::format!("{storage:?} {hidden} x {layers} {bidirectional} {level:?}");
                    let pairs = 8 * (4 * hidden).div_ceil(8) * 2 * hidden.div_ceil(2);
                    let copy = match storage == Storage::I8 && cfg!(postag_x86) {
                        true => 4 * (pairs.div_ceil(2) + 7),
                        false => 0,
                    };
                    for n in [1, 2, 3, 23] {
                        let tokens = &sentence[..n];
                        let plain = model.scratch_bytes(n).unwrap();
                        let cached = model.cached_scratch_bytes(n).unwrap();
                        assert_eq!(cached - plain, model.char_cache_bytes().max(copy), "{what}");
                        let run = |scratch: &mut [u8], state: Option<&mut [f32]>| {
                            tagged(&model, tokens, scratch, state)
                        };
                        // Garbage in the scratch: a call reads nothing it did not write.
                        let want = run(&mut vec![0u8; plain], None);
                        let mut more = vec![0xA5u8; cached];
                        assert_eq!(run(&mut more, None), want, "{what} n {n}");
                        // Without chars only the copy writes past `plain`: it is made
                        // exactly where documented.
                        if model.chars.is_none() {
                            let made = copy > 0 && level == Level::Sse2 && n >= 3;
                            let written = more[plain..].iter().any(|&b| b != 0xA5);
                            assert_eq!(written, made, "{what} n {n}: copy made");
                        }
                        if model.has_state() {
                            let start: vec::Vec<f32> = (0..model.state_len())
                                .map(|i| (i as f32 * 0.37).sin())
                                .collect();
                            let (mut a, mut b) = (start.clone(), start);
                            let want = run(&mut vec![0u8; plain], Some(&mut a));
                            let got = run(&mut vec![0xA5u8; cached], Some(&mut b));
                            assert_eq!(got, want, "{what} n {n}, from a state");
                            let bits =
                                |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<vec::Vec<_>>();
                            assert_eq!(bits(&a), bits(&b), "{what} n {n}: final state");
                        }
                    }
                }
                force(None);
            }
        }
    }

    /// A word LSTM whose layers differ in storage (int8 and f32, in rows or panels, in
    /// either order) tags as it does without the `W_hh` copies at every level: only its
    /// int8 cells are copied.
    #[test]
    #[cfg_attr(miri, ignore = "slow under Miri")]
    fn a_word_lstm_of_mixed_storage_tags_alike_with_the_copies() {
        use crate::builder::BlobBuilder;
        use crate::format::{LstmPart, LstmShape, Net, Role, TagColumn, WordConfig};
        use crate::tensor::Storage;
        let (hidden, dim, words) = (20, 3, ["a", "b", "c", "d", "e", "f"]);
        for (first, second, panels) in [
            (Storage::I8, Storage::F32, false),
            (Storage::I8, Storage::F32, true),
            (Storage::F32, Storage::I8, true),
        ] {
            let config = Config {
                words: WordConfig {
                    rows: 7,
                    dim: dim as u32,
                    unknown: Some(6),
                    normalize: 0,
                },
                chars: None,
                lstm: LstmShape {
                    hidden: hidden as u32,
                    layers: 2,
                    bidirectional: true,
                },
                tags: 4,
                crf: false,
                tag_column: TagColumn::Upos,
            };
            let mut b = BlobBuilder::new(config);
            let mut rng = crate::synthetic::Rng(0x9E37_79B9);
            let mut values =
                |n: usize| -> vec::Vec<f32> { (0..n).map(|_| rng.uniform(0.5)).collect() };
            b.weights(Role::WordEmbedding, 7, dim, &values(7 * dim), Storage::F32)
                .unwrap();
            b.words(words.iter().enumerate().map(|(i, &w)| (w, i as u32)))
                .unwrap();
            let g = 4 * hidden;
            for (layer, storage) in [(0u8, first), (1, second)] {
                let cols = if layer == 0 { dim } else { 2 * hidden };
                for reverse in [false, true] {
                    let role = |part| Role::Lstm {
                        net: Net::Word,
                        layer,
                        reverse,
                        part,
                    };
                    for (part, cols) in [
                        (LstmPart::InputWeights, cols),
                        (LstmPart::HiddenWeights, hidden),
                    ] {
                        let w = values(g * cols);
                        match (storage, panels) {
                            (Storage::F32, true) => b.weights_in_panels(role(part), g, cols, &w),
                            _ => b.weights(role(part), g, cols, &w, storage),
                        }
                        .unwrap();
                    }
                    b.vector(role(LstmPart::Bias), &values(g)).unwrap();
                }
            }
            b.weights(
                Role::TagWeights,
                4,
                2 * hidden,
                &values(8 * hidden),
                Storage::F32,
            )
            .unwrap();
            b.vector(Role::TagBias, &values(4)).unwrap();
            b.tag_names(["A", "B", "C", "D"]).unwrap();
            let blob = b.finish().unwrap();
            let model = Model::from_bytes(&blob).unwrap();
            let tokens = ["a", "b", "c", "d", "e", "f", "a", "c"];
            let n = tokens.len();
            let (plain, cached) = (
                model.scratch_bytes(n).unwrap(),
                model.cached_scratch_bytes(n).unwrap(),
            );
            let pairs = 8 * g.div_ceil(8) * 2 * hidden.div_ceil(2);
            let copy = 4 * (pairs.div_ceil(2) + 7);
            assert_eq!(cached - plain, if cfg!(postag_x86) { copy } else { 0 });
            for level in Level::ALL.into_iter().filter(|l| l.is_supported()) {
                assert!(force(Some(level)));
                let run = |scratch: &mut [u8]| tagged(&model, &tokens, scratch, None);
                let what = std::format!("{first:?} then {second:?}, panels {panels}, {level:?}");
                let want = run(&mut vec![0u8; plain]);
                assert_eq!(run(&mut vec![0xA5u8; cached]), want, "{what}");
            }
            force(None);
        }
    }

    /// Phase 1 reuses the row and char features of an equal token among the
    /// [`REUSE_WINDOW`] before it: every token's row and features are bit for bit those
    /// computed for it alone, whether an equal token comes just before, further back
    /// than the window, differs only in case, or is an unknown word.
    #[test]
    #[cfg_attr(
        miri,
        ignore = "RandomModel::build calls libm's sqrtf, inline assembly"
    )]
    fn equal_tokens_get_the_lookups_computed_alone() {
        use crate::synthetic::RandomModel;
        use crate::tensor::Storage;
        for storage in [Storage::I8, Storage::F32] {
            let spec = RandomModel {
                words: 48,
                word_dim: 5,
                chars: Some((4, 9)),
                hidden: 6,
                layers: 1,
                bidirectional: true,
                tags: 3,
                storage,
                seed: 5,
            };
            let (blob, words) = spec.build().unwrap();
            let model = Model::from_bytes(&blob).unwrap();
            let chars = model.chars.unwrap();
            let feat = chars.lstm.shape.output_dim();
            let upper = words[1].to_uppercase();
            let mut tokens: vec::Vec<&str> = vec![&words[1], &words[2], &words[1], &upper];
            tokens.extend(words[3..3 + REUSE_WINDOW].iter().map(|w| w.as_str()));
            // Equal to token 2, 33 tokens back: beyond the window.
            tokens.push(&words[1]);
            tokens.extend(["never-a-word", ",", "never-a-word", ",", &words[2]]);
            // More equal tokens than a group of the side-by-side schedule records.
            tokens.extend((0..2 * REUSE_WINDOW + 3).map(|i| words[40 + i % 3].as_str()));
            let n = tokens.len();
            for level in [Level::Scalar, crate::arch::best()] {
                assert!(force(Some(level)));
                // Side by side: groups as large as the working memory allows, then of 9
                // (their distinct chars projected in no room, then in `lanes_room`).
                let lanes = chars.runs_in_lanes_now();
                let small = chars.lanes_state_len() + 9 * chars.ids_len();
                let room = chars.lanes_cache_words().unwrap_or(0);
                let sizes: &[(usize, usize)] = match lanes {
                    true => &[(1 << 16, 0), (small, 0), (small, room)],
                    false => &[(1 << 16, 0)],
                };
                for &(size, room) in sizes {
                    let mut work = vec![0u32; size.max(1 << 12)];
                    let work = &mut work[..size];
                    let mut lanes_room = vec![0xA5A5_A5A5u32; room];
                    let (mut rows, mut feats) = (vec![0u32; n], vec![0f32; n * feat]);
                    model
                        .lookups(
                            tokens.iter(),
                            n,
                            &mut rows,
                            &mut feats,
                            work,
                            1,
                            None,
                            &mut lanes_room,
                        )
                        .unwrap();
                    // Groups of 9 words with few enough distinct chars took the room.
                    assert_eq!(room > 0, lanes_room.iter().any(|&w| w != 0xA5A5_A5A5));
                    for (i, w) in tokens.iter().enumerate() {
                        assert_eq!(Some(rows[i]), model.word_row(w), "{level:?} token {i}");
                        let mut alone = vec![0f32; feat];
                        let mut work = vec![0u32; 1 << 16];
                        if lanes {
                            chars.char_ids(w, &mut work[..chars.ids_len()]).unwrap();
                            let (group, room) =
                                work.split_at_mut(chars.ids_len() + chars.lanes_state_len());
                            chars.features_lanes(1, group, room, &mut alone);
                        } else {
                            chars.features(w, &mut work, &mut alone, 1).unwrap();
                        }
                        let got = &feats[i * feat..(i + 1) * feat];
                        assert_eq!(got, &alone[..], "{level:?} {size} token {i} {w:?}");
                    }
                }
            }
            force(None);
        }
    }

    /// Score of a tag path under the CRF: start, emissions, transitions, end.
    fn path_score(crf: &Crf<'_>, e: &[f32], t: usize, path: &[u16]) -> f64 {
        let mut s =
            (crf.start.get(path[0] as usize) + crf.end.get(path[path.len() - 1] as usize)) as f64;
        for (i, &p) in path.iter().enumerate() {
            s += e[i * t + p as usize] as f64;
            if i > 0 {
                s += crf.transitions.get(path[i - 1] as usize * t + p as usize) as f64;
            }
        }
        s
    }

    /// The scalar forward pass of a model with every feature: scores are
    /// log-probabilities (each row's exponentials sum to 1) and the Viterbi path
    /// scores at least as high as any other path tried. Small enough to run under
    /// Miri, which checks every access of the pass.
    #[test]
    fn scalar_tagging_gives_log_probabilities_and_the_best_path() {
        assert!(force(Some(Level::Scalar)));
        let model = Model::from_bytes(TINY).unwrap();
        let t = model.num_tags();
        let tokens = ["The", "dog", "ate", "7", "ÑANDÚ", "cat"];
        let n = tokens.len();
        let mut scratch = vec![0u8; model.scratch_bytes(n).unwrap()];
        let (mut tags, mut scores) = (vec![0u16; n], vec![0f32; n * t]);
        model
            .tag(&tokens, &mut scratch, &mut tags, Some(&mut scores))
            .unwrap();
        for row in scores.chunks_exact(t) {
            let total: f64 = row.iter().map(|&s| libm::exp(s as f64)).sum();
            assert!((total - 1.0).abs() < 1e-5, "{row:?}");
        }
        let crf = model.crf().expect("the tiny model has a CRF");
        let best = path_score(crf, &scores, t, &tags);
        let argmax_path: vec::Vec<u16> = scores.chunks_exact(t).map(|r| argmax(r) as u16).collect();
        assert!(best >= path_score(crf, &scores, t, &argmax_path) - 1e-5);
        for k in 0..t {
            for i in 0..n {
                let mut other = tags.clone();
                other[i] = k as u16;
                assert!(best >= path_score(crf, &scores, t, &other) - 1e-5);
            }
        }
        force(None);
    }
}
