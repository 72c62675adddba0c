"""The compiled look-ups of pairwise trust give what the numpy they replaced gave, bit for bit;
the hash table of the entries finds every key and only those."""

from __future__ import annotations

import numpy as np
import pytest

from sim.config import load_scenario
from sim.model import QunModel
from sim.processes.trust.kernels import add_entries, find_entries, new_table
from sim.processes.trust.process import _EVENT_BASIS, EVENT, FORMAL, INTRODUCED

from .test_components import BASE


def _numpy_prior(tr, reader, sender, group):
    """(tie, prior mean) of each pair: the numpy formulation the kernels replaced (a binary
    search of the rows' sorted keys for a membership row, whole-array passes)."""
    net, pop, c = tr.model.net, tr.model.pop, tr.config

    def base(r, s, g):
        fr, fs = pop.facility[r], pop.facility[s]
        by_facility = (fr == fs) | (pop.fac_parent[fr] == fs) | (pop.fac_parent[fs] == fr)
        event = g < 0
        ing = ~event
        event[ing] = _EVENT_BASIS[net.g_basis[g[ing]]]
        event &= ~by_facility
        return (
            by_facility,
            np.where(event, EVENT, FORMAL).astype(np.int8),
            np.where(event, c.initial_event, c.initial_formal),
        )

    def rows(clin, g):
        key = g * tr.n + clin
        pos = np.minimum(np.searchsorted(net.m_key, key), net.m_key.size - 1)
        return np.where(net.m_key[pos] == key, pos, -1)

    by_facility, tie, mean = base(reader, sender, group)
    cand = np.flatnonzero((group >= 0) & ~by_facility) if (net.m_inviter >= 0).any() else np.zeros(0, np.int64)
    row_r, row_s = rows(reader[cand], group[cand]), rows(sender[cand], group[cand])
    inv_r = np.where(row_r >= 0, net.m_inviter[row_r], -1)
    inv_s = np.where(row_s >= 0, net.m_inviter[row_s], -1)
    intro = (inv_r >= 0) | (inv_s >= 0)
    i = cand[intro]
    inv_r, inv_s = inv_r[intro], inv_s[intro]
    vr = np.where(inv_r >= 0, inv_r, reader[i])
    vs = np.where(inv_r >= 0, sender[i], inv_s)
    t_v = base(vr, vs, group[i])[2]
    idx = _numpy_stored(tr, vr * tr.n + vs)
    t_v[idx >= 0] = tr.alpha[idx[idx >= 0]] / (tr.alpha[idx[idx >= 0]] + tr.beta[idx[idx >= 0]])
    mean = mean.astype(float, copy=True)
    mean[i] = c.initial_introduced + c.vouch_weight * (t_v - c.initial_introduced)
    tie[i] = INTRODUCED
    return tie, mean


def _numpy_stored(tr, key):
    """Entry of each key by a sort of every entry's key (-1: none)."""
    order = np.argsort(tr.keys, kind="stable")
    keys = tr.keys[order]
    pos = np.minimum(np.searchsorted(keys, key), max(keys.size - 1, 0))
    hit = keys[pos] == key if keys.size else np.zeros(key.size, bool)
    return np.where(hit, order[pos], -1)


@pytest.fixture(scope="module")
def learned(tmp_path_factory):
    """A run of 20 days with trust, invitations and answers: entries stored, ties introduced."""
    path = tmp_path_factory.mktemp("trust") / "s.toml"
    path.write_text(BASE)
    sets = ["trust.enabled=true", "trust.vouch_weight=0.4", "diagnosis.case_rate_per_facility_per_day.primary=8"]
    model = QunModel(load_scenario(path, [*sets, "run.duration_days=20"]), seed=5)
    model.run_model()
    tr = model.process("trust")
    assert tr.size > 100 and (model.net.m_inviter >= 0).any()
    return model, tr


def _pairs(model, tr, rng):
    """Pairs of every kind: stored, members of a common group (some invited), 1-on-1, random."""
    net, n = model.net, tr.n
    stored = rng.choice(tr.size, 300)
    reader, sender = tr.keys[stored] // n, tr.keys[stored] % n
    rows = np.flatnonzero(net.m_inviter >= 0)
    inv_rows = rng.choice(rows, 300)
    g = net.m_group[inv_rows].astype(np.int64)
    starts, sizes = net.g_indptr[g], np.diff(net.g_indptr)[g]
    other = net.g_members[starts + rng.integers(0, sizes)].astype(np.int64)
    invitee = net.m_clinician[inv_rows].astype(np.int64)
    r = np.concatenate([reader, invitee, other, rng.integers(0, n, 300), net.m_inviter[inv_rows].astype(np.int64)])
    s = np.concatenate([sender, other, invitee, rng.integers(0, n, 300), other])
    grp = np.concatenate([net.m_group[rng.integers(0, net.n_rows, 300)], g, g, -np.ones(300, np.int64), g])
    return r, s, grp.astype(np.int64)


def test_priors_are_the_numpy_priors(learned):
    model, tr = learned
    r, s, g = _pairs(model, tr, np.random.default_rng(1))
    tie, mean = tr.prior(r, s, g)
    ref_tie, ref_mean = _numpy_prior(tr, r, s, g)
    assert np.array_equal(tie, ref_tie) and np.array_equal(mean, ref_mean)
    assert {FORMAL, EVENT, INTRODUCED} <= set(tie.tolist())  # every kind of tie was looked at
    intro = tie == INTRODUCED
    assert (mean[intro] != tr.config.initial_introduced).any()  # vouching moved them


def test_values_are_stored_trust_else_the_numpy_prior(learned):
    model, tr = learned
    r, s, g = _pairs(model, tr, np.random.default_rng(2))
    got = tr.value(r, s, g)
    idx = _numpy_stored(tr, r * tr.n + s)
    expected = _numpy_prior(tr, r, s, g)[1]
    expected[idx >= 0] = tr.alpha[idx[idx >= 0]] / (tr.alpha[idx[idx >= 0]] + tr.beta[idx[idx >= 0]])
    assert (idx >= 0).sum() >= 300 and (idx < 0).sum() >= 300
    assert np.array_equal(got, expected)
    one = tr.value(r, s, -1)  # one context for every pair
    assert np.array_equal(one, tr.value(r, s, np.full(r.size, -1)))


def test_the_hash_table_finds_every_key_and_no_other():
    rng = np.random.default_rng(3)
    keys = np.unique(rng.integers(0, 10**12, 50_000))
    rng.shuffle(keys)
    table = new_table(16)
    for lo in range(0, keys.size, 997):  # batches, through several growths
        hi = min(lo + 997, keys.size)
        table = add_entries(table, keys[lo:hi], np.arange(lo, hi), keys[:hi])
        assert 2 * hi <= table.shape[0]  # at most half full
    assert np.array_equal(find_entries(table, keys), np.arange(keys.size))
    absent = np.setdiff1d(rng.integers(0, 10**12, 5000), keys)
    assert (find_entries(table, absent) == -1).all()
    with pytest.raises(ValueError, match="power of two"):
        new_table(1000)


def test_distinct_keys_are_numpys_unique_with_index_and_inverse():
    """Sorted distinct keys, each one's first position and each key's place among them, as
    ``np.unique(return_index=True, return_inverse=True)`` gives them, with repeats (a pair
    answered twice in a step), one key, and none."""
    from sim.processes.trust.kernels import distinct_keys

    rng = np.random.default_rng(8)
    for size, high in [(0, 5), (1, 5), (7, 3), (140, 60), (140, 10**12), (5000, 900)]:
        keys = rng.integers(0, high, size).astype(np.int64)
        got, want = distinct_keys(keys), np.unique(keys, return_index=True, return_inverse=True)
        for g, w in zip(got, want, strict=True):
            assert np.array_equal(g, w) and g.dtype == np.int64


def test_answers_are_added_as_numpys_unbuffered_adds():
    """Answers to entries, several to one entry in a step: the counts and the Beta parameters
    as ``np.add.at`` leaves them (the same additions in the same order), for gains that are
    not whole numbers."""
    from sim.processes.trust.kernels import add_answers

    rng = np.random.default_rng(3)
    for gain in (1.0, 0.37, 2.5):
        n, m = 30, int(rng.integers(1, 200))
        start = (rng.random(n) * 5 + 0.1, rng.random(n) * 5 + 0.1, *rng.integers(0, 9, (2, n)).astype(np.int32))
        idx, right = rng.integers(0, n, m), rng.random(m) < 0.6
        want = [x.copy() for x in start]
        for column, add in zip(want, (gain * right, gain * ~right, right.astype(np.int32), (~right).astype(np.int32))):
            np.add.at(column, idx, add)
        got = [x.copy() for x in start]
        add_answers(idx, right, gain, *got)
        for g, w in zip(got, want, strict=True):
            assert g.dtype == w.dtype and np.array_equal(g, w)
