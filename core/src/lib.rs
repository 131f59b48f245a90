#![doc = include_str!("../README.md")]
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(all(feature = "std", not(test)))]
extern crate std;

// Instruction-set specific kernels: the one module allowed `unsafe_code`.
#[allow(unsafe_code)]
pub mod arch;

#[cfg(feature = "alloc")]
pub mod builder;
mod crc32;
mod error;
pub mod format;
pub mod kernels;
mod lowercase;
mod model;
pub mod segment;
#[cfg(feature = "alloc")]
pub mod summary;
#[cfg(feature = "alloc")]
pub mod synthetic;
mod tagger;
pub mod tensor;
#[cfg(feature = "alloc")]
pub mod torch;
pub mod vocab;

pub use crc32::crc32;
pub use error::Error;
pub use format::{CharConfig, Config, LstmShape, TagColumn, WordConfig, FORMAT_VERSION};
pub use model::{
    batch_run, sentence_windows, worker_limit, Cell, CharNet, Crf, Explained, Model, PackedCell,
    Stack, LOW_MEMORY_BLOCK, MAX_BATCH_TOKENS, MAX_TOKENS, PACK_ALIGN, PROJECTION_BLOCK,
    TOKENS_PER_WORKER, WINDOW_CONTEXT,
};
pub use tagger::{CharDims, Dims, Tagger};

#[cfg(test)]
mod test_support {
    use proptest::prelude::ProptestConfig;

    /// Proptest's settings: `cases` cases; under Miri a few, without the regression
    /// files (its isolation forbids reading them).
    pub(crate) fn cases(cases: u32) -> ProptestConfig {
        if cfg!(miri) {
            ProptestConfig {
                cases: 4,
                failure_persistence: None,
                ..ProptestConfig::default()
            }
        } else {
            ProptestConfig::with_cases(cases)
        }
    }
}
