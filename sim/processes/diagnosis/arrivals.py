"""New cases: Poisson arrivals per facility, drawn a day ahead, and the local decision.

Arrivals come from their own stream (``diagnosis.arrivals``) in blocks of
:data:`~.config.ARRIVAL_BLOCK_DAYS`, whatever the step: the cases of a run (and their
local outcome) do not depend on the step length or on any other process. Rates are
read when a block is drawn, so a changed rate takes effect with the next day's block.
"""

from __future__ import annotations

import numpy as np

from ...schema import TIERS
from ...table import Table
from .arrival_kernels import decide_locally
from .care import H_BELIEVES, CareLink
from .combining import p_correct
from .config import ARRIVAL_BLOCK_DAYS, CASE_SPECIALTIES, LOCAL, N_CASE_SPEC, DiagnosisConfig
from .staff import Staff
from .state import DxState

__all__ = ["Arrivals", "case_rates"]

BLOCK_SPEC = {
    "facility": np.int32,
    "t_arrival": np.float64,
    "spec": np.int8,
    "difficulty": np.float32,
    "need": np.int8,
    "asker": np.int32,
    "quality": np.float32,
    "u_local": np.float64,
}


#: what the local decision reads of a new case's block row (in :func:`.arrival_kernels.local_decisions`' order)
_DECISION_INPUTS = ("facility", "t_arrival", "spec", "difficulty", "need", "asker")
#: the case columns a new case takes from its block row
_CASE_FROM_BLOCK = (*_DECISION_INPUTS, "quality")


def case_rates(cfg: DiagnosisConfig, pop) -> np.ndarray:
    """Cases per day at each facility under the current settings."""
    per_bed = np.array([getattr(cfg.case_rate_per_100_beds_per_day, t) for t in TIERS])
    per_fac = np.array([getattr(cfg.case_rate_per_facility_per_day, t) for t in TIERS])
    rate = per_fac[pop.fac_tier] + per_bed[pop.fac_tier] * pop.fac_beds / 100.0
    if not cfg.cases_abroad:
        rate = np.where(pop.fac_abroad, 0.0, rate)
    return rate


class Arrivals:
    """The cases drawn ahead and not yet arrived."""

    #: decide on the new cases in one compiled pass (:func:`.arrival_kernels.decide_locally`)
    #: where the chain starts with the local route and care's hooks are set; the tests turn
    #: it off to compare with the numpy path
    compiled = True

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.pending = Table(BLOCK_SPEC)  # in order of arrival
        self.next = 0  # first row of ``pending`` not yet arrived
        self.blocks_drawn = 0

    def _draw_block(self, cfg: DiagnosisConfig, pop, staff: Staff, start: float, length: float) -> None:
        """Draw the cases arriving in [start, start + length) with the rates in force now."""
        rng = self.rng
        counts = rng.poisson(case_rates(cfg, pop) * length)
        m = int(counts.sum())
        if m == 0:
            return
        fac = np.repeat(np.arange(pop.n_facilities, dtype=np.int32), counts)
        times = start + rng.random(m) * length
        w = np.array([cfg.specialty_weights.get(s, 0.0) for s in CASE_SPECIALTIES])
        spec = rng.choice(N_CASE_SPEC, size=m, p=w / w.sum()).astype(np.int8)
        mu, kappa = cfg.difficulty_mean, cfg.difficulty_concentration
        mu = min(max(mu, 1e-3), 1 - 1e-3)
        diff = rng.beta(mu * kappa, (1 - mu) * kappa, size=m).astype(np.float32)
        need_p = np.asarray(cfg.equipment_need) / sum(cfg.equipment_need)
        need = (1 + rng.choice(3, size=m, p=need_p)).astype(np.int8)
        asker = staff.pick_treating(fac, spec, rng.random(m))
        quality = np.where(rng.random(m) < cfg.screenshot_share, cfg.screenshot_quality, cfg.image_quality)
        u_local = rng.random(m)
        o = np.argsort(times, kind="stable")  # case ids in order of arrival
        B = self.pending
        B.keep(np.arange(len(B)) >= self.next)  # drop the cases that have arrived
        self.next = 0
        B.append(
            facility=fac[o],
            t_arrival=times[o],
            spec=spec[o],
            difficulty=diff[o],
            need=need[o],
            asker=asker[o],
            quality=quality[o],
            u_local=u_local[o],
        )

    def admit(self, st: DxState, cfg: DiagnosisConfig, pop, staff: Staff, t0: float, dt: float) -> None:
        """The cases arriving in [t0, t0 + dt): into the case table, diagnosed locally at
        ``arrival + local_workup_hours`` when the asker can, else due to escalate then."""
        t1 = t0 + dt
        while self.blocks_drawn * ARRIVAL_BLOCK_DAYS < t1 - 1e-12:
            self._draw_block(cfg, pop, staff, self.blocks_drawn * ARRIVAL_BLOCK_DAYS, ARRIVAL_BLOCK_DAYS)
            self.blocks_drawn += 1
        B, i = self.pending, self.next
        if len(B) == i or B["t_arrival"][i] >= t1:
            return
        j = int(B["t_arrival"].searchsorted(t1, side="left"))
        k, self.next = j - i, j
        new = {key: B[key][i:j] for key in BLOCK_SPEC}  # views, used before ``pending`` changes
        ids = st.add_cases(**{key: new[key] for key in _CASE_FROM_BLOCK})
        C, row = st.cases, st.rows(ids)
        st.counters["cases"] += k
        st.new_cases_since_record += k
        care = st.care
        if self.compiled and care is not None and cfg.routes and cfg.routes[0] == "local":
            self._decide_compiled(st, cfg, pop, care, new, ids, row)
            return
        fac, times, spec, diff, need, asker = (new[key] for key in _DECISION_INPUTS)
        skill = pop.expertise[asker] * np.where(pop.specialty[asker] == spec, 1.0, cfg.off_specialty_factor)
        C["asker_skill"][row] = skill
        workup = cfg.local_workup_hours / 24.0
        # which guidelines and rumors concern the new cases, and the treating clinicians' states
        states = care.tag(st, cfg, ids) if care is not None else None
        if cfg.routes and cfg.routes[0] == "local":
            shifts = care.shift(st, cfg, ids, asker, states) if care is not None else None
            gain = shifts[0] if shifts is not None else 0.0  # a believer decides on the skill they think they have
            can = (skill + gain >= diff) & (pop.fac_equipment[fac] >= need)
            loc = ids[can]
            C["now"][row] = LOCAL
            C["t_dx"][row[can]] = times[can] + workup
            C["route"][row[can]] = LOCAL
            no_lack, sharp = np.zeros(can.sum(), bool), np.ones(can.sum())
            if care is None or shifts is None:
                p = p_correct(cfg, st.n_labels, skill[can], diff[can], no_lack, sharp)
                C["correct"][row[can]] = (new["u_local"][can] < p).astype(np.int8)
            else:
                mine = tuple(x[can] for x in shifts)
                tier = pop.fac_tier[fac[can]]
                _, ok = care.judge(
                    st, cfg, 0, loc, asker[can], skill[can], no_lack, sharp, new["u_local"][can], tier, mine
                )
                C["correct"][row[can]] = ok.astype(np.int8)
            st.counters["resolved"] += int(loc.size)
            held = care.delay(st, cfg, ids[~can]) if care is not None else 0.0
            C["belief_delay"][row[~can]] = held
            C["t_esc"][row[~can]] = times[~can] + workup + held
            consult = ids[~can]
        else:
            C["t_esc"][row] = times
            consult = ids
        st.open_ids = np.concatenate([st.open_ids, consult])

    def _decide_compiled(
        self, st: DxState, cfg: DiagnosisConfig, pop, care: CareLink, new: dict, ids: np.ndarray, row: np.ndarray
    ) -> None:
        """The local decision on the new cases ``ids`` (at ``row``) in one compiled pass
        (:func:`.arrival_kernels.decide_locally`: the decisions, then the judgments, as
        ``CareLink.judge`` makes them)."""
        C, k = st.cases, ids.size
        fx = cfg.information_effects
        can, consult, held = decide_locally(
            row,
            tuple(new[key] for key in _DECISION_INPUTS),
            new["u_local"],
            (pop.expertise, pop.specialty, pop.fac_equipment),
            (C["asker_skill"], C["concerns"], C["h_info"], C["now"], C["t_dx"], C["route"], C["belief_delay"],
             C["t_esc"]),
            care.rng_ref,
            care.tag_inputs(cfg),
            (care.active(cfg), float(fx.adopted_skill_gain), float(fx.believer_skill_loss),
             fx.believer_delay_hours / 24.0, H_BELIEVES),
            (float(cfg.off_specialty_factor), cfg.local_workup_hours / 24.0, float(cfg.image_penalty),
             float(cfg.equipment_penalty), float(cfg.accuracy_slope)),
            (pop.fac_tier, C["correct"], int(st.n_labels), care.harm_wrong[0], care.judged_believing[0],
             care.benefit_right[0]),
        )  # fmt: skip
        st.counters["resolved"] += int(can.size)
        if care.active(cfg) and k:
            care.held_back = np.concatenate([care.held_back, ids[held]])
        st.open_ids = np.concatenate([st.open_ids, ids[consult]])
