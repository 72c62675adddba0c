"""One lifecycle for everything that acts during a run, and one registry of it.

A *component* is a process (network, information, diagnosis) or an intervention
(embedded specialists, an on-call roster, ...). Every component follows the same
protocol, called by the model:

``setup(model)``
    once, after the population, the groups and the contacts exist, in step order;
``step(model)``
    every step, in the order of :data:`sim.plan.STEP_ORDER`;
``record(model, rec)``
    at every recording time: tidy rows into the :class:`~sim.results.Recorder`;
``finish(model, out)``
    once at the end: metrics into ``out.metrics`` (a :class:`~sim.results.Metrics`)
    and tables into ``out.tables``;
``idle()``
    True when further steps would change nothing (for ``run.stop_when_idle``).

A component draws random numbers only from ``model.streams(<its stream name>)``, so
switching one on leaves the draws of every other unchanged (common random numbers).

The registry maps a name to *where* the class lives (``"module:Class"``), so that the
scenario schema can know every component without importing its implementation: process
implementations (and numba) are imported only when a model is built.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .model import QunModel
    from .results import Metrics, Recorder
    from .streaming import StreamedTable

__all__ = ["REGISTRY", "Component", "Entry", "Outputs", "load", "names", "register"]

Kind = Literal["process", "intervention"]


@dataclass
class Outputs:
    """What the components hand over at the end of a run (a streamed table is a
    :class:`~sim.streaming.StreamedTable`, its file)."""

    metrics: Metrics
    tables: dict[str, pd.DataFrame | StreamedTable] = field(default_factory=dict)

    def frame(self, name: str, columns: list[str] | None = None) -> pd.DataFrame | None:
        """The table ``name`` as a DataFrame, None when absent; a streamed one is read from its
        file (only ``columns`` when given: an in-memory table is returned whole)."""
        from .streaming import StreamedTable

        table = self.tables.get(name)
        return table.frame(columns) if isinstance(table, StreamedTable) else table


class Component:
    """Base class of processes and interventions: the lifecycle, all steps optional."""

    name: ClassVar[str] = "component"
    kind: ClassVar[Kind] = "process"
    #: processes whose state this component changes (besides its own); the conformance
    #: test checks that every other process runs exactly as it would without it
    affects: ClassVar[tuple[str, ...]] = ()
    #: processes whose outputs this component reports on (the cost table reads the
    #: answers, cases and message counts): it changes whenever one of them does
    reads: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: Any):
        self.config = config  # constructors store settings and do no work

    def enabled(self) -> bool:
        return bool(getattr(self.config, "enabled", True))

    def setup(self, model: QunModel) -> None:
        """Create the state this component owns."""

    def step(self, model: QunModel) -> None:
        """Advance by one step of ``model.clock.step_days``."""

    def idle(self) -> bool:
        """True when further steps would change nothing."""
        return False

    def record(self, model: QunModel, rec: Recorder) -> None:
        """Add this recording time's rows to the time series."""

    def finish(self, model: QunModel, out: Outputs) -> None:
        """Add outcome metrics and tables at the end of the run."""


@dataclass(frozen=True)
class Entry:
    """A registered component: its name, kind and where its class lives."""

    name: str
    kind: Kind
    target: str  # "package.module:Class"
    doc: str = ""


REGISTRY: dict[str, Entry] = {}


def register(name: str, kind: Kind, target: str, doc: str = "") -> None:
    """Make a component available under ``name`` (its class is imported on first use)."""
    if name in REGISTRY and REGISTRY[name].target != target:
        raise ValueError(f"component {name!r} is registered twice ({REGISTRY[name].target}, {target})")
    REGISTRY[name] = Entry(name, kind, target, doc)


def load(name: str) -> type[Component]:
    """The class of the registered component ``name`` (imports its module)."""
    entry = REGISTRY[name]
    module, _, attr = entry.target.partition(":")
    cls = getattr(importlib.import_module(module), attr)
    if not (isinstance(cls, type) and issubclass(cls, Component)):
        raise TypeError(f"{entry.target} is not a Component")
    return cls


def names(kind: Kind) -> list[str]:
    """Registered names of one kind, in registration order."""
    return [e.name for e in REGISTRY.values() if e.kind == kind]


# The processes. Their order of *execution* is sim.plan.STEP_ORDER, not this list.
register(
    "network",
    "process",
    "sim.processes.network.process:NetworkProcess",
    "conferences create groups, invitations grow groups, members mute or leave",
)
register(
    "trust",
    "process",
    "sim.processes.trust.process:TrustProcess",
    "pairwise trust from how two met, answers and meetings; weights whom one asks and believes",
)
register(
    "information",
    "process",
    "sim.processes.information.process:InformationProcess",
    "guidelines, rumors, corrections and case reports: posting, reading, belief, moderation",
)
register(
    "diagnosis",
    "process",
    "sim.processes.diagnosis.process:DiagnosisProcess",
    "hard cases: local diagnosis, group and 1-on-1 requests, answers, referral",
)
register(
    "reporting",
    "process",
    "sim.processes.reporting.process:ReportingProcess",
    "case reports climb the formal chain: facility, county, city, province, abroad",
)
register(
    "cost",
    "process",
    "sim.processes.cost.process:CostProcess",
    "at the end: expert hours on and off duty, referral travel and visits, reading time, in CNY",
)
