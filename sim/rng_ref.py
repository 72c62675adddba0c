"""A random stream as the compiled kernels take it at the cost of a pointer.

A kernel called with a ``numpy.random.Generator`` pays about 6 microseconds at each call
to unbox it (numba reads the bit generator's ctypes interface anew every time): more than
the work of a step of a small model. :class:`GeneratorRef` unboxes it once and holds it;
a kernel written for either takes :func:`as_generator` of its argument and draws from the
same stream (the same bit generator, whose state the Python-side Generator sees move).

Imported when a model is built (never by ``import sim``): it loads numba.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.experimental import structref
from numba.extending import overload
from numba.np.random.generator_core import next_uint32

__all__ = ["GeneratorRef", "as_generator", "sparse_hits"]


@structref.register
class GeneratorRefType(types.StructRef):
    """The numba type of :class:`GeneratorRef`."""

    def preprocess_fields(self, fields):
        return tuple((name, types.unliteral(typ)) for name, typ in fields)


_TYPE = GeneratorRefType([("rng", types.NumPyRandomGeneratorType("NumPyRandomGeneratorType"))])


class GeneratorRef(structref.StructRefProxy):
    """A ``numpy.random.Generator`` unboxed once for the kernels (it keeps the Generator
    alive). Draws through it move the Generator's own state: the stream is the same."""

    def __new__(cls, rng: np.random.Generator) -> GeneratorRef:
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"GeneratorRef: need a numpy.random.Generator, got {type(rng).__name__}")
        return _new(rng)

    @property
    def rng(self) -> np.random.Generator:
        """The Generator held."""
        return _rng_of(self)


structref.define_boxing(GeneratorRefType, GeneratorRef)


@njit(cache=True)
def _new(rng):
    ref = structref.new(_TYPE)
    ref.rng = rng
    return ref


@njit(cache=True)
def _rng_of(ref):
    return ref.rng


def as_generator(rng):
    """The Generator of ``rng``: itself, or the one a :class:`GeneratorRef` holds (also in
    compiled code, where it costs nothing)."""
    return rng.rng if isinstance(rng, GeneratorRef) else rng


@overload(as_generator)
def _as_generator(rng):
    if isinstance(rng, GeneratorRefType):
        return lambda rng: rng.rng
    return lambda rng: rng


@njit(cache=True)
def _bounded(gen, j):
    """An integer uniform on ``[0, j]`` (``j < 2**32``), drawn as numpy draws it there
    (``random_bounded_uint64`` without a mask: Lemire's method on 32-bit draws; no draw when
    ``j = 0``). ``Generator.integers`` would draw the same, through an array of one."""
    if j == 0:
        return 0
    excl = np.uint64(j) + np.uint64(1)
    m = np.uint64(next_uint32(gen.bit_generator)) * excl
    leftover = m & np.uint64(0xFFFFFFFF)
    if leftover < excl:
        threshold = (np.uint64(0xFFFFFFFF) - np.uint64(j)) % excl
        while leftover < threshold:
            m = np.uint64(next_uint32(gen.bit_generator)) * excl
            leftover = m & np.uint64(0xFFFFFFFF)
    return np.int64(m >> np.uint64(32))


@njit(cache=True)
def sparse_hits(ref, n: int, k: int, q: float):
    """``k`` distinct trials of ``range(n)`` (increasing) and a uniform on ``[0, q)`` each,
    drawn from ``ref``'s stream exactly as :func:`sim.rng.bernoulli_hits` draws them with
    numpy: the trials as ``Generator.choice(n, k, replace=False, shuffle=False)`` picks them
    by Floyd's algorithm (a bounded integer in ``[0, j]`` for each ``j`` from ``n - k`` to
    ``n - 1``: itself if not yet taken, else ``j``), then ``random(k) * q``. numpy takes that
    algorithm unless ``n > 10000`` and ``k > n // 20``; the caller keeps to those sizes."""
    gen = as_generator(ref)
    size = 2
    while size < 2 * k:
        size <<= 1
    mask = size - 1
    taken = np.full(size, -1, np.int64)  # open addressing: only whether a trial is taken matters
    hit = np.empty(k, np.int64)
    for i in range(k):
        j = n - k + i
        val = _bounded(gen, j)
        pick = val
        loc = val & mask
        while taken[loc] != -1:
            if taken[loc] == val:
                pick = j  # val was taken: j goes in (never taken before: it exceeds them all)
                break
            loc = (loc + 1) & mask
        loc = pick & mask
        while taken[loc] != -1:
            loc = (loc + 1) & mask
        taken[loc] = pick
        hit[i] = pick
    hit.sort()
    u = np.empty(k)
    for i in range(k):
        u[i] = gen.random() * q
    return hit, u
