//! Training checkpoints for `train --resume`: everything needed to continue a run
//! exactly where an interrupted one stopped.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::report::EpochRecord;
use super::settings::Settings;
use crate::fsio::write_atomic;
use crate::nn::optim::AdamState;

/// The file starts with this, then the encoded [`Checkpoint`], then the CRC-32 of
/// everything before it (little-endian), as a model blob ends.
const MAGIC: &[u8; 8] = b"PTCKPT04";

/// The magics of the checkpoints of earlier versions of postag (without a CRC, or
/// without the thread count).
const OLD_MAGICS: [&[u8; 8]; 2] = [b"PTCKPT02", b"PTCKPT03"];

/// The state after a finished epoch.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Checkpoint {
    /// The run's settings; a resumed run must have the same.
    pub settings: Settings,
    /// CRC-32 of the training file, then of the dev file if any.
    pub data: Vec<u32>,
    /// The run's worker threads, on which its weights depend.
    pub threads: usize,
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
        write_atomic(path, &self.to_bytes()?)
    }

    /// The file's bytes: magic, contents, CRC-32.
    fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut bytes = MAGIC.to_vec();
        bytes.extend(postcard::to_allocvec(self).context("cannot encode checkpoint")?);
        let crc = postag_core::crc32(&bytes);
        bytes.extend(crc.to_le_bytes());
        Ok(bytes)
    }

    /// Reads a checkpoint; `None` if there is none. A file whose bytes changed (its
    /// CRC-32 does not match) or that ends early is refused, naming it.
    pub fn read(path: &Path) -> Result<Option<Self>> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        Self::from_bytes(&bytes, path).map(Some)
    }

    /// The checkpoint in `bytes`, read from `path` (which errors name).
    fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self> {
        let damaged = |why: &str| {
            anyhow!(
                "{} is damaged ({why}); remove it, or train without --resume to start over",
                path.display()
            )
        };
        if OLD_MAGICS.iter().any(|m| bytes.starts_with(*m)) {
            bail!(
                "{} was written by an earlier version of postag; remove it, or train without --resume to start over",
                path.display()
            );
        }
        let Some(rest) = bytes.strip_prefix(MAGIC) else {
            bail!("{} is not a postag training checkpoint", path.display());
        };
        let Some(body_len) = rest.len().checked_sub(4) else {
            return Err(damaged("it ends early"));
        };
        let (all, stored) = bytes.split_at(MAGIC.len() + body_len);
        let stored = u32::from_le_bytes([stored[0], stored[1], stored[2], stored[3]]);
        let computed = postag_core::crc32(all);
        if stored != computed {
            return Err(damaged(&format!(
                "its CRC-32 is {computed:08x}, it says {stored:08x}"
            )));
        }
        postcard::from_bytes(&all[MAGIC.len()..])
            .map_err(|e| damaged(&format!("its contents do not decode: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::train::{Preset, Settings};

    fn checkpoint() -> Checkpoint {
        Checkpoint {
            settings: Settings::preset(Preset::Tiny),
            data: vec![0x1234_5678, 9],
            threads: 3,
            params_blob: (0..200u8).collect(),
            adam: AdamState {
                step: 7,
                m: vec![vec![0.5, -1.0], vec![2.0]],
                v: vec![vec![0.25, 1.0], vec![4.0]],
            },
            rng: [1, 2, 3, 4],
            history: vec![EpochRecord {
                epoch: 1,
                train_loss: 1.5,
                dev_accuracy: Some(0.75),
                seconds: 2.0,
                tokens_per_second: 1000.0,
            }],
            best: Some((0.75, 1, vec![9, 8, 7])),
        }
    }

    #[test]
    fn a_checkpoint_reads_back_as_written() {
        let dir = std::env::temp_dir().join(format!("postag-ckpt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("m.postag.ckpt");
        assert_eq!(
            Checkpoint::read(&path).unwrap(),
            None,
            "no file: no checkpoint"
        );
        checkpoint().write(&path).unwrap();
        assert_eq!(Checkpoint::read(&path).unwrap(), Some(checkpoint()));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Any changed byte, and any truncation, is refused with the file's name and what
    /// to do, never decoded into other values.
    #[test]
    fn a_changed_or_truncated_checkpoint_is_refused() {
        let path = Path::new("run/m.postag.ckpt");
        let good = checkpoint().to_bytes().unwrap();
        let advice = "remove it, or train without --resume to start over";
        for i in MAGIC.len()..good.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut bad = good.clone();
                bad[i] ^= flip;
                let e = Checkpoint::from_bytes(&bad, path).unwrap_err().to_string();
                assert!(
                    e.starts_with("run/m.postag.ckpt is damaged (its CRC-32 is ")
                        && e.ends_with(advice),
                    "byte {i} ^ {flip:#x}: {e}"
                );
            }
        }
        for n in MAGIC.len()..good.len() {
            let e = Checkpoint::from_bytes(&good[..n], path)
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with("run/m.postag.ckpt is damaged (") && e.ends_with(advice),
                "{n} bytes: {e}"
            );
        }
        let mut other = good.clone();
        other[..8].copy_from_slice(b"NOTACKPT");
        let e = Checkpoint::from_bytes(&other, path)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "run/m.postag.ckpt is not a postag training checkpoint");
        for magic in OLD_MAGICS {
            let mut old = good.clone();
            old[..8].copy_from_slice(magic);
            let e = Checkpoint::from_bytes(&old, path).unwrap_err().to_string();
            assert!(
                e.contains("an earlier version of postag") && e.ends_with(advice),
                "{e}"
            );
        }
    }
}
