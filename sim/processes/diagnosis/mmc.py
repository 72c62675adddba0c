"""The diagnosis process as an M/M/c consult queue, against Erlang C (``qunsim validate --case mmc``).

``scenarios/validation/mmc.toml`` configures the ordinary process so that one asker
posts every case (Poisson, rate ``lambda``) in one group whose other ``c`` members
answer: reading at once (``read_delay = "none"``), always engaged
(``offhours_engagement = 1``, ``group_answer_prob = 1``, no burnout, no cap), one
answer per request (``max_answers_per_request = 1``), the first answer accepted
(``accept_confidence = 0``), exponential answer times with mean ``1/mu``, each member
answering one request at a time, oldest first. That is M/M/c FCFS, and an arrival
waits exactly when all ``c`` members are busy.

Closed form: the probability of waiting is Erlang C,
``C(c, a) = [a^c/c! * c/(c-a)] / [sum_{k<c} a^k/k! + a^c/c! * c/(c-a)]``, ``a = lambda/mu``,
and the mean wait is ``C(c, a) / (c mu - lambda)``; :func:`erlang_c` evaluates it through
the Erlang B recursion, which does not overflow for large ``c``.

Statistic (one replicate): arrivals in ``[W, T)`` that waited, divided by the
*expected* number of arrivals ``lambda (T - W)``. By the Campbell-Mecke formula
(Poisson arrivals see time averages) its expectation is exactly the time average of
``P(N(t) >= c)`` over ``[W, T)``, with no ratio bias.

Approximation bound: event times are exact in continuous time (arrival times,
answer starts and ends; ``answering.match`` reproduces the event order
within a step), so the only gap to the stationary formula is the start from an empty
queue. For a Markov chain the total-variation distance to stationarity never
increases, so for every t >= W ``|P_t(N >= c) - C| <= TV(p_W, pi)``; ``approx`` is
that distance, computed from the transient law ``p_W = e_0 exp(Q W)`` of the
birth-death chain truncated far into the tail (plus the truncated tail mass).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg import expm

from ...validation import Case, validation_case

__all__ = ["MMC_WARMUP_DAYS", "erlang_c", "mmc_mean_wait", "mmc_params", "mmc_stationary", "mmc_transient_tv"]

MMC_WARMUP_DAYS = 5.0


def erlang_c(c: int, a: float) -> float:
    """Probability that an arrival waits in M/M/c with offered load ``a = lambda / mu < c``.

    Computed through the Erlang B recursion ``B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1))``
    and ``C = c B(c) / (c - a (1 - B(c)))``: every intermediate lies in [0, 1], so it
    neither overflows nor loses precision for large ``c`` (the textbook sum of
    ``a^k / k!`` overflows a float at c ~ 170).
    """
    if not 0 <= a < c:
        raise ValueError(f"M/M/c needs 0 <= a < c, got a = {a}, c = {c}")
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return c * b / (c - a * (1.0 - b))


def mmc_mean_wait(lam: float, mu: float, c: int) -> float:
    """Mean time in queue (same unit as 1/lam): C(c, a) / (c mu - lam)."""
    return erlang_c(c, lam / mu) / (c * mu - lam)


def _n_max(lam: float, mu: float, c: int) -> int:
    rho = lam / (c * mu)
    return int(c + np.ceil(np.log(1e-15) / np.log(rho)) + 20)


def mmc_stationary(lam: float, mu: float, c: int, n_max: int) -> tuple[np.ndarray, float]:
    """Stationary queue-length probabilities 0..n_max and the mass beyond n_max."""
    a, rho = lam / mu, lam / (c * mu)
    n = np.arange(n_max + 1)
    logw = np.where(
        n <= c,
        n * np.log(a) - np.array([math.lgamma(k + 1) for k in n]),
        c * np.log(a) - math.lgamma(c + 1) + (n - c) * np.log(rho),
    )
    head = np.exp(logw)
    tail = np.exp(c * np.log(a) - math.lgamma(c + 1)) * rho ** (n_max + 1 - c) / (1 - rho)
    total = head.sum() + tail
    return head / total, tail / total


def mmc_transient_tv(lam: float, mu: float, c: int, t: float) -> float:
    """Total-variation distance at time t between the queue started empty and stationarity.

    The chain is truncated at ``n_max`` (stationary tail < 1e-15); the truncated
    chain's mass at ``n_max`` and the stationary tail are added as a bound on the
    truncation error.
    """
    n_max = _n_max(lam, mu, c)
    q = np.zeros((n_max + 1, n_max + 1))
    idx = np.arange(n_max)
    q[idx, idx + 1] = lam
    q[idx + 1, idx] = mu * np.minimum(idx + 1, c)
    q[np.diag_indices_from(q)] = -q.sum(axis=1)
    p0 = np.zeros(n_max + 1)
    p0[0] = 1.0
    pt = p0 @ expm(q * t)
    pi, tail = mmc_stationary(lam, mu, c, n_max)
    return float(0.5 * np.abs(pt - pi).sum() + tail + pt[-1])


def mmc_params(scen) -> tuple[float, float, int]:
    """(lambda per day, mu per day, c) of a scenario set up as M/M/c; ValueError otherwise."""
    d = scen.diagnosis
    problems = []
    checks = {
        "diagnosis.routes": (d.routes == ["group"], '["group"]'),
        "diagnosis.read_delay": (d.read_delay == "none", '"none"'),
        "diagnosis.offhours_engagement": (d.offhours_engagement == 1.0, "1"),
        "diagnosis.group_answer_prob": (d.group_answer_prob == 1.0, "1"),
        "diagnosis.group_answerers": (d.group_answerers == "any", '"any"'),
        "diagnosis.max_answers_per_request": (d.max_answers_per_request == 1, "1"),
        "diagnosis.accept_confidence": (d.accept_confidence == 0.0, "0"),
        "diagnosis.answer_time": (d.answer_time == "exponential", '"exponential"'),
        "diagnosis.burnout_sensitivity_per_answer": (d.burnout_sensitivity_per_answer == 0.0, "0"),
        "diagnosis.answer_cap_per_day": (d.answer_cap_per_day == 0, "0"),
    }
    for key, (ok, want) in checks.items():
        if not ok:
            problems.append(f"{key} must be {want}")
    per_bed = d.case_rate_per_100_beds_per_day
    if per_bed.primary or per_bed.secondary or per_bed.tertiary:
        problems.append("diagnosis.case_rate_per_100_beds_per_day must be 0 (rates per facility only)")
    if problems:
        raise ValueError("the mmc case needs the M/M/c settings: " + "; ".join(problems))
    per_fac = d.case_rate_per_facility_per_day
    lam = sum(
        r.count * (r.primary * per_fac.primary + r.secondary * per_fac.secondary + r.tertiary * per_fac.tertiary)
        for r in scen.population.regions
    )
    mu = 24 * 60 / d.answer_mean_minutes
    c = scen.population.n_clinicians - 1  # everyone but the one asker answers
    return float(lam), float(mu), int(c)


def _expected(scen) -> float:
    lam, mu, c = mmc_params(scen)
    return erlang_c(c, lam / mu)


def _approx(scen) -> float:
    lam, mu, c = mmc_params(scen)
    return mmc_transient_tv(lam, mu, c, MMC_WARMUP_DAYS)


def waited_share(model, warmup_days: float = MMC_WARMUP_DAYS) -> float:
    """Arrivals in [W, T) that had to wait, per expected arrival lambda (T - W)."""
    proc = model.process("diagnosis")
    cases = proc.cases
    t_end = model.t
    arr = cases["t_arrival"]
    sel = (arr >= warmup_days) & (arr < t_end)
    waited = ~(cases["t_first_start"][sel] <= arr[sel])  # never started by the end: waited
    lam = float(proc.case_rates(model).sum())
    return float(waited.sum() / (lam * (t_end - warmup_days)))


def mean_wait_days(model, warmup_days: float = MMC_WARMUP_DAYS, margin_days: float = 1.0) -> float:
    """Total wait of arrivals in [W, T - margin), per expected arrival (days).

    Arrivals more than ``margin_days`` before the end have all started (a wait that long
    has probability ~ C exp(-(c mu - lambda) margin)).
    """
    proc = model.process("diagnosis")
    cases = proc.cases
    t_end = model.t - margin_days
    arr = cases["t_arrival"]
    sel = (arr >= warmup_days) & (arr < t_end)
    wait = cases["t_first_start"][sel] - arr[sel]
    lam = float(proc.case_rates(model).sum())
    return float(np.nansum(wait) / (lam * (t_end - warmup_days)))


validation_case(
    Case(
        name="mmc",
        scenario="mmc.toml",
        expected=_expected,
        statistic=waited_share,
        approx=_approx,
        replicates=40,
        quick_replicates=12,
        description="consult queue of c always-available experts: Erlang C probability of waiting",
    )
)
