"""Many seeds of both arms, in the background, on a pool of worker processes the whole
server shares (two: the machine's cores), and what they say.

A :class:`Job` is one request of the many-seed view: ``seeds`` runs of each arm, queued
on the pool, with its progress; :func:`summarise` turns the runs into fan-chart bands
and the take-off probability of each arm with its Wilson interval. At most
:data:`MAX_JOBS` jobs wait at once, so a class pressing the button together cannot
queue more work than the server finishes in a few minutes.
"""

from __future__ import annotations

import atexit
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .figures import wilson

if TYPE_CHECKING:  # pragma: no cover
    from ..config import Scenario

__all__ = ["MAX_JOBS", "WORKERS", "ArmSummary", "Job", "busy", "shutdown", "start", "summarise", "warm_up"]

WORKERS = 2
MAX_JOBS = 4
QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
#: take-off: a guideline reaches this share of all clinicians by the end; a rumor is believed
#: by at least this share at some time
TAKEOFF = {"guideline": 0.5, "case_report": 0.5, "rumor": 0.2}

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_jobs: list[Job] = []


# ------------------------------------------------------------------ in the workers
_cache: dict[str, Scenario] = {}


def _scenario(text: str) -> Scenario:
    sc = _cache.get(text)
    if sc is None:
        import tomllib

        from ..config import Scenario as _Scenario
        from .engine import lean

        sc = lean(_Scenario.model_validate(tomllib.loads(text)))
        if len(_cache) >= 8:  # a job has two arms; keep the last few jobs' scenarios
            _cache.pop(next(iter(_cache)))
        _cache[text] = sc
    return sc


def _watch_parent() -> None:
    """Worker initializer: exit when the server that started us is gone (even after kill -9)."""
    import os

    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def _seed(arms: dict[str, str], seed: int, item: str) -> dict[str, dict[str, np.ndarray]]:
    """Every arm's run with ``seed`` (one task: half the round trips of one per run)."""
    from .engine import outcome_run

    return {name: outcome_run(_scenario(text), seed, item) for name, text in arms.items()}


def _warm() -> None:
    """Import the model and load its compiled kernels once per worker."""
    from ..config import load_scenario
    from ..paths import shipped_scenario
    from .engine import lean, outcome_run

    path = shipped_scenario("classroom")
    if path is not None:
        sc = lean(load_scenario(path, ["run.duration_days=2"]))
        outcome_run(sc, 0, sc.information.items[0].name)


# ------------------------------------------------------------------- in the server
def _get_pool() -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            import multiprocessing as mp

            _pool = ProcessPoolExecutor(
                max_workers=WORKERS, mp_context=mp.get_context("spawn"), initializer=_watch_parent
            )
            atexit.register(shutdown)
        return _pool


def warm_up() -> None:
    """Start the workers now (the first many-seed request is then as fast as the others)."""
    pool = _get_pool()
    for _ in range(WORKERS):
        pool.submit(_warm)


def shutdown() -> None:
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def busy() -> bool:
    """True when :data:`MAX_JOBS` jobs are already waiting or running."""
    with _lock:
        _jobs[:] = [j for j in _jobs if not j.finished]
        return len(_jobs) >= MAX_JOBS


@dataclass
class Job:
    """``seeds`` runs of each arm; ``arms`` maps an arm name to its scenario's TOML text."""

    arms: dict[str, str]
    seeds: list[int]
    item: str
    futures: list[Future] = field(default_factory=list)  # one per seed: every arm's run
    started: float = field(default_factory=time.perf_counter)
    elapsed: float | None = None
    cancelled: bool = False

    @property
    def total(self) -> int:
        return len(self.arms) * len(self.seeds)

    @property
    def done(self) -> int:
        return len(self.arms) * sum(f.done() for f in self.futures)

    @property
    def finished(self) -> bool:
        return self.cancelled or (bool(self.futures) and self.done == self.total)

    def cancel(self) -> None:
        self.cancelled = True
        for f in self.futures:
            f.cancel()

    def wait(self, poll: float = 0.2, on_progress=None, should_stop=None) -> dict[str, list[dict]] | None:
        """Block until done (calling ``on_progress(done, total)``); None when cancelled or stopped."""
        last = -1
        while not self.finished:
            if should_stop is not None and should_stop():
                self.cancel()
                return None
            d = self.done
            if d != last and on_progress is not None:
                on_progress(d, self.total)
                last = d
            time.sleep(poll)
        if self.cancelled:
            return None
        self.elapsed = time.perf_counter() - self.started
        if on_progress is not None:
            on_progress(self.total, self.total)
        results = [f.result() for f in self.futures]
        return {arm: [r[arm] for r in results] for arm in self.arms}


def start(arms: dict[str, Scenario], seeds: list[int], item: str) -> Job:
    """Queue the runs: one task per seed runs every arm with it (in the order of ``arms``)."""
    from ..config import scenario_to_toml

    job = Job({name: scenario_to_toml(sc) for name, sc in arms.items()}, list(seeds), item)
    pool = _get_pool()
    job.futures = [pool.submit(_seed, job.arms, int(seed), item) for seed in job.seeds]
    with _lock:
        _jobs.append(job)
    return job


# -------------------------------------------------------------------- the summary
@dataclass
class ArmSummary:
    t: np.ndarray
    bands: dict[float, np.ndarray]  # quantile -> share at each t
    finals: np.ndarray  # one per run
    peaks: np.ndarray
    took_off: int
    n: int
    p: float
    lo: float
    hi: float
    first: np.ndarray  # the first seed's trajectory (the page's own run)


def summarise(runs: list[dict], kind: str) -> ArmSummary:
    """Bands over runs at each recording time and the take-off count (see :data:`TAKEOFF`)."""
    length = min(len(r["t"]) for r in runs)
    t = runs[0]["t"][:length]
    m = np.vstack([r["share"][:length] for r in runs])
    bands = {q: np.quantile(m, q, axis=0) for q in QUANTILES}
    finals, peaks = m[:, -1], m.max(axis=1)
    threshold = TAKEOFF.get(kind, 0.5)
    hit = (peaks if kind == "rumor" else finals) >= threshold - 1e-12
    k, n = int(hit.sum()), int(hit.size)
    p, lo, hi = wilson(k, n)
    return ArmSummary(t=t, bands=bands, finals=finals, peaks=peaks, took_off=k, n=n, p=p, lo=lo, hi=hi, first=m[0])
