//! The scratch layout of one tagging call: what lives where in the caller's buffer.

use super::lstm::Stack;
use super::{Model, MAX_TOKENS};

/// Sizes, in 4-byte words, of the scratch regions for one call of `n` tokens
/// (documented as a formula in `core/README.md`, "Memory"; all zero for `n = 0`).
pub(super) struct Layout {
    /// (n,) embedding row of each token.
    pub(super) rows: usize,
    /// (n, F) char features.
    pub(super) feats: usize,
    /// (n, T) hidden2tag outputs, then log-probabilities.
    pub(super) logits: usize,
    /// Viterbi's two (T,) score rows and (n, T) u16 backpointers.
    pub(super) viterbi: usize,
    /// (2 L H,) the copy of a unidirectional LSTM's state.
    pub(super) state: usize,
    /// All of them plus the shared LSTM working memory.
    pub(super) total: usize,
}

impl Layout {
    /// The layout for `n` tokens, LSTM inputs projected `block` steps at a time.
    pub(super) fn new(model: &Model<'_>, n: usize, block: usize) -> Option<Self> {
        if n > MAX_TOKENS {
            return None;
        }
        if n == 0 {
            return Some(Layout {
                rows: 0,
                feats: 0,
                logits: 0,
                viterbi: 0,
                state: 0,
                total: 0,
            });
        }
        let cfg = &model.config;
        let tags = cfg.tags as usize;
        let feats = n * cfg.chars.map_or(0, |c| c.feature_dim());
        let logits = n * tags;
        // Two f32 score rows plus n*T u16 backpointers, rounded up to whole words.
        let viterbi = if cfg.crf {
            2 * tags + (n * tags).div_ceil(2)
        } else {
            0
        };
        // A unidirectional word LSTM runs on a copy of its state.
        let state = if model.has_state() {
            model.state_len()
        } else {
            0
        };
        // The char net runs before the word LSTM: they share the working memory.
        // (The char net's side-by-side schedule runs in what this reserves.)
        let char_work = cfg.chars.map_or(0, |c| {
            let m = c.max_word_chars as usize;
            m + Stack::work_len(&c.lstm, m, c.dim as usize, block)
        });
        let word_work = Stack::work_len(&cfg.lstm, n, cfg.word_input_dim(), block);
        let total = n + feats + logits + viterbi + state + char_work.max(word_work);
        Some(Layout {
            rows: n,
            feats,
            logits,
            viterbi,
            state,
            total,
        })
    }
}

impl Layout {
    /// Bytes of scratch for this layout: three bytes of slack let any buffer be aligned
    /// to 4 inside; a call with no tokens needs none.
    pub(super) fn bytes(&self) -> usize {
        if self.total == 0 {
            0
        } else {
            self.total * 4 + 3
        }
    }
}

/// The first `words` 4-byte-aligned words of `scratch`, if it is long enough.
pub(super) fn aligned_words(scratch: &mut [u8], words: usize) -> Option<&mut [u32]> {
    let skip = scratch.as_ptr().align_offset(4);
    let bytes = scratch.get_mut(skip..skip.checked_add(words.checked_mul(4)?)?)?;
    bytemuck::try_cast_slice_mut(bytes).ok()
}
