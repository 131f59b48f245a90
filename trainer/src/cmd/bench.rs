//! `postag bench`: tagging throughput of a model on real sentences, and, for a model with
//! a segmenter, segmenting throughput on their raw text.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use clap::Args;

use crate::cmd::ModelArg;
use crate::tagging::{tag_all, tag_one, threads};
use crate::{conllu, pipeline, rawtext};
use postag_core::MAX_TOKENS;

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(flatten)]
    model: ModelArg,
    /// Sentences to tag (CoNLL-U); their `# text` lines are the raw text to segment.
    #[arg(long, value_parser = crate::cmd::input_file)]
    data: PathBuf,
    /// Seconds to measure each figure: passes over the data for this long (at least 5),
    /// reporting the median pass.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Worker threads for the parallel figure (default: all cores).
    #[arg(long, value_parser = crate::tagging::parse_threads)]
    threads: Option<usize>,
}

pub fn run(args: BenchArgs, out: &mut dyn std::io::Write) -> Result<()> {
    let file = args.model.open()?;
    let model = file.load()?;
    let sentences = conllu::read(&args.data)?;
    let forms: Vec<Vec<&str>> = sentences.iter().map(conllu::Sentence::forms).collect();
    let tokens: usize = forms.iter().map(Vec::len).sum();
    if tokens == 0 {
        return Err(anyhow!("{} has no words", args.data.display()));
    }
    if !(0.1..=3600.0).contains(&args.seconds) {
        return Err(anyhow!("--seconds must be between 0.1 and 3600"));
    }
    let budget = Duration::from_secs_f64(args.seconds);
    writeln!(
        out,
        "model {} ({} bytes); {} sentences, {tokens} tokens",
        file.name(),
        file.bytes().len(),
        forms.len()
    )?;
    let level = postag_core::arch::level();
    writeln!(
        out,
        "kernels: {} ({}; POSTAG_SIMD picks another)",
        level.name(),
        if level == postag_core::arch::best() {
            "the fastest level this processor runs"
        } else {
            "chosen by POSTAG_SIMD"
        }
    )?;
    // Batch-1 (one sentence per core call, as firmware and streaming callers tag), then
    // bulk (`tag_all`: up to 32 sentences per call) on one thread and on all.
    let longest = forms.iter().map(Vec::len).max().unwrap_or(0);
    let mut scratch = vec![
        0u8;
        model
            .cached_scratch_bytes(longest.min(MAX_TOKENS))
            .unwrap_or(0)
    ];
    let mut one_per_call = || -> Result<()> {
        for (i, s) in forms.iter().enumerate() {
            tag_one(&model, s, false, &mut scratch)
                .map_err(|e| anyhow!("sentence {}: {}", i + 1, model.explain(s, e)))?;
        }
        Ok(())
    };
    let mut measure = |label: &str, pass: &mut dyn FnMut() -> Result<()>| -> Result<()> {
        let (secs, passes) = median_pass(budget, pass)?;
        writeln!(
            out,
            "tagging, {label}: {:.0} tokens/s (median of {passes} passes)",
            tokens as f64 / secs
        )?;
        Ok(())
    };
    measure("one sentence per call, 1 thread(s)", &mut one_per_call)?;
    let all = threads(args.threads);
    for workers in [1, all] {
        let label = format!("32 sentences per call, {workers} thread(s)");
        measure(&label, &mut || {
            tag_all(&model, &forms, false, workers, &|i| {
                format!("sentence {}", i + 1)
            })?;
            Ok(())
        })?;
        if workers == all {
            break;
        }
    }
    raw_text(&file, &model, &args, budget, out)
}

/// Segmenting, then segmenting and tagging, the data's raw text on one thread (the
/// sentences' `# text` joined as `eval --raw` joins them), in MB/s of UTF-8 text; a line
/// saying why not when the model has no segmenter or the data no `# text`.
fn raw_text(
    file: &crate::cmd::ModelFile,
    model: &postag_core::Model<'_>,
    args: &BenchArgs,
    budget: Duration,
    out: &mut dyn std::io::Write,
) -> Result<()> {
    let Some(seg) = postag_core::segment::Segmenter::from_bytes(file.bytes())
        .map_err(|e| anyhow!("{}: {e}", file.name()))?
    else {
        writeln!(out, "raw text: not measured, the model has no segmenter")?;
        return Ok(());
    };
    let gold = rawtext::read(&args.data)?;
    if !rawtext::has_text(&gold) {
        writeln!(
            out,
            "raw text: not measured, the data has no `# text` lines"
        )?;
        return Ok(());
    }
    let text = rawtext::raw_text(&gold);
    let mb = text.len() as f64 / 1e6;
    writeln!(out, "raw text: {} bytes", text.len())?;
    let mut measure = |label: &str, pass: &mut dyn FnMut() -> Result<()>| -> Result<()> {
        let (secs, passes) = median_pass(budget, pass)?;
        writeln!(
            out,
            "{label}, 1 thread: {:.3} MB/s (median of {passes} passes)",
            mb / secs
        )?;
        Ok(())
    };
    measure("segmenting", &mut || {
        pipeline::segment(&seg, &text, false).map(drop)
    })?;
    measure("segmenting and tagging", &mut || {
        let mut sentences = pipeline::segment(&seg, &text, false)?;
        pipeline::tag(model, &mut sentences, 1)
    })
}

/// Passes at least this many times, however long they take: a median needs a few.
const MIN_PASSES: usize = 5;

/// Runs `pass` once to warm up, then times passes until `budget` has passed (and at
/// least [`MIN_PASSES`] of them): the median seconds per pass (wall clock; the upper
/// one of an even count), which a pass slowed by another process on a shared machine
/// does not move, and the number of passes timed.
fn median_pass(budget: Duration, pass: &mut dyn FnMut() -> Result<()>) -> Result<(f64, usize)> {
    pass()?;
    let (start, mut times) = (Instant::now(), Vec::new());
    while times.len() < MIN_PASSES || start.elapsed() < budget {
        let t = Instant::now();
        pass()?;
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    Ok((times[times.len() / 2], times.len()))
}
