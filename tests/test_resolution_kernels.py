"""The compiled steps of resolution (sim/processes/diagnosis/resolution_kernels.py) give
bit-identical results to the numpy formulations they replaced (kept here as the
reference), compiled and interpreted (``py_func``), on random inputs with ties, with
every case held (row = id) and with the oldest written out (a row map)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.processes.diagnosis import resolution_kernels as RK
from sim.processes.diagnosis.config import REFERRAL

from .reference_arrays import lookup

COLUMNS = ("t_ref_dx", "t_dx", "route", "correct", "ref_correct", "t_esc")


def _both(kernel):
    return (kernel, kernel.py_func)


def _held(rng, n_cases: int, written: bool):
    """Case ids and a row map as DxState holds them: row = id, or (after cases were written
    out) ``row_of[id - first_held]`` over the ids held, in a scrambled order of rows."""
    if not written:
        return 0, np.zeros(0, np.int32), np.arange(n_cases), lambda ids: ids
    first = 1000
    ids = first + np.sort(rng.choice(3 * n_cases, n_cases, replace=False))
    row_of = np.full(3 * n_cases, -1, np.int32)
    row_of[ids - first] = rng.permutation(n_cases)
    return first, row_of, ids, lambda q: row_of[q - first]


def _cases(rng, n: int) -> dict[str, np.ndarray]:
    """The case columns resolution writes, a third of the cases diagnosed already; times on
    a coarse grid so that visits, answers and the step's end tie."""
    t_dx = np.where(rng.random(n) < 0.3, np.round(rng.uniform(0, 10, n), 1), np.nan)
    return {
        "t_ref_dx": np.where(rng.random(n) < 0.7, np.round(rng.uniform(5, 15, n), 0), np.inf),
        "t_dx": t_dx,
        "route": rng.integers(-1, 4, n).astype(np.int8),
        "correct": rng.integers(-1, 2, n).astype(np.int8),
        "ref_correct": rng.integers(0, 2, n).astype(np.int8),
        "t_esc": rng.uniform(0, 20, n),
    }


def _diagnose_numpy(ids, acc_case, acc_t, acc_route, acc_correct, t1, rows, C):
    """What combining.resolve did before :func:`RK.diagnose`."""
    t_acc = lookup(acc_case, acc_t, ids, np.inf)
    t_ref = C["t_ref_dx"][rows(ids)]
    ref_first = (t_ref < t1) & (t_ref <= t_acc)
    by_ref = ids[ref_first]
    C["t_dx"][rows(by_ref)] = t_ref[ref_first]
    C["route"][rows(by_ref)] = REFERRAL
    C["correct"][rows(by_ref)] = C["ref_correct"][rows(by_ref)]
    sel = np.isnan(C["t_dx"][rows(acc_case)])
    a = acc_case[sel]
    C["t_dx"][rows(a)] = acc_t[sel]
    C["route"][rows(a)] = acc_route[sel]
    C["correct"][rows(a)] = acc_correct[sel].astype(np.int8)
    newly = np.concatenate([by_ref, a])
    C["t_esc"][rows(newly)] = np.inf
    return newly


@pytest.mark.parametrize("written", [False, True])
@pytest.mark.parametrize("kernel", _both(RK.diagnose))
def test_diagnose_is_the_numpy_assignments(kernel, written):
    rng = np.random.default_rng(3)
    n_visits = n_accepted = n_both = 0
    for _ in range(60):
        n = int(rng.integers(1, 60))
        first, row_of, held, rows = _held(rng, n, written)
        C = _cases(rng, n)
        want_cols = {k: v.copy() for k, v in C.items()}
        open_ids = held[np.isnan(C["t_dx"][rows(held)])]
        ids = np.sort(rng.choice(open_ids, int(rng.integers(0, open_ids.size + 1)), replace=False))
        acc_case = np.sort(rng.choice(open_ids, int(rng.integers(0, open_ids.size + 1)), replace=False))
        acc_t = np.round(rng.uniform(5, 15, acc_case.size), 0)  # ties with the visits
        acc_route = rng.integers(1, 3, acc_case.size).astype(np.int8)
        acc_correct = rng.random(acc_case.size) < 0.5
        t1 = float(rng.choice([8.0, 10.0, 12.0]))  # visits at the step's end are not due
        want = _diagnose_numpy(ids, acc_case, acc_t, acc_route, acc_correct, t1, rows, want_cols)
        cols = tuple(C[k] for k in COLUMNS)
        got = kernel(ids, acc_case, acc_t, acc_route, acc_correct, t1, REFERRAL, first, row_of, cols)
        np.testing.assert_array_equal(got, np.sort(want))  # the cases diagnosed, sorted (each once)
        for k in COLUMNS:
            np.testing.assert_array_equal(C[k], want_cols[k], err_msg=k)
        by_visit = np.isin(want, ids)
        n_visits += int(by_visit.sum())
        n_accepted += int((~by_visit).sum())
        n_both += int(np.isin(want[by_visit], acc_case).sum())
    assert min(n_visits, n_accepted, n_both) > 20  # by a visit, by an answer, and a visit before its answer


def _settle_numpy(case, start, end, counted, rows, t_dx_all, n_counted):
    """What combining.resolve did before :func:`RK.settle_answers`."""
    t_dx = t_dx_all[rows(case)]
    after = start > t_dx
    counted = counted & ~(end > t_dx)
    np.add.at(n_counted, rows(case[counted]), 1)
    return counted, after


@pytest.mark.parametrize("written", [False, True])
@pytest.mark.parametrize("kernel", _both(RK.settle_answers))
def test_settle_answers_is_the_numpy_accounting(kernel, written):
    rng = np.random.default_rng(4)
    seen = np.zeros(3, np.int64)  # answers counted, not counted (ended after), started after
    for _ in range(60):
        n = int(rng.integers(1, 40))
        first, row_of, held, rows = _held(rng, n, written)
        t_dx = np.where(rng.random(n) < 0.6, np.round(rng.uniform(0, 10, n), 0), np.nan)
        case = rng.choice(held, int(rng.integers(0, 80)))  # several answers to a case
        start = np.round(rng.uniform(0, 10, case.size), 0)
        end = start + np.round(rng.uniform(0, 3, case.size), 0)
        counted = rng.random(case.size) < 0.7
        n_counted = rng.integers(0, 5, n)
        want_n = n_counted.copy()
        want_counted, want_after = _settle_numpy(case, start, end, counted, rows, t_dx, want_n)
        after = np.zeros(case.size, bool)
        got = kernel(case, start, end, counted, after, first, row_of, t_dx, n_counted)
        np.testing.assert_array_equal(counted, want_counted)
        np.testing.assert_array_equal(after, want_after)
        np.testing.assert_array_equal(n_counted, want_n)
        assert got == (int(want_counted.sum()), int(want_after.sum()))
        seen += [int(want_counted.sum()), int((~want_counted).sum()), int(want_after.sum())]
    assert (seen > 20).all()


def _link(rng, n_cases: int, n_requests: int):
    """Open requests chained to their cases' lists (as DxState.add_requests links them)."""
    head = np.full(n_cases, -1, np.int64)
    nxt = np.full(n_requests, -1, np.int64)
    for r, c in enumerate(rng.integers(0, n_cases, n_requests)):
        nxt[r], head[c] = head[c], r
    return head, nxt


@pytest.mark.parametrize("kernel", _both(RK.close_requests))
def test_close_requests_is_the_unlinking_and_the_numpy_counts(kernel):
    rng = np.random.default_rng(5)
    n_made = n_late = 0
    for _ in range(60):
        n_cases, n_req = int(rng.integers(1, 30)), int(rng.integers(0, 80))
        head, nxt = _link(rng, n_cases, n_req)
        t_post = np.round(rng.uniform(0, 10, n_req), 0)
        t_dx = np.round(rng.uniform(0, 10, n_cases), 0)  # ties with the posts: not made before
        is_open, slots, n_req_of = (
            np.ones(n_req, bool),
            rng.integers(1, 4, n_req).astype(np.int32),
            np.zeros(n_cases, np.int64),
        )
        rows = rng.choice(n_cases, int(rng.integers(0, n_cases + 1)), replace=False)
        # the numpy formulation: the lists walked, then the closed requests' columns and counts
        closed = [(r, c) for c in rows for r in _walk(head, nxt, c)]
        want = (is_open.copy(), slots.copy(), n_req_of.copy())
        if closed:
            req, about = np.array(closed).T
            want[0][req] = False
            want[1][req] = 0
            made = t_post[req] < t_dx[about]
            np.add.at(want[2], about[made], 1)
            n_made += int(made.sum())
            n_late += int((~made).sum())
        got = kernel(head, nxt, rows, is_open, slots, t_post, t_dx, n_req_of)
        assert got == len(closed)
        for a, b in zip((is_open, slots, n_req_of), want, strict=True):
            np.testing.assert_array_equal(a, b)
        assert (head[rows] == -1).all()
    assert n_made > 20 and n_late > 20


@pytest.mark.parametrize("kernel", _both(RK.relink))
@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_relink_is_the_numpy_remap(kernel, dtype):
    """The links to open requests' rows (-1: none) follow the rows kept, as the numpy
    formulation it replaced (``np.where(links >= 0, new_row[links], -1)``) moved them."""
    rng = np.random.default_rng(8)
    for _ in range(40):
        n_rows = int(rng.integers(1, 200))
        keep = rng.random(n_rows) < 0.6
        new_row = np.cumsum(keep, dtype=np.int64) - 1
        # links only to rows kept (the closed requests' rows are linked from nowhere), or none
        kept = np.flatnonzero(keep)
        links = np.full(int(rng.integers(0, 300)), -1, dtype)
        if kept.size:
            some = rng.random(links.size) < 0.4
            links[some] = rng.choice(kept, int(some.sum()))
        want = np.where(links >= 0, new_row[links], -1).astype(dtype)
        kernel(links, new_row)
        np.testing.assert_array_equal(links, want)


def _walk(head, nxt, c):
    r = head[c]
    while r >= 0:
        yield int(r)
        r = nxt[r]
