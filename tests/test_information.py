"""Guidelines, rumors and corrections: directional checks, edge cases, trails, classical cases.

Directional checks run paired replicates (replicate k of both arms shares its seed) and
require the mean paired difference to exceed 3 standard errors of that mean.
"""

import subprocess
import sys
import typing

import numpy as np
import pandas as pd
import pytest

import sim
from sim import load_scenario
from sim.cli import main
from sim.config import ScenarioError, scenario_to_toml
from sim.model import QunModel
from sim.population import REGION_KINDS
from sim.processes.information.cases import maki_thompson_never_heard, reed_frost_final_size, tambuscio_equilibrium
from sim.processes.information.config import (
    BELIEVES,
    CORRECTION_UNUSED,
    KIND_DEFAULTS,
    SPREAD_FIELDS,
    InformationConfig,
    ItemConfig,
    ModerationConfig,
    RegionKind,
    item_defaults,
)
from sim.rng import replicate_seeds
from sim.schema import ROLES, TIERS, is_setup_only
from sim.validation import CASES, evaluate

from .conftest import SCENARIOS

GD = SCENARIOS / "guangdong_study.toml"
# The Guangdong study's calibrated information settings back to the defaults: these checks are
# about the mechanisms under their default settings, on the study's population and groups.
_CALIBRATED = (
    "forget_prob_per_day",
    "verify_prob_per_day",
    "check_prob_per_day",
    "correction_effect_d",
    "persistent_share",
    "adopt_prob_per_day",
)
RUMOR_ONLY = [
    "run.duration_days=20",
    "run.step_minutes=120",
    "network.enabled=false",
    "diagnosis.enabled=false",
    'information.items=[{name="rumor", kind="rumor", start_day=1, n_seeds=4, credibility=0.4}]',
    *(f"information.{k}={InformationConfig.model_fields[k].default!r}" for k in _CALIBRATED),
]


def _metric(overrides, key, seeds):
    out = []
    for s in seeds:
        res = sim.run(load_scenario(GD, overrides), seed=s)
        out.append(res.metrics[key])
    return np.asarray(out, dtype=float)


def _clearly_greater(a, b):
    d = a - b
    se = d.std(ddof=1) / np.sqrt(d.size)
    assert d.mean() > 3 * se, f"mean difference {d.mean():.4f} not > 3 SE ({se:.4f}); {a} vs {b}"


SEEDS = replicate_seeds(2026, 8)


def test_more_literacy_fewer_believers():
    low = _metric([*RUMOR_ONLY, "population.literacy_mean=0.3"], "info_rumor_believer_days", SEEDS)
    high = _metric([*RUMOR_ONLY, "population.literacy_mean=0.8"], "info_rumor_believer_days", SEEDS)
    _clearly_greater(low, high)


def test_more_fact_checking_earlier_correction():
    # first-correction times are skewed (a rumor can smoulder for days): 16 pairs for power
    seeds = replicate_seeds(2027, 16)
    slow = [*RUMOR_ONLY, "information.check_prob_per_day=0.01", "information.verify_prob_per_day=0.01"]
    fast = [*RUMOR_ONLY, "information.check_prob_per_day=0.5", "information.verify_prob_per_day=0.5"]
    t_slow = _metric(slow, "info_rumor_t_first_correction", seeds)
    t_fast = _metric(fast, "info_rumor_t_first_correction", seeds)
    _clearly_greater(np.nan_to_num(t_slow, nan=20.0), t_fast)


def test_moderation_removes_posts_and_lowers_belief():
    base = RUMOR_ONLY
    moderated = [
        *RUMOR_ONLY,
        "information.moderation.enabled=true",
        "information.moderation.notice_prob=1.0",
        "information.moderation.delay_hours=1",
    ]
    _clearly_greater(
        _metric(base, "info_rumor_believer_days", SEEDS), _metric(moderated, "info_rumor_believer_days", SEEDS)
    )
    res = sim.run(load_scenario(GD, moderated), seed=SEEDS[0])
    assert res.metrics["info_removed_posts"] > 0 and res.metrics["info_pinned_corrections"] > 0


def test_simple_contagion_adopts_more_than_complex():
    items = 'information.items=[{name="g", kind="guideline", start_day=0, n_seeds=5, seed_tiers=["tertiary"]}]'
    base = ["run.duration_days=20", "run.step_minutes=120", "network.enabled=false", "diagnosis.enabled=false", items]
    seeds = replicate_seeds(2028, 16)
    simple = _metric([*base, "information.adoption_sources=1"], "info_g_p_adopted", seeds)
    complex_ = _metric(
        [*base, "information.adoption_sources=5", "information.discussion_posts=1000"], "info_g_p_adopted", seeds
    )
    _clearly_greater(simple, complex_)


def test_no_forwarding_nothing_beyond_the_seeds():
    res = sim.run(
        load_scenario(
            GD,
            [
                *RUMOR_ONLY,
                'information.items=[{name="rumor", kind="rumor", n_seeds=4, post_prob_per_day=0, '
                "direct_prob_per_day=0}]",
            ],
        ),
        seed=1,
    )
    assert res.metrics["info_rumor_p_heard"] * res.metrics["n_clinicians"] == pytest.approx(4)
    assert res.metrics["info_posts"] == 0 and res.metrics["info_deliveries"] == 0


def test_no_seeds_eligible_means_nothing_happens():
    impossible = dict(seed_region_kinds=["abroad"], seed_roles=["pharmacist"], seed_tiers=["primary"])
    items = (
        'information.items=[{name="rumor", kind="rumor", '
        + ", ".join(f"{k}={v!r}".replace("'", '"') for k, v in impossible.items())
        + "}]"
    )
    with pytest.raises(ScenarioError, match="rumor"):  # refused at load when it can be foreseen
        load_scenario(GD, [*RUMOR_ONLY, items])
    scen = load_scenario(GD, RUMOR_ONLY)  # and harmless when it cannot
    for key, value in impossible.items():
        setattr(scen.information.items[0], key, value)
    res = sim.run(scen, seed=1)
    assert res.metrics["info_rumor_p_heard"] == 0 and res.metrics["info_posts"] == 0


def test_purged_media_are_missed_and_asked_again():
    res = sim.run(
        load_scenario(
            GD,
            [
                "run.duration_days=10",
                "information.purge_days=0.05",
                "population.reads_per_day_median=0.5",
                'information.items=[{name="g", kind="guideline", media=true, n_seeds=10}]',
            ],
        ),
        seed=3,
    )
    assert res.metrics["info_purged_copies"] > 0 and res.metrics["info_reasked"] > 0


def test_event_log_rebuilds_a_cascade():
    scen = load_scenario(GD, ["run.duration_days=30", "network.enabled=false"])
    model = QunModel(scen, seed=4)
    model.run_model()
    ev = model.finish().tables["events"]
    net = model.net
    members = {g: set(net.members_of(g).tolist()) for g in range(net.n_groups)}
    # copies through a group reach only its members
    via_group = ev[ev["kind"].isin(["aware", "believe", "adopt", "correct"]) & (ev["group"] >= 0)]
    assert len(via_group) > 0
    assert all(
        r in members[g] and s in members[g]
        for r, s, g in zip(via_group["receiver"], via_group["sender"], via_group["group"], strict=True)
    )
    # every transmission's sender had the item (or its correction) no later than the receiver
    first = ev[ev["kind"].isin(["seed", "aware", "believe", "correct"])].groupby(["sender"])["t"].min()
    spread = ev[ev["kind"].isin(["aware", "believe"]) & (ev["sender"] != ev["receiver"])]
    tree = spread.groupby(["item", "receiver"]).first().reset_index()
    had = ev[ev["kind"].isin(["seed", "aware", "believe", "correct"])].groupby(["item", "receiver"])["t"].min()
    for item, sender, t in zip(tree["item"], tree["sender"], tree["t"], strict=True):
        assert had.get((item, sender), np.inf) <= t
    assert len(first) > 0
    # corrections are their own item, with the rumor as parent
    corr = ev[ev["item_name"].astype(str).str.endswith(":correction")]
    assert len(corr) > 0 and (corr["parent_item"] >= 0).all()


def test_case_report_reaches_administrators():
    # one seed: a third to a half of runs die out before the first post is noticed, so check
    # every run where the report took off, until two did (at most eight runs)
    took_off = 0
    for seed in range(1, 9):
        m = sim.run(load_scenario(GD, ["run.duration_days=30"]), seed=seed).metrics
        if m["info_case_report_p_aware"] < 0.5:
            continue
        took_off += 1
        assert m["info_case_report_p_admins_aware"] > 0
        assert m["info_case_report_t_first_admin"] >= 0
        if took_off == 2:
            break
    assert took_off >= 2


# ---------------------------------------------------------------- closed forms
def test_closed_forms():
    assert maki_thompson_never_heard() == pytest.approx(0.2031878, abs=1e-6)
    z = reed_frost_final_size(10**7, 2 / 10**7, 0.0 + 1e-9)
    assert z == pytest.approx(0.7968121, abs=1e-5)  # 1 - z = exp(-2 z)


@pytest.mark.parametrize("rule", ["tambuscio", "forget_first"])
def test_tambuscio_fixed_point_solves_the_mean_field_map(rule):
    beta, a, pv, pf = 0.5, 0.5, 0.05, 0.1
    # a believer's step: stay, forget (-> S) or verify (-> F)
    stay, verify = (1 - pf - pv, pv) if rule == "tambuscio" else ((1 - pf) * (1 - pv), (1 - pf) * pv)
    s, b, f = 0.98, 0.02, 0.0
    for _ in range(5000):
        r = (1 + a) * b / ((1 + a) * b + (1 - a) * f)
        s, b, f = (
            pf * (b + f) + (1 - beta) * s,
            beta * r * s + stay * b,
            beta * (1 - r) * s + verify * b + (1 - pf) * f,
        )
    assert (s, b, f) == pytest.approx(tambuscio_equilibrium(beta, a, pv, pf, rule), abs=1e-9)
    # above the threshold (2 a pf / (1 - a) exclusive; / ((1 - a)(1 - pf)) forget-first) the hoax dies out
    thr = 2 * a * pf / (1 - a) / (1 if rule == "tambuscio" else 1 - pf)
    assert tambuscio_equilibrium(beta, a, thr + 0.005, pf, rule)[1] == 0.0
    assert tambuscio_equilibrium(beta, a, thr - 0.005, pf, rule)[1] > 0.0


def test_correction_odds_ratio_in_walter_terms():
    from sim.processes.information.belief import correction_odds_ratio, stance_probabilities
    from sim.processes.information.config import InformationConfig

    assert correction_odds_ratio(0.40) == pytest.approx(2.066, abs=1e-3)  # Walter et al. 2021, d = 0.40
    cfg = InformationConfig(judgment_weight=0.7, correction_effect_d=0.40, beta=1.0)
    # one unit-weight correction read with the rumor: odds of not believing x exp(d pi / sqrt 3)
    for a in (-0.5, 0.0, 0.6):
        p0 = stance_probabilities(cfg, a, 1.0, 0.0)[0]
        p1 = stance_probabilities(cfg, a, 1.0, 1.0)[0]
        assert (p0 / (1 - p0)) / (p1 / (1 - p1)) == pytest.approx(correction_odds_ratio(0.40), rel=1e-9)
    # the textbook rule: without corrections every stance is belief
    tb = InformationConfig(belief_rule="tambuscio", beta=0.5)
    assert stance_probabilities(tb, -0.9, 1.0, 0.0)[0] == pytest.approx(0.5)


def test_belief_on_exposure_rises_with_credibility_and_sender_weight():
    from sim.processes.information.belief import stance_probabilities
    from sim.processes.information.config import InformationConfig

    cfg = InformationConfig()
    p = [float(stance_probabilities(cfg, a, 1.0, 0.0)[0]) for a in (-0.9, 0.0, 0.9)]
    assert p[0] < p[1] < p[2]
    assert stance_probabilities(cfg, 0.0, 2.0, 0.0)[0] > stance_probabilities(cfg, 0.0, 1.0, 0.0)[0]
    b, c, d = stance_probabilities(cfg, 0.3, 1.0, 0.5)
    assert b + c + d == pytest.approx(1.0)


def test_literacy_lowers_belief_in_a_run():
    # same seed, population literacy low vs high: fewer ever believe (a = credibility - (literacy - 0.5));
    # over 4 seeds the gap is several times its Monte Carlo spread (experiments/belief_response.py)
    base = ["diagnosis.enabled=false", "run.duration_days=15", "information.items.1.credibility=0.0"]
    lows, highs = [], []
    for seed in (1, 2, 3, 4):
        for lit, out in ((0.2, lows), (0.8, highs)):
            m = QunModel(
                load_scenario(SCENARIOS / "classroom.toml", [*base, f"population.literacy_mean={lit}"]), seed=seed
            )
            m.run_model()
            out.append(m.process("information").arrays.ever_believed[1].mean())
    assert np.mean(highs) < np.mean(lows)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    ["reed_frost", "maki_thompson", "tambuscio", "tambuscio_eradication", "tambuscio_forget_first", "first_exposure"],
)
def test_classical_case(name):
    res = evaluate(CASES[name])
    assert res.passed, res


def test_validate_command(capsys):
    assert main(["validate", "--case", "reed_frost", "--quick"]) == 0
    assert "reed_frost" in capsys.readouterr().out
    assert main(["validate", "--case", "nope"]) == 2


def test_validate_accepts_set(capsys):
    # the closed form follows the changed parameter: R0 = 3
    assert (
        main(
            [
                "validate",
                "--case",
                "reed_frost",
                "--quick",
                "--set",
                "information.items.0.notice_prob=0.006012024048096192",
            ]
        )
        == 0
    )
    line = next(row for row in capsys.readouterr().out.splitlines() if row.startswith("reed_frost"))
    from sim.processes.information.cases import reed_frost_mean_share

    assert float(line.split()[1]) == pytest.approx(reed_frost_mean_share(500, 3 / 499, 5)[0], abs=1e-4)


def test_final_believers_counted_from_state():
    res = sim.run(load_scenario(GD, RUMOR_ONLY), seed=5)
    states = res.tables["item_states"]
    believers = (states["state"] == "believes").mean()
    assert res.metrics["info_rumor_p_final_believers"] == pytest.approx(believers)
    assert BELIEVES == 1


def test_an_unrelated_setting_leaves_the_information_draws_unchanged():
    base = [o for o in RUMOR_ONLY if not o.startswith("diagnosis.")]
    runs = [
        sim.run(load_scenario(GD, base + extra), seed=3)
        for extra in (
            ["diagnosis.answer_mean_minutes=10"],
            ["diagnosis.answer_mean_minutes=60"],
            ["diagnosis.enabled=false"],
        )
    ]
    first = runs[0]
    assert first.metrics["dx_cases"] > 0 and first.metrics["info_rumor_p_heard"] > 0
    for other in runs[1:]:
        pd.testing.assert_frame_equal(first.tables["events"], other.tables["events"])
        pd.testing.assert_frame_equal(first.tables["item_states"], other.tables["item_states"])


# ---------------------------------------------------------------- outputs
def test_time_series_hold_item_and_tier_in_columns():
    res = sim.run(load_scenario(GD, RUMOR_ONLY), seed=2)
    ts = res.timeseries
    shares = ts[ts["metric"] == "p_believes"]
    assert set(shares["item"]) == {"rumor"} and set(shares["tier"]) == set(TIERS)
    counts = ts[ts["metric"] == "n_believes"]
    assert counts["tier"].isna().all() and counts["value"].max() > 0
    # the count is the tier shares times the tier sizes, at every recording time
    size = res.tables["agents"]["tier"].astype(str).value_counts()
    wide = shares.pivot_table(index="t", columns="tier", values="value")
    rebuilt = sum(wide[tier] * size.get(tier, 0) for tier in TIERS)
    np.testing.assert_allclose(rebuilt.to_numpy(), counts.set_index("t")["value"].loc[wide.index].to_numpy())


def test_metrics_keep_their_flat_names_and_carry_their_dimensions():
    model = QunModel(load_scenario(GD, RUMOR_ONLY), seed=2)
    model.run_model()
    out = model.finish()
    flat = out.metrics.flat()
    frame = out.metrics.frame()
    ever = frame[frame["metric"] == "info_p_ever_believed"]
    # one overall figure, one per role present, one per tier present: named as before
    assert ever["role"].notna().sum() == len(set(ever["role"].dropna())) >= 2
    for _, row in ever.iterrows():
        suffix = "".join(f"_{row[d]}" for d in ("tier", "role") if pd.notna(row[d]))
        assert flat[f"info_rumor_p_ever_believed{suffix}"] == row["value"]
    assert flat["summary_info_00"].startswith("rumor rumor: peak believers")
    assert flat["summary_info_zz"].startswith(f"messages: {flat['info_posts']:,} group posts")


# ---------------------------------------------------------------- schema
def test_the_schema_imports_no_numerics():
    code = "import sys, sim.processes.information.config; assert 'numba' not in sys.modules, 'numba imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_literal_values_match_the_population():
    assert typing.get_args(RegionKind) == REGION_KINDS


def test_item_defaults_by_kind():
    for kind in ("guideline", "case_report", "rumor"):
        defaults = item_defaults(kind)
        assert set(defaults) == set(SPREAD_FIELDS)
        item = ItemConfig(name="x", kind=kind)
        assert {f: item.setting(f) for f in SPREAD_FIELDS} == defaults == KIND_DEFAULTS[kind]
        assert ItemConfig(name="x", kind=kind, share_prob=0.01).setting("share_prob") == 0.01
    assert item_defaults("correction") == {}
    with pytest.raises(ValueError, match="unknown item kind"):
        item_defaults("meme")


@pytest.mark.parametrize(
    "field,value",
    [
        ("share_prob", "0.9"),
        ("post_prob_per_day", "0.1"),
        ("notice_prob", "1.0"),
        ("credibility", "0.5"),
        ("media", "true"),
    ],
)
def test_a_correction_refuses_settings_it_never_reads(field, value, capsys):
    items = (
        f'information.items=[{{name="r", kind="rumor"}}, {{name="c", kind="correction", target="r", {field}={value}}}]'
    )
    with pytest.raises(ScenarioError, match=f"{field}.*rumor's settings"):
        load_scenario(GD, [items])
    assert main(["show", str(GD), "--set", items]) == 2
    err = capsys.readouterr().err
    assert field in err and "Traceback" not in err
    assert field in CORRECTION_UNUSED


def test_a_resolved_scenario_with_a_correction_loads_again(tmp_path):
    scen = load_scenario(SCENARIOS / "classroom.toml")
    assert any(it.kind == "correction" for it in scen.information.items)
    path = tmp_path / "resolved.toml"
    path.write_text(scenario_to_toml(scen))
    assert load_scenario(path).information == scen.information


def test_settings_fixed_at_setup_are_marked():
    def fixed(section):
        return {name for name, f in section.model_fields.items() if is_setup_only(f)}

    assert fixed(InformationConfig) == {"enabled", "items", "event_log"}
    assert fixed(ItemConfig) == {"name", "kind", "target", "condition"}
    assert fixed(ModerationConfig) == set()


# ---------------------------------------------------------------- settings changed during a run
def _posts_after(model, day: float) -> int:
    ev = model.finish().tables["events"]
    return int((ev["kind"].isin(["post", "direct"]) & (ev["t"] > day)).sum())


def _run_to(model, day: float) -> None:
    while model.running and model.t < day - 1e-9:
        model.step()


def test_role_activity_changed_by_a_settings_intervention_takes_effect(tmp_path):
    silent = "{ " + ", ".join(f"{r} = 0.0" for r in ROLES) + " }"
    path = tmp_path / "s.toml"
    path.write_text(
        f'extends = "{GD}"\n[[interventions]]\nname = "settings"\nstart_day = 3\n'
        f'set = {{ "information.role_activity" = {silent} }}\n'
    )
    base = QunModel(load_scenario(GD, RUMOR_ONLY), seed=6)
    base.run_model()
    quiet = QunModel(load_scenario(path, RUMOR_ONLY), seed=6)
    quiet.run_model()
    assert _posts_after(base, 3.0) > 0  # without the change, sharers still post after day 3
    assert _posts_after(quiet, 3.0) == 0  # with no activity, nobody does


def test_item_settings_changed_during_a_run_take_effect():
    models = [QunModel(load_scenario(GD, RUMOR_ONLY), seed=6) for _ in range(2)]
    for m in models:
        _run_to(m, 3.0)
    rumor = models[1].config.information.items[0]
    rumor.post_prob_per_day, rumor.direct_prob_per_day = 0.0, 0.0
    for m in models:
        m.run_model()
    assert _posts_after(models[0], 3.0) > 0 and _posts_after(models[1], 3.0) == 0


@pytest.mark.parametrize("rule", ["judgment", "forget_first"])
def test_forgetting_verifying_and_checking_happen_at_their_per_step_chances(rule):
    """One step of verify_and_forget over 30,000 believers, holders of the correction and
    doubters: how many forget, verify and check is binomial with the per-clinician chances
    (literacy-weighted), within 4 standard errors; those whose state moved in the step do nothing."""
    from sim.processes.information import belief
    from sim.processes.information.config import CORRECTED, DOUBTS, LITERACY_REF
    from sim.processes.information.state import per_step

    rates = ["information.forget_prob_per_day=0.3", "information.verify_prob_per_day=0.4"]
    rates.append("information.check_prob_per_day=0.5")
    over = [*RUMOR_ONLY, "population.n_clinicians=30000", f'information.belief_rule="{rule}"', *rates]
    model = QunModel(load_scenario(GD, over), seed=8)
    p, pop, dt = model.process("information"), model.pop, model.clock.step_days
    j = p.catalog.rumors[0]
    rng = np.random.default_rng(3)
    start = rng.choice(np.array([BELIEVES, CORRECTED, DOUBTS], np.int8), pop.n)
    p.arrays.state[j] = start
    moved = rng.random(pop.n) < 0.05  # changed state earlier in the step: left alone
    p.arrays.state[j, moved] = 0
    before = p.arrays.state[j].copy()
    belief.verify_and_forget(p, model, {j: start.copy()}, 1.0, dt)
    after = p.arrays.state[j]
    assert np.array_equal(after[moved], before[moved])
    lit = pop.literacy / LITERACY_REF  # heterogeneity is on
    pf = per_step(0.3, dt)
    pv = np.clip(per_step(0.4, dt) * lit, 0, 1)
    pc = np.clip(per_step(0.5, dt) * lit, 0, 1)
    bel, cor, dou = (~moved & (start == s) for s in (BELIEVES, CORRECTED, DOUBTS))
    if rule == "forget_first":
        p_verify = (1 - pf) * pv  # verify when not forgetting
    else:
        p_verify = np.minimum(pf + pv, 1) - pf  # exclusive: all of 1 - p_f when p_f + p_v > 1
    cases = (
        (bel & (after == DOUBTS), np.full(pop.n, pf), bel),
        (cor & (after == DOUBTS), np.full(pop.n, pf), cor),
        (bel & (after == CORRECTED), p_verify, bel),
        (dou & (after == CORRECTED), pc, dou),
    )
    for got, chance, among in cases:
        q = chance[among]
        expected, sd = q.sum(), np.sqrt((q * (1 - q)).sum())
        assert abs(int(got.sum()) - expected) < 4 * sd, (int(got.sum()), expected, sd)
    # nobody else moved: believers forget or verify, holders forget, doubters check
    assert not (bel & ~np.isin(after, [BELIEVES, DOUBTS, CORRECTED])).any()
    assert not (dou & ~np.isin(after, [DOUBTS, CORRECTED])).any()


def test_considering_lists_append_in_buffers_as_concatenation_would():
    """Staged adoption appends each step's newcomers to long lists in buffers with room; the
    lists are what concatenation gives, whether the list is the buffer's start (compacted in
    place, cut) or a fresh array (recomputed), and a buffer holds at most a quarter more than the
    longest list (and 64)."""
    from sim.processes.information.adoption import _append

    rng = np.random.default_rng(3)
    buf, view, ref = np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    in_place = longest = 0
    for step in range(300):
        more = rng.integers(0, 1000, int(rng.integers(0, 20)))
        before = buf
        buf, view = _append(buf, view, more)
        in_place += buf is before
        ref = np.concatenate([ref, more])
        assert np.array_equal(view, ref) and view.base is buf
        longest = max(longest, view.size)
        assert buf.size <= longest + longest // 4 + 64
        m = int(rng.integers(view.size // 2, view.size + 1))  # those who decided leave
        view, ref = view[:m], ref[:m]
        if step % 9 == 0:
            view = view.copy()  # a list made afresh
    assert in_place > 200  # most appends wrote into the buffer


@pytest.mark.parametrize(
    "overrides",
    [[], ["trust.enabled=true", "information.moderation.enabled=true", "information.reading=immediate"]],
    ids=["shipped", "mechanisms"],
)
def test_the_sharer_index_is_every_clinician_sharing_after_every_step(overrides):
    """Posting reads each item's sharers from an index kept by every change of ``active``
    to true (reading, rumors' beliefs and verification, seeds, broadcasts), not from a pass
    over every clinician: after every step of a run with all of them it is that pass."""
    model = QunModel(load_scenario(GD, overrides), seed=SEEDS[0])
    arrays = model.process("information").arrays
    seen = 0
    while model.running:
        model.step()
        for j in range(arrays.active.shape[0]):
            expected = np.flatnonzero(arrays.active[j])
            assert np.array_equal(arrays.sharers(j), expected), (model.clock.step, j)
            seen += expected.size
    assert seen > 0  # sharers there were
