"""Compiled per-step decisions of the information process (numba, ``nopython``).

The chances that the process draws once per step for the clinicians concerned, not per
copy: a rumor's believers forgetting, verifying or checking (:func:`rumor_transitions`,
:mod:`.belief`), and staged adoption's reinforcing copies and decisions
(:func:`reinforced_now`, :func:`decide_considering`, :mod:`.adoption`); and what a rumor's
readers bring to their stance, from the copies they read (:func:`rumor_readers`), and the
stance the susceptible among them take (:func:`take_stances`). Each is one
pass replacing a few numpy masks, sorts or counts, with identical results (the tests compare each with the numpy
it replaced, compiled and as ``py_func``). Compiled code is cached next to this file
(``cache=True``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ...kernels import close_gaps
from ...rng_ref import as_generator

__all__ = [
    "correct_believers",
    "decide_considering",
    "reader_credibility",
    "reinforced_now",
    "rumor_readers",
    "rumor_transitions",
    "take_stances",
]


@njit(cache=True)
def rumor_readers(slot, readers, stance, w, sender, group, state, content, correction, unaware):
    """The readers of a rumor's copies (in reading order; ``slot``: each copy's reader, an
    index into ``readers``): each reader's first copy ``at`` and state ``st``; per copy,
    whether its reader knew of the rumor (``known``: a later copy, or the first to a reader
    not unaware); per reader, the summed weights of the copies with the content and with the
    correction (in copy order, as ``np.bincount``) and the sender and group of the first copy
    of each stance (-1: none)."""
    m, n = readers.size, slot.size
    at = np.full(m, -1, np.int64)
    st = np.empty(m, state.dtype)
    for k in range(m):
        st[k] = state[readers[k]]
    known = np.empty(n, np.bool_)
    w_r = np.zeros(m)
    w_c = np.zeros(m)
    src_r = np.full(m, -1, np.int32)
    grp_r = np.full(m, -1, np.int32)
    src_c = np.full(m, -1, np.int32)
    grp_c = np.full(m, -1, np.int32)
    seen_r = np.zeros(m, np.bool_)
    seen_c = np.zeros(m, np.bool_)
    for i in range(n):
        k = slot[i]
        if at[k] < 0:
            at[k] = i
            known[i] = st[k] != unaware
        else:
            known[i] = True
        if stance[i] == content:
            w_r[k] += np.float64(w[i])
            if not seen_r[k]:
                seen_r[k] = True
                src_r[k], grp_r[k] = sender[i], group[i]
        elif stance[i] == correction:
            w_c[k] += np.float64(w[i])
            if not seen_c[k]:
                seen_c[k] = True
                src_c[k], grp_c[k] = sender[i], group[i]
    return at, st, known, w_r, w_c, src_r, grp_r, src_c, grp_c


@njit(cache=True)
def reader_credibility(credibility, literacy_effect, literacy_ref, literacy):
    """A rumor's credibility ``a`` for a reader of ``literacy`` (float32; NaN: no
    heterogeneity), clipped to +-0.99: ``credibility - literacy_effect * (literacy -
    literacy_ref)``, the product in float32 as numpy makes it from float32 literacy."""
    a = credibility
    if not np.isnan(literacy):
        a = a - np.float64(np.float32(literacy_effect) * (literacy - np.float32(literacy_ref)))
    return min(max(a, -0.99), 0.99)


@njit(cache=True)
def _enter(readers, at, new, state, t_first, t):
    """``readers[at]`` move to state ``new``; the first time they hear of the item, ``t_first``."""
    for k in at:
        r = readers[k]
        if np.isnan(t_first[r]):
            t_first[r] = t
        state[r] = new


@njit(cache=True)
def take_stances(rng_ref, readers, st, w_r, w_c, literacy, rule, item, codes, t):
    """The stance each susceptible reader of a rumor takes (:func:`.belief.expose_rumor`).

    ``readers`` with their state ``st`` and the weights of the content and the correction
    they read (``w_r``, ``w_c``, :func:`rumor_readers`); ``literacy`` per clinician (empty: no
    heterogeneity); ``rule`` = (credibility, literacy_effect, literacy_ref, w0, kappa, beta,
    persistent_share, share_prob); ``item`` = the rumor's (state, t_first, t_taken,
    ever_believed, persistent, active, reached_corr) per clinician, updated in place;
    ``codes`` = (UNAWARE, DOUBTS, BELIEVES, CORRECTED).

    A reader unaware or in doubt is susceptible: ``a`` is the credibility less the literacy
    effect (float32, as numpy computes it from float32 literacy), clipped to +-0.99; the
    weights are ``w_r (1 + a)``, ``kappa w_c (1 - a)``, ``w0 (1 - a)``. Draws from
    ``rng_ref``, in this order: a uniform per susceptible reader (a stance is taken below
    ``beta``), another per susceptible reader (times the weights' sum: which stance), one
    per new believer (persistent below ``persistent_share``), one per reader who took a
    stance (shares it below ``share_prob``). A reader who takes no stance and was unaware
    doubts. Returns the positions in ``readers`` of those who believe, are corrected, and
    doubt now, and of those who took a stance (each ascending)."""
    rng = as_generator(rng_ref)
    credibility, literacy_effect, literacy_ref, w0, kappa, beta, persistent_share, share_prob = rule
    state, t_first, t_taken, ever_believed, persistent, active, reached_corr = item
    unaware, doubts, believes, corrected = codes
    sus = np.empty(readers.size, np.int64)
    n = 0
    for k in range(readers.size):
        if st[k] == unaware or st[k] == doubts:
            sus[n] = k
            n += 1
    hetero = literacy.size > 0
    wr = np.empty(n)
    wc = np.empty(n)
    wj = np.empty(n)
    for i in range(n):
        k = sus[i]
        a = reader_credibility(
            credibility, literacy_effect, literacy_ref, literacy[readers[k]] if hetero else np.float32(np.nan)
        )
        wr[i] = w_r[k] * (1 + a)
        wc[i] = kappa * w_c[k] * (1 - a)
        wj[i] = w0 * (1 - a)
    take = np.empty(n, np.bool_)
    for i in range(n):
        take[i] = rng.random() < beta
    out = np.empty((4, n), np.int64)  # believe, correct, doubt, took
    nb = nc = nd = nt = 0
    for i in range(n):
        k = sus[i]
        u = rng.random() * (wr[i] + wc[i] + wj[i])
        if take[i] and u < wr[i]:
            out[0, nb] = k
            nb += 1
            out[3, nt] = k
            nt += 1
        elif take[i] and u < wr[i] + wc[i]:
            out[1, nc] = k
            nc += 1
            out[3, nt] = k
            nt += 1
        elif st[k] == unaware:
            out[2, nd] = k
            nd += 1
    _enter(readers, out[0, :nb], believes, state, t_first, t)
    _enter(readers, out[1, :nc], corrected, state, t_first, t)
    _enter(readers, out[2, :nd], doubts, state, t_first, t)
    for i in range(nb):
        k = out[0, i]
        r = readers[k]
        ever_believed[r] = True
        if np.isnan(t_taken[r]):
            t_taken[r] = t
        persistent[r] = rng.random() < persistent_share
        if w_c[k] > 0:
            reached_corr[r] = True  # a believer reached by a correction
    for i in range(nt):
        active[readers[out[3, i]]] = rng.random() < share_prob
    return out[0, :nb].copy(), out[1, :nc].copy(), out[2, :nd].copy(), out[3, :nt].copy()


@njit(cache=True)
def correct_believers(rng_ref, readers, believer, p_turn, src_c, grp_c, item, corrected, share_prob, t):
    """The believers among a rumor's readers who read its correction (``believer``: a bool per
    reader; ``p_turn``: the chance of each of them to turn, in order) are reached by it; each
    draws a uniform and turns (enters ``corrected``) below its chance unless persistent; each
    who turned draws whether to share the correction (``share_prob``), in order: as
    :func:`.belief.expose_rumor` drew them with numpy. ``item``: (reached_corr, persistent,
    active, state, t_first) of the rumor, changed in place. Returns the readers who turned,
    with the sender and group of their first correction."""
    reached, persistent, active, state, t_first = item
    gen = as_generator(rng_ref)
    turned = np.empty(p_turn.size, readers.dtype)
    sender = np.empty(p_turn.size, src_c.dtype)
    group = np.empty(p_turn.size, grp_c.dtype)
    k, b = 0, 0
    for i in range(readers.size):
        if believer[i]:
            r = readers[i]
            reached[r] = True
            if gen.random() < p_turn[b] and not persistent[r]:
                turned[k], sender[k], group[k] = r, src_c[i], grp_c[i]
                k += 1
            b += 1
    _enter(turned, np.arange(k), corrected, state, t_first, t)  # (as transitions.set_state moves them)
    for q in range(k):
        active[turned[q]] = gen.random() < share_prob
    return turned[:k].copy(), sender[:k].copy(), group[:k].copy()


@njit(cache=True)
def rumor_transitions(state, start, hit, u, p_forget, verify_below, check_below, believes, corrected, doubts):
    """One rumor's draws ``u`` at the clinicians ``hit`` (increasing; those whose uniform
    fell below the largest chance, :func:`sim.rng.bernoulli_hits`), for those still in
    their start-of-step state: who forgets (believers and holders of the correction,
    ``u < p_forget``), who verifies (believers not forgetting, ``u < verify_below``) and
    who checks (doubters, ``u < check_below``); each as increasing clinician ids."""
    n = hit.size
    forget = np.empty(n, np.int64)
    verify = np.empty(n, np.int64)
    check = np.empty(n, np.int64)
    n_f = n_v = n_c = 0
    for k in range(n):
        i = hit[k]
        s = start[i]
        if state[i] != s:
            continue
        if s == believes or s == corrected:
            if u[k] < p_forget:
                forget[n_f] = i
                n_f += 1
            elif s == believes and u[k] < verify_below[i]:
                verify[n_v] = i
                n_v += 1
        elif s == doubts and u[k] < check_below[i]:
            check[n_c] = i
            n_c += 1
    return forget[:n_f].copy(), verify[:n_v].copy(), check[:n_c].copy()


@njit(cache=True)
def reinforced_now(counts, who, seen):
    """The reinforcing copies read by each of ``who`` (``counts[who]``), and the places among
    the first ``seen.size`` where that differs from ``seen`` (as
    ``np.flatnonzero(counts[who][:seen.size] != seen)``): one pass."""
    r = np.empty(who.size, counts.dtype)
    stale = np.empty(seen.size, np.int64)
    k = 0
    for i in range(who.size):
        v = counts[who[i]]
        r[i] = v
        if i < seen.size and v != seen[i]:
            stale[k] = i
            k += 1
    return r, stale[:k].copy()


@njit(cache=True)
def decide_considering(hit, u, p_adopt, p_decide, who, rate, seen):
    """The clinicians ``who`` considering a guideline, with uniforms ``u`` at the places
    ``hit`` (increasing; where the uniform fell below the largest chance to decide,
    :func:`sim.rng.bernoulli_hits`): those with ``u < p_adopt`` adopt, those with
    ``u < p_decide`` otherwise reject. The others stay: their entries of ``who``, ``rate``,
    ``seen``, ``p_adopt`` and ``p_decide`` are moved in order to the front of the arrays
    (in place, from the first who decided on). Returns (who adopt, who reject, how many stay)."""
    n = who.size
    adopt = np.empty(hit.size, who.dtype)
    reject = np.empty(hit.size, who.dtype)
    gone = np.empty(hit.size, np.int64)  # places of those who decided
    n_adopt, n_reject, n_gone = 0, 0, 0
    for k in range(hit.size):
        i = hit[k]
        if u[k] < p_adopt[i]:
            adopt[n_adopt] = who[i]
            n_adopt += 1
        elif u[k] < p_decide[i]:
            reject[n_reject] = who[i]
            n_reject += 1
        else:
            continue
        gone[n_gone] = i
        n_gone += 1
    if n_gone == 0:
        return adopt[:0], reject[:0], n
    gone = gone[:n_gone]  # the runs between those who decided move up whole
    close_gaps(p_adopt, gone, n)
    close_gaps(p_decide, gone, n)
    close_gaps(who, gone, n)
    close_gaps(rate, gone, n)
    m = close_gaps(seen, gone, n)
    return adopt[:n_adopt], reject[:n_reject], m
