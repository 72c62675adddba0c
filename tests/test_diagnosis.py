"""The diagnosis process: settings, mechanics, invariants, M/M/c, time resolution, directions.

Statistical assertions compare replicate statistics with fixed seeds. Tolerances come
from the Monte Carlo error of the replicates: a paired (same seed, hence same cases and
network) difference d over R replicates has standard error se = sd(d) / sqrt(R); an
"unchanged" check allows |mean d| <= 3.29 se (two-sided 99.9%); a "direction" check
asks mean d beyond 3 se the stated way (one-sided; the effects measured
when the tests were written are 5.5-12 se, so a correct engine fails with probability
< 1%). Each check is deterministic given its seeds.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from sim.cli import main as cli_main
from sim.components import Outputs
from sim.config import ScenarioError, load_scenario
from sim.model import QunModel
from sim.processes.diagnosis.combining import p_correct, weights
from sim.processes.diagnosis.config import DiagnosisConfig
from sim.processes.diagnosis.mmc import (
    erlang_c,
    mean_wait_days,
    mmc_mean_wait,
    mmc_params,
    mmc_stationary,
    mmc_transient_tv,
)
from sim.processes.diagnosis.routing import chain_next
from sim.processes.diagnosis.survival import km_quantile, km_share_by, km_summary
from sim.results import Metrics
from sim.rng import replicate_seeds
from sim.schema import ROLES
from sim.validation import CASES, evaluate, scenario_dir

from .reference_arrays import first_at_or_after, lookup

ROOT = Path(__file__).resolve().parent.parent
Z999 = 3.29

# A rural county (8 township clinics and a county hospital) under a city with a tertiary
# and a secondary hospital; staff less concentrated in the city than beds (exponent 0.3),
# so the clinics have enough clinicians for groups of their own. Cases only at the clinics.
RURAL = """
[run]
name = "rural"
duration_days = 30
step_minutes = 60
agent_objects = false

[population]
n_clinicians = 200
staff_exponent = 0.3

[[population.regions]]
name = "City"
kind = "city"
secondary = 1
tertiary = 1

[[population.regions]]
name = "County"
kind = "rural"
primary = 8
secondary = 1
referral_hub = "City"

[groups]
n_conferences = 2

[diagnosis]
case_rate_per_100_beds_per_day = { primary = 0.0, secondary = 0.0, tertiary = 0.0 }
case_rate_per_facility_per_day = { primary = 1.5 }
"""
# general-medicine cases: the specialty that embed_specialists brings to rural groups
GM = "diagnosis.specialty_weights={general_medicine=1.0}"
EMBED = 'interventions=[{name="embed_specialists",params={per_group=3}}]'


@pytest.fixture(scope="module")
def rural_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("scen") / "rural.toml"
    path.write_text(RURAL)
    return path


_RUNS: dict = {}


def run_model(path, sets=(), seed=1) -> QunModel:
    """Run (cached per module run) and return the finished model."""
    key = (str(path), tuple(sets), seed)
    if key not in _RUNS:
        model = QunModel(load_scenario(path, list(sets)), seed=seed)
        model.run_model()
        _RUNS[key] = model
    return _RUNS[key]


def finish(model, name: str = "diagnosis") -> Outputs:
    """What a process hands over at the end of the run (metrics and tables)."""
    out = Outputs(metrics=Metrics())
    model.process(name).finish(model, out)
    return out


def dx_metrics(model) -> dict:
    """The diagnosis metrics by flat name, as in metrics.json."""
    return finish(model).metrics.flat()


def restricted_mean_hours(model, tier: int = 0, cap_hours: float = 48.0) -> float:
    """Mean of min(time to diagnosis, cap) over consulted cases of a tier that arrived at
    least ``cap`` before the end (so every one is observed up to the cap: no censoring)."""
    cases = model.process("diagnosis").cases_frame(model)
    sel = cases["consulted"] & (cases["tier"].cat.codes == tier) & (cases["t_arrival"] < model.t - cap_hours / 24)
    t = cases.loc[sel, "time_to_diagnosis_hours"].fillna(np.inf).to_numpy()
    return float(np.minimum(t, cap_hours).mean())


def paired(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    d = np.asarray(b, float) - np.asarray(a, float)
    return float(d.mean()), float(d.std(ddof=1) / math.sqrt(d.size))


# ------------------------------------------------------------------------ settings
def test_defaults_are_valid_and_documented():
    cfg = DiagnosisConfig()
    assert cfg.enabled and cfg.groups and cfg.routes == ["local", "group", "contact", "referral"]
    for name, field in DiagnosisConfig.model_fields.items():
        assert field.default is not None or field.default_factory is not None, name


@pytest.mark.parametrize(
    "routes, msg",
    [
        ([], "at least one"),
        (["group", "local"], "'local' can only be the first"),
        (["referral", "group"], "'referral' can only be the last"),
        (["group", "group"], "must not repeat"),
    ],
)
def test_route_chain_is_checked(routes, msg):
    with pytest.raises(ValidationError, match=msg):
        DiagnosisConfig(routes=routes)


def test_bad_settings_name_the_field(rural_path):
    with pytest.raises(ScenarioError, match=r"diagnosis\.group_answer_prob"):
        load_scenario(rural_path, ["diagnosis.group_answer_prob=1.5"])
    with pytest.raises(ScenarioError, match=r"diagnosis\.no_such_setting"):
        load_scenario(rural_path, ["diagnosis.no_such_setting=1"])
    with pytest.raises(ScenarioError, match="equipment_need must sum to 1"):
        load_scenario(rural_path, ["diagnosis.equipment_need=[0.5, 0.2, 0.1]"])
    with pytest.raises(ScenarioError, match="vote_accuracy"):
        load_scenario(rural_path, ["diagnosis.vote_accuracy=0.2"])  # below guessing, 1/4


def test_chain_next_follows_routes_and_the_groups_switch():
    nxt = lambda **kw: list(chain_next(DiagnosisConfig(**kw)))  # noqa: E731
    # codes: -1 none, 0 local, 1 group, 2 contact, 3 referral; entry k is next after code k-1
    assert nxt() == [1, 1, 2, 3, -1]
    assert nxt(groups=False) == [3, 3, 3, 3, -1]
    assert nxt(routes=["group"]) == [1, 1, -1, -1, -1]
    assert nxt(routes=["local", "contact", "group"]) == [2, 2, -1, 1, -1]


# ---------------------------------------------------------------------- mechanics
def test_combining_answers():
    # the posterior's numpy statement; the compiled passes of the combination equal it bit for bit
    # (test_speed_kernels.test_compiled_combination_equals_scores_posterior_accept)
    from .reference_arrays import combine_posterior

    cfg = DiagnosisConfig()  # K = 3 wrong diagnoses
    # one answer weighted by its confidence c: posterior of its label is exactly c
    for c in (0.3, 0.6, 0.9):
        w = weights(cfg, 4, np.array([c]))
        lead, conf = combine_posterior(np.array([[w[0], 0, 0, 0]]))
        assert lead[0] == 0 and conf[0] == pytest.approx(c)
    # majority: equal votes of accuracy v = 0.7; two agree: 49 / (49 + 3)
    cfg.combine = "majority"
    w = weights(cfg, 4, np.array([0.99, 0.3]))
    assert w[0] == w[1] == pytest.approx(math.log(7))
    lead, conf = combine_posterior(np.array([[2 * w[0], 0, 0, 0], [w[0], w[0], 0, 0]]))
    assert conf[0] == pytest.approx(49 / 52) and conf[1] == pytest.approx(7 / 16)


def test_accuracy_rises_with_skill_and_falls_with_image_loss():
    cfg = DiagnosisConfig()
    p = p_correct(cfg, 4, np.array([0.2, 0.5, 0.8]), np.full(3, 0.5), np.zeros(3, bool), np.ones(3))
    assert np.all(np.diff(p) > 0) and p[1] == pytest.approx(0.25 + 0.75 / 2)
    q = p_correct(cfg, 4, np.full(3, 0.6), np.full(3, 0.5), np.zeros(3, bool), np.array([1.0, 0.6, 0.3]))
    assert np.all(np.diff(q) < 0)
    e = p_correct(cfg, 4, np.full(2, 0.6), np.full(2, 0.5), np.array([False, True]), np.ones(2))
    assert e[1] < e[0]


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_first_opening_at_or_after_matches_brute_force(data):
    n_owner = data.draw(st.integers(1, 4))
    times = st.floats(0, 1, allow_nan=False)
    ev = data.draw(st.lists(st.tuples(st.integers(0, n_owner - 1), times), max_size=12))
    qs = data.draw(st.lists(st.tuples(st.integers(0, n_owner - 1), times), min_size=1, max_size=12))
    owner = np.array([o for o, _ in ev], np.int64)
    when = np.array([t for _, t in ev], float)
    q_owner = np.array([o for o, _ in qs], np.int64)
    q_time = np.array([t for _, t in qs], float)
    got = first_at_or_after(owner, when, q_owner, q_time)
    for j, (o, t) in enumerate(qs):
        later = [w for (oo, w) in ev if oo == o and w >= t]
        assert got[j] == (min(later) if later else np.inf)


def test_lookup():
    keys, vals = np.array([2, 5, 9]), np.array([0.2, 0.5, 0.9])
    assert list(lookup(keys, vals, np.array([5, 1, 9, 10]), np.inf)) == [0.5, np.inf, 0.9, np.inf]


# ---------------------------------------------------------------- survival curves
def test_kaplan_meier_helpers_and_analysis_plot():
    # events at 1, 2, 3, 5 h, censored at 4 and 6 h: S = 5/6, 4/6, 3/6 (3 h), 3/6, 1/4, 1/4
    t = np.array([1, 2, 3, 5, 4, 6], float)
    obs = np.array([1, 1, 1, 1, 0, 0], bool)
    assert km_quantile(t, obs, 0.5) == 3.0
    assert km_quantile(t, obs, 0.9) is None  # S never reaches 0.1
    assert km_share_by(t, obs, 2.5) == pytest.approx(1 - 4 / 6)
    cases = pd.DataFrame(
        {
            "tier": ["a"] * 6,
            "time_to_diagnosis_hours": np.where(obs, t, np.nan),
            "censor_hours": np.where(obs, np.nan, t),
        }
    )
    row = km_summary(cases, by="tier").iloc[0]
    assert (row["cases"], row["diagnosed"], row["censored"], row["q50_hours"]) == (6, 4, 2, 3.0)
    import matplotlib

    matplotlib.use("Agg")
    from analysis.survival import compare_runs, plot_km

    ax = plot_km(cases, by="tier")
    drawn = [line for line in ax.lines if len(line.get_xdata())]  # seaborn adds empty legend proxies
    assert len(drawn) == 1 and ax.get_ylim()[0] == 0
    assert drawn[0].get_ydata()[0] == 1.0 and drawn[0].get_ydata()[-1] == pytest.approx(0.25)
    both = compare_runs({"on": cases, "off": cases.assign(time_to_diagnosis_hours=t, censor_hours=np.nan)})
    assert list(both["arm"]) == ["on", "off"] and list(both["q50_hours"]) == [3.0, 3.0]


# ------------------------------------------------------------------- invariants
def test_invariants_of_a_run(rural_path):
    sets = [
        "network.enabled=false",
        "diagnosis.referral_slots_per_100_beds_per_day=0.3",
        "diagnosis.answer_cap_per_day=3",
        "run.duration_days=20",
    ]
    m = run_model(rural_path, sets, seed=3)
    cfg, pop, net = m.config.diagnosis, m.pop, m.net
    proc = m.process("diagnosis")
    cases, ans = proc.cases_frame(m), proc.answers_frame()
    assert len(cases) > 100 and len(ans) > 100
    assert set(cases["route"].astype(str)) == {"local", "group", "contact", "referral", "unresolved"}
    workup = cfg.local_workup_hours / 24
    res = cases[cases["resolved"]]
    assert (res["t_diagnosis"] >= res["t_arrival"]).all() and (res["t_diagnosis"] <= m.t).all()
    loc = res[res["route"] == "local"]
    assert np.allclose(loc["t_diagnosis"], loc["t_arrival"] + workup)
    assert not (loc["lacks_equipment"]).any() and (loc["asker_skill"] >= loc["difficulty"]).all()
    unres = cases[~cases["resolved"]]
    assert np.allclose(unres["censor_hours"], (m.t - unres["t_arrival"]) * 24)
    # diagnosed by an answer: at the end of a counted answer of that route
    for route in ("group", "contact"):
        sub = res[res["route"] == route]
        ends = ans[ans["counted"] & (ans["route"] == route)].groupby("case")["t_end"].max()
        assert np.allclose(ends.reindex(sub["case"]).to_numpy(), sub["t_diagnosis"].to_numpy())
    # answers: never by the asker; one at a time per expert; after the post and the arrival
    asker = cases["asker"].to_numpy()[ans["case"]]
    assert (ans["expert"].to_numpy() != asker).all()
    assert np.isin(pop.role[ans["expert"]], [ROLES.index(r) for r in cfg.answer_roles]).all()
    for _, a in ans.sort_values("t_start").groupby("expert"):
        assert (a["t_start"].to_numpy()[1:] >= a["t_end"].to_numpy()[:-1] - 1e-12).all()
    R = proc.requests
    post = R["t_post"][ans["request"]]
    assert (ans["t_start"].to_numpy() >= post - 1e-12).all()
    assert (post >= cases["t_arrival"].to_numpy()[ans["case"]] + workup - 1e-12).all()
    assert ans.groupby("request").size().max() <= cfg.max_answers_per_request
    assert not ans.duplicated(["case", "expert"]).any()  # each opinion counts once per case
    # the request log keeps what the metrics need of the answers: minutes from the post to the
    # end of each request's first answer, and whether one came from abroad
    first_end = ans.groupby("request")["t_end"].min().reindex(np.arange(len(R))).to_numpy()
    wait = (first_end - R["t_post"]) * 24 * 60
    assert np.array_equal(R["first_answer_minutes"], wait, equal_nan=True) and np.isfinite(wait).sum() > 100
    by_abroad = pop.fac_abroad[pop.facility[ans["expert"]]]
    from_abroad = np.zeros(len(R), bool)
    from_abroad[ans["request"][by_abroad]] = True
    assert np.array_equal(R["abroad"], from_abroad)
    assert proc.counters["abroad"] == by_abroad.sum() and proc.counters["counted"] == ans["counted"].sum()
    # group answers come from unmuted members of that group with the case's specialty
    grp = ans[ans["route"] == "group"]
    member = set(zip(net.m_clinician[~net.m_muted].tolist(), net.m_group[~net.m_muted].tolist(), strict=True))
    assert all((e, g) in member for e, g in zip(grp["expert"], grp["group"], strict=True))
    assert (pop.specialty[grp["expert"]] == cases["specialty"].cat.codes.to_numpy()[grp["case"]]).all()
    # 1-on-1 answers come from a contact at a higher tier
    con = ans[ans["route"] == "contact"]
    assert len(con) > 0
    for e, c in zip(con["expert"], cases["asker"].to_numpy()[con["case"]], strict=True):
        assert e in set(m.contacts.of(c).tolist()) and pop.tier[e] > pop.tier[c]
    # off-hours flag from the start hour and the expert's hours
    hour = (m.clock.start_hour + ans["t_start"].to_numpy() * 24) % 24
    ws, we = pop.work_start[ans["expert"]], pop.work_end[ans["expert"]]
    on = ((hour >= ws) & (hour < we)) | (hour + 24 < we)
    assert (ans["offhours"].to_numpy() == ~on).all() and ans["offhours"].any()
    # the daily cap (days start at midnight; the run starts at 00:00)
    day = np.floor(ans["t_start"]).astype(int)
    assert ans.groupby([ans["expert"], day]).size().max() <= 3
    # referral visits: booked first come first served, one slot per 1/capacity days
    ref = cases[cases["t_referral_visit"].notna()].sort_values("t_referral")
    assert len(ref) > 20
    hops = ref["referral_hops"].to_numpy()
    visit = ref["t_referral_visit"].to_numpy()
    earliest = ref["t_referral"].to_numpy() + hops * cfg.referral_hop_travel_days + cfg.referral_lead_days
    assert (visit >= earliest + workup - 1e-9).all()
    queued = 0
    for f, g in ref.groupby("referral_facility"):
        gap = 100 / (cfg.referral_slots_per_100_beds_per_day * pop.fac_beds[f])
        v = g["t_referral_visit"].to_numpy()
        assert (np.diff(v) >= gap - 1e-9).all()
        queued += int(
            (
                v
                > g["t_referral"].to_numpy()
                + g["referral_hops"].to_numpy() * cfg.referral_hop_travel_days
                + cfg.referral_lead_days
                + workup
                + 1e-9
            ).sum()
        )
    assert queued > 0  # the small capacity made a queue
    by_ref = res[res["route"] == "referral"]
    assert np.allclose(by_ref["t_diagnosis"], by_ref["t_referral_visit"])
    # time series: counts never decrease; new cases add up
    ts = m.recorder.frame()
    for name in ("cum_dx_cases", "cum_dx_diagnosed", "cum_dx_answers", "cum_dx_referrals"):
        assert (np.diff(ts[ts["metric"] == name]["value"]) >= 0).all()
    assert ts[ts["metric"] == "new_dx_cases"]["value"].sum() == len(cases)
    metrics = dx_metrics(m)
    assert metrics["dx_cases"] == len(cases) and metrics["dx_answers"] == len(ans)
    assert 0 < metrics["dx_p_answers_offhours"] < 1 and metrics["dx_answers_after_diagnosis"] < 0.05 * len(ans)


def test_same_seed_same_run_and_other_processes_untouched():
    path = ROOT / "scenarios" / "guangdong_study.toml"
    a = run_model(path, ["run.duration_days=10"], seed=5)
    b = QunModel(load_scenario(path, ["run.duration_days=10"]), seed=5)
    b.run_model()
    pd.testing.assert_frame_equal(a.process("diagnosis").cases_frame(a), b.process("diagnosis").cases_frame(b))
    off = QunModel(load_scenario(path, ["run.duration_days=10", "diagnosis.enabled=false"]), seed=5)
    off.run_model()
    assert [p.name for p in off.processes] == ["network", "information", "reporting", "cost"]
    pd.testing.assert_frame_equal(a.net.memberships_frame(), off.net.memberships_frame())
    info_a, info_off = finish(a, "information").metrics.flat(), finish(off, "information").metrics.flat()
    assert info_a == info_off
    ts = a.recorder.frame()
    ts_off = off.recorder.frame()
    keep = ~ts["metric"].str.contains("_dx_")
    pd.testing.assert_frame_equal(ts[keep].reset_index(drop=True), ts_off.reset_index(drop=True))


def test_no_global_random_state_is_used(rural_path):
    np.random.seed(12345)
    random.seed(12345)
    np_state, py_state = np.random.get_state(), random.getstate()
    m = QunModel(load_scenario(rural_path, ["run.duration_days=3"]), seed=2)
    m.run_model()
    after = np.random.get_state()
    assert all(
        np.array_equal(x, y) if isinstance(x, np.ndarray) else x == y for x, y in zip(np_state, after, strict=True)
    )
    assert random.getstate() == py_state


def test_groups_off_leaves_only_referral(rural_path):
    on = run_model(rural_path, [GM], seed=11)
    off = run_model(rural_path, [GM, "diagnosis.groups=false"], seed=11)
    c_on, c_off = (m.process("diagnosis").cases_frame(m) for m in (on, off))
    # same cases (own arrivals stream), same local outcomes
    pd.testing.assert_frame_equal(
        c_on[["facility", "t_arrival", "difficulty", "asker"]], c_off[["facility", "t_arrival", "difficulty", "asker"]]
    )
    assert set(c_off["route"].astype(str)) <= {"local", "referral", "unresolved"}
    assert len(off.process("diagnosis").answers_frame()) == 0 and len(off.process("diagnosis").requests) == 0
    assert (c_off["route"] == "local").sum() == (c_on["route"] == "local").sum()
    assert (c_off["route"] == "referral").sum() > (c_on["route"] == "referral").sum()
    # consulted cases are referred at once, after the local assessment
    ref = c_off[c_off["t_referral"].notna()]
    assert np.allclose(ref["t_referral"], ref["t_arrival"] + off.config.diagnosis.local_workup_hours / 24)
    line = dx_metrics(off)["summary_dx_1"]
    assert "groups off" in line and "group 0%" in line


def test_cap_from_a_settings_intervention_starts_on_its_day(rural_path):
    iv = 'interventions=[{name="settings",start_day=10,set={"diagnosis.answer_cap_per_day"=1}}]'
    m = run_model(rural_path, [GM, iv, "run.duration_days=20"], seed=4)
    ans = m.process("diagnosis").answers_frame()
    per_day = ans.groupby([ans["expert"], np.floor(ans["t_start"]).astype(int)]).size()
    days = per_day.index.get_level_values(1)
    assert per_day[days < 10].max() > 1  # before the start: no cap binds
    assert per_day[days >= 10].max() == 1
    assert m.config.diagnosis.answer_cap_per_day == 1


def test_answer_roles_from_a_settings_intervention_take_effect_on_their_day(rural_path):
    """Who is asked and who treats (the asker) both follow ``answer_roles`` from the switch on:
    cases arriving before day 5 have the askers of the default roles, later ones those of a
    run with doctors only from the start (same cases: arrivals have their own stream); requests
    posted after the switch are answered by doctors only (earlier ones keep their askees)."""
    lab = "diagnosis.specialty_weights={laboratory=1.0,general_medicine=1.0}"
    iv = 'interventions=[{name="settings",start_day=5,set={"diagnosis.answer_roles"=["doctor"]}}]'
    sets = [lab, "run.duration_days=10"]
    both = run_model(rural_path, sets, seed=8)
    doctors = run_model(rural_path, [*sets, 'diagnosis.answer_roles=["doctor"]'], seed=8)
    switched = run_model(rural_path, [*sets, iv], seed=8)
    c_both, c_doc, c_sw = (m.process("diagnosis").cases_frame(m) for m in (both, doctors, switched))
    assert np.array_equal(c_both["t_arrival"], c_sw["t_arrival"])
    before = (c_sw["t_arrival"] < 5).to_numpy()
    assert np.array_equal(c_sw["asker"][before], c_both["asker"][before])
    assert np.array_equal(c_sw["asker"][~before], c_doc["asker"][~before])
    assert (c_both["asker"][~before] != c_doc["asker"][~before]).any()  # the roles matter for askers
    pop = switched.pop
    ans = switched.process("diagnosis").answers_frame()
    role = pop.role[ans["expert"].to_numpy()]
    late = switched.process("diagnosis").requests["t_post"][ans["request"]] >= 5  # asked after the switch
    assert (role[~late] == ROLES.index("lab_technician")).any()
    assert late.any() and (role[late] == ROLES.index("doctor")).all()


def test_metrics_carry_their_dimensions(rural_path):
    m = run_model(rural_path, [GM], seed=11)
    metrics = finish(m).metrics
    flat = metrics.flat()
    frame = metrics.frame()
    row = frame[(frame["metric"] == "dx_ttd_median_hours_consulted") & (frame["tier"] == "primary")]
    assert len(row) == 1 and row["value"].iloc[0] == flat["dx_ttd_median_hours_consulted_primary"]
    row = frame[(frame["metric"] == "dx_p") & (frame["route"] == "group")]
    assert len(row) == 1 and row["value"].iloc[0] == flat["dx_p_route_group"]
    row = frame[(frame["metric"] == "dx_p_within_24h") & (frame["specialty"] == "general_medicine")]
    assert len(row) == 1 and row["value"].iloc[0] == flat["dx_p_within_24h_spec_general_medicine"]
    # names that pack a dimension without its marker stay plain metrics
    assert frame.loc[frame["metric"] == "dx_accuracy_group", ["tier", "route"]].isna().all().all()
    assert set(flat) >= {"dx_accuracy_local", "dx_group_requests", "summary_dx_4"}


def test_the_settings_module_is_light():
    """The scenario schema imports neither the process nor numba (``qunsim show`` stays fast)."""
    import subprocess
    import sys

    code = (
        "import sys, sim.processes.diagnosis.config; "
        "assert 'numba' not in sys.modules and 'sim.processes.diagnosis.process' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_oncall_roster(rural_path):
    iv = (
        'interventions=[{name="oncall_roster",start_day=0,end_day=10,params={per_specialty=1}},'
        '{name="embed_specialists",params={per_group=3}}]'
    )
    m = run_model(rural_path, [GM, iv, "run.duration_days=12"], seed=6)
    proc = m.process("diagnosis")
    roster = m.interventions[0].members
    pop = m.pop
    # the most expert domestic tertiary clinician (answering roles) of each case specialty present
    roles = [ROLES.index(r) for r in m.config.diagnosis.answer_roles]
    tert = np.flatnonzero((pop.tier == 2) & np.isin(pop.role, roles) & (pop.specialty < 10))
    assert len(roster) == len(np.unique(pop.specialty[tert]))
    for r in roster:
        same = tert[pop.specialty[tert] == pop.specialty[r]]
        assert pop.expertise[r] == pop.expertise[same].max()
    assert not proc.experts.oncall.any()  # stopped at end_day
    ans = proc.answers_frame()
    mine = ans[ans["expert"].isin(roster) & (ans["t_start"] < 10)]
    assert len(mine) > 0 and mine["offhours"].mean() > 0.3  # they answer at night too
    ts = m.recorder.frame()
    assert ts[(ts["metric"] == "n_dx_oncall") & (ts["t"] > 0) & (ts["t"] <= 10)]["value"].eq(len(roster)).all()


def test_cli_run_reports_diagnosis(rural_path, tmp_path, capsys):
    out = tmp_path / "res"
    code = cli_main(["run", str(rural_path), "--out", str(out), "--quiet", "--set", "run.duration_days=4"])
    assert code == 0
    text = capsys.readouterr().out
    for words in ("diagnosis: ", "time to diagnosis, KM median/p90", "by route", "experts' burden"):
        assert words in text
    cases = pd.read_parquet(out / "cases.parquet")
    for col in (
        "case",
        "facility",
        "tier",
        "specialty",
        "difficulty",
        "needs_equipment",
        "t_arrival",
        "t_diagnosis",
        "route",
        "correct",
        "n_answers",
    ):
        assert col in cases.columns
    assert (out / "answers.parquet").exists()


# ------------------------------------------------------------------------ M/M/c
def test_erlang_c_closed_forms():
    assert erlang_c(1, 0.6) == pytest.approx(0.6)  # M/M/1: P(wait) = rho
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)  # (1/2 * 2) / (1 + 1 + 1)
    assert mmc_mean_wait(3.0, 5.0, 1) == pytest.approx(0.6 / 2.0)  # rho / (mu - lambda)
    pi, tail = mmc_stationary(2.0, 1.0, 3, 200)
    assert pi.sum() + tail == pytest.approx(1.0) and pi[3:].sum() + tail == pytest.approx(erlang_c(3, 2.0))
    # started empty, the distance to stationarity starts at 1 - pi_0 and only falls
    tv = [mmc_transient_tv(50.4, 24.0, 3, t) for t in (0.0, 0.1, 0.5, 2.0, 5.0)]
    assert tv[0] == pytest.approx(1 - pi_empty(50.4, 24.0, 3), rel=1e-9)
    assert all(np.diff(tv) < 0) and tv[-1] < 1e-5


def erlang_c_exact(c: int, a) -> float:
    """Erlang C in exact rational arithmetic (a reference with no rounding until the end)."""
    from fractions import Fraction

    a = Fraction(a)
    term, head = Fraction(1), Fraction(0)
    for k in range(c):
        head += term
        term = term * a / (k + 1)  # a^(k+1) / (k+1)!
    top = term * c / (c - a)
    return float(top / (head + top))


def test_erlang_c_does_not_overflow_and_matches_exact_references():
    from scipy.special import gammaln, logsumexp

    def old_formula(c, a):  # the textbook sum, as computed before (overflows at large c)
        terms = [a**k / math.factorial(k) for k in range(c)]
        top = a**c / math.factorial(c) * c / (c - a)
        return top / (sum(terms) + top)

    for c, a in ((1, 0.6), (3, 2.1), (10, 7.5), (50, 45.0), (120, 100.0)):
        assert erlang_c(c, a) == pytest.approx(old_formula(c, a), rel=1e-12)
    with pytest.raises(OverflowError):
        old_formula(400, 380.0)
    for c, a in ((400, 380.0), (400, 300.0), (2000, 1990.0)):
        exact = erlang_c_exact(c, a)
        k = np.arange(c)
        log_top = c * math.log(a) - gammaln(c + 1) + math.log(c / (c - a))
        log_space = math.exp(log_top - logsumexp(np.r_[k * math.log(a) - gammaln(k + 1), log_top]))
        assert 0 < exact < 1
        assert erlang_c(c, a) == pytest.approx(exact, rel=1e-10)
        assert log_space == pytest.approx(exact, rel=1e-9)


def pi_empty(lam, mu, c):
    a = lam / mu
    return 1 / (sum(a**k / math.factorial(k) for k in range(c)) + a**c / math.factorial(c) * c / (c - a))


def test_mmc_world_is_one_asker_and_c_experts():
    scen = load_scenario(scenario_dir() / "mmc.toml")
    lam, mu, c = mmc_params(scen)
    assert (lam, mu, c) == (50.4, 24.0, 3)
    m = QunModel(scen, seed=1)
    assert m.net.n_groups == 1 and m.net.sizes[0] == c + 1
    clinic = np.flatnonzero(m.pop.fac_tier[m.pop.facility] == 0)
    assert clinic.size == 1  # the asker
    assert m.process("diagnosis").case_rates(m).sum() == pytest.approx(lam)


def test_mmc_refuses_settings_that_break_the_model():
    scen = load_scenario(
        scenario_dir() / "mmc.toml", ['diagnosis.read_delay="openings"', "diagnosis.max_answers_per_request=2"]
    )
    with pytest.raises(ValueError, match=r"read_delay.*max_answers_per_request"):
        mmc_params(scen)


@pytest.mark.slow
def test_mmc_case_passes():
    res = evaluate(CASES["mmc"], replicates=12, seed=7)
    assert res.passed, res
    assert res.expected == pytest.approx(0.49234, abs=1e-4) and res.approx < 1e-5


@pytest.mark.slow
def test_mmc_mean_wait_at_one_day_steps():
    """Event times are exact, so even one-day steps give Erlang C's mean wait.

    Per replicate: total wait of arrivals in [5, 29) days per expected arrival (unbiased
    for the time-averaged mean wait; transient < 1e-6 d after the 5-day warm-up, see
    sim/processes/diagnosis/mmc.py); tolerance 3.29 standard errors of the replicate mean.
    """
    scen = load_scenario(scenario_dir() / "mmc.toml", ["run.step_minutes=1440"])
    waits = []
    for s in replicate_seeds(2024, 20):
        m = QunModel(scen.model_copy(deep=True), seed=s)
        m.run_model()
        waits.append(mean_wait_days(m))
    waits = np.array(waits)
    se = waits.std(ddof=1) / math.sqrt(waits.size)
    assert abs(waits.mean() - mmc_mean_wait(50.4, 24.0, 3)) <= Z999 * se


# ---------------------------------------------------------------- time resolution
@pytest.mark.slow
def test_time_to_diagnosis_does_not_depend_on_the_step(rural_path):
    """60- vs 15-minute steps, 10 paired seeds (same cases and network in both).

    Statistics per replicate: (a) restricted mean time to diagnosis of consulted cases,
    capped at 48 h; (b) mean time from a group post to its first answer, capped at 4 h (the
    cap keeps the long tail of night-time posts from drowning the within-hour timing).
    Each paired difference must lie within 3.29 of its standard errors. The check can
    fail: rounding answer times up to the end of their 60-minute step (what an engine
    that only knows steps would do) moves (b) far outside the tolerance.
    """
    sets = [GM, "run.duration_days=12", "diagnosis.case_rate_per_facility_per_day={primary=4.0}"]

    def first_answer_wait(m, quantize_days=None):
        proc = m.process("diagnosis")
        ans = proc.answers_frame()
        end = ans["t_end"].to_numpy()
        if quantize_days:
            end = np.ceil(end / quantize_days - 1e-9) * quantize_days
        first = pd.Series(end).groupby(ans["request"].to_numpy()).min()
        grp = np.flatnonzero(proc.requests["route"] == 1)
        w = (first.reindex(grp).to_numpy() - proc.requests["t_post"][grp]) * 24
        return float(np.minimum(np.nan_to_num(w, nan=np.inf), 4.0).mean())

    stats = {60: [], 15: [], "q": []}
    for s in replicate_seeds(77, 10):
        for step in (60, 15):
            m = QunModel(load_scenario(rural_path, [*sets, f"run.step_minutes={step}"]), seed=s)
            m.run_model()
            stats[step].append((restricted_mean_hours(m), first_answer_wait(m)))
            if step == 60:
                stats["q"].append(first_answer_wait(m, quantize_days=1 / 24))
                cases60 = m.process("diagnosis").cases_frame(m)
            else:
                cases15 = m.process("diagnosis").cases_frame(m)
        pd.testing.assert_frame_equal(
            cases60[["t_arrival", "facility", "difficulty"]], cases15[["t_arrival", "facility", "difficulty"]]
        )
    a, b = np.array(stats[60]), np.array(stats[15])
    for j in range(2):
        d, se = paired(a[:, j], b[:, j])
        assert abs(d) <= Z999 * se, (j, d, se)
    d, se = paired(np.array(stats["q"]), b[:, 1])
    assert abs(d) > Z999 * se  # the quantized engine would fail


# ----------------------------------------------------------------- directions
@pytest.mark.slow
def test_embedded_specialists_shorten_time_to_diagnosis_at_primary(rural_path):
    base, embed = [], []
    for s in replicate_seeds(31, 16):
        for arm, out in (([GM], base), ([GM, EMBED], embed)):
            m = run_model(rural_path, arm, seed=s)
            met = dx_metrics(m)
            out.append((restricted_mean_hours(m), met["dx_p_within_24h_consulted_primary"]))
    base, embed = np.array(base), np.array(embed)
    d, se = paired(base[:, 0], embed[:, 0])
    assert d < -3 * se  # shorter (restricted mean, hours)
    d, se = paired(base[:, 1], embed[:, 1])
    assert d > 3 * se  # more diagnosed within a day


@pytest.mark.slow
def test_answer_cap_lengthens_time_to_diagnosis_and_cuts_offhours_burden(rural_path):
    """A cap of one answer per expert per day, under a load where it binds (3 cases per
    clinic per day): longer restricted mean time to diagnosis, fewer off-hours answers
    (the burden; their share of all answers rises, as the cap removes day answers too)."""
    load = [GM, "diagnosis.case_rate_per_facility_per_day={primary=3.0}"]
    base, cap = [], []
    for s in replicate_seeds(31, 6):
        for arm, out in ((load, base), ([*load, "diagnosis.answer_cap_per_day=1"], cap)):
            m = run_model(rural_path, arm, seed=s)
            out.append((restricted_mean_hours(m), int(m.process("diagnosis").experts.n_offhours.sum())))
    base, cap = np.array(base, float), np.array(cap, float)
    d, se = paired(base[:, 0], cap[:, 0])
    assert d > 3 * se  # longer
    d, se = paired(base[:, 1], cap[:, 1])
    assert d < -3 * se  # fewer off-hours answers


@pytest.mark.slow
def test_no_groups_lengthens_time_to_diagnosis_in_the_rural_world(rural_path):
    on, off = [], []
    for s in replicate_seeds(31, 4):
        on.append(restricted_mean_hours(run_model(rural_path, [GM], seed=s)))
        off.append(restricted_mean_hours(run_model(rural_path, [GM, "diagnosis.groups=false"], seed=s)))
    d, se = paired(np.array(on), np.array(off))
    assert d > 3 * se


# ------------------------------------------------------------ escalation and patience
def test_patience_is_lognormal_by_tier_and_fixed_without_spread():
    from sim.processes.diagnosis.routing import draw_patience

    rng = np.random.default_rng(5)
    cfg = DiagnosisConfig(patience_tier_factor={"primary": 2.0, "secondary": 1.0, "tertiary": 0.5})
    tier = np.array([0, 1, 2, 0])
    fixed = draw_patience(rng, cfg, 24.0, tier)
    assert fixed.tolist() == [2.0, 1.0, 0.5, 2.0]  # days; no spread: the median exactly
    assert rng.random() == np.random.default_rng(5).random()  # and no number drawn
    cfg = DiagnosisConfig(patience_log_sd=0.8, patience_tier_factor={"primary": 2.0})
    n = 40_000
    x = draw_patience(np.random.default_rng(6), cfg, 12.0, np.zeros(n, np.int64))
    logs = np.log(x * 24.0)
    # mean of ln x: se = 0.8 / sqrt(n); sd of ln x: se ~ 0.8 / sqrt(2 n); 3.29 se each
    assert abs(logs.mean() - math.log(24.0)) < 3.29 * 0.8 / math.sqrt(n)
    assert abs(logs.std(ddof=1) - 0.8) < 3.29 * 0.8 / math.sqrt(2 * n)


def test_parallel_escalation_asks_group_and_contact_at_once_and_refers_after_its_patience(rural_path):
    m = run_model(rural_path, ['diagnosis.escalation="parallel"', "diagnosis.referral_patience_hours=6"], seed=2)
    proc = m.process("diagnosis")
    C, R = proc.cases, proc.requests
    consulted = np.flatnonzero(~np.isnan(C["t_first_request"]))
    assert consulted.size > 20
    # every request of a case is posted at the same time: its first escalation
    t_first = C["t_first_request"][R["case"]]
    assert np.array_equal(R["t_post"], t_first)
    both = np.intersect1d(R["case"][R["route"] == 1], R["case"][R["route"] == 2])
    assert both.size > 10  # group and 1-on-1 together
    # the referral starts 6 h after the requests (fixed patience)
    ref = consulted[~np.isnan(C["t_ref_entry"][consulted])]
    assert ref.size > 5
    assert np.allclose(C["t_ref_entry"][ref] - C["t_first_request"][ref], 6 / 24)
    # visits booked and then not needed are counted
    met = dx_metrics(m)
    cases = proc.cases_frame(m)
    booked = cases["t_referral_visit"].notna() & cases["resolved"] & (cases["route"] != "referral")
    assert met["dx_referrals_cancelled"] == int(booked.sum()) > 0
    assert "dx_referrals_cancelled" not in dx_metrics(run_model(rural_path, seed=2))  # serial: not reported


def test_parallel_escalation_without_anyone_to_ask_refers_at_once(rural_path):
    m = run_model(
        rural_path,
        ['diagnosis.escalation="parallel"', "diagnosis.referral_patience_hours=6", "diagnosis.groups=false"],
        seed=2,
    )
    C = m.process("diagnosis").cases
    ref = ~np.isnan(C["t_ref_entry"])
    assert ref.sum() > 10 and np.isnan(C["t_first_request"]).all()
    workup = m.config.diagnosis.local_workup_hours / 24
    assert np.allclose(C["t_ref_entry"][ref], C["t_arrival"][ref] + workup)


@pytest.mark.slow
def test_parallel_escalation_is_faster_at_primary_than_serial(rural_path):
    """Paired seeds: the restricted mean (48 h cap) of consulted primary cases falls by more
    than 3 se of the paired difference under parallel escalation."""
    seeds = replicate_seeds(11, 6)
    serial = [restricted_mean_hours(run_model(rural_path, seed=s), cap_hours=120) for s in seeds]
    par = [
        restricted_mean_hours(run_model(rural_path, ['diagnosis.escalation="parallel"'], seed=s), cap_hours=120)
        for s in seeds
    ]
    d, se = paired(np.array(serial), np.array(par))
    assert d < -3 * se, (d, se)


def test_parallel_escalation_case_closed_form_and_settings():
    from sim.processes.diagnosis.escalation_case import escalation_params, parallel_mean_minutes

    scen = load_scenario(scenario_dir() / "parallel_escalation.toml")
    p = escalation_params(scen)
    assert (p["lam"], p["mu"], p["k"], p["c"]) == (12.0, 24.0, 2.0, 100.0)
    # mean of min(Exp(r), D) by quadrature of the survival function exp(-r t) on [0, D]
    t = np.linspace(0, p["D"], 200_001)
    quad = np.trapezoid(np.exp(-2 * 24.0 * t), t) * 24 * 60
    assert parallel_mean_minutes(24.0, 2, p["D"]) == pytest.approx(quad, rel=1e-9)
    assert parallel_mean_minutes(24.0, 2, 1e6) == pytest.approx(30.0)  # no referral: mean of Exp(48/day)
    bad = load_scenario(scenario_dir() / "parallel_escalation.toml", ['diagnosis.escalation="serial"'])
    with pytest.raises(ValueError, match="escalation"):
        escalation_params(bad)


@pytest.mark.slow
def test_parallel_escalation_case_passes():
    from sim.validation import registered_cases

    res = evaluate(registered_cases()["parallel_escalation"], replicates=12, seed=7)
    assert res.passed, res
    assert res.expected == pytest.approx(18.9636, abs=1e-3) and res.approx < 0.02 * res.expected


def test_compacted_tables_keep_their_room_until_a_burst_has_passed():
    """The pairs (and the answers in flight) are compacted in place, by a compiled pass and
    ``kept_first``: the rows kept are those not dropped, in order; the buffers keep their
    room, and give it back once they hold more than eight times the rows (and the floor)."""
    from sim.processes.diagnosis.config import DROPPED
    from sim.processes.diagnosis.resolution_kernels import settle_dropped
    from sim.processes.diagnosis.state import COMPACT_ROOM_MIN, PAIR_SPEC, kept_first
    from sim.table import Table

    def settle(t: Table, gone: np.ndarray) -> None:  # as DxState.settle_pairs does
        t["state"][gone] = DROPPED
        kept_first(t, settle_dropped(t.columns(), DROPPED, True))

    t = Table(PAIR_SPEC)
    n = 20 * COMPACT_ROOM_MIN
    t.append(req=np.arange(n), exp=np.arange(n) % 7, state=0, ready=0.5, quality=1.0, willing=False)
    cap = t.capacity
    keep = np.arange(n) % 3 != 0
    settle(t, ~keep)
    assert np.array_equal(t["req"], np.arange(n)[keep]) and t.capacity == cap  # room kept
    settle(t, np.arange(len(t)) >= 10)  # the burst has passed
    assert len(t) == 10 and np.array_equal(t["req"], np.arange(n)[keep][:10])
    assert np.array_equal(t["exp"], (np.arange(n) % 7)[keep][:10]) and (t["state"] == 0).all()
    assert t.capacity == 2 * COMPACT_ROOM_MIN


def test_group_stock_is_made_again_only_when_what_it_is_made_of_changed(monkeypatch):
    """The stock of the groups follows the network and the roles at once, and at a new day
    the mutes, answering flags and expertise (an intervention may change these); a new day
    with none of them changed keeps the stock it has."""
    from sim.processes.diagnosis import kernels as DK
    from sim.processes.diagnosis.routing import GroupStock

    model = QunModel(load_scenario(ROOT / "scenarios" / "classroom.toml"), seed=3)
    net, pop, staff = model.net, model.pop, model.process("diagnosis").staff
    real, made = DK.group_stock, []
    monkeypatch.setattr(DK, "group_stock", lambda *args: made.append(args) or real(*args))
    G = GroupStock()

    def current() -> bool:  # the stock equals one made from the inputs as they are now
        count, skill, count_all, skill_all = real(
            *made[-1][:3], staff.answering, pop.specialty, pop.expertise, *made[-1][6:]
        )
        return (
            np.array_equal(G.count_all, count_all)
            and np.array_equal(G.skill_all, skill_all)
            and np.array_equal(G.count, count[:, : G.count.shape[1]])
            and np.array_equal(G.skill, skill[:, : G.skill.shape[1]])
        )

    G.update(net, pop, staff, 0)
    assert len(made) == 1 and current()
    G.update(net, pop, staff, 1)  # a new day, nothing changed: kept
    assert len(made) == 1
    who = net.m_clinician[~net.m_muted & staff.answering[net.m_clinician]][:5]
    pop.expertise[who] += np.float32(0.25)  # as a training session does
    G.update(net, pop, staff, 1)  # the same day: kept until the next
    assert len(made) == 1 and not current()
    G.update(net, pop, staff, 2)
    assert len(made) == 2 and current()
    net.m_muted[np.flatnonzero(~net.m_muted)[:3]] = True  # mutes written without a rebuild of the index
    G.update(net, pop, staff, 3)
    assert len(made) == 3 and current()
    staff.update(["doctor"])  # other answering roles: at once
    G.update(net, pop, staff, 3)
    assert len(made) == 4 and current()
    net.version += 1  # the network changed: at once
    G.update(net, pop, staff, 3)
    assert len(made) == 5
