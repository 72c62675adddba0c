"""Shared pieces of the benchmark workload: parameters, network I/O, seeds, result line.

Every implementation module (``benchmarks.impl_*``) is a small CLI::

    python -m benchmarks.impl_X --network FILE --seed S

that loads the network with :func:`load_network`, picks the initial spreaders with
:func:`initial_spreaders`, times its own build and simulation, and prints exactly one
JSON line built by :func:`emit` (see ``README.md`` for the field contract).
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

# --- the workload -----------------------------------------------------------------
P_POST = 0.25  # a spreader posts in each of its groups with this probability per step
P_ADOPT = 0.003  # each delivery to an ignorant member converts them with this probability
P_STOP = 0.2  # after posting, each spreader stops with this probability
MAX_STEPS = 200

# Stream tag that separates the initial-spreader draw from each implementation's own
# dynamics stream (which is seeded with the bare seed, e.g. ``mesa.Model(rng=seed)``).
SPREADER_STREAM = 0x5EED


def n_initial(n: int) -> int:
    """S0 = max(10, N // 1000) (never more than N)."""
    return min(n, max(10, n // 1000))


def initial_spreaders(n: int, seed: int) -> np.ndarray:
    """The S0 initial spreaders for ``seed``: identical for every implementation.

    ``np.random.default_rng([SPREADER_STREAM, seed]).choice(n, S0, replace=False)``, sorted.
    """
    rng = np.random.default_rng([SPREADER_STREAM, seed])
    return np.sort(rng.choice(n, size=n_initial(n), replace=False)).astype(np.int64)


def per_step_pair_prob(k):
    """q_k: per-step probability that a spreader converts a given ignorant co-member
    with whom it shares k groups (one Bernoulli(P_POST) post per group, each delivery
    converting with P_ADOPT)."""
    return 1.0 - (1.0 - P_POST * P_ADOPT) ** np.asarray(k, dtype=float)


def pair_transmissibility(k):
    """T_k = 1 - E[(1 - q_k)^D] with D ~ Geometric(P_STOP) on {1, 2, ...} posting steps.

    E[x^D] = P_STOP * x / (1 - (1 - P_STOP) * x).
    """
    x = 1.0 - per_step_pair_prob(k)
    return 1.0 - P_STOP * x / (1.0 - (1.0 - P_STOP) * x)


# --- network I/O ----------------------------------------------------------------------
def load_network(path: str | Path) -> tuple[int, np.ndarray, np.ndarray]:
    """Return (n, indptr int64[G+1], indices int32[nnz]) from a ``network.py`` .npz file."""
    with np.load(path) as z:
        return int(z["n"]), z["indptr"].astype(np.int64), z["indices"].astype(np.int32)


def group_sizes(indptr: np.ndarray) -> np.ndarray:
    return np.diff(indptr)


def projection_pairs_upper_bound(indptr: np.ndarray) -> int:
    """sum_g s_g (s_g - 1) / 2: pair instances in the clique projection (>= distinct edges)."""
    s = group_sizes(indptr).astype(np.int64)
    return int((s * (s - 1) // 2).sum())


def clique_projection(n: int, indptr: np.ndarray, indices: np.ndarray):
    """Distinct co-member pairs (u < v) and k = number of groups they share.

    Vectorised per distinct group size (at most ~500 sizes), no per-clinician loop.
    Returns (u int64, v int64, k int64).
    """
    sizes = group_sizes(indptr)
    keys = []
    for s in np.unique(sizes):
        if s < 2:
            continue
        starts = indptr[:-1][sizes == s]
        members = indices[starts[:, None] + np.arange(s)].astype(np.int64)  # (groups, s)
        iu, ju = np.triu_indices(s, 1)
        a, b = members[:, iu].ravel(), members[:, ju].ravel()
        keys.append(np.minimum(a, b) * n + np.maximum(a, b))
    if not keys:
        e = np.empty(0, np.int64)
        return e, e, e
    key = np.sort(np.concatenate(keys))
    first = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
    k = np.diff(np.append(first, key.size))
    key = key[first]
    return key // n, key % n, k.astype(np.int64)


# --- measurement / output ---------------------------------------------------------------
def rss_mb() -> float:
    """Current resident set size of this process in MB (Linux /proc)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * resource.getpagesize() / 2**20
    except OSError:
        return float("nan")


def peak_rss_mb() -> float:
    """Peak RSS of this process (ru_maxrss is in KB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


#: a run whose simulation takes less than this is repeated in its process (see :func:`timed`)
REPEAT_BELOW_S = 0.1
#: repetitions go on until their simulations add up to this, or to REPEAT_MAX runs, or
#: the builds and simulations together to REPEAT_WALL_S (a peer's build can take as long
#: as a hundred of its runs)
REPEAT_TOTAL_S = 0.5
REPEAT_MAX = 25
REPEAT_WALL_S = 3.0


def timed(build: Callable[[], object], simulate: Callable[[object], dict]) -> tuple[float, float, int, dict]:
    """Time ``build()`` then ``simulate(built)`` (its outcome: reach, steps, ...), the same
    way for every implementation. A simulation shorter than :data:`REPEAT_BELOW_S` (tens of
    milliseconds: at that length one run's time is mostly the machine's noise, first-touch
    page faults and caches) is built and run again, from the same seed, until the runs add
    up to :data:`REPEAT_TOTAL_S` (at most :data:`REPEAT_MAX` runs, or :data:`REPEAT_WALL_S`
    of builds and runs); the times are then the medians. Every repetition must end as the
    first did (same seed, same outcome), or this raises: an implementation that does not is
    not measuring one run.

    Returns (build_s, sim_s, runs, outcome)."""
    builds, sims = [], []
    first: dict | None = None
    while True:
        t0 = time.perf_counter()
        built = build()
        t1 = time.perf_counter()
        outcome = simulate(built)
        t2 = time.perf_counter()
        del built
        builds.append(t1 - t0)
        sims.append(t2 - t1)
        if first is None:
            first = outcome
        elif outcome != first:
            raise RuntimeError(f"a repeated run from the same seed ended otherwise: {outcome} != {first}")
        done = sum(sims) >= REPEAT_TOTAL_S or len(sims) >= REPEAT_MAX or sum(sims) + sum(builds) >= REPEAT_WALL_S
        if sims[0] >= REPEAT_BELOW_S or done:
            return statistics.median(builds), statistics.median(sims), len(sims), first


def parse_args(description: str, extra=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--network", required=True, help=".npz written by benchmarks.network")
    ap.add_argument("--seed", type=int, required=True)
    if extra:
        extra(ap)
    return ap.parse_args()


def emit(
    impl: str, n: int, seed: int, build_s: float, sim_s: float, reach: float, steps, posts, deliveries, **extra
) -> dict:
    """Print the one-line JSON result contract and return it."""
    dps = deliveries / sim_s if (deliveries is not None and sim_s > 0) else None
    rec = {
        "impl": impl,
        "n": int(n),
        "seed": int(seed),
        "build_s": round(float(build_s), 6),
        "sim_s": round(float(sim_s), 6),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "reach": float(reach),
        "steps": None if steps is None else int(steps),
        "posts": None if posts is None else int(posts),
        "deliveries": None if deliveries is None else int(deliveries),
        "deliveries_per_s": None if dps is None or not math.isfinite(dps) else float(dps),
    }
    rec.update(extra)
    sys.stdout.write(json.dumps(rec) + "\n")
    sys.stdout.flush()
    return rec
