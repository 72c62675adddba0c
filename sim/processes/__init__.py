"""Processes: each owns a slice of the model's state and advances it one step at a time.

The protocol (see :class:`Process`): ``setup(model)`` once after the population and
network exist; ``step(model)`` every step; ``record(model, rec)`` at each recording
time; ``metrics(model)`` and ``tables(model)`` at the end. A process draws only from
``model.streams(<its name>)`` so that switching one process on or off leaves the
others' draws unchanged. Processes run in the order of this registry.
"""

from .base import REGISTRY, Process, register
from . import network  # noqa: F401  (each module registers itself, in step order)
from . import information  # noqa: F401
from . import information_cases  # noqa: F401
from . import diagnosis  # noqa: F401

__all__ = ["Process", "REGISTRY", "register"]
