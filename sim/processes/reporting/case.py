"""The reporting chain against its closed form (``qunsim validate --case reporting_chain``).

``scenarios/validation/reporting_chain.toml``: 25 case reports released together, hours
counted round the clock, hops log-normal with medians ``h_k`` and spread ``sigma``. The
time to reach the county is the sum of two independent hops, so its mean is exactly
``(h_facility + h_county) · exp(sigma^2 / 2)`` (the mean of a log-normal). Statistic (one
replicate): the mean over the 25 reports of the hours to the county. The run lasts long
enough that a report misses the county with probability below 1e-8 (a hop above 19
days is more than 6 sigma out), so the reference needs no approximation bound.
"""

from __future__ import annotations

import numpy as np

from ...validation import Case, validation_case

__all__ = ["county_hours", "mean_county_hours"]


def mean_county_hours(scen) -> float:
    h = scen.reporting.hop_hours
    return float((h.facility + h.county) * np.exp(scen.reporting.hop_sigma**2 / 2))


def county_hours(model) -> float:
    proc = model.process("reporting")
    k = 1  # LEVELS.index("county")
    reached = proc.reached[:, k] - proc.start
    return float(np.mean(reached) * 24.0) if np.isfinite(reached).all() else float("nan")


validation_case(
    Case(
        name="reporting_chain",
        scenario="reporting_chain.toml",
        expected=mean_county_hours,
        statistic=county_hours,
        approx=lambda scen: 0.0,  # exact: a sum of independent log-normal hops
        replicates=40,
        quick_replicates=12,
        description="case-reporting chain, hours round the clock: mean hours to the county, (h_f + h_c) exp(sigma^2/2)",
    )
)
