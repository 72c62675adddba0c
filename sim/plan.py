"""The order of a run, written down once, as data.

Set-up builds, each from its own random stream: facilities and clinicians
(``population``), groups (``groups``), 1-on-1 contacts (``contacts``); then every
enabled component's ``setup`` in :data:`STEP_ORDER`.

One step of ``run.step_minutes`` runs the phases of :data:`STEP_ORDER` in order. The
state at the start of a phase is what it sees of the phases before it. After the
last phase the clock advances by one step; at every recording time each component
writes its rows to the time series (``t`` is the time at the end of the step).

``qunsim show --plan SCENARIO`` prints this plan for a scenario, with the components
it switches on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .components import REGISTRY

if TYPE_CHECKING:  # pragma: no cover
    from .config import Scenario

__all__ = ["SETUP_ORDER", "STEP_ORDER", "Phase", "describe"]


@dataclass(frozen=True)
class Phase:
    name: str  # a registered process, or "interventions" for all of them
    what: str


SETUP_ORDER: tuple[Phase, ...] = (
    Phase("population", "facilities by tier and region; clinicians with role, specialty, expertise, literacy"),
    Phase("groups", "groups on each basis (alumni, specialty, affiliate, ...), invitations, moderators"),
    Phase("contacts", "1-on-1 contacts: colleagues, up the reporting chain, met at events"),
)

STEP_ORDER: tuple[Phase, ...] = (
    Phase("interventions", "interventions whose start (or end) day falls in this step switch on (or off)"),
    Phase("network", "conferences create groups, invitations grow groups, members mute or leave"),
    Phase("trust", "pairs whose members met at today's conference trust each other more (when trust is on)"),
    Phase("information", "posts and forwards, reading with delay, belief, fact-checking, corrections, moderation"),
    Phase("diagnosis", "new cases, local diagnosis, group and 1-on-1 requests, answers, escalation, referral"),
    Phase("reporting", "case reports climb the formal chain (facility, county, city, province, abroad)"),
    Phase("cost", "nothing each step; at the end, the cost table from the others' outputs"),
)


def _check() -> None:
    """Every registered process has exactly one place in the step order."""
    processes = [e.name for e in REGISTRY.values() if e.kind == "process"]
    placed = [p.name for p in STEP_ORDER if p.name != "interventions"]
    if sorted(processes) != sorted(placed):
        raise RuntimeError(f"STEP_ORDER {placed} does not match the registered processes {processes}")


def describe(scenario: Scenario) -> str:
    """The plan of a run of ``scenario``, as text."""
    _check()
    on = {name: bool(getattr(getattr(scenario, name, None), "enabled", True)) for name in REGISTRY}
    lines = [
        f"plan of {scenario.run.name!r}: {scenario.n_steps} steps of {scenario.run.step_minutes:g} min, "
        f"recorded every {scenario.run.record_every_hours:g} h",
        "",
        "set-up:",
    ]
    for k, ph in enumerate(SETUP_ORDER, 1):
        lines.append(f"  {k}. {ph.name:<14} {ph.what}")
    k = len(SETUP_ORDER)
    for ph in STEP_ORDER:
        if ph.name != "interventions" and on.get(ph.name):
            k += 1
            lines.append(f"  {k}. {ph.name:<14} set-up of the process")
    lines += ["", "each step:"]
    for k, ph in enumerate(STEP_ORDER, 1):
        if ph.name == "interventions":
            ivs = scenario.interventions
            state = f"{len(ivs)} scheduled" if ivs else "none scheduled"
        else:
            state = "on" if on.get(ph.name) else "off"
        lines.append(f"  {k}. {ph.name:<14} [{state}] {ph.what}")
        if ph.name == "interventions":
            for iv in scenario.interventions:
                end = f" to day {iv.end_day:g}" if iv.end_day is not None else ""
                lines.append(f"       - {iv.name}: from day {iv.start_day:g}{end}")
    lines.append(f"  {len(STEP_ORDER) + 1}. {'clock':<14} advance one step; record at each recording time")
    return "\n".join(lines) + "\n"
