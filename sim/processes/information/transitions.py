"""Changes of an item's state, with their bookkeeping and their rows in the event log.

(The compiled guideline reader, :func:`kernels.read_guideline`, makes its own changes;
the reading step logs them.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .config import ADOPTED, BELIEVES, CORRECTED, DOUBTS

if TYPE_CHECKING:  # pragma: no cover
    from .process import InformationProcess

__all__ = ["first_correction", "set_state"]


def set_state(
    p: InformationProcess, j: int, who: np.ndarray, new: int, t: float, sender: np.ndarray, group: np.ndarray | int = -1
) -> None:
    """Move clinicians ``who`` of item ``j`` to state ``new`` (``sender`` and ``group``:
    where it came from, for the log).

    The first time one hears of an item sets ``t_first``. A rumor's new believer is
    marked as having believed, gets ``t_taken`` the first time and is drawn persistent
    (``persistent_share``: corrections never turn them); the first corrector of a rumor
    sets the time of its first correction. A guideline's adopter gets ``t_taken``.
    """
    if who.size == 0:
        return
    arr = p.arrays
    first = np.isnan(arr.t_first[j, who])
    arr.t_first[j, who[first]] = t
    arr.state[j, who] = new
    if p.catalog.kinds[j] == "rumor":
        if new == BELIEVES:
            arr.ever_believed[j, who] = True
            fresh = np.isnan(arr.t_taken[j, who])
            arr.t_taken[j, who[fresh]] = t
            arr.persistent[j, who] = p.rng.random(who.size) < p.config.persistent_share
            p.log.add(j, "believe", sender, who, group, t)
        elif new == CORRECTED:
            first_correction(p, j, t)
            p.log.add(p.catalog.corr_id[j], "correct", sender, who, group, t)
        elif new == DOUBTS:
            p.log.add(j, "doubt", sender, who, group, t)
    elif new == ADOPTED:
        arr.t_taken[j, who] = t
        p.log.add(j, "adopt", sender, who, group, t)
    else:
        p.log.add(j, "aware", sender, who, group, t)


def first_correction(p: InformationProcess, j: int, t: float) -> None:
    """Someone was corrected about rumor ``j`` at ``t``: the time of its first correction,
    unless it has one."""
    r = p.catalog.rumors.index(j)
    if np.isnan(p.track.t_first_correction[r]):
        p.track.t_first_correction[r] = t
