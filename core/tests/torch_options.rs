//! `nn.LSTM` options in a state_dict: supported ones import, the others are refused
//! with a message that names the option.

use std::collections::BTreeMap;

use postag_core::torch::{
    blob_from_state_dict, read_safetensors, ImportOptions, TorchTensor, TorchVocab,
};

fn t(shape: &[usize], fill: f32) -> TorchTensor {
    let n = shape.iter().product();
    TorchTensor {
        shape: shape.to_vec(),
        data: (0..n)
            .map(|i| fill * (1.0 + (i % 7) as f32 * 0.1))
            .collect(),
    }
}

/// The tutorial's `LSTMTagger(embedding_dim=2, hidden_dim=2, vocab=3, tags=2)`;
/// `rows` is the number of gate rows of the recurrent weights (4H for an LSTM).
fn state_dict(rows: usize) -> BTreeMap<String, TorchTensor> {
    let mut d = BTreeMap::new();
    d.insert("word_embeddings.weight".into(), t(&[3, 2], 0.1));
    d.insert("lstm.weight_ih_l0".into(), t(&[rows, 2], 0.2));
    d.insert("lstm.weight_hh_l0".into(), t(&[rows, 2], -0.3));
    d.insert("lstm.bias_ih_l0".into(), t(&[rows], 0.05));
    d.insert("lstm.bias_hh_l0".into(), t(&[rows], -0.02));
    d.insert("hidden2tag.weight".into(), t(&[2, 2], 0.4));
    d.insert("hidden2tag.bias".into(), t(&[2], 0.1));
    d
}

fn vocab() -> TorchVocab {
    TorchVocab {
        word_to_ix: [("the", 0), ("dog", 1), ("<unk>", 2)]
            .into_iter()
            .map(|(w, i)| (w.to_string(), i))
            .collect(),
        tag_to_ix: [("DET", 0), ("NOUN", 1)]
            .into_iter()
            .map(|(w, i)| (w.to_string(), i))
            .collect(),
        char_to_ix: None,
    }
}

fn import_err(d: BTreeMap<String, TorchTensor>) -> String {
    blob_from_state_dict(d, &vocab(), &ImportOptions::default())
        .unwrap_err()
        .to_string()
}

#[test]
fn the_base_state_dict_imports() {
    blob_from_state_dict(state_dict(8), &vocab(), &ImportOptions::default()).unwrap();
}

#[test]
fn projections_are_refused_by_name() {
    // nn.LSTM(2, 2, proj_size=1): weight_hh is (4H, P) and weight_hr (P, H).
    let mut d = state_dict(8);
    d.insert("lstm.weight_hh_l0".into(), t(&[8, 1], 0.1));
    d.insert("lstm.weight_hr_l0".into(), t(&[1, 2], 0.1));
    d.insert("hidden2tag.weight".into(), t(&[2, 1], 0.4));
    assert_eq!(
        import_err(d),
        "`lstm`: LSTMs with projections (`proj_size`, `lstm.weight_hr_l0`) are not supported"
    );
}

#[test]
fn grus_and_plain_rnns_are_not_lstms() {
    assert_eq!(
        import_err(state_dict(6)),
        "`lstm` is not an LSTM: `lstm.weight_hh_l0` has shape [6, 2], 3H rows (a GRU?); an LSTM has 4H"
    );
    assert_eq!(
        import_err(state_dict(2)),
        "`lstm` is not an LSTM: `lstm.weight_hh_l0` has shape [2, 2], 1H rows (an RNN?); an LSTM has 4H"
    );
    assert_eq!(
        import_err(state_dict(5)),
        "`lstm.weight_hh_l0` has shape [5, 2], expected [4H, H]"
    );
}

#[test]
fn bias_false_imports_as_zero_biases() {
    // nn.LSTM(bias=False) and nn.Linear(bias=False) have no bias tensors: the same
    // model as explicit zero biases, byte for byte.
    let mut without = state_dict(8);
    let mut zeros = state_dict(8);
    for name in ["lstm.bias_ih_l0", "lstm.bias_hh_l0", "hidden2tag.bias"] {
        without.remove(name);
        let n = zeros[name].data.len();
        zeros.get_mut(name).unwrap().data = vec![0.0; n];
    }
    let options = ImportOptions::default();
    assert_eq!(
        blob_from_state_dict(without, &vocab(), &options).unwrap(),
        blob_from_state_dict(zeros, &vocab(), &options).unwrap()
    );
}

#[test]
fn one_lstm_bias_without_the_other_is_named() {
    // `bias=False` drops both; one alone is a damaged state_dict, not a zero bias.
    for (gone, kept) in [
        ("lstm.bias_hh_l0", "lstm.bias_ih_l0"),
        ("lstm.bias_ih_l0", "lstm.bias_hh_l0"),
    ] {
        let mut d = state_dict(8);
        d.remove(gone);
        assert_eq!(
            import_err(d),
            format!(
                "{gone} is missing while {kept} is there: an LSTM has both biases, or neither \
                 (bias=False)"
            )
        );
    }
}

#[test]
fn an_unexpected_key_is_named() {
    let mut d = state_dict(8);
    d.insert("dropout.p".into(), t(&[1], 0.5));
    assert_eq!(
        import_err(d),
        "state_dict tensor `dropout.p` is not understood: it is not part of a supported model (see `postag_core::torch` for the names)"
    );
}

#[test]
fn non_finite_and_out_of_range_values_are_named() {
    let mut d = state_dict(8);
    d.get_mut("lstm.weight_hh_l0").unwrap().data[2 * 3 + 1] = f32::NAN;
    assert_eq!(
        import_err(d),
        "lstm.weight_hh_l0[3, 1] is NaN; weights must be finite and within 2^48 (2.8e14) in magnitude, where f32 arithmetic cannot overflow"
    );
    // An f64 state_dict whose value does not fit in f32.
    let header = br#"{"x":{"dtype":"F64","shape":[2,2],"data_offsets":[0,32]}}"#;
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header);
    for v in [0.0f64, 1.0, 2.0, 1e300] {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    assert_eq!(
        read_safetensors(&bytes).unwrap_err().to_string(),
        "x[1, 1] is 1e300, out of f32 range"
    );
}

#[test]
fn a_char_vocabulary_for_a_word_only_state_dict_is_refused() {
    let mut v = vocab();
    v.char_to_ix = Some([("a".to_string(), 0)].into_iter().collect());
    assert_eq!(
        blob_from_state_dict(state_dict(8), &v, &ImportOptions::default())
            .unwrap_err()
            .to_string(),
        "the vocabulary has `char_to_ix` but the state_dict has no `char_embeddings.weight` (a model without char features): export the char model's state_dict, or leave `char_to_ix` out"
    );
}
