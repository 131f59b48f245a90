//! The LSTM cell update ([`crate::kernels::lstm_cell`]) written once over a vector type
//! with the element-wise operations it needs ([`CellMath`]). Each function performs the
//! scalar definition's operations in its order, lane by lane: the same constants, the
//! same branches as selects, and fused multiply-adds only where they round to the
//! value of the scalar code's multiplication and addition (two places in [`exp`]); so
//! every lane equals the scalar result bit for bit. Every function is
//! `#[inline(always)]`: it compiles inside a level's `#[target_feature]` entry point
//! (with FMA where the vector type's [`CellMath::FUSED`] says so).

/// The widest vector of any level, in f32 lanes.
const MAX_LANES: usize = 16;

use crate::kernels::{
    EXP_MAX, EXP_MIN, EXP_POLY, LN2_HI, LN2_LO, ROUND_SHIFTER, TANH_POLY, TANH_SMALL,
};

/// A vector of `LANES` f32 with the element-wise operations of the cell update, each
/// the IEEE operation of the scalar code lane by lane.
///
/// # Safety
///
/// Every method requires the level's target features; pointers must be valid for
/// `LANES` elements (no alignment needed).
pub(super) trait CellMath: Copy {
    const LANES: usize;
    /// Whether the level has FMA: [`Self::mul_add`] rounds once.
    const FUSED: bool;
    /// `self * b + c`: one fused multiply-add where the level has FMA
    /// ([`Self::FUSED`]), else the product rounded, then the sum
    /// ([`super::generic::Vector::mul_add`]).
    unsafe fn mul_add(self, b: Self, c: Self) -> Self;
    /// `LANES` f32 from `p`.
    unsafe fn load(p: *const f32) -> Self;
    /// Writes the `LANES` f32 to `p`.
    unsafe fn store(self, p: *mut f32);
    /// `v` in every lane.
    unsafe fn splat(v: f32) -> Self;
    /// `self + b`.
    unsafe fn add(self, b: Self) -> Self;
    /// `self * b`.
    unsafe fn mul(self, b: Self) -> Self;
    /// `self - b`.
    unsafe fn sub(self, b: Self) -> Self;
    /// `self / b`.
    unsafe fn div(self, b: Self) -> Self;
    /// `f32::clamp(self, lo, hi)`: a NaN lane stays NaN.
    unsafe fn clamp(self, lo: Self, hi: Self) -> Self;
    /// `-self` (the sign bit flipped).
    unsafe fn neg(self) -> Self;
    /// `|self|` (the sign bit cleared).
    unsafe fn abs(self) -> Self;
    /// `self.copysign(sign)`.
    unsafe fn copysign(self, sign: Self) -> Self;
    /// `if self < limit { then } else { otherwise }` (false for NaN).
    unsafe fn select_lt(self, limit: Self, then: Self, otherwise: Self) -> Self;
    /// `2^n` for lanes that hold `n + ROUND_SHIFTER` as [`crate::kernels::exp`] builds
    /// it: `f32::from_bits(((bits - ROUND_SHIFTER.to_bits()) as i32 + 127) << 23)`,
    /// wrapping integer arithmetic.
    unsafe fn pow2_shifted(self) -> Self;
}

/// The [`CellMath`] methods a level's vector type has as a [`super::generic::Vector`]
/// (lanes, loads, stores, splat, add, multiply-add), forwarded, and `FUSED` as given;
/// used inside each level's `impl`.
macro_rules! cell_math_from_vector {
    (fused: $fused:expr) => {
        const LANES: usize = <Self as Vector>::LANES;
        const FUSED: bool = $fused;
        #[inline(always)]
        unsafe fn mul_add(self, b: Self, c: Self) -> Self {
            // SAFETY: forwarded (trait contract).
            unsafe { <Self as Vector>::mul_add(self, b, c) }
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            // SAFETY: forwarded (trait contract).
            unsafe { <Self as Vector>::load(p) }
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32) {
            // SAFETY: forwarded (trait contract).
            unsafe { <Self as Vector>::store(self, p) }
        }
        #[inline(always)]
        unsafe fn splat(v: f32) -> Self {
            // SAFETY: forwarded (trait contract).
            unsafe { <Self as Vector>::splat(v) }
        }
        #[inline(always)]
        unsafe fn add(self, b: Self) -> Self {
            // SAFETY: forwarded (trait contract).
            unsafe { <Self as Vector>::add(self, b) }
        }
    };
}
pub(super) use cell_math_from_vector;

/// `N` vectors side by side, each operation applied to all `N` in turn: the
/// activations' long dependency chains of `N` vectors interleave instruction by
/// instruction, so that the processor's scheduler finds independent work within its
/// window (one vector's chain alone keeps it waiting on latencies).
#[derive(Clone, Copy)]
pub(super) struct Multi<V, const N: usize>([V; N]);

/// `Multi`'s operations: each applies the vectors' operation to the `N` parts in order
/// (plain loops, no closures: those would not inherit the target features).
macro_rules! each {
    ($self:ident . $op:ident ( $($arg:ident),* )) => {{
        let mut out = $self.0;
        for k in 0..N {
            out[k] = out[k].$op($($arg.0[k]),*);
        }
        Multi(out)
    }};
}

impl<V: CellMath, const N: usize> CellMath for Multi<V, N> {
    const LANES: usize = N * V::LANES;
    const FUSED: bool = V::FUSED;
    #[inline(always)]
    unsafe fn mul_add(self, b: Self, c: Self) -> Self {
        // SAFETY: forwarded (trait contract).
        unsafe { each!(self.mul_add(b, c)) }
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: `p` is valid for `N * V::LANES` f32 (trait contract).
        unsafe {
            let mut out = [V::splat(0.0); N];
            for (k, v) in out.iter_mut().enumerate() {
                *v = V::load(p.add(k * V::LANES));
            }
            Multi(out)
        }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        // SAFETY: `p` is valid for `N * V::LANES` f32 (trait contract).
        unsafe {
            for (k, v) in self.0.into_iter().enumerate() {
                v.store(p.add(k * V::LANES));
            }
        }
    }
    #[inline(always)]
    unsafe fn splat(v: f32) -> Self {
        // SAFETY: forwarded (trait contract).
        Multi([unsafe { V::splat(v) }; N])
    }
    #[inline(always)]
    unsafe fn add(self, b: Self) -> Self {
        // SAFETY: forwarded (trait contract).
        unsafe { each!(self.add(b)) }
    }
    #[inline(always)]
    unsafe fn mul(self, b: Self) -> Self {
        // SAFETY: forwarded (trait contract).
        unsafe { each!(self.mul(b)) }
    }
    #[inline(always)]
    unsafe fn sub(self, b: Self) -> Self {
        // SAFETY: forwarded (trait contract).
        unsafe { each!(self.sub(b)) }
    }
    #[inline(always)]
    unsafe fn div(self, b: Self) -> Self {
        // SAFETY: forwarded (trait contract).
        unsafe { each!(self.div(b)) }
    }
    #[inline(always)]
    unsafe fn clamp(self, lo: Self, hi: Self) -> Self {
        // SAFETY: forwarded (trait contract).
        unsafe { each!(self.clamp(lo, hi)) }
    }
    #[inline(always)]
    unsafe fn neg(self) -> Self {
        // SAFETY: forwarded (trait contract).
        unsafe { each!(self.neg()) }
    }
    #[inline(always)]
    unsafe fn abs(self) -> Self {
        // SAFETY: forwarded (trait contract).
        unsafe { each!(self.abs()) }
    }
    #[inline(always)]
    unsafe fn copysign(self, sign: Self) -> Self {
        // SAFETY: forwarded (trait contract).
        unsafe { each!(self.copysign(sign)) }
    }
    #[inline(always)]
    unsafe fn select_lt(self, limit: Self, then: Self, otherwise: Self) -> Self {
        // SAFETY: forwarded (trait contract).
        unsafe { each!(self.select_lt(limit, then, otherwise)) }
    }
    #[inline(always)]
    unsafe fn pow2_shifted(self) -> Self {
        // SAFETY: forwarded (trait contract).
        unsafe { each!(self.pow2_shifted()) }
    }
}

/// [`crate::kernels::exp`] lane by lane. Where the level has FMA, two pairs of its
/// operations are one fused multiply-add each, with the scalar code's result: `x - n *
/// LN2_HI` (the product is exact), and `(s + 1) * 2^n` as `s * 2^n + 2^n` (the result
/// is normal for every clamped input, and scaling a normal value by a power of two
/// commutes with rounding). Each shortens the chain that a small cell's step waits on:
/// a packed f32 16 -> 16 step on an AMD Zen 4, `avx512`, 86-89 ns against 89-95
/// without them (the bench, 5 alternated rounds, an outlier of 121 left out); f32
/// batch-1 tagging 12.61 µs/token against 12.91 (medians of 7 alternated rounds).
#[inline(always)]
unsafe fn exp<V: CellMath>(x: V) -> V {
    // SAFETY: the level's features are enabled in every caller.
    unsafe {
        let x = x.clamp(V::splat(EXP_MIN), V::splat(EXP_MAX));
        let t = x
            .mul(V::splat(core::f32::consts::LOG2_E))
            .add(V::splat(ROUND_SHIFTER));
        let n = t.sub(V::splat(ROUND_SHIFTER));
        // `n * LN2_HI` is exact: fused or not, `x - n * LN2_HI` is rounded once.
        let r = n.mul_add(V::splat(-LN2_HI), x).sub(n.mul(V::splat(LN2_LO)));
        // The polynomial in the scalar code's order (pairs, then Horner's scheme in r^2).
        let r2 = r.mul(r);
        let [c0, c1, c2, c3, c4, c5] = EXP_POLY;
        let a = V::splat(c0).mul(r).add(V::splat(c1));
        let b = V::splat(c2).mul(r).add(V::splat(c3));
        let c = V::splat(c4).mul(r).add(V::splat(c5));
        let p = a.mul(r2).add(b).mul(r2).add(c);
        let s = p.mul(r2).add(r);
        let pow2 = t.pow2_shifted();
        if V::FUSED {
            // `2^n (s + 1)` rounded once is `2^n` times `s + 1` rounded: it is normal.
            s.mul_add(pow2, pow2)
        } else {
            s.add(V::splat(1.0)).mul(pow2)
        }
    }
}

/// `x <- exp(x)` element by element ([`exp`]), one vector at a time (the last padded):
/// for the tests, which compare it with the scalar function over its whole range (in
/// the cell update, `sigmoid` rounds `1 + exp(-x)` to 1 wherever `exp(-x)` is small).
///
/// # Safety
///
/// The level's target features are enabled.
#[cfg(test)]
#[inline(always)]
pub(super) unsafe fn exp_each<V: CellMath>(x: &mut [f32]) {
    const { assert!(V::LANES <= MAX_LANES) };
    for chunk in x.chunks_mut(V::LANES) {
        let mut pad = [0.0f32; MAX_LANES];
        pad[..chunk.len()].copy_from_slice(chunk);
        // SAFETY: the features are enabled (caller); `pad` holds `V::LANES` values.
        unsafe { exp(V::load(pad.as_ptr())).store(pad.as_mut_ptr()) };
        chunk.copy_from_slice(&pad[..chunk.len()]);
    }
}

/// [`crate::kernels::sigmoid`] lane by lane.
#[inline(always)]
unsafe fn sigmoid<V: CellMath>(x: V) -> V {
    // SAFETY: the level's features are enabled in every caller.
    unsafe {
        let one = V::splat(1.0);
        one.div(one.add(exp(x.neg())))
    }
}

/// [`crate::kernels::tanh`] lane by lane.
#[inline(always)]
unsafe fn tanh<V: CellMath>(x: V) -> V {
    // SAFETY: the level's features are enabled in every caller.
    unsafe {
        let (one, two) = (V::splat(1.0), V::splat(2.0));
        let ax = x.abs();
        let big = one.sub(two.div(exp(two.mul(ax)).add(one)));
        let z = x.mul(x);
        let mut p = V::splat(TANH_POLY[0]);
        for &k in &TANH_POLY[1..] {
            p = p.mul(z).add(V::splat(k));
        }
        let small = p.mul(z).mul(ax).add(ax);
        ax.select_lt(V::splat(TANH_SMALL), small, big).copysign(x)
    }
}

/// The update of `U::LANES` units from their pre-activations `i`, `f`, `g` and `o` (one
/// vector each), `c` read from and written to `cp`, `h` written to `hp`: the sigmoids of
/// `i` and `f` side by side with the tanh of `g`, then `c' = f * c + i * g`, then the
/// sigmoid of `o` beside `tanh(c')` (it fills that chain's waits instead of lengthening
/// the first), `h = o * tanh(c')`. One pass from the gates to `h`: a step of few units
/// is one chain of activations, not four passes one after another.
///
/// # Safety
///
/// The level's target features are enabled; `cp` and `hp` are valid for `U::LANES`
/// values.
#[inline(always)]
pub(super) unsafe fn cell_vectors<U: CellMath>([i, f, g, o]: [U; 4], cp: *mut f32, hp: *mut f32) {
    // SAFETY: as the caller's.
    unsafe {
        let Multi([i, f]) = sigmoid(Multi([i, f]));
        let g = tanh(g);
        let cv = f.mul(U::load(cp)).add(i.mul(g));
        cv.store(cp);
        let o = sigmoid(o);
        o.mul(tanh(cv)).store(hp);
    }
}

/// The update of units `..n` of each of `rows` cells side by side (`gates` (rows, 4 *
/// hidden), `c` and `h` (rows, hidden)), `V::LANES` units at a time, in two passes: `c'
/// = f * c + i * g` of every vector of units (the sigmoids of `i` and `f` side by side
/// with the tanh of `g`), then `h = o * tanh(c')` of every one. The vectors of a pass
/// are independent of one another: the processor overlaps their activations' long
/// chains, where one pass from the gates to `h` per vector has it wait on each chain.
///
/// # Safety
///
/// The level's target features are enabled; `n <= hidden` is a multiple of `V::LANES`;
/// `gates`, `c` and `h` hold `rows` rows.
#[inline(always)]
unsafe fn cell_passes<V: CellMath>(
    gates: &[f32],
    c: &mut [f32],
    h: &mut [f32],
    (hidden, rows, n): (usize, usize, usize),
) {
    // SAFETY: the features are enabled (caller); unit `k + LANES <= n <= hidden` of row
    // `r < rows` lies in every slice (caller).
    unsafe {
        for r in 0..rows {
            let g = gates.as_ptr().add(r * 4 * hidden);
            let c = c.as_mut_ptr().add(r * hidden);
            for k in (0..n).step_by(V::LANES) {
                let (i, f) = (V::load(g.add(k)), V::load(g.add(hidden + k)));
                let Multi([i, f]) = sigmoid(Multi([i, f]));
                let g = tanh(V::load(g.add(2 * hidden + k)));
                f.mul(V::load(c.add(k))).add(i.mul(g)).store(c.add(k));
            }
        }
        for r in 0..rows {
            let o_g = gates.as_ptr().add(r * 4 * hidden + 3 * hidden);
            let (c, h) = (c.as_ptr().add(r * hidden), h.as_mut_ptr().add(r * hidden));
            for k in (0..n).step_by(V::LANES) {
                let o = sigmoid(V::load(o_g.add(k)));
                o.mul(tanh(V::load(c.add(k)))).store(h.add(k));
            }
        }
    }
}

/// [`cell_passes`] in one pass from the gates to `h` per vector of units
/// ([`cell_vectors`]), two vectors side by side while two remain.
///
/// # Safety
///
/// As [`cell_passes`].
#[inline(always)]
unsafe fn cell_one_pass<V: CellMath>(
    gates: &[f32],
    c: &mut [f32],
    h: &mut [f32],
    (hidden, rows, n): (usize, usize, usize),
) {
    // SAFETY: as in `cell_passes`.
    unsafe {
        for r in 0..rows {
            let g = gates.as_ptr().add(r * 4 * hidden);
            let (c, h) = (
                c.as_mut_ptr().add(r * hidden),
                h.as_mut_ptr().add(r * hidden),
            );
            let mut k = 0;
            // (Loads written out: a closure would not inherit the target features.)
            while k + 2 * V::LANES <= n {
                let (i, f) = (Multi::load(g.add(k)), Multi::load(g.add(hidden + k)));
                let (gg, o) = (
                    Multi::load(g.add(2 * hidden + k)),
                    Multi::load(g.add(3 * hidden + k)),
                );
                cell_vectors::<Multi<V, 2>>([i, f, gg, o], c.add(k), h.add(k));
                k += 2 * V::LANES;
            }
            while k < n {
                let (i, f) = (V::load(g.add(k)), V::load(g.add(hidden + k)));
                let (gg, o) = (
                    V::load(g.add(2 * hidden + k)),
                    V::load(g.add(3 * hidden + k)),
                );
                cell_vectors([i, f, gg, o], c.add(k), h.add(k));
                k += V::LANES;
            }
        }
    }
}

/// [`crate::kernels::lstm_cell`] of `c.len() / hidden` cells side by side (`gates`
/// (rows, 4 * hidden), only read; `c` and `h` (rows, hidden)): every cell's whole
/// vectors of units, then each cell's units past them as one vector padded with zeros.
/// With `PASSES` and more than two whole vectors, in two passes over them
/// ([`cell_passes`]), else one pass per vector ([`cell_one_pass`]).
///
/// Two passes gain where the processor would wait on the activations' chains: on an
/// AMD Zen 4, f32 batch-1 tagging of the bench's model at `avx512` 11.48 µs/token
/// against 11.55 with one pass per pair of vectors and a call per char-LSTM lane (a
/// harness's best of 20 passes, medians of 16 alternated rounds). At `sse2` (4 lanes,
/// no FMA: one pass has independent work enough) 25.63 against 25.43 in the bench, so
/// `sse2` and `neon` (not measured) take one pass. A cell of one or two vectors is one
/// chain either way: one pass.
///
/// # Safety
///
/// The level's target features are enabled.
#[inline(always)]
pub(super) unsafe fn lstm_cell<V: CellMath, const PASSES: bool>(
    gates: &[f32],
    c: &mut [f32],
    h: &mut [f32],
    hidden: usize,
) {
    let rows = c.len().checked_div(hidden).unwrap_or(0);
    let (gates, c, h) = (
        &gates[..rows * 4 * hidden],
        &mut c[..rows * hidden],
        &mut h[..rows * hidden],
    );
    let n = hidden - hidden % V::LANES;
    // SAFETY: the features are enabled (caller); every slice holds `rows` rows.
    unsafe {
        if PASSES && rows * n > 2 * V::LANES {
            cell_passes::<V>(gates, c, h, (hidden, rows, n))
        } else {
            cell_one_pass::<V>(gates, c, h, (hidden, rows, n))
        }
    };
    if n == hidden {
        return;
    }
    const { assert!(V::LANES <= MAX_LANES) };
    let left = hidden - n;
    for r in 0..rows {
        // The row's last units as one cell of `MAX_LANES` units padded with zeros (each
        // lane alone), its first `V::LANES` updated.
        let mut pad_g = [0.0f32; 4 * MAX_LANES];
        let (mut pad_c, mut pad_h) = ([0.0f32; MAX_LANES], [0.0f32; MAX_LANES]);
        let g = &gates[r * 4 * hidden..(r + 1) * 4 * hidden];
        for (q, p) in pad_g.chunks_exact_mut(MAX_LANES).enumerate() {
            p[..left].copy_from_slice(&g[q * hidden + n..(q + 1) * hidden]);
        }
        let (c, h) = (
            &mut c[r * hidden + n..(r + 1) * hidden],
            &mut h[r * hidden + n..(r + 1) * hidden],
        );
        pad_c[..left].copy_from_slice(c);
        // SAFETY: as above; the padded cell holds `MAX_LANES >= V::LANES` units.
        unsafe { cell_one_pass::<V>(&pad_g, &mut pad_c, &mut pad_h, (MAX_LANES, 1, V::LANES)) };
        c.copy_from_slice(&pad_c[..left]);
        h.copy_from_slice(&pad_h[..left]);
    }
}
