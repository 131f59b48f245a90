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
    /// Whether whitespace may be inside a token ([`SEG_SPACES_IN_TOKENS`]).
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
    copy_as(blob, b, keep, false)
}

/// Whether `role` is one of the segmenter's weight matrices, which may be stored as
/// f32 or int8 (the char embedding, each direction's `W_ih` and `W_hh`, the output
/// layer).
fn is_segmenter_matrix(role: Role) -> bool {
    matches!(
        role,
        Role::Segmenter(
            SegPart::CharEmbedding
                | SegPart::OutputWeights
                | SegPart::Lstm {
                    part: LstmPart::InputWeights | LstmPart::HiddenWeights,
                    ..
                }
        )
    )
}

/// [`copy_stored`], the segmenter's f32 weight matrices stored as int8 if `int8` (as
/// [`with_segmenter`] stores them for [`Storage::I8`]).
fn copy_as(
    blob: &[u8],
    b: &mut BlobBuilder,
    keep: impl Fn(Role) -> bool,
    int8: bool,
) -> Result<(), BuildError> {
    let raw = format::split(blob).map_err(BuildError::Invalid)?;
    let invalid = BuildError::Invalid(Error::InvalidModel);
    for e in raw.header.tensors.iter() {
        let e = e.map_err(BuildError::Invalid)?;
        if !keep(e.role) {
            continue;
        }
        let bytes = format::tensor_bytes(&e, raw.payload).ok_or(invalid.clone())?;
        let (rows, cols) = (e.rows as usize, e.cols as usize);
        if int8 && e.dtype == DType::F32 && is_segmenter_matrix(e.role) {
            let data: Vec<f32> = bytes
                .chunks_exact(4)
                .map(|v| f32::from_le_bytes([v[0], v[1], v[2], v[3]]))
                .collect();
            b.weights(e.role, rows, cols, &data, Storage::I8)?;
        } else {
            b.stored(e.role, e.dtype, rows, cols, bytes.to_vec())?;
        }
    }
    Ok(())
}

/// `to` with the segmenter of `from` (as it is stored), or without one if `from` has
/// none: for rewriting a model's tagger (`quantize`, `train --init`) without losing
/// the segmenter it carried.
pub fn copy_segmenter(from: &[u8], to: &[u8]) -> Result<Vec<u8>, BuildError> {
    copy_segmenter_as(from, to, Storage::F32)
}

/// [`copy_segmenter`] with the segmenter's weight matrices stored as `storage` where
/// `from` has them as f32: for [`Storage::I8`] (`quantize`), the bytes
/// [`with_segmenter`] writes from the same f32 weights. (int8 matrices stay int8.)
pub fn copy_segmenter_as(from: &[u8], to: &[u8], storage: Storage) -> Result<Vec<u8>, BuildError> {
    let config = format::split(to)
        .map_err(BuildError::Invalid)?
        .header
        .config;
    let mut b = BlobBuilder::new(config);
    copy_stored(to, &mut b, |role| !matches!(role, Role::Segmenter(_)))?;
    let int8 = storage == Storage::I8;
    copy_as(
        from,
        &mut b,
        |role| matches!(role, Role::Segmenter(_)),
        int8,
    )?;
    b.finish()
}

/// Whether `blob` carries a segmenter with f32 weight matrices.
pub fn has_f32_segmenter(blob: &[u8]) -> Result<bool, BuildError> {
    let raw = format::split(blob).map_err(BuildError::Invalid)?;
    for e in raw.header.tensors.iter() {
        let e = e.map_err(BuildError::Invalid)?;
        if is_segmenter_matrix(e.role) && e.dtype == DType::F32 {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Characters of a lowercased form that a token's character does not lowercase to on its
/// own: U+0307 (from `İ`, which lowercases to two characters) and final sigma (from `Σ`
/// at a word's end). A form with one is looked up for tokens whose characters do not
/// spell it one to one, which expand to the table's strings: such an entry always stays.
const CONTEXT_LOWERCASE: [char; 2] = ['\u{307}', '\u{3c2}'];

/// The multiword table without the entries that [`Segmenter::expand`] derives from the
/// others: a two-word entry whose words spell its form and whose form the others' longest
/// matching last word ([`super::suffix_split`]) splits in the same place, and without a
/// character of [`CONTEXT_LOWERCASE`]. Every token
/// expands the same way with either table: an entry goes only while another one with the
/// same last word stays, so the last words the fallback can choose are the same.
fn without_derivable(mut table: BTreeMap<String, String>) -> BTreeMap<String, String> {
    let forms: Vec<String> = table.keys().cloned().collect();
    for form in forms {
        let words = table[&form].clone();
        let derivable = match words.split_once('\t') {
            Some((first, last))
                if !last.contains('\t')
                    && !form.contains(CONTEXT_LOWERCASE)
                    && super::spells(&words, form.chars()) =>
            {
                let others = table
                    .iter()
                    .filter(|(f, _)| **f != form)
                    .map(|(f, w)| (f.as_str(), w.as_str()));
                super::suffix_split(others, &form) == Some(first.len())
            }
            _ => false,
        };
        if derivable {
            table.remove(&form);
        }
    }
    table
}

/// `blob` with its segmenter replaced by `seg` (or removed, for `None`); every other
/// tensor is copied as it is stored. Segmenter weight matrices are stored as `storage`.
/// The multiword table leaves out the entries [`Segmenter::expand`] derives from the
/// others (every token expands the same way with or without them).
pub fn with_segmenter(
    blob: &[u8],
    seg: Option<&SegmenterWeights>,
    storage: Storage,
) -> Result<Vec<u8>, BuildError> {
    write_segmenter(blob, seg, storage, true)
}

/// [`with_segmenter`], with the whole multiword table unless `prune`.
fn write_segmenter(
    blob: &[u8],
    seg: Option<&SegmenterWeights>,
    storage: Storage,
    prune: bool,
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
    let mwt = if prune { without_derivable(mwt) } else { mwt };
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

#[cfg(test)]
mod tests {
    extern crate std;
    use std::string::ToString;
    use std::vec;

    use super::*;
    use crate::segment::Word;
    use crate::synthetic::RandomModel;
    use proptest::prelude::*;

    /// A table shaped like a treebank's: possessives, contractions, typos without an
    /// apostrophe, a three-word form, forms whose words do not spell them.
    const TABLE: &[(&str, &[&str])] = &[
        ("kerry's", &["kerry", "'s"]),
        ("bob's", &["bob", "'s"]),
        ("world\u{2019}s", &["world", "\u{2019}s"]),
        ("parents'", &["parents", "'"]),
        ("sanders'", &["sanders", "'"]),
        ("don't", &["do", "n't"]),
        ("doesn't", &["does", "n't"]),
        ("can't", &["ca", "n't"]),
        ("won't", &["wo", "n't"]),
        ("we've", &["we", "'ve"]),
        ("you're", &["you", "'re"]),
        ("dont", &["do", "nt"]),
        ("couldnt", &["could", "nt"]),
        ("its", &["it", "s"]),
        ("animals", &["animal", "s"]),
        ("gonna", &["gon", "na"]),
        ("wanna", &["wan", "na"]),
        ("kinda", &["kind", "a"]),
        ("dunno", &["du", "n", "no"]),
        ("cannot", &["can", "not"]),
        ("du", &["de", "le"]),
        ("au", &["\u{e0}", "le"]),
        (
            "\u{3c3}\u{3c4}\u{3bf}",
            &["\u{3c3}\u{3b5}", "\u{3c4}\u{3bf}"],
        ),
        // Derivable, but tokens that lowercase to them need not spell them one to one.
        ("i\u{307}'s", &["i\u{307}", "'s"]),
        ("\u{3b1}\u{3c2}'s", &["\u{3b1}\u{3c2}", "'s"]),
    ];

    fn blob(prune: bool) -> Vec<u8> {
        let tiny = RandomModel {
            words: 20,
            word_dim: 4,
            chars: None,
            hidden: 3,
            layers: 1,
            bidirectional: false,
            tags: 3,
            storage: Storage::F32,
            seed: 7,
        };
        let (tagger, _) = tiny.build().unwrap();
        let (dim, h) = (2, 2);
        let seg = SegmenterWeights {
            spaces_in_tokens: false,
            chars: vec![('a', 1)],
            embedding: vec![0.1; 2 * dim],
            rows: 2,
            dim,
            cells: vec![SegCell {
                w_ih: vec![0.1; 4 * h * dim],
                w_hh: vec![0.1; 4 * h * h],
                bias: vec![0.0; 4 * h],
            }],
            out_w: vec![0.1; CLASSES * h],
            out_b: vec![0.0; CLASSES],
            multiwords: TABLE
                .iter()
                .map(|(f, w)| (f.to_string(), w.iter().map(|w| w.to_string()).collect()))
                .collect(),
        };
        write_segmenter(&tagger, Some(&seg), Storage::F32, prune).unwrap()
    }

    /// `quantize`'s path: an f32 segmenter copied as int8 is, byte for byte, the blob
    /// written with int8 from the same weights; copied as f32 it stays as stored; int8
    /// stays int8.
    #[test]
    fn a_segmenter_copied_as_int8_is_the_one_written_as_int8() {
        let tagger = RandomModel {
            words: 20,
            word_dim: 4,
            chars: None,
            hidden: 3,
            layers: 1,
            bidirectional: true,
            tags: 3,
            storage: Storage::I8,
            seed: 9,
        }
        .build()
        .unwrap()
        .0;
        let mut x = 1u32;
        let mut v = |n: usize| -> Vec<f32> {
            (0..n)
                .map(|_| {
                    x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    (x >> 8) as f32 / (1u32 << 24) as f32 - 0.5
                })
                .collect()
        };
        let (dim, h) = (3, 5);
        let cell = |v: &mut dyn FnMut(usize) -> Vec<f32>| SegCell {
            w_ih: v(4 * h * dim),
            w_hh: v(4 * h * h),
            bias: v(4 * h),
        };
        let seg = SegmenterWeights {
            spaces_in_tokens: true,
            chars: vec![('a', 1), ('b', 2)],
            embedding: v(3 * dim),
            rows: 3,
            dim,
            cells: vec![cell(&mut v), cell(&mut v)],
            out_w: v(CLASSES * 2 * h),
            out_b: v(CLASSES),
            multiwords: vec![(
                "gonna".to_string(),
                vec!["gon".to_string(), "na".to_string()],
            )],
        };
        let f32_blob = with_segmenter(&tagger, Some(&seg), Storage::F32).unwrap();
        let int8_blob = with_segmenter(&tagger, Some(&seg), Storage::I8).unwrap();
        assert!(has_f32_segmenter(&f32_blob).unwrap());
        assert!(!has_f32_segmenter(&int8_blob).unwrap());
        assert!(!has_f32_segmenter(&tagger).unwrap());
        assert_eq!(
            copy_segmenter_as(&f32_blob, &tagger, Storage::I8).unwrap(),
            int8_blob
        );
        assert_eq!(
            copy_segmenter_as(&int8_blob, &tagger, Storage::I8).unwrap(),
            int8_blob
        );
        assert_eq!(copy_segmenter(&f32_blob, &tagger).unwrap(), f32_blob);
    }

    fn words(seg: &Segmenter<'_>, token: &str) -> Vec<(bool, String)> {
        seg.expand(token)
            .map(|w| (matches!(w, Word::Surface(..)), w.as_str().to_string()))
            .collect()
    }

    /// Tokens to try: the forms, their capitalised and uppercase spellings, each form's
    /// last word after other stems and alone.
    fn tokens() -> Vec<String> {
        let mut out = Vec::new();
        for (form, words) in TABLE {
            let last = words[words.len() - 1];
            out.push(form.to_string());
            out.push(form.to_uppercase());
            let mut c = form.chars();
            out.extend(
                c.next()
                    .map(|f| f.to_uppercase().chain(c).collect::<String>()),
            );
            for stem in [
                "x",
                "Arafat",
                "\u{c9}cole",
                "a'",
                "\u{130}",
                "\u{391}\u{3a3}",
            ] {
                out.push(alloc::format!("{stem}{last}"));
            }
            out.push(last.to_string());
        }
        out
    }

    #[test]
    fn pruning_keeps_every_expansion_and_drops_derivable_entries() {
        let (full, pruned) = (blob(false), blob(true));
        let (full, pruned) = (
            Segmenter::from_bytes(&full).unwrap().unwrap(),
            Segmenter::from_bytes(&pruned).unwrap().unwrap(),
        );
        for t in tokens() {
            assert_eq!(words(&pruned, &t), words(&full, &t), "{t}");
        }
        let kept: Vec<&str> = pruned.multiword_table().map(|(f, _)| f).collect();
        // Of each group of two-word spelled entries with the same last word, the last in
        // byte order stays (for `'s` that is `i̇'s`, which stays anyway, so `kerry's`
        // goes too); three-word and not-spelled forms stay.
        assert_eq!(full.multiwords(), TABLE.len());
        assert_eq!(
            kept,
            [
                "au",
                "cannot",
                "dont",
                "du",
                "dunno",
                "its",
                "i\u{307}'s",
                "kinda",
                "sanders'",
                "wanna",
                "we've",
                "won't",
                "world\u{2019}s",
                "you're",
                "\u{3b1}\u{3c2}'s",
                "\u{3c3}\u{3c4}\u{3bf}",
            ]
        );
    }

    proptest! {
        #[test]
        fn pruning_keeps_the_expansion_of_any_token(t in "[a-zA-Z'\u{2019}\u{e9}\u{3c3}\u{3c4}\u{3bf}\u{130}\u{3a3}\u{391}\u{3b1}\u{307}]{0,10}") {
            let (full, pruned) = (blob(false), blob(true));
            let full = Segmenter::from_bytes(&full).unwrap().unwrap();
            let pruned = Segmenter::from_bytes(&pruned).unwrap().unwrap();
            prop_assert_eq!(words(&pruned, &t), words(&full, &t));
        }
    }
}
