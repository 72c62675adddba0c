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
from .kernels import pick_where

__all__ = [
    "WAKING_HOURS",
    "at_work",
    "awake",
    "prob_parts",
    "rate_and_duty",
    "rate_parts",
    "read_prob",
    "read_rate",
    "reads_by_day",
]

WAKING_HOURS = 16.0
WAKE_HOUR, SLEEP_HOUR = 7.0, 23.0


def awake(model, who: np.ndarray | None = None) -> bool | np.ndarray:
    """In waking hours (07:00-23:00 local time): one bool when every clinician keeps the
    run's clock, else a bool per clinician (or per clinician in ``who``); members abroad
    with ``utc_offset_hours`` keep their own."""
    offset = model.pop.local_offset
    if offset is None:
        return not model.clock.is_night(SLEEP_HOUR, WAKE_HOUR)
    if who is None:
        return _hourly(model, ("awake",), 1, lambda: _awake(model.clock.hour, offset))
    return _awake(model.clock.hour, offset[who])


def _awake(hour: float, offset: np.ndarray) -> np.ndarray:
    local = np.mod(hour + offset, 24.0)
    return (local >= WAKE_HOUR) & (local < SLEEP_HOUR)


def at_work(model, who: np.ndarray | None = None) -> np.ndarray:
    """Bool per clinician (or per clinician in ``who``): on duty at the middle of the current step."""
    pop = model.pop
    if who is None:
        return _hourly(model, ("at_work",), 1, lambda: in_hours(model.clock.hour, pop.work_start, pop.work_end))
    return in_hours(model.clock.hour, pop.work_start[who], pop.work_end[who])


def read_rate(model, who: np.ndarray | None = None) -> np.ndarray:
    """Chat openings per day, per clinician (or per clinician in ``who``), at the current time
    of day: ``reads_per_day`` spread over the waking hours, times ``night_activity`` unless
    at work or awake."""
    return _day_or_night(model, "rate", who)


def _day_or_night(model, kind: str, who: np.ndarray | None) -> np.ndarray:
    """The read rate (``kind`` "rate") or the chance to read in this step (``"prob"``) of
    each clinician (or each in ``who``): their day or night value, as they are at work or
    awake now or not."""
    day, night = _day_and_night(model, kind)
    at_day_rate = reads_by_day(model)
    if who is None:
        return np.where(at_day_rate, day, night)
    return pick_where(at_day_rate, day, night, who)


def reads_by_day(model) -> np.ndarray:
    """Bool per clinician: reading at the day rate now (at work or awake), kept per hour."""
    return _hourly(model, ("day_rate",), 1, lambda: np.asarray(at_work(model) | awake(model)))


def _day_and_night(model, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Per clinician, at the day rate and at the night rate: the read rate (``kind`` "rate")
    or the chance to read in a step (``"prob"``), kept while ``night_activity`` and the step
    stay the same. Each value is the one computed for the clinician alone at that hour (the
    same float32 operations), so choosing one of the two gives the same numbers."""
    night_activity, dt = model.config.population.night_activity, model.clock.step_days
    key = (kind, night_activity, dt if kind == "prob" else None)
    cache: dict = model.__dict__.setdefault("_day_and_night", {})
    got = cache.get(key)
    if got is None:
        if kind == "prob":
            day, night = _day_and_night(model, "rate")
            got = (-np.expm1(-day * dt), -np.expm1(-night * dt))
        else:
            day_rate = model.pop.reads_per_day * (24.0 / WAKING_HOURS)
            got = (day_rate * np.float32(1.0), day_rate * np.float32(night_activity))
        for value in got:
            value.flags.writeable = False
        for old in [k for k in cache if k[0] == kind]:  # one entry per kind
            del cache[old]
        cache[key] = got
    return got


def rate_parts(model) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """What the read rate and the duty of any clinicians are made of at this hour, for a
    compiled loop: whether each reads at the day rate, the day and the night rates, and
    whether each is at work (``read_rate(model, who)`` is ``day[w]`` where the first is
    true, else ``night[w]``; ``at_work(model, who)`` is the last at ``who``)."""
    day, night = _day_and_night(model, "rate")
    at_day_rate = reads_by_day(model)
    return at_day_rate, day, night, at_work(model)


def prob_parts(model) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What the chance to read in this step of any clinicians is made of at this hour, for
    a compiled loop: whether each reads at the day rate, and the day and the night chances
    (``read_prob(model, who)`` is ``day[w]`` where the first is true, else ``night[w]``)."""
    day, night = _day_and_night(model, "prob")
    return reads_by_day(model), day, night


def rate_and_duty(model, who: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(read_rate(model, who), at_work(model, who))``: taken from the whole population's
    values at this hour of the day, kept per hour (:func:`_hourly`), when the population
    is small enough for them to be kept; else from the bool masks kept per hour and each
    clinician's day and night rates."""
    if model.pop.n * 5 > HOURLY_CACHE_BYTES // 24:
        return read_rate(model, who), at_work(model)[who]
    key = ("read_rate", model.config.population.night_activity)
    return _hourly(model, key, 4, lambda: read_rate(model))[who], at_work(model)[who]


#: memory the whole-population values of the hours of the day may take (per run)
HOURLY_CACHE_BYTES = 64 << 20


def _hourly(model, key: tuple, itemsize: int, compute):
    """``compute()``, a whole-population array that depends only on the hour of the day
    (and ``key``), kept per hour while the run's such arrays fit in
    :data:`HOURLY_CACHE_BYTES`; computed afresh once they do not."""
    cache: dict = model.__dict__.setdefault("_hourly_cache", {})
    full_key = (*key, model.clock.hour)
    value = cache.get(full_key)
    if value is None:
        value = compute()
        value.flags.writeable = False  # shared by every step at this hour
        used = model.__dict__.get("_hourly_bytes", 0) + model.pop.n * itemsize
        if used <= HOURLY_CACHE_BYTES:
            cache[full_key] = value
            model.__dict__["_hourly_bytes"] = used
    return value


def read_prob(model, who: np.ndarray | None = None) -> np.ndarray:
    """Probability that each clinician (or each in ``who``) opens the chats at least once in this step.

    The chances depend only on the hour of the day (and the step), so the whole
    population's are kept per hour (:func:`_hourly`); for a population too large to keep
    them, each clinician's chance is taken from their day and night values by the mask of
    who reads at the day rate, kept per hour (one byte per clinician)."""
    if model.pop.n * 4 > HOURLY_CACHE_BYTES // 24:
        return _day_or_night(model, "prob", who)  # from the day-rate mask kept per hour
    key = ("read_prob", model.clock.step_days, model.config.population.night_activity)
    full = _hourly(model, key, 4, lambda: _day_or_night(model, "prob", None))
    return full if who is None else full[who]
