//! `postag train`: learn a model from a CoNLL-U treebank.

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use postag_core::builder::BuildError;
use postag_core::format::BlobBuf;
use postag_core::segment::build::{copy_segmenter, with_segmenter};
use postag_core::tensor::Storage;
use postag_core::Model;

use crate::cmd::{progress_bar, ModelFile};
use crate::conllu::{self, TagColumn};
use crate::evaluate::{check, evaluate};
use crate::fsio::{sibling, write_atomic};
use crate::model_io::{from_model, is_quantized, to_blob};
use crate::nn::{self, Adam, Arch, CharArch, Params, Rng, Sgd, TrainOpts};
use crate::rawtext;
use crate::tagging::threads;
use crate::vocab::{Vocab, VocabOptions};

mod args;
pub mod checkpoint;
mod report;
mod settings;

pub use args::TrainArgs;
pub use report::EpochRecord;
pub use settings::{Optimizer, Preset, Settings};

use checkpoint::Checkpoint;
use report::{write_report, Report, SegmenterReport};

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
    p.named_parameters().iter().map(|t| t.data.len()).sum()
}

/// Reads training or dev data: every word tagged in `column`, at least one word, no
/// sentence longer than the core tags in one call.
fn read_data(
    path: &Path,
    column: TagColumn,
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
    Ok(sentences)
}

/// Warns of UPOS tags outside UD's 17 in the training data `sentences` (read from
/// `path`): each is learned as a tag of its own.
fn warn_non_ud_upos(sentences: &[conllu::Sentence], path: &Path) {
    if let (n, Some(first)) = conllu::non_ud_upos(sentences) {
        eprintln!(
            "warning: {}:{}: UPOS {:?} is not one of UD's 17 tags; each tag outside them \
             (on {n} of {} words) is learned as a tag of its own",
            path.display(),
            first.line_number,
            first.upos,
            sentences.iter().map(|s| s.words.len()).sum::<usize>()
        );
    }
}

/// A warning when `--dev` names the `--train` data (by any name): its scores, and what
/// they select (the kept epoch, `--patience`), then say nothing of unseen text.
pub(crate) fn warn_dev_is_train(train: &Path, dev: Option<&Path>) {
    if dev.is_some_and(|d| crate::fsio::same_file(train, d)) {
        eprintln!(
            "warning: --dev names the --train data: its scores are those of the training \
             data, not of unseen text"
        );
    }
}

/// Fails now, not after an epoch, when the output is a directory or its directory
/// cannot take files. A descriptor of this process (`/dev/stdout`), an existing device or
/// a named pipe is written in place and checked only then (nothing is made beside it).
pub(crate) fn check_writable(output: &Path) -> Result<()> {
    if crate::fsio::written_in_place(output) {
        // A descriptor, device or named pipe is written in place: nothing goes beside it.
        return Ok(());
    }
    crate::fsio::not_a_directory(output)?;
    let dir = crate::fsio::existing_directory(output, output)?;
    // A side file's path that is a directory would fail the run after the model was
    // written.
    for suffix in report::SIDE_FILES {
        let side = sibling(output, suffix);
        if side.is_dir() {
            bail!(
                "cannot write {}: it is a directory (train writes its {suffix} file there)",
                side.display()
            );
        }
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
        out.push(postag_core::crc32(crate::fsio::read_data(path)?.as_bytes()));
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

/// Weights and vocabularies of a model blob; `what` names it in errors.
fn model_parts(blob: &[u8], what: &dyn std::fmt::Display) -> Result<(Params, Vocab)> {
    let model = Model::from_bytes(blob).with_context(|| what.to_string())?;
    from_model(&model).with_context(|| what.to_string())
}

/// `sentences` (read from `path`) as embedding rows and tags. A word, character or tag
/// the vocabularies lack (an `--init` model's) is an error naming `path` and the word's
/// line.
fn encode_all(
    vocab: &Vocab,
    sentences: &[conllu::Sentence],
    path: &Path,
) -> Result<Vec<nn::Sentence>> {
    let source = path.display().to_string();
    sentences
        .iter()
        .map(|s| vocab.encode(s, true, &source))
        .collect()
}

/// The encoded training sentences and what word dropout needs of them.
struct TrainSet {
    sentences: Vec<nn::Sentence>,
    /// Tokens in `sentences`.
    tokens: usize,
    /// Training occurrences of each word row.
    counts: Vec<u32>,
    /// The unknown-word row, if the vocabulary has one.
    unknown: Option<u32>,
}

/// The weights being learned and what updates them.
struct Learner {
    params: Params,
    grads: Params,
    adam: Adam,
    sgd: Sgd,
    opts: TrainOpts,
}

/// One pass over the training data in minibatches; returns the mean token loss and
/// the tokens seen.
fn train_epoch(
    epoch: usize,
    settings: &Settings,
    set: &TrainSet,
    l: &mut Learner,
    rng: &mut Rng,
    quiet: bool,
) -> Result<(f64, usize)> {
    let t0 = Instant::now();
    let mut order: Vec<usize> = (0..set.sentences.len()).collect();
    if settings.shuffle {
        rng.shuffle(&mut order);
    }
    let bar = progress_bar(
        quiet,
        set.tokens as u64,
        format!("epoch {epoch}/{}", settings.epochs),
    );
    let (mut loss_sum, mut loss_tokens) = (0.0f64, 0usize);
    for batch_ids in order.chunks(settings.batch_size) {
        let mut batch: Vec<nn::Sentence> = batch_ids
            .iter()
            .map(|&i| set.sentences[i].clone())
            .collect();
        if let (Some(unk), true) = (set.unknown, settings.word_dropout > 0.0) {
            let a = settings.word_dropout as f64;
            for w in batch.iter_mut().flat_map(|s| s.words.iter_mut()) {
                let c = set.counts.get(*w as usize).copied().unwrap_or(0) as f64;
                if rng.next_f64() < a / (a + c) {
                    *w = unk;
                }
            }
        }
        let refs: Vec<&nn::Sentence> = batch.iter().collect();
        let n: usize = refs.iter().map(|s| s.words.len()).sum();
        l.grads.fill_zero();
        let loss = nn::loss_and_grad(&l.params, &refs, &mut l.grads, &l.opts, rng);
        if !loss.is_finite() {
            bail!("the training loss became {loss} in epoch {epoch}; lower --lr or set --clip");
        }
        if settings.clip > 0.0 {
            nn::clip_grad_norm(&mut l.grads, settings.clip);
        }
        match settings.optimizer {
            Optimizer::Adam => l.adam.step(&mut l.params, &l.grads),
            Optimizer::Sgd => l.sgd.step(&mut l.params, &l.grads),
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
    Ok((loss_sum / loss_tokens.max(1) as f64, loss_tokens))
}

pub fn run(args: TrainArgs) -> Result<()> {
    let mut settings = Settings::from_args(&args);
    let fixed = Settings::shape_flags(&args);
    if settings.init.is_some() && !fixed.is_empty() {
        return Err(crate::cmd::usage(anyhow::anyhow!(
            "{} cannot be combined with --init: the model's architecture and vocabularies are kept",
            fixed.join(", ")
        )));
    }
    let run_started = Instant::now();
    let workers = threads(args.threads);
    let say = |msg: String| {
        if !args.quiet {
            eprintln!("{msg}");
        }
    };
    let mut data = vec![("--train", args.train.as_path())];
    data.extend(args.dev.as_deref().map(|d| ("--dev", d)));
    crate::cmd::check_not_data(&args.output, &data)?;
    // Nor may a file written beside the model be the data.
    for suffix in report::SIDE_FILES {
        let side = sibling(&args.output, suffix);
        if let Some((flag, _)) = data.iter().find(|(_, p)| crate::fsio::same_file(&side, p)) {
            return Err(crate::cmd::usage(anyhow::anyhow!(
                "{} is the {flag} file: train writes its {suffix} file there, beside -o {}",
                side.display(),
                args.output.display()
            )));
        }
    }
    check_writable(&args.output)?;
    warn_dev_is_train(&args.train, args.dev.as_deref());

    // A model to continue from fixes the architecture, vocabularies and tag column.
    let init = match &settings.init {
        Some(path) => {
            let file = ModelFile::read(path)?;
            let model = file.load()?;
            Some((
                from_model(&model).with_context(|| file.name().to_string())?,
                is_quantized(&model),
                file.bytes().to_vec(),
            ))
        }
        None => None,
    };
    if let Some(((params, vocab), quantized, _)) = &init {
        if args.column.is_some_and(|c| c != vocab.column) {
            bail!(
                "the --init model tags {}, not {}",
                vocab.column,
                settings.column
            );
        }
        settings.adopt(&params.arch, vocab);
        // The output keeps the storage of the model it continues, unless told.
        if args.switches().quantize.is_none() {
            settings.quantize = *quantized;
        }
    }
    // A segmenter the --init model carries goes into the output unchanged.
    let (init, init_blob) = match init {
        Some((parts, _, blob)) => (Some(parts), Some(blob)),
        None => (None, None),
    };
    settings.check().map_err(crate::cmd::usage)?;
    let column = settings.column;
    let train = read_data(&args.train, column, settings.max_sentences)?;
    if column == TagColumn::Upos {
        warn_non_ud_upos(&train, &args.train);
    }
    let dev = args
        .dev
        .as_deref()
        .map(|p| read_data(p, column, None))
        .transpose()?;
    let dev_path = args.dev.as_deref().unwrap_or(std::path::Path::new(""));
    // A segmenter is learned from training data that carries `# text`, unless told not
    // to or the --init model brings its own: decided (and its options checked) now,
    // learned after the tagger.
    let seg_opts = args.segmenter_opts();
    // (A broken one is refused now, naming the file, not after training.)
    let init_segmenter = match (&init_blob, &settings.init) {
        (Some(b), Some(path)) => {
            crate::pipeline::optional_segmenter(b, &path.display().to_string())?.is_some()
        }
        _ => false,
    };
    let seg_flags = args.segmenter_flags();
    if init_segmenter && !seg_flags.is_empty() {
        return Err(crate::cmd::usage(anyhow::anyhow!(
            "{} cannot be combined with an --init model that carries a segmenter: its segmenter is kept unchanged",
            seg_flags.join(", ")
        )));
    }
    let tokens = match args.no_segmenter || init_segmenter {
        true => None,
        false => Some(rawtext::read(&args.train).context(
            "the training data's tokens are read for a segmenter (--no-segmenter skips it)",
        )?),
    };
    let learn_segmenter = tokens.as_deref().is_some_and(rawtext::has_text);
    if tokens.is_some() && !learn_segmenter && !seg_flags.is_empty() {
        return Err(crate::cmd::usage(anyhow::anyhow!(
            "{} given, but {} carries no `# text`: no segmenter is learned from it",
            seg_flags.join(", "),
            args.train.display()
        )));
    }
    if let Some(tokens) = tokens.filter(|_| learn_segmenter) {
        crate::cmd::segmenter::check_opts(
            &seg_opts,
            ["--segmenter-dim", "--segmenter-hidden", "--segmenter-steps"],
        )?;
        crate::cmd::segmenter::check_data(&args.train, &tokens)?;
    }
    let data = fingerprint(&args)?;

    // Beside a descriptor, device or named pipe (`-o /dev/stdout`, `-o /dev/null`)
    // there is no place for the checkpoint, the report and the plots: they are not
    // written.
    let side_files = !crate::fsio::written_in_place(&args.output);
    if !side_files {
        say(format!(
            "{} is not a regular file: no checkpoint, report or plots are written beside it",
            args.output.display()
        ));
    }
    let ckpt_path = sibling(&args.output, ".ckpt");
    let resumed = if args.resume && side_files {
        Checkpoint::read(&ckpt_path)?
    } else {
        None
    };
    if args.resume && resumed.is_none() {
        // (Said under --quiet too: the run does not do what --resume asked.)
        eprintln!(
            "no checkpoint at {}; starting from the beginning",
            ckpt_path.display()
        );
    }
    let (params, vocab) = match (&resumed, init) {
        (Some(c), _) => {
            if c.data != data {
                bail!(
                    "{} was written for other training or dev data; remove it or train with the same files",
                    ckpt_path.display()
                );
            }
            if c.threads != workers {
                bail!(
                    "{} was written by a run on {} threads, and the weights depend on the thread count; resume with --threads {}",
                    ckpt_path.display(),
                    c.threads,
                    c.threads
                );
            }
            if c.settings != settings {
                bail!(
                    "{} was written for other settings ({}); remove it or train with the same flags",
                    ckpt_path.display(),
                    settings_diff(&c.settings, &settings)
                );
            }
            model_parts(&c.params_blob, &ckpt_path.display())?
        }
        (None, Some(init)) => init,
        (None, None) => fresh_model(&settings, &train)?,
    };
    let encoded = encode_all(&vocab, &train, &args.train)?;
    let set = TrainSet {
        tokens: encoded.iter().map(|s| s.words.len()).sum(),
        counts: vocab.row_counts(&encoded),
        unknown: vocab.unknown_word,
        sentences: encoded,
    };
    let tokens = set.tokens;
    say(format!(
        "training on {} sentences, {tokens} tokens; {} words, {} chars, {} tags; {} parameters; {workers} threads",
        set.sentences.len(),
        vocab.words.len(),
        vocab.chars.as_ref().map_or(0, |c| c.chars.len()),
        vocab.tags.len(),
        parameters(&params)
    ));

    let mut learner = Learner {
        grads: Params::zeros(&params.arch),
        adam: Adam::new(settings.lr, &params),
        sgd: Sgd {
            lr: settings.lr as f32,
        },
        opts: TrainOpts {
            dropout: settings.dropout,
            threads: workers,
        },
        params,
    };
    learner.adam.threads = workers;
    let mut rng = Rng::new(settings.seed ^ 0x005E_ED0F_DA7A);
    let mut history: Vec<EpochRecord> = Vec::new();
    let mut best: Option<(f64, usize, Vec<u8>)> = None;
    if let Some(c) = resumed {
        learner.adam.restore(&c.adam)?;
        rng = Rng::from_state(c.rng);
        history = c.history;
        best = c.best;
        say(format!("resuming after epoch {}", history.len()));
    }
    let start_epoch = history.len() + 1;

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
        let (train_loss, loss_tokens) =
            train_epoch(epoch, &settings, &set, &mut learner, &mut rng, args.quiet)?;
        let seconds = t0.elapsed().as_secs_f64();
        let blob = match to_blob(&learner.params, &vocab, Storage::F32) {
            // A weight no blob stores (beyond 2^48, where the arithmetic could
            // overflow): the run diverged.
            Err(e) if matches!(e.downcast_ref(), Some(BuildError::NonFinite { .. })) => {
                // Its weights are the diverged run's: no use to resume from.
                if side_files {
                    let _ = std::fs::remove_file(&ckpt_path);
                }
                bail!(
                    "training diverged in epoch {epoch}: {e}; nothing was written (lower --lr or set --clip)"
                );
            }
            blob => blob?,
        };
        let dev_accuracy = match &dev {
            Some(d) => {
                // At a 64-byte-aligned address, as a model file is read.
                let blob = BlobBuf::new(&blob);
                let model = Model::from_bytes(&blob)?;
                // Checked and warned about once a run.
                if epoch == start_epoch {
                    check(&model, d, dev_path, column)?;
                }
                Some(evaluate(&model, d, dev_path, column, workers)?.accuracy)
            }
            None => None,
        };
        let record = EpochRecord {
            epoch,
            train_loss,
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
        if side_files {
            Checkpoint {
                settings: settings.clone(),
                data: data.clone(),
                threads: workers,
                params_blob: blob,
                adam: learner.adam.state(),
                rng: rng.state(),
                history: history.clone(),
                best: best.clone(),
            }
            .write(&ckpt_path)?;
        }
    }
    let training_seconds = started.elapsed().as_secs_f64();

    let Some((_, best_epoch, best_blob)) = best else {
        bail!(
            "no epoch was trained (--epochs {} and a finished checkpoint?)",
            settings.epochs
        );
    };
    warn_unlearned(&history[best_epoch - 1], vocab.tags.len());
    // The kept epoch, in the requested storage, with the --init model's segmenter.
    let mut final_blob = if settings.quantize {
        let model = Model::from_bytes(&best_blob)?;
        let (p, v) = from_model(&model)?;
        to_blob(&p, &v, Storage::I8)?
    } else {
        best_blob
    };
    if let Some(init_blob) = &init_blob {
        final_blob = copy_segmenter(init_blob, &final_blob)?;
    }
    // The same steps as `postag segmenter` on the written model: the same bytes.
    let mut segmenter = None;
    if learn_segmenter {
        say(format!(
            "learning the segmenter from the # text of {}",
            args.train.display()
        ));
        let w = crate::cmd::segmenter::learn(&args.train, &seg_opts, args.quiet)?;
        let int8 = args.switches().segmenter_int8.unwrap_or(settings.quantize);
        segmenter = Some(SegmenterReport {
            opts: seg_opts,
            int8,
        });
        let storage = if int8 { Storage::I8 } else { Storage::F32 };
        final_blob = with_segmenter(&final_blob, Some(&w), storage)?;
    }
    let aligned = BlobBuf::new(&final_blob);
    let model = Model::from_bytes(&aligned)?;
    let dev_eval = dev
        .as_ref()
        .map(|d| {
            // Checked and warned about already, unless no epoch ran here.
            if history.len() < start_epoch {
                check(&model, d, dev_path, column)?;
            }
            evaluate(&model, d, dev_path, column, workers)
        })
        .transpose()?;
    write_atomic(&args.output, &final_blob)?;
    if side_files {
        let _ = std::fs::remove_file(&ckpt_path);
    }

    // The epochs of this run (not those before a `--resume`), timed without the dev
    // evaluations between them: the rate of the epoch lines.
    let run_epochs = history.get(start_epoch - 1..).unwrap_or_default();
    let trained_tokens = run_epochs.len() * tokens;
    let epoch_seconds: f64 = run_epochs.iter().map(|r| r.seconds).sum();
    let report = Report {
        model: args.output.display().to_string(),
        train: args.train.display().to_string(),
        dev_data: args.dev.as_ref().map(|p| p.display().to_string()),
        settings: &settings,
        threads: workers,
        segmenter,
        train_sentences: set.sentences.len(),
        train_tokens: tokens,
        word_vocab: vocab.words.len(),
        char_vocab: vocab.chars.as_ref().map_or(0, |c| c.chars.len()),
        tags: &vocab.tags,
        parameters: parameters(&learner.params),
        epochs: &history,
        best_epoch,
        dev_evaluation: dev_eval.as_ref(),
        training_seconds,
        tokens_per_second: trained_tokens as f64 / epoch_seconds.max(1e-9),
        model_bytes: final_blob.len(),
        scratch_bytes_64_tokens: model.scratch_bytes(64).unwrap_or(0),
    };
    if side_files {
        write_report(&args.output, &report, &history, dev_eval.as_ref()).with_context(|| {
            format!(
                "wrote {}, but not all of its report and plots",
                args.output.display()
            )
        })?;
    }
    say(format!(
        "wrote {} ({} bytes{}, epoch {best_epoch}){}; {} in all, the tagger's epochs at {:.0} tokens/s",
        args.output.display(),
        final_blob.len(),
        if settings.quantize { ", int8" } else { "" },
        dev_eval.as_ref().map_or(String::new(), |e| match settings.quantize {
            // The epoch lines (and the choice of epoch) are of the f32 weights.
            true => format!(
                ", dev accuracy {:.2}% (the epoch's f32 weights: {})",
                100.0 * e.accuracy,
                history[best_epoch - 1]
                    .dev_accuracy
                    .map_or("n/a".to_string(), |a| format!("{:.2}%", 100.0 * a))
            ),
            false => format!(", dev accuracy {:.2}%", 100.0 * e.accuracy),
        }),
        duration(run_started.elapsed().as_secs_f64()),
        report.tokens_per_second
    ));
    Ok(())
}

/// `seconds` for people: "12 s", "3.4 min".
fn duration(seconds: f64) -> String {
    if seconds < 60.0 {
        format!("{seconds:.0} s")
    } else {
        format!("{:.1} min", seconds / 60.0)
    }
}

/// The first setting (by name) whose value differs between `a` and `b`, as
/// "name: a vs b", for a checkpoint written with other settings.
fn settings_diff(a: &Settings, b: &Settings) -> String {
    let (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(b))) =
        (serde_json::to_value(a), serde_json::to_value(b))
    else {
        return "the settings differ".into();
    };
    a.iter()
        .find(|(k, v)| b.get(*k) != Some(*v))
        .map_or("the settings differ".into(), |(k, v)| {
            let now = b.get(k).map_or("none".into(), ToString::to_string);
            format!("{k}: {v} in the checkpoint, {now} now")
        })
}

/// Warns when the kept epoch's training loss is above that of a model that gives every
/// one of `tags` tags the same score (ln `tags`): a run that diverged without
/// overflowing, or one too short to learn.
fn warn_unlearned(kept: &EpochRecord, tags: usize) {
    let uniform = (tags as f64).ln();
    if kept.train_loss > uniform {
        eprintln!(
            "warning: the training loss of the kept epoch ({}), {:.4}, is above that of scoring all {tags} tags alike (ln {tags} = {uniform:.4}): training diverged or learned nothing (lower --lr, set --clip, or train longer)",
            kept.epoch, kept.train_loss
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_settings_difference_is_named() {
        let a = Settings::preset(Preset::Tiny);
        let mut b = a.clone();
        b.epochs += 3;
        assert_eq!(
            settings_diff(&a, &b),
            format!("epochs: {} in the checkpoint, {} now", a.epochs, b.epochs)
        );
        assert_eq!(settings_diff(&a, &a.clone()), "the settings differ");
    }

    #[test]
    fn durations_read_in_seconds_then_minutes() {
        assert_eq!(duration(12.4), "12 s");
        assert_eq!(duration(204.0), "3.4 min");
    }
}
