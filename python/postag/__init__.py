"""postag: an LSTM part-of-speech tagger whose Rust core runs PyTorch-trained taggers.

    >>> import postag
    >>> model = postag.Model.default()          # the built-in English model (UD EWT, UPOS)
    >>> model.tag(["She", "wrote", "a", "letter", "."])
    ['PRON', 'VERB', 'DET', 'NOUN', 'PUNCT']

`Model` tags tokens (`tag`, `tag_many`, `scores`) and, when the model has a segmenter, raw
text (`tag_text`, which returns sentences of `Token`s); `export` turns a trained PyTorch tagger (the
`LSTMTagger` of PyTorch's "Sequence models and LSTM networks" tutorial and its char, stacked,
bidirectional and CRF variants) into a postag model file. `postag.corpus` tags JSON-lines
shards, one model load per process, for distributed engines such as Dask or Spark.

Importing postag does not import numpy (or torch); `Model.scores` and `export` import numpy
when first called.
"""

from __future__ import annotations

import operator
import os

# `typing` is imported only by type checkers: importing it at run time would cost more
# than the rest of `import postag` together.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Mapping, Optional, Union

from ._files import write_whole
from ._postag import (
    FORMAT_VERSION,
    MAX_TOKENS,
    MAX_WORD_CHARS,
    Model,
    PostagError,
    Token,
    __version__,
    _export,
    simd_level,
)

__all__ = [
    "FORMAT_VERSION",
    "MAX_TOKENS",
    "MAX_WORD_CHARS",
    "Model",
    "PostagError",
    "Token",
    "__version__",
    "export",
    "simd_level",
]


def _as_float32(name: str, value: Any):
    """(shape, native-endian float32 bytes) of a torch tensor or any numpy array-like."""
    import numpy as np

    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch.Tensor
        value = value.detach().cpu()
        if value.is_floating_point():
            value = value.float()  # bf16 and f16 have no numpy view; f64 narrows here
        value = value.numpy()
    try:
        array = np.asarray(value)
    except ValueError as e:  # a ragged nested list
        raise ValueError(f"`{name}`: {e}") from None
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise TypeError(f"`{name}` has dtype {array.dtype}; a numeric array is expected")
    if np.issubdtype(array.dtype, np.floating) and array.dtype.itemsize > 4:
        # A finite value float32 cannot hold would become an infinity in the cast.
        limit = float(np.finfo(np.float32).max)
        with np.errstate(invalid="ignore"):
            beyond = np.isfinite(array) & (np.abs(array) > limit)
        if beyond.any():
            at = tuple(int(i) for i in np.argwhere(beyond)[0])
            where = ", ".join(map(str, at))
            raise PostagError(f"{name}[{where}] is {array[at]:e}: beyond float32's range")
    array = np.ascontiguousarray(array, dtype=np.float32)
    return tuple(int(d) for d in array.shape), array.tobytes()


def _index_map(what: str, mapping: Mapping[str, int]) -> dict[str, int]:
    if not callable(getattr(mapping, "items", None)):
        raise TypeError(f"{what} must be a mapping of str to int, not {type(mapping).__name__}")
    out = {}
    for key, ix in mapping.items():
        if not isinstance(key, str):
            raise TypeError(f"{what} keys must be str, not {type(key).__name__} ({key!r})")
        # An integer (numpy's too), never a float silently truncated or a bool.
        if isinstance(ix, bool) or not hasattr(type(ix), "__index__"):
            raise TypeError(f"{what}[{key!r}] must be an int, not {type(ix).__name__} ({ix!r})")
        ix = operator.index(ix)
        if not 0 <= ix < 2**32:
            raise ValueError(f"{what}[{key!r}] is {ix}: an index is 0 or more (and below 2**32)")
        out[key] = ix
    return out


def export(
    model: Any,
    word_to_ix: Mapping[str, int],
    tag_to_ix: Mapping[str, int],
    char_to_ix: Optional[Mapping[str, int]] = None,
    path: Union[str, os.PathLike[str], None] = None,
    *,
    lowercase: bool = False,
    fold_digits: bool = False,
    quantize: bool = False,
    max_word_chars: Optional[int] = None,
    tag_column: str = "upos",
) -> bytes:
    """Converts a trained PyTorch tagger into a postag model blob; returns the blob.

    `model` is a live `torch.nn.Module` of the tutorial's shape (its `state_dict()` is
    read) or any mapping from PyTorch state_dict names to array-likes (torch tensors,
    numpy arrays, nested lists), e.g. for the tutorial's `LSTMTagger`:

        word_embeddings.weight  (V, E)        lstm.weight_ih_l0  (4H, E)
        lstm.weight_hh_l0       (4H, H)       lstm.bias_ih_l0, lstm.bias_hh_l0  (4H,)
        hidden2tag.weight       (T, H)        hidden2tag.bias    (T,)

    (stacked and bidirectional LSTMs add `_l1`, `_reverse`; char models add
    `char_embeddings.weight` and `char_lstm.*`; CRF models `crf.transitions` (T, T),
    `crf.start_transitions` and `crf.end_transitions` (T,)). Every value is converted to
    float32. The architecture is read from the names and shapes; a tensor outside the
    model family is an error that names it.

    `word_to_ix`, `tag_to_ix` and `char_to_ix` (char models) are the tutorial's index
    maps: word -> embedding row, tag -> output column, character -> char embedding row.
    A `"<unk>"` key names the row for words (or characters) not in the map; without one,
    tagging an unknown word raises PostagError.

    `lowercase=True` when `word_to_ix` was built from `word.lower()` (tagging then
    lowercases exactly as Python's `str.lower()`); `fold_digits=True` when ASCII digits
    were replaced with "0". `quantize=True` stores int8 weights with a per-row scale
    (about 4x smaller). `max_word_chars`: the longest word the char LSTM reads whole
    (longer words: first and last halves; the default, None, is MAX_WORD_CHARS, which
    reads every word whole, as PyTorch does), only for a model with char features. `tag_column`: "upos" or "xpos", recorded for CoNLL-U tagging.

    With `path`, the blob is also written there, atomically (a temporary file renamed
    into place; a symbolic link there is written through and stays a link, an existing
    file keeps its permissions, and writes from several threads at once do not mix),
    except where nothing can be replaced: a device or named pipe (`/dev/null`) and a
    descriptor of this process (`/dev/stdout`) are written in place.
    Raises TypeError for a `model` that is neither a module nor a mapping, a flag
    that is not a bool, and an index that is not an int (a float is not
    truncated), ValueError for a negative index or a `max_word_chars` outside 1 to
    MAX_WORD_CHARS or given for a model without char features, and PostagError with the core's message when the state_dict or the
    maps do not describe a supported model (a tag name that is empty, holds whitespace or
    is given twice among them).

    This goes through the same builder as `postag import-torch`.
    """
    state = model.state_dict() if callable(getattr(model, "state_dict", None)) else model
    if not callable(getattr(state, "items", None)):
        raise TypeError(
            f"model must be a torch.nn.Module or a state_dict mapping, not {type(model).__name__}"
        )
    flags = (("lowercase", lowercase), ("fold_digits", fold_digits), ("quantize", quantize))
    for flag, value in flags:
        # (numpy's bool too, as an array's element is one.)
        numpy_bool = type(value).__module__ == "numpy" and type(value).__name__ in ("bool", "bool_")
        if not isinstance(value, bool) and not numpy_bool:
            raise TypeError(f"{flag} must be True or False, not {value!r}")
    if not isinstance(tag_column, str):
        raise TypeError(f"tag_column must be \"upos\" or \"xpos\", not {tag_column!r}")
    tensors = []
    for name, value in state.items():
        shape, data = _as_float32(str(name), value)
        tensors.append((str(name), list(shape), data))
    if max_word_chars is None:
        max_word_chars = MAX_WORD_CHARS
    elif isinstance(max_word_chars, bool) or not hasattr(type(max_word_chars), "__index__"):
        raise TypeError(f"max_word_chars must be an int, not {type(max_word_chars).__name__}")
    elif not 1 <= operator.index(max_word_chars) <= MAX_WORD_CHARS:
        raise ValueError(f"max_word_chars must be 1 to {MAX_WORD_CHARS}, not {max_word_chars}")
    elif all(name != "char_embeddings.weight" for name, _, _ in tensors):
        # (As `postag import-torch --max-word-chars` refuses it: it would be ignored.)
        raise ValueError(
            "max_word_chars is for a model with char features; this state_dict has none "
            "(no `char_embeddings.weight`)"
        )
    blob = _export(
        tensors,
        _index_map("word_to_ix", word_to_ix),
        _index_map("tag_to_ix", tag_to_ix),
        None if char_to_ix is None else _index_map("char_to_ix", char_to_ix),
        bool(lowercase),
        bool(fold_digits),
        bool(quantize),
        int(max_word_chars),
        str(tag_column),
    )
    if path is not None:
        write_whole(path, blob)
    return blob
