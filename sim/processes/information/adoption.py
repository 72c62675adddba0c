"""Staged adoption of guidelines (``information.adoption = "staged"``).

Awareness -> consideration -> adoption or rejection. The compiled reader
(:func:`.kernels.read_guideline`) moves an aware clinician who holds the guideline's full
text and is eligible (``adoption_sources`` distinct sources, or a copy from a group that
discussed it) to *considering*, and counts the reinforcing copies they read afterwards.
Here, once per step and only over the considering clinicians of each guideline, each one
decides (one uniform each, drawn only where it is below the largest chance to decide,
:func:`sim.rng.bernoulli_hits`): adopt with probability ``a_i`` per day, else reject with ``reject_prob_per_day``
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

from ...rng import bernoulli_hits
from . import decision_kernels
from .config import ADOPTED, LITERACY_REF, REJECTED
from .transitions import set_state

if TYPE_CHECKING:  # pragma: no cover
    from .process import InformationProcess

__all__ = ["BaseRates", "decide", "enter", "step_chances"]


def enter(p: InformationProcess, model, j: int, who: np.ndarray, sender, group, t: float) -> None:
    """``who`` (distinct clinicians) start considering guideline ``j``: each is held back by
    a barrier of their tier with ``tier_barrier[tier]``."""
    if who.size == 0:
        return
    who = who.astype(np.int64)
    barrier = np.asarray(p.config.tier_barrier, float)[model.pop.tier[who]]
    p.arrays.held_back[j, who] = p.rng.random(who.size) < barrier
    base = p.adopt_base[j]
    # appended in buffers with room (the lists are long, the newcomers of a step few)
    base.who_buf, p.considering[j] = _append(base.who_buf, p.considering[j], who)
    if base.key == _base_key(p, j):  # else the next decision recomputes every base rate
        base.rate_buf, base.rate = _append(base.rate_buf, base.rate, _base_rate(p, model, j, who))
    p.log.add(j, "consider", sender, who, group, t)


def _with_room(n: int) -> int:
    """The size of a buffer grown to hold ``n`` entries: a quarter more, for the steps to come."""
    return n + n // 4 + 64


def _append(buf: np.ndarray, view: np.ndarray, more: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.concatenate([view, more])`` as the start of a buffer with room: written into
    ``buf`` after ``view`` when ``view`` is the start of ``buf`` and it has room, else into a
    new buffer with a quarter more room. Returns (the buffer, the appended list: a view of it)."""
    n, k = view.size, more.size
    if view.base is not buf or view.ctypes.data != buf.ctypes.data or buf.size < n + k:
        grown = np.empty(_with_room(n + k), np.result_type(view, more))
        grown[:n] = view
        buf = grown
    buf[n : n + k] = more
    return buf, buf[: n + k]


class BaseRates:
    """Per guideline, aligned with ``p.considering[j]``: each considering clinician's adoption
    probability per day before reinforcement (the part fixed by barriers, equipment and
    literacy), recomputed when a setting it depends on changes (``key``); and this step
    length's chances to adopt and to decide at all (:func:`step_chances`), computed for the
    reinforcing copies in ``seen`` and kept while ``step_key`` stays the same."""

    def __init__(self) -> None:
        self.key: tuple | None = None
        self.rate = np.zeros(0)
        self.rate_buf = np.zeros(0)  # rate is a view of its start, when appended to (see _append)
        self.who_buf = np.zeros(0, np.int64)  # likewise the guideline's list of considering clinicians
        self.step_key: tuple | None = None
        self.seen = np.zeros(0, np.int16)
        self.chances = np.zeros((2, 0))  # p_adopt and p_decide are views of its rows, from the start
        self.p_adopt = self.chances[0]
        self.p_decide = self.chances[1]

    def stay(self, m: int) -> None:
        """Keep the first ``m`` entries (those of the clinicians still considering, moved to
        the front by :func:`.decision_kernels.decide_considering`)."""
        self.rate, self.seen, self.p_adopt, self.p_decide = (
            self.rate[:m],
            self.seen[:m],
            self.p_adopt[:m],
            self.p_decide[:m],
        )


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


def _current_base(p: InformationProcess, model, j: int) -> BaseRates:
    who, base = p.considering[j], p.adopt_base[j]
    key = _base_key(p, j)
    if base.key != key or base.rate.size != who.size:
        base.key, base.rate = key, _base_rate(p, model, j, who)
        base.step_key = None  # every chance is computed again
    return base


def _reinforced(p: InformationProcess, base: np.ndarray, r: np.ndarray) -> np.ndarray:
    """``a_i`` from the base rates and the reinforcing copies ``r`` (one each)."""
    a = base
    if p.config.reinforcement > 0 and r.any():
        r = r.astype(np.float64)
        a = a * (1.0 + p.config.reinforcement * r / (r + 1.0))
    return np.minimum(a, 1.0)


def step_chances(p: InformationProcess, model, j: int, dt: float, p_reject: float) -> tuple[np.ndarray, np.ndarray]:
    """This step's chance of each clinician considering guideline ``j`` (in order) to adopt,
    ``1 - (1 - a_i)^dt``, and to decide at all (adopt, else reject with ``p_reject``).

    Kept from step to step: computed afresh only for the clinicians who started
    considering or read a reinforcing copy since (or for all when a setting changed), by
    the same element-wise operations as for all, so the numbers are the same."""
    who, base = p.considering[j], _current_base(p, model, j)
    step_key = (base.key, dt, p_reject, p.config.reinforcement)
    reinforcement = p.config.reinforcement > 0
    n_old = base.p_adopt.size if base.step_key == step_key else 0
    if reinforcement:  # the counts now, and where they changed since the chances were computed
        r, stale = decision_kernels.reinforced_now(p.arrays.reinforced[j], who, base.seen[:n_old])
    else:  # no reinforcement counted: zeros, kept (and compacted) with the chances
        r = base.seen if base.seen.size == who.size else np.zeros(who.size, np.int16)
        stale = np.zeros(0, np.int64)
    if n_old == who.size and stale.size == 0:
        return base.p_adopt, base.p_decide
    at = np.concatenate([stale, np.arange(n_old, who.size)])
    a = _reinforced(p, base.rate[at], r[at])
    with np.errstate(divide="ignore"):  # a = 1: log1p(-1) = -inf, and the chance is 1
        p_adopt = a if dt == 1.0 else -np.expm1(dt * np.log1p(-a))
    if n_old < who.size:  # the chances are views of a buffer with room (a quarter more when full)
        if base.chances.shape[1] < who.size:
            grown = np.empty((2, _with_room(who.size)))
            grown[0, :n_old], grown[1, :n_old] = base.p_adopt[:n_old], base.p_decide[:n_old]
            base.chances = grown
        base.p_adopt, base.p_decide = base.chances[0, : who.size], base.chances[1, : who.size]
    base.p_adopt[at] = p_adopt
    base.p_decide[at] = p_adopt + (1.0 - p_adopt) * p_reject
    base.seen, base.step_key = r, step_key
    return base.p_adopt, base.p_decide


def decide(p: InformationProcess, model, t: float, dt: float) -> None:
    """Every considering clinician adopts with ``a_i`` per day, else rejects with
    ``reject_prob_per_day`` (one uniform each, drawn where it can decide; per-step probabilities)."""
    if p.config.adoption != "staged":
        return
    p_reject = 1.0 - (1.0 - p.config.reject_prob_per_day) ** dt
    for j, who in enumerate(p.considering):
        if who.size == 0:
            continue
        p_adopt, p_decide = step_chances(p, model, j, dt, p_reject)
        base = p.adopt_base[j]
        # one compiled pass: who adopts, who rejects; the others stay, kept in place
        # the uniforms that can decide: below the largest chance (of the chances alone, so the
        # draws do not depend on which chances were kept from the step before)
        hit, u = bernoulli_hits(p.rng, who.size, min(1.0, float(np.maximum.reduce(p_decide))), p.rng_ref)
        adopt, reject, m = decision_kernels.decide_considering(hit, u, p_adopt, p_decide, who, base.rate, base.seen)
        if m == who.size:
            continue
        p.considering[j] = who[:m]
        base.stay(m)
        if adopt.size:
            set_state(p, j, adopt, ADOPTED, t, sender=adopt)
        if reject.size:
            p.arrays.stage[j, reject] = REJECTED
            p.log.add(j, "reject", reject, reject, -1, t)
