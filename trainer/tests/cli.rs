//! End-to-end runs of the real `postag` binary in scratch directories.

mod common;

use std::path::Path;

use common::{fails, import_torch, ok, ok_with_input, postag, run, succeeded, torch_fixture_files};

use postag_core::torch::{read_safetensors, TorchTensor};
use postag_core::Model;
use postag_testutil::{conllu_head as slice, repo, shared, torch_fixtures, workdir};
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
    let _ = std::fs::remove_dir_all(&dir);
}

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
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every parity fixture through `import-torch` and `tag --format jsonl --scores`.
#[test]
fn imported_pytorch_models_give_pytorch_log_probs() {
    let dir = workdir("import");
    let fixtures = repo().join("tests/fixtures/torch");
    let names = torch_fixtures();
    let mut worst = 0.0f64;
    for name in &names {
        let (st, vocab) = torch_fixture_files(name);
        let out = dir.join(format!("{name}.postag"));
        let out = out.to_str().unwrap();
        succeeded(&[], import_torch(&dir, &st, &vocab, out, &[]));
        let expected: Value = serde_json::from_str(
            &std::fs::read_to_string(fixtures.join(format!("{name}.expected.json"))).unwrap(),
        )
        .unwrap();
        let mut input = String::new();
        for s in expected["sentences"].as_array().unwrap() {
            input.push_str(&serde_json::json!({"tokens": s["tokens"]}).to_string());
            input.push('\n');
        }
        std::fs::write(dir.join("in.jsonl"), input).unwrap();
        let tagged = ok(
            &dir,
            &[
                "tag", "--model", out, "--format", "jsonl", "--scores", "--input", "in.jsonl",
            ],
        );
        for (line, s) in tagged
            .lines()
            .zip(expected["sentences"].as_array().unwrap())
        {
            let got: Value = serde_json::from_str(line).unwrap();
            let want = s["log_probs"].as_array().unwrap();
            for (g, w) in got["scores"].as_array().unwrap().iter().zip(want) {
                for (a, b) in g.as_array().unwrap().iter().zip(w.as_array().unwrap()) {
                    worst = worst.max((a.as_f64().unwrap() - b.as_f64().unwrap()).abs());
                }
            }
        }
    }
    println!(
        "import-torch: max |log_prob diff| over {} fixtures = {worst:.2e}",
        names.len()
    );
    assert!(worst <= 1e-5, "max diff {worst:e}");
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
        stderr.contains("sentence at line 3: 8292 tokens") && stderr.contains("windows"),
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

fn weights(dir: &Path, model: &str) -> String {
    let info: Value =
        serde_json::from_str(&ok(dir, &["inspect", "--model", model, "--json"])).unwrap();
    info["weights"].as_str().unwrap().to_string()
}

/// On/off settings are `--x` / `--no-x` on every command (the later one wins), never
/// `--x true`; `--init` keeps the storage of the model it continues unless told.
#[test]
fn switches_are_flag_pairs_and_init_keeps_the_storage() {
    let Some(shared) = shared() else { return };
    let dir = ewt_slices(&shared, "switches", 60, 20);
    let train = [
        "train",
        "--train",
        "train.conllu",
        "--preset",
        "tiny",
        "--epochs",
        "1",
        "--quiet",
    ];
    let with = |extra: &[&'static str]| -> Vec<&'static str> { [&train[..], extra].concat() };
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

/// Writes `tensors` as a safetensors file (f32, row-major), as
/// `safetensors.torch.save_file` does.
fn write_safetensors(path: &Path, tensors: &std::collections::BTreeMap<String, TorchTensor>) {
    let mut header = serde_json::Map::new();
    let mut data = Vec::new();
    for (name, t) in tensors {
        let start = data.len();
        data.extend(t.data.iter().flat_map(|v| v.to_le_bytes()));
        header.insert(
            name.clone(),
            serde_json::json!({"dtype": "F32", "shape": t.shape, "data_offsets": [start, data.len()]}),
        );
    }
    let header = Value::Object(header).to_string().into_bytes();
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend(header);
    bytes.extend(data);
    std::fs::write(path, bytes).unwrap();
}

fn fixture_tensors(name: &str) -> std::collections::BTreeMap<String, TorchTensor> {
    let path = repo().join(format!("tests/fixtures/torch/{name}.safetensors"));
    read_safetensors(&std::fs::read(path).unwrap()).unwrap()
}

/// A NaN or an infinity anywhere in a state_dict is refused with the PyTorch name and
/// index of the element, and nothing is written.
#[test]
fn import_torch_refuses_non_finite_weights_naming_the_element() {
    let dir = workdir("import-nan");
    let vocab = repo().join("tests/fixtures/torch/uni1_word_00.vocab.json");
    let cases = [
        (
            "lstm.weight_hh_l0",
            0,
            f32::NAN,
            "lstm.weight_hh_l0[0, 0] is NaN",
        ),
        (
            "lstm.weight_ih_l0",
            1,
            f32::INFINITY,
            "lstm.weight_ih_l0[0, 1] is inf",
        ),
        (
            "hidden2tag.bias",
            2,
            f32::NEG_INFINITY,
            "hidden2tag.bias[2] is -inf",
        ),
        (
            "word_embeddings.weight",
            0,
            f32::NAN,
            "word_embeddings.weight[0, 0] is NaN",
        ),
    ];
    for (tensor, index, value, message) in cases {
        let mut tensors = fixture_tensors("uni1_word_00");
        tensors.get_mut(tensor).unwrap().data[index] = value;
        write_safetensors(&dir.join("bad.safetensors"), &tensors);
        for quantize in [false, true] {
            let mut args = vec![
                "import-torch",
                "--state-dict",
                "bad.safetensors",
                "--vocab",
                vocab.to_str().unwrap(),
                "-o",
                "out.postag",
            ];
            if quantize {
                args.push("--quantize");
            }
            let err = fails(&dir, &args);
            assert!(err.contains(message), "{tensor}: {err}");
            assert!(!dir.join("out.postag").exists(), "{tensor}: wrote a model");
        }
    }
    // Two finite biases whose sum overflows f32 are named together.
    let mut tensors = fixture_tensors("uni1_word_00");
    tensors.get_mut("lstm.bias_ih_l0").unwrap().data[3] = 3e38;
    tensors.get_mut("lstm.bias_hh_l0").unwrap().data[3] = 3e38;
    write_safetensors(&dir.join("bad.safetensors"), &tensors);
    let vocab = vocab.to_str().unwrap();
    let args = [
        "import-torch",
        "--state-dict",
        "bad.safetensors",
        "--vocab",
        vocab,
        "-o",
        "out.postag",
    ];
    let err = fails(&dir, &args);
    assert!(
        err.contains("lstm.bias_ih_l0[3] + lstm.bias_hh_l0[3] is inf"),
        "{err}"
    );
    assert!(!dir.join("out.postag").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// `quantize` refuses a model whose f32 weights hold a NaN (written by another tool:
/// the CRC is valid) instead of turning it into an ordinary int8 value.
#[test]
fn quantize_refuses_a_model_with_a_nan() {
    let dir = workdir("quantize-nan");
    let fixtures = repo().join("tests/fixtures/torch");
    let st = fixtures.join("uni1_word_00.safetensors");
    let vocab = fixtures.join("uni1_word_00.vocab.json");
    ok(
        &dir,
        &[
            "import-torch",
            "--state-dict",
            st.to_str().unwrap(),
            "--vocab",
            vocab.to_str().unwrap(),
            "-o",
            "f32.postag",
        ],
    );
    let mut blob = std::fs::read(dir.join("f32.postag")).unwrap();
    let raw = postag_core::format::split(&blob).unwrap();
    let start = raw.payload.as_ptr() as usize - blob.as_ptr() as usize;
    let entry = raw
        .header
        .tensors
        .iter()
        .map(Result::unwrap)
        .find(|e| e.role == postag_core::format::Role::TagWeights)
        .unwrap();
    assert_eq!(entry.dtype, postag_core::format::DType::F32);
    // Row 2, column 1.
    let at = start + entry.offset as usize + 4 * (2 * entry.cols as usize + 1);
    blob[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    let n = blob.len() - 4;
    let crc = postag_core::crc32(&blob[..n]);
    blob[n..].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(dir.join("nan.postag"), &blob).unwrap();
    let err = fails(
        &dir,
        &["quantize", "--model", "nan.postag", "-o", "q.postag"],
    );
    assert!(err.contains("hidden2tag.weight[2, 1] is NaN"), "{err}");
    assert!(!dir.join("q.postag").exists());
    let err = fails(
        &dir,
        &["tag", "--model", "nan.postag", "--input", "nan.postag"],
    );
    assert!(err.contains("hidden2tag.weight[2, 1] is NaN"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The import summary says whether each LSTM is bidirectional, as `inspect` does.
#[test]
fn import_torch_summary_names_the_char_lstm_direction() {
    let dir = workdir("import-summary");
    for (name, want) in [
        ("bi1_char_bi1_25", ", char LSTM 1 x "),
        ("bi1_char_uni1_unk_13", ", char LSTM 1 x "),
    ] {
        let fixtures = repo().join("tests/fixtures/torch");
        let st = fixtures.join(format!("{name}.safetensors"));
        let vocab = fixtures.join(format!("{name}.vocab.json"));
        let out = ok(
            &dir,
            &[
                "import-torch",
                "--state-dict",
                st.to_str().unwrap(),
                "--vocab",
                vocab.to_str().unwrap(),
                "-o",
                "m.postag",
            ],
        );
        let tensors = fixture_tensors(name);
        let hidden = tensors["char_lstm.weight_hh_l0"].shape[1];
        let bidirectional = tensors.contains_key("char_lstm.weight_ih_l0_reverse");
        assert_eq!(bidirectional, name.contains("char_bi"));
        let char_part = format!(
            "{want}{hidden}{}",
            if bidirectional { " bidirectional" } else { "" }
        );
        let after = out
            .split(&char_part)
            .nth(1)
            .unwrap_or_else(|| panic!("{out}"));
        assert!(
            after.starts_with(',') || after.starts_with(';') || after.starts_with('\n'),
            "{out}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
