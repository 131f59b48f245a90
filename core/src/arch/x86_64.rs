//! x86-64 kernels: SSE2 (the x86-64 baseline), AVX2 with FMA, and AVX-512 (F, BW, VL,
//! VNNI).
//!
//! Each entry point is a `#[target_feature]` function; the generic kernels and the
//! vector methods below are `#[inline(always)]` and compile inside it with its
//! instructions. Callers (the dispatch in `super`) run an entry point only at a
//! level the processor supports.

use core::arch::x86_64::*;

use super::cell::{self, CellMath};
use super::generic::{self, finish_i8_i16, F32Le, Vector, I8, PROJECT_INPUTS, PROJECT_ROWS};
use super::{Panels, Rows, Start};

/// Eight f32 lanes, fused multiply-add.
#[derive(Clone, Copy)]
struct Avx2(__m256);

impl Vector for Avx2 {
    const LANES: usize = 8;
    #[inline(always)]
    unsafe fn zero() -> Self {
        // SAFETY: AVX is enabled in every caller (trait contract).
        Avx2(unsafe { _mm256_setzero_ps() })
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: `p` is valid for 8 f32 (trait contract); the load is unaligned.
        Avx2(unsafe { _mm256_loadu_ps(p) })
    }
    #[inline(always)]
    unsafe fn load_le(p: *const u8) -> Self {
        // SAFETY: as `load`; x86-64 is little-endian, so the bytes are the f32 values.
        Avx2(unsafe { _mm256_loadu_ps(p.cast()) })
    }
    #[inline(always)]
    unsafe fn load_i8(p: *const u8) -> Self {
        // SAFETY: `p` is valid for 8 bytes; `_mm_loadl_epi64` reads exactly 8,
        // unaligned. Sign-extends to i32, then converts exactly to f32.
        Avx2(unsafe { _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(p.cast()))) })
    }
    #[inline(always)]
    unsafe fn load_partial(p: *const f32, n: usize) -> Self {
        // SAFETY: AVX2 is enabled; masked-off lanes are not read (no fault), the
        // first `n` are valid.
        unsafe { Avx2(_mm256_maskload_ps(p, first_lanes(n))) }
    }
    #[inline(always)]
    unsafe fn load_le_partial(p: *const u8, n: usize) -> Self {
        // SAFETY: as `load_partial`; little-endian bytes are the f32 values.
        unsafe { Avx2(_mm256_maskload_ps(p.cast(), first_lanes(n))) }
    }
    #[inline(always)]
    unsafe fn load_i8_partial(p: *const u8, n: usize) -> Self {
        let mut v = 0u64;
        for k in 0..n {
            // SAFETY: `k < n` bytes are valid.
            v |= (unsafe { p.add(k).read() } as u64) << (8 * k);
        }
        // SAFETY: AVX2 is enabled.
        unsafe {
            Avx2(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_cvtsi64_si128(
                v as i64,
            ))))
        }
    }
    #[inline(always)]
    unsafe fn prefetch(p: *const u8) {
        prefetch_line(p)
    }
    #[inline(always)]
    unsafe fn splat(v: f32) -> Self {
        // SAFETY: AVX is enabled in every caller.
        Avx2(unsafe { _mm256_set1_ps(v) })
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        // SAFETY: `p` is valid for 8 f32 writes (trait contract); unaligned store.
        unsafe { _mm256_storeu_ps(p, self.0) }
    }
    #[inline(always)]
    unsafe fn add(self, b: Self) -> Self {
        // SAFETY: AVX is enabled in every caller.
        Avx2(unsafe { _mm256_add_ps(self.0, b.0) })
    }
    #[inline(always)]
    unsafe fn mul_add(self, b: Self, acc: Self) -> Self {
        // SAFETY: FMA is enabled in every caller.
        Avx2(unsafe { _mm256_fmadd_ps(self.0, b.0, acc.0) })
    }
    #[inline(always)]
    unsafe fn sum(self) -> f32 {
        // SAFETY: AVX is enabled in every caller.
        unsafe {
            let halves = _mm_add_ps(
                _mm256_castps256_ps128(self.0),
                _mm256_extractf128_ps::<1>(self.0),
            );
            sum4(halves)
        }
    }
    #[inline(always)]
    unsafe fn sum8(v: [Self; 8]) -> [f32; 8] {
        // SAFETY: AVX is enabled in every caller.
        unsafe {
            let mut parts = [_mm256_setzero_ps(); 8];
            // A plain loop: `map` calls out of line, without the target features.
            for (p, v) in parts.iter_mut().zip(v) {
                *p = v.0;
            }
            sum8_256(parts)
        }
    }
}

/// The lane sums of eight 256-bit vectors: pairwise horizontal adds leave [s0..s3 |
/// s0'..s3'] partial sums per 128-bit half; the halves then add up lane by lane.
#[inline(always)]
unsafe fn sum8_256(v: [__m256; 8]) -> [f32; 8] {
    // SAFETY: AVX is enabled in every caller.
    unsafe {
        let t0 = _mm256_hadd_ps(v[0], v[1]);
        let t1 = _mm256_hadd_ps(v[2], v[3]);
        let t2 = _mm256_hadd_ps(v[4], v[5]);
        let t3 = _mm256_hadd_ps(v[6], v[7]);
        let u0 = _mm256_hadd_ps(t0, t1);
        let u1 = _mm256_hadd_ps(t2, t3);
        let lo = _mm256_permute2f128_ps::<0x20>(u0, u1);
        let hi = _mm256_permute2f128_ps::<0x31>(u0, u1);
        let mut out = [0.0f32; 8];
        _mm256_storeu_ps(out.as_mut_ptr(), _mm256_add_ps(lo, hi));
        out
    }
}

/// Sixteen f32 lanes, fused multiply-add; partial loads by lane masks.
#[derive(Clone, Copy)]
struct Avx512(__m512);

/// A mask of the first `n < 16` lanes.
#[inline(always)]
fn first16(n: usize) -> __mmask16 {
    ((1u32 << n) - 1) as __mmask16
}

/// The sum of the two 256-bit halves of `v`, lane by lane.
#[inline(always)]
unsafe fn halves(v: __m512) -> __m256 {
    // SAFETY: AVX-512F is enabled in every caller.
    unsafe {
        let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(v)));
        _mm256_add_ps(_mm512_castps512_ps256(v), hi)
    }
}

impl Vector for Avx512 {
    const LANES: usize = 16;
    #[inline(always)]
    unsafe fn zero() -> Self {
        // SAFETY: AVX-512F is enabled in every caller (trait contract).
        Avx512(unsafe { _mm512_setzero_ps() })
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: `p` is valid for 16 f32 (trait contract); the load is unaligned.
        Avx512(unsafe { _mm512_loadu_ps(p) })
    }
    #[inline(always)]
    unsafe fn load_le(p: *const u8) -> Self {
        // SAFETY: as `load`; x86-64 is little-endian, so the bytes are the f32 values.
        Avx512(unsafe { _mm512_loadu_ps(p.cast()) })
    }
    #[inline(always)]
    unsafe fn load_i8(p: *const u8) -> Self {
        // SAFETY: `p` is valid for 16 bytes, read unaligned; sign-extended to i32,
        // then converted exactly to f32.
        Avx512(unsafe { _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(p.cast()))) })
    }
    #[inline(always)]
    unsafe fn load_partial(p: *const f32, n: usize) -> Self {
        // SAFETY: masked-off lanes are not read (no fault), the first `n` are valid.
        Avx512(unsafe { _mm512_maskz_loadu_ps(first16(n), p) })
    }
    #[inline(always)]
    unsafe fn load_le_partial(p: *const u8, n: usize) -> Self {
        // SAFETY: as `load_partial`; little-endian bytes are the f32 values.
        Avx512(unsafe { _mm512_maskz_loadu_ps(first16(n), p.cast()) })
    }
    #[inline(always)]
    unsafe fn load_i8_partial(p: *const u8, n: usize) -> Self {
        // SAFETY: AVX-512BW and VL are enabled; masked-off bytes are not read.
        unsafe {
            let v = _mm_maskz_loadu_epi8(first16(n), p.cast());
            Avx512(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(v)))
        }
    }
    #[inline(always)]
    unsafe fn prefetch(p: *const u8) {
        prefetch_line(p)
    }
    #[inline(always)]
    unsafe fn splat(v: f32) -> Self {
        // SAFETY: AVX-512F is enabled in every caller.
        Avx512(unsafe { _mm512_set1_ps(v) })
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        // SAFETY: `p` is valid for 16 f32 writes (trait contract); unaligned store.
        unsafe { _mm512_storeu_ps(p, self.0) }
    }
    #[inline(always)]
    unsafe fn add(self, b: Self) -> Self {
        // SAFETY: AVX-512F is enabled in every caller.
        Avx512(unsafe { _mm512_add_ps(self.0, b.0) })
    }
    #[inline(always)]
    unsafe fn mul_add(self, b: Self, acc: Self) -> Self {
        // SAFETY: AVX-512F is enabled in every caller.
        Avx512(unsafe { _mm512_fmadd_ps(self.0, b.0, acc.0) })
    }
    #[inline(always)]
    unsafe fn sum(self) -> f32 {
        // SAFETY: AVX-512F is enabled in every caller.
        unsafe { Avx2(halves(self.0)).sum() }
    }
    #[inline(always)]
    unsafe fn sum8(v: [Self; 8]) -> [f32; 8] {
        // SAFETY: AVX-512F is enabled in every caller.
        unsafe {
            let mut parts = [_mm256_setzero_ps(); 8];
            // A plain loop: `map` calls out of line, without the target features.
            for (p, v) in parts.iter_mut().zip(v) {
                *p = halves(v.0);
            }
            sum8_256(parts)
        }
    }
}

impl CellMath for Avx512 {
    cell::cell_math_from_vector!(fused: true);
    #[inline(always)]
    unsafe fn mul(self, b: Self) -> Self {
        // SAFETY: AVX-512F is enabled in every caller (trait contract).
        Avx512(unsafe { _mm512_mul_ps(self.0, b.0) })
    }
    #[inline(always)]
    unsafe fn sub(self, b: Self) -> Self {
        // SAFETY: AVX-512F is enabled in every caller (trait contract).
        Avx512(unsafe { _mm512_sub_ps(self.0, b.0) })
    }
    #[inline(always)]
    unsafe fn div(self, b: Self) -> Self {
        // SAFETY: AVX-512F is enabled in every caller (trait contract).
        Avx512(unsafe { _mm512_div_ps(self.0, b.0) })
    }
    #[inline(always)]
    unsafe fn clamp(self, lo: Self, hi: Self) -> Self {
        // SAFETY: AVX-512F is enabled in every caller. `vmaxps`/`vminps` return the
        // second operand when either is NaN: `self` goes second, so a NaN lane passes.
        Avx512(unsafe { _mm512_min_ps(hi.0, _mm512_max_ps(lo.0, self.0)) })
    }
    #[inline(always)]
    unsafe fn neg(self) -> Self {
        // SAFETY: AVX-512F is enabled in every caller (trait contract).
        unsafe {
            let sign = _mm512_set1_epi32(i32::MIN);
            Avx512(_mm512_castsi512_ps(_mm512_xor_si512(
                _mm512_castps_si512(self.0),
                sign,
            )))
        }
    }
    #[inline(always)]
    unsafe fn abs(self) -> Self {
        // SAFETY: AVX-512F is enabled in every caller (trait contract).
        Avx512(unsafe { _mm512_abs_ps(self.0) })
    }
    #[inline(always)]
    unsafe fn copysign(self, sign: Self) -> Self {
        // SAFETY: AVX-512F is enabled in every caller (trait contract).
        unsafe {
            let m = _mm512_set1_epi32(i32::MIN);
            let (v, s) = (_mm512_castps_si512(self.0), _mm512_castps_si512(sign.0));
            let bits = _mm512_or_si512(_mm512_andnot_si512(m, v), _mm512_and_si512(m, s));
            Avx512(_mm512_castsi512_ps(bits))
        }
    }
    #[inline(always)]
    unsafe fn select_lt(self, limit: Self, then: Self, otherwise: Self) -> Self {
        // SAFETY: AVX-512F is enabled in every caller. The ordered compare is false
        // for NaN.
        unsafe {
            let m = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(self.0, limit.0);
            Avx512(_mm512_mask_blend_ps(m, otherwise.0, then.0))
        }
    }
    #[inline(always)]
    unsafe fn pow2_shifted(self) -> Self {
        // SAFETY: AVX-512F is enabled in every caller; integer lanes wrap as the
        // scalar code's.
        unsafe {
            let shifter = _mm512_set1_epi32(crate::kernels::ROUND_SHIFTER.to_bits() as i32);
            let n = _mm512_sub_epi32(_mm512_castps_si512(self.0), shifter);
            let bits = _mm512_slli_epi32::<23>(_mm512_add_epi32(n, _mm512_set1_epi32(127)));
            Avx512(_mm512_castsi512_ps(bits))
        }
    }
}

impl CellMath for Avx2 {
    cell::cell_math_from_vector!(fused: true);
    #[inline(always)]
    unsafe fn mul(self, b: Self) -> Self {
        // SAFETY: AVX is enabled in every caller (trait contract).
        Avx2(unsafe { _mm256_mul_ps(self.0, b.0) })
    }
    #[inline(always)]
    unsafe fn sub(self, b: Self) -> Self {
        // SAFETY: AVX is enabled in every caller (trait contract).
        Avx2(unsafe { _mm256_sub_ps(self.0, b.0) })
    }
    #[inline(always)]
    unsafe fn div(self, b: Self) -> Self {
        // SAFETY: AVX is enabled in every caller (trait contract).
        Avx2(unsafe { _mm256_div_ps(self.0, b.0) })
    }
    #[inline(always)]
    unsafe fn clamp(self, lo: Self, hi: Self) -> Self {
        // SAFETY: AVX is enabled in every caller. `vmaxps`/`vminps` return the second
        // operand when either is NaN: `self` goes second, so a NaN lane passes.
        Avx2(unsafe { _mm256_min_ps(hi.0, _mm256_max_ps(lo.0, self.0)) })
    }
    #[inline(always)]
    unsafe fn neg(self) -> Self {
        // SAFETY: AVX is enabled in every caller (trait contract).
        Avx2(unsafe { _mm256_xor_ps(self.0, _mm256_set1_ps(-0.0)) })
    }
    #[inline(always)]
    unsafe fn abs(self) -> Self {
        // SAFETY: AVX is enabled in every caller (trait contract).
        Avx2(unsafe { _mm256_andnot_ps(_mm256_set1_ps(-0.0), self.0) })
    }
    #[inline(always)]
    unsafe fn copysign(self, sign: Self) -> Self {
        // SAFETY: AVX is enabled in every caller (trait contract).
        unsafe {
            let m = _mm256_set1_ps(-0.0);
            Avx2(_mm256_or_ps(
                _mm256_andnot_ps(m, self.0),
                _mm256_and_ps(m, sign.0),
            ))
        }
    }
    #[inline(always)]
    unsafe fn select_lt(self, limit: Self, then: Self, otherwise: Self) -> Self {
        // SAFETY: AVX is enabled in every caller. The ordered compare is false for NaN.
        unsafe {
            let m = _mm256_cmp_ps::<_CMP_LT_OQ>(self.0, limit.0);
            Avx2(_mm256_blendv_ps(otherwise.0, then.0, m))
        }
    }
    #[inline(always)]
    unsafe fn pow2_shifted(self) -> Self {
        // SAFETY: AVX2 is enabled in every caller; integer lanes wrap as the scalar
        // code's.
        unsafe {
            let shifter = _mm256_set1_epi32(crate::kernels::ROUND_SHIFTER.to_bits() as i32);
            let n = _mm256_sub_epi32(_mm256_castps_si256(self.0), shifter);
            let bits = _mm256_slli_epi32::<23>(_mm256_add_epi32(n, _mm256_set1_epi32(127)));
            Avx2(_mm256_castsi256_ps(bits))
        }
    }
}

/// Hints that the line at `p` will be read soon (`prefetcht0`): any address, nothing is
/// read (no fault, no result changes). Not under Miri, which has no caches to fill.
#[inline(always)]
pub(super) fn prefetch_line(p: *const u8) {
    #[cfg(not(miri))]
    // SAFETY: SSE is part of every x86-64 target; a prefetch reads no memory and
    // faults on no address.
    unsafe {
        _mm_prefetch::<_MM_HINT_T0>(p.cast())
    };
    #[cfg(miri)]
    let _ = p;
}

/// `[sum(a), sum(b), sum(c), sum(d)]` by a 4 x 4 transpose.
#[inline(always)]
unsafe fn sum4x4(a: __m128, b: __m128, c: __m128, d: __m128) -> __m128 {
    // SAFETY: SSE2 is part of the target.
    unsafe {
        // [a0+a2, b0+b2, a1+a3, b1+b3] and the same for c, d.
        let ab = _mm_add_ps(_mm_unpacklo_ps(a, b), _mm_unpackhi_ps(a, b));
        let cd = _mm_add_ps(_mm_unpacklo_ps(c, d), _mm_unpackhi_ps(c, d));
        _mm_add_ps(_mm_movelh_ps(ab, cd), _mm_movehl_ps(cd, ab))
    }
}

/// Four f32 lanes, separate multiply and add.
#[derive(Clone, Copy)]
struct Sse2(__m128);

impl Vector for Sse2 {
    const LANES: usize = 4;
    #[inline(always)]
    unsafe fn zero() -> Self {
        // SAFETY: SSE2 is part of the target.
        Sse2(unsafe { _mm_setzero_ps() })
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: `p` is valid for 4 f32 (trait contract); the load is unaligned.
        Sse2(unsafe { _mm_loadu_ps(p) })
    }
    #[inline(always)]
    unsafe fn load_le(p: *const u8) -> Self {
        // SAFETY: as `load`; x86-64 is little-endian.
        Sse2(unsafe { _mm_loadu_ps(p.cast()) })
    }
    #[inline(always)]
    unsafe fn load_i8(p: *const u8) -> Self {
        // SAFETY: `p` is valid for 4 bytes, read unaligned. Each byte is widened by
        // pairing it with itself and shifting the sign in (i8 -> i16 -> i32).
        unsafe {
            let v = _mm_cvtsi32_si128(p.cast::<i32>().read_unaligned());
            let w16 = _mm_srai_epi16::<8>(_mm_unpacklo_epi8(v, v));
            let w32 = _mm_srai_epi32::<16>(_mm_unpacklo_epi16(w16, w16));
            Sse2(_mm_cvtepi32_ps(w32))
        }
    }
    #[inline(always)]
    unsafe fn prefetch(p: *const u8) {
        prefetch_line(p)
    }
    #[inline(always)]
    unsafe fn splat(v: f32) -> Self {
        // SAFETY: SSE2 is part of the target.
        Sse2(unsafe { _mm_set1_ps(v) })
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        // SAFETY: `p` is valid for 4 f32 writes (trait contract); unaligned store.
        unsafe { _mm_storeu_ps(p, self.0) }
    }
    #[inline(always)]
    unsafe fn add(self, b: Self) -> Self {
        // SAFETY: SSE2 is part of the target.
        Sse2(unsafe { _mm_add_ps(self.0, b.0) })
    }
    #[inline(always)]
    unsafe fn mul_add(self, b: Self, acc: Self) -> Self {
        // SAFETY: SSE2 is part of the target.
        Sse2(unsafe { _mm_add_ps(_mm_mul_ps(self.0, b.0), acc.0) })
    }
    #[inline(always)]
    unsafe fn sum(self) -> f32 {
        // SAFETY: SSE2 is part of the target.
        unsafe { sum4(self.0) }
    }
    #[inline(always)]
    unsafe fn sum8(v: [Self; 8]) -> [f32; 8] {
        // SAFETY: SSE2 is part of the target; `out` holds 8 f32.
        unsafe {
            let mut out = [0.0f32; 8];
            _mm_storeu_ps(out.as_mut_ptr(), sum4x4(v[0].0, v[1].0, v[2].0, v[3].0));
            _mm_storeu_ps(
                out.as_mut_ptr().add(4),
                sum4x4(v[4].0, v[5].0, v[6].0, v[7].0),
            );
            out
        }
    }
}

impl CellMath for Sse2 {
    cell::cell_math_from_vector!(fused: false);
    #[inline(always)]
    unsafe fn mul(self, b: Self) -> Self {
        // SAFETY: SSE2 is part of the target.
        Sse2(unsafe { _mm_mul_ps(self.0, b.0) })
    }
    #[inline(always)]
    unsafe fn sub(self, b: Self) -> Self {
        // SAFETY: SSE2 is part of the target.
        Sse2(unsafe { _mm_sub_ps(self.0, b.0) })
    }
    #[inline(always)]
    unsafe fn div(self, b: Self) -> Self {
        // SAFETY: SSE2 is part of the target.
        Sse2(unsafe { _mm_div_ps(self.0, b.0) })
    }
    #[inline(always)]
    unsafe fn clamp(self, lo: Self, hi: Self) -> Self {
        // SAFETY: SSE2 is part of the target. `maxps`/`minps` return the second
        // operand when either is NaN: `self` goes second, so a NaN lane passes.
        Sse2(unsafe { _mm_min_ps(hi.0, _mm_max_ps(lo.0, self.0)) })
    }
    #[inline(always)]
    unsafe fn neg(self) -> Self {
        // SAFETY: SSE2 is part of the target.
        Sse2(unsafe { _mm_xor_ps(self.0, _mm_set1_ps(-0.0)) })
    }
    #[inline(always)]
    unsafe fn abs(self) -> Self {
        // SAFETY: SSE2 is part of the target.
        Sse2(unsafe { _mm_andnot_ps(_mm_set1_ps(-0.0), self.0) })
    }
    #[inline(always)]
    unsafe fn copysign(self, sign: Self) -> Self {
        // SAFETY: SSE2 is part of the target.
        unsafe {
            let m = _mm_set1_ps(-0.0);
            Sse2(_mm_or_ps(_mm_andnot_ps(m, self.0), _mm_and_ps(m, sign.0)))
        }
    }
    #[inline(always)]
    unsafe fn select_lt(self, limit: Self, then: Self, otherwise: Self) -> Self {
        // SAFETY: SSE2 is part of the target. `cmpltps` is false for NaN.
        unsafe {
            let m = _mm_cmplt_ps(self.0, limit.0);
            Sse2(_mm_or_ps(
                _mm_and_ps(m, then.0),
                _mm_andnot_ps(m, otherwise.0),
            ))
        }
    }
    #[inline(always)]
    unsafe fn pow2_shifted(self) -> Self {
        // SAFETY: SSE2 is part of the target; integer lanes wrap as the scalar code's.
        unsafe {
            let shifter = _mm_set1_epi32(crate::kernels::ROUND_SHIFTER.to_bits() as i32);
            let n = _mm_sub_epi32(_mm_castps_si128(self.0), shifter);
            let bits = _mm_slli_epi32::<23>(_mm_add_epi32(n, _mm_set1_epi32(127)));
            Sse2(_mm_castsi128_ps(bits))
        }
    }
}

/// A mask of the first `n` of 8 lanes.
#[inline(always)]
unsafe fn first_lanes(n: usize) -> __m256i {
    // SAFETY: AVX2 is enabled in every caller.
    unsafe {
        _mm256_cmpgt_epi32(
            _mm256_set1_epi32(n as i32),
            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
        )
    }
}

/// `(v0 + v2) + (v1 + v3)`.
#[inline(always)]
unsafe fn sum4(v: __m128) -> f32 {
    // SAFETY: SSE is part of the target.
    unsafe {
        let v = _mm_add_ps(v, _mm_movehl_ps(v, v));
        let v = _mm_add_ss(v, _mm_shuffle_ps::<0b01>(v, v));
        _mm_cvtss_f32(v)
    }
}

/// # Safety
///
/// AVX2 and FMA are available; the requirements of [`generic::gemv`].
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn gemv_avx2(w: &Rows<'_>, x: &[f32], out: &mut [f32]) {
    // SAFETY: forwarded; the target features are enabled here.
    unsafe {
        if w.int8 {
            generic::gemv::<Avx2, I8>(w, x, out)
        } else {
            generic::gemv::<Avx2, F32Le>(w, x, out)
        }
    }
}

/// Shortest rows the `avx512` level's products take 512 bits at a time (and fewest
/// units of its cell update): shorter ones fill at most one vector per row, where the
/// AVX2 kernels' narrower reductions are faster (and their results are those of the
/// `avx2` level).
pub(super) const WIDE_COLS: usize = 32;

/// # Safety
///
/// The `avx512` level's features are available; the requirements of
/// [`generic::gemv`].
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")]
pub(super) unsafe fn gemv_avx512(w: &Rows<'_>, x: &[f32], out: &mut [f32]) {
    // SAFETY: forwarded; the target features (AVX2 and FMA among them) are enabled here.
    unsafe {
        if w.cols < WIDE_COLS {
            gemv_avx2(w, x, out)
        } else if w.int8 {
            generic::gemv::<Avx512, I8>(w, x, out)
        } else {
            generic::gemv::<Avx512, F32Le>(w, x, out)
        }
    }
}

/// # Safety
///
/// The requirements of [`generic::gemv`].
#[target_feature(enable = "sse2")]
pub(super) unsafe fn gemv_sse2(w: &Rows<'_>, x: &[f32], out: &mut [f32]) {
    // SAFETY: forwarded.
    unsafe {
        if w.int8 {
            generic::gemv::<Sse2, I8>(w, x, out)
        } else {
            generic::gemv::<Sse2, F32Le>(w, x, out)
        }
    }
}

/// # Safety
///
/// AVX2 and FMA are available; the requirements of [`generic::project`].
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn project_avx2(
    w: &Rows<'_>,
    xs: &[f32],
    b: usize,
    bias: &[u8],
    out: &mut [f32],
) {
    // SAFETY: forwarded; the target features are enabled here.
    unsafe {
        if w.int8 {
            generic::project::<Avx2, I8, PROJECT_ROWS, PROJECT_INPUTS>(w, xs, b, bias, out)
        } else {
            generic::project::<Avx2, F32Le, PROJECT_ROWS, PROJECT_INPUTS>(w, xs, b, bias, out)
        }
    }
}

/// # Safety
///
/// The `avx512` level's features are available; the requirements of
/// [`generic::project`].
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")]
pub(super) unsafe fn project_avx512(
    w: &Rows<'_>,
    xs: &[f32],
    b: usize,
    bias: &[u8],
    out: &mut [f32],
) {
    // SAFETY: forwarded; the target features (AVX2 and FMA among them) are enabled here.
    unsafe {
        if w.cols < WIDE_COLS {
            project_avx2(w, xs, b, bias, out)
        } else if w.int8 {
            generic::project::<Avx512, I8, 4, 4>(w, xs, b, bias, out)
        } else {
            generic::project::<Avx512, F32Le, 4, 4>(w, xs, b, bias, out)
        }
    }
}

/// # Safety
///
/// The requirements of [`generic::project`].
#[target_feature(enable = "sse2")]
pub(super) unsafe fn project_sse2(
    w: &Rows<'_>,
    xs: &[f32],
    b: usize,
    bias: &[u8],
    out: &mut [f32],
) {
    // SAFETY: forwarded.
    unsafe {
        if w.int8 {
            generic::project::<Sse2, I8, PROJECT_ROWS, PROJECT_INPUTS>(w, xs, b, bias, out)
        } else {
            generic::project::<Sse2, F32Le, PROJECT_ROWS, PROJECT_INPUTS>(w, xs, b, bias, out)
        }
    }
}

/// [`crate::kernels::dot_i8`] of the `x.len()` signed bytes at `q` and `x`, summed as it
/// does: lane k of one register takes the products of elements k, k + 8, ... in order
/// (a multiply, then an add: Rust never fuses them), the lanes are added pairwise
/// (k + 4 onto k, then k + 2, then k + 1), then the tail's products in order.
///
/// # Safety
///
/// AVX2 is available; `q` is valid for `x.len()` bytes.
#[target_feature(enable = "avx2")]
unsafe fn dot_i8_avx2(q: *const u8, x: &[f32]) -> f32 {
    let groups = x.len() / 8;
    // SAFETY: groups of 8 within `x.len()` bytes of `q` and elements of `x`.
    unsafe {
        let mut acc = _mm256_setzero_ps();
        for g in 0..groups {
            let qv = _mm256_cvtepi8_epi32(_mm_loadl_epi64(q.add(8 * g).cast()));
            let xv = _mm256_loadu_ps(x.as_ptr().add(8 * g));
            acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_cvtepi32_ps(qv), xv));
        }
        let mut tail = 0.0f32;
        for (i, &v) in x.iter().enumerate().skip(8 * groups) {
            tail += (*q.add(i) as i8 as f32) * v;
        }
        let s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps::<1>(acc));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps::<1>(s, s))) + tail
    }
}

/// [`super::row_dots_i8`] with AVX2: four rows at a time share each load of `x`, and
/// their lane sums are reduced together, each in [`dot_i8_avx2`]'s order.
///
/// # Safety
///
/// AVX2 is available; `w.int8`, `w.in_bounds()`, `col0 + x.len() <= w.cols`,
/// `out.len() <= w.rows`.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn row_dots_i8_avx2(w: &Rows<'_>, col0: usize, x: &[f32], out: &mut [f32]) {
    let scale = |r: usize| {
        let s = &w.scales[4 * r..4 * r + 4];
        f32::from_le_bytes([s[0], s[1], s[2], s[3]])
    };
    let row = |r: usize| w.data[r * w.stride + col0..].as_ptr();
    let groups = x.len() / 8;
    let mut r = 0;
    // SAFETY: each row holds `cols >= col0 + x.len()` bytes from `col0` (in bounds);
    // loads of 8 stay below `8 * groups <= x.len()`.
    unsafe {
        while r + 4 <= out.len() {
            let q: [*const u8; 4] = core::array::from_fn(|k| row(r + k));
            let mut acc = [_mm256_setzero_ps(); 4];
            for g in 0..groups {
                let xv = _mm256_loadu_ps(x.as_ptr().add(8 * g));
                for (a, &q) in acc.iter_mut().zip(&q) {
                    let qv = _mm256_cvtepi8_epi32(_mm_loadl_epi64(q.add(8 * g).cast()));
                    *a = _mm256_add_ps(*a, _mm256_mul_ps(_mm256_cvtepi32_ps(qv), xv));
                }
            }
            // Per row: s_k = v_k + v_{k+4}; t_0 = s_0 + s_2, t_1 = s_1 + s_3; t_0 + t_1,
            // rows (0, 2) in the low half's lanes 0, 1 and (1, 3) in the high half's.
            let [a, b, c, d] = acc;
            let sab = _mm256_add_ps(
                _mm256_permute2f128_ps::<0x20>(a, b),
                _mm256_permute2f128_ps::<0x31>(a, b),
            );
            let scd = _mm256_add_ps(
                _mm256_permute2f128_ps::<0x20>(c, d),
                _mm256_permute2f128_ps::<0x31>(c, d),
            );
            let t = _mm256_add_ps(
                _mm256_shuffle_ps::<0b01_00_01_00>(sab, scd),
                _mm256_shuffle_ps::<0b11_10_11_10>(sab, scd),
            );
            let sums = _mm256_add_ps(
                _mm256_shuffle_ps::<0b10_00_10_00>(t, t),
                _mm256_shuffle_ps::<0b11_01_11_01>(t, t),
            );
            let mut lanes = [0.0f32; 8];
            _mm256_storeu_ps(lanes.as_mut_ptr(), sums);
            for (k, lane) in [0, 4, 1, 5].into_iter().enumerate() {
                let mut tail = 0.0f32;
                for (i, &v) in x.iter().enumerate().skip(8 * groups) {
                    tail += (*q[k].add(i) as i8 as f32) * v;
                }
                out[r + k] = scale(r + k) * (lanes[lane] + tail);
            }
            r += 4;
        }
        while r < out.len() {
            out[r] = scale(r) * dot_i8_avx2(row(r), x);
            r += 1;
        }
    }
}

/// # Safety
///
/// AVX2 and FMA are available; the requirements of [`generic::gemm_lanes`].
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn gemm_lanes_avx2(w: &Rows<'_>, xt: &[f32], out: &mut [f32]) {
    // SAFETY: forwarded; the target features are enabled here.
    unsafe { generic::gemm_lanes::<Avx2, 8, 1>(w, xt, out) }
}

/// # Safety
///
/// The requirements of [`generic::gemm_lanes`].
#[target_feature(enable = "sse2")]
pub(super) unsafe fn gemm_lanes_sse2(w: &Rows<'_>, xt: &[f32], out: &mut [f32]) {
    // SAFETY: forwarded.
    unsafe { generic::gemm_lanes::<Sse2, 4, 2>(w, xt, out) }
}

/// Bytes of panels above which the products with two sums per row
/// ([`generic::gemv_panels`], [`generic::panel_gemv`]) run one panel at a time at the
/// AVX2 and AVX-512 levels on AMD processors ([`one_stream_from_l2`]). Within the L1
/// cache several panels' independent sums hide the FMA latency, which one panel's two
/// sums do not.
const ONE_PANEL_AT_A_TIME_BYTES: usize = 48 * 1024;

/// Whether `rows` rows of `cols` f32 in panels (with a bias column for the packed
/// layout: `cols + 1`) run one panel at a time: more than
/// [`ONE_PANEL_AT_A_TIME_BYTES`] on a processor that reads L2 faster as one stream.
fn one_panel_at_a_time(cols: usize, rows: usize) -> bool {
    rows.saturating_mul(cols).saturating_mul(4) > ONE_PANEL_AT_A_TIME_BYTES && one_stream_from_l2()
}

/// Whether weights past the L1 cache arrive faster as one panel's sequential stream
/// than as several panels' streams side by side: on AMD processors. At the `avx512`
/// level, a Zen 5 ran a packed f32 128 -> 128 step in 3.4 us one panel at a time
/// against 4.5 four at a time, and batch-1 tagging of the base model about 10% faster;
/// an Intel Ice Lake the opposite: 128 -> 128 in 6.5 us one at a time against 4.9 four
/// at a time, 164 -> 128 7.3 against 5.5, batch-1 tagging 5% slower (4% at `avx2`). On
/// a Zen 4 the two are about even (the bench's packed steps at `avx512`, alternated
/// rounds with a noisy first one left out, one at a time against four): 128 -> 128
/// 4,895-4,920 ns against 4,969-5,036, 164 -> 128 5,524-5,972 against 5,628-5,662.
fn one_stream_from_l2() -> bool {
    #[cfg(all(test, feature = "std"))]
    if let Some(forced) = super::tests::ONE_STREAM.with(core::cell::Cell::get) {
        return forced;
    }
    amd()
}

/// Whether this is an AMD processor: the vendor is read once (CPUID) and kept; in an
/// SGX enclave, which may not run CPUID, it counts as another vendor's.
#[inline]
fn amd() -> bool {
    match AMD.load(core::sync::atomic::Ordering::Relaxed) {
        1 => true,
        2 => false,
        _ => read_vendor(),
    }
}

/// [`amd`]'s answer: 0 until read, then 1 for AMD, 2 for another vendor.
static AMD: core::sync::atomic::AtomicU8 = core::sync::atomic::AtomicU8::new(0);

/// The vendor read once, kept in [`AMD`]: out of line, so that [`amd`] (asked per
/// cell update) inlines as a load and a compare.
#[cold]
#[inline(never)]
fn read_vendor() -> bool {
    #[cfg(not(target_env = "sgx"))]
    let amd = raw_cpuid::CpuId::new()
        .get_vendor_info()
        .is_some_and(|v| v.as_str() == "AuthenticAMD");
    #[cfg(target_env = "sgx")]
    let amd = false;
    // Racing threads store the same value.
    AMD.store(
        if amd { 1 } else { 2 },
        core::sync::atomic::Ordering::Relaxed,
    );
    amd
}

/// # Safety
///
/// The `avx512` level's features are available; the requirements of
/// [`generic::panel_gemv`].
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")]
pub(super) unsafe fn panel_gemv_avx512(w: &Panels<'_>, x: &[f32], out: &mut [f32]) {
    // SAFETY: forwarded; the target features are enabled here.
    unsafe {
        if one_panel_at_a_time(w.cols, w.rows) {
            generic::panel_gemv::<Avx512, 1, 1>(w, x, out)
        } else {
            generic::panel_gemv::<Avx512, 4, 1>(w, x, out)
        }
    }
}

/// # Safety
///
/// AVX2 and FMA are available; the requirements of [`generic::panel_gemv`].
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn panel_gemv_avx2(w: &Panels<'_>, x: &[f32], out: &mut [f32]) {
    // SAFETY: forwarded; the target features are enabled here.
    unsafe {
        if one_panel_at_a_time(w.cols, w.rows) {
            generic::panel_gemv::<Avx2, 1, 2>(w, x, out)
        } else {
            generic::panel_gemv::<Avx2, 2, 2>(w, x, out)
        }
    }
}

/// # Safety
///
/// The requirements of [`generic::panel_gemv`].
#[target_feature(enable = "sse2")]
pub(super) unsafe fn panel_gemv_sse2(w: &Panels<'_>, x: &[f32], out: &mut [f32]) {
    // SAFETY: forwarded.
    unsafe { generic::panel_gemv::<Sse2, 1, 4>(w, x, out) }
}

/// # Safety
///
/// The `avx512` level's features are available; the requirements of
/// [`generic::panel_project`].
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")]
pub(super) unsafe fn panel_project_avx512(
    w: &Panels<'_>,
    xs: &[f32],
    b: usize,
    start: Start<'_>,
    out: &mut [f32],
) {
    // SAFETY: forwarded; the target features are enabled here.
    unsafe {
        // Without a bias (the recurrent product): two sums per row, in smaller tiles
        // (8 inputs on one panel: 16 sums, one pass over the weights).
        if !matches!(start, Start::Bias(_)) {
            generic::panel_project::<Avx512, true, 1, 1, 2, 4, 8>(w, xs, b, start, out)
        } else {
            generic::panel_project::<Avx512, false, 1, 2, 2, 4, 8>(w, xs, b, start, out)
        }
    }
}

/// # Safety
///
/// AVX2 and FMA are available; the requirements of [`generic::panel_project`].
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn panel_project_avx2(
    w: &Panels<'_>,
    xs: &[f32],
    b: usize,
    start: Start<'_>,
    out: &mut [f32],
) {
    // SAFETY: forwarded; the target features are enabled here.
    unsafe {
        // Without a bias (the recurrent product): two sums per row, in smaller tiles.
        if !matches!(start, Start::Bias(_)) {
            generic::panel_project::<Avx2, true, 2, 0, 0, 1, 2>(w, xs, b, start, out)
        } else {
            generic::panel_project::<Avx2, false, 2, 0, 1, 2, 4>(w, xs, b, start, out)
        }
    }
}

/// # Safety
///
/// The requirements of [`generic::panel_project`].
#[target_feature(enable = "sse2")]
pub(super) unsafe fn panel_project_sse2(
    w: &Panels<'_>,
    xs: &[f32],
    b: usize,
    start: Start<'_>,
    out: &mut [f32],
) {
    // SAFETY: forwarded.
    unsafe {
        // Without a bias (the recurrent product): two sums per row, in smaller tiles.
        if !matches!(start, Start::Bias(_)) {
            generic::panel_project::<Sse2, true, 4, 0, 0, 0, 1>(w, xs, b, start, out)
        } else {
            generic::panel_project::<Sse2, false, 4, 0, 0, 1, 2>(w, xs, b, start, out)
        }
    }
}

/// # Safety
///
/// The `avx512` level's features are available; the requirements of
/// [`generic::panel_gemm_lanes`].
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")]
pub(super) unsafe fn panel_gemm_lanes_avx512(w: &Panels<'_>, xt: &[f32], out: &mut [f32]) {
    // SAFETY: forwarded; the target features are enabled here.
    unsafe { generic::panel_gemm_lanes::<Avx512, 1, 8>(w, xt, out) }
}

/// # Safety
///
/// AVX2 and FMA are available; the requirements of [`generic::panel_gemm_lanes`].
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn panel_gemm_lanes_avx2(w: &Panels<'_>, xt: &[f32], out: &mut [f32]) {
    // SAFETY: forwarded; the target features are enabled here.
    unsafe { generic::panel_gemm_lanes::<Avx2, 2, 4>(w, xt, out) }
}

/// # Safety
///
/// The requirements of [`generic::panel_gemm_lanes`].
#[target_feature(enable = "sse2")]
pub(super) unsafe fn panel_gemm_lanes_sse2(w: &Panels<'_>, xt: &[f32], out: &mut [f32]) {
    // SAFETY: forwarded.
    unsafe { generic::panel_gemm_lanes::<Sse2, 4, 2>(w, xt, out) }
}

/// # Safety
///
/// AVX2 and FMA are available.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn fma_probe_avx2(rounds: usize, seed: f32) -> (f32, u64) {
    // SAFETY: the target features are enabled here.
    unsafe { generic::fma_probe::<Avx2>(rounds, seed) }
}

/// # Safety
///
/// The `avx512` level's features are available.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")]
pub(super) unsafe fn fma_probe_avx512(rounds: usize, seed: f32) -> (f32, u64) {
    // SAFETY: the target features are enabled here.
    unsafe { generic::fma_probe::<Avx512>(rounds, seed) }
}

/// # Safety
///
/// SSE2 is available (part of every x86-64 target).
#[target_feature(enable = "sse2")]
pub(super) unsafe fn fma_probe_sse2(rounds: usize, seed: f32) -> (f32, u64) {
    // SAFETY: as above.
    unsafe { generic::fma_probe::<Sse2>(rounds, seed) }
}

/// Longest rows whose integer dot products may be summed in i32 lanes: every
/// partial sum is at most `128 * 16383 * 1024 < 2^31` in magnitude.
const I32_SUM_COLS: usize = 1024;

/// Integer dot products of int8 rows with i16 inputs, 16 columns per step.
///
/// Overflow: `_mm256_madd_epi16` adds two exact i16 x i16 products into an i32 lane,
/// so after `cols / 16` steps each of the 8 lanes holds `cols / 8` products; with
/// `cols <= MAX_EXACT_COLS` (8192) and `|q| <= 128`, `|x| <= 16383` that stays
/// below 2^31. The lanes and the scalar tail are summed in i64. The sum is therefore
/// exact, equal to the scalar `dot_i8_i16`.
///
/// # Safety
///
/// AVX2 is enabled; rows `w + r * stride` (`cols` bytes each) and `x` (`cols` i16)
/// lie in memory.
#[inline(always)]
unsafe fn dot_i8_i16_avx2<const R: usize>(
    w: *const u8,
    stride: usize,
    cols: usize,
    x: *const i16,
) -> [i64; R] {
    // SAFETY: loads stay within `i + 16 <= cols` (vectors) and `j < cols` (tail).
    unsafe {
        let mut acc = [_mm256_setzero_si256(); R];
        let mut i = 0;
        while i + 16 <= cols {
            let xv = _mm256_loadu_si256(x.add(i).cast());
            for (r, a) in acc.iter_mut().enumerate() {
                let q = _mm256_cvtepi8_epi16(_mm_loadu_si128(w.add(r * stride + i).cast()));
                *a = _mm256_add_epi32(*a, _mm256_madd_epi16(q, xv));
            }
            i += 16;
        }
        let mut out = [0i64; R];
        for (o, a) in out.iter_mut().zip(&acc) {
            let mut lanes = [0i32; 8];
            _mm256_storeu_si256(lanes.as_mut_ptr().cast(), *a);
            *o = lanes.iter().map(|&v| v as i64).sum();
        }
        for (r, o) in out.iter_mut().enumerate() {
            for j in i..cols {
                *o += (w.add(r * stride + j).read() as i8 as i64) * (x.add(j).read() as i64);
            }
        }
        out
    }
}

/// The eight rows' integer dot products as i32 lanes, for `cols <= I32_SUM_COLS`:
/// every partial sum of a row is then at most `128 * 16383 * cols < 2^31` in
/// magnitude, so the lanes, the transposing reduction and the tail all stay exact
/// in i32, and equal the scalar `dot_i8_i16`.
///
/// # Safety
///
/// As [`dot_i8_i16_avx2`] with `R = 8`.
#[inline(always)]
unsafe fn dot8_i32_avx2(w: *const u8, stride: usize, cols: usize, x: *const i16) -> __m256i {
    // SAFETY: loads stay within `i + 16 <= cols` (vectors) and `j < cols` (tail).
    unsafe {
        let mut acc = [_mm256_setzero_si256(); 8];
        let mut i = 0;
        while i + 16 <= cols {
            let xv = _mm256_loadu_si256(x.add(i).cast());
            for (r, a) in acc.iter_mut().enumerate() {
                let q = _mm256_cvtepi8_epi16(_mm_loadu_si128(w.add(r * stride + i).cast()));
                *a = _mm256_add_epi32(*a, _mm256_madd_epi16(q, xv));
            }
            i += 16;
        }
        let mut sums = super::x86_64_int8::sum8(acc);
        if i < cols {
            let mut tail = [0i32; 8];
            for (r, t) in tail.iter_mut().enumerate() {
                for j in i..cols {
                    *t += (w.add(r * stride + j).read() as i8 as i32) * (x.add(j).read() as i32);
                }
            }
            sums = _mm256_add_epi32(sums, _mm256_loadu_si256(tail.as_ptr().cast()));
        }
        sums
    }
}

/// `out[r] += (scale_r * x_scale) * (q_r . xq)` with AVX2: eight rows at a time, the
/// integer sums converted and scaled in one vector (multiply, then add: the scalar
/// path's two roundings, so the same result).
///
/// # Safety
///
/// AVX2 is available; `w.int8`, `w.in_bounds()`, `w.cols <= MAX_EXACT_COLS`,
/// `xq.len() >= w.cols`, `out.len() >= w.rows`.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn gemv_i8_i16_avx2(w: &Rows<'_>, xq: &[i16], x_scale: f32, out: &mut [f32]) {
    let (base, x) = (w.data.as_ptr(), xq.as_ptr());
    let mut r = 0;
    // SAFETY: rows r..r+8 (or r) are within `w.rows`, all in `data`, with their
    // scales in `scales` and their outputs in `out`; `xq` holds `cols` values.
    unsafe {
        if w.cols <= I32_SUM_COLS {
            let xs = _mm256_set1_ps(x_scale);
            while r + 8 <= w.rows {
                let d =
                    _mm256_cvtepi32_ps(dot8_i32_avx2(base.add(r * w.stride), w.stride, w.cols, x));
                let scale = _mm256_mul_ps(_mm256_loadu_ps(w.scales.as_ptr().add(4 * r).cast()), xs);
                let o = out.as_mut_ptr().add(r);
                _mm256_storeu_ps(
                    o,
                    _mm256_add_ps(_mm256_loadu_ps(o), _mm256_mul_ps(scale, d)),
                );
                r += 8;
            }
        } else {
            while r + 8 <= w.rows {
                let d = dot_i8_i16_avx2::<8>(base.add(r * w.stride), w.stride, w.cols, x);
                for (k, &d) in d.iter().enumerate() {
                    finish_i8_i16(w, r + k, x_scale, d, out);
                }
                r += 8;
            }
        }
        while r < w.rows {
            let d = dot_i8_i16_avx2::<1>(base.add(r * w.stride), w.stride, w.cols, x);
            finish_i8_i16(w, r, x_scale, d[0], out);
            r += 1;
        }
    }
}

/// [`crate::kernels::lstm_cell`] of cells of `hidden` units side by side, 8 lanes at a
/// time ([`cell::lstm_cell`]): identical results (FMA for two of `exp`'s operations,
/// which round as the scalar code does).
///
/// # Safety
///
/// AVX2 and FMA are available.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn lstm_cell_avx2(gates: &[f32], c: &mut [f32], h: &mut [f32], hidden: usize) {
    // SAFETY: forwarded; AVX2 and FMA are enabled here.
    unsafe { cell::lstm_cell::<Avx2, true>(gates, c, h, hidden) }
}

/// [`crate::kernels::lstm_cell`] of cells of `hidden` units side by side, 16 lanes at a
/// time ([`cell::lstm_cell`]; 8 where [`cell_lanes_16`] says): identical results.
///
/// # Safety
///
/// The `avx512` level's features are available.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")]
#[inline(never)]
pub(super) unsafe fn lstm_cell_avx512(gates: &[f32], c: &mut [f32], h: &mut [f32], hidden: usize) {
    // SAFETY: forwarded; the features (AVX2 among them) are enabled here.
    unsafe {
        if cell_lanes_16(hidden, false) {
            cell::lstm_cell::<Avx512, true>(gates, c, h, hidden)
        } else {
            lstm_cell_avx2(gates, c, h, hidden)
        }
    }
}

/// Whether the `avx512` level's cell update of `units` units runs 16 lanes wide (else
/// the `avx2` code's 8), `packed_f32` after the panel product of a packed f32 step.
/// Fewer than [`WIDE_COLS`] units, less than two vectors per gate, one of them padded:
/// AVX2's narrower ones give the activations' long chains more independent work. 16
/// units are one whole vector per gate, the shortest chain, which a Zen 5 (full-width
/// 512-bit units) runs faster on 16 lanes: packed steps with the gates activated in
/// passes before the update, 24 -> 24 175 ns on AVX2 against 215 on 16 lanes, 16 -> 16
/// 106 against 89. An Intel Ice Lake runs 16 units faster on AVX2 (16 -> 16, medians
/// of 12 alternated runs of the bench, 8 lanes against 16): f32 `Cell::step` 267 ns
/// against 356, int8 298 against 406, int8 packed 198 against 241; but f32 packed steps
/// faster on 16 lanes (a harness's best of 20 passes, 8 alternated rounds: 152 ns on 16
/// lanes against 167 on 8; f32 `Cell::step` 285 on 16 against 236 on 8). A Zen 4 (its
/// 512-bit operations in two halves) also runs 16 units faster on 16 lanes, by less (the
/// bench, 16 -> 16, 4 alternated rounds, the first, slower for both, left out; 16 lanes
/// against 8): f32 `Cell::step` 176-178 ns against 178-185, f32 packed 107-110 against
/// 111-117, int8 211-213 against 218-223, int8 packed 131-135 against 134-137.
fn cell_lanes_16(units: usize, packed_f32: bool) -> bool {
    units >= WIDE_COLS || (units.is_multiple_of(16) && (packed_f32 || amd()))
}

/// A packed f32 step at the `avx512` level in one call: the panel product of `[x, h]`
/// ([`generic::gemv_panels`], 4 panels side by side; one at a time past 48 KiB on AMD
/// processors: [`one_panel_at_a_time`]) into `gates`, then the cell update of its first
/// `4 * c.len()` ([`cell::lstm_cell`], 16 lanes as [`cell_lanes_16`] says), compiled
/// as one function: a 16 -> 16 step on an Intel Ice Lake 140-144 ns against 149 with a
/// dispatched call for each (best of 20 passes, 10 alternated rounds, twice).
///
/// 16 units are 4 panels, `i`, `f`, `g` and `o` of the same units: unless they run one
/// panel at a time, the update takes the products from the registers
/// ([`cell::cell_vectors`]), and `gates` receives them as well, off the chain from `h`
/// to the next `h`. With `x` and `h` read in place (no copy of `[x, h]`), a 16 -> 16
/// step on an AMD Zen 4 89-95 ns against 107-117 (the bench, 5 alternated rounds, one
/// outlier of 121 left out; 86-89 with [`cell`]'s `exp` in fused multiply-adds); 128 ->
/// 128 and 164 -> 128 as before.
///
/// # Safety
///
/// The `avx512` level's features are available; the requirements of
/// [`generic::gemv_panels`] for `out = gates`; `gates` holds at least `4 * c.len()`
/// values, `h` as many as `c`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")]
pub(super) unsafe fn packed_step_avx512(
    panels: &[f32],
    x: &[f32],
    gates: &mut [f32],
    c: &mut [f32],
    h: &mut [f32],
) {
    // SAFETY: forwarded; the target features (AVX2 among them) are enabled here. With
    // 16 units: the 4 panels of `16 * (1 + cols)` floats lie in `panels` (caller), the
    // 64 products in `gates`; `c` and `h` hold 16 values each (`h` as many as `c`), and
    // `h` is read whole before the update writes it.
    unsafe {
        let cols = x.len() + h.len();
        if one_panel_at_a_time(cols + 1, gates.len()) {
            generic::gemv_panels::<Avx512, 1, 1>(panels, x, h, gates)
        } else if c.len() == 16 && gates.len() == 64 {
            // The four panels are `i`, `f`, `g` and `o` of the 16 units: the update takes
            // them from the registers (and they are stored as well).
            let products =
                generic::panel_rows::<Avx512, 4, 1>(panels.as_ptr(), 16 * (1 + cols), x, h);
            generic::store_rows(&products, gates.as_mut_ptr());
            let [[i], [f], [g], [o]] = products;
            cell::cell_vectors::<Avx512>([i, f, g, o], c.as_mut_ptr(), h.as_mut_ptr());
            return;
        } else {
            generic::gemv_panels::<Avx512, 4, 1>(panels, x, h, gates)
        }
        // Cells of more than two vectors in two passes, in [`lstm_cell_avx512`]'s own
        // code; smaller ones in one pass here (see `packed_step_avx2`).
        if c.len() > 2 * 16 {
            lstm_cell_avx512(gates, c, h, c.len())
        } else if cell_lanes_16(c.len(), true) {
            cell::lstm_cell::<Avx512, false>(gates, c, h, c.len())
        } else {
            cell::lstm_cell::<Avx2, false>(gates, c, h, c.len())
        }
    }
}

/// [`packed_step_avx512`] at the `avx2` level: 2 panels side by side (one past 48 KiB
/// on AMD processors), the cell update 8 lanes wide.
///
/// # Safety
///
/// AVX2 and FMA are available; as [`packed_step_avx512`] otherwise.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn packed_step_avx2(
    panels: &[f32],
    x: &[f32],
    gates: &mut [f32],
    c: &mut [f32],
    h: &mut [f32],
) {
    // SAFETY: forwarded; the target features are enabled here.
    unsafe {
        if one_panel_at_a_time(x.len() + h.len() + 1, gates.len()) {
            generic::gemv_panels::<Avx2, 1, 2>(panels, x, h, gates)
        } else {
            generic::gemv_panels::<Avx2, 2, 2>(panels, x, h, gates)
        }
        // One pass per vector at every size: with a branch to [`lstm_cell_avx2`]'s
        // passes for cells of more than two vectors, 16 -> 16 steps took 117-121 ns
        // against 108-110 on an AMD Zen 4 (the bench, 2 alternated runs), the code's
        // placement alone.
        cell::lstm_cell::<Avx2, false>(gates, c, h, c.len())
    }
}

/// [`packed_step_avx512`] at the `sse2` level: one panel at a time, the cell update 4
/// lanes wide.
///
/// # Safety
///
/// As [`packed_step_avx512`], SSE2 for the level's features (always there on x86-64).
#[target_feature(enable = "sse2")]
pub(super) unsafe fn packed_step_sse2(
    panels: &[f32],
    x: &[f32],
    gates: &mut [f32],
    c: &mut [f32],
    h: &mut [f32],
) {
    // SAFETY: forwarded.
    unsafe {
        generic::gemv_panels::<Sse2, 1, 4>(panels, x, h, gates);
        cell::lstm_cell::<Sse2, false>(gates, c, h, c.len());
    }
}

/// [`cell::exp_each`] at the `avx512`, `avx2` and `sse2` levels (for the tests).
///
/// # Safety
///
/// The level's features are available.
#[cfg(test)]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")]
pub(super) unsafe fn exp_avx512(x: &mut [f32]) {
    // SAFETY: forwarded; the features are enabled here.
    unsafe { cell::exp_each::<Avx512>(x) }
}

/// As [`exp_avx512`].
///
/// # Safety
///
/// AVX2 and FMA are available.
#[cfg(test)]
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn exp_avx2(x: &mut [f32]) {
    // SAFETY: forwarded; the features are enabled here.
    unsafe { cell::exp_each::<Avx2>(x) }
}

/// As [`exp_avx512`].
///
/// # Safety
///
/// SSE2 is available (always, on x86-64).
#[cfg(test)]
#[target_feature(enable = "sse2")]
pub(super) unsafe fn exp_sse2(x: &mut [f32]) {
    // SAFETY: forwarded; the features are enabled here.
    unsafe { cell::exp_each::<Sse2>(x) }
}

/// [`crate::kernels::lstm_cell`] of cells of `hidden` units side by side, 4 lanes at a
/// time ([`cell::lstm_cell`]): identical results.
///
/// # Safety
///
/// SSE2 is available (always, on x86-64).
#[target_feature(enable = "sse2")]
pub(super) unsafe fn lstm_cell_sse2(gates: &[f32], c: &mut [f32], h: &mut [f32], hidden: usize) {
    // SAFETY: forwarded; SSE2 is enabled here.
    unsafe { cell::lstm_cell::<Sse2, false>(gates, c, h, hidden) }
}
