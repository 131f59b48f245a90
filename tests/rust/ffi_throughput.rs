//! Batch-1 tagging throughput on the host through the C API, against the Rust core
//! called directly: the base-size model of `core/benches/tagging.rs` (random weights,
//! word embedding 100 with 10k words, char BiLSTM 32, word BiLSTM 128, 17 tags).
//!
//! Run: `cargo bench -p postag-tests`. Three figures per weight type: the core's
//! `Model::tag`; `postag_tag` called from Rust (the C ABI function, with its pointer
//! checks); and `tests/c/bench.c`, a C program linked with `libpostag.a` (needs gcc).
//! The Rust contenders take turns for several rounds and their medians are printed
//! (`postag_testutil::timing`, the thread's CPU time), so that load from other
//! processes affects them alike; the C program reports its own rate, the median of as
//! many runs.

use std::hint::black_box;
use std::path::Path;
use std::process::Command;

use postag::{postag_model, postag_status, postag_token};
use postag_core::synthetic::RandomModel;
use postag_core::tensor::Storage;
use postag_core::Model;
use postag_tests::{build_program, have, libpostag, repo, run};
use postag_testutil::timing;

/// Length of one run of the C program.
const SECONDS: f64 = 0.75;
const ROUNDS: usize = 5;

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

        let per_token = timing::interleaved(ROUNDS, 2, |i| if i == 0 { core() } else { ffi() });
        let (core, ffi) = (1.0 / per_token[0], 1.0 / per_token[1]);
        let c = c_bench
            .as_ref()
            .map(|exe| timing::median((0..ROUNDS).map(|_| c_program(exe)).collect()));

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
