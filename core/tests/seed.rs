//! The seed tutorial's printed numbers, from ../shared/fixtures/seed.

use postag_core::tensor::{Matrix, Vector};
use postag_core::torch::ImportOptions;
use postag_core::{Cell, Model};
use postag_testutil::{floats, import, lstm_3x3_tagger, max_abs_diff, shared};
use serde_json::Value;

fn le(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn lstm_fixture() -> Option<Value> {
    let path = shared()?.join("fixtures/seed/lstm_3x3.json");
    Some(serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap())
}

#[test]
fn lstm_3x3_step_by_step_and_whole_sequence_match_pytorch() {
    let Some(f) = lstm_fixture() else { return };
    let (w_ih, w_hh) = (
        le(&floats(&f["weight_ih_l0"])),
        le(&floats(&f["weight_hh_l0"])),
    );
    let bias: Vec<f32> = floats(&f["bias_ih_l0"])
        .iter()
        .zip(floats(&f["bias_hh_l0"]))
        .map(|(a, b)| a + b)
        .collect();
    let bias = le(&bias);
    let cell = Cell {
        w_ih: Matrix::f32_le(&w_ih, 12, 3).unwrap(),
        w_hh: Matrix::f32_le(&w_hh, 12, 3).unwrap(),
        bias: Vector::f32_le(&bias, 12).unwrap(),
    };
    let inputs = floats(&f["inputs"]);
    let mut work = vec![0f32; cell.work_len()];
    let mut worst = 0.0f32;
    for case in ["step_by_step", "whole_sequence"] {
        let (mut h, mut c) = (floats(&f[case]["h0"]), floats(&f[case]["c0"]));
        let mut outputs = Vec::new();
        for x in inputs.chunks(3) {
            cell.step(x, &mut h, &mut c, &mut work).unwrap();
            outputs.extend_from_slice(&h);
        }
        let diff = max_abs_diff(&outputs, &floats(&f[case]["outputs"]));
        assert!(diff <= 1e-6, "{case}: outputs differ by {diff:e}");
        worst = worst.max(diff);
        if case == "whole_sequence" {
            let d = max_abs_diff(&h, &floats(&f[case]["h_n"]))
                .max(max_abs_diff(&c, &floats(&f[case]["c_n"])));
            assert!(d <= 1e-6, "h_n/c_n differ by {d:e}");
            // The tutorial prints these to 4 decimals.
            for (got, printed) in outputs.iter().zip(floats(&f["seed_printed_outputs_4dp"])) {
                assert!(
                    (got - printed).abs() <= 0.5e-4 + 1e-6,
                    "printed {printed}, got {got}"
                );
            }
        }
    }
    println!("lstm_3x3: max |diff| = {worst:.2e}");
}

/// The same LSTM as a tagger: five words whose embeddings are the five inputs and
/// an identity `hidden2tag`, so the scores are `log_softmax` of the LSTM outputs.
/// This runs the blocked tagging path from a caller-held initial state.
#[test]
fn lstm_3x3_as_a_tagger_from_an_initial_state() {
    let Some(f) = lstm_fixture() else { return };
    let blob = lstm_3x3_tagger(&f);
    let model = Model::from_bytes(&blob).unwrap();
    let tokens = ["x0", "x1", "x2", "x3", "x4"];
    let mut scratch = vec![0u8; model.scratch_bytes(5).unwrap()];
    for case in ["step_by_step", "whole_sequence"] {
        let mut state = floats(&f[case]["h0"]);
        state.extend(floats(&f[case]["c0"]));
        let (mut tags, mut scores) = ([0u16; 5], [0f32; 15]);
        model
            .tag_from_state(
                &tokens,
                &mut state,
                &mut scratch,
                &mut tags,
                Some(&mut scores),
            )
            .unwrap();
        let mut want = floats(&f[case]["outputs"]);
        for row in want.chunks_mut(3) {
            postag_core::kernels::log_softmax(row);
        }
        let diff = max_abs_diff(&scores, &want);
        assert!(diff <= 1e-6, "{case}: scores differ by {diff:e}");
        if case == "whole_sequence" {
            let mut final_state = floats(&f[case]["h_n"]);
            final_state.extend(floats(&f[case]["c_n"]));
            assert!(max_abs_diff(&state, &final_state) <= 1e-6);
        }
    }
    // The word LSTM cell in the blob is exactly the fixture's (bias summed once).
    let cell = model.lstm().cell(0, 0);
    assert_eq!(cell.hidden(), 3);
    assert_eq!(model.config().words.unknown, None);
}

#[test]
fn seed_tagger_scores_before_training_match_pytorch() {
    let Some(dir) = shared() else { return };
    let dir = dir.join("fixtures/seed");
    let blob = import(
        &dir.join("tagger_init.safetensors"),
        &dir.join("tagger_vocab.json"),
        &ImportOptions::default(),
    );
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("tagger_expected.json")).unwrap())
            .unwrap();
    let model = Model::from_bytes(&blob).unwrap();
    assert_eq!(model.tag_names().collect::<Vec<_>>(), ["DET", "NN", "V"]);
    let tokens = ["The", "dog", "ate", "the", "apple"];
    let mut scratch = vec![0u8; model.scratch_bytes(tokens.len()).unwrap()];
    let (mut tags, mut scores) = ([0u16; 5], [0f32; 15]);
    model
        .tag(&tokens, &mut scratch, &mut tags, Some(&mut scores))
        .unwrap();
    let diff = max_abs_diff(&scores, &floats(&expected["scores_before_training"]));
    println!("seed tagger before training: max |diff| = {diff:.2e}");
    assert!(diff <= 1e-5, "max |diff| {diff:e}");
    for (got, printed) in scores
        .iter()
        .zip(floats(&expected["seed_printed_before_4dp"]))
    {
        assert!(
            (got - printed).abs() <= 0.5e-4 + 1e-6,
            "printed {printed}, got {got}"
        );
    }
    // The tutorial's vocabulary has no unknown-word entry: an unknown word is an error.
    let err = model.tag(&["The", "cat"], &mut scratch, &mut tags, None);
    assert_eq!(err, Err(postag_core::Error::UnknownWord));
}
