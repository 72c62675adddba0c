"""No setting is silently ignored: settings fixed at set-up are refused.

Every setting fixed at set-up (the ``run``,
``population``, ``groups`` and ``contacts`` sections, and process fields marked
``setup_only``) is refused when the scenario loads, with exit code 2 and a message
naming it.
"""

from __future__ import annotations

import hashlib
import typing

import pandas as pd
import pytest
from pydantic import BaseModel

from sim.cli import main
from sim.config import Scenario

from .test_components import BASE

# Everything on, so that every setting has something to act on: a larger population with
# members abroad, media and screenshot items (purge, re-asking, screenshots), a case
# report, moderation, twelve days of cases.
RICH = (
    BASE.replace("n_clinicians = 150", "n_clinicians = 400").replace("duration_days = 6", "duration_days = 12")
    + """
[[population.regions]]
name = "Abroad"
kind = "abroad"
tertiary = 1
staff_weight = 0.3
[[information.items]]
name = "photo"
kind = "guideline"
start_day = 0.5
n_seeds = 4
media = true
blocked_link = true
[[information.items]]
name = "outbreak"
kind = "case_report"
start_day = 0.5
n_seeds = 2
[information.moderation]
enabled = true
"""
)

# The settings that matter only in a mode the base run does not use, or in a rarer
# event than the base run produces: the context (extra `--set`s) in which they act.
CONTEXT = {
    "diagnosis.vote_accuracy": ['diagnosis.combine="majority"'],
    "diagnosis.purged_quality": ["diagnosis.media_purge_days=0.05"],
    "diagnosis.referral_patience_hours": ['diagnosis.escalation="parallel"'],
}

PROCESS_SECTIONS = ("network", "information", "diagnosis")
SETUP_SECTIONS = ("run", "population", "groups", "contacts")


def _bounds(info) -> tuple[float | None, float | None]:
    lo = hi = None
    for meta in info.metadata:
        for attr in ("ge", "gt"):
            if getattr(meta, attr, None) is not None:
                lo = getattr(meta, attr)
        for attr in ("le", "lt"):
            if getattr(meta, attr, None) is not None:
                hi = getattr(meta, attr)
    return lo, hi


def _other_number(value: float, lo, hi, integer: bool) -> float:
    if integer:
        up = value + 1
        return up if hi is None or up <= hi else value - 1
    if value == 0:
        new = 0.5 if hi is None else min(0.5, hi)
    else:
        new = value * 4 if hi is None or value * 4 <= hi else value / 4
    return new


def _changed(value, annotation, info):
    """A different valid value for a setting."""
    origin = typing.get_origin(annotation)
    if annotation is bool:
        return not value
    if origin is typing.Literal:
        return next(v for v in typing.get_args(annotation) if v != value)
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        lo, hi = _bounds(info)
        return _other_number(value, lo, hi, isinstance(value, int))
    if isinstance(value, dict):  # one entry changes (weights may be relative)
        first = next(iter(value))
        return {k: ((v * 10 if v else 1.0) if k == first else v) for k, v in value.items()}
    if isinstance(value, (tuple, list)) and all(isinstance(v, (int, float)) for v in value):
        flipped = list(value)[::-1]  # same bounds, another value
        return flipped if flipped != list(value) else [v / 2 for v in value]
    return None


def _settable(node: BaseModel, prefix: str):
    """(dotted path, current value, new value, setup_only) for every leaf setting under ``node``."""
    for name, info in type(node).model_fields.items():
        value = getattr(node, name)
        path = f"{prefix}.{name}"
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        if isinstance(value, BaseModel):
            yield from _settable(value, path)
            continue
        if isinstance(value, list) and value and isinstance(value[0], BaseModel):
            continue  # lists of tables (items) are not reachable by a dotted path
        new = _changed(value, info.annotation, info)
        if new is None:
            continue
        yield path, value, new, bool(extra.get("setup_only"))


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)


def _fingerprint(res) -> str:
    h = hashlib.sha256()
    h.update(pd.util.hash_pandas_object(res.timeseries, index=False).to_numpy().tobytes())
    for name in sorted(res.tables):
        h.update(pd.util.hash_pandas_object(res.tables[name].astype(str), index=False).to_numpy().tobytes())
    h.update(repr(sorted((k, str(v)) for k, v in res.metrics.items())).encode())
    return h.hexdigest()


def _cases():
    scen = Scenario()
    for section in PROCESS_SECTIONS:
        yield from _settable(getattr(scen, section), section)


ALL = list(_cases())
SETTABLE = [c for c in ALL if not c[3]]
FIXED = [c for c in ALL if c[3]]


def test_the_lists_are_not_empty():
    assert len(SETTABLE) > 40


@pytest.mark.parametrize(
    "path,old,new,_",
    FIXED
    + [
        (f"{s}.{f}", None, None, True)
        for s, f in (
            ("run", "duration_days"),
            ("population", "literacy_mean"),
            ("groups", "size_cap"),
            ("contacts", "colleagues"),
        )
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_a_setting_fixed_at_setup_is_refused(path, old, new, _, write, capsys):
    value = new if new is not None else 1
    f = write(RICH + f'\n[[interventions]]\nname = "settings"\nstart_day = 1\nset = {{ "{path}" = {_toml(value)} }}\n')
    assert main(["show", str(f)]) == 2
    err = capsys.readouterr().err
    assert path in err and "set-up" in err and "Traceback" not in err
