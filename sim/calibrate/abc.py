"""ABC-SMC calibration with pyabc, run on the experiment layer's executors.

pyabc draws parameters, weighs particles and shrinks the tolerance; qunsim runs the
simulations. The bridge is :class:`ExecutorSampler`, a pyabc sampler that works in batches:

1. it calls pyabc's ``simulate_one`` for a batch with the model in *record* mode — each call
   draws a proposal from pyabc's proposal distribution and the model only notes it;
2. it runs the batch's simulations on an executor (this process, local processes, Dask),
   skipping any already stored under ``sims/`` (one JSON file per simulation, written
   atomically the moment it finishes);
3. it rewinds numpy's global generator (pyabc draws from it) and calls ``simulate_one`` again
   for the same proposals with the model in *replay* mode, so pyabc computes distances,
   acceptance and weights on the real statistics, in proposal order, until it has enough.

Proposals are drawn in this process from a generator seeded per generation, and each
simulation's seed is a hash of its parameters, so a calibration gives the same posterior
whatever the executor and number of workers, and an interrupted one continues where it
stopped: pyabc's database (``abc.db``) keeps every finished generation, and the simulations of
the interrupted generation are found again under ``sims/``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .spec import CalibrationSpec

__all__ = ["CalibrationRun", "ExecutorSampler", "SimulationBank", "calibrate"]

MISSING = 1e6  # the distance contribution of a statistic a run could not compute (NaN)


def _seed32(*parts: int) -> int:
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0])


class SimulationBank:
    """Runs simulations for parameter sets on an executor and keeps their statistics on disk."""

    def __init__(self, spec: CalibrationSpec, folder: Path, executor, log: Callable[[str], None]):
        self.spec = spec
        self.folder = folder / "sims"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.executor = executor
        self.log = log
        self.memory: dict[str, dict[str, float]] = {}
        self.runs = 0  # simulations run in this session (not found on disk)

    def key(self, values: dict[str, float], seed: int) -> str:
        text = json.dumps([self.spec.fingerprint(), [values[p.name] for p in self.spec.parameters], seed])
        return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()

    def seed_for(self, values: dict[str, float], replicate: int = 0) -> int:
        raw = json.dumps([self.spec.seed, replicate, [repr(float(values[p.name])) for p in self.spec.parameters]])
        return int.from_bytes(hashlib.blake2b(raw.encode(), digest_size=8).digest(), "big") >> 1

    def lookup(self, key: str) -> dict[str, float] | None:
        if key in self.memory:
            return self.memory[key]
        path = self.folder / f"{key}.json"
        if path.is_file():
            stats = {k: float(v) for k, v in json.loads(path.read_text())["stats"].items()}
            self.memory[key] = stats
            return stats
        return None

    def run(self, points: list[tuple[dict[str, float], int]]) -> list[dict[str, float]]:
        """Statistics of each (parameter values, seed), running the ones not yet stored."""
        from ..experiments.executors import Task
        from ..experiments.store import atomic_write
        from .statistics import RunView

        keys = [self.key(v, s) for v, s in points]
        todo: dict[str, tuple[dict[str, float], int]] = {}
        for k, point in zip(keys, points, strict=True):
            if self.lookup(k) is None:
                todo[k] = point

        arms = self.spec.arms()  # () for the target's arm, then each comparison arm's settings

        def tasks():
            for k, (values, seed) in todo.items():
                label = ", ".join(f"{n}={v:.4g}" for n, v in values.items())
                for a, extra in enumerate(arms):
                    scen = self.spec.scenario_for(values, extra)
                    yield Task(f"{k}:{a}", label, scen, seed, self.spec.needs_timeseries())

        got: dict[str, dict[int, RunView]] = {}
        for task_key, ok, payload in self.executor.imap_unordered(tasks()):
            if not ok:
                raise RuntimeError(f"a simulation of the calibration raised:\n{payload}")
            key, arm = task_key.rsplit(":", 1)
            metrics, ts = payload
            runs = got.setdefault(key, {})
            runs[int(arm)] = RunView(metrics, ts)
            if len(runs) < len(arms):
                continue  # the point's other arms are still running
            stats = self.spec.statistics(runs[0], {arms[a]: runs[a] for a in range(1, len(arms))})
            values, seed = todo[key]
            record = {"params": values, "seed": seed, "stats": {k: _jsonable(v) for k, v in stats.items()}}
            atomic_write(self.folder / f"{key}.json", functools.partial(_write_json, record=record))
            self.memory[key] = stats
            self.runs += 1
            del got[key]
        out = []
        for k in keys:
            found = self.lookup(k)
            assert found is not None
            out.append(found)
        return out


def _write_json(path: Path, record: dict) -> None:
    path.write_text(json.dumps(record))


def _jsonable(v: float) -> float | str:
    return v if math.isfinite(v) else repr(v)


def _make_sampler_class():
    from pyabc.sampler import Sampler

    class ExecutorSampler(Sampler):
        """A pyabc sampler that records a batch of proposals, runs them on an executor, then replays them."""

        def __init__(self, driver: _Driver):
            super().__init__()
            self.driver = driver

        def sample_until_n_accepted(self, n, simulate_one, t, *, max_eval=np.inf, all_accepted=False, ana_vars=None):
            d = self.driver
            np.random.seed(_seed32(d.spec.seed, t + 2))
            sample = self._create_empty_sample()
            evals = accepted = 0
            rate = 1.0 if (all_accepted or t < 0) else d.last_rate
            workers = max(1, d.bank.executor.workers)
            while accepted < n and evals < max_eval:
                need = n - accepted
                batch = int(min(max(math.ceil(1.2 * need / max(rate, 0.02)), workers), 4 * n))
                batch = min(batch, int(max_eval - evals)) if math.isfinite(max_eval) else batch
                state = np.random.get_state()
                d.begin_record()
                for _ in range(batch):
                    simulate_one()
                proposals = d.end_record()
                what = "prior sample" if t < 0 else f"generation {t}"
                d.log(f"{what}: running {batch} simulations ({accepted}/{n} accepted so far)")
                d.results = dict(
                    zip(
                        (d.point_key(v) for v in proposals),
                        d.bank.run([(v, d.bank.seed_for(v)) for v in proposals]),
                        strict=True,
                    )
                )
                np.random.set_state(state)
                d.mode = "replay"
                used = got = 0
                for _ in range(batch):
                    particle = simulate_one()
                    sample.append(particle)
                    used += 1
                    evals += 1
                    if particle.accepted:
                        accepted += 1
                        got += 1
                    if accepted >= n or evals >= max_eval:
                        break
                rate = got / used if used else rate
                d.mode = "off"
            what = "prior sample" if t < 0 else f"generation {t}"
            d.log(f"{what}: {accepted}/{n} accepted of {evals} simulations")
            if t >= 0:
                d.last_rate = max(rate, 0.02)
            self.nr_evaluations_ = evals
            if accepted < n:
                sample.ok = False
            return sample

    return ExecutorSampler


ExecutorSampler: Any = None  # the class, built on first use (pyabc is an optional extra)


class _Driver:
    """The model pyabc calls: notes proposals in record mode, returns their statistics in replay mode."""

    def __init__(self, spec: CalibrationSpec, bank: SimulationBank, log: Callable[[str], None]):
        self.spec = spec
        self.bank = bank
        self.log = log
        self.mode = "off"
        self.recorded: list[dict[str, float]] = []
        self.results: dict[tuple, dict[str, float]] = {}
        self.last_rate = 1.0

    def point_key(self, values: dict[str, float]) -> tuple:
        return tuple(float(values[p.name]) for p in self.spec.parameters)

    def begin_record(self) -> None:
        self.mode = "record"
        self.recorded = []

    def end_record(self) -> list[dict[str, float]]:
        self.mode = "off"
        return self.recorded

    def __call__(self, pars) -> dict[str, float]:
        values = {p.name: float(pars[p.name]) for p in self.spec.parameters}
        if self.mode == "record":
            self.recorded.append(values)
            return {tid: math.nan for tid in self.spec.targets}
        if self.mode == "replay":
            try:
                return self.results[self.point_key(values)]
            except KeyError:
                raise RuntimeError(
                    "pyabc proposed a parameter set that was not recorded (replay out of step)"
                ) from None
        raise RuntimeError("the calibration model was called outside a sampler batch")


def distance_function(spec: CalibrationSpec) -> Callable[[dict, dict], float]:
    """Root mean square of each target's miss in units of its uncertainty (see Target.miss)."""
    targets = spec.targets

    def distance(x: dict, x0: dict) -> float:
        total = 0.0
        for tid, target in targets.items():
            m = target.miss(float(x[tid]))
            total += (MISSING if not math.isfinite(m) else m) ** 2
        return math.sqrt(total / len(targets))

    return distance


@dataclass
class CalibrationRun:
    folder: Path
    posterior: Any  # DataFrame: one row per particle, a column per parameter and "weight"
    generations: int
    simulations: int
    epsilons: list[float] = field(default_factory=list)
    closest: dict[str, float] = field(default_factory=dict)  # the last generation's particle nearest the targets


def calibrate(
    spec: CalibrationSpec, folder: Path, executor, *, resume: bool = False, log: Callable[[str], None] | None = None
) -> CalibrationRun:
    """Run (or continue) ABC-SMC for ``spec`` in ``folder``; writes abc.db, sims/ and posterior.csv."""
    import logging

    try:
        import pyabc
    except ImportError:  # pragma: no cover - optional extra
        from ..schema import ScenarioError

        raise ScenarioError("qunsim calibrate needs pyabc: pip install 'qunsim[calibrate]'") from None
    global ExecutorSampler
    if ExecutorSampler is None:
        ExecutorSampler = _make_sampler_class()
    for name in ("ABC", "pyabc", "History", "Epsilon", "Distance", "Acceptor", "Sampler", "Transition"):
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("ABC").setLevel(logging.ERROR)
    if log is None:

        def log(msg: str) -> None:
            print(f"qunsim: {msg}", file=sys.stderr, flush=True)

    folder.mkdir(parents=True, exist_ok=True)
    bank = SimulationBank(spec, folder, executor, log)
    driver = _Driver(spec, bank, log)
    prior = pyabc.Distribution(**{p.name: p.rv() for p in spec.parameters})
    abc = pyabc.ABCSMC(
        driver,
        prior,
        distance_function(spec),
        population_size=spec.population_size,
        sampler=ExecutorSampler(driver),
    )
    db = folder / "abc.db"
    url = f"sqlite:///{db.resolve()}"
    if resume and db.is_file():
        history = abc.load(url, 1)
        done = history.max_t + 1
        log(f"resuming after generation {history.max_t} ({done} of {spec.generations} done)")
    else:
        history = abc.new(url, {tid: 0.0 for tid in spec.targets})
        done = 0
    remaining = spec.generations - done
    if remaining > 0:
        history = abc.run(
            minimum_epsilon=spec.min_epsilon,
            max_nr_populations=remaining,
            max_total_nr_simulations=spec.max_simulations,
        )
    df, w = history.get_distribution(m=0, t=history.max_t)
    post = df[[p.name for p in spec.parameters]].copy()
    post["weight"] = np.asarray(w, dtype=float)
    post.to_csv(folder / "posterior.csv", index=False)
    pops = history.get_all_populations()
    eps = [float(e) for e in pops.loc[pops.t >= 0, "epsilon"]]
    particles = history.get_population(history.max_t).particles
    nearest = min(particles, key=lambda q: q.distance)
    closest = {p.name: float(nearest.parameter[p.name]) for p in spec.parameters}
    return CalibrationRun(
        folder, post.reset_index(drop=True), history.max_t + 1, int(history.total_nr_simulations), eps, closest
    )
