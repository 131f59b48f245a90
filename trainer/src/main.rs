//! `postag`: tag text, and train, evaluate, import, quantize, convert and inspect postag
//! models.

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use postag_trainer::cmd;

#[derive(Parser)]
#[command(
    name = "postag",
    version,
    about = "Train, evaluate and run postag part-of-speech taggers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Learn a model from a CoNLL-U treebank.
    #[command(allow_negative_numbers = true)]
    Train(Box<cmd::train::TrainArgs>),
    /// Accuracy of a model on gold CoNLL-U data.
    #[command(allow_negative_numbers = true)]
    Eval(cmd::eval::EvalArgs),
    /// Tag text, CoNLL-U or JSON lines.
    #[command(allow_negative_numbers = true)]
    Tag(cmd::tag::TagArgs),
    /// Convert a PyTorch state_dict (safetensors) and its vocabularies to a model.
    #[command(allow_negative_numbers = true)]
    ImportTorch(cmd::import_torch::ImportArgs),
    /// Convert a model's weights to int8.
    Quantize(cmd::quantize::QuantizeArgs),
    /// Rewrite an f32 model's word and char LSTMs in row panels (format 2) or rows (format 1).
    Convert(cmd::convert::ConvertArgs),
    /// Show what a model holds: dimensions, tags, sizes, scratch memory.
    #[command(allow_negative_numbers = true)]
    Inspect(cmd::inspect::InspectArgs),
    /// Measure tagging throughput on real sentences (and segmenting their raw text).
    #[command(allow_negative_numbers = true)]
    Bench(cmd::bench::BenchArgs),
    /// Learn a segmenter (raw text to tokens and sentences) into a model.
    #[command(allow_negative_numbers = true)]
    Segmenter(cmd::segmenter::SegmenterArgs),
}

/// A warning when `POSTAG_SIMD` names no level, or one this processor lacks: the core
/// then runs at the detected level, silently (a library does not print). An empty
/// value is as if unset (`POSTAG_SIMD= postag ...` runs at the detected level).
fn check_simd_choice() {
    use postag_core::arch::{best, Level};
    let Ok(name) = std::env::var("POSTAG_SIMD") else {
        return;
    };
    let level = name.trim();
    if level.is_empty() {
        return;
    }
    let why = match Level::from_name(level) {
        Some(level) if level.is_supported() => return,
        Some(_) => "this processor lacks that level".to_string(),
        None => {
            let names: Vec<&str> = Level::ALL.iter().map(|l| l.name()).collect();
            format!("not a level ({})", names.join(", "))
        }
    };
    eprintln!(
        "warning: POSTAG_SIMD={name:?}: {why}; the kernels run at {}",
        best().name()
    );
}

fn run(cli: Cli) -> anyhow::Result<()> {
    postag_trainer::fsio::remove_temporaries_on_signal()?;
    check_simd_choice();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(postag_trainer::fsio::Stdout::new(stdout.lock()));
    // The commands that write a model report on standard error (not locked: worker
    // threads warn there too), as `train` does: with `-o /dev/stdout` standard output
    // carries the model's bytes and nothing else.
    let mut report = std::io::stderr();
    match cli.command {
        Command::Train(a) => cmd::train::run(*a)?,
        Command::Eval(a) => cmd::eval::run(a, &mut out)?,
        Command::Tag(a) => cmd::tag::run(a, &mut out)?,
        Command::ImportTorch(a) => cmd::import_torch::run(a, &mut report)?,
        Command::Quantize(a) => cmd::quantize::run(a, &mut report)?,
        Command::Convert(a) => cmd::convert::run(a, &mut report)?,
        Command::Inspect(a) => cmd::inspect::run(a, &mut out)?,
        Command::Bench(a) => cmd::bench::run(a, &mut out)?,
        Command::Segmenter(a) => cmd::segmenter::run(a, &mut report)?,
    }
    out.flush()?;
    Ok(())
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Help, the version or a usage error, printed as the parser prints them; output
        // that cannot be written (`--help > /dev/full`) is an error too, not exit 0.
        Err(e) => {
            use std::io::Write;
            let closed = !e.use_stderr() && postag_trainer::fsio::stdout_closed();
            let written = match closed {
                true => Err(std::io::Error::other("it is closed")),
                false => e.print().and_then(|()| std::io::stdout().flush()),
            };
            return match written {
                Err(w) if w.kind() != std::io::ErrorKind::BrokenPipe => {
                    eprintln!("error: cannot write standard output: {w}");
                    ExitCode::FAILURE
                }
                _ => ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2)),
            };
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (`postag tag ... | head`) is not an error.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        // A wrong command line exits as the parser's own errors do.
        Err(e) if e.downcast_ref::<cmd::UsageError>().is_some() => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
