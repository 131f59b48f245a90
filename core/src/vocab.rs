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

/// Longest normalized form [`StringTable::find_normalized`] makes once (longer ones
/// are normalized at each comparison): longer than nearly every word.
const NORMALIZED_BYTES: usize = 64;

/// The normalized form of `word` as UTF-8 into `buf`: its length, or `None` if it
/// does not fit.
fn normalized_into(word: &str, flags: u8, buf: &mut [u8]) -> Option<usize> {
    let mut n = 0;
    for ch in normalized(word, flags) {
        let len = ch.len_utf8();
        ch.encode_utf8(buf.get_mut(n..n + len)?);
        n += len;
    }
    Some(n)
}

/// The first eight bytes of `s` as a big-endian number, zeros past its end. Keys are
/// in the order of the strings (bytewise): where two keys differ, the strings differ
/// in the same direction, at the first byte in which the keys do.
fn prefix_key(s: &[u8]) -> u64 {
    let mut eight = [0u8; 8];
    for (e, &b) in eight.iter_mut().zip(s) {
        *e = b;
    }
    u64::from_be_bytes(eight)
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
    // The characters are the bytes that do not continue one (`word` is UTF-8): a plain
    // loop, where `chars().count()` brings its own word-at-a-time routine (320 bytes
    // of firmware code).
    let count = word.bytes().filter(|&b| (b as i8) >= -0x40).count();
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
        Self::checked(bytes, offsets, false)
    }

    /// [`StringTable::new`], and with `sorted` also [`StringTable::is_strictly_sorted`],
    /// in the same pass over the offsets.
    pub(crate) fn checked(bytes: &'a [u8], offsets: U32s<'a>, sorted: bool) -> Option<Self> {
        if offsets.iter().next() != Some(0) {
            return None;
        }
        let text = core::str::from_utf8(bytes).ok()?;
        offsets_valid(text, offsets, sorted).then_some(StringTable { bytes, offsets })
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
    /// A normalized form of up to 64 bytes (`NORMALIZED_BYTES`) is made once and compared
    /// as bytes; a longer one is normalized again at each comparison
    /// ([`cmp_normalized`], the same order), as every word is in firmware builds (where
    /// the buffer's code would take the Cortex-M4F library past its 24 KiB of `.text`).
    pub fn find_normalized(&self, word: &str, flags: u8) -> Option<usize> {
        let mut buf = [0u8; NORMALIZED_BYTES];
        let once = match cfg!(target_os = "none") {
            true => None,
            false => normalized_into(word, flags, &mut buf),
        };
        match once {
            Some(n) => self.search_bytes(&buf[..n]),
            None => self.search(|stored| cmp_normalized(word, flags, stored)),
        }
    }

    /// Index of the string equal to `probe`, if the table is sorted: a binary search
    /// that compares the strings' [`prefix_key`]s, and the bytes only where those are
    /// equal (the keys are in the strings' order), with no call to compare bytes for
    /// most of its steps.
    fn search_bytes(&self, probe: &[u8]) -> Option<usize> {
        let key = prefix_key(probe);
        self.search_at(|a, b| match key.cmp(&self.key_at(a, b)) {
            Ordering::Equal => probe.cmp(self.bytes.get(a..b).unwrap_or_default()),
            order => order,
        })
    }

    /// [`prefix_key`] of the bytes `a..b`: one load of eight bytes where the table
    /// holds eight from `a`, the bytes past `b` masked off.
    #[inline(always)]
    fn key_at(&self, a: usize, b: usize) -> u64 {
        match self.bytes.get(a..).and_then(|s| s.first_chunk::<8>()) {
            Some(eight) => {
                let len = b.saturating_sub(a);
                let all = u64::from_be_bytes(*eight);
                if len >= 8 {
                    all
                } else {
                    all & !(u64::MAX >> (8 * len))
                }
            }
            None => prefix_key(self.bytes.get(a..b).unwrap_or_default()),
        }
    }

    /// Binary search of a sorted table by `cmp` (the probe against a string's bytes).
    #[inline(always)]
    fn search(&self, cmp: impl Fn(&[u8]) -> Ordering) -> Option<usize> {
        self.search_at(|a, b| cmp(self.bytes.get(a..b).unwrap_or_default()))
    }

    /// Binary search of a sorted table by `cmp` (the probe against the string at bytes
    /// `a..b`).
    #[inline(always)]
    fn search_at(&self, cmp: impl Fn(usize, usize) -> Ordering) -> Option<usize> {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let (a, b) = (self.offsets.get(mid), self.offsets.get(mid + 1));
            match cmp(a as usize, b as usize) {
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
            if !less(&self.bytes[a..b], &self.bytes[b..c]) {
                return false;
            }
            (a, b) = (b, c);
        }
        true
    }

    /// The strings in order.
    pub fn iter(&self) -> impl Iterator<Item = &'a str> + Clone + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }
}

/// Whether the offsets after the first (which is 0) cut `text` into strings: each not
/// below the one before it and on a character boundary (not past the end either), the
/// last at the end; with `sorted` also whether the strings strictly increase in byte
/// order. One pass over the offsets, each string's end the next one's start.
#[cfg(not(postag_arm_dsp))]
fn offsets_valid(text: &str, offsets: U32s<'_>, sorted: bool) -> bool {
    let bytes = text.as_bytes();
    // The last string checked, and where it ends.
    let (mut last, mut end): (Option<&[u8]>, usize) = (None, 0);
    let mut offs = offsets.iter().map(|o| o as usize);
    offs.next();
    for off in offs {
        if off < end || !text.is_char_boundary(off) {
            return false;
        }
        let string = &bytes[end..off];
        if let (true, Some(last)) = (sorted, last) {
            if !less(last, string) {
                return false;
            }
        }
        (last, end) = (Some(string), off);
    }
    end == bytes.len()
}

/// [`offsets_valid`] on Cortex-M with the DSP extension: the same checks in
/// assembly.
#[cfg(postag_arm_dsp)]
fn offsets_valid(text: &str, offsets: U32s<'_>, sorted: bool) -> bool {
    crate::arch::strings_valid(
        text.as_bytes(),
        offsets.as_bytes().get(4..).unwrap_or_default(),
        sorted,
    )
}

/// Whether `a < b` in byte order. Neighbours in a sorted vocabulary share short
/// prefixes: four bytes at a time (as big-endian numbers, whose order is the bytes'),
/// then byte by byte, is cheaper there than a call to `memcmp`.
#[inline]
fn less(mut a: &[u8], mut b: &[u8]) -> bool {
    while let (Some((x, a_rest)), Some((y, b_rest))) =
        (a.split_first_chunk::<4>(), b.split_first_chunk::<4>())
    {
        if x != y {
            return u32::from_be_bytes(*x) < u32::from_be_bytes(*y);
        }
        (a, b) = (a_rest, b_rest);
    }
    match a.iter().zip(b).find(|(x, y)| x != y) {
        Some((x, y)) => x < y,
        None => a.len() < b.len(),
    }
}

/// Whether every code is a Unicode scalar value (no surrogate, none above U+10FFFF).
/// Bare-metal builds, to save flash, take any code: one that is no character matches no
/// text's character there, so it changes no result.
pub(crate) fn scalar_values(codes: U32s<'_>) -> bool {
    cfg!(target_os = "none") || codes.iter().all(|c| char::from_u32(c).is_some())
}

/// The first of `names` (a model's tag names, in tag order) that is empty, holds
/// whitespace or a control character, or equals an earlier one.
#[cfg_attr(all(target_os = "none", not(feature = "alloc")), allow(dead_code))]
pub(crate) fn bad_tag_name<'s>(names: impl Iterator<Item = &'s str> + Clone) -> Option<usize> {
    names.clone().enumerate().position(|(i, name)| {
        name.is_empty()
            || name.chars().any(|c| c.is_whitespace() || c.is_control())
            || names.clone().take(i).any(|earlier| earlier == name)
    })
}

/// Position of `code` in the strictly increasing `codes`: a binary search for the
/// last code at or below it whose halving steps are selects, not branches (the
/// characters of text are as unpredictable to a branch predictor as they come).
pub(crate) fn find_code(codes: U32s<'_>, code: u32) -> Option<usize> {
    if codes.is_empty() {
        return None;
    }
    // `codes[base] <= code` whenever any code is (then it stays the last such).
    let (mut base, mut size) = (0, codes.len());
    while size > 1 {
        let half = size / 2;
        let mid = base + half;
        base = if codes.get(mid) <= code { mid } else { base };
        size -= half;
    }
    (codes.get(base) == code).then_some(base)
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use proptest::prelude::*;
    use std::string::String;
    use std::vec::Vec;

    use crate::test_support::cases;

    /// `word_chars` against the characters themselves: all of them up to `max`, else
    /// the first `ceil(max/2)` and the last `floor(max/2)`, for 1- to 4-byte UTF-8.
    #[test]
    fn word_chars_keeps_the_ends_of_long_words() {
        for word in [
            "",
            "a",
            "ÑANDÚ",
            "日本語のテキスト",
            "a😀b€cé",
            "abcdefgh",
            "é😀é😀é😀é",
        ] {
            let all: Vec<char> = word.chars().collect();
            for max in 1..10 {
                let got: Vec<char> = word_chars(word, max).collect();
                let want: Vec<char> = if all.len() <= max {
                    all.clone()
                } else {
                    let (head, tail) = (max - max / 2, max / 2);
                    all[..head]
                        .iter()
                        .chain(&all[all.len() - tail..])
                        .copied()
                        .collect()
                };
                assert_eq!(got, want, "{word:?} max {max}");
            }
        }
    }

    /// A string table's bytes: the strings concatenated, and their `n + 1` offsets as
    /// little-endian u32.
    fn table_bytes(strings: &[impl AsRef<str>]) -> (Vec<u8>, Vec<u8>) {
        let text: Vec<u8> = strings.iter().flat_map(|s| s.as_ref().bytes()).collect();
        let mut offsets = std::vec![0u32];
        for s in strings {
            offsets.push(offsets.last().unwrap() + s.as_ref().len() as u32);
        }
        (text, offsets.iter().flat_map(|o| o.to_le_bytes()).collect())
    }

    /// Bytes mostly from a few letters (long shared prefixes) and UTF-8 pieces, some
    /// not UTF-8 at all.
    fn bytes() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![
                4 => proptest::sample::select(&b"aab"[..]),
                1 => proptest::sample::select(&[0xC3u8, 0xA9, 0xE2, 0x82, 0xAC, 0xF0, 0x9F, 0x80, 0xFF][..]),
                1 => any::<u8>(),
            ],
            0..40,
        )
    }

    proptest! {
        #![proptest_config(cases(2000))]

        #[test]
        fn less_is_byte_order(a in bytes(), b in bytes()) {
            prop_assert_eq!(less(&a, &b), a < b);
            prop_assert_eq!(less(&a, &a), false);
        }

        /// Distinct strings in byte order with long shared prefixes make a sorted table;
        /// with two neighbours swapped, not.
        #[test]
        fn sorted_strings_make_a_sorted_table(
            strings in proptest::collection::btree_set("[ab\u{e9}]{0,10}", 2..30),
            swap in any::<prop::sample::Index>(),
        ) {
            let mut strings: Vec<String> = strings.into_iter().collect();
            let table = |strings: &[String]| {
                let (text, raw) = table_bytes(strings);
                let u32s = U32s::new(&raw, strings.len() + 1).unwrap();
                StringTable::checked(&text, u32s, true).is_some()
            };
            prop_assert!(table(&strings));
            let i = swap.index(strings.len() - 1);
            strings.swap(i, i + 1);
            prop_assert!(!table(&strings));
        }

        /// `StringTable::checked` against its definition: UTF-8, offsets from 0 to the
        /// end that never decrease and fall on character boundaries, and (`sorted`)
        /// strictly increasing strings.
        #[test]
        fn checked_tables_match_the_definition(
            text in bytes(),
            cuts in proptest::collection::vec(0usize..48, 0..12),
            start in 0u32..2,
            sort_cuts: bool,
            sorted: bool,
        ) {
            let mut offsets: Vec<u32> = cuts.iter().map(|&c| c as u32).collect();
            if sort_cuts {
                offsets.sort_unstable();
            }
            offsets.insert(0, start);
            if sort_cuts {
                offsets.push(text.len() as u32);
            }
            let raw: Vec<u8> = offsets.iter().flat_map(|o| o.to_le_bytes()).collect();
            let u32s = U32s::new(&raw, offsets.len()).unwrap();
            let want = match core::str::from_utf8(&text) {
                Err(_) => false,
                Ok(s) => {
                    offsets[0] == 0
                        && offsets.windows(2).all(|w| w[0] <= w[1])
                        && offsets.iter().all(|&o| s.is_char_boundary(o as usize))
                        && *offsets.last().unwrap() as usize == text.len()
                        && (!sorted
                            || offsets.windows(3).all(|w| {
                                text[w[0] as usize..w[1] as usize] < text[w[1] as usize..w[2] as usize]
                            }))
                }
            };
            let got = StringTable::checked(&text, u32s, sorted);
            prop_assert_eq!(got.is_some(), want);
            if let Some(t) = got {
                prop_assert_eq!(t.len(), offsets.len() - 1);
                let sorted_now = t.iter().collect::<Vec<_>>().windows(2).all(|w| w[0].as_bytes() < w[1].as_bytes());
                prop_assert_eq!(t.is_strictly_sorted(), sorted_now);
            }
        }
    }

    proptest! {
        #![proptest_config(cases(500))]

        /// `find_normalized` against a linear scan for the normalized form: words
        /// whose normalized forms are shorter and longer than the bytes it normalizes
        /// once, with letters that lowercase to two chars (`İ`), digits and NUL (a zero
        /// byte, as the search pads short strings' first eight bytes with), sharing
        /// their first eight bytes or not.
        #[test]
        fn find_normalized_is_the_scan_for_the_normalized_form(
            stored in proptest::collection::btree_set("[ab\u{e9}0i\u{307}\u{0}]{0,3}(a{0,70})?", 1..40),
            probes in proptest::collection::vec("[aAb\u{e9}\u{c9}07\u{130}\u{0}]{0,3}(A{0,70})?", 1..20),
            flags in 0u8..4,
        ) {
            let strings: Vec<&String> = stored.iter().collect();
            let (text, raw) = table_bytes(&strings);
            let u32s = U32s::new(&raw, strings.len() + 1).unwrap();
            let table = StringTable::checked(&text, u32s, true).unwrap();
            let flags = flags & (NORMALIZE_LOWERCASE | NORMALIZE_FOLD_DIGITS);
            // Each probe, and the normalized form of each stored string's capitals.
            let upper = strings.iter().map(|s| s.to_uppercase());
            for word in probes.iter().cloned().chain(upper) {
                let form: String = normalized(&word, flags).collect();
                let want = strings.iter().position(|s| **s == form);
                prop_assert_eq!(table.find_normalized(&word, flags), want, "{:?} -> {:?}", word, form);
            }
        }
    }

    proptest! {
        #![proptest_config(cases(1000))]

        /// `find_code` against a linear scan: present and absent codes, below, between
        /// and above the table's, in tables of 0 to 70 codes.
        #[test]
        fn find_code_is_the_scan(
            set in proptest::collection::btree_set(0u32..300, 0..70),
            probes in proptest::collection::vec(0u32..310, 1..40),
        ) {
            let codes: Vec<u32> = set.into_iter().collect();
            let raw: Vec<u8> = codes.iter().flat_map(|c| c.to_le_bytes()).collect();
            let table = U32s::new(&raw, codes.len()).unwrap();
            for code in probes.into_iter().chain(codes.iter().copied()) {
                prop_assert_eq!(find_code(table, code), codes.iter().position(|&c| c == code), "{}", code);
            }
        }
    }

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
