//! End-to-end runs of the real `postag` binary: importing PyTorch models, quantizing.

mod common;

use std::path::Path;

use common::{fails, import_torch, ok, reported, succeeded, torch_fixture_files};

use postag_core::format::{split, Role, SegPart};
use postag_core::torch::{read_safetensors, TorchTensor};
use postag_testutil::{repo, tensor_at, torch_fixtures, with_crc, workdir};
use serde_json::Value;

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

/// A NaN, an infinity or a value beyond 2^48 anywhere in a state_dict is refused with
/// the PyTorch name and index of the element, and nothing is written.
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
    // Beyond 2^48 too; and two biases within it whose sum is not, named together.
    let mut tensors = fixture_tensors("uni1_word_00");
    tensors.get_mut("lstm.weight_hh_l0").unwrap().data[0] = 3e38;
    write_safetensors(&dir.join("bad.safetensors"), &tensors);
    let err = fails(
        &dir,
        &[
            "import-torch",
            "--state-dict",
            "bad.safetensors",
            "--vocab",
            vocab.to_str().unwrap(),
            "-o",
            "out.postag",
        ],
    );
    assert!(
        err.contains("lstm.weight_hh_l0[0, 0] is 3e38; weights must be finite and within 2^48"),
        "{err}"
    );
    let mut tensors = fixture_tensors("uni1_word_00");
    tensors.get_mut("lstm.bias_ih_l0").unwrap().data[3] = 2e14;
    tensors.get_mut("lstm.bias_hh_l0").unwrap().data[3] = 2e14;
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
        err.contains("lstm.bias_ih_l0[3] + lstm.bias_hh_l0[3] is 4e14 (the two biases summed)"),
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
    let (start, entry) = tensor_at(&blob, Role::TagWeights);
    assert_eq!(entry.dtype, postag_core::format::DType::F32);
    // Row 2, column 1.
    let at = start + 4 * (2 * entry.cols as usize + 1);
    blob[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    std::fs::write(dir.join("nan.postag"), with_crc(blob)).unwrap();
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
        let out = reported(
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

/// Rewriting a model's tagger keeps the segmenter it carries, byte for byte.
#[test]
fn quantize_keeps_the_segmenter() {
    let dir = workdir("quantize-segmenter");
    let shipped = repo().join("models/en_ewt.postag");
    ok(
        &dir,
        &[
            "quantize",
            "--model",
            shipped.to_str().unwrap(),
            "-o",
            "q.postag",
        ],
    );
    let info = |m: &str| -> Value {
        serde_json::from_str(&ok(&dir, &["inspect", "--model", m, "--json"])).unwrap()
    };
    let (before, after) = (info(shipped.to_str().unwrap()), info("q.postag"));
    assert!(
        before["segmenter"].is_object(),
        "the shipped model has a segmenter"
    );
    assert_eq!(after["segmenter"], before["segmenter"]);
    let text = "Hello, world! We're gonna go.\n";
    let raw = ["tag", "--format", "raw", "--raw-output", "text", "--model"];
    let tagged = |m: &str| common::ok_with_input(&dir, &[&raw[..], &[m]].concat(), text.as_bytes());
    assert_eq!(tagged("q.postag"), tagged(shipped.to_str().unwrap()));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `convert` moves an f32 model's word and char LSTMs between the panel layout (format version 2, what
/// `import-torch` writes) and rows (version 1) without changing a weight: back in
/// panels, every tensor's bytes are the imported model's; in rows, the model tags alike (scores
/// within rounding: the layouts sum in different orders). An int8 model's word LSTM
/// goes to int8 panels (version 3) and back to the same bytes, tagging bit for bit alike.
#[test]
fn convert_switches_the_lstm_layout_losslessly() {
    let dir = workdir("convert");
    let convert = |model: &str, layout: &str, out: &str| {
        reported(
            &dir,
            &["convert", "--model", model, "--layout", layout, "-o", out],
        )
    };
    let (st, vocab) = torch_fixture_files("bi2_char_bi2_crf_27");
    succeeded(&[], import_torch(&dir, &st, &vocab, "f32.postag", &[]));
    let version = |name: &str| {
        let b = std::fs::read(dir.join(name)).unwrap();
        u16::from_le_bytes([b[6], b[7]])
    };
    assert_eq!(version("f32.postag"), 2);
    let said = ok(&dir, &["inspect", "--model", "f32.postag"]);
    assert!(
        said.contains("format v2, f32 weights (word LSTM in panels, char LSTM in panels)"),
        "{said}"
    );

    let said = convert("f32.postag", "rows", "rows.postag");
    assert!(
        said.contains("the LSTMs in rows, format version 1"),
        "{said}"
    );
    assert_eq!(version("rows.postag"), 1);
    let info: Value =
        serde_json::from_str(&ok(&dir, &["inspect", "--model", "rows.postag", "--json"])).unwrap();
    assert_eq!(
        (
            &info["weights"],
            &info["word_lstm_layout"],
            &info["char_lstm_layout"]
        ),
        (&"f32".into(), &"rows".into(), &"rows".into())
    );
    assert_eq!(info["format_version"], 1);
    let rows = std::fs::read(dir.join("rows.postag")).unwrap();
    let raw = postag_core::format::split(&rows).unwrap();
    assert!(raw
        .header
        .tensors
        .iter()
        .all(|e| e.unwrap().dtype != postag_core::format::DType::F32Panels));

    convert("rows.postag", "panels", "back.postag");
    // Back in panels: every tensor's bytes as imported (the writers order them apart).
    let tensors = |name: &str| {
        let blob = std::fs::read(dir.join(name)).unwrap();
        let raw = postag_core::format::split(&blob).unwrap();
        let mut all: Vec<_> = raw
            .header
            .tensors
            .iter()
            .map(|e| {
                let e = e.unwrap();
                let len = e.dtype.byte_len(e.rows, e.cols).unwrap();
                let at = e.offset as usize;
                let bytes = raw.payload[at..at + len].to_vec();
                (format!("{:?}", e.role), e.dtype, e.rows, e.cols, bytes)
            })
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        (raw.header.config, all)
    };
    assert_eq!(tensors("back.postag"), tensors("f32.postag"));

    // The fixture's sentences, all in its vocabulary.
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(
            repo().join("tests/fixtures/torch/bi2_char_bi2_crf_27.expected.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let mut input = String::new();
    for s in expected["sentences"].as_array().unwrap() {
        input.push_str(&serde_json::json!({"tokens": s["tokens"]}).to_string());
        input.push('\n');
    }
    std::fs::write(dir.join("in.jsonl"), input).unwrap();
    let tag = |model: &str| {
        let out = ok(
            &dir,
            &[
                "tag", "--model", model, "--format", "jsonl", "--scores", "--input", "in.jsonl",
            ],
        );
        out.lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .collect::<Vec<_>>()
    };
    let (a, b) = (tag("f32.postag"), tag("rows.postag"));
    assert_eq!(a.len(), expected["sentences"].as_array().unwrap().len());
    for (x, y) in a.iter().zip(&b) {
        assert!(x["tags"].is_array());
        assert_eq!(x["tags"], y["tags"]);
        let flat = |v: &Value| -> Vec<f64> {
            v["scores"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|r| r.as_array().unwrap().iter().map(|s| s.as_f64().unwrap()))
                .collect()
        };
        for (p, q) in flat(x).iter().zip(flat(y)) {
            assert!((p - q).abs() <= 1e-5 * (1.0 + q.abs()), "{p} vs {q}");
        }
    }

    let said = convert("f32.postag", "panels", "same.postag");
    assert!(said.contains("is in panels already"), "{said}");
    succeeded(
        &[],
        import_torch(&dir, &st, &vocab, "int8.postag", &["--quantize"]),
    );
    let said = convert("int8.postag", "rows", "int8-rows.postag");
    assert!(said.contains("is in rows already"), "{said}");
    assert_eq!(
        std::fs::read(dir.join("int8-rows.postag")).unwrap(),
        std::fs::read(dir.join("int8.postag")).unwrap()
    );
    let said = convert("int8.postag", "panels", "int8-panels.postag");
    assert!(
        said.contains("the word LSTM in int8 panels, format version 3"),
        "{said}"
    );
    let said = ok(&dir, &["inspect", "--model", "int8-panels.postag"]);
    assert!(
        said.contains("format v3, int8 weights (word LSTM in panels, char LSTM in rows)"),
        "{said}"
    );
    // Exact integer products either way: the same scores, to the last digit.
    assert_eq!(tag("int8-panels.postag"), tag("int8.postag"));
    let said = convert("int8-panels.postag", "panels", "int8-same.postag");
    assert!(said.contains("is in panels already"), "{said}");
    convert("int8-panels.postag", "rows", "int8-back.postag");
    assert_eq!(
        std::fs::read(dir.join("int8-back.postag")).unwrap(),
        std::fs::read(dir.join("int8.postag")).unwrap()
    );
    // An int8 blob that declares version 2 (which a reader of version 1 refuses) without
    // a panel: in rows, it becomes version 1, the same bytes as written by import-torch.
    let mut v2 = std::fs::read(dir.join("int8.postag")).unwrap();
    v2[6..8].copy_from_slice(&2u16.to_le_bytes());
    std::fs::write(dir.join("int8-v2.postag"), with_crc(v2)).unwrap();
    let said = convert("int8-v2.postag", "rows", "int8-v1.postag");
    assert!(said.contains("format version 1"), "{said}");
    assert_eq!(
        std::fs::read(dir.join("int8-v1.postag")).unwrap(),
        std::fs::read(dir.join("int8.postag")).unwrap()
    );

    // A blob that mixes f32 and int8 matrices (the int8 model with the f32 model's word
    // embedding): named as such; quantize makes it all int8; convert refuses it.
    let int8 = std::fs::read(dir.join("int8.postag")).unwrap();
    let f32 = std::fs::read(dir.join("f32.postag")).unwrap();
    let (raw, f32_raw) = (split(&int8).unwrap(), split(&f32).unwrap());
    let mut b = postag_core::builder::BlobBuilder::new(raw.header.config);
    for (blob, e) in raw.header.tensors.iter().map(|e| (&raw, e.unwrap())) {
        let (blob, e) = match e.role {
            Role::WordEmbedding => (
                &f32_raw,
                f32_raw
                    .header
                    .tensors
                    .iter()
                    .map(Result::unwrap)
                    .find(|f| f.role == e.role)
                    .unwrap(),
            ),
            _ => (blob, e),
        };
        let len = e.dtype.byte_len(e.rows, e.cols).unwrap();
        let bytes = blob.payload[e.offset as usize..e.offset as usize + len].to_vec();
        b.stored(e.role, e.dtype, e.rows as usize, e.cols as usize, bytes)
            .unwrap();
    }
    std::fs::write(dir.join("mixed.postag"), b.finish().unwrap()).unwrap();
    let said = ok(&dir, &["inspect", "--model", "mixed.postag"]);
    assert!(said.contains("mixed f32 and int8 weights"), "{said}");
    reported(
        &dir,
        &[
            "quantize",
            "--model",
            "mixed.postag",
            "-o",
            "mixed-q.postag",
        ],
    );
    let said = ok(&dir, &["inspect", "--model", "mixed-q.postag"]);
    assert!(said.contains("format v1, int8 weights"), "{said}");
    let err = fails(
        &dir,
        &[
            "convert",
            "--model",
            "mixed.postag",
            "--layout",
            "panels",
            "-o",
            "m.postag",
        ],
    );
    assert!(
        err.contains("mixed.postag mixes f32 and int8 weight matrices"),
        "{err}"
    );
    assert!(!dir.join("m.postag").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// `quantize`, `convert` and `train --init` write a model again from what it holds:
/// what they cannot write as it is, they refuse, naming the file. A vocabulary word
/// that is not its own normalization (no input looks it up; written again it would be
/// one that is), a broken segmenter (which would go along unchecked).
#[test]
fn models_that_cannot_be_written_again_as_they_are_are_refused() {
    let dir = workdir("rewrite-refused");
    // An f32 model (which quantize and convert write again), its words lowercased.
    let sentence = "1\tThe\t_\tDET\t_\t_\t_\t_\t_\t_\n2\tdog\t_\tNOUN\t_\t_\t_\t_\t_\t_\n\n";
    std::fs::write(dir.join("t.conllu"), sentence.repeat(3)).unwrap();
    let train = [
        "train", "--train", "t.conllu", "--preset", "tiny", "--epochs", "1", "-q",
    ];
    ok(&dir, &[&train[..], &["-o", "f32.postag"]].concat());
    let f32 = std::fs::read(dir.join("f32.postag")).unwrap();
    // One letter of a word made capital where the words stay in byte order (the
    // shipped model's words are lowercased).
    let ((strings, _), (offsets, words)) = (
        tensor_at(&f32, Role::WordStrings),
        tensor_at(&f32, Role::WordOffsets),
    );
    let word = |i: usize| {
        let at = |k: usize| {
            let at = offsets + 4 * k;
            strings + u32::from_le_bytes(f32[at..at + 4].try_into().unwrap()) as usize
        };
        (at(i), f32[at(i)..at(i + 1)].to_vec())
    };
    let n = words.cols as usize - 1;
    let first = (0..n)
        .flat_map(|i| (0..word(i).1.len()).map(move |k| (i, k)))
        .find_map(|(i, k)| {
            let (at, w) = word(i);
            let mut upper = w.clone();
            upper[k] = upper[k].to_ascii_uppercase();
            let after = i == 0 || word(i - 1).1 < upper;
            let before = i + 1 == n || upper < word(i + 1).1;
            (w[k].is_ascii_lowercase() && after && before).then_some(at + k)
        })
        .unwrap();
    let mut upper = f32.clone();
    upper[first] = upper[first].to_ascii_uppercase();
    std::fs::write(dir.join("upper.postag"), with_crc(upper)).unwrap();
    // The micro model's segmenter options with a flag no version defines.
    let micro = std::fs::read(repo().join("models/en_ewt_micro.postag")).unwrap();
    let (options, _) = tensor_at(&micro, Role::Segmenter(SegPart::Options));
    let mut seg = micro.clone();
    seg[options..options + 4].copy_from_slice(&2u32.to_le_bytes());
    std::fs::write(dir.join("seg.postag"), with_crc(seg)).unwrap();
    for (model, want) in [
        ("upper.postag", "upper.postag: the vocabulary holds \""),
        (
            "seg.postag",
            "seg.postag: its segmenter: model blob describes an inconsistent model",
        ),
    ] {
        let commands: [&[&str]; 3] = [
            &["quantize", "--model", model, "-o", "out.postag"],
            &[
                "convert",
                "--model",
                model,
                "--layout",
                "rows",
                "-o",
                "out.postag",
            ],
            &[
                "train",
                "--train",
                "t.conllu",
                "--init",
                model,
                "--epochs",
                "1",
                "-q",
                "--no-segmenter",
                "-o",
                "out.postag",
            ],
        ];
        for args in commands {
            let err = fails(&dir, args);
            assert!(err.contains(want), "{args:?}: {err}");
            assert!(!dir.join("out.postag").exists(), "{args:?}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--max-word-chars` outside 1 to the format's maximum is a wrong flag (status 2),
/// named as such, not a fault of the state_dict.
#[test]
fn import_torch_refuses_a_max_word_chars_out_of_range() {
    let dir = workdir("import-max-word-chars");
    let (st, vocab) = torch_fixture_files("bi1_char_bi1_25");
    for value in ["0", "1025"] {
        let out = import_torch(&dir, &st, &vocab, "c.postag", &["--max-word-chars", value]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains(&format!("{value} is not in 1..=1024")),
            "{err}"
        );
        assert!(!dir.join("c.postag").exists());
    }
    let out = import_torch(&dir, &st, &vocab, "c.postag", &["--max-word-chars", "1024"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A model without char features has no use for it: refused, not ignored.
    let (st, vocab) = torch_fixture_files("bi1_word_crf_unk_09");
    let out = import_torch(&dir, &st, &vocab, "w.postag", &["--max-word-chars", "8"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--max-word-chars is for a model with char features; ")
            && err.contains("bi1_word_crf_unk_09.safetensors has none"),
        "{err}"
    );
    assert!(!dir.join("w.postag").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// `quantize` (which would lose the f32 weights for good) and `tag` refuse an `-o` that
/// names their `--model`, by any name; the model is left as it was.
#[test]
fn quantize_and_tag_refuse_to_write_over_their_model() {
    let dir = workdir("model-output");
    let (st, vocab) = torch_fixture_files("bi1_word_crf_unk_09");
    assert!(import_torch(&dir, &st, &vocab, "m.postag", &[])
        .status
        .success());
    std::os::unix::fs::symlink("m.postag", dir.join("link.postag")).unwrap();
    std::fs::write(dir.join("in.txt"), "the dog\n").unwrap();
    let before = std::fs::read(dir.join("m.postag")).unwrap();
    let runs: [&[&str]; 3] = [
        &["quantize", "--model", "m.postag", "-o", "m.postag"],
        &["quantize", "--model", "m.postag", "-o", "link.postag"],
        &[
            "tag",
            "--model",
            "./m.postag",
            "-i",
            "in.txt",
            "-o",
            "m.postag",
        ],
    ];
    for args in runs {
        let out = common::run(&dir, args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("is the --model file: the output would replace it"),
            "{args:?}: {err}"
        );
    }
    assert_eq!(std::fs::read(dir.join("m.postag")).unwrap(), before);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `-o` naming an input (by another name too) is refused before anything is read or
/// written; `-o` naming a directory (or ending in `/`) says so.
#[test]
fn import_torch_refuses_to_write_over_its_inputs_or_a_directory() {
    let dir = workdir("import-output");
    let (st, vocab) = torch_fixture_files("bi1_word_crf_unk_09");
    std::fs::copy(&st, dir.join("m.safetensors")).unwrap();
    std::fs::copy(&vocab, dir.join("m.json")).unwrap();
    std::os::unix::fs::symlink("m.json", dir.join("link.json")).unwrap();
    std::fs::create_dir(dir.join("sub")).unwrap();
    let (st, vocab) = (dir.join("m.safetensors"), dir.join("m.json"));
    let before = (std::fs::read(&st).unwrap(), std::fs::read(&vocab).unwrap());
    for (out, want) in [
        (
            "m.json",
            "-o m.json is the --vocab file: the output would replace it",
        ),
        ("link.json", "-o link.json is the --vocab file"),
        (
            "./m.safetensors",
            "-o ./m.safetensors is the --state-dict file",
        ),
        ("sub", "cannot write sub: it is a directory"),
        ("sub/", "cannot write sub/: it is a directory"),
        ("new/", "cannot write new/: a file's name cannot end in /"),
    ] {
        let res = import_torch(&dir, &st, &vocab, out, &[]);
        let err = String::from_utf8_lossy(&res.stderr);
        assert!(!res.status.success() && err.contains(want), "{out}: {err}");
    }
    assert_eq!(
        (std::fs::read(&st).unwrap(), std::fs::read(&vocab).unwrap()),
        before
    );
    assert!(!dir.join("new").exists());
    assert_eq!(std::fs::read_dir(dir.join("sub")).unwrap().count(), 0);
    let _ = std::fs::remove_dir_all(&dir);
}
