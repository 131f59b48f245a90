//! Blob to model: every tensor found by role, its shape and type checked against the
//! header's dimensions, every f32 value finite, every stored index in range.

use core::mem::MaybeUninit;

use super::chars::CharNet;
use super::crf::Crf;
use super::lstm::{Cell, Stack};
use super::Model;
use crate::format::{
    self, tensor_bytes, Config, DType, LstmPart, LstmShape, Net, Role, TensorEntry, TensorTable,
    MAX_DIM, MAX_LAYERS, MAX_ROWS, MAX_TAGS, MAX_WORD_CHARS, NORMALIZE_FOLD_DIGITS,
    NORMALIZE_LOWERCASE,
};
use crate::tensor::{Matrix, U32s, Vector};
use crate::vocab::{scalar_values, StringTable};
use crate::Error;

impl<'a> Model<'a> {
    /// Validates a blob completely (framing, CRC, header, every tensor's place and
    /// shape, every stored index) and returns a view that tags without further checks.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Self, Error> {
        // The CRC first, in a frame without the model (see `from_verified_in_place`).
        Self::from_verified(format::verify(bytes)?)
    }

    /// [`Model::from_bytes`] after [`format::verify`], in a frame of its own.
    #[inline(never)]
    pub fn from_verified(blob: format::Verified<'a>) -> Result<Self, Error> {
        let mut place = MaybeUninit::uninit();
        Self::from_verified_in_place(blob, &mut place).map(|model| *model)
    }

    /// [`Model::from_bytes`], with the model built in `place` and returned there: for
    /// a microcontroller's small stack, the model (about 1.3 KB on a 32-bit target)
    /// is never built elsewhere and moved. On an error `place` holds no loaded model.
    /// The CRC's check of a blob of 2,400 bytes or more keeps 2.4 KiB on the stack
    /// while `place` exists: where that matters, call [`format::verify`] first in a
    /// frame without `place`, then [`Model::from_verified_in_place`] (as the C API's
    /// `postag_model_load` does).
    pub fn from_bytes_in_place<'m>(
        bytes: &'a [u8],
        place: &'m mut MaybeUninit<Self>,
    ) -> Result<&'m mut Self, Error> {
        Self::from_verified_in_place(format::verify(bytes)?, place)
    }

    /// [`Model::from_bytes_in_place`] for bytes whose framing and CRC
    /// [`format::verify`] checked: everything else is checked here. A loader that
    /// verifies in a call of its own keeps the CRC's stack and the model's apart.
    pub fn from_verified_in_place<'m>(
        blob: format::Verified<'a>,
        place: &'m mut MaybeUninit<Self>,
    ) -> Result<&'m mut Self, Error> {
        Self::load(blob, place, true)
    }

    /// [`Model::from_bytes_in_place`]; `index`: whether lookups may use the index of
    /// the tensor table (tests compare with walks over the table alone).
    fn load<'m>(
        blob: format::Verified<'a>,
        place: &'m mut MaybeUninit<Self>,
        index: bool,
    ) -> Result<&'m mut Self, Error> {
        let bytes = blob.bytes();
        let raw = format::split_with(bytes, false)?;
        let mut t = Tensors::new(raw.header.tensors, raw.payload, index);
        // f32 panels only in a blob of version 2 or later, int8 panels of version 3.
        #[cfg(not(target_os = "none"))]
        {
            let version = format::declared_version(bytes).unwrap_or(0);
            t.panels = version >= format::PANELS_VERSION;
            t.int8_panels = version >= format::I8_PANELS_VERSION;
        }
        let model = Self::load_words(place, raw.header.config, &mut t, bytes.len())?;
        model.load_rest(&mut t)?;
        Ok(model)
    }

    /// The first part of [`Model::from_bytes`]: the header's dimensions and the word
    /// tables, then [`Model::start`]. A function of its own, so that what it holds
    /// takes no stack during the rest of the load.
    #[inline(never)]
    fn load_words<'m>(
        place: &'m mut MaybeUninit<Self>,
        config: Config,
        t: &mut Tensors<'a>,
        blob_len: usize,
    ) -> Result<&'m mut Self, Error> {
        let word_rows = check_rows(config.words.rows)?;
        let word_dim = check_dim(config.words.dim)?;
        check_row(config.words.unknown, word_rows)?;
        if config.words.normalize & !(NORMALIZE_LOWERCASE | NORMALIZE_FOLD_DIGITS) != 0 {
            return Err(Error::InvalidModel);
        }
        check_shape(&config.lstm)?;
        if !(1..=MAX_TAGS).contains(&config.tags) {
            return Err(Error::InvalidModel);
        }

        let word_embedding = t.matrix(Role::WordEmbedding, word_rows, word_dim)?;
        let words = t.strings(Role::WordStrings, Role::WordOffsets, true)?;
        let word_row_ids = t.u32s(Role::WordRows, words.len())?;
        if !all_below(word_row_ids, word_rows) {
            return Err(Error::InvalidModel);
        }
        Ok(Self::start(
            place,
            config,
            word_embedding,
            words,
            word_row_ids,
            blob_len,
        ))
    }

    /// Writes the model's first parts to `place` and the rest empty, for
    /// [`Model::load_rest`] to fill. The empty LSTM stacks are copied from a constant
    /// straight into `place` (a stack built at run time would be built on the stack
    /// first); a function of its own, so that whatever it does build takes no stack
    /// during the rest of the load.
    #[inline(never)]
    fn start<'m>(
        place: &'m mut MaybeUninit<Self>,
        config: Config,
        word_embedding: Matrix<'a>,
        words: StringTable<'a>,
        word_rows: U32s<'a>,
        blob_len: usize,
    ) -> &'m mut Self {
        let model = place.write(Model {
            config,
            word_embedding,
            words,
            word_rows,
            chars: config.chars.map(|_| CharNet {
                embedding: Matrix::EMPTY,
                codes: U32s::EMPTY,
                rows: U32s::EMPTY,
                unknown: None,
                max_word_chars: 0,
                lstm: Stack::EMPTY,
            }),
            lstm: Stack::EMPTY,
            tag_weights: Matrix::EMPTY,
            tag_bias: Vector::EMPTY,
            // Replaced by the tag names.
            tag_names: words,
            crf: None,
            blob_len,
        });
        model.lstm.shape = config.lstm;
        model
    }

    /// The rest of [`Model::from_bytes`] after the word tables: the char net, the word
    /// LSTM, `hidden2tag`, the tag names and the CRF, each written in place.
    fn load_rest(&mut self, t: &mut Tensors<'a>) -> Result<(), Error> {
        let config = self.config;
        let tags = config.tags as usize;
        if let (Some(cc), Some(net)) = (config.chars, &mut self.chars) {
            let rows = check_rows(cc.rows)?;
            let dim = check_dim(cc.dim)?;
            check_row(cc.unknown, rows)?;
            check_shape(&cc.lstm)?;
            if !(1..=MAX_WORD_CHARS).contains(&cc.max_word_chars) {
                return Err(Error::InvalidModel);
            }
            net.embedding = t.matrix(Role::CharEmbedding, rows, dim)?;
            let Some((e, _)) = t.find(Role::CharCodes)? else {
                return Err(Error::InvalidModel);
            };
            t.used -= 1; // `u32s` below counts it again
            let n = e.cols as usize;
            let codes = t.u32s(Role::CharCodes, n)?;
            let char_rows = t.u32s(Role::CharRows, n)?;
            let increasing = (1..n).all(|i| codes.get(i - 1) < codes.get(i));
            if !increasing || !all_below(char_rows, rows) || !scalar_values(codes) {
                return Err(Error::InvalidModel);
            }
            (net.codes, net.rows) = (codes, char_rows);
            (net.unknown, net.max_word_chars) = (cc.unknown, cc.max_word_chars as usize);
            net.lstm.shape = cc.lstm;
            t.stack(Net::Char, dim, &mut net.lstm)?;
        }

        t.stack(Net::Word, config.word_input_dim(), &mut self.lstm)?;
        self.tag_weights = t.matrix(Role::TagWeights, tags, config.lstm.output_dim())?;
        self.tag_bias = t.vector(Role::TagBias, tags)?;
        self.tag_names = t.strings(Role::TagStrings, Role::TagOffsets, false)?;
        if self.tag_names.len() != tags {
            return Err(Error::InvalidModel);
        }
        // (Bare-metal builds leave this to the tools that write their blobs, to save
        // the flash its Unicode tables take: a name there only reads oddly.)
        #[cfg(not(target_os = "none"))]
        if let Some(tag) = crate::vocab::bad_tag_name(self.tag_names.iter()) {
            return Err(Error::BadTagName { tag: tag as u16 });
        }
        if config.crf {
            self.crf = Some(Crf {
                transitions: t.vector_2d(Role::CrfTransitions, tags)?,
                start: t.vector(Role::CrfStart, tags)?,
                end: t.vector(Role::CrfEnd, tags)?,
            });
        }
        // Every entry must have been claimed: no stray or duplicated tensors.
        if t.used != t.count() {
            return Err(Error::InvalidModel);
        }
        Ok(())
    }
}

impl Stack<'_> {
    /// A stack of no layers (its cells empty), to be filled in place.
    const EMPTY: Stack<'static> = Stack {
        shape: LstmShape {
            hidden: 0,
            layers: 0,
            bidirectional: false,
        },
        cells: [[Cell::EMPTY; 2]; MAX_LAYERS],
    };
}

/// Whether every value of `values` is below `limit` (an index into `limit` rows).
fn all_below(values: U32s<'_>, limit: usize) -> bool {
    // The largest value, without a branch per value (on Cortex-M with the DSP
    // extension, word-aligned values four per step in assembly first).
    #[cfg(postag_arm_dsp)]
    let (first, rest) = crate::arch::max_u32_steps(values);
    #[cfg(not(postag_arm_dsp))]
    let (first, rest) = (0, values);
    (rest.iter().fold(first, u32::max) as usize) < limit || values.is_empty()
}

/// Roles that a model's tensors may have, in the order of [`slot`]: the fixed ones,
/// then `Role::Lstm` by net, layer, direction and part.
const SLOTS: usize = 14 + 2 * MAX_LAYERS * 2 * 3;

/// The place of `role` among the [`SLOTS`]; `None` for a role no model tensor has
/// (the segmenter's, an LSTM layer past [`MAX_LAYERS`]).
fn slot(role: Role) -> Option<usize> {
    Some(match role {
        Role::WordEmbedding => 0,
        Role::WordStrings => 1,
        Role::WordOffsets => 2,
        Role::WordRows => 3,
        Role::CharEmbedding => 4,
        Role::CharCodes => 5,
        Role::CharRows => 6,
        Role::TagWeights => 7,
        Role::TagBias => 8,
        Role::TagStrings => 9,
        Role::TagOffsets => 10,
        Role::CrfTransitions => 11,
        Role::CrfStart => 12,
        Role::CrfEnd => 13,
        Role::Lstm {
            net,
            layer,
            reverse,
            part,
        } if (layer as usize) < MAX_LAYERS => {
            let cell = (net as usize * MAX_LAYERS + layer as usize) * 2 + reverse as usize;
            14 + cell * 3 + part as usize
        }
        Role::Lstm { .. } | Role::Segmenter(_) => return None,
    })
}

/// The index of a clean tensor table, made in one pass: per [`slot`], one more than
/// the byte position of the entry with that role (0: none), and the number of entries
/// that must all be claimed (all but the segmenter's).
struct Index {
    at: [u16; SLOTS],
    count: usize,
}

impl Index {
    /// `None` unless every entry decodes, no role of a model tensor appears twice, each
    /// such tensor lies inside the payload and the table is shorter than 64 KiB.
    fn new(table: TensorTable<'_>, payload: &[u8]) -> Option<Index> {
        let mut index = Index {
            at: [0; SLOTS],
            count: 0,
        };
        let mut entries = table.iter();
        loop {
            let at = u16::try_from(table.0.len() - entries.remaining() + 1).ok()?;
            let Some(entry) = entries.next() else {
                return Some(index);
            };
            let entry = entry.ok()?;
            index.count += usize::from(!matches!(entry.role, Role::Segmenter(_)));
            if let Some(s) = slot(entry.role) {
                if index.at[s] != 0 {
                    return None;
                }
                tensor_bytes(&entry, payload)?;
                index.at[s] = at;
            }
        }
    }
}

/// Finds tensors by role in a blob's table, each role at most once.
struct Tensors<'a> {
    table: TensorTable<'a>,
    payload: &'a [u8],
    used: usize,
    /// Whether matrices may be in the panel layout (format version 2 on). Bare-metal
    /// builds read version 1 only: no field, no panel code ([`format::READ_VERSION`]).
    #[cfg(not(target_os = "none"))]
    panels: bool,
    /// Whether the word LSTM's int8 matrices may be in the int8 panel layout (format
    /// version 3 on).
    #[cfg(not(target_os = "none"))]
    int8_panels: bool,
    /// Where each role's entry is, when the table is clean; else every lookup walks
    /// the table, which finds the first problem in table order and names it.
    index: Option<Index>,
}

impl<'a> Tensors<'a> {
    fn new(table: TensorTable<'a>, payload: &'a [u8], index: bool) -> Self {
        Tensors {
            table,
            payload,
            used: 0,
            #[cfg(not(target_os = "none"))]
            panels: true,
            #[cfg(not(target_os = "none"))]
            int8_panels: false,
            index: index.then(|| Index::new(table, payload)).flatten(),
        }
    }

    fn find(&mut self, role: Role) -> Result<Option<(TensorEntry, &'a [u8])>, Error> {
        let found = match self.lookup(role) {
            Some(found) => found,
            None => self.walk(role)?,
        };
        if found.is_some() {
            self.used += 1;
        }
        Ok(found)
    }

    /// `role`'s entry and bytes from the index; `None` without an index.
    #[allow(clippy::option_option)]
    fn lookup(&self, role: Role) -> Option<Option<(TensorEntry, &'a [u8])>> {
        let at = self.index.as_ref()?.at[slot(role)?] as usize;
        if at == 0 {
            return Some(None);
        }
        let entry = TensorTable(self.table.0.get(at - 1..)?)
            .iter()
            .next()?
            .ok()?;
        Some(Some((entry, tensor_bytes(&entry, self.payload)?)))
    }

    /// `role`'s entry and bytes, from a walk over the whole table.
    fn walk(&self, role: Role) -> Result<Option<(TensorEntry, &'a [u8])>, Error> {
        let mut found = None;
        for entry in self.table.iter() {
            let entry = entry?;
            if entry.role != role {
                continue;
            }
            if found.is_some() {
                return Err(Error::InvalidModel);
            }
            let bytes = tensor_bytes(&entry, self.payload).ok_or(Error::InvalidModel)?;
            found = Some((entry, bytes));
        }
        Ok(found)
    }

    fn get(
        &mut self,
        role: Role,
        dtype: DType,
        rows: usize,
        cols: usize,
    ) -> Result<&'a [u8], Error> {
        match self.find(role)? {
            Some((e, bytes))
                if e.dtype == dtype && e.rows as usize == rows && e.cols as usize == cols =>
            {
                Ok(bytes)
            }
            _ => Err(Error::InvalidModel),
        }
    }

    fn matrix(&mut self, role: Role, rows: usize, cols: usize) -> Result<Matrix<'a>, Error> {
        let Some((e, bytes)) = self.find(role)? else {
            return Err(Error::InvalidModel);
        };
        if e.rows as usize != rows || e.cols as usize != cols {
            return Err(Error::InvalidModel);
        }
        #[cfg(not(target_os = "none"))]
        let (panels, int8_panels) = (self.panels, self.int8_panels);
        #[cfg(target_os = "none")]
        let (panels, int8_panels) = (false, false);
        // int8 panels: the word LSTM's matrices only (what their kernels serve).
        let int8_panels = int8_panels
            && matches!(
                role,
                Role::Lstm {
                    net: Net::Word,
                    part: LstmPart::InputWeights | LstmPart::HiddenWeights,
                    ..
                }
            );
        let m = match e.dtype {
            DType::F32 => Matrix::f32_le(bytes, rows, cols),
            DType::I8 => Matrix::i8_scaled(bytes, rows, cols),
            DType::F32Panels if panels => Matrix::f32_panels(bytes, rows, cols),
            DType::I8Panels if int8_panels => Matrix::i8_panels(bytes, rows, cols),
            _ => None,
        }
        .ok_or(Error::InvalidModel)?;
        // Int8 elements are always finite: only f32 elements and row scales are read.
        match e.dtype {
            DType::I8 => check_finite(role, &bytes[rows * cols..], 1, true)?,
            // (Guarded as above, so that builds without panels carry no panel code.)
            DType::F32Panels if panels => check_panels(role, &m, bytes)?,
            DType::I8Panels if int8_panels => check_i8_panels(role, &m, bytes)?,
            _ => check_finite(role, bytes, cols, false)?,
        }
        Ok(m)
    }

    fn vector(&mut self, role: Role, len: usize) -> Result<Vector<'a>, Error> {
        let bytes = self.get(role, DType::F32, 1, len)?;
        check_finite(role, bytes, len, false)?;
        Vector::f32_le(bytes, len).ok_or(Error::InvalidModel)
    }

    fn u32s(&mut self, role: Role, len: usize) -> Result<U32s<'a>, Error> {
        let bytes = self.get(role, DType::U32, 1, len)?;
        U32s::new(bytes, len).ok_or(Error::InvalidModel)
    }

    /// A string table from a (1, n+1) offsets tensor and a (1, bytes) strings tensor;
    /// `sorted`: its strings must be in strictly increasing byte order.
    fn strings(
        &mut self,
        strings: Role,
        offsets: Role,
        sorted: bool,
    ) -> Result<StringTable<'a>, Error> {
        let Some((e, offset_bytes)) = self.find(offsets)? else {
            return Err(Error::InvalidModel);
        };
        let Some((s, string_bytes)) = self.find(strings)? else {
            return Err(Error::InvalidModel);
        };
        if e.dtype != DType::U32 || e.rows != 1 || s.dtype != DType::U8 || s.rows != 1 {
            return Err(Error::InvalidModel);
        }
        let offsets = U32s::new(offset_bytes, e.cols as usize).ok_or(Error::InvalidModel)?;
        StringTable::checked(string_bytes, offsets, sorted).ok_or(Error::InvalidModel)
    }

    /// Fills the cells of `out`, a stack of the `net` LSTM whose first layer reads
    /// `input` values (its shape already set).
    fn stack(&mut self, net: Net, input: usize, out: &mut Stack<'a>) -> Result<(), Error> {
        let shape = out.shape;
        let h = shape.hidden as usize;
        for (layer, pair) in out.cells.iter_mut().enumerate().take(shape.layers as usize) {
            let in_dim = if layer == 0 {
                input
            } else {
                shape.output_dim()
            };
            for (direction, cell) in pair.iter_mut().enumerate().take(shape.directions()) {
                let role = |part| Role::Lstm {
                    net,
                    layer: layer as u8,
                    reverse: direction == 1,
                    part,
                };
                cell.w_ih = self.matrix(role(LstmPart::InputWeights), 4 * h, in_dim)?;
                cell.w_hh = self.matrix(role(LstmPart::HiddenWeights), 4 * h, h)?;
                cell.bias = self.vector(role(LstmPart::Bias), 4 * h)?;
            }
        }
        Ok(())
    }

    /// A (T, T) f32 tensor viewed as a flat vector.
    fn vector_2d(&mut self, role: Role, t: usize) -> Result<Vector<'a>, Error> {
        let bytes = self.get(role, DType::F32, t, t)?;
        check_finite(role, bytes, t, false)?;
        Vector::f32_le(bytes, t * t).ok_or(Error::InvalidModel)
    }

    /// Number of entries in the table, the optional segmenter's (`crate::segment`) aside.
    fn count(&self) -> usize {
        if let Some(index) = &self.index {
            return index.count;
        }
        self.table
            .iter()
            .filter(|e| {
                !matches!(
                    e,
                    Ok(TensorEntry {
                        role: Role::Segmenter(_),
                        ..
                    })
                )
            })
            .count()
    }
}

/// [`check_finite`] for a matrix in the panel layout (naming the element's row and
/// column), whose padding rows must be zero bytes (checked first: a NaN there is a
/// malformed layout, [`Error::InvalidModel`], not a weight of a row that does not exist).
fn check_panels(role: Role, m: &Matrix<'_>, bytes: &[u8]) -> Result<(), Error> {
    let (rows, cols) = (m.rows(), m.cols());
    // In panel order, then located: each float's row and column (`cols > 0` wherever a
    // float exists).
    let at = |i: usize| crate::kernels::panel_position(i, cols);
    let padding = bytes
        .chunks_exact(4)
        .enumerate()
        .any(|(i, b)| at(i).0 >= rows && b != [0; 4]);
    if padding {
        return Err(Error::InvalidModel);
    }
    if check_finite(role, bytes, 1, false).is_err() {
        let i = bytes
            .chunks_exact(4)
            .position(|b| !crate::format::storable(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
            .unwrap_or(0);
        let (row, col) = at(i);
        return Err(Error::NonFiniteWeight {
            role,
            row: row as u32,
            col: Some(col as u32),
            bits: u32::from_le_bytes([
                bytes[4 * i],
                bytes[4 * i + 1],
                bytes[4 * i + 2],
                bytes[4 * i + 3],
            ]),
        });
    }
    Ok(())
}

/// Checks an int8 matrix in the int8 panel layout: padding bytes (rows past the last,
/// the column past an odd last one) are zero, and every row scale is storable.
fn check_i8_panels(role: Role, m: &Matrix<'_>, bytes: &[u8]) -> Result<(), Error> {
    let (rows, cols) = (m.rows(), m.cols());
    let q = bytes.len() - 4 * rows;
    let padding = bytes[..q].iter().enumerate().any(|(i, &b)| {
        let (r, c) = crate::kernels::panel_position_i8(i, cols);
        (r >= rows || c >= cols) && b != 0
    });
    if padding {
        return Err(Error::InvalidModel);
    }
    check_finite(role, &bytes[q..], 1, true)
}

/// Refuses a value that is not [`crate::format::storable`] (NaN, infinite, or beyond
/// [`crate::format::MAX_MAGNITUDE`]) among the little-endian f32 values in `bytes`,
/// `cols` per row (`scales`: one int8 row scale per value), naming the first one.
pub(crate) fn check_finite(
    role: Role,
    bytes: &[u8],
    cols: usize,
    scales: bool,
) -> Result<(), Error> {
    // The bits of the magnitude, shifted out of the sign: above LIMIT is beyond
    // MAX_MAGNITUDE, NaN or infinite.
    const LIMIT: u32 = crate::format::MAX_MAGNITUDE.to_bits() << 1;
    let bits = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    // One pass without branches in the loop; locating the value is the rare case.
    let largest = |bytes: &[u8]| {
        bytes
            .chunks_exact(4)
            .fold(0, |acc, b| u32::max(acc, bits(b) << 1))
    };
    // (Word-aligned values on Cortex-M with an FPU: the same maximum, four values per
    // step in assembly.)
    #[cfg(all(postag_arm_dsp, target_abi = "eabihf"))]
    let largest = match bytemuck::try_cast_slice::<u8, f32>(bytes) {
        Ok(values) => crate::arch::max_magnitude_bits(values),
        Err(_) => largest(bytes),
    };
    #[cfg(not(all(postag_arm_dsp, target_abi = "eabihf")))]
    let largest = largest(bytes);
    if largest <= LIMIT {
        return Ok(());
    }
    let cols = cols.max(1);
    match bytes.chunks_exact(4).position(|b| bits(b) << 1 > LIMIT) {
        None => Ok(()),
        Some(i) => Err(Error::NonFiniteWeight {
            role,
            row: (i / cols) as u32,
            col: (!scales).then_some((i % cols) as u32),
            bits: bits(&bytes[i * 4..]),
        }),
    }
}

fn check_dim(d: u32) -> Result<usize, Error> {
    if (1..=MAX_DIM).contains(&d) {
        Ok(d as usize)
    } else {
        Err(Error::InvalidModel)
    }
}

fn check_rows(rows: u32) -> Result<usize, Error> {
    if (1..=MAX_ROWS).contains(&rows) {
        Ok(rows as usize)
    } else {
        Err(Error::InvalidModel)
    }
}

fn check_shape(s: &LstmShape) -> Result<(), Error> {
    check_dim(s.hidden)?;
    if (1..=MAX_LAYERS).contains(&(s.layers as usize)) {
        Ok(())
    } else {
        Err(Error::InvalidModel)
    }
}

fn check_row(row: Option<u32>, rows: usize) -> Result<(), Error> {
    match row {
        Some(r) if r as usize >= rows => Err(Error::InvalidModel),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec::Vec;

    use proptest::prelude::*;

    use super::*;
    use crate::crc32::crc32;
    use crate::synthetic::RandomModel;
    use crate::tensor::Storage;

    use crate::test_support::cases;

    /// A small model with char features and two word-LSTM layers.
    fn blob() -> Vec<u8> {
        RandomModel {
            words: 40,
            word_dim: 6,
            chars: Some((4, 5)),
            hidden: 7,
            layers: 2,
            bidirectional: true,
            tags: 5,
            storage: Storage::I8,
            seed: 7,
        }
        .build()
        .unwrap()
        .0
    }

    fn with_crc(mut blob: Vec<u8>) -> Vec<u8> {
        let n = blob.len() - 4;
        let crc = crc32(&blob[..n]);
        blob[n..].copy_from_slice(&crc.to_le_bytes());
        blob
    }

    /// The load with the table's index and with walks over the table alone: the same
    /// model or the same error.
    fn same_answer(bytes: &[u8]) -> Result<(), Error> {
        let blob = format::verify(bytes)?;
        let (mut a, mut b) = (MaybeUninit::uninit(), MaybeUninit::uninit());
        let indexed = Model::load(blob, &mut a, true).map(|m| *m);
        let walked = Model::load(blob, &mut b, false).map(|m| *m);
        match (&indexed, &walked) {
            (Ok(x), Ok(y)) => {
                assert_eq!(x.config, y.config);
                assert_eq!(x.vocab_len(), y.vocab_len());
                assert!(x.tag_names().eq(y.tag_names()));
            }
            _ => assert_eq!(indexed.err(), walked.err()),
        }
        walked.map(|_| ())
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "RandomModel::build calls libm's sqrtf, inline assembly"
    )]
    fn a_clean_table_is_indexed_and_every_lookup_matches_the_walk() {
        let blob = blob();
        let raw = format::split(&blob).unwrap();
        let t = Tensors::new(raw.header.tensors, raw.payload, true);
        let index = t.index.as_ref().expect("an index");
        assert_eq!(index.count, raw.header.tensors.iter().count());
        let mut roles = 0;
        for entry in raw.header.tensors.iter() {
            let role = entry.unwrap().role;
            let (looked_up, walked) = (t.lookup(role), t.walk(role).unwrap());
            assert_eq!(looked_up.flatten(), walked, "{role}");
            roles += usize::from(walked.is_some());
        }
        assert_eq!(roles, index.count);
        // Roles the blob lacks are absent from the index too.
        for role in [Role::CrfTransitions, Role::CrfStart, Role::CrfEnd] {
            assert_eq!(t.lookup(role), Some(None));
        }
        same_answer(&blob).unwrap();
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "RandomModel::build calls libm's sqrtf, inline assembly"
    )]
    fn altered_tables_are_refused_as_a_walk_refuses_them() {
        let blob = blob();
        let header_end = 12 + u32::from_le_bytes([blob[8], blob[9], blob[10], blob[11]]) as usize;
        let (mut loaded, mut refused) = (0, 0);
        for i in 12..header_end {
            for value in [
                0u8,
                1,
                2,
                3,
                4,
                5,
                0x7F,
                0x80,
                0xFF,
                blob[i] ^ 1,
                blob[i] ^ 2,
            ] {
                let mut copy = blob.clone();
                copy[i] = value;
                match same_answer(&with_crc(copy)) {
                    Ok(()) => loaded += 1,
                    Err(_) => refused += 1,
                }
            }
        }
        assert!(
            refused > 0 && loaded > 0,
            "{loaded} loaded, {refused} refused"
        );
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "RandomModel::build calls libm's sqrtf, inline assembly"
    )]
    fn char_codes_must_be_unicode_scalar_values() {
        let blob = blob();
        let raw = format::split(&blob).unwrap();
        let entry = raw
            .header
            .tensors
            .iter()
            .map(Result::unwrap)
            .find(|e| e.role == Role::CharCodes)
            .unwrap();
        let payload = raw.payload.as_ptr() as usize - blob.as_ptr() as usize;
        let last = payload + entry.offset as usize + 4 * (entry.cols as usize - 1);
        // The last code (the largest) raised: still increasing, still loading up to
        // U+10FFFF; a surrogate or beyond is no character.
        for (code, loads) in [(0x10FFFF, true), (0xDFFF, false), (0x110000, false)] {
            let mut copy = blob.clone();
            copy[last..last + 4].copy_from_slice(&u32::to_le_bytes(code));
            let got = Model::from_bytes(&with_crc(copy)).map(|_| ());
            assert_eq!(
                got,
                if loads {
                    Ok(())
                } else {
                    Err(Error::InvalidModel)
                },
                "{code:#x}"
            );
        }
    }

    proptest! {
        #![proptest_config(cases(256))]

        #[test]
        #[cfg_attr(miri, ignore = "RandomModel::build calls libm's sqrtf, inline assembly")]
        fn randomly_altered_tables_are_refused_as_a_walk_refuses_them(
            changes in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4)
        ) {
            let mut blob = blob();
            let header_end = 12 + u32::from_le_bytes([blob[8], blob[9], blob[10], blob[11]]) as usize;
            for (at, value) in changes {
                blob[12 + at % (header_end - 12)] = value;
            }
            let _ = same_answer(&with_crc(blob));
        }

        #[test]
        fn the_scan_finds_the_first_value_a_blob_cannot_store(
            values in proptest::collection::vec(
                prop_oneof![
                    any::<u32>(),
                    Just(0x7F80_0000),
                    Just(0xFF80_0000),
                    Just(0x7FC0_0001),
                    // 2^48 (storable), the next value up and its negative (not).
                    Just(crate::format::MAX_MAGNITUDE.to_bits()),
                    Just(crate::format::MAX_MAGNITUDE.to_bits() + 1),
                    Just(crate::format::MAX_MAGNITUDE.to_bits() | 0x8000_0001),
                ],
                0..40,
            ),
            cols in 1usize..7,
            scales: bool,
        ) {
            let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            let role = Role::TagBias;
            let storable = |v: u32| f32::from_bits(v).abs() <= 281_474_976_710_656.0;
            let want = match values.iter().position(|&v| !storable(v)) {
                None => Ok(()),
                Some(i) => Err(Error::NonFiniteWeight {
                    role,
                    row: (i / cols) as u32,
                    col: (!scales).then_some((i % cols) as u32),
                    bits: values[i],
                }),
            };
            prop_assert_eq!(check_finite(role, &bytes, cols, scales), want);
        }

        #[test]
        fn all_below_is_no_value_at_or_above_the_limit(
            values in proptest::collection::vec(any::<u32>(), 0..20),
            limit in 0usize..5,
            small: bool,
        ) {
            let values: Vec<u32> = values.iter().map(|&v| if small { v % 6 } else { v }).collect();
            let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            let u32s = U32s::new(&bytes, values.len()).unwrap();
            prop_assert_eq!(all_below(u32s, limit), values.iter().all(|&v| (v as usize) < limit));
        }
    }
}
