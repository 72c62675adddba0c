"""A step's answering in one compiled pass (:func:`.answering.match`).

:func:`match_step` runs what the numpy steps of a step's matching and of the answers it
started ran between the kernels they called (kept in tests/reference_arrays.py as
``answering_match``): the queued pairs and
whether each may still be answered, the rounds (:func:`.answer_kernels.match_rounds`),
the answers started (their inputs, accuracy, correctness, labels, the members' records
and the request log), the members at the daily cap set back to pending, and the pairs
answered or whose request took its answers dropped. The same arithmetic in the same
order and the same draws; the exponentials are the C library's (numpy's may differ from
them in the last bit on CPUs with AVX-512, as tests/test_model.py checks does not change
a run). The tests compare the pass with those numpy steps.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ...rng_ref import as_generator
from .accuracy_kernels import judgments
from .answer_kernels import answer_inputs, log_first_answers, match_rounds, record_answers
from .kernels import _held_row

__all__ = ["match_step"]


@njit(cache=True)
def match_step(rng_ref, pairs, requests, cases, experts, people, care, rules, t0, t1):
    """The queued pairs answered in [t0, t1), in one pass.

    ``pairs``: (state, req, exp, ready, quality); ``requests``: the open requests' (id, case,
    route, group, t_post, slots) and the request log's (first_answer_minutes, abroad);
    ``cases``: (first_held, row_of, t_dx, spec, need, difficulty, concerns, facility,
    t_first_start); ``experts``: (free_at, answers_today, burnout, n_answers, n_offhours,
    answer_minutes); ``people``: (expertise, specialty, facility, fac_equipment, fac_tier,
    fac_abroad, work_start, work_end); ``care``: (with care, information state, items, their
    rumor flags, active, adopted and believes codes, skill gain and loss, and the answers'
    rows of the harm, believing and benefit counters); ``rules``: (queued, pending, dropped,
    answer_cap_per_day, exponential answer times, mean answer days, off_specialty_factor,
    image_penalty, equipment_penalty, accuracy_slope, labels, the clock's start hour).

    Returns the answers started (case, request id, member, route, group, start, end, label,
    confidence, correct, off hours: the rows of ``inflight``), how many started off hours
    and how many came from abroad."""
    state, p_req, p_exp, ready, p_quality = pairs
    r_id, r_case, r_route, r_group, r_t_post, r_slots, log_minutes, log_abroad = requests
    first_held, row_of, t_dx, c_spec, c_need, c_difficulty, c_concerns, c_facility, t_first_start = cases
    free_at, today, burnout, n_answers, n_offhours, answer_minutes = experts
    expertise, specialty, facility, fac_equipment, fac_tier, fac_abroad, work_start, work_end = people
    queued, pending, dropped, cap, exponential, mean_days, off_factor = rules[:7]
    image_penalty, equipment_penalty, slope, n_labels, start_hour = rules[7:]
    n_q = 0
    for i in range(state.size):
        n_q += state[i] == queued
    q = np.empty(n_q, np.int64)
    k = 0
    for i in range(state.size):
        if state[i] == queued:
            q[k] = i
            k += 1
    req = np.empty(n_q, np.int64)
    e = np.empty(n_q, p_exp.dtype)
    rdy = np.empty(n_q)
    post = np.empty(n_q)
    alive = np.empty(n_q, np.bool_)
    for j in range(n_q):
        i = q[j]
        r = p_req[i]
        req[j], e[j], rdy[j], post[j] = r, p_exp[i], ready[i], r_t_post[r]
        alive[j] = r_slots[r] > 0 and np.isnan(t_dx[_held_row(r_case[r], first_held, row_of)]) and ready[i] < t1
    matched, start, service, done = match_rounds(
        req, e, rdy, post, alive, r_slots, free_at, today, cap, t0, t1, rng_ref, exponential, mean_days
    )  # fmt: skip
    m = matched.size
    rows = np.empty(m, np.int64)
    for j in range(m):
        rows[j] = q[matched[j]]
    a_req, a_e, a_case, a_row, skill, lacks = answer_inputs(
        rows, p_req, p_exp, r_case, first_held, row_of, c_spec, c_need, expertise, specialty, facility,
        fac_equipment, off_factor,
    )  # fmt: skip
    end = start + service
    gen = as_generator(rng_ref)
    u = np.empty(m)
    for j in range(m):
        u[j] = gen.random()
    quality = np.empty(m, p_quality.dtype)
    for j in range(m):
        quality[j] = p_quality[rows[j]]
    p, correct = judgments(
        care, a_case, first_held, row_of, a_row, (c_concerns, c_difficulty, c_facility), fac_tier, a_e, skill, lacks,
        quality, u, (image_penalty, equipment_penalty, slope, n_labels),
    )  # fmt: skip
    u_label = np.empty(m)
    for j in range(m):
        u_label[j] = gen.random()
    label, off = record_answers(
        a_e, a_row, start, service, correct, u_label, n_labels, start_hour, work_start, work_end, burnout, n_answers,
        n_offhours, answer_minutes, t_first_start,
    )  # fmt: skip
    n_off = 0
    for j in range(m):
        n_off += off[j]
    n_abroad = log_first_answers(r_id, r_t_post, a_req, end, a_e, facility, fac_abroad, log_minutes, log_abroad)
    # members at the cap stop acting on requests: what they meant to answer waits for their
    # next chat opening on a new day (read again, no new decision)
    if cap > 0:
        for j in range(n_q):
            if not done[j] and today[e[j]] >= cap:
                state[q[j]] = pending
    for j in range(n_q):
        if done[j]:
            state[q[j]] = dropped  # answered
    if n_q:  # (with no pair queued the numpy steps stopped before this pass)
        for i in range(state.size):
            if r_slots[p_req[i]] <= 0:
                state[i] = dropped  # their request took its answers
    a_id = np.empty(m, r_id.dtype)
    a_route = np.empty(m, r_route.dtype)
    a_group = np.empty(m, r_group.dtype)
    for j in range(m):
        a_id[j], a_route[j], a_group[j] = r_id[a_req[j]], r_route[a_req[j]], r_group[a_req[j]]
    answers = (a_case, a_id, a_e, a_route, a_group, start, end, label, p, correct, off)
    return answers, n_off, n_abroad
