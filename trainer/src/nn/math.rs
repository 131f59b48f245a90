//! Elementwise kernels: sigmoid and tanh that LLVM can vectorize (std's `exp`/`tanh` are
//! scalar libm calls, and the gates of a batch are ~10^6 of them per step of training), and
//! the row-wise log_softmax.
//!
//! Accuracy (constants rounded to f32): `exp` is Cephes' `expf` polynomial (about 1 ulp on the reduced range), `tanh`
//! is Cephes' `tanhf` (polynomial below 0.625, exp-based above), within a few ulp of libm.

/// e^x for x in [-87, 88] (clamped outside), branch-free so loops over it vectorize.
#[inline(always)]
fn exp_approx(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split in a part exact in a few bits and a remainder (Cody-Waite reduction).
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding 1.5 * 2^23 rounds to an integer in the low mantissa bits (round to nearest).
    const SHIFTER: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    // No mul_add: without a compile-time FMA target it is a slow libm call.
    let t = x * LOG2E + SHIFTER;
    let n = t - SHIFTER;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let mut p = 1.987_569_1e-4f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 5e-1;
    let e = p * (r * r) + r + 1.0;
    // The integer n sits in the low bits of t; 2^n is built directly in the exponent field.
    let n_int = t.to_bits().wrapping_sub(SHIFTER.to_bits()) as i32;
    let scale = f32::from_bits(((n_int + 127) as u32) << 23);
    e * scale
}

/// 1 / (1 + e^-x).
#[inline(always)]
pub(crate) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp_approx(-x))
}

/// tanh(x).
#[inline(always)]
pub(crate) fn tanh(x: f32) -> f32 {
    let ax = x.abs();
    // Large |x|: 1 - 2 / (e^{2|x|} + 1), exact enough away from 0.
    let big = 1.0 - 2.0 / (exp_approx(2.0 * ax) + 1.0);
    // Small |x|: odd polynomial, avoiding the cancellation above.
    let z = x * x;
    let mut p = -5.704_988_7e-3f32;
    p = p * z + 2.063_909e-2;
    p = p * z - 5.373_971_6e-2;
    p = p * z + 1.333_144_2e-1;
    p = p * z - 3.333_328e-1;
    let small = p * z * ax + ax;
    let mag = if ax < 0.625 { small } else { big };
    mag.copysign(x)
}

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
    fn sigmoid_and_tanh_match_libm() {
        let mut worst_s = 0.0f64;
        let mut worst_t = 0.0f64;
        let mut x = -30.0f32;
        while x < 30.0 {
            let s_ref = 1.0 / (1.0 + (-(x as f64)).exp());
            let t_ref = (x as f64).tanh();
            worst_s = worst_s.max((sigmoid(x) as f64 - s_ref).abs() / s_ref.abs().max(1e-30));
            worst_t = worst_t.max((tanh(x) as f64 - t_ref).abs() / t_ref.abs().max(1e-30));
            x += 0.000_37;
        }
        println!("worst relative error: sigmoid {worst_s:e}, tanh {worst_t:e}");
        assert!(worst_s < 4e-7, "sigmoid {worst_s}");
        assert!(worst_t < 4e-7, "tanh {worst_t}");
        assert_eq!(tanh(0.0), 0.0);
        assert_eq!(tanh(100.0), 1.0);
        assert_eq!(tanh(-100.0), -1.0);
        assert_eq!(sigmoid(100.0), 1.0);
        assert!(sigmoid(-100.0) >= 0.0 && sigmoid(-100.0) < 1e-37);
        assert!(tanh(1e-20) == 1e-20);
    }

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
