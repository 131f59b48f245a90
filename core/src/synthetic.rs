//! Randomly initialized models (feature `alloc`): for benchmarks, and for sizing an
//! architecture's flash, RAM and speed before training it.

use alloc::collections::BTreeSet;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::builder::{BlobBuilder, BuildError};
use crate::format::{CharConfig, Config, LstmShape, Net, Role, TagColumn, WordConfig};
use crate::tensor::Storage;

/// Shape and seed of a random model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RandomModel {
    /// Words in the vocabulary (plus one unknown-word row).
    pub words: usize,
    /// Word embedding size.
    pub word_dim: usize,
    /// Char embedding size and char BiLSTM hidden size; `None`: no char features.
    pub chars: Option<(usize, usize)>,
    /// Word LSTM hidden size (per direction).
    pub hidden: usize,
    /// Word LSTM layers.
    pub layers: usize,
    /// Bidirectional word LSTM.
    pub bidirectional: bool,
    /// Number of tags.
    pub tags: usize,
    /// Weight storage.
    pub storage: Storage,
    /// Seed of the weights and the vocabulary.
    pub seed: u64,
}

/// Letters the random words and the char vocabulary are drawn from.
const ALPHABET: &str = "etaoinshrdlucmfwypvbgkqjxzETAOINSHR0123456789-.,'";

impl RandomModel {
    /// The base-size model: word embedding 100 with 10k words, char BiLSTM 32 over a
    /// 32-wide char embedding, word BiLSTM 128, 17 tags.
    pub const BASE: RandomModel = RandomModel {
        words: 10_000,
        word_dim: 100,
        chars: Some((32, 32)),
        hidden: 128,
        layers: 1,
        bidirectional: true,
        tags: 17,
        storage: Storage::F32,
        seed: 0x9E37_79B9_7F4A_7C15,
    };

    /// The blob and its vocabulary. LSTM weights are uniform in `±1/sqrt(H)` like
    /// PyTorch's initialization; words are 1 to 12 random letters, mostly short. f32
    /// LSTM weights are stored in the panel layout, as the builder does by default.
    pub fn build(&self) -> Result<(Vec<u8>, Vec<String>), BuildError> {
        self.build_in(true)
    }

    /// [`RandomModel::build`] with f32 LSTM weights in panels or (`panels` false) in
    /// rows ([`BlobBuilder::panels`]): the same weights.
    pub fn build_in(&self, panels: bool) -> Result<(Vec<u8>, Vec<String>), BuildError> {
        self.build_layout(panels, false)
    }

    /// [`RandomModel::build_in`], with int8 word LSTM weights in the int8 panel layout
    /// if `int8_panels` ([`BlobBuilder::int8_panels`]): the same weights.
    pub fn build_layout(
        &self,
        panels: bool,
        int8_panels: bool,
    ) -> Result<(Vec<u8>, Vec<String>), BuildError> {
        let mut rng = Rng(self.seed | 1);
        let alphabet: Vec<char> = ALPHABET.chars().collect();
        let lstm = |hidden: usize, layers: usize, bidirectional| LstmShape {
            hidden: hidden as u32,
            layers: layers as u8,
            bidirectional,
        };
        let config = Config {
            words: WordConfig {
                rows: self.words as u32 + 1,
                dim: self.word_dim as u32,
                unknown: Some(self.words as u32),
                normalize: 0,
            },
            chars: self.chars.map(|(dim, hidden)| CharConfig {
                rows: alphabet.len() as u32 + 1,
                dim: dim as u32,
                unknown: Some(alphabet.len() as u32),
                max_word_chars: 32,
                lstm: lstm(hidden, 1, true),
            }),
            lstm: lstm(self.hidden, self.layers, self.bidirectional),
            tags: self.tags as u32,
            crf: false,
            tag_column: TagColumn::Upos,
        };
        let storage = self.storage;
        let mut b = BlobBuilder::new(config);
        b.panels(panels).int8_panels(int8_panels);
        let mut fill =
            |n: usize, bound: f32| (0..n).map(|_| rng.uniform(bound)).collect::<Vec<f32>>();
        let rows = self.words + 1;
        b.weights(
            Role::WordEmbedding,
            rows,
            self.word_dim,
            &fill(rows * self.word_dim, 1.0),
            storage,
        )?;
        if let Some(cc) = config.chars {
            let (rows, dim) = (cc.rows as usize, cc.dim as usize);
            b.weights(
                Role::CharEmbedding,
                rows,
                dim,
                &fill(rows * dim, 1.0),
                storage,
            )?;
        }
        for (net, shape) in [
            (Net::Char, config.chars.map(|c| c.lstm)),
            (Net::Word, Some(config.lstm)),
        ] {
            let bound = shape.map_or(1.0, |s| 1.0 / libm::sqrtf(s.hidden as f32));
            b.lstm_stack(net, storage, |_, rows, cols| Ok(fill(rows * cols, bound)))?;
        }
        let out = config.lstm.output_dim();
        let bound = 1.0 / libm::sqrtf(out as f32);
        b.weights(
            Role::TagWeights,
            self.tags,
            out,
            &fill(self.tags * out, bound),
            storage,
        )?;
        b.vector(Role::TagBias, &fill(self.tags, bound))?;
        let names: Vec<String> = (0..self.tags).map(|i| format!("T{i}")).collect();
        b.tag_names(names.iter().map(String::as_str))?;
        if config.chars.is_some() {
            b.chars(alphabet.iter().enumerate().map(|(i, &c)| (c, i as u32)))?;
        }
        let mut words = BTreeSet::new();
        while words.len() < self.words {
            let len = 1 + rng.below(4) + rng.below(4) + rng.below(5);
            words.insert(
                (0..len)
                    .map(|_| alphabet[rng.below(alphabet.len())])
                    .collect::<String>(),
            );
        }
        let words: Vec<String> = words.into_iter().collect();
        b.words(
            words
                .iter()
                .enumerate()
                .map(|(i, w)| (w.as_str(), i as u32)),
        )?;
        Ok((b.finish()?, words))
    }

    /// `count` sentences of 5 to 30 tokens (mean about 17) drawn from `words`, one
    /// token in ten an unknown word.
    pub fn sentences(words: &[String], count: usize, seed: u64) -> Vec<Vec<String>> {
        let mut rng = Rng(seed | 1);
        (0..count)
            .map(|_| {
                (0..5 + rng.below(26))
                    .map(|_| {
                        if rng.below(10) == 0 || words.is_empty() {
                            String::from("qzxvkj")
                        } else {
                            words[rng.below(words.len())].clone()
                        }
                    })
                    .collect()
            })
            .collect()
    }
}

/// xorshift64: small, deterministic, good enough for random weights.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in [-bound, bound).
    pub(crate) fn uniform(&mut self, bound: f32) -> f32 {
        ((self.next() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * bound
    }

    /// Uniform in 0..n (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}
