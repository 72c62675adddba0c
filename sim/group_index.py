"""The membership index kept up to date by the day's changes (compiled, ``nopython``).

:class:`sim.groups.GroupNetwork` keeps its membership rows sorted by (group, clinician) and
derives from them the group index (``g_indptr``: the rows are the members), the clinician
index (``c_indptr``, ``c_groups``: each clinician's groups, ascending) and the muted rows
per group and per clinician (``g_muted``, ``c_muted``). A full rebuild (:func:`sim.kernels.membership_index`) passes over
every row three times, the middle pass scattered over all of them. A day changes few
memberships, so after the first build the indexes are brought up to date from the
memberships added and removed since the last (:func:`update_index`): the group sizes by
their counts, the clinician index by one merge that copies the unchanged runs in blocks
and drops or inserts the changed entries; only the muted counts pass over every row (in
order, so that mutes written into ``m_muted`` directly count too). The results equal the
full rebuild's, element for element (the tests compare both).

No clinician index of membership rows is kept from day to day: a row's number changes
whenever a row before it comes or goes. The kernels that need a clinician's row in a group
find it in the group's members, which are sorted (:func:`row_in_group`,
:func:`membership_row`), or, where many are looked up between two changes, in that index
made for the day (:func:`entry_rows`).
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import ArrayLike

from .kernels import compact_in_place, first_descent, insert_in_place, merge_positions

__all__ = [
    "ROW_SEARCH_SHARE",
    "c_key",
    "cancel_common",
    "clinician_changes",
    "entry_rows",
    "group_sizes",
    "load_kernels",
    "membership_row",
    "merge_tail",
    "muted_counts",
    "row_in_group",
    "unmoderated",
    "up_to_date",
    "update_index",
]


def c_key(clinician: ArrayLike, group: ArrayLike) -> np.ndarray:
    """The clinician-side key of memberships: ``clinician << 32 | group`` (int64; sorted by
    clinician, then group)."""
    return (np.asarray(clinician, np.int64) << 32) | np.asarray(group, np.int64)


def merge_tail(key: np.ndarray, start: int = 0) -> tuple[int, np.ndarray, np.ndarray] | None:
    """How the rows come into the order of ``np.argsort(key, kind="stable")``, or None when
    ``key`` is already sorted (``key[:start]`` is known to be): the leading sorted run (its
    length ``p``) keeps its order; the rest (rows appended since the last rebuild), sorted,
    go to their positions (``tail`` to ``pos``, see :func:`.kernels.insert_in_place`)."""
    first = max(start - 1, 0)
    d = first_descent(key[first:])
    if d < 0:
        return None
    p = first + d
    tail = np.argsort(key[p:], kind="stable") + p
    return p, tail, merge_positions(key, p, tail)


def load_kernels() -> None:
    """Compile (first use after an install) or load the kernels that keep the rows in order
    and the indexes up to date, for each type of column."""
    merged = merge_tail(np.array([1, 0], np.int64))
    assert merged is not None
    for dtype in (np.int64, np.int32, np.int8, np.float32, np.bool_):
        insert_in_place(np.zeros(2, dtype), *merged)
        compact_in_place(np.zeros(2, dtype), np.ones(2, bool))
    a, d = cancel_common(c_key([0, 1], [0, 0]), c_key([0], [0]))
    clinician_changes(np.array([0, 1, 1], np.int64), np.zeros(1, np.int32), a, d)
    group_sizes(np.array([0, 1], np.int64), 1, a, d)
    muted_counts(np.array([0, 1], np.int64), np.zeros(1, bool), np.zeros(1, np.int32), 1)
    unmoderated(np.array([0, 1], np.int64), np.zeros(1, bool))


#: rows looked up (one search each) in a clinician's groups, as a share of every row, past which
#: the clinician -> rows index is made until the indexes change (:func:`entry_rows`): a search
#: costs about what making that index costs for 32 rows
ROW_SEARCH_SHARE = 32
_NO_ROWS = np.zeros(0, np.int32)


def entry_rows(net, lookups: int = 0, always: bool = False) -> np.ndarray:
    """The membership row of each entry of ``net.c_groups`` (``np.argsort(m_clinician,
    kind="stable")`` as int32), kept until the indexes change: made when ``always``, or once
    the rows looked up since they changed (``lookups`` counts more) pass 1/:data:`ROW_SEARCH_SHARE`
    of every row (a network that does not change, as the shared workload's, makes it once);
    else empty, and the kernels search each row (:func:`membership_row`). Either way the rows
    are the same."""
    memo = net._entry_rows
    if memo["version"] != net.version:
        memo.update(version=net.version, rows=None, lookups=0)
    memo["lookups"] += lookups
    if memo["rows"] is None and (always or memo["lookups"] * ROW_SEARCH_SHARE > net.n_rows):
        from .kernels import membership_index

        memo["rows"] = membership_index(net.m_clinician, net.m_group, net.m_muted, net.n_clinicians, net.n_groups)[2]
    return _NO_ROWS if memo["rows"] is None else memo["rows"]


def up_to_date(net, added: list[np.ndarray], removed: list[np.ndarray], full: bool = False) -> tuple:
    """``(g_indptr, c_indptr, c_groups)`` of ``net``'s rows (sorted): from the changes since
    its last indexes (:func:`update_index`) unless ``full`` or there are none yet or the
    changes do not account for the rows; else from every row (one compiled pass,
    :func:`.kernels.membership_index`), whose clinician -> rows index is then kept for the
    indexes about to be made (:func:`entry_rows`)."""
    index = update_index(net, added, removed) if net._indexed and not full else None
    if index is not None:
        return index
    from .kernels import membership_index

    g_indptr, c_indptr, c_rows, c_groups, _ = membership_index(
        net.m_clinician, net.m_group, net.m_muted, net.n_clinicians, net.n_groups
    )
    net._entry_rows = {"version": net.version + 1, "rows": c_rows, "lookups": 0}
    return g_indptr, c_indptr, c_groups


def update_index(net, added: list[np.ndarray], removed: list[np.ndarray]) -> tuple | None:
    """``(g_indptr, c_indptr, c_groups)`` of ``net``'s rows (sorted) from its last indexes and
    the clinician keys (:func:`c_key`) of the memberships ``added`` and ``removed`` since; None
    when those do not account for the rows now held (their count, or a membership removed that
    the index does not hold): a full rebuild is then needed."""
    none = np.zeros(0, np.int64)
    add, drop = cancel_common(
        np.sort(np.concatenate(added)) if added else none, np.sort(np.concatenate(removed)) if removed else none
    )
    n = net.n_rows
    if int(net.c_indptr[-1]) + add.size - drop.size != n:
        return None
    if add.size and (
        add.min() < 0 or (add >> 32).max() >= net.n_clinicians or (add & 0xFFFFFFFF).max() >= net.n_groups
    ):
        raise ValueError("membership index: a row's group or clinician is out of range")
    try:
        c_indptr, c_groups = clinician_changes(net.c_indptr, net.c_groups, add, drop)
    except ValueError:  # a membership removed that the index does not hold
        return None
    g_indptr = group_sizes(net.g_indptr, net.n_groups, add, drop)
    return (g_indptr, c_indptr, c_groups) if int(g_indptr[-1]) == n else None


@njit(cache=True)
def cancel_common(a: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``a`` and ``d`` (sorted, repeats allowed) without what they share, as multisets: a
    membership added and removed since the last index was never in it."""
    keep_a = np.ones(a.size, np.bool_)
    keep_d = np.ones(d.size, np.bool_)
    i, j = 0, 0
    while i < a.size and j < d.size:
        if a[i] < d[j]:
            i += 1
        elif a[i] > d[j]:
            j += 1
        else:
            keep_a[i] = False
            keep_d[j] = False
            i += 1
            j += 1
    return a[keep_a], d[keep_d]


@njit(cache=True)
def clinician_changes(c_indptr: np.ndarray, c_groups: np.ndarray, add: np.ndarray, drop: np.ndarray):
    """The clinician index (``c_indptr``, ``c_groups``) with the memberships ``add`` put in
    and ``drop`` taken out (clinician keys, sorted; each of ``drop`` held, repeats taking
    the next equal entry): new arrays, the unchanged runs copied in blocks."""
    n_old = c_groups.size
    dpos = np.empty(drop.size, np.int64)
    for k in range(drop.size):
        c, g = drop[k] >> 32, drop[k] & 0xFFFFFFFF
        lo, hi = c_indptr[c], c_indptr[c + 1]
        if k > 0 and drop[k] == drop[k - 1]:
            p = dpos[k - 1] + 1
        else:
            p = lo + np.searchsorted(c_groups[lo:hi], g)
        if p >= hi or c_groups[p] != g:
            raise ValueError("membership index: a membership removed is not in the index")
        dpos[k] = p
    apos = np.empty(add.size, np.int64)
    for k in range(add.size):
        c, g = add[k] >> 32, add[k] & 0xFFFFFFFF
        lo, hi = c_indptr[c], c_indptr[c + 1]
        apos[k] = lo + np.searchsorted(c_groups[lo:hi], g)
    out = np.empty(n_old + add.size - drop.size, c_groups.dtype)
    i, o, ia, jd = 0, 0, 0, 0
    while True:
        nxt = n_old
        if ia < add.size and apos[ia] < nxt:
            nxt = apos[ia]
        if jd < drop.size and dpos[jd] < nxt:
            nxt = dpos[jd]
        out[o : o + nxt - i] = c_groups[i:nxt]
        o += nxt - i
        i = nxt
        while ia < add.size and apos[ia] == i:  # before the entry now at i
            out[o] = add[ia] & 0xFFFFFFFF
            o += 1
            ia += 1
        if jd < drop.size and dpos[jd] == i:
            i += 1
            jd += 1
        elif i == n_old:
            break
    # each clinician's start moves by the entries added less those dropped before it
    n = c_indptr.size - 1
    indptr = np.empty(n + 1, np.int64)
    shift, c0, ia, jd = 0, 0, 0, 0
    while ia < add.size or jd < drop.size:
        ca = add[ia] >> 32 if ia < add.size else n
        cd = drop[jd] >> 32 if jd < drop.size else n
        c = min(ca, cd)
        indptr[c0 : c + 1] = c_indptr[c0 : c + 1] + shift
        while ia < add.size and add[ia] >> 32 == c:
            shift += 1
            ia += 1
        while jd < drop.size and drop[jd] >> 32 == c:
            shift -= 1
            jd += 1
        c0 = c + 1
    indptr[c0:] = c_indptr[c0:] + shift
    return indptr, out


@njit(cache=True)
def group_sizes(g_indptr: np.ndarray, n_groups: int, add: np.ndarray, drop: np.ndarray) -> np.ndarray:
    """The group index (``g_indptr`` of ``n_groups`` groups, some perhaps new) with the
    memberships ``add`` put in and ``drop`` taken out (clinician keys)."""
    size = np.zeros(n_groups, np.int64)
    for g in range(g_indptr.size - 1):
        size[g] = g_indptr[g + 1] - g_indptr[g]
    for k in range(add.size):
        size[add[k] & 0xFFFFFFFF] += 1
    for k in range(drop.size):
        size[drop[k] & 0xFFFFFFFF] -= 1
    out = np.zeros(n_groups + 1, np.int64)
    for g in range(n_groups):
        out[g + 1] = out[g] + size[g]
    return out


@njit(cache=True)
def muted_counts(g_indptr: np.ndarray, m_muted: np.ndarray, m_clinician: np.ndarray, n_clinicians: int):
    """The muted rows of each group (as ``np.bincount(m_group[m_muted])``, the rows sorted by
    group) and of each clinician (int32): one pass in order."""
    g_muted = np.zeros(g_indptr.size - 1, np.int64)
    c_muted = np.zeros(n_clinicians, np.int32)
    for g in range(g_muted.size):
        s = 0
        for r in range(g_indptr[g], g_indptr[g + 1]):
            if m_muted[r]:
                s += 1
                c_muted[m_clinician[r]] += 1
        g_muted[g] = s
    return g_muted, c_muted


@njit(cache=True)
def unmoderated(g_indptr: np.ndarray, m_moderator: np.ndarray) -> np.ndarray:
    """The groups with members and no moderator, ascending (as ``np.flatnonzero((sizes > 0) &
    (np.bincount(m_group[m_moderator]) == 0))``, the rows sorted by group): each group's rows
    read up to its first moderator."""
    out = np.empty(g_indptr.size - 1, np.int64)
    k = 0
    for g in range(out.size):
        lo, hi = g_indptr[g], g_indptr[g + 1]
        if lo == hi:
            continue
        r = lo
        while r < hi and not m_moderator[r]:
            r += 1
        if r == hi:
            out[k] = g
            k += 1
    return out[:k].copy()


@njit(cache=True)
def row_in_group(g_indptr: np.ndarray, g_members: np.ndarray, g: int, c: int) -> int:
    """The first membership row of clinician ``c`` in group ``g``, or -1: a binary search of
    the group's members (sorted)."""
    lo, hi = g_indptr[g], g_indptr[g + 1]
    end = hi
    while lo < hi:  # the first member >= c
        mid = (lo + hi) >> 1
        if g_members[mid] < c:
            lo = mid + 1
        else:
            hi = mid
    return lo if lo < end and g_members[lo] == c else -1


@njit(cache=True)
def membership_row(c_indptr, c_groups, g_indptr, g_members, c: int, e: int) -> int:
    """The membership row of entry ``e`` of clinician ``c``'s groups (``c_groups[e]``): as
    ``np.argsort(m_clinician, kind="stable")[e]``, the k-th entry of a group repeated in
    the clinician's list being the k-th row of the clinician in that group."""
    g = c_groups[e]
    k = 0
    j = e - 1
    while j >= c_indptr[c] and c_groups[j] == g:
        k += 1
        j -= 1
    return row_in_group(g_indptr, g_members, g, c) + k
