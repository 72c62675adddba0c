"""Chat groups against the counterfactual of formal referral only (issue #4).

Runs a scenario with the groups switched on (at one or more patience times) and off
(``diagnosis.groups = false``), over paired replicate seeds (replicate k of every arm
shares its seed, hence its cases and network), and prints per arm and tier: the
Kaplan-Meier median and 90th percentile of the time to diagnosis (cases pooled over
replicates, unresolved ones censored), the share diagnosed within 24 h, accuracy, the
share of consulted cases diagnosed without a referral, and the experts' burden.

    python experiments/groups_vs_referral.py scenarios/guangdong_study.toml -r 5 \\
        --patience 24 6 2 --csv results/groups_vs_referral.csv

With ``--escalation parallel`` every arm asks the group and the contact at once and
starts the referral while waiting; ``--paired`` adds, per replicate, the Kaplan-Meier
median time to diagnosis of consulted cases at a tier (``--tier``, default primary) in
each arm, and a bootstrap interval (``scipy.stats.bootstrap``, BCa) of the mean paired
difference, groups minus referral only:

    python experiments/groups_vs_referral.py scenarios/guangdong_study.toml -r 8 \
        --escalation parallel --paired

Run from the repository root (it imports ``analysis``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis.survival import km_quantile, km_share_by
from sim.config import load_scenario
from sim.model import QunModel
from sim.processes.diagnosis.survival import durations
from sim.rng import replicate_seeds


def run_arm(path: str, sets: list[str], seeds: list[int]) -> tuple[pd.DataFrame, dict]:
    frames, burden = [], {"answers": 0, "offhours": 0, "referrals": 0}
    for k, seed in enumerate(seeds):
        model = QunModel(load_scenario(path, sets), seed=seed)
        model.run_model()
        proc = model.process("diagnosis")
        frames.append(proc.cases_frame(model).assign(replicate=k))
        burden["answers"] += int(proc.experts.n_answers.sum())
        burden["offhours"] += int(proc.experts.n_offhours.sum())
        burden["referrals"] += proc.counters["referrals"]
    return pd.concat(frames, ignore_index=True), burden


def replicate_medians(cases: pd.DataFrame, tier: str) -> np.ndarray:
    """Per replicate: KM median (hours) of the consulted cases at ``tier`` (NaN if not reached)."""
    out = []
    for _, g in cases[(cases["tier"] == tier) & cases["consulted"]].groupby("replicate"):
        t, obs = durations(g)
        q = km_quantile(t, obs, 0.5)
        out.append(np.nan if q is None else q)
    return np.asarray(out, float)


def paired_table(medians: dict[str, np.ndarray], base: str, seed: int) -> pd.DataFrame:
    """Per arm: per-replicate medians, and the mean paired difference to ``base`` with a 95% BCa interval."""
    rows = []
    for arm, m in medians.items():
        row = {"arm": arm, "medians_h": " ".join(f"{x:.1f}" for x in m), "mean_median_h": float(np.nanmean(m))}
        if arm != base:
            d = m - medians[base]
            d = d[np.isfinite(d)]
            res = stats.bootstrap(
                (d,), np.mean, confidence_level=0.95, n_resamples=9999, method="BCa", rng=np.random.default_rng(seed)
            )
            ci = res.confidence_interval
            row.update(
                diff_mean_h=float(d.mean()),
                ci_low_h=float(ci.low),
                ci_high_h=float(ci.high),
                n_pairs=int(d.size),
                groups_faster=int((d < 0).sum()),
            )
        rows.append(row)
    return pd.DataFrame(rows)


def summarise(arm: str, cases: pd.DataFrame, burden: dict, reps: int) -> list[dict]:
    rows = []
    for tier in ["all", "primary", "secondary", "tertiary"]:
        sub = cases if tier == "all" else cases[cases["tier"] == tier]
        for subset in ("all cases", "consulted"):
            g = sub if subset == "all cases" else sub[sub["consulted"]]
            if g.empty:
                continue
            t, obs = durations(g)
            done = g[g["resolved"]]
            consulted_done = done[done["consulted"]]
            rows.append(
                {
                    "arm": arm,
                    "tier": tier,
                    "cases": subset,
                    "n": len(g),
                    "median_h": km_quantile(t, obs, 0.5),
                    "p90_h": km_quantile(t, obs, 0.9),
                    "within_24h": km_share_by(t, obs, 24.0),
                    "accuracy": float(done["correct"].astype(float).mean()) if len(done) else np.nan,
                    "no_referral": (
                        float((consulted_done["route"] != "referral").mean()) if len(consulted_done) else np.nan
                    ),
                    "answers_per_rep": burden["answers"] / reps,
                    "offhours_answers_per_rep": burden["offhours"] / reps,
                    "referrals_per_rep": burden["referrals"] / reps,
                }
            )
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("scenario")
    p.add_argument("-r", "--replicates", type=int, default=3)
    p.add_argument("--seed", type=int, default=20261122, help="experiment seed (replicates spawned from it)")
    p.add_argument(
        "--patience",
        type=float,
        nargs="+",
        default=[24.0],
        help="group and 1-on-1 patience times (hours) of the arms with groups",
    )
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="setting for every arm")
    p.add_argument(
        "--escalation",
        choices=["serial", "parallel"],
        default=None,
        help="diagnosis.escalation in every arm (default: the scenario's)",
    )
    p.add_argument(
        "--paired",
        action="store_true",
        help="per-replicate KM medians at --tier and a bootstrap interval of the paired difference",
    )
    p.add_argument("--tier", default="primary", choices=["primary", "secondary", "tertiary"])
    p.add_argument("--csv", help="write the table here")
    args = p.parse_args(argv)
    seeds = replicate_seeds(args.seed, args.replicates)
    arms = {
        f"groups, patience {h:g} h": [f"diagnosis.group_patience_hours={h}", f"diagnosis.contact_patience_hours={h}"]
        for h in args.patience
    }
    arms["no groups (referral only)"] = ["diagnosis.groups=false"]
    common = list(args.set) + ([f'diagnosis.escalation="{args.escalation}"'] if args.escalation else [])
    rows, medians = [], {}
    for arm, sets in arms.items():
        print(f"running {arm} ...", file=sys.stderr, flush=True)
        cases, burden = run_arm(args.scenario, common + sets, seeds)
        rows += summarise(arm, cases, burden, args.replicates)
        medians[arm] = replicate_medians(cases, args.tier)
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.float_format", "{:.2f}".format):
        print(table[table["cases"] == "consulted"].drop(columns=["cases"]).to_string(index=False))
    if args.paired:
        base = "no groups (referral only)"
        paired = paired_table(medians, base, args.seed)
        print(
            f"\n{args.tier}, consulted cases: KM median time to diagnosis per replicate (h); "
            f"paired difference to '{base}' (mean, 95% BCa bootstrap interval)"
        )
        with pd.option_context(
            "display.width", 250, "display.max_colwidth", 120, "display.float_format", "{:.1f}".format
        ):
            print(paired.to_string(index=False))
    if args.csv:
        Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.csv, index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
