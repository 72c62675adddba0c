"""Scenario files: schema, loading, inheritance and overrides.

A scenario is a TOML file validated against :class:`Scenario`. Every field has a
default, a range and a unit in its name (``_minutes``, ``_hours``, ``_days``);
probabilities lie in [0, 1]. A file may start with ``extends = "other.toml"``
(a path relative to the file); tables merge key by key, the child winning.
Command-line overrides ``dotted.key=value`` are applied after inheritance; the value
is read as a TOML value when it parses as one, else as a string.

Every problem is raised as :class:`ScenarioError` whose message names the file,
the field's dotted path, the value found and what is allowed.
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

import tomli_w
from pydantic import Field, ValidationError, model_validator

from .interventions import InterventionConfig
from .processes.diagnosis import DiagnosisConfig
from .processes.information import InformationConfig
from .processes.network.config import NetworkConfig
from .schema import (
    BASES, ROLES, TIERS, GroupSize, Hour, NonNegative, Positive, Probability, ScenarioError, Section,
)

__all__ = [
    "ScenarioError",
    "Scenario",
    "load_scenario",
    "parse_overrides",
    "scenario_to_toml",
    "ROLES",
    "TIERS",
    "BASES",
]

Role = Literal["doctor", "nurse", "lab_technician", "pharmacist", "public_health_admin"]
Tier = Literal["primary", "secondary", "tertiary"]


# --------------------------------------------------------------------------- run
class RunConfig(Section):
    name: str = Field("unnamed", description="Name used in results and file names.")
    description: str = Field("", description="What the scenario is for.")
    seed: int = Field(0, ge=0, description="Default root seed; `--seed` overrides it.")
    duration_days: Positive = Field(30.0, description="Simulated time.")
    step_minutes: Positive = Field(60.0, le=7 * 24 * 60, description="Length of one step.")
    record_every_hours: Positive = Field(24.0, description="Interval of the time series.")
    start_hour: Hour = Field(0.0, lt=24.0, description="Clock time at t = 0.")
    stop_when_idle: bool = Field(
        False, description="End the run early once no process has anything left to do."
    )
    agent_objects: bool = Field(
        True, description="Create one mesa.Agent view per clinician (off for very large runs)."
    )


# ------------------------------------------------------------------- population
class TierConfig(Section):
    """Facilities of one tier. Bed ranges follow the tier definitions (fixed)."""

    beds_median: Positive = Field(description="Median beds (log-normal, clipped to the tier's range).")
    beds_sigma: NonNegative = Field(0.5, description="Log-normal spread of beds.")
    equipment: tuple[Probability, Probability, Probability] = Field(
        description="Probabilities of equipment level 1 (basic), 2, 3 (advanced)."
    )
    n_specialties: int = Field(ge=1, le=8, description="Specialties offered besides general medicine.")
    expertise_mean: Probability = Field(description="Mean expertise (0-1) of its clinicians, mid-career.")
    international_access: Probability = Field(description="Share with international sources (Tso 2022, Theme 6).")
    paywall_access: Probability = Field(description="Share with institutional access to paywalled literature (Theme 5).")

    @model_validator(mode="after")
    def _equipment_sums_to_one(self):
        total = sum(self.equipment)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"equipment probabilities must sum to 1, got {total:g}")
        return self


def _default_tiers() -> dict[str, TierConfig]:
    # Beds by tier: primary < 100, secondary 100-500, tertiary > 500 (Tso 2022, Methods).
    return {
        "primary": TierConfig(
            beds_median=40, beds_sigma=0.6, equipment=(0.8, 0.2, 0.0), n_specialties=1,
            expertise_mean=0.35, international_access=0.02, paywall_access=0.05,
        ),
        "secondary": TierConfig(
            beds_median=250, beds_sigma=0.4, equipment=(0.2, 0.6, 0.2), n_specialties=4,
            expertise_mean=0.5, international_access=0.10, paywall_access=0.30,
        ),
        "tertiary": TierConfig(
            beds_median=1200, beds_sigma=0.5, equipment=(0.0, 0.2, 0.8), n_specialties=8,
            expertise_mean=0.7, international_access=0.40, paywall_access=0.85,
        ),
    }


class RegionConfig(Section):
    """A city, a rural periphery or a place abroad, with its facilities by tier."""

    name: str = Field(description="Region name (unique).")
    kind: Literal["city", "rural", "abroad"] = Field("city", description="City, rural periphery, or abroad.")
    count: int = Field(1, ge=1, le=10_000, description="Copies of this region (names get -1, -2, ...).")
    primary: int = Field(0, ge=0, description="Primary facilities (< 100 beds).")
    secondary: int = Field(0, ge=0, description="Secondary facilities (100-500 beds).")
    tertiary: int = Field(0, ge=0, description="Tertiary facilities (> 500 beds).")
    staff_weight: Positive = Field(
        1.0, description="Multiplies the share of clinicians its facilities get (few members abroad)."
    )
    referral_hub: str | None = Field(
        None, description="Region whose tertiary facilities receive referrals when this one has none."
    )

    @model_validator(mode="after")
    def _has_facilities(self):
        if self.primary + self.secondary + self.tertiary == 0:
            raise ValueError("a region needs at least one facility")
        return self


class PopulationConfig(Section):
    n_clinicians: int = Field(300, ge=3, le=5_000_000, description="Clinicians in the population.")
    # Table 1 of Tso 2022: doctors 67%, nurses 5%, lab technicians 12%, pharmacists 3%,
    # public-health administrators 12% (58 participants; shares renormalised to 1).
    roles: dict[Role, NonNegative] = Field(
        description="Role shares (Tso 2022, Table 1), renormalised to 1.",
        default_factory=lambda: {
            "doctor": 0.67, "nurse": 0.05, "lab_technician": 0.12,
            "pharmacist": 0.03, "public_health_admin": 0.12,
        }
    )
    staff_exponent: NonNegative = Field(
        1.0, le=2.0, description="Clinicians are allocated to facilities in proportion to beds**exponent."
    )
    tiers: dict[Tier, TierConfig] = Field(default_factory=_default_tiers)
    regions: list[RegionConfig] = Field(
        default_factory=lambda: [
            RegionConfig(name="City", kind="city", primary=3, secondary=2, tertiary=1)
        ]
    )
    abroad_international_access: Probability = Field(1.0, description="Share of members abroad with international sources.")
    expertise_concentration: Positive = Field(8.0, description="Beta concentration (a + b).")
    literacy_mean: Probability = Field(0.55, description="Mean information literacy (Beta distribution).")
    literacy_concentration: Positive = Field(6.0, description="Beta concentration (a + b) of literacy.")
    reads_per_day_median: Positive = Field(
        6.0, description="Median times a clinician opens the groups per day (work hours)."
    )
    reads_per_day_sigma: NonNegative = Field(0.5, description="Log-normal spread of reading frequency.")
    night_activity: Probability = Field(0.2, description="Reading rate at night relative to day.")
    work_start_hour: Hour = Field(8.0, description="Start of the day shift.")
    work_end_hour: Hour = Field(18.0, description="End of the day shift (a third of nurses and lab staff work later shifts).")
    n_schools: int = Field(6, ge=1, le=1000, description="Medical schools the clinicians graduated from.")
    years_max: int = Field(35, ge=1, le=50, description="Seniority is uniform in 1..years_max.")

    @model_validator(mode="before")
    @classmethod
    def _tier_defaults(cls, raw):
        return _merge_defaults(raw, "tiers", _default_tiers()) if isinstance(raw, dict) else raw

    @model_validator(mode="after")
    def _check(self):
        if sum(self.roles.values()) <= 0:
            raise ValueError("role shares must not all be zero")
        if self.work_end_hour <= self.work_start_hour:
            raise ValueError("work_end_hour must be after work_start_hour")
        missing = [t for t in TIERS if t not in self.tiers]
        if missing:
            raise ValueError(f"tiers must define {missing}")
        names = [r.name for r in self.regions]
        if len(set(names)) != len(names):
            raise ValueError("region names must be unique")
        for r in self.regions:
            if r.referral_hub is not None and r.referral_hub not in names:
                raise ValueError(f"region {r.name!r}: referral_hub {r.referral_hub!r} is not a region")
        return self


def _merge_defaults(raw: dict, field: str, defaults: dict[str, Section]) -> dict:
    """A partial table for one key (e.g. ``bases.alumni``) keeps the other defaults."""
    given = raw.get(field)
    if isinstance(given, dict):
        merged = {k: v.model_dump() for k, v in defaults.items()}
        for key, value in given.items():
            if isinstance(value, dict) and key in merged:
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
        raw = {**raw, field: merged}
    return raw


# ----------------------------------------------------------------------- groups
class BasisConfig(Section):
    """How one basis (alumni, specialty circle, ...) forms groups at set-up."""

    enabled: bool = Field(True, description="Form groups on this basis.")
    join_prob: Probability = Field(description="Share of eligible clinicians who join.")
    size_median: Annotated[float, Field(ge=3, le=500)] = Field(description="Median group size.")
    size_sigma: NonNegative = Field(0.8, description="Log-normal spread of group sizes.")
    roles: list[Role] | None = Field(None, description="Eligible roles (all when omitted).")


def _default_bases() -> dict[str, BasisConfig]:
    return {
        # medical-school alumni: school x graduation cohort
        "alumni": BasisConfig(join_prob=0.7, size_median=60, size_sigma=0.7),
        # study-abroad and internship cohorts
        "cohort": BasisConfig(join_prob=0.3, size_median=25, size_sigma=0.5),
        # specialty and continuing-education circles, per specialty and region
        "specialty": BasisConfig(join_prob=0.6, size_median=80, size_sigma=0.8),
        # formal affiliate-hospital programs: a tertiary and the facilities under it
        "affiliate": BasisConfig(join_prob=0.5, size_median=50, size_sigma=0.6),
        # surveillance-reporting hierarchies: administrators and lab staff per county
        "surveillance": BasisConfig(
            join_prob=0.9, size_median=20, size_sigma=0.4,
            roles=["public_health_admin", "lab_technician", "doctor"],
        ),
        # cohorts met at conventions and training meetings
        "conference": BasisConfig(join_prob=0.25, size_median=40, size_sigma=0.6),
        # reading groups (journal clubs)
        "reading": BasisConfig(join_prob=0.15, size_median=12, size_sigma=0.4, roles=["doctor", "nurse"]),
        # groups linking members abroad with colleagues at home
        "abroad": BasisConfig(join_prob=0.5, size_median=30, size_sigma=0.6),
    }


class GroupsConfig(Section):
    bases: dict[Literal[BASES], BasisConfig] = Field(default_factory=_default_bases)  # type: ignore[valid-type]
    size_cap: GroupSize = Field(500, description="Platform cap on members per group.")
    invite_per_member: NonNegative = Field(
        0.1, le=10, description="Invitations at set-up per existing member (colleagues of members)."
    )
    moderators_max: int = Field(2, ge=1, le=10, description="Moderators per group (1..max, by size).")
    cohort_years: int = Field(5, ge=1, le=50, description="Graduation years pooled in one alumni cohort.")
    n_conferences: int = Field(4, ge=0, le=100_000, description="Conferences held before t = 0.")
    membership_file: str | None = Field(
        None,
        description="Parquet with columns clinician, group: use this membership instead of the bases.",
    )


    @model_validator(mode="before")
    @classmethod
    def _basis_defaults(cls, raw):
        return _merge_defaults(raw, "bases", _default_bases()) if isinstance(raw, dict) else raw


class ContactsConfig(Section):
    """1-on-1 contacts."""

    colleagues: NonNegative = Field(4.0, le=100, description="Mean contacts in the same facility.")
    upward: NonNegative = Field(
        1.5, le=20, description="Mean contacts in the parent facility (reporting chain)."
    )
    conference: NonNegative = Field(1.0, le=50, description="Mean contacts met at events, anywhere.")


# --------------------------------------------------------------------- scenario
class Scenario(Section):
    run: RunConfig = Field(default_factory=RunConfig)
    population: PopulationConfig = Field(default_factory=PopulationConfig)
    groups: GroupsConfig = Field(default_factory=GroupsConfig)
    contacts: ContactsConfig = Field(default_factory=ContactsConfig)
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    diagnosis: DiagnosisConfig = Field(default_factory=DiagnosisConfig)
    information: InformationConfig = Field(default_factory=InformationConfig)
    interventions: list[InterventionConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_broadcast_items(self):
        names = {it.name for it in self.information.items if it.kind != "correction"}
        for k, iv in enumerate(self.interventions):
            if iv.name == "broadcast" and iv.params["item"] not in names:
                raise ValueError(f"interventions.{k}.params.item: {iv.params['item']!r} is not an item "
                                 f"of information.items (known: {sorted(names)})")
        return self

    @model_validator(mode="after")
    def _check_settings_paths(self):
        """A `settings` intervention must name real settings with allowed values."""
        for k, iv in enumerate(self.interventions):
            for dotted, value in iv.set.items():
                node: object = self.model_copy(deep=True)
                *path, last = dotted.split(".")
                for key in path:
                    if not isinstance(node, Section) or key not in type(node).model_fields:
                        raise ValueError(f"interventions.{k}.set: {dotted!r} is not a setting")
                    node = getattr(node, key)
                if not isinstance(node, Section) or last not in type(node).model_fields:
                    raise ValueError(f"interventions.{k}.set: {dotted!r} is not a setting")
                try:
                    setattr(node, last, value)
                except ValidationError as exc:
                    msg = exc.errors()[0]["msg"]
                    raise ValueError(f"interventions.{k}.set: {dotted} = {value!r}: {msg}") from None
        return self

    @property
    def n_steps(self) -> int:
        return max(1, int(round(self.run.duration_days * 24 * 60 / self.run.step_minutes)))

    @property
    def dt_days(self) -> float:
        return self.run.step_minutes / (24 * 60)


# ---------------------------------------------------------------------- loading
def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such scenario file") from None
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the file ({exc.strerror})") from None
    try:
        return tomllib.loads(text.decode("utf-8"))
    except UnicodeDecodeError:
        raise ScenarioError(f"{path}: not a text file (TOML must be UTF-8)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from None


def _merge(base: dict, child: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in child.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _resolve(path: Path, chain: tuple[Path, ...]) -> dict[str, Any]:
    path = path.resolve()
    if path in chain:
        cycle = " -> ".join(str(p) for p in (*chain, path))
        raise ScenarioError(f"{chain[-1]}: circular `extends`: {cycle}")
    raw = _read_toml(path)
    parent = raw.pop("extends", None)
    if parent is None:
        return _relative_paths(raw, path.parent)
    if not isinstance(parent, str):
        raise ScenarioError(f"{path}: extends: {parent!r} is not allowed; give a path string")
    parent_path = (path.parent / parent)
    if not parent_path.exists():
        raise ScenarioError(f"{path}: extends: {parent!r} does not exist (looked for {parent_path})")
    return _merge(_resolve(parent_path, (*chain, path)), _relative_paths(raw, path.parent))


def _relative_paths(raw: dict, folder: Path) -> dict:
    """File settings are relative to the scenario that names them."""
    groups = raw.get("groups")
    if isinstance(groups, dict) and isinstance(groups.get("membership_file"), str):
        groups["membership_file"] = str((folder / groups["membership_file"]).resolve())
    return raw


def parse_overrides(items: list[str] | None) -> list[tuple[list[str], Any]]:
    """Parse ``dotted.key=value`` strings; the value is TOML when it parses, else a string."""
    out = []
    for item in items or []:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key or any(not part for part in key.split(".")):
            raise ScenarioError(f"--set {item!r}: expected dotted.key=value, e.g. run.duration_days=10")
        try:
            parsed = tomllib.loads(f"v = {value.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            parsed = value.strip()
        out.append((key.split("."), parsed))
    return out


def _apply_override(raw: dict, keys: list[str], value: Any, source: str) -> None:
    dotted = ".".join(keys)
    node: Any = raw
    for depth, key in enumerate(keys):
        last = depth == len(keys) - 1
        if isinstance(node, list):
            if not key.isdigit() or int(key) >= len(node):
                raise ScenarioError(f"{source}: --set {dotted}: {key!r} is not an index of a list of {len(node)}")
            key = int(key)
        elif not isinstance(node, dict):
            raise ScenarioError(f"{source}: --set {dotted}: {'.'.join(keys[:depth])} is a value, not a table")
        if last:
            node[key] = value
        else:
            if isinstance(node, dict) and key not in node:
                node[key] = {}
            node = node[key]


def _format_errors(exc: ValidationError, source: str) -> str:
    lines = [f"{source}: {exc.error_count()} problem(s) in the scenario:"]
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"] if p not in ("function-after",)) or "(top level)"
        if err["type"] == "extra_forbidden":
            parent = ".".join(str(p) for p in err["loc"][:-1])
            lines.append(f"  {loc}: unknown setting {'in ' + parent if parent else 'at top level'}"
                         f" (value {err.get('input')!r}); check the spelling against docs/parameters.md (qunsim params)")
            continue
        got = f" (got {err.get('input')!r})" if err["loc"] else ""
        lines.append(f"  {loc}: {err['msg']}{got}")
    return "\n".join(lines)


def validate(raw: dict, source: str = "<scenario>") -> Scenario:
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioError(_format_errors(exc, source)) from None


def load_scenario(path: str | Path, overrides: list[str] | None = None) -> Scenario:
    """Load a scenario file, follow ``extends``, apply ``--set`` overrides, validate."""
    path = Path(path)
    raw = _resolve(path, ())
    for keys, value in parse_overrides(overrides):
        _apply_override(raw, keys, value, str(path))
    return validate(raw, str(path))


def scenario_to_toml(scenario: Scenario) -> str:
    """The fully resolved scenario, every default written out, as TOML."""
    return tomli_w.dumps(scenario.model_dump(mode="json", exclude_none=True))
