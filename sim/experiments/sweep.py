"""Parameter sweeps and sensitivity analysis.

A sweep file (see :mod:`sim.experiments.config`) names parameters -- dotted settings with a
range or a distribution -- a design, the number of points and the replicates per point.
The design is drawn on the unit hypercube and mapped to each parameter's distribution
through its quantile function (``scipy.stats``):

- ``sobol``: Saltelli's scheme on a scrambled Sobol sequence (``SALib.sample.sobol``),
  N(D+2) points (N(2D+2) with second order); indices S1 and ST (and S2) with bootstrap
  confidence intervals (``SALib.analyze.sobol``).
- ``morris``: N trajectories of D+1 points on a grid of ``levels`` (``SALib.sample.morris``);
  mu* (with its confidence interval), mu and sigma (``SALib.analyze.morris``, on the unit scale).
- ``latin``: N points of a Latin hypercube (``scipy.stats.qmc.LatinHypercube``); the
  moment-independent delta and S1 (``SALib.analyze.delta``).
- ``factorial``: every combination of ``n`` levels per parameter (or its ``values``); main
  effects (mean output per level) and the share of variance of each main effect.

Replicate k of every point runs with the same seed (common random numbers), so points differ
only by their settings; the analysed output of a point is its mean over replicates. A
parameter with ``dummy = true`` is sampled but passed to nothing: the usual control, whose
index must come out ~0 (with common random numbers its runs are those of another point, so
they are run once). Outputs: ``runs.parquet`` (one row per run: point, replicate, seed, key,
the inputs, every numeric metric), ``indices.csv`` (output, method, parameter, index, value,
low, high), ``indices.png``; with a factorial design also ``main_effects.csv``.
"""

from __future__ import annotations

import functools
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..rng import replicate_seeds
from ..schema import ScenarioError
from .config import ParameterConfig, SweepConfig, check_metrics, load_sweep
from .core import RunSpec, fingerprint, known_metrics, run_key, run_session, scenario_hash
from .executors import Executor, make_executor
from .store import Plan, Store, atomic_write, write_streamed

__all__ = [
    "SweepOutcome",
    "SweepPlan",
    "analyze",
    "design",
    "finish_sweep",
    "plan_sweep",
    "read_sweep",
    "run_sweep",
    "run_sweep_to",
    "unit_design",
]

UNBOUNDED_CLIP = 1e-3  # quantiles of unbounded distributions are taken within [clip, 1 - clip]


def _problem(cfg: SweepConfig) -> dict:
    names = list(cfg.parameters)
    return {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}


def _design_seed(cfg: SweepConfig) -> int:
    seed = cfg.design.seed if cfg.design.seed is not None else cfg.seed
    return int(seed) % 2**32  # SALib's samplers take 32-bit seeds


def unit_design(cfg: SweepConfig) -> np.ndarray:
    """The design on the unit hypercube, one row per point (not for factorial designs)."""
    d = cfg.design
    problem = _problem(cfg)
    seed = _design_seed(cfg)
    if d.method == "sobol":
        from SALib.sample import sobol

        return sobol.sample(problem, d.n, calc_second_order=d.second_order, scramble=True, seed=seed)
    if d.method == "morris":
        from SALib.sample import morris

        return morris.sample(problem, d.n, num_levels=d.levels, seed=seed)
    if d.method == "latin":
        from scipy.stats import qmc

        return qmc.LatinHypercube(d=problem["num_vars"], rng=np.random.default_rng(seed)).random(d.n)
    raise ValueError(f"no unit design for {d.method!r}")


def _distribution(p: ParameterConfig):
    from scipy import stats

    if p.distribution == "uniform":
        assert p.range is not None
        lo, hi = p.range
        if p.integer:
            return stats.randint(int(np.ceil(lo)), int(np.floor(hi)) + 1)
        return stats.uniform(loc=lo, scale=hi - lo)
    if p.distribution == "triangular":
        assert p.range is not None and p.mode is not None
        lo, hi = p.range
        return stats.triang(c=(p.mode - lo) / (hi - lo), loc=lo, scale=hi - lo)
    if p.distribution == "truncnormal":
        assert p.range is not None and p.mean is not None and p.sd is not None
        lo, hi = p.range
        return stats.truncnorm((lo - p.mean) / p.sd, (hi - p.mean) / p.sd, loc=p.mean, scale=p.sd)
    if p.distribution == "normal":
        return stats.norm(loc=p.mean, scale=p.sd)
    assert p.median is not None and p.sigma is not None
    return stats.lognorm(s=p.sigma, scale=p.median)


def to_values(u: np.ndarray, p: ParameterConfig) -> np.ndarray:
    """Map unit-interval values to the parameter's distribution (its quantile function)."""
    u = np.asarray(u, dtype=float)
    if p.distribution in ("normal", "lognormal"):
        u = np.clip(u, UNBOUNDED_CLIP, 1 - UNBOUNDED_CLIP)
    if p.integer:  # a discrete quantile function maps 0 below the support: keep u inside (0, 1)
        u = np.clip(u, 1e-12, 1 - 1e-12)
    values = _distribution(p).ppf(u)
    return values.astype(int) if p.integer else values


def design(cfg: SweepConfig) -> tuple[pd.DataFrame, np.ndarray | None]:
    """The points (a frame: point, one column per parameter) and the unit design (None for factorial)."""
    names = list(cfg.parameters)
    if cfg.design.method == "factorial":
        import itertools

        levels = []
        for p in cfg.parameters.values():
            if p.values is not None:
                levels.append(list(p.values))
            elif p.range is not None and p.distribution == "uniform":
                lv = np.linspace(p.range[0], p.range[1], cfg.design.n)
                levels.append(sorted(set(np.round(lv).astype(int).tolist())) if p.integer else lv.tolist())
            else:  # unbounded or shaped: the mid-quantiles of n equal-probability bins
                levels.append(to_values((np.arange(cfg.design.n) + 0.5) / cfg.design.n, p).tolist())
        grid = pd.DataFrame(list(itertools.product(*levels)), columns=names)
        grid.insert(0, "point", np.arange(len(grid)))
        return grid, None
    u = unit_design(cfg)
    frame = pd.DataFrame({name: to_values(u[:, j], p) for j, (name, p) in enumerate(cfg.parameters.items())})
    frame.insert(0, "point", np.arange(len(frame)))
    return frame, u


def _toml_value(v) -> str:
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return repr(float(v))


@dataclass
class SweepPlan:
    cfg: SweepConfig
    scenario_path: Path
    points: pd.DataFrame
    unit: np.ndarray | None
    rows: pd.DataFrame  # point, replicate, seed, key, <parameters>
    specs: list[RunSpec]
    plan: Plan
    base_toml: str


def plan_sweep(cfg: SweepConfig, scenario_path: Path, source: str | Path = "") -> SweepPlan:
    """Every (point, replicate) with its seed and key; every point's scenario is validated now."""
    from ..config import load_scenario, scenario_to_toml

    points, unit = design(cfg)
    seeds = replicate_seeds(cfg.seed, cfg.replicates)
    real = [(name, p.setting) for name, p in cfg.parameters.items() if not p.dummy]
    rows, specs = [], {}
    for r in points.itertuples(index=False):
        values = r._asdict()
        overrides = [*cfg.set, *(f"{setting}={_toml_value(values[name])}" for name, setting in real)]
        try:
            scen = load_scenario(scenario_path, overrides)
        except ScenarioError as exc:
            shown = ", ".join(f"{n}={values[n]!r}" for n, _ in real)
            raise ScenarioError(
                f"{source}: parameters: point {values['point']} ({shown}) is not allowed:\n{exc}"
            ) from None
        digest = scenario_hash(scen)
        for k, seed in enumerate(seeds):
            key = run_key(digest, seed, cfg.timeseries)
            rows.append({"point": values["point"], "replicate": k, "seed": seed, "key": key})
            if key not in specs:
                specs[key] = RunSpec(
                    key=key,
                    label=f"point {values['point']} replicate {k}",
                    seed=seed,
                    build=functools.partial(load_scenario, scenario_path, overrides),
                    keep_timeseries=cfg.timeseries,
                )
    frame = pd.DataFrame(rows).merge(points, on="point", how="left")
    plan = Plan(
        kind="sweep",
        name=Path(source).stem if source else "sweep",
        source=str(source),
        fingerprint=fingerprint("sweep", frame["key"].tolist(), list(cfg.parameters)),
        keys=frame["key"].tolist(),
        labels=[f"point {p} r{k}" for p, k in zip(frame["point"], frame["replicate"], strict=True)],
    )
    base = scenario_to_toml(load_scenario(scenario_path, cfg.set))
    return SweepPlan(cfg, scenario_path, points, unit, frame, list(specs.values()), plan, base)


def analyze(sp: SweepPlan, runs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Sensitivity indices of every output (and, for a factorial design, the main effects)."""
    cfg = sp.cfg
    problem = _problem(cfg)
    seed = _design_seed(cfg)
    method = cfg.design.method
    rows: list[dict] = []
    effects: list[dict] = []
    npoints = len(sp.points)
    for output in cfg.outputs:
        per_point = runs.groupby("point")[output].mean() if output in runs.columns else pd.Series(dtype=float)
        y = per_point.reindex(np.arange(npoints)).to_numpy(float)
        if not np.all(np.isfinite(y)):
            missing = int((~np.isfinite(y)).sum())
            rows.append(
                {
                    "output": output,
                    "method": method,
                    "parameter": None,
                    "index": None,
                    "value": np.nan,
                    "low": np.nan,
                    "high": np.nan,
                    "note": f"{missing} of {npoints} points have no value (failed runs or an undefined metric)",
                }
            )
            continue

        def add(name: str, index: str, value, conf=None, mname: str = method, output: str = output) -> None:
            value = float(value)
            half = float(conf) if conf is not None else np.nan
            rows.append(
                {
                    "output": output,
                    "method": mname,
                    "parameter": name,
                    "index": index,
                    "value": value,
                    "low": value - half,
                    "high": value + half,
                    "note": "",
                }
            )

        if method == "sobol":
            from SALib.analyze import sobol

            if np.ptp(y) == 0:
                for name in problem["names"]:
                    add(name, "S1", 0.0, 0.0)
                    add(name, "ST", 0.0, 0.0)
                continue
            res = sobol.analyze(
                problem, y, calc_second_order=cfg.design.second_order, num_resamples=1000, conf_level=0.95, seed=seed
            )
            for j, name in enumerate(problem["names"]):
                add(name, "S1", res["S1"][j], res["S1_conf"][j])
                add(name, "ST", res["ST"][j], res["ST_conf"][j])
            if cfg.design.second_order:
                for i, a in enumerate(problem["names"]):
                    for j in range(i + 1, len(problem["names"])):
                        add(f"{a}:{problem['names'][j]}", "S2", res["S2"][i, j], res["S2_conf"][i, j])
        elif method == "morris":
            from SALib.analyze import morris

            assert sp.unit is not None
            res = morris.analyze(
                problem, sp.unit, y, num_resamples=1000, conf_level=0.95, num_levels=cfg.design.levels, seed=seed
            )
            for j, name in enumerate(problem["names"]):
                add(name, "mu_star", res["mu_star"][j], res["mu_star_conf"][j])
                add(name, "mu", res["mu"][j])
                add(name, "sigma", res["sigma"][j])
        elif method == "latin":
            from SALib.analyze import delta

            assert sp.unit is not None
            res = delta.analyze(problem, sp.unit, y, num_resamples=200, conf_level=0.95, seed=seed)
            for j, name in enumerate(problem["names"]):
                add(name, "delta", res["delta"][j], res["delta_conf"][j])
                add(name, "S1", res["S1"][j], res["S1_conf"][j])
        else:  # factorial: main effects
            pts = sp.points.assign(_y=y)
            total = float(np.var(y))
            for name in problem["names"]:
                means = pts.groupby(name, sort=True)["_y"].agg(["mean", "size"])
                for level, m in means.iterrows():
                    effects.append(
                        {"output": output, "parameter": name, "level": level, "mean": m["mean"], "points": m["size"]}
                    )
                share = (
                    float(np.average((means["mean"] - y.mean()) ** 2, weights=means["size"])) / total if total else 0.0
                )
                add(name, "main_effect_share", share, mname="factorial")
                add(name, "main_effect_range", means["mean"].max() - means["mean"].min(), mname="factorial")
    return pd.DataFrame(rows), (pd.DataFrame(effects) if method == "factorial" else None)


@dataclass
class SweepOutcome:
    folder: Path
    runs: pd.DataFrame
    indices: pd.DataFrame
    main_effects: pd.DataFrame | None = None
    planned: int = 0
    failed: list[str] = field(default_factory=list)


def finish_sweep(store: Store, sp: SweepPlan) -> SweepOutcome:
    from .plots import plot_indices

    folder = store.folder
    done = store.done()
    have = sp.rows[sp.rows["key"].isin(done)]
    parts = store.rows(have["key"])
    runs = have.merge(parts.drop(columns=["seed"], errors="ignore"), on="key", how="left").reset_index(drop=True)
    runs = runs.copy()  # consolidated (one block per dtype), as compare's
    atomic_write(folder / "runs.parquet", lambda p: runs.to_parquet(p, index=False))
    if sp.cfg.timeseries:

        def frames():
            for r in have.itertuples(index=False):
                ts = store.timeseries(r.key)
                if ts is not None:
                    ts = ts.copy()
                    ts.insert(0, "point", r.point)
                    ts.insert(1, "replicate", r.replicate)
                    yield ts

        write_streamed(folder / "timeseries.parquet", frames())
    indices, effects = analyze(sp, runs)
    atomic_write(folder / "indices.csv", lambda p: indices.to_csv(p, index=False))
    if effects is not None:
        atomic_write(folder / "main_effects.csv", lambda p: effects.to_csv(p, index=False))
    if indices["value"].notna().any():
        plot_indices(indices.dropna(subset=["value"]), folder / "indices.png")
    failed = sorted(sp.plan.labels[i] for i, k in enumerate(sp.plan.keys) if k not in done)
    return SweepOutcome(folder, runs, indices, effects, len(sp.rows), failed)


def run_sweep_to(
    path: str | Path,
    out: str | Path,
    *,
    jobs: int = 1,
    scheduler: str | None = None,
    dask_local: int | None = None,
    overwrite: bool = False,
    resume: bool = False,
    quiet: bool = True,
    executor: Executor | None = None,
    n: int | None = None,
    replicates: int | None = None,
) -> SweepOutcome:
    """Check everything, run the sweep's missing runs into ``out``, analyse. ``n``/``replicates`` override the file."""
    if jobs < 1:
        raise ScenarioError(f"--jobs: {jobs} is not allowed; give at least 1")
    if dask_local is not None and dask_local < 1:
        raise ScenarioError(f"--dask-local: {dask_local} is not allowed; give at least 1 worker")
    if overwrite and resume:
        raise ScenarioError("--overwrite and --resume exclude each other: start over, or continue")
    path = Path(path)
    cfg, scenario = load_sweep(path)
    if n is not None or replicates is not None:
        from pydantic import ValidationError

        raw = cfg.model_dump()
        if n is not None:
            raw["design"]["n"] = n
        if replicates is not None:
            raw["replicates"] = replicates
        try:
            cfg = SweepConfig.model_validate(raw)
        except ValidationError as exc:
            from .config import _format

            raise ScenarioError(_format(exc, path, "sweep")) from None
    sp = plan_sweep(cfg, scenario, source=path)
    store = Store.prepare(Path(out), sp.plan, overwrite=overwrite, resume=resume)
    ex = None
    try:
        from ..config import load_scenario

        check_metrics(cfg.outputs, known_metrics(load_scenario(scenario, cfg.set)), path, "outputs")
        ex = executor if executor is not None else make_executor(jobs, scheduler, dask_local, quiet=quiet)
        store.start()
        atomic_write(store.folder / "sweep.toml", lambda p: p.write_bytes(path.read_bytes()))
        manifest = {
            "kind": "sweep",
            "sweep": str(path.resolve()),
            "scenario": str(scenario),
            "seed": cfg.seed,
            "replicates": cfg.replicates,
            "design": cfg.design.model_dump(),
            "parameters": {k: v.model_dump(exclude_none=True) for k, v in cfg.parameters.items()},
            "base_scenario": sp.base_toml,
            "points": len(sp.points),
            "runs_planned": len(sp.rows),
            "runs_distinct": len(sp.specs),
        }

        def header(ex: Executor, done: int) -> str:
            already = f", {done} already done" if done else ""
            return (
                f"sweep {sp.plan.name!r}: {cfg.design.method} design, {len(sp.points)} points x {cfg.replicates} "
                f"replicates = {len(sp.rows)} runs ({len(sp.specs)} distinct){already}, on {ex.describe()}"
            )

        return run_session(store, sp.specs, manifest, header, lambda: finish_sweep(store, sp), ex, quiet=quiet)
    finally:
        if ex is not None and executor is None:
            ex.close()
        store.close()


def run_sweep(path: str | Path, n: int | None = None, replicates: int | None = None, jobs: int = 1) -> SweepOutcome:
    """Run a sweep into a temporary folder and return its tables (for notebooks and tests)."""
    with tempfile.TemporaryDirectory(prefix="qunsim-sweep-") as tmp:
        return run_sweep_to(path, Path(tmp) / "out", jobs=jobs, n=n, replicates=replicates, quiet=True)


def read_sweep(folder: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The tables of a finished sweep folder: (runs, indices)."""
    folder = Path(folder)
    if not (folder / "indices.csv").is_file():
        raise FileNotFoundError(
            f"{folder} holds no finished sweep (no indices.csv); see qunsim sweep --status {folder}"
        )
    return pd.read_parquet(folder / "runs.parquet"), pd.read_csv(folder / "indices.csv")
