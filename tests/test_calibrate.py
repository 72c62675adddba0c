"""Calibration machinery: statistics, targets and their pass rule, the calibration file, ABC-SMC
recovering a known parameter from model-generated data, and ``qunsim calibrate --check``."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.calibrate.statistics import STATISTICS, RunView, compute
from sim.calibrate.targets import TARGETS_FILE, judge, load_targets, parse_target
from sim.schema import ScenarioError

ROOT = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------ statistics
def test_statistics_read_metrics_and_say_nan_when_a_run_cannot_tell():
    m = {
        "dx_group_first_answer_median_minutes": 60.0,
        "dx_contact_first_answer_median_minutes": 120.0,
        "info_g_p_aware_primary": 0.9,
        "info_g_t50_aware_tertiary": 1.0,
        "info_g_t50_aware_secondary": 2.0,
        "info_g_t50_aware_primary": None,  # never reached half: counted as last
        "info_r_p_ever_believed": 0.10,
        "info_r_p_final_believers": 0.05,
    }
    run = RunView(m)
    assert compute("group_first_answer_median_minutes", run) == 60.0
    assert compute("group_vs_direct_first_answer_ratio", run) == 0.5
    assert compute("p_aware", run, {"item": "g", "tier": "primary"}) == 0.9
    assert math.isnan(compute("p_adopted", run, {"item": "g", "tier": "primary"}))  # missing metric
    assert compute("tier_order_aware", run, {"item": "g"}) == 1.0
    m["info_g_t50_aware_secondary"] = 0.5  # secondary before tertiary
    assert compute("tier_order_aware", run, {"item": "g"}) == 0.0
    # probit shift: 10% ever -> 5% still believing is Phi^-1(0.95) - Phi^-1(0.90)
    assert compute("correction_effect_d", run, {"item": "r"}) == pytest.approx(1.6448536 - 1.2815516, abs=1e-6)
    m["info_r_p_final_believers"] = 0.10
    assert compute("correction_effect_d", run, {"item": "r"}) == pytest.approx(0.0, abs=1e-12)
    m["info_r_p_final_believers"] = 0.0
    assert compute("correction_effect_d", run, {"item": "r"}) == math.inf
    m["info_r_p_ever_believed"] = 0.0
    assert math.isnan(compute("correction_effect_d", run, {"item": "r"}))


def test_reshare_ratio_is_the_ratio_of_the_shares_who_reshared():
    run = RunView({"info_f_p_shared_of_heard": 0.4, "info_t_p_shared_of_heard": 0.1})
    assert compute("reshare_ratio", run, {"false_item": "f", "true_item": "t"}) == pytest.approx(4.0)
    run.metrics["info_t_p_shared_of_heard"] = 0.0  # nobody reshared the true item: no ratio
    assert math.isnan(compute("reshare_ratio", run, {"false_item": "f", "true_item": "t"}))
    assert math.isnan(compute("reshare_ratio", RunView({}), {"false_item": "f", "true_item": "t"}))


def test_share_who_reshared_counts_every_poster_and_sender_among_those_who_heard():
    """The metric against the event log of the same run: distinct senders of posts and
    direct messages of the item, over the clinicians who heard it."""
    import sim

    scen = sim.load_scenario("classroom", ["run.duration_days=6"])
    res = sim.run(scen, seed=3)
    ev = res.tables["events"]
    states = res.tables["item_states"]
    for item in ("guideline", "rumor"):
        j = list(states["item"].unique()).index(item)
        senders = ev.loc[(ev["item"] == j) & ev["kind"].isin(["post", "direct", "article", "pinned"]), "sender"]
        heard = states.loc[(states["item"] == item) & states["t_first"].notna(), "clinician"]
        want = senders.drop_duplicates().isin(set(heard)).sum() / len(heard)
        assert want > 0
        assert res.metrics[f"info_{item}_p_shared_of_heard"] == pytest.approx(want)


def test_two_arm_statistics_compare_a_run_with_its_comparison_arm():
    from scipy.stats import norm

    arm = RunView({"x": 0.2, "ttd": 90.0})
    versus = RunView({"x": 0.4, "ttd": 100.0})
    assert compute("ratio_vs", arm, {"metric": "ttd"}, versus) == pytest.approx(0.9)
    # Phi^-1(0.4) - Phi^-1(0.2): the latent shift that takes 40% believing to 20%
    want = norm.ppf(0.4) - norm.ppf(0.2)
    assert compute("probit_shift_vs", arm, {"metric": "x"}, versus) == pytest.approx(want)
    assert want == pytest.approx(0.588, abs=1e-3)
    assert compute("probit_shift_vs", RunView({"x": 0.0}), {"metric": "x"}, versus) == math.inf
    assert math.isnan(compute("probit_shift_vs", arm, {"metric": "x"}, RunView({"x": 0.0})))
    assert math.isnan(compute("ratio_vs", arm, {"metric": "ttd"}, RunView({"ttd": 0.0})))
    assert STATISTICS["ratio_vs"].arms == 2 and STATISTICS["p_aware"].arms == 1
    with pytest.raises(ValueError, match="compares two runs"):
        compute("ratio_vs", arm, {"metric": "ttd"})


def _series(rows: list[tuple[float, float]]) -> pd.DataFrame:
    """A tidy time series of the rumor's believers (all tiers) and, as a decoy, of one tier."""
    out = []
    for t, n in rows:
        out.append({"t": t, "metric": "n_believes", "item": "rumor", "tier": None, "role": None, "value": n})
        out.append({"t": t, "metric": "n_believes", "item": "rumor", "tier": "primary", "role": None, "value": 1.0})
    return pd.DataFrame(out)


def test_believers_shift_reads_both_arms_a_fixed_time_after_the_first_correction():
    from scipy.stats import norm

    # the rumor starts on day 10, its first correction comes 2 days later: read at day 12 + 5 = 17
    metrics = {"n_clinicians": 100, "info_rumor_start_day": 10.0, "info_rumor_t_first_correction": 2.0}
    arm = RunView(metrics, _series([(15.0, 50.0), (17.0, 20.0), (20.0, 5.0)]))
    versus = RunView({"n_clinicians": 100}, _series([(15.0, 60.0), (16.5, 40.0), (18.0, 30.0), (20.0, 25.0)]))
    args = {"item": "rumor", "days": 5}
    assert compute("believers_shift_vs", arm, args, versus) == pytest.approx(norm.ppf(0.4) - norm.ppf(0.2))
    # past the end of either run, or with no correction: undefined
    assert math.isnan(compute("believers_shift_vs", arm, {"item": "rumor", "days": 9}, versus))
    no_correction = RunView({**metrics, "info_rumor_t_first_correction": None}, arm.timeseries)
    assert math.isnan(compute("believers_shift_vs", no_correction, args, versus))
    gone = RunView(metrics, _series([(15.0, 50.0), (17.0, 0.0), (20.0, 0.0)]))
    assert compute("believers_shift_vs", gone, args, versus) == math.inf
    assert STATISTICS["believers_shift_vs"].needs == "timeseries"


def test_occurs_marks_a_pattern_that_happened():
    assert compute("occurs", RunView({"m": 0.013}), {"name": "m"}) == 1.0
    assert compute("occurs", RunView({"m": 0.0}), {"name": "m"}) == 0.0
    assert math.isnan(compute("occurs", RunView({"m": None}), {"name": "m"}))


def test_answers_from_abroad_are_counted_per_answered_group_request():
    """dx_group_p_answered_abroad from the answers table: requests with an answer by a clinician
    at a facility abroad, of the answered group requests."""
    import sim

    res = sim.run(sim.load_scenario("guangdong_study", ["run.duration_days=20"]), seed=1)
    agents, facilities, answers = res.tables["agents"], res.tables["facilities"], res.tables["answers"]
    abroad_facilities = set(facilities.loc[facilities["abroad"].astype(bool), "facility"])
    abroad_ids = set(agents.loc[agents["facility"].isin(abroad_facilities), "clinician"])
    group = answers[answers["route"] == "group"]
    answered = group["request"].nunique()
    from_abroad = group.loc[group["expert"].isin(abroad_ids), "request"].nunique()
    assert answered > 100 and from_abroad > 0
    assert res.metrics["dx_group_p_answered_abroad"] == pytest.approx(from_abroad / answered)
    assert res.metrics["dx_p_answers_abroad"] == pytest.approx(answers["expert"].isin(abroad_ids).mean())


def test_versus_goes_with_two_arm_statistics_only():
    raw = {"statistic": "ratio_vs", "args": {"metric": "m"}, "observed": 1, "sd": 0.1}
    with pytest.raises(ScenarioError, match=r"targets.x.versus: statistic 'ratio_vs' compares two runs"):
        parse_target("x", raw, "f")
    t = parse_target("x", {**raw, "versus": ["diagnosis.groups=false"]}, "f")
    assert t.versus == ("diagnosis.groups=false",)
    with pytest.raises(ScenarioError, match="versus is for two-arm statistics"):
        parse_target("y", {"statistic": "metric", "observed": 1, "sd": 1, "versus": ["a=1"]}, "f")


def test_check_pairs_each_replicate_with_the_comparison_arm_of_the_same_seed():
    """A two-arm target of a run against itself under a setting that changes nothing is 1 in
    every replicate only if replicate r is paired with replicate r of the same seed."""
    from sim.calibrate.check import check_targets
    from sim.experiments.executors import SerialExecutor

    common = {"scenario": "classroom", "set": ["run.duration_days=4"]}
    targets = {
        "same": parse_target(
            "same",
            {
                **common,
                "statistic": "ratio_vs",
                "args": {"metric": "info_guideline_p_aware"},
                "versus": ["diagnosis.answer_cap_per_day=0"],  # the default: the same run
                "observed": 1.0,
                "sd": 1e-9,
            },
            "f",
        ),
        "aware": parse_target(
            "aware", {**common, "statistic": "metric", "args": {"name": "info_guideline_p_aware"}, "lower": 0.0}, "f"
        ),
    }
    rows = check_targets(targets, SerialExecutor(), replicates=3, seed=4)
    same, aware = rows
    assert same.n == 3 and same.mean == pytest.approx(1.0, abs=1e-12) and same.passed
    assert aware.n == 3 and aware.low < aware.high  # the seeds differ: the replicates are not copies


def test_statistics_on_a_real_run_are_the_metrics_they_name():
    import sim

    scen = sim.load_scenario("classroom", ["run.duration_days=3"])
    res = sim.run(scen, seed=1)
    got = compute("p_aware", res, {"item": "guideline", "tier": "primary"})
    assert got == res.metrics["info_guideline_p_aware_primary"]


def test_information_outcomes_do_not_depend_on_diagnosis_being_on():
    """The Guangdong calibration switches diagnosis and costs off to save time: that is exact
    only if they never feed back into the information process (and its random stream)."""
    import sim

    on = sim.run(sim.load_scenario("classroom", ["run.duration_days=12"]), seed=2)
    off = sim.run(
        sim.load_scenario("classroom", ["run.duration_days=12", "diagnosis.enabled=false", "cost.enabled=false"]),
        seed=2,
    )
    info = sorted(k for k in on.metrics if k.startswith("info_"))
    assert len(info) > 50 and on.metrics["dx_cases"] > 0 and "dx_cases" not in off.metrics
    assert {k: on.metrics[k] for k in info} == {k: off.metrics.get(k) for k in info}
    # and so is the time series of every item's states (believers are read from it by believers_shift_vs)
    items = [ts[ts["item"].notna()].reset_index(drop=True) for ts in (on.timeseries, off.timeseries)]
    assert len(items[0]) > 400 and set(items[0]["metric"]) >= {"n_believes", "n_aware", "n_adopted"}
    pd.testing.assert_frame_equal(items[0], items[1])


# ------------------------------------------------------------------ targets
def test_shipped_targets_load_and_quote_their_sources():
    targets = load_targets()
    assert TARGETS_FILE.is_file() and (ROOT / "calibration" / "targets.toml").resolve() == TARGETS_FILE
    for need in ("carmona_median_first_answer", "carmona_p_within_hour", "zeng_primary_use", "walter_correction_d"):
        assert need in targets
    for t in targets.values():
        assert t.source and t.quote and t.mapping and t.scenario, t.id
        assert t.statistic in STATISTICS
    assert targets["carmona_median_first_answer"].observed == 52.0


def test_bad_targets_are_refused_naming_the_field():
    with pytest.raises(ScenarioError, match=r"targets.x.statistic"):
        parse_target("x", {"statistic": "nope", "observed": 1, "sd": 1}, "f")
    with pytest.raises(ScenarioError, match="either observed and sd"):
        parse_target("x", {"statistic": "metric", "observed": 1, "sd": 1, "upper": 2}, "f")
    with pytest.raises(ScenarioError, match=r"sd: 0 must be above 0"):
        parse_target("x", {"statistic": "metric", "observed": 1, "sd": 0}, "f")
    with pytest.raises(ScenarioError, match="unknown key"):
        parse_target("x", {"statistic": "metric", "observed": 1, "sd": 1, "obsreved": 2}, "f")


def test_judge_combines_observation_and_monte_carlo_error():
    t = parse_target("x", {"statistic": "metric", "observed": 10.0, "sd": 1.0}, "f")
    # mean 11, se 0: |11 - 10| = 1 <= 1.96 -> pass; mean 12.5 -> miss
    assert judge(t, [11.0, 11.0]).passed
    assert not judge(t, [12.5, 12.5]).passed
    j = judge(t, [11.0, 13.0])  # mean 12, se 1, combined sqrt(2): 2 <= 2.77 -> pass
    assert j.passed and j.mean == 12.0 and j.low < 12.0 < j.high
    assert not judge(t, [11.0, float("nan")]).passed  # a replicate that cannot tell is a miss
    b = parse_target("y", {"statistic": "metric", "upper": 24.0}, "f")
    assert judge(b, [20.0, 22.0]).passed and not judge(b, [30.0, 22.0]).passed


# ------------------------------------------------------------------ calibration file
def _calibration_file(tmp_path: Path, observed: float, sd: float, generations: int, pop: int = 24) -> Path:
    text = f"""
scenario = "{ROOT / "scenarios" / "validation" / "reed_frost.toml"}"
set = ["run.stop_when_idle=true", "population.n_clinicians=300"]
seed = 5
replicates = 2
[targets.final_size]
statistic = "metric"
args = {{ name = "info_message_p_heard" }}
observed = {observed!r}
sd = {sd!r}
[abc]
population_size = {pop}
generations = {generations}
[parameters.p]
setting = "information.items.0.notice_prob"
range = [0.001, 0.012]
"""
    path = tmp_path / "recovery.toml"
    path.write_text(text)
    return path


def test_calibration_file_errors_name_the_field(tmp_path):
    from sim.calibrate.spec import load_calibration

    path = _calibration_file(tmp_path, 0.5, 0.1, 2)
    spec = load_calibration(path)
    assert [p.name for p in spec.parameters] == ["p"] and list(spec.targets) == ["final_size"]
    bad = path.read_text().replace('setting = "information.items.0.notice_prob"', 'setting = "information.nope"')
    path.write_text(bad)
    with pytest.raises(ScenarioError, match="nope"):
        load_calibration(path)
    path.write_text(bad.replace("range = [0.001, 0.012]", "range = [0.02, 0.01]"))
    with pytest.raises(ScenarioError, match=r"parameters.p.range"):
        load_calibration(path)


@pytest.mark.slow
def test_calibrate_command_writes_the_report_at_the_chosen_point(tmp_path):
    """`qunsim calibrate FILE`: the posterior, the report with its figures, and calibrated.toml
    at the point [abc] point names (here the last generation's particle nearest the targets)."""
    import tomllib

    import pandas as pd

    from sim.cli import main

    path = _calibration_file(tmp_path, 0.7, 0.05, generations=2, pop=8)
    path.write_text(path.read_text().replace("generations = 2", 'generations = 2\npoint = "closest"'))
    out = tmp_path / "cal"
    assert main(["calibrate", str(path), "--out", str(out), "--quiet"]) == 0
    for name in ("posterior.csv", "report.md", "targets.csv", "targets.png", "posterior.png", "calibrated.toml"):
        assert (out / name).is_file(), name
    report = (out / "report.md").read_text()
    assert "the last generation's particle nearest the targets" in report
    p = tomllib.loads((out / "calibrated.toml").read_text())["information"]["items"][0]["notice_prob"]
    assert f"p = {p:.4g}" in report
    posterior = pd.read_csv(out / "posterior.csv")
    assert np.isclose(posterior["p"], p).any()  # a particle of the final generation, not a summary
    rows = pd.read_csv(out / "targets.csv")
    assert list(rows["target"]) == ["final_size"] and rows["runs"].iloc[0] == 2


# ------------------------------------------------------------------ recovery
@pytest.mark.slow
def test_abc_recovers_a_known_parameter_from_model_generated_data(tmp_path):
    """Reed-Frost in one group of 300: the copy probability p fixes R0 = p (N - 1) and the final size.

    Data: the mean final size of 8 runs at p* = 0.006 (R0 ~ 1.8); its uncertainty is the
    runs' own spread (the sd of one run), since ABC compares one simulation per particle.
    The 95% posterior interval must cover p*, and the posterior must be narrower than the
    prior (the statistic identifies p). Seeds fixed: the same posterior every time.
    """
    import sim
    from sim.calibrate.abc import calibrate
    from sim.calibrate.report import identification
    from sim.calibrate.spec import load_calibration
    from sim.experiments.executors import SerialExecutor

    truth = 0.006
    base = ROOT / "scenarios" / "validation" / "reed_frost.toml"
    sets = ["run.stop_when_idle=true", "population.n_clinicians=300", f"information.items.0.notice_prob={truth}"]
    scen = sim.load_scenario(base, sets)
    data = np.array([sim.run(scen, seed=1000 + k).metrics["info_message_p_heard"] for k in range(8)])
    sd = max(float(data.std(ddof=1)), 0.02)
    path = _calibration_file(tmp_path, float(data.mean()), sd, generations=3)
    spec = load_calibration(path)
    res = calibrate(spec, tmp_path / "out", SerialExecutor(), log=lambda m: None)
    ident = identification(spec, res.posterior).iloc[0]
    assert ident["low95"] <= truth <= ident["high95"], ident.to_dict()
    assert ident["sd_over_prior_sd"] < 0.5, ident.to_dict()
    assert (tmp_path / "out" / "posterior.csv").is_file()
    # resumable: a second call on the same folder finds every generation and simulation on disk
    again = calibrate(spec, tmp_path / "out", SerialExecutor(), resume=True, log=lambda m: None)
    assert again.simulations == res.simulations
    assert np.allclose(again.posterior["p"], res.posterior["p"])


@pytest.mark.slow
def test_an_interrupted_calibration_resumes_to_the_uninterrupted_posterior(tmp_path):
    """Two generations, then a third by --resume, equal three generations in one go (same seeds)."""
    from sim.calibrate.abc import calibrate
    from sim.calibrate.spec import load_calibration
    from sim.experiments.executors import SerialExecutor

    spec3 = load_calibration(_calibration_file(tmp_path, 0.7, 0.05, generations=3, pop=12))
    whole = calibrate(spec3, tmp_path / "whole", SerialExecutor(), log=lambda m: None)
    spec2 = load_calibration(_calibration_file(tmp_path, 0.7, 0.05, generations=2, pop=12))
    calibrate(spec2, tmp_path / "split", SerialExecutor(), log=lambda m: None)
    resumed = calibrate(spec3, tmp_path / "split", SerialExecutor(), resume=True, log=lambda m: None)
    assert resumed.generations == whole.generations == 3
    assert np.allclose(np.sort(resumed.posterior["p"]), np.sort(whole.posterior["p"]))


# ------------------------------------------------------------------ --check
@pytest.mark.slow
def test_check_prints_a_well_formed_table_and_exits_by_its_pass_column():
    ids = ["carmona_p_within_hour", "tso_specimens_within_hours"]
    cmd = [sys.executable, "-m", "sim.cli", "calibrate", "--check", "--replicates", "2", "--quiet"]
    cmd += ["--scenario", "consult_group", "--scenario", "guangdong_study"]  # not the province's year-long runs
    for t in ids:
        cmd += ["--target", t]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=1200)
    assert proc.returncode in (0, 1), proc.stderr
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("|")]
    assert lines[0].startswith("| target | scenario | observed | simulated")
    assert lines[1] == "|---|---|---|---|---|---|"
    body = lines[2:]
    assert [ln.split("|")[1].strip() for ln in body] == ids
    passes = []
    for ln in body:
        cells = [c.strip() for c in ln.strip("|").split("|")]
        assert len(cells) == 6
        assert re.fullmatch(r"(n/a|[-+0-9.e]+|inf) \[(n/a|[-+0-9.e]+), (n/a|[-+0-9.e]+)\]", cells[3]), cells[3]
        assert cells[4] in ("0", "1", "2")  # replicates whose statistic is defined
        assert cells[5] in ("yes", "NO")
        passes.append(cells[5] == "yes")
    assert f"{sum(passes)} of {len(ids)} targets pass" in proc.stdout
    assert proc.returncode == (0 if all(passes) else 1)


def _check_passes(scenarios: list[str], replicates: int) -> None:
    cmd = [sys.executable, "-m", "sim.cli", "calibrate", "--check", "--jobs", "2", "--quiet"]
    cmd += ["--replicates", str(replicates)] + [a for s in scenarios for a in ("--scenario", s)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=1800)
    n = len([1 for t in load_targets().values() for s in t.scenarios if s in scenarios])
    assert n >= 8, n
    assert f"{n} of {n} targets pass" in proc.stdout, proc.stdout + proc.stderr
    assert proc.returncode == 0


@pytest.mark.slow
def test_the_shipped_scenarios_pass_every_target():
    """Issue #14's floor: `qunsim calibrate --check` passes every target on the consult group and
    the Guangdong study (seeds 0-3, the default). A miss prints the table: the test shows it."""
    _check_passes(["consult_group", "guangdong_study"], replicates=4)


@pytest.mark.slow
def test_the_province_passes_every_target():
    """The same on the province, with two replicates (seeds 0-1): one is three year-long runs of
    60,000 clinicians, and four would take the suite past its time (docs/calibration.md has the
    four-replicate table). Fewer replicates widen the Monte Carlo term of the pass rule."""
    _check_passes(["province"], replicates=2)


def test_every_target_applies_to_a_checked_scenario():
    """The two tests above cover every target on every scenario it names."""
    assert {s for t in load_targets().values() for s in t.scenarios} == {"consult_group", "guangdong_study", "province"}


def test_calibrate_command_refuses_bad_input_with_exit_2(tmp_path):
    from sim.cli import main

    assert main(["calibrate"]) == 2  # neither a file nor --check
    assert main(["calibrate", "--check", "--target", "no_such_target"]) == 2
    assert main(["calibrate", "--check", "--replicates", "1"]) == 2
    bad = tmp_path / "bad.toml"
    bad.write_text('scenario = "classroom"\ntargets = ["carmona_p_within_hour"]\n')
    assert main(["calibrate", str(bad), "--out", str(tmp_path / "o")]) == 2  # no parameters


def test_shipped_calibration_files_load():
    from sim.calibrate.spec import load_calibration

    data = {"targets.toml", "provenance.toml"}  # the targets and the settings' bases, not calibration files
    files = sorted(p for p in (ROOT / "calibration").glob("*.toml") if p.name not in data)
    assert {p.stem for p in files} >= {"consult_group_answers", "reed_frost_recovery"}
    for path in files:
        spec = load_calibration(path)
        assert spec.parameters and spec.targets
