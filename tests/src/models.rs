//! Models the tests build: the seed's LSTM as a tagger, derived fixtures, and the
//! firmware's model.

use std::path::Path;

use postag_core::torch;
use serde_json::Value;

use crate::cases::{Case, Sentence, Stream};
use crate::{fixture_blob_with, fixture_vocab, floats};

/// The seed's first example (`fixtures/seed/lstm_3x3.json`: `nn.LSTM(3, 3)` run on five
/// inputs from a given `(h0, c0)`) as a tagger: five words `x0`..`x4` whose embeddings
/// are the five inputs, and an identity `hidden2tag`, so that the scores are the
/// `log_softmax` of PyTorch's LSTM outputs. Two sentences: the fixture's step-by-step
/// run (final state unknown) and its whole-sequence run (final `(h_n, c_n)` known).
pub fn seed_lstm_3x3(shared: &Path) -> Case {
    let path = shared.join("fixtures/seed/lstm_3x3.json");
    let f: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let blob = postag_testutil::lstm_3x3_tagger(&f);
    let tokens: Vec<Vec<u8>> = (0..5).map(|i| format!("x{i}").into_bytes()).collect();
    let sentences = ["step_by_step", "whole_sequence"]
        .iter()
        .map(|case| {
            let c = &f[case];
            let mut initial = floats(&c["h0"]);
            initial.extend(floats(&c["c0"]));
            let final_state = (!c["h_n"].is_null()).then(|| {
                let mut s = floats(&c["h_n"]);
                s.extend(floats(&c["c_n"]));
                s
            });
            let mut scores = floats(&c["outputs"]);
            for row in scores.chunks_mut(3) {
                postag_core::kernels::log_softmax(row);
            }
            let tags = scores
                .chunks(3)
                .map(|r| postag_core::kernels::argmax(r) as u16)
                .collect();
            Sentence {
                tokens: tokens.clone(),
                plain: None,
                stream: Some(Stream {
                    initial,
                    final_state,
                    tags,
                    scores,
                }),
            }
        })
        .collect();
    Case {
        name: "seed_lstm_3x3".into(),
        blob,
        tolerance: 1e-6,
        step_tolerance: 1e-6,
        sentences,
    }
}

/// A fixture with an unknown-word row but whose char vocabulary lost its `<unk>`
/// entry: a word with a character outside the vocabulary is `UNKNOWN_CHAR`.
pub fn without_unknown_char(name: &str) -> Vec<u8> {
    let mut vocab = fixture_vocab(name);
    let chars = vocab.char_to_ix.as_mut().expect("a char model");
    assert!(
        chars.remove(torch::UNKNOWN_KEY).is_some(),
        "{name} has no <unk> char"
    );
    fixture_blob_with(name, &vocab)
}

/// The shipped English model (int8, its word LSTM in rows) with its word LSTM converted
/// to the int8 panel layout (`builder::relayout_int8`, format version 3): the same
/// results, read by other kernels.
pub fn shipped_in_int8_panels() -> Vec<u8> {
    let path = crate::repo().join("models/en_ewt.postag");
    let blob = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    postag_core::builder::relayout_int8(&blob, true).unwrap()
}

/// The shipped micro English model, which the firmware runs on the boards with room for it.
pub const FIRMWARE_MODEL: &str = "models/en_ewt_micro.postag";

/// The shipped nano English model, which the firmware runs on every board (the only one
/// that fits the BBC micro:bit).
pub const FIRMWARE_NANO_MODEL: &str = "models/en_ewt_nano.postag";

/// One firmware model blob: the file named by `POSTAG_FIRMWARE_MODEL` if set, else
/// [`FIRMWARE_MODEL`].
pub fn firmware_model() -> (String, Vec<u8>) {
    firmware_models(&[FIRMWARE_MODEL]).remove(0)
}

/// The models the firmware runs on a board: the file named by `POSTAG_FIRMWARE_MODEL`
/// if set, else `defaults` (paths relative to the repository), as (path, blob) pairs.
pub fn firmware_models(defaults: &[&str]) -> Vec<(String, Vec<u8>)> {
    let paths: Vec<std::path::PathBuf> = match std::env::var_os("POSTAG_FIRMWARE_MODEL") {
        Some(path) => vec![path.into()],
        None => defaults.iter().map(|p| crate::repo().join(p)).collect(),
    };
    paths
        .into_iter()
        .map(|path| {
            let blob = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (path.display().to_string(), blob)
        })
        .collect()
}

/// `blob` with its header replaced by `edit(header)`, framed and checksummed anew:
/// blobs that pass the CRC but not what follows.
pub fn with_header(blob: &[u8], edit: impl FnOnce(&[u8]) -> Vec<u8>) -> Vec<u8> {
    use postag_core::format::{payload_start, PREAMBLE_LEN};
    let header_len = u32::from_le_bytes(blob[8..12].try_into().unwrap()) as usize;
    let payload = &blob[payload_start(header_len).unwrap()..blob.len() - 4];
    let header = edit(&blob[PREAMBLE_LEN..PREAMBLE_LEN + header_len]);
    let mut out = blob[..8].to_vec();
    out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    out.extend_from_slice(&header);
    out.resize(payload_start(header.len()).unwrap(), 0);
    out.extend_from_slice(payload);
    let crc = postag_core::crc32(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// A blob whose header bytes are all 0xFF: the CRC holds, the header does not decode.
pub fn malformed_header(blob: &[u8]) -> Vec<u8> {
    with_header(blob, |h| vec![0xFF; h.len()])
}

/// A blob whose header claims one tag more than its tensors have.
pub fn invalid_model(blob: &[u8]) -> Vec<u8> {
    with_header(blob, |h| {
        let mut header: postag_core::format::Header<'_> = postcard::from_bytes(h).unwrap();
        header.config.tags += 1;
        postcard::to_allocvec(&header).unwrap()
    })
}
