"""`run(scenario, seed)`: build a model, run it, and gather its results."""

from __future__ import annotations

import datetime as _dt
import platform
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from . import __version__
from .components import Outputs
from .config import Scenario, load_scenario, scenario_to_toml, scenario_warnings
from .model import QunModel
from .results import Metrics, Results, Tables
from .streaming import stream_tables

__all__ = ["build_model", "run"]


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def build_model(scenario: Scenario | str | Path, seed: int | None = None) -> QunModel:
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    return QunModel(scenario, seed=seed)


def model_warnings(model: QunModel) -> list[str]:
    """What the built model does to the scenario's settings, one line each (see
    :func:`sim.processes.information.seeding.seed_warnings`); the scenario's own warnings are
    :func:`sim.config.scenario_warnings`."""
    if not any(p.name == "information" for p in model.processes):
        return []
    from .processes.information.seeding import seed_warnings

    return seed_warnings(model)


def run(
    scenario: Scenario | str | Path,
    seed: int | None = None,
    progress=None,
    warn: Callable[[str], None] | None = None,
    stream_to: str | Path | None = None,
) -> Results:
    """Run a scenario (a :class:`Scenario` or a path) with ``seed`` (default: the scenario's).

    ``warn(line)`` is called, before the first step, for each of :func:`model_warnings`; the
    manifest's ``warnings`` hold the scenario's warnings and these.

    ``stream_to``: a folder (usually the one the results will be saved in) where the events,
    the answers and the cases are written in chunks during the run (:mod:`sim.streaming`); the results
    then hold the files, read when asked for, and :meth:`Results.save` moves them into place.
    A run that fails removes them.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    started = _dt.datetime.now(_dt.UTC)
    t0 = time.perf_counter()
    model = QunModel(scenario, seed=seed)
    build_s = time.perf_counter() - t0
    built_warnings = model_warnings(model)
    if warn is not None:
        for line in built_warnings:
            warn(line)
    sink = None if stream_to is None else stream_tables(model, stream_to)
    try:
        model.run_model(progress=progress)
        results = _gather(model, scenario, started, t0, build_s, built_warnings)
    except BaseException:
        if sink is not None:
            sink.abort()
        raise
    return results


def _gather(
    model: QunModel, scenario: Scenario, started: _dt.datetime, t0: float, build_s: float, built_warnings: list[str]
) -> Results:
    wall = time.perf_counter() - t0
    seed = model.seed
    m = Metrics()
    m.add("", "n_clinicians", model.pop.n)
    m.add("", "n_facilities", model.pop.n_facilities)
    for k, v in model.net.structure(model.pop).items():
        m.add("network", k, v)
    m.add("", "contacts_per_clinician_mean", float(model.contacts.degree.mean()))
    out = model.finish(Outputs(metrics=m))
    agents = model.pop.agents_frame()
    agents["n_groups"] = model.net.groups_per_clinician()
    tables = {
        "agents": agents,
        "groups": model.net.groups_frame(model.pop),
        "memberships": model.net.memberships_frame(),
        "facilities": model.pop.facilities_frame(),
    }
    tables.update(out.tables)
    manifest = {
        "qunsim_version": __version__,
        "warnings": scenario_warnings(scenario) + built_warnings,
        "scenario": scenario.run.name,
        "seed": seed,
        "git_commit": _git_commit(),
        "started_utc": started.isoformat(),
        "finished_utc": _dt.datetime.now(_dt.UTC).isoformat(),
        "wall_seconds": wall,
        "build_seconds": build_s,
        "steps": model.clock.step,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "processes": [p.name for p in model.processes],
        "interventions": [iv.name for iv in model.interventions],
    }
    ts = model.recorder.frame(scenario=scenario.run.name, seed=seed)
    return Results(
        metrics=m.flat(),
        timeseries=ts,
        tables=Tables(tables),
        scenario_toml=scenario_to_toml(scenario),
        manifest=manifest,
        metrics_table=m.frame(scenario=scenario.run.name, seed=seed),
    )
