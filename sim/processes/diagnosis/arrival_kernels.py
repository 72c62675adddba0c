"""The local decision on a step's new cases, compiled (:meth:`.arrivals.Arrivals.admit`).

:func:`local_decisions` does in one pass what the numpy formulation of ``admit`` does
with care's hooks (:meth:`.care.CareLink.tag`, ``shift``, ``judge``, ``delay``) when the
chain starts with the local route: the asker's skill, the tags of the items that concern
each case (drawn from care's stream as ``tag`` draws them), who can diagnose locally, the
exponents of their accuracy, and the escalation times of the others. :func:`decide_locally`
adds the exponentials (the C library's: numpy's may differ from them in the last bit on CPUs
with AVX-512, which tests/test_model.py checks does not change a run) and
:func:`.accuracy_kernels.judged`, as in ``judge``. The same arithmetic in the same order: the
tests run both paths on the same model and compare every table.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .accuracy_kernels import accuracy_exponents, judged, tag_cases
from .config import LOCAL

__all__ = ["decide_locally", "local_decisions"]


@njit(cache=True)
def local_decisions(rows, new, people, cols, rng_ref, tagging, effects, rules):
    """For the new cases at ``rows`` of the case table (``new``: their facility, arrival,
    specialty, difficulty, need and asker), with ``people`` (expertise, specialty, the
    facilities' equipment):

    * the asker's skill (``asker_skill``), times ``off_specialty_factor`` off their specialty;
    * with ``tagging`` (item specialties and shares, whether the states are read, the
      information state, items, rumor flags, state codes), drawing from care's ``rng_ref``:
      ``concerns`` and ``h_info`` as :func:`.accuracy_kernels.tag_cases` gives them;
    * who can diagnose locally (skill, plus an adopted guideline's gain when ``effects`` are
      active, at least the difficulty, and the equipment needed): ``now``, ``t_dx`` and
      ``route`` written; the others wait out a believer's delay (``belief_delay``) and are
      due to escalate at arrival + workup + delay (``t_esc``).

    ``effects``: (active, adopted gain, believer loss, believer delay in days, the handler
    state of a believer); ``rules``: (off-specialty factor, workup in days, image penalty,
    equipment penalty, accuracy slope). Returns the positions of the local cases, the
    exponents of their accuracy (:func:`.accuracy_kernels.accuracy_exponents`: with the
    judges' gain and loss, ``free`` and ``none`` as ``CareLink.judge`` sets them), whether
    each believes, ``free``, ``none``, and the positions of the cases held back by a belief.
    """
    fac, times, spec, diff, need, asker = new
    expertise, specialty, equipment = people
    asker_skill, concerns, h_info, now, t_dx, route, belief_delay, t_esc = cols
    active, adopted_gain, believer_loss, delay_days, h_believes = effects
    off, workup, image_penalty, equipment_penalty, slope = rules
    n = rows.size
    skill = np.empty(n)
    for i in range(n):
        a = asker[i]
        skill[i] = np.float64(expertise[a]) * (1.0 if specialty[a] == spec[i] else off)
        asker_skill[rows[i]] = skill[i]
    item_spec, item_share, with_states, state, item, rumor, codes = tagging
    ad = np.zeros(n, np.bool_)
    bel = np.zeros(n, np.bool_)
    if item_spec.size and n:
        adopted, believes, corrected, neutral, unconcerned, h_adopted, h_corrected, h_bel = codes
        bits, h, ad, bel = tag_cases(
            rng_ref, spec, item_spec, item_share, with_states, asker, state, item, rumor, adopted, believes,
            corrected, neutral, unconcerned, h_adopted, h_corrected, h_bel,
        )  # fmt: skip
        for i in range(n):
            concerns[rows[i]], h_info[rows[i]] = bits[i], h[i]
    gain, loss = np.zeros(n), np.zeros(n)
    if active:
        for i in range(n):
            gain[i], loss[i] = adopted_gain * np.float64(ad[i]), believer_loss * np.float64(bel[i])
    can = np.empty(n, np.int64)
    held = np.empty(n, np.int64)
    n_can, n_held = 0, 0
    for i in range(n):
        r = rows[i]
        now[r] = LOCAL
        if skill[i] + gain[i] >= diff[i] and equipment[fac[i]] >= need[i]:
            t_dx[r] = times[i] + workup
            route[r] = LOCAL
            can[n_can] = i
            n_can += 1
        else:
            wait = 0.0
            if active and h_info[r] == h_believes:
                wait = delay_days
                if wait > 0:
                    held[n_held] = i
                    n_held += 1
            belief_delay[r] = wait
            t_esc[r] = times[i] + workup + wait
    can = can[:n_can]
    counted = active and n_can > 0
    free, none = False, False
    for i in can:
        free |= counted and bel[i]
        none |= counted and gain[i] > 0
    e = accuracy_exponents(
        skill[can], gain[can], loss[can], diff[can], np.zeros(n_can, np.bool_), np.ones(n_can), image_penalty,
        equipment_penalty, slope, free, none,
    )  # fmt: skip
    return can, e, bel[can], free, none, held[:n_held]


@njit(cache=True)
def decide_locally(rows, new, u_local, people, cols, rng_ref, tagging, effects, rules, judging):
    """:func:`local_decisions`, then the local diagnoses' judgments (their exponentials, the C
    library's, and :func:`.accuracy_kernels.judged` with the treating clinicians' counters)
    written to ``correct``: the whole local decision in one pass. ``u_local``: a uniform
    per new case; ``judging``: (the facilities' tiers, ``correct``, labels, and the local
    judges' rows of the harm, believing and benefit counters). Returns the positions of the
    local cases, a bool per new case (it consults: not diagnosed locally) and the positions
    of the cases held back by a belief."""
    can, e, bel, free, none, held = local_decisions(rows, new, people, cols, rng_ref, tagging, effects, rules)
    fac_tier, correct, n_labels, harm, believing, benefit = judging
    fac = new[0]
    m = can.size
    tier = np.empty(m, fac_tier.dtype)
    u = np.empty(m)
    for j in range(m):
        tier[j] = fac_tier[fac[can[j]]]
        u[j] = u_local[can[j]]
    _, ok = judged(np.exp(e), 1.0 / n_labels, u, tier, bel, harm, believing, benefit, free, none)
    consult = np.ones(rows.size, np.bool_)
    for j in range(m):
        correct[rows[can[j]]] = ok[j]
        consult[can[j]] = False
    return can, consult, held
