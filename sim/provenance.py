"""Where each setting's default comes from, and which assumptions matter most.

``sim/calibration/provenance.toml`` gives each setting a *basis*: ``calibrated`` (to a
target of ``targets.toml``), ``literature`` (a source), ``design`` (chosen by whoever
writes the scenario) or, for every setting it does not list, ``assumption``.
``sim/calibration/assumption_ranking.json`` holds the last screening of the assumptions
(``experiments/assumption_ranking.toml``, written by ``python -m analysis.assumption_ranking``).
Both feed the basis column and the ranked list of ``docs/parameters.md``.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

__all__ = [
    "BASES",
    "PROVENANCE_FILE",
    "RANKING_FILE",
    "Basis",
    "basis_of",
    "load_provenance",
    "load_ranking",
    "matches",
]

_DIR = Path(__file__).resolve().parent / "calibration"
PROVENANCE_FILE = _DIR / "provenance.toml"
RANKING_FILE = _DIR / "assumption_ranking.json"
BASES = ("calibrated", "literature", "design", "assumption")


@dataclass(frozen=True)
class Basis:
    basis: str
    source: str = ""
    target: str = ""

    def text(self) -> str:
        """The basis column of docs/parameters.md."""
        if self.basis == "calibrated":
            return f"calibrated to `{self.target}`" + (f" ({self.source})" if self.source else "")
        if self.basis == "literature":
            return f"literature: {self.source}"
        return self.basis + (f" ({self.source})" if self.source else "")


def matches(pattern: str, setting: str) -> bool:
    """``*`` stands for exactly one dotted segment; everything else must be equal."""
    p, s = pattern.split("."), setting.split(".")
    return len(p) == len(s) and all(a == "*" or a == b for a, b in zip(p, s, strict=True))


@cache
def load_provenance(path: Path = PROVENANCE_FILE) -> tuple[tuple[str, Basis], ...]:
    """(pattern, basis) in file order; raises ValueError on an unknown basis or key."""
    with open(path, "rb") as f:
        raw = tomllib.load(f)
    entries = []
    for pattern, spec in raw.items():
        if not isinstance(spec, dict) or spec.get("basis") not in BASES:
            raise ValueError(f"{path.name}: {pattern!r} needs basis = one of {BASES}")
        unknown = set(spec) - {"basis", "source", "target"}
        if unknown:
            raise ValueError(f"{path.name}: {pattern!r} has unknown keys {sorted(unknown)}")
        if spec["basis"] == "calibrated" and not spec.get("target"):
            raise ValueError(f"{path.name}: {pattern!r} is calibrated but names no target")
        entries.append((pattern, Basis(spec["basis"], spec.get("source", ""), spec.get("target", ""))))
    return tuple(entries)


def basis_of(setting: str) -> Basis:
    """The first entry of the provenance file that matches ``setting``; else an assumption."""
    for pattern, basis in load_provenance():
        if matches(pattern, setting):
            return basis
    return Basis("assumption")


def load_ranking(path: Path = RANKING_FILE) -> dict | None:
    """The last assumption screening (None when it was never run)."""
    if not path.is_file():
        return None
    return json.loads(path.read_text())
