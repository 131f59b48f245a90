//! Helpers shared by the core's integration tests.
#![allow(dead_code)]

pub mod tiny;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use postag_core::torch::{self, ImportOptions, TorchVocab};
use serde_json::Value;

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `../shared` beside the repository, or `None` after printing why the test skips.
/// Under `CI=true` a missing directory fails the test instead.
pub fn shared() -> Option<PathBuf> {
    let dir = repo().join("../shared");
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "{} is missing and CI=true: this test must not skip",
            dir.display()
        );
    }
    eprintln!(
        "SKIP: {} not found; this test needs the shared fixtures",
        dir.display()
    );
    None
}

/// Parity fixture names from `tests/fixtures/torch/index.json`.
pub fn torch_fixtures() -> Vec<String> {
    let path = repo().join("tests/fixtures/torch/index.json");
    let index: Vec<String> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(
        index.len() >= 20,
        "fixture index lists only {} models",
        index.len()
    );
    index
}

/// Reads a state_dict and index maps and returns the blob and the tensors.
pub fn import(safetensors: &Path, vocab: &Path, options: &ImportOptions) -> Vec<u8> {
    let tensors = torch::read_safetensors(&std::fs::read(safetensors).unwrap()).unwrap();
    let vocab = TorchVocab::from_json(&std::fs::read_to_string(vocab).unwrap()).unwrap();
    torch::blob_from_state_dict(tensors, &vocab, options).unwrap()
}

/// A parity fixture: its blob (imported with `options`) and its expected.json.
pub fn torch_fixture(name: &str, options: &ImportOptions) -> (Vec<u8>, Value) {
    let dir = repo().join("tests/fixtures/torch");
    let blob = import(
        &dir.join(format!("{name}.safetensors")),
        &dir.join(format!("{name}.vocab.json")),
        options,
    );
    let expected = serde_json::from_str(
        &std::fs::read_to_string(dir.join(format!("{name}.expected.json"))).unwrap(),
    )
    .unwrap();
    (blob, expected)
}

pub fn floats(v: &Value) -> Vec<f32> {
    match v {
        Value::Array(items) => items.iter().flat_map(floats).collect(),
        Value::Number(n) => vec![n.as_f64().unwrap() as f32],
        other => panic!("not a number array: {other}"),
    }
}

pub fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

pub fn indices(v: &Value) -> Vec<u16> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_u64().unwrap() as u16)
        .collect()
}

pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "length mismatch");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Builds a map of f32 tensors for a hand-made state_dict.
pub fn state_dict(items: &[(&str, Vec<usize>, Vec<f32>)]) -> BTreeMap<String, torch::TorchTensor> {
    items
        .iter()
        .map(|(n, s, d)| {
            (
                n.to_string(),
                torch::TorchTensor {
                    shape: s.clone(),
                    data: d.clone(),
                },
            )
        })
        .collect()
}
