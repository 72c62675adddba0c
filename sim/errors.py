"""Exceptions the command line turns into exit code 2 (light: no numpy, no pandas)."""

from __future__ import annotations

__all__ = ["OutputExistsError"]


class OutputExistsError(Exception):
    """The output folder is not empty and overwriting was not asked for."""
