//! postag's trainer: the training engine ([`nn`]), CoNLL-U and vocabularies, the
//! conversion between trained weights and the core's blobs, and the CLI commands.

pub mod cmd;
pub mod conllu;
pub mod evaluate;
pub mod fsio;
pub mod model_io;
pub mod nn;
pub mod pipeline;
pub mod rawtext;
pub mod score;
pub mod stream;
pub mod svg;
pub mod tagging;
pub mod vocab;
