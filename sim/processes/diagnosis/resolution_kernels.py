"""Compiled steps of resolution (numba, ``nopython``): the diagnosis of the cases due in a
step, the accounting of the answers finished in it, and the closing of the requests of
the cases diagnosed.

Each replaces a run of small numpy operations on the few cases of a step (a dozen array
calls, each costing more to set up than its work), with the same arithmetic in the same
order: the results are bit-identical. The tests compare each kernel with that numpy.
Compiled code is cached next to this file.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .kernels import _held_row, accept_first, combine_scores, open_cases

__all__ = [
    "accept_combined",
    "close_requests",
    "combine_answers",
    "diagnose",
    "diagnose_due",
    "drop_closed",
    "finish_answers",
    "forget_cases",
    "open_answers",
    "relink",
    "settle_answers",
    "settle_dropped",
    "shifted_scores",
    "without_ids",
]


@njit(cache=True)
def diagnose(ids, acc_case, acc_t, acc_route, acc_correct, t1, referral, first_held, row_of, C):
    """Diagnose the cases due before ``t1``: each case of ``ids`` (its referral visit is due;
    sorted, distinct, not diagnosed) at its visit ``t_ref_dx`` when the visit comes before
    ``t1`` and no later than its accepted answer, if any (``acc_*``: the cases whose answers
    were accepted in this step, sorted, distinct, with the time, route and correctness of
    the accepting answer); then each accepted case not diagnosed so, at its answer. Writes
    ``t_dx``, ``route`` and ``correct`` (the visit's ``ref_correct``, or the answer's) and
    sets ``t_esc`` to ``inf``; ``C`` holds those columns of the cases (``t_ref_dx``,
    ``t_dx``, ``route``, ``correct``, ``ref_correct``, ``t_esc``). Returns the cases
    diagnosed, sorted (each once: an accepted case diagnosed by its visit is not again)."""
    t_ref_dx, t_dx, route, correct, ref_correct, t_esc = C
    newly = np.empty(ids.size + acc_case.size, np.int64)
    n = 0
    q = 0  # merge: the accepted answer of each visit's case, if any
    for i in range(ids.size):
        c = ids[i]
        while q < acc_case.size and acc_case[q] < c:
            q += 1
        t_acc = acc_t[q] if q < acc_case.size and acc_case[q] == c else np.inf
        r = _held_row(c, first_held, row_of)
        t_ref = t_ref_dx[r]
        if t_ref < t1 and t_ref <= t_acc:
            t_dx[r] = t_ref
            route[r] = referral
            correct[r] = ref_correct[r]
            newly[n] = c
            n += 1
    for q in range(acc_case.size):
        r = _held_row(acc_case[q], first_held, row_of)
        if np.isnan(t_dx[r]):
            t_dx[r] = acc_t[q]
            route[r] = acc_route[q]
            correct[r] = acc_correct[q]
            newly[n] = acc_case[q]
            n += 1
    for i in range(n):
        t_esc[_held_row(newly[i], first_held, row_of)] = np.inf
    return np.sort(newly[:n])


@njit(cache=True)
def settle_answers(case, start, end, counted, after, first_held, row_of, t_dx, n_counted):
    """The answers finished in a step (of ``case``, started at ``start``, ended at ``end``),
    once the step's diagnoses are made: ``after`` where started after their case's diagnosis
    (not while it is open); ``counted`` (towards the diagnosis) only where also ended by it,
    each adding one to its case's ``n_counted``. Returns the numbers counted and after."""
    n_counted_now = 0
    n_after = 0
    for i in range(case.size):
        r = _held_row(case[i], first_held, row_of)
        t = t_dx[r]
        after[i] = start[i] > t  # NaN (open): False
        n_after += after[i]
        if counted[i] and end[i] > t:
            counted[i] = False
        if counted[i]:
            n_counted[r] += 1
            n_counted_now += 1
    return n_counted_now, n_after


@njit(cache=True)
def close_requests(head, nxt, case_rows, is_open, slots, t_post, t_dx, n_req):
    """Close the open requests of the cases diagnosed (rows ``case_rows``, distinct): their
    lists (``head`` by case, ``nxt`` by request) are emptied, each request is no longer
    ``is_open`` and takes no answers (``slots`` 0), and those made before the diagnosis
    (``t_post`` before ``t_dx``) add one to their case's ``n_req``. Returns how many closed."""
    n = 0
    for c in case_rows:
        r = head[c]
        while r >= 0:
            is_open[r] = False
            slots[r] = 0
            if t_post[r] < t_dx[c]:
                n_req[c] += 1
            n += 1
            r = nxt[r]
        head[c] = -1
    return n


@njit(cache=True)
def drop_closed(state, req, is_open, dropped):
    """Mark ``dropped`` the pairs (``state``, request row ``req``) whose request is no longer
    ``is_open``: ``state[~is_open[req]] = dropped`` in one pass."""
    for i in range(state.size):
        if not is_open[req[i]]:
            state[i] = dropped


@njit(cache=True)
def relink(links, new_row):
    """Each link of ``links`` (a row of the open requests, or -1 for none) moved to the row
    ``new_row`` gives it once the closed requests' rows are gone, in place: as ``links[:] =
    np.where(links >= 0, new_row[links], -1)`` in one pass rather than numpy's several over
    every link (the heads are one per case held)."""
    for i in range(links.size):
        if links[i] >= 0:
            links[i] = new_row[links[i]]


# the combination of a step's answers (in ``finish_answers``): the answers of open cases, their
# running scores shifted by each row's largest, numpy's exponential and row sums, then the
# posterior's lead and the first answer of each case that is accepted


@njit(cache=True)
def open_answers(case, first_held, row_of, t_dx):
    """The answers (positions in ``case``) whose case is not diagnosed, their cases and the
    cases' rows: ``np.flatnonzero(np.isnan(t_dx[rows(case)]))`` and what it indexes."""
    m = case.size
    idx = np.empty(m, np.int64)
    cs = np.empty(m, case.dtype)
    rows = np.empty(m, np.int64)
    n = 0
    for i in range(m):
        r = _held_row(case[i], first_held, row_of)
        if np.isnan(t_dx[r]):
            idx[n], cs[n], rows[n] = i, case[i], r
            n += 1
    return idx[:n], cs[:n], rows[:n]


@njit(cache=True)
def shifted_scores(cs, lab, w, rows, held_scores, n_answers):
    """:func:`.kernels.combine_scores`, and the bumped scores less each row's largest (the
    exponent of the posterior, whose ``exp`` and row sums numpy computes). Returns the scores, the shifted bumped
    scores and the answers counted so far."""
    scores, bumped, n_cum = combine_scores(cs, lab, w, rows, held_scores, n_answers)
    m, n_labels = bumped.shape
    for i in range(m):
        top = bumped[i, 0]
        for k in range(1, n_labels):
            top = max(top, bumped[i, k])
        for k in range(n_labels):
            bumped[i, k] = bumped[i, k] - top
    return scores, bumped, n_cum


@njit(cache=True)
def accept_combined(p, total, cs, rows, scores, n_cum, accept, min_answers, end, held_scores, c_n_answers, c_lead,
                    t_first_answer):  # fmt: skip
    """From ``p = exp(shifted scores)`` and its row sums ``total`` (numpy's): each answer's
    posterior ``p / total``, its lead (the first largest) and the lead's posterior, then
    :func:`.kernels.accept_first`. Returns the leads, the counted flags and the positions
    of the accepting answers."""
    m, n_labels = p.shape
    lead = np.empty(m, np.int64)
    conf = np.empty(m)
    for i in range(m):
        best, top = 0, p[i, 0] / total[i]
        for k in range(1, n_labels):
            v = p[i, k] / total[i]
            if v > top:
                best, top = k, v
        lead[i], conf[i] = best, top
    counted, pos = accept_first(
        cs, rows, scores, n_cum, lead, conf, accept, min_answers, end, held_scores, c_n_answers, c_lead,
        t_first_answer,
    )  # fmt: skip
    return lead, counted, pos


@njit(cache=True)
def _pairwise_sum(a: np.ndarray) -> float:
    """``np.add.reduce`` of a contiguous float64 row, summed as numpy sums it: in order
    below 8 values, else eight running sums (combined in pairs) and the rest in order,
    halves above 128 values."""
    n = a.size
    if n < 8:
        res = -0.0
        for i in range(n):
            res += a[i]
        return res
    if n <= 128:  # eight running sums, in registers (no array a row)
        r0, r1, r2, r3, r4, r5, r6, r7 = a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]
        i = 8
        while i < n - n % 8:
            r0 += a[i]
            r1 += a[i + 1]
            r2 += a[i + 2]
            r3 += a[i + 3]
            r4 += a[i + 4]
            r5 += a[i + 5]
            r6 += a[i + 6]
            r7 += a[i + 7]
            i += 8
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        while i < n:
            res += a[i]
            i += 1
        return res
    n2 = n // 2
    n2 -= n2 % 8
    return _pairwise_sum(a[:n2]) + _pairwise_sum(a[n2:])


@njit(cache=True)
def combine_answers(case, label, confidence, end, first_held, row_of, t_dx, rules, held_scores, cols):
    """The combination of a step's answers in one pass: the finished answers (sorted by
    case, then end) of open cases (:func:`open_answers`), their weights ``log(c K / (1 -
    c))`` (``c``: the answer's confidence, or ``vote_accuracy`` when ``majority``, within
    [1e-6, 1 - 1e-6]), the running scores (:func:`shifted_scores`), the posterior's exponentials (the
    C library's) and row sums (as numpy sums them), and :func:`accept_combined`.

    ``rules``: (majority, vote_accuracy, labels, accept_confidence, min_answers); ``cols``:
    the cases' (n_answers, lead, t_first_answer). Returns the positions in the batch of
    the answers of open cases, the counted flag of each, the positions (among those) of
    the accepting answers, and the lead label after each of those answers."""
    majority, vote_accuracy, n_labels, accept, min_answers = rules
    c_n_answers, c_lead, t_first_answer = cols
    idx, cs, rows = open_answers(case, first_held, row_of, t_dx)
    m = idx.size
    K = n_labels - 1
    w = np.empty(m)
    lab = np.empty(m, label.dtype)
    e = np.empty(m)
    for i in range(m):
        c = vote_accuracy if majority else np.float64(confidence[idx[i]])
        if c < 1e-6:
            c = 1e-6
        if c > 1 - 1e-6:
            c = 1 - 1e-6
        w[i] = np.log(c * K / (1.0 - c))
        lab[i] = label[idx[i]]
        e[i] = end[idx[i]]
    scores, shifted, n_cum = shifted_scores(cs, lab, w, rows, held_scores, c_n_answers)
    p = np.exp(shifted)
    total = np.empty(m)
    for i in range(m):
        total[i] = _pairwise_sum(p[i])
    lead, counted, pos = accept_combined(
        p, total, cs, rows, scores, n_cum, accept, min_answers, e, held_scores, c_n_answers, c_lead, t_first_answer
    )  # fmt: skip
    return idx, counted, pos, lead


# the step's resolution (``combining.resolve``) in two passes around the referral booking:
# the answers finished and their combination (:func:`finish_answers`), then the diagnoses,
# the open sets and the answers' accounting (:func:`diagnose_due`)


@njit(cache=True)
def _take_rows(col, order, keep):
    """``col[order]`` (a new array), then the rows ``keep`` (bool per row) of ``col`` moved
    to its front in order, in place (as ``col[keep]``; the rows after them left as they fall)."""
    out = np.empty(order.size, col.dtype)
    for i in range(order.size):
        out[i] = col[order[i]]
    m = 0
    for i in range(keep.size):
        col[m] = col[i]
        m += keep[i]
    return out


@njit(cache=True)
def finish_answers(F, t1, first_held, row_of, t_dx, rules, held_scores, cols):
    """The answers in flight (``F``: the columns of ``state.ANSWER_SPEC``, in order) that end
    before ``t1``, taken out in the order (case, end, row) (as ``np.lexsort``), the others
    kept in order at the front of ``F``'s columns; then, when any ended, their combination
    (:func:`combine_answers`, with ``rules``, ``held_scores`` and ``cols``), which marks the
    counted answers. Returns the answers finished (their columns, as ``F``'s), and the
    case, time, route and correctness of each accepting answer (cases sorted, distinct)."""
    case, end = F[0], F[6]
    n = case.size
    keep = np.empty(n, np.bool_)
    m = 0
    for i in range(n):
        keep[i] = not end[i] < t1
        m += not keep[i]
    pos = np.empty(m, np.int64)
    k = 0
    for i in range(n):
        if not keep[i]:
            pos[k] = i
            k += 1
    by_end = np.argsort(end[pos], kind="mergesort")  # stable sorts: end, then case (the primary key)
    by_case = np.argsort(case[pos[by_end]], kind="mergesort")
    order = pos[by_end[by_case]]
    A = (
        _take_rows(F[0], order, keep), _take_rows(F[1], order, keep), _take_rows(F[2], order, keep),
        _take_rows(F[3], order, keep), _take_rows(F[4], order, keep), _take_rows(F[5], order, keep),
        _take_rows(F[6], order, keep), _take_rows(F[7], order, keep), _take_rows(F[8], order, keep),
        _take_rows(F[9], order, keep), _take_rows(F[10], order, keep), _take_rows(F[11], order, keep),
        _take_rows(F[12], order, keep),
    )  # fmt: skip
    acc_case = np.empty(0, np.int64)
    acc_t = np.empty(0)
    acc_route = np.empty(0, F[3].dtype)
    acc_correct = np.empty(0, np.bool_)
    if m:
        a_case, a_route, a_end, a_counted = A[0], A[3], A[6], A[11]
        idx, now_counted, at, lead = combine_answers(
            a_case, A[7], A[8], a_end, first_held, row_of, t_dx, rules, held_scores, cols
        )  # fmt: skip
        for i in range(idx.size):
            a_counted[idx[i]] = now_counted[i]
        acc_case = np.empty(at.size, np.int64)
        acc_t = np.empty(at.size)
        acc_route = np.empty(at.size, a_route.dtype)
        acc_correct = np.empty(at.size, np.bool_)
        for j in range(at.size):
            i = idx[at[j]]
            acc_case[j], acc_t[j], acc_route[j] = a_case[i], a_end[i], a_route[i]
            acc_correct[j] = lead[at[j]] == 0
    return A, (acc_case, acc_t, acc_route, acc_correct)


@njit(cache=True)
def forget_cases(newly, first_held, row_of, open_ids, requests, pairs, n_req, t_dx, dropped):
    """What the cases ``newly`` diagnosed (sorted, distinct) leave: their ids among the
    ``open_ids`` (sorted; a merge), their open requests (:func:`close_requests`; ``requests``:
    the head of each case's list, the next of each request, open, slots, t_post; the
    cases' ``n_req`` and ``t_dx``) and, when some closed, the pairs of requests no longer
    open (:func:`drop_closed`; ``pairs``: state, req). Returns the open ids kept (a new
    array) and the number of requests closed."""
    head, nxt, is_open, slots, t_post = requests
    p_state, p_req = pairs
    kept = without_ids(open_ids, newly)
    rows = np.empty(newly.size, np.int64)
    for i in range(newly.size):
        rows[i] = _held_row(newly[i], first_held, row_of)
    closed = close_requests(head, nxt, rows, is_open, slots, t_post, t_dx, n_req)
    if closed and p_state.size:
        drop_closed(p_state, p_req, is_open, dropped)
    return kept, closed


@njit(cache=True)
def without_ids(ids, gone):
    """The ids of ``ids`` (sorted) not among ``gone`` (sorted), in order, as a new array:
    ``ids[~np.isin(ids, gone)]`` by a merge."""
    kept = np.empty(ids.size, ids.dtype)
    m = 0
    q = 0
    for i in range(ids.size):
        v = ids[i]
        while q < gone.size and gone[q] < v:
            q += 1
        if q < gone.size and gone[q] == v:
            continue
        kept[m] = v
        m += 1
    return kept[:m].copy()


@njit(cache=True)
def diagnose_due(visit_t, visit_case, t1, acc, referral, first_held, row_of, C, forget, answers):
    """The diagnoses of a step and what follows them, in one pass: the referral visits due
    before ``t1`` leave the queue (``visit_t`` sorted, NaN last; their cases sorted, those
    held and not diagnosed kept), :func:`diagnose` (``acc``: the accepting answers of
    :func:`finish_answers`; ``C`` as it takes them), :func:`forget_cases` of the cases
    diagnosed (``forget``: its open ids, requests, pairs, ``n_req`` and the dropped state)
    and :func:`settle_answers` of the answers finished (``answers``: case, start, end,
    counted, after_diagnosis, and the cases' ``n_counted``). Returns the visits taken, the
    cases diagnosed, the open ids kept and the requests closed (the open ids as they were and
    0 when none was diagnosed), the answers counted and those started after their case's
    diagnosis."""
    t_dx = C[1]
    k = 0
    while k < visit_t.size and visit_t[k] < t1:
        k += 1
    ids = np.sort(visit_case[:k])
    ids = ids[open_cases(ids, first_held, row_of, t_dx)]
    acc_case, acc_t, acc_route, acc_correct = acc
    newly = diagnose(ids, acc_case, acc_t, acc_route, acc_correct, t1, referral, first_held, row_of, C)
    open_ids, requests, pairs, n_req, dropped = forget
    kept, closed = open_ids, 0
    if newly.size:
        kept, closed = forget_cases(newly, first_held, row_of, open_ids, requests, pairs, n_req, t_dx, dropped)
    case, start, end, counted, after, n_counted = answers
    n_count, n_after = 0, 0
    if case.size:
        n_count, n_after = settle_answers(case, start, end, counted, after, first_held, row_of, t_dx, n_counted)
    return k, newly, kept, closed, n_count, n_after


@njit(cache=True)
def settle_dropped(pairs, dropped, force):
    """The pairs (``pairs``: the columns of ``state.PAIR_SPEC``, in order) in state
    ``dropped`` leave when they are at least half the rows, or any with ``force``: the
    others are moved to the front of every column, in order, in place. Returns the rows left."""
    req, exp, state, ready, quality, willing = pairs
    n = state.size
    k = 0
    for i in range(n):
        k += state[i] == dropped
    if k == 0 or not (force or 2 * k >= n):
        return n
    m = 0
    for i in range(n):
        if state[i] != dropped:
            req[m], exp[m], state[m] = req[i], exp[i], state[i]
            ready[m], quality[m], willing[m] = ready[i], quality[i], willing[i]
            m += 1
    return m
