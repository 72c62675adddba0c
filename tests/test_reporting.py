"""The formal case-reporting chain: exact hop times, working hours, log-normal hops, the groups."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import sim
from sim.processes.reporting import LEVELS
from sim.schema import ROLES

BASE = """
[run]
name = "reporting"
duration_days = {days}
step_minutes = 60
[population]
n_clinicians = 200
[[population.regions]]
name = "City"
primary = 3
secondary = 2
tertiary = 1
[[population.regions]]
name = "Boston"
kind = "abroad"
tertiary = 1
staff_weight = 0.5
utc_offset_hours = -5
[diagnosis]
enabled = false
"""

HOPS = {"facility": 2.0, "county": 24.0, "city": 12.0, "province": 30.0, "abroad": 6.0}


def _items(n: int, start: float) -> str:
    return "".join(
        f'\n[[information.items]]\nname = "report{k}"\nkind = "case_report"\nstart_day = {start}\nn_seeds = 1\n'
        for k in range(n)
    )


def _scenario(write, days: float, items: str, sets: list[str]):
    return sim.load_scenario(write(BASE.format(days=days) + items), sets)


def _fixed(working: bool) -> list[str]:
    out = ["reporting.hop_sigma=0", f"reporting.working_hours_only={'true' if working else 'false'}"]
    return out + [f"reporting.hop_hours.{k}={v}" for k, v in HOPS.items()]


def test_without_working_hours_each_level_is_reached_after_the_sum_of_the_hops(write):
    res = sim.run(_scenario(write, 10, _items(1, 0.5), _fixed(working=False)), seed=1)
    want = np.cumsum(list(HOPS.values())) / 24.0
    got = [res.metrics[f"rep_report0_t_formal_{lv}"] for lv in LEVELS]
    np.testing.assert_allclose(got, want, atol=1e-9)


def _working_hours_clock(release_hour: float, hops: list[float], start: float, end: float) -> list[float]:
    """Hours after the release at which each hop ends, counting only hours in [start, end) of each day."""
    out, t = [], release_hour
    for need in hops:
        while need > 1e-12:
            day_hour = t % 24.0
            if start <= day_hour < end:
                step = min(need, end - day_hour)
                need -= step
                t += step
            else:
                t += (start - day_hour) % 24.0
        out.append(t - release_hour)
    return out


def test_in_working_hours_the_hops_wait_for_the_next_shift(write):
    # released at noon on day 0 (start_hour 0): 2 h to 14:00, then 24 working hours ...
    scen = _scenario(write, 12, _items(1, 0.5), _fixed(working=True))
    pop = scen.population
    assert (pop.work_start_hour, pop.work_end_hour) == (8.0, 18.0)
    res = sim.run(scen, seed=1)
    want = np.array(_working_hours_clock(12.0, list(HOPS.values()), pop.work_start_hour, pop.work_end_hour)) / 24
    got = [res.metrics[f"rep_report0_t_formal_{lv}"] for lv in LEVELS]
    np.testing.assert_allclose(got, want, atol=1e-9)
    assert want[1] == pytest.approx((24 * 2 + 18 - 12) / 24)  # county: 18:00 on day 2


def test_hops_are_log_normal_around_their_medians(write):
    n = 60
    sets = ["reporting.working_hours_only=false", "reporting.hop_sigma=0.5", "information.enabled=false"]
    res = sim.run(_scenario(write, 12, _items(n, 0.25), sets), seed=3)
    table = res.tables["reporting"].pivot(index="item", columns="level", values="t_formal_days")
    county = (table["county"] - table["facility"]).to_numpy() * 24.0
    assert np.isfinite(county).all() and len(county) == n
    # log hours ~ Normal(log 24, 0.5): a Kolmogorov-Smirnov test at the 1% level
    assert stats.kstest(np.log(county), stats.norm(np.log(24.0), 0.5).cdf).pvalue > 0.01


def test_a_settings_intervention_changes_the_hops_that_start_after_it(write):
    # released on day 0.5: the county hop runs from day 0.58 to 1.58; the city hop starts then
    items = _items(1, 0.5)
    iv = (
        '\n[[interventions]]\nname = "settings"\nstart_day = 1.5\n'
        'set = { "reporting.hop_hours.county" = 0.0, "reporting.hop_hours.city" = 0.0 }\n'
    )
    sets = _fixed(working=False)
    base = sim.run(_scenario(write, 10, items, sets), seed=1)
    fast = sim.run(_scenario(write, 10, items + iv, sets), seed=1)
    key = "rep_report0_t_formal_{}"
    assert base.metrics[key.format("county")] == pytest.approx((2 + 24) / 24)
    # the county hop had started: unchanged; the city hop starts after the intervention: instant
    assert fast.metrics[key.format("county")] == base.metrics[key.format("county")]
    assert fast.metrics[key.format("city")] == pytest.approx(fast.metrics[key.format("county")])
    assert base.metrics[key.format("city")] == pytest.approx(fast.metrics[key.format("county")] + 12 / 24)


def test_the_groups_side_is_the_first_administrator_or_member_abroad_who_heard(write):
    model = sim.build_model(_scenario(write, 8, _items(1, 0.5), []), seed=2)
    model.run_model()
    out = model.finish()
    heard = model.process("information").arrays.t_first[0]  # type: ignore[attr-defined]
    pop = model.pop
    fac = pop.facility
    admin = pop.role == ROLES.index("public_health_admin")
    county = admin & (pop.fac_tier[fac] == 1) & ~pop.fac_abroad[fac]
    abroad = pop.fac_abroad[fac]
    m = out.metrics
    for level, sel in (("county", county), ("abroad", abroad)):
        times = heard[sel]
        expect = float(np.nanmin(times)) - 0.5 if np.isfinite(times).any() else None
        got = m.get(f"rep_report0_t_groups_{level}")
        assert (got is None and expect is None) or got == pytest.approx(expect)
    formal = m.get("rep_report0_t_formal_county")
    groups = m.get("rep_report0_t_groups_county")
    first = m.get("rep_report0_groups_first_county")
    if groups is not None:
        assert first == float(formal is None or groups < formal)


def test_the_validation_case_passes_and_tells_the_lognormal_mean_from_the_median():
    from sim.validation import evaluate, registered_cases

    res = evaluate(registered_cases()["reporting_chain"])
    assert res.passed, res
    # a chain that used the medians as means (26 h) lies outside the interval
    assert abs(res.mean - 26.0) > res.half_width
