//! `include/postag.h` agrees with the crates it describes. (`scripts/test` also
//! regenerates it with the pinned cbindgen and fails on any difference.)

use postag_tests::repo;

/// The value of `#define NAME value` in the header.
fn define(header: &str, name: &str) -> String {
    header
        .lines()
        .find_map(|l| l.strip_prefix(&format!("#define {name} ")))
        .unwrap_or_else(|| panic!("postag.h does not define {name}"))
        .trim()
        .to_string()
}

fn header() -> String {
    std::fs::read_to_string(repo().join("include/postag.h")).unwrap()
}

#[test]
fn version_macros_match_cargo_toml() {
    let h = header();
    for (name, want) in [
        ("POSTAG_VERSION_MAJOR", env!("CARGO_PKG_VERSION_MAJOR")),
        ("POSTAG_VERSION_MINOR", env!("CARGO_PKG_VERSION_MINOR")),
        ("POSTAG_VERSION_PATCH", env!("CARGO_PKG_VERSION_PATCH")),
    ] {
        assert_eq!(define(&h, name), want, "{name}");
    }
    // The workspace version is every crate's, the ffi crate's included.
    let manifest = std::fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    assert!(manifest.contains(&format!("version = \"{}\"", env!("CARGO_PKG_VERSION"))));
    let ffi = std::fs::read_to_string(repo().join("ffi/Cargo.toml")).unwrap();
    assert!(ffi.contains("version.workspace = true"));
}

#[test]
fn format_version_and_limits_match_the_core() {
    let h = header();
    assert_eq!(
        define(&h, "POSTAG_FORMAT_VERSION"),
        postag_core::FORMAT_VERSION.to_string()
    );
    assert_eq!(
        define(&h, "POSTAG_MAX_TOKENS"),
        postag_core::MAX_TOKENS.to_string()
    );
    // One size per pointer width; this target's is the one under its macro.
    let block = format!("#if defined(POSTAG_POINTER_{})", usize::BITS);
    let (_, ours) = h
        .split_once(&block)
        .expect("a POSTAG_MODEL_SIZE per pointer width");
    assert_eq!(
        define(ours, "POSTAG_MODEL_SIZE"),
        postag::POSTAG_MODEL_SIZE.to_string()
    );
}

#[test]
fn every_item_is_documented() {
    // cbindgen copies doc comments; an item without one would follow a line that is
    // not the end of a comment.
    let h = header();
    let lines: Vec<&str> = h.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let item = (line.starts_with("#define POSTAG_") && *line != "#define POSTAG_H")
            || line.starts_with("typedef struct")
            || line.starts_with("enum ")
            || (line.starts_with("postag_status postag_")
                || line.starts_with("const char *postag_"));
        if item {
            assert!(
                i > 0 && lines[i - 1].trim_start().starts_with("*/"),
                "undocumented: {line}"
            );
        }
    }
}
