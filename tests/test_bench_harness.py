"""The benchmark harness's timing rule (``benchmarks.common.timed``), on a fake clock: which
runs it repeats, what it reports, and that a repeat ending otherwise is an error; and each
implementation of the core install, run as the harness runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import common, network


class FakeClock:
    """``time.perf_counter`` advancing by the durations the test's build and simulate spend."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    c = FakeClock()
    monkeypatch.setattr(common.time, "perf_counter", c)
    return c


def make(clock, build_s, sim_s, outcomes=None):
    """build and simulate that take ``build_s`` and ``sim_s[k]`` at the k-th run (the last one
    repeated) and return ``outcomes[k]`` (the same outcome by default)."""
    calls = {"build": 0, "sim": 0}

    def build():
        clock.now += build_s
        calls["build"] += 1
        return calls["build"]

    def simulate(built):
        k = calls["sim"]
        clock.now += sim_s[min(k, len(sim_s) - 1)]
        calls["sim"] += 1
        assert built == calls["sim"]  # each run simulates its own, freshly built state
        return {"reach": 0.5} if outcomes is None else outcomes[min(k, len(outcomes) - 1)]

    return build, simulate, calls


def test_a_long_run_is_timed_once(clock):
    # dyadic durations: the fake clock's differences are exact
    build, simulate, calls = make(clock, 0.25, [0.125])
    assert common.timed(build, simulate) == (0.25, 0.125, 1, {"reach": 0.5})
    assert calls == {"build": 1, "sim": 1}


def test_short_runs_repeat_until_their_total_and_report_medians(clock):
    # a slower first run (cold caches), then runs of 1/16 s: eight add up to REPEAT_TOTAL_S
    # (0.5 s: 3/32 + 7/16 = 17/32), and the first does not move the median
    sims = [0.09375] + [0.0625] * 20
    build, simulate, calls = make(clock, 0.015625, sims)
    build_s, sim_s, runs, outcome = common.timed(build, simulate)
    assert runs == calls["sim"] == calls["build"] == 8
    assert (sim_s, build_s) == (0.0625, 0.015625)
    assert outcome == {"reach": 0.5}


def test_very_short_runs_stop_at_the_cap(clock):
    build, simulate, calls = make(clock, 0.0, [0.001])
    _, sim_s, runs, _ = common.timed(build, simulate)
    assert runs == common.REPEAT_MAX == calls["sim"]
    assert sim_s == pytest.approx(0.001)


def test_repeats_stop_when_the_builds_take_long(clock):
    # a peer whose build takes 0.75 s: four runs reach REPEAT_WALL_S (3 s) long before the
    # runs add up to REPEAT_TOTAL_S
    build, simulate, calls = make(clock, 0.75, [0.0078125])
    _, sim_s, runs, _ = common.timed(build, simulate)
    assert runs == calls["build"] == 4
    assert sim_s == 0.0078125


def test_a_repeat_that_ends_otherwise_is_an_error(clock):
    build, simulate, _ = make(clock, 0.0, [0.01], outcomes=[{"reach": 0.5}, {"reach": 0.5}, {"reach": 0.25}])
    with pytest.raises(RuntimeError, match="ended otherwise"):
        common.timed(build, simulate)


@pytest.mark.parametrize("impl", ["numpy_ref", "numba_ref", "qunsim", "mesa"])
def test_each_implementation_keeps_the_contract_and_repeats_a_short_run(tmp_path, impl):
    """Each implementation of the core install, run as the harness runs it on a network of
    500 clinicians, prints one JSON line of the contract; a short simulation is timed over
    several runs that all ended alike (``timed`` raises otherwise, and the child fails)."""
    repo = Path(__file__).resolve().parent.parent
    path = tmp_path / "net.npz"
    network.save(path, network.generate(500, 3), network.NetParams(), 3)
    env = dict(os.environ, PYTHONPATH=str(repo))
    cmd = [sys.executable, "-m", f"benchmarks.impl_{impl}", "--network", str(path), "--seed", "2"]
    out = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=300, check=True)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1, out.stdout
    rec = json.loads(lines[0])
    assert rec["impl"] == impl and rec["n"] == 500 and rec["seed"] == 2
    assert 0.0 < rec["reach"] <= 1.0 and rec["steps"] >= 1 and rec["deliveries"] >= rec["posts"] > 0
    assert rec["sim_s"] > 0.0 and rec["build_s"] >= 0.0
    # timed once only if the run took REPEAT_BELOW_S or more (here a run takes milliseconds, so
    # it is repeated; the test asserts the rule, not a speed)
    assert rec["timed_runs"] > 1 or rec["sim_s"] >= common.REPEAT_BELOW_S
    assert 1 <= rec["timed_runs"] <= common.REPEAT_MAX


def _full_model(tmp_path, *extra: str) -> dict:
    """``benchmarks.full_model`` on 1,500 clinicians for one simulated day, tables streamed."""
    repo = Path(__file__).resolve().parent.parent
    env = dict(os.environ, PYTHONPATH=str(repo))
    save = tmp_path / ("cold" if extra else "warm")
    cmd = [sys.executable, "-m", "benchmarks.full_model", "--n", "1500", "--days", "1", "--save", str(save), "--stream"]
    out = subprocess.run([*cmd, *extra], cwd=repo, env=env, capture_output=True, text=True, timeout=300, check=True)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1, out.stdout
    return json.loads(lines[0])


def test_the_full_model_timing_counts_no_kernel_loading(tmp_path):
    """The province-year's timed run follows a warm-up run of the same scenario (every item
    released at once): the timed run then loads no compiled kernel; without the warm-up
    (``--cold``) a fresh process loads its kernels in the run (from the cache, or compiling)."""
    warm = _full_model(tmp_path)
    assert warm["warm_up_s"] > 0.0 and warm["kernels_loaded_in_run"] == 0
    assert warm["steps"] == 12 and warm["sim_s"] > 0.0 and warm["rows"]["cases"] > 0
    cold = _full_model(tmp_path, "--cold")
    assert cold["warm_up_s"] is None and cold["kernels_loaded_in_run"] > 0
    # the warm-up changes nothing the run computes
    assert cold["rows"] == warm["rows"] and cold["memberships"] == warm["memberships"]


def test_the_full_model_runs_in_the_steps_asked(tmp_path):
    """``--step-minutes`` runs the same day in steps of that length (one day: one step) and
    says so; the province's own steps are 2 hours (12 a day, as the test above counts)."""
    rec = _full_model(tmp_path, "--step-minutes", "1440")
    assert rec["steps"] == 1 and rec["step_minutes"] == 1440.0 and rec["rows"]["cases"] > 0


def test_the_targets_report_what_the_finer_steps_cost():
    """The targets table's row for the province in one-day steps: its time over Starsim's (the
    median of the pairs) and the time each of the finer run's extra steps took, from the
    medians of the pairs run back to back."""
    from benchmarks.run import full_targets

    run = {"n": 60_000, "sim_s": 10.0, "build_s": 0.5, "steps": 4380}
    full = {
        "days": 365.0,
        "runs": [run],
        "starsim": [{"n": 60_000, "sim_s": 5.0, "build_s": 0.2}],
        "ratio_pairs": {
            "n": 60_000,
            "pairs": [
                {"qunsim_s": 10.0, "starsim_s": 5.0},
                {"qunsim_s": 12.0, "starsim_s": 6.0},
                {"qunsim_s": 9.0, "starsim_s": 4.0},
            ],
        },
        "coarse_steps": {"n": 60_000, "sim_s": 5.5, "steps": 365},
    }
    rows = {r["target"]: r for r in full_targets(full)}
    main = next(r for t, r in rows.items() if t.startswith("province"))
    assert main["ratio"] == 2.0 and main["met"] is False  # the pairs' median ratio: 2.0, 2.0, 2.25
    coarse = next(r for t, r in rows.items() if "one-day steps" in t)
    assert coarse["met"] is None and coarse["ratio"] == 5.5 / 5.0  # against Starsim's median, 5.0
    per_step = 1e3 * (10.0 - 5.5) / (4380 - 365)  # the province's median, 10.0 s
    assert f"{per_step:.2f} ms for each step more" in coarse["measured"]
    assert "5.5 s against 10.0 s in 4,380 steps" in coarse["measured"]
    full["coarse_steps"] = {"n": 60_000, "error": "failed"}
    assert not any("one-day steps" in r["target"] for r in full_targets(full))


#: in a fresh interpreter: build the province at 1,500 clinicians, then the signatures loaded
#: of the kernels that a run reaches only deep in it
_RARE_PASSES = """
import json, sys
import sim
from sim.model import QunModel
from sim.kernels import unique_inverse
from sim.processes.diagnosis.kernels import merge_open_keys
from sim.processes.diagnosis.resolution_kernels import relink
from sim.kernels import compact_in_place
from sim.streaming import stream_tables
model = QunModel(sim.load_scenario(sys.argv[1], ["population.n_clinicians=1500", "population.regions.0.count=1",
                                                 "population.regions.1.count=2"]), seed=1)
built = {k.py_func.__name__: [str(s) for s in k.signatures] for k in (unique_inverse, merge_open_keys, relink)}
stream_tables(model, sys.argv[2])
built["streamed"] = [str(s) for s in compact_in_place.signatures]
print(json.dumps(built))
"""


def test_building_a_model_loads_the_kernels_of_the_rare_passes(tmp_path):
    """Set-up loads the kernels that a run calls only deep in it (the merge of the asked keys,
    the relinking of the open requests after their compaction, the distinct readers of a
    rumor's copies by a sort; streamed, the compaction of every column type of the cases, as
    those written out leave), so that a timed run never pays for loading them: the province
    year at 60,000 clinicians loaded the first three while it was timed (about 0.4 s, most of
    it the sort's). A fresh interpreter, so that no other test has loaded them."""
    repo = Path(__file__).resolve().parent.parent
    env = dict(os.environ, PYTHONPATH=str(repo))
    province = str(repo / "scenarios" / "province.toml")
    out = subprocess.run(
        [sys.executable, "-c", _RARE_PASSES, province, str(tmp_path)], cwd=repo, env=env, capture_output=True, text=True,
        timeout=300, check=True,
    )  # fmt: skip
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert any("int32" in sig for sig in loaded["unique_inverse"]), loaded
    assert loaded["merge_open_keys"] and loaded["relink"], loaded
    assert any("int16" in sig for sig in loaded["streamed"]), loaded  # (the cases' answer counts)
