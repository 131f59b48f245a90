//! The training engine: the tagger's forward pass, hand-written backpropagation, optimizers.
//!
//! The model is the seed tutorial's `LSTMTagger` and its extensions, with PyTorch semantics:
//! word embedding `x_w` (+ char LSTM final state `c_w`) -> word LSTM (stacked, optionally
//! bidirectional) -> `hidden2tag` -> `log_softmax` (-> linear-chain CRF). Every LSTM starts
//! each sentence (each word, for the char LSTM) from a zero state.
//!
//! ```no_run
//! use postag_trainer::nn::*;
//! let arch = Arch { word_vocab: 100, word_dim: 8, char: None, hidden: 16, layers: 1,
//!                   bidirectional: true, num_tags: 5, crf: false };
//! let mut rng = Rng::new(1);
//! let mut params = Params::init(&arch, &mut rng);
//! let mut grads = Params::zeros(&arch);
//! let mut adam = Adam::new(1e-3, &params);
//! let s = Sentence { words: vec![3, 4, 5], chars: vec![], tags: vec![0, 1, 2] };
//! let opts = TrainOpts { dropout: 0.33, threads: 2 };
//! grads.fill_zero();
//! let loss = loss_and_grad(&params, &[&s], &mut grads, &opts, &mut rng);
//! clip_grad_norm(&mut grads, 5.0);
//! adam.step(&mut params, &grads);
//! let log_probs = predict(&params, &[&s], 1);
//! ```
//!
//! Layout: [`params`] (shapes, names, init), [`model`] (batch forward/backward),
//! `chars` (the char features of a batch), `lstm` (one packed LSTM layer), [`crf`], [`optim`], [`rng`]; `gemm` and `math` are the
//! kernels.

mod chars;
pub mod crf;
mod gemm;
mod lstm;
mod math;
pub mod model;
pub mod optim;
pub mod params;
pub mod rng;
pub mod segmenter;

pub use model::{loss, loss_and_grad, predict, Sentence, TrainOpts};
pub use optim::{clip_grad_norm, Adam, AdamState, AdamStateError, Sgd};
pub use params::{Arch, Cell, CharArch, Crf, Param, ParamMut, Params};
pub use rng::Rng;
