"""A step's posting terms and direct messages, each in one compiled pass (:func:`.posting.post`).

What :func:`.posting.post` computed per sharer as a chain of numpy operations (the
activity factor, the chances to post in a group and to message a contact, the weight of a
copy, a rumor sharer's stance) :func:`sharing_terms` computes in one pass, with the same
float operations in the same order (float32 where numpy's were float32), so the numbers are
the same. :func:`direct_messages` draws what :func:`.posting.emit_direct` drew with numpy
when the targets are contacts: a uniform per sharer (who sends), then one per sender with
contacts (which contact), then one per message (whether it is noticed), from the same
stream in the same order. The tests run both paths on the same model and compare every
table.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ...rng_ref import as_generator
from .kernels import Messages

__all__ = ["direct_messages", "sharing_terms"]


@njit(cache=True)
def _credibility(s, source):
    """``role_c[role] x tier_c[tier] x (0.5 + expertise)`` of sender ``s``, in float32 as
    :func:`.state.credibility` makes it (``source``: role_c, tier_c, role, tier, expertise)."""
    role_c, tier_c, role, tier, expertise = source
    return role_c[role[s]] * tier_c[tier[s]] * (np.float32(0.5) + expertise[s])


@njit(cache=True)
def sharing_terms(spreaders, activity, by_day, night, p_post, p_direct, fidelity, source, rumor, state, stances):
    """Per sharer of ``spreaders``: the activity factor ``activity x (1 at the day rate, else
    night)`` in [0, 5]; the chance to post in each group (``p_post`` x factor) and to message
    a contact (``p_direct`` x factor), each in [0, 1]; the weight of a copy (credibility x
    ``fidelity``, float32); and with ``rumor``, the stance (``stances``: corrected state,
    correction, content) by the sharer's ``state``. Returns (p_post, p_direct, weight,
    stance; the stance empty without ``rumor``)."""
    corrected, correction, content = stances
    n = spreaders.size
    post = np.empty(n)
    direct = np.empty(n)
    weight = np.empty(n, np.float32)
    stance = np.empty(n if rumor else 0, np.int8)
    f32 = np.float32(fidelity)
    for i in range(n):
        s = spreaders[i]
        factor = np.float64(activity[s]) * (1.0 if by_day[s] else night)
        factor = min(max(factor, 0.0), 5.0)
        post[i] = min(max(p_post * factor, 0.0), 1.0)
        direct[i] = min(max(p_direct * factor, 0.0), 1.0)
        weight[i] = _credibility(s, source) * f32
        if rumor:
            stance[i] = correction if state[s] == corrected else content
    return post, direct, weight, stance


@njit(cache=True)
def direct_messages(rng_ref, spreaders, p_direct, stance, contacts, notice, item, t, weigh, source):
    """Who of ``spreaders`` messages a contact this step, whom, and which messages are noticed.

    A uniform per sharer: it sends when below its ``p_direct`` (one value per sharer, or one
    for all); a uniform per sender with contacts picks one of them (``contacts``: indptr,
    neighbors); a uniform per message: noticed when below ``notice``. ``stance``: per sharer
    or one for all. Returns the senders with contacts, their contacts and stances, the
    readers of the noticed messages and those messages (:class:`.kernels.Messages`: the
    ``item``, sent at ``t``, weighted by the sender's credibility with ``weigh``, else 1)."""
    gen = as_generator(rng_ref)
    indptr, neighbors = contacts
    n = spreaders.size
    one_p, one_stance = p_direct.size == 1, stance.size == 1
    send = np.empty(n, np.int64)
    m = 0
    for i in range(n):
        if gen.random() < (p_direct[0] if one_p else p_direct[i]):
            send[m] = i
            m += 1
    # the senders with contacts, in order (those without send nothing, and draw nothing)
    who = np.empty(m, np.int64)
    k = 0
    for q in range(m):
        s = spreaders[send[q]]
        if indptr[s + 1] > indptr[s]:
            who[k] = send[q]
            k += 1
    senders = np.empty(k, np.int64)
    recv = np.empty(k, neighbors.dtype)
    said = np.empty(k, np.int8)
    for q in range(k):
        i = who[q]
        s = spreaders[i]
        lo = indptr[s]
        recv[q] = neighbors[lo + np.int64(gen.random() * (indptr[s + 1] - lo))]
        senders[q] = s
        said[q] = stance[0] if one_stance else stance[i]
    seen = np.empty(k, np.int64)
    m_seen = 0
    for q in range(k):
        if gen.random() < notice:
            seen[m_seen] = q
            m_seen += 1
    readers = np.empty(m_seen, neighbors.dtype)
    m_stance = np.empty(m_seen, np.int8)
    m_sender = np.empty(m_seen, np.int32)
    m_weight = np.empty(m_seen, np.float32)
    for q in range(m_seen):
        r = seen[q]
        readers[q] = recv[r]
        m_stance[q] = said[r]
        m_sender[q] = senders[r]
        m_weight[q] = _credibility(senders[r], source) if weigh else np.float32(1.0)
    messages = Messages(
        np.full(m_seen, item, np.int32), m_stance, m_sender, np.full(m_seen, -1, np.int32),
        np.full(m_seen, -1, np.int64), np.full(m_seen, t, np.float64), m_weight,
    )  # fmt: skip
    return senders, recv, said, readers, messages
