"""The state of the information process in one run.

* :class:`Catalog`: the items of the run, fixed at set-up. Content items (guidelines,
  rumors, case reports) have ids ``0..k-1``; each rumor's corrections travel as that
  rumor's item with the correction stance, and have an id of their own ``k + r`` in the
  event log only (``<rumor>:correction``, whose parent is the rumor).
* :class:`ItemSettings`: each item's spreading settings (its own, else its kind's
  default), re-read when the scenario's items change during a run.
* :class:`ItemArrays`: per (item, clinician) state, arrays of shape (items, clinicians).
* :class:`RumorTrack`: each rumor's believer trajectory (peak, believer-days, ...).
* :class:`Queues`: the messages in flight (copies not yet read, and the posts and direct
  messages they are copies of), the moderation queue and the removed posts.
* Table specs of the queues and the event log (:class:`sim.table.Table`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from ...arrays import sorted_member
from ...kernels import merge_where
from ...table import Table
from . import kernels
from .config import BELIEVES, ROLE_ORDER, SPREAD_FIELDS, InformationConfig, ItemConfig
from .reading_kernels import open_chats

__all__ = [
    "COUNTERS",
    "DELIVERY_SPEC",
    "EVENT_SPEC",
    "MESSAGE_SPEC",
    "MODERATION_SPEC",
    "PENDING_SPEC",
    "Catalog",
    "ItemArrays",
    "ItemSettings",
    "Queues",
    "RumorTrack",
    "credibility",
    "per_step",
]

# copies being read: one row per copy, its reader and what its message carries (the columns of kernels.Copies)
DELIVERY_SPEC = {
    "recv": np.int32,
    "item": np.int32,
    "stance": np.int8,
    "sender": np.int32,
    "group": np.int32,
    "post": np.int64,
    "t": np.float64,
    "weight": np.float32,
}
assert tuple(DELIVERY_SPEC) == kernels.Copies._fields
# posts and direct messages with copies in flight: what every copy of one carries (kernels.Messages)
MESSAGE_SPEC = {name: dtype for name, dtype in DELIVERY_SPEC.items() if name != "recv"}
assert tuple(MESSAGE_SPEC) == kernels.Messages._fields
# pending deliveries: one row per noticed copy not yet read, its reader and its message (row of the messages)
PENDING_SPEC = {"recv": np.int32, "msg": np.int32}
#: message rows at least, before the messages no pending copy refers to are dropped
MESSAGES_COMPACT_MIN = 1 << 16
#: takes between two looks at the queues' buffers (Queues._give_back), and the rows they always keep room for
SHRINK_EVERY = 48
SHRINK_FLOOR = 1 << 16
# rumor posts a moderator will act on at time t
MODERATION_SPEC = {"post": np.int64, "group": np.int32, "item": np.int32, "moderator": np.int32, "t": np.float64}
# the event log: item id (corrections: their own id), kind (config.EVENT_KINDS), who, where, when
EVENT_SPEC = {
    "item": np.int32,
    "kind": np.int8,
    "sender": np.int32,
    "receiver": np.int32,
    "group": np.int32,
    "t": np.float32,
}
COUNTERS = ("posts", "direct", "deliveries", "read", "purged", "reasked", "removed_posts", "removed_copies", "pinned")


def per_step(p_day: float, dt_days: float) -> float:
    """A per-day probability as the probability per step of ``dt_days`` days."""
    return 1.0 - (1.0 - min(max(float(p_day), 0.0), 1.0)) ** dt_days


def credibility(cfg: InformationConfig, pop, sender: np.ndarray) -> np.ndarray:
    """Weight of each sender as a source: role x tier x (0.5 + expertise) (1 without heterogeneity)."""
    if not cfg.heterogeneity:
        return np.ones(sender.size, np.float32)
    role_c, tier_c = source_weights(cfg)
    return role_c[pop.role[sender]] * tier_c[pop.tier[sender]] * (0.5 + pop.expertise[sender])


def source_weights(cfg: InformationConfig) -> tuple[np.ndarray, np.ndarray]:
    """The weight of a source by role (in ROLE_ORDER) and by tier under the current settings."""
    return _source_weights(tuple(cfg.role_credibility.items()), tuple(cfg.tier_credibility))


@functools.lru_cache(maxsize=64)
def _source_weights(role_credibility: tuple, tier_credibility: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Weight of a source by role (in ROLE_ORDER) and by tier, per settings (a settings
    intervention may change them); read-only arrays."""
    given = dict(role_credibility)
    role_c = np.array([given.get(r, 1.0) for r in ROLE_ORDER], np.float32)
    tier_c = np.asarray(tier_credibility, np.float32)
    role_c.flags.writeable = tier_c.flags.writeable = False
    return role_c, tier_c


class Catalog:
    """The items of a run and their ids (fixed at set-up)."""

    def __init__(self, items: list[ItemConfig]):
        self.all = list(items)  # as the scenario lists them (seeding order)
        self.items = [it for it in items if it.kind != "correction"]
        self.index = {it.name: k for k, it in enumerate(self.items)}
        k = len(self.items)
        self.kinds = [it.kind for it in self.items]
        self.rumors = [j for j, kd in enumerate(self.kinds) if kd == "rumor"]
        self.corr_id = {j: k + r for r, j in enumerate(self.rumors)}
        self.names = [it.name for it in self.items] + [f"{self.items[j].name}:correction" for j in self.rumors]
        self.parents = [-1] * k + self.rumors

    def __len__(self) -> int:
        return len(self.items)


class ItemSettings:
    """Each item's spreading settings, as arrays over items (``settings["notice_prob"][j]``).

    :meth:`refresh` re-reads them from the item configs when any changed (a ``settings``
    intervention), so a change takes effect from the next step; ``version`` counts
    changes so that derived constants know when to recompute.
    """

    def __init__(self, items: list[ItemConfig]):
        self.items = items
        self.version = 0
        self._seen: tuple = ()
        self.values: dict[str, np.ndarray] = {}
        self.media = np.zeros(len(items), bool)
        self.any_media = False
        self.refresh()

    def __getitem__(self, name: str) -> np.ndarray:
        return self.values[name]

    def _signature(self) -> tuple:
        return tuple([tuple(it.__dict__.values()) for it in self.items])  # every field: cheap to take

    def refresh(self) -> bool:
        """Re-read the settings if an item's changed; True when they did."""
        sig = self._signature()
        if sig == self._seen:
            return False
        self._seen = sig
        self.values = {name: np.array([it.setting(name) for it in self.items]) for name in SPREAD_FIELDS}
        self.media = np.array([it.media for it in self.items], bool)
        self.any_media = bool(self.media.any())
        self.version += 1
        return True


_NOBODY = np.zeros(0, np.int64)  # ItemArrays.sharers: nobody joined since


@dataclass
class ItemArrays:
    """Per (item, clinician) state: arrays of shape (items, clinicians); ``group_posts`` is
    (items, groups) and grows with the number of groups."""

    state: np.ndarray  # int8: config.UNAWARE/AWARE/ADOPTED or UNAWARE/BELIEVES/CORRECTED/DOUBTS
    active: np.ndarray  # bool: shares the item (or, for rumors, their current stance)
    t_first: np.ndarray  # float32: heard / aware
    t_taken: np.ndarray  # float32: adopted / first believed
    ever_believed: np.ndarray  # bool
    reached_corr: np.ndarray  # bool: a believer read a correction
    persistent: np.ndarray  # bool: a correction never turns this believer
    n_sources: np.ndarray  # int16: distinct consecutive sources (guideline adoption)
    last_src: np.ndarray  # int32: the previous source
    group_posts: np.ndarray  # int32, (items, groups): posts of the item in each group
    source: np.ndarray  # int8: how a guideline's full text was got (config.Src)
    stage: np.ndarray  # int8: 0, config.CONSIDERING or config.REJECTED (staged adoption)
    reinforced: np.ndarray  # int16: reinforcing copies read while considering
    held_back: np.ndarray  # bool: a barrier of the tier holds back the considering clinician
    ever_shared: np.ndarray  # bool: posted or sent the item (its own stance) at least once
    _views: dict[int, kernels.GuidelineState] = field(default_factory=dict, repr=False)
    # the sharers of each item (ascending) when posting last read them, and those who may
    # have started sharing since: ``sharers`` updates the one from the others
    _sharers: dict[int, np.ndarray] = field(default_factory=dict, repr=False)
    _joined: dict[int, list[np.ndarray]] = field(default_factory=dict, repr=False)

    @classmethod
    def zeros(cls, k: int, n: int, n_groups: int) -> ItemArrays:
        return cls(
            state=np.zeros((k, n), np.int8),
            active=np.zeros((k, n), bool),
            t_first=np.full((k, n), np.nan, np.float32),
            t_taken=np.full((k, n), np.nan, np.float32),
            ever_believed=np.zeros((k, n), bool),
            reached_corr=np.zeros((k, n), bool),
            persistent=np.zeros((k, n), bool),
            n_sources=np.zeros((k, n), np.int16),
            last_src=np.full((k, n), -1, np.int32),
            group_posts=np.zeros((k, n_groups), np.int32),
            source=np.zeros((k, n), np.int8),
            stage=np.zeros((k, n), np.int8),
            reinforced=np.zeros((k, n), np.int16),
            held_back=np.zeros((k, n), bool),
            ever_shared=np.zeros((k, n), bool),
        )

    def guideline(self, j: int) -> kernels.GuidelineState:
        """Item ``j``'s arrays as :func:`kernels.read_guideline` updates them (views; kept
        until ``group_posts`` grows)."""
        views = self._views.get(j)
        if views is None:
            views = self._views[j] = kernels.GuidelineState(
                self.state[j],
                self.active[j],
                self.t_first[j],
                self.t_taken[j],
                self.n_sources[j],
                self.last_src[j],
                self.group_posts[j],
            )
        return views

    def sharers(self, j: int) -> np.ndarray:
        """The clinicians sharing item ``j``, ascending: ``np.flatnonzero(active[j])``, found
        from the sharers of the last call and those who may have started since
        (:meth:`may_share`), not by a pass over every clinician."""
        known = self._sharers.get(j)
        if known is None:
            now = np.flatnonzero(self.active[j])
        else:
            joined = self._joined.pop(j, None)
            if joined is None and known.size == 0:
                return known  # nobody shared, nobody may have started
            if joined is None:
                new = _NOBODY
            else:
                new = np.sort(joined[0] if len(joined) == 1 else np.concatenate(joined))
            now = merge_where(known, new, self.active[j])
        self._sharers[j] = now
        return now

    def may_share(self, j: int, who: np.ndarray) -> None:
        """Clinicians ``who`` may have started sharing item ``j`` (``active`` set true):
        every change of ``active`` to true is told here, or :meth:`sharers` misses it."""
        if who.size and j in self._sharers:
            self._joined.setdefault(j, []).append(np.array(who, np.int64))  # a copy: ``who`` may change

    def uptake(self, j: int, staged: bool, paywalled: bool, access: np.ndarray) -> kernels.Uptake:
        """Item ``j``'s full text and staged adoption as :func:`kernels.read_guideline` takes them."""
        return kernels.Uptake(staged, paywalled, access, self.source[j], self.stage[j], self.reinforced[j])

    def cover_groups(self, n_groups: int) -> None:
        """Make room in ``group_posts`` for groups created since set-up."""
        have = self.group_posts.shape[1]
        if have < n_groups:
            grow = np.zeros((self.group_posts.shape[0], n_groups - have), np.int32)
            self.group_posts = np.concatenate([self.group_posts, grow], axis=1)
            self._views.clear()


@dataclass
class RumorTrack:
    """Believer trajectory of each rumor (index r into ``Catalog.rumors``)."""

    peak: np.ndarray
    t_peak: np.ndarray
    person_days: np.ndarray
    t_first_correction: np.ndarray
    t_below: np.ndarray  # first time believers fell below below_peak_share of the peak (reset by a new peak)

    @classmethod
    def empty(cls, r: int) -> RumorTrack:
        return cls(
            peak=np.zeros(r),
            t_peak=np.full(r, np.nan),
            person_days=np.zeros(r),
            t_first_correction=np.full(r, np.nan),
            t_below=np.full(r, np.nan),
        )

    def update(self, state: np.ndarray, rumors: list[int], t: float, dt: float, below_share: float) -> None:
        """Count believers at the end of the step that started at ``t``."""
        t_end = t + dt
        for r, j in enumerate(rumors):
            b = int(np.count_nonzero(state[j] == BELIEVES))
            self.person_days[r] += b * dt
            if b > self.peak[r]:
                self.peak[r], self.t_peak[r] = b, t_end
                self.t_below[r] = np.nan
            elif self.peak[r] > 0 and np.isnan(self.t_below[r]) and b < below_share * self.peak[r]:
                self.t_below[r] = t_end


_MESSAGE_DTYPES = tuple(np.dtype(d) for d in MESSAGE_SPEC.values())
_NONE_GONE = np.zeros(0, bool)  # no pending copy is gone (Queues.take_opened)


def _of_spec(recv: np.ndarray, messages: kernels.Messages) -> bool:
    """Whether copies hold arrays of the tables' dtypes (else the tables cast them)."""
    if not isinstance(recv, np.ndarray) or recv.dtype != PENDING_SPEC["recv"] or recv.ndim != 1:
        return False
    return all(
        isinstance(col, np.ndarray) and col.dtype == dt for col, dt in zip(messages, _MESSAGE_DTYPES, strict=True)
    )


@dataclass
class Queues:
    """Messages in flight: noticed copies not yet read, rumor posts awaiting a moderator,
    and the ids of the removed posts (sorted; moderation removes few).

    A pending copy holds its reader and its message (a row of ``messages``); what the
    message carries (item, stance, sender, group, post, time, weight) is stored once per
    post, not once per copy: a post to a large group has many copies waiting (and a post
    nobody will notice has no message: ``kernels.with_copies``). Messages no copy refers to
    any more are dropped once the rows have doubled since the last drop; the room a burst
    of copies left in the buffers is given back once it has been read (``_give_back``).

    Copies queued while none are pending wait as they came (``_staged``) and go into the
    tables only when something else needs them there: when every copy is read at the next
    step (``reading = "immediate"``), they never do."""

    _pending: Table = field(default_factory=lambda: Table(PENDING_SPEC))
    _messages: Table = field(default_factory=lambda: Table(MESSAGE_SPEC))
    moderation: Table = field(default_factory=lambda: Table(MODERATION_SPEC))
    removed: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # ids of removed posts, sorted
    n_posts: int = 0
    _kept: int = 0  # message rows after the last drop
    _high: tuple[int, int] = (0, 0)  # most pending copies and messages held at a take, since the last look
    _takes: int = 0
    # (recv, msg, messages) of one queue made while no copy was pending: set, the tables hold no copy
    _staged: tuple[np.ndarray, np.ndarray, kernels.Messages] | None = None

    @property
    def pending(self) -> Table:
        """The copies not read yet: reader (``recv``) and message row (``msg``)."""
        self._settle()
        return self._pending

    @property
    def messages(self) -> Table:
        """The messages of the pending copies (and some no copy refers to any more)."""
        self._settle()
        return self._messages

    def n_pending(self) -> int:
        """Number of copies not read yet."""
        return len(self._pending) + (0 if self._staged is None else self._staged[0].size)

    def new_posts(self, n_new: int) -> int:
        """Number ``n_new`` posts; returns the id of the first."""
        first_id = self.n_posts
        self.n_posts += n_new
        return first_id

    def remove_posts(self, posts: np.ndarray) -> None:
        """The posts ``posts`` (ids) are removed: their copies not read yet are gone. (``removed``
        stays sorted and distinct, as ``np.union1d`` keeps it: the new ids are put in place,
        without a sort of every id removed in the run.)"""
        new = np.unique(np.asarray(posts, np.int64))
        new = new[~sorted_member(new, self.removed)]
        self.removed = np.insert(self.removed, np.searchsorted(self.removed, new), new)

    def queue(self, recv: np.ndarray, msg: np.ndarray, messages: kernels.Messages) -> None:
        """Queue the copies ``recv`` (readers) of ``messages``: copy i is of message ``msg[i]``."""
        if self._staged is None and len(self._pending) == 0 and _of_spec(recv, messages):
            self._staged = (recv, msg, messages)
            return
        self._settle()
        self._append(recv, msg, messages)

    def _append(self, recv: np.ndarray, msg: np.ndarray, messages: kernels.Messages) -> None:
        base = len(self._messages)
        self._messages.append(messages)
        self._pending.append(recv=recv, msg=msg + base)

    def _settle(self) -> None:
        """The staged copies, if any, go into the tables."""
        if self._staged is not None:
            staged, self._staged = self._staged, None
            self._append(*staged)

    def queue_each(self, copies: kernels.Copies) -> None:
        """Queue ``copies`` each as a message of its own (direct messages, copies sent again)."""
        self.queue(copies.recv, np.arange(copies.recv.size), kernels.Messages(*copies[1:]))

    def gone(self) -> np.ndarray:
        """Bool per pending copy: its post was removed (looked up per copy when the copies are
        fewer than the messages, as they are between bursts; else per message)."""
        self._settle()
        msg = self._pending["msg"]
        per_copy = msg.size < len(self._messages)
        post = self._messages["post"][msg] if per_copy else self._messages["post"]
        removed = np.zeros(post.size, bool)
        in_group = post >= 0
        removed[in_group] = sorted_member(post[in_group], self.removed)
        return removed if per_copy else removed[msg]

    def take(self, gone: np.ndarray | None) -> kernels.Copies:
        """Every pending copy not ``gone`` (None: none), in order, with its message's
        columns (``reading = "immediate"``); the queue is left empty."""
        n_held = self.n_pending()
        if gone is None:
            if self._staged is not None:  # all of one queue read: straight from what came
                recv, msg, messages = self._staged
                self._staged = None
                copies = kernels.Copies(recv, *[col[msg] for col in messages])
                self._drop_messages()
                self._give_back(n_held, len(self._messages) + messages.item.size)
                return copies
            recv, msg = self._pending["recv"].copy(), self._pending["msg"]  # the buffers take new copies next
            self._pending.clear()
        else:
            self._settle()
            kept = ~gone
            recv, msg = self._pending["recv"][kept], self._pending["msg"][kept]
            self._pending.clear()
        copies = kernels.Copies(recv, *[col[msg] for col in self._messages.columns()])
        n_messages = len(self._messages)
        self._drop_messages()
        self._give_back(n_held, n_messages)
        return copies

    def take_opened(
        self, rng_ref, chances: tuple, gone: np.ndarray | None, scratch: tuple
    ) -> tuple[kernels.Copies, int]:
        """The pending copies of the clinicians who open their chats in this step, and not
        ``gone`` (None: none), in order, with their messages' columns; the others not gone
        stay pending, in order: one compiled pass (:func:`.reading_kernels.open_chats`, which
        draws a uniform per distinct reader from ``rng_ref`` and compares it with their
        ``chances``; ``scratch``: :meth:`sim.kernels.DistinctIds.scratch`). Returns the copies
        and how many gone copies were of clinicians who opened."""
        self._settle()
        n_held, n_messages = len(self._pending), len(self._messages)
        columns, left, n_gone = open_chats(
            rng_ref, self._pending["recv"], self._pending["msg"], self._messages.columns(), chances,
            _NONE_GONE if gone is None else gone, *scratch,
        )  # fmt: skip
        self._pending.truncate(left)
        self._drop_messages()
        self._give_back(n_held, n_messages)
        return kernels.Copies(*columns), n_gone

    def _give_back(self, n_held: int, n_messages: int) -> None:
        """Every :data:`SHRINK_EVERY` takes: a table whose buffers hold more than eight times
        the most rows it held at a take since (a burst of copies has been read) is cut to
        twice that (at least :data:`SHRINK_FLOOR` rows)."""
        self._high = (max(self._high[0], n_held), max(self._high[1], n_messages))
        self._takes += 1
        if self._takes < SHRINK_EVERY:
            return
        for table, high in zip((self._pending, self._messages), self._high, strict=True):
            room = 2 * max(high, SHRINK_FLOOR)
            if table.capacity > 4 * room:
                table.shrink(room)
        self._high, self._takes = (0, 0), 0

    def _drop_messages(self) -> None:
        """Drop the messages no pending copy refers to, once the rows doubled since the last drop."""
        n = len(self._messages)
        if n <= max(2 * self._kept, MESSAGES_COMPACT_MIN):
            return
        msg = self._pending["msg"]
        if msg.size == 0:  # every copy was read (reading = "immediate"): no message is live
            self._messages.clear()
            self._kept = 0
            return
        live = np.zeros(n, bool)
        live[msg] = True
        self._messages.keep(live)
        msg[:] = (np.cumsum(live, dtype=np.int64) - 1)[msg]
        self._kept = len(self._messages)
