//! `postag bench`: tagging throughput of a model on real sentences, and, for a model with
//! a segmenter, segmenting throughput on their raw text.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use clap::Args;

use crate::cmd::ModelArg;
use crate::tagging::{tag_all, tag_one, threads, BATCH};
use crate::{conllu, pipeline, rawtext};
use postag_core::MAX_TOKENS;

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(flatten)]
    model: ModelArg,
    /// Sentences to tag (CoNLL-U); their `# text` lines are the raw text to segment.
    #[arg(long, value_parser = crate::cmd::input_file)]
    data: PathBuf,
    /// Seconds to measure each figure, 0.1 to 3600: passes over the data for this long (at
    /// least 5 timings), reporting the median pass (passes under 10 ms timed in groups).
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Worker threads for the parallel figure (default: all cores).
    #[arg(long, value_parser = crate::tagging::parse_threads)]
    threads: Option<usize>,
}

pub fn run(args: BenchArgs, out: &mut dyn std::io::Write) -> Result<()> {
    if !(0.1..=3600.0).contains(&args.seconds) {
        return Err(crate::cmd::usage(anyhow!(
            "--seconds must be between 0.1 and 3600"
        )));
    }
    let file = args.model.open()?;
    let model = file.load()?;
    let sentences = conllu::read(&args.data)?;
    let forms: Vec<Vec<&str>> = sentences.iter().map(conllu::Sentence::forms).collect();
    let tokens: usize = forms.iter().map(Vec::len).sum();
    if tokens == 0 {
        return Err(anyhow!("{} has no words", args.data.display()));
    }
    // A word the model cannot read fails here, naming its file and line, not in a
    // measured pass.
    let data_name = args.data.display().to_string();
    crate::evaluate::check_vocabulary(&model, &sentences, &data_name)?;
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
        "kernels: {} ({})",
        level.name(),
        if level == postag_core::arch::best() {
            "the fastest level this processor runs; POSTAG_SIMD picks another"
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
        let (secs, n, group) = median_pass(budget, pass)?;
        writeln!(
            out,
            "tagging, {label}: {:.0} tokens/s ({})",
            tokens as f64 / secs,
            timings(n, group)
        )?;
        Ok(())
    };
    measure("one sentence per call, 1 thread(s)", &mut one_per_call)?;
    // The workers `tag_all` starts: those asked for, up to what the data keeps busy.
    let asked = threads(args.threads);
    let all = asked.clamp(1, postag_core::worker_limit(&forms, BATCH));
    for workers in [1, all] {
        let mut label = format!("up to {BATCH} sentences per call, {workers} thread(s)");
        if workers == all && all < asked {
            let of = match args.threads {
                Some(_) => format!("of {asked} asked"),
                None => format!("of {asked} cores"),
            };
            label += &format!(" ({of}: too few sentences and tokens for more)");
        }
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
    let Some(seg) = crate::pipeline::optional_segmenter(file.bytes(), file.name())? else {
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
        let (secs, n, group) = median_pass(budget, pass)?;
        writeln!(
            out,
            "{label}, 1 thread: {:.3} MB/s ({})",
            mb / secs,
            timings(n, group)
        )?;
        Ok(())
    };
    measure("segmenting", &mut || {
        pipeline::segment(&seg, file.name(), &text, false).map(drop)
    })?;
    measure("segmenting and tagging", &mut || {
        let mut sentences = pipeline::segment(&seg, file.name(), &text, false)?;
        pipeline::tag(model, &mut sentences, 1)
    })
}

/// Timings at least this many, however long they take: a median needs a few.
const MIN_TIMINGS: usize = 5;

/// Seconds a timing lasts at least: passes shorter than this are timed a group at a
/// time (the group's mean per pass), so that the clock's resolution does not show and
/// the timings kept stay few however small the data.
const MIN_TIMING: f64 = 0.01;

/// Runs `pass` once to warm up (and to size the groups that shorter passes are timed
/// in), then times groups of passes until `budget` has passed (and at least
/// [`MIN_TIMINGS`] of them): the median of the groups' seconds per pass (wall clock),
/// which a few passes slowed by another process on a shared machine do not move, the
/// number of timings and the passes in each.
fn median_pass(
    budget: Duration,
    pass: &mut dyn FnMut() -> Result<()>,
) -> Result<(f64, usize, usize)> {
    let warm = Instant::now();
    pass()?;
    let once = warm.elapsed().as_secs_f64();
    let group = (MIN_TIMING / once.max(1e-9)).ceil().clamp(1.0, 1e6) as usize;
    let (start, mut times) = (Instant::now(), Vec::new());
    while times.len() < MIN_TIMINGS || start.elapsed() < budget {
        let t = Instant::now();
        for _ in 0..group {
            pass()?;
        }
        times.push(t.elapsed().as_secs_f64() / group as f64);
    }
    Ok((median(&mut times), times.len(), group))
}

/// The median of `times` (not empty), sorting them: the middle one, or the mean of
/// the two middle ones.
fn median(times: &mut [f64]) -> f64 {
    times.sort_by(f64::total_cmp);
    let mid = times.len() / 2;
    match times.len() % 2 {
        1 => times[mid],
        _ => (times[mid - 1] + times[mid]) / 2.0,
    }
}

/// How a figure was measured: "median of N passes", or of N timings of a group of
/// passes each.
fn timings(n: usize, group: usize) -> String {
    match group {
        1 => format!("median of {n} passes"),
        _ => format!("median of {n} timings of {group} passes each"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_is_the_middle_value_or_the_mean_of_the_two() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&mut [0.5]), 0.5);
        // A few slow timings do not move it.
        assert_eq!(median(&mut [1.0, 9.0, 1.0, 1.0, 8.0]), 1.0);
    }

    #[test]
    fn short_passes_are_timed_in_groups_of_at_least_10_ms() {
        let mut passes = 0;
        let mut pass = || {
            passes += 1;
            Ok(())
        };
        let (secs, n, group) = median_pass(Duration::from_millis(100), &mut pass).unwrap();
        assert!(n >= MIN_TIMINGS, "{n}");
        assert!(group > 1, "{group}");
        assert_eq!(passes, 1 + n * group);
        assert!(secs.is_finite() && secs >= 0.0, "{secs}");
        assert_eq!(timings(3, 1), "median of 3 passes");
        assert_eq!(timings(7, 40), "median of 7 timings of 40 passes each");
    }
}
