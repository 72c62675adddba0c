"""Where runs execute: in this process, in local worker processes, or on a Dask cluster.

Every executor takes an iterator of tasks and yields ``(key, ok, payload)`` as runs finish
(in any order): ``payload`` is ``(metrics, timeseries)`` for a finished run and a traceback
(text) for a run that raised. A run's result depends only on its scenario and seed, never on
the executor, the number of workers or the order of completion.

- :class:`SerialExecutor` runs in this process.
- :class:`ProcessExecutor` keeps ``jobs`` worker processes (spawned, one run at a time). A
  worker never outlives this process: on Linux it asks the kernel to kill it when its parent
  dies (``prctl(PR_SET_PDEATHSIG)``), elsewhere a thread watches the parent. A worker that
  dies mid-run (killed, out of memory) is replaced and its run retried, up to
  :data:`MAX_ATTEMPTS` times. Interrupting (Ctrl-C, SIGTERM) kills the workers at once.
- :class:`DaskExecutor` submits runs to a ``distributed`` cluster: a running scheduler
  (``tcp://HOST:PORT``) or a ``LocalCluster`` it starts. A task whose worker dies is
  rescheduled by the scheduler on another worker (its ``allowed-failures``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MAX_ATTEMPTS",
    "DaskExecutor",
    "Executor",
    "ProcessExecutor",
    "SerialExecutor",
    "Task",
    "make_executor",
    "run_task",
]

MAX_ATTEMPTS = 3  # a run whose worker died this many times is recorded as failed


@dataclass(frozen=True)
class Task:
    key: str
    label: str
    scenario: Any  # a sim.config.Scenario (pickled to the worker)
    seed: int
    keep_timeseries: bool


def numeric_metrics(metrics: dict) -> dict[str, float]:
    """The numeric metrics of a run as floats (None -> NaN); text and flags are left out."""
    out: dict[str, float] = {}
    for name, value in metrics.items():
        if value is None:
            out[name] = float("nan")
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[name] = float(value)
        elif hasattr(value, "dtype") and getattr(value, "ndim", 1) == 0 and value.dtype.kind in "iuf":
            out[name] = float(value)
    return out


def run_task(task: Task) -> tuple[str, bool, Any]:
    """Run one task; exceptions become ``(key, False, traceback)``, never propagate."""
    try:
        from ..runner import run

        res = run(task.scenario, seed=task.seed)
        ts = res.timeseries if task.keep_timeseries else None
        return task.key, True, (numeric_metrics(res.metrics), ts)
    except Exception:
        return task.key, False, traceback.format_exc()


class Executor:
    name = "executor"
    workers = 1

    def describe(self) -> str:
        return self.name

    def info(self) -> dict:
        return {"kind": self.name, "workers": self.workers}

    def imap_unordered(self, tasks: Iterable[Task]) -> Iterator[tuple[str, bool, Any]]:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class SerialExecutor(Executor):
    name = "serial"

    def describe(self) -> str:
        return "this process (serial)"

    def imap_unordered(self, tasks: Iterable[Task]) -> Iterator[tuple[str, bool, Any]]:
        for task in tasks:
            yield run_task(task)


# --------------------------------------------------------------- processes
def _die_with_parent(parent: int) -> None:
    """Make this process end when ``parent`` ends, whatever kills it."""
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG = 1
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)

    def watch() -> None:  # elsewhere (and as a second guard): poll the parent
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="qunsim-parent-watch", daemon=True).start()


def _worker_main(conn, parent: int) -> None:
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides; it kills us on Ctrl-C
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        conn.send(run_task(task))


class _Worker:
    def __init__(self, ctx):
        parent_conn, child_conn = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(target=_worker_main, args=(child_conn, os.getpid()), daemon=True)
        self.proc.start()
        child_conn.close()
        self.conn = parent_conn
        self.task: Task | None = None


class ProcessExecutor(Executor):
    """``jobs`` local worker processes, one run each at a time."""

    name = "processes"

    def __init__(self, jobs: int):
        if jobs < 1:
            raise ValueError(f"jobs must be at least 1, got {jobs}")
        import multiprocessing

        self.workers = jobs
        self._ctx = multiprocessing.get_context("spawn")
        self._pool: list[_Worker] = []
        self.lost = 0  # runs whose worker died under them (each was retried or recorded as failed)

    def describe(self) -> str:
        return f"{self.workers} local processes"

    def pids(self) -> list[int]:
        return [w.proc.pid for w in self._pool if w.proc.pid is not None]

    def imap_unordered(self, tasks: Iterable[Task]) -> Iterator[tuple[str, bool, Any]]:
        from multiprocessing.connection import wait

        source = iter(tasks)
        retry: deque[Task] = deque()
        attempts: dict[str, int] = {}
        exhausted = False

        def next_task() -> Task | None:
            nonlocal exhausted
            if retry:
                return retry.popleft()
            if exhausted:
                return None
            task = next(source, None)
            if task is None:
                exhausted = True
            return task

        try:
            while True:
                # give every idle worker a task, starting workers as needed
                while True:
                    idle = [w for w in self._pool if w.task is None]
                    if not idle and len(self._pool) >= self.workers:
                        break
                    task = next_task()
                    if task is None:
                        break
                    worker = idle[0] if idle else self._start()
                    try:
                        worker.conn.send(task)
                    except OSError:  # it died while idle: replace it, the task goes to the next one
                        self._discard(worker)
                        retry.appendleft(task)
                        continue
                    worker.task = task
                busy = [w for w in self._pool if w.task is not None]
                if not busy:
                    return
                ready = set(wait([w.conn for w in busy] + [w.proc.sentinel for w in busy]))
                for w in busy:
                    if w.conn in ready:
                        try:
                            result = w.conn.recv()
                        except (EOFError, OSError):
                            result = None
                        if result is not None:
                            w.task = None
                            yield result
                            continue
                    if w.conn in ready or w.proc.sentinel in ready:  # the worker died mid-run
                        lost = w.task
                        assert lost is not None
                        self.lost += 1
                        w.proc.join(timeout=5)
                        code = w.proc.exitcode
                        self._discard(w)
                        attempts[lost.key] = attempts.get(lost.key, 0) + 1
                        if attempts[lost.key] < MAX_ATTEMPTS:
                            retry.append(lost)
                        else:
                            yield (
                                lost.key,
                                False,
                                f"the worker process running {lost.label} died {MAX_ATTEMPTS} times "
                                f"(last exit code {code}; a negative code is the signal that killed it, "
                                "e.g. -9 when the system ran out of memory)",
                            )
        finally:
            self.close()

    def _start(self) -> _Worker:
        w = _Worker(self._ctx)
        self._pool.append(w)
        return w

    def _discard(self, w: _Worker) -> None:
        with contextlib.suppress(OSError):
            w.conn.close()
        if w.proc.is_alive():
            w.proc.kill()
            w.proc.join(timeout=5)
        self._pool.remove(w)

    def close(self) -> None:
        """Stop every worker now (idle ones are asked, busy ones killed)."""
        for w in list(self._pool):
            if w.task is None:
                with contextlib.suppress(OSError, BrokenPipeError):
                    w.conn.send(None)
            else:
                w.proc.kill()
        deadline = time.monotonic() + 5
        for w in list(self._pool):
            w.proc.join(timeout=max(0.0, deadline - time.monotonic()))
            if w.proc.is_alive():
                w.proc.kill()
                w.proc.join(timeout=5)
            with contextlib.suppress(OSError):
                w.conn.close()
        self._pool.clear()


# -------------------------------------------------------------------- dask
class DaskExecutor(Executor):
    """Runs on a Dask ``distributed`` cluster: ``address`` of a running scheduler, or a LocalCluster."""

    name = "dask"

    def __init__(
        self,
        address: str | None = None,
        local_workers: int | None = None,
        memory_limit: str | int = "auto",
        connect_timeout: float = 10.0,
        quiet: bool = True,
    ):
        try:
            from distributed import Client, LocalCluster
        except ImportError:  # pragma: no cover - dask is in the install extras
            from ..schema import ScenarioError

            raise ScenarioError(
                "--scheduler/--dask-local need Dask: pip install 'qunsim[dask]' (dask[distributed])"
            ) from None
        import logging

        self._cluster = None
        self.address = address
        if address is None:
            n = local_workers or 1
            self._cluster = LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                processes=True,
                memory_limit=memory_limit,
                dashboard_address=None,
                silence_logs=logging.ERROR if quiet else logging.WARNING,
            )
            self.client = Client(self._cluster)
        else:
            try:
                self.client = Client(address, timeout=connect_timeout)
            except (OSError, TimeoutError) as exc:
                from ..schema import ScenarioError

                raise ScenarioError(
                    f"--scheduler {address}: cannot reach a Dask scheduler there within {connect_timeout:g} s ({exc})"
                ) from None
        self.workers = max(1, sum(self.client.nthreads().values()))

    def describe(self) -> str:
        if self._cluster is not None:
            return f"a local Dask cluster of {len(self.client.nthreads())} worker processes"
        return f"the Dask cluster at {self.address} ({len(self.client.nthreads())} workers, {self.workers} threads)"

    def info(self) -> dict:
        return {
            "kind": "dask-local" if self._cluster is not None else "dask",
            "scheduler": self.client.scheduler.address,
            "workers": self.workers,
        }

    def worker_pids(self) -> dict[str, int]:
        return self.client.run(os.getpid)

    def imap_unordered(self, tasks: Iterable[Task]) -> Iterator[tuple[str, bool, Any]]:
        from distributed import as_completed

        source = iter(tasks)
        window = max(4, 2 * self.workers)
        futures: dict[Any, Task] = {}

        def submit() -> bool:
            task = next(source, None)
            if task is None:
                return False
            fut = self.client.submit(run_task, task, pure=False, key=f"qunsim-{task.key}-{time.time_ns()}")
            futures[fut] = task
            ac.add(fut)
            return True

        ac = as_completed()
        for _ in range(window):
            if not submit():
                break
        try:
            for fut in ac:
                task = futures.pop(fut)
                try:
                    result = fut.result()
                except Exception as exc:  # KilledWorker after the scheduler's retries, lost connection
                    result = (task.key, False, f"{type(exc).__name__}: {exc}\n(Dask task of {task.label})")
                fut.release()
                yield result
                submit()
        finally:
            for fut in futures:
                fut.cancel()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()
        if self._cluster is not None:
            with contextlib.suppress(Exception):
                self._cluster.close()


def make_executor(
    jobs: int = 1, scheduler: str | None = None, dask_local: int | None = None, quiet: bool = True
) -> Executor:
    if scheduler is not None:
        return DaskExecutor(address=scheduler, quiet=quiet)
    if dask_local is not None:
        return DaskExecutor(local_workers=dask_local, quiet=quiet)
    if jobs > 1:
        return ProcessExecutor(jobs)
    return SerialExecutor()
