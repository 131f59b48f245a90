//! The int8 panel layout (`DType::I8Panels`, format version 3) of the word LSTM's
//! weights: the same model written in rows and in int8 panels tags alike, bit for bit,
//! at every kernel level and through every entry point (exact integer products, the
//! same float operations after them); readers refuse it where the format does not
//! allow it.

use postag_core::arch::{self, Level};
use postag_core::builder::{relayout_int8, BlobBuilder};
use postag_core::format::{self, DType, LstmPart, Net, Role};
use postag_core::synthetic::RandomModel;
use postag_core::tensor::{Layout, Matrix, Storage};
use postag_core::{Error, Model};

mod common;
use common::with_crc;

/// int8 models of several shapes: chars or not, 1 to 3 layers, uni- and bidirectional,
/// 4H not a multiple of 16 and inputs of odd width (a padded last pair).
fn specs() -> Vec<RandomModel> {
    [
        (Some((6, 5)), 9, 1, true, 11),
        (None, 8, 2, true, 10),
        (Some((4, 3)), 17, 3, false, 7),
        (None, 13, 1, false, 21),
        (None, 40, 1, true, 1),
    ]
    .into_iter()
    .enumerate()
    .map(
        |(i, (chars, hidden, layers, bidirectional, word_dim))| RandomModel {
            words: 60,
            word_dim,
            chars,
            hidden,
            layers,
            bidirectional,
            tags: 6,
            storage: Storage::I8,
            seed: 700 + i as u64,
        },
    )
    .collect()
}

fn levels() -> impl Iterator<Item = Level> {
    Level::ALL.into_iter().filter(|l| l.is_supported())
}

fn word_matrices<'m>(model: &'m Model<'_>) -> Vec<&'m Matrix<'m>> {
    let shape = model.lstm().shape();
    let mut out = Vec::new();
    for layer in 0..shape.layers as usize {
        for dir in 0..shape.directions() {
            let cell = model.lstm().cell(layer, dir);
            out.push(&cell.w_ih);
            out.push(&cell.w_hh);
        }
    }
    out
}

/// Tags and scores of `tag` with `bytes` of scratch.
fn tag(model: &Model<'_>, s: &[String], bytes: usize) -> (Vec<u16>, Vec<f32>) {
    let mut scratch = vec![0u8; bytes];
    let (mut tags, mut scores) = (vec![0u16; s.len()], vec![0f32; s.len() * model.num_tags()]);
    model
        .tag(s, &mut scratch, &mut tags, Some(&mut scores))
        .unwrap();
    (tags, scores)
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn a_model_in_int8_panels_tags_as_in_rows_at_every_level() {
    for spec in specs() {
        let (rows_blob, words) = spec.build_layout(true, false).unwrap();
        let (panels_blob, _) = spec.build_layout(true, true).unwrap();
        assert_eq!(u16::from_le_bytes([panels_blob[6], panels_blob[7]]), 3);
        assert_eq!(u16::from_le_bytes([rows_blob[6], rows_blob[7]]), 1);
        let rows = Model::from_bytes(&rows_blob).unwrap();
        let panels = Model::from_bytes(&panels_blob).unwrap();
        // Every element reads the same; only the word LSTM's matrices are in panels.
        for (a, b) in word_matrices(&rows).into_iter().zip(word_matrices(&panels)) {
            assert_eq!((a.dtype(), b.dtype()), (DType::I8, DType::I8Panels));
            assert_eq!(b.layout(), Layout::Panels);
            for r in 0..a.rows() {
                for c in 0..a.cols() {
                    assert_eq!(
                        a.get(r, c).to_bits(),
                        b.get(r, c).to_bits(),
                        "{spec:?} ({r}, {c})"
                    );
                }
            }
        }
        if let Some(chars) = panels.chars() {
            assert_eq!(chars.lstm.cell(0, 0).w_hh.dtype(), DType::I8);
        }
        // Panels take no copy of a word LSTM matrix: no room for one either.
        if panels.chars().is_none() {
            assert_eq!(panels.cached_scratch_bytes(20), panels.scratch_bytes(20));
        }
        assert!(panels.cached_scratch_bytes(20) <= rows.cached_scratch_bytes(20));
        assert!(panels.batch_scratch_bytes(90, 30) <= rows.batch_scratch_bytes(90, 30));
        let mut sentences = RandomModel::sentences(&words, 12, 9);
        sentences.push(words.iter().cycle().take(40).cloned().collect());
        sentences.push(vec![words[2].clone()]);
        for level in levels() {
            assert!(arch::force(Some(level)));
            let name = format!("{spec:?} at {}", level.name());
            for s in &sentences {
                let n = s.len();
                for bytes in [
                    rows.scratch_bytes(n).unwrap(),
                    rows.cached_scratch_bytes(n).unwrap(),
                    rows.min_scratch_bytes(n).unwrap(),
                ] {
                    let (want_tags, want) = tag(&rows, s, bytes);
                    let (got_tags, got) = tag(&panels, s, bytes);
                    assert_eq!(bits(&got), bits(&want), "{name}: {n} tokens, {bytes} bytes");
                    assert_eq!(got_tags, want_tags);
                }
                if rows.has_state() {
                    let run = |model: &Model<'_>| {
                        let mut state = vec![0.0f32; model.state_len()];
                        let mut scratch = vec![0u8; model.scratch_bytes(n).unwrap()];
                        let mut tags = vec![0u16; n];
                        for _ in 0..2 {
                            model
                                .tag_from_state(s, &mut state, &mut scratch, &mut tags, None)
                                .unwrap();
                        }
                        state
                    };
                    assert_eq!(bits(&run(&panels)), bits(&run(&rows)), "{name}: state");
                }
            }
            let total: usize = sentences.iter().map(Vec::len).sum();
            let longest = sentences.iter().map(Vec::len).max().unwrap();
            let batch = |model: &Model<'_>| {
                let mut scratch = vec![0u8; model.batch_scratch_bytes(total, longest).unwrap()];
                let mut tags = vec![0u16; total];
                let mut scores = vec![0f32; total * model.num_tags()];
                model
                    .tag_batch(&sentences, &mut scratch, &mut tags, Some(&mut scores))
                    .unwrap();
                (tags, bits(&scores))
            };
            assert_eq!(batch(&panels), batch(&rows), "{name}: tag_batch");
            // Streaming steps of the first cell, plain and packed.
            let (a, b) = (rows.lstm().cell(0, 0), panels.lstm().cell(0, 0));
            let (input, hidden) = (a.w_ih.cols(), a.hidden());
            let x: Vec<f32> = (0..input).map(|i| (i as f32 * 0.7).sin()).collect();
            let steps = |cell: &postag_core::Cell<'_>, packed: bool| {
                let (mut h, mut c) = (vec![0.0f32; hidden], vec![0.0f32; hidden]);
                let mut buf = vec![0.0f32; cell.packed_len()];
                let packed_cell = cell.pack(&mut buf).unwrap();
                let mut work = vec![0.0f32; cell.work_len().max(packed_cell.work_len())];
                for _ in 0..3 {
                    match packed {
                        true => packed_cell.step(&x, &mut h, &mut c, &mut work).unwrap(),
                        false => cell.step(&x, &mut h, &mut c, &mut work).unwrap(),
                    }
                }
                bits(&[h, c].concat())
            };
            for packed in [false, true] {
                assert_eq!(
                    steps(b, packed),
                    steps(a, packed),
                    "{name}: steps, packed {packed}"
                );
            }
        }
        arch::force(None);
    }
}

/// `blob` with the bytes of `role`'s tensor changed by `change` (and its CRC set).
fn patched(blob: &[u8], role: Role, change: impl Fn(&mut [u8])) -> Vec<u8> {
    let (at, e) = postag_testutil::tensor_at(blob, role);
    let len = e.dtype.byte_len(e.rows, e.cols).unwrap();
    let mut out = blob.to_vec();
    change(&mut out[at..at + len]);
    with_crc(out)
}

#[test]
fn int8_panels_are_refused_where_the_format_does_not_allow_them() {
    let spec = &specs()[0];
    let (blob, _) = spec.build_layout(true, true).unwrap();
    let word = |part| Role::Lstm {
        net: Net::Word,
        layer: 0,
        reverse: false,
        part,
    };
    let w_ih = word(LstmPart::InputWeights);
    // Declared as version 2 (which has no int8 panels): refused.
    let mut v2 = blob.clone();
    v2[6..8].copy_from_slice(&2u16.to_le_bytes());
    assert_eq!(
        Model::from_bytes(&with_crc(v2)).err(),
        Some(Error::InvalidModel)
    );
    // Nonzero padding: past the last row (4H = 36 rows in panels of 16), past an odd
    // last column (a model without chars whose input is 21 wide).
    let h = spec.hidden;
    let padding = postag_core::kernels::panel_index_i8(4 * h, 0, h);
    let bad = patched(&blob, word(LstmPart::HiddenWeights), |b| b[padding] = 1);
    assert_eq!(Model::from_bytes(&bad).err(), Some(Error::InvalidModel));
    let spec_odd = &specs()[3];
    let (odd_blob, _) = spec_odd.build_layout(true, true).unwrap();
    let odd = postag_core::kernels::panel_index_i8(0, spec_odd.word_dim, spec_odd.word_dim);
    let bad = patched(&odd_blob, w_ih, |b| b[odd] = 0xff);
    assert_eq!(Model::from_bytes(&bad).err(), Some(Error::InvalidModel));
    // A changed byte at a real element loads.
    let real = postag_core::kernels::panel_index_i8(0, spec_odd.word_dim - 1, spec_odd.word_dim);
    assert!(Model::from_bytes(&patched(&odd_blob, w_ih, |b| b[real] ^= 1)).is_ok());
    // A NaN row scale: named.
    let nan = patched(&blob, w_ih, |b| {
        let at = b.len() - 4 * 4 * h + 4;
        b[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    });
    assert!(matches!(
        Model::from_bytes(&nan).err(),
        Some(Error::NonFiniteWeight { role, row: 1, col: None, .. }) if role == w_ih
    ));
    // In int8 panels, a matrix other than the word LSTM's: refused (the same weights in
    // rows load).
    let model = Model::from_bytes(&blob).unwrap();
    let char_w_hh = Role::Lstm {
        net: Net::Char,
        layer: 0,
        reverse: false,
        part: LstmPart::HiddenWeights,
    };
    let raw = format::split(&blob).unwrap();
    let start = raw.payload.as_ptr() as usize - blob.as_ptr() as usize;
    let rebuilt = |char_in_panels: bool| {
        let mut b = BlobBuilder::new(*model.config());
        for e in raw.header.tensors.iter().map(Result::unwrap) {
            let len = e.dtype.byte_len(e.rows, e.cols).unwrap();
            let at = start + e.offset as usize;
            let (rows, cols) = (e.rows as usize, e.cols as usize);
            let weights = vec![0.5; rows * cols];
            match e.role == char_w_hh {
                true if char_in_panels => b.weights_in_i8_panels(e.role, rows, cols, &weights),
                true => b.weights(e.role, rows, cols, &weights, Storage::I8),
                false => b.stored(e.role, e.dtype, rows, cols, blob[at..at + len].to_vec()),
            }
            .unwrap();
        }
        b.finish()
    };
    assert!(rebuilt(false).is_ok());
    assert!(matches!(
        rebuilt(true),
        Err(postag_core::builder::BuildError::Invalid(
            Error::InvalidModel
        ))
    ));
}

/// The builder and `relayout_int8` keep a word LSTM matrix of more than 1024 columns
/// (whose sums would leave the kernels' i32 lanes) in rows, the others in int8 panels;
/// the model tags as in rows.
#[test]
fn matrices_wider_than_the_kernels_take_stay_in_rows() {
    let spec = RandomModel {
        words: 20,
        word_dim: postag_core::kernels::I8_PANELS_MAX_COLS + 6,
        chars: None,
        hidden: 8,
        layers: 1,
        bidirectional: false,
        tags: 3,
        storage: Storage::I8,
        seed: 5,
    };
    let (blob, words) = spec.build_layout(true, true).unwrap();
    let (rows_blob, _) = spec.build_layout(true, false).unwrap();
    assert_eq!(relayout_int8(&rows_blob, true).unwrap(), blob);
    let (panels, rows) = (
        Model::from_bytes(&blob).unwrap(),
        Model::from_bytes(&rows_blob).unwrap(),
    );
    let cell = panels.lstm().cell(0, 0);
    assert_eq!(
        (cell.w_ih.dtype(), cell.w_hh.dtype()),
        (DType::I8, DType::I8Panels)
    );
    let sentence: Vec<String> = words.iter().take(9).cloned().collect();
    let bytes = rows.scratch_bytes(sentence.len()).unwrap();
    assert_eq!(
        bits(&tag(&panels, &sentence, bytes).1),
        bits(&tag(&rows, &sentence, bytes).1)
    );
}
