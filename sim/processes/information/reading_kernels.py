"""Compiled pass of reading (numba, ``nopython``): which clinicians with copies waiting
open their chats in a step, and the copies they read taken out of the queue.

It replaces a run of numpy operations over the pending copies (the distinct readers, a
uniform each, their chances, the mask of the copies read, the split of the queue and a
gather per message column) with the same draws and comparisons in the same order: the
results are bit-identical, and the tests compare the runs with those steps. Compiled code
is cached next to this file.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ...kernels import DENSE_UNIQUE_RATIO, distinct_bits, unique_inverse
from ...rng_ref import as_generator

__all__ = ["open_chats"]


@njit(cache=True)
def open_chats(rng_ref, recv, msg, messages, chances, gone, words, slot):
    """The pending copies (readers ``recv``, message rows ``msg``: views of the queue's
    columns) read in a step, in one pass: the distinct readers (``np.unique``: by a sort, or
    by a pass over the bits of ``words`` with ``slot`` as scratch, as
    :class:`sim.kernels.DistinctIds` chooses), one uniform each in their order
    (``rng.random``), and each opens the chats when it falls below their chance to read in
    this step (``chances``: whether each clinician reads at the day rate now, the day and
    the night chances, as :func:`sim.activity.prob_parts` gives them). The copies of the
    readers who opened and not ``gone`` (a bool per copy, or none: empty) are taken out with
    their messages' columns (``messages``: the columns of ``kernels.Messages``); the others
    not gone are moved in order to the front of ``recv`` and ``msg`` (in place).

    Returns the copies read (the columns of ``kernels.Copies``), how many rows are left, and
    how many copies gone would have been read."""
    at_day_rate, day, night = chances
    item, stance, sender, group, post, t, weight = messages
    n = recv.size
    # each copy's reader among the distinct: by the inverse of the sort (few copies), or
    # looked up in ``slot`` (no array of a position per copy: a burst holds millions)
    by_sort = n * DENSE_UNIQUE_RATIO < slot.size
    if by_sort:
        readers, which = unique_inverse(recv)
    else:
        readers, which = distinct_bits(recv, words, slot), np.empty(0, np.int64)
    gen = as_generator(rng_ref)
    opens = np.empty(readers.size, np.bool_)
    for k in range(readers.size):
        w = readers[k]
        u = gen.random()
        opens[k] = u < (day[w] if at_day_rate[w] else night[w])
    any_gone = gone.size > 0
    n_read = 0
    n_gone = 0
    for i in range(n):
        if opens[which[i] if by_sort else slot[recv[i]]]:
            if any_gone and gone[i]:
                n_gone += 1
            else:
                n_read += 1
    out_recv = np.empty(n_read, recv.dtype)
    out_item = np.empty(n_read, item.dtype)
    out_stance = np.empty(n_read, stance.dtype)
    out_sender = np.empty(n_read, sender.dtype)
    out_group = np.empty(n_read, group.dtype)
    out_post = np.empty(n_read, post.dtype)
    out_t = np.empty(n_read, t.dtype)
    out_weight = np.empty(n_read, weight.dtype)
    j = 0
    m = 0
    for i in range(n):
        if any_gone and gone[i]:
            continue
        if opens[which[i] if by_sort else slot[recv[i]]]:
            r = msg[i]
            out_recv[j], out_item[j], out_stance[j], out_sender[j] = recv[i], item[r], stance[r], sender[r]
            out_group[j], out_post[j], out_t[j], out_weight[j] = group[r], post[r], t[r], weight[r]
            j += 1
        else:
            if m != i:  # rows before the first read or gone one stay where they are
                recv[m], msg[m] = recv[i], msg[i]
            m += 1
    copies = (out_recv, out_item, out_stance, out_sender, out_group, out_post, out_t, out_weight)
    return copies, m, n_gone
