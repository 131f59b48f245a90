//! Blob to model: every tensor found by role, its shape and type checked against the
//! header's dimensions, every f32 value finite, every stored index in range.

use super::chars::CharNet;
use super::crf::Crf;
use super::lstm::{Cell, Stack};
use super::Model;
use crate::format::{
    self, DType, LstmPart, LstmShape, Net, Role, TensorEntry, TensorTable, MAX_DIM, MAX_LAYERS,
    MAX_ROWS, MAX_TAGS, MAX_WORD_CHARS, NORMALIZE_FOLD_DIGITS, NORMALIZE_LOWERCASE,
};
use crate::tensor::{Matrix, U32s, Vector};
use crate::vocab::StringTable;
use crate::Error;

impl<'a> Model<'a> {
    /// Validates a blob completely (framing, CRC, header, every tensor's place and
    /// shape, every stored index) and returns a view that tags without further checks.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Self, Error> {
        let raw = format::split(bytes)?;
        let config = raw.header.config;
        let mut t = Tensors {
            table: raw.header.tensors,
            payload: raw.payload,
            used: 0,
        };

        let word_rows = check_rows(config.words.rows)?;
        let word_dim = check_dim(config.words.dim)?;
        check_row(config.words.unknown, word_rows)?;
        if config.words.normalize & !(NORMALIZE_LOWERCASE | NORMALIZE_FOLD_DIGITS) != 0 {
            return Err(Error::InvalidModel);
        }
        check_shape(&config.lstm)?;
        let tags = config.tags as usize;
        if !(1..=MAX_TAGS).contains(&config.tags) {
            return Err(Error::InvalidModel);
        }

        let word_embedding = t.matrix(Role::WordEmbedding, word_rows, word_dim)?;
        let words = t.strings(Role::WordStrings, Role::WordOffsets)?;
        let word_row_ids = t.u32s(Role::WordRows, words.len())?;
        if !words.is_strictly_sorted() || word_row_ids.iter().any(|r| r as usize >= word_rows) {
            return Err(Error::InvalidModel);
        }

        let chars = match config.chars {
            None => None,
            Some(cc) => {
                let rows = check_rows(cc.rows)?;
                let dim = check_dim(cc.dim)?;
                check_row(cc.unknown, rows)?;
                check_shape(&cc.lstm)?;
                if !(1..=MAX_WORD_CHARS).contains(&cc.max_word_chars) {
                    return Err(Error::InvalidModel);
                }
                let embedding = t.matrix(Role::CharEmbedding, rows, dim)?;
                let Some((e, _)) = t.find(Role::CharCodes)? else {
                    return Err(Error::InvalidModel);
                };
                t.used -= 1; // `u32s` below counts it again
                let n = e.cols as usize;
                let codes = t.u32s(Role::CharCodes, n)?;
                let char_rows = t.u32s(Role::CharRows, n)?;
                let increasing = (1..n).all(|i| codes.get(i - 1) < codes.get(i));
                if !increasing || char_rows.iter().any(|r| r as usize >= rows) {
                    return Err(Error::InvalidModel);
                }
                Some(CharNet {
                    embedding,
                    codes,
                    rows: char_rows,
                    unknown: cc.unknown,
                    max_word_chars: cc.max_word_chars as usize,
                    lstm: t.stack(Net::Char, cc.lstm, dim)?,
                })
            }
        };

        let lstm = t.stack(Net::Word, config.lstm, config.word_input_dim())?;
        let tag_weights = t.matrix(Role::TagWeights, tags, config.lstm.output_dim())?;
        let tag_bias = t.vector(Role::TagBias, tags)?;
        let tag_names = t.strings(Role::TagStrings, Role::TagOffsets)?;
        if tag_names.len() != tags {
            return Err(Error::InvalidModel);
        }
        let crf = if config.crf {
            Some(Crf {
                transitions: t.vector_2d(Role::CrfTransitions, tags)?,
                start: t.vector(Role::CrfStart, tags)?,
                end: t.vector(Role::CrfEnd, tags)?,
            })
        } else {
            None
        };
        // Every entry must have been claimed: no stray or duplicated tensors.
        if t.used != t.count() {
            return Err(Error::InvalidModel);
        }
        Ok(Model {
            config,
            word_embedding,
            words,
            word_rows: word_row_ids,
            chars,
            lstm,
            tag_weights,
            tag_bias,
            tag_names,
            crf,
            blob_len: bytes.len(),
        })
    }
}

/// Finds tensors by role in a blob's table, each role at most once.
struct Tensors<'a> {
    table: TensorTable<'a>,
    payload: &'a [u8],
    used: usize,
}

impl<'a> Tensors<'a> {
    fn find(&mut self, role: Role) -> Result<Option<(TensorEntry, &'a [u8])>, Error> {
        let mut found = None;
        for entry in self.table.iter() {
            let entry = entry?;
            if entry.role != role {
                continue;
            }
            if found.is_some() {
                return Err(Error::InvalidModel);
            }
            let len = entry
                .dtype
                .byte_len(entry.rows, entry.cols)
                .ok_or(Error::InvalidModel)?;
            let start = entry.offset as usize;
            let end = start.checked_add(len).ok_or(Error::InvalidModel)?;
            let bytes = self.payload.get(start..end).ok_or(Error::InvalidModel)?;
            found = Some((entry, bytes));
        }
        if found.is_some() {
            self.used += 1;
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
        let m = match e.dtype {
            DType::F32 => Matrix::f32_le(bytes, rows, cols),
            DType::I8 => Matrix::i8_scaled(bytes, rows, cols),
            _ => None,
        }
        .ok_or(Error::InvalidModel)?;
        // Int8 elements are always finite: only f32 elements and row scales are read.
        match e.dtype {
            DType::I8 => check_finite(role, &bytes[rows * cols..], 1, true)?,
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

    /// A string table from a (1, n+1) offsets tensor and a (1, bytes) strings tensor.
    fn strings(&mut self, strings: Role, offsets: Role) -> Result<StringTable<'a>, Error> {
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
        StringTable::new(string_bytes, offsets).ok_or(Error::InvalidModel)
    }

    fn stack(&mut self, net: Net, shape: LstmShape, input: usize) -> Result<Stack<'a>, Error> {
        let h = shape.hidden as usize;
        let mut cells = [[Cell::EMPTY; 2]; MAX_LAYERS];
        for (layer, pair) in cells.iter_mut().enumerate().take(shape.layers as usize) {
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
                *cell = Cell {
                    w_ih: self.matrix(role(LstmPart::InputWeights), 4 * h, in_dim)?,
                    w_hh: self.matrix(role(LstmPart::HiddenWeights), 4 * h, h)?,
                    bias: self.vector(role(LstmPart::Bias), 4 * h)?,
                };
            }
        }
        Ok(Stack { shape, cells })
    }

    /// A (T, T) f32 tensor viewed as a flat vector.
    fn vector_2d(&mut self, role: Role, t: usize) -> Result<Vector<'a>, Error> {
        let bytes = self.get(role, DType::F32, t, t)?;
        check_finite(role, bytes, t, false)?;
        Vector::f32_le(bytes, t * t).ok_or(Error::InvalidModel)
    }

    /// Number of entries in the table, the optional segmenter's (`crate::segment`) aside.
    fn count(&self) -> usize {
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

/// Refuses a NaN or infinite value among the little-endian f32 values in `bytes`,
/// `cols` per row (`scales`: one int8 row scale per value), naming the first one.
fn check_finite(role: Role, bytes: &[u8], cols: usize, scales: bool) -> Result<(), Error> {
    const EXPONENT: u32 = 0x7F80_0000;
    let bits = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    // One pass without branches in the loop; locating the value is the rare case.
    let any_non_finite = bytes
        .chunks_exact(4)
        .fold(false, |bad, b| bad | (bits(b) & EXPONENT == EXPONENT));
    if !any_non_finite {
        return Ok(());
    }
    let cols = cols.max(1);
    match bytes
        .chunks_exact(4)
        .position(|b| bits(b) & EXPONENT == EXPONENT)
    {
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
