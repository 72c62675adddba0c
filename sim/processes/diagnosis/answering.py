"""Reading requests and answering them.

Each member asked reads at their chat openings (a Poisson process per member, shared
by all their pending requests) and decides once, at the first reading, whether to
answer. Willing members answer one request at a time, the oldest post first; the
matching of members to requests inside a step is exact (see :func:`match`).
"""

from __future__ import annotations

from ...activity import rate_parts
from .answer_kernels import read_pending
from .care import NO_CARE
from .config import CONTACT, DROPPED, PENDING, QUEUED, DiagnosisConfig
from .match_kernels import match_step
from .state import DxState

__all__ = ["match", "read"]

#: the columns of ``inflight`` an answer has when it starts (:func:`.match_kernels.match_step`'s order)
STARTED = ("case", "req", "exp", "route", "group", "start", "end", "label", "confidence", "correct", "offhours")


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

    The answers started carry their accuracy, correctness, label and off-hours flag;
    members at the daily cap stop acting on requests (what they meant to answer waits
    for their next chat opening on a new day: read again, no new decision); answered
    pairs, and the pairs of requests that took their answers, are dropped. One compiled
    pass (:func:`.match_kernels.match_step`).
    """
    P, H, R, C, E, pop = st.pairs, st.open_requests, st.requests, st.cases, st.experts, model.pop
    if not len(P):
        return
    care = NO_CARE if st.care is None else st.care.judge_inputs(cfg, 1)
    answers, n_off, n_abroad = match_step(
        st.rng_ref,
        (P["state"], P["req"], P["exp"], P["ready"], P["quality"]),
        (H["id"], H["case"], H["route"], H["group"], H["t_post"], H["slots"], R["first_answer_minutes"], R["abroad"]),
        (*st.row_lookup(), C["t_dx"], C["spec"], C["need"], C["difficulty"], C["concerns"], C["facility"],
         C["t_first_start"]),
        (E.free_at, E.answers_today, E.burnout, E.n_answers, E.n_offhours, E.answer_minutes),
        (pop.expertise, pop.specialty, pop.facility, pop.fac_equipment, pop.fac_tier, pop.fac_abroad, pop.work_start,
         pop.work_end),
        care,
        (QUEUED, PENDING, DROPPED, int(cfg.answer_cap_per_day), cfg.answer_time == "exponential",
         cfg.answer_mean_minutes / (24 * 60), float(cfg.off_specialty_factor), float(cfg.image_penalty),
         float(cfg.equipment_penalty), float(cfg.accuracy_slope), int(st.n_labels), float(model.clock.start_hour)),
        float(t0),
        float(t1),
    )  # fmt: skip
    m = answers[0].size
    if m:
        st.counters["answers"] += m
        st.counters["offhours"] += n_off
        st.counters["abroad"] += n_abroad
        st.inflight.append(dict(zip(STARTED, answers, strict=True)))
