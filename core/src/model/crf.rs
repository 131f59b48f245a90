//! The linear-chain CRF and Viterbi decoding.

use crate::kernels::argmax;
use crate::tensor::Vector;
use crate::Error;

/// Linear-chain CRF transitions for Viterbi decoding.
#[derive(Debug, Clone, Copy)]
pub struct Crf<'a> {
    /// (T, T): score of moving from tag i (row) to tag j (column).
    pub transitions: Vector<'a>,
    /// (T,) score of the first tag.
    pub start: Vector<'a>,
    /// (T,) score of the last tag.
    pub end: Vector<'a>,
}

impl Crf<'_> {
    /// Best tag path for emissions `e` (n, T) into `tags`; `work` holds
    /// backpointers (n, T) and two score rows. `tags` is written only when the best
    /// path's score is finite.
    pub(super) fn viterbi(
        &self,
        e: &[f32],
        n: usize,
        work: &mut [u32],
        tags: &mut [u16],
    ) -> Result<(), Error> {
        let t_count = self.start.len();
        let (scores, back) = work.split_at_mut(2 * t_count);
        let scores: &mut [f32] = bytemuck::cast_slice_mut(scores);
        let (cur, nxt) = scores.split_at_mut(t_count);
        let back: &mut [u16] = bytemuck::cast_slice_mut(back);
        for j in 0..t_count {
            cur[j] = self.start.get(j) + e[j];
        }
        for t in 1..n {
            for j in 0..t_count {
                let (mut best, mut arg) = (f32::NEG_INFINITY, 0);
                for (i, &s) in cur.iter().enumerate() {
                    let v = s + self.transitions.get(i * t_count + j);
                    if v > best {
                        best = v;
                        arg = i;
                    }
                }
                nxt[j] = best + e[t * t_count + j];
                back[t * t_count + j] = arg as u16;
            }
            cur.copy_from_slice(nxt);
        }
        for (j, s) in cur.iter_mut().enumerate() {
            *s += self.end.get(j);
        }
        let mut tag = argmax(cur);
        if !cur[tag].is_finite() {
            return Err(Error::NonFiniteScore);
        }
        for t in (0..n).rev() {
            tags[t] = tag as u16;
            if t > 0 {
                tag = back[t * t_count + tag] as usize;
            }
        }
        Ok(())
    }
}
