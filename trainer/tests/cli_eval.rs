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
