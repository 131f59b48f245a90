//! PyTorch `state_dict` names and layouts mapped onto blob roles (feature `alloc`).
//!
//! Names follow the tutorial's `LSTMTagger` and its char-feature exercise:
//! `word_embeddings.weight`, `lstm.{weight_ih,weight_hh,bias_ih,bias_hh}_l{k}[_reverse]`,
//! `hidden2tag.{weight,bias}`, `char_embeddings.weight`, `char_lstm.*` with the same
//! pattern, and for a CRF `crf.{transitions,start_transitions,end_transitions}`
//! (pytorch-crf's names; `transitions[i][j]` scores moving from tag i to tag j).
//! Weight layouts are PyTorch's: row-major, LSTM gate rows in order i, f, g, o.
//! The blob stores one LSTM bias per cell, `bias_ih + bias_hh`.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use crate::builder::{BlobBuilder, BuildError};
use crate::format::{
    CharConfig, Config, LstmPart, LstmShape, Net, Role, TagColumn, WordConfig, MAX_LAYERS,
};
use crate::tensor::Storage;

/// The vocabulary key that names the unknown-word (or unknown-char) row.
pub const UNKNOWN_KEY: &str = "<unk>";

/// One tensor of a state_dict: its shape and its elements in row-major order.
#[derive(Debug, Clone, PartialEq)]
pub struct TorchTensor {
    /// PyTorch shape.
    pub shape: Vec<usize>,
    /// Elements, row-major.
    pub data: Vec<f32>,
}

/// The tutorial's index maps: `word_to_ix`, `tag_to_ix`, and for char models `char_to_ix`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TorchVocab {
    /// Word -> embedding row; the key [`UNKNOWN_KEY`] names the unknown-word row.
    pub word_to_ix: BTreeMap<String, u32>,
    /// Tag -> output index.
    pub tag_to_ix: BTreeMap<String, u32>,
    /// Character -> embedding row; the key [`UNKNOWN_KEY`] names the unknown-char row.
    pub char_to_ix: Option<BTreeMap<String, u32>>,
}

/// Choices a state_dict does not carry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImportOptions {
    /// Word normalization flags (`format::NORMALIZE_*`) recorded in the blob.
    pub normalize: u8,
    /// Longest word the char LSTM reads whole (see [`crate::vocab::word_chars`]).
    pub max_word_chars: u32,
    /// CoNLL-U column of the tags.
    pub tag_column: TagColumn,
    /// Weight storage.
    pub storage: Storage,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            normalize: 0,
            max_word_chars: 32,
            tag_column: TagColumn::Upos,
            storage: Storage::F32,
        }
    }
}

/// The state_dict name of an LSTM tensor (`bias_ih` for the combined bias).
pub fn lstm_name(net: Net, layer: usize, reverse: bool, part: LstmPart) -> String {
    let prefix = match net {
        Net::Word => "lstm",
        Net::Char => "char_lstm",
    };
    let kind = match part {
        LstmPart::InputWeights => "weight_ih",
        LstmPart::HiddenWeights => "weight_hh",
        LstmPart::Bias => "bias_ih",
    };
    let suffix = if reverse { "_reverse" } else { "" };
    format!("{prefix}.{kind}_l{layer}{suffix}")
}

fn err<T>(msg: impl Into<String>) -> Result<T, BuildError> {
    Err(BuildError::Torch(msg.into()))
}

/// Takes tensors out of the state_dict by name, checking shapes.
struct Dict {
    tensors: BTreeMap<String, TorchTensor>,
}

/// `[i, j, ...]`: the PyTorch index of element `flat` of a row-major tensor of `shape`.
fn index(shape: &[usize], mut flat: usize) -> String {
    let mut parts = vec![0; shape.len()];
    for (p, &d) in parts.iter_mut().zip(shape).rev() {
        *p = flat % d.max(1);
        flat /= d.max(1);
    }
    let parts: Vec<String> = parts.iter().map(|p| format!("{p}")).collect();
    format!("[{}]", parts.join(", "))
}

/// Refuses an element of tensor `name` that a blob cannot store (NaN, infinite, or
/// beyond [`crate::format::MAX_MAGNITUDE`]), naming its index.
fn check_finite(name: &str, shape: &[usize], data: &[f32]) -> Result<(), BuildError> {
    match data.iter().position(|&v| !crate::format::storable(v)) {
        None => Ok(()),
        Some(i) => err(format!(
            "{name}{} is {:e}; {}",
            index(shape, i),
            data[i],
            crate::builder::STORABLE
        )),
    }
}

impl Dict {
    fn take(&mut self, name: &str, shape: &[usize]) -> Result<Vec<f32>, BuildError> {
        match self.tensors.remove(name) {
            None => err(format!("state_dict has no tensor `{name}`")),
            Some(t) if t.shape != shape || t.data.len() != shape.iter().product::<usize>() => err(
                format!("`{name}` has shape {:?}, expected {:?}", t.shape, shape),
            ),
            Some(t) => {
                check_finite(name, shape, &t.data)?;
                Ok(t.data)
            }
        }
    }

    fn take_optional(
        &mut self,
        name: &str,
        shape: &[usize],
    ) -> Result<Option<Vec<f32>>, BuildError> {
        if self.tensors.contains_key(name) {
            self.take(name, shape).map(Some)
        } else {
            Ok(None)
        }
    }

    fn shape(&self, name: &str) -> Option<&[usize]> {
        self.tensors.get(name).map(|t| t.shape.as_slice())
    }

    /// The shape of an LSTM stack `prefix` (`lstm` or `char_lstm`), read from its names.
    fn lstm_shape(&self, prefix: &str, input: usize) -> Result<LstmShape, BuildError> {
        // nn.LSTM's options: `batch_first` and `dropout` leave no trace in the
        // state_dict; `bias=False` drops the biases (zero here); `num_layers` and
        // `bidirectional` are read from the names below; `proj_size` is refused.
        if let Some(hr) = self
            .tensors
            .keys()
            .find(|k| k.starts_with(&format!("{prefix}.weight_hr_l")))
        {
            return err(format!(
                "`{prefix}`: LSTMs with projections (`proj_size`, `{hr}`) are not supported"
            ));
        }
        let name = format!("{prefix}.weight_hh_l0");
        let Some(&[g, h]) = self.shape(&name) else {
            return err(format!("state_dict has no 2-D tensor `{name}`"));
        };
        if h > 0 && g != 4 * h && (g == 3 * h || g == h) {
            let guess = if g == 3 * h { "a GRU?" } else { "an RNN?" };
            let rows = if g == 3 * h { "3H" } else { "1H" };
            return err(format!(
                "`{prefix}` is not an LSTM: `{name}` has shape [{g}, {h}], {rows} rows ({guess}); an LSTM has 4H"
            ));
        }
        if g != 4 * h || h == 0 {
            return err(format!("`{name}` has shape [{g}, {h}], expected [4H, H]"));
        }
        let layers = (0..)
            .take_while(|k| {
                self.tensors
                    .contains_key(&format!("{prefix}.weight_ih_l{k}"))
            })
            .count();
        if layers == 0 || layers > MAX_LAYERS {
            return err(format!(
                "`{prefix}` has {layers} layers; 1 to {MAX_LAYERS} are supported"
            ));
        }
        let bidirectional = self
            .tensors
            .contains_key(&format!("{prefix}.weight_ih_l0_reverse"));
        let first = format!("{prefix}.weight_ih_l0");
        if self.shape(&first) != Some(&[4 * h, input]) {
            return err(format!(
                "`{first}` has shape {:?}, expected [{}, {input}] (embedding dims must match)",
                self.shape(&first).unwrap_or(&[]),
                4 * h
            ));
        }
        Ok(LstmShape {
            hidden: h as u32,
            layers: layers as u8,
            bidirectional,
        })
    }

    /// The state_dict tensor for an LSTM role of the blob (`bias_ih + bias_hh` for the
    /// bias; both missing is zero, as for `nn.LSTM(bias=False)`, which has neither: one
    /// without the other is an error naming the missing one).
    fn lstm_tensor(
        &mut self,
        role: Role,
        rows: usize,
        cols: usize,
    ) -> Result<Vec<f32>, BuildError> {
        let Role::Lstm {
            net,
            layer,
            reverse,
            part,
        } = role
        else {
            return err(format!("{role:?} is not an LSTM tensor"));
        };
        let name = lstm_name(net, layer as usize, reverse, part);
        if part != LstmPart::Bias {
            return self.take(&name, &[rows, cols]);
        }
        let hh = name.replace("bias_ih", "bias_hh");
        let (b_ih, b_hh) = (
            self.take_optional(&name, &[cols])?,
            self.take_optional(&hh, &[cols])?,
        );
        let (present, missing) = match (&b_ih, &b_hh) {
            (Some(_), None) => (&name, &hh),
            (None, Some(_)) => (&hh, &name),
            _ => (&name, &name),
        };
        if b_ih.is_some() != b_hh.is_some() {
            return err(format!(
                "{missing} is missing while {present} is there: an LSTM has both biases, or \
                 neither (bias=False)"
            ));
        }
        let mut bias = b_ih.unwrap_or_else(|| vec![0.0; cols]);
        if let Some(b_hh) = b_hh {
            for (i, (x, y)) in bias.iter_mut().zip(b_hh).enumerate() {
                *x += y;
                if !crate::format::storable(*x) {
                    return err(format!(
                        "{name}[{i}] + {hh}[{i}] is {x:e} (the two biases summed); {}",
                        crate::builder::STORABLE
                    ));
                }
            }
        }
        Ok(bias)
    }
}

/// (key, row) pairs of an index map, and the row of its unknown entry.
type KeyedRows<'m> = (Vec<(&'m str, u32)>, Option<u32>);

/// Splits an index map into (key, row) pairs and the unknown row; checks rows < `rows`.
fn split_unknown<'m>(
    what: &str,
    map: &'m BTreeMap<String, u32>,
    rows: usize,
) -> Result<KeyedRows<'m>, BuildError> {
    let mut pairs = Vec::new();
    let mut unknown = None;
    for (key, &row) in map {
        if row as usize >= rows {
            return err(format!(
                "{what}[{key:?}] = {row}, but the embedding has {rows} rows"
            ));
        }
        if key == UNKNOWN_KEY {
            unknown = Some(row);
        } else {
            pairs.push((key.as_str(), row));
        }
    }
    Ok((pairs, unknown))
}

/// Builds a blob from a PyTorch `state_dict` and the tutorial's index maps.
///
/// The architecture is read from tensor names and shapes; a tensor that is not
/// part of the model family is an error, so nothing is silently dropped.
pub fn blob_from_state_dict(
    tensors: BTreeMap<String, TorchTensor>,
    vocab: &TorchVocab,
    options: &ImportOptions,
) -> Result<Vec<u8>, BuildError> {
    let mut d = Dict { tensors };
    let storage = options.storage;
    let most = crate::format::MAX_WORD_CHARS;
    if !(1..=most).contains(&options.max_word_chars) {
        return err(format!(
            "max_word_chars must be 1 to {most}, not {}",
            options.max_word_chars
        ));
    }
    let Some(&[word_rows, word_dim]) = d.shape("word_embeddings.weight") else {
        return err("state_dict has no 2-D tensor `word_embeddings.weight`");
    };
    let (words, unknown_word) = split_unknown("word_to_ix", &vocab.word_to_ix, word_rows)?;
    if words.is_empty() && unknown_word.is_none() {
        return err(format!(
            "word_to_ix names no word and no unknown-word row ({UNKNOWN_KEY:?}): the model could tag no token"
        ));
    }

    let chars = match d.shape("char_embeddings.weight") {
        // A `char_to_ix` for a model without a char network would be dropped: the
        // vocabulary and the state_dict are of different models.
        None if vocab.char_to_ix.is_some() => {
            return err(
                "the vocabulary has `char_to_ix` but the state_dict has no `char_embeddings.weight` (a model without char features): export the char model's state_dict, or leave `char_to_ix` out",
            );
        }
        None => None,
        Some(&[rows, dim]) => {
            let Some(map) = &vocab.char_to_ix else {
                return err("the model has char features but the vocabulary has no `char_to_ix`");
            };
            let (pairs, unknown) = split_unknown("char_to_ix", map, rows)?;
            let mut chars = Vec::new();
            for (key, row) in pairs {
                let mut it = key.chars();
                match (it.next(), it.next()) {
                    (Some(c), None) => chars.push((c, row)),
                    _ => return err(format!("char_to_ix key {key:?} is not one character")),
                }
            }
            let lstm = d.lstm_shape("char_lstm", dim)?;
            Some((
                CharConfig {
                    rows: rows as u32,
                    dim: dim as u32,
                    unknown,
                    max_word_chars: options.max_word_chars,
                    lstm,
                },
                chars,
            ))
        }
        Some(s) => {
            return err(format!(
                "`char_embeddings.weight` has shape {s:?}, expected 2-D"
            ))
        }
    };
    let char_config = chars.as_ref().map(|c| c.0);
    let word_input = word_dim + char_config.map_or(0, |c| c.feature_dim());
    let lstm = d.lstm_shape("lstm", word_input)?;
    let Some(&[tags, _]) = d.shape("hidden2tag.weight") else {
        return err("state_dict has no 2-D tensor `hidden2tag.weight`");
    };
    let crf = d.shape("crf.transitions").is_some();
    let config = Config {
        words: WordConfig {
            rows: word_rows as u32,
            dim: word_dim as u32,
            unknown: unknown_word,
            normalize: options.normalize,
        },
        chars: char_config,
        lstm,
        tags: tags as u32,
        crf,
        tag_column: options.tag_column,
    };

    let mut b = BlobBuilder::new(config);
    let emb = d.take("word_embeddings.weight", &[word_rows, word_dim])?;
    b.weights(Role::WordEmbedding, word_rows, word_dim, &emb, storage)?;
    b.words(words)?;
    if let Some((cc, pairs)) = chars {
        let (rows, dim) = (cc.rows as usize, cc.dim as usize);
        let emb = d.take("char_embeddings.weight", &[rows, dim])?;
        b.weights(Role::CharEmbedding, rows, dim, &emb, storage)?;
        b.chars(pairs)?;
        b.lstm_stack(Net::Char, storage, |role, rows, cols| {
            d.lstm_tensor(role, rows, cols)
        })?;
    }
    b.lstm_stack(Net::Word, storage, |role, rows, cols| {
        d.lstm_tensor(role, rows, cols)
    })?;
    let out = lstm.output_dim();
    let w = d.take("hidden2tag.weight", &[tags, out])?;
    b.weights(Role::TagWeights, tags, out, &w, storage)?;
    let bias = d
        .take_optional("hidden2tag.bias", &[tags])?
        .unwrap_or_else(|| vec![0.0; tags]);
    b.vector(Role::TagBias, &bias)?;
    if crf {
        b.square(
            Role::CrfTransitions,
            tags,
            &d.take("crf.transitions", &[tags, tags])?,
        )?;
        b.vector(Role::CrfStart, &d.take("crf.start_transitions", &[tags])?)?;
        b.vector(Role::CrfEnd, &d.take("crf.end_transitions", &[tags])?)?;
    }

    let mut names = vec![None; tags];
    for (name, &ix) in &vocab.tag_to_ix {
        match names.get_mut(ix as usize) {
            Some(slot @ None) => *slot = Some(name.as_str()),
            Some(Some(other)) => {
                return err(format!("tags {other:?} and {name:?} share index {ix}"))
            }
            None => {
                return err(format!(
                    "tag_to_ix[{name:?}] = {ix}, but the model has {tags} tags"
                ))
            }
        }
    }
    if let Some(missing) = names.iter().position(Option::is_none) {
        return err(format!(
            "tag_to_ix names no tag for index {missing} of {tags}"
        ));
    }
    b.tag_names(names.iter().map(|n| n.unwrap_or_default()))?;

    if let Some(extra) = d.tensors.keys().next() {
        return err(format!(
            "state_dict tensor `{extra}` is not understood: it is not part of a supported model (see `postag_core::torch` for the names)"
        ));
    }
    b.finish()
}

#[cfg(feature = "torch-io")]
mod io {
    use super::*;
    use safetensors::{Dtype, SafeTensors};

    /// Reads a state_dict saved with `safetensors.torch.save_file` (f32, f16, bf16 or f64 tensors).
    pub fn read_safetensors(bytes: &[u8]) -> Result<BTreeMap<String, TorchTensor>, BuildError> {
        names_twice(bytes)?;
        let st = SafeTensors::deserialize(bytes)
            .map_err(|e| BuildError::Torch(format!("not a safetensors file: {e}")))?;
        let mut out = BTreeMap::new();
        for (name, view) in st.tensors() {
            let raw = view.data();
            let data: Vec<f32> = match view.dtype() {
                Dtype::F32 => raw
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
                Dtype::F64 => {
                    let wide: Vec<f64> = raw
                        .chunks_exact(8)
                        .map(|b| f64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
                        .collect();
                    if let Some(i) = wide
                        .iter()
                        .position(|v| v.is_finite() && !(*v as f32).is_finite())
                    {
                        return err(format!(
                            "{name}{} is {:e}, out of f32 range",
                            index(view.shape(), i),
                            wide[i]
                        ));
                    }
                    wide.iter().map(|&v| v as f32).collect()
                }
                Dtype::F16 => raw
                    .chunks_exact(2)
                    .map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]])))
                    .collect(),
                Dtype::BF16 => raw
                    .chunks_exact(2)
                    .map(|b| f32::from_bits((u16::from_le_bytes([b[0], b[1]]) as u32) << 16))
                    .collect(),
                other => {
                    return err(format!(
                        "tensor `{name}` has dtype {other:?}; floating point expected"
                    ))
                }
            };
            out.insert(
                name,
                TorchTensor {
                    shape: view.shape().to_vec(),
                    data,
                },
            );
        }
        Ok(out)
    }

    fn f16_to_f32(h: u16) -> f32 {
        let sign = ((h >> 15) as u32) << 31;
        let exp = ((h >> 10) & 0x1F) as u32;
        let frac = (h & 0x3FF) as u32;
        let bits = match (exp, frac) {
            (0, 0) => sign,
            (0, f) => {
                // Subnormal: value = f * 2^-24.
                return if sign != 0 { -(f as f32) } else { f as f32 } * (1.0 / 16_777_216.0);
            }
            (0x1F, f) => sign | 0x7F80_0000 | (f << 13),
            (e, f) => sign | ((e + 112) << 23) | (f << 13),
        };
        f32::from_bits(bits)
    }

    impl TorchVocab {
        /// Parses `{"word_to_ix": {...}, "tag_to_ix": {...}, "char_to_ix": {...}}`.
        pub fn from_json(text: &str) -> Result<Self, BuildError> {
            #[derive(serde::Deserialize)]
            struct Raw {
                word_to_ix: Unique<u32>,
                tag_to_ix: Unique<u32>,
                #[serde(default)]
                char_to_ix: Option<Unique<u32>>,
            }
            // (serde would read an array as the struct's fields in order.)
            if !text.trim_start().starts_with('{') {
                return Err(BuildError::Torch(
                    "vocabulary JSON: expected an object with word_to_ix, tag_to_ix and, for a \
                     char net, char_to_ix"
                        .into(),
                ));
            }
            let raw: Raw = serde_json::from_str(text)
                .map_err(|e| BuildError::Torch(format!("vocabulary JSON: {e}")))?;
            Ok(TorchVocab {
                word_to_ix: raw.word_to_ix.0,
                tag_to_ix: raw.tag_to_ix.0,
                char_to_ix: raw.char_to_ix.map(|m| m.0),
            })
        }
    }

    /// An index map read from a JSON object whose keys each appear once: JSON leaves a
    /// repeated key to the reader, and a map would silently keep its last index.
    /// A JSON object whose keys each appear once (the safetensors header too, whose
    /// reader keeps a repeated tensor name's last entry).
    struct Unique<V>(BTreeMap<String, V>);

    impl<'de, V: serde::Deserialize<'de>> serde::Deserialize<'de> for Unique<V> {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct Entries<V>(core::marker::PhantomData<V>);
            impl<'de, V: serde::Deserialize<'de>> serde::de::Visitor<'de> for Entries<V> {
                type Value = Unique<V>;
                fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut map: A,
                ) -> Result<Unique<V>, A::Error> {
                    let mut out = BTreeMap::new();
                    while let Some((key, value)) = map.next_entry::<String, V>()? {
                        if out.insert(key.clone(), value).is_some() {
                            return Err(serde::de::Error::custom(format!(
                                "key {key:?} appears twice in one object"
                            )));
                        }
                    }
                    Ok(Unique(out))
                }
            }
            d.deserialize_map(Entries(core::marker::PhantomData))
        }
    }

    /// An error for a safetensors header (8 bytes of length, then a JSON object) that
    /// names a tensor twice (or is not an object); the rest is the safetensors
    /// reader's to check.
    fn names_twice(bytes: &[u8]) -> Result<(), BuildError> {
        let Some(len) = bytes.get(..8).and_then(|b| b.try_into().ok()) else {
            return Ok(());
        };
        let end = usize::try_from(u64::from_le_bytes(len))
            .ok()
            .and_then(|n| n.checked_add(8));
        let Some(header) = end.and_then(|end| bytes.get(8..end)) else {
            return Ok(());
        };
        // (A header that is not JSON is the safetensors reader's to name.)
        match serde_json::from_slice::<Unique<serde::de::IgnoredAny>>(header) {
            Err(e) if e.is_data() => err(format!("not a safetensors file: its header: {e}")),
            _ => Ok(()),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::TorchVocab;

        #[test]
        fn a_vocabulary_key_that_appears_twice_is_refused() {
            let ok = r#"{"word_to_ix": {"the": 0, "dog": 1}, "tag_to_ix": {"DET": 0, "NN": 1}, "char_to_ix": null}"#;
            let vocab = TorchVocab::from_json(ok).unwrap();
            assert_eq!(vocab.word_to_ix["dog"], 1);
            assert!(vocab.char_to_ix.is_none());
            for (text, key) in [
                (
                    r#"{"word_to_ix": {"the": 0, "the": 1}, "tag_to_ix": {"DET": 0}}"#,
                    "the",
                ),
                (
                    r#"{"word_to_ix": {"the": 0}, "tag_to_ix": {"DET": 0, "DET": 0}}"#,
                    "DET",
                ),
                (
                    r#"{"word_to_ix": {"the": 0}, "tag_to_ix": {"DET": 0}, "char_to_ix": {"t": 0, "h": 1, "t": 2}}"#,
                    "t",
                ),
            ] {
                let e = TorchVocab::from_json(text).unwrap_err().to_string();
                assert!(
                    e.contains(&format!("key \"{key}\" appears twice in one object")),
                    "{e}"
                );
            }
            let e =
                TorchVocab::from_json(r#"{"word_to_ix": {}, "tag_to_ix": {}, "word_to_ix": {}}"#)
                    .unwrap_err()
                    .to_string();
            assert!(e.contains("duplicate field `word_to_ix`"), "{e}");
            // An array is no vocabulary (serde would take it as the fields in order).
            for text in ["[]", " [{}, {}]", "3"] {
                let e = TorchVocab::from_json(text).unwrap_err().to_string();
                assert!(e.contains("expected an object with word_to_ix"), "{e}");
            }
        }

        /// A safetensors header naming a tensor twice is refused (the safetensors reader
        /// would keep the last entry): made by hand, with and without the repeat.
        #[test]
        fn a_safetensors_header_naming_a_tensor_twice_is_refused() {
            let file = |header: &str| {
                let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
                bytes.extend(header.as_bytes());
                bytes.extend(2.5f32.to_le_bytes());
                bytes
            };
            let b = r#""b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}"#;
            let once = super::read_safetensors(&file(&format!("{{{b}}}"))).unwrap();
            assert_eq!(once["b"].data, [2.5]);
            let f16 = r#""b":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}"#;
            let e = super::read_safetensors(&file(&format!("{{{f16},{b}}}")))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains(r#"not a safetensors file: its header: key "b" appears twice"#),
                "{e}"
            );
        }

        #[test]
        fn half_floats_decode_exactly() {
            for (h, f) in [
                (0x3C00u16, 1.0f32),
                (0xC000, -2.0),
                (0x0001, 5.960_464_5e-8),
                (0x7BFF, 65504.0),
                (0, 0.0),
            ] {
                assert_eq!(super::f16_to_f32(h), f);
            }
        }
    }
}

#[cfg(feature = "torch-io")]
pub use io::read_safetensors;
