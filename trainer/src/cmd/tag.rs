//! `postag-trainer tag`: tag text, CoNLL-U or JSON lines.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, ValueEnum};
use postag_core::Model;
use serde_json::{Map, Value};

use crate::cmd::{model_bytes, model_name};
use crate::conllu::{self, Column};
use crate::fsio::write_atomic;
use crate::tagging::{tag_all, threads};

/// Input and output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One sentence per line, tokens separated by whitespace; writes `token/TAG`.
    Text,
    /// CoNLL-U; writes it back with the model's column filled, everything else untouched.
    Conllu,
    /// One `{"tokens": [...]}` object per line; adds `"tags"` (and `"scores"`).
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

fn read_input(path: Option<&PathBuf>) -> Result<(String, String)> {
    let (name, bytes) = match path {
        Some(p) => (
            p.display().to_string(),
            std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?,
        ),
        None => {
            let mut b = Vec::new();
            std::io::stdin()
                .read_to_end(&mut b)
                .context("cannot read standard input")?;
            ("<stdin>".to_string(), b)
        }
    };
    match String::from_utf8(bytes) {
        Ok(s) => Ok((name, s)),
        Err(e) => {
            let ok = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = ok.iter().filter(|&&b| b == b'\n').count() + 1;
            bail!("{name}:{line}: invalid UTF-8")
        }
    }
}

pub fn run(args: TagArgs, out: &mut dyn std::io::Write) -> Result<()> {
    if args.scores && args.format != Format::Jsonl {
        bail!("--scores needs --format jsonl");
    }
    let bytes = model_bytes(args.model.as_deref())?;
    let model = Model::from_bytes(&bytes)
        .map_err(|e| anyhow!("{}: {e}", model_name(args.model.as_ref())))?;
    let (name, text) = read_input(args.input.as_ref())?;
    let workers = threads(args.threads);
    let result = match args.format {
        Format::Text => tag_text(&model, &text, &name, workers)?,
        Format::Conllu => tag_conllu(&model, &text, &name, workers)?,
        Format::Jsonl => tag_jsonl(&model, &text, &name, args.scores, workers)?,
    };
    match &args.output {
        Some(path) => write_atomic(path, result.as_bytes()),
        None => Ok(out.write_all(result.as_bytes())?),
    }
}

fn tag_text(model: &Model<'_>, text: &str, name: &str, workers: usize) -> Result<String> {
    let lines: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let tagged = tag_all(model, &lines, false, workers, &|i| {
        format!("{name}:{}", i + 1)
    })?;
    let mut out = String::with_capacity(text.len() * 2);
    for (tokens, t) in lines.iter().zip(&tagged) {
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
    let column = Column::from_core(model.config().tag_column);
    let mut out = String::with_capacity(text.len() + 64);
    for (s, t) in sentences.iter().zip(&tagged) {
        let names: Vec<&str> = t.tags.iter().map(|&g| model.tag_name(g as usize)).collect();
        s.write_with_tags(column, &names, &mut out);
    }
    Ok(out)
}

fn tag_jsonl(
    model: &Model<'_>,
    text: &str,
    name: &str,
    scores: bool,
    workers: usize,
) -> Result<String> {
    let mut objects: Vec<Map<String, Value>> = Vec::new();
    let mut tokens: Vec<Vec<String>> = Vec::new();
    let mut lines: Vec<usize> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = || format!("{name}:{}", i + 1);
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
        objects.push(obj);
        lines.push(i + 1);
    }
    let views: Vec<Vec<&str>> = tokens
        .iter()
        .map(|s| s.iter().map(String::as_str).collect())
        .collect();
    let tagged = tag_all(model, &views, scores, workers, &|i| {
        format!("{name}:{}", lines[i])
    })?;
    let t = model.num_tags();
    let mut out = String::new();
    for (mut obj, tg) in objects.into_iter().zip(tagged) {
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
        out.push('\n');
    }
    Ok(out)
}
