//! `postag tag`: tag text, CoNLL-U or JSON lines.

use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use postag_core::Model;

use indicatif::ProgressBar;

use crate::cmd::{progress_bar, ModelArg, UsageError};
use crate::conllu;
use crate::fsio::{self, AtomicFile};
use crate::pipeline::RawFormat;
use crate::stream::{tag_stream, LineFormat};
use crate::tagging::{tag_all, threads, warn_long_sentences};

/// Input and output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One sentence per line, tokens split at whitespace but U+00A0; writes `token/TAG`.
    /// Streamed: each line is answered as it arrives.
    Text,
    /// CoNLL-U, read whole; writes it back with the model's column filled and every
    /// other byte as it was.
    Conllu,
    /// One `{"tokens": [...]}` object per line; adds `"tags"` (and `"scores"`).
    /// Streamed; blank lines stay blank.
    Jsonl,
    /// Plain UTF-8 text, read whole (a blank line ends a paragraph; inside one, any
    /// whitespace separates tokens, except inside a token of a model whose tokens may
    /// hold spaces, as Vietnamese words do), split into sentences and tokens by the model's
    /// segmenter (with `--presegmented`, one sentence per line); writes what
    /// `--raw-output` says.
    Raw,
}

/// What `--format raw` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RawOutput {
    /// CoNLL-U with `# newpar`, `# sent_id`, `# text`, multiword ranges, and the input's
    /// whitespace in MISC (`SpaceAfter=No`, `SpacesAfter`, `SpacesBefore` as UDPipe writes
    /// them): the input can be rebuilt from it byte for byte.
    Conllu,
    /// One sentence per line, `word/TAG` separated by spaces (a space inside a word
    /// written as U+00A0, as UDPipe's horizontal format does).
    Text,
    /// One object per sentence: its words, tags, and each token's byte offsets.
    Jsonl,
}

#[derive(Args, Debug)]
pub struct TagArgs {
    #[command(flatten)]
    model: ModelArg,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// With jsonl: add each token's log-probabilities of every tag, in the model's tag order
    /// (for a CRF model, of its emissions alone: the tags, decoded by Viterbi over the
    /// transitions too, need not be each row's best).
    #[arg(long)]
    scores: bool,
    /// Read from this file instead of standard input.
    #[arg(long, short, value_parser = crate::cmd::input_file)]
    input: Option<PathBuf>,
    /// Write to this file (atomically) instead of standard output.
    #[arg(long, short, value_parser = crate::cmd::output_file)]
    output: Option<PathBuf>,
    /// Worker threads (default: all cores; at most one per 32 sentences or 1,024 words).
    #[arg(long, value_parser = crate::tagging::parse_threads)]
    threads: Option<usize>,
    /// With `--format raw`: the output format [default: conllu].
    #[arg(long, value_enum)]
    raw_output: Option<RawOutput>,
    /// With `--format raw`: the text has one sentence per line. Each line that is not
    /// blank is one sentence, only split into tokens (blank lines still end paragraphs).
    #[arg(long)]
    presegmented: bool,
}

/// The input's name, its reader and a progress bar over its bytes (drawn for a file,
/// when stderr is a terminal, unless `quiet`).
fn open_input(
    path: Option<&PathBuf>,
    quiet: bool,
) -> Result<(String, Box<dyn BufRead + Send>, ProgressBar)> {
    Ok(match path {
        Some(p) => {
            let f = File::open(p).with_context(|| format!("cannot read {}", p.display()))?;
            if f.metadata().is_ok_and(|m| m.is_dir()) {
                bail!("cannot read {}: it is a directory", p.display());
            }
            let len = f.metadata().map_or(0, |m| m.len());
            let bar = progress_bar(quiet, len, "tagging".to_string());
            let reader = BufReader::new(bar.wrap_read(f));
            (p.display().to_string(), Box::new(reader), bar)
        }
        None if fsio::stdin_closed() => bail!("cannot read standard input: it is closed"),
        None => (
            "<stdin>".to_string(),
            Box::new(BufReader::new(std::io::stdin())),
            ProgressBar::hidden(),
        ),
    })
}

pub fn run(args: TagArgs, out: &mut dyn Write) -> Result<()> {
    let needs = [
        (args.scores, "--scores", Format::Jsonl),
        (args.raw_output.is_some(), "--raw-output", Format::Raw),
        (args.presegmented, "--presegmented", Format::Raw),
    ];
    for (given, flag, format) in needs {
        if given && args.format != format {
            let format = format.to_possible_value().map(|v| v.get_name().to_owned());
            let message = format!("{flag} needs --format {}", format.unwrap_or_default());
            return Err(UsageError(message).into());
        }
    }
    // One stream cannot be both: the model would take all of it.
    if args.model.model.as_deref().is_some_and(fsio::names_stdin)
        && args.input.as_deref().is_none_or(fsio::names_stdin)
    {
        let message = "the model and the input cannot both be read from standard input: give \
                       the input with --input";
        return Err(UsageError(message.into()).into());
    }
    // The tags would replace the model (by any name).
    if let (Some(output), Some(model)) = (args.output.as_deref(), args.model.model.as_deref()) {
        crate::cmd::check_not_data(output, &[("--model", model)])?;
    }
    let model_file = args.model.open()?;
    let model = model_file.load()?;
    // Raw text needs the blob's segmenter: known before any input is read.
    let seg = match args.format {
        Format::Raw => Some(crate::pipeline::segmenter(
            model_file.bytes(),
            model_file.name(),
        )?),
        _ => None,
    };
    let workers = threads(args.threads);
    // Checked before the input is opened (opening a named pipe waits for a writer).
    // Streamed output written in place to the non-empty file being read (`tag -i F >>
    // F`) would be read again, without end: refused, as `cat` refuses it. CoNLL-U and
    // raw text are read whole first; an `--output` file is written under another name
    // and renamed, after the input is read.
    let input_path = args.input.as_deref().unwrap_or(Path::new("/dev/stdin"));
    let name = args
        .input
        .as_deref()
        .map_or("<stdin>".into(), |p| p.display().to_string());
    let output_path = match args.output.as_deref() {
        None => Some(Path::new("/dev/stdout")),
        Some(p) => fsio::written_in_place(p).then_some(p),
    };
    let streamed = matches!(args.format, Format::Text | Format::Jsonl);
    // A regular file (a terminal may be both input and output).
    let non_empty_file = std::fs::metadata(input_path).is_ok_and(|m| m.is_file() && m.len() > 0);
    let same = output_path.is_some_and(|o| fsio::same_file(input_path, o));
    if same && streamed && non_empty_file {
        bail!(
            "cannot read {name}: it is also the output, which would be read again as it is written"
        );
    }
    // A named pipe as both: the answers would come back as input, or (read whole first)
    // wait for a reader that is this process.
    if same && fsio::is_fifo(input_path) {
        bail!("cannot read {name}: the same named pipe is also the output");
    }
    // No bar among tags written to the same terminal.
    let tags_on_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let (name, mut input, bar) = open_input(args.input.as_ref(), tags_on_terminal)?;
    // A file is written whole or not at all; standard output gets each chunk as it is done.
    let mut output = args.output.as_deref().map(AtomicFile::create).transpose()?;
    let sink: &mut dyn Write = match &mut output {
        Some(f) => f,
        None => out,
    };
    match args.format {
        Format::Conllu => {
            let text = fsio::read_utf8(&mut input, &name, 0)?;
            sink.write_all(tag_conllu(&model, &text, &name, workers, &bar)?.as_bytes())?;
        }
        Format::Raw => {
            let seg = seg.expect("found above for --format raw");
            let input_text = fsio::read_utf8(&mut input, &name, 0)?;
            let text = input_text.strip_prefix(fsio::BOM).unwrap_or(&input_text);
            // Offsets count bytes of the input as given, a byte-order mark included.
            let base = input_text.len() - text.len();
            let xpos = model.config().tag_column == conllu::TagColumn::Xpos;
            let format = match args.raw_output.unwrap_or(RawOutput::Conllu) {
                RawOutput::Conllu => RawFormat::Conllu { xpos },
                RawOutput::Text => RawFormat::Text,
                RawOutput::Jsonl => RawFormat::Jsonl { base },
            };
            let (presegmented, part) = (args.presegmented, crate::pipeline::RAW_PART_BYTES);
            crate::pipeline::tag_raw(
                &model,
                &seg,
                model_file.name(),
                &name,
                text,
                presegmented,
                format,
                workers,
                part,
                sink,
            )?;
        }
        Format::Text => tag_stream(&model, LineFormat::Text, input, &name, sink, workers)?,
        Format::Jsonl => {
            let format = LineFormat::Jsonl {
                scores: args.scores,
            };
            tag_stream(&model, format, input, &name, sink, workers)?
        }
    }
    bar.finish_and_clear();
    if let Some(f) = output {
        f.commit()?;
    }
    Ok(())
}

/// Sentences tagged between two updates of the progress bar.
const PROGRESS_SENTENCES: usize = 512;

fn tag_conllu(
    model: &Model<'_>,
    text: &str,
    name: &str,
    workers: usize,
    bar: &ProgressBar,
) -> Result<String> {
    let sentences = conllu::parse(text, std::path::Path::new(name))?;
    crate::evaluate::check_vocabulary(model, &sentences, name)?;
    let forms: Vec<Vec<&str>> = sentences.iter().map(conllu::Sentence::forms).collect();
    let at = |i: usize| {
        format!(
            "{name}:{}",
            sentences[i].words.first().map_or(0, |w| w.line_number)
        )
    };
    warn_long_sentences(&forms, &at);
    bar.reset();
    bar.set_length(forms.len() as u64);
    let mut tagged = Vec::with_capacity(forms.len());
    for (k, part) in forms.chunks(PROGRESS_SENTENCES).enumerate() {
        let first = k * PROGRESS_SENTENCES;
        tagged.extend(tag_all(model, part, false, workers, &|i| at(first + i))?);
        bar.inc(part.len() as u64);
    }
    let names: Vec<Vec<&str>> = tagged
        .iter()
        .map(|t| t.tags.iter().map(|&g| model.tag_name(g as usize)).collect())
        .collect();
    let column = model.config().tag_column;
    Ok(conllu::retag(text, &sentences, column, &names))
}
