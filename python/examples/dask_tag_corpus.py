"""Tags a sharded JSON-lines corpus on a Dask cluster, one task per shard.

Each shard `NAME.jsonl` (lines `{"tokens": [...]}`) becomes `OUT_DIR/NAME.jsonl` with
`"tags"` added. Every worker process loads the model once (`postag.corpus.cached_model`)
and reuses it for all the shards it tags.

    # a local cluster of two worker processes:
    python dask_tag_corpus.py --workers 2 --out tagged/ corpus/part-*.jsonl
    # a real cluster (started with `dask scheduler` and `dask worker ADDRESS`):
    python dask_tag_corpus.py --scheduler tcp://scheduler:8786 --model /shared/m.postag \\
        --out /shared/tagged/ /shared/corpus/part-*.jsonl

On a real cluster, shard, output and model paths must be ones every worker can reach (a
shared filesystem), and every worker needs `pip install postag` (the same wheel).
"""

import argparse
import os
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple


def shard_outputs(shards: Sequence[str], out_dir: str) -> List[Tuple[str, str]]:
    """Each shard's absolute path and its output's, OUT_DIR/<shard file name>. Raises
    ValueError when two shards have the same file name or an output would replace a
    shard."""
    pairs = [
        (os.path.abspath(src), os.path.abspath(os.path.join(out_dir, os.path.basename(src))))
        for src in shards
    ]
    named: Dict[str, str] = {}
    shard_files = {os.path.realpath(src): src for src, _ in pairs}
    for src, out in pairs:
        if out in named:
            raise ValueError(f"{named[out]} and {src} would both be written to {out}")
        named[out] = src
        if os.path.realpath(out) in shard_files:
            raise ValueError(f"{out} would replace the shard {shard_files[os.path.realpath(out)]}")
    return pairs


def tag_shards(
    client: Any,
    shards: Sequence[str],
    out_dir: str,
    model_path: Optional[str] = None,
) -> List[Dict[str, Any]]:
    """Tags every shard on the cluster behind `client` (a `distributed.Client`), writing
    OUT_DIR/<shard file name>; returns each shard's statistics (see
    `postag.corpus.tag_jsonl_file`), in shard order. Raises ValueError, before any task
    runs, as `shard_outputs` does."""
    import postag.corpus

    futures = [
        client.submit(
            postag.corpus.tag_jsonl_file,
            src,
            out,
            None if model_path is None else os.path.abspath(model_path),
            1,  # one tagging thread per task: the cluster runs one task per core
            pure=False,
        )
        for src, out in shard_outputs(shards, out_dir)
    ]
    return client.gather(futures)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("shards", nargs="+", help="JSON-lines shards to tag")
    parser.add_argument("--out", required=True, help="directory for the tagged shards")
    parser.add_argument("--model", help="a postag model file (default: the built-in English model)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--scheduler", help="address of a running Dask scheduler")
    where.add_argument("--workers", type=int, default=2, help="local worker processes (default 2)")
    args = parser.parse_args(argv)

    try:
        shard_outputs(args.shards, args.out)  # checked before a cluster starts
    except ValueError as e:
        parser.error(str(e))

    from distributed import Client, LocalCluster

    os.makedirs(args.out, exist_ok=True)
    if args.scheduler:
        client = Client(args.scheduler)
        cluster = None
    else:
        cluster = LocalCluster(
            n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    try:
        stats = tag_shards(client, args.shards, args.out, args.model)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    tokens = sum(s["tokens"] for s in stats)
    workers = len({s["pid"] for s in stats})
    print(f"tagged {len(stats)} shards, {tokens} tokens, on {workers} worker process(es)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
