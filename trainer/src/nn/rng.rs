//! A small seeded PRNG of our own, so a seed gives the same weights, shuffles and dropout
//! masks bit for bit on every build, whatever crate versions are resolved.
//!
//! xoshiro256** (Blackman & Vigna) seeded through splitmix64; normals by Box-Muller.

/// xoshiro256** generator. `Clone` copies the stream position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rng {
    s: [u64; 4],
}

/// One splitmix64 step: advances `state` and returns a well-mixed output.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// A generator whose whole stream is determined by `seed`.
    pub fn new(seed: u64) -> Self {
        let mut sm = seed;
        let s = [
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
        ];
        // splitmix64 never yields four zeros in a row, so the state is valid.
        Rng { s }
    }

    /// The generator's position, e.g. for a training checkpoint.
    pub fn state(&self) -> [u64; 4] {
        self.s
    }

    /// Resumes at a position from [`Rng::state`]. The all-zero state (which xoshiro cannot
    /// leave, and `state` never returns) is replaced by `Rng::new(0)`'s.
    pub fn from_state(s: [u64; 4]) -> Self {
        if s == [0; 4] {
            return Rng::new(0);
        }
        Rng { s }
    }

    /// An independent stream number `stream` derived from `seed` (e.g. one per sentence of a
    /// batch, so dropout masks do not depend on how the batch is split across threads).
    pub fn stream(seed: u64, stream: u64) -> Self {
        let mut sm = seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03);
        Rng::new(splitmix64(&mut sm))
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1) with 24 random bits (every value exactly representable).
    pub fn next_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / (1u64 << 24) as f32)
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.next_f32()
    }

    /// Standard normal N(0, 1) by Box-Muller (one draw per call; the sine half is dropped so
    /// the stream position does not depend on call parity).
    pub fn normal(&mut self) -> f32 {
        // 1 - u is in (0, 1], so the log is finite.
        let u1 = 1.0 - self.next_f64();
        let u2 = self.next_f64();
        ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
    }

    /// Uniform integer in [0, n) (n > 0), without modulo bias worth mentioning for n << 2^64.
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }

    /// Inverted-dropout mask: each value is 0 with probability `p`, else `1 / (1 - p)`.
    /// Two decisions per 64-bit draw (each 32-bit half against `p * 2^32`).
    pub fn fill_dropout_mask(&mut self, mask: &mut [f32], p: f32) {
        let keep = 1.0 / (1.0 - p);
        let threshold = (p as f64 * 4_294_967_296.0) as u64;
        for pair in mask.chunks_mut(2) {
            let bits = self.next_u64();
            for (m, half) in pair.iter_mut().zip([bits & 0xFFFF_FFFF, bits >> 32]) {
                *m = if half < threshold { 0.0 } else { keep };
            }
        }
    }

    /// Fisher-Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xoshiro_reference_values() {
        // Reference output of xoshiro256** from state {1, 2, 3, 4} (the authors' C code).
        let mut r = Rng { s: [1, 2, 3, 4] };
        let want = [11520u64, 0, 1509978240, 1215971899390074240];
        for w in want {
            assert_eq!(r.next_u64(), w);
        }
    }

    #[test]
    fn uniform_and_normal_moments() {
        let mut r = Rng::new(7);
        let n = 200_000;
        let (mut su, mut sn, mut sn2) = (0.0f64, 0.0f64, 0.0f64);
        for _ in 0..n {
            let u = r.next_f32();
            assert!((0.0..1.0).contains(&u));
            su += u as f64;
            let z = r.normal() as f64;
            sn += z;
            sn2 += z * z;
        }
        let n = n as f64;
        assert!((su / n - 0.5).abs() < 0.005);
        assert!((sn / n).abs() < 0.01);
        assert!((sn2 / n - 1.0).abs() < 0.02);
    }

    #[test]
    fn dropout_mask_rate_and_scale() {
        let mut r = Rng::new(8);
        let mut mask = vec![0.0f32; 100_001];
        r.fill_dropout_mask(&mut mask, 0.25);
        let dropped = mask.iter().filter(|&&m| m == 0.0).count() as f64 / mask.len() as f64;
        assert!((dropped - 0.25).abs() < 0.01, "{dropped}");
        assert!(mask.iter().all(|&m| m == 0.0 || m == 1.0 / 0.75));
        r.fill_dropout_mask(&mut mask, 0.0);
        assert!(mask.iter().all(|&m| m == 1.0));
    }

    #[test]
    fn state_round_trips() {
        let mut a = Rng::new(3);
        a.next_u64();
        let mut b = Rng::from_state(a.state());
        assert_eq!(a.next_u64(), b.next_u64());
        assert_eq!(Rng::from_state([0; 4]), Rng::new(0));
    }

    #[test]
    fn streams_differ_and_repeat() {
        let a: Vec<u64> = (0..4).map(|i| Rng::stream(42, i).next_u64()).collect();
        let b: Vec<u64> = (0..4).map(|i| Rng::stream(42, i).next_u64()).collect();
        assert_eq!(a, b);
        for i in 0..4 {
            for j in i + 1..4 {
                assert_ne!(a[i], a[j]);
            }
        }
    }
}
