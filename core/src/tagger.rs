//! A model bundled with its scratch buffer, for firmware that wants one static object,
//! and the sizes that let the buffer be sized at compile time from a token count.

use crate::format::{Config, LstmShape};
use crate::{Error, Model, LOW_MEMORY_BLOCK, MAX_TOKENS, PROJECTION_BLOCK};

/// The sizes of a model that set its scratch memory, as constants: what
/// [`Model::scratch_bytes`] reads from a blob's [`Config`], written out so that a
/// [`Tagger`]'s buffer can be sized at compile time from a token count
/// ([`Dims::scratch_bytes`]). `postag inspect` prints them for a blob; [`Dims::of`] takes
/// them from a loaded model's config.
///
/// ```
/// use postag_core::format::LstmShape;
/// use postag_core::{CharDims, Dims, Tagger};
///
/// // The `nano` preset's English model (models/en_ewt_nano.postag).
/// const NANO: Dims = Dims {
///     word_dim: 24,
///     chars: Some(CharDims {
///         dim: 12,
///         max_word_chars: 24,
///         lstm: LstmShape { hidden: 16, layers: 1, bidirectional: true },
///     }),
///     lstm: LstmShape { hidden: 48, layers: 1, bidirectional: true },
///     tags: 17,
///     crf: false,
/// };
/// // Scratch for sentences of up to 32 tokens, counted by the compiler.
/// type NanoTagger<'a> = Tagger<'a, { NANO.scratch_bytes(32).unwrap() }>;
/// assert_eq!(NANO.scratch_bytes(32), Some(18_051));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dims {
    /// Word embedding size Dw.
    pub word_dim: u32,
    /// The char features, if the model has them.
    pub chars: Option<CharDims>,
    /// The word LSTM.
    pub lstm: LstmShape,
    /// Number of tags T.
    pub tags: u32,
    /// Whether the model decodes with CRF transitions (Viterbi).
    pub crf: bool,
}

/// The char features' part of [`Dims`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CharDims {
    /// Char embedding size Dc.
    pub dim: u32,
    /// Longest word the char LSTM reads whole.
    pub max_word_chars: u32,
    /// The char LSTM.
    pub lstm: LstmShape,
}

impl Dims {
    /// The sizes of the model `config` describes.
    pub const fn of(config: &Config) -> Dims {
        Dims {
            word_dim: config.words.dim,
            chars: match config.chars {
                Some(c) => Some(CharDims {
                    dim: c.dim,
                    max_word_chars: c.max_word_chars,
                    lstm: c.lstm,
                }),
                None => None,
            },
            lstm: config.lstm,
            tags: config.tags,
            crf: config.crf,
        }
    }

    /// Scratch bytes to tag up to `tokens` tokens in one call: what
    /// [`Model::scratch_bytes`] gives for a model of these sizes (the formula of
    /// `core/README.md`, "Memory"), at compile time; `None` above [`MAX_TOKENS`].
    pub const fn scratch_bytes(&self, tokens: usize) -> Option<usize> {
        self.bytes_for(tokens, PROJECTION_BLOCK)
    }

    /// The least scratch that tags up to `tokens` tokens: what
    /// [`Model::min_scratch_bytes`] gives (the low-memory schedule), at compile time.
    pub const fn min_scratch_bytes(&self, tokens: usize) -> Option<usize> {
        self.bytes_for(tokens, LOW_MEMORY_BLOCK)
    }

    /// The formula, LSTM inputs projected `block` steps at a time.
    const fn bytes_for(&self, tokens: usize, block: usize) -> Option<usize> {
        let n = tokens;
        if n > MAX_TOKENS {
            return None;
        }
        if n == 0 {
            return Some(0);
        }
        let t = self.tags as usize;
        let (features, char_work) = match self.chars {
            Some(c) => {
                let m = c.max_word_chars as usize;
                (
                    output_dim(&c.lstm),
                    m + work_words(&c.lstm, m, c.dim as usize, block),
                )
            }
            None => (0, 0),
        };
        let viterbi = if self.crf {
            2 * t + (n * t).div_ceil(2)
        } else {
            0
        };
        // A unidirectional word LSTM runs on a copy of its (h, c).
        let state = if self.lstm.bidirectional {
            0
        } else {
            2 * self.lstm.layers as usize * self.lstm.hidden as usize
        };
        let word_work = work_words(&self.lstm, n, self.word_dim as usize + features, block);
        let work = if char_work > word_work {
            char_work
        } else {
            word_work
        };
        // 4-byte words, plus three bytes to align any buffer.
        Some(4 * (n * (1 + features + t) + viterbi + state + work) + 3)
    }
}

/// H times the directions.
const fn output_dim(shape: &LstmShape) -> usize {
    shape.hidden as usize * if shape.bidirectional { 2 } else { 1 }
}

/// Words of LSTM working memory for `steps` steps of a first layer `input` wide:
/// stacked layers' outputs, then one direction's block of projections and its state.
const fn work_words(shape: &LstmShape, steps: usize, input: usize, block: usize) -> usize {
    let (h, d) = (shape.hidden as usize, output_dim(shape));
    let outputs = match shape.layers {
        0 | 1 => 0,
        2 => steps * d,
        _ => 2 * steps * d,
    };
    let block = if steps < block { steps } else { block };
    let width = if input > d { input } else { d };
    // Inputs and projections of a block, a decoded row, h and c, then the i16 copies
    // of h and of the block's inputs (for int8 weights) and the inputs' scales.
    outputs
        + block * (width + 4 * h)
        + width
        + 2 * h
        + h.div_ceil(2)
        + (block * width).div_ceil(2)
        + block
}

/// A [`Model`] and `BYTES` bytes of scratch memory, sized at compile time (by hand, or
/// from a token count with [`Dims::scratch_bytes`]).
///
/// ```
/// # fn demo(blob: &[u8]) -> Result<(), postag_core::Error> {
/// let mut tagger = postag_core::Tagger::<'_, 16384>::new(blob)?;
/// let mut tags = [0u16; 8];
/// tagger.tag(&["The", "dog", "barks"], &mut tags)?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Tagger<'a, const BYTES: usize> {
    model: Model<'a>,
    scratch: [u8; BYTES],
    max_tokens: usize,
}

impl<'a, const BYTES: usize> Tagger<'a, BYTES> {
    /// Loads and validates `blob`; `Error::ScratchTooSmall` if `BYTES` cannot tag
    /// even one token with this model (less than [`Model::min_scratch_bytes`] for one).
    /// Calls take the schedule [`Model::tag`] takes for the buffer: the default one
    /// while the sentence's [`Model::scratch_bytes`] fits, else the low-memory one (the
    /// same results bit for bit with int8 weights and at the scalar level; f32 vector
    /// kernels round a token's input projection alone differently, in the last bits).
    pub fn new(blob: &'a [u8]) -> Result<Self, Error> {
        // The CRC first, while the model takes no stack here.
        Self::new_verified(crate::format::verify(blob)?)
    }

    /// [`Tagger::new`] after the CRC, in a frame of its own.
    #[inline(never)]
    fn new_verified(blob: crate::format::Verified<'a>) -> Result<Self, Error> {
        let model = Model::from_verified(blob)?;
        let fits = |n: usize| model.min_scratch_bytes(n).is_some_and(|b| b <= BYTES);
        if !fits(1) {
            return Err(Error::ScratchTooSmall);
        }
        // min_scratch_bytes grows with n: binary search for the largest n that fits.
        let (mut lo, mut hi) = (1, MAX_TOKENS);
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if fits(mid) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        Ok(Tagger {
            model,
            scratch: [0; BYTES],
            max_tokens: lo,
        })
    }

    /// The model.
    pub fn model(&self) -> &Model<'a> {
        &self.model
    }

    /// Most tokens one call can tag with this buffer: the largest `n` whose
    /// [`Model::min_scratch_bytes`] is at most `BYTES` (a buffer sized with
    /// [`Dims::scratch_bytes`] for `n` tokens holds more with the low-memory schedule).
    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    /// Tags `tokens` into `tags` (see [`Model::tag`]); `Error::TooManyTokens` beyond
    /// [`Tagger::max_tokens`].
    pub fn tag<T: AsRef<[u8]>>(&mut self, tokens: &[T], tags: &mut [u16]) -> Result<(), Error> {
        if tokens.len() > self.max_tokens {
            return Err(Error::TooManyTokens);
        }
        self.model.tag(tokens, &mut self.scratch, tags, None)
    }

    /// Tags `tokens` with scores (see [`Model::tag`]).
    pub fn tag_with_scores<T: AsRef<[u8]>>(
        &mut self,
        tokens: &[T],
        tags: &mut [u16],
        scores: &mut [f32],
    ) -> Result<(), Error> {
        if tokens.len() > self.max_tokens {
            return Err(Error::TooManyTokens);
        }
        self.model
            .tag(tokens, &mut self.scratch, tags, Some(scores))
    }
}

/// Fixed-capacity outputs ([`heapless::Vec`]) for firmware without a heap: no output
/// buffers to size by hand (feature `heapless`).
#[cfg(feature = "heapless")]
impl<const BYTES: usize> Tagger<'_, BYTES> {
    /// Tags `tokens` (see [`Model::tag`]) and returns the tags, at most `N`:
    /// `Error::OutputTooSmall` for more than `N` tokens, `Error::TooManyTokens` for more
    /// than [`Tagger::max_tokens`].
    ///
    /// ```
    /// # fn demo(blob: &[u8]) -> Result<(), postag_core::Error> {
    /// let mut tagger = postag_core::Tagger::<'_, 16384>::new(blob)?;
    /// let tags: heapless::Vec<u16, 16> = tagger.tag_vec(&["The", "dog", "barks"])?;
    /// # Ok(()) }
    /// ```
    pub fn tag_vec<const N: usize>(
        &mut self,
        tokens: &[impl AsRef<[u8]>],
    ) -> Result<heapless::Vec<u16, N>, Error> {
        let mut tags = zeroed_tags::<N>(tokens.len())?;
        self.tag(tokens, &mut tags)?;
        Ok(tags)
    }

    /// Tags `tokens` and returns the tags, at most `N`, and each token's row of scores
    /// (log-probabilities, see [`Model::tag`]) as `TAGS` floats: the model's tags in
    /// their order, then `f32::NEG_INFINITY` (log 0) for each of the `TAGS - T` entries
    /// beyond the model's `T`. Errors as [`Tagger::tag_vec`], and
    /// `Error::OutputTooSmall` if `TAGS` is below the model's number of tags.
    #[allow(clippy::type_complexity)]
    pub fn tag_vec_with_scores<const N: usize, const TAGS: usize>(
        &mut self,
        tokens: &[impl AsRef<[u8]>],
    ) -> Result<(heapless::Vec<u16, N>, heapless::Vec<[f32; TAGS], N>), Error> {
        let n = tokens.len();
        let t = self.model.num_tags();
        if TAGS < t {
            return Err(Error::OutputTooSmall);
        }
        let mut tags = zeroed_tags::<N>(n)?;
        let mut rows = heapless::Vec::<[f32; TAGS], N>::new();
        rows.resize(n, [f32::NEG_INFINITY; TAGS])
            .map_err(|_| Error::OutputTooSmall)?;
        let flat = rows.as_mut_slice().as_flattened_mut();
        self.tag_with_scores(tokens, &mut tags, &mut flat[..n * t])?;
        // The scores came packed, T per token: spread them to rows of TAGS, the last
        // row first, so that nothing is overwritten before it has moved.
        if TAGS > t {
            for k in (0..n).rev() {
                flat.copy_within(k * t..(k + 1) * t, k * TAGS);
                flat[k * TAGS + t..(k + 1) * TAGS].fill(f32::NEG_INFINITY);
            }
        }
        Ok((tags, rows))
    }
}

/// `n` zero tags in a vector of capacity `N`; `Error::OutputTooSmall` for `n > N`.
#[cfg(feature = "heapless")]
fn zeroed_tags<const N: usize>(n: usize) -> Result<heapless::Vec<u16, N>, Error> {
    let mut tags = heapless::Vec::new();
    tags.resize(n, 0).map_err(|_| Error::OutputTooSmall)?;
    Ok(tags)
}
