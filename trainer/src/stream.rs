//! Streamed tagging of line formats: every input line is answered by exactly one
//! output line, its own, as soon as it has arrived.
//!
//! Each line is read into a `Line` (its tokens and what its answer is built from),
//! every line of a chunk is tagged, blank ones included (as zero tokens), and the
//! answers are written in input order: output line N always answers input line N.

use std::io::{BufRead, Write};

use anyhow::{anyhow, bail, Context, Result};
use postag_core::Model;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::tagging::{tag_all, warn_long_sentences, Tagged};

/// A format read and written one line at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineFormat {
    /// One sentence per line, tokens separated by whitespace other than U+00A0
    /// NO-BREAK SPACE, which is a space inside a token (as in `tag --format raw
    /// --raw-output text`); answered with `token/TAG` separated by single spaces, a
    /// space inside a token written as U+00A0 again (a blank line stays blank).
    Text,
    /// One `{"tokens": [...]}` object per line, answered with the same object (every
    /// other member's value as written) plus `"tags"` (and, with `scores`, each token's
    /// log-probabilities of every tag in the model's tag order); a blank line stays
    /// blank. A key twice in one object, or nesting deeper than 128, is an error.
    Jsonl {
        /// Whether to add `"scores"`.
        scores: bool,
    },
}

/// One input line, read.
enum Line {
    /// Empty or whitespace only: answered with an empty line.
    Blank,
    /// A text line's tokens.
    Text(Vec<String>),
    /// A JSON line's object (its members, each value as written) and its tokens.
    Json(Members, Vec<String>),
}

/// The members of a JSON object in their order, each value the JSON text it was written
/// as: passed through unchanged (a number keeps every digit, a string its escapes).
struct Members(Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Object;
        impl<'de> Visitor<'de> for Object {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Members, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(Object)
    }
}

/// Deepest nesting of arrays and objects a JSON line may have (serde_json's limit when
/// it reads a whole value).
const MAX_JSON_DEPTH: usize = 128;

/// The first key that appears twice in one object of `json` (JSON text, already
/// checked to be valid), at any depth, in one pass without recursion; an error for
/// nesting deeper than [`MAX_JSON_DEPTH`].
fn duplicate_key(json: &str) -> std::result::Result<Option<String>, String> {
    use std::collections::HashSet;
    let b = json.as_bytes();
    // Per open array (None) or object (its keys so far).
    let mut open: Vec<Option<HashSet<String>>> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            c @ (b'{' | b'[') => {
                if open.len() == MAX_JSON_DEPTH {
                    return Err(format!(
                        "arrays and objects nested more than {MAX_JSON_DEPTH} deep"
                    ));
                }
                open.push((c == b'{').then(HashSet::new));
            }
            b'}' | b']' => {
                open.pop();
            }
            b'"' => {
                // The string's end: the next quote not escaped (its bytes are UTF-8,
                // whose multi-byte characters hold no ASCII bytes).
                let start = i;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                let raw = &json[start..(i + 1).min(b.len())];
                let rest = json[(i + 1).min(b.len())..].trim_start();
                if let (Some(Some(keys)), true) = (open.last_mut(), rest.starts_with(':')) {
                    let key: String = serde_json::from_str(raw).map_err(|e| e.to_string())?;
                    if !keys.insert(key.clone()) {
                        return Ok(Some(key));
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    Ok(None)
}

/// Appends `json` (valid JSON text) to `out` without the whitespace between its tokens.
fn push_compact(json: &str, out: &mut String) {
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            in_string = c == '"';
            out.push(c);
        }
    }
}

impl Line {
    fn tokens(&self) -> Vec<&str> {
        match self {
            Line::Blank => Vec::new(),
            Line::Text(t) | Line::Json(_, t) => t.iter().map(String::as_str).collect(),
        }
    }
}

/// The tokens of a text line: separated by whitespace (`char::is_whitespace`) other
/// than U+00A0 NO-BREAK SPACE, which is read as a space inside a token, the convention
/// of UDPipe's horizontal format that `tag --format raw --raw-output text` writes. A
/// no-break space at either end of a token is not part of it (such a space is never
/// written there), and one between tokens separates them as other whitespace does.
fn text_tokens(line: &str) -> Vec<String> {
    line.split(|c: char| c.is_whitespace() && c != '\u{a0}')
        .map(|t| t.trim_matches('\u{a0}'))
        .filter(|t| !t.is_empty())
        .map(|t| t.replace('\u{a0}', " "))
        .collect()
}

/// The first `\uXXXX` escape of a JSON line that is half of a UTF-16 surrogate pair
/// without its other half: its column (1-based, in bytes) and code unit.
fn lone_surrogate(line: &str) -> Option<(usize, u16)> {
    let b = line.as_bytes();
    let unit = |at: usize| -> Option<u16> {
        let hex = b.get(at..at + 6)?;
        if hex[0] != b'\\' || hex[1] != b'u' {
            return None;
        }
        u16::from_str_radix(std::str::from_utf8(&hex[2..]).ok()?, 16).ok()
    };
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            i += 1;
            continue;
        }
        match unit(i) {
            Some(hi @ 0xD800..=0xDBFF) => match unit(i + 6) {
                Some(0xDC00..=0xDFFF) => i += 12,
                _ => return Some((i + 1, hi)),
            },
            Some(lo @ 0xDC00..=0xDFFF) => return Some((i + 1, lo)),
            Some(_) => i += 6,
            // Any other escape is two bytes (`\\`, `\"`, `\n`, ...).
            None => i += 2,
        }
    }
    None
}

/// A JSON line's parse error, named by its line (`at`) and the column in it: serde_json
/// counts lines inside the text it reads, here always 1, which would read as the file's.
fn not_json(e: &serde_json::Error, at: &dyn Fn() -> String) -> anyhow::Error {
    let message = e.to_string();
    let position = format!(" at line {} column {}", e.line(), e.column());
    match message.strip_suffix(&position) {
        Some(what) => anyhow!("{}: not JSON: {what} at column {}", at(), e.column()),
        None => anyhow!("{}: not JSON: {message}", at()),
    }
}

impl LineFormat {
    /// Reads one line (without its line ending); `at` names it in errors.
    fn read(self, line: &str, at: &dyn Fn() -> String) -> Result<Line> {
        if line.trim().is_empty() {
            return Ok(Line::Blank);
        }
        match self {
            LineFormat::Text => Ok(Line::Text(text_tokens(line))),
            LineFormat::Jsonl { .. } => {
                // serde_json's words for a lone surrogate ("unexpected end of hex
                // escape") name neither the escape nor the fault, and it lets one pass
                // in a value it only skips (which is passed through as written).
                if let Some((column, code)) = lone_surrogate(line) {
                    bail!(
                        "{}: not JSON: \\u{code:04X} at column {column} is half of a UTF-16 \
                         surrogate pair without its other half (JSON text must be Unicode)",
                        at()
                    );
                }
                let value: &RawValue = serde_json::from_str(line).map_err(|e| not_json(&e, at))?;
                if !value.get().starts_with('{') {
                    bail!("{}: expected an object with \"tokens\"", at())
                }
                let duplicate =
                    duplicate_key(value.get()).map_err(|e| anyhow!("{}: not JSON: {e}", at()))?;
                if let Some(key) = duplicate {
                    bail!(
                        "{}: duplicate key {} (a key may appear once in an object)",
                        at(),
                        Value::from(key)
                    )
                }
                let obj: Members =
                    serde_json::from_str(value.get()).map_err(|e| not_json(&e, at))?;
                let list = match obj.0.iter().find(|(k, _)| k == "tokens") {
                    Some((_, v)) => serde_json::from_str(v.get()).ok(),
                    None => None,
                };
                let Some(Value::Array(list)) = list else {
                    bail!("{}: expected \"tokens\": an array of strings", at())
                };
                let tokens = list
                    .iter()
                    .map(|v| v.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| anyhow!("{}: every token must be a string", at()))?;
                // As a CoNLL-U FORM: no word is whitespace alone (an empty token is the
                // core's error).
                let blank = |t: &String| !t.is_empty() && t.chars().all(char::is_whitespace);
                if let Some(k) = tokens.iter().position(blank) {
                    let n = tokens.len();
                    bail!("{}: token {} of {n} is only whitespace", at(), k + 1);
                }
                Ok(Line::Json(obj, tokens))
            }
        }
    }

    /// Appends the answer to `line` (with its newline) to `out`.
    fn write(self, model: &Model<'_>, line: Line, tagged: &Tagged, out: &mut String) -> Result<()> {
        let tag_name = |&g: &u16| model.tag_name(g as usize);
        match line {
            Line::Blank => {}
            Line::Text(tokens) => {
                let words: Vec<String> = tokens
                    .iter()
                    .zip(tagged.tags.iter().map(tag_name))
                    .map(|(w, t)| format!("{}/{t}", w.replace(' ', "\u{a0}")))
                    .collect();
                out.push_str(&words.join(" "));
            }
            Line::Json(Members(members), _) => {
                // Every member as it was, in its place; "tags" (and with `scores`,
                // "scores") replace the values of keys of those names, or are added.
                let tags: Vec<&str> = tagged.tags.iter().map(tag_name).collect();
                let mut tags = Some(serde_json::to_string(&tags)?);
                let mut scores = match self {
                    LineFormat::Jsonl { scores: true } => {
                        let rows: Vec<Vec<f64>> = tagged
                            .scores
                            .chunks_exact(model.num_tags().max(1))
                            .map(|r| r.iter().map(|&x| f64::from(x)).collect())
                            .collect();
                        Some(serde_json::to_string(&rows)?)
                    }
                    _ => None,
                };
                let mut object = String::from("{");
                let mut put = |key: &str, value: &str, raw: bool| -> Result<()> {
                    if object.len() > 1 {
                        object.push(',');
                    }
                    object.push_str(&serde_json::to_string(key)?);
                    object.push(':');
                    match raw {
                        true => push_compact(value, &mut object),
                        false => object.push_str(value),
                    }
                    Ok(())
                };
                for (key, value) in &members {
                    let ours = match key.as_str() {
                        "tags" => tags.take(),
                        "scores" => scores.take(),
                        _ => None,
                    };
                    match ours {
                        Some(ours) => put(key, &ours, false)?,
                        None => put(key, value.get(), true)?,
                    }
                }
                if let Some(tags) = tags {
                    put("tags", &tags, false)?;
                }
                if let Some(scores) = scores {
                    put("scores", &scores, false)?;
                }
                object.push('}');
                out.push_str(&object);
            }
        }
        out.push('\n');
        Ok(())
    }

    /// Tags `lines` (the text of lines `first`, `first + 1`, ... of `name`) and
    /// returns their answers, one line each, in order. A line that does not read (not
    /// JSON, no `"tokens"`) or does not tag (an empty token) is an error naming it; the
    /// lines before it are still answered, in the returned string, next to the error.
    pub fn tag_lines(
        self,
        model: &Model<'_>,
        lines: &[String],
        first: usize,
        name: &str,
        workers: usize,
    ) -> (String, Result<()>) {
        let at = |i: usize| format!("{name}:{}", first + i);
        let mut read = Vec::with_capacity(lines.len());
        let mut failed = Ok(());
        for (i, l) in lines.iter().enumerate() {
            match self.read(l, &|| at(i)) {
                Ok(line) => read.push(line),
                Err(e) => {
                    failed = Err(e);
                    break;
                }
            }
        }
        let tokens: Vec<Vec<&str>> = read.iter().map(Line::tokens).collect();
        let scores = matches!(self, LineFormat::Jsonl { scores: true });
        warn_long_sentences(&tokens, &at);
        let tagged = match tag_all(model, &tokens, scores, workers, &at) {
            Ok(tagged) => tagged,
            Err(e) => {
                // A line that reads but does not tag (an empty token): the lines before
                // it, tagged one by one, are still answered; its error ends the stream.
                let mut good = Vec::new();
                failed = Err(e);
                for (i, t) in tokens.iter().enumerate() {
                    match tag_all(model, std::slice::from_ref(t), scores, 1, &|_| at(i)) {
                        Ok(mut one) => good.push(one.remove(0)),
                        Err(e) => {
                            failed = Err(e);
                            break;
                        }
                    }
                }
                good
            }
        };
        drop(tokens);
        let mut out = String::new();
        for (line, tagged) in read.into_iter().zip(&tagged) {
            if let Err(e) = self.write(model, line, tagged, &mut out) {
                return (out, Err(e));
            }
        }
        (out, failed)
    }
}

/// Line `number` of `name` as read (its bytes with the line ending), as text: the
/// byte-order mark at the start of the input and the line ending removed; a read error
/// or invalid UTF-8 is an error naming the line.
fn decode(line: std::io::Result<Vec<u8>>, number: usize, name: &str) -> Result<String> {
    let at = format!("{name}:{number}");
    let mut bytes = line.with_context(|| format!("cannot read {at}"))?;
    if number == 1 && bytes.starts_with(crate::fsio::BOM.as_bytes()) {
        bytes.drain(..crate::fsio::BOM.len());
    }
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
    }
    if bytes.last() == Some(&b'\r') {
        bytes.pop();
    }
    String::from_utf8(bytes).map_err(|_| anyhow!("{at}: invalid UTF-8"))
}

/// The longest line postag reads, line by line or whole (`fsio::read_utf8`): longer is
/// an error naming it (a file without line breaks, such as `/dev/zero`, is not read
/// until memory runs out).
pub const MAX_LINE_BYTES: usize = 256 << 20;

/// Reads lines one at a time with their endings: `\n`, `\r\n` or a lone `\r`
/// (`postag_core::segment::lines`). A CR ends its line as soon as it is read (an
/// interactive line is answered without waiting for the next byte); an LF right after
/// it is then skipped, as part of that ending.
struct LineReader<R> {
    input: R,
    /// The last line ended with a CR: an LF that comes next belongs to it.
    after_cr: bool,
}

impl<R: BufRead> LineReader<R> {
    fn new(input: R) -> Self {
        LineReader {
            input,
            after_cr: false,
        }
    }

    /// The next line into `line` (cleared first); `false` at the end of the input. A line
    /// of more than [`MAX_LINE_BYTES`], or one that memory cannot hold, is an error.
    fn next_line(&mut self, line: &mut Vec<u8>) -> std::io::Result<bool> {
        use std::io::{Error, ErrorKind};
        line.clear();
        loop {
            let buf = match self.input.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                return Ok(!line.is_empty());
            }
            if std::mem::take(&mut self.after_cr) && buf[0] == b'\n' {
                self.input.consume(1);
                continue;
            }
            let end = buf.iter().position(|&b| b == b'\n' || b == b'\r');
            let take = end.map_or(buf.len(), |i| i + 1);
            // (The line ending does not count.)
            if line.len() + take - usize::from(end.is_some()) > MAX_LINE_BYTES {
                return Err(Error::other(format!(
                    "a line of more than {} MiB",
                    MAX_LINE_BYTES >> 20
                )));
            }
            line.try_reserve(take)
                .map_err(|_| Error::new(ErrorKind::OutOfMemory, "out of memory"))?;
            line.extend_from_slice(&buf[..take]);
            self.input.consume(take);
            if end.is_some() {
                self.after_cr = line.last() == Some(&b'\r');
                return Ok(true);
            }
        }
    }
}

/// Lines tagged together: enough to keep every thread busy, few enough that output
/// follows input closely.
const CHUNK_LINES: usize = 2048;

/// Tags `input` (named `name` in errors) line by line into `sink`. Lines are read on a
/// thread of their own and tagged in chunks: a full chunk, or whatever has arrived when
/// the reader would wait, so that interactive input is answered line by line. A
/// byte-order mark at the start of the input is skipped; line endings are `\n`,
/// `\r\n` or a lone `\r`; a line that is not UTF-8 is an error naming it.
pub fn tag_stream(
    model: &Model<'_>,
    format: LineFormat,
    input: Box<dyn BufRead + Send>,
    name: &str,
    sink: &mut dyn Write,
    workers: usize,
) -> Result<()> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<std::io::Result<Vec<u8>>>(CHUNK_LINES);
    // Detached: on an error the process exits without waiting for input to end.
    std::thread::spawn(move || {
        let mut input = LineReader::new(input);
        let mut first = true;
        loop {
            let mut line = Vec::new();
            match input.next_line(&mut line) {
                Ok(false) => break,
                // An input of a byte-order mark alone is empty: no line to answer.
                Ok(_) if std::mem::take(&mut first) && line == crate::fsio::BOM.as_bytes() => break,
                Ok(_) => {
                    if tx.send(Ok(line)).is_err() {
                        break;
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                    break;
                }
            }
        }
    });
    let mut next_line = 1;
    while let Ok(first) = rx.recv() {
        let mut chunk = vec![first];
        while chunk.len() < CHUNK_LINES {
            match rx.try_recv() {
                Ok(line) => chunk.push(line),
                Err(_) => break,
            }
        }
        // The lines up to the first one that does not read; that one's error after
        // the answers to the lines before it.
        let mut lines = Vec::with_capacity(chunk.len());
        let mut failed = Ok(());
        for (k, line) in chunk.into_iter().enumerate() {
            let number = next_line + k;
            match decode(line, number, name) {
                Ok(line) => lines.push(line),
                Err(e) => {
                    failed = Err(e);
                    break;
                }
            }
        }
        let (answers, tagged) = format.tag_lines(model, &lines, next_line, name, workers);
        sink.write_all(answers.as_bytes())?;
        sink.flush()?;
        tagged?;
        failed?;
        next_line += lines.len();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{text_tokens, LineReader, MAX_LINE_BYTES};
    use crate::pipeline::{write_text, SysSentence};
    use postag_core::segment::RawToken;

    #[test]
    fn text_tokens_split_at_whitespace_but_a_no_break_space() {
        let line = "Hà\u{a0}Nội  đẹp\t.\u{2003}x\u{3000}\u{a0}y\u{a0}\u{202f}z ";
        assert_eq!(text_tokens(line), ["Hà Nội", "đẹp", ".", "x", "y", "z"]);
        assert_eq!(
            text_tokens("a \u{a0} b \u{a0}c d\u{a0}"),
            ["a", "b", "c", "d"]
        );
        assert!(text_tokens(" \t\u{85}").is_empty());
    }

    /// `tag --format raw --raw-output text` writes a space inside a word as U+00A0:
    /// the text reader reads each `word/TAG` back as the word, space included.
    #[test]
    fn raw_text_output_reads_back_as_the_same_words() {
        let words = [["Hà Nội", "đẹp", "."], ["chủ tịch", "nói", "a b c"]];
        let sentences: Vec<SysSentence> = words
            .iter()
            .map(|w| SysSentence {
                newpar: false,
                tokens: w
                    .iter()
                    .map(|&w| RawToken {
                        start: 0,
                        end: 0,
                        multiword: false,
                        cut: false,
                        words: vec![w.to_string()],
                    })
                    .collect(),
                tags: vec!["X".to_string(); w.len()],
            })
            .collect();
        let text = write_text(&sentences);
        let read: Vec<Vec<String>> = text
            .lines()
            .map(|l| {
                text_tokens(l)
                    .into_iter()
                    .map(|t| t.strip_suffix("/X").unwrap().to_string())
                    .collect()
            })
            .collect();
        assert_eq!(read, words);
    }

    /// Every line of `input` read in buffers of `capacity` bytes.
    fn lines(input: &[u8], capacity: usize) -> Vec<String> {
        let mut reader = LineReader::new(std::io::BufReader::with_capacity(capacity, input));
        let mut out = Vec::new();
        let mut line = Vec::new();
        while reader.next_line(&mut line).unwrap() {
            out.push(String::from_utf8(line.clone()).unwrap());
        }
        out
    }

    #[test]
    fn a_lone_cr_ends_a_line() {
        // Whatever the buffer boundaries (a CR at the end of one buffer, its LF at the
        // start of the next).
        for capacity in [1, 2, 3, 64] {
            let cut = |s: &str| lines(s.as_bytes(), capacity);
            assert_eq!(cut("a\rb\r\rc\r\nd"), ["a\r", "b\r", "\r", "c\r", "d"]);
            assert_eq!(cut("a b\n\nc\n"), ["a b\n", "\n", "c\n"]);
            assert_eq!(cut("a\r"), ["a\r"]);
            assert_eq!(cut("\r\n\r\n"), ["\r", "\r"]);
            assert!(cut("").is_empty());
        }
    }

    /// Old Mac files are read a line at a time, in linear time: 200,000 lines of a
    /// 2 MB file without an LF (each line copied once).
    #[test]
    fn many_lone_cr_lines_are_read_one_by_one() {
        let input = "The cat sat .\r".repeat(200_000);
        let got = lines(input.as_bytes(), 8192);
        assert_eq!(got.len(), 200_000);
        assert!(got.iter().all(|l| l == "The cat sat .\r"));
    }

    #[test]
    fn a_line_longer_than_the_limit_is_an_error() {
        let input = std::io::Read::take(std::io::repeat(b'x'), MAX_LINE_BYTES as u64 + 1);
        let mut reader = LineReader::new(std::io::BufReader::new(input));
        let err = reader.next_line(&mut Vec::new()).unwrap_err();
        assert_eq!(err.to_string(), "a line of more than 256 MiB");
        // The longest allowed line reads, with or without its line ending.
        for ending in [&b""[..], b"\n", b"\r"] {
            let input = std::io::Read::chain(
                std::io::Read::take(std::io::repeat(b'x'), MAX_LINE_BYTES as u64),
                ending,
            );
            let mut reader = LineReader::new(std::io::BufReader::new(input));
            let mut line = Vec::new();
            assert!(reader.next_line(&mut line).unwrap());
            assert_eq!(line.len(), MAX_LINE_BYTES + ending.len());
        }
    }
}
