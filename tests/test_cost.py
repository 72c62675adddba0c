"""The cost table: the run's quantities times the prices, and nothing else changes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sim
from sim.config import validate
from sim.schema import TIERS

from .test_components import BASE

# twelve days, cases at every tier, so that answers and referrals happen
EXTRA = """
[diagnosis.case_rate_per_facility_per_day]
primary = 2
secondary = 2
tertiary = 2
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    path = tmp_path_factory.mktemp("cost") / "s.toml"
    path.write_text(BASE + EXTRA)
    out = {}
    for label, sets in {
        "base": [],
        "double": [
            *(f"cost.clinician_hour.{t}={2 * v}" for t, v in zip(TIERS, (40.0, 60.0, 90.0), strict=True)),
            *(f"cost.referral_travel.{t}={2 * v}" for t, v in zip(TIERS, (150.0, 80.0, 30.0), strict=True)),
            "cost.referral_visit=100",
        ],
        "off": ["cost.enabled=false"],
    }.items():
        out[label] = sim.run(sim.load_scenario(path, sets), seed=5)
    return out


def test_expert_time_is_the_answers_minutes_at_the_tier_price(runs):
    res = runs["base"]
    answers, table = res.tables["answers"], res.tables["cost"].set_index(["component", "tier"])
    assert len(answers) > 0 and answers["offhours"].any() and (~answers["offhours"]).any()
    pop = sim.build_model(validate(res.scenario), seed=5).pop  # same scenario and seed: same population
    tier = np.asarray(TIERS)[pop.fac_tier[pop.facility[answers["expert"].to_numpy()]]]
    hours = answers.assign(tier=tier).groupby(["tier", "offhours"])["minutes"].sum() / 60
    price = {"primary": 40.0, "secondary": 60.0, "tertiary": 90.0}
    for t in TIERS:
        on = hours.get((t, False), 0.0)
        off = hours.get((t, True), 0.0)
        assert table.loc[("expert_time_on_duty", t), "quantity"] == pytest.approx(on)
        assert table.loc[("expert_time_on_duty", t), "cost_cny"] == pytest.approx(on * price[t])
        assert table.loc[("expert_time_off_duty", t), "cost_cny"] == pytest.approx(off * price[t] * 1.5)
    # reading: a quarter minute per message read, at the clinicians' mean hourly cost
    mean_hour = np.mean([price[t] for t in np.asarray(TIERS)[pop.fac_tier[pop.facility]]])
    reading = table.loc[("reading", "all")]
    assert reading["quantity"] > 0
    assert reading["cost_cny"] == pytest.approx(reading["quantity"] * 0.25 / 60 * mean_hour)


def test_referrals_are_priced_by_the_referring_tier(runs):
    res = runs["base"]
    cases, table = res.tables["cases"], res.tables["cost"].set_index(["component", "tier"])
    assert (cases["referral_hops"] > 0).any()
    travel = {"primary": 150.0, "secondary": 80.0, "tertiary": 30.0}
    for t in TIERS:
        mine = cases[cases["tier"] == t]
        hops = mine["referral_hops"].clip(lower=0).sum()
        visits = mine["t_referral_visit"].notna().sum()
        assert table.loc[("referral_travel", t), "cost_cny"] == pytest.approx(hops * travel[t])
        assert table.loc[("referral_visits", t), "cost_cny"] == pytest.approx(visits * 50.0)


def test_the_total_is_the_sum_and_summary_says_it(runs):
    res = runs["base"]
    total = res.tables["cost"]["cost_cny"].sum()
    assert total > 0 and res.metrics["cost_total_cny"] == pytest.approx(total)
    assert res.metrics["cost_per_case_cny"] == pytest.approx(total / len(res.tables["cases"]))
    assert "CNY" in res.metrics["summary_cost"]


def test_doubling_every_price_doubles_the_cost_and_changes_nothing_else(runs):
    base, double = runs["base"], runs["double"]
    pd.testing.assert_series_equal(base.tables["cost"]["quantity"], double.tables["cost"]["quantity"])
    np.testing.assert_allclose(double.tables["cost"]["cost_cny"], 2 * base.tables["cost"]["cost_cny"])
    pd.testing.assert_frame_equal(base.timeseries, double.timeseries)


def test_switching_cost_off_changes_no_other_output(runs):
    base, off = runs["base"], runs["off"]
    assert "cost" not in off.tables and "cost_total_cny" not in off.metrics
    others = {k: v for k, v in base.metrics.items() if not k.startswith(("cost_", "summary_cost"))}
    assert others == {k: v for k, v in off.metrics.items()}
    pd.testing.assert_frame_equal(base.timeseries, off.timeseries)
    for name in off.tables:
        pd.testing.assert_frame_equal(base.tables[name], off.tables[name])


READING_PRICE = """
import sys
import sim
res = sim.run(sim.load_scenario(sys.argv[1], ["run.duration_days=2"]), seed=3)  # shares where the two differ
cost = res.tables["cost"]
print(repr(float(cost.loc[cost["component"] == "reading", "unit_cost_cny"].iloc[0])))
"""


def test_the_reading_price_does_not_depend_on_the_blas_kernel():
    """The price of a message read (the tiers' hourly prices weighted by their shares of
    the clinicians) is summed in order, not by a BLAS dot product whose rounding changes
    with the kernel the library picks for the processor (here forced both ways)."""
    import os
    import subprocess
    import sys

    from .conftest import SCENARIOS

    prices = set()
    for core in ("Haswell", "SkylakeX"):
        env = {**os.environ, "OPENBLAS_CORETYPE": core}
        out = subprocess.run(
            [sys.executable, "-c", READING_PRICE, str(SCENARIOS / "guangdong_study.toml")],
            env=env, capture_output=True, text=True, check=True, timeout=300,
        )  # fmt: skip
        prices.add(float(out.stdout.strip().splitlines()[-1]))
    assert len(prices) == 1
