//! Elementwise kernels: the core's sigmoid and tanh (the same arithmetic the tagger
//! runs, branch-free so that LLVM vectorizes them: the gates of a batch are ~10^6 of
//! them per step of training), and the row-wise log_softmax.

pub(crate) use postag_core::kernels::{sigmoid, tanh};

/// In place: x <- sigmoid(x). Inlined, so callers' AVX clones vectorize it wider.
#[inline]
pub(crate) fn sigmoid_inplace(xs: &mut [f32]) {
    for x in xs {
        *x = sigmoid(*x);
    }
}

/// In place: x <- tanh(x).
#[inline]
pub(crate) fn tanh_inplace(xs: &mut [f32]) {
    for x in xs {
        *x = tanh(*x);
    }
}

/// In place over one row: z <- log_softmax(z), with libm exp/ln (rows are short).
pub(crate) fn log_softmax_inplace(z: &mut [f32]) {
    let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f32 = z.iter().map(|&v| (v - max).exp()).sum();
    let lse = max + sum.ln();
    for v in z {
        *v -= lse;
    }
}

/// log(sum(exp(x))) in f64, stable.
pub(crate) fn log_sum_exp(xs: impl Iterator<Item = f64> + Clone) -> f64 {
    let max = xs.clone().fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY {
        return max;
    }
    max + xs.map(|x| (x - max).exp()).sum::<f64>().ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_softmax_row() {
        let mut z = [1.0f32, 2.0, 3.0];
        log_softmax_inplace(&mut z);
        let total: f32 = z.iter().map(|v| v.exp()).sum();
        assert!((total - 1.0).abs() < 1e-6);
        assert!((z[2] - z[1] - 1.0).abs() < 1e-6);
        assert!((log_sum_exp([0.0f64, 0.0].into_iter()) - 2f64.ln()).abs() < 1e-15);
    }
}
