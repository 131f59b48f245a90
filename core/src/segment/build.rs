//! Writing a segmenter into a blob (feature `alloc`).

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use crate::builder::{BlobBuilder, BuildError};
use crate::format::{
    self, DType, LstmPart, Role, SegPart, NORMALIZE_LOWERCASE, SEG_SPACES_IN_TOKENS,
};
use crate::tensor::Storage;
use crate::vocab::normalized;
use crate::Error;

use super::{Segmenter, CLASSES};

/// One LSTM direction: `W_ih` (4H, E), `W_hh` (4H, H), `b_ih + b_hh` (4H,), row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct SegCell {
    /// (4H, E).
    pub w_ih: Vec<f32>,
    /// (4H, H).
    pub w_hh: Vec<f32>,
    /// (4H,).
    pub bias: Vec<f32>,
}

/// A trained segmenter.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmenterWeights {
    /// Whether U+0020 may be inside a token.
    pub spaces_in_tokens: bool,
    /// (character, embedding row); row 0 is for unknown characters.
    pub chars: Vec<(char, u32)>,
    /// (rows, dim) row-major.
    pub embedding: Vec<f32>,
    /// Embedding rows.
    pub rows: usize,
    /// Embedding size E.
    pub dim: usize,
    /// Forward, then (bidirectional) reverse.
    pub cells: Vec<SegCell>,
    /// (5, D) row-major, D = H times the number of directions.
    pub out_w: Vec<f32>,
    /// (5,).
    pub out_b: Vec<f32>,
    /// Multiword surface forms and their words (a form's first entry wins after
    /// lowercasing).
    pub multiwords: Vec<(String, Vec<String>)>,
}

fn u32_bytes(v: &[u32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn table(b: &mut BlobBuilder, strings: &[&[u8]], s: SegPart, o: SegPart) -> Result<(), BuildError> {
    let mut bytes = Vec::new();
    let mut offsets = alloc::vec![0u32];
    for x in strings {
        bytes.extend_from_slice(x);
        offsets.push(bytes.len() as u32);
    }
    b.stored(Role::Segmenter(s), DType::U8, 1, bytes.len(), bytes)?;
    b.stored(
        Role::Segmenter(o),
        DType::U32,
        1,
        offsets.len(),
        u32_bytes(&offsets),
    )
}

/// Copies the tensors of `blob` whose role `keep` accepts into `b`, as they are stored.
fn copy_stored(
    blob: &[u8],
    b: &mut BlobBuilder,
    keep: impl Fn(Role) -> bool,
) -> Result<(), BuildError> {
    let raw = format::split(blob).map_err(BuildError::Invalid)?;
    let invalid = BuildError::Invalid(Error::InvalidModel);
    for e in raw.header.tensors.iter() {
        let e = e.map_err(BuildError::Invalid)?;
        if !keep(e.role) {
            continue;
        }
        let len = e.dtype.byte_len(e.rows, e.cols).ok_or(invalid.clone())?;
        let start = e.offset as usize;
        let bytes = start
            .checked_add(len)
            .and_then(|end| raw.payload.get(start..end))
            .ok_or(invalid.clone())?;
        b.stored(
            e.role,
            e.dtype,
            e.rows as usize,
            e.cols as usize,
            bytes.to_vec(),
        )?;
    }
    Ok(())
}

/// `to` with the segmenter of `from` (as it is stored), or without one if `from` has
/// none: for rewriting a model's tagger (`quantize`, `train --init`) without losing
/// the segmenter it carried.
pub fn copy_segmenter(from: &[u8], to: &[u8]) -> Result<Vec<u8>, BuildError> {
    let config = format::split(to)
        .map_err(BuildError::Invalid)?
        .header
        .config;
    let mut b = BlobBuilder::new(config);
    copy_stored(to, &mut b, |role| !matches!(role, Role::Segmenter(_)))?;
    copy_stored(from, &mut b, |role| matches!(role, Role::Segmenter(_)))?;
    b.finish()
}

/// `blob` with its segmenter replaced by `seg` (or removed, for `None`); every other
/// tensor is copied as it is stored. Segmenter weight matrices are stored as `storage`.
pub fn with_segmenter(
    blob: &[u8],
    seg: Option<&SegmenterWeights>,
    storage: Storage,
) -> Result<Vec<u8>, BuildError> {
    let config = format::split(blob)
        .map_err(BuildError::Invalid)?
        .header
        .config;
    let mut b = BlobBuilder::new(config);
    copy_stored(blob, &mut b, |role| !matches!(role, Role::Segmenter(_)))?;
    let Some(seg) = seg else {
        return b.finish();
    };
    let role = Role::Segmenter;
    let flags = if seg.spaces_in_tokens {
        SEG_SPACES_IN_TOKENS
    } else {
        0
    };
    b.stored(
        role(SegPart::Options),
        DType::U32,
        1,
        4,
        u32_bytes(&[flags, 0, 0, 0]),
    )?;
    b.weights(
        role(SegPart::CharEmbedding),
        seg.rows,
        seg.dim,
        &seg.embedding,
        storage,
    )?;
    let sorted: BTreeMap<char, u32> = seg.chars.iter().copied().collect();
    let codes: Vec<u32> = sorted.keys().map(|&c| c as u32).collect();
    let rows: Vec<u32> = sorted.values().copied().collect();
    b.stored(
        role(SegPart::CharCodes),
        DType::U32,
        1,
        codes.len(),
        u32_bytes(&codes),
    )?;
    b.stored(
        role(SegPart::CharRows),
        DType::U32,
        1,
        rows.len(),
        u32_bytes(&rows),
    )?;
    let mut hidden = 0;
    for (i, c) in seg.cells.iter().enumerate().take(2) {
        hidden = c.bias.len() / 4;
        let part = |part| {
            role(SegPart::Lstm {
                reverse: i == 1,
                part,
            })
        };
        b.weights(
            part(LstmPart::InputWeights),
            4 * hidden,
            seg.dim,
            &c.w_ih,
            storage,
        )?;
        b.weights(
            part(LstmPart::HiddenWeights),
            4 * hidden,
            hidden,
            &c.w_hh,
            storage,
        )?;
        b.vector(part(LstmPart::Bias), &c.bias)?;
    }
    let out_dim = hidden * seg.cells.len().min(2);
    b.weights(
        role(SegPart::OutputWeights),
        CLASSES,
        out_dim,
        &seg.out_w,
        storage,
    )?;
    b.vector(role(SegPart::OutputBias), &seg.out_b)?;
    let mut mwt: BTreeMap<String, String> = BTreeMap::new();
    for (form, words) in &seg.multiwords {
        let key: String = normalized(form, NORMALIZE_LOWERCASE).collect();
        mwt.entry(key).or_insert_with(|| words.join("\t"));
    }
    let keys: Vec<&[u8]> = mwt.keys().map(|k| k.as_bytes()).collect();
    let values: Vec<&[u8]> = mwt.values().map(|v| v.as_bytes()).collect();
    table(
        &mut b,
        &keys,
        SegPart::MultiwordForms,
        SegPart::MultiwordFormOffsets,
    )?;
    table(
        &mut b,
        &values,
        SegPart::MultiwordWords,
        SegPart::MultiwordWordOffsets,
    )?;
    let out = b.finish()?;
    Segmenter::from_bytes(&out).map_err(BuildError::Invalid)?;
    Ok(out)
}
