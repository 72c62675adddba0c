"""Thin ``mesa.Agent`` views over the clinician arrays.

Each :class:`Clinician` holds only its index; its attributes read the model's arrays,
so Mesa's ``AgentSet`` queries work (``model.agents.select(lambda a: a.tier ==
"primary")``, ``.agg("expertise", np.mean)``, ``.groupby("role")``) while the
processes update state in bulk.
"""

from __future__ import annotations

import mesa

from .population import SPECIALTIES
from .schema import ROLES, TIERS

__all__ = ["Clinician"]


class Clinician(mesa.Agent):
    def __init__(self, model, index: int):
        super().__init__(model)
        self.index = int(index)

    @property
    def _pop(self):
        return self.model.pop

    @property
    def role(self) -> str:
        return ROLES[self._pop.role[self.index]]

    @property
    def tier(self) -> str:
        return TIERS[self._pop.fac_tier[self._pop.facility[self.index]]]

    @property
    def facility(self) -> int:
        return int(self._pop.facility[self.index])

    @property
    def region(self) -> str:
        return self._pop.region_names[self._pop.fac_region[self.facility]]

    @property
    def specialty(self) -> str:
        return SPECIALTIES[self._pop.specialty[self.index]]

    @property
    def expertise(self) -> float:
        return float(self._pop.expertise[self.index])

    @property
    def literacy(self) -> float:
        return float(self._pop.literacy[self.index])

    @property
    def reads_per_day(self) -> float:
        return float(self._pop.reads_per_day[self.index])

    @property
    def groups(self):
        """Ids of the groups this clinician belongs to."""
        return self.model.net.groups_of(self.index)

    @property
    def contacts(self):
        """Ids of this clinician's 1-on-1 contacts."""
        return self.model.contacts.of(self.index)

    def state(self, process: str, item: int = 0):
        """This clinician's state in a process (e.g. belief in an item)."""
        return self.model.process(process).state_of(self.index, item)

    def __repr__(self) -> str:
        return f"Clinician({self.index}, {self.role}, {self.specialty}, {self.tier})"
