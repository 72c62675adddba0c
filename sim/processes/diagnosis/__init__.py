"""Diagnostic requests: from a hard case at a township clinic to a diagnosis (docs/diagnosis.md).

One module per mechanism; the process that wires them is
:class:`sim.processes.diagnosis.process.DiagnosisProcess` (imported only when a model is
built, never by this package):

``config``      settings (:class:`DiagnosisConfig`) and constants; schema only
``state``       the run's state: cases, requests, (request, member) pairs, answers, experts
``staff``       who answers requests, who treats a case at a facility
``arrivals``    case arrival rates, daily blocks of cases, the local decision
``routing``     escalation along the routes: group posts, 1-on-1 requests, referral entry
``answering``   reading requests at chat openings, matching answers to members, committing them
``combining``   accuracy of an answer, combining answers, accepting a diagnosis
``referral``    destination of a referral and booking of the visit
``kernels``     compiled inner loops (numba): referral slots, first chat openings, group stock, treating clinicians
``outputs``     time series, the ``cases`` and ``answers`` tables, metrics, summary lines
``survival``    Kaplan-Meier helpers for time to diagnosis
``mmc``         the M/M/c validation case (``qunsim validate --case mmc``)
"""

from .config import CASE_SPECIALTIES, ROUTES, DiagnosisConfig

__all__ = ["CASE_SPECIALTIES", "ROUTES", "DiagnosisConfig"]
