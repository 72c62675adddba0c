"""Settings of the network process (schema only: imports nothing of the process)."""

from __future__ import annotations

from pydantic import Field

from ...schema import SETUP_ONLY, NonNegative, Probability, Section

__all__ = ["NetworkConfig"]


class NetworkConfig(Section):
    enabled: bool = Field(
        True,
        description="Groups change during the run (to freeze them mid-run, set the rates to 0).",
        json_schema_extra=SETUP_ONLY,
    )
    conference_interval_days: NonNegative = Field(
        90.0, description="Days between conferences; 0 means no conferences (lockdown)."
    )
    conference_attendance: Probability = Field(
        0.15, description="Share of the focus specialty attending (a fifth of that for others)."
    )
    conference_group_size_median: float = Field(
        40.0, ge=3, le=500, description="Median size of the groups an event creates."
    )
    conference_join_prob: Probability = Field(0.5, description="Attendees who join the event's group.")
    invite_per_member_per_year: NonNegative = Field(0.2, le=365, description="Invitations of colleagues per member.")
    mute_per_year: NonNegative = Field(0.05, le=365, description="Rate at which a membership is muted.")
    leave_per_year: NonNegative = Field(0.03, le=365, description="Rate at which a member leaves a group.")
