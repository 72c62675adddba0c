"""Experiments a researcher can trust and scale: paired intervention comparisons, parameter
sweeps with sensitivity analysis, a store of finished runs that survives being killed, and
executors from one process to a Dask cluster.

- :mod:`.config`: experiment and sweep files (schemas, loading, checks before any run)
- :mod:`.compare`: arms x paired replicates (``qunsim experiment``)
- :mod:`.sweep`: designs and sensitivity indices (``qunsim sweep``)
- :mod:`.store`: the crash-proof folder of run parts, ``--resume`` and ``--status``
- :mod:`.executors`: serial, local processes, Dask
- :mod:`.stats`: paired bootstrap, Wilson intervals, take-off analysis
- :mod:`.plots`: the figures
- :mod:`.cli`: the ``qunsim experiment`` and ``qunsim sweep`` commands

Importing this package is light; each name is imported from its module on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .compare import ExperimentOutcome, finish_experiment, plan_experiment, run_experiment, run_experiment_to
    from .config import ExperimentConfig, SweepConfig, load_experiment, load_sweep
    from .plots import plot_comparison, plot_indices, plot_inputs
    from .stats import compare_arms, conditional_outcomes, takeoff_table, wilson_interval
    from .store import folder_status, format_status
    from .sweep import SweepOutcome, analyze, design, plan_sweep, read_sweep, run_sweep, run_sweep_to

_LAZY = {
    "ExperimentOutcome": "compare",
    "finish_experiment": "compare",
    "plan_experiment": "compare",
    "run_experiment": "compare",
    "run_experiment_to": "compare",
    "ExperimentConfig": "config",
    "SweepConfig": "config",
    "load_experiment": "config",
    "load_sweep": "config",
    "plot_comparison": "plots",
    "plot_indices": "plots",
    "plot_inputs": "plots",
    "compare_arms": "stats",
    "conditional_outcomes": "stats",
    "takeoff_table": "stats",
    "wilson_interval": "stats",
    "folder_status": "store",
    "format_status": "store",
    "SweepOutcome": "sweep",
    "analyze": "sweep",
    "design": "sweep",
    "plan_sweep": "sweep",
    "read_sweep": "sweep",
    "run_sweep": "sweep",
    "run_sweep_to": "sweep",
}

__all__ = [
    "ExperimentConfig",
    "ExperimentOutcome",
    "SweepConfig",
    "SweepOutcome",
    "analyze",
    "compare_arms",
    "conditional_outcomes",
    "design",
    "finish_experiment",
    "folder_status",
    "format_status",
    "load_experiment",
    "load_sweep",
    "plan_experiment",
    "plan_sweep",
    "plot_comparison",
    "plot_indices",
    "plot_inputs",
    "read_sweep",
    "run_experiment",
    "run_experiment_to",
    "run_sweep",
    "run_sweep_to",
    "takeoff_table",
    "wilson_interval",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sim.experiments' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
