//! `tag --format raw` and `eval --raw` with a small segmenter learned in the test.

mod common;

use std::path::{Path, PathBuf};

use postag_core::segment::build::with_segmenter;
use postag_core::tensor::Storage;
use postag_testutil::repo;
use postag_trainer::cmd::segmenter::learn;
use postag_trainer::nn::segmenter::SegOpts;
use postag_trainer::{conllu, rawtext, score};

const TRAIN: &str = "# newpar\n# text = I can't go.\n1\tI\tI\tPRON\t_\t_\t_\t_\t_\t_\n2-3\tcan't\t_\t_\t_\t_\t_\t_\t_\t_\n2\tca\tcan\tAUX\t_\t_\t_\t_\t_\t_\n3\tn't\tnot\tPART\t_\t_\t_\t_\t_\t_\n4\tgo\tgo\tVERB\t_\t_\t_\t_\t_\tSpaceAfter=No\n5\t.\t.\tPUNCT\t_\t_\t_\t_\t_\t_\n\n# text = Hello, world!\n1\tHello\thello\tINTJ\t_\t_\t_\t_\t_\tSpaceAfter=No\n2\t,\t,\tPUNCT\t_\t_\t_\t_\t_\t_\n3\tworld\tworld\tNOUN\t_\t_\t_\t_\t_\tSpaceAfter=No\n4\t!\t!\tPUNCT\t_\t_\t_\t_\t_\t_\n\n";

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("postag-cli-raw-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The micro English model with a segmenter trained for a few steps on `TRAIN`.
fn model(dir: &Path) -> PathBuf {
    let train = dir.join("train.conllu");
    std::fs::write(&train, TRAIN.repeat(20)).unwrap();
    let opts = SegOpts {
        dim: 8,
        hidden: 8,
        window: 40,
        batch: 4,
        steps: 60,
        ..Default::default()
    };
    let w = learn(&train, &opts, true).unwrap();
    let micro = std::fs::read(repo().join("models/en_ewt_micro.postag")).unwrap();
    let blob = with_segmenter(&micro, Some(&w), Storage::F32).unwrap();
    let path = dir.join("m.postag");
    std::fs::write(&path, blob).unwrap();
    path
}

#[test]
fn raw_output_is_conllu_that_spells_the_input() {
    let dir = scratch("roundtrip");
    let m = model(&dir);
    let m = m.to_str().unwrap();
    let input = "\u{feff}I can't go. Hello, world!\r\nSecond line  here\n\n\nNew paragraph: 5:30pm (really).\n";
    let out = common::ok_with_input(
        &dir,
        &["tag", "--model", m, "--format", "raw"],
        input.as_bytes(),
    );
    let path = dir.join("out.conllu");
    std::fs::write(&path, &out).unwrap();
    // Our word-level reader accepts it; the token-level reader spells the input.
    let words = conllu::parse(&out, &path).unwrap();
    assert!(words.iter().all(|s| s.words.iter().all(|w| w.upos != "_")));
    let sentences = rawtext::parse(&out, &path).unwrap();
    assert_eq!(sentences.iter().filter(|s| s.newpar).count(), 2);
    let spelled: String = sentences
        .iter()
        .flat_map(|s| &s.tokens)
        .map(|t| t.form.as_str())
        .collect();
    let want: String = input
        .trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    assert_eq!(spelled, want);
    for s in &sentences {
        let text = s.text.clone().unwrap();
        assert_eq!(
            text,
            s.text(),
            "# text agrees with the forms and SpaceAfter"
        );
    }
    // The eval rebuilds the same text from it (no character mismatch) and scores it.
    let report = common::ok(
        &dir,
        &[
            "eval",
            "--raw",
            "--json",
            "--model",
            m,
            "--data",
            path.to_str().unwrap(),
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert!(v["scores"]["Tokens"]["f1"].as_f64().unwrap() > 0.0);
}

#[test]
fn raw_input_needs_a_segmenter_and_valid_utf8() {
    let dir = scratch("errors");
    let nano = repo().join("models/en_ewt_nano.postag");
    let e = common::fails(
        &dir,
        &["tag", "--model", nano.to_str().unwrap(), "--format", "raw"],
    );
    assert!(e.contains("has no segmenter"), "{e}");
    assert!(e.contains("`postag segmenter` adds one"), "{e}");
    // Said before any input is read: standard input left open gets the answer at once.
    let mut child = common::postag(&dir)
        .args(["tag", "--model", nano.to_str().unwrap(), "--format", "raw"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let open_stdin = child.stdin.take();
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(
            started.elapsed().as_secs() < 60,
            "tag --format raw waited for its input before refusing the model"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    drop(open_stdin);
    let out = child.wait_with_output().unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && e.contains("has no segmenter"),
        "{e}"
    );
    let m = model(&dir);
    let bad = dir.join("bad.txt");
    std::fs::write(&bad, b"ok\nstill ok\n\xff\n").unwrap();
    let out = common::run(
        &dir,
        &[
            "tag",
            "--model",
            m.to_str().unwrap(),
            "--format",
            "raw",
            "-i",
            bad.to_str().unwrap(),
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.txt:3: invalid UTF-8"), "{err}");
    // A sentence longer than one call takes is named by the input's line, in a warning.
    let long = dir.join("long.txt");
    std::fs::write(&long, format!("Hi .\r\n\n{}\n", "a ".repeat(5000))).unwrap();
    let args = [
        "tag",
        "--model",
        m.to_str().unwrap(),
        "--format",
        "raw",
        "--presegmented",
    ];
    let out = common::run(&dir, &[&args[..], &["-i", long.to_str().unwrap()]].concat());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("long.txt:3: 5000 tokens"), "{err}");
    // `eval --raw` on gold data `text` written to `name`: its error.
    let eval_fails = |name: &str, text: &str| {
        let gold = dir.join(name);
        std::fs::write(&gold, text).unwrap();
        let (model, data) = (m.to_str().unwrap(), gold.to_str().unwrap());
        common::fails(&dir, &["eval", "--raw", "--model", model, "--data", data])
    };
    // A gold sentence whose `# text` does not spell its tokens: the error names the file
    // and the line of that `# text` (after the sentence's first comment), and where they
    // differ.
    let broken = TRAIN.replace(
        "# text = Hello, world!",
        "# sent_id = 2\n# text = Bye, world!",
    );
    let e = eval_fails("gold.conllu", &broken);
    assert!(
        e.contains(
            "gold.conllu:11: the sentence's `# text` does not spell its tokens (whitespace \
             aside, from character 0: text \"Bye,world!\", tokens \"Hello,world!\")"
        ),
        "{e}"
    );
    // Sentences without `# text`: their forms and SpaceAfter give the text, with a
    // warning that counts them and names the first one's line.
    let untexted = dir.join("untexted.conllu");
    std::fs::write(&untexted, TRAIN.replace("# text = Hello, world!\n", "")).unwrap();
    let (model, data) = (m.to_str().unwrap(), untexted.to_str().unwrap());
    let out = common::run(&dir, &["eval", "--raw", "--model", model, "--data", data]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("untexted.conllu: 1 of 2 sentences have no `# text` (the first at line 10)"),
        "{err}"
    );
    // Nothing to score is an error, as for `eval`.
    let e = eval_fails("empty.conllu", "");
    assert!(e.contains("empty.conllu has no words to evaluate"), "{e}");
    // An output format for raw input without raw input; a directory as input.
    for (args, want) in [
        (
            &["tag", "--raw-output", "jsonl"][..],
            "--raw-output needs --format raw",
        ),
        (
            &["tag", "--presegmented"],
            "--presegmented needs --format raw",
        ),
        (
            &["tag", "--scores", "--format", "raw"],
            "--scores needs --format jsonl",
        ),
    ] {
        // A wrong command line: status 2, as the parser's own errors.
        let out = common::run(&dir, args);
        let e = String::from_utf8_lossy(&out.stderr);
        assert!(e.contains(want), "{e}");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {e}");
    }
    let e = common::fails(&dir, &["tag", "--input", dir.to_str().unwrap()]);
    assert!(e.contains("it is a directory"), "{e}");
    // A treebank none of whose `# text` spells its tokens teaches no boundary: an
    // error, not a segmenter that never ends a token.
    let bad = TRAIN
        .replace("# text = I can't go.", "# text = You cannot go.")
        .replace("# text = Hello, world!", "# text = Bye, world!");
    std::fs::write(dir.join("mismatched.conllu"), bad).unwrap();
    let e = common::fails(
        &dir,
        &[
            "segmenter",
            "--train",
            "mismatched.conllu",
            "-o",
            "s.postag",
            "--steps",
            "2",
        ],
    );
    assert!(
        e.contains("mismatched.conllu: no token boundary to learn from"),
        "{e}"
    );
    assert!(!dir.join("s.postag").exists());
}

/// The raw-text scores are the CoNLL 2018 metrics, which score UPOS: a model that tags
/// XPOS is refused by `eval --raw` and by `segmenter --dev` (before its training, writing
/// nothing), rather than scored as if its tags were UPOS.
#[test]
fn raw_text_scores_need_a_upos_model() {
    let dir = scratch("xpos");
    // XPOS the UPOS with a prefix: tags of another column, none of them a UPOS tag.
    let xpos: String = TRAIN
        .lines()
        .map(|l| match l.split('\t').collect::<Vec<_>>() {
            f if f.len() == 10 && f[3] != "_" => {
                let x = format!("X{}", f[3]);
                [&f[..4], &[x.as_str()], &f[5..]].concat().join("\t")
            }
            _ => l.to_string(),
        })
        .map(|l| l + "\n")
        .collect();
    std::fs::write(dir.join("train.conllu"), xpos.repeat(10)).unwrap();
    std::fs::write(dir.join("gold.conllu"), &xpos).unwrap();
    common::ok(
        &dir,
        &[
            "train",
            "--train",
            "train.conllu",
            "--column",
            "xpos",
            "--preset",
            "nano",
            "--epochs",
            "1",
            "--no-segmenter",
            "--threads",
            "1",
            "-o",
            "x.postag",
        ],
    );
    let with_dev = [
        "segmenter",
        "--model",
        "x.postag",
        "--train",
        "train.conllu",
        "--dev",
        "gold.conllu",
        "--steps",
        "3",
        "-o",
        "xs.postag",
    ];
    let e = common::fails(&dir, &with_dev);
    let want = "the raw-text scores are UPOS's (the CoNLL 2018 metrics); x.postag tags XPOS";
    assert!(e.contains(want), "{e}");
    assert!(!dir.join("xs.postag").exists());
    // Without --dev it learns the segmenter; `eval --raw` then refuses the model.
    let without_dev: Vec<&str> = (with_dev.iter().copied())
        .filter(|a| !["--dev", "gold.conllu"].contains(a))
        .collect();
    common::ok(&dir, &without_dev);
    // --threads is for the dev set's tagging: without --dev, a wrong flag.
    let threads = common::run(&dir, &[&without_dev[..], &["--threads", "2"]].concat());
    assert_eq!(threads.status.code(), Some(2));
    let e = common::fails(
        &dir,
        &[
            "eval",
            "--raw",
            "--model",
            "xs.postag",
            "--data",
            "gold.conllu",
        ],
    );
    let want = "the raw-text scores are UPOS's (the CoNLL 2018 metrics); xs.postag tags XPOS";
    assert!(e.contains(want), "{e}");
}

#[test]
fn gold_scored_against_itself_is_perfect() {
    let dir = scratch("self");
    let path = dir.join("g.conllu");
    std::fs::write(&path, TRAIN).unwrap();
    let s = rawtext::read(&path).unwrap();
    let r = score::evaluate(&score::Doc::new(&s), &score::Doc::new(&s)).unwrap();
    assert_eq!(
        (r.tokens.f1, r.sentences.f1, r.words.f1, r.upos.f1),
        (1.0, 1.0, 1.0, 1.0)
    );
}

#[test]
fn bench_measures_raw_text_when_the_model_segments() {
    let dir = scratch("bench");
    let m = model(&dir);
    let m = m.to_str().unwrap();
    // `inspect` tells the f32 segmenter of this int8 tagger, and the shipped one's int8.
    let info = |model: &str| -> serde_json::Value {
        serde_json::from_str(&common::ok(&dir, &["inspect", "--json", "--model", model])).unwrap()
    };
    assert_eq!(
        (
            info(m)["weights"].as_str(),
            info(m)["segmenter"]["weights"].as_str()
        ),
        (Some("int8"), Some("f32"))
    );
    let shipped = repo().join("models/en_ewt.postag");
    assert_eq!(
        info(shipped.to_str().unwrap())["segmenter"]["weights"],
        "int8"
    );
    let conllu = TRAIN.repeat(3);
    let data = dir.join("data.conllu");
    std::fs::write(&data, &conllu).unwrap();
    let data = data.to_str().unwrap();
    let out = common::ok(
        &dir,
        &["bench", "--model", m, "--data", data, "--seconds", "0.1"],
    );
    // The raw text `eval --raw` rebuilds: the `# text` lines of one paragraph joined by
    // spaces (only the first sentence opens a paragraph), then a newline.
    let texts: Vec<&str> = conllu
        .lines()
        .filter_map(|l| l.strip_prefix("# text = "))
        .collect();
    let mut want = String::new();
    for (i, t) in texts.iter().enumerate() {
        if i > 0 {
            want.push_str(if i % 2 == 0 { "\n\n" } else { " " });
        }
        want.push_str(t);
    }
    want.push('\n');
    assert!(
        out.contains(&format!("raw text: {} bytes\n", want.len())),
        "{out}"
    );
    // The bulk figure names the threads that ran: 6 sentences keep one busy.
    let out = common::ok(
        &dir,
        &[
            "bench",
            "--model",
            m,
            "--data",
            data,
            "--seconds",
            "0.1",
            "--threads",
            "4",
        ],
    );
    assert!(
        out.contains("up to 32 sentences per call, 1 thread(s) (of 4 asked: too few sentences and tokens for more)"),
        "{out}"
    );
    assert!(!out.contains("4 thread(s)"), "{out}");
    // The kernel level it ran at, as detected, or as POSTAG_SIMD forces it.
    let bench_with = |simd: Option<&str>| {
        let mut command = common::postag(&dir);
        match simd {
            Some(level) => command.env("POSTAG_SIMD", level),
            None => command.env_remove("POSTAG_SIMD"),
        };
        let args = ["bench", "--model", m, "--data", data, "--seconds", "0.1"];
        common::succeeded(&args, command.args(args).output().unwrap())
    };
    let level = postag_core::arch::best().name();
    let detected = format!("kernels: {level} (the fastest level this processor runs; ");
    let out = bench_with(None);
    assert!(out.contains(&detected), "{out}");
    let want = if level == "scalar" {
        detected
    } else {
        "kernels: scalar (chosen by POSTAG_SIMD)\n".to_string()
    };
    let out = bench_with(Some("scalar"));
    assert!(out.contains(&want), "{out}");
    for label in [
        "segmenting, 1 thread: ",
        "segmenting and tagging, 1 thread: ",
    ] {
        let line = out.lines().find(|l| l.starts_with(label)).expect(label);
        let (mbs, how) = line[label.len()..]
            .split_once(" MB/s (median of ")
            .expect(line);
        let mbs: f64 = mbs.parse().unwrap();
        assert!(mbs.is_finite() && mbs > 0.0, "{line}");
        let timings: usize = how.split(' ').next().unwrap().parse().unwrap();
        assert!(timings >= 5, "{line}");
        assert!(
            how.ends_with(" passes)") || how.ends_with(" passes each)"),
            "{line}"
        );
    }
    // Without a segmenter, or without `# text`, the bench says why it measured no raw text.
    let nano = repo().join("models/en_ewt_nano.postag");
    let nano = nano.to_str().unwrap();
    let out = common::ok(
        &dir,
        &["bench", "--model", nano, "--data", data, "--seconds", "0.1"],
    );
    assert!(
        out.ends_with("raw text: not measured, the model has no segmenter\n"),
        "{out}"
    );
    let bare: String = conllu
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    let bare_path = dir.join("bare.conllu");
    std::fs::write(&bare_path, bare).unwrap();
    let bare_path = bare_path.to_str().unwrap();
    let out = common::ok(
        &dir,
        &[
            "bench",
            "--model",
            m,
            "--data",
            bare_path,
            "--seconds",
            "0.1",
        ],
    );
    assert!(
        out.ends_with("raw text: not measured, the data has no `# text` lines\n"),
        "{out}"
    );
}

/// `tag --format raw` works through the text a few sentences at a time: every format's
/// output is the whole text's, byte for byte, whatever the part size (one sentence per
/// part, a few, all), with leading, trailing and odd whitespace, CR LF and lone CR line
/// breaks, and sentence numbers and offsets counted in the whole text.
#[test]
fn raw_text_written_part_by_part_is_the_whole_text_written_at_once() {
    use postag_core::Model;
    use postag_trainer::pipeline::{self, RawFormat};
    let blob = postag_trainer::cmd::DEFAULT_MODEL;
    let model = Model::from_bytes(blob).unwrap();
    let seg = pipeline::segmenter(blob, "default").unwrap();
    let texts = [
        "  Hello there.  I can't go!\n\nIt's 5:30pm (really).\nNew line, same paragraph.\n \n\n\tLast one\n\n",
        "One.\r\n\r\nTwo words.\r\nThree?\r\n\r\n\r\nFour",
        "A\r\rB b.\rC\r\r",
        "Just one paragraph without a break",
        " \n\t\n",
        "",
    ];
    let formats = [
        RawFormat::Conllu { xpos: false },
        RawFormat::Text,
        RawFormat::Jsonl { base: 3 },
    ];
    for text in texts {
        for presegmented in [false, true] {
            let mut whole = pipeline::segment(&seg, "m", text, presegmented).unwrap();
            pipeline::tag(&model, &mut whole, 1).unwrap();
            for format in formats {
                let expected = match format {
                    RawFormat::Conllu { xpos } => pipeline::write_conllu(text, &whole, xpos),
                    RawFormat::Text => pipeline::write_text(&whole),
                    RawFormat::Jsonl { base } => pipeline::write_jsonl(text, base, &whole),
                };
                // One thread, or the segmenter on a thread of its own.
                for (part, threads) in [1, 20, usize::MAX]
                    .into_iter()
                    .flat_map(|p| [(p, 1), (p, 2)])
                {
                    let mut out = Vec::new();
                    let (f, pre) = (format, presegmented);
                    pipeline::tag_raw(
                        &model, &seg, "m", "t", text, pre, f, threads, part, &mut out,
                    )
                    .unwrap();
                    assert_eq!(
                        String::from_utf8(out).unwrap(),
                        expected,
                        "{text:?} {format:?} presegmented {presegmented} part {part} threads {threads}"
                    );
                }
            }
        }
    }
}

/// Text that runs on without whitespace past the segmenter's window is cut into tokens
/// of at most the window: the command says so.
#[test]
fn tokens_cut_at_the_window_are_reported() {
    let dir = scratch("window-cut");
    // 3000 characters after "Hello ": the first cut token is 2047 long (the window
    // after "Hello" starts at the space).
    for run in [3000, 3 * postag_core::segment::WINDOW] {
        let text = format!("Hello {} end.\n", "a".repeat(run));
        let out = common::run_with_input(&dir, &["tag", "--format", "raw"], text.as_bytes());
        assert!(out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("ended at the end of the segmenter's window of 2048 characters"),
            "{run}: {err}"
        );
    }
    let out = common::run_with_input(&dir, &["tag", "--format", "raw"], b"Hello there.\n");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A blob whose segmenter section is inconsistent (its multiword offsets past the end
/// of their forms, the checksum made right again) still tags tokens; every command that
/// reads its segmenter fails, saying the fault is in the segmenter.
#[test]
fn a_broken_segmenter_section_is_named_as_such() {
    use postag_core::format::{Role, SegPart};
    use postag_testutil::{tensor_at, with_crc};
    let dir = postag_testutil::workdir("broken-segmenter");
    let mut blob = std::fs::read(repo().join("models/en_ewt_micro.postag")).unwrap();
    let (at, entry) = tensor_at(&blob, Role::Segmenter(SegPart::MultiwordFormOffsets));
    // The last offset is the forms' total length.
    let last = at + 4 * (entry.cols as usize - 1);
    blob[last..last + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(dir.join("m.postag"), with_crc(blob)).unwrap();
    std::fs::write(dir.join("in.txt"), "I can go .\n").unwrap();
    std::fs::write(dir.join("gold.conllu"), TRAIN).unwrap();
    let tagged = common::ok(&dir, &["tag", "--model", "m.postag", "-i", "in.txt"]);
    assert_eq!(tagged.split_whitespace().count(), 4, "{tagged}");
    let commands: [&[&str]; 4] = [
        &[
            "tag", "--model", "m.postag", "--format", "raw", "-i", "in.txt",
        ],
        &["inspect", "--model", "m.postag"],
        &[
            "eval",
            "--raw",
            "--model",
            "m.postag",
            "--data",
            "gold.conllu",
        ],
        &[
            "bench",
            "--model",
            "m.postag",
            "--data",
            "gold.conllu",
            "--seconds",
            "0.1",
        ],
    ];
    for args in commands {
        let err = common::fails(&dir, args);
        assert!(
            err.contains("m.postag: its segmenter: model blob describes an inconsistent model"),
            "{args:?}: {err}"
        );
    }
    // A finite int8 scale beyond 2^48 for the output layer (its scores could overflow
    // f32): refused by every command that reads the segmenter, naming it.
    let mut blob = std::fs::read(repo().join("models/en_ewt_micro.postag")).unwrap();
    let (at, entry) = tensor_at(&blob, Role::Segmenter(SegPart::OutputWeights));
    let scales = at + (entry.rows * entry.cols) as usize;
    for r in 0..entry.rows as usize {
        blob[scales + 4 * r..scales + 4 * r + 4].copy_from_slice(&3e38f32.to_le_bytes());
    }
    std::fs::write(dir.join("m.postag"), with_crc(blob)).unwrap();
    for args in commands {
        let err = common::fails(&dir, args);
        assert!(
            err.contains(
                "m.postag: its segmenter: model blob is invalid: the int8 scale of segmenter OutputWeights row 0 is 3e38, beyond 2^48"
            ),
            "{args:?}: {err}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
