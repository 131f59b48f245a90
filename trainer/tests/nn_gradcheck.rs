//! Finite-difference gradient checks of every trainable tensor, for every model variant, and
//! the thread-count independence of loss and gradients.

use postag_trainer::nn::*;

/// A tiny architecture. `char_variant`: None, or (layers, bidirectional).
fn arch(bi: bool, layers: usize, chars: Option<(usize, bool)>, crf: bool) -> Arch {
    Arch {
        word_vocab: 6,
        word_dim: 3,
        char: chars.map(|(layers, bidirectional)| CharArch {
            vocab: 5,
            dim: 2,
            hidden: 2,
            layers,
            bidirectional,
        }),
        hidden: 3,
        layers,
        bidirectional: bi,
        num_tags: 3,
        crf,
    }
}

/// Random sentences of the given lengths. Char sequences have 0..=4 chars (so some words
/// have none and some one), and word ids repeat with the same spelling (so the char LSTM's
/// shared sequences are exercised).
fn sentences(arch: &Arch, lens: &[usize], rng: &mut Rng) -> Vec<Sentence> {
    let spellings: Vec<Vec<u32>> = (0..arch.word_vocab)
        .map(|w| {
            let n = w % 5; // word 0 has no chars, word 1 one char, ...
            let vocab = arch.char.as_ref().map_or(1, |c| c.vocab);
            (0..n).map(|_| rng.below(vocab) as u32).collect()
        })
        .collect();
    lens.iter()
        .map(|&n| {
            let words: Vec<u32> = (0..n).map(|_| rng.below(arch.word_vocab) as u32).collect();
            Sentence {
                chars: if arch.char.is_some() {
                    words
                        .iter()
                        .map(|&w| spellings[w as usize].clone())
                        .collect()
                } else {
                    Vec::new()
                },
                tags: (0..n).map(|_| rng.below(arch.num_tags) as u16).collect(),
                words,
            }
        })
        .collect()
}

/// Worst errors of one check.
#[derive(Default, Debug)]
struct Worst {
    rel: f64,
    abs: f64,
    checked: usize,
}

/// Five-point central difference: f'(x) ~ (f(x-2h) - 8f(x-h) + 8f(x+h) - f(x+2h)) / 12h,
/// truncation O(h^4), so h can be large enough that f32 rounding of the loss stays small.
const H: f32 = 3e-2;
/// Pass if |analytic - numeric| <= ATOL + RTOL * max(|analytic|, |numeric|).
/// ATOL sits a few times above the f32 noise floor (loss rounding ~2e-7 * 1.5 / H; observed
/// worst 4e-6 at H = 3e-2, 1e-5 at H = 1e-2, 5e-5 at H = 6e-2 where truncation takes over);
/// a wrong or missing term is of the size of the gradient itself, far above both.
const ATOL: f64 = 2e-5;
const RTOL: f64 = 5e-3;
/// Larger tensors are checked on this many fixed random elements.
const SAMPLE: usize = 150;

fn gradcheck(arch: &Arch, seed: u64) -> Worst {
    let mut rng = Rng::new(seed);
    let mut params = Params::init(arch, &mut rng);
    let sents = sentences(arch, &[4, 1, 6], &mut rng);
    let batch: Vec<&Sentence> = sents.iter().collect();
    let mut grads = Params::zeros(arch);
    let opts = TrainOpts {
        dropout: 0.0,
        threads: 1,
    };
    let l0 = loss_and_grad(&params, &batch, &mut grads, &opts, &mut rng);
    let l_eval = loss(&params, &batch, 1);
    assert!(
        (l0 - l_eval).abs() <= 1e-6 * l0.abs(),
        "train loss {l0} vs eval loss {l_eval}"
    );

    let analytic: Vec<(String, Vec<f32>)> = grads
        .named_parameters()
        .into_iter()
        .map(|t| (t.name, t.data.to_vec()))
        .collect();
    let mut worst = Worst::default();
    let names: Vec<String> = analytic.iter().map(|(n, _)| n.clone()).collect();
    for (ti, name) in names.iter().enumerate() {
        let len = analytic[ti].1.len();
        let idx: Vec<usize> = if len <= SAMPLE {
            (0..len).collect()
        } else {
            let mut pick = Rng::new(seed ^ ti as u64);
            (0..SAMPLE).map(|_| pick.below(len)).collect()
        };
        for i in idx {
            let mut eval = |delta: f32| -> f64 {
                let orig = {
                    let mut ts = params.named_parameters_mut();
                    let v = ts[ti].data[i];
                    ts[ti].data[i] = v + delta;
                    v
                };
                let l = loss(&params, &batch, 1) as f64;
                params.named_parameters_mut()[ti].data[i] = orig;
                l
            };
            let (m2, m1, p1, p2) = (eval(-2.0 * H), eval(-H), eval(H), eval(2.0 * H));
            let numeric = (m2 - 8.0 * m1 + 8.0 * p1 - p2) / (12.0 * H as f64);
            let a = analytic[ti].1[i] as f64;
            let err = (a - numeric).abs();
            let scale = a.abs().max(numeric.abs());
            assert!(
                err <= ATOL + RTOL * scale,
                "{arch:?}\n{name}[{i}]: analytic {a:e} vs numeric {numeric:e}"
            );
            worst.abs = worst.abs.max(err);
            if scale > 1e-3 {
                worst.rel = worst.rel.max(err / scale);
            }
            worst.checked += 1;
        }
    }
    worst
}

#[test]
fn gradients_match_finite_differences_for_every_variant() {
    let mut total = Worst::default();
    let mut variants = 0;
    for bi in [false, true] {
        for layers in [1, 2] {
            for chars in [
                None,
                Some((1, false)),
                Some((1, true)),
                Some((2, false)),
                Some((2, true)),
            ] {
                for crf in [false, true] {
                    let a = arch(bi, layers, chars, crf);
                    let w = gradcheck(&a, 100 + variants);
                    println!(
                        "bi={bi} layers={layers} chars={chars:?} crf={crf}: {} elements, \
                         worst rel {:.2e}, worst abs {:.2e}",
                        w.checked, w.rel, w.abs
                    );
                    total.rel = total.rel.max(w.rel);
                    total.abs = total.abs.max(w.abs);
                    total.checked += w.checked;
                    variants += 1;
                }
            }
        }
    }
    println!(
        "gradient check: {variants} variants, {} elements, worst relative error {:.2e} \
         (over |grad| > 1e-3), worst absolute error {:.2e}",
        total.checked, total.rel, total.abs
    );
}

/// The checker itself must catch a wrong gradient: corrupt one element and expect a panic.
#[test]
#[should_panic(expected = "analytic")]
fn gradcheck_catches_a_wrong_gradient() {
    let a = arch(true, 1, Some((1, true)), false);
    let mut rng = Rng::new(1);
    let params = Params::init(&a, &mut rng);
    let sents = sentences(&a, &[3, 2], &mut rng);
    let batch: Vec<&Sentence> = sents.iter().collect();
    let mut grads = Params::zeros(&a);
    let opts = TrainOpts::default();
    loss_and_grad(&params, &batch, &mut grads, &opts, &mut rng);
    // Same check as above, on a gradient with one term missing (bias of gate f, forward).
    let numeric = {
        let mut p = params.clone();
        let h = H;
        let mut at = |d: f32| {
            p.lstm[0][0].b[3] += d;
            let l = loss(&p, &batch, 1) as f64;
            p.lstm[0][0].b[3] -= d;
            l
        };
        (at(-2.0 * h) - 8.0 * at(-h) + 8.0 * at(h) - at(2.0 * h)) / (12.0 * h as f64)
    };
    let wrong = grads.lstm[0][0].b[3] as f64 * 0.5;
    let err = (wrong - numeric).abs();
    assert!(
        err <= ATOL + RTOL * wrong.abs().max(numeric.abs()),
        "analytic {wrong} vs numeric {numeric}"
    );
}

fn max_rel_diff(a: &[f32], b: &[f32]) -> f64 {
    let scale = a.iter().fold(0.0f32, |m, x| m.max(x.abs())) as f64;
    a.iter()
        .zip(b)
        .map(|(x, y)| (*x as f64 - *y as f64).abs() / scale.max(1e-30))
        .fold(0.0, f64::max)
}

#[test]
fn loss_and_gradients_do_not_depend_on_thread_count() {
    let a = Arch {
        word_vocab: 30,
        word_dim: 5,
        char: Some(CharArch {
            vocab: 9,
            dim: 3,
            hidden: 4,
            layers: 1,
            bidirectional: true,
        }),
        hidden: 6,
        layers: 2,
        bidirectional: true,
        num_tags: 4,
        crf: true,
    };
    let mut rng = Rng::new(9);
    let params = Params::init(&a, &mut rng);
    let sents = sentences(&a, &[7, 1, 12, 3, 3, 9, 2], &mut rng);
    let batch: Vec<&Sentence> = sents.iter().collect();
    let run = |threads: usize| {
        let mut grads = Params::zeros(&a);
        // Dropout on: the masks must not depend on the chunking either.
        let opts = TrainOpts {
            dropout: 0.3,
            threads,
        };
        let loss = loss_and_grad(&params, &batch, &mut grads, &opts, &mut Rng::new(77));
        (loss, grads)
    };
    let (l1, g1) = run(1);
    let mut worst = 0.0f64;
    for threads in [2, 3, 7] {
        let (lt, gt) = run(threads);
        let rel = ((l1 - lt) / l1).abs() as f64;
        assert!(rel <= 1e-6, "loss {l1} vs {lt} with {threads} threads");
        worst = worst.max(rel);
        for (x, y) in g1
            .named_parameters()
            .iter()
            .zip(gt.named_parameters().iter())
        {
            let d = max_rel_diff(x.data, y.data);
            assert!(
                d <= 1e-6,
                "{}: rel diff {d:e} with {threads} threads",
                x.name
            );
            worst = worst.max(d);
        }
    }
    // Dropout really was on: a different dropout seed changes the loss.
    let mut grads = Params::zeros(&a);
    let opts = TrainOpts {
        dropout: 0.3,
        threads: 1,
    };
    let other = loss_and_grad(&params, &batch, &mut grads, &opts, &mut Rng::new(78));
    assert_ne!(other, l1);
    println!("threads 1 vs 2/3/7: max relative difference {worst:e} (loss and every gradient)");
}

/// A sentence's scores do not depend on which other sentences share its batch (packing,
/// sorting, shared char sequences) or on the thread count.
#[test]
fn batched_prediction_equals_one_sentence_at_a_time() {
    let a = arch(true, 2, Some((2, true)), true);
    let mut rng = Rng::new(4);
    let params = Params::init(&a, &mut rng);
    let sents = sentences(&a, &[5, 2, 8, 1, 5, 3], &mut rng);
    let batch: Vec<&Sentence> = sents.iter().collect();
    let together = predict(&params, &batch, 2);
    let mut worst = 0.0f32;
    for (s, scores) in sents.iter().zip(&together) {
        let alone = predict(&params, &[s], 1);
        assert_eq!(alone[0].len(), s.words.len() * a.num_tags);
        for (x, y) in scores.iter().zip(&alone[0]) {
            worst = worst.max((x - y).abs());
        }
    }
    assert!(worst < 1e-6, "batched vs alone: {worst}");
    println!("batched vs one at a time: max |diff| {worst:e}");
}
