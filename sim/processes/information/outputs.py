"""What the information process reports: the event log, the time series, the tables
``events`` and ``item_states``, the outcome metrics and the summary lines.

Time series (per recording time; ``item`` and ``tier`` are dimension columns):
``n_<state>`` per item, ``p_<state>`` per item and tier (share of the tier's clinicians;
awareness is cumulative: adopters count as aware; guidelines also ``considering`` and
``rejected``, stages of the aware), ``cum_heard`` and ``n_spreaders`` per
item, and ``cum_posts``, ``cum_direct_messages``, ``cum_deliveries``,
``n_pending_deliveries``.

Metrics (``info_...``): message counts; per item the shares who heard, were aware,
adopted or believed (by role and by tier), days to 10%, 50% and 90% awareness/adoption by
tier, for guidelines the shares considering and rejecting and how the full text came
(``p_aware_via_article``: of the aware, the share made aware by a shared article;
``p_source_via_article``, ``p_adopted_via_article``: of those holding the full text, and of
the adopters, the share who got it from a shared article), and for rumors the peak,
believer-days and the reach of corrections. Every time of
an event (``t50_*``, ``t90_*``, ``t_peak``, ``t_first_*``, ``t_below_*``) counts days from
the item's release (its ``start_day``); the time series' ``t`` counts from the start of
the run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ... import streaming
from ...results import metric_name
from ...schema import ROLES, TIERS
from ...table import Table, row_count
from .census import census
from .config import ADOPTED, AWARE, BELIEVES, CONSIDERING, CORRECTED, EVENT_KINDS, REJECTED, STATE_NAMES, UNAWARE, Src
from .state import EVENT_SPEC, Catalog, Queues

if TYPE_CHECKING:  # pragma: no cover
    from ...components import Outputs
    from ...results import Metrics, Recorder
    from ...streaming import StreamedTable, TableStream
    from .process import InformationProcess

__all__ = ["EventLog", "finish", "record", "time_to_share"]

PREFIX = "info"
_NO_STAGE = np.zeros(0, np.int8)  # census: an item without stages
N_STAGES = max(CONSIDERING, REJECTED) + 1


#: EventLog.add writes an entry's values in this order
assert tuple(EVENT_SPEC) == ("item", "kind", "sender", "receiver", "group", "t")


class EventLog:
    """Every seed, post, message and change of state (``events.parquet``), when enabled.

    Rows are appended at the time of the step that makes them, so they come in
    non-decreasing ``t``: the table's stable sort by ``t`` keeps their order. Streamed
    (:meth:`stream`), the log writes its rows out every :data:`sim.streaming.CHUNK_ROWS`
    and checks that order at each chunk.
    """

    def __init__(self, enabled: bool, catalog: Catalog):
        self.enabled = enabled
        self.catalog = catalog
        self.rows = Table(EVENT_SPEC)
        self.sink: TableStream | None = None
        self._t_written = -np.inf  # the last time written out

    def stream(self, sink: TableStream) -> None:
        """Write the rows to ``sink`` in chunks from now on (before the run starts)."""
        self.sink = sink

    def add(self, item, kind: str | np.ndarray | np.generic, sender, receiver, group, t: float) -> None:
        """One row per element of the array arguments (scalars hold for every row); ``kind``
        is a name of config.EVENT_KINDS, or their codes (an array, or one for every row)."""
        if self.enabled:
            code = EVENT_KINDS.index(kind) if isinstance(kind, str) else kind
            values = (item, code, sender, receiver, group, t)  # (EVENT_SPEC's order)
            k = row_count(zip(EVENT_SPEC, values, strict=True), "event log")
            if k:
                n = len(self.rows)
                try:
                    for column, value in zip(self.rows.grow(k), values, strict=True):
                        column[:] = value
                except (TypeError, ValueError):  # a value of the wrong kind: the entry leaves no row
                    self.rows.truncate(n)
                    raise
            if self.sink is not None and len(self.rows) >= streaming.CHUNK_ROWS:
                self.flush()

    def flush(self) -> None:
        """Write the rows held to the stream and drop them."""
        assert self.sink is not None
        self.sink.write(self._chunk())
        self.rows.clear()

    def _chunk(self) -> pd.DataFrame:
        t = self.rows["t"]
        if t.size and (t[0] < self._t_written or (t[1:] < t[:-1]).any()):
            raise RuntimeError("event log rows out of time order: they cannot be streamed in chunks")
        if t.size:
            self._t_written = float(t[-1])
        return self._frame()

    def frame(self) -> pd.DataFrame | StreamedTable:
        """The table, sorted by ``t`` (stable); streamed, the rest is written out and the file returned."""
        if self.sink is not None:
            table = self.sink.close(self._chunk())
            self.rows = Table(EVENT_SPEC)  # all written: the buffers go
            return table
        return self._frame().sort_values("t", kind="stable").reset_index(drop=True)

    def _frame(self) -> pd.DataFrame:
        item, kind = self.rows["item"], self.rows["kind"]
        return pd.DataFrame(
            {
                "item": item.copy(),
                "item_name": pd.Categorical.from_codes(item, self.catalog.names),
                "parent_item": np.asarray(self.catalog.parents, np.int32)[item] if item.size else item.copy(),
                "kind": pd.Categorical.from_codes(kind, EVENT_KINDS),
                "sender": self.rows["sender"].copy(),
                "receiver": self.rows["receiver"].copy(),
                "group": self.rows["group"].copy(),
                "t": self.rows["t"].copy(),
            }
        )


# ---------------------------------------------------------------------- time series
def record(p: InformationProcess, model, rec: Recorder) -> None:
    if p.record_totals_only:
        _record_totals(p, rec)
        return
    tier = model.pop.tier
    per_tier = None
    arr = p.arrays
    for j, it in enumerate(p.catalog.items):
        names = STATE_NAMES[it.kind]
        staged = it.kind == "guideline"
        joint, heard, sharers = census(
            arr.state[j],
            tier,
            len(names),
            arr.stage[j] if staged else _NO_STAGE,
            N_STAGES,
            arr.t_first[j],
            arr.active[j],
        )
        counts = joint.sum(axis=2)  # (state, tier)
        if per_tier is None:  # every clinician is in one state
            per_tier = np.maximum(counts.sum(axis=0), 1)
        if it.kind != "rumor":
            # awareness is cumulative: adopters are aware too
            counts = np.cumsum(counts[::-1], axis=0)[::-1]
        totals, shares = counts.sum(axis=1).tolist(), (counts / per_tier).tolist()
        for code, label in enumerate(names):
            if code == UNAWARE:
                continue
            rec.add(f"n_{label}", totals[code], item=it.name)
            for k, tname in enumerate(TIERS):
                rec.add(f"p_{label}", shares[code][k], item=it.name, tier=tname)
        if staged:
            _stages(rec, joint[AWARE].T, it.name, per_tier)
        rec.add("cum_heard", int(heard), item=it.name)
        rec.add("n_spreaders", int(sharers), item=it.name)
    rec.add("cum_posts", p.counters["posts"])
    rec.add("cum_direct_messages", p.counters["direct"])
    rec.add("cum_deliveries", p.counters["deliveries"])
    rec.add("n_pending_deliveries", p.queues.n_pending())


def _record_totals(p: InformationProcess, rec: Recorder) -> None:
    """Only ``n_<state>`` of each item (the same numbers as :func:`record`'s): the teaching
    page's many-seed runs read nothing else."""
    for j, it in enumerate(p.catalog.items):
        names = STATE_NAMES[it.kind]
        counts = np.bincount(p.arrays.state[j], minlength=len(names))
        if it.kind != "rumor":
            counts = np.cumsum(counts[::-1])[::-1]  # awareness is cumulative
        totals = counts.tolist()
        for code, label in enumerate(names):
            if code != UNAWARE:
                rec.add(f"n_{label}", totals[code], item=it.name)


def _stages(rec: Recorder, by_stage: np.ndarray, name: str, per_tier: np.ndarray) -> None:
    """A guideline's aware clinicians considering it and those who rejected it, by tier
    (``by_stage[stage, tier]``, the aware clinicians' counts)."""
    for label, code in (("considering", CONSIDERING), ("rejected", REJECTED)):
        counts = by_stage[code]
        rec.add(f"n_{label}", int(counts.sum()), item=name)
        for k, tname in enumerate(TIERS):
            rec.add(f"p_{label}", float(counts[k] / per_tier[k]), item=name, tier=tname)


# ---------------------------------------------------------------------- end of run
def finish(p: InformationProcess, model, out: Outputs) -> None:
    if model.streamed:  # the messages still in flight count for nothing at the end
        p.queues = Queues()
    m = out.metrics
    _counts(p, model, m)
    for j, it in enumerate(p.catalog.items):
        _by_role(p, model, m, j)
        heard = ~np.isnan(p.arrays.t_first[j])
        m.add(PREFIX, "p_heard", float(heard.mean()), item=it.name)
        m.add(PREFIX, "p_never_heard", float(1 - heard.mean()), item=it.name)
        shared = p.arrays.ever_shared[j]
        m.add(PREFIX, "p_shared_of_heard", _share(shared, heard), item=it.name)
        if it.kind == "rumor":
            _rumor(p, model, m, j)
        else:
            _guideline(p, model, m, j)
    _summary(p, m)
    if p.config.event_log:
        out.tables["events"] = p.log.frame()
    out.tables["item_states"] = item_states(p, model)
    if model.streamed:
        streaming.trim_heap()  # the tables' pages written and freed go back to the system


def item_states(p: InformationProcess, model) -> pd.DataFrame | StreamedTable:
    """One row per (item, clinician): final state, first heard, adopted / first believed.
    Streamed (``p.item_sink``), the rows are written an item at a time and the file returned."""
    n_items = len(p.catalog.items)
    if p.item_sink is not None and n_items:
        for j in range(n_items - 1):
            p.item_sink.write(_item_states(p, model, j))
        return p.item_sink.close(_item_states(p, model, n_items - 1))
    return pd.concat([_item_states(p, model, j) for j in range(n_items)], ignore_index=True)


def _item_states(p: InformationProcess, model, j: int) -> pd.DataFrame:
    it = p.catalog.items[j]
    return pd.DataFrame(
        {
            "item": it.name,
            "clinician": np.arange(model.pop.n),
            "state": pd.Categorical.from_codes(p.arrays.state[j], STATE_NAMES[it.kind]).astype(str),
            "t_first": p.arrays.t_first[j],
            "t_taken": p.arrays.t_taken[j],
        }
    )


def _counts(p: InformationProcess, model, m: Metrics) -> None:
    c = p.counters
    days = max(model.t, 1e-9)
    m.add(PREFIX, "posts", c["posts"])
    m.add(PREFIX, "direct_messages", c["direct"])
    m.add(PREFIX, "deliveries", c["deliveries"])
    m.add(PREFIX, "messages_per_clinician_per_day", (c["posts"] + c["direct"]) / model.pop.n / days)
    m.add(PREFIX, "purged_copies", c["purged"])
    m.add(PREFIX, "reasked", c["reasked"])
    m.add(PREFIX, "removed_posts", c["removed_posts"])
    m.add(PREFIX, "removed_unread_copies", c["removed_copies"])
    m.add(PREFIX, "pinned_corrections", c["pinned"])


def _by_role(p: InformationProcess, model, m: Metrics, j: int) -> None:
    """Share of each role ever believing (rumors) or aware (other items)."""
    it, pop = p.catalog.items[j], model.pop
    rumor = it.kind == "rumor"
    times = p.arrays.t_taken[j] if rumor else p.arrays.t_first[j]
    for r, role in enumerate(ROLES):
        sel = pop.role == r
        if sel.any():
            ever = ~np.isnan(times[sel])
            m.add(PREFIX, "p_ever_believed" if rumor else "p_aware", float(ever.mean()), item=it.name, role=role)


def _guideline(p: InformationProcess, model, m: Metrics, j: int) -> None:
    """Guidelines and case reports: awareness (and adoption) overall and by tier."""
    it, pop, arr = p.catalog.items[j], model.pop, p.arrays
    name = it.name
    heard = ~np.isnan(arr.t_first[j])
    m.add(PREFIX, "p_aware", float(heard.mean()), item=name)
    if it.kind == "guideline":
        m.add(PREFIX, "p_adopted", float((~np.isnan(arr.t_taken[j])).mean()), item=name)
        _uptake(p, model, m, j)
    labels = (
        (("aware", arr.t_first[j]),)
        if it.kind == "case_report"
        else (("aware", arr.t_first[j]), ("adopted", arr.t_taken[j]))
    )
    t50: dict[tuple[str, str], float | None] = {}
    t10: dict[str, float | None] = {}
    for k, tname in enumerate(TIERS):
        sel = pop.tier == k
        if not sel.any():
            continue
        for label, times in labels:
            for q in (0.1, 0.5, 0.9):
                value = time_to_share(times[sel] - it.start_day, q)  # days from the item's release
                m.add(PREFIX, f"t{int(q * 100)}_{label}", value, item=name, tier=tname)
                if q == 0.5:
                    t50[label, tname] = value
                if q == 0.1 and label == "adopted":
                    t10[tname] = value
            m.add(PREFIX, f"p_{label}", float((~np.isnan(times[sel])).mean()), item=name, tier=tname)
    for label in ("aware", "adopted"):
        a, b = t50.get((label, "primary")), t50.get((label, "tertiary"))
        if a is not None and b is not None:
            m.add(PREFIX, f"lag50_{label}_primary_vs_tertiary", a - b, item=name)
    a, b = t10.get("primary"), t10.get("tertiary")
    if a is not None and b is not None:
        m.add(PREFIX, "lag10_adopted_primary_vs_tertiary", a - b, item=name)
    if it.kind == "case_report":
        admins = pop.role == ROLES.index("public_health_admin")
        ta = arr.t_first[j][admins] - it.start_day
        m.add(PREFIX, "t_first_admin", float(np.nanmin(ta)) if np.isfinite(ta).any() else None, item=name)
        m.add(PREFIX, "p_admins_aware", float(np.isfinite(ta).mean()) if admins.any() else None, item=name)


def _uptake(p: InformationProcess, model, m: Metrics, j: int) -> None:
    """A guideline's stages (considering, rejected) and how its full text came, overall and by tier.

    ``p_aware_via_article``: of the aware, the share whose first copy was a shared article;
    ``p_source_via_article``: of those who hold the full text, the share who got it from a
    shared article (first or later); ``p_adopted_via_article``: of the adopters, likewise.
    None where nobody is in the denominator."""
    arr, name = p.arrays, p.catalog.items[j].name
    state, stage, source = arr.state[j], arr.stage[j], arr.source[j]
    aware, adopted = state != UNAWARE, state == ADOPTED
    held = source != Src.NONE
    by_article = (source == Src.ARTICLE) | (source == Src.ARTICLE_LATER)
    for tname in (None, *TIERS):
        sel = np.ones(state.size, bool) if tname is None else model.pop.tier == TIERS.index(tname)
        if not sel.any():
            continue
        m.add(
            PREFIX,
            "p_considering",
            float((sel & (state == AWARE) & (stage == CONSIDERING)).sum() / sel.sum()),
            item=name,
            tier=tname,
        )
        m.add(
            PREFIX,
            "p_rejected",
            float((sel & (state == AWARE) & (stage == REJECTED)).sum() / sel.sum()),
            item=name,
            tier=tname,
        )
        m.add(PREFIX, "p_aware_via_article", _share(source == Src.ARTICLE, sel & aware), item=name, tier=tname)
        m.add(PREFIX, "p_source_via_article", _share(by_article, sel & held), item=name, tier=tname)
        m.add(PREFIX, "p_adopted_via_article", _share(by_article, sel & adopted), item=name, tier=tname)


def _share(event: np.ndarray, among: np.ndarray) -> float | None:
    n = int(among.sum())
    return float((event & among).sum() / n) if n else None


def _rumor(p: InformationProcess, model, m: Metrics, j: int) -> None:
    """Rumors: peak and believer-days, corrections' timing and reach, final states."""
    it, arr, tr = p.catalog.items[j], p.arrays, p.track
    name, n, r = it.name, model.pop.n, p.catalog.rumors.index(j)
    ever = arr.ever_believed[j]
    m.add(PREFIX, "start_day", float(it.start_day), item=name)  # the release; the t_* below count from it
    m.add(PREFIX, "peak_believers", int(tr.peak[r]), item=name)
    m.add(PREFIX, "p_peak_believers", float(tr.peak[r] / n), item=name)
    m.add(PREFIX, "t_peak", _nan_none(tr.t_peak[r] - it.start_day), item=name)  # from the release
    m.add(PREFIX, "believer_days", float(tr.person_days[r]), item=name)
    m.add(PREFIX, "p_ever_believed", float(ever.mean()), item=name)
    m.add(PREFIX, "t_first_correction", _nan_none(tr.t_first_correction[r] - it.start_day), item=name)
    m.add(
        PREFIX,
        f"t_below_{int(p.config.below_peak_share * 100)}pct_peak",
        _nan_none(tr.t_below[r] - it.start_day),
        item=name,
    )
    m.add(
        PREFIX,
        "p_believers_reached_by_correction",
        float(arr.reached_corr[j][ever].mean()) if ever.any() else None,
        item=name,
    )
    m.add(PREFIX, "p_final_believers", float((arr.state[j] == BELIEVES).mean()), item=name)
    m.add(PREFIX, "p_final_corrected", float((arr.state[j] == CORRECTED).mean()), item=name)
    for k, tname in enumerate(TIERS):
        sel = model.pop.tier == k
        if sel.any():
            m.add(PREFIX, "p_ever_believed", float(ever[sel].mean()), item=name, tier=tname)


def _summary(p: InformationProcess, m: Metrics) -> None:
    """One printed line per item, and one for the messages."""

    def get(item: str, metric: str, tier: str | None = None):
        return m.get(_flat(metric, item, tier))

    def days(x) -> str:
        return "n/a" if x is None or not np.isfinite(x) else f"{x:.1f} d"

    for j, it in enumerate(p.catalog.items):
        name = it.name
        if it.kind == "guideline":
            text = (
                f"guideline {name}: aware {get(name, 'p_aware'):.0%}, considering "
                f"{get(name, 'p_considering'):.0%}, adopted {get(name, 'p_adopted'):.0%}, rejected "
                f"{get(name, 'p_rejected'):.0%}; days from release to 50% aware / 10% adopted: "
                + ", ".join(
                    f"{tier} {days(get(name, 't50_aware', tier))} / {days(get(name, 't10_adopted', tier))}"
                    for tier in ("tertiary", "secondary", "primary")
                )
            )
            if it.paywalled:
                via = get(name, "p_aware_via_article")
                text += f"; aware through a shared article {'n/a' if via is None else f'{via:.0%}'}"
        elif it.kind == "case_report":
            t_admin = get(name, "t_first_admin")
            text = (
                f"case report {name}: aware {get(name, 'p_aware'):.0%}; first administrator after "
                f"{'n/a' if t_admin is None else f'{t_admin:.2f} d'}, administrators aware "
                f"{get(name, 'p_admins_aware') or 0:.0%}"
            )
        else:
            t_c, t_peak = get(name, "t_first_correction"), get(name, "t_peak")
            reached = get(name, "p_believers_reached_by_correction")
            text = (
                f"rumor {name}: peak believers {get(name, 'p_peak_believers'):.1%}"
                f"{'' if t_peak is None else f' {t_peak:.1f} d after release'}, "
                f"ever believed {get(name, 'p_ever_believed'):.0%}, final {get(name, 'p_final_believers'):.1%}; "
                f"first correction {'n/a' if t_c is None else f'after {t_c:.2f} d'}; believers reached by "
                f"a correction {'n/a' if reached is None else f'{reached:.0%}'}"
            )
        m.note(f"summary_info_{j:02d}", text)
    total = m.get(f"{PREFIX}_posts"), m.get(f"{PREFIX}_direct_messages")
    m.note(
        "summary_info_zz",
        (
            f"messages: {total[0]:,} group posts, {total[1]:,} direct; "
            f"{m.get(f'{PREFIX}_messages_per_clinician_per_day'):.2f} per clinician per day; "
            f"{m.get(f'{PREFIX}_purged_copies'):,} copies purged unread"
        ),
    )


def _flat(metric: str, item: str, tier: str | None) -> str:
    return metric_name(PREFIX, metric, item=item, tier=tier)


# ---------------------------------------------------------------------- helpers
def time_to_share(times: np.ndarray, q: float) -> float | None:
    """Time by which a share q of the clinicians had the event (None when never reached)."""
    finite = np.sort(times[np.isfinite(times)])
    need = int(np.ceil(q * times.size))
    if need == 0 or finite.size < need:
        return None
    return float(finite[need - 1])


def _nan_none(x) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)
