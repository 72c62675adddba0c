"""Plain numpy references for the compiled kernels that replaced them in the simulator.

The tests compare each kernel with its reference; the simulator itself uses only the kernels.
"""

from __future__ import annotations

import numpy as np

from sim.arrays import expand_ranges


def csr_rows(indptr: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows of CSR slices ``keys`` laid end to end, and for each row the position in
    ``keys`` of the slice it came from."""
    lo = indptr[keys]
    sizes = indptr[keys + 1] - lo
    return expand_ranges(lo, sizes), np.repeat(np.arange(np.size(keys)), sizes)


def lookup(keys: np.ndarray, values: np.ndarray, query: np.ndarray, default) -> np.ndarray:
    """values[keys == q] for each q (keys sorted and unique), else ``default``."""
    out = np.full(query.size, default, dtype=np.result_type(values, type(default)))
    if keys.size == 0 or query.size == 0:
        return out
    pos = np.minimum(np.searchsorted(keys, query), keys.size - 1)
    hit = keys[pos] == query
    out[hit] = values[pos[hit]]
    return out


def first_at_or_after(owner: np.ndarray, when: np.ndarray, q_owner: np.ndarray, q_time: np.ndarray) -> np.ndarray:
    """For each query (owner, time): the earliest event of that owner at or after the time.

    Events and queries are merged in one sort (owner, time, queries before events at
    equal times); a reverse running minimum gives each position the next event. ``inf``
    where the owner has no such event.
    """
    n_ev = owner.size
    out = np.full(q_owner.size, np.inf)
    if n_ev == 0 or q_owner.size == 0:
        return out
    own = np.concatenate([owner, q_owner])
    tim = np.concatenate([when, q_time])
    kind = np.concatenate([np.ones(n_ev, np.int8), np.zeros(q_owner.size, np.int8)])
    order = np.lexsort((kind, tim, own))
    pos = np.where(kind[order] == 1, np.arange(order.size), order.size)
    nxt = np.minimum.accumulate(pos[::-1])[::-1]
    rank = np.empty(order.size, np.int64)
    rank[order] = np.arange(order.size)
    q = nxt[rank[n_ev:]]
    ok = q < order.size
    ok[ok] = own[order[q[ok]]] == q_owner[ok]
    out[ok] = tim[order[q[ok]]]
    return out


def segment_first(keys: np.ndarray) -> np.ndarray:
    """Bool: first element of each run of equal values in a sorted array."""
    out = np.ones(keys.size, bool)
    out[1:] = keys[1:] != keys[:-1]
    return out


def segment_rank(keys: np.ndarray) -> np.ndarray:
    """Position within each run of equal values of a sorted array."""
    first = segment_first(keys)
    start = np.maximum.accumulate(np.where(first, np.arange(keys.size), 0))
    return np.arange(keys.size) - start
