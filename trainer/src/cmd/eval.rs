//! `postag eval`: accuracy of a model on gold CoNLL-U data.

use std::path::PathBuf;

use anyhow::{anyhow, Result};
use clap::Args;

use crate::cmd::ModelArg;
use crate::conllu::{self, TagColumn};
use crate::evaluate::{check, evaluate, render};
use crate::tagging::threads;

#[derive(Args, Debug)]
pub struct EvalArgs {
    #[command(flatten)]
    model: ModelArg,
    /// Gold data (CoNLL-U).
    #[arg(long, value_parser = crate::cmd::input_file)]
    data: PathBuf,
    /// Column to compare with: the one the model was trained on (the default; another
    /// is an error).
    #[arg(long, value_parser = conllu::column_parser())]
    column: Option<TagColumn>,
    /// Print one JSON object instead of a table (without --raw, an accuracy, precision
    /// or recall with nothing to divide by is `null` there, `n/a` in the table; the
    /// --raw scores give 0 there, as the CoNLL 2018 evaluation script does).
    #[arg(long)]
    json: bool,
    /// Worker threads (default: all cores).
    #[arg(long, value_parser = crate::tagging::parse_threads)]
    threads: Option<usize>,
    /// Rebuild the raw text from the gold data's `# text` (a sentence without one: its
    /// forms, joined by a space except where `SpaceAfter=No`, with a warning), segment
    /// and tag it, and report the CoNLL 2018 Tokens, Sentences, Words and UPOS F1.
    #[arg(long)]
    raw: bool,
    /// With `--raw`: rebuild the raw text one gold sentence per line and segment it so
    /// (`tag --presegmented`): Tokens, Words and UPOS with the gold sentence boundaries.
    #[arg(long, requires = "raw")]
    presegmented: bool,
}

/// The column to score: the model's, which `--column` may name but not change (the
/// model's tags compared with another column's would give a number that means
/// nothing).
fn column(args: &EvalArgs, name: &str, model: TagColumn) -> Result<TagColumn> {
    match args.column {
        Some(c) if c != model => Err(anyhow!(
            "{name} tags {model}, not {c}: its tags can only be scored against the {model} column"
        )),
        _ => Ok(model),
    }
}

pub fn run(args: EvalArgs, out: &mut dyn std::io::Write) -> Result<()> {
    let file = args.model.open()?;
    let model = file.load()?;
    let column = column(&args, file.name(), model.config().tag_column)?;
    if args.raw {
        // What the model lacks is said before anything of the data.
        crate::pipeline::segmenter(file.bytes(), file.name())?;
        let gold = crate::pipeline::read_raw_gold(&model, file.name(), &args.data)?;
        let r = crate::pipeline::eval_raw(
            file.bytes(),
            file.name(),
            &gold,
            &args.data.display().to_string(),
            threads(args.threads),
            args.presegmented,
        )?;
        if args.json {
            writeln!(out, "{}", serde_json::to_string(&r)?)?;
        } else {
            write!(out, "{}", crate::score::render(&r.scores))?;
        }
        return Ok(());
    }
    let gold = conllu::read(&args.data)?;
    conllu::require_tags(&gold, column, &args.data)?;
    if gold.iter().all(|s| s.words.is_empty()) {
        return Err(anyhow!("{} has no words to evaluate", args.data.display()));
    }
    check(&model, &gold, &args.data, column)?;
    let ev = evaluate(&model, &gold, &args.data, column, threads(args.threads))?;
    if args.json {
        writeln!(out, "{}", serde_json::to_string(&ev)?)?;
    } else {
        write!(out, "{}", render(&ev))?;
    }
    Ok(())
}
