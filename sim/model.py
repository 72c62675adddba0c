"""The qunsim model: a ``mesa.Model`` that holds the state arrays and runs the components."""

from __future__ import annotations

import time
from collections.abc import Callable

import mesa
import numpy as np

from .agents import Clinician
from .clock import Clock
from .components import Component, Outputs, load
from .config import Scenario
from .contacts import build_contacts
from .groups import build_groups
from .interventions import Intervention, make_intervention
from .plan import STEP_ORDER
from .population import build_population
from .results import Metrics, Recorder
from .rng import Streams

__all__ = ["QunModel"]


class QunModel(mesa.Model):
    """Information diffusion and consultation in clinicians' chat groups.

    The order of set-up and of one step is :mod:`sim.plan` (``qunsim show --plan``).
    Every process and intervention is a :class:`~sim.components.Component`.

    Time: ``model.t`` is the simulated time in **days** since the start, at the
    beginning of the current step (steps last ``run.step_minutes``). Mesa's own
    counters count steps: ``model.steps`` (steps taken) and ``model.time`` (Mesa's
    clock, one unit per step). ``model.running`` turns False when the run reaches
    its duration or, with ``run.stop_when_idle``, when nothing is left to do.

    Agents: ``Clinician`` objects are thin views over the arrays, created for Mesa's
    AgentSet queries and the teaching page; the processes work on the arrays.
    """

    def __init__(self, scenario: Scenario, seed: int | None = None):
        seed = scenario.run.seed if seed is None else int(seed)
        super().__init__(rng=seed)
        # the model's own copy: interventions change settings during the run, never the caller's
        self.config = scenario = scenario.model_copy(deep=True)
        self.seed = seed
        self.streams = Streams(seed)
        self.clock = Clock(step_days=scenario.dt_days, start_hour=scenario.run.start_hour)
        self.n_steps = scenario.n_steps
        self.pop = build_population(scenario.population, self.streams("population"))
        self.net = build_groups(self.pop, scenario.groups, self.streams("groups"))
        self.contacts = build_contacts(self.pop, scenario.contacts, self.streams("contacts"))
        self.recorder = Recorder()
        self.timings: dict[str, float] = {}  # seconds spent stepping each component (and recording)
        # set by streaming.stream_tables: the run's tables go to files, and ``finish`` frees the
        # run state its tables and metrics no longer need (a streamed model is not run on after it)
        self.streamed = False
        self.interventions: list[Intervention] = [make_intervention(c) for c in scenario.interventions]
        self.processes: list[Component] = []
        for phase in STEP_ORDER:
            if phase.name == "interventions":
                continue
            proc = load(phase.name)(getattr(scenario, phase.name))
            if proc.enabled():
                self.processes.append(proc)
        for proc in self.processes:
            proc.setup(self)
        for iv in self.interventions:
            iv.setup(self)
        self._phases: list[list[Component]] = []
        for phase in STEP_ORDER:
            if phase.name == "interventions":
                self._phases.append(list(self.interventions))
            else:
                self._phases.append([p for p in self.processes if p.name == phase.name])
        if scenario.run.agent_objects:
            Clinician.create_agents(self, self.pop.n, np.arange(self.pop.n))
        steps_per_record = scenario.run.record_every_hours / (scenario.run.step_minutes / 60.0)
        self._record_every = max(1, round(steps_per_record))
        self.record()

    # ------------------------------------------------------------------- stepping
    @property
    def t(self) -> float:
        """Simulated days since the start, at the beginning of the current step."""
        return self.clock.t

    @property
    def components(self) -> list[Component]:
        """Every component of the run in step order (interventions first)."""
        return [c for phase in self._phases for c in phase]

    def process(self, name: str) -> Component:
        """The running process called ``name`` (KeyError when it is off)."""
        for proc in self.processes:
            if proc.name == name:
                return proc
        raise KeyError(f"process {name!r} is not running")

    def idle(self) -> bool:
        return all(p.idle() for p in self.processes)

    def step(self) -> None:
        timings, clock = self.timings, time.perf_counter
        for phase in self._phases:
            for comp in phase:
                t0 = clock()
                comp.step(self)
                timings[comp.name] = timings.get(comp.name, 0.0) + (clock() - t0)
        self.clock.advance()
        if self.clock.step % self._record_every == 0:
            t0 = clock()
            self.record()
            timings["record"] = timings.get("record", 0.0) + (clock() - t0)
        if self.clock.step >= self.n_steps or (self.config.run.stop_when_idle and self.idle()):
            self.running = False

    def record(self) -> None:
        rec = self.recorder
        rec.at(self.clock.t)
        sizes = self.net.sizes
        rec.add("n_groups", int((sizes > 0).sum()))
        rec.add("n_memberships", self.net.n_rows)
        for comp in self.components:
            comp.record(self, rec)

    def run_model(self, n_steps: int | None = None, progress: Callable[[int, int], None] | None = None) -> None:
        """Run until ``running`` turns False (or ``n_steps`` more steps); ``progress(step, total)``."""
        total = self.n_steps - self.clock.step if n_steps is None else n_steps
        for k in range(total):
            self.step()
            if progress is not None:
                progress(k + 1, total)
            # step() has just asked idle() and stopped the run if so: ask again only then
            if self.config.run.stop_when_idle and not self.running and self.idle():
                break
        if self.clock.step % self._record_every != 0:
            self.record()

    def finish(self, out: Outputs | None = None) -> Outputs:
        """Metrics and tables of every component at the end of the run (added to ``out``)."""
        out = Outputs(metrics=Metrics()) if out is None else out
        for comp in self.components:
            comp.finish(self, out)
        return out
