"""Compiled inner loops of the information process (numba, ``nopython``).

The information process spends its time in three loops: deciding which sharers post in
which of their groups, placing the copies of those posts that their readers will notice,
and reading a batch of copies in order. Written as vectorized numpy they cost dozens of
array passes and temporaries per step, which dominate at every size; here each is one
pass over its input.

The kernels take their arrays grouped in named tuples, so that a call reads as what it
passes: :class:`Groups` (the membership index), :class:`Sharers` (who posts, with what),
:class:`Stamp` (what every post of a batch carries), :class:`Messages` (posts and direct
messages: what every copy of one carries), :class:`Copies` (copies of messages, one per
reader: a batch being read), :class:`GuidelineState` (one item's
per-clinician state, updated in place), :class:`ReadRules` (one item's reading rules) and
:class:`Uptake` (a guideline's full text and staged adoption).

The kernels draw from the process's ``numpy.random.Generator``: passed in (numba consumes
the same bit generator as numpy, so a kernel's draws and the process's numpy draws form
one reproducible stream), or as numbers drawn from it beforehand by numpy (:mod:`.draws`:
posting's and reading's uniforms, the noticed copies' gaps). ``kernel.py_func`` is the
same code run by the interpreter: the tests check that it gives identical results to the
compiled kernel.

Compiled code is cached next to this file (``cache=True``); the first use after an
install compiles it once (a few seconds), later runs load it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from ...group_index import membership_row
from ...rng_ref import as_generator
from .config import ADOPTED, ARTICLE, AWARE, CONSIDERING, UNAWARE, Src

__all__ = [
    "Copies",
    "Groups",
    "GuidelineState",
    "Messages",
    "ReadRules",
    "Sharers",
    "Stamp",
    "Uptake",
    "choose_posts",
    "count_copies",
    "log_no_notice",
    "message_columns",
    "noticed_copies",
    "place_copies",
    "post_copies",
    "post_in_groups",
    "posting_trials",
    "read_guideline",
    "with_copies",
]


class Groups(NamedTuple):
    """The group membership index as the kernels see it (see :class:`sim.groups.GroupNetwork`):
    rows sorted by group (``g_indptr``, ``g_members``), each clinician's groups (``c_indptr``,
    ``c_groups``) and their rows (``c_rows``; empty: found by :func:`sim.group_index.membership_row`,
    see :func:`sim.group_index.entry_rows`), muted rows and muted rows per group."""

    c_indptr: np.ndarray  # int64, clinicians + 1
    c_groups: np.ndarray  # int32, group of each of a clinician's rows
    c_rows: np.ndarray  # int32, membership row of each of a clinician's rows, or empty
    g_indptr: np.ndarray  # int64, groups + 1
    g_members: np.ndarray  # int32, clinician of each row (rows sorted by group)
    m_muted: np.ndarray  # bool, per row
    g_muted: np.ndarray  # int64, muted rows per group


class Sharers(NamedTuple):
    """Who posts, and what their copies carry; ``p_post``, ``stance`` and ``weight`` hold
    one value per sharer or a single value for all."""

    ids: np.ndarray  # int64, clinicians
    p_post: np.ndarray  # float64, probability of a post per (sharer, group) this step
    stance: np.ndarray  # int8, CONTENT or CORRECTION
    weight: np.ndarray  # float32, weight of a copy (credibility x fidelity)


class Stamp(NamedTuple):
    """What every post of one batch carries."""

    item: int
    t: float
    first_id: int  # id of the batch's first post; post k is first_id + k


class Messages(NamedTuple):
    """Posts and direct messages, one row each: what every copy of one carries."""

    item: np.ndarray  # int32, item id (content items; corrections as their rumor)
    stance: np.ndarray  # int8, CONTENT or CORRECTION
    sender: np.ndarray  # int32
    group: np.ndarray  # int32, -1 for a direct message
    post: np.ndarray  # int64, post id, -1 for a direct message
    t: np.ndarray  # float64, time sent
    weight: np.ndarray  # float32, credibility x fidelity of the copy


class Copies(NamedTuple):
    """Copies of messages, one per (message, reader): the reader, then the :class:`Messages`
    columns of its message (a batch being read)."""

    recv: np.ndarray  # int32, reader
    item: np.ndarray  # int32, item id (content items; corrections as their rumor)
    stance: np.ndarray  # int8, CONTENT or CORRECTION
    sender: np.ndarray  # int32
    group: np.ndarray  # int32, -1 for a direct message
    post: np.ndarray  # int64, post id, -1 for a direct message
    t: np.ndarray  # float64, time sent
    weight: np.ndarray  # float32, credibility x fidelity of the copy


class GuidelineState(NamedTuple):
    """One guideline's (or case report's) per-clinician state, updated in place."""

    state: np.ndarray  # int8, UNAWARE / AWARE / ADOPTED
    active: np.ndarray  # bool, still sharing
    t_first: np.ndarray  # float32, aware since
    t_taken: np.ndarray  # float32, adopted at
    n_sources: np.ndarray  # int16, distinct consecutive sources counted
    last_src: np.ndarray  # int32, the previous source
    group_posts: np.ndarray  # int32, posts of the item per group


class ReadRules(NamedTuple):
    """How one guideline or case report is taken in (see :func:`read_guideline`)."""

    share_prob: float
    stifle_prob: float
    adoptable: bool  # guidelines: True; case reports stop at aware
    adopt_prob: float
    adoption_sources: int
    discussion_posts: int
    literacy_ref: float


class Uptake(NamedTuple):
    """One guideline's full text (its source) and staged adoption (see :func:`read_guideline`)."""

    staged: bool  # adoption = "staged": eligible readers with the full text start considering
    paywalled: bool  # the full text comes from own access or an article copy, not with any copy
    access: np.ndarray  # bool per clinician: institutional access (fetches the full text itself)
    source: np.ndarray  # int8 per clinician: how they got the full text (config.Src), updated in place
    stage: np.ndarray  # int8 per clinician: 0, CONSIDERING or REJECTED, updated in place
    reinforced: np.ndarray  # int16 per clinician: reinforcing copies read while considering


# the Src codes as plain ints (nopython code reads module globals, not class attributes)
_NONE, _OPEN, _OWN, _ARTICLE, _ARTICLE_LATER = Src.NONE, Src.OPEN, Src.OWN, Src.ARTICLE, Src.ARTICLE_LATER
_MAX_REINFORCED = 30000  # int16
#: the trials of a sharer's groups that :func:`choose_posts` makes as one block, when it has
#: no more groups (most clinicians are in a few)
UNROLL = 8
#: uniform draws made at a time by :func:`read_guideline` in a burst (256 KiB)
DRAW_BLOCK = 1 << 15
#: uniforms from which a batch is read as a burst (8 MiB): below, every uniform is drawn
#: beforehand by numpy, which costs less than drawing blocks in the kernel (with the
#: Generator passed in, a batch of 44,000 copies took 2.5 ms against 1.6 ms)
BURST_FROM = 1 << 20


@njit(cache=True)
def posting_trials(ids: np.ndarray, p_post: np.ndarray, c_indptr: np.ndarray) -> int:
    """The uniforms :func:`post_in_groups` reads for the sharers ``ids``: one per group
    membership of each sharer who may post (``p_post`` > 0, one value for all or one per
    sharer), then one per sharer (whether it stops)."""
    same = p_post.size == 1
    n = ids.size
    for i in range(ids.size):
        s = ids[i]
        if (p_post[0] if same else p_post[i]) > 0.0:
            n += c_indptr[s + 1] - c_indptr[s]
    return n


@njit(cache=True)
def choose_posts(rng_ref, u, sharers, net, p_stop, active, group_posts):
    """Which sharers post in which of their groups this step, and who stops.

    Per sharer, in the order of ``sharers.ids``: one Bernoulli(``p_post[i]``) trial per
    group membership, in the order of its memberships, then one Bernoulli(``p_stop``)
    trial: the sharer stops (``active`` becomes false). The trials read the uniforms ``u``
    in order, drawn beforehand (:func:`.draws.posting_uniforms`: exactly as many as they read),
    or, when ``u`` is empty, drawn here from ``rng_ref`` (8 bytes a trial while the step
    runs). Adds one to ``group_posts`` per post. Returns (index into ``sharers.ids``,
    group, membership row) of every post, then the trials and deliveries of their copies
    (:func:`count_copies`).
    """
    rng = as_generator(rng_ref)  # a Generator, or a GeneratorRef (passed at the cost of a pointer)
    ids, p_post = sharers.ids, sharers.p_post  # locals: the loops below run at full speed
    c_indptr, c_groups, c_rows = net.c_indptr, net.c_groups, net.c_rows
    same = p_post.size == 1
    if u.size == 0:
        u = rng.random(posting_trials(ids, p_post, c_indptr))
    cap = u.size - ids.size  # at most as many posts as membership trials
    if cap < 0:
        raise ValueError("choose_posts: fewer uniforms than the sharers' trials")
    # every trial is written at n, kept (n advances) if it posts; room for a block of UNROLL
    who = np.empty(cap + UNROLL, np.int32)
    ent = np.empty(cap + UNROLL, np.int32)  # the membership of each post (group and row are read after)
    n = 0
    q = 0
    for i in range(ids.size):
        s = ids[i]
        p = p_post[0] if same else p_post[i]
        lo, hi = c_indptr[s], c_indptr[s + 1]
        d = hi - lo
        if q + (d + 1 if p > 0.0 else 1) > u.size:
            raise ValueError("choose_posts: fewer uniforms than the sharers' trials")
        if p > 0.0:
            if d <= UNROLL and q + UNROLL <= u.size:
                # a fixed block of trials, those past the sharer's own masked out: no branch
                # on the number of its groups (which a loop of its own mispredicts at its end)
                for k in range(UNROLL):
                    who[n] = i
                    ent[n] = lo + k
                    n += (k < d) & (u[q + k] < p)
                q += d
            else:
                for e in range(lo, hi):
                    who[n] = i
                    ent[n] = e
                    n += u[q] < p
                    q += 1
        if u[q] < p_stop:
            active[s] = False
        q += 1
    if q != u.size:
        raise ValueError("choose_posts: more uniforms than the sharers' trials")
    group = np.empty(n, np.int32)
    row = np.empty(n, np.int64)
    for k in range(n):
        group[k] = c_groups[ent[k]]
        if c_rows.size:
            row[k] = c_rows[ent[k]]
        else:
            row[k] = membership_row(c_indptr, c_groups, net.g_indptr, net.g_members, ids[who[k]], ent[k])
    trials, deliveries = count_copies(group, row, net, group_posts)
    return who[:n].astype(np.int64), group, row, trials, deliveries  # compact: callers keep them


@njit(cache=True)
def post_copies(rng_ref, gaps, who, group, row, sharers, net, p_notice, trials, stamp):
    """The noticed copies of the posts of :func:`choose_posts` (``trials`` from it), placed
    with the ``gaps`` drawn ahead and then from ``rng_ref`` (:func:`place_copies`). Returns
    (message index, reader) of every noticed copy, the :class:`Messages` of the posts with a
    noticed copy (``with_copies``, ``message_columns``; post k's id is ``stamp.first_id +
    k``) and the gaps read."""
    post, recv, used = place_copies(as_generator(rng_ref), gaps, group, row, net, p_notice, trials)
    keep, msg = with_copies(post, who.size)
    return msg, recv, message_columns(who, sharers, group, stamp, keep), used


@njit(cache=True)
def post_in_groups(rng_ref, u, sharers, net, p_notice, p_stop, active, group_posts, stamp, ahead_from):
    """:func:`choose_posts`, then, unless ``ahead_from`` noticed copies or more are expected
    (their gaps are then best drawn ahead by numpy: ``draws.notice_gaps``), :func:`post_copies`
    with every gap drawn here: one call for the usual step. Returns what :func:`choose_posts`
    returns, what :func:`post_copies` returns but the gaps read (none when the copies are left
    to the caller), and whether the copies were placed."""
    who, group, row, trials, deliveries = choose_posts(rng_ref, u, sharers, net, p_stop, active, group_posts)
    if 0.0 < p_notice < 1.0 and trials * p_notice >= ahead_from:
        none = np.zeros(0, np.int64)
        msg, recv = none, np.zeros(0, np.int32)
        return who, group, row, trials, deliveries, msg, recv, message_columns(who, sharers, group, stamp, none), False
    msg, recv, messages, _ = post_copies(
        rng_ref, np.zeros(0, np.int64), who, group, row, sharers, net, p_notice, trials, stamp
    )
    return who, group, row, trials, deliveries, msg, recv, messages, True


@njit(cache=True)
def with_copies(post, n_posts):
    """The posts that have a noticed copy, and each copy's index among them, from the post
    index of each copy (``post``, nondecreasing, as :func:`noticed_copies` returns it):
    posts nobody will notice carry no message (most posts to a large group, at low
    ``notice_prob``)."""
    keep = np.empty(min(post.size, n_posts), np.int64)
    msg = np.empty(post.size, np.int64)
    m = 0
    for i in range(post.size):
        if m == 0 or post[i] != keep[m - 1]:
            keep[m] = post[i]
            m += 1
        msg[i] = m - 1
    return keep[:m].copy(), msg


@njit(cache=True)
def noticed_copies(rng, groups, sender_rows, net, p, group_posts):
    """The copies of posts that their readers will notice.

    A post (``groups[k]``, sender's membership row ``sender_rows[k]``) reaches the other
    members of its group; each notices it independently with probability ``p``. Adds one
    to ``group_posts`` per post. Returns (post index, receiver) of every noticed copy and
    the number of deliveries (copies to unmuted members, noticed or not): :func:`count_copies`
    then :func:`place_copies`, every gap drawn here.
    """
    trials, deliveries = count_copies(groups, sender_rows, net, group_posts)
    post, recv, _ = place_copies(rng, np.zeros(0, np.int64), groups, sender_rows, net, p, trials)
    return post, recv, deliveries


@njit(cache=True)
def count_copies(groups, sender_rows, net, group_posts):
    """The trials of the copies of posts (``groups[k]``, sender's membership row
    ``sender_rows[k]``): one per other member of the group, muted or not; and the
    deliveries, those to unmuted members. Adds one to ``group_posts`` per post."""
    g_indptr, m_muted, g_muted = net.g_indptr, net.m_muted, net.g_muted
    trials = 0
    deliveries = 0
    for k in range(groups.size):
        g = groups[k]
        group_posts[g] += 1
        others = g_indptr[g + 1] - g_indptr[g] - 1
        trials += others
        deliveries += others - g_muted[g] + (1 if g_muted[g] and m_muted[sender_rows[k]] else 0)
    return trials, deliveries


@njit(cache=True)
def log_no_notice(p):
    """log(1 - p), as :func:`place_copies` takes it (-inf at p = 1)."""
    return np.log1p(-p) if p < 1.0 else -np.inf


@njit(cache=True)
def place_copies(rng, gaps, groups, sender_rows, net, p, trials):
    """The copies of posts that their readers will notice (``trials``: :func:`count_copies`).

    Each other member of a post's group notices it independently with probability ``p``.
    The trials of all posts, laid end to end, form one Bernoulli sequence, so the noticed
    ones are placed directly by geometric gaps: exact, and O(posts + noticed copies) rather
    than O(copies). The gaps are read from ``gaps`` (drawn ahead, :func:`.draws.notice_gaps`),
    then drawn from ``rng``. Muted members get nothing. Returns (post index, receiver) of
    every noticed copy and the gaps read.
    """
    g_indptr, g_members, m_muted = net.g_indptr, net.g_members, net.m_muted
    if trials == 0 or p <= 0.0:
        return np.empty(0, np.int64), np.empty(0, np.int32), 0
    post = np.empty(trials, np.int64)  # at most one copy per trial (pages untouched stay free)
    row = np.empty(trials, np.int64)
    n = 0
    log_q = log_no_notice(p)
    read = 1
    gap = gaps[0] if gaps.size else _failures(rng, log_q)  # trials before the next success
    for k in range(groups.size):
        g = groups[k]
        start = g_indptr[g]
        others = g_indptr[g + 1] - start - 1
        slot = sender_rows[k] - start
        while gap < others:
            row[n] = start + gap + (1 if gap >= slot else 0)  # skip the sender's own slot
            post[n] = k
            n += 1
            gap += 1 + (gaps[read] if read < gaps.size else _failures(rng, log_q))
            read += 1
        gap -= others
    # the readers, in a pass of their own (its scattered reads overlap, free of the draws);
    # a trial that fell on a muted member gives no copy
    recv = np.empty(n, np.int32)
    m = 0
    for i in range(n):
        r = row[i]
        if not m_muted[r]:
            post[m] = post[i]
            recv[m] = g_members[r]
            m += 1
    return post[:m].copy(), recv[:m].copy(), read  # compact: the buffers hold a slot per trial


@njit(cache=True)
def message_columns(who, sharers, group, stamp, keep):
    """The :class:`Messages` of the posts ``keep`` (indices into a batch of posts): post k is
    by ``sharers.ids[who[k]]`` in ``group[k]``, with the sharer's stance and weight, and
    the batch's item and time; its id is ``stamp.first_id + k``."""
    ids, stance, weight = sharers.ids, sharers.stance, sharers.weight
    m = keep.size
    m_stance = np.empty(m, np.int8)
    m_sender = np.empty(m, np.int32)
    m_group = np.empty(m, np.int32)
    m_post = np.empty(m, np.int64)
    m_weight = np.empty(m, np.float32)
    one_stance, one_weight = stance.size == 1, weight.size == 1
    for q in range(m):
        k = keep[q]
        i = who[k]
        m_stance[q] = stance[0] if one_stance else stance[i]
        m_weight[q] = weight[0] if one_weight else weight[i]
        m_sender[q] = ids[i]
        m_group[q] = group[k]
        m_post[q] = stamp.first_id + k
    return Messages(
        np.full(m, stamp.item, np.int32), m_stance, m_sender, m_group, m_post, np.full(m, stamp.t, np.float64), m_weight
    )


@njit(cache=True)
def _failures(rng, log_q):
    """Failures before the first success of Bernoulli(p) trials, log_q = log(1 - p):
    floor(log(U) / log(1 - p)) with U uniform on (0, 1] is Geometric(p) - 1 exactly."""
    if log_q == -np.inf:
        return 0
    # capped: for p below ~4e-18 the gap exceeds int64 (the cap is beyond any count of copies)
    return int(min(np.log(1.0 - rng.random()) / log_q, 4.0e18))


@njit(cache=True)
def _more_uniforms(rng, u, q, left):
    """The uniforms ``u[q:]`` not used yet, followed by the next ``min(left, DRAW_BLOCK)``
    of ``rng``'s stream; returns them, their first index (0) and the draws still to make."""
    kept = u.size - q
    d = min(left, DRAW_BLOCK)
    v = np.empty(kept + d)
    v[:kept] = u[q:]
    v[kept:] = rng.random(d)
    return v, 0, left - d


@njit(cache=True)
def read_guideline(u, order, copies, item, rules, uptake, literacy, t, rng=None):
    """Read ``copies[order]`` of one guideline or case report, one at a time in a random
    order (``order``, indices into the copies, is shuffled in place); ``item`` is the
    item's :class:`GuidelineState`, ``rules`` its :class:`ReadRules`, ``uptake`` its
    :class:`Uptake`.

    * An unaware reader becomes aware (``t_first``), shares with ``share_prob`` and
      counts the sender as its first source.
    * A reader who knew already: the sender of a direct message (``group < 0``) stops
      sharing with ``stifle_prob`` (Maki-Thompson). When ``adoptable`` (guidelines), an
      aware reader counts the sender if it differs from the previous source, and is
      eligible once ``adoption_sources`` distinct consecutive sources were counted or
      the copy comes from a group with ``discussion_posts`` posts of the item.
    * The full text (guidelines): every copy carries it unless ``uptake.paywalled``; then
      an article copy (stance ``ARTICLE``) carries it, or the reader's own ``access``
      fetches it on becoming aware. ``uptake.source`` records how (config.Src). Without
      the full text a reader is never eligible.
    * ``uptake.staged`` (adoption = "staged"): an eligible aware reader starts considering
      (``uptake.stage``), at once on becoming aware when one source suffices; no draw. A
      considering reader counts a reinforcing copy (``uptake.reinforced``) for each copy
      from a new source or from a group that discussed the item; adoption itself is a
      per-day decision (:mod:`.adoption`).
    * Otherwise (adoption = "per_copy"): an eligible reader adopts with ``adopt_prob``,
      times ``literacy / literacy_ref`` (clipped to [0, 2]) and the copy's weight when
      ``literacy`` (per clinician) is given (an empty array: no heterogeneity).

    The random numbers come from ``u``, uniforms on [0, 1) drawn beforehand: one per copy
    for the shuffle and at most two more per copy (sharing, or stifling and adoption), so
    ``3 * order.size`` always suffice. (Passing them costs less than passing the
    Generator, whose unboxing dominates a call on a small batch.) A burst of millions of
    copies passes ``rng`` and the first block of those uniforms: the rest are drawn a
    block at a time as they are used, and the stream is advanced to ``3 * order.size``
    draws at the end: the same numbers, without holding them all at once.

    Updates the state arrays in place; returns the positions (into the copies) of the
    copies that made their reader aware, adopt, and start considering.
    """
    recv, sender, group, weight, stance = copies.recv, copies.sender, copies.group, copies.weight, copies.stance
    state, active, t_first, t_taken = item.state, item.active, item.t_first, item.t_taken
    n_sources, last_src, group_posts = item.n_sources, item.last_src, item.group_posts
    share_prob, stifle_prob, adoptable = rules.share_prob, rules.stifle_prob, rules.adoptable
    adopt_prob, adoption_sources, discussion_posts = rules.adopt_prob, rules.adoption_sources, rules.discussion_posts
    literacy_ref = rules.literacy_ref
    staged, paywalled, access = uptake.staged, uptake.paywalled, uptake.access
    source, stage, reinforced = uptake.source, uptake.stage, uptake.reinforced
    q = 0  # next unused uniform
    left = 0  # uniforms of the 3 * order.size not drawn yet (only with rng)
    if rng is not None:
        left = 3 * order.size - u.size
    for i in range(order.size - 1, 0, -1):  # Fisher-Yates: a uniformly random reading order
        if q == u.size:
            if rng is not None:
                u, q, left = _more_uniforms(rng, u, q, left)
        k = int(u[q] * (i + 1))  # (uniform up to 2^-53 rounding)
        q += 1
        order[i], order[k] = order[k], order[i]
    aware_at = np.empty(order.size, np.int64)
    adopt_at = np.empty(order.size, np.int64)
    consider_at = np.empty(order.size, np.int64)
    n_aware = 0
    n_adopt = 0
    n_consider = 0
    hetero = literacy.size > 0
    for c in order:
        if u.size - q < 2:  # a copy uses at most two
            if rng is not None:
                u, q, left = _more_uniforms(rng, u, q, left)
        r = recv[c]
        st = state[r]
        g = group[c]
        article = stance[c] == ARTICLE
        if st == UNAWARE:
            state[r] = AWARE
            if np.isnan(t_first[r]):
                t_first[r] = t
            aware_at[n_aware] = c
            n_aware += 1
            if u[q] < share_prob:
                active[r] = True
            q += 1
            last_src[r] = sender[c]
            n_sources[r] = 1
            if not adoptable:
                continue
            if article:
                source[r] = _ARTICLE
            elif not paywalled:
                source[r] = _OPEN
            elif access[r]:
                source[r] = _OWN
            if not staged:
                continue
        else:
            if stifle_prob > 0.0 and g < 0:
                if u[q] < stifle_prob:
                    active[sender[c]] = False
                q += 1
            if not adoptable or st != AWARE:
                continue
            if article and source[r] == _NONE:
                source[r] = _ARTICLE_LATER
            new_source = sender[c] != last_src[r]
            if new_source:
                n_sources[r] += 1
                last_src[r] = sender[c]
            if staged and stage[r] != 0:
                if stage[r] == CONSIDERING and reinforced[r] < _MAX_REINFORCED:
                    if new_source or (g >= 0 and group_posts[g] >= discussion_posts):
                        reinforced[r] += 1
                continue
        eligible = n_sources[r] >= adoption_sources or (g >= 0 and group_posts[g] >= discussion_posts)
        if not eligible or (paywalled and source[r] == _NONE):
            continue
        if staged:
            stage[r] = CONSIDERING
            consider_at[n_consider] = c
            n_consider += 1
            continue
        p = adopt_prob
        if hetero:
            p *= min(max(literacy[r] / literacy_ref, 0.0), 2.0) * weight[c]
        q += 1
        if u[q - 1] < p:
            state[r] = ADOPTED
            t_taken[r] = t
            adopt_at[n_adopt] = c
            n_adopt += 1
    if rng is not None:
        while left > 0:  # the stream moves on as if every uniform had been drawn at once
            d = min(left, DRAW_BLOCK)
            rng.random(d)
            left -= d
    return aware_at[:n_aware], adopt_at[:n_adopt], consider_at[:n_consider]
