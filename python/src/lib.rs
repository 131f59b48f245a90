//! `postag._postag`: the Python extension module (see `postag/__init__.py` for the
//! Python-facing package and `postag/_postag.pyi` for the typed signatures).
//!
//! The Rust core does all the work; the GIL is released while a model loads, tags,
//! segments raw text or is built.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::PathBuf;

use postag_core::format::BlobBuf;
use postag_core::summary::Summary;
use postag_core::tensor::Storage;
use postag_core::torch::{self, ImportOptions, TorchTensor, TorchVocab};
use postag_core::{Error, TagColumn, MAX_TOKENS};
use pyo3::create_exception;
use pyo3::exceptions::{
    PyFileNotFoundError, PyOSError, PyPermissionError, PyTypeError, PyValueError,
};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyInt, PyList, PyMemoryView, PyString, PyType};

mod blob;
mod raw;
use blob::Loaded;

/// The English model that ships with postag (UD English EWT, UPOS).
const DEFAULT_MODEL: &[u8] = include_bytes!("../../models/en_ewt.postag");

// Module `postag`, where the package exports it: pickle finds the class there, so an
// error raised in a worker process reaches the parent.
create_exception!(
    postag,
    PostagError,
    PyValueError,
    "An error of the postag core: a blob that does not load, a token it cannot tag, a state_dict it cannot export. The message says which. (A str that holds a lone surrogate cannot be UTF-8: it raises UnicodeEncodeError, also a ValueError.)"
);

fn core_err(e: impl std::fmt::Display) -> PyErr {
    PostagError::new_err(e.to_string())
}

/// The Python exception for an I/O error on `path` (FileNotFoundError,
/// PermissionError or OSError), with a message naming the file.
fn os_error(e: &std::io::Error, path: &str) -> PyErr {
    if let Some(code) = e.raw_os_error() {
        // OSError(errno, strerror, filename): Python picks the subclass
        // (FileNotFoundError, ...) and sets `errno`, `strerror` and `filename`.
        let text = e.to_string();
        let strerror = text
            .strip_suffix(&format!(" (os error {code})"))
            .unwrap_or(&text);
        return PyOSError::new_err((code, strerror.to_string(), path.to_string()));
    }
    // An empty path shows as "" (not as nothing before the colon).
    let path = if path.is_empty() { "\"\"" } else { path };
    let msg = format!("{path}: {e}");
    match e.kind() {
        std::io::ErrorKind::NotFound => PyFileNotFoundError::new_err(msg),
        std::io::ErrorKind::PermissionDenied => PyPermissionError::new_err(msg),
        _ => PyOSError::new_err(msg),
    }
}

/// A sentence's tokens: any sequence of str except a str itself (whose characters
/// would pass for tokens).
fn tokens_of(obj: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    if obj.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(
            "tokens must be a sequence of str (one per token), not a str: split the text first",
        ));
    }
    let e = match obj.extract::<Vec<String>>() {
        Ok(tokens) => return Ok(tokens),
        Err(e) => e,
    };
    // A type error said with the argument's terms (a str that cannot be encoded keeps
    // its own error).
    if !e.is_instance_of::<PyTypeError>(obj.py()) {
        return Err(e);
    }
    let type_name =
        |o: &Bound<'_, PyAny>| -> PyResult<String> { Ok(o.get_type().name()?.to_string()) };
    if let Ok(seq) = obj.cast::<pyo3::types::PySequence>() {
        if !obj.is_instance_of::<PyBytes>() && !obj.is_instance_of::<PyByteArray>() {
            for (i, item) in seq.try_iter()?.enumerate() {
                let item = item?;
                if !item.is_instance_of::<PyString>() {
                    return Err(PyTypeError::new_err(format!(
                        "token {} must be a str, not {}",
                        i + 1,
                        type_name(&item)?
                    )));
                }
            }
        }
    }
    Err(PyTypeError::new_err(format!(
        "tokens must be a sequence of str (one per token), not {}",
        type_name(obj)?
    )))
}

thread_local! {
    /// Working memory of `Model.tag` and `Model.scores` on this thread, grown as needed.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// A part-of-speech tagger: a validated postag model blob, ready to tag.
///
/// Make one with `Model.load(path)`, `Model.from_bytes(blob)` or `Model.default()`.
/// A model is immutable and may be used from several threads at once.
#[pyclass(frozen, module = "postag")]
struct Model {
    loaded: Loaded,
    /// Where the model came from, for `repr` and error messages.
    name: String,
    /// The tag names as Python strings, made once: every tag returned is one of these.
    tags: Vec<Py<PyString>>,
}

impl Model {
    fn new(py: Python<'_>, loaded: Loaded, name: String) -> Self {
        let m = loaded.model();
        let tags = (0..m.num_tags())
            .map(|i| PyString::new(py, m.tag_name(i)).unbind())
            .collect();
        Model { loaded, name, tags }
    }

    /// The message for a core error on `tokens`, naming the token at fault.
    fn explain(&self, tokens: &[String], e: Error) -> String {
        match e {
            Error::TooManyTokens => format!(
                "{}; split the sentence",
                self.loaded.model().explain(tokens, e)
            ),
            e => self.loaded.model().explain(tokens, e).to_string(),
        }
    }

    /// Tags one sentence into `tags` (and `scores`), with `scratch` grown as needed.
    fn tag_into(
        &self,
        tokens: &[String],
        scratch: &mut Vec<u8>,
        tags: &mut [u16],
        scores: Option<&mut [f32]>,
    ) -> Result<(), String> {
        let model = self.loaded.model();
        let bytes = model
            .cached_scratch_bytes(tokens.len())
            .ok_or_else(|| self.explain(tokens, Error::TooManyTokens))?;
        if scratch.len() < bytes {
            scratch.resize(bytes, 0);
        }
        model
            .tag(tokens, scratch, tags, scores)
            .map_err(|e| self.explain(tokens, e))
    }

    /// Tags one sentence of any length as `postag tag` does: more than MAX_TOKENS words
    /// are tagged in overlapping windows (see `postag_core::sentence_windows`), each
    /// after `go_on()` says to (else it stops there, leaving `tags` unfinished).
    fn tag_long(
        &self,
        tokens: &[String],
        scratch: &mut Vec<u8>,
        tags: &mut [u16],
        go_on: &mut dyn FnMut() -> bool,
    ) -> Result<(), String> {
        if tokens.len() <= MAX_TOKENS {
            return self.tag_into(tokens, scratch, tags, None);
        }
        let mut part = Vec::new();
        for (window, kept) in postag_core::sentence_windows(tokens.len()) {
            if !go_on() {
                return Ok(());
            }
            part.resize(window.len(), 0);
            self.tag_into(&tokens[window.clone()], scratch, &mut part, None)?;
            let from = kept.start - window.start..kept.end - window.start;
            tags[kept].copy_from_slice(&part[from]);
        }
        Ok(())
    }

    /// Tags `sentences` (each at most MAX_TOKENS long) in one `Model::tag_batch` call,
    /// with `scratch` grown as needed: each sentence's tags, or `None` on any error (the
    /// caller tags them one at a time then, which names the sentence at fault).
    fn tag_batch(&self, sentences: &[Vec<String>], scratch: &mut Vec<u8>) -> Option<Vec<Vec<u16>>> {
        let model = self.loaded.model();
        let total = sentences.iter().map(Vec::len).sum();
        let longest = sentences.iter().map(Vec::len).max().unwrap_or(0);
        let bytes = model.batch_scratch_bytes(total, longest)?;
        if scratch.len() < bytes {
            scratch.resize(bytes, 0);
        }
        let mut tags = vec![0u16; total];
        model.tag_batch(sentences, scratch, &mut tags, None).ok()?;
        let mut rest = tags.as_slice();
        Some(
            sentences
                .iter()
                .map(|s| {
                    let (these, after) = rest.split_at(s.len());
                    rest = after;
                    these.to_vec()
                })
                .collect(),
        )
    }

    /// Tags one sentence on this thread's scratch buffer.
    fn tag_one(&self, tokens: &[String], scores: Option<&mut [f32]>) -> Result<Vec<u16>, String> {
        let mut tags = vec![0u16; tokens.len()];
        SCRATCH.with_borrow_mut(|scratch| self.tag_into(tokens, scratch, &mut tags, scores))?;
        Ok(tags)
    }

    fn tag_list<'py>(&self, py: Python<'py>, tags: &[u16]) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, tags.iter().map(|&t| self.tags[t as usize].bind(py)))
    }
}

/// The `threads` argument: an int of at least 1 (one beyond i64 is as many as there can
/// be: the sentences cap it); every core when not given.
fn worker_threads(threads: Option<&Bound<'_, PyAny>>) -> PyResult<usize> {
    let Some(t) = threads else {
        return Ok(std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get));
    };
    // A bool is an int to Python, never a thread count here.
    let n: i64 = match t.extract() {
        Ok(_) if t.is_instance_of::<PyBool>() => {
            return Err(PyTypeError::new_err("threads must be an int, not bool"));
        }
        Ok(n) => n,
        Err(_) if t.is_instance_of::<PyInt>() => match t.gt(0)? {
            true => i64::MAX,
            false => i64::MIN,
        },
        Err(_) => {
            let name = t.get_type().name()?;
            return Err(PyTypeError::new_err(format!(
                "threads must be an int, not {name}"
            )));
        }
    };
    if n < 1 {
        return Err(PyValueError::new_err(format!(
            "threads must be at least 1, not {t}"
        )));
    }
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// What `Model.__reduce__` returns: the function that unpickles and its arguments.
type Reduced<'py> = (Bound<'py, PyAny>, (Bound<'py, PyBytes>, String));

/// Sentences per core call in `tag_sentences` (`Model::tag_batch`).
const BATCH: usize = 32;

/// Why `tag_sentences` stopped.
enum TagFailure {
    /// The sentence (its index) the core could not tag, and the core's message.
    Sentence(usize, String),
    /// A signal's exception (Ctrl-C's KeyboardInterrupt), seen between runs.
    Interrupted(PyErr),
}

impl From<TagFailure> for PyErr {
    fn from(f: TagFailure) -> PyErr {
        match f {
            TagFailure::Sentence(i, e) => PostagError::new_err(format!("sentence {i}: {e}")),
            TagFailure::Interrupted(e) => e,
        }
    }
}

/// Python's pending signals (Ctrl-C): their exception, if a handler raised one. Only the
/// main thread sees them; elsewhere this finds none.
fn signals() -> Result<(), TagFailure> {
    Python::attach(|py| py.check_signals()).map_err(TagFailure::Interrupted)
}

/// Tags `sentences` on `threads` worker threads, each taking a contiguous share with
/// its own scratch buffer, up to [`BATCH`] sentences per core call; `long`: sentences of
/// more than MAX_TOKENS words are tagged in windows (`Model::tag_long`) rather than
/// refused. The calling thread (which holds no GIL) tags the first share and checks
/// Python's signals between runs and while it waits: Ctrl-C stops every thread at its
/// next run. On error: the first sentence that failed, or the signal's exception.
fn tag_sentences(
    model: &Model,
    sentences: &[Vec<String>],
    threads: usize,
    long: bool,
) -> Result<Vec<Vec<u16>>, TagFailure> {
    use std::sync::atomic::{AtomicBool, Ordering};
    let threads = threads.clamp(1, postag_core::worker_limit(sentences, BATCH));
    let chunk = sentences.len().div_ceil(threads).max(1);
    // Set when the calling thread saw a signal: the other threads stop.
    let stop = AtomicBool::new(false);
    let work = |first: usize, part: &[Vec<String>], caller: bool| {
        let mut scratch = Vec::new();
        let mut out = Vec::with_capacity(part.len());
        let mut start = 0;
        // The signal's exception, seen between the windows of a long sentence.
        let signal = std::cell::Cell::new(None);
        // Between the windows of a long sentence: Ctrl-C, or the caller's stop.
        let mut go_on = || match caller {
            true => signals()
                .map_err(|e| {
                    stop.store(true, Ordering::Relaxed);
                    signal.set(Some(e));
                })
                .is_ok(),
            false => !stop.load(Ordering::Relaxed),
        };
        while start < part.len() {
            if caller {
                signals().inspect_err(|_| stop.store(true, Ordering::Relaxed))?;
            } else if stop.load(Ordering::Relaxed) {
                // (The caller reports the signal.)
                return Ok(out);
            }
            // A run of up to BATCH sentences the core reads whole goes in one call.
            let run = postag_core::batch_run(&part[start..], BATCH);
            let group = &part[start..start + run.max(1)];
            match (run > 1).then(|| model.tag_batch(group, &mut scratch)) {
                Some(Some(tags)) => out.extend(tags),
                // One at a time: a long sentence, or a batch with an error, which names
                // the sentence at fault.
                _ => {
                    for (i, tokens) in group.iter().enumerate() {
                        let mut tags = vec![0u16; tokens.len()];
                        if long {
                            model.tag_long(tokens, &mut scratch, &mut tags, &mut go_on)
                        } else {
                            model.tag_into(tokens, &mut scratch, &mut tags, None)
                        }
                        .map_err(|e| TagFailure::Sentence(first + start + i, e))?;
                        if let Some(e) = signal.take() {
                            return Err(e);
                        }
                        if stop.load(Ordering::Relaxed) {
                            // (The caller reports the signal.)
                            return Ok(out);
                        }
                        out.push(tags);
                    }
                }
            }
            start += group.len();
        }
        Ok(out)
    };
    let mut shares = sentences.chunks(chunk).enumerate();
    let Some((_, first)) = shares.next() else {
        return Ok(Vec::new());
    };
    let parts: Vec<Result<Vec<Vec<u16>>, TagFailure>> = std::thread::scope(|scope| {
        let work = &work;
        let handles: Vec<_> = shares
            .map(|(c, part)| {
                std::thread::Builder::new()
                    .spawn_scoped(scope, move || work(c * chunk, part, false))
                    .map_err(|_| (c, part))
            })
            .collect();
        let mut parts = vec![work(0, first, true)];
        // While the others finish: Ctrl-C still stops them.
        while parts[0].is_ok()
            && handles
                .iter()
                .any(|h| h.as_ref().is_ok_and(|h| !h.is_finished()))
        {
            if let Err(e) = signals() {
                stop.store(true, Ordering::Relaxed);
                parts[0] = Err(e);
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        for h in handles {
            parts.push(match h {
                Ok(h) => h.join().unwrap_or_else(|_| {
                    Err(TagFailure::Sentence(
                        0,
                        "tagging thread panicked".to_string(),
                    ))
                }),
                // After Ctrl-C, nothing more (the caller reports it).
                Err(_) if stop.load(Ordering::Relaxed) => Ok(Vec::new()),
                // The system would not start another thread: this one tags its share.
                Err((c, part)) => work(c * chunk, part, true),
            });
        }
        parts
    });
    let mut all = Vec::with_capacity(sentences.len());
    for part in parts {
        all.extend(part?);
    }
    Ok(all)
}

impl Model {
    /// `tag_many`; `long`: sentences of more than MAX_TOKENS tokens in windows.
    fn tag_many_with<'py>(
        &self,
        py: Python<'py>,
        sentences: &Bound<'py, PyAny>,
        threads: Option<Bound<'py, PyAny>>,
        long: bool,
    ) -> PyResult<Bound<'py, PyList>> {
        if sentences.is_instance_of::<PyString>() {
            return Err(PyTypeError::new_err(
                "sentences must be a sequence of token lists, not a str",
            ));
        }
        let sentences = sentences
            .try_iter()?
            .map(|s| tokens_of(&s?))
            .collect::<PyResult<Vec<_>>>()?;
        let threads = worker_threads(threads.as_ref())?;
        let tagged = py.detach(|| tag_sentences(self, &sentences, threads, long))?;
        let lists = tagged
            .iter()
            .map(|tags| self.tag_list(py, tags))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, lists)
    }
}

#[pymethods]
impl Model {
    /// Reads and validates the model file at `path` (a postag blob: `postag train`,
    /// `postag import-torch` or `postag.export` write one).
    ///
    /// Raises OSError when the file cannot be read and PostagError when it is not a
    /// valid model.
    #[classmethod]
    fn load(_cls: &Bound<'_, PyType>, py: Python<'_>, path: &Bound<'_, PyAny>) -> PyResult<Self> {
        // A str, bytes or path-like path, as `open` takes it (`os.fsdecode`).
        let os = py.import("os")?;
        let path: PathBuf = os.call_method1("fsdecode", (path,))?.extract()?;
        let name = path.display().to_string();
        let loaded = py.detach(|| -> PyResult<Loaded> {
            // Past its first bytes only if they are a blob's magic (`/dev/zero` is no
            // model, and is not read to the end).
            let read = || postag_core::format::read_blob(&mut std::fs::File::open(&path)?);
            let bytes = read().map_err(|e| os_error(&e, &name))?;
            Loaded::owned(bytes).map_err(|e| PostagError::new_err(format!("{name}: {e}")))
        })?;
        Ok(Model::new(py, loaded, name))
    }

    /// Validates a model blob given as bytes, a bytearray or a memoryview (copied: the
    /// model keeps its own copy).
    #[classmethod]
    fn from_bytes(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        blob: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        let bytes = if let Ok(b) = blob.cast::<PyBytes>() {
            BlobBuf::new(b.as_bytes())
        } else if let Ok(b) = blob.cast::<PyByteArray>() {
            BlobBuf::new(&b.to_vec())
        } else if blob.is_instance_of::<PyMemoryView>() {
            BlobBuf::new(blob.call_method0("tobytes")?.cast::<PyBytes>()?.as_bytes())
        } else {
            return Err(PyTypeError::new_err(format!(
                "blob must be bytes, bytearray or memoryview, not {}",
                blob.get_type().name()?
            )));
        };
        let loaded = py.detach(|| Loaded::owned(bytes)).map_err(core_err)?;
        Ok(Model::new(py, loaded, "<bytes>".to_string()))
    }

    /// The built-in English model (UD English EWT, UPOS tags), embedded in the package.
    #[classmethod]
    fn default(_cls: &Bound<'_, PyType>, py: Python<'_>) -> PyResult<Self> {
        let loaded = py
            .detach(|| Loaded::borrowed(DEFAULT_MODEL))
            .map_err(core_err)?;
        Ok(Model::new(
            py,
            loaded,
            "the built-in English model".to_string(),
        ))
    }

    /// Tags one sentence: `tokens` is a list of n words (str), the result n tag names.
    ///
    /// Raises PostagError for an empty token, a word (or character) the model cannot
    /// look up, or more than MAX_TOKENS tokens.
    fn tag<'py>(
        &self,
        py: Python<'py>,
        tokens: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        let tokens = tokens_of(tokens)?;
        let tags = py
            .detach(|| self.tag_one(&tokens, None))
            .map_err(PostagError::new_err)?;
        self.tag_list(py, &tags)
    }

    /// Tags many sentences: a list of token lists in, a list of tag-name lists out (in
    /// the same order).
    ///
    /// The GIL is released while tagging. `threads` worker threads (default: every
    /// core; at most one per 32 sentences or 1,024 words) each tag a contiguous share
    /// of the sentences, up to 32 sentences per core call (the core's many-sentence
    /// call, as the command line's `tag` does): the tags of `tag`, bit for bit with
    /// int8 weights and with f32 LSTMs in panels; an f32 model whose LSTMs are in rows
    /// sums in another order there, which may tip a near tie. An error names the
    /// sentence (0-based
    /// index) and raises PostagError. Ctrl-C (a signal whose handler raises) stops the
    /// call within a run of sentences and raises its exception (KeyboardInterrupt).
    #[pyo3(signature = (sentences, threads=None))]
    fn tag_many<'py>(
        &self,
        py: Python<'py>,
        sentences: &Bound<'py, PyAny>,
        threads: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        self.tag_many_with(py, sentences, threads, false)
    }

    /// `tag_many`, with sentences of more than MAX_TOKENS tokens tagged in overlapping
    /// windows as `tag_text` and the command line tag them (for `postag.corpus`).
    #[pyo3(signature = (sentences, threads=None))]
    fn _tag_many_windowed<'py>(
        &self,
        py: Python<'py>,
        sentences: &Bound<'py, PyAny>,
        threads: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        self.tag_many_with(py, sentences, threads, true)
    }

    /// The log-probabilities of every tag for each token: a numpy float32 array of
    /// shape (n_tokens, n_tags), columns in the order of `Model.tags` (rows are
    /// `log_softmax` outputs, as PyTorch's tagger returns; with a CRF, the emissions
    /// alone, which `tag` decodes with the transitions, so a row's argmax may differ
    /// from the tag). Imports numpy on first use.
    fn scores<'py>(
        &self,
        py: Python<'py>,
        tokens: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let tokens = tokens_of(tokens)?;
        let t = self.tags.len();
        let n = tokens.len();
        let scores = py
            .detach(|| {
                let mut scores = vec![0f32; n * t];
                self.tag_one(&tokens, Some(&mut scores)).map(|_| scores)
            })
            .map_err(PostagError::new_err)?;
        let numpy = py.import("numpy")?;
        if n == 0 {
            return numpy.call_method1("zeros", ((0, t), "float32"));
        }
        let raw: Vec<u8> = scores.iter().flat_map(|v| v.to_ne_bytes()).collect();
        let buffer = PyByteArray::new(py, &raw);
        numpy
            .call_method1("frombuffer", (buffer, "float32"))?
            .call_method1("reshape", ((n, t),))
    }

    /// Whether the model has a segmenter, so that `tag_text` can tag raw text.
    #[getter]
    fn has_segmenter(&self) -> bool {
        matches!(self.loaded.segmenter(), Ok(Some(_)))
    }

    /// Tags raw text as `postag tag --format raw` does: paragraphs (split at blank
    /// lines), each split into sentences and tokens by the model's segmenter,
    /// multiword tokens expanded into their words, each sentence's words tagged.
    ///
    /// With `presegmented` (`postag tag --format raw --presegmented`), the text has one
    /// sentence per line: each line that is not blank is one sentence, only split into
    /// tokens.
    ///
    /// Returns a list of sentences, each a list of `Token`s; `Token.start`/`end` are
    /// indices into `text` (str characters, not bytes): `text[t.start:t.end] == t.text`.
    /// A leading U+FEFF (byte order mark) is skipped, as the CLI skips it.
    ///
    /// The GIL is released; `threads` worker threads (default: every core; at most one
    /// per 32 sentences or 1,024 words) tag the sentences. Raises PostagError when the
    /// model has no segmenter (see `has_segmenter`) or a word cannot be tagged (naming
    /// the 0-based sentence). Ctrl-C stops it as it stops `tag_many`.
    #[pyo3(signature = (text, threads=None, presegmented=false))]
    fn tag_text<'py>(
        &self,
        py: Python<'py>,
        text: String,
        threads: Option<Bound<'py, PyAny>>,
        presegmented: bool,
    ) -> PyResult<Bound<'py, PyList>> {
        let threads = worker_threads(threads.as_ref())?;
        let seg = match self.loaded.segmenter() {
            Ok(Some(seg)) => seg,
            Ok(None) => {
                let e = Error::NoSegmenter;
                return Err(PostagError::new_err(format!("{}: {e}", self.name)));
            }
            // (The CLI's words for a segmenter that does not load.)
            Err(e) => {
                let msg = format!("{}: its segmenter: {e}", self.name);
                return Err(PostagError::new_err(msg));
            }
        };
        let bom = usize::from(text.starts_with('\u{feff}'));
        let body = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let (sentences, tags) = py.detach(|| {
            let mut sentences = Vec::new();
            let mut iter = postag_core::segment::SentenceIter::new(seg, body, presegmented);
            // Ctrl-C: after each call of the segmenter (`None`: a few windows of text),
            // also within a paragraph without sentence ends.
            while let Some(step) = iter.poll() {
                let step = step.map_err(|e| {
                    PostagError::new_err(format!("{}: its segmenter: {e}", self.name))
                })?;
                match step {
                    Some(sentence) => sentences.push(sentence),
                    None => signals()?,
                }
            }
            let words: Vec<Vec<String>> = sentences
                .iter()
                .map(|s| {
                    s.tokens
                        .iter()
                        .flat_map(|t| t.words.iter().cloned())
                        .collect()
                })
                .collect();
            let tags = tag_sentences(self, &words, threads, true)?;
            PyResult::Ok((sentences, tags))
        })?;
        let mut chars = raw::CharIndex::new(body);
        let out = PyList::empty(py);
        for (sentence, tags) in sentences.into_iter().zip(tags) {
            let mut tags = tags.into_iter();
            let tokens = PyList::empty(py);
            for t in sentence.tokens {
                let token = Token {
                    text: body[t.start..t.end].to_string(),
                    start: bom + chars.at(t.start),
                    end: bom + chars.at(t.end),
                    tags: tags
                        .by_ref()
                        .take(t.words.len())
                        .map(|x| self.loaded.model().tag_name(x as usize).to_string())
                        .collect(),
                    words: t.words,
                };
                tokens.append(Bound::new(py, token)?)?;
            }
            out.append(tokens)?;
        }
        Ok(out)
    }

    /// The tag names, in the model's tag order (the columns of `scores`).
    #[getter]
    fn tags<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.tags.iter().map(|t| t.bind(py)))
    }

    /// The model's dimensions, options and sizes as a dict: the keys and values of
    /// `postag inspect --json` (see the type stubs), scratch sizes for sentences of
    /// `tokens` tokens (0 to MAX_TOKENS; ValueError otherwise). PostagError for a blob
    /// whose segmenter section is invalid (the tagger loads without it).
    #[pyo3(signature = (tokens = 64))]
    fn info<'py>(&self, py: Python<'py>, tokens: i64) -> PyResult<Bound<'py, PyAny>> {
        let tokens = usize::try_from(tokens)
            .ok()
            .filter(|&t| t <= MAX_TOKENS)
            .ok_or_else(|| {
                PyValueError::new_err(format!("tokens must be 0 to {MAX_TOKENS}, not {tokens}"))
            })?;
        let summary = Summary::new(&self.name, self.loaded.bytes(), tokens)
            .map_err(|e| PostagError::new_err(format!("{}: {e}", self.name)))?;
        let json = serde_json::to_string(&summary)
            .map_err(|e| PostagError::new_err(format!("{}: {e}", self.name)))?;
        py.import("json")?.call_method1("loads", (json,))
    }

    /// The model blob (bytes): `Model.from_bytes(m.to_bytes())` is the same model.
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.loaded.bytes())
    }

    /// Pickling sends the blob and the model's name (which errors and `repr` give): a
    /// model unpickles as `Model.from_bytes(blob)` under that name.
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Reduced<'py>> {
        let unpickle = py.get_type::<Model>().getattr("_from_bytes_named")?;
        Ok((unpickle, (self.to_bytes(py), self.name.clone())))
    }

    /// `from_bytes` keeping the name of the model it was pickled from.
    #[classmethod]
    fn _from_bytes_named(
        cls: &Bound<'_, PyType>,
        py: Python<'_>,
        blob: &Bound<'_, PyAny>,
        name: String,
    ) -> PyResult<Self> {
        let mut model = Self::from_bytes(cls, py, blob)?;
        model.name = name;
        Ok(model)
    }

    fn __repr__(&self) -> String {
        let c = self.loaded.model().config();
        format!(
            "<postag.Model {}: {} tags, word LSTM {} x {}{}{}{}>",
            self.name,
            c.tags,
            c.lstm.layers,
            c.lstm.hidden,
            if c.lstm.bidirectional { " bidi" } else { "" },
            if c.chars.is_some() { ", chars" } else { "" },
            if c.crf { ", CRF" } else { "" },
        )
    }
}

/// The core of `postag.export`: `tensors` are (PyTorch name, shape, native-endian
/// float32 bytes) triples; the blob is built by `postag_core::torch::blob_from_state_dict`
/// (the mapping `postag import-torch` uses); `postag.export` writes it to its `path`.
#[pyfunction]
#[pyo3(signature = (tensors, word_to_ix, tag_to_ix, char_to_ix, lowercase, fold_digits, quantize, max_word_chars, tag_column))]
#[allow(clippy::too_many_arguments)]
fn _export<'py>(
    py: Python<'py>,
    tensors: Vec<(String, Vec<usize>, Bound<'py, PyBytes>)>,
    word_to_ix: BTreeMap<String, u32>,
    tag_to_ix: BTreeMap<String, u32>,
    char_to_ix: Option<BTreeMap<String, u32>>,
    lowercase: bool,
    fold_digits: bool,
    quantize: bool,
    max_word_chars: u32,
    tag_column: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    let tag_column = match tag_column {
        "upos" | "UPOS" => TagColumn::Upos,
        "xpos" | "XPOS" => TagColumn::Xpos,
        other => {
            return Err(PyValueError::new_err(format!(
                "tag_column must be \"upos\" or \"xpos\", not {other:?}"
            )))
        }
    };
    let mut dict = BTreeMap::new();
    for (name, shape, data) in &tensors {
        let raw = data.as_bytes();
        let data: Vec<f32> = raw
            .chunks_exact(4)
            .map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if raw.len() != 4 * shape.iter().product::<usize>() {
            return Err(PyValueError::new_err(format!(
                "`{name}`: {} bytes for shape {shape:?}",
                raw.len()
            )));
        }
        if dict
            .insert(
                name.clone(),
                TorchTensor {
                    shape: shape.clone(),
                    data,
                },
            )
            .is_some()
        {
            return Err(PyValueError::new_err(format!("`{name}` given twice")));
        }
    }
    let vocab = TorchVocab {
        word_to_ix,
        tag_to_ix,
        char_to_ix,
    };
    let options = ImportOptions {
        normalize: if lowercase {
            postag_core::format::NORMALIZE_LOWERCASE
        } else {
            0
        } | if fold_digits {
            postag_core::format::NORMALIZE_FOLD_DIGITS
        } else {
            0
        },
        max_word_chars,
        tag_column,
        storage: if quantize { Storage::I8 } else { Storage::F32 },
    };
    let blob = py.detach(|| {
        torch::blob_from_state_dict(dict, &vocab, &options)
            .map_err(|e| PostagError::new_err(format!("cannot export the model: {e}")))
    })?;
    Ok(PyBytes::new(py, &blob))
}

/// A token of raw text, as `Model.tag_text` returns it: `text` is `source[start:end]`
/// (offsets in str characters), `words` its syntactic words (one, or several for a
/// multiword token such as "can't" -> "ca", "n't") and `tags` one tag per word.
#[pyclass(frozen, get_all, eq, hash, module = "postag")]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Token {
    text: String,
    start: usize,
    end: usize,
    words: Vec<String>,
    tags: Vec<String>,
}

#[pymethods]
impl Token {
    #[new]
    fn new(text: String, start: usize, end: usize, words: Vec<String>, tags: Vec<String>) -> Self {
        Token {
            text,
            start,
            end,
            words,
            tags,
        }
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let repr = |v: Bound<'_, PyAny>| v.repr().map(|r| r.to_string());
        Ok(format!(
            "Token(text={}, start={}, end={}, words={}, tags={})",
            repr(PyString::new(py, &self.text).into_any())?,
            self.start,
            self.end,
            repr(PyList::new(py, &self.words)?.into_any())?,
            repr(PyList::new(py, &self.tags)?.into_any())?,
        ))
    }

    /// Pickling sends the fields.
    #[allow(clippy::type_complexity)]
    fn __reduce__<'py>(
        &self,
        py: Python<'py>,
    ) -> (
        Bound<'py, PyType>,
        (String, usize, usize, Vec<String>, Vec<String>),
    ) {
        (
            py.get_type::<Token>(),
            (
                self.text.clone(),
                self.start,
                self.end,
                self.words.clone(),
                self.tags.clone(),
            ),
        )
    }
}

/// The SIMD level the kernels run at on this thread: "scalar", "sse2", "avx2",
/// "avx512" or "neon" (the fastest the processor supports, or the one `POSTAG_SIMD`
/// names).
#[pyfunction]
fn simd_level() -> &'static str {
    postag_core::arch::level().name()
}

#[pymodule]
fn _postag(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Model>()?;
    m.add_class::<Token>()?;
    m.add_function(wrap_pyfunction!(_export, m)?)?;
    m.add_function(wrap_pyfunction!(simd_level, m)?)?;
    m.add("PostagError", m.py().get_type::<PostagError>())?;
    m.add("MAX_TOKENS", MAX_TOKENS)?;
    m.add("MAX_WORD_CHARS", postag_core::format::MAX_WORD_CHARS)?;
    m.add("FORMAT_VERSION", postag_core::FORMAT_VERSION)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
