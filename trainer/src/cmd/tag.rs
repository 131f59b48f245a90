//! `postag-trainer tag`: tag text, CoNLL-U or JSON lines.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, ValueEnum};
use postag_core::Model;

use crate::cmd::{model_bytes, model_name};
use crate::conllu::{self, Column};
use crate::fsio::{self, AtomicFile};
use crate::stream::{tag_stream, LineFormat};
use crate::tagging::{tag_all, threads, warn_long_sentences};

/// Input and output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One sentence per line, tokens separated by whitespace; writes `token/TAG`.
    /// Streamed: each line is answered as it arrives.
    Text,
    /// CoNLL-U, read whole; writes it back with the model's column filled and every
    /// other byte as it was.
    Conllu,
    /// One `{"tokens": [...]}` object per line; adds `"tags"` (and `"scores"`).
    /// Streamed; blank lines stay blank.
    Jsonl,
}

#[derive(Args, Debug)]
pub struct TagArgs {
    /// The model (default: the built-in English model).
    #[arg(long)]
    model: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// With jsonl: add each token's log-probabilities of every tag, in the model's tag order.
    #[arg(long)]
    scores: bool,
    /// Read from this file instead of standard input.
    #[arg(long, short)]
    input: Option<PathBuf>,
    /// Write to this file (atomically) instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

fn open_input(path: Option<&PathBuf>) -> Result<(String, Box<dyn BufRead + Send>)> {
    Ok(match path {
        Some(p) => {
            let f = File::open(p).with_context(|| format!("cannot read {}", p.display()))?;
            (p.display().to_string(), Box::new(BufReader::new(f)))
        }
        None => (
            "<stdin>".to_string(),
            Box::new(BufReader::new(std::io::stdin())),
        ),
    })
}

pub fn run(args: TagArgs, out: &mut dyn Write) -> Result<()> {
    if args.scores && args.format != Format::Jsonl {
        bail!("--scores needs --format jsonl");
    }
    let bytes = model_bytes(args.model.as_deref())?;
    let model = Model::from_bytes(&bytes)
        .map_err(|e| anyhow!("{}: {e}", model_name(args.model.as_ref())))?;
    let workers = threads(args.threads);
    let (name, mut input) = open_input(args.input.as_ref())?;
    // A file is written whole or not at all; standard output gets each chunk as it is done.
    let mut file = args.output.as_deref().map(AtomicFile::create).transpose()?;
    let sink: &mut dyn Write = match &mut file {
        Some(f) => f,
        None => out,
    };
    match args.format {
        Format::Conllu => {
            let mut raw = Vec::new();
            input
                .read_to_end(&mut raw)
                .with_context(|| format!("cannot read {name}"))?;
            let text = fsio::utf8(raw, &name)?;
            sink.write_all(tag_conllu(&model, &text, &name, workers)?.as_bytes())?;
        }
        Format::Text => tag_stream(&model, LineFormat::Text, input, &name, sink, workers)?,
        Format::Jsonl => {
            let format = LineFormat::Jsonl {
                scores: args.scores,
            };
            tag_stream(&model, format, input, &name, sink, workers)?
        }
    }
    if let Some(f) = file {
        f.commit()?;
    }
    Ok(())
}

fn tag_conllu(model: &Model<'_>, text: &str, name: &str, workers: usize) -> Result<String> {
    let sentences = conllu::parse(text, std::path::Path::new(name))?;
    let forms: Vec<Vec<&str>> = sentences.iter().map(conllu::Sentence::forms).collect();
    let at = |i: usize| {
        format!(
            "{name}:{}",
            sentences[i].words.first().map_or(0, |w| w.line_number)
        )
    };
    warn_long_sentences(&forms, &at);
    let tagged = tag_all(model, &forms, false, workers, &at)?;
    let names: Vec<Vec<&str>> = tagged
        .iter()
        .map(|t| t.tags.iter().map(|&g| model.tag_name(g as usize)).collect())
        .collect();
    let column = Column::from_core(model.config().tag_column);
    Ok(conllu::retag(text, &sentences, column, &names))
}
