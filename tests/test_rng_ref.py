"""A Generator passed to the kernels by reference (``sim.rng_ref``): the same stream, its
state moved for the Python side too, and clear errors for anything else."""

import numpy as np
import pytest
from numba import njit

from sim.rng_ref import GeneratorRef, as_generator


@njit
def _draw(stream, n):
    rng = as_generator(stream)
    out = np.empty(n)
    for i in range(n):
        out[i] = rng.random()
    return out


@pytest.mark.parametrize("seed", [0, 7])
def test_draws_by_reference_are_the_generators_stream(seed):
    held, plain = np.random.default_rng(seed), np.random.default_rng(seed)
    ref = GeneratorRef(held)
    assert ref.rng is held
    np.testing.assert_array_equal(_draw(ref, 50), plain.random(50))
    # the Python side continues where the kernel stopped
    np.testing.assert_array_equal(held.random(5), plain.random(5))
    np.testing.assert_array_equal(_draw(ref, 3), _draw(plain, 3))
    # the interpreter takes either, too
    np.testing.assert_array_equal(_draw.py_func(ref, 4), _draw.py_func(plain, 4))


def test_as_generator_passes_a_generator_through():
    rng = np.random.default_rng(1)
    assert as_generator(rng) is rng
    assert as_generator(GeneratorRef(rng)) is rng


@pytest.mark.parametrize("bad", [None, 3, np.random.RandomState(0), np.random.PCG64(0)])
def test_only_a_generator_is_held(bad):
    with pytest.raises(TypeError, match=r"numpy\.random\.Generator"):
        GeneratorRef(bad)
