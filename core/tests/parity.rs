//! The core's forward pass against PyTorch (fixtures from tests/fixtures/torch/generate.py).

use postag_core::arch::{self, Level};
use postag_core::tensor::Storage;
use postag_core::torch::ImportOptions;
use postag_core::Model;
use postag_testutil::{floats, indices, max_abs_diff, strings, torch_fixture, torch_fixtures};

const TOLERANCE: f32 = 1e-5;

/// Runs `check` at every kernel level this processor supports (forced on this
/// thread): every level must meet the same tolerances.
fn at_every_level(mut check: impl FnMut(Level)) {
    for level in Level::ALL.into_iter().filter(|l| l.is_supported()) {
        assert!(arch::force(Some(level)));
        check(level);
    }
    arch::force(None);
}

/// Tags every fixture sentence and returns the largest log-prob difference.
fn check_model(
    name: &str,
    blob: &[u8],
    expected: &serde_json::Value,
    tolerance: f32,
    check_tags: bool,
) -> f32 {
    let model = Model::from_bytes(blob).unwrap_or_else(|e| panic!("{name}: {e}"));
    let t = model.num_tags();
    let mut scratch = vec![0u8; model.scratch_bytes(40).unwrap()];
    let mut worst = 0.0f32;
    for (si, sentence) in expected["sentences"].as_array().unwrap().iter().enumerate() {
        let tokens = strings(&sentence["tokens"]);
        let want = floats(&sentence["log_probs"]);
        let mut tags = vec![0u16; tokens.len()];
        let mut scores = vec![0f32; tokens.len() * t];
        model
            .tag(&tokens, &mut scratch, &mut tags, Some(&mut scores))
            .unwrap_or_else(|e| panic!("{name} sentence {si}: {e}"));
        let diff = max_abs_diff(&scores, &want);
        assert!(
            diff <= tolerance,
            "{name} sentence {si}: max |diff| {diff:e} > {tolerance:e}"
        );
        worst = worst.max(diff);
        if check_tags {
            let key = if model.crf().is_some() {
                "viterbi"
            } else {
                "argmax"
            };
            assert_eq!(
                tags,
                indices(&sentence[key]),
                "{name} sentence {si}: {key} tags"
            );
        }
    }
    worst
}

#[test]
fn every_fixture_matches_pytorch_log_probs_and_tags() {
    at_every_level(|level| {
        let mut worst = 0.0f32;
        for name in torch_fixtures() {
            let (blob, expected) = torch_fixture(&name, &ImportOptions::default());
            let diff = check_model(&name, &blob, &expected, TOLERANCE, true);
            println!("{level:?} {name:32} max |log_prob diff| = {diff:.2e}");
            worst = worst.max(diff);
        }
        println!(
            "{level:?}, all fixtures: max |log_prob diff| = {worst:.2e} (tolerance {TOLERANCE:e})"
        );
    });
}

#[test]
fn results_do_not_depend_on_blob_alignment() {
    at_every_level(|level| {
        for name in torch_fixtures().iter().take(8) {
            let (blob, expected) = torch_fixture(name, &ImportOptions::default());
            for shift in 1..4 {
                let mut moved = vec![0u8; shift];
                moved.extend_from_slice(&blob);
                let what = format!("{name} [{level:?}, shifted by {shift}]");
                check_model(&what, &moved[shift..], &expected, TOLERANCE, true);
            }
        }
    });
}

#[test]
fn caller_held_state_matches_pytorch_initial_and_final_state() {
    at_every_level(|level| {
        let mut checked = 0;
        let mut worst = 0.0f32;
        for name in torch_fixtures() {
            let (blob, expected) = torch_fixture(&name, &ImportOptions::default());
            let stream = &expected["stream"];
            if stream.is_null() {
                continue;
            }
            let model = Model::from_bytes(&blob).unwrap();
            let t = model.num_tags();
            let sentence = &expected["sentences"][stream["sentence"].as_u64().unwrap() as usize];
            let tokens = strings(&sentence["tokens"]);
            let mut initial = floats(&stream["h0"]);
            initial.extend(floats(&stream["c0"]));
            let mut want_final = floats(&stream["h_n"]);
            want_final.extend(floats(&stream["c_n"]));
            let want = floats(&stream["log_probs"]);
            let mut scratch = vec![0u8; model.scratch_bytes(tokens.len()).unwrap()];

            // The whole sentence from the initial state.
            let mut state = initial.clone();
            let mut tags = vec![0u16; tokens.len()];
            let mut scores = vec![0f32; tokens.len() * t];
            model
                .tag_from_state(
                    &tokens,
                    &mut state,
                    &mut scratch,
                    &mut tags,
                    Some(&mut scores),
                )
                .unwrap();
            let diff = max_abs_diff(&scores, &want).max(max_abs_diff(&state, &want_final));
            assert!(diff <= TOLERANCE, "{name} [{level:?}]: max |diff| {diff:e}");
            worst = worst.max(diff);

            // One token at a time gives the same (not available with CRF transitions).
            if model.crf().is_none() {
                let mut state = initial.clone();
                let mut step_scores = vec![0f32; tokens.len() * t];
                for (i, token) in tokens.iter().enumerate() {
                    let tag = model
                        .step(
                            token.as_bytes(),
                            &mut state,
                            &mut scratch,
                            Some(&mut step_scores[i * t..(i + 1) * t]),
                        )
                        .unwrap();
                    assert_eq!(tag, tags[i], "{name} [{level:?}]: streamed tag {i}");
                }
                let diff = max_abs_diff(&step_scores, &want).max(max_abs_diff(&state, &want_final));
                assert!(
                    diff <= TOLERANCE,
                    "{name} [{level:?}]: streamed max |diff| {diff:e}"
                );
            } else {
                let mut state = initial.clone();
                let err = model.step(tokens[0].as_bytes(), &mut state, &mut scratch, None);
                assert_eq!(err, Err(postag_core::Error::NotStreamable));
            }
            checked += 1;
        }
        assert!(checked >= 8, "only {checked} fixtures have a stream entry");
        println!("{level:?}: {checked} streamed fixtures: max |diff| = {worst:.2e}");
    });
}

/// The documented int8 tolerance: int8 log-probs stay within this of the f32
/// model's on the parity fixtures (weights quantized per row, biases kept f32).
const INT8_TOLERANCE: f32 = 0.05;

#[test]
fn int8_models_stay_close_to_their_f32_source() {
    at_every_level(|level| {
        let options = ImportOptions {
            storage: Storage::I8,
            ..ImportOptions::default()
        };
        let mut worst = 0.0f32;
        let mut worst_unscaled = 0.0f32;
        let (mut agree, mut total) = (0usize, 0usize);
        let mut bytes = (0usize, 0usize);
        for name in torch_fixtures() {
            let (f32_blob, expected) = torch_fixture(&name, &ImportOptions::default());
            let (i8_blob, _) = torch_fixture(&name, &options);
            bytes.0 += f32_blob.len();
            bytes.1 += i8_blob.len();
            let (f, q) = (
                Model::from_bytes(&f32_blob).unwrap(),
                Model::from_bytes(&i8_blob).unwrap(),
            );
            let t = f.num_tags();
            let mut scratch = vec![0u8; f.scratch_bytes(40).unwrap()];
            for sentence in expected["sentences"].as_array().unwrap() {
                let tokens = strings(&sentence["tokens"]);
                let n = tokens.len();
                let (mut a, mut b) = (vec![0f32; n * t], vec![0f32; n * t]);
                let (mut ta, mut tb) = (vec![0u16; n], vec![0u16; n]);
                f.tag(&tokens, &mut scratch, &mut ta, Some(&mut a)).unwrap();
                q.tag(&tokens, &mut scratch, &mut tb, Some(&mut b)).unwrap();
                let diff = max_abs_diff(&a, &b);
                worst = worst.max(diff);
                if expected["arch"]["weight_scale"].as_f64() == Some(1.0) {
                    worst_unscaled = worst_unscaled.max(diff);
                }
                agree += ta.iter().zip(&tb).filter(|(x, y)| x == y).count();
                total += n;
            }
        }
        println!(
            "{level:?}: int8 vs f32: max |log_prob diff| {worst:.4} (unscaled models {worst_unscaled:.4}), tags agree {agree}/{total}"
        );
        println!("blob bytes: f32 {} int8 {}", bytes.0, bytes.1);
        // Tiny fixtures carry vocabularies and per-row scales, so the ratio is below 4x.
        assert!(
            bytes.1 * 2 < bytes.0,
            "int8 blobs are not much smaller: {bytes:?}"
        );
        assert!(
            worst <= INT8_TOLERANCE,
            "{level:?}: int8 max diff {worst} > {INT8_TOLERANCE}"
        );
        assert!(
            agree as f64 >= 0.97 * total as f64,
            "int8 tags agree on only {agree}/{total}"
        );
    });
}
