"""Seeding: one root seed, one named random stream per consumer.

Every random draw in qunsim comes from a ``numpy.random.Generator`` obtained with
:func:`stream`. A stream is seeded from the run's root seed *and* a stable hash of
its name, so the draws of one process do not depend on whether another process
is switched on, how many draws it made, or in which order the streams were created
(common random numbers). Neither numpy's global generator nor the stdlib ``random``
module is used anywhere in the package.

Replicates of an experiment come from :func:`replicate_seeds`, which spawns
children of one ``SeedSequence``: replicate *k* of every arm gets the same seed,
so arms are compared pairwise.
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["Streams", "replicate_seeds", "stable_hash", "stream"]


def stable_hash(name: str) -> int:
    """A 64-bit hash of ``name`` that is the same on every machine and run."""
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def stream(seed: int, name: str) -> np.random.Generator:
    """The generator for stream ``name`` under root ``seed``."""
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    seq = np.random.SeedSequence(entropy=int(seed), spawn_key=(stable_hash(name),))
    return np.random.Generator(np.random.PCG64(seq))


class Streams:
    """Named streams of one run; asking twice for a name returns the same generator."""

    def __init__(self, seed: int):
        self.seed = int(seed)
        self._cache: dict[str, np.random.Generator] = {}

    def __call__(self, name: str) -> np.random.Generator:
        gen = self._cache.get(name)
        if gen is None:
            gen = self._cache[name] = stream(self.seed, name)
        return gen


def replicate_seeds(root_seed: int, n: int) -> list[int]:
    """``n`` independent run seeds derived from one experiment seed."""
    children = np.random.SeedSequence(int(root_seed)).spawn(n)
    return [int(c.generate_state(1, dtype=np.uint32)[0]) for c in children]
