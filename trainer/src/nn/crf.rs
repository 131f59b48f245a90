//! Linear-chain CRF over per-token emission scores, pytorch-crf conventions:
//! `score(y) = start[y_0] + sum_i emit[i, y_i] + sum_{i>0} trans[y_{i-1}, y_i] + end[y_{n-1}]`,
//! `transitions[from * T + to]`. Arithmetic in f64 (T^2 per token is cheap; it keeps the
//! log partition and marginals accurate).

use super::math::log_sum_exp;
use super::params::Crf;

impl Crf {
    fn num_tags(&self) -> usize {
        self.start.len()
    }

    fn trans(&self, from: usize, to: usize) -> f64 {
        self.transitions[from * self.num_tags() + to] as f64
    }

    /// Score of one tag path. emissions (n, T), tags (n,).
    pub fn path_score(&self, emissions: &[f32], tags: &[u16]) -> f64 {
        let nt = self.num_tags();
        let mut s = 0.0f64;
        for (i, &y) in tags.iter().enumerate() {
            let y = y as usize;
            s += emissions[i * nt + y] as f64;
            s += if i == 0 {
                self.start[y] as f64
            } else {
                self.trans(tags[i - 1] as usize, y)
            };
        }
        if let Some(&last) = tags.last() {
            s += self.end[last as usize] as f64;
        }
        s
    }

    /// Forward algorithm: alpha (n, T) with alpha[i, y] = log-sum of all prefixes ending in y.
    fn alphas(&self, emissions: &[f32], n: usize) -> Vec<f64> {
        let nt = self.num_tags();
        let mut alpha = vec![0.0f64; n * nt];
        for y in 0..nt {
            alpha[y] = self.start[y] as f64 + emissions[y] as f64;
        }
        for i in 1..n {
            for y in 0..nt {
                let prev = &alpha[(i - 1) * nt..i * nt];
                let lse = log_sum_exp((0..nt).map(|p| prev[p] + self.trans(p, y)));
                alpha[i * nt + y] = lse + emissions[i * nt + y] as f64;
            }
        }
        alpha
    }

    /// log Z: log-sum-exp of the scores of all T^n paths. emissions (n, T), n >= 1.
    pub fn log_partition(&self, emissions: &[f32], n: usize) -> f64 {
        let nt = self.num_tags();
        let alpha = self.alphas(emissions, n);
        log_sum_exp((0..nt).map(|y| alpha[(n - 1) * nt + y] + self.end[y] as f64))
    }

    /// Negative log-likelihood `log Z - score(tags)` of one sentence, and its gradient times
    /// `scale`: added into `grad` (transitions, start, end) and written into `d_emissions` (n, T)
    /// (marginal - one-hot, by the forward-backward algorithm).
    pub fn nll_and_grad(
        &self,
        emissions: &[f32],
        tags: &[u16],
        scale: f32,
        grad: &mut Crf,
        d_emissions: &mut [f32],
    ) -> f64 {
        let nt = self.num_tags();
        let n = tags.len();
        let alpha = self.alphas(emissions, n);
        // beta[i, y] = log-sum of all suffixes after position i given y at i (end included).
        let mut beta = vec![0.0f64; n * nt];
        for y in 0..nt {
            beta[(n - 1) * nt + y] = self.end[y] as f64;
        }
        for i in (0..n - 1).rev() {
            for y in 0..nt {
                let next = &beta[(i + 1) * nt..(i + 2) * nt];
                beta[i * nt + y] = log_sum_exp(
                    (0..nt)
                        .map(|q| self.trans(y, q) + emissions[(i + 1) * nt + q] as f64 + next[q]),
                );
            }
        }
        let log_z = log_sum_exp((0..nt).map(|y| alpha[(n - 1) * nt + y] + self.end[y] as f64));
        let scale = scale as f64;
        for i in 0..n {
            for y in 0..nt {
                let marginal = (alpha[i * nt + y] + beta[i * nt + y] - log_z).exp();
                let gold = (tags[i] as usize == y) as u8 as f64;
                d_emissions[i * nt + y] = (scale * (marginal - gold)) as f32;
                if i == 0 {
                    grad.start[y] += (scale * (marginal - gold)) as f32;
                }
                if i == n - 1 {
                    grad.end[y] += (scale * (marginal - gold)) as f32;
                }
            }
        }
        for i in 1..n {
            for p in 0..nt {
                for q in 0..nt {
                    let pair = (alpha[(i - 1) * nt + p]
                        + self.trans(p, q)
                        + emissions[i * nt + q] as f64
                        + beta[i * nt + q]
                        - log_z)
                        .exp();
                    grad.transitions[p * nt + q] += (scale * pair) as f32;
                }
            }
            let (p, q) = (tags[i - 1] as usize, tags[i] as usize);
            grad.transitions[p * nt + q] -= scale as f32;
        }
        log_z - self.path_score(emissions, tags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::rng::Rng;

    fn random_crf(nt: usize, rng: &mut Rng) -> Crf {
        let mut v = |len: usize| {
            (0..len)
                .map(|_| rng.uniform(-1.5, 1.5))
                .collect::<Vec<f32>>()
        };
        Crf {
            transitions: v(nt * nt),
            start: v(nt),
            end: v(nt),
        }
    }

    /// All T^n tag paths.
    fn all_paths(nt: usize, n: usize) -> Vec<Vec<u16>> {
        (0..nt.pow(n as u32))
            .map(|mut code| {
                (0..n)
                    .map(|_| {
                        let y = (code % nt) as u16;
                        code /= nt;
                        y
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn forward_algorithm_equals_brute_force() {
        let mut rng = Rng::new(11);
        let (nt, n) = (3, 4);
        let mut worst = 0.0f64;
        for _ in 0..20 {
            let crf = random_crf(nt, &mut rng);
            let emissions: Vec<f32> = (0..n * nt).map(|_| rng.uniform(-2.0, 2.0)).collect();
            let paths = all_paths(nt, n);
            let scores: Vec<f64> = paths
                .iter()
                .map(|p| crf.path_score(&emissions, p))
                .collect();
            let brute = log_sum_exp(scores.iter().copied());
            let fwd = crf.log_partition(&emissions, n);
            worst = worst.max((brute - fwd).abs());
            assert!(
                (brute - fwd).abs() < 1e-9,
                "log Z {fwd} vs brute force {brute}"
            );
            // n = 1 as well.
            let one = crf.log_partition(&emissions[..nt], 1);
            let brute1 =
                log_sum_exp((0..nt).map(|y| crf.path_score(&emissions[..nt], &[y as u16])));
            assert!((one - brute1).abs() < 1e-9);
        }
        println!("CRF log partition vs brute force: max |diff| = {worst:e}");
    }

    #[test]
    fn nll_gradient_matches_brute_force_marginals() {
        let mut rng = Rng::new(12);
        let (nt, n) = (3, 4);
        let crf = random_crf(nt, &mut rng);
        let emissions: Vec<f32> = (0..n * nt).map(|_| rng.uniform(-2.0, 2.0)).collect();
        let tags = [2u16, 0, 1, 1];
        let mut grad = Crf {
            transitions: vec![0.0; nt * nt],
            start: vec![0.0; nt],
            end: vec![0.0; nt],
        };
        let mut d_em = vec![0.0; n * nt];
        let nll = crf.nll_and_grad(&emissions, &tags, 1.0, &mut grad, &mut d_em);
        // Brute-force expectations of the sufficient statistics.
        let paths = all_paths(nt, n);
        let log_z = crf.log_partition(&emissions, n);
        let mut want_em = vec![0.0f64; n * nt];
        let mut want_tr = vec![0.0f64; nt * nt];
        for p in &paths {
            let prob = (crf.path_score(&emissions, p) - log_z).exp();
            for i in 0..n {
                want_em[i * nt + p[i] as usize] += prob;
                if i > 0 {
                    want_tr[p[i - 1] as usize * nt + p[i] as usize] += prob;
                }
            }
        }
        for i in 0..n {
            want_em[i * nt + tags[i] as usize] -= 1.0;
            if i > 0 {
                want_tr[tags[i - 1] as usize * nt + tags[i] as usize] -= 1.0;
            }
        }
        for (a, b) in d_em.iter().zip(&want_em) {
            assert!((*a as f64 - b).abs() < 1e-6);
        }
        for (a, b) in grad.transitions.iter().zip(&want_tr) {
            assert!((*a as f64 - b).abs() < 1e-6);
        }
        for y in 0..nt {
            assert!((grad.start[y] as f64 - want_em[y]).abs() < 1e-6);
            assert!((grad.end[y] as f64 - want_em[(n - 1) * nt + y]).abs() < 1e-6);
        }
        assert!((nll - (log_z - crf.path_score(&emissions, &tags))).abs() < 1e-12);
    }
}
