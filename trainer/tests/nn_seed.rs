//! THE SEED: the tutorial's LSTMTagger, trained exactly as the tutorial does (300 epochs,
//! SGD lr 0.1, one sentence per step, NLLLoss, zero initial state per sentence) from
//! PyTorch's initial weights, must reproduce PyTorch's scores before and after training.

use std::collections::HashMap;
use std::path::PathBuf;

use postag_trainer::nn::*;
use safetensors::SafeTensors;
use serde_json::Value;

fn shared_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared"));
    if dir.join("fixtures/seed").is_dir() {
        return Some(dir);
    }
    let msg = format!("{} is missing", dir.join("fixtures/seed").display());
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{msg} (required under CI=true)");
    }
    eprintln!("skipping: {msg}");
    None
}

fn tensor(st: &SafeTensors, name: &str, shape: &[usize]) -> Vec<f32> {
    let t = st.tensor(name).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(t.shape(), shape, "{name}");
    t.data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

fn matrix(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .flat_map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
        })
        .collect()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn seed_tagger_trains_like_pytorch() {
    let Some(shared) = shared_dir() else { return };
    let dir = shared.join("fixtures/seed");
    let vocab: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("tagger_vocab.json")).unwrap())
            .unwrap();
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("tagger_expected.json")).unwrap())
            .unwrap();
    let ix = |map: &Value| -> HashMap<String, u64> {
        map.as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
            .collect()
    };
    let word_to_ix = ix(&vocab["word_to_ix"]);
    let tag_to_ix = ix(&vocab["tag_to_ix"]);

    let (v, e, h, t) = (word_to_ix.len(), 6, 6, tag_to_ix.len());
    let arch = Arch {
        word_vocab: v,
        word_dim: e,
        char: None,
        hidden: h,
        layers: 1,
        bidirectional: false,
        num_tags: t,
        crf: false,
    };
    let bytes = std::fs::read(dir.join("tagger_init.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut params = Params::zeros(&arch);
    params.word_emb = tensor(&st, "word_embeddings.weight", &[v, e]);
    let cell = &mut params.lstm[0][0];
    cell.w_ih = tensor(&st, "lstm.weight_ih_l0", &[4 * h, e]);
    cell.w_hh = tensor(&st, "lstm.weight_hh_l0", &[4 * h, h]);
    let b_ih = tensor(&st, "lstm.bias_ih_l0", &[4 * h]);
    let b_hh = tensor(&st, "lstm.bias_hh_l0", &[4 * h]);
    cell.b = b_ih.iter().zip(&b_hh).map(|(a, b)| a + b).collect();
    params.tag_w = tensor(&st, "hidden2tag.weight", &[t, h]);
    params.tag_b = tensor(&st, "hidden2tag.bias", &[t]);

    let training: Vec<Sentence> = expected["training_data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ex| {
            let strs = |k: &str| -> Vec<String> {
                ex[k]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str().unwrap().to_string())
                    .collect()
            };
            Sentence {
                words: strs("words").iter().map(|w| word_to_ix[w] as u32).collect(),
                chars: Vec::new(),
                tags: strs("tags").iter().map(|t| tag_to_ix[t] as u16).collect(),
            }
        })
        .collect();
    // "The dog ate the apple" is the first training sentence.
    let probe = &training[0];

    let before = predict(&params, &[probe], 1).remove(0);
    let d_before = max_abs_diff(&before, &matrix(&expected["scores_before_training"]));
    println!("scores before training: max |diff| vs PyTorch = {d_before:e}");
    assert!(d_before <= 1e-5, "before training: max |diff| {d_before}");

    let mut grads = Params::zeros(&arch);
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
    let d_after = max_abs_diff(&after, &matrix(&expected["scores_after_training"]));
    println!("scores after 300 epochs: max |diff| vs PyTorch = {d_after:e}");
    assert!(
        d_after <= 1e-4,
        "after training: max |diff| {d_after}\n{after:?}"
    );
    // The tutorial's verdict: DET NN V DET NN.
    assert_eq!(decode(&params, &[probe], 1)[0], vec![0, 1, 2, 0, 1]);
}
