"""Compiled inner loops of reading and answering requests (numba, ``nopython``): the
pending pairs and their reading times, the decisions at the first reading, the engaged
rates, the answering rounds, and the start of each answer.

As in :mod:`.kernels`, each gives bit-identical results to the numpy
formulation it replaced: the same arithmetic in the same order, the same draws. The tests
compare each kernel with that numpy. Compiled code is cached next to this file.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ...kernels import DENSE_UNIQUE_RATIO, unique_inverse, unique_inverse_bits
from ...rng_ref import as_generator

__all__ = [
    "answer_inputs",
    "engaged_rates",
    "first_opening",
    "first_reads",
    "log_first_answers",
    "match_rounds",
    "pending_pairs",
    "read_pending",
    "record_answers",
    "settle_reads",
]


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
def first_reads(rng_ref, inv, since, rho, no_opening, t0, dt, t1):
    """When each pending pair (member ``inv`` among the distinct members, whose chat
    openings per day are ``rho``; readable from ``since``) is first read in [t0, t1):
    ``inf`` if not. Openings are one Poisson process per member, shared by its requests:
    a Poisson count per member, then the uniform times of all openings, member by member
    (the draws of ``rng.poisson(rho * dt)`` then ``t0 + rng.random(n) * dt``). Then the
    uniforms of the reads' decisions, one per pair read (``rng.random``). Returns (when,
    decision uniforms).

    ``no_opening``: ``exp(-rho * dt)`` per member: the threshold of the Poisson draws below
    10 openings a step, made here as numpy's ``poisson`` makes them (uniforms multiplied
    until the product falls to the threshold). :func:`read_pending` computes it with the C
    library's exp; numpy's may differ from it in the last bit (on CPUs with AVX-512), which
    changes a count only when a product falls within that bit of the threshold (about one
    chance in 10^16)."""
    rng = as_generator(rng_ref)
    k = np.empty(rho.size, np.int64)
    for i in range(rho.size):
        lam = rho[i] * dt
        if lam < 10.0 and lam > 0.0:
            x = 0
            prod = rng.random()
            while prod > no_opening[i]:
                x += 1
                prod *= rng.random()
            k[i] = x
        else:  # none (no draw), or many: numpy's other method; a negative or NaN rate raises
            k[i] = rng.poisson(lam)
    n_open = k.sum()
    if n_open == 0:
        return np.full(inv.size, np.inf), np.empty(0)
    times = np.empty(n_open)
    for j in range(n_open):
        times[j] = t0 + rng.random() * dt
    when = first_opening(k, times, inv, since)
    n_read = 0
    for q in range(when.size):
        n_read += when[q] < t1
    u = np.empty(n_read)
    for j in range(n_read):
        u[j] = rng.random()
    return when, u


@njit(cache=True)
def pending_pairs(state: np.ndarray, exp: np.ndarray, req: np.ndarray, t_post: np.ndarray, pending: int, t0: float):
    """The pairs in state ``pending`` (positions, ascending), their members, and the time
    from which each may be read: its request's post (``t_post``, by request), or ``t0``."""
    n = 0
    for i in range(state.size):
        n += state[i] == pending
    pend = np.empty(n, np.int64)
    e = np.empty(n, exp.dtype)
    since = np.empty(n)
    k = 0
    for i in range(state.size):
        if state[i] == pending:
            pend[k] = i
            e[k] = exp[i]
            since[k] = _nan_max(t_post[req[i]], t0)
            k += 1
    return pend, e, since


@njit(cache=True)
def settle_reads(
    pend, when, t1, u, state, req, exp, ready, quality, willing, route, r_t_post, r_quality,
    oncall, oncall_prob, factor, contact, contact_prob, group_prob, purge_days, purged_quality, queued,
):  # fmt: skip
    """The pending pairs ``pend`` read before ``t1`` (first opening ``when``) decide, once,
    whether to answer: with probability ``base * factor`` (``base``: ``contact_prob`` on a
    request of route ``contact``, else ``group_prob``, raised to the member's
    ``oncall_prob`` when on call), the ``j``-th read drawing ``u[j]`` and taking ``factor[j]``
    (its member's: one per pair read), or already willing. A read pair becomes ``queued``,
    ready at ``when``, with its request's quality (``purged_quality`` once read more than
    ``purge_days`` after the post). Returns a bool per pair, False where it declined (to
    be dropped), and the count declined."""
    keep = np.ones(state.size, np.bool_)
    j = 0
    declined = 0
    for q in range(pend.size):
        w = when[q]
        if not w < t1:
            continue
        i = pend[q]
        r = req[i]
        e = exp[i]
        base = contact_prob if route[r] == contact else group_prob
        if oncall[e]:
            base = _nan_max(base, oncall_prob[e])
        p = base * factor[j]
        if not (u[j] < p or willing[i]):
            keep[i] = False
            declined += 1
        j += 1
        quality[i] = r_quality[r] if (w - r_t_post[r]) <= purge_days else purged_quality
        ready[i] = w
        state[i] = queued
        willing[i] = True
    return keep, declined


@njit(cache=True)
def read_pending(rng_ref, pairs, requests, members, rates, rules, t0, t1, words, slot):
    """A step's reading of the pending pairs in one compiled pass (:func:`.answering.read`):
    the pending pairs (:func:`pending_pairs`), their distinct members (``np.unique``: by a
    sort, or by a pass over the bits of ``words`` with ``slot`` as scratch, as
    :class:`sim.kernels.DistinctIds` chooses), their engaged rates (:func:`engaged_rates`),
    the first reading of each (:func:`first_reads`; with ``openings`` off, at once where the
    rate is positive, then a uniform per pair read), each read pair's burnout factor
    ``exp(-sensitivity * burnout)`` and the decisions (:func:`settle_reads`); the pairs
    that declined are marked ``dropped`` (:meth:`.state.DxState.drop_pairs`).

    ``pairs``: (state, exp, req, ready, quality, willing); ``requests``: (route, t_post,
    quality); ``members``: (oncall, oncall_reads_per_hour, answers_today, oncall_answer_prob,
    burnout); ``rates``: :func:`sim.activity.rate_parts`; ``rules``: (pending, queued,
    dropped, offhours_engagement, answer_cap_per_day, openings, burnout_sensitivity, contact,
    contact_prob, group_prob, purge_days, purged_quality). Returns the number declined.
    The exponentials are the C library's (numpy's may differ in the last bit)."""
    state, p_exp, p_req, ready, quality, willing = pairs
    route, t_post, r_quality = requests
    oncall, reads_oncall, today, oncall_prob, burnout = members
    at_day_rate, day, night, duty = rates
    pending, queued, dropped, offhours, cap, openings, sensitivity = rules[:7]
    contact, contact_prob, group_prob, purge_days, purged_quality = rules[7:]
    pend, e, since = pending_pairs(state, p_exp, p_req, t_post, pending, t0)
    if pend.size == 0:
        return 0
    if e.size * DENSE_UNIQUE_RATIO < slot.size:
        uniq, inv = unique_inverse(e)
    else:
        uniq, inv = unique_inverse_bits(e, words, slot)
    rho = engaged_rates(uniq, at_day_rate, day, night, duty, oncall, reads_oncall, today, offhours, cap)
    if openings:
        dt = t1 - t0
        when, u = first_reads(rng_ref, inv, since, rho, np.exp(-(rho * dt)), t0, dt, t1)
    else:
        when = np.empty(inv.size)
        n_read = 0
        for q in range(inv.size):
            when[q] = since[q] if rho[inv[q]] > 0 else np.inf
            n_read += when[q] < t1
        gen = as_generator(rng_ref)
        u = np.empty(n_read)
        for j in range(n_read):
            u[j] = gen.random()
    if u.size == 0:
        return 0
    factor = np.empty(u.size)  # by pair read (their members' burnout)
    j = 0
    for q in range(when.size):
        if when[q] < t1:
            factor[j] = np.exp(-sensitivity * burnout[e[q]])
            j += 1
    keep, declined = settle_reads(
        pend, when, t1, u, state, p_req, p_exp, ready, quality, willing, route, t_post, r_quality, oncall,
        oncall_prob, factor, contact, contact_prob, group_prob, purge_days, purged_quality, queued,
    )  # fmt: skip
    if declined:
        for i in range(keep.size):
            if not keep[i]:
                state[i] = dropped
    return declined


@njit(cache=True)
def answer_inputs(rows, p_req, p_exp, r_case, first_held, row_of, c_spec, c_need, expertise, specialty, facility,
                  fac_equipment, off_factor):  # fmt: skip
    """For the pairs ``rows`` about to be answered: their requests, members, cases, the
    cases' rows (``row_of`` as in :func:`_case_open`), the members' skill for the case
    (``expertise``, times ``off_factor`` off their specialty) and whether their facility
    lacks the equipment the case needs."""
    m = rows.size
    req = np.empty(m, np.int64)
    e = np.empty(m, p_exp.dtype)
    case = np.empty(m, np.int64)
    row = np.empty(m, np.int64)
    skill = np.empty(m)
    lacks = np.empty(m, np.bool_)
    for i in range(m):
        r = p_req[rows[i]]
        x = p_exp[rows[i]]
        c = r_case[r]
        w = c if row_of.size == 0 else row_of[c - first_held]
        req[i], e[i], case[i], row[i] = r, x, c, w
        skill[i] = np.float64(expertise[x]) * (1.0 if specialty[x] == c_spec[w] else off_factor)
        lacks[i] = fac_equipment[facility[x]] < c_need[w]
    return req, e, case, row, skill, lacks


@njit(cache=True)
def record_answers(e, row, start, service, correct, u, n_labels, start_hour, work_start, work_end, burnout, n_answers,
                   n_offhours, answer_minutes, t_first_start):  # fmt: skip
    """The answers started (members ``e``, cases' rows ``row``): their labels (0 when
    ``correct``, else one of the wrong labels by ``u``) and whether each starts off its
    member's hours; adds each, in order, to its member's record (an off-hours answer to
    ``burnout``) and lowers its case's ``t_first_start`` to its start."""
    m = e.size
    label = np.empty(m, np.int16)
    off = np.empty(m, np.bool_)
    for i in range(m):
        x = e[i]
        label[i] = 0 if correct[i] else np.int16(1 + np.int16(u[i] * (n_labels - 1)))
        hour = (start_hour + start[i] * 24.0) % 24.0
        a, b = np.float64(work_start[x]), np.float64(work_end[x])
        o = not (((hour >= a) and (hour < b)) or (hour + 24.0 < b))
        off[i] = o
        burnout[x] += o
        n_answers[x] += 1
        n_offhours[x] += o
        answer_minutes[x] += service[i] * 24 * 60
        r = row[i]
        f = t_first_start[r]
        if f != f or start[i] < f:
            t_first_start[r] = start[i]
    return label, off


@njit(cache=True)
def engaged_rates(who, at_day_rate, day, night, duty, oncall, reads_oncall, today, offhours, cap):
    """The chat openings per day at which each clinician of ``who`` acts on requests: the
    read rate (``day`` or ``night`` as ``at_day_rate``), times ``offhours`` off ``duty``;
    on call at least ``reads_oncall`` an hour; none once ``today``'s answers reach a
    positive ``cap``."""
    out = np.empty(who.size)
    for i in range(who.size):
        w = who[i]
        rr = np.float64(day[w] if at_day_rate[w] else night[w])
        rho = rr * (1.0 if duty[w] else offhours)
        if oncall[w]:
            rho = _nan_max(rr, reads_oncall[w] * 24.0)
        if cap > 0 and today[w] >= cap:
            rho = 0.0
        out[i] = rho
    return out


@njit(cache=True)
def _nan_max(a: float, b: float) -> float:
    """``np.maximum(a, b)`` of two floats (NaN when either is)."""
    if a != a or b != b:
        return np.nan
    return a if a >= b else b


@njit(cache=True)
def _before(start: np.ndarray, e: np.ndarray, i: int, j: int) -> bool:
    """Pair ``i`` comes before pair ``j`` in the order (start, member, position)."""
    return start[i] < start[j] or (start[i] == start[j] and (e[i] < e[j] or (e[i] == e[j] and i < j)))


@njit(cache=True)
def match_rounds(req, e, ready, post, alive, slots, free_at, today, cap, t0, t1, rng, exponential, mean_days):
    """The rounds of :func:`.answering.match` over the queued pairs (request ``req``, member
    ``e``, readable from ``ready``, posted at ``post``; ``alive``: may still be answered),
    compiled: the same rounds, comparisons and draws as their numpy formulation (two
    lexicographic sorts per round), without the sorts.

    Per round, the pairs that can start before ``t1`` (a slot left, the member under the
    daily ``cap`` when it is positive, start ``max(free_at, ready, t0)``); each member
    proposes its first pair in the order (start, post, request, position); each request
    ranks its pairs in the order (start, member, position); proposals ranked within
    their request's slots start, in the order of their members, each with a service
    time (``rng.exponential(mean_days)`` when ``exponential``, else ``mean_days``; ``rng``: a
    Generator or a :class:`~sim.rng_ref.GeneratorRef`).
    ``slots``, ``free_at`` and ``today`` are updated in place. Returns the pairs started
    (positions in the inputs, round by round), their starts and service times, and a
    bool per pair: started.
    """
    gen = as_generator(rng)
    n = req.size
    done = np.zeros(n, np.bool_)
    matched = np.empty(n, np.int64)
    starts = np.empty(n)
    services = np.empty(n)
    k = 0
    members, member = unique_inverse(e)  # each pair's member among them, in the order of their ids
    requests, request = unique_inverse(req)
    n_members, n_requests = members.size, requests.size
    # the pairs of each request, in order of position
    r_ptr = np.zeros(n_requests + 1, np.int64)
    for i in range(n):
        r_ptr[request[i] + 1] += 1
    for r in range(n_requests):
        r_ptr[r + 1] += r_ptr[r]
    r_pairs = np.empty(n, np.int64)
    fill = r_ptr[:-1].copy()
    for i in range(n):
        r_pairs[fill[request[i]]] = i
        fill[request[i]] += 1
    start = np.empty(n)
    ok = np.zeros(n, np.bool_)
    best = np.empty(n_members, np.int64)
    m = np.empty(n_members, np.int64)
    first = np.empty(n, np.int64)  # per request (its pairs' span): the pairs it accepts, in order
    accepted = np.zeros(n, np.bool_)
    for _ in range(n + 1):
        any_ok = False
        for i in range(n):
            s = _nan_max(_nan_max(free_at[e[i]], ready[i]), t0)
            start[i] = s
            ok[i] = alive[i] and not done[i] and slots[req[i]] > 0 and (cap <= 0 or today[e[i]] < cap) and s < t1
            any_ok |= ok[i]
        if not any_ok:
            break
        # each member's proposal: its first pair in the order (start, post, request, position)
        best[:] = -1
        for i in range(n):
            if not ok[i]:
                continue
            d = member[i]
            b = best[d]
            if (
                b < 0
                or start[i] < start[b]
                or (start[i] == start[b] and (post[i] < post[b] or (post[i] == post[b] and req[i] < req[b])))
            ):
                best[d] = i
        # each request's first pairs in the order (start, member, position), as many as its
        # slots at the start of the round: the pairs it accepts
        for r in range(n_requests):
            lo, hi = r_ptr[r], r_ptr[r + 1]
            room = min(slots[req[r_pairs[lo]]], hi - lo)
            if room <= 0:
                continue
            top = first[lo : lo + room]
            held = 0
            for j in r_pairs[lo:hi]:
                if not ok[j]:
                    continue
                # insert j among the held pairs in order, dropping the last when full
                at = held
                while at > 0 and _before(start, e, j, top[at - 1]):
                    at -= 1
                if at >= room:
                    continue
                for q in range(min(held, room - 1), at, -1):
                    top[q] = top[q - 1]
                top[at] = j
                held = min(held + 1, room)
            for q in range(held):
                accepted[top[q]] = True
        # the proposals a request accepts start, in the order of their members
        n_m = 0
        for d in range(n_members):
            p = best[d]
            if p >= 0 and accepted[p]:
                m[n_m] = p
                n_m += 1
        accepted[:] = False
        for j in range(n_m):
            service = gen.exponential(mean_days) if exponential else mean_days
            p = m[j]
            free_at[e[p]] = start[p] + service
            slots[req[p]] -= 1
            today[e[p]] += 1
            done[p] = True
            matched[k] = p
            starts[k] = start[p]
            services[k] = service
            k += 1
    return matched[:k].copy(), starts[:k].copy(), services[:k].copy(), done


@njit(cache=True)
def log_first_answers(ids, t_post, req, end, exp, facility, fac_abroad, first_minutes, abroad):
    """Log the answers started for the open requests ``req`` (rows; their request ids
    ``ids`` and posts ``t_post`` by row), ending at ``end``, by members ``exp``: each
    request's fewest minutes from the post to an answer's end (``np.fmin.at`` of
    ``(end - t_post) * 24 * 60`` into ``first_minutes``, by id) and whether an answer came
    from a member whose facility is abroad (into ``abroad``, by id): what the metrics of first
    answers need, so that they do not read the answers table (rounding is monotone, so the
    fewest minutes are those of the earliest end). Returns how many came from abroad."""
    n_abroad = 0
    for i in range(req.size):
        r = req[i]
        k = ids[r]
        minutes = (end[i] - t_post[r]) * 24.0 * 60.0
        cur = first_minutes[k]
        if cur != cur or minutes < cur:  # fmin: a NaN gives way to a number
            first_minutes[k] = minutes
        if fac_abroad[facility[exp[i]]]:
            abroad[k] = True
            n_abroad += 1
    return n_abroad
