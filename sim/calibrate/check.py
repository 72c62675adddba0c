"""``qunsim calibrate --check``: the target table for the shipped scenarios.

Each target names the scenario it applies to (and settings for it); every scenario is run
``replicates`` times (seeds 0, 1, ...; one set of runs serves all its targets) on an executor,
each target's statistic is computed per run and judged (:func:`sim.calibrate.targets.judge`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .targets import Judgement, Target

__all__ = ["check_targets", "format_table"]


@dataclass(frozen=True)
class _Setup:
    scenario: str
    set: tuple[str, ...]


def check_targets(
    targets: dict[str, Target], executor, replicates: int = 4, seed: int = 0, log: Callable[[str], None] | None = None
) -> list[Judgement]:
    """Run each target's scenario ``replicates`` times and judge every target."""
    from ..config import load_scenario
    from ..experiments.config import _scenario_path
    from ..experiments.executors import Task
    from ..paths import SCENARIO_DIR
    from .statistics import STATISTICS, RunView, compute

    setups: dict[_Setup, list[Target]] = {}
    for t in targets.values():
        if t.scenario is None:
            from ..schema import ScenarioError

            raise ScenarioError(f"target {t.id}: no scenario to check it on")
        setups.setdefault(_Setup(t.scenario, t.set), []).append(t)
    values: dict[str, list[float]] = {tid: [] for tid in targets}
    tasks, owner = [], {}
    for i, (setup, ts) in enumerate(setups.items()):
        path = _scenario_path(SCENARIO_DIR / "_", setup.scenario)
        scen = load_scenario(path, list(setup.set))
        keep = any(STATISTICS[t.statistic].needs == "timeseries" for t in ts)
        for r in range(replicates):
            key = f"{i}-{r}"
            tasks.append(Task(key, f"{setup.scenario} seed {seed + r}", scen, seed + r, keep))
            owner[key] = ts
    if log:
        log(f"checking {len(targets)} targets: {len(tasks)} runs of {len(setups)} scenario settings")
    done = 0
    for key, ok, payload in executor.imap_unordered(tasks):
        if not ok:
            raise RuntimeError(f"a run of the check raised:\n{payload}")
        metrics, ts = payload
        run = RunView(metrics, ts)
        for t in owner[key]:
            values[t.id].append(compute(t.statistic, run, t.args))
        done += 1
        if log:
            log(f"run {done}/{len(tasks)} done")
    from .targets import judge

    return [judge(targets[tid], values[tid]) for tid in targets]


def _fmt(v: float) -> str:
    if math.isnan(v):
        return "n/a"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{v:.3g}"


def format_table(rows: list[Judgement]) -> str:
    """A Markdown table: target, scenario, observed, simulated mean [95% interval], pass."""
    lines = [
        "| target | scenario | observed | simulated [95% interval] | runs | pass |",
        "|---|---|---|---|---|---|",
    ]
    for j in rows:
        t = j.target
        sim = f"{_fmt(j.mean)} [{_fmt(j.low)}, {_fmt(j.high)}]"
        unit = f" {t.unit}" if t.unit else ""
        where = Path(t.scenario).stem if t.scenario and ("/" in t.scenario or "\\" in t.scenario) else t.scenario
        lines.append(
            f"| {t.id} | {where} | {t.describe_observed()}{unit} | {sim} | {j.n} | {'yes' if j.passed else 'NO'} |"
        )
    n_pass = sum(j.passed for j in rows)
    lines.append("")
    lines.append(f"{n_pass} of {len(rows)} targets pass")
    return "\n".join(lines)
