"""Intervention comparisons: arms x paired replicates of one scenario, run into a crash-proof folder.

Replicate k of every arm runs with the same seed (``sim.rng.replicate_seeds``), so arms are
compared pairwise (common random numbers). The baseline is the first arm in the file, and
every table and figure lists the arms in file order. ``qunsim experiment FILE --out DIR``
writes::

    runs.parquet          one row per run: arm, replicate, seed, key, every numeric metric
    timeseries.parquet    every run's time series with its arm and replicate
    comparison.csv        mean per arm; mean paired difference from the baseline, bootstrap 95% CI
    comparison.png        those paired differences and intervals
    takeoff.csv           (with [takeoff]) P(take-off) per arm (Wilson 95%), paired difference of take-off
    takeoff_conditional.csv  (with [takeoff]) each metric among the runs that took off
    manifest.json, plan.json, experiment.toml, parts/, failures/   (see sim.experiments.store)
"""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..rng import replicate_seeds
from ..schema import ScenarioError
from .config import ExperimentConfig, check_metrics, load_experiment
from .core import RunSpec, fingerprint, known_metrics, run_key, run_session, scenario_hash
from .executors import Executor, SerialExecutor, make_executor
from .store import Plan, Store, atomic_write, write_streamed

__all__ = [
    "ExperimentOutcome",
    "ExperimentPlan",
    "finish_experiment",
    "plan_experiment",
    "run_experiment",
    "run_experiment_to",
]


@dataclass
class ExperimentPlan:
    cfg: ExperimentConfig
    scenario_path: Path
    replicates: int
    rows: pd.DataFrame  # arm, replicate, seed, key: one row per (arm, replicate), arms in file order
    specs: list[RunSpec]
    plan: Plan
    arm_scenarios: dict[str, str]  # arm -> resolved scenario (TOML)


def plan_experiment(
    cfg: ExperimentConfig, scenario_path: Path, replicates: int | None = None, source: str | Path = ""
) -> ExperimentPlan:
    """Every (arm, replicate) with its seed and run key; runs that are identical share a key."""
    from ..config import load_scenario, scenario_to_toml

    reps = cfg.replicates if replicates is None else replicates
    if reps < 2:
        raise ScenarioError(f"--replicates: {reps} is not allowed; a paired comparison needs at least 2 replicates")
    seeds = replicate_seeds(cfg.seed, reps)
    rows, specs, arm_tomls = [], {}, {}
    digests = []
    for arm, a in cfg.arms.items():
        overrides = [*cfg.set, *a.set]
        scen = load_scenario(scenario_path, overrides)
        arm_tomls[arm] = scenario_to_toml(scen)
        digest = scenario_hash(scen)
        digests.append(digest)
        for k, seed in enumerate(seeds):
            key = run_key(digest, seed, cfg.timeseries)
            rows.append({"arm": arm, "replicate": k, "seed": seed, "key": key})
            if key not in specs:
                specs[key] = RunSpec(
                    key=key,
                    label=f"arm {arm!r} replicate {k}",
                    seed=seed,
                    build=functools.partial(load_scenario, scenario_path, overrides),
                    keep_timeseries=cfg.timeseries,
                )
    frame = pd.DataFrame(rows)
    name = Path(source).stem if source else "experiment"
    plan = Plan(
        kind="experiment",
        name=name,
        source=str(source),
        fingerprint=fingerprint("experiment", list(cfg.arms), digests, seeds, cfg.timeseries),
        keys=frame["key"].tolist(),
        labels=[f"{a} r{k}" for a, k in zip(frame["arm"], frame["replicate"], strict=True)],
    )
    return ExperimentPlan(cfg, scenario_path, reps, frame, list(specs.values()), plan, arm_tomls)


def check_experiment_metrics(ep: ExperimentPlan, path: Path) -> None:
    """Unknown metrics (``metrics``, ``takeoff.metric``) are errors now, before any run."""
    cfg = ep.cfg
    wanted = [*(cfg.metrics or []), *([cfg.takeoff.metric] if cfg.takeoff else [])]
    if not wanted:
        return
    from ..config import load_scenario

    for arm, a in cfg.arms.items():
        known = known_metrics(load_scenario(ep.scenario_path, [*cfg.set, *a.set]))
        check_metrics(cfg.metrics or [], known, path, "metrics", f" of arm {arm!r}")
        if cfg.takeoff:
            check_metrics([cfg.takeoff.metric], known, path, "takeoff.metric", f" of arm {arm!r}")


@dataclass
class ExperimentOutcome:
    folder: Path
    runs: pd.DataFrame
    comparison: pd.DataFrame
    takeoff: pd.DataFrame | None = None
    conditional: pd.DataFrame | None = None
    note: str = ""
    planned: int = 0
    failed: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.failed


def _timeseries_frames(store: Store, rows: pd.DataFrame) -> Iterator[pd.DataFrame]:
    for r in rows.itertuples(index=False):
        ts = store.timeseries(r.key)
        if ts is None:
            continue
        ts = ts.copy()
        ts.insert(0, "arm", r.arm)
        ts.insert(1, "replicate", r.replicate)
        yield ts


def finish_experiment(store: Store, ep: ExperimentPlan) -> ExperimentOutcome:
    """Build the tables and the figure from the stored runs (the same tables however they were run)."""
    from .plots import plot_comparison
    from .stats import compare_arms, conditional_outcomes, regime_note, takeoff_table

    cfg, folder = ep.cfg, store.folder
    done = store.done()
    have = ep.rows[ep.rows["key"].isin(done)]
    parts = store.rows(have["key"])
    runs = have.merge(parts.drop(columns=["seed"], errors="ignore"), on="key", how="left")
    runs = runs.reset_index(drop=True).copy()  # consolidated: a merge of many metrics leaves a block per column
    atomic_write(folder / "runs.parquet", lambda p: runs.to_parquet(p, index=False))
    if cfg.timeseries:
        write_streamed(folder / "timeseries.parquet", _timeseries_frames(store, have))
    arms = list(cfg.arms)
    metrics = cfg.metrics
    table = compare_arms(runs, metrics, seed=cfg.seed, arms=arms) if len(runs) else pd.DataFrame()
    out = ExperimentOutcome(folder, runs, table, planned=len(ep.rows))
    if cfg.takeoff is not None and len(runs):
        tk = cfg.takeoff
        out.takeoff = takeoff_table(runs, tk.metric, tk.threshold, seed=cfg.seed, arms=arms)
        compared = metrics or [c for c in runs.columns if c not in ("arm", "replicate", "seed", "key")]
        out.conditional = conditional_outcomes(runs, compared, tk.metric, tk.threshold, seed=cfg.seed, arms=arms)
        bimodal, out.note = regime_note(runs, tk.metric, tk.threshold)
        table["summary"] = "take-off table (bimodal outcome)" if bimodal else "paired mean difference"
        takeoff_df, cond_df = out.takeoff, out.conditional
        atomic_write(folder / "takeoff.csv", lambda p: takeoff_df.to_csv(p, index=False))
        atomic_write(folder / "takeoff_conditional.csv", lambda p: cond_df.to_csv(p, index=False))
    atomic_write(folder / "comparison.csv", lambda p: table.to_csv(p, index=False))
    if metrics and len(runs):
        plot_comparison(table, metrics, folder / "comparison.png", takeoff=out.takeoff)
    out.failed = sorted(ep.plan.labels[i] for i, k in enumerate(ep.plan.keys) if k not in done)
    return out


def run_experiment_to(
    path: str | Path,
    out: str | Path,
    *,
    jobs: int = 1,
    scheduler: str | None = None,
    dask_local: int | None = None,
    overwrite: bool = False,
    resume: bool = False,
    replicates: int | None = None,
    quiet: bool = True,
    executor: Executor | None = None,
) -> ExperimentOutcome:
    """Check everything, run what is missing into ``out`` (each run stored as it finishes), build the tables.

    Raises :class:`~sim.schema.ScenarioError` or :class:`~sim.results.OutputExistsError` for bad
    input before any run, and :class:`~sim.experiments.core.Interrupted` on Ctrl-C or SIGTERM
    (the finished runs are kept; ``resume=True`` continues).
    """
    if jobs < 1:
        raise ScenarioError(f"--jobs: {jobs} is not allowed; give at least 1")
    if dask_local is not None and dask_local < 1:
        raise ScenarioError(f"--dask-local: {dask_local} is not allowed; give at least 1 worker")
    if overwrite and resume:
        raise ScenarioError("--overwrite and --resume exclude each other: start over, or continue")
    path = Path(path)
    cfg, scenario = load_experiment(path)
    ep = plan_experiment(cfg, scenario, replicates, source=path)
    store = Store.prepare(Path(out), ep.plan, overwrite=overwrite, resume=resume)
    ex = None
    try:
        check_experiment_metrics(ep, path)
        ex = executor if executor is not None else make_executor(jobs, scheduler, dask_local, quiet=quiet)
        store.start()
        atomic_write(store.folder / "experiment.toml", lambda p: p.write_bytes(path.read_bytes()))
        manifest = {
            "kind": "experiment",
            "experiment": str(path.resolve()),
            "scenario": str(scenario),
            "seed": cfg.seed,
            "replicates": ep.replicates,
            "baseline": cfg.baseline,
            "arms": {a: {"set": [*cfg.set, *arm.set], "scenario": ep.arm_scenarios[a]} for a, arm in cfg.arms.items()},
            "runs_planned": len(ep.rows),
            "runs_distinct": len(ep.specs),
        }

        def header(ex: Executor, done: int) -> str:
            distinct = f" ({len(ep.specs)} distinct)" if len(ep.specs) != len(ep.rows) else ""
            already = f", {done} already done" if done else ""
            return (
                f"experiment {ep.plan.name!r}: {len(cfg.arms)} arms x {ep.replicates} replicates = "
                f"{len(ep.rows)} runs{distinct}{already}, on {ex.describe()}"
            )

        return run_session(store, ep.specs, manifest, header, lambda: finish_experiment(store, ep), ex, quiet=quiet)
    finally:
        if ex is not None and executor is None:
            ex.close()
        store.close()


def run_experiment(
    cfg: ExperimentConfig,
    scenario: Path,
    jobs: int = 1,
    replicates: int | None = None,
    executor: Executor | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run every arm x replicate in memory (a temporary folder); returns (runs, timeseries)."""
    ep = plan_experiment(cfg, scenario, replicates)
    with tempfile.TemporaryDirectory(prefix="qunsim-experiment-") as tmp:
        store = Store.prepare(Path(tmp) / "out", ep.plan)
        try:
            store.start()
            ex = executor if executor is not None else (make_executor(jobs) if jobs > 1 else SerialExecutor())
            try:
                out = run_session(
                    store,
                    ep.specs,
                    {"kind": "experiment"},
                    lambda e, d: "",
                    lambda: finish_experiment(store, ep),
                    ex,
                    quiet=True,
                )
            finally:
                if executor is None:
                    ex.close()
            ts = pd.read_parquet(store.folder / "timeseries.parquet") if cfg.timeseries else pd.DataFrame()
        finally:
            store.close()
    return out.runs, ts
