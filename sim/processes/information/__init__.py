"""Guidelines, rumors, corrections and case reports travelling through groups and 1-on-1 chats.

One module per mechanism; the process that wires them (and whose docstring gives the
order of one step) is :class:`sim.processes.information.process.InformationProcess`,
imported only when a model is built, never by this package:

``config``      settings (:class:`InformationConfig`, :class:`ItemConfig`) and constants; schema only
``state``       the run's state: items, per (item, clinician) arrays, deliveries, counters
``seeding``     items reaching their seeds, official broadcasts, changes of state
``moderation``  moderators removing rumor posts and pinning corrections
``reading``     chat openings, purged media, guideline exposure
``belief``      rumor exposure (stance, corrections), verification and forgetting
``posting``     group posts and 1-on-1 messages of the sharers
``outputs``     time series, tables, metrics, summary lines, the event log
``kernels``     the compiled inner loops (numba)
``cases``       the classical special cases (``qunsim validate``)
"""

from .config import InformationConfig, ItemConfig, ModerationConfig, item_defaults

__all__ = ["InformationConfig", "ItemConfig", "ModerationConfig", "item_defaults"]
