"""What a student can set on the page, within bounds, and the scenarios it makes.

Every control is a scenario setting (a dotted path, as ``--set`` takes it) with a range;
:func:`build_scenarios` clamps every value into its range before validating, so nothing
sent from a browser can ask for more than the bounds allow. The intervention arm is the
baseline plus one ``[[interventions]]`` entry; both are ordinary scenarios, and the
exported files (:func:`scenario_toml`) run with ``qunsim run`` to the same numbers.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from ..config import Scenario

__all__ = [
    "CONTROLS",
    "INTERVENTIONS",
    "LIMITS",
    "PRESETS",
    "Control",
    "Intervention",
    "build_scenarios",
    "controls_for",
    "default_values",
    "scenario_toml",
]


@dataclass(frozen=True)
class Limits:
    """Bounds that keep one page from stalling the server."""

    max_clinicians: int = 600  # slider maximum
    max_scenario_clinicians: int = 2000  # a scenario file larger than this is refused by `qunsim demo`
    max_duration_days: float = 90.0
    min_duration_days: float = 5.0
    max_seed: int = 1_000_000
    many_seeds: int = 50  # runs per arm of the many-seed view
    max_many_seed_clinicians: int = 600
    record_every_hours: float = 6.0  # the page records four times a day (smooth curves)
    max_steps_per_tick: int = 48


LIMITS = Limits()


@dataclass(frozen=True)
class Control:
    """One bounded setting. ``path`` may start with ``guideline.``/``rumor.``/``correction.``:
    the first item of that kind in ``information.items``."""

    key: str  # the i18n key of its label and one-line help (``ctl.<key>`` / ``help.<key>``)
    path: str
    kind: str  # "int", "float" or "bool"
    lo: float = 0.0
    hi: float = 1.0
    step: float = 1.0
    needs: str = ""  # "guideline", "rumor", "correction" or "diagnosis": shown only when present


CONTROLS: tuple[Control, ...] = (
    Control("n_clinicians", "population.n_clinicians", "int", 30, LIMITS.max_clinicians, 10),
    Control("duration", "run.duration_days", "int", LIMITS.min_duration_days, LIMITS.max_duration_days, 1),
    Control("literacy", "population.literacy_mean", "float", 0.05, 0.95, 0.05),
    Control("guideline_seeds", "guideline.n_seeds", "int", 1, 20, 1, needs="guideline"),
    Control("adoption_sources", "information.adoption_sources", "int", 1, 5, 1, needs="guideline"),
    Control("adopt_prob", "information.adopt_prob_per_day", "float", 0.0, 0.5, 0.01, needs="guideline"),
    Control("rumor_credibility", "rumor.credibility", "float", -0.9, 0.9, 0.05, needs="rumor"),
    Control("correction_day", "correction.start_day", "int", 0, LIMITS.max_duration_days, 1, needs="correction"),
    Control("correction_uptake", "information.correction_uptake", "float", 0.0, 1.0, 0.05, needs="rumor"),
    Control("moderation", "information.moderation.enabled", "bool", needs="rumor"),
    Control("diagnosis", "diagnosis.enabled", "bool"),
    Control("group_answer_prob", "diagnosis.group_answer_prob", "float", 0.0, 1.0, 0.01, needs="diagnosis"),
)


@dataclass(frozen=True)
class Intervention:
    """An intervention the page offers: a registered intervention with fixed parameters."""

    key: str  # i18n: ``iv.<key>`` and ``ivhelp.<key>``
    name: str  # registered intervention name
    params: dict[str, Any]
    item_kind: str = ""  # "guideline"/"rumor": params.item is that item's name
    set: dict[str, Any] | None = None


INTERVENTIONS: tuple[Intervention, ...] = (
    Intervention("broadcast_guideline", "broadcast", {"roles": ["public_health_admin"]}, item_kind="guideline"),
    Intervention("official_correction", "broadcast", {"roles": ["public_health_admin"]}, item_kind="rumor"),
    Intervention("literacy_training", "literacy_training", {"share": 0.6, "gain": 0.3}),
    Intervention("moderation", "settings", {}, set={"information.moderation.enabled": True}),
    Intervention("embed_specialists", "embed_specialists", {"per_group": 1}),
    Intervention("reading_groups", "reading_groups", {"share": 0.4}),
)

#: named settings a teacher can load in one click (values over the scenario's own)
PRESETS: dict[str, dict[str, Any]] = {
    "default": {},
    "complex_contagion": {"adoption_sources": 3, "adopt_prob": 0.05},
    "simple_contagion": {"adoption_sources": 1, "adopt_prob": 0.2},
    "believable_rumor": {"rumor_credibility": 0.7, "correction_uptake": 0.1, "literacy": 0.3},
    "literate_clinicians": {"literacy": 0.85},
    "moderated_groups": {"moderation": True},
}


# --------------------------------------------------------------------- reading
def _items_by_kind(raw: dict) -> dict[str, int]:
    out: dict[str, int] = {}
    for k, it in enumerate(raw.get("information", {}).get("items", [])):
        out.setdefault(it["kind"], k)
    return out


def _get(raw: dict, path: str, by_kind: dict[str, int]) -> Any:
    head, _, rest = path.partition(".")
    node: Any
    if head in ("guideline", "rumor", "correction"):
        node = raw["information"]["items"][by_kind[head]]
        keys = rest.split(".")
    else:
        node = raw
        keys = path.split(".")
    for k in keys:
        node = node[k]
    return node


def _set(raw: dict, path: str, value: Any, by_kind: dict[str, int]) -> None:
    head, _, rest = path.partition(".")
    node: Any
    if head in ("guideline", "rumor", "correction"):
        node = raw["information"]["items"][by_kind[head]]
        keys = rest.split(".")
    else:
        node = raw
        keys = path.split(".")
    for k in keys[:-1]:
        node = node.setdefault(k, {})
    node[keys[-1]] = value


def _raw(scenario: Scenario) -> dict:
    return scenario.model_dump(mode="json", exclude_none=True)


def controls_for(scenario: Scenario) -> list[Control]:
    """The controls that apply to this scenario (those whose item or process exists)."""
    raw = _raw(scenario)
    kinds = _items_by_kind(raw)
    out = []
    for c in CONTROLS:
        if c.needs in ("guideline", "rumor", "correction") and c.needs not in kinds:
            continue
        if c.needs == "diagnosis" and not raw.get("diagnosis", {}).get("enabled", True):
            pass  # still shown: switching diagnosis on makes it apply
        out.append(c)
    return out


def default_values(scenario: Scenario) -> dict[str, Any]:
    """The scenario's own value of every applicable control (clamped into its range)."""
    raw = _raw(scenario)
    kinds = _items_by_kind(raw)
    out = {}
    for c in controls_for(scenario):
        try:
            v = _get(raw, c.path, kinds)
        except (KeyError, IndexError):
            continue
        out[c.key] = clamp(c, v)
    return out


def clamp(c: Control, value: Any) -> Any:
    """``value`` forced into the control's type and range (a bad value gives the low end)."""
    if c.kind == "bool":
        return bool(value)
    try:
        x = float(value)
    except (TypeError, ValueError):
        x = c.lo
    if not math.isfinite(x):
        x = c.lo
    x = min(max(x, c.lo), c.hi)
    if c.kind == "int":
        return round(x)
    return round(x, 6)


def intervention_by_key(key: str | None) -> Intervention | None:
    for iv in INTERVENTIONS:
        if iv.key == key:
            return iv
    return None


def interventions_for(scenario: Scenario) -> list[Intervention]:
    kinds = _items_by_kind(_raw(scenario))
    return [iv for iv in INTERVENTIONS if not iv.item_kind or iv.item_kind in kinds]


# --------------------------------------------------------------------- building
def build_scenarios(
    base: Scenario, values: dict[str, Any], seed: int, intervention: str | None = None, start_day: float = 0.0
) -> tuple[Scenario, Scenario | None]:
    """The baseline scenario with ``values`` applied, and the intervention arm (or None).

    Unknown control keys are ignored and every value is clamped into its control's range;
    the seed becomes ``run.seed`` and recording is every :data:`LIMITS.record_every_hours`
    hours at most, so the exported file reproduces the page with a plain ``qunsim run``.
    """
    from ..config import Scenario as _Scenario

    raw = copy.deepcopy(_raw(base))
    kinds = _items_by_kind(raw)
    for c in controls_for(base):
        if c.key in values:
            _set(raw, c.path, clamp(c, values[c.key]), kinds)
    raw["run"]["seed"] = int(min(max(int(seed), 0), LIMITS.max_seed))
    raw["run"]["record_every_hours"] = min(float(raw["run"].get("record_every_hours", 24.0)), LIMITS.record_every_hours)
    raw["run"]["duration_days"] = min(
        max(float(raw["run"]["duration_days"]), LIMITS.min_duration_days), LIMITS.max_duration_days
    )
    baseline = _Scenario.model_validate(raw)
    iv = intervention_by_key(intervention)
    if iv is None:
        return baseline, None
    arm = copy.deepcopy(raw)
    day = min(max(float(start_day), 0.0), float(raw["run"]["duration_days"]))
    entry: dict[str, Any] = {"name": iv.name, "start_day": day, "params": dict(iv.params)}
    if iv.item_kind:
        if iv.item_kind not in kinds:
            return baseline, None
        entry["params"]["item"] = raw["information"]["items"][kinds[iv.item_kind]]["name"]
    if iv.set:
        entry["set"] = dict(iv.set)
    arm.setdefault("interventions", []).append(entry)
    arm["run"]["name"] = f"{raw['run']['name']}-{iv.key}"
    return baseline, _Scenario.model_validate(arm)


def scenario_toml(scenario: Scenario) -> str:
    """The scenario as a file ``qunsim run`` reproduces (every setting written out)."""
    from ..config import scenario_to_toml

    head = (
        f"# exported by `qunsim demo`: run it with\n#   qunsim run <this file>\n"
        f"# (seed {scenario.run.seed}; the same numbers as the page)\n"
    )
    return head + scenario_to_toml(scenario)
