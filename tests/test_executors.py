"""Executors: the same tables in this process, in local worker processes and on a Dask
LocalCluster; a worker killed mid-run (local or Dask) is replaced and its run retried."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from sim.experiments import run_experiment_to
from sim.experiments.executors import DaskExecutor, Executor, ProcessExecutor, SerialExecutor

from .conftest import ROOT

EXP = """
scenario = "{scenario}"
seed = 21
replicates = 3
set = ["run.duration_days=4", "run.step_minutes=120", "diagnosis.enabled=false"]
metrics = ["info_rumor_believer_days"]

[arms.baseline]
[arms.moderated]
set = ["information.moderation.enabled=true"]
"""
N_RUNS = 6


@pytest.fixture(scope="module")
def exp_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("executors") / "e.toml"
    path.write_text(EXP.format(scenario=ROOT / "scenarios" / "classroom.toml"))
    return path


@pytest.fixture(scope="module")
def serial(exp_file):
    return run_experiment_to(exp_file, exp_file.parent / "serial", executor=SerialExecutor())


def _same(a, b) -> None:
    pd.testing.assert_frame_equal(a.runs, b.runs)
    pd.testing.assert_frame_equal(a.comparison, b.comparison)
    pd.testing.assert_frame_equal(
        pd.read_parquet(a.folder / "timeseries.parquet"), pd.read_parquet(b.folder / "timeseries.parquet")
    )


class KillOneWorker(Executor):
    """Wraps an executor; once the first run is back, kills a worker that is in the middle of a run."""

    def __init__(self, inner: Executor, busy_pids):
        self.inner, self.busy_pids = inner, busy_pids
        self.workers = inner.workers
        self.killed: list[int] = []

    def describe(self) -> str:
        return self.inner.describe()

    def info(self) -> dict:
        return self.inner.info()

    def imap_unordered(self, tasks):
        for result in self.inner.imap_unordered(tasks):
            if not self.killed:
                pid = self.busy_pids()
                os.kill(pid, signal.SIGKILL)
                self.killed.append(pid)
            yield result


def test_local_processes_give_the_serial_tables_and_survive_a_lost_worker(exp_file, serial, tmp_path):
    with ProcessExecutor(2) as ex:
        two = run_experiment_to(exp_file, tmp_path / "two", executor=ex)
    _same(two, serial)

    inner = ProcessExecutor(2)
    killed: list[int] = []

    def kill_mid_run(snapshot: dict) -> None:
        """Kill the first worker given a new run, a moment after it got it."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for w in list(inner._pool):
                if w.task is not None and snapshot.get(w.proc.pid) is not w.task:
                    time.sleep(0.02)
                    os.kill(w.proc.pid, signal.SIGKILL)
                    killed.append(w.proc.pid)
                    return
            time.sleep(0.001)

    class Killer(KillOneWorker):
        def imap_unordered(self, tasks):
            for result in self.inner.imap_unordered(tasks):
                if not self.killed:
                    self.killed.append(0)
                    snapshot = {w.proc.pid: w.task for w in inner._pool}
                    threading.Thread(target=kill_mid_run, args=(snapshot,), daemon=True).start()
                yield result

    res = run_experiment_to(exp_file, tmp_path / "killed", executor=Killer(inner, None))
    assert killed and inner.lost == 1 and not res.failed  # its run was retried on a new worker
    _same(res, serial)
    assert not psutil_alive(killed[0])


def psutil_alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.slow
def test_dask_local_cluster_gives_the_serial_tables_and_retries_a_killed_worker(exp_file, serial, tmp_path):
    with DaskExecutor(local_workers=2, memory_limit="1.5GiB") as ex:
        assert ex.workers == 2 and ex.info()["kind"] == "dask-local"
        res = run_experiment_to(exp_file, tmp_path / "dask", executor=ex)
        _same(res, serial)

        pids = ex.worker_pids()  # worker address -> pid

        def busy() -> int:
            processing = ex.client.processing()
            addr = next((a for a, keys in processing.items() if keys), next(iter(pids)))
            return pids[addr]

        killer = KillOneWorker(ex, busy)
        res = run_experiment_to(exp_file, tmp_path / "killed", executor=killer)
        assert killer.killed and not res.failed and len(res.runs) == N_RUNS
        _same(res, serial)
        # the scheduler took the killed worker's runs back (processing -> released) and ran them again
        log = ex.client.run_on_scheduler(
            lambda dask_scheduler: [(str(t[0]), t[1], t[2]) for t in dask_scheduler.transition_log]
        )
        retried = {k for k, start, end in log if k.startswith("qunsim-") and (start, end) == ("processing", "released")}
        assert retried
        assert all(any(k == r and end == "memory" for r, _, end in log) for k in retried)
        deadline = time.monotonic() + 60
        while len(ex.client.nthreads()) < 2 and time.monotonic() < deadline:  # the nanny restarts it
            time.sleep(0.2)
        assert len(ex.client.nthreads()) == 2
        assert killer.killed[0] not in ex.worker_pids().values()


def test_unreachable_scheduler_is_bad_input():
    from sim.schema import ScenarioError

    with pytest.raises(ScenarioError, match="cannot reach a Dask scheduler"):
        DaskExecutor(address="tcp://127.0.0.1:9", connect_timeout=1)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_a_running_cluster_by_its_scheduler_address(exp_file, serial, tmp_path):
    """`dask scheduler` and `dask worker` as separate processes (as on several hosts), then --scheduler."""
    import subprocess
    import sys

    from sim.cli import main

    bin_dir = Path(sys.executable).parent
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = tmp_path / "logs"
    logs.mkdir()
    procs = [
        subprocess.Popen(
            [bin_dir / "dask", "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            stdout=subprocess.DEVNULL,
            stderr=(logs / "scheduler.log").open("w"),
        )
    ]
    try:
        procs.append(
            subprocess.Popen(
                [
                    bin_dir / "dask",
                    "worker",
                    address,
                    "--nworkers",
                    "2",
                    "--nthreads",
                    "1",
                    "--memory-limit",
                    "1.5GiB",
                    "--no-dashboard",
                ],
                stdout=subprocess.DEVNULL,
                stderr=(logs / "worker.log").open("w"),
                cwd=ROOT,
            )
        )
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
        out = tmp_path / "out"
        assert main(["experiment", str(exp_file), "--out", str(out), "--scheduler", address, "--quiet"]) == 0
        pd.testing.assert_frame_equal(pd.read_parquet(out / "runs.parquet"), serial.runs)
        session = json.loads((out / "manifest.json").read_text())["sessions"][-1]
        assert session["executor"]["kind"] == "dask" and session["executor"]["scheduler"] == address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
