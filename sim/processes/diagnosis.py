"""Diagnostic requests: from a hard case at a township clinic to a diagnosis.

A case arrives at a facility (Poisson in continuous time), with a specialty, a
difficulty and an equipment need. Its treating clinician works along a chain of
**routes** (``routes``, default local -> group -> contact -> referral):

* **local**: diagnosed on the spot when the clinician's expertise for the case's
  specialty covers its difficulty and the facility has the equipment it needs;
* **group**: photos posted in the asker's group(s) with the most members of the
  specialty; members read at their chat openings, answer when available and willing;
* **contact**: a 1-on-1 message to a contact at a higher tier (Theme 10);
* **referral**: the patient travels up the hierarchy to the first facility with the
  specialty and equipment and waits for a slot there (days).

With no accepted answer within a route's patience the case moves to the next route;
earlier requests stay open (a late group answer still counts). The case is diagnosed
at the first of: an accepted combination of answers, or the referral visit.

One step ``[t0, t1)`` (all draws from the ``diagnosis`` streams; event times are
continuous, not rounded to steps):

1. new cases: Poisson counts per facility, uniform times in the step
   (``diagnosis.arrivals`` stream: the same cases whatever else changes); the local
   decision at ``arrival + local_workup_hours``;
2. escalation: cases whose next route is due before ``t1`` post a request (group or
   1-on-1) or are referred, at the exact due time; a route without anyone to ask is
   skipped at once;
3. reading: each member asked opens the chats as a Poisson process whose rate is
   ``activity.read_rate`` (x ``offhours_engagement`` outside work hours; on-call
   members read at ``reads_per_hour``); a request is read at the first opening after
   it was posted (``read_delay = "none"``: at once), and the reader decides once
   whether to answer (``group_answer_prob`` / ``contact_answer_prob``, lowered by
   burnout; a member at the daily cap does not read requests until the next day);
4. answering: willing readers answer one request at a time, oldest first, each taking
   an answer time (``answer_mean_minutes``); a request takes at most
   ``max_answers_per_request`` answers. Matching is exact within the step (rounds of
   mutually earliest expert/request pairs, see ``_match``);
5. combining and resolving: answers completed before ``t1`` are combined in the order
   they arrive; the asker accepts the leading diagnosis once its posterior reaches
   ``accept_confidence``; referral visits booked at the escalation time resolve cases
   still open.

The one within-step approximation: an answer started, or an escalation made, in the
same step as but after the case's diagnosis is not withdrawn (the asker's "solved"
would have stopped it). Such answers do not count towards the diagnosis and are
counted in ``dx_answers_after_diagnosis``; they vanish as the step shrinks. Work hours
(availability) and reading rates change at step boundaries (exact when the step
divides an hour).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from ..activity import at_work, read_rate
from ..clock import in_hours
from ..interventions import Intervention, register_intervention
from ..population import SPECIALTIES
from ..schema import ROLES, TIERS, NonNegative, Positive, Probability, Section
from ..arrays import csr_rows as _csr_rows, sorted_member as _sorted_member
from .base import Process, register
from .diagnosis_survival import km_quantile, km_share_by

__all__ = ["DiagnosisConfig", "DiagnosisProcess", "OncallRoster", "ROUTES", "CASE_SPECIALTIES",
           "combine_posterior", "first_at_or_after"]

ROUTES = ("local", "group", "contact", "referral")
NONE, LOCAL, GROUP, CONTACT, REFERRAL = -1, 0, 1, 2, 3
CASE_SPECIALTIES = SPECIALTIES[:10]          # nine clinical specialties and laboratory
N_CASE_SPEC = len(CASE_SPECIALTIES)
PENDING, QUEUED = 0, 1                       # state of a (request, member) pair
ARRIVAL_BLOCK_DAYS = 1.0                     # cases are drawn a day ahead
Route = Literal["local", "group", "contact", "referral"]
Role = Literal["doctor", "nurse", "lab_technician", "pharmacist", "public_health_admin"]
CaseSpecialty = Literal[CASE_SPECIALTIES]  # type: ignore[valid-type]


# -------------------------------------------------------------------------- config
class CaseRatesPer100Beds(Section):
    """New diagnostic problems per 100 beds per day, by tier of the facility (assumption:
    primary clinics meet more problems beyond their means per bed; see docs/diagnosis.md)."""

    primary: NonNegative = Field(1.0, description="Cases per 100 beds per day at primary facilities.")
    secondary: NonNegative = Field(0.4, description="Cases per 100 beds per day at secondary facilities.")
    tertiary: NonNegative = Field(0.2, description="Cases per 100 beds per day at tertiary facilities.")


class CaseRatesPerFacility(Section):
    """New diagnostic problems per facility per day, added to the per-bed rate."""

    primary: NonNegative = Field(0.0, description="Cases per day at each primary facility.")
    secondary: NonNegative = Field(0.0, description="Cases per day at each secondary facility.")
    tertiary: NonNegative = Field(0.0, description="Cases per day at each tertiary facility.")


def _default_specialty_weights() -> dict[str, float]:
    # Specialties named in Tso 2022 (dermatology photos, STI clinics, oncology, surgery,
    # chronic illness, general medicine) plus specimen readings by lab technicians
    # (Themes 7-8). Shares are an assumption.
    return {"general_medicine": 0.10, "dermatology": 0.20, "surgery": 0.10, "chronic_illness": 0.10,
            "sti": 0.10, "oncology": 0.10, "infectious_disease": 0.10, "pediatrics": 0.05,
            "radiology": 0.05, "laboratory": 0.10}


class DiagnosisConfig(Section):
    enabled: bool = Field(True, description="Run the diagnostic-request process (docs/diagnosis.md).")
    # ---- arrivals
    case_rate_per_100_beds_per_day: CaseRatesPer100Beds = Field(default_factory=CaseRatesPer100Beds)
    case_rate_per_facility_per_day: CaseRatesPerFacility = Field(default_factory=CaseRatesPerFacility)
    cases_abroad: bool = Field(False, description="Facilities abroad also receive cases.")
    specialty_weights: dict[CaseSpecialty, NonNegative] = Field(
        default_factory=_default_specialty_weights,
        description="Relative frequency of each case specialty (unlisted: 0).")
    difficulty_mean: Probability = Field(0.45, description="Mean of the Beta case difficulty (0-1).")
    difficulty_concentration: Positive = Field(5.0, description="a + b of the Beta difficulty.")
    equipment_need: tuple[Probability, Probability, Probability] = Field(
        (0.6, 0.3, 0.1), description="Probabilities that a case needs equipment level 1, 2, 3.")
    # ---- routes
    routes: list[Route] = Field(
        default_factory=lambda: ["local", "group", "contact", "referral"],
        description="The chain a case follows; 'local' only first, 'referral' only last.")
    groups: bool = Field(
        True, description="Counterfactual switch: false = no chat consultation (group and 1-on-1 "
                          "routes removed), formal referral only.")
    local_workup_hours: NonNegative = Field(
        0.5, description="Time of the local assessment (and of the visit at a referral facility).")
    off_specialty_factor: Probability = Field(
        0.6, description="Expertise multiplier for a case outside one's specialty.")
    answer_roles: list[Role] = Field(
        default_factory=lambda: ["doctor", "lab_technician"], description="Roles that answer requests.")
    group_answerers: Literal["specialty", "any"] = Field(
        "specialty", description="Who may answer a group post: members of the case's specialty, or any "
                                 "member of an answering role (off-specialty expertise reduced).")
    groups_per_request: int = Field(1, ge=1, le=20, description="Groups a request is posted in.")
    group_patience_hours: NonNegative = Field(
        24.0, description="Wait for an accepted group answer before the next route (seed 004: "
                          "replies usually within 24 h).")
    contact_patience_hours: NonNegative = Field(24.0, description="Wait for the 1-on-1 contact.")
    # ---- reading and answering
    read_delay: Literal["openings", "none"] = Field(
        "openings", description="'openings': read at the member's next chat opening; 'none': at once.")
    offhours_engagement: Probability = Field(
        0.3, description="Share of chat openings outside work hours at which a member acts on requests.")
    group_answer_prob: Probability = Field(
        0.17, description="A reader who may answer a group post does (calibrated: a group of 41 specialists "
                          "then answers in a median 54 min, 52% within an hour; Carmona et al. 2018: 52 min, 53%).")
    contact_answer_prob: Probability = Field(0.8, description="A contact answers a 1-on-1 request.")
    max_answers_per_request: int = Field(5, ge=1, le=500, description="Answers a request takes at most.")
    answer_mean_minutes: Positive = Field(10.0, le=24 * 60, description="Mean time to write an answer.")
    answer_time: Literal["exponential", "fixed"] = Field(
        "exponential", description="Distribution of the time to write an answer (mean answer_mean_minutes).")
    answer_cap_per_day: int = Field(0, ge=0, le=10_000, description="Answers per expert per day; 0 = no cap.")
    # ---- accuracy
    n_wrong_diagnoses: int = Field(3, ge=1, le=100, description="Distinct wrong answers (K); guessing is right 1/(K+1).")
    accuracy_slope: Positive = Field(0.1, le=10, description="Logistic width w of accuracy in (skill - difficulty).")
    equipment_penalty: NonNegative = Field(0.2, le=2, description="Skill lost when the answerer's facility lacks the equipment.")
    image_penalty: NonNegative = Field(0.5, le=2, description="Skill lost per unit of image quality missing.")
    image_quality: Probability = Field(0.9, description="Quality of photos posted in a chat.")
    screenshot_share: Probability = Field(0.2, description="Cases whose material travels as screenshots.")
    screenshot_quality: Probability = Field(0.6, description="Quality of material forwarded as screenshots.")
    media_purge_days: NonNegative = Field(3.0, description="Media read later than this after posting are purged.")
    purged_quality: Probability = Field(0.3, description="Quality left when the media are gone (text only).")
    # ---- combining answers
    combine: Literal["weighted", "majority"] = Field(
        "weighted", description="'weighted': each answer weighs by its confidence; 'majority': equal votes.")
    vote_accuracy: float = Field(0.7, gt=0.0, lt=1.0, description="Accuracy assumed for every vote under 'majority'.")
    accept_confidence: Probability = Field(0.8, description="Posterior of the leading diagnosis needed to accept.")
    min_answers: int = Field(1, ge=1, le=100, description="Answers needed before accepting.")
    # ---- burden
    burnout_sensitivity_per_answer: NonNegative = Field(
        0.05, le=10, description="Willingness x exp(-s B), B = recent off-hours answers.")
    burnout_recovery_days: Positive = Field(14.0, description="Time constant of the decay of B.")
    # ---- referral
    referral_hop_travel_days: NonNegative = Field(1.0, description="Travel per level up the hierarchy.")
    referral_lead_days: NonNegative = Field(2.0, description="Earliest appointment after arriving.")
    referral_slots_per_100_beds_per_day: Positive = Field(
        1.0, description="Referral visits a receiving facility offers per 100 beds per day.")

    @model_validator(mode="after")
    def _check(self):
        r = self.routes
        if not r:
            raise ValueError("routes must name at least one route")
        if len(set(r)) != len(r):
            raise ValueError(f"routes must not repeat, got {r}")
        if "local" in r and r[0] != "local":
            raise ValueError("'local' can only be the first route")
        if "referral" in r and r[-1] != "referral":
            raise ValueError("'referral' can only be the last route (it always ends with a diagnosis)")
        if sum(self.specialty_weights.values()) <= 0:
            raise ValueError("specialty_weights must not all be zero")
        if abs(sum(self.equipment_need) - 1.0) > 1e-6:
            raise ValueError(f"equipment_need must sum to 1, got {sum(self.equipment_need):g}")
        if self.vote_accuracy <= 1.0 / (self.n_wrong_diagnoses + 1):
            raise ValueError("vote_accuracy must exceed the guessing rate 1/(n_wrong_diagnoses + 1)")
        return self


# ------------------------------------------------------------------------- helpers

def _segment_first(keys: np.ndarray) -> np.ndarray:
    """Bool: first element of each run of equal values in a sorted array."""
    out = np.ones(keys.size, bool)
    out[1:] = keys[1:] != keys[:-1]
    return out


def _segment_rank(keys: np.ndarray) -> np.ndarray:
    """Position within each run of equal values of a sorted array."""
    first = _segment_first(keys)
    start = np.maximum.accumulate(np.where(first, np.arange(keys.size), 0))
    return np.arange(keys.size) - start


def _lookup(keys: np.ndarray, values: np.ndarray, query: np.ndarray, default) -> np.ndarray:
    """values[keys == q] for each q (keys sorted and unique), else ``default``."""
    out = np.full(query.size, default, dtype=np.result_type(values, type(default)))
    if keys.size == 0 or query.size == 0:
        return out
    pos = np.minimum(np.searchsorted(keys, query), keys.size - 1)
    hit = keys[pos] == query
    out[hit] = values[pos[hit]]
    return out


def first_at_or_after(owner: np.ndarray, when: np.ndarray, q_owner: np.ndarray,
                      q_time: np.ndarray) -> np.ndarray:
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


def combine_posterior(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(leading label, its posterior) from per-label log-likelihood scores (rows = cases)."""
    s = scores - scores.max(axis=1, keepdims=True)
    p = np.exp(s)
    p /= p.sum(axis=1, keepdims=True)
    lead = np.argmax(p, axis=1)
    return lead, p[np.arange(p.shape[0]), lead]


class _Columns:
    """Named columns that grow by doubling; ``t[name]`` is the view of the rows in use."""

    def __init__(self, spec: dict[str, tuple]):
        self._spec = spec
        self.n = 0
        self._cap = 0
        self._a: dict[str, np.ndarray] = {}
        self._reserve(256)

    def _reserve(self, cap: int) -> None:
        new = {}
        for name, (dtype, fill, *width) in self._spec.items():
            shape = (cap, *width)
            arr = np.full(shape, fill, dtype=dtype)
            if self.n:
                arr[: self.n] = self._a[name][: self.n]
            new[name] = arr
        self._a, self._cap = new, cap

    def add(self, k: int) -> np.ndarray:
        if self.n + k > self._cap:
            self._reserve(max(2 * self._cap, self.n + k))
        ids = np.arange(self.n, self.n + k)
        self.n += k
        return ids

    def __getitem__(self, name: str) -> np.ndarray:
        return self._a[name][: self.n]


def _empty(spec: dict[str, type]) -> dict[str, np.ndarray]:
    return {k: np.zeros(0, v) for k, v in spec.items()}


def _take(d: dict[str, np.ndarray], mask) -> dict[str, np.ndarray]:
    return {k: v[mask] for k, v in d.items()}


def _cat(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([a[k], b[k]]) for k in a}


PAIR_SPEC = {"req": np.int64, "exp": np.int32, "state": np.int8, "ready": np.float64, "quality": np.float32,
             "willing": np.bool_}
ANSWER_SPEC = {"case": np.int64, "req": np.int64, "exp": np.int32, "route": np.int8, "group": np.int32,
               "start": np.float64, "end": np.float64, "label": np.int16, "confidence": np.float32,
               "correct": np.bool_, "offhours": np.bool_, "counted": np.bool_, "after_diagnosis": np.bool_}


# ------------------------------------------------------------------------- process
@register
class DiagnosisProcess(Process):
    name = "diagnosis"

    # ------------------------------------------------------------------ set-up
    def setup(self, model) -> None:
        pop = model.pop
        n, n_fac = pop.n, pop.n_facilities
        self.rng = model.streams("diagnosis")
        self.rng_arrivals = model.streams("diagnosis.arrivals")
        self.n_labels = self.config.n_wrong_diagnoses + 1
        # experts (one entry per clinician)
        self.free_at = np.zeros(n)                   # day from which the clinician can start an answer
        self.burnout = np.zeros(n)                   # recent off-hours answers (decaying)
        self.answers_today = np.zeros(n, np.int32)
        self.n_answers = np.zeros(n, np.int32)
        self.n_offhours = np.zeros(n, np.int32)
        self.answer_minutes = np.zeros(n)
        self.oncall = np.zeros(n, bool)
        self.oncall_reads_per_hour = np.zeros(n)
        self.oncall_answer_prob = np.zeros(n)
        # facilities: referral booking
        self.next_slot = np.full(n_fac, -np.inf)
        self._build_treating_lists(pop)
        self._build_referral_table(pop)
        L = self.n_labels
        self.cases = _Columns({
            "facility": (np.int32, -1), "spec": (np.int8, -1), "difficulty": (np.float32, 0),
            "need": (np.int8, 1), "asker": (np.int32, -1), "asker_skill": (np.float32, 0),
            "quality": (np.float32, 1), "t_arrival": (np.float64, np.nan), "t_dx": (np.float64, np.nan),
            "route": (np.int8, NONE), "correct": (np.int8, -1), "now": (np.int8, NONE),
            "t_esc": (np.float64, np.inf), "t_ref_entry": (np.float64, np.nan),
            "ref_facility": (np.int32, -1), "ref_hops": (np.int8, 0), "t_ref_dx": (np.float64, np.inf),
            "ref_correct": (np.int8, -1), "n_answers": (np.int16, 0), "t_first_request": (np.float64, np.nan),
            "t_first_start": (np.float64, np.nan), "t_first_answer": (np.float64, np.nan),
            "scores": (np.float64, 0.0, L), "lead": (np.int16, -1),
        })
        self.requests = _Columns({
            "case": (np.int64, -1), "route": (np.int8, NONE), "group": (np.int32, -1),
            "t_post": (np.float64, np.nan), "slots": (np.int32, 0), "n_asked": (np.int32, 0),
            "quality": (np.float32, 1),
        })
        self.pairs = _empty(PAIR_SPEC)
        self.inflight = _empty(ANSWER_SPEC)
        self.answer_log: list[dict[str, np.ndarray]] = []
        self.counters = {"cases": 0, "resolved": 0, "referrals": 0, "answers": 0, "offhours": 0,
                         "declined": 0, "after_diagnosis": 0, "requests": 0}
        self._new_cases_since_record = 0
        self.open_ids = np.zeros(0, np.int64)     # consulting cases not yet diagnosed (sorted)
        self.open_reqs = np.zeros(0, np.int64)    # requests of those cases
        self._asked = np.zeros(0, np.int64)       # case * n + member, everyone asked about an open case
        self._arriving = None                     # cases drawn ahead, not yet arrived
        self._blocks_drawn = 0
        self._day = None
        self._spec_key = None

    def _role_ok(self, pop) -> np.ndarray:
        """Bool per clinician: has a role that answers requests (cached per setting)."""
        key = tuple(self.config.answer_roles)
        if getattr(self, "_role_key", None) != key:
            self._role_cache = np.isin(pop.role, [ROLES.index(r) for r in key])
            self._role_key = key
        return self._role_cache

    def _build_treating_lists(self, pop) -> None:
        """Per case specialty: each facility's clinicians who would treat such a case.

        Preference: an answering-role clinician of the specialty; else a general-medicine
        doctor; else any doctor; else anyone on the staff.
        """
        n_fac = pop.n_facilities
        doctor = pop.role == ROLES.index("doctor")
        role_ok = self._role_ok(pop)
        self.treat_indptr = np.zeros((N_CASE_SPEC, n_fac + 1), np.int64)
        self.treat_ids = []
        for s in range(N_CASE_SPEC):
            prio = np.where(role_ok & (pop.specialty == s), 0,
                            np.where(doctor & (pop.specialty == 0), 1, np.where(doctor, 2, 3)))
            best = np.full(n_fac, 9)
            np.minimum.at(best, pop.facility, prio)
            ids = np.flatnonzero(prio == best[pop.facility])
            ids = ids[np.argsort(pop.facility[ids], kind="stable")]
            counts = np.bincount(pop.facility[ids], minlength=n_fac)
            np.cumsum(counts, out=self.treat_indptr[s, 1:])
            self.treat_ids.append(ids.astype(np.int32))

    def _pick_treating(self, fac: np.ndarray, spec: np.ndarray, u: np.ndarray) -> np.ndarray:
        out = np.empty(fac.size, np.int32)
        for s in np.unique(spec):
            sel = spec == s
            lo = self.treat_indptr[s, fac[sel]]
            hi = self.treat_indptr[s, fac[sel] + 1]
            out[sel] = self.treat_ids[s][lo + (u[sel] * (hi - lo)).astype(np.int64)]
        return out

    def _build_referral_table(self, pop) -> None:
        """Destination and hops of a referral, per (facility, specialty, equipment need).

        Up the parent chain to the first domestic facility with the specialty and the
        equipment; past the top, the largest capable domestic tertiary facility (a
        provincial centre) one hop beyond the top.
        """
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
        self.ref_dest = np.full((n_fac, N_CASE_SPEC, 3), -1, np.int32)
        self.ref_hops = np.zeros((n_fac, N_CASE_SPEC, 3), np.int8)
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
                for pool in (capable & (pop.fac_tier == 2), capable, domestic & (pop.fac_tier == 2),
                             domestic, np.ones(n_fac, bool)):
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
                self.ref_dest[:, s, k], self.ref_hops[:, s, k] = dest, hops

    # -------------------------------------------------------------- accessors
    def state_of(self, clinician: int, item: int = 0) -> dict:
        """A clinician's answering record: answers, off-hours answers, burnout, on call."""
        return {"answers": int(self.n_answers[clinician]), "offhours_answers": int(self.n_offhours[clinician]),
                "burnout": float(self.burnout[clinician]), "oncall": bool(self.oncall[clinician])}

    def set_oncall(self, who: np.ndarray, reads_per_hour: float, answer_prob: float, on: bool = True) -> None:
        self.oncall[who] = on
        self.oncall_reads_per_hour[who] = reads_per_hour if on else 0.0
        self.oncall_answer_prob[who] = answer_prob if on else 0.0

    def _chain_next(self) -> np.ndarray:
        """next_route[code + 1] for codes NONE..REFERRAL (NONE when the chain ends)."""
        cfg = self.config
        names = list(cfg.routes)
        off = set() if cfg.groups else {"group", "contact"}
        out = np.full(len(ROUTES) + 1, NONE, np.int8)
        for code in range(NONE, len(ROUTES)):
            if code >= 0 and ROUTES[code] in names:
                after = names[names.index(ROUTES[code]) + 1:]
            else:
                after = [r for r in names if ROUTES.index(r) > code]
            after = [r for r in after if r != "local" and r not in off]
            out[code + 1] = ROUTES.index(after[0]) if after else NONE
        return out

    # -------------------------------------------------------------------- step
    def step(self, model) -> None:
        clock = model.clock
        t0, dt = clock.t, clock.step_days
        t1 = t0 + dt
        day = int(np.floor(t0 + clock.start_hour / 24.0 + 1e-9))
        if day != self._day:
            self._day = day
            self.answers_today[:] = 0
        if self.burnout.size:
            self.burnout *= np.exp(-dt / self.config.burnout_recovery_days)
        self._arrivals(model, t0, dt)
        entered_referral = self._escalate(model, t1)
        self._read(model, t0, t1)
        self._match(model, t0, t1)
        self._resolve(model, t0, t1, entered_referral)

    # arrivals -----------------------------------------------------------------
    def _rates(self, model) -> np.ndarray:
        cfg, pop = self.config, model.pop
        per_bed = np.array([getattr(cfg.case_rate_per_100_beds_per_day, t) for t in TIERS])
        per_fac = np.array([getattr(cfg.case_rate_per_facility_per_day, t) for t in TIERS])
        rate = per_fac[pop.fac_tier] + per_bed[pop.fac_tier] * pop.fac_beds / 100.0
        if not cfg.cases_abroad:
            rate = np.where(pop.fac_abroad, 0.0, rate)
        return rate

    def _draw_block(self, model, start: float, length: float) -> None:
        """Draw the cases arriving in [start, start + length) with the rates in force now.

        Arrivals are drawn a day at a time, whatever the step: the cases of a run (and
        their local outcome) do not depend on the step length or on any other process.
        """
        cfg, pop, rng = self.config, model.pop, self.rng_arrivals
        counts = rng.poisson(self._rates(model) * length)
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
        need = (1 + rng.choice(3, size=m, p=np.asarray(cfg.equipment_need) / sum(cfg.equipment_need))).astype(np.int8)
        asker = self._pick_treating(fac, spec, rng.random(m))
        quality = np.where(rng.random(m) < cfg.screenshot_share, cfg.screenshot_quality, cfg.image_quality)
        u_local = rng.random(m)
        order = np.argsort(times, kind="stable")          # case ids in order of arrival
        block = {"facility": fac, "t_arrival": times, "spec": spec, "difficulty": diff, "need": need,
                 "asker": asker, "quality": quality.astype(np.float32), "u_local": u_local}
        block = _take(block, order)
        self._arriving = block if self._arriving is None else _cat(self._arriving, block)

    def _arrivals(self, model, t0: float, dt: float) -> None:
        t1 = t0 + dt
        while self._blocks_drawn * ARRIVAL_BLOCK_DAYS < t1 - 1e-12:
            self._draw_block(model, self._blocks_drawn * ARRIVAL_BLOCK_DAYS, ARRIVAL_BLOCK_DAYS)
            self._blocks_drawn += 1
        B = self._arriving
        if B is None or B["t_arrival"].size == 0 or B["t_arrival"][0] >= t1:
            return
        k = int(np.searchsorted(B["t_arrival"], t1, side="left"))
        new = {key: v[:k] for key, v in B.items()}
        self._arriving = {key: v[k:] for key, v in B.items()}
        cfg, pop, C = self.config, model.pop, self.cases
        ids = C.add(k)
        for key in ("facility", "t_arrival", "spec", "difficulty", "need", "asker", "quality"):
            C[key][ids] = new[key]
        fac, times, spec, diff, need, asker = (new[key] for key in
                                               ("facility", "t_arrival", "spec", "difficulty", "need", "asker"))
        skill = pop.expertise[asker] * np.where(pop.specialty[asker] == spec, 1.0, cfg.off_specialty_factor)
        C["asker_skill"][ids] = skill
        self.counters["cases"] += k
        self._new_cases_since_record += k
        workup = cfg.local_workup_hours / 24.0
        if cfg.routes and cfg.routes[0] == "local":
            can = (skill >= diff) & (pop.fac_equipment[fac] >= need)
            loc = ids[can]
            C["now"][ids] = LOCAL
            C["t_dx"][loc] = times[can] + workup
            C["route"][loc] = LOCAL
            p = self._p_correct(skill[can], diff[can], np.zeros(can.sum(), bool), np.ones(can.sum()))
            C["correct"][loc] = (new["u_local"][can] < p).astype(np.int8)
            self.counters["resolved"] += int(loc.size)
            C["t_esc"][ids[~can]] = times[~can] + workup
            consult = ids[~can]
        else:
            C["t_esc"][ids] = times
            consult = ids
        self.open_ids = np.concatenate([self.open_ids, consult])

    def _p_correct(self, skill, difficulty, lacks_equipment, quality) -> np.ndarray:
        """g + (1 - g) / (1 + exp(-(s - d) / w)), s = skill - image and equipment penalties."""
        cfg = self.config
        g = 1.0 / self.n_labels
        s = (np.asarray(skill, float) - cfg.image_penalty * (1.0 - np.asarray(quality, float))
             - cfg.equipment_penalty * np.asarray(lacks_equipment, float))
        z = (s - np.asarray(difficulty, float)) / cfg.accuracy_slope
        return g + (1.0 - g) / (1.0 + np.exp(-z))

    # escalation ------------------------------------------------------------------
    def _escalate(self, model, t1: float) -> np.ndarray:
        """Move due cases to their next route; returns the cases that entered referral."""
        C = self.cases
        referred = []
        if not (C["t_esc"][self.open_ids] < t1).any():
            return np.zeros(0, np.int64)
        nxt_of = self._chain_next()
        for _ in range(len(ROUTES) + 2):
            due = self.open_ids[C["t_esc"][self.open_ids] < t1]
            if due.size == 0:
                break
            tau = C["t_esc"][due]
            nxt = nxt_of[C["now"][due].astype(np.int64) + 1]
            C["t_esc"][due[nxt == NONE]] = np.inf
            for code in (GROUP, CONTACT):
                sel = nxt == code
                if not sel.any():
                    continue
                k, kt = due[sel], tau[sel]
                posted = self._post_groups(model, k, kt) if code == GROUP else self._ask_contacts(model, k, kt)
                C["now"][k] = code
                follow = nxt_of[code + 1] != NONE
                patience = (self.config.group_patience_hours if code == GROUP
                            else self.config.contact_patience_hours) / 24.0
                C["t_esc"][k] = np.where(posted, kt + patience if follow else np.inf, kt)
                first = posted & np.isnan(C["t_first_request"][k])
                C["t_first_request"][k[first]] = kt[first]
            sel = nxt == REFERRAL
            if sel.any():
                k = due[sel]
                C["now"][k] = REFERRAL
                C["t_ref_entry"][k] = tau[sel]
                C["t_esc"][k] = np.inf
                referred.append(k)
        return np.concatenate(referred) if referred else np.zeros(0, np.int64)

    def _group_stock(self, model) -> None:
        """Per group and case specialty: eligible members and the sum of their expertise.

        Eligible: unmuted, of an answering role. Cached until the day or the network changes.
        """
        net, pop = model.net, model.pop
        key = (id(net.m_clinician), net.n_rows, net.n_groups, self._day)
        if key == self._spec_key:
            return
        ok = self._role_ok(pop)[net.m_clinician] & ~net.m_muted
        spec = pop.specialty[net.m_clinician].astype(np.int64)
        n_s = len(SPECIALTIES)
        cell = net.m_group[ok].astype(np.int64) * n_s + spec[ok]
        size = net.n_groups * n_s
        shape = (net.n_groups, n_s)
        x = pop.expertise[net.m_clinician[ok]].astype(float)
        self._g_count = np.bincount(cell, minlength=size).reshape(shape)[:, :N_CASE_SPEC]
        self._g_skill = np.bincount(cell, weights=x, minlength=size).reshape(shape)[:, :N_CASE_SPEC]
        self._g_count_all = np.bincount(net.m_group[ok], minlength=net.n_groups)
        self._g_skill_all = np.bincount(net.m_group[ok], weights=x, minlength=net.n_groups)
        self._spec_key = key

    def _post_groups(self, model, cases: np.ndarray, tau: np.ndarray) -> np.ndarray:
        """Post each case in the asker's group(s) with the most expertise for it; True where posted.

        A group's stock for a case is the summed expertise of the members who may answer
        it (off-specialty members at ``off_specialty_factor`` when ``group_answerers =
        "any"``), the asker excluded: clinicians know who is in their groups.
        """
        cfg, net, pop, C = self.config, model.net, model.pop, self.cases
        posted = np.zeros(cases.size, bool)
        self._group_stock(model)
        asker, spec = C["asker"][cases], C["spec"][cases].astype(np.int64)
        rows_c, k = _csr_rows(net.c_indptr, asker)                 # the askers' memberships
        if rows_c.size == 0:
            return posted
        g = net.c_groups[rows_c].astype(np.int64)
        m_row = net.c_rows[rows_c]                                 # the asker's membership rows
        a = asker[k]
        asker_in = self._role_ok(pop)[a] & ~net.m_muted[m_row]
        same = pop.specialty[a] == spec[k]
        xa = pop.expertise[a].astype(float)
        if cfg.group_answerers == "any":
            f = cfg.off_specialty_factor
            n_ok = self._g_count_all[g] - asker_in
            stock = (f * self._g_skill_all[g] + (1 - f) * self._g_skill[g, spec[k]]
                     - asker_in * xa * np.where(same, 1.0, f))
        else:
            n_ok = self._g_count[g, spec[k]] - (asker_in & same)
            stock = self._g_skill[g, spec[k]] - (asker_in & same) * xa
        order = np.lexsort((self.rng.random(k.size), -np.round(stock, 9), k))
        k, g, n_ok = k[order], g[order], n_ok[order]
        rank = _segment_rank(k)
        keep = (rank < cfg.groups_per_request) & (n_ok > 0)
        k, g = k[keep], g[keep]
        if k.size == 0:
            return posted
        # members of the chosen groups who may answer
        rows, kk = _csr_rows(net.g_indptr, g)                      # kk: index into the chosen (case, group)
        member = net.g_members[rows]
        ok = self._role_ok(pop)[member] & ~net.m_muted[rows] & (member != asker[k[kk]])
        if cfg.group_answerers != "any":
            ok &= pop.specialty[member] == spec[k[kk]]
        kk, member = kk[ok], member[ok]
        # one request per chosen (case, group); one pair per (case, member)
        req = self.requests.add(k.size)
        R = self.requests
        R["case"][req], R["route"][req], R["group"][req] = cases[k], GROUP, g
        R["t_post"][req], R["slots"][req] = tau[k], cfg.max_answers_per_request
        R["quality"][req] = C["quality"][cases[k]]
        case_of = cases[k[kk]].astype(np.int64)
        _, first = np.unique(case_of * pop.n + member, return_index=True)
        kk, member = kk[first], member[first]
        R["n_asked"][req] = np.bincount(kk, minlength=k.size)
        self._add_pairs(req[kk], member, case_of[first], pop.n)
        posted[np.unique(k)] = True
        self.counters["requests"] += int(k.size)
        return posted

    def _ask_contacts(self, model, cases: np.ndarray, tau: np.ndarray) -> np.ndarray:
        """Message the best contact at a higher tier (specialty first, then expertise) who
        has not been asked about the case already (in a group): each opinion counts once."""
        pop, contacts, C = model.pop, model.contacts, self.cases
        posted = np.zeros(cases.size, bool)
        asker, spec = C["asker"][cases], C["spec"][cases]
        rows, k = _csr_rows(contacts.indptr, asker)
        if rows.size == 0:
            return posted
        nb = contacts.neighbors[rows]
        ok = (pop.tier[nb] > pop.tier[asker[k]]) & self._role_ok(pop)[nb]
        ok &= ~_sorted_member(cases[k].astype(np.int64) * pop.n + nb, self._asked_about(cases, pop.n))
        k, nb = k[ok], nb[ok]
        if k.size == 0:
            return posted
        score = 2.0 * (pop.specialty[nb] == spec[k]) + pop.expertise[nb]
        order = np.lexsort((self.rng.random(k.size), -score, k))
        k, nb = k[order], nb[order]
        first = _segment_first(k)
        k, nb = k[first], nb[first]
        req = self.requests.add(k.size)
        R = self.requests
        R["case"][req], R["route"][req], R["group"][req] = cases[k], CONTACT, -1
        R["t_post"][req], R["slots"][req], R["n_asked"][req] = tau[k], 1, 1
        R["quality"][req] = C["quality"][cases[k]]
        self._add_pairs(req, nb, cases[k], pop.n)
        posted[k] = True
        self.counters["requests"] += int(k.size)
        return posted

    def _asked_about(self, cases: np.ndarray, n: int) -> np.ndarray:
        """Sorted (case * n + member) keys of everyone already asked about ``cases``."""
        mark = np.zeros(self.cases["t_dx"].size, bool)
        mark[cases] = True
        return np.sort(self._asked[mark[self._asked // n]])

    def _close_requests(self, cases: np.ndarray) -> None:
        """Requests of diagnosed cases take no more answers."""
        R = self.requests
        closing = ~np.isnan(self.cases["t_dx"][R["case"][self.open_reqs]])   # every diagnosed case
        R["slots"][self.open_reqs[closing]] = 0
        self.open_reqs = self.open_reqs[~closing]

    def _add_pairs(self, req: np.ndarray, exp: np.ndarray, case: np.ndarray, n: int) -> None:
        self.open_reqs = np.concatenate([self.open_reqs, np.unique(req)])
        self._asked = np.concatenate([self._asked, case.astype(np.int64) * n + exp])
        m = req.size
        new = {"req": req.astype(np.int64), "exp": exp.astype(np.int32), "state": np.full(m, PENDING, np.int8),
               "ready": np.full(m, np.nan), "quality": np.zeros(m, np.float32), "willing": np.zeros(m, bool)}
        self.pairs = _cat(self.pairs, new)

    # reading ---------------------------------------------------------------------
    def _engaged_rate(self, model) -> np.ndarray:
        """Chat openings per day at which each clinician acts on requests, this step."""
        cfg = self.config
        rr = read_rate(model).astype(float)
        rho = rr * np.where(at_work(model), 1.0, cfg.offhours_engagement)
        rho = np.where(self.oncall, np.maximum(rr, self.oncall_reads_per_hour * 24.0), rho)
        if cfg.answer_cap_per_day > 0:
            rho = np.where(self.answers_today >= cfg.answer_cap_per_day, 0.0, rho)
        return rho

    def _read(self, model, t0: float, t1: float) -> None:
        cfg, P, R = self.config, self.pairs, self.requests
        pend = np.flatnonzero(P["state"] == PENDING)
        if pend.size == 0:
            return
        e = P["exp"][pend]
        post = R["t_post"][P["req"][pend]]
        since = np.maximum(post, t0)
        rho = self._engaged_rate(model)
        if cfg.read_delay == "none":
            read = np.where(rho[e] > 0, since, np.inf)
        else:
            read = self._first_openings(e, since, rho, t0, t1 - t0)
        got = read < t1
        if not got.any():
            return
        idx, e, read = pend[got], e[got], read[got]
        req = P["req"][idx]
        route = R["route"][req]
        base = np.where(route == CONTACT, cfg.contact_answer_prob, cfg.group_answer_prob)
        base = np.where(self.oncall[e], np.maximum(base, self.oncall_answer_prob[e]), base)
        p = base * np.exp(-cfg.burnout_sensitivity_per_answer * self.burnout[e])
        willing = (self.rng.random(idx.size) < p) | P["willing"][idx]   # decided once, when first read
        fresh = (read - R["t_post"][req]) <= cfg.media_purge_days
        P["quality"][idx] = np.where(fresh, R["quality"][req], cfg.purged_quality)
        P["ready"][idx] = read
        P["state"][idx] = QUEUED
        P["willing"][idx] = True
        self.counters["declined"] += int((~willing).sum())
        if (~willing).any():
            keep = np.ones(P["req"].size, bool)
            keep[idx[~willing]] = False
            self.pairs = _take(P, keep)

    def _first_openings(self, e, since, rho, t0, dt) -> np.ndarray:
        """Time of each member's first chat opening at or after ``since`` within the step.

        Openings are one Poisson process per member (rate ``rho``), shared by all the
        requests waiting for that member; ``inf`` when there is none before the step ends.
        """
        uniq, inv = np.unique(e, return_inverse=True)
        k = self.rng.poisson(rho[uniq] * dt)
        n_open = int(k.sum())
        if n_open == 0:
            return np.full(e.size, np.inf)
        owner = np.repeat(np.arange(uniq.size), k)
        return first_at_or_after(owner, t0 + self.rng.random(n_open) * dt, inv, since)

    # answering -------------------------------------------------------------------
    def _match(self, model, t0: float, t1: float) -> None:
        """Queued (request, member) pairs become answers, exactly in time order.

        Each member answers one request at a time, the oldest first; a request takes
        ``slots`` answers. Per round, a member proposes the pair it could start earliest
        (ties: the oldest post), a request accepts its ``slots`` earliest possible
        starters; mutually chosen pairs start. A match never precedes an event it would
        depend on: any other member could only reach the request later (start times only
        grow), so the rounds reproduce the event-by-event order. The earliest pair
        overall is always matched, so the loop ends. A pair left over from an earlier
        step was blocked until this step (its member at the daily cap), so it starts no
        earlier than ``t0``.
        """
        cfg, P, R, C = self.config, self.pairs, self.requests, self.cases
        q = np.flatnonzero(P["state"] == QUEUED)
        if q.size == 0:
            return
        req, e, ready = P["req"][q], P["exp"][q], P["ready"][q]
        post = R["t_post"][req]
        case = R["case"][req]
        alive = (R["slots"][req] > 0) & np.isnan(C["t_dx"][case]) & (ready < t1)
        cap = cfg.answer_cap_per_day
        mean_days = cfg.answer_mean_minutes / (24 * 60)
        slots = R["slots"]
        done = np.zeros(q.size, bool)
        matched, starts, services = [], [], []
        for _ in range(q.size + 1):
            ok = alive & ~done & (slots[req] > 0)
            if cap > 0:
                ok &= self.answers_today[e] < cap
            start = np.maximum(np.maximum(self.free_at[e], ready), t0)
            ok &= start < t1
            idx = np.flatnonzero(ok)
            if idx.size == 0:
                break
            o = np.lexsort((req[idx], post[idx], start[idx], e[idx]))
            proposal = idx[o][_segment_first(e[idx][o])]
            o2 = np.lexsort((e[idx], start[idx], req[idx]))
            rank = np.empty(q.size, np.int64)
            rank[idx[o2]] = _segment_rank(req[idx][o2])
            m = proposal[rank[proposal] < slots[req[proposal]]]
            # what the next round needs: the members' next free time, slots, daily counts
            service = (self.rng.exponential(mean_days, m.size) if cfg.answer_time == "exponential"
                       else np.full(m.size, mean_days))
            self.free_at[e[m]] = start[m] + service
            np.subtract.at(slots, req[m], 1)
            self.answers_today[e[m]] += 1
            done[m] = True
            matched.append(q[m])
            starts.append(start[m])
            services.append(service)
        if matched:
            self._commit(model, np.concatenate(matched), np.concatenate(starts), np.concatenate(services))
        if cap > 0:
            # members at the cap stop acting on requests: what they meant to answer waits
            # for their next chat opening on a new day (read again, no new decision)
            stop = q[~done & (self.answers_today[e] >= cap)]
            P["state"][stop] = PENDING
        used = np.zeros(P["req"].size, bool)
        used[q[done]] = True
        full = R["slots"][P["req"]] <= 0
        self.pairs = _take(P, ~used & ~full)

    def _commit(self, model, rows: np.ndarray, start: np.ndarray, service: np.ndarray) -> None:
        """Record the answers started in this step: accuracy, label, off-hours, burden."""
        cfg, P, R, C, pop = self.config, self.pairs, self.requests, self.cases, model.pop
        req, e = P["req"][rows], P["exp"][rows]
        case = R["case"][req]
        m = rows.size
        end = start + service
        spec = C["spec"][case]
        skill = pop.expertise[e] * np.where(pop.specialty[e] == spec, 1.0, cfg.off_specialty_factor)
        lacks = pop.fac_equipment[pop.facility[e]] < C["need"][case]
        p = self._p_correct(skill, C["difficulty"][case], lacks, P["quality"][rows])
        u = self.rng.random(m)
        correct = u < p
        wrong = 1 + (self.rng.random(m) * (self.n_labels - 1)).astype(np.int16)
        label = np.where(correct, 0, wrong).astype(np.int16)
        hour = (model.clock.start_hour + start * 24.0) % 24.0
        off = ~in_hours(hour, pop.work_start[e], pop.work_end[e])
        np.add.at(self.burnout, e, off)                 # a member may answer several times a step
        np.add.at(self.n_answers, e, 1)
        np.add.at(self.n_offhours, e, off.astype(np.int32))
        np.add.at(self.answer_minutes, e, service * 24 * 60)
        self.counters["answers"] += m
        self.counters["offhours"] += int(off.sum())
        np.fmin.at(C["t_first_start"], case, start)
        self.inflight = _cat(self.inflight, {
            "case": case, "req": req, "exp": e, "route": R["route"][req], "group": R["group"][req],
            "start": start, "end": end, "label": label, "confidence": p.astype(np.float32),
            "correct": correct, "offhours": off, "counted": np.zeros(m, bool), "after_diagnosis": np.zeros(m, bool),
        })

    # combining and resolving -------------------------------------------------------
    def _weights(self, confidence: np.ndarray) -> np.ndarray:
        """Log-likelihood weight of an answer for its label: log(c K / (1 - c))."""
        cfg = self.config
        K = self.n_labels - 1
        c = np.full(confidence.size, cfg.vote_accuracy) if cfg.combine == "majority" else confidence.astype(float)
        c = np.clip(c, 1e-6, 1 - 1e-6)
        return np.log(c * K / (1.0 - c))

    def _resolve(self, model, t0: float, t1: float, entered_referral: np.ndarray) -> None:
        """Combine the answers completed in this step, book referrals, diagnose cases."""
        cfg, C = self.config, self.cases
        F = self.inflight
        due = F["end"] < t1
        if not due.any() and not entered_referral.size and not (C["t_ref_dx"][self.open_ids] < t1).any():
            return
        A = _take(F, due)
        self.inflight = _take(F, ~due)
        acc_case = np.zeros(0, np.int64)
        acc_t, acc_route, acc_correct = np.zeros(0), np.zeros(0, np.int8), np.zeros(0, bool)
        if A["case"].size:
            A = _take(A, np.lexsort((A["end"], A["case"])))
            idx = np.flatnonzero(np.isnan(C["t_dx"][A["case"]]))
            if idx.size:
                m, L = idx.size, self.n_labels
                cs, lab = A["case"][idx], A["label"][idx].astype(np.int64)
                w = np.zeros((m, L))
                w[np.arange(m), lab] = self._weights(A["confidence"][idx])
                first = _segment_first(cs)
                seg = np.cumsum(first) - 1
                starts = np.flatnonzero(first)
                cum = np.cumsum(w, axis=0)
                before = np.vstack([np.zeros((1, L)), cum])[starts]       # cum. weight before each case's run
                scores = C["scores"][cs] + cum - before[seg]
                n_cum = C["n_answers"][cs] + _segment_rank(cs) + 1
                bump = np.zeros_like(scores)
                bump[np.arange(m), lab] = 1e-9                            # ties: the answer just received
                lead, conf = combine_posterior(scores + bump)
                ok = (conf >= cfg.accept_confidence) & (n_cum >= cfg.min_answers)
                first_ok = np.full(starts.size, m)
                np.minimum.at(first_ok, seg, np.where(ok, np.arange(m), m))
                has = first_ok < m
                last = np.r_[starts[1:] - 1, m - 1]
                fin = np.where(has, first_ok, last)
                seg_cases = cs[starts]
                C["scores"][seg_cases] = scores[fin]
                C["n_answers"][seg_cases] = n_cum[fin]
                C["lead"][seg_cases] = lead[fin]
                A["counted"][idx] = np.arange(m) <= first_ok[seg]
                np.fmin.at(C["t_first_answer"], cs, A["end"][idx])
                pos = first_ok[has]
                acc_case, acc_t = seg_cases[has], A["end"][idx[pos]]
                acc_route, acc_correct = A["route"][idx[pos]], lead[pos] == 0
        # referrals made in this step, unless the case was diagnosed before they were made
        if entered_referral.size:
            k = entered_referral
            self._book(model, k[_lookup(acc_case, acc_t, k, np.inf) > C["t_ref_entry"][k]])
        # diagnosis: the earlier of an accepted answer and the referral visit
        ids = self.open_ids
        t_acc = _lookup(acc_case, acc_t, ids, np.inf)
        t_ref = C["t_ref_dx"][ids]
        ref_first = (t_ref < t1) & (t_ref <= t_acc)
        by_ref = ids[ref_first]
        C["t_dx"][by_ref] = t_ref[ref_first]
        C["route"][by_ref] = REFERRAL
        C["correct"][by_ref] = C["ref_correct"][by_ref]
        sel = np.isnan(C["t_dx"][acc_case])
        a = acc_case[sel]
        C["t_dx"][a] = acc_t[sel]
        C["route"][a] = acc_route[sel]
        C["correct"][a] = acc_correct[sel].astype(np.int8)
        newly = np.concatenate([by_ref, a])
        if newly.size:
            self.counters["resolved"] += int(newly.size)
            C["t_esc"][newly] = np.inf
            self.open_ids = self.open_ids[np.isnan(C["t_dx"][self.open_ids])]
            R, P = self.requests, self.pairs
            if P["req"].size:
                self.pairs = _take(P, np.isnan(C["t_dx"][R["case"][P["req"]]]))
            self._close_requests(newly)
            self._asked = self._asked[np.isnan(C["t_dx"][self._asked // model.pop.n])]
        if A["case"].size:
            t_dx = C["t_dx"][A["case"]]
            A["after_diagnosis"] = A["start"] > t_dx                       # NaN (open): False
            A["counted"] &= ~(A["end"] > t_dx)
            self.counters["after_diagnosis"] += int(A["after_diagnosis"].sum())
            self.answer_log.append(A)

    def _book(self, model, cases: np.ndarray) -> None:
        """Book referral visits in the order the referrals are made (first come, first booked)."""
        if cases.size == 0:
            return
        cfg, pop, C = self.config, model.pop, self.cases
        cases = cases[np.argsort(C["t_ref_entry"][cases], kind="stable")]
        fac, spec, need = C["facility"][cases], C["spec"][cases].astype(np.int64), C["need"][cases] - 1
        dest = self.ref_dest[fac, spec, need]
        hops = self.ref_hops[fac, spec, need]
        arrive = C["t_ref_entry"][cases] + hops * cfg.referral_hop_travel_days + cfg.referral_lead_days
        gap = 1.0 / (cfg.referral_slots_per_100_beds_per_day * pop.fac_beds[dest] / 100.0)
        slot = np.empty(cases.size)
        for d in np.unique(dest):                 # a handful of receiving facilities per step
            sel = np.flatnonzero(dest == d)
            a, s = arrive[sel], gap[sel][0]
            j = np.arange(sel.size)
            u = np.maximum(self.next_slot[d], np.maximum.accumulate(a - j * s))
            slot[sel] = u + j * s
            self.next_slot[d] = slot[sel][-1] + s
        doctor = self._pick_treating(dest, spec.astype(np.int8), self.rng.random(cases.size))
        skill = pop.expertise[doctor] * np.where(pop.specialty[doctor] == spec, 1.0, cfg.off_specialty_factor)
        lacks = pop.fac_equipment[dest] < C["need"][cases]
        p = self._p_correct(skill, C["difficulty"][cases], lacks, np.ones(cases.size))
        C["ref_facility"][cases], C["ref_hops"][cases] = dest, hops
        C["t_ref_dx"][cases] = slot + cfg.local_workup_hours / 24.0
        C["ref_correct"][cases] = (self.rng.random(cases.size) < p).astype(np.int8)
        self.counters["referrals"] += int(cases.size)

    # ------------------------------------------------------------------ outputs
    def record(self, model, rec) -> None:
        C = self.cases
        t = model.t
        open_ = ~(C["t_dx"] <= t)
        rec.add("n_dx_open_cases", int(open_.sum()))
        rec.add("new_dx_cases", self._new_cases_since_record)
        self._new_cases_since_record = 0
        rec.add("cum_dx_cases", self.counters["cases"])
        rec.add("cum_dx_diagnosed", int((C["t_dx"] <= t).sum()))
        rec.add("cum_dx_referrals", self.counters["referrals"])
        rec.add("cum_dx_requests", self.counters["requests"])
        rec.add("cum_dx_answers", self.counters["answers"])
        rec.add("cum_dx_offhours_answers", self.counters["offhours"])
        rec.add("n_dx_open_asks", int(self.pairs["req"].size))   # (request, member) not yet answered
        rec.add("n_dx_oncall", int(self.oncall.sum()))

    def answers_frame(self) -> pd.DataFrame:
        parts = self.answer_log + [self.inflight]
        A = {k: np.concatenate([p[k] for p in parts]) for k in ANSWER_SPEC}
        return pd.DataFrame({
            "case": A["case"], "expert": A["exp"], "request": A["req"],
            "route": pd.Categorical.from_codes(A["route"], ROUTES), "group": A["group"],
            "t_start": A["start"], "t_end": A["end"], "minutes": (A["end"] - A["start"]) * 24 * 60,
            "label": A["label"], "correct": A["correct"], "confidence": A["confidence"],
            "offhours": A["offhours"], "counted": A["counted"], "after_diagnosis": A["after_diagnosis"],
        }).sort_values("t_start", kind="stable").reset_index(drop=True)

    def cases_frame(self, model) -> pd.DataFrame:
        """One row per case; unresolved cases (also those whose diagnosis falls after the end)
        have NaN ``t_diagnosis`` and are censored at the end of the run (``censor_hours``)."""
        C, R, pop = self.cases, self.requests, model.pop
        T = model.t
        n = C.n
        t_arr, t_dx = C["t_arrival"], C["t_dx"]
        done = t_dx <= T
        route_end = np.where(done, C["route"], C["now"]).astype(np.int64)
        answers = self.answers_frame()
        counted = np.bincount(answers["case"][answers["counted"]], minlength=n)[:n]
        made = R["t_post"] < np.where(np.isnan(t_dx[R["case"]]), np.inf, t_dx[R["case"]])
        n_req = np.bincount(R["case"][made], minlength=n)[:n]
        labels = np.array([*ROUTES, "none"])
        return pd.DataFrame({
            "case": np.arange(n),
            "facility": C["facility"],
            "region": pd.Categorical.from_codes(pop.fac_region[C["facility"]], pop.region_names),
            "tier": pd.Categorical.from_codes(pop.fac_tier[C["facility"]], TIERS),
            "specialty": pd.Categorical.from_codes(C["spec"], CASE_SPECIALTIES),
            "difficulty": C["difficulty"],
            "needs_equipment": C["need"],
            "lacks_equipment": pop.fac_equipment[C["facility"]] < C["need"],
            "image_quality": C["quality"],
            "asker": C["asker"],
            "asker_skill": C["asker_skill"],
            "t_arrival": t_arr,
            "t_first_request": C["t_first_request"],
            "t_first_answer": C["t_first_answer"],
            "t_diagnosis": np.where(done, t_dx, np.nan),
            "time_to_diagnosis_hours": np.where(done, (t_dx - t_arr) * 24.0, np.nan),
            "censor_hours": np.where(done, np.nan, (T - t_arr) * 24.0),
            "resolved": done,
            "route": pd.Categorical(np.where(done, labels[route_end], "unresolved"),
                                    categories=[*ROUTES, "unresolved"]),
            "route_at_end": pd.Categorical(labels[route_end], categories=[*ROUTES, "none"]),
            "consulted": ~(done & (C["route"] == LOCAL)),
            "correct": pd.array(np.where(done, C["correct"] == 1, None), dtype="boolean"),
            "n_answers": counted,
            "n_requests": n_req,
            "t_referral": C["t_ref_entry"],
            "t_referral_visit": np.where(np.isfinite(C["t_ref_dx"]), C["t_ref_dx"], np.nan),
            "referral_facility": C["ref_facility"],
            "referral_hops": C["ref_hops"],
        })

    def tables(self, model) -> dict[str, pd.DataFrame]:
        return {"cases": self.cases_frame(model), "answers": self.answers_frame()}

    def metrics(self, model) -> dict:
        cases = self.cases_frame(model)
        answers = self.answers_frame()
        out: dict = {}
        n = len(cases)
        done = cases["resolved"].to_numpy()
        out["dx_cases"] = n
        out["dx_diagnosed"] = int(done.sum())
        out["dx_p_diagnosed"] = float(done.mean()) if n else None
        route = cases["route"].astype(str).to_numpy()
        for r in ROUTES:
            out[f"dx_p_route_{r}"] = float((route[done] == r).mean()) if done.any() else None
        out["dx_p_without_referral"] = (float((route[done] != "referral").mean()) if done.any() else None)
        consulted_done = done & (route != "local")
        out["dx_p_consulted_without_referral"] = (
            float((route[consulted_done] != "referral").mean()) if consulted_done.any() else None)
        correct = cases["correct"].to_numpy(dtype=float, na_value=np.nan)
        out["dx_accuracy"] = float(np.nanmean(correct[done])) if done.any() else None
        for r in ROUTES:
            sel = done & (route == r)
            out[f"dx_accuracy_{r}"] = float(np.nanmean(correct[sel])) if sel.any() else None
        tier = cases["tier"].astype(str).to_numpy()
        for t in TIERS:
            sel = done & (tier == t)
            out[f"dx_accuracy_{t}"] = float(np.nanmean(correct[sel])) if sel.any() else None
        # time to diagnosis: Kaplan-Meier, unresolved cases censored at the end
        time = np.where(done, cases["time_to_diagnosis_hours"], cases["censor_hours"]).astype(float)
        consulted = cases["consulted"].to_numpy()
        route_end = cases["route_at_end"].astype(str).to_numpy()
        spec = cases["specialty"].astype(str).to_numpy()

        def km(sel, key):
            any_ = sel.any()
            out[f"dx_ttd_median_hours{key}"] = km_quantile(time[sel], done[sel], 0.5) if any_ else None
            out[f"dx_ttd_p90_hours{key}"] = km_quantile(time[sel], done[sel], 0.9) if any_ else None
            out[f"dx_p_within_24h{key}"] = km_share_by(time[sel], done[sel], 24.0) if any_ else None

        km(np.ones(n, bool), "")
        km(consulted, "_consulted")
        for t in TIERS:
            km(tier == t, f"_{t}")
            km((tier == t) & consulted, f"_consulted_{t}")
        for r in ROUTES:
            km(route_end == r, f"_route_{r}")
        for s in CASE_SPECIALTIES:
            if (spec == s).any():
                km(spec == s, f"_spec_{s}")
        # first answer to a request: group posts (Carmona et al. 2018: median 52 min, 53% within
        # an hour) and 1-on-1 requests (Gulacti & Lok 2017: median 158 min to a consult)
        R = self.requests
        first_end = answers.groupby("request")["t_end"].min() if len(answers) else pd.Series(dtype=float)
        for code, name in ((GROUP, "group"), (CONTACT, "contact")):
            reqs = np.flatnonzero(R["route"] == code)
            wait = (first_end.reindex(reqs).to_numpy(float) - R["t_post"][reqs]) * 24 * 60
            got = np.isfinite(wait)
            out[f"dx_{name}_requests"] = int(reqs.size)
            out[f"dx_{name}_p_answered"] = float(got.mean()) if reqs.size else None
            out[f"dx_{name}_first_answer_median_minutes"] = float(np.median(wait[got])) if got.any() else None
            out[f"dx_{name}_p_first_answer_within_hour"] = float((wait[got] <= 60).mean()) if got.any() else None
        # the experts' burden
        per = self.n_answers[self.n_answers > 0]
        weeks = max(model.t, 1e-9) / 7.0
        out["dx_requests"] = self.counters["requests"]
        out["dx_referrals"] = self.counters["referrals"]
        out["dx_answers"] = self.counters["answers"]
        out["dx_answers_counted"] = int(answers["counted"].sum()) if len(answers) else 0
        out["dx_answers_after_diagnosis"] = int(answers["after_diagnosis"].sum()) if len(answers) else 0
        out["dx_declined"] = self.counters["declined"]
        out["dx_answer_hours"] = float(self.answer_minutes.sum() / 60.0)
        out["dx_p_answers_offhours"] = (float(self.n_offhours.sum() / self.n_answers.sum())
                                        if self.n_answers.sum() else None)
        out["dx_answerers"] = int(per.size)
        out["dx_answers_per_answerer_mean"] = float(per.mean()) if per.size else None
        out["dx_answers_per_answerer_p90"] = float(np.quantile(per, 0.9)) if per.size else None
        out["dx_answers_per_answerer_max"] = int(per.max()) if per.size else None
        out["dx_answer_hours_per_answerer_per_week"] = (
            float(self.answer_minutes[self.n_answers > 0].mean() / 60.0 / weeks) if per.size else None)
        top = np.sort(per)[::-1][: max(1, int(np.ceil(0.1 * per.size)))] if per.size else per
        out["dx_top10pct_share_of_answers"] = float(top.sum() / per.sum()) if per.size else None
        out["dx_burnout_mean_answerers"] = float(self.burnout[self.n_answers > 0].mean()) if per.size else None
        out["dx_offhours_answers_per_answerer_per_week"] = (
            float(self.n_offhours[self.n_answers > 0].mean() / weeks) if per.size else None)
        out.update(self._summary(out))
        return out

    def _summary(self, m: dict) -> dict:
        def h(x):
            return "n/a" if x is None else (f"{x:.1f}" if x < 100 else f"{x:.0f}")

        def pct(x):
            return "n/a" if x is None else f"{x:.0%}"

        def mp(key):
            return f"{h(m.get(f'dx_ttd_median_hours{key}'))}/{h(m.get(f'dx_ttd_p90_hours{key}'))}"

        groups_note = "" if self.config.groups else " [groups off: formal referral only]"
        lines = {
            "summary_dx_1": (
                f"diagnosis{groups_note}: {m['dx_cases']:,} cases, {pct(m['dx_p_diagnosed'])} diagnosed "
                f"(local {pct(m['dx_p_route_local'])}, group {pct(m['dx_p_route_group'])}, "
                f"1-on-1 {pct(m['dx_p_route_contact'])}, referral {pct(m['dx_p_route_referral'])}); "
                f"accuracy {pct(m['dx_accuracy'])} (local {pct(m['dx_accuracy_local'])}, group "
                f"{pct(m['dx_accuracy_group'])}, 1-on-1 {pct(m['dx_accuracy_contact'])}, referral "
                f"{pct(m['dx_accuracy_referral'])}); consulted cases diagnosed without a referral "
                f"{pct(m['dx_p_consulted_without_referral'])}"),
            "summary_dx_2": (
                "time to diagnosis, KM median/p90 in hours: all cases " + ", ".join(
                    f"{t} {mp('_' + t)}" for t in TIERS) + "; consulted cases " + ", ".join(
                    f"{t} {mp('_consulted_' + t)}" for t in TIERS)),
            "summary_dx_3": (
                "time to diagnosis by route (h): " + ", ".join(f"{r} {mp('_route_' + r)}" for r in ROUTES)
                + f"; first answer to a group post: median {h(m.get('dx_group_first_answer_median_minutes'))} min, "
                f"{pct(m.get('dx_group_p_first_answer_within_hour'))} within an hour; to a 1-on-1 request: "
                f"median {h(m.get('dx_contact_first_answer_median_minutes'))} min"),
            "summary_dx_4": (
                f"experts' burden: {m['dx_answers']:,} answers by {m['dx_answerers']:,} clinicians "
                f"(mean {h(m['dx_answers_per_answerer_mean'])}, p90 {h(m['dx_answers_per_answerer_p90'])}, "
                f"max {m['dx_answers_per_answerer_max'] or 0}), "
                f"{h(m['dx_answer_hours_per_answerer_per_week'])} h/week each; off-hours "
                f"{pct(m['dx_p_answers_offhours'])}; burnout index {h(m['dx_burnout_mean_answerers'])}"),
        }
        return lines


# --------------------------------------------------------------------- interventions
@register_intervention
class OncallRoster(Intervention):
    """An on-call consult roster.

    The ``per_specialty`` most expert domestic tertiary clinicians of each case
    specialty (answering roles only) act on requests at every hour, read their chats
    at ``reads_per_hour`` at least, and answer with ``answer_prob`` at least. They
    answer where they can be reached (their groups and contacts): combine with
    ``embed_specialists`` to put them in rural groups. Stopped at ``end_day``.
    """

    name = "oncall_roster"

    class Params(Section):
        per_specialty: int = Field(2, ge=1, le=100_000)
        reads_per_hour: float = Field(4.0, gt=0.0, le=600.0)
        answer_prob: Probability = 1.0

    def start(self, model) -> None:
        self.members = np.zeros(0, np.int64)
        try:
            proc = model.process("diagnosis")
        except KeyError:
            return
        pop = model.pop
        ok = ((pop.tier == 2) & ~pop.fac_abroad[pop.facility] & proc._role_ok(pop)
              & (pop.specialty < N_CASE_SPEC))
        ids = np.flatnonzero(ok)
        ids = ids[np.lexsort((ids, -pop.expertise[ids], pop.specialty[ids]))]
        self.members = ids[_segment_rank(pop.specialty[ids]) < self.params.per_specialty]
        proc.set_oncall(self.members, self.params.reads_per_hour, self.params.answer_prob)

    def stop(self, model) -> None:
        try:
            proc = model.process("diagnosis")
        except KeyError:
            return
        proc.set_oncall(self.members, 0.0, 0.0, on=False)


from . import diagnosis_mmc  # noqa: E402,F401  (registers the M/M/c validation case)
