"""A step's escalation in one compiled pass (:meth:`.routing.Router.escalate`).

:func:`escalate_due` moves the due cases along their chains exactly as the numpy
formulation of :class:`.routing.Router` does, pass by pass: the same group posts and
1-on-1 requests, in the same order, from the same uniforms of the ``diagnosis`` stream,
and the same case columns written. What the numpy path appends to the request and pair
tables as it goes, the pass returns for one append at the end (the rows and ids come out
the same: the requests are in the same order). Used when patience is fixed
(``patience_log_sd = 0``) and a group (if any) comes before a contact in the chain
(:meth:`.routing.Router._compiles`), whether or not trust weighs the contacts; the numpy
path covers the other settings, and the tests run both on the same model and compare every
table.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ...rng_ref import as_generator
from ..trust.kernels import trust_values
from .config import CONTACT, GROUP, NONE, REFERRAL, ROUTES
from .kernels import _held_row, best_contacts, choose_groups, contact_candidates, eligible_members

__all__ = ["escalate_due"]

#: passes of a step's escalation at most (as the numpy loop: a case moves on a route a pass)
PASSES = len(ROUTES) + 2


@njit(cache=True)
def _grown(a: np.ndarray, need: int) -> np.ndarray:
    """``a`` with room for ``need`` entries (doubling), its entries kept."""
    if need <= a.size:
        return a
    out = np.empty(max(need, 2 * a.size), a.dtype)
    out[: a.size] = a
    return out


@njit(cache=True)
def _merged(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The sorted arrays ``a`` and ``b`` merged into one sorted array (linear time)."""
    out = np.empty(a.size + b.size, a.dtype)
    i, j = 0, 0
    for k in range(out.size):
        if j >= b.size or (i < a.size and a[i] <= b[j]):
            out[k] = a[i]
            i += 1
        else:
            out[k] = b[j]
            j += 1
    return out


@njit(cache=True)
def _first_of_each(keys: np.ndarray) -> np.ndarray:
    """Positions of the first occurrence of each distinct key, in increasing key order
    (:func:`sim.arrays.unique_first`'s index)."""
    n = keys.size
    increasing = True
    for i in range(1, n):
        if keys[i] <= keys[i - 1]:
            increasing = False
            break
    if increasing:
        return np.arange(n)
    order = np.argsort(keys, kind="mergesort")
    out = np.empty(n, np.int64)
    m = 0
    for i in range(n):
        if i == 0 or keys[order[i]] != keys[order[i - 1]]:
            out[m] = order[i]
            m += 1
    return out[:m]


@njit(cache=True)
def escalate_due(
    due, tau, first_held, row_of, cols, nxt_of, parallel, fac_tier, tier_factor, hours, net, stock, people,
    rules, contacts, asked, recent, rng_ref, trust,
):  # fmt: skip
    """Move the due cases ``due`` (ids, due at ``tau``) along their chains, in passes, until
    none is due before ``t1`` (``rules``' last entry).

    ``cols``: the case columns read and written (``now``, ``t_esc``, ``t_first_request``,
    ``t_ref_entry``, ``asker``, ``spec``, ``quality``, ``facility``); ``hours``: the group,
    contact and referral patience in hours (times ``tier_factor`` by the tier of the case's
    facility); ``net`` and ``stock`` as :func:`.kernels.choose_groups` takes them; ``people``:
    (``answering``, ``specialty``, ``expertise``, ``tier``); ``rules``: (``any_specialty``,
    ``off_specialty_factor``, ``groups_per_request``, ``max_answers_per_request``, clinicians,
    ``t1``); ``contacts``: (``indptr``, ``neighbors``); ``asked``, ``recent``: the sorted keys
    ``case * n + member`` of those asked already (:meth:`.state.DxState.asked_keys`);
    ``trust``: (weigh, ties, store, params, reference): with ``weigh``, each candidate contact's
    score is multiplied by the asker's trust in them over ``reference``
    (:func:`..trust.kernels.trust_values` in a 1-on-1 context, with the rest of the tuple as
    :meth:`..trust.process.TrustProcess.context` gives it), as the numpy path's
    ``TrustProcess.factor``.

    Returns the requests made (case, route, group, t_post, slots, quality: a row each, in
    the order made), the pairs (request: index into those; member; case) and the cases
    referred, in order. Writes the case columns in place.
    """
    now, t_esc, t_first_request, t_ref_entry, c_asker, c_spec, c_quality, c_facility = cols
    answering, specialty, expertise, tier = people
    any_specialty, f, per_request, max_answers, n, t1 = rules
    g_indptr, g_members, m_muted = net[2], net[3], net[4]
    c_indptr = net[0]
    ct_indptr, ct_neighbors = contacts
    weigh, trust_ties, trust_store, trust_params, reference = trust
    gen = as_generator(rng_ref)
    due, tau = due.copy(), tau.copy()
    # whether each case asked anyone before this step (else no key of it is among asked, recent)
    asked_before = np.empty(due.size, np.bool_)
    for i in range(due.size):
        asked_before[i] = not np.isnan(t_first_request[_held_row(due[i], first_held, row_of)])
    # what is made, in order
    r_case = np.empty(16, np.int64)
    r_route = np.empty(16, np.int8)
    r_group = np.empty(16, np.int32)
    r_t = np.empty(16)
    r_slots = np.empty(16, np.int32)
    r_quality = np.empty(16, c_quality.dtype)
    n_req = 0
    p_req = np.empty(64, np.int64)
    p_exp = np.empty(64, np.int64)
    p_case = np.empty(64, np.int64)
    n_pair = 0
    step_keys = np.empty(0, np.int64)  # keys of the pairs made in this step, sorted
    referred = np.empty(16, np.int64)
    n_ref = 0
    for _ in range(PASSES):
        m = due.size
        if m == 0:
            break
        rows = np.empty(m, np.int64)
        nxt = np.empty(m, np.int8)
        for i in range(m):
            rows[i] = _held_row(due[i], first_held, row_of)
            nxt[i] = nxt_of[np.int64(now[rows[i]]) + 1]
            if nxt[i] == NONE:
                t_esc[rows[i]] = np.inf
        cur = nxt.copy()
        posted_any = np.zeros(m, np.bool_)
        for code in (GROUP, CONTACT):
            sel = np.empty(m, np.int64)
            ns = 0
            for i in range(m):
                if (cur[i] if parallel else nxt[i]) == code:
                    sel[ns] = i
                    ns += 1
            if ns == 0:
                continue
            sel = sel[:ns]
            posted = np.zeros(ns, np.bool_)
            asker = np.empty(ns, np.int64)
            spec = np.empty(ns, np.int64)
            total = 0
            for j in range(ns):
                r = rows[sel[j]]
                asker[j] = c_asker[r]
                spec[j] = c_spec[r]
                if code == GROUP:
                    total += c_indptr[asker[j] + 1] - c_indptr[asker[j]]
                else:
                    total += ct_indptr[asker[j] + 1] - ct_indptr[asker[j]]
            made = 0  # requests made now (from n_req)
            kc = np.empty(0, np.int64)
            groups = np.empty(0, np.int64)
            if total > 0 and code == GROUP:
                u = np.empty(total)
                for j in range(total):
                    u[j] = gen.random()
                kc, g = choose_groups(
                    net, answering, specialty, expertise, stock, asker, spec, u, any_specialty, f, per_request
                )
                made, groups = kc.size, g
                if made:
                    kk, member = eligible_members(
                        g_indptr, g_members, m_muted, answering, specialty, g, asker[kc], spec[kc], not any_specialty
                    )
                    keys = np.empty(kk.size, np.int64)
                    for j in range(kk.size):
                        keys[j] = due[sel[kc[kk[j]]]] * n + member[j]
                    first = _first_of_each(keys)
                    need = n_pair + first.size
                    p_req, p_exp, p_case = _grown(p_req, need), _grown(p_exp, need), _grown(p_case, need)
                    for j in range(first.size):
                        i = first[j]
                        p_req[n_pair] = n_req + kk[i]
                        p_exp[n_pair] = member[i]
                        p_case[n_pair] = due[sel[kc[kk[i]]]]
                        n_pair += 1
                    step_keys = _merged(step_keys, keys[first])  # (in increasing order: see _first_of_each)
            elif total > 0:  # 1-on-1: the best contact at a higher tier not asked about the case yet
                cases = due[sel]
                kc, nb = contact_candidates(
                    cases, asker, ct_indptr, ct_neighbors, tier, answering, n, asked, recent, step_keys,
                    asked_before[sel],
                )  # fmt: skip
                if kc.size:
                    u = np.empty(kc.size)
                    for j in range(kc.size):
                        u[j] = gen.random()
                    factor = np.zeros(0)
                    if weigh:  # the asker's trust in each candidate, met 1-on-1
                        reader = np.empty(kc.size, np.int64)
                        for j in range(kc.size):
                            reader[j] = asker[kc[j]]
                        sender = nb.astype(np.int64)
                        one_on_one = np.full(kc.size, -1, np.int64)
                        factor = (
                            trust_values(reader, sender, one_on_one, trust_ties, trust_store, trust_params) / reference
                        )
                    pick = best_contacts(kc, nb, spec, specialty, expertise, factor, u)
                    kc, nb = kc[pick], nb[pick]
                    made = kc.size
                    need = n_pair + made
                    p_req, p_exp, p_case = _grown(p_req, need), _grown(p_exp, need), _grown(p_case, need)
                    keys = np.empty(made, np.int64)
                    for j in range(made):
                        p_req[n_pair] = n_req + j
                        p_exp[n_pair] = nb[j]
                        p_case[n_pair] = due[sel[kc[j]]]
                        keys[j] = np.int64(due[sel[kc[j]]]) * n + nb[j]
                        n_pair += 1
                    step_keys = _merged(step_keys, np.sort(keys))
            if made:
                need = n_req + made
                r_case, r_route, r_group = _grown(r_case, need), _grown(r_route, need), _grown(r_group, need)
                r_t, r_slots, r_quality = _grown(r_t, need), _grown(r_slots, need), _grown(r_quality, need)
                for j in range(made):
                    s = sel[kc[j]]
                    r_case[n_req] = due[s]
                    r_route[n_req] = code
                    r_group[n_req] = groups[j] if code == GROUP else -1
                    r_t[n_req] = tau[s]
                    r_slots[n_req] = max_answers if code == GROUP else 1
                    r_quality[n_req] = c_quality[rows[s]]
                    n_req += 1
                    posted[kc[j]] = True
            for j in range(ns):
                s = sel[j]
                r = rows[s]
                now[r] = code
                if posted[j] and np.isnan(t_first_request[r]):
                    t_first_request[r] = tau[s]
                if parallel:
                    posted_any[s] |= posted[j]
                    cur[s] = nxt_of[code + 1]
                    continue
                follow = nxt_of[code + 1] != NONE
                h = hours[0] if code == GROUP else hours[1]
                patience = h * tier_factor[fac_tier[c_facility[r]]] / 24.0
                t_esc[r] = (tau[s] + patience if follow else np.inf) if posted[j] else tau[s]
        for i in range(m):
            r = rows[i]
            if parallel and cur[i] != nxt[i]:  # went through the consultative routes in this pass
                if cur[i] == NONE:
                    t_esc[r] = np.inf
                elif posted_any[i]:
                    t_esc[r] = tau[i] + hours[2] * tier_factor[fac_tier[c_facility[r]]] / 24.0
                else:
                    t_esc[r] = tau[i]
            elif nxt[i] == REFERRAL:
                now[r] = REFERRAL
                t_ref_entry[r] = tau[i]
                t_esc[r] = np.inf
                referred = _grown(referred, n_ref + 1)
                referred[n_ref] = due[i]
                n_ref += 1
        # the next pass: only the cases of this one can be due again
        k = 0
        for i in range(m):
            t = t_esc[rows[i]]
            if t < t1:
                due[k], tau[k], asked_before[k] = due[i], t, asked_before[i]
                k += 1
        due, tau, asked_before = due[:k], tau[:k], asked_before[:k]
    return (
        r_case[:n_req], r_route[:n_req], r_group[:n_req], r_t[:n_req], r_slots[:n_req], r_quality[:n_req],
        p_req[:n_pair], p_exp[:n_pair], p_case[:n_pair], referred[:n_ref],
    )  # fmt: skip
