"""The process protocol and its registry."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from ..model import QunModel
    from ..results import Recorder

__all__ = ["Process", "REGISTRY", "register"]

REGISTRY: dict[str, type["Process"]] = {}


def register(cls: type["Process"]) -> type["Process"]:
    """Class decorator: make a process available to scenarios under ``cls.name``."""
    REGISTRY[cls.name] = cls
    return cls


class Process:
    """One mechanism of the model. Subclasses set ``name`` and override what they need."""

    name: ClassVar[str] = "process"

    def __init__(self, config):
        self.config = config  # constructors store settings and do no work

    def enabled(self) -> bool:
        return bool(getattr(self.config, "enabled", True))

    def setup(self, model: "QunModel") -> None:
        """Create the state this process owns."""

    def step(self, model: "QunModel") -> None:
        """Advance the state by one step of ``model.clock.step_days``."""

    def idle(self) -> bool:
        """True when further steps would change nothing (for ``run.stop_when_idle``)."""
        return False

    def record(self, model: "QunModel", rec: "Recorder") -> None:
        """Add this step's values to the time series."""

    def metrics(self, model: "QunModel") -> dict:
        """Outcome figures at the end of the run."""
        return {}

    def tables(self, model: "QunModel") -> dict[str, pd.DataFrame]:
        """Extra tables for the results folder (name -> frame)."""
        return {}
