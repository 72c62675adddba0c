"""Statistics of an experiment: paired differences, proportions, and outcomes that take off or fizzle.

- :func:`compare_arms`: per arm and metric, the mean and the mean paired difference from the
  baseline (the first arm) with a bootstrap 95% interval (``scipy.stats.bootstrap``, BCa,
  a generator seeded from the experiment seed and the metric and arm names: the same table
  every time).
- :func:`wilson_interval`: the Wilson score interval of a proportion (``scipy.stats.binomtest``).
- :func:`takeoff_table`: for a bimodal outcome (a rumor takes off or fizzles), per arm the
  take-off probability with its Wilson interval, the paired difference of take-off from the
  baseline (bootstrap interval; discordant pairs and the exact McNemar test), and
  :func:`conditional_outcomes`, each metric among the runs that took off. A mean paired
  difference of such an outcome mixes the two regimes; :func:`regime_note` says which
  summary applies.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from ..rng import stable_hash

__all__ = [
    "bootstrap_mean_ci",
    "compare_arms",
    "conditional_outcomes",
    "regime_note",
    "takeoff_table",
    "wilson_interval",
]

KEYS = ("arm", "replicate", "seed", "key")


def _rng(seed: int, *names: str) -> np.random.Generator:
    return np.random.default_rng([seed % 2**64, *(stable_hash(n) for n in names)])


def bootstrap_mean_ci(values, seed: int, *names: str, level: float = 0.95) -> tuple[float, float]:
    """Bootstrap interval of the mean (BCa; percentile when BCa is degenerate); NaN for n < 2."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if x.size < 2:
        return float("nan"), float("nan")
    if np.all(x == x[0]):
        return float(x[0]), float(x[0])
    for method in ("BCa", "percentile"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ci = stats.bootstrap(
                (x,),
                np.mean,
                confidence_level=level,
                n_resamples=4999,
                method=method,
                rng=_rng(seed, *names),
            ).confidence_interval
        if np.isfinite(ci.low) and np.isfinite(ci.high):
            return float(ci.low), float(ci.high)
    return float("nan"), float("nan")  # pragma: no cover


def _arms(runs: pd.DataFrame, arms: list[str] | None) -> list[str]:
    return list(arms) if arms is not None else list(dict.fromkeys(runs["arm"]))


def compare_arms(
    runs: pd.DataFrame,
    metrics: list[str] | None = None,
    baseline: str | None = None,
    seed: int = 0,
    arms: list[str] | None = None,
) -> pd.DataFrame:
    """Mean per arm and the paired difference from the baseline with a bootstrap 95% interval.

    ``arms`` gives the order (default: the order of first appearance in ``runs``); the
    baseline is ``baseline`` or the first arm. Rows are in metric order, then arm order.
    """
    order = _arms(runs, arms)
    baseline = baseline or order[0]
    if metrics is None:
        metrics = [c for c in runs.columns if c not in KEYS]
    for metric in metrics:
        if metric not in runs.columns:
            raise KeyError(f"metric {metric!r} is not among the run metrics")
    wide = {arm: runs[runs["arm"] == arm].set_index("replicate") for arm in order}
    rows = []
    for metric in metrics:
        base = wide[baseline][metric]
        for arm in order:
            vals = wide[arm][metric]
            diff = (vals - base).dropna()
            row = {
                "metric": metric,
                "arm": arm,
                "baseline": baseline,
                "n": int(vals.notna().sum()),
                "mean": float(vals.mean()),
                "sd": float(vals.std(ddof=1)) if vals.notna().sum() > 1 else float("nan"),
                "n_pairs": int(diff.size),
                "diff_mean": float(diff.mean()) if diff.size else float("nan"),
                "diff_low": float("nan"),
                "diff_high": float("nan"),
            }
            if arm != baseline:
                row["diff_low"], row["diff_high"] = bootstrap_mean_ci(diff.to_numpy(), seed, metric, arm)
            rows.append(row)
    return pd.DataFrame(rows)


def wilson_interval(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of the proportion k / n (NaN when n = 0)."""
    if n == 0:
        return float("nan"), float("nan")
    ci = stats.binomtest(int(k), int(n)).proportion_ci(confidence_level=level, method="wilson")
    return float(ci.low), float(ci.high)


def took_off(runs: pd.DataFrame, metric: str, threshold: float) -> pd.Series:
    """1.0 where the run took off (metric >= threshold), 0.0 where it fizzled, NaN where unknown."""
    v = runs[metric].astype(float)
    return (v >= threshold).astype(float).where(v.notna())


def takeoff_table(
    runs: pd.DataFrame,
    metric: str,
    threshold: float,
    seed: int = 0,
    arms: list[str] | None = None,
    baseline: str | None = None,
) -> pd.DataFrame:
    """Per arm: take-off probability (Wilson 95%) and the paired difference of take-off from the baseline."""
    order = _arms(runs, arms)
    baseline = baseline or order[0]
    flag = runs.assign(_took=took_off(runs, metric, threshold))
    wide = {arm: flag[flag["arm"] == arm].set_index("replicate")["_took"] for arm in order}
    base = wide[baseline]
    rows = []
    for arm in order:
        t = wide[arm].dropna()
        k, n = int(t.sum()), int(t.size)
        low, high = wilson_interval(k, n)
        pair = pd.concat([base.rename("b"), wide[arm].rename("a")], axis=1).dropna()
        d = (pair["a"] - pair["b"]).to_numpy()
        up, down = int((d > 0).sum()), int((d < 0).sum())
        row = {
            "arm": arm,
            "baseline": baseline,
            "metric": metric,
            "threshold": threshold,
            "n": n,
            "n_takeoff": k,
            "p_takeoff": k / n if n else float("nan"),
            "p_low": low,
            "p_high": high,
            "n_pairs": int(d.size),
            "diff_p": float(d.mean()) if d.size else float("nan"),
            "diff_low": float("nan"),
            "diff_high": float("nan"),
            "fizzle_to_takeoff": up,
            "takeoff_to_fizzle": down,
            "mcnemar_p": float("nan"),
        }
        if arm != baseline:
            row["diff_low"], row["diff_high"] = bootstrap_mean_ci(d, seed, "takeoff", arm)
            if up + down:
                row["mcnemar_p"] = float(stats.binomtest(up, up + down, 0.5).pvalue)
            else:
                row["mcnemar_p"] = 1.0
        rows.append(row)
    return pd.DataFrame(rows)


def conditional_outcomes(
    runs: pd.DataFrame,
    metrics: list[str],
    metric: str,
    threshold: float,
    seed: int = 0,
    arms: list[str] | None = None,
) -> pd.DataFrame:
    """Each metric's mean among the runs that took off, per arm, with a bootstrap 95% interval."""
    order = _arms(runs, arms)
    took = took_off(runs, metric, threshold) == 1.0
    rows = []
    for m in metrics:
        for arm in order:
            vals = runs.loc[took & (runs["arm"] == arm), m].dropna().to_numpy(float)
            low, high = bootstrap_mean_ci(vals, seed, "conditional", m, arm)
            rows.append(
                {
                    "metric": m,
                    "arm": arm,
                    "n_takeoff": int(vals.size),
                    "mean_if_takeoff": float(vals.mean()) if vals.size else float("nan"),
                    "low": low,
                    "high": high,
                }
            )
    return pd.DataFrame(rows)


def regime_note(runs: pd.DataFrame, metric: str, threshold: float) -> tuple[bool, str]:
    """(bimodal, sentence): whether the runs split into take-offs and fizzles, and which summary applies."""
    t = took_off(runs, metric, threshold).dropna()
    k, n = int(t.sum()), int(t.size)
    if 0 < k < n:
        return True, (
            f"bimodal outcome: {k} of {n} runs took off ({metric} >= {threshold:g}) and {n - k} fizzled; "
            "a mean paired difference mixes the two regimes: read the take-off table (take-off probability "
            "per arm, paired difference of take-off, outcomes among take-offs)"
        )
    regime = "took off" if k == n else "fizzled"
    return False, (
        f"one regime: all {n} runs {regime} ({metric} {'>=' if k == n else '<'} {threshold:g}); "
        "the mean paired differences apply"
    )
