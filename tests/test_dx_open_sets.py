"""The diagnosis state's open sets follow the cases diagnosed, step by step, as a full
recomputation from every case's diagnosis time would (the reference here)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.arrays import sorted_member
from sim.processes.diagnosis import state as S
from sim.processes.diagnosis.config import CONTACT, DROPPED
from sim.processes.diagnosis.resolution_kernels import forget_cases


def _not_asked(st, cases, members):
    """Per (case, member): not asked about the case yet, by the asked keys (as the contact
    kernel searches them)."""
    keys = cases.astype(np.int64) * st.n + members
    merged, recent = st.asked_keys()
    return ~(sorted_member(keys, merged) | sorted_member(keys, recent))


@pytest.mark.parametrize("streamed", [False, True])
def test_open_sets_and_asked_keys_follow_the_diagnoses(monkeypatch, streamed):
    monkeypatch.setattr(S, "ASKED_MERGE_MIN", 8)  # merge (and drop keys) often
    monkeypatch.setattr(S, "OPEN_REQUESTS_COMPACT_MIN", 8)  # and drop the rows of closed requests
    rng = np.random.default_rng(21)
    n = 30  # clinicians
    st = S.DxState(n, 3, rng)
    asked_ref: list[tuple[int, int]] = []
    pair_ids: list[int] = []  # the request id of every pair made
    req_case: list[int] = []
    req_t: list[float] = []
    merges = 0
    late = 0  # requests made after their case's diagnosis
    drops = 0  # steps that dropped the rows of closed requests
    dropped_seen = 0  # dropped pairs whose rows were held after a step
    for step in range(60):
        ids = st.add_cases(t_arrival=np.full(4, float(step)))
        st.open_ids = np.concatenate([st.open_ids, ids])
        # requests about open cases, to a few members each
        open_now = st.open_ids
        about = rng.choice(open_now, min(5, open_now.size), replace=False)
        reqs = st.add_requests(case=about, route=CONTACT, group=-1, t_post=float(step), slots=1, quality=1.0)
        req_case += about.tolist()
        req_t += [float(step)] * about.size
        members = rng.integers(0, n, (about.size, 2))
        st.add_pairs(np.repeat(reqs, 2), members.ravel().astype(np.int32), np.repeat(about, 2))
        pair_ids += np.repeat(st.open_requests["id"][reqs], 2).tolist()
        asked_ref += list(zip(np.repeat(about, 2).tolist(), members.ravel().tolist(), strict=True))
        # who of the open cases is asked about, against the keys of every (case, member) asked
        q_case = rng.choice(open_now, 40)
        q_member = rng.integers(0, n, 40)
        ref = np.array([(c, m) not in set(asked_ref) for c, m in zip(q_case, q_member, strict=True)])
        assert np.array_equal(_not_asked(st, q_case, q_member), ref)
        # some open cases are diagnosed; every seventh stays open (as cases waiting weeks for a
        # referral visit do), so that an early row held is open when later cases are written out
        newly = open_now[(rng.random(open_now.size) < 0.3) & (open_now % 7 != 0)]
        # some diagnosed before this step's request about them (it then does not count)
        st.cases["t_dx"][st.rows(newly)] = float(step) + np.where(rng.random(newly.size) < 0.3, -0.5, 0.5)
        before, h_before = st._asked.size, len(st.open_requests)
        # what a step's diagnosis pass does (resolution_kernels.diagnose_due), then the state's upkeep
        kept, closed = forget_cases(newly, *st.row_lookup(), *st.forget_inputs(), st.cases["t_dx"], DROPPED)
        st.forgotten(kept, closed)
        st.settle_pairs()  # as the process does at the end of a step
        merges += st._asked.size != before
        t_dx = st.cases["t_dx"]
        held = st.held_ids()
        undiagnosed = held[np.isnan(t_dx)]
        assert np.array_equal(st.open_ids, np.intersect1d(st.open_ids, undiagnosed))
        assert not np.isin(newly, st.open_ids).any()
        rc = np.array(req_case)
        H = st.open_requests
        assert np.array_equal(st.requests["case"], rc)  # every request, by id
        assert np.array_equal(H["id"][st.open_reqs], np.flatnonzero(np.isin(rc, st.open_ids)))
        assert np.array_equal(H["case"], rc[H["id"]]) and (np.diff(H["id"]) > 0).all()
        assert (H["slots"][np.isin(H["case"], newly)] == 0).all()
        # the pairs not dropped are those of open requests, in the order made; the dropped are
        # removed once they are half the table
        live = st.pairs["state"] != DROPPED
        still = set(H["id"][st.open_reqs].tolist())
        assert np.array_equal(H["id"][st.pairs["req"][live]], [i for i in pair_ids if i in still])
        assert np.isin(H["case"][st.pairs["req"][live]], st.open_ids).all()
        assert st.n_open_pairs() == np.count_nonzero(live) and 2 * np.count_nonzero(~live) < max(live.size, 1)
        dropped_seen += np.count_nonzero(~live)
        assert len(H) <= max(2 * st.open_reqs.size, S.OPEN_REQUESTS_COMPACT_MIN)
        drops += len(H) < h_before
        # requests made before the diagnosis (all, when open), per case held: as counted from every request
        top = max(int(held.max()), int(rc.max(initial=0))) + 1
        rt, t_of = np.array(req_t), np.full(top, np.inf)
        t_of[held] = np.where(np.isnan(t_dx), np.inf, t_dx)
        want = np.bincount(rc[rt < t_of[rc]], minlength=top)[held] if rc.size else 0
        assert np.array_equal(st.requests_made(), want)
        late += int((rt[np.isin(rc, newly)] >= t_of[rc[np.isin(rc, newly)]]).sum())
        if st._asked.size != before and not st._asked_new:  # just merged: only keys of open cases
            assert np.isin(st._asked // n, st.open_ids).all()
        if streamed and step % 10 == 9:  # write out the diagnosed cases, as streaming does
            done = ~np.isnan(t_dx)
            st.drop_cases(done)
    assert merges >= 3 and late > 0 and drops >= 2 and dropped_seen > 0
    if streamed:
        assert st.n_written > 0


def test_cases_at_a_referral_wait_in_the_visit_queue_not_in_the_open_ids():
    from sim import load_scenario
    from sim.model import QunModel
    from sim.processes.diagnosis.config import REFERRAL

    from .conftest import SCENARIOS

    # few clinicians, many cases: congested referral queues, visits booked days ahead
    scen = load_scenario(SCENARIOS / "province.toml", ["population.n_clinicians=3000", "run.duration_days=15"])
    model = QunModel(scen, seed=4)
    st = model.process("diagnosis").state
    waited = 0
    for _ in range(15 * 12):
        model.step()
        C, ids = st.cases, st.held_ids()
        waiting = np.isnan(C["t_dx"])  # consulting, not diagnosed (cases decided locally have t_dx at arrival)
        at_ref = C["now"] == REFERRAL
        assert np.array_equal(st.open_ids, ids[waiting & ~at_ref])
        assert np.all(np.diff(st.visit_t) >= 0) and (st.visit_t >= model.t - 1e-9).all()
        queued = ids[waiting & at_ref]  # every case waiting at a referral has its visit queued, at its time
        pos = {c: i for i, c in enumerate(st.visit_case.tolist())}
        assert all(c in pos for c in queued.tolist())
        got = np.array([st.visit_t[pos[c]] for c in queued.tolist()])
        assert np.array_equal(got, C["t_ref_dx"][np.searchsorted(ids, queued)])
        waited = max(waited, queued.size)
    assert waited > 50
