"""qunsim: information diffusion and consultation in clinicians' chat groups."""

__version__ = "0.1.0"

from .config import Scenario, ScenarioError, load_scenario  # noqa: E402
from .results import Results  # noqa: E402
from .runner import build_model, run  # noqa: E402

__all__ = ["Scenario", "ScenarioError", "load_scenario", "Results", "run", "build_model", "__version__"]
