"""Compiled inner loops of the diagnosis process (numba, ``nopython``).

Each replaces a numpy formulation that made many small passes (or a Python loop) per
step and gives bit-identical results: the same arithmetic in the same order. The tests
compare each kernel with the numpy it replaced. Compiled code is cached next to this
file (``cache=True``); the kernels are imported when a model is built.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ...group_index import membership_row

__all__ = [
    "accept_first",
    "best_contacts",
    "book_slots",
    "choose_groups",
    "combine_scores",
    "contact_candidates",
    "csr_total",
    "due_cases",
    "eligible_members",
    "group_stock",
    "insert_sorted",
    "item_states",
    "link_requests",
    "lookup_sorted",
    "merge_open_keys",
    "open_cases",
    "pick_in_lists",
    "restock_groups",
    "run_rank",
]


@njit(cache=True)
def book_slots(dest: np.ndarray, arrive: np.ndarray, gap: np.ndarray, next_slot: np.ndarray) -> np.ndarray:
    """Visit slot of each referral, booked in order at its facility ``dest``.

    At a facility, the j-th referral of the batch (arriving at ``a_j``) gets the slot
    ``max(next_slot, max_{i<=j}(a_i - i s)) + j s`` (``s``: the facility's gap between
    slots, that of its first referral in the batch); ``next_slot`` moves past the last
    slot booked. (First come, first booked; no slot before arrival or before a slot
    booked earlier.)"""
    n_fac = next_slot.size
    count = np.zeros(n_fac, np.int64)
    run_max = np.zeros(n_fac)
    step = np.zeros(n_fac)
    last = np.zeros(n_fac)
    slot = np.empty(dest.size)
    for i in range(dest.size):
        d = dest[i]
        j = count[d]
        if j == 0:
            step[d] = gap[i]
        s = step[d]
        v = arrive[i] - j * s
        if j == 0 or v > run_max[d]:
            run_max[d] = v
        u = max(next_slot[d], run_max[d])
        slot[i] = u + j * s
        last[d] = slot[i]
        count[d] = j + 1
    for d in range(n_fac):
        if count[d]:
            next_slot[d] = last[d] + step[d]
    return slot


@njit(cache=True)
def insert_sorted(t: np.ndarray, ids: np.ndarray, t_new: np.ndarray, ids_new: np.ndarray):
    """``np.insert`` of the entries (``t_new`` sorted, ``ids_new``) into the queue (``t``
    sorted, ``ids``) at ``np.searchsorted(t, t_new, side="right")``: each new entry after
    those of an equal time, the new entries in their order. NaN times sort last."""
    n, k = t.size, t_new.size
    t_out = np.empty(n + k, t.dtype)
    ids_out = np.empty(n + k, ids.dtype)
    i = 0
    for j in range(k):
        v = t_new[j]
        while i < n and (v != v or t[i] <= v):  # t[i] not after v (NaN: after every time, NaN too)
            t_out[i + j], ids_out[i + j] = t[i], ids[i]
            i += 1
        t_out[i + j], ids_out[i + j] = v, ids_new[j]
    for r in range(i, n):
        t_out[r + k], ids_out[r + k] = t[r], ids[r]
    return t_out, ids_out


@njit(cache=True)
def combine_scores(cs, lab, w, rows, held_scores, n_answers):
    """The scores of the open cases ``cs`` (sorted) after each of their answers in turn
    (label ``lab``, weight ``w``; ``rows``: the cases' rows of ``held_scores`` and
    ``n_answers``), as a running sum of the answers' weights over the whole batch less that
    before the case's run (the arithmetic of a column-wise ``np.cumsum``); the same
    scores with 1e-9 added at each answer's label (ties go to the answer just received);
    and the answers counted so far."""
    m, n_labels = cs.size, held_scores.shape[1]
    scores = np.empty((m, n_labels))
    bumped = np.empty((m, n_labels))
    n_cum = np.empty(m, np.int64)
    cum = np.zeros(n_labels)
    before = np.zeros(n_labels)
    rank = 0
    for i in range(m):
        if i > 0 and cs[i] != cs[i - 1]:
            before[:] = cum
            rank = 0
        elif i > 0:
            rank += 1
        cum[lab[i]] = w[i] if i == 0 else cum[lab[i]] + w[i]
        r = rows[i]
        for k in range(n_labels):
            v = (held_scores[r, k] + cum[k]) - before[k]
            scores[i, k] = v
            bumped[i, k] = v + (1e-9 if k == lab[i] else 0.0)
        n_cum[i] = np.int64(n_answers[r]) + rank + 1
    return scores, bumped, n_cum


@njit(cache=True)
def accept_first(cs, rows, scores, n_cum, lead, conf, accept, min_answers, end, held_scores, c_n_answers, c_lead,
                 t_first_answer):  # fmt: skip
    """Per case of ``cs`` (sorted), its first answer whose combination reaches ``accept``
    confidence with at least ``min_answers`` answers: the case keeps the scores, count and
    lead at that answer (at its last answer when none does). Lowers each case's
    ``t_first_answer`` to its answers' ``end``. Returns a bool per answer, counted (not
    after the accepting one), and the position of each accepting answer."""
    m = cs.size
    counted = np.ones(m, np.bool_)
    pos = np.empty(m, np.int64)
    n_acc = 0
    lo = 0
    while lo < m:
        hi = lo + 1
        while hi < m and cs[hi] == cs[lo]:
            hi += 1
        fin = hi - 1
        for i in range(lo, hi):
            if conf[i] >= accept and n_cum[i] >= min_answers:
                fin = i
                pos[n_acc] = i
                n_acc += 1
                for j in range(i + 1, hi):
                    counted[j] = False
                break
        r = rows[fin]
        held_scores[r, :] = scores[fin, :]
        c_n_answers[r] = n_cum[fin]
        c_lead[r] = lead[fin]
        lo = hi
    for i in range(m):
        r = rows[i]
        f = t_first_answer[r]
        if f != f or end[i] < f:
            t_first_answer[r] = end[i]
    return counted, pos[:n_acc].copy()


@njit(cache=True)
def link_requests(head: np.ndarray, nxt: np.ndarray, first: int, case_rows: np.ndarray) -> None:
    """Chain the new requests (rows ``first``, ``first + 1``, ... of cases ``case_rows``) to
    their cases' lists of open requests: ``head`` by case, ``nxt`` by request (-1 ends)."""
    for i in range(case_rows.size):
        c = case_rows[i]
        nxt[first + i] = head[c]
        head[c] = first + i


@njit(cache=True)
def group_stock(
    m_clinician: np.ndarray,
    m_group: np.ndarray,
    m_muted: np.ndarray,
    answering: np.ndarray,
    specialty: np.ndarray,
    expertise: np.ndarray,
    n_groups: int,
    n_spec: int,
):
    """Per group and specialty (and per group): the unmuted members of an answering role
    and the sum of their expertise, summed in row order (as ``np.bincount`` does)."""
    count = np.zeros((n_groups, n_spec), np.int64)
    skill = np.zeros((n_groups, n_spec))
    count_all = np.zeros(n_groups, np.int64)
    skill_all = np.zeros(n_groups)
    for r in range(m_clinician.size):
        c = m_clinician[r]
        if m_muted[r] or not answering[c]:
            continue
        g, s, x = m_group[r], specialty[c], np.float64(expertise[c])
        count[g, s] += 1
        skill[g, s] += x
        count_all[g] += 1
        skill_all[g] += x
    return count, skill, count_all, skill_all


@njit(cache=True)
def restock_groups(groups, g_indptr, m_clinician, m_muted, answering, specialty, expertise, stock):
    """:func:`group_stock` made again for the groups ``groups`` alone, in place in ``stock``
    (its four arrays, covering every group): each group's rows (rows are sorted by group)
    summed in row order, so the sums are those a full :func:`group_stock` gives."""
    count, skill, count_all, skill_all = stock
    for g in groups:
        count[g, :] = 0
        skill[g, :] = 0.0
        count_all[g] = 0
        skill_all[g] = 0.0
        for r in range(g_indptr[g], g_indptr[g + 1]):
            c = m_clinician[r]
            if m_muted[r] or not answering[c]:
                continue
            s, x = specialty[c], np.float64(expertise[c])
            count[g, s] += 1
            skill[g, s] += x
            count_all[g] += 1
            skill_all[g] += x


@njit(cache=True)
def pick_in_lists(
    indptr: np.ndarray, ids: np.ndarray, offset: np.ndarray, key: np.ndarray, row: np.ndarray, u: np.ndarray
) -> np.ndarray:
    """For each (key, row, u): ``ids[offset[key] + lo + int(u * (hi - lo))]`` with ``lo, hi =
    indptr[key, row], indptr[key, row + 1]``: one of the row's entries of list ``key``,
    chosen by ``u`` in [0, 1) (several CSR lists laid end to end in ``ids``)."""
    out = np.empty(key.size, ids.dtype)
    for i in range(key.size):
        k, r = key[i], row[i]
        lo, hi = indptr[k, r], indptr[k, r + 1]
        out[i] = ids[offset[k] + lo + np.int64(u[i] * (hi - lo))]
    return out


@njit(cache=True)
def _csr_total(indptr: np.ndarray, keys: np.ndarray) -> int:
    """Rows of the CSR slices ``keys`` together."""
    total = 0
    for i in range(keys.size):
        total += indptr[keys[i] + 1] - indptr[keys[i]]
    return total


def csr_total(indptr: np.ndarray, keys: np.ndarray) -> int:
    """Rows of the CSR slices ``keys`` together."""
    return int(_csr_total(indptr, keys))


@njit(cache=True)
def choose_groups(net, answering, specialty, expertise, stock, askers, spec, u, any_specialty, f, per_request):
    """The groups each case is posted in: of its asker's memberships (``askers[k]``; their
    CSR slices laid end to end), the first ``per_request`` in the order (stock for
    the case's specialty ``spec[k]`` rounded to 1e-9, highest first; then ``u``, one
    uniform per membership; then membership order), kept where someone may answer.

    ``net`` is (``c_indptr``, ``c_groups``, ``g_indptr``, ``g_members``, ``m_muted``, ``c_muted``: a
    clinician counted no muted row has none, see :class:`sim.groups.GroupNetwork`); ``stock`` is the
    :class:`.routing.GroupStock` (``count``, ``skill``, ``count_all``, ``skill_all``). A
    group's stock is the summed expertise of the members who may answer, the asker
    excluded; with ``any_specialty``, off-specialty members count at ``f``. The
    arithmetic is that of the numpy formulation, in its order. Returns (case index,
    group) of every post, by case, best group first."""
    c_indptr, c_groups, g_indptr, g_members, m_muted, c_muted = net
    count, skill, count_all, skill_all = stock
    total = _csr_total(c_indptr, askers)
    out_k = np.empty(total, np.int64)
    out_g = np.empty(total, np.int64)
    n_out = 0
    key = np.empty(0)
    n_ok = np.empty(0, np.int64)
    order = np.empty(0, np.int64)
    j0 = 0  # the first membership of case k among all (u's index)
    for k in range(askers.size):
        a = askers[k]
        lo, hi = c_indptr[a], c_indptr[a + 1]
        m = hi - lo
        if m > key.size:
            key, n_ok, order = np.empty(m), np.empty(m, np.int64), np.empty(m, np.int64)
        s = spec[k]
        same = specialty[a] == s
        xa = np.float64(expertise[a])
        for i in range(m):
            g = c_groups[lo + i]
            asker_in = answering[a] and (  # the asker's row found only when they muted one
                c_muted[a] == 0 or not m_muted[membership_row(c_indptr, c_groups, g_indptr, g_members, a, lo + i)]
            )
            if any_specialty:
                n_ok[i] = count_all[g] - (1 if asker_in else 0)
                own = (xa if asker_in else 0.0) * (1.0 if same else f)
                value = (f * skill_all[g] + (1 - f) * skill[g, s]) - own
            else:
                counted = asker_in and same
                n_ok[i] = count[g, s] - (1 if counted else 0)
                value = skill[g, s] - (xa if counted else 0.0)
            key[i] = -(np.rint(value * 1e9) / 1e9)
            # insertion by (key, u, position): the memberships of one asker are few
            at = i
            while at > 0:
                o = order[at - 1]
                if key[i] < key[o] or (key[i] == key[o] and u[j0 + i] < u[j0 + o]):
                    order[at] = o
                    at -= 1
                else:
                    break
            order[at] = i
        for r in range(min(per_request, m)):
            i = order[r]
            if n_ok[i] > 0:
                out_k[n_out] = k
                out_g[n_out] = c_groups[lo + i]
                n_out += 1
        j0 += m
    return out_k[:n_out].copy(), out_g[:n_out].copy()


@njit(cache=True)
def eligible_members(g_indptr, g_members, m_muted, answering, specialty, groups, asker, spec, same_specialty):
    """The members of each of ``groups`` (CSR by group) who may answer a post there: of an
    answering role, not muted, not its ``asker``, and, with ``same_specialty``, of the
    specialty ``spec`` (each per post). Returns (post, member) in the order of the groups'
    CSR slices laid end to end (filtered by those masks)."""
    total = _csr_total(g_indptr, groups)
    post = np.empty(total, np.int64)
    member = np.empty(total, g_members.dtype)
    j = 0
    for i in range(groups.size):
        for r in range(g_indptr[groups[i]], g_indptr[groups[i] + 1]):
            m = g_members[r]
            if answering[m] and not m_muted[r] and m != asker[i] and (not same_specialty or specialty[m] == spec[i]):
                post[j] = i
                member[j] = m
                j += 1
    return post[:j].copy(), member[:j].copy()


@njit(cache=True)
def _in_sorted(key, pool) -> bool:
    """Whether ``key`` is in the sorted ``pool`` (binary search)."""
    i = np.searchsorted(pool, key)
    return i < pool.size and pool[i] == key


@njit(cache=True)
def contact_candidates(cases, asker, indptr, neighbors, tier, answering, n, asked, recent, made, before):
    """The contacts the asker of each of ``cases`` (``asker``, per case) may message: of its
    contacts (CSR ``indptr``, ``neighbors``) those at a higher tier, of an answering role,
    and not asked about the case already (the key ``case * n + contact`` in none of the
    sorted ``asked``, ``recent`` and ``made``; the first two are searched only for the cases
    with ``before`` set, or for all when ``before`` is empty: a case that never posted has
    no key there). Returns (index into ``cases``, contact), case by case in the order of
    the askers' contacts."""
    m = 0
    for i in range(cases.size):
        m += indptr[asker[i] + 1] - indptr[asker[i]]
    k = np.empty(m, np.int64)
    nb = np.empty(m, neighbors.dtype)
    j = 0
    for i in range(cases.size):
        a = asker[i]
        for e in range(indptr[a], indptr[a + 1]):
            c = neighbors[e]
            if tier[c] > tier[a] and answering[c]:
                key = np.int64(cases[i]) * n + c
                earlier = (before.size == 0 or before[i]) and (_in_sorted(key, asked) or _in_sorted(key, recent))
                if not (earlier or _in_sorted(key, made)):
                    k[j] = i
                    nb[j] = c
                    j += 1
    return k[:j].copy(), nb[:j].copy()


@njit(cache=True)
def best_contacts(k, nb, spec, specialty, expertise, factor, u):
    """For each case of the candidates (``k``, grouped by case; contacts ``nb``), the
    position of the one it messages: the highest score ``2 [specialty = the case's spec] +
    expertise`` (times ``factor``, per candidate, when given), ties by the lower ``u``,
    then the earlier: the first of each case in ``np.lexsort((u, -score, k))``."""
    out = np.empty(k.size, np.int64)
    c = 0
    i = 0
    while i < k.size:
        best, best_score = -1, 0.0
        j = i
        while j < k.size and k[j] == k[i]:
            s = 2.0 * (specialty[nb[j]] == spec[k[j]]) + expertise[nb[j]]
            if factor.size:
                s = s * factor[j]
            if best < 0 or s > best_score or (s == best_score and u[j] < u[best]):
                best, best_score = j, s
            j += 1
        out[c] = best
        c += 1
        i = j
    return out[:c].copy()


@njit(cache=True)
def run_rank(keys: np.ndarray) -> np.ndarray:
    """The position of each element within its run of equal values (of a sorted array)."""
    out = np.zeros(keys.size, np.int64)
    for i in range(1, keys.size):
        if keys[i] == keys[i - 1]:
            out[i] = out[i - 1] + 1
    return out


@njit(cache=True)
def lookup_sorted(keys: np.ndarray, values: np.ndarray, query: np.ndarray, default: float) -> np.ndarray:
    """For float values: ``values[keys == q]`` for each query
    (``keys`` sorted and unique), else ``default``."""
    out = np.full(query.size, default)
    if keys.size == 0:
        return out
    pos = np.searchsorted(keys, query)
    for i in range(query.size):
        p = min(pos[i], keys.size - 1)
        if keys[p] == query[i]:
            out[i] = values[p]
    return out


@njit(cache=True)
def item_states(bits, who, state, item, rumor, adopted, believes, corrected):
    """Per (case bits, clinician ``who``): adopted a guideline / believes a rumor / holds a
    correction, among the items that concern the case (bit k of ``bits``: item ``item[k]``
    of the information state ``state``, a rumor when ``rumor[k]``), in one pass."""
    ad = np.zeros(who.size, np.bool_)
    bel = np.zeros(who.size, np.bool_)
    cor = np.zeros(who.size, np.bool_)
    for i in range(who.size):
        b = bits[i]
        for k in range(item.size):
            if (b >> k) & 1:
                s = state[item[k], who[i]]
                if rumor[k]:
                    bel[i] |= s == believes
                    cor[i] |= s == corrected
                else:
                    ad[i] |= s == adopted
    return ad, bel, cor


@njit(cache=True)
def _held_row(case: np.int64, first_held: int, row_of: np.ndarray) -> np.int64:
    """The row of ``case`` in the cases held, -1 when it was written out: ``row_of[case -
    first_held]``, or the case itself when ``row_of`` is empty (no case was written out)."""
    if row_of.size == 0:
        return np.int64(case)
    off = case - first_held
    if off < 0 or off >= row_of.size:
        return np.int64(-1)
    return np.int64(row_of[off])


@njit(cache=True)
def _case_open(case: np.int64, first_held: int, row_of: np.ndarray, t_dx: np.ndarray) -> bool:
    """Whether ``case`` is held (:func:`_held_row`) and not diagnosed."""
    r = _held_row(case, first_held, row_of)
    return bool(r >= 0 and np.isnan(t_dx[r]))


@njit(cache=True)
def open_cases(ids: np.ndarray, first_held: int, row_of: np.ndarray, t_dx: np.ndarray) -> np.ndarray:
    """Bool per case id of ``ids``: held and not diagnosed (:func:`_case_open`)."""
    out = np.empty(ids.size, np.bool_)
    for i in range(ids.size):
        out[i] = _case_open(ids[i], first_held, row_of, t_dx)
    return out


@njit(cache=True)
def due_cases(ids: np.ndarray, first_held: int, row_of: np.ndarray, t_due: np.ndarray, t1: float):
    """The cases of ``ids`` (held) whose ``t_due`` (per row) is before ``t1``, in order, and
    those times: ``ids[t_due[rows] < t1]`` and ``t_due[rows]`` of them, in one pass."""
    out = np.empty(ids.size, ids.dtype)
    when = np.empty(ids.size, t_due.dtype)
    n = 0
    for i in range(ids.size):
        t = t_due[_held_row(ids[i], first_held, row_of)]
        if t < t1:
            out[n], when[n] = ids[i], t
            n += 1
    return out[:n], when[:n]


@njit(cache=True)
def _case_asks(case: np.int64, first_held: int, row_of: np.ndarray, t_dx: np.ndarray, t_ref: np.ndarray) -> bool:
    """Whether ``case`` may still be asked about: held (:func:`_held_row`), not diagnosed
    and not at a referral (``t_ref``, its entry, NaN: none). A referred case has left the
    cases that escalate for good, so nobody is asked about it again."""
    r = _held_row(case, first_held, row_of)
    return bool(r >= 0 and np.isnan(t_dx[r]) and np.isnan(t_ref[r]))


@njit(cache=True)
def merge_open_keys(
    a: np.ndarray, b: np.ndarray, n: int, first_held: int, row_of: np.ndarray, t_dx: np.ndarray, t_ref: np.ndarray
):
    """The keys of ``a`` and ``b`` (both sorted) whose case may still be asked about
    (:func:`_case_asks` of ``key // n``: held, not diagnosed, not referred), merged in order:
    ``np.sort(np.concatenate([a, b]))`` of those, with no copy of them all and exactly the
    room the result needs (counted in a first pass). The keys of a case are consecutive, so
    its status is looked up once per run of them, not once per key."""
    keep = _count_asking(a, n, first_held, row_of, t_dx, t_ref) + _count_asking(b, n, first_held, row_of, t_dx, t_ref)
    out = np.empty(keep, np.int64)
    i = j = k = 0
    last, ok = -1, False
    while i < a.size or j < b.size:
        if j >= b.size or (i < a.size and a[i] <= b[j]):
            v = a[i]
            i += 1
        else:
            v = b[j]
            j += 1
        c = v // n
        if c != last:
            last, ok = c, _case_asks(c, first_held, row_of, t_dx, t_ref)
        if ok:
            out[k] = v
            k += 1
    return out


@njit(cache=True)
def _count_asking(keys: np.ndarray, n: int, first_held: int, row_of: np.ndarray, t_dx: np.ndarray, t_ref: np.ndarray):
    """How many of the sorted ``keys`` belong to a case that may still be asked about."""
    count = 0
    last, ok = -1, False
    for i in range(keys.size):
        c = keys[i] // n
        if c != last:
            last, ok = c, _case_asks(c, first_held, row_of, t_dx, t_ref)
        count += ok
    return count
