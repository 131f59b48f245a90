//! Accuracy of a model on gold CoNLL-U data, by the same core the C library runs.

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use postag_core::vocab::word_chars;
use postag_core::{CharNet, Error, Model};
use serde::Serialize;

use crate::conllu::{Sentence, TagColumn, Word};
use crate::tagging::{tag_all, warn_long_sentences};

/// Counts for one tag.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct TagScore {
    /// Gold occurrences.
    pub support: usize,
    /// Predicted and gold.
    pub true_positives: usize,
    /// Predicted, not gold.
    pub false_positives: usize,
    /// `true_positives / (true_positives + false_positives)`; `None` (JSON `null`) for a
    /// tag never predicted.
    pub precision: Option<f64>,
    /// `true_positives / support`; `None` (JSON `null`) for a tag not in the gold data.
    pub recall: Option<f64>,
    /// Harmonic mean of precision and recall, `2 true_positives / (support + predicted)`:
    /// 0 where either is undefined (no true positives then).
    pub f1: f64,
}

/// Words and correct words of a subset.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Count {
    /// Words.
    pub words: usize,
    /// Correctly tagged words.
    pub correct: usize,
    /// `correct / words`; `None` (JSON `null`) for no words.
    pub accuracy: Option<f64>,
}

impl Count {
    fn add(&mut self, ok: bool) {
        self.words += 1;
        self.correct += ok as usize;
        self.accuracy = ratio(self.correct, self.words);
    }
}

/// An evaluation's results.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Evaluation {
    /// Words evaluated.
    pub words: usize,
    /// Correctly tagged words.
    pub correct: usize,
    /// `correct / words` (the commands refuse data without words).
    pub accuracy: f64,
    /// Words with their own vocabulary entry.
    pub known: Count,
    /// Words that fell to the unknown-word row.
    pub unknown: Count,
    /// Per gold or predicted tag.
    pub per_tag: BTreeMap<String, TagScore>,
    /// `confusion[gold][predicted]` counts.
    pub confusion: BTreeMap<String, BTreeMap<String, usize>>,
}

/// Checks that `model` reads every word of `sentences` (read from `source`, which
/// errors and warnings name with the word's or sentence's line), and warns about gold
/// `column` tags it does not have and sentences longer than it reads at once: what
/// [`evaluate`] leaves to its callers, done once for data evaluated again and again.
pub fn check(
    model: &Model<'_>,
    sentences: &[Sentence],
    source: &std::path::Path,
    column: TagColumn,
) -> Result<()> {
    check_vocabulary(model, sentences, &source.display().to_string())?;
    warn_unknown_tags(model, sentences, column, &source.display().to_string());
    let forms: Vec<Vec<&str>> = sentences.iter().map(Sentence::forms).collect();
    warn_long_sentences(&forms, &sentence_name(sentences, source));
    Ok(())
}

/// `source:line` of the first word of sentence `i`.
fn sentence_name<'a>(
    sentences: &'a [Sentence],
    source: &'a std::path::Path,
) -> impl Fn(usize) -> String + Sync + 'a {
    move |i: usize| {
        let line = sentences[i].words.first().map_or(0, |w| w.line_number);
        format!("{}:{line}", source.display())
    }
}

/// Tags `sentences` (read from `source`, which errors name with the sentence's line)
/// with `model` and compares with their `column` tags; see [`check`] first.
pub fn evaluate(
    model: &Model<'_>,
    sentences: &[Sentence],
    source: &std::path::Path,
    column: TagColumn,
    threads: usize,
) -> Result<Evaluation> {
    let forms: Vec<Vec<&str>> = sentences.iter().map(Sentence::forms).collect();
    let name = sentence_name(sentences, source);
    let tagged = tag_all(model, &forms, false, threads, &name)?;
    let mut ev = Evaluation::default();
    let mut all = Count::default();
    for (s, t) in sentences.iter().zip(&tagged) {
        for (w, &p) in s.words.iter().zip(&t.tags) {
            let gold = w.tag(column);
            let pred = model.tag_name(p as usize);
            let ok = gold == pred;
            all.add(ok);
            if model.known_word_row(&w.form).is_some() {
                ev.known.add(ok);
            } else {
                ev.unknown.add(ok);
            }
            ev.per_tag.entry(gold.to_string()).or_default().support += 1;
            let predicted = ev.per_tag.entry(pred.to_string()).or_default();
            if ok {
                predicted.true_positives += 1;
            } else {
                predicted.false_positives += 1;
            }
            *ev.confusion
                .entry(gold.to_string())
                .or_default()
                .entry(pred.to_string())
                .or_default() += 1;
        }
    }
    for score in ev.per_tag.values_mut() {
        let predicted = score.true_positives + score.false_positives;
        score.precision = ratio(score.true_positives, predicted);
        score.recall = ratio(score.true_positives, score.support);
        // Every tag listed is gold or predicted somewhere: the sum is not 0.
        score.f1 = ratio(2 * score.true_positives, score.support + predicted).unwrap_or(0.0);
    }
    (ev.words, ev.correct) = (all.words, all.correct);
    ev.accuracy = all.accuracy.unwrap_or(0.0);
    Ok(ev)
}

/// Warns on standard error when gold tags of `column` are not among the model's tags
/// (XPOS in the UPOS column, another tag set): they can only count as errors. Returns
/// how many words carry one.
pub fn warn_unknown_tags(
    model: &Model<'_>,
    sentences: &[Sentence],
    column: TagColumn,
    source: &str,
) -> usize {
    let unknown: Vec<&Word> = sentences
        .iter()
        .flat_map(|s| &s.words)
        .filter(|w| model.tag_index(w.tag(column)).is_none())
        .collect();
    if let Some(first) = unknown.first() {
        let words: usize = sentences.iter().map(|s| s.words.len()).sum();
        eprintln!(
            "warning: {source}: {} of {words} gold {column} tags are not among the model's {} \
             tags (the first: {:?} at line {}); each counts as an error",
            unknown.len(),
            model.num_tags(),
            first.tag(column),
            first.line_number
        );
    }
    unknown.len()
}

/// Refuses the first word of `sentences` (read from `source`) that `model` cannot read,
/// naming `source` and the word's own line: a word not in its vocabulary, or one with
/// a character not in its char vocabulary, where the model has no unknown entry for it.
/// (Tagging would fail on it too, naming only the sentence.)
pub fn check_vocabulary(model: &Model<'_>, sentences: &[Sentence], source: &str) -> Result<()> {
    let Some(readable) = Readable::new(model) else {
        return Ok(());
    };
    for w in sentences.iter().flat_map(|s| &s.words) {
        readable.check(&w.form, || format!("{source}:{}", w.line_number))?;
    }
    Ok(())
}

/// Which words a model without an unknown-word or unknown-char entry can read.
pub struct Readable<'a, 'm> {
    model: &'a Model<'m>,
    // The char net and how many characters of a word it reads, when it has no
    // unknown row.
    chars: Option<(&'a CharNet<'m>, usize)>,
}

impl<'a, 'm> Readable<'a, 'm> {
    /// `None` when `model` reads every word (it has the unknown entries it needs).
    pub fn new(model: &'a Model<'m>) -> Option<Self> {
        let config = model.config();
        let unknown_words = config.words.unknown.is_none();
        let chars = config
            .chars
            .filter(|c| c.unknown.is_none())
            .and_then(|c| Some((model.chars()?, c.max_word_chars as usize)));
        (unknown_words || chars.is_some()).then_some(Readable { model, chars })
    }

    /// An error naming `word` at `place()` (`file:line`) if the model cannot read it.
    pub fn check(&self, word: &str, place: impl FnOnce() -> String) -> Result<()> {
        let error = if self.model.word_row(word).is_none() {
            Some(Error::UnknownWord)
        } else {
            self.chars
                .filter(|(net, max)| word_chars(word, *max).any(|c| net.row(c).is_none()))
                .map(|_| Error::UnknownChar)
        };
        match error {
            Some(e) => bail!("{}: {}", place(), self.model.explain(&[word], e)),
            None => Ok(()),
        }
    }
}

/// `a / b`, or `None` for `b == 0`.
fn ratio(a: usize, b: usize) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// A human-readable table of the results.
pub fn render(ev: &Evaluation) -> String {
    // A category without words has no accuracy: "n/a", not 0.00%.
    let pct = |c: &Count| match c.accuracy {
        None => format!("{:>7} words  {:>7}", c.words, "n/a"),
        Some(a) => format!("{:>7} words  {:>6.2}%", c.words, 100.0 * a),
    };
    let fraction = |x: Option<f64>| x.map_or(format!("{:>9}", "n/a"), |x| format!("{x:>9.4}"));
    let mut out = format!(
        "accuracy  {:.2}%  ({} of {} words)\nknown     {}\nunknown   {}\n\n{:<10} {:>9} {:>9} {:>9} {:>9}\n",
        100.0 * ev.accuracy,
        ev.correct,
        ev.words,
        pct(&ev.known),
        pct(&ev.unknown),
        "tag",
        "precision",
        "recall",
        "f1",
        "support"
    );
    for (tag, s) in &ev.per_tag {
        out.push_str(&format!(
            "{:<10} {} {} {:>9.4} {:>9}\n",
            tag,
            fraction(s.precision),
            fraction(s.recall),
            s.f1,
            s.support
        ));
    }
    out
}
