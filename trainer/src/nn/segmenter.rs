//! Training the segmenter: char embedding -> one-layer (Bi)LSTM -> linear -> softmax over
//! the five segmentation classes (`postag_core::segment::CLASS_LABELS`), cross-entropy on
//! every character, Adam, on random windows of the training text.

use postag_core::segment::build::{SegCell, SegmenterWeights};
use postag_core::segment::{class_of, CLASSES};

use super::gemm::{gemm, MatMut, MatRef};
use super::lstm::{layer_backward, layer_forward, Packing};
use super::math::log_softmax_inplace;
use super::params::Cell;
use super::rng::Rng;

/// Shape and schedule.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct SegOpts {
    /// Embedding size E.
    pub dim: usize,
    /// Hidden size H per direction.
    pub hidden: usize,
    /// Whether the LSTM runs both ways.
    pub bidirectional: bool,
    /// Characters per training window.
    pub window: usize,
    /// Windows per step.
    pub batch: usize,
    /// Optimizer steps.
    pub steps: usize,
    /// Adam learning rate.
    pub lr: f32,
    /// Characters seen fewer times than this share the unknown row.
    pub min_count: usize,
    /// Seed.
    pub seed: u64,
}

impl Default for SegOpts {
    fn default() -> Self {
        SegOpts {
            dim: 24,
            hidden: 48,
            bidirectional: true,
            window: 200,
            batch: 32,
            steps: 1500,
            lr: 3e-3,
            min_count: 2,
            seed: 1,
        }
    }
}

/// The trainable tensors.
struct Net {
    emb: Vec<f32>,
    cells: Vec<Cell>,
    out_w: Vec<f32>,
    out_b: Vec<f32>,
}

impl Net {
    fn tensors_mut(&mut self) -> Vec<&mut Vec<f32>> {
        let mut v = vec![&mut self.emb];
        for c in &mut self.cells {
            v.push(&mut c.w_ih);
            v.push(&mut c.w_hh);
            v.push(&mut c.b);
        }
        v.push(&mut self.out_w);
        v.push(&mut self.out_b);
        v
    }

    fn zeros_like(&self) -> Net {
        Net {
            emb: vec![0.0; self.emb.len()],
            cells: self
                .cells
                .iter()
                .map(|c| Cell {
                    w_ih: vec![0.0; c.w_ih.len()],
                    w_hh: vec![0.0; c.w_hh.len()],
                    b: vec![0.0; c.b.len()],
                })
                .collect(),
            out_w: vec![0.0; self.out_w.len()],
            out_b: vec![0.0; self.out_b.len()],
        }
    }
}

/// Loss and gradients of windows `starts` (each `window` long) of `ids` / `classes`.
fn loss_and_grad(
    net: &Net,
    grad: &mut Net,
    ids: &[u32],
    classes: &[u8],
    starts: &[usize],
    window: usize,
    dim: usize,
) -> f32 {
    let b = starts.len();
    let pack = Packing::new(&vec![window; b]);
    let n = pack.rows();
    let mut x = vec![0.0f32; n * dim];
    let mut gold = vec![0usize; n];
    let mut row_ids = vec![0usize; n];
    for (s, &start) in starts.iter().enumerate() {
        for t in 0..window {
            let r = pack.row(t, s);
            let id = ids[start + t] as usize;
            row_ids[r] = id;
            gold[r] = classes[start + t] as usize;
            x[r * dim..(r + 1) * dim].copy_from_slice(&net.emb[id * dim..(id + 1) * dim]);
        }
    }
    let xm = MatRef::dense(&x, n, dim);
    let (y, cache) = layer_forward(&net.cells, &pack, xm);
    let d = y.len() / n;
    let mut logits = vec![0.0f32; n * CLASSES];
    for r in 0..n {
        logits[r * CLASSES..(r + 1) * CLASSES].copy_from_slice(&net.out_b);
    }
    gemm(
        MatRef::dense(&y, n, d),
        MatRef::dense(&net.out_w, CLASSES, d).t(),
        1.0,
        MatMut::dense(&mut logits, n, CLASSES),
    );
    let mut loss = 0.0f64;
    let scale = 1.0 / n as f32;
    for r in 0..n {
        let z = &mut logits[r * CLASSES..(r + 1) * CLASSES];
        log_softmax_inplace(z);
        loss -= z[gold[r]] as f64;
        for (k, v) in z.iter_mut().enumerate() {
            *v = (v.exp() - if k == gold[r] { 1.0 } else { 0.0 }) * scale;
        }
    }
    let dlogits = logits;
    for r in 0..n {
        for k in 0..CLASSES {
            grad.out_b[k] += dlogits[r * CLASSES + k];
        }
    }
    gemm(
        MatRef::dense(&dlogits, n, CLASSES).t(),
        MatRef::dense(&y, n, d),
        1.0,
        MatMut::dense(&mut grad.out_w, CLASSES, d),
    );
    let mut dy = vec![0.0f32; n * d];
    gemm(
        MatRef::dense(&dlogits, n, CLASSES),
        MatRef::dense(&net.out_w, CLASSES, d),
        0.0,
        MatMut::dense(&mut dy, n, d),
    );
    let mut dx = vec![0.0f32; n * dim];
    layer_backward(&net.cells, &mut grad.cells, &pack, xm, cache, &dy, &mut dx);
    for r in 0..n {
        let id = row_ids[r];
        for j in 0..dim {
            grad.emb[id * dim + j] += dx[r * dim + j];
        }
    }
    (loss / n as f64) as f32
}

/// A text's characters as embedding rows (0: unknown) and its labels as classes.
fn encode(
    chars: &[char],
    labels: &[u8],
    vocab: &std::collections::HashMap<char, u32>,
) -> (Vec<u32>, Vec<u8>) {
    let ids = chars
        .iter()
        .map(|c| vocab.get(c).copied().unwrap_or(0))
        .collect();
    let classes = labels.iter().map(|&l| class_of(l) as u8).collect();
    (ids, classes)
}

/// Trains a segmenter on `chars` / `labels` (from `crate::rawtext::labels`). `progress`
/// gets (step, mean loss of the last steps).
pub fn train(
    chars: &[char],
    labels: &[u8],
    spaces_in_tokens: bool,
    multiwords: Vec<(String, Vec<String>)>,
    opts: &SegOpts,
    mut progress: impl FnMut(usize, f32),
) -> SegmenterWeights {
    let mut counts: std::collections::HashMap<char, usize> = Default::default();
    for &c in chars {
        *counts.entry(c).or_default() += 1;
    }
    let mut known: Vec<char> = counts
        .iter()
        .filter(|&(_, &n)| n >= opts.min_count)
        .map(|(&c, _)| c)
        .collect();
    known.sort_unstable();
    let vocab: std::collections::HashMap<char, u32> = known
        .iter()
        .enumerate()
        .map(|(i, &c)| (c, i as u32 + 1))
        .collect();
    let rows = known.len() + 1;
    let (ids, classes) = encode(chars, labels, &vocab);

    let mut rng = Rng::new(opts.seed);
    let (e, h) = (opts.dim, opts.hidden);
    let k = 1.0 / (h as f32).sqrt();
    let init = |n: usize, a: f32, rng: &mut Rng| -> Vec<f32> {
        (0..n).map(|_| rng.uniform(-a, a)).collect()
    };
    let dirs = if opts.bidirectional { 2 } else { 1 };
    let mut net = Net {
        emb: (0..rows * e).map(|_| rng.normal()).collect(),
        cells: (0..dirs)
            .map(|_| Cell {
                w_ih: init(4 * h * e, k, &mut rng),
                w_hh: init(4 * h * h, k, &mut rng),
                b: init(4 * h, k, &mut rng),
            })
            .collect(),
        out_w: init(
            CLASSES * h * dirs,
            1.0 / ((h * dirs) as f32).sqrt(),
            &mut rng,
        ),
        out_b: vec![0.0; CLASSES],
    };
    let mut grad = net.zeros_like();
    let mut m = net.zeros_like();
    let mut v = net.zeros_like();
    let (beta1, beta2, eps) = (0.9f32, 0.999f32, 1e-8f32);
    let window = opts.window.min(ids.len().max(1));
    let mut recent = Vec::new();
    for step in 1..=opts.steps {
        for t in grad.tensors_mut() {
            t.fill(0.0);
        }
        let starts: Vec<usize> = (0..opts.batch)
            .map(|_| rng.below(ids.len() - window + 1))
            .collect();
        let loss = loss_and_grad(&net, &mut grad, &ids, &classes, &starts, window, e);
        recent.push(loss);
        // Global norm clipping at 5.
        let norm: f32 = grad
            .tensors_mut()
            .iter()
            .map(|t| t.iter().map(|x| x * x).sum::<f32>())
            .sum::<f32>()
            .sqrt();
        let clip = if norm > 5.0 { 5.0 / norm } else { 1.0 };
        // Linear decay to a tenth of the rate over the run.
        let lr = opts.lr * (1.0 - 0.9 * (step - 1) as f32 / opts.steps as f32);
        let bc1 = 1.0 - beta1.powi(step as i32);
        let bc2 = 1.0 - beta2.powi(step as i32);
        for ((p, g), (mt, vt)) in net
            .tensors_mut()
            .into_iter()
            .zip(grad.tensors_mut())
            .zip(m.tensors_mut().into_iter().zip(v.tensors_mut()))
        {
            for i in 0..p.len() {
                let gi = g[i] * clip;
                mt[i] = beta1 * mt[i] + (1.0 - beta1) * gi;
                vt[i] = beta2 * vt[i] + (1.0 - beta2) * gi * gi;
                p[i] -= lr * (mt[i] / bc1) / ((vt[i] / bc2).sqrt() + eps);
            }
        }
        if step % 50 == 0 || step == opts.steps {
            progress(step, recent.iter().sum::<f32>() / recent.len() as f32);
            recent.clear();
        }
    }
    SegmenterWeights {
        spaces_in_tokens,
        chars: vocab.into_iter().collect(),
        embedding: net.emb,
        rows,
        dim: e,
        cells: net
            .cells
            .into_iter()
            .map(|c| SegCell {
                w_ih: c.w_ih,
                w_hh: c.w_hh,
                bias: c.b,
            })
            .collect(),
        out_w: net.out_w,
        out_b: net.out_b,
        multiwords,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The training loss falls on a text whose boundaries follow from its characters.
    #[test]
    fn learns_a_regular_segmentation() {
        let text: String = "ab. cd! ab cd. ".repeat(40);
        let chars: Vec<char> = text.chars().collect();
        let labels: Vec<u8> = chars
            .iter()
            .enumerate()
            .map(|(i, &c)| match (c, chars.get(i + 1)) {
                ('.' | '!', _) => 5,
                (_, Some('.' | '!')) => 1,
                (c, Some(' ')) if c != ' ' => 1,
                _ => 0,
            })
            .collect();
        let opts = SegOpts {
            dim: 4,
            hidden: 8,
            window: 30,
            batch: 4,
            steps: 300,
            lr: 1e-2,
            ..Default::default()
        };
        let mut losses = Vec::new();
        let w = train(&chars, &labels, false, vec![], &opts, |_, l| losses.push(l));
        assert!(losses[0] > 2.0 * losses.last().unwrap(), "{losses:?}");
        assert_eq!(w.cells.len(), 2);
    }
}
