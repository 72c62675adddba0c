"""The calibration report: posterior summary, identification, targets observed vs simulated, figures.

Figures are drawn on :class:`matplotlib.figure.Figure` (never pyplot), so library code never
changes the matplotlib backend.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from .spec import CalibrationSpec
from .targets import Judgement

__all__ = ["IDENTIFIED_RATIO", "identification", "plot_posterior", "plot_targets", "write_report"]

IDENTIFIED_RATIO = 0.7  # posterior sd above this share of the prior sd: the targets do not identify it


def _weighted_quantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    order = np.argsort(x)
    cw = np.cumsum(w[order])
    return float(np.interp(q * cw[-1], cw, x[order]))


def identification(spec: CalibrationSpec, posterior: pd.DataFrame) -> pd.DataFrame:
    """Per parameter: prior sd, posterior mean, median, 95% interval and sd, their ratio, identified or not."""
    w = posterior["weight"].to_numpy(float)
    w = w / w.sum()
    rows = []
    for p in spec.parameters:
        x = posterior[p.name].to_numpy(float)
        mean = float(np.sum(w * x))
        sd = float(math.sqrt(max(np.sum(w * (x - mean) ** 2), 0.0)))
        ratio = sd / p.prior_sd()
        rows.append(
            {
                "parameter": p.name,
                "setting": p.setting,
                "prior": f"{p.prior} {list(p.args)}",
                "mean": mean,
                "median": _weighted_quantile(x, w, 0.5),
                "low95": _weighted_quantile(x, w, 0.025),
                "high95": _weighted_quantile(x, w, 0.975),
                "sd": sd,
                "sd_over_prior_sd": ratio,
                "identified": ratio <= IDENTIFIED_RATIO,
            }
        )
    return pd.DataFrame(rows)


def plot_posterior(spec: CalibrationSpec, posterior: pd.DataFrame):
    """Marginals on the diagonal (weighted histograms over the prior range), pairwise scatter below."""
    from matplotlib.figure import Figure

    names = [p.name for p in spec.parameters]
    k = len(names)
    fig = Figure(figsize=(2.6 * k + 1, 2.4 * k + 0.6), layout="constrained")
    axes = np.atleast_2d(fig.subplots(k, k, squeeze=False))
    w = posterior["weight"].to_numpy(float)
    for i, pi in enumerate(spec.parameters):
        for j, pj in enumerate(spec.parameters):
            ax = axes[i, j]
            if j > i:
                ax.set_axis_off()
                continue
            if i == j:
                lo, hi = pi.bounds()
                ax.hist(posterior[pi.name], bins=15, range=(lo, hi), weights=w, color="#4477aa")
                ax.set_yticks([])
            else:
                ax.scatter(posterior[pj.name], posterior[pi.name], s=8 + 200 * w / w.max(), alpha=0.6, color="#4477aa")
                ax.set_ylim(*pi.bounds())
                ax.set_xlim(*pj.bounds())
            if i == k - 1:
                ax.set_xlabel(pj.name)
            if j == 0 and i > 0:
                ax.set_ylabel(pi.name)
    fig.suptitle("Posterior: marginals (diagonal) and pairs")
    return fig


def plot_targets(rows: list[Judgement]):
    """One panel per target: the observed value (±1.96 sd, or its bounds), each replicate's value
    (dots) and the simulated mean with its 95% interval."""
    from matplotlib.figure import Figure

    n = len(rows)
    cols = min(3, n)
    nrows = math.ceil(n / cols)
    fig = Figure(figsize=(3.6 * cols, 2.4 * nrows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, cols, squeeze=False).ravel())
    for ax, j in zip(axes, rows, strict=False):
        t = j.target
        if t.is_bound:
            lo = t.lower if t.lower is not None else min(j.mean, t.upper or 0) - 1
            hi = t.upper if t.upper is not None else max(j.mean, t.lower or 0) + 1
            ax.axvspan(lo, hi, color="#cccccc", label="allowed")
        else:
            assert t.observed is not None and t.sd is not None
            ax.errorbar(
                [t.observed], [1], xerr=[[1.96 * t.sd], [1.96 * t.sd]], fmt="s", color="black", label="observed"
            )
        reps = np.array([v for v in j.values if math.isfinite(v)], float)
        if reps.size:
            jitter = np.linspace(-0.25, 0.25, reps.size) if reps.size > 1 else np.zeros(1)
            ax.scatter(reps, -0.45 + 0.3 * jitter, s=12, color="#777777", label="replicates", zorder=1)
        if math.isfinite(j.mean):
            err = [[j.mean - j.low], [j.high - j.mean]] if math.isfinite(j.low) else None
            ax.errorbar([j.mean], [0], xerr=err, fmt="o", color="#228833" if j.passed else "#cc3311", label="simulated")
        ax.set_yticks([0, 1], ["sim", "obs"])
        ax.set_ylim(-0.8, 1.8)
        where = Path(j.scenario).stem if j.scenario else ""
        ax.set_title(f"{t.id}\n({where})" if where else t.id, fontsize=9)
        if t.unit:
            ax.set_xlabel(t.unit)
    for ax in axes[n:]:
        ax.set_axis_off()
    return fig


def write_report(
    folder: Path, spec: CalibrationSpec, posterior: pd.DataFrame, rows: list[Judgement], run_info: dict
) -> Path:
    """Write report.md, identification.csv, targets.csv, posterior.png and targets.png into ``folder``."""
    from .check import format_table

    ident = identification(spec, posterior)
    ident.to_csv(folder / "identification.csv", index=False)
    pd.DataFrame(
        [
            {
                "target": j.target.id,
                "observed": j.target.observed,
                "sd": j.target.sd,
                "lower": j.target.lower,
                "upper": j.target.upper,
                "simulated_mean": j.mean,
                "simulated_low95": j.low,
                "simulated_high95": j.high,
                "runs": j.n,
                "passed": j.passed,
            }
            for j in rows
        ]
    ).to_csv(folder / "targets.csv", index=False)
    plot_posterior(spec, posterior).savefig(folder / "posterior.png", dpi=110)
    plot_targets(rows).savefig(folder / "targets.png", dpi=110)
    not_id = [r["parameter"] for _, r in ident.iterrows() if not r["identified"]]
    if run_info.get("point") == "closest":
        what = "the last generation's particle nearest the targets"
    else:
        what = "posterior medians"
    point = run_info.get("point_values") or dict(zip(ident["parameter"], ident["median"], strict=True))
    lines = [
        f"# Calibration report: {spec.path.name}",
        "",
        f"Scenario `{spec.scenario_path.name}` (settings {spec.set or 'none'}); ABC-SMC (pyabc), "
        f"{run_info['generations']} generations of {spec.population_size} particles, "
        f"{run_info['simulations']} simulations; tolerance by generation: "
        + ", ".join(f"{e:.3g}" for e in run_info["epsilons"])
        + f"; wall time {run_info['wall_seconds']:.0f} s on {run_info['executor']}.",
        "",
        "## Posterior",
        "",
        "| parameter | setting | prior | mean | median | 95% interval | posterior sd / prior sd | identified |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for _, r in ident.iterrows():
        lines.append(
            f"| {r['parameter']} | `{r['setting']}` | {r['prior']} | {r['mean']:.4g} | {r['median']:.4g} | "
            f"[{r['low95']:.4g}, {r['high95']:.4g}] | {r['sd_over_prior_sd']:.2f} | {'yes' if r['identified'] else 'no'} |"
        )
    lines += [
        "",
        f"A parameter whose posterior sd is above {IDENTIFIED_RATIO:g} of its prior sd is not identified by these targets"
        + (f": here {', '.join(not_id)}." if not_id else ": here every parameter is identified."),
        "",
        "![posterior](posterior.png)",
        "",
        f"## Targets at the calibrated scenario ({what}, {spec.replicates} replicates)",
        "",
        "The calibrated point (`calibrated.toml`): "
        + ", ".join(f"{name} = {value:.4g}" for name, value in point.items())
        + ".",
        "",
        format_table(rows),
        "",
        "![targets](targets.png)",
        "",
    ]
    path = folder / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
