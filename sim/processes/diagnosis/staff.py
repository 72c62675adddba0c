"""Who answers requests, and who treats a case at a facility."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...schema import ROLES
from .config import N_CASE_SPEC

__all__ = ["Staff"]


class Staff:
    """The answering roles and, per case specialty, each facility's treating clinicians.

    Both follow ``answer_roles``: :meth:`update` rebuilds them when the setting changed
    (a ``settings`` intervention), so they are right from the next step on.
    """

    def __init__(self, pop, roles: Sequence[str]):
        self.pop = pop
        self.roles: tuple[str, ...] | None = None  # nothing built yet (an empty tuple is a valid choice)
        self.update(roles)

    def update(self, roles: Sequence[str]) -> bool:
        """Rebuild for these answering roles if they changed; True when rebuilt."""
        key = tuple(roles)
        if key == self.roles:
            return False
        self.roles = key
        self.answering = np.isin(self.pop.role, [ROLES.index(r) for r in key])
        self._build_treating_lists()
        return True

    def _build_treating_lists(self) -> None:
        """Per case specialty: each facility's clinicians who would treat such a case.

        Preference: an answering-role clinician of the specialty; else a general-medicine
        doctor; else any doctor; else anyone on the staff.
        """
        pop = self.pop
        n_fac = pop.n_facilities
        doctor = pop.role == ROLES.index("doctor")
        self.treat_indptr = np.zeros((N_CASE_SPEC, n_fac + 1), np.int64)
        self.treat_ids: list[np.ndarray] = []
        for s in range(N_CASE_SPEC):
            prio = np.where(
                self.answering & (pop.specialty == s),
                0,
                np.where(doctor & (pop.specialty == 0), 1, np.where(doctor, 2, 3)),
            )
            best = np.full(n_fac, 9)
            np.minimum.at(best, pop.facility, prio)
            ids = np.flatnonzero(prio == best[pop.facility])
            ids = ids[np.argsort(pop.facility[ids], kind="stable")]
            counts = np.bincount(pop.facility[ids], minlength=n_fac)
            np.cumsum(counts, out=self.treat_indptr[s, 1:])
            self.treat_ids.append(ids.astype(np.int32))
        self._flat_ids = np.concatenate(self.treat_ids)
        self._offset = np.cumsum([0] + [ids.size for ids in self.treat_ids[:-1]]).astype(np.int64)

    def treating_lists(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The lists :meth:`pick_treating` chooses from, as :func:`.kernels.pick_in_lists` takes
        them: per (specialty, facility) CSR pointers, the ids laid end to end, each list's offset."""
        return self.treat_indptr, self._flat_ids, self._offset

    def pick_treating(self, fac: np.ndarray, spec: np.ndarray, u: np.ndarray) -> np.ndarray:
        """The treating clinician of a case of specialty ``spec`` at ``fac``, chosen by ``u`` in [0, 1)."""
        from .kernels import pick_in_lists

        return pick_in_lists(*self.treating_lists(), spec, fac, u)
