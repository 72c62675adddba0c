"""Compiled judgments of accuracy (numba, ``nopython``) for :meth:`.care.CareLink.judge`, and the
tagging of new cases (:meth:`.care.CareLink.tag`).

A judgment is right with probability ``g + (1 - g) / (1 + exp(-z))``,
``z = (skill - image and equipment penalties - difficulty) / slope``
(:func:`.combining.p_correct`). With information changing care, each judgment needs that
accuracy for the skill the judge has and, to count harm and benefit, for the skill without
the belief's loss and without the guideline's gain. The arithmetic around the
exponential is compiled, in the order of :func:`.combining.p_correct`; the exponential
is numpy's (one call over every exponent) in :meth:`.care.CareLink.judge`, the C
library's in :func:`judgments`, which the fused passes of a step's answering and referral
booking call (numpy's may differ from it in the last bit on CPUs with AVX-512;
tests/test_model.py checks that a run does not depend on which). The results are
bit-identical to the numpy they replace (the tests compare them).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ...rng_ref import as_generator
from .kernels import _held_row, item_states

__all__ = ["accuracy_exponents", "informed_exponents", "judged", "judgments", "tag_cases"]


@njit(cache=True)
def accuracy_exponents(
    skill, gain, loss, difficulty, lacks, quality, image_penalty, equipment_penalty, slope, free, none
):
    """``-z`` of each judgment (row 0: skill + gain - loss; then, if ``free``, skill +
    gain; then, if ``none``, skill - loss), one row per variant, for ``np.exp``."""
    m = skill.size
    out = np.empty((1 + int(free) + int(none), m))
    for i in range(m):
        pen = image_penalty * (1.0 - np.float64(quality[i]))
        eq = equipment_penalty * np.float64(lacks[i])
        d = np.float64(difficulty[i])
        s = np.float64(skill[i])
        r = 0
        out[r, i] = -((((s + gain[i]) - loss[i]) - pen - eq - d) / slope)
        if free:
            r += 1
            out[r, i] = -(((s + gain[i]) - pen - eq - d) / slope)
        if none:
            r += 1
            out[r, i] = -(((s - loss[i]) - pen - eq - d) / slope)
    return out


@njit(cache=True)
def informed_exponents(
    cases, first_held, row_of, concerns, difficulty, who, state, item, rumor, adopted, believes, active,
    adopted_gain, believer_loss, skill, lacks, quality, image_penalty, equipment_penalty, slope,
):  # fmt: skip
    """:func:`accuracy_exponents` with the judges' shifts read in the same pass (what
    ``CareLink.shift`` computed with numpy): for the judgment of case ``cases[i]`` (held;
    its row by ``first_held``, ``row_of``) by clinician ``who[i]``, ``+ adopted_gain`` if
    they adopted a guideline and ``- believer_loss`` if they believe a rumor among the
    items that concern the case (bit k of ``concerns``: item ``item[k]`` of the
    information ``state``, a rumor when ``rumor[k]``); no shift unless ``active``.
    Returns the exponents, whether each judge believes, and ``free`` and ``none`` (some
    judge believes; some judge gains: the rows beyond the first)."""
    m = who.size
    gain, loss = np.zeros(m), np.zeros(m)
    bel = np.zeros(m, np.bool_)
    diff = np.empty(m, difficulty.dtype)
    any_bel, any_gain = False, False
    for i in range(m):
        r = _held_row(cases[i], first_held, row_of)
        diff[i] = difficulty[r]
        if not active:
            continue
        bits, ad, be = concerns[r], False, False
        for k in range(item.size):
            if (bits >> k) & 1:
                s = state[item[k], who[i]]
                if rumor[k]:
                    be |= s == believes
                else:
                    ad |= s == adopted
        gain[i], loss[i], bel[i] = adopted_gain * np.float64(ad), believer_loss * np.float64(be), be
        any_bel |= be
        any_gain |= gain[i] > 0
    free, none = active and m > 0 and any_bel, active and m > 0 and any_gain
    e = accuracy_exponents(
        skill, gain, loss, diff, lacks, quality, image_penalty, equipment_penalty, slope, free, none
    )  # fmt: skip
    return e, bel, free, none


@njit(cache=True)
def tag_cases(
    rng_ref, spec, item_spec, item_share, with_states, asker, state, item, rumor, adopted, believes, corrected,
    neutral, unconcerned, h_adopted, h_corrected, h_believes,
):  # fmt: skip
    """What ``CareLink.tag`` drew and read for new cases of specialty ``spec``: bit k of
    ``concerns`` set when the case is of item k's condition (``item_spec[k]``) and its
    uniform is below ``item_share[k]`` (one uniform per case for each item in turn, as
    ``rng.random(n)`` item by item); the treating clinician's (``asker``) state for the
    items that concern it (``h_info``: believes over corrected over adopted over neutral, or
    unconcerned; read only ``with_states``). Returns ``concerns``, ``h_info`` and whether
    the clinician adopted / believes (:func:`.kernels.item_states`; False without states)."""
    rng = as_generator(rng_ref)
    n = spec.size
    bits = np.zeros(n, np.int32)
    for k in range(item_spec.size):
        for i in range(n):
            if rng.random() < item_share[k] and spec[i] == item_spec[k]:
                bits[i] |= np.int32(1) << k
    h = np.empty(n, np.int8)
    for i in range(n):
        h[i] = neutral if bits[i] != 0 else unconcerned
    if not with_states:
        return bits, h, np.zeros(n, np.bool_), np.zeros(n, np.bool_)
    ad, bel, cor = item_states(bits, asker, state, item, rumor, adopted, believes, corrected)
    for i in range(n):
        if bel[i]:
            h[i] = h_believes
        elif cor[i]:
            h[i] = h_corrected
        elif ad[i]:
            h[i] = h_adopted
    return bits, h, ad, bel


@njit(cache=True)
def judged(e, g, u, tier, believes, harm, believing, benefit, free, none):
    """Accuracy ``p`` and correctness ``u < p`` of each judgment from the exponentials ``e``
    of :func:`accuracy_exponents`; counts by ``tier``: wrong because of the belief (right
    without its loss) into ``harm`` and the believing judges into ``believing`` (if
    ``free``), right because of the guideline (wrong without its gain) into ``benefit`` (if
    ``none``)."""
    m = u.size
    p = np.empty(m)
    correct = np.empty(m, np.bool_)
    for i in range(m):
        pi = g + (1.0 - g) / (1.0 + e[0, i])
        c = u[i] < pi
        p[i], correct[i] = pi, c
        r = 0
        if free:
            r += 1
            if not c and u[i] < g + (1.0 - g) / (1.0 + e[r, i]):
                harm[tier[i]] += 1
            if believes[i]:
                believing[tier[i]] += 1
        if none:
            r += 1
            if c and u[i] >= g + (1.0 - g) / (1.0 + e[r, i]):
                benefit[tier[i]] += 1
    return p, correct


@njit(cache=True)
def judgments(care, cases, first_held, row_of, rows, cols, fac_tier, who, skill, lacks, quality, u, rules):
    """(accuracy, correct) of the judgments of ``cases`` (held, at ``rows``) by ``who`` with
    base ``skill`` and uniforms ``u``: :meth:`.care.CareLink.judge` in one pass (with the
    care link: ``care`` as :meth:`.care.CareLink.judge_inputs` gives it, the judge's
    counters updated), else :func:`.combining.p_correct`; the exponentials are the C
    library's. ``cols``: the cases' (concerns, difficulty, facility); ``rules``:
    (image_penalty, equipment_penalty, accuracy_slope, labels)."""
    with_care, info, item, rumor, active, adopted, believes, gain, loss, harm, believing, benefit = care
    concerns, difficulty, facility = cols
    image_penalty, equipment_penalty, slope, n_labels = rules
    m = u.size
    g = 1.0 / n_labels
    if with_care:
        expo, bel, free, none = informed_exponents(
            cases, first_held, row_of, concerns, difficulty, who, info, item, rumor, adopted, believes, active,
            gain, loss, skill, lacks, quality, image_penalty, equipment_penalty, slope,
        )  # fmt: skip
        tier = np.empty(m, fac_tier.dtype)
        for j in range(m):
            tier[j] = fac_tier[facility[rows[j]]]
        return judged(np.exp(expo), g, u, tier, bel, harm, believing, benefit, free, none)
    diff = np.empty(m, difficulty.dtype)
    for j in range(m):
        diff[j] = difficulty[rows[j]]
    zero = np.zeros(m)
    expo = accuracy_exponents(
        skill, zero, zero, diff, lacks, quality, image_penalty, equipment_penalty, slope, False, False
    )
    p = np.empty(m)
    correct = np.empty(m, np.bool_)
    for j in range(m):
        p[j] = g + (1.0 - g) / (1.0 + np.exp(expo[0, j]))
        correct[j] = u[j] < p[j]
    return p, correct
