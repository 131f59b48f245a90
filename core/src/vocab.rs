//! Vocabulary lookup without a heap: sorted tables in the blob, binary search.

use core::cmp::Ordering;
use core::str::Chars;

use crate::format::{NORMALIZE_FOLD_DIGITS, NORMALIZE_LOWERCASE};
use crate::lowercase::{lower, sigma_lower, Lower, CAPITAL_SIGMA};
use crate::tensor::U32s;

/// The Unicode version whose case mapping `NORMALIZE_LOWERCASE` follows: that of
/// Python 3.11's `unicodedata`, from which the lowercase tables are generated.
pub const UNICODE_VERSION: &str = crate::lowercase::UNICODE_VERSION;

/// The characters of `word` after the `NORMALIZE_*` `flags` are applied.
///
/// `NORMALIZE_FOLD_DIGITS` replaces each ASCII digit with `0`; `NORMALIZE_LOWERCASE`
/// lowercases the word exactly as Python's `str.lower()` does (Unicode
/// [`UNICODE_VERSION`], that of Python 3.11), including the context rule for capital sigma (final `ς`
/// at the end of a word, else `σ`) and one-to-many mappings (`İ` gives `i̇`). Both may
/// apply: digits are folded, then the rest is lowercased (no digit has a case, so the
/// order does not matter).
///
/// The blob writer stores vocabulary words in this form and lookups compare in
/// this form, so training and tagging always agree.
pub fn normalized(word: &str, flags: u8) -> Normalized<'_> {
    Normalized {
        word,
        chars: word.chars(),
        pending: "".chars(),
        flags,
    }
}

/// Iterator returned by [`normalized`].
pub struct Normalized<'a> {
    word: &'a str,
    chars: Chars<'a>,
    /// The rest of a character that lowercases to several.
    pending: Chars<'static>,
    flags: u8,
}

impl Iterator for Normalized<'_> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        if let Some(c) = self.pending.next() {
            return Some(c);
        }
        let c = self.chars.next()?;
        if self.flags & NORMALIZE_FOLD_DIGITS != 0 && c.is_ascii_digit() {
            return Some('0');
        }
        if self.flags & NORMALIZE_LOWERCASE == 0 {
            return Some(c);
        }
        if c == CAPITAL_SIGMA {
            let after = self.chars.as_str();
            let at = self.word.len() - after.len() - c.len_utf8();
            return Some(sigma_lower(self.word.get(..at).unwrap_or(""), after));
        }
        match lower(c) {
            Lower::One(l) => Some(l),
            Lower::Many(s) => {
                self.pending = s.chars();
                self.pending.next()
            }
        }
    }
}

/// Compares the normalized form of `word` with `stored` bytewise (UTF-8 order).
pub fn cmp_normalized(word: &str, flags: u8, stored: &[u8]) -> Ordering {
    let mut pos = 0;
    for ch in normalized(word, flags) {
        let mut buf = [0u8; 4];
        for &b in ch.encode_utf8(&mut buf).as_bytes() {
            match stored.get(pos) {
                None => return Ordering::Greater,
                Some(&s) if s != b => return b.cmp(&s),
                Some(_) => pos += 1,
            }
        }
    }
    if pos < stored.len() {
        Ordering::Less
    } else {
        Ordering::Equal
    }
}

/// The characters the char LSTM reads from `word`: all of them when there are at
/// most `max` (the model's `max_word_chars`), else the first `ceil(max/2)` and the
/// last `floor(max/2)`, so both prefix and suffix survive in a long word.
pub fn word_chars(word: &str, max: usize) -> impl Iterator<Item = char> + '_ {
    let count = word.chars().count();
    let (head, tail) = if count <= max {
        (count, 0)
    } else {
        (max - max / 2, max / 2)
    };
    word.chars()
        .enumerate()
        .filter(move |&(i, _)| i < head || i >= count - tail)
        .map(|(_, c)| c)
}

/// Strings stored as concatenated bytes plus `n + 1` offsets.
#[derive(Debug, Clone, Copy)]
pub struct StringTable<'a> {
    bytes: &'a [u8],
    offsets: U32s<'a>,
}

impl<'a> StringTable<'a> {
    /// Checks that the offsets start at 0, never decrease, end at `bytes.len()`,
    /// and that every string is UTF-8: all the bytes are, and every offset falls on
    /// a character boundary (one pass over the bytes, not one call per string).
    pub(crate) fn new(bytes: &'a [u8], offsets: U32s<'a>) -> Option<Self> {
        if offsets.is_empty() || offsets.get(0) != 0 {
            return None;
        }
        let text = core::str::from_utf8(bytes).ok()?;
        let mut prev = 0usize;
        for off in offsets.iter().skip(1) {
            let off = off as usize;
            // (Not a boundary either past the end.)
            if off < prev || !text.is_char_boundary(off) {
                return None;
            }
            prev = off;
        }
        (prev == bytes.len()).then_some(StringTable { bytes, offsets })
    }

    /// Number of strings.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Whether there are no strings.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// String `i` (empty when `i` is out of range).
    pub fn get(&self, i: usize) -> &'a str {
        core::str::from_utf8(self.bytes_of(i)).unwrap_or("")
    }

    /// The bytes of string `i` (empty when `i` is out of range), UTF-8 as checked
    /// by [`StringTable::new`]: comparisons need not decode them again.
    fn bytes_of(&self, i: usize) -> &'a [u8] {
        if i >= self.len() {
            return &[];
        }
        let (a, b) = (
            self.offsets.get(i) as usize,
            self.offsets.get(i + 1) as usize,
        );
        &self.bytes[a..b]
    }

    /// Index of the string equal to the normalized `word`, if the table is sorted.
    pub fn find_normalized(&self, word: &str, flags: u8) -> Option<usize> {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match cmp_normalized(word, flags, self.bytes_of(mid)) {
                Ordering::Equal => return Some(mid),
                Ordering::Less => hi = mid,
                Ordering::Greater => lo = mid + 1,
            }
        }
        None
    }

    /// Whether the strings are in strictly increasing byte order.
    pub(crate) fn is_strictly_sorted(&self) -> bool {
        // One pass over the offsets, each string's end the next one's start.
        let mut offsets = self.offsets.iter().map(|o| o as usize);
        let (Some(mut a), Some(mut b)) = (offsets.next(), offsets.next()) else {
            return true;
        };
        for c in offsets {
            if self.bytes[a..b] >= self.bytes[b..c] {
                return false;
            }
            (a, b) = (b, c);
        }
        true
    }

    /// The strings in order.
    pub fn iter(&self) -> impl Iterator<Item = &'a str> + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }
}

/// Position of `code` in the strictly increasing `codes`.
pub(crate) fn find_code(codes: U32s<'_>, code: u32) -> Option<usize> {
    let (mut lo, mut hi) = (0, codes.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        match codes.get(mid).cmp(&code) {
            Ordering::Equal => return Some(mid),
            Ordering::Greater => hi = mid,
            Ordering::Less => lo = mid + 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::string::String;

    #[test]
    fn normalization_lowercases_and_folds_digits() {
        let both = NORMALIZE_LOWERCASE | NORMALIZE_FOLD_DIGITS;
        let s: String = normalized("ÀB-2024İ", both).collect();
        assert_eq!(s, "àb-0000i\u{307}");
        let s: String = normalized("AB-12", NORMALIZE_FOLD_DIGITS).collect();
        assert_eq!(s, "AB-00");
        assert_eq!(cmp_normalized("Dog", both, b"dog"), Ordering::Equal);
        assert_eq!(cmp_normalized("Dog", both, b"dogs"), Ordering::Less);
        assert_eq!(cmp_normalized("Dogs", both, b"dog"), Ordering::Greater);
        assert_eq!(cmp_normalized("é", 0, "e".as_bytes()), Ordering::Greater);
    }

    #[test]
    fn long_words_keep_prefix_and_suffix() {
        let s: String = word_chars("abcdefghij", 5).collect();
        assert_eq!(s, "abcij");
        let s: String = word_chars("abcdefghij", 4).collect();
        assert_eq!(s, "abij");
        let s: String = word_chars("ñandú", 5).collect();
        assert_eq!(s, "ñandú");
    }

    #[test]
    fn string_tables_accept_utf8_strings_only() {
        use std::vec::Vec;
        let le =
            |offsets: &[u32]| -> Vec<u8> { offsets.iter().flat_map(|o| o.to_le_bytes()).collect() };
        // Checks `bytes` and `offsets` as a table; `Some(strings)` when accepted.
        let table = |bytes: &[u8], offsets: &[u32], check: &dyn Fn(&StringTable<'_>)| {
            let raw = le(offsets);
            let t = StringTable::new(bytes, U32s::new(&raw, offsets.len()).unwrap());
            if let Some(t) = &t {
                check(t);
            }
            t.is_some()
        };
        let text = "añb".as_bytes(); // 'ñ' is bytes 1..3
        assert!(table(text, &[0, 1, 3, 4], &|t| {
            assert_eq!(
                (t.get(0), t.get(1), t.get(2), t.get(3)),
                ("a", "ñ", "b", "")
            );
            // Byte order: 'ñ' (0xC3 0xB1) sorts after 'b'.
            assert!(!t.is_strictly_sorted());
        }));
        assert!(table(
            text,
            &[0, 1, 4],
            &|t| assert!(t.is_strictly_sorted())
        ));
        let none = |_: &StringTable<'_>| {};
        assert!(
            !table(text, &[0, 2, 4], &none),
            "an offset inside a character"
        );
        assert!(!table(text, &[0, 1, 5], &none), "an offset past the end");
        assert!(!table(text, &[0, 3, 1, 4], &none), "decreasing offsets");
        assert!(!table(text, &[0, 3], &none), "bytes left over");
        assert!(!table(&[0x61, 0xFF], &[0, 1, 2], &none), "not UTF-8");
        assert!(table(b"", &[0], &|t| assert!(t.is_empty())));
    }
}
