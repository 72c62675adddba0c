"""Information changes care: guidelines and rumors about a case's condition change how it is handled.

An item of the information process may concern a condition (``condition``, a case
specialty; ``condition_share`` of its cases, drawn per case at arrival from the
``diagnosis.conditions`` stream). Whoever judges a case — the treating clinician, the
author of an answer, the doctor at a referral visit — does so with a skill shifted by
their state for the items that concern it, read when they judge
(``diagnosis.information_effects``):

* adopted a guideline about it: ``+ adopted_skill_gain`` (to deciding and to accuracy);
* believes a rumor about it: ``- believer_skill_loss`` to accuracy only: a believer
  decides whether to treat the case locally with the skill they think they have (the
  rumor offers a ready answer), so belief brings wrong local diagnoses and missed
  referrals rather than more consultation; a believing treating clinician who cannot
  diagnose the case first tries the rumor's remedy for ``believer_delay_hours`` before
  escalating, cut short at the first step in which they no longer believe.

Harm is counted with common random numbers: a judgment is wrong *because of a belief*
when its uniform draw ``u`` falls between the accuracy with and without the belief's
loss (``p_with <= u < p_without``), right *because of a guideline* likewise; the delay
is the time the escalation was held back. With no item about any condition (or the
effects off) nothing is drawn and every judgment is as before.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...arrays import label_masks, sorted_member
from ...rng_ref import GeneratorRef
from ...schema import TIERS
from ..information.config import ADOPTED, BELIEVES, CORRECTED
from .accuracy_kernels import accuracy_exponents, judged, tag_cases
from .config import CASE_SPECIALTIES, LOCAL, DiagnosisConfig
from .kernels import item_states
from .state import DxState
from .survival import durations, km_quantile

#: the columns of the cases that :func:`add_metrics` reads besides those of :func:`.survival.durations`
CASE_COLUMNS_READ = ["tier", "resolved", "correct", "concerned", "handler_info", "belief_delay_hours"]

__all__ = ["CASE_COLUMNS_READ", "HANDLER_STATES", "JUDGES", "NO_CARE", "TAG_CODES", "CareLink", "add_metrics"]

#: the treating clinician's state for the case's items at arrival (case column ``h_info``)
HANDLER_STATES = ("unconcerned", "neutral", "adopted", "corrected", "believes")
UNCONCERNED, NEUTRAL, H_ADOPTED, H_CORRECTED, H_BELIEVES = range(5)
#: who judges: the treating clinician, an answer's author, the doctor at a referral visit
JUDGES = ("local", "answer", "referral")
MAX_ITEMS = 31  # items about a condition are bits of the int32 column ``concerns``
_NO_STATE = np.zeros((0, 0), np.int8)  # the information state when there is no information process
#: :meth:`CareLink.judge_inputs` without a care link (judgments as :func:`.combining.p_correct`)
NO_CARE = (
    False, _NO_STATE, np.zeros(0, np.int64), np.zeros(0, bool), False, ADOPTED, BELIEVES, 0.0, 0.0,
    np.zeros(3, np.int64), np.zeros(3, np.int64), np.zeros(3, np.int64),
)  # fmt: skip
#: the state codes :func:`.accuracy_kernels.tag_cases` reads and writes, in its order
TAG_CODES = (ADOPTED, BELIEVES, CORRECTED, NEUTRAL, UNCONCERNED, H_ADOPTED, H_CORRECTED, H_BELIEVES)


class CareLink:
    """The items about conditions, the harm and benefit counters, and the hooks the
    diagnosis mechanisms call (:meth:`tag`, :meth:`shift`, :meth:`judge`, :meth:`release`)."""

    def __init__(self, model, rng: np.random.Generator):
        self.rng = rng
        self.info = None
        self.items: list[tuple[int, str, int, float]] = []  # (item id, kind, case specialty, share)
        try:
            info = model.process("information")
        except KeyError:
            info = None
        if info is not None and getattr(info, "catalog", None) is not None:
            for j, it in enumerate(info.catalog.items):
                if it.condition is not None and it.kind in ("guideline", "rumor") and len(self.items) < MAX_ITEMS:
                    self.items.append((j, it.kind, CASE_SPECIALTIES.index(it.condition), it.condition_share))
            self.info = info
        self._item = np.array([j for j, _, _, _ in self.items], np.int64)  # for item_states
        self._spec = np.array([spec for _, _, spec, _ in self.items], np.int64)  # for tag_cases
        self._share = np.array([share for _, _, _, share in self.items], np.float64)
        self.rng_ref = GeneratorRef(rng)  # the same stream, as tag_cases draws from it
        self._rumor = np.array([kind == "rumor" for _, kind, _, _ in self.items], bool)
        n_t = 3
        self.harm_wrong = np.zeros((len(JUDGES), n_t), np.int64)  # wrong because of a belief, by judge x tier
        self.benefit_right = np.zeros((len(JUDGES), n_t), np.int64)  # right because of a guideline
        self.held_back = np.zeros(0, np.int64)  # cases whose escalation a belief may still hold back (sorted)
        self.judged_believing = np.zeros((len(JUDGES), n_t), np.int64)

    def active(self, cfg: DiagnosisConfig) -> bool:
        return bool(self.items) and cfg.information_effects.enabled

    def judge_inputs(self, cfg: DiagnosisConfig, judge: int) -> tuple:
        """What a compiled pass needs to make :meth:`judge`'s judgments by ``judge`` (an index
        of :data:`JUDGES`) itself: (with care, the information state, the items, their rumor
        flags, active, the adopted and believes codes, the skill gain and loss, and the
        judge's rows of the harm, believing and benefit counters); :data:`NO_CARE` without
        a care link."""
        fx = cfg.information_effects
        info = self.info.arrays.state if self.info is not None else _NO_STATE
        return (
            True, info, self._item, self._rumor, self.active(cfg), ADOPTED, BELIEVES, float(fx.adopted_skill_gain),
            float(fx.believer_skill_loss), self.harm_wrong[judge], self.judged_believing[judge],
            self.benefit_right[judge],
        )  # fmt: skip

    def tag_inputs(self, cfg: DiagnosisConfig) -> tuple:
        """What :func:`.accuracy_kernels.tag_cases` reads besides the cases (as :meth:`tag`
        gives it, from ``spec`` on): the items' specialties and shares, whether the states
        are read, the information state, the items, their rumor flags and the state codes."""
        info = self.info.arrays.state if self.info is not None and self.items else _NO_STATE
        return (
            self._spec,
            self._share,
            bool(cfg.information_effects.enabled),
            info,
            self._item,
            self._rumor,
            TAG_CODES,
        )

    # ---------------------------------------------------------------- hooks
    def tag(self, st: DxState, cfg: DiagnosisConfig, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """New cases: which items concern them (bit k of ``concerns`` for the k-th item about a
        condition), drawn whatever the effects' setting so that switching them keeps the cases;
        the treating clinician's state for them (``h_info``). Returns, with the effects on,
        whether each treating clinician adopted a guideline / believes a rumor about the case
        (what :meth:`shift` reads), else None. One compiled pass (``tag_cases``)."""
        if not self.items or ids.size == 0:
            return None
        C, row = st.cases, st.rows(ids)
        on = bool(cfg.information_effects.enabled)
        assert self.info is not None  # (items come from it)
        bits, h, ad, bel = tag_cases(
            self.rng_ref, C["spec"][row], self._spec, self._share, on, C["asker"][row], self.info.arrays.state,
            self._item, self._rumor, *TAG_CODES,
        )  # fmt: skip
        C["concerns"][row], C["h_info"][row] = bits, h
        return (ad, bel) if on else None

    def _states(self, bits: np.ndarray, who: np.ndarray):
        """Per (case bits, clinician): adopted a guideline / believes a rumor / holds a correction
        of a rumor, among the items that concern the case."""
        assert self.info is not None
        return item_states(bits, who, self.info.arrays.state, self._item, self._rumor, ADOPTED, BELIEVES, CORRECTED)

    def shift(self, st: DxState, cfg: DiagnosisConfig, cases: np.ndarray, who: np.ndarray, states=None):
        """(gain, loss, believes) per (case, judge): skill added by adopted guidelines, lost by
        believed rumors about the case (zeros when inactive). ``states``: (adopted, believes)
        per judgment when known (from :meth:`tag`)."""
        z = np.zeros(cases.size)
        if not self.active(cfg) or cases.size == 0:
            return z, z, np.zeros(cases.size, bool)
        fx = cfg.information_effects
        ad, bel = self._states(st.cases["concerns"][st.rows(cases)], who)[:2] if states is None else states
        return fx.adopted_skill_gain * ad, fx.believer_skill_loss * bel, bel

    def judge(
        self,
        st: DxState,
        cfg: DiagnosisConfig,
        judge: int,
        cases: np.ndarray,
        who: np.ndarray,
        skill: np.ndarray,
        lacks,
        quality,
        u: np.ndarray,
        tier: np.ndarray,
        shifts: tuple[np.ndarray, np.ndarray, np.ndarray],
    ) -> tuple[np.ndarray, np.ndarray]:
        """(accuracy, correct) of judgments of ``cases`` by ``who`` with base ``skill`` and
        uniform draws ``u``, shifted by the judges' information state (``shifts``, from
        :meth:`shift`); counts harm and benefit per ``tier`` (of the case's facility).
        ``lacks`` and ``quality``: one per judgment (see :func:`.combining.p_correct`). The
        compiled passes make the same judgments with :func:`.accuracy_kernels.judgments`."""
        diff = st.cases["difficulty"][st.rows(cases)]
        gain, loss, bel = shifts
        counted = self.active(cfg) and cases.size > 0
        free, none = counted and bool(bel.any()), counted and bool((gain > 0).any())
        # the accuracy with the judge's skill, and where counted without the belief's loss
        # and without the guideline's gain (compiled, around numpy's exponential)
        e = accuracy_exponents(
            skill, gain, loss, diff, lacks, quality, cfg.image_penalty, cfg.equipment_penalty, cfg.accuracy_slope,
            free, none,
        )  # fmt: skip
        e = np.exp(e)
        harm, believing, benefit = self.harm_wrong[judge], self.judged_believing[judge], self.benefit_right[judge]
        return judged(e, 1.0 / st.n_labels, u, tier, bel, harm, believing, benefit, free, none)

    def delay(self, st: DxState, cfg: DiagnosisConfig, ids: np.ndarray) -> np.ndarray:
        """Days the escalation of the new cases ``ids`` is held back (believing treating
        clinicians); those held back are kept for :meth:`release`."""
        out = np.zeros(ids.size)
        if not self.active(cfg) or ids.size == 0:
            return out
        out = np.where(
            st.cases["h_info"][st.rows(ids)] == H_BELIEVES, cfg.information_effects.believer_delay_hours / 24.0, 0.0
        )
        self.held_back = np.concatenate([self.held_back, ids[out > 0]])
        return out

    def release(self, st: DxState, cfg: DiagnosisConfig, t0: float) -> None:
        """Cases held back by a treating clinician who no longer believes escalate now."""
        if not self.active(cfg) or self.held_back.size == 0:
            return
        C, row = st.cases, st.rows
        # the open cases held back at arrival, not escalated and not yet due: a case that is
        # not so now never is again (release and escalation are what change these columns)
        ids = self.held_back[sorted_member(self.held_back, st.open_ids)]
        r = row(ids)
        held = self.held_back = ids[(C["belief_delay"][r] > 0) & (C["now"][r] == LOCAL) & (C["t_esc"][r] > t0)]
        if held.size == 0:
            return
        _, bel, _ = self._states(C["concerns"][row(held)], C["asker"][row(held)])
        free = held[~bel]
        due = C["t_arrival"][row(free)] + cfg.local_workup_hours / 24.0
        C["belief_delay"][row(free)] = np.maximum(t0 - due, 0.0)
        C["t_esc"][row(free)] = np.maximum(due, t0)


def add_metrics(care: CareLink, out, cases: pd.DataFrame, times: np.ndarray | None = None) -> None:
    """Outcomes of information in care (prefix ``dx``, by tier of the case's facility), when
    some item concerns a condition: cases concerned; harm (judgments wrong because of a
    belief, by judge; hours and cases of escalation held back) and benefit (right because
    of a guideline); concerned cases' wrong diagnoses, accuracy and time to diagnosis; and
    accuracy and time to diagnosis by the treating clinician's state (``handler_<state>``).
    ``times``: the hours of :func:`.survival.durations` of ``cases``, when the caller has them (then
    ``cases`` needs only the columns of :data:`CASE_COLUMNS_READ`)."""
    if not care.items:
        return

    def add(metric: str, value, **dims) -> None:
        out.add("dx", metric, value, **dims)

    done = cases["resolved"].to_numpy()
    correct = cases["correct"].to_numpy(dtype=float, na_value=np.nan)
    time = durations(cases)[0] if times is None else times
    tier_is = label_masks(cases["tier"], TIERS)  # by category code: no string per case
    concerned = cases["concerned"].to_numpy()
    state_is = label_masks(cases["handler_info"], HANDLER_STATES)
    delay = cases["belief_delay_hours"].to_numpy()

    def outcomes(sel: np.ndarray, suffix: str, **dims) -> None:
        d = sel & done
        add(f"cases{suffix}", int(sel.sum()), **dims)
        add(f"wrong{suffix}", int((d & (correct == 0)).sum()), **dims)
        add(f"accuracy{suffix}", float(np.nanmean(correct[d])) if d.any() else None, **dims)
        add(f"ttd_mean_hours{suffix}", float(time[d].mean()) if d.any() else None, **dims)
        add(f"ttd_median_hours{suffix}", km_quantile(time[sel], done[sel], 0.5) if sel.any() else None, **dims)

    for k, t in enumerate(TIERS):
        at = tier_is[t]
        outcomes(at & concerned, "_concerned", tier=t)
        for s in HANDLER_STATES[1:]:
            outcomes(at & state_is[s], f"_handler_{s}", tier=t)
        for j, judge in enumerate(JUDGES):
            add(f"harm_wrong_{judge}", int(care.harm_wrong[j, k]), tier=t)
            add(f"benefit_right_{judge}", int(care.benefit_right[j, k]), tier=t)
            add(f"judged_believing_{judge}", int(care.judged_believing[j, k]), tier=t)
        add("harm_delay_hours", float(delay[at].sum()), tier=t)
        add("harm_delayed_cases", int((at & (delay > 0)).sum()), tier=t)
