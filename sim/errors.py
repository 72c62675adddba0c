"""Exceptions the command line turns into exit code 2 (light: no numpy, no pandas)."""

from __future__ import annotations

__all__ = ["OutputExistsError", "ScenarioError"]


class OutputExistsError(Exception):
    """The output folder is not empty and overwriting was not asked for."""


class ScenarioError(Exception):
    """A scenario that cannot be used; the message says where and why."""
