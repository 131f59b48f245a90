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
//! the four products `b0 x0 + b2 x2 + b1 x1 + b3 x3` exactly. Rows whose length is
//! not a multiple of four, the rows past the last tile of four, and the one-input
//! products of a matrix whose scales are not word-aligned (a blob placed at an address
//! that is not a multiple of four), are summed in plain Rust. The f32 operations after the dot products (`o += (scale * x_scale) * dot`,
//! `bias + (scale * x_scale) * dot`) run in the same `asm!` blocks (VFP: `vmla` rounds
//! the product, then the sum, as the two operations of the scalar path do). Inputs are
//! read as little-endian words (every Cortex-M build here, and the hosts that test the
//! portable model).
//!
//! Exactness: rows of at most [`MAX_COLS`] columns, `|q| <= 128`, `|x| <= 16383`, so
//! every partial sum stays below `128 * 16383 * 512 < 2^31` and the i32 accumulators
//! hold the exact integer dot product: the scalar `dot_i8_i16`, bit for bit.
//!
//! Weight rows are read with word loads at any alignment, as compiled Rust does on
//! these targets (ARMv7-M and ARMv8-M Mainline load unaligned words unless
//! `CCR.UNALIGN_TRP` is set, which would fault compiled code too).
//!
//! The kernels' logic (pairing, tiles, the rows left to plain Rust, the float
//! operations around them) is written once over [`DualMac`]; the host tests run it
//! with a portable model of the instructions against the scalar path, and the
//! firmware test compares the Cortex-M build (the `asm!` form) with the host bit for
//! bit.

use core::mem::MaybeUninit;

use super::Rows;

/// Words of the stack buffer that holds the paired inputs (1 KiB). It is not zeroed
/// (that would cost more than the pairing): the kernels read only the words that
/// [`pair`] wrote.
const BUF_WORDS: usize = 256;
/// Longest rows the kernels take (one paired input leaves the buffer room to spare).
pub(super) const MAX_COLS: usize = 2 * (BUF_WORDS - 4);
/// Inputs per pass of the block projection (each weight word serves all of them).
const TOKENS: usize = 4;

/// The dual multiply-accumulate loops.
pub(super) trait DualMac {
    /// `o[i] += (scale_i * x_scale) * (q_i . x)` for the `4 * tiles` rows `q_i = q + i
    /// s` (tiles of four rows), over `groups` groups of four columns: rows of `4 *
    /// groups` bytes, `x` paired (two words per group), `scale_i` the little-endian f32
    /// at `scale + 4 i`. The same f32 operations as the scalar path.
    ///
    /// # Safety
    ///
    /// The `4 * tiles` rows are valid for `4 * groups` bytes, `x` for `2 * groups`
    /// words, `scale` (word-aligned) for `16 * tiles` bytes, `o` (aligned) for reading
    /// and writing `4 * tiles` f32; `groups >= 1`, `tiles >= 1`.
    #[allow(clippy::too_many_arguments)]
    unsafe fn add_tiles(
        q: *const u8,
        s: usize,
        x: *const u32,
        groups: usize,
        tiles: usize,
        scale: *const u8,
        x_scale: f32,
        o: *mut f32,
    );
    /// `o[k rows + r] = bias_r + (scale_r * xs[k]) * (q_r . x_k)` for the `rows` rows
    /// `q_r = q + r stride` (of `4 * groups` bytes) and the four inputs `x_k`, paired
    /// and interleaved in `x` (eight words per group: two per input); `scale_r` and
    /// `bias_r` the little-endian f32 at `scale + 4 r` and `bias + 4 r`. The same f32
    /// operations as the scalar path.
    ///
    /// # Safety
    ///
    /// The rows are valid for `4 * groups` bytes, `x` for `8 * groups` words, `scale`
    /// and `bias` for `4 * rows` bytes, `o` (aligned) for writing `4 * rows` f32;
    /// `stride >= 4 * groups`, `groups >= 1`, `rows >= 1`.
    #[allow(clippy::too_many_arguments)]
    unsafe fn project_rows(
        q: *const u8,
        stride: usize,
        x: *const u32,
        groups: usize,
        rows: usize,
        scale: *const u8,
        bias: *const u8,
        xs: &[f32; TOKENS],
        o: *mut f32,
    );
}

/// The paired inputs (see [`BUF_WORDS`]).
type Buf = [MaybeUninit<u32>; BUF_WORDS];

/// A buffer for [`pair`], not initialized.
fn buf() -> Buf {
    [MaybeUninit::uninit(); BUF_WORDS]
}

/// Pairs the first `groups` groups of four of `x` into `out`: group `g` becomes
/// `out[g * step + first]` = `x0 | x2 << 16` and `out[g * step + first + 1]` = `x1 | x3
/// << 16`. Each group is read as two words, `x1:x0` and `x3:x2`, whose low and high
/// halves make the pairs (`PKHBT`, `PKHTB`).
///
/// # Safety
///
/// `x.len() >= 4 * groups`; `groups == 0` or `out.len() >= first + (groups - 1) * step
/// + 2`.
#[inline(never)]
unsafe fn pair(x: &[i16], groups: usize, out: &mut [MaybeUninit<u32>], step: usize, first: usize) {
    let (x, out) = (x.as_ptr().cast::<u32>(), out.as_mut_ptr().cast::<u32>());
    for g in 0..groups {
        // SAFETY: `g < groups`: the two words of group `g` lie in `x` (read at any
        // alignment), the two written in `out` (the caller's bounds).
        unsafe {
            let (lo, hi) = (
                x.add(2 * g).read_unaligned(),
                x.add(2 * g + 1).read_unaligned(),
            );
            let o = out.add(g * step + first);
            o.write(u32::from_le(lo) & 0xFFFF | u32::from_le(hi) << 16);
            o.add(1)
                .write(u32::from_le(lo) >> 16 | u32::from_le(hi) & 0xFFFF_0000);
        }
    }
}

/// `sum q[j] * x[j]` over the `cols` columns, in plain Rust (the rows the kernels do
/// not take).
///
/// # Safety
///
/// `q` is valid for `cols` bytes; `x.len() >= cols`.
#[inline(always)]
unsafe fn dot_row(q: *const u8, x: &[i16], cols: usize) -> i32 {
    let mut s = 0;
    // (An index loop: it compiles to the least code around the callers' hot loops.)
    let mut j = 0;
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

/// `out[r] += (scale_r * x_scale) * (q_r . x)` for every row: with rows of whole groups
/// of four columns, `x` paired into `buf` and the rows four at a time by the kernel
/// (one paired word serves them all), which adds their products into `out` as it
/// goes; the rows left (the last `rows % 4`, or every row of a length that is not a
/// multiple of four or whose scales are not word-aligned) one at a time in plain Rust.
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
    let (q, scale) = (w.data.as_ptr(), w.scales.as_ptr());
    let groups = cols / 4;
    let mut done = 0;
    if cols % 4 == 0 && groups > 0 && rows >= 4 && scale.cast::<f32>().is_aligned() {
        // SAFETY: `x.len() >= cols = 4 * groups`, `buf` holds `2 * groups <= BUF_WORDS`.
        unsafe { pair(x, groups, buf, 2, 0) };
        done = rows / 4 * 4;
        // SAFETY: rows `0..done` exist: with `cols = 4 * groups` bytes each, `stride`
        // apart, they and their scales lie in the slices (`in_bounds`), and `out` holds
        // `rows >= done` f32; `buf` holds the `2 * groups <= BUF_WORDS` paired words
        // (written by `pair` above); `scale` is word-aligned; `groups >= 1`, `done / 4
        // >= 1`.
        unsafe {
            K::add_tiles(
                q,
                stride,
                buf.as_ptr().cast(),
                groups,
                done / 4,
                scale,
                x_scale,
                out.as_mut_ptr(),
            )
        };
    }
    // (An index loop: it compiles to the least code.)
    let mut r = done;
    while r < rows {
        // SAFETY: row `r < rows` holds `cols` bytes and has a scale (`in_bounds`).
        let d = unsafe { dot_row(q.add(r * stride), x, cols) };
        // SAFETY: as above.
        out[r] += (unsafe { f32_at(scale, r) } * x_scale) * d as f32;
        r += 1;
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
    // Four inputs per pass for rows of whole groups of four columns (other lengths
    // take the one-input passes).
    while t + TOKENS <= b && cols % 4 == 0 && groups > 0 && 2 * TOKENS * groups <= BUF_WORDS {
        for k in 0..TOKENS {
            // SAFETY: the input holds `cols = 4 * groups` values, `buf` the `2 * TOKENS *
            // groups <= BUF_WORDS` words written.
            unsafe { pair(input(t + k), groups, &mut buf, 2 * TOKENS, 2 * k) };
        }
        let xs: [f32; TOKENS] = core::array::from_fn(|k| x_scales[t + k]);
        let o = out[t * rows..(t + TOKENS) * rows].as_mut_ptr();
        if rows > 0 {
            // SAFETY: the `rows` rows of `cols = 4 * groups` bytes, `stride >= cols`
            // apart, their scales and biases lie in the slices (`in_bounds`, the
            // caller's bound on `bias`), `o` holds `TOKENS * rows` elements; `buf`
            // holds the `2 * TOKENS * groups <= BUF_WORDS` interleaved words (all
            // written by the `pair` calls above), and `groups >= 1`.
            unsafe {
                K::project_rows(
                    data,
                    stride,
                    buf.as_ptr().cast(),
                    groups,
                    rows,
                    scales,
                    bias,
                    &xs,
                    o,
                )
            };
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

/// The loop of [`max_magnitude_bits`] and [`max_u32_steps`]: `m = max(m, v << shift)`
/// over `n >= 1` steps of four words from `p` (aligned: `ldm`), a compare and a
/// conditional move each: 15 instructions per step. An `asm!` for an `unsafe` block of
/// the caller, which says why it may read the words; the flags are not preserved.
#[cfg(postag_arm_dsp)]
macro_rules! max_words {
    ($shift:literal, $p:expr, $n:expr, $m:ident) => {
        {
            core::arch::asm!(
                "2:",
                "ldm {p}!, {{r8, r9, r10, r11}}",
                concat!("cmp.w {m}, r8, lsl #", $shift),
                "it cc",
                concat!("movcc.w {m}, r8, lsl #", $shift),
                concat!("cmp.w {m}, r9, lsl #", $shift),
                "it cc",
                concat!("movcc.w {m}, r9, lsl #", $shift),
                concat!("cmp.w {m}, r10, lsl #", $shift),
                "it cc",
                concat!("movcc.w {m}, r10, lsl #", $shift),
                concat!("cmp.w {m}, r11, lsl #", $shift),
                "it cc",
                concat!("movcc.w {m}, r11, lsl #", $shift),
                "subs {n}, {n}, #1",
                "bne 2b",
                p = inout(reg) $p => _,
                n = inout(reg) $n => _,
                m = inout(reg) $m,
                out("r8") _,
                out("r9") _,
                out("r10") _,
                out("r11") _,
            );
        }
    };
}

/// `max_i (x[i].to_bits() << 1)` from 0 over `x`: the magnitudes' bits with the sign
/// shifted out, as [`crate::kernels::quantize_i16`] compares them (finite magnitudes
/// order as their bits, infinity and NaN above). Four values per step in assembly
/// ([`max_words`]), the rest in Rust.
#[cfg(all(postag_arm_dsp, target_abi = "eabihf"))]
pub(crate) fn max_magnitude_bits(x: &[f32]) -> u32 {
    let steps = x.len() / 4;
    let mut m = 0u32;
    if steps > 0 {
        // SAFETY: `steps >= 1` steps of four aligned f32 of `x`, `4 * steps <= x.len()`.
        unsafe { max_words!(1, x.as_ptr(), steps, m) };
    }
    x.get(4 * steps..)
        .unwrap_or_default()
        .iter()
        .fold(m, |m, v| m.max(v.to_bits() << 1))
}

/// The largest of the leading values of `x` that whole steps of four take in assembly
/// ([`max_words`]; 0 for none, and none where `x` is not word-aligned), and the values
/// after them.
#[cfg(postag_arm_dsp)]
pub(crate) fn max_u32_steps(x: crate::tensor::U32s<'_>) -> (u32, crate::tensor::U32s<'_>) {
    let bytes = x.as_bytes();
    let steps = if bytes.as_ptr().align_offset(4) == 0 {
        bytes.len() / 16
    } else {
        0
    };
    let mut m = 0u32;
    if steps > 0 {
        // SAFETY: `steps >= 1` steps of four words of `bytes` (word-aligned), `16 *
        // steps <= bytes.len()`.
        unsafe { max_words!(0, bytes.as_ptr(), steps, m) };
    }
    let rest = &bytes[16 * steps..];
    (
        m,
        crate::tensor::U32s::new(rest, rest.len() / 4).unwrap_or(crate::tensor::U32s::EMPTY),
    )
}

/// [`crate::crc32`]'s `reduce` in Thumb-2: `s[k] = w[k] ^ s[k - 145] ^ s[k - 183] ^
/// s[k - 211] ^ s[k - 300]` for the 300 words of `block`, from the 300 values before
/// them in `buf[..300]`, each value into both halves of `buf` (see the portable
/// form). Four words per step: one `ldm` of the input and one of each lag, sixteen
/// `eors`, two `stm` (24 instructions, where compiled code takes 15 per word); three
/// steps per pass of the loop (25 passes).
#[cfg(postag_arm_dsp)]
pub(crate) fn crc32_reduce(
    block: &[u32; crate::crc32::HISTORY],
    buf: &mut [u32; crate::crc32::BUF],
) {
    // The offsets and counts written in the loop.
    const { assert!(crate::crc32::HISTORY == 300 && crate::crc32::BUF == 600) };
    const { assert!(matches!(crate::crc32::LAGS, [145, 183, 211, 300])) };
    // SAFETY: 300 aligned words to read at `block`; `buf` is 600 aligned words, read
    // and written as the loop's text says.
    unsafe { reduce_words(block.as_ptr(), buf.as_mut_ptr()) }
}

/// One step of [`reduce_words`]: four words (see there).
#[cfg(postag_arm_dsp)]
macro_rules! reduce_step {
    () => {
        concat!(
            "ldmia r8!, {{r0-r3}}\n",
            "ldmia r9!, {{r4-r7}}\n",
            "eors r0, r4\n",
            "eors r1, r5\n",
            "eors r2, r6\n",
            "eors r3, r7\n",
            "ldmia r10!, {{r4-r7}}\n",
            "eors r0, r4\n",
            "eors r1, r5\n",
            "eors r2, r6\n",
            "eors r3, r7\n",
            "ldmia r11!, {{r4-r7}}\n",
            "eors r0, r4\n",
            "eors r1, r5\n",
            "eors r2, r6\n",
            "eors r3, r7\n",
            "ldmia r12!, {{r4-r7}}\n",
            "eors r0, r4\n",
            "eors r1, r5\n",
            "eors r2, r6\n",
            "eors r3, r7\n",
            "stmdb r9, {{r0-r3}}\n",
            "addw r4, r9, #1184\n",
            "stmia r4, {{r0-r3}}\n",
        )
    };
}

/// The loop of [`crc32_reduce`]: `input` (r0) 300 words, `buf` (r1) 600 words.
///
/// Registers: r8 the input; r9, r10, r11 and r12 `s[k - 300]`, `s[k - 211]`, `s[k -
/// 183]` and `s[k - 145]` (each read four words at a time with write-back); lr the
/// passes left; r0-r3 the four values being computed, r4-r7 the four values of one lag
/// (all low registers: each `eors` is a 16-bit instruction). A step stores its values
/// over the four it read at `s[k - 300]` (`stmdb`, r9 having moved on) and 1200 bytes
/// further (1184 from the moved r9), in the second half.
///
/// # Safety
///
/// `input` is word-aligned and valid for 300 words; `buf` is word-aligned and valid
/// for reading and writing 600 words.
#[cfg(postag_arm_dsp)]
#[unsafe(naked)]
unsafe extern "C" fn reduce_words(input: *const u32, buf: *mut u32) {
    core::arch::naked_asm!(
        "push {{r4-r11, lr}}",
        "mov r8, r0",
        "mov r9, r1",
        "addw r10, r1, #356",
        "addw r11, r1, #468",
        "addw r12, r1, #620",
        "movs r0, #25",
        "mov lr, r0",
        "2:",
        reduce_step!(),
        reduce_step!(),
        reduce_step!(),
        "subs lr, lr, #1",
        "bne 2b",
        "pop {{r4-r11, pc}}",
    );
}

/// [`crate::vocab::StringTable`]'s check of its offsets after the first (which is
/// 0) for the strings `bytes`: each offset at most `bytes.len()`, not below the one
/// before it and on a character boundary (the byte there, if any, is not a UTF-8
/// continuation byte), the last equal to `bytes.len()`; with `sorted` every string
/// also above the one before it in byte order. `offsets` holds the little-endian
/// offsets after the first (at least one), at any alignment.
///
/// In Thumb-2: per string, away from the end of `bytes`, the two strings' bytes four
/// at a time as big-endian numbers (`rev`), read past the shorter one's end (the bytes
/// after the first string are the second's), the first difference within the common
/// length deciding (`clz` of the xor), else the lengths; near the end a byte at a
/// time. About 31 instructions per string where compiled code took 51.
#[cfg(postag_arm_dsp)]
pub(crate) fn strings_valid(bytes: &[u8], offsets: &[u8], sorted: bool) -> bool {
    // (`check_strings` reads whole words up to the last.)
    let offsets = &offsets[..offsets.len() & !3];
    if offsets.is_empty() {
        return bytes.is_empty();
    }
    let range = bytes.as_ptr_range();
    // Where a string may start for the four-byte reads: three bytes before the end.
    let limit = range.end.wrapping_sub(3.min(bytes.len()));
    let offsets = offsets.as_ptr_range();
    // SAFETY: `check_strings` reads the words in `offsets` (a valid range of whole
    // words) and the bytes of `bytes` (valid from `range.start` to `range.end`) only,
    // as its text says; it writes nothing.
    unsafe {
        check_strings(
            offsets.start,
            offsets.end,
            range.start,
            if sorted { !0 } else { 0 },
            limit,
            range.end,
        ) != 0
    }
}

/// The loop of [`strings_valid`]: `next` (r0) and `end` (r1) the offsets' words,
/// `base` (r2) the strings' bytes, `sorted` (r3) all ones or zero, `limit` and
/// `bytes_end` (on the stack) the end of the bytes less 3 (or less their length) and
/// the end. Returns 1 if the table is valid, else 0.
///
/// Registers: r4 the start of the string before (0 before the first and in an
/// unsorted table: `ands r4, r5, r3`), r5 its end (the start of this one), r6 this
/// one's end (`base` + the offset), r7 `limit`; r11 the first string's length, r12
/// the second's, then the common length, lr the first string's bytes from where the comparison is (the
/// second's at `lr + r11`), r8 and r9 four bytes of each, r10 their xor's leading
/// zeros.
///
/// # Safety
///
/// `next..end` is a whole number (at least one) of readable words; `base..bytes_end`
/// readable bytes, `limit` as described (between `base` and `bytes_end`).
#[cfg(postag_arm_dsp)]
#[unsafe(naked)]
unsafe extern "C" fn check_strings(
    next: *const u8,
    end: *const u8,
    base: *const u8,
    sorted: usize,
    limit: *const u8,
    bytes_end: *const u8,
) -> u32 {
    core::arch::naked_asm!(
        "push {{r4-r11, lr}}",
        "ldr r7, [sp, #36]",
        "movs r4, #0",
        "mov r5, r2",
        "2:",
        "ldr r6, [r0], #4",
        "add r6, r2",
        // This string's length, and not below the string before (an offset past the
        // end wraps around below `base` or takes the path near the end).
        "subs r12, r6, r5",
        "blo 9f",
        "cmp r6, r7",
        "bhs 6f",
        "ldrsb r8, [r6]",
        "cmn r8, #65",
        "ble 9f",
        "cbz r4, 5f",
        // The common length.
        "subs r11, r5, r4",
        "cmp r12, r11",
        "it hi",
        "movhi r12, r11",
        "mov lr, r4",
        "3:",
        "ldr r9, [lr, r11]",
        "ldr r8, [lr], #4",
        "cmp r8, r9",
        "bne 4f",
        "subs r12, r12, #4",
        "bhi 3b",
        "b 8f",
        "4:",
        "rev r8, r8",
        "rev r9, r9",
        "eor r10, r8, r9",
        "clz r10, r10",
        // The first difference at or past the common length: the lengths decide.
        "cmp.w r12, r10, lsr #3",
        "bls 8f",
        "cmp r8, r9",
        "bhs 9f",
        "5:",
        "ands r4, r5, r3",
        "mov r5, r6",
        "cmp r0, r1",
        "bne 2b",
        "ldr r6, [sp, #40]",
        "cmp r5, r6",
        "bne 9f",
        "movs r0, #1",
        "pop {{r4-r11, pc}}",
        // Near or past the end.
        "6:",
        "ldr r8, [sp, #40]",
        "cmp r6, r8",
        "bhi 9f",
        "beq 7f",
        "ldrsb r8, [r6]",
        "cmn r8, #65",
        "ble 9f",
        "7:",
        "cmp r4, #0",
        "beq 5b",
        // A byte at a time (r12 still this string's length): r10 counts.
        "subs r11, r5, r4",
        "cmp r12, r11",
        "it hi",
        "movhi r12, r11",
        "movs r10, #0",
        "1:",
        "cmp r10, r12",
        "bhs 8f",
        "ldrb r8, [r4, r10]",
        "ldrb r9, [r5, r10]",
        "adds r10, #1",
        "cmp r8, r9",
        "beq 1b",
        "bhi 9f",
        "b 5b",
        // Equal over the common length: the shorter first.
        "8:",
        "subs r10, r5, r4",
        "subs r11, r6, r5",
        "cmp r10, r11",
        "blo 5b",
        "9:",
        "movs r0, #0",
        "pop {{r4-r11, pc}}",
    );
}

/// The cell state update of [`crate::kernels::lstm_cell`]: `c[j] = f[j] * c[j] + i[j] *
/// t[j]`, the new `c[j]` also into `t[j]` (where the tanh pass takes it), over the
/// shortest of the four. The same f32 operations as the Rust loop (`vmla` rounds the
/// product, then the sum), two elements per pass (one `vldm` or `vstm` of two
/// registers per slice): 6 instructions per element where compiled code takes 14.
#[cfg(all(postag_arm_dsp, target_abi = "eabihf"))]
pub(crate) fn cell_state(c: &mut [f32], i: &[f32], f: &[f32], t: &mut [f32]) {
    let n = c.len().min(i.len()).min(f.len()).min(t.len());
    if n == 0 {
        return;
    }
    // SAFETY: one element when `n` is odd, then `n / 2` passes of two, reading `i`, `f`,
    // `t` and `c` and writing `c` and `t` at the elements `0..n` (all aligned f32 slices
    // of at least `n` elements). It saves and restores s0-s7 itself (see `add_tiles`);
    // the 32 bytes of stack it takes it gives back; the flags are not preserved.
    unsafe {
        core::arch::asm!(
            "vpush {{s0-s7}}",
            "lsrs {n}, {n}, #1",
            "bcc 2f",
            "vldmia {i}!, {{s0}}",
            "vldmia {f}!, {{s2}}",
            "vldr s4, [{t}]",
            "vldr s6, [{c}]",
            "vmul.f32 s6, s2, s6",
            "vmla.f32 s6, s0, s4",
            "vstmia {c}!, {{s6}}",
            "vstmia {t}!, {{s6}}",
            "cmp {n}, #0",
            "beq 3f",
            "2:",
            "vldmia {i}!, {{s0-s1}}",
            "vldmia {f}!, {{s2-s3}}",
            "vldm {t}, {{s4-s5}}",
            "vldm {c}, {{s6-s7}}",
            "vmul.f32 s6, s2, s6",
            "vmul.f32 s7, s3, s7",
            "vmla.f32 s6, s0, s4",
            "vmla.f32 s7, s1, s5",
            "vstmia {c}!, {{s6-s7}}",
            "vstmia {t}!, {{s6-s7}}",
            "subs {n}, {n}, #1",
            "bne 2b",
            "3:",
            "vpop {{s0-s7}}",
            c = inout(reg) c.as_mut_ptr() => _,
            i = inout(reg) i.as_ptr() => _,
            f = inout(reg) f.as_ptr() => _,
            t = inout(reg) t.as_mut_ptr() => _,
            n = inout(reg) n => _,
        );
    }
}

/// The output of [`crate::kernels::lstm_cell`]: `h[j] = o[j] * t[j]` (`t` holding
/// `tanh(c')`) over the shortest of the three, two elements per pass: 3.5 instructions
/// per element where compiled code takes 6.
#[cfg(all(postag_arm_dsp, target_abi = "eabihf"))]
pub(crate) fn gate_product(h: &mut [f32], o: &[f32], t: &[f32]) {
    let n = h.len().min(o.len()).min(t.len());
    if n == 0 {
        return;
    }
    // SAFETY: one element when `n` is odd, then `n / 2` passes of two, reading `o` and
    // `t` and writing `h` at the elements `0..n` (aligned f32 slices of at least `n`
    // elements). It saves and restores s0-s3 itself (see `add_tiles`); the 16 bytes of
    // stack it takes it gives back; the flags are not preserved.
    unsafe {
        core::arch::asm!(
            "vpush {{s0-s3}}",
            "lsrs {n}, {n}, #1",
            "bcc 2f",
            "vldmia {o}!, {{s0}}",
            "vldmia {t}!, {{s2}}",
            "vmul.f32 s0, s0, s2",
            "vstmia {h}!, {{s0}}",
            "cmp {n}, #0",
            "beq 3f",
            "2:",
            "vldmia {o}!, {{s0-s1}}",
            "vldmia {t}!, {{s2-s3}}",
            "vmul.f32 s0, s0, s2",
            "vmul.f32 s1, s1, s3",
            "vstmia {h}!, {{s0-s1}}",
            "subs {n}, {n}, #1",
            "bne 2b",
            "3:",
            "vpop {{s0-s3}}",
            h = inout(reg) h.as_mut_ptr() => _,
            o = inout(reg) o.as_ptr() => _,
            t = inout(reg) t.as_ptr() => _,
            n = inout(reg) n => _,
        );
    }
}

/// The loops in Thumb-2 assembly.
#[cfg(postag_arm_dsp)]
pub(super) struct Asm;

/// One group of [`DualMac::add_tiles`]'s loop (four columns of its four rows): the
/// paired input words, then per row its weight word, unpacked, and two `SMLAD`s.
#[cfg(postag_arm_dsp)]
macro_rules! tile_group {
    () => {
        concat!(
            "ldrd {x02}, {x13}, [r2], #8\n",
            "ldr {e}, [r0, r1]\n",
            "sxtb16 {o}, {e}, ror #8\n",
            "sxtb16 {e}, {e}\n",
            "smlad {a1}, {e}, {x02}, {a1}\n",
            "smlad {a1}, {o}, {x13}, {a1}\n",
            "ldr {e}, [r4, r1]\n",
            "sxtb16 {o}, {e}, ror #8\n",
            "sxtb16 {e}, {e}\n",
            "smlad {a3}, {e}, {x02}, {a3}\n",
            "smlad {a3}, {o}, {x13}, {a3}\n",
            "ldr {e}, [r0], #4\n",
            "sxtb16 {o}, {e}, ror #8\n",
            "sxtb16 {e}, {e}\n",
            "smlad {a0}, {e}, {x02}, {a0}\n",
            "smlad {a0}, {o}, {x13}, {a0}\n",
            "ldr {e}, [r4], #4\n",
            "sxtb16 {o}, {e}, ror #8\n",
            "sxtb16 {e}, {e}\n",
            "smlad {a2}, {e}, {x02}, {a2}\n",
            "smlad {a2}, {o}, {x13}, {a2}\n",
        )
    };
}

#[cfg(postag_arm_dsp)]
impl DualMac for Asm {
    #[inline(always)]
    unsafe fn add_tiles(
        q: *const u8,
        s: usize,
        x: *const u32,
        groups: usize,
        tiles: usize,
        scale: *const u8,
        x_scale: f32,
        o: *mut f32,
    ) {
        // Registers: r0 row 0 of the tile, r4 row 2 (rows 1 and 3 at `+ s`, r1), r2
        // `x`, r3 the passes left (two groups each); the four sums, the paired input
        // and a row word's halves where the compiler puts them. `x`, `groups + 1`, the
        // scales, `o`, the end
        // of the outputs and the step from a tile's end to the next (`4 s - 4 groups`)
        // live on the stack (`[sp]` to `[sp, #20]`), and two zero words (`[sp, #24]`),
        // which start a tile's sums with two loads. After a tile's loop
        // the sums go to s0-s3 as f32, the scales to s4-s7 (one `vldm`: they are
        // word-aligned, which VFP loads need at any `CCR` setting; times `x_scale`), the
        // outputs to s8-s11: `o += (scale * x_scale) * sum` (`vmla`: the product
        // rounded, then the sum, as the scalar path's two operations), `x_scale` in
        // s12. It saves and restores s0-s12 itself: the `sreg` operands and clobbers
        // of `asm!` need the `vfp2` target feature (double precision), which the
        // Cortex-M4F's single-precision FPU lacks.
        //
        // SAFETY: each tile reads 4 bytes of each of its four rows and 2 words
        // (`ldrd`: `x` is word-aligned) of `x` per group, `groups >= 1` times, then 16
        // bytes of scales (`vldm`: `scale` is word-aligned) and reads and writes 4 f32
        // at `o` (word-aligned), `tiles >= 1` times: within the
        // caller's bounds. The 84 bytes of stack it takes it gives back; it restores
        // nothing else (the flags are not preserved: no `preserves_flags`).
        unsafe {
            core::arch::asm!(
                "vpush {{s0-s12}}",
                "vmov s12, {a3}",
                "sub sp, sp, #32",
                "strd {a0}, {a1}, [sp, #8]",
                "add.w {a2}, {a1}, {a2}, lsl #4",
                "lsls {a0}, r1, #2",
                "sub.w {a0}, {a0}, r3, lsl #2",
                "strd {a2}, {a0}, [sp, #16]",
                "adds r3, r3, #1",
                "strd r2, r3, [sp]",
                "movs {a0}, #0",
                "movs {a1}, #0",
                "strd {a0}, {a1}, [sp, #24]",
                "3:",
                "ldrd r2, r3, [sp]",
                "add.w r4, r0, r1, lsl #1",
                // The four sums from zero: two loads of the zeros at `[sp, #24]`.
                "ldrd {a0}, {a1}, [sp, #24]",
                "ldrd {a2}, {a3}, [sp, #24]",
                // Two groups per pass: `(groups + 1) / 2` passes, the first entered
                // at its second group when `groups` is odd (bit 0 of `groups + 1`,
                // shifted into the carry, clear).
                "lsrs r3, r3, #1",
                "bcc 4f",
                "2:",
                tile_group!(),
                "4:",
                tile_group!(),
                "subs r3, r3, #1",
                "bne 2b",
                // The sums into the outputs.
                "vmov s0, s1, {a0}, {a1}",
                "vmov s2, s3, {a2}, {a3}",
                "vcvt.f32.s32 s0, s0",
                "vcvt.f32.s32 s1, s1",
                "vcvt.f32.s32 s2, s2",
                "vcvt.f32.s32 s3, s3",
                "ldrd r2, r3, [sp, #8]",
                "vldmia r2!, {{s4-s7}}",
                "vmul.f32 s4, s4, s12",
                "vmul.f32 s5, s5, s12",
                "vmul.f32 s6, s6, s12",
                "vmul.f32 s7, s7, s12",
                "vldm r3, {{s8-s11}}",
                "vmla.f32 s8, s4, s0",
                "vmla.f32 s9, s5, s1",
                "vmla.f32 s10, s6, s2",
                "vmla.f32 s11, s7, s3",
                "vstm r3!, {{s8-s11}}",
                "strd r2, r3, [sp, #8]",
                // Row 0 of the next tile (back `4 * groups`, on `4 * s`), until the
                // outputs end.
                "ldrd r2, r4, [sp, #16]",
                "add r0, r0, r4",
                "cmp r3, r2",
                "bne 3b",
                "add sp, sp, #32",
                "vpop {{s0-s12}}",
                inout("r0") q => _,
                in("r1") s,
                inout("r2") x => _,
                inout("r3") groups => _,
                out("r4") _,
                a0 = inout(reg) scale => _,
                a1 = inout(reg) o => _,
                a2 = inout(reg) tiles => _,
                a3 = inout(reg) x_scale.to_bits() => _,
                x02 = out(reg) _,
                x13 = out(reg) _,
                e = out(reg) _,
                o = out(reg) _,
            );
        }
    }

    #[inline(always)]
    unsafe fn project_rows(
        q: *const u8,
        stride: usize,
        x: *const u32,
        groups: usize,
        rows: usize,
        scale: *const u8,
        bias: *const u8,
        xs: &[f32; TOKENS],
        o: *mut f32,
    ) {
        // Per group: the row word, its halves, then two inputs' paired words at a time
        // (`ldm` of four registers, which must be named in ascending order: r8 to r11).
        // Per row: the four sums to s0-s3 as f32, the scale and bias to s4 and s5,
        // `xs` in s12-s15, the outputs `bias + (scale * xs[k]) * sum` in s6-s9, stored
        // `4 * rows` bytes apart. On the stack (`[sp]` to `[sp, #28]`): `x`, `groups`,
        // the step from a row's end to the next row, `4 * rows`, the scale and bias
        // pointers, the output pointer and the rows left, then two zero words (`[sp,
        // #32]`), which start a row's sums with two loads. It saves and restores s0-s15
        // itself (see `add_tiles`).
        //
        // SAFETY: each row reads `4 * groups` bytes of the row and 8 words (`x` is
        // word-aligned) of `x` per group, `groups >= 1` times, 4 bytes of scales and 4
        // of biases (word loads at any alignment, as compiled code does) and writes 4
        // f32 at `o + r`, `rows` apart (word-aligned), `rows >= 1` times: within the
        // caller's bounds. The 104 bytes of stack it takes it gives back; it restores
        // nothing else (the flags are not preserved: no `preserves_flags`).
        unsafe {
            core::arch::asm!(
                "vpush {{s0-s15}}",
                "vldm {e}, {{s12-s15}}",
                "sub sp, sp, #40",
                "strd {x}, {n}, [sp]",
                "strd {a0}, r8, [sp, #8]",
                "strd {a2}, {a3}, [sp, #16]",
                "strd {o}, {a1}, [sp, #24]",
                "movs {a0}, #0",
                "movs {a1}, #0",
                "strd {a0}, {a1}, [sp, #32]",
                "3:",
                "ldrd {x}, {n}, [sp]",
                // The four sums from zero: two loads of the zeros at `[sp, #32]`.
                "ldrd {a0}, {a1}, [sp, #32]",
                "ldrd {a2}, {a3}, [sp, #32]",
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
                // The row's four outputs.
                "vmov s0, s1, {a0}, {a1}",
                "vmov s2, s3, {a2}, {a3}",
                "vcvt.f32.s32 s0, s0",
                "vcvt.f32.s32 s1, s1",
                "vcvt.f32.s32 s2, s2",
                "vcvt.f32.s32 s3, s3",
                "ldrd {e}, {o}, [sp, #16]",
                "ldr r8, [{e}], #4",
                "ldr r9, [{o}], #4",
                "strd {e}, {o}, [sp, #16]",
                "vmov s4, s5, r8, r9",
                "vmul.f32 s6, s4, s12",
                "vmul.f32 s7, s4, s13",
                "vmul.f32 s8, s4, s14",
                "vmul.f32 s9, s4, s15",
                "vmul.f32 s6, s6, s0",
                "vmul.f32 s7, s7, s1",
                "vmul.f32 s8, s8, s2",
                "vmul.f32 s9, s9, s3",
                "vadd.f32 s6, s5, s6",
                "vadd.f32 s7, s5, s7",
                "vadd.f32 s8, s5, s8",
                "vadd.f32 s9, s5, s9",
                "ldrd {a0}, {a1}, [sp, #24]",
                "ldrd {a2}, {a3}, [sp, #8]",
                "vstr s6, [{a0}]",
                "add r8, {a0}, {a3}",
                "vstr s7, [r8]",
                "add r8, r8, {a3}",
                "vstr s8, [r8]",
                "add r8, r8, {a3}",
                "vstr s9, [r8]",
                // The next row.
                "adds {a0}, {a0}, #4",
                "add {q}, {q}, {a2}",
                "subs {a1}, {a1}, #1",
                "strd {a0}, {a1}, [sp, #24]",
                "bne 3b",
                "add sp, sp, #40",
                "vpop {{s0-s15}}",
                q = inout(reg) q => _,
                x = inout(reg) x => _,
                n = inout(reg) groups => _,
                a0 = inout(reg) stride - 4 * groups => _,
                a1 = inout(reg) rows => _,
                a2 = inout(reg) scale => _,
                a3 = inout(reg) bias => _,
                e = inout(reg) xs.as_ptr() => _,
                o = inout(reg) o => _,
                inout("r8") 4 * rows => _,
                out("r9") _,
                out("r10") _,
                out("r11") _,
            );
        }
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
        unsafe fn add_tiles(
            q: *const u8,
            s: usize,
            x: *const u32,
            groups: usize,
            tiles: usize,
            scale: *const u8,
            x_scale: f32,
            o: *mut f32,
        ) {
            // The assembly loads the scales with `vldm`.
            assert!(scale.cast::<f32>().is_aligned());
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
                unsafe { *o.add(r) += (super::f32_at(scale, r) * x_scale) * a as f32 };
            }
        }

        unsafe fn project_rows(
            q: *const u8,
            stride: usize,
            x: *const u32,
            groups: usize,
            rows: usize,
            scale: *const u8,
            bias: *const u8,
            xs: &[f32; TOKENS],
            o: *mut f32,
        ) {
            for r in 0..rows {
                let mut a = [0i32; TOKENS];
                for g in 0..groups {
                    // SAFETY: `r < rows`, `g < groups` (the trait's bounds).
                    unsafe {
                        let qw = word(q.add(r * stride), g);
                        for (k, a) in a.iter_mut().enumerate() {
                            let p = x.add(2 * TOKENS * g + 2 * k);
                            *a = group(qw, p.read(), p.add(1).read(), *a);
                        }
                    }
                }
                // SAFETY: `r < rows` (the trait's bounds).
                unsafe {
                    let (s, b) = (super::f32_at(scale, r), super::f32_at(bias, r));
                    for (k, a) in a.iter().enumerate() {
                        *o.add(k * rows + r) = b + (s * xs[k]) * *a as f32;
                    }
                }
            }
        }
    }
}
