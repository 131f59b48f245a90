//! Vocabularies: word, char and tag indices, built from a treebank or read from a model.

use std::collections::HashMap;

use anyhow::{bail, Context, Result};
use postag_core::vocab::{normalized, word_chars};
use postag_core::Model;

use crate::conllu::{self, TagColumn};
use crate::nn;

/// How to build vocabularies from training data.
#[derive(Debug, Clone, Copy)]
pub struct VocabOptions {
    /// Tag column.
    pub column: TagColumn,
    /// Words seen fewer times than this share the unknown-word row.
    pub min_word_count: usize,
    /// `format::NORMALIZE_*` flags applied before word lookup.
    pub normalize: u8,
    /// Whether to build a char vocabulary.
    pub chars: bool,
    /// Characters seen fewer times than this share the unknown-char row.
    pub min_char_count: usize,
    /// The char LSTM reads at most this many characters per word.
    pub max_word_chars: usize,
}

/// Characters and their embedding rows.
#[derive(Debug, Clone, PartialEq)]
pub struct CharVocab {
    /// Index = embedding row.
    pub chars: Vec<char>,
    /// Inverse of `chars`.
    pub index: HashMap<char, u32>,
    /// Row for characters not in `chars`.
    pub unknown: Option<u32>,
    /// Embedding rows (at least `chars.len()`, plus one for `unknown`).
    pub rows: usize,
    /// See [`postag_core::vocab::word_chars`].
    pub max_word_chars: usize,
}

/// Word, char and tag vocabularies with their embedding rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Vocab {
    /// Normalization flags applied to words before lookup.
    pub normalize: u8,
    /// Normalized word -> embedding row.
    pub words: HashMap<String, u32>,
    /// Row for unknown words, if the model has one.
    pub unknown_word: Option<u32>,
    /// Word embedding rows.
    pub word_rows: usize,
    /// Char features.
    pub chars: Option<CharVocab>,
    /// Tag names; index = output column.
    pub tags: Vec<String>,
    /// Inverse of `tags`.
    pub tag_index: HashMap<String, u16>,
    /// Where the tags come from in CoNLL-U.
    pub column: TagColumn,
}

pub use postag_core::summary::normalize_names;

/// [`normalize_names`] as one phrase: "lowercase, fold digits", or "none".
pub fn normalize_name(flags: u8) -> String {
    match normalize_names(flags) {
        names if names.is_empty() => "none".into(),
        names => names.join(", "),
    }
}

/// The `format::NORMALIZE_*` flags for the two options.
pub fn normalize_flags(lowercase: bool, fold_digits: bool) -> u8 {
    use postag_core::format::{NORMALIZE_FOLD_DIGITS, NORMALIZE_LOWERCASE};
    (if lowercase { NORMALIZE_LOWERCASE } else { 0 })
        | (if fold_digits {
            NORMALIZE_FOLD_DIGITS
        } else {
            0
        })
}

/// Tag name -> output column.
fn index_tags(tags: &[String]) -> HashMap<String, u16> {
    tags.iter()
        .enumerate()
        .map(|(i, t)| (t.clone(), i as u16))
        .collect()
}

fn key(word: &str, flags: u8) -> String {
    normalized(word, flags).collect()
}

impl Vocab {
    /// Builds vocabularies from training sentences. Tags are sorted by name, so the
    /// same data always gives the same model layout.
    pub fn build(sentences: &[conllu::Sentence], opt: &VocabOptions) -> Result<Self> {
        let mut word_counts: HashMap<String, usize> = HashMap::new();
        let mut char_counts: HashMap<char, usize> = HashMap::new();
        let mut tags: Vec<String> = Vec::new();
        for w in sentences.iter().flat_map(|s| &s.words) {
            *word_counts.entry(key(&w.form, opt.normalize)).or_default() += 1;
            for c in word_chars(&w.form, opt.max_word_chars) {
                *char_counts.entry(c).or_default() += 1;
            }
            tags.push(w.tag(opt.column).to_string());
        }
        tags.sort();
        tags.dedup();
        if tags.is_empty() {
            bail!("the training data has no words");
        }
        if tags.len() > postag_core::format::MAX_TAGS as usize {
            bail!(
                "{} distinct tags; at most {} are supported",
                tags.len(),
                postag_core::format::MAX_TAGS
            );
        }
        // Frequent words first (ties by text): rows are stable for the same data.
        let mut kept: Vec<(String, usize)> = word_counts
            .into_iter()
            .filter(|(_, n)| *n >= opt.min_word_count)
            .collect();
        kept.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let words: HashMap<String, u32> = kept
            .into_iter()
            .enumerate()
            .map(|(i, (w, _))| (w, i as u32))
            .collect();
        let unknown_word = words.len() as u32;
        let chars = opt.chars.then(|| {
            let mut kept: Vec<(char, usize)> = char_counts
                .into_iter()
                .filter(|(_, n)| *n >= opt.min_char_count)
                .collect();
            kept.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            let chars: Vec<char> = kept.into_iter().map(|(c, _)| c).collect();
            CharVocab {
                index: chars
                    .iter()
                    .enumerate()
                    .map(|(i, &c)| (c, i as u32))
                    .collect(),
                unknown: Some(chars.len() as u32),
                rows: chars.len() + 1,
                chars,
                max_word_chars: opt.max_word_chars,
            }
        });
        Ok(Vocab {
            normalize: opt.normalize,
            word_rows: words.len() + 1,
            words,
            unknown_word: Some(unknown_word),
            chars,
            tag_index: index_tags(&tags),
            tags,
            column: opt.column,
        })
    }

    /// The vocabularies stored in a model blob.
    pub fn from_model(model: &Model<'_>) -> Self {
        let cfg = model.config();
        let tags: Vec<String> = model.tag_names().map(str::to_string).collect();
        let chars = model.chars().map(|c| {
            let cc = cfg.chars.expect("char net implies char config");
            let mut pairs: Vec<(char, u32)> = c.vocab().collect();
            pairs.sort_by_key(|p| p.1);
            CharVocab {
                chars: pairs.iter().map(|p| p.0).collect(),
                index: pairs.into_iter().collect(),
                unknown: cc.unknown,
                rows: cc.rows as usize,
                max_word_chars: cc.max_word_chars as usize,
            }
        });
        Vocab {
            normalize: cfg.words.normalize,
            words: model.vocab().map(|(w, r)| (w.to_string(), r)).collect(),
            unknown_word: cfg.words.unknown,
            word_rows: cfg.words.rows as usize,
            chars,
            tag_index: index_tags(&tags),
            tags,
            column: cfg.tag_column,
        }
    }

    /// Keeps the `max` most frequent words of a vocabulary made by [`Vocab::build`]
    /// (its rows are in frequency order); the others fall to the unknown row.
    pub fn truncate_words(&mut self, max: usize) {
        if self.words.len() <= max {
            return;
        }
        self.words.retain(|_, row| (*row as usize) < max);
        self.unknown_word = Some(max as u32);
        self.word_rows = max + 1;
    }

    /// How often each word row occurs in `sentences`.
    pub fn row_counts(&self, sentences: &[nn::Sentence]) -> Vec<u32> {
        let mut counts = vec![0u32; self.word_rows];
        for &w in sentences.iter().flat_map(|s| &s.words) {
            if let Some(c) = counts.get_mut(w as usize) {
                *c += 1;
            }
        }
        counts
    }

    /// Embedding row of `word`, the unknown row, or `None`.
    pub fn word_row(&self, word: &str) -> Option<u32> {
        self.words
            .get(&key(word, self.normalize))
            .copied()
            .or(self.unknown_word)
    }

    /// Whether `word` has its own row.
    pub fn is_known(&self, word: &str) -> bool {
        self.words.contains_key(&key(word, self.normalize))
    }

    /// Char rows of `word` as the core reads them.
    pub fn char_rows(&self, word: &str) -> Result<Vec<u32>> {
        let Some(cv) = &self.chars else {
            return Ok(Vec::new());
        };
        word_chars(word, cv.max_word_chars)
            .map(|c| match cv.index.get(&c).copied().or(cv.unknown) {
                Some(r) => Ok(r),
                None => bail!("character {c:?} of {word:?} is not in the model's char vocabulary"),
            })
            .collect()
    }

    /// A sentence as embedding rows; tags from `column` when `with_tags`. A word,
    /// character or tag the vocabularies lack (an `--init` model's) is an error naming
    /// `source` and the word's line.
    pub fn encode(
        &self,
        s: &conllu::Sentence,
        with_tags: bool,
        source: &str,
    ) -> Result<nn::Sentence> {
        let mut out = nn::Sentence::default();
        for w in &s.words {
            let at = || format!("{source}:{}", w.line_number);
            let Some(row) = self.word_row(&w.form) else {
                bail!(
                    "{}: word {:?} is not in the model's vocabulary and the model has no unknown-word entry",
                    at(),
                    w.form
                );
            };
            out.words.push(row);
            out.chars.push(self.char_rows(&w.form).with_context(at)?);
            if with_tags {
                let tag = w.tag(self.column);
                match self.tag_index.get(tag) {
                    Some(&t) => out.tags.push(t),
                    None => bail!(
                        "{}: tag {tag:?} is not one of the model's tags ({})",
                        at(),
                        self.tags.join(" ")
                    ),
                }
            }
        }
        Ok(out)
    }
}
