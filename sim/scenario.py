"""The scenario schema: every table and setting of a scenario file (pydantic).

Loading, inheritance, overrides, warnings and run-size estimates are in
:mod:`sim.config`, which re-exports :class:`Scenario`. The processes' own sections live
in ``sim/processes/<name>/config.py``; nothing here imports a process implementation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from .interventions import InterventionConfig
from .limits import HARD_MAX_CLINICIAN_STEPS, HARD_MAX_STEPS, MAX_CLINICIAN_STEPS, MAX_STEPS
from .processes.cost.config import CostConfig
from .processes.diagnosis.config import DiagnosisConfig
from .processes.information.config import InformationConfig
from .processes.network.config import NetworkConfig
from .processes.reporting.config import ReportingConfig
from .processes.trust.config import TrustConfig
from .schema import (
    BASES,
    TIERS,
    GroupSize,
    Hour,
    NonNegative,
    Positive,
    Probability,
    Section,
    is_setup_only,
)

Role = Literal["doctor", "nurse", "lab_technician", "pharmacist", "public_health_admin"]
Tier = Literal["primary", "secondary", "tertiary"]


# --------------------------------------------------------------------------- run
MAX_NAME_LENGTH = 100
_NOT_IN_NAMES = set('/\\:*?"<>|')

#: Ceilings on a run's size; ``run.allow_large = true`` (or ``--allow-large``) raises them
#: to the hard limits. At the rates of benchmarks/ (see :func:`run_estimate`) either
#: ceiling is about 40 minutes of computing.


class RunConfig(Section):
    name: str = Field(
        "unnamed",
        description=f"Name used in results and folder names: 1-{MAX_NAME_LENGTH} characters, no path "
        "separators or any of : * ? \" < > |, not starting with '.'.",
    )
    description: str = Field("", description="What the scenario is for.")
    seed: int = Field(0, ge=0, lt=2**64, description="Default root seed (0 <= seed < 2**64); `--seed` overrides it.")
    duration_days: Positive = Field(30.0, description="Simulated time.")
    step_minutes: float = Field(60.0, ge=1e-3, le=7 * 24 * 60, description="Length of one step.")
    record_every_hours: float = Field(24.0, ge=1e-3, le=1e6, description="Interval of the time series.")
    start_hour: Hour = Field(0.0, lt=24.0, description="Clock time at t = 0.")
    stop_when_idle: bool = Field(False, description="End the run early once no process has anything left to do.")
    agent_objects: bool = Field(True, description="Create one mesa.Agent view per clinician (off for very large runs).")
    allow_large: bool = Field(
        False,
        description=f"Allow more than {MAX_STEPS:,} steps or {MAX_CLINICIAN_STEPS:.0e} clinicians x steps "
        "(`qunsim run --allow-large`); the estimated time and memory are printed.",
    )

    @field_validator("name")
    @classmethod
    def _a_name_not_a_path(cls, name: str) -> str:
        bad = sorted({c for c in name if c in _NOT_IN_NAMES or ord(c) < 32 or ord(c) == 127})
        if not name.strip() or len(name) > MAX_NAME_LENGTH or bad or name.startswith("."):
            what = (
                "is empty"
                if not name.strip()
                else f"has {len(name):,} characters"
                if len(name) > MAX_NAME_LENGTH
                else f"contains {''.join(bad)!r}"
                if bad
                else "starts with '.'"
            )
            raise ValueError(
                f"run.name {what}; it names the results folder, so it must be a name, not a path: "
                f'1-{MAX_NAME_LENGTH} characters without / \\ : * ? " < > | or control characters, '
                "not starting with '.'"
            )
        return name


#: The least positive notice probability of an item (1e-12: a copy in a trillion; smaller positive
#: values overflow the geometric gaps that place noticed copies, so they are refused, not clipped).
MIN_NOTICE_PROB = 1e-12


# ------------------------------------------------------------------- population
class TierConfig(Section):
    """Facilities of one tier. Bed ranges follow the tier definitions (fixed)."""

    beds_median: Positive = Field(le=100_000, description="Median beds (log-normal, clipped to the tier's range).")
    beds_sigma: NonNegative = Field(0.5, le=5, description="Log-normal spread of beds.")
    equipment: tuple[Probability, Probability, Probability] = Field(
        description="Probabilities of equipment level 1 (basic), 2, 3 (advanced)."
    )
    n_specialties: int = Field(ge=1, le=8, description="Specialties offered besides general medicine.")
    expertise_mean: Probability = Field(description="Mean expertise (0-1) of its clinicians, mid-career.")
    international_access: Probability = Field(description="Share with international sources (Tso 2022, Theme 6).")
    paywall_access: Probability = Field(
        description="Share with institutional access to paywalled literature (Theme 5)."
    )

    @model_validator(mode="after")
    def _equipment_sums_to_one(self):
        total = sum(self.equipment)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"equipment probabilities must sum to 1, got {total:g}")
        return self


def _default_tiers() -> dict[Tier, TierConfig]:
    # Beds by tier: primary < 100, secondary 100-500, tertiary > 500 (Tso 2022, Methods).
    return {
        "primary": TierConfig(
            beds_median=40,
            beds_sigma=0.6,
            equipment=(0.8, 0.2, 0.0),
            n_specialties=1,
            expertise_mean=0.35,
            international_access=0.02,
            paywall_access=0.05,
        ),
        "secondary": TierConfig(
            beds_median=250,
            beds_sigma=0.4,
            equipment=(0.2, 0.6, 0.2),
            n_specialties=4,
            expertise_mean=0.5,
            international_access=0.10,
            paywall_access=0.30,
        ),
        "tertiary": TierConfig(
            beds_median=1200,
            beds_sigma=0.5,
            equipment=(0.0, 0.2, 0.8),
            n_specialties=8,
            expertise_mean=0.7,
            international_access=0.40,
            paywall_access=0.85,
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
        1.0, le=1e6, description="Multiplies the share of clinicians its facilities get (few members abroad)."
    )
    referral_hub: str | None = Field(
        None, description="Region whose tertiary facilities receive referrals when this one has none."
    )
    utc_offset_hours: float | None = Field(
        None,
        ge=-12,
        le=14,
        description="Time zone (hours from UTC) of a region abroad; its members keep their own working and "
        "waking hours. None: China's clock (UTC+8), the run's clock.",
    )

    @model_validator(mode="after")
    def _has_facilities(self):
        if self.primary + self.secondary + self.tertiary == 0:
            raise ValueError("a region needs at least one facility")
        return self


def _default_roles() -> dict[Role, float]:
    return {"doctor": 0.67, "nurse": 0.05, "lab_technician": 0.12, "pharmacist": 0.03, "public_health_admin": 0.12}


class PopulationConfig(Section):
    n_clinicians: int = Field(300, ge=3, le=5_000_000, description="Clinicians in the population.")
    # Table 1 of Tso 2022: doctors 67%, nurses 5%, lab technicians 12%, pharmacists 3%,
    # public-health administrators 12% (58 participants; shares renormalised to 1).
    roles: dict[Role, Annotated[float, Field(ge=0.0, le=1e6)]] = Field(
        description="Role shares (Tso 2022, Table 1), renormalised to 1.",
        default_factory=_default_roles,
    )
    staff_exponent: NonNegative = Field(
        1.0, le=2.0, description="Clinicians are allocated to facilities in proportion to beds**exponent."
    )
    tiers: dict[Tier, TierConfig] = Field(default_factory=_default_tiers)
    regions: list[RegionConfig] = Field(
        default_factory=lambda: [RegionConfig(name="City", kind="city", primary=3, secondary=2, tertiary=1)],
        min_length=1,
        description="Cities, rural peripheries and places abroad (at least one).",
    )
    abroad_international_access: Probability = Field(
        1.0, description="Share of members abroad with international sources."
    )
    expertise_concentration: float = Field(8.0, ge=0.1, le=10_000, description="Beta concentration (a + b).")
    literacy_mean: Probability = Field(0.55, description="Mean information literacy (Beta distribution).")
    literacy_concentration: float = Field(6.0, ge=0.1, le=10_000, description="Beta concentration (a + b) of literacy.")
    reads_per_day_median: float = Field(
        6.0,
        ge=1e-3,
        le=24 * 60,
        description="Median times a clinician opens the groups per day (work hours; at least once in 1,000 days).",
    )
    reads_per_day_sigma: NonNegative = Field(0.5, le=5, description="Log-normal spread of reading frequency.")
    night_activity: Probability = Field(0.2, description="Reading rate at night relative to day.")
    work_start_hour: Hour = Field(8.0, description="Start of the day shift.")
    work_end_hour: Hour = Field(
        18.0, description="End of the day shift (a third of nurses and lab staff work later shifts)."
    )
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
        n_fac = sum(r.count * (r.primary + r.secondary + r.tertiary) for r in self.regions)
        if n_fac > self.n_clinicians:
            raise ValueError(
                f"population.n_clinicians: {self.n_clinicians:,} is fewer than the {n_fac:,} facilities "
                "the regions define (count x (primary + secondary + tertiary)); every facility "
                "needs at least one clinician"
            )
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
    size_sigma: NonNegative = Field(0.8, le=5, description="Log-normal spread of group sizes.")
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
            join_prob=0.9,
            size_median=20,
            size_sigma=0.4,
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

    @field_validator("membership_file")
    @classmethod
    def _membership_file_exists(cls, path: str | None) -> str | None:
        if path is not None and not Path(path).is_file():
            raise ValueError(f"no such file {path!r} (a path relative to the scenario file that names it)")
        return path


class ContactsConfig(Section):
    """1-on-1 contacts."""

    colleagues: NonNegative = Field(4.0, le=100, description="Mean contacts in the same facility.")
    upward: NonNegative = Field(1.5, le=20, description="Mean contacts in the parent facility (reporting chain).")
    conference: NonNegative = Field(1.0, le=50, description="Mean contacts met at events, anywhere.")


# --------------------------------------------------------------------- scenario
#: Sections built once at set-up: a ``settings`` intervention cannot change them.
SETUP_SECTIONS = ("run", "population", "groups", "contacts")


class Scenario(Section):
    run: RunConfig = Field(default_factory=RunConfig)
    population: PopulationConfig = Field(default_factory=PopulationConfig)
    groups: GroupsConfig = Field(default_factory=GroupsConfig)
    contacts: ContactsConfig = Field(default_factory=ContactsConfig)
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    trust: TrustConfig = Field(default_factory=TrustConfig)
    diagnosis: DiagnosisConfig = Field(default_factory=DiagnosisConfig)
    information: InformationConfig = Field(default_factory=InformationConfig)
    reporting: ReportingConfig = Field(default_factory=ReportingConfig)
    cost: CostConfig = Field(default_factory=CostConfig)
    interventions: list[InterventionConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_size(self):
        """Runaway runs are refused before they start (see :data:`MAX_STEPS`)."""
        run, n = self.run, self.population.n_clinicians
        steps = run.duration_days * 24 * 60 / run.step_minutes
        work = steps * n
        what = (
            f"run.duration_days = {run.duration_days:g} at run.step_minutes = {run.step_minutes:g} "
            f"is {steps:,.0f} steps; with population.n_clinicians = {n:,} that is {work:.3g} clinicians x steps"
        )
        if steps > HARD_MAX_STEPS or work > HARD_MAX_CLINICIAN_STEPS:
            raise ValueError(
                f"{what}: more than any run may have ({HARD_MAX_STEPS:.0e} steps, "
                f"{HARD_MAX_CLINICIAN_STEPS:.0e} clinicians x steps, even with run.allow_large)"
            )
        if (steps > MAX_STEPS or work > MAX_CLINICIAN_STEPS) and not run.allow_large:
            raise ValueError(
                f"{what}: more than the ceiling of {MAX_STEPS:,} steps and {MAX_CLINICIAN_STEPS:.0e} "
                f"clinicians x steps ({run_estimate(self)}). Shorten the run or lengthen the steps, or raise "
                "the ceiling explicitly with run.allow_large = true (qunsim run --allow-large)"
            )
        return self

    @model_validator(mode="after")
    def _check_seeds(self):
        """Every item can start: its seeds exist (or can be drawn) in this population."""
        pop, n = self.population, self.population.n_clinicians
        for k, it in enumerate(self.information.items):
            where = f"information.items.{k}"
            ids = getattr(it, "seed_clinicians", None)
            if ids is not None:
                if len(ids) == 0:
                    raise ValueError(
                        f"{where}.seed_clinicians: [] names no clinician; give at least one id "
                        "in 0..population.n_clinicians - 1, or leave it out to draw the seeds"
                    )
                outside = sorted({i for i in ids if not 0 <= i < n})
                if outside:
                    shown = ", ".join(str(i) for i in outside[:5]) + (", ..." if len(outside) > 5 else "")
                    raise ValueError(
                        f"{where}.seed_clinicians: {shown} not in the population; ids lie in "
                        f"0..{n - 1} (population.n_clinicians = {n})"
                    )
                continue
            why = _nobody_eligible(
                pop,
                getattr(it, "seed_tiers", None),
                getattr(it, "seed_roles", None),
                getattr(it, "seed_region_kinds", None),
                getattr(it, "seed_international", False),
            )
            if why:
                raise ValueError(
                    f"{where}: item {it.name!r} can never start: no clinician can be a seed ({why}); "
                    "widen seed_tiers / seed_roles / seed_region_kinds / seed_international"
                )
            n_seeds = getattr(it, "n_seeds", 1)
            if getattr(it, "seed_share", None) is None and n_seeds > n:
                raise ValueError(
                    f"{where}.n_seeds: {n_seeds:,} is more than the {n:,} clinicians of the "
                    "population (population.n_clinicians); at most that many can be seeds"
                )
        for k, iv in enumerate(self.interventions):
            tiers, roles = iv.params.get("tiers"), iv.params.get("roles")
            if isinstance(tiers, list | None) and isinstance(roles, list | None) and (tiers or roles):
                why = _nobody_eligible(pop, tiers, roles, None, False)
                if why:
                    raise ValueError(
                        f"interventions.{k}.params: {iv.name!r} reaches nobody ({why}); "
                        "widen params.tiers / params.roles"
                    )
        return self

    @model_validator(mode="after")
    def _check_notice_prob(self):
        """A copy is noticed with probability 0 or at least :data:`MIN_NOTICE_PROB`: the posting
        kernel places noticed copies by geometric gaps, which a smaller positive value overflows."""
        for k, it in enumerate(self.information.items):
            p = it.setting("notice_prob") if it.kind != "correction" else None
            if p is not None and 0 < p < MIN_NOTICE_PROB:
                raise ValueError(
                    f"information.items.{k}.notice_prob: {p!r} is positive but below {MIN_NOTICE_PROB:g}; "
                    f"give 0 (never noticed) or a value in {MIN_NOTICE_PROB:g}..1"
                )
        return self

    @model_validator(mode="after")
    def _check_broadcast_items(self):
        names = {it.name for it in self.information.items if it.kind != "correction"}
        for k, iv in enumerate(self.interventions):
            if iv.name == "broadcast" and not self.information.enabled:
                raise ValueError(
                    f"interventions.{k}: 'broadcast' delivers an item, but information.enabled = false "
                    "(the information process is off); switch it on or remove the intervention"
                )
            if iv.name == "broadcast" and iv.params["item"] not in names:
                raise ValueError(
                    f"interventions.{k}.params.item: {iv.params['item']!r} is not an item "
                    f"of information.items (known: {sorted(names)})"
                )
        return self

    @model_validator(mode="after")
    def _check_settings_paths(self):
        """A `settings` intervention must name real settings, changeable during a run, with allowed values."""
        for k, iv in enumerate(self.interventions):
            for dotted, value in iv.set.items():
                where = f"interventions.{k}.set"
                node: object = self.model_copy(deep=True)
                keys = dotted.split(".")
                if keys[0] in SETUP_SECTIONS:
                    raise ValueError(
                        f"{where}: {dotted} is fixed at set-up; change it in the scenario instead "
                        f"(the whole [{keys[0]}] table is built before the first step)"
                    )
                for depth, key in enumerate(keys):
                    fields = type(node).model_fields if isinstance(node, Section) else {}
                    if key not in fields:
                        raise ValueError(f"{where}: {dotted!r} is not a setting")
                    if is_setup_only(fields[key]):
                        fixed = ".".join(keys[: depth + 1])
                        what = dotted if fixed == dotted else f"{dotted} (in {fixed})"
                        raise ValueError(f"{where}: {what} is fixed at set-up; change it in the scenario instead")
                    if depth < len(keys) - 1:
                        node = getattr(node, key)
                if keys == ["interventions"]:
                    raise ValueError(f"{where}: interventions are not a setting; list them in the scenario")
                current = getattr(node, keys[-1])
                if (
                    isinstance(node, Scenario)
                    or isinstance(current, Section)
                    or (isinstance(current, list) and any(isinstance(x, Section) for x in current))
                ):
                    raise ValueError(
                        f"{where}: {dotted!r} is a whole table, not one setting; name the settings to change "
                        f"(e.g. {dotted}.<setting>)"
                    )
                try:
                    setattr(node, keys[-1], value)
                except ValidationError as exc:
                    msg = exc.errors()[0]["msg"]
                    raise ValueError(f"{where}: {dotted} = {short_value(value)}: {msg}") from None
        return self

    @property
    def n_steps(self) -> int:
        return max(1, round(self.run.duration_days * 24 * 60 / self.run.step_minutes))

    @property
    def dt_days(self) -> float:
        return self.run.step_minutes / (24 * 60)


def _nobody_eligible(pop: PopulationConfig, tiers, roles, region_kinds, international: bool) -> str | None:
    """Why no clinician of ``pop`` can match these filters, or None when some can.

    Structural only: a role with a zero share, a tier without facilities in the
    matching regions, no international access where the filter needs it.
    """
    if roles:
        shares = {r: pop.roles.get(r, 0.0) for r in roles}
        if not any(s > 0 for s in shares.values()):
            return f"roles {sorted(roles)} have share 0 in population.roles"
    regions = [r for r in pop.regions if not region_kinds or r.kind in region_kinds]
    if not regions:
        return f"no region of kind {sorted(region_kinds)} in population.regions"
    wanted = [t for t in TIERS if not tiers or t in tiers]
    places = [(r, t) for r in regions for t in wanted if getattr(r, t) > 0]
    if not places:
        return f"no {' or '.join(wanted)} facility in the {'matching ' if region_kinds else ''}regions"
    if international:

        def access(r, t):
            return pop.abroad_international_access if r.kind == "abroad" else pop.tiers[t].international_access

        if not any(access(r, t) > 0 for r, t in places):
            return "international access is 0 wherever the other filters allow seeds"
    return None


def short_value(value: object, limit: int = 80) -> str:
    """``repr(value)``, cut to ``limit`` characters (a 100,000-character value is not echoed whole)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 20]}... ({len(text):,} characters)"


# ------------------------------------------------------------------- run size
# Rates of the full model on two cores (benchmarks/reports/2026-11-22: one year of the
# province at 10k-1M clinicians): a fixed cost per step and a cost per clinician-step;
# memory of the interpreter plus a few kB per clinician and the recorded time series.
_SECONDS_PER_STEP = 2e-3
_SECONDS_PER_CLINICIAN_STEP = 2.4e-7
_BYTES_BASE = 250e6
_BYTES_PER_CLINICIAN = 5.5e3
_BYTES_PER_RECORD_ROW = 150.0


def run_size(scenario: Scenario) -> dict[str, float]:
    """Steps, clinicians x steps, and the rough time (s) and memory (bytes) of a run."""
    run, n = scenario.run, scenario.population.n_clinicians
    steps = run.duration_days * 24 * 60 / run.step_minutes
    per_record = max(1.0, round(run.record_every_hours * 60 / run.step_minutes))
    rows_per_record = 20 + 15 * len(scenario.information.items)  # measured: 43 rows with two items
    records = steps / per_record + 2
    return {
        "steps": steps,
        "clinician_steps": steps * n,
        "seconds": steps * _SECONDS_PER_STEP + steps * n * _SECONDS_PER_CLINICIAN_STEP,
        "bytes": _BYTES_BASE + n * _BYTES_PER_CLINICIAN + records * rows_per_record * _BYTES_PER_RECORD_ROW,
    }


def run_estimate(scenario: Scenario) -> str:
    """``"about 3 h and 6 GB"``: the rough time and memory of a run of ``scenario``."""
    size = run_size(scenario)
    return f"estimated {_duration(size['seconds'])} and {_bytes(size['bytes'])} of memory"


def _duration(seconds: float) -> str:
    for unit, length in (("years", 365 * 86400), ("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= length:
            return f"about {seconds / length:,.3g} {unit}"
    return f"about {seconds:.0f} s"


def _bytes(n: float) -> str:
    for unit, size in (("PB", 1e15), ("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if n >= size:
            return f"{n / size:,.3g} {unit}"
    return f"{n:.0f} bytes"
