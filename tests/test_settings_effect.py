"""No setting is silently ignored.

Every setting of a process that a ``settings`` intervention may change takes effect:
changing it from day 1 changes the run. Every setting fixed at set-up (the ``run``,
``population``, ``groups`` and ``contacts`` sections, and process fields marked
``setup_only``) is refused when the scenario loads, with exit code 2 and a message
naming it.
"""

from __future__ import annotations

import hashlib
import tomllib
import typing

import pandas as pd
import pytest
from pydantic import BaseModel

from sim.cli import main
from sim.config import load_scenario, validate
from sim.runner import run

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
[[information.items]]
name = "second_outbreak"
kind = "case_report"
start_day = 2
n_seeds = 1
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
    "information.reask_prob": ["information.purge_days=0.05"],  # media are read within days otherwise
    # the per-copy adoption rule of earlier versions; article forwarding acts on a paywalled guideline
    "information.adopt_prob": ['information.adoption="per_copy"'],
    "information.article_forward_prob": ["information.items.0.paywalled=true"],
    # staged adoption does not weigh copies: the fidelity of the screenshot guideline acts per copy
    "information.screenshot_fidelity": ['information.adoption="per_copy"'],
    # information changes care only for cases an item concerns: all cases are dermatology
    # cases, and the guideline and the rumor concern them
    **{
        f"diagnosis.information_effects.{name}": [
            'information.items.0.condition="dermatology"',
            'information.items.1.condition="dermatology"',
            "diagnosis.specialty_weights={dermatology=1.0}",
        ]
        for name in ("enabled", "adopted_skill_gain", "believer_skill_loss", "believer_delay_hours")
    },
    # burnout acts when an expert who answered off hours is asked again: more cases
    "diagnosis.burnout_sensitivity_per_answer": [
        f"diagnosis.case_rate_per_facility_per_day.{tier}=3" for tier in ("primary", "secondary", "tertiary")
    ],
}

# pairwise trust acts when it is on; meetings need conferences that pairs who asked and
# answered each other both attend
for _name in (
    "initial_formal",
    "initial_introduced",
    "initial_event",
    "vouch_weight",
    "reference",
    "prior_strength",
    "answer_gain",
    "belief",
    "routing",
):
    CONTEXT[f"trust.{_name}"] = ["trust.enabled=true"]
# routing weighs the choice of a contact: cases ask a contact first, so that many do
CONTEXT["trust.routing"].append('diagnosis.routes=["local", "contact", "referral"]')
CONTEXT["trust.meeting_gain"] = [
    "trust.enabled=true",
    "network.conference_interval_days=1",
    "network.conference_attendance=1",
    "network.conference_join_prob=1",
]
# staged adoption takes weeks: adopters within the twelve days
CONTEXT["diagnosis.information_effects.adopted_skill_gain"].append("information.adopt_prob_per_day=1.0")
# the believers' care acts when a believer treats a case: a rumor many believe (twenty seeds);
# a delay, when the case is one they cannot diagnose: a rumor most believe
for _name in ("believer_skill_loss", "believer_delay_hours"):
    CONTEXT[f"diagnosis.information_effects.{_name}"].append("information.items.1.n_seeds=20")
CONTEXT["diagnosis.information_effects.believer_delay_hours"].append("information.items.1.credibility=0.95")

# the formal reporting chain: hours count round the clock, so that the later hops end within the run
for _level in ("province", "abroad"):
    CONTEXT[f"reporting.hop_hours.{_level}"] = ["reporting.working_hours_only=false"]

# Where the generic change (x4, or /4 at a bound) lands where the setting cannot act in
# a twelve-day run of 400 clinicians, the new value and why.
NEW = {
    # a conference's few attendees fill one group of median 40 or 160 alike
    "network.conference_group_size_median": 3.0,
    # media are read within days: a purge acts when the limit is short, not long
    "information.purge_days": 0.05,
    "diagnosis.media_purge_days": 0.05,
    # requests rarely draw more than five answers; one answer caps most of them
    "diagnosis.max_answers_per_request": 1,
    # x4 and /4 both leave (0.5, 1): the guessing rate is 1/4
    "diagnosis.vote_accuracy": 0.95,
    # off-hours answers are few in twelve days: a strong sensitivity shows them
    "diagnosis.burnout_sensitivity_per_answer": 10.0,
}

PROCESS_SECTIONS = ("network", "trust", "information", "diagnosis", "reporting", "cost")
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


def _settable(node: BaseModel, prefix: str, fixed: bool = False):
    """(dotted path, current value, new value, setup_only) for every leaf setting under ``node``
    (the current value is the base run's, so the change is a change of that run)."""
    for name, info in type(node).model_fields.items():
        value = getattr(node, name)
        path = f"{prefix}.{name}"
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        if isinstance(value, BaseModel):  # a table fixed at set-up fixes every setting in it
            yield from _settable(value, path, fixed or bool(extra.get("setup_only")))
            continue
        if isinstance(value, list) and value and isinstance(value[0], BaseModel):
            continue  # lists of tables (items) are not reachable by a dotted path
        new = NEW[path] if path in NEW else _changed(value, info.annotation, info)
        if new is None:
            continue
        yield path, value, new, fixed or bool(extra.get("setup_only"))


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
    scen = validate(tomllib.loads(RICH), "rich")
    for section in PROCESS_SECTIONS:
        yield from _settable(getattr(scen, section), section)


ALL = list(_cases())
SETTABLE = [c for c in ALL if not c[3]]
FIXED = [c for c in ALL if c[3]]


def test_the_lists_are_not_empty():
    assert len(SETTABLE) > 40
    assert set(NEW) | set(CONTEXT) <= {c[0] for c in SETTABLE}  # no stale entry


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    """The base file and the fingerprint of its run in a context (computed once per context)."""
    path = tmp_path_factory.mktemp("rich") / "rich.toml"
    path.write_text(RICH)
    prints: dict[tuple[str, ...], str] = {}

    def get(context: tuple[str, ...]) -> str:
        if context not in prints:
            prints[context] = _fingerprint(run(load_scenario(path, list(context)), seed=4))
        return prints[context]

    return path, get


@pytest.mark.slow
@pytest.mark.parametrize("path,old,new,_", SETTABLE, ids=[c[0] for c in SETTABLE])
def test_a_settings_intervention_changes_the_run(path, old, new, _, baseline, tmp_path):
    base_file, base_print = baseline
    context = tuple(CONTEXT.get(path, ()))
    scen = tmp_path / "s.toml"
    scen.write_text(
        base_file.read_text() + f'\n[[interventions]]\nname = "settings"\nstart_day = 1\n'
        f'set = {{ "{path}" = {_toml(new)} }}\n'
    )
    res = run(load_scenario(scen, list(context)), seed=4)
    assert _fingerprint(res) != base_print(context), f"{path}: {old!r} -> {new!r} changed nothing"


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
