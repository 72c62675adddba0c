"""Escalation along the routes: group posts, 1-on-1 requests, entry into referral.

A case whose next route is due before the end of the step moves on at the exact due
time: it is posted in the asker's best group(s), sent to the best contact at a higher
tier, or referred. A route without anyone to ask is skipped at once.

``escalation = "serial"``: each route waits out its patience before the next.
``escalation = "parallel"``: at the first escalation every consultative route of the
chain (group, then contact) is asked at once, and the referral starts
``referral_patience_hours`` later (at once when nobody could be asked). Patience is
log-normal per case (:func:`draw_patience`); with ``patience_log_sd = 0`` it is the
fixed median and no random number is drawn.
"""

from __future__ import annotations

import numpy as np

from ...arrays import sorted_copy, unique_first
from ...population import SPECIALTIES
from ..trust.process import no_context
from .config import CONTACT, GROUP, N_CASE_SPEC, NONE, REFERRAL, ROUTES, DiagnosisConfig
from .escalation_kernels import escalate_due
from .kernels import best_contacts, choose_groups, contact_candidates, csr_total, due_cases, eligible_members
from .resolution_kernels import without_ids
from .staff import Staff
from .state import DxState

__all__ = ["GroupStock", "Router", "chain_next", "draw_patience"]

_NO_FACTOR = np.zeros(0)  # contacts scored without trust
_NO_KEYS = np.zeros(0, np.int64)  # (contact_candidates: no keys made in the step; every case searched)
#: the group stock's arrays before it is made (of the types of those made: one compiled escalation)
_NO_STOCK = (
    np.zeros((0, len(SPECIALTIES)), np.int64), np.zeros((0, len(SPECIALTIES))), np.zeros(0, np.int64), np.zeros(0),
)  # fmt: skip


def _leave_open(st: DxState, referred: np.ndarray) -> None:
    """At a referral a case waits for its visit (:func:`.resolution_kernels.diagnose_due`
    takes it from the queue) or an answer: it leaves the cases that escalate, which every
    step scans."""
    st.open_ids = without_ids(st.open_ids, sorted_copy(referred))


def chain_next(cfg: DiagnosisConfig) -> np.ndarray:
    """next_route[code + 1] for codes NONE..REFERRAL (NONE when the chain ends)."""
    names: list[str] = list(cfg.routes)
    off = set() if cfg.groups else {"group", "contact"}
    out = np.full(len(ROUTES) + 1, NONE, np.int8)
    for code in range(NONE, len(ROUTES)):
        if code >= 0 and ROUTES[code] in names:
            after = names[names.index(ROUTES[code]) + 1 :]
        else:
            after = [r for r in names if ROUTES.index(r) > code]
        after = [r for r in after if r != "local" and r not in off]
        out[code + 1] = ROUTES.index(after[0]) if after else NONE
    return out


def draw_patience(rng: np.random.Generator, cfg: DiagnosisConfig, hours: float, tier: np.ndarray) -> np.ndarray:
    """Patience in days per case: median ``hours x patience_tier_factor[tier]``, times
    ``exp(patience_log_sd * Z)`` with Z standard normal (no draw when the spread is 0)."""
    f = cfg.patience_tier_factor
    factor = np.array([f.primary, f.secondary, f.tertiary])[np.asarray(tier, np.int64)]
    median = hours * factor / 24.0
    if cfg.patience_log_sd > 0 and median.size:
        return median * np.exp(cfg.patience_log_sd * rng.standard_normal(median.size))
    return median


class GroupStock:
    """Per group and case specialty: eligible members and the sum of their expertise.

    Eligible: unmuted, of an answering role. Made again when the answering roles change;
    when the network changed (the daily invitations, mutes and departures), made again for
    the groups whose rows changed alone (``net.changed_since``), unless the answering flags
    or the expertise changed too; at a new day otherwise (an intervention may have changed
    expertise) only if the mutes, the answering flags or the expertise differ from those it
    was made from.
    """

    def __init__(self) -> None:
        self.key: tuple | None = None
        self.day: int | None = None
        self._made_from: tuple[np.ndarray, ...] = ()
        self._full: tuple[np.ndarray, ...] = ()  # count and skill of every specialty, count_all, skill_all

    def update(self, net, pop, staff: Staff, day: int | None) -> None:
        key = (id(net), net.version, staff.roles)
        if key == self.key and (day == self.day or self._same_inputs(net, pop, staff)):
            self.day = day
            return
        from .kernels import group_stock, restock_groups

        changed = None  # the groups to make again (None: every group)
        if (
            self.key is not None
            and self.key[0] == key[0]  # the same network
            and self.key[1] != net.version  # (the same rows, yet some input changed: all of them)
            and self.key[2] == staff.roles
            and self._same_people(pop, staff)
        ):
            changed = net.changed_since(self.key[1])
        if changed is None:
            self._full = group_stock(
                net.m_clinician, net.m_group, net.m_muted, staff.answering, pop.specialty, pop.expertise,
                net.n_groups, len(SPECIALTIES),
            )  # fmt: skip
        else:  # the groups not changed keep their sums (their rows, and what they are made of, are as they were)
            self._cover(net.n_groups)
            restock_groups(
                changed, net.g_indptr, net.m_clinician, net.m_muted, staff.answering, pop.specialty, pop.expertise,
                self._full,
            )  # fmt: skip
        count, skill, self.count_all, self.skill_all = self._full
        self.count, self.skill = count[:, :N_CASE_SPEC], skill[:, :N_CASE_SPEC]
        self.key, self.day = key, day
        self._made_from = (net.m_muted.copy(), staff.answering.copy(), pop.expertise.copy())

    def arrays(self) -> tuple[np.ndarray, ...]:
        """``count``, ``skill`` (every specialty's column, as made), ``count_all`` and
        ``skill_all``, as the compiled escalation takes them (empty before the stock is made)."""
        return self._full if self._full else _NO_STOCK

    def _cover(self, n_groups: int) -> None:
        """Room in the sums for the groups created since they were made (empty: zeros)."""
        have = self._full[2].size
        if n_groups > have:
            self._full = tuple(
                np.concatenate([a, np.zeros((n_groups - have, *a.shape[1:]), a.dtype)]) for a in self._full
            )

    def _same_people(self, pop, staff: Staff) -> bool:
        """Whether the answering flags and the expertise are as when the stock was made."""
        return np.array_equal(staff.answering, self._made_from[1]) and np.array_equal(pop.expertise, self._made_from[2])

    def _same_inputs(self, net, pop, staff: Staff) -> bool:
        """Whether what the stock is made of, besides the memberships, is as when it was made."""
        return np.array_equal(net.m_muted, self._made_from[0]) and self._same_people(pop, staff)


class Router:
    """Moves due cases along their chain of routes."""

    #: escalate in one compiled pass (:func:`.escalation_kernels.escalate_due`) where it can; the
    #: tests turn it off to compare with the numpy path
    compiled = True

    def __init__(self) -> None:
        self.stock = GroupStock()
        self._chain: tuple[tuple, np.ndarray] | None = None  # chain_next, for the routes it was made for

    def _next_routes(self, cfg: DiagnosisConfig) -> np.ndarray:
        key = (tuple(cfg.routes), cfg.groups)
        if self._chain is None or self._chain[0] != key:
            self._chain = (key, chain_next(cfg))
        return self._chain[1]

    def escalate(
        self, st: DxState, cfg: DiagnosisConfig, model, staff: Staff, day: int | None, t1: float
    ) -> np.ndarray:
        """Move due cases to their next route; returns the cases that entered referral."""
        C, row = st.cases, st.rows  # a case's row in the case table
        referred = []
        due, tau = due_cases(st.open_ids, *st.row_lookup(), C["t_esc"], t1)  # and their due times
        if due.size == 0:
            return np.zeros(0, np.int64)
        nxt_of = self._next_routes(cfg)
        if self._compiles(st, cfg):
            return self._escalate_compiled(st, cfg, model, staff, day, t1, due, tau, nxt_of)
        parallel = cfg.escalation == "parallel"
        tier = model.pop.fac_tier
        for _ in range(len(ROUTES) + 2):
            if due.size == 0:
                break
            nxt = nxt_of[C["now"][row(due)].astype(np.int64) + 1]
            C["t_esc"][row(due[nxt == NONE])] = np.inf
            cur = nxt.copy()  # parallel: the route each case asks next in this pass
            posted_any = np.zeros(due.size, bool)
            for code in (GROUP, CONTACT):  # a group always comes before a contact in a chain
                sel = (cur if parallel else nxt) == code
                if not sel.any():
                    continue
                k, kt = due[sel], tau[sel]
                if code == GROUP:
                    posted = self.post_groups(st, cfg, model, staff, day, k, kt)
                else:
                    posted = self.ask_contacts(st, model, staff, k, kt)
                C["now"][row(k)] = code
                first = posted & np.isnan(C["t_first_request"][row(k)])
                C["t_first_request"][row(k[first])] = kt[first]
                if parallel:
                    posted_any[sel] |= posted
                    cur[sel] = nxt_of[code + 1]
                    continue
                follow = nxt_of[code + 1] != NONE
                hours = cfg.group_patience_hours if code == GROUP else cfg.contact_patience_hours
                patience = draw_patience(st.rng, cfg, hours, tier[C["facility"][row(k)]])
                C["t_esc"][row(k)] = np.where(posted, kt + patience if follow else np.inf, kt)
            if parallel:
                asked = cur != nxt  # went through the consultative routes in this pass
                k, kt = due[asked], tau[asked]
                wait = draw_patience(st.rng, cfg, cfg.referral_patience_hours, tier[C["facility"][row(k)]])
                C["t_esc"][row(k)] = np.where(cur[asked] == NONE, np.inf, np.where(posted_any[asked], kt + wait, kt))
                sel = (nxt == REFERRAL) & ~asked
            else:
                sel = nxt == REFERRAL
            if sel.any():
                k = due[sel]
                C["now"][row(k)] = REFERRAL
                C["t_ref_entry"][row(k)] = tau[sel]
                C["t_esc"][row(k)] = np.inf
                referred.append(k)
            # the next pass: only the cases of this one can be due again (the others' times stand)
            due, tau = due_cases(due, *st.row_lookup(), C["t_esc"], t1)
        if not referred:
            return np.zeros(0, np.int64)
        out = np.concatenate(referred)
        _leave_open(st, out)
        return out

    def _compiles(self, st: DxState, cfg: DiagnosisConfig) -> bool:
        """Whether :meth:`escalate` runs as one compiled pass: patience fixed, and a group (if
        any) asked before a contact, so that group posts happen in the first pass alone (the
        stock is brought up to date before it)."""
        routes = list(cfg.routes)
        contact_first = "contact" in routes and "group" in routes and routes.index("contact") < routes.index("group")
        return self.compiled and cfg.patience_log_sd == 0 and not contact_first

    def _escalate_compiled(
        self, st: DxState, cfg: DiagnosisConfig, model, staff: Staff, day: int | None, t1: float, due, tau, nxt_of
    ) -> np.ndarray:
        """:meth:`escalate` in one compiled pass (:func:`.escalation_kernels.escalate_due`),
        the requests and pairs appended at the end."""
        C, net, pop = st.cases, model.net, model.pop
        # the group stock is brought up to date where the numpy path does it: before a group
        # post (only in the first pass: routes only move on, and a group comes first)
        if (nxt_of[C["now"][st.rows(due)].astype(np.int64) + 1] == GROUP).any():
            self.stock.update(net, pop, staff, day)
        G, f = self.stock, cfg.patience_tier_factor
        asked, recent = st.asked_keys()
        if st.trust is not None and st.trust.config.routing:  # the askers' trust weighs the contacts
            trust = (True, *st.trust.context(), float(st.trust.config.reference))
        else:
            trust = (False, *no_context(model), 1.0)
        made = escalate_due(
            due, tau, *st.row_lookup(),
            (C["now"], C["t_esc"], C["t_first_request"], C["t_ref_entry"], C["asker"], C["spec"], C["quality"],
             C["facility"]),
            nxt_of, cfg.escalation == "parallel", pop.fac_tier, np.array([f.primary, f.secondary, f.tertiary]),
            np.array([cfg.group_patience_hours, cfg.contact_patience_hours, cfg.referral_patience_hours], float),
            (net.c_indptr, net.c_groups, net.g_indptr, net.g_members, net.m_muted, net.c_muted),
            G.arrays(),
            (staff.answering, pop.specialty, pop.expertise, pop.tier),
            (cfg.group_answerers == "any", float(cfg.off_specialty_factor), int(cfg.groups_per_request),
             int(cfg.max_answers_per_request), st.n, float(t1)),
            (model.contacts.indptr, model.contacts.neighbors), asked, recent, st.rng_ref, trust,
        )  # fmt: skip
        case, route, group, t_post, slots, quality, p_req, p_exp, p_case, out = made
        if case.size:
            req = st.add_requests(case=case, route=route, group=group, t_post=t_post, slots=slots, quality=quality)
            st.add_pairs(req[p_req], p_exp, p_case)
            st.counters["requests"] += int(case.size)
        if out.size:
            _leave_open(st, out)
        return out

    def post_groups(
        self,
        st: DxState,
        cfg: DiagnosisConfig,
        model,
        staff: Staff,
        day: int | None,
        cases: np.ndarray,
        tau: np.ndarray,
    ) -> np.ndarray:
        """Post each case in the asker's group(s) with the most expertise for it; True where posted.

        A group's stock for a case is the summed expertise of the members who may answer
        it (off-specialty members at ``off_specialty_factor`` when ``group_answerers =
        "any"``), the asker excluded: clinicians know who is in their groups.
        """
        net, pop, C, rng = model.net, model.pop, st.cases, st.rng
        posted = np.zeros(cases.size, bool)
        G = self.stock
        G.update(net, pop, staff, day)
        asker, spec = C["asker"][st.rows(cases)], C["spec"][st.rows(cases)].astype(np.int64)
        n_rows = csr_total(net.c_indptr, asker)  # the askers' memberships
        if n_rows == 0:
            return posted
        k, g = choose_groups(
            (net.c_indptr, net.c_groups, net.g_indptr, net.g_members, net.m_muted, net.c_muted),
            staff.answering, pop.specialty, pop.expertise,
            (G.count, G.skill, G.count_all, G.skill_all), asker, spec, rng.random(n_rows),
            cfg.group_answerers == "any", float(cfg.off_specialty_factor), int(cfg.groups_per_request),
        )  # fmt: skip
        if k.size == 0:
            return posted
        # members of the chosen groups who may answer (kk: index into the chosen (case, group))
        kk, member = eligible_members(
            net.g_indptr, net.g_members, net.m_muted, staff.answering, pop.specialty, g, asker[k], spec[k],
            cfg.group_answerers != "any",
        )  # fmt: skip
        # one request per chosen (case, group); one pair per (case, member)
        case_of = cases[k[kk]].astype(np.int64)
        _, first = unique_first(case_of * pop.n + member)  # as np.unique(return_index=True), faster
        kk, member = kk[first], member[first]
        req = st.add_requests(
            case=cases[k],
            route=GROUP,
            group=g,
            t_post=tau[k],
            slots=cfg.max_answers_per_request,
            quality=C["quality"][st.rows(cases[k])],
        )
        st.add_pairs(req[kk], member, case_of[first])
        posted[k] = True
        st.counters["requests"] += int(k.size)
        return posted

    def ask_contacts(self, st: DxState, model, staff: Staff, cases: np.ndarray, tau: np.ndarray) -> np.ndarray:
        """Message the best contact at a higher tier (specialty first, then expertise) who
        has not been asked about the case already (in a group): each opinion counts once."""
        pop, contacts, C = model.pop, model.contacts, st.cases
        posted = np.zeros(cases.size, bool)
        asker, spec = C["asker"][st.rows(cases)], C["spec"][st.rows(cases)]
        if csr_total(contacts.indptr, asker) == 0:
            return posted
        k, nb = contact_candidates(
            cases, asker, contacts.indptr, contacts.neighbors, pop.tier, staff.answering, st.n, *st.asked_keys(),
            _NO_KEYS, _NO_KEYS,
        )  # fmt: skip
        if k.size == 0:
            return posted
        factor = _NO_FACTOR
        if st.trust is not None and st.trust.config.routing:  # the asker's trust in each contact
            factor = st.trust.factor(asker[k], nb, -1)
        pick = best_contacts(k, nb, spec, pop.specialty, pop.expertise, factor, st.rng.random(k.size))
        k, nb = k[pick], nb[pick]
        req = st.add_requests(
            case=cases[k], route=CONTACT, group=-1, t_post=tau[k], slots=1, quality=C["quality"][st.rows(cases[k])]
        )
        st.add_pairs(req, nb, cases[k])
        posted[k] = True
        st.counters["requests"] += int(k.size)
        return posted
