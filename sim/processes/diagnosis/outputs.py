"""What the diagnosis process reports: time series, tables, metrics and summary lines.

Metrics go to :class:`~sim.results.Metrics` with prefix ``dx`` and their dimensions
(``tier``, ``route``, ``specialty``); the flat names in ``metrics.json`` follow
:func:`sim.results.metric_name`, e.g. ``dx_ttd_median_hours_consulted_primary`` is
metric ``ttd_median_hours_consulted`` at tier ``primary``. Two families pack their
dimension differently and are plain metrics without dimension: accuracy by route
(``dx_accuracy_local``, ...) and the first answer by kind of request
(``dx_group_requests``, ``dx_contact_first_answer_median_minutes``, ...).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ... import streaming
from ...arrays import label_masks
from ...results import Metrics, Recorder
from ...schema import TIERS
from ...table import Table
from .care import HANDLER_STATES
from .config import CASE_SPECIALTIES, CONTACT, GROUP, LOCAL, ROUTES
from .state import REQUEST_COLUMNS_READ, DxState

if TYPE_CHECKING:  # pragma: no cover
    from ...streaming import StreamedTable
from .survival import curve_quantile, curve_share_by, durations, km_curve

__all__ = [
    "CASE_COLUMNS_READ",
    "HOURS_COLUMNS",
    "REQUEST_COLUMNS_READ",
    "add_metrics",
    "answers_frame",
    "cases_frame",
    "close_answers",
    "close_cases",
    "record",
    "request_figures",
    "stream_answers",
    "stream_cases",
    "summary_lines",
]

PREFIX = "dx"
#: streamed: the share of the case table's buffers filled from which finished cases are written
#: out once half a chunk is held (:func:`stream_cases`)
STREAM_FULL = 0.9
#: the columns of the cases that :func:`add_metrics` reads besides those of :func:`.survival.durations`
#: (the care metrics': :data:`.care.CASE_COLUMNS_READ`)
CASE_COLUMNS_READ = [
    "tier", "specialty", "resolved", "route", "route_at_end", "consulted", "correct", "t_referral_visit",
]  # fmt: skip
#: the columns of the cases that :func:`.survival.durations` reads
HOURS_COLUMNS = ["time_to_diagnosis_hours", "censor_hours"]


def record(st: DxState, rec: Recorder, t: float) -> None:
    """The time-series rows at time ``t`` (counts; no dimensions)."""
    C, counters = st.cases, st.counters  # the cases written out were diagnosed before now
    diagnosed = int(np.count_nonzero(C["t_dx"] <= t))  # (open: NaN)
    rec.add("n_dx_open_cases", len(C) - diagnosed)
    rec.add("new_dx_cases", st.new_cases_since_record)
    st.new_cases_since_record = 0
    rec.add("cum_dx_cases", counters["cases"])
    rec.add("cum_dx_diagnosed", st.n_written + diagnosed)
    rec.add("cum_dx_referrals", counters["referrals"])
    rec.add("cum_dx_requests", counters["requests"])
    rec.add("cum_dx_answers", counters["answers"])
    rec.add("cum_dx_offhours_answers", counters["offhours"])
    rec.add("n_dx_open_asks", st.n_open_pairs())  # (request, member) not yet answered
    rec.add("n_dx_oncall", int(st.experts.oncall.sum()))


def answers_frame(st: DxState) -> pd.DataFrame:
    """One row per answer started (finished or not), in order of start."""
    if st.answer_sink is not None:
        raise RuntimeError("the answers are streamed to a file: read it once the run is finished")
    A = Table.concat([*st.answer_log, st.inflight])
    return _by_start(A)


def _by_start(A: Table) -> pd.DataFrame:
    return (
        pd.DataFrame(
            {
                "case": A["case"],
                "expert": A["exp"],
                "request": A["req"],
                "route": pd.Categorical.from_codes(A["route"], ROUTES),
                "group": A["group"],
                "t_start": A["start"],
                "t_end": A["end"],
                "minutes": (A["end"] - A["start"]) * 24 * 60,
                "label": A["label"],
                "correct": A["correct"],
                "confidence": A["confidence"],
                "offhours": A["offhours"],
                "counted": A["counted"],
                "after_diagnosis": A["after_diagnosis"],
            }
        )
        .sort_values("t_start", kind="stable")
        .reset_index(drop=True)
    )


def stream_answers(st: DxState, t: float) -> None:
    """Streamed (``st.answer_sink``): once :data:`sim.streaming.CHUNK_ROWS` finished answers
    are held, write those that started before every answer still to come (before ``t``, the
    start of this step, and before every answer in flight), in order of start.

    The rows written start before the rows held back, so the file is in the order of the
    in-memory table (a stable sort by start of finished answers, then those in flight); an
    answer starting before what was written already stops the run with an error."""
    if st.answer_log_rows < streaming.CHUNK_ROWS:
        return
    assert st.answer_sink is not None
    L = Table.concat(st.answer_log)
    start = L["start"]
    if start.min() < st.answers_written_before:
        raise RuntimeError("an answer started before answers already written: they cannot be streamed")
    cutoff = min(float(t), float(st.inflight["start"].min()) if len(st.inflight) else np.inf)
    ready = start < cutoff
    if ready.any():
        st.answer_sink.write(_by_start(L.take(ready)))
        L = L.take(~ready)
        st.answers_written_before = cutoff
    st.answer_log = [L] if len(L) else []
    st.answer_log_rows = len(L)


def close_answers(st: DxState) -> StreamedTable:
    """Streamed: write the answers held (finished and in flight) and close the file."""
    assert st.answer_sink is not None
    A = Table.concat([*st.answer_log, st.inflight])
    if len(A) and A["start"].min() < st.answers_written_before:
        raise RuntimeError("an answer started before answers already written: they cannot be streamed")
    return st.answer_sink.close(_by_start(A))


def stream_cases(st: DxState, pop, t: float) -> None:
    """Streamed (``st.case_sink``): once :data:`sim.streaming.CHUNK_ROWS` cases are held, or
    half as many when the next arrivals would outgrow the table's buffers (90% of them are
    filled), write the finished ones and drop them: the buffers grow for cases still in play,
    not for finished ones waiting to be written.

    Finished: diagnosed before ``t`` (the end of this step) with no answer in flight. Nothing
    changes such a case again (its requests are closed, its pairs dropped), and its row of
    :func:`cases_frame` is the same at any end of the run after ``t``. They are written when
    there are a quarter chunk of them, or a sixteenth when the buffers are that full; when
    fewer, the next look is after a sixteenth of a chunk more has arrived. Rows go to the
    file in order of id; a case finished after later ones were written (one waiting for a
    referral visit, say) is held back and merged in at the end (:func:`close_cases`)."""
    C = st.cases
    n, chunk = len(C), streaming.CHUNK_ROWS
    full = n >= STREAM_FULL * C.capacity
    if n < max(chunk // 2, st.stream_check_at, 1) or (n < chunk and not full):
        return
    done = C["t_dx"] <= t  # NaN (open): False
    if len(st.inflight):
        done[st.rows(st.inflight["case"])] = False
    if int(done.sum()) < max(chunk // (16 if full else 4), 1):
        st.stream_check_at = n + max(chunk // 16, 1)
        return
    # in slices of a quarter chunk, as at the end of the run: no table of them all at once
    rows, step = np.flatnonzero(done), max(chunk // 4, 1)
    n_req = st.requests_made()
    for a in range(0, rows.size, step):
        _write_cases(st, _cases_rows(st, pop, t, rows[a : a + step], n_req))
    st.drop_cases(done)
    st.stream_check_at = 0


def _write_cases(st: DxState, frame: pd.DataFrame) -> None:
    """Write cases (in order of id) after those written; hold back those of earlier ids."""
    assert st.case_sink is not None
    ids = frame["case"].to_numpy()
    late = ids <= st.last_written
    if late.any():
        st.late_cases.append(frame[late])
        frame = frame[~late]
    st.case_sink.write(frame.reset_index(drop=True))
    if len(frame):
        st.last_written = int(ids[~late][-1])


def close_cases(st: DxState, pop, T: float) -> StreamedTable:
    """Streamed: write the cases held and close the file (then :func:`merge_late_cases`).

    The cases held go in slices of a quarter chunk: the end of a large run builds no
    table of them all at once."""
    assert st.case_sink is not None
    n, step = len(st.cases), max(streaming.CHUNK_ROWS // 4, 1)
    n_req = st.requests_made()
    frame = None
    for a in range(0, max(n, 1), step):
        frame = _cases_rows(st, pop, T, slice(a, a + step), n_req)
        _write_cases(st, frame)
    assert frame is not None
    return st.case_sink.close(frame.iloc[:0])


def merge_late_cases(st: DxState, table: StreamedTable) -> StreamedTable:
    """Merge the cases held back (finished after later ones were written) into the file."""
    if not st.late_cases:
        return table
    late = pd.concat(st.late_cases).sort_values("case", kind="stable")
    st.late_cases = []
    return streaming.merge_sorted(table, late, "case")


def cases_frame(st: DxState, pop, T: float) -> pd.DataFrame:
    """One row per case; unresolved cases (also those whose diagnosis falls after the end
    ``T``) have NaN ``t_diagnosis`` and are censored at the end (``censor_hours``)."""
    if st.held is not None:
        raise RuntimeError("the cases are streamed to a file: read it once the run is finished")
    return _cases_rows(st, pop, T, None)


def _cases_rows(
    st: DxState, pop, T: float, sel: np.ndarray | slice | None, n_req: np.ndarray | None = None
) -> pd.DataFrame:
    """The rows of :func:`cases_frame` of the cases held in the rows ``sel`` (rows in order, or a
    slice; None: all);
    ``n_req``: :meth:`DxState.requests_made`, when already counted."""
    C = st.cases
    ids = st.held_ids()
    if n_req is None:
        n_req = st.requests_made()

    def col(name: str) -> np.ndarray:
        return C[name] if sel is None else C[name][sel]

    if sel is not None:
        ids, n_req = ids[sel], n_req[sel]
    t_arr, t_dx = col("t_arrival"), col("t_dx")
    done = t_dx <= T
    route_end = np.where(done, col("route"), col("now")).astype(np.int64)
    # category codes, as the labels [*ROUTES, "none"] indexed by route_end would be coded
    end_code = np.arange(len(ROUTES) + 1)[route_end]
    route_code = np.where(done, np.where(end_code < len(ROUTES), end_code, -1), len(ROUTES))
    fac = col("facility")
    return pd.DataFrame(
        {
            "case": ids,
            "facility": fac,
            "region": pd.Categorical.from_codes(pop.fac_region[fac], pop.region_names),
            "tier": pd.Categorical.from_codes(pop.fac_tier[fac], TIERS),
            "specialty": pd.Categorical.from_codes(col("spec"), CASE_SPECIALTIES),
            "difficulty": col("difficulty"),
            "needs_equipment": col("need"),
            "lacks_equipment": pop.fac_equipment[fac] < col("need"),
            "image_quality": col("quality"),
            "asker": col("asker"),
            "asker_skill": col("asker_skill"),
            "t_arrival": t_arr,
            "t_first_request": col("t_first_request"),
            "t_first_answer": col("t_first_answer"),
            "t_diagnosis": np.where(done, t_dx, np.nan),
            "time_to_diagnosis_hours": np.where(done, (t_dx - t_arr) * 24.0, np.nan),
            "censor_hours": np.where(done, np.nan, (T - t_arr) * 24.0),
            "resolved": done,
            "route": pd.Categorical.from_codes(route_code, categories=[*ROUTES, "unresolved"]),
            "route_at_end": pd.Categorical.from_codes(end_code, categories=[*ROUTES, "none"]),
            "consulted": ~(done & (col("route") == LOCAL)),
            "correct": pd.array(np.where(done, col("correct") == 1, None), dtype="boolean"),
            "n_answers": col("n_counted").astype(np.int64),
            "n_requests": n_req,
            "t_referral": col("t_ref_entry"),
            "t_referral_visit": np.where(np.isfinite(col("t_ref_dx")), col("t_ref_dx"), np.nan),
            "referral_facility": col("ref_facility"),
            "referral_hops": col("ref_hops"),
            # information and care (.care): items about the case's condition, the treating
            # clinician's state for them at arrival, hours its escalation was held back by a belief
            "concerned": col("concerns") != 0,
            "handler_info": pd.Categorical.from_codes(col("h_info"), HANDLER_STATES),
            "belief_delay_hours": col("belief_delay") * 24.0,
        }
    )


def _share(x: np.ndarray) -> float | None:
    return float(x.mean()) if x.size else None


def add_metrics(
    st: DxState,
    out: Metrics,
    cases: pd.DataFrame,
    t_end: float,
    parallel: bool = False,
    requests: dict[str, float | int | None] | None = None,
    times: np.ndarray | None = None,
) -> None:
    """The outcome figures of the run (prefix ``dx``), from the cases table and the state (the
    request log and counters: not the answers table); ``parallel`` (escalation = "parallel")
    adds the referral visits cancelled because an accepted answer came first. ``requests``:
    the :func:`request_figures` of the run, when taken before its request log was freed;
    ``times``: the hours of :func:`.survival.durations` of ``cases``, when the caller has them (then
    ``cases`` needs only the columns of :data:`CASE_COLUMNS_READ`)."""

    def add(metric: str, value, **dims) -> None:
        out.add(PREFIX, metric, value, **dims)

    n = len(cases)
    done = cases["resolved"].to_numpy()
    add("cases", n)
    add("diagnosed", int(done.sum()))
    add("p_diagnosed", float(done.mean()) if n else None)
    route = label_masks(cases["route"], ROUTES)  # bool per case, by route (codes, not strings: a million cases)
    for r in ROUTES:
        add("p", _share(route[r][done]), route=r)  # dx_p_route_<r>: share of diagnosed cases
    add("p_without_referral", _share(~route["referral"][done]))
    consulted_done = done & ~route["local"]
    add("p_consulted_without_referral", _share(~route["referral"][consulted_done]))
    correct = cases["correct"].to_numpy(dtype=float, na_value=np.nan)
    add("accuracy", float(np.nanmean(correct[done])) if done.any() else None)
    for r in ROUTES:
        sel = done & route[r]
        add(f"accuracy_{r}", float(np.nanmean(correct[sel])) if sel.any() else None)  # no route_ marker
    tier = label_masks(cases["tier"], TIERS)
    for t in TIERS:
        sel = done & tier[t]
        add("accuracy", float(np.nanmean(correct[sel])) if sel.any() else None, tier=t)
    # the curves below are the peak of a large run: hold no more per-case arrays than they need
    del correct
    referral = route["referral"]
    del route
    # time to diagnosis: Kaplan-Meier, unresolved cases censored at the end
    time = durations(cases)[0] if times is None else times
    consulted = cases["consulted"].to_numpy()

    def km(sel: np.ndarray, suffix: str = "", **dims) -> None:
        curve = None  # once for the three; all cases: no copies (70 MB for a million cases)
        if sel.any():
            curve = km_curve(time, done) if sel.all() else km_curve(time[sel], done[sel])
        add(f"ttd_median_hours{suffix}", curve_quantile(*curve, 0.5) if curve else None, **dims)
        add(f"ttd_p90_hours{suffix}", curve_quantile(*curve, 0.9) if curve else None, **dims)
        add(f"p_within_24h{suffix}", curve_share_by(*curve, 24.0) if curve else None, **dims)

    km(np.ones(n, bool))
    km(consulted, "_consulted")
    for t in TIERS:
        km(tier[t], tier=t)
        km(tier[t] & consulted, "_consulted", tier=t)
    for r in ROUTES:
        km(label_masks(cases["route_at_end"], [r])[r], route=r)  # one mask at a time
    for s in CASE_SPECIALTIES:
        sel = label_masks(cases["specialty"], [s])[s]
        if sel.any():
            km(sel, specialty=s)
    for metric, value in (request_figures(st) if requests is None else requests).items():
        add(metric, value)
    counters = st.counters
    # the experts' burden
    E = st.experts
    answered = E.n_answers > 0
    per = E.n_answers[answered]
    weeks = max(t_end, 1e-9) / 7.0
    add("requests", counters["requests"])
    add("referrals", counters["referrals"])
    if parallel:
        # a visit booked but not needed: an accepted answer came before it (the slot stays unused)
        booked = cases["t_referral_visit"].notna().to_numpy()
        cancelled = booked & done & ~referral
        add("referrals_cancelled", int(cancelled.sum()))
        add("p_referrals_cancelled", float(cancelled.sum() / booked.sum()) if booked.any() else None)
    add("answers", counters["answers"])
    add("answers_counted", counters["counted"])
    add("answers_after_diagnosis", counters["after_diagnosis"])
    add("declined", counters["declined"])
    add("answer_hours", float(E.answer_minutes.sum() / 60.0))
    total = E.n_answers.sum()
    add("p_answers_offhours", float(E.n_offhours.sum() / total) if total else None)
    add("answerers", int(per.size))
    add("answers_per_answerer_mean", float(per.mean()) if per.size else None)
    add("answers_per_answerer_p90", float(np.quantile(per, 0.9)) if per.size else None)
    add("answers_per_answerer_max", int(per.max()) if per.size else None)
    hours = float(E.answer_minutes[answered].mean() / 60.0 / weeks) if per.size else None
    add("answer_hours_per_answerer_per_week", hours)
    top = np.sort(per)[::-1][: max(1, int(np.ceil(0.1 * per.size)))] if per.size else per
    add("top10pct_share_of_answers", float(top.sum() / per.sum()) if per.size else None)
    add("burnout_mean_answerers", float(E.burnout[answered].mean()) if per.size else None)
    add("offhours_answers_per_answerer_per_week", float(E.n_offhours[answered].mean() / weeks) if per.size else None)


def request_figures(st: DxState) -> dict[str, float | int | None]:
    """The figures of :func:`add_metrics` that come from the request log (metric: value, in
    the order they are added): the first answers and the answers from abroad."""
    out: dict[str, float | int | None] = {}
    # first answer to a request: group posts (Carmona et al. 2018: median 52 min, 53% within
    # an hour) and 1-on-1 requests (Gulacti & Lok 2017: median 158 min to a consult)
    R, counters = st.requests, st.counters
    for code, name in ((GROUP, "group"), (CONTACT, "contact")):
        reqs = np.flatnonzero(R["route"] == code)
        wait = R["first_answer_minutes"][reqs]
        got = np.isfinite(wait)
        out[f"{name}_requests"] = int(reqs.size)
        out[f"{name}_p_answered"] = _share(got)
        out[f"{name}_first_answer_median_minutes"] = float(np.median(wait[got])) if got.any() else None
        out[f"{name}_p_first_answer_within_hour"] = _share(wait[got] <= 60)
    # requests reaching members abroad (Tso 2022): answers given from abroad, and the answered
    # group requests that had one
    n_answers = counters["answers"]
    out["p_answers_abroad"] = counters["abroad"] / n_answers if n_answers else None
    group = R["route"] == GROUP
    n_answered = int(np.count_nonzero(group & ~np.isnan(R["first_answer_minutes"])))
    from_abroad = int(np.count_nonzero(group & R["abroad"]))
    out["group_p_answered_abroad"] = from_abroad / n_answered if n_answered else None
    return out


def summary_lines(m: Metrics, groups_on: bool) -> dict[str, str]:
    """The four ``summary_dx_*`` lines of ``qunsim run``, from the metrics just added."""

    def get(name: str):
        return m.get(f"{PREFIX}_{name}")

    def h(x):
        return "n/a" if x is None else (f"{x:.1f}" if x < 100 else f"{x:.0f}")

    def pct(x):
        return "n/a" if x is None else f"{x:.0%}"

    def mp(key):
        return f"{h(get(f'ttd_median_hours{key}'))}/{h(get(f'ttd_p90_hours{key}'))}"

    groups_note = "" if groups_on else " [groups off: formal referral only]"
    return {
        "summary_dx_1": (
            f"diagnosis{groups_note}: {get('cases'):,} cases, {pct(get('p_diagnosed'))} diagnosed "
            f"(local {pct(get('p_route_local'))}, group {pct(get('p_route_group'))}, "
            f"1-on-1 {pct(get('p_route_contact'))}, referral {pct(get('p_route_referral'))}); "
            f"accuracy {pct(get('accuracy'))} (local {pct(get('accuracy_local'))}, group "
            f"{pct(get('accuracy_group'))}, 1-on-1 {pct(get('accuracy_contact'))}, referral "
            f"{pct(get('accuracy_referral'))}); consulted cases diagnosed without a referral "
            f"{pct(get('p_consulted_without_referral'))}"
        ),
        "summary_dx_2": (
            "time to diagnosis, KM median/p90 in hours: all cases "
            + ", ".join(f"{t} {mp('_' + t)}" for t in TIERS)
            + "; consulted cases "
            + ", ".join(f"{t} {mp('_consulted_' + t)}" for t in TIERS)
        ),
        "summary_dx_3": (
            "time to diagnosis by route (h): "
            + ", ".join(f"{r} {mp('_route_' + r)}" for r in ROUTES)
            + f"; first answer to a group post: median {h(get('group_first_answer_median_minutes'))} min, "
            f"{pct(get('group_p_first_answer_within_hour'))} within an hour; to a 1-on-1 request: "
            f"median {h(get('contact_first_answer_median_minutes'))} min"
        ),
        "summary_dx_4": (
            f"experts' burden: {get('answers'):,} answers by {get('answerers'):,} clinicians "
            f"(mean {h(get('answers_per_answerer_mean'))}, p90 {h(get('answers_per_answerer_p90'))}, "
            f"max {get('answers_per_answerer_max') or 0}), "
            f"{_per_week(get('answer_hours_per_answerer_per_week'))} each; off-hours "
            f"{pct(get('p_answers_offhours'))}; burnout index {h(get('burnout_mean_answerers'))}"
        ),
    }


def _per_week(hours: float | None) -> str:
    """Answering time per week, in minutes when under an hour (so it never reads 0.0 h)."""
    if hours is None:
        return "n/a"
    return f"{hours * 60:.2g} min/week" if hours < 1 else f"{hours:.3g} h/week"
