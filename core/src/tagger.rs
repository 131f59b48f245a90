//! A model bundled with its scratch buffer, for firmware that wants one static object.

use crate::{Error, Model, MAX_TOKENS};

/// A [`Model`] and `BYTES` bytes of scratch memory, sized at compile time.
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
    /// even one token with this model.
    pub fn new(blob: &'a [u8]) -> Result<Self, Error> {
        let model = Model::from_bytes(blob)?;
        let fits = |n: usize| model.scratch_bytes(n).is_some_and(|b| b <= BYTES);
        if !fits(1) {
            return Err(Error::ScratchTooSmall);
        }
        // scratch_bytes grows with n: binary search for the largest n that fits.
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

    /// Most tokens one call can tag with this buffer.
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
