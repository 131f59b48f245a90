//! THE SEED at the engine level: the tutorial's LSTMTagger, trained exactly as the
//! tutorial does (300 epochs, SGD lr 0.1, one sentence per step, NLLLoss, zero initial
//! state per sentence) from PyTorch's initial weights, reproduces PyTorch's scores
//! before and after training. (`seed_cli.rs` runs the same through the CLI.)

use postag_core::torch::{self, ImportOptions, TorchVocab};
use postag_core::Model;
use postag_testutil::{floats, max_abs_diff, read_json, shared, strings};
use postag_trainer::model_io::from_model;
use postag_trainer::nn::*;

#[test]
fn seed_tagger_trains_like_pytorch() {
    let Some(shared) = shared() else { return };
    let dir = shared.join("fixtures/seed");
    let expected = read_json(&dir.join("tagger_expected.json"));
    let tensors =
        torch::read_safetensors(&std::fs::read(dir.join("tagger_init.safetensors")).unwrap())
            .unwrap();
    let vocab =
        TorchVocab::from_json(&std::fs::read_to_string(dir.join("tagger_vocab.json")).unwrap())
            .unwrap();
    let blob = torch::blob_from_state_dict(tensors, &vocab, &ImportOptions::default()).unwrap();
    let (mut params, vocab) = from_model(&Model::from_bytes(&blob).unwrap()).unwrap();
    assert_eq!(params.arch.hidden, 6);

    let training: Vec<Sentence> = expected["training_data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ex| Sentence {
            words: strings(&ex["words"])
                .iter()
                .map(|w| vocab.word_row(w).unwrap())
                .collect(),
            chars: Vec::new(),
            tags: strings(&ex["tags"])
                .iter()
                .map(|t| vocab.tag_index[t])
                .collect(),
        })
        .collect();
    // "The dog ate the apple" is the first training sentence.
    let probe = &training[0];

    let before = predict(&params, &[probe], 1).remove(0);
    let d_before = max_abs_diff(&before, &floats(&expected["scores_before_training"]));
    println!("scores before training: max |diff| vs PyTorch = {d_before:e}");
    assert!(d_before <= 1e-5, "before training: max |diff| {d_before}");

    let mut grads = Params::zeros(&params.arch);
    let sgd = Sgd { lr: 0.1 };
    let opts = TrainOpts {
        dropout: 0.0,
        threads: 1,
    };
    let mut rng = Rng::new(0);
    for _epoch in 0..300 {
        for s in &training {
            grads.fill_zero();
            loss_and_grad(&params, &[s], &mut grads, &opts, &mut rng);
            sgd.step(&mut params, &grads);
        }
    }
    let after = predict(&params, &[probe], 1).remove(0);
    let d_after = max_abs_diff(&after, &floats(&expected["scores_after_training"]));
    println!("scores after 300 epochs: max |diff| vs PyTorch = {d_after:e}");
    assert!(
        d_after <= 1e-4,
        "after training: max |diff| {d_after}\n{after:?}"
    );
    // The tutorial's verdict: DET NN V DET NN.
    let tags: Vec<usize> = after.chunks(3).map(postag_core::kernels::argmax).collect();
    assert_eq!(tags, [0, 1, 2, 0, 1]);
}
