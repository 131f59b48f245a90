//! The streaming `Cell::step` at every kernel level this processor runs: against a
//! float64 reference for f32 and int8 weights, against the int8 arithmetic written out
//! here (i16 copies, exact integer dot products) bit for bit, and against the tagger's
//! final state bit for bit.

use postag_core::arch::{self, Level};
use postag_core::kernels;
use postag_core::synthetic::RandomModel;
use postag_core::tensor::{Matrix, Storage, Vector};
use postag_core::{Cell, Error, Model};

/// Random weights of one cell `input -> hidden` as blob bytes: `[w_ih, w_hh, bias]`.
fn cell_bytes(storage: Storage, input: usize, hidden: usize, seed: u64) -> [Vec<u8>; 3] {
    let mut s = seed;
    let mut rnd = move || {
        s = s
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.8
    };
    let mut matrix = |rows: usize, cols: usize| -> Vec<u8> {
        match storage {
            Storage::F32 => (0..rows * cols).flat_map(|_| rnd().to_le_bytes()).collect(),
            Storage::I8 => {
                // Every value of q, -128 included, and varied row scales.
                let mut b: Vec<u8> = (0..rows * cols)
                    .map(|_| (rnd() * 320.0).clamp(-128.0, 127.0) as i8 as u8)
                    .collect();
                (0..rows).for_each(|_| b.extend_from_slice(&((rnd() + 0.5) / 127.0).to_le_bytes()));
                b
            }
        }
    };
    let g = 4 * hidden;
    let (w_ih, w_hh) = (matrix(g, input), matrix(g, hidden));
    let bias = (0..g).flat_map(|_| rnd().to_le_bytes()).collect();
    [w_ih, w_hh, bias]
}

fn cell<'a>(bytes: &'a [Vec<u8>; 3], storage: Storage, input: usize, hidden: usize) -> Cell<'a> {
    let view = |b: &'a [u8], cols| match storage {
        Storage::F32 => Matrix::f32_le(b, 4 * hidden, cols).unwrap(),
        Storage::I8 => Matrix::i8_scaled(b, 4 * hidden, cols).unwrap(),
    };
    Cell {
        w_ih: view(&bytes[0], input),
        w_hh: view(&bytes[1], hidden),
        bias: Vector::f32_le(&bytes[2], 4 * hidden).unwrap(),
    }
}

/// Step `t`'s input: values of both signs, some exactly zero.
fn input(t: usize, n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| match (i + t) % 7 {
            0 => 0.0,
            k => ((i * 31 + t * 17) as f32 * 0.37).sin() * k as f32,
        })
        .collect()
}

fn levels() -> Vec<Level> {
    Level::ALL
        .into_iter()
        .filter(|l| l.is_supported())
        .collect()
}

/// `steps` steps of `cell` from a zero state at the current level: every `h`, then
/// the final `c`.
fn run(cell: &Cell<'_>, steps: usize) -> Vec<f32> {
    let (input_dim, hidden) = (cell.w_ih.cols(), cell.hidden());
    let (mut h, mut c) = (vec![0.0f32; hidden], vec![0.0f32; hidden]);
    let mut work = vec![f32::NAN; cell.work_len()];
    let mut out = Vec::new();
    for t in 0..steps {
        cell.step(&input(t, input_dim), &mut h, &mut c, &mut work)
            .unwrap();
        out.extend_from_slice(&h);
    }
    out.extend_from_slice(&c);
    out
}

/// Whether `a` and `b` hold the same values bit for bit.
fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

/// The weight `(r, k)` as the matrix means it, in f64.
fn weight(m: &Matrix<'_>, r: usize, k: usize) -> f64 {
    let mut row = vec![0.0f32; m.cols()];
    m.row_into(r, &mut row);
    row[k] as f64
}

/// [`run`] in f64 arithmetic on the weights' values.
fn reference(cell: &Cell<'_>, steps: usize) -> Vec<f64> {
    let (input_dim, hidden) = (cell.w_ih.cols(), cell.hidden());
    let (mut h, mut c) = (vec![0.0f64; hidden], vec![0.0f64; hidden]);
    let sigmoid = |v: f64| 1.0 / (1.0 + (-v).exp());
    let mut out = Vec::new();
    for t in 0..steps {
        let x = input(t, input_dim);
        let gate = |r: usize| {
            let mut s = cell.bias.get(r) as f64;
            s += (0..input_dim)
                .map(|k| weight(&cell.w_ih, r, k) * x[k] as f64)
                .sum::<f64>();
            s + (0..hidden)
                .map(|k| weight(&cell.w_hh, r, k) * h[k])
                .sum::<f64>()
        };
        let g: Vec<f64> = (0..4 * hidden).map(gate).collect();
        for u in 0..hidden {
            let (i, f) = (sigmoid(g[u]), sigmoid(g[hidden + u]));
            let (gg, o) = (g[2 * hidden + u].tanh(), sigmoid(g[3 * hidden + u]));
            c[u] = f * c[u] + i * gg;
            h[u] = o * c[u].tanh();
        }
        out.extend_from_slice(&h);
    }
    out.extend_from_slice(&c);
    out
}

/// The int8 step written out: `x` and `h` quantized to i16 (one scale each), the
/// gate `r` is `bias_r + (scale_r * s_x) * (q_r . xq)`, then `+= (scale_r * s_h) *
/// (q_r . hq)`, then the scalar cell update.
fn int8_written_out(bytes: &[Vec<u8>; 3], cell: &Cell<'_>, steps: usize) -> Vec<f32> {
    let (input_dim, hidden) = (cell.w_ih.cols(), cell.hidden());
    let (mut h, mut c) = (vec![0.0f32; hidden], vec![0.0f32; hidden]);
    let quantize = |v: &[f32]| -> (Vec<i64>, f32) {
        let max = v.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        if max == 0.0 {
            return (vec![0; v.len()], 0.0);
        }
        let inv = 16383.0 / max;
        let q = v
            .iter()
            .map(|&x| {
                let r = x * inv;
                (r + if r >= 0.0 { 0.5 } else { -0.5 }) as i64
            })
            .collect();
        (q, max / 16383.0)
    };
    // Row `r` of the int8 tensor `m` (`cols` wide): its q and its scale.
    let int_row = |m: usize, cols: usize, r: usize| -> (Vec<i64>, f32) {
        let (q, scales) = bytes[m].split_at(4 * hidden * cols);
        let s = &scales[4 * r..4 * r + 4];
        (
            q[r * cols..(r + 1) * cols]
                .iter()
                .map(|&b| b as i8 as i64)
                .collect(),
            f32::from_le_bytes([s[0], s[1], s[2], s[3]]),
        )
    };
    let mut out = Vec::new();
    for t in 0..steps {
        let (xq, sx) = quantize(&input(t, input_dim));
        let (hq, sh) = quantize(&h);
        let mut gates: Vec<f32> = (0..4 * hidden)
            .map(|r| {
                let (q, scale) = int_row(0, input_dim, r);
                let dot: i64 = q.iter().zip(&xq).map(|(a, b)| a * b).sum();
                cell.bias.get(r) + (scale * sx) * dot as f32
            })
            .collect();
        for (r, g) in gates.iter_mut().enumerate() {
            let (q, scale) = int_row(1, hidden, r);
            let dot: i64 = q.iter().zip(&hq).map(|(a, b)| a * b).sum();
            *g += (scale * sh) * dot as f32;
        }
        kernels::lstm_cell(&mut gates, &mut c, &mut h);
        out.extend_from_slice(&h);
    }
    out.extend_from_slice(&c);
    out
}

const SHAPES: [(usize, usize); 8] = [
    (1, 1),
    (3, 5),
    (8, 8),
    (16, 16),
    (17, 9),
    (33, 40),
    (70, 24),
    (164, 128),
];

#[test]
fn steps_match_a_float64_reference_at_every_level() {
    for storage in [Storage::F32, Storage::I8] {
        for (n, &(input_dim, hidden)) in SHAPES.iter().enumerate() {
            let bytes = cell_bytes(storage, input_dim, hidden, 7 + n as u64);
            let cell = cell(&bytes, storage, input_dim, hidden);
            let want = reference(&cell, 6);
            // f32 rounding, or the i16 copies of x and h (within max / 32766 each).
            let tolerance = match storage {
                Storage::F32 => 2e-5,
                Storage::I8 => 2e-3,
            };
            for level in levels() {
                assert!(arch::force(Some(level)));
                let got = run(&cell, 6);
                arch::force(None);
                let diff = got
                    .iter()
                    .zip(&want)
                    .map(|(&g, &w)| (g as f64 - w).abs())
                    .fold(0.0, f64::max);
                assert!(
                    diff <= tolerance,
                    "{storage:?} {input_dim} -> {hidden} at {}: differs by {diff:e}",
                    level.name()
                );
            }
        }
    }
}

#[test]
fn int8_steps_are_the_integer_arithmetic_bit_for_bit_at_every_level() {
    for (n, &(input_dim, hidden)) in SHAPES.iter().enumerate() {
        let bytes = cell_bytes(Storage::I8, input_dim, hidden, 11 + n as u64);
        let cell = cell(&bytes, Storage::I8, input_dim, hidden);
        let want = int8_written_out(&bytes, &cell, 5);
        for level in levels() {
            assert!(arch::force(Some(level)));
            let got = run(&cell, 5);
            arch::force(None);
            assert!(
                same_bits(&got, &want),
                "{input_dim} -> {hidden} at {}",
                level.name()
            );
        }
    }
}

/// `Cell::step` over a sentence's word embeddings ends in the state
/// `Model::tag_from_state` leaves with the low-memory schedule (one token's input
/// projection at a time): the same arithmetic, bit for bit, at every level; for int8
/// weights also with the default schedule (every level computes the same bits).
#[test]
fn steps_end_in_the_taggers_state() {
    for storage in [Storage::F32, Storage::I8] {
        let spec = RandomModel {
            words: 50,
            word_dim: 21,
            chars: None,
            hidden: 13,
            layers: 1,
            bidirectional: false,
            tags: 5,
            storage,
            seed: 3,
        };
        let (blob, words) = spec.build().unwrap();
        let model = Model::from_bytes(&blob).unwrap();
        let sentence: Vec<&str> = words.iter().take(11).map(String::as_str).collect();
        let cell = model.lstm().cell(0, 0);
        let embedding = model.word_embedding();
        let n = sentence.len();
        let mut schedules = vec![("low-memory", model.min_scratch_bytes(n).unwrap())];
        if storage == Storage::I8 {
            schedules.push(("default", model.scratch_bytes(n).unwrap()));
        }
        for level in levels() {
            assert!(arch::force(Some(level)));
            let (mut h, mut c) = (vec![0.0f32; 13], vec![0.0f32; 13]);
            let mut x = vec![0.0f32; 21];
            let mut work = vec![0.0f32; cell.work_len()];
            for w in &sentence {
                embedding.row_into(model.word_row(w).unwrap() as usize, &mut x);
                cell.step(&x, &mut h, &mut c, &mut work).unwrap();
            }
            let steps: Vec<f32> = h.iter().chain(&c).copied().collect();
            for &(schedule, bytes) in &schedules {
                let mut state = vec![0.0f32; model.state_len()];
                let mut scratch = vec![0u8; bytes];
                let mut tags = vec![0u16; n];
                model
                    .tag_from_state(&sentence, &mut state, &mut scratch, &mut tags, None)
                    .unwrap();
                assert!(
                    same_bits(&steps, &state),
                    "{storage:?} at {}, {schedule} schedule",
                    level.name()
                );
            }
            arch::force(None);
        }
    }
}

/// Wrong sizes are errors, checked before anything is written: a cell whose parts
/// disagree, an input or state of the wrong length, too little working memory.
#[test]
fn step_refuses_wrong_sizes_and_writes_nothing() {
    for storage in [Storage::F32, Storage::I8] {
        let (input_dim, hidden) = (5, 3);
        let bytes = cell_bytes(storage, input_dim, hidden, 3);
        let good = cell(&bytes, storage, input_dim, hidden);
        let x = input(0, input_dim);
        let h0 = vec![0.25f32; hidden];
        let work_len = good.work_len();
        let attempt = |cell: &Cell<'_>, x: &[f32], h: usize, c: usize, work: usize| {
            let (mut h, mut c) = (vec![0.25f32; h], vec![-0.5f32; c]);
            let mut work = vec![0.0f32; work];
            let r = cell.step(x, &mut h, &mut c, &mut work);
            (r, h, c)
        };
        // A bias of 2H (a cell put together from mismatched parts).
        let short_bias = Cell {
            bias: Vector::f32_le(&bytes[2][..2 * hidden * 4], 2 * hidden).unwrap(),
            ..good
        };
        let cases = [
            (
                attempt(&short_bias, &x, hidden, hidden, work_len),
                Error::InvalidModel,
            ),
            (
                attempt(&good, &x[..4], hidden, hidden, work_len),
                Error::StateSize,
            ),
            (
                attempt(&good, &x, hidden - 1, hidden, work_len),
                Error::StateSize,
            ),
            (
                attempt(&good, &x, hidden, hidden + 1, work_len),
                Error::StateSize,
            ),
            (
                attempt(&good, &x, hidden, hidden, work_len - 1),
                Error::ScratchTooSmall,
            ),
        ];
        for (i, ((r, h, c), want)) in cases.into_iter().enumerate() {
            assert_eq!(r, Err(want), "{storage:?} case {i}");
            assert!(
                h.iter().all(|&v| v == 0.25) && c.iter().all(|&v| v == -0.5),
                "case {i}"
            );
        }
        let (r, h, _) = attempt(&good, &x, hidden, hidden, work_len);
        assert_eq!(r, Ok(()));
        assert_ne!(h, h0);
    }
}

/// `steps` steps of `cell` packed into a buffer of [`Cell::packed_len`] at the
/// current level, run at `level`: every `h`, then the final `c`.
fn run_packed(cell: &Cell<'_>, steps: usize, level: Level) -> Vec<f32> {
    let (input_dim, hidden) = (cell.w_ih.cols(), cell.hidden());
    let mut buf = vec![f32::NAN; cell.packed_len()];
    let packed = cell.pack(&mut buf).unwrap();
    let (mut h, mut c) = (vec![0.0f32; hidden], vec![0.0f32; hidden]);
    let mut work = vec![f32::NAN; packed.work_len()];
    let mut out = Vec::new();
    assert!(arch::force(Some(level)));
    for t in 0..steps {
        packed
            .step(&input(t, input_dim), &mut h, &mut c, &mut work)
            .unwrap();
        out.extend_from_slice(&h);
    }
    arch::force(None);
    out.extend_from_slice(&c);
    out
}

/// Packed at each level, stepped at each level (a level forced after packing
/// included): f32 and int8 within the float64 reference's tolerance; int8 bit for bit
/// the integer arithmetic written out, as `Cell::step` is.
#[test]
fn packed_steps_match_the_references_at_every_level() {
    for storage in [Storage::F32, Storage::I8] {
        for (n, &(input_dim, hidden)) in SHAPES.iter().enumerate() {
            let bytes = cell_bytes(storage, input_dim, hidden, 23 + n as u64);
            let cell = cell(&bytes, storage, input_dim, hidden);
            let want = reference(&cell, 6);
            let exact = (storage == Storage::I8).then(|| int8_written_out(&bytes, &cell, 6));
            let tolerance = match storage {
                Storage::F32 => 2e-5,
                Storage::I8 => 2e-3,
            };
            for pack_level in levels() {
                for level in levels() {
                    assert!(arch::force(Some(pack_level)));
                    let got = run_packed(&cell, 6, level);
                    let what = format!(
                        "{storage:?} {input_dim} -> {hidden}, packed at {}, stepped at {}",
                        pack_level.name(),
                        level.name()
                    );
                    let diff = got
                        .iter()
                        .zip(&want)
                        .map(|(&g, &w)| (g as f64 - w).abs())
                        .fold(0.0, f64::max);
                    assert!(diff <= tolerance, "{what}: differs by {diff:e}");
                    if let Some(exact) = &exact {
                        assert!(same_bits(&got, exact), "{what}: not the integer arithmetic");
                    }
                }
            }
        }
    }
}

/// f32 packed steps written out: each gate is the bias plus the even columns' products
/// (of `x` then `h`, one sequence) plus, separately, the odd columns' products, each sum
/// in column order without fused multiply-adds, then the scalar cell update. The
/// scalar level and SSE2 (no FMA) compute exactly that.
#[test]
fn f32_packed_steps_are_the_panel_sums_bit_for_bit_without_fma() {
    for (n, &(input_dim, hidden)) in SHAPES.iter().enumerate() {
        let bytes = cell_bytes(Storage::F32, input_dim, hidden, 31 + n as u64);
        let cell = cell(&bytes, Storage::F32, input_dim, hidden);
        let (mut h, mut c) = (vec![0.0f32; hidden], vec![0.0f32; hidden]);
        let mut want = Vec::new();
        let value = |m: &Matrix<'_>, r: usize, k: usize| weight(m, r, k) as f32;
        for t in 0..5 {
            let z: Vec<f32> = input(t, input_dim).into_iter().chain(h.clone()).collect();
            let mut gates: Vec<f32> = (0..4 * hidden)
                .map(|r| {
                    let mut sums = [cell.bias.get(r), 0.0];
                    for (k, &zk) in z.iter().enumerate() {
                        let w = if k < input_dim {
                            value(&cell.w_ih, r, k)
                        } else {
                            value(&cell.w_hh, r, k - input_dim)
                        };
                        sums[k % 2] += w * zk;
                    }
                    sums[0] + sums[1]
                })
                .collect();
            kernels::lstm_cell(&mut gates, &mut c, &mut h);
            want.extend_from_slice(&h);
        }
        want.extend_from_slice(&c);
        for level in [Level::Scalar, Level::Sse2]
            .into_iter()
            .filter(|l| l.is_supported())
        {
            let got = run_packed(&cell, 5, level);
            assert!(
                same_bits(&got, &want),
                "{input_dim} -> {hidden} at {}",
                level.name()
            );
        }
    }
}

/// `pack` refuses a buffer one float short and a cell whose parts disagree; a packed
/// step refuses wrong sizes as `Cell::step` does, writing nothing.
#[test]
fn packing_and_packed_steps_refuse_wrong_sizes() {
    for storage in [Storage::F32, Storage::I8] {
        let (input_dim, hidden) = (5, 3);
        let bytes = cell_bytes(storage, input_dim, hidden, 3);
        let good = cell(&bytes, storage, input_dim, hidden);
        let len = good.packed_len();
        if len > 0 {
            let mut short = vec![0.0f32; len - 1];
            assert_eq!(good.pack(&mut short).err(), Some(Error::ScratchTooSmall));
        }
        let short_bias = Cell {
            bias: Vector::f32_le(&bytes[2][..2 * hidden * 4], 2 * hidden).unwrap(),
            ..good
        };
        let mut buf = vec![0.0f32; len];
        assert_eq!(short_bias.pack(&mut buf).err(), Some(Error::InvalidModel));
        let packed = good.pack(&mut buf).unwrap();
        let x = input(0, input_dim);
        let work_len = packed.work_len();
        let cases = [
            (&x[..4], hidden, hidden, work_len, Error::StateSize),
            (&x[..], hidden - 1, hidden, work_len, Error::StateSize),
            (&x[..], hidden, hidden + 1, work_len, Error::StateSize),
            (&x[..], hidden, hidden, work_len - 1, Error::ScratchTooSmall),
        ];
        for (i, &(x, h_len, c_len, w_len, want)) in cases.iter().enumerate() {
            let (mut h, mut c) = (vec![0.25f32; h_len], vec![-0.5f32; c_len]);
            let mut work = vec![0.0f32; w_len];
            assert_eq!(
                packed.step(x, &mut h, &mut c, &mut work),
                Err(want),
                "{storage:?} case {i}"
            );
            assert!(h.iter().all(|&v| v == 0.25) && c.iter().all(|&v| v == -0.5));
        }
    }
}

/// A buffer of exactly `packed_len` floats works at any offset, the copy written from
/// its first 64-byte boundary on and nothing outside it: the same steps, bit for bit,
/// as at offset 0, at every level, for shapes with and without a copy.
#[test]
fn packing_works_at_any_buffer_offset() {
    for storage in [Storage::F32, Storage::I8] {
        for (input_dim, hidden) in [(3, 5), (17, 9), (40, 33)] {
            let bytes = cell_bytes(storage, input_dim, hidden, 11);
            let cell = cell(&bytes, storage, input_dim, hidden);
            for level in levels() {
                assert!(arch::force(Some(level)));
                let len = cell.packed_len();
                let mut buf = vec![f32::NAN; len + 16];
                let mut runs = Vec::new();
                for offset in 0..16 {
                    buf.fill(f32::NAN);
                    // The copy from the first 64-byte boundary on: the floats before it
                    // and the 15 - skip past the copy are left as they were.
                    let skip = (64 - buf[offset..].as_ptr() as usize % 64) % 64 / 4;
                    let packed = cell.pack(&mut buf[offset..offset + len]).unwrap();
                    let (mut h, mut c) = (vec![0.0f32; hidden], vec![0.0f32; hidden]);
                    let mut work = vec![f32::NAN; packed.work_len()];
                    let mut out = Vec::new();
                    for t in 0..3 {
                        packed
                            .step(&input(t, input_dim), &mut h, &mut c, &mut work)
                            .unwrap();
                        out.extend(h.iter().chain(&c).map(|v| v.to_bits()));
                    }
                    if len > 0 {
                        let copy = offset + skip..offset + skip + len - 15;
                        let outside = (offset..copy.start).chain(copy.end..offset + len);
                        for i in outside {
                            assert!(buf[i].is_nan(), "{storage:?} offset {offset}: {i} written");
                        }
                        assert!(buf[copy].iter().any(|v| !v.is_nan()));
                    }
                    runs.push(out);
                }
                arch::force(None);
                assert!(
                    runs.iter().all(|r| *r == runs[0]),
                    "{storage:?} {input_dim} -> {hidden} at {}",
                    level.name()
                );
            }
        }
    }
}

/// `packed_len` is the documented size at every level: f32 panels always; for int8 at
/// `sse2`, `avx2` and `avx512` the i16 copy, `8 ceil(H/2) (ceil(in/2) + ceil(H/2))` floats, where
/// `in` and H are at most 1024 and, at `avx2` and `avx512`, that is at most 8,192 (32
/// KiB), else 0; plus 15 floats where it is not 0. The shapes sit on both sides of each bound (101 -> 31: 32,736 bytes by
/// the unpadded `8H (in + H)`, 34,304 as padded: not copied at `avx2` and `avx512`).
#[test]
fn packed_len_is_the_documented_size() {
    for (input_dim, hidden) in [
        (1, 1),
        (5, 1),
        (3, 5),
        (17, 9),
        (32, 32),
        (101, 31),
        (1, 63),
        (48, 48),
        (1024, 1),
        (1025, 1),
    ] {
        for storage in [Storage::F32, Storage::I8] {
            let bytes = cell_bytes(storage, input_dim, hidden, 5);
            let cell = cell(&bytes, storage, input_dim, hidden);
            for level in levels() {
                assert!(arch::force(Some(level)));
                let got = cell.packed_len();
                arch::force(None);
                let copy = 8 * hidden.div_ceil(2) * (input_dim.div_ceil(2) + hidden.div_ceil(2));
                let want = match storage {
                    Storage::F32 => 16 * (4 * hidden).div_ceil(16) * (1 + input_dim + hidden),
                    Storage::I8
                        if input_dim.max(hidden) <= 1024
                            && (level == Level::Sse2
                                || matches!(level, Level::Avx2 | Level::Avx512)
                                    && copy <= 8192) =>
                    {
                        copy
                    }
                    _ => 0,
                };
                // Room to start the copy at a 64-byte boundary.
                let want = if want > 0 { want + 15 } else { 0 };
                assert_eq!(
                    got,
                    want,
                    "{storage:?} {input_dim} -> {hidden} at {}",
                    level.name()
                );
            }
        }
    }
}
