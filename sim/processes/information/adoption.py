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

__all__ = ["BaseRates", "adopt_probability", "decide", "enter"]


def enter(p: InformationProcess, model, j: int, who: np.ndarray, sender, group, t: float) -> None:
    """``who`` (distinct clinicians) start considering guideline ``j``: each is held back by
    a barrier of their tier with ``tier_barrier[tier]``."""
    if who.size == 0:
        return
    who = who.astype(np.int64)
    barrier = np.asarray(p.config.tier_barrier, float)[model.pop.tier[who]]
    p.arrays.held_back[j, who] = p.rng.random(who.size) < barrier
    base = p.adopt_base[j]
    p.considering[j] = np.concatenate([p.considering[j], who])
    if base.key == _base_key(p, j):  # else the next decision recomputes every base rate
        base.rate = np.concatenate([base.rate, _base_rate(p, model, j, who)])
    p.log.add(j, "consider", sender, who, group, t)


class BaseRates:
    """Each considering clinician's adoption probability per day before reinforcement (the
    part fixed by barriers, equipment and literacy), aligned with ``p.considering[j]``;
    recomputed when a setting it depends on changes (``key``)."""

    def __init__(self):
        self.key: tuple | None = None
        self.rate = np.zeros(0)


def _base_key(p: InformationProcess, j: int) -> tuple:
    cfg = p.config
    return (cfg.adopt_prob_per_day, cfg.barrier_factor, cfg.heterogeneity, p.catalog.items[j].needs_equipment)


def _base_rate(p: InformationProcess, model, j: int, who: np.ndarray) -> np.ndarray:
    """Per-day adoption probability of ``who`` before reinforcement: a f^(h + e) l."""
    cfg, pop = p.config, model.pop
    barriers = p.arrays.held_back[j, who].astype(np.int64)
    barriers += pop.fac_equipment[pop.facility[who]] < p.catalog.items[j].needs_equipment
    a = cfg.adopt_prob_per_day * np.power(cfg.barrier_factor, barriers)
    if cfg.heterogeneity:
        a = a * np.clip(pop.literacy[who] / LITERACY_REF, 0.0, 2.0)
    return a


def adopt_probability(p: InformationProcess, model, j: int) -> np.ndarray:
    """Per-day adoption probability ``a_i`` of the clinicians considering guideline ``j``
    (``p.considering[j]``, in its order)."""
    who, base = p.considering[j], p.adopt_base[j]
    key = _base_key(p, j)
    if base.key != key or base.rate.size != who.size:
        base.key, base.rate = key, _base_rate(p, model, j, who)
    a = base.rate
    if p.config.reinforcement > 0:
        r = p.arrays.reinforced[j, who]
        if r.any():
            r = r.astype(np.float64)
            a = a * (1.0 + p.config.reinforcement * r / (r + 1.0))
    return np.minimum(a, 1.0)


def decide(p: InformationProcess, model, t: float, dt: float) -> None:
    """Every considering clinician adopts with ``a_i`` per day, else rejects with
    ``reject_prob_per_day`` (one uniform each; per-step probabilities)."""
    if p.config.adoption != "staged":
        return
    p_reject = 1.0 - (1.0 - p.config.reject_prob_per_day) ** dt
    for j, who in enumerate(p.considering):
        if who.size == 0:
            continue
        a = adopt_probability(p, model, j)
        with np.errstate(divide="ignore"):  # a = 1: log1p(-1) = -inf, and the chance is 1
            p_adopt = a if dt == 1.0 else -np.expm1(dt * np.log1p(-a))
        u = p.rng.random(who.size)
        adopt = u < p_adopt
        decided = u < p_adopt + (1.0 - p_adopt) * p_reject
        if not decided.any():
            continue
        reject = decided & ~adopt
        if adopt.any():
            set_state(p, j, who[adopt], ADOPTED, t, sender=who[adopt])
        if reject.any():
            p.arrays.stage[j, who[reject]] = REJECTED
            p.log.add(j, "reject", who[reject], who[reject], -1, t)
        keep = ~decided
        p.considering[j] = who[keep]
        p.adopt_base[j].rate = p.adopt_base[j].rate[keep]
