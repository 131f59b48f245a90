//! `postag-trainer train`: learn a model from a CoNLL-U treebank.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use postag_core::format::{NORMALIZE_DIGITS, NORMALIZE_LOWERCASE};
use postag_core::tensor::Storage;
use postag_core::{Model, MAX_TOKENS};
use serde::{Deserialize, Serialize};

use crate::checkpoint::Checkpoint;
use crate::conllu::{self, Column};
use crate::evaluate::{evaluate, Evaluation};
use crate::fsio::{sibling, write_atomic};
use crate::model_io::{from_model, read_blob, to_blob};
use crate::nn::{self, Adam, Arch, CharArch, Params, Rng, Sgd, TrainOpts};
use crate::svg;
use crate::tagging::threads;
use crate::vocab::{normalize_flags, Vocab, VocabOptions};

/// Named sets of defaults; every flag overrides its preset value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// The accurate default: char BiLSTM features, word BiLSTM, int8 output.
    Default,
    /// For microcontrollers: int8 blob under 256 KB, small scratch.
    Micro,
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

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Training data (CoNLL-U).
    #[arg(long)]
    train: PathBuf,
    /// Development data (CoNLL-U): evaluated after every epoch; the best epoch is kept.
    #[arg(long)]
    dev: Option<PathBuf>,
    /// Where to write the model (written atomically, with a report and plots beside it).
    #[arg(short, long)]
    output: PathBuf,
    /// Which CoNLL-U column to learn.
    #[arg(long, value_enum)]
    column: Option<Column>,
    /// Defaults for every setting below.
    #[arg(long, value_enum, default_value = "default")]
    preset: Preset,
    /// Passes over the training data.
    #[arg(long)]
    epochs: Option<usize>,
    /// Seed for initialization, shuffling and dropout.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Start from this model's weights, vocabularies and tag order.
    #[arg(long)]
    init: Option<PathBuf>,
    /// Continue an interrupted run from the checkpoint beside the output.
    #[arg(long)]
    resume: bool,
    #[arg(long, value_enum)]
    optimizer: Option<Optimizer>,
    /// Learning rate.
    #[arg(long)]
    lr: Option<f64>,
    /// Sentences per update.
    #[arg(long)]
    batch_size: Option<usize>,
    /// Keep the training data in file order.
    #[arg(long)]
    no_shuffle: bool,
    /// Dropout on LSTM inputs and outputs.
    #[arg(long)]
    dropout: Option<f32>,
    /// Word dropout: a training word is replaced by the unknown word with probability a/(a+count).
    #[arg(long)]
    word_dropout: Option<f32>,
    /// Clip the gradient's L2 norm to this (0: no clipping).
    #[arg(long)]
    clip: Option<f32>,
    /// Stop after this many epochs without a better dev accuracy (0: never).
    #[arg(long)]
    patience: Option<usize>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Word embedding size.
    #[arg(long)]
    word_dim: Option<usize>,
    /// Use character features.
    #[arg(long)]
    chars: Option<bool>,
    /// Char embedding size.
    #[arg(long)]
    char_dim: Option<usize>,
    /// Char LSTM hidden size (per direction).
    #[arg(long)]
    char_hidden: Option<usize>,
    /// Char LSTM layers.
    #[arg(long)]
    char_layers: Option<usize>,
    /// Bidirectional char LSTM.
    #[arg(long)]
    char_bidirectional: Option<bool>,
    /// Word LSTM hidden size (per direction).
    #[arg(long)]
    hidden: Option<usize>,
    /// Word LSTM layers.
    #[arg(long)]
    layers: Option<usize>,
    /// Bidirectional word LSTM.
    #[arg(long)]
    bidirectional: Option<bool>,
    /// CRF transitions with Viterbi decoding.
    #[arg(long)]
    crf: Option<bool>,
    /// Words seen fewer times share the unknown-word entry.
    #[arg(long)]
    min_word_count: Option<usize>,
    /// Keep at most this many words (the most frequent).
    #[arg(long)]
    max_vocab: Option<usize>,
    /// Characters seen fewer times share the unknown-char entry.
    #[arg(long)]
    min_char_count: Option<usize>,
    /// Lowercase words before lookup, as Python's str.lower() (char features still see case).
    #[arg(long)]
    lowercase: Option<bool>,
    /// Replace ASCII digits with 0 before lookup.
    #[arg(long)]
    fold_digits: Option<bool>,
    /// Longest word the char LSTM reads whole.
    #[arg(long)]
    max_word_chars: Option<usize>,
    /// Write int8 weights (about 4x smaller).
    #[arg(long)]
    quantize: Option<bool>,
    /// Use only the first N training sentences.
    #[arg(long)]
    max_sentences: Option<usize>,
    /// No progress bars or epoch lines.
    #[arg(long, short)]
    quiet: bool,
}

/// Every setting of a run, after the preset and the flags were combined.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub preset: Preset,
    pub column: Column,
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
    fn preset(p: Preset) -> Self {
        let base = Settings {
            preset: p,
            column: Column::Upos,
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

    fn from_args(a: &TrainArgs) -> Self {
        let mut s = Settings::preset(a.preset);
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
            chars,
            char_dim,
            char_hidden,
            char_layers,
            char_bidirectional,
            hidden,
            layers,
            bidirectional,
            crf
        );
        take!(
            min_word_count,
            max_vocab,
            min_char_count,
            lowercase,
            fold_digits,
            max_word_chars,
            quantize
        );
        s.seed = a.seed;
        s.shuffle = !a.no_shuffle;
        s.max_sentences = a.max_sentences;
        s.init = a.init.clone();
        s
    }

    /// Flags that set the architecture or the vocabularies, which `--init` fixes.
    fn shape_flags(a: &TrainArgs) -> Vec<&'static str> {
        let given = [
            ("--word-dim", a.word_dim.is_some()),
            ("--chars", a.chars.is_some()),
            ("--char-dim", a.char_dim.is_some()),
            ("--char-hidden", a.char_hidden.is_some()),
            ("--char-layers", a.char_layers.is_some()),
            ("--char-bidirectional", a.char_bidirectional.is_some()),
            ("--hidden", a.hidden.is_some()),
            ("--layers", a.layers.is_some()),
            ("--bidirectional", a.bidirectional.is_some()),
            ("--crf", a.crf.is_some()),
            ("--min-word-count", a.min_word_count.is_some()),
            ("--max-vocab", a.max_vocab.is_some()),
            ("--min-char-count", a.min_char_count.is_some()),
            ("--lowercase", a.lowercase.is_some()),
            ("--fold-digits", a.fold_digits.is_some()),
            ("--max-word-chars", a.max_word_chars.is_some()),
        ];
        given.iter().filter(|g| g.1).map(|g| g.0).collect()
    }

    /// Takes the architecture and vocabulary settings of a model to continue from.
    fn adopt(&mut self, arch: &Arch, vocab: &Vocab) {
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
        self.fold_digits = vocab.normalize & NORMALIZE_DIGITS != 0;
        if let Some(cv) = &vocab.chars {
            self.max_word_chars = cv.max_word_chars;
        }
        // The vocabulary comes whole from the model: no cut-offs apply.
        (self.min_word_count, self.max_vocab, self.min_char_count) = (0, 0, 0);
    }

    fn check(&self) -> Result<()> {
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
        if self.word_dropout < 0.0 || self.clip < 0.0 || self.lr <= 0.0 || !self.lr.is_finite() {
            bail!("--word-dropout and --clip must be >= 0 and --lr > 0");
        }
        Ok(())
    }

    fn normalize(&self) -> u8 {
        normalize_flags(self.lowercase, self.fold_digits)
    }
}

/// One epoch's record in the report.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EpochRecord {
    pub epoch: usize,
    pub train_loss: f64,
    pub dev_accuracy: Option<f64>,
    pub seconds: f64,
    pub tokens_per_second: f64,
}

#[derive(Serialize)]
struct Report<'a> {
    model: String,
    train: String,
    dev_data: Option<String>,
    settings: &'a Settings,
    train_sentences: usize,
    train_tokens: usize,
    word_vocab: usize,
    char_vocab: usize,
    tags: &'a [String],
    parameters: usize,
    epochs: &'a [EpochRecord],
    best_epoch: usize,
    dev_evaluation: Option<&'a Evaluation>,
    training_seconds: f64,
    tokens_per_second: f64,
    model_bytes: usize,
    scratch_bytes_64_tokens: usize,
}

fn progress(quiet: bool, len: u64, prefix: String) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(
        Some(len),
        if quiet {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        },
    );
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {percent:>3}% {msg} ETA {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix(prefix);
    bar
}

fn build_arch(s: &Settings, vocab: &Vocab) -> Arch {
    Arch {
        word_vocab: vocab.word_rows,
        word_dim: s.word_dim,
        char: vocab.chars.as_ref().map(|cv| CharArch {
            vocab: cv.rows,
            dim: s.char_dim,
            hidden: s.char_hidden,
            layers: s.char_layers,
            bidirectional: s.char_bidirectional,
        }),
        hidden: s.hidden,
        layers: s.layers,
        bidirectional: s.bidirectional,
        num_tags: vocab.tags.len(),
        crf: s.crf,
    }
}

/// Parameter count.
fn parameters(p: &Params) -> usize {
    p.tensors().iter().map(|t| t.data.len()).sum()
}

/// Reads training or dev data: every word tagged in `column`, at least one word, no
/// sentence longer than the core tags in one call.
fn read_data(
    path: &Path,
    column: Column,
    max_sentences: Option<usize>,
) -> Result<Vec<conllu::Sentence>> {
    let mut sentences = conllu::read(path)?;
    if let Some(n) = max_sentences {
        sentences.truncate(n);
    }
    conllu::require_tags(&sentences, column, path)?;
    if sentences.iter().all(|s| s.words.is_empty()) {
        bail!("{} has no words", path.display());
    }
    if let Some(s) = sentences.iter().find(|s| s.words.len() > MAX_TOKENS) {
        bail!(
            "{}:{}: a sentence of {} words; models tag at most {MAX_TOKENS} per sentence",
            path.display(),
            s.words[0].line_number,
            s.words.len()
        );
    }
    Ok(sentences)
}

/// Fails now, not after an epoch, when the output's directory cannot take files.
fn check_writable(output: &Path) -> Result<()> {
    let dir = match output.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        bail!(
            "cannot write {}: directory {} does not exist",
            output.display(),
            dir.display()
        );
    }
    let probe = sibling(output, &format!(".probe-{}", std::process::id()));
    std::fs::write(&probe, b"").with_context(|| format!("cannot write in {}", dir.display()))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// CRC-32 of the training and dev files, so that `--resume` refuses other data.
fn fingerprint(args: &TrainArgs) -> Result<Vec<u32>> {
    let mut out = Vec::new();
    for path in std::iter::once(&args.train).chain(&args.dev) {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        out.push(postag_core::crc32(&bytes));
    }
    Ok(out)
}

/// Fresh vocabularies from the training data and freshly initialized weights.
fn fresh_model(settings: &Settings, train: &[conllu::Sentence]) -> Result<(Params, Vocab)> {
    let mut vocab = Vocab::build(
        train,
        &VocabOptions {
            column: settings.column,
            min_word_count: settings.min_word_count,
            normalize: settings.normalize(),
            chars: settings.chars,
            min_char_count: settings.min_char_count,
            max_word_chars: settings.max_word_chars,
        },
    )?;
    if settings.max_vocab > 0 {
        vocab.truncate_words(settings.max_vocab);
    }
    if vocab.word_rows > postag_core::format::MAX_ROWS as usize {
        bail!(
            "{} distinct words; limit them with --max-vocab or --min-word-count",
            vocab.word_rows - 1
        );
    }
    let params = Params::init(&build_arch(settings, &vocab), &mut Rng::new(settings.seed));
    Ok((params, vocab))
}

/// Weights and vocabularies of a model blob.
fn model_parts(blob: &[u8], what: &dyn std::fmt::Display) -> Result<(Params, Vocab)> {
    let model = Model::from_bytes(blob).map_err(|e| anyhow::anyhow!("{what}: {e}"))?;
    Ok(from_model(&model))
}

pub fn run(args: TrainArgs) -> Result<()> {
    let mut settings = Settings::from_args(&args);
    let fixed = Settings::shape_flags(&args);
    if settings.init.is_some() && !fixed.is_empty() {
        bail!(
            "{} cannot be combined with --init: the model's architecture and vocabularies are kept",
            fixed.join(", ")
        );
    }
    let workers = threads(args.threads);
    let say = |msg: String| {
        if !args.quiet {
            eprintln!("{msg}");
        }
    };
    check_writable(&args.output)?;

    // A model to continue from fixes the architecture, vocabularies and tag column.
    let init = match &settings.init {
        Some(path) => Some(model_parts(&read_blob(path)?, &path.display())?),
        None => None,
    };
    if let Some((params, vocab)) = &init {
        if args.column.is_some_and(|c| c != vocab.column) {
            bail!(
                "the --init model tags {}, not {}",
                vocab.column,
                settings.column
            );
        }
        settings.adopt(&params.arch, vocab);
    }
    settings.check()?;
    let column = settings.column;
    let train = read_data(&args.train, column, settings.max_sentences)?;
    let dev = args
        .dev
        .as_deref()
        .map(|p| read_data(p, column, None))
        .transpose()?;
    let data = fingerprint(&args)?;

    let ckpt_path = sibling(&args.output, ".ckpt");
    let resumed = if args.resume {
        Checkpoint::read(&ckpt_path)?
    } else {
        None
    };
    if args.resume && resumed.is_none() {
        say(format!(
            "no checkpoint at {}; starting from the beginning",
            ckpt_path.display()
        ));
    }
    let (mut params, vocab) = match (&resumed, init) {
        (Some(c), _) => {
            if c.settings != settings || c.data != data {
                bail!(
                    "{} was written for other settings or data; remove it or train with the same flags and files",
                    ckpt_path.display()
                );
            }
            model_parts(&c.params_blob, &ckpt_path.display())?
        }
        (None, Some(init)) => init,
        (None, None) => fresh_model(&settings, &train)?,
    };
    let encoded: Vec<nn::Sentence> = train
        .iter()
        .map(|s| vocab.encode(s, true))
        .collect::<Result<_>>()
        .with_context(|| format!("in {}", args.train.display()))?;
    let tokens: usize = encoded.iter().map(|s| s.words.len()).sum();
    let counts = vocab.row_counts(&encoded);
    say(format!(
        "training on {} sentences, {tokens} tokens; {} words, {} chars, {} tags; {} parameters; {workers} threads",
        encoded.len(),
        vocab.words.len(),
        vocab.chars.as_ref().map_or(0, |c| c.chars.len()),
        vocab.tags.len(),
        parameters(&params)
    ));

    let mut grads = Params::zeros(&params.arch);
    let mut adam = Adam::new(settings.lr, &params);
    adam.threads = workers;
    let sgd = Sgd {
        lr: settings.lr as f32,
    };
    let mut rng = Rng::new(settings.seed ^ 0x005E_ED0F_DA7A);
    let mut history: Vec<EpochRecord> = Vec::new();
    let mut best: Option<(f64, usize, Vec<u8>)> = None;
    if let Some(c) = resumed {
        adam.restore(&c.adam)?;
        rng = Rng::from_state(c.rng);
        history = c.history;
        best = c.best;
        say(format!("resuming after epoch {}", history.len()));
    }
    let start_epoch = history.len() + 1;

    let opts = TrainOpts {
        dropout: settings.dropout,
        threads: workers,
    };
    let unknown = vocab.unknown_word;
    let started = Instant::now();
    let mut stale = history
        .len()
        .saturating_sub(best.as_ref().map_or(0, |b| b.1));
    for epoch in start_epoch..=settings.epochs {
        if settings.patience > 0 && dev.is_some() && stale >= settings.patience {
            say(format!("no dev improvement for {stale} epochs; stopping"));
            break;
        }
        let t0 = Instant::now();
        let mut order: Vec<usize> = (0..encoded.len()).collect();
        if settings.shuffle {
            rng.shuffle(&mut order);
        }
        let bar = progress(
            args.quiet,
            tokens as u64,
            format!("epoch {epoch}/{}", settings.epochs),
        );
        let (mut loss_sum, mut loss_tokens) = (0.0f64, 0usize);
        for batch_ids in order.chunks(settings.batch_size) {
            let mut batch: Vec<nn::Sentence> =
                batch_ids.iter().map(|&i| encoded[i].clone()).collect();
            if let (Some(unk), true) = (unknown, settings.word_dropout > 0.0) {
                let a = settings.word_dropout as f64;
                for w in batch.iter_mut().flat_map(|s| s.words.iter_mut()) {
                    let c = counts.get(*w as usize).copied().unwrap_or(0) as f64;
                    if rng.next_f64() < a / (a + c) {
                        *w = unk;
                    }
                }
            }
            let refs: Vec<&nn::Sentence> = batch.iter().collect();
            let n: usize = refs.iter().map(|s| s.words.len()).sum();
            grads.fill_zero();
            let loss = nn::loss_and_grad(&params, &refs, &mut grads, &opts, &mut rng);
            if !loss.is_finite() {
                bail!("the training loss became {loss} in epoch {epoch}; lower --lr or set --clip");
            }
            if settings.clip > 0.0 {
                nn::clip_grad_norm(&mut grads, settings.clip);
            }
            match settings.optimizer {
                Optimizer::Adam => adam.step(&mut params, &grads),
                Optimizer::Sgd => sgd.step(&mut params, &grads),
            }
            loss_sum += loss as f64 * n as f64;
            loss_tokens += n;
            bar.inc(n as u64);
            let secs = t0.elapsed().as_secs_f64().max(1e-9);
            bar.set_message(format!(
                "loss {:.4}  {:.0} tok/s",
                loss_sum / loss_tokens as f64,
                loss_tokens as f64 / secs
            ));
        }
        bar.finish_and_clear();
        let seconds = t0.elapsed().as_secs_f64();
        let blob = to_blob(&params, &vocab, Storage::F32)?;
        let dev_accuracy = match &dev {
            Some(d) => {
                let model = Model::from_bytes(&blob).map_err(|e| anyhow::anyhow!("{e}"))?;
                Some(evaluate(&model, d, column, workers)?.accuracy)
            }
            None => None,
        };
        let record = EpochRecord {
            epoch,
            train_loss: loss_sum / loss_tokens.max(1) as f64,
            dev_accuracy,
            seconds,
            tokens_per_second: loss_tokens as f64 / seconds.max(1e-9),
        };
        say(format!(
            "epoch {epoch:>3}  loss {:.4}  {}{:.1}s  {:.0} tok/s",
            record.train_loss,
            dev_accuracy.map_or(String::new(), |a| format!("dev {:.2}%  ", 100.0 * a)),
            seconds,
            record.tokens_per_second
        ));
        history.push(record);
        let improved = match (&best, dev_accuracy) {
            (_, None) => true,
            (None, Some(_)) => true,
            (Some((b, _, _)), Some(a)) => a > *b,
        };
        if improved {
            best = Some((dev_accuracy.unwrap_or(0.0), epoch, blob.clone()));
            stale = 0;
        } else {
            stale += 1;
        }
        Checkpoint {
            settings: settings.clone(),
            data: data.clone(),
            params_blob: blob,
            adam: adam.state(),
            rng: rng.state(),
            history: history.clone(),
            best: best.clone(),
        }
        .write(&ckpt_path)?;
    }
    let training_seconds = started.elapsed().as_secs_f64();

    let Some((_, best_epoch, best_blob)) = best else {
        bail!(
            "no epoch was trained (--epochs {} and a finished checkpoint?)",
            settings.epochs
        );
    };
    // The kept epoch, in the requested storage.
    let final_blob = if settings.quantize {
        let model = Model::from_bytes(&best_blob).map_err(|e| anyhow::anyhow!("{e}"))?;
        let (p, v) = from_model(&model);
        to_blob(&p, &v, Storage::I8)?
    } else {
        best_blob
    };
    let model = Model::from_bytes(&final_blob).map_err(|e| anyhow::anyhow!("{e}"))?;
    let dev_eval = dev
        .as_ref()
        .map(|d| evaluate(&model, d, column, workers))
        .transpose()?;
    write_atomic(&args.output, &final_blob)?;
    let _ = std::fs::remove_file(&ckpt_path);

    let trained_tokens: usize = (history.len().saturating_sub(start_epoch - 1)) * tokens;
    let report = Report {
        model: args.output.display().to_string(),
        train: args.train.display().to_string(),
        dev_data: args.dev.as_ref().map(|p| p.display().to_string()),
        settings: &settings,
        train_sentences: encoded.len(),
        train_tokens: tokens,
        word_vocab: vocab.words.len(),
        char_vocab: vocab.chars.as_ref().map_or(0, |c| c.chars.len()),
        tags: &vocab.tags,
        parameters: parameters(&params),
        epochs: &history,
        best_epoch,
        dev_evaluation: dev_eval.as_ref(),
        training_seconds,
        tokens_per_second: trained_tokens as f64 / training_seconds.max(1e-9),
        model_bytes: final_blob.len(),
        scratch_bytes_64_tokens: model.scratch_bytes(64).unwrap_or(0),
    };
    write_report(&args.output, &report, &history, dev_eval.as_ref())?;
    say(format!(
        "wrote {} ({} bytes{}, epoch {best_epoch}){}; {:.1} min, {:.0} tokens/s",
        args.output.display(),
        final_blob.len(),
        if settings.quantize { ", int8" } else { "" },
        dev_eval.as_ref().map_or(String::new(), |e| format!(
            ", dev accuracy {:.2}%",
            100.0 * e.accuracy
        )),
        training_seconds / 60.0,
        report.tokens_per_second
    ));
    Ok(())
}

fn write_report(
    output: &Path,
    report: &Report<'_>,
    history: &[EpochRecord],
    dev: Option<&Evaluation>,
) -> Result<()> {
    let json = serde_json::to_string_pretty(report)?;
    write_atomic(&sibling(output, ".report.json"), json.as_bytes())?;
    let loss: Vec<(f64, f64)> = history
        .iter()
        .map(|r| (r.epoch as f64, r.train_loss))
        .collect();
    let chart = svg::line_chart(
        "training loss",
        "epoch",
        "mean token loss",
        &[("train", loss)],
    );
    write_atomic(&sibling(output, ".loss.svg"), chart.as_bytes())?;
    let acc: Vec<(f64, f64)> = history
        .iter()
        .filter_map(|r| r.dev_accuracy.map(|a| (r.epoch as f64, 100.0 * a)))
        .collect();
    let (acc_path, confusion_path) = (
        sibling(output, ".accuracy.svg"),
        sibling(output, ".confusion.svg"),
    );
    match dev {
        Some(ev) => {
            let chart = svg::line_chart("dev accuracy", "epoch", "accuracy (%)", &[("dev", acc)]);
            write_atomic(&acc_path, chart.as_bytes())?;
            let count = |g: &str, p: &str| {
                ev.confusion
                    .get(g)
                    .and_then(|r| r.get(p))
                    .copied()
                    .unwrap_or(0)
            };
            // Every tag that was gold or predicted, so dev-only tags show too.
            let labels: Vec<String> = ev.per_tag.keys().cloned().collect();
            let chart = svg::confusion_matrix("dev confusion (rows: gold)", &labels, &count);
            write_atomic(&confusion_path, chart.as_bytes())?;
        }
        None => {
            // Plots of an earlier run with --dev would describe another model.
            let _ = std::fs::remove_file(&acc_path);
            let _ = std::fs::remove_file(&confusion_path);
        }
    }
    Ok(())
}
