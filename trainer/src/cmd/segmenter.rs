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
    #[arg(long, default_value_t = SegOpts::default().steps, value_parser = crate::cmd::at_least_one::<usize>)]
    steps: usize,
    /// Char embedding size.
    #[arg(long, default_value_t = SegOpts::default().dim, value_parser = crate::cmd::at_least_one::<usize>)]
    dim: usize,
    /// LSTM hidden size per direction.
    #[arg(long, default_value_t = SegOpts::default().hidden, value_parser = crate::cmd::at_least_one::<usize>)]
    hidden: usize,
    /// A forward-only LSTM.
    #[arg(long)]
    unidirectional: bool,
    /// Store the segmenter's weight matrices as int8 (default: f32).
    #[arg(long)]
    int8: bool,
    /// Seed.
    #[arg(long, default_value_t = 1, value_parser = crate::cmd::count::<u64>)]
    seed: u64,
    /// With `--dev`: worker threads for tagging the dev set (default: all cores).
    #[arg(long, requires = "dev", value_parser = crate::tagging::parse_threads)]
    threads: Option<usize>,
}

/// Each multiword surface form (lowercased) with its most frequent words (lowercased),
/// of the multiword tokens a blob's table can hold: a form and words without control
/// characters, and without whitespace unless tokens may hold it (`spaces`). The others
/// are left out, with a warning that names the first (`path`: the data's file).
pub fn multiword_table(
    sentences: &[TokSentence],
    spaces: bool,
    path: &Path,
) -> Vec<(String, Vec<String>)> {
    let storable = |s: &str| {
        !s.chars()
            .any(|c| c.is_control() || !spaces && c.is_whitespace())
    };
    let mut counts: HashMap<String, HashMap<Vec<String>, usize>> = HashMap::new();
    let mut left_out = (0usize, None);
    for (s, t) in sentences
        .iter()
        .flat_map(|s| s.tokens.iter().map(move |t| (s, t)))
        .filter(|(_, t)| t.multiword)
    {
        if !storable(&t.form) || !t.words.iter().all(|w| storable(&w.form)) {
            left_out.0 += 1;
            left_out.1.get_or_insert((s.line, t.form.clone()));
            continue;
        }
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
    if let (n, Some((line, form))) = left_out {
        eprintln!(
            "warning: {}: multiword tokens whose form or words hold a control character{} \
             are left out of the multiword table: {n} (the first {form:?}, in the sentence \
             at line {line})",
            path.display(),
            if spaces { "" } else { " or whitespace" }
        );
    }
    table
}

/// Refuses labels with no token boundary (of `n` sentences read from `path`).
fn check_labels(path: &Path, labels: &[u8], n: usize) -> Result<()> {
    if labels.iter().all(|&l| l == rawtext::LABEL_NONE) {
        bail!(
            "{}: no token boundary to learn from: the `# text` of none of its {n} sentences \
             matches its tokens",
            path.display()
        );
    }
    Ok(())
}

/// Refuses, before any work, training data (`sentences`, read from `path`) that
/// [`learn`] would refuse after the tagger's training.
pub fn check_data(path: &Path, sentences: &[TokSentence]) -> Result<()> {
    check_labels(path, &rawtext::labels(sentences).1, sentences.len())
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
    check_labels(train_path, &labels, sentences.len())?;
    if let Some(&first) = mismatched.first() {
        let s = &sentences[first];
        eprintln!(
            "warning: {}: {} sentences whose `# text` does not spell their tokens (the first \
             at line {}) are left unlabelled",
            train_path.display(),
            mismatched.len(),
            if s.text_line > 0 { s.text_line } else { s.line }
        );
    }
    let table = multiword_table(&sentences, spaces, train_path);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_multiword_table_holds_only_what_a_blob_can_store() {
        let doc = |form: &str, w1: &str| {
            format!(
                "1-2\t{form}\t_\t_\t_\t_\t_\t_\t_\t_\n1\t{w1}\t_\tX\t_\t_\t0\troot\t_\t_\n\
                 2\tt\t_\tX\t_\t_\t1\tdep\t_\t_\n\n"
            )
        };
        let text = [
            doc("Dont", "Do"),
            doc("don\u{1}t", "do"),
            doc("do nt", "do"),
            doc("x", "a\u{0}b"),
        ]
        .concat();
        let sentences = rawtext::parse(&text, Path::new("x")).unwrap();
        let table = |spaces| multiword_table(&sentences, spaces, Path::new("x"));
        let dont = ("dont".to_string(), vec!["do".to_string(), "t".to_string()]);
        assert_eq!(table(false), std::slice::from_ref(&dont));
        // Spaces are words' parts where tokens may hold them.
        let spaced = ("do nt".to_string(), vec!["do".to_string(), "t".to_string()]);
        assert_eq!(table(true), [spaced, dont]);
    }
}
