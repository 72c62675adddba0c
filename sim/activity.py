"""When clinicians are at work and when they open their chats.

Reading is a Poisson process per clinician whose rate depends on the time of day:
``reads_per_day`` spread over the waking hours (07:00-23:00 local time), multiplied by
``night_activity`` at night; shift workers (``work_start``/``work_end`` at night)
read at the day rate while on shift. The probability of at least one opening in a
step of length dt (days) is ``1 - exp(-rate * dt)``.
"""

from __future__ import annotations

import numpy as np

from .clock import in_hours

__all__ = ["WAKING_HOURS", "at_work", "awake", "read_prob", "read_rate"]

WAKING_HOURS = 16.0
WAKE_HOUR, SLEEP_HOUR = 7.0, 23.0


def awake(model, who: np.ndarray | None = None) -> bool | np.ndarray:
    """In waking hours (07:00-23:00 local time): one bool when every clinician keeps the
    run's clock, else a bool per clinician (or per clinician in ``who``); members abroad
    with ``utc_offset_hours`` keep their own."""
    offset = model.pop.local_offset
    if offset is None:
        return not model.clock.is_night(SLEEP_HOUR, WAKE_HOUR)
    local = np.mod(model.clock.hour + (offset if who is None else offset[who]), 24.0)
    return (local >= WAKE_HOUR) & (local < SLEEP_HOUR)


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
    factor = np.where(at_work(model, who) | awake(model, who), 1.0, cfg.night_activity).astype(np.float32)
    return day_rate * factor


#: memory the whole-population opening chances of the hours of the day may take
READ_PROB_CACHE_BYTES = 64 << 20


def read_prob(model, who: np.ndarray | None = None) -> np.ndarray:
    """Probability that each clinician (or each in ``who``) opens the chats at least once in this step.

    The chances depend only on the hour of the day (and the step), so the whole
    population's are kept per hour while they fit in :data:`READ_PROB_CACHE_BYTES`; larger
    populations compute them each step (for ``who`` only when it is given)."""
    dt = model.clock.step_days
    key = (model.clock.hour, dt, model.config.population.night_activity)
    cache: dict = model.__dict__.setdefault("_read_prob_cache", {})
    full = cache.get(key)
    if full is None:
        fits = model.pop.n * 8 * (len(cache) + 1) <= READ_PROB_CACHE_BYTES
        if not fits:
            return -np.expm1(-read_rate(model, who) * dt)
        full = cache[key] = -np.expm1(-read_rate(model) * dt)
    return full if who is None else full[who]
