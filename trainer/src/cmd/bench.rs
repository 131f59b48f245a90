//! `postag-trainer bench`: tagging throughput of a model on real sentences.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use clap::Args;
use postag_core::Model;

use crate::cmd::{model_bytes, model_name};
use crate::conllu;
use crate::tagging::{tag_all, threads};

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// The model (default: the built-in English model).
    #[arg(long)]
    model: Option<PathBuf>,
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
    let bytes = model_bytes(args.model.as_deref())?;
    let model = Model::from_bytes(&bytes)
        .map_err(|e| anyhow!("{}: {e}", model_name(args.model.as_ref())))?;
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
        model_name(args.model.as_ref()),
        bytes.len(),
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
