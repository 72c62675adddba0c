"""The compiled inner loops of the information process (sim/processes/information/kernels.py,
decision_kernels.py)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sim.processes.information import decision_kernels as D
from sim.processes.information import draws
from sim.processes.information import kernels as K
from sim.processes.information.census import census
from sim.processes.information.config import CONTENT
from sim.processes.information.posting import post_in_groups
from sim.rng_ref import GeneratorRef


def _groups(sizes, n_clinicians, seed=0):
    """Random groups as the kernels see them: rows sorted by group, plus the clinician CSR."""
    rng = np.random.default_rng(seed)
    members = [np.sort(rng.choice(n_clinicians, s, replace=False)) for s in sizes]
    g_members = np.concatenate(members).astype(np.int32)
    m_group = np.repeat(np.arange(len(sizes), dtype=np.int32), sizes)
    g_indptr = np.zeros(len(sizes) + 1, np.int64)
    np.cumsum(sizes, out=g_indptr[1:])
    c_rows = np.argsort(g_members, kind="stable").astype(np.int32)
    c_indptr = np.zeros(n_clinicians + 1, np.int64)
    np.cumsum(np.bincount(g_members, minlength=n_clinicians), out=c_indptr[1:])
    return dict(
        g_indptr=g_indptr,
        g_members=g_members,
        m_group=m_group,
        c_indptr=c_indptr,
        c_rows=c_rows,
        c_groups=m_group[c_rows],
    )


def _index(net, muted, g_muted, rows=True):
    """The kernels' view of the groups of ``_groups`` (without ``rows``, the kernels search the
    rows of the clinicians' groups, as after a day's changes)."""
    c_rows = net["c_rows"] if rows else np.zeros(0, np.int32)
    return K.Groups(net["c_indptr"], net["c_groups"], c_rows, net["g_indptr"], net["g_members"], muted, g_muted)


def test_noticed_copies_are_bernoulli_per_unmuted_member():
    # one group of 201; the sender sits in the middle; 20 members muted
    n, p, n_posts = 201, 0.05, 4000
    net = _groups([n], n)
    muted = np.zeros(n, bool)
    muted[np.arange(0, n, 10)[:20]] = True
    sender_row = 100
    muted[sender_row] = False
    g_muted = np.array([muted.sum()], np.int64)
    group_posts = np.zeros(1, np.int32)
    post, recv, deliveries = K.noticed_copies(
        np.random.default_rng(1),
        np.zeros(n_posts, np.int32),
        np.full(n_posts, sender_row, np.int64),
        _index(net, muted, g_muted),
        p,
        group_posts,
    )
    unmuted_others = n - 1 - int(muted.sum())
    assert deliveries == n_posts * unmuted_others
    assert group_posts[0] == n_posts
    assert not np.isin(recv, net["g_members"][muted]).any()
    assert not (recv == net["g_members"][sender_row]).any()
    assert np.all(np.diff(post) >= 0) and post.max() < n_posts
    # the number noticed is Binomial(trials, p): within 4 sd
    trials = n_posts * unmuted_others
    assert abs(recv.size - trials * p) < 4 * np.sqrt(trials * p * (1 - p))
    # and spread evenly over the unmuted members (chi-square, fixed seed)
    counts = np.bincount(recv, minlength=n)[net["g_members"][~muted & (np.arange(n) != sender_row)]]
    assert stats.chisquare(counts).pvalue > 1e-3
    # no post gets a copy twice to the same member
    assert np.unique(post.astype(np.int64) * n + recv).size == recv.size


@pytest.mark.parametrize("p", [0.0, 1.0])
def test_noticed_copies_extremes(p):
    net = _groups([5, 7], 12)
    muted = np.zeros(12, bool)
    post, recv, d = K.noticed_copies(
        np.random.default_rng(0),
        np.array([0, 1], np.int32),
        np.array([0, 5], np.int64),
        _index(net, muted, np.zeros(2, np.int64)),
        p,
        np.zeros(2, np.int32),
    )
    assert d == 4 + 6
    assert recv.size == (0 if p == 0 else 10)
    if p == 1:
        assert set(recv[post == 0]) == set(net["g_members"][1:5])
        assert set(recv[post == 1]) == set(net["g_members"][6:12])


def test_posting_and_stopping_rates():
    n = 3000
    net = _groups(np.full(600, 25), n, seed=2)
    sharers = np.arange(0, n, 2, dtype=np.int64)
    active = np.zeros(n, bool)
    active[sharers] = True
    weight = np.linspace(0.5, 1.5, sharers.size).astype(np.float32)
    rng = np.random.default_rng(3)
    sharing = K.Sharers(sharers, np.array([0.3]), np.zeros(1, np.int8), weight)
    index = _index(net, np.zeros(net["g_members"].size, bool), np.zeros(600, np.int64))
    who, group, row, deliveries, post, recv, msgs = post_in_groups(
        rng,
        rng,
        sharing,
        index,
        0.01,
        0.4,
        active,
        np.zeros(600, np.int32),
        K.Stamp(2, 5.0, 100),
    )
    # a message per post with a noticed copy (in post order), none for the others
    assert isinstance(msgs, K.Messages) and 0 < msgs.item.size < who.size
    assert (np.diff(msgs.post) > 0).all() and np.array_equal(np.unique(post), np.arange(msgs.item.size))
    item, stance, sender, c_group, post_id, t, c_weight = (col[post] for col in msgs)  # per copy
    trials = int((net["c_indptr"][sharers + 1] - net["c_indptr"][sharers]).sum())
    assert abs(who.size - 0.3 * trials) < 4 * np.sqrt(trials * 0.3 * 0.7)
    # every post is by a sharer, in one of its own groups, from its own membership row
    assert (net["g_members"][row] == sharers[who]).all() and (net["m_group"][row] == group).all()
    stopped = (~active[sharers]).sum()
    assert abs(stopped - 0.4 * sharers.size) < 4 * np.sqrt(sharers.size * 0.4 * 0.6)
    assert deliveries == who.size * 24
    # each noticed copy carries its post's sender, group, id and the sender's weight
    k = post_id - 100
    assert recv.size > 0 and (k >= 0).all() and (k < who.size).all()
    assert (sender == sharers[who[k]]).all() and (c_group == group[k]).all()
    assert (c_weight == weight[who[k]]).all() and (item == 2).all() and (t == 5.0).all() and (stance == 0).all()
    assert (recv != sender).all()
    keys = net["m_group"].astype(np.int64) * n + net["g_members"]  # every membership
    assert np.isin(c_group.astype(np.int64) * n + recv, keys).all()  # copies go to co-members


@pytest.mark.parametrize("compiled", [True, False])
def test_the_posts_chosen_are_the_trials_below_their_chance(compiled):
    """Each sharer's trials, one per group in the order of its groups, then its stop: the
    same posts whether a sharer's trials run as one block (up to ``UNROLL`` groups) or one
    by one (more groups, or the last trials of the uniforms), with one chance or one each."""
    choose = K.choose_posts if compiled else K.choose_posts.py_func
    rng = np.random.default_rng(26)
    n = 300
    # groups per clinician from 0 to about 3 x UNROLL: many large groups, and a few small
    net = _groups(np.r_[rng.integers(40, 120, 12), rng.integers(2, 6, 30)], n, seed=26)
    index = _index(net, np.zeros(net["g_members"].size, bool), np.zeros(42, np.int64))
    deg = np.diff(net["c_indptr"])
    assert deg.max() > K.UNROLL and (deg <= K.UNROLL).any() and (deg == 0).any()
    for one_chance in (True, False):
        sharers = np.sort(rng.choice(n, 200, replace=False)).astype(np.int64)
        p_post = np.array([0.4]) if one_chance else np.where(rng.random(200) < 0.2, 0.0, rng.random(200))
        trials = K.posting_trials(sharers, p_post, net["c_indptr"])
        u = rng.random(trials)
        want_who, want_ent, want_stop, q = [], [], [], 0
        for i, s in enumerate(sharers):  # the trials one by one, as the rule reads
            p = p_post[0] if one_chance else p_post[i]
            if p > 0:
                for e in range(net["c_indptr"][s], net["c_indptr"][s + 1]):
                    if u[q] < p:
                        want_who.append(i)
                        want_ent.append(e)
                    q += 1
            want_stop.append(u[q] < 0.3)
            q += 1
        assert q == u.size
        active = np.ones(n, bool)
        who, group, row, _, _ = choose(
            rng,
            u,
            K.Sharers(sharers, p_post, np.zeros(1, np.int8), np.ones(1, np.float32)),
            index,
            0.3,
            active,
            np.zeros(42, np.int32),
        )
        assert who.tolist() == want_who and len(want_who) > 100
        assert np.array_equal(group, net["c_groups"][want_ent]) and np.array_equal(row, net["c_rows"][want_ent])
        assert np.array_equal(~active[sharers], np.array(want_stop))


def test_with_copies():
    keep, msg = K.with_copies(np.array([0, 0, 3, 3, 3, 4, 9], np.int64), 12)
    assert keep.tolist() == [0, 3, 4, 9] and msg.tolist() == [0, 0, 1, 1, 1, 2, 3]
    keep, msg = K.with_copies(np.zeros(0, np.int64), 5)
    assert keep.size == 0 and msg.size == 0


def _random_inputs(seed):
    n = 400
    net = _groups(np.random.default_rng(seed).integers(3, 40, 60), n, seed=seed)
    rng = np.random.default_rng(seed)
    muted = rng.random(net["g_members"].size) < 0.1
    g_muted = np.bincount(net["m_group"][muted], minlength=60).astype(np.int64)
    sharers = np.sort(rng.choice(n, 80, replace=False)).astype(np.int64)
    return n, net, muted, g_muted, sharers


def _post(stream, u, sharing, index, active, gp, interpreted=False, gaps=None):
    """The posting kernels one after the other (the uniforms ``u`` drawn ahead or not; the
    noticed copies' ``gaps`` drawn ahead, or drawn by the kernel), with p_notice 0.3 and
    p_stop 0.25; returns what :func:`post_in_groups` returns."""
    choose = K.choose_posts.py_func if interpreted else K.choose_posts
    copies = K.post_copies.py_func if interpreted else K.post_copies
    who, group, row, trials, deliveries = choose(stream, u, sharing, index, 0.25, active, gp)
    gaps = np.zeros(0, np.int64) if gaps is None else gaps(trials)
    msg, recv, msgs, _ = copies(stream, gaps, who, group, row, sharing, index, 0.3, trials, K.Stamp(0, 1.0, 0))
    return who, group, row, deliveries, msg, recv, msgs


@pytest.mark.parametrize("staged", [False, True])
@pytest.mark.parametrize("seed", [0, 1])
def test_compiled_and_interpreted_kernels_agree(seed, staged):
    """The compiled kernels and the same code run by the interpreter give identical results
    (staged: a paywalled guideline, some sharers posting the article, staged adoption), and so
    do the posts' rows searched in their groups."""
    n, net, muted, g_muted, sharers = _random_inputs(seed)
    outs = []
    for run in ("compiled", "compiled, stream by reference", "interpreted", "compiled, rows searched"):
        read_fn = K.read_guideline if run != "interpreted" else K.read_guideline.py_func
        rng = np.random.default_rng(seed + 10)
        active = np.zeros(n, bool)
        active[sharers] = True
        gp = np.zeros(60, np.int32)
        stance = (rng.random(sharers.size) < 0.3).astype(np.int8) * K.ARTICLE if staged else np.zeros(1, np.int8)
        sharing = K.Sharers(sharers, rng.random(sharers.size), stance, np.ones(1, np.float32))
        stream = GeneratorRef(rng) if run.endswith("reference") else rng  # the same draws either way
        index = _index(net, muted, g_muted, rows=not run.endswith("searched"))
        u = draws.posting_uniforms(rng, sharing, index)
        res = _post(stream, u, sharing, index, active, gp, interpreted=run == "interpreted")
        who, group, row, _, post, recv, msgs = res
        cols = K.Copies(recv, *(col[post] for col in msgs))
        item = K.GuidelineState(
            np.zeros(n, np.int8),
            active,
            np.full(n, np.nan, np.float32),
            np.full(n, np.nan, np.float32),
            np.zeros(n, np.int16),
            np.full(n, -1, np.int32),
            gp,
        )
        order = rng.permutation(cols.recv.size)
        uptake = _uptake(n, staged, staged, rng.random(n) < 0.3)
        aware, adopt, consider = read_fn(
            rng.random(3 * order.size),
            order,
            cols,
            item,
            K.ReadRules(0.6, 0.0, True, 0.5, 2, 3, 0.5),
            uptake,
            rng.random(n).astype(np.float32),
            1.0,
        )
        outs.append([who, group, row, post, *cols, *item, *uptake[2:], aware, adopt, consider])
    assert outs[0][3].size > 50 and outs[0][-3 if not staged else -1].size > 0  # every branch is exercised
    for other in outs[1:]:
        for a, b in zip(outs[0], other, strict=True):
            np.testing.assert_array_equal(a, b)


def _copies(recv, sender, group, weight=None):
    m = len(recv)
    return K.Copies(
        np.asarray(recv, np.int32),
        np.zeros(m, np.int32),
        np.zeros(m, np.int8),
        np.asarray(sender, np.int32),
        np.asarray(group, np.int32),
        np.full(m, -1, np.int64),
        np.zeros(m),
        np.ones(m, np.float32) if weight is None else np.asarray(weight, np.float32),
    )


def _state(n, state=None, active=None, group_posts=None, n_sources=None):
    return K.GuidelineState(
        np.zeros(n, np.int8) if state is None else state,
        np.zeros(n, bool) if active is None else active,
        np.full(n, np.nan, np.float32),
        np.full(n, np.nan, np.float32),
        np.zeros(n, np.int16) if n_sources is None else n_sources,
        np.full(n, -1, np.int32),
        np.zeros(4, np.int32) if group_posts is None else group_posts,
    )


def _uptake(n, staged=False, paywalled=False, access=None):
    return K.Uptake(
        staged,
        paywalled,
        np.zeros(n, bool) if access is None else np.asarray(access, bool),
        np.zeros(n, np.int8),
        np.zeros(n, np.int8),
        np.zeros(n, np.int16),
    )


def _read(
    recv,
    sender,
    group,
    *,
    n=6,
    adopt_prob=1.0,
    sources=2,
    discussion=99,
    group_posts=None,
    stifle=0.0,
    active=None,
    state=None,
    seed=0,
):
    item = _state(n, state, active, group_posts)
    m = len(recv)
    aware, adopt, _ = K.read_guideline(
        np.random.default_rng(seed).random(3 * m),
        np.arange(m),
        _copies(recv, sender, group),
        item,
        K.ReadRules(1.0, stifle, True, adopt_prob, sources, discussion, 0.5),
        _uptake(n),
        np.zeros(0, np.float32),
        2.0,
    )
    return item._asdict(), aware, adopt


@pytest.mark.parametrize("seed", range(4))  # reading orders differ by seed; the rules hold in each
def test_reading_rules_for_guidelines(seed):
    # reader 0: the same sender twice -> aware, one source, no adoption
    # reader 1: two different senders -> aware at the first copy, adopts at the second
    # reader 2: two copies from a group that discussed the item -> adopts at the second
    gp = np.array([0, 5, 0, 0], np.int32)
    recv = np.array([0, 0, 1, 1, 2, 2])
    a, aware, adopt = _read(recv, [3, 3, 3, 4, 5, 5], [0, 0, 0, 0, 1, 1], discussion=5, group_posts=gp, seed=seed)
    assert list(a["state"][:3]) == [K.AWARE, K.ADOPTED, K.ADOPTED]
    assert sorted(recv[aware]) == [0, 1, 2] and sorted(recv[adopt]) == [1, 2]
    assert not set(aware) & set(adopt)
    assert a["n_sources"][0] == 1 and a["n_sources"][1] == 2
    assert (a["t_first"][:3] == 2.0).all() and np.isnan(a["t_taken"][0]) and a["t_taken"][1] == 2.0
    assert a["active"][:3].all()  # share_prob = 1


@pytest.mark.parametrize("seed", range(4))
def test_stifling_only_for_direct_messages_to_someone_who_knew(seed):
    # reader 0 knew already; it hears from 3 in a group and from 4 directly (group -1):
    # 4 stops, 3 goes on
    active = np.array([False, False, False, True, True, False])
    state = np.array([K.AWARE, 0, 0, 0, 0, 0], np.int8)
    a, aware, _ = _read(
        [0, 0, 0], [3, 4, 3], [0, -1, 0], stifle=1.0, active=active, adopt_prob=0.0, state=state, seed=seed
    )
    assert a["active"][3] and not a["active"][4] and aware.size == 0


def test_reading_order_is_uniformly_random():
    """Which of two copies a reader takes in first is a fair coin (it decides the recorded source)."""
    firsts = []
    for seed in range(400):
        _, aware, _ = _read([0, 0], [3, 4], [0, 0], adopt_prob=0.0, seed=seed)
        firsts.append(aware[0])
    k = int(np.sum(firsts))
    assert stats.binomtest(k, 400, 0.5).pvalue > 1e-3


def test_three_uniforms_per_copy_always_suffice():
    """Worst case for the draws: every copy is a direct message to an aware, eligible reader
    (a stifling draw and an adoption draw each). The interpreted kernel would raise
    IndexError on running out of uniforms."""
    m, n = 200, 50
    rng = np.random.default_rng(4)
    recv = rng.integers(0, 25, m).astype(np.int32)
    sender = rng.integers(25, 50, m).astype(np.int32)
    state = np.full(n, K.AWARE, np.int8)
    n_sources = np.full(n, 5, np.int16)
    u = rng.random(3 * m)
    aware, adopt, _ = K.read_guideline.py_func(
        u,
        np.arange(m),
        _copies(recv, sender, np.full(m, -1)),
        _state(n, state, np.ones(n, bool), n_sources=n_sources),
        K.ReadRules(0.5, 0.5, True, 1e-9, 2, 3, 0.5),
        _uptake(n),
        np.zeros(0, np.float32),
        1.0,
    )
    assert aware.size == 0 and adopt.size == 0


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("staged", [False, True])
def test_a_burst_draws_its_uniforms_a_block_at_a_time_with_the_same_outcome(compiled, staged):
    """A batch read with the generator and one block of uniforms (the rest drawn as they
    are used) equals the batch read with every uniform drawn beforehand: the same order,
    the same readers aware, adopting and considering, the same state; and the generator
    ends where drawing all 3 x copies at once leaves it."""
    m, n = 3 * K.DRAW_BLOCK // 2 + 7, 4000  # four and a half blocks of uniforms
    rng = np.random.default_rng(8)
    recv = rng.integers(0, n, m).astype(np.int32)
    sender = rng.integers(0, n, m).astype(np.int32)
    group = np.where(rng.random(m) < 0.3, -1, rng.integers(0, 4, m)).astype(np.int32)
    state0 = np.where(rng.random(n) < 0.5, K.AWARE, 0).astype(np.int8)
    fn = K.read_guideline if compiled else K.read_guideline.py_func
    runs = []
    for burst in (False, True):
        item = _state(n, state0.copy(), np.zeros(n, bool), np.full(4, 5, np.int32), np.ones(n, np.int16))
        uptake = _uptake(n, staged)
        gen = np.random.default_rng(21)
        u = gen.random(K.DRAW_BLOCK if burst else 3 * m)
        order = np.arange(m)
        out = fn(
            u,
            order,
            _copies(recv, sender, group),
            item,
            K.ReadRules(0.4, 0.3, True, 0.2, 2, 3, 0.5),
            uptake,
            np.zeros(0, np.float32),
            1.0,
            gen if burst else None,
        )
        runs.append((order, out, item, uptake, gen.random(3)))
    (order_a, out_a, item_a, up_a, next_a), (order_b, out_b, item_b, up_b, next_b) = runs
    assert np.array_equal(order_a, order_b)
    assert all(np.array_equal(a, b) for a, b in zip(out_a, out_b, strict=True))
    assert out_a[0].size > 0 and (out_a[2].size if staged else out_a[1].size) > 0
    for a, b in zip((*item_a, *up_a[2:]), (*item_b, *up_b[2:]), strict=True):
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    assert np.array_equal(next_a, next_b)  # the stream moved on by 3 x copies in both


def _read_staged(recv, sender, group, stance, *, n=8, access=None, sources=2, seed=0):
    item = _state(n)
    uptake = _uptake(n, True, True, access)
    m = len(recv)
    copies = _copies(recv, sender, group)._replace(stance=np.asarray(stance, np.int8))
    aware, adopt, consider = K.read_guideline(
        np.random.default_rng(seed).random(3 * m),
        np.arange(m),
        copies,
        item,
        K.ReadRules(0.0, 0.0, True, 1.0, sources, 99, 0.5),
        uptake,
        np.zeros(0, np.float32),
        2.0,
    )
    return item, uptake, aware, adopt, consider


@pytest.mark.parametrize("seed", range(4))
def test_staged_reading_needs_the_full_text_and_never_adopts(seed):
    """A paywalled guideline under staged adoption: two sources make a reader consider only
    with the full text (own access or an article copy, before or after the news); nobody
    adopts while reading; a considering reader counts reinforcing copies."""
    A, C = K.ARTICLE, CONTENT
    # reader 0: two news copies, no access -> aware, no full text, not considering
    # reader 1: two news copies, own access -> considering (own access)
    # reader 2: first copy an article, second news -> considering (aware through the article)
    # reader 3: the news then an article from the same sender, then a third sender: considering
    #           once both hold (full text read after the news)
    # reader 4: considers at its second copy; its third copy (a new sender) reinforces
    recv = [0, 0, 1, 1, 2, 2, 3, 3, 3, 4, 4, 4]
    sender = [5, 6, 5, 6, 5, 6, 5, 5, 6, 5, 6, 7]
    stance = [C, C, C, C, A, C, C, A, C, A, C, C]
    access = [False, True, False, False, False, False, False, False]
    # one copy at a time per reader, in order: read each reader's copies in separate calls
    item, uptake = _state(8), _uptake(8, True, True, access)
    considered = []
    for k in range(3):
        sel = [i for i in range(len(recv)) if sum(r == recv[i] for r in recv[:i]) == k]
        copies = _copies([recv[i] for i in sel], [sender[i] for i in sel], [0] * len(sel))._replace(
            stance=np.asarray([stance[i] for i in sel], np.int8)
        )
        _, adopt, consider = K.read_guideline(
            np.random.default_rng(seed + k).random(3 * len(sel)),
            np.arange(len(sel)),
            copies,
            item,
            K.ReadRules(0.0, 0.0, True, 1.0, 2, 99, 0.5),
            uptake,
            np.zeros(0, np.float32),
            float(k),
        )
        assert adopt.size == 0
        considered += [recv[sel[c]] for c in consider]
    assert sorted(considered) == [1, 2, 3, 4]
    assert list(item.state[:5]) == [K.AWARE] * 5
    assert list(uptake.stage[:5]) == [0, K.CONSIDERING, K.CONSIDERING, K.CONSIDERING, K.CONSIDERING]
    S = K.Src
    assert list(uptake.source[:5]) == [S.NONE, S.OWN, S.ARTICLE, S.ARTICLE_LATER, S.ARTICLE]
    assert list(uptake.reinforced[:5]) == [0, 0, 0, 0, 1]


def test_one_source_considers_on_becoming_aware_when_the_text_comes_with_it():
    item, uptake, aware, _, consider = _read_staged([0, 1], [5, 5], [0, 0], [K.ARTICLE, CONTENT], sources=1)
    assert list(consider) == [0] and aware.size == 2 and list(uptake.stage[:2]) == [K.CONSIDERING, 0]


@pytest.mark.parametrize("compiled", [True, False])
def test_rumor_transitions_equal_the_masks(compiled):
    kernel = D.rumor_transitions if compiled else D.rumor_transitions.py_func
    rng = np.random.default_rng(22)
    believes, corrected, doubts = 1, 2, 3
    for n in (0, 1, 500):
        start = rng.integers(0, 4, n).astype(np.int8)
        state = np.where(rng.random(n) < 0.1, rng.integers(0, 4, n), start).astype(np.int8)
        u = rng.random(n)
        p_forget = 0.2
        verify_below = (p_forget + rng.random(n).astype(np.float32) * (1 - p_forget)).astype(np.float32)
        check_below = rng.random(n).astype(np.float32)
        same = state == start  # the masks over every clinician's uniform
        bel, cor = same & (start == believes), same & (start == corrected)
        forget = (bel | cor) & (u < p_forget)
        verify = bel & ~forget & (u < verify_below)
        check = same & (start == doubts) & (u < check_below)
        # the kernel sees only the uniforms below the largest chance, at their clinicians
        hit = np.flatnonzero(u < max(p_forget, verify_below.max(initial=0), check_below.max(initial=0)))
        got = kernel(state, start, hit, u[hit], p_forget, verify_below, check_below, believes, corrected, doubts)
        for g, w in zip(got, (forget, verify, check), strict=True):
            assert np.array_equal(g, np.flatnonzero(w)) and g.dtype == np.flatnonzero(w).dtype
        assert n < 500 or all(g.size for g in got)


def _rumor_readers_by_sort(recv, stance, w, sender, group, state, content, correction, unaware):
    """What :func:`expose_rumor` computed before :func:`rumor_readers`: a stable sort by
    reader, ``np.bincount`` of the weights and the first masked copy per reader."""
    order = np.argsort(recv, kind="stable")
    rs = recv[order]
    head = np.empty(rs.size, bool)
    head[0] = True
    np.not_equal(rs[1:], rs[:-1], out=head[1:])
    readers, at = rs[head], order[head]
    slot = np.empty(recv.size, np.int64)
    slot[order] = np.cumsum(head) - 1
    first = np.zeros(recv.size, bool)
    first[at] = True
    st = state[readers]
    known = (st[slot] != unaware) | ~first
    is_r, is_c = stance == content, stance == correction
    m = readers.size
    out = [at, st, known, np.bincount(slot, weights=w * is_r, minlength=m)]
    out.append(np.bincount(slot, weights=w * is_c, minlength=m))
    for mask in (is_r, is_c):
        src, grp = np.full(m, -1, np.int32), np.full(m, -1, np.int32)
        idx = order[mask[order]]
        if idx.size:
            r = slot[idx]
            h = np.empty(r.size, bool)
            h[0] = True
            np.not_equal(r[1:], r[:-1], out=h[1:])
            src[r[h]], grp[r[h]] = sender[idx[h]], group[idx[h]]
        out += [src, grp]
    return readers, slot, out


@pytest.mark.parametrize("compiled", [True, False])
def test_rumor_readers_equal_the_sort_and_the_bincounts(compiled):
    from sim.kernels import unique_inverse

    kernel = D.rumor_readers if compiled else D.rumor_readers.py_func
    rng = np.random.default_rng(23)
    content, correction, unaware = 0, 1, 0
    for n, weight_type in ((1, np.float32), (9, np.float64), (2000, np.float32), (2000, np.float64)):
        recv = rng.integers(0, max(n // 3, 1), n).astype(np.int32)  # readers with several copies
        stance = rng.integers(0, 3, n).astype(np.int8)  # content, correction, neither
        w = (rng.random(n) * 3).astype(weight_type)  # float64: weights times trust
        sender = rng.integers(0, 500, n).astype(np.int32)
        group = np.where(rng.random(n) < 0.3, -1, rng.integers(0, 50, n)).astype(np.int32)
        state = rng.integers(0, 4, 1000).astype(np.int8)
        readers, slot, want = _rumor_readers_by_sort(recv, stance, w, sender, group, state, content, correction, 0)
        uniq, inv = unique_inverse(recv)  # as the process finds them (DistinctIds)
        assert np.array_equal(uniq, readers) and np.array_equal(inv, slot)
        got = kernel(inv, uniq, stance, w, sender, group, state, content, correction, unaware)
        for g, x in zip(got, want, strict=True):
            assert np.array_equal(g, x) and g.dtype == x.dtype  # the sums bit for bit, too
        assert n < 2000 or ((got[3] > 0).any() and (got[5] < 0).any() and (got[7] >= 0).any())


def _stances_by_masks(rng, readers, st, w_r, w_c, literacy, rule, item, codes, t):
    """What :func:`expose_rumor` computed before :func:`take_stances`: numpy masks over the
    susceptible readers, and the states set as ``set_state`` set them."""
    cred, effect, ref, w0, kappa, beta, persistent_share, share_prob = rule
    state, t_first, t_taken, ever, persistent, active, reached = item
    unaware, doubts, believes, corrected = codes
    sus = (st == unaware) | (st == doubts)
    r_s = readers[sus]
    a = np.full(r_s.size, cred)
    if literacy.size:
        a = a - effect * (literacy[r_s] - ref)
    a = np.clip(a, -0.99, 0.99)
    wc_s = w_c[sus]
    wr, wc, wj = w_r[sus] * (1 + a), kappa * wc_s * (1 - a), w0 * (1 - a)
    take = rng.random(r_s.size) < beta
    u = rng.random(r_s.size) * (wr + wc + wj)
    believe = take & (u < wr)
    correct = take & ~believe & (u < wr + wc)
    doubt = ~(believe | correct) & (st[sus] == unaware)
    for mask, new in ((believe, believes), (correct, corrected), (doubt, doubts)):
        who = r_s[mask]
        t_first[who[np.isnan(t_first[who])]] = t
        state[who] = new
    who = r_s[believe]
    ever[who] = True
    t_taken[who[np.isnan(t_taken[who])]] = t
    persistent[who] = rng.random(who.size) < persistent_share
    took = r_s[believe | correct]
    active[took] = rng.random(took.size) < share_prob
    reached[r_s[believe & (wc_s > 0)]] = True
    at = np.flatnonzero(sus)
    return at[believe], at[correct], at[doubt], at[believe | correct]


@pytest.mark.parametrize("compiled", [True, False])
def test_a_readers_credibility_is_numpys_bit_for_bit(compiled):
    kernel = D.reader_credibility if compiled else D.reader_credibility.py_func
    rng = np.random.default_rng(25)
    literacy = rng.random(2000).astype(np.float32)
    for cred, effect in ((0.3, 1.0), (0.9, 0.37), (-0.5, 2.5)):
        want = np.clip(np.full(literacy.size, cred) - effect * (literacy - 0.5), -0.99, 0.99)
        got = np.array([kernel(cred, effect, 0.5, x) for x in literacy])
        assert np.array_equal(got, want)
        assert kernel(cred, effect, 0.5, np.float32(np.nan)) == cred
    assert kernel(0.9, 2.5, 0.5, np.float32(0.0)) == 0.99 and kernel(-0.9, 2.5, 0.5, np.float32(1.0)) == -0.99


@pytest.mark.parametrize("compiled", [True, False])
def test_take_stances_is_the_masks_it_replaced(compiled):
    from sim.rng_ref import GeneratorRef

    kernel = D.take_stances if compiled else D.take_stances.py_func
    rng = np.random.default_rng(24)
    codes = (0, 3, 1, 2)  # unaware, doubts, believes, corrected
    n_clin = 3000
    for m, hetero, w0 in ((0, True, 1.0), (1, False, 1.0), (900, True, 1.0), (900, False, 0.0), (900, True, 0.0)):
        readers = np.sort(rng.choice(n_clin, m, replace=False)).astype(np.int64)
        st = rng.integers(0, 4, m).astype(np.int8)
        w_r = np.where(rng.random(m) < 0.7, rng.random(m) * 2, 0.0)
        w_c = np.where(rng.random(m) < 0.4, rng.random(m) * 2, 0.0)
        literacy = rng.random(n_clin).astype(np.float32) if hetero else np.zeros(0, np.float32)
        rule = (0.3, 1.0, 0.5, w0, w0 * 1.07 if w0 else 1.0, 0.6, 0.2, 0.45)
        item0 = (
            rng.integers(0, 4, n_clin).astype(np.int8),
            np.where(rng.random(n_clin) < 0.5, np.float32(2.0), np.nan).astype(np.float32),
            np.where(rng.random(n_clin) < 0.2, np.float32(1.0), np.nan).astype(np.float32),
            rng.random(n_clin) < 0.2,
            rng.random(n_clin) < 0.1,
            rng.random(n_clin) < 0.3,
            rng.random(n_clin) < 0.2,
        )
        want_item = tuple(x.copy() for x in item0)
        got_item = tuple(x.copy() for x in item0)
        want_gen, got_gen = np.random.default_rng(m), np.random.default_rng(m)
        want = _stances_by_masks(want_gen, readers, st, w_r, w_c, literacy, rule, want_item, codes, 3.25)
        got = kernel(GeneratorRef(got_gen), readers, st, w_r, w_c, literacy, rule, got_item, codes, 3.25)
        for g, w in zip(got, want, strict=True):
            assert np.array_equal(g, w) and g.dtype == w.dtype
        for g, w in zip(got_item, want_item, strict=True):
            assert np.array_equal(g, w, equal_nan=g.dtype.kind == "f") and g.dtype == w.dtype
        assert np.array_equal(got_gen.random(3), want_gen.random(3))  # the same draws, in the same order
        assert m < 900 or all(g.size for g in got)


@pytest.mark.parametrize("compiled", [True, False])
def test_decide_considering_is_the_masks_it_replaced(compiled):
    kernel = D.decide_considering if compiled else D.decide_considering.py_func
    rng = np.random.default_rng(21)
    for n in (0, 1, 7, 500):
        who = rng.permutation(10 * n + 1)[:n].astype(np.int64)
        rate, seen = rng.random(n), rng.integers(0, 4, n).astype(np.int16)
        p_adopt = rng.choice([0.0, 0.3, 1.0], n) * rng.random(n)
        p_decide = p_adopt + (1.0 - p_adopt) * 0.2
        u = rng.random(n)
        u[: n // 5] = p_adopt[: n // 5]  # ties: u equal to a chance does not pass it
        adopt, decided = u < p_adopt, u < p_decide  # the masks over every clinician's uniform
        keep = ~decided
        want = [who[adopt], who[decided & ~adopt], who[keep], rate[keep], seen[keep], p_adopt[keep], p_decide[keep]]
        arrays = [who.copy(), rate.copy(), seen.copy(), p_adopt.copy(), p_decide.copy()]
        # the kernel sees only the uniforms below the largest chance to decide, at their places
        hit = np.flatnonzero(u < p_decide.max(initial=0.0))
        a, r, m = kernel(hit, u[hit], arrays[3], arrays[4], arrays[0], arrays[1], arrays[2])
        got = [a, r, *(x[:m] for x in arrays)]
        for g, w in zip(got, want, strict=True):
            assert np.array_equal(g, w) and g.dtype == w.dtype
        assert n < 500 or (0 < a.size and 0 < r.size and 0 < m < n)


@pytest.mark.parametrize("compiled", [True, False])
def test_reinforced_now_is_the_gather_and_the_comparison(compiled):
    kernel = D.reinforced_now if compiled else D.reinforced_now.py_func
    rng = np.random.default_rng(22)
    counts = rng.integers(0, 3, 400).astype(np.int16)
    for n, n_old in ((0, 0), (5, 0), (5, 5), (300, 200)):
        who = rng.permutation(400)[:n].astype(np.int64)
        seen = np.where(rng.random(n_old) < 0.3, counts[who[:n_old]] + 1, counts[who[:n_old]]).astype(np.int16)
        r, stale = kernel(counts, who, seen)
        assert np.array_equal(r, counts[who]) and r.dtype == counts.dtype
        assert np.array_equal(stale, np.flatnonzero(counts[who][:n_old] != seen))
        assert n_old < 200 or 0 < stale.size < n_old


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("n", [0, 1, 4999])
def test_census_counts_states_stages_heard_and_sharers(compiled, n):
    """The one-pass census against numpy: clinicians per (state, tier, stage), the stages
    of the aware as the old gated count gave them, the heard and the sharers; a size not a
    multiple of the lanes, and an item without stages."""
    rng = np.random.default_rng(4)
    state = rng.integers(0, 4, n).astype(np.int8)
    tier = rng.integers(0, 3, n).astype(np.int8)
    stage = rng.integers(0, 3, n).astype(np.int8)
    t_first = np.where(rng.random(n) < 0.4, np.nan, rng.random(n)).astype(np.float32)
    active = rng.random(n) < 0.1
    fn = census if compiled else census.py_func
    joint, heard, sharers = fn(state, tier, 4, stage, 3, t_first, active)
    expect = np.zeros((4, 3, 3), np.int64)
    np.add.at(expect, (state, tier, stage), 1)
    assert np.array_equal(joint, expect)
    aware = state == 1
    by_stage = np.zeros((3, 3), np.int64)  # (stage, tier) among the aware
    np.add.at(by_stage, (stage[aware], tier[aware]), 1)
    assert np.array_equal(joint[1].T, by_stage)
    assert heard == n - int(np.isnan(t_first).sum())
    assert sharers == int(active.sum())
    plain, heard2, sharers2 = fn(state, tier, 4, np.zeros(0, np.int8), 3, t_first, active)
    assert np.array_equal(plain[:, :, 0], expect.sum(axis=2)) and not plain[:, :, 1:].any()
    assert (heard2, sharers2) == (heard, sharers)


def test_posting_reads_exactly_the_uniforms_drawn_for_it(monkeypatch):
    """One uniform per membership of each sharer who may post, one per sharer to stop: a
    count off either way is an error, not a read past the draws."""
    n, net, muted, g_muted, sharers = _random_inputs(4)
    index = _index(net, muted, g_muted)
    p_post = np.where(np.arange(sharers.size) % 3 == 0, 0.0, 0.4)  # some sharers never post
    sharing = K.Sharers(sharers, p_post, np.zeros(1, np.int8), np.ones(1, np.float32))
    deg = net["c_indptr"][sharers + 1] - net["c_indptr"][sharers]
    need = int(deg[p_post > 0].sum()) + sharers.size
    assert K.posting_trials(sharers, p_post, net["c_indptr"]) == need
    assert draws.posting_uniforms(np.random.default_rng(0), sharing, index).size == 0  # few: the kernel draws
    monkeypatch.setattr(draws, "NUMPY_DRAWS_FROM", sharers.size)
    assert draws.posting_uniforms(np.random.default_rng(0), sharing, index).size == need
    for size in (need - 1, need + 1):
        active = np.ones(n, bool)
        with pytest.raises(ValueError, match="uniforms"):
            K.choose_posts(
                np.random.default_rng(0), np.random.default_rng(1).random(size), sharing, index, 0.25, active,
                np.zeros(60, np.int32),
            )  # fmt: skip


def test_the_posting_uniforms_drawn_by_numpy_or_by_the_kernel_are_the_same():
    """Many sharers: numpy draws the uniforms before the call; few: the kernel draws them. One
    stream: the same posts, stops, copies and the Generator's state after."""
    n, net, muted, g_muted, sharers = _random_inputs(5)
    index = _index(net, muted, g_muted)
    sharing = K.Sharers(sharers, np.array([0.4]), np.zeros(1, np.int8), np.ones(1, np.float32))
    assert draws.posting_uniforms(np.random.default_rng(0), sharing, index).size == 0  # few: the kernel draws
    outs = []
    for drawn in (True, False):
        rng = np.random.default_rng(11)
        active = np.ones(n, bool)
        u = rng.random(K.posting_trials(sharers, sharing.p_post, index.c_indptr)) if drawn else np.zeros(0)
        res = _post(rng, u, sharing, index, active, np.zeros(60, np.int32))
        outs.append([res[0], res[1], res[2], np.array([res[3]]), res[4], res[5], *res[6], active, rng.random(3)])
    assert outs[0][0].size > 20 and outs[0][5].size > 0
    for a, b in zip(*outs, strict=True):
        np.testing.assert_array_equal(a, b)


def test_the_gaps_of_noticed_copies_drawn_by_numpy_or_by_the_kernel_are_the_same(monkeypatch):
    """Many copies expected: numpy draws the noticed copies' gaps ahead, more than are read
    (the stream goes back to where the last one read leaves it); or a few are drawn ahead and
    the kernel draws the rest after them. The same posts, copies and messages, and the
    Generator's state after, as when the kernel draws every gap."""
    n, net, muted, g_muted, sharers = _random_inputs(6)
    index = _index(net, muted, g_muted)
    sharing = K.Sharers(sharers, np.array([0.5]), np.zeros(1, np.int8), np.ones(1, np.float32))
    drawn, read = [], []  # gaps drawn ahead and read, per run of post_in_groups
    return_unread = draws.return_unread

    def recorded(rng, gaps, state, n_read):
        drawn.append(gaps.size)
        read.append(n_read)
        return_unread(rng, gaps, state, n_read)

    monkeypatch.setattr(draws, "return_unread", recorded)
    outs = []
    for ahead in ("none", "numpy", "five", "numpy, at most five"):
        monkeypatch.setattr(draws, "NUMPY_GAPS_FROM", 1 if ahead.startswith("numpy") else 1 << 40)  # a small network
        monkeypatch.setattr(draws, "NUMPY_GAPS_AT_MOST", 5 if ahead.endswith("five") else 1 << 20)
        rng = np.random.default_rng(21)
        active = np.ones(n, bool)
        if ahead == "five":
            u = draws.posting_uniforms(rng, sharing, index)
            res = _post(rng, u, sharing, index, active, np.zeros(60, np.int32),
                        gaps=lambda _, rng=rng: (np.log(1.0 - rng.random(5)) / K.log_no_notice(0.3)).astype(np.int64))  # fmt: skip
        else:
            res = post_in_groups(
                rng, rng, sharing, index, 0.3, 0.25, active, np.zeros(60, np.int32), K.Stamp(0, 1.0, 0)
            )
        outs.append([res[0], res[1], res[2], np.array([res[3]]), res[4], res[5], *res[6], active, rng.random(3)])
    # drawn ahead by numpy: more than were read; at most five: the kernel drew the others (the
    # kernel alone drew them for the first run, which therefore never came back to numpy)
    assert len(drawn) == 2 and drawn[0] > read[0] > drawn[1] == 5 and read[1] == read[0]
    assert outs[0][5].size > 30  # copies, each after a gap
    for other in outs[1:]:
        for a, b in zip(outs[0], other, strict=True):
            np.testing.assert_array_equal(a, b)


def test_no_gaps_are_drawn_ahead_over_a_buffered_half_draw():
    """Going back in the stream (advance) drops a buffered 32-bit half-draw: with one
    buffered, numpy draws no gaps ahead and the kernel draws them all."""
    rng = np.random.default_rng(0)
    assert draws.notice_gaps(rng, 10**6, 0.01)[0].size > 10**4
    rng.integers(0, 10, dtype=np.int32)  # leaves half of a 64-bit draw buffered
    before = rng.bit_generator.state
    gaps, state = draws.notice_gaps(rng, 10**6, 0.01)
    assert gaps.size == 0 and state is None and rng.bit_generator.state == before
