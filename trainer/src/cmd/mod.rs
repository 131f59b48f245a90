//! One module per subcommand, each with its arguments and its `run`.

pub mod bench;
pub mod eval;
pub mod import_torch;
pub mod inspect;
pub mod quantize;
pub mod tag;
pub mod train;

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::model_io::read_blob;

/// The English model that ships with postag (UD English EWT, UPOS; see README).
pub const DEFAULT_MODEL: &[u8] = include_bytes!("../../../models/en_ewt.postag");

/// The bytes of `path`, or of the built-in default model.
pub fn model_bytes(path: Option<&Path>) -> Result<Cow<'static, [u8]>> {
    match path {
        Some(p) => Ok(Cow::Owned(read_blob(p)?)),
        None => Ok(Cow::Borrowed(DEFAULT_MODEL)),
    }
}

/// Display name of a model argument.
pub fn model_name(path: Option<&PathBuf>) -> String {
    path.map_or_else(
        || "the built-in English model".to_string(),
        |p| p.display().to_string(),
    )
}
