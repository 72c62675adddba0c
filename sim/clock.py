"""Simulation clock: time in days since the start, with time of day and work hours."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Clock", "in_hours"]


def in_hours(hour: float | np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Whether ``hour`` (0-24) falls in [start, end); ``end`` may pass midnight (up to 48)."""
    hour = np.asarray(hour)
    return ((hour >= start) & (hour < end)) | (hour + 24.0 < end)


@dataclass
class Clock:
    step_days: float
    start_hour: float = 0.0
    step: int = 0
    #: (step, step_days, start_hour, hour) of the last ``hour`` asked
    _hour: tuple = field(default=(-1, 0.0, 0.0, 0.0), init=False, repr=False, compare=False)

    @property
    def t(self) -> float:
        """Days since the start, at the beginning of the current step."""
        return self.step * self.step_days

    @property
    def hour(self) -> float:
        """Clock hour (0-24) at the middle of the current step.

        Counted in whole steps of ``step_hours`` (rounded to 1e-9 h), not from ``t``: days in
        floating point (2 h = 0.08333... days) put the middle of a 2-hour step at 16.999... h on
        some days and 17.0 on others, so a clinician whose shift ends at 17:00 was on duty at
        that step on some days only (and the per-hour caches held dozens of hours, not 12)."""
        memo = self._hour
        if memo[0] == self.step and memo[1] == self.step_days and memo[2] == self.start_hour:
            return memo[3]  # asked several times a step: made once
        step_hours = round(self.step_days * 24.0, 9)
        hour = (self.start_hour + (self.step + 0.5) * step_hours) % 24.0
        self._hour = (self.step, self.step_days, self.start_hour, hour)
        return hour

    def is_night(self, night_start: float = 23.0, night_end: float = 7.0) -> bool:
        h = self.hour
        return h >= night_start or h < night_end

    def advance(self) -> None:
        self.step += 1
