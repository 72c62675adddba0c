"""Classical special cases: the engine configured as a textbook model, against its closed form.

Each case is a scenario file under ``scenarios/validation/`` plus two functions:
``expected(scenario)`` gives the closed-form value, ``statistic(model)`` reads the
simulated value off one finished run. ``qunsim validate`` runs ``replicates`` seeds
per case (from one root seed, :func:`sim.rng.replicate_seeds`), and a case passes when
the closed form lies within the Monte Carlo interval widened by the case's declared
approximation error::

    |mean - expected| <= t * sd / sqrt(R) + approx

``t`` is the two-sided 99.9% quantile of Student's t with R - 1 degrees of freedom
(:func:`t_quantile`; 4.44 at R = 12, 3.56 at R = 40, 3.29 only as R grows without
bound), so a correct engine with roughly normal replicate values fails a case about
once in a thousand runs whatever R; ``approx`` bounds the gap between the finite model and the formula
(e.g. a large-N limit) and is derived in each case's docstring, never tuned.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .rng import replicate_seeds

if TYPE_CHECKING:  # pragma: no cover
    from .config import Scenario

__all__ = [
    "CASES",
    "Case",
    "describe_cases",
    "evaluate",
    "registered_cases",
    "run_cases",
    "scenario_dir",
    "t_quantile",
    "validation_case",
]

#: Two-sided confidence level of the validation intervals.
LEVEL = 0.999
Z = 3.29  # the normal quantile at LEVEL: the limit of :func:`t_quantile` for many replicates


def t_quantile(replicates: int, level: float = LEVEL) -> float:
    """Two-sided ``level`` quantile of Student's t with ``replicates - 1`` degrees of freedom."""
    from scipy.stats import t

    if replicates < 2:
        return float("inf")
    return float(t.ppf(0.5 + level / 2.0, replicates - 1))


@dataclass
class Case:
    name: str
    scenario: str  # file name under scenarios/validation/
    expected: Callable[[Scenario], float]
    statistic: Callable[[object], float]  # model -> value of one replicate
    approx: Callable[[Scenario], float]  # bound on the formula's approximation error
    replicates: int = 40
    quick_replicates: int = 12
    description: str = ""


CASES: dict[str, Case] = {}


def validation_case(case: Case) -> Case:
    CASES[case.name] = case
    return case


def scenario_dir() -> Path:
    from .paths import SCENARIO_DIR

    return SCENARIO_DIR / "validation"


@dataclass
class Outcome:
    case: str
    expected: float
    mean: float
    half_width: float
    approx: float
    replicates: int
    passed: bool


def evaluate(
    case: Case, overrides: list[str] | None = None, replicates: int | None = None, seed: int = 20261122, progress=None
) -> Outcome:
    from .config import load_scenario
    from .model import QunModel

    scen = load_scenario(scenario_dir() / case.scenario, overrides)
    reps = replicates or case.replicates
    values = []
    for k, s in enumerate(replicate_seeds(seed, reps)):
        model = QunModel(scen.model_copy(deep=True), seed=s)
        model.run_model()
        values.append(case.statistic(model))
        if progress:
            progress(k + 1, reps)
    arr = np.asarray(values, dtype=float)
    mean = float(arr.mean())
    half = float(t_quantile(reps) * arr.std(ddof=1) / np.sqrt(reps)) if reps > 1 else float("inf")
    expected = float(case.expected(scen))
    approx = float(case.approx(scen))
    return Outcome(case.name, expected, mean, half, approx, reps, abs(mean - expected) <= half + approx)


def registered_cases() -> dict[str, Case]:
    """Every validation case by name (each process's case module registers its cases when imported)."""
    from . import interventions_case  # noqa: F401
    from .processes.diagnosis import care_case, escalation_case, mmc  # noqa: F401
    from .processes.information import cases  # noqa: F401
    from .processes.reporting import case  # noqa: F401
    from .processes.trust import case as trust_case  # noqa: F401

    return CASES


#: What each column of the ``qunsim validate`` table is.
COLUMNS = (
    "expected   the closed form's value of the case's statistic (below each row: what the statistic is)",
    "simulated  the statistic's mean over R replicate runs (seeds spawned from one root seed) and its 99.9% "
    "Monte Carlo interval, mean +/- t sd / sqrt(R), t the 99.9% Student-t quantile with R - 1 degrees of "
    "freedom (4.44 at R = 12, 3.56 at R = 40)",
    "approx     the bound on the closed form's own approximation error (e.g. of a large-N limit), derived "
    "in the case's docstring, never tuned",
    "result     pass when |mean - expected| <= interval half-width + approx",
)


def describe_cases() -> str:
    """One line per case: its name, what its statistic is, and its replicates (for ``validate --help``)."""
    cases = registered_cases()
    width = max(len(name) for name in cases)
    return "\n".join(
        f"  {name:<{width}}  {case.description} (R = {case.replicates}, {case.quick_replicates} with --quick)"
        for name, case in sorted(cases.items())
    )


def run_cases(
    names: list[str] | None = None, overrides: list[str] | None = None, quick: bool = False, out=None
) -> bool:
    """Run the named cases (all by default), print a table and a summary line; True when all pass."""
    out = sys.stdout if out is None else out
    known = registered_cases()

    unknown = [n for n in names or [] if n not in known]
    if unknown:
        from .config import ScenarioError

        raise ScenarioError(f"--case: unknown case(s) {unknown}; known: {sorted(known)}")
    chosen = [known[n] for n in (names or sorted(known))]
    rows = []
    for line in COLUMNS:
        print(line, file=out)
    print(file=out)
    print(f"{'case':<22} {'expected':>10} {'simulated [99.9% CI]':>30} {'approx':>8} {'R':>4}  result", file=out)
    for case in chosen:
        print(f"  running {case.name} ...", file=sys.stderr, flush=True)
        res = evaluate(case, overrides, case.quick_replicates if quick else None)
        rows.append(res)
        ci = f"{res.mean:.4f} [{res.mean - res.half_width:.4f}, {res.mean + res.half_width:.4f}]"
        print(
            f"{res.case:<22} {res.expected:>10.4f} {ci:>30} {res.approx:>8.4f} {res.replicates:>4}  "
            f"{'pass' if res.passed else 'FAIL'}",
            file=out,
            flush=True,
        )
        if case.description:
            print(f"{'':<4}statistic: {case.description}", file=out, flush=True)
    failed = [r.case for r in rows if not r.passed]
    print(
        f"\nvalidate: {len(rows) - len(failed)} of {len(rows)} case(s) passed"
        + (f"; FAILED: {', '.join(failed)}" if failed else "")
        + f" ({'--quick: ' if quick else ''}99.9% Student-t intervals)",
        file=out,
        flush=True,
    )
    return not failed
