"""Rumors: taking a stance on reading, corrections turning believers, verification and forgetting.

Exposure (Tambuscio et al. 2015 rule, weighted): a reader in ``unaware``/``doubts`` with
rumor weight ``W_r`` and correction weight ``W_c`` (sums of source credibility x fidelity
of the copies read this step) takes a stance with probability ``beta``: ``believes``
with probability ``W_r(1+a) / (W_r(1+a) + W_c(1-a))``, else ``corrected``; ``a`` is the
rumor's credibility lowered by the reader's information literacy. A believer reading
corrections turns with probability ``1 - (1 - correction_uptake)^W_c`` unless persistent
(continued influence). One who takes a stance shares it with the rumor's ``share_prob``.

Verification and forgetting (from the state at the start of the step): believers verify
(``verify_prob_per_day`` x literacy) and become correctors; doubters check
(``check_prob_per_day`` x literacy) likewise; believers and correctors forget
(``forget_prob_per_day``) back to ``doubts``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ...arrays import unique_first
from ...table import Table
from .config import BELIEVES, CONTENT, CORRECTED, CORRECTION, DOUBTS, LITERACY_REF, UNAWARE
from .state import per_step
from .transitions import set_state

if TYPE_CHECKING:  # pragma: no cover
    from .process import InformationProcess

__all__ = ["expose_rumor", "verify_and_forget"]


def expose_rumor(p: InformationProcess, model, j: int, sub: Table, t: float) -> None:
    """Readers of the copies ``sub`` of rumor ``j`` (in random order) take a stance."""
    cfg, n, arr = p.config, model.pop.n, p.arrays
    recv, stance, w, sender, group = sub["recv"], sub["stance"], sub["weight"], sub["sender"], sub["group"]
    state = arr.state[j, recv]
    first = _first_copies(recv)
    known = (state != UNAWARE) | ~first
    _stifle(p, j, sender, group, known)
    w_r = np.bincount(recv, weights=w * (stance == CONTENT), minlength=n)
    w_c = np.bincount(recv, weights=w * (stance == CORRECTION), minlength=n)
    readers, at = unique_first(recv)  # sorted, with first copies
    st = arr.state[j, readers]
    # each new state is attributed to the reader's first copy of the matching stance
    src_r, grp_r = _first_of(recv, stance == CONTENT, sender, group, readers)
    src_c, grp_c = _first_of(recv, stance == CORRECTION, sender, group, readers)
    src, grp = sender[at], group[at]
    # susceptible readers take a stance
    sus = (st == UNAWARE) | (st == DOUBTS)
    r_s = readers[sus]
    a = np.full(r_s.size, p.catalog.items[j].credibility)
    if cfg.heterogeneity:
        a = a - cfg.literacy_effect * (model.pop.literacy[r_s] - LITERACY_REF)
    a = np.clip(a, -0.99, 0.99)
    wr, wc = w_r[r_s] * (1 + a), w_c[r_s] * (1 - a)
    take = p.rng.random(r_s.size) < cfg.beta
    believe = take & (p.rng.random(r_s.size) * (wr + wc) < wr)
    correct = take & ~believe
    doubt = ~take & (arr.state[j, r_s] == UNAWARE)
    for mask, new, who_s, who_g in (
        (believe, BELIEVES, src_r, grp_r),
        (correct, CORRECTED, src_c, grp_c),
        (doubt, DOUBTS, src, grp),
    ):
        set_state(p, j, r_s[mask], new, t, sender=who_s[sus][mask], group=who_g[sus][mask])
    share_prob = p.settings["share_prob"][j]
    took = r_s[believe | correct]
    arr.active[j, took] = p.rng.random(took.size) < share_prob
    # believers reading corrections
    bel = (st == BELIEVES) & (w_c[readers] > 0)
    r_b = readers[bel]
    arr.reached_corr[j, r_b] = True
    p_turn = 1.0 - np.power(1.0 - cfg.correction_uptake, w_c[r_b])
    turn = (p.rng.random(r_b.size) < p_turn) & ~arr.persistent[j, r_b]
    set_state(p, j, r_b[turn], CORRECTED, t, sender=src_c[bel][turn], group=grp_c[bel][turn])
    arr.active[j, r_b[turn]] = p.rng.random(int(turn.sum())) < share_prob
    # believers reached by a correction (also those who believe after reading one now)
    arr.reached_corr[j, r_s[believe & (w_c[r_s] > 0)]] = True


def verify_and_forget(p: InformationProcess, model, start: dict[int, np.ndarray], t: float, dt: float) -> None:
    """One draw per clinician and rumor: forget, verify (believers) or check (doubters),
    for those still in their start-of-step state (one transition per step)."""
    if not p.catalog.rumors:
        return
    cfg, arr = p.config, p.arrays
    lit = (model.pop.literacy / LITERACY_REF) if cfg.heterogeneity else 1.0
    p_verify = np.clip(per_step(cfg.verify_prob_per_day, dt) * lit, 0, 1)
    p_check = np.clip(per_step(cfg.check_prob_per_day, dt) * lit, 0, 1)
    p_forget = float(per_step(cfg.forget_prob_per_day, dt))
    for j in p.catalog.rumors:
        st0 = start[j]
        same = arr.state[j] == st0
        u = p.rng.random(st0.size)
        bel = same & (st0 == BELIEVES)
        cor = same & (st0 == CORRECTED)
        forget = (bel | cor) & (u < p_forget)
        verify = bel & ~forget & (u < p_forget + p_verify * (1 - p_forget))
        check = same & (st0 == DOUBTS) & (u < np.broadcast_to(p_check, st0.shape))
        who = np.flatnonzero(forget)
        if who.size:
            arr.state[j, who] = DOUBTS
            arr.active[j, who] = False
            p.log.add(j, "forget", who, who, -1, t)
        for mask in (verify, check):
            who = np.flatnonzero(mask)
            if who.size:
                set_state(p, j, who, CORRECTED, t, sender=who)
                arr.active[j, who] = p.rng.random(who.size) < p.settings["share_prob"][j]


def _stifle(p: InformationProcess, j: int, sender: np.ndarray, group: np.ndarray, known: np.ndarray) -> None:
    """Senders of direct messages to someone who already knew stop (Maki-Thompson)."""
    prob = p.settings["stifle_prob"][j]
    if prob <= 0:
        return
    hit = known & (group < 0)
    if hit.any():
        senders = sender[hit]
        stop = senders[p.rng.random(senders.size) < prob]
        p.arrays.active[j, stop] = False


def _first_copies(recv: np.ndarray) -> np.ndarray:
    first = np.zeros(recv.size, bool)
    first[unique_first(recv)[1]] = True
    return first


def _first_of(recv, mask, sender, group, readers):
    """Sender and group of each reader's first copy among ``mask`` (-1 where none)."""
    out_s = np.full(readers.size, -1, np.int32)
    out_g = np.full(readers.size, -1, np.int32)
    idx = np.flatnonzero(mask)
    if idx.size:
        r, first = unique_first(recv[idx])
        pos = np.searchsorted(readers, r)
        out_s[pos] = sender[idx[first]]
        out_g[pos] = group[idx[first]]
    return out_s, out_g
