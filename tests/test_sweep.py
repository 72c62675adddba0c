"""Sweeps: designs from SALib and scipy.stats.qmc, distributions through their quantile functions,
common random numbers across points, bad sweep files refused before any run, the tidy table and
the indices, and the sanity check on Reed-Frost (a known answer)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.cli import main
from sim.experiments import design, load_sweep, plan_sweep, plot_inputs, read_sweep, run_sweep_to
from sim.experiments.config import SweepConfig
from sim.schema import ScenarioError

from .conftest import ROOT

CLASSROOM = ROOT / "scenarios" / "classroom.toml"

SWEEP = """
scenario = "{scenario}"
seed = 3
replicates = 2
set = ["run.duration_days=4", "run.step_minutes=120", "diagnosis.enabled=false"]
outputs = ["info_rumor_believer_days"]

[design]
method = "{method}"
n = {n}

[parameters.credibility]
setting = "information.items.1.credibility"
range = [0.1, 0.7]

[parameters.literacy]
setting = "population.literacy_mean"
range = [0.3, 0.8]

[parameters.dummy]
dummy = true
"""


def _cfg(method: str = "sobol", n: int = 8, **extra) -> SweepConfig:
    import tomllib

    raw = tomllib.loads(SWEEP.format(scenario=CLASSROOM, method=method, n=n))
    raw["design"].update(extra)
    return SweepConfig.model_validate(raw)


def _write(tmp_path, method="sobol", n=8, text=None):
    path = tmp_path / "s.toml"
    path.write_text(text or SWEEP.format(scenario=CLASSROOM, method=method, n=n))
    return path


# --------------------------------------------------------------------- designs
def test_sobol_design_is_saltelli_from_salib():
    from SALib.sample import sobol

    cfg = _cfg("sobol", 16)
    points, unit = design(cfg)
    problem = {"num_vars": 3, "names": ["credibility", "literacy", "dummy"], "bounds": [[0, 1]] * 3}
    want = sobol.sample(problem, 16, calc_second_order=False, scramble=True, seed=3)
    np.testing.assert_array_equal(unit, want)
    assert len(points) == 16 * (3 + 2)
    np.testing.assert_allclose(points["credibility"], 0.1 + 0.6 * want[:, 0])
    np.testing.assert_allclose(points["literacy"], 0.3 + 0.5 * want[:, 1])
    assert len(design(_cfg("sobol", 16, second_order=True))[0]) == 16 * (2 * 3 + 2)


def test_latin_design_is_scipy_qmc_and_stratified():
    from scipy.stats import qmc

    cfg = _cfg("latin", 20)
    _, unit = design(cfg)
    np.testing.assert_array_equal(unit, qmc.LatinHypercube(d=3, rng=np.random.default_rng(3)).random(20))
    for j in range(3):  # one point in each of the 20 strata of every axis
        assert sorted(np.floor(unit[:, j] * 20).astype(int)) == list(range(20))


def test_morris_design_is_from_salib():
    from SALib.sample import morris

    cfg = _cfg("morris", 5, levels=4)
    _, unit = design(cfg)
    problem = {"num_vars": 3, "names": ["credibility", "literacy", "dummy"], "bounds": [[0, 1]] * 3}
    np.testing.assert_array_equal(unit, morris.sample(problem, 5, num_levels=4, seed=3))
    assert unit.shape == (5 * 4, 3)
    np.testing.assert_allclose(np.unique(np.round(unit, 12)), [0, 1 / 3, 2 / 3, 1])  # the grid of 4 levels


def test_factorial_design_is_the_full_grid():
    points, unit = design(_cfg("factorial", 3))
    assert unit is None and len(points) == 27
    assert sorted(points["credibility"].unique()) == pytest.approx([0.1, 0.4, 0.7])
    assert points[["credibility", "literacy", "dummy"]].drop_duplicates().shape[0] == 27


def test_distributions_map_through_their_quantile_functions():
    from sim.experiments.config import ParameterConfig
    from sim.experiments.sweep import to_values

    u = np.array([0.0, 0.1, 0.5, 0.9, 1.0])
    norm = ParameterConfig(setting="a.b", distribution="normal", mean=2.0, sd=0.5)
    np.testing.assert_allclose(to_values(u[1:4], norm), stats.norm(2.0, 0.5).ppf(u[1:4]))
    assert np.isfinite(to_values(u, norm)).all()  # the tails are clipped, not infinite
    logn = ParameterConfig(setting="a.b", distribution="lognormal", median=3.0, sigma=0.4)
    assert to_values(np.array([0.5]), logn)[0] == pytest.approx(3.0)
    tri = ParameterConfig(setting="a.b", distribution="triangular", range=(0, 10), mode=2)
    np.testing.assert_allclose(to_values(u, tri)[[0, 4]], [0, 10])
    assert to_values(np.array([0.2]), tri)[0] == pytest.approx(2.0)  # P(X <= mode) = 0.2
    tn = ParameterConfig(setting="a.b", distribution="truncnormal", range=(0, 1), mean=0.9, sd=0.5)
    v = to_values(np.linspace(0, 1, 11), tn)
    assert v.min() >= 0 and v.max() <= 1 and np.all(np.diff(v) > 0)
    ints = ParameterConfig(setting="a.b", range=(1, 6), integer=True)
    got = to_values(np.linspace(0, 1, 600), ints)
    assert got.dtype.kind == "i" and set(got) == {1, 2, 3, 4, 5, 6}
    assert np.bincount(got)[1:].min() >= 99  # uniform over the six values


def test_common_random_numbers_and_shared_dummy_runs():
    cfg = _cfg("sobol", 8)
    sp = plan_sweep(cfg, CLASSROOM)
    rows = sp.rows
    assert (rows.groupby("replicate")["seed"].nunique() == 1).all()  # replicate k of every point shares its seed
    assert rows["seed"].nunique() == 2
    # runs whose real inputs and replicate match are one run (the dummy is passed to nothing)
    real = rows[["credibility", "literacy", "replicate"]]
    assert rows.groupby(list(real.columns))["key"].nunique().max() == 1
    assert len(sp.specs) == real.drop_duplicates().shape[0] < len(rows)


# ----------------------------------------------------------------- bad input
def _refused(argv, capsys, *needles):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, f"{needle!r} not in {err!r}"


@pytest.mark.parametrize(
    "edit,needles",
    [
        (("n = 8", "n = 12"), ["design", "n: a Sobol", "power of 2, got 12"]),
        (('method = "sobol"', 'method = "sobolev"'), ["design.method", "sobolev"]),
        (("range = [0.1, 0.7]", "range = [0.7, 0.1]"), ["parameters.credibility", "low < high"]),
        (("range = [0.1, 0.7]", "range = [0.5, 1.5]"), ["point", "credibility=", "less than or equal to 0.99"]),
        (('setting = "population.literacy_mean"', 'setting = "population.literacy_men"'), ["literacy_men"]),
        (("dummy = true", 'dummy = true\nsetting = "run.seed"'), ["parameters.dummy", "sets nothing"]),
        (("replicates = 2", "replicates = 0"), ["replicates", "got 0"]),
        (("seed = 3", "seed = 18446744073709551616"), ["seed", "18446744073709551616"]),
        (('outputs = ["info_rumor_believer_days"]', "outputs = []"), ["outputs"]),
        (("[parameters.dummy]", "[parameters.point]"), ["reserved"]),
        (('outputs = ["info_rumor_believer_days"]', 'outputs = ["believer_days"]'), ["outputs", "'believer_days'"]),
    ],
)
def test_bad_sweep_files_are_refused_before_any_run(tmp_path, capsys, edit, needles):
    text = SWEEP.format(scenario=CLASSROOM, method="sobol", n=8).replace(*edit)
    path = _write(tmp_path, text=text)
    out = tmp_path / "out"
    _refused(["sweep", str(path), "--out", str(out)], capsys, str(path), *needles)
    assert not (out / "parts").exists()


def test_bad_sweep_arguments(tmp_path, capsys):
    path = _write(tmp_path)
    _refused(["sweep", str(path), "--jobs", "0"], capsys, "--jobs")
    _refused(["sweep", str(path), "--replicates", "0"], capsys, "--replicates")
    _refused(["sweep", str(path), "-n", "1"], capsys, "-n")
    _refused(["sweep", str(path), "-n", "6", "--out", str(tmp_path / "o")], capsys, "power of 2")
    _refused(["sweep", str(tmp_path)], capsys, "is a folder")
    with pytest.raises(ScenarioError, match="no such sweep file"):
        load_sweep(tmp_path / "missing.toml")


# ------------------------------------------------------------------- results
def test_morris_sweep_writes_the_tidy_table_and_indices(tmp_path, capsys):
    path = _write(tmp_path, "morris", 3)
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--quiet", "--replicates", "1"]) == 0
    printed = capsys.readouterr().out
    assert "mu_star" in printed
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == 3 * 4  # trajectories x (D + 1), one replicate
    assert {"point", "replicate", "seed", "key", "credibility", "literacy", "dummy", "info_rumor_believer_days"} <= set(
        runs.columns
    )
    ind = pd.read_csv(out / "indices.csv")
    assert set(ind["index"]) == {"mu_star", "mu", "sigma"} and set(ind["parameter"]) == {
        "credibility",
        "literacy",
        "dummy",
    }
    dummy = ind[(ind["parameter"] == "dummy")].set_index("index")
    assert dummy.loc["mu_star", "value"] == 0 and dummy.loc["sigma", "value"] == 0  # its steps change nothing
    assert (out / "indices.png").stat().st_size > 0
    again_runs, again_ind = read_sweep(out)
    pd.testing.assert_frame_equal(again_ind, ind)
    pd.testing.assert_frame_equal(again_runs, runs)
    fig = plot_inputs(again_runs, ["credibility", "literacy", "dummy"], "info_rumor_believer_days")
    np.testing.assert_allclose(fig.axes[1].collections[0].get_offsets()[:, 0], runs["literacy"])
    assert main(["sweep", "--status", str(out)]) == 0
    status = capsys.readouterr().out
    assert "12 planned (9 distinct" in status and "12 done, 0 failed, 0 missing" in status


def test_factorial_sweep_main_effects(tmp_path):
    path = _write(tmp_path, "factorial", 2)
    res = run_sweep_to(path, tmp_path / "out", replicates=1)
    assert len(res.runs) == 8
    eff = pd.read_csv(tmp_path / "out" / "main_effects.csv")
    assert set(eff["parameter"]) == {"credibility", "literacy", "dummy"}
    dummy = res.indices[(res.indices["parameter"] == "dummy") & (res.indices["index"] == "main_effect_share")]
    assert dummy["value"].iloc[0] == 0  # the dummy's two levels give the same runs
    cred = eff[eff["parameter"] == "credibility"].sort_values("level")
    means = res.runs.groupby("credibility")["info_rumor_believer_days"].mean().sort_index()
    np.testing.assert_allclose(cred["mean"], means.to_numpy())


@pytest.mark.slow
def test_sobol_sanity_check_on_reed_frost(tmp_path):
    """Final size of a Reed-Frost epidemic: all its variance is p's (which fixes R0), none the dummy's."""
    path = ROOT / "experiments" / "reed_frost_sobol.toml"
    res = run_sweep_to(path, tmp_path / "rf", n=64, replicates=2)
    ind = res.indices.set_index(["parameter", "index"])
    p, dummy = ind.loc[("p", "ST")], ind.loc[("dummy", "ST")]
    assert p["value"] >= 0.9, p
    assert p["low"] > 0.5  # the interval excludes small values
    assert dummy["value"] <= 0.05 and dummy["high"] <= 0.05, dummy
    assert ind.loc[("dummy", "S1"), "high"] <= 0.05
    # the final size grows with R0: the sweep is a real one
    runs = res.runs
    lo = runs[runs["p"] < 0.002]["info_message_p_heard"].mean()
    hi = runs[runs["p"] > 0.005]["info_message_p_heard"].mean()
    assert lo < 0.2 < 0.7 < hi
