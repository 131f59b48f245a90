//! Model architecture and weights, in PyTorch's layouts (row-major `Vec<f32>`).

use super::rng::Rng;

/// The optional character-level feature extractor (the seed tutorial's exercise).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CharArch {
    /// Rows of the char embedding table.
    pub vocab: usize,
    /// Char embedding width `Dc`.
    pub dim: usize,
    /// Char LSTM hidden size `Hc` (per direction).
    pub hidden: usize,
    /// Stacked char LSTM layers `Lc` (>= 1).
    pub layers: usize,
    /// Bidirectional char LSTM: `c_w = [h_fwd_final ; h_bwd_final]`.
    pub bidirectional: bool,
}

impl CharArch {
    /// Width of `c_w`.
    pub fn feature_dim(&self) -> usize {
        self.hidden * dirs(self.bidirectional)
    }
}

/// The tagger's shape: embeddings -> (char LSTM) -> word LSTM -> hidden2tag -> log_softmax
/// (-> CRF).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arch {
    /// Rows of the word embedding table.
    pub word_vocab: usize,
    /// Word embedding width `Dw`.
    pub word_dim: usize,
    /// Char features, concatenated after the word embedding.
    pub char: Option<CharArch>,
    /// Word LSTM hidden size `H` (per direction).
    pub hidden: usize,
    /// Stacked word LSTM layers `L` (>= 1).
    pub layers: usize,
    /// Bidirectional word LSTM: outputs `[h_fwd_t ; h_bwd_t]`.
    pub bidirectional: bool,
    /// Number of tags `T`.
    pub num_tags: usize,
    /// Linear-chain CRF over the log_softmax scores (Viterbi decoding).
    pub crf: bool,
}

impl Arch {
    /// Width of `c_w` (0 without char features).
    pub fn char_feature_dim(&self) -> usize {
        self.char.as_ref().map_or(0, CharArch::feature_dim)
    }

    /// Width of the word LSTM's input `[x_w ; c_w]`.
    pub fn word_input_dim(&self) -> usize {
        self.word_dim + self.char_feature_dim()
    }

    /// Width `D` of the word LSTM's output (the input of hidden2tag).
    pub fn lstm_output(&self) -> usize {
        self.hidden * dirs(self.bidirectional)
    }
}

/// 1 or 2 directions.
pub(crate) fn dirs(bidirectional: bool) -> usize {
    if bidirectional {
        2
    } else {
        1
    }
}

/// One direction of one LSTM layer, exactly `torch.nn.LSTM`'s, gate order i, f, g, o.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    /// (4H, in) row-major.
    pub w_ih: Vec<f32>,
    /// (4H, H) row-major.
    pub w_hh: Vec<f32>,
    /// (4H,) = PyTorch's `bias_ih + bias_hh`. PyTorch trains the two as separate parameters
    /// with equal gradients, so the optimizers step this tensor twice (see [`ParamMut::copies`]).
    pub b: Vec<f32>,
}

impl Cell {
    fn zeros(input: usize, hidden: usize) -> Self {
        Cell {
            w_ih: vec![0.0; 4 * hidden * input],
            w_hh: vec![0.0; 4 * hidden * hidden],
            b: vec![0.0; 4 * hidden],
        }
    }

    /// Hidden size H.
    pub fn hidden(&self) -> usize {
        self.b.len() / 4
    }

    /// Input width.
    pub fn input(&self) -> usize {
        self.w_ih.len() / self.b.len()
    }
}

/// Linear-chain CRF parameters (pytorch-crf conventions).
#[derive(Clone, Debug, PartialEq)]
pub struct Crf {
    /// (T, T) row-major, `[from, to]`.
    pub transitions: Vec<f32>,
    /// (T,) score of starting with a tag.
    pub start: Vec<f32>,
    /// (T,) score of ending with a tag.
    pub end: Vec<f32>,
}

/// All trainable tensors. A gradient buffer is a `Params` too.
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    /// The shape these tensors have.
    pub arch: Arch,
    /// (V, Dw) row-major.
    pub word_emb: Vec<f32>,
    /// (C, Dc) row-major; empty without char features.
    pub char_emb: Vec<f32>,
    /// `[layer][direction]`, direction 0 = forward, 1 = reverse. Empty without char features.
    pub char_lstm: Vec<Vec<Cell>>,
    /// `[layer][direction]` of the word LSTM.
    pub lstm: Vec<Vec<Cell>>,
    /// (T, D) row-major: hidden2tag.weight.
    pub tag_w: Vec<f32>,
    /// (T,) hidden2tag.bias.
    pub tag_b: Vec<f32>,
    /// Present iff `arch.crf`.
    pub crf: Option<Crf>,
}

/// One named parameter (a tensor, as PyTorch's `named_parameters()` yields), for optimizers, gradient checks, clipping and export.
#[derive(Debug)]
pub struct ParamMut<'a> {
    /// The PyTorch parameter name, e.g. `lstm.weight_ih_l0_reverse`, `crf.transitions`;
    /// an LSTM bias, which stands for PyTorch's two, is named after both:
    /// `lstm.bias_ih_l0+bias_hh_l0`.
    pub name: String,
    /// Shape, outermost first (the data is row-major).
    pub shape: Vec<usize>,
    /// How many identical PyTorch parameters this tensor stands for: 2 for an LSTM bias
    /// (`bias_ih + bias_hh`, which PyTorch updates separately with equal gradients), else 1.
    /// SGD and Adam step a tensor `copies` times and clipping counts its norm `copies` times,
    /// so training equals PyTorch's.
    pub copies: usize,
    /// The values.
    pub data: &'a mut [f32],
}

/// Read-only counterpart of [`ParamMut`].
#[derive(Debug)]
pub struct Param<'a> {
    /// See [`ParamMut::name`].
    pub name: String,
    /// See [`ParamMut::shape`].
    pub shape: Vec<usize>,
    /// See [`ParamMut::copies`].
    pub copies: usize,
    /// The values.
    pub data: &'a [f32],
}

/// (name, shape, copies) of every tensor, in PyTorch's module order; `named_parameters()` and
/// `named_parameters_mut()` yield the data in this order.
fn parameter_specs(arch: &Arch) -> Vec<(String, Vec<usize>, usize)> {
    let mut specs = vec![(
        "word_embeddings.weight".to_string(),
        vec![arch.word_vocab, arch.word_dim],
        1,
    )];
    let mut push_lstm = |prefix: &str, input: usize, hidden: usize, layers: usize, bi: bool| {
        for layer in 0..layers {
            let layer_in = if layer == 0 { input } else { hidden * dirs(bi) };
            for dir in 0..dirs(bi) {
                let sfx = if dir == 1 { "_reverse" } else { "" };
                let name = |what: &str| format!("{prefix}.{what}_l{layer}{sfx}");
                specs.push((name("weight_ih"), vec![4 * hidden, layer_in], 1));
                specs.push((name("weight_hh"), vec![4 * hidden, hidden], 1));
                let bias = format!("{}+bias_hh_l{layer}{sfx}", name("bias_ih"));
                specs.push((bias, vec![4 * hidden], 2));
            }
        }
    };
    if let Some(c) = &arch.char {
        push_lstm("char_lstm", c.dim, c.hidden, c.layers, c.bidirectional);
    }
    push_lstm(
        "lstm",
        arch.word_input_dim(),
        arch.hidden,
        arch.layers,
        arch.bidirectional,
    );
    if let Some(c) = &arch.char {
        // The char embedding goes right after the word embedding, as in the tutorial's module.
        specs.insert(
            1,
            (
                "char_embeddings.weight".to_string(),
                vec![c.vocab, c.dim],
                1,
            ),
        );
    }
    let (t, d) = (arch.num_tags, arch.lstm_output());
    specs.push(("hidden2tag.weight".to_string(), vec![t, d], 1));
    specs.push(("hidden2tag.bias".to_string(), vec![t], 1));
    if arch.crf {
        specs.push(("crf.transitions".to_string(), vec![t, t], 1));
        specs.push(("crf.start_transitions".to_string(), vec![t], 1));
        specs.push(("crf.end_transitions".to_string(), vec![t], 1));
    }
    specs
}

fn lstm_zeros(input: usize, hidden: usize, layers: usize, bi: bool) -> Vec<Vec<Cell>> {
    (0..layers)
        .map(|layer| {
            let layer_in = if layer == 0 { input } else { hidden * dirs(bi) };
            (0..dirs(bi))
                .map(|_| Cell::zeros(layer_in, hidden))
                .collect()
        })
        .collect()
}

impl Params {
    /// All-zero tensors of the right shapes (a gradient buffer).
    pub fn zeros(arch: &Arch) -> Self {
        let (t, d) = (arch.num_tags, arch.lstm_output());
        let (char_emb, char_lstm) = match &arch.char {
            Some(c) => (
                vec![0.0; c.vocab * c.dim],
                lstm_zeros(c.dim, c.hidden, c.layers, c.bidirectional),
            ),
            None => (Vec::new(), Vec::new()),
        };
        Params {
            arch: arch.clone(),
            word_emb: vec![0.0; arch.word_vocab * arch.word_dim],
            char_emb,
            char_lstm,
            lstm: lstm_zeros(
                arch.word_input_dim(),
                arch.hidden,
                arch.layers,
                arch.bidirectional,
            ),
            tag_w: vec![0.0; t * d],
            tag_b: vec![0.0; t],
            crf: arch.crf.then(|| Crf {
                transitions: vec![0.0; t * t],
                start: vec![0.0; t],
                end: vec![0.0; t],
            }),
        }
    }

    /// PyTorch's default initialization: embeddings N(0, 1); LSTM weights and both biases
    /// U(-1/sqrt(H), 1/sqrt(H)) (so `b` is the sum of two such draws); Linear
    /// U(-1/sqrt(in), 1/sqrt(in)); CRF U(-0.1, 0.1) as pytorch-crf.
    pub fn init(arch: &Arch, rng: &mut Rng) -> Self {
        let mut p = Params::zeros(arch);
        let normal = |v: &mut [f32], rng: &mut Rng| v.iter_mut().for_each(|x| *x = rng.normal());
        let uniform = |v: &mut [f32], k: f32, rng: &mut Rng| {
            v.iter_mut().for_each(|x| *x = rng.uniform(-k, k))
        };
        let init_lstm = |cells: &mut Vec<Vec<Cell>>, rng: &mut Rng| {
            for cell in cells.iter_mut().flatten() {
                let k = 1.0 / (cell.hidden() as f32).sqrt();
                uniform(&mut cell.w_ih, k, rng);
                uniform(&mut cell.w_hh, k, rng);
                for b in cell.b.iter_mut() {
                    *b = rng.uniform(-k, k);
                }
                for b in cell.b.iter_mut() {
                    *b += rng.uniform(-k, k);
                }
            }
        };
        normal(&mut p.word_emb, rng);
        normal(&mut p.char_emb, rng);
        init_lstm(&mut p.char_lstm, rng);
        init_lstm(&mut p.lstm, rng);
        let k = 1.0 / (arch.lstm_output() as f32).sqrt();
        uniform(&mut p.tag_w, k, rng);
        uniform(&mut p.tag_b, k, rng);
        if let Some(crf) = &mut p.crf {
            uniform(&mut crf.transitions, 0.1, rng);
            uniform(&mut crf.start, 0.1, rng);
            uniform(&mut crf.end, 0.1, rng);
        }
        p
    }

    /// The tensors' storage in `parameter_specs` order.
    fn slices(&self) -> Vec<&[f32]> {
        let mut v: Vec<&[f32]> = vec![&self.word_emb];
        if self.arch.char.is_some() {
            v.push(&self.char_emb);
        }
        for cell in self.char_lstm.iter().chain(&self.lstm).flatten() {
            v.extend([&cell.w_ih[..], &cell.w_hh[..], &cell.b[..]]);
        }
        v.extend([&self.tag_w[..], &self.tag_b[..]]);
        if let Some(crf) = &self.crf {
            v.extend([&crf.transitions[..], &crf.start[..], &crf.end[..]]);
        }
        v
    }

    /// Mutable twin of `slices` (same order).
    fn slices_mut(&mut self) -> Vec<&mut [f32]> {
        let mut v: Vec<&mut [f32]> = vec![&mut self.word_emb];
        if self.arch.char.is_some() {
            v.push(&mut self.char_emb);
        }
        for cell in self.char_lstm.iter_mut().chain(&mut self.lstm).flatten() {
            v.extend([&mut cell.w_ih[..], &mut cell.w_hh[..], &mut cell.b[..]]);
        }
        v.extend([&mut self.tag_w[..], &mut self.tag_b[..]]);
        if let Some(crf) = &mut self.crf {
            v.extend([
                &mut crf.transitions[..],
                &mut crf.start[..],
                &mut crf.end[..],
            ]);
        }
        v
    }

    /// Every tensor with its PyTorch-style name, in a stable order.
    pub fn named_parameters(&self) -> Vec<Param<'_>> {
        parameter_specs(&self.arch)
            .into_iter()
            .zip(self.slices())
            .map(|((name, shape, copies), data)| Param {
                name,
                shape,
                copies,
                data,
            })
            .collect()
    }

    /// Every tensor, mutably, with its PyTorch-style name, in the order of [`Params::named_parameters`].
    pub fn named_parameters_mut(&mut self) -> Vec<ParamMut<'_>> {
        parameter_specs(&self.arch)
            .into_iter()
            .zip(self.slices_mut())
            .map(|((name, shape, copies), data)| ParamMut {
                name,
                shape,
                copies,
                data,
            })
            .collect()
    }

    /// Number of scalars (each LSTM bias counted once).
    pub fn num_scalars(&self) -> usize {
        self.slices().iter().map(|s| s.len()).sum()
    }

    /// Sets every value to 0 (clears a gradient buffer).
    pub fn fill_zero(&mut self) {
        for s in self.slices_mut() {
            s.fill(0.0);
        }
    }

    /// `self += other`, tensor by tensor. Tensors empty in `other` are skipped (chunk gradient
    /// buffers leave the word embedding empty: its rows are scattered separately).
    pub(crate) fn add_assign_dense(&mut self, other: &Params) {
        for (dst, src) in self.slices_mut().into_iter().zip(other.slices()) {
            if src.is_empty() {
                continue;
            }
            for (d, s) in dst.iter_mut().zip(src) {
                *d += *s;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arch() -> Arch {
        Arch {
            word_vocab: 10,
            word_dim: 4,
            char: Some(CharArch {
                vocab: 7,
                dim: 3,
                hidden: 2,
                layers: 2,
                bidirectional: true,
            }),
            hidden: 5,
            layers: 2,
            bidirectional: true,
            num_tags: 3,
            crf: true,
        }
    }

    #[test]
    fn names_shapes_and_sizes_agree() {
        let mut p = Params::zeros(&arch());
        let names: Vec<String> = p
            .named_parameters()
            .iter()
            .map(|t| t.name.clone())
            .collect();
        assert_eq!(names[0], "word_embeddings.weight");
        assert_eq!(names[1], "char_embeddings.weight");
        assert_eq!(names[2], "char_lstm.weight_ih_l0");
        assert!(names.contains(&"char_lstm.bias_ih_l1_reverse+bias_hh_l1_reverse".to_string()));
        assert!(names.contains(&"lstm.weight_ih_l1_reverse".to_string()));
        assert_eq!(names.last().unwrap(), "crf.end_transitions");
        for t in p.named_parameters_mut() {
            assert_eq!(
                t.shape.iter().product::<usize>(),
                t.data.len(),
                "{}",
                t.name
            );
            assert_eq!(t.copies, if t.name.contains("+bias_hh_l") { 2 } else { 1 });
        }
        // Word LSTM layer 0 eats [x_w ; c_w] = 4 + 2*2; layer 1 eats 2*5.
        assert_eq!(p.lstm[0][1].input(), 8);
        assert_eq!(p.lstm[1][0].input(), 10);
        assert_eq!(p.char_lstm[1][1].input(), 4);
    }

    #[test]
    fn init_is_seeded_and_in_range() {
        let a = Params::init(&arch(), &mut Rng::new(3));
        let b = Params::init(&arch(), &mut Rng::new(3));
        assert_eq!(a, b);
        let k = 1.0 / 5f32.sqrt();
        assert!(a.lstm[0][0].w_hh.iter().all(|x| x.abs() <= k));
        assert!(a.lstm[0][0].b.iter().all(|x| x.abs() <= 2.0 * k));
        assert!(a
            .crf
            .as_ref()
            .unwrap()
            .transitions
            .iter()
            .all(|x| x.abs() <= 0.1));
        assert!(a.word_emb.iter().any(|x| x.abs() > 1.0));
    }
}
