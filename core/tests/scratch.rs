//! `Model::scratch_bytes` is the formula documented in `core/README.md` ("Memory"),
//! and exactly enough: at the worst alignment one byte less is too small.

mod common;

use common::tiny;
use postag_core::format::{Config, LstmShape};
use postag_core::synthetic::RandomModel;
use postag_core::tensor::Storage;
use postag_core::{Error, Model};
use postag_testutil::repo;

/// `work(L, H, D, in, k)` of the README: stacked layer outputs plus one lane.
fn work(s: &LstmShape, input: usize, k: usize) -> usize {
    let (l, h) = (s.layers as usize, s.hidden as usize);
    let d = h * if s.bidirectional { 2 } else { 1 };
    let seq = match l {
        1 => 0,
        2 => 1,
        _ => 2,
    };
    let i = input.max(d);
    let b = k.min(8);
    seq * k * d + b * (i + 4 * h) + i + 2 * h + h.div_ceil(2) + (b * i).div_ceil(2) + b
}

/// The README's formula, written from the documentation alone.
fn documented(c: &Config, n: usize) -> usize {
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
    let ww = work(&c.lstm, in0, n);
    let wc = c.chars.map_or(0, |ch| {
        let m = ch.max_word_chars as usize;
        m + work(&ch.lstm, ch.dim as usize, m)
    });
    4 * (n * (1 + f + t) + v + s + ww.max(wc)) + 3
}

fn models() -> Vec<Vec<u8>> {
    let mut blobs = Vec::new();
    blobs.push(tiny::blob());
    for (crf, bi) in [(false, false), (false, true), (true, false)] {
        blobs.push(tiny::blob_with(tiny::config(crf, bi, true)));
    }
    for (layers, bidirectional, chars) in [(1, true, Some((8, 5))), (3, false, None)] {
        let m = RandomModel {
            words: 50,
            word_dim: 12,
            chars,
            hidden: 7,
            layers,
            bidirectional,
            tags: 5,
            storage: Storage::I8,
            seed: 3,
        };
        blobs.push(m.build().unwrap().0);
    }
    for name in ["en_ewt.postag", "en_ewt_micro.postag"] {
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
                Some(documented(model.config(), n)),
                "{:?}, n = {n}",
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
        for n in [1, 2, 8, 9] {
            let tokens: Vec<&str> = words.iter().cycle().take(n).copied().collect();
            let need = model.scratch_bytes(n).unwrap();
            let mut tags = vec![0u16; n];
            let mut buf = vec![0u8; need + 8];
            for shift in 0..4 {
                let s = &mut buf[shift..];
                match model.tag(&tokens, &mut s[..need], &mut tags, None) {
                    Ok(()) | Err(Error::UnknownWord | Error::UnknownChar) => {}
                    Err(e) => panic!("{e} with {need} bytes at shift {shift}"),
                }
                // At the worst alignment (3 bytes skipped to reach a multiple of 4),
                // one byte less does not fit.
                if s.as_ptr().align_offset(4) == 3 {
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
