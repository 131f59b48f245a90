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

/// Words of the stack buffer that holds the paired inputs, and after one paired input
/// the dot products of [`DualMac::dot_rows`] (1 KiB). It is not zeroed (that would
/// cost more than the pairing): the kernels read only the words that [`pair`] or the
/// kernel wrote.
const BUF_WORDS: usize = 256;
/// Longest rows the kernels take: one input (two i16 per word) leaves the buffer
/// room for one tile of four dot products.
pub(super) const MAX_COLS: usize = 2 * (BUF_WORDS - 4);
/// Inputs per pass of the block projection (each weight word serves all of them).
const TOKENS: usize = 4;

/// The dual multiply-accumulate loops.
pub(super) trait DualMac {
    /// `res[4 t + i] = (q + (4 t + i) s) . x` for the `tiles` tiles of four rows `t`,
    /// over `groups` groups of four columns: rows of `4 * groups` bytes, `s` bytes
    /// apart (`s = 0`: one row four times), `x` paired (two words per group).
    ///
    /// # Safety
    ///
    /// The `4 * tiles` rows are valid for `4 * groups` bytes, `x` for `2 * groups`
    /// words, `res` for writing `4 * tiles` words; `groups >= 1`, `tiles >= 1`.
    unsafe fn dot_rows(
        q: *const u8,
        s: usize,
        x: *const u32,
        groups: usize,
        tiles: usize,
        res: *mut i32,
    );
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

/// Pairs the first `groups` groups of four of `x` into `out`: group `g` becomes
/// `out[g * step + first]` = `x0 | x2 << 16` and `out[g * step + first + 1]` = `x1 | x3
/// << 16`.
fn pair(x: &[i16], groups: usize, out: &mut [MaybeUninit<u32>], step: usize, first: usize) {
    for (c, o) in x[..4 * groups]
        .chunks_exact(4)
        .zip(out[first..].chunks_mut(step))
    {
        o[0].write(c[0] as u16 as u32 | (c[2] as u16 as u32) << 16);
        o[1].write(c[1] as u16 as u32 | (c[3] as u16 as u32) << 16);
    }
}

/// `sum q[j] * x[j]` over the columns `from..cols` (those that do not fill a group).
///
/// # Safety
///
/// `q` is valid for `cols` bytes; `x.len() >= cols`.
#[inline(always)]
unsafe fn tail(q: *const u8, x: &[i16], from: usize, cols: usize) -> i32 {
    let mut s = 0;
    // (An index loop: it compiles to the least code around the callers' hot loops.)
    let mut j = from;
    while j < cols {
        // SAFETY: `j < cols` (the caller's bound on `q`).
        s += unsafe { *q.add(j) } as i8 as i32 * x[j] as i32;
        j += 1;
    }
    s
}

/// The little-endian f32 at element `i`.
///
/// # Safety
///
/// `p` is valid for `4 * (i + 1)` bytes.
#[inline(always)]
unsafe fn f32_at(p: *const u8, i: usize) -> f32 {
    // SAFETY: the caller's bound; an unaligned read.
    f32::from_bits(u32::from_le(unsafe {
        p.add(4 * i).cast::<u32>().read_unaligned()
    }))
}

/// `out[r] += (scale_r * x_scale) * (q_r . x)` for every row, `x` paired into `buf`:
/// the kernel takes the rows four at a time (one paired word serves them all), as
/// many tiles as the rest of `buf` holds dot products, then one loop adds them,
/// walking the rows by pointer with no check per row (the caller checked the shapes).
///
/// Not inlined: the one copy of these loops serves [`gemv_i8_i16`] and the
/// one-input passes of [`project_i8_i16`], which lends it its buffer.
///
/// # Safety
///
/// `w.in_bounds()`, `w.cols <= MAX_COLS`, `x.len() >= w.cols`, `out.len() >= w.rows`.
#[inline(never)]
unsafe fn add_rows<K: DualMac>(
    w: &Rows<'_>,
    x: &[i16],
    x_scale: f32,
    buf: &mut Buf,
    out: &mut [f32],
) {
    let (rows, cols, stride) = (w.rows, w.cols, w.stride);
    let groups = cols / 4;
    pair(x, groups, buf, 2, 0);
    let (x_paired, res) = buf.split_at_mut(2 * groups);
    // At least one tile: `2 * groups <= BUF_WORDS - 4` (`cols <= MAX_COLS`).
    let tiles_max = res.len() / 4;
    let (x_paired, res) = (x_paired.as_ptr().cast(), res.as_mut_ptr().cast::<i32>());
    let (mut q, mut scale, mut o) = (w.data.as_ptr(), w.scales.as_ptr(), out.as_mut_ptr());
    let mut left = rows;
    while left > 0 {
        // Rows `r..r + n` (`r = rows - left`): tiles of four, or the last rows one at
        // a time (never for LSTM matrices, whose `4H` rows come in fours).
        let (s, tiles) = if left >= 4 {
            (stride, (left / 4).min(tiles_max))
        } else {
            (0, 1)
        };
        let n = if s == 0 { 1 } else { 4 * tiles };
        // SAFETY: rows `r..r + n` exist: with `cols >= 4 * groups` bytes each, `stride`
        // apart, they and their scales lie in the slices (`in_bounds`), and `o` points
        // at `out[r]` (`out.len() >= rows`); the kernel's `4 * tiles` rows are among
        // them (`s = 0`: row `r` four times) and `res` holds their `4 * tiles <=
        // BUF_WORDS - 2 * groups` dot products, written before they are read;
        // `x_paired` holds the `2 * groups` paired words (written by `pair` above), and
        // `dot_rows` runs only for `groups >= 1`.
        unsafe {
            if groups > 0 {
                K::dot_rows(q, s, x_paired, groups, tiles, res);
            } else {
                res.write_bytes(0, n);
            }
            if cols % 4 != 0 {
                for i in 0..n {
                    *res.add(i) += tail(q.add(i * stride), x, 4 * groups, cols);
                }
            }
            add_scaled(res, scale, x_scale, o, n);
        }
        // (Past the last row at the end: never read, hence wrapping.)
        q = q.wrapping_add(n * stride);
        scale = scale.wrapping_add(4 * n);
        o = o.wrapping_add(n);
        left -= n;
    }
}

/// `o[i] += (scale_i * x_scale) * d[i]` for `i < n`: the dot products `d` into the
/// outputs, in a function of its own, whose loop keeps its pointers in registers.
///
/// # Safety
///
/// `d` is valid for `n` words, `scale` for `4 * n` bytes and `o` for `n` f32.
#[inline(never)]
unsafe fn add_scaled(d: *const i32, scale: *const u8, x_scale: f32, o: *mut f32, n: usize) {
    for i in 0..n {
        // SAFETY: `i < n`, the caller's bounds.
        unsafe { *o.add(i) += (f32_at(scale, i) * x_scale) * *d.add(i) as f32 };
    }
}

/// `out[r] += (scale_r * x_scale) * (q_r . xq)`, as the scalar path computes it.
/// False (nothing done) for rows longer than [`MAX_COLS`].
///
/// # Safety
///
/// `w.in_bounds()`, `xq.len() >= w.cols`, `out.len() >= w.rows`.
pub(super) unsafe fn gemv_i8_i16<K: DualMac>(
    w: &Rows<'_>,
    xq: &[i16],
    x_scale: f32,
    out: &mut [f32],
) -> bool {
    if w.cols > MAX_COLS {
        return false;
    }
    // SAFETY: the caller's bounds, and `cols <= MAX_COLS`.
    unsafe { add_rows::<K>(w, xq, x_scale, &mut buf(), out) };
    true
}

/// `out[t * rows + r] = bias[r] + (scale_r * x_scales[t]) * (q_r . xq_t)` for the
/// `b = x_scales.len()` inputs, as the scalar path computes it: four inputs per pass
/// while they fit the buffer together, then one at a time. False (nothing done) for
/// rows longer than [`MAX_COLS`].
///
/// # Safety
///
/// `w.in_bounds()`, `xq.len() >= b * w.cols`, `bias.len() >= 4 * w.rows`, `out.len()
/// >= b * w.rows`.
pub(super) unsafe fn project_i8_i16<K: DualMac>(
    w: &Rows<'_>,
    xq: &[i16],
    x_scales: &[f32],
    bias: &[u8],
    out: &mut [f32],
) -> bool {
    let (rows, cols, stride, b) = (w.rows, w.cols, w.stride, x_scales.len());
    const _: () = assert!(TOKENS == 4);
    let groups = cols / 4;
    if cols > MAX_COLS {
        return false;
    }
    let input = |t: usize| &xq[t * cols..(t + 1) * cols];
    let (data, scales, bias) = (w.data.as_ptr(), w.scales.as_ptr(), bias.as_ptr());
    let mut buf = buf();
    let mut t = 0;
    while t + TOKENS <= b && groups > 0 && 2 * TOKENS * groups <= BUF_WORDS {
        for k in 0..TOKENS {
            pair(input(t + k), groups, &mut buf, 2 * TOKENS, 2 * k);
        }
        let xs: [f32; TOKENS] = core::array::from_fn(|k| x_scales[t + k]);
        let o = out[t * rows..(t + TOKENS) * rows].as_mut_ptr();
        let mut q = data;
        for r in 0..rows {
            // SAFETY: `q` is row `r < rows` (`cols >= 4 * groups` bytes): it, its
            // scale and bias lie in the slices (`in_bounds`, the caller's bound on
            // `bias`), `o` holds `TOKENS * rows` elements; `buf` holds the `2 * TOKENS
            // * groups <= BUF_WORDS` interleaved words (all written by the `pair` calls
            // above), and `groups >= 1`.
            unsafe {
                let mut d = K::dot1x4(q, buf.as_ptr().cast(), groups);
                if cols % 4 != 0 {
                    for (k, d) in d.iter_mut().enumerate() {
                        *d += tail(q, input(t + k), 4 * groups, cols);
                    }
                }
                // The scalar path's operations, with the row's scale and bias read once.
                let (scale, bias_r) = (f32_at(scales, r), f32_at(bias, r));
                let o = o.add(r);
                *o = bias_r + (scale * xs[0]) * d[0] as f32;
                *o.add(rows) = bias_r + (scale * xs[1]) * d[1] as f32;
                *o.add(2 * rows) = bias_r + (scale * xs[2]) * d[2] as f32;
                *o.add(3 * rows) = bias_r + (scale * xs[3]) * d[3] as f32;
            }
            // (Past the last row at the end: never read, hence wrapping.)
            q = q.wrapping_add(stride);
        }
        t += TOKENS;
    }
    // One input at a time: the bias, then the products added as `gemv_i8_i16` adds
    // them (`bias + p` is the f32 sum `p + bias`).
    while t < b {
        let out = &mut out[t * rows..(t + 1) * rows];
        for (r, o) in out.iter_mut().enumerate() {
            // SAFETY: `r < rows`, the caller's bound on `bias`.
            *o = unsafe { f32_at(bias, r) };
        }
        // SAFETY: the caller's bounds (`out` is this input's `rows` elements), and
        // `cols <= MAX_COLS`.
        unsafe { add_rows::<K>(w, input(t), x_scales[t], &mut buf, out) };
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
    unsafe fn dot_rows(
        q: *const u8,
        s: usize,
        x: *const u32,
        groups: usize,
        tiles: usize,
        res: *mut i32,
    ) {
        // Registers: r0 row 0 of the tile, r4 row 2 (rows 1 and 3 at `+ s`, r1), r2
        // `x`, r3 the groups left; the four sums, the paired input and a row word's
        // halves where the compiler puts them. `x`, `groups`, `res` and the tiles left
        // live on the stack (`[sp]` to `[sp, #12]`).
        //
        // SAFETY: each tile reads 4 bytes of each of its four rows and 2 words
        // (`ldrd`: `x` is word-aligned) of `x` per group, `groups >= 1` times, and
        // writes its four sums at `res` (word-aligned), `tiles >= 1` times: within the
        // caller's bounds. The 16 bytes of stack it takes it gives back; it restores
        // nothing else (the flags are not preserved: no `preserves_flags`).
        unsafe {
            core::arch::asm!(
                "sub sp, sp, #16",
                "strd r2, r3, [sp]",
                "strd {a0}, {a1}, [sp, #8]",
                "3:",
                "ldrd r2, r3, [sp]",
                "add.w r4, r0, r1, lsl #1",
                "movs {a0}, #0",
                "movs {a1}, #0",
                "movs {a2}, #0",
                "movs {a3}, #0",
                "2:",
                "ldrd {x02}, {x13}, [r2], #8",
                "ldr {e}, [r0, r1]",
                "sxtb16 {o}, {e}, ror #8",
                "sxtb16 {e}, {e}",
                "smlad {a1}, {e}, {x02}, {a1}",
                "smlad {a1}, {o}, {x13}, {a1}",
                "ldr {e}, [r4, r1]",
                "sxtb16 {o}, {e}, ror #8",
                "sxtb16 {e}, {e}",
                "smlad {a3}, {e}, {x02}, {a3}",
                "smlad {a3}, {o}, {x13}, {a3}",
                "ldr {e}, [r0], #4",
                "sxtb16 {o}, {e}, ror #8",
                "sxtb16 {e}, {e}",
                "smlad {a0}, {e}, {x02}, {a0}",
                "smlad {a0}, {o}, {x13}, {a0}",
                "ldr {e}, [r4], #4",
                "sxtb16 {o}, {e}, ror #8",
                "sxtb16 {e}, {e}",
                "smlad {a2}, {e}, {x02}, {a2}",
                "smlad {a2}, {o}, {x13}, {a2}",
                "subs r3, r3, #1",
                "bne 2b",
                // The sums out; row 0 of the next tile: back `4 * groups`, on `4 * s`.
                "ldr {e}, [sp, #8]",
                "strd {a0}, {a1}, [{e}], #8",
                "strd {a2}, {a3}, [{e}], #8",
                "str {e}, [sp, #8]",
                "ldr {e}, [sp, #4]",
                "sub.w r0, r0, {e}, lsl #2",
                "add.w r0, r0, r1, lsl #2",
                "ldr {e}, [sp, #12]",
                "subs {e}, {e}, #1",
                "str {e}, [sp, #12]",
                "bne 3b",
                "add sp, sp, #16",
                inout("r0") q => _,
                in("r1") s,
                inout("r2") x => _,
                inout("r3") groups => _,
                out("r4") _,
                a0 = inout(reg) res => _,
                a1 = inout(reg) tiles => _,
                a2 = out(reg) _,
                a3 = out(reg) _,
                x02 = out(reg) _,
                x13 = out(reg) _,
                e = out(reg) _,
                o = out(reg) _,
            );
        }
    }

    #[inline(always)]
    unsafe fn dot1x4(q: *const u8, x: *const u32, groups: usize) -> [i32; TOKENS] {
        let (mut a0, mut a1, mut a2, mut a3) = (0i32, 0i32, 0i32, 0i32);
        // Per group: the row word, its halves, then two inputs' paired words at a time
        // (`ldm` of four registers, which must be named in ascending order: r8 to r11).
        //
        // SAFETY: the loop runs `groups >= 1` times, reading 4 bytes of the row and
        // 8 words (`x` is word-aligned) of `x` per group: within the caller's bounds.
        // It writes no memory and keeps to its operands.
        unsafe {
            core::arch::asm!(
                "2:",
                "ldr {e}, [{q}], #4",
                "sxtb16 {o}, {e}, ror #8",
                "sxtb16 {e}, {e}",
                "ldm {x}!, {{r8, r9, r10, r11}}",
                "smlad {a0}, {e}, r8, {a0}",
                "smlad {a0}, {o}, r9, {a0}",
                "smlad {a1}, {e}, r10, {a1}",
                "smlad {a1}, {o}, r11, {a1}",
                "ldm {x}!, {{r8, r9, r10, r11}}",
                "smlad {a2}, {e}, r8, {a2}",
                "smlad {a2}, {o}, r9, {a2}",
                "smlad {a3}, {e}, r10, {a3}",
                "smlad {a3}, {o}, r11, {a3}",
                "subs {n}, {n}, #1",
                "bne 2b",
                q = inout(reg) q => _,
                x = inout(reg) x => _,
                n = inout(reg) groups => _,
                a0 = inout(reg) a0,
                a1 = inout(reg) a1,
                a2 = inout(reg) a2,
                a3 = inout(reg) a3,
                e = out(reg) _,
                o = out(reg) _,
                out("r8") _,
                out("r9") _,
                out("r10") _,
                out("r11") _,
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
        unsafe fn dot_rows(
            q: *const u8,
            s: usize,
            x: *const u32,
            groups: usize,
            tiles: usize,
            res: *mut i32,
        ) {
            for r in 0..4 * tiles {
                let mut a = 0;
                for g in 0..groups {
                    // SAFETY: `r < 4 * tiles`, `g < groups` (the trait's bounds).
                    unsafe {
                        let (x02, x13) = (x.add(2 * g).read(), x.add(2 * g + 1).read());
                        a = group(word(q.add(r * s), g), x02, x13, a);
                    }
                }
                // SAFETY: `r < 4 * tiles` (the trait's bounds).
                unsafe { res.add(r).write(a) };
            }
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
