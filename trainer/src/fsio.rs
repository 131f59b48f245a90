//! Files written whole or not at all.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use anyhow::{bail, Context, Result};

/// The temporary files being written, removed by [`remove_temporaries_on_signal`]'s
/// handler.
static TEMPORARIES: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn temporaries() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    TEMPORARIES.lock().unwrap_or_else(|e| e.into_inner())
}

/// On Ctrl-C (SIGINT), SIGTERM or SIGHUP: removes the temporary files of the writes
/// under way, then dies of the signal as it would have without this (so a shell sees
/// the usual status, 130 for Ctrl-C). A signal the process was started ignoring (a
/// `nohup` run's SIGHUP, a background job's SIGINT) stays ignored. Call once, at the
/// start of `main`. The signals are received on a thread of their own (signal-hook's
/// iterator), where removing files is safe.
#[cfg(unix)]
pub fn remove_temporaries_on_signal() -> Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let wanted: Vec<i32> = [SIGINT, SIGTERM, SIGHUP]
        .into_iter()
        .filter(|&s| !ignored(s))
        .collect();
    let mut signals = signal_hook::iterator::Signals::new(&wanted)
        .context("cannot install the signal handler")?;
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            for t in temporaries().iter() {
                let _ = fs::remove_file(t);
            }
            let _ = signal_hook::low_level::emulate_default_handler(signal);
            std::process::exit(128 + signal);
        }
    });
    Ok(())
}

/// Without Unix signals: nothing to install.
#[cfg(not(unix))]
pub fn remove_temporaries_on_signal() -> Result<()> {
    Ok(())
}

/// Whether the process ignores `signal` (as `nohup` and shells' background jobs set up).
#[cfg(unix)]
#[allow(unsafe_code)]
fn ignored(signal: i32) -> bool {
    // SAFETY: `sigaction` with a null new action only reads the current one into
    // `old`, a zeroed struct of the right type.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal, std::ptr::null(), &mut old) == 0
            && old.sa_sigaction == libc::SIG_IGN
    }
}

/// Whether file descriptor 1 was closed when the process started (`postag tag >&-`).
/// Rust's runtime opens `/dev/null` in place of a closed standard stream before `main`,
/// where everything written would vanish; this check runs before that, among the
/// program's constructors (`.init_array`, on Linux).
static STDOUT_CLOSED_AT_START: AtomicBool = AtomicBool::new(false);

/// Whether file descriptor 0 was closed when the process started (`postag tag <&-`),
/// checked as descriptor 1 is: it would read as empty (`/dev/null`).
static STDIN_CLOSED_AT_START: AtomicBool = AtomicBool::new(false);

/// Whether standard input was closed when the process started (see
/// `STDIN_CLOSED_AT_START`): reading it is an error, not an empty input.
pub fn stdin_closed() -> bool {
    STDIN_CLOSED_AT_START.load(Ordering::Relaxed)
}

/// Whether standard output was closed when the process started (see
/// `STDOUT_CLOSED_AT_START`): what is written there vanishes.
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED_AT_START.load(Ordering::Relaxed)
}

#[cfg(target_os = "linux")]
#[used]
#[allow(unsafe_code)]
#[unsafe(link_section = ".init_array")]
static CHECK_STDOUT_AT_START: extern "C" fn() = {
    #[allow(unsafe_code)]
    extern "C" fn check() {
        for (fd, closed) in [(0, &STDIN_CLOSED_AT_START), (1, &STDOUT_CLOSED_AT_START)] {
            // SAFETY: `F_GETFD` only reads the descriptor's flags; it fails (EBADF) if
            // the descriptor is closed.
            if unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
                closed.store(true, Ordering::Relaxed);
            }
        }
    }
    check
};

/// The standard output the commands write to: every write fails with "standard output
/// is closed" if it was closed when the process started (checked before `main`, see
/// `STDOUT_CLOSED_AT_START`), as writing to a closed descriptor would, instead of
/// succeeding into `/dev/null`. A command that writes nothing there still succeeds.
/// Write errors name the standard output.
pub struct Stdout<W>(W);

impl<W: Write> Stdout<W> {
    pub fn new(inner: W) -> Self {
        Stdout(inner)
    }

    fn check() -> std::io::Result<()> {
        match STDOUT_CLOSED_AT_START.load(Ordering::Relaxed) {
            true => Err(std::io::Error::other("standard output is closed")),
            false => Ok(()),
        }
    }
}

impl<W: Write> Write for Stdout<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Self::check()?;
        self.0.write(buf).map_err(named)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        // Nothing to flush when closed: every write failed.
        match STDOUT_CLOSED_AT_START.load(Ordering::Relaxed) {
            true => Ok(()),
            false => self.0.flush().map_err(named),
        }
    }
}

/// A write error of the standard output, saying so (as errors of files name the file);
/// its kind stays (a closed pipe is still recognised).
fn named(e: std::io::Error) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("cannot write standard output: {e}"))
}

fn track(tmp: &Path, on: bool) {
    let mut temps = temporaries();
    match on {
        true => temps.push(tmp.to_path_buf()),
        false => temps.retain(|t| t != tmp),
    }
}

/// Where a write to `path` lands: `path`, or the file a symbolic link there points to
/// (through any chain of links, dangling ones included), so that the link stays a
/// link. A chain longer than 40 links (a cycle) is an error, as the OS makes it.
fn destination(path: &Path) -> std::io::Result<PathBuf> {
    let mut at = path.to_path_buf();
    for _ in 0..40 {
        match fs::read_link(&at) {
            Ok(target) => at = at.parent().unwrap_or(Path::new("")).join(target),
            Err(_) => return Ok(at),
        }
    }
    Err(std::io::Error::other("too many levels of symbolic links"))
}

/// The descriptor of this process that `path` names, if it names one: `/dev/stdout`,
/// `/dev/stderr`, `/dev/fd/N`, `/proc/self/fd/N` (or a link to one of them). Opening
/// such a path would open the file behind the descriptor anew (at its start, without
/// its append mode), and replacing that file would leave the descriptor writing to a
/// file without a name: it is written through the descriptor itself. Linux only
/// (elsewhere these paths are devices, which are written in place anyway).
#[cfg(target_os = "linux")]
fn descriptor(path: &Path) -> Option<i32> {
    let pid = std::process::id();
    let fds = PathBuf::from(format!("/proc/{pid}/fd"));
    let tasks = PathBuf::from(format!("/proc/{pid}/task"));
    let mut at = path.to_path_buf();
    for _ in 0..40 {
        let dir = at.parent().and_then(|d| fs::canonicalize(d).ok());
        let in_fds = dir.is_some_and(|d| {
            d == fds || (d.ends_with("fd") && d.parent().and_then(Path::parent) == Some(&tasks))
        });
        if in_fds {
            return at.file_name()?.to_str()?.parse().ok();
        }
        at = at.parent()?.join(fs::read_link(&at).ok()?);
    }
    None
}

#[cfg(not(target_os = "linux"))]
fn descriptor(_path: &Path) -> Option<i32> {
    None
}

/// Whether `a` and `b` name one existing file (through links, `..` or other names of
/// it): the same device and inode on Unix, the same canonical path elsewhere.
pub fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (fs::metadata(a), fs::metadata(b)) {
            (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// Whether `path` names this process's standard input (`/dev/stdin`, `/dev/fd/0`).
pub fn names_stdin(path: &Path) -> bool {
    descriptor(path) == Some(0)
}

/// Whether `path` is a named pipe (FIFO).
pub fn is_fifo(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        fs::metadata(path).is_ok_and(|m| m.file_type().is_fifo())
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}

/// Whether a write to `path` goes in place, with nothing beside it: a descriptor of this
/// process (`/dev/stdout`), a device or a named pipe (`/dev/null`). Only a regular file
/// (or a path to be created) is written under a temporary name and renamed.
pub fn written_in_place(path: &Path) -> bool {
    descriptor(path).is_some() || fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

/// A new handle on descriptor `fd` of this process (the same open file: its offset and
/// append mode shared). Descriptor 1 closed when the process started is an error, as
/// for [`Stdout`].
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn duplicate(fd: i32) -> std::io::Result<File> {
    use std::os::fd::FromRawFd;
    if fd == 1 && STDOUT_CLOSED_AT_START.load(Ordering::Relaxed) {
        return Err(std::io::Error::other("standard output is closed"));
    }
    // SAFETY: `F_DUPFD_CLOEXEC` reads no memory; it returns a new descriptor (or -1,
    // EBADF for one that is not open).
    let new = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    if new < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `new` is a descriptor just made, owned by nothing else.
    Ok(unsafe { File::from_raw_fd(new) })
}

#[cfg(not(target_os = "linux"))]
fn duplicate(_fd: i32) -> std::io::Result<File> {
    Err(std::io::Error::other(
        "descriptors are written through their device here",
    ))
}

/// The temporary name `path` is written under before the rename: `.NAME.tmp-PID`, with
/// a name of more than [`TEMP_NAME_BYTES`] bytes cut there and followed by the CRC-32
/// of the whole name, so that the temporary name fits where the name does (most file
/// systems take 255 bytes).
fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match name.len() > TEMP_NAME_BYTES {
        false => name,
        true => {
            let cut = (0..=TEMP_NAME_BYTES)
                .rev()
                .find(|&i| name.is_char_boundary(i))
                .unwrap_or(0);
            let crc = postag_core::crc32(name.as_bytes());
            format!("{}.{crc:08x}", &name[..cut])
        }
    };
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// The longest file name a temporary name holds whole (see [`temp_path`]).
const TEMP_NAME_BYTES: usize = 200;

/// Writes `bytes` to `path` as [`AtomicFile`] does: whole or not at all.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = AtomicFile::create(path)?;
    // (The error names the file.)
    f.write_all(bytes)?;
    f.commit()
}

/// The directory that would hold `dest` (`path`, or where its symbolic link points),
/// or the error "cannot write `path`: directory ... does not exist".
pub(crate) fn existing_directory<'p>(path: &Path, dest: &'p Path) -> Result<&'p Path> {
    let dir = match dest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        bail!(
            "cannot write {}: directory {} does not exist",
            path.display(),
            dir.display()
        );
    }
    Ok(dir)
}

/// Refuses an output path that is a directory (through a link too) or ends in `/`
/// (which only a directory's name may): said as such, before any work, rather than
/// found when the file is renamed into place.
pub fn not_a_directory(path: &Path) -> Result<()> {
    if path.is_dir() {
        bail!("cannot write {}: it is a directory", path.display());
    }
    if path.as_os_str().as_encoded_bytes().ends_with(b"/") {
        bail!(
            "cannot write {}: a file's name cannot end in /",
            path.display()
        );
    }
    Ok(())
}

/// A file written under a temporary name in its directory, flushed to disk and renamed
/// over its path by [`AtomicFile::commit`]; dropped without a commit (or on a signal,
/// see [`remove_temporaries_on_signal`]) it removes the temporary file and leaves the
/// path untouched. A path that is a symbolic link is written where the link points (the
/// link stays); an existing file keeps its permissions. A descriptor of this process
/// (`/dev/stdout`, `/dev/fd/N`), a device or a FIFO (`/dev/null`, a named pipe) is
/// written directly, since it cannot be replaced: whatever was written before an error
/// has reached it.
pub struct AtomicFile {
    /// The path as given, which errors name.
    path: PathBuf,
    /// Where the file goes: `path`, or the file a symbolic link there points to.
    dest: PathBuf,
    /// The temporary file, or `None` when writing in place ([`written_in_place`]).
    tmp: Option<PathBuf>,
    file: Option<std::io::BufWriter<File>>,
}

impl AtomicFile {
    /// Starts writing `path`.
    pub fn create(path: &Path) -> Result<Self> {
        let what = || format!("cannot write {}", path.display());
        // A descriptor of this process (`/dev/stdout`), a device or FIFO (`/dev/null`,
        // a named pipe) is written in place: it cannot be replaced.
        if written_in_place(path) {
            let file = match descriptor(path) {
                Some(fd) => duplicate(fd),
                None => OpenOptions::new().write(true).open(path),
            }
            .with_context(what)?;
            return Ok(AtomicFile {
                path: path.to_path_buf(),
                dest: path.to_path_buf(),
                tmp: None,
                file: Some(std::io::BufWriter::new(file)),
            });
        }
        not_a_directory(path)?;
        let dest = destination(path).with_context(what)?;
        let existing = fs::metadata(&dest).ok();
        let tmp = temp_path(&dest);
        track(&tmp, true);
        let file = new_file(&tmp, existing.is_some()).and_then(|f| {
            if let Some(m) = &existing {
                keep_owner_and_mode(&tmp, m)?;
            }
            Ok(f)
        });
        let file = match file {
            Ok(f) => f,
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                track(&tmp, false);
                existing_directory(path, &dest)?;
                // The file is made beside the path: an error there is not the path's.
                return Err(e).with_context(|| {
                    format!(
                        "cannot write {}: cannot make its temporary file {}",
                        path.display(),
                        tmp.display()
                    )
                });
            }
        };
        Ok(AtomicFile {
            path: path.to_path_buf(),
            dest,
            tmp: Some(tmp),
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
            let Some(tmp) = &self.tmp else {
                // A device or FIFO: flushed above.
                return file.transpose().map(drop);
            };
            if let Some(f) = file {
                f?.sync_all()?;
            }
            fs::rename(tmp, &self.dest)
        })();
        if let Some(tmp) = &self.tmp {
            if result.is_err() {
                let _ = fs::remove_file(tmp);
            }
            track(tmp, false);
        }
        result.with_context(|| format!("cannot write {}", self.path.display()))
    }
}

/// A new file at `path` (never a file or link already there: the temporary name is
/// fresh): with `private`, one only its owner may read until the file it replaces
/// lends it its permissions; otherwise with the permissions of any new file (the umask
/// applied).
fn new_file(path: &Path, private: bool) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, if private { 0o600 } else { 0o666 });
    #[cfg(not(unix))]
    let _ = private;
    options.open(path)
}

/// Gives the new file `tmp` the permissions (and, where the process may, the owner
/// and group) of the file it replaces. Where the group cannot be kept, the group's
/// permissions are not given to the process's group.
fn keep_owner_and_mode(tmp: &Path, old: &fs::Metadata) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        // Only a privileged process may give a file away: otherwise it stays ours.
        let kept = std::os::unix::fs::chown(tmp, Some(old.uid()), Some(old.gid())).is_ok()
            || std::os::unix::fs::chown(tmp, None, Some(old.gid())).is_ok();
        let mode = old.permissions().mode() & if kept { 0o7777 } else { 0o7707 };
        fs::set_permissions(tmp, fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    fs::set_permissions(tmp, old.permissions())
}

impl AtomicFile {
    /// `e` with the path (as given) named, its kind kept.
    fn named(&self, e: std::io::Error) -> std::io::Error {
        std::io::Error::new(
            e.kind(),
            format!("cannot write {}: {e}", self.path.display()),
        )
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let r = match &mut self.file {
            Some(f) => f.write(buf),
            None => Err(std::io::Error::other("file already committed")),
        };
        r.map_err(|e| self.named(e))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let r = match &mut self.file {
            Some(f) => f.flush(),
            None => Ok(()),
        };
        r.map_err(|e| self.named(e))
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if let Some(tmp) = &self.tmp {
            if self.file.take().is_some() {
                let _ = fs::remove_file(tmp);
            }
            track(tmp, false);
        }
    }
}

/// The byte-order mark some editors put at the start of UTF-8 files. Every reader of
/// text skips it there.
pub const BOM: &str = "\u{feff}";

/// The text of `path`: UTF-8 (else an error naming the file and line), without a
/// leading byte-order mark.
pub fn read_text(path: &Path) -> Result<String> {
    let file = fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let len = file.metadata().map_or(0, |m| m.len());
    let text = read_utf8(file, &path.display().to_string(), len)?;
    Ok(match text.strip_prefix(BOM) {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

/// The data files read so far, by path as given, with their text.
static DATA: Mutex<Vec<(PathBuf, std::sync::Arc<str>)>> = Mutex::new(Vec::new());

/// The text of data file `path` (CoNLL-U or raw text, a byte-order mark kept), UTF-8
/// (else an error naming the file and line), read once per process: a command that
/// reads one file for several purposes (the tagger's sentences, the segmenter's text,
/// the fingerprint `--resume` checks) gets the same bytes each time, also from
/// `/dev/stdin` or a named pipe, which give their bytes once.
pub fn read_data(path: &Path) -> Result<std::sync::Arc<str>> {
    let mut data = DATA.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, text)) = data.iter().find(|(p, _)| p == path) {
        return Ok(text.clone());
    }
    let file = fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let len = file.metadata().map_or(0, |m| m.len());
    let text: std::sync::Arc<str> = read_utf8(file, &path.display().to_string(), len)?.into();
    data.push((path.to_path_buf(), text.clone()));
    Ok(text)
}

/// Everything `reader` gives (the file or stream `name`, of about `expected` bytes if
/// known) as UTF-8, else an error naming `name` and the line of the first bad byte,
/// found as the bytes come: a stream that is no text (`/dev/urandom`) is refused at its
/// first bad byte, not read to its end. A line of more than
/// [`crate::stream::MAX_LINE_BYTES`] is an error naming it, as where input is read line
/// by line: a stream without line breaks (`/dev/zero`) is not read until memory runs
/// out.
pub fn read_utf8(reader: impl std::io::Read, name: &str, expected: u64) -> Result<String> {
    read_utf8_lines(reader, name, expected, crate::stream::MAX_LINE_BYTES)
}

/// [`read_utf8`] with lines of at most `max_line` bytes (their endings not counted).
fn read_utf8_lines(
    mut reader: impl std::io::Read,
    name: &str,
    expected: u64,
    max_line: usize,
) -> Result<String> {
    // (A size that is no real length, e.g. of a device, only grows the first block.)
    let mut bytes = Vec::with_capacity(usize::try_from(expected).unwrap_or(0).min(1 << 30));
    // Bytes before `valid` are UTF-8; a character cut at the end of a read waits for
    // the next.
    let mut valid = 0;
    // Bytes of the last line read so far.
    let mut line = 0;
    let mut chunk = vec![0u8; 1 << 16];
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(anyhow::Error::new(e).context(format!("cannot read {name}"))),
        };
        let read = &chunk[..n];
        line = match read.iter().rposition(|&b| b == b'\n' || b == b'\r') {
            Some(end) => n - end - 1,
            None => line + n,
        };
        bytes.extend_from_slice(read);
        match std::str::from_utf8(&bytes[valid..]) {
            Ok(_) => valid = bytes.len(),
            Err(e) if e.error_len().is_none() => valid += e.valid_up_to(),
            Err(_) => return utf8(bytes, name),
        }
        if line > max_line {
            // The long line is the last one begun: its number is that of the text's end.
            let text = std::str::from_utf8(&bytes[..valid]).unwrap_or_default();
            bail!(
                "{name}:{}: a line of more than {} MiB",
                line_at(text, text.len()),
                max_line >> 20
            );
        }
    }
    utf8(bytes, name)
}

/// `bytes` as UTF-8, or an error naming `name` and the line of the first bad byte.
pub fn utf8(bytes: Vec<u8>, name: &str) -> Result<String> {
    String::from_utf8(bytes).map_err(|e| {
        let ok = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        // Lines end at LF, CR LF or a lone CR (`postag_core::segment::lines`).
        let ok = std::str::from_utf8(ok).unwrap_or_default();
        anyhow::anyhow!("{name}:{}: invalid UTF-8", line_at(ok, ok.len()))
    })
}

/// The line (from 1) of `text` that byte `offset` is on; lines end at LF, CR LF or a
/// lone CR ([`postag_core::segment::lines`]).
pub fn line_at(text: &str, offset: usize) -> usize {
    let before = text.get(..offset).unwrap_or(text);
    postag_core::segment::lines(before)
        .filter(|l| l.ends_with(['\n', '\r']))
        .count()
        + 1
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
    /// `read_utf8` read a few bytes at a time (reads that end inside characters) gives
    /// what `utf8` gives for the whole: the text, or the line of the first bad byte.
    #[test]
    fn utf8_checked_as_it_comes_equals_utf8_of_the_whole() {
        struct Trickle<'a>(&'a [u8], usize);
        impl std::io::Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                self.1 = self.1 % 4 + 1;
                let n = self.1.min(self.0.len()).min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let good = "\u{feff}a\r\nñé\r€😀\nz".as_bytes();
        let cases: [&[u8]; 5] = [
            good,
            b"ok\r\nno \xff\n",
            b"a\rb\rc\xe2\x82",
            b"\xe2\x82\x41\n",
            b"",
        ];
        for bytes in cases {
            let whole = utf8(bytes.to_vec(), "f").map_err(|e| e.to_string());
            let read = read_utf8(Trickle(bytes, 0), "f", 0).map_err(|e| e.to_string());
            assert_eq!(read, whole, "{bytes:?}");
        }
        assert_eq!(
            read_utf8(Trickle(good, 0), "f", 3).unwrap().as_bytes(),
            good
        );
        let e = read_utf8(Trickle(b"ok\r\nno \xff\n", 0), "f", 0).unwrap_err();
        assert_eq!(e.to_string(), "f:2: invalid UTF-8");
    }

    /// A line longer than the limit is an error naming it, whatever the lines before it
    /// and however the reads cut it; the longest allowed line reads.
    #[test]
    fn read_utf8_refuses_a_line_longer_than_the_limit() {
        use std::io::Read;
        const MIB: usize = 1 << 20;
        let x = |n: usize| std::io::repeat(b'x').take(n as u64);
        let read = |r: &mut dyn Read| read_utf8_lines(r, "f", 0, MIB).map_err(|e| e.to_string());
        for (before, line) in [(&b""[..], 1), (b"a\n", 2), (b"a\r\nb\r", 3), (b"\n\n", 3)] {
            let e = read(&mut before.chain(x(MIB + 1)).chain(&b"\n"[..])).unwrap_err();
            assert_eq!(
                e,
                format!("f:{line}: a line of more than 1 MiB"),
                "{before:?}"
            );
            for ending in [&b""[..], b"\n", b"\r\n", b"\r"] {
                let text = read(&mut before.chain(x(MIB)).chain(ending)).unwrap();
                assert_eq!(text.len(), before.len() + MIB + ending.len());
            }
        }
        // Long lines one after another: each is counted from its own start.
        let mut three = x(MIB)
            .chain(&b"\n"[..])
            .chain(x(MIB))
            .chain(&b"\r"[..])
            .chain(x(MIB));
        assert_eq!(read(&mut three).unwrap().len(), 3 * MIB + 2);
    }

    /// A file that exists where no file can be made beside it: the error says the
    /// temporary file failed, not that the path does not exist.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_temporary_file_that_cannot_be_made_is_named() {
        let e = AtomicFile::create(Path::new("/proc/version"))
            .err()
            .unwrap();
        let e = format!("{e:#}");
        assert!(
            e.contains(
                "cannot write /proc/version: cannot make its temporary file /proc/.version.tmp-"
            ),
            "{e}"
        );
    }

    /// A path in a directory that does not exist: the error names the directory (every
    /// command that writes a file says it so), and nothing is left behind.
    #[test]
    fn a_missing_directory_is_named() {
        let dir = std::env::temp_dir().join(format!("postag-missing-{}", std::process::id()));
        let path = dir.join("out.txt");
        let e = format!("{:#}", AtomicFile::create(&path).err().unwrap());
        assert_eq!(
            e,
            format!(
                "cannot write {}: directory {} does not exist",
                path.display(),
                dir.display()
            )
        );
        assert!(!dir.exists());
    }

    #[test]
    fn temporary_names_fit_where_the_names_do() {
        let dir = std::env::temp_dir().join(format!("postag-long-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        for len in [2, 200, 201, 243, 255] {
            // `len` bytes, "é" (two bytes) last: a cut inside it moves back to a
            // character boundary.
            let name = format!("{}é", "a".repeat(len - 2));
            let path = dir.join(&name);
            let tmp = temp_path(&path);
            let tmp_name = tmp.file_name().unwrap().to_str().unwrap();
            assert!(tmp_name.len() <= 255, "{len}: {}", tmp_name.len());
            write_atomic(&path, b"whole").unwrap();
            assert_eq!(fs::read(&path).unwrap(), b"whole", "{len}");
        }
        let a = temp_path(&dir.join("x".repeat(250)));
        let b = temp_path(&dir.join("x".repeat(251)));
        assert_ne!(a, b, "names that agree on their first bytes");
        let _ = fs::remove_dir_all(&dir);
    }

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

    /// A symbolic link is written through (the link stays a link, also when it
    /// dangles), an existing file keeps its permissions, a named pipe is written in
    /// place.
    #[cfg(unix)]
    #[test]
    fn links_modes_and_devices_survive_a_write() {
        use std::os::unix::fs::{symlink, PermissionsExt};
        let dir = std::env::temp_dir().join(format!("postag-fsio-links-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let (target, link) = (dir.join("target.txt"), dir.join("link.txt"));
        fs::write(&target, b"old").unwrap();
        fs::set_permissions(&target, fs::Permissions::from_mode(0o640)).unwrap();
        symlink("target.txt", &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read(&target).unwrap(), b"new");
        let mode = fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        // A dangling link: the file it names is created.
        symlink("later.txt", dir.join("dangling")).unwrap();
        write_atomic(&dir.join("dangling"), b"made").unwrap();
        assert_eq!(fs::read(dir.join("later.txt")).unwrap(), b"made");
        // A cycle of links is an error, as the OS makes it, and writes nothing.
        symlink("loop-b", dir.join("loop-a")).unwrap();
        symlink("loop-a", dir.join("loop-b")).unwrap();
        let e = write_atomic(&dir.join("loop-a"), b"x").unwrap_err();
        assert!(
            format!("{e:#}").contains("too many levels of symbolic links"),
            "{e:#}"
        );
        assert!(fs::symlink_metadata(dir.join("loop-b"))
            .unwrap()
            .file_type()
            .is_symlink());
        // A named pipe (as a device): written, not replaced by a plain file.
        let fifo = dir.join("pipe");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        let mut files = 6;
        if made.is_ok_and(|s| s.success()) {
            let reader = {
                let fifo = fifo.clone();
                std::thread::spawn(move || fs::read(fifo).unwrap())
            };
            write_atomic(&fifo, b"through").unwrap();
            assert_eq!(reader.join().unwrap(), b"through");
            assert!(!fs::symlink_metadata(&fifo).unwrap().is_file());
            files += 1;
        }
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), files, "no temporary left: {names:?}");
        // A new file gets the permissions any new file gets (the umask's), not 0600.
        write_atomic(&dir.join("new.txt"), b"new").unwrap();
        let reference = dir.join("reference.txt");
        File::create(&reference).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.join("new.txt")), mode(&reference));
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
