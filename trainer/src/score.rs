//! The CoNLL 2018 shared task's evaluation of a system's segmentation and tags against
//! gold, for the metrics a tagger has: Tokens, Sentences, Words and UPOS.
//!
//! Both files are read as one character sequence (every token's form without its
//! space-separator characters, category Zs, concatenated); tokens, sentences and words
//! are spans of it. Tokens and sentences are correct when a system span equals a gold
//! span. Words are aligned: outside multiword tokens by equal spans; where either side
//! has a multiword token, over the smallest region both sides cover, by the longest
//! common subsequence of their lowercased forms. Words F1 counts aligned words, UPOS F1
//! aligned words with equal UPOS; precision divides by the system's count, recall by
//! gold's.

use serde::Serialize;

use crate::rawtext::TokSentence;

/// Characters `[start, end)` of the underlying character sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// First character.
    pub start: usize,
    /// One past the last.
    pub end: usize,
}

#[derive(Debug, Clone)]
struct Word {
    span: Span,
    multiword: bool,
    form_lower: String,
    upos: String,
}

/// A treebank as the scorer sees it.
#[derive(Debug, Clone, Default)]
pub struct Doc {
    chars: Vec<char>,
    tokens: Vec<Span>,
    sentences: Vec<Span>,
    words: Vec<Word>,
}

/// Unicode category Zs (space separators), removed from forms.
fn is_space_separator(c: char) -> bool {
    matches!(
        c,
        '\u{20}' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}' | '\u{202f}' | '\u{205f}' | '\u{3000}'
    )
}

impl Doc {
    /// The scorer's view of token-level sentences.
    pub fn new(sentences: &[TokSentence]) -> Self {
        let mut d = Doc::default();
        for s in sentences {
            let start = d.chars.len();
            for t in &s.tokens {
                let t_start = d.chars.len();
                d.chars
                    .extend(t.form.chars().filter(|&c| !is_space_separator(c)));
                let span = Span {
                    start: t_start,
                    end: d.chars.len(),
                };
                d.tokens.push(span);
                for w in &t.words {
                    // The word of a plain token is the token's form without its space
                    // separators (as the characters are); a multiword token's words
                    // are taken as written. (So the official script reads them.)
                    let form: String = match t.multiword {
                        true => w.form.clone(),
                        false => w.form.chars().filter(|&c| !is_space_separator(c)).collect(),
                    };
                    d.words.push(Word {
                        span,
                        multiword: t.multiword,
                        form_lower: form.to_lowercase(),
                        upos: w.upos.clone(),
                    });
                }
            }
            d.sentences.push(Span {
                start,
                end: d.chars.len(),
            });
        }
        d
    }
}

/// Counts and F1 of one metric.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Score {
    /// Items in gold.
    pub gold: usize,
    /// Items in the system output.
    pub system: usize,
    /// Correct items.
    pub correct: usize,
    /// correct / system.
    pub precision: f64,
    /// correct / gold.
    pub recall: f64,
    /// 2 correct / (gold + system).
    pub f1: f64,
}

impl Score {
    fn new(gold: usize, system: usize, correct: usize) -> Self {
        let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        Score {
            gold,
            system,
            correct,
            precision: ratio(correct, system),
            recall: ratio(correct, gold),
            f1: ratio(2 * correct, gold + system),
        }
    }
}

/// The four metrics.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Scores {
    /// Surface tokens.
    #[serde(rename = "Tokens")]
    pub tokens: Score,
    /// Sentences.
    #[serde(rename = "Sentences")]
    pub sentences: Score,
    /// Syntactic words.
    #[serde(rename = "Words")]
    pub words: Score,
    /// Aligned words with the gold UPOS.
    #[serde(rename = "UPOS")]
    pub upos: Score,
}

/// The two character sequences differ (the system lost or changed text, or a gold
/// sentence's `# text` does not spell its tokens).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextMismatch {
    /// Index of the first differing character.
    pub at: usize,
    /// The gold sentence (1-based) that character is in (or the last one).
    pub sentence: usize,
    /// Up to 20 gold characters from there.
    pub gold: String,
    /// Up to 20 system characters from there.
    pub system: String,
}

impl std::fmt::Display for TextMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "gold sentence {}: the concatenation of tokens differs from gold at character {}: gold {:?}, system {:?}",
            self.sentence, self.at, self.gold, self.system
        )
    }
}

impl std::error::Error for TextMismatch {}

fn spans_score(gold: &[Span], system: &[Span]) -> Score {
    let (mut correct, mut g, mut s) = (0, 0, 0);
    while g < gold.len() && s < system.len() {
        if system[s].start < gold[g].start {
            s += 1;
        } else if gold[g].start < system[s].start {
            g += 1;
        } else {
            correct += usize::from(gold[g].end == system[s].end);
            g += 1;
            s += 1;
        }
    }
    Score::new(gold.len(), system.len(), correct)
}

/// Whether word `i` lies past the end of a multiword region ending at `end`.
fn beyond_end(words: &[Word], i: usize, end: usize) -> bool {
    match words.get(i) {
        None => true,
        Some(w) if w.multiword => w.span.start >= end,
        Some(w) => w.span.end > end,
    }
}

fn extend_end(w: &Word, end: usize) -> usize {
    if w.multiword && w.span.end > end {
        w.span.end
    } else {
        end
    }
}

/// The region starting at gold word `g` / system word `s`, one of which is in a multiword
/// token: its first words and the words after it, on both sides.
fn multiword_region(gold: &[Word], system: &[Word], mut g: usize, mut s: usize) -> [usize; 4] {
    let mut end;
    if gold[g].multiword {
        end = gold[g].span.end;
        if !system[s].multiword && system[s].span.start < gold[g].span.start {
            s += 1;
        }
    } else {
        end = system[s].span.end;
        if !gold[g].multiword && gold[g].span.start < system[s].span.start {
            g += 1;
        }
    }
    let (g0, s0) = (g, s);
    while !beyond_end(gold, g, end) || !beyond_end(system, s, end) {
        if g < gold.len() && (s >= system.len() || gold[g].span.start <= system[s].span.start) {
            end = extend_end(&gold[g], end);
            g += 1;
        } else {
            end = extend_end(&system[s], end);
            s += 1;
        }
    }
    [g0, s0, g, s]
}

/// Pairs (gold index, system index) of aligned words.
fn align(gold: &[Word], system: &[Word]) -> Vec<(usize, usize)> {
    let mut pairs = Vec::new();
    let (mut g, mut s) = (0, 0);
    while g < gold.len() && s < system.len() {
        if gold[g].multiword || system[s].multiword {
            let [g0, s0, g1, s1] = multiword_region(gold, system, g, s);
            (g, s) = (g1, s1);
            let (ng, ns) = (g1 - g0, s1 - s0);
            if ng == 0 || ns == 0 {
                continue;
            }
            // lcs[i][j]: LCS length of gold[g0+i..g1] and system[s0+j..s1].
            let mut lcs = vec![vec![0usize; ns + 1]; ng + 1];
            for i in (0..ng).rev() {
                for j in (0..ns).rev() {
                    lcs[i][j] = if gold[g0 + i].form_lower == system[s0 + j].form_lower {
                        1 + lcs[i + 1][j + 1]
                    } else {
                        lcs[i + 1][j].max(lcs[i][j + 1])
                    };
                }
            }
            let (mut i, mut j) = (0, 0);
            while i < ng && j < ns {
                if gold[g0 + i].form_lower == system[s0 + j].form_lower {
                    pairs.push((g0 + i, s0 + j));
                    i += 1;
                    j += 1;
                } else if lcs[i][j] == lcs[i + 1][j] {
                    i += 1;
                } else {
                    j += 1;
                }
            }
        } else if gold[g].span == system[s].span {
            pairs.push((g, s));
            g += 1;
            s += 1;
        } else if gold[g].span.start <= system[s].span.start {
            g += 1;
        } else {
            s += 1;
        }
    }
    pairs
}

/// Scores `system` against `gold`; both must spell the same characters.
pub fn evaluate(gold: &Doc, system: &Doc) -> Result<Scores, TextMismatch> {
    if gold.chars != system.chars {
        let at = gold
            .chars
            .iter()
            .zip(&system.chars)
            .take_while(|(a, b)| a == b)
            .count();
        let tail = |c: &[char]| c.iter().skip(at).take(20).collect();
        let sentence = gold.sentences.iter().position(|s| at < s.end);
        return Err(TextMismatch {
            at,
            sentence: sentence.unwrap_or(gold.sentences.len().saturating_sub(1)) + 1,
            gold: tail(&gold.chars),
            system: tail(&system.chars),
        });
    }
    let pairs = align(&gold.words, &system.words);
    let (ng, ns) = (gold.words.len(), system.words.len());
    let upos = pairs
        .iter()
        .filter(|&&(g, s)| gold.words[g].upos == system.words[s].upos)
        .count();
    Ok(Scores {
        tokens: spans_score(&gold.tokens, &system.tokens),
        sentences: spans_score(&gold.sentences, &system.sentences),
        words: Score::new(ng, ns, pairs.len()),
        upos: Score::new(ng, ns, upos),
    })
}

/// The scores as a table of precision, recall and F1 in percent.
pub fn render(s: &Scores) -> String {
    let mut out = String::from("Metric     | Precision |    Recall |  F1 Score\n");
    out.push_str("-----------+-----------+-----------+-----------\n");
    for (name, m) in [
        ("Tokens", s.tokens),
        ("Sentences", s.sentences),
        ("Words", s.words),
        ("UPOS", s.upos),
    ] {
        out.push_str(&format!(
            "{name:<11}| {:>9.2} | {:>9.2} | {:>9.2}\n",
            100.0 * m.precision,
            100.0 * m.recall,
            100.0 * m.f1
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rawtext::{TokWord, Token};

    /// A sentence from tokens written `form/UPOS`, a multiword token as
    /// `surface=w1/T1+w2/T2`.
    fn sent(tokens: &str) -> TokSentence {
        let tokens = tokens
            .split(' ')
            .map(|t| {
                let word = |w: &str| {
                    let (form, upos) = w.split_once('/').unwrap();
                    TokWord {
                        form: form.into(),
                        upos: upos.into(),
                    }
                };
                match t.split_once('=') {
                    Some((surface, words)) => Token {
                        form: surface.into(),
                        space_after: true,
                        multiword: true,
                        words: words.split('+').map(word).collect(),
                    },
                    None => {
                        let w = word(t);
                        Token {
                            form: w.form.clone(),
                            space_after: true,
                            multiword: false,
                            words: vec![w],
                        }
                    }
                }
            })
            .collect();
        TokSentence {
            tokens,
            ..Default::default()
        }
    }

    fn score(gold: &[&str], system: &[&str]) -> Scores {
        let doc = |s: &[&str]| Doc::new(&s.iter().map(|t| sent(t)).collect::<Vec<_>>());
        evaluate(&doc(gold), &doc(system)).unwrap()
    }

    fn counts(m: Score) -> (usize, usize, usize) {
        (m.gold, m.system, m.correct)
    }

    #[test]
    fn identical_files_score_one() {
        let g = ["Hello/INTJ ,/PUNCT world/NOUN", "Bye/INTJ"];
        let s = score(&g, &g);
        for m in [s.tokens, s.sentences, s.words, s.upos] {
            assert_eq!(m.f1, 1.0);
        }
    }

    #[test]
    fn split_and_merged_tokens_by_hand() {
        // Gold "Hello , world" (3 tokens); system "Hello, world": "Hello," is one token
        // whose span matches no gold token. Tokens: correct 1 ("world") of gold 3, system 2.
        let s = score(
            &["Hello/INTJ ,/PUNCT world/NOUN"],
            &["Hello,/INTJ world/VERB"],
        );
        assert_eq!(counts(s.tokens), (3, 2, 1));
        assert!((s.tokens.f1 - 2.0 / 5.0).abs() < 1e-12);
        assert_eq!(counts(s.words), (3, 2, 1));
        assert_eq!(
            counts(s.upos),
            (3, 2, 0),
            "world is aligned but tagged wrongly"
        );
        assert_eq!(counts(s.sentences), (1, 1, 1));
    }

    #[test]
    fn sentences_are_spans() {
        // Gold: two sentences "A B" "C"; system one sentence "A B C".
        let s = score(&["A/X B/X", "C/X"], &["A/X B/X C/X"]);
        assert_eq!(counts(s.sentences), (2, 1, 0));
        assert_eq!(counts(s.tokens), (3, 3, 3));
        // System splits after A: "A" / "B C": no sentence matches (A..B and B..C differ).
        let s = score(&["A/X B/X", "C/X"], &["A/X", "B/X C/X"]);
        assert_eq!(counts(s.sentences), (2, 2, 0));
    }

    #[test]
    fn multiword_tokens_align_by_lcs() {
        // Gold: "du" = de + le; system the same multiword token, second word wrong.
        let s = score(
            &["Il/PRON mange/VERB du=de/ADP+le/DET pain/NOUN"],
            &["Il/PRON mange/VERB du=de/ADP+les/DET pain/NOUN"],
        );
        assert_eq!(counts(s.tokens), (4, 4, 4));
        assert_eq!(counts(s.words), (5, 5, 4));
        assert_eq!(counts(s.upos), (5, 5, 4));
        // System did not split "du": one plain word "du" in a region where gold has
        // "de le"; the LCS of (de, le) and (du) is empty.
        let s = score(
            &["Il/PRON mange/VERB du=de/ADP+le/DET pain/NOUN"],
            &["Il/PRON mange/VERB du/ADP pain/NOUN"],
        );
        assert_eq!(counts(s.tokens), (4, 4, 4));
        assert_eq!(counts(s.words), (5, 4, 3));
        // Case is ignored in the LCS: "Don't" = "Do n't" vs system "do" + "n't" expanded
        // from a multiword token with a different split "do" "n'" "t".
        let s = score(
            &["Don't=Do/AUX+n't/PART go/VERB"],
            &["Don't=do/AUX+n'/PART+t/X go/VERB"],
        );
        assert_eq!(counts(s.words), (3, 4, 2));
        assert_eq!(counts(s.upos), (3, 4, 2));
        // A system multiword token spanning two gold tokens: "ab" = a + b vs gold "a" "b"
        // cannot happen on the same characters unless gold tokens are "a" and "b" with no
        // space between them: gold tokens a, b; system token "ab" = a + b.
        let s = score(&["a/X b/Y c/Z"], &["ab=a/X+b/Y c/Z"]);
        assert_eq!(counts(s.tokens), (3, 2, 1));
        assert_eq!(counts(s.words), (3, 3, 3));
        assert_eq!(counts(s.upos), (3, 3, 3));
    }

    #[test]
    fn spaces_are_not_characters() {
        // Vietnamese-style word with a space: gold one token "Hà Nội", system two.
        let gold = vec![TokSentence {
            tokens: vec![Token {
                form: "Hà Nội".into(),
                space_after: true,
                multiword: false,
                words: vec![TokWord {
                    form: "Hà Nội".into(),
                    upos: "PROPN".into(),
                }],
            }],
            ..Default::default()
        }];
        let s = evaluate(&Doc::new(&gold), &Doc::new(&[sent("Hà/PROPN Nội/PROPN")])).unwrap();
        assert_eq!(counts(s.tokens), (1, 2, 0));
        // Inside a multiword region, a plain word is compared without its spaces (as
        // its characters are): "x y" is the gold multiword token's first word "xy".
        // By hand: both words align, both tags agree.
        let doc = |s: &str| Doc::new(&[sent(s)]);
        for (gold, system) in [
            ("xyz=xy/X+z/Y", "x\u{a0}y/X z/Y"),
            ("x\u{a0}y/X z/Y", "xyz=xy/X+z/Y"),
        ] {
            let s = evaluate(&doc(gold), &doc(system)).unwrap();
            assert_eq!(counts(s.words), (2, 2, 2), "{gold} {system}");
            assert_eq!(counts(s.upos), (2, 2, 2), "{gold} {system}");
        }
    }

    #[test]
    fn different_text_is_an_error() {
        let doc = |s: &str| Doc::new(&[sent(s)]);
        let e = evaluate(&doc("ab/X cd/X"), &doc("ab/X ce/X")).unwrap_err();
        assert_eq!(e.at, 3);
        assert_eq!((e.gold.as_str(), e.system.as_str()), ("d", "e"));
    }
}
