"""Parallel escalation against a closed form (``qunsim validate --case parallel_escalation``).

``scenarios/validation/parallel_escalation.toml`` sets the ordinary process so that one
asker posts every case (Poisson, rate ``lambda``) in one group of ``c`` other members
who read at once and are always engaged; a request takes ``k = max_answers_per_request``
answers, each exponential with rate ``mu``, and the first answer is accepted. With
``escalation = "parallel"`` and ``referral_patience_hours = 0`` the referral starts with
the request, and its visit comes ``D = referral_lead_days + local_workup_hours`` later
(no travel, ``referral_hop_travel_days = 0``; slots practically unlimited).

Closed form: when ``k`` members are free at the posting, the time to diagnosis is the
minimum of ``k`` independent Exp(mu) answers and the visit, ``min(Exp(k mu), D)``, with
mean ``f = (1 - exp(-k mu D)) / (k mu)``.

Statistic (one replicate): the summed time to diagnosis (minutes) of the cases arriving
in ``[0, T - 1 day)``, divided by the expected number of such arrivals ``lambda (T - 1)``
(Campbell: no ratio bias). Every such case is diagnosed by ``D < 1 day``.

Approximation bound (derived): a case's time lies in ``[0, D_i]`` whatever happens, and
equals ``min(Exp(k mu), D_i)`` when at least ``k`` members are free at its posting. The
number of answers in progress ``B`` has mean at most ``k lambda / mu`` at every time
(answers start at rate at most ``k lambda``, each lasting Exp(mu)), so by PASTA and
Markov's inequality ``P(fewer than k free) = P(B >= c - k + 1) <= k lambda / (mu (c - k + 1))``.
The visit of case ``i`` is late by at most ``n_i x gap`` (``gap`` = one slot, ``n_i`` the
visits booked before), and ``f`` grows by at most 1 per unit of ``D``. Hence
``|E[statistic] - f| <= D k lambda / (mu (c - k + 1)) + gap lambda T``.
"""

from __future__ import annotations

import math

import numpy as np

from ...validation import Case, validation_case

__all__ = ["escalation_params", "parallel_mean_minutes", "parallel_statistic"]

MARGIN_DAYS = 1.0


def escalation_params(scen) -> dict[str, float]:
    """lambda, mu (per day), k, c, D (days) and the slot gap (days) of the case; ValueError otherwise."""
    d = scen.diagnosis
    checks = {
        "diagnosis.routes": (d.routes == ["group", "referral"], '["group", "referral"]'),
        "diagnosis.escalation": (d.escalation == "parallel", '"parallel"'),
        "diagnosis.referral_patience_hours": (d.referral_patience_hours == 0.0, "0"),
        "diagnosis.read_delay": (d.read_delay == "none", '"none"'),
        "diagnosis.offhours_engagement": (d.offhours_engagement == 1.0, "1"),
        "diagnosis.group_answer_prob": (d.group_answer_prob == 1.0, "1"),
        "diagnosis.group_answerers": (d.group_answerers == "any", '"any"'),
        "diagnosis.accept_confidence": (d.accept_confidence == 0.0, "0"),
        "diagnosis.min_answers": (d.min_answers == 1, "1"),
        "diagnosis.answer_time": (d.answer_time == "exponential", '"exponential"'),
        "diagnosis.burnout_sensitivity_per_answer": (d.burnout_sensitivity_per_answer == 0.0, "0"),
        "diagnosis.answer_cap_per_day": (d.answer_cap_per_day == 0, "0"),
        "diagnosis.referral_hop_travel_days": (d.referral_hop_travel_days == 0.0, "0"),
    }
    problems = [f"{key} must be {want}" for key, (ok, want) in checks.items() if not ok]
    per_bed = d.case_rate_per_100_beds_per_day
    if per_bed.primary or per_bed.secondary or per_bed.tertiary:
        problems.append("diagnosis.case_rate_per_100_beds_per_day must be 0 (rates per facility only)")
    if problems:
        raise ValueError("the parallel_escalation case needs its settings: " + "; ".join(problems))
    per_fac = d.case_rate_per_facility_per_day
    lam = sum(
        r.count * (r.primary * per_fac.primary + r.secondary * per_fac.secondary + r.tertiary * per_fac.tertiary)
        for r in scen.population.regions
    )
    return {
        "lam": float(lam),
        "mu": 24 * 60 / d.answer_mean_minutes,
        "k": float(d.max_answers_per_request),
        "c": float(scen.population.n_clinicians - 1),
        "D": d.referral_lead_days + d.local_workup_hours / 24.0,
        # one slot at the receiving facility: at least as long as at any facility of >= 1 bed
        "gap": 100.0 / d.referral_slots_per_100_beds_per_day,
        "T": float(scen.run.duration_days),
    }


def parallel_mean_minutes(mu: float, k: float, D: float) -> float:
    """Mean of min(Exp(k mu), D) in minutes (mu per day, D in days)."""
    r = k * mu
    return (1.0 - math.exp(-r * D)) / r * 24 * 60


def _expected(scen) -> float:
    p = escalation_params(scen)
    return parallel_mean_minutes(p["mu"], p["k"], p["D"])


def _approx(scen) -> float:
    p = escalation_params(scen)
    busy = p["k"] * p["lam"] / (p["mu"] * max(p["c"] - p["k"] + 1, 1e-9))
    return (min(busy, 1.0) * p["D"] + p["gap"] * p["lam"] * p["T"]) * 24 * 60


def parallel_statistic(model) -> float:
    """Summed time to diagnosis (minutes) of arrivals in [0, T - 1 day), per expected arrival."""
    proc = model.process("diagnosis")
    C = proc.cases
    t_end = model.t - MARGIN_DAYS
    sel = C["t_arrival"] < t_end
    ttd = (C["t_dx"][sel] - C["t_arrival"][sel]) * 24 * 60
    if np.isnan(ttd).any():
        raise RuntimeError("parallel_escalation: a case arriving a day before the end is undiagnosed")
    lam = float(proc.case_rates(model).sum())
    return float(ttd.sum() / (lam * t_end))


validation_case(
    Case(
        name="parallel_escalation",
        scenario="parallel_escalation.toml",
        expected=_expected,
        statistic=parallel_statistic,
        approx=_approx,
        replicates=40,
        quick_replicates=12,
        description="mean time to diagnosis (min) under parallel escalation: min(Exp(k mu), referral visit D)",
    )
)
