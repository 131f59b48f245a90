//! The blob format: pinned bytes, framing errors, hostile input.

mod common;

use common::exercise::exercise;
use common::{tiny, with_crc};
use postag_core::builder::{quantize_row, BlobBuilder, BuildError};
use postag_core::format::{self, DType, Role};
use postag_core::tensor::{Layout, Matrix, Storage};
use postag_core::{Error, Model, FORMAT_VERSION};
use postag_testutil::repo;
use proptest::prelude::*;

/// The pinned blobs: format version 1 (the word LSTM in int8, every matrix in rows),
/// version 2 (the same with an f32 word LSTM, both LSTMs in the panel layout) and
/// version 3 (version 1's, the int8 word LSTM in the int8 panel layout).
const GOLDEN: [(&str, u16); 3] = [
    ("tests/golden/tiny.postag", 1),
    ("tests/golden/tiny-panels.postag", 2),
    ("tests/golden/tiny-int8-panels.postag", 3),
];

/// Any change to the encoding changes these bytes. Regenerate deliberately with
/// `POSTAG_BLESS=1 cargo test -p postag-core --test blob` and bump FORMAT_VERSION
/// if old blobs no longer load.
#[test]
fn golden_blob_bytes_are_pinned() {
    for ((golden, version), built) in GOLDEN.into_iter().zip([
        tiny::blob(),
        tiny::blob_with_panels(),
        tiny::blob_with_int8_panels(),
    ]) {
        let path = repo().join("core").join(golden);
        if std::env::var("POSTAG_BLESS").as_deref() == Ok("1") {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &built).unwrap();
        }
        let pinned = std::fs::read(&path).expect("golden blob missing; see this test's comment");
        assert_eq!(built.len(), pinned.len(), "{golden}: blob length changed");
        if let Some(i) = built.iter().zip(&pinned).position(|(a, b)| a != b) {
            panic!("{golden}: blob bytes changed from offset {i}: the format drifted");
        }
        assert_eq!(&pinned[..6], b"POSTAG");
        assert_eq!(
            u16::from_le_bytes([pinned[6], pinned[7]]),
            version,
            "{golden}"
        );
        let model = Model::from_bytes(&pinned).unwrap();
        assert_eq!(model.tag_names().collect::<Vec<_>>(), tiny::TAGS);
        assert_eq!(model.known_word_row("The"), Some(0));
        assert_eq!(model.known_word_row("7"), Some(4), "digits fold to 0");
        assert_eq!(model.known_word_row("ÑANDÚ"), Some(5), "lowercased");
        assert_eq!(model.known_word_row("cat"), None);
        assert_eq!(model.word_row("cat"), Some(6));
    }
    assert_eq!(GOLDEN[2].1, FORMAT_VERSION);
}

/// The builder starts every tensor in panels at a multiple of 64 bytes from the start
/// of the blob (each other tensor at a multiple of 16 from the payload start, as ever),
/// whatever the header's length, including a model where that takes zeros leading the
/// payload; `read_blob` and `BlobBuf` hold the bytes at a 64-byte aligned address, so
/// those panels start cache lines.
#[test]
fn panels_start_cache_lines_wherever_the_header_ends() {
    let config = tiny::config(true, true, true);
    let mut blobs = vec![
        tiny::blob_with_panels(),
        tiny::blob_in(config, Storage::F32, true, true),
        tiny::blob_with_char_lstm_in_rows(),
    ];
    for bits in 0..16 {
        let config = tiny::config(bits & 1 > 0, bits & 2 > 0, bits & 4 > 0);
        blobs.push(tiny::blob_in(config, Storage::F32, true, bits & 8 > 0));
    }
    // Models of many sizes: headers of many lengths, so payload starts at every
    // multiple of 16 modulo 64; with 1,393 words no layout agrees with its header
    // (offsets' varints cross a boundary) until the payload is led by 64 zeros.
    let mut starts = std::collections::BTreeSet::new();
    for words in (1..=40).chain([1393]) {
        let spec = postag_core::synthetic::RandomModel {
            words,
            word_dim: 2 + words % 7,
            chars: (words % 3 > 0).then_some((3, 2 + words % 3)),
            hidden: 1 + words % 5,
            layers: 1 + words % 2,
            bidirectional: words % 4 < 2,
            tags: 2 + words % 6,
            storage: Storage::F32,
            seed: words as u64,
        };
        blobs.push(spec.build().unwrap().0);
    }
    for blob in &blobs {
        let raw = format::split(blob).unwrap();
        let payload_start = raw.payload.as_ptr() as usize - blob.as_ptr() as usize;
        starts.insert(payload_start % 64);
        let mut panels = 0;
        for e in raw.header.tensors.iter().map(Result::unwrap) {
            let offset = e.offset as usize;
            assert_eq!(offset % 16, 0, "{:?}", e.role);
            if e.dtype == DType::F32Panels {
                assert_eq!((payload_start + offset) % 64, 0, "{:?}", e.role);
                panels += 1;
            }
        }
        assert!(panels > 0);
        let read = format::read_blob(&mut std::io::Cursor::new(blob)).unwrap();
        assert_eq!(read.as_ptr() as usize % 64, 0);
        assert_eq!(&read[..], &blob[..]);
        Model::from_bytes(&read).unwrap();
    }
    assert_eq!(starts.len(), 4, "payload starts modulo 64: {starts:?}");
    for len in [0, 1, 63, 64, 65, 200] {
        let bytes: Vec<u8> = (0..len).map(|i| i as u8 ^ 0x5a).collect();
        let copy = format::BlobBuf::new(&bytes);
        assert_eq!(copy.as_bytes(), &bytes[..]);
        assert_eq!(copy.as_ptr() as usize % 64, 0, "{len}");
    }
}

/// Format version 2: the builder puts the f32 `W_ih` and `W_hh` of the word and char
/// LSTMs (and nothing else) in the panel layout. The model tags as the same weights in rows do
/// (scores within rounding: the layout's sums run in another order). The loader takes
/// panels only from a blob that declares version 2, requires the padding rows of the
/// last panel to be zero, and names a weight it cannot store by its row and column.
#[test]
fn panel_layout_is_version_2_and_checked_at_load() {
    let config = tiny::config(true, true, true);
    let panels = tiny::blob_with_panels();
    let rows = tiny::blob_with_word_lstm(config, Storage::F32, false);
    assert_eq!(
        u16::from_le_bytes([rows[6], rows[7]]),
        1,
        "no panels: version 1"
    );
    let raw = format::split(&panels).unwrap();
    let payload_start = raw.payload.as_ptr() as usize - panels.as_ptr() as usize;
    let entries: Vec<_> = raw.header.tensors.iter().map(Result::unwrap).collect();
    let in_panels: Vec<Role> = entries
        .iter()
        .filter(|e| e.dtype == DType::F32Panels)
        .map(|e| e.role)
        .collect();
    // Two nets, two layers, two directions, W_ih and W_hh.
    assert_eq!(in_panels.len(), 16);
    assert!(in_panels.iter().all(|r| matches!(
        r,
        Role::Lstm {
            part: format::LstmPart::InputWeights | format::LstmPart::HiddenWeights,
            ..
        }
    )));

    // The char embedding and `hidden2tag` in panels too (the loader takes panels for
    // any of the tagger's matrices).
    let more = tiny::blob_in(config, Storage::F32, true, true);
    let (a, b) = (
        Model::from_bytes(&panels).unwrap(),
        Model::from_bytes(&rows).unwrap(),
    );
    let c = Model::from_bytes(&more).unwrap();
    assert_eq!(c.word_embedding().layout(), Layout::Rows);
    assert_eq!(c.chars().unwrap().embedding.layout(), Layout::Panels);
    // A version 2 blob with the char LSTM in rows (as earlier writers kept it) loads,
    // and tags as the others do; its LSTMs' layouts disagree.
    let mixed = tiny::blob_with_char_lstm_in_rows();
    assert_eq!(u16::from_le_bytes([mixed[6], mixed[7]]), 2);
    let d = Model::from_bytes(&mixed).unwrap();
    use postag_core::summary::{lstm_layout, tagger_lstm_layout};
    assert_eq!(lstm_layout(d.lstm()), Some(Layout::Panels));
    assert_eq!(lstm_layout(&d.chars().unwrap().lstm), Some(Layout::Rows));
    assert_eq!(tagger_lstm_layout(&d), None);
    assert_eq!(tagger_lstm_layout(&a), Some(Layout::Panels));
    assert_eq!(tagger_lstm_layout(&b), Some(Layout::Rows));
    for sentence in [
        &["The", "dog", "ate", "an", "apple"][..],
        &["7", "ÑANDÚ"],
        &["cat"],
    ] {
        let run = |m: &Model<'_>| {
            let mut scratch = vec![0u8; m.scratch_bytes(sentence.len()).unwrap()];
            let mut tags = vec![0u16; sentence.len()];
            let mut scores = vec![0.0f32; sentence.len() * m.num_tags()];
            m.tag(sentence, &mut scratch, &mut tags, Some(&mut scores))
                .unwrap();
            (tags, scores)
        };
        let (tags_b, scores_b) = run(&b);
        for m in [&a, &c, &d] {
            let (tags, scores) = run(m);
            assert_eq!(tags, tags_b, "{sentence:?}");
            for (x, y) in scores.iter().zip(&scores_b) {
                assert!(
                    (x - y).abs() <= 1e-5 * (1.0 + y.abs()),
                    "{sentence:?}: {x} vs {y}"
                );
            }
        }
    }

    // Declared as version 1: panels are not part of that format.
    let mut v1 = panels.clone();
    v1[6..8].copy_from_slice(&1u16.to_le_bytes());
    assert_eq!(
        Model::from_bytes(&with_crc(v1)).unwrap_err(),
        Error::InvalidModel
    );

    // A word LSTM matrix: 4H = 12 rows, one panel of 16, rows 12..16 padding.
    let e = entries
        .iter()
        .find(|e| {
            e.dtype == DType::F32Panels
                && matches!(
                    e.role,
                    Role::Lstm {
                        net: format::Net::Word,
                        ..
                    }
                )
        })
        .unwrap();
    let (r, c) = (e.rows as usize, e.cols as usize);
    assert_eq!(r, 12);
    let at = |row: usize, col: usize| {
        payload_start + e.offset as usize + 4 * postag_core::kernels::panel_index(row, col, c)
    };
    // Padding that is not zero bytes, a NaN there too, is a malformed layout (checked
    // before the values: row 12 does not exist).
    for value in [1.0f32, -0.0, f32::NAN] {
        let mut padded = panels.clone();
        padded[at(12, c - 1)..at(12, c - 1) + 4].copy_from_slice(&value.to_le_bytes());
        assert_eq!(
            Model::from_bytes(&with_crc(padded)).unwrap_err(),
            Error::InvalidModel,
            "{value}"
        );
    }
    // A NaN, or a finite value beyond 2^48, named by its row and column.
    for value in [f32::NAN, -1e20] {
        for (row, col) in [(0, 0), (r - 1, c - 1), (5, c / 2)] {
            let mut copy = panels.clone();
            copy[at(row, col)..at(row, col) + 4].copy_from_slice(&value.to_le_bytes());
            assert_eq!(
                Model::from_bytes(&with_crc(copy)).unwrap_err(),
                Error::NonFiniteWeight {
                    role: e.role,
                    row: row as u32,
                    col: Some(col as u32),
                    bits: value.to_bits(),
                },
                "{value}"
            );
        }
    }
    // The builder names a non-finite element by its row and column too, given in rows
    // or as stored panels.
    let mut b = BlobBuilder::new(config);
    let mut data = vec![0.5f32; 12 * 5];
    data[5 + 2] = f32::NAN;
    let want = |e: Result<(), BuildError>| match e {
        Err(BuildError::NonFinite {
            role,
            row: 1,
            col: 2,
            value,
        }) if value.is_nan() => role,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        want(b.weights_in_panels(Role::TagWeights, 12, 5, &data)),
        Role::TagWeights
    );
    let mut stored = vec![0u8; 4 * 16 * 5];
    let k = 4 * postag_core::kernels::panel_index(1, 2, 5);
    stored[k..k + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    assert_eq!(
        want(b.stored(Role::TagBias, DType::F32Panels, 12, 5, stored)),
        Role::TagBias
    );
}

#[test]
fn framing_errors_are_named() {
    let blob = tiny::blob();
    assert_eq!(Model::from_bytes(b"").unwrap_err(), Error::Truncated);
    assert_eq!(Model::from_bytes(b"POST").unwrap_err(), Error::Truncated);
    assert_eq!(
        Model::from_bytes(b"GIF89a....").unwrap_err(),
        Error::BadMagic
    );
    // Cut short past the header, or passed with bytes after its end (a buffer's
    // capacity for its length): the checksum is then read from other bytes, and the
    // message names both.
    let mut long = blob.clone();
    long.extend([0; 4096]);
    for wrong in [&blob[..blob.len() - 1], &long[..]] {
        let err = Model::from_bytes(wrong).unwrap_err();
        assert_eq!(err, Error::ChecksumMismatch);
        assert!(
            err.to_string().contains("corrupt, cut short or too long"),
            "{err}"
        );
    }
    assert_eq!(
        Model::from_bytes(&blob[..20]).unwrap_err(),
        Error::Truncated
    );

    let mut newer = blob.clone();
    newer[6..8].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
    let err = Model::from_bytes(&with_crc(newer)).unwrap_err();
    assert_eq!(
        err,
        Error::UnsupportedVersion {
            found: FORMAT_VERSION + 1
        }
    );
    let msg = err.to_string();
    assert!(msg.contains("newer") && msg.contains("upgrade"), "{msg}");
    // Version 0 (below the first) is not said to be an old one.
    let mut zero = blob.clone();
    zero[6..8].copy_from_slice(&0u16.to_le_bytes());
    let err = Model::from_bytes(&with_crc(zero)).unwrap_err();
    assert_eq!(err, Error::UnsupportedVersion { found: 0 });
    assert_eq!(
        err.to_string(),
        format!(
            "model blob format version 0 is not one this library reads (1 to {FORMAT_VERSION})"
        )
    );
    // The version is refused before anything else is read, even in a damaged blob.
    let mut newer_damaged = blob.clone();
    newer_damaged[6..8].copy_from_slice(&7u16.to_le_bytes());
    newer_damaged.truncate(30);
    assert_eq!(
        Model::from_bytes(&newer_damaged).unwrap_err(),
        Error::UnsupportedVersion { found: 7 }
    );

    let mut flipped = blob.clone();
    let last = flipped.len() - 10;
    flipped[last] ^= 1;
    assert_eq!(
        Model::from_bytes(&flipped).unwrap_err(),
        Error::ChecksumMismatch
    );
}

#[test]
fn every_truncation_and_every_byte_flip_is_an_error() {
    let blob = tiny::blob();
    assert!(blob.len() < 4096, "tiny blob is {} bytes", blob.len());
    for len in 0..blob.len() {
        assert!(
            Model::from_bytes(&blob[..len]).is_err(),
            "truncated to {len} loads"
        );
    }
    let mut copy = blob.clone();
    for i in 0..blob.len() {
        for mask in [0x01u8, 0x10, 0x80, 0xFF] {
            copy[i] ^= mask;
            assert!(
                Model::from_bytes(&copy).is_err(),
                "byte {i} ^ {mask:#x} loads"
            );
            copy[i] ^= mask;
        }
    }
}

/// Every f32 tensor and every int8 row scale of the tiny model, with a NaN, an
/// infinity or a negative infinity written into its last element (or last row's
/// scale) and the CRC recomputed, is refused at load naming that element.
#[test]
fn non_finite_weights_are_refused_at_load_naming_the_element() {
    let blob = tiny::blob();
    let raw = format::split(&blob).unwrap();
    let payload_start = raw.payload.as_ptr() as usize - blob.as_ptr() as usize;
    let entries: Vec<_> = raw.header.tensors.iter().map(Result::unwrap).collect();
    let mut kinds = std::collections::BTreeSet::new();
    let mut checked = 0;
    for e in &entries {
        let (rows, cols) = (e.rows as usize, e.cols as usize);
        // Byte position of the poisoned value and the error's (row, col).
        let (at, col) = match e.dtype {
            DType::F32 => (4 * (rows * cols - 1), Some(e.cols - 1)),
            DType::I8 => (rows * cols + 4 * (rows - 1), None),
            _ => continue,
        };
        kinds.insert(format!("{:?}", e.dtype));
        for value in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let mut copy = blob.clone();
            let i = payload_start + e.offset as usize + at;
            copy[i..i + 4].copy_from_slice(&value.to_le_bytes());
            assert_eq!(
                Model::from_bytes(&with_crc(copy)).unwrap_err(),
                Error::NonFiniteWeight {
                    role: e.role,
                    row: e.rows - 1,
                    col,
                    bits: value.to_bits(),
                },
                "{:?} = {value}",
                e.role
            );
            checked += 1;
        }
    }
    // Two embeddings (int8 words, f32 chars), 12 tensors of each LSTM (two
    // bidirectional layers: f32 char weights, int8 word weights, f32 biases),
    // hidden2tag's weights and bias, three CRF tensors: 31 tensors, 3 values each.
    assert_eq!(checked, 3 * 31);
    assert_eq!(kinds.len(), 2);

    // The message names the tensor the way PyTorch does, and the element.
    let e = entries.iter().find(|e| e.role == Role::TagWeights).unwrap();
    let mut copy = blob.clone();
    let i = payload_start + e.offset as usize + 4 * 6;
    copy[i..i + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    assert_eq!(
        Model::from_bytes(&with_crc(copy)).unwrap_err().to_string(),
        "model blob is invalid: hidden2tag.weight[1, 0] is NaN"
    );
    let e = entries.iter().find(|e| e.role == Role::CrfStart).unwrap();
    let mut copy = blob.clone();
    let i = payload_start + e.offset as usize + 4 * 2;
    copy[i..i + 4].copy_from_slice(&f32::NEG_INFINITY.to_le_bytes());
    assert_eq!(
        Model::from_bytes(&with_crc(copy)).unwrap_err().to_string(),
        "model blob is invalid: crf.start_transitions[2] is -inf"
    );
    let e = entries
        .iter()
        .find(|e| e.role == Role::WordEmbedding)
        .unwrap();
    let mut copy = blob.clone();
    let i = payload_start + e.offset as usize + 7 * 3 + 4 * 5;
    copy[i..i + 4].copy_from_slice(&f32::INFINITY.to_le_bytes());
    assert_eq!(
        Model::from_bytes(&with_crc(copy)).unwrap_err().to_string(),
        "model blob is invalid: the int8 scale of word_embeddings.weight row 5 is inf"
    );
}

/// The writer refuses NaN, infinities and values beyond 2^48 in every kind of tensor
/// (before an int8 quantization could turn them into ordinary values), naming the
/// element.
#[test]
fn the_writer_refuses_non_finite_values() {
    let config = tiny::config(true, true, true);
    let lstm = Role::Lstm {
        net: format::Net::Word,
        layer: 0,
        reverse: false,
        part: format::LstmPart::HiddenWeights,
    };
    for storage in [Storage::F32, Storage::I8] {
        let mut data = vec![0.5f32; 12 * 3];
        data[3 + 2] = f32::NAN; // row 1 (of 3 columns), col 2
        let err = BlobBuilder::new(config)
            .weights(lstm, 12, 3, &data, storage)
            .unwrap_err();
        assert!(
            matches!(err, BuildError::NonFinite { role, row: 1, col: 2, value } if role == lstm && value.is_nan()),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "lstm.weight_hh_l0[1, 2] is NaN; weights must be finite and within 2^48 (2.8e14) in magnitude, where f32 arithmetic cannot overflow"
        );
        // Beyond 2^48 too, but not at it.
        data[3 + 2] = format::MAX_MAGNITUDE;
        assert!(BlobBuilder::new(config)
            .weights(lstm, 12, 3, &data, storage)
            .is_ok());
        data[3 + 2] = -2.0 * format::MAX_MAGNITUDE;
        let err = BlobBuilder::new(config)
            .weights(lstm, 12, 3, &data, storage)
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("lstm.weight_hh_l0[1, 2] is -5.6294995e14; weights must be finite"),
            "{err}"
        );
    }
    let err = BlobBuilder::new(config)
        .vector(Role::TagBias, &[0.0, 1.0, f32::NEG_INFINITY, 0.0])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "hidden2tag.bias[2] is -inf; weights must be finite and within 2^48 (2.8e14) in magnitude, where f32 arithmetic cannot overflow"
    );
    let mut square = vec![0.0f32; 16];
    square[4 * 3] = f32::INFINITY;
    let err = BlobBuilder::new(config)
        .square(Role::CrfTransitions, 4, &square)
        .unwrap_err();
    assert_eq!(
        err,
        BuildError::NonFinite {
            role: Role::CrfTransitions,
            row: 3,
            col: 0,
            value: f32::INFINITY
        }
    );
}

/// A blob whose CRC is valid but whose header was altered must still be refused
/// or be safe to use: loading and tagging never panic and never read out of bounds.
#[test]
fn header_changes_with_a_valid_crc_never_panic() {
    let blob = tiny::blob();
    let header_end = 12 + u32::from_le_bytes([blob[8], blob[9], blob[10], blob[11]]) as usize;
    let (mut loaded, mut refused) = (0, 0);
    for i in 8..header_end {
        for value in [
            0u8,
            1,
            2,
            3,
            0x7F,
            0x80,
            0xFF,
            blob[i].wrapping_add(1),
            blob[i].wrapping_sub(1),
        ] {
            let mut copy = blob.clone();
            copy[i] = value;
            match Model::from_bytes(&with_crc(copy)) {
                Ok(model) => {
                    loaded += 1;
                    exercise(&model);
                }
                Err(_) => refused += 1,
            }
        }
    }
    println!("altered headers: {loaded} loaded, {refused} refused");
    assert!(refused > loaded, "most header changes should be refused");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = Model::from_bytes(&bytes);
        // The same bytes behind a valid preamble and CRC reach the header decoder.
        let mut framed = b"POSTAG".to_vec();
        framed.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        framed.extend_from_slice(&(bytes.len() as u32 / 2).to_le_bytes());
        framed.extend_from_slice(&bytes);
        framed.extend_from_slice(&[0; 4]);
        if let Ok(model) = Model::from_bytes(&with_crc(framed)) {
            exercise(&model);
        }
    }

    #[test]
    fn random_changes_to_a_valid_blob_never_panic(
        changes in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6)
    ) {
        let mut blob = tiny::blob();
        let body = blob.len() - 4;
        for (at, value) in changes {
            blob[at % body] = value;
        }
        if let Ok(model) = Model::from_bytes(&with_crc(blob)) {
            exercise(&model);
        }
    }

    #[test]
    fn int8_rows_are_within_half_a_step(row in proptest::collection::vec(-100.0f32..100.0, 1..80)) {
        let mut q = Vec::new();
        let scale = quantize_row(&row, &mut q);
        let max = row.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        prop_assert!((scale - max / 127.0).abs() <= f32::EPSILON * max);
        q.extend_from_slice(&scale.to_le_bytes());
        let m = Matrix::i8_scaled(&q, 1, row.len()).unwrap();
        let mut back = vec![0f32; row.len()];
        m.row_into(0, &mut back);
        for (w, d) in row.iter().zip(&back) {
            // |w - q*s| <= s/2, plus rounding of the division and product.
            prop_assert!((w - d).abs() <= scale * 0.5 + 4.0 * f32::EPSILON * max, "{w} vs {d}, scale {scale}");
        }
    }
}

/// Tag names are written into CoNLL-U columns and as `word/TAG`: the builder refuses
/// an empty name, one with whitespace or a control character, and a name given twice.
#[test]
fn tag_names_that_would_break_the_output_are_refused() {
    let config = format::split(&tiny::blob()).unwrap().header.config;
    for bad in [
        &["A", ""][..],
        &["X\tY", "B"],
        &["A", "B\n"],
        &["A B", "C"],
        &["A\u{a0}", "B"],
        &["A\u{1}", "B"],
        &["A", "A"],
    ] {
        let mut b = BlobBuilder::new(config);
        let err = b.tag_names(bad.iter().copied()).unwrap_err();
        assert!(matches!(err, BuildError::BadTagName(_)), "{bad:?}: {err}");
        assert!(err.to_string().contains("tag name"), "{err}");
    }
    let mut b = BlobBuilder::new(config);
    b.tag_names(["PROPN", "-LRB-", "NN$", "X"]).unwrap();
}
