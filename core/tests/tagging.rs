//! Tagging-call contracts: limits, bad input, outputs written only on success.

mod common;

use common::tiny;
use postag_core::{Error, Model, MAX_TOKENS};

fn tag(model: &Model<'_>, tokens: &[&[u8]]) -> Result<(Vec<u16>, Vec<f32>), Error> {
    let mut scratch = vec![
        0u8;
        model
            .scratch_bytes(tokens.len())
            .ok_or(Error::TooManyTokens)?
    ];
    let mut tags = vec![0u16; tokens.len()];
    let mut scores = vec![0f32; tokens.len() * model.num_tags()];
    model.tag(tokens, &mut scratch, &mut tags, Some(&mut scores))?;
    Ok((tags, scores))
}

#[test]
fn bad_tokens_get_named_errors_and_leave_outputs_untouched() {
    let blob = tiny::blob();
    let model = Model::from_bytes(&blob).unwrap();
    let mut scratch = vec![0u8; model.scratch_bytes(3).unwrap()];
    let mut tags = [9u16; 3];
    let mut scores = [7f32; 12];
    let bad: [&[u8]; 3] = [b"the", b"\xff\xfe", b"dog"];
    assert_eq!(
        model.tag(&bad, &mut scratch, &mut tags, Some(&mut scores)),
        Err(Error::InvalidUtf8)
    );
    assert_eq!(tags, [9; 3]);
    assert_eq!(scores, [7.0; 12]);

    let good: [&[u8]; 3] = [b"the", b"dog", b"ate"];
    assert_eq!(
        model.tag(&good, &mut scratch, &mut tags[..2], None),
        Err(Error::OutputTooSmall)
    );
    assert_eq!(
        model.tag(&good, &mut scratch, &mut tags, Some(&mut scores[..11])),
        Err(Error::OutputTooSmall)
    );
    let short = model.scratch_bytes(3).unwrap() / 2;
    assert_eq!(
        model.tag(&good, &mut scratch[..short], &mut tags, None),
        Err(Error::ScratchTooSmall)
    );
    assert_eq!(tags, [9; 3]);
    model
        .tag(&good, &mut scratch, &mut tags, Some(&mut scores))
        .unwrap();
    assert!(tags.iter().all(|&t| t < 4));
    // Any alignment of the scratch buffer works.
    let mut big = vec![0u8; model.scratch_bytes(3).unwrap() + 3];
    let mut other = [0u16; 3];
    for shift in 0..4 {
        model
            .tag(&good, &mut big[shift..], &mut other, None)
            .unwrap();
        assert_eq!(other, tags);
    }
}

#[test]
fn token_limit_is_enforced() {
    let blob = tiny::blob();
    let model = Model::from_bytes(&blob).unwrap();
    assert!(model.scratch_bytes(MAX_TOKENS).is_some());
    assert!(model.scratch_bytes(MAX_TOKENS + 1).is_none());
    let tokens = vec![&b"dog"[..]; MAX_TOKENS + 1];
    let mut scratch = vec![0u8; model.scratch_bytes(MAX_TOKENS).unwrap()];
    let mut tags = vec![0u16; MAX_TOKENS + 1];
    assert_eq!(
        model.tag(&tokens, &mut scratch, &mut tags, None),
        Err(Error::TooManyTokens)
    );
    // Exactly at the limit works.
    model
        .tag(&tokens[..MAX_TOKENS], &mut scratch, &mut tags, None)
        .unwrap();
    // Zero tokens is a valid, empty sentence.
    model.tag::<&[u8]>(&[], &mut [], &mut [], None).unwrap();
}

#[test]
fn unknown_characters_follow_the_vocabulary() {
    let with_unk = tiny::blob();
    let without = tiny::blob_with(tiny::config(true, true, false));
    let (a, b) = (
        Model::from_bytes(&with_unk).unwrap(),
        Model::from_bytes(&without).unwrap(),
    );
    // 'e' is not in the char vocabulary.
    assert!(tag(&a, &[b"the"]).is_ok());
    assert_eq!(tag(&b, &[b"the"]), Err(Error::UnknownChar));
    assert!(tag(&b, &[b"dog"]).is_ok());
}

#[test]
fn long_words_read_their_first_and_last_characters() {
    // max_word_chars is 6: "dogapplethe" is read as "dog" + "the"; both words are
    // unknown to the word vocabulary, so only the char LSTM sees them.
    let blob = tiny::blob();
    let model = Model::from_bytes(&blob).unwrap();
    let (_, long) = tag(&model, &[b"x", b"dogapplethe"]).unwrap();
    let (_, short) = tag(&model, &[b"x", b"dogthe"]).unwrap();
    assert_eq!(long, short);
    let (_, other) = tag(&model, &[b"x", b"dogtha"]).unwrap();
    assert_ne!(long, other, "the last characters must matter");
}

#[test]
fn empty_tokens_are_refused_before_anything_is_written() {
    for (crf, bidirectional) in [(true, true), (false, false), (true, false)] {
        let blob = tiny::blob_with(tiny::config(crf, bidirectional, true));
        let model = Model::from_bytes(&blob).unwrap();
        let mut scratch = vec![0u8; model.scratch_bytes(3).unwrap()];
        let mut tags = [9u16; 3];
        let mut scores = [7f32; 12];
        for tokens in [[&b""[..], b"dog", b"ate"], [b"the", b"dog", b""]] {
            assert_eq!(
                model.tag(&tokens, &mut scratch, &mut tags, Some(&mut scores)),
                Err(Error::EmptyToken)
            );
            assert_eq!((tags, scores), ([9; 3], [7.0; 12]));
            if bidirectional {
                continue;
            }
            let mut state = vec![0.25f32; model.state_len()];
            assert_eq!(
                model.tag_from_state(&tokens, &mut state, &mut scratch, &mut tags, None),
                Err(Error::EmptyToken)
            );
            assert_eq!(tags, [9; 3]);
            assert!(state.iter().all(|&v| v == 0.25));
            if !crf {
                assert_eq!(
                    model.step(b"", &mut state, &mut scratch, Some(&mut scores[..4])),
                    Err(Error::EmptyToken)
                );
                assert!(state.iter().all(|&v| v == 0.25));
                assert_eq!(scores, [7.0; 12]);
            }
        }
    }
    assert_eq!(
        Error::EmptyToken.to_string(),
        "a token is empty (zero bytes)"
    );
}

/// A one-word-vocabulary model with weights of `big`: the hidden state is tanh(1) ~
/// 0.76 (every gate's bias is 10, so i, f, o ~ 1, g ~ 1, c = 1); hidden2tag's first
/// logit is `big` + `big` * 0.76, or (with a CRF) every transition, start and end score
/// is `big`.
fn large(crf: bool, big: f32) -> Vec<u8> {
    large_with(crf, big, postag_core::tensor::Storage::F32, Some(1))
}

/// [`large`] with the word LSTM's weights stored as `storage` and the vocabulary's
/// `unknown` row (`None`: words other than "a" are errors).
fn large_with(
    crf: bool,
    big: f32,
    storage: postag_core::tensor::Storage,
    unknown: Option<u32>,
) -> Vec<u8> {
    use postag_core::builder::BlobBuilder;
    use postag_core::format::{Config, LstmShape, Net, Role, TagColumn, WordConfig};
    use postag_core::tensor::Storage;
    let config = Config {
        words: WordConfig {
            rows: 2,
            dim: 1,
            unknown,
            normalize: 0,
        },
        chars: None,
        lstm: LstmShape {
            hidden: 1,
            layers: 1,
            bidirectional: false,
        },
        tags: 2,
        crf,
        tag_column: TagColumn::Upos,
    };
    let mut b = BlobBuilder::new(config);
    b.weights(Role::WordEmbedding, 2, 1, &[1.0, 1.0], Storage::F32)
        .unwrap();
    b.words([("a", 0)]).unwrap();
    b.lstm_stack(Net::Word, storage, |role, rows, cols| {
        Ok(match role {
            Role::Lstm {
                part: postag_core::format::LstmPart::Bias,
                ..
            } => vec![10.0; cols],
            _ => vec![0.0; rows * cols],
        })
    })
    .unwrap();
    if crf {
        b.weights(Role::TagWeights, 2, 1, &[0.0, 0.0], Storage::F32)
            .unwrap();
        b.vector(Role::TagBias, &[0.0, 0.0]).unwrap();
        b.square(Role::CrfTransitions, 2, &[big; 4]).unwrap();
        b.vector(Role::CrfStart, &[big, big]).unwrap();
        b.vector(Role::CrfEnd, &[big, big]).unwrap();
    } else {
        b.weights(Role::TagWeights, 2, 1, &[big, 0.0], Storage::F32)
            .unwrap();
        b.vector(Role::TagBias, &[big, 0.0]).unwrap();
    }
    b.tag_names(["A", "B"]).unwrap();
    b.finish().unwrap()
}

/// In a batch, a token error anywhere is reported, and nothing written, with f32 and
/// int8 weights; sentences that change between passes likewise.
#[test]
fn a_batch_reports_token_errors_and_writes_nothing() {
    use postag_core::tensor::Storage;
    for storage in [Storage::F32, Storage::I8] {
        let blob = large_with(false, 1.0, storage, None);
        let model = Model::from_bytes(&blob).unwrap();
        let batch = [vec!["a", "a"], vec!["a", "zebra"]];
        let mut scratch = vec![0u8; model.batch_scratch_bytes(4, 2).unwrap()];
        let mut tags = [9u16; 4];
        assert_eq!(
            model.tag_batch(&batch, &mut scratch, &mut tags, None),
            Err(Error::UnknownWord),
            "{storage:?}"
        );
        assert_eq!(tags, [9; 4]);
        let passes = [
            vec![vec!["a", "a"], vec!["a"]],
            vec![vec!["a"], vec!["a", "a"]],
        ];
        let begun = std::cell::Cell::new(0);
        let iter = common::shifting::Shifting::new(&passes, &begun);
        assert_eq!(
            model.tag_batch_iter(iter, &mut scratch, &mut tags, None),
            Err(Error::SentencesChanged),
            "{storage:?}"
        );
        assert_eq!(tags, [9; 4]);
    }
}

/// Weights as large as a blob stores (2^48) give finite scores, and the same tags, in
/// every entry point at every kernel level (no sum overflows f32 within that bound;
/// `blob.rs` tests that larger ones are refused).
#[test]
fn the_largest_storable_weights_give_finite_scores_everywhere() {
    use postag_core::arch::{force, Level};
    use postag_core::format::MAX_MAGNITUDE;
    for crf in [false, true] {
        let blob = large(crf, MAX_MAGNITUDE);
        let model = Model::from_bytes(&blob).unwrap();
        for level in Level::ALL.into_iter().filter(|l| l.is_supported()) {
            assert!(force(Some(level)));
            let (tags, scores) = tag(&model, &[b"a", b"b"]).unwrap();
            assert!(scores
                .iter()
                .all(|s| s.is_finite() || *s == f32::NEG_INFINITY));
            // Logit 2^48 * 1.76 against 0: A, surely; with a CRF, equal scores: A.
            assert_eq!(tags, [0, 0], "{level:?}");
            let mut scratch = vec![0u8; model.batch_scratch_bytes(4, 2).unwrap()];
            let mut batch_tags = [9u16; 4];
            model
                .tag_batch(
                    &[vec!["a", "b"], vec!["b", "a"]],
                    &mut scratch,
                    &mut batch_tags,
                    None,
                )
                .unwrap();
            assert_eq!(batch_tags, [0; 4], "{level:?}");
            let mut scratch = vec![0u8; model.scratch_bytes(2).unwrap()];
            let mut state = vec![0.5f32; model.state_len()];
            let mut tags = [9u16; 2];
            model
                .tag_from_state(&["a", "b"], &mut state, &mut scratch, &mut tags, None)
                .unwrap();
            assert_eq!(tags, [0, 0], "{level:?}");
            assert!(state.iter().all(|v| v.is_finite()));
            if !crf {
                assert_eq!(model.step(b"a", &mut state, &mut scratch, None), Ok(0));
            }
            force(None);
        }
    }
}

#[test]
fn state_calls_check_direction_length_and_crf() {
    let bi = tiny::blob();
    let bi = Model::from_bytes(&bi).unwrap();
    let mut scratch = vec![0u8; bi.scratch_bytes(1).unwrap()];
    let mut state = vec![0f32; bi.state_len()];
    assert_eq!(
        bi.step(b"dog", &mut state, &mut scratch, None),
        Err(Error::NotStreamable)
    );

    let uni_crf = tiny::blob_with(tiny::config(true, false, true));
    let uni_crf = Model::from_bytes(&uni_crf).unwrap();
    let mut state = vec![0f32; uni_crf.state_len()];
    let mut scratch = vec![0u8; uni_crf.scratch_bytes(2).unwrap()];
    assert_eq!(
        uni_crf.step(b"dog", &mut state, &mut scratch, None),
        Err(Error::NotStreamable)
    );
    let mut tags = [0u16; 2];
    uni_crf
        .tag_from_state(&["the", "dog"], &mut state, &mut scratch, &mut tags, None)
        .unwrap();

    let uni = tiny::blob_with(tiny::config(false, false, true));
    let uni = Model::from_bytes(&uni).unwrap();
    assert_eq!(uni.state_len(), 2 * 2 * 3);
    let mut wrong = vec![0f32; uni.state_len() - 1];
    assert_eq!(
        uni.step(b"dog", &mut wrong, &mut scratch, None),
        Err(Error::StateSize)
    );
    // Streaming from a zero state equals tagging the sentence.
    let sentence: [&[u8]; 4] = [b"The", b"dog", b"ate", b"42"];
    let (tags, scores) = tag(&uni, &sentence).unwrap();
    let mut state = vec![0f32; uni.state_len()];
    for (i, token) in sentence.iter().enumerate() {
        let mut s = [0f32; 4];
        assert_eq!(
            uni.step(token, &mut state, &mut scratch, Some(&mut s))
                .unwrap(),
            tags[i]
        );
        assert_eq!(&s[..], &scores[i * 4..(i + 1) * 4]);
    }
    // A failed step leaves the state as it was.
    let before = state.clone();
    assert_eq!(
        uni.step(b"\xc3", &mut state, &mut scratch, None),
        Err(Error::InvalidUtf8)
    );
    assert_eq!(state, before);
    // A NaN anywhere in the state (an `h` or a `c`) gives NaN scores: refused, the
    // state left as it was.
    for i in 0..state.len() {
        let mut bad = before.clone();
        bad[i] = f32::NAN;
        let bits = |s: &[f32]| s.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        let want = bits(&bad);
        assert_eq!(
            uni.step(b"dog", &mut bad, &mut scratch, None),
            Err(Error::NonFiniteScore),
            "state[{i}]"
        );
        assert_eq!(bits(&bad), want, "state[{i}]");
    }
}

#[test]
fn viterbi_finds_the_best_path_by_brute_force() {
    let blob = tiny::blob();
    let model = Model::from_bytes(&blob).unwrap();
    let crf = model.crf().unwrap();
    let sentence: [&[u8]; 4] = [b"the", b"dog", b"ate", b"apple"];
    let (tags, e) = tag(&model, &sentence).unwrap();
    let t = 4usize;
    let score = |path: &[usize]| {
        let mut s = crf.start.get(path[0]) + crf.end.get(path[path.len() - 1]);
        for (i, &y) in path.iter().enumerate() {
            s += e[i * t + y];
            if i > 0 {
                s += crf.transitions.get(path[i - 1] * t + y);
            }
        }
        s
    };
    let mut best = (f32::NEG_INFINITY, vec![]);
    for code in 0..t.pow(4) {
        let path: Vec<usize> = (0..4).map(|i| code / t.pow(i) % t).collect();
        let s = score(&path);
        if s > best.0 {
            best = (s, path);
        }
    }
    let got: Vec<usize> = tags.iter().map(|&x| x as usize).collect();
    assert_eq!(got, best.1);
}

#[test]
fn fixed_size_tagger_knows_its_token_capacity() {
    use postag_core::Tagger;
    let blob = tiny::blob();
    let model = Model::from_bytes(&blob).unwrap();
    let tagger = Tagger::<'_, 8192>::new(&blob).unwrap();
    let cap = tagger.max_tokens();
    // The most tokens either schedule tags in 8192 bytes: the low-memory one's.
    assert!(model.min_scratch_bytes(cap).unwrap() <= 8192);
    assert!(model.min_scratch_bytes(cap + 1).unwrap() > 8192);
    assert!(model.scratch_bytes(cap).unwrap() > 8192);
    let mut tagger = tagger;
    let tokens = vec!["dog"; cap + 1];
    let mut tags = vec![0u16; cap + 1];
    assert_eq!(tagger.tag(&tokens, &mut tags), Err(Error::TooManyTokens));
    // Explained as the tagger's limit, not the model's 4096.
    let said = model.explain(&tokens, Error::TooManyTokens).to_string();
    assert_eq!(
        said,
        format!(
            "{} tokens, more than this call takes (a Tagger's max_tokens)",
            cap + 1
        )
    );
    let many = vec!["dog"; postag_core::MAX_TOKENS + 1];
    let said = model.explain(&many, Error::TooManyTokens).to_string();
    assert_eq!(
        said,
        "4097 tokens, more than the 4096 the model reads in one call"
    );
    tagger.tag(&tokens[..cap], &mut tags).unwrap();
    let (want, _) = tag(&model, &vec![&b"dog"[..]; cap]).unwrap();
    assert_eq!(&tags[..cap], &want[..]);
    assert_eq!(
        Tagger::<'_, 64>::new(&blob).unwrap_err(),
        Error::ScratchTooSmall
    );
}
