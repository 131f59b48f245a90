//! `tag --format raw` with the built-in model: the CoNLL-U it writes records the input's
//! whitespace exactly (UDPipe's `SpacesBefore`, `SpacesAfter`, `SpaceAfter=No`,
//! `SpacesInToken`), and `--presegmented` reads one sentence per line.

mod common;

use std::path::{Path, PathBuf};

use postag_trainer::{conllu, rawtext};
use serde_json::Value;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "postag-cli-raw-spaces-{}-{name}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn tag(dir: &Path, extra: &[&str], input: &str) -> String {
    let mut args = vec!["tag", "--format", "raw"];
    args.extend_from_slice(extra);
    common::ok_with_input(dir, &args, input.as_bytes())
}

/// A MISC value unescaped as the UDPipe manual describes: `\s` space, `\t` tab, `\r`
/// CR, `\n` LF, `\p` `|`, `\\` backslash, and as the README adds, `\u` and four hex
/// digits for other whitespace; any other backslash pair is kept.
fn unescape(value: &str) -> String {
    let mut out = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('s') => out.push(' '),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('n') => out.push('\n'),
            Some('p') => out.push('|'),
            Some('\\') => out.push('\\'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                out.push(char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap());
            }
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// The text a CoNLL-U document spells by UDPipe's convention: per token (a range line,
/// or a word line outside a range), `SpacesBefore`, then `SpacesInToken` or the FORM,
/// then `SpacesAfter`, or nothing with `SpaceAfter=No`, or else one space.
fn rebuild(conllu: &str) -> String {
    let mut out = String::new();
    let mut range_end = 0usize;
    for line in conllu.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(fields.len(), 10, "{line:?}");
        let id = fields[0];
        if let Some((_, b)) = id.split_once('-') {
            range_end = b.parse().unwrap();
        } else if id.contains('.') || id.parse::<usize>().unwrap() <= range_end {
            continue;
        } else {
            range_end = 0;
        }
        let misc: Vec<(&str, &str)> = fields[9]
            .split('|')
            .filter_map(|f| f.split_once('='))
            .collect();
        let get = |name: &str| misc.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
        if let Some(before) = get("SpacesBefore") {
            out.push_str(&unescape(before));
        }
        match get("SpacesInToken") {
            Some(t) => out.push_str(&unescape(t)),
            None => out.push_str(fields[1]),
        }
        match (get("SpacesAfter"), get("SpaceAfter")) {
            (Some(after), _) => out.push_str(&unescape(after)),
            (None, Some("No")) => {}
            _ => out.push(' '),
        }
    }
    out
}

#[test]
fn conllu_output_rebuilds_the_input_byte_for_byte() {
    let dir = scratch("rebuild");
    let inputs = [
        "I can't go. Hello, world!\n",
        // CRLF line ends, a sentence across a line break, tabs and double spaces.
        "I can't go.\r\nShe said  hello\r\nto me.\tThen she left.\r\n",
        // Leading and trailing whitespace, several blank lines (one of spaces) between
        // paragraphs, no final newline.
        "  \n\t  First paragraph here.   \n\n\n   \n\nSecond one, isn't it?  ",
        // No-break spaces between words and around a paragraph break.
        "It costs 5\u{a0}EUR.\u{a0}Really\u{a0}\u{a0}cheap.\u{a0}\n\n\u{a0}Don't you think?",
        // Only a token, no whitespace at all; and one ending right at a sentence end.
        "Hi",
        "Stop.Go now.\n",
        // Backslashes and pipes in tokens, a form feed and a line separator between.
        "a\\b | c\u{c}d\u{2028}e.\n",
        // Other whitespace (vertical tab, NEL, paragraph separator, ideographic space,
        // narrow no-break space) between words and around a paragraph break.
        "x\u{b}y\u{85}z.\u{2029}w\u{3000}v\u{202f}u.\n\u{a0}\n\u{c}t.",
    ];
    for input in inputs {
        let out = tag(&dir, &[], input);
        assert_eq!(rebuild(&out), input, "{out}");
        // No whitespace but the format's own: the line ends, the tabs between fields
        // and the spaces of `# text` (no MISC value holds any, as the UD validator
        // requires, and no reader splits a line at a form feed or U+2028).
        assert!(
            !out.contains(|c: char| c.is_whitespace() && !matches!(c, ' ' | '\t' | '\n')),
            "{out:?}"
        );
        // `# text`: the sentence's text with each run of whitespace as one space.
        for line in out.lines().filter_map(|l| l.strip_prefix("# text = ")) {
            assert!(
                !line.contains("  ") && !line.contains(|c: char| c.is_whitespace() && c != ' '),
                "{line:?}"
            );
        }
        // Our readers take it, and `# text` agrees with the forms and `SpaceAfter`.
        let path = dir.join("out.conllu");
        std::fs::write(&path, &out).unwrap();
        conllu::parse(&out, &path).unwrap();
        for s in rawtext::parse(&out, &path).unwrap() {
            assert_eq!(s.text.clone().unwrap(), s.text(), "{out}");
        }
    }
    // The text of the first input, with its multiword token; the last token of the
    // document takes the final newline.
    let out = tag(&dir, &[], inputs[0]);
    assert!(out.contains("# text = I can't go.\n"), "{out}");
    assert!(out.contains("\tcan't\t"), "a multiword token: {out}");
    assert!(out.ends_with("\tSpacesAfter=\\n\n\n"), "{out}");
    // A sentence across a CRLF: one space in `# text`.
    let out = tag(&dir, &[], inputs[1]);
    assert!(out.contains("# text = She said hello to me.\n"), "{out}");
}

#[test]
fn eval_reads_the_output_and_scores_it_against_itself_perfectly() {
    // The CoNLL-U written for a text with odd whitespace inside its paragraphs is gold
    // data `eval --raw` reads: its raw text (sentences joined by one space) reads the
    // same to the segmenter, so scoring it against itself gives 100 on every metric.
    let dir = scratch("eval");
    let input = "\u{feff}I can't go.\r\nShe said  hello\r\nto me.\tThen she left.\n\n\nIt's 5:30pm\u{a0}now.\n";
    let out = tag(&dir, &[], input);
    let gold = dir.join("gold.conllu");
    std::fs::write(&gold, &out).unwrap();
    let report = common::ok(
        &dir,
        &["eval", "--raw", "--json", "--data", gold.to_str().unwrap()],
    );
    let v: Value = serde_json::from_str(&report).unwrap();
    for metric in ["Tokens", "Sentences", "Words", "UPOS"] {
        assert_eq!(v["scores"][metric]["f1"].as_f64(), Some(1.0), "{report}");
    }
}

/// The tokens' texts of each sentence of the `--raw-output jsonl` of `input`.
fn sentence_tokens(dir: &Path, extra: &[&str], input: &str) -> Vec<(bool, Vec<String>)> {
    let mut args = vec!["--raw-output", "jsonl"];
    args.extend_from_slice(extra);
    tag(dir, &args, input)
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let tokens = v["tokens"].as_array().unwrap();
            let texts = tokens
                .iter()
                .map(|t| t["text"].as_str().unwrap().to_string());
            (v["newpar"].as_bool().unwrap(), texts.collect())
        })
        .collect()
}

#[test]
fn presegmented_lines_are_one_sentence_each() {
    let dir = scratch("lines");
    let lines = [
        "Hello there. How are you today?",
        "I can't go!  Not now.",
        "ok",
        "Mr. Smith arrived at 5 p.m. He left at six.",
        "\tThe end, isn't it?\r",
        "A line without a final newline. Two sentences",
    ];
    // Blank lines (one of spaces) before lines 3 and 5.
    let input = format!(
        "{}\n{}\n\n{}\n{}\n  \n{}\n{}",
        lines[0], lines[1], lines[2], lines[3], lines[4], lines[5]
    );
    let got = sentence_tokens(&dir, &["--presegmented"], &input);
    assert_eq!(got.len(), lines.len());
    let newpar: Vec<bool> = got.iter().map(|s| s.0).collect();
    assert_eq!(newpar, [true, false, true, false, true, false]);
    // Each line's tokens: those of the line (with its line end, if any) segmented alone,
    // in all its sentences.
    let with_ends: Vec<&str> = input
        .split_inclusive('\n')
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(with_ends.len(), lines.len());
    let mut inner_ends = 0;
    for (line, (_, tokens)) in with_ends.iter().zip(&got) {
        let alone = sentence_tokens(&dir, &[], line);
        inner_ends += alone.len() - 1;
        let want: Vec<String> = alone.into_iter().flat_map(|s| s.1).collect();
        assert_eq!(tokens, &want, "{line:?}");
    }
    assert!(inner_ends >= 3, "the lines hold sentence ends to ignore");
    // Without the flag the lines are read as running text.
    assert_ne!(sentence_tokens(&dir, &[], &input).len(), lines.len());
    // The CoNLL-U of presegmented text rebuilds it too.
    let out = tag(&dir, &["--presegmented"], &input);
    assert_eq!(rebuild(&out), input);
    assert_eq!(out.matches("# sent_id").count(), lines.len());
    // The flag is for raw text only.
    let e = common::fails(&dir, &["tag", "--presegmented"]);
    assert!(e.contains("--presegmented needs --format raw"), "{e}");
}

#[test]
fn eval_presegmented_keeps_the_gold_sentences() {
    // Gold sentences one per line: every sentence is found (Sentences 100), however the
    // segmenter splits the running text.
    let dir = scratch("eval-lines");
    let text = "Hello there. How are you today?\nMr. Smith arrived at 5 p.m. He left.\n\nok\n";
    let gold_conllu = tag(&dir, &["--presegmented"], text);
    let gold = dir.join("gold.conllu");
    std::fs::write(&gold, &gold_conllu).unwrap();
    let data = gold.to_str().unwrap();
    let run = |extra: &[&str]| -> Value {
        let mut args = vec!["eval", "--raw", "--json", "--data", data];
        args.extend_from_slice(extra);
        serde_json::from_str(&common::ok(&dir, &args)).unwrap()
    };
    let lines = run(&["--presegmented"]);
    for metric in ["Tokens", "Sentences", "Words", "UPOS"] {
        assert_eq!(lines["scores"][metric]["f1"].as_f64(), Some(1.0), "{lines}");
    }
    assert_eq!(
        lines["text_bytes"].as_u64(),
        Some(text.len() as u64),
        "the gold text rebuilt one sentence per line"
    );
    let running = run(&[]);
    assert!(
        running["scores"]["Sentences"]["f1"].as_f64().unwrap() < 1.0,
        "{running}"
    );
    let e = common::fails(&dir, &["eval", "--presegmented", "--data", data]);
    assert!(e.contains("--raw"), "{e}");
}

/// `--raw-output text` reads back: its lines, each `word/TAG` cut back to the word, are
/// tagged by `tag --format text` into the same lines, word for word (the words of
/// `--raw-output jsonl`).
#[test]
fn raw_text_output_reads_back_as_the_same_words() {
    let dir = scratch("text-back");
    let input = "It costs 5\u{a0}EUR.\u{a0}Really\u{a0}\u{a0}cheap.\n\nI can't go.\tShe said  hello\u{2003}to me.\n";
    let text = tag(&dir, &["--raw-output", "text"], input);
    let words: Vec<Vec<String>> = text
        .lines()
        .map(|l| {
            l.split(' ')
                .map(|w| w.rsplit_once('/').unwrap().0.replace('\u{a0}', " "))
                .collect()
        })
        .collect();
    let jsonl = tag(&dir, &["--raw-output", "jsonl"], input);
    let want: Vec<Vec<String>> = jsonl
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let words = v["tokens"].as_array().unwrap().iter();
            let words = words.flat_map(|t| t["words"].as_array().unwrap().clone());
            words.map(|w| w.as_str().unwrap().to_string()).collect()
        })
        .collect();
    assert_eq!(words, want);
    let bare: String = text
        .lines()
        .map(|l| {
            let words: Vec<&str> = l
                .split(' ')
                .map(|w| w.rsplit_once('/').unwrap().0)
                .collect();
            words.join(" ") + "\n"
        })
        .collect();
    let again = common::ok_with_input(&dir, &["tag", "--format", "text"], bare.as_bytes());
    assert_eq!(again, text);
    std::fs::remove_dir_all(&dir).unwrap();
}
