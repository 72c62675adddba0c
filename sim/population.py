"""Facilities and clinicians, held as numpy arrays (one entry per facility / clinician).

Built from the ``population`` table of a scenario with vectorized draws from the
``population`` stream. Python loops run over regions only, never over clinicians.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from .schema import ROLES, TIERS, ScenarioError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .config import PopulationConfig

__all__ = ["BED_RANGES", "SPECIALTIES", "Population", "build_population"]

# Clinical specialties first; the last three belong to roles rather than to departments.
SPECIALTIES = (
    "general_medicine",
    "dermatology",
    "surgery",
    "chronic_illness",
    "sti",
    "oncology",
    "infectious_disease",
    "pediatrics",
    "radiology",
    "laboratory",
    "pharmacy",
    "public_health",
)
N_CLINICAL = 9
ROLE_SPECIALTY = {"lab_technician": 9, "pharmacist": 10, "public_health_admin": 11}
# Tier definitions by beds (Tso 2022): primary < 100, secondary 100-500, tertiary > 500.
BED_RANGES = {"primary": (5, 99), "secondary": (100, 500), "tertiary": (501, 5000)}
REGION_KINDS = ("city", "rural", "abroad")


@dataclass
class Population:
    # facilities
    fac_region: np.ndarray  # int32 index into region_names
    fac_tier: np.ndarray  # int8 0 primary, 1 secondary, 2 tertiary
    fac_beds: np.ndarray  # int32
    fac_equipment: np.ndarray  # int8 1..3
    fac_specialties: np.ndarray  # bool (F, len(SPECIALTIES))
    fac_parent: np.ndarray  # int32, -1 at the top of the hierarchy or abroad
    fac_abroad: np.ndarray  # bool
    region_names: list[str]
    region_kind: np.ndarray  # int8 index into REGION_KINDS
    # clinicians
    facility: np.ndarray  # int32
    role: np.ndarray  # int8 index into ROLES
    specialty: np.ndarray  # int8 index into SPECIALTIES
    years: np.ndarray  # int16 years in practice
    expertise: np.ndarray  # float32 in (0, 1)
    literacy: np.ndarray  # float32 in (0, 1)
    reads_per_day: np.ndarray  # float32 chat openings per day at work
    work_start: np.ndarray  # float32 hour of day
    work_end: np.ndarray  # float32 hour of day (may exceed 24 for night shifts)
    international: np.ndarray  # bool: access to international sources
    paywall: np.ndarray  # bool: institutional access to paywalled literature
    school: np.ndarray  # int16 medical school
    internship: np.ndarray  # int32 facility of the internship cohort
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    #: float32 hours by which each clinician's local time is ahead of the run's clock (China,
    #: UTC+8), or None when every clinician keeps the run's clock
    local_offset: np.ndarray | None = None

    @property
    def n(self) -> int:
        return int(self.facility.size)

    @property
    def n_facilities(self) -> int:
        return int(self.fac_tier.size)

    @cached_property
    def tier(self) -> np.ndarray:
        """Tier of each clinician's facility (clinicians do not move)."""
        return self.fac_tier[self.facility]

    @cached_property
    def region(self) -> np.ndarray:
        return self.fac_region[self.facility]

    def tier_of_beds(self) -> np.ndarray:
        """The tier that each facility's beds imply (for checks)."""
        return np.digitize(self.fac_beds, [BED_RANGES["secondary"][0], BED_RANGES["tertiary"][0]]).astype(np.int8)

    def facility_staff(self) -> tuple[np.ndarray, np.ndarray]:
        """CSR of clinicians by facility: (indptr, clinician ids), made once (clinicians do
        not move; the network process asks for it daily) and read-only."""
        return self._facility_staff

    @cached_property
    def _facility_staff(self) -> tuple[np.ndarray, np.ndarray]:
        order = np.argsort(self.facility, kind="stable").astype(np.int32)
        counts = np.bincount(self.facility, minlength=self.n_facilities)
        indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        order.flags.writeable = indptr.flags.writeable = False
        return indptr, order

    def ancestor(self, levels: int) -> np.ndarray:
        """Each facility's ancestor ``levels`` steps up the hierarchy (itself at the top)."""
        out = np.arange(self.n_facilities, dtype=np.int32)
        for _ in range(levels):
            parent = self.fac_parent[out]
            out = np.where(parent >= 0, parent, out)
        return out

    def facilities_frame(self) -> pd.DataFrame:
        import pandas as pd  # tables are made at the end of a run; the schema must not pull pandas in

        return pd.DataFrame(
            {
                "facility": np.arange(self.n_facilities),
                "region": pd.Categorical.from_codes(self.fac_region, self.region_names),
                "region_kind": pd.Categorical.from_codes(self.region_kind[self.fac_region], REGION_KINDS),
                "tier": pd.Categorical.from_codes(self.fac_tier, TIERS),
                "beds": self.fac_beds,
                "equipment": self.fac_equipment,
                "parent": self.fac_parent,
                "abroad": self.fac_abroad,
                "specialties": [",".join(SPECIALTIES[j] for j in np.flatnonzero(row)) for row in self.fac_specialties],
            }
        )

    def agents_frame(self) -> pd.DataFrame:
        import pandas as pd

        df = pd.DataFrame(
            {
                "clinician": np.arange(self.n),
                "facility": self.facility,
                "tier": pd.Categorical.from_codes(self.tier, TIERS),
                "region": pd.Categorical.from_codes(self.region, self.region_names),
                "role": pd.Categorical.from_codes(self.role, ROLES),
                "specialty": pd.Categorical.from_codes(self.specialty, SPECIALTIES),
                "years": self.years,
                "expertise": self.expertise,
                "literacy": self.literacy,
                "reads_per_day": self.reads_per_day,
                "work_start": self.work_start,
                "work_end": self.work_end,
                "international": self.international,
                "paywall": self.paywall,
                "school": self.school,
            }
        )
        for name, values in self.extra.items():
            df[name] = values
        return df


def _beta(rng: np.random.Generator, mean: np.ndarray | float, conc: float, size: int) -> np.ndarray:
    mean = np.clip(mean, 0.02, 0.98)
    return rng.beta(mean * conc, (1 - mean) * conc, size=size).astype(np.float32)


def _build_facilities(cfg: PopulationConfig, rng: np.random.Generator):
    names: list[str] = []
    kinds: list[int] = []
    hubs: list[str | None] = []
    weights: list[float] = []
    tier_counts: list[tuple[int, int, int]] = []
    for reg in cfg.regions:
        for k in range(reg.count):
            names.append(reg.name if reg.count == 1 else f"{reg.name}-{k + 1}")
            kinds.append(REGION_KINDS.index(reg.kind))
            hubs.append(reg.referral_hub)
            weights.append(reg.staff_weight)
            tier_counts.append((reg.primary, reg.secondary, reg.tertiary))
    counts = np.array(tier_counts, dtype=np.int64)  # (R, 3)
    n_regions = len(names)
    fac_region = np.repeat(np.repeat(np.arange(n_regions), 3), counts.ravel()).astype(np.int32)
    fac_tier = np.repeat(np.tile(np.arange(3), n_regions), counts.ravel()).astype(np.int8)
    n_fac = fac_region.size
    region_kind = np.array(kinds, dtype=np.int8)
    fac_abroad = region_kind[fac_region] == REGION_KINDS.index("abroad")

    beds = np.empty(n_fac, dtype=np.int32)
    equipment = np.empty(n_fac, dtype=np.int8)
    spec = np.zeros((n_fac, len(SPECIALTIES)), dtype=bool)
    spec[:, 0] = True
    spec[:, N_CLINICAL:] = True  # every facility has a lab, a pharmacy and public-health staff
    for t, tier in enumerate(TIERS):
        sel = np.flatnonzero(fac_tier == t)
        if sel.size == 0:
            continue
        tc = cfg.tiers[tier]  # type: ignore[index]  # TIERS are the Literal's values
        lo, hi = BED_RANGES[tier]
        draw = rng.lognormal(np.log(tc.beds_median), tc.beds_sigma, sel.size)
        beds[sel] = np.clip(np.rint(draw), lo, hi)
        equipment[sel] = 1 + rng.choice(3, size=sel.size, p=np.asarray(tc.equipment) / sum(tc.equipment))
        k = min(tc.n_specialties, N_CLINICAL - 1)
        order = np.argsort(rng.random((sel.size, N_CLINICAL - 1)), axis=1)[:, :k] + 1
        spec[sel[:, None], order] = True

    # Referral and reporting hierarchy: primary -> secondary -> tertiary, within the region
    # when it has the tier above, else in its referral hub, else anywhere at home.
    parent = np.full(n_fac, -1, dtype=np.int32)
    domestic = ~fac_abroad
    for r in range(n_regions):
        if region_kind[r] == REGION_KINDS.index("abroad"):
            continue
        hub = hubs[r]
        hub_regions = [i for i, n in enumerate(names) if n == hub or n.startswith(f"{hub}-")] if hub else []
        for child_tier, parent_tiers in ((0, (1, 2)), (1, (2,))):
            children = np.flatnonzero((fac_region == r) & (fac_tier == child_tier))
            if children.size == 0:
                continue
            pool = np.array([], dtype=np.int64)
            for pt in parent_tiers:
                for where in ([r], hub_regions, None):
                    if where is None:
                        cand = np.flatnonzero(domestic & (fac_tier == pt))
                    else:
                        cand = np.flatnonzero(np.isin(fac_region, where) & (fac_tier == pt))
                    if cand.size:
                        pool = cand
                        break
                if pool.size:
                    break
            if pool.size:
                w = beds[pool].astype(float)
                parent[children] = pool[rng.choice(pool.size, size=children.size, p=w / w.sum())]
    staff_weight = np.asarray(weights)[fac_region]
    return names, region_kind, fac_region, fac_tier, beds, equipment, spec, parent, fac_abroad, staff_weight


CHINA_UTC_OFFSET = 8.0


def _region_offsets(cfg: PopulationConfig) -> np.ndarray:
    """Per region (copies included, in order): hours its local time is ahead of China's."""
    out = [
        0.0 if reg.utc_offset_hours is None else reg.utc_offset_hours - CHINA_UTC_OFFSET
        for reg in cfg.regions
        for _ in range(reg.count)
    ]
    return np.asarray(out, dtype=np.float32)


def build_population(cfg: PopulationConfig, rng: np.random.Generator) -> Population:
    (names, region_kind, fac_region, fac_tier, beds, equipment, spec, parent, fac_abroad, staff_weight) = (
        _build_facilities(cfg, rng)
    )
    n_fac = fac_tier.size
    n = cfg.n_clinicians
    if n < n_fac:
        raise ScenarioError(
            f"population.n_clinicians: {n} is fewer than the {n_fac} facilities the regions define; "
            "every facility needs at least one clinician"
        )

    # Staff: one clinician per facility, the rest in proportion to beds**staff_exponent.
    w = beds.astype(float) ** cfg.staff_exponent * staff_weight
    per_fac = 1 + rng.multinomial(n - n_fac, w / w.sum())
    facility = np.repeat(np.arange(n_fac, dtype=np.int32), per_fac)
    tier = fac_tier[facility]

    roles: dict[str, float] = {str(k): float(v) for k, v in cfg.roles.items()}
    shares = np.array([roles.get(r, 0.0) for r in ROLES], dtype=np.float64)
    role = rng.choice(len(ROLES), size=n, p=shares / shares.sum()).astype(np.int8)

    # Doctors and nurses work in one of their facility's clinical specialties.
    keys = rng.random((n, N_CLINICAL), dtype=np.float32)
    keys[~spec[facility][:, :N_CLINICAL]] = -1.0
    specialty = np.argmax(keys, axis=1).astype(np.int8)
    del keys
    for r, s in ROLE_SPECIALTY.items():
        specialty[role == ROLES.index(r)] = s

    years = rng.integers(1, cfg.years_max + 1, size=n).astype(np.int16)
    seniority = years / cfg.years_max
    tier_expertise = np.array([_tier(cfg, t).expertise_mean for t in TIERS])
    expertise = _beta(rng, tier_expertise[tier] + 0.2 * (seniority - 0.5), cfg.expertise_concentration, n)
    literacy = _beta(rng, cfg.literacy_mean, cfg.literacy_concentration, n)
    # Younger clinicians engage more (seed 004): activity falls by ~40% over a career.
    reads = rng.lognormal(np.log(cfg.reads_per_day_median), cfg.reads_per_day_sigma, n)
    reads = (reads * (1.2 - 0.4 * seniority)).astype(np.float32)

    # Nurses and lab technicians work shifts; a third of them at night.
    shift = np.zeros(n, dtype=np.float32)
    shifted = np.isin(role, [ROLES.index("nurse"), ROLES.index("lab_technician")])
    shift[shifted] = rng.choice(np.array([0.0, 8.0, 16.0], dtype=np.float32), size=int(shifted.sum()))
    work_start = (cfg.work_start_hour + shift).astype(np.float32)
    work_end = (cfg.work_end_hour + shift).astype(np.float32)
    # members abroad keep local hours: on the run's clock their shift starts `offset` earlier
    region_offset = _region_offsets(cfg)
    local_offset = region_offset[fac_region[facility]] if np.any(region_offset != 0) else None
    if local_offset is not None:
        moved = local_offset != 0
        length = work_end[moved] - work_start[moved]
        work_start[moved] = np.mod(work_start[moved] - local_offset[moved], 24.0)
        work_end[moved] = work_start[moved] + length

    abroad = fac_abroad[facility]
    p_int = np.array([_tier(cfg, t).international_access for t in TIERS])[tier]
    p_int = np.where(abroad, cfg.abroad_international_access, p_int)
    international = rng.random(n) < p_int
    p_pay = np.array([_tier(cfg, t).paywall_access for t in TIERS])[tier]
    paywall = rng.random(n) < np.where(abroad, 1.0, p_pay)

    # Medical schools: a few large ones dominate (Zipf-like weights).
    sw = 1.0 / np.arange(1, cfg.n_schools + 1)
    school = rng.choice(cfg.n_schools, size=n, p=sw / sw.sum()).astype(np.int16)
    tertiary = np.flatnonzero((fac_tier == 2) & ~fac_abroad)
    if tertiary.size == 0:
        tertiary = np.arange(n_fac)
    tw = beds[tertiary].astype(float)
    internship = tertiary[rng.choice(tertiary.size, size=n, p=tw / tw.sum())].astype(np.int32)

    return Population(
        fac_region=fac_region,
        fac_tier=fac_tier,
        fac_beds=beds,
        fac_equipment=equipment,
        fac_specialties=spec,
        fac_parent=parent,
        fac_abroad=fac_abroad,
        region_names=names,
        region_kind=region_kind,
        facility=facility,
        role=role,
        specialty=specialty,
        years=years,
        expertise=expertise,
        literacy=literacy,
        reads_per_day=reads,
        work_start=work_start,
        work_end=work_end,
        local_offset=local_offset,
        international=international,
        paywall=paywall,
        school=school,
        internship=internship,
    )


def _tier(cfg: PopulationConfig, name: str):
    """The settings of tier ``name`` (one of TIERS)."""
    return cfg.tiers[name]  # type: ignore[index]
