"""Settings of the diagnosis process and its constants: schema only (no numerics, no process).

Every setting is read by the process when it is used, so a ``settings`` intervention
that changes it takes effect from the next step (rates of arrival: from the next day's
block of cases; patience and slots: for requests posted from then on). The fields marked
``setup_only`` shape the state built at set-up and cannot change during a run.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ...population import SPECIALTIES
from ...schema import NonNegative, Positive, Probability, Section

__all__ = [
    "ARRIVAL_BLOCK_DAYS",
    "CASE_SPECIALTIES",
    "CONTACT",
    "DROPPED",
    "GROUP",
    "LOCAL",
    "NONE",
    "N_CASE_SPEC",
    "PENDING",
    "QUEUED",
    "REFERRAL",
    "ROUTES",
    "CaseRatesPer100Beds",
    "CaseRatesPerFacility",
    "DiagnosisConfig",
    "InformationEffects",
    "PatienceTierFactors",
]

ROUTES = ("local", "group", "contact", "referral")
NONE, LOCAL, GROUP, CONTACT, REFERRAL = -1, 0, 1, 2, 3
CASE_SPECIALTIES = SPECIALTIES[:10]  # nine clinical specialties and laboratory
N_CASE_SPEC = len(CASE_SPECIALTIES)
PENDING, QUEUED, DROPPED = 0, 1, 2  # state of a (request, member) pair (dropped: gone, row not yet removed)
ARRIVAL_BLOCK_DAYS = 1.0  # cases are drawn a day ahead
Route = Literal["local", "group", "contact", "referral"]
Role = Literal["doctor", "nurse", "lab_technician", "pharmacist", "public_health_admin"]
CaseSpecialty = Literal[CASE_SPECIALTIES]  # type: ignore[valid-type]


class CaseRatesPer100Beds(Section):
    """New diagnostic problems per 100 beds per day, by tier of the facility (assumption:
    primary clinics meet more problems beyond their means per bed; see docs/diagnosis.md)."""

    primary: NonNegative = Field(1.0, le=1000, description="Cases per 100 beds per day at primary facilities.")
    secondary: NonNegative = Field(0.4, le=1000, description="Cases per 100 beds per day at secondary facilities.")
    tertiary: NonNegative = Field(0.2, le=1000, description="Cases per 100 beds per day at tertiary facilities.")


class CaseRatesPerFacility(Section):
    """New diagnostic problems per facility per day, added to the per-bed rate."""

    primary: NonNegative = Field(0.0, le=1000, description="Cases per day at each primary facility.")
    secondary: NonNegative = Field(0.0, le=1000, description="Cases per day at each secondary facility.")
    tertiary: NonNegative = Field(0.0, le=1000, description="Cases per day at each tertiary facility.")


class PatienceTierFactors(Section):
    """Median patience at each tier of the asker's facility, as a multiple of the route's
    ``*_patience_hours`` (assumption: 1 at every tier, i.e. the fixed patience of before)."""

    primary: Positive = Field(1.0, le=100, description="Patience multiplier at primary facilities.")
    secondary: Positive = Field(1.0, le=100, description="Patience multiplier at secondary facilities.")
    tertiary: Positive = Field(1.0, le=100, description="Patience multiplier at tertiary facilities.")


class InformationEffects(Section):
    """How guidelines and rumors about a case's condition change its care (docs/model.md).

    A clinician who adopted a guideline concerning the case judges it with
    ``adopted_skill_gain`` more skill; one who believes a rumor concerning it judges it with
    ``believer_skill_loss`` less (the wrong test or treatment) while deciding whether to
    treat it locally with the skill they think they have, and, when they do escalate,
    first tries the rumor's remedy for ``believer_delay_hours`` (cut short when they stop
    believing). Applies to the treating clinician, to every answer (by its author's
    state) and to the doctor at a referral visit. Effect sizes are assumptions."""

    enabled: bool = Field(True, description="Information changes care (items need a `condition`).")
    adopted_skill_gain: NonNegative = Field(
        0.1, le=1, description="Skill added (0-1 scale) for an adopter of a guideline about the case (assumption)."
    )
    believer_skill_loss: NonNegative = Field(
        0.2, le=1, description="Skill lost (0-1 scale) by a believer of a rumor about the case (assumption)."
    )
    believer_delay_hours: NonNegative = Field(
        24.0,
        le=24 * 60,
        description="A believing treating clinician who cannot diagnose the case first tries the rumor's remedy "
        "this long before escalating, until corrected (assumption).",
    )


def _default_routes() -> list[Route]:
    return ["local", "group", "contact", "referral"]


def _default_answer_roles() -> list[Role]:
    return ["doctor", "lab_technician"]


def _default_specialty_weights() -> dict[str, float]:
    # Specialties named in Tso 2022 (dermatology photos, STI clinics, oncology, surgery,
    # chronic illness, general medicine) plus specimen readings by lab technicians
    # (Themes 7-8). Shares are an assumption.
    return {
        "general_medicine": 0.10,
        "dermatology": 0.20,
        "surgery": 0.10,
        "chronic_illness": 0.10,
        "sti": 0.10,
        "oncology": 0.10,
        "infectious_disease": 0.10,
        "pediatrics": 0.05,
        "radiology": 0.05,
        "laboratory": 0.10,
    }


class DiagnosisConfig(Section):
    enabled: bool = Field(
        True,
        description="Run the diagnostic-request process (docs/diagnosis.md).",
        json_schema_extra={"setup_only": True},
    )
    # ---- arrivals
    case_rate_per_100_beds_per_day: CaseRatesPer100Beds = Field(default_factory=CaseRatesPer100Beds)
    case_rate_per_facility_per_day: CaseRatesPerFacility = Field(default_factory=CaseRatesPerFacility)
    cases_abroad: bool = Field(False, description="Facilities abroad also receive cases.")
    specialty_weights: dict[CaseSpecialty, NonNegative] = Field(
        default_factory=_default_specialty_weights,
        description="Relative frequency of each case specialty (unlisted: 0).",
    )
    difficulty_mean: Probability = Field(0.45, description="Mean of the Beta case difficulty (0-1).")
    difficulty_concentration: Positive = Field(5.0, ge=0.1, le=1e4, description="a + b of the Beta difficulty.")
    equipment_need: tuple[Probability, Probability, Probability] = Field(
        (0.6, 0.3, 0.1), description="Probabilities that a case needs equipment level 1, 2, 3."
    )
    # ---- routes
    routes: list[Route] = Field(
        default_factory=_default_routes,
        description="The chain a case follows; 'local' only first, 'referral' only last.",
    )
    groups: bool = Field(
        True,
        description="Counterfactual switch: false = no chat consultation (group and 1-on-1 "
        "routes removed), formal referral only.",
    )
    local_workup_hours: NonNegative = Field(
        0.5, description="Time of the local assessment (and of the visit at a referral facility)."
    )
    off_specialty_factor: Probability = Field(
        0.6, description="Expertise multiplier for a case outside one's specialty."
    )
    answer_roles: list[Role] = Field(default_factory=_default_answer_roles, description="Roles that answer requests.")
    group_answerers: Literal["specialty", "any"] = Field(
        "specialty",
        description="Who may answer a group post: members of the case's specialty, or any "
        "member of an answering role (off-specialty expertise reduced).",
    )
    groups_per_request: int = Field(1, ge=1, le=20, description="Groups a request is posted in.")
    group_patience_hours: NonNegative = Field(
        24.0,
        description="Wait for an accepted group answer before the next route (seed 004: replies usually within 24 h).",
    )
    contact_patience_hours: NonNegative = Field(24.0, description="Wait for the 1-on-1 contact.")
    escalation: Literal["serial", "parallel"] = Field(
        "serial",
        description="'serial': each route waits out its patience before the next; 'parallel': the group "
        "and 1-on-1 requests go out at once and the referral starts after referral_patience_hours "
        "(a booked visit is cancelled when an accepted answer comes first).",
    )
    referral_patience_hours: NonNegative = Field(
        0.0,
        description="Under escalation = 'parallel': median wait from the requests to the start of the "
        "referral (0: the referral starts with the requests). Unused under 'serial'.",
    )
    patience_tier_factor: PatienceTierFactors = Field(default_factory=PatienceTierFactors)
    patience_log_sd: NonNegative = Field(
        0.0,
        le=3,
        description="Spread of the log-normal patience: sd of ln(patience) (dimensionless; 0 = fixed "
        "patience, the median, for everyone).",
    )
    # ---- reading and answering
    read_delay: Literal["openings", "none"] = Field(
        "openings", description="'openings': read at the member's next chat opening; 'none': at once."
    )
    offhours_engagement: Probability = Field(
        0.3, description="Share of chat openings outside work hours at which a member acts on requests."
    )
    group_answer_prob: Probability = Field(
        0.17,
        description="A reader who may answer a group post does (calibrated on the consult_group scenario, "
        "41 specialists: median first answer 54 min, 53% within an hour over seeds 0-3; Carmona et al. "
        "2018: 52 min, 53%).",
    )
    contact_answer_prob: Probability = Field(0.8, description="A contact answers a 1-on-1 request.")
    max_answers_per_request: int = Field(5, ge=1, le=500, description="Answers a request takes at most.")
    answer_mean_minutes: Positive = Field(10.0, le=24 * 60, description="Mean time to write an answer.")
    answer_time: Literal["exponential", "fixed"] = Field(
        "exponential", description="Distribution of the time to write an answer (mean answer_mean_minutes)."
    )
    answer_cap_per_day: int = Field(0, ge=0, le=10_000, description="Answers per expert per day; 0 = no cap.")
    information_effects: InformationEffects = Field(default_factory=InformationEffects)
    # ---- accuracy
    n_wrong_diagnoses: int = Field(
        3,
        ge=1,
        le=100,
        description="Distinct wrong answers (K); guessing is right 1/(K+1). Fixed at set-up "
        "(the cases' scores hold one column per diagnosis).",
        json_schema_extra={"setup_only": True},
    )
    accuracy_slope: Positive = Field(0.1, le=10, description="Logistic width w of accuracy in (skill - difficulty).")
    equipment_penalty: NonNegative = Field(
        0.2, le=2, description="Skill lost when the answerer's facility lacks the equipment."
    )
    image_penalty: NonNegative = Field(0.5, le=2, description="Skill lost per unit of image quality missing.")
    image_quality: Probability = Field(0.9, description="Quality of photos posted in a chat.")
    screenshot_share: Probability = Field(0.2, description="Cases whose material travels as screenshots.")
    screenshot_quality: Probability = Field(0.6, description="Quality of material forwarded as screenshots.")
    media_purge_days: NonNegative = Field(3.0, description="Media read later than this after posting are purged.")
    purged_quality: Probability = Field(0.3, description="Quality left when the media are gone (text only).")
    # ---- combining answers
    combine: Literal["weighted", "majority"] = Field(
        "weighted", description="'weighted': each answer weighs by its confidence; 'majority': equal votes."
    )
    vote_accuracy: float = Field(0.7, gt=0.0, lt=1.0, description="Accuracy assumed for every vote under 'majority'.")
    accept_confidence: Probability = Field(0.8, description="Posterior of the leading diagnosis needed to accept.")
    min_answers: int = Field(1, ge=1, le=100, description="Answers needed before accepting.")
    # ---- burden
    burnout_sensitivity_per_answer: NonNegative = Field(
        0.05, le=10, description="Willingness x exp(-s B), B = recent off-hours answers."
    )
    burnout_recovery_days: Positive = Field(14.0, description="Time constant of the decay of B.")
    # ---- referral
    referral_hop_travel_days: NonNegative = Field(1.0, description="Travel per level up the hierarchy.")
    referral_lead_days: NonNegative = Field(2.0, description="Earliest appointment after arriving.")
    referral_slots_per_100_beds_per_day: float = Field(
        1.0,
        ge=1e-6,
        le=1e12,
        description="Referral visits a receiving facility offers per 100 beds per day (1e-6..1e12: the "
        "time between visits stays finite).",
    )

    @model_validator(mode="after")
    def _check(self):
        r = self.routes
        if not r:
            raise ValueError("routes must name at least one route")
        if len(set(r)) != len(r):
            raise ValueError(f"routes must not repeat, got {r}")
        if "local" in r and r[0] != "local":
            raise ValueError("'local' can only be the first route")
        if "referral" in r and r[-1] != "referral":
            raise ValueError("'referral' can only be the last route (it always ends with a diagnosis)")
        if sum(self.specialty_weights.values()) <= 0:
            raise ValueError("specialty_weights must not all be zero")
        if abs(sum(self.equipment_need) - 1.0) > 1e-6:
            raise ValueError(f"equipment_need must sum to 1, got {sum(self.equipment_need):g}")
        if self.vote_accuracy <= 1.0 / (self.n_wrong_diagnoses + 1):
            raise ValueError("vote_accuracy must exceed the guessing rate 1/(n_wrong_diagnoses + 1)")
        return self
