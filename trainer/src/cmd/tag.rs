//! `postag-trainer tag`: tag text, CoNLL-U or JSON lines.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, ValueEnum};
use postag_core::Model;
use serde_json::{Map, Value};

use crate::cmd::{model_bytes, model_name};
use crate::conllu::{self, Column};
use crate::fsio::{self, AtomicFile};
use crate::tagging::{tag_all, threads};

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

/// Lines tagged together: enough to keep every thread busy, few enough that output
/// follows input closely.
const CHUNK_LINES: usize = 2048;

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
        Format::Text | Format::Jsonl => {
            stream_lines(input, &name, sink, |first, lines| match args.format {
                Format::Text => tag_text(&model, lines, first, &name, workers),
                _ => tag_jsonl(&model, lines, first, &name, args.scores, workers),
            })?
        }
    }
    if let Some(f) = file {
        f.commit()?;
    }
    Ok(())
}

/// Reads lines on a thread of their own and hands them to `tag(first_line_number,
/// lines)` in chunks: a full chunk, or whatever has arrived when the reader would wait,
/// so that interactive input is answered line by line.
fn stream_lines(
    input: Box<dyn BufRead + Send>,
    name: &str,
    sink: &mut dyn Write,
    mut tag: impl FnMut(usize, &[String]) -> Result<String>,
) -> Result<()> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<std::io::Result<Vec<u8>>>(CHUNK_LINES);
    // Detached: on an error the process exits without waiting for input to end.
    std::thread::spawn(move || {
        let mut input = input;
        loop {
            let mut line = Vec::new();
            match input.read_until(b'\n', &mut line) {
                Ok(0) => break,
                Ok(_) => {
                    if tx.send(Ok(line)).is_err() {
                        break;
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                    break;
                }
            }
        }
    });
    let mut next_line = 1;
    while let Ok(first) = rx.recv() {
        let mut chunk = vec![first];
        while chunk.len() < CHUNK_LINES {
            match rx.try_recv() {
                Ok(line) => chunk.push(line),
                Err(_) => break,
            }
        }
        let mut lines = Vec::with_capacity(chunk.len());
        for (k, line) in chunk.into_iter().enumerate() {
            let at = format!("{name}:{}", next_line + k);
            let mut bytes = line.with_context(|| format!("cannot read {at}"))?;
            while bytes.last().is_some_and(|&b| b == b'\n' || b == b'\r') {
                bytes.pop();
            }
            lines.push(String::from_utf8(bytes).map_err(|_| anyhow!("{at}: invalid UTF-8"))?);
        }
        sink.write_all(tag(next_line, &lines)?.as_bytes())?;
        sink.flush()?;
        next_line += lines.len();
    }
    Ok(())
}

fn tag_text(
    model: &Model<'_>,
    lines: &[String],
    first: usize,
    name: &str,
    workers: usize,
) -> Result<String> {
    let tokens: Vec<Vec<&str>> = lines
        .iter()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let tagged = tag_all(model, &tokens, false, workers, &|i| {
        format!("{name}:{}", first + i)
    })?;
    let mut out = String::new();
    for (tokens, t) in tokens.iter().zip(&tagged) {
        let words: Vec<String> = tokens
            .iter()
            .zip(&t.tags)
            .map(|(w, &g)| format!("{w}/{}", model.tag_name(g as usize)))
            .collect();
        out.push_str(&words.join(" "));
        out.push('\n');
    }
    Ok(out)
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
    let tagged = tag_all(model, &forms, false, workers, &at)?;
    let names: Vec<Vec<&str>> = tagged
        .iter()
        .map(|t| t.tags.iter().map(|&g| model.tag_name(g as usize)).collect())
        .collect();
    let column = Column::from_core(model.config().tag_column);
    Ok(conllu::retag(text, &sentences, column, &names))
}

/// Each non-blank line an object with `"tokens"`; blank lines stay blank, so output
/// line N answers input line N.
fn tag_jsonl(
    model: &Model<'_>,
    lines: &[String],
    first: usize,
    name: &str,
    scores: bool,
    workers: usize,
) -> Result<String> {
    let mut objects: Vec<Option<Map<String, Value>>> = Vec::new();
    let mut tokens: Vec<Vec<String>> = Vec::new();
    let mut numbers: Vec<usize> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            objects.push(None);
            continue;
        }
        let at = || format!("{name}:{}", first + i);
        let value: Value =
            serde_json::from_str(line).with_context(|| format!("{}: not JSON", at()))?;
        let Value::Object(obj) = value else {
            bail!("{}: expected an object with \"tokens\"", at())
        };
        let Some(Value::Array(list)) = obj.get("tokens") else {
            bail!("{}: expected \"tokens\": an array of strings", at())
        };
        let words = list
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| anyhow!("{}: every token must be a string", at()))?;
        tokens.push(words);
        objects.push(Some(obj));
        numbers.push(first + i);
    }
    let views: Vec<Vec<&str>> = tokens
        .iter()
        .map(|s| s.iter().map(String::as_str).collect())
        .collect();
    let mut tagged = tag_all(model, &views, scores, workers, &|i| {
        format!("{name}:{}", numbers[i])
    })?
    .into_iter();
    let t = model.num_tags();
    let mut out = String::new();
    for obj in objects {
        if let (Some(mut obj), Some(tg)) = (obj, tagged.next()) {
            let names: Vec<Value> = tg
                .tags
                .iter()
                .map(|&g| Value::from(model.tag_name(g as usize)))
                .collect();
            obj.insert("tags".into(), Value::Array(names));
            if scores {
                let rows: Vec<Value> = tg
                    .scores
                    .chunks_exact(t)
                    .map(|r| Value::Array(r.iter().map(|&x| Value::from(x as f64)).collect()))
                    .collect();
                obj.insert("scores".into(), Value::Array(rows));
            }
            out.push_str(&serde_json::to_string(&obj)?);
        }
        out.push('\n');
    }
    Ok(out)
}
