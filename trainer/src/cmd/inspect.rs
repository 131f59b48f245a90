//! `postag inspect`: what a model file holds.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use clap::Args;
use postag_core::format::{self, LstmPart, Net, Role};
use postag_core::tensor::{Layout, Storage};
use serde_json::json;

use crate::cmd::ModelArg;
use crate::model_io::word_lstm_layout;

#[derive(Args, Debug)]
pub struct InspectArgs {
    #[command(flatten)]
    model: ModelArg,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
    /// Report scratch memory for sentences of this many tokens (0 to 4096, the most one
    /// call tags).
    #[arg(
        long,
        default_value_t = 64,
        value_parser = clap::value_parser!(u64).range(0..=postag_core::MAX_TOKENS as u64)
    )]
    tokens: u64,
}

fn part(role: Role) -> &'static str {
    match role {
        Role::WordEmbedding => "word embedding",
        Role::WordStrings | Role::WordOffsets | Role::WordRows => "word vocabulary",
        Role::CharEmbedding => "char embedding",
        Role::CharCodes | Role::CharRows => "char vocabulary",
        Role::Lstm { net: Net::Char, .. } => "char LSTM",
        Role::Lstm {
            net: Net::Word,
            part: LstmPart::Bias,
            ..
        }
        | Role::Lstm { net: Net::Word, .. } => "word LSTM",
        Role::TagWeights | Role::TagBias => "hidden2tag",
        Role::TagStrings | Role::TagOffsets => "tag names",
        Role::CrfTransitions | Role::CrfStart | Role::CrfEnd => "CRF",
        Role::Segmenter(_) => "segmenter",
    }
}

pub fn run(args: InspectArgs, out: &mut dyn std::io::Write) -> Result<()> {
    let file = args.model.open()?;
    let model = file.load()?;
    let (name, bytes) = (file.name(), file.bytes());
    let raw = format::split(bytes).with_context(|| name.to_string())?;
    let mut parts: BTreeMap<&str, usize> = BTreeMap::new();
    for entry in raw.header.tensors.iter().flatten() {
        *parts.entry(part(entry.role)).or_default() +=
            entry.dtype.byte_len(entry.rows, entry.cols).unwrap_or(0);
    }
    let tensor_bytes: usize = parts.values().sum();
    parts.insert("header, padding, CRC", bytes.len() - tensor_bytes);
    let c = model.config();
    // (At most MAX_TOKENS: the parser's range.)
    let tokens = args.tokens as usize;
    let scratch = model.scratch_bytes(tokens);
    let min_scratch = model.min_scratch_bytes(tokens);
    let normalize = crate::vocab::normalize_names(c.words.normalize);
    // (A blob may mix f32 and int8 matrices; postag's writers give each model one.)
    let storage = model.storage().map_or("mixed f32 and int8", storage_name);
    let layout = match word_lstm_layout(&model) {
        Some(Layout::Panels) => "panels",
        Some(Layout::Rows) => "rows",
        None => "mixed",
    };
    let version = format::declared_version(bytes).with_context(|| name.to_string())?;
    let tags: Vec<&str> = model.tag_names().collect();
    let segmenter = crate::pipeline::optional_segmenter(bytes, name)?;
    let info = json!({
        "model": name,
        "bytes": bytes.len(),
        "format_version": version,
        "weights": storage,
        "word_lstm_layout": layout,
        "tag_column": format!("{:?}", c.tag_column).to_uppercase(),
        "tags": tags,
        "words": {"vocabulary": model.vocab_len(), "rows": c.words.rows, "dim": c.words.dim,
                  "unknown_row": c.words.unknown, "normalize": normalize},
        "chars": c.chars.map(|ch| json!({"vocabulary": model.chars().map_or(0, |n| n.vocab_len()), "rows": ch.rows,
                  "dim": ch.dim, "unknown_row": ch.unknown, "max_word_chars": ch.max_word_chars,
                  "hidden": ch.lstm.hidden, "layers": ch.lstm.layers, "bidirectional": ch.lstm.bidirectional})),
        "lstm": {"hidden": c.lstm.hidden, "layers": c.lstm.layers, "bidirectional": c.lstm.bidirectional},
        "crf": c.crf,
        "bytes_by_part": parts,
        "scratch_tokens": tokens,
        "scratch_bytes": scratch,
        "min_scratch_bytes": min_scratch,
        "cached_scratch_bytes": model.cached_scratch_bytes(tokens),
        "state_floats": if model.has_state() { Some(model.state_len()) } else { None },
        "segmenter": segmenter.map(|s| json!({"bytes": s.byte_len(), "chars": s.vocab_len(),
                  "dim": s.embedding_dim(), "hidden": s.hidden(), "bidirectional": s.bidirectional(),
                  "multiword_forms": s.multiwords(), "spaces_in_tokens": s.spaces_in_tokens(),
                  "weights": storage_name(s.storage())})),
    });
    if args.json {
        writeln!(out, "{info}")?;
        return Ok(());
    }
    writeln!(
        out,
        "model        {name}: {} bytes, format v{}, {storage} weights (word LSTM in {layout})",
        bytes.len(),
        version
    )?;
    writeln!(
        out,
        "words        {} in the vocabulary, embedding {} x {}, unknown row {}, normalize: {}",
        model.vocab_len(),
        c.words.rows,
        c.words.dim,
        c.words.unknown.map_or("none".into(), |r| r.to_string()),
        crate::vocab::normalize_name(c.words.normalize)
    )?;
    if let Some(ch) = c.chars {
        writeln!(
            out,
            "chars        {} in the vocabulary, embedding {} x {}, LSTM {} layer(s) x {}{}, max {} chars per word",
            model.chars().map_or(0, |n| n.vocab_len()),
            ch.rows,
            ch.dim,
            ch.lstm.layers,
            ch.lstm.hidden,
            if ch.lstm.bidirectional { " bidirectional" } else { "" },
            ch.max_word_chars
        )?;
    }
    writeln!(
        out,
        "word LSTM    {} layer(s) x {}{}",
        c.lstm.layers,
        c.lstm.hidden,
        if c.lstm.bidirectional {
            " bidirectional"
        } else {
            ""
        }
    )?;
    writeln!(
        out,
        "tags         {} ({}): {}{}",
        tags.len(),
        info["tag_column"].as_str().unwrap_or(""),
        tags.join(" "),
        if c.crf { "; CRF/Viterbi" } else { "" }
    )?;
    match scratch {
        Some(s) => writeln!(
            out,
            "scratch      {s} bytes for {} tokens ({} with the low-memory schedule, {} with the char projection cache)",
            tokens,
            min_scratch.unwrap_or(s),
            model.cached_scratch_bytes(tokens).unwrap_or(s)
        )?,
        None => writeln!(
            out,
            "scratch      more than {} tokens per call is not supported",
            postag_core::MAX_TOKENS
        )?,
    }
    if model.has_state() {
        writeln!(
            out,
            "state        {} floats for streaming",
            model.state_len()
        )?;
    }
    match segmenter {
        Some(s) => writeln!(
            out,
            "segmenter    {} bytes: {} chars, embedding {}, LSTM {}{}, {} weights, {} multiword forms{}",
            s.byte_len(),
            s.vocab_len(),
            s.embedding_dim(),
            s.hidden(),
            if s.bidirectional() {
                " bidirectional"
            } else {
                ""
            },
            storage_name(s.storage()),
            s.multiwords(),
            if s.spaces_in_tokens() {
                ", spaces inside tokens"
            } else {
                ""
            }
        )?,
        None => writeln!(out, "segmenter    none (tags pre-tokenized input only)")?,
    }
    writeln!(out, "bytes by part:")?;
    for (k, v) in &parts {
        writeln!(out, "  {k:<22} {v:>10}")?;
    }
    Ok(())
}

/// How `inspect` names a weight storage.
fn storage_name(storage: Storage) -> &'static str {
    match storage {
        Storage::F32 => "f32",
        Storage::I8 => "int8",
    }
}
