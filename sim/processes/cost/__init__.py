"""Cost: what a run's care and messaging cost, by tier (docs/model.md, "Cost").

``config``   prices (:class:`CostConfig`); schema only
``process``  :class:`CostProcess`, which adds the ``cost`` table and ``cost_*`` metrics at
             the end of a run (imported only when a model is built)
"""

from .config import CostConfig

__all__ = ["CostConfig"]
