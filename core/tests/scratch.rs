//! `Model::scratch_bytes` and `Model::min_scratch_bytes` are the formula documented in
//! `core/README.md` ("Memory"), and exactly enough: at the worst alignment one byte
//! less is too small. The low-memory schedule tags as the default one does.

mod common;

use common::tiny;
use postag_core::format::{Config, LstmShape};
use postag_core::synthetic::RandomModel;
use postag_core::tensor::Storage;
use postag_core::{Error, Model};
use postag_testutil::repo;

/// `work(L, H, D, in, k)` of the README: stacked layer outputs plus one lane, inputs
/// projected in blocks of `block` (`PROJECTION_BLOCK`, or 1 for the low-memory
/// schedule).
fn work(s: &LstmShape, input: usize, k: usize, block: usize) -> usize {
    let (l, h) = (s.layers as usize, s.hidden as usize);
    let d = h * if s.bidirectional { 2 } else { 1 };
    let seq = match l {
        1 => 0,
        2 => 1,
        _ => 2,
    };
    let i = input.max(d);
    let b = k.min(block);
    seq * k * d + b * (i + 4 * h) + i + 2 * h + h.div_ceil(2) + (b * i).div_ceil(2) + b
}

/// The README's formula, written from the documentation alone.
fn documented(c: &Config, n: usize, block: usize) -> usize {
    if n == 0 {
        return 0;
    }
    let t = c.tags as usize;
    let f = c.chars.map_or(0, |ch| {
        ch.lstm.hidden as usize * if ch.lstm.bidirectional { 2 } else { 1 }
    });
    let v = if c.crf {
        2 * t + (n * t).div_ceil(2)
    } else {
        0
    };
    let s = if c.lstm.bidirectional {
        0
    } else {
        2 * c.lstm.layers as usize * c.lstm.hidden as usize
    };
    let in0 = c.words.dim as usize + f;
    let ww = work(&c.lstm, in0, n, block);
    let wc = c.chars.map_or(0, |ch| {
        let m = ch.max_word_chars as usize;
        m + work(&ch.lstm, ch.dim as usize, m, block)
    });
    4 * (n * (1 + f + t) + v + s + ww.max(wc)) + 3
}

/// `n` tokens of the vocabulary `words`, every seventh, round and round.
fn sentence(words: &[String], n: usize) -> Vec<&str> {
    words
        .iter()
        .cycle()
        .step_by(7)
        .take(n)
        .map(String::as_str)
        .collect()
}

fn models() -> Vec<Vec<u8>> {
    let mut blobs = Vec::new();
    blobs.push(tiny::blob());
    for (crf, bi) in [(false, false), (false, true), (true, false)] {
        blobs.push(tiny::blob_with(tiny::config(crf, bi, true)));
    }
    for (layers, bidirectional, chars) in [(1, true, Some((8, 5))), (3, false, None)] {
        for storage in [Storage::I8, Storage::F32] {
            let m = RandomModel {
                words: 50,
                word_dim: 12,
                chars,
                hidden: 7,
                layers,
                bidirectional,
                tags: 5,
                storage,
                seed: 3,
            };
            blobs.push(m.build().unwrap().0);
        }
    }
    blobs.push(RandomModel::BASE.build().unwrap().0);
    for name in ["en_ewt.postag", "en_ewt_micro.postag", "en_ewt_nano.postag"] {
        blobs.push(std::fs::read(repo().join("models").join(name)).unwrap());
    }
    blobs
}

#[test]
fn scratch_bytes_is_the_documented_formula() {
    for blob in models() {
        let model = Model::from_bytes(&blob).unwrap();
        for n in [0, 1, 2, 5, 7, 8, 9, 16, 33, 100, 4096] {
            assert_eq!(
                model.scratch_bytes(n),
                Some(documented(model.config(), n, 8)),
                "{:?}, n = {n}",
                model.config()
            );
            assert_eq!(
                model.min_scratch_bytes(n),
                Some(documented(model.config(), n, 1)),
                "low memory: {:?}, n = {n}",
                model.config()
            );
        }
    }
    // A call with no tokens needs no scratch; one token needs far less than many.
    let blob = std::fs::read(repo().join("models/en_ewt.postag")).unwrap();
    let model = Model::from_bytes(&blob).unwrap();
    assert_eq!(model.scratch_bytes(0), Some(0));
    let mut tags = [0u16; 0];
    model.tag::<&str>(&[], &mut [], &mut tags, None).unwrap();
}

#[test]
fn scratch_bytes_is_exactly_enough_at_any_alignment() {
    for blob in models() {
        let model = Model::from_bytes(&blob).unwrap();
        let words = ["the", "dog", "ate", "an", "apple", "x", "z", "q", "a", "e"];
        for (n, low) in [1, 2, 8, 9]
            .into_iter()
            .flat_map(|n| [(n, false), (n, true)])
        {
            let tokens: Vec<&str> = words.iter().cycle().take(n).copied().collect();
            let need = if low {
                model.min_scratch_bytes(n).unwrap()
            } else {
                model.scratch_bytes(n).unwrap()
            };
            let mut tags = vec![0u16; n];
            let mut buf = vec![0u8; need + 8];
            for shift in 0..4 {
                let s = &mut buf[shift..];
                match model.tag(&tokens, &mut s[..need], &mut tags, None) {
                    Ok(()) | Err(Error::UnknownWord | Error::UnknownChar) => {}
                    Err(e) => panic!("{e} with {need} bytes at shift {shift}"),
                }
                // At the worst alignment (3 bytes skipped to reach a multiple of 4),
                // one byte less than the least does not fit (one byte less than
                // `scratch_bytes` runs the low-memory schedule, tested below).
                if low && s.as_ptr().align_offset(4) == 3 {
                    assert_eq!(
                        model.tag(&tokens, &mut s[..need - 1], &mut tags, None),
                        Err(Error::ScratchTooSmall),
                        "n = {n}"
                    );
                }
            }
        }
    }
}

/// The low-memory schedule (a buffer of `min_scratch_bytes`) gives the default
/// schedule's tags and scores: bit for bit at the scalar level, the level of Cortex-M
/// builds, and with int8 weights (exact integer products) at every level; f32 within
/// rounding at the others (the projection takes another tile).
#[test]
fn the_low_memory_schedule_tags_as_the_default_one() {
    use postag_core::arch::{self, Level};
    let mut checked = 0;
    for blob in models() {
        let model = Model::from_bytes(&blob).unwrap();
        let words: Vec<String> = model.vocab().map(|(w, _)| w.to_string()).collect();
        let t = model.num_tags();
        for n in [1, 7, 8, 9, 30] {
            let tokens = sentence(&words, n);
            for level in Level::ALL.into_iter().filter(|l| l.is_supported()) {
                assert!(arch::force(Some(level)));
                let run = |bytes: usize| {
                    let mut scratch = vec![0u8; bytes];
                    let (mut tags, mut scores) = (vec![0u16; n], vec![0f32; n * t]);
                    model
                        .tag(&tokens, &mut scratch, &mut tags, Some(&mut scores))
                        .map(|()| (tags, scores))
                };
                let low = model.min_scratch_bytes(n).unwrap();
                let full = model.scratch_bytes(n).unwrap();
                assert!(
                    low <= full && (n == 1 || low < full),
                    "n = {n}: {low} vs {full}"
                );
                let (Ok(a), Ok(b)) = (run(low), run(full)) else {
                    continue; // a model without an unknown-char row and a rare char
                };
                if level == Level::Scalar || model.storage() == Some(Storage::I8) {
                    assert_eq!(a, b, "{level:?} {:?}, n = {n}", model.config());
                } else {
                    assert_eq!(a.0, b.0, "{level:?}, n = {n}");
                    for (x, y) in a.1.iter().zip(&b.1) {
                        assert!((x - y).abs() <= 1e-5, "{level:?}, n = {n}: {x} vs {y}");
                    }
                }
                checked += 1;
            }
            arch::force(None);
        }
    }
    assert!(checked > 50, "{checked}");
}

/// `scratch_bytes` runs the default schedule at any alignment: the buffer is touched
/// past the end of what the low-memory schedule uses.
#[test]
fn scratch_bytes_runs_the_default_schedule_at_any_alignment() {
    const CANARY: u8 = 0xA5;
    let mut checked = 0;
    for blob in models() {
        let model = Model::from_bytes(&blob).unwrap();
        let words: Vec<String> = model.vocab().map(|(w, _)| w.to_string()).collect();
        for n in [9, 30] {
            let tokens = sentence(&words, n);
            // The low-memory schedule's words, from the first aligned byte.
            let low_words = (model.min_scratch_bytes(n).unwrap() - 3) / 4;
            let full = model.scratch_bytes(n).unwrap();
            let mut buf = vec![CANARY; full + 8];
            for shift in 0..4 {
                buf.fill(CANARY);
                let s = &mut buf[shift..shift + full];
                let skip = s.as_ptr().align_offset(4);
                let mut tags = vec![0u16; n];
                if model.tag(&tokens, s, &mut tags, None).is_err() {
                    continue; // a model without an unknown-char row and a rare char
                }
                let past = &s[skip + 4 * low_words..];
                assert!(
                    past.iter().any(|&b| b != CANARY),
                    "tag, shift {shift}, n = {n}: {:?}",
                    model.config()
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 20, "{checked}");
}
