//! `NORMALIZE_LOWERCASE` equals Python's `str.lower()`: for every Unicode scalar value,
//! for Final_Sigma contexts and one-to-many mappings, against the fixture Python wrote
//! (`golden/python_lower.txt`); and the generated table is what its generator writes.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use postag_core::format::{NORMALIZE_FOLD_DIGITS, NORMALIZE_LOWERCASE};
use postag_core::vocab::{cmp_normalized, normalized, UNICODE_VERSION};
use postag_testutil::{skip, workdir};

const BOTH: u8 = NORMALIZE_LOWERCASE | NORMALIZE_FOLD_DIGITS;

fn core_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fixture_path() -> PathBuf {
    core_dir().join("tests/golden/python_lower.txt")
}

fn generator() -> PathBuf {
    core_dir().join("src/lowercase/gen_table.py")
}

fn table_path() -> PathBuf {
    core_dir().join("src/lowercase/table.rs")
}

/// The fixture: (scalars, words), each as (input, Python's lower()).
struct Fixture {
    version: String,
    scalars: Vec<(String, String)>,
    words: Vec<(String, String)>,
}

fn decode(hex: &str) -> String {
    hex.split_whitespace()
        .map(|h| char::from_u32(u32::from_str_radix(h, 16).unwrap()).unwrap())
        .collect()
}

fn fixture() -> Fixture {
    let text = std::fs::read_to_string(fixture_path()).unwrap();
    let version = text
        .lines()
        .next()
        .and_then(|l| l.split("Unicode ").nth(1))
        .and_then(|rest| rest.split(':').next())
        .unwrap()
        .to_string();
    let mut f = Fixture {
        version,
        scalars: Vec::new(),
        words: Vec::new(),
    };
    let mut section = "";
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        if line.starts_with('[') {
            section = line;
            continue;
        }
        let (input, lower) = line.split_once('\t').unwrap();
        let pair = (decode(input), decode(lower));
        match section {
            "[scalars]" => f.scalars.push(pair),
            "[words]" => f.words.push(pair),
            other => panic!("unknown fixture section {other:?}"),
        }
    }
    f
}

fn fold_digits(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_digit() { '0' } else { c })
        .collect()
}

/// Checks `normalized` and `cmp_normalized` of `word` against `expected`; the reason
/// it differs, if it does.
fn check(word: &str, flags: u8, expected: &str) -> Option<String> {
    let got: String = normalized(word, flags).collect();
    if got != expected {
        return Some(format!(
            "{word:?} (flags {flags}): normalized {got:?}, Python {expected:?}"
        ));
    }
    let mut longer = expected.to_string();
    longer.push('a');
    let orders = [
        (expected.as_bytes(), Ordering::Equal),
        (longer.as_bytes(), Ordering::Less),
        (&expected.as_bytes()[..expected.len().saturating_sub(1)], {
            if expected.is_empty() {
                Ordering::Equal
            } else {
                Ordering::Greater
            }
        }),
    ];
    for (stored, want) in orders {
        let got = cmp_normalized(word, flags, stored);
        if got != want {
            return Some(format!(
                "{word:?} (flags {flags}): cmp_normalized with {stored:?} is {got:?}, expected {want:?}"
            ));
        }
    }
    None
}

fn assert_no_failures(failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{} differences from Python's str.lower(), first ones:\n{}",
        failures.len(),
        failures[..failures.len().min(20)].join("\n")
    );
}

#[test]
fn every_scalar_value_lowercases_like_python() {
    let f = fixture();
    assert!(f.scalars.len() > 1000, "fixture has too few scalars");
    let changed: HashMap<char, String> = f
        .scalars
        .into_iter()
        .map(|(c, l)| (c.chars().next().unwrap(), l))
        .collect();
    let mut failures = Vec::new();
    for c in (0..=0x10FFFF).filter_map(char::from_u32) {
        let word = c.to_string();
        let expected = changed.get(&c).cloned().unwrap_or_else(|| word.clone());
        failures.extend(check(&word, NORMALIZE_LOWERCASE, &expected));
        failures.extend(check(&word, BOTH, &fold_digits(&expected)));
        // Without the flag, nothing changes.
        failures.extend(check(&word, 0, &word));
    }
    assert_no_failures(failures);
}

#[test]
fn words_lowercase_like_python_in_context() {
    let f = fixture();
    assert!(f.words.len() > 400, "fixture has too few words");
    let mut failures = Vec::new();
    for (word, expected) in &f.words {
        failures.extend(check(word, NORMALIZE_LOWERCASE, expected));
        failures.extend(check(word, BOTH, &fold_digits(expected)));
        failures.extend(check(word, NORMALIZE_FOLD_DIGITS, &fold_digits(word)));
    }
    // cmp_normalized orders like the bytes of Python's lower() against any stored word.
    for (word, expected) in &f.words {
        for (_, other) in f.words.iter().take(40) {
            let got = cmp_normalized(word, NORMALIZE_LOWERCASE, other.as_bytes());
            if got != expected.as_bytes().cmp(other.as_bytes()) {
                failures.push(format!("{word:?} against {other:?}: {got:?}"));
            }
        }
    }
    assert_no_failures(failures);
}

#[test]
fn final_sigma_and_one_to_many_examples() {
    let lower = |w: &str| normalized(w, NORMALIZE_LOWERCASE).collect::<String>();
    assert_eq!(lower("ΤΟΥΣ"), "τους");
    assert_eq!(lower("Σ"), "σ");
    assert_eq!(lower("ΑΣ."), "ας.");
    assert_eq!(lower("ΑΣ'Α"), "ασ'α");
    assert_eq!(lower("ΟΔΥΣΣΕΥΣ"), "οδυσσευς");
    assert_eq!(lower("A\u{ad}Σ"), "a\u{ad}ς");
    assert_eq!(lower("İ"), "i\u{307}");
    assert_eq!(lower("ǅ"), "ǆ");
    assert_eq!(
        cmp_normalized("ΤΟΥΣ", NORMALIZE_LOWERCASE, "τους".as_bytes()),
        Ordering::Equal
    );
}

#[test]
fn fixture_and_table_follow_one_unicode_version() {
    assert_eq!(fixture().version, UNICODE_VERSION);
}

fn python_unicode_version() -> Option<String> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import unicodedata; print(unicodedata.unidata_version)",
        ])
        .output()
        .ok()?;
    assert!(out.status.success(), "python3 failed: {out:?}");
    Some(String::from_utf8(out.stdout).unwrap().trim().to_string())
}

#[test]
fn generated_table_and_fixture_are_up_to_date() {
    let Some(version) = python_unicode_version() else {
        skip("python3 not found, the lowercase table's generator was not run");
        return;
    };
    if version != UNICODE_VERSION {
        skip(&format!(
            "python3 has Unicode {version}, the lowercase table follows {UNICODE_VERSION} \
             (Python 3.11): run the generator with that Python"
        ));
        return;
    }
    let dir = workdir("lowercase-table");
    let (table, fixture) = (dir.join("table.rs"), dir.join("python_lower.txt"));
    let status = Command::new("python3")
        .arg(generator())
        .arg(&table)
        .arg(&fixture)
        .status()
        .unwrap();
    assert!(status.success(), "gen_table.py failed");
    for (fresh, committed) in [(table, table_path()), (fixture, fixture_path())] {
        assert!(
            std::fs::read(&fresh).unwrap() == std::fs::read(&committed).unwrap(),
            "{} is out of date: run `python3 core/src/lowercase/gen_table.py`",
            committed.display()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
