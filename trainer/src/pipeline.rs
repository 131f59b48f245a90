//! Raw text to tagged CoNLL-U: paragraphs (split at blank lines), the blob's segmenter
//! (tokens, sentences, multiword tokens), then the tagger on the syntactic words.

use std::fmt::Write as _;

use anyhow::{anyhow, Result};
use postag_core::segment::{
    line_sentences, one_space, sentences, RawToken, Segmenter, SentenceIter, WINDOW,
};
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

/// Splits `text` into sentences of tokens (multiword tokens expanded) with the
/// segmenter of the model `name` (which errors name); with `presegmented`, each line
/// that is not blank is one sentence ([`postag_core::segment::line_sentences`]).
pub fn segment(
    seg: &Segmenter<'_>,
    name: &str,
    text: &str,
    presegmented: bool,
) -> Result<Vec<SysSentence>> {
    let raw = match presegmented {
        true => line_sentences(seg, text),
        false => sentences(seg, text),
    }
    .map_err(|e| segmenter_error(name, e))?;
    Ok(raw
        .into_iter()
        .map(|s| SysSentence {
            newpar: s.newpar,
            tokens: s.tokens,
            tags: Vec::new(),
        })
        .collect())
}

/// The segmenter of a blob, if it has one; an error in its section says so.
pub fn optional_segmenter<'a>(bytes: &'a [u8], name: &str) -> Result<Option<Segmenter<'a>>> {
    Segmenter::from_bytes(bytes).map_err(|e| segmenter_error(name, e))
}

/// An error of the segmenter of the model `name`, saying so.
fn segmenter_error(name: &str, e: Error) -> anyhow::Error {
    anyhow!("{name}: its segmenter: {e}")
}

/// The segmenter of a blob, or an error saying it has none.
pub fn segmenter<'a>(bytes: &'a [u8], name: &str) -> Result<Segmenter<'a>> {
    optional_segmenter(bytes, name)?.ok_or_else(|| {
        anyhow!(
            "{name}: {} (`postag segmenter` adds one, learned from CoNLL-U with `# text`)",
            Error::NoSegmenter
        )
    })
}

/// Tags the words of every sentence.
pub fn tag(model: &Model<'_>, sentences: &mut [SysSentence], threads: usize) -> Result<()> {
    tag_from(model, sentences, 0, None, threads)
}

/// [`tag`] for sentences that follow `before` others of the text: errors and warnings
/// number them in the whole text, or, given the input's name and text (`input`), name
/// the line their first token is on.
fn tag_from(
    model: &Model<'_>,
    sentences: &mut [SysSentence],
    before: usize,
    input: Option<(&str, &str)>,
    threads: usize,
) -> Result<()> {
    let words: Vec<Vec<&str>> = sentences
        .iter()
        .map(|s| {
            s.tokens
                .iter()
                .flat_map(|t| t.words.iter().map(String::as_str))
                .collect()
        })
        .collect();
    let name = |i: usize| match input {
        Some((file, text)) => {
            let start = sentences[i].tokens.first().map_or(0, |t| t.start);
            format!("{file}:{}", crate::fsio::line_at(text, start))
        }
        None => format!("sentence {}", before + i + 1),
    };
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

/// `spaces` escaped for a MISC value as UDPipe does (`\s` space, `\t` tab, `\r` CR,
/// `\n` LF, `\p` `|`, `\\` backslash), and any other whitespace (`char::is_whitespace`:
/// no-break spaces, form feeds, U+2028, ...) as `\u` and four hex digits (`\u00A0`),
/// which UDPipe writes as they are: a MISC value with whitespace in it is not valid
/// CoNLL-U, and some readers split lines at U+2028 or a form feed.
pub fn escape_spaces(spaces: &str) -> String {
    let mut out = String::with_capacity(2 * spaces.len());
    for c in spaces.chars() {
        match c {
            ' ' => out.push_str("\\s"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            '|' => out.push_str("\\p"),
            '\\' => out.push_str("\\\\"),
            // Every whitespace character is in the Basic Multilingual Plane.
            c if c.is_whitespace() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// The MISC fields of a token that record the text around it exactly, UDPipe's way:
/// `SpacesBefore` (the whitespace before the text's first token), then `SpaceAfter=No`
/// when no whitespace follows it, nothing when exactly one U+0020 follows, else
/// `SpacesAfter` (what follows the last token of a sentence is all the whitespace up to
/// the next sentence, blank lines included, or to the end of the text), and
/// `SpacesInToken` when the form (its whitespace runs read as one space) is not the
/// token's text. `_` when none applies.
fn spaces_misc(before: &str, token: &str, form: &str, after: &str) -> String {
    let mut fields = Vec::new();
    if !before.is_empty() {
        fields.push(format!("SpacesBefore={}", escape_spaces(before)));
    }
    match after {
        "" => fields.push("SpaceAfter=No".to_string()),
        " " => {}
        _ => fields.push(format!("SpacesAfter={}", escape_spaces(after))),
    }
    if form != token {
        fields.push(format!("SpacesInToken={}", escape_spaces(token)));
    }
    match fields.is_empty() {
        true => "_".to_string(),
        false => fields.join("|"),
    }
}

/// The sentences as the scorer and the CoNLL-U writer see them: token forms with their
/// whitespace runs read as one space, `# text` the sentence's text read so.
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
                        form: one_space(&text[t.start..t.end]),
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
                line: 0,
                text: Some(one_space(&text[a..b])),
                text_line: 0,
                newdoc: false,
                newpar: s.newpar,
                tokens,
            }
        })
        .collect()
}

/// CoNLL-U: `# newpar`, `# sent_id`, `# text` (whitespace runs as one space), ranges for
/// multiword tokens, UPOS (or XPOS, `xpos`) filled, no syntax (HEAD, DEPREL `_`); the
/// whitespace of `text` in the tokens' MISC (`SpaceAfter=No`, `SpacesAfter`,
/// `SpacesBefore`, `SpacesInToken`, see `spaces_misc`), from which the text is rebuilt
/// byte for byte.
pub fn write_conllu(text: &str, sentences: &[SysSentence], xpos: bool) -> String {
    let mut out = String::new();
    write_conllu_part(&mut out, text, sentences, xpos, 0, text.len());
    out
}

/// [`write_conllu`] for sentences of `text` that follow `before` others and whose last
/// token's whitespace ends at byte `end` (where the next part's first token starts, or
/// the text's end): the parts of a text written one after another are the text written
/// whole.
fn write_conllu_part(
    out: &mut String,
    text: &str,
    sentences: &[SysSentence],
    xpos: bool,
    before: usize,
    end: usize,
) {
    // The start of each token's successor in the text (`end` for the last).
    let starts: Vec<usize> = sentences
        .iter()
        .flat_map(|s| &s.tokens)
        .skip(1)
        .map(|t| t.start)
        .chain([end])
        .collect();
    let mut k = 0;
    for (n, (s, raw)) in to_tok_sentences(text, sentences)
        .iter()
        .zip(sentences)
        .enumerate()
    {
        if s.newpar {
            out.push_str("# newpar\n");
        }
        let _ = writeln!(out, "# sent_id = {}", before + n + 1);
        let _ = writeln!(out, "# text = {}", s.text.as_deref().unwrap_or(""));
        let mut id = 1;
        for (t, r) in s.tokens.iter().zip(&raw.tokens) {
            // The whitespace before the text's first token.
            let first = before == 0 && k == 0;
            let before = if first { &text[..r.start] } else { "" };
            let misc = spaces_misc(
                before,
                &text[r.start..r.end],
                &t.form,
                &text[r.end..starts[k]],
            );
            k += 1;
            if t.multiword {
                let _ = writeln!(
                    out,
                    "{id}-{}\t{}\t_\t_\t_\t_\t_\t_\t_\t{misc}",
                    id + t.words.len() - 1,
                    t.form
                );
            }
            for w in &t.words {
                let (upos, xp) = if xpos {
                    ("_", w.upos.as_str())
                } else {
                    (w.upos.as_str(), "_")
                };
                let m = if t.multiword { "_" } else { &misc };
                let _ = writeln!(
                    out,
                    "{id}\t{}\t_\t{upos}\t{xp}\t_\t_\t_\t_\t{m}",
                    one_space(&w.form)
                );
                id += 1;
            }
        }
        out.push('\n');
    }
}

/// What `tag --format raw` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawFormat {
    /// CoNLL-U ([`write_conllu`]); XPOS filled instead of UPOS if `xpos`.
    Conllu { xpos: bool },
    /// `word/TAG` lines ([`write_text`]).
    Text,
    /// JSON lines ([`write_jsonl`]); offsets start at `base`.
    Jsonl { base: usize },
}

/// Bytes of text segmented, tagged and written at a time by [`tag_raw`]: whole
/// sentences, at least one, up to about this many.
pub const RAW_PART_BYTES: usize = 1 << 18;

/// Segments, tags and writes `text` to `sink` part by part: runs of whole sentences of
/// about `part_bytes` (at least one sentence each), so that memory follows the part, not
/// the text or its longest paragraph (the segmenter works through a paragraph a few
/// windows at a time: [`SentenceIter`]). The output is that of the whole text at once
/// (tested): sentence numbers and offsets count in the whole text. With more than one
/// thread, the segmenter runs on a thread of its own, a part ahead of the tagger (which
/// takes `threads` workers): at most two parts wait between them. Errors name the
/// model `name`, or the input `input` and the line of a word the model cannot read
/// (a model without an unknown-word or unknown-char entry).
#[allow(clippy::too_many_arguments)]
pub fn tag_raw(
    model: &Model<'_>,
    seg: &Segmenter<'_>,
    name: &str,
    input: &str,
    text: &str,
    presegmented: bool,
    format: RawFormat,
    threads: usize,
    part_bytes: usize,
    sink: &mut dyn std::io::Write,
) -> Result<()> {
    let mut writer = PartWriter {
        model,
        readable: crate::evaluate::Readable::new(model),
        input,
        text,
        format,
        threads,
        sink,
        pending: None,
        done: 0,
    };
    let cut = if threads > 1 {
        std::thread::scope(|scope| -> Result<usize> {
            let (parts_out, parts_in) = std::sync::mpsc::sync_channel(1);
            let segmenter = scope.spawn(move || {
                // Stops when the tagger has gone (an error there).
                segment_parts(seg, name, text, presegmented, part_bytes, |part| {
                    parts_out.send(part).is_ok()
                })
            });
            for part in parts_in {
                writer.add(part)?;
            }
            segmenter
                .join()
                .map_err(|_| anyhow!("the segmenter's thread panicked"))?
        })?
    } else {
        let mut failed = None;
        let cut = segment_parts(seg, name, text, presegmented, part_bytes, |part| {
            let result = writer.add(part);
            let go_on = result.is_ok();
            failed = result.err();
            go_on
        })?;
        if let Some(e) = failed {
            return Err(e);
        }
        cut
    };
    writer.finish()?;
    if cut > 0 {
        eprintln!(
            "warning: {cut} tokens ended at the end of the segmenter's window of {WINDOW} \
             characters: text that runs on that long without whitespace is cut into tokens \
             of at most {WINDOW} characters"
        );
    }
    Ok(())
}

/// [`tag_raw`]'s segmenting: `text`'s sentences in parts of about `part_bytes` of text
/// (whole sentences, at least one), each given to `take` (the error that ends the
/// sentences, if any, last) until it returns false. Returns how many tokens the
/// segmenter's window cut.
fn segment_parts(
    seg: &Segmenter<'_>,
    name: &str,
    text: &str,
    presegmented: bool,
    part_bytes: usize,
    mut take: impl FnMut(Result<Vec<SysSentence>>) -> bool,
) -> Result<usize> {
    let span = |p: &[SysSentence]| match (p.first(), p.last()) {
        (Some(a), Some(b)) => b.tokens[b.tokens.len() - 1].end - a.tokens[0].start,
        _ => 0,
    };
    let mut cut = 0;
    let mut part: Vec<SysSentence> = Vec::new();
    for s in SentenceIter::new(seg, text, presegmented) {
        let s = match s {
            Ok(s) => s,
            Err(e) => {
                take(Err(segmenter_error(name, e)));
                return Ok(cut);
            }
        };
        cut += s.tokens.iter().filter(|t| t.cut).count();
        part.push(SysSentence {
            newpar: s.newpar,
            tokens: s.tokens,
            tags: Vec::new(),
        });
        if span(&part) >= part_bytes.max(1) && !take(Ok(std::mem::take(&mut part))) {
            return Ok(cut);
        }
    }
    if !part.is_empty() {
        take(Ok(part));
    }
    Ok(cut)
}

/// [`tag_raw`]'s tagging and writing: a part is tagged when it comes and written once
/// the next part's first token is known (its last token's whitespace runs up to there).
struct PartWriter<'a, 'm, 's> {
    model: &'a Model<'m>,
    // The words the model reads, if not all.
    readable: Option<crate::evaluate::Readable<'a, 'm>>,
    // The input's name and text.
    input: &'a str,
    text: &'a str,
    format: RawFormat,
    threads: usize,
    sink: &'s mut dyn std::io::Write,
    // The last part, tagged, and the number of sentences before it.
    pending: Option<(Vec<SysSentence>, usize)>,
    // Sentences tagged.
    done: usize,
}

impl PartWriter<'_, '_, '_> {
    /// Tags `part` and writes the one before it.
    fn add(&mut self, part: Result<Vec<SysSentence>>) -> Result<()> {
        let mut part = part?;
        if let Some(readable) = &self.readable {
            for t in part.iter().flat_map(|s| &s.tokens) {
                for w in &t.words {
                    let line = || crate::fsio::line_at(self.text, t.start);
                    readable.check(w, || format!("{}:{}", self.input, line()))?;
                }
            }
        }
        let input = Some((self.input, self.text));
        tag_from(self.model, &mut part, self.done, input, self.threads)?;
        if let Some((previous, before)) = self.pending.take() {
            self.write(&previous, before, part[0].tokens[0].start)?;
        }
        let n = part.len();
        self.pending = Some((part, self.done));
        self.done += n;
        Ok(())
    }

    /// Writes the last part, up to the text's end.
    fn finish(mut self) -> Result<()> {
        if let Some((part, before)) = self.pending.take() {
            self.write(&part, before, self.text.len())?;
        }
        Ok(())
    }

    fn write(&mut self, part: &[SysSentence], before: usize, end: usize) -> Result<()> {
        let text = self.text;
        let out = match self.format {
            RawFormat::Conllu { xpos } => {
                let mut out = String::new();
                write_conllu_part(&mut out, text, part, xpos, before, end);
                out
            }
            RawFormat::Text => write_text(part),
            RawFormat::Jsonl { base } => write_jsonl(text, base, part),
        };
        Ok(self.sink.write_all(out.as_bytes())?)
    }
}

/// One sentence per line: `word/TAG` separated by spaces; a space inside a word (a
/// token with spaces, e.g. Vietnamese `Hà Nội`) written as U+00A0, as UDPipe's
/// horizontal format does, so that spaces only separate words.
pub fn write_text(sentences: &[SysSentence]) -> String {
    let mut out = String::new();
    for s in sentences {
        let words = s.tokens.iter().flat_map(|t| &t.words);
        let line: Vec<String> = words
            .zip(&s.tags)
            .map(|(w, t)| format!("{}/{t}", w.replace(' ', "\u{a0}")))
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

/// The gold treebank at `gold` for [`eval_raw`], read and checked against `model`'s
/// tags (the model `name`): the model tags UPOS, every word has its UPOS (tags the model
/// lacks get a warning), there are words, and each sentence's `# text` spells its
/// tokens (one without `# text` gets a warning). A caller that trains first checks its
/// data so, before the training.
pub fn read_raw_gold(
    model: &Model<'_>,
    name: &str,
    gold: &std::path::Path,
) -> Result<Vec<TokSentence>> {
    let gold_name = gold.display().to_string();
    // The CoNLL 2018 metrics score UPOS: another column's tags against it would give
    // numbers that mean nothing.
    let upos = crate::conllu::TagColumn::Upos;
    let column = model.config().tag_column;
    if column != upos {
        return Err(anyhow!(
            "the raw-text scores are UPOS's (the CoNLL 2018 metrics); {name} tags {column}"
        ));
    }
    // Every gold word needs its UPOS, as `eval` requires: a missing one is not a
    // tagging error.
    let words = crate::conllu::read(gold)?;
    crate::conllu::require_tags(&words, upos, gold)?;
    crate::evaluate::warn_unknown_tags(model, &words, upos, &gold_name);
    let gold = crate::rawtext::read(gold)?;
    if gold.iter().all(|s| s.tokens.is_empty()) {
        return Err(anyhow!("{gold_name} has no words to evaluate"));
    }
    // The raw text is the sentences' `# text`: each must spell its sentence's tokens.
    for s in &gold {
        if let Some((at, text, forms)) = s.misspelled() {
            return Err(anyhow!(
                "{gold_name}:{}: the sentence's `# text` does not spell its tokens (whitespace \
                 aside, from character {at}: text {text:?}, tokens {forms:?})",
                s.text_line
            ));
        }
    }
    let untexted: Vec<usize> = gold
        .iter()
        .filter(|s| s.text.is_none())
        .map(|s| s.line)
        .collect();
    if let Some(first) = untexted.first() {
        eprintln!(
            "warning: {gold_name}: {} of {} sentences have no `# text` (the first at line \
             {first}): their text is their forms, joined by a space except where \
             `SpaceAfter=No`",
            untexted.len(),
            gold.len()
        );
    }
    Ok(gold)
}

/// Rebuilds the raw text of the gold treebank `gold` (read by [`read_raw_gold`], from
/// the file `gold_name`) ([`crate::rawtext::raw_text`], or with `presegmented` one
/// sentence per line, [`crate::rawtext::raw_lines`]), segments (see [`segment`]) and
/// tags it with `bytes`' model and scores the result.
pub fn eval_raw(
    bytes: &[u8],
    name: &str,
    gold: &[TokSentence],
    gold_name: &str,
    threads: usize,
    presegmented: bool,
) -> Result<RawEval> {
    let model = Model::from_bytes(bytes).map_err(|e| anyhow!("{name}: {e}"))?;
    let seg = segmenter(bytes, name)?;
    let text = match presegmented {
        true => crate::rawtext::raw_lines(gold),
        false => crate::rawtext::raw_text(gold),
    };
    let started = std::time::Instant::now();
    let mut sentences = segment(&seg, name, &text, presegmented)?;
    let segment_seconds = started.elapsed().as_secs_f64();
    tag(&model, &mut sentences, threads)?;
    let system = to_tok_sentences(&text, &sentences);
    let scores = crate::score::evaluate(
        &crate::score::Doc::new(gold),
        &crate::score::Doc::new(&system),
    )
    .map_err(|e| anyhow!("{gold_name}: {e} (does its `# text` spell its tokens?)"))?;
    Ok(RawEval {
        scores,
        text_bytes: text.len(),
        segment_seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_output_separates_words_by_spaces_only() {
        let token = |start, end, words: &[&str]| RawToken {
            start,
            end,
            multiword: words.len() > 1,
            cut: false,
            words: words.iter().map(|w| w.to_string()).collect(),
        };
        let sentence = SysSentence {
            newpar: true,
            tokens: vec![
                token(0, 9, &["Hà Nội"]),
                token(10, 16, &["đẹp"]),
                token(16, 17, &["."]),
            ],
            tags: ["PROPN", "ADJ", "PUNCT"].map(String::from).to_vec(),
        };
        let out = write_text(&[sentence]);
        assert_eq!(out, "Hà\u{a0}Nội/PROPN đẹp/ADJ ./PUNCT\n");
        let fields: Vec<&str> = out.trim_end().split(' ').collect();
        assert_eq!(fields.len(), 3, "{out:?}");
    }
}
