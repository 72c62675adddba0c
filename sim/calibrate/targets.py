"""Calibration targets as data: what the field observed, and how a run is compared with it.

A targets file (the shipped one is ``sim/calibration/targets.toml``, linked as
``calibration/targets.toml``) holds one table per target::

    [targets.carmona_median_first_answer]
    statistic = "group_first_answer_median_minutes"   # a name in sim.calibrate.statistics
    args = {}                                          # keyword arguments of the statistic
    observed = 52.0                                    # the field's value ...
    sd = 5.0                                           # ... and its standard uncertainty
    # or, for a pattern: lower = 0.5 and/or upper = 24.0 (no observed/sd)
    scenario = "guangdong_study"                       # where it applies (shipped name or path; or a list)
    set = []                                           # settings for that scenario
    versus = ["diagnosis.groups=false"]                # a two-arm statistic: settings of the comparison arm
    unit = "min"
    source = "Carmona et al. 2018, Obstetric Medicine"
    quote = "..."                                      # the source's sentence
    mapping = "..."                                    # what was assumed to map it onto the model

A value target passes when the simulated mean is within 1.96 combined standard errors of the
observed value (observation sd and Monte Carlo error of the mean together); a bound target
passes when the simulated mean lies within its bounds.

A *two-arm* statistic (``arms = 2`` in :mod:`sim.calibrate.statistics`: a ratio or a probit
shift between two runs) compares the target's scenario with the same scenario under the
``versus`` settings, run with the same seed (a paired replicate); ``versus`` is required for
such a statistic and refused for any other.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..schema import ScenarioError

__all__ = ["TARGETS_FILE", "Judgement", "Target", "judge", "load_targets"]

TARGETS_FILE = Path(__file__).resolve().parent.parent / "calibration" / "targets.toml"
Z95 = 1.959963984540054

_KEYS = {
    "statistic",
    "args",
    "observed",
    "sd",
    "lower",
    "upper",
    "scenario",
    "set",
    "versus",
    "unit",
    "source",
    "quote",
    "mapping",
}


@dataclass(frozen=True)
class Target:
    id: str
    statistic: str
    args: dict[str, Any] = field(default_factory=dict)
    observed: float | None = None
    sd: float | None = None
    lower: float | None = None
    upper: float | None = None
    scenarios: tuple[str, ...] = ()  # every scenario it applies to (--check judges it on each)
    set: tuple[str, ...] = ()
    versus: tuple[str, ...] | None = None  # the comparison arm's settings (two-arm statistics)
    unit: str = ""
    source: str = ""
    quote: str = ""
    mapping: str = ""

    @property
    def scenario(self) -> str | None:
        """The (first) scenario it applies to."""
        return self.scenarios[0] if self.scenarios else None

    @property
    def is_bound(self) -> bool:
        return self.observed is None

    def scale(self) -> float:
        """The size of a unit miss in a distance: sd, else the width of the bounds, else 1."""
        if self.sd is not None:
            return self.sd
        if self.lower is not None and self.upper is not None and self.upper > self.lower:
            return self.upper - self.lower
        return 1.0

    def miss(self, value: float) -> float:
        """Distance of one simulated value from the target, in units of :meth:`scale` (0 inside bounds)."""
        if math.isnan(value):
            return math.inf
        if not self.is_bound:
            assert self.observed is not None
            return abs(value - self.observed) / self.scale()
        below = (self.lower - value) if self.lower is not None and value < self.lower else 0.0
        above = (value - self.upper) if self.upper is not None and value > self.upper else 0.0
        return max(below, above) / self.scale()

    def describe_observed(self) -> str:
        if not self.is_bound:
            return f"{self.observed:g} ± {self.sd:g}"
        if self.lower is not None and self.upper is not None:
            return f"in [{self.lower:g}, {self.upper:g}]"
        return f"≥ {self.lower:g}" if self.lower is not None else f"≤ {self.upper:g}"


def _number(where: str, key: str, value: Any, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ScenarioError(f"{where}.{key}: {value!r} is not a finite number")
    if positive and value <= 0:
        raise ScenarioError(f"{where}.{key}: {value!r} must be above 0")
    return float(value)


def parse_target(tid: str, raw: Any, where: str) -> Target:
    """One target from its TOML table; ScenarioError naming the field on bad input."""
    from .statistics import STATISTICS

    where = f"{where}: targets.{tid}"
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}: expected a table, got {raw!r}")
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise ScenarioError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_KEYS))}")
    stat = raw.get("statistic")
    if stat not in STATISTICS:
        raise ScenarioError(f"{where}.statistic: {stat!r} is not a statistic; known: {', '.join(sorted(STATISTICS))}")
    args = raw.get("args", {})
    if not isinstance(args, dict):
        raise ScenarioError(f"{where}.args: expected a table, got {args!r}")
    has_value = "observed" in raw or "sd" in raw
    has_bound = "lower" in raw or "upper" in raw
    if has_value == has_bound:
        raise ScenarioError(f"{where}: give either observed and sd, or lower and/or upper")
    kw: dict[str, Any] = {}
    if has_value:
        if "observed" not in raw or "sd" not in raw:
            raise ScenarioError(f"{where}: observed and sd go together")
        kw["observed"] = _number(where, "observed", raw["observed"])
        kw["sd"] = _number(where, "sd", raw["sd"], positive=True)
    else:
        for key in ("lower", "upper"):
            if key in raw:
                kw[key] = _number(where, key, raw[key])
        if "lower" in kw and "upper" in kw and kw["lower"] > kw["upper"]:
            raise ScenarioError(f"{where}: lower {kw['lower']:g} is above upper {kw['upper']:g}")
    sets = raw.get("set", [])
    if not isinstance(sets, list) or not all(isinstance(s, str) for s in sets):
        raise ScenarioError(f"{where}.set: expected a list of KEY=VALUE strings, got {sets!r}")
    versus = raw.get("versus")
    if STATISTICS[stat].arms == 2:
        if not isinstance(versus, list) or not versus or not all(isinstance(v, str) for v in versus):
            raise ScenarioError(
                f"{where}.versus: statistic {stat!r} compares two runs; give the comparison arm's settings "
                f"as a non-empty list of KEY=VALUE strings"
            )
        kw["versus"] = tuple(versus)
    elif versus is not None:
        raise ScenarioError(f"{where}.versus: statistic {stat!r} reads one run; versus is for two-arm statistics")
    scen = raw.get("scenario")
    if isinstance(scen, list):
        if not scen or not all(isinstance(x, str) and x for x in scen) or len(set(scen)) < len(scen):
            raise ScenarioError(f"{where}.scenario: expected a scenario or a list of distinct scenarios, got {scen!r}")
        kw["scenarios"] = tuple(scen)
    elif isinstance(scen, str):
        kw["scenarios"] = (scen,)
    elif scen is not None:
        raise ScenarioError(f"{where}.scenario: expected a scenario or a list of scenarios, got {scen!r}")
    text = {}
    for key in ("unit", "source", "quote", "mapping"):
        if key in raw:
            if not isinstance(raw[key], str):
                raise ScenarioError(f"{where}.{key}: expected text, got {raw[key]!r}")
            text[key] = raw[key]
    return Target(id=tid, statistic=stat, args=dict(args), set=tuple(sets), **kw, **text)


def load_targets(path: str | Path | None = None) -> dict[str, Target]:
    """The targets of a file (default: the shipped targets), by id, in file order."""
    path = Path(path) if path is not None else TARGETS_FILE
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the targets file ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML ({exc})") from None
    table = raw.get("targets")
    if not isinstance(table, dict) or not table:
        raise ScenarioError(f"{path}: expected [targets.<id>] tables")
    return {tid: parse_target(tid, t, str(path)) for tid, t in table.items()}


@dataclass(frozen=True)
class Judgement:
    target: Target
    n: int  # replicates with a finite value
    mean: float
    low: float  # 95% interval of the simulated mean
    high: float
    passed: bool
    scenario: str | None = None  # where it was judged (default: the target's first scenario)
    values: tuple[float, ...] = ()  # the statistic in each replicate (NaN where undefined)


def judge(target: Target, values: list[float], scenario: str | None = None) -> Judgement:
    """Compare simulated values (one per replicate) with a target (judged on ``scenario``)."""
    from scipy.stats import t as student_t

    finite = [v for v in values if math.isfinite(v)]
    n = len(finite)
    if n == 0:
        # every replicate undefined (NaN) or unbounded (inf): report the common value if there is one
        mean = values[0] if values and all(v == values[0] for v in values) else math.nan
        return Judgement(target, 0, mean, math.nan, math.nan, False, scenario or target.scenario, tuple(values))
    mean = sum(finite) / n  # with some replicates undefined: the mean of the others (n says how many)
    if n > 1:
        var = sum((v - mean) ** 2 for v in finite) / (n - 1)
        se = math.sqrt(var / n)
        half = float(student_t.ppf(0.975, n - 1)) * se
    else:
        se, half = math.nan, math.nan
    if target.is_bound:
        passed = (target.lower is None or mean >= target.lower) and (target.upper is None or mean <= target.upper)
    else:
        assert target.observed is not None and target.sd is not None
        combined = math.sqrt(target.sd**2 + (se if math.isfinite(se) else 0.0) ** 2)
        passed = abs(mean - target.observed) <= Z95 * combined
    passed = passed and n == len(values)
    return Judgement(target, n, mean, mean - half, mean + half, passed, scenario or target.scenario, tuple(values))
