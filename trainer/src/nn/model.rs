//! The whole tagger over a minibatch: forward, loss, backward, prediction.
//!
//! A batch is split into contiguous chunks, one per thread. Within a chunk, sentences are
//! sorted by length (longest first) and packed time-major, as PyTorch's `PackedSequence`;
//! the char LSTM runs once over the chunk's distinct char sequences (see `chars.rs`).
//!
//! The word-level forward and backward passes stay side by side in this one file (about
//! 600 lines): each backward step reads the caches its forward step leaves, in reverse.

use super::chars::{char_backward, char_forward, CharForward};
use super::gemm::{gemm, MatMut, MatRef};
use super::lstm::{layer_backward, layer_forward, LayerCache, Packing};
use super::math::log_softmax_inplace;
use super::params::{Arch, Params};
use super::rng::Rng;

/// One tagged (or to-be-tagged) sentence, as embedding row ids.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sentence {
    /// Word embedding rows, one per token.
    pub words: Vec<u32>,
    /// Char embedding rows of each token's characters, one `Vec` per token (a token may have
    /// none: its `c_w` is 0). Ignored, and may be empty, without char features.
    pub chars: Vec<Vec<u32>>,
    /// Gold tags (training and loss only; may be empty for prediction).
    pub tags: Vec<u16>,
}

/// Per-call training options.
#[derive(Clone, Copy, Debug)]
pub struct TrainOpts {
    /// Dropout probability (inverted dropout, PyTorch-like) on the word LSTM input
    /// `[x_w ; c_w]`, between word LSTM layers, and on the word LSTM output. 0 disables it.
    pub dropout: f32,
    /// Worker threads; the batch is split into this many contiguous chunks.
    pub threads: usize,
}

impl Default for TrainOpts {
    fn default() -> Self {
        TrainOpts {
            dropout: 0.0,
            threads: 1,
        }
    }
}

/// Dropout for one chunk: sentence `first + i` of the batch draws its masks from its own
/// stream `Rng::stream(seed, first + i)`, so masks do not depend on the chunking.
#[derive(Clone, Copy)]
struct Dropout {
    p: f32,
    seed: u64,
    first: usize,
}

/// Everything a chunk's forward pass keeps for its backward pass.
struct Forward {
    /// Sorted position -> index of the sentence in the chunk.
    order: Vec<usize>,
    pack: Packing,
    chars: Option<CharForward>,
    /// Input of each word LSTM layer after dropout: (N, in_k).
    inputs: Vec<Vec<f32>>,
    /// Dropout mask applied to each layer input (values 0 or 1/(1-p)), if training.
    masks: Vec<Option<Vec<f32>>>,
    caches: Vec<LayerCache>,
    /// Dropout mask of the last layer's output.
    out_mask: Option<Vec<f32>>,
    /// (N, D) last layer's output after dropout: hidden2tag's input.
    y: Vec<f32>,
    /// (N, T) log_softmax scores.
    logp: Vec<f32>,
}

impl Forward {
    /// rank[s] = sorted (packed) position of chunk sentence s.
    fn ranks(&self) -> Vec<usize> {
        let mut rank = vec![0; self.order.len()];
        for (sb, &s) in self.order.iter().enumerate() {
            rank[s] = sb;
        }
        rank
    }
}

fn check_inputs(arch: &Arch, sents: &[&Sentence], need_tags: bool) {
    for s in sents {
        assert!(
            s.words.iter().all(|&w| (w as usize) < arch.word_vocab),
            "word id out of range (vocab {})",
            arch.word_vocab
        );
        if let Some(c) = &arch.char {
            assert_eq!(
                s.chars.len(),
                s.words.len(),
                "need one char sequence per word"
            );
            assert!(
                s.chars.iter().flatten().all(|&ch| (ch as usize) < c.vocab),
                "char id out of range (vocab {})",
                c.vocab
            );
        }
        if need_tags {
            assert_eq!(s.tags.len(), s.words.len(), "need one tag per word");
            assert!(
                s.tags.iter().all(|&t| (t as usize) < arch.num_tags),
                "tag id out of range ({} tags)",
                arch.num_tags
            );
        }
    }
}

/// A fresh mask (N, dim) for one dropout site; each sentence draws from its own stream.
fn dropout_mask(
    drop: &Dropout,
    streams: &mut [Rng],
    order: &[usize],
    pack: &Packing,
    lens: &[usize],
    dim: usize,
) -> Vec<f32> {
    let mut mask = vec![0.0f32; pack.rows() * dim];
    for (sb, &s) in order.iter().enumerate() {
        for t in 0..lens[s] {
            let row = pack.row(t, sb);
            streams[s].fill_dropout_mask(&mut mask[row * dim..(row + 1) * dim], drop.p);
        }
    }
    mask
}

fn apply_mask(x: &mut [f32], mask: &[f32]) {
    for (v, m) in x.iter_mut().zip(mask) {
        *v *= m;
    }
}

/// Forward pass over one chunk. `drop` is None in eval mode.
fn forward(params: &Params, sents: &[&Sentence], drop: Option<Dropout>) -> Forward {
    let arch = &params.arch;
    let lens: Vec<usize> = sents.iter().map(|s| s.words.len()).collect();
    let mut order: Vec<usize> = (0..sents.len()).collect();
    order.sort_by_key(|&s| std::cmp::Reverse(lens[s]));
    let sorted_lens: Vec<usize> = order.iter().map(|&s| lens[s]).collect();
    let pack = Packing::new(&sorted_lens);
    let n = pack.rows();
    let mut streams: Vec<Rng> = match drop {
        Some(d) => (0..sents.len())
            .map(|s| Rng::stream(d.seed, (d.first + s) as u64))
            .collect(),
        None => Vec::new(),
    };

    let (chars, cw) = match arch.char {
        Some(_) => {
            let (cf, cw) = char_forward(params, sents);
            (Some(cf), cw)
        }
        None => (None, Vec::new()),
    };

    // X0 (N, Dw + Dco) = [x_w ; c_w] per token.
    let (dw, dco, in0) = (
        arch.word_dim,
        arch.char_feature_dim(),
        arch.word_input_dim(),
    );
    let mut x0 = vec![0.0f32; n * in0];
    let mut token = 0;
    let mut token_start = Vec::with_capacity(sents.len());
    for s in sents {
        token_start.push(token);
        token += s.words.len();
    }
    for (sb, &s) in order.iter().enumerate() {
        for (t, &w) in sents[s].words.iter().enumerate() {
            let row = &mut x0[pack.row(t, sb) * in0..(pack.row(t, sb) + 1) * in0];
            let w = w as usize;
            row[..dw].copy_from_slice(&params.word_emb[w * dw..(w + 1) * dw]);
            if let Some(cf) = &chars {
                let seq = cf.token_seq[token_start[s] + t];
                row[dw..].copy_from_slice(&cw[seq * dco..(seq + 1) * dco]);
            }
        }
    }

    let mut inputs = Vec::new();
    let mut masks = Vec::new();
    let mut caches = Vec::new();
    let mut x = x0;
    for cells in &params.lstm {
        let mask =
            drop.map(|d| dropout_mask(&d, &mut streams, &order, &pack, &lens, cells[0].input()));
        if let Some(m) = &mask {
            apply_mask(&mut x, m);
        }
        let (y, cache) = layer_forward(cells, &pack, MatRef::dense(&x, n, cells[0].input()));
        inputs.push(x);
        masks.push(mask);
        caches.push(cache);
        x = y;
    }
    let d = arch.lstm_output();
    let out_mask = drop.map(|dr| dropout_mask(&dr, &mut streams, &order, &pack, &lens, d));
    if let Some(m) = &out_mask {
        apply_mask(&mut x, m);
    }
    let y = x;

    // Z (N, T) = Y (N, D) @ W_tag^T (D, T) + b, then log_softmax per row.
    let nt = arch.num_tags;
    let mut logp = vec![0.0f32; n * nt];
    for row in logp.chunks_exact_mut(nt) {
        row.copy_from_slice(&params.tag_b);
    }
    gemm(
        MatRef::dense(&y, n, d),
        MatRef::dense(&params.tag_w, nt, d).t(),
        1.0,
        MatMut::dense(&mut logp, n, nt),
    );
    for row in logp.chunks_exact_mut(nt) {
        log_softmax_inplace(row);
    }
    Forward {
        order,
        pack,
        chars,
        inputs,
        masks,
        caches,
        out_mask,
        y,
        logp,
    }
}

/// Sum over the chunk's sentences of their negative log-likelihood (token NLLs, or the
/// CRF's). With `grads = Some((params_grad, d_logp))`, also writes d(scale * sum)/dlogp into
/// `d_logp` (N, T), zero-initialized by the caller, and adds the CRF parameters' gradient.
fn chunk_nll(
    params: &Params,
    sents: &[&Sentence],
    fwd: &Forward,
    scale: f32,
    mut grads: Option<(&mut Params, &mut [f32])>,
) -> f64 {
    let nt = params.arch.num_tags;
    let rank = fwd.ranks();
    let mut total = 0.0f64;
    for (s, sent) in sents.iter().enumerate() {
        let n = sent.words.len();
        if n == 0 {
            continue;
        }
        let rows: Vec<usize> = (0..n).map(|t| fwd.pack.row(t, rank[s])).collect();
        match &params.crf {
            None => {
                for (t, &row) in rows.iter().enumerate() {
                    let gold = sent.tags[t] as usize;
                    total -= fwd.logp[row * nt + gold] as f64;
                    if let Some((_, d_logp)) = &mut grads {
                        d_logp[row * nt + gold] = -scale;
                    }
                }
            }
            Some(crf) => {
                let mut em = vec![0.0f32; n * nt];
                for (t, &row) in rows.iter().enumerate() {
                    em[t * nt..(t + 1) * nt].copy_from_slice(&fwd.logp[row * nt..(row + 1) * nt]);
                }
                match &mut grads {
                    None => total += crf.log_partition(&em, n) - crf.path_score(&em, &sent.tags),
                    Some((g, d_logp)) => {
                        let mut d_em = vec![0.0f32; n * nt];
                        let gcrf = g.crf.as_mut().expect("CRF gradient buffer");
                        total += crf.nll_and_grad(&em, &sent.tags, scale, gcrf, &mut d_em);
                        for (t, &row) in rows.iter().enumerate() {
                            d_logp[row * nt..(row + 1) * nt]
                                .copy_from_slice(&d_em[t * nt..(t + 1) * nt]);
                        }
                    }
                }
            }
        }
    }
    total
}

/// Gradient buffer for a chunk: every tensor but the word embedding (whose rows the caller
/// scatters in batch order, so that sum is identical for any thread count).
fn chunk_grad_buffer(arch: &Arch) -> Params {
    let mut arch_no_words = arch.clone();
    arch_no_words.word_vocab = 0;
    let mut p = Params::zeros(&arch_no_words);
    p.arch = arch.clone();
    p
}

/// What one chunk's backward pass returns besides its gradient buffer.
struct ChunkOut {
    nll: f64,
    grads: Params,
    /// (tokens, Dw) dL/dx_w per token, sentences in chunk order.
    d_words: Vec<f32>,
}

/// Forward + backward over one chunk. `scale` = 1 / tokens in the whole batch.
fn chunk_loss_and_grad(
    params: &Params,
    sents: &[&Sentence],
    scale: f32,
    drop: Option<Dropout>,
) -> ChunkOut {
    let arch = &params.arch;
    let mut grads = chunk_grad_buffer(arch);
    let fwd = forward(params, sents, drop);
    let (n, nt, d) = (fwd.pack.rows(), arch.num_tags, arch.lstm_output());

    // dL/dlogp, then through log_softmax: dz = dlogp - softmax * sum(dlogp).
    let mut dz = vec![0.0f32; n * nt];
    let nll = chunk_nll(params, sents, &fwd, scale, Some((&mut grads, &mut dz)));
    for (dzr, lr) in dz.chunks_exact_mut(nt).zip(fwd.logp.chunks_exact(nt)) {
        let sum: f32 = dzr.iter().sum();
        for (g, &l) in dzr.iter_mut().zip(lr) {
            *g -= l.exp() * sum;
        }
    }
    let dz_m = MatRef::dense(&dz, n, nt);
    // dW_tag (T, D) += dZ^T (T, N) @ Y (N, D); db += column sums of dZ.
    gemm(
        dz_m.t(),
        MatRef::dense(&fwd.y, n, d),
        1.0,
        MatMut::dense(&mut grads.tag_w, nt, d),
    );
    for row in dz.chunks_exact(nt) {
        for (b, &g) in grads.tag_b.iter_mut().zip(row) {
            *b += g;
        }
    }
    // dY (N, D) = dZ (N, T) @ W_tag (T, D)
    let mut dy = vec![0.0f32; n * d];
    gemm(
        dz_m,
        MatRef::dense(&params.tag_w, nt, d),
        0.0,
        MatMut::dense(&mut dy, n, d),
    );
    if let Some(m) = &fwd.out_mask {
        apply_mask(&mut dy, m);
    }

    let rank = fwd.ranks();
    let Forward {
        pack,
        chars,
        inputs,
        masks,
        caches,
        ..
    } = fwd;
    for (k, (cache, (x, mask))) in caches
        .into_iter()
        .zip(inputs.iter().zip(&masks))
        .enumerate()
        .rev()
    {
        let input = params.lstm[k][0].input();
        let mut dx = vec![0.0f32; n * input];
        layer_backward(
            &params.lstm[k],
            &mut grads.lstm[k],
            &pack,
            MatRef::dense(x, n, input),
            cache,
            &dy,
            &mut dx,
        );
        if let Some(m) = mask {
            apply_mask(&mut dx, m);
        }
        dy = dx;
    }
    // dy is now dX0 (N, Dw + Dco).
    let dx0 = dy;
    let (dw, dco, in0) = (
        arch.word_dim,
        arch.char_feature_dim(),
        arch.word_input_dim(),
    );
    let tokens: usize = sents.iter().map(|s| s.words.len()).sum();
    let mut d_words = vec![0.0f32; tokens * dw];
    let mut d_cw = chars.as_ref().map(|cf| vec![0.0f32; cf.lens.len() * dco]);
    let mut token = 0;
    for (s, sent) in sents.iter().enumerate() {
        for t in 0..sent.words.len() {
            let row = pack.row(t, rank[s]);
            let src = &dx0[row * in0..(row + 1) * in0];
            d_words[token * dw..(token + 1) * dw].copy_from_slice(&src[..dw]);
            if let (Some(cf), Some(dcw)) = (&chars, &mut d_cw) {
                let seq = cf.token_seq[token];
                for (a, &g) in dcw[seq * dco..(seq + 1) * dco].iter_mut().zip(&src[dw..]) {
                    *a += g;
                }
            }
            token += 1;
        }
    }
    if let (Some(cf), Some(dcw)) = (chars, d_cw) {
        char_backward(params, &mut grads, cf, &dcw);
    }
    ChunkOut {
        nll,
        grads,
        d_words,
    }
}

/// Splits `sents` into at most `parts` contiguous chunks of about equal token counts.
fn split_chunks(sents: &[&Sentence], parts: usize) -> Vec<std::ops::Range<usize>> {
    let parts = parts.clamp(1, sents.len().max(1));
    let total: usize = sents.iter().map(|s| s.words.len()).sum();
    let mut ranges = Vec::with_capacity(parts);
    let (mut start, mut acc) = (0, 0);
    for (i, s) in sents.iter().enumerate() {
        acc += s.words.len();
        let k = ranges.len() + 1;
        let (left, needed) = (sents.len() - (i + 1), parts - k);
        // Close chunk k when its share of tokens is reached, or when every later chunk needs
        // one of the sentences left; never leave a later chunk empty.
        if k < parts && left >= needed && (acc * parts >= total * k || left == needed) {
            ranges.push(start..i + 1);
            start = i + 1;
        }
    }
    ranges.push(start..sents.len());
    ranges
}

/// Runs `work` on each chunk: the first on this thread, the others on scoped threads.
/// Results come back in chunk order.
fn run_chunks<T: Send>(
    sents: &[&Sentence],
    threads: usize,
    work: impl Fn(usize, &[&Sentence]) -> T + Sync,
) -> Vec<T> {
    let ranges = split_chunks(sents, threads);
    if ranges.len() == 1 {
        return vec![work(0, sents)];
    }
    std::thread::scope(|scope| {
        let work = &work;
        let handles: Vec<_> = ranges[1..]
            .iter()
            .map(|r| scope.spawn(move || work(r.start, &sents[r.clone()])))
            .collect();
        let mut out = vec![work(0, &sents[ranges[0].clone()])];
        out.extend(
            handles
                .into_iter()
                .map(|h| h.join().expect("worker panicked")),
        );
        out
    })
}

/// Loss of the batch and its gradient, added into `grads`.
///
/// Loss: without CRF, the mean token NLL over all tokens of the batch (PyTorch's
/// `NLLLoss()` for one sentence); with CRF, the sum of the sentences' CRF NLLs divided by the
/// batch's token count. Draws exactly one `u64` from `rng` (the batch's dropout seed).
///
/// # Panics
/// If `grads` has another architecture, `dropout` is outside [0, 1), or a sentence has an id
/// out of range or a tag / char sequence count different from its word count (the caller's
/// vocabulary mapping produces these, so they are bugs, not data errors).
pub fn loss_and_grad(
    params: &Params,
    batch: &[&Sentence],
    grads: &mut Params,
    opts: &TrainOpts,
    rng: &mut Rng,
) -> f32 {
    assert_eq!(
        params.arch, grads.arch,
        "gradient buffer of another architecture"
    );
    assert!(
        (0.0..1.0).contains(&opts.dropout),
        "dropout must be in [0, 1)"
    );
    check_inputs(&params.arch, batch, true);
    let seed = rng.next_u64();
    let tokens: usize = batch.iter().map(|s| s.words.len()).sum();
    if tokens == 0 {
        return 0.0;
    }
    let scale = 1.0 / tokens as f32;
    let outs = run_chunks(batch, opts.threads, |first, sents| {
        let drop = (opts.dropout > 0.0).then_some(Dropout {
            p: opts.dropout,
            seed,
            first,
        });
        chunk_loss_and_grad(params, sents, scale, drop)
    });
    let dw = params.arch.word_dim;
    let mut nll = 0.0f64;
    // Word rows are scattered in batch order whatever the chunking, so they are bit-identical.
    let mut words = batch.iter().flat_map(|s| s.words.iter());
    for out in &outs {
        nll += out.nll;
        grads.add_assign_dense(&out.grads);
        for d in out.d_words.chunks_exact(dw) {
            let w = *words.next().unwrap() as usize;
            for (g, &v) in grads.word_emb[w * dw..(w + 1) * dw].iter_mut().zip(d) {
                *g += v;
            }
        }
    }
    (nll / tokens as f64) as f32
}

/// Loss of the batch (as [`loss_and_grad`], eval mode: no dropout), without gradients.
pub fn loss(params: &Params, batch: &[&Sentence], threads: usize) -> f32 {
    check_inputs(&params.arch, batch, true);
    let tokens: usize = batch.iter().map(|s| s.words.len()).sum();
    if tokens == 0 {
        return 0.0;
    }
    let nll: f64 = run_chunks(batch, threads, |_, sents| {
        let fwd = forward(params, sents, None);
        chunk_nll(params, sents, &fwd, 1.0, None)
    })
    .into_iter()
    .sum();
    (nll / tokens as f64) as f32
}

/// log_softmax scores (eval mode), one (n * T) row-major vector per sentence, in batch order.
/// With a CRF these are its emission scores. Memory grows with the batch: pass evaluation
/// data in batches of a few hundred sentences. Panics as [`loss_and_grad`] (tags unused).
pub fn predict(params: &Params, batch: &[&Sentence], threads: usize) -> Vec<Vec<f32>> {
    check_inputs(&params.arch, batch, false);
    let nt = params.arch.num_tags;
    run_chunks(batch, threads, |_, sents| {
        let fwd = forward(params, sents, None);
        let rank = fwd.ranks();
        sents
            .iter()
            .enumerate()
            .map(|(s, sent)| {
                let mut out = Vec::with_capacity(sent.words.len() * nt);
                for t in 0..sent.words.len() {
                    let row = fwd.pack.row(t, rank[s]);
                    out.extend_from_slice(&fwd.logp[row * nt..(row + 1) * nt]);
                }
                out
            })
            .collect::<Vec<_>>()
    })
    .into_iter()
    .flatten()
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(len: usize) -> Sentence {
        Sentence {
            words: vec![0; len],
            chars: vec![vec![0]; len],
            tags: vec![0; len],
        }
    }

    #[test]
    fn chunks_are_contiguous_and_cover_everything() {
        let s: Vec<Sentence> = [5, 1, 1, 1, 9, 2, 3].iter().map(|&l| sent(l)).collect();
        let refs: Vec<&Sentence> = s.iter().collect();
        for parts in 1..=9 {
            let ranges = split_chunks(&refs, parts);
            assert_eq!(ranges.len(), parts.min(refs.len()));
            assert_eq!(ranges[0].start, 0);
            assert_eq!(ranges.last().unwrap().end, refs.len());
            for w in ranges.windows(2) {
                assert_eq!(w[0].end, w[1].start);
                assert!(!w[0].is_empty());
            }
        }
        assert_eq!(split_chunks(&refs, 2), vec![0..5, 5..7]);
    }
}
