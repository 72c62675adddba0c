"""Building blocks of the scenario schema, shared by `config` and the processes."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from pydantic.fields import FieldInfo
from pydantic.json_schema import JsonDict

from .errors import ScenarioError as ScenarioError  # re-exported: raised by every layer

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

#: ``json_schema_extra`` of a field that is read once, when the model is built: a
#: ``settings`` intervention may not change it (``Field(..., json_schema_extra=SETUP_ONLY)``).
SETUP_ONLY: JsonDict = {"setup_only": True}


class Section(BaseModel):
    """A table of a scenario file: unknown keys are errors, and so are infinite or NaN numbers."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


def is_setup_only(field: FieldInfo) -> bool:
    """True for a field declared with ``json_schema_extra={"setup_only": True}``."""
    extra = field.json_schema_extra
    return isinstance(extra, dict) and bool(extra.get("setup_only"))
