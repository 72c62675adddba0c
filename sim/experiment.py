"""Kept for existing imports: the experiment layer lives in :mod:`sim.experiments`."""

from __future__ import annotations

from .experiments import (
    ExperimentConfig,
    compare_arms,
    load_experiment,
    plot_comparison,
    run_experiment,
    run_experiment_to,
)

__all__ = [
    "ExperimentConfig",
    "compare_arms",
    "load_experiment",
    "plot_comparison",
    "run_experiment",
    "run_experiment_to",
]
