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


def _in_flight(rng, n: int, cases: np.ndarray) -> tuple[np.ndarray, ...]:
    """Answers in flight as ``state.ANSWER_SPEC`` holds them (its dtypes, in order): about
    ``cases``, ending on a coarse grid (ties in case and end)."""
    from sim.processes.diagnosis.state import ANSWER_SPEC

    start = np.round(rng.uniform(0, 8, n), 0)
    values = {
        "case": rng.choice(cases, n), "req": rng.integers(0, 99, n), "exp": rng.integers(0, 50, n),
        "route": rng.integers(1, 3, n), "group": rng.integers(-1, 9, n), "start": start,
        "end": start + np.round(rng.uniform(0, 4, n), 0), "label": rng.integers(0, 4, n),
        "confidence": rng.uniform(0.2, 0.95, n), "correct": rng.random(n) < 0.5, "offhours": rng.random(n) < 0.2,
        "counted": np.zeros(n, bool), "after_diagnosis": np.zeros(n, bool),
    }  # fmt: skip
    return tuple(np.asarray(values[k], dt) for k, dt in ANSWER_SPEC.items())


@pytest.mark.parametrize("written", [False, True])
@pytest.mark.parametrize("kernel", _both(RK.finish_answers))
def test_finish_answers_takes_the_finished_by_lexsort_then_combines_them(kernel, written):
    """The answers ending before ``t1`` come out in ``np.lexsort((end, case))`` order, the
    others stay in order at the front of the columns, and the combination is
    :func:`RK.combine_answers` on those taken out (the counted marks, the accepting answers)."""
    rng = np.random.default_rng(9)
    n_labels, taken, accepted = 4, 0, 0
    rules = (False, 0.7, n_labels, 0.8, 1)
    for _ in range(40):
        n_cases = int(rng.integers(1, 25))
        first, row_of, held, rows = _held(rng, n_cases, written)
        F = _in_flight(rng, int(rng.integers(0, 60)), held)
        t1 = float(rng.choice([3.0, 6.0, 9.0]))  # answers ending at t1 are not finished
        t_dx = np.where(rng.random(n_cases) < 0.3, 1.0, np.nan)
        state = (np.zeros((n_cases, n_labels)), (np.zeros(n_cases, np.int16), np.full(n_cases, -1, np.int16),
                 np.full(n_cases, np.nan)))  # fmt: skip
        want_state = (state[0].copy(), tuple(c.copy() for c in state[1]))
        due = F[6] < t1
        pos = np.flatnonzero(due)
        order = pos[np.lexsort((F[6][pos], F[0][pos]))]
        want_A = [c[order].copy() for c in F]
        want_kept = [c[~due].copy() for c in F]
        want_acc = [np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int8), np.zeros(0, bool)]
        if order.size:
            idx, counted, at, lead = RK.combine_answers(
                want_A[0], want_A[7], want_A[8], want_A[6], first, row_of, t_dx, rules, *want_state
            )  # fmt: skip
            want_A[11][idx] = counted
            i = idx[at]
            want_acc = [want_A[0][i], want_A[6][i], want_A[3][i], lead[at] == 0]
        A, acc = kernel(F, t1, first, row_of, t_dx, rules, *state)
        for got, want in zip((*A, *acc), (*want_A, *want_acc), strict=True):
            assert got.dtype == want.dtype and np.array_equal(got, want)
        for col, want in zip(F, want_kept, strict=True):
            assert np.array_equal(col[: want.size], want)
        for got, want in zip((state[0], *state[1]), (want_state[0], *want_state[1]), strict=True):
            np.testing.assert_array_equal(got, want)
        taken += order.size
        accepted += want_acc[0].size
    assert taken > 200 and accepted > 20


@pytest.mark.parametrize("written", [False, True])
@pytest.mark.parametrize("kernel", _both(RK.forget_cases))
def test_forget_cases_drops_the_open_ids_of_the_cases_diagnosed(kernel, written):
    """The open ids kept are ``open_ids[~np.isin(open_ids, newly)]``; the requests of the
    cases diagnosed close (:func:`RK.close_requests`) and their pairs are dropped."""
    rng = np.random.default_rng(12)
    dropped_seen = 0
    for _ in range(40):
        n_cases, n_req = int(rng.integers(1, 40)), int(rng.integers(0, 60))
        first, row_of, held, rows = _held(rng, n_cases, written)
        open_ids = np.sort(rng.choice(held, int(rng.integers(0, n_cases + 1)), replace=False))
        newly = np.sort(rng.choice(held, int(rng.integers(0, n_cases + 1)), replace=False))  # some not open
        head, nxt = _link(rng, n_cases, n_req)
        requests = (head, nxt, np.ones(n_req, bool), np.ones(n_req, np.int32), np.zeros(n_req))
        p_req = rng.integers(0, max(n_req, 1), 50 if n_req else 0)
        pairs = (np.zeros(p_req.size, np.int8), p_req)
        n_req_of, t_dx = np.zeros(n_cases, np.int32), np.ones(n_cases)
        closing = [r for c in rows(newly) for r in _walk(head, nxt, c)]
        kept, closed = kernel(newly, first, row_of, open_ids, requests, pairs, n_req_of, t_dx, 3)
        np.testing.assert_array_equal(kept, open_ids[~np.isin(open_ids, newly)])
        assert closed == len(closing) and not requests[2][closing].any()
        np.testing.assert_array_equal(pairs[0] == 3, np.isin(p_req, closing))
        dropped_seen += int((pairs[0] == 3).sum())
    assert dropped_seen > 100


@pytest.mark.parametrize("kernel", _both(RK.diagnose_due))
def test_diagnose_due_takes_the_visits_before_the_step_end(kernel):
    """The visits taken are those before ``t1`` (``searchsorted(side="left")``: a visit at
    ``t1`` and the NaN ones stay); the cases among them held and not diagnosed are
    diagnosed at their visit, the others not again."""
    rng = np.random.default_rng(14)
    n_dx = n_skipped = 0
    for _ in range(40):
        n = int(rng.integers(1, 30))
        C = _cases(rng, n)
        C["t_ref_dx"][:] = np.round(rng.uniform(0, 10, n), 0)
        visit_case = rng.permutation(n)[: int(rng.integers(0, n + 1))]
        visit_t = np.sort(np.where(rng.random(visit_case.size) < 0.1, np.nan, C["t_ref_dx"][visit_case]))
        t1 = float(rng.choice([3.0, 6.0, 9.0]))
        k = int(visit_t.searchsorted(t1, side="left"))
        was_open = np.isnan(C["t_dx"]).copy()
        empty = np.zeros(0, np.int64)
        acc = (empty, np.zeros(0), np.zeros(0, np.int8), np.zeros(0, bool))
        forget = (np.arange(n), (np.full(n, -1, np.int64), empty, np.zeros(0, bool), np.zeros(0, np.int32),
                  np.zeros(0)), (np.zeros(0, np.int8), empty), np.zeros(n, np.int32), 3)  # fmt: skip
        answers = (empty, np.zeros(0), np.zeros(0), np.zeros(0, bool), np.zeros(0, bool), np.zeros(n, np.int32))
        cols = tuple(C[c] for c in COLUMNS)
        taken, newly, kept, closed, n_counted, n_after = kernel(
            visit_t, visit_case, t1, acc, REFERRAL, 0, np.zeros(0, np.int32), cols, forget, answers
        )  # fmt: skip
        due = visit_case[:k]
        want = np.sort(due[was_open[due] & (C["t_ref_dx"][due] < t1)])
        assert taken == k and np.array_equal(newly, want) and closed == 0 and (n_counted, n_after) == (0, 0)
        np.testing.assert_array_equal(kept, np.setdiff1d(np.arange(n), want))
        assert (C["route"][want] == REFERRAL).all()
        n_dx += want.size
        n_skipped += int((~was_open[due]).sum())
    assert n_dx > 30 and n_skipped > 10


@pytest.mark.parametrize("kernel", _both(RK.without_ids))
def test_without_ids_is_the_isin_mask(kernel):
    rng = np.random.default_rng(16)
    for n, k in ((0, 0), (0, 3), (5, 0), (40, 12), (300, 300)):
        ids = np.unique(rng.integers(0, 2 * n + 1, n)).astype(np.int64)
        gone = np.sort(rng.integers(-2, 2 * n + 3, k)).astype(np.int64)  # repeats, and ids not held
        got = kernel(ids, gone)
        assert got.dtype == ids.dtype and np.array_equal(got, ids[~np.isin(ids, gone)])


@pytest.mark.parametrize("kernel", _both(RK.settle_dropped))
def test_settle_dropped_keeps_the_pairs_not_dropped_once_half_are(kernel):
    """The pairs' columns (``state.PAIR_SPEC``, in order) lose the dropped rows, the others
    kept in order, when at least half the rows are dropped (or any, forced); else none."""
    from sim.processes.diagnosis.state import PAIR_SPEC

    rng = np.random.default_rng(18)
    for n, share, force in ((0, 0.5, False), (10, 0.0, True), (40, 0.3, False), (40, 0.3, True), (41, 0.6, False)):
        state = np.where(rng.random(n) < share, 9, rng.integers(0, 3, n)).astype(np.int8)
        values = {
            "req": rng.integers(0, 99, n), "exp": rng.integers(0, 50, n), "state": state, "ready": rng.random(n),
            "quality": rng.random(n), "willing": rng.random(n) < 0.5,
        }  # fmt: skip
        cols = tuple(np.asarray(values[k], dt) for k, dt in PAIR_SPEC.items())
        gone = cols[2] == 9
        settle = gone.any() and (force or 2 * gone.sum() >= n)
        want = [c[~gone].copy() if settle else c.copy() for c in cols]
        left = kernel(cols, 9, force)
        assert left == want[0].size
        for c, w in zip(cols, want, strict=True):
            assert np.array_equal(c[:left], w)
