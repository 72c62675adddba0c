"""Compiled helpers shared by the model's data structures (numba, ``nopython``).

Imported when a model is built (never by ``import sim``): the membership index is built
with :func:`membership_index` (and then brought up to date by :mod:`sim.group_index`), its
rows kept in order in place with :func:`first_descent`,
:func:`merge_positions`, :func:`insert_in_place` and :func:`compact_in_place` (runs of rows
moved whole by :func:`move_rows`, one ``memmove``); the distinct clinicians of a list (:class:`DistinctIds`) by
:func:`unique_inverse` or :func:`unique_inverse_bits`; a sorted list of clinicians kept up to date by
:func:`merge_where`. ``kernel.py_func`` is the same code run by the
interpreter; the tests check that both give the same results as the numpy they replace.
Compiled code is cached next to this file (``cache=True``).
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic, overload
from numba.np.arrayobj import make_array

__all__ = [
    "DistinctIds",
    "close_gaps",
    "compact_in_place",
    "distinct_bits",
    "first_descent",
    "insert_in_place",
    "membership_index",
    "merge_positions",
    "merge_where",
    "move_rows",
    "pick_where",
    "unique_inverse",
    "unique_inverse_bits",
]


@njit(cache=True)
def pick_where(cond: np.ndarray, a: np.ndarray, b: np.ndarray, who: np.ndarray) -> np.ndarray:
    """``np.where(cond[who], a[who], b[who])`` in one pass (``a`` and ``b`` of one dtype)."""
    out = np.empty(who.size, a.dtype)
    for i in range(who.size):
        w = who[i]
        out[i] = a[w] if cond[w] else b[w]
    return out


def move_rows(col: np.ndarray, dst: int, src: int, count: int) -> None:
    """``col[dst : dst + count] = col[src : src + count]``, the two ranges possibly
    overlapping: compiled, one ``memmove`` of a contiguous column (numba's slice assignment
    copies an overlapping source into a new array first: twice the memory traffic, and an
    allocation per move)."""
    col[dst : dst + count] = col[src : src + count].copy()


@intrinsic
def _memmove_rows(typingctx, col, dst, src, count):
    """The ``memmove`` of :func:`move_rows` (a 1-d C-contiguous array; the caller keeps the
    ranges inside it)."""
    sig = types.void(col, types.intp, types.intp, types.intp)

    def codegen(context, builder, signature, args):
        arr = make_array(signature.args[0])(context, builder, value=args[0])
        itemsize = context.get_abi_sizeof(context.get_data_type(signature.args[0].dtype))
        to, frm = cgutils.gep(builder, arr.data, args[1]), cgutils.gep(builder, arr.data, args[2])
        cgutils.raw_memmove(builder, to, frm, args[3], itemsize)
        return context.get_dummy_value()

    return sig, codegen


@overload(move_rows)
def _move_rows_compiled(col, dst, src, count):
    if isinstance(col, types.Array) and col.ndim == 1 and col.layout == "C":

        def impl(col, dst, src, count):
            if count > 0:
                _memmove_rows(col, dst, src, count)

        return impl

    def impl_any(col, dst, src, count):  # (another layout: numba's slice assignment)
        col[dst : dst + count] = col[src : src + count]

    return impl_any


@njit(cache=True)
def close_gaps(col: np.ndarray, gone: np.ndarray, n: int) -> int:
    """Move the rows of ``col[:n]`` that are not at the positions ``gone`` (ascending,
    distinct) to its front, in order, a run between two of them at a time
    (:func:`move_rows`); returns how many rows stay."""
    m = gone[0] if gone.size else n
    for r in range(gone.size):
        i = gone[r] + 1
        j = gone[r + 1] if r + 1 < gone.size else n
        move_rows(col, m, i, j - i)
        m += j - i
    return m


#: ``compact_in_place`` moves the kept runs whole when fewer than one row in this many goes
SPARSE_DROP = 64
_ALL_KEPT = np.uint64(0x0101010101010101)  # eight bools, all True, read as one word


def dropped_rows(keep: np.ndarray, limit: int) -> tuple[np.ndarray, bool]:
    """The rows where ``keep`` is False, in order, and True; or (none, False) when there
    are more than ``limit``. Compiled, a contiguous mask is read eight rows to a word
    and the words all kept are passed over (a loop the compiler vectorizes)."""
    gone = np.flatnonzero(~keep)
    return (gone, True) if gone.size <= limit else (gone[:0], False)


@njit(cache=True)
def _collect_dropped(keep, out, k, lo, hi, limit):
    """Append the rows ``[lo, hi)`` where ``keep`` is False to ``out[:k]``; -1 past ``limit``."""
    for i in range(lo, hi):
        if not keep[i]:
            if k == limit:
                return -1
            out[k] = i
            k += 1
    return k


@overload(dropped_rows)
def _dropped_rows_compiled(keep, limit):
    contiguous = isinstance(keep, types.Array) and keep.ndim == 1 and keep.layout == "C"

    def impl(keep, limit):
        n = keep.size
        out = np.empty(limit, np.int64)
        k = 0
        head = n - n % 8 if contiguous else 0
        if head:
            words = keep[:head].view(np.uint64)
            for w in range(words.size):
                if words[w] != _ALL_KEPT:
                    k = _collect_dropped(keep, out, k, 8 * w, 8 * w + 8, limit)
                    if k < 0:
                        return out[:0], False
        k = _collect_dropped(keep, out, k, head, n, limit)
        if k < 0:
            return out[:0], False
        return out[:k], True

    return impl


@njit(cache=True)
def compact_in_place(col: np.ndarray, keep: np.ndarray) -> int:
    """Move the rows ``keep`` (bool per row) of ``col`` to its front, in order (as
    ``col[keep]``, without a new array); returns how many; the rows after the kept ones
    are left as they fall. When few rows go (under one in :data:`SPARSE_DROP`: a network
    losing some memberships a day), the runs kept between them move whole
    (:func:`move_rows`); else every row is written where the next kept one goes (no
    branch: a mask of mixed rows costs no mispredictions)."""
    n = keep.size
    gone, sparse = dropped_rows(keep, n // SPARSE_DROP)
    if sparse:
        return close_gaps(col, gone, n)
    m = 0
    for i in range(n):
        col[m] = col[i]
        m += keep[i]
    return m


@njit(cache=True)
def merge_positions(key: np.ndarray, p: int, tail: np.ndarray) -> np.ndarray:
    """Where the rows ``tail`` (the rows from ``p`` on, in stable order of ``key``) go when
    they are merged into the sorted run ``key[:p]``, each after the run's rows of an equal
    key: their positions in ``np.argsort(key, kind="stable")`` (ascending), found by binary
    search, without the order of every row."""
    out = np.empty(tail.size, np.int64)
    i = 0
    for j in range(tail.size):
        i += np.searchsorted(key[i:p], key[tail[j]], side="right")
        out[j] = i + j
    return out


@njit(cache=True)
def insert_in_place(col: np.ndarray, p: int, tail: np.ndarray, pos: np.ndarray) -> None:
    """Put ``col`` in the merged order of :func:`merge_positions` where it is: the rows
    ``tail`` go to ``pos``, the first ``p`` rows keep their order and move towards the end
    by the count of tail rows before them (from the last, so none is overwritten before it
    is moved)."""
    vals = np.empty(tail.size, col.dtype)
    for j in range(tail.size):
        vals[j] = col[tail[j]]
    hi = p
    for j in range(tail.size - 1, -1, -1):
        lo = pos[j] - j  # the run's rows [lo, hi) go after the tail row j
        if hi > lo:  # a block move
            move_rows(col, lo + j + 1, lo, hi - lo)
        col[pos[j]] = vals[j]
        hi = lo


@njit(cache=True)
def first_descent(key: np.ndarray) -> int:
    """The first ``i`` with ``key[i] < key[i - 1]`` (the end of the leading sorted run), or -1."""
    for i in range(1, key.size):
        if key[i] < key[i - 1]:
            return i
    return -1


@njit(cache=True)
def membership_index(
    m_clinician: np.ndarray, m_group: np.ndarray, m_muted: np.ndarray, n_clinicians: int, n_groups: int
):
    """The derived indexes of membership rows sorted by group: ``g_indptr`` (as the cumsum of
    ``np.bincount(m_group)``), ``c_indptr`` and ``c_rows`` (the CSR of the clinicians and
    ``np.argsort(m_clinician, kind="stable")`` as int32), ``c_groups`` (``m_group[c_rows]``) and ``g_muted``
    (``np.bincount(m_group[m_muted])``): a pass over the rows to count, one to place each
    row in its clinician's slice (the one scattered pass: its cursors are int32, half the
    cache of int64), and ``c_groups`` gathered in order."""
    g_indptr = np.zeros(n_groups + 1, np.int64)
    g_muted = np.zeros(n_groups, np.int64)
    per_clinician = np.zeros(n_clinicians, np.int32)
    if m_group.size and (
        m_group.min() < 0 or m_group.max() >= n_groups or m_clinician.min() < 0 or m_clinician.max() >= n_clinicians
    ):
        raise ValueError("membership_index: a row's group or clinician is out of range")
    for r in range(m_group.size):
        g, c = m_group[r], m_clinician[r]
        g_indptr[g + 1] += 1
        if m_muted[r]:
            g_muted[g] += 1
        per_clinician[c] += 1
    for i in range(n_groups):
        g_indptr[i + 1] += g_indptr[i]
    c_indptr = np.zeros(n_clinicians + 1, np.int64)
    fill = np.empty(n_clinicians, np.int32)  # rows are int32 (c_rows)
    for i in range(n_clinicians):
        fill[i] = c_indptr[i]
        c_indptr[i + 1] = c_indptr[i] + per_clinician[i]
    c_rows = np.empty(m_group.size, np.int32)
    for r in range(m_group.size):
        c = m_clinician[r]
        c_rows[fill[c]] = r
        fill[c] += 1
    c_groups = np.empty(m_group.size, m_group.dtype)
    for i in range(c_rows.size):
        c_groups[i] = m_group[c_rows[i]]
    return g_indptr, c_indptr, c_rows, c_groups, g_muted


@njit(cache=True)
def merge_where(a: np.ndarray, b: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """The values of ``a`` and of ``b`` (each ascending, repeats allowed) at which ``keep``
    (bool, indexed by value) is true, ascending and each once: ``np.flatnonzero(keep)``
    when every true value is in ``a`` or ``b``, in one pass over the two lists rather
    than over ``keep``."""
    out = np.empty(a.size + b.size, np.int64)
    na, nb = a.size, b.size
    i = 0
    k = 0
    n = 0
    last = -1
    # free of branches on the values: every value is written, and kept (n advances) when
    # new and true in ``keep``; equal heads advance both lists
    while i < na and k < nb:
        x, y = a[i], b[k]
        v = min(x, y)
        i += x <= y
        k += y <= x
        out[n] = v
        n += (v != last) & keep[v]
        last = v
    for rest, start in ((a, i), (b, k)):
        for q in range(start, rest.size):
            v = rest[q]
            out[n] = v
            n += (v != last) & keep[v]
            last = v
    return out[:n].copy()


@njit(cache=True)
def unique_inverse(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)``: the distinct values, sorted, and the
    position of each value among them."""
    inv = np.empty(values.size, np.int64)
    if values.size == 0:
        return values.copy(), inv
    order = np.argsort(values)  # equal values get the same position: the sort need not be stable
    uniq = np.empty(values.size, values.dtype)
    k = -1
    for i in range(order.size):
        v = values[order[i]]
        if k < 0 or v != uniq[k]:
            k += 1
            uniq[k] = v
        inv[order[i]] = k
    return uniq[: k + 1].copy(), inv


#: ``x & -x`` (the lowest set bit of a uint64) times this has the bit's index in its top six
#: bits, each index once (a De Bruijn sequence): :data:`_LOWEST_BIT` maps them back
_DE_BRUIJN = np.uint64(0x022FDD63CC95386D)
_LOWEST_BIT = np.zeros(64, np.int64)
for _i in range(64):
    _LOWEST_BIT[((1 << _i) * int(_DE_BRUIJN) % (1 << 64)) >> 58] = _i
assert sorted(_LOWEST_BIT.tolist()) == list(range(64))


@njit(cache=True)
def unique_inverse_bits(values: np.ndarray, words: np.ndarray, slot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`unique_inverse` of values in ``[0, 64 * words.size)`` without a sort: each
    value sets its bit in ``words`` (uint64, all zero on entry and left so), and a pass over
    the words visits the set bits in order (a word at a time: 64 ids for one test), giving
    each distinct value its position; ``slot`` (ints, one per id) is scratch."""
    uniq = distinct_bits(values, words, slot)
    inv = np.empty(values.size, np.int64)
    for i in range(values.size):
        inv[i] = slot[values[i]]
    return uniq, inv


@njit(cache=True)
def distinct_bits(values: np.ndarray, words: np.ndarray, slot: np.ndarray) -> np.ndarray:
    """The distinct values of :func:`unique_inverse_bits`, sorted, each value's position
    among them left in ``slot[value]`` (no inverse array: a caller with many values looks
    their positions up there)."""
    one = np.uint64(1)
    for i in range(values.size):
        v = values[i]
        words[v >> 6] |= one << np.uint64(v & 63)
    uniq = np.empty(values.size, values.dtype)
    k = 0
    for w in range(words.size):
        x = words[w]
        if x == 0:
            continue
        words[w] = 0
        while x:
            v = (w << 6) + _LOWEST_BIT[((x & (~x + one)) * _DE_BRUIJN) >> np.uint64(58)]
            slot[v] = k
            uniq[k] = v
            k += 1
            x &= x - one
    return uniq[:k].copy()


#: a list of ids at least ``1 / DENSE_UNIQUE_RATIO`` as long as the range is made distinct by a
#: pass over the range's bits (a word per 64 ids) rather than by a sort
DENSE_UNIQUE_RATIO = 1024


class DistinctIds:
    """``np.unique(who, return_inverse=True)`` of ids in ``[0, n)`` (clinicians): by a pass
    over the range's bits when the ids are not few next to it (no sort; the scratch is
    kept), else by a sort."""

    def __init__(self, n: int) -> None:
        self.n = n
        self._words = np.zeros(0, np.uint64)
        self._slot = np.zeros(0, np.int32)

    def __call__(self, who: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if who.size * DENSE_UNIQUE_RATIO < self.n:
            return unique_inverse(who)
        return unique_inverse_bits(who, *self.scratch())

    def scratch(self) -> tuple[np.ndarray, np.ndarray]:
        """The bits (``uint64``, all zero) and the slots (one per id) of the pass over the
        range, for a kernel that makes ids distinct itself (the slots' size is the range)."""
        if self._slot.size != self.n:
            self._words, self._slot = np.zeros(self.n // 64 + 1, np.uint64), np.empty(self.n, np.int32)
        return self._words, self._slot
