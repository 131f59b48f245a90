//! Batch-1 tagging throughput on the host through the C API, against the Rust core
//! called directly: the base-size model of `core/benches/tagging.rs` (random weights,
//! word embedding 100 with 10k words, char BiLSTM 32, word BiLSTM 128, 17 tags).
//!
//! Run: `cargo bench -p postag-tests`. Three figures per weight type: the core's
//! `Model::tag`; `postag_tag` called from Rust (the C ABI function, with its pointer
//! checks); and `tests/c/bench.c`, a C program linked with `libpostag.a` (needs gcc).
//! The three take turns for several rounds and the best round of each is printed, so
//! that load from other processes affects them alike.

use std::hint::black_box;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use postag::{postag_model, postag_status, postag_token};
use postag_core::synthetic::RandomModel;
use postag_core::tensor::Storage;
use postag_core::Model;
use postag_tests::{build_program, have, libpostag, repo, run};

/// Length of one measurement.
const SECONDS: f64 = 0.75;
const ROUNDS: usize = 5;

/// Runs `tag_all` (which returns the tokens it tagged) for about SECONDS; tokens/s.
fn measure(tag_all: &mut dyn FnMut() -> usize) -> f64 {
    tag_all(); // warm up
    let (mut tokens, start) = (0usize, Instant::now());
    while start.elapsed() < Duration::from_secs_f64(SECONDS) {
        tokens += tag_all();
    }
    tokens as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench");
    std::fs::create_dir_all(&tmp).unwrap();
    let c_bench = have("gcc").then(|| {
        let exe = tmp.join("bench");
        let lib = libpostag(Path::new(env!("CARGO_TARGET_TMPDIR")), None);
        let c = repo().join("tests/c");
        build_program(
            "gcc",
            &["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror"],
            &[c.join("bench.c"), c.join("cases.c")],
            &lib,
            &exe,
        );
        exe
    });
    if c_bench.is_none() {
        println!("gcc not found: the C program's figure is left out");
    }

    for storage in [Storage::F32, Storage::I8] {
        let spec = RandomModel {
            storage,
            ..RandomModel::BASE
        };
        let (blob, words) = spec.build().unwrap();
        let model = Model::from_bytes(&blob).unwrap();
        let sentences = RandomModel::sentences(&words, 500, 7);
        let mut scratch = vec![0u8; model.scratch_bytes(64).unwrap()];
        let mut tags = vec![0u16; 64];

        let mut core = || {
            let mut n = 0;
            for s in &sentences {
                model.tag(s, &mut scratch, &mut tags, None).unwrap();
                n += s.len();
            }
            black_box(&tags);
            n
        };

        let mut object = postag_model {
            opaque: [0; postag::POSTAG_MODEL_WORDS],
        };
        // SAFETY: the blob outlives `object`; both pointers are valid.
        let status = unsafe { postag::postag_model_load(blob.as_ptr(), blob.len(), &mut object) };
        assert_eq!(status, postag_status::Ok);
        let tokens: Vec<Vec<postag_token>> = sentences
            .iter()
            .map(|s| {
                s.iter()
                    .map(|w| postag_token {
                        ptr: w.as_ptr(),
                        len: w.len(),
                    })
                    .collect()
            })
            .collect();
        let mut scratch = vec![0u8; model.scratch_bytes(64).unwrap()];
        let mut tags = vec![0u16; 64];
        let mut ffi = || {
            let mut n = 0;
            for s in &tokens {
                // SAFETY: every pointer and length describes a live, disjoint buffer.
                let status = unsafe {
                    postag::postag_tag(
                        &object,
                        s.as_ptr(),
                        s.len(),
                        scratch.as_mut_ptr(),
                        scratch.len(),
                        tags.as_mut_ptr(),
                        tags.len(),
                        std::ptr::null_mut(),
                        0,
                    )
                };
                assert_eq!(status, postag_status::Ok);
                n += s.len();
            }
            black_box(&tags);
            n
        };

        let model_path = tmp.join("base.postag");
        let text_path = tmp.join("sentences.txt");
        std::fs::write(&model_path, &blob).unwrap();
        let text: String = sentences.iter().map(|s| s.join("\n") + "\n\n").collect();
        std::fs::write(&text_path, text).unwrap();
        let c_program = |exe: &Path| {
            let out = run(Command::new(exe)
                .arg(&model_path)
                .arg(&text_path)
                .arg(SECONDS.to_string()));
            let stdout = String::from_utf8(out.stdout).unwrap();
            stdout
                .split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap()
        };

        let (mut core_best, mut ffi_best, mut c_best) = (0f64, 0f64, None::<f64>);
        for _ in 0..ROUNDS {
            core_best = core_best.max(measure(&mut core));
            ffi_best = ffi_best.max(measure(&mut ffi));
            if let Some(exe) = &c_bench {
                c_best = Some(c_best.unwrap_or(0.0).max(c_program(exe)));
            }
        }
        let (core, ffi, c) = (core_best, ffi_best, c_best);

        println!(
            "batch-1 tagging, base model {storage:?} (blob {} KB):",
            blob.len() / 1024
        );
        println!("  Rust core, Model::tag:          {core:>9.0} tokens/s");
        println!(
            "  C ABI postag_tag, from Rust:    {ffi:>9.0} tokens/s ({:+.1}%)",
            (ffi / core - 1.0) * 100.0
        );
        if let Some(c) = c {
            println!(
                "  C program, libpostag.a (gcc):   {c:>9.0} tokens/s ({:+.1}%)",
                (c / core - 1.0) * 100.0
            );
        }
    }
}
