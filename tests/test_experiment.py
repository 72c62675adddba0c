"""Intervention comparisons: paired seeds, parallel runs, clear errors."""

import pandas as pd
import pytest

from sim.cli import main
from sim.experiment import compare_arms, load_experiment, run_experiment
from sim.schema import ScenarioError

from .conftest import ROOT

EXP = """
scenario = "{scenario}"
seed = 5
replicates = 3
set = ["run.duration_days=6", "run.step_minutes=120", "diagnosis.enabled=false"]
metrics = ["info_rumor_believer_days"]

[arms.baseline]
[arms.same]
set = ["run.description=identical dynamics"]
[arms.moderated]
set = ["information.moderation.enabled=true", "information.moderation.notice_prob=1.0"]
"""


@pytest.fixture
def exp_file(tmp_path):
    path = tmp_path / "e.toml"
    path.write_text(EXP.format(scenario=ROOT / "scenarios" / "classroom.toml"))
    return path


def test_paired_arms_and_parallel_runs_agree(exp_file):
    cfg, scen = load_experiment(exp_file)
    serial, _ = run_experiment(cfg, scen, jobs=1)
    parallel, ts = run_experiment(cfg, scen, jobs=2)
    pd.testing.assert_frame_equal(serial, parallel)
    assert set(ts["arm"]) == {"baseline", "same", "moderated"}
    # replicate k of every arm shares its seed
    assert (serial.groupby("replicate")["seed"].nunique() == 1).all()
    table = compare_arms(serial, ["info_rumor_believer_days"])
    same = table[table["arm"] == "same"].iloc[0]
    assert same["diff_mean"] == 0 and same["diff_low"] == 0 and same["diff_high"] == 0
    mod = table[table["arm"] == "moderated"].iloc[0]
    assert mod["diff_low"] <= mod["diff_mean"] <= mod["diff_high"]


def test_experiment_command_writes_results(exp_file, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["experiment", str(exp_file), "--out", str(out), "--quiet"]) == 0
    assert {"runs.parquet", "timeseries.parquet", "comparison.csv", "comparison.png", "manifest.json",
            "scenario.toml", "experiment.toml"} <= {p.name for p in out.iterdir()}
    assert "moderated" in capsys.readouterr().out
    assert main(["experiment", str(exp_file), "--out", str(out), "--quiet"]) == 2     # not overwritten


@pytest.mark.parametrize("text,match", [
    ('scenario = "x.toml"\n[arms.a]\n', "at least two arms"),
    ('scenario = "{scenario}"\n[arms.a]\n[arms.b]\nset = ["run.bogus=1"]\n', "arm 'b'"),
    ('scenario = "{scenario}"\nreplicates = 1\n[arms.a]\n[arms.b]\n', "replicates"),
])
def test_bad_experiment_files(tmp_path, text, match):
    path = tmp_path / "bad.toml"
    path.write_text(text.format(scenario=ROOT / "scenarios" / "classroom.toml"))
    with pytest.raises(ScenarioError, match=match):
        load_experiment(path)


def test_shipped_experiments_load():
    for path in sorted((ROOT / "experiments").glob("*.toml")):
        cfg, scen = load_experiment(path)
        assert len(cfg.arms) >= 2 and scen.exists()
