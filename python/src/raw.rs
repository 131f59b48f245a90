//! Byte offsets of the core's raw-text tokens as Python `str` indices.

/// Character (code point) index of each byte offset in `offsets`, which must be
/// non-decreasing char boundaries of `text`: Python's str indices.
pub struct CharIndex<'t> {
    text: &'t str,
    byte: usize,
    chars: usize,
}

impl<'t> CharIndex<'t> {
    pub fn new(text: &'t str) -> Self {
        CharIndex {
            text,
            byte: 0,
            chars: 0,
        }
    }

    /// The character index of byte `at` (not before the previous call's).
    pub fn at(&mut self, at: usize) -> usize {
        self.chars += self.text[self.byte..at].chars().count();
        self.byte = at;
        self.chars
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn char_indices_count_code_points() {
        let t = "é a😀b";
        let mut ix = CharIndex::new(t);
        assert_eq!([0, 2, 3, 8].map(|b| ix.at(b)), [0, 1, 2, 4]);
    }
}
