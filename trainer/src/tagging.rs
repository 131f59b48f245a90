//! Tagging many sentences with the core, on several threads.

use anyhow::{anyhow, bail, Result};
use postag_core::{Error, Model, MAX_TOKENS};

/// Tags and (optionally) log-probabilities of one sentence.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tagged {
    /// Tag index per token.
    pub tags: Vec<u16>,
    /// `tokens * T` log-probabilities, when asked for.
    pub scores: Vec<f32>,
}

/// Explains a core error for the sentence at `where_`, naming the token at fault.
fn explain(model: &Model<'_>, tokens: &[&str], where_: String, e: Error) -> anyhow::Error {
    match e {
        Error::UnknownWord => {
            let word = tokens
                .iter()
                .find(|w| model.word_row(w).is_none())
                .copied()
                .unwrap_or("?");
            anyhow!("{where_}: word {word:?} is not in the model's vocabulary and the model has no unknown-word entry")
        }
        Error::UnknownChar => {
            let c = model.chars().and_then(|cn| {
                tokens
                    .iter()
                    .flat_map(|w| w.chars())
                    .find(|&c| cn.row(c).is_none())
            });
            anyhow!("{where_}: character {:?} is not in the model's char vocabulary and the model has no unknown-char entry", c.unwrap_or('?'))
        }
        Error::EmptyToken => {
            let i = tokens.iter().position(|w| w.is_empty()).unwrap_or(0);
            anyhow!("{where_}: token {} of {} is empty", i + 1, tokens.len())
        }
        Error::TooManyTokens => anyhow!(
            "{where_}: {} tokens; at most {MAX_TOKENS} per sentence",
            tokens.len()
        ),
        e => anyhow!("{where_}: {e}"),
    }
}

/// Tags every sentence; `threads` workers each take a contiguous share. Errors name
/// the sentence as `name(index)` (0-based index) says, e.g. its file and line.
pub fn tag_all(
    model: &Model<'_>,
    sentences: &[Vec<&str>],
    scores: bool,
    threads: usize,
    name: &(dyn Fn(usize) -> String + Sync),
) -> Result<Vec<Tagged>> {
    if let Some((i, s)) = sentences
        .iter()
        .enumerate()
        .find(|(_, s)| s.len() > MAX_TOKENS)
    {
        bail!(
            "{}: {} tokens; at most {MAX_TOKENS} per sentence",
            name(i),
            s.len()
        );
    }
    let threads = threads.max(1).min(sentences.len().max(1));
    let chunk = sentences.len().div_ceil(threads).max(1);
    let t = model.num_tags();
    let results: Vec<Result<Vec<Tagged>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = sentences
            .chunks(chunk)
            .enumerate()
            .map(|(c, part)| {
                scope.spawn(move || {
                    let longest = part.iter().map(Vec::len).max().unwrap_or(0);
                    let mut scratch = vec![0u8; model.scratch_bytes(longest).unwrap_or(0)];
                    let mut out = Vec::with_capacity(part.len());
                    for (i, tokens) in part.iter().enumerate() {
                        let mut tagged = Tagged {
                            tags: vec![0; tokens.len()],
                            scores: if scores {
                                vec![0.0; tokens.len() * t]
                            } else {
                                Vec::new()
                            },
                        };
                        let s = scores.then_some(tagged.scores.as_mut_slice());
                        model
                            .tag(tokens, &mut scratch, &mut tagged.tags, s)
                            .map_err(|e| explain(model, tokens, name(c * chunk + i), e))?;
                        out.push(tagged);
                    }
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow!("tagging thread panicked")))
            })
            .collect()
    });
    let mut all = Vec::with_capacity(sentences.len());
    for r in results {
        all.extend(r?);
    }
    Ok(all)
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
