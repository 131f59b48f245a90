//! Helpers shared by the tests of every postag crate: repository paths, `../shared`
//! (skipped with a message, or failed under `CI=true`, when absent), fixture JSON.
//! It depends on the core alone, so the core's own tests can use it; the C ABI's test
//! helpers live in `postag-tests`.

pub mod timing;

use std::path::{Path, PathBuf};

use postag_core::torch::{self, ImportOptions, TorchVocab};
use serde_json::Value;

/// The repository root.
pub fn repo() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

/// Whether the tests run under `CI=true`, where nothing may be skipped.
pub fn in_ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// Prints why a test skips, or panics under `CI=true`.
pub fn skip(reason: &str) {
    if in_ci() {
        panic!("{reason}, and CI=true: this test must not skip");
    }
    eprintln!("SKIP: {reason}");
}

/// `../shared` beside the repository (treebanks and the tutorial's fixtures), or
/// `None` after [`skip`] when it is missing.
pub fn shared() -> Option<PathBuf> {
    let dir = repo().join("../shared");
    if dir.is_dir() {
        return Some(dir);
    }
    skip(&format!("{} not found", dir.display()));
    None
}

/// A fresh, empty scratch directory for one test.
pub fn workdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("postag-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A JSON file, parsed.
pub fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every number of a (nested) JSON array, flattened, as f32.
pub fn floats(v: &Value) -> Vec<f32> {
    match v {
        Value::Array(items) => items.iter().flat_map(floats).collect(),
        Value::Number(n) => vec![n.as_f64().unwrap() as f32],
        other => panic!("not a number array: {other}"),
    }
}

/// A JSON array of strings.
pub fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// A JSON array of small non-negative integers.
pub fn indices(v: &Value) -> Vec<u16> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_u64().unwrap() as u16)
        .collect()
}

/// Largest absolute difference of two equally long slices.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "length mismatch");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Names of the PyTorch parity fixtures in `tests/fixtures/torch/index.json`.
pub fn torch_fixtures() -> Vec<String> {
    let index = read_json(&repo().join("tests/fixtures/torch/index.json"));
    let names = strings(&index);
    assert!(
        names.len() >= 20,
        "fixture index lists only {} models",
        names.len()
    );
    names
}

/// The first `n` sentences of a CoNLL-U file, as text.
pub fn conllu_head(src: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(src).unwrap();
    let mut out = String::new();
    for block in text.split("\n\n").filter(|b| !b.trim().is_empty()).take(n) {
        out.push_str(block.trim_matches('\n'));
        out.push_str("\n\n");
    }
    out
}

/// A state_dict file and an index-map file imported as a blob.
pub fn import(safetensors: &Path, vocab: &Path, options: &ImportOptions) -> Vec<u8> {
    let tensors = torch::read_safetensors(&std::fs::read(safetensors).unwrap()).unwrap();
    let vocab = TorchVocab::from_json(&std::fs::read_to_string(vocab).unwrap()).unwrap();
    torch::blob_from_state_dict(tensors, &vocab, options).unwrap()
}

fn fixture_file(name: &str, ext: &str) -> PathBuf {
    repo().join(format!("tests/fixtures/torch/{name}.{ext}"))
}

/// The index maps of a parity fixture.
pub fn fixture_vocab(name: &str) -> TorchVocab {
    TorchVocab::from_json(&std::fs::read_to_string(fixture_file(name, "vocab.json")).unwrap())
        .unwrap()
}

/// A parity fixture imported with `vocab` and `options`.
pub fn fixture_blob_with(name: &str, vocab: &TorchVocab, options: &ImportOptions) -> Vec<u8> {
    let tensors =
        torch::read_safetensors(&std::fs::read(fixture_file(name, "safetensors")).unwrap())
            .unwrap();
    torch::blob_from_state_dict(tensors, vocab, options).unwrap()
}

/// A parity fixture imported as a blob with `options`.
pub fn fixture_blob(name: &str, options: &ImportOptions) -> Vec<u8> {
    fixture_blob_with(name, &fixture_vocab(name), options)
}

/// A parity fixture's `expected.json`.
pub fn fixture_expected(name: &str) -> Value {
    read_json(&fixture_file(name, "expected.json"))
}

/// A parity fixture: its blob imported with `options`, and its `expected.json`.
pub fn torch_fixture(name: &str, options: &ImportOptions) -> (Vec<u8>, Value) {
    (fixture_blob(name, options), fixture_expected(name))
}

/// The seed's first example (`lstm_3x3.json`: `nn.LSTM(3, 3)` over five inputs) as a
/// tagger blob: words `x0`..`x4` whose embeddings are the five inputs, tags `a b c`,
/// and an identity `hidden2tag`, so that the scores are `log_softmax` of the LSTM's
/// outputs. The model has no unknown-word row.
pub fn lstm_3x3_tagger(fixture: &Value) -> Vec<u8> {
    let tensor = |shape: &[usize], data: Vec<f32>| torch::TorchTensor {
        shape: shape.to_vec(),
        data,
    };
    let eye = vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
    let f = fixture;
    let dict = [
        (
            "word_embeddings.weight",
            tensor(&[5, 3], floats(&f["inputs"])),
        ),
        (
            "lstm.weight_ih_l0",
            tensor(&[12, 3], floats(&f["weight_ih_l0"])),
        ),
        (
            "lstm.weight_hh_l0",
            tensor(&[12, 3], floats(&f["weight_hh_l0"])),
        ),
        ("lstm.bias_ih_l0", tensor(&[12], floats(&f["bias_ih_l0"]))),
        ("lstm.bias_hh_l0", tensor(&[12], floats(&f["bias_hh_l0"]))),
        ("hidden2tag.weight", tensor(&[3, 3], eye)),
        ("hidden2tag.bias", tensor(&[3], vec![0.0; 3])),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let vocab = TorchVocab {
        word_to_ix: (0..5).map(|i| (format!("x{i}"), i)).collect(),
        tag_to_ix: [("a", 0), ("b", 1), ("c", 2)]
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect(),
        char_to_ix: None,
    };
    torch::blob_from_state_dict(dict, &vocab, &ImportOptions::default()).unwrap()
}

/// Where the data of the tensor `role` starts in `blob` (counted from the blob's first
/// byte), and its entry.
pub fn tensor_at(
    blob: &[u8],
    role: postag_core::format::Role,
) -> (usize, postag_core::format::TensorEntry) {
    let raw = postag_core::format::split(blob).unwrap();
    let payload = raw.payload.as_ptr() as usize - blob.as_ptr() as usize;
    let entry = raw
        .header
        .tensors
        .iter()
        .map(Result::unwrap)
        .find(|e| e.role == role)
        .unwrap();
    (payload + entry.offset as usize, entry)
}

/// `blob` (changed in place) with its CRC-32 made right again.
pub fn with_crc(mut blob: Vec<u8>) -> Vec<u8> {
    let n = blob.len() - 4;
    let crc = postag_core::crc32(&blob[..n]);
    blob[n..].copy_from_slice(&crc.to_le_bytes());
    blob
}
