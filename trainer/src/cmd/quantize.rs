//! `postag-trainer quantize`: int8 weights with a per-row scale (about 4x smaller).

use std::path::PathBuf;

use anyhow::{anyhow, Result};
use clap::Args;
use postag_core::tensor::Storage;
use postag_core::Model;

use crate::fsio::write_atomic;
use crate::model_io::{from_model, read_blob, to_blob};

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
    let bytes = read_blob(&args.model)?;
    let model = Model::from_bytes(&bytes).map_err(|e| anyhow!("{}: {e}", args.model.display()))?;
    let (params, vocab) = from_model(&model);
    let q = to_blob(&params, &vocab, Storage::I8)?;
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
