//! Every command that writes a model, with `-o /dev/stdout` into a pipe: standard output
//! carries the model's bytes and nothing else (the report goes to standard error), the
//! same bytes as `-o FILE`, and the model loads.

mod common;

use std::path::Path;

use common::{reported, run, torch_fixture_files};
use postag_testutil::{repo, workdir};

/// Two sentences with `# text` (for `segmenter`), tagged (for `train`).
const TRAIN: &str = "# newpar\n# text = I can't go.\n1\tI\tI\tPRON\t_\t_\t_\t_\t_\t_\n2-3\tcan't\t_\t_\t_\t_\t_\t_\t_\t_\n2\tca\tcan\tAUX\t_\t_\t_\t_\t_\t_\n3\tn't\tnot\tPART\t_\t_\t_\t_\t_\t_\n4\tgo\tgo\tVERB\t_\t_\t_\t_\t_\tSpaceAfter=No\n5\t.\t.\tPUNCT\t_\t_\t_\t_\t_\t_\n\n# text = Hello, world!\n1\tHello\thello\tINTJ\t_\t_\t_\t_\t_\tSpaceAfter=No\n2\t,\t,\tPUNCT\t_\t_\t_\t_\t_\t_\n3\tworld\tworld\tNOUN\t_\t_\t_\t_\t_\tSpaceAfter=No\n4\t!\t!\tPUNCT\t_\t_\t_\t_\t_\t_\n\n";

/// Runs `args` (whose output is `OUT`) twice: with `-o OUT` replaced by a file, and by
/// `/dev/stdout` with standard output a pipe. Requires the same bytes both ways, a model
/// `inspect` reads, and each run's report on standard error; returns the piped run's
/// report.
fn same_through_a_pipe(dir: &Path, name: &str, args: &[&str]) -> String {
    fn with<'a>(args: &[&'a str], out: &'a str) -> Vec<&'a str> {
        args.iter()
            .map(|&a| if a == "OUT" { out } else { a })
            .collect()
    }
    let file = format!("{name}.postag");
    let said = reported(dir, &with(args, &file));
    assert!(said.contains(&format!("wrote {file}")), "{said}");
    let piped = run(dir, &with(args, "/dev/stdout"));
    let report = String::from_utf8_lossy(&piped.stderr).into_owned();
    assert!(piped.status.success(), "{name}: {report}");
    assert!(report.contains("wrote /dev/stdout"), "{name}: {report}");
    let written = std::fs::read(dir.join(&file)).unwrap();
    assert!(
        piped.stdout == written,
        "{name}: {} bytes through the pipe, {} in the file; the pipe's last bytes: {:?}",
        piped.stdout.len(),
        written.len(),
        String::from_utf8_lossy(&piped.stdout[piped.stdout.len().saturating_sub(120)..])
    );
    let back = format!("{name}-piped.postag");
    std::fs::write(dir.join(&back), &piped.stdout).unwrap();
    let inspected = run(dir, &["inspect", "--model", &back]);
    assert!(
        inspected.status.success(),
        "{name}: the piped model does not load: {}",
        String::from_utf8_lossy(&inspected.stderr)
    );
    report
}

#[test]
fn models_written_to_a_piped_stdout_are_the_files_bytes() {
    let dir = workdir("pipes");
    std::fs::write(dir.join("train.conllu"), TRAIN.repeat(10)).unwrap();
    std::fs::write(dir.join("dev.conllu"), TRAIN).unwrap();
    let (st, vocab) = torch_fixture_files("bi2_char_bi2_crf_27");
    let (st, vocab) = (st.to_str().unwrap(), vocab.to_str().unwrap());
    let micro = repo().join("models/en_ewt_micro.postag");
    let micro = micro.to_str().unwrap();

    same_through_a_pipe(
        &dir,
        "imported",
        &[
            "import-torch",
            "--state-dict",
            st,
            "--vocab",
            vocab,
            "-o",
            "OUT",
        ],
    );
    // An f32 model (the import) is quantized; an int8 one is copied, saying so.
    same_through_a_pipe(
        &dir,
        "quantized",
        &["quantize", "--model", "imported.postag", "-o", "OUT"],
    );
    let said = same_through_a_pipe(
        &dir,
        "requantized",
        &["quantize", "--model", "quantized.postag", "-o", "OUT"],
    );
    assert!(said.contains("already has int8 weights"), "{said}");
    same_through_a_pipe(
        &dir,
        "rows",
        &[
            "convert",
            "--model",
            "imported.postag",
            "--layout",
            "rows",
            "-o",
            "OUT",
        ],
    );
    let said = same_through_a_pipe(
        &dir,
        "panels",
        &[
            "convert",
            "--model",
            "imported.postag",
            "--layout",
            "panels",
            "-o",
            "OUT",
        ],
    );
    assert!(said.contains("is in panels already"), "{said}");
    // The --dev scores are part of the report: on standard error too.
    let said = same_through_a_pipe(
        &dir,
        "segmented",
        &[
            "segmenter",
            "--model",
            micro,
            "--train",
            "train.conllu",
            "--dev",
            "dev.conllu",
            "--steps",
            "3",
            "--dim",
            "4",
            "--hidden",
            "4",
            "--threads",
            "1",
            "-o",
            "OUT",
        ],
    );
    assert!(said.contains("UPOS"), "{said}");
    same_through_a_pipe(
        &dir,
        "trained",
        &[
            "train",
            "--train",
            "train.conllu",
            "--preset",
            "tiny",
            "--epochs",
            "1",
            "--threads",
            "1",
            "--no-segmenter",
            "-o",
            "OUT",
        ],
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `-` is not taken for standard input or output by any file argument: it is refused
/// with what to give instead (nothing named `-` is read or made); `/dev/stdin` and
/// `/dev/stdout` are, and `./-` is a file named `-`.
#[test]
fn a_dash_is_refused_as_a_file_name_and_dev_stdin_is_read() {
    let dir = workdir("dash");
    std::fs::write(dir.join("train.conllu"), TRAIN).unwrap();
    let micro = repo().join("models/en_ewt_micro.postag");
    let micro = micro.to_str().unwrap();
    let (st, vocab) = torch_fixture_files("bi1_word_04");
    let (st, vocab) = (st.to_str().unwrap(), vocab.to_str().unwrap());
    let outputs: [&[&str]; 6] = [
        &["tag", "-o", "-"],
        &[
            "train",
            "--train",
            "train.conllu",
            "--preset",
            "tiny",
            "-o",
            "-",
        ],
        &["quantize", "--model", micro, "-o", "-"],
        &["convert", "--model", micro, "--layout", "rows", "-o", "-"],
        &["segmenter", "--train", "train.conllu", "--output", "-"],
        &[
            "import-torch",
            "--state-dict",
            st,
            "--vocab",
            vocab,
            "-o",
            "-",
        ],
    ];
    for args in outputs {
        let err = common::fails(&dir, args);
        assert!(
            err.contains("`-` does not name standard output here: give /dev/stdout"),
            "{args:?}: {err}"
        );
    }
    let inputs: [&[&str]; 9] = [
        &["tag", "-i", "-"],
        &["tag", "--model", "-"],
        &["eval", "--data", "-"],
        &["bench", "--data", "-"],
        &["inspect", "--model", "-"],
        &["train", "--train", "-", "-o", "m.postag"],
        &[
            "train",
            "--train",
            "train.conllu",
            "--init",
            "-",
            "-o",
            "m.postag",
        ],
        &[
            "segmenter",
            "--train",
            "train.conllu",
            "--dev",
            "-",
            "-o",
            "m.postag",
        ],
        &[
            "import-torch",
            "--state-dict",
            "-",
            "--vocab",
            vocab,
            "-o",
            "m.postag",
        ],
    ];
    for args in inputs {
        let err = common::fails(&dir, args);
        assert!(
            err.contains("`-` does not name standard input here: give /dev/stdin"),
            "{args:?}: {err}"
        );
    }
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["train.conllu"], "files were made");

    let tagged = common::ok_with_input(&dir, &["tag", "-i", "/dev/stdin"], b"The dog .\n");
    assert_eq!(
        tagged,
        common::ok_with_input(&dir, &["tag"], b"The dog .\n")
    );
    common::ok_with_input(&dir, &["tag", "-o", "./-"], b"The dog .\n");
    assert_eq!(std::fs::read_to_string(dir.join("-")).unwrap(), tagged);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs `postag ARGS` through `sh` in `dir` (for redirections such as `>&-`); requires
/// failure and returns stderr.
fn fails_in_shell(dir: &Path, args: &str) -> String {
    let out = std::process::Command::new("sh")
        .current_dir(dir)
        .args(["-c", &format!("\"$0\" {args}")])
        .arg(env!("CARGO_BIN_EXE_postag"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "postag {args} should fail: {err}");
    err
}

/// Standard output redirected to a file: `-o /dev/stdout` (or `/dev/fd/1`) writes to
/// the open stream, after what the file holds and in its append mode, as any program
/// writing there would; the file is not replaced. `train` writes no side files beside
/// it. Standard output closed: an error, not a silent success (for --help too).
#[test]
fn dev_stdout_redirected_to_a_file_writes_to_the_stream() {
    use std::io::{Seek, Write};
    let dir = workdir("stdout-file");
    std::fs::write(dir.join("in.txt"), "I can go .\n").unwrap();
    std::fs::write(dir.join("train.conllu"), TRAIN.repeat(4)).unwrap();
    let tagged = common::ok(&dir, &["tag", "-i", "in.txt"]);
    assert_eq!(tagged.split_whitespace().count(), 4, "{tagged}");
    for out in ["/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"] {
        // Appended to, after a line already written through the same descriptor.
        let path = dir.join("appended.txt");
        std::fs::write(&path, "before\n").unwrap();
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        let status = common::postag(&dir)
            .args(["tag", "-i", "in.txt", "-o", out])
            .stdout(file)
            .status()
            .unwrap();
        assert!(status.success(), "{out}");
        let got = std::fs::read_to_string(&path).unwrap();
        assert_eq!(got, format!("before\n{tagged}"), "{out}");
        // At the descriptor's offset: what the shell wrote before stays, what it
        // writes after lands after the output, in the same file.
        let path = dir.join("offset.txt");
        let mut file = std::fs::File::create(&path).unwrap();
        file.write_all(b"before\n").unwrap();
        let status = common::postag(&dir)
            .args(["tag", "-i", "in.txt", "-o", out])
            .stdout(file.try_clone().unwrap())
            .status()
            .unwrap();
        assert!(status.success(), "{out}");
        assert_eq!(file.stream_position().unwrap() as usize, 7 + tagged.len());
        file.write_all(b"after\n").unwrap();
        let got = std::fs::read_to_string(&path).unwrap();
        assert_eq!(got, format!("before\n{tagged}after\n"), "{out}");
    }
    // `train`: the model's bytes in the file, and nothing beside the descriptor.
    let model = dir.join("model.postag");
    let status = common::postag(&dir)
        .args(["train", "--train", "train.conllu", "--preset", "tiny"])
        .args(["--epochs", "1", "--threads", "1", "--no-segmenter"])
        .args(["-o", "/dev/stdout"])
        .stdout(std::fs::File::create(&model).unwrap())
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&status.stderr);
    assert!(status.status.success(), "{report}");
    assert!(
        report.contains("no checkpoint, report or plots"),
        "{report}"
    );
    for side in [".report.json", ".loss.svg", ".ckpt"] {
        assert!(!Path::new(&format!("/dev/stdout{side}")).exists(), "{side}");
    }
    common::ok(&dir, &["inspect", "--model", model.to_str().unwrap()]);
    // Closed: the error says so (without `-o` too).
    for args in ["-o /dev/stdout", ""] {
        let err = fails_in_shell(&dir, &format!("tag -i in.txt {args} >&-"));
        assert!(err.contains("standard output is closed"), "{args}: {err}");
    }
    // Help and the version too: closed, or full, is an error.
    for args in ["--help", "--version", "tag --help"] {
        for to in [">&-", "> /dev/full"] {
            let err = fails_in_shell(&dir, &format!("{args} {to}"));
            assert!(
                err.contains("cannot write standard output"),
                "{args} {to}: {err}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `tag` reading the file its output is appended to (`tag -i F >> F`, `tag < F >> F`,
/// `-o /dev/stdout`) would read its own output without end: refused, the file unchanged.
/// `-o F` with `-i F` replaces F after reading it.
#[test]
fn tag_refuses_to_read_the_file_it_writes_in_place() {
    let dir = workdir("input-is-output");
    let path = dir.join("in.txt");
    let text = "I can go .\n".repeat(100);
    for (input, output) in [(true, None), (false, None), (true, Some("/dev/stdout"))] {
        std::fs::write(&path, &text).unwrap();
        let append = || {
            std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .unwrap()
        };
        let mut command = common::postag(&dir);
        command.args(["tag", "--threads", "1"]);
        match input {
            true => command.args(["-i", "in.txt"]),
            false => command.stdin(std::fs::File::open(&path).unwrap()),
        };
        command.args(output.map(|o| ["-o", o]).iter().flatten());
        let out = command
            .stdout(append())
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{input} {output:?}: {err}");
        assert!(err.contains("it is also the output"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    }
    // What cannot loop is not refused (as `cat` does not): an empty file, CoNLL-U
    // (read whole before anything is written).
    std::fs::write(dir.join("empty.txt"), "").unwrap();
    let conllu = "1\tHi\t_\t_\t_\t_\t_\t_\t_\t_\n\n";
    std::fs::write(dir.join("c.conllu"), conllu).unwrap();
    for (name, format) in [("empty.txt", "text"), ("c.conllu", "conllu")] {
        let path = dir.join(name);
        let status = common::postag(&dir)
            .args(["tag", "--format", format, "-i", name])
            .stdout(
                std::fs::OpenOptions::new()
                    .append(true)
                    .open(&path)
                    .unwrap(),
            )
            .status()
            .unwrap();
        assert!(status.success(), "{name}");
    }
    let tagged = std::fs::read_to_string(dir.join("c.conllu")).unwrap();
    assert_eq!(
        tagged,
        format!("{conllu}1\tHi\t_\tINTJ\t_\t_\t_\t_\t_\t_\n\n")
    );
    common::ok(&dir, &["tag", "-i", "in.txt", "-o", "in.txt"]);
    let tagged = std::fs::read_to_string(&path).unwrap();
    assert_eq!(tagged, "I/PRON can/AUX go/VERB ./PUNCT\n".repeat(100));
    // One named pipe as input and output: its answers would come back as input (or,
    // read whole first, wait for a reader that is this process). Refused in every
    // format, before the pipe is opened (which would wait for a writer: none here).
    let fifo = dir.join("pipe");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.unwrap().success());
    for format in ["text", "jsonl", "conllu", "raw"] {
        let args = ["tag", "--format", format, "-i", "pipe", "-o", "pipe"];
        let err = common::fails(&dir, &args);
        assert!(
            err.contains("the same named pipe is also the output"),
            "{format}: {err}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Standard input closed is an error, not an empty input; the model and the text cannot
/// both come from it; an empty path is refused (it names no file).
#[test]
fn closed_or_doubly_read_standard_input_and_empty_paths_are_refused() {
    let dir = workdir("stdin-closed");
    let closed = |args: &str| fails_in_shell(&dir, &format!("{args} <&-"));
    for args in ["tag", "tag -i /dev/stdin", "eval --data /dev/stdin"] {
        let err = closed(args);
        assert!(err.contains("standard input"), "{args}: {err}");
        assert!(err.contains("closed"), "{args}: {err}");
    }
    let micro = std::fs::read(repo().join("models/en_ewt_micro.postag")).unwrap();
    for args in [
        &["tag", "--model", "/dev/stdin"][..],
        &["tag", "--model", "/dev/stdin", "-i", "/dev/fd/0"],
    ] {
        let out = common::run_with_input(&dir, args, &micro);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(
            err.contains("cannot both be read from standard input"),
            "{args:?}: {err}"
        );
    }
    std::fs::write(dir.join("in.txt"), "a b\n").unwrap();
    let tagged = common::ok_with_input(
        &dir,
        &["tag", "--model", "/dev/stdin", "-i", "in.txt"],
        &micro,
    );
    assert_eq!(tagged.split_whitespace().count(), 2, "{tagged}");
    for args in [
        &["tag", "-o", ""][..],
        &["tag", "--model", ""],
        &["eval", "--data", ""],
    ] {
        let err = common::fails(&dir, args);
        assert!(
            err.contains("an empty path names no file"),
            "{args:?}: {err}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
