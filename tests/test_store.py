"""The experiment folder survives anything: killed experiments (SIGKILL, SIGTERM) on real
processes leave no orphan, lose no finished run, run none twice on --resume, and end with the
tables of an uninterrupted run; a write that fails mid-way, leftover temporary files, a folder in
use and a changed experiment are handled."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from sim.cli import main
from sim.experiments import folder_status
from sim.experiments.store import Plan, Store, atomic_write, format_status
from sim.results import OutputExistsError

from .conftest import ROOT

EXP = """
scenario = "{scenario}"
seed = 12
replicates = 4
set = ["run.duration_days=6", "run.step_minutes=120", "diagnosis.enabled=false"]
metrics = ["info_rumor_believer_days", "info_rumor_p_ever_believed"]

[takeoff]
metric = "info_rumor_p_ever_believed"
threshold = 0.3

[arms.zz_baseline]
[arms.moderated]
set = ["information.moderation.enabled=true"]
[arms.late_correction]
set = ["information.items.2.start_day=5"]
"""
N_RUNS = 12
TABLES = ["runs.parquet", "timeseries.parquet", "comparison.csv", "takeoff.csv", "takeoff_conditional.csv"]


@pytest.fixture(scope="module")
def exp_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("store") / "e.toml"
    path.write_text(EXP.format(scenario=ROOT / "scenarios" / "classroom.toml"))
    return path


@pytest.fixture(scope="module")
def reference(exp_file) -> Path:
    """An uninterrupted run, in this process, serially."""
    out = exp_file.parent / "reference"
    assert main(["experiment", str(exp_file), "--out", str(out), "--quiet"]) == 0
    return out


def assert_same_tables(a: Path, b: Path) -> None:
    for name in TABLES:
        if name.endswith(".parquet"):
            pd.testing.assert_frame_equal(pd.read_parquet(a / name), pd.read_parquet(b / name))
        else:
            assert (a / name).read_text() == (b / name).read_text(), name


def _parts(out: Path) -> int:
    return len(list((out / "parts").glob("*.json"))) if (out / "parts").is_dir() else 0


def _gone(procs: list[psutil.Process], timeout: float = 20.0) -> list[psutil.Process]:
    """The processes still alive (zombies count as gone) after waiting up to ``timeout``."""
    deadline = time.monotonic() + timeout
    alive = procs
    while alive and time.monotonic() < deadline:
        alive = []
        for p in procs:
            try:
                if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                    alive.append(p)
            except psutil.NoSuchProcess:
                pass
        time.sleep(0.2)
    return alive


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])  # SIGINT: as SIGTERM
def test_killed_experiment_resumes_to_the_same_tables(exp_file, reference, tmp_path, sig):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "sim.cli", "experiment", str(exp_file), "--out", str(out), "--jobs", "2", "--quiet"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while _parts(out) < 2:  # some runs are finished and on disk
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no run finished in 300 s"
            time.sleep(0.05)
        workers = psutil.Process(proc.pid).children(recursive=True)
        assert len(workers) >= 2
        live = folder_status(out)
        assert live["running"] == str(proc.pid)  # --status tells a live session from a dead one
        assert f"running now (pid {proc.pid})" in format_status(live)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not _gone(workers), "a worker process outlived its parent"
    done_before = _parts(out)
    assert 2 <= done_before < N_RUNS, "the experiment was not stopped mid-way"
    if sig == signal.SIGKILL:
        assert proc.returncode == -signal.SIGKILL
    else:
        assert proc.returncode == 128 + sig, err
        assert "Traceback" not in err
        assert f"interrupted ({signal.Signals(sig).name})" in err and "--resume" in err
        session = json.loads((out / "manifest.json").read_text())["sessions"][-1]
        assert session["stopped"] == f"interrupted ({signal.Signals(sig).name})"
        assert session["runs_done"] == done_before
    assert not (out / "runs.parquet").exists()  # the tables come when every run is in
    st = folder_status(out)
    assert st["done"] == done_before and len(st["missing"]) == N_RUNS - done_before and not st["complete"]
    assert st["running"] is None and "--resume" in format_status(st)
    # without --resume the folder is refused, with it only the missing runs run
    assert main(cmd[3:]) == 2
    resumed = subprocess.run([*cmd, "--resume"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    sessions = json.loads((out / "manifest.json").read_text())["sessions"]
    assert sessions[-1]["runs_done"] == N_RUNS - done_before  # none run twice
    assert _parts(out) == N_RUNS
    assert_same_tables(out, reference)
    assert folder_status(out)["complete"]


def test_a_write_that_fails_mid_way_is_resumed(exp_file, reference, tmp_path, monkeypatch, capsys):
    import sim.experiments.store as store_mod

    real = store_mod.atomic_write
    calls = {"n": 0}

    def failing(path: Path, write):
        if path.suffix == ".json" and path.parent.name == "parts":
            calls["n"] += 1
            if calls["n"] == 4:  # the fourth run's row: half written, then the disk is full

                def half(tmp: Path):
                    tmp.write_text('{"key": "')
                    raise OSError(28, "No space left on device")

                return real(path, half)
        return real(path, write)

    monkeypatch.setattr(store_mod, "atomic_write", failing)
    out = tmp_path / "out"
    assert main(["experiment", str(exp_file), "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "No space left on device" in err and "--resume" in err and "Traceback" not in err
    assert _parts(out) == 3
    (out / "parts" / ".deadbeef.json.999.tmp").write_text("{")  # as a killed write leaves it
    monkeypatch.setattr(store_mod, "atomic_write", real)
    assert main(["experiment", str(exp_file), "--out", str(out), "--quiet", "--resume"]) == 0
    assert not list(out.rglob(".*.tmp"))
    assert _parts(out) == N_RUNS
    assert_same_tables(out, reference)


def test_resume_refuses_a_changed_experiment(exp_file, reference, tmp_path, capsys):
    changed = tmp_path / "e.toml"
    changed.write_text(exp_file.read_text().replace("seed = 12", "seed = 13"))
    code = main(["experiment", str(changed), "--out", str(reference), "--quiet", "--resume"])
    assert code == 2
    assert "holds a different experiment" in capsys.readouterr().err
    # the same experiment resumed on a finished folder runs nothing and rebuilds the same tables
    before = {name: (reference / name).read_bytes() for name in TABLES}
    assert main(["experiment", str(exp_file), "--out", str(reference), "--quiet", "--resume"]) == 0
    assert json.loads((reference / "manifest.json").read_text())["sessions"][-1]["runs_done"] == 0
    for name in TABLES:
        if name.endswith(".csv"):
            assert (reference / name).read_bytes() == before[name]


def test_one_process_at_a_time(tmp_path):
    plan = Plan("experiment", "x", "x.toml", "f", ["a"], ["a r0"])
    first = Store.prepare(tmp_path / "out", plan)
    try:
        with pytest.raises(OutputExistsError, match=f"in use by another qunsim process \\(pid {os.getpid()}\\)"):
            Store.prepare(tmp_path / "out", plan)
    finally:
        first.close()
    Store.prepare(tmp_path / "out", plan).close()  # released


def test_atomic_write_leaves_the_old_file_or_the_new_one(tmp_path):
    target = tmp_path / "t.txt"
    target.write_text("old")

    def broken(p: Path):
        p.write_text("new but")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        atomic_write(target, broken)
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["t.txt"]
    atomic_write(target, lambda p: p.write_text("new"))
    assert target.read_text() == "new"
