from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"

SMALL = """
[run]
name = "small"
duration_days = 5
step_minutes = 120
[population]
n_clinicians = 240
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
"""


@pytest.fixture
def write(tmp_path):
    """Write a scenario file into tmp_path and return its path."""

    def _write(text: str, name: str = "s.toml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return _write


@pytest.fixture
def small(write):
    return write(SMALL)
