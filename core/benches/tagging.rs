//! Batch-1 tagging throughput: one sentence per call, as a firmware caller tags.
//!
//! Base model with random weights: word embedding 100 (10k words), char BiLSTM 32
//! (char embedding 32), word BiLSTM 128, 17 tags. Run: `cargo bench -p postag-core`.

use std::time::{Duration, Instant};

use postag_core::builder::BlobBuilder;
use postag_core::format::{
    CharConfig, Config, LstmPart, LstmShape, Net, Role, TagColumn, WordConfig,
};
use postag_core::tensor::Storage;
use postag_core::Model;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn uniform(&mut self, bound: f32) -> f32 {
        ((self.next() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * bound
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const ALPHABET: &str = "etaoinshrdlucmfwypvbgkqjxzETAOINSHR0123456789-.,'";

fn base_model(rng: &mut Rng, storage: Storage) -> (Vec<u8>, Vec<String>) {
    let (vocab, word_dim, chars_n, char_dim, char_h, hidden, tags) =
        (10_000, 100, 60, 32, 32, 128, 17);
    let config = Config {
        words: WordConfig {
            rows: vocab as u32 + 1,
            dim: word_dim,
            unknown: Some(vocab as u32),
            normalize: 0,
        },
        chars: Some(CharConfig {
            rows: chars_n + 1,
            dim: char_dim,
            unknown: Some(chars_n),
            max_word_chars: 32,
            lstm: LstmShape {
                hidden: char_h,
                layers: 1,
                bidirectional: true,
            },
        }),
        lstm: LstmShape {
            hidden,
            layers: 1,
            bidirectional: true,
        },
        tags,
        crf: false,
        tag_column: TagColumn::Upos,
    };
    let mut b = BlobBuilder::new(config);
    let mut fill = |n: usize, bound: f32| (0..n).map(|_| rng.uniform(bound)).collect::<Vec<f32>>();
    let rows = vocab + 1;
    b.weights(
        Role::WordEmbedding,
        rows,
        word_dim as usize,
        &fill(rows * word_dim as usize, 1.0),
        storage,
    )
    .unwrap();
    b.weights(
        Role::CharEmbedding,
        chars_n as usize + 1,
        char_dim as usize,
        &fill((chars_n as usize + 1) * char_dim as usize, 1.0),
        storage,
    )
    .unwrap();
    for (net, h, input) in [
        (Net::Char, char_h as usize, char_dim as usize),
        (Net::Word, hidden as usize, config.word_input_dim()),
    ] {
        for reverse in [false, true] {
            let role = |part| Role::Lstm {
                net,
                layer: 0,
                reverse,
                part,
            };
            let bound = 1.0 / (h as f32).sqrt();
            b.weights(
                role(LstmPart::InputWeights),
                4 * h,
                input,
                &fill(4 * h * input, bound),
                storage,
            )
            .unwrap();
            b.weights(
                role(LstmPart::HiddenWeights),
                4 * h,
                h,
                &fill(4 * h * h, bound),
                storage,
            )
            .unwrap();
            b.vector(role(LstmPart::Bias), &fill(4 * h, bound)).unwrap();
        }
    }
    b.weights(
        Role::TagWeights,
        tags as usize,
        256,
        &fill(tags as usize * 256, 0.06),
        storage,
    )
    .unwrap();
    b.vector(Role::TagBias, &fill(tags as usize, 0.06)).unwrap();
    let names: Vec<String> = (0..tags).map(|i| format!("T{i}")).collect();
    b.tag_names(names.iter().map(String::as_str)).unwrap();
    let alphabet: Vec<char> = ALPHABET.chars().collect();
    b.chars(
        alphabet
            .iter()
            .take(chars_n as usize)
            .enumerate()
            .map(|(i, &c)| (c, i as u32)),
    )
    .unwrap();
    // English-like word lengths: 1..12 characters, mostly short.
    let mut words = std::collections::BTreeSet::new();
    while words.len() < vocab {
        let len = 1 + rng.below(4) + rng.below(4) + rng.below(5);
        words.insert(
            (0..len)
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect::<String>(),
        );
    }
    let words: Vec<String> = words.into_iter().collect();
    b.words(
        words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.as_str(), i as u32)),
    )
    .unwrap();
    (b.finish().unwrap(), words)
}

fn main() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for storage in [Storage::F32, Storage::I8] {
        let (blob, words) = base_model(&mut rng, storage);
        let model = Model::from_bytes(&blob).unwrap();
        // Sentences of 5..30 tokens (mean about 17); one word in ten unknown.
        let sentences: Vec<Vec<String>> = (0..500)
            .map(|_| {
                (0..5 + rng.below(26))
                    .map(|_| {
                        if rng.below(10) == 0 {
                            "qzxvkj".to_string()
                        } else {
                            words[rng.below(words.len())].clone()
                        }
                    })
                    .collect()
            })
            .collect();
        let mut scratch = vec![0u8; model.scratch_bytes(64).unwrap()];
        let mut tags = vec![0u16; 64];
        let mut run = || {
            let mut tokens = 0;
            for s in &sentences {
                model.tag(s, &mut scratch, &mut tags, None).unwrap();
                tokens += s.len();
            }
            tokens
        };
        run(); // warm up
        let (mut tokens, start) = (0usize, Instant::now());
        while start.elapsed() < Duration::from_secs(3) {
            tokens += run();
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "batch-1 tagging, base model {:?}: {:.0} tokens/s ({:.1} us/token), blob {} KB, scratch for 64 tokens {} KB",
            storage,
            tokens as f64 / secs,
            secs * 1e6 / tokens as f64,
            blob.len() / 1024,
            model.scratch_bytes(64).unwrap() / 1024
        );
    }
}
