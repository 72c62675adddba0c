"""Plain numpy references for the compiled kernels that replaced them in the simulator.

The tests compare each kernel with its reference; the simulator itself uses only the kernels.
"""

from __future__ import annotations

import numpy as np

from sim.arrays import expand_ranges


def csr_rows(indptr: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows of CSR slices ``keys`` laid end to end, and for each row the position in
    ``keys`` of the slice it came from."""
    lo = indptr[keys]
    sizes = indptr[keys + 1] - lo
    return expand_ranges(lo, sizes), np.repeat(np.arange(np.size(keys)), sizes)


def lookup(keys: np.ndarray, values: np.ndarray, query: np.ndarray, default) -> np.ndarray:
    """values[keys == q] for each q (keys sorted and unique), else ``default``."""
    out = np.full(query.size, default, dtype=np.result_type(values, type(default)))
    if keys.size == 0 or query.size == 0:
        return out
    pos = np.minimum(np.searchsorted(keys, query), keys.size - 1)
    hit = keys[pos] == query
    out[hit] = values[pos[hit]]
    return out


def first_at_or_after(owner: np.ndarray, when: np.ndarray, q_owner: np.ndarray, q_time: np.ndarray) -> np.ndarray:
    """For each query (owner, time): the earliest event of that owner at or after the time.

    Events and queries are merged in one sort (owner, time, queries before events at
    equal times); a reverse running minimum gives each position the next event. ``inf``
    where the owner has no such event.
    """
    n_ev = owner.size
    out = np.full(q_owner.size, np.inf)
    if n_ev == 0 or q_owner.size == 0:
        return out
    own = np.concatenate([owner, q_owner])
    tim = np.concatenate([when, q_time])
    kind = np.concatenate([np.ones(n_ev, np.int8), np.zeros(q_owner.size, np.int8)])
    order = np.lexsort((kind, tim, own))
    pos = np.where(kind[order] == 1, np.arange(order.size), order.size)
    nxt = np.minimum.accumulate(pos[::-1])[::-1]
    rank = np.empty(order.size, np.int64)
    rank[order] = np.arange(order.size)
    q = nxt[rank[n_ev:]]
    ok = q < order.size
    ok[ok] = own[order[q[ok]]] == q_owner[ok]
    out[ok] = tim[order[q[ok]]]
    return out


def segment_first(keys: np.ndarray) -> np.ndarray:
    """Bool: first element of each run of equal values in a sorted array."""
    out = np.ones(keys.size, bool)
    out[1:] = keys[1:] != keys[:-1]
    return out


def segment_rank(keys: np.ndarray) -> np.ndarray:
    """Position within each run of equal values of a sorted array."""
    first = segment_first(keys)
    start = np.maximum.accumulate(np.where(first, np.arange(keys.size), 0))
    return np.arange(keys.size) - start


def match_rounds(req, e, ready, post, alive, slots, free_at, today, cap, t0, t1, rng, exponential, mean_days):
    """The rounds of the answering match in numpy (the formulation the compiled
    ``match_rounds`` replaced): per round two lexsorts, one proposal per member, the
    proposals within their request's slots start. Updates ``slots``, ``free_at`` and
    ``today`` in place; returns (pairs started, starts, service times, done)."""
    done = np.zeros(req.size, bool)
    matched, starts, services = [], [], []
    for _ in range(req.size + 1):
        ok = alive & ~done & (slots[req] > 0)
        if cap > 0:
            ok &= today[e] < cap
        start = np.maximum(np.maximum(free_at[e], ready), t0)
        ok &= start < t1
        idx = np.flatnonzero(ok)
        if idx.size == 0:
            break
        o = np.lexsort((req[idx], post[idx], start[idx], e[idx]))
        proposal = idx[o][segment_first(e[idx][o])]
        o2 = np.lexsort((e[idx], start[idx], req[idx]))
        rank = np.empty(req.size, np.int64)
        rank[idx[o2]] = segment_rank(req[idx][o2])
        m = proposal[rank[proposal] < slots[req[proposal]]]
        service = rng.exponential(mean_days, m.size) if exponential else np.full(m.size, mean_days)
        free_at[e[m]] = start[m] + service
        np.subtract.at(slots, req[m], 1)
        today[e[m]] += 1
        done[m] = True
        matched.append(m)
        starts.append(start[m])
        services.append(service)
    if not matched:
        return np.zeros(0, np.int64), np.zeros(0), np.zeros(0), done
    return np.concatenate(matched), np.concatenate(starts), np.concatenate(services), done


def choose_groups(net, answering, specialty, expertise, stock, askers, spec, u, any_specialty, f, per_request):
    """The groups each case is posted in, in numpy (the formulation the compiled
    ``choose_groups`` replaced): the askers' memberships ranked per case by rounded
    stock, then ``u``; the first ``per_request`` kept where someone may answer."""
    c_indptr, c_groups, c_rows, m_muted = net
    count, skill, count_all, skill_all = stock
    rows_c, k = csr_rows(c_indptr, askers)
    g = c_groups[rows_c].astype(np.int64)
    a = askers[k]
    asker_in = answering[a] & ~m_muted[c_rows[rows_c]]
    same = specialty[a] == spec[k]
    xa = expertise[a].astype(float)
    if any_specialty:
        n_ok = count_all[g] - asker_in
        value = f * skill_all[g] + (1 - f) * skill[g, spec[k]] - asker_in * xa * np.where(same, 1.0, f)
    else:
        n_ok = count[g, spec[k]] - (asker_in & same)
        value = skill[g, spec[k]] - (asker_in & same) * xa
    order = np.lexsort((u, -np.round(value, 9), k))
    k, g, n_ok = k[order], g[order], n_ok[order]
    keep = (segment_rank(k) < per_request) & (n_ok > 0)
    return k[keep], g[keep]


def settle_reads(
    pend, when, t1, u, P, R, E, sens, contact, contact_prob, group_prob, purge_days, purged_quality, queued, exp=np.exp
):
    """The numpy of :func:`sim.processes.diagnosis.answering.read` after the openings are
    drawn (``P``, ``R``: dicts of the pairs' and open requests' columns, changed in place;
    ``E``: the experts; ``exp``: the exponential of the burnout factors). Returns the rows
    kept and the count declined."""
    got = when < t1
    idx, when = pend[got], when[got]
    e, req = P["exp"][idx], P["req"][idx]
    base = np.where(R["route"][req] == contact, contact_prob, group_prob)
    base = np.where(E.oncall[e], np.maximum(base, E.oncall_answer_prob[e]), base)
    p = base * exp(-sens * E.burnout[e])
    willing = (u < p) | P["willing"][idx]
    fresh = (when - R["t_post"][req]) <= purge_days
    P["quality"][idx] = np.where(fresh, R["quality"][req], purged_quality)
    P["ready"][idx] = when
    P["state"][idx] = queued
    P["willing"][idx] = True
    keep = np.ones(P["state"].size, bool)
    keep[idx[~willing]] = False
    return keep, int((~willing).sum())


def answer_inputs(
    rows, p_req, p_exp, r_case, rows_of, c_spec, c_need, expertise, specialty, facility, fac_equipment, f
):
    """The gathers that began :func:`sim.processes.diagnosis.answering.commit` (``rows_of``:
    case ids to rows, as ``DxState.rows``)."""
    req, e = p_req[rows], p_exp[rows]
    case = r_case[req]
    row = rows_of(case)
    skill = expertise[e] * np.where(specialty[e] == c_spec[row], 1.0, f)
    lacks = fac_equipment[facility[e]] < c_need[row]
    return req, e, case, row, skill, lacks


def record_answers(e, row, start, service, correct, u, n_labels, start_hour, work_start, work_end, E, t_first_start):
    """The numpy of ``commit`` that labelled the answers started and added them to the
    members' records (``E``: the experts) and the cases' first starts."""
    from sim.clock import in_hours

    wrong = 1 + (u * (n_labels - 1)).astype(np.int16)
    label = np.where(correct, 0, wrong).astype(np.int16)
    hour = (start_hour + start * 24.0) % 24.0
    off = ~in_hours(hour, work_start[e], work_end[e])
    np.add.at(E.burnout, e, off)
    np.add.at(E.n_answers, e, 1)
    np.add.at(E.n_offhours, e, off.astype(np.int32))
    np.add.at(E.answer_minutes, e, service * 24 * 60)
    np.fmin.at(t_first_start, row, start)
    return label, off


def combine_batch(cs, lab, wv, rows, scores_held, n_answers, lead_held, t_first_answer, end, accept, min_answers):
    """The numpy of the combination of a batch of answers to open cases (``cs`` sorted;
    the held tables changed in place), from the answers' weights ``wv``. Returns the
    counted flags and the positions of the accepting answers."""
    m, L = cs.size, scores_held.shape[1]
    w = np.zeros((m, L))
    w[np.arange(m), lab] = wv
    first = segment_first(cs)
    seg = np.cumsum(first) - 1
    starts = np.flatnonzero(first)
    cum = np.cumsum(w, axis=0)
    before = np.zeros((starts.size, L))
    before[1:] = cum[starts[1:] - 1]
    scores = scores_held[rows] + cum - before[seg]
    n_cum = n_answers[rows] + segment_rank(cs) + 1
    bump = np.zeros_like(scores)
    bump[np.arange(m), lab] = 1e-9
    lead, conf = combine_posterior(scores + bump)
    ok = (conf >= accept) & (n_cum >= min_answers)
    first_ok = np.full(starts.size, m)
    np.minimum.at(first_ok, seg, np.where(ok, np.arange(m), m))
    has = first_ok < m
    last = np.append(starts[1:] - 1, m - 1)
    fin = np.where(has, first_ok, last)
    seg_rows = rows[starts]
    scores_held[seg_rows] = scores[fin]
    n_answers[seg_rows] = n_cum[fin]
    lead_held[seg_rows] = lead[fin]
    np.fmin.at(t_first_answer, rows, end)
    return np.arange(m) <= first_ok[seg], first_ok[has]


def engaged_rate(model, who, oncall, reads_oncall, today, offhours, cap):
    """The numpy the diagnosis read with: chat openings per day at which each clinician of
    ``who`` acts on requests (``oncall``, ``reads_oncall``, ``today``: the experts' arrays)."""
    from sim.activity import rate_and_duty

    rr, duty = rate_and_duty(model, who)
    rr = rr.astype(float)
    rho = rr * np.where(duty, 1.0, offhours)
    rho = np.where(oncall[who], np.maximum(rr, reads_oncall[who] * 24.0), rho)
    if cap > 0:
        rho = np.where(today[who] >= cap, 0.0, rho)
    return rho


def book_referrals(cases, rows, t_ref_entry, facility, spec, need, dest_of, hops_of, hop_days, lead_days,
                   slots_per_100_beds, fac_beds, next_slot, pick, u, expertise, specialty, off, fac_equipment,
                   workup_days, book_slots):  # fmt: skip
    """The numpy booking of ``Referrals.book`` (before its compiled pass): the cases in order of
    referral, their destination, hops, slot (``book_slots``), treating doctor (``pick`` of
    facility, specialty, uniforms ``u``), skill, missing equipment and visit time."""
    order = np.argsort(t_ref_entry[rows], kind="stable")
    cases, row = cases[order], rows[order]
    fac, s, k = facility[row], spec[row].astype(np.int64), need[row] - 1
    dest, hops = dest_of[fac, s, k], hops_of[fac, s, k]
    arrive = t_ref_entry[row] + hops * hop_days + lead_days
    gap = 1.0 / (slots_per_100_beds * fac_beds[dest] / 100.0)
    slot = book_slots(dest, arrive, gap, next_slot)
    doctor = pick(dest, s.astype(np.int8), u)
    skill = expertise[doctor] * np.where(specialty[doctor] == s, 1.0, off)
    lacks = fac_equipment[dest] < need[row]
    return cases, row, doctor, skill, lacks, slot + workup_days, dest, hops


def combine_posterior(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(leading label, its posterior) from per-label log-likelihood scores (rows = cases): the
    numpy of the combination's posterior before its compiled passes."""
    s = scores - scores.max(axis=1, keepdims=True)
    p = np.exp(s)
    p /= p.sum(axis=1, keepdims=True)
    lead = np.argmax(p, axis=1)
    return lead, p[np.arange(p.shape[0]), lead]


def answering_read(st, cfg, model, t0: float, t1: float) -> None:
    """The numpy steps (around the kernels they called) that
    :func:`sim.processes.diagnosis.answer_kernels.read_pending` replaced."""
    from sim.activity import rate_parts
    from sim.processes.diagnosis import answer_kernels as AK
    from sim.processes.diagnosis.config import CONTACT, PENDING, QUEUED

    P, R, E = st.pairs, st.open_requests, st.experts
    pend, e, since = AK.pending_pairs(P["state"], P["exp"], P["req"], R["t_post"], PENDING, t0)
    if pend.size == 0:
        return
    uniq, inv = np.unique(e, return_inverse=True)
    rho = AK.engaged_rates(
        uniq, *rate_parts(model), E.oncall, E.oncall_reads_per_hour, E.answers_today, cfg.offhours_engagement,
        cfg.answer_cap_per_day,
    )  # fmt: skip
    if cfg.read_delay == "none":
        when = np.where(rho[inv] > 0, since, np.inf)
        u = st.rng.random(int(np.count_nonzero(when < t1)))
    else:
        when, u = AK.first_reads(st.rng_ref, inv, since, rho, np.exp(-(rho * (t1 - t0))), t0, t1 - t0, t1)
    if u.size == 0:
        return
    factor = np.exp(-cfg.burnout_sensitivity_per_answer * E.burnout[e[when < t1]])
    keep, declined = AK.settle_reads(
        pend, when, t1, u, P["state"], P["req"], P["exp"], P["ready"], P["quality"], P["willing"],
        R["route"], R["t_post"], R["quality"], E.oncall, E.oncall_answer_prob, factor,
        CONTACT, cfg.contact_answer_prob, cfg.group_answer_prob, cfg.media_purge_days, cfg.purged_quality, QUEUED,
    )  # fmt: skip
    st.counters["declined"] += declined
    if declined:
        st.drop_pairs(~keep)


def answering_match(st, cfg, model, t0: float, t1: float) -> None:
    """The numpy steps of matching and starting answers (around the kernels they called) that
    :func:`sim.processes.diagnosis.match_kernels.match_step` replaced."""
    from sim.processes.diagnosis import answer_kernels as AK
    from sim.processes.diagnosis.combining import p_correct
    from sim.processes.diagnosis.config import PENDING, QUEUED

    P, R, C, E, pop = st.pairs, st.open_requests, st.cases, st.experts, model.pop
    q = (P["state"] == QUEUED).nonzero()[0]
    if q.size == 0:
        return
    req, e, ready = P["req"][q], P["exp"][q], P["ready"][q]
    alive = (R["slots"][req] > 0) & np.isnan(C["t_dx"][st.rows(R["case"][req])]) & (ready < t1)
    cap = cfg.answer_cap_per_day
    matched, start, service, done = AK.match_rounds(
        req, e, ready, R["t_post"][req], alive, R["slots"], E.free_at, E.answers_today, cap, t0, t1,
        st.rng_ref, cfg.answer_time == "exponential", cfg.answer_mean_minutes / (24 * 60),
    )  # fmt: skip
    if matched.size:
        rows = q[matched]
        first_held, row_map = st.row_lookup()
        req, e, case, row, skill, lacks = AK.answer_inputs(
            rows, P["req"], P["exp"], R["case"], first_held, row_map, C["spec"], C["need"], pop.expertise,
            pop.specialty, pop.facility, pop.fac_equipment, cfg.off_specialty_factor,
        )  # fmt: skip
        m = rows.size
        end = start + service
        u = st.rng.random(m)
        if st.care is None:
            p = p_correct(cfg, st.n_labels, skill, C["difficulty"][row], lacks, P["quality"][rows])
            correct = u < p
        else:
            tier = pop.fac_tier[C["facility"][row]]
            shifts = st.care.shift(st, cfg, case, e)
            p, correct = st.care.judge(st, cfg, 1, case, e, skill, lacks, P["quality"][rows], u, tier, shifts)
        label, off = AK.record_answers(
            e, row, start, service, correct, st.rng.random(m), st.n_labels, model.clock.start_hour, pop.work_start,
            pop.work_end, E.burnout, E.n_answers, E.n_offhours, E.answer_minutes, C["t_first_start"],
        )  # fmt: skip
        st.counters["answers"] += m
        st.counters["offhours"] += int(np.count_nonzero(off))
        H, log = st.open_requests, st.requests
        st.counters["abroad"] += AK.log_first_answers(
            H["id"], H["t_post"], req, end, e, pop.facility, pop.fac_abroad, log["first_answer_minutes"], log["abroad"]
        )
        st.inflight.append(
            case=case, req=R["id"][req], exp=e, route=R["route"][req], group=R["group"][req], start=start, end=end,
            label=label, confidence=p, correct=correct, offhours=off,
        )  # fmt: skip
    if cap > 0:
        stop = q[~done & (E.answers_today[P["exp"][q]] >= cap)]
        P["state"][stop] = PENDING
    st.drop_pairs(q[done])
    st.drop_pairs(R["slots"][P["req"]] <= 0)


def referral_book(self, st, cfg, staff, pop, cases) -> None:
    """The numpy steps around :func:`sim.processes.diagnosis.referral_kernels.book_referrals`
    and :meth:`~sim.processes.diagnosis.care.CareLink.judge` that
    :func:`~sim.processes.diagnosis.referral_kernels.book_and_judge` replaced (a method of
    ``Referrals``)."""
    from sim.processes.diagnosis.combining import p_correct
    from sim.processes.diagnosis.referral_kernels import book_referrals

    if cases.size == 0:
        return
    C = st.cases
    cases, row, doctor, skill, lacks, when = book_referrals(
        cases, *st.row_lookup(), C["t_ref_entry"], C["facility"], C["spec"], C["need"], self.dest, self.hops,
        cfg.referral_hop_travel_days, cfg.referral_lead_days, cfg.referral_slots_per_100_beds_per_day,
        pop.fac_beds, self.next_slot, *staff.treating_lists(), st.rng_ref,
        pop.expertise, pop.specialty, cfg.off_specialty_factor, pop.fac_equipment, cfg.local_workup_hours / 24.0,
        C["ref_facility"], C["ref_hops"], C["t_ref_dx"],
    )  # fmt: skip
    st.book_visits(cases, when)
    u = st.rng.random(cases.size)
    if st.care is None:
        ok = u < p_correct(cfg, st.n_labels, skill, C["difficulty"][row], lacks, np.ones(cases.size))
    else:
        tier = pop.fac_tier[C["facility"][row]]
        shifts = st.care.shift(st, cfg, cases, doctor)
        _, ok = st.care.judge(st, cfg, 2, cases, doctor, skill, lacks, np.ones(cases.size), u, tier, shifts)
    C["ref_correct"][row] = ok.astype(np.int8)
    st.counters["referrals"] += int(cases.size)


def combining_combine(st, cfg, A):
    """The numpy steps (around the kernels they called) of the combination of the answers
    finished in a step (:func:`combining_resolve`) that
    :func:`sim.processes.diagnosis.resolution_kernels.combine_answers` replaced."""
    from sim.processes.diagnosis import resolution_kernels as RZ
    from sim.processes.diagnosis.combining import weights

    C = st.cases
    idx, cs, rows = RZ.open_answers(A["case"], *st.row_lookup(), C["t_dx"])
    if idx.size == 0:
        return np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int8), np.zeros(0, bool)
    w = weights(cfg, st.n_labels, A["confidence"][idx])
    scores, shifted, n_cum = RZ.shifted_scores(cs, A["label"][idx], w, rows, st.scores, C["n_answers"])
    p = np.exp(shifted)
    end = A["end"][idx]
    lead, counted, pos = RZ.accept_combined(
        p, np.add.reduce(p, axis=1), cs, rows, scores, n_cum, cfg.accept_confidence, cfg.min_answers, end, st.scores,
        C["n_answers"], C["lead"], C["t_first_answer"],
    )  # fmt: skip
    A["counted"][idx] = counted
    return cs[pos], end[pos], A["route"][idx[pos]], lead[pos] == 0


def combining_resolve(st, cfg, t1, entered_referral, book):
    """The numpy steps (around the kernels they called) of
    :func:`sim.processes.diagnosis.combining.resolve` that
    :func:`sim.processes.diagnosis.resolution_kernels.finish_answers` and
    :func:`~sim.processes.diagnosis.resolution_kernels.diagnose_due` replaced: the answers
    finished taken by ``lexsort`` and a mask, the combination (:func:`combining_combine`),
    the visits taken by ``searchsorted`` and the open sets by membership tests."""
    from sim.arrays import sorted_member
    from sim.processes.diagnosis import resolution_kernels as RZ
    from sim.processes.diagnosis.config import DROPPED, REFERRAL
    from sim.processes.diagnosis.kernels import lookup_sorted, open_cases
    from sim.processes.diagnosis.state import kept_first

    C, row = st.cases, st.rows
    F = st.inflight
    due = F["end"] < t1
    pos = due.nonzero()[0]
    if not pos.size and not entered_referral.size and not st.visit_before(t1):
        return
    A = F.take(pos[np.lexsort((F["end"][pos], F["case"][pos]))])  # by case, then end
    F.keep(~due)
    kept_first(F, len(F))  # (the room given back as the model does)
    acc_case = np.zeros(0, np.int64)
    acc_t, acc_route, acc_correct = np.zeros(0), np.zeros(0, np.int8), np.zeros(0, bool)
    if len(A):
        if st.trust is not None:
            st.trust.observe_answers(C["asker"][row(A["case"])], A["exp"], A["group"], A["correct"])
        acc_case, acc_t, acc_route, acc_correct = combining_combine(st, cfg, A)
    if entered_referral.size:
        k = entered_referral
        book(k[lookup_sorted(acc_case, acc_t, k, np.inf) > C["t_ref_entry"][row(k)]])
    # the referral visits due: out of the queue, those of cases held and not diagnosed kept
    k = int(st.visit_t.searchsorted(t1, side="left"))
    ids = np.sort(st.visit_case[:k])
    st.visit_t, st.visit_case = st.visit_t[k:], st.visit_case[k:]
    ids = ids[open_cases(ids, *st.row_lookup(), C["t_dx"])]
    columns = (C["t_ref_dx"], C["t_dx"], C["route"], C["correct"], C["ref_correct"], C["t_esc"])
    newly = RZ.diagnose(ids, acc_case, acc_t, acc_route, acc_correct, t1, REFERRAL, *st.row_lookup(), columns)
    if newly.size:
        st.counters["resolved"] += int(newly.size)
        # what the cases diagnosed leave: open ids, open requests, and the pairs of those
        H, P = st.open_requests, st.pairs
        open_ids = st.open_ids[~sorted_member(st.open_ids, newly)]
        closed = RZ.close_requests(
            st._req_head, H["next"], row(newly), H["open"], H["slots"], H["t_post"], C["t_dx"], C["n_req"]
        )  # fmt: skip
        if closed and len(P):
            P["state"][~H["open"][P["req"]]] = DROPPED
        st.forgotten(open_ids, closed)
    if len(A):
        n_counted, n_after = RZ.settle_answers(
            A["case"], A["start"], A["end"], A["counted"], A["after_diagnosis"], *st.row_lookup(), C["t_dx"],
            C["n_counted"],
        )  # fmt: skip
        st.counters["counted"] += n_counted
        st.counters["after_diagnosis"] += n_after
        st.log_finished(A)


def reading_opened(p, model):
    """The numpy steps of :func:`sim.processes.information.reading._opened` that
    :func:`sim.processes.information.reading_kernels.open_chats` replaced: the distinct
    readers by ``np.unique``, a uniform each, the mask of the copies read, the queue split
    by masks and a gather per message column."""
    from sim.activity import read_prob
    from sim.processes.information import kernels as K

    q = p.queues
    if q.n_pending() == 0:
        return None
    gone = q.gone() if p.counters["removed_posts"] else None
    if p.config.reading == "immediate":
        if gone is not None:
            p.counters["removed_copies"] += int(gone.sum())
        return q.take(gone)
    P = q.pending
    readers, which = np.unique(P["recv"], return_inverse=True)
    now = (p.rng.random(readers.size) < read_prob(model)[readers])[which]
    g = np.zeros(now.size, bool) if gone is None else gone
    p.counters["removed_copies"] += int((g & now).sum())
    n_held, n_messages = len(P), len(q.messages)
    recv, msg = P["recv"], P["msg"]
    out_recv, out_msg = recv[now & ~g], msg[now & ~g]
    stay = ~now & ~g
    left = int(stay.sum())
    recv[:left], msg[:left] = recv[stay], msg[stay]
    P.truncate(left)
    copies = K.Copies(out_recv, *[col[out_msg] for col in q.messages.columns()])
    q._drop_messages()
    q._give_back(n_held, n_messages)
    return copies
