"""Members abroad keep their own working and waking hours (population.regions.*.utc_offset_hours)."""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim.activity import at_work, awake, rate_and_duty, rate_parts, read_rate
from sim.clock import in_hours
from sim.config import scenario_warnings

from .test_components import BASE

ABROAD = """
[[population.regions]]
name = "Boston"
kind = "abroad"
tertiary = 2
staff_weight = 3.0
utc_offset_hours = -5
"""


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    path = tmp_path_factory.mktemp("tz") / "s.toml"
    path.write_text(BASE.replace("n_clinicians = 150", "n_clinicians = 400") + ABROAD)
    return sim.load_scenario(path)


@pytest.fixture(scope="module")
def model(scenario):
    return sim.build_model(scenario, seed=3)


def _abroad(model) -> np.ndarray:
    pop = model.pop
    return pop.fac_abroad[pop.facility]


def test_shifts_abroad_start_at_local_hours_on_the_run_clock(model, scenario):
    pop, away = model.pop, _abroad(model)
    assert away.sum() > 20 and pop.local_offset is not None
    np.testing.assert_array_equal(pop.local_offset[away], -13.0)  # UTC-5 is 13 h behind China
    np.testing.assert_array_equal(pop.local_offset[~away], 0.0)
    cfg = scenario.population
    local_start = np.mod(pop.work_start[away] + pop.local_offset[away], 24.0)
    # day, evening and night shifts start at 8, 16 or 24 (= 0) o'clock local time
    assert set(np.unique(local_start)) <= {np.float32(cfg.work_start_hour + s) % 24 for s in (0.0, 8.0, 16.0)}
    np.testing.assert_allclose(pop.work_end - pop.work_start, cfg.work_end_hour - cfg.work_start_hour)
    assert (pop.work_start[away] >= 0).all() and (pop.work_start[away] < 24).all()


def test_at_china_midnight_members_abroad_are_awake_and_at_home_asleep(model):
    away = _abroad(model)
    model.clock.start_hour = 23.75  # the middle of the first step is 00:00-ish China time
    hour = model.clock.hour
    local = np.mod(hour + model.pop.local_offset, 24.0)
    up = awake(model)
    assert isinstance(up, np.ndarray)
    np.testing.assert_array_equal(up, (local >= 7) & (local < 23))
    assert up[away].all() and not up[~away].any()  # 11:00 in Boston
    rate = read_rate(model)
    day = model.pop.reads_per_day * 1.5  # 24 / 16 waking hours
    np.testing.assert_allclose(rate[away], day[away], rtol=1e-6)
    on_shift = in_hours(hour, model.pop.work_start, model.pop.work_end)
    np.testing.assert_allclose(rate[~away & ~on_shift], day[~away & ~on_shift] * 0.2, rtol=1e-6)


def test_rate_and_duty_of_some_are_their_values_computed_alone(model):
    who = np.array([0, 5, 5, 17, model.pop.n - 1])
    for step in range(13):  # every hour of a 2-hour step, twice, through the hourly caches
        model.clock.step = step
        rate, duty = rate_and_duty(model, who)
        assert np.array_equal(rate, read_rate(model, who)) and rate.dtype == read_rate(model, who).dtype
        assert np.array_equal(duty, at_work(model, who))
    model.clock.step = 0


@pytest.mark.parametrize("compiled", [True, False])
def test_engaged_rates_are_the_numpy_of_the_rates_and_duty(model, compiled):
    from sim.processes.diagnosis.answer_kernels import engaged_rates

    from .reference_arrays import engaged_rate

    kernel = engaged_rates if compiled else engaged_rates.py_func
    rng = np.random.default_rng(9)
    n = model.pop.n
    oncall, reads_oncall = rng.random(n) < 0.2, rng.choice([0.0, 0.01, 2.0], n)
    today = rng.integers(0, 4, n).astype(np.int32)
    for step in range(13):  # every hour of a 2-hour step, twice, through the hourly caches
        model.clock.step = step
        who = np.unique(rng.integers(0, n, 300))
        for cap in (0, 2):
            want = engaged_rate(model, who, oncall, reads_oncall, today, 0.3, cap)
            got = kernel(who, *rate_parts(model), oncall, reads_oncall, today, 0.3, cap)
            assert np.array_equal(got, want) and got.dtype == want.dtype
            assert (want == 0).any() == (cap > 0)  # the cap stops some
    model.clock.step = 0


def test_answers_abroad_are_off_hours_by_local_time(scenario):
    scen = scenario.model_copy(deep=True)
    for t in ("primary", "secondary", "tertiary"):
        setattr(scen.diagnosis.case_rate_per_facility_per_day, t, 3.0)
    res = sim.run(scen, seed=3)
    pop = sim.build_model(scen, seed=3).pop
    answers = res.tables["answers"]
    e = answers["expert"].to_numpy()
    away = pop.fac_abroad[pop.facility[e]]
    assert away.sum() >= 10  # members abroad answer
    hour = np.mod(scen.run.start_hour + answers["t_start"].to_numpy() * 24.0, 24.0)
    local_hour = np.mod(hour + pop.local_offset[e], 24.0)
    start_local = np.mod(pop.work_start[e] + pop.local_offset[e], 24.0)
    end_local = start_local + (pop.work_end[e] - pop.work_start[e])
    expected_off = ~in_hours(local_hour, start_local, end_local)
    np.testing.assert_array_equal(answers["offhours"].to_numpy()[away], expected_off[away])


def test_a_region_abroad_without_a_time_zone_is_warned_about(scenario):
    plain = scenario.model_copy(deep=True)
    plain.population.regions[-1].utc_offset_hours = None
    (line,) = [w for w in scenario_warnings(plain) if "utc_offset_hours" in w]
    assert "Boston" in line and "UTC+8" in line
    assert not [w for w in scenario_warnings(scenario) if "utc_offset_hours" in w]
    assert sim.build_model(plain, seed=3).pop.local_offset is None


@pytest.mark.parametrize(
    ("step_minutes", "hours"), [(120, [h + 1.0 for h in range(0, 24, 2)]), (60, [h + 0.5 for h in range(24)])]
)
def test_the_clock_hour_is_exact_all_year(step_minutes, hours):
    """The middle of a step falls on the same hour every day: a year of 2-hour steps has the 12
    odd hours exactly (days in floating point gave 16.999... on some days, so a shift ending at
    17:00 was on duty at that step on some days only)."""
    from sim.clock import Clock

    clock = Clock(step_days=step_minutes / 1440)
    seen = set()
    for _ in range(365 * 24 * 60 // step_minutes):
        seen.add(clock.hour)
        clock.advance()
    assert sorted(seen) == hours


def test_the_clock_hour_follows_the_step_and_the_settings_once_asked():
    """The hour is made once a step and kept: it is made again when the step, the step length
    or the start hour changes, whoever changes them (a test sets ``step`` itself)."""
    from sim.clock import Clock

    clock = Clock(step_days=2 / 24, start_hour=8.0)
    assert clock.hour == 9.0 and clock.hour == 9.0
    clock.advance()
    assert clock.hour == 11.0
    clock.step = 8
    assert clock.hour == 1.0  # 8 + 8.5 * 2 = 25 -> 1 o'clock
    clock.step_days = 1 / 24
    assert clock.hour == 16.5
    clock.start_hour = 0.0
    assert clock.hour == 8.5


def _as_computed_alone(model, who):
    """The read rate and the chance to read in a step as computed for ``who`` alone (the
    float32 operations the values kept per run and per hour must reproduce)."""
    pop = model.pop
    factor = np.where(at_work(model, who) | awake(model, who), 1.0, model.config.population.night_activity)
    rate = pop.reads_per_day[who] * (24.0 / 16.0) * factor.astype(np.float32)
    return rate, -np.expm1(-rate * model.clock.step_days)


@pytest.mark.parametrize("cache_bytes", [64 << 20, 0])  # kept per hour, and a population too large for that
def test_read_rates_and_chances_equal_those_computed_alone(model, monkeypatch, cache_bytes):
    from sim import activity

    monkeypatch.setattr(activity, "HOURLY_CACHE_BYTES", cache_bytes)
    for name in ("_hourly_cache", "_hourly_bytes", "_day_and_night"):
        model.__dict__.pop(name, None)
    rng = np.random.default_rng(8)
    everyone = np.arange(model.pop.n)
    for step in range(13):  # every hour of a 2-hour step, twice
        model.clock.step = step
        for who in (everyone, rng.integers(0, model.pop.n, 1), rng.integers(0, model.pop.n, 37)):
            rate, prob = _as_computed_alone(model, who)
            for got, want in ((read_rate(model, who), rate), (activity.read_prob(model, who), prob)):
                assert np.array_equal(got, want) and got.dtype == want.dtype == np.float32
            assert np.array_equal(read_rate(model)[who], rate)
            assert np.array_equal(activity.read_prob(model)[who], prob)
            got_rate, duty = rate_and_duty(model, who)
            assert np.array_equal(got_rate, rate) and np.array_equal(duty, at_work(model, who))
    model.clock.step = 0
    for name in ("_hourly_cache", "_hourly_bytes", "_day_and_night"):
        model.__dict__.pop(name, None)
