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

__all__ = ["Streams", "bernoulli_hits", "replicate_seeds", "stable_hash", "stream"]


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


#: above this chance :func:`bernoulli_hits` draws one uniform per trial (as cheap as the sparse draw there)
DENSE_CHANCE = 0.25
#: ``Generator.choice(n, k, replace=False, shuffle=False)`` shuffles the tail of ``range(n)``
#: rather than taking Floyd's algorithm when ``n`` exceeds the first and ``k`` exceeds ``n //``
#: the second (numpy's own rule)
CHOICE_TAIL_SHUFFLE_N, CHOICE_TAIL_SHUFFLE_SHARE = 10000, 20
#: the compiled pass draws as numpy does below 2^32 trials (32-bit bounded draws)
MAX_BOUNDED = 0xFFFFFFFF


def bernoulli_hits(rng: np.random.Generator, n: int, q: float, ref=None) -> tuple[np.ndarray, np.ndarray]:
    """The trials ``i < n`` whose uniform ``u_i`` falls below ``q``, and those ``u_i``.

    The same joint law as ``u = rng.random(n); hit = np.flatnonzero(u < q); u[hit]``,
    at a cost in proportion to the hits rather than to ``n`` for a small ``q``: the
    number of hits is binomial, their places a uniform subset of ``range(n)`` (in
    increasing order) and each ``u_i`` uniform on ``[0, q)``. A trial whose event has a
    chance ``p_i <= q`` happens where ``u_i < p_i``, so rare per-step events of many
    clinicians (forgetting, a decision, a membership muted) are drawn without a uniform
    per clinician and step. Above :data:`DENSE_CHANCE` it draws the ``n`` uniforms.

    ``ref``, a :class:`sim.rng_ref.GeneratorRef` of ``rng`` itself, has the trials and their
    uniforms drawn in one compiled pass (:func:`sim.rng_ref.sparse_hits`: the same draws, the
    same results) where numpy's ``choice`` would take Floyd's algorithm, which is the usual
    case: numpy's checks and the sort cost more than the draws.
    """
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"a chance must be in [0, 1], got {q}")
    if n <= 0 or q <= 0.0:
        return np.zeros(0, np.int64), np.zeros(0)
    if q > DENSE_CHANCE:
        u = rng.random(n)
        hit = np.flatnonzero(u < q)
        return hit, u[hit]
    k = int(rng.binomial(n, q))
    if ref is not None and n <= MAX_BOUNDED and not (n > CHOICE_TAIL_SHUFFLE_N and k > n // CHOICE_TAIL_SHUFFLE_SHARE):
        from .rng_ref import sparse_hits  # (numba: not imported with the package)

        return sparse_hits(ref, n, k, q)
    hit = np.sort(rng.choice(n, size=k, replace=False, shuffle=False)).astype(np.int64, copy=False)
    return hit, rng.random(k) * q


def replicate_seeds(root_seed: int, n: int) -> list[int]:
    """``n`` independent run seeds derived from one experiment seed."""
    children = np.random.SeedSequence(int(root_seed)).spawn(n)
    return [int(c.generate_state(1, dtype=np.uint32)[0]) for c in children]
