"""Guidelines, rumors, corrections and case reports travelling through groups and 1-on-1 chats.

State, per item and clinician (arrays of shape (items, clinicians)):

* guideline / case report: ``unaware`` -> ``aware`` -> ``adopted`` (case reports stop at aware);
* rumor: ``unaware`` -> ``believes`` | ``doubts`` (heard, not believing) | ``corrected``
  (holds the correction); believers and correctors forget back to ``doubts``.

A rumor's corrections are messages about the rumor with the opposite stance; they
have their own item id (``<rumor>:correction``) whose parent is the rumor.

One step (see ``step``), all from the ``information`` stream:

1. **seeding**: items whose ``start_day`` falls in this step reach their seeds;
2. **moderation**: rumor posts whose moderation time has come are removed (unread
   copies vanish) and/or answered by a pinned correction from the moderator;
3. **reading**: each clinician opens the chats with probability ``1 - exp(-r dt)``
   (``activity.read_prob``; every step in ``reading = "immediate"``) and reads every
   pending delivery (post copies and direct messages made in earlier steps); media
   older than ``purge_days`` are gone (the reader asks the sender again);
4. **exposure**: each read copy is noticed with the item's ``notice_prob`` (only
   noticed copies are ever made: ``kernels.noticed_copies``). Guidelines: a reader
   takes in its noticed copies one at a time in random order (``kernels.read_guideline``);
   the first makes it aware; adoption needs ``adoption_sources`` distinct (consecutive)
   senders or a copy from a group that discussed the item (``discussion_posts`` posts),
   then happens with ``adopt_prob`` per further copy. Rumors (Tambuscio et al. 2015 rule, weighted):
   a reader in ``unaware``/``doubts`` with rumor weight ``W_r`` and correction weight
   ``W_c`` (sums of source credibility x fidelity) takes a stance with probability
   ``beta``: ``believes`` with probability ``W_r(1+a) / (W_r(1+a) + W_c(1-a))``,
   else ``corrected``; ``a`` is the rumor's credibility lowered by the reader's
   information literacy. A believer reading corrections turns with probability
   ``1 - (1 - correction_uptake)^W_c`` unless persistent (continued influence);
5. **verification and forgetting** (from the state at the start of the step):
   believers verify (``verify_prob_per_day`` x literacy) and become correctors;
   doubters check (``check_prob_per_day`` x literacy) likewise; believers and
   correctors forget (``forget_prob_per_day``) back to ``doubts``;
6. **posting**: active spreaders (those who took up the item and still share it) post
   in each of their groups with ``post_prob_per_day`` and message one contact with
   ``direct_prob_per_day`` (scaled by activity and the hour when ``heterogeneity``);
   a post reaches the other unmuted members. Screenshot items (``blocked_link``) are
   forwarded less often (``screenshot_delay_factor``) at lower fidelity;
7. **stopping**: each spreader stops with ``stop_prob_per_day`` after posting (drawn
   with the posts, ``kernels.post_in_groups``); one who messaged a contact that
   already knew stops with ``stifle_prob`` when the message is read (Maki-Thompson).

Per-day probabilities become per-step ones as ``1 - (1 - p)^(dt/day)``; with one-day
steps they are used as given. ``heterogeneity = false`` makes every clinician alike
(no activity, hour, credibility or literacy effects): the textbook special cases.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from ..activity import read_prob
from ..clock import in_hours
from ..population import REGION_KINDS
from ..schema import ROLES, TIERS, NonNegative, Probability, Section
from ..arrays import unique_first as _unique_first
from . import kernels
from .base import Process, register

__all__ = ["InformationConfig", "ItemConfig", "InformationProcess"]

Kind = Literal["guideline", "rumor", "correction", "case_report"]

# state codes (guidelines and case reports: as the kernels use them)
UNAWARE, AWARE, ADOPTED = kernels.UNAWARE, kernels.AWARE, kernels.ADOPTED
BELIEVES, CORRECTED, DOUBTS = 1, 2, 3
CONTENT, CORRECTION = 0, 1          # stance of a message
LITERACY_REF = 0.5                  # literacy at which the effects below are neutral
STATE_NAMES = {
    "guideline": ("unaware", "aware", "adopted"),
    "case_report": ("unaware", "aware"),
    "rumor": ("unaware", "believes", "corrected", "doubts"),
}
EVENT_KINDS = ("seed", "post", "direct", "aware", "adopt", "believe", "correct", "doubt",
               "forget", "removed", "pinned")


class ItemConfig(Section):
    """One item the scenario seeds. Spreading settings default by kind."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="Item name (letters, digits, _ . -).")
    kind: Kind = Field(description="guideline, rumor, correction (of a rumor) or case_report.")
    start_day: NonNegative = Field(0.0, description="When the seeds receive it.")
    target: str | None = Field(None, description="For kind = 'correction': the rumor it corrects.")
    n_seeds: int = Field(5, ge=1, le=1_000_000, description="Clinicians who hold it first (drawn among the eligible).")
    seed_share: Probability | None = Field(
        None, description="Seed this share of the eligible clinicians instead of n_seeds."
    )
    seed_tiers: list[Literal["primary", "secondary", "tertiary"]] | None = Field(None, description="Seeds only in these tiers.")
    seed_roles: list[Literal[ROLES]] | None = Field(None, description="Seeds only with these roles.")  # type: ignore[valid-type]
    seed_region_kinds: list[Literal[REGION_KINDS]] | None = Field(None, description="Seeds only in city, rural or abroad regions.")  # type: ignore[valid-type]
    seed_international: bool = Field(False, description="Seeds must have international access.")
    seed_clinicians: list[int] | None = Field(
        None, description="Exactly these clinicians are the seeds (ids), instead of a draw."
    )
    seed_channel: Literal["groups", "none"] = Field(
        "groups", description="Seeds post in their groups at once ('none': they only hold it)."
    )
    salience: NonNegative = Field(1.0, le=10, description="Multiplies the posting probabilities.")
    credibility: float = Field(0.3, ge=-0.99, le=0.99, description="Rumor credibility a (Tambuscio).")
    media: bool = Field(False, description="Carries images or files, lost after purge_days.")
    blocked_link: bool = Field(False, description="A blocked link, forwarded as screenshots.")
    notice_prob: Probability | None = Field(None, description="A read copy is noticed (default by kind).")
    share_prob: Probability | None = Field(None, description="One who takes it up shares it (default by kind).")
    post_prob_per_day: Probability | None = Field(None, description="A sharer posts it in each of their groups.")
    direct_prob_per_day: Probability | None = Field(None, description="A sharer sends it to one contact.")
    stop_prob_per_day: Probability | None = Field(None, description="A sharer stops sharing.")
    stifle_prob: Probability | None = Field(None, description="A sharer stops on messaging someone who knew (Maki-Thompson).")

    @model_validator(mode="after")
    def _check(self):
        if self.kind == "correction" and not self.target:
            raise ValueError("a correction needs `target`, the name of the rumor it corrects")
        if self.kind != "correction" and self.target:
            raise ValueError("`target` is only for kind = 'correction'")
        return self


# Spreading defaults by kind (per day). Posting and stopping rates are set so that a
# clinician who takes up an item shares it in a few of their groups over ~2-3 days;
# rumors are reshared more readily than true items (Vosoughi et al. 2018: ~70% more).
KIND_DEFAULTS = {
    "guideline": dict(notice_prob=0.6, share_prob=0.3, post_prob_per_day=0.3,
                      direct_prob_per_day=0.2, stop_prob_per_day=0.35, stifle_prob=0.0),
    "case_report": dict(notice_prob=0.8, share_prob=0.5, post_prob_per_day=0.5,
                        direct_prob_per_day=0.4, stop_prob_per_day=0.4, stifle_prob=0.0),
    "rumor": dict(notice_prob=0.6, share_prob=0.5, post_prob_per_day=0.5,
                  direct_prob_per_day=0.3, stop_prob_per_day=0.35, stifle_prob=0.0),
}


class ModerationConfig(Section):
    enabled: bool = Field(False, description="Moderators fact-check rumor posts in their groups.")
    notice_prob: Probability = Field(0.5, description="Share of rumor posts a moderator checks.")
    delay_hours: NonNegative = Field(6.0, le=24 * 30, description="Mean delay to act (exponential).")
    remove: bool = Field(True, description="Remove the post: unread copies vanish.")
    pin_correction: bool = Field(True, description="Pin a correction in the group.")


class InformationConfig(Section):
    enabled: bool = Field(True, description="Run the information process (it also needs items).")
    items: list[ItemConfig] = Field(default_factory=list, description="What the scenario seeds.")
    reading: Literal["delay", "immediate"] = Field(
        "delay", description="'delay': read when the chats are opened; 'immediate': next step."
    )
    heterogeneity: bool = Field(True, description="Activity, hours, credibility and literacy effects.")
    direct_targets: Literal["contacts", "anyone"] = Field(
        "contacts", description="1-on-1 messages go to a contact, or to anyone (well mixed)."
    )
    # belief (rumors)
    beta: Probability = Field(0.5, description="Probability of taking a stance after exposure.")
    literacy_effect: NonNegative = Field(
        1.0, le=4, description="How much literacy (0-1) lowers a rumor's credibility a."
    )
    verify_prob_per_day: Probability = Field(0.05, description="Believer verifies (x literacy).")
    check_prob_per_day: Probability = Field(0.05, description="Doubter checks and corrects (x literacy).")
    forget_prob_per_day: Probability = Field(0.02, description="Believer or corrector forgets.")
    correction_uptake: Probability = Field(
        0.3, description="Per unit of correction weight read (Walter et al. 2021: moderate effect)."
    )
    persistent_share: Probability = Field(
        0.25, description="Believers a correction never turns (continued influence; Chan et al. 2017)."
    )
    # adoption (guidelines)
    adopt_prob: Probability = Field(0.08, description="Per further exposure once eligible.")
    adoption_sources: int = Field(2, ge=1, le=50, description="Distinct sources needed (1: simple contagion).")
    discussion_posts: int = Field(3, ge=1, le=1000, description="Posts that make a group discussion.")
    # platform
    purge_days: NonNegative = Field(3.0, description="Media unread after this many days are purged.")
    reask_prob: Probability = Field(0.5, description="A reader who missed purged media asks again.")
    screenshot_fidelity: Probability = Field(0.7, description="Weight of a screenshot copy.")
    screenshot_delay_factor: Probability = Field(0.5, description="Posting rate of screenshot forwards.")
    # credibility of sources by role (doctors = 1); experts and higher tiers count more
    role_credibility: dict[Literal[ROLES], NonNegative] = Field(  # type: ignore[valid-type]
        description="Weight of a source by role (x tier weight x (0.5 + expertise)); experts debunk better (Walter et al. 2021).",
        default_factory=lambda: {"doctor": 1.0, "nurse": 0.7, "lab_technician": 0.8,
                                 "pharmacist": 0.8, "public_health_admin": 1.1}
    )
    role_activity: dict[Literal[ROLES], NonNegative] = Field(  # type: ignore[valid-type]
        description="Posting rate by role, relative to doctors (administrators relay official items).",
        default_factory=lambda: {"doctor": 1.0, "nurse": 0.8, "lab_technician": 0.8,
                                 "pharmacist": 0.8, "public_health_admin": 1.2}
    )
    tier_credibility: tuple[NonNegative, NonNegative, NonNegative] = Field((0.8, 1.0, 1.2), description="Weight of a source by tier (primary, secondary, tertiary).")
    moderation: ModerationConfig = Field(default_factory=ModerationConfig)
    below_peak_share: Probability = Field(0.1, description="Rumor 'over' when believers fall below this share of the peak.")
    event_log: bool = Field(True, description="Write events.parquet (every post, message and change of state).")

    @model_validator(mode="after")
    def _check(self):
        names = [i.name for i in self.items]
        if len(set(names)) != len(names):
            raise ValueError(f"item names must be unique, got {names}")
        rumors = {i.name for i in self.items if i.kind == "rumor"}
        for it in self.items:
            if it.kind == "correction" and it.target not in rumors:
                raise ValueError(f"item {it.name!r}: target {it.target!r} is not a rumor of this scenario")
        return self


def _per_step(p_day: float, dt_days: float) -> float:
    """A per-day probability as the probability per step of ``dt_days`` days."""
    return 1.0 - (1.0 - min(max(float(p_day), 0.0), 1.0)) ** dt_days


class _Posting(NamedTuple):
    """Per-step posting constants of one item (see ``InformationProcess._posting``)."""

    rumor: bool
    p_post: float              # per (sharer, group), before activity
    p_post_one: np.ndarray     # the same, clipped, as the kernels take it
    p_stop: float
    p_notice: float
    p_direct: float            # per sharer, before activity
    fidelity: float            # weight of a copy (screenshots count less)
    weight_one: np.ndarray


class _Log:
    """Columns of the event log, appended in chunks."""

    cols = ("item", "kind", "sender", "receiver", "group", "t")

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.parts: list[tuple] = []

    def add(self, item, kind: int, sender, receiver, group, t: float) -> None:
        if not self.enabled:
            return
        n = np.size(sender) if np.ndim(sender) else np.size(receiver)
        if n == 0:
            return
        def col(x, dtype):
            a = np.asarray(x, dtype=dtype)
            return np.broadcast_to(a, (n,)).copy() if a.ndim == 0 else a.astype(dtype)   # own copy: never a view
        self.parts.append((col(item, np.int32), col(kind, np.int8), col(sender, np.int32),
                           col(receiver, np.int32), col(group, np.int32), col(t, np.float32)))

    def frame(self, item_names: list[str], parents: list[int]) -> pd.DataFrame:
        if not self.parts:
            arrays = [np.zeros(0, dtype) for dtype in (np.int32, np.int8, np.int32, np.int32, np.int32, np.float32)]
        else:
            arrays = [np.concatenate([p[j] for p in self.parts]) for j in range(6)]
        item, kind, sender, receiver, group, t = arrays
        df = pd.DataFrame({
            "item": item, "item_name": pd.Categorical.from_codes(item, item_names),
            "parent_item": np.asarray(parents, np.int32)[item] if item.size else item,
            "kind": pd.Categorical.from_codes(kind, EVENT_KINDS),
            "sender": sender, "receiver": receiver, "group": group, "t": t,
        })
        return df.sort_values("t", kind="stable").reset_index(drop=True)


@register
class InformationProcess(Process):
    name = "information"

    def enabled(self) -> bool:
        return bool(self.config.enabled and self.config.items)

    # ------------------------------------------------------------------ set-up
    def setup(self, model) -> None:
        cfg, n = self.config, model.pop.n
        self.rng = model.streams(self.name)
        self.items = [it for it in cfg.items if it.kind != "correction"]
        self.corrections = [it for it in cfg.items if it.kind == "correction"]
        self.index = {it.name: k for k, it in enumerate(self.items)}
        k = len(self.items)
        # item ids: content items 0..k-1, then one correction id per rumor
        self.kinds = [it.kind for it in self.items]
        self.rumors = [j for j, kd in enumerate(self.kinds) if kd == "rumor"]
        self.corr_id = {j: k + r for r, j in enumerate(self.rumors)}
        self.item_names = [it.name for it in self.items] + [f"{self.items[j].name}:correction" for j in self.rumors]
        self.parents = [-1] * k + self.rumors
        self.params = {name: np.array([self._param(it, name) for it in self.items])
                       for name in KIND_DEFAULTS["rumor"]}
        self.state = np.zeros((k, n), np.int8)
        self.active = np.zeros((k, n), bool)
        self.t_first = np.full((k, n), np.nan, np.float32)     # heard / aware
        self.t_taken = np.full((k, n), np.nan, np.float32)     # adopted / first believed
        self.ever_believed = np.zeros((k, n), bool)
        self.reached_corr = np.zeros((k, n), bool)              # a believer read a correction
        self.persistent = np.zeros((k, n), bool)
        self.n_sources = np.zeros((k, n), np.int16)
        self.last_src = np.full((k, n), -1, np.int32)
        self.seeded = np.zeros(len(cfg.items), bool)
        self.group_posts = np.zeros((k, model.net.n_groups), np.int32)
        self.pending = _NO_DELIVERIES
        self._activity = None                                 # posting activity (heterogeneity)
        self._any_media = any(it.media for it in self.items)
        self._postings: dict[tuple, _Posting] = {}
        self.removed = np.zeros(1024, bool)                   # per post id; grows by doubling
        self.n_posts = 0
        self.moderation_queue = _empty_moderation()
        self.log = _Log(cfg.event_log)
        self.counters = {c: 0 for c in ("posts", "direct", "deliveries", "read", "purged", "reasked",
                                         "removed_posts", "removed_copies", "pinned")}
        # rumor trajectories
        r = len(self.rumors)
        self.peak = np.zeros(r)
        self.t_peak = np.full(r, np.nan)
        self.person_days = np.zeros(r)
        self.t_first_correction = np.full(r, np.nan)
        self.t_below = np.full(r, np.nan)
        self._load_kernels(model)

    def _load_kernels(self, model) -> None:
        """Compile (first use after an install) or load the kernels for this model's array
        types now, on empty inputs, so that set-up, not the first step, pays for it."""
        rng, net, none, d = np.random.default_rng(0), model.net, np.zeros(0, np.int64), _empty_deliveries()
        one_i8, one_f32 = np.zeros(1, np.int8), np.ones(1, np.float32)
        kernels.post_in_groups(rng, none, np.ones(1), net.c_indptr, net.c_groups, net.c_rows, net.g_indptr,
                               net.g_members, net.m_muted, net.g_muted, 0.5, self.group_posts[0], 0.5,
                               self.active[0], one_i8, one_f32, 0, 0.0, 0)
        kernels.noticed_copies(rng, d["group"], none, net.g_indptr, net.g_members, net.m_muted, net.g_muted,
                               0.5, self.group_posts[0])
        kernels.copy_columns(none, d["recv"], none, none, d["group"], one_i8, one_f32, 0, 0.0, 0)
        kernels.read_guideline(np.zeros(0), none, d["recv"], d["sender"], d["group"], d["weight"], model.pop.literacy,
                               LITERACY_REF, self.state[0], self.active[0], self.t_first[0], self.t_taken[0],
                               self.n_sources[0], self.last_src[0], self.group_posts[0], 0.0, 0.5, 0.0,
                               True, 0.1, 2, 3)

    def _param(self, it: ItemConfig, name: str) -> float:
        value = getattr(it, name)
        return KIND_DEFAULTS[it.kind][name] if value is None else value

    def idle(self) -> bool:
        """Nothing left to happen: all items seeded, nobody sharing, nothing unread.

        (Forgetting and verification still move rumor states; a process with rumors
        is idle only when no one believes or holds a correction.)"""
        if not self.seeded.all() or self.active.any() or self.pending["recv"].size:
            return False
        return not any((self.state[j] == BELIEVES).any() or (self.state[j] == CORRECTED).any()
                       for j in self.rumors)

    def state_of(self, clinician: int, item: int = 0) -> str:
        return STATE_NAMES[self.kinds[item]][self.state[item, clinician]]

    # -------------------------------------------------------------- helpers
    def _credibility(self, model, sender: np.ndarray) -> np.ndarray:
        if not self.config.heterogeneity:
            return np.ones(sender.size, np.float32)
        pop, cfg = model.pop, self.config
        role_c = np.array([cfg.role_credibility.get(r, 1.0) for r in ROLES], np.float32)
        tier_c = np.asarray(cfg.tier_credibility, np.float32)
        return role_c[pop.role[sender]] * tier_c[pop.tier[sender]] * (0.5 + pop.expertise[sender])

    def _eligible_seeds(self, model, it: ItemConfig) -> np.ndarray:
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

    # ------------------------------------------------------------------- step
    def step(self, model) -> None:
        t, dt = model.t, model.clock.step_days
        start_state = {j: self.state[j].copy() for j in self.rumors}   # verification reads these
        self._seed(model, t, dt)
        self._moderate(model, t)
        self._read(model, t, dt)
        self._verify_and_forget(model, start_state, t, dt)
        self._post(model, t, dt)
        self._track(t, dt)

    # seeding ---------------------------------------------------------------
    def _seed(self, model, t: float, dt: float) -> None:
        for q, it in enumerate(self.config.items):
            if self.seeded[q] or it.start_day >= t + dt - 1e-12:
                continue
            self.seeded[q] = True
            if it.seed_clinicians is not None:
                seeds = np.unique(np.asarray(it.seed_clinicians, np.int64))
                if seeds.size and (seeds.min() < 0 or seeds.max() >= model.pop.n):
                    raise ValueError(f"information.items: {it.name}: seed_clinicians must lie in 0..{model.pop.n - 1}")
            else:
                eligible = self._eligible_seeds(model, it)
                if eligible.size == 0:
                    continue
                n = int(round(it.seed_share * eligible.size)) if it.seed_share is not None else it.n_seeds
                seeds = self.rng.choice(eligible, size=min(max(n, 1), eligible.size), replace=False)
            if it.kind == "correction":
                j = self.index[it.target]
                self._set_state(j, seeds, CORRECTED, t, sender=seeds)
                self.log.add(self.corr_id[j], 0, seeds, seeds, -1, t)
            else:
                j = self.index[it.name]
                new = AWARE if it.kind != "rumor" else BELIEVES
                self._set_state(j, seeds, new, t, sender=seeds)
                self.log.add(j, 0, seeds, seeds, -1, t)
            self.active[j, seeds] = it.seed_channel == "groups"

    def broadcast(self, model, name: str, who: np.ndarray) -> None:
        """``who`` take up item ``name`` (a rumor's name means its correction) and share it."""
        t = model.t
        if name not in self.index:
            raise KeyError(f"broadcast: no item {name!r}; items: {sorted(self.index)}")
        j = self.index[name]
        new = CORRECTED if self.kinds[j] == "rumor" else AWARE
        fresh = who[self.state[j, who] != new]
        self._set_state(j, fresh, new, t, sender=fresh)
        self.log.add(self.corr_id.get(j, j), 0, who, who, -1, t)
        self.active[j, who] = True

    def _set_state(self, j: int, who: np.ndarray, new: int, t: float, sender: np.ndarray,
                   group: np.ndarray | int = -1) -> None:
        """Move clinicians ``who`` of item ``j`` to state ``new`` and log it."""
        if who.size == 0:
            return
        kind = self.kinds[j]
        first = np.isnan(self.t_first[j, who])
        self.t_first[j, who[first]] = t
        self.state[j, who] = new
        if kind == "rumor":
            if new == BELIEVES:
                self.ever_believed[j, who] = True
                fresh = np.isnan(self.t_taken[j, who])
                self.t_taken[j, who[fresh]] = t
                self.persistent[j, who] = self.rng.random(who.size) < self.config.persistent_share
                self.log.add(j, EVENT_KINDS.index("believe"), sender, who, group, t)
            elif new == CORRECTED:
                r = self.rumors.index(j)
                if np.isnan(self.t_first_correction[r]):
                    self.t_first_correction[r] = t
                self.log.add(self.corr_id[j], EVENT_KINDS.index("correct"), sender, who, group, t)
            elif new == DOUBTS:
                self.log.add(j, EVENT_KINDS.index("doubt"), sender, who, group, t)
        else:
            if new == ADOPTED:
                self.t_taken[j, who] = t
                self.log.add(j, EVENT_KINDS.index("adopt"), sender, who, group, t)
            else:
                self.log.add(j, EVENT_KINDS.index("aware"), sender, who, group, t)

    # moderation --------------------------------------------------------------
    def _moderate(self, model, t: float) -> None:
        q = self.moderation_queue
        if q["t"].size == 0:
            return
        due = q["t"] <= t + 1e-12
        if not due.any():
            return
        posts, groups, items, mods = q["post"][due], q["group"][due], q["item"][due], q["moderator"][due]
        self.moderation_queue = {k: v[~due] for k, v in q.items()}
        still = model.net.is_member(mods, groups)           # moderators who left do nothing
        posts, groups, items, mods = posts[still], groups[still], items[still], mods[still]
        if posts.size == 0:
            return
        mc = self.config.moderation
        if mc.remove:
            self.removed[posts] = True
            self.counters["removed_posts"] += int(posts.size)
            self.log.add(items, EVENT_KINDS.index("removed"), mods, -1, groups, t)
        if mc.pin_correction:
            # the moderator now holds the correction and pins it in the group
            for j in np.unique(items):
                sel = items == j
                who = mods[sel]
                not_yet = self.state[j, who] != CORRECTED
                self._set_state(int(j), who[not_yet], CORRECTED, t, sender=who[not_yet], group=groups[sel][not_yet])
                self._emit_group_posts(model, int(j), np.full(who.size, CORRECTION), who,
                                       groups[sel], model.net.row_of(who, groups[sel]), t)
            self.counters["pinned"] += int(posts.size)

    # reading ----------------------------------------------------------------------
    def _read(self, model, t: float, dt: float) -> None:
        d = self.pending
        if d["recv"].size == 0:
            return
        if self.config.reading == "immediate":
            now = None                                  # every pending copy is read
        else:
            reads = self.rng.random(model.pop.n) < read_prob(model)
            now = reads[d["recv"]]
        gone = None
        if self.counters["removed_posts"]:
            gone = np.zeros(d["recv"].size, bool)
            in_group = d["post"] >= 0
            gone[in_group] = self.removed[d["post"][in_group]]
        if now is None and gone is None:
            batch, self.pending = d, _NO_DELIVERIES
        else:
            if now is None:
                now = np.ones(d["recv"].size, bool)
            if gone is None:
                gone = np.zeros(d["recv"].size, bool)
            self.counters["removed_copies"] += int((gone & now).sum())
            take = now & ~gone
            keep = ~now & ~gone
            batch = {k: v[take] for k, v in d.items()}
            self.pending = {k: v[keep] for k, v in d.items()}
        if batch["recv"].size == 0:
            return
        self.counters["read"] += int(batch["recv"].size)
        # purge: media unread for purge_days are gone; the reader may ask the sender again
        if self._any_media:
            media = self._media_mask(batch["item"])
            purged = media & (t - batch["t"] > self.config.purge_days)
            if purged.any():
                self.counters["purged"] += int(purged.sum())
                again = purged & (self.rng.random(purged.size) < self.config.reask_prob)
                if again.any():
                    self.counters["reasked"] += int(again.sum())
                    re = {k: v[again] for k, v in batch.items()}
                    re["t"] = np.full(re["recv"].size, t, np.float64)
                    re["post"] = np.full(re["recv"].size, -1, np.int64)
                    re["group"] = np.full(re["recv"].size, -1, np.int32)
                    self._append_pending(re)
                batch = {k: v[~purged] for k, v in batch.items()}
                if batch["recv"].size == 0:
                    return
        # process in random order: with several copies to one reader, the first one counts
        items = batch["item"]
        for j in ([int(items[0])] if len(self.items) == 1 else _distinct(items)):
            sel = np.arange(items.size) if len(self.items) == 1 else np.flatnonzero(items == j)
            if self.kinds[j] == "rumor":
                sel = self.rng.permutation(sel)
                self._expose_rumor(model, int(j), {k: v[sel] for k, v in batch.items()}, t)
            else:
                self._expose_guideline(model, int(j), batch, sel, t)

    def _media_mask(self, items: np.ndarray) -> np.ndarray:
        media = np.array([it.media for it in self.items], bool)
        return media[items]

    def _stifle(self, j: int, sub: dict, known: np.ndarray) -> None:
        """Senders of direct messages to someone who already knew stop (Maki-Thompson)."""
        p = self.params["stifle_prob"][j]
        if p <= 0:
            return
        hit = known & (sub["group"] < 0)
        if hit.any():
            senders = sub["sender"][hit]
            stop = senders[self.rng.random(senders.size) < p]
            self.active[j, stop] = False

    def _first_copies(self, recv: np.ndarray) -> np.ndarray:
        first = np.zeros(recv.size, bool)
        first[_unique_first(recv)[1]] = True
        return first

    def _expose_guideline(self, model, j: int, batch: dict, order: np.ndarray, t: float) -> None:
        """Readers take in the copies ``order`` of ``batch`` one by one, in random order
        (``kernels.read_guideline``, which shuffles ``order``)."""
        cfg, p = self.config, self.params
        aware_at, adopt_at = kernels.read_guideline(
            self.rng.random(3 * order.size), order, batch["recv"], batch["sender"], batch["group"], batch["weight"],
            model.pop.literacy if cfg.heterogeneity else _NO_LITERACY, LITERACY_REF,
            self.state[j], self.active[j], self.t_first[j], self.t_taken[j], self.n_sources[j],
            self.last_src[j], self.group_posts[j], float(t), float(p["share_prob"][j]),
            float(p["stifle_prob"][j]), self.kinds[j] == "guideline", float(cfg.adopt_prob),
            int(cfg.adoption_sources), int(cfg.discussion_posts))
        if self.log.enabled:
            for at, kind in ((aware_at, "aware"), (adopt_at, "adopt")):
                self.log.add(j, EVENT_KINDS.index(kind), batch["sender"][at], batch["recv"][at],
                             batch["group"][at], t)

    def _expose_rumor(self, model, j: int, sub: dict, t: float) -> None:
        cfg, n = self.config, model.pop.n
        recv, stance, w = sub["recv"], sub["stance"], sub["weight"]
        state = self.state[j, recv]
        first = self._first_copies(recv)
        known = (state != UNAWARE) | ~first
        self._stifle(j, sub, known)
        w_r = np.bincount(recv, weights=w * (stance == CONTENT), minlength=n)
        w_c = np.bincount(recv, weights=w * (stance == CORRECTION), minlength=n)
        readers, at = _unique_first(recv)                         # sorted, with first copies
        st = self.state[j, readers]
        # each new state is attributed to the reader's first copy of the matching stance
        src_r, grp_r = _first_of(recv, stance == CONTENT, sub["sender"], sub["group"], readers)
        src_c, grp_c = _first_of(recv, stance == CORRECTION, sub["sender"], sub["group"], readers)
        src, grp = sub["sender"][at], sub["group"][at]
        # susceptible readers take a stance
        sus = (st == UNAWARE) | (st == DOUBTS)
        r_s = readers[sus]
        a = np.full(r_s.size, self.items[j].credibility)
        if cfg.heterogeneity:
            a = a - cfg.literacy_effect * (model.pop.literacy[r_s] - LITERACY_REF)
        a = np.clip(a, -0.99, 0.99)
        wr, wc = w_r[r_s] * (1 + a), w_c[r_s] * (1 - a)
        take = self.rng.random(r_s.size) < cfg.beta
        believe = take & (self.rng.random(r_s.size) * (wr + wc) < wr)
        correct = take & ~believe
        doubt = ~take & (self.state[j, r_s] == UNAWARE)
        for mask, new, who_s, who_g in ((believe, BELIEVES, src_r, grp_r), (correct, CORRECTED, src_c, grp_c),
                                        (doubt, DOUBTS, src, grp)):
            self._set_state(j, r_s[mask], new, t, sender=who_s[sus][mask], group=who_g[sus][mask])
        took = r_s[believe | correct]
        share = self.rng.random(took.size) < self.params["share_prob"][j]
        self.active[j, took] = share
        # believers reading corrections
        bel = (st == BELIEVES) & (w_c[readers] > 0)
        r_b = readers[bel]
        self.reached_corr[j, r_b] = True
        p_turn = 1.0 - np.power(1.0 - cfg.correction_uptake, w_c[r_b])
        turn = (self.rng.random(r_b.size) < p_turn) & ~self.persistent[j, r_b]
        self._set_state(j, r_b[turn], CORRECTED, t, sender=src_c[bel][turn], group=grp_c[bel][turn])
        self.active[j, r_b[turn]] = self.rng.random(int(turn.sum())) < self.params["share_prob"][j]
        # believers reached by a correction (also those who believe after reading one now)
        self.reached_corr[j, r_s[believe & (w_c[r_s] > 0)]] = True

    # verification and forgetting -----------------------------------------------------
    def _verify_and_forget(self, model, start: dict, t: float, dt: float) -> None:
        if not self.rumors:
            return
        cfg = self.config
        lit = (model.pop.literacy / LITERACY_REF) if cfg.heterogeneity else 1.0
        p_verify = np.clip(_per_step(cfg.verify_prob_per_day, dt) * lit, 0, 1)
        p_check = np.clip(_per_step(cfg.check_prob_per_day, dt) * lit, 0, 1)
        p_forget = float(_per_step(cfg.forget_prob_per_day, dt))
        for j in self.rumors:
            st0 = start[j]
            # only those still in their start-of-step state move (one transition per step)
            same = self.state[j] == st0
            u = self.rng.random(st0.size)
            bel = same & (st0 == BELIEVES)
            cor = same & (st0 == CORRECTED)
            forget = (bel | cor) & (u < p_forget)
            verify = bel & ~forget & (u < p_forget + p_verify * (1 - p_forget))
            check = same & (st0 == DOUBTS) & (u < np.broadcast_to(p_check, st0.shape))
            who = np.flatnonzero(forget)
            if who.size:
                self.state[j, who] = DOUBTS
                self.active[j, who] = False
                self.log.add(j, EVENT_KINDS.index("forget"), who, who, -1, t)
            for mask in (verify, check):
                who = np.flatnonzero(mask)
                if who.size:
                    self._set_state(j, who, CORRECTED, t, sender=who)
                    self.active[j, who] = self.rng.random(who.size) < self.params["share_prob"][j]

    # posting ---------------------------------------------------------------------
    def _post(self, model, t: float, dt: float) -> None:
        cfg, net, pop = self.config, model.net, model.pop
        if cfg.heterogeneity and self._activity is None:
            role_a = np.array([cfg.role_activity.get(r, 1.0) for r in ROLES], np.float32)
            self._activity = pop.reads_per_day / np.median(pop.reads_per_day) * role_a[pop.role]
        if cfg.heterogeneity:
            awake = not model.clock.is_night()
            night = model.config.population.night_activity
        for j in range(len(self.items)):
            spreaders = np.flatnonzero(self.active[j])
            if spreaders.size == 0:
                continue
            k = self._posting(j, dt)
            if cfg.heterogeneity:
                on = awake | in_hours(model.clock.hour, pop.work_start[spreaders], pop.work_end[spreaders])
                factor = np.clip(self._activity[spreaders] * np.where(on, 1.0, night), 0, 5)
                p_post = np.clip(k.p_post * factor, 0, 1).astype(np.float64)
                weight = (self._credibility(model, spreaders) * k.fidelity).astype(np.float32)
            else:
                factor, p_post, weight = 1.0, k.p_post_one, k.weight_one
            stance = (np.where(self.state[j, spreaders] == CORRECTED, CORRECTION, CONTENT).astype(np.int8)
                      if k.rumor else _ONE_CONTENT)
            # group posts: one draw per (spreader, group) membership, then the stops
            if self.group_posts.shape[1] < net.n_groups:
                self._grow_group_posts(net.n_groups)
            who, groups, rows, deliveries, cols = kernels.post_in_groups(
                self.rng, spreaders, p_post, net.c_indptr, net.c_groups, net.c_rows, net.g_indptr,
                net.g_members, net.m_muted, net.g_muted, k.p_notice, self.group_posts[j], k.p_stop,
                self.active[j], stance, weight, j, float(t), self.n_posts)
            if who.size:
                self._posted(model, j, stance[who] if k.rumor else stance, spreaders[who], groups, t, deliveries, cols)
            # direct messages
            if k.p_direct > 0:
                send = self.rng.random(spreaders.size) < np.clip(k.p_direct * factor, 0, 1)
                if send.any():
                    self._emit_direct(model, j, stance[send] if k.rumor else CONTENT, spreaders[send], t)

    def _posting(self, j: int, dt: float) -> "_Posting":
        """Item ``j``'s per-step posting constants, for this step length and the current
        screenshot settings (which a ``settings`` intervention may change)."""
        cfg = self.config
        key = (j, dt, cfg.screenshot_delay_factor, cfg.screenshot_fidelity)
        k = self._postings.get(key)
        if k is None:
            it, prm = self.items[j], self.params
            scale = it.salience * (cfg.screenshot_delay_factor if it.blocked_link else 1.0)
            fidelity = cfg.screenshot_fidelity if it.blocked_link else 1.0
            p_post = _per_step(prm["post_prob_per_day"][j], dt) * scale
            k = self._postings[key] = _Posting(
                rumor=it.kind == "rumor", p_post=p_post, p_post_one=np.array([min(p_post, 1.0)]),
                p_stop=_per_step(prm["stop_prob_per_day"][j], dt), p_notice=float(prm["notice_prob"][j]),
                p_direct=_per_step(prm["direct_prob_per_day"][j], dt) * scale, fidelity=fidelity,
                weight_one=np.array([fidelity], np.float32))
        return k

    def _grow_group_posts(self, n_groups: int) -> None:
        grow = np.zeros((self.group_posts.shape[0], n_groups - self.group_posts.shape[1]), np.int32)
        self.group_posts = np.concatenate([self.group_posts, grow], axis=1)

    def _weights(self, model, senders: np.ndarray, fidelity: float) -> np.ndarray:
        """Weight of the copies of each sender's posts (one value for all without heterogeneity)."""
        if self.config.heterogeneity:
            return (self._credibility(model, senders) * fidelity).astype(np.float32)
        return np.array([fidelity], np.float32)

    def _emit_group_posts(self, model, j: int, stance, senders, groups, sender_rows, t: float) -> None:
        """Pinned posts of item ``j`` (stance per post) by ``senders`` (membership rows
        ``sender_rows``) in ``groups``. (Sharers' posts come from ``_post``.)"""
        net = model.net
        groups = np.asarray(groups, np.int32)
        senders = np.asarray(senders, np.int64)
        if groups.size == 0:
            return
        if self.group_posts.shape[1] < net.n_groups:
            self._grow_group_posts(net.n_groups)
        # copies to the other unmuted members; only those that will be noticed are kept
        owner, recv, deliveries = kernels.noticed_copies(
            self.rng, groups, np.asarray(sender_rows, np.int64), net.g_indptr, net.g_members, net.m_muted,
            net.g_muted, float(self.params["notice_prob"][j]), self.group_posts[j])
        stance = np.asarray(stance, np.int8)
        cols = kernels.copy_columns(owner, recv, np.arange(groups.size), senders, groups, stance,
                                    self._weights(model, senders, 1.0), j, float(t), self.n_posts)
        self._posted(model, j, stance, senders, groups, t, deliveries, cols, pinned=True)

    def _posted(self, model, j: int, stance, senders, groups, t: float, deliveries: int, cols,
                pinned: bool = False) -> None:
        """Book posts of item ``j`` (``stance`` per post or one for all) and queue their
        noticed copies ``cols`` (``kernels.copy_columns``; post ids from ``n_posts``)."""
        net, n_new = model.net, groups.size
        first_id = self.n_posts                                # post ids: first_id + index
        self.n_posts += n_new
        if self.n_posts > self.removed.size:
            grown = np.zeros(max(2 * self.removed.size, self.n_posts), bool)
            grown[:self.removed.size] = self.removed
            self.removed = grown
        self.counters["posts"] += n_new
        self.counters["deliveries"] += int(deliveries)
        if self.log.enabled:
            log_item = np.where(stance == CORRECTION, self.corr_id.get(j, j), j)
            self.log.add(np.broadcast_to(log_item, (n_new,)), EVENT_KINDS.index("pinned" if pinned else "post"),
                         senders, -1, groups, t)
        self._append_pending(dict(zip(_DELIVERY_COLUMNS, cols)))
        # moderators fact-check rumor posts (content stance) in their groups
        mc = self.config.moderation
        if mc.enabled and not pinned and self.kinds[j] == "rumor":
            check = (np.broadcast_to(stance, (n_new,)) == CONTENT) & (self.rng.random(n_new) < mc.notice_prob)
            if check.any():
                g = groups[check]
                mod = _a_moderator(net, g, self.rng)
                has = mod >= 0
                delay = self.rng.exponential(mc.delay_hours / 24.0, int(has.sum()))
                q = self.moderation_queue
                self.moderation_queue = {
                    "post": np.concatenate([q["post"], first_id + np.flatnonzero(check)[has]]),
                    "group": np.concatenate([q["group"], g[has]]),
                    "item": np.concatenate([q["item"], np.full(int(has.sum()), j, np.int32)]),
                    "moderator": np.concatenate([q["moderator"], mod[has]]),
                    "t": np.concatenate([q["t"], t + delay]),
                }

    def _emit_direct(self, model, j: int, stance, senders, t: float) -> None:
        n = model.pop.n
        stance = np.broadcast_to(np.asarray(stance, np.int8), senders.shape)
        if self.config.direct_targets == "anyone":
            recv = self.rng.integers(0, n - 1, senders.size)
            recv = recv + (recv >= senders)            # anyone but oneself
        else:
            c = model.contacts
            deg = c.indptr[senders + 1] - c.indptr[senders]
            has = deg > 0
            senders, stance, deg = senders[has], stance[has], deg[has]
            recv = c.neighbors[c.indptr[senders] + (self.rng.random(senders.size) * deg).astype(np.int64)]
        if senders.size == 0:
            return
        self.counters["direct"] += int(senders.size)
        self.counters["deliveries"] += int(senders.size)
        items = np.full(senders.size, j, np.int32)
        log_items = np.where(stance == CORRECTION, self._corr_ids(items), items)
        self.log.add(log_items, EVENT_KINDS.index("direct"), senders, recv, -1, t)
        noticed = self.rng.random(senders.size) < self.params["notice_prob"][j]
        senders, recv, stance, items = senders[noticed], recv[noticed], stance[noticed], items[noticed]
        self._append_pending({
            "recv": recv.astype(np.int32), "item": items, "stance": np.asarray(stance, np.int8),
            "sender": senders.astype(np.int32), "group": np.full(senders.size, -1, np.int32),
            "post": np.full(senders.size, -1, np.int64), "t": np.full(senders.size, t, np.float64),
            "weight": self._credibility(model, senders).astype(np.float32),
        })

    def _corr_ids(self, items: np.ndarray) -> np.ndarray:
        table = np.array([self.corr_id.get(j, j) for j in range(len(self.items))], np.int32)
        return table[items]

    def _append_pending(self, new: dict) -> None:
        if self.pending["recv"].size == 0:
            self.pending = new
        else:
            self.pending = {k: np.concatenate([v, new[k]]) for k, v in self.pending.items()}

    def _track(self, t: float, dt: float) -> None:
        t_end = t + dt
        for r, j in enumerate(self.rumors):
            b = int((self.state[j] == BELIEVES).sum())
            self.person_days[r] += b * dt
            if b > self.peak[r]:
                self.peak[r], self.t_peak[r] = b, t_end
                self.t_below[r] = np.nan
            elif self.peak[r] > 0 and np.isnan(self.t_below[r]) and b < self.config.below_peak_share * self.peak[r]:
                self.t_below[r] = t_end

    # ------------------------------------------------------------------ outputs
    def record(self, model, rec) -> None:
        tier = model.pop.tier.astype(np.int8)
        per_tier = np.maximum(np.bincount(tier, minlength=3), 1)
        for j, it in enumerate(self.items):
            names = STATE_NAMES[it.kind]
            counts = np.bincount(self.state[j] * np.int8(3) + tier, minlength=3 * len(names)).reshape(-1, 3)
            if it.kind != "rumor":
                # awareness is cumulative: adopters are aware too
                counts = np.cumsum(counts[::-1], axis=0)[::-1]
            totals, shares = counts.sum(axis=1).tolist(), (counts / per_tier).tolist()
            for code, label in enumerate(names):
                if code == UNAWARE:
                    continue
                rec.add(f"n_{label}/{it.name}", totals[code])
                for k, tname in enumerate(TIERS):
                    rec.add(f"p_{label}/{it.name}/{tname}", shares[code][k])
            rec.add(f"cum_heard/{it.name}", self.t_first[j].size - int(np.isnan(self.t_first[j]).sum()))
            rec.add(f"n_spreaders/{it.name}", int(np.count_nonzero(self.active[j])))
        rec.add("cum_posts", self.counters["posts"])
        rec.add("cum_direct_messages", self.counters["direct"])
        rec.add("cum_deliveries", self.counters["deliveries"])
        rec.add("n_pending_deliveries", self.pending["recv"].size)

    def metrics(self, model) -> dict:
        pop = model.pop
        n = pop.n
        days = max(model.t, 1e-9)
        out: dict = {
            "info_posts": self.counters["posts"],
            "info_direct_messages": self.counters["direct"],
            "info_deliveries": self.counters["deliveries"],
            "info_messages_per_clinician_per_day": (self.counters["posts"] + self.counters["direct"]) / n / days,
            "info_purged_copies": self.counters["purged"],
            "info_reasked": self.counters["reasked"],
            "info_removed_posts": self.counters["removed_posts"],
            "info_removed_unread_copies": self.counters["removed_copies"],
            "info_pinned_corrections": self.counters["pinned"],
        }
        tier = pop.tier
        for j, it in enumerate(self.items):
            key = f"info_{it.name}"
            for r, role in enumerate(ROLES):
                sel = pop.role == r
                if sel.any():
                    ever = (~np.isnan(self.t_taken[j][sel])) if it.kind == "rumor" else ~np.isnan(self.t_first[j][sel])
                    label = "ever_believed" if it.kind == "rumor" else "aware"
                    out[f"{key}_p_{label}_{role}"] = float(ever.mean())
            heard = ~np.isnan(self.t_first[j])
            out[f"{key}_p_heard"] = float(heard.mean())
            out[f"{key}_p_never_heard"] = float(1 - heard.mean())
            if it.kind in ("guideline", "case_report"):
                out[f"{key}_p_aware"] = float(heard.mean())
                taken = ~np.isnan(self.t_taken[j])
                if it.kind == "guideline":
                    out[f"{key}_p_adopted"] = float(taken.mean())
                for k, tname in enumerate(TIERS):
                    sel = tier == k
                    if not sel.any():
                        continue
                    for label, times in (("aware", self.t_first[j]), ("adopted", self.t_taken[j])):
                        if it.kind == "case_report" and label == "adopted":
                            continue
                        for q in (0.5, 0.9):
                            out[f"{key}_t{int(q * 100)}_{label}_{tname}"] = _time_to_share(times[sel], q)
                        out[f"{key}_p_{label}_{tname}"] = float((~np.isnan(times[sel])).mean())
                for label in ("aware", "adopted"):
                    a, b = out.get(f"{key}_t50_{label}_primary"), out.get(f"{key}_t50_{label}_tertiary")
                    if a is not None and b is not None:
                        out[f"{key}_lag50_{label}_primary_vs_tertiary"] = a - b
                if it.kind == "case_report":
                    admins = pop.role == ROLES.index("public_health_admin")
                    ta = self.t_first[j][admins] - it.start_day
                    out[f"{key}_t_first_admin"] = float(np.nanmin(ta)) if np.isfinite(ta).any() else None
                    out[f"{key}_p_admins_aware"] = float(np.isfinite(ta).mean()) if admins.any() else None
            else:
                r = self.rumors.index(j)
                ever = self.ever_believed[j]
                out[f"{key}_peak_believers"] = int(self.peak[r])
                out[f"{key}_p_peak_believers"] = float(self.peak[r] / n)
                out[f"{key}_t_peak"] = _nan_none(self.t_peak[r])
                out[f"{key}_believer_days"] = float(self.person_days[r])
                out[f"{key}_p_ever_believed"] = float(ever.mean())
                out[f"{key}_t_first_correction"] = _nan_none(self.t_first_correction[r] - it.start_day)
                out[f"{key}_t_below_{int(self.config.below_peak_share * 100)}pct_peak"] = _nan_none(
                    self.t_below[r] - it.start_day)
                out[f"{key}_p_believers_reached_by_correction"] = (
                    float(self.reached_corr[j][ever].mean()) if ever.any() else None)
                out[f"{key}_p_final_believers"] = float((self.state[j] == BELIEVES).mean())
                out[f"{key}_p_final_corrected"] = float((self.state[j] == CORRECTED).mean())
                for k, tname in enumerate(TIERS):
                    sel = tier == k
                    if sel.any():
                        out[f"{key}_p_ever_believed_{tname}"] = float(ever[sel].mean())
        out.update(self._summary(out))
        return out

    def _summary(self, m: dict) -> dict:
        lines = {}
        for j, it in enumerate(self.items):
            key = f"info_{it.name}"
            if it.kind == "guideline":
                def fmt(x):
                    return "n/a" if x is None or not np.isfinite(x) else f"{x:.1f} d"
                lines[f"summary_info_{j:02d}"] = (
                    f"guideline {it.name}: aware {m[f'{key}_p_aware']:.0%}, adopted {m[f'{key}_p_adopted']:.0%}; "
                    f"days to 50% aware tertiary {fmt(m.get(f'{key}_t50_aware_tertiary'))}, "
                    f"secondary {fmt(m.get(f'{key}_t50_aware_secondary'))}, primary {fmt(m.get(f'{key}_t50_aware_primary'))}"
                )
            elif it.kind == "case_report":
                t_admin = m.get(f"{key}_t_first_admin")
                lines[f"summary_info_{j:02d}"] = (
                    f"case report {it.name}: aware {m[f'{key}_p_aware']:.0%}; first administrator after "
                    f"{'n/a' if t_admin is None else f'{t_admin:.2f} d'}, administrators aware "
                    f"{m.get(f'{key}_p_admins_aware') or 0:.0%}"
                )
            else:
                t_c = m.get(f"{key}_t_first_correction")
                reached = m.get(f"{key}_p_believers_reached_by_correction")
                lines[f"summary_info_{j:02d}"] = (
                    f"rumor {it.name}: peak believers {m[f'{key}_p_peak_believers']:.1%}"
                    f"{'' if m[f'{key}_t_peak'] is None else ' on day %.1f' % m[f'{key}_t_peak']}, "
                    f"ever believed {m[f'{key}_p_ever_believed']:.0%}, final {m[f'{key}_p_final_believers']:.1%}; "
                    f"first correction {'n/a' if t_c is None else f'after {t_c:.2f} d'}; believers reached by "
                    f"a correction {'n/a' if reached is None else f'{reached:.0%}'}"
                )
        lines["summary_info_zz"] = (
            f"messages: {m['info_posts']:,} group posts, {m['info_direct_messages']:,} direct; "
            f"{m['info_messages_per_clinician_per_day']:.2f} per clinician per day; "
            f"{m['info_purged_copies']:,} copies purged unread"
        )
        return lines

    def tables(self, model) -> dict[str, pd.DataFrame]:
        out = {}
        if self.config.event_log:
            out["events"] = self.log.frame(self.item_names, self.parents)
        rows = []
        for j, it in enumerate(self.items):
            rows.append(pd.DataFrame({
                "item": it.name, "clinician": np.arange(model.pop.n),
                "state": pd.Categorical.from_codes(self.state[j], STATE_NAMES[it.kind]).astype(str),
                "t_first": self.t_first[j], "t_taken": self.t_taken[j],
            }))
        out["item_states"] = pd.concat(rows, ignore_index=True)
        return out


# ---------------------------------------------------------------------- helpers

def _a_moderator(net, groups: np.ndarray, rng) -> np.ndarray:
    """One moderator of each group (-1 where none)."""
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



_NO_LITERACY = np.zeros(0, np.float32)
_ONE_CONTENT = np.full(1, CONTENT, np.int8)                    # one stance for all posts


def _distinct(values: np.ndarray) -> list[int]:
    """Distinct values of a small-alphabet array (item ids), in increasing order."""
    if values.size == 0:
        return []
    return np.flatnonzero(np.bincount(values)).tolist()


def _first_of(recv, mask, sender, group, readers):
    """Sender and group of each reader's first copy among ``mask`` (-1 where none)."""
    out_s = np.full(readers.size, -1, np.int32)
    out_g = np.full(readers.size, -1, np.int32)
    idx = np.flatnonzero(mask)
    if idx.size:
        r, first = _unique_first(recv[idx])
        pos = np.searchsorted(readers, r)
        out_s[pos] = sender[idx[first]]
        out_g[pos] = group[idx[first]]
    return out_s, out_g


def _time_to_share(times: np.ndarray, q: float) -> float | None:
    """Time by which a share q of the clinicians had the event (None when never reached)."""
    finite = np.sort(times[np.isfinite(times)])
    need = int(np.ceil(q * times.size))
    if need == 0 or finite.size < need:
        return None
    return float(finite[need - 1])


def _nan_none(x) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


_DELIVERY_COLUMNS = ("recv", "item", "stance", "sender", "group", "post", "t", "weight")


def _empty_deliveries() -> dict:
    return {"recv": np.zeros(0, np.int32), "item": np.zeros(0, np.int32), "stance": np.zeros(0, np.int8),
            "sender": np.zeros(0, np.int32), "group": np.zeros(0, np.int32), "post": np.zeros(0, np.int64),
            "t": np.zeros(0, np.float64), "weight": np.zeros(0, np.float32)}


_NO_DELIVERIES = _empty_deliveries()
for _a in _NO_DELIVERIES.values():
    _a.flags.writeable = False


def _empty_moderation() -> dict:
    return {"post": np.zeros(0, np.int64), "group": np.zeros(0, np.int32), "item": np.zeros(0, np.int32),
            "moderator": np.zeros(0, np.int32), "t": np.zeros(0, np.float64)}
