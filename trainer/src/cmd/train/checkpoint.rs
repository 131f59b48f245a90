//! Training checkpoints for `train --resume`: everything needed to continue a run
//! exactly where an interrupted one stopped.

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::report::EpochRecord;
use super::settings::Settings;
use crate::fsio::write_atomic;
use crate::nn::optim::AdamState;

const MAGIC: &[u8; 8] = b"PTCKPT02";

/// The state after a finished epoch.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Checkpoint {
    /// The run's settings; a resumed run must have the same.
    pub settings: Settings,
    /// CRC-32 of the training file, then of the dev file if any.
    pub data: Vec<u32>,
    /// The weights after the epoch, as an f32 model blob.
    pub params_blob: Vec<u8>,
    /// Optimizer moments and step count.
    pub adam: AdamState,
    /// The training RNG's state.
    pub rng: [u64; 4],
    /// Epochs done so far.
    pub history: Vec<EpochRecord>,
    /// Best dev accuracy, its epoch and its f32 blob.
    pub best: Option<(f64, usize, Vec<u8>)>,
}

impl Checkpoint {
    /// Writes the checkpoint atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        let mut bytes = MAGIC.to_vec();
        bytes.extend(postcard::to_allocvec(self).context("cannot encode checkpoint")?);
        write_atomic(path, &bytes)
    }

    /// Reads a checkpoint; `None` if there is none.
    pub fn read(path: &Path) -> Result<Option<Self>> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let Some(body) = bytes.strip_prefix(MAGIC) else {
            bail!("{} is not a postag training checkpoint", path.display());
        };
        let c =
            postcard::from_bytes(body).with_context(|| format!("{} is damaged", path.display()))?;
        Ok(Some(c))
    }
}
