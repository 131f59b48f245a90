"""Shared helpers of the Python tests: paths, the skip rule, fixtures without torch."""

import json
import os
import struct
import subprocess
from pathlib import Path
from typing import Dict, List

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
TORCH_FIXTURES = REPO / "tests" / "fixtures" / "torch"
SHARED = REPO.parent / "shared"
EWT_DEV = SHARED / "data" / "ud" / "en_ewt" / "en_ewt-ud-dev.conllu"
SEED = SHARED / "fixtures" / "seed"


def skip_or_fail(reason: str) -> None:
    """The project's rule for a missing tool or file: skip with the reason printed,
    except under CI=true, where it is a failure. In a test or at a module's top level."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: nothing may be skipped)", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def read_safetensors(path: Path) -> Dict[str, np.ndarray]:
    """A safetensors file as numpy arrays (the format: an 8-byte little-endian header
    length, a JSON header of dtype, shape and data offsets, then the raw data)."""
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    data = raw[8 + n :]
    dtypes = {"F32": "<f4", "F64": "<f8", "F16": "<f2"}
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        array = np.frombuffer(data[begin:end], dtype=dtypes[entry["dtype"]])
        out[name] = array.reshape(entry["shape"])
    return out


def fixture_names() -> List[str]:
    return json.loads((TORCH_FIXTURES / "index.json").read_text())


def read_conllu_forms(path: Path, limit: int = 0) -> List[List[str]]:
    """The word forms of each sentence of a CoNLL-U file (multiword ranges and empty
    nodes skipped), like `postag bench` reads them."""
    sentences: List[List[str]] = []
    forms: List[str] = []
    with open(path, encoding="utf-8-sig") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                if forms:
                    sentences.append(forms)
                    forms = []
                    if limit and len(sentences) == limit:
                        return sentences
                continue
            if line.startswith("#"):
                continue
            cols = line.split("\t")
            if "-" in cols[0] or "." in cols[0]:
                continue
            forms.append(cols[1])
    if forms:
        sentences.append(forms)
    return sentences


@pytest.fixture(scope="session")
def ewt_dev() -> List[List[str]]:
    if not EWT_DEV.exists():
        skip_or_fail(f"{EWT_DEV} is missing (the UD treebanks live in ../shared/data/ud)")
    return read_conllu_forms(EWT_DEV)


EWT_TRAIN = SHARED / "data" / "ud" / "en_ewt" / "en_ewt-ud-train.conllu"
MICRO_MODEL = REPO / "models" / "en_ewt_micro.postag"
NANO_MODEL = REPO / "models" / "en_ewt_nano.postag"


@pytest.fixture(scope="session")
def postag_bin() -> Path:
    """The `postag` CLI: $POSTAG_BIN, or built here with
    `cargo build --release -p postag-trainer --bin postag` into the workspace's target/."""
    given = os.environ.get("POSTAG_BIN")
    if given:
        return Path(given)
    # The workspace's own target directory, whatever CARGO_TARGET_DIR says for the
    # extension (scripts/test points it at target/python).
    target = REPO / "target"
    env = dict(os.environ, CARGO_TARGET_DIR=str(target))
    cmd = ["cargo", "build", "--release", "--quiet", "-p", "postag-trainer", "--bin", "postag"]
    try:
        done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    except FileNotFoundError:
        skip_or_fail("cargo is not installed: the postag CLI cannot be built")
    if done.returncode != 0:
        skip_or_fail(f"`{' '.join(cmd)}` failed:\n{done.stderr[-2000:]}")
    exe = target / "release" / ("postag.exe" if os.name == "nt" else "postag")
    if not exe.exists():
        skip_or_fail(f"{exe} was not built")
    return exe


@pytest.fixture(scope="session")
def segmenter_model(postag_bin: Path, tmp_path_factory) -> Path:
    """The micro English model with a small segmenter trained for a few seconds on the
    first 600 sentences of UD English EWT train (`postag segmenter`)."""
    if not EWT_TRAIN.exists():
        skip_or_fail(f"{EWT_TRAIN} is missing (the UD treebanks live in ../shared/data/ud)")
    work = tmp_path_factory.mktemp("segmenter")
    train = work / "train.conllu"
    blocks = EWT_TRAIN.read_text(encoding="utf-8-sig").split("\n\n")
    train.write_text("\n\n".join(blocks[:600]) + "\n\n", encoding="utf-8")
    out = work / "seg.postag"
    subprocess.run(
        [str(postag_bin), "segmenter", "--model", str(MICRO_MODEL), "--train", str(train),
         "-o", str(out), "--steps", "300", "--dim", "16", "--hidden", "32"],
        check=True, capture_output=True,
    )
    return out
