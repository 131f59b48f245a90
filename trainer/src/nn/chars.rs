//! Char features over a chunk of sentences: the char LSTM runs once over the chunk's
//! distinct char sequences (a word's `c_w` does not depend on its context, so repeated
//! words share one computation and their gradients add), packed longest first.

use std::collections::HashMap;

use super::gemm::MatRef;
use super::lstm::{layer_backward, layer_forward, LayerCache, Packing};
use super::model::Sentence;
use super::params::{Cell, Params};

/// Chars of a chunk: the distinct char sequences, packed.
pub(super) struct CharForward {
    pack: Packing,
    /// (Nc,) char id of each packed row.
    ids: Vec<u32>,
    /// Per token of the chunk (sentence order), index of its sequence in sorted order.
    pub(super) token_seq: Vec<usize>,
    /// (S,) length of each sorted sequence.
    pub(super) lens: Vec<usize>,
    /// Input of each char layer: (Nc, Dc) embedded chars, then the previous layer's output.
    inputs: Vec<Vec<f32>>,
    caches: Vec<LayerCache>,
}

/// The char LSTM (no dropout) over the chunk's distinct char sequences.
/// Returns its cache and CW (S, Dco): `c_w` of each distinct sequence, in sorted order.
pub(super) fn char_forward(params: &Params, sents: &[&Sentence]) -> (CharForward, Vec<f32>) {
    let arch = params.arch.char.as_ref().expect("char features");
    // Distinct char sequences in first-occurrence order, then sorted longest first (stable).
    let mut seen: HashMap<&[u32], usize> = HashMap::new();
    let mut distinct: Vec<&[u32]> = Vec::new();
    let mut token_first: Vec<usize> = Vec::new();
    for s in sents {
        for chars in &s.chars {
            let id = *seen.entry(&chars[..]).or_insert_with(|| {
                distinct.push(&chars[..]);
                distinct.len() - 1
            });
            token_first.push(id);
        }
    }
    let mut sorted: Vec<usize> = (0..distinct.len()).collect();
    sorted.sort_by_key(|&d| std::cmp::Reverse(distinct[d].len()));
    let mut rank = vec![0; distinct.len()];
    for (pos, &d) in sorted.iter().enumerate() {
        rank[d] = pos;
    }
    let lens: Vec<usize> = sorted.iter().map(|&d| distinct[d].len()).collect();
    let pack = Packing::new(&lens);
    let mut ids = vec![0u32; pack.rows()];
    for (pos, &d) in sorted.iter().enumerate() {
        for (t, &ch) in distinct[d].iter().enumerate() {
            ids[pack.row(t, pos)] = ch;
        }
    }
    // Xc (Nc, Dc): embedded chars.
    let dc = arch.dim;
    let mut x = vec![0.0f32; pack.rows() * dc];
    for (row, &ch) in ids.iter().enumerate() {
        let ch = ch as usize;
        x[row * dc..(row + 1) * dc].copy_from_slice(&params.char_emb[ch * dc..(ch + 1) * dc]);
    }
    let mut inputs = vec![x];
    let mut caches = Vec::new();
    for cells in &params.char_lstm {
        let x = inputs.last().unwrap();
        let (y, cache) = layer_forward(
            cells,
            &pack,
            MatRef::dense(x, pack.rows(), cells[0].input()),
        );
        inputs.push(y);
        caches.push(cache);
    }
    // The last layer's output is not an input; it yields c_w.
    let y = inputs.pop().unwrap();
    // CW (S, Dco): [h_fwd at the last char ; h_bwd at the first char]; 0 for empty words.
    let (hc, out) = (arch.hidden, arch.feature_dim());
    let mut cw = vec![0.0f32; lens.len() * out];
    for (pos, &len) in lens.iter().enumerate() {
        if len == 0 {
            continue;
        }
        let last = pack.row(len - 1, pos);
        cw[pos * out..pos * out + hc].copy_from_slice(&y[last * out..last * out + hc]);
        if arch.bidirectional {
            let first = pack.row(0, pos);
            cw[pos * out + hc..(pos + 1) * out]
                .copy_from_slice(&y[first * out + hc..(first + 1) * out]);
        }
    }
    let token_seq = token_first.iter().map(|&d| rank[d]).collect();
    (
        CharForward {
            pack,
            ids,
            token_seq,
            lens,
            inputs,
            caches,
        },
        cw,
    )
}

/// Backward of [`char_forward`]: dCW (S, Dco) -> char LSTM and char embedding gradients.
pub(super) fn char_backward(params: &Params, grads: &mut Params, cf: CharForward, d_cw: &[f32]) {
    let arch = params.arch.char.as_ref().unwrap();
    let (hc, out) = (arch.hidden, arch.feature_dim());
    let nc = cf.pack.rows();
    // dY (Nc, Dco) of the last char layer: c_w's gradient lands on the final rows.
    let mut dy = vec![0.0f32; nc * out];
    for (pos, &len) in cf.lens.iter().enumerate() {
        if len == 0 {
            continue;
        }
        let last = cf.pack.row(len - 1, pos);
        dy[last * out..last * out + hc].copy_from_slice(&d_cw[pos * out..pos * out + hc]);
        if arch.bidirectional {
            let first = cf.pack.row(0, pos);
            // A 1-char word's first row is its last row too: the halves are disjoint columns.
            dy[first * out + hc..(first + 1) * out]
                .copy_from_slice(&d_cw[pos * out + hc..(pos + 1) * out]);
        }
    }
    for (k, cache) in cf.caches.into_iter().enumerate().rev() {
        let cells: &[Cell] = &params.char_lstm[k];
        let input = cells[0].input();
        let mut dx = vec![0.0f32; nc * input];
        layer_backward(
            cells,
            &mut grads.char_lstm[k],
            &cf.pack,
            MatRef::dense(&cf.inputs[k], nc, input),
            cache,
            &dy,
            &mut dx,
        );
        dy = dx;
    }
    // dy is dXc (Nc, Dc): scatter into the char embedding rows.
    let dc = arch.dim;
    for (row, &ch) in cf.ids.iter().enumerate() {
        let ch = ch as usize;
        for (g, &d) in grads.char_emb[ch * dc..(ch + 1) * dc]
            .iter_mut()
            .zip(&dy[row * dc..(row + 1) * dc])
        {
            *g += d;
        }
    }
}
