"""Intervention comparisons: arms x paired replicates of one scenario.

An experiment file (TOML)::

    scenario = "../scenarios/guangdong_study.toml"   # relative to this file
    seed = 2026                                     # one root seed for the experiment
    replicates = 10
    set = ["run.duration_days=30"]                  # applied to every arm
    metrics = ["info_rumor_believer_days", "info_rumor_t_first_correction"]

    [arms.baseline]
    [arms.moderation]
    set = ["information.moderation.enabled=true"]

Replicate k of every arm runs with the same seed (from ``SeedSequence.spawn``), so arms
are compared pairwise (common random numbers): each arm's difference from the first arm
(the baseline) is summarised by its mean and a bootstrap 95% interval of the mean paired
difference (``scipy.stats.bootstrap``). Results are the same whatever ``--jobs`` is.
"""

from __future__ import annotations

import datetime as _dt
import json
import multiprocessing
import time
import tomllib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import Field, ValidationError, model_validator
from scipy import stats

from . import __version__
from .config import load_scenario, scenario_to_toml
from .results import OutputExistsError
from .rng import replicate_seeds
from .schema import ScenarioError, Section

__all__ = ["ExperimentConfig", "load_experiment", "run_experiment", "compare_arms", "plot_comparison"]


class ArmConfig(Section):
    set: list[str] = Field(default_factory=list, description="Overrides of this arm (dotted.key=value).")


class ExperimentConfig(Section):
    scenario: str = Field(description="Scenario file, relative to the experiment file.")
    seed: int = Field(2026, ge=0)
    replicates: int = Field(10, ge=2, le=10_000)
    set: list[str] = Field(default_factory=list, description="Overrides applied to every arm.")
    metrics: list[str] | None = Field(None, description="Metrics to compare (default: all numeric).")
    arms: dict[str, ArmConfig] = Field(description="The arms; the first is the baseline.")

    @model_validator(mode="after")
    def _two_arms(self):
        if len(self.arms) < 2:
            raise ValueError("an experiment needs at least two arms (the first is the baseline)")
        return self


def load_experiment(path: str | Path) -> tuple[ExperimentConfig, Path]:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such experiment file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from None
    try:
        cfg = ExperimentConfig.model_validate(raw)
    except ValidationError as exc:
        lines = [f"{path}: {exc.error_count()} problem(s) in the experiment:"]
        lines += [f"  {'.'.join(map(str, e['loc'])) or '(top level)'}: {e['msg']}" for e in exc.errors()]
        raise ScenarioError("\n".join(lines)) from None
    scenario = (path.parent / cfg.scenario).resolve()
    # validate every arm's scenario now, before any run starts
    for name, arm in cfg.arms.items():
        try:
            load_scenario(scenario, [*cfg.set, *arm.set])
        except ScenarioError as exc:
            raise ScenarioError(f"{path}: arm {name!r}: {exc}") from None
    return cfg, scenario


def _one_run(args) -> tuple[str, int, int, dict, pd.DataFrame]:
    from .runner import run

    arm, k, seed, scenario, overrides = args
    res = run(load_scenario(scenario, overrides), seed=seed)
    ts = res.timeseries.assign(arm=arm, replicate=k)
    return arm, k, seed, res.metrics, ts


def run_experiment(cfg: ExperimentConfig, scenario: Path, jobs: int = 1, progress=None,
                   replicates: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run every arm x replicate; returns (runs: one row per run with its metrics, timeseries)."""
    reps = replicates or cfg.replicates
    seeds = replicate_seeds(cfg.seed, reps)
    tasks = [(arm, k, seeds[k], scenario, [*cfg.set, *a.set])
             for k in range(reps) for arm, a in cfg.arms.items()]
    out = []
    if jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            for i, r in enumerate(pool.map(_one_run, tasks)):
                out.append(r)
                if progress:
                    progress(i + 1, len(tasks))
    else:
        for i, task in enumerate(tasks):
            out.append(_one_run(task))
            if progress:
                progress(i + 1, len(tasks))
    rows = []
    for arm, k, seed, metrics, _ in out:
        numeric = {m: v for m, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        rows.append({"arm": arm, "replicate": k, "seed": seed, **numeric})
    runs = pd.DataFrame(rows).sort_values(["replicate", "arm"], kind="stable").reset_index(drop=True)
    timeseries = pd.concat([ts for *_, ts in out], ignore_index=True)
    return runs, timeseries


def compare_arms(runs: pd.DataFrame, metrics: list[str] | None = None, baseline: str | None = None,
                 seed: int = 0) -> pd.DataFrame:
    """Mean per arm and the paired difference from the baseline with a bootstrap 95% interval."""
    arms = list(dict.fromkeys(runs["arm"]))
    baseline = baseline or arms[0]
    if metrics is None:
        metrics = [c for c in runs.columns if c not in ("arm", "replicate", "seed")]
    wide = {arm: runs[runs["arm"] == arm].set_index("replicate") for arm in arms}
    rows = []
    rng = np.random.default_rng(seed)
    for metric in metrics:
        if metric not in runs.columns:
            raise KeyError(f"metric {metric!r} is not among the run metrics")
        base = wide[baseline][metric]
        for arm in arms:
            vals = wide[arm][metric]
            diff = (vals - base).dropna()
            row = {"metric": metric, "arm": arm, "mean": float(vals.mean()), "sd": float(vals.std(ddof=1)),
                   "n": int(vals.notna().sum()), "diff_mean": float(diff.mean()) if diff.size else np.nan,
                   "diff_low": np.nan, "diff_high": np.nan}
            if arm != baseline and diff.size >= 2 and diff.std() > 0:
                ci = stats.bootstrap((diff.to_numpy(),), np.mean, confidence_level=0.95,
                                     n_resamples=2000, method="BCa", random_state=rng).confidence_interval
                row["diff_low"], row["diff_high"] = float(ci.low), float(ci.high)
            elif arm != baseline and diff.size >= 1:
                row["diff_low"] = row["diff_high"] = float(diff.mean())
            rows.append(row)
    return pd.DataFrame(rows)


def plot_comparison(runs: pd.DataFrame, metrics: list[str], path: Path | None = None):
    """One panel per metric: each run as a point, arms side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.6), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        sns.pointplot(data=runs, x="arm", y=metric, errorbar=("ci", 95), linestyle="none", ax=ax, color="k")
        sns.stripplot(data=runs, x="arm", y=metric, alpha=0.4, ax=ax)
        ax.set_title(metric.replace("info_", "").replace("dx_", ""), fontsize=9)
        ax.set_xlabel("")
        ax.set_ylabel("")
        ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
        plt.close(fig)
    return fig


def run_experiment_to(path: str | Path, out: str | Path, jobs: int = 1, overwrite: bool = False,
                      replicates: int | None = None, progress=None) -> pd.DataFrame:
    """Load, run and save an experiment; returns the comparison table."""
    cfg, scenario = load_experiment(path)
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise OutputExistsError(f"{out} is not empty; choose another --out or pass --overwrite")
    started = _dt.datetime.now(_dt.timezone.utc)
    t0 = time.perf_counter()
    runs, ts = run_experiment(cfg, scenario, jobs=jobs, progress=progress, replicates=replicates)
    metrics = cfg.metrics
    table = compare_arms(runs, metrics, seed=cfg.seed)
    out.mkdir(parents=True, exist_ok=True)
    runs.to_parquet(out / "runs.parquet", index=False)
    ts.to_parquet(out / "timeseries.parquet", index=False)
    table.to_csv(out / "comparison.csv", index=False)
    (out / "experiment.toml").write_text(Path(path).read_text())
    first_arm = next(iter(cfg.arms))
    (out / "scenario.toml").write_text(scenario_to_toml(load_scenario(scenario, [*cfg.set, *cfg.arms[first_arm].set])))
    (out / "manifest.json").write_text(json.dumps({
        "qunsim_version": __version__, "experiment": str(path), "scenario": str(scenario),
        "seed": cfg.seed, "replicates": replicates or cfg.replicates, "arms": list(cfg.arms),
        "started_utc": started.isoformat(), "wall_seconds": time.perf_counter() - t0, "jobs": jobs,
    }, indent=2))
    if metrics:
        plot_comparison(runs, metrics, out / "comparison.png")
    return table
