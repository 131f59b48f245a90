//! End-to-end runs of the real `postag` binary: tagging text, JSON lines and CoNLL-U.

mod common;

use common::{fails, import_torch, ok, ok_with_input, postag, run, succeeded, torch_fixture_files};

use postag_testutil::{conllu_head as slice, repo, shared, torch_fixtures, workdir};
use serde_json::Value;

#[test]
fn malformed_conllu_is_reported_with_file_and_line_and_writes_nothing() {
    let dir = workdir("bad");
    std::fs::write(
        dir.join("bad.conllu"),
        "# ok\n1\tThe\tthe\tDET\tDT\t_\t2\tdet\t_\t_\n2\tdog\tdog\tNOUN\n",
    )
    .unwrap();
    let err = fails(
        &dir,
        &[
            "train",
            "--train",
            "bad.conllu",
            "-o",
            "m.postag",
            "--preset",
            "tiny",
        ],
    );
    assert!(
        err.contains("bad.conllu:3:") && err.contains("10 tab-separated fields"),
        "{err}"
    );
    assert!(!dir.join("m.postag").exists());
    let err = fails(
        &dir,
        &[
            "tag",
            "--format",
            "conllu",
            "--input",
            "bad.conllu",
            "-o",
            "out.conllu",
        ],
    );
    assert!(err.contains("bad.conllu:3:"), "{err}");
    assert!(!dir.join("out.conllu").exists(), "no partial output file");
    std::fs::write(dir.join("bad.bin"), b"The \xff dog\n").unwrap();
    let err = fails(&dir, &["tag", "--input", "bad.bin"]);
    assert!(err.contains("bad.bin:1: invalid UTF-8"), "{err}");
    std::fs::write(dir.join("junk.postag"), b"not a model").unwrap();
    let err = fails(
        &dir,
        &["tag", "--model", "junk.postag", "--input", "bad.conllu"],
    );
    assert!(
        err.contains("junk.postag") && err.contains("not a postag model"),
        "{err}"
    );
    // An endless file that is no model is refused by its first bytes, not read to the
    // end (the test would time out, or run out of memory).
    #[cfg(target_os = "linux")]
    for endless in ["/dev/zero", "/dev/urandom"] {
        let err = fails(&dir, &["inspect", "--model", endless]);
        assert!(
            err.contains(&format!("{endless}: not a postag model")),
            "{err}"
        );
    }
    // Input without line breaks ends at the longest line postag reads, whether read
    // whole (CoNLL-U, raw text) or line by line (text), not when memory runs out.
    #[cfg(target_os = "linux")]
    for format in ["conllu", "raw", "text"] {
        let err = fails(&dir, &["tag", "--format", format, "--input", "/dev/zero"]);
        assert!(
            err.contains("/dev/zero:1: a line of more than 256 MiB"),
            "{format}: {err}"
        );
    }
    // Input read whole (CoNLL-U, raw text) is refused at its first bad byte, not read to
    // its end: standard input left open after one.
    for format in ["conllu", "raw"] {
        let mut child = postag(&dir)
            .args(["tag", "--format", format])
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        std::io::Write::write_all(&mut stdin, b"# ok\n\n# \xff\n").unwrap();
        let started = std::time::Instant::now();
        while child.try_wait().unwrap().is_none() {
            let waited = started.elapsed().as_secs();
            assert!(waited < 60, "{format}: read on past an invalid byte");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("<stdin>:3: invalid UTF-8"), "{format}: {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Interactive use: each line is answered before the next one is typed.
#[test]
fn tag_answers_each_line_as_it_arrives() {
    use std::io::{BufRead, BufReader, Write};
    let mut child = postag(&repo())
        .arg("tag")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || loop {
        let mut line = String::new();
        if stdout.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        let _ = tx.send(line);
    });
    for sentence in ["The dog barks .", "I like tea ."] {
        writeln!(stdin, "{sentence}").unwrap();
        stdin.flush().unwrap();
        // With input read to its end before tagging, no answer would come while stdin is open.
        let Ok(line) = rx.recv_timeout(std::time::Duration::from_secs(60)) else {
            let _ = child.kill();
            panic!("no answer to {sentence:?} while input stays open");
        };
        assert_eq!(
            line.split(' ').count(),
            sentence.split(' ').count(),
            "{line}"
        );
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

/// A sentence longer than the core reads at once is tagged in windows, with a warning,
/// and counted by `eval`; the rest of the file is tagged as usual.
#[test]
fn over_long_sentences_are_tagged_in_windows_and_counted() {
    let Some(shared) = shared() else { return };
    let dev = slice(&shared.join("data/ud/en_ewt/en_ewt-ud-dev.conllu"), 600);
    // The word lines of EWT dev sentences, renumbered into one sentence.
    let mut long = String::new();
    let mut n = 0;
    for line in dev.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() == 10 && fields[0].bytes().all(|b| b.is_ascii_digit()) {
            n += 1;
            long.push_str(&format!("{n}\t{}\n", fields[1..].join("\t")));
        }
        if n == 2 * postag_core::MAX_TOKENS + 100 {
            break;
        }
    }
    assert_eq!(
        n,
        2 * postag_core::MAX_TOKENS + 100,
        "EWT dev slice too short"
    );
    let dir = workdir("long-sentence");
    std::fs::write(dir.join("separate.conllu"), &dev).unwrap();
    let short = "1\tHello\t_\tINTJ\t_\t_\t0\troot\t_\t_\n";
    std::fs::write(dir.join("long.conllu"), format!("{short}\n{long}\n")).unwrap();

    let out = run(&dir, &["eval", "--data", "long.conllu", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("long.conllu:3: 8292 tokens") && stderr.contains("windows"),
        "{stderr}"
    );
    let ev: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ev["words"], n + 1, "every word is counted");
    // The same words as separate sentences: windows cost next to nothing.
    let separate: Value =
        serde_json::from_str(&ok(&dir, &["eval", "--data", "separate.conllu", "--json"])).unwrap();
    let (acc, sep) = (
        ev["accuracy"].as_f64().unwrap(),
        separate["accuracy"].as_f64().unwrap(),
    );
    assert!(acc > 0.93 && (acc - sep).abs() < 0.02, "{acc} vs {sep}");

    let out = run(
        &dir,
        &["tag", "--format", "conllu", "--input", "long.conllu"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("long.conllu:3: 8292 tokens"));
    let tagged = String::from_utf8(out.stdout).unwrap();
    assert_eq!(tagged.lines().filter(|l| l.contains('\t')).count(), n + 1);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A UTF-8 byte-order mark at the start of any text input is skipped: it changes no tag
/// and no model.
#[test]
fn a_leading_byte_order_mark_is_skipped_by_every_reader() {
    let dir = workdir("bom");
    let bom = |s: &str| format!("\u{feff}{s}").into_bytes();
    let text = "Please help .\n";
    assert_eq!(
        ok_with_input(&dir, &["tag"], &bom(text)),
        "Please/INTJ help/VERB ./PUNCT\n"
    );
    // A byte-order mark alone is an empty input: no line to answer. (CoNLL-U output
    // keeps the input's bytes, the mark included.)
    for format in ["text", "jsonl"] {
        assert_eq!(
            ok_with_input(&dir, &["tag", "--format", format], &bom("")),
            "",
            "{format}"
        );
    }
    let json = "{\"tokens\": [\"Please\", \"help\", \".\"]}\n";
    let args = ["tag", "--format", "jsonl", "--scores"];
    assert_eq!(
        ok_with_input(&dir, &args, &bom(json)),
        ok_with_input(&dir, &args, json.as_bytes())
    );
    let conllu =
        "1\tPlease\t_\tINTJ\t_\t_\t0\troot\t_\t_\n2\thelp\t_\tVERB\t_\t_\t1\tdep\t_\t_\n\n";
    std::fs::write(dir.join("bom.conllu"), bom(conllu)).unwrap();
    let eval = ok(&dir, &["eval", "--data", "bom.conllu", "--json"]);
    assert!(eval.contains("\"correct\":2"), "{eval}");

    let (st, vocab_file) = torch_fixture_files(&torch_fixtures()[0]);
    let vocab = std::fs::read_to_string(vocab_file).unwrap();
    std::fs::write(dir.join("plain.json"), &vocab).unwrap();
    std::fs::write(dir.join("bom.json"), bom(&vocab)).unwrap();
    for v in ["plain", "bom"] {
        let vocab = dir.join(format!("{v}.json"));
        let out = format!("{v}.postag");
        succeeded(&[], import_torch(&dir, &st, &vocab, &out, &[]));
    }
    assert_eq!(
        std::fs::read(dir.join("plain.postag")).unwrap(),
        std::fs::read(dir.join("bom.postag")).unwrap()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Raw-text JSON lines give byte offsets into the input as given, a byte-order mark
/// included.
#[test]
fn raw_jsonl_offsets_index_the_input_bytes() {
    let dir = workdir("raw-offsets");
    for input in ["Hi, you. Ok!\n", "\u{feff}Hi, you. Ok!\n"] {
        let out = ok_with_input(
            &dir,
            &["tag", "--format", "raw", "--raw-output", "jsonl"],
            input.as_bytes(),
        );
        let mut seen = 0;
        for line in out.lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            for t in v["tokens"].as_array().unwrap() {
                let (s, e) = (t["start"].as_u64().unwrap(), t["end"].as_u64().unwrap());
                assert_eq!(&input[s as usize..e as usize], t["text"], "{input:?}");
                seen += 1;
            }
        }
        assert!(seen >= 5, "{out}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `eval` scores the column the model tags: asked for another one (`--raw` too) it
/// says so instead of printing a number that means nothing; and `eval --raw`, as
/// `eval`, refuses gold words without a UPOS tag instead of counting them as errors.
#[test]
fn evaluation_refuses_a_column_the_model_does_not_tag() {
    let Some(shared) = shared() else { return };
    let dev = shared.join("data/ud/en_ewt/en_ewt-ud-dev.conllu");
    let dir = workdir("eval-column");
    // The errors of `eval args`, then of `eval --raw args`.
    let errors = |args: &[&str]| {
        [false, true].map(|raw| {
            let raw: &[&str] = if raw { &["--raw"] } else { &[] };
            fails(&dir, &[&["eval"], args, raw].concat())
        })
    };
    for err in errors(&["--column", "xpos", "--data", dev.to_str().unwrap()]) {
        assert!(
            err.contains("tags UPOS, not XPOS") && err.contains("built-in"),
            "{err}"
        );
    }
    std::fs::write(
        dir.join("no-upos.conllu"),
        "# text = The dog\n1\tThe\tthe\tDET\tDT\t_\t2\tdet\t_\t_\n\
         2\tdog\tdog\t_\tNN\t_\t0\troot\t_\t_\n\n",
    )
    .unwrap();
    for err in errors(&["--data", "no-upos.conllu"]) {
        assert!(
            err.contains("no-upos.conllu:3:") && err.contains("\"dog\" has no UPOS tag"),
            "{err}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Interrupted (Ctrl-C, SIGTERM, SIGHUP) while it writes `-o`, `tag` leaves neither
/// the output nor its temporary file, and dies of the signal (a shell sees 130 for
/// Ctrl-C). A signal it was started ignoring (`nohup`'s SIGHUP) stays ignored.
#[cfg(unix)]
#[test]
fn an_interrupted_tag_leaves_no_file_behind() {
    use std::io::Write;
    use std::os::unix::process::ExitStatusExt;
    use std::process::Stdio;
    let dir = workdir("interrupted");
    let temporaries = |dir: &std::path::Path| {
        std::fs::read_dir(dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .contains(".tmp-")
            })
            .count()
    };
    // `tag` with its input kept open, once its temporary file exists (so it is still
    // writing when the signal comes); with SIGHUP ignored, through a shell's `trap`.
    let started = |ignore_hup: bool| {
        let bin = env!("CARGO_BIN_EXE_postag");
        let mut command = match ignore_hup {
            true => {
                let mut c = std::process::Command::new("sh");
                c.args(["-c", &format!("trap '' HUP; exec '{bin}' tag -o out.txt")]);
                c.current_dir(&dir);
                c
            }
            false => {
                let mut c = postag(&dir);
                c.args(["tag", "-o", "out.txt"]);
                c
            }
        };
        let mut child = command
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"The dog barks .\n").unwrap();
        stdin.flush().unwrap();
        let t = std::time::Instant::now();
        while temporaries(&dir) == 0 {
            assert!(t.elapsed().as_secs() < 30, "no temporary file appeared");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        (child, stdin)
    };
    let kill = |signal: &str, pid: u32| {
        let killed = std::process::Command::new("kill")
            .args([signal, &pid.to_string()])
            .status();
        assert!(killed.unwrap().success());
    };
    for (signal, number) in [("-INT", 2), ("-TERM", 15), ("-HUP", 1)] {
        let (mut child, stdin) = started(false);
        kill(signal, child.id());
        let status = child.wait().unwrap();
        drop(stdin);
        assert_eq!(status.signal(), Some(number), "{signal}: {status:?}");
        let left: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "{signal}: left {left:?}");
    }
    let (mut child, stdin) = started(true);
    kill("-HUP", child.id());
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(
        child.try_wait().unwrap().is_none(),
        "an ignored SIGHUP ended it"
    );
    drop(stdin);
    assert!(child.wait().unwrap().success());
    assert_eq!(
        std::fs::read_to_string(dir.join("out.txt")).unwrap(),
        "The/DET dog/NOUN barks/VERB ./PUNCT\n"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A blob whose tag names would break the output's columns (made by other means than
/// this project's writers, which refuse such names) is refused by name.
#[test]
fn a_model_whose_tag_names_would_break_the_output_is_refused() {
    let dir = workdir("bad-tag-name");
    let at = postag_trainer::cmd::DEFAULT_MODEL
        .windows(6)
        .position(|w| w == b"ADJADP")
        .expect("the tag strings");
    // A tab in the first name (ADJ), the first name equal to the second (ADP).
    for (byte, to, tag) in [(1, b'\t', 0), (2, b'P', 1)] {
        let mut blob = postag_trainer::cmd::DEFAULT_MODEL.to_vec();
        blob[at + byte] = to;
        std::fs::write(dir.join("bad.postag"), postag_testutil::with_crc(blob)).unwrap();
        for args in [
            &["tag", "--model", "bad.postag"][..],
            &["inspect", "--model", "bad.postag"],
        ] {
            let err = fails(&dir, args);
            let want = format!("bad.postag: model blob is invalid: the name of tag {tag} is empty, holds whitespace or a control character, or repeats an earlier tag's");
            assert!(err.contains(&want), "{err}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A closed standard output (`postag tag >&-`) is an error, as writing to a closed
/// descriptor is, not output written into the `/dev/null` Rust's runtime opens there;
/// a command that writes nothing there succeeds; errors writing it name it.
#[cfg(target_os = "linux")]
#[test]
fn a_closed_standard_output_is_an_error() {
    let bin = env!("CARGO_BIN_EXE_postag");
    let run = |script: &str| {
        std::process::Command::new("sh")
            .args(["-c", script, "sh", bin])
            .current_dir(repo())
            .output()
            .unwrap()
    };
    let closed = run(r#"echo "The dog barks ." | "$1" tag >&-"#);
    let stderr = String::from_utf8_lossy(&closed.stderr);
    assert!(!closed.status.success(), "exit 0 with stdout closed");
    assert!(stderr.contains("standard output is closed"), "{stderr}");
    let open = run(r#"echo "The dog barks ." | "$1" tag"#);
    assert!(open.status.success());
    assert_eq!(
        String::from_utf8_lossy(&open.stdout).trim(),
        "The/DET dog/NOUN barks/VERB ./PUNCT"
    );
    // A command that writes nothing there succeeds: its output goes to its file.
    let dir = workdir("closed-stdout");
    let out = dir.join("tags.txt");
    let script = format!(
        r#"echo "The dog barks ." | "$1" tag --output '{}' >&-"#,
        out.display()
    );
    let to_file = run(&script);
    assert!(
        to_file.status.success(),
        "{}",
        String::from_utf8_lossy(&to_file.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "The/DET dog/NOUN barks/VERB ./PUNCT\n"
    );
    // A full device: the error names the standard output, as `-o` names its file.
    let full = run(r#"echo "The dog barks ." | "$1" tag > /dev/full"#);
    let stderr = String::from_utf8_lossy(&full.stderr);
    assert!(!full.status.success());
    assert!(
        stderr.contains("cannot write standard output: No space left"),
        "{stderr}"
    );
    // A command that fails before writing names its own problem.
    let missing = run(r#""$1" tag --model /nonexistent.postag >&- </dev/null"#);
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("nonexistent"), "{stderr}");
}

/// When the system refuses another thread (here the user's process limit), the thread
/// that asked tags that share itself: the same output as with threads, where the
/// refusal was a panic. Needs root, to run the command as `nobody` under a limit.
#[cfg(target_os = "linux")]
#[test]
fn a_thread_the_system_refuses_leaves_its_share_to_the_caller() {
    if !std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout == b"0\n")
    {
        postag_testutil::skip("not root: cannot run the command as nobody under a process limit");
        return;
    }
    let dir = workdir("thread-limit");
    let sentence = "1\tdog\t_\t_\t_\t_\t_\t_\t_\t_\n2\tbarks\t_\t_\t_\t_\t_\t_\t_\t_\n\n";
    let input = dir.join("many.conllu");
    std::fs::write(&input, sentence.repeat(60_000)).unwrap();
    let args = ["tag", "--format", "conllu", "--threads", "200", "-i"];
    let alone = ok(&dir, &[&args[..], &[input.to_str().unwrap()]].concat());
    // At most 20 processes (threads) of the user `nobody`: most of the 200 are refused.
    let limited = std::process::Command::new("setpriv")
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
        .args(["prlimit", "--nproc=20", "--", env!("CARGO_BIN_EXE_postag")])
        .args(args)
        .arg(&input)
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        limited.status.success(),
        "{}",
        String::from_utf8_lossy(&limited.stderr)
    );
    assert_eq!(String::from_utf8(limited.stdout).unwrap(), alone);
}

/// `POSTAG_SIMD` naming no level warns, naming the level the kernels run at; a level
/// this processor runs does not, nor an empty value (as if unset: the fastest level).
#[test]
fn an_unknown_simd_level_is_warned_about() {
    let dir = workdir("simd-warning");
    let run = |level: &str| {
        let mut child = postag(&dir)
            .arg("tag")
            .env("POSTAG_SIMD", level)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"a b\n").unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        assert_eq!(
            String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .count(),
            2
        );
        String::from_utf8(out.stderr).unwrap()
    };
    let best = postag_core::arch::best().name();
    assert_eq!(
        run("bogus"),
        format!(
            "warning: POSTAG_SIMD=\"bogus\": not a level (scalar, sse2, avx2, neon, avx512); \
             the kernels run at {best}\n"
        )
    );
    assert_eq!(run("scalar"), "");
    assert_eq!(run(best), "");
    assert_eq!(run(""), "");
    assert_eq!(run(" "), "");
    let _ = std::fs::remove_dir_all(&dir);
}
