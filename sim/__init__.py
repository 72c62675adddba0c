"""qunsim: information diffusion and consultation in clinicians' chat groups.

``import sim`` is light: the model, the processes and numba are imported on first use
of :func:`run` or :func:`build_model`.
"""

from __future__ import annotations

from importlib import metadata as _metadata
from typing import TYPE_CHECKING, Any

try:
    __version__ = _metadata.version("qunsim")  # defined once, in pyproject.toml
except _metadata.PackageNotFoundError:  # pragma: no cover - a source tree that was never installed
    __version__ = "0+unknown"

if TYPE_CHECKING:  # pragma: no cover
    from .config import Scenario, ScenarioError, load_scenario
    from .results import Results
    from .runner import build_model, run

__all__ = ["Results", "Scenario", "ScenarioError", "__version__", "build_model", "load_scenario", "run"]

_LAZY = {
    "Scenario": "config",
    "ScenarioError": "config",
    "load_scenario": "config",
    "Results": "results",
    "run": "runner",
    "build_model": "runner",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
