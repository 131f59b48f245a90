//! `postag import-torch`: a PyTorch state_dict (safetensors) and the tutorial's
//! index maps to a postag model.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use postag_core::tensor::Storage;
use postag_core::torch::{self, ImportOptions, TorchVocab};
use postag_core::Model;

use crate::conllu::{self, TagColumn};
use crate::fsio::write_atomic;
use crate::vocab::normalize_flags;

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// `model.state_dict()` saved with `safetensors.torch.save_file`.
    #[arg(long, value_parser = crate::cmd::input_file)]
    state_dict: PathBuf,
    /// `{"word_to_ix": {...}, "tag_to_ix": {...}, "char_to_ix": {...}}`; the key `"<unk>"`
    /// names the unknown-word (or unknown-char) row.
    #[arg(long, value_parser = crate::cmd::input_file)]
    vocab: PathBuf,
    /// Where to write the model.
    #[arg(short, long, value_parser = crate::cmd::output_file)]
    output: PathBuf,
    /// The CoNLL-U column the tags come from (recorded in the model).
    #[arg(long, value_parser = conllu::column_parser(), default_value = "upos")]
    column: TagColumn,
    /// Words were lowercased (Python's `str.lower()`) when word_to_ix was built.
    #[arg(long, overrides_with = "no_lowercase")]
    lowercase: bool,
    /// Words are looked up as written (the default).
    #[arg(long, overrides_with = "lowercase")]
    no_lowercase: bool,
    /// ASCII digits were replaced with 0 when word_to_ix was built.
    #[arg(long, overrides_with = "no_fold_digits")]
    fold_digits: bool,
    /// Digits are looked up as written (the default).
    #[arg(long, overrides_with = "fold_digits")]
    no_fold_digits: bool,
    /// Longest word the char LSTM reads whole (longer: first and last halves); only for
    /// a model with char features. The default, the format's maximum, reads every word
    /// of up to 1024 characters whole, as PyTorch does; a smaller value shrinks scratch
    /// memory for stacked char LSTMs.
    #[arg(
        long,
        value_parser = |s: &str| {
            crate::cmd::whole_number(s, 1, postag_core::format::MAX_WORD_CHARS as u64)
                .map(|v| v as u32)
        }
    )]
    max_word_chars: Option<u32>,
    /// Write int8 weights with a per-row scale (about 4x smaller).
    #[arg(long, overrides_with = "no_quantize")]
    quantize: bool,
    /// Write f32 weights (the default).
    #[arg(long, overrides_with = "quantize")]
    no_quantize: bool,
}

/// Writes the model to `-o`; what it did goes to `report` (standard error: `-o
/// /dev/stdout` puts the model on standard output).
pub fn run(args: ImportArgs, report: &mut dyn std::io::Write) -> Result<()> {
    let inputs = [
        ("--state-dict", args.state_dict.as_path()),
        ("--vocab", args.vocab.as_path()),
    ];
    crate::cmd::check_not_data(&args.output, &inputs)?;
    let bytes = std::fs::read(&args.state_dict)
        .with_context(|| format!("cannot read {}", args.state_dict.display()))?;
    let tensors =
        torch::read_safetensors(&bytes).with_context(|| args.state_dict.display().to_string())?;
    if args.max_word_chars.is_some() && !tensors.contains_key("char_embeddings.weight") {
        return Err(crate::cmd::usage(anyhow::anyhow!(
            "--max-word-chars is for a model with char features; {} has none (no \
             `char_embeddings.weight`)",
            args.state_dict.display()
        )));
    }
    let text = crate::fsio::read_text(&args.vocab)?;
    let vocab = TorchVocab::from_json(&text).with_context(|| args.vocab.display().to_string())?;
    let options = ImportOptions {
        normalize: normalize_flags(args.lowercase, args.fold_digits),
        max_word_chars: args
            .max_word_chars
            .unwrap_or(postag_core::format::MAX_WORD_CHARS),
        tag_column: args.column,
        storage: if args.quantize {
            Storage::I8
        } else {
            Storage::F32
        },
    };
    let blob = torch::blob_from_state_dict(tensors, &vocab, &options)
        .with_context(|| format!("cannot import {}", args.state_dict.display()))?;
    write_atomic(&args.output, &blob)?;
    let model = Model::from_bytes(&blob)?;
    let c = model.config();
    writeln!(
        report,
        "wrote {}: {} bytes; word LSTM {} x {}{}{}{}, {} tags{}",
        args.output.display(),
        blob.len(),
        c.lstm.layers,
        c.lstm.hidden,
        if c.lstm.bidirectional {
            " bidirectional"
        } else {
            ""
        },
        c.chars.map_or(String::new(), |ch| format!(
            ", char LSTM {} x {}{}",
            ch.lstm.layers,
            ch.lstm.hidden,
            if ch.lstm.bidirectional {
                " bidirectional"
            } else {
                ""
            }
        )),
        if c.crf { ", CRF" } else { "" },
        c.tags,
        if c.words.unknown.is_none() {
            "; no unknown-word entry: unknown words are errors"
        } else {
            ""
        }
    )?;
    Ok(())
}
