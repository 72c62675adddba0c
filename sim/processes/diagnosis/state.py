"""The state of a run of the diagnosis process, shared by its mechanisms.

* ``cases``: one row per case that has arrived (a growable :class:`~sim.table.Table`), and
  ``scores``, its answers' log-likelihood per diagnosis. A case's id is its order of arrival
  and its row is :meth:`DxState.rows`: the id itself unless the run streams its cases, when
  finished cases are written out and dropped (:func:`.outputs.stream_cases`) and the rows
  hold the cases still in play and those that arrived since;
* ``requests``: one row per group post or 1-on-1 message (its id is its row), and
  ``open_requests``: those still open (their case not yet diagnosed) with what answering
  them needs, a row each (rows of requests closed since are dropped once they are as many
  as the open ones);
* ``pairs``: (request, member) pairs not yet answered or declined;
* ``inflight``: answers started and not yet finished; ``answer_log``: finished answers;
* ``experts``: one entry per clinician (answering record, on-call status);
* the open sets: consulting cases not yet diagnosed and not at a referral, the referral
  visits to come (in order of time), the requests of the cases not yet diagnosed (a list
  per case), everyone asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ...kernels import DistinctIds, compact_in_place
from ...rng_ref import GeneratorRef
from ...table import Table
from .config import DROPPED, NONE, PENDING
from .kernels import insert_sorted, link_requests, merge_open_keys
from .resolution_kernels import relink, settle_dropped

if TYPE_CHECKING:  # pragma: no cover
    from ...streaming import TableStream
    from ..trust.process import TrustProcess
    from .care import CareLink

__all__ = [
    "ANSWER_SPEC",
    "CASE_COLUMNS",
    "OPEN_REQUEST_SPEC",
    "PAIR_SPEC",
    "REQUEST_SPEC",
    "DxState",
    "Experts",
]

#: keys added to the asked set before it is merged and its keys of diagnosed cases dropped: at
#: least ASKED_MERGE_MIN, and more than the keys it holds divided by ASKED_MERGE_SHARE (a merge
#: passes over all of them; those added since are searched as a second sorted run meanwhile).
#: At a million clinicians a quarter of the keys held came in about a step: with a share of 4
#: the merge ran nearly every step, and the forgetting of the diagnosed cases took 0.45-0.50 s
#: of 30 days against 0.30 s with a share of 1
ASKED_MERGE_MIN = 1 << 13
ASKED_MERGE_SHARE = 1
#: rows of the open requests at least, before those of requests closed since are dropped
OPEN_REQUESTS_COMPACT_MIN = 1 << 12


PAIR_SPEC = {
    "req": np.int64,
    "exp": np.int32,
    "state": np.int8,
    "ready": np.float64,
    "quality": np.float32,
    "willing": np.bool_,
}
ANSWER_SPEC = {
    "case": np.int64,
    "req": np.int64,
    "exp": np.int32,
    "route": np.int8,
    "group": np.int32,
    "start": np.float64,
    "end": np.float64,
    "label": np.int16,
    "confidence": np.float32,
    "correct": np.bool_,
    "offhours": np.bool_,
    "counted": np.bool_,
    "after_diagnosis": np.bool_,
}


# name: (dtype, value of a new case)
CASE_COLUMNS: dict[str, tuple] = {
    "id": (np.int64, -1),  # order of arrival (a row's case once cases were written out, see DxState.rows)
    "facility": (np.int32, -1),
    "spec": (np.int8, -1),
    "difficulty": (np.float32, 0),
    "need": (np.int8, 1),
    "asker": (np.int32, -1),
    "asker_skill": (np.float32, 0),
    "quality": (np.float32, 1),
    "t_arrival": (np.float64, np.nan),
    "t_dx": (np.float64, np.nan),
    "route": (np.int8, NONE),
    "correct": (np.int8, -1),
    "now": (np.int8, NONE),
    "t_esc": (np.float64, np.inf),
    "t_ref_entry": (np.float64, np.nan),
    "ref_facility": (np.int32, -1),
    "ref_hops": (np.int8, 0),
    "t_ref_dx": (np.float64, np.inf),
    "ref_correct": (np.int8, -1),
    "n_answers": (np.int16, 0),
    "n_counted": (np.int32, 0),  # answers that count towards its diagnosis (combined before it)
    "t_first_request": (np.float64, np.nan),
    "t_first_start": (np.float64, np.nan),
    "t_first_answer": (np.float64, np.nan),
    "lead": (np.int16, -1),
    "concerns": (np.int32, 0),  # bit k: the k-th item about a condition concerns the case (.care)
    "h_info": (np.int8, 0),  # the treating clinician's information state for it (.care.HANDLER_STATES)
    "belief_delay": (np.float64, 0.0),  # days its escalation was held back by a belief
    "n_req": (np.int32, 0),  # requests made before its diagnosis, counted at it (resolution_kernels.forget_cases)
}
# every request of the run, by id
REQUEST_SPEC = {
    "case": np.int64,
    "route": np.int8,
    "group": np.int32,
    "t_post": np.float64,
    # minutes from the post to the end of its first answer (the earliest end of those started
    # for it; NaN: none), computed per answer as (end - t_post) * 24 * 60
    "first_answer_minutes": np.float64,
    "abroad": np.bool_,  # an answer to it came from a member working abroad
}
#: the run's counts (``DxState.counters``): answers counted toward a diagnosis, answers from abroad, ...
COUNTERS = (
    "cases", "resolved", "referrals", "requests", "answers", "offhours", "abroad", "declined", "counted",
    "after_diagnosis",
)  # fmt: skip
#: what a request logs before it has answers
REQUEST_DEFAULTS = {"first_answer_minutes": np.nan, "abroad": False}
#: what a new case holds in the columns it arrives without
CASE_DEFAULTS = {name: fill for name, (_, fill) in CASE_COLUMNS.items()}
#: the columns of the requests that the end-of-run metrics read (a streamed run logs only these)
REQUEST_COLUMNS_READ = ("route", "first_answer_minutes", "abroad")
# the requests still open, with what answering them needs (``id``: the request)
OPEN_REQUEST_SPEC = {
    "id": np.int64,
    "case": np.int64,
    "route": np.int8,
    "group": np.int32,
    "t_post": np.float64,
    "slots": np.int32,
    "quality": np.float32,
    "open": np.bool_,  # False once the case is diagnosed (the row stays until closed rows are dropped)
    "next": np.int64,  # the row of the case's previous request still open (-1: none)
}


#: what a new pair, answer and open request hold until they change (appends leave these out)
PAIR_DEFAULTS = {"state": PENDING, "ready": np.nan, "quality": 0.0, "willing": False}
ANSWER_DEFAULTS = {"counted": False, "after_diagnosis": False}
OPEN_REQUEST_DEFAULTS = {"open": True, "next": -1}


def _new_table(spec: dict, defaults: dict) -> Table:
    """An empty table of ``spec`` whose appends may leave out the columns of ``defaults``."""
    return Table(spec, defaults={name: value for name, value in defaults.items() if name in spec})


def _case_table() -> Table:
    return _new_table({name: dtype for name, (dtype, _) in CASE_COLUMNS.items()}, CASE_DEFAULTS)


#: rows a compacted table keeps room for at least (see :func:`kept_first`)
COMPACT_ROOM_MIN = 1 << 14


def kept_first(table: Table, n: int) -> None:
    """Keep the first ``n`` rows of a table held from step to step (pairs, answers in flight),
    whose kept rows a compiled pass has moved to the front of its columns in place: its
    buffers keep their room for the next appends, unless they hold more than eight times the
    rows (and :data:`COMPACT_ROOM_MIN`): then a burst has passed, and they are cut to twice
    that."""
    table.truncate(n)
    room = 2 * max(len(table), COMPACT_ROOM_MIN)
    if table.capacity > 4 * room:
        table.shrink(room)


@dataclass
class Experts:
    """One entry per clinician: availability, answering record, burnout, on-call status."""

    free_at: np.ndarray  # day from which the clinician can start an answer
    burnout: np.ndarray  # recent off-hours answers (decaying)
    answers_today: np.ndarray
    n_answers: np.ndarray
    n_offhours: np.ndarray
    answer_minutes: np.ndarray
    oncall: np.ndarray
    oncall_reads_per_hour: np.ndarray
    oncall_answer_prob: np.ndarray

    @classmethod
    def new(cls, n: int) -> Experts:
        return cls(
            free_at=np.zeros(n),
            burnout=np.zeros(n),
            answers_today=np.zeros(n, np.int32),
            n_answers=np.zeros(n, np.int32),
            n_offhours=np.zeros(n, np.int32),
            answer_minutes=np.zeros(n),
            oncall=np.zeros(n, bool),
            oncall_reads_per_hour=np.zeros(n),
            oncall_answer_prob=np.zeros(n),
        )


class DxState:
    """Everything the process changes during a run (see the module docstring)."""

    def __init__(self, n_clinicians: int, n_labels: int, rng: np.random.Generator):
        self.rng = rng  # the ``diagnosis`` stream (arrivals have their own)
        self.rng_ref = GeneratorRef(rng)  # the same stream, as the compiled kernels take it
        self.care: CareLink | None = None  # information changes care (set by the process)
        self.trust: TrustProcess | None = None  # pairwise trust (set by the process)
        self.n = n_clinicians
        self.n_labels = n_labels
        self.experts = Experts.new(n_clinicians)
        self.cases = _case_table()
        self._scores = np.zeros((0, n_labels))  # per case and diagnosis: log-likelihood of the answers
        self._req_head = np.zeros(0, np.int64)  # per case (rows, as cases): its latest open request's row (-1: none)
        self.requests = _new_table(REQUEST_SPEC, REQUEST_DEFAULTS)
        self.open_requests = _new_table(OPEN_REQUEST_SPEC, OPEN_REQUEST_DEFAULTS)  # the pairs' ``req`` are its rows
        self.pairs = _new_table(PAIR_SPEC, PAIR_DEFAULTS)
        self.inflight = _new_table(ANSWER_SPEC, ANSWER_DEFAULTS)
        self.answer_log: list[Table] = []
        self.answer_log_rows = 0  # the rows of answer_log (a step's look costs no pass over the list)
        self.answer_sink: TableStream | None = None  # streamed: finished answers go there (outputs.stream_answers)
        self.answers_written_before = -np.inf  # every answer written started before this time
        self.case_sink: TableStream | None = None  # streamed: finished cases go there (outputs.stream_cases)
        self.n_written = 0  # cases written out (streamed)
        self._row_of = np.zeros(0, np.int32)  # then: the row of case id first_held + i (-1: written out)
        self._first_held = 0
        self.last_written = -1  # the largest id written to the file
        self.late_cases: list = []  # rows of cases finished after later ones were written (DataFrames)
        self.stream_check_at = 0  # streamed: rows held from which to look for finished cases again
        self.counters = dict.fromkeys(COUNTERS, 0)
        self.new_cases_since_record = 0
        self.distinct_clinicians = DistinctIds(n_clinicians)  # np.unique(who, return_inverse=True) of clinician ids
        self._empty_open_sets()

    def load_kernels(self) -> None:
        """Load (at the first use after an install: compile) the kernels of the state's rare
        passes now, on empty inputs, so that set-up pays for it rather than a step deep in a
        run: the merge of the asked keys (:meth:`forgotten`) and the relinking of the open
        requests after their compaction; streamed (called again once the sinks are set), the
        compaction of the case table's columns as the cases written out leave it."""
        none, C = np.zeros(0, np.int64), self.cases
        merge_open_keys(none, none, self.n, self._first_held, self._row_map(), C["t_dx"], C["t_ref_entry"])
        relink(none, none)
        if self.case_sink is not None:  # streamed: the cases written out leave the table (Table.keep)
            for dtype in {np.dtype(d) for d in C.spec.values()}:
                compact_in_place(np.zeros(0, dtype), np.zeros(0, bool))

    def _empty_open_sets(self) -> None:
        self.open_ids = np.zeros(0, np.int64)  # consulting cases not yet diagnosed nor at a referral (sorted)
        self.visit_t = np.zeros(0)  # referral visits to come: time (sorted) ...
        self.visit_case = np.zeros(0, np.int64)  # ... and case
        self._n_open_reqs = 0  # rows of open_requests still open
        # everyone asked about a case still consulting, as case * n + member keys: sorted, and those added
        # since (unsorted); keys of cases diagnosed or referred since are dropped when the two are merged
        self._asked = np.zeros(0, np.int64)
        self._asked_new: list[np.ndarray] = []
        self._n_asked_new = 0

    @property
    def scores(self) -> np.ndarray:
        """Per case (rows, as ``cases``) and diagnosis (columns): summed log-likelihood weight of its answers."""
        return self._scores[: len(self.cases)]

    def add_cases(self, **columns: np.ndarray) -> np.ndarray:
        """Append new cases (the columns not given take their defaults); their ids."""
        n = len(self.cases)
        self.cases.append(columns)
        m = len(self.cases)
        if self._scores.shape[0] < m:
            room = max(2 * self._scores.shape[0], m, 256)
            grown = np.zeros((room, self.n_labels))
            grown[:n] = self._scores[:n]
            self._scores = grown
            head = np.full(room, -1, np.int64)
            head[:n] = self._req_head[:n]
            self._req_head = head
        ids = np.arange(self.n_written + n, self.n_written + m)
        self.cases["id"][n:m] = ids
        if self.n_written:  # ids run on from the last held one: extend the row map (doubling)
            need = int(ids[-1]) - self._first_held + 1
            if need > self._row_of.size:
                longer = np.full(max(2 * self._row_of.size, need), -1, np.int32)
                longer[: self._row_of.size] = self._row_of
                self._row_of = longer
            self._row_of[ids - self._first_held] = np.arange(n, m)
        return ids

    @property
    def held(self) -> np.ndarray | None:
        """The id of each row of ``cases`` (sorted) once some cases were written out, else None
        (row = id)."""
        return self.cases["id"] if self.n_written else None

    def rows(self, ids: np.ndarray) -> np.ndarray:
        """The rows of ``cases`` (and ``scores``) of the case ids ``ids`` (cases held)."""
        # (int64 either way: the kernels that take rows are loaded for one type)
        return ids if not self.n_written else self._row_of[ids - self._first_held].astype(np.int64)

    def requests_made(self) -> np.ndarray:
        """Per case held (row of ``cases``): the requests made before its diagnosis (all of them
        when it is not diagnosed)."""
        n, H = len(self.cases), self.open_requests
        still_open = np.bincount(self.rows(H["case"][H["open"]]), minlength=n)[:n] if n else np.zeros(0, np.int64)
        return self.cases["n_req"] + still_open

    @property
    def open_reqs(self) -> np.ndarray:
        """The rows of ``open_requests`` still open (ascending)."""
        return np.flatnonzero(self.open_requests["open"])

    def held_ids(self) -> np.ndarray:
        """The id of each row of ``cases``."""
        return np.arange(len(self.cases)) if self.held is None else self.held

    def add_requests(self, **columns) -> np.ndarray:
        """Append requests about cases not yet diagnosed (the columns of
        :data:`OPEN_REQUEST_SPEC` but the id, open and next; arrays or scalars); their rows of
        ``open_requests``. They stay open until their case is diagnosed."""
        R, H = self.requests, self.open_requests
        first, n = len(R), len(H)
        k = columns["case"].size  # (the lean log may have no column given as an array)
        R.append({name: v if type(v) is np.ndarray else np.full(k, v) for name, v in columns.items() if name in R.spec})
        H.append(id=np.arange(first, len(R)), **columns)
        link_requests(self._req_head, H["next"], n, self.rows(H["case"][n:]))
        self._n_open_reqs += len(H) - n
        return np.arange(n, len(H))

    def add_pairs(self, req: np.ndarray, exp: np.ndarray, case: np.ndarray) -> None:
        """New (request, member) pairs, pending until the member reads the request (``req``:
        requests just made, about cases ``case`` not yet diagnosed)."""
        keys = case.astype(np.int64) * self.n + exp
        self._asked_new.append(keys)
        self._n_asked_new += keys.size
        self.pairs.append(req=req, exp=exp)

    def log_finished(self, answers: Table) -> None:
        """Keep the answers finished in a step (``answer_log``; streamed runs write them out)."""
        self.answer_log.append(answers)
        self.answer_log_rows += len(answers)

    def drop_pairs(self, which: np.ndarray) -> None:
        """The pairs ``which`` (rows, or a bool per row) leave: declined, answered, or their
        request full or closed. They are marked :data:`.config.DROPPED` (every reader of the
        pairs looks at pending or queued ones alone) and their rows removed, the others'
        order kept, once they are half the table (:meth:`settle_pairs`): compacting every
        pair at each change costs more than passing over the dropped rows meanwhile."""
        self.pairs["state"][which] = DROPPED

    def settle_pairs(self, force: bool = False) -> None:
        """Remove the rows of the dropped pairs when they are at least half the rows (or
        any, with ``force``)."""
        P = self.pairs
        if len(P):
            left = settle_dropped(P.columns(), DROPPED, force)  # one compiled pass
            if left < len(P):
                kept_first(P, left)

    def n_open_pairs(self) -> int:
        """The (request, member) pairs not yet answered, declined or dropped."""
        return len(self.pairs) - int(np.count_nonzero(self.pairs["state"] == DROPPED))

    def asked_keys(self) -> tuple[np.ndarray, np.ndarray]:
        """The keys ``case * n + member`` of the (case, member) pairs asked about cases not
        yet diagnosed: those of the last merge, and those added since (each sorted)."""
        if not self._asked_new:
            return self._asked, self._asked[:0]
        # sorted once, then kept as one run until the next merge (sorted runs: merged in linear time)
        keys = np.concatenate(self._asked_new)  # (a new array: sorted in place)
        keys.sort(kind="stable")
        self._asked_new = [keys]
        return self._asked, self._asked_new[0]

    def book_visits(self, ids: np.ndarray, t: np.ndarray) -> None:
        """Referral visits booked for the cases ``ids`` at times ``t`` (kept in order of time)."""
        order = t.argsort(kind="stable")
        self.visit_t, self.visit_case = insert_sorted(self.visit_t, self.visit_case, t[order], ids[order])

    def visit_before(self, t: float) -> bool:
        """Whether a referral visit falls before ``t``."""
        return bool(self.visit_t.size) and bool(self.visit_t[0] < t)

    def drop_visits(self, k: int) -> None:
        """The first ``k`` referral visits leave the queue (taken by a step's pass:
        :func:`.resolution_kernels.diagnose_due`)."""
        self.visit_t, self.visit_case = self.visit_t[k:], self.visit_case[k:]

    def row_lookup(self) -> tuple[int, np.ndarray]:
        """What a kernel needs to find a case's row (see :func:`.kernels._case_open`): the
        first id held and the row map (empty while row = id)."""
        return self._first_held, self._row_map()

    def _row_map(self) -> np.ndarray:
        """The row map of the kernels: empty until cases were written out (row = id)."""
        return self._row_of if self.n_written else self._row_of[:0]

    def forget_inputs(self) -> tuple[np.ndarray, tuple, tuple, np.ndarray]:
        """What :func:`.resolution_kernels.forget_cases` reads and changes when cases are
        diagnosed (their open ids, pairs and open requests leave; those made before the
        diagnosis are counted in the case's ``n_req``): the open ids, the requests' lists
        (head per case, next per request, open, slots, t_post), the pairs (state, req) and
        the cases' ``n_req``. The work is on the open sets, not on every case."""
        H, P = self.open_requests, self.pairs
        requests = (self._req_head, H["next"], H["open"], H["slots"], H["t_post"])
        return self.open_ids, requests, (P["state"], P["req"]), self.cases["n_req"]

    def forgotten(self, open_ids: np.ndarray, closed: int) -> None:
        """After the cases diagnosed in a step left the open sets (``open_ids``, the open ids
        kept; ``closed`` requests): the rows of closed requests are dropped once they are
        more than the open ones; the asked keys of the cases diagnosed go at the next merge
        (nobody asks about a diagnosed case), once more keys were added than are kept
        (:data:`ASKED_MERGE_SHARE`). So do those of the cases referred since: they never
        escalate again, so the keys kept are those of the cases still consulting, not of
        every case waiting for a referral visit."""
        self.open_ids = open_ids
        self._n_open_reqs -= closed
        if len(self.open_requests) > max(2 * self._n_open_reqs, OPEN_REQUESTS_COMPACT_MIN):
            self._drop_closed_requests()
        if self._n_asked_new > max(self._asked.size // ASKED_MERGE_SHARE, ASKED_MERGE_MIN):
            C = self.cases
            recent = np.sort(np.concatenate(self._asked_new), kind="stable")
            keys = merge_open_keys(
                self._asked, recent, self.n, self._first_held, self._row_map(), C["t_dx"], C["t_ref_entry"]
            )
            self._asked, self._asked_new, self._n_asked_new = keys, [], 0

    def log_requests_lean(self) -> None:
        """Log only the columns of the requests that the metrics read from now on (a
        streamed run, before it runs: the end of the run keeps no others)."""
        if len(self.requests):
            raise RuntimeError("log_requests_lean: requests were already logged")
        self.requests = _new_table({name: REQUEST_SPEC[name] for name in REQUEST_COLUMNS_READ}, REQUEST_DEFAULTS)

    def _drop_closed_requests(self) -> None:
        """Keep only the open requests' rows of ``open_requests``; the pairs (all of open
        requests) and the open set follow their rows."""
        H = self.open_requests
        self.settle_pairs(force=True)  # the pairs' requests are open (a dropped pair's may not be)
        keep = H["open"].copy()
        new_row = np.cumsum(keep, dtype=np.int64) - 1
        H.keep(keep)
        for links in (H["next"], self._req_head):  # rows of open requests, or -1
            relink(links, new_row)
        if len(self.pairs):
            req = self.pairs["req"]
            req[:] = new_row[req]

    def release(self) -> None:
        """Free the run state once the cases and answers are written out and the figures of the
        request log taken (a streamed run's end): the cases held and their scores, the pairs,
        the answers in flight, the open sets and the request log. The experts and the counters
        stay. Nothing can step the state after this."""
        self.cases = _case_table()
        self._scores = np.zeros((0, self.n_labels))
        self._req_head = np.zeros(0, np.int64)
        self._row_of = np.zeros(0, np.int32)
        self.pairs = _new_table(PAIR_SPEC, PAIR_DEFAULTS)
        self.inflight = _new_table(ANSWER_SPEC, ANSWER_DEFAULTS)
        self.open_requests = _new_table(OPEN_REQUEST_SPEC, OPEN_REQUEST_DEFAULTS)
        self._empty_open_sets()
        self.requests = self.requests.empty_like()

    def drop_cases(self, written: np.ndarray) -> None:
        """Drop the rows ``written`` (bool per row of ``cases``: written out) and their scores."""
        n = len(self.cases)
        keep = ~written
        k = int(keep.sum())
        self.cases.keep(keep)
        self._scores[:k] = self._scores[:n][keep]
        self._scores[k:n] = 0.0
        self._req_head[:k] = self._req_head[:n][keep]  # the cases written out had no open request
        self._req_head[k:n] = -1
        self.n_written += n - k
        ids = self.cases["id"]  # the row map, from the oldest case held
        self._first_held = int(ids[0]) if k else self.n_written
        need = max(2 * (int(ids[-1]) - self._first_held + 1), 1024) if k else 1024
        if need <= self._row_of.size <= 4 * need:  # the map is made again in its own buffer
            self._row_of.fill(-1)
        else:
            self._row_of = np.full(need, -1, np.int32)
        self._row_of[ids - self._first_held] = np.arange(k)
