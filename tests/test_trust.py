"""Pairwise trust (issue #11 item 5): priors by how two met, vouching, learning, effects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.config import load_scenario
from sim.model import QunModel
from sim.processes.trust.process import EVENT, FORMAL, INTRODUCED
from sim.runner import run
from sim.validation import CASES, evaluate, registered_cases, scenario_dir

from .test_components import BASE

NEUTRAL = [
    "trust.enabled=true",
    "trust.initial_formal=0.6",
    "trust.initial_introduced=0.6",
    "trust.initial_event=0.6",
    "trust.reference=0.6",
    "trust.answer_gain=0",
    "trust.meeting_gain=0",
    "trust.vouch_weight=0.3",
]


def _without_trust(res):
    ts = res.timeseries
    ts = ts[~ts["metric"].astype(str).str.startswith("trust")].reset_index(drop=True)
    metrics = {k: str(v) for k, v in res.metrics.items() if not k.startswith("trust")}
    tables = {k: v for k, v in res.tables.items() if k != "trust"}
    return ts, metrics, tables


def test_trust_without_learning_at_the_reference_is_the_run_without_trust(write):
    """Every factor is exactly 1: same series, metrics and tables, draw for draw."""
    path = write(BASE)
    off = _without_trust(run(load_scenario(path), seed=7))
    on_res = run(load_scenario(path, NEUTRAL), seed=7)
    on = _without_trust(on_res)
    pd.testing.assert_frame_equal(off[0], on[0])
    assert off[1] == on[1]
    assert sorted(off[2]) == sorted(on[2])
    for name in off[2]:
        pd.testing.assert_frame_equal(off[2][name], on[2][name], obj=name)
    assert on_res.metrics["trust_pairs"] == 0  # nothing learned, nothing stored


def _model(write, sets=(), seed=3) -> QunModel:
    return QunModel(load_scenario(write(BASE), ["trust.enabled=true", *sets]), seed=seed)


def test_learning_is_the_beta_mean(write):
    """k right of n answers: (m n0 + g k) / (n0 + g n); right raises, wrong lowers."""
    model = _model(write, ["trust.prior_strength=4", "trust.answer_gain=0.5", "trust.initial_formal=0.6"])
    tr = model.process("trust")
    pop = model.pop
    a = 0
    b = int(np.flatnonzero((pop.facility == pop.facility[a]) & (np.arange(pop.n) != a))[0])  # a colleague: formal
    assert tr.prior([a], [b], -1)[0][0] == FORMAL
    before = tr.value([a], [b], -1)[0]
    assert before == pytest.approx(0.6)
    tr.observe_answers([a] * 3, [b] * 3, [-1] * 3, [True, True, True])
    up = tr.value([a], [b], -1)[0]
    assert up == pytest.approx((0.6 * 4 + 0.5 * 3) / (4 + 0.5 * 3))
    tr.observe_answers([a] * 5, [b] * 5, [-1] * 5, [False] * 5)
    down = tr.value([a], [b], -1)[0]
    assert down == pytest.approx((0.6 * 4 + 0.5 * 3) / (4 + 0.5 * 8))
    assert up > before > down
    assert tr.value([b], [a], -1)[0] == pytest.approx(0.6)  # trust is directed
    # a meeting raises it
    tr.meet(np.array([a, b]))
    assert tr.value([a], [b], -1)[0] == pytest.approx((0.6 * 4 + 0.5 * 3 + 1.0) / (4 + 0.5 * 8 + 1.0))
    # a batch of stored and new pairs: each gets its own value (stored, or the prior of its context)
    c = int(np.flatnonzero(pop.facility != pop.facility[a])[0])
    readers, senders = np.array([a, b, a, c]), np.array([b, a, c, a])
    mixed = tr.value(readers, senders, -1)
    alone = [tr.value([r], [s], -1)[0] for r, s in zip(readers, senders, strict=True)]
    assert np.array_equal(mixed, alone)
    assert np.array_equal(mixed[1:], tr.prior(readers[1:], senders[1:], -1)[1])  # only (a, b) is stored
    assert mixed[0] != tr.prior([a], [b], -1)[1][0]


def _introduced(model):
    """(member, invitee, group, inviter) for invitees from another facility than the member."""
    net, pop = model.net, model.pop
    rows = np.flatnonzero(net.m_inviter >= 0)
    assert rows.size
    for r in rows:
        g, inv, by = net.m_group[r], net.m_clinician[r], net.m_inviter[r]
        for s in net.members_of(g):
            fr, fs = pop.facility[inv], pop.facility[s]
            if fr != fs and pop.fac_parent[fr] != fs and pop.fac_parent[fs] != fr and s != by:
                return int(s), int(inv), int(g), int(by)
    raise AssertionError("no introduced pair")


def test_vouched_ties_start_from_the_inviters_trust(write):
    sets = ["trust.initial_introduced=0.2", "trust.initial_formal=0.8", "trust.initial_event=0.8"]
    model = _model(write, [*sets, "trust.vouch_weight=0.5"])
    tr = model.process("trust")
    member, invitee, g, inviter = _introduced(model)
    tie, mean = tr.prior([invitee], [member], g)
    assert tie[0] == INTRODUCED
    assert mean[0] == pytest.approx(0.2 + 0.5 * (0.8 - 0.2))  # vouched: halfway to the inviter's 0.8
    assert tr.prior([member], [invitee], g)[0][0] == INTRODUCED  # both directions
    # the inviter learns to trust the member more: the invitee starts higher
    tr.observe_answers([inviter] * 20, [member] * 20, [g] * 20, [True] * 20)
    t_v = tr.value([inviter], [member], g)[0]
    assert t_v > 0.8
    assert tr.prior([invitee], [member], g)[1][0] == pytest.approx(0.2 + 0.5 * (t_v - 0.2))
    # without vouching the introduced prior stays put
    plain = _model(write, [*sets, "trust.vouch_weight=0"]).process("trust")
    assert plain.prior([invitee], [member], g)[1][0] == pytest.approx(0.2)


def test_ties_by_how_they_met(write):
    model = _model(write)
    tr, pop, net = model.process("trust"), model.pop, model.net
    same = np.flatnonzero(pop.facility == pop.facility[0])[1]
    assert tr.prior([0], [same], -1)[0][0] == FORMAL
    # a 1-on-1 contact outside the facility and the hierarchy: met at an event
    far = np.flatnonzero(
        (pop.facility != pop.facility[0])
        & (pop.fac_parent[pop.facility] != pop.facility[0])
        & (pop.fac_parent[pop.facility[0]] != pop.facility)
    )[0]
    assert tr.prior([0], [far], -1)[0][0] == EVENT
    conf = np.flatnonzero(net.g_basis == 5)  # conference groups: in person
    if conf.size:
        members = net.members_of(int(conf[0]))
        t, _ = tr.prior(members[:1].repeat(members.size - 1), members[1:], int(conf[0]))
        assert set(t) <= {FORMAL, EVENT, INTRODUCED}


def _contact_event_share(write, event: float, formal: float, seed: int) -> tuple[float, int]:
    """Share of 1-on-1 answers whose (asker, expert) tie is an event tie."""
    sets = [
        "trust.enabled=true",
        f"trust.initial_event={event}",
        f"trust.initial_formal={formal}",
        "trust.answer_gain=0",
        "diagnosis.case_rate_per_facility_per_day.primary=12",
        'diagnosis.escalation="parallel"',  # every case asks a contact
        "diagnosis.contact_answer_prob=1.0",
    ]
    model = QunModel(load_scenario(write(BASE), sets), seed=seed)
    model.run_model()
    dx, tr = model.process("diagnosis"), model.process("trust")
    ans = dx.answers_frame()
    ans = ans[ans["route"] == "contact"]
    asker = dx.state.cases["asker"][ans["case"].to_numpy()]
    tie, _ = tr.prior(asker, ans["expert"].to_numpy(), -1)
    return float((tie == EVENT).mean()), int(ans.shape[0])


def test_more_trusted_contacts_are_asked_more(write):
    """Contacts met at events trusted 0.9 vs formal 0.3, against the reverse (same seeds)."""
    hi = [_contact_event_share(write, 0.9, 0.3, seed) for seed in (1, 2, 3)]
    lo = [_contact_event_share(write, 0.3, 0.9, seed) for seed in (1, 2, 3)]
    n_hi, n_lo = sum(n for _, n in hi), sum(n for _, n in lo)
    share_hi = sum(s * n for s, n in hi) / n_hi
    share_lo = sum(s * n for s, n in lo) / n_lo
    assert n_hi > 200 and n_lo > 200
    # about 350 answers each: the binomial se of the difference is at most
    # 0.5 sqrt(2 / 300) = 0.04; measured about 0.17
    assert share_hi - share_lo > 0.08


def test_belief_case_matches_and_rejects_fixed_credibility():
    registered_cases()
    case = CASES["trust_belief"]
    res = evaluate(case, replicates=8)
    assert res.passed
    # the fixed-credibility value (f = 1) lies outside the interval: the weighting acts
    base = CASES["first_exposure"].expected(load_scenario(scenario_dir() / "first_exposure.toml"))
    assert abs(res.mean - base) > res.half_width
    # at trust = reference the case's closed form is the first-exposure one
    at_ref = [f"trust.initial_{t}=0.6" for t in ("formal", "introduced", "event")]
    scen = load_scenario(scenario_dir() / "trust_belief.toml", at_ref)
    assert case.expected(scen) == pytest.approx(base, rel=1e-12)


def test_learning_case_passes_and_rejects_a_biased_update():
    registered_cases()
    case = CASES["trust_learning"]
    res = evaluate(case, replicates=8)
    assert res.passed
    # the tempting wrong form, trust as if every answer were right (alpha0 + g n), is far off
    scen = load_scenario(scenario_dir() / "trust_learning.toml")
    model = QunModel(scen, seed=5)
    model.run_model()
    tr = model.process("trust")
    right, wrong = tr.right.sum(), tr.wrong.sum()
    assert wrong > 0 and right > 0
    assert abs(tr.config.answer_gain * wrong) > res.half_width


def test_the_store_finds_every_pair_across_its_growths(write):
    """Thousands of pairs created in batches (the hash table of their keys grows several times)."""
    tr = _model(write, ["trust.answer_gain=1"]).process("trust")
    rng = np.random.default_rng(0)
    n = tr.n
    counts: dict[tuple[int, int], list[int]] = {}
    for _ in range(40):
        a, b = rng.integers(0, n, 300), rng.integers(0, n, 300)
        ok = rng.random(300) < 0.7
        tr.observe_answers(a, b, -1, ok)
        for x, y, c in zip(a, b, ok, strict=True):
            counts.setdefault((int(x), int(y)), [0, 0])[0 if c else 1] += 1
    assert tr.size == len(counts) > 2000
    pairs = np.array(list(counts))
    idx = tr._stored(pairs[:, 0] * n + pairs[:, 1])
    assert (idx >= 0).all() and np.unique(idx).size == idx.size
    expected = np.array(list(counts.values()))
    assert (tr.right[idx] == expected[:, 0]).all() and (tr.wrong[idx] == expected[:, 1]).all()
    absent = next((x, y) for x in range(n) for y in range(n) if (x, y) not in counts)
    assert tr._stored(np.array([absent[0] * n + absent[1]]))[0] == -1


def test_a_run_with_trust_meets_at_conferences_and_writes_its_table(write, tmp_path):
    sets = [
        "trust.enabled=true",
        "network.conference_attendance=1",
        "network.conference_join_prob=1",
        "diagnosis.case_rate_per_facility_per_day.primary=8",
    ]
    res = run(load_scenario(write(BASE), sets), seed=2)
    m = res.metrics
    assert m["trust_meetings"] >= 2  # a conference every 2 days in 6 days
    table = res.tables["trust"]
    assert len(table) == m["trust_pairs"] > 0
    assert table["meetings"].sum() > 0
    # right answers raise trust above the prior, wrong ones lower it (no meeting between)
    alone = table[table["meetings"] == 0]
    assert (alone["trust"][alone["wrong_answers"] == 0] > alone["prior"][alone["wrong_answers"] == 0]).all()
    assert (alone["trust"][alone["right_answers"] == 0] < alone["prior"][alone["right_answers"] == 0]).all()
    ts = res.timeseries
    assert (ts["metric"] == "trust_pairs").any()
    folder = res.save(tmp_path / "out")
    assert len(pd.read_parquet(folder / "trust.parquet")) == len(table)


def test_the_recorded_means_are_each_ties_mean_trust(write):
    """The record reads each tie's entries through the ids kept per tie: the same means as
    ``trust()`` taken under a mask of each tie, after entries of several ties were made over
    several growths of the store."""
    from sim.processes.trust.config import TIES
    from sim.results import Recorder

    model = _model(write, ["trust.answer_gain=0.5"])
    tr, pop = model.process("trust"), model.pop
    rng = np.random.default_rng(5)
    for _ in range(6):  # answers from clinicians at the same facility, and from anyone (1-on-1)
        asker = rng.integers(0, pop.n, 300)
        anyone = rng.integers(0, pop.n, 300)
        colleague = np.array([np.flatnonzero(pop.facility == pop.facility[a])[0] for a in asker])
        answerer = np.where(rng.random(300) < 0.5, colleague, anyone)
        ok = answerer != asker
        tr.observe_answers(asker[ok], answerer[ok], -1, rng.random(ok.sum()) < 0.7)
    value, ties = tr.trust(), tr.tie
    assert len(set(ties.tolist())) >= 2  # entries of two ties at least
    rec = Recorder()
    tr.record(model, rec)
    frame = rec.frame()
    got = dict(zip(frame["metric"], frame["value"], strict=True))
    assert got["trust_pairs"] == tr.size
    for code, tie in enumerate(TIES):
        if (ties == code).any():
            assert got[f"trust_mean_{tie}"] == float(value[ties == code].mean())
        else:
            assert f"trust_mean_{tie}" not in got
