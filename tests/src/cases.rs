//! Case files: a model blob plus sentences and the outputs the C API must give for
//! them, written by the Rust tests and read by `tests/c/cases.c`.
//!
//! Layout (little-endian), the reader's reference:
//!
//! ```text
//! "PTCASE01"
//! f32 tolerance        max |difference| of scores and states; 0 = bit-exact
//! f32 step_tolerance   the same for postag_step against the whole-sentence outputs
//! u32 num_tags, u32 state_len (0: not streamable), u32 layers, u32 hidden
//! u8 bidirectional, crf, chars, unknown_word, unknown_char
//! num_tags x (u32 len, bytes)                       tag names
//! u32 n_sentences, then per sentence:
//!   u32 n, n x (u32 len, bytes)                     tokens
//!   u8 has_plain  [u16 tags[n], f32 scores[n*T]]    postag_tag
//!   u8 has_stream [f32 initial[S], u8 has_final, [f32 final[S]],
//!                  u16 tags[n], f32 scores[n*T]]    postag_tag_from_state
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};

use postag_core::Model;

/// Outputs from a caller-held initial state.
#[derive(Debug, Clone)]
pub struct Stream {
    /// The state before the sentence.
    pub initial: Vec<f32>,
    /// The state after it, when known.
    pub final_state: Option<Vec<f32>>,
    /// Tag per token.
    pub tags: Vec<u16>,
    /// Log-probabilities, row per token.
    pub scores: Vec<f32>,
}

/// A sentence and its expected outputs.
#[derive(Debug, Clone)]
pub struct Sentence {
    /// Token bytes (need not be UTF-8: bad input is allowed here).
    pub tokens: Vec<Vec<u8>>,
    /// `postag_tag`'s tags and scores.
    pub plain: Option<(Vec<u16>, Vec<f32>)>,
    /// `postag_tag_from_state`'s.
    pub stream: Option<Stream>,
}

/// A model and what the C API must give for it.
#[derive(Debug, Clone)]
pub struct Case {
    /// Name (a fixture name, or a description).
    pub name: String,
    /// The blob.
    pub blob: Vec<u8>,
    /// Score and state tolerance; 0 means bit-exact.
    pub tolerance: f32,
    /// Tolerance of one-token steps against whole-sentence outputs.
    pub step_tolerance: f32,
    /// The sentences.
    pub sentences: Vec<Sentence>,
}

/// A deterministic state in [-1, 1) for sentence `seed`.
pub fn pseudo_random_state(len: usize, seed: u64) -> Vec<f32> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

impl Case {
    /// Expected outputs computed by the Rust core: `postag_tag` for every sentence and,
    /// for a unidirectional model, `postag_tag_from_state` from `initial(i)` (or a
    /// pseudo-random state when it returns `None`). The C API runs the same code, so
    /// its scores must be bit-identical (`tolerance` 0).
    pub fn from_core(
        name: &str,
        blob: Vec<u8>,
        sentences: &[Vec<String>],
        initial: impl Fn(usize) -> Option<Vec<f32>>,
    ) -> Case {
        let model = Model::from_bytes(&blob).unwrap_or_else(|e| panic!("{name}: {e}"));
        let t = model.num_tags();
        let max = sentences.iter().map(Vec::len).max().unwrap_or(0);
        let mut scratch = vec![0u8; model.scratch_bytes(max).unwrap()];
        let sentences = sentences
            .iter()
            .enumerate()
            .map(|(i, tokens)| {
                let n = tokens.len();
                let (mut tags, mut scores) = (vec![0u16; n], vec![0f32; n * t]);
                model
                    .tag(tokens, &mut scratch, &mut tags, Some(&mut scores))
                    .unwrap_or_else(|e| panic!("{name} sentence {i}: {e}"));
                let stream = model.has_state().then(|| {
                    let initial = initial(i)
                        .unwrap_or_else(|| pseudo_random_state(model.state_len(), i as u64 + 1));
                    let mut state = initial.clone();
                    let (mut tags, mut scores) = (vec![0u16; n], vec![0f32; n * t]);
                    model
                        .tag_from_state(
                            tokens,
                            &mut state,
                            &mut scratch,
                            &mut tags,
                            Some(&mut scores),
                        )
                        .unwrap_or_else(|e| panic!("{name} sentence {i} from a state: {e}"));
                    Stream {
                        initial,
                        final_state: Some(state),
                        tags,
                        scores,
                    }
                });
                Sentence {
                    tokens: tokens.iter().map(|s| s.as_bytes().to_vec()).collect(),
                    plain: Some((tags, scores)),
                    stream,
                }
            })
            .collect();
        Case {
            name: name.to_string(),
            blob,
            tolerance: 0.0,
            // One token at a time projects inputs one by one instead of in blocks.
            step_tolerance: 1e-5,
            sentences,
        }
    }

    /// The case file's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let model = Model::from_bytes(&self.blob).unwrap();
        let config = model.config();
        let state_len = if model.has_state() {
            model.state_len()
        } else {
            0
        };
        let mut out = b"PTCASE01".to_vec();
        let u32s = |out: &mut Vec<u8>, v: usize| {
            out.extend_from_slice(&u32::try_from(v).unwrap().to_le_bytes())
        };
        let f32s = |out: &mut Vec<u8>, v: &[f32]| {
            v.iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes()))
        };
        let u16s = |out: &mut Vec<u8>, v: &[u16]| {
            v.iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes()))
        };
        f32s(&mut out, &[self.tolerance, self.step_tolerance]);
        u32s(&mut out, model.num_tags());
        u32s(&mut out, state_len);
        u32s(&mut out, config.lstm.layers as usize);
        u32s(&mut out, config.lstm.hidden as usize);
        out.extend_from_slice(&[
            config.lstm.bidirectional as u8,
            config.crf as u8,
            config.chars.is_some() as u8,
            config.words.unknown.is_some() as u8,
            config.chars.is_some_and(|c| c.unknown.is_some()) as u8,
        ]);
        for name in model.tag_names() {
            u32s(&mut out, name.len());
            out.extend_from_slice(name.as_bytes());
        }
        u32s(&mut out, self.sentences.len());
        for s in &self.sentences {
            u32s(&mut out, s.tokens.len());
            for token in &s.tokens {
                u32s(&mut out, token.len());
                out.extend_from_slice(token);
            }
            match &s.plain {
                Some((tags, scores)) => {
                    out.push(1);
                    u16s(&mut out, tags);
                    f32s(&mut out, scores);
                }
                None => out.push(0),
            }
            match &s.stream {
                Some(st) => {
                    out.push(1);
                    f32s(&mut out, &st.initial);
                    match &st.final_state {
                        Some(f) => {
                            out.push(1);
                            f32s(&mut out, f);
                        }
                        None => out.push(0),
                    }
                    u16s(&mut out, &st.tags);
                    f32s(&mut out, &st.scores);
                }
                None => out.push(0),
            }
        }
        out
    }
}

/// Writes every case's blob and case file into `dir` and a manifest listing them
/// (`name TAB blob path TAB case path`, one line each), then the `raw` blobs that have
/// no case file (case path `-`: blobs that must not load); returns the manifest's path.
pub fn write_manifest(dir: &Path, cases: &[Case], raw: &[(&str, Vec<u8>)]) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let manifest = dir.join("manifest.txt");
    let mut list = std::fs::File::create(&manifest).unwrap();
    for case in cases {
        let blob = dir.join(format!("{}.postag", case.name));
        let file = dir.join(format!("{}.case", case.name));
        std::fs::write(&blob, &case.blob).unwrap();
        std::fs::write(&file, case.encode()).unwrap();
        writeln!(
            list,
            "{}\t{}\t{}",
            case.name,
            blob.display(),
            file.display()
        )
        .unwrap();
    }
    for (name, bytes) in raw {
        let blob = dir.join(format!("{name}.postag"));
        std::fs::write(&blob, bytes).unwrap();
        writeln!(list, "{name}\t{}\t-", blob.display()).unwrap();
    }
    manifest
}
