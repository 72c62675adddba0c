"""Scenario files: loading, inheritance, overrides, warnings and run sizes.

The schema itself is :mod:`sim.scenario` (re-exported here).

A scenario is a TOML file validated against :class:`Scenario`. Every field has a
default, a range and a unit in its name (``_minutes``, ``_hours``, ``_days``);
probabilities lie in [0, 1]; numbers are finite. A file may start with
``extends = "other.toml"`` (a path relative to the file); tables merge key by key, the
child winning. Command-line overrides ``dotted.key=value`` are applied after
inheritance; the value is read as a TOML value when it parses as one, else as a string.

Every problem is raised as :class:`ScenarioError` whose message names the file,
the field's dotted path, the value found and what is allowed. Everything that can be
checked before the model is built is checked here, when the scenario loads:

* **bounded by construction**: a run has at most :data:`MAX_STEPS` steps and
  :data:`MAX_CLINICIAN_STEPS` clinicians x steps unless ``run.allow_large = true``
  (``qunsim run --allow-large``), and never more than :data:`HARD_MAX_STEPS` /
  :data:`HARD_MAX_CLINICIAN_STEPS`; :func:`run_estimate` gives the expected time and
  memory;
* scenario files (and ``extends`` targets) are regular files of at most
  :data:`MAX_SCENARIO_BYTES`; ``extends`` names a ``.toml`` file, chains are at most
  :data:`MAX_EXTENDS_DEPTH` deep, and the content of an ``extends`` target that is not a
  scenario is never echoed;
* ``run.name`` is a name (it becomes a folder name), not a path;
* references must exist (seed clinicians, regions, items), items must be able to start.

Input that can mean what it says but probably is not what was meant (an intervention
that starts after the run ends, a value that will be clipped) loads, with a warning:
:func:`scenario_warnings`.
"""

from __future__ import annotations

import copy
import stat
import tomllib
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import ValidationError

from .scenario import (
    MAX_CLINICIAN_STEPS,
    MAX_STEPS,
    PopulationConfig,
    Scenario,
    run_estimate,
    run_size,
    short_value,
)
from .schema import BASES, ROLES, TIERS, ScenarioError

__all__ = [
    "BASES",
    "MAX_CLINICIAN_STEPS",
    "MAX_STEPS",
    "ROLES",
    "TIERS",
    "PopulationConfig",
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "parse_overrides",
    "run_estimate",
    "run_size",
    "scenario_to_toml",
    "scenario_warnings",
]


# ---------------------------------------------------------------------- loading
MAX_SCENARIO_BYTES = 4 * 2**20
MAX_EXTENDS_DEPTH = 32
_BOM = b"\xef\xbb\xbf"


def _read_toml(path: Path, label: str | None = None) -> dict[str, Any]:
    """A scenario file's tables: a regular, UTF-8 TOML file of at most MAX_SCENARIO_BYTES.

    ``label`` names the file in messages (default: its path).
    """
    label = label or str(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ScenarioError(f"{label}: no such scenario file") from None
    except OSError as exc:
        raise ScenarioError(f"{label}: cannot read the file ({exc.strerror})") from None
    if stat.S_ISDIR(info.st_mode):
        raise ScenarioError(f"{label}: cannot read the file (it is a folder, not a scenario file)")
    if not stat.S_ISREG(info.st_mode):
        raise ScenarioError(f"{label}: not a regular file (a device, pipe or socket); a scenario is a TOML file")
    if info.st_size > MAX_SCENARIO_BYTES:
        raise ScenarioError(
            f"{label}: {info.st_size:,} bytes; a scenario file may have at most "
            f"{MAX_SCENARIO_BYTES:,} (use groups.membership_file for large data)"
        )
    try:
        with path.open("rb") as fh:
            text = fh.read(MAX_SCENARIO_BYTES + 1)
    except OSError as exc:
        raise ScenarioError(f"{label}: cannot read the file ({exc.strerror})") from None
    if len(text) > MAX_SCENARIO_BYTES:
        raise ScenarioError(f"{label}: more than {MAX_SCENARIO_BYTES:,} bytes; a scenario file may have at most that")
    if text.startswith(_BOM):
        text = text[len(_BOM) :]  # a UTF-8 byte-order mark (some editors write one): harmless, dropped
    elif text.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ScenarioError(
            f"{label}: not a text file TOML can read: it starts with a UTF-16 byte-order mark, "
            "and TOML must be UTF-8 (save the file as UTF-8)"
        )
    try:
        return tomllib.loads(text.decode("utf-8"))
    except UnicodeDecodeError:
        raise ScenarioError(f"{label}: not a text file (TOML must be UTF-8)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{label}: not valid TOML: {exc}") from None


def _merge(base: dict, child: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in child.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _resolve(path: Path) -> dict[str, Any]:
    """The scenario at ``path`` with its ``extends`` chain merged in (a loop, not recursion)."""
    seen: list[Path] = []  # resolved paths, for cycles
    names: list[Path] = []  # the paths as written, for messages
    layers: list[dict[str, Any]] = []
    current, label = path, str(path)
    while True:
        key = current.resolve()
        if key in seen:
            cycle = " -> ".join(str(p) for p in (*names, current))
            raise ScenarioError(f"{names[-1]}: circular `extends`: {cycle}")
        if len(seen) > MAX_EXTENDS_DEPTH:
            raise ScenarioError(
                f"{path}: extends: the chain of `extends` is more than {MAX_EXTENDS_DEPTH} "
                f"files deep (stopped at {names[-1]}); at most {MAX_EXTENDS_DEPTH} are followed"
            )
        raw = _read_toml(current, label)
        if seen:
            _check_is_scenario(raw, label)
        parent = raw.pop("extends", None)
        seen.append(key)
        names.append(current)
        layers.append(_relative_paths(raw, key.parent))
        if parent is None:
            break
        if not isinstance(parent, str):
            raise ScenarioError(
                f"{current}: extends: {short_value(parent)} is not allowed; give the path of a .toml file"
            )
        parent_path = key.parent / parent
        if parent_path.suffix != ".toml":
            raise ScenarioError(
                f"{current}: extends: {parent!r} is not a .toml file; "
                "`extends` names another scenario file ending in .toml"
            )
        if not parent_path.exists() and not parent_path.is_symlink():
            raise ScenarioError(f"{current}: extends: {parent!r} does not exist (looked for {parent_path})")
        current, label = parent_path, f"{current}: extends: {parent_path}"
    merged = layers[-1]
    for layer in reversed(layers[:-1]):
        merged = _merge(merged, layer)
    return merged


def _check_is_scenario(raw: dict, label: str) -> None:
    """An ``extends`` target has only scenario tables; otherwise none of its content is shown."""
    sections = set(Scenario.model_fields)
    ok = all(
        (key == "extends" and isinstance(value, str))
        or (key in sections and isinstance(value, list if key == "interventions" else dict))
        for key, value in raw.items()
    )
    if not ok:
        raise ScenarioError(
            f"{label}: not a scenario file: its top level holds keys other than the scenario tables "
            f"({', '.join(sorted(sections))}); its content is not shown"
        )


def _relative_paths(raw: dict, folder: Path) -> dict:
    """File settings are relative to the scenario that names them."""
    groups = raw.get("groups")
    if isinstance(groups, dict) and isinstance(groups.get("membership_file"), str):
        groups["membership_file"] = str((folder / groups["membership_file"]).resolve())
    return raw


def parse_overrides(items: list[str] | None) -> list[tuple[list[str], Any]]:
    """Parse ``dotted.key=value`` strings; the value is TOML when it parses, else a string."""
    out = []
    for item in items or []:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key or any(not part for part in key.split(".")):
            raise ScenarioError(f"--set {item!r}: expected dotted.key=value, e.g. run.duration_days=10")
        try:
            parsed = tomllib.loads(f"v = {value.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            parsed = value.strip()
        out.append((key.split("."), parsed))
    return out


def _apply_override(raw: dict, keys: list[str], value: Any, source: str) -> None:
    dotted = ".".join(keys)
    node: Any = raw
    key: str | int
    for depth, key in enumerate(keys):
        last = depth == len(keys) - 1
        if isinstance(node, list):
            if not key.isdigit() or int(key) >= len(node):
                raise ScenarioError(f"{source}: --set {dotted}: {key!r} is not an index of a list of {len(node)}")
            key = int(key)
        elif not isinstance(node, dict):
            raise ScenarioError(f"{source}: --set {dotted}: {'.'.join(keys[:depth])} is a value, not a table")
        if last:
            node[key] = value
        else:
            if isinstance(node, dict) and key not in node:
                node[key] = {}
            node = node[key]


def _format_errors(exc: ValidationError, source: str) -> str:
    lines = [f"{source}: {exc.error_count()} problem(s) in the scenario:"]
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"] if p not in ("function-after",))
        if err["type"] == "extra_forbidden":
            parent = ".".join(str(p) for p in err["loc"][:-1])
            lines.append(
                f"  {loc}: unknown setting {'in ' + parent if parent else 'at top level'}"
                f" (value {short_value(err.get('input'))}); check the spelling against docs/parameters.md"
                " (qunsim params)"
            )
            continue
        msg = err["msg"].removeprefix("Value error, ")
        if not loc:  # a check across settings: its message names them
            lines.append(f"  {msg}")
            continue
        lines.append(f"  {loc}: {msg} (got {short_value(err.get('input'))})")
    return "\n".join(lines)


def validate(raw: dict, source: str = "<scenario>") -> Scenario:
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioError(_format_errors(exc, source)) from None


def load_scenario(path: str | Path, overrides: list[str] | None = None) -> Scenario:
    """Load a scenario file, follow ``extends``, apply ``--set`` overrides, validate.

    ``path`` is a TOML file or the name of a shipped scenario (``"classroom"``,
    ``"guangdong_study"``, ``"province"``), which works from an installed wheel too.
    """
    path = Path(path)
    if not path.exists():
        from .paths import shipped_scenario

        path = shipped_scenario(str(path)) or path
    raw = _resolve(path)
    for keys, value in parse_overrides(overrides):
        _apply_override(raw, keys, value, str(path))
    return validate(raw, str(path))


def scenario_to_toml(scenario: Scenario) -> str:
    """The fully resolved scenario, every default written out, as TOML."""
    return tomli_w.dumps(scenario.model_dump(mode="json", exclude_none=True))


# --------------------------------------------------------------------- warnings
def scenario_warnings(scenario: Scenario) -> list[str]:
    """What in ``scenario`` loads but probably is not what was meant, one line each.

    ``qunsim run`` prints them to stderr and records them in the manifest (``warnings``).
    Each names the setting, its value and what happens instead.
    """
    from .population import BED_RANGES

    out: list[str] = []
    for k, reg in enumerate(scenario.population.regions):
        if reg.kind == "abroad" and reg.utc_offset_hours is None:
            out.append(
                f"population.regions.{k}.utc_offset_hours: region {reg.name!r} is abroad but has no time zone; "
                "its members keep China's working and waking hours (UTC+8)"
            )
    run = scenario.run
    minutes = run.duration_days * 24 * 60
    if abs(scenario.n_steps * run.step_minutes - minutes) > 1e-6 * max(minutes, 1.0):
        out.append(
            f"run.duration_days: {run.duration_days:g} is not a whole number of {run.step_minutes:g}-minute "
            f"steps; the run lasts {scenario.n_steps} steps = {scenario.n_steps * scenario.dt_days:g} days"
        )
    per_record = run.record_every_hours * 60 / run.step_minutes
    if abs(max(1, round(per_record)) - per_record) > 1e-6 * max(per_record, 1.0):
        every = max(1, round(per_record)) * run.step_minutes / 60
        out.append(
            f"run.record_every_hours: {run.record_every_hours:g} is not a whole number of steps "
            f"(run.step_minutes = {run.step_minutes:g}); the time series is recorded every {every:g} h"
        )
    for k, it in enumerate(scenario.information.items):
        if it.start_day >= run.duration_days:
            out.append(
                f"information.items.{k}.start_day: {it.start_day:g} is not before the end of the run "
                f"(run.duration_days = {run.duration_days:g}); item {it.name!r} is never released"
            )
        ids = getattr(it, "seed_clinicians", None)
        if ids and len(set(ids)) < len(ids):
            out.append(
                f"information.items.{k}.seed_clinicians: {len(ids) - len(set(ids))} repeated id(s); "
                f"item {it.name!r} has {len(set(ids))} distinct seeds"
            )
        if ids is None and getattr(it, "seed_share", None) == 0:
            out.append(
                f"information.items.{k}.seed_share: 0 seeds nobody; item {it.name!r} is given "
                "1 seed (the least a seeded item has)"
            )
    for k, iv in enumerate(scenario.interventions):
        if iv.start_day >= run.duration_days:
            out.append(
                f"interventions.{k}.start_day: {iv.start_day:g} is not before the end of the run "
                f"(run.duration_days = {run.duration_days:g}); {iv.name!r} never starts"
            )
        elif iv.end_day is not None and iv.end_day > run.duration_days:
            out.append(
                f"interventions.{k}.end_day: {iv.end_day:g} is after the end of the run "
                f"(run.duration_days = {run.duration_days:g}); {iv.name!r} is still on when the run ends"
            )
    pop = scenario.population
    for tier, tier_config in pop.tiers.items():
        if not any(getattr(r, tier) > 0 for r in pop.regions):
            continue
        lo, hi = BED_RANGES[tier]
        median = tier_config.beds_median
        if not lo <= median <= hi:
            out.append(
                f"population.tiers.{tier}.beds_median: {median:g} is outside the {tier} tier's "
                f"{lo}-{hi} beds; every draw is clipped into that range"
            )
    cap = scenario.groups.size_cap
    for name, basis in scenario.groups.bases.items():
        if basis.enabled and basis.size_median > cap:
            out.append(
                f"groups.bases.{name}.size_median: {basis.size_median:g} is above groups.size_cap = {cap}; "
                f"group sizes are clipped to {cap}"
            )
    conf = getattr(scenario.network, "conference_group_size_median", None)
    if isinstance(conf, int | float) and conf > cap:
        out.append(
            f"network.conference_group_size_median: {conf:g} is above groups.size_cap = {cap}; "
            f"group sizes are clipped to {cap}"
        )
    return out
