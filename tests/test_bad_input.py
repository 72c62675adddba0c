"""Bad input never crashes, hangs or escapes; a researcher's first hour without surprises (issue #15).

Every case of the issue's corpus is run through the command line: exit code 2, no
traceback, and a message naming the file, the setting, the value and what is allowed,
before anything runs. Input that can mean what it says loads with a warning, printed and
recorded in the manifest.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import pytest

from sim import ScenarioError, load_scenario
from sim.cli import _progress, main
from sim.config import (
    MAX_CLINICIAN_STEPS,
    MAX_EXTENDS_DEPTH,
    MAX_SCENARIO_BYTES,
    MAX_STEPS,
    run_estimate,
    scenario_warnings,
)

from .conftest import ROOT, SMALL

ITEMS = """
[[information.items]]
name = "g1"
kind = "guideline"
[[information.items]]
name = "r1"
kind = "rumor"
"""


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def _sets(overrides: list[str]) -> list[str]:
    return [arg for o in overrides for arg in ("--set", o)]


def _refused(argv: list[str], capsys, *needles: str) -> str:
    """The command exits 2 without a traceback, before any run starts; stderr holds every needle."""
    with mock.patch("sim.runner.run", side_effect=AssertionError("bad input reached the run")):
        code, _, err = _run(argv, capsys)
    assert code == 2, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, f"{needle!r} not in:\n{err}"
    return err


# ----------------------------------------------------------- one file, one setting
# (id, text appended to the small scenario, setting named, what the message says is allowed)
BAD_FILES = [
    ("duration-inf", "[run]\nduration_days = inf\n", "run.duration_days", "finite"),
    ("duration-nan", "[run]\nduration_days = nan\n", "run.duration_days", "finite"),
    ("step-minus-inf", "[run]\nstep_minutes = -inf\n", "run.step_minutes", "finite"),
    (
        "beds-sigma-inf",
        "[population.tiers.primary]\nbeds_sigma = inf\n",
        "population.tiers.primary.beds_sigma",
        "finite",
    ),
    ("regions-empty", "[population]\nregions = []\n", "population.regions", "at least 1"),
    (
        "seed-clinician-outside",
        ITEMS.replace('kind = "rumor"', 'kind = "rumor"\nseed_clinicians = [3, 99999]'),
        "information.items.1.seed_clinicians",
        "0..239",
    ),
    (
        "seed-clinician-negative",
        ITEMS.replace('kind = "rumor"', 'kind = "rumor"\nseed_clinicians = [-1]'),
        "information.items.1.seed_clinicians",
        "0..239",
    ),
    (
        "seed-clinicians-empty",
        ITEMS.replace('kind = "rumor"', 'kind = "rumor"\nseed_clinicians = []'),
        "information.items.1.seed_clinicians",
        "at least one",
    ),
    ("long-name", "[run]\nname = '" + "x" * 100_000 + "'\n", "run.name", "1-100 characters"),
    ("name-parent-path", "[run]\nname = '../../x'\n", "run.name", "not a path"),
    ("name-absolute-path", "[run]\nname = '/tmp/x'\n", "run.name", "not a path"),
    ("name-hidden", "[run]\nname = '.x'\n", "run.name", "not starting with '.'"),
    ("name-empty", "[run]\nname = ''\n", "run.name", "1-100 characters"),
    ("intervention-name-table", "[[interventions]]\nname = { a = 1 }\n", "interventions.0.name", "valid string"),
    ("intervention-name-list", "[[interventions]]\nname = ['settings']\n", "interventions.0.name", "valid string"),
    (
        "intervention-param",
        "[[interventions]]\nname = 'embed_specialists'\nparams = { per_group = 50 }\n",
        "interventions.0.params.per_group",
        "less than or equal to 20",
    ),
    (
        "intervention-param-unknown",
        "[[interventions]]\nname = 'embed_specialists'\nparams = { per_groups = 2 }\n",
        "interventions.0.params.per_groups",
        "unknown setting",
    ),
    (
        "intervention-params-not-table",
        "[[interventions]]\nname = 'embed_specialists'\nparams = [1]\n",
        "interventions.0.params",
        "valid dictionary",
    ),
    (
        "intervention-start-inf",
        "[[interventions]]\nname = 'embed_specialists'\nstart_day = inf\n",
        "interventions.0.start_day",
        "finite",
    ),
    ("duration-runaway", "[run]\nduration_days = 1e12\n", "run.duration_days", "run.allow_large"),
    ("step-1e-9", "[run]\nstep_minutes = 1e-9\n", "run.step_minutes", "greater than or equal to 0.001"),
    ("step-runaway", "[run]\nstep_minutes = 0.001\n", "run.step_minutes", "run.allow_large"),
    ("record-subnormal", "[run]\nrecord_every_hours = 5e-324\n", "run.record_every_hours", "0.001"),
    (
        "beyond-hard-limit",
        "[run]\nduration_days = 1e12\nallow_large = true\n",
        "run.duration_days",
        "even with run.allow_large",
    ),
    ("duplicate-items", ITEMS.replace('name = "r1"', 'name = "g1"'), "information", "unique"),
    (
        "no-eligible-seed-tier",
        ITEMS.replace('kind = "guideline"', 'kind = "guideline"\nseed_region_kinds = ["abroad"]'),
        "information.items.0",
        "no region of kind ['abroad']",
    ),
    (
        "no-eligible-seed-role",
        "[population.roles]\ndoctor = 1\npharmacist = 0\n"
        + ITEMS.replace('kind = "guideline"', 'kind = "guideline"\nseed_roles = ["pharmacist"]'),
        "information.items.0",
        "share 0",
    ),
    (
        "no-eligible-seed-international",
        "[population.tiers.secondary]\ninternational_access = 0\n"
        "[population.tiers.tertiary]\ninternational_access = 0\n"
        + ITEMS.replace(
            'kind = "guideline"',
            'kind = "guideline"\nseed_international = true\nseed_tiers = ["secondary", "tertiary"]',
        ),
        "information.items.0",
        "international access is 0",
    ),
    (
        "n-seeds-above-population",
        ITEMS.replace('kind = "guideline"', 'kind = "guideline"\nn_seeds = 5000'),
        "information.items.0.n_seeds",
        "240 clinicians",
    ),
    (
        "broadcast-nobody",
        "[population.roles]\ndoctor = 1\npublic_health_admin = 0\n"
        + ITEMS
        + "[[interventions]]\nname = 'broadcast'\nparams = { item = 'g1' }\n",
        "interventions.0.params",
        "share 0",
    ),
    (
        "facilities-above-clinicians",
        "[[population.regions]]\nname = 'Big'\nprimary = 1000000000000\n",
        "population.n_clinicians",
        "facilities",
    ),
    ("seed-2-64-in-file", "[run]\nseed = 18446744073709551616\n", "run.seed", "less than 18446744073709551616"),
    (
        "membership-file-missing",
        "[groups]\nmembership_file = 'nowhere.parquet'\n",
        "groups.membership_file",
        "no such file",
    ),
    (
        "settings-setup-section",
        "[[interventions]]\nname = 'settings'\nset = { 'population.n_clinicians' = 9 }\n",
        "population.n_clinicians",
        "fixed at set-up",
    ),
    (
        "settings-whole-table",
        "[[interventions]]\nname = 'settings'\nset = { 'network' = { enabled = false } }\n",
        "interventions.0.set",
        "whole table, not one setting",
    ),
    (
        "settings-interventions",
        "[[interventions]]\nname = 'settings'\nset = { 'interventions' = [] }\n",
        "interventions.0.set",
        "not a setting",
    ),
    # found by the fuzz test that runs every scenario that loads (tests/test_fuzz.py)
    (
        "notice-prob-subnormal",  # crashed the posting kernel (geometric gaps overflowed)
        ITEMS.replace('kind = "rumor"', 'kind = "rumor"\nnotice_prob = 5e-324'),
        "information.items.1.notice_prob",
        "give 0 (never noticed) or a value in 1e-12..1",
    ),
    (
        "broadcast-information-off",  # KeyError mid-run: the information process is not running
        "[information]\nenabled = false\n"
        + ITEMS
        + "[[interventions]]\nname = 'broadcast'\nparams = { item = 'g1' }\n",
        "interventions.0",
        "information.enabled = false",
    ),
    (
        "role-credibility-huge",  # inf in float32 weights, then NaN beliefs
        "[information.role_credibility]\nnurse = 1e300\n",
        "information.role_credibility.nurse",
        "less than or equal to 100",
    ),
    (
        "role-activity-huge",
        "[information.role_activity]\ndoctor = 1e39\n",
        "information.role_activity.doctor",
        "less than or equal to 100",
    ),
    (
        "tier-credibility-huge",
        "[information]\ntier_credibility = [1.0, 1e300, 1.0]\n",
        "information.tier_credibility.1",
        "less than or equal to 100",
    ),
    (
        "referral-slots-tiny",  # an infinite time between visits, then NaN visit times
        "[diagnosis]\nreferral_slots_per_100_beds_per_day = 1e-300\n",
        "diagnosis.referral_slots_per_100_beds_per_day",
        "greater than or equal to 0.000001",
    ),
    (
        "reads-per-day-subnormal",  # every reading rate 0 in float32, then 0/0 activity
        "[population]\nreads_per_day_median = 2e-311\n",
        "population.reads_per_day_median",
        "greater than or equal to 0.001",
    ),
    (
        "settings-run-section",
        "[[interventions]]\nname = 'settings'\nset = { 'run.step_minutes' = 9 }\n",
        "run.step_minutes",
        "fixed at set-up",
    ),
]


@pytest.fixture
def scenario_with(tmp_path):
    """A scenario file that extends the small one with ``extra`` (its own tables win)."""
    (tmp_path / "small_base.toml").write_text(SMALL)

    def _make(extra: str, name: str = "s.toml") -> Path:
        path = tmp_path / name
        path.write_text('extends = "small_base.toml"\n' + extra)
        return path

    return _make


@pytest.mark.parametrize("extra,path,allowed", [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES])
def test_bad_file_refused_before_the_run(scenario_with, tmp_path, extra, path, allowed, capsys):
    scen = scenario_with(extra)
    out = tmp_path / "o"
    err = _refused(["run", str(scen), "--out", str(out), "--quiet"], capsys, str(scen), path, allowed)
    assert "running" not in err  # refused when the scenario loads, not mid-run
    assert not out.exists()
    assert len(err) < 5_000  # a 100,000-character value is not echoed whole


# ---------------------------------------------------------------- --set, one setting
BAD_SETS = [
    ("duration-inf", "run.duration_days=inf", "run.duration_days", "finite"),
    ("duration-runaway", "run.duration_days=1e12", "run.duration_days", "allow_large"),
    ("step-runaway", "run.step_minutes=0.001", "run.step_minutes", "allow_large"),
    ("name-path", 'run.name="../../x"', "run.name", "not a path"),
    ("n-seeds", 'information.items=[{name="g", kind="guideline", n_seeds=241}]', "information.items.0.n_seeds", "240"),
    (
        "intervention-param",
        'interventions=[{name="literacy_training", params={share=2}}]',
        "interventions.0.params.share",
        "less than or equal to 1",
    ),
]


@pytest.mark.parametrize("override,path,allowed", [c[1:] for c in BAD_SETS], ids=[c[0] for c in BAD_SETS])
def test_bad_set_refused(small, tmp_path, override, path, allowed, capsys):
    _refused(
        ["run", str(small), "--set", override, "--out", str(tmp_path / "o"), "--quiet"],
        capsys,
        str(small),
        path,
        allowed,
    )


def test_clinicians_times_steps_ceiling(small, capsys):
    # 5 million clinicians x 2,400 two-hour steps: under the step ceiling, over clinicians x steps
    over = ["population.n_clinicians=5000000", "run.duration_days=200"]
    err = _refused(
        ["show", str(small), *_sets(over)], capsys, "population.n_clinicians", "clinicians x steps", "estimated"
    )
    assert f"{MAX_CLINICIAN_STEPS:.0e}" in err
    # raised explicitly, it loads, and the estimate is printed
    code, out, err = _run(["show", str(small), "--allow-large", *_sets(over)], capsys)
    assert code == 0 and "allow_large = true" in out
    scen = load_scenario(small, [*over, "run.allow_large=true"])
    assert "estimated" in run_estimate(scen) and "GB" in run_estimate(scen)


def test_step_ceiling_is_raised_only_explicitly(small):
    steps_over = [f"run.duration_days={MAX_STEPS / 24 * 1.5:g}"]  # 1.5 million one-hour steps
    with pytest.raises(ScenarioError, match=r"run\.allow_large"):
        load_scenario(small, [*steps_over, "run.step_minutes=60"])
    scen = load_scenario(small, [*steps_over, "run.step_minutes=60", "run.allow_large=true"])
    assert scen.n_steps > MAX_STEPS


def test_allow_large_prints_the_estimate(small, tmp_path, capsys, monkeypatch):
    """With --allow-large the estimated time and memory are printed before the run starts."""
    import sim.runner

    class Stop(Exception):
        pass

    def refuse(*args, **kwargs):
        raise Stop

    monkeypatch.setattr(sim.runner, "run", refuse)
    with pytest.raises(Stop):
        main(
            [
                "run",
                str(small),
                "--allow-large",
                "--set",
                f"run.duration_days={MAX_STEPS / 12 * 1.2:g}",
                "--out",
                str(tmp_path / "o"),
                "--quiet",
            ]
        )
    err = capsys.readouterr().err
    assert "large run allowed" in err and "estimated about" in err and "of memory" in err


def test_readme_lists_the_ceilings_and_how_to_raise_them():
    """The README's section on errors gives the current ceilings and the way past each one."""
    from sim.config import PopulationConfig
    from sim.limits import HARD_MAX_CLINICIAN_STEPS, HARD_MAX_STEPS

    text = (ROOT / "README.md").read_text()
    section = text[text.index("### Errors, warnings and limits") :]
    section = section[: section.index("\n### ", 5)]
    rows = {line.split("|")[1].strip(): line for line in section.splitlines() if line.startswith("| ")}

    def power(x: float) -> str:  # 10**10 as the README writes it: 10¹⁰
        return "10" + str(round(np.log10(x))).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))

    steps = next(v for k, v in rows.items() if k.startswith("steps"))
    assert f"{MAX_STEPS:,}" in steps and power(HARD_MAX_STEPS) in steps
    assert "run.allow_large = true" in steps and "--allow-large" in steps
    work = rows["clinicians × steps"]
    assert power(MAX_CLINICIAN_STEPS) in work and power(HARD_MAX_CLINICIAN_STEPS) in work
    n_max = next(m.le for m in PopulationConfig.model_fields["n_clinicians"].metadata if hasattr(m, "le"))
    assert f"{n_max:,}" in rows["`population.n_clinicians`"]
    assert f"{MAX_SCENARIO_BYTES // 2**20} MiB" in next(v for k, v in rows.items() if k.startswith("a scenario file"))
    assert f"at most {MAX_EXTENDS_DEPTH} files deep" in rows["`extends`"]


# -------------------------------------------------------------------------- extends
def test_extends_chain_too_deep_is_refused(tmp_path, capsys):
    depth = 1_500
    (tmp_path / "f0.toml").write_text(SMALL)
    for k in range(1, depth):
        (tmp_path / f"f{k}.toml").write_text(f'extends = "f{k - 1}.toml"\n')
    top = tmp_path / f"f{depth - 1}.toml"
    _refused(["show", str(top)], capsys, str(top), "extends", f"more than {MAX_EXTENDS_DEPTH}")


def test_extends_chain_at_the_limit_loads(tmp_path):
    (tmp_path / "f0.toml").write_text(SMALL)
    for k in range(1, MAX_EXTENDS_DEPTH + 1):
        (tmp_path / f"f{k}.toml").write_text(f'extends = "f{k - 1}.toml"\n[run]\nduration_days = {k}\n')
    scen = load_scenario(tmp_path / f"f{MAX_EXTENDS_DEPTH}.toml")
    assert scen.run.duration_days == MAX_EXTENDS_DEPTH and scen.run.name == "small"


def test_extends_dev_zero_is_refused(write, tmp_path, capsys):
    scen = write('extends = "/dev/zero"\n')
    _refused(["show", str(scen)], capsys, str(scen), "extends", "/dev/zero", ".toml")
    # a .toml name that is a device (a symlink to /dev/zero) is not followed either
    (tmp_path / "zero.toml").symlink_to("/dev/zero")
    scen = write('extends = "zero.toml"\n', "b.toml")
    _refused(["show", str(scen)], capsys, "zero.toml", "not a regular file")


def test_scenario_file_is_a_device_or_fifo(tmp_path, capsys):
    _refused(["show", "/dev/zero"], capsys, "/dev/zero", "not a regular file")
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    _refused(["show", str(fifo)], capsys, str(fifo), "not a regular file")  # never opened: no hang


def test_extends_of_a_large_file_is_refused(write, tmp_path, capsys):
    big = tmp_path / "big.toml"
    big.write_text("# padding\n" * (MAX_SCENARIO_BYTES // 10 + 10))
    scen = write('extends = "big.toml"\n')
    _refused(["show", str(scen)], capsys, "big.toml", f"at most {MAX_SCENARIO_BYTES:,}")


def test_extends_of_a_non_scenario_file_does_not_echo_it(write, tmp_path, capsys):
    (tmp_path / "secrets.toml").write_text('[database]\npassword = "hunter2-very-secret"\nuser = "root"\n')
    scen = write('extends = "secrets.toml"\n')
    err = _refused(["show", str(scen)], capsys, str(scen), "extends", "not a scenario file")
    assert "hunter2" not in err and "password" not in err and "database" not in err
    (tmp_path / "flat.toml").write_text('token = "abc123secret"\n')
    scen = write('extends = "flat.toml"\n', "b.toml")
    err = _refused(["show", str(scen)], capsys, "not a scenario file")
    assert "abc123secret" not in err and "token" not in err


def test_extends_must_name_a_toml_file(write, tmp_path, capsys):
    (tmp_path / "base.txt").write_text(SMALL)
    scen = write('extends = "base.txt"\n')
    _refused(["show", str(scen)], capsys, str(scen), "extends", "base.txt", ".toml")
    scen = write("extends = 5\n", "c.toml")
    _refused(["show", str(scen)], capsys, str(scen), "extends", "path")


# --------------------------------------------------------------------- command line
@pytest.mark.parametrize(
    "seed,what",
    [
        (str(2**64), "2**64"),
        (str(10**30), "2**64"),
        ("-1", "2**64"),
        ("1e3", "not an integer"),
        ("seven", "not an integer"),
    ],
)
def test_seed_refused_at_parse_time(small, seed, what, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run", str(small), "--seed", seed, "--quiet"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "--seed" in err and what in err and "Traceback" not in err


def test_largest_seed_runs_and_saves(small, tmp_path, capsys):
    out = tmp_path / "o"
    code, _, err = _run(
        [
            "run",
            str(small),
            "--seed",
            str(2**64 - 1),
            "--set",
            "run.duration_days=0.5",
            "--out",
            str(out),
            "--quiet",
            "--no-plot",
        ],
        capsys,
    )
    assert code == 0, err
    assert json.loads((out / "manifest.json").read_text())["seed"] == 2**64 - 1


def test_long_name_without_out_stays_in_results(small, tmp_path, capsys, monkeypatch):
    """The default results folder is results/<name>-...: a name cannot leave results/ or be too long."""
    monkeypatch.chdir(tmp_path)
    name = "a" * 100
    code, _, err = _run(
        ["run", str(small), "--set", f'run.name="{name}"', "--set", "run.duration_days=0.5", "--quiet", "--no-plot"],
        capsys,
    )
    assert code == 0, err
    made = list((tmp_path / "results").iterdir())
    assert len(made) == 1 and made[0].name.startswith(name + "-seed0-")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results", "s.toml"]


@pytest.mark.parametrize("name", ["x" * 100_000, "../../x", "/tmp/x"], ids=["100k-characters", "parent", "absolute"])
def test_bad_name_without_out_is_refused_before_the_run(small, tmp_path, name, capsys, monkeypatch):
    """The issue's cases as found: no --out, so run.name would make the results folder's name."""
    monkeypatch.chdir(tmp_path)
    err = _refused(["run", str(small), "--set", f'run.name="{name}"', "--quiet"], capsys, str(small), "run.name")
    assert "not a path" in err and len(err) < 5_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]  # no results folder made anywhere


def test_out_path_too_long_is_refused_before_the_run(small, tmp_path, capsys):
    out = tmp_path / ("x" * 300)
    err = _refused(["run", str(small), "--out", str(out), "--quiet"], capsys, "--out", "255")
    assert "running" not in err


def test_out_is_a_file(small, tmp_path, capsys):
    target = tmp_path / "results.txt"
    target.write_text("mine")
    for extra in ([], ["--overwrite"]):
        err = _refused(
            ["run", str(small), "--out", str(target), "--quiet", *extra], capsys, str(target), "is a file, not a folder"
        )
        assert "not empty" not in err and "running" not in err
    assert target.read_text() == "mine"


def test_byte_order_mark_is_accepted(tmp_path, capsys):
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + SMALL.encode())
    assert load_scenario(path).run.name == "small"
    code, out, _ = _run(["show", str(path)], capsys)
    assert code == 0 and 'name = "small"' in out


def test_utf16_file_says_what_is_wrong(tmp_path, capsys):
    path = tmp_path / "u16.toml"
    path.write_bytes(SMALL.encode("utf-16"))
    _refused(["show", str(path)], capsys, str(path), "UTF-16", "UTF-8")


def test_version(capsys):
    from sim import __version__

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"qunsim {__version__}"


def _commands() -> list[str]:
    import argparse

    from sim.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sorted(sub.choices)


@pytest.mark.parametrize("command", [[], *([c] for c in _commands())], ids=lambda c: c[0] if c else "qunsim")
def test_help_has_examples_and_exit_codes(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*command, "--help"])
    out = capsys.readouterr().out
    assert exc.value.code == 0
    assert "examples:" in out and "exit codes:" in out
    assert "qunsim " + (command[0] if command else "run") in out
    assert "2 " in out.split("exit codes:")[1]


def test_validate_help_lists_the_cases(capsys):
    from sim.validation import CASES

    with pytest.raises(SystemExit):
        main(["validate", "--help"])
    out = capsys.readouterr().out
    assert len(CASES) >= 5
    for name, case in CASES.items():
        assert name in out and case.description in " ".join(out.split())


def test_command_line_no_traceback_in_a_real_process(tmp_path):
    """The installed entry point, as a user runs it: exit 2, one line of message, no traceback."""
    bad = tmp_path / "bad.toml"
    bad.write_text("[run]\nduration_days = inf\n")
    for args in (["run", str(bad)], ["run", str(bad), "--seed", str(2**64)]):
        proc = subprocess.run(
            [sys.executable, "-m", "sim.cli", *args], capture_output=True, text=True, cwd=tmp_path, timeout=120
        )
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr and proc.stderr.strip()


# --------------------------------------------------------------------------- warnings
WARNED = [
    (
        "intervention-after-run",
        "[[interventions]]\nname = 'embed_specialists'\nstart_day = 50\n",
        "interventions.0.start_day",
        "never starts",
    ),
    (
        "intervention-ends-after-run",
        "[[interventions]]\nname = 'embed_specialists'\nstart_day = 1\nend_day = 9\n",
        "interventions.0.end_day",
        "still on",
    ),
    (
        "item-after-run",
        ITEMS.replace('kind = "guideline"', 'kind = "guideline"\nstart_day = 5'),
        "information.items.0.start_day",
        "never released",
    ),
    (
        "beds-clipped",
        "[population.tiers.primary]\nbeds_median = 400\n",
        "population.tiers.primary.beds_median",
        "clipped",
    ),
    ("size-clipped", "[groups]\nsize_cap = 50\n", "groups.bases.alumni.size_median", "clipped to 50"),
    (
        "repeated-seed-ids",
        ITEMS.replace('kind = "rumor"', 'kind = "rumor"\nseed_clinicians = [1, 1, 2]'),
        "information.items.1.seed_clinicians",
        "2 distinct seeds",
    ),
    ("duration-not-whole-steps", "[run]\nduration_days = 1.01\n", "run.duration_days", "12 steps"),
    ("record-not-whole-steps", "[run]\nrecord_every_hours = 3\n", "run.record_every_hours", "every 4 h"),
]


@pytest.mark.parametrize("extra,path,what", [c[1:] for c in WARNED], ids=[c[0] for c in WARNED])
def test_warned_not_refused(scenario_with, extra, path, what, capsys):
    scen = scenario_with(extra)
    code, _, err = _run(["show", str(scen)], capsys)
    assert code == 0, err
    assert "warning" in err and str(scen) in err and path in err and what in err
    assert any(path in w and what in w for w in scenario_warnings(load_scenario(scen)))


def test_clean_scenarios_have_no_warnings():
    for path in sorted((ROOT / "sim" / "scenarios").rglob("*.toml")):
        assert scenario_warnings(load_scenario(path)) == [], path


def test_warnings_are_recorded_in_the_manifest(scenario_with, tmp_path, capsys):
    scen = scenario_with("[run]\nduration_days = 0.5\n[[interventions]]\nname = 'embed_specialists'\nstart_day = 3\n")
    out = tmp_path / "o"
    code, _, err = _run(["run", str(scen), "--out", str(out), "--quiet", "--no-plot"], capsys)
    assert code == 0, err
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["warnings"]) == 1 and "interventions.0.start_day" in manifest["warnings"][0]
    assert manifest["warnings"][0] in err


# ------------------------------------------------------- clipping known once the population is drawn
def _seeded_run(scenario_with, tmp_path, capsys, item_lines: str, extra: str = "", days: float = 0.5):
    """Run the small scenario with one guideline g1 (``item_lines`` added to it): (stderr, manifest, results)."""
    from sim.results import Results

    scen = scenario_with(
        f'{extra}[run]\nduration_days = {days}\n[[information.items]]\nname = "g1"\nkind = "guideline"\n{item_lines}'
    )
    out = tmp_path / "o"
    code, _, err = _run(["run", str(scen), "--out", str(out), "--quiet", "--no-plot", "--overwrite"], capsys)
    assert code == 0, err
    manifest = json.loads((out / "manifest.json").read_text())
    return err, manifest, Results.load(out)


def _seeds(res) -> np.ndarray:
    events = res.tables["events"]
    return np.unique(events.loc[(events["kind"] == "seed") & (events["item_name"] == "g1"), "receiver"])


def test_n_seeds_above_the_eligible_is_warned_and_recorded(scenario_with, tmp_path, capsys):
    """n_seeds = 50 pharmacists when about 3% of 240 clinicians are pharmacists: how many are is
    drawn with the population, so the run (not the loading) finds that all of them are the seeds."""
    err, manifest, res = _seeded_run(scenario_with, tmp_path, capsys, 'n_seeds = 50\nseed_roles = ["pharmacist"]\n')
    pharmacists = np.flatnonzero(res.tables["agents"]["role"] == "pharmacist")
    assert 0 < pharmacists.size < 50  # the case this test is about (the population of seed 0)
    assert np.array_equal(_seeds(res), pharmacists)  # every eligible clinician is a seed, and nobody else
    found = [w for w in manifest["warnings"] if "information.items.0.n_seeds" in w]
    assert len(found) == 1
    for needle in ("50", f"{pharmacists.size} clinicians eligible", "seed_roles = ['pharmacist']", "'g1'"):
        assert needle in found[0], (needle, found[0])
    assert f"warning: {tmp_path / 's.toml'}: {found[0]}" in err  # printed, before the run's results
    # n_seeds within the eligible: no warning, exactly n_seeds seeds
    err, manifest, res = _seeded_run(scenario_with, tmp_path, capsys, 'n_seeds = 2\nseed_roles = ["pharmacist"]\n')
    assert manifest["warnings"] == [] and "warning" not in err and _seeds(res).size == 2


def test_seed_filters_that_match_nobody_in_the_drawn_population_are_warned(scenario_with, tmp_path, capsys):
    """Pharmacists have a tiny share, so the 240 drawn clinicians hold none: the item never starts."""
    roles = "[population.roles]\ndoctor = 0.8\nnurse = 0.2\npharmacist = 0.0001\n"  # 240 x 1e-4: 0.024 expected
    err, manifest, res = _seeded_run(scenario_with, tmp_path, capsys, 'seed_roles = ["pharmacist"]\n', roles)
    assert not (res.tables["agents"]["role"] == "pharmacist").any()  # the case this test is about
    assert _seeds(res).size == 0
    found = [w for w in manifest["warnings"] if w.startswith("information.items.0:")]
    assert len(found) == 1 and "never starts" in found[0] and "seed_roles" in found[0]
    assert found[0] in err


def test_seed_share_rounding_to_no_seed_is_warned(scenario_with, tmp_path, capsys):
    err, manifest, res = _seeded_run(scenario_with, tmp_path, capsys, "seed_share = 0.001\n")
    found = [w for w in manifest["warnings"] if "information.items.0.seed_share" in w]
    assert len(found) == 1 and "240 clinicians eligible" in found[0] and "1 seed" in found[0]
    assert found[0] in err and _seeds(res).size == 1


# ------------------------------------------------------------- settings interventions
def test_setup_only_field_is_refused(small, monkeypatch):
    """A field marked setup_only cannot be changed by a `settings` intervention."""
    from sim.config import Scenario

    field = Scenario.model_fields["network"].annotation.model_fields["conference_attendance"]
    monkeypatch.setattr(field, "json_schema_extra", {"setup_only": True})
    with pytest.raises(
        ScenarioError,
        match=r"network.conference_attendance is fixed at set-up; change it in the "
        r"scenario instead",
    ):
        load_scenario(small, ['interventions=[{name="settings", set={"network.conference_attendance"=0.3}}]'])
    monkeypatch.setattr(field, "json_schema_extra", None)
    scen = load_scenario(small, ['interventions=[{name="settings", set={"network.conference_attendance"=0.3}}]'])
    assert scen.interventions[0].set == {"network.conference_attendance": 0.3}


@pytest.mark.parametrize("section", ["run", "population", "groups", "contacts"])
def test_setup_sections_are_refused(small, section, capsys):
    from sim.config import Scenario

    sec = Scenario.model_fields[section].annotation
    name = next(iter(sec.model_fields))
    override = f'interventions=[{{name="settings", set={{"{section}.{name}"=1}}}}]'
    _refused(
        ["show", str(small), "--set", override],
        capsys,
        str(small),
        f"{section}.{name}",
        "is fixed at set-up",
        "change it in the scenario instead",
    )


# ---------------------------------------------------------------------------- progress
def test_time_left_leaves_out_the_first_step(monkeypatch):
    """The first step takes 100 s (compiling), the others 1 s: time left counts 1 s per step."""
    import io

    import sim.cli

    clock = iter([0.0, 100.0, *[100.0 + k for k in range(1, 200)]])
    monkeypatch.setattr(sim.cli.time, "perf_counter", lambda: next(clock))
    stream = io.StringIO()
    report = _progress(stream)
    for step in range(1, 101):
        report(step, 100)
    lines = stream.getvalue().splitlines()
    assert "s left" not in lines[0] and "one-off" in lines[0]  # step 1: nothing to extrapolate yet
    at_10 = next(line for line in lines if "step 10/100" in line)
    assert "~90s left" in at_10  # 90 steps of 1 s, not 90 x 10.9 s
    assert lines[-1].endswith("done")


# ------------------------------------------------------------------------ summary.png
def _tidy(rows: list[tuple]) -> pd.DataFrame:
    """A tidy time series: t, metric, item, tier, role, route, specialty, value."""
    cols = ["t", "metric", "item", "tier", "role", "route", "specialty", "value"]
    frame = pd.DataFrame(rows, columns=cols)
    for c in ("item", "tier", "role", "route", "specialty"):
        frame[c] = frame[c].astype("string")
    return frame


def test_summary_png_scales_panels_and_draws_every_item(tmp_path):
    from analysis.plots import plot_run
    from sim.results import Results

    t = np.linspace(0, 30, 31)
    rows = []
    for item, top in (("g1", 0.9), ("g2", 0.3), ("g3", 0.05)):
        for tier in ("primary", "secondary", "tertiary"):
            for metric, share in (("p_aware", top), ("p_adopted", top / 2)):
                rows += [(x, metric, item, tier, None, None, None, share * x / 30) for x in t]
    for item, peak in (("rumor_a", 0.008), ("rumor_b", 0.004)):  # a 0.8% believer peak
        for metric, scale in (("n_believes", peak), ("n_corrected", peak / 2), ("n_doubts", peak / 4)):
            rows += [(x, metric, item, None, None, None, None, 1000 * scale * np.sin(np.pi * x / 30)) for x in t]
    res = Results(
        metrics={"n_clinicians": 1000}, timeseries=_tidy(rows), tables={}, manifest={"scenario": "plots", "seed": 1}
    )
    fig = plot_run(res, None)
    axes = fig.axes
    labels = [line.get_label() for ax in axes for line in ax.get_lines()]
    for item in ("g1", "g2", "g3", "rumor_a", "rumor_b"):
        assert any(item in label for label in labels), (item, labels)
    rumor_ax = next(ax for ax in axes if any("rumor_a" in ln.get_label() for ln in ax.get_lines()))
    low, high = rumor_ax.get_ylim()
    assert 0.008 <= high < 0.02 and low == 0  # scaled to the 0.8% peak, not 0-1
    for ax in axes:
        tops = [np.nanmax(ln.get_ydata()) for ln in ax.get_lines() if len(ln.get_ydata())]
        if tops:
            assert ax.get_ylim()[1] >= max(tops) and ax.get_ylim()[1] <= max(max(tops) * 1.3, 1e-9)
    fig.savefig(tmp_path / "summary.png")
    assert (tmp_path / "summary.png").stat().st_size > 0


def test_summary_png_of_a_run(small, tmp_path, capsys):
    scen = tmp_path / "items.toml"
    scen.write_text(SMALL + ITEMS + '[[information.items]]\nname = "g2"\nkind = "guideline"\nstart_day = 1\n')
    out = tmp_path / "o"
    code, _, err = _run(["run", str(scen), "--out", str(out), "--quiet"], capsys)
    assert code == 0, err
    assert (out / "summary.png").stat().st_size > 0


# ------------------------------------------------------------------ summaries and event times
def test_event_times_count_from_the_release(scenario_with, tmp_path, capsys):
    """A guideline released on day 2 to every clinician is 50% aware 0 days after its release
    (within the one step in which the seeds receive it), not 2 days after the start of the run."""
    err, manifest, res = _seeded_run(scenario_with, tmp_path, capsys, "start_day = 2\nseed_share = 1.0\n", days=3)
    step_days = 120 / (24 * 60)
    for tier in ("primary", "secondary", "tertiary"):
        assert 0 <= res.metrics[f"info_g1_t50_aware_{tier}"] < step_days, tier
    line = next(v for k, v in res.metrics.items() if k.startswith("summary_") and "days from release" in str(v))
    shown = [float(x) for x in re.findall(r"(?:tertiary|secondary|primary) ([0-9.]+) d", line)]
    assert len(shown) == 3 and all(x <= round(step_days, 1) for x in shown), line


def test_answering_time_per_week_is_never_shown_as_zero_hours():
    """The province summary read "0.0 h/week" for experts who answered 13.6 requests in a year."""
    from sim.processes.diagnosis.outputs import _per_week

    assert _per_week(13.6 * 10 / 60 / 52) == "2.6 min/week"  # 13.6 answers of 10 min in 52 weeks
    assert _per_week(13.6) == "13.6 h/week"
    assert _per_week(None) == "n/a"


# ---------------------------------------------------------------------------- validate
def test_validate_explains_its_columns_and_ends_with_a_summary(monkeypatch, capsys):
    """Every column and each case's statistic are explained; the last line counts passes and failures."""
    import io

    from sim.validation import CASES, Case, run_cases

    def case(name: str, expected: float) -> Case:
        return Case(
            name=name,
            scenario="_one_group.toml",
            expected=lambda scen: expected,
            statistic=lambda model: float(model.pop.n),  # type: ignore[attr-defined]
            approx=lambda scen: 0.0,
            replicates=2,
            description=f"clinicians in the population ({name})",
        )

    monkeypatch.setitem(CASES, "fake_pass", case("fake_pass", 500.0))
    monkeypatch.setitem(CASES, "fake_fail", case("fake_fail", 499.0))
    out = io.StringIO()
    ok = run_cases(["fake_pass", "fake_fail"], ["run.duration_days=1"], out=out)
    text = out.getvalue()
    assert not ok
    for column in ("expected", "simulated", "approx", "result"):
        assert any(line.startswith(column) for line in text.splitlines()), column
    assert "statistic: clinicians in the population (fake_pass)" in text
    assert text.strip().splitlines()[-1].startswith("validate: 1 of 2 case(s) passed; FAILED: fake_fail")
