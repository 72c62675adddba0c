"""Golden baseline: every table and metric of the shipped scenarios at fixed seeds.

Record before a refactor, compare after::

    python -m tests.golden record /tmp/golden-before
    ... change the code ...
    python -m tests.golden compare /tmp/golden-before

``compare`` re-runs the same scenarios and seeds and reports every difference: metrics
(by name), tables (cell by cell) and the time series. Time series are compared in a
canonical form, ``metric/item/tier/role/route`` (missing dimensions left out), so a
change of layout alone (dimensions packed into names or held in columns) is not a
difference. It exits 1 when anything differs. Use ``--only NAME`` for one scenario.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ("classroom", "guangdong_study", "province")
SEEDS = (1, 2)
DIMS = ("item", "tier", "role", "route")


def _runs(only: list[str] | None):
    for name in SCENARIOS:
        if only and name not in only:
            continue
        for seed in SEEDS:
            yield name, seed


def _run(name: str, seed: int):
    import sim

    return sim.run(sim.load_scenario(ROOT / "scenarios" / f"{name}.toml"), seed=seed)


def canonical_series(ts: pd.DataFrame) -> pd.DataFrame:
    """``t, key, value`` with the dimensions folded into the key, sorted."""
    key = ts["metric"].astype(str)
    for dim in DIMS:
        if dim in ts.columns:
            part = ts[dim]
            key = key.where(part.isna(), key + "/" + part.astype(str))
    out = pd.DataFrame({"t": ts["t"].to_numpy(float), "key": key.to_numpy(), "value": ts["value"].to_numpy(float)})
    return out.sort_values(["key", "t"], kind="stable").reset_index(drop=True)


def record(folder: Path, only: list[str] | None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, seed in _runs(only):
        res = _run(name, seed)
        out = folder / f"{name}-{seed}"
        res.save(out, overwrite=True)
        canonical_series(res.timeseries).to_parquet(out / "_canonical_series.parquet", index=False)
        print(f"recorded {name} seed {seed}: {len(res.metrics)} metrics, {len(res.tables)} tables", flush=True)


def _same(a, b) -> bool:
    na_a, na_b = (
        a is None or a is pd.NA or (isinstance(a, float) and math.isnan(a)),
        b is None or b is pd.NA or (isinstance(b, float) and math.isnan(b)),
    )
    if na_a or na_b:
        return na_a and na_b
    return bool(a == b)


def _diff_frames(name: str, a: pd.DataFrame, b: pd.DataFrame) -> list[str]:
    if list(a.columns) != list(b.columns):
        return [f"{name}: columns {list(a.columns)} -> {list(b.columns)}"]
    if len(a) != len(b):
        return [f"{name}: {len(a)} rows -> {len(b)} rows"]
    out = []
    for col in a.columns:
        x, y = a[col], b[col]
        if str(x.dtype) != str(y.dtype):
            out.append(f"{name}.{col}: dtype {x.dtype} -> {y.dtype}")
        xs, ys = x.astype(object).to_numpy(), y.astype(object).to_numpy()
        bad = [i for i in range(len(xs)) if not _same(xs[i], ys[i])]
        if bad:
            i = bad[0]
            out.append(f"{name}.{col}: {len(bad)} cells differ (row {i}: {xs[i]!r} -> {ys[i]!r})")
    return out


def compare(folder: Path, only: list[str] | None) -> int:
    import sim

    n_diff = 0
    for name, seed in _runs(only):
        base = folder / f"{name}-{seed}"
        old = sim.Results.load(base)
        new = _run(name, seed)
        diffs = []
        for key in sorted(set(old.metrics) | set(new.metrics)):
            a, b = old.metrics.get(key, "<absent>"), new.metrics.get(key, "<absent>")
            b = json.loads(json.dumps(b, default=float)) if not isinstance(b, str) else b
            if isinstance(b, float) and not np.isfinite(b):
                b = None
            if not _same(a, b):
                diffs.append(f"metric {key}: {a!r} -> {b!r}")
        old_series = pd.read_parquet(base / "_canonical_series.parquet")
        diffs += _diff_frames("timeseries", old_series, canonical_series(new.timeseries))
        old_tables = {k: v for k, v in old.tables.items() if not k.startswith("_")}
        for key in sorted(set(old_tables) | set(new.tables)):
            if key not in old_tables or key not in new.tables:
                diffs.append(f"table {key}: only in {'new' if key in new.tables else 'old'}")
                continue
            diffs += _diff_frames(key, old_tables[key].reset_index(drop=True), new.tables[key].reset_index(drop=True))
        status = "identical" if not diffs else f"{len(diffs)} difference(s)"
        print(f"{name} seed {seed}: {status}", flush=True)
        for d in diffs[:40]:
            print("   ", d)
        n_diff += len(diffs)
    return 1 if n_diff else 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.golden", description=__doc__.splitlines()[0])
    p.add_argument("action", choices=["record", "compare"])
    p.add_argument("folder", type=Path)
    p.add_argument("--only", action="append", choices=SCENARIOS, help="only this scenario (repeatable)")
    args = p.parse_args(argv)
    if args.action == "record":
        record(args.folder, args.only)
        return 0
    return compare(args.folder, args.only)


if __name__ == "__main__":
    sys.exit(main())
