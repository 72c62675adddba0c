"""Moderators fact-checking rumor posts in their groups (``information.moderation``).

When a rumor post (content stance) is made in a group, one of the group's moderators
checks it with ``notice_prob`` and acts after an exponential delay (mean
``delay_hours``): the post is removed (copies not yet read vanish) and/or the moderator
takes up the correction and pins it in the group. A moderator who has left the group
by then does nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import posting
from .config import CONTENT, CORRECTED, CORRECTION
from .transitions import set_state

if TYPE_CHECKING:  # pragma: no cover
    from .process import InformationProcess

__all__ = ["a_moderator", "moderate", "queue_checks"]


def queue_checks(p: InformationProcess, model, j: int, stance, groups: np.ndarray, first_id: int, t: float) -> None:
    """Posts ``first_id + k`` of rumor ``j`` in ``groups[k]`` (``stance`` per post or one for
    all): draw which a moderator checks, and when they act."""
    mc = p.config.moderation
    n_new = groups.size
    check = (np.broadcast_to(stance, (n_new,)) == CONTENT) & (p.rng.random(n_new) < mc.notice_prob)
    if not check.any():
        return
    g = groups[check]
    mod = a_moderator(model.net, g, p.rng)
    has = mod >= 0
    delay = p.rng.exponential(mc.delay_hours / 24.0, int(has.sum()))
    p.queues.moderation.append(
        post=first_id + np.flatnonzero(check)[has], group=g[has], item=j, moderator=mod[has], t=t + delay
    )


def moderate(p: InformationProcess, model, t: float) -> None:
    """Moderators whose time has come remove the post and/or pin a correction."""
    q = p.queues.moderation
    if len(q) == 0:
        return
    due = q["t"] <= t + 1e-12
    if not due.any():
        return
    acts = q.take(due)
    q.keep(~due)
    posts, groups, items, mods = acts["post"], acts["group"], acts["item"], acts["moderator"]
    still = model.net.is_member(mods, groups)  # moderators who left do nothing
    posts, groups, items, mods = posts[still], groups[still], items[still], mods[still]
    if posts.size == 0:
        return
    mc = p.config.moderation
    if mc.remove:
        p.queues.remove_posts(posts)
        p.counters["removed_posts"] += int(posts.size)
        p.log.add(items, "removed", mods, -1, groups, t)
    if mc.pin_correction:
        # the moderator now holds the correction and pins it in the group
        for j in np.unique(items):
            sel = items == j
            who = mods[sel]
            not_yet = p.arrays.state[j, who] != CORRECTED
            set_state(p, int(j), who[not_yet], CORRECTED, t, sender=who[not_yet], group=groups[sel][not_yet])
            posting.emit_group_posts(
                p, model, int(j), np.full(who.size, CORRECTION), who, groups[sel], model.net.row_of(who, groups[sel]), t
            )
        p.counters["pinned"] += int(posts.size)


def a_moderator(net, groups: np.ndarray, rng) -> np.ndarray:
    """One moderator of each group, drawn at random (-1 where none)."""
    rows = np.flatnonzero(net.m_moderator)
    g_of = net.m_group[rows]
    order = np.argsort(g_of, kind="stable")
    rows, g_of = rows[order], g_of[order]
    lo = np.searchsorted(g_of, groups, "left")
    hi = np.searchsorted(g_of, groups, "right")
    pick = lo + (rng.random(groups.size) * (hi - lo)).astype(np.int64)
    out = np.full(groups.size, -1, np.int32)
    has = hi > lo
    out[has] = net.m_clinician[rows[pick[has]]]
    return out
