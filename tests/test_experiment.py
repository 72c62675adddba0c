"""Intervention comparisons: the first arm is the baseline, file order everywhere, statistics a
reviewer accepts, failures recorded, provenance, progress, and bad input refused before any run."""

from __future__ import annotations

import io
import json
import tomllib

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.cli import main
from sim.experiments import (
    compare_arms,
    folder_status,
    load_experiment,
    plot_comparison,
    run_experiment,
    takeoff_table,
    wilson_interval,
)
from sim.experiments.core import Progress
from sim.experiments.stats import conditional_outcomes, regime_note
from sim.schema import ScenarioError

from .conftest import ROOT

CLASSROOM = ROOT / "scenarios" / "classroom.toml"

# arm names sort the other way round from the file: the baseline is zz_baseline
EXP = """
scenario = "{scenario}"
seed = 5
replicates = 3
set = ["run.duration_days=6", "run.step_minutes=120", "diagnosis.enabled=false"]
metrics = ["info_rumor_believer_days", "info_rumor_p_ever_believed"]

[takeoff]
metric = "info_rumor_p_ever_believed"
threshold = 0.3

[arms.zz_baseline]
[arms.mm_same]
set = ["run.description=identical dynamics"]
[arms.aa_moderated]
set = ["information.moderation.enabled=true", "information.moderation.notice_prob=1.0"]
"""
ARMS = ["zz_baseline", "mm_same", "aa_moderated"]


@pytest.fixture
def exp_file(tmp_path):
    path = tmp_path / "e.toml"
    path.write_text(EXP.format(scenario=CLASSROOM))
    return path


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """One experiment run through the command line (serial), shared by the tests that read it."""
    tmp = tmp_path_factory.mktemp("exp")
    path = tmp / "e.toml"
    path.write_text(EXP.format(scenario=CLASSROOM))
    out = tmp / "out"
    assert main(["experiment", str(path), "--out", str(out), "--quiet"]) == 0
    return path, out


def test_baseline_is_the_first_arm_and_file_order_is_kept(finished):
    _, out = finished
    runs = pd.read_parquet(out / "runs.parquet")
    assert list(dict.fromkeys(runs["arm"])) == ARMS
    table = pd.read_csv(out / "comparison.csv")
    for metric in ["info_rumor_believer_days", "info_rumor_p_ever_believed"]:
        sub = table[table["metric"] == metric]
        assert sub["arm"].tolist() == ARMS
        assert (sub["baseline"] == "zz_baseline").all()
        base = sub[sub["arm"] == "zz_baseline"].iloc[0]
        assert np.isnan(base["diff_low"]) and base["diff_mean"] == 0
        same = sub[sub["arm"] == "mm_same"].iloc[0]  # identical dynamics: exactly zero, zero-width
        assert same["diff_mean"] == 0 and same["diff_low"] == 0 and same["diff_high"] == 0
        # the paired difference is the mean of per-replicate differences against zz_baseline
        wide = runs.pivot(index="replicate", columns="arm", values=metric)
        mod = sub[sub["arm"] == "aa_moderated"].iloc[0]
        assert mod["diff_mean"] == pytest.approx((wide["aa_moderated"] - wide["zz_baseline"]).mean())
        assert mod["diff_low"] <= mod["diff_mean"] <= mod["diff_high"]
    takeoff = pd.read_csv(out / "takeoff.csv")
    assert takeoff["arm"].tolist() == ARMS
    # replicate k of every arm shares its seed
    assert (runs.groupby("replicate")["seed"].nunique() == 1).all()
    assert runs.groupby("arm", sort=False)["seed"].apply(list).map(tuple).nunique() == 1


def test_figure_shows_the_paired_differences_in_file_order_deterministically(finished, tmp_path):
    _, out = finished
    table = pd.read_csv(out / "comparison.csv")
    takeoff = pd.read_csv(out / "takeoff.csv")
    metrics = ["info_rumor_believer_days", "info_rumor_p_ever_believed"]
    fig = plot_comparison(table, metrics, takeoff=takeoff)
    for ax, metric in zip(fig.axes, metrics, strict=False):
        # top to bottom: the arms after the baseline, in file order
        height = {t.get_text(): y for t, y in zip(ax.get_yticklabels(), ax.get_yticks(), strict=True)}
        assert set(height) == {"mm_same", "aa_moderated"} and height["mm_same"] > height["aa_moderated"]
        data_line, _, (bars,) = ax.containers[0].lines  # markers at the paired mean differences
        want = table[(table["metric"] == metric) & (table["arm"] != "zz_baseline")]
        np.testing.assert_allclose(data_line.get_xdata(), want["diff_mean"])
        # the bars span the bootstrap intervals of comparison.csv
        spans = np.array([seg[:, 0] for seg in bars.get_segments()])
        np.testing.assert_allclose(spans, want[["diff_low", "diff_high"]].to_numpy(), atol=1e-12)
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    plot_comparison(table, metrics, a, takeoff=takeoff)
    plot_comparison(table, metrics, b, takeoff=takeoff)
    assert a.read_bytes() == b.read_bytes() == (out / "comparison.png").read_bytes()


def test_in_memory_runs_agree_with_the_folder(finished):
    path, out = finished
    cfg, scen = load_experiment(path)
    runs, ts = run_experiment(cfg, scen)
    pd.testing.assert_frame_equal(runs, pd.read_parquet(out / "runs.parquet"))
    pd.testing.assert_frame_equal(ts, pd.read_parquet(out / "timeseries.parquet"))
    assert list(dict.fromkeys(ts["arm"])) == ARMS
    again = compare_arms(runs, cfg.metrics, seed=cfg.seed, arms=list(cfg.arms))
    pd.testing.assert_frame_equal(
        again, pd.read_csv(out / "comparison.csv").drop(columns="summary"), check_dtype=False, rtol=1e-12
    )


def test_manifest_holds_the_provenance(finished):
    _, out = finished
    m = json.loads((out / "manifest.json").read_text())
    from sim import __version__

    assert m["qunsim_version"] == __version__
    assert "git_commit" in m and m["python"].count(".") == 2
    assert {"numpy", "scipy", "pandas", "pyarrow", "numba", "SALib", "dask"} <= set(m["packages"])
    assert m["started_utc"] <= m["finished_utc"]
    (session,) = m["sessions"]
    assert session["executor"]["kind"] == "serial" and session["runs_done"] == 9
    assert session["code"] == {"qunsim_version": __version__, "git_commit": m["git_commit"]}
    assert list(m["arms"]) == ARMS and m["baseline"] == "zz_baseline"
    for arm in ARMS:  # every arm's resolved scenario
        resolved = tomllib.loads(m["arms"][arm]["scenario"])
        assert resolved["run"]["duration_days"] == 6
    assert tomllib.loads(m["arms"]["aa_moderated"]["scenario"])["information"]["moderation"]["enabled"] is True
    assert tomllib.loads(m["arms"]["zz_baseline"]["scenario"])["information"]["moderation"]["enabled"] is False


def test_status_of_a_finished_folder(finished, capsys):
    _, out = finished
    st = folder_status(out)
    assert st["planned"] == 9 and st["done"] == 9 and not st["failed"] and not st["missing"] and st["complete"]
    assert main(["experiment", "--status", str(out)]) == 0
    text = capsys.readouterr().out
    assert "9 planned, 9 done, 0 failed, 0 missing" in text and "complete" in text


def test_a_run_that_raises_is_recorded_and_the_others_go_on(exp_file, tmp_path, monkeypatch, capsys):
    import sim.runner

    real = sim.runner.run
    cfg, _ = load_experiment(exp_file)
    from sim.rng import replicate_seeds

    bad_seed = replicate_seeds(cfg.seed, cfg.replicates)[1]

    def flaky(scenario, seed=None, progress=None):
        if seed == bad_seed and scenario.information.moderation.enabled:
            raise RuntimeError("disk quota of the model exceeded")
        return real(scenario, seed=seed, progress=progress)

    monkeypatch.setattr(sim.runner, "run", flaky)
    out = tmp_path / "out"
    assert main(["experiment", str(exp_file), "--out", str(out), "--quiet"]) == 1
    captured = capsys.readouterr()
    assert "1 of 9 runs failed" in captured.err and "aa_moderated r1" in captured.err
    logs = list((out / "failures").glob("*.log"))
    assert len(logs) == 1 and "RuntimeError: disk quota of the model exceeded" in logs[0].read_text()
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == 8 and not ((runs["arm"] == "aa_moderated") & (runs["replicate"] == 1)).any()
    table = pd.read_csv(out / "comparison.csv")
    assert table[table["arm"] == "aa_moderated"]["n_pairs"].tolist() == [2, 2]
    st = folder_status(out)
    assert st["failed"] == ["aa_moderated r1"] and st["done"] == 8 and not st["complete"]
    # fixed, a resume runs that one run only and the log goes away
    monkeypatch.setattr(sim.runner, "run", real)
    assert main(["experiment", str(exp_file), "--out", str(out), "--quiet", "--resume"]) == 0
    m = json.loads((out / "manifest.json").read_text())
    assert [s["runs_done"] for s in m["sessions"]] == [8, 1]
    assert not list((out / "failures").glob("*.log"))
    assert len(pd.read_parquet(out / "runs.parquet")) == 9


def test_overwrite_empties_the_folder_and_temporaries_never_block(exp_file, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".comparison.csv.4242.tmp").write_text("half written")
    (out / ".runs.parquet.tmp").write_text("")
    # a folder holding only temporary files of a killed write counts as empty
    assert main(["experiment", str(exp_file), "--out", str(out), "--quiet", "--replicates", "2"]) == 0
    assert not list(out.glob("*.tmp")) and not list(out.rglob(".*.tmp"))
    (out / "stale_events.parquet").write_text("old")
    (out / "parts" / "0123456789abcdef0123.json").write_text("{}")
    assert main(["experiment", str(exp_file), "--out", str(out), "--quiet"]) == 2  # not without a flag
    assert main(["experiment", str(exp_file), "--out", str(out), "--quiet", "--overwrite"]) == 0
    assert not (out / "stale_events.parquet").exists()
    assert not (out / "parts" / "0123456789abcdef0123.json").exists()
    assert len(list((out / "parts").glob("*.json"))) == 9
    assert len(pd.read_parquet(out / "runs.parquet")) == 9


def test_overwrite_refuses_a_folder_that_is_not_a_qunsim_folder(exp_file, tmp_path, capsys):
    mine = tmp_path / "thesis"
    mine.mkdir()
    (mine / "chapter1.tex").write_text("precious")
    assert main(["experiment", str(exp_file), "--out", str(mine), "--overwrite", "--quiet"]) == 2
    assert "refusing to empty it" in capsys.readouterr().err
    assert (mine / "chapter1.tex").read_text() == "precious"


# ------------------------------------------------------------------ statistics
def _wilson(k: int, n: int, z: float = stats.norm.ppf(0.975)) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


@pytest.mark.parametrize("k,n", [(23, 30), (0, 12), (12, 12), (4, 30)])
def test_wilson_interval(k, n):
    np.testing.assert_allclose(wilson_interval(k, n), _wilson(k, n), rtol=1e-9, atol=1e-15)


def _bimodal_runs() -> pd.DataFrame:
    """30 pairs: baseline takes off in 23; the arm turns 4 fizzles into take-offs, and 1 take-off into a fizzle."""
    rng = np.random.default_rng(3)
    base_off = np.array([1] * 23 + [0] * 7, bool)
    arm_off = base_off.copy()
    arm_off[23:27] = True  # 4 fizzles -> outbreaks
    arm_off[0] = False  # 1 outbreak -> fizzle
    rows = []
    for arm, off in (("baseline", base_off), ("literacy", arm_off)):
        for k in range(30):
            v = rng.uniform(0.27, 0.84) if off[k] else rng.uniform(0.0, 0.07)
            rows.append({"arm": arm, "replicate": k, "seed": k, "p_ever": v, "days": 100 * v})
    return pd.DataFrame(rows)


def test_takeoff_table_counts_regimes_and_discordant_pairs():
    runs = _bimodal_runs()
    t = takeoff_table(runs, "p_ever", 0.15, seed=1).set_index("arm")
    assert t.loc["baseline", "n_takeoff"] == 23 and t.loc["literacy", "n_takeoff"] == 26
    np.testing.assert_allclose(t.loc["baseline", ["p_low", "p_high"]].to_numpy(float), _wilson(23, 30))
    lit = t.loc["literacy"]
    assert lit["fizzle_to_takeoff"] == 4 and lit["takeoff_to_fizzle"] == 1
    assert lit["diff_p"] == pytest.approx(3 / 30)
    assert lit["diff_low"] <= 3 / 30 <= lit["diff_high"]
    assert lit["mcnemar_p"] == pytest.approx(stats.binomtest(4, 5, 0.5).pvalue)
    bimodal, note = regime_note(runs, "p_ever", 0.15)
    assert bimodal and "49 of 60 runs took off" in note and "take-off table" in note
    cond = conditional_outcomes(runs, ["days"], "p_ever", 0.15, seed=1).set_index("arm")
    took = runs[(runs["p_ever"] >= 0.15) & (runs["arm"] == "literacy")]["days"]
    assert cond.loc["literacy", "n_takeoff"] == 26
    assert cond.loc["literacy", "mean_if_takeoff"] == pytest.approx(took.mean())
    assert cond.loc["literacy", "low"] < took.mean() < cond.loc["literacy", "high"]
    one, note = regime_note(runs[runs["p_ever"] >= 0.15], "p_ever", 0.15)
    assert not one and "the mean paired differences apply" in note


def test_bootstrap_intervals_are_deterministic_and_cover_the_mean():
    runs = _bimodal_runs()
    a = compare_arms(runs, ["days"], seed=9)
    b = compare_arms(runs, ["days"], seed=9)
    pd.testing.assert_frame_equal(a, b)
    row = a[a["arm"] == "literacy"].iloc[0]
    assert row["diff_low"] < row["diff_mean"] < row["diff_high"]
    assert compare_arms(runs, ["days"], seed=10)["diff_low"].iloc[1] != row["diff_low"]  # the seed is used


# ------------------------------------------------------------------- progress
class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_header_bar_and_quiet():
    term = _Terminal()
    p = Progress(6, 0, "experiment 'e': 3 arms x 2 replicates = 6 runs, on 2 local processes", False, 2, term)
    p.update(True)
    start = p.bar.start_t
    p.update(True)
    assert p.bar.initial == 2 and p.bar.start_t >= start  # the ETA's clock starts after the warm-up runs
    p.update(False)
    p.close()
    text = term.getvalue()
    assert text.startswith("qunsim: experiment 'e': 3 arms x 2 replicates = 6 runs, on 2 local processes\n")
    assert "3/6" in text and "failed=1" in text
    pipe = io.StringIO()  # not a terminal: the header only
    p = Progress(6, 0, "header", False, 1, pipe)
    for _ in range(6):
        p.update(True)
    p.close()
    assert pipe.getvalue() == "qunsim: header\n"
    quiet = _Terminal()
    p = Progress(6, 0, "header", True, 1, quiet)
    p.update(True)
    p.close()
    assert quiet.getvalue() == ""


def test_header_names_arms_replicates_and_executor(exp_file, tmp_path, capsys):
    assert main(["experiment", str(exp_file), "--out", str(tmp_path / "o"), "--replicates", "2"]) == 0
    err = capsys.readouterr().err
    assert "3 arms x 2 replicates = 6 runs" in err and "this process (serial)" in err


# ------------------------------------------------------------------ bad input
def _refused(argv, capsys, *needles):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, f"{needle!r} not in {err!r}"
    return err


@pytest.mark.parametrize(
    "text,needles",
    [
        ('scenario = "{scenario}"\n[arms.a]\n', ["at least two arms"]),
        ('scenario = "{scenario}"\n[arms.a]\n[arms.b]\nset = ["run.bogus=1"]\n', ["arm 'b'", "run.bogus"]),
        ('scenario = "{scenario}"\nreplicates = 1\n[arms.a]\n[arms.b]\n', ["replicates", "got 1"]),
        (
            'scenario = "{scenario}"\nseed = 18446744073709551616\n[arms.a]\n[arms.b]\n',
            ["seed", "18446744073709551616"],
        ),
        ('scenario = "{scenario}"\nseed = -1\n[arms.a]\n[arms.b]\n', ["seed", "got -1"]),
        ('scenario = "{scenario}"\nreplicate = 3\n[arms.a]\n[arms.b]\n', ["replicate", "unknown field"]),
        ('scenario = "nowhere.toml"\n[arms.a]\n[arms.b]\n', ["scenario", "nowhere.toml"]),
        ('scenario = "{scenario}"\n[arms.a]\n[arms.b]\n[takeoff]\nmetric = "x"\n', ["takeoff.threshold", "missing"]),
        ("scenario = \n", ["not valid TOML"]),
    ],
)
def test_bad_experiment_files(tmp_path, capsys, text, needles):
    path = tmp_path / "bad.toml"
    path.write_text(text.format(scenario=CLASSROOM))
    out = tmp_path / "out"
    _refused(["experiment", str(path), "--out", str(out)], capsys, str(path), *needles)
    assert not (out / "parts").exists()
    with pytest.raises(ScenarioError):
        load_experiment(path)


def test_unknown_metric_is_refused_before_any_run(tmp_path, capsys):
    path = tmp_path / "e.toml"
    path.write_text(
        EXP.format(scenario=CLASSROOM).replace('"info_rumor_believer_days",', '"info_rumor_believer_dayz",')
    )
    out = tmp_path / "out"
    _refused(
        ["experiment", str(path), "--out", str(out)],
        capsys,
        str(path),
        "metrics",
        "info_rumor_believer_dayz",
        "did you mean 'info_rumor_believer_days'",
    )
    assert not (out / "parts").exists() and not (out / "plan.json").exists()
    path.write_text(
        EXP.format(scenario=CLASSROOM).replace('metric = "info_rumor_p_ever_believed"', 'metric = "p_ever"')
    )
    _refused(["experiment", str(path), "--out", str(out)], capsys, "takeoff.metric", "'p_ever'")


def test_bad_arguments_and_outputs_are_refused_before_any_run(exp_file, tmp_path, capsys):
    out = str(tmp_path / "out")
    _refused(
        ["experiment", str(exp_file), "--out", out, "--replicates", "1"], capsys, "--replicates", "1", "at least 2"
    )
    _refused(["experiment", str(exp_file), "--out", out, "--replicates", "0"], capsys, "--replicates", "0")
    _refused(["experiment", str(exp_file), "--out", out, "--jobs", "0"], capsys, "--jobs", "0", "at least 1")
    _refused(["experiment", str(exp_file), "--out", out, "--jobs", "-1"], capsys, "--jobs", "-1")
    _refused(["experiment", str(exp_file), "--out", out, "--dask-local", "0"], capsys, "--dask-local", "0")
    _refused(["experiment", str(exp_file), "--out", out, "--scheduler", "my laptop"], capsys, "--scheduler", "tcp://")
    _refused(["experiment", str(tmp_path), "--out", out], capsys, str(tmp_path), "is a folder")
    _refused(["experiment", str(tmp_path / "none.toml"), "--out", out], capsys, "none.toml", "no such experiment file")
    _refused(["experiment", "--out", out], capsys, "give the experiment file")
    afile = tmp_path / "a_file"
    afile.write_text("x")
    _refused(["experiment", str(exp_file), "--out", str(afile / "below")], capsys, str(afile), "is a file")
    _refused(["experiment", str(exp_file), "--out", str(afile)], capsys, str(afile), "is a file")
    # a read-only file system (sysfs refuses new folders even to root)
    _refused(["experiment", str(exp_file), "--out", "/sys/qunsim-out"], capsys, "/sys/qunsim-out", "cannot write")
    _refused(["experiment", "--status", str(tmp_path / "nothing")], capsys, "no such folder")
    assert not (tmp_path / "out").exists()


def test_shipped_experiment_and_sweep_files_load():
    from sim.experiments import load_sweep

    files = sorted((ROOT / "experiments").glob("*.toml"))
    kinds = {"experiment": 0, "sweep": 0}
    for path in files:
        raw = tomllib.loads(path.read_text())
        if "arms" in raw:
            cfg, scen = load_experiment(path)
            assert len(cfg.arms) >= 2 and scen.exists()
            kinds["experiment"] += 1
        else:
            cfg, scen = load_sweep(path)
            assert cfg.parameters and scen.exists()
            kinds["sweep"] += 1
    assert kinds["experiment"] >= 1 and kinds["sweep"] >= 2
    cfg, _ = load_experiment(ROOT / "experiments" / "misinformation.toml")
    assert cfg.baseline == "baseline" and cfg.takeoff is not None
