//! Accuracy of a model on gold CoNLL-U data, by the same core the C library runs.

use std::collections::BTreeMap;

use anyhow::Result;
use postag_core::Model;
use serde::Serialize;

use crate::conllu::{Sentence, TagColumn};
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
    /// Precision (0 when never predicted).
    pub precision: f64,
    /// Recall.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
}

/// Words and correct words of a subset.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Count {
    /// Words.
    pub words: usize,
    /// Correctly tagged words.
    pub correct: usize,
    /// `correct / words` (0 for no words).
    pub accuracy: f64,
}

impl Count {
    fn add(&mut self, ok: bool) {
        self.words += 1;
        self.correct += ok as usize;
        self.accuracy = self.correct as f64 / self.words as f64;
    }
}

/// An evaluation's results.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Evaluation {
    /// Words evaluated.
    pub words: usize,
    /// Correctly tagged words.
    pub correct: usize,
    /// `correct / words`.
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

/// Tags `sentences` (read from `source`, which errors and warnings name with the
/// sentence's line) with `model` and compares with their `column` tags.
pub fn evaluate(
    model: &Model<'_>,
    sentences: &[Sentence],
    source: &std::path::Path,
    column: TagColumn,
    threads: usize,
) -> Result<Evaluation> {
    let forms: Vec<Vec<&str>> = sentences.iter().map(Sentence::forms).collect();
    let name = |i: usize| {
        let line = sentences[i].words.first().map_or(0, |w| w.line_number);
        format!("{}:{line}", source.display())
    };
    warn_long_sentences(&forms, &name);
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
        score.f1 = if score.precision + score.recall > 0.0 {
            2.0 * score.precision * score.recall / (score.precision + score.recall)
        } else {
            0.0
        };
    }
    (ev.words, ev.correct, ev.accuracy) = (all.words, all.correct, all.accuracy);
    Ok(ev)
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// A human-readable table of the results.
pub fn render(ev: &Evaluation) -> String {
    // A category without words has no accuracy: "n/a", not 0.00%.
    let pct = |c: &Count| match c.words {
        0 => format!("{:>7} words  {:>7}", 0, "n/a"),
        n => format!("{n:>7} words  {:>6.2}%", 100.0 * c.accuracy),
    };
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
            "{:<10} {:>9.4} {:>9.4} {:>9.4} {:>9}\n",
            tag, s.precision, s.recall, s.f1, s.support
        ));
    }
    out
}
