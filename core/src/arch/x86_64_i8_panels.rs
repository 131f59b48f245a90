//! The int8 panel layout's products ([`super::i8_panels`]) at the x86-64 levels:
//! `vpdpwssd` at `avx512`, `vpmaddwd` then `vpaddd` at `avx2` and `sse2` (which
//! sign-extends bytes by unpacking them and shifting).

use core::arch::x86_64::*;

use super::i8_panels::{project, PanelI8};
use super::x86_64_int8::dpwssd512;
use super::I8Panels;
use crate::kernels::PANEL_ROWS as P;

/// The `avx512` level: one 512-bit vector per panel, `vpdpwssd`.
pub(super) struct Avx512;

impl PanelI8 for Avx512 {
    type Acc = __m512i;
    type W = __m512i;
    type X = __m512i;
    const GEMV_PANELS: usize = 4;
    const TOKENS: usize = 8;
    #[inline(always)]
    unsafe fn zero() -> __m512i {
        // SAFETY: AVX-512F is enabled in every caller.
        unsafe { _mm512_setzero_si512() }
    }
    #[inline(always)]
    unsafe fn load(w: *const u8) -> __m512i {
        // SAFETY: 32 readable bytes (caller); AVX-512BW is enabled.
        unsafe { _mm512_cvtepi8_epi16(_mm256_loadu_si256(w.cast())) }
    }
    #[inline(always)]
    unsafe fn splat(x: i32) -> __m512i {
        // SAFETY: AVX-512F is enabled in every caller.
        unsafe { _mm512_set1_epi32(x) }
    }
    #[inline(always)]
    unsafe fn madd(acc: __m512i, w: __m512i, x: __m512i) -> __m512i {
        // SAFETY: AVX-512F and VNNI are enabled in every caller.
        unsafe { dpwssd512(acc, w, x) }
    }
    #[inline(always)]
    unsafe fn add(a: __m512i, b: __m512i) -> __m512i {
        // SAFETY: AVX-512F is enabled in every caller.
        unsafe { _mm512_add_epi32(a, b) }
    }
    #[inline(always)]
    unsafe fn finish(
        acc: __m512i,
        scales: *const u8,
        x_scale: f32,
        start: *const f32,
        out: *mut f32,
    ) {
        // SAFETY: the reads and writes are the caller's; AVX-512F is enabled.
        unsafe {
            let s = _mm512_mul_ps(_mm512_loadu_ps(scales.cast()), _mm512_set1_ps(x_scale));
            let p = _mm512_mul_ps(s, _mm512_cvtepi32_ps(acc));
            _mm512_storeu_ps(out, _mm512_add_ps(_mm512_loadu_ps(start), p));
        }
    }
    #[inline(always)]
    unsafe fn sums(acc: __m512i) -> [i32; P] {
        let mut d = [0i32; P];
        // SAFETY: 16 writable i32; AVX-512F is enabled.
        unsafe { _mm512_storeu_si512(d.as_mut_ptr().cast(), acc) };
        d
    }
}

/// The `avx2` level: two 256-bit vectors per panel (rows 0-7, 8-15), `vpmaddwd` then
/// `vpaddd`.
pub(super) struct Avx2;

impl PanelI8 for Avx2 {
    type Acc = [__m256i; 2];
    type W = [__m256i; 2];
    type X = __m256i;
    const GEMV_PANELS: usize = 2;
    const TOKENS: usize = 4;
    #[inline(always)]
    unsafe fn zero() -> [__m256i; 2] {
        // SAFETY: AVX is enabled in every caller.
        unsafe { [_mm256_setzero_si256(); 2] }
    }
    #[inline(always)]
    unsafe fn load(w: *const u8) -> [__m256i; 2] {
        // SAFETY: 32 readable bytes (caller); AVX2 is enabled.
        unsafe {
            [
                _mm256_cvtepi8_epi16(_mm_loadu_si128(w.cast())),
                _mm256_cvtepi8_epi16(_mm_loadu_si128(w.add(16).cast())),
            ]
        }
    }
    #[inline(always)]
    unsafe fn splat(x: i32) -> __m256i {
        // SAFETY: AVX is enabled in every caller.
        unsafe { _mm256_set1_epi32(x) }
    }
    #[inline(always)]
    unsafe fn madd(acc: [__m256i; 2], w: [__m256i; 2], x: __m256i) -> [__m256i; 2] {
        // SAFETY: AVX2 is enabled in every caller.
        unsafe {
            [
                _mm256_add_epi32(acc[0], _mm256_madd_epi16(w[0], x)),
                _mm256_add_epi32(acc[1], _mm256_madd_epi16(w[1], x)),
            ]
        }
    }
    #[inline(always)]
    unsafe fn add(a: [__m256i; 2], b: [__m256i; 2]) -> [__m256i; 2] {
        // SAFETY: AVX2 is enabled in every caller.
        unsafe { [_mm256_add_epi32(a[0], b[0]), _mm256_add_epi32(a[1], b[1])] }
    }
    #[inline(always)]
    unsafe fn finish(
        acc: [__m256i; 2],
        scales: *const u8,
        x_scale: f32,
        start: *const f32,
        out: *mut f32,
    ) {
        // SAFETY: the reads and writes are the caller's; AVX is enabled.
        unsafe {
            let xs = _mm256_set1_ps(x_scale);
            for (h, &a) in acc.iter().enumerate() {
                let s = _mm256_mul_ps(_mm256_loadu_ps(scales.add(32 * h).cast()), xs);
                let p = _mm256_mul_ps(s, _mm256_cvtepi32_ps(a));
                let o = _mm256_add_ps(_mm256_loadu_ps(start.add(8 * h)), p);
                _mm256_storeu_ps(out.add(8 * h), o);
            }
        }
    }
    #[inline(always)]
    unsafe fn sums(acc: [__m256i; 2]) -> [i32; P] {
        let mut d = [0i32; P];
        // SAFETY: 16 writable i32; AVX is enabled.
        unsafe {
            _mm256_storeu_si256(d.as_mut_ptr().cast(), acc[0]);
            _mm256_storeu_si256(d.as_mut_ptr().add(8).cast(), acc[1]);
        }
        d
    }
}

/// The `sse2` level: four 128-bit vectors per panel (rows 0-3, 4-7, 8-11, 12-15), the
/// bytes sign-extended by unpacking each with itself and shifting right, `pmaddwd`
/// then `paddd`.
pub(super) struct Sse2;

impl PanelI8 for Sse2 {
    type Acc = [__m128i; 4];
    type W = [__m128i; 4];
    type X = __m128i;
    const GEMV_PANELS: usize = 1;
    const TOKENS: usize = 2;
    #[inline(always)]
    unsafe fn zero() -> [__m128i; 4] {
        // SAFETY: SSE2 is part of the target.
        unsafe { [_mm_setzero_si128(); 4] }
    }
    #[inline(always)]
    unsafe fn load(w: *const u8) -> [__m128i; 4] {
        // SAFETY: 32 readable bytes (caller); SSE2 is part of the target.
        unsafe {
            let (a, b) = (_mm_loadu_si128(w.cast()), _mm_loadu_si128(w.add(16).cast()));
            [
                _mm_srai_epi16::<8>(_mm_unpacklo_epi8(a, a)),
                _mm_srai_epi16::<8>(_mm_unpackhi_epi8(a, a)),
                _mm_srai_epi16::<8>(_mm_unpacklo_epi8(b, b)),
                _mm_srai_epi16::<8>(_mm_unpackhi_epi8(b, b)),
            ]
        }
    }
    #[inline(always)]
    unsafe fn splat(x: i32) -> __m128i {
        // SAFETY: SSE2 is part of the target.
        unsafe { _mm_set1_epi32(x) }
    }
    #[inline(always)]
    unsafe fn madd(acc: [__m128i; 4], w: [__m128i; 4], x: __m128i) -> [__m128i; 4] {
        // SAFETY: SSE2 is part of the target.
        unsafe { core::array::from_fn(|k| _mm_add_epi32(acc[k], _mm_madd_epi16(w[k], x))) }
    }
    #[inline(always)]
    unsafe fn add(a: [__m128i; 4], b: [__m128i; 4]) -> [__m128i; 4] {
        // SAFETY: SSE2 is part of the target.
        unsafe { core::array::from_fn(|k| _mm_add_epi32(a[k], b[k])) }
    }
    #[inline(always)]
    unsafe fn finish(
        acc: [__m128i; 4],
        scales: *const u8,
        x_scale: f32,
        start: *const f32,
        out: *mut f32,
    ) {
        // SAFETY: the reads and writes are the caller's; SSE2 is part of the target.
        unsafe {
            let xs = _mm_set1_ps(x_scale);
            for (k, &a) in acc.iter().enumerate() {
                let s = _mm_mul_ps(_mm_loadu_ps(scales.add(16 * k).cast()), xs);
                let p = _mm_mul_ps(s, _mm_cvtepi32_ps(a));
                _mm_storeu_ps(
                    out.add(4 * k),
                    _mm_add_ps(_mm_loadu_ps(start.add(4 * k)), p),
                );
            }
        }
    }
    #[inline(always)]
    unsafe fn sums(acc: [__m128i; 4]) -> [i32; P] {
        let mut d = [0i32; P];
        // SAFETY: 16 writable i32; SSE2 is part of the target.
        unsafe {
            for (k, &a) in acc.iter().enumerate() {
                _mm_storeu_si128(d.as_mut_ptr().add(4 * k).cast(), a);
            }
        }
        d
    }
}

/// [`super::project_i8_panels`] with AVX-512 (F, BW, VL, VNNI).
///
/// # Safety
///
/// The `avx512` level's features are available; the requirements of
/// [`super::project_i8_panels`] (checked there).
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")]
pub(super) unsafe fn project_i8_panels_avx512(
    w: &I8Panels<'_>,
    xq: &[i16],
    x_scales: &[f32],
    bias: Option<&[u8]>,
    out: &mut [f32],
) {
    // SAFETY: forwarded; the features are enabled here.
    unsafe { project::<Avx512>(w, xq, x_scales, bias, out) }
}

/// [`super::project_i8_panels`] with AVX2.
///
/// # Safety
///
/// AVX2 is available; the requirements of [`super::project_i8_panels`] (checked there).
#[target_feature(enable = "avx2")]
pub(super) unsafe fn project_i8_panels_avx2(
    w: &I8Panels<'_>,
    xq: &[i16],
    x_scales: &[f32],
    bias: Option<&[u8]>,
    out: &mut [f32],
) {
    // SAFETY: forwarded; AVX2 is enabled here.
    unsafe { project::<Avx2>(w, xq, x_scales, bias, out) }
}

/// [`super::project_i8_panels`] with SSE2.
///
/// # Safety
///
/// The requirements of [`super::project_i8_panels`] (checked there).
#[target_feature(enable = "sse2")]
pub(super) unsafe fn project_i8_panels_sse2(
    w: &I8Panels<'_>,
    xq: &[i16],
    x_scales: &[f32],
    bias: Option<&[u8]>,
    out: &mut [f32],
) {
    // SAFETY: forwarded; SSE2 is part of the target.
    unsafe { project::<Sse2>(w, xq, x_scales, bias, out) }
}
