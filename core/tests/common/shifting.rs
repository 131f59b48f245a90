//! An iterator of sentences whose clones can yield other sentences (for the checks of
//! `Model::tag_batch_iter`).

/// An iterator whose clones share a count of the passes begun: pass `k` yields
/// `passes[min(k, last)]`, so a clone made later yields other sentences.
#[derive(Clone)]
pub struct Shifting<'a> {
    passes: &'a [Vec<Vec<&'a str>>],
    begun: &'a std::cell::Cell<usize>,
    pass: Option<usize>,
    at: usize,
}

impl<'a> Shifting<'a> {
    /// Pass `k` (counted in `begun`) yields `passes[min(k, last)]`.
    pub fn new(passes: &'a [Vec<Vec<&'a str>>], begun: &'a std::cell::Cell<usize>) -> Self {
        Shifting {
            passes,
            begun,
            pass: None,
            at: 0,
        }
    }
}

impl<'a> Iterator for Shifting<'a> {
    type Item = &'a [&'a str];
    fn next(&mut self) -> Option<&'a [&'a str]> {
        let pass = *self.pass.get_or_insert_with(|| {
            let k = self.begun.get();
            self.begun.set(k + 1);
            k.min(self.passes.len() - 1)
        });
        let s = self.passes[pass].get(self.at)?;
        self.at += 1;
        Some(s.as_slice())
    }
}
