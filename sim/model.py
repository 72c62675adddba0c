"""The qunsim model: a ``mesa.Model`` that holds the state arrays and runs the processes."""

from __future__ import annotations

import mesa
import numpy as np

from .agents import Clinician
from .clock import Clock
from .config import Scenario
from .groups import build_contacts, build_groups
from .interventions import Scheduler
from .population import build_population
from .processes import REGISTRY
from .results import Recorder
from .rng import Streams

__all__ = ["QunModel"]


class QunModel(mesa.Model):
    """Information diffusion and consultation in clinicians' chat groups.

    Set-up (in this order, each from its own random stream): facilities and
    clinicians (``population``), groups (``groups``), 1-on-1 contacts (``contacts``),
    then every enabled process's ``setup``.

    One step (of ``run.step_minutes``) does, in this order:

    1. the clock marks the step's time of day (``clock.hour``); the state at the start
       of the step is what every process sees of the others;
    2. interventions whose start (or end) day falls in this step switch on (or off);
    3. ``network``: conferences create groups, invitations grow groups, members mute
       or leave (membership indexes are rebuilt at most once per step);
    4. ``information``: posts and forwards, reading with delay, belief, fact-checking,
       corrections, moderation, forgetting;
    5. ``diagnosis``: new cases, local diagnosis, group and 1-on-1 requests, answers,
       escalation, referral;
    6. the clock advances by one step; at every recording time each process writes
       its counts to the time series (``t`` is the time at the end of the step).

    Agents: ``Clinician`` objects are thin views over the arrays, created for Mesa's
    AgentSet queries and the visual demo; the processes work on the arrays.
    """

    def __init__(self, scenario: Scenario, seed: int | None = None):
        seed = scenario.run.seed if seed is None else int(seed)
        super().__init__(rng=seed)
        # the model's own copy: interventions change settings during the run, never the caller's
        self.config = scenario = scenario.model_copy(deep=True)
        self.seed = seed
        self.streams = Streams(seed)
        self.clock = Clock(step_days=scenario.dt_days, start_hour=scenario.run.start_hour)
        self.pop = build_population(scenario.population, self.streams("population"))
        self.net = build_groups(self.pop, scenario.groups, self.streams("groups"))
        self.contacts = build_contacts(self.pop, scenario.contacts, self.streams("contacts"))
        self.recorder = Recorder()
        self.processes = []
        for name, cls in REGISTRY.items():
            section = getattr(scenario, name, None)
            proc = cls(section)
            if proc.enabled():
                self.processes.append(proc)
        for proc in self.processes:
            proc.setup(self)
        self.interventions = Scheduler(scenario.interventions)
        if scenario.run.agent_objects:
            Clinician.create_agents(self, self.pop.n, np.arange(self.pop.n))
        steps_per_record = scenario.run.record_every_hours / (scenario.run.step_minutes / 60.0)
        self._record_every = max(1, int(round(steps_per_record)))
        self.record()

    # ------------------------------------------------------------------- stepping
    @property
    def t(self) -> float:
        """Days since the start."""
        return self.clock.t

    def process(self, name: str):
        """The running process called ``name`` (KeyError when it is off)."""
        for proc in self.processes:
            if proc.name == name:
                return proc
        raise KeyError(f"process {name!r} is not running")

    def step(self) -> None:
        self.interventions.step(self)
        for proc in self.processes:
            proc.step(self)
        self.clock.advance()
        if self.clock.step % self._record_every == 0:
            self.record()

    def record(self) -> None:
        rec = self.recorder
        rec.at(self.clock.t)
        sizes = self.net.sizes
        rec.add("n_groups", int((sizes > 0).sum()))
        rec.add("n_memberships", self.net.n_rows)
        for proc in self.processes:
            proc.record(self, rec)

    def run_model(self, n_steps: int | None = None, progress=None) -> None:
        """Run ``n_steps`` (default: the scenario's duration); ``progress(step, total)``."""
        total = self.config.n_steps if n_steps is None else n_steps
        for k in range(total):
            self.step()
            if progress is not None:
                progress(k + 1, total)
            if self.config.run.stop_when_idle and all(p.idle() for p in self.processes):
                break
        if self.clock.step % self._record_every != 0:
            self.record()
