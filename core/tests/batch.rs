//! `Model::tag_batch` against `Model::tag` one sentence at a time: the same tags and
//! the same scores at every kernel level (bit for bit with the LSTMs in panels;
//! otherwise up to the order of sums); a sentence's result does not depend on its
//! neighbours; errors write nothing.

use postag_core::arch::{self, Level};
use postag_core::synthetic::RandomModel;
use postag_core::tensor::{Layout, Storage};
use postag_core::{Error, Model, MAX_TOKENS};

mod common;
use common::shifting::Shifting;

/// Models of every shape the side-by-side schedule handles, f32 and int8.
fn models() -> Vec<(String, Vec<u8>, Vec<String>)> {
    let mut out = Vec::new();
    for (i, (chars, hidden, layers, bidirectional, storage)) in [
        (Some((6, 5)), 9, 1, true, Storage::F32),
        (None, 8, 2, true, Storage::F32),
        (Some((4, 3)), 7, 3, false, Storage::F32),
        (Some((6, 5)), 16, 1, false, Storage::F32),
        (Some((6, 5)), 9, 1, true, Storage::I8),
        (None, 8, 2, true, Storage::I8),
        (Some((4, 3)), 17, 3, false, Storage::I8),
    ]
    .into_iter()
    .enumerate()
    {
        let spec = RandomModel {
            words: 60,
            word_dim: 10,
            chars,
            hidden,
            layers,
            bidirectional,
            tags: 6,
            storage,
            seed: 100 + i as u64,
        };
        let (blob, words) = spec.build().unwrap();
        out.push((format!("{spec:?}"), blob, words));
        if i <= 1 {
            // The f32 LSTMs in rows too (format version 1), with and without chars.
            let (blob, words) = spec.build_in(false).unwrap();
            out.push((format!("{spec:?} in rows"), blob, words));
        }
    }
    out
}

/// Sentences of 0 to 40 tokens, some repeated, in a fixed random order.
fn sentences(words: &[String]) -> Vec<Vec<String>> {
    let mut s = RandomModel::sentences(words, 29, 5);
    s.insert(3, Vec::new());
    s.push(words.iter().cycle().take(40).cloned().collect());
    s.push(vec![words[1].clone()]);
    s.insert(10, s[4].clone());
    s
}

fn tag_one(model: &Model<'_>, s: &[String]) -> (Vec<u16>, Vec<f32>) {
    let mut scratch = vec![0u8; model.scratch_bytes(s.len()).unwrap()];
    let (mut tags, mut scores) = (vec![0u16; s.len()], vec![0f32; s.len() * model.num_tags()]);
    model
        .tag(s, &mut scratch, &mut tags, Some(&mut scores))
        .unwrap();
    (tags, scores)
}

fn tag_batch(model: &Model<'_>, batch: &[Vec<String>]) -> (Vec<u16>, Vec<f32>) {
    let total: usize = batch.iter().map(Vec::len).sum();
    let longest = batch.iter().map(Vec::len).max().unwrap_or(0);
    let mut scratch = vec![0u8; model.batch_scratch_bytes(total, longest).unwrap()];
    let (mut tags, mut scores) = (vec![0u16; total], vec![0f32; total * model.num_tags()]);
    model
        .tag_batch(batch, &mut scratch, &mut tags, Some(&mut scores))
        .unwrap();
    (tags, scores)
}

#[test]
fn a_batch_tags_each_sentence_as_tag_does_at_every_level() {
    let mut checked = 0;
    for (name, blob, words) in models() {
        let model = Model::from_bytes(&blob).unwrap();
        let t = model.num_tags();
        let batch = sentences(&words);
        for level in Level::ALL.into_iter().filter(|l| l.is_supported()) {
            assert!(arch::force(Some(level)));
            let (tags, scores) = tag_batch(&model, &batch);
            let mut offset = 0;
            for (i, s) in batch.iter().enumerate() {
                let n = s.len();
                let (want_tags, want_scores) = tag_one(&model, s);
                let got = &scores[offset * t..(offset + n) * t];
                // In panels, and with int8 weights (exact integer sums), the LSTMs run
                // as `tag` runs them, bit for bit; f32 weights in rows: the word LSTM's
                // lanes sum `W_hh h` in another order, and a char net side by side may
                // round a feature apart in the last bit.
                let exact = |m: &postag_core::tensor::Matrix<'_>| {
                    m.layout() == Layout::Panels || m.storage() == Storage::I8
                };
                let exact = exact(&model.lstm().cell(0, 0).w_hh)
                    && model.chars().is_none_or(|c| exact(&c.lstm.cell(0, 0).w_hh));
                if !exact {
                    for (g, w) in got.iter().zip(&want_scores) {
                        assert!(
                            (g - w).abs() <= 1e-5,
                            "{name} {level:?} sentence {i}: {g} vs {w}"
                        );
                    }
                } else {
                    assert_eq!(got, &want_scores[..], "{name} {level:?} sentence {i}");
                }
                assert_eq!(
                    &tags[offset..offset + n],
                    &want_tags[..],
                    "{name} {level:?} sentence {i}"
                );
                // Alone in a batch, bit for bit what it got beside the others.
                let (alone_tags, alone_scores) = tag_batch(&model, std::slice::from_ref(s));
                assert_eq!(
                    alone_scores, got,
                    "{name} {level:?} sentence {i}: neighbours matter"
                );
                assert_eq!(alone_tags, &tags[offset..offset + n]);
                offset += n;
                checked += 1;
            }
        }
        arch::force(None);
    }
    println!("{checked} sentences checked");
}

#[test]
fn the_shipped_models_batch_as_they_tag() {
    let repo = postag_testutil::repo();
    let text = [
        "The quick brown fox jumps over the lazy dog .",
        "I ca n't believe it 's 5:30 !",
        "Yes",
        "",
    ];
    let batch: Vec<Vec<String>> = text
        .iter()
        .map(|s| s.split_whitespace().map(String::from).collect())
        .collect();
    for name in ["en_ewt.postag", "en_ewt_micro.postag"] {
        let blob = std::fs::read(repo.join("models").join(name)).unwrap();
        let model = Model::from_bytes(&blob).unwrap();
        let (tags, _) = tag_batch(&model, &batch);
        let want: Vec<u16> = batch.iter().flat_map(|s| tag_one(&model, s).0).collect();
        assert_eq!(tags, want, "{name}");
    }
}

#[test]
fn batch_errors_name_the_fault_and_write_nothing() {
    for (name, blob, words) in models() {
        let model = Model::from_bytes(&blob).unwrap();
        let t = model.num_tags();
        let good = sentences(&words);
        let total: usize = good.iter().map(Vec::len).sum();
        let need = model.batch_scratch_bytes(total, 40).unwrap();
        let mut scratch = vec![0u8; need + 3];
        let mut tags = vec![7u16; total + 1];
        let mut scores = vec![9f32; (total + 1) * t];
        for (fault, want) in [
            ("\u{0}bad\u{ff}".to_string(), Error::UnknownChar),
            (String::new(), Error::EmptyToken),
        ] {
            tags.fill(7);
            scores.fill(9.0);
            let mut bad = good.clone();
            bad[6].insert(1, fault.clone());
            let n: usize = bad.iter().map(Vec::len).sum();
            let mut scratch = vec![0u8; model.batch_scratch_bytes(n, 40).unwrap()];
            let got = model.tag_batch(&bad, &mut scratch, &mut tags, Some(&mut scores));
            // A model with an unknown-char row takes any char: then no error.
            if got.is_err() || want == Error::EmptyToken {
                assert_eq!(got, Err(want), "{name} {fault:?}");
                assert!(tags.iter().all(|&v| v == 7) && scores.iter().all(|&v| v == 9.0));
            }
        }
        // Bytes that are not UTF-8.
        tags.fill(7);
        let bad: Vec<Vec<&[u8]>> = vec![vec![b"a"], vec![b"\xff\xfe"]];
        let mut s = vec![0u8; model.batch_scratch_bytes(3, 2).unwrap()];
        assert_eq!(
            model.tag_batch(&bad, &mut s, &mut tags, None),
            Err(Error::InvalidUtf8)
        );
        assert!(tags.iter().all(|&v| v == 7));
        // Outputs and scratch too small, a sentence too long.
        assert_eq!(
            model.tag_batch(&good, &mut scratch, &mut tags[..total - 1], None),
            Err(Error::OutputTooSmall)
        );
        assert_eq!(
            model.tag_batch(
                &good,
                &mut scratch,
                &mut tags,
                Some(&mut scores[..total * t - 1])
            ),
            Err(Error::OutputTooSmall)
        );
        let longest = good.iter().map(Vec::len).max().unwrap();
        let exact = model.batch_scratch_bytes(total, longest).unwrap();
        let mut buf = vec![0u8; exact + 4];
        for shift in 0..4 {
            let s = &mut buf[shift..];
            model
                .tag_batch(&good, &mut s[..exact], &mut tags, None)
                .unwrap();
            if s.as_ptr().align_offset(4) == 3 {
                assert_eq!(
                    model.tag_batch(&good, &mut s[..exact - 1], &mut tags, None),
                    Err(Error::ScratchTooSmall),
                    "{name}: one byte less"
                );
            }
        }
        let long = vec![vec![words[0].clone(); MAX_TOKENS + 1]];
        assert_eq!(
            model.tag_batch(&long, &mut scratch, &mut vec![0; MAX_TOKENS + 1], None),
            Err(Error::TooManyTokens)
        );
        assert_eq!(
            model.batch_scratch_bytes(MAX_TOKENS + 1, MAX_TOKENS + 1),
            None
        );
        assert_eq!(model.batch_scratch_bytes(3, 4), None);
        // Tokens without a longest sentence: no sentences have them.
        assert_eq!(model.batch_scratch_bytes(5, 0), None);
    }
}

/// `tag_batch_iter` whose iterator yields other sentences after its first pass
/// (longer, shorter, more or fewer of them, or without end): `SentencesChanged`,
/// nothing written, no panic, for the side-by-side and the one-by-one schedule.
#[test]
fn a_batch_whose_sentences_change_between_passes_is_refused() {
    for (name, blob, words) in models() {
        let model = Model::from_bytes(&blob).unwrap();
        let w: Vec<&str> = words.iter().map(String::as_str).collect();
        let first = vec![vec![w[0], w[1]], vec![w[2]]];
        let long: Vec<&str> = w.iter().copied().cycle().take(300).collect();
        let endless: Vec<Vec<&str>> = vec![vec![]; 100_000];
        for later in [
            vec![long.clone(), vec![w[2]]],
            vec![vec![w[0]], vec![w[2]]],
            vec![vec![w[0], w[1]], vec![w[2]], vec![w[3]]],
            vec![vec![w[0], w[1]]],
            vec![vec![w[2]], vec![w[0], w[1]]],
            endless,
        ] {
            let passes = [first.clone(), later];
            let begun = std::cell::Cell::new(0);
            let iter = Shifting::new(&passes, &begun);
            let mut scratch = vec![0u8; model.batch_scratch_bytes(3, 2).unwrap()];
            let mut tags = [u16::MAX; 3];
            let r = model.tag_batch_iter(iter, &mut scratch, &mut tags, None);
            assert_eq!(r, Err(Error::SentencesChanged), "{name}");
            assert_eq!(tags, [u16::MAX; 3], "{name}");
        }
        // One pass, whichever it is, with other lengths in the same count and total.
        let other = vec![vec![w[4]], vec![w[5], w[6]]];
        for k in 1..8 {
            let mut passes = vec![first.clone(); k];
            passes.push(other.clone());
            passes.extend(vec![first.clone(); 10]);
            let begun = std::cell::Cell::new(0);
            let iter = Shifting::new(&passes, &begun);
            let mut scratch = vec![0u8; model.batch_scratch_bytes(3, 2).unwrap()];
            let mut tags = [u16::MAX; 3];
            let r = model.tag_batch_iter(iter, &mut scratch, &mut tags, None);
            // The passes after the first that read every sentence (the check for empty
            // tokens, the lookups; the one-by-one schedule's) notice; the lookups'
            // window of earlier tokens, which only compares tokens, does not read to the
            // end: unspecified tags then, but never a panic.
            if k <= 2 {
                assert_eq!(r, Err(Error::SentencesChanged), "{name}: pass {k}");
            }
            match r {
                Ok(()) => assert!(tags.iter().all(|&t| (t as usize) < model.num_tags())),
                Err(e) => {
                    assert_eq!(e, Error::SentencesChanged, "{name}: pass {k}");
                    assert_eq!(tags, [u16::MAX; 3], "{name}: pass {k}");
                }
            }
        }
        // A first pass without tokens, then tokens: changed too.
        let passes = [vec![vec![], vec![]], vec![vec![w[0]], vec![w[1], w[2]]]];
        let begun = std::cell::Cell::new(0);
        let iter = Shifting::new(&passes, &begun);
        let mut tags = [u16::MAX; 3];
        assert_eq!(
            model.tag_batch_iter(iter, &mut [], &mut tags, None),
            Err(Error::SentencesChanged),
            "{name}"
        );
        // An endless iterator ends the first pass: too many sentences (or tokens).
        let word = [w[0]];
        let endless = std::iter::repeat(&word[..]);
        let mut tags = [0u16; 4];
        assert_eq!(
            model.tag_batch_iter(endless, &mut [], &mut tags, None),
            Err(Error::TooManyTokens)
        );
        let nothing: [&str; 0] = [];
        let endless = std::iter::repeat(&nothing[..]);
        assert_eq!(
            model.tag_batch_iter(endless, &mut [], &mut tags, None),
            Err(Error::TooManyTokens)
        );
        // The same sentences on every pass: tagged.
        let passes = [first.clone()];
        let begun = std::cell::Cell::new(0);
        let iter = Shifting::new(&passes, &begun);
        let mut scratch = vec![0u8; model.batch_scratch_bytes(3, 2).unwrap()];
        let mut tags = [u16::MAX; 3];
        model
            .tag_batch_iter(iter, &mut scratch, &mut tags, None)
            .unwrap();
        assert!(begun.get() > 1, "{name}: read once");
        assert!(tags.iter().all(|&t| (t as usize) < model.num_tags()));
    }
}

/// A batch without tokens (no sentence, or empty ones) needs no scratch and tags
/// nothing, with every model (the one-by-one schedule of int8 models too).
#[test]
fn an_empty_batch_needs_no_scratch() {
    for (name, blob, _) in models() {
        let model = Model::from_bytes(&blob).unwrap();
        assert_eq!(model.batch_scratch_bytes(0, 0), Some(0), "{name}");
        let none: [Vec<&str>; 0] = [];
        assert_eq!(
            model.tag_batch(&none, &mut [], &mut [], None),
            Ok(()),
            "{name}"
        );
        let empty: [Vec<&str>; 2] = [vec![], vec![]];
        assert_eq!(
            model.tag_batch(&empty, &mut [], &mut [], Some(&mut [])),
            Ok(()),
            "{name}"
        );
    }
}

/// `batch_run`: the sentences from the start that one call takes whole, at most `most`,
/// up to the first longer than MAX_TOKENS.
#[test]
fn a_run_stops_at_a_sentence_one_call_cannot_take_whole() {
    use postag_core::batch_run;
    let short = vec!["a"; 3];
    let long = vec!["a"; MAX_TOKENS + 1];
    let edge = vec!["a"; MAX_TOKENS];
    let run = |s: &[&Vec<&str>], most| batch_run(s, most);
    assert_eq!(run(&[], 32), 0);
    assert_eq!(run(&[&short, &edge, &short], 32), 3);
    assert_eq!(run(&[&short, &edge, &short], 2), 2);
    assert_eq!(run(&[&short, &short, &long, &short], 32), 2);
    assert_eq!(run(&[&long, &short], 32), 0);
}

/// `worker_limit`: one thread per `batch` sentences or per 1,024 tokens, whichever
/// allows more, at most one per sentence, at least one.
#[test]
fn worker_threads_are_worth_a_batch_of_sentences_or_of_tokens() {
    use postag_core::{worker_limit, TOKENS_PER_WORKER};
    assert_eq!(TOKENS_PER_WORKER, 1024);
    let limit = |lengths: &[usize]| {
        let sentences: Vec<Vec<u8>> = lengths.iter().map(|&n| vec![b'a'; n]).collect();
        worker_limit(&sentences, 32)
    };
    assert_eq!(limit(&[]), 1);
    // 30,000 sentences of 4 tokens: 938 batches of 32 (120,000 tokens: 118 by tokens).
    assert_eq!(limit(&[4; 30_000]), 938);
    // 32 sentences of 4,000 tokens: one batch, but 125 by tokens, so one per sentence.
    assert_eq!(limit(&[4_000; 32]), 32);
    // Two sentences of 2,000 tokens: 4 by tokens, 2 sentences.
    assert_eq!(limit(&[2_000, 2_000]), 2);
    // 33 short sentences: two batches.
    assert_eq!(limit(&[3; 33]), 2);
    assert_eq!(limit(&[3; 32]), 1);
    // 1,025 tokens in 10 sentences: 2 by tokens.
    assert_eq!(
        limit(&[100, 100, 100, 100, 100, 100, 100, 100, 100, 125]),
        2
    );
}
