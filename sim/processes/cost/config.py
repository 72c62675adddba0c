"""Prices of the cost table (schema only: imports nothing of the process).

Every price is an accounting setting, fixed at set-up: a run's cost is the quantities of
the run times these prices. All prices are in yuan (CNY) and are assumptions of the
order of public-sector figures, except the off-duty multiplier, which is the overtime
rate of the Labour Law of the PRC (art. 44: 150% of the wage beyond normal hours on a
working day). Change them to local figures; ``docs/model.md`` lists them.
"""

from __future__ import annotations

from pydantic import Field

from ...schema import SETUP_ONLY, NonNegative, Section

__all__ = ["CostConfig", "HourCost", "TravelCost"]


class HourCost(Section):
    """Cost of an hour of a clinician's time (CNY), by the tier of their facility (assumption)."""

    primary: NonNegative = Field(40.0, le=1e5, description="CNY per hour at primary facilities.")
    secondary: NonNegative = Field(60.0, le=1e5, description="CNY per hour at secondary facilities.")
    tertiary: NonNegative = Field(90.0, le=1e5, description="CNY per hour at tertiary facilities.")


class TravelCost(Section):
    """Patient's travel and lost income per referral hop (CNY), by the referring tier (assumption)."""

    primary: NonNegative = Field(150.0, le=1e6, description="CNY per hop from a primary facility.")
    secondary: NonNegative = Field(80.0, le=1e6, description="CNY per hop from a secondary facility.")
    tertiary: NonNegative = Field(30.0, le=1e6, description="CNY per hop from a tertiary facility.")


class CostConfig(Section):
    enabled: bool = Field(True, description="Add the cost table and cost_* metrics.", json_schema_extra=SETUP_ONLY)
    clinician_hour: HourCost = Field(default_factory=HourCost, json_schema_extra=SETUP_ONLY)
    offduty_multiplier: float = Field(
        1.5,
        ge=1.0,
        le=10.0,
        description="An hour answering off duty costs this many on-duty hours (PRC Labour Law art. 44).",
        json_schema_extra=SETUP_ONLY,
    )
    referral_travel: TravelCost = Field(default_factory=TravelCost, json_schema_extra=SETUP_ONLY)
    referral_visit: NonNegative = Field(
        50.0, description="Registration and visit fee of a referral (CNY, assumption).", json_schema_extra=SETUP_ONLY
    )
    reading_minutes_per_message: NonNegative = Field(
        0.25,
        le=60,
        description="Clinician time to read one message of a group or contact (minutes, assumption).",
        json_schema_extra=SETUP_ONLY,
    )
