"""Validation cases of pairwise trust (run by ``qunsim validate``; imported by
:mod:`sim.validation` to register them).

* ``trust_belief``: with no learning and every prior mean ``t``, every copy weighs
  ``f = t / reference`` times its credibility, so the first-exposure belief is
  ``beta (1+a) k f / ((1+a) k f + (1-a)(kappa m f + w0))``; at ``t = reference`` it is the
  ``first_exposure`` case (trust without learning equals the fixed credibility; a test
  checks that such a run equals the run without trust draw for draw).
* ``trust_learning``: the asker's trust in an expert after ``n`` answers, ``R`` of them
  right, is the Beta mean ``(alpha0 + g R) / (n0 + g n)``; each answer of accuracy ``p_k``
  is right with probability ``p_k``, so ``E[sum over pairs of (n0 + g n) trust - alpha0 -
  g sum_k p_k] = 0`` exactly (a sum of bounded martingale differences stopped at the end
  of the run).
"""

from __future__ import annotations

import numpy as np

from ...validation import Case, validation_case
from ..information.cases import _first_exposure_share, _item, _n_seeds

__all__ = ["learning_residual", "trust_belief"]


def trust_belief(scen) -> float:
    """First-exposure belief with every copy weighted by prior / reference."""
    from ..information.belief import stance_probabilities

    tr = scen.trust
    priors = {tr.initial_formal, tr.initial_introduced, tr.initial_event}
    if len(priors) != 1 or tr.answer_gain or tr.meeting_gain or not tr.enabled or not tr.belief:
        raise ValueError("trust_belief needs trust on for belief, one prior mean for every tie and no learning")
    f = priors.pop() / tr.reference
    rumor, corr = _item(scen, "rumor"), _item(scen, "correction")
    k, m = _n_seeds(rumor), _n_seeds(corr)
    return float(stance_probabilities(scen.information, rumor.credibility, k * f, m * f)[0])


def learning_residual(model) -> float:
    """Sum over the stored pairs of (n0 + g n) trust - alpha0 - g sum_k p_k (answers finished in the run)."""
    from ..diagnosis import outputs

    trust = model.process("trust")
    dx = model.process("diagnosis")
    g, n0 = trust.config.answer_gain, trust.config.prior_strength
    ans = outputs.answers_frame(dx.state)
    ans = ans[ans["t_end"] < model.t]
    asker = dx.state.cases["asker"][ans["case"].to_numpy()].astype(np.int64)
    key = asker * model.pop.n + ans["expert"].to_numpy(np.int64)
    p_sum = float(ans["confidence"].to_numpy(float).sum())
    n = np.bincount(trust._stored(key), minlength=trust.size)
    alpha0 = trust.alpha0
    value = trust.trust()
    return float(((n0 + g * n) * value - alpha0).sum() - g * p_sum)


validation_case(
    Case(
        name="trust_belief",
        scenario="trust_belief.toml",
        expected=trust_belief,
        statistic=_first_exposure_share,
        # each reader is an independent Bernoulli trial with exactly this probability
        approx=lambda scen: 0.0,
        replicates=20,
        quick_replicates=8,
        description="belief on first exposure, copies weighted by trust / reference: share believing",
    )
)

validation_case(
    Case(
        name="trust_learning",
        scenario="trust_learning.toml",
        expected=lambda scen: 0.0,
        statistic=learning_residual,
        approx=lambda scen: 0.0,  # exact in expectation
        replicates=20,
        quick_replicates=8,
        description="Beta trust after answers of known accuracy: sum of (n0 + g n) trust - alpha0 - g sum p",
    )
)
