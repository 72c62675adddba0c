"""Figures of a run: what a person looks at before reading the numbers.

``plot_run(results)`` draws up to three panels from a :class:`sim.Results` (fresh or
loaded): guideline and case-report awareness and adoption, rumor belief and correction,
and Kaplan-Meier curves of the time to diagnosis by tier. ``qunsim run`` saves it as
``summary.png`` in the results folder.

Every item is drawn: with one guideline its curves are split by tier; with several,
each item gets a colour (shares of all clinicians). Every panel's vertical axis is
scaled to its own data, so a rumor that peaks at 0.8% of the clinicians is visible.

The time series is read by column (``t, metric, item, tier, ..., value``); results
written before the dimensions were columns (``p_aware/<item>/<tier>`` names) are read
too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.schema import TIERS

from .survival import plot_km

__all__ = ["plot_run", "series_by_tier", "tidy_dimensions"]

TIER_COLORS = {"primary": "#d95f02", "secondary": "#7570b3", "tertiary": "#1b9e77"}
ITEM_COLORS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666")
RUMOR_STATES = (("believes", "-", "#e7298a"), ("corrected", "--", "#66a61e"), ("doubts", ":", "#999999"))
HEADROOM = 1.1


def tidy_dimensions(timeseries: pd.DataFrame) -> pd.DataFrame:
    """``timeseries`` with its ``item`` and ``tier`` as columns.

    A frame that has them is returned as is; an older one, whose metric names carry
    them (``p_aware/<item>/<tier>``, ``n_believes/<item>``), is split.
    """
    if "item" in timeseries.columns and "tier" in timeseries.columns:
        return timeseries
    parts = timeseries["metric"].astype(str).str.split("/", n=2, expand=True).reindex(columns=[0, 1, 2])
    out = timeseries.copy()
    out["metric"] = parts[0]
    out["item"] = parts[1].astype("string")
    out["tier"] = parts[2].astype("string")
    return out


def _rows(ts: pd.DataFrame, metric: str, item: str, tier: str | None) -> pd.DataFrame:
    keep = (ts["metric"] == metric) & (ts["item"] == item).fillna(False)
    keep &= ts["tier"].isna() if tier is None else (ts["tier"] == tier).fillna(False)
    return ts[keep.to_numpy(bool)].sort_values("t")


def series_by_tier(timeseries: pd.DataFrame, state: str, item: str) -> pd.DataFrame:
    """Wide frame (index t, one column per tier) of the share ``p_<state>`` of ``item``."""
    ts = tidy_dimensions(timeseries)
    sel = ts[(ts["metric"] == f"p_{state}").to_numpy(bool) & (ts["item"] == item).fillna(False).to_numpy(bool)]
    sel = sel[sel["tier"].notna().to_numpy(bool)]
    wide = sel.pivot_table(index="t", columns="tier", values="value", observed=True)
    return wide[[t for t in TIERS if t in wide.columns]]


def _items(ts: pd.DataFrame, metric: str) -> list[str]:
    """Items that have ``metric``, in the order they first appear (the scenario's order)."""
    names = ts.loc[(ts["metric"] == metric).to_numpy(bool), "item"].dropna()
    return list(dict.fromkeys(str(x) for x in names))


def _share(ts: pd.DataFrame, state: str, item: str, n: float) -> tuple[np.ndarray, np.ndarray]:
    """Share of all clinicians in ``state`` over time: the count over n, or the tiers' mean share."""
    rows = _rows(ts, f"n_{state}", item, None)
    if len(rows) and n > 0:
        return rows["t"].to_numpy(float), rows["value"].to_numpy(float) / n
    wide = series_by_tier(ts, state, item)
    return wide.index.to_numpy(float), wide.mean(axis=1).to_numpy(float)


def _scale(ax, tops: list[float]) -> None:
    """The vertical axis from 0 to just above the panel's highest value (0-1 when all are 0)."""
    top = max((t for t in tops if np.isfinite(t)), default=0.0)
    ax.set_ylim(0, 1.0 if top <= 0 else min(top * HEADROOM, 1.0) if top <= 1.0 else top * HEADROOM)


def _peak(values) -> float:
    arr = np.asarray(values, dtype=float)
    return float(np.nanmax(arr)) if arr.size and np.isfinite(arr).any() else 0.0


def _percent_axis(ax) -> None:
    from matplotlib.ticker import PercentFormatter

    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=None))


def _guideline_panel(ax, ts: pd.DataFrame, guidelines: list[str], reports: list[str], n: float) -> None:
    tops: list[float] = []
    if len(guidelines) + len(reports) == 1:
        item = (guidelines or reports)[0]
        states = (("aware", "-"), ("adopted", "--")) if guidelines else (("aware", "-"),)
        for state, style in states:
            wide = series_by_tier(ts, state, item)
            for tier in wide.columns:
                ax.plot(wide.index, wide[tier], style, color=TIER_COLORS[tier], label=f"{tier} {state}")
                tops.append(_peak(wide[tier]))
        what = "guideline" if guidelines else "case report"
        ax.set_title(f"{what} '{item}': " + ("aware (—) and adopted (--)" if guidelines else "aware"), fontsize=9)
        ax.set_ylabel("share of clinicians in tier")
    else:
        for k, item in enumerate([*guidelines, *reports]):
            color = ITEM_COLORS[k % len(ITEM_COLORS)]
            states = (("aware", "-"), ("adopted", "--")) if item in guidelines else (("aware", "-."),)
            for state, style in states:
                t, share = _share(ts, state, item, n)
                ax.plot(t, share, style, color=color, label=f"{item} {state}")
                tops.append(_peak(share))
        ax.set_title("guidelines: aware (—), adopted (--); case reports: aware (-.)", fontsize=9)
        ax.set_ylabel("share of clinicians")
    _scale(ax, tops)
    _percent_axis(ax)


def _rumor_panel(ax, ts: pd.DataFrame, rumors: list[str], n: float) -> None:
    tops: list[float] = []
    for k, item in enumerate(rumors):
        for state, style, state_color in RUMOR_STATES:
            t, share = _share(ts, state, item, n)
            if not len(t):
                continue
            color = state_color if len(rumors) == 1 else ITEM_COLORS[k % len(ITEM_COLORS)]
            ax.plot(t, share, style if len(rumors) > 1 else "-", color=color, label=f"{item}: {state}")
            tops.append(_peak(share))
    title = "believers (—), corrected (--), doubters (:)" if len(rumors) > 1 else "believers, corrected, doubters"
    ax.set_title(f"rumor{'s' if len(rumors) > 1 else ''}: {title}", fontsize=9)
    ax.set_ylabel("share of clinicians")
    _scale(ax, tops)
    _percent_axis(ax)


def _diagnosis_panel(ax, cases: pd.DataFrame) -> None:
    cases = cases.assign(tier=pd.Categorical(cases["tier"].astype(str), categories=TIERS))
    plot_km(cases, by="tier", ax=ax, palette=TIER_COLORS)
    ax.set_xscale("symlog", linthresh=1)
    ax.set_xlim(left=0)
    ax.set_title("time to diagnosis (Kaplan–Meier)", fontsize=9)


def plot_run(results, path: str | Path | None = None):
    """The summary figure of ``results`` (None when there is nothing to draw); saved to ``path`` if given."""
    from matplotlib.figure import Figure  # no pyplot: the caller's backend is left alone

    ts = tidy_dimensions(results.timeseries)
    n = float(results.metrics.get("n_clinicians") or 0)
    guidelines = _items(ts, "p_adopted")
    reports = [i for i in _items(ts, "p_aware") if i not in guidelines]
    rumors = _items(ts, "n_believes") or _items(ts, "p_believes")
    cases = results.tables.get("cases")
    panels = [
        p
        for p, ok in (
            ("guideline", guidelines or reports),
            ("rumor", rumors),
            ("diagnosis", cases is not None and len(cases) > 0),
        )
        if ok
    ]
    if not panels:
        return None
    fig = Figure(figsize=(5.2 * len(panels), 3.8))
    axes = fig.subplots(1, len(panels), squeeze=False)
    for ax, panel in zip(axes[0], panels, strict=True):
        if panel == "guideline":
            _guideline_panel(ax, ts, guidelines, reports, n)
        elif panel == "rumor":
            _rumor_panel(ax, ts, rumors, n)
        else:
            _diagnosis_panel(ax, cases)
        if panel != "diagnosis":
            ax.set_xlabel("day")
        ax.legend(fontsize=6 if len(ax.get_lines()) > 8 else 7, frameon=False, ncol=2 if len(ax.get_lines()) > 8 else 1)
        ax.grid(alpha=0.3)
    name = results.manifest.get("scenario", "")
    fig.suptitle(f"{name}, seed {results.manifest.get('seed', '')}", fontsize=10)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig
