//! Streamed formats answer input line N with output line N, whatever the mix of lines
//! and however the bytes arrive: checked against the core tagging each line alone.

use std::io::{BufReader, Read};

use postag_core::Model;
use postag_trainer::cmd::DEFAULT_MODEL;
use postag_trainer::stream::{tag_stream, LineFormat};
use proptest::prelude::*;
use serde_json::Value;

/// Input that arrives in pieces of the given sizes (cycled), the reader thread yielding
/// between pieces so that lines reach the tagger in varying groups.
struct Pieces {
    data: Vec<u8>,
    at: usize,
    sizes: Vec<usize>,
    next: usize,
}

impl Read for Pieces {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let size = self.sizes[self.next % self.sizes.len()].max(1);
        self.next += 1;
        let n = size.min(buf.len()).min(self.data.len() - self.at);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        std::thread::yield_now();
        Ok(n)
    }
}

fn stream(model: &Model<'_>, format: LineFormat, data: &[u8], sizes: Vec<usize>) -> String {
    let (out, result) = stream_until_error(model, format, data, sizes);
    result.unwrap();
    out
}

/// What the stream wrote, and how it ended, for `data` arriving in pieces of `sizes`.
fn stream_until_error(
    model: &Model<'_>,
    format: LineFormat,
    data: &[u8],
    sizes: Vec<usize>,
) -> (String, anyhow::Result<()>) {
    let input = Pieces {
        data: data.to_vec(),
        at: 0,
        sizes,
        next: 0,
    };
    let mut out = Vec::new();
    let result = tag_stream(
        model,
        format,
        Box::new(BufReader::with_capacity(64, input)),
        "input",
        &mut out,
        2,
    );
    (String::from_utf8(out).unwrap(), result)
}

/// The core's tags and scores of one sentence.
fn core_tags(model: &Model<'_>, tokens: &[&str]) -> (Vec<String>, Vec<f32>) {
    let mut scratch = vec![0u8; model.scratch_bytes(tokens.len()).unwrap()];
    let mut tags = vec![0u16; tokens.len()];
    let mut scores = vec![0f32; tokens.len() * model.num_tags()];
    model
        .tag(tokens, &mut scratch, &mut tags, Some(&mut scores))
        .unwrap();
    let names = tags.iter().map(|&t| model.tag_name(t as usize).to_string());
    (names.collect(), scores)
}

/// Checks that output line i answers input line i alone.
fn check(model: &Model<'_>, format: LineFormat, lines: &[String], out: &str) {
    let got: Vec<&str> = out.split_terminator('\n').collect();
    assert_eq!(got.len(), lines.len(), "one output line per input line");
    for (line, answer) in lines.iter().zip(got) {
        let line = line.trim_end_matches(['\r', '\n']);
        if line.trim().is_empty() {
            assert_eq!(answer, "", "a blank line stays blank");
            continue;
        }
        match format {
            LineFormat::Text => {
                let tokens: Vec<&str> = line.split_whitespace().collect();
                let (tags, _) = core_tags(model, &tokens);
                let want: Vec<String> = tokens
                    .iter()
                    .zip(&tags)
                    .map(|(w, t)| format!("{w}/{t}"))
                    .collect();
                assert_eq!(answer, want.join(" "), "answer to {line:?}");
            }
            LineFormat::Jsonl { scores } => {
                let input: Value = serde_json::from_str(line).unwrap();
                let output: Value = serde_json::from_str(answer).unwrap();
                assert_eq!(output["tokens"], input["tokens"], "answer to {line:?}");
                let tokens: Vec<&str> = input["tokens"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap())
                    .collect();
                let (tags, want_scores) = core_tags(model, &tokens);
                assert_eq!(
                    output["tags"],
                    serde_json::json!(tags),
                    "answer to {line:?}"
                );
                if scores {
                    let got: Vec<f32> = output["scores"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .flat_map(|r| r.as_array().unwrap().iter())
                        .map(|x| x.as_f64().unwrap() as f32)
                        .collect();
                    assert_eq!(got, want_scores, "scores of {line:?}");
                } else {
                    assert!(output.get("scores").is_none());
                }
            }
        }
    }
}

const WORDS: &[&str] = &[
    "The", "dog", "barks", ".", "I", "like", "tea", ",", "Please", "help", "ñandú", "Σ", "42",
];

/// A line of input: 0 blank, 1 whitespace only, 2 a sentence, 3 (JSON) no tokens.
fn line(kind: u8, words: &[usize], format: LineFormat, crlf: bool) -> String {
    let tokens: Vec<&str> = words.iter().map(|&i| WORDS[i % WORDS.len()]).collect();
    let text = match (kind % 4, format) {
        (0, _) => String::new(),
        (1, _) => " \t ".to_string(),
        (_, LineFormat::Text) => tokens.join("  "),
        (2, LineFormat::Jsonl { .. }) => serde_json::json!({ "tokens": tokens }).to_string(),
        (_, LineFormat::Jsonl { .. }) => "{\"tokens\": []}".to_string(),
    };
    text + if crlf { "\r\n" } else { "\n" }
}

fn formats() -> [LineFormat; 3] {
    [
        LineFormat::Text,
        LineFormat::Jsonl { scores: false },
        LineFormat::Jsonl { scores: true },
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn every_streamed_format_answers_each_line_alone(
        spec in prop::collection::vec(
            (0u8..4, prop::collection::vec(0usize..WORDS.len(), 1..7), any::<bool>()),
            0..24,
        ),
        sizes in prop::collection::vec(1usize..200, 1..6),
        final_newline in any::<bool>(),
    ) {
        let model = Model::from_bytes(DEFAULT_MODEL).unwrap();
        for format in formats() {
            let mut lines: Vec<String> =
                spec.iter().map(|(k, w, crlf)| line(*k, w, format, *crlf)).collect();
            let mut data = lines.concat().into_bytes();
            if !final_newline && data.pop().is_some() && lines.last().is_some_and(|l| l == "\n") {
                // Without its newline, an empty last line is no line at all.
                lines.pop();
            }
            // Piece by piece, one byte at a time, and the whole input at once.
            for sizes in [sizes.clone(), vec![1], vec![data.len().max(1)]] {
                check(&model, format, &lines, &stream(&model, format, &data, sizes));
            }
        }
    }
}

/// The case users reported: a blank line between two objects, and a blank first line.
#[test]
fn jsonl_blank_lines_keep_every_object_in_place() {
    let model = Model::from_bytes(DEFAULT_MODEL).unwrap();
    let format = LineFormat::Jsonl { scores: false };
    let out = stream(
        &model,
        format,
        b"{\"tokens\":[\"Hi\"]}\n\n{\"tokens\":[\"Bye\"]}\n",
        vec![4096],
    );
    assert_eq!(
        out,
        "{\"tokens\":[\"Hi\"],\"tags\":[\"INTJ\"]}\n\n{\"tokens\":[\"Bye\"],\"tags\":[\"PROPN\"]}\n"
    );
    let data = b"\n{\"tokens\":[\"The\",\"dog\",\"barks\",\".\"]}\n{\"tokens\":[\"Hi\"]}\n{\"tokens\":[]}\n";
    let out = stream(&model, format, data, vec![4096]);
    let lines: Vec<&str> = out.split_terminator('\n').collect();
    assert_eq!(lines[0], "");
    assert!(lines[1].ends_with("\"tags\":[\"DET\",\"NOUN\",\"VERB\",\"PUNCT\"]}"));
    assert_eq!(lines[2], "{\"tokens\":[\"Hi\"],\"tags\":[\"INTJ\"]}");
    assert_eq!(lines[3], "{\"tokens\":[],\"tags\":[]}");
}

/// A byte-order mark before the first line is not part of the first token.
#[test]
fn a_leading_byte_order_mark_is_skipped_by_every_streamed_format() {
    let model = Model::from_bytes(DEFAULT_MODEL).unwrap();
    let text = stream(
        &model,
        LineFormat::Text,
        "\u{feff}Please help .\n".as_bytes(),
        vec![2],
    );
    assert_eq!(text, "Please/INTJ help/VERB ./PUNCT\n");
    let line = "{\"tokens\":[\"Please\",\"help\",\".\"]}\n";
    let format = LineFormat::Jsonl { scores: true };
    let with_bom = format!("\u{feff}{line}");
    let json = stream(&model, format, with_bom.as_bytes(), vec![1]);
    assert_eq!(json, stream(&model, format, line.as_bytes(), vec![1]));
    assert!(
        json.contains("\"tags\":[\"INTJ\",\"VERB\",\"PUNCT\"]"),
        "{json}"
    );
}

/// A line that does not read stops the stream with an error naming it, after the
/// answers to every line before it (however the input arrives).
#[test]
fn a_bad_line_ends_the_stream_after_the_answers_to_the_lines_before_it() {
    let model = Model::from_bytes(DEFAULT_MODEL).unwrap();
    let cases: [(LineFormat, &[u8], &str); 4] = [
        (
            LineFormat::Text,
            b"The dog\nA cat\nA b\xffc\nHi\n",
            "input:3: invalid UTF-8",
        ),
        // A line that reads but does not tag (an empty token).
        (
            LineFormat::Jsonl { scores: false },
            b"{\"tokens\":[\"The\",\"dog\"]}\n{\"tokens\":[\"Hi\"]}\n{\"tokens\":[\"a\",\"\"]}\n{\"tokens\":[\"Bye\"]}\n",
            "input:3: token 2 of 2 is empty",
        ),
        (
            LineFormat::Jsonl { scores: false },
            b"{\"tokens\":[\"Hi\"]}\n\n{\"tokens\":[\"Bye\"]\nnot json\n",
            // The column in the line, not serde_json's "line 1" inside it.
            "input:3: not JSON: EOF while parsing an object at column 17",
        ),
        (
            LineFormat::Text,
            b"\xff\nThe dog\n",
            "input:1: invalid UTF-8",
        ),
    ];
    for (format, data, error) in cases {
        // The answers the good lines get on their own.
        let good_end = data
            .split(|&b| b == b'\n')
            .take(error[6..7].parse::<usize>().unwrap() - 1)
            .map(|l| l.len() + 1)
            .sum::<usize>();
        let want = stream(&model, format, &data[..good_end], vec![4096]);
        for sizes in [vec![4096], vec![1], vec![3, 7, 1]] {
            let (out, result) = stream_until_error(&model, format, data, sizes);
            let err = result.unwrap_err();
            assert!(format!("{err:#}").starts_with(error), "{err:#}");
            assert_eq!(out, want);
        }
    }
}

/// A `\u` escape that is half of a UTF-16 surrogate pair without its other half is named,
/// with its column; escaped backslashes before a `u` and whole pairs read as they are.
#[test]
fn a_lone_surrogate_escape_is_named() {
    let model = Model::from_bytes(DEFAULT_MODEL).unwrap();
    let jsonl = LineFormat::Jsonl { scores: false };
    for (line, column, unit) in [
        (r#"{"tokens":["a\ud800b","dog"]}"#, 14, "D800"),
        (r#"{"tokens":["x","\uDC00"]}"#, 17, "DC00"),
        (r#"{"tokens":["\ud83d\ude00","\ud800"]}"#, 28, "D800"),
    ] {
        let (_, result) =
            stream_until_error(&model, jsonl, format!("{line}\n").as_bytes(), vec![4096]);
        let err = format!("{:#}", result.unwrap_err());
        assert_eq!(
            err,
            format!(
                "input:1: not JSON: \\u{unit} at column {column} is half of a UTF-16 surrogate \
                 pair without its other half (JSON text must be Unicode)"
            )
        );
    }
    // `\\ud800` is a backslash and text; a pair is one character.
    let out = stream(
        &model,
        jsonl,
        "{\"tokens\":[\"\\\\ud800\",\"\\ud83d\\ude00\"]}\n".as_bytes(),
        vec![4096],
    );
    // Passed through as written: the pair stays an escape, and reads as one character.
    assert!(
        out.starts_with(r#"{"tokens":["\\ud800","\ud83d\ude00"],"tags":["#),
        "{out}"
    );
    let read: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(read["tokens"], serde_json::json!(["\\ud800", "😀"]));
    // A lone surrogate in a member that is only passed through is refused too.
    let line = r#"{"tokens":["a"],"note":"x\uDBFF"}"#;
    let (_, result) = stream_until_error(&model, jsonl, format!("{line}\n").as_bytes(), vec![4096]);
    let err = format!("{:#}", result.unwrap_err());
    assert!(
        err.starts_with("input:1: not JSON: \\uDBFF at column 26 is half"),
        "{err}"
    );
}

/// Every member besides "tokens" comes out as it went in: numbers with all their
/// digits (beyond u64 and f64), strings with their escapes; only the whitespace between
/// JSON tokens goes, and "tags" replaces the value of an input "tags" in its place.
#[test]
fn jsonl_passes_other_members_through_as_written() {
    let model = Model::from_bytes(DEFAULT_MODEL).unwrap();
    let line = r#"{"id": 18446744073709551616, "tags": "old", "tokens": ["The", "dog"], "x": 1.10, "big": 1e400, "neg": -0.0, "s": "caf\u00e9 \/ \"q\" ", "m": {"k": [1, 2.50, true, null], "e": {}}}"#;
    let (tags, scores) = core_tags(&model, &["The", "dog"]);
    let tags = format!("[\"{}\",\"{}\"]", tags[0], tags[1]);
    let want = format!(
        r#"{{"id":18446744073709551616,"tags":{tags},"tokens":["The","dog"],"x":1.10,"big":1e400,"neg":-0.0,"s":"caf\u00e9 \/ \"q\" ","m":{{"k":[1,2.50,true,null],"e":{{}}}}}}"#
    );
    let out = stream(
        &model,
        LineFormat::Jsonl { scores: false },
        format!("{line}\n").as_bytes(),
        vec![4096],
    );
    assert_eq!(out, format!("{want}\n"));
    // With scores: added after the other members, each the f32 the core gave.
    let out = stream(
        &model,
        LineFormat::Jsonl { scores: true },
        format!("{line}\n").as_bytes(),
        vec![4096],
    );
    let (head, rest) = out.split_at(want.len() - 1);
    assert_eq!(head, &want[..want.len() - 1]);
    let rows = rest
        .strip_prefix(",\"scores\":")
        .unwrap()
        .strip_suffix("}\n")
        .unwrap();
    let rows: Value = serde_json::from_str(rows).unwrap();
    let got: Vec<f32> = rows
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap())
        .map(|x| x.as_f64().unwrap() as f32)
        .collect();
    assert_eq!(got, scores);
}

/// A key twice in one object, at any depth, is an error naming the line and the key
/// (which of the values would hold is not said by JSON); JSON that is not valid in a
/// member only passed through is refused as in any other.
#[test]
fn jsonl_refuses_duplicate_keys_and_bad_json_in_any_member() {
    let model = Model::from_bytes(DEFAULT_MODEL).unwrap();
    let jsonl = LineFormat::Jsonl { scores: false };
    let good = "{\"tokens\":[\"Hi\"]}\n";
    let cases = [
        (
            r#"{"tokens":["a"],"tokens":["b","c"]}"#,
            "input:2: duplicate key \"tokens\" (a key may appear once in an object)",
        ),
        (
            r#"{"tokens":["a"],"m":[1,{"k":1,"\u006b":2}]}"#,
            "input:2: duplicate key \"k\" (a key may appear once in an object)",
        ),
        (r#"{"tokens":["a"],"x":NaN}"#, "input:2: not JSON"),
        (r#"{"tokens":["a"],"x":"\q"}"#, "input:2: not JSON"),
        ("{\"tokens\":[\"a\"],\"x\":\"\t\"}", "input:2: not JSON"),
        (r#"{"tokens":["a"],"x":01}"#, "input:2: not JSON"),
        (
            r#"[{"tokens":["a"]}]"#,
            "input:2: expected an object with \"tokens\"",
        ),
        (
            r#"{"tokens":"a b"}"#,
            "input:2: expected \"tokens\": an array of strings",
        ),
        (
            r#"{"tokens":["a",1]}"#,
            "input:2: every token must be a string",
        ),
        (
            r#"{"tokens":["a"," \t\u3000"]}"#,
            "input:2: token 2 of 2 is only whitespace",
        ),
    ];
    let want = stream(&model, jsonl, good.as_bytes(), vec![4096]);
    for (line, error) in cases {
        let data = format!("{good}{line}\n{good}");
        let (out, result) = stream_until_error(&model, jsonl, data.as_bytes(), vec![4096]);
        let err = format!("{:#}", result.unwrap_err());
        assert!(err.starts_with(error), "{line}: {err}");
        assert_eq!(out, want, "{line}");
    }
    // Nesting past 128 levels (serde_json's limit for a whole value) is refused in
    // one pass (a line of 20,000 levels must neither take long nor overflow the
    // stack); 100 levels are passed through.
    let deep = |n: usize| {
        format!(
            "{{\"tokens\":[\"a\"],\"x\":{}{}}}",
            "[".repeat(n),
            "]".repeat(n)
        )
    };
    let data = format!("{good}{}\n{good}", deep(20_000));
    let (out, result) = stream_until_error(&model, jsonl, data.as_bytes(), vec![4096]);
    let err = format!("{:#}", result.unwrap_err());
    assert!(
        err.starts_with("input:2: not JSON: arrays and objects nested more than 128 deep"),
        "{err}"
    );
    assert_eq!(out, want);
    let out = stream(
        &model,
        jsonl,
        format!("{}\n", deep(100)).as_bytes(),
        vec![4096],
    );
    assert!(out.starts_with(&deep(100)[..deep(100).len() - 1]), "{out}");
    // The same key in two objects, or the key "k" beside a value "k", is no duplicate.
    let fine = r#"{"tokens":["a"],"m":[{"k":1},{"k":2}],"k":"k"}"#;
    let out = stream(&model, jsonl, format!("{fine}\n").as_bytes(), vec![4096]);
    assert!(
        out.starts_with(r#"{"tokens":["a"],"m":[{"k":1},{"k":2}],"k":"k","tags":["#),
        "{out}"
    );
}

/// In text lines a no-break space is a space inside a token, not between tokens (as
/// `tag --format raw --raw-output text` writes one): the token is tagged with a space,
/// and written back with the no-break space.
#[test]
fn a_no_break_space_in_a_text_line_is_a_space_inside_a_token() {
    let model = Model::from_bytes(DEFAULT_MODEL).unwrap();
    let input = "New\u{a0}York is\u{2003}big\t.\n\u{a0}\n";
    let out = stream(&model, LineFormat::Text, input.as_bytes(), vec![4096]);
    let (tags, _) = core_tags(&model, &["New York", "is", "big", "."]);
    let want = format!(
        "New\u{a0}York/{} is/{} big/{} ./{}\n\n",
        tags[0], tags[1], tags[2], tags[3]
    );
    assert_eq!(out, want);
}
