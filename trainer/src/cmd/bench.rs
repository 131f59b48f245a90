//! `postag bench`: tagging throughput of a model on real sentences.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use clap::Args;

use crate::cmd::ModelArg;
use crate::conllu;
use crate::tagging::{tag_all, threads};

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(flatten)]
    model: ModelArg,
    /// Sentences to tag (CoNLL-U).
    #[arg(long)]
    data: PathBuf,
    /// Seconds to measure each figure.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Worker threads for the parallel figure (default: all cores).
    #[arg(long)]
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
    for workers in [1, threads(args.threads)] {
        tag_all(&model, &forms, false, workers, &|i| {
            format!("sentence {}", i + 1)
        })?; // warm-up
        let (start, mut done) = (Instant::now(), 0usize);
        while start.elapsed() < budget {
            tag_all(&model, &forms, false, workers, &|i| {
                format!("sentence {}", i + 1)
            })?;
            done += tokens;
        }
        let secs = start.elapsed().as_secs_f64();
        writeln!(
            out,
            "tagging, one sentence per call, {workers} thread(s): {:.0} tokens/s",
            done as f64 / secs
        )?;
        if workers == threads(args.threads) {
            break;
        }
    }
    Ok(())
}
