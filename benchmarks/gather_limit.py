"""Gather/scatter throughput of this machine with numpy: the ceiling for a vectorised kernel.

For random index arrays of 1e6 and 1e7 entries (int32 and int64) into target arrays of
2e5 and 1e6 entries, time (median of ``--repeats``):

* ``gather``      ``a[idx]``                      (a: float64)
* ``add_at``      ``np.add.at(acc, idx, 1.0)``     (unbuffered scatter-add, float64)
* ``bincount``    ``np.bincount(idx, minlength=)`` (scatter-count)
* ``mask_gather`` ``v[mask]`` with v of len(idx) and a random mask of density 0.25
                  (the "which memberships posted" compaction; independent of the target)

and report elements (index entries) per second. ``python -m benchmarks.gather_limit
[--quick] [--repeats R] [--out FILE]`` prints / writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np


def _median_time(fn, repeats: int) -> float:
    fn()  # warm-up (page faults, caches)
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


def measure(
    idx_sizes=(10**6, 10**7), targets=(2 * 10**5, 10**6), dtypes=("int32", "int64"), repeats: int = 5, seed: int = 0
) -> dict:
    rng = np.random.default_rng(seed)
    rows = []

    def add(op, n_idx, dtype, n_target, t):
        rows.append(
            {
                "op": op,
                "n_idx": n_idx,
                "idx_dtype": dtype,
                "n_target": n_target,
                "median_s": t,
                "elems_per_s": n_idx / t if t > 0 else None,
            }
        )

    for n_idx in idx_sizes:
        v = rng.random(n_idx)
        mask = rng.random(n_idx) < 0.25
        add("mask_gather", n_idx, "bool", None, _median_time(lambda: v[mask], repeats))
        for n_target in targets:
            a = rng.random(n_target)
            for dtype in dtypes:
                idx = rng.integers(0, n_target, size=n_idx).astype(dtype)
                add("gather", n_idx, dtype, n_target, _median_time(lambda: a[idx], repeats))
                acc = np.zeros(n_target)
                add("add_at", n_idx, dtype, n_target, _median_time(lambda: np.add.at(acc, idx, 1.0), repeats))
                add(
                    "bincount",
                    n_idx,
                    dtype,
                    n_target,
                    _median_time(lambda: np.bincount(idx, minlength=n_target), repeats),
                )
    return {
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "numpy": np.__version__,
        },
        "repeats": repeats,
        "results": rows,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1e6 indices only, 3 repeats")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--out", help="write JSON here (else stdout)")
    a = ap.parse_args()
    kw = {"idx_sizes": (10**6,), "repeats": 3} if a.quick else {}
    if a.repeats:
        kw["repeats"] = a.repeats
    res = measure(**kw)
    text = json.dumps(res, indent=1)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
