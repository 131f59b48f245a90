//! Training speed of the nn engine on an English-sized model with random weights and random
//! sentences: word emb 100 (vocab 20k), char emb 32 + char BiLSTM 32, word BiLSTM 128,
//! 17 tags, batch 32, dropout 0.33, Adam, gradient clipping.
//!
//! `cargo run --release --example nn_speed [batches [threads]]` (default: 60 batches, threads
//! 1 and 2).
//!
//! Two token streams: "zipf" draws words from a Zipf(1) law over the vocabulary, as real
//! text (so words repeat within a batch and the char LSTM runs once per distinct spelling);
//! "uniform" draws every word uniformly from 20k, so nearly every token is a distinct
//! spelling (worst case for the char LSTM).

use std::time::Instant;

use postag_trainer::nn::*;

const VOCAB: usize = 20_000;
const CHARS: usize = 100;
const TAGS: usize = 17;
const BATCH: usize = 32;

fn arch() -> Arch {
    Arch {
        word_vocab: VOCAB,
        word_dim: 100,
        char: Some(CharArch {
            vocab: CHARS,
            dim: 32,
            hidden: 32,
            layers: 1,
            bidirectional: true,
        }),
        hidden: 128,
        layers: 1,
        bidirectional: true,
        num_tags: TAGS,
        crf: false,
    }
}

/// Sentence length ~ lognormal, mean ~17 tokens, 1..=80.
fn sentence_len(rng: &mut Rng) -> usize {
    (2.65 + 0.6 * rng.normal()).exp().round().clamp(1.0, 80.0) as usize
}

fn corpus(sentences: usize, zipf: bool, rng: &mut Rng) -> Vec<Sentence> {
    // A fixed spelling per word: 1..=15 chars, short words more likely (mean ~6).
    let spellings: Vec<Vec<u32>> = (0..VOCAB)
        .map(|_| {
            let len = (1.7 + 0.5 * rng.normal()).exp().round().clamp(1.0, 15.0) as usize;
            (0..len).map(|_| rng.below(CHARS) as u32).collect()
        })
        .collect();
    // Zipf(1) by inverse CDF over the harmonic weights.
    let mut cdf = Vec::with_capacity(VOCAB);
    let mut acc = 0.0f64;
    for r in 0..VOCAB {
        acc += 1.0 / (r + 1) as f64;
        cdf.push(acc);
    }
    let word = |rng: &mut Rng| -> u32 {
        if zipf {
            let u = rng.next_f64() * acc;
            cdf.partition_point(|&c| c < u).min(VOCAB - 1) as u32
        } else {
            rng.below(VOCAB) as u32
        }
    };
    (0..sentences)
        .map(|_| {
            let n = sentence_len(rng);
            let words: Vec<u32> = (0..n).map(|_| word(rng)).collect();
            Sentence {
                chars: words
                    .iter()
                    .map(|&w| spellings[w as usize].clone())
                    .collect(),
                tags: (0..n).map(|_| rng.below(TAGS) as u16).collect(),
                words,
            }
        })
        .collect()
}

fn main() {
    let batches: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("batches"))
        .unwrap_or(60);
    let thread_counts: Vec<usize> = match std::env::args().nth(2) {
        Some(t) => vec![t.parse().expect("threads")],
        None => vec![1, 2],
    };
    let arch = arch();
    let mut rng = Rng::new(2024);
    let init = Params::init(&arch, &mut rng);
    println!(
        "model: {} parameters; batch {BATCH}, dropout 0.33, Adam, clip 5.0; {batches} batches per run",
        init.num_scalars()
    );
    for zipf in [true, false] {
        let data = corpus(batches * BATCH, zipf, &mut rng);
        let tokens: usize = data.iter().map(|s| s.words.len()).sum();
        for &threads in &thread_counts {
            let mut params = init.clone();
            let mut grads = Params::zeros(&arch);
            let mut adam = Adam::new(1e-3, &params);
            adam.threads = threads;
            let opts = TrainOpts {
                dropout: 0.33,
                threads,
            };
            let mut train_rng = Rng::new(7);
            let (mut t_grad, mut t_opt) = (0.0f64, 0.0f64);
            let mut last_loss = 0.0;
            let start = Instant::now();
            for batch in data.chunks(BATCH) {
                let refs: Vec<&Sentence> = batch.iter().collect();
                let t0 = Instant::now();
                grads.fill_zero();
                last_loss = loss_and_grad(&params, &refs, &mut grads, &opts, &mut train_rng);
                let t1 = Instant::now();
                clip_grad_norm(&mut grads, 5.0);
                adam.step(&mut params, &grads);
                t_grad += (t1 - t0).as_secs_f64();
                t_opt += t1.elapsed().as_secs_f64();
            }
            let secs = start.elapsed().as_secs_f64();
            println!(
                "{:>7} words, threads={threads}: {:>7.0} tokens/s  ({tokens} tokens in {secs:.2} s; \
                 forward+backward {:.0}%, clip+Adam {:.0}%; last loss {last_loss:.3})",
                if zipf { "zipf" } else { "uniform" },
                tokens as f64 / secs,
                100.0 * t_grad / secs,
                100.0 * t_opt / secs,
            );
        }
    }
}
