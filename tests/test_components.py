"""One conformance suite over every registered component (processes and interventions).

For each component: a small scenario runs a few steps with it on; nothing happens before
an intervention's start day; and every process the component does not declare in
``affects`` runs exactly as it would without it — same recorded trajectory, same metrics,
same random streams (common random numbers).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from sim.components import REGISTRY, Component, Outputs, load, names
from sim.config import load_scenario
from sim.model import QunModel
from sim.plan import STEP_ORDER
from sim.results import Metrics, Recorder

BASE = """
[run]
name = "conformance"
duration_days = 6
step_minutes = 120
[population]
n_clinicians = 150
n_schools = 3
[[population.regions]]
name = "City"
secondary = 1
tertiary = 1
[[population.regions]]
name = "County"
kind = "rural"
primary = 3
secondary = 1
referral_hub = "City"
[groups]
n_conferences = 2
[network]
conference_interval_days = 2
[[information.items]]
name = "guideline"
kind = "guideline"
start_day = 0.5
n_seeds = 3
seed_tiers = ["tertiary"]
[[information.items]]
name = "rumor"
kind = "rumor"
start_day = 0.5
n_seeds = 3
credibility = 0.4
[[information.items]]
name = "correction"
kind = "correction"
target = "rumor"
start_day = 1
n_seeds = 2
[[information.items]]
name = "report"
kind = "case_report"
start_day = 0.5
n_seeds = 1
"""

START_DAY = 3.0

# One example of every intervention; a newly registered intervention must add one here.
EXAMPLES = {
    "settings": '[[interventions]]\nname = "settings"\nstart_day = {start}\nset = {{ "information.forget_prob_per_day" = 0.5 }}\n',
    "embed_specialists": '[[interventions]]\nname = "embed_specialists"\nstart_day = {start}\nparams = {{ per_group = 2 }}\n',
    "literacy_training": '[[interventions]]\nname = "literacy_training"\nstart_day = {start}\nparams = {{ share = 1.0, gain = 0.4 }}\n',
    "broadcast": '[[interventions]]\nname = "broadcast"\nstart_day = {start}\nparams = {{ item = "rumor", roles = ["doctor"] }}\n',
    "reading_groups": '[[interventions]]\nname = "reading_groups"\nstart_day = {start}\nparams = {{ share = 0.8 }}\n',
    "oncall_roster": '[[interventions]]\nname = "oncall_roster"\nstart_day = {start}\n',
    "training_course": '[[interventions]]\nname = "training_course"\nstart_day = {start}\n'
    'params = {{ specialty = "general_medicine", sessions = 3, interval_days = 1, groups = 50, '
    "follow_prob = 1.0, learning_rate = 1.0 }}\n",
}

PROCESSES = names("process")
INTERVENTIONS = names("intervention")


def _scenario(write, extra: str = "", sets: list[str] | None = None):
    return load_scenario(write(BASE + extra), sets)


class Trace:
    """Each process's recorded rows after every step, on a recorder of its own."""

    def __init__(self, model: QunModel):
        self.model = model
        self.rec = {p.name: Recorder() for p in model.processes}

    def run(self) -> Trace:
        m = self.model
        while m.running:
            m.step()
            for p in m.processes:
                r = self.rec[p.name]
                r.at(m.t)
                p.record(m, r)
        return self

    def frame(self, name: str) -> pd.DataFrame:
        return self.rec[name].frame()

    def metrics(self, name: str) -> str:
        out = Outputs(metrics=Metrics())
        self.model.process(name).finish(self.model, out)
        return json.dumps(out.metrics.flat(), sort_keys=True, default=float)  # as text: NaN equals NaN

    def streams(self, name: str) -> dict:
        cache = self.model.streams._cache
        return {k: v.bit_generator.state for k, v in cache.items() if k == name or k.startswith(name + ".")}


def _same_frames(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    return a.shape == b.shape and a.equals(b)


def test_every_registered_process_has_a_place_in_the_plan():
    placed = [ph.name for ph in STEP_ORDER if ph.name != "interventions"]
    assert sorted(placed) == sorted(PROCESSES)
    assert len(set(placed)) == len(placed)


def test_every_intervention_has_an_example():
    assert sorted(EXAMPLES) == sorted(INTERVENTIONS)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_component_follows_the_lifecycle(name, write):
    cls = load(name)
    assert issubclass(cls, Component) and cls.name == name and cls.kind == REGISTRY[name].kind
    assert set(cls.affects) <= set(PROCESSES)
    extra = EXAMPLES[name].format(start=1) if cls.kind == "intervention" else ""
    sets = [f"{name}.enabled=true"] if cls.kind == "process" else None  # some are off by default
    model = QunModel(_scenario(write, extra, sets), seed=3)
    comp = next(c for c in model.components if c.name == name)
    for _ in range(24):
        model.step()
    assert isinstance(comp.idle(), bool)
    rec = Recorder()
    comp.record(model, rec)
    out = Outputs(metrics=Metrics())
    comp.finish(model, out)
    assert all(isinstance(v, pd.DataFrame) for v in out.tables.values())
    if cls.kind == "process":  # every process reports something
        assert len(rec.frame()) + len(out.metrics.flat()) > 0
    else:
        assert comp.started


@pytest.mark.parametrize("name", INTERVENTIONS)
def test_nothing_happens_before_an_intervention_starts(name, write):
    off = Trace(QunModel(_scenario(write), seed=5)).run()
    on = Trace(QunModel(_scenario(write, EXAMPLES[name].format(start=START_DAY)), seed=5)).run()
    changed_after = False
    for proc in PROCESSES:
        if proc not in off.rec:  # off in this scenario (trust is off by default)
            continue
        a, b = off.frame(proc), on.frame(proc)
        assert _same_frames(a[a["t"] <= START_DAY], b[b["t"] <= START_DAY]), f"{name} acted on {proc} before its start"
        changed_after |= not _same_frames(a, b)
    # and it does something once started (else the check above proves nothing)
    running = [p for p in PROCESSES if p in off.rec]
    assert changed_after or any(on.metrics(p) != off.metrics(p) for p in running), f"{name} changed nothing"


def _toggle(name: str, write, seed: int):
    """(run with ``name`` off, run with it on) for a process or an intervention."""
    if REGISTRY[name].kind == "process":
        scen_on = _scenario(write, sets=[f"{name}.enabled=true"])  # some are off by default
        scen_off = _scenario(write, sets=[f"{name}.enabled=false"])
    else:
        scen_off = _scenario(write)
        scen_on = _scenario(write, EXAMPLES[name].format(start=1))
    return Trace(QunModel(scen_off, seed=seed)).run(), Trace(QunModel(scen_on, seed=seed)).run()


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_switching_a_component_on_leaves_the_others_unchanged(name, write):
    off, on = _toggle(name, write, seed=11)
    comp = next(c for c in on.model.components if c.name == name)
    changed = {name, *comp.affects}
    untouched = [p for p in PROCESSES if p not in changed and not changed & set(load(p).reads)]
    for proc in untouched:
        if proc not in off.rec:  # switched off in one of the runs
            continue
        assert _same_frames(off.frame(proc), on.frame(proc)), f"{name} changed the trajectory of {proc}"
        assert off.metrics(proc) == on.metrics(proc), f"{name} changed the metrics of {proc}"
        assert off.streams(proc) == on.streams(proc), f"{name} changed the random draws of {proc}"


def test_the_model_stops_running_at_the_end(write):
    model = QunModel(_scenario(write), seed=1)
    n = 0
    while model.running:
        model.step()
        n += 1
    assert n == model.n_steps == model.steps
    assert np.isclose(model.t, 6.0)
