#!/usr/bin/env python3
"""Python diskcache on the engine's disk benchmark: same value sizes, counts and access order.

Run by `cargo bench -p cachearr-engine --bench engine -- disk --python .venv/bin/python`, which
prints both side by side; alone it prints JSON: {"results": [{"size", "count", "set_ops",
"get_ops"}]} with the median of --runs runs.
"""

import argparse
import json
import os
import random
import statistics
import tempfile
import time

import diskcache

CASES = [(1024, 10_000), (100 * 1024, 1_000)]


def one_run(size: int, count: int, seed: int) -> tuple[float, float]:
    values = [os.urandom(size) for _ in range(count)]  # incompressible, as on the Rust side
    keys = [f"key-{i}" for i in range(count)]
    with tempfile.TemporaryDirectory() as d:
        cache = diskcache.Cache(d)
        t = time.perf_counter()
        for k, v in zip(keys, values):
            cache.set(k, v)
        set_ops = count / (time.perf_counter() - t)
        order = list(range(count))
        random.Random(seed).shuffle(order)
        t = time.perf_counter()
        for i in order:
            v = cache.get(keys[i])
            assert v is not None and len(v) == size
        get_ops = count / (time.perf_counter() - t)
        cache.close()
    return set_ops, get_ops


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    results = []
    for size, count in CASES:
        runs = [one_run(size, count, 7 + r) for r in range(args.runs)]
        results.append(
            {
                "size": size,
                "count": count,
                "set_ops": statistics.median(r[0] for r in runs),
                "get_ops": statistics.median(r[1] for r in runs),
            }
        )
    print(json.dumps({"diskcache": diskcache.__version__, "results": results}))


if __name__ == "__main__":
    main()
