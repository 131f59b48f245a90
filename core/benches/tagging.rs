//! Tagging throughput, batch-1 (one sentence per call, as a firmware caller tags) and
//! bulk (`Model::tag_batch`, 32 sentences per call), with the achieved GFLOP/s and
//! their share of the level's peak multiply-add rate (a probe measured in the same
//! run; for int8 models also of the level's int8 x i16 tile, `arch::int_probe`),
//! and the streaming `Cell::step` (and `PackedCell::step`, the same cell with
//! packed weights), at every kernel level this processor runs; and segmenting raw text
//! with the shipped model's segmenter (`models/en_ewt.postag`) on the EWT dev text of
//! `../shared`, in MB/s.
//!
//! Base model with random weights (`RandomModel::BASE`): word embedding 100 (10k
//! words), char BiLSTM 32 (char embedding 32), word BiLSTM 128, 17 tags; f32, int8,
//! and int8 with the word LSTM in the int8 panel layout. Levels run
//! in interleaved rounds (so that a busy machine slows them alike); the figures are
//! medians over rounds of the thread's CPU time (on Unix; wall time elsewhere), so
//! that other processes taking turns on the processor do not count. Run: `cargo bench -p postag-core` (`POSTAG_BENCH_ROUNDS`
//! sets the number of rounds, default 7; `POSTAG_BENCH_LEVELS=scalar,avx2` picks
//! levels, `POSTAG_BENCH_PARTS=tagging`, `steps` or `segmenting` one part).

use postag_core::arch::{self, Level};
use postag_core::format::BlobBuf;
use postag_core::segment::{self, Segmenter};
use postag_core::synthetic::RandomModel;
use postag_core::tensor::{Matrix, Storage, Vector};
use postag_core::{Cell, LstmShape, Model};
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

/// Sentences per `tag_batch` call in the bulk figures.
const BULK: usize = 32;

/// Floating-point operations of tagging `sentences`: 2 per multiply-add of the char
/// LSTM (per char it reads), the word LSTM and hidden2tag (per token). Activations,
/// lookups and decoding are not counted.
fn flops(model: &Model<'_>, sentences: &[Vec<String>]) -> f64 {
    let lstm = |shape: &LstmShape, input: usize| -> usize {
        let (h, d) = (shape.hidden as usize, shape.directions());
        (0..shape.layers as usize)
            .map(|l| {
                let i = if l == 0 { input } else { shape.output_dim() };
                d * 4 * h * (i + h)
            })
            .sum()
    };
    let cfg = model.config();
    let per_token =
        lstm(&cfg.lstm, cfg.word_input_dim()) + cfg.tags as usize * cfg.lstm.output_dim();
    let per_char = cfg.chars.map_or(0, |c| lstm(&c.lstm, c.dim as usize));
    let max_chars = cfg.chars.map_or(0, |c| c.max_word_chars as usize);
    let macs: usize = sentences
        .iter()
        .flatten()
        .map(|w| per_token + per_char * w.chars().count().min(max_chars))
        .sum();
    2.0 * macs as f64
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

    // The peak multiply-add rate of each level, measured in this run: the yardstick
    // for the achieved GFLOP/s below.
    let probe = interleaved(&levels, rounds, || {
        let (sum, flops) = arch::fma_probe(2_000_000, 1.0);
        std::hint::black_box(sum);
        flops as usize
    });
    let peak: Vec<f64> = probe.iter().map(|s| 1e-9 / s).collect();
    // The same for the int8 models' kernels: the rate of the level's int8 x i16 tile.
    let int_probe = interleaved(&levels, rounds, || {
        let (sum, ops) = arch::int_probe(100_000, 1);
        std::hint::black_box(sum);
        ops as usize
    });
    let int_peak: Vec<f64> = int_probe.iter().map(|s| 1e-9 / s).collect();
    for (what, peak, unit) in [
        ("peak multiply-add probe", &peak, "GFLOP/s"),
        ("int8 x i16 tile probe", &int_peak, "GOP/s"),
    ] {
        println!(
            "{what}, 1 thread: {}",
            levels
                .iter()
                .zip(peak)
                .map(|(l, g)| format!("{} {g:.1} {unit}", l.name()))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }

    if run_part("tagging") {
        println!(
            "tagging, base model, 1 thread (median of {rounds} rounds); batch-1 = one sentence \
             per call (Model::tag), bulk = {BULK} sentences per call (Model::tag_batch):"
        );
    }
    // int8 twice: the word LSTM in rows (what the builder writes by default) and in
    // int8 panels (`BlobBuilder::int8_panels`, `postag convert --layout panels`).
    for (storage, int8_panels, label) in [
        (Storage::F32, false, "F32"),
        (Storage::I8, false, "I8"),
        (Storage::I8, true, "I8 panels"),
    ]
    .into_iter()
    .filter(|_| run_part("tagging"))
    {
        let spec = RandomModel {
            storage,
            ..RandomModel::BASE
        };
        let (blob, words) = spec.build_layout(true, int8_panels).unwrap();
        // At a 64-byte-aligned address, as `format::read_blob` reads a model file.
        let blob = BlobBuf::new(&blob);
        let model = Model::from_bytes(&blob).unwrap();
        let sentences = RandomModel::sentences(&words, 300, 7);
        let tokens: usize = sentences.iter().map(Vec::len).sum();
        let flop_per_token = flops(&model, &sentences) / tokens as f64;
        let mut scratch = vec![0u8; model.cached_scratch_bytes(64).unwrap()];
        let mut tags = vec![0u16; tokens];
        let longest = sentences.iter().map(Vec::len).max().unwrap();
        let mut batch_scratch =
            vec![0u8; model.batch_scratch_bytes(BULK * longest, longest).unwrap()];
        for (mode, bulk) in [("batch-1", false), ("bulk", true)] {
            let per_token = interleaved(&levels, rounds, || {
                if bulk {
                    for chunk in sentences.chunks(BULK) {
                        let n = chunk.iter().map(Vec::len).sum();
                        model
                            .tag_batch(chunk, &mut batch_scratch, &mut tags[..n], None)
                            .unwrap();
                    }
                } else {
                    for s in &sentences {
                        model.tag(s, &mut scratch, &mut tags, None).unwrap();
                    }
                }
                tokens
            });
            // int8 models against the int8 tile's rate too: their products are integer
            // (GOP/s, 2 per multiply-add as for floats).
            for (i, (level, secs)) in levels.iter().zip(&per_token).enumerate() {
                let rate = flop_per_token / secs * 1e-9;
                let share = match storage {
                    Storage::F32 => format!("{:4.0}% of peak", 100.0 * rate / peak[i]),
                    Storage::I8 => format!(
                        "{:4.0}% of peak, {:.0}% of the int8 tile's",
                        100.0 * rate / peak[i],
                        100.0 * rate / int_peak[i]
                    ),
                };
                println!(
                    "  {:<33} {:>6} {:8.2} us/token {:>9.0} tokens/s {rate:6.1} GFLOP/s {share}",
                    format!("{label} {mode} (blob {} KB)", blob.len() / 1024),
                    level.name(),
                    secs * 1e6,
                    1.0 / secs,
                );
            }
        }
        println!(
            "  ({:.3} MFLOP per token: the multiply-adds of the char and word LSTMs and \
             hidden2tag, 2 FLOP each)",
            flop_per_token * 1e-6
        );
    }

    if run_part("steps") {
        println!("streaming Cell::step and PackedCell::step (\"packed\"), input -> hidden (median of {rounds} rounds):");
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
            let mut work = vec![0.0f32; cell.work_len()];
            // About 20 M multiply-adds per pass (at least 1000 steps): milliseconds at
            // every level, long next to the clock's resolution and the first pass over
            // the weights.
            let steps = (20_000_000 / (4 * hidden * (input + hidden))).max(1000);
            let ns = interleaved(&levels, rounds, || {
                for _ in 0..steps {
                    cell.step(&x, &mut h, &mut c, &mut work).unwrap();
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
            // The same cell packed (`Cell::pack`, at each level: int8 packs for the
            // level's kernels), stepped by `PackedCell::step`.
            let mut bufs: Vec<Vec<f32>> = levels
                .iter()
                .map(|&l| {
                    assert!(arch::force(Some(l)));
                    vec![0.0f32; cell.packed_len()]
                })
                .collect();
            let packed: Vec<_> = levels
                .iter()
                .zip(bufs.iter_mut())
                .map(|(&l, buf)| {
                    assert!(arch::force(Some(l)));
                    cell.pack(buf).unwrap()
                })
                .collect();
            arch::force(None);
            let mut work = vec![0.0f32; packed.iter().map(|p| p.work_len()).max().unwrap_or(0)];
            let ns = interleaved(&levels, rounds, || {
                let at = levels.iter().position(|&l| l == arch::level()).unwrap();
                for _ in 0..steps {
                    packed[at].step(&x, &mut h, &mut c, &mut work).unwrap();
                }
                steps
            });
            let ns: Vec<f64> = ns.iter().map(|s| s * 1e9).collect();
            row(
                &format!("  {storage:?} {input} -> {hidden} packed"),
                &levels,
                &ns,
                "ns/step",
            );
        }
    }

    if run_part("segmenting") {
        segmenting(&levels, rounds);
    }
}

/// Segmenting raw text (`segment::sentences`, as `postag tag --format raw` runs it) with
/// the shipped default model's segmenter, on the `# text` lines of EWT dev joined by
/// spaces (one paragraph): MB/s of UTF-8 text at each level.
fn segmenting(levels: &[Level], rounds: usize) {
    let what = "segmenting, models/en_ewt.postag";
    let repo = postag_testutil::repo();
    let conllu = repo.join("../shared/data/ud/en_ewt/en_ewt-ud-dev.conllu");
    let (Ok(blob), Ok(conllu)) = (
        std::fs::read(repo.join("models/en_ewt.postag")),
        std::fs::read_to_string(&conllu),
    ) else {
        println!("{what}: not measured, {} not found", conllu.display());
        return;
    };
    let seg = Segmenter::from_bytes(&blob).unwrap().unwrap();
    let lines: Vec<&str> = conllu
        .lines()
        .filter_map(|l| l.strip_prefix("# text = "))
        .collect();
    let text = lines.join(" ");
    let secs = interleaved(levels, rounds, || {
        std::hint::black_box(segment::sentences(&seg, &text).unwrap());
        text.len()
    });
    println!(
        "{what}, EWT dev text ({} bytes), 1 thread (median of {rounds} rounds):",
        text.len()
    );
    let mbs: Vec<f64> = secs.iter().map(|s| 1e-6 / s).collect();
    row("  raw text", levels, &mbs, "MB/s");
}
