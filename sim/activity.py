"""When clinicians are at work and when they open their chats.

Reading is a Poisson process per clinician whose rate depends on the time of day:
``reads_per_day`` spread over the waking hours (07:00-23:00), multiplied by
``night_activity`` at night; shift workers (``work_start``/``work_end`` at night)
read at the day rate while on shift. The probability of at least one opening in a
step of length dt (days) is ``1 - exp(-rate * dt)``.
"""

from __future__ import annotations

import numpy as np

from .clock import in_hours

__all__ = ["WAKING_HOURS", "at_work", "read_prob", "read_rate"]

WAKING_HOURS = 16.0


def at_work(model, who: np.ndarray | None = None) -> np.ndarray:
    """Bool per clinician (or per clinician in ``who``): on duty at the middle of the current step."""
    pop = model.pop
    if who is None:
        return in_hours(model.clock.hour, pop.work_start, pop.work_end)
    return in_hours(model.clock.hour, pop.work_start[who], pop.work_end[who])


def read_rate(model, who: np.ndarray | None = None) -> np.ndarray:
    """Chat openings per day, per clinician (or per clinician in ``who``: the same values,
    computed for those only), at the current time of day."""
    pop, cfg = model.pop, model.config.population
    reads = pop.reads_per_day if who is None else pop.reads_per_day[who]
    day_rate = reads * (24.0 / WAKING_HOURS)
    awake = not model.clock.is_night()
    factor = np.where(at_work(model, who) | awake, 1.0, cfg.night_activity).astype(np.float32)
    return day_rate * factor


def read_prob(model, who: np.ndarray | None = None) -> np.ndarray:
    """Probability that each clinician (or each in ``who``) opens the chats at least once in this step."""
    return -np.expm1(-read_rate(model, who) * model.clock.step_days)
