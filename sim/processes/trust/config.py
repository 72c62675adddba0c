"""Settings of pairwise trust (schema only: imports nothing of the process).

Trust of a clinician in another is a Beta(alpha, beta) count per ordered pair whose
prior mean is set by how the two met (formal, introduced by a colleague, in person at an
event), grows with right answers and in-person meetings, falls with wrong answers, and
weights whom a clinician asks and whose posts they believe.
"""

from __future__ import annotations

from pydantic import Field

from ...schema import SETUP_ONLY, NonNegative, Positive, Probability, Section

__all__ = ["TIES", "TrustConfig"]

#: How two clinicians met (the tie type of a pair), in code order.
TIES = ("formal", "introduced", "event")


class TrustConfig(Section):
    enabled: bool = Field(
        False,
        description="Pairwise trust weights whom a clinician asks and whose posts they believe "
        "(off: every source has its fixed credibility, as before).",
        json_schema_extra=SETUP_ONLY,
    )
    initial_formal: Probability = Field(
        0.6,
        description="Prior mean trust of a formal tie: same facility, the referral hierarchy, a group "
        "of a formal basis (affiliate, surveillance, specialty, reading, abroad) (assumption).",
    )
    initial_introduced: Probability = Field(
        0.5,
        description="Prior mean trust of a tie through an invitation, before vouching (assumption).",
    )
    initial_event: Probability = Field(
        0.7,
        description="Prior mean trust of a tie met in person: conference groups, alumni and internship "
        "cohorts, 1-on-1 contacts met at events (Tso 2022: ties start in person; assumption).",
    )
    vouch_weight: Probability = Field(
        0.5,
        description="Share of the way an introduced tie's prior moves from initial_introduced to the "
        "inviter's own trust in the other (vouching by the common contact; assumption).",
    )
    reference: Positive = Field(
        0.6,
        le=1,
        description="Trust at which a source weighs as its fixed credibility: weights are multiplied "
        "by trust / reference.",
    )
    prior_strength: Positive = Field(
        4.0,
        le=1000,
        description="Weight of the prior in answers (alpha0 + beta0 pseudo-answers; assumption).",
    )
    answer_gain: NonNegative = Field(
        1.0,
        le=100,
        description="Pseudo-answers added per answer received: alpha if right, beta if wrong "
        "(0: no learning from answers).",
    )
    meeting_gain: NonNegative = Field(
        1.0,
        le=100,
        description="Pseudo-answers added to alpha when both of a trusting pair attend a conference "
        "(an in-person meeting; 0: none).",
    )
    belief: bool = Field(True, description="Trust weights rumor and correction copies in belief.")
    routing: bool = Field(True, description="Trust weights the choice of the contact asked about a case.")
