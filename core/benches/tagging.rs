//! Batch-1 tagging throughput (one sentence per call, as a firmware caller tags) and
//! the streaming `Cell::step`, at every kernel level this processor runs.
//!
//! Base model with random weights (`RandomModel::BASE`): word embedding 100 (10k
//! words), char BiLSTM 32 (char embedding 32), word BiLSTM 128, 17 tags. Levels run
//! in interleaved rounds (so that a busy machine slows them alike); the figures are
//! medians over rounds of the thread's CPU time (on Unix; wall time elsewhere), so
//! that other processes taking turns on the processor do not count. Run: `cargo bench -p postag-core` (`POSTAG_BENCH_ROUNDS`
//! sets the number of rounds, default 7; `POSTAG_BENCH_LEVELS=scalar,avx2` picks
//! levels, `POSTAG_BENCH_PARTS=tagging` or `steps` one part).

use postag_core::arch::{self, Level};
use postag_core::synthetic::RandomModel;
use postag_core::tensor::{Matrix, Storage, Vector};
use postag_core::{Cell, Model};
use postag_testutil::timing;

/// Runs `pass` (which returns how many units it did) at every level in interleaved
/// rounds; the median seconds per unit of each level.
fn interleaved(levels: &[Level], rounds: usize, mut pass: impl FnMut() -> usize) -> Vec<f64> {
    let times = timing::interleaved(rounds, levels.len(), |i| {
        assert!(arch::force(Some(levels[i])));
        pass()
    });
    arch::force(None);
    times
}

fn row(label: &str, levels: &[Level], values: &[f64], unit: &str) {
    let cells: Vec<String> = levels
        .iter()
        .zip(values)
        .map(|(l, v)| format!("{:>7} {v:8.2} {unit}", l.name()))
        .collect();
    println!("{label:<28}{}", cells.join("   "));
}

/// A cell with random weights, `input -> hidden`.
fn cell_bytes(storage: Storage, input: usize, hidden: usize, seed: u64) -> [Vec<u8>; 3] {
    let mut s = seed;
    let mut rnd = move || {
        s = s
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.2
    };
    let mut matrix = |rows: usize, cols: usize| -> Vec<u8> {
        match storage {
            Storage::F32 => (0..rows * cols).flat_map(|_| rnd().to_le_bytes()).collect(),
            Storage::I8 => {
                let mut b: Vec<u8> = (0..rows * cols)
                    .map(|_| (rnd() * 1270.0) as i8 as u8)
                    .collect();
                (0..rows).for_each(|_| b.extend_from_slice(&(0.1f32 / 127.0).to_le_bytes()));
                b
            }
        }
    };
    let g = 4 * hidden;
    let (w_ih, w_hh) = (matrix(g, input), matrix(g, hidden));
    let bias = (0..g).flat_map(|_| rnd().to_le_bytes()).collect();
    [w_ih, w_hh, bias]
}

fn view(bytes: &[u8], storage: Storage, rows: usize, cols: usize) -> Matrix<'_> {
    match storage {
        Storage::F32 => Matrix::f32_le(bytes, rows, cols),
        Storage::I8 => Matrix::i8_scaled(bytes, rows, cols),
    }
    .unwrap()
}

fn main() {
    let rounds: usize = std::env::var("POSTAG_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    let only = std::env::var("POSTAG_BENCH_LEVELS").unwrap_or_default();
    let levels: Vec<Level> = Level::ALL
        .into_iter()
        .filter(|l| l.is_supported())
        .filter(|l| only.is_empty() || only.split(',').any(|n| n.trim() == l.name()))
        .collect();
    println!(
        "kernel level: {} by default (POSTAG_SIMD={}); levels run here: {}; times: {}",
        arch::level().name(),
        std::env::var("POSTAG_SIMD").unwrap_or_default(),
        levels
            .iter()
            .map(|l| l.name())
            .collect::<Vec<_>>()
            .join(", "),
        timing::clock_name()
    );

    let parts = std::env::var("POSTAG_BENCH_PARTS").unwrap_or_default();
    let run_part = |name: &str| parts.is_empty() || parts.split(',').any(|p| p.trim() == name);

    if run_part("tagging") {
        println!("batch-1 tagging, base model, 1 thread (median of {rounds} rounds):");
    }
    for storage in [Storage::F32, Storage::I8]
        .into_iter()
        .filter(|_| run_part("tagging"))
    {
        let spec = RandomModel {
            storage,
            ..RandomModel::BASE
        };
        let (blob, words) = spec.build().unwrap();
        let model = Model::from_bytes(&blob).unwrap();
        let sentences = RandomModel::sentences(&words, 300, 7);
        let mut scratch = vec![0u8; model.scratch_bytes(64).unwrap()];
        let mut tags = vec![0u16; 64];
        let per_token = interleaved(&levels, rounds, || {
            let mut tokens = 0;
            for s in &sentences {
                model.tag(s, &mut scratch, &mut tags, None).unwrap();
                tokens += s.len();
            }
            tokens
        });
        let us: Vec<f64> = per_token.iter().map(|s| s * 1e6).collect();
        row(
            &format!("  {storage:?} (blob {} KB)", blob.len() / 1024,),
            &levels,
            &us,
            "us/token",
        );
    }

    if run_part("steps") {
        println!("streaming Cell::step, input -> hidden (median of {rounds} rounds):");
    }
    for storage in [Storage::F32, Storage::I8]
        .into_iter()
        .filter(|_| run_part("steps"))
    {
        for (input, hidden) in [(16, 16), (128, 128), (164, 128)] {
            let [w_ih, w_hh, bias] = cell_bytes(storage, input, hidden, 42);
            let cell = Cell {
                w_ih: view(&w_ih, storage, 4 * hidden, input),
                w_hh: view(&w_hh, storage, 4 * hidden, hidden),
                bias: Vector::f32_le(&bias, 4 * hidden).unwrap(),
            };
            let x: Vec<f32> = (0..input).map(|i| (i as f32 * 0.37).sin()).collect();
            let (mut h, mut c) = (vec![0.0f32; hidden], vec![0.0f32; hidden]);
            let mut gates = vec![0.0f32; 4 * hidden];
            let steps = (2_000_000 / (4 * hidden * (input + hidden))).max(100);
            let ns = interleaved(&levels, rounds, || {
                for _ in 0..steps {
                    cell.step(&x, &mut h, &mut c, &mut gates);
                }
                steps
            });
            let ns: Vec<f64> = ns.iter().map(|s| s * 1e9).collect();
            row(
                &format!("  {storage:?} {input} -> {hidden}"),
                &levels,
                &ns,
                "ns/step",
            );
        }
    }
}
