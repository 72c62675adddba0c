"""Information changes care against an exact reference (``qunsim validate --case believer_accuracy``).

``scenarios/validation/believer_accuracy.toml``: every clinician believes, from day 0 and
for good, a rumor about general medicine, and every case is a general-medicine case at a
township clinic. A treating clinician decides to diagnose locally with their own skill
``s`` (a believer decides as confidently as before) and is right with probability
``p(s - L) = g + (1 - g) / (1 + exp(-(s - L - d) / w))``, L = ``believer_skill_loss``,
independently across cases given their skills and difficulties.

Statistic (one replicate): the mean over locally diagnosed cases of ``correct - p(s - L)``,
with ``s`` and ``d`` read off the case table. Its expectation is exactly 0 given the cases
(each term has conditional mean 0), so the reference is 0 with no approximation; a rule
that ignored the belief, or applied the loss twice, would miss it by
``E[p(s) - p(s - L)]``, 0.25 in this scenario (113 local cases of seed 1), against a
99.9% half-width of about 0.04 at R = 20.
"""

from __future__ import annotations

import numpy as np

from ...validation import Case, validation_case
from .combining import p_correct

__all__ = ["believer_statistic"]


def believer_statistic(model) -> float:
    proc = model.process("diagnosis")
    cfg = proc.config
    cases = proc.cases_frame(model)
    local = (cases["route"] == "local").to_numpy() & (cases["handler_info"] == "believes").to_numpy()
    if not local.any():
        return float("nan")
    c = cases[local]
    n = local.sum()
    skill = c["asker_skill"].to_numpy(float) - cfg.information_effects.believer_skill_loss
    p = p_correct(cfg, proc.state.n_labels, skill, c["difficulty"].to_numpy(float), np.zeros(n), np.ones(n))
    return float((c["correct"].to_numpy(dtype=float) - p).mean())


validation_case(
    Case(
        name="believer_accuracy",
        scenario="believer_accuracy.toml",
        expected=lambda scen: 0.0,
        statistic=believer_statistic,
        approx=lambda scen: 0.0,  # exact: each local diagnosis is a Bernoulli(p(s - L)) given the case
        replicates=20,
        quick_replicates=8,
        description="local diagnoses by believers: mean of correct - p(skill - loss) (exactly 0)",
    )
)
