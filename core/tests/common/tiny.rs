//! A small model with every feature (chars, two bidirectional layers, CRF, int8
//! and f32 tensors), built from fixed formulas so its bytes are reproducible.

use postag_core::builder::BlobBuilder;
use postag_core::format::{
    CharConfig, Config, LstmShape, Net, Role, TagColumn, WordConfig, NORMALIZE_FOLD_DIGITS,
    NORMALIZE_LOWERCASE,
};
use postag_core::tensor::Storage;

/// Deterministic weights in [-0.5, 0.5).
fn values(seed: u32, n: usize) -> Vec<f32> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(12345);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x % 1000) as f32 / 1000.0 - 0.5
        })
        .collect()
}

pub const WORDS: [&str; 6] = ["the", "dog", "ate", "apple", "0", "ñandú"];
pub const TAGS: [&str; 4] = ["DET", "NOUN", "VERB", "NUM"];

pub fn config(crf: bool, bidirectional: bool, unknown_char: bool) -> Config {
    Config {
        words: WordConfig {
            rows: 7,
            dim: 3,
            unknown: Some(6),
            normalize: NORMALIZE_LOWERCASE | NORMALIZE_FOLD_DIGITS,
        },
        chars: Some(CharConfig {
            rows: 9,
            dim: 2,
            unknown: unknown_char.then_some(8),
            max_word_chars: 6,
            lstm: LstmShape {
                hidden: 2,
                layers: 2,
                bidirectional: true,
            },
        }),
        lstm: LstmShape {
            hidden: 3,
            layers: 2,
            bidirectional,
        },
        tags: 4,
        crf,
        tag_column: TagColumn::Upos,
    }
}

/// The model of `config`: an int8 word LSTM, every f32 matrix in rows (format version 1).
pub fn blob_with(config: Config) -> Vec<u8> {
    blob_with_word_lstm(config, Storage::I8, false)
}

/// [`blob_with`] with the word LSTM's weights stored as `word`, and the f32 LSTM
/// weights (the char LSTM's, and the word LSTM's if f32) in the panel layout (format
/// version 2) if `panels`, else in rows.
pub fn blob_with_word_lstm(config: Config, word: Storage, panels: bool) -> Vec<u8> {
    blob_in(config, word, panels, false)
}

/// [`blob_with_word_lstm`], with the char embedding and `hidden2tag` (f32) in panels
/// too if `more_panels`: matrices the builder keeps in rows, which a version 2 blob may
/// hold in panels.
pub fn blob_in(config: Config, word: Storage, panels: bool, more_panels: bool) -> Vec<u8> {
    blob_in_layouts(config, word, [panels; 2], more_panels)
}

/// The f32 word LSTM in panels and the char LSTM in rows: a version 2 blob as earlier
/// writers, which kept the char LSTM in rows, wrote it.
pub fn blob_with_char_lstm_in_rows() -> Vec<u8> {
    blob_in_layouts(config(true, true, true), Storage::F32, [false, true], false)
}

/// [`blob_in`] with the char LSTM's then the word LSTM's f32 weights in panels if
/// `[char_panels, word_panels]` say so.
fn blob_in_layouts(
    config: Config,
    word: Storage,
    [char_panels, word_panels]: [bool; 2],
    more_panels: bool,
) -> Vec<u8> {
    let mut b = BlobBuilder::new(config);
    b.panels(char_panels);
    let f32_weights = |b: &mut BlobBuilder, role, rows, cols, data: &[f32]| match more_panels {
        true => b.weights_in_panels(role, rows, cols, data),
        false => b.weights(role, rows, cols, data, Storage::F32),
    };
    let mut seed = 1;
    let mut next = |n| {
        seed += 1;
        values(seed, n)
    };
    b.weights(Role::WordEmbedding, 7, 3, &next(21), Storage::I8)
        .unwrap();
    b.words(WORDS.iter().enumerate().map(|(i, w)| (*w, i as u32)))
        .unwrap();
    f32_weights(&mut b, Role::CharEmbedding, 9, 2, &next(18)).unwrap();
    b.chars(
        "thedogaple"
            .chars()
            .filter(|c| *c != 'e')
            .enumerate()
            .map(|(i, c)| (c, i as u32 % 8))
            .collect::<std::collections::BTreeMap<_, _>>(),
    )
    .unwrap();
    // Char LSTM in f32, word LSTM in int8 (or `word`): blobs mix both storages.
    b.lstm_stack(Net::Char, Storage::F32, |_, rows, cols| {
        Ok(next(rows * cols))
    })
    .unwrap();
    b.panels(word_panels);
    b.lstm_stack(Net::Word, word, |_, rows, cols| Ok(next(rows * cols)))
        .unwrap();
    let d = config.lstm.output_dim();
    f32_weights(&mut b, Role::TagWeights, 4, d, &next(4 * d)).unwrap();
    b.vector(Role::TagBias, &next(4)).unwrap();
    b.tag_names(TAGS).unwrap();
    if config.crf {
        b.square(Role::CrfTransitions, 4, &next(16)).unwrap();
        b.vector(Role::CrfStart, &next(4)).unwrap();
        b.vector(Role::CrfEnd, &next(4)).unwrap();
    }
    b.finish().unwrap()
}

/// The pinned model: every feature on.
pub fn blob() -> Vec<u8> {
    blob_with(config(true, true, true))
}

/// The pinned model with an f32 word LSTM, it and the char LSTM in the panel layout
/// (format version 2).
pub fn blob_with_panels() -> Vec<u8> {
    blob_with_word_lstm(config(true, true, true), Storage::F32, true)
}

/// The pinned model with its int8 word LSTM in the int8 panel layout (format version 3).
pub fn blob_with_int8_panels() -> Vec<u8> {
    postag_core::builder::relayout_int8(&blob(), true).unwrap()
}
