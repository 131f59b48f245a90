//! Cortex-M kernels with the DSP extension (ARMv7E-M: Cortex-M4 and M7; ARMv8-M
//! Mainline with DSP: Cortex-M33, M35P, M55, M85): the int8 x i16 products of the
//! scalar level through dual 16-bit multiply-accumulates, written with `asm!` (the
//! compiler intrinsics are not stable). The build script selects them at compile time
//! (`cfg(postag_arm_dsp)`: the target is `thumbv7em-*`, or `thumbv8m.main-*` built
//! with `+dsp` or a DSP `target-cpu`).
//!
//! A row's bytes are read four at a time, `b0 b1 b2 b3` little-endian in one word;
//! `SXTB16` sign-extends the even bytes into the two halfwords `(b0, b2)`, `SXTB16`
//! with `ROR #8` the odd ones `(b1, b3)`. The input is paired to match once per
//! vector, `(x0, x2)` and `(x1, x3)` per group of four columns, so two `SMLAD`s add
//! the four products `b0 x0 + b2 x2 + b1 x1 + b3 x3` exactly. The last `cols % 4`
//! columns are summed in plain Rust.
//!
//! Exactness: rows of at most [`MAX_COLS`] columns, `|q| <= 128`, `|x| <= 16383`, so
//! every partial sum stays below `128 * 16383 * 512 < 2^31` and the i32 accumulators
//! hold the exact integer dot product: the scalar `dot_i8_i16`, bit for bit.
//!
//! Weight rows are read with word loads at any alignment, as compiled Rust does on
//! these targets (ARMv7-M and ARMv8-M Mainline load unaligned words unless
//! `CCR.UNALIGN_TRP` is set, which would fault compiled code too).
//!
//! The kernels' logic (pairing, tiles, tails, the float operations around them) is
//! written once over [`DualMac`]; the host tests run it with a portable model of the
//! instructions against the scalar path, and the firmware test compares the Cortex-M
//! build (the `asm!` form) with the host bit for bit.

use core::mem::MaybeUninit;

use super::Rows;

/// Words of the stack buffer that holds the paired inputs (1 KiB). It is not zeroed
/// (that would cost more than the pairing): the kernels read only the words that
/// [`pair`] wrote.
const BUF_WORDS: usize = 256;
/// Longest rows the kernels take: one input fills the buffer (two i16 per word).
pub(super) const MAX_COLS: usize = 2 * BUF_WORDS;
/// Inputs per pass of the block projection (each weight word serves all of them).
const TOKENS: usize = 4;

/// The dual multiply-accumulate loops.
pub(super) trait DualMac {
    /// `[q0 . x, q1 . x]` over `groups` groups of four columns: rows `q0`, `q1`
    /// (`4 * groups` bytes each), `x` paired (two words per group).
    ///
    /// # Safety
    ///
    /// `q0` and `q1` are valid for `4 * groups` bytes, `x` for `2 * groups` words;
    /// `groups >= 1`.
    unsafe fn dot2(q0: *const u8, q1: *const u8, x: *const u32, groups: usize) -> [i32; 2];
    /// `[q . x_0, .., q . x_3]`: one row against four inputs, paired and interleaved
    /// (eight words per group: two per input).
    ///
    /// # Safety
    ///
    /// `q` is valid for `4 * groups` bytes, `x` for `8 * groups` words; `groups >= 1`.
    unsafe fn dot1x4(q: *const u8, x: *const u32, groups: usize) -> [i32; TOKENS];
}

/// The paired inputs (see [`BUF_WORDS`]).
type Buf = [MaybeUninit<u32>; BUF_WORDS];

/// A buffer for [`pair`], not initialized.
fn buf() -> Buf {
    [MaybeUninit::uninit(); BUF_WORDS]
}

/// Pairs the groups of four of `x` into `out`: group `g` becomes `out[g * step +
/// first]` = `x0 | x2 << 16` and `out[g * step + first + 1]` = `x1 | x3 << 16`.
fn pair(x: &[i16], out: &mut [MaybeUninit<u32>], step: usize, first: usize) {
    for (c, o) in x.chunks_exact(4).zip(out[first..].chunks_mut(step)) {
        o[0].write(c[0] as u16 as u32 | (c[2] as u16 as u32) << 16);
        o[1].write(c[1] as u16 as u32 | (c[3] as u16 as u32) << 16);
    }
}

/// `sum q[j] * x[j]` over the columns `from..` that do not fill a group.
#[inline(always)]
fn tail(q: &[u8], x: &[i16], from: usize) -> i32 {
    if from >= q.len() {
        return 0;
    }
    let (q, x) = (q.get(from..).unwrap_or(&[]), x.get(from..).unwrap_or(&[]));
    q.iter()
        .zip(x)
        .map(|(&q, &x)| q as i8 as i32 * x as i32)
        .sum()
}

fn f32_at(bytes: &[u8], i: usize) -> f32 {
    let v = &bytes[i * 4..i * 4 + 4];
    f32::from_le_bytes([v[0], v[1], v[2], v[3]])
}

/// Row `r` (its first `cols` bytes).
fn row<'a>(w: &Rows<'a>, r: usize) -> &'a [u8] {
    &w.data[r * w.stride..r * w.stride + w.cols]
}

/// `out[r] += (scale_r * x_scale) * (q_r . x)` for every row, `x` (`w.cols` values)
/// paired into `buf`, rows two at a time (one paired word serves both). Requires
/// `w.cols <= MAX_COLS`, `out.len() >= w.rows`.
///
/// Not inlined: the one copy of these loops serves [`gemv_i8_i16`] and the
/// one-input passes of [`project_i8_i16`], which lends it its buffer.
#[inline(never)]
fn add_rows<K: DualMac>(w: &Rows<'_>, x: &[i16], x_scale: f32, buf: &mut Buf, out: &mut [f32]) {
    let groups = w.cols / 4;
    pair(&x[..4 * groups], buf, 2, 0);
    let mut put = |r: usize, d: i32| out[r] += (f32_at(w.scales, r) * x_scale) * d as f32;
    for r in (0..w.rows).step_by(2) {
        let r1 = (r + 1).min(w.rows - 1);
        let (q0, q1) = (row(w, r), row(w, r1));
        let d = if groups == 0 {
            [0, 0]
        } else {
            // SAFETY: both rows hold `cols >= 4 * groups` bytes, `buf` holds the
            // `2 * groups <= BUF_WORDS` paired words (written by `pair` above);
            // `groups >= 1`.
            unsafe { K::dot2(q0.as_ptr(), q1.as_ptr(), buf.as_ptr().cast(), groups) }
        };
        put(r, d[0] + tail(q0, x, 4 * groups));
        if r1 != r {
            put(r1, d[1] + tail(q1, x, 4 * groups));
        }
    }
}

/// `out[r] += (scale_r * x_scale) * (q_r . xq)`, as the scalar path computes it.
/// False (nothing done) for rows longer than [`MAX_COLS`].
///
/// Requires `w.int8`, `w.in_bounds()`, `xq.len() >= w.cols`, `out.len() >= w.rows`.
pub(super) fn gemv_i8_i16<K: DualMac>(
    w: &Rows<'_>,
    xq: &[i16],
    x_scale: f32,
    out: &mut [f32],
) -> bool {
    if w.cols > MAX_COLS {
        return false;
    }
    add_rows::<K>(w, &xq[..w.cols], x_scale, &mut buf(), out);
    true
}

/// `out[t * rows + r] = bias[r] + (scale_r * x_scales[t]) * (q_r . xq_t)` for the
/// `b = x_scales.len()` inputs, as the scalar path computes it: four inputs per pass
/// while they fit the buffer together, then one at a time. False (nothing done) for
/// rows longer than [`MAX_COLS`].
///
/// Requires `w.int8`, `w.in_bounds()`, `xq.len() >= b * w.cols`, `bias.len() >= 4 *
/// w.rows`, `out.len() >= b * w.rows`.
pub(super) fn project_i8_i16<K: DualMac>(
    w: &Rows<'_>,
    xq: &[i16],
    x_scales: &[f32],
    bias: &[u8],
    out: &mut [f32],
) -> bool {
    let (rows, cols, b) = (w.rows, w.cols, x_scales.len());
    let groups = cols / 4;
    if cols > MAX_COLS {
        return false;
    }
    let input = |t: usize| &xq[t * cols..(t + 1) * cols];
    let mut buf = buf();
    let mut t = 0;
    while t + TOKENS <= b && groups > 0 && 2 * TOKENS * groups <= BUF_WORDS {
        for k in 0..TOKENS {
            pair(&input(t + k)[..4 * groups], &mut buf, 2 * TOKENS, 2 * k);
        }
        for r in 0..rows {
            let q = row(w, r);
            // SAFETY: the row holds `cols >= 4 * groups` bytes, `buf` the `2 * TOKENS
            // * groups <= BUF_WORDS` interleaved words (all written by the `pair`
            // calls above); `groups >= 1`.
            let d = unsafe { K::dot1x4(q.as_ptr(), buf.as_ptr().cast(), groups) };
            // The scalar path's operations, with the row's scale and bias read once.
            let (scale, bias_r) = (f32_at(w.scales, r), f32_at(bias, r));
            for (k, &d) in d.iter().enumerate() {
                let d = d + tail(q, input(t + k), 4 * groups);
                out[(t + k) * rows + r] = bias_r + (scale * x_scales[t + k]) * d as f32;
            }
        }
        t += TOKENS;
    }
    // One input at a time: the bias, then the products added as `gemv_i8_i16` adds
    // them (`bias + p` is the f32 sum `p + bias`).
    while t < b {
        let out = &mut out[t * rows..(t + 1) * rows];
        for (r, o) in out.iter_mut().enumerate() {
            *o = f32_at(bias, r);
        }
        add_rows::<K>(w, input(t), x_scales[t], &mut buf, out);
        t += 1;
    }
    true
}

/// The loops in Thumb-2 assembly.
#[cfg(postag_arm_dsp)]
pub(super) struct Asm;

#[cfg(postag_arm_dsp)]
impl DualMac for Asm {
    #[inline(always)]
    unsafe fn dot2(q0: *const u8, q1: *const u8, x: *const u32, groups: usize) -> [i32; 2] {
        let (mut a0, mut a1) = (0i32, 0i32);
        // SAFETY: the loop runs `groups >= 1` times, reading 4 bytes of each row and
        // 2 words (`ldrd`: `x` is word-aligned) of `x` per group: within the
        // caller's bounds. It writes no memory, keeps to its operands and restores
        // nothing else (the flags are not preserved: no `preserves_flags`).
        unsafe {
            core::arch::asm!(
                "2:",
                "ldrd {x02}, {x13}, [{x}], #8",
                "ldr {e}, [{q0}], #4",
                "sxtb16 {o}, {e}, ror #8",
                "sxtb16 {e}, {e}",
                "smlad {a0}, {e}, {x02}, {a0}",
                "smlad {a0}, {o}, {x13}, {a0}",
                "ldr {e}, [{q1}], #4",
                "sxtb16 {o}, {e}, ror #8",
                "sxtb16 {e}, {e}",
                "smlad {a1}, {e}, {x02}, {a1}",
                "smlad {a1}, {o}, {x13}, {a1}",
                "subs {n}, {n}, #1",
                "bne 2b",
                q0 = inout(reg) q0 => _,
                q1 = inout(reg) q1 => _,
                x = inout(reg) x => _,
                n = inout(reg) groups => _,
                a0 = inout(reg) a0,
                a1 = inout(reg) a1,
                x02 = out(reg) _,
                x13 = out(reg) _,
                e = out(reg) _,
                o = out(reg) _,
                options(nostack, readonly),
            );
        }
        [a0, a1]
    }

    #[inline(always)]
    unsafe fn dot1x4(q: *const u8, x: *const u32, groups: usize) -> [i32; TOKENS] {
        let (mut a0, mut a1, mut a2, mut a3) = (0i32, 0i32, 0i32, 0i32);
        // SAFETY: the loop runs `groups >= 1` times, reading 4 bytes of the row and
        // 8 words (`ldrd`: `x` is word-aligned) of `x` per group: within the
        // caller's bounds. It writes no memory and keeps to its operands.
        unsafe {
            core::arch::asm!(
                "2:",
                "ldr {e}, [{q}], #4",
                "sxtb16 {o}, {e}, ror #8",
                "sxtb16 {e}, {e}",
                "ldrd {xa}, {xb}, [{x}], #8",
                "smlad {a0}, {e}, {xa}, {a0}",
                "smlad {a0}, {o}, {xb}, {a0}",
                "ldrd {xa}, {xb}, [{x}], #8",
                "smlad {a1}, {e}, {xa}, {a1}",
                "smlad {a1}, {o}, {xb}, {a1}",
                "ldrd {xa}, {xb}, [{x}], #8",
                "smlad {a2}, {e}, {xa}, {a2}",
                "smlad {a2}, {o}, {xb}, {a2}",
                "ldrd {xa}, {xb}, [{x}], #8",
                "smlad {a3}, {e}, {xa}, {a3}",
                "smlad {a3}, {o}, {xb}, {a3}",
                "subs {n}, {n}, #1",
                "bne 2b",
                q = inout(reg) q => _,
                x = inout(reg) x => _,
                n = inout(reg) groups => _,
                a0 = inout(reg) a0,
                a1 = inout(reg) a1,
                a2 = inout(reg) a2,
                a3 = inout(reg) a3,
                xa = out(reg) _,
                xb = out(reg) _,
                e = out(reg) _,
                o = out(reg) _,
                options(nostack, readonly),
            );
        }
        [a0, a1, a2, a3]
    }
}

/// The instructions in portable Rust, for testing the kernels' logic on any host.
#[cfg(test)]
pub(super) mod model {
    use super::{DualMac, TOKENS};

    /// `SXTB16`: bytes 0 and 2 sign-extended into the two halfwords.
    pub(crate) fn sxtb16(v: u32) -> u32 {
        let lo = v as u8 as i8 as i16 as u16 as u32;
        let hi = (v >> 16) as u8 as i8 as i16 as u16 as u32;
        lo | hi << 16
    }

    /// `SMLAD`: `acc` plus the products of the low and of the high halfwords.
    pub(crate) fn smlad(a: u32, b: u32, acc: i32) -> i32 {
        let lo = (a as i16 as i32) * (b as i16 as i32);
        let hi = ((a >> 16) as i16 as i32) * ((b >> 16) as i16 as i32);
        acc.wrapping_add(lo).wrapping_add(hi)
    }

    /// One group: the row word against one paired input.
    fn group(q: u32, x02: u32, x13: u32, acc: i32) -> i32 {
        let (e, o) = (sxtb16(q), sxtb16(q.rotate_right(8)));
        smlad(o, x13, smlad(e, x02, acc))
    }

    /// Reads word `g` of a row (little-endian bytes).
    ///
    /// # Safety
    ///
    /// `q` is valid for `4 * (g + 1)` bytes.
    unsafe fn word(q: *const u8, g: usize) -> u32 {
        // SAFETY: the caller's bound.
        unsafe { u32::from_le(q.add(4 * g).cast::<u32>().read_unaligned()) }
    }

    pub(crate) struct Portable;

    impl DualMac for Portable {
        unsafe fn dot2(q0: *const u8, q1: *const u8, x: *const u32, groups: usize) -> [i32; 2] {
            let mut a = [0i32; 2];
            for g in 0..groups {
                // SAFETY: `g < groups` (the trait's bounds).
                unsafe {
                    let (x02, x13) = (x.add(2 * g).read(), x.add(2 * g + 1).read());
                    a[0] = group(word(q0, g), x02, x13, a[0]);
                    a[1] = group(word(q1, g), x02, x13, a[1]);
                }
            }
            a
        }

        unsafe fn dot1x4(q: *const u8, x: *const u32, groups: usize) -> [i32; TOKENS] {
            let mut a = [0i32; TOKENS];
            for g in 0..groups {
                // SAFETY: `g < groups` (the trait's bounds).
                unsafe {
                    let qw = word(q, g);
                    for (k, a) in a.iter_mut().enumerate() {
                        let p = x.add(2 * TOKENS * g + 2 * k);
                        *a = group(qw, p.read(), p.add(1).read(), *a);
                    }
                }
            }
            a
        }
    }
}
