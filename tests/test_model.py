"""The model as a whole: reproducibility, common random numbers, invariants, results folder."""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import sim
from sim import Results, load_scenario
from sim.model import QunModel
from sim.rng import (
    CHOICE_TAIL_SHUFFLE_N,
    CHOICE_TAIL_SHUFFLE_SHARE,
    DENSE_CHANCE,
    bernoulli_hits,
    replicate_seeds,
    stream,
)

from .conftest import SCENARIOS

GUANGDONG = SCENARIOS / "guangdong_study.toml"


@pytest.fixture(scope="module")
def gd_run():
    return sim.run(load_scenario(GUANGDONG, ["run.duration_days=25"]), seed=7)


def test_same_seed_identical_results(gd_run):
    again = sim.run(load_scenario(GUANGDONG, ["run.duration_days=25"]), seed=7)
    pd.testing.assert_frame_equal(gd_run.timeseries, again.timeseries)
    for name in ("agents", "groups", "memberships", "events", "item_states"):
        pd.testing.assert_frame_equal(gd_run.tables[name], again.tables[name])
    assert {k: v for k, v in gd_run.metrics.items()} == again.metrics


def test_other_seed_other_results(gd_run):
    other = sim.run(load_scenario(GUANGDONG, ["run.duration_days=25"]), seed=8)
    assert not gd_run.tables["memberships"].equals(other.tables["memberships"])


def test_time_is_stored_and_counts_are_consistent(gd_run):
    ts = gd_run.timeseries
    assert {"scenario", "seed", "t", "metric", "item", "tier", "role", "route", "specialty", "value"} <= set(ts.columns)
    n = gd_run.metrics["n_clinicians"]
    assert ts["t"].min() == 0

    def curve(metric, item):
        return gd_run.series(metric, item=item, tier=None)

    # guidelines: adopted <= aware <= N, and awareness never falls
    aware, adopted = curve("n_aware", "new_guideline"), curve("n_adopted", "new_guideline")
    assert aware.index.is_monotonic_increasing and len(aware) > 10
    assert (adopted <= aware).all() and (aware <= n).all() and (aware.diff().dropna() >= 0).all()
    # rumors: the exclusive states never add up to more than N
    rumor = sum(curve(m, "rumor") for m in ("n_believes", "n_corrected", "n_doubts"))
    assert (rumor <= n).all()
    # cumulative counts (no dimensions) never fall
    plain = ts[ts["item"].isna() & ts["tier"].isna()]
    wide = plain.pivot_table(index="t", columns="metric", values="value")
    cum = [c for c in wide.columns if c.startswith("cum_")]
    assert cum and (wide[cum].diff().dropna() >= 0).all().all()
    # per-tier shares are null-free where they apply, and lie in [0, 1]
    shares = gd_run.select("p_aware", item="new_guideline")
    assert set(shares["tier"].dropna()) == {"primary", "secondary", "tertiary"}
    assert shares["value"].between(0, 1).all()


def test_streams_are_independent_of_each_other():
    a = stream(11, "information").random(5)
    stream(11, "diagnosis").random(1000)
    b = stream(11, "information").random(5)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, stream(11, "network").random(5))
    assert len(set(replicate_seeds(1, 50))) == 50


@pytest.mark.parametrize("q", [0.004, 0.6])  # drawn sparse, and one uniform per trial (DENSE_CHANCE)
def test_bernoulli_hits_have_the_law_of_a_uniform_per_trial(q):
    """Hits are ``u_i < q`` of independent uniforms: a binomial count, uniform places, and
    each ``u_i`` uniform on [0, q); a thinned event of chance ``p <= q`` happens at rate ``p``."""
    assert (q < DENSE_CHANCE) == (q == 0.004)
    rng = np.random.default_rng(5)
    n, reps = 3000, 400
    counts, places, us, events = [], [], [], 0
    for _ in range(reps):
        hit, u = bernoulli_hits(rng, n, q)
        assert hit.dtype == np.int64 and hit.size == u.size
        assert np.all(np.diff(hit) > 0) and (hit.size == 0 or 0 <= hit[0] <= hit[-1] < n)
        assert np.all((u >= 0) & (u < q))
        counts.append(hit.size)
        places.append(hit)
        us.append(u)
        events += int((u < q / 3).sum())
    total = n * reps
    # the count's mean within 4 standard errors of n q
    assert abs(np.mean(counts) - n * q) < 4 * np.sqrt(n * q * (1 - q) / reps)
    # thinned events at the chance q / 3 (4 standard errors of a binomial over every trial)
    p = q / 3
    assert abs(events / total - p) < 4 * np.sqrt(p * (1 - p) / total)
    # places uniform over the trials (ten bins) and u uniform on [0, q): fixed seed, 0.1% level
    binned = np.bincount(np.concatenate(places) * 10 // n, minlength=10)
    assert stats.chisquare(binned).pvalue > 1e-3
    assert stats.kstest(np.concatenate(us) / q, "uniform").pvalue > 1e-3
    # nothing to draw, and a chance out of range
    assert bernoulli_hits(rng, 0, q)[0].size == 0 and bernoulli_hits(rng, n, 0.0)[0].size == 0
    with pytest.raises(ValueError, match="chance"):
        bernoulli_hits(rng, n, 1.5)


def test_bernoulli_hits_drawn_compiled_are_numpys_draws():
    """With a GeneratorRef, the trials and uniforms come from one compiled pass (Floyd's
    algorithm, as numpy's ``choice`` takes it): the same hits, uniforms and next draws as
    numpy's path, on both sides of numpy's switch to a tail shuffle (n > 10,000 and k > n //
    20, left to numpy), at populations from one trial to a network's rows."""
    from sim.rng_ref import GeneratorRef

    compiled = 0
    for seed in range(12):
        for n in (1, 2, 7, 100, 9_999, 10_001, 60_000, 226_000):
            for q in (1e-4, 2e-3, 0.03, 0.049, 0.2):
                a, b = stream(seed, "hits"), stream(seed, "hits")
                ref = GeneratorRef(b)
                for _ in range(2):
                    h_np, u_np = bernoulli_hits(a, n, q)
                    h_c, u_c = bernoulli_hits(b, n, q, ref)
                    assert h_c.dtype == np.int64
                    np.testing.assert_array_equal(h_c, h_np)
                    np.testing.assert_array_equal(u_c, u_np)
                    compiled += not (n > CHOICE_TAIL_SHUFFLE_N and h_np.size > n // CHOICE_TAIL_SHUFFLE_SHARE)
                assert a.random() == b.random()  # the stream moved alike
    assert compiled > 600  # most draws took the compiled pass (of 960)


def test_switching_a_process_off_leaves_the_others_draws_unchanged():
    on = QunModel(load_scenario(GUANGDONG), seed=3)
    off = QunModel(load_scenario(GUANGDONG, ["information.enabled=false"]), seed=3)
    np.testing.assert_array_equal(on.net.m_clinician, off.net.m_clinician)
    for _ in range(48):
        on.step()
        off.step()
    # the network process draws the same conferences, mutes and departures either way
    np.testing.assert_array_equal(on.net.m_clinician, off.net.m_clinician)
    np.testing.assert_array_equal(on.net.m_muted, off.net.m_muted)


def test_mesa_agents_are_views_over_the_arrays():
    model = QunModel(load_scenario(SCENARIOS / "classroom.toml"), seed=1)
    agents = model.agents
    assert len(agents) == model.pop.n
    primary = agents.select(lambda a: a.tier == "primary")
    assert len(primary) == int((model.pop.tier == 0).sum())
    assert agents.agg("expertise", np.mean) == pytest.approx(float(model.pop.expertise.mean()), rel=1e-6)
    by_role = agents.groupby("role").count()
    assert sum(by_role.values()) == model.pop.n
    a = agents.to_list()[0]
    assert list(a.groups) == list(model.net.groups_of(a.index))
    assert a.state("information", 0) == "unaware"


def test_intervention_nothing_before_its_start():
    scen = load_scenario(
        SCENARIOS / "classroom.toml",
        [
            "run.duration_days=10",
            "network.enabled=false",
            'interventions=[{name="embed_specialists", start_day=4, params={min_primary_share=0.2}}]',
        ],
    )
    res = sim.run(scen, seed=2)
    m = res.tables["memberships"]
    invited = m[m["via"] == "embedded"]
    assert len(invited) > 0
    assert (invited["joined_day"] >= 4).all()
    before = res.series("n_memberships")
    assert before.loc[:3.99].nunique() == 1 and before.iloc[-1] > before.iloc[0]


def test_settings_intervention_switches_on_and_off():
    scen = load_scenario(
        SCENARIOS / "classroom.toml",
        [
            "run.duration_days=12",
            "network.conference_interval_days=2",
            'interventions=[{name="settings", start_day=3, end_day=9, set={"network.conference_interval_days"=0}}]',
        ],
    )
    model = QunModel(scen, seed=1)
    held = []
    for _ in range(scen.n_steps):
        model.step()
        held.append((model.t, model.process("network").n_conferences))
    during = [n for t, n in held if 3.5 <= t <= 9]
    assert len(set(during)) == 1  # lockdown: no conference
    assert held[-1][1] > during[0]  # resumed afterwards
    assert model.config.network.conference_interval_days == 2  # restored


def test_a_run_leaves_the_callers_scenario_unchanged():
    scen = load_scenario(
        SCENARIOS / "classroom.toml",
        [
            "run.duration_days=3",
            'interventions=[{name="settings", start_day=1, set={"network.conference_interval_days"=0}}]',
        ],
    )
    before = scen.model_dump()
    first = sim.run(scen, seed=4)
    assert scen.model_dump() == before
    assert load_scenario(SCENARIOS / "classroom.toml").network.conference_interval_days != 0
    assert "conference_interval_days = 90.0" in first.scenario_toml  # recorded as given
    pd.testing.assert_frame_equal(first.timeseries, sim.run(scen, seed=4).timeseries)


def test_results_save_and_load(gd_run, tmp_path):
    out = gd_run.save(tmp_path / "r")
    names = {p.name for p in out.iterdir()}
    assert {
        "scenario.toml",
        "manifest.json",
        "metrics.json",
        "timeseries.parquet",
        "agents.parquet",
        "groups.parquet",
        "memberships.parquet",
        "facilities.parquet",
        "events.parquet",
    } <= names
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 7 and manifest["qunsim_version"] == sim.__version__
    back = Results.load(out)
    pd.testing.assert_frame_equal(back.timeseries, gd_run.timeseries)
    assert back.metrics["n_clinicians"] == gd_run.metrics["n_clinicians"]
    assert load_scenario(out / "scenario.toml").run.name == "guangdong_study"


def test_cli_run_writes_a_results_folder(tmp_path):
    out = tmp_path / "res"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sim.cli",
            "run",
            str(GUANGDONG),
            "--seed",
            "7",
            "--out",
            str(out),
            "--set",
            "run.duration_days=5",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "guideline new_guideline" in proc.stdout and "rumor rumor" in proc.stdout
    assert (out / "events.parquet").exists()
    assert "step" in proc.stderr  # progress lines


@pytest.mark.parametrize("path", sorted(SCENARIOS.rglob("*.toml")), ids=lambda p: str(p.relative_to(SCENARIOS)))
def test_every_shipped_scenario_runs_a_few_steps(path):
    scen = load_scenario(path)
    model = QunModel(scen, seed=1)
    for _ in range(3):
        model.step()
    assert model.clock.step == 3


IDLE_SCENARIO = """
[run]
name = "idle"
duration_days = 200
stop_when_idle = true
[population]
n_clinicians = 150
[[population.regions]]
name = "City"
kind = "city"
secondary = 1
tertiary = 1
[network]
enabled = false
[diagnosis]
enabled = false
[information]
adoption = "per_copy"
[[information.items]]
name = "guideline"
kind = "guideline"
n_seeds = 2
"""


@pytest.mark.parametrize("trust", [False, True], ids=["trust-off", "trust-on"])
def test_stop_when_idle_ends_a_run_once_the_spread_is_over(tmp_path, trust):
    """Processes that only react or report (cost, trust) never keep an idle run going."""
    from sim import build_model

    path = tmp_path / "idle.toml"
    path.write_text(IDLE_SCENARIO + f"[trust]\nenabled = {'true' if trust else 'false'}\n")
    model = build_model(load_scenario(path), seed=3)
    assert {p.name for p in model.processes} >= {"information", "cost"} | ({"trust"} if trust else set())
    model.run_model()
    assert model.idle()
    assert model.clock.step < model.n_steps  # stopped early: nothing was left to happen


def test_results_do_not_depend_on_numpys_vector_instructions(gd_run, tmp_path):
    """numpy picks its loops by the CPU (on one with AVX-512 its exp, log and sorts are
    its own, elsewhere the C library's): the same run with those loops turned off gives the
    same tables and metrics. (On a CPU without AVX-512 both runs take the same loops.)"""
    script = (
        "import sys, sim\n"
        "res = sim.run(sim.load_scenario(sys.argv[1], ['run.duration_days=25']), seed=7)\n"
        "res.save(sys.argv[2])\n"
    )
    env = {**os.environ, "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR AVX512F AVX512_SKX"}
    proc = subprocess.run(
        [sys.executable, "-c", script, str(GUANGDONG), str(tmp_path / "plain")],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    gd_run.save(tmp_path / "here")
    plain, here = Results.load(tmp_path / "plain"), Results.load(tmp_path / "here")
    assert plain.metrics == here.metrics
    assert set(plain.tables) == set(here.tables)
    for name in here.tables:
        pd.testing.assert_frame_equal(plain.tables[name], here.tables[name], check_exact=True, obj=name)
    pd.testing.assert_frame_equal(plain.timeseries, here.timeseries, check_exact=True)
