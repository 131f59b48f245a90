//! The arguments of `postag train`.

use std::path::PathBuf;

use clap::Args;

use super::settings::{Optimizer, Preset};
use crate::conllu::{self, TagColumn};
use crate::nn::segmenter::SegOpts;

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Training data (CoNLL-U).
    #[arg(long, value_parser = crate::cmd::input_file)]
    pub(super) train: PathBuf,
    /// Development data (CoNLL-U): evaluated after every epoch; the best epoch is kept.
    #[arg(long, value_parser = crate::cmd::input_file)]
    pub(super) dev: Option<PathBuf>,
    /// Where to write the model (written atomically, with a report and plots beside it).
    #[arg(short, long, value_parser = crate::cmd::output_file)]
    pub(super) output: PathBuf,
    /// Which CoNLL-U column to learn.
    #[arg(long, value_parser = conllu::column_parser())]
    pub(super) column: Option<TagColumn>,
    /// Defaults for every setting below [default: default] (not with --init, whose
    /// model fixes the architecture).
    #[arg(long, value_enum)]
    pub(super) preset: Option<Preset>,
    /// Passes over the training data.
    #[arg(long, value_parser = crate::cmd::at_least_one::<usize>)]
    pub(super) epochs: Option<usize>,
    /// Seed for initialization, shuffling and dropout.
    #[arg(long, default_value_t = 1, value_parser = crate::cmd::count::<u64>)]
    pub(super) seed: u64,
    /// Start from this model's weights, vocabularies and tag order.
    #[arg(long, value_parser = crate::cmd::input_file)]
    pub(super) init: Option<PathBuf>,
    /// Continue an interrupted run from the checkpoint beside the output.
    #[arg(long)]
    pub(super) resume: bool,
    #[arg(long, value_enum)]
    pub(super) optimizer: Option<Optimizer>,
    /// Learning rate.
    #[arg(long)]
    pub(super) lr: Option<f64>,
    /// Sentences per update.
    #[arg(long, value_parser = crate::cmd::at_least_one::<usize>)]
    pub(super) batch_size: Option<usize>,
    /// Shuffle the training data every epoch (the default).
    #[arg(long, overrides_with = "no_shuffle")]
    pub(super) shuffle: bool,
    /// Keep the training data in file order.
    #[arg(long, overrides_with = "shuffle")]
    pub(super) no_shuffle: bool,
    /// Dropout on LSTM inputs and outputs.
    #[arg(long, value_parser = f32_value)]
    pub(super) dropout: Option<f32>,
    /// Word dropout: a training word is replaced by the unknown word with probability a/(a+count).
    #[arg(long, value_parser = f32_value)]
    pub(super) word_dropout: Option<f32>,
    /// Clip the gradient's L2 norm to this (0: no clipping).
    #[arg(long, value_parser = f32_value)]
    pub(super) clip: Option<f32>,
    /// Stop after this many epochs without a better dev accuracy (0: never); needs
    /// `--dev`.
    #[arg(long, requires = "dev", value_parser = crate::cmd::count::<usize>)]
    pub(super) patience: Option<usize>,
    /// Worker threads (default: all cores).
    #[arg(long, value_parser = crate::tagging::parse_threads)]
    pub(super) threads: Option<usize>,
    /// Word embedding size.
    #[arg(long, value_parser = crate::cmd::at_least_one::<usize>)]
    pub(super) word_dim: Option<usize>,
    /// Use character features (default: the preset's; `--no-chars` turns it off).
    #[arg(long, overrides_with = "no_chars")]
    pub(super) chars: bool,
    /// Word embeddings only.
    #[arg(long, overrides_with = "chars", conflicts_with_all = [
        "char_dim", "char_hidden", "char_layers", "char_bidirectional",
        "no_char_bidirectional", "min_char_count", "max_word_chars",
    ])]
    pub(super) no_chars: bool,
    /// Char embedding size.
    #[arg(long, value_parser = crate::cmd::count::<usize>)]
    pub(super) char_dim: Option<usize>,
    /// Char LSTM hidden size (per direction).
    #[arg(long, value_parser = crate::cmd::count::<usize>)]
    pub(super) char_hidden: Option<usize>,
    /// Char LSTM layers.
    #[arg(long, value_parser = crate::cmd::count::<usize>)]
    pub(super) char_layers: Option<usize>,
    /// Bidirectional char LSTM (default: the preset's; `--no-char-bidirectional` turns it off).
    #[arg(long, overrides_with = "no_char_bidirectional")]
    pub(super) char_bidirectional: bool,
    /// Forward char LSTM only.
    #[arg(long, overrides_with = "char_bidirectional")]
    pub(super) no_char_bidirectional: bool,
    /// Word LSTM hidden size (per direction).
    #[arg(long, value_parser = crate::cmd::at_least_one::<usize>)]
    pub(super) hidden: Option<usize>,
    /// Word LSTM layers.
    #[arg(long, value_parser = crate::cmd::at_least_one::<usize>)]
    pub(super) layers: Option<usize>,
    /// Bidirectional word LSTM (default: the preset's; `--no-bidirectional` turns it off).
    #[arg(long, overrides_with = "no_bidirectional")]
    pub(super) bidirectional: bool,
    /// Forward word LSTM only.
    #[arg(long, overrides_with = "bidirectional")]
    pub(super) no_bidirectional: bool,
    /// CRF transitions with Viterbi decoding (default: the preset's; `--no-crf` turns it off).
    #[arg(long, overrides_with = "no_crf")]
    pub(super) crf: bool,
    /// Independent per-token decisions (no CRF).
    #[arg(long, overrides_with = "crf")]
    pub(super) no_crf: bool,
    /// Words seen fewer times share the unknown-word entry.
    #[arg(long, value_parser = crate::cmd::count::<usize>)]
    pub(super) min_word_count: Option<usize>,
    /// Keep at most this many words (the most frequent; 0: no limit).
    #[arg(long, value_parser = crate::cmd::count::<usize>)]
    pub(super) max_vocab: Option<usize>,
    /// Characters seen fewer times share the unknown-char entry.
    #[arg(long, value_parser = crate::cmd::count::<usize>)]
    pub(super) min_char_count: Option<usize>,
    /// Lowercase words before lookup, as Python's str.lower() (char features still see case) (default: the preset's; `--no-lowercase` turns it off).
    #[arg(long, overrides_with = "no_lowercase")]
    pub(super) lowercase: bool,
    /// Look words up as written.
    #[arg(long, overrides_with = "lowercase")]
    pub(super) no_lowercase: bool,
    /// Replace ASCII digits with 0 before lookup (default: the preset's; `--no-fold-digits` turns it off).
    #[arg(long, overrides_with = "no_fold_digits")]
    pub(super) fold_digits: bool,
    /// Keep digits as written.
    #[arg(long, overrides_with = "fold_digits")]
    pub(super) no_fold_digits: bool,
    /// Longest word the char LSTM reads whole; a longer one is read as its first and
    /// last halves, in training and tagging alike (default: the preset's, 32, or 24 for
    /// micro and nano; `import-torch` defaults to the format's maximum instead, because a PyTorch
    /// model was trained on whole words).
    #[arg(long, value_parser = crate::cmd::at_least_one::<usize>)]
    pub(super) max_word_chars: Option<usize>,
    /// Write int8 weights (about 4x smaller) (default: the preset's; `--no-quantize` turns it off).
    #[arg(long, overrides_with = "no_quantize")]
    pub(super) quantize: bool,
    /// Write f32 weights.
    #[arg(long, overrides_with = "quantize")]
    pub(super) no_quantize: bool,
    /// Use only the first N training sentences (the tagger's; a segmenter learns from
    /// the whole file).
    #[arg(long, value_parser = crate::cmd::at_least_one::<usize>)]
    pub(super) max_sentences: Option<usize>,
    /// Do not learn a segmenter, even when the training data carries `# text`.
    #[arg(long, conflicts_with_all = [
        "segmenter_steps", "segmenter_dim", "segmenter_hidden",
        "segmenter_unidirectional", "segmenter_int8", "segmenter_f32",
    ])]
    pub(super) no_segmenter: bool,
    /// Segmenter: optimizer steps (as `postag segmenter --steps`) (default: that
    /// command's; 300 for the tiny preset).
    #[arg(long, value_parser = crate::cmd::at_least_one::<usize>)]
    pub(super) segmenter_steps: Option<usize>,
    /// Segmenter: char embedding size (as `postag segmenter --dim`) (default: the
    /// preset's: 24; micro and nano 12, to keep their blobs small; tiny 8).
    #[arg(long, value_parser = crate::cmd::at_least_one::<usize>)]
    pub(super) segmenter_dim: Option<usize>,
    /// Segmenter: LSTM hidden size per direction (as `postag segmenter --hidden`)
    /// (default: the preset's: 48; micro and nano 20; tiny 16).
    #[arg(long, value_parser = crate::cmd::at_least_one::<usize>)]
    pub(super) segmenter_hidden: Option<usize>,
    /// Segmenter: a forward-only LSTM (as `postag segmenter --unidirectional`).
    #[arg(long)]
    pub(super) segmenter_unidirectional: bool,
    /// Segmenter: int8 weight matrices (as `postag segmenter --int8`) (default: int8
    /// when the tagger's weights are; `--segmenter-f32` turns it off).
    #[arg(long, overrides_with = "segmenter_f32")]
    pub(super) segmenter_int8: bool,
    /// Segmenter: f32 weight matrices.
    #[arg(long, overrides_with = "segmenter_int8")]
    pub(super) segmenter_f32: bool,
    /// No progress bars or epoch lines.
    #[arg(long, short)]
    pub(super) quiet: bool,
}

/// `Some(true)` for `--x`, `Some(false)` for `--no-x`, `None` when neither was given
/// (the later one wins when both are).
fn flag(yes: bool, no: bool) -> Option<bool> {
    (yes || no).then_some(yes)
}

/// The on/off settings as given: `Some(true)` for `--x`, `Some(false)` for `--no-x`,
/// `None` for neither.
pub(super) struct Switches {
    pub chars: Option<bool>,
    pub char_bidirectional: Option<bool>,
    pub bidirectional: Option<bool>,
    pub crf: Option<bool>,
    pub lowercase: Option<bool>,
    pub fold_digits: Option<bool>,
    pub quantize: Option<bool>,
    pub shuffle: Option<bool>,
    pub segmenter_int8: Option<bool>,
}

impl TrainArgs {
    /// The segmenter's options (`postag segmenter`'s, with `--seed`; sizes from the
    /// preset unless given).
    pub(super) fn segmenter_opts(&self) -> SegOpts {
        let d = SegOpts::default();
        let (dim, hidden, steps) = match self.preset() {
            Preset::Default => (d.dim, d.hidden, d.steps),
            Preset::Micro | Preset::Nano => (12, 20, d.steps),
            // Seconds, not minutes: for smoke tests, as the preset's tagger.
            Preset::Tiny => (8, 16, 300),
        };
        SegOpts {
            steps: self.segmenter_steps.unwrap_or(steps),
            dim: self.segmenter_dim.unwrap_or(dim),
            hidden: self.segmenter_hidden.unwrap_or(hidden),
            bidirectional: !self.segmenter_unidirectional,
            seed: self.seed,
            ..Default::default()
        }
    }

    /// The segmenter's flags that were given, by name.
    pub(super) fn segmenter_flags(&self) -> Vec<&'static str> {
        let given = [
            ("--segmenter-steps", self.segmenter_steps.is_some()),
            ("--segmenter-dim", self.segmenter_dim.is_some()),
            ("--segmenter-hidden", self.segmenter_hidden.is_some()),
            ("--segmenter-unidirectional", self.segmenter_unidirectional),
            ("--segmenter-int8", self.segmenter_int8),
            ("--segmenter-f32", self.segmenter_f32),
        ];
        given.iter().filter(|g| g.1).map(|g| g.0).collect()
    }

    /// The preset: `--preset`, or the default one.
    pub(super) fn preset(&self) -> Preset {
        self.preset.unwrap_or(Preset::Default)
    }

    /// The on/off settings given on the command line.
    pub(super) fn switches(&self) -> Switches {
        Switches {
            chars: flag(self.chars, self.no_chars),
            char_bidirectional: flag(self.char_bidirectional, self.no_char_bidirectional),
            bidirectional: flag(self.bidirectional, self.no_bidirectional),
            crf: flag(self.crf, self.no_crf),
            lowercase: flag(self.lowercase, self.no_lowercase),
            fold_digits: flag(self.fold_digits, self.no_fold_digits),
            quantize: flag(self.quantize, self.no_quantize),
            shuffle: flag(self.shuffle, self.no_shuffle),
            segmenter_int8: flag(self.segmenter_int8, self.segmenter_f32),
        }
    }
}

/// A number for an f32 setting, refused where f32 would not hold it: a finite value
/// beyond f32's range (it would become infinite), or one so small that it would become
/// 0 (`--clip 1e-300` would turn clipping off).
fn f32_value(s: &str) -> Result<f32, String> {
    let v: f64 = s.trim().parse().map_err(|e| format!("{e}"))?;
    let f = v as f32;
    if v.is_finite() && !f.is_finite() {
        return Err(format!(
            "{s} is beyond the f32 range (at most about 3.4e38)"
        ));
    }
    if v.is_finite() && v != 0.0 && !f.is_normal() {
        return Err(format!(
            "{s} is below the f32 range (at least about 1.2e-38)"
        ));
    }
    // (Infinities and NaN go on to the setting's own check.)
    Ok(f)
}
