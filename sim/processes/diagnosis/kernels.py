"""Compiled inner loops of the diagnosis process (numba, ``nopython``).

Each replaces a numpy formulation that made many small passes (or a Python loop) per
step and gives bit-identical results: the same arithmetic in the same order. The tests
compare each kernel with the numpy it replaced. Compiled code is cached next to this
file (``cache=True``); the kernels are imported when a model is built.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ...kernels import unique_inverse

__all__ = [
    "accept_first",
    "answer_inputs",
    "book_slots",
    "choose_groups",
    "combine_scores",
    "csr_expand",
    "csr_total",
    "eligible_members",
    "engaged_rates",
    "first_opening",
    "group_stock",
    "in_sorted_ids",
    "insert_sorted",
    "item_states",
    "link_requests",
    "lookup_sorted",
    "match_rounds",
    "merge_open_keys",
    "open_cases",
    "pending_pairs",
    "pick_in_lists",
    "record_answers",
    "run_first",
    "run_rank",
    "settle_reads",
    "unlink_requests",
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
def first_opening(counts: np.ndarray, times: np.ndarray, q_owner: np.ndarray, q_time: np.ndarray) -> np.ndarray:
    """For each query (owner, time): the earliest of the owner's events at or after the
    time (``inf`` if none). Events are laid out owner by owner, ``counts[o]`` each."""
    start = np.zeros(counts.size + 1, np.int64)
    for o in range(counts.size):
        start[o + 1] = start[o] + counts[o]
    out = np.full(q_owner.size, np.inf)
    for q in range(q_owner.size):
        o, since = q_owner[q], q_time[q]
        best = np.inf
        for k in range(start[o], start[o + 1]):
            t = times[k]
            if t >= since and t < best:
                best = t
        out[q] = best
    return out


@njit(cache=True)
def pending_pairs(state: np.ndarray, exp: np.ndarray, req: np.ndarray, t_post: np.ndarray, pending: int, t0: float):
    """The pairs in state ``pending`` (positions, ascending), their members, and the time
    from which each may be read: its request's post (``t_post``, by request), or ``t0``."""
    n = 0
    for i in range(state.size):
        n += state[i] == pending
    pend = np.empty(n, np.int64)
    e = np.empty(n, exp.dtype)
    since = np.empty(n)
    k = 0
    for i in range(state.size):
        if state[i] == pending:
            pend[k] = i
            e[k] = exp[i]
            since[k] = _nan_max(t_post[req[i]], t0)
            k += 1
    return pend, e, since


@njit(cache=True)
def settle_reads(
    pend, when, t1, u, state, req, exp, ready, quality, willing, route, r_t_post, r_quality,
    oncall, oncall_prob, factor, inv, contact, contact_prob, group_prob, purge_days, purged_quality, queued,
):  # fmt: skip
    """The pending pairs ``pend`` read before ``t1`` (first opening ``when``) decide, once,
    whether to answer: with probability ``base * factor`` (``base``: ``contact_prob`` on a
    request of route ``contact``, else ``group_prob``, raised to the member's
    ``oncall_prob`` when on call; ``factor``: by distinct member, ``inv`` the pair's), the
    ``j``-th read drawing ``u[j]``, or already willing. A read pair becomes ``queued``,
    ready at ``when``, with its request's quality (``purged_quality`` once read more than
    ``purge_days`` after the post). Returns a bool per pair, False where it declined (to
    be dropped), and the count declined."""
    keep = np.ones(state.size, np.bool_)
    j = 0
    declined = 0
    for q in range(pend.size):
        w = when[q]
        if not w < t1:
            continue
        i = pend[q]
        r = req[i]
        e = exp[i]
        base = contact_prob if route[r] == contact else group_prob
        if oncall[e]:
            base = _nan_max(base, oncall_prob[e])
        p = base * factor[inv[q]]
        if not (u[j] < p or willing[i]):
            keep[i] = False
            declined += 1
        j += 1
        quality[i] = r_quality[r] if (w - r_t_post[r]) <= purge_days else purged_quality
        ready[i] = w
        state[i] = queued
        willing[i] = True
    return keep, declined


@njit(cache=True)
def answer_inputs(rows, p_req, p_exp, r_case, first_held, row_of, c_spec, c_need, expertise, specialty, facility,
                  fac_equipment, off_factor):  # fmt: skip
    """For the pairs ``rows`` about to be answered: their requests, members, cases, the
    cases' rows (``row_of`` as in :func:`_case_open`), the members' skill for the case
    (``expertise``, times ``off_factor`` off their specialty) and whether their facility
    lacks the equipment the case needs."""
    m = rows.size
    req = np.empty(m, np.int64)
    e = np.empty(m, p_exp.dtype)
    case = np.empty(m, np.int64)
    row = np.empty(m, np.int64)
    skill = np.empty(m)
    lacks = np.empty(m, np.bool_)
    for i in range(m):
        r = p_req[rows[i]]
        x = p_exp[rows[i]]
        c = r_case[r]
        w = c if row_of.size == 0 else row_of[c - first_held]
        req[i], e[i], case[i], row[i] = r, x, c, w
        skill[i] = np.float64(expertise[x]) * (1.0 if specialty[x] == c_spec[w] else off_factor)
        lacks[i] = fac_equipment[facility[x]] < c_need[w]
    return req, e, case, row, skill, lacks


@njit(cache=True)
def record_answers(e, row, start, service, correct, u, n_labels, start_hour, work_start, work_end, burnout, n_answers,
                   n_offhours, answer_minutes, t_first_start):  # fmt: skip
    """The answers started (members ``e``, cases' rows ``row``): their labels (0 when
    ``correct``, else one of the wrong labels by ``u``) and whether each starts off its
    member's hours; adds each, in order, to its member's record (an off-hours answer to
    ``burnout``) and lowers its case's ``t_first_start`` to its start."""
    m = e.size
    label = np.empty(m, np.int16)
    off = np.empty(m, np.bool_)
    for i in range(m):
        x = e[i]
        label[i] = 0 if correct[i] else np.int16(1 + np.int16(u[i] * (n_labels - 1)))
        hour = (start_hour + start[i] * 24.0) % 24.0
        a, b = np.float64(work_start[x]), np.float64(work_end[x])
        o = not (((hour >= a) and (hour < b)) or (hour + 24.0 < b))
        off[i] = o
        burnout[x] += o
        n_answers[x] += 1
        n_offhours[x] += o
        answer_minutes[x] += service[i] * 24 * 60
        r = row[i]
        f = t_first_start[r]
        if f != f or start[i] < f:
            t_first_start[r] = start[i]
    return label, off


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
def unlink_requests(head: np.ndarray, nxt: np.ndarray, case_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Empty the lists of open requests of the cases ``case_rows`` (distinct); returns the
    requests that were on them and the case of each (rows)."""
    n = 0
    for c in case_rows:
        r = head[c]
        while r >= 0:
            n += 1
            r = nxt[r]
    closed = np.empty(n, np.int64)
    about = np.empty(n, np.int64)
    k = 0
    for c in case_rows:
        r = head[c]
        while r >= 0:
            closed[k], about[k] = r, c
            k += 1
            r = nxt[r]
        head[c] = -1
    return closed, about


@njit(cache=True)
def engaged_rates(who, at_day_rate, day, night, duty, oncall, reads_oncall, today, offhours, cap):
    """The chat openings per day at which each clinician of ``who`` acts on requests: the
    read rate (``day`` or ``night`` as ``at_day_rate``), times ``offhours`` off ``duty``;
    on call at least ``reads_oncall`` an hour; none once ``today``'s answers reach a
    positive ``cap``."""
    out = np.empty(who.size)
    for i in range(who.size):
        w = who[i]
        rr = np.float64(day[w] if at_day_rate[w] else night[w])
        rho = rr * (1.0 if duty[w] else offhours)
        if oncall[w]:
            rho = _nan_max(rr, reads_oncall[w] * 24.0)
        if cap > 0 and today[w] >= cap:
            rho = 0.0
        out[i] = rho
    return out


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
    """Rows of the CSR slices ``keys`` together (as the length of :func:`csr_expand`)."""
    return int(_csr_total(indptr, keys))


@njit(cache=True)
def choose_groups(net, answering, specialty, expertise, stock, askers, spec, u, any_specialty, f, per_request):
    """The groups each case is posted in: of its asker's memberships (``askers[k]``, laid out
    as :func:`csr_expand` lays them), the first ``per_request`` in the order (stock for
    the case's specialty ``spec[k]`` rounded to 1e-9, highest first; then ``u``, one
    uniform per membership; then membership order), kept where someone may answer.

    ``net`` is (``c_indptr``, ``c_groups``, ``c_rows``, ``m_muted``); ``stock`` is the
    :class:`.routing.GroupStock` (``count``, ``skill``, ``count_all``, ``skill_all``). A
    group's stock is the summed expertise of the members who may answer, the asker
    excluded; with ``any_specialty``, off-specialty members count at ``f``. The
    arithmetic is that of the numpy formulation, in its order. Returns (case index,
    group) of every post, by case, best group first."""
    c_indptr, c_groups, c_rows, m_muted = net
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
            asker_in = answering[a] and not m_muted[c_rows[lo + i]]
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
def csr_expand(indptr: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows of the CSR slices ``keys`` laid end to end, and for each row the position in ``keys`` of its slice."""
    total = _csr_total(indptr, keys)
    rows = np.empty(total, np.int64)
    owner = np.empty(total, np.int64)
    j = 0
    for i in range(keys.size):
        for r in range(indptr[keys[i]], indptr[keys[i] + 1]):
            rows[j] = r
            owner[j] = i
            j += 1
    return rows, owner


@njit(cache=True)
def eligible_members(g_indptr, g_members, m_muted, answering, specialty, groups, asker, spec, same_specialty):
    """The members of each of ``groups`` (CSR by group) who may answer a post there: of an
    answering role, not muted, not its ``asker``, and, with ``same_specialty``, of the
    specialty ``spec`` (each per post). Returns (post, member) in the order of
    :func:`csr_expand` over ``groups`` (as its rows filtered by those masks)."""
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
def run_first(keys: np.ndarray) -> np.ndarray:
    """True at the first element of each run of equal values (of a sorted array)."""
    out = np.ones(keys.size, np.bool_)
    for i in range(1, keys.size):
        out[i] = keys[i] != keys[i - 1]
    return out


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
def in_sorted_ids(x: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Whether each of ``x`` is one of ``ids`` (sorted, distinct): a mark per id of their
    range (its size: the caller bounds it), then one look-up per element instead of a
    binary search."""
    out = np.zeros(x.size, np.bool_)
    if ids.size == 0:
        return out
    lo = ids[0]
    span = ids[ids.size - 1] - lo + 1
    mark = np.zeros(span, np.bool_)
    for v in ids:
        mark[v - lo] = True
    for i in range(x.size):
        d = x[i] - lo
        if d >= 0 and d < span and mark[d]:
            out[i] = True
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
def _case_open(case: np.int64, first_held: int, row_of: np.ndarray, t_dx: np.ndarray) -> bool:
    """Whether ``case`` is held and not diagnosed: its row is ``row_of[case - first_held]``
    (-1: written out), or the case itself when ``row_of`` is empty (no case was written out)."""
    if row_of.size == 0:
        return np.isnan(t_dx[case])
    off = case - first_held
    if off < 0 or off >= row_of.size:
        return False
    r = row_of[off]
    return r >= 0 and np.isnan(t_dx[r])


@njit(cache=True)
def open_cases(ids: np.ndarray, first_held: int, row_of: np.ndarray, t_dx: np.ndarray) -> np.ndarray:
    """Bool per case id of ``ids``: held and not diagnosed (:func:`_case_open`)."""
    out = np.empty(ids.size, np.bool_)
    for i in range(ids.size):
        out[i] = _case_open(ids[i], first_held, row_of, t_dx)
    return out


@njit(cache=True)
def merge_open_keys(a: np.ndarray, b: np.ndarray, n: int, first_held: int, row_of: np.ndarray, t_dx: np.ndarray):
    """The keys of ``a`` and ``b`` (both sorted) whose case is held and not diagnosed
    (:func:`_case_open` of ``key // n``), merged in order: ``np.sort(np.concatenate([a, b]))`` of those, with
    no copy of them all and exactly the room the result needs (counted in a first pass)."""
    keep = 0
    for i in range(a.size):
        keep += _case_open(a[i] // n, first_held, row_of, t_dx)
    for j in range(b.size):
        keep += _case_open(b[j] // n, first_held, row_of, t_dx)
    out = np.empty(keep, np.int64)
    i = j = k = 0
    while i < a.size or j < b.size:
        if j >= b.size or (i < a.size and a[i] <= b[j]):
            v = a[i]
            i += 1
        else:
            v = b[j]
            j += 1
        if _case_open(v // n, first_held, row_of, t_dx):
            out[k] = v
            k += 1
    return out


@njit(cache=True)
def _nan_max(a: float, b: float) -> float:
    """``np.maximum(a, b)`` of two floats (NaN when either is)."""
    if a != a or b != b:
        return np.nan
    return a if a >= b else b


@njit(cache=True)
def _before(start: np.ndarray, e: np.ndarray, i: int, j: int) -> bool:
    """Pair ``i`` comes before pair ``j`` in the order (start, member, position)."""
    return start[i] < start[j] or (start[i] == start[j] and (e[i] < e[j] or (e[i] == e[j] and i < j)))


@njit(cache=True)
def match_rounds(req, e, ready, post, alive, slots, free_at, today, cap, t0, t1, rng, exponential, mean_days):
    """The rounds of :func:`.answering.match` over the queued pairs (request ``req``, member
    ``e``, readable from ``ready``, posted at ``post``; ``alive``: may still be answered),
    compiled: the same rounds, comparisons and draws as their numpy formulation (two
    lexicographic sorts per round), without the sorts.

    Per round, the pairs that can start before ``t1`` (a slot left, the member under the
    daily ``cap`` when it is positive, start ``max(free_at, ready, t0)``); each member
    proposes its first pair in the order (start, post, request, position); each request
    ranks its pairs in the order (start, member, position); proposals ranked within
    their request's slots start, in the order of their members, each with a service
    time (``rng.exponential(mean_days)`` when ``exponential``, else ``mean_days``).
    ``slots``, ``free_at`` and ``today`` are updated in place. Returns the pairs started
    (positions in the inputs, round by round), their starts and service times, and a
    bool per pair: started.
    """
    n = req.size
    done = np.zeros(n, np.bool_)
    matched = np.empty(n, np.int64)
    starts = np.empty(n)
    services = np.empty(n)
    k = 0
    members, member = unique_inverse(e)  # each pair's member among them, in the order of their ids
    requests, request = unique_inverse(req)
    n_members, n_requests = members.size, requests.size
    # the pairs of each request, in order of position
    r_ptr = np.zeros(n_requests + 1, np.int64)
    for i in range(n):
        r_ptr[request[i] + 1] += 1
    for r in range(n_requests):
        r_ptr[r + 1] += r_ptr[r]
    r_pairs = np.empty(n, np.int64)
    fill = r_ptr[:-1].copy()
    for i in range(n):
        r_pairs[fill[request[i]]] = i
        fill[request[i]] += 1
    start = np.empty(n)
    ok = np.zeros(n, np.bool_)
    best = np.empty(n_members, np.int64)
    m = np.empty(n_members, np.int64)
    first = np.empty(n, np.int64)  # per request (its pairs' span): the pairs it accepts, in order
    accepted = np.zeros(n, np.bool_)
    for _ in range(n + 1):
        any_ok = False
        for i in range(n):
            s = _nan_max(_nan_max(free_at[e[i]], ready[i]), t0)
            start[i] = s
            ok[i] = alive[i] and not done[i] and slots[req[i]] > 0 and (cap <= 0 or today[e[i]] < cap) and s < t1
            any_ok |= ok[i]
        if not any_ok:
            break
        # each member's proposal: its first pair in the order (start, post, request, position)
        best[:] = -1
        for i in range(n):
            if not ok[i]:
                continue
            d = member[i]
            b = best[d]
            if (
                b < 0
                or start[i] < start[b]
                or (start[i] == start[b] and (post[i] < post[b] or (post[i] == post[b] and req[i] < req[b])))
            ):
                best[d] = i
        # each request's first pairs in the order (start, member, position), as many as its
        # slots at the start of the round: the pairs it accepts
        for r in range(n_requests):
            lo, hi = r_ptr[r], r_ptr[r + 1]
            room = min(slots[req[r_pairs[lo]]], hi - lo)
            if room <= 0:
                continue
            top = first[lo : lo + room]
            held = 0
            for j in r_pairs[lo:hi]:
                if not ok[j]:
                    continue
                # insert j among the held pairs in order, dropping the last when full
                at = held
                while at > 0 and _before(start, e, j, top[at - 1]):
                    at -= 1
                if at >= room:
                    continue
                for q in range(min(held, room - 1), at, -1):
                    top[q] = top[q - 1]
                top[at] = j
                held = min(held + 1, room)
            for q in range(held):
                accepted[top[q]] = True
        # the proposals a request accepts start, in the order of their members
        n_m = 0
        for d in range(n_members):
            p = best[d]
            if p >= 0 and accepted[p]:
                m[n_m] = p
                n_m += 1
        accepted[:] = False
        for j in range(n_m):
            service = rng.exponential(mean_days) if exponential else mean_days
            p = m[j]
            free_at[e[p]] = start[p] + service
            slots[req[p]] -= 1
            today[e[p]] += 1
            done[p] = True
            matched[k] = p
            starts[k] = start[p]
            services[k] = service
            k += 1
    return matched[:k].copy(), starts[:k].copy(), services[:k].copy(), done
