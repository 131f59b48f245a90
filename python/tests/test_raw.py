"""Model.tag_text: raw text through the model's segmenter and tagger, as the CLI's
`postag tag --format raw` does it."""

import json
import pickle
import subprocess

import pytest

import postag

from conftest import EWT_DEV, NANO_MODEL

TEXT = (
    "I can't go. Hello, world! I don't know.\r\nSecond line  here\n\n\n"
    "New paragraph: 5:30pm (really). Café naïve 😀 ok.\n \t\n"
    "Ünïcödé — “quotes” and a tab\there.\n"
)


@pytest.fixture(scope="module")
def model(segmenter_model):
    return postag.Model.load(segmenter_model)


def cli_jsonl(postag_bin, model_path, text, *extra):
    """`postag tag --format raw --raw-output jsonl` (and `extra`) on `text`: one dict
    per sentence."""
    done = subprocess.run(
        [str(postag_bin), "tag", "--model", str(model_path), "--format", "raw",
         "--raw-output", "jsonl", "--threads", "1", *extra],
        input=text.encode("utf-8"), capture_output=True, check=True,
    )
    return [json.loads(line) for line in done.stdout.decode("utf-8").splitlines()]


def test_a_model_without_segmenter_raises():
    m = postag.Model.load(str(NANO_MODEL))
    assert not m.has_segmenter
    with pytest.raises(postag.PostagError, match="this model has no segmenter"):
        m.tag_text("Hello there.")


def test_the_built_in_model_segments_raw_text():
    m = postag.Model.default()
    assert m.has_segmenter
    sentences = m.tag_text("Hello, world! We're gonna go.")
    assert [[t.text for t in s] for s in sentences] == [
        ["Hello", ",", "world", "!"],
        ["We're", "gonna", "go", "."],
    ]
    gonna = sentences[1][1]
    assert gonna.words == ["gon", "na"] and len(gonna.tags) == 2


def test_tokens_spell_the_text_and_offsets_are_str_indices(model):
    assert model.has_segmenter
    sentences = model.tag_text(TEXT)
    assert len(sentences) >= 3 and all(sentences)
    tokens = [t for s in sentences for t in s]
    assert "".join(t.text for t in tokens) == "".join(c for c in TEXT if not c.isspace())
    end = 0
    for t in tokens:
        assert isinstance(t, postag.Token)
        assert TEXT[t.start:t.end] == t.text and end <= t.start < t.end
        assert TEXT[end:t.start].isspace() or end == t.start
        assert len(t.words) == len(t.tags) >= 1
        assert all(tag in model.tags for tag in t.tags)
        end = t.end
    # One word per token unless the segmenter marked it as a multiword token.
    assert sum(len(t.words) for t in tokens) >= len(tokens)


def test_tag_text_equals_the_cli(model, segmenter_model, postag_bin):
    texts = [TEXT]
    if EWT_DEV.exists():
        dev = [
            line[len("# text = "):]
            for line in EWT_DEV.read_text(encoding="utf-8-sig").splitlines()
            if line.startswith("# text = ")
        ]
        # Long paragraphs (more than one segmenter window) and short ones.
        texts.append("\n\n".join(" ".join(dev[i:i + 40]) for i in range(0, 400, 40)))
    for text in texts:
        ours = model.tag_text(text)
        cli = cli_jsonl(postag_bin, segmenter_model, text)
        assert len(ours) == len(cli)
        for sentence, want in zip(ours, cli):
            assert [w for t in sentence for w in t.words] == want["words"]
            assert [g for t in sentence for g in t.tags] == want["tags"]
            assert [t.text for t in sentence] == [t["text"] for t in want["tokens"]]
            # The CLI counts UTF-8 bytes, tag_text str characters.
            for t, w in zip(sentence, want["tokens"]):
                assert len(text[: t.start].encode("utf-8")) == w["start"]
                assert len(text[: t.end].encode("utf-8")) == w["end"]
        assert model.tag_text(text, threads=2) == ours


def test_presegmented_text_is_one_sentence_per_line_as_in_the_cli(segmenter_model, postag_bin):
    # Each line that is not blank, with its line end, is one sentence: the tokens of
    # all the sentences the line gives alone.
    pieces = ["Hello there. How are you?\r\n", "I can't go!  Not now.\n", " \n", "\tok\n",
              "Mr. Smith left at 5 p.m. He came back."]
    lines = [p for p in pieces if p.strip()]
    text = "\ufeff" + "".join(pieces)
    m = postag.Model.default()
    ours = m.tag_text(text, presegmented=True)
    assert [[t.text for t in s] for s in ours] == [
        [t.text for s in m.tag_text(line) for t in s] for line in lines
    ]
    assert len(m.tag_text(text)) > len(lines)
    cli = cli_jsonl(postag_bin, segmenter_model, text, "--presegmented")
    ours = postag.Model.load(segmenter_model).tag_text(text, presegmented=True)
    assert len(ours) == len(cli) == len(lines)
    for sentence, want in zip(ours, cli):
        assert [t.text for t in sentence] == [t["text"] for t in want["tokens"]]
        assert [g for t in sentence for g in t.tags] == want["tags"]
        assert [len(text[1:t.start].encode("utf-8")) + 3 for t in sentence] == [
            t["start"] for t in want["tokens"]
        ]


def test_edge_cases(model):
    assert model.tag_text("") == []
    assert model.tag_text(" \n\n\t\r\n") == []
    plain = model.tag_text(TEXT)
    # A leading byte order mark is skipped, as the CLI skips it; offsets still index
    # the str given.
    with_bom = model.tag_text("\ufeff" + TEXT)
    assert [[(t.text, t.start - 1, t.end - 1, t.words, t.tags) for t in s] for s in with_bom] == [
        [(t.text, t.start, t.end, t.words, t.tags) for t in s] for s in plain
    ]
    # The text's end reads as a line break, whether or not one follows its last
    # character.
    ended = model.tag_text("We cannot go, we cannot\n")
    for tail in ["", " ", "\n\n"]:
        assert model.tag_text("We cannot go, we cannot" + tail) == ended, repr(tail)
    with pytest.raises(ValueError, match="threads"):
        model.tag_text(TEXT, threads=0)
    with pytest.raises(TypeError):
        model.tag_text(["not", "a", "str"])


def test_tokens_compare_print_and_pickle(model):
    t = model.tag_text("Hello, world!")[0][0]
    copy = postag.Token(t.text, t.start, t.end, list(t.words), list(t.tags))
    assert copy == t and pickle.loads(pickle.dumps(t)) == t
    assert repr(t).startswith("Token(text='Hello")
    assert postag.Token("a", 0, 1, ["a"], ["X"]) != postag.Token("a", 0, 1, ["a"], ["Y"])
    # Equal tokens hash equally: a set of a text's tokens and of their copies is one set.
    assert hash(copy) == hash(t)
    tokens = [tok for sentence in model.tag_text("Hello, world! Hello, world!") for tok in sentence]
    assert len(set(tokens)) == len(tokens)
    assert {copy: 1}[t] == 1 and len({t, copy}) == 1
