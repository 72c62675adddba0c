"""Time to diagnosis as Kaplan-Meier curves, from a run's ``cases`` table.

    from sim import Results
    from analysis.survival import km_frame, km_summary, plot_km

    cases = Results.load("results/guangdong").cases
    km_summary(cases, by="tier")          # cases, diagnosed, censored, median and p90 (hours)
    plot_km(cases, by="route_at_end")     # one curve per group

Unresolved cases are right-censored at the end of the run; the estimator is
``scipy.stats.ecdf`` on ``scipy.stats.CensoredData`` (see
``sim/processes/diagnosis/survival.py``).
"""

from __future__ import annotations

import pandas as pd

from sim.processes.diagnosis.survival import km_frame, km_quantile, km_share_by, km_summary

__all__ = ["compare_runs", "km_frame", "km_quantile", "km_share_by", "km_summary", "plot_km"]


def plot_km(
    cases: pd.DataFrame, by: str | None = None, ax=None, days: bool = False, title: str | None = None, palette=None
):
    """Step plot of the share still undiagnosed against time since first consultation
    (the project's one Kaplan-Meier plot; ``summary.png`` uses it too)."""
    import seaborn as sns

    curves = km_frame(cases, by)
    x = "t_days" if days else "t_hours"
    if days:
        curves = curves.assign(t_days=curves["t_hours"] / 24.0)
    if ax is None:
        import matplotlib.pyplot as plt  # interactive use: the notebook's own backend

        _, ax = plt.subplots(figsize=(6, 4))
    if by and palette is not None:
        palette = {k: v for k, v in palette.items() if k in set(curves["group"].astype(str))}
    sns.lineplot(
        data=curves,
        x=x,
        y="survival",
        hue="group" if by else None,
        drawstyle="steps-post",
        ax=ax,
        errorbar=None,
        palette=palette if by else None,
    )
    ax.set_xlabel("days since first consultation" if days else "hours since first consultation")
    ax.set_ylabel("share not yet diagnosed")
    ax.set_ylim(0, 1.02)
    if title:
        ax.set_title(title)
    return ax


def compare_runs(cases_by_arm: dict[str, pd.DataFrame], by: str | None = None) -> pd.DataFrame:
    """km_summary of several runs (e.g. groups on / off) side by side, one row per arm and group."""
    parts = [km_summary(c, by).assign(arm=arm) for arm, c in cases_by_arm.items()]
    out = pd.concat(parts, ignore_index=True)
    return out[["arm", *[c for c in out.columns if c != "arm"]]]
