//! Runs the real `postag` binary for the CLI tests (each test file uses part of it).
#![allow(dead_code)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The `postag` binary, run in `dir`.
pub fn postag(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_postag"));
    command.current_dir(dir);
    command
}

/// Runs `postag args` in `dir` with `stdin` as its standard input.
pub fn run_with_input(dir: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = postag(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start postag");
    // A command that fails early may close its input first.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

/// Runs `postag args` in `dir` with empty standard input.
pub fn run(dir: &Path, args: &[&str]) -> Output {
    run_with_input(dir, args, b"")
}

/// Requires success; returns stdout.
pub fn succeeded(args: &[&str], out: Output) -> String {
    assert!(
        out.status.success(),
        "postag {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs and requires success; returns stdout.
pub fn ok(dir: &Path, args: &[&str]) -> String {
    succeeded(args, run(dir, args))
}

/// Runs and requires success and an empty standard output (a command that writes a
/// model reports on standard error); returns stderr.
pub fn reported(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    assert!(
        out.status.success(),
        "postag {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stdout.is_empty(),
        "postag {args:?} wrote to standard output: {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stderr).unwrap()
}

/// Runs with `stdin` and requires success; returns stdout.
pub fn ok_with_input(dir: &Path, args: &[&str], stdin: &[u8]) -> String {
    succeeded(args, run_with_input(dir, args, stdin))
}

/// Runs and requires failure; returns stderr.
pub fn fails(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    assert!(!out.status.success(), "postag {args:?} should fail");
    String::from_utf8(out.stderr).unwrap()
}

/// Runs `postag import-torch --state-dict ST --vocab VOCAB -o OUT EXTRA...` in `dir`.
pub fn import_torch(dir: &Path, st: &Path, vocab: &Path, out: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "import-torch",
        "--state-dict",
        st.to_str().unwrap(),
        "--vocab",
        vocab.to_str().unwrap(),
        "-o",
        out,
    ];
    args.extend_from_slice(extra);
    run(dir, &args)
}

/// The safetensors and vocabulary files of the PyTorch parity fixture `name`.
pub fn torch_fixture_files(name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = postag_testutil::repo().join("tests/fixtures/torch");
    (
        dir.join(format!("{name}.safetensors")),
        dir.join(format!("{name}.vocab.json")),
    )
}
