//! CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as in zlib and PNG.
//!
//! One 256-entry table (1 KiB), consumed a 32-bit word at a time: the word is
//! xored into the CRC once, then its four bytes go through the table, each step
//! one extract, one load and one xor with the shifted CRC (on Thumb-2 the shift
//! is part of the xor). Slicing-by-4 or -8 tables (4 or 8 KiB) take the same three
//! instructions per byte there, so they would buy no instructions for their flash.

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

/// One byte of the CRC register through the table (the byte already xored in).
#[inline(always)]
fn step(crc: u32) -> u32 {
    TABLE[(crc & 0xFF) as usize] ^ (crc >> 8)
}

/// Four bytes, little-endian in `word`.
#[inline(always)]
fn word(crc: u32, word: &[u8]) -> u32 {
    let w = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
    step(step(step(step(crc ^ w))))
}

/// CRC-32 of `bytes` (`crc32(b"123456789") == 0xCBF43926`).
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    // Sixteen bytes per iteration: the loop's own instructions are amortized.
    let mut blocks = bytes.chunks_exact(16);
    for b in &mut blocks {
        crc = word(crc, &b[0..4]);
        crc = word(crc, &b[4..8]);
        crc = word(crc, &b[8..12]);
        crc = word(crc, &b[12..16]);
    }
    for &b in blocks.remainder() {
        crc = step(crc ^ b as u32);
    }
    !crc
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

    proptest! {
        #[test]
        fn random_inputs_match_the_bitwise_definition(
            bytes in proptest::collection::vec(any::<u8>(), 0..600),
        ) {
            prop_assert_eq!(super::crc32(&bytes), bitwise(&bytes));
        }
    }
}
