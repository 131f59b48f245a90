//! The LSTM cell update ([`crate::kernels::lstm_cell`]) written once over a vector type
//! with the element-wise operations it needs ([`CellMath`]). Each function performs the
//! scalar definition's operations in its order, lane by lane: no fused multiply-add,
//! the same constants, the same branches as selects; so every lane equals the scalar
//! result bit for bit. Every function is `#[inline(always)]`: it compiles inside a
//! level's `#[target_feature]` entry point.

use super::generic::Vector;
use crate::kernels::{
    self, EXP_MAX, EXP_MIN, EXP_POLY, EXP_SHIFTER, LN2_HI, LN2_LO, TANH_POLY, TANH_SMALL,
};

/// The element-wise operations of the cell update, each the IEEE operation of the
/// scalar code lane by lane.
///
/// # Safety
///
/// Every method requires the level's target features.
pub(super) trait CellMath: Vector {
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
    /// `2^n` for lanes that hold `n + EXP_SHIFTER` as [`crate::kernels::exp`] builds
    /// it: `f32::from_bits(((bits - EXP_SHIFTER.to_bits()) as i32 + 127) << 23)`,
    /// wrapping integer arithmetic.
    unsafe fn pow2_shifted(self) -> Self;
}

/// [`crate::kernels::exp`] lane by lane.
#[inline(always)]
unsafe fn exp<V: CellMath>(x: V) -> V {
    // SAFETY: the level's features are enabled in every caller.
    unsafe {
        let x = x.clamp(V::splat(EXP_MIN), V::splat(EXP_MAX));
        let t = x
            .mul(V::splat(core::f32::consts::LOG2_E))
            .add(V::splat(EXP_SHIFTER));
        let n = t.sub(V::splat(EXP_SHIFTER));
        let r = x.sub(n.mul(V::splat(LN2_HI))).sub(n.mul(V::splat(LN2_LO)));
        let mut p = V::splat(EXP_POLY[0]);
        for &k in &EXP_POLY[1..] {
            p = p.mul(r).add(V::splat(k));
        }
        let e = p.mul(r.mul(r)).add(r).add(V::splat(1.0));
        e.mul(t.pow2_shifted())
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

/// `x <- tanh(x)` if `TANH`, else `x <- sigmoid(x)`: vectors, then the last
/// `len % LANES` elements by the scalar function.
///
/// # Safety
///
/// The level's target features are enabled.
#[inline(always)]
unsafe fn activate_all<V: CellMath, const TANH: bool>(x: &mut [f32]) {
    let mut k = 0;
    // SAFETY: the features are enabled (caller); `k + LANES <= x.len()`.
    unsafe {
        while k + V::LANES <= x.len() {
            let p = x.as_mut_ptr().add(k);
            let v = V::load(p);
            if TANH { tanh(v) } else { sigmoid(v) }.store(p);
            k += V::LANES;
        }
    }
    for v in &mut x[k..] {
        *v = if TANH {
            kernels::tanh(*v)
        } else {
            kernels::sigmoid(*v)
        };
    }
}

/// [`crate::kernels::lstm_cell`]: the activations a vector at a time, each a pass of
/// independent elements (their long dependency chains overlap), then the state update
/// with `tanh(c')`; the last `len % LANES` elements of each pass by the scalar
/// functions.
///
/// # Safety
///
/// The level's target features are enabled.
#[inline(always)]
pub(super) unsafe fn lstm_cell<V: CellMath>(gates: &mut [f32], c: &mut [f32], h: &mut [f32]) {
    let hidden = c.len();
    let (ifg, o_g) = gates.split_at_mut(3 * hidden);
    let (if_g, g_g) = ifg.split_at_mut(2 * hidden);
    let h = &mut h[..hidden];
    let mut k = 0;
    // SAFETY: the features are enabled (caller); every access covers `k..k + LANES`
    // with `k + LANES <= hidden`, the length of `c`, `h` and each gate.
    unsafe {
        activate_all::<V, false>(if_g);
        activate_all::<V, true>(g_g);
        activate_all::<V, false>(o_g);
        let (i_g, f_g) = if_g.split_at(hidden);
        while k + V::LANES <= hidden {
            let (cp, hp) = (c.as_mut_ptr().add(k), h.as_mut_ptr().add(k));
            let (i, f) = (V::load(i_g.as_ptr().add(k)), V::load(f_g.as_ptr().add(k)));
            let (g, o) = (V::load(g_g.as_ptr().add(k)), V::load(o_g.as_ptr().add(k)));
            let cv = f.mul(V::load(cp)).add(i.mul(g));
            cv.store(cp);
            o.mul(tanh(cv)).store(hp);
            k += V::LANES;
        }
        // The units past the vectors, by the scalar functions.
        for k in k..hidden {
            c[k] = f_g[k] * c[k] + i_g[k] * g_g[k];
            h[k] = o_g[k] * kernels::tanh(c[k]);
        }
    }
}
