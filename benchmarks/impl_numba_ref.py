"""Compiled per-delivery reference of the benchmark workload (numba): the work bound.

The workload as the plainest compiled loop: per step, each spreader posts in each of its
groups with P_POST; each post is delivered to every other member of the group, one by one,
and each delivery to a member who was never a spreader converts them with P_ADOPT (a
Bernoulli draw per delivery); then every current spreader stops with P_STOP. It does
O(deliveries) work, touching every delivery as the workload states it, with no Python
in the loop: what a hand-written compiled simulator costs. (numpy_ref and qunsim place
only the converting deliveries, by geometric gaps, so they can beat it.)

The kernel is compiled before the clock starts (on a tiny network; cached on disk), so
``build_s`` and ``sim_s`` never count compilation.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from benchmarks.common import (
    MAX_STEPS,
    P_ADOPT,
    P_POST,
    P_STOP,
    emit,
    initial_spreaders,
    load_network,
    parse_args,
    rss_mb,
    timed,
)


@njit(cache=True)
def _run(n, indptr, indices, c_indptr, c_group, seeds, seed, max_steps, p_post, p_adopt, p_stop):
    np.random.seed(seed)
    ever = np.zeros(n, np.bool_)
    spreaders = seeds.copy()
    for s in spreaders:
        ever[s] = True
    new = np.empty(n, np.int64)
    steps = posts = deliveries = 0
    while spreaders.size and steps < max_steps:
        n_new = 0
        for s in spreaders:
            for k in range(c_indptr[s], c_indptr[s + 1]):
                if np.random.random() >= p_post:
                    continue
                g = c_group[k]
                posts += 1
                for r in range(indptr[g], indptr[g + 1]):
                    m = indices[r]
                    if m == s:
                        continue
                    deliveries += 1
                    if np.random.random() < p_adopt and not ever[m]:
                        ever[m] = True
                        new[n_new] = m
                        n_new += 1
        keep = 0
        for i in range(spreaders.size):
            if np.random.random() >= p_stop:
                spreaders[keep] = spreaders[i]
                keep += 1
        spreaders = np.concatenate((spreaders[:keep], new[:n_new]))
        steps += 1
    return ever.mean(), steps, posts, deliveries


def build(n: int, indptr: np.ndarray, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The clinician -> groups CSR."""
    sizes = np.diff(indptr)
    group_of = np.repeat(np.arange(sizes.size, dtype=np.int64), sizes)
    order = np.argsort(indices, kind="stable")
    c_indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(indices, minlength=n), out=c_indptr[1:])
    return c_indptr, group_of[order]


def main() -> None:
    a = parse_args(__doc__.splitlines()[0])
    n, indptr, indices = load_network(a.network)
    indices = indices.astype(np.int64)
    # compile (or load from the cache) on a two-group network before timing
    tiny_ptr, tiny_idx = np.array([0, 2, 4], np.int64), np.array([0, 1, 1, 2], np.int64)
    _run(3, tiny_ptr, tiny_idx, *build(3, tiny_ptr, tiny_idx), np.array([0], np.int64), 0, 2, 0.5, 0.5, 0.5)
    base_rss = rss_mb()
    seeds = initial_spreaders(n, a.seed)

    def simulate(index: tuple[np.ndarray, np.ndarray]) -> dict:
        reach, steps, posts, deliveries = _run(
            n, indptr, indices, *index, seeds, a.seed, MAX_STEPS, P_POST, P_ADOPT, P_STOP
        )  # fmt: skip
        return {"reach": float(reach), "steps": int(steps), "posts": int(posts), "deliveries": int(deliveries)}

    build_s, sim_s, runs, out = timed(lambda: build(n, indptr, indices), simulate)
    emit("numba_ref", n, a.seed, build_s, sim_s, **out, timed_runs=runs, base_rss_mb=round(base_rss, 1))


if __name__ == "__main__":
    main()
