"""Rank the screened assumptions from a finished Morris sweep and record the ranking.

    qunsim sweep experiments/assumption_ranking.toml --jobs 2 --out results/assumption-ranking
    python -m analysis.assumption_ranking results/assumption-ranking

writes ``sim/calibration/assumption_ranking.json``, which ``qunsim params`` turns into the
"Assumptions, ranked" section of docs/parameters.md (regenerate it with
``qunsim params > docs/parameters.md``).

Score of a setting: the mean over the sweep's outputs of its mu* divided by the largest mu*
of that output (1: the most influential setting of every output). mu* is on the unit scale of
each parameter's range, so the score compares moving each setting across its range.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from pathlib import Path

import pandas as pd

from sim.experiments.sweep import read_sweep
from sim.provenance import RANKING_FILE

__all__ = ["main", "ranking"]


def ranking(indices: pd.DataFrame, settings: dict[str, str | None]) -> tuple[list[str], list[dict]]:
    """(outputs, rows by score): ``settings`` maps each parameter name to its setting (None: dummy)."""
    mu = indices[indices["index"] == "mu_star"].pivot_table(index="parameter", columns="output", values="value")
    if mu.empty:
        raise ValueError("the sweep has no mu* (it must use a Morris design)")
    outputs = [str(o) for o in mu.columns]
    top = mu.max(axis=0).replace(0.0, float("nan"))
    share = (mu / top).fillna(0.0)
    score = share.mean(axis=1).sort_values(ascending=False)
    rows = [
        {
            "parameter": str(p),
            "setting": settings.get(str(p)),
            "score": float(score[p]),
            "per_output": {o: float(share.loc[p, o]) for o in outputs},
        }
        for p in score.index
    ]
    return outputs, rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m analysis.assumption_ranking", description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path, help="a finished sweep of experiments/assumption_ranking.toml")
    ap.add_argument("--out", type=Path, default=RANKING_FILE)
    args = ap.parse_args(argv)
    runs, indices = read_sweep(args.folder)
    sweep = tomllib.loads((args.folder / "sweep.toml").read_text())
    settings = {name: (None if p.get("dummy") else p["setting"]) for name, p in sweep["parameters"].items()}
    outputs, rows = ranking(indices, settings)
    # the dummy moves nothing; under common random numbers its mu* is 0 by construction
    rows = [r for r in rows if r["setting"] is not None]
    manifest = json.loads((args.folder / "manifest.json").read_text())
    record = {
        "scenario": Path(str(sweep["scenario"])).stem,
        "runs": len(runs),
        "commit": (manifest.get("git_commit") or "unknown")[:7],
        "command": "qunsim sweep experiments/assumption_ranking.toml",
        "outputs": outputs,
        "rows": rows,
    }
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {args.out}: {len(rows)} settings ranked over {len(outputs)} outputs", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
