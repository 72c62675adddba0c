"""The one place where the teaching page touches the model.

Everything the page shows about a running model goes through :class:`Arm`, a model
and what has been read from it so far; everything it runs for many seeds goes
through :func:`outcome_run`. The page and the figures never read a process's
attributes themselves, so when a process is reorganised only this module changes.

The model is used through:

* ``sim.build_model(scenario, seed)``, ``model.step()``, ``model.t`` (days),
  ``model.running`` (when present), ``model.config``;
* ``model.pop`` (``tier``, ``role``, ``facility``, ``specialty``, ``region``,
  ``region_kind``) and ``model.net`` (``m_clinician``, ``m_group``, ``g_basis``,
  ``m_key``, ``n_groups``);
* ``model.process("information")``: per-item state codes (``state``), the item index
  (``index``), its event log (``log``) or, failing that, its ``events`` table;
* ``model.process("diagnosis")``: its ``cases`` and ``answers`` tables;
* ``model.recorder.frame()``: the tidy time series (``t, metric, item, tier, ...``).
  Older trees packed the dimensions into the metric name (``p_aware/guideline/primary``);
  :func:`tidy_series` accepts both.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import population, schema
from ..groups import BASIS_NAMES
from ..processes.information import config as info_config

if TYPE_CHECKING:  # pragma: no cover
    from ..config import Scenario

__all__ = [
    "ROLES",
    "SPECIALTIES",
    "STATE_NAMES",
    "TIERS",
    "Arm",
    "FeedEvent",
    "ItemInfo",
    "outcome_run",
    "tidy_columns",
    "tidy_series",
]

# the model's own names (one definition each; the page reads them from here)
TIERS: tuple[str, ...] = tuple(schema.TIERS)
ROLES: tuple[str, ...] = tuple(schema.ROLES)
SPECIALTIES: tuple[str, ...] = tuple(population.SPECIALTIES)
REGION_KINDS: tuple[str, ...] = tuple(population.REGION_KINDS)
BASES: tuple[str, ...] = tuple(BASIS_NAMES)
#: state codes of the information process, by kind of item (docs/model.md)
STATE_NAMES: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in info_config.STATE_NAMES.items()}
EVENT_KINDS: tuple[str, ...] = tuple(info_config.EVENT_KINDS)
ROUTES = ("local", "group", "contact", "referral")
#: the information events the feed reports (the others are too many to read)
FEED_INFO_KINDS = ("seed", "post", "direct", "adopt", "believe", "correct", "removed", "pinned")


# ------------------------------------------------------------------ the internals used
# Each reads one thing from a process; when a process is reorganised, fix it here.
def _info_states(proc) -> np.ndarray:
    """(items, clinicians) state codes of the information process."""
    arrays = getattr(proc, "arrays", None)
    return arrays.state if arrays is not None else proc.state


def _info_index(proc) -> dict[str, int]:
    """Item name -> row of the state arrays."""
    catalog = getattr(proc, "catalog", None)
    return catalog.index if catalog is not None else proc.index


def _info_log_columns(proc, start: int) -> tuple[list[np.ndarray], int]:
    """Event-log columns (item, kind, sender, receiver, group, t) from row ``start`` on, and the row count."""
    rows = proc.log.rows
    n = len(rows)
    return [np.asarray(rows[c][start:n]).copy() for c in ("item", "kind", "sender", "receiver", "group", "t")], n


def _dx_case_columns(proc) -> dict[str, np.ndarray]:
    """The diagnosis process's per-case columns (``facility, spec, asker, t_arrival, t_dx, route,
    correct, t_first_request, t_ref_entry``); the page reads them every step, so without
    building the ``cases`` table (tests check the two agree)."""
    cases = proc.state.cases
    names = ("facility", "spec", "asker", "t_arrival", "t_dx", "route", "correct", "t_first_request", "t_ref_entry")
    return {k: np.asarray(cases[k]) for k in names}


def _dx_case_specialties() -> tuple[str, ...]:
    from ..processes.diagnosis.config import CASE_SPECIALTIES

    return tuple(CASE_SPECIALTIES)


def _dx_tables(proc, model) -> dict[str, pd.DataFrame]:
    """The diagnosis process's ``cases`` and ``answers`` tables as of now."""
    from ..processes.diagnosis import outputs

    answers = outputs.answers_frame(proc.state)
    return {"cases": outputs.cases_frame(proc.state, model.pop, model.t), "answers": answers}


# ---------------------------------------------------------------------- time series
def tidy_columns(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The recorder's frame as arrays ``t, metric, item, tier, value`` (missing: None).

    Metric names of the form ``p_aware/guideline/primary`` (older trees) are split into
    metric, item and tier; frames that already carry ``item`` and ``tier`` columns pass.
    """
    n = len(frame)
    metric = frame["metric"].astype(str).to_numpy(dtype=object)

    def column(name: str) -> np.ndarray:
        if name not in frame:
            return np.full(n, None, object)
        values = frame[name].to_numpy(dtype=object, na_value=None)
        values[pd.isna(values)] = None  # NaN, pd.NA and None all become None
        return values

    item, tier = column("item"), column("tier")
    packed = np.array(["/" in m for m in metric], bool) if n else np.zeros(0, bool)
    if packed.any():
        metric = metric.copy()
        for k in np.flatnonzero(packed):
            parts = metric[k].split("/")
            metric[k] = parts[0]
            item[k] = parts[1] if len(parts) > 1 else None
            if len(parts) > 2:
                tier[k] = parts[2]
    return {
        "t": frame["t"].to_numpy(float) if n else np.zeros(0),
        "metric": metric,
        "item": item,
        "tier": tier,
        "value": frame["value"].to_numpy(float) if n else np.zeros(0),
    }


def tidy_series(frame: pd.DataFrame) -> pd.DataFrame:
    """:func:`tidy_columns` as a frame (object columns, missing as None)."""
    cols = tidy_columns(frame)
    return pd.DataFrame({k: pd.Series(v, dtype=float if k in ("t", "value") else object) for k, v in cols.items()})


# --------------------------------------------------------------------------- items
@dataclass(frozen=True)
class ItemInfo:
    """An item the page can colour the network by (corrections belong to their rumor)."""

    name: str
    kind: str
    states: tuple[str, ...]
    start_day: float


def scenario_items(scenario: Scenario) -> list[ItemInfo]:
    return [
        ItemInfo(it.name, it.kind, STATE_NAMES[it.kind], float(it.start_day))
        for it in scenario.information.items
        if it.kind != "correction"
    ]


@dataclass(frozen=True)
class FeedEvent:
    """One line of the feed, language-neutral: ``kind`` picks the sentence, ``args`` fill it."""

    t: float
    kind: str
    args: dict[str, Any] = field(default_factory=dict)
    sender: int = -1
    group: int = -1


# ----------------------------------------------------------------------------- arm
class Arm:
    """One model of the page (the baseline or the intervention) and what the page needs from it.

    Not thread-safe: the page steps and reads an arm under its own lock.
    """

    def __init__(self, scenario: Scenario, seed: int):
        from ..runner import build_model

        self.scenario = scenario
        self.seed = int(seed)
        self.model = build_model(scenario, seed=self.seed)
        m = self.model
        self.n = int(m.pop.n)
        self.items = scenario_items(scenario)
        self.duration_days = float(scenario.run.duration_days)
        self.step_days = float(scenario.dt_days)
        self.n_steps_total = int(scenario.n_steps)
        self.steps_done = 0
        self._index: dict[tuple, tuple[list[float], list[float]]] = {}
        self._rows = 0
        self._log_parts = 0
        self._dx_t = -1.0
        self._dx_cache: tuple[float, dict[str, np.ndarray] | None] = (-1.0, None)
        self.last_posts: list[tuple[int, int]] = []  # (sender, group) of every post found by new_events

    # ---------------------------------------------------------------- stepping
    @property
    def t(self) -> float:
        return float(self.model.t)

    @property
    def done(self) -> bool:
        """The run has reached its duration (or the model says it is not running)."""
        running = getattr(self.model, "running", True)
        return self.steps_done >= self.n_steps_total or not running

    def step(self, n: int = 1) -> int:
        """Advance up to ``n`` steps (never past the duration); returns the steps made."""
        made = 0
        while made < n and not self.done:
            self.model.step()
            self.steps_done += 1
            made += 1
        return made

    # ---------------------------------------------------------------- the people
    def clinicians(self) -> dict[str, np.ndarray]:
        """Per clinician: ``tier``, ``role``, ``specialty``, ``facility``, ``rural`` (bool)."""
        pop = self.model.pop
        region = pop.region if hasattr(pop, "region") else pop.fac_region[pop.facility]
        rural = np.asarray(pop.region_kind)[region] == REGION_KINDS.index("rural")
        return {
            "tier": np.asarray(pop.tier, np.int8),
            "role": np.asarray(pop.role, np.int8),
            "specialty": np.asarray(pop.specialty, np.int8),
            "facility": np.asarray(pop.facility, np.int32),
            "rural": np.asarray(rural, bool),
        }

    def memberships(self) -> tuple[np.ndarray, np.ndarray, int]:
        """Current memberships (clinician, group) and a version that changes when they do."""
        net = self.model.net
        clin = np.asarray(net.m_clinician, np.int32).copy()
        grp = np.asarray(net.m_group, np.int32).copy()
        key = getattr(net, "m_key", None)
        raw = np.asarray(key).tobytes() if key is not None else clin.tobytes() + grp.tobytes()
        return clin, grp, zlib.crc32(raw) ^ (grp.size << 20)

    def groups(self) -> dict[str, np.ndarray]:
        """Per group: ``basis`` (index into :data:`BASES`), ``size``, ``specialty`` (most common
        clinical specialty of its members, -1 when none)."""
        net, pop = self.model.net, self.model.pop
        n_groups = int(net.n_groups)
        mc, mg = np.asarray(net.m_clinician), np.asarray(net.m_group)
        size = np.bincount(mg, minlength=n_groups)
        n_spec = len(SPECIALTIES)
        counts = np.zeros((n_groups, n_spec), np.int32)
        np.add.at(counts, (mg, np.asarray(pop.specialty)[mc]), 1)
        spec = np.where(counts.max(axis=1) > 0, counts.argmax(axis=1), -1)
        return {"basis": np.asarray(net.g_basis, np.int8), "size": size, "specialty": spec}

    # ---------------------------------------------------------------- information
    def _info(self):
        try:
            return self.model.process("information")
        except KeyError:
            return None

    def item(self, name: str) -> ItemInfo:
        for it in self.items:
            if it.name == name:
                return it
        raise KeyError(f"no item {name!r}; items: {[i.name for i in self.items]}")

    def node_states(self, name: str) -> np.ndarray:
        """State code of every clinician for item ``name`` (index into ``item(name).states``)."""
        proc = self._info()
        if proc is None:
            return np.zeros(self.n, np.int8)
        return np.asarray(_info_states(proc)[_info_index(proc)[name]], np.int8).copy()

    def counts(self, name: str) -> dict[str, int]:
        it = self.item(name)
        codes = np.bincount(self.node_states(name), minlength=len(it.states))
        return {s: int(codes[k]) for k, s in enumerate(it.states)}

    # ---------------------------------------------------------------- time series
    def _refresh_series(self) -> None:
        """Index the recorder's rows added since the last call by (metric, item, tier)."""
        rec = self.model.recorder
        count = len(rec._t) if hasattr(rec, "_t") else None
        if count is not None and count == self._rows:
            return
        cols = tidy_columns(rec.frame())
        total = cols["t"].size
        if count is None or total < self._rows:  # no row count to go by: index everything again
            self._index, self._rows = {}, 0
        k0 = self._rows
        for t, metric, item, tier, value in zip(
            cols["t"][k0:], cols["metric"][k0:], cols["item"][k0:], cols["tier"][k0:], cols["value"][k0:], strict=True
        ):
            ts, vs = self._index.setdefault((metric, item, tier), ([], []))
            ts.append(float(t))
            vs.append(float(value))
        self._rows = total

    def series(self) -> pd.DataFrame:
        """The tidy time series so far (``t, metric, item, tier, value``)."""
        return tidy_series(self.model.recorder.frame())

    def _get(self, metric: str, item: str | None, tier: str | None) -> tuple[np.ndarray, np.ndarray]:
        self._refresh_series()
        ts, vs = self._index.get((metric, item, tier), ([], []))
        return np.asarray(ts, float), np.asarray(vs, float)

    def shares_by_tier(self, metric: str, item: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """``{tier: (t, share)}`` of ``p_<state>`` for an item (the recorder's shares by tier)."""
        out = {}
        for tier in TIERS:
            t, v = self._get(metric, item, tier)
            if t.size:
                out[tier] = (t, v)
        return out

    def total_share(self, metric: str, item: str) -> tuple[np.ndarray, np.ndarray]:
        """``(t, share of all clinicians)`` from the count metric ``n_<state>`` of an item."""
        t, v = self._get(metric, item, None)
        return t, v / max(self.n, 1)

    def days_to_share(self, metric: str, item: str, share: float = 0.5) -> float | None:
        """First recorded time at which ``n_<state>`` reached ``share`` of all clinicians."""
        t, v = self.total_share(metric, item)
        hit = np.flatnonzero(v >= share - 1e-12)
        return float(t[hit[0]]) if hit.size else None

    # ---------------------------------------------------------------- diagnosis
    def _dx(self):
        try:
            return self.model.process("diagnosis")
        except KeyError:
            return None

    def cases(self) -> dict[str, np.ndarray] | None:
        """Diagnostic cases so far: ``hours`` (to diagnosis, or to now when open), ``observed``,
        ``tier``, ``t_arrival``, ``t_first_request``, ``t_diagnosis``, ``t_referral``, ``route``
        (index into ROUTES, -1 open), ``specialty`` (name), ``asker``, ``correct`` (True/False/None);
        None when diagnosis is off. The same numbers as the process's ``cases`` table."""
        proc = self._dx()
        if proc is None:
            return None
        if self._dx_cache[0] == self.t and self._dx_cache[1] is not None:
            return self._dx_cache[1]
        c = _dx_case_columns(proc)
        now = self.t
        done = c["t_dx"] <= now
        hours = np.where(done, c["t_dx"] - c["t_arrival"], now - c["t_arrival"]) * 24.0
        spec_names = np.array(_dx_case_specialties(), dtype=object)
        correct = np.full(done.size, None, dtype=object)
        correct[done] = c["correct"][done] == 1
        out = {
            "hours": hours,
            "observed": done,
            "tier": np.asarray(self.model.pop.fac_tier)[c["facility"]].astype(np.int8),
            "t_arrival": c["t_arrival"].astype(float),
            "t_first_request": c["t_first_request"].astype(float),
            "t_diagnosis": np.where(done, c["t_dx"], np.nan),
            "t_referral": c["t_ref_entry"].astype(float),
            "route": np.where(done, c["route"], -1).astype(np.int8),
            "specialty": spec_names[c["spec"]] if c["spec"].size else np.zeros(0, object),
            "asker": c["asker"].astype(np.int64),
            "correct": correct,
        }
        self._dx_cache = (self.t, out)
        return out

    def answers(self) -> pd.DataFrame | None:
        proc = self._dx()
        return None if proc is None else _dx_tables(proc, self.model)["answers"]

    # ---------------------------------------------------------------- the feed
    def _info_events(self) -> list[tuple[np.ndarray, ...]]:
        """Information events logged since the last call: (item, kind, sender, receiver, group, t)."""
        proc = self._info()
        if proc is None or not proc.config.event_log:
            return []
        cols, self._log_parts = _info_log_columns(proc, self._log_parts)
        return [tuple(cols)] if cols[0].size else []

    def new_events(self, limit: int = 12) -> list[FeedEvent]:
        """What happened since the last call, most telling first, at most ``limit`` lines."""
        out: list[FeedEvent] = []
        n_items = len(self.items)
        names = [it.name for it in self.items]
        rumors = [k for k, it in enumerate(self.items) if it.kind == "rumor"]
        clin = self.clinicians()
        groups = None
        for item, kind, sender, receiver, group, t in self._info_events():
            for k in range(item.size):
                code = int(kind[k])
                if code >= len(EVENT_KINDS) or EVENT_KINDS[code] not in FEED_INFO_KINDS:
                    continue
                kname = EVENT_KINDS[code]
                j = int(item[k])
                corr = j >= n_items
                base = rumors[j - n_items] if corr and j - n_items < len(rumors) else j
                if base >= n_items:
                    continue
                who = int(sender[k]) if kname not in ("adopt", "believe", "correct") else int(receiver[k])
                if who < 0:
                    continue
                g = int(group[k])
                args: dict[str, Any] = {
                    "item": names[base],
                    "item_kind": self.items[base].kind,
                    "correction": bool(corr),
                    "tier": int(clin["tier"][who]),
                    "role": int(clin["role"][who]),
                    "rural": bool(clin["rural"][who]),
                }
                if g >= 0:
                    if groups is None:
                        groups = self.groups()
                    if g < groups["basis"].size:
                        args["basis"] = int(groups["basis"][g])
                        args["group_specialty"] = int(groups["specialty"][g])
                out.append(FeedEvent(float(t[k]), "info_" + kname, args, sender=who, group=g))
        self.last_posts = [(e.sender, e.group) for e in out if e.kind == "info_post" and e.group >= 0]
        out.extend(self._dx_events(clin))
        self._dx_t = self.t
        # the rarest kinds first, then the latest: a reader sees variety, not 40 posts
        freq: dict[str, int] = {}
        for e in out:
            freq[e.kind] = freq.get(e.kind, 0) + 1
        out.sort(key=lambda e: (freq[e.kind], -e.t))
        picked: list[FeedEvent] = []
        per_kind: dict[str, int] = {}
        for e in out:
            if per_kind.get(e.kind, 0) >= 3:
                continue
            per_kind[e.kind] = per_kind.get(e.kind, 0) + 1
            picked.append(e)
            if len(picked) >= limit:
                break
        picked.sort(key=lambda e: -e.t)
        return picked

    def _dx_events(self, clin: dict[str, np.ndarray]) -> list[FeedEvent]:
        c = self.cases()
        if c is None:
            return []
        t0, t1 = self._dx_t, self.t
        out = []

        def window(x):
            return np.flatnonzero((x > t0) & (x <= t1))

        for k in window(c["t_first_request"]):
            a = int(c["asker"][k])
            args = {
                "specialty": str(c["specialty"][k]),
                "tier": int(clin["tier"][a]) if a >= 0 else int(c["tier"][k]),
                "role": int(clin["role"][a]) if a >= 0 else 0,
                "rural": bool(clin["rural"][a]) if a >= 0 else False,
            }
            out.append(FeedEvent(float(c["t_first_request"][k]), "dx_ask", args, sender=a))

        def rural(k: int) -> bool:
            a = int(c["asker"][k])
            return bool(clin["rural"][a]) if a >= 0 else False

        for k in window(c["t_referral"]):
            out.append(
                FeedEvent(
                    float(c["t_referral"][k]),
                    "dx_referral",
                    {"specialty": str(c["specialty"][k]), "tier": int(c["tier"][k]), "rural": rural(k)},
                )
            )
        for k in window(c["t_diagnosis"]):
            r = int(c["route"][k])
            if r == ROUTES.index("local"):
                continue
            ok = c["correct"][k]
            out.append(
                FeedEvent(
                    float(c["t_diagnosis"][k]),
                    "dx_diagnosed",
                    {
                        "specialty": str(c["specialty"][k]),
                        "tier": int(c["tier"][k]),
                        "rural": rural(k),
                        "route": ROUTES[r] if r >= 0 else "none",
                        "hours": float(c["hours"][k]),
                        "correct": None if ok is None or pd.isna(ok) else bool(ok),
                    },
                )
            )
        return out

    # ---------------------------------------------------------------- the run as files
    def timeseries_frame(self) -> pd.DataFrame:
        """The recorder's own frame (what ``qunsim run`` writes to timeseries.parquet)."""
        return self.model.recorder.frame()


# ---------------------------------------------------------------------- many seeds
def outcome_run(scenario: Scenario, seed: int, item: str) -> dict[str, np.ndarray]:
    """One run for the many-seed view: the share of all clinicians in the item's key state
    (guideline: aware; rumor: believes) at each recording, and its final and peak values.

    The page's many-seed runs switch off what the view does not show (agent objects, the
    event log, the diagnosis process): each process draws from its own random stream, so
    the information outcomes are the same numbers as a full run (tested).
    """
    from ..runner import build_model

    model = build_model(scenario, seed=int(seed))
    info = model.process("information")
    info.record_totals_only = True  # type: ignore[attr-defined]  # the counts below, nothing else
    model.run_model()
    c = tidy_columns(model.recorder.frame())
    kind = next(it.kind for it in scenario_items(scenario) if it.name == item)
    metric = "n_aware" if kind != "rumor" else "n_believes"
    sel = (c["metric"] == metric) & (c["item"] == item) & np.array([x is None for x in c["tier"]], bool)
    return {"t": c["t"][sel], "share": c["value"][sel] / max(int(model.pop.n), 1)}


def lean(scenario: Scenario) -> Scenario:
    """The scenario as the many-seed view runs it (same information outcomes, less work)."""
    sc = scenario.model_copy(deep=True)
    sc.run.agent_objects = False
    sc.information.event_log = False
    if not any(iv.name in DIAGNOSIS_INTERVENTIONS for iv in sc.interventions):
        sc.diagnosis.enabled = False
    return sc


#: interventions that act on the diagnosis process (kept on in lean runs that use them)
DIAGNOSIS_INTERVENTIONS = ("oncall_roster",)
