"""Kaplan-Meier curves of time to diagnosis (unresolved cases right-censored).

Thin wrappers around :func:`scipy.stats.ecdf` with :class:`scipy.stats.CensoredData`;
nothing here re-implements the estimator. Quantiles follow the usual convention:
the ``q`` quantile is the smallest time ``t`` with ``S(t) <= 1 - q`` (``None`` when the
curve never falls that low, e.g. when too many cases are still unresolved).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "curve_quantile",
    "curve_share_by",
    "durations",
    "km_curve",
    "km_frame",
    "km_quantile",
    "km_share_by",
    "km_summary",
]


def km_curve(time: np.ndarray, observed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan-Meier survival curve: (times, S just after each time). Empty input: empty arrays."""
    time = np.asarray(time, dtype=float)
    observed = np.asarray(observed, dtype=bool)
    if time.size == 0:
        return np.zeros(0), np.zeros(0)
    data = stats.CensoredData(uncensored=time[observed], right=time[~observed])
    sf = stats.ecdf(data).sf
    return np.asarray(sf.quantiles, dtype=float), np.asarray(sf.probabilities, dtype=float)


def km_quantile(time: np.ndarray, observed: np.ndarray, q: float) -> float | None:
    """Smallest t with S(t) <= 1 - q (the KM ``q`` quantile of the time to the event)."""
    return curve_quantile(*km_curve(time, observed), q)


def km_share_by(time: np.ndarray, observed: np.ndarray, t: float) -> float | None:
    """KM share with the event by time t: 1 - S(t)."""
    return curve_share_by(*km_curve(time, observed), t)


def curve_quantile(times: np.ndarray, surv: np.ndarray, q: float) -> float | None:
    """:func:`km_quantile` of a curve already computed by :func:`km_curve`."""
    hit = np.flatnonzero(surv <= 1.0 - q + 1e-12)
    return float(times[hit[0]]) if hit.size else None


def curve_share_by(times: np.ndarray, surv: np.ndarray, t: float) -> float | None:
    """:func:`km_share_by` of a curve already computed by :func:`km_curve`."""
    if times.size == 0:
        return None
    k = np.searchsorted(times, t, side="right")
    return float(1.0 - (surv[k - 1] if k > 0 else 1.0))


def durations(cases: pd.DataFrame, unit_hours: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Time from first consultation to diagnosis, or to the end of the run when unresolved.

    Expects the ``cases`` table of the diagnosis process (columns ``time_to_diagnosis_hours``,
    ``censor_hours``). Returns (time, observed).
    """
    observed = cases["time_to_diagnosis_hours"].notna().to_numpy()
    t = np.where(observed, cases["time_to_diagnosis_hours"].to_numpy(float), cases["censor_hours"].to_numpy(float))
    return (t if unit_hours else t / 24.0), observed


def km_summary(cases: pd.DataFrame, by: str | None = None, quantiles=(0.5, 0.9)) -> pd.DataFrame:
    """One row per group: cases, diagnosed, censored, and KM quantiles (hours)."""
    groups = [("all", cases)] if by is None else [(k, g) for k, g in cases.groupby(by, observed=True)]
    rows = []
    for key, g in groups:
        t, obs = durations(g)
        row = {"group": key, "cases": len(g), "diagnosed": int(obs.sum()), "censored": int((~obs).sum())}
        for q in quantiles:
            row[f"q{round(q * 100)}_hours"] = km_quantile(t, obs, q) if len(g) else None
        rows.append(row)
    return pd.DataFrame(rows)


def km_frame(cases: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """KM curves in long form: group, t_hours, survival (a step function starting at 1)."""
    parts = []
    groups = [("all", cases)] if by is None else [(k, g) for k, g in cases.groupby(by, observed=True)]
    for key, g in groups:
        t, obs = durations(g)
        times, surv = km_curve(t, obs)
        parts.append(pd.DataFrame({"group": key, "t_hours": np.r_[0.0, times], "survival": np.r_[1.0, surv]}))
    if not parts:
        return pd.DataFrame({"group": [], "t_hours": [], "survival": []})
    return pd.concat(parts, ignore_index=True)
