//! The C API on microcontrollers: `libpostag.a` built for each board's Rust target
//! (`no_std`, no heap) linked into the C firmware of `tests/firmware/` by
//! `arm-none-eabi-gcc`, run under `qemu-system-arm` on four boards ([`BOARDS`]: Cortex-M4F,
//! Cortex-M7, Cortex-M33 and the Cortex-M0 of the BBC micro:bit). Its tags must equal the
//! host core's (scalar kernels, as on the Cortex-M), tag for tag, and its scores bit for
//! bit (soft float on the Cortex-M0 is IEEE-exact too). Prints flash and RAM use, stack
//! high-water marks, scratch use and instructions per token and per load.
//!
//! The boards are data: one firmware, one link script with the board's memory given as
//! symbols, one runner. Each board runs the shipped models that fit it; the model is one
//! parameter: `POSTAG_FIRMWARE_MODEL=path/to/model.postag` runs that model on every board
//! instead (`POSTAG_FIRMWARE_BOARDS=m4,m0` picks boards). The library is built with the
//! cargo profile `POSTAG_FIRMWARE_PROFILE` (default `firmware`, the size-optimized profile
//! of the root `Cargo.toml`; `release` is the speed profile), and with the `firmware`
//! profile its code and read-only data must stay within [`TEXT_BUDGET`] (on ARMv6-M
//! [`TEXT_BUDGET_V6M`]) and [`RODATA_BUDGET`] (a library built with `RUSTFLAGS`:
//! [`TEXT_BUDGET_FLAGS`] and [`RODATA_BUDGET_FLAGS`]), and the shipped micro model's object,
//! low-memory scratch for [`RAM_TOKENS`] tokens and stack high-water mark within
//! [`LOW_MEMORY_RAM_BUDGET`].

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use postag_core::arch::{self, Level};
use postag_core::Model;
use postag_tests::{
    fields, libpostag_with_flags, models, repo, require, require_tools, run, rust_target_installed,
};

/// Bytes of `.text` that `libpostag.a` may bring into the image (`firmware` profile) on
/// the Thumb-2 boards built without `RUSTFLAGS` (ARMv7-M), the model load, tagging and the
/// int8 DSP kernels (SMLAD, which halve the instructions per token) included.
const TEXT_BUDGET: u64 = 24 * 1024;
/// Bytes of `.text` that `libpostag.a` may bring into the image (`firmware` profile) on
/// ARMv6-M: 16-bit Thumb only, and the soft-float routines come with the library.
const TEXT_BUDGET_V6M: u64 = 26 * 1024;
/// Bytes of `.rodata` that `libpostag.a` may bring into the image (`firmware` profile).
const RODATA_BUDGET: u64 = 8 * 1024;
/// Bytes of `.text` of a library built with `RUSTFLAGS` (the Cortex-M33's `-C
/// target-feature=+dsp`): any `RUSTFLAGS` make the build bring about 1.2 KB more code
/// and 2.5 KB more read-only data (panic messages; measured with a redundant `+dsp` on
/// the Cortex-M4F build too).
const TEXT_BUDGET_FLAGS: u64 = 26 * 1024;
/// Bytes of `.rodata` of a library built with `RUSTFLAGS` (see [`TEXT_BUDGET_FLAGS`]).
/// Its panic messages share one string section, kept whole by the linker: the file
/// names of the raw-text calls' Unicode case mapping (169 bytes) come with it even
/// where the image links none of their code.
const RODATA_BUDGET_FLAGS: u64 = 10 * 1024 + 256;
/// The print buffer of the firmware (a longer line goes out in pieces).
const LINE_BYTES: usize = 128;
/// Bytes of a `postag_token` on a 32-bit target (pointer and length).
const TOKEN_BYTES: usize = 8;
/// The sentence length the figures report the RAM for, on every board.
const RAM_TOKENS: usize = 32;
/// Bytes that the shipped micro model's object, its low-memory scratch for
/// [`RAM_TOKENS`] tokens (`postag_min_scratch_size`) and the stack high-water mark (the
/// load's or tagging's) may take together (`firmware` profile): a board with 16 KiB
/// of RAM for the tagger.
const LOW_MEMORY_RAM_BUDGET: usize = 16 * 1024;

/// A board of QEMU and how to build for it.
struct Board {
    /// Short name, for `POSTAG_FIRMWARE_BOARDS`.
    key: &'static str,
    /// The CPU, for the figures.
    cpu: &'static str,
    /// `qemu-system-arm -M`.
    machine: &'static str,
    /// The Rust target `libpostag.a` is built for.
    target: &'static str,
    /// `RUSTFLAGS` of that build (the CPU, where the target's baseline lacks its DSP
    /// instructions).
    rustflags: &'static [&'static str],
    /// `arm-none-eabi-gcc` flags for the CPU, the FPU and the float ABI.
    cflags: &'static [&'static str],
    /// Flash and RAM as (origin, length) in bytes.
    flash: (u32, u32),
    ram: (u32, u32),
    /// The least stack the link must leave (the stack takes all RAM the rest leaves).
    stack_min: u32,
    /// SysTick's clock (the CPU clock) in Hz: under `-icount shift=0` one instruction
    /// takes 1 ns, so a tick is 1e9 / clock_hz instructions (checked by a calibration
    /// loop of known length).
    clock_hz: u64,
    /// The shipped models it runs (repository paths).
    models: &'static [&'static str],
    /// Sentences are cut into pieces of at most this many tokens (the RAM of the board).
    max_tokens: Option<usize>,
    /// Whether the firmware sizes its scratch with `postag_min_scratch_size` (the
    /// low-memory schedule) instead of `postag_scratch_size`.
    low_memory: bool,
    /// Bytes of `.text` and of `.rodata` `libpostag.a` may bring (`firmware` profile).
    text_budget: u64,
    rodata_budget: u64,
}

const MPS2_FLASH: (u32, u32) = (0x0000_0000, 4 << 20);
const MPS2_RAM: (u32, u32) = (0x2000_0000, 4 << 20);
const BOTH_MODELS: &[&str] = &[models::FIRMWARE_MODEL, models::FIRMWARE_NANO_MODEL];

/// Every board the test runs.
const BOARDS: &[Board] = &[
    Board {
        key: "m4",
        cpu: "Cortex-M4F",
        machine: "mps2-an386",
        target: "thumbv7em-none-eabihf",
        rustflags: &[],
        cflags: &[
            "-mcpu=cortex-m4",
            "-mthumb",
            "-mfloat-abi=hard",
            "-mfpu=fpv4-sp-d16",
        ],
        flash: MPS2_FLASH,
        ram: MPS2_RAM,
        stack_min: 32 << 10,
        clock_hz: 25_000_000,
        models: BOTH_MODELS,
        max_tokens: None,
        low_memory: false,
        text_budget: TEXT_BUDGET,
        rodata_budget: RODATA_BUDGET,
    },
    Board {
        key: "m7",
        cpu: "Cortex-M7",
        machine: "mps2-an500",
        target: "thumbv7em-none-eabihf",
        rustflags: &[],
        // QEMU's (and the AN500's) Cortex-M7 has the double-precision FPU.
        cflags: &[
            "-mcpu=cortex-m7",
            "-mthumb",
            "-mfloat-abi=hard",
            "-mfpu=fpv5-d16",
        ],
        flash: MPS2_FLASH,
        ram: MPS2_RAM,
        stack_min: 32 << 10,
        clock_hz: 25_000_000,
        models: BOTH_MODELS,
        max_tokens: None,
        low_memory: false,
        text_budget: TEXT_BUDGET,
        rodata_budget: RODATA_BUDGET,
    },
    Board {
        key: "m33",
        cpu: "Cortex-M33",
        machine: "mps2-an505",
        target: "thumbv8m.main-none-eabihf",
        // Plain thumbv8m.main has no DSP extension; the Cortex-M33 has it.
        rustflags: &["-C", "target-feature=+dsp"],
        cflags: &[
            "-mcpu=cortex-m33",
            "-mthumb",
            "-mfloat-abi=hard",
            "-mfpu=fpv5-sp-d16",
        ],
        // The CPU starts in the Secure state with its vector table at 0x10000000: the
        // Secure aliases of code SSRAM (4 MiB) and of SSRAM1 (2 MiB at 0x38000000).
        flash: (0x1000_0000, 4 << 20),
        ram: (0x3800_0000, 2 << 20),
        stack_min: 32 << 10,
        clock_hz: 20_000_000,
        models: BOTH_MODELS,
        max_tokens: None,
        low_memory: false,
        text_budget: TEXT_BUDGET_FLAGS,
        rodata_budget: RODATA_BUDGET_FLAGS,
    },
    Board {
        key: "m0",
        cpu: "Cortex-M0 (BBC micro:bit)",
        machine: "microbit",
        target: "thumbv6m-none-eabi",
        rustflags: &[],
        cflags: &["-mcpu=cortex-m0", "-mthumb", "-mfloat-abi=soft"],
        // nRF51822: 256 KiB flash, 16 KiB RAM.
        flash: (0x0000_0000, 256 << 10),
        ram: (0x2000_0000, 16 << 10),
        stack_min: 2 << 10,
        clock_hz: 16_000_000,
        models: &[models::FIRMWARE_NANO_MODEL],
        max_tokens: Some(MICROBIT_TOKENS),
        low_memory: true,
        text_budget: TEXT_BUDGET_V6M,
        rodata_budget: RODATA_BUDGET,
    },
];

/// The longest piece of a sentence the micro:bit tags (the longest test sentence; with
/// the low-memory schedule the nano model fits 36 tokens in its 16 KiB of RAM, and the
/// test prints how many fit and what 32 tokens need).
const MICROBIT_TOKENS: usize = 13;

/// Host results are computed at the scalar level, a process-wide setting: one board
/// at a time.
static HOST: Mutex<()> = Mutex::new(());

fn board(key: &str) -> &'static Board {
    BOARDS.iter().find(|b| b.key == key).expect("a board")
}

fn profile() -> String {
    std::env::var("POSTAG_FIRMWARE_PROFILE").unwrap_or_else(|_| "firmware".into())
}

fn selected(board: &Board) -> bool {
    std::env::var("POSTAG_FIRMWARE_BOARDS")
        .map(|list| list.split(',').any(|k| k.trim() == board.key))
        .unwrap_or(true)
}

/// The sentences of `tests/firmware/sentences.txt`, whitespace-tokenized, each cut into
/// pieces of at most `max_tokens` tokens.
fn sentences(max_tokens: Option<usize>) -> Vec<Vec<String>> {
    std::fs::read_to_string(repo().join("tests/firmware/sentences.txt"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .flat_map(|l| {
            let tokens: Vec<String> = l.split_whitespace().map(str::to_string).collect();
            let piece = max_tokens.unwrap_or(tokens.len());
            tokens
                .chunks(piece)
                .map(<[String]>::to_vec)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// `sentences.h`: every token's bytes in one array, with starts and lengths.
fn sentences_header(sentences: &[Vec<String>]) -> String {
    let (mut text, mut starts, mut lens, mut first, mut counts) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for s in sentences {
        first.push(starts.len());
        counts.push(s.len());
        for token in s {
            starts.push(text.len());
            lens.push(token.len());
            text.extend_from_slice(token.as_bytes());
        }
    }
    let list = |v: &[usize]| {
        v.iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let bytes: Vec<String> = text.iter().map(|b| b.to_string()).collect();
    let mut h = String::from(
        "/* Generated by tests/rust/firmware.rs from tests/firmware/sentences.txt. */\n",
    );
    writeln!(h, "#define N_SENTENCES {}", sentences.len()).unwrap();
    writeln!(
        h,
        "#define MAX_SENTENCE_TOKENS {}",
        counts.iter().max().unwrap()
    )
    .unwrap();
    writeln!(h, "static const uint8_t TEXT[] = {{{}}};", bytes.join(", ")).unwrap();
    writeln!(
        h,
        "static const uint32_t TOKEN_START[] = {{{}}};",
        list(&starts)
    )
    .unwrap();
    writeln!(
        h,
        "static const uint32_t TOKEN_LEN[] = {{{}}};",
        list(&lens)
    )
    .unwrap();
    writeln!(
        h,
        "static const uint32_t SENTENCE_START[] = {{{}}};",
        list(&first)
    )
    .unwrap();
    writeln!(
        h,
        "static const uint32_t SENTENCE_LEN[] = {{{}}};",
        list(&counts)
    )
    .unwrap();
    h
}

/// Section sizes from `arm-none-eabi-size -A`.
fn section_sizes(elf: &Path) -> BTreeMap<String, u64> {
    let out = run(Command::new("arm-none-eabi-size").arg("-A").arg(elf));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let (name, size) = (it.next()?, it.next()?.parse().ok()?);
            name.starts_with('.').then(|| (name.to_string(), size))
        })
        .collect()
}

/// Bytes per output section (`.text`, `.rodata`, ...) that input sections from
/// `libpostag.a` occupy in the linked image, from the linker map (sections dropped by
/// `--gc-sections` are listed before the memory map and do not count).
fn library_sizes(map: &Path) -> BTreeMap<String, u64> {
    let map = std::fs::read_to_string(map).unwrap();
    let (_, memory_map) = map
        .split_once("Linker script and memory map")
        .expect("a linker map");
    let (mut sizes, mut output) = (BTreeMap::new(), String::new());
    for line in memory_map.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if !line.starts_with(' ') {
            if let Some(name) = words.first().filter(|w| w.starts_with('.')) {
                output = name.to_string();
            }
            continue;
        }
        // An input section: [name] address size file.
        if let [.., address, size, file] = words[..] {
            if address.starts_with("0x") && file.contains("libpostag.a(") {
                if let Ok(size) = u64::from_str_radix(size.trim_start_matches("0x"), 16) {
                    *sizes.entry(output.clone()).or_insert(0) += size;
                }
            }
        }
    }
    sizes
}

/// What one run of the firmware gave, for the table.
struct Figures {
    board: &'static str,
    model: String,
    flash_code: u64,
    lib_text: u64,
    lib_rodata: u64,
    blob: u64,
    bss: u64,
    stack_load: u64,
    stack_tag: u64,
    scratch_needed: u64,
    scratch_touched: u64,
    tokens_longest: usize,
    ram_32: usize,
    per_token: u64,
    load: u64,
}

impl Figures {
    fn row(&self) -> String {
        let model = Path::new(&self.model)
            .file_name()
            .map_or(self.model.clone(), |n| n.to_string_lossy().into_owned());
        format!(
            "| {} | `{model}` | {} ({} + {}) | {} | {} | {} / {} | {} / {} ({} tokens) | {} | {} | {} |",
            self.board,
            self.flash_code,
            self.lib_text,
            self.lib_rodata,
            self.blob,
            self.bss,
            self.stack_load,
            self.stack_tag,
            self.scratch_needed,
            self.scratch_touched,
            self.tokens_longest,
            self.ram_32,
            self.per_token,
            self.load
        )
    }
}

/// Builds the firmware for `board` with the model `blob`, runs it under QEMU, checks its
/// tags and scores against the host core's and returns its figures.
fn run_model(board: &Board, lib: &Path, dir: &Path, name: &str, blob: &[u8]) -> Figures {
    std::fs::create_dir_all(dir).unwrap();
    let blob_path = dir.join("model.postag");
    std::fs::write(&blob_path, blob).unwrap();
    let sentences = sentences(board.max_tokens);
    std::fs::write(dir.join("sentences.h"), sentences_header(&sentences)).unwrap();

    let model = Model::from_bytes(blob).unwrap();
    let t = model.num_tags();
    let longest = sentences.iter().map(Vec::len).max().unwrap();
    let scratch = |n: usize| {
        if board.low_memory {
            model.min_scratch_bytes(n).unwrap()
        } else {
            model.scratch_bytes(n).unwrap()
        }
    };
    let scratch_bytes = scratch(longest);
    let host = host_results(&model, &sentences);

    // Build the firmware.
    let elf = build_firmware(
        board,
        lib,
        dir,
        "main.c",
        &[
            format!("-DSCRATCH_BYTES={scratch_bytes}"),
            format!("-DLOW_MEMORY={}", u8::from(board.low_memory)),
            format!("-DSCORES_LEN={}", longest * t),
        ],
    );

    // Run it, compare tags and score bits sentence by sentence.
    let stdout = qemu(board.machine, &elf);
    let lines: Vec<&str> = stdout.lines().collect();
    let (exact, worst, sentence_ticks) = compare(board.cpu, &model, &sentences, &host, &lines);
    let total_scores: usize = host.iter().map(|h| h.1.len()).sum();
    // The same f32 operations in the same order on every board (no fused multiply-add;
    // IEEE-exact soft float on the Cortex-M0): every bit equal.
    assert_eq!(
        exact, total_scores,
        "{}: scores differ from the host's by up to {worst:e}",
        board.cpu
    );

    // Figures.
    let head = fields(lines.iter().find(|l| l.starts_with("model ")).unwrap());
    let figures = fields(lines.iter().find(|l| l.starts_with("figures ")).unwrap());
    let sizes = section_sizes(&elf);
    let size = |name: &str| sizes.get(name).copied().unwrap_or(0);
    let flash_code = size(".vectors") + size(".text") + size(".rodata") + size(".ARM.exidx");
    let flash = flash_code + size(".model") + size(".data");
    let library = library_sizes(&dir.join("firmware.map"));
    let (lib_text, lib_rodata) = (library[".text"], library[".rodata"]);
    // SysTick against the calibration loop of known length: the board's clock is right.
    let ns_per_tick = 1e9 / board.clock_hz as f64;
    let measured = figures["calibration_instructions"] as f64 / figures["calibration_ticks"] as f64;
    assert!(
        (measured / ns_per_tick - 1.0).abs() < 0.001,
        "{}: {measured} instructions per SysTick tick, {ns_per_tick} expected",
        board.cpu
    );
    let instructions = |ticks: u64| (ticks as f64 * ns_per_tick).round() as u64;
    let tokens = figures["tokens"];
    let per_token = instructions(figures["tag_ticks"]) / tokens;
    let (stack_load, stack_tag) = (figures["stack_load"], figures["stack_tag"]);
    let stack = stack_load.max(stack_tag);
    // RAM for RAM_TOKENS-token sentences: what the firmware owns per token (scratch,
    // scores, tags, token list) scaled, the rest as measured (the stack does not depend
    // on the sentence length).
    let owned = |n: usize| scratch(n) + 4 * n * t + (2 * n).next_multiple_of(4) + TOKEN_BYTES * n;
    let ram_at =
        |n: usize| (size(".data") + size(".bss") + stack) as usize + owned(n) - owned(longest);
    // The least RAM the tagger itself needs for RAM_TOKENS-token sentences: the model
    // object, the low-memory schedule's scratch and the stack (deterministic for a
    // given toolchain, like the sizes).
    let low_memory_scratch = model.min_scratch_bytes(RAM_TOKENS).unwrap();
    let low_memory_ram = head["model_object"] as usize + low_memory_scratch + stack as usize;
    let fits = (1..=4096)
        .take_while(|&n| ram_at(n) <= board.ram.1 as usize)
        .last()
        .unwrap_or(0);
    let mut report = String::new();
    let r = &mut report;
    writeln!(
        r,
        "firmware ({}, QEMU {}, {}), model {name}, libpostag.a profile {}:",
        board.cpu,
        board.machine,
        board.target,
        profile()
    )
    .unwrap();
    writeln!(
        r,
        "  tags: {} sentences, {tokens} tokens equal the host's; scores bit-identical: {exact} of {total_scores}",
        host.len()
    )
    .unwrap();
    writeln!(
        r,
        "  flash: {flash} of {} bytes = code+rodata {flash_code} + model blob {} + .data {}",
        board.flash.1,
        size(".model"),
        size(".data")
    )
    .unwrap();
    writeln!(
        r,
        "  libpostag.a in the image: .text {lib_text} + .rodata {lib_rodata} bytes (linker map)"
    )
    .unwrap();
    writeln!(
        r,
        "  RAM: .data {} + .bss {} (model object {}, scratch {}, scores {}, print buffer {LINE_BYTES}) + stack",
        size(".data"),
        size(".bss"),
        head["model_object"],
        head["scratch_buffer"],
        4 * longest * t
    )
    .unwrap();
    writeln!(
        r,
        "  stack high-water mark: {stack_load} bytes through the load, {stack_tag} through tagging (of {})",
        figures["stack_size"]
    )
    .unwrap();
    writeln!(
        r,
        "  scratch: {} bytes needed for {longest} tokens ({}), {} touched",
        head["scratch_needed"],
        if board.low_memory {
            "postag_min_scratch_size, the low-memory schedule"
        } else {
            "postag_scratch_size"
        },
        figures["scratch_touched"]
    )
    .unwrap();
    writeln!(
        r,
        "  RAM for {RAM_TOKENS}-token sentences: {} bytes (scratch {}); {} tokens fit the board's {} bytes",
        ram_at(RAM_TOKENS),
        scratch(RAM_TOKENS),
        fits,
        board.ram.1
    )
    .unwrap();
    writeln!(
        r,
        "  least RAM for {RAM_TOKENS}-token sentences (low-memory schedule): {low_memory_ram} bytes = model object {} + scratch {low_memory_scratch} (postag_min_scratch_size) + stack {stack}",
        head["model_object"]
    )
    .unwrap();
    writeln!(
        r,
        "  instructions: {per_token} per token (tagging {tokens} tokens); model load (validation, CRC) {}",
        instructions(head["load_ticks"])
    )
    .unwrap();
    for ((s, ticks), (tags, _)) in sentences.iter().zip(&sentence_ticks).zip(&host) {
        let ticks = ticks.expect("ticks per sentence");
        let tagged: Vec<String> = s
            .iter()
            .zip(tags)
            .map(|(w, &t)| format!("{w}/{}", model.tag_name(t as usize)))
            .collect();
        writeln!(
            r,
            "    {:>10} instructions, {:2} tokens: {}",
            instructions(ticks),
            s.len(),
            tagged.join(" ")
        )
        .unwrap();
    }
    let figures_row = Figures {
        board: board.cpu,
        model: name.to_string(),
        flash_code,
        lib_text,
        lib_rodata,
        blob: size(".model"),
        bss: size(".bss"),
        stack_load,
        stack_tag,
        scratch_needed: head["scratch_needed"],
        scratch_touched: figures["scratch_touched"],
        tokens_longest: longest,
        ram_32: ram_at(RAM_TOKENS),
        per_token,
        load: instructions(head["load_ticks"]),
    };
    writeln!(r, "  table row: {}", figures_row.row()).unwrap();
    print!("{report}");

    // Sanity bounds, not targets.
    assert_eq!(head["scratch_needed"] as usize, scratch_bytes);
    assert!(figures["scratch_touched"] <= head["scratch_buffer"]);
    assert!(
        stack > 0 && stack < figures["stack_size"],
        "{}: stack",
        board.cpu
    );
    assert!(per_token > 100 && per_token < 1_000_000_000);
    assert_eq!(
        size(".model") as usize,
        blob.len(),
        "the blob stays in flash as it is"
    );
    // The C side's postag_model is exactly what this 32-bit library keeps there.
    assert_eq!(
        head["model_object"],
        header_define_32("POSTAG_MODEL_SIZE"),
        "{}: sizeof(postag_model)",
        board.cpu
    );
    // The size budget of the firmware profile (deterministic for a given toolchain).
    if profile() == "firmware" {
        if std::env::var_os("POSTAG_FIRMWARE_MODEL").is_none()
            && Path::new(name) == repo().join(models::FIRMWARE_MODEL)
        {
            assert!(
                low_memory_ram <= LOW_MEMORY_RAM_BUDGET,
                "{}: the micro model needs {low_memory_ram} bytes of RAM for {RAM_TOKENS} tokens (model object, low-memory scratch, stack), budget {LOW_MEMORY_RAM_BUDGET}",
                board.cpu
            );
        }
        assert!(
            lib_text <= board.text_budget && lib_rodata <= board.rodata_budget,
            "{}: libpostag.a brings .text {lib_text} (budget {}) and .rodata {lib_rodata} (budget {}) bytes",
            board.cpu,
            board.text_budget,
            board.rodata_budget
        );
    }
    figures_row
}

/// What the host core gives on its scalar path, the code the Cortex-M runs (the SIMD
/// levels sum in another order and fuse multiply-adds, so their last bits may differ):
/// tags and scores per sentence.
fn host_results(model: &Model<'_>, sentences: &[Vec<String>]) -> Vec<(Vec<u16>, Vec<f32>)> {
    let t = model.num_tags();
    let longest = sentences.iter().map(Vec::len).max().unwrap();
    let _one_at_a_time = HOST.lock().unwrap_or_else(|e| e.into_inner());
    assert!(arch::force(Some(Level::Scalar)));
    let mut scratch = vec![0u8; model.scratch_bytes(longest).unwrap()];
    let host = sentences
        .iter()
        .map(|s| {
            let (mut tags, mut scores) = (vec![0u16; s.len()], vec![0f32; s.len() * t]);
            model
                .tag(s, &mut scratch, &mut tags, Some(&mut scores))
                .unwrap();
            (tags, scores)
        })
        .collect();
    arch::force(None);
    host
}

/// Builds the firmware `program` (a C file of `tests/firmware`, with `support.c`) for
/// `board` against `lib`, with the blob at `dir/model.postag` and the C `defines`; the
/// ELF file, with its linker map beside it (`firmware.map`).
fn build_firmware(
    board: &Board,
    lib: &Path,
    dir: &Path,
    program: &str,
    defines: &[String],
) -> PathBuf {
    let fw = repo().join("tests/firmware");
    let elf = dir.join("firmware.elf");
    let defsym = |name: &str, value: u32| format!("-Wl,--defsym={name}={value:#x}");
    run(Command::new("arm-none-eabi-gcc")
        .args(board.cflags)
        .args(["-std=gnu99", "-O2", "-g", "-Wall", "-Wextra", "-Werror"])
        .args(["-ffunction-sections", "-fdata-sections", "-nostdlib"])
        .arg("-I")
        .arg(repo().join("include"))
        .arg("-I")
        .arg(dir)
        .args(defines)
        .arg(format!("-DLINE_BYTES={LINE_BYTES}"))
        .arg(format!(
            "-DPOSTAG_MODEL_PATH=\"{}\"",
            dir.join("model.postag").display()
        ))
        .arg("-T")
        .arg(fw.join("link.ld"))
        .arg(defsym("FLASH_ORIGIN", board.flash.0))
        .arg(defsym("FLASH_LENGTH", board.flash.1))
        .arg(defsym("RAM_ORIGIN", board.ram.0))
        .arg(defsym("RAM_LENGTH", board.ram.1))
        .arg(defsym("STACK_MIN", board.stack_min))
        .args(["-Wl,--gc-sections", "-Wl,--no-warn-execstack", "-Wl,-Map"])
        .arg(dir.join("firmware.map"))
        .arg(fw.join("startup.S"))
        .arg(fw.join("model.S"))
        .arg(fw.join(program))
        .arg(fw.join("support.c"))
        .arg(lib)
        .arg("-lgcc")
        .arg("-o")
        .arg(&elf));
    elf
}

/// Runs `elf` on the QEMU board `machine` with semihosting on stdout (and instructions
/// counted: `-icount shift=0`); its output, which must end with `done`.
fn qemu(machine: &str, elf: &Path) -> String {
    let out = run(Command::new("timeout")
        .arg("120")
        .arg("qemu-system-arm")
        .args(["-M", machine, "-display", "none", "-monitor", "none"])
        .args(["-serial", "none", "-chardev", "stdio,id=semi0"])
        .args([
            "-semihosting-config",
            "enable=on,target=native,chardev=semi0",
        ])
        .args(["-icount", "shift=0", "-kernel"])
        .arg(elf));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout.lines().last(),
        Some("done"),
        "{machine}: firmware output:\n{stdout}"
    );
    stdout
}

/// Checks a firmware's output `lines` (a `sentence index i tokens n [ticks t]` line per
/// sentence, then per token its tag and the hex bits of its scores) against the host's
/// tags, which must be equal; returns how many scores are bit-identical, the largest
/// difference, and each sentence's ticks if printed.
fn compare(
    cpu: &str,
    model: &Model<'_>,
    sentences: &[Vec<String>],
    host: &[(Vec<u16>, Vec<f32>)],
    lines: &[&str],
) -> (usize, f32, Vec<Option<u64>>) {
    let t = model.num_tags();
    let (mut exact, mut worst, mut i) = (0usize, 0f32, 0usize);
    let mut sentence_ticks = Vec::new();
    for (si, (tags, scores)) in host.iter().enumerate() {
        while !lines[i].starts_with("sentence ") {
            i += 1;
        }
        let head = fields(lines[i]);
        assert_eq!(head["index"] as usize, si, "{cpu}: sentence order");
        assert_eq!(head["tokens"] as usize, tags.len());
        sentence_ticks.push(head.get("ticks").copied());
        for (k, &want_tag) in tags.iter().enumerate() {
            let words: Vec<&str> = lines[i + 1 + k].split_whitespace().collect();
            let tag: u16 = words[0].parse().unwrap();
            assert_eq!(
                tag,
                want_tag,
                "{cpu}: sentence {si} token {k} ({}): firmware tag {}, host tag {}",
                sentences[si][k],
                model.tag_name(tag as usize),
                model.tag_name(want_tag as usize)
            );
            assert_eq!(words.len(), 1 + t, "{cpu}: one score per tag");
            for (j, hex) in words[1..].iter().enumerate() {
                let got = f32::from_bits(u32::from_str_radix(hex, 16).unwrap());
                let want = scores[k * t + j];
                exact += (got.to_bits() == want.to_bits()) as usize;
                worst = worst.max((got - want).abs());
            }
        }
        i += 1 + tags.len();
    }
    (exact, worst, sentence_ticks)
}

/// The value of `#define NAME` for 32-bit targets in `include/postag.h`.
fn header_define_32(name: &str) -> u64 {
    let h = std::fs::read_to_string(repo().join("include/postag.h")).unwrap();
    let (_, block) = h
        .split_once("#if defined(POSTAG_POINTER_32)")
        .expect("a 32-bit block in postag.h");
    block
        .lines()
        .find_map(|l| l.strip_prefix(&format!("#define {name} ")))
        .unwrap_or_else(|| panic!("postag.h defines no 32-bit {name}"))
        .trim()
        .parse()
        .unwrap()
}

/// `libpostag.a` built for `board`, or `None` (with the reason printed) when the board
/// is not selected or a tool it needs is missing.
fn board_library(board: &Board) -> Option<PathBuf> {
    if !selected(board) {
        println!("SKIP: {} is not in POSTAG_FIRMWARE_BOARDS", board.key);
        return None;
    }
    if !require_tools(&["arm-none-eabi-gcc", "arm-none-eabi-size", "qemu-system-arm"])
        || !require(
            rust_target_installed(board.target),
            &format!(
                "rust target {0} is not installed (rustup target add {0})",
                board.target
            ),
        )
    {
        return None;
    }
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    Some(libpostag_with_flags(tmp, Some(board.target), &profile(), board.rustflags).archive)
}

/// Runs the firmware on `board` with each of its models.
fn run_board(board: &Board) {
    let Some(lib) = board_library(board) else {
        return;
    };
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let rows: Vec<String> = models::firmware_models(board.models)
        .iter()
        .enumerate()
        .map(|(i, (name, blob))| {
            let dir: PathBuf = tmp.join(format!("firmware-{}-{i}", board.key));
            run_model(board, &lib, &dir, name, blob).row()
        })
        .collect();
    println!("{}", rows.join("\n"));
}

#[test]
fn cortex_m4f_mps2_an386() {
    run_board(board("m4"));
}

/// The DSP kernels' odd cases on the Cortex-M4F, which the shipped models' even sizes
/// never reach, against the host bit for bit: random int8 models whose rows take an odd
/// number of groups of four columns in the tiles' two-group loop (char hidden 12, word
/// hidden 20, 9 tags: two tiles and a row), and whose cell updates and outputs run over
/// an odd number of units (char hidden 5, word hidden 7: rows of other lengths), and
/// one unit or one group (char hidden 1, word hidden 4).
#[test]
fn cortex_m4f_odd_shapes_match_the_host() {
    use postag_core::synthetic::RandomModel;
    use postag_core::tensor::Storage;
    let board = board("m4");
    let Some(lib) = board_library(board) else {
        return;
    };
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    for (i, (chars, hidden, tags)) in [((8, 12), 20, 9), ((6, 5), 7, 3), ((4, 1), 4, 5)]
        .into_iter()
        .enumerate()
    {
        let spec = RandomModel {
            words: 300,
            word_dim: 16,
            chars: Some(chars),
            hidden,
            layers: 1,
            bidirectional: true,
            tags,
            storage: Storage::I8,
            seed: 0x0dd + i as u64,
        };
        let (blob, _) = spec.build().unwrap();
        let dir = tmp.join(format!("firmware-m4-odd-{i}"));
        let name = format!("random int8, char hidden {}, hidden {hidden}", chars.1);
        println!("{}", run_model(board, &lib, &dir, &name, &blob).row());
    }
}

/// The model load's check of the word table (`StringTable`: offsets, character
/// boundaries, strictly increasing strings; written in assembly on the DSP targets)
/// against the host's, on the Cortex-M4F. A small int8 model with its random words, and
/// with a table written here instead (prefixes of every length, lengths that are
/// multiples of four, NUL bytes, two-byte characters, the largest code point last);
/// and copies of both with their strings or offsets changed (neighbours swapped or
/// made equal, a character across a boundary, offsets that decrease or miss the end,
/// random bytes, near the end of the table too) or a word's embedding row changed (the
/// last, one past it), the CRC-32 made right again. Every load's status is the host's,
/// and both outcomes occur.
#[test]
fn cortex_m4f_word_table_checks_match_the_host() {
    use postag::postag_status;
    use postag_core::format::Role;
    use postag_core::synthetic::RandomModel;
    use postag_core::tensor::Storage;
    let board = board("m4");
    let Some(lib) = board_library(board) else {
        return;
    };
    let spec = RandomModel {
        words: 200,
        word_dim: 8,
        chars: Some((4, 4)),
        hidden: 8,
        layers: 1,
        bidirectional: true,
        tags: 5,
        storage: Storage::I8,
        seed: 0x7ab1e,
    };
    let (blob, _) = spec.build().unwrap();
    // Where the word strings and offsets lie in the blob.
    let range = |role: Role| {
        let (start, e) = postag_testutil::tensor_at(&blob, role);
        start..start + e.dtype.byte_len(e.rows, e.cols).unwrap()
    };
    let (strings, offsets) = (range(Role::WordStrings), range(Role::WordOffsets));
    let n = offsets.len() / 4 - 1;
    // `base` with its strings and offsets changed by `edit`, the CRC made right again.
    let changed = |base: &[u8], edit: &dyn Fn(&mut [u8], &mut [u32])| -> Vec<u8> {
        let mut b = base.to_vec();
        let mut o: Vec<u32> = b[offsets.clone()]
            .chunks(4)
            .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        edit(&mut b[strings.clone()], &mut o);
        let raw_offsets: Vec<u8> = o.iter().flat_map(|v| v.to_le_bytes()).collect();
        b[offsets.clone()].copy_from_slice(&raw_offsets);
        postag_testutil::with_crc(b)
    };
    // The written table: as many strings in the same bytes, in byte order.
    let mut words: Vec<String> = (0..=4)
        .flat_map(|len| {
            (0..1u32 << len).map(move |bits| {
                (0..len)
                    .map(|k| if bits >> k & 1 == 1 { 'b' } else { 'a' })
                    .collect()
            })
        })
        .chain((5..=12).map(|len| "abbaabbaabba"[..len].to_string()))
        .chain(
            [
                "\0",
                "a\0",
                "aaa\0",
                "aaaa\0",
                "aaaa\0\0\0\0",
                "\u{e9}",
                "\u{e9}\u{e9}",
                "a\u{e9}",
                "aaaa\u{e9}",
            ]
            .map(String::from),
        )
        .chain((0..n).map(|k| format!("c{k}")))
        .collect();
    words.sort();
    words.dedup();
    words.truncate(n - 1);
    let used: usize = words.iter().map(String::len).sum();
    let fill = strings
        .len()
        .checked_sub(used + 4)
        .expect("room for the last string");
    words.push(format!("\u{10FFFF}{}", "a".repeat(fill)));
    let written = changed(&blob, &|s, o| {
        s.copy_from_slice(words.concat().as_bytes());
        let mut end = 0;
        for (k, w) in words.iter().enumerate() {
            end += w.len() as u32;
            o[k + 1] = end;
        }
    });

    let (mut blobs, mut bases) = (Vec::new(), Vec::new());
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = |below: usize| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as usize % below
    };
    for base in [&blob, &written] {
        let offs: Vec<usize> = base[offsets.clone()]
            .chunks(4)
            .map(|b| u32::from_le_bytes(b.try_into().unwrap()) as usize)
            .collect();
        let string = |i: usize| offs[i]..offs[i + 1];
        bases.push(blobs.len());
        blobs.push(base.clone());
        // Neighbours of equal length: the first pair, the first of four bytes or more,
        // the last; each swapped, and the second made equal to the first.
        let same: Vec<usize> = (0..n - 1)
            .filter(|&i| string(i).len() == string(i + 1).len())
            .collect();
        let long = same
            .iter()
            .copied()
            .find(|&i| string(i).len() >= 4)
            .unwrap_or(same[0]);
        for i in [same[0], long, *same.last().unwrap()] {
            let (a, b) = (string(i), string(i + 1));
            blobs.push(changed(base, &|s, _| {
                let first = s[a.clone()].to_vec();
                s.copy_within(b.clone(), a.start);
                s[b.clone()].copy_from_slice(&first);
            }));
            blobs.push(changed(base, &|s, _| s.copy_within(a.clone(), b.start)));
        }
        for i in [1, n / 2, n - 2] {
            let (a, b) = (string(i), string(i + 1));
            if !a.is_empty() && !b.is_empty() {
                // "\u{e9}" across the boundary between strings `i` and `i + 1`.
                blobs.push(changed(base, &|s, _| {
                    s[a.end - 1] = 0xC3;
                    s[b.start] = 0xA9;
                }));
            }
            // An offset below the one before it.
            blobs.push(changed(base, &|_, o| o[i + 1] = o[i].saturating_sub(1)));
        }
        // The last string all `a`s: below the one before it, in the check's last steps.
        blobs.push(changed(base, &|s, _| s[string(n - 1)].fill(b'a')));
        blobs.push(changed(base, &|_, o| *o.last_mut().unwrap() -= 1));
        blobs.push(changed(base, &|_, o| *o.last_mut().unwrap() += 1));
        // The last two strings' bytes rewritten and cut anew (0x7F sorts above every
        // first byte before them), for the check's steps near the end of the bytes: a
        // prefix after its longer string, a difference at the last byte, a proper
        // prefix first, two equal strings, and continuation bytes (0xA9, 0xBF, 0x80)
        // at the last offset and, away from the end, at the cut.
        let (start, total) = (offs[n - 2], offs[n] - offs[n - 2]);
        let half = total / 2;
        let last_two = |fill: Vec<u8>, cut: usize| {
            changed(base, &|s, o| {
                s[start..start + total].copy_from_slice(&fill);
                o[n - 1] = (start + cut) as u32;
            })
        };
        let ending = |fill: u8, end: &[u8]| {
            let mut v = vec![fill; total];
            v[total - end.len()..].copy_from_slice(end);
            v
        };
        blobs.push(last_two(vec![0x7F; total], total - half));
        blobs.push(last_two(ending(0x7E, &[0x7F]), total - half));
        blobs.push(last_two(ending(0x7F, &[0x7E]), (total - 1) / 2));
        if total % 2 == 0 {
            blobs.push(last_two(vec![0x7F; total], half));
        }
        for pair in [[0xC3, 0xA9], [0xC2, 0xBF], [0xC3, 0x80]] {
            blobs.push(last_two(ending(0x7F, &pair), total - 1));
            if half >= 4 {
                let mut fill = vec![0x7F; total];
                fill[total - half - 1..total - half + 1].copy_from_slice(&pair);
                blobs.push(last_two(fill, total - half));
            }
        }
        // Random bytes, a third of them in the last three strings.
        let choices = [b'a', b'b', b'z', 0, 0x7F, 0xC3, 0xA9, 0xFF];
        for k in 0..30 {
            let i = if k % 3 == 0 { n - 3 + next(3) } else { next(n) };
            let Some(at) = string(i).nth(next(string(i).len().max(1))) else {
                continue;
            };
            let byte = choices[next(choices.len())];
            blobs.push(changed(base, &|s, _| s[at] = byte));
        }
    }
    // A word's embedding row: the last there is, one past it, far past it (the
    // largest-value scan takes word-aligned values four at a time in assembly there;
    // the records below place these at word-aligned addresses).
    let rows_at = range(Role::WordRows);
    let word_rows = postag_testutil::tensor_at(&blob, Role::WordEmbedding)
        .1
        .rows;
    let aligned_from = blobs.len();
    for (k, row) in [(0, word_rows - 1), (n - 1, word_rows), (n / 2, u32::MAX)] {
        let mut b = blob.clone();
        b[rows_at.start + 4 * k..][..4].copy_from_slice(&row.to_le_bytes());
        blobs.push(changed(&b, &|_, _| {}));
    }
    // One past again, off the word alignment (the scan in Rust).
    blobs.push(blobs[aligned_from + 1].clone());
    let want: Vec<u32> = blobs
        .iter()
        .map(|b| match Model::from_bytes(b) {
            Ok(_) => 0,
            Err(e) => postag_status::from(e) as u32,
        })
        .collect();
    let accepted = want.iter().filter(|&&w| w == 0).count();
    assert!(bases.iter().all(|&i| want[i] == 0), "{want:?}");
    assert!(accepted >= 10 && want.len() - accepted >= 20, "{want:?}");

    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("firmware-m4-loads");
    std::fs::create_dir_all(&dir).unwrap();
    // Records as `loads.c` reads them: every fourth changed word table and the last
    // model two bytes off the word alignment of the others (`model.S` aligns the
    // first).
    let mut records = Vec::new();
    for (k, b) in blobs.iter().enumerate() {
        let off_alignment = k % 4 == 3 && k < aligned_from || k == blobs.len() - 1;
        let skip = if off_alignment { 2 } else { 0 };
        records.extend((b.len() as u32).to_le_bytes());
        records.extend((skip as u32).to_le_bytes());
        records.extend([0; 8]);
        records.extend(vec![0; skip]);
        records.extend(b);
        records.resize(records.len().next_multiple_of(16), 0);
    }
    std::fs::write(dir.join("model.postag"), &records).unwrap();
    let elf = build_firmware(board, &lib, &dir, "loads.c", &[]);
    let stdout = qemu(board.machine, &elf);
    let got: Vec<u32> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("load "))
        .map(|l| l.split(' ').nth(1).unwrap().parse().unwrap())
        .collect();
    assert_eq!(
        got, want,
        "load statuses on the Cortex-M4F against the host's"
    );
    println!(
        "word table checks: {} loads on the Cortex-M4F equal the host's ({accepted} accepted)",
        want.len()
    );
}

#[test]
fn cortex_m7_mps2_an500() {
    run_board(board("m7"));
}

#[test]
fn cortex_m33_mps2_an505() {
    run_board(board("m33"));
}

#[test]
fn cortex_m0_microbit() {
    run_board(board("m0"));
}

/// The Rust firmware of `examples/firmware-rust/` (`no_std`, `postag-core` with
/// `cortex-m-rt`, its own cargo project), built and run on the Cortex-M4F board: its tags
/// and score bits must equal the host's.
#[test]
fn rust_firmware_example_on_cortex_m4f() {
    let board = board("m4");
    if !selected(board) {
        println!("SKIP: {} is not in POSTAG_FIRMWARE_BOARDS", board.key);
        return;
    }
    if !require_tools(&["arm-none-eabi-size", "qemu-system-arm"])
        || !require(
            rust_target_installed(board.target),
            &format!(
                "rust target {0} is not installed (rustup target add {0})",
                board.target
            ),
        )
    {
        return;
    }
    let example = repo().join("examples/firmware-rust");
    let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("nested-example");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // From its own directory, so that its .cargo/config.toml (target, link script) holds.
    run(Command::new(cargo)
        .current_dir(&example)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .args(["build", "--release", "--locked", "--target-dir"])
        .arg(&target_dir));
    let elf = target_dir
        .join(board.target)
        .join("release/postag-firmware-example");

    let blob = std::fs::read(repo().join(models::FIRMWARE_MODEL)).unwrap();
    let model = Model::from_bytes(&blob).unwrap();
    let sentences = sentences(None);
    let host = host_results(&model, &sentences);
    let stdout = qemu(board.machine, &elf);
    let lines: Vec<&str> = stdout.lines().collect();
    let (exact, worst, _) = compare(board.cpu, &model, &sentences, &host, &lines);
    let total: usize = host.iter().map(|h| h.1.len()).sum();
    assert_eq!(
        exact, total,
        "scores differ from the host's by up to {worst:e}"
    );
    let sizes = section_sizes(&elf);
    let size = |name: &str| sizes.get(name).copied().unwrap_or(0);
    let head = fields(lines.iter().find(|l| l.starts_with("model ")).unwrap());
    println!(
        "Rust firmware (examples/firmware-rust, {}, QEMU {}), model {}:",
        board.cpu,
        board.machine,
        models::FIRMWARE_MODEL
    );
    println!(
        "  tags: {} sentences, {} tokens equal the host's; scores bit-identical: {exact} of {total}",
        host.len(),
        host.iter().map(|h| h.0.len()).sum::<usize>()
    );
    println!(
        "  flash: code+rodata {} bytes (.vector_table {}, .text {}, .rodata {} with the blob {}); RAM: .data {} + .bss {}; the tagger and its scratch ({} bytes for {} tokens) on the stack",
        size(".vector_table") + size(".text") + size(".rodata"),
        size(".vector_table"),
        size(".text"),
        size(".rodata"),
        blob.len(),
        size(".data"),
        size(".bss"),
        head["scratch_buffer"],
        head["max_tokens"]
    );
    let (buffer, most) = (head["scratch_buffer"] as usize, head["max_tokens"] as usize);
    assert_eq!(
        buffer,
        model.scratch_bytes(head["sized_for"] as usize).unwrap(),
        "the compile-time size is the model's"
    );
    assert!(
        model.min_scratch_bytes(most).unwrap() <= buffer
            && model.min_scratch_bytes(most + 1).is_none_or(|b| b > buffer),
        "max_tokens is the most the buffer holds (the low-memory schedule's)"
    );
}
