"""The house plan's promises about the package itself: light imports, short files, no backend switch."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 600


def _python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_import_sim_loads_no_numba():
    assert _python("import sim, sys; print('numba' in sys.modules)") == "False"


def test_the_command_line_help_imports_no_numerical_stack():
    code = (
        "import sys, contextlib, io\n"
        "from sim.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        main(['--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(sorted(m for m in ('numpy', 'pandas', 'pydantic', 'numba') if m in sys.modules))"
    )
    assert _python(code) == "[]"


@pytest.mark.parametrize("path", sorted((ROOT / "sim").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_file_in_the_package_is_longer_than_the_limit(path):
    n = len(path.read_text(encoding="utf-8").splitlines())
    assert n <= MAX_LINES, f"{path.relative_to(ROOT)} has {n} lines (limit {MAX_LINES}): split it"


def test_library_code_never_switches_the_matplotlib_backend():
    # only the command line may choose a backend; a notebook user's stays theirs
    calls = re.compile(r"matplotlib\.use\(|\buse\(\s*[\"']Agg")
    offenders = [
        str(p.relative_to(ROOT))
        for folder in ("sim", "analysis")
        for p in (ROOT / folder).rglob("*.py")
        if p.name != "cli.py" and calls.search(p.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_a_shipped_scenario_loads_by_name_as_from_its_file():
    from sim.config import load_scenario
    from sim.paths import SCENARIO_DIR, shipped_names

    assert {"classroom", "guangdong_study", "province"} <= set(shipped_names())
    by_name = load_scenario("classroom", ["run.duration_days=3"])
    by_file = load_scenario(SCENARIO_DIR / "classroom.toml", ["run.duration_days=3"])
    assert by_name == by_file and by_name.run.duration_days == 3
