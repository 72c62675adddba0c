"""The teaching page without a browser: the adapter over the model, the bounded settings,
the exported scenario, the many-seed statistics, the texts and the figures."""

from __future__ import annotations

import string
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from sim.config import ScenarioError, load_scenario
from sim.demo import controls, engine, ensemble, export, figures, i18n, lessons, page
from sim.paths import shipped_scenario

CLASSROOM = shipped_scenario("classroom")


@pytest.fixture(scope="module")
def classroom():
    return load_scenario(CLASSROOM)


def _rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Tidy rows in a canonical order, for exact comparison."""
    c = engine.tidy_series(frame)
    c = c.assign(item=c["item"].fillna(""), tier=c["tier"].fillna(""))
    return c.sort_values(["t", "metric", "item", "tier"], kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------- series
def test_tidy_columns_reads_packed_and_dimensioned_frames_alike():
    packed = pd.DataFrame(
        {"t": [0.0, 1.0], "metric": ["p_aware/guideline/primary", "n_aware/guideline"], "value": [0.5, 3.0]}
    )
    dims = pd.DataFrame(
        {
            "t": [0.0, 1.0],
            "metric": ["p_aware", "n_aware"],
            "item": ["guideline", "guideline"],
            "tier": pd.array(["primary", None], dtype="string"),
            "value": [0.5, 3.0],
        }
    )
    a, b = engine.tidy_columns(packed), engine.tidy_columns(dims)
    for key in ("metric", "item", "tier"):
        assert list(a[key]) == list(b[key])
    assert list(a["tier"]) == ["primary", None]
    np.testing.assert_array_equal(a["value"], b["value"])


# ------------------------------------------------------------------ controls
def test_build_scenarios_clamps_every_value_into_its_bounds(classroom):
    limits = controls.LIMITS
    wild = {
        "n_clinicians": 10**9,
        "duration": -5,
        "literacy": float("nan"),
        "rumor_credibility": 7,
        "moderation": 1,
        "no_such_control": 3,
    }
    base, iv = controls.build_scenarios(classroom, wild, seed=-4)
    assert iv is None
    assert base.population.n_clinicians == limits.max_clinicians
    assert base.run.duration_days == limits.min_duration_days
    assert base.population.literacy_mean == 0.05  # NaN -> the low end
    rumor = next(it for it in base.information.items if it.kind == "rumor")
    assert rumor.credibility == 0.9
    assert base.information.moderation.enabled is True
    assert base.run.seed == 0
    assert base.run.record_every_hours <= limits.record_every_hours


def test_intervention_arm_is_the_baseline_plus_one_intervention(classroom):
    base, iv = controls.build_scenarios(classroom, {}, seed=3, intervention="official_correction", start_day=4)
    assert iv is not None and not base.interventions
    (entry,) = iv.interventions
    assert (entry.name, entry.start_day, entry.params["item"]) == ("broadcast", 4.0, "rumor")
    base_dump, iv_dump = base.model_dump(), iv.model_dump()
    for d in (base_dump, iv_dump):
        d.pop("interventions")
        d["run"].pop("name")
    assert base_dump == iv_dump


def test_every_offered_intervention_builds_a_valid_arm(classroom):
    for iv in controls.interventions_for(classroom):
        _, arm = controls.build_scenarios(classroom, {}, seed=1, intervention=iv.key, start_day=2)
        assert arm is not None and arm.interventions[0].name == iv.name


# ------------------------------------------------------------------ the arms
def test_arms_are_identical_before_the_start_and_diverge_after(classroom):
    demo = page.Demo(classroom)
    demo.values["duration"] = 8
    demo.seed, demo.intervention, demo.start_day = 2, "broadcast_guideline", 2.0
    demo.reset()
    demo.advance(hours=24)
    demo.advance(hours=24)  # day 2: the intervention has not run yet
    snap = demo.snapshot()
    base, iv = snap.arms
    assert base.t == iv.t == pytest.approx(2.0)
    np.testing.assert_array_equal(base.states["guideline"], iv.states["guideline"])
    demo.advance(hours=24)  # day 3: administrators broadcast the guideline
    snap = demo.snapshot()
    base, iv = snap.arms
    admins = int((demo.arms[0].arm.clinicians()["role"] == engine.ROLES.index("public_health_admin")).sum())
    aware_base = snap.n - base.counts["guideline"]["unaware"]
    aware_iv = snap.n - iv.counts["guideline"]["unaware"]
    assert aware_iv >= admins > 0
    assert aware_iv > aware_base
    svg = page.render_diff(snap, "guideline", "en")
    assert svg is not None and 'data-mark="1"' in svg


def test_the_exported_scenario_reproduces_the_page(classroom, tmp_path):
    """`qunsim run` on the downloaded file gives the page's numbers, row for row."""
    from sim.runner import run

    demo = page.Demo(classroom)
    demo.values.update(duration=6, literacy=0.8)
    demo.seed, demo.intervention, demo.start_day = 5, "literacy_training", 1.0
    demo.reset()
    for _ in range(5):
        demo.advance(hours=24)
    t_page = demo.arms[0].arm.t
    shown = demo.timeseries()
    for arm in ("baseline", "intervention"):
        path = tmp_path / f"{arm}.toml"
        path.write_text(export.toml_text(demo, arm))
        res = run(load_scenario(path))
        assert res.manifest["seed"] == 5
        ours = _rows(shown[shown["arm"] == arm].drop(columns=["arm", "seed"]))
        theirs = _rows(res.timeseries[res.timeseries["t"] <= t_page + 1e-9])
        pd.testing.assert_frame_equal(
            ours[["t", "metric", "item", "tier", "value"]],
            theirs[["t", "metric", "item", "tier", "value"]],
            check_exact=True,
        )


def test_feed_reports_information_and_diagnosis_events(classroom):
    """The canary for renames inside the processes: the feed finds posts and consultations."""
    arm = engine.Arm(controls.build_scenarios(classroom, {}, seed=1)[0], 1)
    kinds = set()
    for _ in range(4 * 24):
        arm.step(1)
        kinds |= {e.kind for e in arm.new_events(limit=50)}
    assert {"info_seed", "info_post"} <= kinds
    assert {"dx_ask", "dx_diagnosed"} & kinds
    cases = arm.cases()
    assert cases is not None and cases["hours"].size > 0 and cases["observed"].any()


def test_lean_runs_give_the_same_information_outcomes(classroom):
    """The many-seed runs (lean scenario, counts-only recording) give the numbers of a full
    run's time series, for a guideline (aware) and a rumor (believes)."""
    from sim import build_model

    base, _ = controls.build_scenarios(classroom, {"duration": 8}, seed=1)
    for seed in (1, 2):
        model = build_model(base, seed=seed)
        model.run_model()
        c = engine.tidy_columns(model.recorder.frame())
        overall = np.array([x is None for x in c["tier"]], bool)
        for item, metric in (("guideline", "n_aware"), ("rumor", "n_believes")):
            sel = (c["metric"] == metric) & (c["item"] == item) & overall
            lean = engine.outcome_run(engine.lean(base), seed, item)
            np.testing.assert_array_equal(c["t"][sel], lean["t"])
            np.testing.assert_array_equal(c["value"][sel] / model.pop.n, lean["share"])


# ------------------------------------------------------------------ statistics
def test_wilson_interval_matches_the_closed_form():
    p, lo, hi = figures.wilson(25, 50)
    assert p == 0.5 and lo == pytest.approx(0.3664, abs=1e-4) and hi == pytest.approx(0.6336, abs=1e-4)
    p, lo, hi = figures.wilson(0, 50)
    assert p == 0.0 and lo == 0.0 and hi == pytest.approx(0.0713, abs=1e-4)
    p, lo, hi = figures.wilson(50, 50)
    assert hi == pytest.approx(1.0) and lo == pytest.approx(0.9287, abs=1e-4)


def test_summarise_counts_take_off_by_the_rule_of_each_kind():
    t = np.linspace(0, 10, 11)
    runs = [{"t": t, "share": np.full(11, s)} for s in (0.1, 0.3, 0.6, 0.9)]
    g = ensemble.summarise(runs, "guideline")
    assert (g.took_off, g.n) == (2, 4)  # final share >= 0.5
    r = ensemble.summarise(runs, "rumor")
    assert r.took_off == 3  # peak share >= 0.2
    np.testing.assert_allclose(g.bands[0.5], np.full(11, 0.45))
    np.testing.assert_array_equal(g.first, runs[0]["share"])


def test_km_steps_censors_open_cases():
    t, s = figures.km_steps(np.array([1.0, 2.0, 3.0, 4.0]), np.array([True, False, True, False]))
    assert t[0] == 0 and s[0] == 1
    assert s[-1] == pytest.approx(0.375)  # 3/4 * 1/2 : the open case at 2 h leaves the risk set


# ------------------------------------------------------------------ texts
def test_every_text_has_both_languages_with_the_same_blanks():
    def fields(text: str) -> set[str]:
        return {f.lower() for _, f, _, _ in string.Formatter().parse(text) if f}

    for key, entry in i18n.TEXT.items():
        assert entry.get("en") and entry.get("zh"), key
        assert fields(entry["en"]) == fields(entry["zh"]), key


def test_every_control_intervention_preset_and_state_has_its_words():
    keys = set(i18n.TEXT)
    for c in controls.CONTROLS:
        assert {f"ctl.{c.key}", f"help.{c.key}"} <= keys
    for iv in controls.INTERVENTIONS:
        assert {f"iv.{iv.key}", f"ivhelp.{iv.key}"} <= keys
    for p in controls.PRESETS:
        assert f"preset.{p}" in keys
        assert set(controls.PRESETS[p]) <= {c.key for c in controls.CONTROLS}
    for states in engine.STATE_NAMES.values():
        assert {f"state.{s}" for s in states} <= keys


def test_feed_lines_read_in_both_languages(classroom):
    arm = engine.Arm(controls.build_scenarios(classroom, {}, seed=1)[0], 1)
    events = []
    for _ in range(3 * 24):
        arm.step(1)
        events += arm.new_events(limit=50)
    assert events
    for e in events:
        for lang in ("en", "zh"):
            line = i18n.feed_line(e, lang)
            assert line and "{" not in line and not line.startswith(("info_", "dx_"))
    assert any("\u4e00" <= ch <= "\u9fff" for ch in i18n.feed_line(events[0], "zh"))
    # English articles follow the sound: "an STI patient", "a dermatology patient"
    for spec, start in (("sti", "An STI patient"), ("dermatology", "A dermatology patient")):
        e = engine.FeedEvent(t=1.0, kind="dx_referral", args={"specialty": spec, "tier": 0, "rural": True})
        assert i18n.feed_line(e, "en").startswith(start)
        assert i18n.feed_line(e, "zh").startswith("一位")


def test_lessons_are_complete_in_both_languages():
    assert len(lessons.LESSONS) >= 5
    control_keys = {c.key for c in controls.CONTROLS}
    iv_keys = {iv.key for iv in controls.INTERVENTIONS}
    for ls in lessons.LESSONS:
        for lang in ("en", "zh"):
            assert ls.title[lang]
            for sec in lessons.SECTIONS:
                value = ls.section(sec, lang)
                assert value if isinstance(value, str) else all(value), (ls.key, sec, lang)
        assert set(ls.settings) <= control_keys
        assert ls.intervention is None or ls.intervention in iv_keys
    assert {ls.key for ls in lessons.LESSONS} >= {
        "guideline_journey",
        "rumor_correction",
        "hard_case",
        "compare_interventions",
        "small_numbers",
    }


# ------------------------------------------------------------------ figures
def test_figures_are_valid_svg_with_one_node_per_clinician(classroom):
    demo = page.Demo(classroom)
    demo.intervention = "official_correction"
    demo.reset()
    for _ in range(8):
        demo.advance(hours=12)
    snap = demo.snapshot()
    for lang in ("en", "zh"):
        pic = page.render_network(snap, snap.arms[0], "rumor", lang)
        net, groups = ET.fromstring(pic.foreground), ET.fromstring(pic.background)
        squares = [e for e in groups.iter() if e.get("data-group")]
        assert 0 < len(squares) <= snap.arms[0].n_groups  # every group drawn once, as a group
        assert pic.background is page.render_network(snap, snap.arms[0], "guideline", lang).background  # reused
        nodes = [e for e in net.iter() if e.get("data-state")]
        assert len(nodes) == snap.n
        states = {e.get("data-state") for e in nodes}
        assert states <= set(engine.STATE_NAMES["rumor"]) and "believes" in states
        for svg in (
            page.render_curves(snap, snap.arms[1], "guideline", lang),
            page.render_diff(snap, "rumor", lang),
            page.render_km(snap, lang),
        ):
            assert svg is not None
            root = ET.fromstring(svg)
            assert any(e.get("data-line") for e in root.iter())


def test_png_export_in_both_languages(classroom, monkeypatch):
    import matplotlib

    def no_switch(*args, **kwargs):
        raise AssertionError("library code switched matplotlib's backend")

    monkeypatch.setattr(matplotlib, "use", no_switch)  # the caller's backend stays as it was
    demo = page.Demo(classroom)
    demo.advance(hours=48)
    snap = demo.snapshot()
    for lang in ("en", "zh"):
        data = export.png_bytes(snap, "guideline", lang, dpi=50)
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    csv = export.csv_bytes(demo).decode()
    assert csv.splitlines()[0].startswith("arm,seed,t,metric")


# ------------------------------------------------------------------ command line
def test_demo_refuses_a_scenario_too_large_to_run_live(capsys):
    from sim.cli import main

    assert main(["demo", str(shipped_scenario("province")), "--port", "8799"]) == 2
    err = capsys.readouterr().err
    assert "n_clinicians" in err and "2,000" in err


def test_demo_refuses_a_bad_port(capsys):
    from sim.cli import main

    assert main(["demo", "--port", "70000"]) == 2
    assert "--port 70000" in capsys.readouterr().err


def test_demo_refuses_a_missing_scenario(capsys):
    from sim.cli import main

    assert main(["demo", "no/such/file.toml"]) == 2
    assert "no/such/file.toml" in capsys.readouterr().err


def test_qunsim_help_does_not_import_the_web_stack():
    code = (
        "import sys, sim.cli; sim.cli.build_parser().format_help(); "
        "print(any(m.split('.')[0] in ('solara', 'uvicorn', 'sim.demo') for m in sys.modules) "
        "or 'sim.demo' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_solara_assets_match_solara_so_the_page_needs_no_cdn():
    """Solara serves its front end from solara-assets only when the versions are the same;
    otherwise the browser would be sent to a CDN (the browser test fails on that too)."""
    import re
    import tomllib
    from importlib.metadata import version
    from pathlib import Path

    assert version("solara-assets") == version("solara") == version("solara-server")
    extra = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]["demo"]
    pins = dict(re.fullmatch(r"([\w-]+)==([\w.]+)", d).groups() for d in extra if "==" in d)
    assert pins["solara"] == pins["solara-assets"] == version("solara")


def test_check_scenario_accepts_shipped_names():
    from sim.demo.server import check_scenario

    path, sc = check_scenario("classroom")
    assert path.endswith("classroom.toml") and sc.run.name == "classroom"
    with pytest.raises(ScenarioError):
        check_scenario("province")


def test_the_fast_case_columns_agree_with_the_cases_table(classroom):
    """The page reads the diagnosis state's columns directly; they must say what the table says."""
    arm = engine.Arm(controls.build_scenarios(classroom, {}, seed=4)[0], 4)
    arm.step(24 * 6 + 7)
    fast = arm.cases()
    table = engine._dx_tables(arm._dx(), arm.model)["cases"]
    assert fast is not None and fast["hours"].size == len(table) > 0
    observed = table["time_to_diagnosis_hours"].notna().to_numpy()
    hours = np.where(observed, table["time_to_diagnosis_hours"], table["censor_hours"]).astype(float)
    np.testing.assert_array_equal(fast["observed"], observed)
    np.testing.assert_allclose(fast["hours"], hours, rtol=0, atol=1e-9)
    assert list(fast["specialty"]) == list(table["specialty"].astype(str))
    np.testing.assert_array_equal(fast["tier"], table["tier"].cat.codes.to_numpy())
    np.testing.assert_array_equal(np.isnan(fast["t_referral"]), table["t_referral"].isna().to_numpy())
    routes = [engine.ROUTES[r] if r >= 0 else "unresolved" for r in fast["route"]]
    assert routes == list(table["route"].astype(str))
    assert [bool(x) if x is not None else None for x in fast["correct"]] == [
        None if pd.isna(x) else bool(x) for x in table["correct"]
    ]


def test_a_step_renders_the_page_once_and_leaves_the_panel_alone(monkeypatch):
    """A tick must stay cheap: one render pass per Step, and only the parts that show the
    run (Header, Live view) re-render; the tabs and the control panel keep their widgets."""
    import ipyvuetify as v
    import solara

    from sim.demo import app, panel

    monkeypatch.setenv("QUNSIM_DEMO_SCENARIO", str(CLASSROOM))
    _, rc = solara.render(app.Page(), handle_error=False)
    step = next(w for w in rc.find(v.Btn).widgets if "qs-step" in (w.class_ or ""))
    step.click()  # the first click may also render the threads' start
    passes = []
    original = rc._render_once

    def counting(*args, **kwargs):
        passes.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(rc, "_render_once", counting)
    watched = {"Header": app.Header, "Main": app.Main, "LiveView": app.LiveView, "ControlPanel": panel.ControlPanel}
    before = {k: c.render_count for k, c in watched.items()}
    for _ in range(3):
        step.click()
    after = {k: c.render_count - before[k] for k, c in watched.items()}
    assert len(passes) == 3
    assert after == {"Header": 3, "Main": 0, "LiveView": 3, "ControlPanel": 0}
    from solara.widgets.widgets import HTML

    shown = " ".join(w.unsafe_innerHTML or "" for w in rc.find(HTML).widgets)
    assert 'data-testid="day-baseline">day 1, 00:00<' in shown  # four steps of 6 hours
    rc.close()
