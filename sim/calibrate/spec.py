"""A calibration file: the scenario, the parameters with their priors, the targets, ABC settings.

::

    scenario = "guangdong_study"        # shipped name, or a path relative to this file
    set = ["run.duration_days=30"]      # settings applied before the parameters
    seed = 1
    targets = ["carmona_median_first_answer", "carmona_p_within_hour"]   # ids in targets_file
    # targets_file = "my_targets.toml"  # default: the shipped targets
    # or inline: [targets.<id>] tables, as in a targets file
    replicates = 4                      # runs of the calibrated scenario in the report

    [abc]
    population_size = 40                # particles per generation
    generations = 4                     # ABC-SMC generations (at most)
    min_epsilon = 0.0                   # stop earlier once the tolerance is below this
    max_simulations = 2000              # stop earlier after this many simulations
    point = "median"                    # calibrated.toml at the posterior medians, or "closest":
                                        # the last generation's particle nearest the targets (when
                                        # the targets leave a ridge, the medians may lie off it)

    [parameters.group_answer_prob]
    setting = "diagnosis.group_answer_prob"
    range = [0.05, 0.6]                 # uniform prior; or loguniform = [lo, hi]; or normal = [mean, sd]
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..schema import ScenarioError
from .targets import Target, load_targets, parse_target

__all__ = ["CalibrationSpec", "Parameter", "load_calibration"]

_PRIORS = ("range", "loguniform", "normal")


@dataclass(frozen=True)
class Parameter:
    name: str
    setting: str
    prior: str  # "range" (uniform), "loguniform", "normal"
    args: tuple[float, float]

    def rv(self):
        from pyabc import RV

        a, b = self.args
        if self.prior == "range":
            return RV("uniform", a, b - a)
        if self.prior == "loguniform":
            return RV("loguniform", a, b)
        return RV("norm", a, b)

    def prior_sd(self) -> float:
        a, b = self.args
        if self.prior == "range":
            return (b - a) / math.sqrt(12)
        if self.prior == "loguniform":
            from scipy.stats import loguniform

            return float(loguniform(a, b).std())
        return b

    def bounds(self) -> tuple[float, float]:
        a, b = self.args
        return (a - 3 * b, a + 3 * b) if self.prior == "normal" else (a, b)


@dataclass
class CalibrationSpec:
    path: Path
    scenario_path: Path
    set: list[str]
    seed: int
    parameters: list[Parameter]
    targets: dict[str, Target]
    population_size: int = 40
    generations: int = 4
    min_epsilon: float = 0.0
    max_simulations: int = 2000
    point: str = "median"  # the calibrated point: posterior medians, or the closest particle
    replicates: int = 4
    _fp: str = field(default="", repr=False)

    def scenario_for(self, values: dict[str, float], versus: tuple[str, ...] = ()):
        """The scenario at these parameter values (with a comparison arm's settings on top)."""
        from ..config import load_scenario

        sets = list(self.set) + [f"{p.setting}={float(values[p.name])!r}" for p in self.parameters]
        return load_scenario(self.scenario_path, sets + list(versus))

    def arms(self) -> list[tuple[str, ...]]:
        """The runs each particle needs: the targets' arm (no extra settings), then each distinct
        comparison arm of the two-arm targets (their ``versus`` settings), run with the same seed."""
        out: list[tuple[str, ...]] = [()]
        for t in self.targets.values():
            if t.versus is not None and t.versus not in out:
                out.append(t.versus)
        return out

    def needs_timeseries(self) -> bool:
        from .statistics import STATISTICS

        return any(STATISTICS[t.statistic].needs == "timeseries" for t in self.targets.values())

    def statistics(self, run, versus: dict[tuple[str, ...], Any] | None = None) -> dict[str, float]:
        """Each target's statistic of a particle's run (and its comparison arms' runs, by settings)."""
        from .statistics import compute

        versus = versus or {}
        return {
            tid: compute(t.statistic, run, t.args, None if t.versus is None else versus[t.versus])
            for tid, t in self.targets.items()
        }

    def fingerprint(self) -> str:
        """What the simulations depend on: the resolved base scenario, the settings varied and the statistics."""
        if not self._fp:
            from ..config import load_scenario, scenario_to_toml

            base = scenario_to_toml(load_scenario(self.scenario_path, self.set))
            parts = [
                base,
                [p.setting for p in self.parameters],
                {k: [t.statistic, t.args, list(t.versus or ())] for k, t in self.targets.items()},
            ]
            self._fp = hashlib.blake2b(json.dumps(parts, sort_keys=True).encode(), digest_size=16).hexdigest()
        return self._fp


def _int(where: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ScenarioError(f"{where}: {value!r} must be an integer of at least {low}")
    return value


def load_calibration(path: str | Path) -> CalibrationSpec:
    """Read and check a calibration file; ScenarioError naming the field on bad input."""
    from ..experiments.config import _scenario_path

    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the calibration file ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML ({exc})") from None
    allowed = {"scenario", "set", "seed", "targets", "targets_file", "replicates", "abc", "parameters"}
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ScenarioError(f"{path}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
    if not isinstance(raw.get("scenario"), str):
        raise ScenarioError(f"{path}: scenario: give a shipped scenario name or a path")
    scenario = _scenario_path(path, raw["scenario"])
    sets = raw.get("set", [])
    if not isinstance(sets, list) or not all(isinstance(s, str) for s in sets):
        raise ScenarioError(f"{path}: set: expected a list of KEY=VALUE strings")
    seed = _int(f"{path}: seed", raw.get("seed", 0), 0)
    # targets: ids in a targets file, or inline tables
    traw = raw.get("targets")
    if isinstance(traw, dict) and traw:
        targets = {tid: parse_target(tid, t, str(path)) for tid, t in traw.items()}
    elif isinstance(traw, list) and traw and all(isinstance(t, str) for t in traw):
        tfile = (path.parent / raw["targets_file"]).resolve() if "targets_file" in raw else None
        known = load_targets(tfile)
        missing = [t for t in traw if t not in known]
        if missing:
            raise ScenarioError(f"{path}: targets: unknown {', '.join(missing)}; known: {', '.join(known)}")
        targets = {t: known[t] for t in traw}
    else:
        raise ScenarioError(f"{path}: targets: a list of target ids or [targets.<id>] tables")
    params = []
    praw = raw.get("parameters")
    if not isinstance(praw, dict) or not praw:
        raise ScenarioError(f"{path}: expected [parameters.<name>] tables")
    for name, p in praw.items():
        where = f"{path}: parameters.{name}"
        if not isinstance(p, dict) or not isinstance(p.get("setting"), str):
            raise ScenarioError(f"{where}: setting: the dotted setting it sets")
        kinds = [k for k in _PRIORS if k in p]
        if len(kinds) != 1 or set(p) - {"setting", *_PRIORS}:
            raise ScenarioError(f"{where}: give setting and exactly one of {', '.join(_PRIORS)}")
        a = p[kinds[0]]
        if not (
            isinstance(a, list)
            and len(a) == 2
            and all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in a)
        ):
            raise ScenarioError(f"{where}.{kinds[0]}: two finite numbers")
        lo, hi = float(a[0]), float(a[1])
        if (
            (kinds[0] != "normal" and not lo < hi)
            or (kinds[0] == "normal" and hi <= 0)
            or (kinds[0] == "loguniform" and lo <= 0)
        ):
            raise ScenarioError(f"{where}.{kinds[0]}: {a!r} is not a valid prior")
        params.append(Parameter(name, p["setting"], kinds[0], (lo, hi)))
    abc = raw.get("abc", {})
    if not isinstance(abc, dict) or set(abc) - {
        "population_size",
        "generations",
        "min_epsilon",
        "max_simulations",
        "point",
    }:
        raise ScenarioError(f"{path}: abc: population_size, generations, min_epsilon, max_simulations, point")
    if abc.get("point", "median") not in ("median", "closest"):
        raise ScenarioError(f"{path}: abc.point: {abc['point']!r}; 'median' or 'closest'")
    spec = CalibrationSpec(
        path=path,
        scenario_path=scenario,
        set=list(sets),
        seed=seed,
        parameters=params,
        targets=targets,
        population_size=_int(f"{path}: abc.population_size", abc.get("population_size", 40), 4),
        generations=_int(f"{path}: abc.generations", abc.get("generations", 4), 1),
        min_epsilon=float(abc.get("min_epsilon", 0.0)),
        max_simulations=_int(f"{path}: abc.max_simulations", abc.get("max_simulations", 2000), 1),
        point=str(abc.get("point", "median")),
        replicates=_int(f"{path}: replicates", raw.get("replicates", 4), 2),
    )
    # every parameter must load at its prior's bounds (a wrong setting name fails here, before any run)
    for p in params:
        lo, hi = p.bounds()
        for v in (lo, hi) if p.prior != "normal" else (p.args[0],):
            spec.scenario_for(
                {q.name: (v if q is p else q.bounds()[0] if q.prior != "normal" else q.args[0]) for q in params}
            )
    return spec
