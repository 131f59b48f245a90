//! The window rule (`Segmenter::segment` on texts longer than a window) against
//! independent expectations: on random texts and windows, the tokens rebuild the text
//! with whitespace between them, in order, never overlapping, the last ending a
//! sentence; and with labels that depend on each character alone, windows change
//! nothing but where a token is cut (`TOKEN_CUT` pieces joined, the tokens and their
//! flags are those of one window over the whole text).

mod common;

use common::segmenter::{blob, run, weights};

use postag_core::segment::build::{SegCell, SegmenterWeights};
use postag_core::segment::{SegToken, Segmenter, TOKEN_CUT, TOKEN_MULTIWORD, TOKEN_SENTENCE_END};
use proptest::prelude::*;

/// The class each character gets from the context-free segmenter (0: no boundary, 1:
/// token end, 2: multiword token end, 3: sentence end, 4: multiword sentence end).
fn class(c: char) -> usize {
    match c {
        '|' | '€' => 1,
        'm' => 2,
        '.' | '😀' => 3,
        '!' => 4,
        _ => 0,
    }
}

const CHARS: &str = "abcé€|m.😀! \n\u{301}";

/// A segmenter whose label of a character is [`class`] of it alone: one-hot embedding,
/// no recurrence (`W_hh` zero, forget gate closed), the cell output `tanh(g)` one-hot.
fn ctx_free(spaces: bool) -> SegmenterWeights {
    let chars: Vec<(char, u32)> = CHARS.chars().zip(1..).collect();
    let rows = chars.len() + 1;
    let dim = rows;
    let h = 5;
    let mut embedding = vec![0.0; rows * dim];
    for r in 0..rows {
        embedding[r * dim + r] = 1.0;
    }
    let mut w_ih = vec![0.0; 4 * h * dim];
    let mut bias = vec![0.0; 4 * h];
    for k in 0..h {
        bias[k] = 20.0; // i
        bias[h + k] = -20.0; // f
        bias[3 * h + k] = 20.0; // o
        for r in 0..rows {
            let cls = if r == 0 {
                0
            } else {
                let c = chars[r - 1].0;
                if c.is_whitespace() {
                    0
                } else {
                    class(c)
                }
            };
            w_ih[(2 * h + k) * dim + r] = if cls == k { 3.0 } else { -3.0 };
        }
    }
    let mut out_w = vec![0.0; 5 * h];
    for k in 0..5 {
        out_w[k * h + k] = 10.0;
    }
    SegmenterWeights {
        spaces_in_tokens: spaces,
        chars,
        embedding,
        rows,
        dim,
        cells: vec![SegCell {
            w_ih,
            w_hh: vec![0.0; 4 * h * h],
            bias,
        }],
        out_w,
        out_b: vec![0.0; 5],
        multiwords: vec![],
    }
}

/// A random bidirectional segmenter (hidden 3) whose labels depend on context.
fn ctx(spaces: bool, bias: [f32; 5], seed: u32) -> SegmenterWeights {
    let (dim, h) = (4, 3);
    let chars: Vec<(char, u32)> = CHARS.chars().zip(1..).collect();
    let rows = chars.len() + 1;
    let cells = (0..2u32)
        .map(|d| SegCell {
            w_ih: weights(4 * h * dim, seed + 10 + d),
            w_hh: weights(4 * h * h, seed + 20 + d)
                .iter()
                .map(|x| x * 3.0)
                .collect(),
            bias: weights(4 * h, seed + 30 + d),
        })
        .collect::<Vec<_>>();
    let mut out_b = weights(5, seed + 40);
    for (b, x) in out_b.iter_mut().zip(bias) {
        *b += x;
    }
    SegmenterWeights {
        spaces_in_tokens: spaces,
        chars,
        embedding: weights(rows * dim, seed + 1),
        rows,
        dim,
        cells,
        out_w: weights(5 * 6, seed + 50),
        out_b,
        multiwords: vec![],
    }
}

/// The tokens, in order and with whitespace only between and around them, rebuild
/// `text`; no token starts or ends on whitespace; a cut token runs on; the last ends a
/// sentence.
fn check_lossless(text: &str, tokens: &[SegToken]) -> Result<(), String> {
    let mut at = 0usize;
    for t in tokens {
        let (s, e) = (t.start as usize, t.end as usize);
        if !(at <= s && s < e && e <= text.len()) {
            return Err(format!("order {tokens:?}"));
        }
        if !text.is_char_boundary(s) || !text.is_char_boundary(e) {
            return Err("boundary".into());
        }
        if !text[at..s].chars().all(char::is_whitespace) {
            return Err(format!("gap not ws {:?}", &text[at..s]));
        }
        if text[s..].starts_with(char::is_whitespace) {
            return Err("starts ws".into());
        }
        if text[..e].ends_with(char::is_whitespace) {
            return Err("ends ws".into());
        }
        if t.flags & TOKEN_CUT != 0 && !text[e..].starts_with(|c: char| !c.is_whitespace()) {
            return Err(format!("cut flag without continuation {t:?}"));
        }
        at = e;
    }
    if !text[at..].chars().all(char::is_whitespace) {
        return Err("tail".into());
    }
    if let Some(t) = tokens.last() {
        if t.flags & TOKEN_SENTENCE_END == 0 {
            return Err("last not sentence end".into());
        }
    }
    Ok(())
}

fn any_text() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        Just("a".to_string()),
        Just("b".to_string()),
        Just("c".to_string()),
        Just("é".to_string()),
        Just("€".to_string()),
        Just("|".to_string()),
        Just("m".to_string()),
        Just(".".to_string()),
        Just("😀".to_string()),
        Just("!".to_string()),
        Just("\u{301}".to_string()),
        Just(" ".to_string()),
        Just(" ".to_string()),
        Just("  ".to_string()),
        Just("\n".to_string()),
        Just("\u{3000}".to_string()),
        Just("aaaaaaa".to_string()),
        Just("       ".to_string()),
    ];
    prop::collection::vec(pieces, 0..250).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, .. ProptestConfig::default() })]
    #[test]
    fn context_free_labels_differ_across_windows_only_by_cuts(text in any_text(), window in 4usize..13) {
        let b = blob(&ctx_free(false));
        let s = Segmenter::from_bytes(&b).unwrap().unwrap();
        let whole = run(&s, &text, 65536);
        let got = run(&s, &text, window);
        if let Err(e) = check_lossless(&text, &got) {
            prop_assert!(false, "{e} window {window} text {text:?} got {got:?}");
        }
        use std::collections::{BTreeSet, BTreeMap};
        let w_ends: BTreeSet<u32> = whole.iter().map(|t| t.end).collect();
        let w_starts: BTreeSet<u32> = whole.iter().map(|t| t.start).collect();
        let w_by: BTreeMap<(u32,u32), u32> = whole.iter().map(|t| ((t.start,t.end), t.flags)).collect();
        let g_ends: BTreeSet<u32> = got.iter().map(|t| t.end).collect();
        let last = got.len().saturating_sub(1);
        for (i, t) in got.iter().enumerate() {
            let cut = t.flags & TOKEN_CUT != 0;
            prop_assert!(cut || w_ends.contains(&t.end), "uncut end not a true end: window {} text {:?} tok {:?} got {:?} whole {:?}", window, text, t, got, whole);
            let after_cut = i > 0 && got[i-1].flags & TOKEN_CUT != 0 && got[i-1].end == t.start;
            prop_assert!(after_cut || w_starts.contains(&t.start), "start not true: window {} text {:?} tok {:?} got {:?}", window, text, t, got);
            if !cut && !after_cut && i != last {
                let mask = TOKEN_SENTENCE_END | TOKEN_MULTIWORD;
                let wf = w_by.get(&(t.start, t.end)).copied();
                prop_assert_eq!(wf.map(|f| f & mask), Some(t.flags & mask), "flags window {} text {:?} tok {:?} got {:?}", window, text, t, got);
            }
        }
        let any_cut = got.iter().any(|t| t.flags & TOKEN_CUT != 0);
        for e in w_ends.iter().filter(|_| !any_cut) {
            prop_assert!(g_ends.contains(e), "true end missing {} window {} text {:?} got {:?}", e, window, text, got);
        }
    }

    #[test]
    fn windows_never_lose_invent_or_reorder_text(text in any_text(), window in 1usize..13, spaces: bool, seed in 0u32..50,
        bias in prop::array::uniform5(-1.0f32..1.0)) {
        let b = blob(&ctx(spaces, bias, seed));
        let s = Segmenter::from_bytes(&b).unwrap().unwrap();
        let got = run(&s, &text, window);
        if let Err(e) = check_lossless(&text, &got) {
            prop_assert!(false, "{e} window {window} spaces {spaces} text {text:?} got {got:?}");
        }
        let b2 = blob(&ctx_free(spaces));
        let s2 = Segmenter::from_bytes(&b2).unwrap().unwrap();
        let got = run(&s2, &text, window);
        if let Err(e) = check_lossless(&text, &got) {
            prop_assert!(false, "cf {e} window {window} spaces {spaces} text {text:?} got {got:?}");
        }
    }
}
