"""Belief on exposure responds to credibility and literacy (issue #11, item 2).

Runs the classroom scenario (diagnosis off) over a grid of the rumor's credibility and
the clinicians' mean information literacy, on paired replicate seeds (replicate k of
every cell shares its seed), and prints per cell the mean share of clinicians who ever
believed the rumor with a 95% Student-t interval over replicates, then the paired
differences across credibility (+0.9 minus -0.9) and literacy (high minus low) with
their 95% intervals.

    python experiments/belief_response.py -r 20
    python experiments/belief_response.py -r 20 --set information.belief_rule=forget_first

Run from the repository root.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sim.config import load_scenario
from sim.model import QunModel
from sim.rng import replicate_seeds

ROOT = Path(__file__).resolve().parent.parent


def ever_believed(scenario: Path, sets: list[str], seed: int) -> float:
    model = QunModel(load_scenario(scenario, sets), seed=seed)
    model.run_model()
    proc = model.process("information")
    j = proc.catalog.rumors[0]
    return float(proc.arrays.ever_believed[j].mean())


def interval(x: np.ndarray) -> tuple[float, float, float]:
    """Mean and 95% Student-t interval over replicates."""
    m, se = float(np.mean(x)), float(np.std(x, ddof=1) / np.sqrt(x.size))
    h = float(stats.t.ppf(0.975, x.size - 1)) * se
    return m, m - h, m + h


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "classroom.toml"))
    ap.add_argument("-r", "--replicates", type=int, default=20)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--credibility", type=float, nargs="+", default=[-0.9, 0.0, 0.9])
    ap.add_argument("--literacy", type=float, nargs="+", default=[0.3, 0.7], help="population.literacy_mean levels")
    ap.add_argument("--set", action="append", default=[], help="extra overrides (dotted.key=value)")
    ap.add_argument("--csv", help="write the per-replicate values here")
    args = ap.parse_args(argv)
    scen = Path(args.scenario)
    rumor = next(k for k, it in enumerate(load_scenario(scen).information.items) if it.kind == "rumor")
    rows = []
    for rep, seed in enumerate(replicate_seeds(args.seed, args.replicates)):
        for c in args.credibility:
            for lit in args.literacy:
                sets = [
                    "diagnosis.enabled=false",
                    f"information.items.{rumor}.credibility={c}",
                    f"population.literacy_mean={lit}",
                    *args.set,
                ]
                rows.append(dict(replicate=rep, credibility=c, literacy=lit, ever=ever_believed(scen, sets, seed)))
        print(f"replicate {rep + 1}/{args.replicates} done", file=sys.stderr, flush=True)
    df = pd.DataFrame(rows)
    if args.csv:
        df.to_csv(args.csv, index=False)
    print(
        f"share ever believed, mean [95% CI] over {args.replicates} paired seeds ({scen.name}; {args.set or 'defaults'})"
    )
    print(f"{'credibility':>12} " + " ".join(f"{'literacy ' + format(lit, 'g'):>26}" for lit in args.literacy))
    for c in args.credibility:
        cells = []
        for lit in args.literacy:
            m, lo, hi = interval(df[(df.credibility == c) & (df.literacy == lit)]["ever"].to_numpy())
            cells.append(f"{m:.3f} [{lo:.3f}, {hi:.3f}]")
        print(f"{c:>12g} " + " ".join(f"{x:>26}" for x in cells))
    wide = df.pivot_table(index="replicate", columns=["credibility", "literacy"], values="ever")
    lo_c, hi_c = min(args.credibility), max(args.credibility)
    lo_l, hi_l = min(args.literacy), max(args.literacy)
    print("paired differences, mean [95% CI]:")
    for lit in args.literacy:
        m, lo, hi = interval((wide[(hi_c, lit)] - wide[(lo_c, lit)]).to_numpy())
        print(f"  credibility {hi_c:g} minus {lo_c:g} at literacy {lit:g}: {m:+.3f} [{lo:+.3f}, {hi:+.3f}]")
    for c in args.credibility:
        m, lo, hi = interval((wide[(c, hi_l)] - wide[(c, lo_l)]).to_numpy())
        print(f"  literacy {hi_l:g} minus {lo_l:g} at credibility {c:g}: {m:+.3f} [{lo:+.3f}, {hi:+.3f}]")


if __name__ == "__main__":
    main()
