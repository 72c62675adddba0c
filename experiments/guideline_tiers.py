"""Guideline uptake by tier in the Guangdong study (issue #11, items 3 and 7).

Runs ``scenarios/guangdong_study.toml`` (diagnosis off: it draws from its own stream and
does not change the information process) for a year after the guideline's release, on
replicate seeds, and prints per tier the days from release to 50% aware and to 10%
adopted, the shares aware, adopted and rejecting at the end, and the share of awareness
that came through a shared article: means with 95% Student-t intervals over the
replicates that reached the share (their count in the last column).

    python experiments/guideline_tiers.py -r 12
    python experiments/guideline_tiers.py -r 12 --set information.adoption=per_copy

Run from the repository root.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sim.config import load_scenario
from sim.rng import replicate_seeds
from sim.runner import run

ROOT = Path(__file__).resolve().parent.parent
TIERS = ("tertiary", "secondary", "primary")
COLUMNS = (
    ("t50_aware", "days to 50% aware"),
    ("t10_adopted", "days to 10% adopted"),
    ("p_aware", "aware"),
    ("p_adopted", "adopted"),
    ("p_rejected", "rejected"),
    ("p_aware_via_article", "aware through an article"),
)


def interval(values: list[float]) -> tuple[float, float, float, int]:
    x = np.asarray([v for v in values if v is not None and np.isfinite(v)], float)
    if x.size == 0:
        return np.nan, np.nan, np.nan, 0
    if x.size == 1:
        return float(x[0]), np.nan, np.nan, 1
    half = stats.t.ppf(0.975, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size)
    return float(x.mean()), float(x.mean() - half), float(x.mean() + half), int(x.size)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-r", "--replicates", type=int, default=12)
    ap.add_argument("--days", type=float, default=366.0, help="run length (the guideline is released on day 1)")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--set", action="append", default=[], dest="sets")
    a = ap.parse_args()
    sets = [f"run.duration_days={a.days}", "diagnosis.enabled=false", *a.sets]
    scen = load_scenario(ROOT / "scenarios" / "guangdong_study.toml", sets)
    item = next(it.name for it in scen.information.items if it.kind == "guideline")
    values: dict[tuple[str, str], list] = {}
    for k, seed in enumerate(replicate_seeds(a.seed, a.replicates)):
        m = run(scen.model_copy(deep=True), seed=seed).metrics
        for tier in TIERS:
            for key, _ in COLUMNS:
                values.setdefault((tier, key), []).append(m.get(f"info_{item}_{key}_{tier}"))
        print(f"  replicate {k + 1}/{a.replicates}", file=sys.stderr, flush=True)
    print(f"guangdong_study, guideline {item!r}, {a.replicates} replicates, {a.days:g} days, sets {a.sets}")
    print("mean [95% t-interval] (replicates that reached it)\n")
    print("| tier | " + " | ".join(label for _, label in COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 1) + "|")
    for tier in TIERS:
        cells = []
        for key, _ in COLUMNS:
            mean, lo, hi, n = interval(values[tier, key])
            digits = 1 if key.startswith("t") else 3
            cells.append(f"{mean:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}] ({n})")
        print(f"| {tier} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
