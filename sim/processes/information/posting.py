"""Posting: sharers post in their groups and message their contacts.

Active spreaders (those who took up an item and still share it) post in each of their
groups with ``post_prob_per_day`` and message one contact with ``direct_prob_per_day``
(scaled by activity and the hour when ``heterogeneity``); a post reaches the other
unmuted members, who will notice it with the item's ``notice_prob``. Screenshot items
(``blocked_link``) are forwarded less often (``screenshot_delay_factor``) at lower
fidelity. Each sharer stops with ``stop_prob_per_day`` after posting (drawn with the
posts, :func:`post_in_groups`). A rumor's sharers post their current stance:
the rumor, or its correction. A paywalled guideline's sharers who hold its full text
and can fetch it (institutional access; or seeds) share the article, and those given
the article forward it with ``article_forward_prob``; their copies carry the full text
(stance ``ARTICLE``; their group posts are logged as ``article``); the others post the news.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from ...activity import reads_by_day
from ...arrays import bounded
from ...group_index import entry_rows
from . import draws, kernels, moderation, posting_kernels
from .config import ARTICLE, CONTENT, CORRECTED, CORRECTION, EVENT_KINDS, ROLE_ORDER, Src
from .state import credibility, per_step, source_weights

if TYPE_CHECKING:  # pragma: no cover
    from .process import InformationProcess

__all__ = ["Posting", "emit_direct", "emit_group_posts", "groups_of", "post", "post_in_groups"]

_ONE_CONTENT = np.full(1, CONTENT, np.int8)  # one stance for all posts
_NO_P_POST = np.zeros(0)  # pinned posts: no posting draw
_POST = EVENT_KINDS.index("post")
STANCES = (CORRECTED, CORRECTION, CONTENT)  # a rumor sharer's stance by state (sharing_terms)


class Constants(NamedTuple):
    """Per-step posting constants of one item (see :meth:`Posting.constants`)."""

    rumor: bool
    paywalled: bool  # a guideline whose sharers with the full text share it as an article
    p_post: float  # per (sharer, group), before activity
    p_post_one: np.ndarray  # the same, clipped, as the kernels take it
    p_stop: float
    p_notice: float
    p_direct: float  # per sharer, before activity
    fidelity: float  # weight of a copy (screenshots count less)
    weight_one: np.ndarray


class Posting:
    """What posting derives from the settings, recomputed when they change."""

    #: the terms per sharer and the direct messages in compiled passes (:mod:`.posting_kernels`);
    #: the tests turn it off to compare with the numpy path
    compiled = True

    def __init__(self):
        self._constants: dict[tuple, Constants] = {}
        self._activity: np.ndarray | None = None
        self._activity_for: dict | None = None

    def activity(self, p: InformationProcess, pop) -> np.ndarray:
        """Posting activity per clinician: reading rate relative to the median x
        ``role_activity`` (recomputed when ``role_activity`` changes)."""
        role_activity = p.config.role_activity
        if self._activity is None or role_activity != self._activity_for:
            role_a = np.array([role_activity.get(r, 1.0) for r in ROLE_ORDER], np.float32)
            self._activity = pop.reads_per_day / np.median(pop.reads_per_day) * role_a[pop.role]
            self._activity_for = dict(role_activity)
        return self._activity

    def constants(self, p: InformationProcess, j: int, dt: float) -> Constants:
        """Item ``j``'s per-step posting constants for this step length and the current
        item and screenshot settings."""
        cfg, s = p.config, p.settings
        key = (j, dt, cfg.screenshot_delay_factor, cfg.screenshot_fidelity, s.version)
        k = self._constants.get(key)
        if k is None:
            it = p.catalog.items[j]
            scale = it.salience * (cfg.screenshot_delay_factor if it.blocked_link else 1.0)
            fidelity = cfg.screenshot_fidelity if it.blocked_link else 1.0
            p_post = per_step(s["post_prob_per_day"][j], dt) * scale
            k = self._constants[key] = Constants(
                rumor=it.kind == "rumor",
                paywalled=it.kind == "guideline" and it.paywalled,
                p_post=p_post,
                p_post_one=np.array([min(p_post, 1.0)]),
                p_stop=per_step(s["stop_prob_per_day"][j], dt),
                p_notice=float(s["notice_prob"][j]),
                p_direct=per_step(s["direct_prob_per_day"][j], dt) * scale,
                fidelity=fidelity,
                weight_one=np.array([fidelity], np.float32),
            )
        return k


def groups_of(net) -> kernels.Groups:
    """The membership index of ``net`` as the kernels take it (current arrays; the rows of the
    clinicians' groups once enough were looked up, :func:`sim.group_index.entry_rows`)."""
    return kernels.Groups(
        net.c_indptr, net.c_groups, entry_rows(net), net.g_indptr, net.g_members, net.m_muted, net.g_muted
    )


def post(p: InformationProcess, model, t: float, dt: float) -> None:
    """Every item's sharers post in their groups (then stop or not) and message a contact."""
    cfg, net, pop = p.config, model.net, model.pop
    hetero, compiled = cfg.heterogeneity, Posting.compiled
    source = source_of(cfg, pop)  # (the compiled passes' credibility)
    if hetero:
        activity = p.posting_cache.activity(p, pop)
        by_day = reads_by_day(model)  # at work or awake now (members abroad keep their own hours)
        night = model.config.population.night_activity
    for j in range(len(p.catalog)):
        spreaders = p.arrays.sharers(j)
        if spreaders.size == 0:
            continue
        k = p.posting_cache.constants(p, j, dt)
        stance = None
        if hetero and compiled:  # the terms per sharer (and a rumor's stances) in one pass
            p_post, p_direct, weight, stance = posting_kernels.sharing_terms(
                spreaders, activity, by_day, night, k.p_post, k.p_direct, k.fidelity, source, k.rumor,
                p.arrays.state[j], STANCES,
            )  # fmt: skip
        elif hetero:
            factor = bounded(activity[spreaders] * np.where(by_day[spreaders], 1.0, night), 0, 5)
            p_post = bounded(k.p_post * factor, 0, 1).astype(np.float64)
            weight = (credibility(cfg, pop, spreaders) * k.fidelity).astype(np.float32)
            p_direct = bounded(k.p_direct * factor, 0, 1)
        else:
            p_post, weight = k.p_post_one, k.weight_one
            p_direct = np.array([bounded(k.p_direct, 0, 1)])
        per_sharer = k.rumor or k.paywalled  # the stance differs between sharers
        if k.rumor:
            if stance is None:
                stance = np.where(p.arrays.state[j, spreaders] == CORRECTED, CORRECTION, CONTENT).astype(np.int8)
        elif k.paywalled:
            stance = _article_or_news(p, pop, j, spreaders)
        else:
            stance = _ONE_CONTENT
        # group posts: one draw per (spreader, group) membership, then the stops
        p.arrays.cover_groups(net.n_groups)
        sharing, index = kernels.Sharers(spreaders, p_post, stance, weight), groups_of(net)
        who, groups, _rows, deliveries, msg, recv, messages = post_in_groups(
            p.rng,
            p.rng_ref,
            sharing,
            index,
            k.p_notice,
            k.p_stop,
            p.arrays.active[j],
            p.arrays.group_posts[j],
            kernels.Stamp(j, float(t), p.queues.n_posts),
        )
        entry_rows(net, who.size)  # each post's row was looked up in its sharer's groups: counted
        if who.size:
            stance_of = stance[who] if per_sharer else stance
            copies = (recv, msg, messages)
            _posted(p, model, j, stance_of, spreaders[who], groups, t, deliveries, copies)
        # direct messages
        if k.p_direct > 0:
            if compiled and cfg.direct_targets == "contacts":
                _direct_compiled(p, model, j, spreaders, p_direct, stance, source, t)
                continue
            send = p.rng.random(spreaders.size) < (p_direct if p_direct.size > 1 else p_direct[0])
            if send.any():
                emit_direct(p, model, j, stance[send] if per_sharer else CONTENT, spreaders[send], t)


def _direct_compiled(
    p: InformationProcess, model, j: int, spreaders, p_direct: np.ndarray, stance, source: tuple, t: float
) -> None:
    """:func:`emit_direct`'s messages to contacts, with the draws of who sends, in one compiled
    pass (:func:`.posting_kernels.direct_messages`; ``source``: :func:`source_of`)."""
    senders, recv, said, readers, messages = posting_kernels.direct_messages(
        p.rng_ref, spreaders, p_direct, stance, (model.contacts.indptr, model.contacts.neighbors),
        float(p.settings["notice_prob"][j]), j, float(t), p.config.heterogeneity, source,
    )  # fmt: skip
    if senders.size == 0:
        return
    _sent_direct(p, j, said, senders, recv, t)
    p.queues.queue(readers, np.arange(readers.size), messages)


def _sent_direct(p: InformationProcess, j: int, stance: np.ndarray, senders: np.ndarray, recv, t: float) -> None:
    """Count and log 1-on-1 messages of item ``j`` (``stance`` per sender)."""
    p.counters["direct"] += int(senders.size)
    p.counters["deliveries"] += int(senders.size)
    p.arrays.ever_shared[j, senders[stance != CORRECTION]] = True
    p.log.add(np.where(stance == CORRECTION, p.catalog.corr_id.get(j, j), j), "direct", senders, recv, -1, t)


def source_of(cfg, pop) -> tuple:
    """What a sender's credibility is made of (:func:`.posting_kernels.sharing_terms`)."""
    role_c, tier_c = source_weights(cfg)
    return role_c, tier_c, pop.role, pop.tier, pop.expertise


def post_in_groups(rng, rng_ref, sharers, net, p_notice, p_stop, active, group_posts, stamp):
    """Which ``sharers`` post in which of their groups, who stops, and the noticed copies
    (:func:`kernels.post_in_groups`; with many copies, then :func:`kernels.post_copies`),
    drawn from ``rng`` (``rng_ref``: the same Generator as the kernels take it; many draws
    are made ahead by numpy, :mod:`.draws`). Returns (index into ``sharers.ids``, group,
    membership row) of every post, the number of deliveries, (message index, reader) of
    every noticed copy, and the :class:`kernels.Messages` of the posts with a noticed copy."""
    u = draws.posting_uniforms(rng, sharers, net)
    who, group, row, trials, deliveries, msg, recv, messages, placed = kernels.post_in_groups(
        rng_ref, u, sharers, net, p_notice, p_stop, active, group_posts, stamp, draws.NUMPY_GAPS_FROM
    )  # fmt: skip
    if not placed:  # many copies: their gaps drawn ahead
        gaps, state = draws.notice_gaps(rng, trials, p_notice)
        msg, recv, messages, read = kernels.post_copies(
            rng_ref, gaps, who, group, row, sharers, net, p_notice, trials, stamp
        )  # fmt: skip
        draws.return_unread(rng, gaps, state, read)
    return who, group, row, deliveries, msg, recv, messages


def _article_or_news(p: InformationProcess, pop, j: int, spreaders: np.ndarray) -> np.ndarray:
    """The stance of each sharer of paywalled guideline ``j`` this step: the article when they
    hold the full text and can fetch it (institutional access) or were given it first (seeds,
    broadcasts); one who got it from a shared article forwards the article with
    ``article_forward_prob`` (one draw each); the news otherwise."""
    source = p.arrays.source[j, spreaders]
    article = ((source != Src.NONE) & pop.paywall[spreaders]) | (source == Src.HOLDER)
    got = ~article & ((source == Src.ARTICLE) | (source == Src.ARTICLE_LATER))
    if got.any():
        article[got] = p.rng.random(int(got.sum())) < p.config.article_forward_prob
    return np.where(article, ARTICLE, CONTENT).astype(np.int8)


def emit_direct(p: InformationProcess, model, j: int, stance, senders: np.ndarray, t: float) -> None:
    """1-on-1 messages of item ``j`` (``stance`` per sender or one for all) from ``senders``
    to a contact each (``direct_targets = "anyone"``: to anyone but themselves)."""
    n = model.pop.n
    stance = np.full(senders.size, stance, np.int8) if np.ndim(stance) == 0 else np.asarray(stance, np.int8)
    if p.config.direct_targets == "anyone":
        recv = p.rng.integers(0, n - 1, senders.size)
        recv = recv + (recv >= senders)  # anyone but oneself
    else:
        c = model.contacts
        deg = c.indptr[senders + 1] - c.indptr[senders]
        has = deg > 0
        senders, stance, deg = senders[has], stance[has], deg[has]
        recv = c.neighbors[c.indptr[senders] + (p.rng.random(senders.size) * deg).astype(np.int64)]
    if senders.size == 0:
        return
    _sent_direct(p, j, stance, senders, recv, t)
    noticed = p.rng.random(senders.size) < p.settings["notice_prob"][j]
    senders, recv, stance = senders[noticed], recv[noticed], stance[noticed]
    m = senders.size
    p.queues.queue(
        recv,
        np.arange(m),
        kernels.Messages(
            np.full(m, j, np.int32),
            stance,
            senders.astype(np.int32),
            np.full(m, -1, np.int32),
            np.full(m, -1, np.int64),
            np.full(m, t, np.float64),
            credibility(p.config, model.pop, senders),
        ),
    )


def emit_group_posts(p: InformationProcess, model, j: int, stance, senders, groups, sender_rows, t: float) -> None:
    """Pinned posts of item ``j`` (stance per post) by ``senders`` (membership rows
    ``sender_rows``) in ``groups``. (Sharers' posts come from :func:`post`.)"""
    net = model.net
    groups = np.asarray(groups, np.int32)
    senders = np.asarray(senders, np.int64)
    if groups.size == 0:
        return
    p.arrays.cover_groups(net.n_groups)
    # copies to the other unmuted members; only those that will be noticed are kept
    owner, recv, deliveries = kernels.noticed_copies(
        p.rng,
        groups,
        np.asarray(sender_rows, np.int64),
        groups_of(net),
        float(p.settings["notice_prob"][j]),
        p.arrays.group_posts[j],
    )
    stance = np.asarray(stance, np.int8)
    if p.config.heterogeneity:
        weight = credibility(p.config, model.pop, senders).astype(np.float32)
    else:
        weight = np.ones(1, np.float32)
    keep, msg = kernels.with_copies(owner, groups.size)
    messages = kernels.message_columns(
        np.arange(groups.size),
        kernels.Sharers(senders, _NO_P_POST, stance, weight),
        groups,
        kernels.Stamp(j, float(t), p.queues.n_posts),
        keep,
    )
    _posted(p, model, j, stance, senders, groups, t, deliveries, (recv, msg, messages), pinned=True)


def _per_post(values: np.ndarray, n: int) -> np.ndarray | np.generic:
    """``values`` for ``n`` posts: themselves, or their one value (the log repeats a scalar
    over the rows; cheaper than ``np.broadcast_to``)."""
    return values if values.size == n else values.reshape(-1)[0]


def _posted(
    p: InformationProcess,
    model,
    j: int,
    stance,
    senders,
    groups,
    t: float,
    deliveries: int,
    copies: tuple[np.ndarray, np.ndarray, kernels.Messages],
    pinned: bool = False,
) -> None:
    """Book posts of item ``j`` (``stance`` per post or one for all) and queue their
    noticed ``copies`` (reader, message index, and the messages of the posts with a copy;
    post ids from ``queues.n_posts``); moderators may check rumor posts."""
    n_new = groups.size
    first_id = p.queues.new_posts(n_new)
    p.counters["posts"] += n_new
    p.counters["deliveries"] += int(deliveries)
    own = stance != CORRECTION
    if own.size == 1:  # one stance for all posts (or one post)
        if own.any():
            p.arrays.ever_shared[j, senders] = True
    else:
        p.arrays.ever_shared[j, senders[own]] = True
    if p.log.enabled:
        log_item = np.where(stance == CORRECTION, p.catalog.corr_id.get(j, j), j)
        kind: str | np.ndarray | np.generic = "pinned" if pinned else "post"
        if not pinned and np.any(stance == ARTICLE):
            kind = _per_post(np.where(stance == ARTICLE, EVENT_KINDS.index("article"), _POST), n_new)
        p.log.add(_per_post(log_item, n_new), kind, senders, -1, groups, t)
    p.queues.queue(*copies)
    if p.config.moderation.enabled and not pinned and p.catalog.kinds[j] == "rumor":
        moderation.queue_checks(p, model, j, stance, groups, first_id, t)
