"""The compiled booking of referral visits (numba, ``nopython``) for :meth:`.referral.Referrals.book`.

One pass does what the booking did with a dozen numpy operations over a few cases a step:
the referrals in the order they were made, each one's destination and hops, its arrival
and the facility's gap between slots, the slot (:func:`.kernels.book_slots`), the treating
doctor there (one uniform each from the diagnosis stream, as ``rng.random(n)`` draws
them) and what the visit's judgment needs. The arithmetic is that of the numpy it
replaced, in its order (the tests compare the two).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ...rng_ref import as_generator
from .accuracy_kernels import judgments
from .kernels import _held_row, book_slots, pick_in_lists

__all__ = ["book_and_judge", "book_referrals"]


@njit(cache=True)
def book_referrals(
    cases, first_held, row_of, t_ref_entry, facility, spec, need, dest_of, hops_of, hop_days, lead_days,
    slots_per_100_beds, fac_beds, next_slot, treat_indptr, treat_ids, treat_offset, rng_ref, expertise,
    specialty, off_specialty_factor, fac_equipment, workup_days, ref_facility, ref_hops, t_ref_dx,
):  # fmt: skip
    """Book the referral visits of ``cases`` (held, not diagnosed), first come first booked.

    Writes each case's ``ref_facility``, ``ref_hops`` and ``t_ref_dx`` (the slot plus
    ``workup_days``) and moves ``next_slot`` on. Returns the cases in booking order (by
    ``t_ref_entry``, stable), their rows, the treating doctors, the doctors' skill for the
    case (``off_specialty_factor`` off their specialty), whether the destination lacks
    the equipment the case needs, and the visits' times."""
    rng = as_generator(rng_ref)
    m = cases.size
    rows = np.empty(m, np.int64)
    for i in range(m):
        rows[i] = _held_row(cases[i], first_held, row_of)
    entry = np.empty(m)
    for i in range(m):
        entry[i] = t_ref_entry[rows[i]]
    order = np.argsort(entry, kind="mergesort")  # stable
    cases, rows = cases[order], rows[order]
    dest = np.empty(m, dest_of.dtype)
    hops = np.empty(m, hops_of.dtype)
    arrive = np.empty(m)
    gap = np.empty(m)
    for i in range(m):
        r = rows[i]
        f, s, k = facility[r], np.int64(spec[r]), need[r] - 1
        dest[i], hops[i] = dest_of[f, s, k], hops_of[f, s, k]
        arrive[i] = t_ref_entry[r] + np.float64(hops[i]) * hop_days + lead_days
        gap[i] = 1.0 / (slots_per_100_beds * np.float64(fac_beds[dest[i]]) / 100.0)
    slot = book_slots(dest, arrive, gap, next_slot)  # moves next_slot on
    u = np.empty(m)  # Staff.pick_treating's uniforms
    for i in range(m):
        u[i] = rng.random()
    spec_of = np.empty(m, spec.dtype)
    for i in range(m):
        spec_of[i] = spec[rows[i]]
    doctor = pick_in_lists(treat_indptr, treat_ids, treat_offset, spec_of, dest, u)
    skill = np.empty(m)
    lacks = np.empty(m, np.bool_)
    when = np.empty(m)
    for i in range(m):
        r, doc = rows[i], doctor[i]
        fit = 1.0 if np.int64(specialty[doc]) == np.int64(spec[r]) else off_specialty_factor
        skill[i] = np.float64(expertise[doc]) * fit
        lacks[i] = fac_equipment[dest[i]] < need[r]
        ref_facility[r], ref_hops[r] = dest[i], hops[i]
        when[i] = slot[i] + workup_days
        t_ref_dx[r] = when[i]
    return cases, rows, doctor, skill, lacks, when


@njit(cache=True)
def book_and_judge(cases, first_held, row_of, case_cols, referral, treating, rng_ref, people, care, rules):
    """:meth:`.referral.Referrals.book` in one pass: :func:`book_referrals`, then a uniform
    per visit (in booking order) and the visit's judgment by its doctor, in person
    (:func:`.accuracy_kernels.judgments`, full image quality), written to ``ref_correct``.

    ``case_cols``: (t_ref_entry, facility, spec, need, ref_facility, ref_hops, t_ref_dx,
    concerns, difficulty, ref_correct); ``referral``: (dest, hops, hop travel days, lead
    days, slots per 100 beds a day, beds, next slot, off_specialty_factor, local workup
    days); ``treating``: :meth:`.staff.Staff.treating_lists`; ``people``: (expertise,
    specialty, fac_equipment, fac_tier); ``care``: :meth:`.care.CareLink.judge_inputs`;
    ``rules``: (image_penalty, equipment_penalty, accuracy_slope, labels). Returns the
    cases in booking order and their visits' times."""
    t_ref_entry, facility, spec, need, ref_facility, ref_hops, t_ref_dx, concerns, difficulty, ref_correct = case_cols
    dest_of, hops_of, hop_days, lead_days, per_100_beds, fac_beds, next_slot, off_factor, workup_days = referral
    expertise, specialty, fac_equipment, fac_tier = people
    cases, rows, doctor, skill, lacks, when = book_referrals(
        cases, first_held, row_of, t_ref_entry, facility, spec, need, dest_of, hops_of, hop_days, lead_days,
        per_100_beds, fac_beds, next_slot, treating[0], treating[1], treating[2], rng_ref, expertise, specialty,
        off_factor, fac_equipment, workup_days, ref_facility, ref_hops, t_ref_dx,
    )  # fmt: skip
    gen = as_generator(rng_ref)
    m = cases.size
    u = np.empty(m)
    for i in range(m):
        u[i] = gen.random()
    _, ok = judgments(
        care, cases, first_held, row_of, rows, (concerns, difficulty, facility), fac_tier, doctor, skill, lacks,
        np.ones(m), u, rules,
    )  # fmt: skip
    for i in range(m):
        ref_correct[rows[i]] = np.int8(ok[i])
    return cases, when
