"""Staged adoption of guidelines (``information.adoption = "staged"``).

Awareness -> consideration -> adoption or rejection. The compiled reader
(:func:`kernels.read_guideline`) moves an aware clinician who holds the guideline's full
text and is eligible (``adoption_sources`` distinct sources, or a copy from a group that
discussed it) to *considering*, and counts the reinforcing copies they read afterwards.
Here, once per step and only over the considering clinicians of each guideline, each one
decides: adopt with probability ``a_i`` per day, else reject with ``reject_prob_per_day``
(both as per-step probabilities ``1 - (1 - p)^dt``)::

    a_i = adopt_prob_per_day * barrier_factor^(b_i + e_i) * (1 + reinforcement * r_i / (r_i + 1)) * l_i

``b_i``: held back by a barrier of their tier (drawn once, with ``tier_barrier[tier]``, when
they start considering); ``e_i``: their facility's equipment is below the guideline's
``needs_equipment``; ``r_i``: reinforcing copies read while considering; ``l_i``:
``literacy / 0.5`` clipped to [0, 2] with ``heterogeneity`` (else 1); ``a_i`` is clipped to 1.
The tier lag of adoption thus follows from who holds the full text (paywalls, shared
articles), who hears from several sources or in discussions (the groups), and the barriers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .config import ADOPTED, LITERACY_REF, REJECTED
from .transitions import set_state

if TYPE_CHECKING:  # pragma: no cover
    from .process import InformationProcess

__all__ = ["adopt_probability", "decide", "enter"]


def enter(p: InformationProcess, model, j: int, who: np.ndarray, sender, group, t: float) -> None:
    """``who`` (distinct clinicians) start considering guideline ``j``: each is held back by
    a barrier of their tier with ``tier_barrier[tier]``."""
    if who.size == 0:
        return
    barrier = np.asarray(p.config.tier_barrier, float)[model.pop.tier[who]]
    p.arrays.held_back[j, who] = p.rng.random(who.size) < barrier
    p.considering[j] = np.concatenate([p.considering[j], who.astype(np.int64)])
    p.log.add(j, "consider", sender, who, group, t)


def adopt_probability(p: InformationProcess, model, j: int, who: np.ndarray) -> np.ndarray:
    """Per-day adoption probability ``a_i`` of considering clinicians ``who`` of guideline ``j``."""
    cfg, pop, arr = p.config, model.pop, p.arrays
    it = p.catalog.items[j]
    barriers = arr.held_back[j, who].astype(np.int64)
    barriers += pop.fac_equipment[pop.facility[who]] < it.needs_equipment
    a = cfg.adopt_prob_per_day * np.power(cfg.barrier_factor, barriers)
    if cfg.reinforcement > 0:
        r = arr.reinforced[j, who].astype(np.float64)
        a = a * (1.0 + cfg.reinforcement * r / (r + 1.0))
    if cfg.heterogeneity:
        a = a * np.clip(pop.literacy[who] / LITERACY_REF, 0.0, 2.0)
    return np.minimum(a, 1.0)


def decide(p: InformationProcess, model, t: float, dt: float) -> None:
    """Every considering clinician adopts with ``a_i`` per day, else rejects with
    ``reject_prob_per_day`` (one uniform each; per-step probabilities)."""
    if p.config.adoption != "staged":
        return
    for j, who in enumerate(p.considering):
        if who.size == 0:
            continue
        p_adopt = 1.0 - np.power(1.0 - adopt_probability(p, model, j, who), dt)
        p_reject = 1.0 - (1.0 - p.config.reject_prob_per_day) ** dt
        u = p.rng.random(who.size)
        adopt = u < p_adopt
        reject = ~adopt & (u < p_adopt + (1.0 - p_adopt) * p_reject)
        if adopt.any():
            set_state(p, j, who[adopt], ADOPTED, t, sender=who[adopt])
        if reject.any():
            p.arrays.stage[j, who[reject]] = REJECTED
            p.log.add(j, "reject", who[reject], who[reject], -1, t)
        p.considering[j] = who[~(adopt | reject)]
