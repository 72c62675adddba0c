"""Rumors: taking a stance on reading, corrections turning believers, verification and forgetting.

Exposure. A reader in ``unaware``/``doubts`` with rumor weight ``W_r`` and correction
weight ``W_c`` (sums of source credibility x fidelity of the copies read this step)
takes a stance with probability ``beta`` and then, with ``a`` the rumor's credibility
lowered by the reader's information literacy, chooses among three competing weights::

    believes   (1 + a) W_r
    corrected  (1 - a) kappa W_c
    doubts     (1 - a) w0            (the reader's own judgment; only under "judgment")

each with probability proportional to its weight (:func:`stance_probabilities`). This
is the spreading rule of Tambuscio et al. (2015), a ratio of credibility-weighted
counts, with the reader's own judgment as one more competing weight ``w0 =
judgment_weight`` (belief_rule = "judgment", the default): without it, a reader who
sees no correction believes with probability ``beta`` whatever the credibility. A
correction read with the rumor then multiplies the odds of not believing by ``1 +
kappa W_c / w0``; ``kappa = w0 (exp(d pi / sqrt 3) - 1)`` makes one copy of unit weight
an odds ratio of ``exp(d pi / sqrt 3)``, the logistic conversion of Cohen's d (Chinn
2000), 2.07 at Walter et al.'s (2021) d = 0.40. Under "tambuscio" and "forget_first"
``w0 = 0`` and ``kappa = 1``: the textbook rule. A believer reading corrections turns
with probability ``1 - (1 - correction_uptake)^W_c`` unless persistent (continued
influence). One who takes a stance shares it with the rumor's ``share_prob``.

Verification and forgetting (from the state at the start of the step): believers
forget (``forget_prob_per_day``) back to ``doubts`` or verify (``verify_prob_per_day``
x literacy) and become correctors, exclusive events with these probabilities as in
Tambuscio et al. (belief_rule "judgment" and "tambuscio"); under "forget_first" a
believer verifies only if it did not forget (probability ``(1 - p_f) p_v``). Doubters
check (``check_prob_per_day`` x literacy) and become correctors; correctors forget.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ...rng import bernoulli_hits
from ...table import Table
from . import decision_kernels
from .config import BELIEVES, CONTENT, CORRECTED, CORRECTION, DOUBTS, LITERACY_REF, UNAWARE
from .state import per_step
from .transitions import first_correction, set_state

if TYPE_CHECKING:  # pragma: no cover
    from .process import InformationProcess

__all__ = ["correction_odds_ratio", "expose_rumor", "stance_probabilities", "stance_weights", "verify_and_forget"]

_NO_LITERACY = np.zeros(0, np.float32)  # take_stances: no heterogeneity
#: the believers who read a correction in one compiled pass (:func:`.decision_kernels.correct_believers`);
#: the tests turn it off to compare with the numpy path
CORRECT_COMPILED = True


def expose_rumor(p: InformationProcess, model, j: int, sub: Table, t: float) -> None:
    """Readers of the copies ``sub`` of rumor ``j`` (in random order) take a stance."""
    cfg, arr = p.config, p.arrays
    recv, stance, w, sender, group = sub["recv"], sub["stance"], sub["weight"], sub["sender"], sub["group"]
    if p.trust is not None and p.trust.config.belief:  # the reader's trust in the sender
        w = w * p.trust.factor(recv, sender, group)
    # the readers (sorted), each copy's reader index; each reader's first copy, state, the
    # weights of each stance and where the first copy of each came from (one compiled pass)
    readers, slot = p.distinct(recv)
    at, st, known, w_r, w_c, src_r, grp_r, src_c, grp_c = decision_kernels.rumor_readers(
        slot, readers, stance, w, sender, group, arr.state[j], CONTENT, CORRECTION, UNAWARE
    )
    _stifle(p, j, sender, group, known)
    # susceptible readers take a stance (one compiled pass: the draws, the states, the sharing)
    share_prob = p.settings["share_prob"][j]
    w0, kappa = stance_weights(cfg)
    rule = (
        float(p.catalog.items[j].credibility),
        float(cfg.literacy_effect),
        LITERACY_REF,
        w0,
        kappa,
        float(cfg.beta),
        float(cfg.persistent_share),
        float(share_prob),
    )
    item = (
        arr.state[j], arr.t_first[j], arr.t_taken[j], arr.ever_believed[j], arr.persistent[j], arr.active[j],
        arr.reached_corr[j],
    )  # fmt: skip
    believe, correct, doubt, took = decision_kernels.take_stances(
        p.rng_ref, readers, st, w_r, w_c, model.pop.literacy if cfg.heterogeneity else _NO_LITERACY, rule, item,
        (UNAWARE, DOUBTS, BELIEVES, CORRECTED), float(t),
    )  # fmt: skip
    if believe.size:
        p.log.add(j, "believe", src_r[believe], readers[believe], grp_r[believe], t)
    if correct.size:
        first_correction(p, j, t)
        p.log.add(p.catalog.corr_id[j], "correct", src_c[correct], readers[correct], grp_c[correct], t)
    if doubt.size:
        src, grp = sender[at[doubt]], group[at[doubt]]
        p.log.add(j, "doubt", src, readers[doubt], grp, t)
    arr.may_share(j, readers[took])
    # believers reading corrections
    bel = (st == BELIEVES) & (w_c > 0)
    if not bel.any():
        return
    p_turn = 1.0 - np.power(1.0 - cfg.correction_uptake, w_c[bel])
    if not CORRECT_COMPILED:
        r_b = readers[bel]
        arr.reached_corr[j, r_b] = True
        turn = (p.rng.random(r_b.size) < p_turn) & ~arr.persistent[j, r_b]
        set_state(p, j, r_b[turn], CORRECTED, t, sender=src_c[bel][turn], group=grp_c[bel][turn])
        arr.active[j, r_b[turn]] = p.rng.random(int(np.count_nonzero(turn))) < share_prob
        arr.may_share(j, r_b[turn])
        return
    # one compiled pass: the believers reached, the draws, the moves (as set_state makes them)
    rumor = (arr.reached_corr[j], arr.persistent[j], arr.active[j], arr.state[j], arr.t_first[j])
    turned, by, at_group = decision_kernels.correct_believers(
        p.rng_ref, readers, bel, p_turn, src_c, grp_c, rumor, CORRECTED, float(share_prob), float(t)
    )
    if turned.size:
        first_correction(p, j, t)
        p.log.add(p.catalog.corr_id[j], "correct", by, turned, at_group, t)
        arr.may_share(j, turned)


def verify_and_forget(p: InformationProcess, model, start: dict[int, np.ndarray], t: float, dt: float) -> None:
    """Forget, verify (believers) or check (doubters), each with its per-step chance, for
    the clinicians still in their start-of-step state (one transition per step). One
    uniform per clinician and rumor decides, drawn only where it falls below the largest
    of the chances (:func:`sim.rng.bernoulli_hits`): the work goes with the transitions,
    not with the clinicians."""
    if not p.catalog.rumors:
        return
    arr = p.arrays
    p_forget, verify_below, check_below, most = _thresholds(p, model, dt)
    for j in p.catalog.rumors:
        hit, u = bernoulli_hits(p.rng, start[j].size, most, p.rng_ref)
        # one compiled pass: those still in their start-of-step state that forget, verify, check
        forget, verify, check = decision_kernels.rumor_transitions(
            arr.state[j], start[j], hit, u, p_forget, verify_below, check_below, BELIEVES, CORRECTED, DOUBTS
        )
        if forget.size:
            arr.state[j, forget] = DOUBTS
            arr.active[j, forget] = False
            p.log.add(j, "forget", forget, forget, -1, t)
        for who in (verify, check):
            if who.size:
                set_state(p, j, who, CORRECTED, t, sender=who)
                arr.active[j, who] = p.rng.random(who.size) < p.settings["share_prob"][j]
                arr.may_share(j, who)


def _thresholds(p: InformationProcess, model, dt: float) -> tuple[float, np.ndarray, np.ndarray, float]:
    """``p_forget``, per clinician the uniform draw below which a believer verifies (when
    not forgetting) and a doubter checks, and the largest of these chances; kept while
    the settings stay the same."""
    cfg = p.config
    p_verify, p_check = _verify_check(p, model, dt)
    p_forget = float(per_step(cfg.forget_prob_per_day, dt))
    key = (p_forget, cfg.belief_rule, id(p_verify), id(p_check), model.pop.n)
    cached = p.cache.get("rumor_thresholds")
    if cached is None or cached[0] != key:
        if cfg.belief_rule == "forget_first":
            verify = p_forget + p_verify * (1 - p_forget)
        else:  # exclusive: forget with p_f, verify with p_v (all of 1 - p_f when p_f + p_v > 1)
            verify = p_forget + p_verify
        n = model.pop.n
        verify = np.broadcast_to(verify, n).copy() if np.ndim(verify) == 0 else verify
        check = np.broadcast_to(p_check, n).copy() if np.ndim(p_check) == 0 else p_check
        most = min(1.0, max(p_forget, float(verify.max(initial=0.0)), float(check.max(initial=0.0))))
        # p_verify and p_check are held with the entry, so the ids in its key stay theirs
        cached = p.cache["rumor_thresholds"] = (key, p_forget, verify, check, most, p_verify, p_check)
    return cached[1], cached[2], cached[3], cached[4]


def _verify_check(p: InformationProcess, model, dt: float):
    """Per-step chances to verify and to check (per clinician with literacy), kept while
    the settings they come from stay the same."""
    cfg = p.config
    key = (cfg.verify_prob_per_day, cfg.check_prob_per_day, cfg.heterogeneity, dt)
    cached = p.cache.get("verify_check")
    if cached is None or cached[0] != key:
        lit = (model.pop.literacy / LITERACY_REF) if cfg.heterogeneity else 1.0
        p_verify = np.clip(per_step(cfg.verify_prob_per_day, dt) * lit, 0, 1)
        p_check = np.clip(per_step(cfg.check_prob_per_day, dt) * lit, 0, 1)
        cached = p.cache["verify_check"] = (key, p_verify, p_check)
    return cached[1], cached[2]


def correction_odds_ratio(d: float) -> float:
    """Cohen's d as an odds ratio, exp(d pi / sqrt 3) (the logistic conversion, Chinn 2000)."""
    return float(np.exp(d * np.pi / np.sqrt(3.0)))


def stance_weights(cfg) -> tuple[float, float]:
    """(w0, kappa): weight of the reader's own judgment and multiplier of correction weight.

    "judgment": ``w0 = judgment_weight``, ``kappa = w0 (OR - 1)`` with OR the odds ratio of
    ``correction_effect_d``; the textbook rules: (0, 1)."""
    if cfg.belief_rule != "judgment":
        return 0.0, 1.0
    w0 = float(cfg.judgment_weight)
    return w0, w0 * (correction_odds_ratio(cfg.correction_effect_d) - 1.0)


def stance_probabilities(cfg, a, w_r, w_c) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Probabilities (believes, corrected, doubts) of a susceptible reader with rumor weight
    ``w_r`` and correction weight ``w_c`` read in one step, rumor credibility ``a`` (after
    literacy): ``beta`` times the competing weights' shares; no stance: doubts."""
    w0, kappa = stance_weights(cfg)
    a, w_r, w_c = np.asarray(a, float), np.asarray(w_r, float), np.asarray(w_c, float)
    wr, wc, wj = w_r * (1 + a), kappa * w_c * (1 - a), w0 * (1 - a)
    total = wr + wc + wj
    with np.errstate(invalid="ignore", divide="ignore"):
        b = np.where(total > 0, cfg.beta * wr / total, 0.0)
        c = np.where(total > 0, cfg.beta * wc / total, 0.0)
    return b, c, 1.0 - b - c


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
