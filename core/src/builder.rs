//! Writing blobs (feature `alloc`): the same header types the loader reads.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::format::{
    payload_start, Config, DType, Header, LstmPart, Net, Role, TensorEntry, TensorTable,
    I8_PANELS_VERSION, MAGIC, MIN_FORMAT_VERSION, PANELS_ALIGN, PANELS_VERSION, PANEL_ROWS,
    PREAMBLE_LEN,
};
use crate::tensor::Storage;
use crate::vocab::normalized;
use crate::{crc32, Error, Model};

/// Each tensor starts at a multiple of this many bytes from the payload start.
const TENSOR_ALIGN: usize = 16;

/// Why a blob could not be written.
#[derive(Debug, Clone, PartialEq)]
pub enum BuildError {
    /// Two different embedding rows claim the same normalized word.
    ConflictingWord(String),
    /// Two different embedding rows claim the same character.
    ConflictingChar(char),
    /// A tensor does not have `rows * cols` elements.
    WrongLength(Role),
    /// The same role was given twice.
    DuplicateTensor(Role),
    /// The finished blob does not load (the message names the check that failed).
    Invalid(Error),
    /// A PyTorch state_dict or vocabulary does not describe a supported model.
    Torch(String),
    /// A tag name that is empty, holds whitespace or a control character, or is given
    /// twice (such a name would break CoNLL-U and `word/TAG` output, or be ambiguous).
    BadTagName(String),
    /// A tensor holds a value a blob cannot store: NaN, infinite, or beyond
    /// [`crate::format::MAX_MAGNITUDE`] (`row` is 0 for a vector).
    NonFinite {
        /// The tensor.
        role: Role,
        /// Row of the value.
        row: usize,
        /// Column of the value.
        col: usize,
        /// The value.
        value: f32,
    },
}

/// Checks a model's tag names, in tag order: each non-empty, without whitespace or
/// control characters, and distinct; [`BuildError::BadTagName`] names the first that
/// is not.
pub fn check_tag_names(names: &[&str]) -> Result<(), BuildError> {
    match crate::vocab::bad_tag_name(names.iter().copied()) {
        Some(i) => Err(BuildError::BadTagName(String::from(names[i]))),
        None => Ok(()),
    }
}

/// What a stored value must be ([`crate::format::storable`]).
pub(crate) const STORABLE: &str =
    "weights must be finite and within 2^48 (2.8e14) in magnitude, where f32 arithmetic cannot overflow";

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::ConflictingWord(w) => {
                write!(
                    f,
                    "word {w:?} maps to two different embedding rows after normalization"
                )
            }
            BuildError::ConflictingChar(c) => {
                write!(f, "character {c:?} maps to two different embedding rows")
            }
            BuildError::WrongLength(r) => {
                write!(f, "tensor {r:?} has the wrong number of elements")
            }
            BuildError::DuplicateTensor(r) => write!(f, "tensor {r:?} given twice"),
            BuildError::BadTagName(t) => write!(
                f,
                "tag name {t:?} is empty, holds whitespace or a control character, or is \
                 given twice (tags are written in CoNLL-U columns and as word/TAG)"
            ),
            BuildError::Invalid(e) => write!(f, "the written model does not load: {e}"),
            BuildError::Torch(m) => f.write_str(m),
            BuildError::NonFinite {
                role,
                row,
                col,
                value,
            } => {
                if role.is_vector() {
                    write!(f, "{role}[{col}] is {value:e}; {STORABLE}")
                } else {
                    write!(f, "{role}[{row}, {col}] is {value:e}; {STORABLE}")
                }
            }
        }
    }
}

impl core::error::Error for BuildError {}

/// Quantizes one row to int8 with a symmetric scale `max|w| / 127`:
/// every element is then within `scale / 2` of `q * scale`.
pub fn quantize_row(row: &[f32], q: &mut Vec<u8>) -> f32 {
    let max = row.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let scale = max / 127.0;
    for &v in row {
        let x = if scale > 0.0 {
            libm::roundf(v / scale)
        } else {
            0.0
        };
        q.push(x.clamp(-127.0, 127.0) as i8 as u8);
    }
    scale
}

/// Collects tensors and vocabularies, then writes a blob.
#[derive(Debug, Clone)]
pub struct BlobBuilder {
    config: Config,
    tensors: Vec<(Role, DType, u32, u32, Vec<u8>)>,
    panels: bool,
    int8_panels: bool,
}

impl BlobBuilder {
    /// A builder for a model with this configuration.
    pub fn new(config: Config) -> Self {
        BlobBuilder {
            config,
            tensors: Vec::new(),
            // Where the build reads panels (not bare metal, which reads version 1).
            panels: crate::format::READ_VERSION >= crate::format::PANELS_VERSION,
            int8_panels: false,
        }
    }

    /// Whether [`BlobBuilder::lstm_stack`] stores the f32 `W_ih` and `W_hh` of the word
    /// and char LSTMs in the panel layout ([`DType::F32Panels`], format version 2; the
    /// default where the build reads version 2), or row by row, as format version 1
    /// does (`false`: a blob that older versions of the library, and bare-metal builds,
    /// read).
    pub fn panels(&mut self, on: bool) -> &mut Self {
        self.panels = on;
        self
    }

    /// Whether [`BlobBuilder::lstm_stack`] stores the int8 `W_ih` and `W_hh` of the word
    /// LSTM in the int8 panel layout ([`DType::I8Panels`], format version 3: faster
    /// products at the `avx512` and `avx2` levels, the same results), or row by row
    /// (`false`, the default: a blob that older versions of the library, and bare-metal
    /// builds, read). Only the word LSTM's matrices take it (readers refuse it
    /// elsewhere), and only those of at most [`crate::kernels::I8_PANELS_MAX_COLS`]
    /// columns (wider ones stay in rows, where the kernels take them).
    pub fn int8_panels(&mut self, on: bool) -> &mut Self {
        self.int8_panels = on && crate::format::READ_VERSION >= crate::format::I8_PANELS_VERSION;
        self
    }

    /// The configuration the blob will carry.
    pub fn config(&self) -> &Config {
        &self.config
    }

    fn push(
        &mut self,
        role: Role,
        dtype: DType,
        rows: usize,
        cols: usize,
        bytes: Vec<u8>,
    ) -> Result<(), BuildError> {
        if matches!(dtype, DType::F32 | DType::F32Panels) {
            let value = |i: usize| {
                let b = &bytes[4 * i..4 * i + 4];
                f32::from_le_bytes([b[0], b[1], b[2], b[3]])
            };
            if let Some(i) = (0..bytes.len() / 4).find(|&i| !crate::format::storable(value(i))) {
                let cols = cols.max(1);
                // The element's row and column: in panels, 16 rows column by column.
                let (row, col) = match dtype {
                    DType::F32Panels => crate::kernels::panel_position(i, cols),
                    _ => (i / cols, i % cols),
                };
                return Err(BuildError::NonFinite {
                    role,
                    row,
                    col,
                    value: value(i),
                });
            }
        }
        if self.tensors.iter().any(|t| t.0 == role) {
            return Err(BuildError::DuplicateTensor(role));
        }
        let rows = u32::try_from(rows).map_err(|_| BuildError::WrongLength(role))?;
        let cols = u32::try_from(cols).map_err(|_| BuildError::WrongLength(role))?;
        self.tensors.push((role, dtype, rows, cols, bytes));
        Ok(())
    }

    /// A (rows, cols) f32 weight matrix given row by row, stored in the panel layout
    /// ([`DType::F32Panels`]).
    pub fn weights_in_panels(
        &mut self,
        role: Role,
        rows: usize,
        cols: usize,
        data: &[f32],
    ) -> Result<(), BuildError> {
        check_weights(role, rows, cols, data)?;
        let mut panels = alloc::vec![0.0f32; rows.div_ceil(PANEL_ROWS) * PANEL_ROWS * cols];
        for (r, row) in data.chunks_exact(cols.max(1)).enumerate().take(rows) {
            for (c, &v) in row.iter().enumerate() {
                panels[crate::kernels::panel_index(r, c, cols)] = v;
            }
        }
        self.push(role, DType::F32Panels, rows, cols, f32_bytes(&panels))
    }

    /// A (rows, cols) weight matrix given row by row, quantized to int8 per row as
    /// [`BlobBuilder::weights`] does and stored in the int8 panel layout
    /// ([`DType::I8Panels`]).
    pub fn weights_in_i8_panels(
        &mut self,
        role: Role,
        rows: usize,
        cols: usize,
        data: &[f32],
    ) -> Result<(), BuildError> {
        check_weights(role, rows, cols, data)?;
        let q = quantized(rows, cols, data);
        let bytes = i8_rows_to_panels(&q, rows, cols).ok_or(BuildError::WrongLength(role))?;
        self.push(role, DType::I8Panels, rows, cols, bytes)
    }

    /// A (rows, cols) weight matrix, stored as f32 or quantized to int8 per row.
    pub fn weights(
        &mut self,
        role: Role,
        rows: usize,
        cols: usize,
        data: &[f32],
        storage: Storage,
    ) -> Result<(), BuildError> {
        check_weights(role, rows, cols, data)?;
        let bytes = match storage {
            Storage::F32 => f32_bytes(data),
            Storage::I8 => quantized(rows, cols, data),
        };
        self.push(role, storage.into(), rows, cols, bytes)
    }

    /// Every tensor of the `net` LSTM stack the config describes (none for `Net::Char`
    /// without char features), in layer, direction, part order. `tensor(role, rows,
    /// cols)` gives each one's row-major elements; weights are stored as `storage`,
    /// biases (1, 4H) as f32.
    pub fn lstm_stack(
        &mut self,
        net: Net,
        storage: Storage,
        mut tensor: impl FnMut(Role, usize, usize) -> Result<Vec<f32>, BuildError>,
    ) -> Result<(), BuildError> {
        let (shape, input) = match (net, self.config.chars) {
            (Net::Word, _) => (self.config.lstm, self.config.word_input_dim()),
            (Net::Char, Some(c)) => (c.lstm, c.dim as usize),
            (Net::Char, None) => return Ok(()),
        };
        let h = shape.hidden as usize;
        for layer in 0..shape.layers as usize {
            let in_dim = if layer == 0 {
                input
            } else {
                shape.output_dim()
            };
            for reverse in [false, true].into_iter().take(shape.directions()) {
                for part in [
                    LstmPart::InputWeights,
                    LstmPart::HiddenWeights,
                    LstmPart::Bias,
                ] {
                    let role = Role::Lstm {
                        net,
                        layer: layer as u8,
                        reverse,
                        part,
                    };
                    let cols = match part {
                        LstmPart::InputWeights => in_dim,
                        LstmPart::HiddenWeights => h,
                        LstmPart::Bias => {
                            self.vector(role, &tensor(role, 1, 4 * h)?)?;
                            continue;
                        }
                    };
                    let data = tensor(role, 4 * h, cols)?;
                    if storage == Storage::F32 && self.panels {
                        self.weights_in_panels(role, 4 * h, cols, &data)?;
                    } else if storage == Storage::I8
                        && self.int8_panels
                        && net == Net::Word
                        && cols <= crate::kernels::I8_PANELS_MAX_COLS
                    {
                        self.weights_in_i8_panels(role, 4 * h, cols, &data)?;
                    } else {
                        self.weights(role, 4 * h, cols, &data, storage)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// A tensor given as its stored bytes (see [`DType`] for the layouts).
    pub fn stored(
        &mut self,
        role: Role,
        dtype: DType,
        rows: usize,
        cols: usize,
        bytes: Vec<u8>,
    ) -> Result<(), BuildError> {
        if dtype.byte_len(rows as u32, cols as u32) != Some(bytes.len())
            || u32::try_from(rows.max(cols)).is_err()
        {
            return Err(BuildError::WrongLength(role));
        }
        self.push(role, dtype, rows, cols, bytes)
    }

    /// A vector (always f32): biases and CRF scores.
    pub fn vector(&mut self, role: Role, data: &[f32]) -> Result<(), BuildError> {
        self.push(role, DType::F32, 1, data.len(), f32_bytes(data))
    }

    /// A (n, n) f32 matrix that is never quantized (CRF transitions).
    pub fn square(&mut self, role: Role, n: usize, data: &[f32]) -> Result<(), BuildError> {
        if n.checked_mul(n) != Some(data.len()) {
            return Err(BuildError::WrongLength(role));
        }
        self.push(role, DType::F32, n, n, f32_bytes(data))
    }

    /// The word vocabulary: (word, embedding row) pairs. Words are normalized with
    /// the config's flags; words that normalize alike must share a row.
    pub fn words<'w>(
        &mut self,
        words: impl IntoIterator<Item = (&'w str, u32)>,
    ) -> Result<(), BuildError> {
        let flags = self.config.words.normalize;
        let mut sorted: BTreeMap<Vec<u8>, u32> = BTreeMap::new();
        for (word, row) in words {
            let key: String = normalized(word, flags).collect();
            match sorted.insert(key.clone().into_bytes(), row) {
                Some(old) if old != row => return Err(BuildError::ConflictingWord(key)),
                _ => {}
            }
        }
        let (strings, offsets) = string_table(sorted.keys().map(Vec::as_slice));
        let rows: Vec<u32> = sorted.values().copied().collect();
        self.push(Role::WordStrings, DType::U8, 1, strings.len(), strings)?;
        self.push(
            Role::WordOffsets,
            DType::U32,
            1,
            offsets.len(),
            u32_bytes(&offsets),
        )?;
        self.push(Role::WordRows, DType::U32, 1, rows.len(), u32_bytes(&rows))
    }

    /// The char vocabulary: (character, embedding row) pairs.
    pub fn chars(
        &mut self,
        chars: impl IntoIterator<Item = (char, u32)>,
    ) -> Result<(), BuildError> {
        let mut sorted: BTreeMap<char, u32> = BTreeMap::new();
        for (c, row) in chars {
            match sorted.insert(c, row) {
                Some(old) if old != row => return Err(BuildError::ConflictingChar(c)),
                _ => {}
            }
        }
        let codes: Vec<u32> = sorted.keys().map(|&c| c as u32).collect();
        let rows: Vec<u32> = sorted.values().copied().collect();
        self.push(
            Role::CharCodes,
            DType::U32,
            1,
            codes.len(),
            u32_bytes(&codes),
        )?;
        self.push(Role::CharRows, DType::U32, 1, rows.len(), u32_bytes(&rows))
    }

    /// Tag names in tag order: each non-empty, without whitespace or control
    /// characters, and distinct ([`BuildError::BadTagName`] otherwise).
    pub fn tag_names<'t>(
        &mut self,
        names: impl IntoIterator<Item = &'t str>,
    ) -> Result<(), BuildError> {
        let names: Vec<&str> = names.into_iter().collect();
        check_tag_names(&names)?;
        let (strings, offsets) = string_table(names.into_iter().map(str::as_bytes));
        self.push(Role::TagStrings, DType::U8, 1, strings.len(), strings)?;
        self.push(
            Role::TagOffsets,
            DType::U32,
            1,
            offsets.len(),
            u32_bytes(&offsets),
        )
    }

    /// Writes the blob and checks that it loads.
    ///
    /// Each tensor starts at a multiple of 16 bytes from the payload start, and a tensor
    /// in panels, wherever a layout allows it (every one met so far), at a multiple of
    /// [`PANELS_ALIGN`] bytes from the start of the blob, so that a blob read to an
    /// address that is a multiple of 64 has each panel column (16 f32) on one cache line.
    pub fn finish(self) -> Result<Vec<u8>, BuildError> {
        // The panels' offsets depend on where the payload starts (modulo 64), which
        // depends on the header's length, which depends on the offsets (varints). The
        // layouts for each start modulo 64, then the same with 64, 128 or 192 bytes of
        // zeros leading the payload (offsets moved across varint boundaries): the first
        // whose header puts the payload where it was laid out for. Should none agree,
        // the first: as valid, its panels 16-byte aligned only.
        let laid_out = |residue: usize, lead: usize| -> Result<_, BuildError> {
            let offsets = self.offsets(residue, lead)?;
            let header = self.header(&offsets)?;
            let start =
                payload_start(header.len()).ok_or(BuildError::Invalid(Error::MalformedHeader))?;
            Ok((offsets, header, start))
        };
        let mut agreed = None;
        'search: for lead in (0..4).map(|k| k * PANELS_ALIGN) {
            for residue in (0..PANELS_ALIGN).step_by(TENSOR_ALIGN) {
                let layout = laid_out(residue, lead)?;
                if layout.2 % PANELS_ALIGN == residue {
                    agreed = Some(layout);
                    break 'search;
                }
            }
        }
        let (offsets, header, start) = match agreed {
            Some(layout) => layout,
            None => laid_out(0, 0)?,
        };
        let mut payload = Vec::new();
        for ((.., bytes), &offset) in self.tensors.iter().zip(&offsets) {
            payload.resize(offset as usize, 0);
            payload.extend_from_slice(bytes);
        }
        let mut blob = Vec::with_capacity(start + payload.len() + 4);
        blob.extend_from_slice(&MAGIC);
        // The lowest version that describes the blob: older readers read it.
        let has = |dtype| self.tensors.iter().any(|t| t.1 == dtype);
        let version = if has(DType::I8Panels) {
            I8_PANELS_VERSION
        } else if has(DType::F32Panels) {
            PANELS_VERSION
        } else {
            MIN_FORMAT_VERSION
        };
        blob.extend_from_slice(&version.to_le_bytes());
        blob.extend_from_slice(&(header.len() as u32).to_le_bytes());
        blob.extend_from_slice(&header);
        debug_assert_eq!(blob.len(), PREAMBLE_LEN + header.len());
        blob.resize(start, 0);
        blob.extend_from_slice(&payload);
        let crc = crc32(&blob);
        blob.extend_from_slice(&crc.to_le_bytes());
        Model::from_bytes(&blob).map_err(BuildError::Invalid)?;
        crate::segment::Segmenter::from_bytes(&blob).map_err(BuildError::Invalid)?;
        Ok(blob)
    }

    /// Each tensor's offset in the payload, for a payload that starts `residue` bytes
    /// past a multiple of [`PANELS_ALIGN`] and is led by `lead` bytes of zeros: a
    /// multiple of [`TENSOR_ALIGN`] past the previous tensor, for panels the next that
    /// is a multiple of [`PANELS_ALIGN`] from the start of the blob.
    fn offsets(&self, residue: usize, lead: usize) -> Result<Vec<u32>, BuildError> {
        let mut end = lead;
        let mut offsets = Vec::with_capacity(self.tensors.len());
        for (role, dtype, _, _, bytes) in &self.tensors {
            let mut at = end.next_multiple_of(TENSOR_ALIGN);
            if matches!(dtype, DType::F32Panels | DType::I8Panels) {
                at = (residue + at).next_multiple_of(PANELS_ALIGN) - residue;
            }
            offsets.push(u32::try_from(at).map_err(|_| BuildError::WrongLength(*role))?);
            end = at + bytes.len();
        }
        Ok(offsets)
    }

    /// The encoded header with the tensors at `offsets`.
    fn header(&self, offsets: &[u32]) -> Result<Vec<u8>, BuildError> {
        let malformed = |_| BuildError::Invalid(Error::MalformedHeader);
        let mut entries = Vec::new();
        for (&(role, dtype, rows, cols, _), &offset) in self.tensors.iter().zip(offsets) {
            let entry = TensorEntry {
                role,
                dtype,
                rows,
                cols,
                offset,
            };
            entries.extend(postcard::to_allocvec(&entry).map_err(malformed)?);
        }
        let header = Header {
            config: self.config,
            tensors: TensorTable(&entries),
        };
        postcard::to_allocvec(&header).map_err(malformed)
    }
}

/// [`BuildError::NonFinite`] for the first value of `data` (row-major, `cols` per row)
/// that is not [`crate::format::storable`].
fn check_finite(role: Role, cols: usize, data: &[f32]) -> Result<(), BuildError> {
    match data.iter().position(|&v| !crate::format::storable(v)) {
        None => Ok(()),
        Some(i) => Err(BuildError::NonFinite {
            role,
            row: i / cols.max(1),
            col: i % cols.max(1),
            value: data[i],
        }),
    }
}

fn f32_bytes(data: &[f32]) -> Vec<u8> {
    data.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn u32_bytes(data: &[u32]) -> Vec<u8> {
    data.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Concatenated strings and their `n + 1` offsets.
fn string_table<'s>(strings: impl Iterator<Item = &'s [u8]>) -> (Vec<u8>, Vec<u32>) {
    let mut bytes = Vec::new();
    let mut offsets = alloc::vec![0u32];
    for s in strings {
        bytes.extend_from_slice(s);
        offsets.push(bytes.len() as u32);
    }
    (bytes, offsets)
}

/// An int8 tensor's bytes (`rows * cols` bytes of `q`, then the row scales: the `I8`
/// layout) in the int8 panel layout ([`DType::I8Panels`]); `None` if the length is
/// wrong or the shape too large.
fn i8_rows_to_panels(bytes: &[u8], rows: usize, cols: usize) -> Option<Vec<u8>> {
    let n = DType::I8Panels.byte_len(u32::try_from(rows).ok()?, u32::try_from(cols).ok()?)?;
    if rows.checked_mul(cols)?.checked_add(4 * rows)? != bytes.len() {
        return None;
    }
    let mut out = alloc::vec![0u8; n - 4 * rows];
    for (i, &q) in bytes[..rows * cols].iter().enumerate() {
        out[crate::kernels::panel_index_i8(i / cols, i % cols, cols)] = q;
    }
    out.extend_from_slice(&bytes[rows * cols..]);
    Some(out)
}

/// [`i8_rows_to_panels`] inverted: an int8 tensor in the int8 panel layout in rows.
fn i8_panels_to_rows(bytes: &[u8], rows: usize, cols: usize) -> Option<Vec<u8>> {
    let n = DType::I8Panels.byte_len(u32::try_from(rows).ok()?, u32::try_from(cols).ok()?)?;
    if n != bytes.len() {
        return None;
    }
    let mut out = Vec::with_capacity(rows * cols + 4 * rows);
    for r in 0..rows {
        for c in 0..cols {
            out.push(bytes[crate::kernels::panel_index_i8(r, c, cols)]);
        }
    }
    out.extend_from_slice(&bytes[n - 4 * rows..]);
    Some(out)
}

/// `blob` with the int8 `W_ih` and `W_hh` of its word LSTM in the int8 panel layout
/// (`panels`, format version 3; matrices of more than
/// [`crate::kernels::I8_PANELS_MAX_COLS`] columns stay in rows) or in rows, every other
/// tensor (the segmenter's too) as it is: the same weights and results, bit for bit.
/// Converting back gives the bytes the builder writes for the other layout. Errors: a
/// blob that does not load.
pub fn relayout_int8(blob: &[u8], panels: bool) -> Result<Vec<u8>, BuildError> {
    Model::from_bytes(blob).map_err(BuildError::Invalid)?;
    let raw = crate::format::split(blob).map_err(BuildError::Invalid)?;
    let mut b = BlobBuilder::new(raw.header.config);
    for e in raw.header.tensors.iter() {
        let e = e.map_err(BuildError::Invalid)?;
        let bytes = crate::format::tensor_bytes(&e, raw.payload)
            .ok_or(BuildError::Invalid(Error::InvalidModel))?;
        let (rows, cols) = (e.rows as usize, e.cols as usize);
        let word = matches!(
            e.role,
            Role::Lstm {
                net: Net::Word,
                part: LstmPart::InputWeights | LstmPart::HiddenWeights,
                ..
            }
        );
        let converted = match (e.dtype, panels) {
            (DType::I8, true) if word && cols <= crate::kernels::I8_PANELS_MAX_COLS => {
                Some((DType::I8Panels, i8_rows_to_panels(bytes, rows, cols)))
            }
            (DType::I8Panels, false) => Some((DType::I8, i8_panels_to_rows(bytes, rows, cols))),
            _ => None,
        };
        match converted {
            Some((dtype, Some(bytes))) => b.stored(e.role, dtype, rows, cols, bytes)?,
            Some((_, None)) => return Err(BuildError::WrongLength(e.role)),
            None => b.stored(e.role, e.dtype, rows, cols, bytes.to_vec())?,
        }
    }
    b.finish()
}

/// Refuses weights of the wrong length for (rows, cols), and (row by row, so that the
/// error names the element's row and column) a value that is not storable, before any
/// quantization would turn a NaN into an ordinary int8 value.
fn check_weights(role: Role, rows: usize, cols: usize, data: &[f32]) -> Result<(), BuildError> {
    if rows.checked_mul(cols) != Some(data.len()) {
        return Err(BuildError::WrongLength(role));
    }
    check_finite(role, cols, data)
}

/// Row-major weights quantized to int8 row by row ([`quantize_row`]): the `I8` layout,
/// `rows * cols` bytes of `q` then the row scales.
fn quantized(rows: usize, cols: usize, data: &[f32]) -> Vec<u8> {
    let mut q = Vec::with_capacity(data.len() + 4 * rows);
    let mut scales = Vec::with_capacity(rows);
    for row in data.chunks(cols.max(1)).take(rows) {
        scales.push(quantize_row(row, &mut q));
    }
    q.extend(f32_bytes(&scales));
    q
}
