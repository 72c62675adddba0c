"""The training course against its closed form (``qunsim validate --case training_course``).

``scenarios/validation/training_course.toml``: one group holds everyone; a course of
``n`` sessions, each followed independently with probability ``p``, closes a share ``r``
of a learner's gap to the instructor per session followed, so after the course the gap
left is ``(1 - r)^K`` of the first, ``K ~ Binomial(n, p)``, whose mean is exactly
``(1 - p r)^n`` (the binomial's probability generating function at ``1 - r``).
Statistic (one replicate): the mean over the learners (members of the specialty below
the instructor) of the share of their gap left. No approximation.
"""

from __future__ import annotations

import numpy as np

from .validation import Case, validation_case

__all__ = ["gap_left", "mean_gap_left"]


def _course_params(scen) -> dict:
    return next(iv.params for iv in scen.interventions if iv.name == "training_course")


def mean_gap_left(scen) -> float:
    p = _course_params(scen)
    return float((1 - p["follow_prob"] * p["learning_rate"]) ** p["sessions"])


def gap_left(model) -> float:
    course = next(iv for iv in model.interventions if iv.name == "training_course")
    if course.groups.size != 1:
        return float("nan")
    pop, teacher = model.pop, int(course.teachers[0])
    members = model.net.members_of(int(course.groups[0]))
    learners = members[(pop.specialty[members] == course.spec) & (members != teacher)]
    c, e0 = float(pop.expertise[teacher]), course.e0[learners].astype(float)
    keep = e0 < c
    if not keep.any():
        return float("nan")
    now = pop.expertise[learners][keep].astype(float)
    return float(np.mean((c - now) / (c - e0[keep])))


validation_case(
    Case(
        name="training_course",
        scenario="training_course.toml",
        expected=mean_gap_left,
        statistic=gap_left,
        approx=lambda scen: 0.0,  # exact: the binomial generating function
        replicates=30,
        quick_replicates=10,
        description="training course: mean share of a learner's expertise gap left, (1 - p r)^n",
    )
)
