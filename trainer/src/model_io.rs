//! Trained weights and vocabularies to and from the core's blob format.

use anyhow::Result;
use postag_core::builder::{BlobBuilder, BuildError};
use postag_core::format::{CharConfig, Config, LstmPart, LstmShape, Net, Role, WordConfig};
use postag_core::tensor::{Matrix, Storage};
use postag_core::Model;

use crate::nn::{Arch, Cell, CharArch, Crf, Params};
use crate::vocab::Vocab;

fn shape(hidden: usize, layers: usize, bidirectional: bool) -> LstmShape {
    LstmShape {
        hidden: hidden as u32,
        layers: layers as u8,
        bidirectional,
    }
}

/// The blob configuration for `params` and `vocab`.
pub fn config(params: &Params, vocab: &Vocab) -> Config {
    let a = &params.arch;
    Config {
        words: WordConfig {
            rows: a.word_vocab as u32,
            dim: a.word_dim as u32,
            unknown: vocab.unknown_word,
            normalize: vocab.normalize,
        },
        chars: a
            .char
            .as_ref()
            .zip(vocab.chars.as_ref())
            .map(|(c, cv)| CharConfig {
                rows: c.vocab as u32,
                dim: c.dim as u32,
                unknown: cv.unknown,
                max_word_chars: cv.max_word_chars as u32,
                lstm: shape(c.hidden, c.layers, c.bidirectional),
            }),
        lstm: shape(a.hidden, a.layers, a.bidirectional),
        tags: a.num_tags as u32,
        crf: a.crf,
        tag_column: vocab.column,
    }
}

/// Writes `params` and `vocab` as a blob, with weight matrices in `storage` (f32 LSTMs
/// in the panel layout).
pub fn to_blob(params: &Params, vocab: &Vocab, storage: Storage) -> Result<Vec<u8>> {
    to_blob_in(params, vocab, storage, true)
}

/// [`to_blob`], with f32 LSTMs in panels (format version 2) or rows (version 1)
/// ([`BlobBuilder::panels`]).
pub fn to_blob_in(
    params: &Params,
    vocab: &Vocab,
    storage: Storage,
    panels: bool,
) -> Result<Vec<u8>> {
    let a = &params.arch;
    let mut b = BlobBuilder::new(config(params, vocab));
    b.panels(panels);
    b.weights(
        Role::WordEmbedding,
        a.word_vocab,
        a.word_dim,
        &params.word_emb,
        storage,
    )?;
    b.words(vocab.words.iter().map(|(w, &r)| (w.as_str(), r)))?;
    if let (Some(c), Some(cv)) = (&a.char, &vocab.chars) {
        b.weights(
            Role::CharEmbedding,
            c.vocab,
            c.dim,
            &params.char_emb,
            storage,
        )?;
        b.chars(cv.index.iter().map(|(&c, &r)| (c, r)))?;
        b.lstm_stack(Net::Char, storage, |role, _, _| {
            cell_tensor(&params.char_lstm, role)
        })?;
    }
    b.lstm_stack(Net::Word, storage, |role, _, _| {
        cell_tensor(&params.lstm, role)
    })?;
    b.weights(
        Role::TagWeights,
        a.num_tags,
        a.lstm_output(),
        &params.tag_w,
        storage,
    )?;
    b.vector(Role::TagBias, &params.tag_b)?;
    b.tag_names(vocab.tags.iter().map(String::as_str))?;
    if let Some(crf) = &params.crf {
        b.square(Role::CrfTransitions, a.num_tags, &crf.transitions)?;
        b.vector(Role::CrfStart, &crf.start)?;
        b.vector(Role::CrfEnd, &crf.end)?;
    }
    Ok(b.finish()?)
}

/// The weights of an LSTM role from `layers[layer][direction]`.
fn cell_tensor(layers: &[Vec<Cell>], role: Role) -> Result<Vec<f32>, BuildError> {
    let Role::Lstm {
        layer,
        reverse,
        part,
        ..
    } = role
    else {
        return Err(BuildError::WrongLength(role));
    };
    let cell = layers
        .get(layer as usize)
        .and_then(|l| l.get(reverse as usize))
        .ok_or(BuildError::WrongLength(role))?;
    Ok(match part {
        LstmPart::InputWeights => cell.w_ih.clone(),
        LstmPart::HiddenWeights => cell.w_hh.clone(),
        LstmPart::Bias => cell.b.clone(),
    })
}

fn matrix(m: &Matrix<'_>) -> Vec<f32> {
    let mut out = vec![0.0; m.rows() * m.cols()];
    for (r, row) in out
        .chunks_exact_mut(m.cols().max(1))
        .enumerate()
        .take(m.rows())
    {
        m.row_into(r, row);
    }
    out
}

fn stack(s: &postag_core::Stack<'_>) -> Vec<Vec<Cell>> {
    let shape = s.shape();
    (0..shape.layers as usize)
        .map(|l| {
            (0..shape.directions())
                .map(|d| {
                    let c = s.cell(l, d);
                    Cell {
                        w_ih: matrix(&c.w_ih),
                        w_hh: matrix(&c.w_hh),
                        b: c.bias.iter().collect(),
                    }
                })
                .collect()
        })
        .collect()
}

/// Weights (dequantized to f32) and vocabularies of a model, to be written again. A
/// vocabulary word that is not its own normalization (`The` where words are
/// lowercased) is refused: no input ever looks it up, and a writer, which normalizes
/// every word, would make it one that is.
pub fn from_model(model: &Model<'_>) -> Result<(Params, Vocab)> {
    let flags = model.config().words.normalize;
    if let Some((word, _)) = model
        .vocab()
        .find(|(w, _)| !postag_core::vocab::normalized(w, flags).eq(w.chars()))
    {
        anyhow::bail!(
            "the vocabulary holds {word:?}, which is not normalized as the model normalizes its input ({}): no input looks it up, and the model cannot be written again as it is",
            crate::vocab::normalize_name(flags)
        );
    }
    let cfg = model.config();
    let arch = Arch {
        word_vocab: cfg.words.rows as usize,
        word_dim: cfg.words.dim as usize,
        char: cfg.chars.map(|c| CharArch {
            vocab: c.rows as usize,
            dim: c.dim as usize,
            hidden: c.lstm.hidden as usize,
            layers: c.lstm.layers as usize,
            bidirectional: c.lstm.bidirectional,
        }),
        hidden: cfg.lstm.hidden as usize,
        layers: cfg.lstm.layers as usize,
        bidirectional: cfg.lstm.bidirectional,
        num_tags: cfg.tags as usize,
        crf: cfg.crf,
    };
    let (tag_w, tag_b) = model.tag_layer();
    let params = Params {
        word_emb: matrix(model.word_embedding()),
        char_emb: model
            .chars()
            .map(|c| matrix(&c.embedding))
            .unwrap_or_default(),
        char_lstm: model.chars().map(|c| stack(&c.lstm)).unwrap_or_default(),
        lstm: stack(model.lstm()),
        tag_w: matrix(tag_w),
        tag_b: tag_b.iter().collect(),
        crf: model.crf().map(|c| Crf {
            transitions: c.transitions.iter().collect(),
            start: c.start.iter().collect(),
            end: c.end.iter().collect(),
        }),
        arch,
    };
    Ok((params, Vocab::from_model(model)))
}

/// Whether every weight matrix of the tagger is int8.
pub fn is_quantized(model: &Model<'_>) -> bool {
    model.storage() == Some(Storage::I8)
}

pub use postag_core::summary::tagger_lstm_layout;
