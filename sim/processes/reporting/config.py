"""Settings of the case-reporting chain (schema only: imports nothing of the process).

A case report (an item of kind ``case_report``) is an emergent case seen at a clinic. The
formal chain reports it level by level: the facility files a report, then the county, the
city and the province each verify it and report upward, and the province notifies abroad.
Each hop takes a log-normal number of hours, counted in administrators' working hours
unless ``working_hours_only`` is false.
"""

from __future__ import annotations

from pydantic import Field

from ...schema import SETUP_ONLY, NonNegative, Section

__all__ = ["LEVELS", "HopHours", "ReportingConfig"]

#: The levels the formal chain reaches, in order.
LEVELS = ("facility", "county", "city", "province", "abroad")


class HopHours(Section):
    """Median hours of each hop of the formal chain (the time to reach that level)."""

    facility: NonNegative = Field(
        2.0,
        le=24 * 365,
        description="From the case to the facility's report: the 2-hour rule for emergent events "
        "(State Council regulation on public health emergencies, 2003, art. 19).",
    )
    county: NonNegative = Field(24.0, le=24 * 365, description="County verification and report upward (assumption).")
    city: NonNegative = Field(24.0, le=24 * 365, description="City verification and report upward (assumption).")
    province: NonNegative = Field(
        48.0, le=24 * 365, description="Provincial assessment and report upward (assumption)."
    )
    abroad: NonNegative = Field(
        24.0,
        le=24 * 365,
        description="From the province's assessment to notice abroad (IHR 2005 art. 6: within 24 hours).",
    )


class ReportingConfig(Section):
    enabled: bool = Field(
        True, description="Run the formal reporting chain for case reports.", json_schema_extra=SETUP_ONLY
    )
    hop_hours: HopHours = Field(default_factory=HopHours)
    hop_sigma: NonNegative = Field(0.5, le=3, description="Log-normal spread of each hop's hours (0: fixed).")
    working_hours_only: bool = Field(
        True, description="Hops advance only in administrators' working hours (population.work_*_hour)."
    )
