//! What a training run writes beside its model: the JSON report and the plots.

use std::path::Path;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::settings::Settings;
use crate::evaluate::Evaluation;
use crate::fsio::{sibling, write_atomic};
use crate::nn::segmenter::SegOpts;
use crate::svg;

/// One epoch's record in the report.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EpochRecord {
    pub epoch: usize,
    pub train_loss: f64,
    pub dev_accuracy: Option<f64>,
    pub seconds: f64,
    pub tokens_per_second: f64,
}

#[derive(Serialize)]
pub(super) struct Report<'a> {
    pub model: String,
    pub train: String,
    pub dev_data: Option<String>,
    pub settings: &'a Settings,
    /// Worker threads (the weights depend on their number).
    pub threads: usize,
    /// The segmenter learned into the model, if one was.
    pub segmenter: Option<SegmenterReport>,
    pub train_sentences: usize,
    pub train_tokens: usize,
    pub word_vocab: usize,
    pub char_vocab: usize,
    pub tags: &'a [String],
    pub parameters: usize,
    pub epochs: &'a [EpochRecord],
    pub best_epoch: usize,
    pub dev_evaluation: Option<&'a Evaluation>,
    /// Seconds of this run's epochs, the dev evaluations after each included.
    pub training_seconds: f64,
    /// Training tokens per second of this run's epochs, the dev evaluations left out
    /// (as each epoch's `tokens_per_second`).
    pub tokens_per_second: f64,
    pub model_bytes: usize,
    pub scratch_bytes_64_tokens: usize,
}

/// A learned segmenter's settings.
#[derive(Serialize)]
pub(super) struct SegmenterReport {
    #[serde(flatten)]
    pub opts: SegOpts,
    /// Its weight matrices are int8 (else f32).
    pub int8: bool,
}

/// The suffixes of the files `train` writes beside its model: the checkpoint, the
/// report and the plots.
pub(crate) const SIDE_FILES: [&str; 5] = [
    ".ckpt",
    ".report.json",
    ".loss.svg",
    ".accuracy.svg",
    ".confusion.svg",
];

pub(super) fn write_report(
    output: &Path,
    report: &Report<'_>,
    history: &[EpochRecord],
    dev: Option<&Evaluation>,
) -> Result<()> {
    let json = serde_json::to_string_pretty(report)?;
    write_atomic(&sibling(output, ".report.json"), json.as_bytes())?;
    let loss: Vec<(f64, f64)> = history
        .iter()
        .map(|r| (r.epoch as f64, r.train_loss))
        .collect();
    let chart = svg::line_chart(
        "training loss",
        "epoch",
        "mean token loss",
        &[("train", loss)],
    );
    write_atomic(&sibling(output, ".loss.svg"), chart.as_bytes())?;
    let acc: Vec<(f64, f64)> = history
        .iter()
        .filter_map(|r| r.dev_accuracy.map(|a| (r.epoch as f64, 100.0 * a)))
        .collect();
    let (acc_path, confusion_path) = (
        sibling(output, ".accuracy.svg"),
        sibling(output, ".confusion.svg"),
    );
    match dev {
        Some(ev) => {
            let chart = svg::line_chart("dev accuracy", "epoch", "accuracy (%)", &[("dev", acc)]);
            write_atomic(&acc_path, chart.as_bytes())?;
            let count = |g: &str, p: &str| {
                ev.confusion
                    .get(g)
                    .and_then(|r| r.get(p))
                    .copied()
                    .unwrap_or(0)
            };
            // Every tag that was gold or predicted, so dev-only tags show too.
            let labels: Vec<String> = ev.per_tag.keys().cloned().collect();
            let chart = svg::confusion_matrix("dev confusion (rows: gold)", &labels, &count);
            write_atomic(&confusion_path, chart.as_bytes())?;
        }
        None => {
            // Plots of an earlier run with --dev would describe another model.
            let _ = std::fs::remove_file(&acc_path);
            let _ = std::fs::remove_file(&confusion_path);
        }
    }
    Ok(())
}
