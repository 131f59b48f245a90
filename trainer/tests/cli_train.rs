//! End-to-end runs of the real `postag` binary: training, its reports and switches.

mod common;

use std::path::Path;

use common::{fails, import_torch, ok, postag, run, succeeded, torch_fixture_files};

use postag_core::Model;
use postag_testutil::{conllu_head as slice, shared, torch_fixtures, workdir};
use serde_json::Value;

/// A scratch directory with the first sentences of EWT as `train.conllu` and `dev.conllu`.
fn ewt_slices(shared: &Path, name: &str, train: usize, dev: usize) -> std::path::PathBuf {
    let ud = shared.join("data/ud/en_ewt");
    let dir = workdir(name);
    std::fs::write(
        dir.join("train.conllu"),
        slice(&ud.join("en_ewt-ud-train.conllu"), train),
    )
    .unwrap();
    std::fs::write(
        dir.join("dev.conllu"),
        slice(&ud.join("en_ewt-ud-dev.conllu"), dev),
    )
    .unwrap();
    dir
}

#[test]
fn train_eval_tag_quantize_inspect_on_an_ewt_slice() {
    let Some(shared) = shared() else { return };
    let dir = ewt_slices(&shared, "ewt", 400, 120);
    ok(
        &dir,
        &[
            "train",
            "--train",
            "train.conllu",
            "--dev",
            "dev.conllu",
            "-o",
            "m.postag",
            "--preset",
            "tiny",
            "--epochs",
            "6",
            "--quiet",
            "--no-segmenter",
        ],
    );
    for f in [
        "m.postag",
        "m.postag.report.json",
        "m.postag.loss.svg",
        "m.postag.accuracy.svg",
        "m.postag.confusion.svg",
    ] {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    assert!(
        !dir.join("m.postag.ckpt").exists(),
        "checkpoint left behind"
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("m.postag.report.json")).unwrap())
            .unwrap();
    assert_eq!(report["epochs"].as_array().unwrap().len(), 6);
    // The run's rate is its epochs' (the dev evaluations between them left out).
    let epoch_seconds: f64 = (0..6)
        .map(|e| report["epochs"][e]["seconds"].as_f64().unwrap())
        .sum();
    let tokens = report["train_tokens"].as_f64().unwrap();
    let rate = report["tokens_per_second"].as_f64().unwrap();
    assert!(
        (rate - 6.0 * tokens / epoch_seconds).abs() <= 1e-9 * rate,
        "{rate} tokens/s against {} over the epochs",
        6.0 * tokens / epoch_seconds
    );
    assert!(report["training_seconds"].as_f64().unwrap() >= epoch_seconds);
    // Every core by default; no segmenter with --no-segmenter.
    let cores = std::thread::available_parallelism().unwrap().get();
    assert_eq!(report["threads"].as_u64(), Some(cores as u64));
    assert_eq!(report["segmenter"], Value::Null);
    let last_loss = report["epochs"][5]["train_loss"].as_f64().unwrap();
    assert!(
        last_loss < report["epochs"][0]["train_loss"].as_f64().unwrap(),
        "loss did not fall"
    );

    // eval --json agrees with the report and with a hand count over `tag --format conllu`.
    let ev: Value = serde_json::from_str(&ok(
        &dir,
        &[
            "eval",
            "--model",
            "m.postag",
            "--data",
            "dev.conllu",
            "--json",
        ],
    ))
    .unwrap();
    let (words, correct) = (
        ev["words"].as_u64().unwrap(),
        ev["correct"].as_u64().unwrap(),
    );
    assert!(words > 1000);
    assert_eq!(
        ev["accuracy"].as_f64().unwrap(),
        correct as f64 / words as f64
    );
    assert!(
        ev["accuracy"].as_f64().unwrap() > 0.7,
        "a trained tiny model should beat 70%: {}",
        ev["accuracy"]
    );
    assert_eq!(
        report["dev_evaluation"]["correct"].as_u64().unwrap(),
        correct
    );
    let tagged = ok(
        &dir,
        &[
            "tag",
            "--model",
            "m.postag",
            "--format",
            "conllu",
            "--input",
            "dev.conllu",
        ],
    );
    let gold = std::fs::read_to_string(dir.join("dev.conllu")).unwrap();
    let (mut n, mut same) = (0, 0);
    for (g, t) in gold.lines().zip(tagged.lines()) {
        let (gf, tf): (Vec<&str>, Vec<&str>) = (g.split('\t').collect(), t.split('\t').collect());
        assert_eq!(gf.len(), tf.len());
        if gf.len() == 10 && gf[0].bytes().all(|b| b.is_ascii_digit()) {
            n += 1;
            same += (gf[3] == tf[3]) as u64;
            for k in (0..10).filter(|&k| k != 3) {
                assert_eq!(gf[k], tf[k], "column {k} changed");
            }
        } else {
            assert_eq!(g, t, "non-word lines are copied");
        }
    }
    assert_eq!((n, same), (words, correct));

    // text and jsonl agree with each other.
    std::fs::write(
        dir.join("in.txt"),
        "The dog ate the apple .\n\nI like green tea\n",
    )
    .unwrap();
    let text = ok(&dir, &["tag", "--model", "m.postag", "--input", "in.txt"]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[1], "");
    assert!(lines[0].starts_with("The/"), "{}", lines[0]);
    std::fs::write(
        dir.join("in.jsonl"),
        "{\"tokens\": [\"I\", \"like\", \"green\", \"tea\"], \"id\": 7}\n",
    )
    .unwrap();
    let js: Value = serde_json::from_str(&ok(
        &dir,
        &[
            "tag", "--model", "m.postag", "--format", "jsonl", "--scores", "--input", "in.jsonl",
        ],
    ))
    .unwrap();
    assert_eq!(js["id"], 7, "other keys are kept");
    let text_tags: Vec<&str> = lines[2]
        .split(' ')
        .map(|w| w.rsplit_once('/').unwrap().1)
        .collect();
    let js_tags: Vec<&str> = js["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(text_tags, js_tags);
    let scores = js["scores"].as_array().unwrap();
    let t = report["tags"].as_array().unwrap().len();
    assert_eq!(scores.len(), 4);
    for row in scores {
        let p: f64 = row
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap().exp())
            .sum();
        assert_eq!(row.as_array().unwrap().len(), t);
        assert!((p - 1.0).abs() < 1e-4, "probabilities sum to {p}");
    }

    // Continuing from a model keeps its architecture and records it.
    ok(
        &dir,
        &[
            "train",
            "--train",
            "train.conllu",
            "--init",
            "m.postag",
            "-o",
            "m2.postag",
            "--epochs",
            "1",
            "--quiet",
            "--no-segmenter",
        ],
    );
    let report2: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("m2.postag.report.json")).unwrap())
            .unwrap();
    assert_eq!(report2["settings"]["hidden"], report["settings"]["hidden"]);
    assert_eq!(report2["settings"]["column"], "upos");
    assert!(
        !dir.join("m2.postag.accuracy.svg").exists(),
        "no dev: no accuracy plot"
    );

    // quantize and inspect.
    ok(
        &dir,
        &["quantize", "--model", "m.postag", "-o", "m8.postag"],
    );
    let f32_size = std::fs::metadata(dir.join("m.postag")).unwrap().len();
    let i8_size = std::fs::metadata(dir.join("m8.postag")).unwrap().len();
    assert!(i8_size * 2 < f32_size, "int8 {i8_size} vs f32 {f32_size}");
    // An int8 model has nothing to quantize: the same bytes, and it says so.
    let said = common::reported(
        &dir,
        &["quantize", "--model", "m8.postag", "-o", "m88.postag"],
    );
    assert!(said.contains("already has int8 weights"), "{said}");
    assert_eq!(
        std::fs::read(dir.join("m88.postag")).unwrap(),
        std::fs::read(dir.join("m8.postag")).unwrap()
    );
    let info: Value = serde_json::from_str(&ok(
        &dir,
        &[
            "inspect",
            "--model",
            "m8.postag",
            "--json",
            "--tokens",
            "32",
        ],
    ))
    .unwrap();
    assert_eq!(info["weights"], "int8");
    assert_eq!(info["bytes"].as_u64().unwrap(), i8_size);
    let blob = std::fs::read(dir.join("m8.postag")).unwrap();
    let model = Model::from_bytes(&blob).unwrap();
    assert_eq!(
        info["scratch_bytes"].as_u64().unwrap() as usize,
        model.scratch_bytes(32).unwrap()
    );
    assert_eq!(info["tags"].as_array().unwrap().len(), model.num_tags());
    let human = ok(&dir, &["inspect", "--model", "m8.postag"]);
    assert!(
        human.contains("scratch") && human.contains("word LSTM"),
        "{human}"
    );
    // More tokens than one call tags is a wrong flag (status 2), as out-of-range values
    // are; 4096 is the most. A negative count is named as such (every count flag parses
    // as these do).
    let wrong: [(&[&str], &str); 3] = [
        (
            &["inspect", "--model", "m8.postag", "--tokens", "4097"],
            "4097 is not in 0..=4096",
        ),
        (
            &["inspect", "--model", "m8.postag", "--tokens", "-1"],
            "-1 is negative: expected a whole number in 0..=4096",
        ),
        (
            &["train", "--train", "x.conllu", "--epochs", "-1"],
            "-1 is negative: expected a whole number of 1 or more",
        ),
    ];
    for (args, want) in wrong {
        let out = common::run(&dir, args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
    ok(
        &dir,
        &["inspect", "--model", "m8.postag", "--tokens", "4096"],
    );
    // The text gives the core's cached size, as the JSON does: 0 for 0 tokens too.
    for tokens in [0, 32] {
        let n = tokens.to_string();
        let human = ok(&dir, &["inspect", "--model", "m8.postag", "--tokens", &n]);
        let cached = model.cached_scratch_bytes(tokens).unwrap();
        let want = format!(" {cached} with the char projection cache and int8 weight copies");
        assert!(human.contains(&want), "{want:?} in {human}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// An interrupted run resumed from its checkpoint ends with the same model, byte for
/// byte, as an uninterrupted one; and the same seed always gives the same model.
#[test]
fn resumed_and_repeated_runs_give_identical_models() {
    let Some(shared) = shared() else { return };
    let dir = ewt_slices(&shared, "resume", 300, 60);
    let args = |out: &'static str| {
        vec![
            "train",
            "--train",
            "train.conllu",
            "--dev",
            "dev.conllu",
            "-o",
            out,
            "--preset",
            "tiny",
            "--epochs",
            "12",
            "--threads",
            "2",
            "--quiet",
            "--no-segmenter",
        ]
    };
    ok(&dir, &args("a.postag"));
    ok(&dir, &args("b.postag"));
    let a = std::fs::read(dir.join("a.postag")).unwrap();
    assert_eq!(
        a,
        std::fs::read(dir.join("b.postag")).unwrap(),
        "same seed, different model"
    );

    // Kill a run once its checkpoint holds at least one epoch, then resume it.
    let ckpt = dir.join("c.postag.ckpt");
    let mut child = postag(&dir).args(args("c.postag")).spawn().unwrap();
    let start = std::time::Instant::now();
    while !ckpt.exists() {
        assert!(start.elapsed().as_secs() < 120, "no checkpoint appeared");
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let killed = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let _ = child.wait();
    if killed {
        assert!(
            !dir.join("c.postag").exists(),
            "an interrupted run must not leave a model behind"
        );
        assert!(ckpt.exists());
    }
    println!("killed mid-run: {killed}");
    if killed {
        // A checkpoint with a changed byte is refused (not resumed into another model),
        // naming the file, and nothing is written.
        let mut bytes = std::fs::read(&ckpt).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x10;
        std::fs::write(dir.join("e.postag.ckpt"), &bytes).unwrap();
        let mut damaged = args("e.postag");
        damaged.push("--resume");
        let err = fails(&dir, &damaged);
        assert!(
            err.contains("e.postag.ckpt is damaged (its CRC-32 is ")
                && err.contains("remove it, or train without --resume to start over"),
            "{err}"
        );
        assert!(!dir.join("e.postag").exists());
        // One resumed on another thread count is refused: it would give other weights.
        std::fs::copy(&ckpt, dir.join("f.postag.ckpt")).unwrap();
        let mut one_thread: Vec<&str> = args("f.postag")
            .into_iter()
            .map(|a| if a == "2" { "1" } else { a })
            .collect();
        one_thread.push("--resume");
        let err = fails(&dir, &one_thread);
        assert!(
            err.contains("f.postag.ckpt was written by a run on 2 threads, and the weights depend on the thread count; resume with --threads 2"),
            "{err}"
        );
        assert!(!dir.join("f.postag").exists());
    }
    let mut resume = args("c.postag");
    resume.push("--resume");
    ok(&dir, &resume);
    assert_eq!(
        a,
        std::fs::read(dir.join("c.postag")).unwrap(),
        "resumed run differs (killed mid-run: {killed})"
    );
    assert!(!ckpt.exists(), "checkpoint left after a finished run");
    // A checkpoint from other settings is refused, not silently mixed in.
    std::fs::copy(dir.join("a.postag"), dir.join("d.postag.ckpt")).unwrap();
    let mut other = args("d.postag");
    other.push("--resume");
    let err = fails(&dir, &other);
    assert!(err.contains("not a postag training checkpoint"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn weights(dir: &Path, model: &str) -> String {
    let info: Value =
        serde_json::from_str(&ok(dir, &["inspect", "--model", model, "--json"])).unwrap();
    info["weights"].as_str().unwrap().to_string()
}

/// A quick `train`: the tiny preset, one epoch, quiet, no segmenter.
const QUICK: &[&str] = &[
    "--preset",
    "tiny",
    "--epochs",
    "1",
    "--quiet",
    "--no-segmenter",
];

/// On/off settings are `--x` / `--no-x` on every command (the later one wins), never
/// `--x true`; `--init` keeps the storage of the model it continues unless told.
#[test]
fn switches_are_flag_pairs_and_init_keeps_the_storage() {
    let Some(shared) = shared() else { return };
    let dir = ewt_slices(&shared, "switches", 60, 20);
    let with = |extra: &[&'static str]| -> Vec<&'static str> {
        [&["train", "--train", "train.conllu"], QUICK, extra].concat()
    };
    ok(&dir, &with(&["-o", "f32.postag"]));
    assert_eq!(
        weights(&dir, "f32.postag"),
        "f32",
        "the tiny preset writes f32"
    );
    ok(&dir, &with(&["-o", "q.postag", "--quantize"]));
    assert_eq!(weights(&dir, "q.postag"), "int8");
    ok(
        &dir,
        &with(&["-o", "n.postag", "--quantize", "--no-quantize"]),
    );
    assert_eq!(weights(&dir, "n.postag"), "f32", "the later flag wins");
    let err = fails(&dir, &with(&["-o", "x.postag", "--quantize", "false"]));
    assert!(err.contains("unexpected argument 'false'"), "{err}");

    // Continuing a model keeps its storage (the preset's would quantize this one).
    let init = [
        "train",
        "--train",
        "train.conllu",
        "--epochs",
        "1",
        "--quiet",
        "--no-segmenter",
        "--init",
    ];
    ok(
        &dir,
        &[&init[..], &["f32.postag", "-o", "more.postag"]].concat(),
    );
    assert_eq!(weights(&dir, "more.postag"), "f32");
    ok(
        &dir,
        &[
            &init[..],
            &["f32.postag", "-o", "more8.postag", "--quantize"],
        ]
        .concat(),
    );
    assert_eq!(weights(&dir, "more8.postag"), "int8");
    ok(
        &dir,
        &[&init[..], &["q.postag", "-o", "again.postag"]].concat(),
    );
    assert_eq!(weights(&dir, "again.postag"), "int8");

    let (st, vocab) = torch_fixture_files(&torch_fixtures()[0]);
    let switches = ["--lowercase", "--no-lowercase", "--quantize"];
    succeeded(&[], import_torch(&dir, &st, &vocab, "i.postag", &switches));
    let info: Value =
        serde_json::from_str(&ok(&dir, &["inspect", "--model", "i.postag", "--json"])).unwrap();
    assert_eq!(info["words"]["normalize"], serde_json::json!([]));
    assert_eq!(info["weights"], "int8");
    let out = import_torch(&dir, &st, &vocab, "j.postag", &["--quantize", "true"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unexpected argument 'true'"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn train_learns_the_segmenter_exactly_as_train_then_segmenter() {
    let Some(shared) = shared() else { return };
    let dir = ewt_slices(&shared, "autoseg", 150, 20);
    let train = |out: &'static str, extra: &[&'static str]| -> Vec<&'static str> {
        let mut a = vec![
            "train",
            "--train",
            "train.conllu",
            "--preset",
            "tiny",
            "--epochs",
            "1",
            "--threads",
            "1",
            "--quiet",
            "-o",
            out,
        ];
        a.extend_from_slice(extra);
        a
    };
    let seg_opts = ["--dim", "8", "--hidden", "8", "--steps", "20"];
    let train_seg_opts = [
        "--segmenter-dim",
        "8",
        "--segmenter-hidden",
        "8",
        "--segmenter-steps",
        "20",
    ];
    let has_segmenter = |name: &str| {
        let blob = std::fs::read(dir.join(name)).unwrap();
        postag_core::segment::Segmenter::from_bytes(&blob)
            .unwrap()
            .is_some()
    };
    // f32 (the tiny preset's storage), then int8 (following --quantize).
    for (quantize, int8) in [(&[][..], &[][..]), (&["--quantize"][..], &["--int8"][..])] {
        ok(
            &dir,
            &[train("auto.postag", &train_seg_opts), quantize.to_vec()].concat(),
        );
        assert!(has_segmenter("auto.postag"));
        let report: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("auto.postag.report.json")).unwrap(),
        )
        .unwrap();
        let seg = &report["segmenter"];
        assert_eq!(report["threads"].as_u64(), Some(1));
        assert_eq!(
            (
                &seg["dim"],
                &seg["hidden"],
                &seg["steps"],
                &seg["bidirectional"]
            ),
            (
                &Value::from(8),
                &Value::from(8),
                &Value::from(20),
                &Value::from(true)
            )
        );
        assert_eq!(seg["int8"].as_bool(), Some(!int8.is_empty()));
        ok(
            &dir,
            &[
                train("plain.postag", &["--no-segmenter"]),
                quantize.to_vec(),
            ]
            .concat(),
        );
        assert!(!has_segmenter("plain.postag"));
        ok(
            &dir,
            &[
                &[
                    "segmenter",
                    "--model",
                    "plain.postag",
                    "--train",
                    "train.conllu",
                ][..],
                &seg_opts,
                int8,
                &["-o", "two_steps.postag"],
            ]
            .concat(),
        );
        assert_eq!(
            std::fs::read(dir.join("auto.postag")).unwrap(),
            std::fs::read(dir.join("two_steps.postag")).unwrap(),
            "train with a segmenter differs from train, then segmenter ({quantize:?})"
        );
    }
    // The data on standard input, which gives its bytes once (each command reads it
    // once): the same model, segmenter included, and the same `eval --raw` scores.
    let bytes = std::fs::read(dir.join("train.conllu")).unwrap();
    let mut args = train("stdin.postag", &train_seg_opts);
    args[2] = "/dev/stdin";
    args.push("--quantize");
    succeeded(&args, common::run_with_input(&dir, &args, &bytes));
    assert_eq!(
        std::fs::read(dir.join("stdin.postag")).unwrap(),
        std::fs::read(dir.join("auto.postag")).unwrap(),
        "train --train /dev/stdin"
    );
    let eval = |data: &str, input: &[u8]| {
        let args = [
            "eval",
            "--raw",
            "--json",
            "--model",
            "auto.postag",
            "--data",
            data,
        ];
        let report = succeeded(&args, common::run_with_input(&dir, &args, input));
        serde_json::from_str::<Value>(&report).unwrap()["scores"].clone()
    };
    assert_eq!(eval("/dev/stdin", &bytes), eval("train.conllu", b""));
    // Without `# text`, no segmenter; bad segmenter options are refused before training.
    let no_text: String = std::fs::read_to_string(dir.join("train.conllu"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("# text"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(dir.join("no_text.conllu"), no_text).unwrap();
    let mut args = train("nt.postag", &[]);
    args[2] = "no_text.conllu";
    ok(&dir, &args);
    assert!(!has_segmenter("nt.postag"));
    let err = fails(&dir, &train("bad.postag", &["--segmenter-steps", "0"]));
    assert!(err.contains("--segmenter-steps"), "{err}");
    assert!(!dir.join("bad.postag").exists());
    // The segmenter's sizes follow the preset unless given: micro's are small.
    for (preset, extra, want) in [
        ("micro", &[][..], (12, 20)),
        ("micro", &["--segmenter-hidden", "8"][..], (12, 8)),
        ("tiny", &[][..], (8, 16)),
        ("default", &[][..], (24, 48)),
    ] {
        let mut args = train("p.postag", &["--segmenter-steps", "2"]);
        args[4] = preset;
        ok(&dir, &[&args[..], extra].concat());
        let blob = std::fs::read(dir.join("p.postag")).unwrap();
        let seg = postag_core::segment::Segmenter::from_bytes(&blob)
            .unwrap()
            .unwrap();
        assert_eq!(
            (seg.embedding_dim(), seg.hidden()),
            want,
            "{preset} {extra:?}"
        );
    }
    // An --init model's segmenter is kept as it is: segmenter flags would not apply.
    let mut args = vec![
        "train",
        "--train",
        "train.conllu",
        "--init",
        "auto.postag",
        "--epochs",
        "1",
        "-q",
    ];
    args.extend(["-o", "i.postag", "--segmenter-f32"]);
    let out = common::run(&dir, &args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "--segmenter-f32 cannot be combined with an --init model that carries a segmenter"
        ),
        "{err}"
    );
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(!dir.join("i.postag").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every numeric training setting is refused, naming its flag, when it is not a finite
/// number in its range: NaN included, which compares false with everything.
#[test]
fn training_settings_must_be_finite_numbers_in_range() {
    let dir = workdir("settings-nan");
    std::fs::write(
        dir.join("t.conllu"),
        "1\tThe\tthe\tDET\tDT\t_\t2\tdet\t_\t_\n2\tdog\tdog\tNOUN\tNN\t_\t0\troot\t_\t_\n\n",
    )
    .unwrap();
    for (flag, value) in [
        ("--word-dropout", "nan"),
        ("--word-dropout", "inf"),
        ("--word-dropout", "-1"),
        ("--clip", "nan"),
        ("--clip", "-0.5"),
        ("--lr", "nan"),
        ("--lr", "0"),
        ("--dropout", "nan"),
    ] {
        let arg = format!("{flag}={value}");
        let err = fails(
            &dir,
            &[
                "train", "--train", "t.conllu", "-o", "m.postag", "--preset", "tiny", &arg,
            ],
        );
        assert!(err.contains(flag), "{arg}: {err}");
        assert!(!dir.join("m.postag").exists(), "{arg}");
        // A negative value as the next argument is the flag's value too, refused for its
        // range (not "unexpected argument '-1'").
        if value.starts_with('-') {
            let args = [
                "train", "--train", "t.conllu", "-o", "m.postag", flag, value,
            ];
            let err = fails(&dir, &args);
            assert!(
                err.contains(&format!("{flag} must be")),
                "{flag} {value}: {err}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A warning about the dev data comes once a run, not once an epoch (also that it is the
/// training data). A sentence longer than a model reads at once trains, and is
/// evaluated in windows, as `eval` does.
#[test]
fn dev_data_warnings_come_once() {
    let dir = workdir("dev-warnings");
    let word =
        |id: usize, form: &str, tag: &str| format!("{id}\t{form}\t_\t{tag}\t_\t_\t_\t_\t_\t_\n");
    let train = format!("{}{}\n", word(1, "The", "DET"), word(2, "dog", "NOUN"));
    let long: String = (1..=postag_core::MAX_TOKENS + 1)
        .map(|i| word(i, ["The", "dog"][i % 2], ["DET", "NOUN"][i % 2]))
        .collect();
    let dev = format!(
        "{}{}\n{long}\n",
        word(1, "The", "DT"),
        word(2, "dog", "NOUN")
    );
    std::fs::write(dir.join("t.conllu"), train.repeat(4) + &long + "\n").unwrap();
    std::fs::write(dir.join("d.conllu"), dev).unwrap();
    let out = common::run(
        &dir,
        &[
            "train", "--train", "t.conllu", "--dev", "d.conllu", "--preset", "tiny", "--epochs",
            "4", "-q", "-o", "m.postag",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let warning = "d.conllu: 1 of 4099 gold UPOS tags are not among the model's 2 tags";
    assert_eq!(err.matches(warning).count(), 1, "{err}");
    let windows = "d.conllu:4: 4097 tokens, more than the 4096 the model reads at once";
    assert_eq!(err.matches(windows).count(), 1, "{err}");
    let same = "--dev names the --train data";
    assert!(!err.contains(same), "{err}");
    // The training data as dev data, by another name: said once.
    let out = common::run(
        &dir,
        &[
            "train",
            "--train",
            "t.conllu",
            "--dev",
            "./t.conllu",
            "--preset",
            "tiny",
            "--epochs",
            "2",
            "-q",
            "-o",
            "m.postag",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_eq!(err.matches(same).count(), 1, "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// What can be checked before training is refused before it, naming the flag or the
/// file: segmenter sizes past the format's limit, `--max-sentences 0`, an output that
/// is a directory, `--preset` with `--init`, a tag with a space (its file and line).
/// Wrong flags exit with status 2.
#[test]
fn bad_settings_and_outputs_are_refused_before_training() {
    let dir = workdir("refused-early");
    let data = "# text = The dog\n1\tThe\tthe\tDET\tDT\t_\t2\tdet\t_\t_\n2\tdog\tdog\tNOUN\tNN\t_\t0\troot\t_\t_\n\n";
    std::fs::write(dir.join("t.conllu"), data).unwrap();
    std::fs::create_dir_all(dir.join("outdir")).unwrap();
    let train = |extra: &[&str]| -> Vec<String> {
        ["train", "--train", "t.conllu", "--preset", "tiny", "-q"]
            .iter()
            .chain(extra)
            .map(|s| s.to_string())
            .collect()
    };
    let cases: [(Vec<String>, &str); 13] = [
        // Flags that would have no effect.
        (
            train(&["-o", "m.postag", "--patience", "3"]),
            "the following required arguments were not provided:\n  --dev <DEV>",
        ),
        (
            train(&["-o", "m.postag", "--no-segmenter", "--segmenter-dim", "8"]),
            "the argument '--no-segmenter' cannot be used with '--segmenter-dim <SEGMENTER_DIM>'",
        ),
        // Numbers f32 cannot hold: 0 or infinity there.
        (
            train(&["-o", "m.postag", "--clip", "1e-300"]),
            "1e-300 is below the f32 range",
        ),
        (
            train(&["-o", "m.postag", "--dropout", "1e50"]),
            "1e50 is beyond the f32 range",
        ),
        (
            train(&["-o", "m.postag", "--lr", "1e39"]),
            "--lr must be a finite number > 0 within the f32 range (got 1e39)",
        ),
        // Ordinary values as written, in every such message.
        (
            train(&["-o", "m.postag", "--lr", "-1"]),
            "--lr must be a finite number > 0 within the f32 range (got -1)",
        ),
        (
            train(&["-o", "m.postag", "--clip", "-1"]),
            "--clip must be a finite number >= 0 (got -1)",
        ),
        (
            train(&["-o", "m.postag", "--segmenter-hidden", "100000"]),
            "--segmenter-hidden 100000 is above the model format's limit of 4096",
        ),
        (
            train(&["-o", "m.postag", "--segmenter-dim", "5000"]),
            "--segmenter-dim 5000 is above",
        ),
        (
            train(&["-o", "m.postag", "--max-sentences", "0"]),
            "'0' for '--max-sentences <MAX_SENTENCES>': 0 is too small: expected a whole number of 1 or more",
        ),
        (
            train(&["-o", "outdir"]),
            "cannot write outdir: it is a directory",
        ),
        (train(&["-o", "outdir/"]), "it is a directory"),
        (
            [
                "train",
                "--train",
                "t.conllu",
                "--init",
                "nothing.postag",
                "--preset",
                "micro",
                "-o",
                "m.postag",
            ]
            .map(String::from)
            .to_vec(),
            "--preset cannot be combined with --init",
        ),
    ];
    for (args, want) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let started = std::time::Instant::now();
        let out = common::run(&dir, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
        // A wrong command line exits with 2, as the parser's own errors do; an output
        // that cannot be written is a failure of the work (1).
        let code = if want.contains("directory") { 1 } else { 2 };
        assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
        assert!(started.elapsed().as_secs() < 30, "{args:?}: refused late");
        assert!(!dir.join("m.postag").exists() && !dir.join("m.postag.ckpt").exists());
    }
    // The model over the data it learns from (by another name too): refused, the data
    // intact.
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("d.conllu"), data).unwrap();
    for (args, flag) in [
        (train(&["-o", "./sub/../t.conllu"]), "--train"),
        (train(&["--dev", "d.conllu", "-o", "d.conllu"]), "--dev"),
        (
            ["segmenter", "--train", "t.conllu", "-o", "t.conllu"]
                .map(String::from)
                .to_vec(),
            "--train",
        ),
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = common::run(&dir, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("is the {flag} file: the output would replace it")),
            "{err}"
        );
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(std::fs::read_to_string(dir.join("t.conllu")).unwrap(), data);
        assert_eq!(std::fs::read_to_string(dir.join("d.conllu")).unwrap(), data);
    }
    // Nor may a file train writes beside the model be the data.
    for suffix in [".ckpt", ".report.json", ".confusion.svg"] {
        let name = format!("z.postag{suffix}");
        std::fs::write(dir.join(&name), data).unwrap();
        let args = [
            "train", "--train", &name, "--dev", "d.conllu", "-o", "z.postag",
        ];
        let out = common::run(&dir, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        let want = format!("{name} is the --train file: train writes its {suffix} file there");
        assert!(err.contains(&want), "{err}");
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(std::fs::read_to_string(dir.join(&name)).unwrap(), data);
        assert!(!dir.join("z.postag").exists());
    }
    // Flags that would have no effect: char settings without chars, segmenter settings
    // for data without `# text`.
    std::fs::write(dir.join("n.conllu"), data.replace("# text = The dog\n", "")).unwrap();
    for (args, want) in [
        (
            vec![
                "train",
                "--train",
                "t.conllu",
                "--no-chars",
                "--char-hidden",
                "8",
                "-o",
                "n.postag",
            ],
            "the argument '--no-chars' cannot be used with '--char-hidden <CHAR_HIDDEN>'",
        ),
        (
            vec![
                "train",
                "--train",
                "n.conllu",
                "--segmenter-steps",
                "5",
                "-o",
                "n.postag",
            ],
            "--segmenter-steps given, but n.conllu carries no `# text`: no segmenter is learned",
        ),
    ] {
        let out = common::run(&dir, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(!dir.join("n.postag").exists());
    }
    // Data whose `# text` spells none of its sentences' tokens, from which no segmenter
    // can learn: refused before the tagger's training, not after it.
    std::fs::write(dir.join("x.conllu"), data.replace("The dog", "A cat")).unwrap();
    let started = std::time::Instant::now();
    let args = [
        "train", "--train", "x.conllu", "--epochs", "30", "-o", "x.postag",
    ];
    let err = fails(&dir, &args);
    assert!(err.contains("no token boundary to learn from"), "{err}");
    assert!(!err.contains("epoch"), "{err}");
    assert!(started.elapsed().as_secs() < 30);
    assert!(!dir.join("x.postag").exists() && !dir.join("x.postag.ckpt").exists());
    // A directory where a side file goes: refused before training, the model (an old
    // one there) untouched.
    std::fs::write(dir.join("m.postag"), b"old").unwrap();
    for suffix in [".report.json", ".loss.svg", ".ckpt"] {
        let side = dir.join(format!("m.postag{suffix}"));
        std::fs::create_dir(&side).unwrap();
        let err = fails(
            &dir,
            &train(&["-o", "m.postag", "--no-segmenter"])
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        );
        assert!(
            err.contains(&format!(
                "cannot write m.postag{suffix}: it is a directory (train writes its {suffix} file there)"
            )),
            "{err}"
        );
        assert_eq!(std::fs::read(dir.join("m.postag")).unwrap(), b"old");
        std::fs::remove_dir(&side).unwrap();
    }
    std::fs::remove_file(dir.join("m.postag")).unwrap();
    // The segmenter command's sizes too.
    std::fs::write(dir.join("t2.conllu"), data).unwrap();
    ok(
        &dir,
        &[
            "train",
            "--train",
            "t.conllu",
            "--preset",
            "tiny",
            "-q",
            "--no-segmenter",
            "--epochs",
            "1",
            "-o",
            "base.postag",
        ],
    );
    let err = fails(
        &dir,
        &[
            "segmenter",
            "--model",
            "base.postag",
            "--train",
            "t.conllu",
            "--hidden",
            "100000",
            "-o",
            "s.postag",
        ],
    );
    assert!(
        err.contains("--hidden 100000 is above the model format's limit"),
        "{err}"
    );
    // Its --dev data, malformed or with a `# text` that does not spell its tokens: refused
    // before a training of 10^6 steps, nothing written.
    let bad_text = data.replace("# text = The dog", "# text = The cat");
    for (dev, want) in [
        (
            "1\tThe\n\n",
            "nine.conllu:1: expected 10 tab-separated fields",
        ),
        (
            bad_text.as_str(),
            "nine.conllu:1: the sentence's `# text` does not spell its tokens",
        ),
    ] {
        std::fs::write(dir.join("nine.conllu"), dev).unwrap();
        let started = std::time::Instant::now();
        let args = ["segmenter", "--model", "base.postag", "--train", "t.conllu"];
        let more = [
            "--dev",
            "nine.conllu",
            "--steps",
            "1000000",
            "-o",
            "s.postag",
        ];
        let err = fails(&dir, &[&args[..], &more].concat());
        assert!(err.contains(want), "{err}");
        assert!(started.elapsed().as_secs() < 30, "refused late: {err}");
        assert!(!dir.join("s.postag").exists());
    }
    // A tag holding a space: its file and line.
    std::fs::write(
        dir.join("space.conllu"),
        "1\tThe\tthe\tDET DT\tDT\t_\t2\tdet\t_\t_\n2\tdog\tdog\tNOUN\tNN\t_\t0\troot\t_\t_\n\n",
    )
    .unwrap();
    let err = fails(
        &dir,
        &[
            "train",
            "--train",
            "space.conllu",
            "--preset",
            "tiny",
            "-q",
            "-o",
            "m.postag",
        ],
    );
    assert!(
        err.contains("space.conllu:1:") && err.contains("\"DET DT\""),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A run whose loss explodes (a huge learning rate) ends in an error, not in a model
/// that cannot tag; a pipe or standard output as `-o` gets the model and nothing
/// beside it.
#[test]
fn a_diverged_run_writes_nothing_and_a_device_gets_no_side_files() {
    let Some(shared) = shared() else { return };
    let dir = ewt_slices(&shared, "diverged", 200, 0);
    let base = [
        "train",
        "--train",
        "train.conllu",
        "--preset",
        "tiny",
        "-q",
        "--no-segmenter",
        "--epochs",
        "2",
        "--threads",
        "1",
    ];
    let with = |extra: &[&str]| -> Vec<String> {
        base.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    let args = with(&["--lr", "1e30", "--no-quantize", "-o", "big.postag"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let err = fails(&dir, &args);
    assert!(err.contains("training diverged"), "{err}");
    assert!(!dir.join("big.postag").exists() && !dir.join("big.postag.ckpt").exists());
    // One that diverged without overflowing is written, with a warning: its loss is
    // above that of scoring every tag alike.
    let args = with(&["--lr", "10", "--clip", "0", "-o", "far.postag"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = common::run(&dir, &args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("is above that of scoring all")
            && err.contains("training diverged or learned nothing"),
        "{err}"
    );
    // A FIFO read by a cat: the model goes through it; nothing lands beside it.
    let fifo = dir.join("pipe");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let reader = std::process::Command::new("cat")
        .arg(&fifo)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let args = with(&["-o", "pipe"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(&dir, &args);
    let got = reader.wait_with_output().unwrap().stdout;
    Model::from_bytes(&got).unwrap();
    let beside: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("pipe."))
        .collect();
    assert!(beside.is_empty(), "{beside:?}");
    // Standard output as a path: written in place, nothing probed or written beside
    // it (in /proc/self/fd, where no file can be made, even by root).
    let args = with(&["-o", "/proc/self/fd/1"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = common::run(&dir, &args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("warning"), "a run that learned: {err}");
    Model::from_bytes(&out.stdout).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Training data an `--init` model cannot learn from (a tag it does not have, a word
/// outside a vocabulary without an unknown-word entry) is named `file:line: ...`, the
/// word's own line, as every other error in the data is.
#[test]
fn init_data_errors_name_the_file_and_line() {
    let dir = workdir("init-errors");
    // The fixture's vocabulary: the words "E" and "êÇMT", no "<unk>"; tags SCONJ,
    // CCONJ, VERB, ADV and DET.
    let (st, vocab) = torch_fixture_files("bi1_word_04");
    succeeded(&[], import_torch(&dir, &st, &vocab, "init.postag", &[]));
    let word =
        |id: usize, form: &str, tag: &str| format!("{id}\t{form}\t_\t{tag}\t_\t_\t_\t_\t_\t_\n");
    let sentence = |words: &[(&str, &str)]| -> String {
        let mut s = String::from("# sent_id = s\n");
        for (i, (form, tag)) in words.iter().enumerate() {
            s.push_str(&word(i + 1, form, tag));
        }
        s + "\n"
    };
    let good = sentence(&[("E", "VERB"), ("êÇMT", "DET")]);
    let train = |file: &str| {
        fails(
            &dir,
            &[
                "train",
                "--train",
                file,
                "--init",
                "init.postag",
                "--epochs",
                "1",
                "--quiet",
                "--no-segmenter",
                "-o",
                "m.postag",
            ],
        )
    };
    // Lines 1-4 the good sentence, 5 its comment, 6 and 7 its words.
    let newtag = good.clone() + &sentence(&[("E", "VERB"), ("êÇMT", "NOUN")]);
    std::fs::write(dir.join("newtag.conllu"), newtag).unwrap();
    let err = train("newtag.conllu");
    assert!(
        err.contains(
            "error: newtag.conllu:7: tag \"NOUN\" is not one of the model's tags (SCONJ CCONJ VERB ADV DET)"
        ),
        "{err}"
    );
    let newword = good + &sentence(&[("E", "VERB"), ("hello", "DET")]);
    std::fs::write(dir.join("newword.conllu"), newword).unwrap();
    let err = train("newword.conllu");
    assert!(
        err.contains("error: newword.conllu:7: word \"hello\" is not in the model's vocabulary"),
        "{err}"
    );
    assert!(!dir.join("m.postag").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// UPOS values outside UD's 17 tags (a typo, another tag set) are learned, with a
/// warning naming the first one's line and how many words have one; UD's tags get none.
#[test]
fn upos_tags_outside_ud_are_warned_about() {
    let dir = workdir("train-non-ud-upos");
    let word =
        |id: usize, form: &str, upos: &str| format!("{id}\t{form}\t_\t{upos}\t_\t_\t_\t_\t_\t_\n");
    let good = [word(1, "dogs", "NOUN"), word(2, "bark", "VERB")].concat() + "\n";
    let bad = [word(1, "cats", "NOUNX"), word(2, "purr", "VERB")].concat() + "\n";
    std::fs::write(dir.join("good.conllu"), good.repeat(3)).unwrap();
    std::fs::write(
        dir.join("bad.conllu"),
        [good.clone(), bad.clone(), bad].concat(),
    )
    .unwrap();
    let train = |data: &str, out: &str| {
        let output = run(
            &dir,
            &[&["train", "--train", data], QUICK, &["-o", out]].concat(),
        );
        assert!(output.status.success(), "{output:?}");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let err = train("bad.conllu", "bad.postag");
    assert!(
        err.contains("bad.conllu:4: UPOS \"NOUNX\" is not one of UD's 17 tags; each tag outside them (on 2 of 6 words)"),
        "{err}"
    );
    let err = train("good.conllu", "good.postag");
    assert!(!err.contains("UD's 17"), "{err}");
    // In dev data, such a tag is no tag the model learns: the dev warning says so.
    let output = run(
        &dir,
        &[
            &["train", "--train", "good.conllu", "--dev", "bad.conllu"],
            QUICK,
            &["-o", "d.postag"],
        ]
        .concat(),
    );
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{err}");
    assert!(
        !err.contains("UD's 17") && !err.contains("learned as a tag"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
