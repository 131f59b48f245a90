//! One module per subcommand, each with its arguments and its `run`.

pub mod bench;
pub mod convert;
pub mod eval;
pub mod import_torch;
pub mod inspect;
pub mod quantize;
pub mod segmenter;
pub mod tag;
pub mod train;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use postag_core::Model;

/// The English model that ships with postag (UD English EWT, UPOS; see README).
pub const DEFAULT_MODEL: &[u8] = include_bytes!("../../../models/en_ewt.postag");

/// Where a [`ModelFile`]'s bytes are.
enum Bytes {
    /// Read from a file, at a 64-byte-aligned address (`read_blob`).
    Read(postag_core::format::BlobBuf),
    /// The built-in model.
    BuiltIn(&'static [u8]),
}

impl std::ops::Deref for Bytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Read(b) => b,
            Bytes::BuiltIn(b) => b,
        }
    }
}

/// A model's bytes and the name errors know it by: a file, or the built-in model.
pub struct ModelFile {
    name: String,
    bytes: Bytes,
}

impl ModelFile {
    /// Reads the model file at `path`: past its first bytes only if they are a model
    /// blob's magic (`--model /dev/zero` is no model, and is not read to the end).
    pub fn read(path: &Path) -> Result<Self> {
        let read = || postag_core::format::read_blob(&mut std::fs::File::open(path)?);
        let bytes = read().with_context(|| format!("cannot read model {}", path.display()))?;
        Ok(ModelFile {
            name: path.display().to_string(),
            bytes: Bytes::Read(bytes),
        })
    }

    /// The model at `path`, or the built-in English model.
    pub fn open(path: Option<&Path>) -> Result<Self> {
        match path {
            Some(p) => Self::read(p),
            None => Ok(ModelFile {
                name: "the built-in English model".to_string(),
                bytes: Bytes::BuiltIn(DEFAULT_MODEL),
            }),
        }
    }

    /// Validates the bytes (once) and returns the model reading them; an error names
    /// the file.
    pub fn load(&self) -> Result<Model<'_>> {
        Model::from_bytes(&self.bytes).with_context(|| self.name.clone())
    }

    /// The file's name (or "the built-in English model").
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The blob.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// A command line whose values or combination of options are wrong, found after
/// parsing: reported as the parser reports its own errors, with exit status 2 (a
/// failure of the work itself exits with 1).
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// `e` (a check of the command line's values) as a [`UsageError`].
pub fn usage(e: anyhow::Error) -> anyhow::Error {
    UsageError(format!("{e:#}")).into()
}

/// Refuses an output that is one of the `data` files a command reads (by another name
/// too): the output would replace the treebank, state_dict, vocabulary or model.
pub fn check_not_data(output: &Path, data: &[(&str, &Path)]) -> Result<()> {
    for (flag, path) in data {
        if crate::fsio::same_file(output, path) {
            return Err(usage(anyhow::anyhow!(
                "-o {} is the {flag} file: the output would replace it",
                output.display()
            )));
        }
    }
    Ok(())
}

/// A file argument that is read (`--model`, `--data`, `--input`, ...): any path but
/// `-`, which is refused rather than looked for as a file (postag reads standard input
/// as `/dev/stdin`, and `tag` without `--input`), and the empty path. Standard input
/// closed when the process started is refused too (it would read as empty).
pub fn input_file(s: &str) -> Result<PathBuf, String> {
    match s {
        "-" => Err(
            "`-` does not name standard input here: give /dev/stdin (`tag` reads \
                    standard input when --input is left out), or ./- for a file named -"
                .into(),
        ),
        "" => Err("an empty path names no file".into()),
        _ if crate::fsio::stdin_closed() && crate::fsio::names_stdin(Path::new(s)) => {
            Err("standard input is closed".into())
        }
        _ => Ok(PathBuf::from(s)),
    }
}

/// A file argument that is written (`--output`): any path but `-`, which is refused
/// rather than made into a file of that name (postag writes standard output as
/// `/dev/stdout`, and `tag` without `--output`).
pub fn output_file(s: &str) -> Result<PathBuf, String> {
    match s {
        "-" => Err(
            "`-` does not name standard output here: give /dev/stdout (`tag` \
                    writes standard output when --output is left out), or ./- for a file \
                    named -"
                .into(),
        ),
        "" => Err("an empty path names no file".into()),
        _ => Ok(PathBuf::from(s)),
    }
}

/// A whole number argument in `lo..=hi` (counts and sizes: `--epochs`, `--hidden`,
/// `--tokens`, ...). The error says what is wrong with anything else: a negative
/// number, a number out of range, or text that is no number.
pub fn whole_number(s: &str, lo: u64, hi: u64) -> Result<u64, String> {
    let wanted = || match hi {
        u64::MAX => format!("a whole number of {lo} or more"),
        _ => format!("a whole number in {lo}..={hi}"),
    };
    // A minus sign and digits: negative, or zero (`-0`) however many digits follow.
    let negative = s
        .strip_prefix('-')
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    if let Some(digits) = negative {
        if digits.bytes().any(|b| b != b'0') {
            return Err(format!("{s} is negative: expected {}", wanted()));
        }
        return whole_number("0", lo, hi)
            .map_err(|_| format!("{s} is too small: expected {}", wanted()));
    }
    match s.parse::<u64>() {
        Ok(v) if (lo..=hi).contains(&v) => Ok(v),
        Ok(_) if hi == u64::MAX => Err(format!("{s} is too small: expected {}", wanted())),
        Ok(_) => Err(format!("{s} is not in {lo}..={hi}")),
        Err(e) if *e.kind() == std::num::IntErrorKind::PosOverflow => {
            Err(format!("{s} is too large: expected {}", wanted()))
        }
        Err(_) => Err(format!(
            "{s:?} is not a whole number: expected {}",
            wanted()
        )),
    }
}

/// [`whole_number`] of 0 or more as a `T` (`usize`, `u64`).
pub fn count<T: TryFrom<u64>>(s: &str) -> Result<T, String> {
    count_from(s, 0)
}

/// [`whole_number`] of 1 or more as a `T` (`usize`, `u64`): sizes and counts that
/// cannot be 0 (`--epochs`, `--hidden`, ...).
pub fn at_least_one<T: TryFrom<u64>>(s: &str) -> Result<T, String> {
    count_from(s, 1)
}

/// [`whole_number`] of `lo` or more as a `T` (`usize`, `u64`).
pub fn count_from<T: TryFrom<u64>>(s: &str, lo: u64) -> Result<T, String> {
    let v = whole_number(s, lo, u64::MAX)?;
    T::try_from(v).map_err(|_| format!("{s} is too large for this machine"))
}

/// The `--model` argument of the commands that run a model.
#[derive(Args, Debug)]
pub struct ModelArg {
    /// The model (default: the built-in English model).
    #[arg(long, value_parser = input_file)]
    pub model: Option<PathBuf>,
}

impl ModelArg {
    /// The model file it names.
    pub fn open(&self) -> Result<ModelFile> {
        ModelFile::open(self.model.as_deref())
    }
}

/// A progress bar of `len` steps on stderr, drawn only when stderr is a terminal and
/// not `quiet`.
pub fn progress_bar(quiet: bool, len: u64, prefix: String) -> ProgressBar {
    let target = if quiet {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    };
    let bar = ProgressBar::with_draw_target(Some(len), target);
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {percent:>3}% {msg} ETA {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix(prefix);
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_number_argument_names_what_is_wrong() {
        assert_eq!(whole_number("0", 0, 4096), Ok(0));
        assert_eq!(whole_number("4096", 0, 4096), Ok(4096));
        assert_eq!(whole_number("+7", 0, 4096), Ok(7));
        assert_eq!(
            whole_number("4097", 0, 4096),
            Err("4097 is not in 0..=4096".into())
        );
        assert_eq!(
            whole_number("-1", 0, 4096),
            Err("-1 is negative: expected a whole number in 0..=4096".into())
        );
        assert_eq!(
            count::<usize>("-1"),
            Err("-1 is negative: expected a whole number of 0 or more".into())
        );
        assert_eq!(
            count::<u64>("18446744073709551616"),
            Err("18446744073709551616 is too large: expected a whole number of 0 or more".into())
        );
        assert_eq!(count::<u64>("18446744073709551615"), Ok(u64::MAX));
        assert_eq!(
            count::<u64>("-99999999999999999999999"),
            Err(
                "-99999999999999999999999 is negative: expected a whole number of 0 or more".into()
            )
        );
        assert_eq!(count::<u64>("-0"), Ok(0));
        assert_eq!(
            at_least_one::<usize>("-000"),
            Err("-000 is too small: expected a whole number of 1 or more".into())
        );
        for bad in ["", "1.5", "ten", "-", "--1", " 3", "-1.5"] {
            assert_eq!(
                count::<usize>(bad),
                Err(format!(
                    "{bad:?} is not a whole number: expected a whole number of 0 or more"
                ))
            );
        }
        assert_eq!(
            count::<u32>("4294967296"),
            Err("4294967296 is too large for this machine".into())
        );
        assert_eq!(
            count_from::<usize>("0", 1),
            Err("0 is too small: expected a whole number of 1 or more".into())
        );
    }
}
