"""Figures of a run: what a person looks at before reading the numbers.

``plot_run(results)`` draws up to three panels from a :class:`sim.Results` (fresh or
loaded): guideline awareness and adoption by tier, rumor belief and correction, and
Kaplan-Meier curves of the time to diagnosis by tier. ``qunsim run`` saves it as
``summary.png`` in the results folder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .schema import TIERS

__all__ = ["plot_run", "series_by_tier"]

TIER_COLORS = {"primary": "#d95f02", "secondary": "#7570b3", "tertiary": "#1b9e77"}


def series_by_tier(timeseries: pd.DataFrame, state: str, item: str) -> pd.DataFrame:
    """Wide frame (index t, one column per tier) of ``p_<state>/<item>/<tier>``."""
    prefix = f"p_{state}/{item}/"
    sel = timeseries[timeseries["metric"].str.startswith(prefix)]
    wide = sel.pivot_table(index="t", columns="metric", values="value")
    return wide.rename(columns=lambda c: c.split("/")[-1])[[t for t in TIERS if prefix + t in set(sel["metric"])]]


def _items(timeseries: pd.DataFrame, state: str) -> list[str]:
    names = timeseries["metric"][timeseries["metric"].str.startswith(f"n_{state}/")]
    return sorted({m.split("/")[1] for m in names.unique()})


def plot_run(results, path: str | Path | None = None):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ts = results.timeseries
    guidelines = _items(ts, "adopted")
    rumors = _items(ts, "believes")
    cases = results.tables.get("cases")
    panels = [p for p, ok in (("guideline", guidelines), ("rumor", rumors),
                              ("diagnosis", cases is not None and len(cases) > 0)) if ok]
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 3.8), squeeze=False)
    for ax, panel in zip(axes[0], panels):
        if panel == "guideline":
            item = guidelines[0]
            for state, style in (("aware", "-"), ("adopted", "--")):
                wide = series_by_tier(ts, state, item)
                for tier in wide.columns:
                    ax.plot(wide.index, wide[tier], style, color=TIER_COLORS[tier],
                            label=f"{tier} {state}")
            ax.set_title(f"guideline '{item}': aware (—) and adopted (--)", fontsize=9)
            ax.set_ylabel("share of clinicians in tier")
            ax.set_ylim(0, 1)
        elif panel == "rumor":
            n = results.metrics.get("n_clinicians", 1)
            for item in rumors:
                for state, color in (("believes", "#e7298a"), ("corrected", "#66a61e"), ("doubts", "#999999")):
                    s = ts[ts["metric"] == f"n_{state}/{item}"]
                    ax.plot(s["t"], s["value"] / n, color=color, label=f"{item}: {state}")
            ax.set_title("rumor: believers, correctors, doubters", fontsize=9)
            ax.set_ylabel("share of clinicians")
            ax.set_ylim(0, 1)
        else:
            from .processes.diagnosis_survival import durations, km_curve

            for tier in TIERS:
                sub = cases[cases["tier"].astype(str) == tier]
                if len(sub) == 0:
                    continue
                t, observed = durations(sub)
                times, surv = km_curve(t, observed)
                ax.step(np.concatenate([[0], times]), np.concatenate([[1], surv]), where="post",
                        color=TIER_COLORS[tier], label=f"{tier} (n={len(sub):,})")
            ax.set_xscale("symlog", linthresh=1)
            ax.set_title("time to diagnosis (Kaplan–Meier)", fontsize=9)
            ax.set_ylabel("share not yet diagnosed")
            ax.set_xlabel("hours since first consultation")
        if panel != "diagnosis":
            ax.set_xlabel("day")
        ax.legend(fontsize=7, frameon=False)
        ax.grid(alpha=0.3)
    name = results.manifest.get("scenario", "")
    fig.suptitle(f"{name}, seed {results.manifest.get('seed', '')}", fontsize=10)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
        plt.close(fig)
    return fig
