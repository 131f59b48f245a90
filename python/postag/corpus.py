"""Tagging JSON-lines corpora shard by shard, for distributed engines (Dask, Spark, ...).

A shard is a JSON-lines file: each line an object with `"tokens": [str, ...]` (other keys
are kept), answered by the same object with `"tags"` added, the CLI's `postag tag
--format jsonl` convention; blank lines stay blank, so output line N answers input line N.

`tag_jsonl_file` is the task a worker runs per shard; it gets its model from
`cached_model`, which loads each model file once per process and reuses it for every
later shard (a model is immutable and thread-safe, so the threads of one worker share it).

    import postag.corpus
    stats = postag.corpus.tag_jsonl_file("part-0.jsonl", "out/part-0.jsonl", "m.postag")
"""

import json
import os
import threading
import warnings
from typing import Any, Dict, Iterable, List, Optional, Tuple, Union

from . import MAX_TOKENS, Model, PostagError

_PathLike = Union[str, "os.PathLike[str]"]

_lock = threading.Lock()
_models: Dict[Tuple[str, int, int], Model] = {}
_loads = 0


def cached_model(path: Optional[_PathLike] = None) -> Model:
    """The model at `path` (None: the built-in English model), loaded at most once in
    this process: later calls return the same object. A file that changed since (other
    size or modification time) is loaded again."""
    global _loads
    if path is None:
        key = ("", 0, 0)
    else:
        full = os.path.abspath(os.fspath(path))
        st = os.stat(full)
        key = (full, st.st_size, st.st_mtime_ns)
    with _lock:
        model = _models.get(key)
        if model is None:
            model = Model.default() if path is None else Model.load(key[0])
            _models[key] = model
            _loads += 1
        return model


def load_count() -> int:
    """How many times `cached_model` has loaded a model file in this process."""
    return _loads


def tag_lines(model: Model, lines: Iterable[str], threads: Optional[int] = 1) -> List[str]:
    """Tags JSON lines (see the module's docstring); returns the output lines, without
    line ends. Raises ValueError naming the line (1-based) that is not a JSON object with
    a list of str under "tokens", and PostagError naming the line of a sentence that
    cannot be tagged."""
    return _tag_lines(model, lines, threads)[0]


def _tag_lines(
    model: Model, lines: Iterable[str], threads: Optional[int]
) -> Tuple[List[str], int, int]:
    """`tag_lines`, with the number of sentences and of tokens."""
    records: List[Optional[Dict[str, Any]]] = []
    numbers: List[int] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            records.append(None)
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"line {number}: not JSON: {e}") from None
        tokens = record.get("tokens") if isinstance(record, dict) else None
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            raise ValueError(f'line {number}: expected an object with "tokens": [str, ...]')
        records.append(record)
        numbers.append(number)
    sentences = [r["tokens"] for r in records if r is not None]
    for number, tokens in zip(numbers, sentences):
        if len(tokens) > MAX_TOKENS:
            warnings.warn(
                f"line {number}: {len(tokens)} tokens, more than the {MAX_TOKENS} the model "
                "reads at once; tagged in overlapping windows, as `postag tag` does",
                stacklevel=3,
            )
    try:
        # Sentences longer than MAX_TOKENS in windows, as the CLI tags them.
        tagged = iter(model._tag_many_windowed(sentences, threads=threads))
    except PostagError:
        # The error names the sentence's place among the sentences; say its line.
        for number, tokens in zip(numbers, sentences):
            try:
                model._tag_many_windowed([tokens], threads=1)
            except PostagError as e:
                # (Its one sentence is "sentence 0": the line says which.)
                raise PostagError(f"line {number}: {str(e).removeprefix('sentence 0: ')}") from None
        raise
    out = []
    for record in records:
        if record is None:
            out.append("")
        else:
            record["tags"] = next(tagged)
            out.append(json.dumps(record, ensure_ascii=False))
    return out, len(sentences), sum(len(s) for s in sentences)


def tag_jsonl_file(
    src: _PathLike,
    dst: _PathLike,
    model_path: Optional[_PathLike] = None,
    threads: Optional[int] = 1,
) -> Dict[str, Any]:
    """Tags the JSON-lines shard `src` into `dst` (written whole or not at all: a
    temporary file renamed into place) with the model at `model_path` (None: built-in),
    loaded once per process (`cached_model`). `threads`: tagging threads for this shard
    (1 suits an engine that runs one task per core; None uses every core).

    Returns {"src", "dst", "sentences", "tokens", "pid", "loads"}: `loads` is
    `load_count()` after the shard, so a caller can check that each process loaded the
    model once."""
    model = cached_model(model_path)
    # Lines end at "\n", "\r\n" or a lone "\r" (as the CLI reads them: universal
    # newlines); str.splitlines would also split at U+2028, U+2029 and U+0085, which
    # JSON strings may hold unescaped.
    with open(src, encoding="utf-8-sig", newline=None) as f:
        text = f.read()
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    out, sentences, tokens = _tag_lines(model, lines, threads)
    dst = os.fspath(dst)
    # A name no other write uses, in this process's threads too.
    unique = f"{os.getpid()}-{threading.get_ident()}"
    tmp = os.path.join(os.path.dirname(dst) or ".", f".{os.path.basename(dst)}.tmp-{unique}")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            for line in out:
                f.write(line)
                f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, dst)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return {
        "src": os.fspath(src),
        "dst": dst,
        "sentences": sentences,
        "tokens": tokens,
        "pid": os.getpid(),
        "loads": load_count(),
    }
