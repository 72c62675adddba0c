"""Reading requests and answering them.

Each member asked reads at their chat openings (a Poisson process per member, shared
by all their pending requests) and decides once, at the first reading, whether to
answer. Willing members answer one request at a time, the oldest post first; the
matching of members to requests inside a step is exact (see :func:`match`).
"""

from __future__ import annotations

import numpy as np

from ...activity import rate_parts
from .answer_kernels import answer_inputs, match_rounds, read_pending, record_answers
from .combining import p_correct
from .config import CONTACT, DROPPED, PENDING, QUEUED, DiagnosisConfig
from .state import DxState

__all__ = ["commit", "match", "read"]


def read(st: DxState, cfg: DiagnosisConfig, model, t0: float, t1: float) -> None:
    """Pending pairs read in [t0, t1) become queued (willing) or are dropped (declined):
    one compiled pass (:func:`.answer_kernels.read_pending`)."""
    P, R, E = st.pairs, st.open_requests, st.experts
    if not len(P):
        return
    declined = read_pending(
        st.rng_ref,
        (P["state"], P["exp"], P["req"], P["ready"], P["quality"], P["willing"]),
        (R["route"], R["t_post"], R["quality"]),
        (E.oncall, E.oncall_reads_per_hour, E.answers_today, E.oncall_answer_prob, E.burnout),
        rate_parts(model),
        (
            PENDING, QUEUED, DROPPED, float(cfg.offhours_engagement), int(cfg.answer_cap_per_day),
            cfg.read_delay != "none", float(cfg.burnout_sensitivity_per_answer), CONTACT,
            float(cfg.contact_answer_prob), float(cfg.group_answer_prob), float(cfg.media_purge_days),
            float(cfg.purged_quality),
        ),
        float(t0),
        float(t1),
        *st.distinct_clinicians.scratch(),
    )  # fmt: skip
    st.counters["declined"] += declined


def match(st: DxState, cfg: DiagnosisConfig, model, t0: float, t1: float) -> None:
    """Queued (request, member) pairs become answers, exactly in time order.

    Each member answers one request at a time, the oldest first; a request takes
    ``slots`` answers. Per round, a member proposes the pair it could start earliest
    (ties: the oldest post), a request accepts its ``slots`` earliest possible
    starters; mutually chosen pairs start. A match never precedes an event it would
    depend on: any other member could only reach the request later (start times only
    grow), so the rounds reproduce the event-by-event order. The earliest pair
    overall is always matched, so the loop ends. A pair left over from an earlier
    step was blocked until this step (its member at the daily cap), so it starts no
    earlier than ``t0``.
    """
    P, R, C, E = st.pairs, st.open_requests, st.cases, st.experts
    q = (P["state"] == QUEUED).nonzero()[0]
    if q.size == 0:
        return
    req, e, ready = P["req"][q], P["exp"][q], P["ready"][q]
    alive = (R["slots"][req] > 0) & np.isnan(C["t_dx"][st.rows(R["case"][req])]) & (ready < t1)
    cap = cfg.answer_cap_per_day
    # the rounds, compiled (see match_rounds): slots, free times and daily counts change in place
    matched, start, service, done = match_rounds(
        req, e, ready, R["t_post"][req], alive, R["slots"], E.free_at, E.answers_today, cap, t0, t1,
        st.rng_ref, cfg.answer_time == "exponential", cfg.answer_mean_minutes / (24 * 60),
    )  # fmt: skip
    if matched.size:
        commit(st, cfg, model, q[matched], start, service)
    if cap > 0:
        # members at the cap stop acting on requests: what they meant to answer waits
        # for their next chat opening on a new day (read again, no new decision)
        stop = q[~done & (E.answers_today[e] >= cap)]
        P["state"][stop] = PENDING
    st.drop_pairs(q[done])  # answered
    st.drop_pairs(R["slots"][P["req"]] <= 0)  # their request took its answers


def commit(st: DxState, cfg: DiagnosisConfig, model, rows: np.ndarray, start: np.ndarray, service: np.ndarray) -> None:
    """Record the answers started in this step: accuracy, label, off-hours, burden."""
    P, R, C, E, pop = st.pairs, st.open_requests, st.cases, st.experts, model.pop
    first_held, row_map = st.row_lookup()
    req, e, case, row, skill, lacks = answer_inputs(
        rows, P["req"], P["exp"], R["case"], first_held, row_map, C["spec"], C["need"], pop.expertise,
        pop.specialty, pop.facility, pop.fac_equipment, cfg.off_specialty_factor,
    )  # fmt: skip
    m = rows.size
    end = start + service
    u = st.rng.random(m)
    if st.care is None:
        p = p_correct(cfg, st.n_labels, skill, C["difficulty"][row], lacks, P["quality"][rows])
        correct = u < p
    else:  # the answer carries its author's information state (.care)
        tier = pop.fac_tier[C["facility"][row]]
        p, correct = st.care.judge(st, cfg, 1, case, e, skill, lacks, P["quality"][rows], u, tier)
    label, off = record_answers(
        e, row, start, service, correct, st.rng.random(m), st.n_labels, model.clock.start_hour, pop.work_start,
        pop.work_end, E.burnout, E.n_answers, E.n_offhours, E.answer_minutes, C["t_first_start"],
    )  # fmt: skip
    st.counters["answers"] += m
    st.counters["offhours"] += int(np.count_nonzero(off))
    st.log_answers(req, end, e, pop)
    st.inflight.append(
        case=case,
        req=R["id"][req],
        exp=e,
        route=R["route"][req],
        group=R["group"][req],
        start=start,
        end=end,
        label=label,
        confidence=p,
        correct=correct,
        offhours=off,
    )
