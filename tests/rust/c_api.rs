//! The C API from C and C++ programs built against `include/postag.h` and
//! `libpostag.a`: `tests/c/test_api.c` plain, under AddressSanitizer and
//! UndefinedBehaviorSanitizer, and under valgrind; a C++ translation unit; and the
//! README's example.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use postag_core::arch::{self, Level};
use postag_core::Model;
use postag_tests::cases::{write_manifest, Case};
use postag_tests::{models, raw, *};

fn tmp() -> &'static Path {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
}

/// Every parity fixture with the Rust core's outputs at the detected kernel level, the
/// seed's LSTM (when `../shared` is present), and the blobs the bad-input checks need.
fn manifest() -> &'static Path {
    static MANIFEST: OnceLock<PathBuf> = OnceLock::new();
    MANIFEST.get_or_init(|| write_cases("cases"))
}

/// The kernel level the library runs at under valgrind, which emulates no AVX-512: a
/// processor with it runs the AVX2 kernels there.
fn valgrind_level() -> Level {
    match arch::best() {
        Level::Avx512 => Level::Avx2,
        level => level,
    }
}

/// [`manifest`] with the core's outputs at [`valgrind_level`].
fn valgrind_manifest() -> &'static Path {
    if valgrind_level() == arch::best() {
        return manifest();
    }
    static MANIFEST: OnceLock<PathBuf> = OnceLock::new();
    MANIFEST.get_or_init(|| {
        assert!(arch::force(Some(valgrind_level())));
        let path = write_cases("cases-valgrind");
        arch::force(None);
        path
    })
}

/// Writes the cases of [`manifest`], with the outputs of the core at this thread's
/// level, into `dir` under the test's temporary directory.
fn write_cases(dir: &str) -> PathBuf {
    let mut cases: Vec<Case> = torch_fixtures()
        .iter()
        .map(|name| {
            let expected = fixture_expected(name);
            let stream = &expected["stream"];
            let stream_sentence = stream["sentence"].as_u64().map(|i| i as usize);
            Case::from_core(
                name,
                fixture_blob(name),
                &fixture_sentences(&expected),
                |i| {
                    // PyTorch's random initial state where the fixture has one.
                    (Some(i) == stream_sentence).then(|| {
                        let mut s = floats(&stream["h0"]);
                        s.extend(floats(&stream["c0"]));
                        s
                    })
                },
            )
        })
        .collect();
    if let Some(shared) = shared() {
        cases.push(models::seed_lstm_3x3(&shared));
    }
    cases.push(Case::from_core(
        "no_unknown_char",
        models::without_unknown_char("bi1_char_bi1_unk_14"),
        &[],
        |_| None,
    ));
    // A model in the int8 panel layout, on the raw-text cases' paragraph split at spaces.
    let words: Vec<String> = raw::ENGLISH.split(' ').map(String::from).collect();
    cases.push(Case::from_core(
        "en_ewt_int8_panels",
        models::shipped_in_int8_panels(),
        &[words[..9].to_vec(), words.clone()],
        |_| None,
    ));
    let good = fixture_blob("uni1_word_00");
    let raw = [
        ("malformed_header", models::malformed_header(&good)),
        ("invalid_model", models::invalid_model(&good)),
    ];
    write_manifest(&tmp().join(dir), &cases, &raw)
}

/// The raw-text cases: the shipped English model (it has a segmenter) on a paragraph,
/// in the command line's window and in a small one (several windows per text).
fn raw_cases() -> &'static [PathBuf] {
    static CASES: OnceLock<Vec<PathBuf>> = OnceLock::new();
    CASES.get_or_init(|| {
        let model = repo().join("models/en_ewt.postag");
        let dir = tmp().join("raw");
        vec![
            raw::write_case(
                &dir,
                "window_2048",
                &model,
                raw::ENGLISH,
                postag_core::segment::WINDOW,
            ),
            raw::write_case(&dir, "window_24", &model, raw::ENGLISH, 24),
        ]
    })
}

fn host_lib() -> StaticLib {
    libpostag(tmp(), None)
}

/// Builds `tests/c/test_api.c` into `tmp/<flavor>/test_api` with `extra` flags.
fn build_test_api(flavor: &str, extra: &[&str]) -> PathBuf {
    let c = repo().join("tests/c");
    let dir = tmp().join(flavor);
    std::fs::create_dir_all(&dir).unwrap();
    let exe = dir.join("test_api");
    let version = format!("-DEXPECTED_VERSION=\"{}\"", env!("CARGO_PKG_VERSION"));
    let format = format!("-DEXPECTED_FORMAT_VERSION={}", postag_core::FORMAT_VERSION);
    let mut flags: Vec<&str> = C_FLAGS.to_vec();
    flags.extend_from_slice(extra);
    flags.push(&version);
    flags.push(&format);
    build_program(
        "gcc",
        &flags,
        &[c.join("test_api.c"), c.join("cases.c")],
        &host_lib(),
        &exe,
    );
    exe
}

/// Runs a C test program, printing its report; panics with it on failure.
fn run_report(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "{cmd:?} failed ({})\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    assert!(stdout.contains("checks passed") && !stdout.contains("FAIL"));
}

#[test]
fn c_tests_pass() {
    if !require_tools(&["gcc"]) {
        return;
    }
    let exe = build_test_api("plain", &["-O2"]);
    run_report(
        Command::new(exe)
            .arg(manifest())
            .args(raw_cases())
            .env("POSTAG_EXPECTED_SIMD", arch::level().name()),
    );
}

#[test]
fn c_tests_pass_under_address_and_undefined_behavior_sanitizers() {
    if !require_tools(&["gcc"]) {
        return;
    }
    let exe = build_test_api(
        "sanitized",
        &[
            "-O1",
            "-g",
            "-fsanitize=address,undefined",
            "-fno-sanitize-recover=all",
            "-fno-omit-frame-pointer",
        ],
    );
    run_report(
        Command::new(exe)
            .arg(manifest())
            .args(raw_cases())
            .env(
                "ASAN_OPTIONS",
                "detect_leaks=1:abort_on_error=0:exitcode=23",
            )
            .env("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
            .env("POSTAG_EXPECTED_SIMD", arch::level().name()),
    );
}

#[test]
fn c_tests_pass_under_valgrind_without_errors_or_leaks() {
    if !require_tools(&["gcc", "valgrind"]) {
        return;
    }
    let exe = build_test_api("valgrind", &["-O1", "-g"]);
    run_report(
        Command::new("valgrind")
            .args([
                "--quiet",
                "--error-exitcode=1",
                "--leak-check=full",
                "--show-leak-kinds=all",
                "--errors-for-leak-kinds=all",
            ])
            .arg(exe)
            .arg(valgrind_manifest())
            .args(raw_cases())
            .env("POSTAG_SIMD", valgrind_level().name())
            .env("POSTAG_EXPECTED_SIMD", valgrind_level().name()),
    );
}

/// The tags the Rust core gives `tokens`, as `token TAB tag` lines.
fn core_tag_lines(blob: &[u8], tokens: &[String]) -> String {
    let model = Model::from_bytes(blob).unwrap();
    let mut scratch = vec![0u8; model.scratch_bytes(tokens.len()).unwrap()];
    let mut tags = vec![0u16; tokens.len()];
    model.tag(tokens, &mut scratch, &mut tags, None).unwrap();
    tokens
        .iter()
        .zip(&tags)
        .map(|(t, &tag)| format!("{t}\t{}\n", model.tag_name(tag as usize)))
        .collect()
}

/// A fixture blob written to a file, and a sentence of it.
fn sample(name: &str) -> (PathBuf, Vec<u8>, Vec<String>) {
    let blob = fixture_blob(name);
    let path = tmp().join(format!("{name}.postag"));
    std::fs::write(&path, &blob).unwrap();
    let sentence = fixture_sentences(&fixture_expected(name)).swap_remove(0);
    (path, blob, sentence)
}

#[test]
fn cpp_translation_unit_compiles_and_tags_like_the_core() {
    if !require_tools(&["g++"]) {
        return;
    }
    let exe = tmp().join("test_cpp");
    build_program(
        "g++",
        CXX_FLAGS,
        &[repo().join("tests/c/test_cpp.cpp")],
        &host_lib(),
        &exe,
    );
    let (path, blob, sentence) = sample("bi2_char_bi2_crf_27");
    let out = run(Command::new(&exe).arg(&path).args(&sentence));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        core_tag_lines(&blob, &sentence)
    );
}

#[test]
fn readme_example_is_tests_c_example_c_and_tags_like_the_core() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let example = std::fs::read_to_string(repo().join("tests/c/example.c")).unwrap();
    assert!(
        readme.contains(&format!("```c\n{example}```\n")),
        "README.md must show tests/c/example.c verbatim in a ```c block"
    );
    if !require_tools(&["gcc"]) {
        return;
    }
    let exe = tmp().join("example");
    build_program(
        "gcc",
        C_FLAGS,
        &[repo().join("tests/c/example.c")],
        &host_lib(),
        &exe,
    );
    let (path, blob, sentence) = sample("bi1_char_bi1_unk_14");
    let out = run(Command::new(&exe).arg(&path).args(&sentence));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        core_tag_lines(&blob, &sentence)
    );
    // A failure is reported with the status string.
    let out = Command::new(&exe)
        .arg(repo().join("README.md"))
        .arg("word")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad magic"));
    // A token's error names the tagging, not the model file.
    let out = Command::new(&exe).arg(&path).arg("").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim(), "tagging: a token is empty (zero bytes)");
}

/// The header leaves its includer's diagnostics as they were, included once or twice:
/// it exempts only its own typedef from `-Wc++-compat` and pops what it pushed.
#[test]
fn the_header_keeps_the_includers_diagnostics() {
    if !require_tools(&["gcc"]) {
        return;
    }
    let source = tmp().join("include_twice.c");
    let unit = "#pragma GCC diagnostic push\n\
                #pragma GCC diagnostic ignored \"-Wunused-variable\"\n\
                #include \"postag.h\"\n\
                #include \"postag.h\"\n\
                int f(void) { int unused; return 0; }\n\
                #pragma GCC diagnostic pop\n\
                typedef int tagged;\n";
    // Then a pairing of its own that -Wc++-compat reports: the header did not hide it.
    let own = "enum tagged { TAGGED };\n";
    for (text, compiles) in [(unit.to_string(), true), (format!("{unit}{own}"), false)] {
        std::fs::write(&source, &text).unwrap();
        let out = Command::new("gcc")
            .args(C_FLAGS)
            .args(["-fsyntax-only", "-I"])
            .arg(repo().join("include"))
            .arg(&source)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.success(), compiles, "{text}\n{err}");
        if !compiles {
            assert!(
                err.contains("-Wc++-compat") || err.contains("c++-compat"),
                "{err}"
            );
        }
    }
}
