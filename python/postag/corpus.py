"""Tagging JSON-lines corpora shard by shard, for distributed engines (Dask, Spark, ...).

A shard is a JSON-lines file: each line an object with `"tokens": [str, ...]` (other keys
are kept), answered by the same object with `"tags"` added, the CLI's `postag tag
--format jsonl` convention; blank lines stay blank, so output line N answers input line N.
Lines are read as the CLI reads them, and what it refuses is a ValueError naming the line.
Unlike the CLI, which writes other members back as they were written, this module writes
them as Python's json module does (a float as Python reads it: 1.10 as 1.1); a number
too large for a float (1e400) is a ValueError naming its line, not Infinity, which is not
JSON, and so is an integer longer than Python's limit for reading one (4,300 digits by
default). Arrays and objects nested more than 128 deep are refused, as by the CLI.

`tag_jsonl_file` is the task a worker runs per shard; it gets its model from
`cached_model`, which loads each model file once per process and reuses it for every
later shard (a model is immutable and thread-safe, so the threads of one worker share it).

    import postag.corpus
    stats = postag.corpus.tag_jsonl_file("part-0.jsonl", "out/part-0.jsonl", "m.postag")
"""

import json
import math
import os
import re
import threading
import warnings
from typing import Any, Dict, Iterable, List, Optional, Tuple, Union

from . import MAX_TOKENS, Model, PostagError
from ._files import write_whole

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
    line ends. Reads them as `postag tag --format jsonl` does: a line of whitespace only
    (Unicode White_Space, as the CLI defines it) is blank; any other line must be a JSON
    object with a list of str under "tokens" (none of whitespace only), no key twice in
    one object (at any depth), no NaN or Infinity (not JSON) and no \\u escape of half
    a UTF-16 surrogate pair.
    Raises ValueError naming the line (1-based) that is not, and PostagError naming the
    line of a sentence that cannot be tagged, and TypeError for a str in place of its
    lines (whose characters would pass for lines)."""
    if isinstance(lines, (str, bytes)):
        raise TypeError(
            f"lines must be an iterable of str lines, not a {type(lines).__name__}: "
            "split it first (str.splitlines)"
        )
    return _tag_lines(model, lines, threads)[0]


# The whitespace of Rust's `char::is_whitespace` (Unicode White_Space), which the CLI's
# blank lines are made of. Not str.isspace: that also takes U+001C..U+001F, which JSON
# and the CLI do not.
_WHITESPACE = frozenset(
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)

# A JSON escape: `\\u` and four hex digits, or a backslash and one character.
_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|.)", re.DOTALL)


def _is_blank(line: str) -> bool:
    return all(c in _WHITESPACE for c in line)


def _column(line: str, at: int) -> int:
    """The 1-based column, in UTF-8 bytes as the CLI counts, of `line[at]`."""
    return len(line[:at].encode("utf-8", "surrogatepass")) + 1


def _lone_surrogate(line: str) -> Optional[Tuple[int, int]]:
    """The first `\\uXXXX` escape of `line` that is half of a UTF-16 surrogate pair
    without its other half: its column and code unit."""
    escapes = list(_ESCAPE.finditer(line))
    k = 0
    while k < len(escapes):
        m = escapes[k]
        unit = int(m.group(1), 16) if m.group(1) else None
        if unit is not None and 0xD800 <= unit <= 0xDBFF:
            after = escapes[k + 1] if k + 1 < len(escapes) else None
            low = int(after.group(1), 16) if after and after.group(1) else None
            if after and after.start() == m.end() and low is not None and 0xDC00 <= low <= 0xDFFF:
                k += 2
                continue
            return _column(line, m.start()), unit
        if unit is not None and 0xDC00 <= unit <= 0xDFFF:
            return _column(line, m.start()), unit
        k += 1
    return None


class _Refused(Exception):
    """Raised from json.loads' hooks: what is wrong with the line."""


def _not_json_constant(name: str) -> Any:
    raise _Refused(f"not JSON: {name} (JSON has no NaN or Infinity)")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _Refused(
            f"{text} is too large for a Python float (postag.corpus would write Infinity, "
            "which is not JSON; `postag tag --format jsonl` keeps it as written)"
        )
    return value


def _unique_keys(pairs: List[Tuple[str, Any]]) -> Dict[str, Any]:
    seen = set()
    for key, _ in pairs:
        if key in seen:
            quoted = json.dumps(key, ensure_ascii=False)
            raise _Refused(f"duplicate key {quoted} (a key may appear once in an object)")
        seen.add(key)
    return dict(pairs)


# Deepest nesting of arrays and objects a line may have: the CLI's limit (serde_json's).
_MAX_JSON_DEPTH = 128


def _too_deep(line: str) -> bool:
    """Whether `line` nests arrays and objects deeper than `_MAX_JSON_DEPTH` (brackets
    inside strings aside), found before `json.loads` recurses into them."""
    depth, in_string, escaped = 0, False, False
    for c in line:
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "[{":
            depth += 1
            if depth > _MAX_JSON_DEPTH:
                return True
        elif c in "]}":
            depth -= 1
    return False


def _read_line(number: int, line: str) -> Optional[Dict[str, Any]]:
    """One JSON line as `postag tag --format jsonl` reads it: None if blank."""
    if _is_blank(line):
        return None
    for at, c in enumerate(line):
        if 0xD800 <= ord(c) <= 0xDFFF:
            raise ValueError(
                f"line {number}: not Unicode text: U+{ord(c):04X} at column "
                f"{_column(line, at)} is half of a UTF-16 surrogate pair"
            )
    lone = _lone_surrogate(line)
    if lone is not None:
        column, unit = lone
        raise ValueError(
            f"line {number}: not JSON: \\u{unit:04X} at column {column} is half of a UTF-16 "
            "surrogate pair without its other half (JSON text must be Unicode)"
        )
    if _too_deep(line):
        raise ValueError(
            f"line {number}: not JSON: arrays and objects nested more than "
            f"{_MAX_JSON_DEPTH} deep"
        )
    try:
        record = json.loads(
            line,
            parse_constant=_not_json_constant,
            parse_float=_finite_float,
            object_pairs_hook=_unique_keys,
        )
    except json.JSONDecodeError as e:
        raise ValueError(f"line {number}: not JSON: {e}") from None
    except _Refused as e:
        raise ValueError(f"line {number}: {e}") from None
    except ValueError as e:
        # Python's own limits, such as the digits of an integer it reads.
        raise ValueError(f"line {number}: cannot be read in Python: {e}") from None
    tokens = record.get("tokens") if isinstance(record, dict) else None
    if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
        raise ValueError(f'line {number}: expected an object with "tokens": [str, ...]')
    # As a CoNLL-U FORM: no word is whitespace alone (an empty token is the core's error).
    for k, token in enumerate(tokens):
        if token and _is_blank(token):
            raise ValueError(f"line {number}: token {k + 1} of {len(tokens)} is only whitespace")
    return record


def _tag_lines(
    model: Model, lines: Iterable[str], threads: Optional[int]
) -> Tuple[List[str], int, int]:
    """`tag_lines`, with the number of sentences and of tokens."""
    records: List[Optional[Dict[str, Any]]] = []
    numbers: List[int] = []
    for number, line in enumerate(lines, 1):
        record = _read_line(number, line)
        records.append(record)
        if record is not None:
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


def _decode_lines(data: bytes) -> List[str]:
    """The lines of a file's bytes as the CLI reads them: a byte-order mark at the start
    skipped, lines ending at "\\n", "\\r\\n" or a lone "\\r" (str.splitlines would also
    split at U+2028, U+2029 and U+0085, which JSON strings may hold unescaped), each
    UTF-8; ValueError names the first line that is not."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    raw = re.split(rb"\r\n|\r|\n", data)
    if raw and raw[-1] == b"":
        raw.pop()
    lines = []
    for number, line in enumerate(raw, 1):
        try:
            lines.append(line.decode("utf-8"))
        except UnicodeDecodeError as e:
            raise ValueError(
                f"line {number}: invalid UTF-8 (byte 0x{line[e.start]:02X} at column {e.start + 1})"
            ) from None
    return lines


def tag_jsonl_file(
    src: _PathLike,
    dst: _PathLike,
    model_path: Optional[_PathLike] = None,
    threads: Optional[int] = 1,
) -> Dict[str, Any]:
    """Tags the JSON-lines shard `src` into `dst` (written whole or not at all: a
    temporary file renamed into place; a link is written through, a device, pipe or
    `/dev/stdout` in place) with the model at `model_path` (None: built-in),
    loaded once per process (`cached_model`). `threads`: tagging threads for this shard
    (1 suits an engine that runs one task per core; None uses every core).

    Returns {"src", "dst", "sentences", "tokens", "pid", "loads"}: `loads` is
    `load_count()` after the shard, so a caller can check that each process loaded the
    model once."""
    model = cached_model(model_path)
    with open(src, "rb") as f:
        data = f.read()
    out, sentences, tokens = _tag_lines(model, _decode_lines(data), threads)
    dst = os.fspath(dst)
    write_whole(dst, "".join(f"{line}\n" for line in out))
    return {
        "src": os.fspath(src),
        "dst": dst,
        "sentences": sentences,
        "tokens": tokens,
        "pid": os.getpid(),
        "loads": load_count(),
    }
