//! Raw text to tagged CoNLL-U: paragraphs (split at blank lines), the blob's segmenter
//! (tokens, sentences, multiword tokens), then the tagger on the syntactic words.

use std::fmt::Write as _;

use anyhow::{anyhow, Result};
use postag_core::segment::{sentences, RawToken, Segmenter};
use postag_core::{Error, Model};

use crate::rawtext::{TokSentence, TokWord, Token};
use crate::tagging::tag_all;

/// A sentence of the system's output: the segmenter's, then its tags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SysSentence {
    /// First sentence of a paragraph.
    pub newpar: bool,
    /// The tokens.
    pub tokens: Vec<RawToken>,
    /// One tag per word, once tagged.
    pub tags: Vec<String>,
}

/// Splits `text` into sentences of tokens (multiword tokens expanded).
pub fn segment(seg: &Segmenter<'_>, text: &str) -> Result<Vec<SysSentence>> {
    Ok(sentences(seg, text)?
        .into_iter()
        .map(|s| SysSentence {
            newpar: s.newpar,
            tokens: s.tokens,
            tags: Vec::new(),
        })
        .collect())
}

/// The segmenter of a blob, or an error saying it has none.
pub fn segmenter<'a>(bytes: &'a [u8], name: &str) -> Result<Segmenter<'a>> {
    Segmenter::from_bytes(bytes)
        .map_err(|e| anyhow!("{name}: {e}"))?
        .ok_or_else(|| anyhow!("{name}: {}", Error::NoSegmenter))
}

/// Tags the words of every sentence.
pub fn tag(model: &Model<'_>, sentences: &mut [SysSentence], threads: usize) -> Result<()> {
    let words: Vec<Vec<&str>> = sentences
        .iter()
        .map(|s| {
            s.tokens
                .iter()
                .flat_map(|t| t.words.iter().map(String::as_str))
                .collect()
        })
        .collect();
    let name = |i: usize| format!("sentence {}", i + 1);
    crate::tagging::warn_long_sentences(&words, &name);
    let tagged = tag_all(model, &words, false, threads, &name)?;
    let tags: Vec<Vec<String>> = tagged
        .into_iter()
        .map(|t| {
            t.tags
                .into_iter()
                .map(|x| model.tag_name(x as usize).to_string())
                .collect()
        })
        .collect();
    for (s, t) in sentences.iter_mut().zip(tags) {
        s.tags = t;
    }
    Ok(())
}

/// The sentences as the scorer and the CoNLL-U writer see them.
pub fn to_tok_sentences(text: &str, sentences: &[SysSentence]) -> Vec<TokSentence> {
    sentences
        .iter()
        .map(|s| {
            let mut tags = s.tags.iter();
            let tokens = s
                .tokens
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    let next = s.tokens.get(i + 1).map_or(t.end, |n| n.start);
                    Token {
                        form: text[t.start..t.end].to_string(),
                        space_after: next > t.end || i + 1 == s.tokens.len(),
                        multiword: t.multiword,
                        words: t
                            .words
                            .iter()
                            .map(|w| TokWord {
                                form: w.clone(),
                                upos: tags.next().cloned().unwrap_or_else(|| "_".into()),
                            })
                            .collect(),
                    }
                })
                .collect();
            let (a, b) = (s.tokens[0].start, s.tokens[s.tokens.len() - 1].end);
            TokSentence {
                text: Some(text[a..b].replace(['\n', '\r', '\t'], " ")),
                newdoc: false,
                newpar: s.newpar,
                tokens,
            }
        })
        .collect()
}

/// CoNLL-U: `# newpar`, `# sent_id`, `# text`, ranges for multiword tokens,
/// `SpaceAfter=No`, UPOS (or XPOS, `xpos`) filled; no syntax (HEAD, DEPREL `_`).
pub fn write_conllu(text: &str, sentences: &[SysSentence], xpos: bool) -> String {
    let mut out = String::new();
    for (n, s) in to_tok_sentences(text, sentences).iter().enumerate() {
        if s.newpar {
            out.push_str("# newpar\n");
        }
        let _ = writeln!(out, "# sent_id = {}", n + 1);
        let _ = writeln!(out, "# text = {}", s.text.as_deref().unwrap_or(""));
        let mut id = 1;
        for (i, t) in s.tokens.iter().enumerate() {
            let last = i + 1 == s.tokens.len();
            let misc = if t.space_after || last {
                "_"
            } else {
                "SpaceAfter=No"
            };
            let clean = |f: &str| f.replace(['\t', '\n', '\r'], " ");
            if t.multiword {
                let _ = writeln!(
                    out,
                    "{id}-{}\t{}\t_\t_\t_\t_\t_\t_\t_\t{misc}",
                    id + t.words.len() - 1,
                    clean(&t.form)
                );
            }
            for w in &t.words {
                let (upos, xp) = if xpos {
                    ("_", w.upos.as_str())
                } else {
                    (w.upos.as_str(), "_")
                };
                let m = if t.multiword { "_" } else { misc };
                let _ = writeln!(
                    out,
                    "{id}\t{}\t_\t{upos}\t{xp}\t_\t_\t_\t_\t{m}",
                    clean(&w.form)
                );
                id += 1;
            }
        }
        out.push('\n');
    }
    out
}

/// One sentence per line: `word/TAG` separated by spaces.
pub fn write_text(sentences: &[SysSentence]) -> String {
    let mut out = String::new();
    for s in sentences {
        let words = s.tokens.iter().flat_map(|t| &t.words);
        let line: Vec<String> = words
            .zip(&s.tags)
            .map(|(w, t)| format!("{w}/{t}"))
            .collect();
        out.push_str(&line.join(" "));
        out.push('\n');
    }
    out
}

/// One JSON object per sentence: `tokens` (text, byte offsets `start`/`end` plus `base`, the
/// bytes before `text` in the input, `words`),
/// `words` and `tags` in word order, `newpar`.
pub fn write_jsonl(text: &str, base: usize, sentences: &[SysSentence]) -> String {
    let mut out = String::new();
    for s in sentences {
        let tokens: Vec<serde_json::Value> = s
            .tokens
            .iter()
            .map(|t| {
                serde_json::json!({"text": &text[t.start..t.end], "start": base + t.start,
                                   "end": base + t.end, "words": t.words})
            })
            .collect();
        let words: Vec<&String> = s.tokens.iter().flat_map(|t| &t.words).collect();
        let v = serde_json::json!({"newpar": s.newpar, "tokens": tokens, "words": words, "tags": s.tags});
        out.push_str(&v.to_string());
        out.push('\n');
    }
    out
}

/// What [`eval_raw`] measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RawEval {
    /// The CoNLL 2018 metrics.
    pub scores: crate::score::Scores,
    /// Bytes of raw text.
    pub text_bytes: usize,
    /// Seconds the segmenter took (one thread).
    pub segment_seconds: f64,
}

/// Rebuilds the raw text of the gold treebank at `gold` ([`crate::rawtext::raw_text`]),
/// segments and tags it with `bytes`' model and scores the result.
pub fn eval_raw(
    bytes: &[u8],
    name: &str,
    gold: &std::path::Path,
    threads: usize,
) -> Result<RawEval> {
    let model = Model::from_bytes(bytes).map_err(|e| anyhow!("{name}: {e}"))?;
    let seg = segmenter(bytes, name)?;
    let gold_name = gold.display().to_string();
    let gold = crate::rawtext::read(gold)?;
    if gold.iter().all(|s| s.tokens.is_empty()) {
        return Err(anyhow!("{gold_name} has no words to evaluate"));
    }
    let text = crate::rawtext::raw_text(&gold);
    let started = std::time::Instant::now();
    let mut sentences = segment(&seg, &text)?;
    let segment_seconds = started.elapsed().as_secs_f64();
    tag(&model, &mut sentences, threads)?;
    let system = to_tok_sentences(&text, &sentences);
    let scores = crate::score::evaluate(
        &crate::score::Doc::new(&gold),
        &crate::score::Doc::new(&system),
    )
    .map_err(|e| anyhow!("{gold_name}: {e} (does its `# text` spell its tokens?)"))?;
    Ok(RawEval {
        scores,
        text_bytes: text.len(),
        segment_seconds,
    })
}
