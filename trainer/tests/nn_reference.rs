//! The batched engine's scores equal a naive, one-sentence-at-a-time transcription of the
//! PyTorch definitions (f64, plain loops), for every variant: uni/bi, stacked, char uni/bi.
//! This pins the forward semantics (concatenation orders, which char state is `c_w`, where
//! the reverse direction starts) that gradient checks alone cannot: they only prove the
//! backward pass matches whatever the forward pass computes.

use postag_trainer::nn::*;

/// torch.nn.LSTM over a sequence, one direction, zero initial state. xs: (n, in).
fn lstm_dir(cell: &Cell, xs: &[Vec<f64>], reverse: bool) -> Vec<Vec<f64>> {
    let h = cell.hidden();
    let input = cell.input();
    let sig = |x: f64| 1.0 / (1.0 + (-x).exp());
    let (mut hs, mut cs) = (vec![0.0f64; h], vec![0.0f64; h]);
    let mut out = vec![Vec::new(); xs.len()];
    let order: Vec<usize> = if reverse {
        (0..xs.len()).rev().collect()
    } else {
        (0..xs.len()).collect()
    };
    for t in order {
        let gate = |row: usize| -> f64 {
            let dot =
                |w: &[f32], v: &[f64]| w.iter().zip(v).map(|(a, b)| *a as f64 * b).sum::<f64>();
            cell.b[row] as f64
                + dot(&cell.w_ih[row * input..(row + 1) * input], &xs[t])
                + dot(&cell.w_hh[row * h..(row + 1) * h], &hs)
        };
        let mut new_h = vec![0.0; h];
        for j in 0..h {
            let (i, f, g, o) = (
                sig(gate(j)),
                sig(gate(h + j)),
                gate(2 * h + j).tanh(),
                sig(gate(3 * h + j)),
            );
            cs[j] = f * cs[j] + i * g;
            new_h[j] = o * cs[j].tanh();
        }
        hs = new_h;
        out[t] = hs.clone();
    }
    out
}

/// Stacked (bi)LSTM: each layer's output per step is [fwd ; bwd].
fn lstm_stack(layers: &[Vec<Cell>], xs: Vec<Vec<f64>>) -> Vec<Vec<f64>> {
    let mut x = xs;
    for cells in layers {
        let dirs: Vec<Vec<Vec<f64>>> = cells
            .iter()
            .enumerate()
            .map(|(d, c)| lstm_dir(c, &x, d == 1))
            .collect();
        x = (0..x.len())
            .map(|t| dirs.iter().flat_map(|d| d[t].clone()).collect())
            .collect();
    }
    x
}

fn reference_log_probs(p: &Params, s: &Sentence) -> Vec<f64> {
    let a = &p.arch;
    let xs: Vec<Vec<f64>> = s
        .words
        .iter()
        .enumerate()
        .map(|(t, &w)| {
            let w = w as usize;
            let mut x: Vec<f64> = p.word_emb[w * a.word_dim..(w + 1) * a.word_dim]
                .iter()
                .map(|&v| v as f64)
                .collect();
            if let Some(c) = &a.char {
                let chars: Vec<Vec<f64>> = s.chars[t]
                    .iter()
                    .map(|&ch| {
                        let ch = ch as usize;
                        p.char_emb[ch * c.dim..(ch + 1) * c.dim]
                            .iter()
                            .map(|&v| v as f64)
                            .collect()
                    })
                    .collect();
                if chars.is_empty() {
                    x.extend(vec![0.0; c.feature_dim()]);
                } else {
                    let ys = lstm_stack(&p.char_lstm, chars);
                    // Final states: forward after the last char, reverse after the first.
                    x.extend_from_slice(&ys[ys.len() - 1][..c.hidden]);
                    if c.bidirectional {
                        x.extend_from_slice(&ys[0][c.hidden..]);
                    }
                }
            }
            x
        })
        .collect();
    let ys = lstm_stack(&p.lstm, xs);
    let d = a.lstm_output();
    let mut out = Vec::new();
    for y in ys {
        let z: Vec<f64> = (0..a.num_tags)
            .map(|k| {
                p.tag_b[k] as f64
                    + (0..d)
                        .map(|j| p.tag_w[k * d + j] as f64 * y[j])
                        .sum::<f64>()
            })
            .collect();
        let max = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let lse = max + z.iter().map(|v| (v - max).exp()).sum::<f64>().ln();
        out.extend(z.iter().map(|v| v - lse));
    }
    out
}

#[test]
fn batched_engine_equals_naive_reference_for_every_variant() {
    let mut worst = 0.0f64;
    let mut seed = 0;
    for bi in [false, true] {
        for layers in [1, 2] {
            for chars in [None, Some((1, false)), Some((1, true)), Some((2, true))] {
                seed += 1;
                let arch = Arch {
                    word_vocab: 12,
                    word_dim: 4,
                    char: chars.map(|(layers, bidirectional)| CharArch {
                        vocab: 7,
                        dim: 3,
                        hidden: 5,
                        layers,
                        bidirectional,
                    }),
                    hidden: 6,
                    layers,
                    bidirectional: bi,
                    num_tags: 4,
                    crf: false,
                };
                let mut rng = Rng::new(seed);
                let params = Params::init(&arch, &mut rng);
                let sents: Vec<Sentence> = [6usize, 1, 3, 9]
                    .iter()
                    .map(|&n| Sentence {
                        words: (0..n).map(|_| rng.below(12) as u32).collect(),
                        chars: (0..n)
                            .map(|_| (0..rng.below(6)).map(|_| rng.below(7) as u32).collect())
                            .collect(),
                        tags: Vec::new(),
                    })
                    .collect();
                let batch: Vec<&Sentence> = sents.iter().collect();
                let got = predict(&params, &batch, 2);
                for (s, g) in sents.iter().zip(&got) {
                    let want = reference_log_probs(&params, s);
                    assert_eq!(g.len(), want.len());
                    for (x, y) in g.iter().zip(&want) {
                        let d = (*x as f64 - y).abs();
                        assert!(d < 1e-5, "{arch:?}: {x} vs {y}");
                        worst = worst.max(d);
                    }
                }
            }
        }
    }
    println!("batched engine vs naive f64 reference: max |diff| {worst:e}");
}
