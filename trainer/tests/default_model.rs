//! The English model that ships in the repository.

mod common;

use postag_testutil::{repo, skip};
use serde_json::Value;

fn postag(args: &[&str], stdin: &str) -> String {
    common::ok_with_input(&repo(), args, stdin.as_bytes())
}

/// The dev accuracy models/README.md documents for `model`, as a fraction.
fn documented_accuracy(model: &str) -> f64 {
    let text = std::fs::read_to_string(repo().join("models/README.md")).unwrap();
    let section = text
        .split("\n## ")
        .find(|s| s.starts_with(&format!("`{model}`")))
        .expect("a section per model in models/README.md");
    let line = section
        .lines()
        .find(|l| l.contains("UPOS accuracy on EWT dev:"))
        .expect("an accuracy line per model");
    let pct = line
        .split(':')
        .nth(1)
        .unwrap()
        .trim()
        .split('%')
        .next()
        .unwrap();
    pct.parse::<f64>().unwrap() / 100.0
}

#[test]
fn built_in_model_loads_and_tags_without_flags() {
    let info: Value = serde_json::from_str(&postag(&["inspect", "--json"], "")).unwrap();
    assert_eq!(info["tag_column"], "UPOS");
    assert!(
        info["bytes"].as_u64().unwrap() <= 1_500_000,
        "the shipped model must stay within 1.5 MB"
    );
    let file = std::fs::read(repo().join("models/en_ewt.postag")).unwrap();
    assert_eq!(
        info["bytes"].as_u64().unwrap() as usize,
        file.len(),
        "the binary embeds models/en_ewt.postag"
    );
    let tagged = postag(&["tag"], "The dog ate the apple .\n");
    assert_eq!(
        tagged.trim(),
        "The/DET dog/NOUN ate/VERB the/DET apple/NOUN ./PUNCT"
    );
}

#[test]
fn shipped_models_reach_their_documented_dev_accuracy() {
    let dev = repo().join("../shared/data/ud/en_ewt/en_ewt-ud-dev.conllu");
    if !dev.is_file() {
        skip(&format!("{} not found", dev.display()));
        return;
    }
    for name in ["en_ewt.postag", "en_ewt_micro.postag", "en_ewt_nano.postag"] {
        let path = repo().join("models").join(name);
        let ev: Value = serde_json::from_str(&postag(
            &[
                "eval",
                "--model",
                path.to_str().unwrap(),
                "--data",
                dev.to_str().unwrap(),
                "--json",
            ],
            "",
        ))
        .unwrap();
        let accuracy = ev["accuracy"].as_f64().unwrap();
        let documented = documented_accuracy(name);
        println!(
            "{name}: dev accuracy {:.4}% (documented {:.2}%)",
            100.0 * accuracy,
            100.0 * documented
        );
        assert!(
            accuracy >= documented - 5e-5,
            "{name}: dev accuracy {accuracy} below the documented {documented}"
        );
    }
}

/// `postag inspect --json` of a shipped model, for sentences of `tokens` tokens.
fn inspect(name: &str, tokens: usize) -> Value {
    let path = repo().join("models").join(name);
    let tokens = tokens.to_string();
    let args = [
        "inspect",
        "--model",
        path.to_str().unwrap(),
        "--json",
        "--tokens",
        &tokens,
    ];
    serde_json::from_str(&postag(&args, "")).unwrap()
}

#[test]
fn micro_model_fits_a_microcontroller() {
    let info = inspect("en_ewt_micro.postag", 64);
    assert_eq!(info["weights"], "int8");
    assert!(
        info["bytes"].as_u64().unwrap() <= 256 * 1024,
        "micro blob {} bytes",
        info["bytes"]
    );
    assert!(
        info["scratch_bytes"].as_u64().unwrap() <= 32 * 1024,
        "micro scratch {} bytes",
        info["scratch_bytes"]
    );
}

#[test]
fn nano_model_fits_a_micro_bit() {
    // 256 KB of flash (the blob beside the code) and 16 KB of RAM, of which the scratch
    // of the low-memory schedule for 32-token sentences takes this much (the micro:bit
    // firmware test runs it).
    let info = inspect("en_ewt_nano.postag", 32);
    assert_eq!(info["weights"], "int8");
    assert!(
        info["bytes"].as_u64().unwrap() <= 200 * 1024,
        "nano blob {} bytes",
        info["bytes"]
    );
    let least = info["min_scratch_bytes"].as_u64().unwrap();
    assert!(least <= 9 * 1024, "nano scratch {least} bytes");
    assert!(least < info["scratch_bytes"].as_u64().unwrap());
}

/// The README's quick start prints what the README says it prints.
#[test]
fn readme_quick_start_prints_what_it_shows() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let quick = readme
        .split("## Quick start")
        .nth(1)
        .expect("a Quick start section");
    let command = quick
        .lines()
        .find(|l| l.starts_with("echo \""))
        .expect("an echo command");
    let sentence = command.split('"').nth(1).unwrap();
    let shown = quick
        .split("```text\n")
        .nth(1)
        .and_then(|b| b.split("\n```").next())
        .expect("the printed output in a text block");
    assert_eq!(postag(&["tag"], &format!("{sentence}\n")).trim_end(), shown);
}

/// The built-in model carries a segmenter: raw text comes out as sentences of tokens,
/// multiword tokens expanded into UD's words.
#[test]
fn built_in_model_tags_raw_text() {
    let out = postag(
        &["tag", "--format", "raw", "--raw-output", "text"],
        "Hello, world! We're gonna go.\n",
    );
    assert_eq!(
        out,
        "Hello/INTJ ,/PUNCT world/NOUN !/PUNCT\nWe/PRON 're/AUX gon/VERB na/PART go/VERB ./PUNCT\n"
    );
}

/// A paragraph wrapped over several lines, with CRLF line ends and a tab, is segmented as
/// the same text on one line with spaces: a line break inside a paragraph is no sentence
/// end (and `\r` no unknown character glued to the tokens).
#[test]
fn built_in_model_reads_a_wrapped_crlf_paragraph_as_one_line() {
    let one_line = "President Bush on Tuesday nominated two individuals to replace retiring jurists on federal courts in the Washington area. Bush nominated Jennifer M. Anderson for a 15-year term.\n";
    let wrapped = "President Bush on Tuesday nominated two\r\nindividuals to replace retiring jurists on\r\nfederal courts in the Washington area.\tBush\r\nnominated Jennifer M. Anderson for a 15-year term.\r\n";
    let args = ["tag", "--format", "raw", "--raw-output", "text"];
    let want = postag(&args, one_line);
    assert_eq!(want.lines().count(), 2, "{want}");
    assert_eq!(postag(&args, wrapped), want);
}

/// One sentence per line with CRLF line ends, and two spaces after a full stop, are
/// segmented as with LF and one space: a run of whitespace is one space to the network.
#[test]
fn built_in_model_reads_a_whitespace_run_as_one_space() {
    let lf = "The cat sat on the mat.\nIt was warm there, and quiet.\nThen the dog came in.\nWe're gonna go now.\n";
    let args = ["tag", "--format", "raw", "--raw-output", "text"];
    let want = postag(&args, lf);
    assert_eq!(postag(&args, &lf.replace('\n', "\r\n")), want);
    assert_eq!(postag(&args, &lf.replace(".\n", ".  ")), want);
    assert_eq!(postag(&args, &lf.replace('\n', " \t\r\n")), want);
}

/// A word that a 2,048-character window ends in the middle of is labelled whole by the
/// next window: the network's labels at a window's end, read without the text after
/// it, end no sentence there (they once split the word in two, with a sentence end
/// inside it). The paragraph's last sentence reads as it does alone.
#[test]
fn a_word_across_a_window_end_is_one_token() {
    let args = ["tag", "--format", "raw", "--raw-output", "text"];
    let last = "The cat sat on Donaudampfschifffahrtsgesellschaftskapitän is a word.";
    let alone = postag(&args, &format!("{last}\n"));
    assert_eq!(alone.lines().count(), 1, "{alone}");
    // The word (42 characters) starts at character 2,007 to 2,040 of the paragraph
    // (leading whitespace moves it), across the first window's end (character 2,048).
    for repeats in 83..=84 {
        for extra in ["", " ", "  ", &" ".repeat(9)] {
            let text = format!(
                "{extra}{}{last}\n",
                "The cat sat on the mat. ".repeat(repeats)
            );
            let out = postag(&args, &text);
            assert_eq!(
                out.lines().last(),
                alone.lines().next(),
                "{repeats} {extra:?}"
            );
            assert_eq!(out.lines().count(), repeats + 1, "{repeats} {extra:?}");
        }
    }
    // Where no token ends in the window's second half before its last characters (a
    // long token, or a long run of whitespace, spans the middle), the tokens labelled
    // there are labelled again too: "3.5" was cut into "3" and ".5" at the window's end.
    let last = "It costs 3.5 dollars today.";
    let alone = postag(&args, &format!("{last}\n"));
    for text in [
        format!("See https://example.com/?q={} {last}\n", "a".repeat(2012)),
        format!("The cat sat.{}{last}\n", " ".repeat(2025)),
    ] {
        let out = postag(&args, &text);
        assert!(out.ends_with(alone.trim_start_matches("It/PRON ")), "{out}");
    }
}
