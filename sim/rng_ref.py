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

__all__ = ["GeneratorRef", "as_generator"]


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
