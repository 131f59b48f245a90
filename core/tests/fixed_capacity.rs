//! Firmware conveniences of `Tagger`: `Dims::scratch_bytes`, the compile-time size of
//! its buffer, is `Model::scratch_bytes`, and the `heapless` outputs are `Model::tag`'s.

mod common;

use common::tiny;
use postag_core::format::LstmShape;
use postag_core::synthetic::RandomModel;
use postag_core::tensor::Storage;
use postag_core::{CharDims, Dims, Error, Model, Tagger, MAX_TOKENS};
use postag_testutil::repo;

/// The nano English model's sizes, as a firmware author writes them (from
/// `postag inspect`).
const NANO: Dims = Dims {
    word_dim: 24,
    chars: Some(CharDims {
        dim: 12,
        max_word_chars: 24,
        lstm: LstmShape {
            hidden: 16,
            layers: 1,
            bidirectional: true,
        },
    }),
    lstm: LstmShape {
        hidden: 48,
        layers: 1,
        bidirectional: true,
    },
    tags: 17,
    crf: false,
};

/// Scratch for 32 tokens of the nano model, counted by the compiler.
type NanoTagger<'a> = Tagger<'a, { NANO.scratch_bytes(32).unwrap() }>;

fn nano() -> Vec<u8> {
    std::fs::read(repo().join("models/en_ewt_nano.postag")).unwrap()
}

fn models() -> Vec<Vec<u8>> {
    let mut blobs = vec![tiny::blob()];
    for (crf, bi, chars) in [
        (false, false, true),
        (true, true, false),
        (true, false, true),
    ] {
        blobs.push(tiny::blob_with(tiny::config(crf, bi, chars)));
    }
    for (layers, bidirectional, chars) in [
        (1, true, Some((8, 5))),
        (2, true, Some((3, 11))),
        (3, false, None),
        (4, true, None),
    ] {
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
    for name in ["en_ewt.postag", "en_ewt_micro.postag", "en_ewt_nano.postag"] {
        blobs.push(std::fs::read(repo().join("models").join(name)).unwrap());
    }
    blobs
}

#[test]
fn dims_give_the_models_scratch_bytes() {
    for blob in models() {
        let model = Model::from_bytes(&blob).unwrap();
        let dims = Dims::of(model.config());
        for n in [0, 1, 2, 5, 7, 8, 9, 16, 33, 100, MAX_TOKENS, MAX_TOKENS + 1] {
            assert_eq!(
                dims.scratch_bytes(n),
                model.scratch_bytes(n),
                "{dims:?}, n = {n}"
            );
            assert_eq!(
                dims.min_scratch_bytes(n),
                model.min_scratch_bytes(n),
                "{dims:?}, n = {n}"
            );
        }
    }
}

/// The most tokens `bytes` of scratch tag with `model` (any schedule), counted.
fn most_tokens(model: &Model<'_>, bytes: usize) -> usize {
    (1..=postag_core::MAX_TOKENS)
        .take_while(|&n| model.min_scratch_bytes(n).unwrap() <= bytes)
        .last()
        .unwrap_or(0)
}

#[test]
fn a_tagger_holds_what_its_buffer_holds_with_either_schedule() {
    let blob = nano();
    let model = Model::from_bytes(&blob).unwrap();
    assert_eq!(Dims::of(model.config()), NANO, "the nano model's sizes");
    // Sized for 32 tokens of the default schedule: more with the low-memory one.
    let tagger = NanoTagger::new(&blob).unwrap();
    let most = most_tokens(&model, NANO.scratch_bytes(32).unwrap());
    assert!(most > 32);
    assert_eq!(tagger.max_tokens(), most);
    // Sized for 32 tokens of the low-memory schedule: 32, tagged as `Model::tag` does.
    type Least<'a> = Tagger<'a, { NANO.min_scratch_bytes(32).unwrap() }>;
    let mut least = Least::new(&blob).unwrap();
    assert_eq!(least.max_tokens(), 32);
    let words: Vec<&str> = "the dog barks at the cat and the cat runs away from the dog"
        .split(' ')
        .cycle()
        .take(33)
        .collect();
    let (mut got, mut want) = ([0u16; 33], [0u16; 33]);
    least.tag(&words[..32], &mut got[..32]).unwrap();
    let mut scratch = vec![0u8; model.scratch_bytes(32).unwrap()];
    model
        .tag(&words[..32], &mut scratch, &mut want[..32], None)
        .unwrap();
    assert_eq!(got, want);
    assert_eq!(least.tag(&words, &mut got), Err(Error::TooManyTokens));
    // The least buffer for one token makes a tagger; one byte less does not.
    type One<'a> = Tagger<'a, { NANO.min_scratch_bytes(1).unwrap() }>;
    assert_eq!(One::new(&blob).unwrap().max_tokens(), 1);
    type Short<'a> = Tagger<'a, { NANO.min_scratch_bytes(1).unwrap() - 1 }>;
    assert_eq!(Short::new(&blob).err(), Some(Error::ScratchTooSmall));
    // The compile-time constant in a static array, as firmware would hold it.
    static SCRATCH: [u8; NANO.scratch_bytes(32).unwrap()] = [0; 18_051];
    assert_eq!(SCRATCH.len(), model.scratch_bytes(32).unwrap());
}

#[test]
fn heapless_outputs_are_the_models() {
    let blob = nano();
    let model = Model::from_bytes(&blob).unwrap();
    let mut tagger = NanoTagger::new(&blob).unwrap();
    let tokens = "Can you book a flight to Hanoi for 3 people on Friday ?"
        .split(' ')
        .collect::<Vec<_>>();
    let (n, t) = (tokens.len(), model.num_tags());
    let mut scratch = vec![0u8; model.scratch_bytes(n).unwrap()];
    let (mut want_tags, mut want_scores) = (vec![0u16; n], vec![0f32; n * t]);
    model
        .tag(
            &tokens,
            &mut scratch,
            &mut want_tags,
            Some(&mut want_scores),
        )
        .unwrap();

    let tags: heapless::Vec<u16, 16> = tagger.tag_vec(&tokens).unwrap();
    assert_eq!(&tags[..], &want_tags[..]);

    let (tags, rows) = tagger.tag_vec_with_scores::<16, 17>(&tokens).unwrap();
    assert_eq!(&tags[..], &want_tags[..]);
    let flat: Vec<u32> = rows.iter().flatten().map(|x| x.to_bits()).collect();
    let want: Vec<u32> = want_scores.iter().map(|x| x.to_bits()).collect();
    assert_eq!(flat, want);

    // Rows wider than the model's tags: its scores, then log 0.
    let (_, wide) = tagger.tag_vec_with_scores::<13, 20>(&tokens).unwrap();
    assert_eq!(wide.len(), n);
    for (k, row) in wide.iter().enumerate() {
        assert_eq!(&row[..t], &want_scores[k * t..(k + 1) * t], "row {k}");
        assert!(row[t..].iter().all(|&x| x == f32::NEG_INFINITY), "row {k}");
    }

    // No tokens, no outputs.
    let none: [&str; 0] = [];
    assert!(tagger.tag_vec::<4>(&none).unwrap().is_empty());
}

#[test]
fn heapless_outputs_refuse_what_does_not_fit() {
    let blob = nano();
    // Room for 32 tokens (the low-memory schedule's), not 33.
    let mut tagger = Tagger::<'_, { NANO.min_scratch_bytes(32).unwrap() }>::new(&blob).unwrap();
    let words = ["the", "dog"];
    let tokens: Vec<&str> = words.iter().cycle().take(33).copied().collect();
    // More tokens than the vector holds.
    assert_eq!(
        tagger.tag_vec::<12>(&tokens[..13]),
        Err(Error::OutputTooSmall)
    );
    assert_eq!(
        tagger.tag_vec_with_scores::<12, 17>(&tokens[..13]),
        Err(Error::OutputTooSmall)
    );
    // Rows narrower than the model's tags.
    assert_eq!(
        tagger.tag_vec_with_scores::<16, 16>(&tokens[..2]),
        Err(Error::OutputTooSmall)
    );
    // More tokens than the scratch buffer serves.
    assert_eq!(tagger.tag_vec::<64>(&tokens), Err(Error::TooManyTokens));
    assert_eq!(tagger.tag_vec::<64>(&tokens[..32]).unwrap().len(), 32);
    // A bad token is the model's error, as with `Model::tag`.
    assert_eq!(tagger.tag_vec::<4>(&["dog", ""]), Err(Error::EmptyToken));
}
