"""``qunsim calibrate --check``: the target table for the shipped scenarios.

Each target names the scenario it applies to (and settings for it); every scenario is run
``replicates`` times (seeds 0, 1, ...; one set of runs serves all its targets) on an executor,
each target's statistic is computed per run and judged (:func:`sim.calibrate.targets.judge`).
A two-arm target's comparison arm (its ``versus`` settings) is run with the same seeds, and
replicate r of the arm is compared with replicate r of the comparison (paired).
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
    """Run each target's scenarios ``replicates`` times and judge every target on each of them
    (one judgement per target and scenario, in the targets' order)."""
    from ..config import load_scenario
    from ..experiments.config import _scenario_path
    from ..experiments.executors import Task
    from ..paths import SCENARIO_DIR
    from .statistics import STATISTICS, RunView, compute

    setups: dict[_Setup, int] = {}  # each distinct (scenario, settings) and its index
    rows: list[tuple[str, str, int, int | None]] = []  # (target, scenario, its setup, its comparison's setup)
    for t in targets.values():
        if not t.scenarios:
            from ..schema import ScenarioError

            raise ScenarioError(f"{t.id}: no scenario to check it on")
        for scenario in t.scenarios:
            own = setups.setdefault(_Setup(scenario, t.set), len(setups))
            other = None
            if t.versus is not None:
                other = setups.setdefault(_Setup(scenario, t.set + t.versus), len(setups))
            rows.append((t.id, scenario, own, other))
    keep = {i: False for i in setups.values()}
    for tid, _, own, other in rows:
        if STATISTICS[targets[tid].statistic].needs == "timeseries":
            for i in (own, other):
                if i is not None:
                    keep[i] = True
    tasks = []
    for setup, i in setups.items():
        path = _scenario_path(SCENARIO_DIR / "_", setup.scenario)
        scen = load_scenario(path, list(setup.set))
        for r in range(replicates):
            tasks.append(Task(f"{i}-{r}", f"{setup.scenario} seed {seed + r}", scen, seed + r, keep[i]))
    if log:
        log(f"checking {len(rows)} targets: {len(tasks)} runs of {len(setups)} scenario settings")
    runs: dict[str, RunView] = {}
    for key, ok, payload in executor.imap_unordered(tasks):
        if not ok:
            raise RuntimeError(f"a run of the check raised:\n{payload}")
        metrics, ts = payload
        runs[key] = RunView(metrics, ts)
        if log:
            log(f"run {len(runs)}/{len(tasks)} done")
    from .targets import judge

    out = []
    for tid, scenario, own, other in rows:
        t = targets[tid]
        values = [
            compute(t.statistic, runs[f"{own}-{r}"], t.args, None if other is None else runs[f"{other}-{r}"])
            for r in range(replicates)
        ]
        out.append(judge(t, values, scenario))
    return out


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
        scen = j.scenario
        where = Path(scen).stem if scen and ("/" in scen or "\\" in scen) else scen
        lines.append(
            f"| {t.id} | {where} | {t.describe_observed()}{unit} | {sim} | {j.n} | {'yes' if j.passed else 'NO'} |"
        )
    n_pass = sum(j.passed for j in rows)
    lines.append("")
    lines.append(f"{n_pass} of {len(rows)} targets pass")
    return "\n".join(lines)
