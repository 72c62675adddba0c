"""Awareness, adoption and belief from a run's results, for notebooks.

import sim
from analysis.curves import tier_table, believers

res = sim.Results.load("results/gd")     # or sim.run(...)
tier_table(res, "new_guideline")         # days to 50% / 90% aware and adopted, per tier
believers(res, "rumor")                  # share believing / corrected / doubting over time
"""

from __future__ import annotations

import pandas as pd

from sim.schema import TIERS

from .plots import series_by_tier

__all__ = ["believers", "curves_by_tier", "tier_table"]


def tier_table(results, item: str) -> pd.DataFrame:
    """Days to 50% and 90% awareness and adoption of ``item`` per tier, and the share reached."""
    m = results.metrics
    rows = []
    for tier in TIERS:
        row = {"tier": tier}
        for label in ("aware", "adopted"):
            for q in (50, 90):
                row[f"t{q}_{label}"] = m.get(f"info_{item}_t{q}_{label}_{tier}")
            row[f"p_{label}"] = m.get(f"info_{item}_p_{label}_{tier}")
        rows.append(row)
    return pd.DataFrame(rows).set_index("tier")


def believers(results, item: str) -> pd.DataFrame:
    """Wide frame (index t, days) of the shares believing, corrected and doubting ``item``."""
    n = results.metrics["n_clinicians"]
    out = {
        state: results.series(f"n_{state}", item=item, tier=None) / n for state in ("believes", "corrected", "doubts")
    }
    frame = pd.DataFrame(out)
    if frame.empty:
        raise ValueError(f"no belief curves for item {item!r} in these results")
    return frame


def curves_by_tier(results, item: str, state: str = "aware") -> pd.DataFrame:
    """Share of each tier ``aware`` (or ``adopted``) over time."""
    return series_by_tier(results.timeseries, state, item)
