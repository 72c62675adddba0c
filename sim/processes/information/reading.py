"""Reading: clinicians open their chats and take in the copies waiting for them.

Each clinician with copies waiting opens the chats with probability ``1 - exp(-r dt)``
(``activity.read_prob``, one draw each; every step with ``reading = "immediate"``) and reads
every pending delivery: post copies
and direct messages made in earlier steps. Copies of removed posts are gone; media older
than ``purge_days`` are gone too (the reader asks the sender again with ``reask_prob``).
Readers take in a batch item by item: guidelines and case reports one copy at a time in
random order (:func:`kernels.read_guideline`), rumors all at once (:mod:`.belief`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ...activity import prob_parts
from ...table import Table
from . import adoption, belief, kernels
from .config import LITERACY_REF
from .state import DELIVERY_SPEC

if TYPE_CHECKING:  # pragma: no cover
    from .process import InformationProcess

__all__ = ["expose_guideline", "read"]

_NO_LITERACY = np.zeros(0, np.float32)  # read_guideline: no heterogeneity


def read(p: InformationProcess, model, t: float, dt: float) -> None:
    copies = _opened(p, model)
    if copies is None or copies.recv.size == 0:
        return
    p.counters["read"] += copies.recv.size
    if p.settings.any_media:
        batch = _purge(p, Table.wrap(DELIVERY_SPEC, copies), t)
        if len(batch) == 0:
            return
        copies = kernels.Copies(*batch.columns())
    # process in random order: with several copies to one reader, the first one counts
    items = copies.item
    single = len(p.catalog) == 1
    for j in [int(items[0])] if single else _distinct(items):
        sel = np.arange(items.size) if single else np.flatnonzero(items == j)
        if p.catalog.kinds[j] == "rumor":
            sel = p.rng.permutation(sel)
            belief.expose_rumor(p, model, int(j), Table.wrap(DELIVERY_SPEC, copies).take(sel), t)
        else:
            expose_guideline(p, model, int(j), copies, sel, t)


def _opened(p: InformationProcess, model) -> kernels.Copies | None:
    """The pending copies read this step (removed posts' copies dropped); the rest stay."""
    q = p.queues
    if q.n_pending() == 0:
        return None
    gone = q.gone() if p.counters["removed_posts"] else None
    if p.config.reading == "immediate":  # every pending copy is read
        if gone is not None:
            p.counters["removed_copies"] += int(gone.sum())
        return q.take(gone)
    # one draw per clinician with copies waiting decides whether they open the chats, and
    # the copies they read are taken out: one compiled pass
    copies, n_gone = q.take_opened(p.rng_ref, prob_parts(model), gone, p.distinct.scratch())
    p.counters["removed_copies"] += n_gone
    return copies


def _purge(p: InformationProcess, batch: Table, t: float) -> Table:
    """Media unread for ``purge_days`` are gone; the reader may ask the sender again
    (a direct message sent now)."""
    media = p.settings.media[batch["item"]]
    purged = media & (t - batch["t"] > p.config.purge_days)
    if not purged.any():
        return batch
    p.counters["purged"] += int(purged.sum())
    again = purged & (p.rng.random(purged.size) < p.config.reask_prob)
    if again.any():
        p.counters["reasked"] += int(again.sum())
        re = batch.take(again)
        re["t"][:] = t
        re["post"][:] = -1
        re["group"][:] = -1
        p.queues.queue_each(kernels.Copies(*re.columns()))
    return batch.take(~purged)


def expose_guideline(p: InformationProcess, model, j: int, copies: kernels.Copies, order: np.ndarray, t: float) -> None:
    """Readers take in the copies ``order`` of ``copies`` one by one, in random order
    (:func:`kernels.read_guideline`, which shuffles ``order``); those who start considering
    a guideline enter the staged adoption (:func:`adoption.enter`)."""
    cfg, s = p.config, p.settings
    it = p.catalog.items[j]
    rules = kernels.ReadRules(
        share_prob=float(s["share_prob"][j]),
        stifle_prob=float(s["stifle_prob"][j]),
        adoptable=p.catalog.kinds[j] == "guideline",
        adopt_prob=float(cfg.adopt_prob),
        adoption_sources=int(cfg.adoption_sources),
        discussion_posts=int(cfg.discussion_posts),
        literacy_ref=LITERACY_REF,
    )
    # three uniforms per copy always suffice; a burst holds a block of them at a time
    need = 3 * order.size
    burst = need > kernels.BURST_FROM
    aware_at, adopt_at, consider_at = kernels.read_guideline(
        p.rng.random(min(kernels.DRAW_BLOCK, need) if burst else need),
        order,
        copies,
        p.arrays.guideline(j),
        rules,
        p.arrays.uptake(j, cfg.adoption == "staged", it.paywalled, model.pop.paywall),
        model.pop.literacy if cfg.heterogeneity else _NO_LITERACY,
        float(t),
        p.rng if burst else None,
    )
    sender, recv, group = copies.sender, copies.recv, copies.group
    p.arrays.may_share(j, recv[aware_at])  # the readers who start sharing are among them
    if p.log.enabled:
        for at, kind in ((aware_at, "aware"), (adopt_at, "adopt")):
            p.log.add(j, kind, sender[at], recv[at], group[at], t)
    if consider_at.size:
        adoption.enter(p, model, j, recv[consider_at], sender[consider_at], group[consider_at], t)


def _distinct(values: np.ndarray) -> list[int]:
    """Distinct values of a small-alphabet array (item ids), in increasing order."""
    if values.size == 0:
        return []
    return np.flatnonzero(np.bincount(values)).tolist()
