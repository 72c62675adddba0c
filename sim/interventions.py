"""Interventions: what is delivered, to whom, and when.

A scenario lists interventions as ``[[interventions]]`` tables::

    [[interventions]]
    name = "embed_specialists"      # a registered intervention
    start_day = 10                  # switched on at the first step starting at or after this day
    end_day = 40                    # optional: switched off again
    params = { per_group = 1 }      # the intervention's own settings (validated)

    [[interventions]]
    name = "settings"               # the generic one: change settings for a while
    start_day = 0
    set = { "network.conference_interval_days" = 0 }   # e.g. a lockdown: no conferences

Every intervention is a :class:`~sim.components.Component` (the same lifecycle as the
processes) registered under its name, with a ``Params`` schema and ``start(model)`` /
``stop(model)``; its ``step`` switches it on at ``start_day`` and off at ``end_day``.
Interventions act on the processes only through their public methods. Nothing happens
before ``start_day``: the processes read their settings each step, and ``settings``
interventions restore the previous values at ``end_day``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, ValidationInfo, field_validator, model_validator

from .components import REGISTRY, Component, load, names, register
from .population import N_CLINICAL, SPECIALTIES
from .schema import ROLES, NonNegative, Section

__all__ = ["Intervention", "InterventionConfig", "make_intervention", "register_intervention"]

CLINICAL_SPECIALTIES = SPECIALTIES[:N_CLINICAL]


def register_intervention(cls: type[Intervention]) -> type[Intervention]:
    """Class decorator: make an intervention available to scenarios under ``cls.name``."""
    register(cls.name, "intervention", f"{cls.__module__}:{cls.__qualname__}", (cls.__doc__ or "").split("\n")[0])
    return cls


def intervention_class(name: object) -> type[Intervention] | None:
    """The registered intervention called ``name``, or None."""
    entry = REGISTRY.get(name) if isinstance(name, str) else None
    if entry is None or entry.kind != "intervention":
        return None
    cls = load(name)  # type: ignore[arg-type]
    assert issubclass(cls, Intervention)
    return cls


class InterventionConfig(Section):
    name: str = Field(description="A registered intervention (see docs/model.md).")
    start_day: NonNegative = Field(0.0, description="Switched on at the first step starting at or after this day.")
    end_day: NonNegative | None = Field(None, description="Switched off at this day (optional).")
    params: dict[str, Any] = Field(
        default_factory=dict, validate_default=True, description="The intervention's own settings."
    )
    set: dict[str, Any] = Field(default_factory=dict, description="Only for name = 'settings'.")

    @model_validator(mode="before")
    @classmethod
    def _known_name(cls, raw):
        """A string ``name`` must be registered (any other ``name`` is refused by its type)."""
        if isinstance(raw, dict) and isinstance(raw.get("name"), str) and intervention_class(raw["name"]) is None:
            raise ValueError(f"unknown intervention {raw['name']!r}; known: {sorted(names('intervention'))}")
        return raw

    @field_validator("params")
    @classmethod
    def _params(cls, params: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        """Validate ``params`` against the named intervention's schema, defaults filled in.

        A field validator, so that a bad parameter is reported at ``interventions.<k>.params.<key>``.
        """
        kind = intervention_class(info.data.get("name"))
        if kind is None:  # the name itself was refused
            return params
        return kind.Params.model_validate(params).model_dump(exclude_none=True)

    @model_validator(mode="after")
    def _check(self):
        if self.end_day is not None and self.end_day <= self.start_day:
            raise ValueError(f"end_day {self.end_day} must be after start_day {self.start_day}")
        if self.set and self.name != "settings":
            raise ValueError("`set` belongs to the 'settings' intervention; use `params` here")
        return self


class Intervention(Component):
    """Base class. Subclasses set ``name``, a ``Params`` schema, and start/stop."""

    name: ClassVar[str] = "intervention"
    kind = "intervention"

    class Params(Section):
        pass

    def __init__(self, config: InterventionConfig):
        super().__init__(config)
        self.params: Any = self.Params.model_validate(config.params)  # an instance of the subclass's Params
        self.started = False
        self.stopped = False

    def step(self, model) -> None:
        cfg = self.config
        if not self.started and cfg.start_day <= model.t + 1e-9:
            self.start(model)
            self.started = True
        if self.started and not self.stopped and cfg.end_day is not None and cfg.end_day <= model.t + 1e-9:
            self.stop(model)
            self.stopped = True

    def start(self, model) -> None:
        """Switch on (called once, at the first step at or after ``start_day``)."""

    def stop(self, model) -> None:
        """Switch off (called at ``end_day`` when one is given)."""


def make_intervention(config: InterventionConfig) -> Intervention:
    """The intervention component a scenario's ``[[interventions]]`` entry describes."""
    cls = intervention_class(config.name)
    assert cls is not None, config.name  # the schema refused unknown names
    return cls(config)


def _resolve(model, dotted: str):
    *path, last = dotted.split(".")
    node = model.config
    for key in path:
        node = getattr(node, key)
    return node, last


@register_intervention
class Settings(Intervention):
    """Change any settings (dotted paths) from start_day, restore them at end_day."""

    name = "settings"

    def __init__(self, config: InterventionConfig):
        super().__init__(config)
        touched = {dotted.split(".")[0] for dotted in config.set}
        spill = {a for t in touched if t in REGISTRY and REGISTRY[t].kind == "process" for a in load(t).affects}
        self.affects = tuple(sorted((touched | spill) & {e.name for e in REGISTRY.values() if e.kind == "process"}))  # type: ignore[misc]

    def start(self, model) -> None:
        self._saved = {}
        for dotted, value in self.config.set.items():
            node, last = _resolve(model, dotted)
            self._saved[dotted] = getattr(node, last)
            setattr(node, last, value)  # validated by the section's schema

    def stop(self, model) -> None:
        for dotted, value in self._saved.items():
            node, last = _resolve(model, dotted)
            setattr(node, last, value)


@register_intervention
class EmbedSpecialists(Intervention):
    """Tertiary specialists join the groups of rural and primary-care clinicians.

    Each group where most members work in primary facilities receives ``per_group``
    tertiary clinicians of the group's most common clinical specialty (any tertiary
    doctor when none has it). They stay members after ``end_day`` (ties persist).
    """

    name = "embed_specialists"
    affects = ("network", "information", "diagnosis")

    class Params(Section):
        per_group: int = Field(1, ge=1, le=20)
        min_primary_share: float = Field(0.5, ge=0, le=1)

    def start(self, model) -> None:
        from .groups import JOIN_EMBEDDED

        pop, net = model.pop, model.net
        rng = model.streams("intervention.embed_specialists")
        tier = pop.tier[net.m_clinician]
        primary_share = np.bincount(net.m_group, weights=(tier == 0), minlength=net.n_groups)
        sizes = np.maximum(net.sizes, 1)
        target = np.flatnonzero(primary_share / sizes >= self.params.min_primary_share)
        if target.size == 0:
            return
        n_spec = int(pop.specialty.max()) + 1
        counts = np.zeros((net.n_groups, n_spec))
        np.add.at(counts, (net.m_group, pop.specialty[net.m_clinician]), 1)
        top = np.argmax(counts[target], axis=1)
        experts = np.flatnonzero((pop.tier == 2) & (pop.role == ROLES.index("doctor")) & ~pop.fac_abroad[pop.facility])
        if experts.size == 0:
            return
        g = np.repeat(target, self.params.per_group)
        want = np.repeat(top, self.params.per_group)
        spec_of = pop.specialty[experts]
        order = np.argsort(spec_of, kind="stable")
        lo = np.searchsorted(spec_of[order], want, "left")
        hi = np.searchsorted(spec_of[order], want, "right")
        pick_same = experts[order][np.minimum(lo + (rng.random(g.size) * (hi - lo)).astype(int), experts.size - 1)]
        pick_any = experts[rng.integers(0, experts.size, g.size)]
        chosen = np.where(hi > lo, pick_same, pick_any).astype(np.int32)
        room = net.sizes[g] < net.size_cap
        self.added = net.add_members(chosen[room], g[room].astype(np.int32), model.t, JOIN_EMBEDDED)
        net.reindex()


def _eligible(pop, tiers, roles) -> np.ndarray:
    from .schema import TIERS

    ok = np.ones(pop.n, bool)
    if tiers:
        ok &= np.isin(pop.tier, [TIERS.index(t) for t in tiers])
    if roles:
        ok &= np.isin(pop.role, [ROLES.index(r) for r in roles])
    return np.flatnonzero(ok)


@register_intervention
class LiteracyTraining(Intervention):
    """Training or steady science popularisation: literacy rises by ``gain`` (capped at 1)
    for a share of the eligible clinicians. The gain persists after ``end_day``."""

    name = "literacy_training"
    affects = ("information",)

    class Params(Section):
        share: float = Field(0.5, ge=0, le=1, description="Share of eligible clinicians trained.")
        gain: float = Field(0.2, ge=0, le=1, description="Added literacy (0-1 scale).")
        tiers: list[Literal["primary", "secondary", "tertiary"]] | None = None
        roles: list[Literal[ROLES]] | None = None  # type: ignore[valid-type]

    def start(self, model) -> None:
        pop = model.pop
        rng = model.streams("intervention.literacy_training")
        pool = _eligible(pop, self.params.tiers, self.params.roles)
        chosen = pool[rng.random(pool.size) < self.params.share]
        pop.literacy[chosen] = np.minimum(1.0, pop.literacy[chosen] + self.params.gain)
        self.trained = int(chosen.size)


@register_intervention
class Broadcast(Intervention):
    """Official broadcast: clinicians of the given roles take up an item (a guideline, a
    case report, or the correction of a rumor) and share it in their groups."""

    name = "broadcast"
    affects = ("information",)

    class Params(Section):
        item: str = Field(description="Name of a guideline, case report, or of the rumor to correct.")
        roles: list[Literal[ROLES]] = Field(  # type: ignore[valid-type]
            default_factory=lambda: ["public_health_admin"]
        )
        tiers: list[Literal["primary", "secondary", "tertiary"]] | None = None

    def start(self, model) -> None:
        who = _eligible(model.pop, self.params.tiers, self.params.roles)
        model.process("information").broadcast(model, self.params.item, who)


@register_intervention
class ReadingGroups(Intervention):
    """New reading groups (journal clubs) of doctors and nurses, by specialty and region."""

    name = "reading_groups"
    affects = ("network", "information", "diagnosis")

    class Params(Section):
        share: float = Field(0.3, ge=0, le=1, description="Share of doctors and nurses who join.")
        size_median: float = Field(15, ge=3, le=500)

    def start(self, model) -> None:
        from .groups import JOIN_EMBEDDED, form_groups

        pop, net = model.pop, model.net
        rng = model.streams("intervention.reading_groups")
        pool = _eligible(pop, None, ["doctor", "nurse"])
        pool = pool[rng.random(pool.size) < self.params.share]
        key = pop.specialty[pool].astype(np.int64) * (int(pop.region.max()) + 1) + pop.region[pool]
        form_groups(net, pop, pool, key, "reading", model.t, self.params.size_median, 0.4, JOIN_EMBEDDED, 1, rng)


@register_intervention
class OncallRoster(Intervention):
    """An on-call consult roster.

    The ``per_specialty`` most expert domestic tertiary clinicians of each case
    specialty (answering roles only) act on requests at every hour, read their chats
    at ``reads_per_hour`` at least, and answer with ``answer_prob`` at least. They
    answer where they can be reached (their groups and contacts): combine with
    ``embed_specialists`` to put them in rural groups. Stopped at ``end_day``.
    """

    name = "oncall_roster"
    affects = ("diagnosis",)

    class Params(Section):
        per_specialty: int = Field(2, ge=1, le=100_000, description="Clinicians on call per case specialty.")
        reads_per_hour: float = Field(4.0, gt=0.0, le=600.0, description="Chat openings per hour, at least.")
        answer_prob: float = Field(1.0, ge=0.0, le=1.0, description="Probability of answering a request, at least.")

    def start(self, model) -> None:
        from .processes.diagnosis.config import N_CASE_SPEC
        from .processes.diagnosis.kernels import run_rank

        self.members = np.zeros(0, np.int64)
        try:
            proc = model.process("diagnosis")
        except KeyError:
            return
        pop = model.pop
        ok = (
            (pop.tier == 2) & ~pop.fac_abroad[pop.facility] & proc.eligible_experts(pop) & (pop.specialty < N_CASE_SPEC)
        )
        ids = np.flatnonzero(ok)
        ids = ids[np.lexsort((ids, -pop.expertise[ids], pop.specialty[ids]))]
        self.members = ids[run_rank(pop.specialty[ids]) < self.params.per_specialty]
        proc.set_oncall(self.members, self.params.reads_per_hour, self.params.answer_prob)

    def stop(self, model) -> None:
        try:
            proc = model.process("diagnosis")
        except KeyError:
            return
        proc.set_oncall(self.members, 0.0, 0.0, on=False)


@register_intervention
class TrainingCourse(Intervention):
    """A tertiary expert teaches a complex procedure in a group, one session every
    ``interval_days``; members of the course's specialty who follow a session close a
    share ``learning_rate`` of the gap between their expertise and the instructor's.

    The course runs in the ``groups`` largest groups that have a domestic tertiary doctor
    of the specialty (the most expert one teaches). A member follows a session with
    ``follow_prob`` (muted members never). After ``n`` sessions followed, a learner's
    expertise is ``c - (c - e0)(1 - learning_rate)^n`` (``c`` the instructor's): the
    exponential learning curve. Gains persist after the course; diagnosis reads them
    (skill on cases of the specialty), and so does information (a sender's weight). Time series ``course_mean_expertise`` of the
    specialty's clinicians by tier; metrics ``course_learners``, ``course_sessions`` and
    ``course_gain_mean`` by tier.
    """

    name = "training_course"
    affects = ("information", "diagnosis")  # expertise: skill on cases, weight as a source

    class Params(Section):
        specialty: Literal[CLINICAL_SPECIALTIES] = Field(  # type: ignore[valid-type]
            "dermatology", description="The procedure's specialty (a clinical one)."
        )
        sessions: int = Field(8, ge=1, le=500, description="Posts and demonstrations of the course.")
        interval_days: float = Field(7.0, gt=0, le=365, description="Days between sessions.")
        groups: int = Field(1, ge=1, le=10_000, description="Groups the course runs in.")
        follow_prob: float = Field(0.6, ge=0, le=1, description="Chance a member of the specialty follows a session.")
        learning_rate: float = Field(0.2, ge=0, le=1, description="Share of the gap closed per session followed.")

    def setup(self, model) -> None:
        self.spec = SPECIALTIES.index(self.params.specialty)
        self.e0 = model.pop.expertise.copy()
        self.followed = np.zeros(model.pop.n, np.int32)
        self.groups = np.zeros(0, np.int64)
        self.teachers = np.zeros(0, np.int64)
        self.held = 0
        self.next_session = np.inf

    def start(self, model) -> None:
        pop, net = model.pop, model.net
        doctor = ROLES.index("doctor")
        able = (pop.tier == 2) & (pop.role == doctor) & (pop.specialty == self.spec) & ~pop.fac_abroad[pop.facility]
        rows = np.flatnonzero(able[net.m_clinician])
        if rows.size == 0:
            return
        # per group with a possible instructor: the most expert one (lowest id on ties)
        g, c = net.m_group[rows], net.m_clinician[rows]
        order = np.lexsort((c, -pop.expertise[c], g))
        g, c = g[order], c[order]
        first = np.r_[True, g[1:] != g[:-1]]
        cand_g, cand_c = g[first], c[first]
        pick = np.lexsort((cand_g, -net.sizes[cand_g]))[: self.params.groups]
        self.groups, self.teachers = cand_g[pick], cand_c[pick]
        self.next_session = model.t

    def step(self, model) -> None:
        super().step(model)
        if (
            self.started
            and not self.stopped
            and self.held < self.params.sessions
            and model.t + 1e-9 >= self.next_session
        ):
            self._session(model)
            self.held += 1
            self.next_session += self.params.interval_days

    def _session(self, model) -> None:
        pop, net, p = model.pop, model.net, self.params
        rng = model.streams("intervention.training_course")
        for g, teacher in zip(self.groups, self.teachers, strict=True):
            lo, hi = net.g_indptr[g], net.g_indptr[g + 1]
            members, muted = net.m_clinician[lo:hi], net.m_muted[lo:hi]
            learners = members[(pop.specialty[members] == self.spec) & ~muted & (members != teacher)]
            follow = learners[rng.random(learners.size) < p.follow_prob]
            gap = np.maximum(pop.expertise[teacher] - pop.expertise[follow], 0.0)
            pop.expertise[follow] += (p.learning_rate * gap).astype(pop.expertise.dtype)
            self.followed[follow] += 1

    def record(self, model, rec) -> None:
        from .schema import TIERS

        pop = model.pop
        mine = pop.specialty == self.spec
        for k, tier in enumerate(TIERS):
            sel = mine & (pop.tier == k)
            if sel.any():
                rec.add("course_mean_expertise", float(pop.expertise[sel].mean()), tier=tier)

    def finish(self, model, out) -> None:
        from .schema import TIERS

        pop, m = model.pop, out.metrics
        learners = self.followed > 0
        m.add("course", "learners", int(learners.sum()))
        m.add("course", "sessions", self.held)
        for k, tier in enumerate(TIERS):
            sel = learners & (pop.tier == k)
            gain = float((pop.expertise[sel] - self.e0[sel]).mean()) if sel.any() else None
            m.add("course", "gain_mean", gain, tier=tier)
