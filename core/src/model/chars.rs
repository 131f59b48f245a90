//! Character features: `c_w`, the char LSTM's final hidden state over a word's
//! characters.

use super::lstm::Stack;
use crate::tensor::{Matrix, U32s};
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
    /// Computes `c_w` of `word` into `out` (width of the last layer's output).
    pub(super) fn features(
        &self,
        word: &str,
        work: &mut [u32],
        out: &mut [f32],
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
        let ids = &ids[..m];
        self.lstm.run(
            m,
            self.embedding.cols(),
            bytemuck::cast_slice_mut(rest),
            None,
            &mut |t, x| self.embedding.row_into(ids[t] as usize, x),
            &mut |_, _, _| {},
            &mut |dir, h| out[dir * hc..(dir + 1) * hc].copy_from_slice(h),
        );
        Ok(())
    }
}
