//! Presets and the settings of a training run.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::ValueEnum;
use postag_core::format::{NORMALIZE_FOLD_DIGITS, NORMALIZE_LOWERCASE};
use serde::{Deserialize, Serialize};

use super::args::TrainArgs;
use crate::conllu::TagColumn;
use crate::nn::Arch;
use crate::vocab::{normalize_flags, Vocab};

/// Named sets of defaults; every flag overrides its preset value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// The accurate default: char BiLSTM features, word BiLSTM, int8 output.
    Default,
    /// For microcontrollers: int8 blob under 256 KiB, small scratch.
    Micro,
    /// For the smallest microcontrollers (BBC micro:bit: 256 KB flash, 16 KB RAM): int8
    /// blob under 200 KiB, to fit beside the code, and little scratch.
    Nano,
    /// Very small and fast; for smoke tests.
    Tiny,
}

/// The optimizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Optimizer {
    /// Adam (PyTorch's, betas 0.9 and 0.999).
    Adam,
    /// Plain SGD (PyTorch's, no momentum).
    Sgd,
}

/// Every setting of a run, after the preset and the flags were combined.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub preset: Preset,
    pub column: TagColumn,
    pub epochs: usize,
    pub seed: u64,
    pub optimizer: Optimizer,
    pub lr: f64,
    pub batch_size: usize,
    pub shuffle: bool,
    pub dropout: f32,
    pub word_dropout: f32,
    pub clip: f32,
    pub patience: usize,
    pub word_dim: usize,
    pub chars: bool,
    pub char_dim: usize,
    pub char_hidden: usize,
    pub char_layers: usize,
    pub char_bidirectional: bool,
    pub hidden: usize,
    pub layers: usize,
    pub bidirectional: bool,
    pub crf: bool,
    pub min_word_count: usize,
    pub max_vocab: usize,
    pub min_char_count: usize,
    pub lowercase: bool,
    pub fold_digits: bool,
    pub max_word_chars: usize,
    pub quantize: bool,
    pub max_sentences: Option<usize>,
    pub init: Option<PathBuf>,
}

impl Settings {
    pub(super) fn preset(p: Preset) -> Self {
        let base = Settings {
            preset: p,
            column: TagColumn::Upos,
            epochs: 30,
            seed: 1,
            optimizer: Optimizer::Adam,
            lr: 2e-3,
            batch_size: 32,
            shuffle: true,
            dropout: 0.33,
            word_dropout: 0.25,
            clip: 5.0,
            patience: 6,
            word_dim: 100,
            chars: true,
            char_dim: 32,
            char_hidden: 48,
            char_layers: 1,
            char_bidirectional: true,
            hidden: 128,
            layers: 1,
            bidirectional: true,
            crf: false,
            min_word_count: 2,
            max_vocab: 0,
            min_char_count: 2,
            lowercase: true,
            fold_digits: true,
            max_word_chars: 32,
            quantize: true,
            max_sentences: None,
            init: None,
        };
        match p {
            Preset::Default => base,
            Preset::Micro => Settings {
                word_dim: 32,
                char_dim: 16,
                char_hidden: 24,
                hidden: 64,
                max_vocab: 3000,
                max_word_chars: 24,
                ..base
            },
            Preset::Nano => Settings {
                word_dim: 24,
                char_dim: 12,
                char_hidden: 16,
                hidden: 48,
                max_vocab: 2000,
                max_word_chars: 24,
                ..base
            },
            Preset::Tiny => Settings {
                epochs: 3,
                lr: 1e-2,
                dropout: 0.1,
                word_dim: 16,
                char_dim: 8,
                char_hidden: 8,
                hidden: 16,
                patience: 0,
                quantize: false,
                ..base
            },
        }
    }

    pub(super) fn from_args(a: &TrainArgs) -> Self {
        let mut s = Settings::preset(a.preset());
        macro_rules! take {
            ($($f:ident),*) => { $( if let Some(v) = a.$f.clone() { s.$f = v; } )* };
        }
        take!(
            column,
            epochs,
            optimizer,
            lr,
            batch_size,
            dropout,
            word_dropout,
            clip,
            patience,
            word_dim
        );
        take!(
            char_dim,
            char_hidden,
            char_layers,
            hidden,
            layers,
            min_word_count,
            max_vocab,
            min_char_count,
            max_word_chars
        );
        let on = a.switches();
        macro_rules! switch {
            ($($f:ident),*) => { $( if let Some(v) = on.$f { s.$f = v; } )* };
        }
        switch!(
            chars,
            char_bidirectional,
            bidirectional,
            crf,
            lowercase,
            fold_digits,
            quantize,
            shuffle
        );
        s.seed = a.seed;
        s.max_sentences = a.max_sentences;
        s.init = a.init.clone();
        s
    }

    /// Flags that set the architecture or the vocabularies, which `--init` fixes.
    pub(super) fn shape_flags(a: &TrainArgs) -> Vec<&'static str> {
        let on = a.switches();
        let given = [
            ("--preset", a.preset.is_some()),
            ("--word-dim", a.word_dim.is_some()),
            ("--chars", on.chars.is_some()),
            ("--char-dim", a.char_dim.is_some()),
            ("--char-hidden", a.char_hidden.is_some()),
            ("--char-layers", a.char_layers.is_some()),
            ("--char-bidirectional", on.char_bidirectional.is_some()),
            ("--hidden", a.hidden.is_some()),
            ("--layers", a.layers.is_some()),
            ("--bidirectional", on.bidirectional.is_some()),
            ("--crf", on.crf.is_some()),
            ("--min-word-count", a.min_word_count.is_some()),
            ("--max-vocab", a.max_vocab.is_some()),
            ("--min-char-count", a.min_char_count.is_some()),
            ("--lowercase", on.lowercase.is_some()),
            ("--fold-digits", on.fold_digits.is_some()),
            ("--max-word-chars", a.max_word_chars.is_some()),
        ];
        given.iter().filter(|g| g.1).map(|g| g.0).collect()
    }

    /// Takes the architecture and vocabulary settings of a model to continue from.
    pub(super) fn adopt(&mut self, arch: &Arch, vocab: &Vocab) {
        self.column = vocab.column;
        self.word_dim = arch.word_dim;
        self.chars = arch.char.is_some();
        if let Some(c) = &arch.char {
            (self.char_dim, self.char_hidden, self.char_layers) = (c.dim, c.hidden, c.layers);
            self.char_bidirectional = c.bidirectional;
        }
        (self.hidden, self.layers, self.bidirectional, self.crf) =
            (arch.hidden, arch.layers, arch.bidirectional, arch.crf);
        self.lowercase = vocab.normalize & NORMALIZE_LOWERCASE != 0;
        self.fold_digits = vocab.normalize & NORMALIZE_FOLD_DIGITS != 0;
        if let Some(cv) = &vocab.chars {
            self.max_word_chars = cv.max_word_chars;
        }
        // The vocabulary comes whole from the model: no cut-offs apply.
        (self.min_word_count, self.max_vocab, self.min_char_count) = (0, 0, 0);
    }

    pub(super) fn check(&self) -> Result<()> {
        use postag_core::format::{MAX_DIM, MAX_WORD_CHARS};
        let mut limits = vec![
            ("--word-dim", self.word_dim, MAX_DIM as usize),
            ("--hidden", self.hidden, MAX_DIM as usize),
            (
                "--max-word-chars",
                self.max_word_chars,
                MAX_WORD_CHARS as usize,
            ),
        ];
        if self.chars {
            limits.push(("--char-dim", self.char_dim, MAX_DIM as usize));
            limits.push(("--char-hidden", self.char_hidden, MAX_DIM as usize));
        }
        for (name, value, max) in limits {
            if value > max {
                bail!("{name} {value} is above the model format's limit of {max}");
            }
        }
        let dims = [
            ("--epochs", self.epochs),
            ("--batch-size", self.batch_size),
            ("--word-dim", self.word_dim),
            ("--hidden", self.hidden),
            ("--layers", self.layers),
            ("--max-word-chars", self.max_word_chars),
        ];
        for (name, v) in dims {
            if v == 0 {
                bail!("{name} must be at least 1");
            }
        }
        if self.max_sentences == Some(0) {
            bail!("--max-sentences must be at least 1");
        }
        if self.chars && (self.char_dim == 0 || self.char_hidden == 0 || self.char_layers == 0) {
            bail!("--char-dim, --char-hidden and --char-layers must be at least 1");
        }
        let max_layers = postag_core::format::MAX_LAYERS;
        if self.layers > max_layers || (self.chars && self.char_layers > max_layers) {
            bail!("at most {max_layers} LSTM layers are supported");
        }
        if !(0.0..1.0).contains(&self.dropout) {
            bail!("--dropout must be in [0, 1)");
        }
        // (Written so that NaN fails each test.)
        for (flag, v) in [("--word-dropout", self.word_dropout), ("--clip", self.clip)] {
            if !(v >= 0.0 && v.is_finite()) {
                bail!("{flag} must be a finite number >= 0 (got {})", shown(v));
            }
        }
        // (Steps are taken in f32: the rate must be a normal f32 too.)
        if !(self.lr > 0.0 && self.lr.is_finite() && (self.lr as f32).is_normal()) {
            bail!(
                "--lr must be a finite number > 0 within the f32 range (got {})",
                shown(self.lr)
            );
        }
        Ok(())
    }

    pub(super) fn normalize(&self) -> u8 {
        normalize_flags(self.lowercase, self.fold_digits)
    }
}

/// A setting's value in an error: plain (`-1`, `0.5`), or with an exponent far from 1
/// (`1e39`, `1e-300`), where plain digits would run on.
fn shown<T: Into<f64> + Copy + std::fmt::Display + std::fmt::LowerExp>(v: T) -> String {
    match v.into().abs() {
        a if a == 0.0 || !a.is_finite() || (1e-4..1e6).contains(&a) => format!("{v}"),
        _ => format!("{v:e}"),
    }
}
