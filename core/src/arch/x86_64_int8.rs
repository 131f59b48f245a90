//! x86-64 integer tiles for the int8 x i16 block projection: `pmaddwd` (SSE2),
//! `vpmaddwd` (AVX2) and `vpdpwssd` (AVX-512 VNNI) multiply 16-bit pairs exactly and
//! add each pair into an i32 lane. Weight bytes are sign-extended to i16 once per load
//! and serve every input of the tile.

use core::arch::x86_64::*;

use super::int8::{self, IntTile, GEMV_ROWS, ROWS, TOKENS};
use super::Rows;
use crate::kernels::ROUND_SHIFTER;

/// `acc + (pairwise products of a and b)`: `vpdpwssd` on 512 bits, written as the
/// instruction itself. From the intrinsic, LLVM's generic x86-64 tuning splits the
/// instruction into `vpmaddwd` + `vpaddd` where it judges the accumulator chain
/// critical, two µops for one: on an Intel Xeon (Ice Lake), which issues `vpdpwssd`
/// zmm as often per cycle as an f32 FMA, the 512 x 164 int8 GEMV ran at 43.5 GMAC/s
/// split and at 49.5 as one instruction.
///
/// # Safety
///
/// AVX-512F and VNNI are available.
#[target_feature(enable = "avx512f,avx512vnni")]
#[inline]
pub(super) unsafe fn dpwssd512(acc: __m512i, a: __m512i, b: __m512i) -> __m512i {
    let mut acc = acc;
    // SAFETY: registers only; the features are enabled here.
    unsafe {
        core::arch::asm!(
            "vpdpwssd {acc}, {a}, {b}",
            acc = inout(zmm_reg) acc,
            a = in(zmm_reg) a,
            b = in(zmm_reg) b,
            options(pure, nomem, nostack, preserves_flags),
        );
    }
    acc
}

/// [`dpwssd512`] on 256 bits (AVX-512 VL).
///
/// # Safety
///
/// AVX-512F, VL and VNNI are available.
#[target_feature(enable = "avx512f,avx512vl,avx512vnni")]
#[inline]
unsafe fn dpwssd256(acc: __m256i, a: __m256i, b: __m256i) -> __m256i {
    let mut acc = acc;
    // SAFETY: registers only; the features are enabled here.
    unsafe {
        core::arch::asm!(
            "vpdpwssd {acc}, {a}, {b}",
            acc = inout(ymm_reg) acc,
            a = in(ymm_reg) a,
            b = in(ymm_reg) b,
            options(pure, nomem, nostack, preserves_flags),
        );
    }
    acc
}

/// `[sum(a), sum(b), sum(c), sum(d)]` of i32 lanes by a 4 x 4 transpose.
#[inline(always)]
unsafe fn sum4x4_epi32(a: __m128i, b: __m128i, c: __m128i, d: __m128i) -> __m128i {
    // SAFETY: SSE2 is part of the target.
    unsafe {
        // [a0+a2, b0+b2, a1+a3, b1+b3] and the same for c, d.
        let ab = _mm_add_epi32(_mm_unpacklo_epi32(a, b), _mm_unpackhi_epi32(a, b));
        let cd = _mm_add_epi32(_mm_unpacklo_epi32(c, d), _mm_unpackhi_epi32(c, d));
        _mm_add_epi32(_mm_unpacklo_epi64(ab, cd), _mm_unpackhi_epi64(ab, cd))
    }
}

/// 16 columns per step: the 16 weight bytes widen to two i16 vectors, each input's
/// 16 values are two more, and `pmaddwd` adds four products into each i32 lane of
/// the one accumulator per (row, input).
pub(super) struct Sse2;

impl IntTile for Sse2 {
    type Acc = __m128i;
    const STEP: usize = 16;
    #[inline(always)]
    unsafe fn zero() -> __m128i {
        // SAFETY: SSE2 is part of the target.
        unsafe { _mm_setzero_si128() }
    }
    #[inline(always)]
    unsafe fn step<const R: usize, const T: usize>(
        acc: &mut [[__m128i; T]; R],
        w: [*const u8; R],
        x: [*const i16; T],
    ) {
        // SAFETY: every pointer is valid for 16 elements (trait contract); the loads
        // are unaligned.
        unsafe {
            let q: [(__m128i, __m128i); R] = core::array::from_fn(|r| {
                let q = _mm_loadu_si128(w[r].cast());
                // Pairing each byte with itself and shifting right by 8 sign-extends it.
                (
                    _mm_srai_epi16::<8>(_mm_unpacklo_epi8(q, q)),
                    _mm_srai_epi16::<8>(_mm_unpackhi_epi8(q, q)),
                )
            });
            for (t, &xt) in x.iter().enumerate() {
                let x0 = _mm_loadu_si128(xt.cast());
                let x1 = _mm_loadu_si128(xt.add(8).cast());
                for (acc_r, &(q0, q1)) in acc.iter_mut().zip(&q) {
                    let p = _mm_add_epi32(_mm_madd_epi16(q0, x0), _mm_madd_epi16(q1, x1));
                    acc_r[t] = _mm_add_epi32(acc_r[t], p);
                }
            }
        }
    }
    #[inline(always)]
    unsafe fn step4<const R: usize, const T: usize>(
        acc: &mut [[__m128i; T]; R],
        w: [*const u8; R],
        x: [*const i16; T],
    ) {
        // SAFETY: every pointer is valid for 4 elements (trait contract): 4 bytes of
        // weights, 4 i16 (8 bytes) of input, read unaligned; the other lanes are zero.
        unsafe {
            let q: [__m128i; R] = core::array::from_fn(|r| {
                let q = _mm_cvtsi32_si128(w[r].cast::<i32>().read_unaligned());
                _mm_srai_epi16::<8>(_mm_unpacklo_epi8(q, q))
            });
            for (t, &xt) in x.iter().enumerate() {
                let xv = _mm_loadl_epi64(xt.cast());
                for (acc_r, &q) in acc.iter_mut().zip(&q) {
                    acc_r[t] = _mm_add_epi32(acc_r[t], _mm_madd_epi16(q, xv));
                }
            }
        }
    }
    #[inline(always)]
    unsafe fn sums<const R: usize, const T: usize>(acc: &[[__m128i; T]; R]) -> [[i32; T]; R] {
        let mut out = [[0i32; T]; R];
        // SAFETY: SSE2 is part of the target; the stores write 4 i32 into `lanes`.
        unsafe {
            if R * T == 8 {
                let a: [__m128i; 8] = core::array::from_fn(|k| acc[k / T][k % T]);
                let mut lanes = [0i32; 8];
                let (lo, hi) = (
                    sum4x4_epi32(a[0], a[1], a[2], a[3]),
                    sum4x4_epi32(a[4], a[5], a[6], a[7]),
                );
                _mm_storeu_si128(lanes.as_mut_ptr().cast(), lo);
                _mm_storeu_si128(lanes.as_mut_ptr().add(4).cast(), hi);
                for (k, &s) in lanes.iter().enumerate() {
                    out[k / T][k % T] = s;
                }
            } else {
                for (o, a) in out.iter_mut().zip(acc) {
                    for (o, &a) in o.iter_mut().zip(a) {
                        let mut lanes = [0i32; 4];
                        _mm_storeu_si128(lanes.as_mut_ptr().cast(), a);
                        *o = lanes.iter().sum();
                    }
                }
            }
        }
        out
    }
}

/// The lane sums of eight accumulators, in their order: pairwise horizontal adds,
/// then the two 128-bit halves lane by lane.
///
/// # Safety
///
/// AVX2 is enabled in every caller.
#[inline(always)]
pub(super) unsafe fn sum8(a: [__m256i; 8]) -> __m256i {
    // SAFETY: AVX2 is enabled in every caller.
    unsafe {
        let t0 = _mm256_hadd_epi32(a[0], a[1]);
        let t1 = _mm256_hadd_epi32(a[2], a[3]);
        let t2 = _mm256_hadd_epi32(a[4], a[5]);
        let t3 = _mm256_hadd_epi32(a[6], a[7]);
        let u0 = _mm256_hadd_epi32(t0, t1);
        let u1 = _mm256_hadd_epi32(t2, t3);
        _mm256_add_epi32(
            _mm256_permute2x128_si256::<0x20>(u0, u1),
            _mm256_permute2x128_si256::<0x31>(u0, u1),
        )
    }
}

/// 16 columns per step: the 16 weight bytes widen to one 256-bit i16 vector
/// (`vpmovsxbw`), and `vpmaddwd` adds two products into each of the 8 i32 lanes of
/// the one accumulator per (row, input).
pub(super) struct Avx2;

impl IntTile for Avx2 {
    type Acc = __m256i;
    const STEP: usize = 16;
    #[inline(always)]
    unsafe fn zero() -> __m256i {
        // SAFETY: AVX2 is enabled in every caller.
        unsafe { _mm256_setzero_si256() }
    }
    #[inline(always)]
    unsafe fn step<const R: usize, const T: usize>(
        acc: &mut [[__m256i; T]; R],
        w: [*const u8; R],
        x: [*const i16; T],
    ) {
        // SAFETY: AVX2 is enabled in every caller; every pointer is valid for 16
        // elements (trait contract); the loads are unaligned.
        unsafe {
            let xv: [__m256i; T] = core::array::from_fn(|t| _mm256_loadu_si256(x[t].cast()));
            for (acc_r, &wr) in acc.iter_mut().zip(&w) {
                let q = _mm256_cvtepi8_epi16(_mm_loadu_si128(wr.cast()));
                for (a, &xt) in acc_r.iter_mut().zip(&xv) {
                    *a = _mm256_add_epi32(*a, _mm256_madd_epi16(q, xt));
                }
            }
        }
    }
    #[inline(always)]
    unsafe fn step4<const R: usize, const T: usize>(
        acc: &mut [[__m256i; T]; R],
        w: [*const u8; R],
        x: [*const i16; T],
    ) {
        // SAFETY: AVX2 is enabled in every caller; every pointer is valid for 4
        // elements (trait contract), read unaligned; the other lanes are zero.
        unsafe {
            let q: [__m128i; R] = core::array::from_fn(|r| {
                _mm_cvtepi8_epi16(_mm_cvtsi32_si128(w[r].cast::<i32>().read_unaligned()))
            });
            for (t, &xt) in x.iter().enumerate() {
                let xv = _mm_loadl_epi64(xt.cast());
                for (acc_r, &q) in acc.iter_mut().zip(&q) {
                    let p = _mm256_set_m128i(_mm_setzero_si128(), _mm_madd_epi16(q, xv));
                    acc_r[t] = _mm256_add_epi32(acc_r[t], p);
                }
            }
        }
    }
    #[inline(always)]
    unsafe fn sums<const R: usize, const T: usize>(acc: &[[__m256i; T]; R]) -> [[i32; T]; R] {
        // SAFETY: AVX2 is enabled in every caller.
        unsafe { lane_sums(acc) }
    }
    #[inline(always)]
    unsafe fn store_projection(
        acc: &[[__m256i; TOKENS]; ROWS],
        scales: [f32; ROWS],
        bias: [f32; ROWS],
        x_scales: [f32; TOKENS],
        out: *mut f32,
        rows: usize,
    ) {
        // SAFETY: forwarded; AVX2 is enabled in every caller.
        unsafe { store_projection(acc, scales, bias, x_scales, out, rows) }
    }
    #[inline(always)]
    unsafe fn store_column(
        acc: &[[__m256i; 1]; GEMV_ROWS],
        scales: *const u8,
        bias: *const u8,
        x_scale: f32,
        out: *mut f32,
    ) {
        // SAFETY: forwarded; AVX2 is enabled in every caller.
        unsafe { store_column(acc, scales, Some(bias), x_scale, out) }
    }
    #[inline(always)]
    unsafe fn add_column(
        acc: &[[__m256i; 1]; GEMV_ROWS],
        scales: *const u8,
        x_scale: f32,
        out: *mut f32,
    ) {
        // SAFETY: forwarded; AVX2 is enabled in every caller.
        unsafe { store_column(acc, scales, None, x_scale, out) }
    }
    #[inline(always)]
    unsafe fn sums_f32<const R: usize, const T: usize>(acc: &[[__m256i; T]; R]) -> [[f32; T]; R] {
        // SAFETY: AVX2 is enabled in every caller.
        unsafe { lane_sums_f32(acc) }
    }
}

/// An accumulator of i32 lanes (AVX2's 256-bit, AVX-512's 512-bit) whose lane sums
/// AVX2 vectors hold.
///
/// # Safety
///
/// Every method requires AVX2 (and, for `__m512i`, AVX-512F).
trait LaneSums: Copy {
    /// The lane sums of eight accumulators, in their order.
    unsafe fn sum8(a: [Self; 8]) -> __m256i;
    /// The lane sum of one accumulator.
    unsafe fn sum1(a: Self) -> i32;
}

impl LaneSums for __m256i {
    #[inline(always)]
    unsafe fn sum8(a: [Self; 8]) -> __m256i {
        // SAFETY: AVX2 is enabled in every caller.
        unsafe { sum8(a) }
    }
    #[inline(always)]
    unsafe fn sum1(a: Self) -> i32 {
        // SAFETY: AVX2 is enabled in every caller; the store writes 4 i32 into `lanes`.
        unsafe {
            let half = _mm_add_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256::<1>(a));
            let mut lanes = [0i32; 4];
            _mm_storeu_si128(lanes.as_mut_ptr().cast(), half);
            lanes.iter().sum()
        }
    }
}

impl LaneSums for __m512i {
    #[inline(always)]
    unsafe fn sum8(a: [Self; 8]) -> __m256i {
        // SAFETY: AVX-512F is enabled in every caller.
        unsafe { sum8_512(a) }
    }
    #[inline(always)]
    unsafe fn sum1(a: Self) -> i32 {
        // SAFETY: AVX-512F (and so AVX2) is enabled in every caller.
        unsafe { __m256i::sum1(halves(a)) }
    }
}

/// [`IntTile::sums`] of an x86 tile: one transposing reduction for eight accumulators.
///
/// # Safety
///
/// As [`LaneSums`].
#[inline(always)]
unsafe fn lane_sums<A: LaneSums, const R: usize, const T: usize>(
    acc: &[[A; T]; R],
) -> [[i32; T]; R] {
    let mut out = [[0i32; T]; R];
    // SAFETY: forwarded; the store writes 8 i32 into `lanes`.
    unsafe {
        if R * T == 8 {
            let s = A::sum8(core::array::from_fn(|k| acc[k / T][k % T]));
            let mut lanes = [0i32; 8];
            _mm256_storeu_si256(lanes.as_mut_ptr().cast(), s);
            for (k, &s) in lanes.iter().enumerate() {
                out[k / T][k % T] = s;
            }
        } else {
            for (o, a) in out.iter_mut().zip(acc) {
                for (o, &a) in o.iter_mut().zip(a) {
                    *o = A::sum1(a);
                }
            }
        }
    }
    out
}

/// [`IntTile::sums_f32`] of an x86 tile: eight exact i32 sums converted at once (`as
/// f32`'s rounding).
///
/// # Safety
///
/// As [`LaneSums`].
#[inline(always)]
unsafe fn lane_sums_f32<A: LaneSums, const R: usize, const T: usize>(
    acc: &[[A; T]; R],
) -> [[f32; T]; R] {
    let mut out = [[0.0f32; T]; R];
    // SAFETY: forwarded; the store writes 8 f32 into `lanes`.
    unsafe {
        if R * T == 8 {
            let s = A::sum8(core::array::from_fn(|k| acc[k / T][k % T]));
            let mut lanes = [0.0f32; 8];
            _mm256_storeu_ps(lanes.as_mut_ptr(), _mm256_cvtepi32_ps(s));
            for (k, &s) in lanes.iter().enumerate() {
                out[k / T][k % T] = s;
            }
        } else {
            for (o, s) in out.iter_mut().zip(lane_sums(acc)) {
                for (o, s) in o.iter_mut().zip(s) {
                    *o = s as f32;
                }
            }
        }
    }
    out
}

/// [`IntTile::store_projection`] of an x86 tile, its eight sums in one AVX2 vector.
///
/// # Safety
///
/// As [`LaneSums`]; `out` as [`IntTile::store_projection`] requires.
#[inline(always)]
unsafe fn store_projection<A: LaneSums>(
    acc: &[[A; TOKENS]; ROWS],
    scales: [f32; ROWS],
    bias: [f32; ROWS],
    x_scales: [f32; TOKENS],
    out: *mut f32,
    rows: usize,
) {
    const { assert!(ROWS == 2 && TOKENS == 4) };
    // SAFETY: AVX2 is enabled in every caller; the four 8-byte stores write
    // `out[t * rows + r]` for `r < 2`, `t < 4` (caller's contract), unaligned.
    unsafe {
        // Lane 2t + r: row r's sum for input t, converted exactly as `as f32`.
        let d = _mm256_cvtepi32_ps(A::sum8([
            acc[0][0], acc[1][0], acc[0][1], acc[1][1], acc[0][2], acc[1][2], acc[0][3], acc[1][3],
        ]));
        let pairs = |v: [f32; 2]| _mm256_setr_ps(v[0], v[1], v[0], v[1], v[0], v[1], v[0], v[1]);
        let xs = _mm256_permutevar8x32_ps(
            _mm256_castps128_ps256(_mm_loadu_ps(x_scales.as_ptr())),
            _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3),
        );
        // bias_r + (scale_r * x_scale_t) * d: the scalar path's three roundings.
        let scale = _mm256_mul_ps(pairs(scales), xs);
        let v = _mm256_castps_pd(_mm256_add_ps(pairs(bias), _mm256_mul_ps(scale, d)));
        // Rows r and r + 1 of input t are neighbours in `out`: one 8-byte store each.
        let (lo, hi) = (_mm256_castpd256_pd128(v), _mm256_extractf128_pd::<1>(v));
        _mm_storel_pd(out.cast(), lo);
        _mm_storeh_pd(out.add(rows).cast(), lo);
        _mm_storel_pd(out.add(2 * rows).cast(), hi);
        _mm_storeh_pd(out.add(3 * rows).cast(), hi);
    }
}

/// [`IntTile::store_column`] (with `bias`) or [`IntTile::add_column`] (without: added
/// into `out`) of an x86 tile, its eight sums in one AVX2 vector.
///
/// # Safety
///
/// As [`LaneSums`]; `scales`, `bias` and `out` as those methods require.
#[inline(always)]
unsafe fn store_column<A: LaneSums>(
    acc: &[[A; 1]; GEMV_ROWS],
    scales: *const u8,
    bias: Option<*const u8>,
    x_scale: f32,
    out: *mut f32,
) {
    const { assert!(GEMV_ROWS == 8) };
    // SAFETY: AVX2 is enabled in every caller; `scales`, `bias` hold 8 f32 (x86-64 is
    // little-endian) and `out` 8 (caller's contract); all unaligned.
    unsafe {
        let d = _mm256_cvtepi32_ps(A::sum8(core::array::from_fn(|r| acc[r][0])));
        // start_r + (scale_r * x_scale) * d: the scalar path's three roundings.
        let scale = _mm256_mul_ps(_mm256_loadu_ps(scales.cast()), _mm256_set1_ps(x_scale));
        let start = match bias {
            Some(bias) => _mm256_loadu_ps(bias.cast()),
            None => _mm256_loadu_ps(out),
        };
        _mm256_storeu_ps(out, _mm256_add_ps(start, _mm256_mul_ps(scale, d)));
    }
}

/// The sum of the two 256-bit halves of `v`, lane by lane.
#[inline(always)]
unsafe fn halves(v: __m512i) -> __m256i {
    // SAFETY: AVX-512F is enabled in every caller.
    unsafe { _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64::<1>(v)) }
}

/// `x` and `y`'s 32-bit lanes interleaved and added: per 128-bit lane `[x0 + x2, y0 + y2,
/// x1 + x3, y1 + y3]`.
///
/// # Safety
///
/// AVX-512F is enabled in every caller.
#[inline(always)]
unsafe fn interleave_add(x: __m512i, y: __m512i) -> __m512i {
    // SAFETY: AVX-512F is enabled in every caller.
    unsafe { _mm512_add_epi32(_mm512_unpacklo_epi32(x, y), _mm512_unpackhi_epi32(x, y)) }
}

/// The lane sums of eight 512-bit accumulators, in their order: the pairs' 32-bit and
/// 64-bit lanes interleaved and added, then the 128-bit lanes of the two halves.
///
/// # Safety
///
/// AVX-512F is enabled in every caller.
#[inline(always)]
unsafe fn sum8_512(a: [__m512i; 8]) -> __m256i {
    // SAFETY: AVX-512F is enabled in every caller.
    unsafe {
        // Per 128-bit lane: [a0, a1, a0, a1] partial sums of that lane, and so on.
        let (p01, p23) = (interleave_add(a[0], a[1]), interleave_add(a[2], a[3]));
        let (p45, p67) = (interleave_add(a[4], a[5]), interleave_add(a[6], a[7]));
        // Per 128-bit lane: [a0, a1, a2, a3] (q0) and [a4, a5, a6, a7] (q1) partial sums.
        let q0 = _mm512_add_epi32(
            _mm512_unpacklo_epi64(p01, p23),
            _mm512_unpackhi_epi64(p01, p23),
        );
        let q1 = _mm512_add_epi32(
            _mm512_unpacklo_epi64(p45, p67),
            _mm512_unpackhi_epi64(p45, p67),
        );
        // 128-bit lanes [q0.0 + q0.2, q0.1 + q0.3, q1.0 + q1.2, q1.1 + q1.3].
        let r = _mm512_add_epi32(
            _mm512_shuffle_i32x4::<0b01_00_01_00>(q0, q1),
            _mm512_shuffle_i32x4::<0b11_10_11_10>(q0, q1),
        );
        // Lanes 0 and 1 of 128 bits: q0's and q1's totals.
        let s = _mm512_add_epi32(
            _mm512_shuffle_i32x4::<0b10_00_10_00>(r, r),
            _mm512_shuffle_i32x4::<0b11_01_11_01>(r, r),
        );
        _mm512_castsi512_si256(s)
    }
}

/// 32 columns per step: the 32 weight bytes widen to one 512-bit i16 vector
/// (`vpmovsxbw`), and `vpdpwssd` adds two products into each of the 16 i32 lanes of
/// the one accumulator per (row, input); a 16-column step as [`Avx2`]'s. Eight
/// accumulators reduce 512 bits wide ([`sum8_512`]) into the stores [`Avx2`] shares.
pub(super) struct Avx512;

impl IntTile for Avx512 {
    type Acc = __m512i;
    const STEP: usize = 32;
    #[inline(always)]
    unsafe fn zero() -> __m512i {
        // SAFETY: AVX-512F is enabled in every caller.
        unsafe { _mm512_setzero_si512() }
    }
    #[inline(always)]
    unsafe fn step<const R: usize, const T: usize>(
        acc: &mut [[__m512i; T]; R],
        w: [*const u8; R],
        x: [*const i16; T],
    ) {
        // SAFETY: AVX-512BW and VNNI are enabled in every caller; every pointer is
        // valid for 32 elements (trait contract); the loads are unaligned.
        unsafe {
            let mut xv = [_mm512_setzero_si512(); T];
            for (v, &xt) in xv.iter_mut().zip(&x) {
                *v = _mm512_loadu_si512(xt.cast());
            }
            for (acc_r, &wr) in acc.iter_mut().zip(&w) {
                let q = _mm512_cvtepi8_epi16(_mm256_loadu_si256(wr.cast()));
                for (a, &xt) in acc_r.iter_mut().zip(&xv) {
                    *a = dpwssd512(*a, q, xt);
                }
            }
        }
    }
    #[inline(always)]
    unsafe fn step16<const R: usize, const T: usize>(
        acc: &mut [[__m512i; T]; R],
        w: [*const u8; R],
        x: [*const i16; T],
    ) {
        // SAFETY: AVX-512F and AVX2 are enabled in every caller; every pointer is valid
        // for 16 elements (trait contract), read unaligned; the upper lanes get zeros.
        unsafe {
            let mut xv = [_mm256_setzero_si256(); T];
            for (v, &xt) in xv.iter_mut().zip(&x) {
                *v = _mm256_loadu_si256(xt.cast());
            }
            for (acc_r, &wr) in acc.iter_mut().zip(&w) {
                let q = _mm256_cvtepi8_epi16(_mm_loadu_si128(wr.cast()));
                for (a, &xt) in acc_r.iter_mut().zip(&xv) {
                    let p = _mm512_zextsi256_si512(_mm256_madd_epi16(q, xt));
                    *a = _mm512_add_epi32(*a, p);
                }
            }
        }
    }
    #[inline(always)]
    unsafe fn step4<const R: usize, const T: usize>(
        acc: &mut [[__m512i; T]; R],
        w: [*const u8; R],
        x: [*const i16; T],
    ) {
        // SAFETY: AVX-512F is enabled in every caller; every pointer is valid for 4
        // elements (trait contract), read unaligned; the other lanes get zeros.
        unsafe {
            let mut q = [_mm_setzero_si128(); R];
            for (q, &wr) in q.iter_mut().zip(&w) {
                *q = _mm_cvtepi8_epi16(_mm_cvtsi32_si128(wr.cast::<i32>().read_unaligned()));
            }
            for (t, &xt) in x.iter().enumerate() {
                let xv = _mm_loadl_epi64(xt.cast());
                for (acc_r, &q) in acc.iter_mut().zip(&q) {
                    let p = _mm512_zextsi128_si512(_mm_madd_epi16(q, xv));
                    acc_r[t] = _mm512_add_epi32(acc_r[t], p);
                }
            }
        }
    }
    #[inline(always)]
    unsafe fn sums<const R: usize, const T: usize>(acc: &[[__m512i; T]; R]) -> [[i32; T]; R] {
        // SAFETY: AVX-512F (and so AVX2) is enabled in every caller.
        unsafe { lane_sums(acc) }
    }
    #[inline(always)]
    unsafe fn store_projection(
        acc: &[[__m512i; TOKENS]; ROWS],
        scales: [f32; ROWS],
        bias: [f32; ROWS],
        x_scales: [f32; TOKENS],
        out: *mut f32,
        rows: usize,
    ) {
        // SAFETY: forwarded; AVX-512F (and so AVX2) is enabled in every caller.
        unsafe { store_projection(acc, scales, bias, x_scales, out, rows) }
    }
    #[inline(always)]
    unsafe fn store_column(
        acc: &[[__m512i; 1]; GEMV_ROWS],
        scales: *const u8,
        bias: *const u8,
        x_scale: f32,
        out: *mut f32,
    ) {
        // SAFETY: forwarded; AVX-512F (and so AVX2) is enabled in every caller.
        unsafe { store_column(acc, scales, Some(bias), x_scale, out) }
    }
    #[inline(always)]
    unsafe fn add_column(
        acc: &[[__m512i; 1]; GEMV_ROWS],
        scales: *const u8,
        x_scale: f32,
        out: *mut f32,
    ) {
        // SAFETY: forwarded; AVX-512F (and so AVX2) is enabled in every caller.
        unsafe { store_column(acc, scales, None, x_scale, out) }
    }
    #[inline(always)]
    unsafe fn sums_f32<const R: usize, const T: usize>(acc: &[[__m512i; T]; R]) -> [[f32; T]; R] {
        // SAFETY: AVX-512F (and so AVX2) is enabled in every caller.
        unsafe { lane_sums_f32(acc) }
    }
}

/// # Safety
///
/// The `avx512` level's features are available; the requirements of
/// [`int8::project`].
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")]
pub(super) unsafe fn project_i8_i16_avx512(
    w: &Rows<'_>,
    xq: &[i16],
    x_scales: &[f32],
    bias: Option<&[u8]>,
    out: &mut [f32],
) {
    // SAFETY: forwarded; the features (AVX2 among them) are enabled here.
    unsafe {
        if w.cols < super::x86_64::WIDE_COLS {
            project_i8_i16_avx2(w, xq, x_scales, bias, out)
        } else {
            int8::project::<Avx512>(w, xq, x_scales, bias, out)
        }
    }
}

/// # Safety
///
/// The `avx512` level's features are available; the requirements of [`int8::gemv`].
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")]
pub(super) unsafe fn gemv_i8_i16_avx512(w: &Rows<'_>, xq: &[i16], x_scale: f32, out: &mut [f32]) {
    // SAFETY: forwarded; the features (AVX2 among them) are enabled here.
    unsafe {
        if w.cols < super::x86_64::WIDE_COLS {
            super::x86_64::gemv_i8_i16_avx2(w, xq, x_scale, out)
        } else {
            int8::gemv::<Avx512>(w, xq, x_scale, out)
        }
    }
}

/// # Safety
///
/// AVX2 is available; the requirements of [`int8::project`].
#[target_feature(enable = "avx2")]
pub(super) unsafe fn project_i8_i16_avx2(
    w: &Rows<'_>,
    xq: &[i16],
    x_scales: &[f32],
    bias: Option<&[u8]>,
    out: &mut [f32],
) {
    // SAFETY: forwarded; AVX2 is enabled here.
    unsafe { int8::project::<Avx2>(w, xq, x_scales, bias, out) }
}

/// # Safety
///
/// The requirements of [`int8::project`].
#[target_feature(enable = "sse2")]
pub(super) unsafe fn project_i8_i16_sse2(
    w: &Rows<'_>,
    xq: &[i16],
    x_scales: &[f32],
    bias: Option<&[u8]>,
    out: &mut [f32],
) {
    // SAFETY: forwarded.
    unsafe { int8::project::<Sse2>(w, xq, x_scales, bias, out) }
}

/// # Safety
///
/// The requirements of [`int8::gemv`].
#[target_feature(enable = "sse2")]
pub(super) unsafe fn gemv_i8_i16_sse2(w: &Rows<'_>, xq: &[i16], x_scale: f32, out: &mut [f32]) {
    // SAFETY: forwarded.
    unsafe { int8::gemv::<Sse2>(w, xq, x_scale, out) }
}

/// `out[r] = base[r] + (scale_r * x_scale) * sum_r` for the rows `r0..` of one block
/// (at most 8, fewer at the end of the matrix), `xs` holding `x_scale` in every lane;
/// `out` itself without a `base`.
///
/// # Safety
///
/// AVX2 is enabled in every caller; rows `r0..min(r0 + 8, w.rows)` have scales in
/// `w.scales`, and values in `out` and `base` (if given, `w.rows` f32).
#[inline(always)]
unsafe fn finish_block(
    w: &Rows<'_>,
    r0: usize,
    sums: __m256i,
    xs: __m256,
    base: Option<*const f32>,
    out: &mut [f32],
) {
    // SAFETY: as the caller guarantees.
    unsafe {
        let o = out.as_mut_ptr();
        let base = base.unwrap_or(o);
        let d = _mm256_cvtepi32_ps(sums);
        if r0 + 8 <= w.rows {
            let scale = _mm256_mul_ps(_mm256_loadu_ps(w.scales.as_ptr().add(4 * r0).cast()), xs);
            let b = _mm256_loadu_ps(base.add(r0));
            _mm256_storeu_ps(o.add(r0), _mm256_add_ps(b, _mm256_mul_ps(scale, d)));
        } else {
            let mut lanes = [0.0f32; 8];
            _mm256_storeu_ps(lanes.as_mut_ptr(), d);
            finish_rows(w, r0, &lanes, _mm256_cvtss_f32(xs), base, o);
        }
    }
}

/// `out[r] = base[r] + (scale_r * x_scale) * sums[r - r0]` for the rows `r0..` of the
/// matrix among `sums.len()` (a pair kernel's last, partial block of rows): the
/// vector code's roundings, one row at a time.
///
/// # Safety
///
/// `base` and `out` hold `w.rows` f32 (they may be the same).
#[inline(always)]
unsafe fn finish_rows(
    w: &Rows<'_>,
    r0: usize,
    sums: &[f32],
    x_scale: f32,
    base: *const f32,
    out: *mut f32,
) {
    for (k, &d) in sums.iter().enumerate().take(w.rows.saturating_sub(r0)) {
        let s = &w.scales[4 * (r0 + k)..4 * (r0 + k) + 4];
        let scale = f32::from_le_bytes([s[0], s[1], s[2], s[3]]) * x_scale;
        // SAFETY: row `r0 + k < w.rows` (the caller's lengths).
        unsafe { *out.add(r0 + k) = base.add(r0 + k).read() + scale * d };
    }
}

/// [`super::gemv_pairs`] with AVX2: per block of 8 rows, each pair of inputs is
/// broadcast to the 8 lanes and `vpmaddwd` adds the two products of each row into its
/// lane, eight blocks (then four, then one) sharing each broadcast; then the 8 sums
/// are converted and scaled as in [`super::gemv_i8_i16`] (multiply, then add: the same roundings).
///
/// # Safety
///
/// AVX2 is available; `pairs.len() >= pairs_len(w.rows, w.cols)`, `w.cols <=
/// PAIRS_MAX_COLS`, `w.scales` holds `w.rows` scales, `xq.len() >= w.cols`,
/// `out.len() >= w.rows`, and so does `base` if given.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn gemv_pairs_avx2(
    pairs: &[i16],
    w: &Rows<'_>,
    xq: &[i16],
    x_scale: f32,
    base: Option<&[f32]>,
    out: &mut [f32],
) {
    let (full, odd) = (w.cols / 2, w.cols % 2 == 1);
    let block = 16 * w.cols.div_ceil(2);
    let blocks = w.rows.div_ceil(8);
    let (wp, x) = (pairs.as_ptr(), xq.as_ptr());
    // SAFETY: blocks b < blocks of `block` i16 each lie in `pairs`, `xq` holds `cols`
    // inputs, and every block's rows have scales, outputs and, if given, `base` values
    // (checked by the caller).
    unsafe {
        let xs = _mm256_set1_ps(x_scale);
        let base = base.map(<[f32]>::as_ptr);
        let b = pair_groups::<8>(wp, block, 0, blocks, x, (full, odd), w, (xs, base), out);
        let b = pair_groups::<4>(wp, block, b, blocks, x, (full, odd), w, (xs, base), out);
        pair_groups::<1>(wp, block, b, blocks, x, (full, odd), w, (xs, base), out);
    }
}

/// [`gemv_pairs_avx2`]'s blocks `b..blocks`, `B` at a time sharing each broadcast
/// ([`pair_tile`] for one input) while `B` remain; returns the first block not done.
///
/// # Safety
///
/// As [`gemv_pairs_avx2`]; `wp` is its `pairs`, blocks of `block` i16, `base` its
/// `base`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn pair_groups<const B: usize>(
    wp: *const i16,
    block: usize,
    mut b: usize,
    blocks: usize,
    x: *const i16,
    (full, odd): (usize, bool),
    w: &Rows<'_>,
    (xs, base): (__m256, Option<*const f32>),
    out: &mut [f32],
) -> usize {
    // SAFETY: blocks `b..b + B <= blocks` lie in `pairs` (the caller's guarantee).
    unsafe {
        while b + B <= blocks {
            let sums = pair_tile::<false, B, 1>(wp.add(b * block), block, x, 0, (full, odd));
            for (k, s) in sums.iter().enumerate() {
                finish_block(w, 8 * (b + k), s[0], xs, base, out);
            }
            b += B;
        }
    }
    b
}

/// [`super::gemm_pairs`] with AVX2: [`gemv_pairs_avx2`]'s blocks of 8 rows for several
/// inputs, tiles of 2 blocks x 4 inputs (then fewer) sharing each weight load and each
/// broadcast; every row's products summed in one i32 lane, then converted and scaled as
/// there (multiply, then add: the same roundings).
///
/// # Safety
///
/// AVX2 is available; the requirements of [`gemm_pairs`].
#[target_feature(enable = "avx2")]
pub(super) unsafe fn gemm_pairs_avx2(
    pairs: &[i16],
    w: &Rows<'_>,
    xq: &[i16],
    x_scales: &[f32],
    out: &mut [f32],
) {
    // SAFETY: forwarded; AVX2 is enabled here.
    unsafe { gemm_pairs::<false>(pairs, w, xq, x_scales, out) }
}

/// [`gemm_pairs_avx2`] with `vpdpwssd` (AVX-512 VNNI on 8 lanes), which adds the pair
/// products into the sums in one instruction: the same exact sums.
///
/// # Safety
///
/// The `avx512` level's features are available; the requirements of [`gemm_pairs`].
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")]
pub(super) unsafe fn gemm_pairs_avx512(
    pairs: &[i16],
    w: &Rows<'_>,
    xq: &[i16],
    x_scales: &[f32],
    out: &mut [f32],
) {
    // SAFETY: forwarded; the features (AVX2 among them) are enabled here.
    unsafe { gemm_pairs::<true>(pairs, w, xq, x_scales, out) }
}

/// `out[t * rows + r] += (scale_r * x_scales[t]) * (q_r . xq_t)` for the `x_scales.len()`
/// inputs `xq_t` of `w.cols` values, on the interleaved copy `pairs` of `w`;
/// `vpdpwssd` if `DP`.
///
/// # Safety
///
/// AVX2 (and with `DP` AVX-512 VL and VNNI) is enabled in every caller;
/// `pairs.len() >= pairs_len(w.rows, w.cols)`, `1 <= w.cols <= PAIRS_MAX_COLS`,
/// `w.scales` holds `w.rows` scales, `xq.len() >= x_scales.len() * w.cols`,
/// `out.len() >= x_scales.len() * w.rows`.
#[inline(always)]
unsafe fn gemm_pairs<const DP: bool>(
    pairs: &[i16],
    w: &Rows<'_>,
    xq: &[i16],
    x_scales: &[f32],
    out: &mut [f32],
) {
    let (rows, cols) = (w.rows, w.cols);
    let mut t = 0;
    // SAFETY: inputs `t..t + T <= x_scales.len()` lie in `xq` and their outputs in
    // `out` (the caller's lengths).
    unsafe {
        while DP && t + 8 <= x_scales.len() {
            let o = &mut out[t * rows..(t + 8) * rows];
            pair_tiles::<DP, 8>(pairs, w, xq.as_ptr().add(t * cols), &x_scales[t..t + 8], o);
            t += 8;
        }
        while t + 4 <= x_scales.len() {
            let o = &mut out[t * rows..(t + 4) * rows];
            pair_tiles::<DP, 4>(pairs, w, xq.as_ptr().add(t * cols), &x_scales[t..t + 4], o);
            t += 4;
        }
        while t < x_scales.len() {
            let o = &mut out[t * rows..(t + 1) * rows];
            pair_tiles::<DP, 1>(pairs, w, xq.as_ptr().add(t * cols), &x_scales[t..t + 1], o);
            t += 1;
        }
    }
}

/// [`gemm_pairs`] for the `T` inputs at `x` (`w.cols` apart) into `out (T, rows)`:
/// with `DP` 4 blocks of 8 rows at a time in 512-bit vectors ([`pair_tile_wide`]),
/// then 2 blocks, then 1.
///
/// # Safety
///
/// As [`gemm_pairs`], `x` holding `T * w.cols` values, `x_scales` `T`, `out`
/// `T * w.rows`.
#[inline(always)]
unsafe fn pair_tiles<const DP: bool, const T: usize>(
    pairs: &[i16],
    w: &Rows<'_>,
    x: *const i16,
    x_scales: &[f32],
    out: &mut [f32],
) {
    let (rows, cols) = (w.rows, w.cols);
    let (full, odd) = (cols / 2, cols % 2 == 1);
    let block = 16 * cols.div_ceil(2);
    let blocks = rows.div_ceil(8);
    let wp = pairs.as_ptr();
    let mut b = 0;
    // SAFETY: blocks `b..b + B <= blocks` lie in `pairs`, each holding `16 * (full +
    // odd)` i16; every input `full` pairs and, if `odd`, one more value; the rows of a
    // block have scales and outputs (or go one at a time in `finish_block`).
    unsafe {
        while DP && b + 4 <= blocks {
            let sums = pair_tile_wide::<2, T>(wp.add(b * block), block, x, cols, (full, odd));
            for (k, sums) in sums.iter().enumerate() {
                for (t, &s) in sums.iter().enumerate() {
                    let xs = _mm256_set1_ps(x_scales[t]);
                    let o = &mut out[t * rows..(t + 1) * rows];
                    let (lo, hi) = (_mm512_castsi512_si256(s), _mm512_extracti64x4_epi64::<1>(s));
                    finish_block(w, 8 * (b + 2 * k), lo, xs, None, o);
                    finish_block(w, 8 * (b + 2 * k + 1), hi, xs, None, o);
                }
            }
            b += 4;
        }
        while b + 2 <= blocks {
            let sums = pair_tile::<DP, 2, T>(wp.add(b * block), block, x, cols, (full, odd));
            for (k, sums) in sums.iter().enumerate() {
                for (t, &s) in sums.iter().enumerate() {
                    let xs = _mm256_set1_ps(x_scales[t]);
                    let o = &mut out[t * rows..(t + 1) * rows];
                    finish_block(w, 8 * (b + k), s, xs, None, o);
                }
            }
            b += 2;
        }
        if b < blocks {
            let sums = pair_tile::<DP, 1, T>(wp.add(b * block), block, x, cols, (full, odd));
            for (t, &s) in sums[0].iter().enumerate() {
                let xs = _mm256_set1_ps(x_scales[t]);
                finish_block(w, 8 * b, s, xs, None, &mut out[t * rows..(t + 1) * rows]);
            }
        }
    }
}

/// Inputs `2j` and `2j + 1` of `x` as one i32 (little-endian: the first in the low
/// half), for a pair kernel's broadcast; past the `full` pairs, the last input of an
/// odd count and a zero.
///
/// # Safety
///
/// `x` holds `2 * j + 2` values for `j < full`, `2 * j + 1` otherwise.
#[inline(always)]
unsafe fn input_pair(x: *const i16, j: usize, full: usize) -> i32 {
    // SAFETY: as the caller guarantees.
    unsafe {
        let at = x.add(2 * j);
        if j < full {
            at.cast::<i32>().read_unaligned()
        } else {
            at.read() as u16 as i32
        }
    }
}

/// [`pair_tile`] with AVX-512 on `B` pairs of blocks: each 512-bit vector holds a
/// pair of inputs' products for 16 rows, two blocks' (their 256-bit halves loaded
/// side by side), so that each broadcast serves 16 rows.
///
/// # Safety
///
/// The `avx512` level's features are enabled in every caller; the `2 * B` blocks hold
/// `16 * (full + odd)` i16 each, the inputs `2 * full + odd`.
#[inline(always)]
unsafe fn pair_tile_wide<const B: usize, const T: usize>(
    w: *const i16,
    block: usize,
    x: *const i16,
    cols: usize,
    (full, odd): (usize, bool),
) -> [[__m512i; T]; B] {
    // SAFETY: reads within the sizes the caller guarantees.
    unsafe {
        let mut acc = [[_mm512_setzero_si512(); T]; B];
        for j in 0..full + usize::from(odd) {
            let mut xv = [_mm512_setzero_si512(); T];
            for (t, v) in xv.iter_mut().enumerate() {
                *v = _mm512_set1_epi32(input_pair(x.add(t * cols), j, full));
            }
            for (k, acc) in acc.iter_mut().enumerate() {
                let lo = _mm256_loadu_si256(w.add(2 * k * block + 16 * j).cast());
                let hi = _mm256_loadu_si256(w.add((2 * k + 1) * block + 16 * j).cast());
                let wv = _mm512_inserti64x4::<1>(_mm512_castsi256_si512(lo), hi);
                for (a, &xv) in acc.iter_mut().zip(&xv) {
                    *a = dpwssd512(*a, wv, xv);
                }
            }
        }
        acc
    }
}

/// The i32 sums of `B` blocks of 8 rows of the interleaved copy at `w` (`block` i16
/// apart) with the `T` inputs at `x` (`cols` apart): `full` pairs, then, if `odd`, the
/// last input alone.
///
/// # Safety
///
/// AVX2 (and with `DP` AVX-512 VL and VNNI) is enabled in every caller; the blocks
/// hold `16 * (full + odd)` i16 each, the inputs `2 * full + odd`.
#[inline(always)]
unsafe fn pair_tile<const DP: bool, const B: usize, const T: usize>(
    w: *const i16,
    block: usize,
    x: *const i16,
    cols: usize,
    (full, odd): (usize, bool),
) -> [[__m256i; T]; B] {
    // SAFETY: reads within the sizes the caller guarantees.
    unsafe {
        let mut acc = [[_mm256_setzero_si256(); T]; B];
        // Plain loops, no closure: a closure need not inherit the caller's target
        // features unless it is inlined (then each intrinsic becomes a call).
        for j in 0..full + usize::from(odd) {
            let mut xv = [_mm256_setzero_si256(); T];
            for (t, v) in xv.iter_mut().enumerate() {
                *v = _mm256_set1_epi32(input_pair(x.add(t * cols), j, full));
            }
            for (k, acc) in acc.iter_mut().enumerate() {
                let wv = _mm256_loadu_si256(w.add(k * block + 16 * j).cast());
                for (a, &xv) in acc.iter_mut().zip(&xv) {
                    *a = if DP {
                        dpwssd256(*a, wv, xv)
                    } else {
                        _mm256_add_epi32(*a, _mm256_madd_epi16(wv, xv))
                    };
                }
            }
        }
        acc
    }
}

/// [`super::gemv_pairs`] with SSE2: [`gemv_pairs_avx2`]'s blocks of 8 rows as two
/// halves of 4 (`pmaddwd` adds the two products of each row into its lane), four
/// blocks (then one) sharing each broadcast; then the sums converted and scaled as
/// there (multiply, then add: the same roundings).
///
/// # Safety
///
/// As [`gemv_pairs_avx2`], with SSE2 (every x86-64 processor) for AVX2.
#[target_feature(enable = "sse2")]
pub(super) unsafe fn gemv_pairs_sse2(
    pairs: &[i16],
    w: &Rows<'_>,
    xq: &[i16],
    x_scale: f32,
    base: Option<&[f32]>,
    out: &mut [f32],
) {
    let (full, odd) = (w.cols / 2, w.cols % 2 == 1);
    let block = 16 * w.cols.div_ceil(2);
    let blocks = w.rows.div_ceil(8);
    let (wp, x) = (pairs.as_ptr(), xq.as_ptr());
    // SAFETY: as in `gemv_pairs_avx2` (the caller's checks).
    unsafe {
        let base = base.map(<[f32]>::as_ptr);
        let b = pair_groups_sse2::<4>(
            wp,
            block,
            0,
            blocks,
            x,
            (full, odd),
            w,
            (x_scale, base),
            out,
        );
        pair_groups_sse2::<1>(
            wp,
            block,
            b,
            blocks,
            x,
            (full, odd),
            w,
            (x_scale, base),
            out,
        );
    }
}

/// [`gemv_pairs_sse2`]'s blocks `b..blocks`, `B` at a time sharing each broadcast while
/// `B` remain; returns the first block not done.
///
/// # Safety
///
/// As [`gemv_pairs_sse2`]; `wp` is its `pairs`, blocks of `block` i16, `base` its
/// `base`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn pair_groups_sse2<const B: usize>(
    wp: *const i16,
    block: usize,
    mut b: usize,
    blocks: usize,
    x: *const i16,
    (full, odd): (usize, bool),
    w: &Rows<'_>,
    (x_scale, base): (f32, Option<*const f32>),
    out: &mut [f32],
) -> usize {
    // SAFETY: blocks `b..b + B <= blocks` of `block` i16 lie in `pairs`, their pairs
    // `0..full + odd` at `16 j` (the caller's guarantee); `x` holds `2 full + odd`; the
    // whole vectors of 4 rows `r..r + 4 <= w.rows` read 4 scales and 4 `base` values and
    // write 4 outputs, all within `w.rows` (checked in `gemv_pairs`), and the rows of a
    // partial vector go one at a time (`finish_rows`).
    unsafe {
        let xs = _mm_set1_ps(x_scale);
        while b + B <= blocks {
            let w0 = wp.add(b * block);
            let mut acc = [[_mm_setzero_si128(); 2]; B];
            for j in 0..full + usize::from(odd) {
                let xv = _mm_set1_epi32(input_pair(x, j, full));
                for (k, a) in acc.iter_mut().enumerate() {
                    let at = w0.add(k * block + 16 * j);
                    for (h, a) in a.iter_mut().enumerate() {
                        let wv = _mm_loadu_si128(at.add(8 * h).cast());
                        *a = _mm_add_epi32(*a, _mm_madd_epi16(wv, xv));
                    }
                }
            }
            for (k, sums) in acc.iter().enumerate() {
                let r0 = 8 * (b + k);
                let o = out.as_mut_ptr();
                let from = base.unwrap_or(o);
                for (h, &sums) in sums.iter().enumerate() {
                    let r = r0 + 4 * h;
                    let d = _mm_cvtepi32_ps(sums);
                    if r + 4 <= w.rows {
                        let scale =
                            _mm_mul_ps(_mm_loadu_ps(w.scales.as_ptr().add(4 * r).cast()), xs);
                        let v = _mm_add_ps(_mm_loadu_ps(from.add(r)), _mm_mul_ps(scale, d));
                        _mm_storeu_ps(o.add(r), v);
                    } else {
                        let mut lanes = [0.0f32; 4];
                        _mm_storeu_ps(lanes.as_mut_ptr(), d);
                        finish_rows(w, r, &lanes, x_scale, from, o);
                    }
                }
            }
            b += B;
        }
    }
    b
}

/// The walk of [`interleave_pairs_avx2`] and [`interleave_pairs_sse2`]: for each whole
/// block b of 8 rows and each group of 16 columns from c, `group` gets the 8 rows'
/// pointers at column c and the address in `out` of the block's pair `c / 2` (its 8
/// pairs of 8 rows then fill 128 i16 from there). Returns the columns done.
///
/// # Safety
///
/// `w.in_bounds()`, `out.len() >= pairs_len(w.rows, w.cols)`; `group` reads at most 16
/// bytes from each row pointer and writes at most 128 i16 from the address.
#[inline(always)]
unsafe fn pair_groups_of(
    w: &Rows<'_>,
    out: &mut [i16],
    mut group: impl FnMut([*const u8; 8], *mut i16),
) -> usize {
    let done = w.cols / 16 * 16;
    let block = 16 * w.cols.div_ceil(2);
    let (src, dst) = (w.data.as_ptr(), out.as_mut_ptr());
    // SAFETY: rows `8b..8b + 8 <= w.rows` hold `cols >= c + 16` bytes from `c` (in
    // bounds); block b's pairs `c / 2..c / 2 + 8` lie in `out` (its length).
    unsafe {
        for b in 0..w.rows / 8 {
            for c in (0..done).step_by(16) {
                let rows = core::array::from_fn(|k| src.add((8 * b + k) * w.stride + c));
                group(rows, dst.add(b * block + 16 * (c / 2)));
            }
        }
    }
    done
}

/// [`super::interleave_pairs`] for the whole blocks of 8 rows and their first `16 *
/// (cols / 16)` columns: per block and 16 columns, each row's 16 bytes sign-extended
/// to 8 pairs of i16 (one i32 lane per pair), then the 8x8 lanes transposed, so vector
/// j holds pair j of the 8 rows in order. Returns the columns done (the rest, and the
/// rows of a last partial block, are the caller's).
///
/// # Safety
///
/// AVX2 is available; `w.in_bounds()`, `w.int8`, `out.len() >= pairs_len(w.rows,
/// w.cols)`.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn interleave_pairs_avx2(w: &Rows<'_>, out: &mut [i16]) -> usize {
    // SAFETY: each row pointer is valid for 16 bytes, each group's 8 vectors of 16 i16
    // from `at` lie in `out` (`pair_groups_of`, under the caller's guarantees).
    unsafe {
        pair_groups_of(w, out, |rows, at| {
            let r = rows.map(|row| _mm256_cvtepi8_epi16(_mm_loadu_si128(row.cast())));
            // Lane j of vector k is pair j of row k: transpose the 8x8 lanes.
            let t0 = _mm256_unpacklo_epi32(r[0], r[1]);
            let t1 = _mm256_unpackhi_epi32(r[0], r[1]);
            let t2 = _mm256_unpacklo_epi32(r[2], r[3]);
            let t3 = _mm256_unpackhi_epi32(r[2], r[3]);
            let t4 = _mm256_unpacklo_epi32(r[4], r[5]);
            let t5 = _mm256_unpackhi_epi32(r[4], r[5]);
            let t6 = _mm256_unpacklo_epi32(r[6], r[7]);
            let t7 = _mm256_unpackhi_epi32(r[6], r[7]);
            let u0 = _mm256_unpacklo_epi64(t0, t2);
            let u1 = _mm256_unpackhi_epi64(t0, t2);
            let u2 = _mm256_unpacklo_epi64(t1, t3);
            let u3 = _mm256_unpackhi_epi64(t1, t3);
            let u4 = _mm256_unpacklo_epi64(t4, t6);
            let u5 = _mm256_unpackhi_epi64(t4, t6);
            let u6 = _mm256_unpacklo_epi64(t5, t7);
            let u7 = _mm256_unpackhi_epi64(t5, t7);
            let pairs = [
                _mm256_permute2x128_si256::<0x20>(u0, u4),
                _mm256_permute2x128_si256::<0x20>(u1, u5),
                _mm256_permute2x128_si256::<0x20>(u2, u6),
                _mm256_permute2x128_si256::<0x20>(u3, u7),
                _mm256_permute2x128_si256::<0x31>(u0, u4),
                _mm256_permute2x128_si256::<0x31>(u1, u5),
                _mm256_permute2x128_si256::<0x31>(u2, u6),
                _mm256_permute2x128_si256::<0x31>(u3, u7),
            ];
            for (j, p) in pairs.into_iter().enumerate() {
                _mm256_storeu_si256(at.add(16 * j).cast(), p);
            }
        })
    }
}

/// [`interleave_pairs_avx2`] with SSE2: per block and 16 columns, each row's 16 bytes
/// sign-extended to two vectors of 4 pairs, then the 4x4 lanes of each group of four
/// rows transposed, so that pair j of rows 0..4 and of rows 4..8 are stored one after
/// the other. Returns the columns done (the rest, and the rows of a last partial
/// block, are the caller's).
///
/// # Safety
///
/// As [`interleave_pairs_avx2`], with SSE2 (every x86-64 processor) for AVX2.
#[target_feature(enable = "sse2")]
pub(super) unsafe fn interleave_pairs_sse2(w: &Rows<'_>, out: &mut [i16]) -> usize {
    // SAFETY: as in `interleave_pairs_avx2`, with vectors of 8 i16.
    unsafe {
        pair_groups_of(w, out, |rows, at| {
            for half in 0..2 {
                // Row 4 half + k's pairs 0..4 (`lo`) and 4..8 (`hi`).
                let (mut lo, mut hi) = ([_mm_setzero_si128(); 4], [_mm_setzero_si128(); 4]);
                for k in 0..4 {
                    let q = _mm_loadu_si128(rows[4 * half + k].cast());
                    // Pairing each byte with itself and shifting right by 8 sign-extends it.
                    lo[k] = _mm_srai_epi16::<8>(_mm_unpacklo_epi8(q, q));
                    hi[k] = _mm_srai_epi16::<8>(_mm_unpackhi_epi8(q, q));
                }
                for (j0, r) in [(0, lo), (4, hi)] {
                    // Lane j of vector k is pair j0 + j of row k: transpose the 4x4.
                    let t0 = _mm_unpacklo_epi32(r[0], r[1]);
                    let t1 = _mm_unpackhi_epi32(r[0], r[1]);
                    let t2 = _mm_unpacklo_epi32(r[2], r[3]);
                    let t3 = _mm_unpackhi_epi32(r[2], r[3]);
                    let pairs = [
                        _mm_unpacklo_epi64(t0, t2),
                        _mm_unpackhi_epi64(t0, t2),
                        _mm_unpacklo_epi64(t1, t3),
                        _mm_unpackhi_epi64(t1, t3),
                    ];
                    for (j, p) in pairs.into_iter().enumerate() {
                        _mm_storeu_si128(at.add(16 * (j0 + j) + 8 * half).cast(), p);
                    }
                }
            }
        })
    }
}

/// [`crate::kernels::quantize_i16`] with AVX2: the same operations 8 lanes wide (the
/// maximum of the magnitudes' bits, one multiply, one add of the rounding shifter),
/// the integers taken from the sums' bits (less `0x4B40_0000`, within the i16 range)
/// and packed.
///
/// # Safety
///
/// AVX2 is available.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn quantize_i16_avx2(x: &[f32], q: &mut [i16]) -> Option<f32> {
    let xp = x.as_ptr();
    // SAFETY: every load reads 8 floats at `i + 8 <= x.len()`; every store writes 16
    // or 8 i16 at `i + 16 <= n` or `i + 8 <= n`, `n <= q.len()`.
    unsafe {
        let magnitude = _mm256_set1_epi32(0x7FFF_FFFF);
        let mut m = _mm256_setzero_si256();
        let mut i = 0;
        while i + 8 <= x.len() {
            let bits = _mm256_and_si256(_mm256_loadu_si256(xp.add(i).cast()), magnitude);
            m = _mm256_max_epu32(m, bits);
            i += 8;
        }
        // The lanes' maximum in registers (a store and reload of the lanes would wait
        // for the store to retire).
        let m = _mm_max_epu32(_mm256_castsi256_si128(m), _mm256_extracti128_si256::<1>(m));
        let m = _mm_max_epu32(m, _mm_shuffle_epi32::<0b01_00_11_10>(m));
        let m = _mm_max_epu32(m, _mm_shuffle_epi32::<0b00_00_00_01>(m));
        let max_bits = x[i..].iter().fold(_mm_cvtsi128_si32(m) as u32, |m, v| {
            m.max(v.to_bits() & 0x7FFF_FFFF)
        });
        if max_bits >= f32::INFINITY.to_bits() {
            return None;
        }
        let max = f32::from_bits(max_bits);
        let inv = crate::kernels::quantize_inv(max);
        let n = x.len().min(q.len());
        let (vinv, shifter) = (_mm256_set1_ps(inv), _mm256_set1_ps(ROUND_SHIFTER));
        let offset = _mm256_set1_epi32(ROUND_SHIFTER.to_bits() as i32);
        let convert = |v: __m256| {
            let t = _mm256_add_ps(_mm256_mul_ps(v, vinv), shifter);
            _mm256_sub_epi32(_mm256_castps_si256(t), offset)
        };
        let qp = q.as_mut_ptr();
        let mut i = 0;
        while i + 16 <= n {
            let a = convert(_mm256_loadu_ps(xp.add(i)));
            let b = convert(_mm256_loadu_ps(xp.add(i + 8)));
            // `packs` interleaves the 128-bit halves; the permute restores the order.
            let p = _mm256_permute4x64_epi64::<0xD8>(_mm256_packs_epi32(a, b));
            _mm256_storeu_si256(qp.add(i).cast(), p);
            i += 16;
        }
        if i + 8 <= n {
            let a = convert(_mm256_loadu_ps(xp.add(i)));
            let p = _mm_packs_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256::<1>(a));
            _mm_storeu_si128(qp.add(i).cast(), p);
            i += 8;
        }
        crate::kernels::quantize_into(&x[i..n], &mut q[i..n], inv);
        Some(max / 16383.0)
    }
}

/// # Safety
///
/// The `avx512` level's features are available.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")]
pub(super) unsafe fn int_probe_avx512(rounds: usize, seed: i16) -> (i64, u64) {
    // SAFETY: register and stack arithmetic only; the features are enabled here.
    unsafe { int8::int_probe::<Avx512>(rounds, seed) }
}

/// # Safety
///
/// AVX2 is available.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn int_probe_avx2(rounds: usize, seed: i16) -> (i64, u64) {
    // SAFETY: register and stack arithmetic only; AVX2 is enabled here.
    unsafe { int8::int_probe::<Avx2>(rounds, seed) }
}

/// # Safety
///
/// SSE2 is part of the compile-time target.
#[target_feature(enable = "sse2")]
pub(super) unsafe fn int_probe_sse2(rounds: usize, seed: i16) -> (i64, u64) {
    // SAFETY: register and stack arithmetic only.
    unsafe { int8::int_probe::<Sse2>(rounds, seed) }
}
