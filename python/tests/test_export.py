"""postag.export without torch: state_dicts of numpy arrays built from the committed
PyTorch fixtures (tests/fixtures/torch/) give the fixtures' PyTorch outputs."""

import json
import os
import warnings

import numpy as np
import pytest

import postag
from conftest import SEED, TORCH_FIXTURES, fixture_names, read_safetensors, skip_or_fail

TOLERANCE = 1e-5


def export_fixture(name, **options):
    state = read_safetensors(TORCH_FIXTURES / f"{name}.safetensors")
    vocab = json.loads((TORCH_FIXTURES / f"{name}.vocab.json").read_text(encoding="utf-8"))
    blob = postag.export(
        state, vocab["word_to_ix"], vocab["tag_to_ix"], vocab.get("char_to_ix"), **options
    )
    return blob, state, vocab


def expected(name):
    return json.loads((TORCH_FIXTURES / f"{name}.expected.json").read_text(encoding="utf-8"))


def test_every_fixture_matches_pytorch_log_probs_and_tags():
    names = fixture_names()
    assert len(names) >= 20
    worst = 0.0
    for name in names:
        blob, _, _ = export_fixture(name)
        model = postag.Model.from_bytes(blob)
        want = expected(name)
        key = "viterbi" if model.info()["crf"] else "argmax"
        for i, sentence in enumerate(want["sentences"]):
            scores = model.scores(sentence["tokens"])
            diff = float(np.abs(scores - np.asarray(sentence["log_probs"], np.float32)).max())
            assert diff <= TOLERANCE, f"{name} sentence {i}: max |diff| {diff:.2e}"
            worst = max(worst, diff)
            tags = model.tag(sentence["tokens"])
            assert tags == [model.tags[t] for t in sentence[key]], f"{name} sentence {i}"
        sentences = [s["tokens"] for s in want["sentences"]]
        assert model.tag_many(sentences, threads=2) == [model.tag(s) for s in sentences]
    print(f"{len(names)} fixtures: max |log_prob diff| = {worst:.2e} (tolerance {TOLERANCE:g})")


def test_array_likes_of_any_float_type_and_lists_are_accepted():
    name = "uni1_word_00"
    blob, state, vocab = export_fixture(name)
    as_f64 = {k: v.astype(np.float64) for k, v in state.items()}
    as_lists = {k: v.tolist() for k, v in state.items()}
    fortran = {k: np.asfortranarray(v) for k, v in state.items()}
    for other in (as_f64, as_lists, fortran):
        assert postag.export(other, vocab["word_to_ix"], vocab["tag_to_ix"]) == blob


def test_export_writes_the_file_atomically(tmp_path):
    path = tmp_path / "model.postag"
    blob, _, _ = export_fixture("bi1_char_bi1_25", path=path)
    assert path.read_bytes() == blob
    assert os.listdir(tmp_path) == ["model.postag"]
    assert postag.Model.load(path).tags == postag.Model.from_bytes(blob).tags
    missing = tmp_path / "no" / "such" / "dir.postag"
    with pytest.raises(FileNotFoundError) as error:
        export_fixture("uni1_word_00", path=missing)
    assert error.value.filename == str(missing)
    assert path.read_bytes() == blob
    # An existing file keeps its permissions; a symbolic link is written through.
    path.chmod(0o600)
    link = tmp_path / "link.postag"
    link.symlink_to(path.name)
    other, _, _ = export_fixture("uni1_word_00", path=link)
    assert link.is_symlink() and path.read_bytes() == other
    assert path.stat().st_mode & 0o777 == 0o600
    # Writes from several threads at once: each whole, none failing.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        blobs = list(pool.map(lambda _: export_fixture("bi1_char_bi1_25", path=path)[0], range(16)))
    assert path.read_bytes() == blobs[0] == blob
    assert sorted(os.listdir(tmp_path)) == ["link.postag", "model.postag"]


def test_export_writes_devices_pipes_and_standard_output_in_place(tmp_path):
    # Nothing that cannot be replaced is replaced: a named pipe (through a link) gets the
    # bytes, and stays a pipe; /dev/null stays a device.
    import stat
    import subprocess
    import sys
    import threading

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    (tmp_path / "link").symlink_to("fifo")
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    blob, _, _ = export_fixture("uni1_word_00", path=tmp_path / "link")
    reader.join()
    assert got == [blob]
    assert stat.S_ISFIFO(fifo.stat().st_mode) and (tmp_path / "link").is_symlink()
    export_fixture("uni1_word_00", path="/dev/null")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    # A descriptor of this thread's own /proc directory: written through it (the file
    # stays the one the descriptor writes to).
    with open(tmp_path / "fd.bin", "wb", buffering=0) as f:
        f.write(b"<")
        blob, _, _ = export_fixture("uni1_word_00", path=f"/proc/thread-self/fd/{f.fileno()}")
        f.write(b">")
    assert (tmp_path / "fd.bin").read_bytes() == b"<" + blob + b">"
    # /dev/stdout appended to a file: after what Python printed before, and the file
    # is the same one (not replaced), so what is printed after lands after the blob.
    out = tmp_path / "out.log"
    script = (
        "import json, sys, postag; print('before'); "
        "postag.export(json.loads(sys.argv[1]), {'a': 0}, {'X': 0}, path='/dev/stdout'); "
        "print('after')"
    )
    state = '{"word_embeddings.weight": [[0.5]], "lstm.weight_ih_l0": [[0.1],[0.2],[0.3],[0.4]], ' \
        '"lstm.weight_hh_l0": [[0.1],[0.2],[0.3],[0.4]], "lstm.bias_ih_l0": [0,0,0,0], ' \
        '"lstm.bias_hh_l0": [0,0,0,0], "hidden2tag.weight": [[1.0]], "hidden2tag.bias": [0]}'
    with open(out, "ab") as f:
        subprocess.run([sys.executable, "-c", script, state], stdout=f, check=True)
    data = out.read_bytes()
    assert data.startswith(b"before\n") and data.endswith(b"after\n")
    blob = data[len(b"before\n") : -len(b"after\n")]
    assert postag.Model.from_bytes(blob).tags == ["X"]


def test_quantized_export_stays_close_to_the_f32_model():
    name = "bi2_char_bi2_unk_15"
    f32, _, _ = export_fixture(name)
    int8, _, _ = export_fixture(name, quantize=True)
    a, b = postag.Model.from_bytes(f32), postag.Model.from_bytes(int8)
    assert b.info()["weights"] == "int8" and a.info()["weights"] == "f32"
    # The f32 LSTMs in panels (format version 2); int8 in rows (version 1).
    assert (a.info()["format_version"], b.info()["format_version"]) == (2, 1)
    assert len(int8) < len(f32)
    for sentence in expected(name)["sentences"]:
        assert np.abs(a.scores(sentence["tokens"]) - b.scores(sentence["tokens"])).max() < 0.05


def test_options_are_recorded_in_the_blob():
    blob, _, _ = export_fixture(
        "uni1_char_uni1_10", lowercase=True, fold_digits=True, max_word_chars=16, tag_column="xpos"
    )
    info = postag.Model.from_bytes(blob).info()
    assert info["words"]["normalize"] == ["lowercase", "fold digits"]
    assert info["chars"]["max_word_chars"] == 16
    assert info["tag_column"] == "XPOS"


def test_bad_state_dicts_raise_the_core_message():
    state = read_safetensors(TORCH_FIXTURES / "uni1_word_00.safetensors")
    vocab = json.loads((TORCH_FIXTURES / "uni1_word_00.vocab.json").read_text())
    w, t = vocab["word_to_ix"], vocab["tag_to_ix"]

    missing = {k: v for k, v in state.items() if k != "hidden2tag.weight"}
    with pytest.raises(postag.PostagError, match="no 2-D tensor `hidden2tag.weight`"):
        postag.export(missing, w, t)

    nan = dict(state)
    nan["lstm.weight_hh_l0"] = state["lstm.weight_hh_l0"].copy()
    nan["lstm.weight_hh_l0"][2, 1] = np.nan
    with pytest.raises(postag.PostagError, match=r"lstm.weight_hh_l0\[2, 1\] is NaN"):
        postag.export(nan, w, t)
    # A finite float64 that float32 cannot hold is named as such (not as the infinity
    # a cast would make, nor with numpy's overflow warning); a ragged list by its name.
    big = {k: np.asarray(v, dtype=np.float64) for k, v in state.items()}
    big["lstm.weight_hh_l0"][1, 3] = -1e300
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(
            postag.PostagError, match=r"lstm.weight_hh_l0\[1, 3\] is -1.000000e\+300: beyond"
        ):
            postag.export(big, w, t)
    ragged = dict(state)
    ragged["hidden2tag.bias"] = [[1.0], [1.0, 2.0]]
    with pytest.raises(ValueError, match="`hidden2tag.bias`: .*inhomogeneous"):
        postag.export(ragged, w, t)

    extra = dict(state, **{"dropout.p": np.zeros(1, np.float32)})
    with pytest.raises(postag.PostagError, match="`dropout.p` is not understood"):
        postag.export(extra, w, t)

    with pytest.raises(postag.PostagError, match="model has 3 tags"):
        postag.export(state, w, dict(t, EXTRA=7))
    with pytest.raises(TypeError, match="keys must be str"):
        postag.export(state, {1: 0}, t)
    with pytest.raises(ValueError, match="tag_column"):
        postag.export(state, w, t, tag_column="feats")
    # Arguments of the wrong type: named, not taken for something else.
    with pytest.raises(TypeError, match="a torch.nn.Module or a state_dict mapping, not NoneType"):
        postag.export(None, w, t)
    with pytest.raises(TypeError, match="lowercase must be True or False, not 'no'"):
        postag.export(state, w, t, lowercase="no")
    with pytest.raises(TypeError, match="tag_column must be"):
        postag.export(state, w, t, tag_column=None)
    with pytest.raises(TypeError, match="word_to_ix must be a mapping of str to int, not NoneType"):
        postag.export(state, None, t)
    with pytest.raises(TypeError, match="tag_to_ix must be a mapping of str to int, not list"):
        postag.export(state, w, list(t))
    assert postag.export(state, w, t, quantize=np.bool_(False)) == postag.export(state, w, t)

    # Indices: integers of 0 or more, named when not; no float truncated to a row.
    word = next(iter(w))
    with pytest.raises(ValueError, match=rf"word_to_ix\['{word}'\] is -1"):
        postag.export(state, dict(w, **{word: -1}), t)
    with pytest.raises(TypeError, match=rf"word_to_ix\['{word}'\] must be an int, not float"):
        postag.export(state, dict(w, **{word: 1.7}), t)
    with pytest.raises(TypeError, match="must be an int, not bool"):
        postag.export(state, w, {k: bool(v) for k, v in t.items()})
    assert postag.export(state, {k: np.int64(v) for k, v in w.items()}, t)
    # No word and no unknown row: no token could be tagged.
    with pytest.raises(postag.PostagError, match="word_to_ix names no word and no unknown-word row"):
        postag.export(state, {}, t)
    assert postag.export(state, {"<unk>": 0}, t)
    # max_word_chars: 1 to MAX_WORD_CHARS, said so.
    for bad in [0, -1, postag.MAX_WORD_CHARS + 1, 10**10]:
        with pytest.raises(ValueError, match=f"max_word_chars must be 1 to {postag.MAX_WORD_CHARS}"):
            postag.export(state, w, t, max_word_chars=bad)
    # ... and only for a model with char features (this one has none), as the CLI says.
    with pytest.raises(ValueError, match="max_word_chars is for a model with char features"):
        postag.export(state, w, t, max_word_chars=8)
    assert postag.export(state, w, t, max_word_chars=None) == postag.export(state, w, t)
    # Tag names go into CoNLL-U columns: no whitespace, none empty or given twice.
    first = next(iter(t))
    for bad in ["X\tY", "", "A B", "line\n"]:
        renamed = {(bad if k == first else k): v for k, v in t.items()}
        with pytest.raises(postag.PostagError, match="tag name"):
            postag.export(state, w, renamed)


def test_the_seed_tagger_before_training_gives_the_seeds_scores():
    """The tutorial's own LSTMTagger (../shared/fixtures/seed), exported from numpy."""
    if not (SEED / "tagger_init.safetensors").exists():
        skip_or_fail(f"{SEED} is missing (the seed fixtures live in ../shared)")
    state = read_safetensors(SEED / "tagger_init.safetensors")
    vocab = json.loads((SEED / "tagger_vocab.json").read_text())
    want = json.loads((SEED / "tagger_expected.json").read_text())
    model = postag.Model.from_bytes(
        postag.export(state, vocab["word_to_ix"], vocab["tag_to_ix"])
    )
    words = want["training_data"][0]["words"]
    scores = model.scores(words)
    np.testing.assert_allclose(scores, want["scores_before_training"], atol=TOLERANCE, rtol=0)
