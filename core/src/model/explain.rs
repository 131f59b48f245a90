//! A tagging error told with the token at fault, for messages to people.

use core::fmt;

use super::Model;
use crate::vocab::word_chars;
use crate::Error;

/// An [`Error`] of a tagging call together with the tokens it was given; its
/// `Display` names the token at fault ("word \"cat\" is not in the model's vocabulary
/// ..."). Made by [`Model::explain`].
pub struct Explained<'m, 't, T> {
    model: &'m Model<'m>,
    tokens: &'t [T],
    error: Error,
}

impl<'m> Model<'m> {
    /// `error`, returned by tagging `tokens`, with the token at fault named when the
    /// error is about one token (an unknown word or character, an empty token).
    pub fn explain<'t, T: AsRef<[u8]>>(
        &'m self,
        tokens: &'t [T],
        error: Error,
    ) -> Explained<'m, 't, T> {
        Explained {
            model: self,
            tokens,
            error,
        }
    }
}

impl<T: AsRef<[u8]>> fmt::Display for Explained<'_, '_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words = || {
            self.tokens
                .iter()
                .filter_map(|t| core::str::from_utf8(t.as_ref()).ok())
        };
        match self.error {
            Error::UnknownWord => {
                let word = words()
                    .find(|w| self.model.word_row(w).is_none())
                    .unwrap_or("?");
                write!(
                    f,
                    "word {word:?} is not in the model's vocabulary and the model has no unknown-word entry"
                )
            }
            Error::UnknownChar => {
                // The characters the char net reads (a long word's middle is not read).
                let c = self.model.chars().and_then(|cn| {
                    words()
                        .flat_map(|w| word_chars(w, cn.max_word_chars))
                        .find(|&c| cn.row(c).is_none())
                });
                write!(
                    f,
                    "character {:?} is not in the model's char vocabulary and the model has no unknown-char entry",
                    c.unwrap_or('?')
                )
            }
            Error::EmptyToken => {
                let n = self.tokens.len();
                let i = self.tokens.iter().position(|t| t.as_ref().is_empty());
                write!(f, "token {} of {n} is empty", i.unwrap_or(0) + 1)
            }
            Error::TooManyTokens if self.tokens.len() > super::MAX_TOKENS => write!(
                f,
                "{} tokens, more than the {} the model reads in one call",
                self.tokens.len(),
                super::MAX_TOKENS
            ),
            // (A call with a smaller limit: a `Tagger`'s fixed scratch buffer.)
            Error::TooManyTokens => write!(
                f,
                "{} tokens, more than this call takes (a Tagger's max_tokens)",
                self.tokens.len()
            ),
            e => write!(f, "{e}"),
        }
    }
}
