//! `postag quantize`: int8 weights with a per-row scale (about 4x smaller).

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use postag_core::segment::build::copy_segmenter;
use postag_core::tensor::Storage;

use crate::cmd::ModelFile;
use crate::fsio::write_atomic;
use crate::model_io::{from_model, to_blob};

#[derive(Args, Debug)]
pub struct QuantizeArgs {
    /// The f32 model.
    #[arg(long)]
    model: PathBuf,
    /// Where to write the int8 model.
    #[arg(short, long)]
    output: PathBuf,
}

pub fn run(args: QuantizeArgs, out: &mut dyn std::io::Write) -> Result<()> {
    let file = ModelFile::read(&args.model)?;
    let model = file.load()?;
    let bytes = file.bytes();
    if model.word_embedding().storage() == Storage::I8 {
        // Every weight of a blob has one storage: nothing to quantize.
        write_atomic(&args.output, bytes)?;
        writeln!(
            out,
            "{} already has int8 weights: wrote {}, the same {} bytes",
            args.model.display(),
            args.output.display(),
            bytes.len()
        )?;
        return Ok(());
    }
    let (params, vocab) = from_model(&model);
    // The segmenter, if the model carries one, is copied as it is stored.
    let q = copy_segmenter(bytes, &to_blob(&params, &vocab, Storage::I8)?)?;
    write_atomic(&args.output, &q)?;
    writeln!(
        out,
        "wrote {}: {} bytes (from {} bytes, {:.2}x smaller)",
        args.output.display(),
        q.len(),
        bytes.len(),
        bytes.len() as f64 / q.len() as f64
    )?;
    Ok(())
}
