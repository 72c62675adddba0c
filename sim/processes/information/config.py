"""Settings of the information process and its constants: schema only (no numerics, no process).

Every setting is read by the process when it is used, so a ``settings`` intervention
that changes it takes effect from the next step. The fields marked ``setup_only``
shape the state built at set-up and cannot change during a run: ``enabled``, the list
of ``items`` (each item's ``name``, ``kind``, ``target`` and ``condition``) and ``event_log``.

An item's spreading settings (``notice_prob`` ... ``stifle_prob``) default by kind:
``None`` in the schema means "the kind's value", given by :func:`item_defaults`.
A correction spreads as the opposite stance of its rumor, with the rumor's spreading
settings: it takes only the seeding settings of its own.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import Field, model_validator

from ...population import SPECIALTIES
from ...schema import ROLES, SETUP_ONLY, TIERS, NonNegative, Probability, Section

__all__ = [
    "ADOPTED",
    "ARTICLE",
    "AWARE",
    "BELIEVES",
    "CONSIDERING",
    "CONTENT",
    "CORRECTED",
    "CORRECTION",
    "CORRECTION_UNUSED",
    "DOUBTS",
    "EVENT_KINDS",
    "ITEM_KINDS",
    "KIND_DEFAULTS",
    "LITERACY_REF",
    "REJECTED",
    "ROLE_ORDER",
    "SOURCE_NAMES",
    "SPREAD_FIELDS",
    "STATE_NAMES",
    "UNAWARE",
    "InformationConfig",
    "ItemConfig",
    "ModerationConfig",
    "Src",
    "item_defaults",
]

Kind = Literal["guideline", "rumor", "correction", "case_report"]
Condition = Literal[SPECIALTIES[:10]]  # type: ignore[valid-type]  # the case specialties of the diagnosis process
Role = Literal["doctor", "nurse", "lab_technician", "pharmacist", "public_health_admin"]
Tier = Literal["primary", "secondary", "tertiary"]
#: a relative weight (1 = a doctor's, or a secondary facility's): at most 100, so that products of
#: weights stay finite in the float32 arrays that carry them
Weight = Annotated[float, Field(ge=0.0, le=100.0)]
RegionKind = Literal["city", "rural", "abroad"]  # sim.population.REGION_KINDS (checked by the tests)
ITEM_KINDS: tuple[str, ...] = get_args(Kind)
ROLE_ORDER: tuple[Role, ...] = get_args(Role)  # == sim.schema.ROLES, typed
if get_args(Role) != ROLES or get_args(Tier) != TIERS:  # pragma: no cover - a guard for sim.schema edits
    raise RuntimeError("information.config: Role/Tier differ from sim.schema.ROLES/TIERS")

# state codes, per item and clinician (guidelines and case reports: as the kernels use them)
UNAWARE, AWARE, ADOPTED = 0, 1, 2
BELIEVES, CORRECTED, DOUBTS = 1, 2, 3
CONTENT, CORRECTION, ARTICLE = 0, 1, 2  # stance of a message (ARTICLE: a guideline's full text)
# stage of an aware clinician in the staged adoption of a guideline (information.adoption)
CONSIDERING, REJECTED = 1, 2  # 0: not (yet) considering


class Src:
    """How a clinician got a guideline's full text (its source), per guideline and clinician."""

    NONE, OPEN, OWN, HOLDER, ARTICLE, ARTICLE_LATER = range(6)


#: names of the Src codes: the copy carried it (not paywalled), own institutional access,
#: a seed or an official broadcast, a shared article that made them aware, one read after the news
SOURCE_NAMES = ("none", "open", "own_access", "holder", "article", "article_after_news")
LITERACY_REF = 0.5  # literacy at which the literacy effects are neutral
STATE_NAMES = {
    "guideline": ("unaware", "aware", "adopted"),
    "case_report": ("unaware", "aware"),
    "rumor": ("unaware", "believes", "corrected", "doubts"),
}
EVENT_KINDS = (
    "seed",
    "post",
    "direct",
    "aware",
    "adopt",
    "believe",
    "correct",
    "doubt",
    "forget",
    "removed",
    "pinned",
    "consider",  # a guideline: starts considering it (adoption = "staged")
    "reject",  # a guideline: decides against it
    "article",  # a post or message carrying a paywalled guideline's full text
)

# Spreading defaults by kind (per day). Posting and stopping rates are set so that a
# clinician who takes up an item shares it in a few of their groups over ~2-3 days;
# rumors are reshared more readily than true items (Vosoughi et al. 2018: ~70% more).
KIND_DEFAULTS: dict[str, dict[str, float]] = {
    "guideline": dict(
        notice_prob=0.6,
        share_prob=0.3,
        post_prob_per_day=0.3,
        direct_prob_per_day=0.2,
        stop_prob_per_day=0.35,
        stifle_prob=0.0,
    ),
    "case_report": dict(
        notice_prob=0.8,
        share_prob=0.5,
        post_prob_per_day=0.5,
        direct_prob_per_day=0.4,
        stop_prob_per_day=0.4,
        stifle_prob=0.0,
    ),
    "rumor": dict(
        notice_prob=0.6,
        share_prob=0.5,
        post_prob_per_day=0.5,
        direct_prob_per_day=0.3,
        stop_prob_per_day=0.35,
        stifle_prob=0.0,
    ),
}
SPREAD_FIELDS: tuple[str, ...] = tuple(KIND_DEFAULTS["rumor"])

# Settings of an item that a correction never reads: its copies are the rumor's item with
# the correction stance, so they are noticed, shared, posted, forwarded and stopped with
# the rumor's settings (and carry the rumor's media and screenshot flags).
CORRECTION_UNUSED = ("salience", "credibility", "media", "blocked_link", "condition", "condition_share", *SPREAD_FIELDS)
GUIDELINE_ONLY = ("paywalled", "needs_equipment")  # item settings that only a guideline reads


def _by_role(**values: float) -> dict[Role, float]:
    return {role: values[role] for role in ROLE_ORDER}


def item_defaults(kind: str) -> dict[str, float]:
    """The spreading settings an item of ``kind`` takes when the scenario leaves them out.

    Empty for ``correction``: a correction spreads with its rumor's settings.
    """
    if kind not in ITEM_KINDS:
        raise ValueError(f"unknown item kind {kind!r}; known: {list(ITEM_KINDS)}")
    return dict(KIND_DEFAULTS.get(kind, {}))


class ItemConfig(Section):
    """One item the scenario seeds. Spreading settings default by kind (:func:`item_defaults`)."""

    name: str = Field(
        pattern=r"^[A-Za-z0-9_.-]+$", description="Item name (letters, digits, _ . -).", json_schema_extra=SETUP_ONLY
    )
    kind: Kind = Field(
        description="guideline, rumor, correction (of a rumor) or case_report.", json_schema_extra=SETUP_ONLY
    )
    start_day: NonNegative = Field(0.0, description="When the seeds receive it.")
    target: str | None = Field(
        None, description="For kind = 'correction': the rumor it corrects.", json_schema_extra=SETUP_ONLY
    )
    n_seeds: int = Field(5, ge=1, le=1_000_000, description="Clinicians who hold it first (drawn among the eligible).")
    seed_share: Probability | None = Field(
        None, description="Seed this share of the eligible clinicians instead of n_seeds."
    )
    seed_tiers: list[Tier] | None = Field(None, description="Seeds only in these tiers.")
    seed_roles: list[Role] | None = Field(None, description="Seeds only with these roles.")
    seed_region_kinds: list[RegionKind] | None = Field(None, description="Seeds only in city, rural or abroad regions.")
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
    condition: Condition | None = Field(  # type: ignore[valid-type]
        None,
        description="The cases it concerns (a case specialty of the diagnosis process): adopters of a guideline "
        "handle them better, believers of a rumor worse (diagnosis.information_effects); none: no effect on care.",
        json_schema_extra=SETUP_ONLY,
    )
    condition_share: Probability = Field(
        1.0,
        description="Share of the cases of `condition` that the item concerns (a test or treatment for part of "
        "them), drawn per case at its arrival.",
    )
    paywalled: bool = Field(
        False,
        description="Guidelines: the full text is behind a paywall. A post tells of it; the full text, needed to "
        "consider it, comes from institutional access (population paywall_access) or a shared article.",
    )
    needs_equipment: int = Field(
        1,
        ge=1,
        le=3,
        description="Guidelines: equipment level (1 basic - 3 advanced) it needs; at a facility with less, "
        "adoption is held back (information.barrier_factor).",
    )
    notice_prob: Probability | None = Field(None, description="A read copy is noticed (default by kind).")
    share_prob: Probability | None = Field(None, description="One who takes it up shares it (default by kind).")
    post_prob_per_day: Probability | None = Field(None, description="A sharer posts it in each of their groups.")
    direct_prob_per_day: Probability | None = Field(None, description="A sharer sends it to one contact.")
    stop_prob_per_day: Probability | None = Field(None, description="A sharer stops sharing.")
    stifle_prob: Probability | None = Field(
        None, description="A sharer stops on messaging someone who knew (Maki-Thompson)."
    )

    @model_validator(mode="after")
    def _check(self):
        if self.kind == "correction" and not self.target:
            raise ValueError("a correction needs `target`, the name of the rumor it corrects")
        if self.kind != "correction" and self.target:
            raise ValueError("`target` is only for kind = 'correction'")
        if self.kind == "case_report" and self.condition is not None:
            raise ValueError("`condition` is for guidelines and rumors: a case report does not change care")
        if self.kind != "guideline":
            for name in GUIDELINE_ONLY:
                if getattr(self, name) != type(self).model_fields[name].default:
                    raise ValueError(f"`{name}` is for guidelines only (item kind {self.kind!r})")
        if self.kind == "correction":
            for name in CORRECTION_UNUSED:
                value, default = getattr(self, name), type(self).model_fields[name].default
                if value != default:
                    raise ValueError(
                        f"`{name}` = {value!r} is not used for kind = 'correction': a correction is noticed, "
                        f"shared and forwarded with its rumor's settings (set `{name}` on the rumor "
                        f"{self.target!r}); a correction takes only start_day, n_seeds, seed_* and seed_channel"
                    )
        return self

    def setting(self, name: str) -> float:
        """A spreading setting of this item: its own value, else its kind's default."""
        value = getattr(self, name)
        return KIND_DEFAULTS[self.kind][name] if value is None else value


class ModerationConfig(Section):
    enabled: bool = Field(False, description="Moderators fact-check rumor posts in their groups.")
    notice_prob: Probability = Field(0.5, description="Share of rumor posts a moderator checks.")
    delay_hours: NonNegative = Field(6.0, le=24 * 30, description="Mean delay to act (exponential).")
    remove: bool = Field(True, description="Remove the post: unread copies vanish.")
    pin_correction: bool = Field(True, description="Pin a correction in the group.")


class InformationConfig(Section):
    enabled: bool = Field(
        True, description="Run the information process (it also needs items).", json_schema_extra=SETUP_ONLY
    )
    items: list[ItemConfig] = Field(
        default_factory=list, description="What the scenario seeds.", json_schema_extra=SETUP_ONLY
    )
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
    belief_rule: Literal["judgment", "tambuscio", "forget_first"] = Field(
        "judgment",
        description="'judgment': the reader's own judgment (judgment_weight) competes with the rumor on "
        "exposure and corrections act with correction_effect_d; forgetting and verifying are exclusive. "
        "'tambuscio': the textbook rule of Tambuscio et al. 2015 (no own judgment, exclusive forget / "
        "verify). 'forget_first': as 'tambuscio' but a believer forgets first and verifies only if not "
        "(the rule of earlier versions).",
    )
    judgment_weight: NonNegative = Field(
        1.0,
        le=100,
        description="Under belief_rule = 'judgment': weight w0 of the reader's own judgment against the rumor, "
        "in units of one copy from an average doctor (assumption; docs/model.md).",
    )
    correction_effect_d: NonNegative = Field(
        0.40,
        le=3,
        description="Under belief_rule = 'judgment': effect of a correction as Cohen's d (Walter et al. 2021: "
        "0.40 [0.25, 0.55]); one copy of unit weight read with the rumor multiplies the odds of not "
        "believing by exp(d pi / sqrt 3) (2.07 at d = 0.40).",
    )
    correction_uptake: Probability = Field(
        0.3, description="Per unit of correction weight read (Walter et al. 2021: moderate effect)."
    )
    persistent_share: Probability = Field(
        0.25, description="Believers a correction never turns (continued influence; Chan et al. 2017)."
    )
    # adoption (guidelines)
    adoption: Literal["staged", "per_copy"] = Field(
        "staged",
        description="'staged': an aware clinician with the full text and reinforcement considers the guideline, "
        "then adopts or rejects it with per-day probabilities over weeks to months; 'per_copy': the rule of "
        "earlier versions, adoption with adopt_prob per further noticed copy once eligible.",
    )
    adopt_prob: Probability = Field(
        0.08, description="Under adoption = 'per_copy': per further exposure once eligible."
    )
    adoption_sources: int = Field(
        2,
        ge=1,
        le=50,
        description="Distinct sources needed to consider (per_copy: to be eligible; 1: simple contagion).",
    )
    discussion_posts: int = Field(3, ge=1, le=1000, description="Posts that make a group discussion.")
    adopt_prob_per_day: Probability = Field(
        0.01,
        description="Under adoption = 'staged': a considering clinician adopts, before barriers, reinforcement "
        "and literacy (assumption: decisions take weeks to months).",
    )
    reject_prob_per_day: Probability = Field(
        0.01, description="Under adoption = 'staged': a considering clinician decides against it (assumption)."
    )
    reinforcement: NonNegative = Field(
        1.0,
        le=20,
        description="Under adoption = 'staged': the most that further distinct sources and discussion raise the "
        "adoption probability, x (1 + reinforcement r / (r + 1)) after r reinforcing copies (assumption).",
    )
    tier_barrier: tuple[Probability, Probability, Probability] = Field(
        (0.8, 0.5, 0.2),
        description="Under adoption = 'staged': share of considering clinicians held back by training, workload "
        "or time, by tier (primary, secondary, tertiary; assumption after Zeng et al. 2017).",
    )
    article_forward_prob: Probability = Field(
        0.2,
        description="A sharer without institutional access given a paywalled guideline's full text in a shared "
        "article forwards the article (else the news), drawn per step of posting (assumption).",
    )
    barrier_factor: Probability = Field(
        0.1,
        description="Under adoption = 'staged': each barrier (of the tier; equipment below the guideline's "
        "needs_equipment) multiplies the adoption probability by this (assumption).",
    )
    # platform
    purge_days: NonNegative = Field(3.0, description="Media unread after this many days are purged.")
    reask_prob: Probability = Field(0.5, description="A reader who missed purged media asks again.")
    screenshot_fidelity: Probability = Field(0.7, description="Weight of a screenshot copy.")
    screenshot_delay_factor: Probability = Field(0.5, description="Posting rate of screenshot forwards.")
    # credibility of sources by role (doctors = 1); experts and higher tiers count more
    role_credibility: dict[Role, Weight] = Field(
        description="Weight of a source by role (x tier weight x (0.5 + expertise)); experts debunk better (Walter et al. 2021).",
        default_factory=lambda: _by_role(
            doctor=1.0, nurse=0.7, lab_technician=0.8, pharmacist=0.8, public_health_admin=1.1
        ),
    )
    role_activity: dict[Role, Weight] = Field(
        description="Posting rate by role, relative to doctors (administrators relay official items).",
        default_factory=lambda: _by_role(
            doctor=1.0, nurse=0.8, lab_technician=0.8, pharmacist=0.8, public_health_admin=1.2
        ),
    )
    tier_credibility: tuple[Weight, Weight, Weight] = Field(
        (0.8, 1.0, 1.2), description="Weight of a source by tier (primary, secondary, tertiary)."
    )
    moderation: ModerationConfig = Field(default_factory=ModerationConfig)
    below_peak_share: Probability = Field(
        0.1, description="Rumor 'over' when believers fall below this share of the peak."
    )
    event_log: bool = Field(
        True,
        description="Write events.parquet (every post, message and change of state).",
        json_schema_extra=SETUP_ONLY,
    )

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
