//! `postag quantize`: int8 weight matrices with a per-row scale, the tagger's and the
//! segmenter's (each matrix about 4x smaller).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use postag_core::segment::build::{copy_segmenter_as, has_f32_segmenter};
use postag_core::tensor::Storage;

use crate::cmd::ModelFile;
use crate::fsio::write_atomic;
use crate::model_io::{from_model, is_quantized, to_blob};

#[derive(Args, Debug)]
pub struct QuantizeArgs {
    /// The model: f32, or mixed f32 and int8 (a model whose weight matrices are all
    /// int8 already is copied unchanged).
    #[arg(long, value_parser = crate::cmd::input_file)]
    model: PathBuf,
    /// Where to write the int8 model.
    #[arg(short, long, value_parser = crate::cmd::output_file)]
    output: PathBuf,
}

/// Writes the int8 model to `-o`; what it did goes to `report` (standard error: `-o
/// /dev/stdout` puts the model on standard output).
pub fn run(args: QuantizeArgs, report: &mut dyn std::io::Write) -> Result<()> {
    // Quantizing in place would lose the f32 weights for good (`convert`, lossless, may
    // rewrite its model in place).
    crate::cmd::check_not_data(&args.output, &[("--model", args.model.as_path())])?;
    let file = ModelFile::read(&args.model)?;
    let model = file.load()?;
    let bytes = file.bytes();
    // The segmenter, if any, goes along (quantized): it must be valid too.
    crate::pipeline::optional_segmenter(bytes, file.name())?;
    // Every weight matrix of the tagger: a blob may mix f32 and int8 ones.
    let tagger_int8 = is_quantized(&model);
    if tagger_int8 && !has_f32_segmenter(bytes).with_context(|| file.name().to_string())? {
        // The tagger's and the segmenter's (if any) weight matrices are int8 already:
        // nothing to quantize.
        write_atomic(&args.output, bytes)?;
        writeln!(
            report,
            "{} already has int8 weights: wrote {}, the same {} bytes",
            args.model.display(),
            args.output.display(),
            bytes.len()
        )?;
        return Ok(());
    }
    let tagger = match tagger_int8 {
        true => bytes.to_vec(),
        false => {
            let (params, vocab) = from_model(&model).with_context(|| file.name().to_string())?;
            to_blob(&params, &vocab, Storage::I8)?
        }
    };
    // The segmenter, if the model carries one, with int8 weight matrices too.
    let q =
        copy_segmenter_as(bytes, &tagger, Storage::I8).with_context(|| file.name().to_string())?;
    write_atomic(&args.output, &q)?;
    writeln!(
        report,
        "wrote {}: {} bytes (from {} bytes, {:.2}x smaller)",
        args.output.display(),
        q.len(),
        bytes.len(),
        bytes.len() as f64 / q.len() as f64
    )?;
    Ok(())
}
