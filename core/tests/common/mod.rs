//! Helpers shared by the core's integration tests.
#![allow(dead_code)]

pub mod tiny;

use std::collections::BTreeMap;
use std::path::Path;

use postag_core::torch::{self, ImportOptions, TorchVocab};
use serde_json::Value;

use postag_testutil::repo;

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
