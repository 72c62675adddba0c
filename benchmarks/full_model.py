"""The full model at scale: one simulated year of ``scenarios/province.toml``, every process on.

    python -m benchmarks.full_model --n 100000 [--days 365] [--seed 11] [--save DIR [--stream]] [--mechanisms]
        [--step-minutes M]

The province is scaled with N: cities and rural counties are repeated so that the
clinicians per facility stay as in the shipped scenario (60,000 clinicians in 21 cities
and 60 counties); the five regions abroad stay. Prints one JSON line: n, facilities,
groups, memberships, warm_up_s, build_s, sim_s, kernels_loaded_in_run (compiled kernels
loaded during the timed run: see below), days, steps, peak_rss_mb, base_rss_mb (before the
model is built: the model's own memory is the difference), sim_s_per_day, process_s
(seconds of the simulation spent in each process's step, and in recording), and
peak_rss_by_phase: the peak of each phase (build, run, tables, save) and of each 30
simulated days of the run (``run_by_month``: [last day, MB]), so a report can say where
the peak falls. On Linux the kernel's high-water mark is reset at each boundary
(``/proc/self/clear_refs``); where it cannot be, the field is null.

``--mechanisms`` turns on the mechanisms the shipped province leaves off (:data:`MECHANISMS`:
pairwise trust and moderators), so that a report can say what they cost. ``--step-minutes``
runs the same days in steps of that length instead of the province's 2 hours (``step_minutes``
in the JSON): at 1440, as many steps as Starsim's daily SIR takes, so that a report can say
what the finer steps cost (a coarser model: the hours of the day fall into one step).

Before anything is measured, the same scenario runs on :data:`WARM_N` clinicians for
:data:`WARM_DAYS` days with every content item released at once (its tables streamed and
built when the timed run's are): numba loads each compiled kernel from its cache at its
first call in a process (about 0.25 s for the province's, and most of a cold build), and
the timed run then counts almost none of that loading, as the shared workload's runner
(``benchmarks.impl_qunsim``) counts none, and as Starsim's timed run counts none (a warm-up
run before it changes its time by nothing measurable). ``kernels_loaded_in_run`` counts the
kernels the timed run still loads: none (the model's set-up, and a streamed run's when its
sinks are set, load those of the rare passes that a run reaches only deep in it, which the
warm-up's 3 days at 1,000 do not reach, such as the compaction of the open requests; before
they did, the province year at 60,000 loaded three while timed, about 0.4 s of its 10). The memory
before the warm-up is the base; the phase peaks start after it. ``--cold`` leaves the
warm-up out.

``--save DIR`` also builds the end-of-run tables and writes them to ``DIR`` as Parquet, as
``qunsim run`` does (``finish_s``, ``save_s``, ``rows``: rows of each table); with
``--stream`` the events and the answers are written there in chunks during the run
(:mod:`sim.streaming`). The peak then includes the end of the run.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import rss_mb

MONTH_DAYS = 30


class PhasePeaks:
    """Peak resident memory per phase, from the kernel's high-water mark (``VmHWM``),
    which :meth:`mark` reads and resets (Linux). Resetting it also resets ``ru_maxrss``:
    the peak of the whole process is then the largest phase peak (:meth:`overall`)."""

    def __init__(self) -> None:
        self.ok = self._reset()
        self.peaks: dict[str, float] = {}
        self.months: list[list[float]] = []

    @staticmethod
    def _reset() -> bool:
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            return True
        except OSError:
            return False

    @staticmethod
    def _hwm_mb() -> float:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        raise OSError("no VmHWM in /proc/self/status")

    def mark(self, phase: str) -> float | None:
        """The peak since the last mark belongs to ``phase`` (returned); start the next one."""
        if not self.ok:
            return None
        peak = round(self._hwm_mb(), 1)
        self.peaks[phase] = max(self.peaks.get(phase, 0.0), peak)
        self._reset()
        return peak

    def month(self, day: float) -> None:
        """In the run: the peak of the simulated days up to ``day`` since the last mark."""
        peak = self.mark("run")
        if peak is not None:
            self.months.append([round(day, 3), peak])

    def overall(self) -> float:
        return max(self.peaks.values()) if self.peaks else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def record(self) -> dict | None:
        return {**self.peaks, "run_by_month": self.months} if self.ok else None


ROOT = Path(__file__).resolve().parent.parent
PROVINCE = ROOT / "scenarios" / "province.toml"
BASE_N, BASE_CITIES, BASE_COUNTIES = 60_000, 21, 60


#: the mechanisms off in province.toml (off by default), turned on by ``--mechanisms``
MECHANISMS = ["trust.enabled=true", "information.moderation.enabled=true"]


def overrides(n: int, days: float, mechanisms: bool = False, step_minutes: float | None = None) -> list[str]:
    scale = n / BASE_N
    steps = [] if step_minutes is None else [f"run.step_minutes={step_minutes:g}"]
    return (
        (MECHANISMS if mechanisms else [])
        + steps
        + [
            f"population.n_clinicians={n}",
            f"population.regions.0.count={max(1, round(BASE_CITIES * scale))}",
            f"population.regions.1.count={max(1, round(BASE_COUNTIES * scale))}",
            f"run.duration_days={days}",
            "run.agent_objects=false",
        ]
    )


#: the warm-up run before the timed one: clinicians and simulated days
WARM_N, WARM_DAYS = 1_000, 3.0


def warm_up(mechanisms: bool, stream: bool, step_minutes: float | None = None) -> None:
    """Run the province (with the mechanisms, if asked; in the timed run's steps) on
    :data:`WARM_N` clinicians for :data:`WARM_DAYS` days, every content item released at the
    start, its tables streamed and built when ``stream``: the kernels the timed run calls are
    loaded by then."""
    from sim import load_scenario
    from sim.components import Outputs
    from sim.model import QunModel
    from sim.results import Metrics
    from sim.streaming import stream_tables

    scen = load_scenario(PROVINCE, overrides(WARM_N, WARM_DAYS, mechanisms, step_minutes))
    for item in scen.information.items:
        item.start_day = 0.0
    model = QunModel(scen, seed=0)
    with tempfile.TemporaryDirectory(prefix="qunsim-warm-up-") as tmp:
        if stream:
            stream_tables(model, tmp)
        model.run_model()
        if stream:
            model.finish(Outputs(metrics=Metrics()))


def kernels_loaded() -> int:
    """The compiled kernels of ``sim`` loaded (or compiled) in this process so far: one per
    kernel and argument types."""
    from numba.core.registry import CPUDispatcher

    seen: dict[int, int] = {}
    for name, module in list(sys.modules.items()):
        if name == "sim" or name.startswith("sim."):
            for value in list(vars(module).values()):
                if isinstance(value, CPUDispatcher):
                    seen[id(value)] = len(value.signatures)
    return sum(seen.values())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--days", type=float, default=365.0)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--save", metavar="DIR", help="build the end-of-run tables and write them to DIR")
    ap.add_argument("--stream", action="store_true", help="with --save: stream events and answers to DIR")
    ap.add_argument("--mechanisms", action="store_true", help="also turn on trust and moderation (MECHANISMS)")
    ap.add_argument("--cold", action="store_true", help="no warm-up run: the timed run loads the kernels")
    ap.add_argument("--step-minutes", type=float, help="steps of this length (default: the province's)")
    a = ap.parse_args()
    if a.stream and not a.save:
        ap.error("--stream needs --save DIR")
    if a.step_minutes is not None and a.step_minutes <= 0:
        ap.error("--step-minutes must be positive")
    from sim import load_scenario
    from sim.components import Outputs
    from sim.model import QunModel
    from sim.results import Metrics, Results
    from sim.streaming import stream_tables

    base_rss_mb = rss_mb()  # interpreter and libraries, before the model exists (and before the warm-up)
    warm_s = None
    if not a.cold:
        t0 = time.perf_counter()
        warm_up(a.mechanisms, a.stream, a.step_minutes)
        warm_s = round(time.perf_counter() - t0, 3)
    scen = load_scenario(PROVINCE, overrides(a.n, a.days, a.mechanisms, a.step_minutes))
    peaks = PhasePeaks()  # (from here: the warm-up's peak is not the model's)
    t0 = time.perf_counter()
    model = QunModel(scen, seed=a.seed)
    build_s = time.perf_counter() - t0
    if a.stream:
        stream_tables(model, a.save)
    peaks.mark("build")
    month_end = [MONTH_DAYS]

    def by_month(step: int, total: int) -> None:
        if model.t >= month_end[0] - 1e-9 or step == total:
            peaks.month(model.t)
            month_end[0] += MONTH_DAYS

    loaded = kernels_loaded()
    t0 = time.perf_counter()
    model.run_model(progress=by_month)
    sim_s = time.perf_counter() - t0
    loaded_in_run = kernels_loaded() - loaded
    peaks.mark("run")  # the last record, after the last step
    rows, finish_s, save_s = {}, None, None
    if a.save:
        t0 = time.perf_counter()
        out = model.finish(Outputs(metrics=Metrics()))
        finish_s = round(time.perf_counter() - t0, 3)
        rows = {name: len(table) for name, table in out.tables.items()}
        peaks.mark("tables")
        t0 = time.perf_counter()
        Results(metrics={}, timeseries=model.recorder.frame(), tables=out.tables).save(a.save, overwrite=True)
        save_s = round(time.perf_counter() - t0, 3)
        peaks.mark("save")
        del out
    rec = {
        "n": model.pop.n,
        "facilities": model.pop.n_facilities,
        "groups": int((model.net.sizes > 0).sum()),
        "memberships": model.net.n_rows,
        "warm_up_s": warm_s,
        "build_s": round(build_s, 3),
        "sim_s": round(sim_s, 3),
        "kernels_loaded_in_run": loaded_in_run,
        "days": a.days,
        "steps": model.clock.step,
        "step_minutes": scen.run.step_minutes,
        "sim_s_per_day": round(sim_s / a.days, 4),
        "peak_rss_mb": round(peaks.overall(), 1),
        "peak_rss_by_phase": peaks.record(),
        "base_rss_mb": round(base_rss_mb, 1),
        "processes": [p.name for p in model.processes],
        "process_s": {k: round(v, 3) for k, v in model.timings.items()},
        "mode": "stream" if a.stream else ("save" if a.save else "run only"),
        "mechanisms": MECHANISMS if a.mechanisms else [],
        "finish_s": finish_s,
        "save_s": save_s,
        "rows": rows,
    }
    sys.stdout.write(json.dumps(rec) + "\n")


if __name__ == "__main__":
    main()
