//! What a blob holds, for people and tools: the facts `postag inspect --json` prints and
//! Python's `Model.info()` returns, under one set of names (serializable with serde).

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use serde::Serialize;

use crate::format::{
    self, LstmShape, Net, Role, TagColumn, NORMALIZE_FOLD_DIGITS, NORMALIZE_LOWERCASE,
};
use crate::segment::Segmenter;
use crate::tensor::{Layout, Storage};
use crate::{Error, Model, Stack};

/// A blob's dimensions, options and sizes (all sizes in bytes).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// The name the caller knows the blob by (a file name).
    pub model: String,
    /// The blob's length.
    pub bytes: usize,
    /// The format version the blob declares (1, or 2 with f32 panels).
    pub format_version: u16,
    /// Weight storage: [`storage_name`]'s, or "mixed f32 and int8".
    pub weights: &'static str,
    /// The word LSTM's matrices: "rows", "panels", or "mixed".
    pub word_lstm_layout: &'static str,
    /// The char LSTM's matrices, as `word_lstm_layout`; `None` without a char net.
    pub char_lstm_layout: Option<&'static str>,
    /// "UPOS" or "XPOS": the CoNLL-U column the tags come from.
    pub tag_column: &'static str,
    /// The tag names, in score order.
    pub tags: Vec<String>,
    /// The word embedding and vocabulary.
    pub words: Words,
    /// The char net, if the model has one.
    pub chars: Option<Chars>,
    /// The word LSTM.
    pub lstm: LstmShape,
    /// Whether tags are decoded by a CRF (Viterbi).
    pub crf: bool,
    /// The blob's bytes by part ("word LSTM", "segmenter", "header, padding, CRC", ...).
    pub bytes_by_part: BTreeMap<&'static str, usize>,
    /// The sentence length the scratch sizes are for.
    pub scratch_tokens: usize,
    /// [`Model::scratch_bytes`] for `scratch_tokens` (`None` above the limit).
    pub scratch_bytes: Option<usize>,
    /// [`Model::min_scratch_bytes`] for `scratch_tokens`.
    pub min_scratch_bytes: Option<usize>,
    /// [`Model::cached_scratch_bytes`] for `scratch_tokens`.
    pub cached_scratch_bytes: Option<usize>,
    /// [`Model::state_len`] for a model that streams, else `None`.
    pub state_floats: Option<usize>,
    /// The segmenter, if the blob has one.
    pub segmenter: Option<SegmenterSummary>,
}

/// The word embedding and vocabulary of a [`Summary`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Words {
    /// Words in the vocabulary.
    pub vocabulary: usize,
    /// Embedding rows.
    pub rows: u32,
    /// Embedding size.
    pub dim: u32,
    /// The unknown-word row, if any.
    pub unknown_row: Option<u32>,
    /// How words are normalized before lookup ([`normalize_names`]).
    pub normalize: Vec<&'static str>,
}

/// The char net of a [`Summary`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Chars {
    /// Characters in the vocabulary.
    pub vocabulary: usize,
    /// Embedding rows.
    pub rows: u32,
    /// Embedding size.
    pub dim: u32,
    /// The unknown-char row, if any.
    pub unknown_row: Option<u32>,
    /// Characters of a word the net reads.
    pub max_word_chars: u32,
    /// The char LSTM's hidden size per direction.
    pub hidden: u32,
    /// The char LSTM's layers.
    pub layers: u8,
    /// Whether the char LSTM is bidirectional.
    pub bidirectional: bool,
}

/// The segmenter of a [`Summary`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmenterSummary {
    /// Its section's length.
    pub bytes: usize,
    /// Characters in its vocabulary.
    pub chars: usize,
    /// Char embedding size.
    pub dim: usize,
    /// LSTM hidden size per direction.
    pub hidden: usize,
    /// Whether its LSTM is bidirectional.
    pub bidirectional: bool,
    /// Entries of its multiword table.
    pub multiword_forms: usize,
    /// Whether its tokens may hold whitespace.
    pub spaces_in_tokens: bool,
    /// Its weight storage ([`storage_name`]).
    pub weights: &'static str,
}

impl Summary {
    /// The summary of `blob`, known as `name`, with scratch sizes for sentences of
    /// `tokens` tokens. Errors: the blob's, as [`Model::from_bytes`] and
    /// [`Segmenter::from_bytes`] give them.
    pub fn new(name: &str, blob: &[u8], tokens: usize) -> Result<Summary, Error> {
        let model = Model::from_bytes(blob)?;
        let segmenter = Segmenter::from_bytes(blob)?;
        let raw = format::split(blob)?;
        let mut bytes_by_part: BTreeMap<&'static str, usize> = BTreeMap::new();
        for entry in raw.header.tensors.iter().flatten() {
            *bytes_by_part.entry(part_name(entry.role)).or_default() +=
                entry.dtype.byte_len(entry.rows, entry.cols).unwrap_or(0);
        }
        let tensor_bytes: usize = bytes_by_part.values().sum();
        bytes_by_part.insert("header, padding, CRC", blob.len() - tensor_bytes);
        let c = model.config();
        Ok(Summary {
            model: name.to_string(),
            bytes: blob.len(),
            format_version: format::declared_version(blob)?,
            weights: model.storage().map_or("mixed f32 and int8", storage_name),
            word_lstm_layout: layout_name(word_lstm_layout(&model)),
            char_lstm_layout: model.chars().map(|c| layout_name(lstm_layout(&c.lstm))),
            tag_column: match c.tag_column {
                TagColumn::Upos => "UPOS",
                TagColumn::Xpos => "XPOS",
            },
            tags: model.tag_names().map(str::to_string).collect(),
            words: Words {
                vocabulary: model.vocab_len(),
                rows: c.words.rows,
                dim: c.words.dim,
                unknown_row: c.words.unknown,
                normalize: normalize_names(c.words.normalize),
            },
            chars: c.chars.map(|ch| Chars {
                vocabulary: model.chars().map_or(0, |n| n.vocab_len()),
                rows: ch.rows,
                dim: ch.dim,
                unknown_row: ch.unknown,
                max_word_chars: ch.max_word_chars,
                hidden: ch.lstm.hidden,
                layers: ch.lstm.layers,
                bidirectional: ch.lstm.bidirectional,
            }),
            lstm: c.lstm,
            crf: c.crf,
            bytes_by_part,
            scratch_tokens: tokens,
            scratch_bytes: model.scratch_bytes(tokens),
            min_scratch_bytes: model.min_scratch_bytes(tokens),
            cached_scratch_bytes: model.cached_scratch_bytes(tokens),
            state_floats: model.has_state().then(|| model.state_len()),
            segmenter: segmenter.map(|s| SegmenterSummary {
                bytes: s.byte_len(),
                chars: s.vocab_len(),
                dim: s.embedding_dim(),
                hidden: s.hidden(),
                bidirectional: s.bidirectional(),
                multiword_forms: s.multiwords(),
                spaces_in_tokens: s.spaces_in_tokens(),
                weights: storage_name(s.storage()),
            }),
        })
    }
}

/// "f32" or "int8".
pub fn storage_name(storage: Storage) -> &'static str {
    match storage {
        Storage::F32 => "f32",
        Storage::I8 => "int8",
    }
}

/// The names of the `format::NORMALIZE_*` flags set in `flags`, in order: "lowercase",
/// "fold digits".
pub fn normalize_names(flags: u8) -> Vec<&'static str> {
    [
        (NORMALIZE_LOWERCASE, "lowercase"),
        (NORMALIZE_FOLD_DIGITS, "fold digits"),
    ]
    .into_iter()
    .filter(|(f, _)| flags & f != 0)
    .map(|(_, n)| n)
    .collect()
}

/// The layout of the word LSTM's weight matrices: `Some` when every one is in it,
/// `None` when they differ (a blob written by hand).
pub fn word_lstm_layout(model: &Model<'_>) -> Option<Layout> {
    lstm_layout(model.lstm())
}

/// The layout of every LSTM weight matrix of the tagger (word and char LSTMs; an int8
/// char LSTM, which has no panel layout, aside): `Some` when they agree, `None` when
/// they differ (a blob written by hand, or by an earlier writer, which kept an f32 char
/// LSTM in rows: what `postag convert --layout panels` rewrites).
pub fn tagger_lstm_layout(model: &Model<'_>) -> Option<Layout> {
    let word = lstm_layout(model.lstm())?;
    model
        .chars()
        .is_none_or(|c| {
            c.lstm.cell(0, 0).w_hh.storage() == Storage::I8 || lstm_layout(&c.lstm) == Some(word)
        })
        .then_some(word)
}

/// "rows", "panels", or (`None`) "mixed".
fn layout_name(layout: Option<Layout>) -> &'static str {
    match layout {
        Some(Layout::Panels) => "panels",
        Some(Layout::Rows) => "rows",
        None => "mixed",
    }
}

/// The layout of an LSTM stack's `W_ih` and `W_hh` matrices: `Some` when every one is
/// in it, `None` when they differ (a blob written by hand).
pub fn lstm_layout(stack: &Stack<'_>) -> Option<Layout> {
    let shape = stack.shape();
    let mut layouts = (0..shape.layers as usize)
        .flat_map(|l| (0..shape.directions()).map(move |d| (l, d)))
        .flat_map(|(l, d)| {
            let c = stack.cell(l, d);
            [c.w_ih.layout(), c.w_hh.layout()]
        });
    let first = layouts.next()?;
    layouts.all(|x| x == first).then_some(first)
}

/// The part of the model a tensor of `role` belongs to, as [`Summary::bytes_by_part`]
/// names it.
pub fn part_name(role: Role) -> &'static str {
    match role {
        Role::WordEmbedding => "word embedding",
        Role::WordStrings | Role::WordOffsets | Role::WordRows => "word vocabulary",
        Role::CharEmbedding => "char embedding",
        Role::CharCodes | Role::CharRows => "char vocabulary",
        Role::Lstm { net: Net::Char, .. } => "char LSTM",
        Role::Lstm { net: Net::Word, .. } => "word LSTM",
        Role::TagWeights | Role::TagBias => "hidden2tag",
        Role::TagStrings | Role::TagOffsets => "tag names",
        Role::CrfTransitions | Role::CrfStart | Role::CrfEnd => "CRF",
        Role::Segmenter(_) => "segmenter",
    }
}
