"""The formal case-reporting chain from a clinic to surveillance, beside the groups.

``config``   settings (:class:`ReportingConfig`); schema only
``process``  :class:`ReportingProcess` (imported only when a model is built)
"""

from .config import LEVELS, ReportingConfig

__all__ = ["LEVELS", "ReportingConfig"]
