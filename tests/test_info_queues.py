"""The information process's queue of pending copies (``state.Queues``): a copy holds its
reader and its message, the message's columns are stored once. Taken copies must equal
those of a queue that stores every column per copy, in the same order, whatever the
reading and the removals (copies queued while none are pending are taken as they came),
and the messages no copy refers to must go."""

import copy

import numpy as np
import pytest

from sim.kernels import DistinctIds
from sim.processes.information import kernels as K
from sim.processes.information import state as S
from sim.rng_ref import GeneratorRef
from sim.table import Table


def _messages(rng, m, first_post):
    return K.Messages(
        rng.integers(0, 4, m).astype(np.int32),
        rng.integers(0, 3, m).astype(np.int8),
        rng.integers(0, 1000, m).astype(np.int32),
        rng.integers(-1, 50, m).astype(np.int32),
        first_post + np.arange(m, dtype=np.int64),
        rng.random(m),
        rng.random(m).astype(np.float32),
    )


@pytest.mark.parametrize("seed", [0, 1])
def test_taken_copies_equal_a_queue_of_whole_copies(seed, monkeypatch):
    monkeypatch.setattr(S, "MESSAGES_COMPACT_MIN", 64)  # drops happen within the test
    monkeypatch.setattr(S, "SHRINK_EVERY", 5)  # and the buffers are given back after the burst
    monkeypatch.setattr(S, "SHRINK_FLOOR", 8)
    rng = np.random.default_rng(seed)
    caps = []
    q = S.Queues()
    flat = Table(S.DELIVERY_SPEC)  # the reference: every column per copy
    n_posts, drops, kept_before, staged_takes = 0, 0, 0, 0
    looked_up: set[bool] = set()
    removed = np.zeros(0, np.int64)
    got: K.Copies | None = None
    kept: list[np.ndarray] = []
    # the chats opened (take_opened): a generator, the chances of 1000 clinicians, and the
    # scratch of the distinct readers over their range (a pass over its bits) or a far
    # larger one (a sort)
    draws = np.random.default_rng(seed + 10)
    draws_ref = GeneratorRef(draws)
    chances = (rng.random(1000) < 0.5, rng.random(1000).astype(np.float32), rng.random(1000).astype(np.float32) / 4)
    scratches = (DistinctIds(1000).scratch(), DistinctIds(1000 * 2048).scratch())
    opened = 0
    for step in range(200):
        # new posts with several copies each, and messages with one copy each
        m = int(rng.integers(0, 12)) if step != 100 else 400  # a burst of posts at step 100
        msgs = _messages(rng, m, n_posts)
        n_posts += m
        per = rng.integers(0, 8 if step != 100 else 60, m)
        post_of = np.repeat(np.arange(m), per)
        recv = rng.integers(0, 1000, post_of.size).astype(np.int32)
        q.queue(recv, post_of, msgs)
        flat.append(K.Copies(recv, *(col[post_of] for col in msgs)))
        if step % 4 == 0:  # some steps bring direct messages too
            k = int(rng.integers(0, 4))
            each = K.Copies(rng.integers(0, 1000, k).astype(np.int32), *_messages(rng, k, -1))
            each = each._replace(post=np.full(k, -1, np.int64))
            q.queue_each(each)
            flat.append(each)
        assert q.n_pending() == len(flat)
        if got is not None:  # what was taken before stays as it was while new copies are queued
            for col, want_col in zip(got, kept, strict=True):
                np.testing.assert_array_equal(col, want_col)
        # some posts removed; every third step all copies are read
        if step % 7 == 3 and n_posts:
            ids = rng.integers(0, n_posts, 5)
            q.remove_posts(ids)
            removed = np.union1d(removed, ids)  # every post removed so far
            gone = q.gone()
            looked_up.add(q.n_pending() < len(q._messages))  # per copy, or per message
            post = flat["post"]
            want_gone = np.zeros(post.size, bool)
            want_gone[post >= 0] = np.isin(post[post >= 0], removed)
            np.testing.assert_array_equal(gone, want_gone)
        else:
            gone = None
        read = step % 3 == 2  # some open their chats, else every copy is read
        # copies queued while none were pending are not in the tables yet; read whole, they never are
        staged = q._staged is not None
        whole = staged and not read and gone is None
        n_msgs = len(q._messages) + (q._staged[2].item.size if staged and not whole else 0)
        staged_takes += whole
        g = np.zeros(len(flat), bool) if gone is None else gone
        if read:
            # the reference: a uniform per distinct reader, below their day or night chance
            before = copy.deepcopy(draws)
            got, n_gone = q.take_opened(draws_ref, chances, gone, scratches[step % 2])
            readers, which = np.unique(flat["recv"], return_inverse=True)
            at_day, day, night = chances
            r = (before.random(readers.size) < np.where(at_day[readers], day[readers], night[readers]))[which]
            assert n_gone == int((r & g).sum())
            assert draws.random() == before.random()  # as many draws made
            opened += int(r.sum())
        else:
            got = q.take(gone)
            r = np.ones(len(flat), bool)
        want = flat.take(r & ~g)
        flat = flat.take(~r & ~g)
        kept = [col.copy() for col in got]
        for name, col in zip(S.DELIVERY_SPEC, got, strict=True):
            np.testing.assert_array_equal(col, want[name])
            assert col.dtype == want[name].dtype
        assert q.n_pending() == len(flat)
        if len(q.messages) < n_msgs:  # a drop: only messages some copy still refers to are left
            drops += 1
            assert kept_before == 0 or n_msgs > 2 * kept_before
            assert np.unique(q.pending["msg"]).size == len(q.messages)
            kept_before = len(q.messages)
        assert len(q.messages) <= max(2 * q._kept, S.MESSAGES_COMPACT_MIN)  # bounded by the live ones
        caps.append((q.pending.capacity, q.messages.capacity))
    assert drops >= 3 and opened > 200  # copies read by readers who opened their chats
    assert looked_up == {True, False}  # removed posts were looked up both ways
    assert staged_takes >= 20  # the queue read whole at the next step, without a pass through the tables
    # the burst grew the buffers; once it was read they were cut back
    burst = caps[100]
    assert burst[0] > 8000 and burst[1] > 400
    assert caps[-1][0] < burst[0] / 8 and caps[-1][1] < burst[1] / 2


def test_a_copy_costs_eight_bytes():
    # the point of the layout: what a message carries is not repeated per copy
    assert sum(np.dtype(d).itemsize for d in S.PENDING_SPEC.values()) == 8
    assert sum(np.dtype(d).itemsize for d in S.DELIVERY_SPEC.values()) > 30


def test_copies_of_other_dtypes_are_taken_in_the_tables_dtypes():
    # direct messages may come with 64-bit readers and weights: taken, they are of the spec
    rng = np.random.default_rng(3)
    q = S.Queues()
    msgs = _messages(rng, 4, 0)._replace(weight=rng.random(4))  # float64
    recv = np.array([5, 6, 7, 8], np.int64)
    q.queue(recv, np.arange(4), msgs)
    got = q.take(None)
    for name, col in zip(S.DELIVERY_SPEC, got, strict=True):
        assert col.dtype == S.DELIVERY_SPEC[name], name
    np.testing.assert_array_equal(got.recv, recv)
    np.testing.assert_array_equal(got.weight, msgs.weight.astype(np.float32))


def test_removed_posts_stay_sorted_and_distinct_as_a_union():
    """Posts removed in batches (repeats within a batch and across batches, ids below, between
    and above those held) leave ``removed`` as ``np.union1d`` of every batch would."""
    rng = np.random.default_rng(4)
    for _ in range(200):
        q, union = S.Queues(), np.zeros(0, np.int64)
        for _ in range(int(rng.integers(1, 10))):
            posts = rng.integers(0, int(rng.integers(1, 300)), int(rng.integers(0, 25)))
            q.remove_posts(posts)
            union = np.union1d(union, posts.astype(np.int64))
            assert q.removed.dtype == np.int64 and np.array_equal(q.removed, union)
