"""Accuracy of an answer, combining answers into a posterior, and the diagnosis of a case.

An answer (and a local or referral diagnosis) is right with probability
``g + (1 - g) / (1 + exp(-(s - d) / w))``; the asker combines the answers received so
far as independent votes (naive Bayes over the K + 1 diagnoses) and accepts the
leading diagnosis once its posterior reaches ``accept_confidence``. A case is diagnosed
at the first of an accepted combination and its referral visit.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ...arrays import bounded
from ...table import Table
from .config import REFERRAL, DiagnosisConfig
from .kernels import lookup_sorted
from .resolution_kernels import combine_answers, diagnose, settle_answers
from .state import DxState, compacted

__all__ = ["p_correct", "resolve", "weights"]


def p_correct(cfg: DiagnosisConfig, n_labels: int, skill, difficulty, lacks_equipment, quality) -> np.ndarray:
    """g + (1 - g) / (1 + exp(-(s - d) / w)), s = skill - image and equipment penalties, g = 1 / n_labels."""
    g = 1.0 / n_labels
    s = (
        np.asarray(skill, float)
        - cfg.image_penalty * (1.0 - np.asarray(quality, float))
        - cfg.equipment_penalty * np.asarray(lacks_equipment, float)
    )
    z = (s - np.asarray(difficulty, float)) / cfg.accuracy_slope
    return g + (1.0 - g) / (1.0 + np.exp(-z))


def weights(cfg: DiagnosisConfig, n_labels: int, confidence: np.ndarray) -> np.ndarray:
    """Log-likelihood weight of an answer for its label: log(c K / (1 - c))."""
    K = n_labels - 1
    c = np.full(confidence.size, cfg.vote_accuracy) if cfg.combine == "majority" else confidence.astype(float)
    c = bounded(c, 1e-6, 1 - 1e-6)
    return np.log(c * K / (1.0 - c))


def _combine(st: DxState, cfg: DiagnosisConfig, A: Table):
    """Add the finished answers ``A`` (sorted by case, then end) to their open cases' scores.

    Returns the cases whose combination was accepted in this batch, with the time,
    route and correctness of the accepting answer; marks the counted answers in ``A``.
    One compiled pass (:func:`.resolution_kernels.combine_answers`: the weights, the
    posterior of each label, ``exp(s - max s)`` over its row's sum, and the lead, the
    first largest).
    """
    C = st.cases
    idx, counted, pos, lead = combine_answers(
        A["case"], A["label"], A["confidence"], A["end"], *st.row_lookup(), C["t_dx"],
        (cfg.combine == "majority", float(cfg.vote_accuracy), int(st.n_labels), float(cfg.accept_confidence),
         int(cfg.min_answers)),
        st.scores, (C["n_answers"], C["lead"], C["t_first_answer"]),
    )  # fmt: skip
    if idx.size == 0:
        return np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int8), np.zeros(0, bool)
    A["counted"][idx] = counted
    at = idx[pos]
    return A["case"][at], A["end"][at], A["route"][at], lead[pos] == 0


def resolve(
    st: DxState, cfg: DiagnosisConfig, t1: float, entered_referral: np.ndarray, book: Callable[[np.ndarray], None]
) -> None:
    """Combine the answers finished before ``t1``, book this step's referrals (``book``),
    diagnose cases at the earlier of an accepted answer and the referral visit."""
    C, row = st.cases, st.rows
    F = st.inflight
    due = F["end"] < t1
    pos = due.nonzero()[0]
    if not pos.size and not entered_referral.size and not st.visit_before(t1):
        return
    A = F.take(pos[np.lexsort((F["end"][pos], F["case"][pos]))])  # by case, then end
    compacted(F, ~due)
    acc_case = np.zeros(0, np.int64)
    acc_t, acc_route, acc_correct = np.zeros(0), np.zeros(0, np.int8), np.zeros(0, bool)
    if len(A):
        if st.trust is not None:  # each asker learns whether each answer received was right
            st.trust.observe_answers(C["asker"][row(A["case"])], A["exp"], A["group"], A["correct"])
        acc_case, acc_t, acc_route, acc_correct = _combine(st, cfg, A)
    # referrals made in this step, unless the case was diagnosed before they were made
    if entered_referral.size:
        k = entered_referral
        book(k[lookup_sorted(acc_case, acc_t, k, np.inf) > C["t_ref_entry"][row(k)]])
    # diagnosis: the earlier of an accepted answer and the referral visit (those due in this step)
    ids = st.take_visits(t1)
    columns = (C["t_ref_dx"], C["t_dx"], C["route"], C["correct"], C["ref_correct"], C["t_esc"])
    newly = diagnose(ids, acc_case, acc_t, acc_route, acc_correct, t1, REFERRAL, *st.row_lookup(), columns)
    if newly.size:
        st.counters["resolved"] += int(newly.size)
        st.forget_diagnosed(newly)
    if len(A):  # counted towards the diagnosis (final: the cases table's n_answers), or after it
        n_counted, n_after = settle_answers(
            A["case"], A["start"], A["end"], A["counted"], A["after_diagnosis"], *st.row_lookup(), C["t_dx"],
            C["n_counted"],
        )  # fmt: skip
        st.counters["counted"] += n_counted
        st.counters["after_diagnosis"] += n_after
        st.log_finished(A)
