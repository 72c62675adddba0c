"""Guidelines, rumors, corrections and case reports travelling through groups and 1-on-1 chats.

State, per item and clinician (arrays of shape (items, clinicians); :mod:`.state`):

* guideline / case report: ``unaware`` -> ``aware`` -> ``adopted`` (case reports stop at aware);
* rumor: ``unaware`` -> ``believes`` | ``doubts`` (heard, not believing) | ``corrected``
  (holds the correction); believers and correctors forget back to ``doubts``.

A rumor's corrections are messages about the rumor with the opposite stance; they
have their own item id (``<rumor>:correction``) whose parent is the rumor.

One step (see ``InformationProcess.step``), all from the ``information`` stream:

1. **seeding** (:mod:`.seeding`): items whose ``start_day`` falls in this step reach
   their seeds;
2. **moderation** (:mod:`.moderation`): rumor posts whose moderation time has come are
   removed (unread copies vanish) and/or answered by a pinned correction from the moderator;
3. **reading** (:mod:`.reading`): each clinician opens the chats with probability
   ``1 - exp(-r dt)`` (``activity.read_prob``; every step in ``reading = "immediate"``)
   and reads every pending delivery (post copies and direct messages made in earlier
   steps); media older than ``purge_days`` are gone (the reader asks the sender again);
4. **exposure**: each read copy is noticed with the item's ``notice_prob`` (only
   noticed copies are ever made: ``kernels.place_copies``). Guidelines: a reader
   takes in its noticed copies one at a time in random order (``kernels.read_guideline``);
   the first makes it aware; a reader who holds the full text (every copy carries it
   unless the guideline is ``paywalled``: then own ``paywall`` access or an article copy)
   and has ``adoption_sources`` distinct (consecutive) senders or a copy from a group that
   discussed the item (``discussion_posts`` posts) starts considering it
   (``adoption = "staged"``; ``"per_copy"``: adopts with ``adopt_prob`` per further copy).
   Rumors (:mod:`.belief`; Tambuscio
   et al. 2015 rule, weighted): a reader in ``unaware``/``doubts`` with rumor weight
   ``W_r`` and correction weight ``W_c`` (sums of source credibility x fidelity) takes a
   stance with probability ``beta``: ``believes`` with probability
   ``W_r(1+a) / (W_r(1+a) + W_c(1-a))``, else ``corrected``; ``a`` is the rumor's
   credibility lowered by the reader's information literacy. A believer reading
   corrections turns with probability ``1 - (1 - correction_uptake)^W_c`` unless
   persistent (continued influence);
5. **adoption decisions** (:mod:`.adoption`, ``adoption = "staged"``): each clinician
   considering a guideline adopts with a per-day probability lowered by barriers (their
   tier's, equipment below the guideline's needs) and raised by reinforcement, else
   rejects it with ``reject_prob_per_day``;
   **verification and forgetting** (:mod:`.belief`, from the state at the start of the
   step): believers verify (``verify_prob_per_day`` x literacy) and become correctors;
   doubters check (``check_prob_per_day`` x literacy) likewise; believers and
   correctors forget (``forget_prob_per_day``) back to ``doubts``;
6. **posting** (:mod:`.posting`): active spreaders (those who took up the item and still
   share it; those who hold a paywalled guideline's full text share it as an article) post in each of their groups with ``post_prob_per_day`` and message one
   contact with ``direct_prob_per_day`` (scaled by activity and the hour when
   ``heterogeneity``); a post reaches the other unmuted members. Screenshot items
   (``blocked_link``) are forwarded less often (``screenshot_delay_factor``) at lower fidelity;
7. **stopping**: each spreader stops with ``stop_prob_per_day`` after posting (drawn
   with the posts, ``posting.post_in_groups``); one who messaged a contact that
   already knew stops with ``stifle_prob`` when the message is read (Maki-Thompson).

Per-day probabilities become per-step ones as ``1 - (1 - p)^(dt/day)``; with one-day
steps they are used as given. ``heterogeneity = false`` makes every clinician alike
(no activity, hour, credibility or literacy effects): the textbook special cases.

Settings are read when used, so a ``settings`` intervention takes effect from the next
step; item settings are re-read at the start of a step when they changed
(:class:`.state.ItemSettings`), and the posting activity when ``role_activity`` changed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ...activity import prob_parts
from ...components import Component
from ...kernels import DistinctIds, merge_where, unique_inverse, unique_inverse_bits
from ...rng_ref import GeneratorRef
from ..trust.process import TrustProcess, running
from . import (
    adoption,
    belief,
    decision_kernels,
    kernels,
    moderation,
    outputs,
    posting,
    posting_kernels,
    reading,
    seeding,
)
from .census import census
from .config import BELIEVES, CORRECTED, LITERACY_REF, STATE_NAMES, InformationConfig, ItemConfig
from .outputs import EventLog
from .reading_kernels import open_chats
from .state import COUNTERS, DELIVERY_SPEC, Catalog, ItemArrays, ItemSettings, Queues, RumorTrack

if TYPE_CHECKING:  # pragma: no cover
    from ...streaming import TableStream

__all__ = ["InformationProcess"]


class InformationProcess(Component):
    name = "information"
    config: InformationConfig

    # the run's state (created by setup)
    rng: np.random.Generator
    rng_ref: GeneratorRef  # ``rng`` as the compiled kernels take it
    catalog: Catalog  # the items and their ids
    settings: ItemSettings  # each item's spreading settings
    arrays: ItemArrays  # per (item, clinician) state
    seeded: np.ndarray  # per scenario item (corrections included): seeds reached
    queues: Queues  # pending deliveries, moderation queue, removed posts
    log: EventLog
    item_sink: TableStream | None  # streamed: where the item_states table goes (sim.streaming)
    counters: dict[str, int]
    track: RumorTrack  # believer trajectories of the rumors
    posting_cache: posting.Posting  # posting activity and per-step constants
    cache: dict  # other values derived from settings (see belief._verify_check)
    trust: TrustProcess | None  # pairwise trust (None: off)
    considering: list[np.ndarray]  # per item: clinicians considering it (staged adoption)
    distinct: DistinctIds  # the distinct readers of the copies waiting (reading)
    #: record only each item's n_<state> (the teaching page's many-seed runs)
    record_totals_only: bool = False
    adopt_base: list[adoption.BaseRates]  # per item: their adoption probabilities before reinforcement

    def enabled(self) -> bool:
        return bool(self.config.enabled and self.config.items)

    # ------------------------------------------------------------------ set-up
    def setup(self, model) -> None:
        cfg = self.config
        self.rng = model.streams(self.name)
        self.rng_ref = GeneratorRef(self.rng)  # the same stream, as the posting kernel takes it each step
        self.catalog = Catalog(cfg.items)
        self.settings = ItemSettings(self.catalog.items)
        self.arrays = ItemArrays.zeros(len(self.catalog), model.pop.n, model.net.n_groups)
        self.seeded = np.zeros(len(cfg.items), bool)
        self.queues = Queues()
        self.log = EventLog(cfg.event_log, self.catalog)
        self.item_sink = None
        self.counters = dict.fromkeys(COUNTERS, 0)
        self.track = RumorTrack.empty(len(self.catalog.rumors))
        self.trust = running(model)  # pairwise trust weighs copies in belief (None: off)
        self.posting_cache = posting.Posting()
        self.cache = {}
        self.considering = [np.zeros(0, np.int64) for _ in self.catalog.items]
        self.distinct = DistinctIds(model.pop.n)  # the distinct readers of the copies waiting
        self.adopt_base = [adoption.BaseRates() for _ in self.catalog.items]
        self._load_kernels(model)

    def _load_kernels(self, model) -> None:
        """Compile (first use after an install) or load the kernels for this model's array
        types now, on empty inputs, so that set-up, not the first step, pays for it."""
        rng, none = np.random.default_rng(0), np.zeros(0, np.int64)
        groups = posting.groups_of(model.net)
        empty = kernels.Copies(*(np.zeros(0, dtype) for dtype in DELIVERY_SPEC.values()))
        sharers = kernels.Sharers(none, np.ones(1), np.zeros(1, np.int8), np.ones(1, np.float32))
        stamp = kernels.Stamp(0, 0.0, 0)
        item = self.arrays.guideline(0)
        kernels.posting_trials(none, np.ones(1), groups.c_indptr)
        ref = GeneratorRef(rng)
        posting.post_in_groups(rng, ref, sharers, groups, 0.5, 0.5, item.active, item.group_posts, stamp)
        source = posting.source_of(self.config, model.pop)
        posting_kernels.sharing_terms(
            none, self.posting_cache.activity(self, model.pop), np.zeros(1, bool), 0.5, 0.5, 0.5, 1.0, source, False,
            item.state, posting.STANCES,
        )  # fmt: skip
        contacts = (model.contacts.indptr, model.contacts.neighbors)
        posting_kernels.direct_messages(
            ref, none, np.ones(1), np.zeros(1, np.int8), contacts, 0.5, 0, 0.0, True, source
        )
        no_post = np.zeros(0, np.int32)
        kernels.post_copies(ref, none, none, no_post, none, sharers, groups, 0.5, 0, stamp)  # (many copies)
        kernels.noticed_copies(rng, empty.group, none, groups, 0.5, item.group_posts)
        kernels.log_no_notice(0.5)  # (draws.notice_gaps)
        kernels.with_copies(none, 0)
        kernels.message_columns(none, sharers, empty.group, stamp, none)
        pending = self.queues.pending
        no_words, no_slot = np.zeros(1, np.uint64), np.zeros(1, np.int32)
        open_chats(ref, pending["recv"], pending["msg"], self.queues.messages.columns(), prob_parts(model),
                   np.zeros(0, bool), no_words, no_slot)  # fmt: skip
        rules = kernels.ReadRules(0.5, 0.0, True, 0.1, 2, 3, LITERACY_REF)
        uptake = self.arrays.uptake(0, True, False, model.pop.paywall)
        for draws in (None, rng):  # the uniforms drawn beforehand, or a block at a time
            kernels.read_guideline(np.zeros(0), none, empty, item, rules, uptake, model.pop.literacy, 0.0, draws)
        census(item.state[:0], model.pop.tier[:0], 1, item.state[:0], 1, item.t_first[:0], item.active[:0])
        merge_where(none, none, item.active)  # (ItemArrays.sharers)
        no_readers = np.zeros(0, DELIVERY_SPEC["recv"])
        a = self.arrays
        decision_kernels.correct_believers(
            ref, no_readers, np.zeros(0, bool), np.zeros(0), no_readers, no_readers,
            (a.reached_corr[0], a.persistent[0], a.active[0], a.state[0], a.t_first[0]), 0, 0.5, 0.0,
        )  # fmt: skip
        unique_inverse(no_readers)  # (the distinct readers of a rumor's copies: few of many, by a sort ...)
        unique_inverse_bits(no_readers, *self.distinct.scratch())  # (... else over the range's bits)

    @property
    def items(self) -> list[ItemConfig]:
        """The content items (guidelines, rumors, case reports), in item-id order."""
        return self.catalog.items

    def idle(self) -> bool:
        """Nothing left to happen: all items seeded, nobody sharing, nothing unread.

        (Forgetting and verification still move rumor states; a process with rumors
        is idle only when no one believes or holds a correction.)"""
        if not self.seeded.all() or self.arrays.active.any() or self.queues.n_pending():
            return False
        if self.config.adoption == "staged" and any(who.size for who in self.considering):
            return False  # decisions still to come
        state = self.arrays.state
        return not any((state[j] == BELIEVES).any() or (state[j] == CORRECTED).any() for j in self.catalog.rumors)

    def state_of(self, clinician: int, item: int = 0) -> str:
        """Name of ``clinician``'s state for content item ``item``."""
        return STATE_NAMES[self.catalog.kinds[item]][self.arrays.state[item, clinician]]

    def broadcast(self, model, name: str, who: np.ndarray) -> None:
        """``who`` take up item ``name`` (a rumor's name means its correction) and share it."""
        seeding.broadcast(self, model, name, who)

    # ------------------------------------------------------------------- step
    def step(self, model) -> None:
        t, dt = model.t, model.clock.step_days
        self.settings.refresh()
        start_state = {j: self.arrays.state[j].copy() for j in self.catalog.rumors}  # verification reads these
        seeding.seed(self, model, t, dt)
        moderation.moderate(self, model, t)
        reading.read(self, model, t, dt)
        adoption.decide(self, model, t, dt)
        belief.verify_and_forget(self, model, start_state, t, dt)
        posting.post(self, model, t, dt)
        self.track.update(self.arrays.state, self.catalog.rumors, t, dt, self.config.below_peak_share)

    # ------------------------------------------------------------------ outputs
    def record(self, model, rec) -> None:
        outputs.record(self, model, rec)

    def finish(self, model, out) -> None:
        outputs.finish(self, model, out)
