"""Type stubs of the extension module `postag._postag` (re-exported by `postag`)."""

import os
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union, final

import numpy as np
import numpy.typing as npt

__version__: str
FORMAT_VERSION: int
"""The newest blob format version this library reads (3; it reads 1 and 2 too). It writes
2 for a model with f32 LSTMs (in panels), 1 otherwise; 3 is an int8 word LSTM in int8
panels, which the command line's `postag convert --layout panels` writes."""
MAX_TOKENS: int
"""The most tokens one sentence may have (4096); more raises PostagError."""
MAX_WORD_CHARS: int
"""The largest `max_word_chars` a model may have (1024)."""

def simd_level() -> str:
    """The SIMD level the kernels run at on this thread: "scalar", "sse2", "avx2",
    "avx512" or "neon": the fastest the processor supports, or the one the environment variable
    POSTAG_SIMD names (read once, at the first call that needs it)."""

class PostagError(ValueError):
    """An error of the postag core: a blob that does not load, a token it cannot tag,
    a state_dict it cannot export. The message says which. (A str that holds a lone
    surrogate cannot be UTF-8: it raises UnicodeEncodeError, also a ValueError.)"""

@final
class Model:
    """A part-of-speech tagger: a validated postag model blob, ready to tag.

    Immutable; one model may be used from several threads at once. Picklable (the
    blob travels). `tag`, `tag_many` and `scores` take text already split into tokens;
    `tag_text` takes raw text when the model has a segmenter (`has_segmenter`; the
    built-in and the micro English models have one, `postag segmenter` adds one to a
    copy of any model).
    """

    @classmethod
    def load(cls, path: Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]) -> "Model":
        """Reads and validates the model file at `path`.

        Raises OSError when the file cannot be read, PostagError when it is not a
        valid model."""
    @classmethod
    def from_bytes(cls, blob: Union[bytes, bytearray, memoryview]) -> "Model":
        """Validates a model blob (copied: the model keeps its own copy)."""
    @classmethod
    def default(cls) -> "Model":
        """The built-in English model (UD English EWT, UPOS tags)."""
    def tag(self, tokens: Sequence[str]) -> List[str]:
        """Tags one sentence of n tokens: n tag names.

        Raises PostagError for an empty token, a word or character the model cannot
        look up (no "<unk>" entry), or more than MAX_TOKENS tokens."""
    def tag_many(
        self, sentences: Sequence[Sequence[str]], threads: Optional[int] = None
    ) -> List[List[str]]:
        """Tags many sentences (a list of token lists): one tag list per sentence, in order.

        The GIL is released while tagging; `threads` worker threads (default: every
        core; at most one per 32 sentences or 1,024 words) each tag a contiguous share,
        up to 32 sentences per core call (the tags of `tag`; with f32 weights up to the
        order of sums). An error names the sentence's 0-based index and raises
        PostagError. Ctrl-C stops the call within a run of sentences and raises
        KeyboardInterrupt."""
    def _tag_many_windowed(
        self, sentences: Sequence[Sequence[str]], threads: Optional[int] = None
    ) -> List[List[str]]:
        """`tag_many`, with sentences of more than MAX_TOKENS tokens tagged in
        overlapping windows (for `postag.corpus`)."""
    def scores(self, tokens: Sequence[str]) -> npt.NDArray[np.float32]:
        """Log-probabilities of shape (n_tokens, n_tags), float32: row i is the
        `log_softmax` of token i's tag scores, columns in the order of `tags`. With a
        CRF (`info()["crf"]`), these are the emissions alone: `tag` decodes them with
        the transitions (Viterbi), so a row's argmax may differ from the tag."""
    @property
    def has_segmenter(self) -> bool:
        """Whether the model can split raw text into sentences and tokens (`tag_text`)."""
    def tag_text(
        self, text: str, threads: Optional[int] = None, presegmented: bool = False
    ) -> List[List["Token"]]:
        """Tags raw text: a list of sentences, each a list of `Token`s in text order.

        Does what `postag tag --format raw` does: the text is split into paragraphs at
        blank lines; the model's segmenter splits each into sentences and tokens (with
        `presegmented`, as `--presegmented`: each line that is not blank is one
        sentence, only split into tokens);
        a multiword token (e.g. "can't") is expanded into its syntactic words
        ("ca", "n't"), as Universal Dependencies does; each sentence's words are tagged
        (more than MAX_TOKENS words: in overlapping windows). Whitespace belongs to no
        token. A leading U+FEFF (byte order mark) is skipped.

        Offsets are str indices into `text` (characters, not UTF-8 bytes):
        `text[tok.start:tok.end] == tok.text`. Paragraph breaks are not marked: a
        blank line between two tokens tells them.

        The GIL is released; `threads` worker threads (default: every core; at most one
        per 32 sentences or 1,024 words) tag the sentences (segmenting is one thread).
        Raises PostagError with the core's message when the model has no segmenter
        ("this model has no segmenter ...") or a word cannot be tagged (naming the
        0-based sentence). Ctrl-C stops it as it stops `tag_many`."""
    @property
    def tags(self) -> List[str]:
        """The tag names in the model's order (the columns of `scores`)."""
    def info(self, tokens: int = 64) -> Dict[str, Any]:
        """Dimensions, options and sizes (bytes), with the keys and values `postag
        inspect --json --tokens TOKENS` prints:

        model (the name errors give), bytes (the blob's length), format_version (the
        blob's: 1, 2 for f32 LSTMs in panels, what `export` writes, or 3 for int8 ones
        in the int8 panel layout), weights
        ("f32", "int8", or "mixed f32 and int8"), word_lstm_layout ("rows", "panels" or
        "mixed"), char_lstm_layout (the same, or None without a char net), tag_column ("UPOS" or "XPOS"), tags (list), words (vocabulary, rows,
        dim, unknown_row: int or None, normalize: a list of "lowercase", "fold
        digits"), chars (None, or vocabulary, rows, dim, unknown_row, max_word_chars,
        hidden, layers, bidirectional), lstm (hidden, layers, bidirectional), crf,
        bytes_by_part (dict), scratch_tokens (`tokens`), scratch_bytes,
        min_scratch_bytes, cached_scratch_bytes (the core's working memory for a
        sentence of `tokens` tokens, in its three schedules), state_floats (None for a
        model that cannot stream), segmenter (None, or bytes, chars, dim, hidden,
        bidirectional, multiword_forms, spaces_in_tokens, weights).

        Raises ValueError for `tokens` outside 0 to MAX_TOKENS, and PostagError for a
        blob whose segmenter section is invalid (the tagger loads without it)."""
    def to_bytes(self) -> bytes:
        """The model blob."""
    def __reduce__(self) -> Tuple[Any, Tuple[bytes, str]]: ...
    @classmethod
    def _from_bytes_named(
        cls, blob: Union[bytes, bytearray, memoryview], name: str
    ) -> "Model": ...

@final
class Token:
    """A token of raw text, as `Model.tag_text` returns it. Immutable; compares and
    hashes by value (a set or dict key); picklable."""

    text: str
    """The token as it is in the text: `source[start:end]`."""
    start: int
    """Index of its first character in the source str (characters, not bytes)."""
    end: int
    """One past its last character."""
    words: List[str]
    """Its syntactic words: `[text]` (each run of whitespace inside it as one space, for
    a model whose tokens may hold spaces), or several for a multiword token."""
    tags: List[str]
    """One tag per word."""
    def __new__(
        cls, text: str, start: int, end: int, words: List[str], tags: List[str]
    ) -> "Token": ...
    def __hash__(self) -> int: ...
    def __reduce__(
        self,
    ) -> Tuple[Any, Tuple[str, int, int, List[str], List[str]]]: ...

def _export(
    tensors: List[Tuple[str, List[int], bytes]],
    word_to_ix: Dict[str, int],
    tag_to_ix: Dict[str, int],
    char_to_ix: Optional[Dict[str, int]],
    lowercase: bool,
    fold_digits: bool,
    quantize: bool,
    max_word_chars: int,
    tag_column: str,
) -> bytes: ...
