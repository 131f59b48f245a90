//! What the blob tests and the blob fuzz target do with a model that loaded: tag a few
//! awkward sentences through every buffer, where only errors or tags may come back.
//! (The fuzz target includes this file by path.)

use postag_core::Model;

/// Sentences with non-ASCII, combining marks, emoji, an empty token and a long word.
pub const SENTENCES: [&[&str]; 4] = [
    &["the", "dog", "ate", "ñandú"],
    &["x"],
    &["", "a\u{0301}\u{1F600}"],
    &["0000000000000000000000000000000000"],
];

/// Tags every sentence of [`SENTENCES`] with a model whose scratch needs at most 16 MiB.
pub fn exercise(model: &Model<'_>) {
    for tokens in SENTENCES {
        let Some(len) = model.scratch_bytes(tokens.len()) else {
            continue;
        };
        if len > 16 << 20 {
            continue;
        }
        let mut scratch = vec![0u8; len];
        let mut tags = vec![0u16; tokens.len()];
        let mut scores = vec![0f32; tokens.len() * model.num_tags()];
        let _ = model.tag(tokens, &mut scratch, &mut tags, Some(&mut scores));
    }
}
