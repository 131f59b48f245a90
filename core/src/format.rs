//! The weight-blob format, versions 1 to 3 (byte-level specification in
//! `docs/FORMAT.md`). Version 2 adds the panel layout of f32 weights
//! ([`DType::F32Panels`]), version 3 that of int8 weights ([`DType::I8Panels`]); a blob
//! declares the lowest version that describes it, so a blob without panels is a
//! version 1 blob, byte for byte.
//!
//! ```text
//! offset      size  field
//! 0           6     magic "POSTAG"
//! 6           2     format version, u16 little-endian (1, 2 or 3)
//! 8           4     header length N, u32 little-endian
//! 12          N     header: postcard encoding of `Header`
//! 12+N        pad   zero bytes up to the next multiple of 16 (payload start P)
//! P           ...   payload: tensor data, at offsets relative to P
//! len-4       4     CRC-32 (IEEE) of bytes [0, len-4), u32 little-endian
//! ```
//!
//! These serde types are the only description of the header: the writer
//! (`builder`, feature `alloc`) serializes them and the loader deserializes them,
//! borrowed, without allocation.

use serde::{Deserialize, Serialize};

use crate::crc32::crc32;
use crate::Error;

/// First six bytes of every blob.
pub const MAGIC: [u8; 6] = *b"POSTAG";
/// The newest format version this library writes and reads: 3, whose tensors may use
/// the panel layouts of f32 weights ([`DType::F32Panels`], from version 2) and of int8
/// weights ([`DType::I8Panels`]).
pub const FORMAT_VERSION: u16 = 3;
/// The oldest format version this library reads: 1, the same format without the
/// panel layout. The builder writes it for every blob that has no panels.
pub const MIN_FORMAT_VERSION: u16 = 1;
/// The newest format version this build reads: [`FORMAT_VERSION`], except on
/// bare-metal targets (`target_os = "none"`: Cortex-M), which read version 1 only, so
/// that their code carries no panel paths (firmware runs int8 models, or f32 ones
/// written in rows: `BlobBuilder::panels(false)`).
pub const READ_VERSION: u16 = if cfg!(target_os = "none") {
    MIN_FORMAT_VERSION
} else {
    FORMAT_VERSION
};
/// The format version that introduced [`DType::F32Panels`].
pub const PANELS_VERSION: u16 = 2;
/// The format version that introduced [`DType::I8Panels`].
pub const I8_PANELS_VERSION: u16 = 3;
/// Rows per panel of the panel layout ([`DType::F32Panels`]).
pub const PANEL_ROWS: usize = 16;
/// The reference writer places each tensor in panels ([`DType::F32Panels`],
/// [`DType::I8Panels`]) at a multiple of this many bytes from the start of the blob,
/// wherever a layout allows it (`builder::BlobBuilder::finish`): read to an address that
/// is a multiple of it, each panel column (16 f32) is one cache line, and each int8 pair
/// of columns (32 bytes) half of one, which vector loads read without straddling two
/// lines (readers take any alignment; loads straddling two lines cost some processors
/// more: [`crate::PACK_ALIGN`]).
pub const PANELS_ALIGN: usize = 64;
/// Bytes before the header: magic, version, header length.
pub const PREAMBLE_LEN: usize = 12;
/// The payload starts at a multiple of this, counted from the start of the blob.
pub const PAYLOAD_ALIGN: usize = 16;

/// Largest accepted embedding or hidden size.
pub const MAX_DIM: u32 = 4096;

/// The largest magnitude of a stored f32 value (a weight, bias, int8 row scale or CRF
/// score): 2^48. Within it, no sum the tagger or the segmenter computes can overflow
/// f32 (an LSTM gate sums at most 3 x 4096 products of values below 2^55, int8 weights
/// included), so every kernel level gives finite scores; a larger value (like NaN or an
/// infinity) is refused.
pub const MAX_MAGNITUDE: f32 = 281_474_976_710_656.0;

/// Whether `v` is a value a blob may store: finite and within [`MAX_MAGNITUDE`].
pub fn storable(v: f32) -> bool {
    v.abs() <= MAX_MAGNITUDE
}
/// Largest accepted number of embedding rows (word or char vocabulary).
pub const MAX_ROWS: u32 = 1 << 24;
/// Largest accepted number of stacked LSTM layers (word or char).
pub const MAX_LAYERS: usize = 4;
/// Largest accepted number of tags.
pub const MAX_TAGS: u32 = 4096;
/// Largest accepted `max_word_chars`.
pub const MAX_WORD_CHARS: u32 = 1024;

/// Word normalization flag: lowercase the word exactly as Python's `str.lower()`
/// (Unicode [`crate::vocab::UNICODE_VERSION`], with the Final_Sigma context rule); see
/// [`crate::vocab::normalized`].
pub const NORMALIZE_LOWERCASE: u8 = 1;
/// Word normalization flag: replace each ASCII digit `0-9` with `0`.
pub const NORMALIZE_FOLD_DIGITS: u8 = 2;

/// Shape of one LSTM stack.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct LstmShape {
    /// Hidden size H of each direction.
    pub hidden: u32,
    /// Number of stacked layers, 1..=[`MAX_LAYERS`].
    pub layers: u8,
    /// Whether each layer also runs from the last element to the first.
    pub bidirectional: bool,
}

impl LstmShape {
    /// 1 or 2.
    pub fn directions(&self) -> usize {
        if self.bidirectional {
            2
        } else {
            1
        }
    }

    /// Width of a layer's output: H times the number of directions.
    pub fn output_dim(&self) -> usize {
        self.hidden as usize * self.directions()
    }
}

/// The word embedding and its vocabulary.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct WordConfig {
    /// Rows of the word embedding.
    pub rows: u32,
    /// Embedding size Dw.
    pub dim: u32,
    /// Row used for words missing from the vocabulary; `None`: such words are an error.
    pub unknown: Option<u32>,
    /// `NORMALIZE_*` flags applied to a word before it is looked up.
    pub normalize: u8,
}

/// Character features: char embedding and char LSTM.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct CharConfig {
    /// Rows of the char embedding.
    pub rows: u32,
    /// Embedding size Dc.
    pub dim: u32,
    /// Row used for characters missing from the vocabulary; `None`: such characters are an error.
    pub unknown: Option<u32>,
    /// A word with more characters than this is read as its first `ceil(m/2)`
    /// and last `floor(m/2)` characters.
    pub max_word_chars: u32,
    /// The char LSTM.
    pub lstm: LstmShape,
}

impl CharConfig {
    /// Width of the char feature `c_w`: the last layer's final hidden state(s).
    pub fn feature_dim(&self) -> usize {
        self.lstm.output_dim()
    }
}

/// Which CoNLL-U column the model's tags come from (informational). Displayed as UD
/// names it (`UPOS`, `XPOS`); serialized by variant index in the blob, as `"upos"` /
/// `"xpos"` in self-describing formats such as JSON.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TagColumn {
    /// Universal POS tags (column 4).
    Upos,
    /// Language-specific POS tags (column 5).
    Xpos,
}

impl core::fmt::Display for TagColumn {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            TagColumn::Upos => "UPOS",
            TagColumn::Xpos => "XPOS",
        })
    }
}

/// Dimensions and options of a model.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Word embedding and vocabulary.
    pub words: WordConfig,
    /// Optional character features.
    pub chars: Option<CharConfig>,
    /// The word LSTM.
    pub lstm: LstmShape,
    /// Number of tags T.
    pub tags: u32,
    /// Whether the blob carries CRF transitions (Viterbi decoding).
    pub crf: bool,
    /// Where the tags come from in CoNLL-U.
    pub tag_column: TagColumn,
}

impl Config {
    /// Input width of the first word-LSTM layer: Dw + width of `c_w`.
    pub fn word_input_dim(&self) -> usize {
        self.words.dim as usize + self.chars.map_or(0, |c| c.feature_dim())
    }
}

/// Which network an LSTM tensor belongs to.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Net {
    /// The word-level LSTM.
    Word,
    /// The character-level LSTM.
    Char,
}

/// Which tensor of an LSTM cell.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LstmPart {
    /// `W_ih`, (4H, in), gate rows in order i, f, g, o.
    InputWeights,
    /// `W_hh`, (4H, H).
    HiddenWeights,
    /// `b_ih + b_hh`, (1, 4H).
    Bias,
}

/// What a tensor holds. Each role appears at most once in a blob.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// (rows, Dw) weights.
    WordEmbedding,
    /// (1, bytes) u8: the vocabulary's normalized words, concatenated, sorted bytewise.
    WordStrings,
    /// (1, n+1) u32: start of each word in `WordStrings`, then its total length.
    WordOffsets,
    /// (1, n) u32: embedding row of each word, in sorted order.
    WordRows,
    /// (rows, Dc) weights.
    CharEmbedding,
    /// (1, m) u32: the char vocabulary's Unicode scalar values, strictly increasing.
    CharCodes,
    /// (1, m) u32: embedding row of each char, in the same order.
    CharRows,
    /// One tensor of one LSTM cell.
    Lstm {
        /// Word or char LSTM.
        net: Net,
        /// Layer index from 0.
        layer: u8,
        /// Whether this is the reverse direction.
        reverse: bool,
        /// Which tensor.
        part: LstmPart,
    },
    /// (T, D) weights of `hidden2tag`.
    TagWeights,
    /// (1, T) f32 bias of `hidden2tag`.
    TagBias,
    /// (1, bytes) u8: tag names, UTF-8, concatenated in tag order.
    TagStrings,
    /// (1, T+1) u32: start of each tag name in `TagStrings`, then the total length.
    TagOffsets,
    /// (T, T) f32: score of moving from tag i (row) to tag j (column).
    CrfTransitions,
    /// (1, T) f32: score of starting with each tag.
    CrfStart,
    /// (1, T) f32: score of ending with each tag.
    CrfEnd,
    /// A tensor of the optional segmenter (see [`SegPart`] and `crate::segment`).
    Segmenter(SegPart),
}

/// Which tensor of the segmenter, the char-level network that splits raw text into
/// tokens and sentences. A blob has all of the required ones or none.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegPart {
    /// (1, 4) u32: flags (`SEG_SPACES_IN_TOKENS`), then three zero words reserved.
    Options,
    /// (rows, E) weights: char embedding; row 0 is the row of unknown characters.
    CharEmbedding,
    /// (1, m) u32: the char vocabulary's Unicode scalar values, strictly increasing.
    CharCodes,
    /// (1, m) u32: embedding row of each char, in the same order.
    CharRows,
    /// One tensor of the one-layer char LSTM (a reverse direction makes it bidirectional).
    Lstm {
        /// Whether this is the reverse direction.
        reverse: bool,
        /// Which tensor.
        part: LstmPart,
    },
    /// (5, D) weights: LSTM output (D = H or 2H) to the five label scores.
    OutputWeights,
    /// (1, 5) f32 bias of the output layer.
    OutputBias,
    /// (1, bytes) u8: multiword surface forms, lowercased, concatenated, sorted bytewise.
    MultiwordForms,
    /// (1, n+1) u32: start of each surface form in `MultiwordForms`, then the total length.
    MultiwordFormOffsets,
    /// (1, bytes) u8: each surface form's words, separated by a tab, concatenated.
    MultiwordWords,
    /// (1, n+1) u32: start of each entry in `MultiwordWords`, then the total length.
    MultiwordWordOffsets,
}

/// Segmenter option flag: a token may contain whitespace after its first character
/// (Vietnamese words), which its word reads as one U+0020 SPACE per run.
pub const SEG_SPACES_IN_TOKENS: u32 = 1;

impl core::fmt::Display for Role {
    /// The PyTorch `state_dict` name of the tensor (see `crate::torch`); the combined
    /// LSTM bias is `bias_ih + bias_hh`, the vocabularies and tag names have
    /// descriptive names.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Role::WordEmbedding => f.write_str("word_embeddings.weight"),
            Role::WordStrings => f.write_str("word strings"),
            Role::WordOffsets => f.write_str("word offsets"),
            Role::WordRows => f.write_str("word rows"),
            Role::CharEmbedding => f.write_str("char_embeddings.weight"),
            Role::CharCodes => f.write_str("char codes"),
            Role::CharRows => f.write_str("char rows"),
            Role::Lstm {
                net,
                layer,
                reverse,
                part,
            } => {
                let prefix = match net {
                    Net::Word => "lstm",
                    Net::Char => "char_lstm",
                };
                let suffix = if reverse { "_reverse" } else { "" };
                match part {
                    LstmPart::InputWeights => write!(f, "{prefix}.weight_ih_l{layer}{suffix}"),
                    LstmPart::HiddenWeights => write!(f, "{prefix}.weight_hh_l{layer}{suffix}"),
                    LstmPart::Bias => write!(
                        f,
                        "{prefix}.bias_ih_l{layer}{suffix} + {prefix}.bias_hh_l{layer}{suffix}"
                    ),
                }
            }
            Role::TagWeights => f.write_str("hidden2tag.weight"),
            Role::TagBias => f.write_str("hidden2tag.bias"),
            Role::TagStrings => f.write_str("tag strings"),
            Role::TagOffsets => f.write_str("tag offsets"),
            Role::CrfTransitions => f.write_str("crf.transitions"),
            Role::CrfStart => f.write_str("crf.start_transitions"),
            Role::CrfEnd => f.write_str("crf.end_transitions"),
            Role::Segmenter(SegPart::Lstm { reverse, part }) => {
                let suffix = if reverse { "_reverse" } else { "" };
                let name = match part {
                    LstmPart::InputWeights => "weight_ih",
                    LstmPart::HiddenWeights => "weight_hh",
                    LstmPart::Bias => "bias",
                };
                write!(f, "segmenter.lstm.{name}_l0{suffix}")
            }
            Role::Segmenter(part) => write!(f, "segmenter {part:?}"),
        }
    }
}

impl Role {
    /// Whether the tensor is a (1, n) vector (its elements are named `name[i]`).
    pub fn is_vector(&self) -> bool {
        matches!(
            self,
            Role::Lstm {
                part: LstmPart::Bias,
                ..
            } | Role::TagBias
                | Role::Segmenter(
                    SegPart::Lstm {
                        part: LstmPart::Bias,
                        ..
                    } | SegPart::OutputBias
                )
                | Role::CrfStart
                | Role::CrfEnd
        )
    }
}

/// Element type of a tensor.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    /// IEEE-754 binary32, little-endian; rows*cols*4 bytes.
    F32,
    /// Signed bytes with one f32 scale per row: rows*cols bytes of `q`, then rows
    /// little-endian f32 scales; element = q * scale of its row.
    I8,
    /// Bytes; rows*cols bytes.
    U8,
    /// u32 little-endian; rows*cols*4 bytes.
    U32,
    /// IEEE-754 binary32, little-endian, in row panels (format version 2): the rows in
    /// groups of [`PANEL_ROWS`] (16), the last group padded with zero rows; each group
    /// stores its rows column by column (the 16 values of column 0, then of column 1,
    /// ...). Element (r, c) is at index `(r / 16) * 16 * cols + c * 16 + r % 16`;
    /// ceil(rows / 16) * 16 * cols * 4 bytes. The layout of the vector kernels, which
    /// multiply a whole column of a panel by one input value.
    F32Panels,
    /// Signed bytes with one f32 scale per row, in row panels (format version 3): the
    /// rows in groups of [`PANEL_ROWS`] (16), the last group padded with zero rows, the
    /// columns in pairs (an odd last column paired with a zero column); each group stores
    /// its pairs one after another, 32 bytes each: the 16 rows' two bytes, row by row.
    /// `q(r, c)` is byte `((r / 16) * ceil(cols / 2) + c / 2) * 32 + 2 * (r % 16) + c % 2`;
    /// ceil(rows / 16) * 16 * 2 * ceil(cols / 2) bytes of `q`, then rows little-endian
    /// f32 scales; element = q * scale of its row. The layout of the int8 vector
    /// kernels, which multiply a pair of columns of a whole panel by one pair of inputs.
    I8Panels,
}

impl DType {
    /// Bytes taken by a (rows, cols) tensor of this type; `None` on overflow (or for
    /// the panel layouts in a build that reads version 1 only, [`READ_VERSION`]).
    pub fn byte_len(self, rows: u32, cols: u32) -> Option<usize> {
        let (rows, cols) = (rows as usize, cols as usize);
        let n = rows.checked_mul(cols)?;
        match self {
            DType::F32 | DType::U32 => n.checked_mul(4),
            DType::U8 => Some(n),
            DType::I8 => n.checked_add(rows.checked_mul(4)?),
            // Not a tensor of a build that reads no panels (bare metal).
            DType::F32Panels if READ_VERSION < PANELS_VERSION => None,
            DType::F32Panels => rows
                .div_ceil(PANEL_ROWS)
                .checked_mul(PANEL_ROWS)?
                .checked_mul(cols)?
                .checked_mul(4),
            DType::I8Panels if READ_VERSION < I8_PANELS_VERSION => None,
            DType::I8Panels => rows
                .div_ceil(PANEL_ROWS)
                .checked_mul(PANEL_ROWS)?
                .checked_mul(cols.div_ceil(2).checked_mul(2)?)?
                .checked_add(rows.checked_mul(4)?),
        }
    }
}

/// One row of the tensor table.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct TensorEntry {
    /// What the tensor is.
    pub role: Role,
    /// How its elements are stored.
    pub dtype: DType,
    /// Number of rows.
    pub rows: u32,
    /// Number of columns.
    pub cols: u32,
    /// Byte offset of its data from the payload start.
    pub offset: u32,
}

/// The bytes of `entry`'s tensor in `payload` (a blob's, [`RawBlob::payload`]); `None`
/// if they do not fit.
pub fn tensor_bytes<'a>(entry: &TensorEntry, payload: &'a [u8]) -> Option<&'a [u8]> {
    let len = entry.dtype.byte_len(entry.rows, entry.cols)?;
    let start = entry.offset as usize;
    payload.get(start..start.checked_add(len)?)
}

/// The header: the model's configuration and its tensor table.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    /// Dimensions and options.
    pub config: Config,
    /// The tensor table: a concatenation of postcard-encoded [`TensorEntry`]s.
    #[serde(borrow)]
    pub tensors: TensorTable<'a>,
}

/// The tensor table as it lies in the blob, decoded entry by entry.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct TensorTable<'a>(#[serde(borrow)] pub &'a [u8]);

impl<'a> TensorTable<'a> {
    /// The entries in order; an entry that does not decode yields `Err` and ends the iteration.
    pub fn iter(&self) -> TensorIter<'a> {
        TensorIter { rest: self.0 }
    }
}

/// Iterator over a [`TensorTable`].
pub struct TensorIter<'a> {
    rest: &'a [u8],
}

impl TensorIter<'_> {
    /// Bytes of the table not yet decoded.
    pub(crate) fn remaining(&self) -> usize {
        self.rest.len()
    }
}

impl Iterator for TensorIter<'_> {
    type Item = Result<TensorEntry, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        match postcard::take_from_bytes::<TensorEntry>(self.rest) {
            Ok((entry, rest)) => {
                self.rest = rest;
                Some(Ok(entry))
            }
            Err(_) => {
                self.rest = &[];
                Some(Err(Error::MalformedHeader))
            }
        }
    }
}

/// A blob split into its parts, after the magic, version, lengths and CRC were checked.
#[derive(Debug, Clone, Copy)]
pub struct RawBlob<'a> {
    /// The decoded header.
    pub header: Header<'a>,
    /// The payload: tensor offsets are relative to its first byte.
    pub payload: &'a [u8],
}

/// Reads a blob from `reader` (a model file): past its first bytes only if they are
/// the [`MAGIC`], so that what is no blob (`/dev/zero`, a large unrelated file) is not
/// read to its end; the blob's checks are the loader's. The bytes come back at an
/// address that is a multiple of [`PANELS_ALIGN`] ([`BlobBuf`]).
#[cfg(feature = "std")]
pub fn read_blob(reader: &mut impl std::io::Read) -> std::io::Result<BlobBuf> {
    use std::io::Read;
    let mut blob = BlobBuf::new(&[]);
    blob.append_from(&mut reader.by_ref().take(MAGIC.len() as u64))?;
    if blob.as_bytes() == MAGIC {
        blob.append_from(reader)?;
    }
    blob.lines.truncate(blob.len.div_ceil(PANELS_ALIGN));
    blob.lines.shrink_to_fit();
    Ok(blob)
}

/// [`PANELS_ALIGN`] bytes at an address that is a multiple of it: a [`BlobBuf`]'s unit.
#[cfg(feature = "alloc")]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C, align(64))]
struct CacheLine([u8; PANELS_ALIGN]);

#[cfg(feature = "alloc")]
const _: () = assert!(core::mem::align_of::<CacheLine>() == PANELS_ALIGN);

/// A blob's bytes held at an address that is a multiple of [`PANELS_ALIGN`], where the
/// reference writer's panels start cache lines ([`read_blob`] returns one; a blob
/// anywhere else loads as well, its panels' vector loads then straddling lines).
#[cfg(feature = "alloc")]
#[derive(Clone)]
pub struct BlobBuf {
    lines: alloc::vec::Vec<CacheLine>,
    len: usize,
}

#[cfg(feature = "alloc")]
impl BlobBuf {
    /// A copy of `bytes`.
    pub fn new(bytes: &[u8]) -> Self {
        let mut lines =
            alloc::vec![CacheLine([0; PANELS_ALIGN]); bytes.len().div_ceil(PANELS_ALIGN)];
        bytemuck::cast_slice_mut::<CacheLine, u8>(&mut lines)[..bytes.len()].copy_from_slice(bytes);
        BlobBuf {
            lines,
            len: bytes.len(),
        }
    }

    /// Appends what `reader` gives up to its end (interrupted reads retried), into
    /// lines added as needed (doubling).
    #[cfg(feature = "std")]
    fn append_from(&mut self, reader: &mut impl std::io::Read) -> std::io::Result<()> {
        loop {
            if self.len == self.lines.len() * PANELS_ALIGN {
                let more = self.lines.len().max(64);
                self.lines
                    .resize(self.lines.len() + more, CacheLine([0; PANELS_ALIGN]));
            }
            let room = &mut bytemuck::cast_slice_mut::<CacheLine, u8>(&mut self.lines)[self.len..];
            match reader.read(room) {
                Ok(0) => return Ok(()),
                Ok(n) => self.len += n.min(room.len()),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// The blob's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &bytemuck::cast_slice(&self.lines)[..self.len]
    }
}

#[cfg(feature = "alloc")]
impl core::ops::Deref for BlobBuf {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

#[cfg(feature = "alloc")]
impl core::fmt::Debug for BlobBuf {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "BlobBuf({} bytes)", self.len)
    }
}

/// Offset of the payload for a header of `header_len` bytes.
pub fn payload_start(header_len: usize) -> Option<usize> {
    let end = PREAMBLE_LEN.checked_add(header_len)?;
    end.checked_add(PAYLOAD_ALIGN - 1)
        .map(|e| e / PAYLOAD_ALIGN * PAYLOAD_ALIGN)
}

/// The format version a byte string declares, read without validating anything else.
/// [`Error::BadMagic`] if it does not start with the magic (or a part of it), else
/// [`Error::Truncated`] if it ends before the version.
pub fn declared_version(bytes: &[u8]) -> Result<u16, Error> {
    match bytes {
        [m0, m1, m2, m3, m4, m5, v0, v1, ..] if [*m0, *m1, *m2, *m3, *m4, *m5] == MAGIC => {
            Ok(u16::from_le_bytes([*v0, *v1]))
        }
        _ if MAGIC.starts_with(&bytes[..bytes.len().min(MAGIC.len())]) => Err(Error::Truncated),
        _ => Err(Error::BadMagic),
    }
}

/// Checks the framing of a blob (magic, version, lengths, CRC) and decodes its header.
pub fn split(bytes: &[u8]) -> Result<RawBlob<'_>, Error> {
    split_with(bytes, true)
}

/// Bytes that [`verify`] accepted: their framing and CRC-32 are right and their
/// header decodes. [`crate::Model::from_verified_in_place`] takes them without
/// computing the CRC again. Only [`verify`] makes one.
#[derive(Debug, Clone, Copy)]
pub struct Verified<'a>(&'a [u8]);

impl<'a> Verified<'a> {
    /// The bytes.
    pub fn bytes(self) -> &'a [u8] {
        self.0
    }
}

/// The checks of [`split`] (magic, version, lengths, CRC, header), as a [`Verified`]:
/// for a loader that checks the CRC in a call of its own, before it takes the stack
/// for the model (the CRC's loop takes 2.4 KiB of stack on some targets).
pub fn verify(bytes: &[u8]) -> Result<Verified<'_>, Error> {
    split(bytes).map(|_| Verified(bytes))
}

/// [`split`], with or without the CRC-32 check (without: for bytes that [`split`]
/// accepted before and that have not changed since).
pub(crate) fn split_with(bytes: &[u8], check_crc: bool) -> Result<RawBlob<'_>, Error> {
    let version = declared_version(bytes)?;
    if !(MIN_FORMAT_VERSION..=READ_VERSION).contains(&version) {
        return Err(Error::UnsupportedVersion { found: version });
    }
    let header_len = match bytes.get(8..PREAMBLE_LEN) {
        Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]) as usize,
        _ => return Err(Error::Truncated),
    };
    let start = payload_start(header_len).ok_or(Error::Truncated)?;
    let body_len = bytes.len().checked_sub(4).ok_or(Error::Truncated)?;
    if start > body_len {
        return Err(Error::Truncated);
    }
    let (body, tail) = bytes.split_at(body_len);
    let stored = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]);
    if check_crc && crc32(body) != stored {
        return Err(Error::ChecksumMismatch);
    }
    let header_bytes = &body[PREAMBLE_LEN..PREAMBLE_LEN + header_len];
    let header = match postcard::take_from_bytes::<Header<'_>>(header_bytes) {
        Ok((header, [])) => header,
        _ => return Err(Error::MalformedHeader),
    };
    Ok(RawBlob {
        header,
        payload: &body[start..],
    })
}
