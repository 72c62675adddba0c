"""Compiled helpers shared by the model's data structures (numba, ``nopython``).

Imported when a model is built (never by ``import sim``): the membership index uses
:func:`counting_order` at every rebuild. ``kernel.py_func`` is the same code run by the
interpreter; the tests check that both give the same results as the numpy they replace.
Compiled code is cached next to this file (``cache=True``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["counting_order"]


@njit(cache=True)
def counting_order(keys: np.ndarray, n_keys: int) -> tuple[np.ndarray, np.ndarray]:
    """``indptr`` (n_keys + 1) and the stable order of ``keys`` (ints in [0, n_keys)):
    the same as ``np.argsort(keys, kind="stable")``, in two passes (a counting sort)."""
    indptr = np.zeros(n_keys + 1, np.int64)
    for k in keys:
        indptr[k + 1] += 1
    for i in range(n_keys):
        indptr[i + 1] += indptr[i]
    fill = indptr[:-1].copy()
    order = np.empty(keys.size, np.int64)
    for i in range(keys.size):
        k = keys[i]
        order[fill[k]] = i
        fill[k] += 1
    return indptr, order
