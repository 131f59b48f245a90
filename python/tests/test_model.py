"""postag.Model: loading, tagging, scores, errors, on the built-in English model."""

import errno
import json
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import postag

SENTENCE = "She quickly wrote a long letter to her brother in Paris .".split()
SENTENCE_TAGS = "PRON ADV VERB DET ADJ NOUN ADP PRON NOUN ADP PROPN PUNCT".split()


@pytest.fixture(scope="module")
def model():
    return postag.Model.default()


def test_default_model_tags_the_readme_sentence(model):
    assert model.tag(SENTENCE) == SENTENCE_TAGS
    assert model.tag(tuple(SENTENCE)) == SENTENCE_TAGS  # any sequence of str
    assert model.tag([]) == []


def test_tags_and_info_describe_the_model(model):
    tags = model.tags
    assert len(tags) == 17 and "NOUN" in tags and tags == sorted(tags)
    info = model.info()
    assert info["model"] == "the built-in English model"
    assert info["tags"] == tags
    assert info["tag_column"] == "UPOS"
    assert info["weights"] == "int8"
    assert info["bytes"] == len(model.to_bytes())
    # int8 weights are stored in rows: a version 1 blob, which this library reads too.
    assert info["format_version"] == 1 and postag.FORMAT_VERSION == 3
    assert info["words"]["normalize"] == ["lowercase", "fold digits"]
    assert info["words"]["unknown_row"] == info["words"]["vocabulary"]
    assert info["chars"]["bidirectional"] in (True, False)
    assert info["lstm"]["layers"] >= 1 and not info["crf"]
    assert sum(info["bytes_by_part"].values()) == info["bytes"]
    assert info["segmenter"]["bytes"] == info["bytes_by_part"]["segmenter"]
    assert info["scratch_tokens"] == 64 and model.info(0)["scratch_bytes"] == 0
    assert "17 tags" in repr(model)


def test_info_is_what_inspect_json_prints(model, postag_bin, tmp_path):
    """One set of names: `Model.info(tokens)` equals `postag inspect --json --tokens`
    for the shipped models."""
    models = [(model, None)] + [
        (postag.Model.load(p), p)
        for p in sorted((Path(__file__).resolve().parents[2] / "models").glob("*.postag"))
    ]
    for m, path in models:
        for tokens in (0, 1, 64, postag.MAX_TOKENS):
            cmd = [str(postag_bin), "inspect", "--json", "--tokens", str(tokens)]
            if path is not None:
                cmd += ["--model", str(path)]
            cli = json.loads(subprocess.run(cmd, capture_output=True, check=True).stdout)
            assert m.info(tokens) == cli, (path, tokens)
    for tokens in (postag.MAX_TOKENS + 1, -1):
        with pytest.raises(ValueError, match="tokens must be 0 to 4096"):
            model.info(tokens)


def test_scores_are_log_probabilities_whose_argmax_is_the_tag(model):
    scores = model.scores(SENTENCE)
    assert isinstance(scores, np.ndarray)
    assert scores.shape == (len(SENTENCE), len(model.tags)) and scores.dtype == np.float32
    np.testing.assert_allclose(np.exp(scores.astype(np.float64)).sum(axis=1), 1.0, atol=1e-5)
    assert [model.tags[i] for i in scores.argmax(axis=1)] == SENTENCE_TAGS
    empty = model.scores([])
    assert empty.shape == (0, len(model.tags)) and empty.dtype == np.float32


def test_tag_many_equals_tag_one_by_one_on_any_thread_count(model, ewt_dev):
    sentences = ewt_dev[:400]
    one_by_one = [model.tag(s) for s in sentences]
    assert model.tag_many(sentences, threads=1) == one_by_one
    assert model.tag_many(sentences, threads=2) == one_by_one
    assert model.tag_many(sentences, threads=7) == one_by_one
    assert model.tag_many(sentences) == one_by_one
    assert model.tag_many([]) == []
    assert model.tag_many([[], ["Hi"]], threads=2) == [[], model.tag(["Hi"])]


def test_load_from_bytes_and_pickle_give_the_same_model(model, tmp_path):
    path = tmp_path / "en.postag"
    path.write_bytes(model.to_bytes())
    for other in (
        postag.Model.load(path),
        postag.Model.load(str(path)),
        postag.Model.load(bytes(path)),
        postag.Model.from_bytes(model.to_bytes()),
        postag.Model.from_bytes(bytearray(model.to_bytes())),
        postag.Model.from_bytes(memoryview(model.to_bytes())),
        pickle.loads(pickle.dumps(model)),
    ):
        assert other.tags == model.tags
        np.testing.assert_array_equal(other.scores(SENTENCE), model.scores(SENTENCE))
    assert str(path) in repr(postag.Model.load(path))
    # Pickled, a model keeps its name (which errors and repr give).
    assert str(path) in repr(pickle.loads(pickle.dumps(postag.Model.load(path))))
    for wrong in (5, "blob", None):
        with pytest.raises(TypeError, match="blob must be bytes, bytearray or memoryview"):
            postag.Model.from_bytes(wrong)
    for wrong in (5, None):
        with pytest.raises(TypeError, match="expected str, bytes or os.PathLike object"):
            postag.Model.load(wrong)


def test_errors_carry_the_core_message(model, tmp_path):
    with pytest.raises(postag.PostagError, match="token 2 of 3 is empty"):
        model.tag(["a", "", "b"])
    with pytest.raises(postag.PostagError, match=r"sentence 1: token 1 of 1 is empty"):
        model.tag_many([["fine"], [""]])
    with pytest.raises(postag.PostagError, match="more than the 4096"):
        model.tag(["word"] * (postag.MAX_TOKENS + 1))
    with pytest.raises(postag.PostagError, match="bad magic"):
        postag.Model.from_bytes(b"not a model")
    broken = bytearray(model.to_bytes())
    broken[100] ^= 0xFF
    with pytest.raises(postag.PostagError, match="CRC-32"):
        postag.Model.from_bytes(bytes(broken))
    bad = tmp_path / "bad.postag"
    bad.write_bytes(bytes(broken))
    with pytest.raises(postag.PostagError, match="bad.postag: model blob is corrupt"):
        postag.Model.load(bad)
    with pytest.raises(FileNotFoundError, match="missing.postag"):
        postag.Model.load(tmp_path / "missing.postag")
    # What is no model is refused by its first bytes, not read to its end.
    if os.path.exists("/dev/zero"):
        with pytest.raises(postag.PostagError, match="/dev/zero: .*bad magic"):
            postag.Model.load("/dev/zero")
    with pytest.raises(FileNotFoundError, match="No such file") as missing:
        postag.Model.load("")
    assert (missing.value.errno, missing.value.filename) == (errno.ENOENT, "")
    with pytest.raises(TypeError, match="not a str"):
        model.tag("She wrote")
    # Type errors in the argument's terms: which token, or what was given instead.
    for bad, said in [
        ([1, 2], "token 1 must be a str, not int"),
        (["a", None], "token 2 must be a str, not NoneType"),
        (None, "tokens must be a sequence of str (one per token), not NoneType"),
        (b"hi", "tokens must be a sequence of str (one per token), not bytes"),
        ((t for t in ["a"]), "tokens must be a sequence of str (one per token), not generator"),
    ]:
        with pytest.raises(TypeError, match=re.escape(said)):
            model.tag(bad)
    with pytest.raises(TypeError, match="token 1 must be a str, not bytes"):
        model.tag_many([["a"], [b"b"]])
    with pytest.raises(UnicodeEncodeError):  # a str, but no UTF-8 holds it
        model.tag(["a\ud800"])
    for threads in (0, -1, -(10**30)):
        with pytest.raises(ValueError, match=f"threads must be at least 1, not {threads}"):
            model.tag_many([["a"]], threads=threads)
    # More threads than an int64 holds: as many as there are sentences for.
    assert model.tag_many([["a"]], threads=10**30) == [model.tag(["a"])]
    assert len(model.tag_text("Hi there.", threads=10**30)) == 1
    with pytest.raises(TypeError, match="threads must be an int, not str"):
        model.tag_many([["a"]], threads="2")
    for flag in (True, False):
        with pytest.raises(TypeError, match="threads must be an int, not bool"):
            model.tag_many([["a"]], threads=flag)
    assert issubclass(postag.PostagError, ValueError)
    # Pickled (as a worker process's error is, to reach its parent), it stays itself.
    try:
        model.tag([""])
    except postag.PostagError as e:
        again = pickle.loads(pickle.dumps(e))
        assert type(again) is postag.PostagError and again.args == e.args
    assert postag.PostagError.__module__ == "postag"
    assert model.tag(["a"]) == model.tag(["a"])  # still usable after errors


def test_a_model_is_shared_by_python_threads(model, ewt_dev):
    from concurrent.futures import ThreadPoolExecutor

    sentences = ewt_dev[:200]
    expected = [model.tag(s) for s in sentences]
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(model.tag, sentences)) == expected


def test_import_postag_imports_neither_numpy_nor_torch():
    code = "import sys, postag; print(sorted(m for m in ('numpy', 'torch') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_tag_many_releases_the_gil(model, ewt_dev):
    """While one thread tags, another keeps running Python: were the GIL held through
    the call, the main loop below would stall for the whole call."""
    import threading
    import time

    done = threading.Event()
    span = []

    def work():
        start = time.perf_counter()
        model.tag_many(ewt_dev, threads=1)
        span.append(time.perf_counter() - start)
        done.set()

    worker = threading.Thread(target=work)
    last = time.perf_counter()
    longest_gap = 0.0
    worker.start()
    while not done.is_set():
        now = time.perf_counter()
        longest_gap = max(longest_gap, now - last)
        last = now
    worker.join()
    assert longest_gap < span[0] / 2, (longest_gap, span[0])


def _expected_simd_level():
    """The fastest level this processor runs, from the kernel's CPU flags (Linux) or
    the machine type: what the library must detect at run time."""
    import platform

    machine = platform.machine().lower()
    if machine in ("x86_64", "amd64"):
        try:
            with open("/proc/cpuinfo", encoding="utf-8") as f:
                flags = next(line for line in f if line.startswith("flags")).split()
        except (OSError, StopIteration):
            return None
        avx512 = ("avx512f", "avx512bw", "avx512vl", "avx512_vnni")
        if "avx2" in flags and "fma" in flags:
            return "avx512" if all(f in flags for f in avx512) else "avx2"
        return "sse2"
    if machine in ("aarch64", "arm64"):
        return "neon"
    return None


def test_simd_level_is_detected_at_run_time_and_can_be_forced():
    want = _expected_simd_level()
    if want is None:
        pytest.skip("no known SIMD level for this machine")
    env = {k: v for k, v in os.environ.items() if k != "POSTAG_SIMD"}

    def level(env):
        code = "import postag; print(postag.simd_level())"
        run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        return run.stdout.strip()

    assert level(env) == want
    assert level({**env, "POSTAG_SIMD": "scalar"}) == "scalar"


def test_a_thread_the_system_refuses_leaves_its_share_to_the_caller(model, ewt_dev):
    """Under a limit of 20 processes (threads) for `nobody`, most of 64 threads cannot
    start: the caller tags their shares, with the same tags (that was a panic)."""
    if os.geteuid() != 0:
        from conftest import skip_or_fail

        skip_or_fail("not root: cannot run as nobody under a process limit")
    code = (
        "import json, sys, postag; s = json.load(sys.stdin); "
        "print(json.dumps(postag.Model.default().tag_many(s, threads=64)))"
    )
    # Shares long enough (about 300 sentences each) for the threads to overlap.
    sentences = [list(s) for s in ewt_dev] * 10
    run = subprocess.run(
        [
            *("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"),
            # Reading the interpreter and the package wherever they are (under /root).
            *("--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search"),
            *("prlimit", "--nproc=20", "--", sys.executable, "-c", code),
        ],
        input=json.dumps(sentences),
        capture_output=True,
        text=True,
        cwd="/",
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == model.tag_many(sentences, threads=1)


def test_ctrl_c_stops_a_long_call(ewt_dev):
    """SIGINT during a long `tag_many` (and `tag_text`) raises KeyboardInterrupt within a
    run of sentences, not when the whole call is over (it took the whole call)."""
    import signal
    import time

    calls = (
        "m.tag_many(s * 60, threads=2)",
        "m.tag_text(text * 60)",
        # One sentence of 2 million words, tagged in windows (as the CLI tags it).
        "m._tag_many_windowed([['word'] * 2_000_000])",
        # One line of a million words: one sentence, segmenting alone takes seconds.
        "m.tag_text('word ' * 1_000_000, presegmented=True)",
        # Lines that each fit in one call of the segmenter: a check after every call.
        "m.tag_text(('word ' * 6000 + '\\n') * 300, presegmented=True)",
    )
    for call in calls:
        code = (
            "import json, sys, postag; m = postag.Model.default(); s = json.load(sys.stdin); "
            "text = '\\n\\n'.join(' '.join(x) for x in s); "
            f"print('go', flush=True); {call}; print('done', flush=True)"
        )
        child = subprocess.Popen(
            [sys.executable, "-c", code],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        child.stdin.write(json.dumps([list(x) for x in ewt_dev]))
        child.stdin.close()
        assert child.stdout.readline() == "go\n"
        time.sleep(0.5)
        child.send_signal(signal.SIGINT)
        sent = time.monotonic()
        child.wait(timeout=300)
        # The whole call takes several seconds (1.5 million tokens); a run of sentences
        # a few milliseconds.
        assert time.monotonic() - sent < 2.0, call
        out, err = child.stdout.read(), child.stderr.read()
        assert "KeyboardInterrupt" in err and "done" not in out, (call, err)
