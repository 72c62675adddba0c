"""The speed work leaves every output as it was: fingerprints of whole runs of the province.

The province is what the speed work is measured on; here at 3,000 clinicians for a
month, every process on, as shipped and with the settings whose code paths it leaves off
(trust, moderation and immediate reading; serial escalation). A fingerprint hashes every
table, the time series and the metrics. They were recorded at the commit that added this
file, after ``python -m tests.golden compare`` had found the shipped scenarios identical
before and after each speed change since the recorded run j, and they are the same at run
j's commit (50643dd). A change that moves one must name why in its commit and record them
again::

    python -m tests.test_speed_outputs
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

import sim

from .conftest import SCENARIOS
from .golden import canonical_series

PROVINCE = SCENARIOS / "province.toml"
SMALL = [
    "population.n_clinicians=3000",
    "population.regions.0.count=1",
    "population.regions.1.count=2",
    "run.duration_days=30",
]
CASES = {
    "shipped": [],
    "mechanisms": ["trust.enabled=true", "information.moderation.enabled=true", 'information.reading="immediate"'],
    "serial": ['diagnosis.escalation="serial"'],
}
SEED = 7
RECORDED = {
    "shipped": "fc1852a298048146da0ec857e0d39b2f3039fb6115fdf879b0e8adc880c0bfd2",
    "mechanisms": "daecdc20c709a18274c2efa0748e0a5aaf09633853214f337f4a6c89068a65df",
    "serial": "bbf84e8ebe5519d82a55180afc89992c968cf26f2cd59f3e425a342d4af3e211",
}


def fingerprint(res: sim.Results) -> str:
    """sha256 of every table (as text), the time series (canonical form) and the metrics."""
    h = hashlib.sha256()
    for name in sorted(res.tables):
        h.update(name.encode())
        frame = res.tables[name].reset_index(drop=True)
        h.update(pd.util.hash_pandas_object(frame.astype(str), index=False).to_numpy().tobytes())
    series = canonical_series(res.timeseries)
    h.update(pd.util.hash_pandas_object(series.astype(str), index=False).to_numpy().tobytes())
    h.update(json.dumps(res.metrics, sort_keys=True, default=repr).encode())
    return h.hexdigest()


def _run(case: str) -> sim.Results:
    return sim.run(sim.load_scenario(PROVINCE, [*SMALL, *CASES[case]]), seed=SEED)


@pytest.mark.parametrize("case", list(CASES))
def test_the_province_gives_the_recorded_outputs(case):
    res = _run(case)
    assert len(res.tables["cases"]) > 500 and len(res.tables["answers"]) > 100  # the run did something
    assert fingerprint(res) == RECORDED[case]


@pytest.mark.parametrize("ahead", [True, False])
def test_the_draws_made_ahead_by_numpy_or_by_the_kernels_give_the_recorded_outputs(monkeypatch, ahead):
    """The posting uniforms and the noticed copies' gaps drawn ahead by numpy at every step
    (every sharer, every copy), or by the kernels at every step: one stream, the same run."""
    from sim.processes.information import draws

    monkeypatch.setattr(draws, "NUMPY_DRAWS_FROM", 1 if ahead else 1 << 62)
    monkeypatch.setattr(draws, "NUMPY_GAPS_FROM", 1 if ahead else 1 << 62)
    made = []
    notice_gaps = draws.notice_gaps

    def counted(rng, trials, p):
        gaps, state = notice_gaps(rng, trials, p)
        made.append(gaps.size)
        return gaps, state

    monkeypatch.setattr(draws, "notice_gaps", counted)
    assert fingerprint(_run("shipped")) == RECORDED["shipped"]
    assert (sum(n > 0 for n in made) > 50) if ahead else not any(made)  # (not over a buffered half-draw)


def test_batches_read_as_bursts_give_the_recorded_outputs(monkeypatch):
    """Every batch of more than one copy read as a burst (a first block of 64 uniforms, the
    rest drawn by the kernel as they are used): one stream, the same run as every uniform
    drawn beforehand."""
    from sim.processes.information import kernels

    monkeypatch.setattr(kernels, "BURST_FROM", 3)
    monkeypatch.setattr(kernels, "DRAW_BLOCK", 64)
    bursts = []
    read_guideline = kernels.read_guideline

    def counted(u, order, *rest):
        bursts.append(rest[-1] is not None and 3 * order.size > u.size)
        return read_guideline(u, order, *rest)

    monkeypatch.setattr(kernels, "read_guideline", counted)
    assert fingerprint(_run("shipped")) == RECORDED["shipped"]
    assert sum(bursts) > 50


def test_the_fingerprint_sees_one_changed_cell():
    res = _run("shipped")
    before = fingerprint(res)
    res.tables["cases"].loc[0, "t_arrival"] += 1e-9
    assert fingerprint(res) != before


if __name__ == "__main__":
    for case in CASES:
        print(f'    "{case}": "{fingerprint(_run(case))}",')


def test_the_group_stock_made_group_by_group_is_the_full_stock_every_day(monkeypatch):
    """The daily changes of the network (invitations, mutes, departures, a conference's new
    groups) remake the routing's group stock for the changed groups alone: every day of a
    run it is, bit for bit, the stock made from every row."""
    from sim.processes.diagnosis import kernels
    from sim.processes.diagnosis.routing import SPECIALTIES

    full_stock, calls = kernels.group_stock, {"full": 0, "groups": 0}

    def counted(name, kernel):
        def call(*args):
            calls[name] += 1
            return kernel(*args)

        return call

    monkeypatch.setattr(kernels, "group_stock", counted("full", full_stock))
    monkeypatch.setattr(kernels, "restock_groups", counted("groups", kernels.restock_groups))
    model = sim.build_model(sim.load_scenario(PROVINCE, [*SMALL, "network.conference_interval_days=10"]), seed=SEED)
    dx = model.process("diagnosis")
    stock, net, pop = dx.router.stock, model.net, model.pop
    checked = 0
    while model.running:
        model.step()
        if stock.key is None or stock.key[1] != net.version:
            continue  # not made for these rows yet
        full = full_stock(
            net.m_clinician, net.m_group, net.m_muted, dx.staff.answering, pop.specialty, pop.expertise,
            net.n_groups, len(SPECIALTIES),
        )  # fmt: skip
        assert np.array_equal(stock.count_all, full[2]) and np.array_equal(stock.skill_all, full[3])
        assert np.array_equal(stock.count, full[0][:, : stock.count.shape[1]])
        assert np.array_equal(stock.skill, full[1][:, : stock.skill.shape[1]])
        checked += 1
    assert checked > 20
    assert calls["groups"] > 20 and calls["full"] == 1  # made once in full, then group by group


#: settings that take other branches of the compiled passes (and of the numpy paths)
VARIANTS = {
    "two groups, any answerer": ["diagnosis.groups_per_request=2", 'diagnosis.group_answerers="any"'],
    "no local route": ['diagnosis.routes=["group", "contact", "referral"]'],
    "one answer a post": ["diagnosis.max_answers_per_request=1", "diagnosis.referral_patience_hours=0"],
    "no groups": ["diagnosis.groups=false"],
    # guideline and rumor from the start, widely seeded: adopters and believers judge cases
    "informed care": [
        "run.duration_days=20",
        "information.items.0.start_day=0",
        "information.items.1.start_day=0",
        "information.items.0.n_seeds=200",
        "information.items.1.n_seeds=200",
        "information.adopt_prob_per_day=0.3",
    ],
    "informed care, no delay": [
        "run.duration_days=20",
        "information.items.1.start_day=0",
        "information.items.1.n_seeds=200",
        "diagnosis.information_effects.believer_delay_hours=0",
    ],
    "care effects off": ["diagnosis.information_effects.enabled=false"],
    # the askers' trust (learned from answers, priors by tie) weighs the contacts asked
    "trust weighs the contacts": ["trust.enabled=true"],
}
#: the compiled passes, by where their switch and kernel are
COMPILED = {
    "escalation": ("routing", "Router", "escalate_due"),
    "local decision": ("arrivals", "Arrivals", "decide_locally"),
}


@pytest.mark.parametrize("case", ["shipped", "serial", *VARIANTS])
@pytest.mark.parametrize("part", list(COMPILED))
def test_the_compiled_passes_give_what_the_numpy_paths_give(monkeypatch, part, case):
    """Each compiled pass (escalation: where patience is fixed, trust weighing the contacts
    or not; the local decision: where the chain starts with it) and the numpy path it
    stands for give the same run: every table, the time series and the metrics."""
    import importlib

    module, owner, name = COMPILED[part]
    mod = importlib.import_module(f"sim.processes.diagnosis.{module}")
    calls = []
    kernel = getattr(mod, name)

    def counted(*args):
        calls.append(1)
        return kernel(*args)

    monkeypatch.setattr(mod, name, counted)
    extra = CASES.get(case, VARIANTS.get(case, []))
    scenario = sim.load_scenario(PROVINCE, [*SMALL, "run.duration_days=12", *extra])
    fast = sim.run(scenario, seed=SEED)
    if part == "local decision" and case == "no local route":
        assert not calls  # the pass needs the local route first: the numpy path ran
    else:
        assert len(calls) > 100  # the compiled pass ran (a call per step with work)
    monkeypatch.setattr(getattr(mod, owner), "compiled", False)
    n_fast = len(calls)
    slow = sim.run(scenario, seed=SEED)
    assert len(calls) == n_fast  # the numpy path ran
    if case != "no groups":  # (formal referral only: nobody is asked)
        assert fast.metrics["dx_group_requests"] > 50 and fast.metrics["dx_contact_requests"] > 50
    if case.startswith("informed care"):  # believers judged cases (and held theirs back, with a delay)
        assert fast.metrics["dx_judged_believing_local_tertiary"] > 0
        assert (fast.metrics["dx_harm_delayed_cases_primary"] > 0) == (case == "informed care")
    if case == "trust weighs the contacts":  # learned trust, and ties of other priors than the reference
        assert fast.metrics["trust_pairs"] > 100 and fast.metrics["trust_answers_wrong"] > 0
    if case == "informed care":  # and adopters, some right because of the guideline
        assert sum(v for k, v in fast.metrics.items() if k.startswith("dx_benefit_right_local")) > 0
    assert fingerprint(fast) == fingerprint(slow)


@pytest.mark.parametrize(
    "extra",
    [
        ['diagnosis.routes=["local", "contact", "group", "referral"]'],  # a group may be asked in a later pass
        ["diagnosis.patience_log_sd=0.5"],  # patience drawn (numpy's exponential)
    ],
)
def test_the_escalation_keeps_the_numpy_path_where_the_compiled_pass_does_not_apply(monkeypatch, extra):
    from sim.processes.diagnosis import routing

    calls = []
    monkeypatch.setattr(routing, "escalate_due", lambda *a: calls.append(1))
    res = sim.run(sim.load_scenario(PROVINCE, [*SMALL, "run.duration_days=5", *extra]), seed=SEED)
    assert res.metrics["dx_requests"] > 50 and not calls


#: settings that take the other branches of the fused passes (reading, answering, booking, combining)
ANSWERING = {
    "shipped": [],
    "informed care": VARIANTS["informed care"],
    "care effects off": VARIANTS["care effects off"],
    "capped, fixed times, read at once, majority": [
        "diagnosis.answer_cap_per_day=2",
        'diagnosis.answer_time="fixed"',
        'diagnosis.read_delay="none"',
        'diagnosis.combine="majority"',
    ],
    "no care link": [],
}


@pytest.mark.parametrize("case", list(ANSWERING))
def test_the_fused_passes_give_what_the_numpy_steps_gave(monkeypatch, case):
    """The compiled passes of a step's reading (``read_pending``), answering
    (``match_step``), referral booking (``book_and_judge``) and combination of answers
    (``combine_answers``) and the numpy steps they replaced (tests/reference_arrays.py)
    give the same run: every table, the time series and the metrics (also without a care
    link: judgments as ``p_correct``; and with majority votes)."""
    from sim.processes.diagnosis import answering, combining, referral
    from sim.processes.diagnosis import process as dx_process

    from . import reference_arrays

    if case == "no care link":
        monkeypatch.setattr(dx_process, "CareLink", lambda model, rng: None)
    scenario = sim.load_scenario(PROVINCE, [*SMALL, "run.duration_days=12", *ANSWERING[case]])
    fast = sim.run(scenario, seed=SEED)
    monkeypatch.setattr(answering, "read", reference_arrays.answering_read)
    monkeypatch.setattr(answering, "match", reference_arrays.answering_match)
    monkeypatch.setattr(referral.Referrals, "book", reference_arrays.referral_book)
    monkeypatch.setattr(combining, "resolve", reference_arrays.combining_resolve)
    slow = sim.run(scenario, seed=SEED)
    assert fast.metrics["dx_answers"] > 200 and fast.metrics["dx_declined"] > 20  # pairs were read and answered
    assert fast.metrics["dx_referrals"] > 20
    if case.startswith("capped"):
        assert fast.metrics["dx_answers_per_answerer_max"] <= 2 * 12  # the cap held
    if case == "informed care":  # believers answered and saw referred patients (the care path)
        assert sum(v for k, v in fast.metrics.items() if k.startswith("dx_judged_believing_answer")) > 0
        assert sum(v for k, v in fast.metrics.items() if k.startswith("dx_judged_believing_referral")) > 0
    assert fingerprint(fast) == fingerprint(slow)


#: moderators who check every rumor post soon, and a rumor spreading from the first day: posts
#: are removed while copies of them wait in the queue
REMOVALS = [
    "information.moderation.enabled=true",
    "information.moderation.notice_prob=1",
    "information.moderation.delay_hours=2",
    "information.items.1.start_day=1",
    "information.items.1.share_prob=0.6",
]


@pytest.mark.parametrize("extra", [[], REMOVALS], ids=["shipped", "removals"])
def test_the_opened_chats_give_what_the_numpy_steps_gave(monkeypatch, extra):
    """The compiled pass of the chats opened in a step (``open_chats``) and the numpy steps
    it replaced (tests/reference_arrays.py) give the same run, as shipped and with posts
    removed by moderators (their unread copies gone from the queue)."""
    from sim.processes.information import reading

    from . import reference_arrays

    calls = []
    scenario = sim.load_scenario(PROVINCE, [*SMALL, "run.duration_days=12", *extra])
    fast = sim.run(scenario, seed=SEED)
    opened = reference_arrays.reading_opened
    monkeypatch.setattr(reading, "_opened", lambda p, model: calls.append(1) or opened(p, model))
    slow = sim.run(scenario, seed=SEED)
    assert len(calls) == 12 * 12 and fast.metrics["cost_reading_cny"] > 0
    if extra:
        assert fast.metrics["info_removed_unread_copies"] > 100
    assert fingerprint(fast) == fingerprint(slow)


#: settings that take the other branches of posting: no heterogeneity (the terms are the
#: settings' own, the direct messages still compiled), messages to anyone (the numpy path);
#: the rumor spreads from the start, so that the weights and stances of its copies matter
RUMOR_EARLY = ["information.items.1.start_day=0", "information.items.1.n_seeds=200"]
POSTING = {
    "shipped": RUMOR_EARLY,
    "mechanisms": [*CASES["mechanisms"], *RUMOR_EARLY],
    "no heterogeneity": ["information.heterogeneity=false", *RUMOR_EARLY],
    "direct to anyone": ['information.direct_targets="anyone"', *RUMOR_EARLY],
}


@pytest.mark.parametrize("case", list(POSTING))
def test_the_compiled_posting_passes_give_what_the_numpy_path_gives(monkeypatch, case):
    """The terms per sharer (activity, chances, weights, a rumor's stances) and the direct
    messages to contacts, each in a compiled pass, give the same run as the numpy path:
    every table, the time series and the metrics."""
    from sim.processes.information import posting, posting_kernels

    calls = {"sharing_terms": 0, "direct_messages": 0}
    for name in calls:
        kernel = getattr(posting_kernels, name)

        def counted(*args, _name=name, _kernel=kernel):
            calls[_name] += 1
            return _kernel(*args)

        monkeypatch.setattr(posting_kernels, name, counted)
    scenario = sim.load_scenario(PROVINCE, [*SMALL, *POSTING[case]])
    fast = sim.run(scenario, seed=SEED)
    # (each kernel is called once more when the model is built, loading it)
    assert (calls["sharing_terms"] > 100) == (case != "no heterogeneity")
    assert (calls["direct_messages"] > 100) == (case != "direct to anyone")
    assert fast.metrics["info_direct_messages"] > 20 and fast.metrics["info_posts"] > 200
    assert fast.metrics["info_rumor_p_final_corrected"] > 0.05  # its sharers posted both stances
    monkeypatch.setattr(posting.Posting, "compiled", False)
    before = dict(calls)
    slow = sim.run(scenario, seed=SEED)
    assert {k: v - before[k] for k, v in calls.items()} == {"sharing_terms": 1, "direct_messages": 1}  # numpy ran
    assert fingerprint(fast) == fingerprint(slow)


@pytest.mark.parametrize("case", ["shipped", "mechanisms", "no heterogeneity"])
def test_the_compiled_correction_of_believers_gives_what_the_numpy_path_gives(monkeypatch, case):
    """The believers who read a rumor's correction, reached, turned and sharing in one
    compiled pass, give the same run as the numpy path: every table, the time series and the
    metrics."""
    from sim.processes.information import belief, decision_kernels

    calls = []
    kernel = decision_kernels.correct_believers

    def counted(*args):
        calls.append(1)
        return kernel(*args)

    monkeypatch.setattr(decision_kernels, "correct_believers", counted)
    scenario = sim.load_scenario(PROVINCE, [*SMALL, *POSTING[case]])
    fast = sim.run(scenario, seed=SEED)
    assert len(calls) > 100 and fast.metrics["info_rumor_p_final_corrected"] > 0.05
    monkeypatch.setattr(belief, "CORRECT_COMPILED", False)
    n_fast = len(calls)
    slow = sim.run(scenario, seed=SEED)
    assert len(calls) == n_fast + 1  # (loaded when the model was built) the numpy path ran
    assert fingerprint(fast) == fingerprint(slow)
