//! The seed tutorial's training run through the real CLI: import its PyTorch weights,
//! train 300 epochs of SGD on its two sentences, and compare with PyTorch.

mod common;

use common::{fails, import_torch, ok, succeeded};

use postag_core::Model;
use postag_testutil::{floats, read_json, shared, workdir};

#[test]
fn seed_training_run_matches_pytorch_and_the_printed_table() {
    let Some(shared) = shared() else { return };
    let seed = shared.join("fixtures/seed");
    let expected = read_json(&seed.join("tagger_expected.json"));
    let dir = workdir("seed");

    // The tutorial's training data, in its order, as CoNLL-U.
    let mut conllu = String::new();
    for s in expected["training_data"].as_array().unwrap() {
        for (i, (w, t)) in s["words"]
            .as_array()
            .unwrap()
            .iter()
            .zip(s["tags"].as_array().unwrap())
            .enumerate()
        {
            conllu.push_str(&format!(
                "{}\t{}\t_\t{}\t_\t_\t_\t_\t_\t_\n",
                i + 1,
                w.as_str().unwrap(),
                t.as_str().unwrap()
            ));
        }
        conllu.push('\n');
    }
    std::fs::write(dir.join("seed.conllu"), conllu).unwrap();
    std::fs::write(
        dir.join("unknown.txt"),
        "The dog ate the apple\nThe cat ate\n",
    )
    .unwrap();
    let st = seed.join("tagger_init.safetensors");
    let vocab = seed.join("tagger_vocab.json");
    succeeded(&[], import_torch(&dir, &st, &vocab, "init.postag", &[]));
    ok(
        &dir,
        &[
            "train",
            "--train",
            "seed.conllu",
            "--init",
            "init.postag",
            "-o",
            "trained.postag",
            "--optimizer",
            "sgd",
            "--lr",
            "0.1",
            "--batch-size",
            "1",
            "--epochs",
            "300",
            "--no-shuffle",
            "--dropout",
            "0",
            "--word-dropout",
            "0",
            "--clip",
            "0",
            "--no-quantize",
            "--quiet",
        ],
    );
    // The tutorial's vocabulary has no unknown-word entry: an unknown word is a clear error.
    let err = fails(
        &dir,
        &["tag", "--model", "init.postag", "--input", "unknown.txt"],
    );
    assert!(
        err.contains("\"cat\"") && err.contains("no unknown-word entry"),
        "{err}"
    );

    let blob = std::fs::read(dir.join("trained.postag")).unwrap();
    let model = Model::from_bytes(&blob).unwrap();
    let tokens = ["The", "dog", "ate", "the", "apple"];
    let mut scratch = vec![0u8; model.scratch_bytes(5).unwrap()];
    let (mut tags, mut scores) = ([0u16; 5], [0f32; 15]);
    model
        .tag(&tokens, &mut scratch, &mut tags, Some(&mut scores))
        .unwrap();
    let want = floats(&expected["scores_after_training"]);
    let diff = scores
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    println!("after 300 epochs: max |diff| vs PyTorch = {diff:.2e}");
    assert!(diff <= 1e-4, "max diff {diff:e}");
    let names: Vec<&str> = tags.iter().map(|&t| model.tag_name(t as usize)).collect();
    assert_eq!(names, ["DET", "NN", "V", "DET", "NN"]);

    // The tutorial printed its table from the state the last training step left behind.
    let mut state = floats(&expected["carried_state"]["h"]);
    state.extend(floats(&expected["carried_state"]["c"]));
    model
        .tag_from_state(
            &tokens,
            &mut state,
            &mut scratch,
            &mut tags,
            Some(&mut scores),
        )
        .unwrap();
    for (got, printed) in scores
        .iter()
        .zip(floats(&expected["seed_printed_after_4dp"]))
    {
        assert!(
            (got - printed).abs() <= 0.5e-4 + 2e-6,
            "printed {printed}, got {got}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
