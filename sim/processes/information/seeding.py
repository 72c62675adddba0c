"""Items reaching their first holders: seeds at an item's ``start_day``, and official
broadcasts (the ``broadcast`` intervention)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ...population import REGION_KINDS
from ...schema import ROLES, TIERS
from .config import AWARE, BELIEVES, CORRECTED, UNAWARE, ItemConfig, Src
from .transitions import set_state

if TYPE_CHECKING:  # pragma: no cover
    from .process import InformationProcess

__all__ = ["broadcast", "eligible_seeds", "seed", "seed_count", "seed_warnings"]


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
            seeds = p.rng.choice(eligible, size=seed_count(it, eligible.size), replace=False)
        if it.kind == "correction":
            assert it.target is not None  # the schema requires it
            j = cat.index[it.target]
            set_state(p, j, seeds, CORRECTED, t, sender=seeds)
            p.log.add(cat.corr_id[j], "seed", seeds, seeds, -1, t)
        else:
            j = cat.index[it.name]
            set_state(p, j, seeds, AWARE if it.kind != "rumor" else BELIEVES, t, sender=seeds)
            p.log.add(j, "seed", seeds, seeds, -1, t)
            if it.kind == "guideline":
                p.arrays.source[j, seeds] = Src.HOLDER  # the seeds hold the full text
        p.arrays.active[j, seeds] = it.seed_channel == "groups"
        p.arrays.may_share(j, np.asarray(seeds))


def seed_count(it: ItemConfig, n_eligible: int) -> int:
    """Seeds drawn among ``n_eligible`` (> 0) clinicians: ``n_seeds`` or the ``seed_share``
    of them, at least 1 and at most all of them (:func:`seed_warnings` reports the clipping)."""
    n = round(it.seed_share * n_eligible) if it.seed_share is not None else it.n_seeds
    return min(max(n, 1), n_eligible)


def seed_warnings(model) -> list[str]:
    """What the drawn population does to the items' seeds, one line each: an item whose seed
    filters match nobody (it never starts), ``n_seeds`` above the clinicians eligible (all of
    them are seeds) and a ``seed_share`` that rounds to no seed (one is drawn). Known once the
    population is built; the run records them in its manifest."""
    out = []
    for k, it in enumerate(model.config.information.items):
        if it.seed_clinicians is not None:
            continue
        n_eligible = eligible_seeds(model, it).size
        filters = ", ".join(
            f"{name} = {getattr(it, name)!r}"
            for name in ("seed_tiers", "seed_roles", "seed_region_kinds", "seed_international")
            if getattr(it, name)
        )
        among = f"the {n_eligible:,} clinicians eligible as seeds" + (f" ({filters})" if filters else "")
        if n_eligible == 0:
            out.append(
                f"information.items.{k}: in this population (seed {model.seed}) no clinician matches the "
                f"seed filters ({filters}); item {it.name!r} never starts"
            )
        elif it.seed_share is None and it.n_seeds > n_eligible:
            out.append(
                f"information.items.{k}.n_seeds: {it.n_seeds:,} is more than {among} in this population "
                f"(seed {model.seed}); all {n_eligible:,} are seeds of item {it.name!r}"
            )
        elif it.seed_share is not None and it.seed_share > 0 and round(it.seed_share * n_eligible) == 0:
            out.append(
                f"information.items.{k}.seed_share: {it.seed_share:g} of {among} rounds to no seed "
                f"(seed {model.seed}); item {it.name!r} is given 1 seed"
            )
    return out


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
    """``who`` take up item ``name`` (a rumor's name means its correction) and share it.

    A guideline's or case report's broadcast makes the unaware aware (those further along
    stay where they are) and gives everyone reached the guideline's full text."""
    t, cat = model.t, p.catalog
    if name not in cat.index:
        raise KeyError(f"broadcast: no item {name!r}; items: {sorted(cat.index)}")
    j = cat.index[name]
    if cat.kinds[j] == "rumor":
        new, fresh = CORRECTED, who[p.arrays.state[j, who] != CORRECTED]
    else:
        new, fresh = AWARE, who[p.arrays.state[j, who] == UNAWARE]
    set_state(p, j, fresh, new, t, sender=fresh)
    if cat.kinds[j] == "guideline":
        without = who[p.arrays.source[j, who] == Src.NONE]
        p.arrays.source[j, without] = Src.HOLDER
    p.log.add(cat.corr_id.get(j, j), "seed", who, who, -1, t)
    p.arrays.active[j, who] = True
    p.arrays.may_share(j, np.asarray(who))
