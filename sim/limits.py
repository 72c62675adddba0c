"""Ceilings on the size of a run (light: the command line reads them for its help).

A run has at most :data:`MAX_STEPS` steps and :data:`MAX_CLINICIAN_STEPS` clinicians x
steps unless ``run.allow_large = true`` (``qunsim run --allow-large``), and never more
than the hard limits.
"""

MAX_STEPS = 1_000_000
MAX_CLINICIAN_STEPS = 10_000_000_000
HARD_MAX_STEPS = 1_000_000_000
HARD_MAX_CLINICIAN_STEPS = 10_000_000_000_000
