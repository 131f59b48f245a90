//! `postag quantize`: int8 weight matrices with a per-row scale, the tagger's and the
//! segmenter's (each matrix about 4x smaller).

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use postag_core::segment::build::{copy_segmenter_as, has_f32_segmenter};
use postag_core::tensor::Storage;

use crate::cmd::ModelFile;
use crate::fsio::write_atomic;
use crate::model_io::{from_model, to_blob};

#[derive(Args, Debug)]
pub struct QuantizeArgs {
    /// The f32 model.
    #[arg(long, value_parser = crate::cmd::input_file)]
    model: PathBuf,
    /// Where to write the int8 model.
    #[arg(short, long, value_parser = crate::cmd::output_file)]
    output: PathBuf,
}

/// Writes the int8 model to `-o`; what it did goes to `report` (standard error: `-o
/// /dev/stdout` puts the model on standard output).
pub fn run(args: QuantizeArgs, report: &mut dyn std::io::Write) -> Result<()> {
    let file = ModelFile::read(&args.model)?;
    let model = file.load()?;
    let bytes = file.bytes();
    let tagger_int8 = model.word_embedding().storage() == Storage::I8;
    if tagger_int8 && !has_f32_segmenter(bytes)? {
        // Every weight of the tagger has one storage, and the segmenter (if any) is
        // int8 too: nothing to quantize.
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
            let (params, vocab) = from_model(&model);
            to_blob(&params, &vocab, Storage::I8)?
        }
    };
    // The segmenter, if the model carries one, with int8 weight matrices too.
    let q = copy_segmenter_as(bytes, &tagger, Storage::I8)?;
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
