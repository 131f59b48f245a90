//! CoNLL-U reading: sentences of (form, UPOS, XPOS), with the original lines kept so a
//! file can be written back with one column changed and everything else untouched.

use std::fmt;
use std::path::{Path, PathBuf};

pub use postag_core::TagColumn;

/// The `--column` argument's parser: `upos` or `xpos`.
pub fn column_parser() -> impl clap::builder::TypedValueParser<Value = TagColumn> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(["upos", "xpos"]).map(|s| match s.as_str() {
        "xpos" => TagColumn::Xpos,
        _ => TagColumn::Upos,
    })
}

/// Index of `column` among a word line's ten tab-separated fields.
fn field(column: TagColumn) -> usize {
    match column {
        TagColumn::Upos => 3,
        TagColumn::Xpos => 4,
    }
}

/// A malformed line, named by file and line number.
#[derive(Debug)]
pub struct ParseError {
    /// The file.
    pub path: PathBuf,
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.path.display(), self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// One syntactic word (a line with an integer ID).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// Column 2.
    pub form: String,
    /// Column 4 (`_` when absent).
    pub upos: String,
    /// Column 5 (`_` when absent).
    pub xpos: String,
    /// 1-based line number in the file.
    pub line_number: usize,
}

impl Word {
    /// The tag in `column`.
    pub fn tag(&self, column: TagColumn) -> &str {
        match column {
            TagColumn::Upos => &self.upos,
            TagColumn::Xpos => &self.xpos,
        }
    }
}

/// A sentence: its syntactic words (comments, multiword tokens and empty nodes are
/// skipped; [`retag`] writes them back from the original text).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sentence {
    /// The syntactic words in order.
    pub words: Vec<Word>,
}

impl Sentence {
    /// The word forms.
    pub fn forms(&self) -> Vec<&str> {
        self.words.iter().map(|w| w.form.as_str()).collect()
    }
}

/// `text` with `column` of every word line replaced by its tag, every other byte
/// (comments, ranges, empty nodes, blank lines, CRLF endings, a byte-order mark, a
/// missing final newline) as it was. `sentences` are `parse(text)`, `tags[i][j]` the
/// tag of word j of sentence i.
pub fn retag(text: &str, sentences: &[Sentence], column: TagColumn, tags: &[Vec<&str>]) -> String {
    let mut by_line: std::collections::HashMap<usize, &str> = std::collections::HashMap::new();
    for (s, t) in sentences.iter().zip(tags) {
        for (w, tag) in s.words.iter().zip(t) {
            by_line.insert(w.line_number, tag);
        }
    }
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for (i, line) in postag_core::segment::lines(text).enumerate() {
        match by_line.get(&(i + 1)) {
            Some(tag) => {
                let mut fields: Vec<&str> = line.split('\t').collect();
                fields[field(column)] = tag;
                out.push_str(&fields.join("\t"));
            }
            None => out.push_str(line),
        }
    }
    out
}

/// The lines of `text` numbered from 1, without their line endings (LF, CR LF, or a
/// lone CR, as [`postag_core::segment::lines`] reads them: a file from an old Mac
/// reads as any other).
pub fn numbered_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    postag_core::segment::lines(text)
        .zip(1..)
        .map(|(line, number)| {
            let line = line.strip_suffix('\n').unwrap_or(line);
            (number, line.strip_suffix('\r').unwrap_or(line))
        })
}

/// What kind of line an ID field announces.
enum Id {
    Word(usize),
    /// A multiword token's range of words.
    Range(usize, usize),
    /// An empty node `i.j`: after word `i` (0: before the first), the `j`-th there.
    Empty(usize, usize),
}

/// A CoNLL-U ID: decimal numbers without a sign or leading zeros (`1`, `1-2`, `1.1`).
fn parse_id(id: &str) -> Option<Id> {
    let number = |s: &str| -> Option<usize> {
        let digits = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        (digits && (s == "0" || !s.starts_with('0')))
            .then(|| s.parse().ok())
            .flatten()
    };
    if let Some((a, b)) = id.split_once('-') {
        let (a, b) = (number(a)?, number(b)?);
        return (a >= 1 && b > a).then_some(Id::Range(a, b));
    }
    if let Some((a, b)) = id.split_once('.') {
        let (a, b) = (number(a)?, number(b)?);
        return (b >= 1).then_some(Id::Empty(a, b));
    }
    let n = number(id)?;
    (n >= 1).then_some(Id::Word(n))
}

/// Parses CoNLL-U text. `path` only names the source in errors.
/// The text of a `# text = ...` comment line (trimmed), or `None` for another line.
pub fn text_comment(line: &str) -> Option<&str> {
    let comment = line.strip_prefix('#')?.trim_start();
    comment.strip_prefix("text =").map(str::trim)
}

pub fn parse(text: &str, path: &Path) -> Result<Vec<Sentence>, ParseError> {
    let err = |line: usize, message: String| ParseError {
        path: path.to_path_buf(),
        line,
        message,
    };
    let mut sentences = Vec::new();
    let mut current = Sentence::default();
    // Line number of the current block's first token line (range, empty node or word);
    // a block of comments alone (a document header) is skipped.
    let mut tokens_from: Option<usize> = None;
    // The last multiword range of the sentence: its line, first and last word.
    let mut range: Option<(usize, usize, usize)> = None;
    let mut close = |current: &mut Sentence,
                     tokens_from: &mut Option<usize>,
                     range: &mut Option<(usize, usize, usize)>| {
        let open = range.take();
        match tokens_from.take() {
            Some(line) if current.words.is_empty() => Err(err(
                line,
                "sentence has no words (only multiword ranges or empty nodes)".into(),
            )),
            Some(_) => {
                if let Some((line, a, b)) = open.filter(|&(_, _, b)| b > current.words.len()) {
                    return Err(err(
                        line,
                        format!(
                            "multiword range {a}-{b} goes past the sentence's last word ({})",
                            current.words.len()
                        ),
                    ));
                }
                sentences.push(std::mem::take(current));
                Ok(())
            }
            None => Ok(()),
        }
    };
    // The line of whitespace (not empty) that ended the last sentence, while the next
    // one has no token line: an ID out of sequence there names it.
    let mut ended_by_spaces: Option<usize> = None;
    // The sentence's last empty node `i.j`.
    let mut last_empty: Option<(usize, usize)> = None;
    let after_spaces = |current: &Sentence, ended_by_spaces: Option<usize>| match ended_by_spaces {
        Some(line) if current.words.is_empty() => {
            format!("; line {line} has only whitespace, which ends a sentence as a blank line does")
        }
        _ => String::new(),
    };
    // The line of the block's `# text`: one per sentence, and none in a block of
    // comments alone (the text of no sentence).
    let mut text_at: Option<usize> = None;
    let orphan = |text_at: Option<usize>, tokens_from: Option<usize>, end: String| match (
        text_at,
        tokens_from,
    ) {
        (Some(line), None) => Err(err(
            line,
            format!("`# text` without a sentence: {end} follows it before any token line"),
        )),
        _ => Ok(()),
    };
    let text = text.strip_prefix(crate::fsio::BOM).unwrap_or(text);
    for (number, line) in numbered_lines(text) {
        if line.trim().is_empty() {
            orphan(
                text_at.take(),
                tokens_from,
                format!("the blank line {number}"),
            )?;
            if tokens_from.is_some() {
                ended_by_spaces = (!line.is_empty()).then_some(number);
            }
            close(&mut current, &mut tokens_from, &mut range)?;
            continue;
        }
        if line.starts_with('#') {
            if tokens_from.is_some() {
                return Err(err(
                    number,
                    "comment inside a sentence (a sentence's comments come before its \
                     first token line)"
                        .into(),
                ));
            }
            if text_comment(line).is_some() {
                if let Some(first) = text_at.replace(number) {
                    return Err(err(
                        number,
                        format!("a second `# text` for one sentence (the first at line {first})"),
                    ));
                }
            }
            continue;
        }
        if tokens_from.is_none() {
            last_empty = None;
        }
        tokens_from.get_or_insert(number);
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() != 10 {
            return Err(err(
                number,
                format!("expected 10 tab-separated fields, found {}", fields.len()),
            ));
        }
        match parse_id(fields[0]) {
            None => return Err(err(number, format!("bad ID {:?}", fields[0]))),
            Some(Id::Empty(a, b)) => {
                // An empty node follows its word (and the ones before it there).
                let after = current.words.len();
                let next = match last_empty {
                    Some((w, j)) if w == after => j + 1,
                    _ => 1,
                };
                if a != after || b != next {
                    return Err(err(
                        number,
                        format!("empty node {a}.{b} out of sequence (expected {after}.{next})"),
                    ));
                }
                last_empty = Some((a, b));
            }
            Some(Id::Range(a, b)) => {
                // A range stands right before its first word, after the last range's
                // words.
                let next = current.words.len() + 1;
                if a != next || range.is_some_and(|(_, _, end)| end >= a) {
                    return Err(err(
                        number,
                        format!(
                            "multiword range {a}-{b} out of sequence (the next word is \
                             {next}){}",
                            after_spaces(&current, ended_by_spaces)
                        ),
                    ));
                }
                check_form(fields[1]).map_err(|m| err(number, m))?;
                range = Some((number, a, b));
            }
            Some(Id::Word(n)) => {
                let expected = current.words.len() + 1;
                if n != expected {
                    return Err(err(
                        number,
                        format!(
                            "word ID {n} out of sequence (expected {expected}){}",
                            after_spaces(&current, ended_by_spaces)
                        ),
                    ));
                }
                check_form(fields[1]).map_err(|m| err(number, m))?;
                current.words.push(Word {
                    form: fields[1].to_string(),
                    upos: fields[3].to_string(),
                    xpos: fields[4].to_string(),
                    line_number: number,
                });
            }
        }
    }
    orphan(text_at, tokens_from, "the end of the file".into())?;
    close(&mut current, &mut tokens_from, &mut range)?;
    Ok(sentences)
}

/// A word's or multiword token's FORM: not empty, not whitespace only (else the
/// problem).
fn check_form(form: &str) -> Result<(), String> {
    if form.is_empty() {
        return Err("empty FORM".into());
    }
    if form.trim().is_empty() {
        return Err(format!("FORM {form:?} is only whitespace"));
    }
    Ok(())
}

/// Reads and parses a CoNLL-U file.
pub fn read(path: &Path) -> anyhow::Result<Vec<Sentence>> {
    let text = crate::fsio::read_data(path)?;
    Ok(parse(&text, path)?)
}

/// Checks that every word of `sentences` has a tag in `column`.
pub fn require_tags(
    sentences: &[Sentence],
    column: TagColumn,
    path: &Path,
) -> Result<(), ParseError> {
    for w in sentences.iter().flat_map(|s| &s.words) {
        let tag = w.tag(column);
        if tag.is_empty() || tag == "_" {
            return Err(ParseError {
                path: path.to_path_buf(),
                line: w.line_number,
                message: format!("word {:?} has no {column} tag", w.form),
            });
        }
        // A model's tag names hold no whitespace or control characters (the CoNLL-U and
        // token/TAG outputs could not be read back).
        if let Some(c) = tag.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(ParseError {
                path: path.to_path_buf(),
                line: w.line_number,
                message: format!("{column} tag {tag:?} of word {:?} holds {c:?}", w.form),
            });
        }
    }
    Ok(())
}

/// The 17 universal part-of-speech tags of UD (universaldependencies.org/u/pos).
pub const UD_UPOS: [&str; 17] = [
    "ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN",
    "PUNCT", "SCONJ", "SYM", "VERB", "X",
];

/// The words of `sentences` whose UPOS is none of [`UD_UPOS`] (a typo, another tag
/// set in the UPOS column): how many, and the first.
pub fn non_ud_upos(sentences: &[Sentence]) -> (usize, Option<&Word>) {
    let mut words = sentences
        .iter()
        .flat_map(|s| &s.words)
        .filter(|w| !UD_UPOS.contains(&w.upos.as_str()));
    let first = words.next();
    (first.map_or(0, |_| 1 + words.count()), first)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "# text = Don't go.\n1-2\tDon't\t_\t_\t_\t_\t_\t_\t_\t_\n1\tDo\tdo\tAUX\tVBP\t_\t3\taux\t_\t_\n2\tn't\tnot\tPART\tRB\t_\t3\tadvmod\t_\t_\n2.1\tgone\tgo\tVERB\tVBN\t_\t_\t_\t_\t_\n3\tgo\tgo\tVERB\tVB\t_\t0\troot\t_\t_\n\n1\tHi\thi\tINTJ\tUH\t_\t0\troot\t_\t_\n";

    #[test]
    fn skips_comments_ranges_and_empty_nodes() {
        let s = parse(SAMPLE, Path::new("x.conllu")).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].forms(), ["Do", "n't", "go"]);
        assert_eq!(s[0].words[2].upos, "VERB");
        assert_eq!(s[0].words[1].xpos, "RB");
        assert_eq!(
            s[1].forms(),
            ["Hi"],
            "a last sentence without a blank line counts"
        );
    }

    /// `SAMPLE`'s sentences (as `text` spells them) retagged A, B, C and D in UPOS.
    fn retag_upos(text: &str, sentences: &[Sentence]) -> String {
        retag(
            text,
            sentences,
            TagColumn::Upos,
            &[vec!["A", "B", "C"], vec!["D"]],
        )
    }

    /// What [`retag_upos`] must give: `text` with only those four UPOS fields changed.
    fn upos_retagged(text: &str) -> String {
        text.replace("1\tDo\tdo\tAUX", "1\tDo\tdo\tA")
            .replace("2\tn't\tnot\tPART", "2\tn't\tnot\tB")
            .replace("3\tgo\tgo\tVERB", "3\tgo\tgo\tC")
            .replace("1\tHi\thi\tINTJ", "1\tHi\thi\tD")
    }

    #[test]
    fn retag_changes_only_the_tag_column_byte_for_byte() {
        let text = format!("\u{feff}{}", SAMPLE.replace('\n', "\r\n")) + "\r\n\r\n  \n";
        let s = parse(&text, Path::new("x.conllu")).unwrap();
        assert_eq!(retag_upos(&text, &s), upos_retagged(&text));
        let out = retag(
            SAMPLE.trim_end(),
            &s,
            TagColumn::Xpos,
            &[vec!["x", "y", "z"], vec!["w"]],
        );
        assert!(
            out.ends_with("1\tHi\thi\tINTJ\tw\t_\t0\troot\t_\t_"),
            "no newline is added"
        );
    }

    #[test]
    fn a_lone_cr_ends_a_line_as_lf_and_crlf_do() {
        let lf = parse(SAMPLE, Path::new("x")).unwrap();
        for ending in ["\r", "\r\n"] {
            let text = SAMPLE.replace('\n', ending);
            let s = parse(&text, Path::new("x")).unwrap();
            assert_eq!(s, lf, "{ending:?}");
            // The tags land on their lines, every other byte kept.
            assert_eq!(retag_upos(&text, &s), upos_retagged(&text), "{ending:?}");
        }
        // Line numbers count lone CRs.
        let e = parse("# a\r\r1\tA\r", Path::new("m")).unwrap_err();
        assert_eq!(e.line, 3, "{e}");
    }

    #[test]
    fn a_line_of_whitespace_inside_a_sentence_is_named_by_the_error_it_causes() {
        let word = |n: usize| format!("{n}\tw\tw\tX\t_\t_\t0\tdep\t_\t_\n");
        let range = "2-3\tww\t_\t_\t_\t_\t_\t_\t_\t_\n";
        for (spaces, next) in [(" \t ", word(2)), ("\t", range.to_string())] {
            let text = format!("{}{spaces}\n{next}{}\n", word(1), word(3));
            let e = parse(&text, Path::new("s")).unwrap_err();
            assert_eq!(e.line, 3, "{text:?}: {e}");
            assert!(
                e.message.contains("out of sequence")
                    && e.message.contains("line 2 has only whitespace"),
                "{text:?}: {e}"
            );
        }
        // A blank line of whitespace between sentences ends the first one, as an empty
        // one does; an empty line is not named.
        let two = format!("{} \n{}", word(1), word(1));
        assert_eq!(parse(&two, Path::new("t")).unwrap().len(), 2);
        let e = parse(&format!("{}\n{}", word(1), word(2)), Path::new("u")).unwrap_err();
        assert!(!e.message.contains("whitespace"), "{e}");
    }

    #[test]
    fn multiword_ranges_must_cover_the_next_words_of_their_sentence() {
        let word = |n: usize| format!("{n}\tw\tw\tX\t_\t_\t0\tdep\t_\t_\n");
        let range = |a: usize, b: usize| format!("{a}-{b}\tww\t_\t_\t_\t_\t_\t_\t_\t_\n");
        let sentence = |lines: &[String]| lines.concat() + "\n";
        let ok = sentence(&[range(1, 2), word(1), word(2), range(3, 4), word(3), word(4)]);
        assert_eq!(parse(&ok, Path::new("ok")).unwrap()[0].words.len(), 4);
        for (lines, line, what) in [
            // Past the sentence's last word.
            (
                vec![range(1, 7), word(1), word(2), word(3), word(4)],
                1,
                "goes past",
            ),
            (
                vec![word(1), word(2), range(3, 5), word(3), word(4)],
                3,
                "goes past",
            ),
            // After its first word, or before a word it skips.
            (vec![word(1), range(1, 2), word(2)], 2, "out of sequence"),
            (
                vec![range(2, 3), word(1), word(2), word(3)],
                1,
                "out of sequence",
            ),
            // Overlapping the last range.
            (
                vec![range(1, 3), word(1), range(2, 3), word(2), word(3)],
                3,
                "out of sequence",
            ),
        ] {
            let text = sentence(&lines);
            let e = parse(&text, Path::new("r")).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
            assert!(e.message.contains(what), "{text:?}: {e}");
        }
    }

    /// IDs are canonical decimals; empty nodes follow their word, numbered from 1 there;
    /// a sentence's comments come before its token lines.
    #[test]
    fn ids_empty_nodes_and_comments_follow_the_format() {
        let word = |id: &str| format!("{id}\tw\tw\tX\t_\t_\t0\tdep\t_\t_\n");
        let ok = [
            word("0.1"),
            word("1"),
            word("1.1"),
            word("1.2"),
            word("2"),
            word("3"),
            word("3.1"),
        ]
        .concat();
        assert_eq!(parse(&ok, Path::new("ok")).unwrap()[0].words.len(), 3);
        for (lines, line, what) in [
            (vec![word("01")], 1, "bad ID \"01\""),
            (
                vec![word("1"), word("2-03"), word("2"), word("3")],
                2,
                "bad ID",
            ),
            (vec![word("1"), word("1.01")], 2, "bad ID"),
            (vec![word("+1")], 1, "bad ID"),
            (vec![word("1"), word("1.0")], 2, "bad ID"),
            // Between words 1 and 2, but numbered after word 3.
            (
                vec![word("1"), word("3.1"), word("2")],
                2,
                "empty node 3.1 out of sequence (expected 1.1)",
            ),
            (
                vec![word("1"), word("1.2")],
                2,
                "empty node 1.2 out of sequence (expected 1.1)",
            ),
            (vec![word("1"), word("1.99999999999")], 2, "out of sequence"),
            (vec![word("1"), word("1.1"), word("1.1")], 3, "expected 1.2"),
            (
                vec![word("1"), "# note\n".into(), word("2")],
                2,
                "comment inside a sentence",
            ),
        ] {
            let text = lines.concat() + "\n";
            let e = parse(&text, Path::new("i")).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
            assert!(e.message.contains(what), "{text:?}: {e}");
        }
        // Numbering starts again in each sentence.
        let two = [word("1"), word("1.1"), "\n".into(), word("1"), word("1.1")].concat();
        assert_eq!(parse(&two, Path::new("t")).unwrap().len(), 2);
    }

    #[test]
    fn malformed_lines_name_file_and_line() {
        let bad = "1\tDo\tdo\tAUX\n";
        let e = parse(bad, Path::new("a.conllu")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "a.conllu:1: expected 10 tab-separated fields, found 4"
        );
        let bad = "1\tA\ta\tX\t_\t_\t0\troot\t_\t_\n3\tB\tb\tX\t_\t_\t1\tdep\t_\t_\n";
        let e = parse(bad, Path::new("b.conllu")).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("out of sequence"), "{}", e.message);
        let bad = "# only a comment\n\n1-2\tAB\t_\t_\t_\t_\t_\t_\t_\t_\n\n";
        let e = parse(bad, Path::new("r")).unwrap_err();
        assert_eq!((e.line, e.message.contains("no words")), (3, true), "{e}");
        let header = parse(
            "# newdoc\n\n1\tA\ta\tX\t_\t_\t0\troot\t_\t_\n",
            Path::new("h"),
        )
        .unwrap();
        assert_eq!(
            header.len(),
            1,
            "a comment-only block is a document header, not a sentence"
        );
        let bad = "x\tA\ta\tX\t_\t_\t0\troot\t_\t_\n";
        assert_eq!(
            parse(bad, Path::new("c")).unwrap_err().message,
            "bad ID \"x\""
        );
        let s = parse("1\tA\ta\t_\t_\t_\t0\troot\t_\t_\n", Path::new("d")).unwrap();
        let e = require_tags(&s, TagColumn::Upos, Path::new("d")).unwrap_err();
        assert_eq!(e.to_string(), "d:1: word \"A\" has no UPOS tag");
    }

    #[test]
    fn a_text_belongs_to_one_sentence_and_a_form_is_not_whitespace() {
        let word = "1\tA\ta\tX\t_\t_\t0\troot\t_\t_\n";
        let e = |text: &str| parse(text, Path::new("t")).unwrap_err().to_string();
        // `# text` followed by a blank line (or the end) has no sentence.
        assert_eq!(
            e(&format!("# sent_id = 1\n# text = A\n\n{word}")),
            "t:2: `# text` without a sentence: the blank line 3 follows it before any token line"
        );
        assert_eq!(
            e(&format!("{word}\n# text = B")),
            "t:3: `# text` without a sentence: the end of the file follows it before any \
             token line"
        );
        // Two in one sentence.
        assert_eq!(
            e(&format!("# text = A\n#text = A\n{word}")),
            "t:2: a second `# text` for one sentence (the first at line 1)"
        );
        // One per sentence, and other comments alone, are fine.
        let ok = format!("# newdoc\n\n# text = A\n{word}\n# text = A\n{word}");
        assert_eq!(parse(&ok, Path::new("t")).unwrap().len(), 2);
        assert_eq!(text_comment("#  text =  a b "), Some("a b"));
        assert_eq!(text_comment("# text_en = a"), None);
        for form in [" ", "\u{a0}", " \u{3000}"] {
            let line = format!("1\t{form}\ta\tX\t_\t_\t0\troot\t_\t_\n");
            assert_eq!(e(&line), format!("t:1: FORM {form:?} is only whitespace"));
            // A multiword token's FORM too.
            let range = format!(
                "1-2\t{form}\t_\t_\t_\t_\t_\t_\t_\t_\n{word}{}",
                word.replace("1\tA", "2\tB")
            );
            assert_eq!(e(&range), format!("t:1: FORM {form:?} is only whitespace"));
        }
        let range = format!(
            "1-2\t\t_\t_\t_\t_\t_\t_\t_\t_\n{word}{}",
            word.replace("1\tA", "2\tB")
        );
        assert_eq!(e(&range), "t:1: empty FORM");
        // A form with a space inside (Vietnamese words have them) is a form.
        let vi = "1\tHà Nội\tHà Nội\tPROPN\t_\t_\t0\troot\t_\t_\n";
        assert_eq!(
            parse(vi, Path::new("t")).unwrap()[0].words[0].form,
            "Hà Nội"
        );
    }
}
