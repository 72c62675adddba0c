"""Experiment and sweep files: their schemas, loading, and every check made before a run starts.

An experiment file (TOML) compares intervention arms over paired replicates::

    scenario = "../scenarios/guangdong_study.toml"   # relative to this file (or a shipped name)
    seed = 2026                                     # root seed; replicate k of every arm shares its seed
    replicates = 12
    set = ["run.duration_days=30"]                  # applied to every arm
    metrics = ["info_rumor_believer_days"]          # compared (default: every numeric metric)

    [takeoff]                                       # optional: outcomes that take off or fizzle
    metric = "info_rumor_p_ever_believed"
    threshold = 0.15                                # took off when metric >= threshold

    [arms.baseline]                                 # the first arm in the file is the baseline
    [arms.moderation]
    set = ["information.moderation.enabled=true"]

A sweep file varies dotted settings over a design (see :mod:`sim.experiments.sweep`)::

    scenario = "../scenarios/classroom.toml"
    seed = 7
    replicates = 2                                  # per point; replicate k of every point shares its seed
    set = ["diagnosis.enabled=false"]
    outputs = ["info_rumor_believer_days"]

    [design]
    method = "sobol"                                # sobol | morris | latin | factorial
    n = 64

    [parameters.credibility]
    setting = "information.items.1.credibility"
    range = [0.2, 0.8]
    [parameters.dummy]                              # sampled, passed to nothing: the usual control
    dummy = true

Every problem is a :class:`~sim.schema.ScenarioError` naming the file, the field, the value
and what is allowed (``qunsim`` turns it into exit code 2), raised before any run starts.
"""

from __future__ import annotations

import difflib
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, model_validator

from ..schema import ScenarioError, Section

__all__ = [
    "MAX_SEED",
    "ArmConfig",
    "DesignConfig",
    "ExperimentConfig",
    "ParameterConfig",
    "SweepConfig",
    "TakeoffConfig",
    "check_metrics",
    "load_experiment",
    "load_sweep",
]

MAX_SEED = 2**64 - 1  # seeds are stored as unsigned 64-bit integers


# ------------------------------------------------------------------ experiment
class ArmConfig(Section):
    set: list[str] = Field(default_factory=list, description="Overrides of this arm (dotted.key=value).")


class TakeoffConfig(Section):
    """An outcome that takes off or fizzles: runs split by ``metric >= threshold``."""

    metric: str = Field(description="The metric that tells a take-off from a fizzle (e.g. a share ever reached).")
    threshold: float = Field(description="A run took off when the metric is at least this.")


class ExperimentConfig(Section):
    scenario: str = Field(description="Scenario file, relative to the experiment file, or a shipped scenario name.")
    seed: int = Field(2026, ge=0, le=MAX_SEED, description="Root seed of the replicate seeds.")
    replicates: int = Field(10, ge=2, le=100_000, description="Paired replicates per arm.")
    set: list[str] = Field(default_factory=list, description="Overrides applied to every arm.")
    metrics: list[str] | None = Field(None, description="Metrics to compare (default: every numeric metric).")
    takeoff: TakeoffConfig | None = Field(None, description="Take-off analysis of a bimodal outcome.")
    timeseries: bool = Field(True, description="Keep every run's time series (timeseries.parquet).")
    arms: dict[str, ArmConfig] = Field(description="The arms, in file order; the first is the baseline.")

    @model_validator(mode="after")
    def _two_arms(self):
        if len(self.arms) < 2:
            raise ValueError(
                f"an experiment needs at least two arms (the first is the baseline), got {list(self.arms)}"
            )
        return self

    @property
    def baseline(self) -> str:
        return next(iter(self.arms))


# ----------------------------------------------------------------------- sweep
Distribution = Literal["uniform", "normal", "lognormal", "triangular", "truncnormal"]


class ParameterConfig(Section):
    """One input of a sweep: a dotted setting and how its values are drawn."""

    setting: str | None = Field(None, description="The dotted setting it sets (e.g. population.literacy_mean).")
    dummy: bool = Field(False, description="Sampled but passed to nothing: a control whose index must be ~0.")
    distribution: Distribution = Field("uniform", description="How values are drawn from the unit design.")
    range: tuple[float, float] | None = Field(
        None, description="Bounds [low, high]: of a uniform, triangular or truncated normal distribution."
    )
    mean: float | None = Field(None, description="Mean of a (truncated) normal.")
    sd: float | None = Field(None, gt=0, description="Standard deviation of a (truncated) normal.")
    median: float | None = Field(None, gt=0, description="Median of a log-normal.")
    sigma: float | None = Field(None, gt=0, description="Log-scale spread of a log-normal.")
    mode: float | None = Field(None, description="Peak of a triangular distribution (within the range).")
    integer: bool = Field(False, description="Draw integers (uniform over range[0]..range[1] inclusive).")
    values: list[float] | None = Field(None, description="Explicit levels for a factorial design.")

    @model_validator(mode="before")
    @classmethod
    def _dummy_default(cls, raw):
        if isinstance(raw, dict) and raw.get("dummy") and raw.get("distribution", "uniform") == "uniform":
            raw = {"range": [0.0, 1.0], **raw}
        return raw

    @model_validator(mode="after")
    def _consistent(self):
        if self.dummy and self.setting:
            raise ValueError(f"a dummy parameter sets nothing; drop setting = {self.setting!r} or dummy = true")
        if not self.dummy and not self.setting:
            raise ValueError("give the dotted setting it varies (setting = ...), or dummy = true for a control")
        need = {
            "uniform": ("range",),
            "triangular": ("range", "mode"),
            "truncnormal": ("range", "mean", "sd"),
            "normal": ("mean", "sd"),
            "lognormal": ("median", "sigma"),
        }[self.distribution]
        missing = [k for k in need if getattr(self, k) is None]
        if missing and self.values is None:
            raise ValueError(f"distribution {self.distribution!r} needs {', '.join(missing)}")
        if self.range is not None and not self.range[0] < self.range[1]:
            raise ValueError(f"range must be [low, high] with low < high, got {list(self.range)}")
        if self.mode is not None and self.range is not None and not self.range[0] <= self.mode <= self.range[1]:
            raise ValueError(f"mode {self.mode} lies outside range {list(self.range)}")
        if self.integer and (self.distribution != "uniform" or self.range is None):
            raise ValueError("integer = true needs a uniform distribution with a range")
        if self.values is not None and len(self.values) < 2:
            raise ValueError(f"values needs at least two levels, got {self.values}")
        return self


class DesignConfig(Section):
    method: Literal["sobol", "morris", "latin", "factorial"] = Field(
        description="sobol (Saltelli; S1, ST), morris (mu*, sigma), latin (LHS; delta, S1), factorial (main effects)."
    )
    n: int = Field(
        ge=2,
        le=1_000_000,
        description="sobol: base samples N (a power of 2; N(D+2) points, N(2D+2) with second order); "
        "morris: trajectories (N(D+1) points); latin: points; factorial: levels per parameter.",
    )
    levels: int = Field(4, ge=2, le=100, description="Morris: grid levels (even).")
    second_order: bool = Field(False, description="Sobol: also second-order indices (S2).")
    seed: int | None = Field(None, ge=0, le=MAX_SEED, description="Seed of the design (default: the sweep's).")

    @model_validator(mode="after")
    def _check(self):
        if self.method == "sobol" and self.n & (self.n - 1):
            raise ValueError(f"n: a Sobol (Saltelli) design needs a power of 2, got {self.n}")
        if self.method == "morris" and self.levels % 2:
            raise ValueError(f"levels: a Morris design needs an even number of levels, got {self.levels}")
        return self


class SweepConfig(Section):
    scenario: str = Field(description="Scenario file, relative to the sweep file, or a shipped scenario name.")
    seed: int = Field(2026, ge=0, le=MAX_SEED, description="Root seed of the replicate seeds (and the design).")
    replicates: int = Field(
        1, ge=1, le=10_000, description="Runs per point; replicate k of every point shares its seed."
    )
    set: list[str] = Field(default_factory=list, description="Overrides applied to every point.")
    outputs: list[str] = Field(min_length=1, description="Metrics whose sensitivity is analysed.")
    design: DesignConfig
    parameters: dict[str, ParameterConfig] = Field(min_length=1, description="The inputs, by column name.")
    timeseries: bool = Field(False, description="Also keep every run's time series (timeseries.parquet).")

    @model_validator(mode="after")
    def _check(self):
        reserved = {"point", "replicate", "seed", "key", "status"}
        clash = sorted(reserved & set(self.parameters))
        if clash:
            raise ValueError(f"parameter names {clash} are reserved column names; rename them")
        if self.design.method == "factorial":
            points = 1
            for p in self.parameters.values():
                points *= len(p.values) if p.values is not None else self.design.n
            if points > 1_000_000:
                raise ValueError(f"a full factorial of {points:,} points is too large; use fewer levels")
        return self


# -------------------------------------------------------------------- loading
def _read(path: Path, what: str) -> dict:
    if path.is_dir():
        raise ScenarioError(f"{path}: is a folder, not an {what} file (give the .toml file)")
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such {what} file") from None
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the {what} file ({exc.strerror})") from None
    try:
        return tomllib.loads(text.decode("utf-8"))
    except UnicodeDecodeError:
        raise ScenarioError(f"{path}: not a text file (an {what} file is UTF-8 TOML)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from None


def _format(exc: ValidationError, path: Path, what: str) -> str:
    lines = [f"{path}: {exc.error_count()} problem(s) in the {what} file:"]
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            lines.append(f"  {loc}: unknown field (value {err.get('input')!r})")
        elif err["type"] == "missing":
            lines.append(f"  {loc}: missing (required)")
        elif isinstance(err.get("input"), dict):  # a check of a whole table: the message names the field
            lines.append(f"  {loc}: {msg}")
        else:
            lines.append(f"  {loc}: {msg} (got {err.get('input')!r})")
    return "\n".join(lines)


def _scenario_path(path: Path, name: str) -> Path:
    scenario = (path.parent / name).resolve()
    if scenario.is_file():
        return scenario
    from ..paths import shipped_scenario

    shipped = shipped_scenario(name)
    if shipped is not None:
        return shipped
    raise ScenarioError(f"{path}: scenario: {name!r} is neither a file (looked for {scenario}) nor a shipped scenario")


def load_experiment(path: str | Path) -> tuple[ExperimentConfig, Path]:
    """Read and check an experiment file; every arm's scenario is validated now."""
    from ..config import load_scenario

    path = Path(path)
    raw = _read(path, "experiment")
    try:
        cfg = ExperimentConfig.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioError(_format(exc, path, "experiment")) from None
    scenario = _scenario_path(path, cfg.scenario)
    for name, arm in cfg.arms.items():
        try:
            load_scenario(scenario, [*cfg.set, *arm.set])
        except ScenarioError as exc:
            raise ScenarioError(f"{path}: arm {name!r}: {exc}") from None
    return cfg, scenario


def load_sweep(path: str | Path) -> tuple[SweepConfig, Path]:
    """Read and check a sweep file (the settings it varies are checked by :func:`sweep.plan_sweep`)."""
    from ..config import load_scenario

    path = Path(path)
    raw = _read(path, "sweep")
    try:
        cfg = SweepConfig.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioError(_format(exc, path, "sweep")) from None
    scenario = _scenario_path(path, cfg.scenario)
    try:
        load_scenario(scenario, cfg.set)
    except ScenarioError as exc:
        raise ScenarioError(f"{path}: set: {exc}") from None
    return cfg, scenario


def check_metrics(names: list[str], known: set[str], path: Path, field: str, where: str = "") -> None:
    """Every name must be a numeric metric of the runs; else a message with close matches."""
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.6)
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            raise ScenarioError(
                f"{path}: {field}: {name!r} is not a numeric metric of the runs{where}{hint} "
                f"(the {len(known)} metrics are the keys of a run's metrics.json)"
            )
