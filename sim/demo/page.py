"""One browser session's state and the page's pictures, without any web framework.

:class:`Demo` holds a session's settings and its arms (baseline, and the intervention arm
when one is chosen), steps them together under a lock, and takes :class:`Snapshot` s:
immutable, language-neutral pictures of the arms that the page draws with the
``render_*`` functions. Everything here runs (and is tested) without a browser.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import controls
from .engine import TIERS, Arm, FeedEvent, ItemInfo
from .figures import (
    ARM_COLORS,
    STATE_COLORS,
    TIER_COLORS,
    Layout,
    Line,
    NetworkSVG,
    km_steps,
    layout_network,
    line_chart,
    network_svg,
)
from .i18n import item_label, state_label, tr

if TYPE_CHECKING:  # pragma: no cover
    from ..config import Scenario
    from .ensemble import ArmSummary

__all__ = [
    "ArmSnapshot",
    "Demo",
    "Snapshot",
    "render_curves",
    "render_diff",
    "render_fan",
    "render_km",
    "render_network",
]

#: what the curves and the difference show for each kind of item: (metric, state) solid then dashed
CURVE_STATES = {
    "guideline": ("aware", "adopted"),
    "case_report": ("aware", "aware"),
    "rumor": ("believes", "corrected"),
}
FEED_LINES = 6


@dataclass(frozen=True)
class ArmSnapshot:
    name: str  # "baseline" or "intervention"
    label_key: str
    intervention: str | None
    t: float
    done: bool
    states: dict[str, np.ndarray]  # item -> state codes
    counts: dict[str, dict[str, int]]
    m_clinician: np.ndarray
    m_group: np.ndarray
    n_groups: int
    shares: dict[tuple[str, str], dict[str, tuple[np.ndarray, np.ndarray]]]  # (state, item) -> tier -> (t, share)
    totals: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]  # (state, item) -> (t, share of all)
    half_day: dict[str, float | None]  # item -> first day with half of all clinicians aware
    peak: dict[str, float]  # rumor item -> peak share believing
    cases: dict[str, np.ndarray] | None
    feed: tuple[FeedEvent, ...]
    posts: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Snapshot:
    version: int
    seed: int
    n: int
    duration: float
    items: tuple[ItemInfo, ...]
    tier: np.ndarray
    layout: Layout
    arms: tuple[ArmSnapshot, ...]
    start_day: float | None
    compute_ms: float = 0.0

    @property
    def t(self) -> float:
        return self.arms[0].t

    @property
    def done(self) -> bool:
        return all(a.done for a in self.arms)

    def item(self, name: str) -> ItemInfo:
        for it in self.items:
            if it.name == name:
                return it
        return self.items[0]


@dataclass
class _ArmState:
    arm: Arm
    name: str
    intervention: str | None
    feed: deque = field(default_factory=lambda: deque(maxlen=FEED_LINES))
    posts: list[tuple[int, int]] = field(default_factory=list)


class Demo:
    """A session: settings (``values``, ``seed``, ``intervention``, ``start_day``) and its arms.

    ``reset()`` builds the arms from the settings; ``advance(hours)`` steps every arm by
    the same number of steps; ``snapshot()`` pictures them. Callers hold ``lock``.
    """

    def __init__(self, base: Scenario, name: str = ""):
        self.base = base
        self.name = name or base.run.name
        self.values: dict[str, Any] = controls.default_values(base)
        self.seed = int(base.run.seed)
        self.intervention: str | None = None
        self.start_day = 5.0
        self.lock = threading.RLock()
        self.version = 0
        self.applied: tuple = ()
        self._layouts: dict[tuple, Layout] = {}
        self.reset()

    # ------------------------------------------------------------ settings
    def settings_key(self) -> tuple:
        return (tuple(sorted(self.values.items())), self.seed, self.intervention, self.start_day)

    @property
    def dirty(self) -> bool:
        """Settings changed since the last reset."""
        return self.settings_key() != self.applied

    def scenarios(self) -> tuple[Scenario, Scenario | None]:
        return controls.build_scenarios(self.base, self.values, self.seed, self.intervention, self.start_day)

    def reset(self) -> None:
        base, iv = self.scenarios()
        self.scenario_baseline, self.scenario_intervention = base, iv
        arms = [_ArmState(Arm(base, self.seed), "baseline", None)]
        if iv is not None:
            arms.append(_ArmState(Arm(iv, self.seed), "intervention", self.intervention))
        self.arms = arms
        a = arms[0].arm
        clin, grp, mver = a.memberships()
        key = (self.seed, a.n, mver)
        if key not in self._layouts:
            self._layouts = {
                key: layout_network(a.n, clin, grp, int(a.model.net.n_groups), a.clinicians()["facility"], self.seed)
            }
        self.layout = self._layouts[key]
        self.tier = a.clinicians()["tier"]
        self.applied = self.settings_key()
        self.version += 1

    # ------------------------------------------------------------ stepping
    @property
    def step_hours(self) -> float:
        return self.arms[0].arm.step_days * 24.0

    def steps_for(self, hours: float) -> int:
        return int(min(max(1, round(hours / self.step_hours)), controls.LIMITS.max_steps_per_tick))

    def advance(self, hours: float | None = None, steps: int | None = None) -> int:
        """Step every arm by ``steps`` (or by ``hours`` of simulated time); returns the steps made."""
        n = steps if steps is not None else self.steps_for(hours or self.step_hours)
        n = int(min(max(n, 1), controls.LIMITS.max_steps_per_tick))
        made = 0
        for st in self.arms:
            made = st.arm.step(n)
            events = st.arm.new_events(limit=12)
            st.posts = list(st.arm.last_posts)
            for e in sorted(events, key=lambda e: e.t)[-FEED_LINES:]:
                st.feed.appendleft(e)
        self.version += 1
        return made

    @property
    def done(self) -> bool:
        return all(st.arm.done for st in self.arms)

    # ------------------------------------------------------------ pictures
    def snapshot(self) -> Snapshot:
        t0 = time.perf_counter()
        out = []
        for st in self.arms:
            a = st.arm
            clin, grp, _ = a.memberships()
            states = {it.name: a.node_states(it.name) for it in a.items}
            shares, totals, half, peak = {}, {}, {}, {}
            for it in a.items:
                for state in dict.fromkeys(CURVE_STATES.get(it.kind, ("aware",))):
                    shares[(state, it.name)] = a.shares_by_tier(f"p_{state}", it.name)
                    totals[(state, it.name)] = a.total_share(f"n_{state}", it.name)
                if it.kind != "rumor":
                    half[it.name] = a.days_to_share("n_aware", it.name, 0.5)
                else:
                    _, v = totals[("believes", it.name)]
                    peak[it.name] = float(v.max()) if v.size else 0.0
            out.append(
                ArmSnapshot(
                    name=st.name,
                    label_key=f"arm.{st.name}",
                    intervention=st.intervention,
                    t=a.t,
                    done=a.done,
                    states=states,
                    counts={k: _counts(v, it.states) for it in a.items for k, v in [(it.name, states[it.name])]},
                    m_clinician=clin,
                    m_group=grp,
                    n_groups=int(a.model.net.n_groups),
                    shares=shares,
                    totals=totals,
                    half_day=half,
                    peak=peak,
                    cases=a.cases(),
                    feed=tuple(st.feed),
                    posts=tuple(st.posts),
                )
            )
        a0 = self.arms[0].arm
        return Snapshot(
            version=self.version,
            seed=self.seed,
            n=a0.n,
            duration=a0.duration_days,
            items=tuple(a0.items),
            tier=self.tier,
            layout=self.layout,
            arms=tuple(out),
            start_day=self.start_day if self.intervention else None,
            compute_ms=(time.perf_counter() - t0) * 1000,
        )

    def timeseries(self) -> pd.DataFrame:
        """Both arms' recorded series (as ``qunsim run`` writes them), with ``arm`` and ``seed``."""
        frames = []
        for st in self.arms:
            df = st.arm.timeseries_frame()
            df.insert(0, "seed", self.seed)
            df.insert(0, "arm", st.name)
            frames.append(df)
        return pd.concat(frames, ignore_index=True)


def _counts(codes: np.ndarray, states: tuple[str, ...]) -> dict[str, int]:
    c = np.bincount(codes, minlength=len(states))
    return {s: int(c[k]) for k, s in enumerate(states)}


# ------------------------------------------------------------------------ drawing
def arm_title(arm: ArmSnapshot, lang: str) -> str:
    if arm.intervention is None:
        return tr("arm.baseline", lang)
    return tr("arm.intervention", lang, name=tr(f"iv.{arm.intervention}", lang))


def render_network(snap: Snapshot, arm: ArmSnapshot, item: str, lang: str) -> NetworkSVG:
    it = snap.item(item)
    labels = {s: state_label("aware_only" if (s == "aware" and "adopted" in it.states) else s, lang) for s in it.states}
    return network_svg(
        snap.layout,
        arm.states[it.name],
        it.states,
        snap.tier,
        arm.m_clinician,
        arm.m_group,
        arm.n_groups,
        posts=arm.posts,
        labels=labels,
        test_id=f"network-{arm.name}",
    )


def _marks(snap: Snapshot, lang: str) -> list[tuple[float, str]]:
    return [(snap.start_day, tr("mark.start", lang))] if snap.start_day is not None else []


def render_curves(snap: Snapshot, arm: ArmSnapshot, item: str, lang: str) -> str:
    it = snap.item(item)
    solid, dashed = CURVE_STATES.get(it.kind, ("aware", "aware"))
    lines = []
    for state, dash in ((solid, ""), (dashed, "9 6")):
        for tier, (t, v) in arm.shares.get((state, it.name), {}).items():
            lines.append(
                Line(f"{tr('tier.' + tier, lang)} · {state_label(state, lang)}", t, v, TIER_COLORS[tier], dash)
            )
        if solid == dashed:
            break
    key = "curves.rumor" if it.kind == "rumor" else "curves.guideline"
    name = item_label(it.name, it.kind, lang)
    return line_chart(
        lines,
        x_max=snap.duration,
        title=tr(key, lang, item=name, Item=name[:1].upper() + name[1:]),
        x_label=tr("axis.day", lang),
        y_label=tr("axis.share_tier", lang),
        marks=_marks(snap, lang),
        test_id=f"curves-{arm.name}",
    )


def render_diff(snap: Snapshot, item: str, lang: str) -> str | None:
    if len(snap.arms) < 2:
        return None
    it = snap.item(item)
    base, iv = snap.arms[0], snap.arms[1]
    lines, lo, hi = [], -0.05, 0.05
    for state, dash in zip(dict.fromkeys(CURVE_STATES.get(it.kind, ("aware",))), ("", "9 6"), strict=False):
        tb, vb = base.totals.get((state, it.name), (np.zeros(0), np.zeros(0)))
        ti, vi = iv.totals.get((state, it.name), (np.zeros(0), np.zeros(0)))
        k = min(tb.size, ti.size)
        if k == 0:
            continue
        d = vi[:k] - vb[:k]
        lo, hi = min(lo, float(d.min())), max(hi, float(d.max()))
        lines.append(Line(state_label(state, lang), tb[:k], d, ARM_COLORS["intervention"], dash))
    span = max(abs(lo), abs(hi)) * 1.15
    what = item_label(it.name, it.kind, lang)
    zero = Line("", np.array([0.0, snap.duration]), np.zeros(2), "#777777", "", 1.5)
    return line_chart(
        [zero, *lines],
        x_max=snap.duration,
        y_min=-span,
        y_max=span,
        title=tr("diff.title", lang, what=what),
        x_label=tr("axis.day", lang),
        y_label=tr("axis.share_all", lang),
        marks=_marks(snap, lang),
        test_id="difference",
    )


HOUR_TICKS = ((1, "1 h"), (6, "6 h"), (24, "1 d"), (72, "3 d"), (168, "1 wk"), (720, "30 d"))


def render_km(snap: Snapshot, lang: str) -> str | None:
    groups: list[tuple[str, np.ndarray, np.ndarray, str]] = []
    if len(snap.arms) == 1:
        c = snap.arms[0].cases
        if c is None or c["hours"].size == 0:
            return None
        for k, tier in enumerate(TIERS):
            sel = c["tier"] == k
            if sel.any():
                groups.append(
                    (
                        f"{tr('tier.' + tier, lang)} (n={int(sel.sum())})",
                        c["hours"][sel],
                        c["observed"][sel],
                        TIER_COLORS[tier],
                    )
                )
    else:
        for arm in snap.arms:
            c = arm.cases
            if c is not None and c["hours"].size:
                groups.append(
                    (f"{arm_title(arm, lang)} (n={c['hours'].size})", c["hours"], c["observed"], ARM_COLORS[arm.name])
                )
    if not groups:
        return None
    lines = []
    x_max = 24.0
    for label, hours, observed, color in groups:
        t, s = km_steps(hours, observed)
        t = np.maximum(t, 0.1)
        end = max(float(hours.max()), 0.2)
        lines.append(Line(label, np.append(t, end), np.append(s, s[-1]), color, "", 3.5, step=True))
        x_max = max(x_max, end)
    unit = {
        "en": {"1 h": "1 h", "6 h": "6 h", "1 d": "1 d", "3 d": "3 d", "1 wk": "1 wk", "30 d": "30 d"},
        "zh": {"1 h": "1时", "6 h": "6时", "1 d": "1天", "3 d": "3天", "1 wk": "1周", "30 d": "30天"},
    }[lang]
    return line_chart(
        lines,
        x_min=0.1,
        x_max=x_max * 1.05,
        log_x=True,
        x_ticks=[(0.1, "6 min" if lang == "en" else "6分")] + [(v, unit[s]) for v, s in HOUR_TICKS],
        title=tr("km.title", lang),
        x_label=tr("axis.hours", lang),
        y_label=tr("axis.not_diagnosed", lang),
        test_id="km",
    )


def render_fan(
    summaries: dict[str, ArmSummary],
    it: ItemInfo,
    duration: float,
    lang: str,
    start_day: float | None = None,
    arm_titles: dict[str, str] | None = None,
) -> str:
    bands, lines = [], []
    # the baseline last, on top: before the start day the arms are the same runs
    for name, s in sorted(summaries.items(), key=lambda kv: kv[0] == "baseline"):
        color = ARM_COLORS.get(name, "#000")
        bands.append((s.t, s.bands[0.1], s.bands[0.9], color, 0.12))
        bands.append((s.t, s.bands[0.25], s.bands[0.75], color, 0.22))
        title = (arm_titles or {}).get(name, name)
        lines.append(Line(f"{title}: {tr('legend.median', lang)}", s.t, s.bands[0.5], color, "", 3.5))
        lines.append(Line(f"{title}: {tr('legend.this_run', lang)}", s.t, s.first, color, "3 5", 2.0))
    key = "many.fan_rumor" if it.kind == "rumor" else "many.fan_guideline"
    marks = [(start_day, tr("mark.start", lang))] if start_day is not None else []
    return line_chart(
        lines,
        bands=bands,
        x_max=duration,
        title=tr(key, lang, item=item_label(it.name, it.kind, lang)),
        x_label=tr("axis.day", lang),
        y_label=tr("axis.share_all", lang),
        marks=marks,
        test_id="fan",
        height=480,
    )


__all__ += ["CURVE_STATES", "STATE_COLORS", "arm_title"]
