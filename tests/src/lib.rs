//! Helpers for the cross-crate tests: building `libpostag.a` with a nested cargo,
//! finding the C toolchains, importing the PyTorch fixtures, and writing the case
//! files that the C test programs read.
//!
//! This crate depends on the C ABI crate and holds the C, C++ and firmware tests; the
//! helpers every crate's tests share (paths, `../shared`, fixtures) live in
//! `postag-testutil`, which depends on the core alone so that the core's and the
//! trainer's tests can use them without building the C ABI.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};

use postag_core::torch::{ImportOptions, TorchVocab};
pub use postag_testutil::{
    fixture_expected, fixture_vocab, floats, max_abs_diff, repo, shared, strings, torch_fixtures,
};
use serde_json::Value;

pub mod cases;
pub mod models;
pub mod raw;

/// `true` if `ok`; otherwise prints why the calling test skips and returns `false`,
/// or fails the test under `CI=true`.
pub fn require(ok: bool, reason: &str) -> bool {
    if !ok {
        postag_testutil::skip(reason);
    }
    ok
}

/// Whether `program` runs (with `--version`).
pub fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `true` if every program runs; otherwise skips (or fails under `CI=true`) naming
/// the first one missing.
pub fn require_tools(programs: &[&str]) -> bool {
    programs
        .iter()
        .all(|p| require(have(p), &format!("`{p}` is not installed")))
}

/// Whether rustup's sysroot holds the standard library for `target` (`rustup target
/// add` installed it).
pub fn rust_target_installed(target: &str) -> bool {
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    Path::new(&sysroot)
        .join("lib/rustlib")
        .join(target)
        .is_dir()
}

/// The `key value` pairs after the first word of a line a firmware prints, the values
/// that are numbers.
pub fn fields(line: &str) -> std::collections::BTreeMap<&str, u64> {
    let words: Vec<&str> = line.split_whitespace().skip(1).collect();
    words
        .chunks(2)
        .filter_map(|kv| Some((kv[0], kv.get(1)?.parse().ok()?)))
        .collect()
}

/// Runs `cmd`, panicking with its output if it cannot start or fails.
pub fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    if !out.status.success() {
        panic!(
            "{cmd:?} failed ({})\n--- stdout\n{}\n--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

/// A build of `libpostag.a`.
#[derive(Debug, Clone)]
pub struct StaticLib {
    /// Path of the archive.
    pub archive: PathBuf,
    /// Libraries a hosted C program must link after it (`--print native-static-libs`).
    pub native_libs: Vec<String>,
}

/// Builds `libpostag.a` in release mode for the host (`target = None`, with `std`) or
/// for a bare-metal target (without `std`), with a nested cargo whose target directory
/// is `<target_dir>/nested`: the outer cargo holds the lock of its own.
///
/// Built once per process and target; `target_dir` is the test's
/// `CARGO_TARGET_TMPDIR`.
pub fn libpostag(target_dir: &Path, target: Option<&str>) -> StaticLib {
    libpostag_with_profile(target_dir, target, "release")
}

/// [`libpostag`] with the cargo profile `profile` (`release`, or `firmware`: the
/// size-optimized build of the root `Cargo.toml`). Built once per process, target
/// and profile.
pub fn libpostag_with_profile(target_dir: &Path, target: Option<&str>, profile: &str) -> StaticLib {
    libpostag_with_flags(target_dir, target, profile, &[])
}

/// [`libpostag_with_profile`] with `rustflags` (for example `-C target-cpu=...`) given
/// to every crate of the build as `RUSTFLAGS` (in a target directory of their own, so
/// that builds with other flags stay cached). Built once per process, target, profile
/// and flags.
pub fn libpostag_with_flags(
    target_dir: &Path,
    target: Option<&str>,
    profile: &str,
    rustflags: &[&str],
) -> StaticLib {
    // (target, profile, flags) -> build
    type Builds = HashMap<(Option<String>, String, String), StaticLib>;
    static BUILT: OnceLock<Mutex<Builds>> = OnceLock::new();
    let mut built = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let flags = rustflags.join(" ");
    let key = (
        target.map(str::to_string),
        profile.to_string(),
        flags.clone(),
    );
    if let Some(lib) = built.get(&key) {
        return lib.clone();
    }
    let nested = if flags.is_empty() {
        target_dir.join("nested")
    } else {
        let name: String = flags
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        target_dir.join(format!("nested{name}"))
    };
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(repo())
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .args(["rustc", "-p", "postag-ffi", "--profile", profile, "--lib"])
        .args(["--crate-type", "staticlib", "--target-dir"])
        .arg(&nested);
    if let Some(t) = target {
        cmd.args(["--target", t, "--no-default-features"]);
    }
    if !flags.is_empty() {
        cmd.env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env("RUSTFLAGS", &flags);
    }
    cmd.args(["--", "--print", "native-static-libs"]);
    let out = run(&mut cmd);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let native_libs = stderr
        .lines()
        .find_map(|l| l.split("native-static-libs:").nth(1))
        .map(|libs| libs.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    let dir = match target {
        Some(t) => nested.join(t).join(profile),
        None => nested.join(profile),
    };
    let lib = StaticLib {
        archive: dir.join("libpostag.a"),
        native_libs,
    };
    assert!(
        lib.archive.is_file(),
        "{} was not built",
        lib.archive.display()
    );
    built.insert(key, lib.clone());
    lib
}

/// A parity fixture imported as a blob with `vocab` (default options).
pub fn fixture_blob_with(name: &str, vocab: &TorchVocab) -> Vec<u8> {
    postag_testutil::fixture_blob_with(name, vocab, &ImportOptions::default())
}

/// A parity fixture imported as a blob.
pub fn fixture_blob(name: &str) -> Vec<u8> {
    postag_testutil::fixture_blob(name, &ImportOptions::default())
}

/// The token lists of a fixture's sentences.
pub fn fixture_sentences(expected: &Value) -> Vec<Vec<String>> {
    expected["sentences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| strings(&s["tokens"]))
        .collect()
}

/// Flags every C test program is compiled with: the header must pass them.
pub const C_FLAGS: &[&str] = &[
    "-std=c99",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-pedantic",
    "-Wc++-compat",
];
/// Flags of the C++ translation unit.
pub const CXX_FLAGS: &[&str] = &["-std=c++11", "-Wall", "-Wextra", "-Werror"];

/// Compiles and links C (or C++) `sources` against `lib` into `exe` with `compiler`
/// and `flags` (plus `-I include -I tests/c`).
pub fn build_program(
    compiler: &str,
    flags: &[&str],
    sources: &[PathBuf],
    lib: &StaticLib,
    exe: &Path,
) {
    let repo = repo();
    let mut cmd = Command::new(compiler);
    cmd.args(flags)
        .arg("-I")
        .arg(repo.join("include"))
        .arg("-I")
        .arg(repo.join("tests/c"))
        .args(sources)
        .arg(&lib.archive)
        .args(&lib.native_libs)
        .arg("-o")
        .arg(exe);
    run(&mut cmd);
}
