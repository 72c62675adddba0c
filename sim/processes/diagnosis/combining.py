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
from .config import DROPPED, REFERRAL, DiagnosisConfig
from .kernels import lookup_sorted
from .resolution_kernels import diagnose_due, finish_answers
from .state import ANSWER_SPEC, DxState, kept_first

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


def resolve(
    st: DxState, cfg: DiagnosisConfig, t1: float, entered_referral: np.ndarray, book: Callable[[np.ndarray], None]
) -> None:
    """Combine the answers finished before ``t1``, book this step's referrals (``book``),
    diagnose cases at the earlier of an accepted answer and the referral visit.

    Two compiled passes around the booking: the answers finished, taken out of those in
    flight in the order (case, end), and their combination (:func:`.resolution_kernels.
    finish_answers`: each answer's weight, the posterior of each label, the lead, and the
    first answer of each case whose lead reaches ``accept_confidence``); then the
    diagnoses, the open sets and the answers' accounting (:func:`.resolution_kernels.
    diagnose_due`)."""
    C, F = st.cases, st.inflight
    rules = (
        cfg.combine == "majority", float(cfg.vote_accuracy), int(st.n_labels), float(cfg.accept_confidence),
        int(cfg.min_answers),
    )  # fmt: skip
    done, acc = finish_answers(
        F.columns(), t1, *st.row_lookup(), C["t_dx"], rules, st.scores, (C["n_answers"], C["lead"], C["t_first_answer"])
    )  # fmt: skip
    m = done[0].size
    if not m and not entered_referral.size and not st.visit_before(t1):
        return
    kept_first(F, len(F) - m)
    A = Table.wrap(ANSWER_SPEC, done)
    if m and st.trust is not None:  # each asker learns whether each answer received was right
        st.trust.observe_answers(C["asker"][st.rows(A["case"])], A["exp"], A["group"], A["correct"])
    # referrals made in this step, unless the case was diagnosed before they were made
    if entered_referral.size:
        k = entered_referral
        book(k[lookup_sorted(acc[0], acc[1], k, np.inf) > C["t_ref_entry"][st.rows(k)]])
    # diagnosis: the earlier of an accepted answer and the referral visit (those due in this step)
    columns = (C["t_ref_dx"], C["t_dx"], C["route"], C["correct"], C["ref_correct"], C["t_esc"])
    taken, newly, open_ids, closed, n_counted, n_after = diagnose_due(
        st.visit_t, st.visit_case, t1, acc, REFERRAL, *st.row_lookup(), columns, (*st.forget_inputs(), DROPPED),
        (A["case"], A["start"], A["end"], A["counted"], A["after_diagnosis"], C["n_counted"]),
    )  # fmt: skip
    st.drop_visits(taken)
    if newly.size:
        st.counters["resolved"] += int(newly.size)
        st.forgotten(open_ids, closed)
    if m:  # counted towards the diagnosis (final: the cases table's n_answers), or after it
        st.counters["counted"] += n_counted
        st.counters["after_diagnosis"] += n_after
        st.log_finished(A)
