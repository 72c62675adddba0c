"""Items reaching their first holders: seeds at an item's ``start_day``, and official
broadcasts (the ``broadcast`` intervention)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ...population import REGION_KINDS
from ...schema import ROLES, TIERS
from .config import AWARE, BELIEVES, CORRECTED, ItemConfig
from .transitions import set_state

if TYPE_CHECKING:  # pragma: no cover
    from .process import InformationProcess

__all__ = ["broadcast", "eligible_seeds", "seed"]


def seed(p: InformationProcess, model, t: float, dt: float) -> None:
    """Items whose ``start_day`` falls in this step reach their seeds (a correction's
    seeds hold the correction of its rumor); seeds share it unless ``seed_channel = 'none'``."""
    cat = p.catalog
    for q, it in enumerate(cat.all):
        if p.seeded[q] or it.start_day >= t + dt - 1e-12:
            continue
        p.seeded[q] = True
        if it.seed_clinicians is not None:
            seeds = np.unique(np.asarray(it.seed_clinicians, np.int64))
            if seeds.size and (seeds.min() < 0 or seeds.max() >= model.pop.n):
                raise ValueError(f"information.items: {it.name}: seed_clinicians must lie in 0..{model.pop.n - 1}")
        else:
            eligible = eligible_seeds(model, it)
            if eligible.size == 0:
                continue
            n = round(it.seed_share * eligible.size) if it.seed_share is not None else it.n_seeds
            seeds = p.rng.choice(eligible, size=min(max(n, 1), eligible.size), replace=False)
        if it.kind == "correction":
            assert it.target is not None  # the schema requires it
            j = cat.index[it.target]
            set_state(p, j, seeds, CORRECTED, t, sender=seeds)
            p.log.add(cat.corr_id[j], "seed", seeds, seeds, -1, t)
        else:
            j = cat.index[it.name]
            set_state(p, j, seeds, AWARE if it.kind != "rumor" else BELIEVES, t, sender=seeds)
            p.log.add(j, "seed", seeds, seeds, -1, t)
        p.arrays.active[j, seeds] = it.seed_channel == "groups"


def eligible_seeds(model, it: ItemConfig) -> np.ndarray:
    """Clinicians who may be drawn as the item's seeds (``seed_tiers``, ``seed_roles``, ...)."""
    pop = model.pop
    ok = np.ones(pop.n, bool)
    if it.seed_tiers:
        ok &= np.isin(pop.tier, [TIERS.index(t) for t in it.seed_tiers])
    if it.seed_roles:
        ok &= np.isin(pop.role, [ROLES.index(r) for r in it.seed_roles])
    if it.seed_region_kinds:
        ok &= np.isin(pop.region_kind[pop.region], [REGION_KINDS.index(r) for r in it.seed_region_kinds])
    if it.seed_international:
        ok &= pop.international
    return np.flatnonzero(ok)


def broadcast(p: InformationProcess, model, name: str, who: np.ndarray) -> None:
    """``who`` take up item ``name`` (a rumor's name means its correction) and share it."""
    t, cat = model.t, p.catalog
    if name not in cat.index:
        raise KeyError(f"broadcast: no item {name!r}; items: {sorted(cat.index)}")
    j = cat.index[name]
    new = CORRECTED if cat.kinds[j] == "rumor" else AWARE
    fresh = who[p.arrays.state[j, who] != new]
    set_state(p, j, fresh, new, t, sender=fresh)
    p.log.add(cat.corr_id.get(j, j), "seed", who, who, -1, t)
    p.arrays.active[j, who] = True
