"""Small vectorized helpers shared by the processes."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "bounded",
    "expand_ranges",
    "label_masks",
    "sorted_copy",
    "sorted_member",
    "unique_first",
]


def bounded(x: np.ndarray | float, lo: float, hi: float) -> np.ndarray:
    """``x`` clipped to ``[lo, hi]``: ``np.clip``'s values (NaN stays NaN) for inputs that are
    not -0.0 (``np.maximum`` keeps its sign, ``np.clip`` gives +0.0), by two ufunc calls
    without ``np.clip``'s Python wrappers, which cost several times more on a step's path."""
    return np.minimum(np.maximum(x, lo), hi)


def sorted_copy(a: np.ndarray) -> np.ndarray:
    """``np.sort(a)`` by the array's own method (numpy's function goes through Python wrappers)."""
    out = a.copy()
    out.sort()
    return out


def expand_ranges(starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Concatenated ranges [starts[i], starts[i] + sizes[i]) (e.g. the rows of CSR slices)."""
    sizes = np.asarray(sizes, np.int64)
    total = int(sizes.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    offsets = np.repeat(np.cumsum(sizes) - sizes, sizes)
    return np.repeat(np.asarray(starts, np.int64), sizes) + (np.arange(total) - offsets)


def unique_first(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values and the index of each one's first occurrence.

    (Sort-based: numpy's hash-based ``np.unique`` is several times slower on large arrays;
    values already strictly increasing, as one request's keys are, are not sorted again.)"""
    if values.size == 0:
        return values, np.zeros(0, np.int64)
    if (values[1:] > values[:-1]).all():
        return values, np.arange(values.size)
    order = np.argsort(values, kind="stable")
    v = values[order]
    head = np.empty(v.size, bool)
    head[0] = True
    np.not_equal(v[1:], v[:-1], out=head[1:])
    return v[head], order[head]


def sorted_member(keys: np.ndarray, sorted_pool: np.ndarray) -> np.ndarray:
    """Whether each key is in ``sorted_pool`` (binary search; numpy's hash ``isin`` is slow)."""
    if sorted_pool.size == 0:
        return np.zeros(np.size(keys), bool)
    at = np.minimum(sorted_pool.searchsorted(keys), sorted_pool.size - 1)  # (the method: no wrapper)
    return sorted_pool[at] == keys


def label_masks(column: pd.Series, labels) -> dict[str, np.ndarray]:
    """Bool per row, for each label: the row's value is the label (by category code when the
    column is categorical, as the cases table's are: no string per row)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes, cats = column.cat.codes.to_numpy(), column.cat.categories
        return {x: codes == cats.get_loc(x) if x in cats else np.zeros(codes.size, bool) for x in labels}
    values = column.astype(str).to_numpy()
    return {x: values == x for x in labels}
