"""The compiled loops that replaced numpy on the hot paths give bit-identical results.

Each kernel is compared with the numpy formulation it replaced (kept here as the
reference), compiled and interpreted (``py_func``), on random inputs with ties.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from numba import njit

from sim.group_index import merge_tail
from sim.kernels import (
    DENSE_UNIQUE_RATIO,
    SPARSE_DROP,
    DistinctIds,
    close_gaps,
    compact_in_place,
    dropped_rows,
    first_descent,
    insert_in_place,
    membership_index,
    merge_positions,
    merge_where,
    move_rows,
    pick_where,
    unique_inverse,
    unique_inverse_bits,
)
from sim.processes.diagnosis import answer_kernels as AK
from sim.processes.diagnosis import kernels as DK
from sim.processes.diagnosis import referral_kernels as RK
from sim.processes.diagnosis.state import Experts
from sim.rng_ref import GeneratorRef

from .reference_arrays import (
    answer_inputs,
    book_referrals,
    choose_groups,
    combine_batch,
    combine_posterior,
    csr_rows,
    first_at_or_after,
    lookup,
    match_rounds,
    record_answers,
    segment_first,
    segment_rank,
    settle_reads,
)


def _both(kernel):
    return (kernel, kernel.py_func)


@pytest.mark.parametrize("seed", range(5))
def test_merge_in_place_is_the_stable_argsort(seed):
    """The rows appended after a sorted run, merged in where they are, end in the order of
    the stable argsort of the keys (every column, of each type, and the keys themselves);
    the rows removed in place leave the others in order."""
    rng = np.random.default_rng(seed)
    for _ in range(50):
        head = np.sort(rng.integers(0, 40, rng.integers(0, 200)))  # sorted, with repeats
        tail = rng.integers(0, 40, rng.integers(0, 30))
        key = np.concatenate([head, tail]).astype(np.int64)
        ref = np.argsort(key, kind="stable")
        merged = merge_tail(key)
        if merged is None:
            assert (ref == np.arange(key.size)).all()
            continue
        p, rows, pos = merged
        assert np.array_equal(pos, np.flatnonzero(ref >= p)) and np.array_equal(rows, ref[pos])
        # the kernels compiled and interpreted: the end of the sorted run, the positions, the moves
        down = np.flatnonzero(key[1:] < key[:-1])
        assert p == int(down[0]) + 1
        for descent, positions, insert in zip(
            _both(first_descent), _both(merge_positions), _both(insert_in_place), strict=True
        ):
            assert descent(key) == p
            assert np.array_equal(positions(key, p, rows), pos)
            columns = [key.copy(), rng.random(key.size).astype(np.float32), rng.random(key.size) < 0.5]
            want = [c[ref] for c in columns]
            for col, w in zip(columns, want, strict=True):
                insert(col, p, rows, pos)
                assert np.array_equal(col, w)
    for compact in _both(compact_in_place):
        col, keep = rng.integers(0, 9, 500).astype(np.int8), rng.random(500) < 0.7
        want = col[keep]
        assert compact(col, keep) == want.size and np.array_equal(col[: want.size], want)


@njit
def _move_compiled(col, dst, src, count):
    move_rows(col, dst, src, count)  # (an overload: compiled only inside a kernel)


@pytest.mark.parametrize("dtype", [np.bool_, np.int8, np.int32, np.int64, np.float32, np.float64])
def test_move_rows_is_the_overlapping_slice_assignment(dtype):
    """The compiled memmove moves a range up or down over itself as numpy's slice
    assignment does (the source read before it is overwritten), every item size."""
    rng = np.random.default_rng(3)
    for _ in range(200):
        n = int(rng.integers(1, 60))
        src, dst = (int(v) for v in rng.integers(0, n, 2))
        count = int(rng.integers(0, n - max(src, dst) + 1))
        col = (rng.random(n) * 100).astype(dtype)
        want = col.copy()
        want[dst : dst + count] = col[src : src + count].copy()
        for move in (_move_compiled, move_rows):
            got = col.copy()
            move(got, dst, src, count)
            assert np.array_equal(got, want)
    strided = (np.arange(20) % 3).astype(dtype)[::2]  # another layout: numba's slice assignment
    want = strided.copy()
    want[1:6] = strided[0:5].copy()
    _move_compiled(strided, 1, 0, 5)
    assert np.array_equal(strided, want)


@njit
def _dropped_compiled(keep, limit):
    return dropped_rows(keep, limit)  # (an overload: compiled only inside a kernel)


@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 63, 64, 65, 640, 6401])
def test_compaction_sparse_and_dense_is_the_mask(n):
    """``compact_in_place`` keeps ``col[keep]`` whether few rows go (the kept runs moved
    whole, the dropped rows found eight to a word) or many (the branch-free pass), for
    masks contiguous or strided; ``dropped_rows`` gives the rows that go up to its limit."""
    rng = np.random.default_rng(n)
    for drops in {0, 1, n // (2 * SPARSE_DROP), n // SPARSE_DROP, n // SPARSE_DROP + 1, n // 3, n}:
        keep = np.ones(n, bool)
        keep[rng.choice(n, min(drops, n), replace=False)] = False
        for mask in (keep, np.repeat(keep, 2)[::2]):
            for limit in (0, drops - 1, drops, n):
                if limit < 0:
                    continue
                want = np.flatnonzero(~keep)
                for find in (_dropped_compiled, dropped_rows):
                    gone, ok = find(mask, limit)
                    assert ok == (want.size <= limit) and np.array_equal(gone, want if ok else want[:0])
            for dtype in (np.bool_, np.int16, np.float64):
                col = rng.integers(0, 1000, n).astype(dtype)
                want = col[keep]
                for compact in _both(compact_in_place):
                    got = col.copy()
                    m = compact(got, mask)
                    assert m == want.size and np.array_equal(got[:m], want)
                for close in _both(close_gaps):  # the same, from the rows that go
                    got = col.copy()
                    m = close(got, np.flatnonzero(~keep), n)
                    assert m == want.size and np.array_equal(got[:m], want)


def _book_reference(dest, arrive, gap, next_slot):
    """The numpy loop the kernel replaced (one pass per receiving facility)."""
    slot = np.empty(dest.size)
    for d in np.unique(dest):
        sel = np.flatnonzero(dest == d)
        a, s = arrive[sel], gap[sel][0]
        j = np.arange(sel.size)
        u = np.maximum(next_slot[d], np.maximum.accumulate(a - j * s))
        slot[sel] = u + j * s
        next_slot[d] = slot[sel][-1] + s
    return slot


@pytest.mark.parametrize("kernel", _both(pick_where))
def test_pick_where_is_np_where_of_the_gathers(kernel):
    rng = np.random.default_rng(16)
    cond = rng.random(300) < 0.4
    for dtype in (np.float32, np.float64):
        a, b = rng.random(300).astype(dtype), rng.random(300).astype(dtype)
        for who in (rng.integers(0, 300, 200), rng.integers(0, 300, 5).astype(np.int32), np.zeros(0, np.int64)):
            want, got = np.where(cond[who], a[who], b[who]), kernel(cond, a, b, who)
            assert np.array_equal(got, want) and got.dtype == want.dtype


@pytest.mark.parametrize("kernel", _both(DK.book_slots))
def test_book_slots_equals_the_numpy_booking(kernel):
    rng = np.random.default_rng(11)
    n_fac = 12
    gap_of = rng.uniform(0.01, 0.5, n_fac)
    ref_next, next_slot = np.full(n_fac, -np.inf), np.full(n_fac, -np.inf)
    for _ in range(40):  # successive batches: the queues carry over
        m = int(rng.integers(0, 25))
        dest = rng.integers(0, n_fac, m).astype(np.int32)
        arrive = np.round(np.sort(rng.uniform(0, 30, m)), 1)  # ties in arrival
        want = _book_reference(dest, arrive, gap_of[dest], ref_next)
        got = kernel(dest, arrive, gap_of[dest], next_slot)
        assert np.array_equal(got, want)
        assert np.array_equal(next_slot, ref_next)


@pytest.mark.parametrize("kernel", _both(RK.book_referrals))
@pytest.mark.parametrize("written", [False, True], ids=["row=id", "row map"])
def test_book_referrals_equals_the_numpy_booking(kernel, written):
    """The compiled booking against the numpy of ``Referrals.book`` it replaced: the same
    order, destinations, slots, doctors (the same uniforms of the same stream, and no other
    draw), skills, missing equipment and visit times, over successive batches (the queues
    carry over), with ties in the referral times; the case columns written in place."""
    rng = np.random.default_rng(21)
    n_fac, n_spec, n_people, n_cases = 9, 5, 400, 300
    dest_of = rng.integers(0, n_fac, (n_fac, n_spec, 3)).astype(np.int32)
    hops_of = rng.integers(0, 4, (n_fac, n_spec, 3)).astype(np.int8)
    fac_beds = rng.integers(20, 900, n_fac).astype(np.int32)
    fac_equipment = rng.integers(1, 4, n_fac).astype(np.int8)
    expertise = rng.random(n_people).astype(np.float32)
    specialty = rng.integers(0, n_spec, n_people).astype(np.int8)
    lists, indptr = [], np.zeros((n_spec, n_fac + 1), np.int64)
    for k in range(n_spec):
        counts = rng.integers(1, 5, n_fac)
        np.cumsum(counts, out=indptr[k, 1:])
        lists.append(rng.integers(0, n_people, counts.sum()).astype(np.int32))
    flat = np.concatenate(lists)
    offset = np.cumsum([0] + [x.size for x in lists[:-1]]).astype(np.int64)

    def pick(fac, spec, u):
        return DK.pick_in_lists(indptr, flat, offset, spec, fac, u)

    # the cases held: rows = ids, or ids from 1,000 on through a shuffled row map
    first = 1000 if written else 0
    row_of = rng.permutation(n_cases).astype(np.int32) if written else np.zeros(0, np.int32)
    t_ref_entry = np.round(rng.uniform(0, 5, n_cases), 1)  # ties
    facility = rng.integers(0, n_fac, n_cases).astype(np.int32)
    spec = rng.integers(0, n_spec, n_cases).astype(np.int8)
    need = rng.integers(1, 4, n_cases).astype(np.int8)
    cols = (np.full(n_cases, -1, np.int32), np.zeros(n_cases, np.int8), np.full(n_cases, np.inf))
    ref_next, next_slot = np.full(n_fac, -np.inf), np.full(n_fac, -np.inf)
    draws, ref_draws = np.random.default_rng(5), np.random.default_rng(5)
    stream = GeneratorRef(draws)
    pending = rng.permutation(n_cases)
    while pending.size:
        m = int(rng.integers(0, 12))
        batch, pending = pending[:m], pending[m:]
        m = batch.size
        ids = (first + (np.argsort(row_of)[batch] if written else batch)).astype(np.int64)
        rows = row_of[ids - first].astype(np.int64) if written else ids
        want = book_referrals(
            ids, rows, t_ref_entry, facility, spec, need, dest_of, hops_of, 0.5, 0.25, 3.0, fac_beds, ref_next, pick,
            ref_draws.random(m), expertise, specialty, 0.4, fac_equipment, 0.125, DK.book_slots,
        )  # fmt: skip
        got = kernel(
            ids, first, row_of, t_ref_entry, facility, spec, need, dest_of, hops_of, 0.5, 0.25, 3.0, fac_beds,
            next_slot, indptr, flat, offset, stream, expertise, specialty, 0.4, fac_equipment, 0.125, *cols,
        )  # fmt: skip
        for g, w in zip(got, want[:6], strict=True):
            assert np.array_equal(g, w) and g.dtype == w.dtype
        assert np.array_equal(next_slot, ref_next)
        row = want[1]
        assert np.array_equal(cols[0][row], want[6]) and np.array_equal(cols[1][row], want[7])
        assert np.array_equal(cols[2][row], want[5])
        assert draws.bit_generator.state == ref_draws.bit_generator.state  # m uniforms, no more
    assert np.isfinite(cols[2]).all()  # every case booked once


@pytest.mark.parametrize("kernel", _both(DK.due_cases))
def test_due_cases_equal_the_mask_of_the_gathered_times(kernel):
    rng = np.random.default_rng(8)
    t_due = np.round(rng.uniform(0, 2, 200), 1)  # ties with t1
    t_due[rng.random(200) < 0.2] = np.inf
    t_due[rng.random(200) < 0.1] = np.nan  # never due
    for row_of, first in ((np.zeros(0, np.int32), 0), (rng.permutation(200).astype(np.int32), 77)):
        for m in (0, 1, 150):
            ids = np.sort(rng.choice(200, m, replace=False)).astype(np.int64) + first
            rows = row_of[ids - first] if row_of.size else ids
            for t1 in (0.0, 1.0, np.inf):
                got_ids, got_t = kernel(ids, first, row_of, t_due, t1)
                keep = t_due[rows] < t1
                assert np.array_equal(got_ids, ids[keep]) and np.array_equal(got_t, t_due[rows][keep])
                assert got_ids.dtype == ids.dtype and got_t.dtype == t_due.dtype


@pytest.mark.parametrize("kernel", _both(AK.log_first_answers))
def test_log_first_answers_equals_fmin_at(kernel):
    """The compiled log of first answers against the numpy of ``DxState.log_answers``:
    ``np.fmin.at`` of the minutes by request id (NaN until an answer; several answers to one
    request in a batch, ties included) and the abroad flags and count."""
    rng = np.random.default_rng(14)
    n_open, n_log, n_people, n_fac = 40, 60, 30, 6
    ids = rng.choice(n_log, n_open, replace=False).astype(np.int64)  # open row -> request id
    t_post = np.round(rng.uniform(0, 3, n_open), 2)
    facility = rng.integers(0, n_fac, n_people).astype(np.int32)
    fac_abroad = rng.random(n_fac) < 0.4
    got_min, want_min = np.full(n_log, np.nan), np.full(n_log, np.nan)
    got_ab, want_ab = np.zeros(n_log, bool), np.zeros(n_log, bool)
    for _ in range(30):
        m = int(rng.integers(0, 15))
        req = rng.integers(0, n_open, m)  # repeats: several answers to a request
        end = t_post[req] + np.round(rng.uniform(0, 1, m), 2)  # ties in the minutes
        e = rng.integers(0, n_people, m).astype(np.int32)
        minutes = (end - t_post[req]) * 24 * 60
        np.fmin.at(want_min, ids[req], minutes)
        abroad = fac_abroad[facility[e]]
        want_ab[ids[req][abroad]] = True
        n = kernel(ids, t_post, req, end, e, facility, fac_abroad, got_min, got_ab)
        assert n == np.count_nonzero(abroad)
        assert np.array_equal(got_min, want_min, equal_nan=True) and np.array_equal(got_ab, want_ab)
    assert np.isnan(got_min).any() and not np.isnan(got_min).all() and got_ab.any()


@pytest.mark.parametrize("kernel", _both(AK.match_rounds))
@pytest.mark.parametrize("exponential", [True, False], ids=["exponential", "fixed"])
@pytest.mark.parametrize("cap", [0, 2])
def test_match_rounds_equal_the_numpy_rounds(kernel, exponential, cap):
    rng = np.random.default_rng(12)
    n_exp, n_req = 15, 10
    rounds = 0
    for trial in range(60):
        n = int(rng.integers(0, 60))
        req = rng.integers(0, n_req, n).astype(np.int64)
        e = rng.integers(0, n_exp, n).astype(np.int32)
        ready = np.round(rng.uniform(0.0, 1.2, n), 1)  # ties in readiness and start
        post = np.round(rng.uniform(-1.0, 1.0, n_req), 1)[req]
        alive = rng.random(n) < 0.9
        slots = rng.integers(0, 4, n_req).astype(np.int32)
        free_at = np.round(rng.uniform(0.0, 1.0, n_exp), 1)
        today = rng.integers(0, 3, n_exp).astype(np.int32)
        t0, t1 = 0.2, 1.0
        state = [(slots.copy(), free_at.copy(), today.copy()) for _ in range(2)]
        (s_w, f_w, d_w), (s_g, f_g, d_g) = state
        want = match_rounds(
            req, e, ready, post, alive, s_w, f_w, d_w, cap, t0, t1, np.random.default_rng(trial), exponential, 0.3
        )
        got = kernel(
            req, e, ready, post, alive, s_g, f_g, d_g, cap, t0, t1, np.random.default_rng(trial), exponential, 0.3
        )
        for w, g in zip(want, got, strict=True):
            assert np.array_equal(g, w)
        assert np.array_equal(s_g, s_w) and np.array_equal(f_g, f_w) and np.array_equal(d_g, d_w)
        rounds += want[0].size > 0
    assert rounds > 30  # most trials match something


@pytest.mark.parametrize("pending", _both(AK.pending_pairs))
@pytest.mark.parametrize("settle", _both(AK.settle_reads))
def test_reading_kernels_equal_the_numpy_reading(pending, settle):
    rng = np.random.default_rng(17)
    n_exp, n_req, settled = 12, 9, 0
    for _ in range(60):
        n = int(rng.integers(0, 50))
        P = {
            "req": rng.integers(0, n_req, n).astype(np.int64),
            "exp": rng.integers(0, n_exp, n).astype(np.int32),
            "state": (rng.random(n) < 0.3).astype(np.int8),  # PENDING 0, QUEUED 1
            "ready": np.full(n, np.nan),
            "quality": rng.random(n).astype(np.float32),
            "willing": rng.random(n) < 0.2,
        }
        R = {
            "route": rng.integers(0, 3, n_req).astype(np.int8),
            "t_post": np.round(rng.uniform(-2.0, 1.0, n_req) * 4) / 4,  # exact ties with t0 and with the purge
            "quality": rng.random(n_req).astype(np.float32),
        }
        E = Experts.new(n_exp)
        E.oncall[:] = rng.random(n_exp) < 0.3
        E.oncall_answer_prob[:] = rng.random(n_exp)
        E.burnout[:] = rng.exponential(2.0, n_exp) * (rng.random(n_exp) < 0.5)
        t0, t1 = 0.0, 0.6
        pend, e, since = pending(P["state"], P["exp"], P["req"], R["t_post"], 0, t0)
        want_pend = np.flatnonzero(P["state"] == 0)
        assert np.array_equal(pend, want_pend) and np.array_equal(e, P["exp"][want_pend])
        assert np.array_equal(since, np.maximum(R["t_post"][P["req"][want_pend]], t0))
        when = np.where(rng.random(pend.size) < 0.6, np.round(rng.uniform(0.0, 0.75, pend.size) * 4) / 4, np.inf)
        u = rng.random(int(np.count_nonzero(when < t1)))
        factor = np.exp(-0.3 * E.burnout[e[when < t1]])  # by pair read
        Pw = {k: v.copy() for k, v in P.items()}
        want = settle_reads(pend, when, t1, u, Pw, R, E, 0.3, 2, 0.7, 0.4, 0.5, 0.25, 1)
        got = settle(
            pend, when, t1, u, P["state"], P["req"], P["exp"], P["ready"], P["quality"], P["willing"],
            R["route"], R["t_post"], R["quality"], E.oncall, E.oncall_answer_prob, factor, 2, 0.7, 0.4, 0.5, 0.25, 1,
        )  # fmt: skip
        assert np.array_equal(got[0], want[0]) and got[1] == want[1]
        for name in P:
            assert np.array_equal(P[name], Pw[name], equal_nan=name == "ready"), name
        settled += want[1] > 0 and u.size > want[1]
    assert settled > 20  # most trials have both declines and pairs queued


def _c_exp(x: np.ndarray) -> np.ndarray:
    """The C library's exponential, element by element (the compiled kernels' exp)."""
    return np.array([math.exp(v) for v in np.ravel(x)], float).reshape(np.shape(x))


def _c_log(x: np.ndarray) -> np.ndarray:
    """The C library's logarithm, element by element (the compiled kernels' log)."""
    return np.array([math.log(v) for v in np.ravel(x)], float).reshape(np.shape(x))


@pytest.mark.parametrize("by_reference", [False, True])
@pytest.mark.parametrize("kernel", _both(AK.read_pending))
def test_read_pending_is_the_reading_it_replaced(kernel, by_reference):
    """The fused reading of a step equals the numpy steps it replaced (pending pairs,
    ``np.unique`` of their members, engaged rates, first openings or reads at once,
    burnout factors, decisions, declined pairs dropped): the same columns, the same count
    declined, the stream left in the same state; by either way of making members distinct."""
    rng = np.random.default_rng(23)
    n_req, declined, read = 9, 0, 0
    for trial in range(80):
        n_exp = int(rng.integers(2, 40)) if trial % 2 else 200_000  # a range far larger than the members: by a sort
        n = int(rng.integers(0, 60))
        P = {
            "req": rng.integers(0, n_req, n).astype(np.int64),
            "exp": rng.integers(0, min(n_exp, 40), n).astype(np.int32),
            "state": rng.integers(0, 3, n).astype(np.int8),  # PENDING 0, QUEUED 1, DROPPED 2
            "ready": np.full(n, np.nan),
            "quality": rng.random(n).astype(np.float32),
            "willing": rng.random(n) < 0.2,
        }
        R = {
            "route": rng.integers(0, 3, n_req).astype(np.int8),
            "t_post": np.round(rng.uniform(9.0, 10.1, n_req) * 24) / 24,  # ties with t0 and the purge
            "quality": rng.random(n_req).astype(np.float32),
        }
        E = Experts.new(n_exp)
        E.oncall[:] = rng.random(n_exp) < 0.3
        E.oncall_answer_prob[:] = rng.random(n_exp)
        E.oncall_reads_per_hour[:] = rng.random(n_exp) * 2
        E.answers_today[:] = rng.integers(0, 4, n_exp)
        E.burnout[:] = rng.exponential(2.0, n_exp) * (rng.random(n_exp) < 0.5)
        rates = (rng.random(n_exp) < 0.6, rng.random(n_exp) * 30, rng.random(n_exp) * 3, rng.random(n_exp) < 0.5)
        openings = trial % 4 != 3
        rules = (0, 1, 2, 0.4, int(rng.integers(0, 4)), openings, 0.3, 2, 0.7, 0.4, 0.05, 0.25)
        t0, t1 = 10.0, 10.0 + 1 / 12
        seed = int(rng.integers(1 << 30))
        mine, ref = np.random.default_rng(seed), np.random.default_rng(seed)
        # the numpy steps
        Pw = {k: v.copy() for k, v in P.items()}
        pend = np.flatnonzero(Pw["state"] == 0)
        want_declined = 0
        if pend.size:
            e = Pw["exp"][pend]
            since = np.maximum(R["t_post"][Pw["req"][pend]], t0)
            uniq, inv = np.unique(e, return_inverse=True)
            rho = AK.engaged_rates(uniq, *rates, E.oncall, E.oncall_reads_per_hour, E.answers_today, 0.4, rules[4])
            if openings:
                when, u = _first_reads_numpy(ref, inv, since, rho, t0, t1 - t0, t1)
            else:
                when = np.where(rho[inv] > 0, since, np.inf)
                u = ref.random(int(np.count_nonzero(when < t1)))
            if u.size:
                keep, want_declined = settle_reads(pend, when, t1, u, Pw, R, E, 0.3, 2, 0.7, 0.4, 0.05, 0.25, 1, _c_exp)
                Pw["state"][~keep] = 2
            read += u.size
        words, slot = DistinctIds(n_exp).scratch()
        got = kernel(
            GeneratorRef(mine) if by_reference else mine,
            (P["state"], P["exp"], P["req"], P["ready"], P["quality"], P["willing"]),
            (R["route"], R["t_post"], R["quality"]),
            (E.oncall, E.oncall_reads_per_hour, E.answers_today, E.oncall_answer_prob, E.burnout),
            rates, rules, t0, t1, words, slot,
        )  # fmt: skip
        assert got == want_declined
        for name in P:
            np.testing.assert_array_equal(P[name], Pw[name], err_msg=name)
        assert not words.any()  # the scratch bits are left clear
        assert mine.random() == ref.random()  # the same draws were made
        declined += want_declined
    assert declined > 20 and read > 100  # pairs were read, and some declined


@pytest.mark.parametrize("inputs", _both(AK.answer_inputs))
@pytest.mark.parametrize("record", _both(AK.record_answers))
@pytest.mark.parametrize("written", [False, True], ids=["row=id", "row map"])
def test_answer_kernels_equal_the_numpy_commit(inputs, record, written):
    rng = np.random.default_rng(18)
    n_exp, n_fac, n_cases, checked = 14, 5, 30, 0
    first_held = 7 if written else 0
    row_of = rng.permutation(n_cases).astype(np.int32) if written else np.zeros(0, np.int32)
    rows_of = (lambda ids: row_of[ids - first_held]) if written else (lambda ids: ids)
    for _ in range(40):
        n_pairs, n_req, m = 40, 20, int(rng.integers(0, 30))
        rows = rng.choice(n_pairs, m, replace=False)
        p_req, p_exp = rng.integers(0, n_req, n_pairs), rng.integers(0, n_exp, n_pairs).astype(np.int32)
        r_case = rng.integers(first_held, first_held + n_cases, n_req)
        c_spec, c_need = rng.integers(0, 3, n_cases).astype(np.int8), rng.integers(0, 3, n_cases).astype(np.int8)
        expertise, specialty = rng.random(n_exp).astype(np.float32), rng.integers(0, 3, n_exp).astype(np.int8)
        facility, fac_equipment = (
            rng.integers(0, n_fac, n_exp).astype(np.int32),
            rng.integers(0, 3, n_fac).astype(np.int8),
        )
        want = answer_inputs(
            rows, p_req, p_exp, r_case, rows_of, c_spec, c_need, expertise, specialty, facility, fac_equipment, 0.35
        )
        got = inputs(
            rows,
            p_req,
            p_exp,
            r_case,
            first_held,
            row_of,
            c_spec,
            c_need,
            expertise,
            specialty,
            facility,
            fac_equipment,
            0.35,
        )
        for name, w, g in zip(("req", "e", "case", "row", "skill", "lacks"), want, got, strict=True):
            assert np.array_equal(g, w) and (g.dtype == w.dtype or name == "row"), name  # rows only index
        _, e, _, row, _, _ = want
        start = np.round(rng.uniform(0.0, 2.0, m) * 24) / 24  # on the hour: ties with the working hours
        service, correct, u = rng.exponential(0.01, m), rng.random(m) < 0.6, rng.random(m)
        work_start = rng.integers(6, 10, n_exp).astype(np.float32)
        work_end = (work_start + rng.choice([8.0, 20.0], n_exp)).astype(np.float32)  # some past midnight
        ref, ker = Experts.new(n_exp), Experts.new(n_exp)
        ref.burnout[:] = ker.burnout[:] = rng.random(n_exp)
        first_ref = np.where(rng.random(n_cases) < 0.5, np.nan, 1.0)
        first_ker = first_ref.copy()
        want = record_answers(e, row, start, service, correct, u, 4, 7.0, work_start, work_end, ref, first_ref)
        got = record(
            e, row, start, service, correct, u, 4, 7.0, work_start, work_end, ker.burnout, ker.n_answers,
            ker.n_offhours, ker.answer_minutes, first_ker,
        )  # fmt: skip
        for w, g in zip(want, got, strict=True):
            assert np.array_equal(g, w) and g.dtype == w.dtype
        for name in ("burnout", "n_answers", "n_offhours", "answer_minutes"):
            assert np.array_equal(getattr(ker, name), getattr(ref, name)), name
        assert np.array_equal(first_ker, first_ref, equal_nan=True)
        checked += want[1].any() and (~want[1]).any()
    assert checked > 20  # most batches have answers both in and off hours


@pytest.mark.parametrize("kernel", _both(DK.insert_sorted))
def test_insert_sorted_is_np_insert_at_the_right_searchsorted(kernel):
    rng = np.random.default_rng(19)
    t, ids, ties = np.zeros(0), np.zeros(0, np.int64), 0
    for step in range(200):
        k = int(rng.integers(0, 8))
        t_new = np.round(rng.uniform(step / 10, step / 10 + 3.0, k), 1)  # ties, within and across batches
        if step % 50 == 7:
            t_new[: min(k, 2)] = np.nan  # NaN times sort last
        order = np.argsort(t_new, kind="stable")
        t_new, ids_new = t_new[order], rng.integers(0, 10**6, k)[order]
        at = np.searchsorted(t, t_new, side="right")
        want_t, want_ids = np.insert(t, at, t_new), np.insert(ids, at, ids_new)
        ties += np.isin(t_new, t).sum()
        t, ids = kernel(t, ids, t_new, ids_new)
        assert np.array_equal(t, want_t, equal_nan=True) and np.array_equal(ids, want_ids)
        done = int(rng.integers(0, 4))  # the queue's head leaves, as visits are taken
        t, ids = t[done:], ids[done:]
    assert ties > 20 and np.isnan(t).any()


@pytest.mark.parametrize("scores_kernel", _both(DK.combine_scores))
@pytest.mark.parametrize("accept_kernel", _both(DK.accept_first))
def test_combining_kernels_equal_the_numpy_combination(scores_kernel, accept_kernel):
    rng = np.random.default_rng(20)
    n_cases, n_labels, accepted, late = 25, 4, 0, 0
    for trial in range(60):
        m = int(rng.integers(1, 40))
        cs = np.sort(rng.integers(100, 100 + n_cases, m))
        rows = rng.permutation(n_cases)[cs - 100]  # cases held in any rows
        lab = rng.integers(0, n_labels, m).astype(np.int16)
        wv = np.log(rng.uniform(0.3, 0.95, m) * 3 / (1 - rng.uniform(0.3, 0.95, m)))
        if trial % 2:  # equal weights (majority voting): ties between labels, broken by the latest answer
            wv[:] = 1.5
        end = np.round(rng.uniform(0.0, 1.0, m), 1)
        held = [
            rng.normal(0.0, 1.0, (n_cases, n_labels)) * (rng.random((n_cases, 1)) < 0.5) * (trial % 2 == 0),
            rng.integers(0, 3, n_cases).astype(np.int16),
            np.full(n_cases, -1, np.int16),
            np.where(rng.random(n_cases) < 0.5, np.nan, 0.5),
        ]
        ref = [a.copy() for a in held]
        accept, min_answers = 0.9, int(rng.integers(1, 3))
        want_counted, want_pos = combine_batch(cs, lab, wv, rows, *ref[:3], ref[3], end, accept, min_answers)
        scores, bumped, n_cum = scores_kernel(cs, lab, wv, rows, held[0], held[1])
        lead, conf = combine_posterior(bumped)
        counted, pos = accept_kernel(
            cs, rows, scores, n_cum, lead, conf, accept, min_answers, end, held[0], held[1], held[2], held[3]
        )
        assert np.array_equal(counted, want_counted) and np.array_equal(pos, want_pos)
        for got, want in zip(held, ref, strict=True):
            assert np.array_equal(got, want, equal_nan=True)
        accepted += pos.size
        late += (~counted).sum()
    assert accepted > 50 and late > 10  # acceptances, some with answers after them


def _held_combination(rng, n_cases: int, n_labels: int) -> list[np.ndarray]:
    """Random held tables of a combination: scores (half the cases with some), answers
    counted, leads, times of the first answer (half NaN)."""
    return [
        rng.normal(0.0, 1.0, (n_cases, n_labels)) * (rng.random((n_cases, 1)) < 0.5),
        rng.integers(0, 3, n_cases).astype(np.int16),
        np.full(n_cases, -1, np.int16),
        np.where(rng.random(n_cases) < 0.5, np.nan, 0.5),
    ]


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("n_labels", [2, 4, 9, 20])
def test_compiled_combination_equals_scores_posterior_accept(compiled, n_labels):
    """The combination's compiled passes around numpy's exponential and row sums against what it
    did before: ``combine_scores``, ``combine_posterior`` (numpy) and ``accept_first``; the
    same leads, counted flags, accepting answers and held tables, bit for bit; and the open
    answers as ``np.flatnonzero(np.isnan(t_dx[rows]))``."""
    from sim.processes.diagnosis import resolution_kernels as RZ

    def pick(k):
        return k if compiled else k.py_func

    open_answers, shifted, accept = pick(RZ.open_answers), pick(RZ.shifted_scores), pick(RZ.accept_combined)
    rng = np.random.default_rng(22)
    n_cases, accepted = 25, 0
    for trial in range(40):
        m = int(rng.integers(1, 40))
        case = np.sort(rng.integers(100, 100 + n_cases, m)).astype(np.int64)
        row_of = rng.permutation(n_cases).astype(np.int32)  # cases held in any rows
        t_dx = np.where(rng.random(n_cases) < 0.3, 1.0, np.nan)
        idx, cs, rows = open_answers(case, 100, row_of, t_dx)
        keep = np.flatnonzero(np.isnan(t_dx[row_of[case - 100]]))
        assert np.array_equal(idx, keep) and np.array_equal(cs, case[keep]) and np.array_equal(rows, row_of[cs - 100])
        if idx.size == 0:
            continue
        lab = rng.integers(0, n_labels, idx.size).astype(np.int16)
        wv = np.full(idx.size, 1.5) if trial % 2 else np.log(rng.uniform(0.3, 0.95, idx.size) * 9)
        end = np.round(rng.uniform(0.0, 1.0, idx.size), 1)
        held = _held_combination(rng, n_cases, n_labels)
        ref = [a.copy() for a in held]
        accept_at, min_answers = {2: 0.9, 4: 0.9, 9: 0.6, 20: 0.3}[n_labels], int(rng.integers(1, 3))
        scores, bumped, n_cum = DK.combine_scores(cs, lab, wv, rows, ref[0], ref[1])
        want_lead, conf = combine_posterior(bumped)
        want_counted, want_pos = DK.accept_first(
            cs, rows, scores, n_cum, want_lead, conf, accept_at, min_answers, end, *ref
        )  # fmt: skip
        scores, s, n_cum = shifted(cs, lab, wv, rows, held[0], held[1])
        p = np.exp(s)
        lead, counted, pos = accept(
            p, p.sum(axis=1), cs, rows, scores, n_cum, accept_at, min_answers, end, *held
        )  # fmt: skip
        assert np.array_equal(lead, want_lead) and lead.dtype == want_lead.dtype
        assert np.array_equal(counted, want_counted) and np.array_equal(pos, want_pos)
        for got, want in zip(held, ref, strict=True):
            assert np.array_equal(got, want, equal_nan=True)
        accepted += pos.size
    assert accepted > 20


@pytest.mark.parametrize("compiled", [True, False])
def test_drop_closed_is_the_masked_assignment(compiled):
    from sim.processes.diagnosis import resolution_kernels as RZ

    kernel = RZ.drop_closed if compiled else RZ.drop_closed.py_func
    rng = np.random.default_rng(37)
    dropped = 0
    for _ in range(30):
        n, n_req = int(rng.integers(0, 200)), int(rng.integers(1, 30))
        state = rng.integers(0, 3, n).astype(np.int8)
        req = rng.integers(0, n_req, n).astype(np.int64)
        is_open = rng.random(n_req) < 0.6
        want = state.copy()
        want[~is_open[req]] = 2
        kernel(state, req, is_open, 2)
        assert np.array_equal(state, want)
        dropped += int((~is_open[req]).sum())
    assert dropped > 100


@pytest.mark.parametrize("compiled", [True, False])
def test_pairwise_sum_is_numpys_row_sum(compiled):
    """The row sums of the posterior, summed as ``np.add.reduce`` sums a row (in order below
    8 values, eight running sums above, halves above 128), bit for bit."""
    from sim.processes.diagnosis import resolution_kernels as RZ

    kernel = RZ._pairwise_sum if compiled else RZ._pairwise_sum.py_func
    rng = np.random.default_rng(31)
    for n in [*range(0, 40), 64, 127, 128, 129, 200, 300, 1000]:
        p = rng.random((20, n)) * np.exp(rng.uniform(-30, 0, (20, n)))
        want = np.add.reduce(p, axis=1)
        got = np.array([kernel(p[i]) for i in range(20)])
        assert np.array_equal(got, want), n


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("n_labels", [2, 5, 9, 20])
@pytest.mark.parametrize("majority", [False, True])
def test_combine_answers_is_the_combination_it_replaced(compiled, n_labels, majority):
    """The combination in one pass against the steps it replaced: the open answers, the weights
    ``log(c K / (1 - c))`` of the clipped confidences (or the vote accuracy), the shifted
    scores, their exponentials, numpy's row sums and the acceptance: the same positions,
    counted flags, accepting answers, leads and held tables, bit for bit (the logarithms
    and exponentials are the C library's in the compiled kernel, numpy's interpreted)."""
    from sim.processes.diagnosis import resolution_kernels as RZ

    kernel = RZ.combine_answers if compiled else RZ.combine_answers.py_func
    rng = np.random.default_rng(29)
    n_cases, accepted = 25, 0
    for _ in range(40):
        m = int(rng.integers(0, 40))
        case = np.sort(rng.integers(100, 100 + n_cases, m)).astype(np.int64)
        row_of = rng.permutation(n_cases).astype(np.int32)
        t_dx = np.where(rng.random(n_cases) < 0.3, 1.0, np.nan)
        label = rng.integers(0, n_labels, m).astype(np.int16)
        confidence = rng.uniform(0.0, 1.0, m).astype(np.float32)
        confidence[rng.random(m) < 0.1] = 1.0  # clipped to 1 - 1e-6
        end = np.round(rng.uniform(0.0, 1.0, m), 1)
        held = _held_combination(rng, n_cases, n_labels)
        ref = [a.copy() for a in held]
        rules = (majority, 0.7, n_labels, {2: 0.9, 5: 0.8, 9: 0.6, 20: 0.3}[n_labels], int(rng.integers(1, 3)))
        # the steps it replaced
        idx, cs, rows = RZ.open_answers(case, 100, row_of, t_dx)
        c = np.full(idx.size, 0.7) if majority else confidence[idx].astype(float)
        c = np.minimum(np.maximum(c, 1e-6), 1 - 1e-6)
        # (compiled, the C library's log and exp; interpreted, numpy's)
        w = _c_log(c * (n_labels - 1) / (1.0 - c)) if compiled else np.log(c * (n_labels - 1) / (1.0 - c))
        scores, s, n_cum = RZ.shifted_scores(cs, label[idx], w, rows, ref[0], ref[1])
        p = _c_exp(s) if compiled else np.exp(s)
        want_lead, want_counted, want_pos = RZ.accept_combined(
            p, np.add.reduce(p, axis=1), cs, rows, scores, n_cum, rules[3], rules[4], end[idx], *ref
        )  # fmt: skip
        got = kernel(case, label, confidence, end, 100, row_of, t_dx, rules, held[0], tuple(held[1:]))
        for g, want in zip(got, (idx, want_counted, want_pos, want_lead), strict=True):
            assert np.array_equal(g, want)
        for g, want in zip(held, ref, strict=True):
            assert np.array_equal(g, want, equal_nan=True)
        accepted += want_pos.size
    assert accepted > 20


@pytest.mark.parametrize("kernel", _both(DK.choose_groups))
@pytest.mark.parametrize("any_specialty", [False, True], ids=["specialty", "any"])
@pytest.mark.parametrize("per_request", [1, 2])
def test_choose_groups_equals_the_numpy_ranking(kernel, any_specialty, per_request):
    rng = np.random.default_rng(13)
    n, n_groups, n_spec = 40, 12, 4
    for _ in range(30):
        # memberships (a clinician twice in a group, too), rows sorted by group and clinician
        rows = int(rng.integers(0, 120))
        key = np.sort(rng.integers(0, n_groups, rows) * n + rng.integers(0, n, rows))
        m_group, g_members = (key // n).astype(np.int32), (key % n).astype(np.int32)
        m_muted = rng.random(rows) < 0.2
        g_indptr, c_indptr, c_rows, c_groups, _ = membership_index(g_members, m_group, m_muted, n, n_groups)
        counts = np.diff(c_indptr)
        # per clinician, the muted rows or more (a muted row removed is counted until the rebuild)
        c_muted = (np.bincount(g_members[m_muted], minlength=n) + rng.integers(0, 2, n)).astype(np.int32)
        answering = rng.random(n) < 0.7
        specialty = rng.integers(0, n_spec, n).astype(np.int8)
        expertise = (rng.integers(0, 4, n) / 4).astype(np.float32)  # ties in stock
        count = rng.integers(0, 3, (n_groups, n_spec)).astype(np.int64)
        skill = count * 0.25
        stock = (count, skill, count.sum(axis=1), skill.sum(axis=1))
        askers = rng.integers(0, n, int(rng.integers(0, 15))).astype(np.int32)
        spec = rng.integers(0, n_spec, askers.size).astype(np.int64)
        u = rng.random(int(counts[askers].sum()))
        args = (answering, specialty, expertise, stock, askers, spec, u, any_specialty, 0.5, per_request)
        want = choose_groups((c_indptr, c_groups, c_rows, m_muted), *args)
        got = kernel((c_indptr, c_groups, g_indptr, g_members, m_muted, c_muted), *args)
        for w, g in zip(want, got, strict=True):
            assert np.array_equal(g, w)


@pytest.mark.parametrize("kernel", _both(AK.first_opening))
def test_first_opening_equals_the_merge_search(kernel):
    rng = np.random.default_rng(5)
    for _ in range(50):
        n_owner = int(rng.integers(1, 20))
        counts = rng.poisson(1.5, n_owner)
        times = np.round(rng.uniform(0, 1, int(counts.sum())), 2)  # ties with the queries
        q_owner = rng.integers(0, n_owner, int(rng.integers(0, 40)))
        q_time = np.round(rng.uniform(0, 1, q_owner.size), 2)
        want = first_at_or_after(np.repeat(np.arange(n_owner), counts), times, q_owner, q_time)
        assert np.array_equal(kernel(counts, times, q_owner, q_time), want)


def _first_reads_numpy(rng, inv, since, rho, t0, dt, t1):
    """The numpy formulation :func:`AK.first_reads` replaced (its draws, in its order)."""
    k = rng.poisson(rho * dt)
    n_open = int(k.sum())
    if n_open == 0:
        return np.full(inv.size, np.inf), np.zeros(0)
    when = AK.first_opening(k, t0 + rng.random(n_open) * dt, inv, since)
    return when, rng.random(int(np.count_nonzero(when < t1)))


@pytest.mark.parametrize("by_reference", [False, True])
@pytest.mark.parametrize("kernel", _both(AK.first_reads))
def test_first_reads_are_the_numpy_draws(kernel, by_reference):
    """The first chat openings and the decisions' uniforms: the same numbers as the numpy
    formulation, the stream left in the same state (rates from none to many openings a step)."""
    rng = np.random.default_rng(12)
    n_read = 0
    for scale in (0.0, 0.2, 3.0, 40.0, 400.0):  # openings per step from none to hundreds
        for _ in range(10):
            n_members = int(rng.integers(1, 30))
            rho = rng.random(n_members) * scale * 12  # per day, steps of 2 hours
            rho[rng.random(n_members) < 0.2] = 0.0
            inv = rng.integers(0, n_members, int(rng.integers(0, 60)))
            t0, dt = 10.0, 1 / 12
            since = t0 + dt * np.where(rng.random(inv.size) < 0.5, 0.0, rng.random(inv.size))
            seed = int(rng.integers(1 << 30))
            mine, ref = np.random.default_rng(seed), np.random.default_rng(seed)
            want = _first_reads_numpy(ref, inv, since, rho, t0, dt, t0 + dt)
            stream = GeneratorRef(mine) if by_reference else mine
            got = kernel(stream, inv, since, rho, np.exp(-(rho * dt)), t0, dt, t0 + dt)
            for w, g in zip(want, got, strict=True):
                np.testing.assert_array_equal(g, w)
            assert mine.random() == ref.random()  # the same draws were made
            n_read += want[1].size
    assert n_read > 200  # reads happened (and steps without any opening, at scale 0)


@pytest.mark.parametrize("kernel", _both(DK.group_stock))
def test_group_stock_equals_the_bincounts(kernel):
    rng = np.random.default_rng(8)
    n, rows, n_groups, n_spec = 300, 2000, 40, 6
    clin = rng.integers(0, n, rows).astype(np.int32)
    group = rng.integers(0, n_groups, rows).astype(np.int32)
    muted = rng.random(rows) < 0.2
    answering = rng.random(n) < 0.7
    spec = rng.integers(0, n_spec, n).astype(np.int8)
    expertise = rng.random(n).astype(np.float32)
    count, skill, count_all, skill_all = kernel(clin, group, muted, answering, spec, expertise, n_groups, n_spec)
    ok = answering[clin] & ~muted
    cell = group[ok].astype(np.int64) * n_spec + spec[clin][ok]
    x = expertise[clin[ok]].astype(float)
    assert np.array_equal(count, np.bincount(cell, minlength=n_groups * n_spec).reshape(n_groups, n_spec))
    assert np.array_equal(skill, np.bincount(cell, weights=x, minlength=n_groups * n_spec).reshape(n_groups, n_spec))
    assert np.array_equal(count_all, np.bincount(group[ok], minlength=n_groups))
    assert np.array_equal(skill_all, np.bincount(group[ok], weights=x, minlength=n_groups))


@pytest.mark.parametrize("kernel", _both(DK.restock_groups))
def test_restock_groups_makes_those_groups_as_a_full_stock_does(kernel):
    rng = np.random.default_rng(9)
    n, rows, n_groups, n_spec = 300, 3000, 50, 6
    group = np.sort(rng.integers(0, n_groups - 3, rows)).astype(np.int32)  # rows sorted by group; 3 groups empty
    clin = rng.integers(0, n, rows).astype(np.int32)
    answering = rng.random(n) < 0.7
    spec = rng.integers(0, n_spec, n).astype(np.int8)
    expertise = rng.random(n).astype(np.float32)
    g_indptr = np.zeros(n_groups + 1, np.int64)
    np.cumsum(np.bincount(group, minlength=n_groups), out=g_indptr[1:])
    muted = rng.random(rows) < 0.2
    stock = DK.group_stock(clin, group, muted, answering, spec, expertise, n_groups, n_spec)
    # some rows of some groups change (their members, and their mutes); the others stay
    changed = np.array([0, 7, 8, 30, n_groups - 1], np.int32)  # the last one empty
    in_changed = np.isin(group, changed)
    muted[in_changed] = rng.random(int(in_changed.sum())) < 0.5
    clin[in_changed] = rng.integers(0, n, int(in_changed.sum()))
    kernel(changed, g_indptr, clin, muted, answering, spec, expertise, stock)
    full = DK.group_stock(clin, group, muted, answering, spec, expertise, n_groups, n_spec)
    for got, want in zip(stock, full, strict=True):
        assert np.array_equal(got, want)  # bit for bit: each group's rows summed in row order


@pytest.mark.parametrize("kernel", _both(DK.pick_in_lists))
def test_pick_in_lists_equals_the_loop_over_lists(kernel):
    rng = np.random.default_rng(4)
    n_rows, n_lists = 30, 5
    lists, indptr = [], np.zeros((n_lists, n_rows + 1), np.int64)
    for k in range(n_lists):
        counts = rng.integers(1, 6, n_rows)
        np.cumsum(counts, out=indptr[k, 1:])
        lists.append(rng.integers(0, 1000, counts.sum()).astype(np.int32))
    flat = np.concatenate(lists)
    offset = np.cumsum([0] + [x.size for x in lists[:-1]]).astype(np.int64)
    key = rng.integers(0, n_lists, 500).astype(np.int8)
    row = rng.integers(0, n_rows, 500).astype(np.int32)
    u = rng.random(500)
    want = np.empty(500, np.int32)
    for k in np.unique(key):  # the numpy it replaced (Staff.pick_treating)
        sel = key == k
        lo, hi = indptr[k, row[sel]], indptr[k, row[sel] + 1]
        want[sel] = lists[k][lo + (u[sel] * (hi - lo)).astype(np.int64)]
    assert np.array_equal(kernel(indptr, flat, offset, key, row, u), want)


@pytest.mark.parametrize("compiled", [True, False])
def test_run_rank_equals_the_segment_helper(compiled):
    kernel, ref = DK.run_rank if compiled else DK.run_rank.py_func, segment_rank
    rng = np.random.default_rng(10)
    for n in (0, 1, 5, 200):
        for dtype in (np.int32, np.int64):
            keys = np.sort(rng.integers(0, 12, n)).astype(dtype)
            got, want = kernel(keys), ref(keys)
            assert np.array_equal(got, want) and got.dtype == want.dtype


@pytest.mark.parametrize("kernel", _both(DK.lookup_sorted))
def test_lookup_sorted_equals_lookup(kernel):
    rng = np.random.default_rng(11)
    for n_keys, n_query in ((0, 5), (3, 0), (10, 40), (50, 200)):
        keys = np.unique(rng.integers(0, 80, n_keys)).astype(np.int64)
        values = rng.random(keys.size)
        query = rng.integers(-3, 90, n_query).astype(np.int64)
        assert np.array_equal(kernel(keys, values, query, np.inf), lookup(keys, values, query, np.inf))


def _open_reference(case, first_held, row_of, t_dx):
    """Whether each case is held and not diagnosed, as the numpy steps before ``open_cases`` computed it."""
    if row_of.size == 0:
        return np.isnan(t_dx[case])
    off = case - first_held
    r = np.where(off >= 0, row_of[np.clip(off, 0, row_of.size - 1)], -1)
    return (r >= 0) & np.isnan(t_dx[np.maximum(r, 0)])


def _open_keys_reference(a, b, n, first_held, row_of, t_dx, t_ref):
    """The merge of the asked keys in numpy: concatenate, keep the keys of cases held, not
    diagnosed and not referred (``t_ref`` NaN), sort."""
    keys = np.concatenate([a, b])
    case = keys // n
    row = case if row_of.size == 0 else row_of[np.clip(case - first_held, 0, max(row_of.size - 1, 0))]
    keys = keys[_open_reference(case, first_held, row_of, t_dx) & np.isnan(t_ref[np.maximum(row, 0)])]
    keys.sort(kind="stable")
    return keys


@pytest.mark.parametrize("kernel", _both(DK.merge_open_keys))
@pytest.mark.parametrize("written", [False, True])
def test_merge_open_keys_and_open_cases_equal_the_numpy_they_replaced(kernel, written):
    rng = np.random.default_rng(23)
    n = 50  # clinicians: key = case * n + member
    for n_cases, n_a, n_b in ((0, 0, 0), (5, 0, 7), (5, 9, 0), (40, 300, 80), (200, 2000, 600)):
        first_held = 10 if written else 0
        t_dx = np.where(rng.random(max(n_cases, 1)) < 0.4, rng.random(max(n_cases, 1)), np.nan)
        t_ref = np.where(rng.random(max(n_cases, 1)) < 0.3, rng.random(max(n_cases, 1)), np.nan)  # referred
        if written:  # rows of the cases held: ids from first_held on, some written out (-1)
            row_of = np.arange(n_cases, dtype=np.int32)
            row_of[rng.random(n_cases) < 0.3] = -1
            lo, hi = first_held, first_held + max(n_cases, 1)
        else:
            row_of, lo, hi = np.zeros(0, np.int32), 0, max(n_cases, 1)
        a = np.sort(rng.integers(lo, hi, n_a) * n + rng.integers(0, n, n_a))  # repeats, too
        b = np.sort(rng.integers(lo, hi, n_b) * n + rng.integers(0, n, n_b))
        if written and n_b:
            b[0] = (first_held - 3) * n  # a case before the first held: written out
            b.sort()
        got = kernel(a, b, n, first_held, row_of, t_dx, t_ref)
        want = _open_keys_reference(a, b, n, first_held, row_of, t_dx, t_ref)
        assert got.dtype == np.int64 and np.array_equal(got, want)
        if n_a + n_b > 100:
            assert 0 < got.size < n_a + n_b  # some kept, some dropped
            # the keys of referred cases go, too: fewer than those of cases held and undiagnosed
            assert got.size < _open_keys_reference(a, b, n, first_held, row_of, t_dx, t_ref * np.nan).size
        cases = np.concatenate([a, b]) // n
        is_open = (DK.open_cases if kernel is DK.merge_open_keys else DK.open_cases.py_func)(
            cases, first_held, row_of, t_dx
        )
        assert is_open.dtype == bool and np.array_equal(is_open, _open_reference(cases, first_held, row_of, t_dx))


@pytest.mark.parametrize("compiled", [True, False])
def test_unique_kernels_equal_np_unique(compiled):
    """Both ways to the distinct values against ``np.unique(return_inverse=True)``: by a sort,
    and by a pass over the bits of the range (values at every place of a 64-bit word, the
    words' ends included)."""
    rng = np.random.default_rng(13)
    inverse = unique_inverse if compiled else unique_inverse.py_func
    bits = unique_inverse_bits if compiled else unique_inverse_bits.py_func
    for span in (40, 64, 200):
        for n in (0, 1, 9, 300):
            for dtype in (np.int32, np.int64):
                v = rng.integers(0, span, n).astype(dtype)
                if n >= 9:
                    v[:4] = (0, min(63, span - 1), span - 1, min(64, span - 1))  # a word's first and last bits
                u, inv = inverse(v)
                u_ref, inv_ref = np.unique(v, return_inverse=True)
                assert np.array_equal(u, u_ref) and u.dtype == u_ref.dtype
                assert np.array_equal(inv, inv_ref) and inv.dtype == inv_ref.dtype
                words, slot = np.zeros(span // 64 + 1, np.uint64), np.full(span, -7, np.int32)
                with np.errstate(over="ignore"):  # (interpreted: the De Bruijn product wraps, as compiled)
                    u2, inv2 = bits(v, words, slot)
                assert np.array_equal(u2, u_ref) and u2.dtype == u_ref.dtype
                assert np.array_equal(inv2, inv_ref) and inv2.dtype == inv_ref.dtype
                assert np.array_equal(slot[u_ref], np.arange(u_ref.size))  # each value's position (distinct_bits)
                assert not words.any()  # left as it came, for the next call


@pytest.mark.parametrize("many", [False, True])
def test_distinct_ids_by_either_path_are_np_unique(many):
    n = 50_000
    distinct = DistinctIds(n)
    rng = np.random.default_rng(15)
    size = n // DENSE_UNIQUE_RATIO + (20 if many else -20)
    for _ in range(3):  # the scratch is reused
        who = rng.integers(0, n, size).astype(np.int32)
        u, inv = distinct(who)
        u_ref, inv_ref = np.unique(who, return_inverse=True)
        assert np.array_equal(u, u_ref) and np.array_equal(inv, inv_ref)
    assert (distinct._slot.size == n) == many  # the pass over the range's bits was taken (or not)


@pytest.mark.parametrize("kernel", _both(membership_index))
def test_membership_index_equals_the_bincounts_and_the_stable_argsort(kernel):
    rng = np.random.default_rng(14)
    for n_clin, n_groups, rows in ((5, 3, 0), (40, 12, 300), (300, 50, 2000)):
        group = np.sort(rng.integers(0, n_groups, rows)).astype(np.int32)
        clin = rng.integers(0, n_clin, rows).astype(np.int32)
        muted = rng.random(rows) < 0.3
        g_indptr, c_indptr, c_rows, c_groups, g_muted = kernel(clin, group, muted, n_clin, n_groups)
        want_g = np.zeros(n_groups + 1, np.int64)
        np.cumsum(np.bincount(group, minlength=n_groups), out=want_g[1:])
        want_c = np.r_[0, np.cumsum(np.bincount(clin, minlength=n_clin))]
        order = np.argsort(clin, kind="stable")
        for got, want in (
            (g_indptr, want_g),
            (c_indptr, want_c),
            (c_rows, order.astype(np.int32)),
            (c_groups, group[order.astype(np.int32)]),
            (g_muted, np.bincount(group[muted], minlength=n_groups)),
        ):
            assert np.array_equal(got, want) and got.dtype == want.dtype


@pytest.mark.parametrize("kernel", _both(membership_index))
def test_membership_index_refuses_rows_out_of_range(kernel):
    with pytest.raises(ValueError):
        kernel(np.array([0, 1], np.int32), np.array([0, 3], np.int32), np.zeros(2, bool), 2, 3)


@pytest.mark.parametrize("kernel", _both(DK.item_states))
def test_item_states_equals_the_loop_over_items(kernel):
    rng = np.random.default_rng(15)
    n_items, n = 4, 60
    state = rng.integers(0, 4, (n_items, n)).astype(np.int8)
    item = np.array([2, 0, 3], np.int64)  # bit k: item[k]
    rumor = np.array([True, False, True])
    for size in (0, 1, 200):
        bits = rng.integers(0, 8, size).astype(np.int32)
        who = rng.integers(0, n, size).astype(np.int32)
        ad, bel, cor = (np.zeros(size, bool) for _ in range(3))
        for k in range(item.size):  # the numpy it replaced (CareLink._states)
            on = ((bits >> k) & 1).astype(bool)
            s = state[item[k], who]
            if rumor[k]:
                bel |= on & (s == 1)
                cor |= on & (s == 2)
            else:
                ad |= on & (s == 2)
        got = kernel(bits, who, state, item, rumor, 2, 1, 2)
        for g, w in zip(got, (ad, bel, cor), strict=True):
            assert np.array_equal(g, w) and g.dtype == w.dtype


@pytest.mark.parametrize("kernel", _both(DK.eligible_members))
@pytest.mark.parametrize("same_specialty", [False, True])
def test_eligible_members_are_the_masked_expansion(kernel, same_specialty):
    rng = np.random.default_rng(16)
    for n_clin, n_groups, rows, posts in ((6, 3, 0, 4), (60, 12, 400, 30), (300, 40, 3000, 0), (300, 40, 3000, 200)):
        group = np.sort(rng.integers(0, n_groups, rows)).astype(np.int32)
        g_indptr = np.zeros(n_groups + 1, np.int64)
        np.cumsum(np.bincount(group, minlength=n_groups), out=g_indptr[1:])
        g_members = rng.integers(0, n_clin, rows).astype(np.int32)
        m_muted = rng.random(rows) < 0.2
        answering = rng.random(n_clin) < 0.7
        specialty = rng.integers(0, 5, n_clin).astype(np.int8)
        groups = rng.integers(0, n_groups, posts).astype(np.int64)
        # the asker: the first member of the post's group when it has one (so some rows are the asker's own)
        asker = g_members[np.minimum(g_indptr[groups], rows - 1)] if rows else rng.integers(0, n_clin, posts)
        asker = asker.astype(np.int32)
        spec = rng.integers(0, 5, posts).astype(np.int64)
        post, member = kernel(g_indptr, g_members, m_muted, answering, specialty, groups, asker, spec, same_specialty)
        # the numpy it replaced
        rows_x, kk = csr_rows(g_indptr, groups)
        m = g_members[rows_x]
        ok = answering[m] & ~m_muted[rows_x] & (m != asker[kk])
        if same_specialty:
            ok &= specialty[m] == spec[kk]
        assert np.array_equal(post, kk[ok]) and post.dtype == kk.dtype
        assert np.array_equal(member, m[ok]) and member.dtype == m.dtype
        if posts and rows:
            assert 0 < post.size < rows_x.size  # some members pass, some do not: the masks are exercised


@pytest.mark.parametrize("kernel", _both(merge_where))
def test_merge_where_is_flatnonzero_of_what_the_lists_cover(kernel):
    rng = np.random.default_rng(21)
    for n, na, nb in ((1, 0, 0), (50, 0, 7), (50, 9, 0), (400, 60, 40), (3000, 500, 900)):
        keep = rng.random(n) < 0.3
        a = np.unique(rng.integers(0, n, na)).astype(np.int64)  # last call's list: distinct
        b = np.sort(rng.integers(0, n, nb)).astype(np.int64)  # joined since: repeats, and some of a
        keep[rng.integers(0, n, n // 10)] = False
        covered = np.zeros(n, bool)
        covered[a] = covered[b] = True
        got = kernel(a, b, keep)
        assert got.dtype == np.int64
        assert np.array_equal(got, np.flatnonzero(keep & covered))


def _trust_and_u(seeds, m: int):
    """Per candidate: a trust factor on a coarse grid (ties; none without a seed), and a uniform."""
    f_seed, u_seed = seeds
    factor = None if f_seed is None else np.round(np.random.default_rng(f_seed).random(m), 1)
    return factor, np.random.default_rng(u_seed).random(m)


def _contacts_numpy(cases, asker, spec, indptr, neighbors, tier, answering, specialty, expertise, n, asked, seeds):
    """What Router.ask_contacts did before :func:`DK.contact_candidates` and :func:`DK.best_contacts`:
    (index into cases, contact) of the contact each case's asker messages."""
    from sim.arrays import sorted_member

    rows, k = csr_rows(indptr, asker)
    nb = neighbors[rows]
    ok = (tier[nb] > tier[asker[k]]) & answering[nb]
    keys = cases[k].astype(np.int64) * n + nb
    ok &= ~(sorted_member(keys, asked[0]) | sorted_member(keys, asked[1]))
    k, nb = k[ok], nb[ok]
    score = 2.0 * (specialty[nb] == spec[k]) + expertise[nb]
    factor, u = _trust_and_u(seeds, k.size)
    if factor is not None:
        score = score * factor
    order = np.lexsort((u, -score, k))
    k, nb = k[order], nb[order]
    first = segment_first(k)
    return k[first], nb[first]


@pytest.mark.parametrize("trust", [False, True])
@pytest.mark.parametrize("interpreted", [False, True])
def test_contact_choice_is_the_numpy_filter_and_lexsort(interpreted, trust):
    """The contact each case's asker messages: at a higher tier, answering, not asked about
    the case yet; the best score (specialty, expertise, times trust), ties by a uniform. Scores
    on a coarse grid, so that ties are frequent; several cases of one asker."""
    candidates = DK.contact_candidates.py_func if interpreted else DK.contact_candidates
    best = DK.best_contacts.py_func if interpreted else DK.best_contacts
    rng = np.random.default_rng(9)
    n = 60
    seen = np.zeros(3, np.int64)
    for _ in range(40):
        deg = rng.integers(0, 8, n)
        indptr = np.concatenate([[0], np.cumsum(deg)]).astype(np.int64)
        neighbors = rng.integers(0, n, int(indptr[-1])).astype(np.int32)
        tier = rng.integers(0, 3, n).astype(np.int8)
        answering = rng.random(n) < 0.8
        specialty = rng.integers(0, 3, n).astype(np.int8)
        expertise = np.round(rng.random(n) * 2, 0) / 2  # 0, 0.5 or 1: ties
        cases = np.sort(rng.choice(500, int(rng.integers(1, 30)), replace=False)).astype(np.int64)
        asker = rng.integers(0, n, cases.size).astype(np.int32)
        spec = rng.integers(0, 3, cases.size).astype(np.int8)
        pairs = np.unique(rng.choice(500, 200) * n + rng.integers(0, n, 200))
        cut = int(rng.integers(0, pairs.size))
        asked = (np.sort(pairs[:cut]), np.sort(pairs[cut:]))
        for c in cases[:5]:  # some of the cases' own contacts asked already
            pairs_c = c * n + neighbors[indptr[asker[cases == c][0]] : indptr[asker[cases == c][0] + 1]]
            asked = (asked[0], np.union1d(asked[1], pairs_c[::2]))
        f_seed, u_seed = rng.integers(1 << 30, size=2)
        seeds = (f_seed if trust else None, u_seed)
        want_k, want_nb = _contacts_numpy(
            cases, asker, spec, indptr, neighbors, tier, answering, specialty, expertise, n, asked, seeds
        )
        none = pairs[:0]
        k, nb = candidates(cases, asker, indptr, neighbors, tier, answering, n, *asked, none, none.astype(bool))
        # the keys made in the step are a third pool; cases marked as never asked before skip the first two
        split = candidates(
            cases, asker, indptr, neighbors, tier, answering, n, asked[0], none, asked[1], none.astype(bool)
        )
        np.testing.assert_array_equal(split[0], k)
        np.testing.assert_array_equal(split[1], nb)
        fresh = np.isin(cases, np.concatenate(asked) // n, invert=True)  # no key of theirs anywhere
        skipping = candidates(cases, asker, indptr, neighbors, tier, answering, n, *asked, none, ~fresh)
        np.testing.assert_array_equal(skipping[0], k)
        np.testing.assert_array_equal(skipping[1], nb)
        factor, u = _trust_and_u(seeds, k.size)
        pick = best(k, nb, spec, specialty, expertise, np.zeros(0) if factor is None else factor, u)
        np.testing.assert_array_equal(k[pick], want_k)
        np.testing.assert_array_equal(nb[pick], want_nb)
        none_asked = candidates(cases, asker, indptr, neighbors, tier, answering, n, none, none, none, ~fresh)[0]
        seen += [want_k.size, none_asked.size - k.size, k.size - want_k.size]
    assert (seen > 20).all()  # cases with a contact; candidates asked already; candidates not chosen


def test_bounded_and_sorted_copy_are_numpys_clip_and_sort():
    """The wrapper-free forms used on a step's path give np.clip's and np.sort's values
    (NaN and the bounds included; +0.0 inputs, as the model's are) and leave their input be."""
    from sim.arrays import bounded, sorted_copy

    rng = np.random.default_rng(23)
    for dtype in (np.float32, np.float64):
        x = rng.normal(0.5, 1.0, 500).astype(dtype)
        x[:6] = (np.nan, 0.0, 1.0, -np.inf, np.inf, 5.0)
        for lo, hi in ((0, 1), (0, 5), (1e-6, 1 - 1e-6)):
            got, want = bounded(x, lo, hi), np.clip(x, lo, hi)
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(got, want)
            assert not np.signbit(got[1:]).any()  # no -0.0 comes out of +0.0 inputs
    assert float(bounded(7.5, 0, 5)) == 5.0
    v = rng.integers(0, 50, 300)
    before = v.copy()
    np.testing.assert_array_equal(sorted_copy(v), np.sort(v))
    np.testing.assert_array_equal(v, before)
