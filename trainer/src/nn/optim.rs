//! Optimizers and gradient clipping, each exactly as its PyTorch namesake.
//!
//! An LSTM bias here is PyTorch's `bias_ih + bias_hh`: two parameters with equal gradients
//! and (for Adam) equal state. Stepping each of them is stepping the sum twice, so every
//! update below is applied `copies` times ([`ParamMut::copies`](super::ParamMut::copies)).

use super::params::Params;
use multiversion::multiversion;
use serde::{Deserialize, Serialize};

/// `torch.optim.SGD(lr)`: p -= lr * g (no momentum, no weight decay).
#[derive(Clone, Copy, Debug)]
pub struct Sgd {
    /// Learning rate.
    pub lr: f32,
}

impl Sgd {
    /// One update of every tensor.
    pub fn step(&self, params: &mut Params, grads: &Params) {
        assert_eq!(params.arch, grads.arch);
        for (p, g) in params
            .named_parameters_mut()
            .into_iter()
            .zip(grads.named_parameters())
        {
            for _ in 0..p.copies {
                for (x, &d) in p.data.iter_mut().zip(g.data) {
                    *x += -self.lr * d;
                }
            }
        }
    }
}

/// `torch.optim.Adam(lr, betas=(beta1, beta2), eps)` without weight decay or amsgrad,
/// including its bias correction. Hyperparameters are f64 like PyTorch's Python floats.
#[derive(Clone, Debug)]
pub struct Adam {
    /// Learning rate.
    pub lr: f64,
    /// Decay of the first moment (0.9).
    pub beta1: f64,
    /// Decay of the second moment (0.999).
    pub beta2: f64,
    /// Added to the denominator (1e-8).
    pub eps: f64,
    /// Threads for the update of large tensors (the word embedding); elementwise, so the
    /// result does not depend on it.
    pub threads: usize,
    step: u64,
    /// First moments, one per tensor in `Params::named_parameters` order.
    m: Vec<Vec<f32>>,
    /// Second moments.
    v: Vec<Vec<f32>>,
}

impl Adam {
    /// PyTorch's defaults (betas 0.9, 0.999; eps 1e-8) with zero state for `params`' shapes.
    pub fn new(lr: f64, params: &Params) -> Self {
        let zeros = || {
            params
                .named_parameters()
                .iter()
                .map(|t| vec![0.0f32; t.data.len()])
                .collect()
        };
        Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            threads: 1,
            step: 0,
            m: zeros(),
            v: zeros(),
        }
    }

    /// Updates taken so far.
    pub fn steps(&self) -> u64 {
        self.step
    }

    /// One update of every tensor.
    pub fn step(&mut self, params: &mut Params, grads: &Params) {
        assert_eq!(params.arch, grads.arch);
        self.step += 1;
        let bias_correction1 = 1.0 - self.beta1.powi(self.step as i32);
        let bias_correction2 = 1.0 - self.beta2.powi(self.step as i32);
        let k = AdamScalars {
            one_minus_beta1: (1.0 - self.beta1) as f32,
            beta2: self.beta2 as f32,
            one_minus_beta2: (1.0 - self.beta2) as f32,
            neg_step_size: (-self.lr / bias_correction1) as f32,
            bias_correction2_sqrt: bias_correction2.sqrt() as f32,
            eps: self.eps as f32,
        };
        let tensors = params
            .named_parameters_mut()
            .into_iter()
            .zip(grads.named_parameters());
        for ((p, g), (m, v)) in tensors.zip(self.m.iter_mut().zip(&mut self.v)) {
            let copies = p.copies as f32;
            let parts = if p.data.len() >= PARALLEL_MIN {
                self.threads.max(1)
            } else {
                1
            };
            if parts == 1 {
                adam_update(&k, copies, p.data, g.data, m, v);
                continue;
            }
            let len = p.data.len().div_ceil(parts);
            std::thread::scope(|scope| {
                let chunks = p
                    .data
                    .chunks_mut(len)
                    .zip(g.data.chunks(len))
                    .zip(m.chunks_mut(len).zip(v.chunks_mut(len)));
                for ((pc, gc), (mc, vc)) in chunks {
                    let k = &k;
                    scope.spawn(move || adam_update(k, copies, pc, gc, mc, vc));
                }
            });
        }
    }
}

/// Tensors at least this long are updated on `Adam::threads` threads.
const PARALLEL_MIN: usize = 1 << 16;

impl Adam {
    /// The moments and step count, e.g. for a training checkpoint.
    pub fn state(&self) -> AdamState {
        AdamState {
            step: self.step,
            m: self.m.clone(),
            v: self.v.clone(),
        }
    }

    /// Continues from a saved state. Fails, changing nothing, if the state belongs to a
    /// model with other tensor shapes.
    pub fn restore(&mut self, state: &AdamState) -> Result<(), AdamStateError> {
        let fits = |saved: &Vec<Vec<f32>>, own: &Vec<Vec<f32>>| {
            saved.len() == own.len() && saved.iter().zip(own).all(|(a, b)| a.len() == b.len())
        };
        if !fits(&state.m, &self.m) || !fits(&state.v, &self.v) {
            return Err(AdamStateError);
        }
        self.step = state.step;
        self.m.clone_from(&state.m);
        self.v.clone_from(&state.v);
        Ok(())
    }
}

/// Adam's state: step count and moments, one vector per tensor in `Params::named_parameters` order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdamState {
    /// Updates taken.
    pub step: u64,
    /// First moments.
    pub m: Vec<Vec<f32>>,
    /// Second moments.
    pub v: Vec<Vec<f32>>,
}

/// An [`AdamState`] whose tensor shapes differ from the model's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdamStateError;

impl std::fmt::Display for AdamStateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("optimizer state does not match the model's tensor shapes")
    }
}

impl std::error::Error for AdamStateError {}

/// Per-step constants, in f32 as PyTorch applies them to f32 tensors.
struct AdamScalars {
    one_minus_beta1: f32,
    beta2: f32,
    one_minus_beta2: f32,
    neg_step_size: f32,
    bias_correction2_sqrt: f32,
    eps: f32,
}

/// One tensor's Adam update, in PyTorch's operation order:
/// `m.lerp_(g, 1-b1); v.mul_(b2).addcmul_(g, g, 1-b2);
///  p.addcdiv_(m, v.sqrt() / sqrt(bc2) + eps, -lr/bc1)`, the step taken `copies` times.
#[multiversion(targets("x86_64+avx512f+avx512vl+avx2+fma", "x86_64+avx2+fma"))]
fn adam_update(
    k: &AdamScalars,
    copies: f32,
    p: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
) {
    for (((x, &d), mi), vi) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
        *mi += k.one_minus_beta1 * (d - *mi);
        *vi = *vi * k.beta2 + k.one_minus_beta2 * d * d;
        let denom = vi.sqrt() / k.bias_correction2_sqrt + k.eps;
        *x += copies * (k.neg_step_size * (*mi / denom));
    }
}

/// `torch.nn.utils.clip_grad_norm_(max_norm)`: scales all gradients by
/// `min(1, max_norm / (norm + 1e-6))` where `norm` is the L2 norm over all of them (each LSTM
/// bias counted twice, as PyTorch's two). Returns the norm before clipping.
pub fn clip_grad_norm(grads: &mut Params, max_norm: f32) -> f32 {
    let mut total = 0.0f64;
    for t in grads.named_parameters() {
        total += sum_of_squares(t.data) * t.copies as f64;
    }
    let total = total.sqrt() as f32;
    let coef = max_norm / (total + 1e-6);
    if coef < 1.0 {
        for t in grads.named_parameters_mut() {
            scale(t.data, coef);
        }
    }
    total
}

/// x *= coef
#[multiversion(targets("x86_64+avx512f+avx512vl+avx2+fma", "x86_64+avx2+fma"))]
fn scale(xs: &mut [f32], coef: f32) {
    for x in xs {
        *x *= coef;
    }
}

/// Sum of x^2 in f64, in eight lanes so the loop vectorizes.
#[multiversion(targets("x86_64+avx512f+avx512vl+avx2+fma", "x86_64+avx2+fma"))]
fn sum_of_squares(xs: &[f32]) -> f64 {
    let mut lanes = [0.0f64; 8];
    let chunks = xs.chunks_exact(8);
    let tail: f64 = chunks
        .remainder()
        .iter()
        .map(|&x| x as f64 * x as f64)
        .sum();
    for c in chunks {
        for (l, &x) in lanes.iter_mut().zip(c) {
            *l += x as f64 * x as f64;
        }
    }
    lanes.iter().sum::<f64>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::params::Arch;

    fn tiny() -> Params {
        let arch = Arch {
            word_vocab: 2,
            word_dim: 1,
            char: None,
            hidden: 1,
            layers: 1,
            bidirectional: false,
            num_tags: 2,
            crf: false,
        };
        Params::zeros(&arch)
    }

    #[test]
    fn sgd_steps_biases_twice() {
        let mut p = tiny();
        let mut g = tiny();
        for t in g.named_parameters_mut() {
            t.data.fill(1.0);
        }
        Sgd { lr: 0.5 }.step(&mut p, &g);
        assert_eq!(p.word_emb, vec![-0.5, -0.5]);
        assert_eq!(p.lstm[0][0].b, vec![-1.0; 4]);
        assert_eq!(p.tag_b, vec![-0.5, -0.5]);
    }

    /// Hand-computed PyTorch Adam trajectory for one scalar with gradients 1, -2.
    #[test]
    fn adam_matches_pytorch_formula() {
        let mut p = tiny();
        let mut g = tiny();
        let mut adam = Adam::new(0.1, &p);
        let (b1, b2, eps, lr) = (0.9f64, 0.999f64, 1e-8f64, 0.1f64);
        let (mut m, mut v, mut x) = (0.0f64, 0.0f64, 0.0f64);
        for (step, grad) in [1.0f64, -2.0].into_iter().enumerate() {
            g.tag_b[0] = grad as f32;
            adam.step(&mut p, &g);
            m = b1 * m + (1.0 - b1) * grad;
            v = b2 * v + (1.0 - b2) * grad * grad;
            let t = step as i32 + 1;
            x -= lr / (1.0 - b1.powi(t)) * m / (v.sqrt() / (1.0 - b2.powi(t)).sqrt() + eps);
            assert!(
                (p.tag_b[0] as f64 - x).abs() < 1e-6,
                "{} vs {x}",
                p.tag_b[0]
            );
        }
        assert_eq!(adam.steps(), 2);
        // Untouched tensors stay put.
        assert_eq!(p.tag_b[1], 0.0);
    }

    /// The word embedding is big enough to be split across threads; the result is the same.
    #[test]
    fn adam_threads_give_identical_updates() {
        let arch = Arch {
            word_vocab: 20_000,
            word_dim: 4,
            ..tiny().arch
        };
        let mut rng = crate::nn::rng::Rng::new(5);
        let start = Params::init(&arch, &mut rng);
        let mut g = Params::zeros(&arch);
        for t in g.named_parameters_mut() {
            t.data.iter_mut().for_each(|x| *x = rng.normal());
        }
        let run = |threads: usize| {
            let mut p = start.clone();
            let mut adam = Adam::new(0.01, &p);
            adam.threads = threads;
            for _ in 0..3 {
                adam.step(&mut p, &g);
            }
            p
        };
        let one = run(1);
        assert_eq!(one, run(2));
        assert_eq!(one, run(3));
        assert_ne!(one, start);
    }

    #[test]
    fn adam_state_round_trips() {
        let mut p = tiny();
        let mut g = tiny();
        g.tag_b = vec![0.5, -1.0];
        let mut a = Adam::new(0.1, &p);
        a.step(&mut p, &g);
        let mut b = Adam::new(0.1, &p);
        b.restore(&a.state()).unwrap();
        let mut q = p.clone();
        a.step(&mut p, &g);
        b.step(&mut q, &g);
        assert_eq!(p, q);
        let mut other = a.state();
        other.m.pop();
        assert_eq!(b.restore(&other), Err(AdamStateError));
        assert_eq!(b.state(), a.state());
    }

    #[test]
    fn clipping_scales_to_max_norm() {
        let mut g = tiny();
        g.tag_b = vec![3.0, 0.0];
        g.lstm[0][0].b = vec![2.0, 0.0, 0.0, 0.0]; // counted twice: 8
        let norm = clip_grad_norm(&mut g, 1.0);
        assert!((norm - 17f32.sqrt()).abs() < 1e-6);
        assert!((g.tag_b[0] - 3.0 / 17f32.sqrt()).abs() < 1e-6);
        let again = clip_grad_norm(&mut g, 10.0);
        assert!((again - 1.0).abs() < 1e-5);
        assert!((g.tag_b[0] - 3.0 / 17f32.sqrt()).abs() < 1e-6);
    }
}
