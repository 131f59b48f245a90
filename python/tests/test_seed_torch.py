"""The seed, end to end: PyTorch's "Sequence models and LSTM networks" tutorial trains its
LSTMTagger, `postag.export` converts the live module in one call, and postag's scores
equal PyTorch's.

Needs torch (python/requirements-torch.txt; .ci/run installs it): without it the module
is skipped with the reason printed, and fails under CI=true, as every optional tool does.
"""

import numpy as np
import pytest

import postag
from conftest import skip_or_fail

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import torch.optim as optim
except ImportError as e:
    skip_or_fail(f"torch is not importable ({e}); pip install -r python/requirements-torch.txt to run it")

TOLERANCE = 1e-5


class LSTMTagger(nn.Module):
    """The tutorial's tagger, as written there."""

    def __init__(self, embedding_dim, hidden_dim, vocab_size, tagset_size):
        super().__init__()
        self.hidden_dim = hidden_dim
        self.word_embeddings = nn.Embedding(vocab_size, embedding_dim)
        # The LSTM takes word embeddings as inputs, and outputs hidden states
        # with dimensionality hidden_dim.
        self.lstm = nn.LSTM(embedding_dim, hidden_dim)
        # The linear layer that maps from hidden state space to tag space
        self.hidden2tag = nn.Linear(hidden_dim, tagset_size)

    def forward(self, sentence):
        embeds = self.word_embeddings(sentence)
        lstm_out, _ = self.lstm(embeds.view(len(sentence), 1, -1))
        tag_space = self.hidden2tag(lstm_out.view(len(sentence), -1))
        tag_scores = F.log_softmax(tag_space, dim=1)
        return tag_scores


def prepare_sequence(seq, to_ix):
    idxs = [to_ix[w] for w in seq]
    return torch.tensor(idxs, dtype=torch.long)


def test_the_tutorials_trained_tagger_exports_in_one_call_and_scores_like_pytorch(tmp_path):
    torch.manual_seed(1)
    training_data = [
        # Tags are: DET - determiner; NN - noun; V - verb
        ("The dog ate the apple".split(), ["DET", "NN", "V", "DET", "NN"]),
        ("Everybody read that book".split(), ["NN", "V", "DET", "NN"]),
    ]
    word_to_ix = {}
    for sent, tags in training_data:
        for word in sent:
            if word not in word_to_ix:
                word_to_ix[word] = len(word_to_ix)
    tag_to_ix = {"DET": 0, "NN": 1, "V": 2}
    EMBEDDING_DIM = 6
    HIDDEN_DIM = 6

    model = LSTMTagger(EMBEDDING_DIM, HIDDEN_DIM, len(word_to_ix), len(tag_to_ix))
    loss_function = nn.NLLLoss()
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    for epoch in range(300):
        for sentence, tags in training_data:
            model.zero_grad()
            sentence_in = prepare_sequence(sentence, word_to_ix)
            targets = prepare_sequence(tags, tag_to_ix)
            tag_scores = model(sentence_in)
            loss = loss_function(tag_scores, targets)
            loss.backward()
            optimizer.step()

    path = tmp_path / "tutorial.postag"
    postag.export(model, word_to_ix, tag_to_ix, path=path)  # the one call

    tagger = postag.Model.load(path)
    ix_to_tag = {i: t for t, i in tag_to_ix.items()}
    with torch.no_grad():
        for sentence, tags in training_data:
            want = model(prepare_sequence(sentence, word_to_ix)).numpy()
            got = tagger.scores(sentence)
            diff = float(np.abs(got - want).max())
            print(f"{' '.join(sentence)}: max |postag - PyTorch| = {diff:.2e}")
            assert diff <= TOLERANCE
            assert tagger.tag(sentence) == [ix_to_tag[int(i)] for i in want.argmax(axis=1)]
            assert tagger.tag(sentence) == tags  # the tutorial's model learned its data

    # The module's tensors (with autograd, possibly non-contiguous) and its state_dict of
    # numpy arrays give the same blob.
    numpy_state = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    assert postag.export(numpy_state, word_to_ix, tag_to_ix) == path.read_bytes()
    half = {k: v.to(torch.bfloat16) for k, v in model.state_dict().items()}
    assert postag.Model.from_bytes(postag.export(half, word_to_ix, tag_to_ix)).tags == [
        "DET",
        "NN",
        "V",
    ]
