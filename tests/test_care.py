"""Information changes care (sim/processes/diagnosis/care.py): exact checks by paired runs.

Paired runs share their seed, hence their cases (the ``diagnosis.arrivals`` stream) and
each case's uniform draw for the local diagnosis; a believer decides whether to treat
locally with the skill they think they have, so the same cases are diagnosed locally
with and without the belief's loss, and the harm counter must equal, case by case, the
diagnoses right without the loss and wrong with it. These checks are exact, not
statistical.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.config import load_scenario
from sim.model import QunModel

# A county of six township clinics under a city; every case is a general-medicine case at
# a clinic; a rumor about general medicine that every clinician believes from day 0 (no
# forgetting, verifying or checking), optionally corrected for everyone on day 5.
SCEN = """
[run]
name = "care"
duration_days = 10
step_minutes = 60
agent_objects = false

[population]
n_clinicians = 150
staff_exponent = 0.3

[[population.regions]]
name = "City"
kind = "city"
secondary = 1
tertiary = 1

[[population.regions]]
name = "County"
kind = "rural"
primary = 6
secondary = 1
referral_hub = "City"

[diagnosis]
case_rate_per_100_beds_per_day = { primary = 0.0, secondary = 0.0, tertiary = 0.0 }
case_rate_per_facility_per_day = { primary = 3.0 }
specialty_weights = { general_medicine = 1.0 }

[information]
verify_prob_per_day = 0
check_prob_per_day = 0
forget_prob_per_day = 0

[[information.items]]
name = "rumor"
kind = "rumor"
condition = "general_medicine"
seed_share = 1.0
seed_channel = "none"
"""
CORRECTED_DAY5 = """
[[information.items]]
name = "fix"
kind = "correction"
target = "rumor"
start_day = 5
seed_share = 1.0
seed_channel = "none"
"""


@pytest.fixture(scope="module")
def paths(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("care")
    out = {}
    for name, text in (("rumor", SCEN), ("corrected", SCEN + CORRECTED_DAY5)):
        out[name] = folder / f"{name}.toml"
        out[name].write_text(text)
    return out


def _run(path: Path, sets=(), seed: int = 3):
    model = QunModel(load_scenario(path, list(sets)), seed=seed)
    model.run_model()
    proc = model.process("diagnosis")
    return model, proc.cases_frame(model)


def test_harm_counter_equals_the_paired_local_diagnoses_lost(paths):
    model, cases = _run(paths["rumor"])
    _, free = _run(paths["rumor"], ["diagnosis.information_effects.believer_skill_loss=0"])
    assert (cases["handler_info"] == "believes").all()  # everyone believes, every case concerned
    local = (cases["route"] == "local").to_numpy()
    assert local.any() and np.array_equal(local, (free["route"] == "local").to_numpy())  # same decisions
    ok = cases["correct"].to_numpy(dtype=float, na_value=np.nan)[local]
    ok_free = free["correct"].to_numpy(dtype=float, na_value=np.nan)[local]
    assert (ok <= ok_free).all()  # common random numbers: the loss only turns right into wrong
    lost = int((ok_free > ok).sum())
    assert lost > 0
    care = model.process("diagnosis").state.care
    assert int(care.harm_wrong[0].sum()) == lost


def test_believers_hold_back_escalation_until_corrected(paths):
    hours = 24.0
    _, cases = _run(paths["rumor"])
    esc = cases[cases["route"] != "local"]
    # every escalated case waited exactly the remedy's delay (nobody stops believing)
    assert np.allclose(esc["belief_delay_hours"], hours)
    waited = (esc["t_first_request"] - esc["t_arrival"]) * 24.0
    ok = waited.notna()
    assert ok.any() and np.allclose(waited[ok], hours + 0.5)  # + local_workup_hours
    _, fixed = _run(paths["corrected"])
    esc = fixed[fixed["route"] != "local"]
    after = esc["t_arrival"] >= 5.0
    assert (esc.loc[after, "belief_delay_hours"] == 0).all()
    assert (fixed.loc[fixed["t_arrival"] >= 5.0, "handler_info"] == "corrected").all()
    # held on day 4-5: released at the step the correction came (t = 5), not later
    cut = esc[(esc["t_arrival"] > 4.1) & (esc["t_arrival"] < 4.9)]
    assert len(cut) and (cut["belief_delay_hours"] < hours).all()
    assert np.allclose(cut["t_arrival"] * 24 + 0.5 + cut["belief_delay_hours"], 5.0 * 24)


def test_without_conditions_care_is_untouched(paths):
    sets = ['information.items.0.condition="sti"']  # no sti cases: nothing concerned
    _, a = _run(paths["rumor"], sets)
    _, b = _run(paths["rumor"], [*sets, "diagnosis.information_effects.enabled=false"])
    assert not a["concerned"].any()
    cols = ["t_diagnosis", "correct", "route", "asker", "n_answers"]
    assert a[cols].equals(b[cols])


def test_effects_off_report_the_state_but_change_nothing(paths):
    _, off = _run(paths["rumor"], ["diagnosis.information_effects.enabled=false"])
    _, zero = _run(
        paths["rumor"],
        ["diagnosis.information_effects.believer_skill_loss=0", "diagnosis.information_effects.believer_delay_hours=0"],
    )
    assert off["concerned"].all() and (off["handler_info"] == "neutral").all()
    cols = ["t_diagnosis", "correct", "route"]
    assert off[cols].equals(zero[cols])


def test_case_report_cannot_concern_a_condition():
    from pydantic import ValidationError

    from sim.processes.information.config import ItemConfig

    with pytest.raises(ValidationError, match="condition"):
        ItemConfig(name="x", kind="case_report", condition="dermatology")
    assert ItemConfig(name="g", kind="guideline", condition="sti").condition == "sti"


@pytest.mark.slow
def test_believer_accuracy_validation_case():
    from sim.validation import evaluate, registered_cases

    res = evaluate(registered_cases()["believer_accuracy"])
    assert res.passed, res


@pytest.mark.parametrize("compiled", [True, False])
def test_compiled_judgments_equal_p_correct_and_the_masks(compiled):
    """The compiled accuracy and counts of ``CareLink.judge`` against what it computed with
    numpy before (``p_correct`` per variant, then the masks counted by tier): bit-identical
    accuracies, the same counts, with inputs of each dtype the callers pass."""
    from types import SimpleNamespace

    from sim.processes.diagnosis import accuracy_kernels as K
    from sim.processes.diagnosis.combining import p_correct

    exps = K.accuracy_exponents if compiled else K.accuracy_exponents.py_func
    judged = K.judged if compiled else K.judged.py_func
    cfg = SimpleNamespace(image_penalty=0.4, equipment_penalty=0.7, accuracy_slope=0.15)
    rng = np.random.default_rng(31)
    n_labels = 6
    for m, skill_type, quality_type in (
        (0, np.float64, np.float32),
        (1, np.float32, np.float64),
        (3000, np.float64, np.float32),
    ):
        skill = rng.random(m).astype(skill_type)
        diff = rng.random(m).astype(np.float32)
        lacks = rng.random(m) < 0.3
        quality = np.where(rng.random(m) < 0.5, 0.6, 1.0).astype(quality_type)
        bel = rng.random(m) < 0.4
        gain, loss = 0.2 * (rng.random(m) < 0.3), 0.3 * bel
        u = rng.random(m)
        tier = rng.integers(0, 3, m).astype(np.int8)
        p = p_correct(cfg, n_labels, skill + gain - loss, diff, lacks, quality)
        u[: m // 10] = p[: m // 10]  # ties: u equal to the accuracy is wrong
        for free, none in ((False, False), (True, False), (False, True), (True, True)):
            counts = np.zeros((3, 3), np.int64)
            e = np.exp(exps(skill, gain, loss, diff, lacks, quality, 0.4, 0.7, 0.15, free, none))
            got_p, got_c = judged(e, 1.0 / n_labels, u, tier, bel, counts[0], counts[1], counts[2], free, none)
            assert np.array_equal(got_p, p) and np.array_equal(got_c, u < p)
            want = np.zeros((3, 3), np.int64)
            if free:
                p_free = p_correct(cfg, n_labels, skill + gain, diff, lacks, quality)
                np.add.at(want[0], tier, (~(u < p) & (u < p_free)).astype(np.int64))
                np.add.at(want[1], tier, bel.astype(np.int64))
            if none:
                p_none = p_correct(cfg, n_labels, skill - loss, diff, lacks, quality)
                np.add.at(want[2], tier, ((u < p) & (u >= p_none)).astype(np.int64))
            assert np.array_equal(counts, want)
            assert m < 3000 or not (free and none) or (counts > 0).all()


@pytest.mark.parametrize("compiled", [True, False])
def test_informed_exponents_equal_shift_then_exponents(compiled):
    """The judges' shifts read in the compiled pass of ``CareLink.judge`` against the numpy
    of ``CareLink.shift`` (the states of the items that concern each case) followed by
    ``accuracy_exponents``: the same exponents bit for bit, the same believers, and the same
    rows (a judge believes; a judge gains), through a row map or with rows = ids."""
    from sim.processes.diagnosis import accuracy_kernels as K

    informed = K.informed_exponents if compiled else K.informed_exponents.py_func
    rng = np.random.default_rng(41)
    n_people, n_items, n_cases = 50, 4, 120
    state = rng.integers(0, 5, (n_items + 1, n_people)).astype(np.int8)
    item = np.array([0, 2, 3], np.int64)  # the items about a condition (bit k: item[k])
    rumor = np.array([False, True, True])
    concerns = rng.integers(0, 8, n_cases).astype(np.int32)
    difficulty = rng.random(n_cases).astype(np.float32)
    for written in (False, True):
        first = 500 if written else 0
        row_of = rng.permutation(n_cases).astype(np.int32) if written else np.zeros(0, np.int32)
        for m, active in ((0, True), (1, True), (80, True), (80, False)):
            rows = rng.integers(0, n_cases, m)
            cases = (first + np.argsort(row_of)[rows] if written else rows).astype(np.int64)
            who = rng.integers(0, n_people, m).astype(np.int32)
            skill = rng.random(m)
            lacks, quality = rng.random(m) < 0.3, np.where(rng.random(m) < 0.5, 0.6, 1.0).astype(np.float32)
            # the numpy of CareLink.shift
            ad, bel = np.zeros(m, bool), np.zeros(m, bool)
            for k, (j, is_rumor) in enumerate(zip(item, rumor, strict=True)):
                on = (concerns[rows] >> k) & 1 == 1
                if is_rumor:
                    bel |= on & (state[j, who] == 3)
                else:
                    ad |= on & (state[j, who] == 2)
            gain, loss = (0.2 * ad, 0.3 * bel) if active and m else (np.zeros(m), np.zeros(m))
            bel &= active
            free, none = active and m > 0 and bool(bel.any()), active and m > 0 and bool((gain > 0).any())
            want = K.accuracy_exponents(skill, gain, loss, difficulty[rows], lacks, quality, 0.4, 0.7, 0.15, free, none)
            got = informed(
                cases, first, row_of, concerns, difficulty, who, state, item, rumor, 2, 3, active, 0.2, 0.3, skill,
                lacks, quality, 0.4, 0.7, 0.15,
            )  # fmt: skip
            assert np.array_equal(got[0], want) and np.array_equal(got[1], bel)
            assert (got[2], got[3]) == (free, none)
            assert m < 80 or not active or (free and none)  # the extra rows are exercised


@pytest.mark.parametrize("compiled", [True, False])
def test_tag_cases_equals_the_numpy_tagging(compiled):
    """The compiled tagging of new cases against the numpy ``CareLink.tag`` did: the same
    uniforms (item by item, one per case, and no other draw), the same ``concerns`` bits,
    the same handler states in their precedence, and the states ``shift`` reads."""
    from sim.processes.diagnosis import accuracy_kernels as K
    from sim.processes.diagnosis.kernels import item_states  # what tag read the states with
    from sim.rng_ref import GeneratorRef

    tag = K.tag_cases if compiled else K.tag_cases.py_func
    rng = np.random.default_rng(43)
    n_people = 60
    state = rng.integers(0, 5, (4, n_people)).astype(np.int8)
    item, rumor = np.array([0, 1, 3], np.int64), np.array([False, True, True])
    item_spec, share = np.array([0, 2, 0], np.int64), np.array([0.7, 0.5, 1.0])
    codes = (10, 11, 12, 13, 14)  # neutral, unconcerned, adopted, corrected, believes
    draws, ref = np.random.default_rng(9), np.random.default_rng(9)
    stream = GeneratorRef(draws)
    for n, with_states in ((0, True), (1, True), (300, True), (300, False)):
        spec = rng.integers(0, 4, n).astype(np.int8)
        asker = rng.integers(0, n_people, n).astype(np.int32)
        bits = np.zeros(n, np.int32)  # the numpy of CareLink.tag
        for k, (s, p) in enumerate(zip(item_spec, share, strict=True)):
            bits |= ((spec == s) & (ref.random(n) < p)).astype(np.int32) << k
        h = np.where(bits != 0, codes[0], codes[1]).astype(np.int8)
        ad, bel = np.zeros(n, bool), np.zeros(n, bool)
        if with_states:
            ad, bel, cor = item_states(bits, asker, state, item, rumor, 2, 3, 4)
            h = np.where(bel, codes[4], np.where(cor, codes[3], np.where(ad, codes[2], h))).astype(np.int8)
        got = tag(stream, spec, item_spec, share, with_states, asker, state, item, rumor, 2, 3, 4, *codes)
        for g, w in zip(got, (bits, h, ad, bel), strict=True):
            assert np.array_equal(g, w) and g.dtype == w.dtype
        assert draws.bit_generator.state == ref.bit_generator.state
        assert n < 300 or ((h == codes[0]).any() and (not with_states or {12, 13, 14} <= set(h.tolist())))
