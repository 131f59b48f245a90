"""Corpus scale: JSON-lines shards tagged by postag.corpus, in one process and on a local
Dask cluster of two worker processes (examples/dask_tag_corpus.py), with equal output."""

import json
import os
import sys
from pathlib import Path

import pytest

import postag
import postag.corpus

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def write_shards(directory: Path, sentences, shards: int):
    directory.mkdir()
    per = -(-len(sentences) // shards)
    paths = []
    for k in range(shards):
        path = directory / f"part-{k}.jsonl"
        with open(path, "w", encoding="utf-8") as f:
            for i, tokens in enumerate(sentences[k * per : (k + 1) * per]):
                f.write(json.dumps({"id": f"{k}-{i}", "tokens": tokens}, ensure_ascii=False))
                f.write("\n")
        paths.append(path)
    return paths


def read_tags(paths):
    out = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            out.extend(json.loads(line)["tags"] for line in f if line.strip())
    return out


def test_tag_lines_keeps_blank_lines_and_other_keys():
    model = postag.Model.default()
    lines = ['{"tokens": ["The", "dog"], "id": 7}', "", "  ", '{"tokens": []}']
    out = postag.corpus.tag_lines(model, lines)
    assert out[1:3] == ["", ""]
    first = json.loads(out[0])
    assert first == {"tokens": ["The", "dog"], "id": 7, "tags": model.tag(["The", "dog"])}
    assert json.loads(out[3]) == {"tokens": [], "tags": []}
    with pytest.raises(ValueError, match="line 2: expected an object"):
        postag.corpus.tag_lines(model, ['{"tokens": ["a"]}', '{"words": ["a"]}'])
    with pytest.raises(ValueError, match="line 1: not JSON"):
        postag.corpus.tag_lines(model, ["{"])
    # A str is not its lines.
    with pytest.raises(TypeError, match="split it first"):
        postag.corpus.tag_lines(model, '{"tokens": ["a"]}')
    # A sentence the model cannot tag is named by its line, blank lines counted.
    bad = ["", '{"tokens": ["a"]}', "", '{"tokens": ["a", ""]}']
    with pytest.raises(postag.PostagError, match="line 4: token 2 of 2 is empty"):
        postag.corpus.tag_lines(model, bad)


def test_a_sentence_longer_than_the_model_reads_at_once_is_tagged_as_the_cli_does(
    postag_bin, ewt_dev
):
    # More than MAX_TOKENS tokens: windows, with a warning naming the line, and the
    # tags of `postag tag --format jsonl`.
    import subprocess

    model = postag.Model.default()
    tokens = [t for s in ewt_dev[:400] for t in s][: postag.MAX_TOKENS + 900]
    line = json.dumps({"tokens": tokens}, ensure_ascii=False)
    with pytest.warns(UserWarning, match=r"line 2: 4996 tokens, more than the 4096"):
        out = postag.corpus.tag_lines(model, ['{"tokens": ["a"]}', line])
    cli = subprocess.run(
        [str(postag_bin), "tag", "--format", "jsonl"],
        input=line + "\n",
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out[1])["tags"] == json.loads(cli.stdout)["tags"]


def test_cached_model_loads_each_file_once(tmp_path):
    path = tmp_path / "m.postag"
    path.write_bytes(postag.Model.default().to_bytes())
    before = postag.corpus.load_count()
    first = postag.corpus.cached_model(path)
    assert postag.corpus.cached_model(str(path)) is first
    assert postag.corpus.load_count() == before + 1


def test_a_sharded_corpus_tagged_on_a_dask_cluster_equals_one_process(tmp_path, ewt_dev):
    try:
        from distributed import Client, LocalCluster
    except ImportError as e:
        from conftest import skip_or_fail

        skip_or_fail(f"dask distributed is not installed ({e}): pip install 'dask[distributed]'")

    sys.path.insert(0, str(EXAMPLES))
    try:
        import dask_tag_corpus
    finally:
        sys.path.remove(str(EXAMPLES))

    sentences = ewt_dev
    shards = write_shards(tmp_path / "corpus", sentences, shards=6)
    model_path = tmp_path / "en.postag"
    model_path.write_bytes(postag.Model.default().to_bytes())
    out_dir = tmp_path / "tagged"
    out_dir.mkdir()

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster, Client(cluster) as client:
        stats = dask_tag_corpus.tag_shards(client, [str(p) for p in shards], str(out_dir), str(model_path))

    # Two worker processes, neither of them this one, each of which loaded the model
    # once however many shards it tagged.
    pids = {s["pid"] for s in stats}
    assert 1 <= len(pids) <= 2 and os.getpid() not in pids
    assert all(s["loads"] == 1 for s in stats), stats
    assert sum(s["sentences"] for s in stats) == len(sentences)

    single = postag.Model.load(model_path).tag_many(sentences, threads=1)
    outputs = [out_dir / p.name for p in shards]
    assert read_tags(outputs) == single
    ids = [json.loads(line)["id"] for p in outputs for line in open(p, encoding="utf-8")]
    assert ids == [json.loads(line)["id"] for p in shards for line in open(p, encoding="utf-8")]


def test_a_shard_reads_lines_ending_in_lf_crlf_or_a_lone_cr(tmp_path):
    model = postag.Model.default()
    records = ['{"tokens": ["The", "dog"]}', '{"tokens": ["It", "runs", "a\\u2028b"]}', ""]
    want = None
    for ending in ["\n", "\r\n", "\r"]:
        src, dst = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
        src.write_bytes(ending.join(records).encode() + ending.encode())
        stats = postag.corpus.tag_jsonl_file(src, dst, threads=1)
        assert stats["sentences"] == 2, ending
        got = dst.read_text(encoding="utf-8")
        want = want or got
        assert got == want, repr(ending)


GOOD = '{"tokens": ["Hi"]}'

# Second lines that `postag tag --format jsonl` refuses, and the words both it and
# postag.corpus say after naming the line.
REFUSED = [
    ('{"tokens": ["a", " \\t\\u00a0"]}', "token 2 of 2 is only whitespace"),
    ('{"tokens": ["a"], "x": NaN}', "not JSON"),
    ('{"tokens": ["a"], "x": [-Infinity]}', "not JSON"),
    # U+001C..U+001F: whitespace to str.strip, not to JSON or the CLI.
    ("\x1c", "not JSON"),
    (" \x1f ", "not JSON"),
    (
        '{"tokens": ["a\\ud800"]}',
        "not JSON: \\uD800 at column 15 is half of a UTF-16 surrogate pair without its "
        "other half (JSON text must be Unicode)",
    ),
    (
        '{"tokens": ["a"], "note": "\\udc00\\ud83d\\ude00"}',
        "not JSON: \\uDC00 at column 28 is half of a UTF-16 surrogate pair",
    ),
    ('{"tokens": ["a"], "tokens": ["b", "c"]}', 'duplicate key "tokens" (a key may appear once in an object)'),
    ('{"tokens": ["a"], "m": [{"k": 1, "\\u006b": 2}]}', 'duplicate key "k"'),
    ('{"words": ["a"]}', 'expected'),
    # Nesting past 128 levels, refused before anything recurses into it.
    (
        '{"tokens": ["a"], "x": ' + "[" * 129 + "]" * 129 + "}",
        "not JSON: arrays and objects nested more than 128 deep",
    ),
    (
        '{"tokens": ["a"], "x": ' + "[{\"k\":" * 20000 + "1" + "}]" * 20000 + "}",
        "not JSON: arrays and objects nested more than 128 deep",
    ),
]


@pytest.mark.parametrize("line, words", REFUSED)
def test_tag_lines_refuses_what_the_cli_refuses_naming_the_line(postag_bin, line, words):
    import subprocess

    model = postag.Model.default()
    with pytest.raises(ValueError) as python:
        postag.corpus.tag_lines(model, [GOOD, line, GOOD])
    assert str(python.value).startswith(f"line 2: {words}"), str(python.value)
    cli = subprocess.run(
        [str(postag_bin), "tag", "--format", "jsonl"],
        input=f"{GOOD}\n{line}\n{GOOD}\n".encode(),
        capture_output=True,
    )
    assert cli.returncode != 0
    stderr = cli.stderr.decode()
    assert f"<stdin>:2: {words}" in stderr, stderr


def test_lines_blank_to_the_cli_are_blank_and_others_are_not(postag_bin):
    import subprocess

    model = postag.Model.default()
    # Unicode White_Space only (U+0085, U+00A0, U+2028, U+3000, ...) is blank.
    blank = [" ", "\t\x0b\x0c", "\x85\xa0\u2028\u2029\u3000\u202f\u205f\u1680\u200a"]
    lines = [GOOD, *blank, GOOD]
    out = postag.corpus.tag_lines(model, lines)
    cli = subprocess.run(
        [str(postag_bin), "tag", "--format", "jsonl"],
        input="\n".join(lines).encode() + b"\n",
        capture_output=True,
        check=True,
    )
    assert [json.loads(x) if x else x for x in out] == [
        json.loads(x) if x else x for x in cli.stdout.decode().split("\n")[:-1]
    ]
    assert out[1:4] == ["", "", ""]


def test_a_shard_with_invalid_utf8_is_refused_naming_the_line(tmp_path, postag_bin):
    import subprocess

    src, dst = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    data = b'{"tokens": ["a"]}\r\n{"tokens": ["b\xff"]}\n{"tokens": ["c"]}\n'
    src.write_bytes(data)
    with pytest.raises(ValueError, match=r"^line 2: invalid UTF-8"):
        postag.corpus.tag_jsonl_file(src, dst)
    assert not dst.exists()
    cli = subprocess.run(
        [str(postag_bin), "tag", "--format", "jsonl", "--input", str(src)],
        capture_output=True,
    )
    assert cli.returncode != 0 and b"in.jsonl:2: invalid UTF-8" in cli.stderr, cli.stderr


def test_a_lone_surrogate_in_a_python_str_is_refused_naming_the_line():
    # Not from a file (which is UTF-8): a str made with surrogateescape, say.
    model = postag.Model.default()
    line = '{"tokens": ["a", "b\udcff"]}'
    with pytest.raises(ValueError, match=r"^line 2: not Unicode text: U\+DCFF at column 20"):
        postag.corpus.tag_lines(model, [GOOD, line])


def test_other_members_are_kept_and_a_float_python_cannot_hold_is_refused():
    model = postag.Model.default()
    line = '{"id": 18446744073709551616, "tokens": ["Hi"], "x": 1.5, "m": {"k": [null, true]}}'
    out = postag.corpus.tag_lines(model, [line])
    assert json.loads(out[0]) == {
        "id": 18446744073709551616,
        "tokens": ["Hi"],
        "x": 1.5,
        "m": {"k": [None, True]},
        "tags": model.tag(["Hi"]),
    }
    # 1e400 would come out as Infinity, which is not JSON.
    with pytest.raises(ValueError, match=r"^line 2: 1e400 is too large for a Python float"):
        postag.corpus.tag_lines(model, [GOOD, '{"tokens": ["a"], "x": [1e400]}'])
    # An integer longer than Python reads (4,300 digits by default) is named too.
    with pytest.raises(ValueError, match=r"^line 2: cannot be read in Python: "):
        postag.corpus.tag_lines(model, [GOOD, '{"tokens": ["a"], "x": ' + "9" * 5000 + "}"])
    # 128 levels are read and kept.
    deep = '{"tokens": ["Hi"], "x": ' + "[" * 127 + "]" * 127 + "}"
    assert json.loads(postag.corpus.tag_lines(model, [deep])[0])["tags"] == model.tag(["Hi"])


def test_the_dask_example_refuses_shards_that_would_overwrite_each_other(tmp_path):
    sys.path.insert(0, str(EXAMPLES))
    try:
        import dask_tag_corpus
    finally:
        sys.path.remove(str(EXAMPLES))

    for d in ("a", "b", "out"):
        (tmp_path / d).mkdir()
    a, b = tmp_path / "a" / "part-0.jsonl", tmp_path / "b" / "part-0.jsonl"
    other = tmp_path / "a" / "part-1.jsonl"
    for p in (a, b, other):
        p.write_text('{"tokens": ["Hi"]}\n', encoding="utf-8")
    out = str(tmp_path / "out")
    assert dask_tag_corpus.shard_outputs([str(a), str(other)], out) == [
        (str(a), os.path.join(out, "part-0.jsonl")),
        (str(other), os.path.join(out, "part-1.jsonl")),
    ]
    with pytest.raises(ValueError, match="would both be written to"):
        dask_tag_corpus.shard_outputs([str(a), str(b)], out)
    # An output in the shards' own directory would replace the shard (checked before
    # any task runs: there is no cluster here).
    with pytest.raises(ValueError, match="would replace the shard"):
        dask_tag_corpus.tag_shards(None, [str(a)], str(tmp_path / "a"))
    with pytest.raises(SystemExit):
        dask_tag_corpus.main(["--out", out, str(a), str(b)])
    assert os.listdir(out) == []
