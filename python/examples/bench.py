"""Tagging throughput of `Model.tag_many`, measured like `postag bench` measures the core.

    python python/examples/bench.py --data ../shared/data/ud/en_ewt/en_ewt-ud-dev.conllu

tags every sentence of the CoNLL-U file (one warm-up pass, then passes for `--seconds`)
and prints tokens per second on 1 thread and on every core; compare with
`postag bench --data FILE` on the same machine (its "1 thread(s)" line). Each figure
includes the binding's work: converting the token lists and building the tag lists.
"""

import argparse
import os
import time

import postag


def read_forms(path):
    """The word forms of each sentence (multiword ranges and empty nodes skipped)."""
    sentences, forms = [], []
    with open(path, encoding="utf-8-sig") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                if forms:
                    sentences.append(forms)
                    forms = []
            elif not line.startswith("#"):
                cols = line.split("\t")
                if "-" not in cols[0] and "." not in cols[0]:
                    forms.append(cols[1])
    if forms:
        sentences.append(forms)
    return sentences


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="sentences to tag (CoNLL-U)")
    parser.add_argument("--model", help="a postag model (default: the built-in English model)")
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds per figure")
    args = parser.parse_args()

    model = postag.Model.load(args.model) if args.model else postag.Model.default()
    sentences = read_forms(args.data)
    tokens = sum(len(s) for s in sentences)
    print(f"{model!r}; {len(sentences)} sentences, {tokens} tokens")
    for threads in sorted({1, os.cpu_count() or 1}):
        model.tag_many(sentences, threads=threads)  # warm-up
        start, done = time.perf_counter(), 0
        while time.perf_counter() - start < args.seconds:
            model.tag_many(sentences, threads=threads)
            done += tokens
        rate = done / (time.perf_counter() - start)
        print(f"Model.tag_many, {threads} thread(s): {rate:.0f} tokens/s")


if __name__ == "__main__":
    main()
