//! The segmenter's view, decoding and windows, on small segmenters with fixed weights.

mod common;

use common::segmenter::{blob, run, weights};

use postag_core::format::{self, DType, Header, LstmPart, Role, SegPart, TensorEntry, TensorTable};
use postag_core::segment::build::{with_segmenter, SegCell, SegmenterWeights};
use postag_core::segment::{
    SegToken, Segmenter, Word, MAX_WINDOW, TOKEN_CUT, TOKEN_MULTIWORD, TOKEN_SENTENCE_END, WINDOW,
};
use postag_core::tensor::Storage;
use postag_core::{Error, Model};
use proptest::prelude::*;

/// A segmenter over "abc .!" with random weights; `bias` is added to the output bias of
/// each class (to force a label).
fn seg(bidirectional: bool, spaces: bool, bias: [f32; 5]) -> SegmenterWeights {
    let (dim, h) = (4, 3);
    let chars: Vec<(char, u32)> = "abc .!".chars().zip(1..).collect();
    let rows = chars.len() + 1;
    let cells = (0..1 + bidirectional as u32)
        .map(|d| SegCell {
            w_ih: weights(4 * h * dim, 10 + d),
            w_hh: weights(4 * h * h, 20 + d),
            bias: weights(4 * h, 30 + d),
        })
        .collect::<Vec<_>>();
    let out_dim = h * cells.len();
    let mut out_b = weights(5, 40);
    for (b, x) in out_b.iter_mut().zip(bias) {
        *b += x;
    }
    SegmenterWeights {
        spaces_in_tokens: spaces,
        chars,
        embedding: weights(rows * dim, 1),
        rows,
        dim,
        cells,
        out_w: weights(5 * out_dim, 50),
        out_b,
        multiwords: vec![
            ("cannot".into(), vec!["can".into(), "not".into()]),
            ("du".into(), vec!["de".into(), "le".into()]),
        ],
    }
}

/// Tokens plus the bytes between them are the text; the bytes between are whitespace;
/// tokens are non-empty, in order, and the last one ends a sentence.
fn check_lossless(text: &str, tokens: &[SegToken]) {
    let mut rebuilt = String::new();
    let mut at = 0usize;
    for t in tokens {
        let (s, e) = (t.start as usize, t.end as usize);
        assert!(at <= s && s < e, "{tokens:?}");
        let gap = &text[at..s];
        assert!(gap.chars().all(char::is_whitespace), "gap {gap:?}");
        rebuilt.push_str(gap);
        rebuilt.push_str(&text[s..e]);
        at = e;
    }
    assert!(text[at..].chars().all(char::is_whitespace));
    rebuilt.push_str(&text[at..]);
    assert_eq!(rebuilt, text);
    if let Some(t) = tokens.last() {
        assert!(t.flags & TOKEN_SENTENCE_END != 0);
    }
}

#[test]
fn a_blob_without_segmenter_has_none_and_still_tags() {
    let plain = common::tiny::blob();
    assert!(Segmenter::from_bytes(&plain).unwrap().is_none());
    let with = blob(&seg(true, false, [0.0; 5]));
    let s = Segmenter::from_bytes(&with).unwrap().unwrap();
    assert_eq!(
        (s.hidden(), s.embedding_dim(), s.bidirectional()),
        (3, 4, true)
    );
    assert_eq!(s.multiwords(), 2);
    // The tagger part is unchanged and still loads.
    let m = Model::from_bytes(&with).unwrap();
    assert_eq!(m.num_tags(), Model::from_bytes(&plain).unwrap().num_tags());
    // Removing it gives back a blob without one.
    let without = with_segmenter(&with, None, Storage::F32).unwrap();
    assert!(Segmenter::from_bytes(&without).unwrap().is_none());
}

#[test]
fn a_corrupt_segmenter_is_refused() {
    let mut b = blob(&seg(false, false, [0.0; 5]));
    // Flip a byte of the payload: the CRC catches it.
    let n = b.len();
    b[n - 10] ^= 1;
    assert_eq!(
        Segmenter::from_bytes(&b).unwrap_err(),
        Error::ChecksumMismatch
    );
}

#[test]
fn forced_labels_decode_as_documented() {
    // Token end everywhere: every non-space char is a token.
    let s = blob(&seg(false, false, [0.0, 100.0, 0.0, 0.0, 0.0]));
    let s = Segmenter::from_bytes(&s).unwrap().unwrap();
    let t = run(&s, "ab c", 64);
    let spans: Vec<(u32, u32)> = t.iter().map(|t| (t.start, t.end)).collect();
    assert_eq!(spans, [(0, 1), (1, 2), (3, 4)]);
    assert_eq!(
        t[2].flags, TOKEN_SENTENCE_END,
        "end of text ends a sentence"
    );
    // No boundary labels: whitespace alone splits.
    let s = blob(&seg(true, false, [100.0, 0.0, 0.0, 0.0, 0.0]));
    let s = Segmenter::from_bytes(&s).unwrap().unwrap();
    let t = run(&s, " ab  c\n", 64);
    let spans: Vec<(u32, u32)> = t.iter().map(|t| (t.start, t.end)).collect();
    assert_eq!(spans, [(1, 3), (5, 6)]);
    // Spaces in tokens: with no labels, the whole text is one token, line wraps and
    // tabs included (whitespace reads as a space); only the end of the text ends it.
    let s = blob(&seg(true, true, [100.0, 0.0, 0.0, 0.0, 0.0]));
    let s = Segmenter::from_bytes(&s).unwrap().unwrap();
    let t = run(&s, " ab  c \nb\t\u{a0}a\r\n", 64);
    let spans: Vec<(u32, u32)> = t.iter().map(|t| (t.start, t.end)).collect();
    assert_eq!(spans, [(1, 13)]);
    // Multiword + sentence end everywhere.
    let s = blob(&seg(false, false, [0.0, 0.0, 0.0, 0.0, 100.0]));
    let s = Segmenter::from_bytes(&s).unwrap().unwrap();
    let t = run(&s, "a b", 64);
    assert!(t
        .iter()
        .all(|t| t.flags == TOKEN_SENTENCE_END | TOKEN_MULTIWORD));
}

#[test]
fn multiword_tokens_expand_from_the_table() {
    let b = blob(&seg(false, false, [0.0; 5]));
    let s = Segmenter::from_bytes(&b).unwrap().unwrap();
    let words: Vec<Word> = s.expand("Cannot").collect();
    assert_eq!(
        words,
        [Word::Surface(0, 3, "Can"), Word::Surface(3, 6, "not")]
    );
    let words: Vec<&str> = s.expand("Du").map(|w| w.as_str()).collect();
    assert_eq!(
        words,
        ["de", "le"],
        "not spelled by the surface: the table's words"
    );
    let words: Vec<Word> = s.expand("au").collect();
    assert_eq!(
        words,
        [Word::Surface(0, 2, "au")],
        "unknown: the token itself"
    );
}

#[test]
fn a_token_the_table_lacks_splits_off_the_longest_known_last_word() {
    let mut w = seg(false, false, [0.0; 5]);
    for (form, words) in [
        ("bob's", ["bob", "'s"]),
        ("gonna", ["gon", "na"]),
        ("kinda", ["kind", "a"]),
    ] {
        w.multiwords
            .push((form.into(), words.iter().map(|&s| s.into()).collect()));
    }
    let b = blob(&w);
    let s = Segmenter::from_bytes(&b).unwrap().unwrap();
    let words = |t: &'static str| -> Vec<Word<'_, 'static>> { s.expand(t).collect() };
    assert_eq!(
        words("Arafat's"),
        [Word::Surface(0, 6, "Arafat"), Word::Surface(6, 8, "'s")]
    );
    assert_eq!(
        words("ÉCOLE'S"),
        [Word::Surface(0, 6, "ÉCOLE"), Word::Surface(6, 8, "'S")],
        "compared lowercased, case kept, byte offsets"
    );
    assert_eq!(
        words("wanna"),
        [Word::Surface(0, 3, "wan"), Word::Surface(3, 5, "na")],
        "the longest last word wins: `na` over `a`"
    );
    assert_eq!(
        words("Kannot"),
        [Word::Surface(0, 3, "Kan"), Word::Surface(3, 6, "not")]
    );
    assert_eq!(
        words("école"),
        [Word::Surface(0, 6, "école")],
        "`du` -> `de le` does not spell its form: its `le` splits nothing"
    );
    assert_eq!(
        words("'s"),
        [Word::Surface(0, 2, "'s")],
        "a suffix must leave a first word"
    );
    assert_eq!(
        words("bob's"),
        [Word::Surface(0, 3, "bob"), Word::Surface(3, 5, "'s")]
    );
}

#[test]
fn output_too_small_stops_at_a_window_and_resumes_identically() {
    let b = blob(&seg(true, false, [0.0, 1.5, 0.0, 0.5, 0.0]));
    let s = Segmenter::from_bytes(&b).unwrap().unwrap();
    let text = "abc ab. cab! a b c. ccc aaa bbb. ab!ba";
    let all = run(&s, text, 8);
    let mut scratch = vec![0u8; s.scratch_bytes(8).unwrap()];
    let mut got = Vec::new();
    let mut at = 0;
    while at < text.len() {
        let mut out = vec![SegToken::default(); 8];
        let r = s.segment(&text[at..], 8, &mut scratch, &mut out).unwrap();
        assert!(r.tokens > 0 && r.consumed > 0);
        got.extend(out[..r.tokens].iter().map(|t| SegToken {
            start: t.start + at as u32,
            end: t.end + at as u32,
            flags: t.flags,
        }));
        at += r.consumed;
    }
    assert_eq!(got, all);
    let mut out: Vec<SegToken> = Vec::new();
    assert_eq!(
        s.segment(text, 8, &mut scratch, &mut out).unwrap_err(),
        Error::OutputTooSmall
    );
    assert_eq!(
        s.segment(text, 8, &mut scratch[..10], &mut out)
            .unwrap_err(),
        Error::ScratchTooSmall
    );
}

fn any_text() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        Just("a".to_string()),
        Just("b. ".to_string()),
        Just("c!".to_string()),
        Just(" ".to_string()),
        Just("\n\n".to_string()),
        Just("\t\r\n".to_string()),
        Just("\u{0}".to_string()),
        Just("\u{1}\u{7f}".to_string()),
        Just("e\u{301}".to_string()),
        Just("\u{1F600}\u{200D}\u{1F467}".to_string()),
        Just("שלום".to_string()),
        Just("\u{a0}\u{3000}".to_string()),
        Just("\u{FEFF}".to_string()),
        any::<char>().prop_map(|c| c.to_string()),
    ];
    prop::collection::vec(pieces, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #[test]
    fn segmentation_never_loses_or_invents_a_byte(
        text in any_text(),
        window in 1usize..24,
        spaces: bool,
        bias in prop::array::uniform5(-1.0f32..1.0),
    ) {
        let b = blob(&seg(true, spaces, bias));
        let s = Segmenter::from_bytes(&b).unwrap().unwrap();
        let tokens = run(&s, &text, window);
        check_lossless(&text, &tokens);
        // A text that fits in a window segments the same whatever the window (the C
        // calls take one character more than the text).
        let n = text.chars().count().max(1);
        if n <= 24 {
            prop_assert_eq!(run(&s, &text, n), run(&s, &text, 64));
            prop_assert_eq!(run(&s, &text, n + 1), run(&s, &text, 64));
        }
    }
}

/// `blob` rebuilt from its tensors as stored, after `edit` changed the list.
fn rebuilt(
    blob: &[u8],
    edit: impl FnOnce(&mut Vec<(Role, DType, usize, usize, Vec<u8>)>),
) -> Vec<u8> {
    let raw = format::split(blob).unwrap();
    let mut tensors: Vec<_> = raw
        .header
        .tensors
        .iter()
        .map(|e| {
            let e = e.unwrap();
            let start = e.offset as usize;
            let len = e.dtype.byte_len(e.rows, e.cols).unwrap();
            let bytes = raw.payload[start..start + len].to_vec();
            (e.role, e.dtype, e.rows as usize, e.cols as usize, bytes)
        })
        .collect();
    edit(&mut tensors);
    // Laid out as `BlobBuilder::finish` does, without its refusal of duplicates.
    let mut entries = Vec::new();
    let mut payload = Vec::new();
    for (role, dtype, rows, cols, bytes) in &tensors {
        payload.resize(payload.len().next_multiple_of(16), 0);
        let entry = TensorEntry {
            role: *role,
            dtype: *dtype,
            rows: *rows as u32,
            cols: *cols as u32,
            offset: payload.len() as u32,
        };
        entries.extend(postcard::to_allocvec(&entry).unwrap());
        payload.extend_from_slice(bytes);
    }
    let header = postcard::to_allocvec(&Header {
        config: raw.header.config,
        tensors: TensorTable(&entries),
    })
    .unwrap();
    let mut out = format::MAGIC.to_vec();
    out.extend_from_slice(&format::FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    out.extend_from_slice(&header);
    out.resize(format::payload_start(header.len()).unwrap(), 0);
    out.extend_from_slice(&payload);
    let crc = postag_core::crc32(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

#[test]
fn stray_or_duplicated_segmenter_tensors_are_refused_by_name() {
    let uni = blob(&seg(false, false, [0.0; 5]));
    let bi = blob(&seg(true, false, [0.0; 5]));
    let reverse_ih = Role::Segmenter(SegPart::Lstm {
        reverse: true,
        part: LstmPart::InputWeights,
    });
    // A reverse-direction tensor in a unidirectional segmenter.
    let stray = rebuilt(&uni, |t| {
        let from_bi = rebuilt(&bi, |_| {});
        let (start, e) = postag_testutil::tensor_at(&from_bi, reverse_ih);
        let len = e.dtype.byte_len(e.rows, e.cols).unwrap();
        let bytes = from_bi[start..start + len].to_vec();
        t.push((e.role, e.dtype, e.rows as usize, e.cols as usize, bytes));
    });
    let err = Segmenter::from_bytes(&stray).unwrap_err();
    assert_eq!(
        err,
        Error::UnexpectedTensor {
            role: reverse_ih,
            duplicate: false
        }
    );
    assert!(
        err.to_string()
            .contains("segmenter.lstm.weight_ih_l0_reverse"),
        "{err}"
    );
    // A duplicated tensor, whichever it is.
    for part in [
        SegPart::Options,
        SegPart::CharCodes,
        SegPart::OutputBias,
        SegPart::MultiwordWords,
        SegPart::Lstm {
            reverse: true,
            part: LstmPart::Bias,
        },
    ] {
        let role = Role::Segmenter(part);
        let twice = rebuilt(&bi, |t| {
            let copy = t.iter().find(|x| x.0 == role).unwrap().clone();
            t.push(copy);
        });
        let err = Segmenter::from_bytes(&twice).unwrap_err();
        assert_eq!(
            err,
            Error::UnexpectedTensor {
                role,
                duplicate: true
            }
        );
        assert!(err.to_string().contains(&role.to_string()), "{err}");
        assert!(err.to_string().contains("twice"), "{err}");
    }
    // Segmenter tensors without the segmenter's options.
    let orphan = rebuilt(&uni, |t| {
        t.retain(|x| x.0 != Role::Segmenter(SegPart::Options))
    });
    assert!(matches!(
        Segmenter::from_bytes(&orphan).unwrap_err(),
        Error::UnexpectedTensor {
            role: Role::Segmenter(_),
            duplicate: false
        }
    ));
    // The tagger ignores the segmenter section, stray or not.
    assert!(Model::from_bytes(&stray).is_ok());
}

#[test]
fn a_bad_window_has_its_own_error() {
    let b = blob(&seg(false, false, [0.0; 5]));
    let s = Segmenter::from_bytes(&b).unwrap().unwrap();
    let mut scratch = vec![0u8; s.scratch_bytes(MAX_WINDOW).unwrap()];
    let mut out = vec![SegToken::default(); 8];
    for window in [0, MAX_WINDOW + 1, usize::MAX] {
        let err = s
            .segment("ab c", window, &mut scratch, &mut out)
            .unwrap_err();
        assert_eq!(err, Error::InvalidWindow);
        assert!(err.to_string().contains("65536"), "{err}");
    }
    assert!(s
        .segment("ab c", MAX_WINDOW, &mut scratch, &mut out)
        .is_ok());
}

#[test]
fn scratch_bytes_is_the_documented_formula_and_exactly_enough_at_any_alignment() {
    for (bidirectional, storage) in [
        (true, Storage::F32),
        (false, Storage::F32),
        (true, Storage::I8),
        (false, Storage::I8),
    ] {
        let w = seg(bidirectional, false, [0.0, 1.5, 0.0, 0.5, 0.0]);
        let b = with_segmenter(&common::tiny::blob(), Some(&w), storage).unwrap();
        let s = Segmenter::from_bytes(&b).unwrap().unwrap();
        let (e, h, r) = (w.dim, s.hidden(), w.rows);
        assert_eq!(s.embedding_rows(), r);
        for window in [1, 2, 5, 7, 8, 100, 2048, MAX_WINDOW] {
            let back = if bidirectional { 5 * window } else { 0 };
            let slots = window.min(r).min(256);
            let table = (2 * slots).next_power_of_two();
            let work = 13 * e + 34 * h + h.div_ceil(2) + 8;
            // An int8 `W_hh` has room for its interleaved copy.
            let pairs = match storage {
                Storage::I8 => 8 * h.div_ceil(2) * h.div_ceil(2) + 7,
                Storage::F32 => 0,
            };
            let words =
                table + slots + 1 + 3 * window + 3 + 4 * h * slots + pairs + back + work + 5;
            assert_eq!(
                s.scratch_bytes(window),
                Some(4 * words + 3),
                "window {window}"
            );
        }
        // A text longer than the window, with every character of the vocabulary.
        let text = "abc ab. cab! a b c. ccc aaa bbb. ab!ba";
        let window = 8;
        let want = run(&s, text, window);
        let need = s.scratch_bytes(window).unwrap();
        let mut buf = vec![0xA5u8; need + 4];
        let mut out = vec![SegToken::default(); text.len()];
        for at in 0..4 {
            let scratch = &mut buf[at..at + need];
            let r = s.segment(text, window, scratch, &mut out).unwrap();
            assert_eq!(&out[..r.tokens], &want[..], "offset {at}");
            assert_eq!(
                s.segment(text, window, &mut buf[at..at + need - 1], &mut out),
                Err(Error::ScratchTooSmall)
            );
        }
    }
}

#[test]
fn sentences_of_int8_paragraphs_are_each_paragraph_segmented_alone() {
    // `sentences` keeps the projection cache from one paragraph (and window) to the
    // next: the tokens and sentences must be those of each paragraph on a fresh scratch.
    let b = with_segmenter(
        &common::tiny::blob(),
        Some(&seg(true, false, [0.0, 0.0, 0.0, 0.0, 0.0])),
        Storage::I8,
    )
    .unwrap();
    let s = Segmenter::from_bytes(&b).unwrap().unwrap();
    let alphabet: Vec<char> = "abc .!".chars().collect();
    let mut x = 7u32;
    let mut next = |n: usize| -> String {
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                alphabet[x as usize % alphabet.len()]
            })
            .collect()
    };
    // Short paragraphs, and one longer than a window.
    let lengths = [40, 3, 300, 5000, 1, 77];
    let paragraphs: Vec<String> = lengths.iter().map(|&n| next(n)).collect();
    let text = paragraphs.join("\n\n");
    let got: Vec<(usize, usize, bool)> = postag_core::segment::sentences(&s, &text)
        .unwrap()
        .iter()
        .flat_map(|sentence| {
            let last = sentence.tokens.len() - 1;
            sentence
                .tokens
                .iter()
                .enumerate()
                .map(move |(i, t)| (t.start, t.end, i == last))
        })
        .collect();
    let mut want = Vec::new();
    let mut at = 0;
    for p in &paragraphs {
        let start = text[at..].find(p.as_str()).unwrap() + at;
        for t in run(&s, p, WINDOW) {
            let end = t.flags & TOKEN_SENTENCE_END != 0;
            want.push((start + t.start as usize, start + t.end as usize, end));
        }
        at = start + p.len();
    }
    assert!(want.len() > 1000);
    assert_eq!(got, want);
}

#[test]
fn line_sentences_are_each_line_segmented_alone() {
    // One sentence per line that is not blank, whatever sentence ends the segmenter finds
    // inside it: the tokens of the line on a fresh scratch (the projection cache kept
    // from line to line must not change them); blank lines open paragraphs.
    let b = with_segmenter(
        &common::tiny::blob(),
        Some(&seg(true, false, [0.0, 0.0, 0.0, 2.0, 0.0])),
        Storage::I8,
    )
    .unwrap();
    let s = Segmenter::from_bytes(&b).unwrap().unwrap();
    let alphabet: Vec<char> = "abc .!\t".chars().collect();
    let mut x = 11u32;
    let mut next = |n: usize| -> String {
        let line: String = (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                alphabet[x as usize % alphabet.len()]
            })
            .collect();
        // Not blank: a line of whitespace only would end a paragraph.
        format!("{line}a")
    };
    let lengths = [40, 3, 300, 5000, 1, 77, 12, 9];
    let lines: Vec<String> = lengths.iter().map(|&n| next(n)).collect();
    // Line ends LF and CRLF, two blank lines (one of spaces) before line 4, none at the end.
    let text = format!(
        "{}\n{}\r\n{}\n \n\n{}\n{}\n{}\n\n{}\n{}",
        lines[0], lines[1], lines[2], lines[3], lines[4], lines[5], lines[6], lines[7]
    );
    let got = postag_core::segment::line_sentences(&s, &text).unwrap();
    assert_eq!(got.len(), lines.len());
    let newpar: Vec<bool> = got.iter().map(|g| g.newpar).collect();
    assert_eq!(
        newpar,
        [true, false, false, true, false, false, true, false]
    );
    let mut at = 0;
    let mut within_line_ends = 0;
    for (line, sentence) in lines.iter().zip(&got) {
        let start = text[at..].find(line.as_str()).unwrap() + at;
        let end = start + line.len();
        // The line alone with its line end, as a text of its own.
        let line_end = text[end..].find('\n').map_or(text.len(), |i| end + i + 1);
        let alone = run(&s, &text[start..line_end], WINDOW);
        within_line_ends += alone[..alone.len() - 1]
            .iter()
            .filter(|t| t.flags & TOKEN_SENTENCE_END != 0)
            .count();
        let want: Vec<(usize, usize)> = alone
            .iter()
            .map(|t| (start + t.start as usize, start + t.end as usize))
            .collect();
        let have: Vec<(usize, usize)> = sentence.tokens.iter().map(|t| (t.start, t.end)).collect();
        assert_eq!(have, want);
        at = end;
    }
    assert!(
        within_line_ends > 10,
        "the lines hold sentence ends to ignore: {within_line_ends}"
    );
}

#[test]
fn any_whitespace_inside_a_paragraph_segments_as_a_space() {
    // A wrapped line, CRLF, tabs: the same tokens and sentences as with spaces (the
    // same byte lengths), also where tokens may hold spaces; a no-break space (two
    // bytes) the same tokens' texts.
    let spaced = "ab c. ab! cc  a. b .c";
    for spaces in [true, false] {
        // Labels that leave some tokens open across whitespace, where it can continue them.
        let b = blob(&seg(true, spaces, [1.0, 0.0, 0.0, 0.0, 0.0]));
        let s = Segmenter::from_bytes(&b).unwrap().unwrap();
        let want = run(&s, spaced, 64);
        if spaces {
            assert!(want
                .iter()
                .any(|t| spaced[t.start as usize..t.end as usize].contains(' ')));
        }
        for other in [
            "ab\nc. ab!\tcc\r\na. b\u{b}.c",
            "ab\tc.\nab! cc\r\na.\u{c}b .c",
        ] {
            assert_eq!(other.len(), spaced.len());
            assert_eq!(
                run(&s, other, 64),
                want,
                "{other:?} spaces in tokens: {spaces}"
            );
        }
    }
    let b = blob(&seg(true, false, [0.0; 5]));
    let s = Segmenter::from_bytes(&b).unwrap().unwrap();
    let nbsp = "ab\u{a0}c. ab!\u{a0}cc  a. b .c";
    let texts = |t: &str| -> Vec<(String, u32)> {
        run(&s, t, 64)
            .iter()
            .map(|k| (t[k.start as usize..k.end as usize].to_string(), k.flags))
            .collect()
    };
    assert_eq!(texts(nbsp), texts(spaced));
    // A run of whitespace reads as one space: the same tokens' texts and flags.
    let runs = "ab   c.\r\n\r\nab!\t \tcc a.  b \u{a0}\n.c";
    assert_eq!(texts(runs), texts("ab c. ab! cc a. b .c"));
    // And the whitespace ending the text as one line break, however long.
    assert_eq!(texts("ab c.\r\n \t\n"), texts("ab c.\n"));
}

/// A token with a whitespace run inside (a model with spaces in tokens) keeps its span
/// of the text, and its word is the treebank's spelling: each run one space (the
/// tagger once saw `ab  c` with both spaces and took it for an unknown word).
#[test]
fn a_token_with_spaces_inside_has_one_space_per_run_in_its_word() {
    let b = blob(&seg(true, true, [100.0, 0.0, 0.0, 0.0, 0.0]));
    let s = Segmenter::from_bytes(&b).unwrap().unwrap();
    let text = " ab  c   a\n";
    let got = postag_core::segment::sentences(&s, text).unwrap();
    assert_eq!(got.len(), 1);
    let t = &got[0].tokens;
    assert_eq!(t.len(), 1);
    assert_eq!(&text[t[0].start..t[0].end], "ab  c   a");
    assert_eq!(t[0].words, ["ab c a"]);
    assert_eq!(postag_core::segment::one_space("\u{a0}x\r\n y  "), " x y ");
}

/// `line_sentences` ends a line at LF, CR LF and a lone CR alike (a CR-only file was
/// one sentence).
#[test]
fn line_sentences_end_lines_at_lf_crlf_and_cr() {
    let b = blob(&seg(false, false, [100.0, 0.0, 0.0, 0.0, 0.0]));
    let s = Segmenter::from_bytes(&b).unwrap().unwrap();
    for text in ["ab c\nb a\n", "ab c\r\nb a\r\n", "ab c\rb a\r", "ab c\rb a"] {
        let got = postag_core::segment::line_sentences(&s, text).unwrap();
        let words: Vec<Vec<&str>> = got
            .iter()
            .map(|s| s.tokens.iter().map(|t| &text[t.start..t.end]).collect())
            .collect();
        assert_eq!(words, [vec!["ab", "c"], vec!["b", "a"]], "{text:?}");
        assert!(got[0].newpar && !got[1].newpar, "{text:?}");
    }
}

/// A paragraph's end reads the same with or without whitespace after its last
/// character: a text gives the tokens of the same text followed by a line break (or
/// any whitespace), with and without a line break in the vocabulary. (Texts that fit
/// in the window: a longer text's window boundaries move with its length.)
#[test]
fn a_text_ends_as_the_same_text_with_a_line_break_after_it() {
    for (bidirectional, line_break) in [(true, false), (false, false), (true, true)] {
        let mut w = seg(bidirectional, false, [0.0, 0.8, 0.0, 0.3, 0.0]);
        if line_break {
            let rows = w.rows as u32;
            w.chars.push(('\n', rows));
            w.embedding.extend(weights(w.dim, 60));
            w.rows += 1;
        }
        let b = blob(&w);
        let s = Segmenter::from_bytes(&b).unwrap().unwrap();
        for text in [
            "ab",
            "abc cab!",
            "a. b c. cannot",
            "ccc aaa bbb. ab!ba",
            "du",
        ] {
            for window in [24, 100] {
                let want = run(&s, &format!("{text}\n"), window);
                for tail in ["", " ", "\n\n", " \t\r\n"] {
                    let got = run(&s, &format!("{text}{tail}"), window);
                    assert_eq!(got, want, "{text:?}{tail:?}, window {window}");
                }
            }
        }
    }
}

/// A window that holds nothing but part of one token ends that token, flagged
/// `TOKEN_CUT`; no other token carries the flag.
#[test]
fn tokens_ended_by_a_window_are_flagged() {
    // A segmenter that never ends a token: whitespace alone separates them.
    let s = blob(&seg(true, false, [100.0, 0.0, 0.0, 0.0, 0.0]));
    let s = Segmenter::from_bytes(&s).unwrap().unwrap();
    // (start, end, cut) of each token of `text` in windows of 10.
    let spans = |text: &str| -> Vec<(u32, u32, bool)> {
        run(&s, text, 10)
            .iter()
            .map(|t| (t.start, t.end, t.flags & TOKEN_CUT != 0))
            .collect()
    };
    // "ab", then the run cut at each window's end (it starts in the first window's first
    // half, so that window keeps it): 7, 10 and 8 characters, the first two cut.
    assert_eq!(
        spans(&format!("ab {} b", "a".repeat(25))),
        [
            (0, 2, false),
            (3, 10, true),
            (10, 20, true),
            (20, 28, false),
            (29, 30, false)
        ]
    );
    // Starting in the second half, the run is read again by the next window, which
    // starts after "abc" (byte 6).
    assert_eq!(
        spans(&format!("ab abc {} b", "a".repeat(25))),
        [
            (0, 2, false),
            (3, 6, false),
            (7, 16, true),
            (16, 26, true),
            (26, 32, false),
            (33, 34, false)
        ]
    );
    // Halves are counted in characters: four emoji (16 bytes) starting at character 7 of
    // the first window start in its second half, so the next window reads them whole.
    assert_eq!(
        spans("abcdef \u{1f600}\u{1f600}\u{1f600}\u{1f600} a"),
        [(0, 6, false), (7, 23, false), (24, 25, false)]
    );
    // Text that fits the window, or whose windows end at whitespace: never flagged.
    for (text, window) in [("ab cab ab", 100), ("ab ab ab ab ab", 3)] {
        assert!(
            run(&s, text, window)
                .iter()
                .all(|t| t.flags & TOKEN_CUT == 0),
            "{text}"
        );
    }
}

/// Every f32 tensor and int8 row scale of a segmenter (f32 and int8), with a NaN or an
/// infinity in its last element (or last row's scale) and the CRC recomputed, is
/// refused naming that element as the tagger's tensors are: row and column, or the
/// row of an int8 scale.
#[test]
fn non_finite_segmenter_weights_are_refused_naming_the_element() {
    for storage in [Storage::F32, Storage::I8] {
        let blob = with_segmenter(
            &common::tiny::blob(),
            Some(&seg(true, false, [0.0; 5])),
            storage,
        )
        .unwrap();
        let raw = format::split(&blob).unwrap();
        let payload_start = raw.payload.as_ptr() as usize - blob.as_ptr() as usize;
        let entries: Vec<_> = raw.header.tensors.iter().map(Result::unwrap).collect();
        let mut checked = 0;
        for e in entries
            .iter()
            .filter(|e| matches!(e.role, Role::Segmenter(_)))
        {
            let (rows, cols) = (e.rows as usize, e.cols as usize);
            let (at, col) = match e.dtype {
                DType::F32 => (4 * (rows * cols - 1), Some(e.cols - 1)),
                DType::I8 => (rows * cols + 4 * (rows - 1), None),
                _ => continue,
            };
            for value in [f32::NAN, f32::NEG_INFINITY] {
                let mut copy = blob.clone();
                let i = payload_start + e.offset as usize + at;
                copy[i..i + 4].copy_from_slice(&value.to_le_bytes());
                let copy = common::with_crc(copy);
                assert_eq!(
                    Segmenter::from_bytes(&copy).err(),
                    Some(Error::NonFiniteWeight {
                        role: e.role,
                        row: e.rows - 1,
                        col,
                        bits: value.to_bits(),
                    }),
                    "{storage:?} {:?} = {value}",
                    e.role
                );
                checked += 1;
            }
        }
        assert!(checked >= 2 * 8, "{storage:?}: {checked}");
    }
}

/// `sentences` and `line_sentences` work through a paragraph a few windows at a time
/// (what they hold follows the sentence, not the paragraph): on a paragraph, and a
/// line, of many windows, the tokens and sentences of one call over the whole of it.
#[test]
fn sentences_of_a_paragraph_of_many_windows_are_those_of_one_call() {
    use postag_core::segment::{line_sentences, sentences, SentenceIter};
    let b = blob(&seg(true, false, [0.0, 1.5, 0.0, 0.5, 0.0]));
    let s = Segmenter::from_bytes(&b).unwrap().unwrap();
    // About 9 windows of text, past the tokens one call of the iterator has room for.
    let unit = "abc ab. cab! a b c. ccc aaa bbb. ab!ba c a. ";
    let long: String = unit.repeat(9 * WINDOW / unit.len() + 1);
    let paragraph = long.trim_end();
    let whole = run(&s, paragraph, WINDOW);
    assert!(whole.len() > 4 * WINDOW, "{} tokens", whole.len());
    let spans = |tokens: &mut dyn Iterator<Item = (usize, usize)>| tokens.collect::<Vec<_>>();
    // Sentences as one call gives them: runs of tokens up to a sentence end.
    let mut want: Vec<Vec<(usize, usize)>> = vec![Vec::new()];
    for t in &whole {
        want.last_mut()
            .unwrap()
            .push((t.start as usize, t.end as usize));
        if t.flags & TOKEN_SENTENCE_END != 0 {
            want.push(Vec::new());
        }
    }
    want.pop();
    assert!(want.len() > 100);
    let got = sentences(&s, paragraph).unwrap();
    let got: Vec<_> = got
        .iter()
        .map(|x| spans(&mut x.tokens.iter().map(|t| (t.start, t.end))))
        .collect();
    assert_eq!(got, want);
    // After a first paragraph, offsets count in the whole text; each paragraph's first
    // sentence starts a paragraph.
    let first = sentences(&s, "ab c.").unwrap().len();
    let text = format!("ab c.\n\n{paragraph}");
    let got = sentences(&s, &text).unwrap();
    assert_eq!(got.len(), first + want.len());
    assert!(got[0].newpar && got[first].newpar && !got[first + 1].newpar);
    assert_eq!(got[first].tokens[0].start, 7);
    // A line of many windows is one sentence of the same tokens.
    let lines = format!("{paragraph}\nab c. a\n");
    let got = line_sentences(&s, &lines).unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(
        spans(&mut got[0].tokens.iter().map(|t| (t.start, t.end))),
        want.concat()
    );
    assert!(got[0].newpar && !got[1].newpar);
    // The iterator gives the sentences one by one.
    assert_eq!(SentenceIter::new(&s, paragraph, false).count(), want.len());
    // `poll` gives them a call of the segmenter at a time (each call a `None`, then the
    // sentences it completed): the line's sentence takes more than one call; the same
    // sentences.
    let mut it = SentenceIter::new(&s, &lines, true);
    let (mut idle, mut polled) = (Vec::new(), Vec::new());
    while let Some(step) = it.poll() {
        match step.unwrap() {
            Some(sentence) => polled.push(sentence),
            None => idle.push(polled.len()),
        }
    }
    assert_eq!(polled, got);
    let before_first = idle.iter().filter(|&&done| done == 0).count();
    assert!(before_first >= 2, "{idle:?}");
}

/// No token ends inside a cluster of a character and those that extend it (combining
/// marks, an emoji's skin tone, joined emoji): with a token end labelled at every
/// character, each cluster is one token, its label the last character's.
#[test]
fn tokens_do_not_end_inside_a_cluster() {
    let b = blob(&seg(false, false, [0.0, 100.0, 0.0, 0.0, 0.0]));
    let s = Segmenter::from_bytes(&b).unwrap().unwrap();
    let texts = |text: &str| -> Vec<String> {
        let t = run(&s, text, 64);
        check_lossless(text, &t);
        t.iter()
            .map(|k| text[k.start as usize..k.end as usize].to_string())
            .collect()
    };
    assert_eq!(texts("ab"), ["a", "b"]);
    assert_eq!(texts("a\u{301}\u{302}b"), ["a\u{301}\u{302}", "b"]);
    assert_eq!(texts("(\u{301})"), ["(\u{301}", ")"]);
    assert_eq!(texts("c👍🏽!"), ["c", "👍🏽", "!"]);
    // A joiner joins what follows it, unless that is whitespace.
    assert_eq!(
        texts("👨\u{200d}👩\u{200d}👧a"),
        ["👨\u{200d}👩\u{200d}👧", "a"]
    );
    assert_eq!(texts("a\u{200d} b"), ["a\u{200d}", "b"]);
    // A text that starts with a mark: it opens a token as any character does.
    assert_eq!(texts("\u{301}a"), ["\u{301}", "a"]);
}
