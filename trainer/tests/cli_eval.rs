//! End-to-end runs of the real `postag` binary: `eval` and its JSON.

mod common;

use common::{ok, ok_with_input};
use postag_core::Model;
use postag_testutil::{repo, workdir};
use serde_json::{json, Value};

/// A CoNLL-U sentence of `form/TAG` words (UPOS column).
fn conllu(words: &[(&str, &str)]) -> String {
    let mut s = String::new();
    for (i, (form, tag)) in words.iter().enumerate() {
        s.push_str(&format!("{}\t{form}\t_\t{tag}\t_\t_\t_\t_\t_\t_\n", i + 1));
    }
    s.push('\n');
    s
}

/// A category without words, and a tag never predicted or never gold, have nothing to
/// divide by: JSON `null` there (the table says `n/a`), never an accuracy of 0.
#[test]
fn eval_json_is_null_where_nothing_is_counted() {
    let dir = workdir("eval-null");
    let shipped = std::fs::read(repo().join("models/en_ewt.postag")).unwrap();
    let model = Model::from_bytes(&shipped).unwrap();
    // Premises, checked on the built-in model: the words are known (or not), and the
    // tagger gives these tags.
    for w in ["The", "dog", "."] {
        assert!(model.known_word_row(w).is_some(), "{w}");
    }
    assert!(model.known_word_row("Qzxvkjw").is_none());
    assert_eq!(
        ok_with_input(&dir, &["tag"], b"The dog .\n"),
        "The/DET dog/NOUN ./PUNCT\n"
    );

    // Every word known; gold says X where the model says NOUN.
    std::fs::write(
        dir.join("known.conllu"),
        conllu(&[("The", "DET"), ("dog", "X"), (".", "PUNCT")]),
    )
    .unwrap();
    let ev: Value =
        serde_json::from_str(&ok(&dir, &["eval", "--data", "known.conllu", "--json"])).unwrap();
    assert_eq!(ev["words"], 3);
    assert_eq!(ev["correct"], 2);
    assert_eq!(
        ev["known"],
        json!({"words": 3, "correct": 2, "accuracy": 2.0 / 3.0})
    );
    assert_eq!(
        ev["unknown"],
        json!({"words": 0, "correct": 0, "accuracy": null})
    );
    let tags = &ev["per_tag"];
    assert_eq!(
        tags["X"],
        json!({"support": 1, "true_positives": 0, "false_positives": 0,
               "precision": null, "recall": 0.0, "f1": 0.0}),
        "never predicted: no precision"
    );
    assert_eq!(
        tags["NOUN"],
        json!({"support": 0, "true_positives": 0, "false_positives": 1,
               "precision": 0.0, "recall": null, "f1": 0.0}),
        "never gold: no recall"
    );
    assert_eq!(
        tags["DET"],
        json!({"support": 1, "true_positives": 1, "false_positives": 0,
               "precision": 1.0, "recall": 1.0, "f1": 1.0})
    );
    let table = ok(&dir, &["eval", "--data", "known.conllu"]);
    let row = |name: &str| -> Vec<String> {
        let line = table
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no {name} row: {table}"));
        line.split_whitespace().map(str::to_string).collect()
    };
    assert_eq!(row("unknown"), ["unknown", "0", "words", "n/a"]);
    assert_eq!(row("known"), ["known", "3", "words", "66.67%"]);
    assert_eq!(row("X"), ["X", "n/a", "0.0000", "0.0000", "1"]);
    assert_eq!(row("NOUN"), ["NOUN", "0.0000", "n/a", "0.0000", "0"]);

    // Every word unknown: no accuracy for the known ones.
    std::fs::write(dir.join("unknown.conllu"), conllu(&[("Qzxvkjw", "PROPN")])).unwrap();
    let ev: Value =
        serde_json::from_str(&ok(&dir, &["eval", "--data", "unknown.conllu", "--json"])).unwrap();
    assert_eq!(
        ev["known"],
        json!({"words": 0, "correct": 0, "accuracy": null})
    );
    assert_eq!(ev["unknown"]["words"], 1);
    assert!(ev["unknown"]["accuracy"].is_f64(), "{ev}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A word a model without an unknown-word entry (or a character one without an
/// unknown-char entry) cannot read is named with its own line of the input, by `eval`,
/// `bench`, `tag --format conllu` and `tag --format raw` (a file or standard input),
/// not with its sentence's first line or number.
#[test]
fn a_word_outside_the_vocabulary_is_named_with_its_own_line() {
    let dir = workdir("eval-oov-line");
    // The fixture's vocabulary has "E" and "êÇMT" and no "<unk>".
    let (st, vocab) = common::torch_fixture_files("bi1_word_04");
    common::succeeded(
        &[],
        common::import_torch(&dir, &st, &vocab, "w.postag", &[]),
    );
    let text = "# sent_id = 1\n1\tE\t_\tVERB\t_\t_\t_\t_\t_\t_\n2\têÇMT\t_\tDET\t_\t_\t_\t_\t_\t_\n\n\
                # sent_id = 2\n1\tE\t_\tVERB\t_\t_\t_\t_\t_\t_\n2-3\tEhello\t_\t_\t_\t_\t_\t_\t_\t_\n\
                2\tE\t_\tDET\t_\t_\t_\t_\t_\t_\n3\thello\t_\tVERB\t_\t_\t_\t_\t_\t_\n\n";
    assert_eq!(
        text.lines().nth(8),
        Some("3\thello\t_\tVERB\t_\t_\t_\t_\t_\t_")
    );
    std::fs::write(dir.join("f.conllu"), text).unwrap();
    let said = "word \"hello\" is not in the model's vocabulary";
    let err = common::fails(&dir, &["eval", "--model", "w.postag", "--data", "f.conllu"]);
    assert!(err.contains(&format!("f.conllu:9: {said}")), "{err}");
    let bench = [
        "bench",
        "--model",
        "w.postag",
        "--data",
        "f.conllu",
        "--seconds",
        "0.1",
    ];
    let err = common::fails(&dir, &bench);
    assert!(err.contains(&format!("f.conllu:9: {said}")), "{err}");
    let tag = ["tag", "--model", "w.postag", "--format", "conllu"];
    let err = common::fails(&dir, &[&tag[..], &["--input", "f.conllu"]].concat());
    assert!(err.contains(&format!("f.conllu:9: {said}")), "{err}");
    let out = common::run_with_input(&dir, &tag, text.as_bytes());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains(&format!("<stdin>:9: {said}")),
        "{err}"
    );

    // Raw text: the input's line of the word (after the segmenter), not a sentence
    // number of the output.
    let one = "# text = E E\n1\tE\t_\tVERB\t_\t_\t_\t_\t_\t_\n2\tE\t_\tDET\t_\t_\t_\t_\t_\t_\n\n";
    std::fs::write(dir.join("seg.conllu"), one.repeat(8)).unwrap();
    let seg = ["segmenter", "--model", "w.postag", "--train", "seg.conllu"];
    common::succeeded(
        &[],
        common::run_with_input(
            &dir,
            &[&seg[..], &["--steps", "5", "-o", "ws.postag"]].concat(),
            b"",
        ),
    );
    std::fs::write(dir.join("in.txt"), "E E\n\nE\r\nhello E\n").unwrap();
    let raw = ["tag", "--model", "ws.postag", "--format", "raw"];
    let err = common::fails(&dir, &[&raw[..], &["--input", "in.txt"]].concat());
    assert!(
        err.contains("in.txt:4: word \"") && err.contains("is not in the model's vocabulary"),
        "{err}"
    );
    let out = common::run_with_input(&dir, &raw, b"E\nE\n\nhello\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("<stdin>:4: word \""),
        "{err}"
    );

    // A known word with a character the char vocabulary lacks: "J" renamed "zJ" (no
    // "z" among the fixture's characters, and no "<unk>" in either vocabulary).
    let (st, vocab) = common::torch_fixture_files("bi1_char_bi1_25");
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(vocab).unwrap()).unwrap();
    assert!(v["char_to_ix"].get("z").is_none() && v["char_to_ix"].get("<unk>").is_none());
    let words = v["word_to_ix"].as_object_mut().unwrap();
    let row = words.remove("J").unwrap();
    words.insert("zJ".into(), row);
    std::fs::write(dir.join("c.vocab.json"), v.to_string()).unwrap();
    let vocab = dir.join("c.vocab.json");
    common::succeeded(
        &[],
        common::import_torch(&dir, &st, &vocab, "c.postag", &[]),
    );
    let text = "1\tnaïve\t_\tT0\t_\t_\t_\t_\t_\t_\n\n1\tP\t_\tT0\t_\t_\t_\t_\t_\t_\n\
                2\tzJ\t_\tT1\t_\t_\t_\t_\t_\t_\n\n";
    std::fs::write(dir.join("c.conllu"), text).unwrap();
    let err = common::fails(&dir, &["eval", "--model", "c.postag", "--data", "c.conllu"]);
    assert!(
        err.contains("c.conllu:4: character 'z' is not in the model's char vocabulary"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Gold tags outside the model's tag set (XPOS in the UPOS column, another tag set)
/// can only count as errors: `eval` and `eval --raw` warn, counting them and naming the
/// first one's line; data whose tags the model has gets no warning.
#[test]
fn gold_tags_the_model_lacks_are_warned_about() {
    let dir = workdir("eval-unknown-tags");
    let good = format!(
        "# text = The dog .\n{}",
        conllu(&[("The", "DET"), ("dog", "NOUN"), (".", "PUNCT")])
    );
    let xpos = format!(
        "# text = The dog .\n{}",
        conllu(&[("The", "DT"), ("dog", "NN"), (".", "PUNCT")])
    );
    std::fs::write(dir.join("good.conllu"), good).unwrap();
    std::fs::write(dir.join("xpos.conllu"), xpos).unwrap();
    for raw in [false, true] {
        let args = |data: &'static str| {
            let mut a = vec!["eval", "--data", data];
            a.extend(raw.then_some("--raw"));
            a
        };
        let out = common::run(&dir, &args("xpos.conllu"));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{err}");
        assert!(
            err.contains(
                "warning: xpos.conllu: 2 of 3 gold UPOS tags are not among the model's 17 tags \
                 (the first: \"DT\" at line 2); each counts as an error"
            ),
            "raw {raw}: {err}"
        );
        let out = common::run(&dir, &args("good.conllu"));
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "raw {raw}: {:?}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
