//! Files written whole or not at all.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The temporary name `path` is written under before the rename.
fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory,
/// flushed to disk, then renamed over `path`. On any error `path` is untouched and
/// the temporary file is removed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_path(path);
    let result = (|| -> std::io::Result<()> {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.with_context(|| format!("cannot write {}", path.display()))
}

/// A file written under a temporary name and renamed over its path by
/// [`AtomicFile::commit`]; dropped without a commit, it removes the temporary file and
/// leaves the path untouched.
pub struct AtomicFile {
    path: PathBuf,
    tmp: PathBuf,
    file: Option<std::io::BufWriter<File>>,
}

impl AtomicFile {
    /// Starts writing `path`.
    pub fn create(path: &Path) -> Result<Self> {
        let tmp = temp_path(path);
        let file =
            File::create(&tmp).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(AtomicFile {
            path: path.to_path_buf(),
            tmp,
            file: Some(std::io::BufWriter::new(file)),
        })
    }

    /// Flushes to disk and renames the file into place; on an error the temporary file
    /// is removed and the path left as it was.
    pub fn commit(mut self) -> Result<()> {
        let file = self
            .file
            .take()
            .map(|w| w.into_inner().map_err(|e| e.into_error()));
        let result = (|| -> std::io::Result<()> {
            if let Some(f) = file {
                f?.sync_all()?;
            }
            fs::rename(&self.tmp, &self.path)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&self.tmp);
        }
        result.with_context(|| format!("cannot write {}", self.path.display()))
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.file {
            Some(f) => f.write(buf),
            None => Err(std::io::Error::other("file already committed")),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.file {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// The byte-order mark some editors put at the start of UTF-8 files. Every reader of
/// text skips it there.
pub const BOM: &str = "\u{feff}";

/// The text of `path`: UTF-8 (else an error naming the file and line), without a
/// leading byte-order mark.
pub fn read_text(path: &Path) -> Result<String> {
    let bytes = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let text = utf8(bytes, &path.display().to_string())?;
    Ok(match text.strip_prefix(BOM) {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

/// `bytes` as UTF-8, or an error naming `name` and the line of the first bad byte.
pub fn utf8(bytes: Vec<u8>, name: &str) -> Result<String> {
    String::from_utf8(bytes).map_err(|e| {
        let ok = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        // Lines end at LF, CR LF or a lone CR (`postag_core::segment::lines`).
        let ok = std::str::from_utf8(ok).unwrap_or_default();
        let line = postag_core::segment::lines(ok)
            .filter(|l| l.ends_with(['\n', '\r']))
            .count()
            + 1;
        anyhow::anyhow!("{name}:{line}: invalid UTF-8")
    })
}

/// A sibling path with `suffix` appended to the file name (`m.postag` -> `m.postag.report.json`).
pub fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!("{name}{suffix}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_utf8_names_its_line_whatever_the_line_endings() {
        for (bytes, line) in [
            (&b"a\nb\n\xff"[..], 3),
            (b"a\r\nb\r\n\xff", 3),
            (b"a\rb\r\xff", 3),
            (b"a\r\xff", 2),
            (b"\xff", 1),
        ] {
            let e = super::utf8(bytes.to_vec(), "f").unwrap_err();
            assert_eq!(
                e.to_string(),
                format!("f:{line}: invalid UTF-8"),
                "{bytes:?}"
            );
        }
    }

    #[test]
    fn an_uncommitted_file_leaves_nothing_behind() {
        let dir = std::env::temp_dir().join(format!("postag-fsio-atomic-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out.txt");
        {
            let mut f = AtomicFile::create(&path).unwrap();
            f.write_all(b"partial").unwrap();
        }
        assert!(!path.exists());
        assert_eq!(
            fs::read_dir(&dir).unwrap().count(),
            0,
            "temporary file left"
        );
        let mut f = AtomicFile::create(&path).unwrap();
        f.write_all(b"whole").unwrap();
        f.commit().unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"whole");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary() {
        let dir = std::env::temp_dir().join(format!("postag-fsio-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("m.postag");
        write_atomic(&path, b"good").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"good");
        // A directory where the temporary file would go makes the write fail.
        fs::create_dir_all(temp_path(&path)).unwrap();
        assert!(write_atomic(&path, b"bad").is_err());
        assert_eq!(fs::read(&path).unwrap(), b"good");
        fs::remove_dir_all(&dir).unwrap();
    }
}
