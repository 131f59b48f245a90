//! Helpers shared by the core's integration tests.
#![allow(dead_code)]

pub mod tiny;

use postag_core::torch;
use std::collections::BTreeMap;

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
