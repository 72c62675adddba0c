"""Figures of experiments and sweeps: drawn from the tables on disk, with no random draw.

- :func:`plot_comparison`: per metric, each arm's mean paired difference from the baseline
  with its bootstrap 95% interval -- the numbers of ``comparison.csv`` -- arms in file order;
  with a take-off analysis, a last panel of the paired difference of take-off.
- :func:`plot_indices`: sensitivity indices with their confidence intervals, per output.
- :func:`plot_inputs`: a sweep's output against each input, one point per run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["plot_comparison", "plot_indices", "plot_inputs"]

SHOWN = ("S1", "ST", "mu_star", "sigma", "delta", "main_effect_share")  # the indices drawn, by design


def _figure(nrows: int, ncols: int, figsize: tuple[float, float], **kw):
    """A figure and its axes drawn without pyplot: the caller's backend is left alone."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, squeeze=False, **kw)


def _save(fig, path: Path | None):
    if path is not None:
        from .store import atomic_write

        atomic_write(Path(path), lambda p: fig.savefig(p, dpi=120, format="png", metadata={"Software": None}))
    return fig


def _forest(ax, labels: list[str], mid, low, high, title: str, xlabel: str) -> None:
    y = np.arange(len(labels))[::-1]
    mid, low, high = (np.asarray(v, dtype=float) for v in (mid, low, high))
    err = np.vstack([np.where(np.isfinite(low), mid - low, 0.0), np.where(np.isfinite(high), high - mid, 0.0)])
    ax.axvline(0.0, color="0.6", lw=0.8, zorder=0)
    ax.errorbar(mid, y, xerr=err, fmt="o", color="k", ms=4, capsize=3, lw=1)
    ax.set_yticks(y, labels)
    ax.set_ylim(-0.6, len(labels) - 0.4)
    ax.set_title(title, fontsize=9)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.tick_params(labelsize=8)


def plot_comparison(
    table: pd.DataFrame,
    metrics: list[str] | None = None,
    path: str | Path | None = None,
    takeoff: pd.DataFrame | None = None,
    seed: int = 0,
):
    """Paired differences from the baseline with their bootstrap 95% intervals, one panel per metric.

    ``table`` is the comparison table (``compare_arms``); a runs table (one row per run) is
    compared first, with ``seed`` for the bootstrap.
    """
    if "replicate" in table.columns and "diff_mean" not in table.columns:
        from .stats import compare_arms

        table = compare_arms(table, metrics, seed=seed)
    metrics = metrics or list(dict.fromkeys(table["metric"]))
    n = len(metrics) + (takeoff is not None)
    ncol = min(n, 3)
    nrow = -(-n // ncol)
    arms = list(dict.fromkeys(table["arm"]))
    baseline = table["baseline"].iloc[0] if "baseline" in table.columns else arms[0]
    others = [a for a in arms if a != baseline]
    fig, axes = _figure(nrow, ncol, (4.4 * ncol, 0.5 + (0.35 * len(others) + 1.1) * nrow))
    flat = list(axes.ravel())
    for ax, metric in zip(flat, metrics, strict=False):
        t = table[(table["metric"] == metric)].set_index("arm").loc[others]
        _forest(ax, others, t["diff_mean"], t["diff_low"], t["diff_high"], metric, f"difference from {baseline}")
    if takeoff is not None:
        ax = flat[len(metrics)]
        t = takeoff.set_index("arm").loc[others]
        _forest(
            ax, others, t["diff_p"], t["diff_low"], t["diff_high"], "take-off (paired)", "difference in P(take-off)"
        )
    for ax in flat[n:]:
        ax.set_visible(False)
    fig.suptitle(f"paired differences from {baseline!r}, bootstrap 95% intervals", fontsize=10)
    fig.tight_layout()
    return _save(fig, Path(path) if path is not None else None)


def plot_indices(indices: pd.DataFrame, path: str | Path | None = None):
    """Sensitivity indices with confidence intervals: one panel per output, one bar group per parameter."""
    outputs = list(dict.fromkeys(indices["output"]))
    fig, axes = _figure(len(outputs), 1, (6.5, 2.8 * len(outputs)))
    for ax, output in zip(axes[:, 0], outputs, strict=True):
        sub = indices[(indices["output"] == output) & indices["index"].isin(SHOWN)]
        names = list(dict.fromkeys(sub["index"]))
        params = list(dict.fromkeys(sub["parameter"]))
        width = 0.8 / max(1, len(names))
        x = np.arange(len(params))
        for i, name in enumerate(names):
            s = sub[sub["index"] == name].set_index("parameter").reindex(params)
            lo = (s["value"] - s["low"]).clip(lower=0).fillna(0)
            hi = (s["high"] - s["value"]).clip(lower=0).fillna(0)
            ax.bar(x + (i - (len(names) - 1) / 2) * width, s["value"], width, label=name, yerr=[lo, hi], capsize=3)
        ax.set_xticks(x, params, fontsize=8)
        ax.axhline(0, color="0.6", lw=0.8)
        method = sub["method"].iloc[0] if len(sub) else ""
        ax.set_title(f"{output} ({method})", fontsize=9)
        if names:
            ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, Path(path) if path is not None else None)


def plot_inputs(runs: pd.DataFrame, parameters: list[str], output: str, path: str | Path | None = None):
    """A sweep's output against each input (one point per run): the shape behind the indices."""
    fig, axes = _figure(1, len(parameters), (2.8 * len(parameters), 2.8), sharey=True)
    for ax, name in zip(axes[0], parameters, strict=True):
        ax.scatter(runs[name], runs[output], s=6, alpha=0.5, color="k", lw=0)
        ax.set_xlabel(name, fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0, 0].set_ylabel(output, fontsize=8)
    fig.tight_layout()
    return _save(fig, Path(path) if path is not None else None)
