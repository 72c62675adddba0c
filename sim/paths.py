"""Where the shipped scenario files live (package data: they work from an installed wheel)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["SCENARIO_DIR", "folder_is_empty", "shipped_names", "shipped_scenario"]

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"


def shipped_names() -> list[str]:
    """Names of the shipped scenarios (``classroom``, ``guangdong_study``, ``province``)."""
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.toml"))


def shipped_scenario(name: str) -> Path | None:
    """The shipped scenario file called ``name`` (with or without ``.toml``), or None."""
    stem = name[:-5] if name.endswith(".toml") else name
    if "/" in stem or "\\" in stem or stem.startswith("."):
        return None
    path = SCENARIO_DIR / f"{stem}.toml"
    return path if path.is_file() else None


def folder_is_empty(folder: Path) -> bool:
    """True when ``folder`` holds nothing but temporary files left by an interrupted save."""
    return all(p.name.startswith(".") and p.name.endswith(".tmp") for p in folder.iterdir())
