"""The shipped scenarios travel as package data: run and validate work from an installed wheel.

The wheel is built from this checkout and installed into a bare folder that is put first
on ``PYTHONPATH``; the commands run from an empty working directory, so nothing can be
found through the checkout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    base = tmp_path_factory.mktemp("wheel")
    wheels, target = base / "dist", base / "site"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", str(ROOT), "--no-deps", "-w", str(wheels)], check=True)
    (wheel,) = wheels.glob("qunsim-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)], check=True)
    return wheel, target


def _qunsim(target: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(target), "MPLBACKEND": "Agg"}
    return subprocess.run(
        [sys.executable, "-m", "sim.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )


def test_the_wheel_holds_every_shipped_scenario(installed):
    wheel, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {f"sim/{p.relative_to(ROOT / 'sim').as_posix()}" for p in (ROOT / "sim" / "scenarios").rglob("*.toml")}
    assert shipped and shipped <= names


def test_run_and_validate_from_the_installed_wheel(installed, tmp_path):
    _, target = installed
    probe = subprocess.run(
        [sys.executable, "-c", "import sim; print(sim.__file__)"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(target)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.strip().startswith(str(target)), probe.stdout  # the wheel, not the checkout
    done = _qunsim(target, tmp_path, "run", "classroom", "--set", "run.duration_days=2", "--out", "out")
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["seed"] is not None and (tmp_path / "out" / "metrics.json").is_file()
    done = _qunsim(target, tmp_path, "validate", "--quick", "--case", "reed_frost")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "reed_frost" in done.stdout
