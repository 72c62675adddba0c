"""Compiled inner loops of the diagnosis process (numba, ``nopython``).

Each replaces a numpy formulation that made many small passes (or a Python loop) per
step and gives bit-identical results: the same arithmetic in the same order. The tests
compare each kernel with the numpy it replaced. Compiled code is cached next to this
file (``cache=True``); the kernels are imported when a model is built.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["book_slots", "first_opening", "group_stock", "pick_in_lists"]


@njit(cache=True)
def book_slots(dest: np.ndarray, arrive: np.ndarray, gap: np.ndarray, next_slot: np.ndarray) -> np.ndarray:
    """Visit slot of each referral, booked in order at its facility ``dest``.

    At a facility, the j-th referral of the batch (arriving at ``a_j``) gets the slot
    ``max(next_slot, max_{i<=j}(a_i - i s)) + j s`` (``s``: the facility's gap between
    slots, that of its first referral in the batch); ``next_slot`` moves past the last
    slot booked. (First come, first booked; no slot before arrival or before a slot
    booked earlier.)"""
    n_fac = next_slot.size
    count = np.zeros(n_fac, np.int64)
    run_max = np.zeros(n_fac)
    step = np.zeros(n_fac)
    last = np.zeros(n_fac)
    slot = np.empty(dest.size)
    for i in range(dest.size):
        d = dest[i]
        j = count[d]
        if j == 0:
            step[d] = gap[i]
        s = step[d]
        v = arrive[i] - j * s
        if j == 0 or v > run_max[d]:
            run_max[d] = v
        u = max(next_slot[d], run_max[d])
        slot[i] = u + j * s
        last[d] = slot[i]
        count[d] = j + 1
    for d in range(n_fac):
        if count[d]:
            next_slot[d] = last[d] + step[d]
    return slot


@njit(cache=True)
def first_opening(counts: np.ndarray, times: np.ndarray, q_owner: np.ndarray, q_time: np.ndarray) -> np.ndarray:
    """For each query (owner, time): the earliest of the owner's events at or after the
    time (``inf`` if none). Events are laid out owner by owner, ``counts[o]`` each."""
    start = np.zeros(counts.size + 1, np.int64)
    for o in range(counts.size):
        start[o + 1] = start[o] + counts[o]
    out = np.full(q_owner.size, np.inf)
    for q in range(q_owner.size):
        o, since = q_owner[q], q_time[q]
        best = np.inf
        for k in range(start[o], start[o + 1]):
            t = times[k]
            if t >= since and t < best:
                best = t
        out[q] = best
    return out


@njit(cache=True)
def group_stock(
    m_clinician: np.ndarray,
    m_group: np.ndarray,
    m_muted: np.ndarray,
    answering: np.ndarray,
    specialty: np.ndarray,
    expertise: np.ndarray,
    n_groups: int,
    n_spec: int,
):
    """Per group and specialty (and per group): the unmuted members of an answering role
    and the sum of their expertise, summed in row order (as ``np.bincount`` does)."""
    count = np.zeros((n_groups, n_spec), np.int64)
    skill = np.zeros((n_groups, n_spec))
    count_all = np.zeros(n_groups, np.int64)
    skill_all = np.zeros(n_groups)
    for r in range(m_clinician.size):
        c = m_clinician[r]
        if m_muted[r] or not answering[c]:
            continue
        g, s, x = m_group[r], specialty[c], np.float64(expertise[c])
        count[g, s] += 1
        skill[g, s] += x
        count_all[g] += 1
        skill_all[g] += x
    return count, skill, count_all, skill_all


@njit(cache=True)
def pick_in_lists(
    indptr: np.ndarray, ids: np.ndarray, offset: np.ndarray, key: np.ndarray, row: np.ndarray, u: np.ndarray
) -> np.ndarray:
    """For each (key, row, u): ``ids[offset[key] + lo + int(u * (hi - lo))]`` with ``lo, hi =
    indptr[key, row], indptr[key, row + 1]``: one of the row's entries of list ``key``,
    chosen by ``u`` in [0, 1) (several CSR lists laid end to end in ``ids``)."""
    out = np.empty(key.size, ids.dtype)
    for i in range(key.size):
        k, r = key[i], row[i]
        lo, hi = indptr[k, r], indptr[k, r + 1]
        out[i] = ids[offset[k] + lo + np.int64(u[i] * (hi - lo))]
    return out
