//! CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as in zlib and PNG.
//!
//! Inputs of 600 aligned words or more (2,400 bytes: every model blob) take no table
//! in their main loop. `Q(x) = x^300 + x^155 + x^117 + x^89 + 1` is a multiple of the
//! CRC polynomial, and so is `Q(x^32) = Q(x)^32`: adding the message's word `k`
//! shifted to line up with `Q(x^32)`'s leading term leaves the CRC as it is, clears
//! word `k`, and xors it into the words [`LAGS`] later. Word by word from the first,
//! `s[k] = w[k] ^ s[k - 145] ^ s[k - 183] ^ s[k - 211] ^ s[k - 300]` is what word `k`
//! holds when its turn comes (the CRC's initial register is xored into the first
//! word); whole blocks of 300 words but the last are cleared that way, and the table
//! finishes the rest (what is left of the message) from a zero register. The loop is
//! four loads, four xors and two stores per word (the buffer keeps the last 300
//! values of `s` twice, 2.4 KiB on the stack: see [`reduce`]); on Cortex-M with the DSP
//! extension it is written in Thumb-2 (`crate::arch`, 1.54 instructions per byte, where
//! the table takes 3.7). This is the word form of the sparse-multiple reduction that
//! Russell's "Chorba" (2024) applies.
//!
//! The table (256 entries, 1 KiB) takes the rest a word at a time (the last block,
//! the aligned words after the blocks, shorter inputs' words), and the bytes before the
//! first aligned word and after the last a byte at a time; on bare-metal targets
//! without the DSP kernels (the Cortex-M0, whose stack is small) every input, a word at
//! a time.

/// The lags of the sparse-multiple recurrence, in words: `300 - {155, 117, 89, 0}`.
pub(crate) const LAGS: [usize; 4] = [145, 183, 211, 300];
/// Values of `s` the recurrence looks back on (the longest lag), and the words of
/// one call of [`reduce`].
pub(crate) const HISTORY: usize = 300;
/// The buffer of [`reduce`]: two copies of the last [`HISTORY`] values of `s`.
pub(crate) const BUF: usize = 2 * HISTORY;
/// Whether long inputs take the sparse-multiple loop: everywhere but on bare-metal
/// targets without the Cortex-M DSP kernels (the Cortex-M0 keeps its 2.4 KiB of stack).
const CHORBA: bool = cfg!(any(not(target_os = "none"), postag_arm_dsp));

const TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// One byte of the register through the table (the byte already xored in).
#[inline(always)]
fn step(crc: u32) -> u32 {
    TABLE[(crc & 0xFF) as usize] ^ (crc >> 8)
}

/// The register `crc` after `bytes`, a byte at a time through the table: one
/// extract, one load and one xor with the shifted register per byte on Thumb-2.
#[inline(never)]
fn table(mut crc: u32, bytes: &[u8]) -> u32 {
    for &b in bytes {
        crc = step(crc ^ b as u32);
    }
    crc
}

/// `s` for the [`HISTORY`] words of `block`, from the `HISTORY` values before them
/// in `buf[..HISTORY]` (and in `buf[HISTORY..]`, which is not read before it is
/// written): each value into both halves of `buf`. `s[k - lag]` is at `buf[HISTORY +
/// i - lag]` for the `i`-th word: the first half's old value where `i < lag` (written
/// at a later `i`, or by this one after its read for `lag = HISTORY`), the second
/// half's new one where `i >= lag`. Afterwards the first half holds the last
/// `HISTORY` values in order, as the next call needs.
#[cfg(not(postag_arm_dsp))]
pub(crate) fn reduce(block: &[u32; HISTORY], buf: &mut [u32; BUF]) {
    for (i, &w) in block.iter().enumerate() {
        let at = |lag: usize| buf[HISTORY + i - lag];
        let v = u32::from_le(w) ^ at(LAGS[0]) ^ at(LAGS[1]) ^ at(LAGS[2]) ^ at(LAGS[3]);
        buf[i] = v;
        buf[HISTORY + i] = v;
    }
}
#[cfg(postag_arm_dsp)]
use crate::arch::crc32_reduce as reduce;

/// The register after the little-endian words of `blocks` (at least two) from the
/// register `crc`, by the sparse-multiple reduction (see the module's text): the
/// words of all blocks but the last are cleared; the last block's words take what the
/// cleared ones xored into them and go through the table from a zero register.
fn chorba(crc: u32, blocks: &[[u32; HISTORY]]) -> u32 {
    let Some((last, cleared)) = blocks.split_last() else {
        return crc;
    };
    // `buf[..HISTORY]` holds the `s` before the next word: at first the initial
    // register, then zeros.
    let mut buf = [0u32; BUF];
    buf[0] = crc;
    for block in cleared {
        reduce(block, &mut buf);
    }
    // Word `m` of the last block takes `s` at `HISTORY - lag + m >= m` for the lags
    // that reach back into the cleared words (`m < lag`); the others point into the
    // second half, where zeros make the xor unconditional. Each place is read before
    // it is written.
    buf[HISTORY..].fill(0);
    for (m, &w) in last.iter().enumerate() {
        let at = |lag: usize| buf[HISTORY - lag + m];
        let t = u32::from_le(w) ^ at(LAGS[0]) ^ at(LAGS[1]) ^ at(LAGS[2]) ^ at(LAGS[3]);
        buf[m] = t.to_le();
    }
    table_words(0, &buf[..HISTORY])
}

/// The register `crc` after the little-endian `words`, a word at a time through the
/// table (four steps after one xor): four words per pass of the loop where the table
/// takes every word (without the sparse-multiple loop), else one (in less code: the
/// table then takes only the last block and the words after it).
#[inline(never)]
fn table_words(crc: u32, words: &[u32]) -> u32 {
    let word = |crc: u32, w: &u32| step(step(step(step(crc ^ u32::from_le(*w)))));
    if CHORBA {
        return words.iter().fold(crc, word);
    }
    let (quads, rest) = words.as_chunks::<4>();
    let crc = quads.iter().fold(crc, |crc, q| q.iter().fold(crc, word));
    rest.iter().fold(crc, word)
}

/// CRC-32 of `bytes` (`crc32(b"123456789") == 0xCBF43926`).
pub fn crc32(bytes: &[u8]) -> u32 {
    // The bytes before the first aligned word through the table, whole blocks of
    // aligned words by the reduction when there are two or more, the rest through the
    // table.
    let (head, words, tail) = bytemuck::pod_align_to::<u8, u32>(bytes);
    let (blocks, rest) = words.as_chunks::<HISTORY>();
    let crc = table(!0, head);
    let (crc, rest) = if CHORBA && blocks.len() >= 2 {
        (chorba(crc, blocks), rest)
    } else {
        (crc, words)
    };
    !table(table_words(crc, rest), tail)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    /// The definition, a bit at a time.
    fn bitwise(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= b as u32;
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    0xEDB8_8320 ^ (crc >> 1)
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn check_value_matches_the_standard() {
        assert_eq!(super::crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(super::crc32(b""), 0);
        assert_eq!(
            super::crc32(b"The quick brown fox jumps over the lazy dog"),
            0x414F_A339
        );
    }

    #[test]
    fn every_length_and_offset_matches_the_bitwise_definition() {
        let data: std::vec::Vec<u8> = (0..100u32).map(|i| (i * 37 + 11) as u8).collect();
        for start in 0..4 {
            for end in start..data.len() {
                assert_eq!(super::crc32(&data[start..end]), bitwise(&data[start..end]));
            }
        }
    }

    /// Pseudo-random bytes (a 64-bit LCG's high bytes).
    fn noise(len: usize, seed: u64) -> std::vec::Vec<u8> {
        let mut x = seed;
        (0..len)
            .map(|_| {
                x = x
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                (x >> 56) as u8
            })
            .collect()
    }

    #[test]
    fn long_inputs_match_the_bitwise_definition() {
        // Around one and two blocks of 300 words (2,400 bytes), more blocks, and every
        // alignment of the start.
        let data = noise(70_000, 7);
        for len in [
            2396, 2399, 2400, 2401, 2402, 2403, 2404, 2405, 3247, 4096, 10_001, 65_537,
        ] {
            for start in [0, 1, 3] {
                let bytes = &data[start..start + len];
                assert_eq!(
                    super::crc32(bytes),
                    bitwise(bytes),
                    "length {len} from {start}"
                );
            }
        }
    }

    #[test]
    fn long_inputs_match_zlib() {
        // zlib.crc32 of the same bytes in Python.
        let a: std::vec::Vec<u8> = (0..100_000u32).map(|i| (i * 37 + 11) as u8).collect();
        assert_eq!(super::crc32(&a), 0xDCBB_0F67);
        let b: std::vec::Vec<u8> = (0..262_147u64)
            .map(|i| ((i * i * 7 + i * 13 + 5) >> 3) as u8)
            .collect();
        assert_eq!(super::crc32(&b), 0x21C2_876C);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn random_long_inputs_match_the_bitwise_definition(
            len in 2300usize..7000,
            seed in any::<u64>(),
        ) {
            let bytes = noise(len, seed);
            prop_assert_eq!(super::crc32(&bytes), bitwise(&bytes));
        }
    }

    proptest! {
        #[test]
        fn random_inputs_match_the_bitwise_definition(
            bytes in proptest::collection::vec(any::<u8>(), 0..600),
        ) {
            prop_assert_eq!(super::crc32(&bytes), bitwise(&bytes));
        }
    }
}
