//! Tagging many sentences with the core, on several threads.

use anyhow::{anyhow, Result};
use postag_core::{sentence_windows, Error, Model, MAX_TOKENS, WINDOW_CONTEXT};

/// Tags and (optionally) log-probabilities of one sentence.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tagged {
    /// Tag index per token.
    pub tags: Vec<u16>,
    /// `tokens * T` log-probabilities, when asked for.
    pub scores: Vec<f32>,
}

/// A core error for the sentence at `where_`, naming the token at fault.
fn explain(model: &Model<'_>, tokens: &[&str], where_: String, e: Error) -> anyhow::Error {
    anyhow!("{where_}: {}", model.explain(tokens, e))
}

/// Tags one sentence of any length (see [`sentence_windows`]) with `scratch` sized for
/// `min(tokens.len(), MAX_TOKENS)` tokens.
pub(crate) fn tag_one(
    model: &Model<'_>,
    tokens: &[&str],
    scores: bool,
    scratch: &mut [u8],
) -> Result<Tagged, Error> {
    let t = model.num_tags();
    let mut out = Tagged {
        tags: vec![0; tokens.len()],
        scores: if scores {
            vec![0.0; tokens.len() * t]
        } else {
            Vec::new()
        },
    };
    let whole = tokens.len() <= MAX_TOKENS;
    let mut part = Tagged::default();
    for (window, kept) in sentence_windows(tokens.len()) {
        if whole {
            let s = scores.then_some(out.scores.as_mut_slice());
            model.tag(tokens, scratch, &mut out.tags, s)?;
            break;
        }
        part.tags.resize(window.len(), 0);
        part.scores
            .resize(if scores { window.len() * t } else { 0 }, 0.0);
        let s = scores.then_some(part.scores.as_mut_slice());
        model.tag(&tokens[window.clone()], scratch, &mut part.tags, s)?;
        let from = kept.start - window.start..kept.end - window.start;
        out.tags[kept.clone()].copy_from_slice(&part.tags[from.clone()]);
        if scores {
            out.scores[kept.start * t..kept.end * t]
                .copy_from_slice(&part.scores[from.start * t..from.end * t]);
        }
    }
    Ok(out)
}

/// Sentences per core call when tagging many ([`Model::tag_batch`]).
pub(crate) const BATCH: usize = 32;

/// Tags `sentences` (each at most [`MAX_TOKENS`] long) in one [`Model::tag_batch`] call,
/// growing `scratch` as needed.
fn tag_batch(
    model: &Model<'_>,
    sentences: &[Vec<&str>],
    scores: bool,
    scratch: &mut Vec<u8>,
) -> Result<Vec<Tagged>, Error> {
    let t = model.num_tags();
    let total: usize = sentences.iter().map(Vec::len).sum();
    let longest = sentences.iter().map(Vec::len).max().unwrap_or(0);
    let bytes = model
        .batch_scratch_bytes(total, longest)
        .ok_or(Error::TooManyTokens)?;
    scratch.resize(bytes.max(scratch.len()), 0);
    let mut tags = vec![0u16; total];
    let mut all_scores = vec![0f32; if scores { total * t } else { 0 }];
    let s = scores.then_some(all_scores.as_mut_slice());
    model.tag_batch(sentences, scratch, &mut tags, s)?;
    let mut offset = 0;
    Ok(sentences
        .iter()
        .map(|s| {
            let n = s.len();
            let out = Tagged {
                tags: tags[offset..offset + n].to_vec(),
                scores: if scores {
                    all_scores[offset * t..(offset + n) * t].to_vec()
                } else {
                    Vec::new()
                },
            };
            offset += n;
            out
        })
        .collect())
}

/// Warns on stderr about each sentence longer than [`MAX_TOKENS`] (named by
/// `name(index)`): it is tagged in overlapping windows (see [`sentence_windows`]).
pub fn warn_long_sentences(sentences: &[Vec<&str>], name: &dyn Fn(usize) -> String) {
    for (i, s) in sentences
        .iter()
        .enumerate()
        .filter(|(_, s)| s.len() > MAX_TOKENS)
    {
        eprintln!(
            "warning: {}: {} tokens, more than the {MAX_TOKENS} the model reads at once; tagged in overlapping windows of {MAX_TOKENS} tokens ({WINDOW_CONTEXT} of context on each side)",
            name(i),
            s.len()
        );
    }
}

std::thread_local! {
    /// [`tag_all`]'s scratch, kept from one call to the next on the same thread.
    static SCRATCH: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Tags every sentence; `threads` workers (at most [`postag_core::worker_limit`]) each take a
/// contiguous share and tag it up to `BATCH` (32) sentences per core call ([`Model::tag_batch`]). Sentences longer than
/// [`MAX_TOKENS`] are tagged in windows (see [`sentence_windows`]). Errors name the
/// sentence as `name(index)` (0-based index) says, e.g. its file and line.
pub fn tag_all(
    model: &Model<'_>,
    sentences: &[Vec<&str>],
    scores: bool,
    threads: usize,
    name: &(dyn Fn(usize) -> String + Sync),
) -> Result<Vec<Tagged>> {
    let threads = threads.clamp(1, postag_core::worker_limit(sentences, BATCH));
    let chunk = sentences.len().div_ceil(threads).max(1);
    let work = |c: usize, part: &[Vec<&str>]| -> Result<Vec<Tagged>> {
        let mut out = Vec::with_capacity(part.len());
        // This thread's scratch from its last call (a stream tags a line per call).
        let mut scratch = SCRATCH.take();
        let mut start = 0;
        while start < part.len() {
            // A run of up to BATCH sentences the core reads whole goes in one call; a
            // longer sentence is tagged alone, in windows.
            let run = postag_core::batch_run(&part[start..], BATCH);
            let group = &part[start..start + run.max(1)];
            let tagged = if run > 1 {
                tag_batch(model, group, scores, &mut scratch).ok()
            } else {
                None
            };
            match tagged {
                Some(t) => out.extend(t),
                // One at a time: a long sentence, or a batch with an error, which names
                // the sentence at fault.
                None => {
                    for (i, tokens) in group.iter().enumerate() {
                        let n = tokens.len().min(MAX_TOKENS);
                        scratch.resize(model.cached_scratch_bytes(n).unwrap_or(0), 0);
                        let t = tag_one(model, tokens, scores, &mut scratch)
                            .map_err(|e| explain(model, tokens, name(c * chunk + start + i), e))?;
                        out.push(t);
                    }
                }
            }
            start += group.len();
        }
        SCRATCH.set(scratch);
        Ok(out)
    };
    // One share (one thread, or few sentences): on this thread, without starting one.
    if sentences.len() <= chunk {
        return work(0, sentences);
    }
    let results: Vec<Result<Vec<Tagged>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = sentences
            .chunks(chunk)
            .enumerate()
            .map(|(c, part)| {
                std::thread::Builder::new()
                    .spawn_scoped(scope, move || work(c, part))
                    .map_err(|_| (c, part))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| match h {
                Ok(h) => h
                    .join()
                    .unwrap_or_else(|_| Err(anyhow!("tagging thread panicked"))),
                // The system would not start another thread: this one tags its share.
                Err((c, part)) => work(c, part),
            })
            .collect()
    });
    let mut all = Vec::with_capacity(sentences.len());
    for r in results {
        all.extend(r?);
    }
    Ok(all)
}

/// `--threads`: a count of at least 1.
pub fn parse_threads(s: &str) -> Result<usize, String> {
    match s.parse::<u64>() {
        Ok(0) => Err("at least 1 thread is needed (leave --threads out for all cores)".into()),
        _ => crate::cmd::count_from(s, 1),
    }
}

/// Worker threads to use: the machine's parallelism unless given.
pub fn threads(requested: Option<usize>) -> usize {
    requested
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_token_is_named_by_its_position() {
        let blob = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../models/en_ewt.postag"
        ))
        .unwrap();
        let model = Model::from_bytes(&blob).unwrap();
        let sentences = vec![vec!["The", "dog"], vec!["The", "dog", "", "ran"]];
        let err = tag_all(&model, &sentences, false, 1, &|i| {
            format!("in.jsonl:{}", i + 1)
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "in.jsonl:2: token 3 of 4 is empty");
    }
}
