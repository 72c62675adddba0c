"""Facilities, clinicians and the group network: invariants and edge cases of the builders."""

import numpy as np
import pandas as pd
import pytest

from sim import load_scenario
from sim.contacts import build_contacts
from sim.groups import MIN_SIZE, _keyed_groups, build_groups, invite
from sim.population import BED_RANGES, build_population
from sim.rng import stream
from sim.schema import ROLES, TIERS, ScenarioError

from .conftest import SCENARIOS

BUILD = ["classroom.toml", "guangdong_study.toml"]


def _build(path, seed=3, overrides=None):
    scen = load_scenario(path, overrides)
    pop = build_population(scen.population, stream(seed, "population"))
    net = build_groups(pop, scen.groups, stream(seed, "groups"))
    return scen, pop, net


@pytest.fixture(scope="module", params=BUILD + ["province-small"])
def built(request):
    if request.param == "province-small":
        return _build(
            SCENARIOS / "province.toml",
            overrides=["population.n_clinicians=8000", "population.regions.0.count=3", "population.regions.1.count=8"],
        )
    return _build(SCENARIOS / request.param)


def test_every_clinician_has_a_facility(built):
    _, pop, _ = built
    assert pop.facility.min() >= 0 and pop.facility.max() < pop.n_facilities
    assert np.bincount(pop.facility, minlength=pop.n_facilities).min() >= 1


def test_facility_staff_lists_each_facilitys_clinicians_once_made(built):
    """The facility -> staff index: each facility's clinicians, ascending; made once and
    handed out read-only (the daily invitations read it)."""
    _, pop, _ = built
    indptr, staff = pop.facility_staff()
    assert indptr.size == pop.n_facilities + 1 and indptr[-1] == pop.n
    for f in range(pop.n_facilities):
        assert np.array_equal(staff[indptr[f] : indptr[f + 1]], np.flatnonzero(pop.facility == f))
    again = pop.facility_staff()
    assert again[0] is indptr and again[1] is staff
    with pytest.raises(ValueError):
        staff[0] = 0


def test_tiers_agree_with_beds(built):
    _, pop, _ = built
    np.testing.assert_array_equal(pop.tier_of_beds(), pop.fac_tier)
    for t, tier in enumerate(TIERS):
        lo, hi = BED_RANGES[tier]
        beds = pop.fac_beds[pop.fac_tier == t]
        assert ((beds >= lo) & (beds <= hi)).all()


def test_hierarchy(built):
    _, pop, _ = built
    parent = pop.fac_parent
    home = ~pop.fac_abroad
    prim = home & (pop.fac_tier == 0)
    sec = home & (pop.fac_tier == 1)
    assert (parent[prim] >= 0).all() and (pop.fac_tier[parent[prim]] >= 1).all()
    assert (parent[sec] >= 0).all() and (pop.fac_tier[parent[sec]] == 2).all()
    assert (parent[pop.fac_tier == 2] == -1).all()
    assert (parent[pop.fac_abroad] == -1).all()
    assert not pop.fac_abroad[parent[parent >= 0]].any()


def test_group_sizes_within_bounds(built):
    scen, _, net = built
    sizes = net.sizes[net.sizes > 0]
    assert sizes.min() >= MIN_SIZE and sizes.max() <= scen.groups.size_cap


def test_every_group_has_a_moderator_who_is_a_member(built):
    _, _, net = built
    mods = np.bincount(net.m_group[net.m_moderator], minlength=net.n_groups)
    assert (mods[net.sizes > 0] >= 1).all()


def test_membership_is_listed_consistently_both_ways(built):
    _, pop, net = built
    pairs_by_group = {(int(c), int(g)) for g in range(net.n_groups) for c in net.members_of(g)}
    pairs_by_clin = {(c, int(g)) for c in range(pop.n) for g in net.groups_of(c)}
    assert pairs_by_group == pairs_by_clin
    assert len(pairs_by_group) == net.n_rows  # no duplicate membership


def test_structure_report(built):
    _, pop, net = built
    s = net.structure(pop)
    assert s["n_memberships"] == net.n_rows
    assert 0 <= s["p_memberships_cross_tier"] <= 1 and 0 <= s["p_memberships_cross_region"] <= 1
    assert s["groups_per_clinician_mean"] == pytest.approx(net.n_rows / pop.n)


def test_role_shares_follow_the_papers_table():
    # n = 20,000: each share's binomial standard error is <= 0.0036; allow 4 of them
    scen = load_scenario(SCENARIOS / "guangdong_study.toml", ["population.n_clinicians=20000"])
    pop = build_population(scen.population, stream(5, "population"))
    shares = np.bincount(pop.role, minlength=len(ROLES)) / pop.n
    want = np.array([scen.population.roles[r] for r in ROLES])
    want = want / want.sum()
    se = np.sqrt(want * (1 - want) / pop.n)
    assert (np.abs(shares - want) <= 4 * se).all()


def test_other_seed_other_network():
    _, _, a = _build(SCENARIOS / "guangdong_study.toml", seed=1)
    _, _, b = _build(SCENARIOS / "guangdong_study.toml", seed=2)
    _, _, c = _build(SCENARIOS / "guangdong_study.toml", seed=1)
    assert not (a.n_rows == b.n_rows and np.array_equal(a.m_clinician, b.m_clinician))
    np.testing.assert_array_equal(a.m_clinician, c.m_clinician)
    np.testing.assert_array_equal(a.m_group, c.m_group)


def test_too_few_clinicians(small):
    # refused when the scenario loads, before anything is built
    with pytest.raises(ScenarioError, match="n_clinicians"):
        load_scenario(small, ["population.n_clinicians=5"])


# ------------------------------------------------------------- _keyed_groups edge cases
def rng():
    return np.random.default_rng(0)


def test_no_members_no_groups():
    clin, local, k = _keyed_groups(np.zeros(0, np.int64), np.zeros(0, np.int64), 10, 0.5, 500, rng())
    assert k == 0 and clin.size == 0


def test_key_with_two_members_forms_no_group():
    clin, local, k = _keyed_groups(np.arange(5), np.array([0, 0, 1, 1, 1]), 10, 0.0, 500, rng())
    assert k == 1 and set(clin) == {2, 3, 4}


def test_large_key_splits_at_the_cap():
    clin, local, k = _keyed_groups(np.arange(1200), np.zeros(1200, np.int64), 500, 0.0, 500, rng())
    sizes = np.bincount(local)
    assert k == 3 and sizes.max() <= 500 and sizes.sum() == 1200


def test_small_tail_merges_into_previous_chunk():
    clin, local, k = _keyed_groups(np.arange(22), np.zeros(22, np.int64), 10, 0.0, 500, rng())
    assert sorted(np.bincount(local)) == [10, 12]


def test_unmergeable_tail_stays_out():
    clin, local, k = _keyed_groups(np.arange(1001), np.zeros(1001, np.int64), 500, 0.0, 500, rng())
    assert k == 2 and clin.size == 1000


def test_invitations_respect_the_cap_and_spill(small):
    scen, pop, net = _build(small, overrides=["groups.size_cap=12", "groups.invite_per_member=0"])
    before = net.n_groups
    invite(net, pop, 3.0, 1.0, stream(0, "x"))
    assert net.sizes.max() <= 12
    assert net.n_groups > before  # full groups spilled over
    spill = net.memberships_frame().query("via == 'spill'")
    assert len(spill) > 0 and (spill["group"] >= before).all()


def test_membership_file(small, tmp_path):
    pd.DataFrame({"clinician": [0, 1, 2, 3, 4, 5, 6], "group": [7, 7, 7, 9, 9, 9, 9]}).to_parquet(
        tmp_path / "m.parquet"
    )
    _, pop, net = _build(small, overrides=[f'groups.membership_file="{tmp_path / "m.parquet"}"'])
    assert net.n_groups == 2 and sorted(net.sizes) == [3, 4]
    assert list(net.groups_of(3)) == [1]


@pytest.mark.parametrize(
    "frame,match",
    [
        ({"clinician": [0, 1], "group": [0, 0]}, "group sizes"),
        ({"clinician": [0, 1, 99999], "group": [0, 0, 0]}, "clinician ids"),
    ],
)
def test_membership_file_errors(small, tmp_path, frame, match):
    pd.DataFrame(frame).to_parquet(tmp_path / "m.parquet")
    with pytest.raises(ScenarioError, match=match):
        _build(small, overrides=[f'groups.membership_file="{tmp_path / "m.parquet"}"'])


def test_contacts_symmetric_without_self_loops(built):
    scen, pop, _ = built
    c = build_contacts(pop, scen.contacts, stream(0, "contacts"))
    src = np.repeat(np.arange(pop.n), c.degree)
    pairs = set(zip(src.tolist(), c.neighbors.tolist()))
    assert all((b, a) in pairs for a, b in pairs)
    assert (src != c.neighbors).all()


def test_membership_keys_stay_sorted_and_true_through_changes():
    """The keys (group * n + clinician, written over a kept buffer at each reindex) match
    the rows, sorted, after memberships are added, removed and added again."""
    _, pop, net = _build(SCENARIOS / "classroom.toml", seed=8)
    rng = np.random.default_rng(8)
    for day in range(6):
        k = 40 + 30 * day  # more rows than were removed: the buffer has to grow at some point
        net.add_members(rng.integers(0, pop.n, k), rng.integers(0, net.n_groups, k), float(day), 1)
        net.reindex()
        net.remove_rows(rng.choice(net.n_rows, 25, replace=False))
        key = net.m_group.astype(np.int64) * pop.n + net.m_clinician
        assert np.array_equal(net.m_key, key) and (np.diff(key) > 0).all()
        assert net.is_member(net.m_clinician, net.m_group).all()
        others = rng.integers(0, pop.n, 200)
        groups = rng.integers(0, net.n_groups, 200)
        assert np.array_equal(net.is_member(others, groups), np.isin(groups.astype(np.int64) * pop.n + others, key))


def test_membership_columns_changed_in_place_equal_the_copies_they_replaced():
    """The membership columns live in buffers with room and change in place (appends,
    removals, the merge at reindex): the rows equal those of a plain copy of every change
    (concatenate, mask, stable sort), and the arrays handed in at construction are not
    written to."""
    from sim.groups import _COLUMNS, GroupNetwork

    rng = np.random.default_rng(9)
    n, n_groups, rows = 300, 40, 900
    handed = {
        "m_clinician": rng.integers(0, n, rows).astype(np.int32),
        "m_group": rng.integers(0, n_groups, rows).astype(np.int32),
        "m_moderator": rng.random(rows) < 0.05,
        "m_joined": rng.random(rows).astype(np.float32),
        "m_via": rng.integers(0, 3, rows).astype(np.int8),
        "m_muted": rng.random(rows) < 0.1,
        "m_inviter": rng.integers(-1, n, rows).astype(np.int32),
    }
    kept = {k: v.copy() for k, v in handed.items()}
    net = GroupNetwork(n, **handed, g_basis=np.zeros(n_groups, np.int8), g_created=np.zeros(n_groups, np.float32))
    for k in _COLUMNS:
        assert np.array_equal(handed[k], kept[k])  # sorted into the network's own arrays
    ref = {k: getattr(net, k).copy() for k in _COLUMNS}
    for day in range(30):
        k = int(rng.integers(0, 120))  # sometimes past the room: the buffers grow
        new = {
            "m_clinician": rng.integers(0, n, k).astype(np.int32),
            "m_group": rng.integers(0, n_groups, k).astype(np.int32),
            "m_moderator": np.zeros(k, bool),
            "m_joined": np.full(k, day, np.float32),
            "m_via": np.full(k, 1, np.int8),
            "m_muted": np.zeros(k, bool),
            "m_inviter": rng.integers(0, n, k).astype(np.int32),
        }
        key_new = new["m_group"].astype(np.int64) * n + new["m_clinician"]
        _, first = np.unique(key_new, return_index=True)
        new = {c: v[first] for c, v in new.items()}  # distinct, not yet members
        fresh = ~net.is_member(new["m_clinician"], new["m_group"])
        new = {c: v[fresh] for c, v in new.items()}
        args = [new[c] for c in ("m_clinician", "m_group", "m_moderator", "m_joined", "m_via")]
        net._append(*args, new["m_inviter"])
        ref = {c: np.concatenate([ref[c], new[c]]) for c in _COLUMNS}
        if day % 7 == 3:  # a column replaced from outside: the next change starts from it
            net.m_via = net.m_via.copy()
            net.m_via[:3] = ref["m_via"][:3] = 2
        mute = rng.choice(net.n_rows, 10, replace=False)
        net.m_muted[mute] = True
        ref["m_muted"][mute] = True
        gone = rng.choice(net.n_rows, int(rng.integers(0, 60)), replace=False)
        before = net.m_clinician.copy()
        net.remove_rows(gone, reindex=False)
        keep = np.ones(ref["m_clinician"].size, bool)
        keep[gone] = False
        ref = {c: v[keep] for c, v in ref.items()}
        assert np.array_equal(before[keep], net.m_clinician)
        net.reindex()
        order = np.argsort(ref["m_group"].astype(np.int64) * n + ref["m_clinician"], kind="stable")
        ref = {c: v[order] for c, v in ref.items()}
        for c in _COLUMNS:
            got = getattr(net, c)
            assert np.array_equal(got, ref[c]) and got.dtype == ref[c].dtype, (day, c)
        assert np.array_equal(net.m_key, ref["m_group"].astype(np.int64) * n + ref["m_clinician"])
        assert np.array_equal(net.g_members, ref["m_clinician"])
        assert np.array_equal(net.sizes, np.bincount(ref["m_group"], minlength=n_groups))


def test_rows_of_groups_are_those_of_isin(built):
    from sim.groups import _rows_of_groups

    net = built[2]
    rng = np.random.default_rng(10)
    for k in (0, 1, 7, 60):
        groups = rng.integers(0, net.n_groups, k)  # any order, repeats
        want = np.flatnonzero(np.isin(net.m_group, groups))
        assert np.array_equal(_rows_of_groups(net, groups), want) and want.size >= min(k, 1) * 3


def test_memberships_are_muted_and_ended_at_their_daily_chances():
    """With no invitations and no conferences, each day mutes each unmuted membership with
    ``1 - exp(-mute_per_year / 365)`` and ends each with ``1 - exp(-leave_per_year / 365)``:
    the counts over 40 days are within 4 standard errors of the sums of those chances over
    the memberships there were each day."""
    from sim.model import QunModel

    over = [
        "run.duration_days=40",
        "run.step_minutes=1440",
        "population.n_clinicians=5000",
        "information.enabled=false",
        "diagnosis.enabled=false",
        "network.invite_per_member_per_year=0",
        "network.conference_interval_days=0",
        "network.mute_per_year=20",
        "network.leave_per_year=8",
    ]
    model = QunModel(load_scenario(SCENARIOS / "guangdong_study.toml", over), seed=12)
    net = model.net
    p_mute, p_leave = -np.expm1(-20 / 365), -np.expm1(-8 / 365)
    expect = {"muted": [0.0, 0.0], "left": [0.0, 0.0]}  # sum of chances, sum of variances
    got = {"muted": 0, "left": 0}
    for _ in range(40):  # one step a day: the day's mutes, then its departures, over the day's rows
        rows, unmuted = net.n_rows, int((~net.m_muted).sum())
        model.step()
        got["left"] += rows - net.n_rows
        for name, n, p in (("muted", unmuted, p_mute), ("left", rows, p_leave)):
            expect[name][0] += n * p
            expect[name][1] += n * p * (1 - p)
    got["muted"] = model.process("network").muted  # counted as drawn (some left the same day)
    assert net.n_rows > 0 and got["left"] > 5000 and got["muted"] > 5000  # a 10% error is over 7 sd
    for name in got:
        mean, var = expect[name]
        assert abs(got[name] - mean) < 4 * np.sqrt(var), (name, got[name], mean, np.sqrt(var))
