//! `postag inspect`: what a model file holds.

use anyhow::{Context, Result};
use clap::Args;
use postag_core::summary::Summary;

use crate::cmd::ModelArg;

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
        value_parser = |s: &str| crate::cmd::whole_number(s, 0, postag_core::MAX_TOKENS as u64)
    )]
    tokens: u64,
}

pub fn run(args: InspectArgs, out: &mut dyn std::io::Write) -> Result<()> {
    let file = args.model.open()?;
    let model = file.load()?;
    let (name, bytes) = (file.name(), file.bytes());
    // The model loaded: only the segmenter's section can fail here.
    crate::pipeline::optional_segmenter(bytes, name)?;
    let info = Summary::new(name, bytes, args.tokens as usize).with_context(|| name.to_string())?;
    if args.json {
        writeln!(out, "{}", serde_json::to_string(&info)?)?;
        return Ok(());
    }
    let on = |yes: bool, text: &'static str| if yes { text } else { "" };
    let w = &info.words;
    writeln!(
        out,
        "model        {name}: {} bytes, format v{}, {} weights (word LSTM in {}{})",
        info.bytes,
        info.format_version,
        info.weights,
        info.word_lstm_layout,
        info.char_lstm_layout
            .map_or(String::new(), |l| format!(", char LSTM in {l}"))
    )?;
    writeln!(
        out,
        "words        {} in the vocabulary, embedding {} x {}, unknown row {}, normalize: {}",
        w.vocabulary,
        w.rows,
        w.dim,
        w.unknown_row.map_or("none".into(), |r| r.to_string()),
        crate::vocab::normalize_name(model.config().words.normalize)
    )?;
    if let Some(ch) = &info.chars {
        writeln!(
            out,
            "chars        {} in the vocabulary, embedding {} x {}, LSTM {} layer(s) x {}{}, max {} chars per word",
            ch.vocabulary,
            ch.rows,
            ch.dim,
            ch.layers,
            ch.hidden,
            on(ch.bidirectional, " bidirectional"),
            ch.max_word_chars
        )?;
    }
    let lstm = info.lstm;
    writeln!(
        out,
        "word LSTM    {} layer(s) x {}{}",
        lstm.layers,
        lstm.hidden,
        on(lstm.bidirectional, " bidirectional")
    )?;
    writeln!(
        out,
        "tags         {} ({}): {}{}",
        info.tags.len(),
        info.tag_column,
        info.tags.join(" "),
        on(info.crf, "; CRF/Viterbi")
    )?;
    match info.scratch_bytes {
        Some(s) => writeln!(
            out,
            "scratch      {s} bytes for {} tokens ({} with the low-memory schedule, {} with the char projection cache and int8 weight copies)",
            info.scratch_tokens,
            info.min_scratch_bytes.unwrap_or(s),
            info.cached_scratch_bytes.unwrap_or(s)
        )?,
        None => writeln!(
            out,
            "scratch      more than {} tokens per call is not supported",
            postag_core::MAX_TOKENS
        )?,
    }
    if let Some(n) = info.state_floats {
        writeln!(out, "state        {n} floats for streaming")?;
    }
    match &info.segmenter {
        Some(s) => writeln!(
            out,
            "segmenter    {} bytes: {} chars, embedding {}, LSTM {}{}, {} weights, {} multiword forms{}",
            s.bytes,
            s.chars,
            s.dim,
            s.hidden,
            on(s.bidirectional, " bidirectional"),
            s.weights,
            s.multiword_forms,
            on(s.spaces_in_tokens, ", spaces inside tokens")
        )?,
        None => writeln!(out, "segmenter    none (tags pre-tokenized input only)")?,
    }
    writeln!(out, "bytes by part:")?;
    for (k, v) in &info.bytes_by_part {
        writeln!(out, "  {k:<22} {v:>10}")?;
    }
    Ok(())
}
