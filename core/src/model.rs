//! The validated model view and the forward pass.

use crate::arch::lstm_cell;
use crate::format::{
    self, Config, DType, LstmPart, LstmShape, Net, Role, TensorEntry, TensorTable, MAX_DIM,
    MAX_LAYERS, MAX_ROWS, MAX_TAGS, MAX_WORD_CHARS, NORMALIZE_FOLD_DIGITS, NORMALIZE_LOWERCASE,
};
use crate::kernels::{argmax, log_softmax, quantize_i16};
use crate::tensor::{Matrix, Storage, U32s, Vector};
use crate::vocab::{find_code, word_chars, StringTable};
use crate::Error;

/// Most tokens accepted in one call.
pub const MAX_TOKENS: usize = 4096;

/// Tokens whose input projection `W_ih x` is computed together, so that each
/// weight row is read once per block instead of once per token.
pub const PROJECTION_BLOCK: usize = 8;

/// One direction of one LSTM layer.
#[derive(Debug, Clone, Copy)]
pub struct Cell<'a> {
    /// `W_ih` (4H, in) row-major, gate rows i, f, g, o.
    pub w_ih: Matrix<'a>,
    /// `W_hh` (4H, H) row-major.
    pub w_hh: Matrix<'a>,
    /// `b_ih + b_hh` (4H,).
    pub bias: Vector<'a>,
}

impl Cell<'_> {
    const EMPTY: Cell<'static> = Cell {
        w_ih: Matrix::EMPTY,
        w_hh: Matrix::EMPTY,
        bias: Vector::EMPTY,
    };

    /// Hidden size H.
    pub fn hidden(&self) -> usize {
        self.w_hh.cols()
    }

    /// One time step: `x (in,)`, state `h, c (H,)` updated in place, `gates (4H,)` is
    /// working memory. Tagging runs the same arithmetic a block of steps at a time.
    pub fn step(&self, x: &[f32], h: &mut [f32], c: &mut [f32], gates: &mut [f32]) {
        self.bias.copy_into(gates);
        self.w_ih.matvec_add(x, gates);
        self.w_hh.matvec_add(h, gates);
        lstm_cell(gates, c, h);
    }
}

/// A stack of LSTM layers; `cells[layer][direction]`, direction 1 = reverse.
#[derive(Debug, Clone, Copy)]
pub struct Stack<'a> {
    shape: LstmShape,
    cells: [[Cell<'a>; 2]; MAX_LAYERS],
}

impl<'a> Stack<'a> {
    /// The shape from the header.
    pub fn shape(&self) -> LstmShape {
        self.shape
    }

    /// Cell of `layer` (from 0) and `direction` (0 forward, 1 reverse).
    pub fn cell(&self, layer: usize, direction: usize) -> &Cell<'a> {
        &self.cells[layer][direction]
    }

    /// Words of working memory [`Stack::run`] needs for up to `steps` steps (at least
    /// one) with a first layer `input` wide: layer outputs for stacked layers, and one
    /// [`Lane`].
    fn work_len(shape: &LstmShape, steps: usize, input: usize) -> usize {
        let seq = steps * shape.output_dim();
        let seqs = match shape.layers {
            1 => 0,
            2 => seq,
            _ => 2 * seq,
        };
        let block = steps.min(PROJECTION_BLOCK);
        seqs + Lane::len(input.max(shape.output_dim()), shape.hidden as usize, block)
    }

    /// Runs every layer over `n` steps. Layer 0 reads step t's input (`input` wide)
    /// through `first(t, x)`; the last layer hands each new hidden state to
    /// `output(direction, t, h)` and each direction's final hidden state to
    /// `finished(direction, h)`. Each layer and direction starts from the state in
    /// `state` (and leaves its final state there), or from zero. `work` holds at
    /// least [`Stack::work_len`] words.
    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        n: usize,
        input: usize,
        work: &mut [f32],
        mut state: Option<&mut [f32]>,
        mut first: impl FnMut(usize, &mut [f32]),
        mut output: impl FnMut(usize, usize, &[f32]),
        mut finished: impl FnMut(usize, &[f32]),
    ) {
        let shape = self.shape;
        let (h, layers) = (shape.hidden as usize, shape.layers as usize);
        let out_dim = shape.output_dim();
        let seq = if layers > 1 { n * out_dim } else { 0 };
        let (seq_a, rest) = work.split_at_mut(seq);
        let (seq_b, rest) = rest.split_at_mut(if layers > 2 { seq } else { 0 });
        let mut lane = Lane::new(rest, input.max(out_dim), h, n.min(PROJECTION_BLOCK));
        // Layer 0 writes `seq_a`; later layers alternate (two layers need only `seq_a`).
        let (mut prev, mut next) = (seq_b, seq_a);
        for layer in 0..layers {
            let last = layer + 1 == layers;
            for dir in 0..shape.directions() {
                match state.as_deref() {
                    Some(s) => lane.load_state(s, layer, layers),
                    None => lane.zero_state(),
                }
                let cell = self.cell(layer, dir);
                let prev: &[f32] = prev;
                let input = |t: usize, x: &mut [f32]| {
                    if layer == 0 {
                        first(t, x);
                    } else {
                        x.copy_from_slice(&prev[t * out_dim..(t + 1) * out_dim]);
                    }
                };
                if last {
                    lane.run(cell, n, dir == 1, input, |t, h_t| output(dir, t, h_t));
                    finished(dir, lane.h);
                } else {
                    lane.run(cell, n, dir == 1, input, |t, h_t| {
                        next[t * out_dim + dir * h..t * out_dim + (dir + 1) * h]
                            .copy_from_slice(h_t);
                    });
                }
                if let Some(s) = state.as_deref_mut() {
                    lane.store_state(s, layer, layers);
                }
            }
            if !last {
                core::mem::swap(&mut prev, &mut next);
            }
        }
    }
}

/// Character features: embedding, vocabulary and char LSTM.
#[derive(Debug, Clone, Copy)]
pub struct CharNet<'a> {
    /// (rows, Dc) embedding.
    pub embedding: Matrix<'a>,
    codes: U32s<'a>,
    rows: U32s<'a>,
    unknown: Option<u32>,
    max_word_chars: usize,
    /// The char LSTM.
    pub lstm: Stack<'a>,
}

impl CharNet<'_> {
    /// Embedding row of `c`, or the unknown-char row.
    pub fn row(&self, c: char) -> Option<u32> {
        find_code(self.codes, c as u32)
            .map(|i| self.rows.get(i))
            .or(self.unknown)
    }

    /// Number of characters in the vocabulary.
    pub fn vocab_len(&self) -> usize {
        self.codes.len()
    }

    /// The vocabulary as (character, embedding row) pairs, by code point.
    pub fn vocab(&self) -> impl Iterator<Item = (char, u32)> + '_ {
        self.codes
            .iter()
            .zip(self.rows.iter())
            .map(|(c, r)| (char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER), r))
    }
}

/// Linear-chain CRF transitions for Viterbi decoding.
#[derive(Debug, Clone, Copy)]
pub struct Crf<'a> {
    /// (T, T): score of moving from tag i (row) to tag j (column).
    pub transitions: Vector<'a>,
    /// (T,) score of the first tag.
    pub start: Vector<'a>,
    /// (T,) score of the last tag.
    pub end: Vector<'a>,
}

/// A model whose blob was validated once; tagging reads weights in place.
#[derive(Debug, Clone, Copy)]
pub struct Model<'a> {
    config: Config,
    word_embedding: Matrix<'a>,
    words: StringTable<'a>,
    word_rows: U32s<'a>,
    chars: Option<CharNet<'a>>,
    lstm: Stack<'a>,
    tag_weights: Matrix<'a>,
    tag_bias: Vector<'a>,
    tag_names: StringTable<'a>,
    crf: Option<Crf<'a>>,
    blob_len: usize,
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

    /// Dimensions and options.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Size of the blob in bytes.
    pub fn blob_len(&self) -> usize {
        self.blob_len
    }

    /// Number of tags T.
    pub fn num_tags(&self) -> usize {
        self.config.tags as usize
    }

    /// Name of tag `i` (empty when out of range).
    pub fn tag_name(&self, i: usize) -> &'a str {
        self.tag_names.get(i)
    }

    /// Tag names in tag order.
    pub fn tag_names(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.tag_names.iter()
    }

    /// Index of the tag called `name`.
    pub fn tag_index(&self, name: &str) -> Option<usize> {
        self.tag_names.iter().position(|t| t == name)
    }

    /// The word embedding (rows, Dw).
    pub fn word_embedding(&self) -> &Matrix<'a> {
        &self.word_embedding
    }

    /// Number of words in the vocabulary (not counting an unknown-word row).
    pub fn vocab_len(&self) -> usize {
        self.words.len()
    }

    /// The vocabulary as (normalized word, embedding row) pairs, in byte order.
    pub fn vocab(&self) -> impl Iterator<Item = (&'a str, u32)> + '_ {
        self.words.iter().zip(self.word_rows.iter())
    }

    /// Embedding row used for `word` (after normalization), or the unknown-word row.
    pub fn word_row(&self, word: &str) -> Option<u32> {
        self.known_word_row(word).or(self.config.words.unknown)
    }

    /// Embedding row of `word` if it is in the vocabulary.
    pub fn known_word_row(&self, word: &str) -> Option<u32> {
        self.words
            .find_normalized(word, self.config.words.normalize)
            .map(|i| self.word_rows.get(i))
    }

    /// Character features, if the model has them.
    pub fn chars(&self) -> Option<&CharNet<'a>> {
        self.chars.as_ref()
    }

    /// The word LSTM.
    pub fn lstm(&self) -> &Stack<'a> {
        &self.lstm
    }

    /// `hidden2tag` weights (T, D) and bias (T,).
    pub fn tag_layer(&self) -> (&Matrix<'a>, &Vector<'a>) {
        (&self.tag_weights, &self.tag_bias)
    }

    /// CRF transitions, if the model decodes with Viterbi.
    pub fn crf(&self) -> Option<&Crf<'a>> {
        self.crf.as_ref()
    }

    /// Whether the model runs from a caller-held state ([`Model::tag_from_state`]):
    /// a unidirectional word LSTM.
    pub fn has_state(&self) -> bool {
        !self.config.lstm.bidirectional
    }

    /// Length of a streaming state: `(h, c)` of every layer, laid out like PyTorch's
    /// `(h_0, c_0)`: `h` of layers 0..L, then `c` of layers 0..L, H floats each.
    pub fn state_len(&self) -> usize {
        2 * self.config.lstm.layers as usize * self.config.lstm.hidden as usize
    }

    /// Scratch bytes needed to tag up to `tokens` tokens in one call (also enough
    /// for [`Model::step`]); `None` above [`MAX_TOKENS`].
    pub fn scratch_bytes(&self, tokens: usize) -> Option<usize> {
        let layout = Layout::new(self, tokens)?;
        // Three bytes of slack let any buffer be aligned to 4 internally; a call with
        // no tokens needs no scratch at all.
        Some(if layout.total == 0 {
            0
        } else {
            layout.total * 4 + 3
        })
    }

    /// Tags a sentence. Writes one tag per token into `tags[..tokens.len()]` and, if
    /// given, the log-probabilities of every tag (`tokens.len() * T`, row per token)
    /// into `scores`. Decodes with Viterbi when the model has CRF transitions, else
    /// with the per-token argmax. Outputs are written only on success.
    pub fn tag<T: AsRef<[u8]>>(
        &self,
        tokens: &[T],
        scratch: &mut [u8],
        tags: &mut [u16],
        scores: Option<&mut [f32]>,
    ) -> Result<(), Error> {
        self.run(tokens, None, scratch, tags, scores)
    }

    /// Like [`Model::tag`] for a unidirectional model, starting from the `(h, c)` in
    /// `state` (see [`Model::state_len`]) and leaving the final state there: the same
    /// as calling [`Model::step`] once per token.
    pub fn tag_from_state<T: AsRef<[u8]>>(
        &self,
        tokens: &[T],
        state: &mut [f32],
        scratch: &mut [u8],
        tags: &mut [u16],
        scores: Option<&mut [f32]>,
    ) -> Result<(), Error> {
        if !self.has_state() {
            return Err(Error::NotStreamable);
        }
        if state.len() != self.state_len() {
            return Err(Error::StateSize);
        }
        self.run(tokens, Some(state), scratch, tags, scores)
    }

    /// Streams one token: updates `state` and returns its tag (and its T log-probabilities
    /// in `scores`, if given). A zeroed state is the start of a sentence. Needs a
    /// unidirectional model without CRF transitions, whose tags depend only on the
    /// tokens so far (a CRF model is tagged a sentence at a time, with
    /// [`Model::tag_from_state`]).
    pub fn step(
        &self,
        token: &[u8],
        state: &mut [f32],
        scratch: &mut [u8],
        scores: Option<&mut [f32]>,
    ) -> Result<u16, Error> {
        if self.crf.is_some() {
            return Err(Error::NotStreamable);
        }
        let mut tag = [0u16];
        self.tag_from_state(&[token], state, scratch, &mut tag, scores)?;
        Ok(tag[0])
    }

    fn run<T: AsRef<[u8]>>(
        &self,
        tokens: &[T],
        state: Option<&mut [f32]>,
        scratch: &mut [u8],
        tags_out: &mut [u16],
        scores_out: Option<&mut [f32]>,
    ) -> Result<(), Error> {
        let n = tokens.len();
        let num_tags = self.num_tags();
        let layout = Layout::new(self, n).ok_or(Error::TooManyTokens)?;
        if tags_out.len() < n {
            return Err(Error::OutputTooSmall);
        }
        if let Some(s) = &scores_out {
            if s.len() < n * num_tags {
                return Err(Error::OutputTooSmall);
            }
        }
        if tokens.iter().any(|t| t.as_ref().is_empty()) {
            return Err(Error::EmptyToken);
        }
        if n == 0 {
            return Ok(());
        }
        let words = aligned_words(scratch, layout.total).ok_or(Error::ScratchTooSmall)?;
        let (rows, rest) = words.split_at_mut(layout.rows);
        let (feats, rest) = rest.split_at_mut(layout.feats);
        let (logits, rest) = rest.split_at_mut(layout.logits);
        let (viterbi, rest) = rest.split_at_mut(layout.viterbi);
        let (new_state, work) = rest.split_at_mut(layout.state);
        let feats: &mut [f32] = bytemuck::cast_slice_mut(feats);
        let logits: &mut [f32] = bytemuck::cast_slice_mut(logits);
        // A unidirectional LSTM runs on a copy of the state (zero for `tag`), which
        // reaches the caller's state only when the call succeeds.
        let new_state: &mut [f32] = bytemuck::cast_slice_mut(new_state);
        match &state {
            Some(s) => new_state.copy_from_slice(s),
            None => new_state.fill(0.0),
        }

        // Phase 1: every lookup and the char features. All input errors surface
        // here, before any output or state is touched.
        let feat_dim = self.config.chars.map_or(0, |c| c.feature_dim());
        for (i, token) in tokens.iter().enumerate() {
            let word = core::str::from_utf8(token.as_ref()).map_err(|_| Error::InvalidUtf8)?;
            rows[i] = self.word_row(word).ok_or(Error::UnknownWord)?;
            if let Some(chars) = &self.chars {
                chars.features(word, work, &mut feats[i * feat_dim..(i + 1) * feat_dim])?;
            }
        }

        // Phase 2: the word LSTM; its last layer feeds hidden2tag directly.
        let lstm_state = (!new_state.is_empty()).then_some(&mut *new_state);
        self.word_lstm(rows, feats, lstm_state, work, logits, n);

        // Phase 3: log_softmax per token, then decode. Finite weights can still
        // overflow (a logit of inf gives NaN scores): that is an error, never a tag.
        for row in logits.chunks_exact_mut(num_tags) {
            log_softmax(row);
        }
        if logits.iter().any(|v| v.is_nan()) {
            return Err(Error::NonFiniteScore);
        }
        match &self.crf {
            Some(crf) => crf.viterbi(logits, n, viterbi, tags_out)?,
            None => {
                for (tag, row) in tags_out.iter_mut().zip(logits.chunks_exact(num_tags)) {
                    *tag = argmax(row) as u16;
                }
            }
        }
        if let Some(out) = scores_out {
            out[..n * num_tags].copy_from_slice(logits);
        }
        if let Some(s) = state {
            s.copy_from_slice(new_state);
        }
        Ok(())
    }

    /// Runs the word LSTM; its last layer writes `hidden2tag` outputs into `logits` (n, T).
    fn word_lstm(
        &self,
        rows: &[u32],
        feats: &[f32],
        state: Option<&mut [f32]>,
        work: &mut [u32],
        logits: &mut [f32],
        n: usize,
    ) {
        let h = self.config.lstm.hidden as usize;
        let word_dim = self.config.words.dim as usize;
        let feat_dim = feats.len().checked_div(n).unwrap_or(0);
        let num_tags = self.num_tags();
        for row in logits.chunks_exact_mut(num_tags) {
            self.tag_bias.copy_into(row);
        }
        let tw = &self.tag_weights;
        self.lstm.run(
            n,
            self.config.word_input_dim(),
            bytemuck::cast_slice_mut(work),
            state,
            |t, x| {
                let (xw, xc) = x.split_at_mut(word_dim);
                self.word_embedding.row_into(rows[t] as usize, xw);
                xc.copy_from_slice(&feats[t * feat_dim..(t + 1) * feat_dim]);
            },
            |dir, t, h_t| {
                let row = &mut logits[t * num_tags..(t + 1) * num_tags];
                tw.matvec_add_cols(dir * h, h_t, row);
            },
            |_, _| {},
        );
    }
}

impl<'a> Tensors<'a> {
    /// A (T, T) f32 tensor viewed as a flat vector.
    fn vector_2d(&mut self, role: Role, t: usize) -> Result<Vector<'a>, Error> {
        let bytes = self.get(role, DType::F32, t, t)?;
        check_finite(role, bytes, t, false)?;
        Vector::f32_le(bytes, t * t).ok_or(Error::InvalidModel)
    }
}

impl CharNet<'_> {
    /// Computes `c_w` of `word` into `out` (width of the last layer's output).
    fn features(&self, word: &str, work: &mut [u32], out: &mut [f32]) -> Result<(), Error> {
        let hc = self.lstm.shape.hidden as usize;
        let (ids, rest) = work.split_at_mut(self.max_word_chars);
        let mut m = 0;
        for c in word_chars(word, self.max_word_chars) {
            ids[m] = self.row(c).ok_or(Error::UnknownChar)?;
            m += 1;
        }
        out.fill(0.0);
        if m == 0 {
            return Ok(());
        }
        let ids = &ids[..m];
        self.lstm.run(
            m,
            self.embedding.cols(),
            bytemuck::cast_slice_mut(rest),
            None,
            |t, x| self.embedding.row_into(ids[t] as usize, x),
            |_, _, _| {},
            |dir, h| out[dir * hc..(dir + 1) * hc].copy_from_slice(h),
        );
        Ok(())
    }
}

impl Crf<'_> {
    /// Best tag path for emissions `e` (n, T) into `tags`; `work` holds
    /// backpointers (n, T) and two score rows. `tags` is written only when the best
    /// path's score is finite.
    fn viterbi(
        &self,
        e: &[f32],
        n: usize,
        work: &mut [u32],
        tags: &mut [u16],
    ) -> Result<(), Error> {
        let t_count = self.start.len();
        let (scores, back) = work.split_at_mut(2 * t_count);
        let scores: &mut [f32] = bytemuck::cast_slice_mut(scores);
        let (cur, nxt) = scores.split_at_mut(t_count);
        let back: &mut [u16] = bytemuck::cast_slice_mut(back);
        for j in 0..t_count {
            cur[j] = self.start.get(j) + e[j];
        }
        for t in 1..n {
            for j in 0..t_count {
                let (mut best, mut arg) = (f32::NEG_INFINITY, 0);
                for (i, &s) in cur.iter().enumerate() {
                    let v = s + self.transitions.get(i * t_count + j);
                    if v > best {
                        best = v;
                        arg = i;
                    }
                }
                nxt[j] = best + e[t * t_count + j];
                back[t * t_count + j] = arg as u16;
            }
            cur.copy_from_slice(nxt);
        }
        for (j, s) in cur.iter_mut().enumerate() {
            *s += self.end.get(j);
        }
        let mut tag = argmax(cur);
        if !cur[tag].is_finite() {
            return Err(Error::NonFiniteScore);
        }
        for t in (0..n).rev() {
            tags[t] = tag as u16;
            if t > 0 {
                tag = back[t * t_count + tag] as usize;
            }
        }
        Ok(())
    }
}

/// Working memory of one LSTM direction: the block of inputs, their projections,
/// and the recurrent state.
struct Lane<'s> {
    // (B, in) inputs of the current block, row per token.
    x: &'s mut [f32],
    // (B, 4H) gate pre-activations of the current block.
    p: &'s mut [f32],
    // (in,) one weight row decoded to f32.
    row: &'s mut [f32],
    // (H,) the hidden state quantized to i16, for int8 `W_hh`.
    hq: &'s mut [i16],
    h: &'s mut [f32],
    c: &'s mut [f32],
}

impl<'s> Lane<'s> {
    /// Words of f32 a lane needs for inputs up to `in_max` wide, hidden size `h` and
    /// blocks of up to `block` steps.
    fn len(in_max: usize, h: usize, block: usize) -> usize {
        block * (in_max + 4 * h) + in_max + 2 * h + h.div_ceil(2)
    }

    /// A lane for runs of at most `block` steps per block ([`Lane::run`] takes blocks
    /// of `min(PROJECTION_BLOCK, steps left)`, so `min(n, PROJECTION_BLOCK)` serves `n` steps).
    fn new(work: &'s mut [f32], in_max: usize, h: usize, block: usize) -> Self {
        let (x, rest) = work.split_at_mut(block * in_max);
        let (p, rest) = rest.split_at_mut(block * 4 * h);
        let (row, rest) = rest.split_at_mut(in_max);
        let (hs, rest) = rest.split_at_mut(h);
        let (c, rest) = rest.split_at_mut(h);
        let hq: &mut [i16] = bytemuck::cast_slice_mut(&mut rest[..h.div_ceil(2)]);
        Lane {
            x,
            p,
            row,
            h: hs,
            c,
            hq: &mut hq[..h],
        }
    }

    fn zero_state(&mut self) {
        self.h.fill(0.0);
        self.c.fill(0.0);
    }

    fn load_state(&mut self, state: &[f32], layer: usize, layers: usize) {
        let h = self.h.len();
        self.h.copy_from_slice(&state[layer * h..(layer + 1) * h]);
        self.c
            .copy_from_slice(&state[(layers + layer) * h..(layers + layer + 1) * h]);
    }

    fn store_state(&self, state: &mut [f32], layer: usize, layers: usize) {
        let h = self.h.len();
        state[layer * h..(layer + 1) * h].copy_from_slice(self.h);
        state[(layers + layer) * h..(layers + layer + 1) * h].copy_from_slice(self.c);
    }

    /// Runs `cell` over `n` steps from the current state (in reverse order if
    /// `reverse`), reading step t's input through `input(t, x)` and handing
    /// each new hidden state to `output(t, h)`.
    fn run(
        &mut self,
        cell: &Cell<'_>,
        n: usize,
        reverse: bool,
        mut input: impl FnMut(usize, &mut [f32]),
        mut output: impl FnMut(usize, &[f32]),
    ) {
        let in_dim = cell.w_ih.cols();
        let g = cell.w_hh.rows();
        let mut done = 0;
        while done < n {
            let b = PROJECTION_BLOCK.min(n - done);
            let step = |k: usize| {
                if reverse {
                    n - 1 - (done + k)
                } else {
                    done + k
                }
            };
            let xs = &mut self.x[..b * in_dim];
            for (k, x) in xs.chunks_exact_mut(in_dim).enumerate() {
                input(step(k), x);
            }
            // P (b, 4H) = X (b, in) @ W_ih^T + bias; each weight row serves the whole block.
            let ps = &mut self.p[..b * g];
            cell.w_ih.project_block(xs, &cell.bias, self.row, ps);
            for (k, gates) in ps.chunks_exact_mut(g).enumerate() {
                // Int8 weights multiply an i16 copy of h in integer arithmetic: h is
                // rounded to within max|h| / 32766, far below the weights' own
                // quantization error. f32 weights (or a non-finite h) take floats.
                let quantized = cell.w_hh.storage() == Storage::I8
                    && quantize_i16(self.h, self.hq)
                        .is_some_and(|scale| cell.w_hh.matvec_add_quantized(self.hq, scale, gates));
                if !quantized {
                    cell.w_hh.matvec_add(self.h, gates);
                }
                lstm_cell(gates, self.c, self.h);
                output(step(k), self.h);
            }
            done += b;
        }
    }
}

/// Sizes, in 4-byte words, of the scratch regions for one call of `n` tokens
/// (documented as a formula in `core/README.md`, "Memory"; all zero for `n = 0`).
struct Layout {
    rows: usize,
    feats: usize,
    logits: usize,
    viterbi: usize,
    state: usize,
    total: usize,
}

impl Layout {
    fn new(model: &Model<'_>, n: usize) -> Option<Self> {
        if n > MAX_TOKENS {
            return None;
        }
        if n == 0 {
            return Some(Layout {
                rows: 0,
                feats: 0,
                logits: 0,
                viterbi: 0,
                state: 0,
                total: 0,
            });
        }
        let cfg = &model.config;
        let tags = cfg.tags as usize;
        let feats = n * cfg.chars.map_or(0, |c| c.feature_dim());
        let logits = n * tags;
        // Two f32 score rows plus n*T u16 backpointers, rounded up to whole words.
        let viterbi = if cfg.crf {
            2 * tags + (n * tags).div_ceil(2)
        } else {
            0
        };
        // A unidirectional word LSTM runs on a copy of its state.
        let state = if model.has_state() {
            model.state_len()
        } else {
            0
        };
        // The char net runs before the word LSTM: they share the working memory.
        let char_work = cfg.chars.map_or(0, |c| {
            let m = c.max_word_chars as usize;
            m + Stack::work_len(&c.lstm, m, c.dim as usize)
        });
        let word_work = Stack::work_len(&cfg.lstm, n, cfg.word_input_dim());
        let total = n + feats + logits + viterbi + state + char_work.max(word_work);
        Some(Layout {
            rows: n,
            feats,
            logits,
            viterbi,
            state,
            total,
        })
    }
}

/// The first `words` 4-byte-aligned words of `scratch`, if it is long enough.
fn aligned_words(scratch: &mut [u8], words: usize) -> Option<&mut [u32]> {
    let skip = scratch.as_ptr().align_offset(4);
    let bytes = scratch.get_mut(skip..skip.checked_add(words.checked_mul(4)?)?)?;
    bytemuck::try_cast_slice_mut(bytes).ok()
}
