//! `postag convert`: a model's LSTM weights rewritten in another layout, the weights
//! unchanged: an f32 model's word and char LSTMs in row panels (format version 2) or
//! rows (version 1), an int8 model's word LSTM in int8 row panels (version 3) or rows.

use std::path::PathBuf;

use anyhow::{anyhow, Context, Result};
use clap::{Args, ValueEnum};
use postag_core::builder::relayout_int8;
use postag_core::format;
use postag_core::segment::build::copy_segmenter;
use postag_core::tensor::{Layout, Storage};

use crate::cmd::ModelFile;
use crate::fsio::write_atomic;
use crate::model_io::{from_model, tagger_lstm_layout, to_blob_in};

/// How the blob stores the `W_ih` and `W_hh` of an f32 model's word and char LSTMs, or
/// of an int8 model's word LSTM.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutArg {
    /// Row panels of 16: the layouts of the vector kernels (f32: format version 2, which
    /// `train` and `import-torch` write; int8: version 3, faster products at the
    /// `avx2` and `avx512` levels).
    Panels,
    /// Row by row (format version 1): for builds that read version 1 only (Cortex-M
    /// firmware) and for earlier versions of postag.
    Rows,
}

#[derive(Args, Debug)]
pub struct ConvertArgs {
    /// The model.
    #[arg(long, value_parser = crate::cmd::input_file)]
    model: PathBuf,
    /// The layout to write.
    #[arg(long, value_enum)]
    layout: LayoutArg,
    /// Where to write the converted model.
    #[arg(short, long, value_parser = crate::cmd::output_file)]
    output: PathBuf,
}

/// Writes the converted model to `-o`; what it did goes to `report` (standard error: `-o
/// /dev/stdout` puts the model on standard output).
pub fn run(args: ConvertArgs, report: &mut dyn std::io::Write) -> Result<()> {
    let file = ModelFile::read(&args.model)?;
    let model = file.load()?;
    let bytes = file.bytes();
    // The segmenter, if any, goes along unchanged: it must be valid too.
    crate::pipeline::optional_segmenter(bytes, file.name())?;
    let panels = args.layout == LayoutArg::Panels;
    let storage = model.storage().ok_or_else(|| {
        anyhow!(
            "{} mixes f32 and int8 weight matrices: `postag quantize` makes them all int8, then convert chooses the int8 layout",
            file.name()
        )
    })?;
    let version = format::declared_version(bytes).with_context(|| file.name().to_string())?;
    let done = match tagger_lstm_layout(&model) {
        // Version 1 holds no panels anywhere.
        _ if !panels && version == 1 => Some("is in rows already"),
        Some(Layout::Panels) if panels => Some("is in panels already"),
        _ => None,
    };
    if let Some(why) = done {
        write_atomic(&args.output, bytes)?;
        writeln!(
            report,
            "{} {why}: wrote {}, the same {} bytes",
            args.model.display(),
            args.output.display(),
            bytes.len()
        )?;
        return Ok(());
    }
    let converted = match storage {
        // The word LSTM's int8 matrices rearranged, every other tensor as it is (rows
        // requested of a blob that holds no panels: the same tensors, as version 1, the
        // lowest version that holds them).
        Storage::I8 => relayout_int8(bytes, panels),
        Storage::F32 => {
            let (params, vocab) = from_model(&model).with_context(|| file.name().to_string())?;
            copy_segmenter(bytes, &to_blob_in(&params, &vocab, Storage::F32, panels)?)
        }
    }
    .with_context(|| file.name().to_string())?;
    write_atomic(&args.output, &converted)?;
    let version = format::declared_version(&converted)?;
    let what = match (storage, panels) {
        (Storage::I8, true) => "the word LSTM in int8 panels",
        (Storage::I8, false) => "the word LSTM in rows",
        (Storage::F32, true) => "the LSTMs in panels",
        (Storage::F32, false) => "the LSTMs in rows",
    };
    writeln!(
        report,
        "wrote {}: {what}, format version {version} ({} bytes)",
        args.output.display(),
        converted.len()
    )?;
    Ok(())
}
