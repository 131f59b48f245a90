//! `postag segmenter`: learn the segmenter (raw text to tokens and sentences) from a
//! CoNLL-U treebank that carries `# text`, and store it in a model blob.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use clap::Args;
use postag_core::segment::build::{with_segmenter, SegmenterWeights};
use postag_core::tensor::Storage;

use crate::cmd::ModelArg;
use crate::fsio::write_atomic;
use crate::nn::segmenter::{train, SegOpts};
use crate::pipeline::eval_raw;
use crate::rawtext::{self, TokSentence};
use crate::score::render;

#[derive(Args, Debug)]
pub struct SegmenterArgs {
    #[command(flatten)]
    model: ModelArg,
    /// Training data (CoNLL-U with `# text`).
    #[arg(long, value_parser = crate::cmd::input_file)]
    train: PathBuf,
    /// Dev data: report raw-text Tokens, Sentences, Words and UPOS F1 on it (on
    /// standard error, with the rest of the report).
    #[arg(long, value_parser = crate::cmd::input_file)]
    dev: Option<PathBuf>,
    /// Where to write the model with its segmenter.
    #[arg(short, long, value_parser = crate::cmd::output_file)]
    output: PathBuf,
    /// Optimizer steps.
    #[arg(long, default_value_t = SegOpts::default().steps)]
    steps: usize,
    /// Char embedding size.
    #[arg(long, default_value_t = SegOpts::default().dim)]
    dim: usize,
    /// LSTM hidden size per direction.
    #[arg(long, default_value_t = SegOpts::default().hidden)]
    hidden: usize,
    /// A forward-only LSTM.
    #[arg(long)]
    unidirectional: bool,
    /// Store the segmenter's weight matrices as int8.
    #[arg(long)]
    int8: bool,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// With `--dev`: worker threads for tagging the dev set (default: all cores).
    #[arg(long, requires = "dev", value_parser = crate::tagging::parse_threads)]
    threads: Option<usize>,
}

/// Each multiword surface form (lowercased) with its most frequent words (lowercased).
pub fn multiword_table(sentences: &[TokSentence]) -> Vec<(String, Vec<String>)> {
    let mut counts: HashMap<String, HashMap<Vec<String>, usize>> = HashMap::new();
    for t in sentences
        .iter()
        .flat_map(|s| &s.tokens)
        .filter(|t| t.multiword)
    {
        let words = t.words.iter().map(|w| w.form.to_lowercase()).collect();
        *counts
            .entry(t.form.to_lowercase())
            .or_default()
            .entry(words)
            .or_default() += 1;
    }
    let mut table: Vec<(String, Vec<String>)> = counts
        .into_iter()
        .map(|(form, e)| {
            let best = e
                .into_iter()
                .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
                .map(|(w, _)| w)
                .unwrap_or_default();
            (form, best)
        })
        .collect();
    table.sort();
    table
}

/// Trains a segmenter on `train` (which must carry `# text`).
pub fn learn(train_path: &Path, opts: &SegOpts, quiet: bool) -> Result<SegmenterWeights> {
    let sentences = rawtext::read(train_path)?;
    if !rawtext::has_text(&sentences) {
        bail!(
            "{} has no `# text` comments: no segmenter can be learned",
            train_path.display()
        );
    }
    let (chars, labels, mismatched, spaces) = rawtext::labels(&sentences);
    if labels.iter().all(|&l| l == rawtext::LABEL_NONE) {
        bail!(
            "{}: no token boundary to learn from: the `# text` of none of its {} sentences \
             matches its tokens",
            train_path.display(),
            sentences.len()
        );
    }
    if let Some(&first) = mismatched.first().filter(|_| !quiet) {
        let s = &sentences[first];
        eprintln!(
            "warning: {}: {} sentences whose `# text` does not spell their tokens (the first \
             at line {}) are left unlabelled",
            train_path.display(),
            mismatched.len(),
            if s.text_line > 0 { s.text_line } else { s.line }
        );
    }
    let table = multiword_table(&sentences);
    let started = std::time::Instant::now();
    let w = train(&chars, &labels, spaces, table, opts, |step, loss| {
        if !quiet {
            eprintln!(
                "segmenter: step {step}/{} loss {loss:.4} ({:.0} s)",
                opts.steps,
                started.elapsed().as_secs_f64()
            );
        }
    });
    Ok(w)
}

/// Refuses sizes a segmenter cannot have before any work ([`super::UsageError`]s):
/// `opts`' char embedding size, hidden size and steps (named by `flags`, in that order)
/// at least 1, the sizes at most the model format's limit.
pub(crate) fn check_opts(opts: &SegOpts, [dim, hidden, steps]: [&str; 3]) -> Result<()> {
    let max = postag_core::format::MAX_DIM as usize;
    for (flag, value) in [(dim, opts.dim), (hidden, opts.hidden), (steps, opts.steps)] {
        if value == 0 {
            return Err(super::usage(anyhow::anyhow!("{flag} must be at least 1")));
        }
    }
    for (flag, value) in [(dim, opts.dim), (hidden, opts.hidden)] {
        if value > max {
            let limit =
                anyhow::anyhow!("{flag} {value} is above the model format's limit of {max}");
            return Err(super::usage(limit));
        }
    }
    Ok(())
}

/// Writes the model with its segmenter to `-o`; what it did, and the `--dev` scores,
/// go to `report` (standard error: `-o /dev/stdout` puts the model on standard output).
pub fn run(args: SegmenterArgs, report: &mut dyn std::io::Write) -> Result<()> {
    // Everything that can be checked before minutes of training is checked first.
    let file = args.model.open()?;
    let model = file.load()?;
    let mut data = vec![("--train", args.train.as_path())];
    data.extend(args.dev.as_deref().map(|d| ("--dev", d)));
    crate::cmd::check_not_data(&args.output, &data)?;
    crate::cmd::train::check_writable(&args.output)?;
    crate::cmd::train::warn_dev_is_train(&args.train, args.dev.as_deref());
    let opts = SegOpts {
        steps: args.steps,
        dim: args.dim,
        hidden: args.hidden,
        bidirectional: !args.unidirectional,
        seed: args.seed,
        ..Default::default()
    };
    check_opts(&opts, ["--dim", "--hidden", "--steps"])?;
    let dev = match &args.dev {
        Some(path) => Some((
            crate::pipeline::read_raw_gold(&model, file.name(), path)?,
            path,
        )),
        None => None,
    };
    let w = learn(&args.train, &opts, false)?;
    let storage = if args.int8 { Storage::I8 } else { Storage::F32 };
    let blob = with_segmenter(file.bytes(), Some(&w), storage)?;
    write_atomic(&args.output, &blob)?;
    let seg = crate::pipeline::segmenter(&blob, &args.output.display().to_string())?;
    writeln!(
        report,
        "wrote {} ({} bytes; segmenter {} bytes, {} chars, {} multiword forms)",
        args.output.display(),
        blob.len(),
        seg.byte_len(),
        seg.vocab_len(),
        seg.multiwords()
    )?;
    if let Some((gold, path)) = &dev {
        let r = eval_raw(
            &blob,
            &args.output.display().to_string(),
            gold,
            &path.display().to_string(),
            crate::tagging::threads(args.threads),
            false,
        )?;
        write!(report, "{}", render(&r.scores))?;
        writeln!(
            report,
            "segmented {} bytes in {:.2} s: {:.2} MB/s",
            r.text_bytes,
            r.segment_seconds,
            r.text_bytes as f64 / r.segment_seconds / 1e6
        )?;
    }
    Ok(())
}
