"""Compiled look-ups of pairwise trust (numba, ``nopython``).

:func:`trust_values` and :func:`prior_means` give per pair what
:meth:`.process.TrustProcess.value` and :meth:`.process.TrustProcess.prior` computed with
numpy in many small passes per call (several calls per step): the same comparisons and the
same arithmetic in the same order (additions, products and divisions only, so the results
are bit-identical), one pass over the pairs. The entries are found in a hash table of their
keys (:func:`new_table`, :func:`add_entries`, :func:`find_entries`), one or two probes a
look-up where a binary search of a sorted index took a cache miss per level. The tests
compare each with the numpy it replaced. Compiled code is cached next to this file
(``cache=True``).

Their arguments, after the pairs (int64 arrays ``reader``, ``sender``, ``group``; -1: 1-on-1):

* ``ties``: what the tie of a pair is made of: ``(facility, fac_parent, event_basis, g_basis,
  g_indptr, g_members, m_inviter)`` (the clinicians' facilities, the facilities' parents,
  whether each group basis met in person, the groups' bases, the network's group -> members
  index and the rows' inviters);
* ``store``: the entries, as the process keeps them: ``(table, alpha, beta)``, the hash table
  of their keys (``reader * n + sender``, see :func:`add_entries`) and their counts;
* ``params``: ``(n, invited, initial_formal, initial_event, initial_introduced,
  vouch_weight)``, ``invited`` whether any membership came by invitation.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ...group_index import row_in_group

__all__ = ["add_answers", "add_entries", "distinct_keys", "find_entries", "new_table", "prior_means", "trust_values"]

#: the tie codes (:data:`.config.TIES`)
FORMAL, INTRODUCED, EVENT = 0, 1, 2


#: a hash table's slots: ``[key, entry id]`` rows, the key -1 where the slot is empty; it
#: holds at most half as many keys as slots (a look-up probes one or two slots)
EMPTY = -1
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: the key times 2^64 / phi


def new_table(slots: int) -> np.ndarray:
    """An empty hash table of ``slots`` (a power of two) slots."""
    if slots < 2 or slots & (slots - 1):
        raise ValueError(f"new_table: the slots must be a power of two, got {slots}")
    return np.full((slots, 2), EMPTY, np.int64)


@njit(cache=True, inline="always")
def _shift(table: np.ndarray) -> np.uint64:
    """64 - log2(slots): the top bits of a product give the slot."""
    b = 0
    while (1 << b) < table.shape[0]:
        b += 1
    return np.uint64(64 - b)


@njit(cache=True, inline="always")
def _entry(table: np.ndarray, shift: np.uint64, key: int) -> int:
    """The entry id of ``key`` (>= 0), -1 when it has none: linear probing from the top bits
    of key x 2^64/phi."""
    mask = np.int64(table.shape[0] - 1)
    j = np.int64((np.uint64(key) * _GOLDEN) >> shift)
    while True:
        k = table[j, 0]
        if k == key:
            return table[j, 1]
        if k == EMPTY:
            return -1
        j = (j + 1) & mask


@njit(cache=True)
def find_entries(table: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """The entry id of each key, -1 where there is none."""
    shift = _shift(table)
    out = np.empty(keys.size, np.int64)
    for i in range(keys.size):
        out[i] = _entry(table, shift, keys[i])
    return out


@njit(cache=True)
def distinct_keys(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.unique(keys, return_index=True, return_inverse=True)``: the distinct keys, sorted,
    the position of each one's first occurrence, and each key's position among them (one
    stable sort; numpy's own costs many times a short array's sort)."""
    n = keys.size
    order = np.argsort(keys, kind="mergesort")  # stable: the first of equal keys comes first
    distinct = np.empty(n, keys.dtype)
    first = np.empty(n, np.int64)
    which = np.empty(n, np.int64)
    k = -1
    for i in range(n):
        v = keys[order[i]]
        if k < 0 or v != distinct[k]:
            k += 1
            distinct[k] = v
            first[k] = order[i]
        which[order[i]] = k
    return distinct[: k + 1].copy(), first[: k + 1].copy(), which


@njit(cache=True)
def add_answers(idx, correct, gain, alpha, beta, right, wrong) -> None:
    """Answer ``i`` (right where ``correct``) to entry ``idx[i]``: ``alpha`` or ``beta`` gains
    ``gain`` and ``right`` or ``wrong`` one, in order (as ``np.add.at`` of ``gain * correct``,
    ``gain * ~correct`` and the counts: the same additions in the same order)."""
    for i in range(idx.size):
        e = idx[i]
        c = correct[i]
        alpha[e] += gain * c
        beta[e] += gain * (not c)
        right[e] += c
        wrong[e] += not c


@njit(cache=True)
def _insert(table: np.ndarray, keys: np.ndarray, ids: np.ndarray) -> None:
    shift, mask = _shift(table), np.int64(table.shape[0] - 1)
    for i in range(keys.size):
        j = np.int64((np.uint64(keys[i]) * _GOLDEN) >> shift)
        while table[j, 0] != EMPTY and table[j, 0] != keys[i]:
            j = (j + 1) & mask
        table[j, 0], table[j, 1] = keys[i], ids[i]


def add_entries(table: np.ndarray, keys: np.ndarray, ids: np.ndarray, all_keys: np.ndarray) -> np.ndarray:
    """The table with the new entries ``ids`` of ``keys`` (keys >= 0, none held yet): the same
    table, or, when it would pass half full, a table of twice as many slots (or more) made
    from ``all_keys``, the keys of every entry by id (those of ``keys`` included)."""
    held = all_keys.size - keys.size
    if 2 * (held + keys.size) > table.shape[0]:
        slots = table.shape[0]
        while 2 * all_keys.size > slots:
            slots *= 2
        table = new_table(slots)
        _insert(table, all_keys, np.arange(all_keys.size, dtype=np.int64))
    else:
        _insert(table, keys, ids)
    return table


@njit(cache=True)
def _pairs(reader, sender, group, ties, store, params, stored_first: bool):
    """(tie, value) of each pair: with ``stored_first``, the stored trust where the pair has an
    entry (its tie then -1), else the prior mean and its tie. One loop, the tuples unpacked
    once (a helper taking them per pair would pay for them per pair)."""
    facility, fac_parent, event_basis, g_basis, g_indptr, g_members, m_inviter = ties
    table, alpha, beta = store
    shift = _shift(table)
    n, invited, formal, event_mean, introduced, vouch = params
    m = reader.size
    tie, value = np.empty(m, np.int8), np.empty(m)
    for i in range(m):
        r, s, g = reader[i], sender[i], group[i]
        if stored_first:
            e = _entry(table, shift, r * n + s)
            if e >= 0:
                tie[i], value[i] = -1, alpha[e] / (alpha[e] + beta[e])
                continue
        # formal by facility: same facility, or one facility the other's parent; else an
        # event tie when met 1-on-1 or in a group of an event basis
        fr, fs = facility[r], facility[s]
        by_facility = fr == fs or fac_parent[fr] == fs or fac_parent[fs] == fr
        event = (g < 0 or event_basis[g_basis[g]]) and not by_facility
        tie[i], value[i] = (EVENT, event_mean) if event else (FORMAL, formal)
        if not invited or g < 0 or by_facility:
            continue
        # introduced: one of them joined the group by invitation (each one's first row in it)
        row_r, row_s = row_in_group(g_indptr, g_members, g, r), row_in_group(g_indptr, g_members, g, s)
        inv_r = m_inviter[row_r] if row_r >= 0 else -1
        inv_s = m_inviter[row_s] if row_s >= 0 else -1
        if inv_r < 0 and inv_s < 0:
            continue
        # the voucher's trust: the inviter's in the sender, or the reader's in the inviter
        vr = inv_r if inv_r >= 0 else r
        vs = s if inv_r >= 0 else inv_s
        e = _entry(table, shift, vr * n + vs)
        if e >= 0:
            t_v = alpha[e] / (alpha[e] + beta[e])
        else:
            fr, fs = facility[vr], facility[vs]
            v_formal = fr == fs or fac_parent[fr] == fs or fac_parent[fs] == fr
            t_v = event_mean if (g < 0 or event_basis[g_basis[g]]) and not v_formal else formal
        tie[i], value[i] = INTRODUCED, introduced + vouch * (t_v - introduced)
    return tie, value


@njit(cache=True)
def prior_means(reader, sender, group, ties, store, params):
    """(tie, prior mean) of each ordered pair met through ``group``, as
    :meth:`.process.TrustProcess.prior`."""
    return _pairs(reader, sender, group, ties, store, params, False)


@njit(cache=True)
def trust_values(reader, sender, group, ties, store, params):
    """Trust of each reader in each sender: the stored value, else the prior mean of the
    pair in its context, as :meth:`.process.TrustProcess.value`."""
    return _pairs(reader, sender, group, ties, store, params, True)[1]
