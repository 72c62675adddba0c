"""Classical special cases of the information process (run by ``qunsim validate``).

Imported by :mod:`sim.validation` to register the cases.

Each closed form is computed here from the scenario's own settings, so a case stays
valid when its parameters are changed with ``--set``.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq

from ...validation import Case, validation_case
from .config import BELIEVES

__all__ = ["maki_thompson_never_heard", "reed_frost_final_size", "tambuscio_equilibrium"]


def _item(scen, kind):
    return next(it for it in scen.information.items if it.kind == kind)


def reed_frost_final_size(n: int, p: float, i0: float) -> float:
    """Share ever reached, z, solving 1 - z = (1 - i0) (1 - p)^(n z) (the large-n limit)."""
    f = lambda z: 1 - z - (1 - i0) * np.power(1 - p, n * z)  # noqa: E731
    return float(brentq(f, i0, 1.0)) if f(1.0) < 0 else 1.0


def maki_thompson_never_heard() -> float:
    """The root in (0, 1) of x = exp(-2 (1 - x)): 0.2031878..."""
    return float(brentq(lambda x: x - np.exp(-2 * (1 - x)), 1e-9, 0.9))


def tambuscio_equilibrium(beta: float, alpha: float, p_v: float, p_f: float) -> tuple[float, float, float]:
    """Mean-field fixed point (s, b, f) of the synchronous hoax model on a complete graph.

    Per step: S -> B with beta r, S -> F with beta (1 - r), r = (1+a) b / ((1+a) b + (1-a) f);
    B forgets with p_f, else verifies with p_v; F forgets with p_f. Balancing the flows:
    s = p_f / (beta + p_f); with T = 1 - s and v = p_f + p_v - p_f p_v,
    b = T [p_f (1+a) / v - (1-a)] / (2a), clipped at 0 (eradication).
    """
    s = p_f / (beta + p_f)
    total = 1 - s
    v = p_f + p_v - p_f * p_v
    b = total * (p_f * (1 + alpha) / v - (1 - alpha)) / (2 * alpha)
    b = min(max(b, 0.0), total)
    return s, b, total - b


def _reed_frost_expected(scen) -> float:
    it = _item(scen, "guideline")
    n = scen.population.n_clinicians
    return reed_frost_final_size(n, it.setting("notice_prob"), it.n_seeds / n)


def _share_heard(model) -> float:
    proc = model.process("information")
    return float(np.isfinite(proc.arrays.t_first[0]).mean())


def _tambuscio_expected(scen) -> float:
    it = _item(scen, "rumor")
    info = scen.information
    return tambuscio_equilibrium(info.beta, it.credibility, info.verify_prob_per_day, info.forget_prob_per_day)[1]


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
        # the final-size relation is the n -> infinity limit; the mean of the finite-n final
        # size differs from it by O(1/n) (von Bahr & Martin-Lof 1980); allow 1/n
        approx=lambda scen: 1.0 / scen.population.n_clinicians,
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
