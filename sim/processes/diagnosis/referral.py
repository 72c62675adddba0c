"""Referral: where a referred patient goes, and the booking of the visit there."""

from __future__ import annotations

import numpy as np

from .care import NO_CARE
from .config import N_CASE_SPEC, DiagnosisConfig
from .referral_kernels import book_and_judge
from .staff import Staff
from .state import DxState

__all__ = ["Referrals"]


class Referrals:
    """Destination and hops per (facility, specialty, equipment need); the booking queue
    of every receiving facility."""

    def __init__(self, pop) -> None:
        self.next_slot = np.full(pop.n_facilities, -np.inf)  # first free slot per facility
        self._build_table(pop)

    def _build_table(self, pop) -> None:
        """Up the parent chain to the first domestic facility with the specialty and the
        equipment; past the top, the largest capable domestic tertiary facility (a
        provincial centre) one hop beyond the top."""
        n_fac = pop.n_facilities
        domestic = ~pop.fac_abroad
        depth = np.zeros(n_fac, np.int8)
        cur = np.arange(n_fac)
        for _ in range(16):
            par = pop.fac_parent[cur]
            alive = par >= 0
            if not alive.any():
                break
            depth += alive
            cur = np.where(alive, par, cur)
        self.dest = np.full((n_fac, N_CASE_SPEC, 3), -1, np.int32)
        self.hops = np.zeros((n_fac, N_CASE_SPEC, 3), np.int8)
        beds = pop.fac_beds.astype(float)
        for s in range(N_CASE_SPEC):
            for k in range(3):
                capable = domestic & pop.fac_specialties[:, s] & (pop.fac_equipment >= k + 1)
                dest = np.full(n_fac, -1, np.int32)
                hops = np.zeros(n_fac, np.int8)
                cur = np.arange(n_fac)
                for h in range(1, 17):
                    par = pop.fac_parent[cur]
                    alive = par >= 0
                    if not alive.any():
                        break
                    cur = np.where(alive, par, cur)
                    hit = alive & (dest < 0) & capable[cur]
                    dest[hit], hops[hit] = cur[hit], h
                for pool in (
                    capable & (pop.fac_tier == 2),
                    capable,
                    domestic & (pop.fac_tier == 2),
                    domestic,
                    np.ones(n_fac, bool),
                ):
                    if pool.any():
                        break
                centres = np.flatnonzero(pool)
                centres = centres[np.argsort(-beds[centres], kind="stable")]
                rest = dest < 0
                first = np.full(n_fac, centres[0])
                if centres.size > 1:
                    first = np.where(np.arange(n_fac) == centres[0], centres[1], centres[0])
                dest[rest] = first[rest]
                hops[rest] = depth[rest] + 1
                self.dest[:, s, k], self.hops[:, s, k] = dest, hops

    def book(self, st: DxState, cfg: DiagnosisConfig, staff: Staff, pop, cases: np.ndarray) -> None:
        """Book referral visits in the order the referrals are made (first come, first booked);
        the visit's diagnosis is drawn now (a clinician of the specialty there, in person,
        judging with their information state: :mod:`.care`). One compiled pass
        (:func:`.referral_kernels.book_and_judge`)."""
        if cases.size == 0:
            return
        C = st.cases
        cases, when = book_and_judge(
            cases,
            *st.row_lookup(),
            (C["t_ref_entry"], C["facility"], C["spec"], C["need"], C["ref_facility"], C["ref_hops"], C["t_ref_dx"],
             C["concerns"], C["difficulty"], C["ref_correct"]),
            (self.dest, self.hops, float(cfg.referral_hop_travel_days), float(cfg.referral_lead_days),
             float(cfg.referral_slots_per_100_beds_per_day), pop.fac_beds, self.next_slot,
             float(cfg.off_specialty_factor), cfg.local_workup_hours / 24.0),
            staff.treating_lists(),
            st.rng_ref,
            (pop.expertise, pop.specialty, pop.fac_equipment, pop.fac_tier),
            NO_CARE if st.care is None else st.care.judge_inputs(cfg, 2),
            (float(cfg.image_penalty), float(cfg.equipment_penalty), float(cfg.accuracy_slope), int(st.n_labels)),
        )  # fmt: skip
        st.book_visits(cases, when)
        st.counters["referrals"] += int(cases.size)
