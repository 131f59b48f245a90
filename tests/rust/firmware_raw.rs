//! Raw text on a Cortex-M4F under QEMU: `tests/firmware/raw.c`, linked with
//! `libpostag.a` for `thumbv7em-none-eabihf` and the shipped English model (it has a
//! segmenter) in flash, segments and tags a paragraph through `postag_segment` and
//! `postag_tag_text`; every token, word and tag must equal the host core's
//! (`postag_tests::raw::expected`, on the scalar kernels the Cortex-M runs). Prints the
//! figures: instructions per KB of text segmented, and segmented and tagged.
//!
//! Uses `startup.S`, `link.ld` and `model.S` of `tests/firmware` as the tagging
//! firmware does, with its own build and run steps here.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use postag_core::arch::{self, Level};
use postag_core::segment::{Segmenter, WINDOW};
use postag_tests::raw::{self, Place};
use postag_tests::{
    fields, libpostag_with_profile, repo, require, require_tools, run, rust_target_installed,
};

const TARGET: &str = "thumbv7em-none-eabihf";
const ARCH_FLAGS: &[&str] = &[
    "-mcpu=cortex-m4",
    "-mthumb",
    "-mfloat-abi=hard",
    "-mfpu=fpv4-sp-d16",
];
/// Instructions per SysTick tick: the 25 MHz clock under `-icount shift=0` (1 ns each).
const INSTRUCTIONS_PER_TICK: u64 = 40;

fn tmp() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("firmware_raw")
}

/// The paragraph: the English sample three times, about 1 KB.
fn text() -> String {
    [raw::ENGLISH; 3].join(" ")
}

fn text_header(text: &str) -> String {
    let mut h = String::from("static const uint8_t RAW_TEXT[] = {");
    for (i, b) in text.bytes().enumerate() {
        if i % 16 == 0 {
            h.push_str("\n   ");
        }
        write!(h, " {b},").unwrap();
    }
    writeln!(h, "\n}};\n#define RAW_TEXT_LEN {}u", text.len()).unwrap();
    h
}

#[test]
fn firmware_under_qemu_segments_and_tags_raw_text_like_the_host_core() {
    if !require_tools(&["arm-none-eabi-gcc", "qemu-system-arm"])
        || !require(
            rust_target_installed(TARGET),
            &format!("rust target {TARGET} is not installed (rustup target add {TARGET})"),
        )
    {
        return;
    }
    let dir = tmp();
    std::fs::create_dir_all(&dir).unwrap();
    let lib = libpostag_with_profile(
        Path::new(env!("CARGO_TARGET_TMPDIR")),
        Some(TARGET),
        "firmware",
    );
    let model_path = repo().join("models/en_ewt.postag");
    let blob = std::fs::read(&model_path).unwrap();
    let text = text();
    std::fs::write(dir.join("raw_text.h"), text_header(&text)).unwrap();

    // The host core on the scalar kernels, the code the Cortex-M runs.
    assert!(arch::force(Some(Level::Scalar)));
    let want = raw::expected(&blob, &text, WINDOW);
    arch::force(None);
    let seg = Segmenter::from_bytes(&blob).unwrap().unwrap();
    let max_token_words = seg
        .multiword_table()
        .map(|(_, w)| w.split('\t').count())
        .max()
        .unwrap_or(1);
    let first_word = seg
        .multiword_table()
        .map(|(_, w)| w.split('\t').next().unwrap().len())
        .max()
        .unwrap_or(0);
    let max_tokens = want.max_tokens;
    let max_words = max_tokens * max_token_words;
    // The host's size for its own (64-bit) pointers: at least the 32-bit target's; room
    // for each token's first word in its case.
    let model = postag_core::Model::from_bytes(&blob).unwrap();
    let scratch = max_words * 18
        + max_tokens * 16
        + max_tokens * first_word * postag_core::segment::RECASE_GROWTH
        + seg
            .scratch_bytes(WINDOW)
            .unwrap()
            .max(model.scratch_bytes(max_words.min(4096)).unwrap())
        + 16;

    let fw = repo().join("tests/firmware");
    let elf = dir.join("raw.elf");
    run(Command::new("arm-none-eabi-gcc")
        .args(ARCH_FLAGS)
        .args(["-std=gnu99", "-O2", "-g", "-Wall", "-Wextra", "-Werror"])
        .args(["-ffunction-sections", "-fdata-sections", "-nostdlib"])
        .arg("-I")
        .arg(repo().join("include"))
        .arg("-I")
        .arg(&dir)
        .arg(format!("-DWINDOW={WINDOW}"))
        .arg(format!("-DSCRATCH_BYTES={scratch}"))
        .arg(format!("-DMAX_TOKENS={max_tokens}"))
        .arg(format!("-DMAX_WORDS={max_words}"))
        .arg(format!("-DPOSTAG_MODEL_PATH=\"{}\"", model_path.display()))
        .arg("-T")
        .arg(fw.join("link.ld"))
        .args(["-Wl,--gc-sections", "-Wl,--no-warn-execstack"])
        .arg(fw.join("startup.S"))
        .arg(fw.join("model.S"))
        .arg(fw.join("raw.c"))
        .arg(fw.join("support.c"))
        .arg(&lib.archive)
        .arg("-lgcc")
        .arg("-o")
        .arg(&elf));
    let out = run(Command::new("timeout")
        .arg("300")
        .arg("qemu-system-arm")
        .args(["-M", "mps2-an386", "-display", "none", "-monitor", "none"])
        .args(["-serial", "none", "-chardev", "stdio,id=semi0"])
        .args([
            "-semihosting-config",
            "enable=on,target=native,chardev=semi0",
        ])
        .args(["-icount", "shift=0", "-kernel"])
        .arg(&elf));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.last(), Some(&"done"), "firmware output:\n{stdout}");

    let numbers = |prefix: &str| -> Vec<Vec<String>> {
        lines
            .iter()
            .filter_map(|l| l.strip_prefix(prefix))
            .map(|l| l.split_whitespace().map(str::to_string).collect())
            .collect()
    };
    let want_segment: Vec<Vec<String>> = want
        .tokens
        .iter()
        .map(|(t, _, _)| vec![t.start.to_string(), t.end.to_string(), t.flags.to_string()])
        .collect();
    assert_eq!(numbers("segment "), want_segment, "postag_segment");
    let want_tokens: Vec<Vec<String>> = want
        .tokens
        .iter()
        .map(|(t, first, n)| {
            [t.start, t.end, t.flags, *first as u32, *n as u32]
                .iter()
                .map(u32::to_string)
                .collect()
        })
        .collect();
    assert_eq!(numbers("token "), want_tokens, "postag_tag_text tokens");
    let want_words: Vec<Vec<String>> = want
        .words
        .iter()
        .map(|(place, len, tag)| {
            let (c, at) = match place {
                Place::Text(a) => ("t", a),
                Place::Blob(a) => ("b", a),
            };
            vec![c.into(), at.to_string(), len.to_string(), tag.to_string()]
        })
        .collect();
    assert_eq!(
        numbers("word "),
        want_words,
        "postag_tag_text words and tags"
    );

    let head = fields(lines.iter().find(|l| l.starts_with("model ")).unwrap());
    let figures = fields(lines.iter().find(|l| l.starts_with("figures ")).unwrap());
    let kb = text.len() as f64 / 1024.0;
    let per_kb = |ticks: u64| (ticks * INSTRUCTIONS_PER_TICK) as f64 / kb;
    println!(
        "firmware (Cortex-M4F, QEMU mps2-an386), models/en_ewt.postag, libpostag.a profile firmware, window {WINDOW}:"
    );
    println!(
        "  {} bytes of text: {} tokens, {} words, tags equal the host's",
        text.len(),
        figures["tokens"],
        figures["words"]
    );
    println!(
        "  postag_segment: {:.0} instructions per KB of text",
        per_kb(figures["segment_ticks"])
    );
    println!(
        "  postag_tag_text (segment, expand, tag): {:.0} instructions per KB of text",
        per_kb(figures["tag_text_ticks"])
    );
    println!(
        "  scratch {} bytes (segmenter alone {}); stack high-water mark {} bytes; model load {} instructions",
        head["scratch_bytes"],
        head["segment_scratch"],
        figures["stack_used"],
        head["load_ticks"] * INSTRUCTIONS_PER_TICK
    );
}
