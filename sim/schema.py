"""Building blocks of the scenario schema, shared by `config` and the processes."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Positive = Annotated[float, Field(gt=0.0)]
Hour = Annotated[float, Field(ge=0.0, le=24.0)]
GroupSize = Annotated[int, Field(ge=3, le=500)]


ROLES = ("doctor", "nurse", "lab_technician", "pharmacist", "public_health_admin")
TIERS = ("primary", "secondary", "tertiary")
BASES = (
    "alumni",
    "cohort",
    "specialty",
    "affiliate",
    "surveillance",
    "conference",
    "reading",
    "abroad",
)


class ScenarioError(Exception):
    """A scenario that cannot be used; the message says where and why."""


class Section(BaseModel):
    """A table of a scenario file: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)
