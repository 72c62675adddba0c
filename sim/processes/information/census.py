"""The time series' census of one item: one compiled pass over every clinician.

The information process records, every ``record_every_hours``, how many clinicians are in
each state of each item, by tier; for a guideline also its stages among the aware; and
for every item those who have heard of it and its sharers. At a million clinicians those
were four passes over the population (about 6 ms a record); :func:`census` makes them one.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["LANES", "census"]

LANES = 4  # interleaved copies of the counts (a power of two)


@njit(cache=True)
def census(state, tier, n_states, stage, n_stages, t_first, active):
    """Counts of one item over every clinician ``i``:

    * ``joint[c, k, g]``: clinicians with ``state == c`` in tier ``k`` (0, 1, 2) at stage
      ``g`` (every clinician at stage 0 when ``stage`` is empty);
    * ``heard``: clinicians whose ``t_first`` is not NaN;
    * ``sharers``: clinicians with ``active`` true.

    Consecutive clinicians often fall in the same cell; each of ``LANES`` interleaved
    copies of the counts takes every ``LANES``-th clinician, so that an increment does not
    wait on the one before. The copies are summed at the end: integer counts, exact.
    """
    n = state.size
    counts = np.zeros((LANES, n_states * 3 * n_stages), np.int64)
    heard = 0
    sharers = 0
    staged = stage.size > 0
    for i in range(n):
        g = np.int64(stage[i]) if staged else 0
        cell = (np.int64(state[i]) * 3 + np.int64(tier[i])) * n_stages + g
        counts[i & (LANES - 1), cell] += 1
        heard += t_first[i] == t_first[i]
        sharers += active[i]
    return counts.sum(axis=0).reshape(n_states, 3, n_stages), heard, sharers
