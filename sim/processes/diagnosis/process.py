"""The diagnosis process: a hard case at a township clinic, from arrival to diagnosis.

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
``escalation = "parallel"`` asks the group and the contact at once and starts the
referral ``referral_patience_hours`` later; a booked visit that an accepted answer
precedes is cancelled (its slot stays unused; ``dx_referrals_cancelled``). Patience is
log-normal per case, median by the asker's tier (:func:`.routing.draw_patience`).

One step ``[t0, t1)`` (all draws from the ``diagnosis`` streams; event times are
continuous, not rounded to steps):

1. new cases (:mod:`.arrivals`): Poisson counts per facility, uniform times in the step
   (``diagnosis.arrivals`` stream: the same cases whatever else changes); the local
   decision at ``arrival + local_workup_hours``;
2. escalation (:mod:`.routing`): cases whose next route is due before ``t1`` post a
   request (group or 1-on-1) or are referred, at the exact due time; a route without
   anyone to ask is skipped at once;
3. reading (:mod:`.answering`): each member asked opens the chats as a Poisson process
   whose rate is ``activity.read_rate`` (x ``offhours_engagement`` outside work hours;
   on-call members read at ``reads_per_hour``); a request is read at the first opening
   after it was posted (``read_delay = "none"``: at once), and the reader decides once
   whether to answer (``group_answer_prob`` / ``contact_answer_prob``, lowered by
   burnout; a member at the daily cap does not read requests until the next day);
4. answering (:mod:`.answering`): willing readers answer one request at a time, oldest
   first, each taking an answer time (``answer_mean_minutes``); a request takes at most
   ``max_answers_per_request`` answers. Matching is exact within the step (rounds of
   mutually earliest expert/request pairs, see :func:`.answering.match`);
5. combining and resolving (:mod:`.combining`, :mod:`.referral`): answers completed
   before ``t1`` are combined in the order they arrive; the asker accepts the leading
   diagnosis once its posterior reaches ``accept_confidence``; referral visits booked at
   the escalation time resolve cases still open.

The one within-step approximation: an answer started, or an escalation made, in the
same step as but after the case's diagnosis is not withdrawn (the asker's "solved"
would have stopped it). Such answers do not count towards the diagnosis and are
counted in ``dx_answers_after_diagnosis``; they vanish as the step shrinks. Work hours
(availability) and reading rates change at step boundaries (exact when the step
divides an hour).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ... import streaming
from ...components import Component, Outputs
from ...table import Table
from ..trust.process import running
from . import answering, combining, outputs
from .arrivals import Arrivals, case_rates
from .care import CASE_COLUMNS_READ as CARE_CASE_COLUMNS
from .care import CareLink
from .care import add_metrics as add_care_metrics
from .config import DiagnosisConfig
from .referral import Referrals
from .routing import Router
from .staff import Staff
from .state import DxState, Experts
from .survival import durations

if TYPE_CHECKING:  # pragma: no cover
    from ...model import QunModel
    from ...results import Recorder
    from ...streaming import StreamedTable

__all__ = ["DiagnosisProcess"]


class DiagnosisProcess(Component):
    """Hard cases: local diagnosis, group and 1-on-1 requests, answers, referral."""

    name = "diagnosis"
    kind = "process"
    reads = ("information",)  # guidelines adopted and rumors believed change care (.care)
    config: DiagnosisConfig

    # ------------------------------------------------------------------ set-up
    def setup(self, model: QunModel) -> None:
        cfg, pop = self.config, model.pop
        self.state = DxState(pop.n, cfg.n_wrong_diagnoses + 1, model.streams("diagnosis"))
        self.state.load_kernels()
        self.state.care = CareLink(model, model.streams("diagnosis.conditions"))
        self.state.trust = running(model)
        self.arrivals = Arrivals(model.streams("diagnosis.arrivals"))
        self.staff = Staff(pop, cfg.answer_roles)
        self.referrals = Referrals(pop)
        self.router = Router()
        self.day: int | None = None  # calendar day of the current step (for the daily cap)

    # -------------------------------------------------------------- public view
    @property
    def cases(self) -> Table:
        """The case table (columns by name, one row per case arrived)."""
        if self.state.held is not None:
            raise RuntimeError("the cases are streamed to a file: read the cases table of the results")
        return self.state.cases

    @property
    def requests(self) -> Table:
        """The request log: one row per group post or 1-on-1 message, by id (case, route,
        group, time, minutes to its first answer, whether an answer came from abroad; a streamed
        run logs only the columns of :data:`~.state.REQUEST_COLUMNS_READ`, and frees the log at
        its end, once the metrics took its figures)."""
        return self.state.requests

    @property
    def experts(self) -> Experts:
        """Per clinician: answers, off-hours answers, answer minutes, burnout, on call."""
        return self.state.experts

    @property
    def counters(self) -> dict[str, int]:
        return self.state.counters

    def case_rates(self, model: QunModel) -> np.ndarray:
        """Cases per day at each facility under the current settings."""
        return case_rates(self.config, model.pop)

    def eligible_experts(self, pop) -> np.ndarray:
        """Bool per clinician: has a role that answers requests (``answer_roles``)."""
        self.staff.update(self.config.answer_roles)
        return self.staff.answering

    def state_of(self, clinician: int, item: int = 0) -> dict:
        """A clinician's answering record: answers, off-hours answers, burnout, on call."""
        E = self.state.experts
        return {
            "answers": int(E.n_answers[clinician]),
            "offhours_answers": int(E.n_offhours[clinician]),
            "burnout": float(E.burnout[clinician]),
            "oncall": bool(E.oncall[clinician]),
        }

    def set_oncall(self, who: np.ndarray, reads_per_hour: float, answer_prob: float, on: bool = True) -> None:
        """Put clinicians on (or off) the on-call roster: they act on requests at every hour,
        read at ``reads_per_hour`` at least and answer with ``answer_prob`` at least."""
        E = self.state.experts
        E.oncall[who] = on
        E.oncall_reads_per_hour[who] = reads_per_hour if on else 0.0
        E.oncall_answer_prob[who] = answer_prob if on else 0.0

    # -------------------------------------------------------------------- step
    def step(self, model: QunModel) -> None:
        cfg, st, pop, clock = self.config, self.state, model.pop, model.clock
        t0, dt = clock.t, clock.step_days
        t1 = t0 + dt
        day = int(np.floor(t0 + clock.start_hour / 24.0 + 1e-9))
        if day != self.day:
            self.day = day
            st.experts.answers_today[:] = 0
        if st.experts.burnout.size:
            st.experts.burnout *= np.exp(-dt / cfg.burnout_recovery_days)
        staff = self.staff
        staff.update(cfg.answer_roles)  # a settings intervention may have changed them
        self.arrivals.admit(st, cfg, pop, staff, t0, dt)
        if st.care is not None:
            st.care.release(st, cfg, t0)  # believers corrected since: their held cases escalate
        entered_referral = self.router.escalate(st, cfg, model, staff, day, t1)
        answering.read(st, cfg, model, t0, t1)
        answering.match(st, cfg, model, t0, t1)

        def book(cases: np.ndarray) -> None:
            self.referrals.book(st, cfg, staff, pop, cases)

        combining.resolve(st, cfg, t1, entered_referral, book)
        st.settle_pairs()
        if st.answer_sink is not None:
            outputs.stream_answers(st, t0)
        if st.case_sink is not None:
            outputs.stream_cases(st, pop, t1)

    # ------------------------------------------------------------------ outputs
    def record(self, model: QunModel, rec: Recorder) -> None:
        outputs.record(self.state, rec, model.t)

    def answers_frame(self) -> pd.DataFrame:
        """One row per answer (``answers`` table)."""
        return outputs.answers_frame(self.state)

    def cases_frame(self, model: QunModel) -> pd.DataFrame:
        """One row per case (``cases`` table); unresolved cases are censored at the end."""
        return outputs.cases_frame(self.state, model.pop, model.t)

    def finish(self, model: QunModel, out: Outputs) -> None:
        held: pd.DataFrame | StreamedTable  # the metrics do not read the answers (the request log has their part)
        if self.state.answer_sink is not None:
            held = outputs.close_answers(self.state)
        else:
            held = outputs.answers_frame(self.state)
        held_cases: pd.DataFrame | StreamedTable
        requests, streamed, times = None, None, None
        if self.state.case_sink is not None:
            streamed = outputs.close_cases(self.state, model.pop, model.t)
            if model.streamed:  # before the merge and the read-back: the end of the run does not hold both
                requests = outputs.request_figures(self.state)  # the request log goes, too
                self.state.release()
                streaming.trim_heap()
            streamed = outputs.merge_late_cases(self.state, streamed)
            # the metrics read back only their columns, and the curves' times rather than the two
            # columns they come from
            times = durations(_read_back(streamed, outputs.HOURS_COLUMNS))[0]
            held_cases, cases = streamed, _read_back(streamed, outputs.CASE_COLUMNS_READ)
        else:
            held_cases = cases = outputs.cases_frame(self.state, model.pop, model.t)
        parallel = self.config.escalation == "parallel"
        outputs.add_metrics(self.state, out.metrics, cases, model.t, parallel, requests, times)
        if self.state.care is not None:
            if streamed is not None:  # the columns the care metrics read, once the others are gone
                del cases
                streaming.trim_heap()
                cases = _read_back(streamed, CARE_CASE_COLUMNS)
            add_care_metrics(self.state.care, out.metrics, cases, times)
        del cases, times
        if streamed is not None:
            streaming.trim_heap()
        for name, text in outputs.summary_lines(out.metrics, self.config.groups).items():
            out.metrics.note(name, text)
        out.tables["cases"] = held_cases
        out.tables["answers"] = held


def _read_back(table: StreamedTable, columns: list[str]) -> pd.DataFrame:
    """``columns`` of the streamed ``table``; the pages of the read's buffers go back to the system."""
    try:
        return table.frame(columns)
    finally:
        streaming.trim_heap()
