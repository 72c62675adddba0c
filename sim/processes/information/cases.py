"""Classical special cases of the information process (run by ``qunsim validate``).

Imported by :mod:`sim.validation` to register the cases.

Each closed form is computed here from the scenario's own settings, so a case stays
valid when its parameters are changed with ``--set``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.optimize import brentq
from scipy.special import gammaln

from ...validation import Case, validation_case
from .config import BELIEVES

__all__ = [
    "first_exposure_belief",
    "maki_thompson_never_heard",
    "reed_frost_final_distribution",
    "reed_frost_final_size",
    "reed_frost_mean_share",
    "staged_adoption_within",
    "tambuscio_equilibrium",
]

#: the staged_adoption case: adoptions within this many days of starting to consider count
ADOPTION_WINDOW_DAYS = 10


def _item(scen, kind):
    return next(it for it in scen.information.items if it.kind == kind)


def reed_frost_final_size(n: int, p: float, i0: float) -> float:
    """Share ever reached, z, solving 1 - z = (1 - i0) (1 - p)^(n z) (the large-n limit)."""
    f = lambda z: 1 - z - (1 - i0) * np.power(1 - p, n * z)  # noqa: E731
    return float(brentq(f, i0, 1.0)) if f(1.0) < 0 else 1.0


@lru_cache(maxsize=16)
def reed_frost_final_distribution(n: int, p: float, n0: int) -> np.ndarray:
    """Exact law of the number left unaware at the end of the Reed-Frost chain binomial.

    State (s, i): s unaware, i new spreaders this generation; each unaware clinician
    escapes all i copies with probability (1 - p)^i, so the next generation is
    i' ~ Binomial(s, 1 - (1 - p)^i) and s' = s - i'; the chain stops when i' = 0. As s
    only falls, one pass over s from n - n0 down to 0 carries every state's mass forward
    (O(n^3 / 6) operations: a second for n = 500). Returns P(s_final = s), s = 0..n.
    """
    mass = np.zeros((n + 1, n + 1))  # mass[s, i]
    mass[n - n0, n0] = 1.0
    final = np.zeros(n + 1)
    log_fact = gammaln(np.arange(n + 1) + 1.0)
    log_miss = np.log1p(-p)
    for s in range(n - n0, -1, -1):
        final[s] += mass[s, 0]
        m = mass[s, 1 : n - s + 1]
        live = np.flatnonzero(m > 0)
        if live.size == 0:
            continue
        if s == 0:
            final[0] += m[live].sum()
            continue
        log_esc = (live + 1.0) * log_miss  # log (1 - p)^i
        log_hit = np.log(-np.expm1(log_esc))
        j = np.arange(s + 1)
        log_pmf = (log_fact[s] - log_fact[j] - log_fact[s - j])[None, :] + np.outer(log_hit, j)
        log_pmf += np.outer(log_esc, s - j)
        flow = m[live] @ np.exp(log_pmf)
        final[s] += flow[0]
        mass[s - j[1:], j[1:]] += flow[1:]
    return final


def reed_frost_mean_share(n: int, p: float, n0: int) -> tuple[float, float]:
    """Exact mean share ever reached, E[(n - s_final) / n], and a bound on its numerical
    error: the probability mass lost (each unit of which moves the mean by at most 1)
    plus 1e-8 for rounding (about n^3 / 6 = 2e7 sums of terms below 1 at n = 500, each
    with relative error 1e-16)."""
    final = reed_frost_final_distribution(n, p, n0)
    share = (n - np.arange(n + 1)) / n
    return float(final @ share), float(abs(1.0 - final.sum()) + 1e-8)


def maki_thompson_never_heard() -> float:
    """The root in (0, 1) of x = exp(-2 (1 - x)): 0.2031878..."""
    return float(brentq(lambda x: x - np.exp(-2 * (1 - x)), 1e-9, 0.9))


def tambuscio_equilibrium(
    beta: float, alpha: float, p_v: float, p_f: float, rule: str = "tambuscio"
) -> tuple[float, float, float]:
    """Mean-field fixed point (s, b, f) of the synchronous hoax model on a complete graph.

    Per step: S -> B with beta r, S -> F with beta (1 - r), r = (1+a) b / ((1+a) b + (1-a) f);
    F forgets with p_f; B forgets with p_f or verifies with p_v, exclusive events
    (``rule = "tambuscio"``, Tambuscio et al. 2015), or verifies with p_v only if it did
    not forget (``rule = "forget_first"``). Balancing the flows: s = p_f / (beta + p_f);
    with T = 1 - s and v the believers' total outflow (p_f + p_v, or p_f + p_v - p_f p_v),
    b = T [p_f (1+a) / v - (1-a)] / (2a), clipped at 0 (eradication).
    """
    s = p_f / (beta + p_f)
    total = 1 - s
    v = min(p_f + p_v, 1.0) if rule == "tambuscio" else p_f + p_v - p_f * p_v
    b = total * (p_f * (1 + alpha) / v - (1 - alpha)) / (2 * alpha)
    b = min(max(b, 0.0), total)
    return s, b, total - b


def first_exposure_belief(scen) -> float:
    """Probability that a reader of every seed's copy (k rumor seeds, m correction seeds,
    unit weights) believes: beta (1+a) k / ((1+a) k + (1-a)(kappa m + w0))."""
    from .belief import stance_probabilities

    rumor, corr = _item(scen, "rumor"), _item(scen, "correction")
    k, m = _n_seeds(rumor), _n_seeds(corr)
    return float(stance_probabilities(scen.information, rumor.credibility, k, m)[0])


def staged_adoption_within(a: float, b: float, days: int) -> float:
    """Probability that a considering clinician adopts within ``days`` daily decisions (the
    first on the day they start considering): each day adopt with ``a``, else reject with
    ``b``; the decisions go on with probability s = (1 - a)(1 - b) a day, so the share is
    a (1 + s + ... + s^(days-1)) = a (1 - s^days) / (1 - s)."""
    s = (1.0 - a) * (1.0 - b)
    return float(a * days) if s == 1.0 else float(a * (1.0 - s**days) / (1.0 - s))


def _staged_adoption_expected(scen) -> float:
    """Every reader is at a primary clinic (the case's one town): held back with beta =
    tier_barrier[primary], adopting with a f instead of a; the two kinds mix."""
    info = scen.information
    a, b, f, beta = info.adopt_prob_per_day, info.reject_prob_per_day, info.barrier_factor, info.tier_barrier[0]
    d = ADOPTION_WINDOW_DAYS
    return (1.0 - beta) * staged_adoption_within(a, b, d) + beta * staged_adoption_within(a * f, b, d)


def _staged_adoption_share(model) -> float:
    """Of the clinicians who started considering the guideline, the share who adopted
    within ADOPTION_WINDOW_DAYS days (from the event log)."""
    ev = model.process("information").log.frame()
    start = ev[ev["kind"] == "consider"].groupby("receiver")["t"].min()
    adopt = ev[ev["kind"] == "adopt"].groupby("receiver")["t"].min().reindex(start.index)
    return float(((adopt - start) < ADOPTION_WINDOW_DAYS - 0.5).mean())


def _n_seeds(it) -> int:
    return len(set(it.seed_clinicians)) if it.seed_clinicians is not None else it.n_seeds


def _first_exposure_share(model) -> float:
    """Share of the clinicians who were not seeds that ever believed."""
    scen = model.config
    seeds = {c for it in scen.information.items for c in (it.seed_clinicians or [])}
    readers = np.setdiff1d(np.arange(model.pop.n), np.fromiter(seeds, np.int64))
    return float(model.process("information").arrays.ever_believed[0, readers].mean())


def _reed_frost_exact(scen) -> tuple[float, float]:
    it = _item(scen, "guideline")
    return reed_frost_mean_share(scen.population.n_clinicians, it.setting("notice_prob"), it.n_seeds)


def _reed_frost_expected(scen) -> float:
    return _reed_frost_exact(scen)[0]


def _share_heard(model) -> float:
    proc = model.process("information")
    return float(np.isfinite(proc.arrays.t_first[0]).mean())


def _tambuscio_expected(scen) -> float:
    it = _item(scen, "rumor")
    info = scen.information
    rule = "forget_first" if info.belief_rule == "forget_first" else "tambuscio"
    return tambuscio_equilibrium(info.beta, it.credibility, info.verify_prob_per_day, info.forget_prob_per_day, rule)[1]


def _final_believers(model) -> float:
    return float((model.process("information").arrays.state[0] == BELIEVES).mean())


class _TimeAverage:
    """Believer share averaged over the second half of the run (past the transient)."""

    def __call__(self, model) -> float:
        ts = model.recorder.frame()
        name = model.process("information").items[0].name
        s = ts[(ts["metric"] == "n_believes") & (ts["item"] == name)]
        late = s[s["t"] > s["t"].max() / 2]
        return float(late["value"].mean() / model.pop.n)


validation_case(
    Case(
        name="reed_frost",
        scenario="reed_frost.toml",
        expected=_reed_frost_expected,
        statistic=_share_heard,
        # the exact mean of the finite-n chain binomial (not the n -> infinity final-size
        # relation, which is 0.0027 off at n = 500): only numerical error remains
        approx=lambda scen: _reed_frost_exact(scen)[1],
        replicates=60,
        quick_replicates=20,
        description="broadcast in one group, fixed adoption probability: final size",
    )
)

validation_case(
    Case(
        name="maki_thompson",
        scenario="maki_thompson.toml",
        expected=lambda scen: maki_thompson_never_heard(),
        statistic=lambda model: 1.0 - _share_heard(model),
        # the share never hearing converges to the root at rate O(1/n) in mean (Sudbury 1985)
        approx=lambda scen: 1.0 / scen.population.n_clinicians,
        replicates=30,
        quick_replicates=10,
        description="pairwise rumor, well mixed: share never hearing",
    )
)

validation_case(
    Case(
        name="tambuscio",
        scenario="tambuscio.toml",
        expected=_tambuscio_expected,
        statistic=_TimeAverage(),
        # mean-field on a complete graph of n: the stochastic map's stationary mean differs
        # from the fixed point by O(1/n) (second-order term of a map with O(1/n) noise)
        approx=lambda scen: 1.0 / scen.population.n_clinicians,
        replicates=20,
        quick_replicates=8,
        description="hoax vs fact-checking: mean-field share of believers",
    )
)

validation_case(
    Case(
        name="tambuscio_eradication",
        scenario="tambuscio_eradication.toml",
        expected=_tambuscio_expected,
        statistic=_final_believers,
        approx=lambda scen: 0.0,
        replicates=10,
        quick_replicates=5,
        description="hoax vs fact-checking above the verification threshold: no believer left",
    )
)

validation_case(
    Case(
        name="tambuscio_forget_first",
        scenario="tambuscio_forget_first.toml",
        expected=_tambuscio_expected,
        statistic=_TimeAverage(),
        approx=lambda scen: 1.0 / scen.population.n_clinicians,  # as the tambuscio case
        replicates=20,
        quick_replicates=8,
        description="hoax vs fact-checking, forget-first variant: mean-field share of believers",
    )
)

validation_case(
    Case(
        name="first_exposure",
        scenario="first_exposure.toml",
        expected=first_exposure_belief,
        statistic=_first_exposure_share,
        # each reader is an independent Bernoulli trial with exactly this probability
        approx=lambda scen: 0.0,
        replicates=20,
        quick_replicates=8,
        description="belief on first exposure with own judgment and a correction: share believing",
    )
)

validation_case(
    Case(
        name="staged_adoption",
        scenario="staged_adoption.toml",
        expected=_staged_adoption_expected,
        statistic=_staged_adoption_share,
        # each considering reader is an independent trial with exactly this probability
        approx=lambda scen: 0.0,
        replicates=20,
        quick_replicates=8,
        description="staged adoption with a tier barrier: share adopting within 10 days of considering",
    )
)
