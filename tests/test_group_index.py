"""The membership index brought up to date by the day's changes equals the one rebuilt from
every row (:mod:`sim.group_index`).

Each kernel is compared, compiled and interpreted (``py_func``), with the numpy it stands
for, on random memberships with repeats (a clinician twice in a group); then a network is
changed day after day (appends, removals, mutes through ``mute`` and written directly,
new groups) and each day's indexes are compared with a full rebuild.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from sim.group_index import (
    c_key,
    cancel_common,
    clinician_changes,
    group_sizes,
    membership_row,
    muted_counts,
    row_in_group,
    unmoderated,
)
from sim.groups import GroupNetwork
from sim.kernels import membership_index


def _both(kernel):
    return (kernel, kernel.py_func)


def _csr(keys: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The clinician index of the memberships ``keys`` (clinician keys, any order)."""
    keys = np.sort(keys)
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(keys >> 32, minlength=n), out=indptr[1:])
    return indptr, (keys & 0xFFFFFFFF).astype(np.int32)


def _multiset(keys: np.ndarray) -> Counter:
    return Counter(keys.tolist())


@pytest.mark.parametrize("kernel", _both(cancel_common))
def test_cancel_common_is_the_multiset_difference(kernel):
    rng = np.random.default_rng(1)
    for _ in range(200):
        a = np.sort(rng.integers(0, 12, rng.integers(0, 15))).astype(np.int64)
        d = np.sort(rng.integers(0, 12, rng.integers(0, 15))).astype(np.int64)
        got_a, got_d = kernel(a, d)
        ma, md = _multiset(a), _multiset(d)
        assert _multiset(got_a) == ma - md and _multiset(got_d) == md - ma
        assert (np.diff(got_a) >= 0).all() and (np.diff(got_d) >= 0).all()


@pytest.mark.parametrize("kernel", _both(clinician_changes))
def test_clinician_changes_equal_the_index_of_the_changed_memberships(kernel):
    """Entries dropped (each held; repeats take the next equal one) and added (before, among
    or after the held ones; at the first and the last clinician) give the index of the
    memberships that remain."""
    rng = np.random.default_rng(2)
    for _ in range(300):
        n, n_groups = int(rng.integers(1, 12)), int(rng.integers(1, 9))
        rows = int(rng.integers(0, 40))
        old = np.sort(c_key(rng.integers(0, n, rows), rng.integers(0, n_groups, rows)))  # repeats too
        indptr, groups = _csr(old, n)
        drop = np.sort(rng.choice(old, int(rng.integers(0, old.size + 1)), replace=False)) if old.size else old
        k = int(rng.integers(0, 10))
        add = np.sort(c_key(rng.integers(0, n, k), rng.integers(0, n_groups, k)))
        got_indptr, got_groups = kernel(indptr, groups, add, drop)
        want = _multiset(old) - _multiset(drop) + _multiset(add)
        want_indptr, want_groups = _csr(np.array(sorted(want.elements()), np.int64), n)
        assert np.array_equal(got_indptr, want_indptr) and got_indptr.dtype == want_indptr.dtype
        assert np.array_equal(got_groups, want_groups) and got_groups.dtype == np.int32


@pytest.mark.parametrize("kernel", _both(clinician_changes))
def test_clinician_changes_refuse_a_membership_not_held(kernel):
    indptr, groups = _csr(c_key([0, 1], [2, 3]), 2)
    with pytest.raises(ValueError, match="not in the index"):
        kernel(indptr, groups, np.zeros(0, np.int64), c_key([1], [2]))


@pytest.mark.parametrize("kernel", _both(group_sizes))
def test_group_sizes_follow_the_changes_and_the_new_groups(kernel):
    rng = np.random.default_rng(3)
    for _ in range(100):
        n_groups, extra = int(rng.integers(1, 10)), int(rng.integers(0, 3))
        rows = int(rng.integers(0, 50))
        old = c_key(rng.integers(0, 20, rows), rng.integers(0, n_groups, rows))
        g_indptr = np.r_[0, np.cumsum(np.bincount(old & 0xFFFFFFFF, minlength=n_groups))].astype(np.int64)
        drop = rng.choice(old, int(rng.integers(0, rows + 1)), replace=False) if rows else old
        k = int(rng.integers(0, 8))
        add = c_key(rng.integers(0, 20, k), rng.integers(0, n_groups + extra, k))
        got = kernel(g_indptr, n_groups + extra, np.sort(add), np.sort(drop))
        sizes = np.bincount(old & 0xFFFFFFFF, minlength=n_groups + extra) + np.bincount(
            add & 0xFFFFFFFF, minlength=n_groups + extra
        )
        sizes -= np.bincount(drop & 0xFFFFFFFF, minlength=n_groups + extra)
        assert np.array_equal(got, np.r_[0, np.cumsum(sizes)]) and got.dtype == np.int64


def _rows(rng, n, n_groups, rows, share):
    """Membership rows sorted by (group, clinician), repeats allowed: their clinicians, groups,
    the group index, and a flag per row set with probability ``share``."""
    key = np.sort(rng.integers(0, n_groups, rows) * n + rng.integers(0, n, rows))
    group = (key // n).astype(np.int32)
    g_indptr = np.r_[0, np.cumsum(np.bincount(group, minlength=n_groups))].astype(np.int64)
    return (key % n).astype(np.int32), group, g_indptr, rng.random(rows) < share


@pytest.mark.parametrize("kernel", _both(muted_counts))
def test_muted_counts_are_the_bincounts(kernel):
    rng = np.random.default_rng(4)
    for n, n_groups, rows in ((3, 2, 0), (20, 6, 80), (200, 30, 900)):
        clin, group, g_indptr, muted = _rows(rng, n, n_groups, rows, 0.3)
        g_muted, c_muted = kernel(g_indptr, muted, clin, n)
        assert np.array_equal(g_muted, np.bincount(group[muted], minlength=n_groups)) and g_muted.dtype == np.int64
        assert np.array_equal(c_muted, np.bincount(clin[muted], minlength=n)) and c_muted.dtype == np.int32


@pytest.mark.parametrize("kernel", _both(unmoderated))
def test_unmoderated_are_the_groups_with_members_and_no_moderator(kernel):
    rng = np.random.default_rng(7)
    for n, n_groups, rows in ((3, 2, 0), (20, 12, 40), (200, 60, 900)):
        clin, group, g_indptr, moderator = _rows(rng, n, n_groups, rows, 0.15)
        sizes = np.diff(g_indptr)
        want = np.flatnonzero((sizes > 0) & (np.bincount(group[moderator], minlength=n_groups) == 0))
        got = kernel(g_indptr, moderator)
        assert np.array_equal(got, want) and got.dtype == np.int64


@pytest.mark.parametrize("find", _both(membership_row))
@pytest.mark.parametrize("first", _both(row_in_group))
def test_rows_found_in_the_groups_are_those_of_the_stable_argsort(find, first):
    """Every entry of every clinician's groups finds the row ``c_rows`` gives it (the k-th of
    a repeated group the k-th row); a clinician not in a group finds none."""
    rng = np.random.default_rng(5)
    for n, n_groups, rows in ((4, 2, 6), (30, 8, 120), (100, 40, 600)):
        clin, group, _, _ = _rows(rng, n, n_groups, rows, 0.0)
        g_indptr, c_indptr, c_rows, c_groups, _ = membership_index(clin, group, np.zeros(rows, bool), n, n_groups)
        for c in range(n):
            for e in range(c_indptr[c], c_indptr[c + 1]):
                assert find(c_indptr, c_groups, g_indptr, clin, c, e) == c_rows[e]
        for _ in range(50):
            c, g = int(rng.integers(0, n)), int(rng.integers(0, n_groups))
            hit = np.flatnonzero((clin == c) & (group == g))
            assert first(g_indptr, clin, g, c) == (hit[0] if hit.size else -1)


def _check_index(net: GroupNetwork) -> None:
    """The network's indexes equal those rebuilt from its rows."""
    g_indptr, c_indptr, c_rows, c_groups, g_muted = membership_index(
        net.m_clinician, net.m_group, net.m_muted, net.n_clinicians, net.n_groups
    )
    for got, want in (
        (net.g_indptr, g_indptr),
        (net.c_indptr, c_indptr),
        (net.c_groups, c_groups),
        (net.g_muted, g_muted),
        (net.c_rows, c_rows),
        (net.c_muted, np.bincount(net.m_clinician[net.m_muted], minlength=net.n_clinicians).astype(np.int32)),
    ):
        assert np.array_equal(got, want) and got.dtype == want.dtype


def _network(rng, n: int, n_groups: int, rows: int, muted_share: float) -> GroupNetwork:
    """A network of random memberships (repeats too), a share of them muted."""
    return GroupNetwork(
        n,
        m_clinician=rng.integers(0, n, rows).astype(np.int32),
        m_group=rng.integers(0, n_groups, rows).astype(np.int32),
        m_moderator=np.zeros(rows, bool),
        m_joined=np.zeros(rows, np.float32),
        m_via=np.zeros(rows, np.int8),
        m_muted=rng.random(rows) < muted_share,
        g_basis=np.zeros(n_groups, np.int8),
        g_created=np.zeros(n_groups, np.float32),
    )


def test_indexes_kept_up_to_date_equal_the_full_rebuild():
    """Thirty days of changes to a network with repeated memberships: appends (new groups
    among them), removals (of rows appended the same day, too), mutes through ``mute`` and
    written directly. After each rebuild the indexes equal the full rebuild's; between
    ``mute`` and the rebuild, a clinician with a muted row is counted at least once."""
    rng = np.random.default_rng(6)
    n = 200
    net = _network(rng, n, 30, 900, muted_share=0.1)
    _check_index(net)

    def from_every_row() -> bool:  # the full rebuild keeps its clinician -> rows index for the day
        return net.__dict__["_entry_rows"]["version"] == net.version and net.__dict__["_entry_rows"]["rows"] is not None

    for day in range(30):
        if day % 5 == 2:
            net.new_groups(0, day, 2)
        k = int(rng.integers(0, 60))
        clin, group = rng.integers(0, n, k).astype(np.int32), rng.integers(0, net.n_groups, k).astype(np.int32)
        net._append(clin, group, np.zeros(k, bool), np.full(k, day, np.float32), np.ones(k, np.int8))
        mute = rng.choice(net.n_rows, 8, replace=False)
        if day % 2:
            if day % 4 == 1:  # the rows as a mask
                mute = np.isin(np.arange(net.n_rows), mute)
            net.mute(mute)
            muted = np.bincount(net.m_clinician[net.m_muted], minlength=n)
            assert (net.c_muted[muted > 0] > 0).all()  # counted at once
        else:
            net.m_muted[mute] = True  # written directly: counted at the rebuild
        net.remove_rows(rng.choice(net.n_rows, int(rng.integers(0, 40)), replace=False), reindex=False)
        net.reindex()
        assert not from_every_row()
        _check_index(net)
    net.reindex(full=True)  # rebuilt from every row: the same
    assert from_every_row()
    _check_index(net)


def test_rows_of_the_clinicians_groups_are_made_once_enough_were_looked_up():
    """After a day's changes the kernels search the rows; once the rows looked up pass
    1/ROW_SEARCH_SHARE of every row, the index is made (the stable argsort) and kept until the
    next change; the full rebuild keeps the one it made."""
    from sim.group_index import ROW_SEARCH_SHARE, entry_rows

    net = _network(np.random.default_rng(8), 100, 20, 600, muted_share=0.0)
    stable = np.argsort(net.m_clinician, kind="stable").astype(np.int32)
    assert np.array_equal(entry_rows(net), stable)  # from the first (full) build
    net.remove_rows(np.arange(5))
    assert entry_rows(net).size == 0
    assert entry_rows(net, net.n_rows // ROW_SEARCH_SHARE).size == 0  # not yet past the share
    got = entry_rows(net, 1)
    assert np.array_equal(got, np.argsort(net.m_clinician, kind="stable").astype(np.int32))
    assert entry_rows(net) is got  # kept
    net.remove_rows(np.arange(5))
    assert entry_rows(net).size == 0


def test_changes_that_do_not_account_for_the_rows_rebuild_from_every_row():
    """Changes logged that do not match the rows held (their count, or a removal of a
    membership the index does not hold) fall back to the full rebuild, whose indexes are right."""
    rng = np.random.default_rng(9)
    net = _network(rng, 50, 10, 200, muted_share=0.1)
    held = set(zip(net.m_clinician.tolist(), net.m_group.tolist(), strict=True))
    c, g = next((c, g) for c in range(50) for g in range(10) if (c, g) not in held)
    for removed, added in (
        ([c_key([c], [g])], [c_key([c], [g])[:0]]),
        ([c_key([c], [g])], [c_key([c], [(g + 1) % 10])]),
    ):
        net._removed, net._added = removed, added  # (written as a caller outside the network might)
        net.reindex()
        memo = net.__dict__["_entry_rows"]
        assert memo["version"] == net.version and memo["rows"] is not None  # rebuilt from every row
        _check_index(net)
