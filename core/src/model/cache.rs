//! Input projection caches, shared by the segmenter and the char net: the input
//! projection of a character (`W_ih x + bias`, x its embedding row) depends on its
//! embedding row alone, so a text or a sentence computes it once per distinct row and
//! direction. With int8 `W_ih` the cached projections are bit for bit those projected
//! at each occurrence (exact integer products, the same float operations).

use super::lstm::StackIo;
use crate::arch;
use crate::tensor::{Matrix, Storage};
use crate::Cell;

/// Index bit: the step's row has no slot in the cache; the other bits are its
/// embedding row.
pub(crate) const UNCACHED: u32 = 1 << 31;

/// The cache slot of embedding row `row` (below 2^24): its slot in `rows[..*used]`
/// found through the open-addressing hash `table` (power-of-two length, at least twice
/// `rows.len()`; entry 0 is empty, otherwise slot + 1), or a new slot while there is
/// room (`None` when there is none).
pub(crate) fn slot(table: &mut [u32], rows: &mut [u32], used: &mut usize, row: u32) -> Option<u32> {
    let mask = table.len() - 1;
    // Fibonacci hashing: the top bits of the product, as many as the table needs.
    let mut at = (row.wrapping_mul(0x9E37_79B9) as usize >> (32 - mask.count_ones().max(1))) & mask;
    loop {
        match table[at] {
            0 => {
                let s = *used;
                *rows.get_mut(s)? = row;
                table[at] = s as u32 + 1;
                *used += 1;
                return Some(s as u32);
            }
            e if rows[e as usize - 1] == row => return Some(e - 1),
            _ => at = (at + 1) & mask,
        }
    }
}

/// Words of scratch for the interleaved i16 copy of `cell`'s `W_hh` that
/// [`arch::gemv_pairs`] takes (0 for f32 weights or longer rows), with room to start
/// it 32-byte aligned ([`aligned_pairs`]).
pub(crate) fn pairs_words(cell: &Cell<'_>) -> usize {
    matrix_pairs_words(&cell.w_hh)
}

/// [`pairs_words`] for any matrix `w`.
pub(crate) fn matrix_pairs_words(w: &Matrix<'_>) -> usize {
    let (g, h) = (w.rows(), w.cols());
    // (A matrix in int8 panels is multiplied where it lies: no copy.)
    match w.storage() == Storage::I8 && !w.in_i8_panels() && h <= arch::PAIRS_MAX_COLS {
        // 7 more: room to start the copy 32-byte aligned at any 4-byte address.
        true => arch::pairs_len(g, h).div_ceil(2) + 7,
        false => 0,
    }
}

/// The scratch words for the interleaved `W_hh` as i16 from their first 32-byte
/// aligned address: at most 7 words in, the room [`pairs_words`] leaves, so that no
/// vector load of the copy straddles a cache line.
pub(crate) fn aligned_pairs(words: &mut [f32]) -> &mut [i16] {
    let pairs: &mut [i16] = bytemuck::cast_slice_mut(words);
    let skip = (32 - pairs.as_ptr() as usize % 32) % 32 / 2;
    pairs.get_mut(skip..).unwrap_or_default()
}

/// The embedding rows of the cached characters, as inputs to project.
pub(crate) struct CachedRows<'r, 'a> {
    pub(crate) embedding: &'r Matrix<'a>,
    pub(crate) rows: &'r [u32],
}

impl StackIo for CachedRows<'_, '_> {
    fn input(&mut self, i: usize, x: &mut [f32]) {
        self.embedding.row_into(self.rows[i] as usize, x);
    }
}
