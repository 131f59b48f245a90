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

/// The whole update of units `k..` from their pre-activations, `U::LANES` units at a
/// time while whole vectors remain ([`cell_vectors`]); returns the first unit not done.
///
/// # Safety
///
/// The level's target features are enabled; `i_g`, `f_g`, `g_g`, `o_g`, `c` and `h`
/// hold `c.len()` values each.
#[inline(always)]
unsafe fn cell_from<U: CellMath>(
    [i_g, f_g, g_g, o_g]: [&[f32]; 4],
    c: &mut [f32],
    h: &mut [f32],
    mut k: usize,
) -> usize {
    // SAFETY: the features are enabled (caller); every access covers `k..k + LANES`
    // with `k + LANES <= c.len()`, the length of every slice (caller).
    unsafe {
        while k + U::LANES <= c.len() {
            let (cp, hp) = (c.as_mut_ptr().add(k), h.as_mut_ptr().add(k));
            let (i, f) = (U::load(i_g.as_ptr().add(k)), U::load(f_g.as_ptr().add(k)));
            let (g, o) = (U::load(g_g.as_ptr().add(k)), U::load(o_g.as_ptr().add(k)));
            cell_vectors([i, f, g, o], cp, hp);
            k += U::LANES;
        }
    }
    k
}

/// [`crate::kernels::lstm_cell`] in one pass over the units ([`cell_from`]), two vectors
/// of units at a time, then one; the units left past the whole vectors as one vector
/// padded with zeros. `gates` is only read.
/// (Packed f32 steps on an Intel Ice Lake, `avx512` level: 16 -> 16, 172 ns/step
/// against 184 with the activations in passes over each gate before the update; 32 ->
/// 32, 346 against 367; 128 -> 128 the same.)
///
/// # Safety
///
/// The level's target features are enabled.
#[inline(always)]
pub(super) unsafe fn lstm_cell<V: CellMath>(gates: &mut [f32], c: &mut [f32], h: &mut [f32]) {
    let hidden = c.len();
    let (ifg, o_g) = gates.split_at(3 * hidden);
    let (if_g, g_g) = ifg.split_at(2 * hidden);
    let (i_g, f_g) = if_g.split_at(hidden);
    let (o_g, h) = (&o_g[..hidden], &mut h[..hidden]);
    let gates = [i_g, f_g, g_g, o_g];
    // SAFETY: the features are enabled (caller); every slice holds `hidden` values.
    let k = unsafe {
        let k = cell_from::<Multi<V, 2>>(gates, c, h, 0);
        cell_from::<V>(gates, c, h, k)
    };
    let n = hidden - k;
    const { assert!(V::LANES <= MAX_LANES) };
    if n > 0 {
        // The last units as one vector padded with zeros (each lane alone).
        let mut pad = [[0.0f32; MAX_LANES]; 6];
        for (p, g) in pad.iter_mut().zip(gates.iter().copied().chain([&*c])) {
            p[..n].copy_from_slice(&g[k..]);
        }
        let [pi, pf, pg, po, pc, ph] = &mut pad;
        let lanes = <V as CellMath>::LANES;
        let gates = [&pi[..lanes], &pf[..lanes], &pg[..lanes], &po[..lanes]];
        // SAFETY: as above; every padded slice holds `V::LANES` values.
        unsafe { cell_from::<V>(gates, &mut pc[..lanes], &mut ph[..lanes], 0) };
        c[k..].copy_from_slice(&pc[..n]);
        h[k..].copy_from_slice(&ph[..n]);
    }
}
