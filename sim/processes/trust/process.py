"""Pairwise trust: a Beta count per ordered pair (who trusts whom), kept only where it moved.

Trust of clinician ``r`` in ``s`` is ``alpha / (alpha + beta)``. Its prior has mean ``m``
set by how the two met (the *tie*, :data:`.config.TIES`) and strength ``n0 =
prior_strength`` (``alpha0 = m n0``, ``beta0 = (1 - m) n0``):

* **formal**: same facility, one facility the other's parent in the referral hierarchy,
  or a group of a formal basis (affiliate, surveillance, specialty, reading, abroad, a
  membership file): ``m = initial_formal``;
* **event** (met in person): a group formed at a conference or from an alumni or
  internship cohort, or a 1-on-1 contact outside the facility and the hierarchy (the
  contacts met at events): ``m = initial_event``;
* **introduced**: in a group where one of the two joined by invitation (and the tie is
  not formal by facility): vouched for by the inviter, the common contact,
  ``m = initial_introduced + vouch_weight (t_v - initial_introduced)`` with ``t_v`` the
  inviter's own trust in the other (the invitee's trust in a member) or the member's
  trust in the inviter (a member's trust in the invitee), each its stored value or its
  formal or event prior.

A pair with no stored entry has its prior mean (in the context of the copy or the
request: the group it came through, or a 1-on-1 message). An entry is created, with
that prior, the first time the pair's counts change: an answer received (``alpha +=
answer_gain`` if right, ``beta += answer_gain`` if wrong) or an in-person meeting (both
members of a conference's new group: ``alpha += meeting_gain`` for the entries that
exist). So the store holds the pairs that asked and answered, never all pairs: lookups
are probes of a hash table of their keys (compiled, :mod:`.kernels`).

Effects (``trust / reference`` multiplies): the weight of a rumor or correction copy from
``s`` read by ``r`` (belief, :mod:`sim.processes.information.belief`), and the score of a
contact ``s`` whom ``r`` may ask about a case (:mod:`sim.processes.diagnosis.routing`).
With every prior mean equal to ``reference`` and no learning, every factor is exactly 1:
the run is the run without trust, draw for draw. The process draws no random numbers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ...components import Component, Outputs
from ...groups import BASIS_NAMES
from ...schema import TIERS
from ...table import Table
from .config import TIES, TrustConfig
from .kernels import (
    EVENT,
    FORMAL,
    INTRODUCED,
    add_answers,
    add_entries,
    distinct_keys,
    find_entries,
    new_table,
    prior_means,
    trust_values,
)

if TYPE_CHECKING:  # pragma: no cover
    from ...model import QunModel
    from ...results import Recorder

__all__ = ["EVENT", "FORMAL", "INTRODUCED", "TrustProcess", "no_context", "running"]

_COLUMNS = {
    "key": np.int64,
    "alpha": np.float64,
    "beta": np.float64,
    "alpha0": np.float64,
    "beta0": np.float64,
    "tie": np.int8,
    "right": np.int32,
    "wrong": np.int32,
    "met": np.int32,
}
#: group bases whose members met in person
EVENT_BASES = tuple(BASIS_NAMES.index(b) for b in ("alumni", "cohort", "conference"))
_EVENT_BASIS = np.isin(np.arange(len(BASIS_NAMES)), EVENT_BASES)  # by basis code


def _ties(model) -> tuple:
    """What a pair's prior is made of, as the compiled look-ups take it (:func:`.kernels.prior_means`)."""
    pop, net = model.pop, model.net
    return pop.facility, pop.fac_parent, _EVENT_BASIS, net.g_basis, net.g_indptr, net.g_members, net.m_inviter


def no_context(model) -> tuple[tuple, tuple, tuple]:
    """A context of :meth:`TrustProcess.context`'s types with nothing stored, for a kernel
    that takes one whether or not trust weighs (and then reads none of it)."""
    return _ties(model), _NO_STORE, (model.pop.n, False, 0.5, 0.5, 0.5, 0.0)


_NO_STORE = (new_table(2), np.zeros(0), np.zeros(0))  # (never written: nothing is stored without trust)


def running(model) -> TrustProcess | None:
    """The model's trust process, or None when trust is off."""
    try:
        proc = model.process("trust")
    except KeyError:
        return None
    return proc if isinstance(proc, TrustProcess) else None


class TrustProcess(Component):
    """Pairwise trust (see the module docstring)."""

    name = "trust"
    affects = ("information", "diagnosis")  # weights of copies, choice of contacts
    config: TrustConfig

    def setup(self, model: QunModel) -> None:
        self.model = model
        self.n = model.pop.n
        # entries in order of creation (append-only, capacity doubling), found through a hash
        # table of their keys (reader * n + sender): no step copies every entry
        self.size = 0
        self._data = {name: np.zeros(256, dtype) for name, dtype in _COLUMNS.items()}
        self._table = new_table(1024)  # the entries' ids by key (.kernels.add_entries)
        # per tie, the ids of its entries, ascending (a tie is set once, at creation): the record
        # reads those entries alone, not a mask of every entry per tie; the entries made since
        # the last record wait in ``_new_ids`` (sorted out by tie when the record asks)
        self._tie_ids = [Table({"id": np.int64}) for _ in TIES]
        self._new_ids: list[np.ndarray] = []
        self.meetings = 0  # conferences applied
        self._conference_seen = 0
        self._invited_at = -1  # network version of the cached _any_invited
        self._any_invited = False

    # ------------------------------------------------------------------ priors
    def _stored(self, key: np.ndarray) -> np.ndarray:
        """Index of each key's entry, -1 where there is none."""
        return find_entries(self._table, np.ascontiguousarray(key, np.int64))

    def _invited(self) -> bool:
        """Whether any membership came by invitation (cached per version of the network)."""
        net = self.model.net
        if self._invited_at != net.version:
            self._invited_at = net.version
            self._any_invited = bool((net.m_inviter >= 0).any())
        return self._any_invited

    def _pairs(self, reader, sender, group) -> tuple:
        """The arguments of the compiled look-ups (:mod:`.kernels`): the pairs as int64
        arrays, then what a prior and a stored value are made of."""
        reader = np.ascontiguousarray(reader, np.int64)
        sender = np.ascontiguousarray(sender, np.int64)
        group = np.asarray(group, np.int64)
        if group.shape != reader.shape:  # one context for every pair (e.g. -1: 1-on-1)
            group = np.full(reader.shape, group, np.int64)
        return reader, sender, np.ascontiguousarray(group), *self.context()

    def context(self) -> tuple[tuple, tuple, tuple]:
        """What the compiled look-ups (:func:`.kernels.trust_values`, :func:`.kernels.prior_means`)
        take besides the pairs: what a prior is made of (ties), the store, and the parameters."""
        c = self.config
        store = (self._table, self.alpha, self.beta)
        params = (self.n, self._invited(), float(c.initial_formal), float(c.initial_event),
                  float(c.initial_introduced), float(c.vouch_weight))  # fmt: skip
        return _ties(self.model), store, params

    def prior(self, reader, sender, group) -> tuple[np.ndarray, np.ndarray]:
        """(tie, prior mean) of each ordered pair met through ``group`` (-1: 1-on-1).

        Formal by facility (same facility, or one facility the other's parent), else an
        event tie when met 1-on-1 or in a group of an event basis, else formal; introduced
        in a group where one of them joined by invitation, unless formal by facility: the
        voucher's trust is the inviter's in the sender, or the reader's in the inviter
        (stored, else its formal or event prior)."""
        return prior_means(*self._pairs(reader, sender, group))

    # ------------------------------------------------------------------ values
    def value(self, reader, sender, group) -> np.ndarray:
        """Trust of each reader in each sender (stored, else the prior of the context)."""
        return trust_values(*self._pairs(reader, sender, group))

    def factor(self, reader, sender, group) -> np.ndarray:
        """trust / reference: the multiplier of a source's weight (1 where sender < 0)."""
        sender = np.asarray(sender, np.int64)
        out = np.ones(sender.shape)
        ok = sender >= 0
        if sender.size and ok.any():
            r = np.broadcast_to(np.asarray(reader, np.int64), sender.shape)[ok]
            g = np.broadcast_to(np.asarray(group, np.int64), sender.shape)[ok]
            out[ok] = self.value(r, sender[ok], g) / self.config.reference
        return out

    # ----------------------------------------------------------------- updates
    def _ensure(self, reader: np.ndarray, sender: np.ndarray, group: np.ndarray) -> np.ndarray:
        """Entry index of each pair, creating the missing ones with their prior."""
        key = reader * self.n + sender
        idx = self._stored(key)
        miss = idx < 0
        if miss.any():
            new, first, which = distinct_keys(key[miss])  # (as np.unique with the index and inverse)
            m = np.flatnonzero(miss)[first]
            tie, mean = self.prior(reader[m], sender[m], group[m])
            n0 = self.config.prior_strength
            ids = np.arange(self.size, self.size + new.size)
            self._grow(self.size + new.size)
            d = self._data
            d["key"][ids] = new
            d["alpha"][ids] = d["alpha0"][ids] = mean * n0
            d["beta"][ids] = d["beta0"][ids] = (1.0 - mean) * n0
            d["tie"][ids] = tie
            self.size += new.size
            self._new_ids.append(ids)
            self._table = add_entries(self._table, new, ids, self.keys)
            idx[miss] = ids[which]  # the entries just made (as a second look-up would find them)
        return idx

    def _grow(self, need: int) -> None:
        cap = self._data["key"].size
        if need > cap:
            cap = max(need, 2 * cap)
            for name, col in self._data.items():
                grown = np.zeros(cap, col.dtype)
                grown[: self.size] = col[: self.size]
                self._data[name] = grown

    def _column(self, name: str) -> np.ndarray:
        return self._data[name][: self.size]

    keys = property(lambda self: self._column("key"), doc="reader * n + sender of each entry")
    alpha = property(lambda self: self._column("alpha"))
    beta = property(lambda self: self._column("beta"))
    alpha0 = property(lambda self: self._column("alpha0"))
    beta0 = property(lambda self: self._column("beta0"))
    tie = property(lambda self: self._column("tie"), doc="code of how the two met (TIES)")
    right = property(lambda self: self._column("right"), doc="right answers received")
    wrong = property(lambda self: self._column("wrong"), doc="wrong answers received")
    met = property(lambda self: self._column("met"), doc="meetings at conferences")

    def observe_answers(self, asker, answerer, group, correct) -> None:
        """Each asker learns whether each answer received was right: alpha or beta += answer_gain."""
        gain = self.config.answer_gain
        asker = np.asarray(asker, np.int64)
        if gain <= 0 or asker.size == 0:
            return
        answerer = np.asarray(answerer, np.int64)
        correct = np.asarray(correct, bool)
        idx = self._ensure(asker, answerer, np.broadcast_to(np.asarray(group, np.int64), asker.shape))
        add_answers(idx, correct, float(gain), self.alpha, self.beta, self.right, self.wrong)

    def meet(self, attendees: np.ndarray) -> None:
        """Pairs with an entry whose two members both attend meet in person: alpha += meeting_gain."""
        self.meetings += 1
        gain = self.config.meeting_gain
        if gain <= 0 or self.keys.size == 0 or attendees.size == 0:
            return
        att = np.zeros(self.n, bool)
        att[attendees] = True
        keys = self.keys
        both = att[keys // self.n] & att[keys % self.n]
        self.alpha[both] += gain
        self.met[both] += 1

    def idle(self) -> bool:
        return True  # trust moves only when another process acts (answers, conferences)

    def step(self, model: QunModel) -> None:
        try:
            network = model.process("network")
        except KeyError:
            return
        held = getattr(network, "n_conferences", 0)
        if held != self._conference_seen:
            self._conference_seen = held
            self.meet(getattr(network, "attendees", np.zeros(0, np.int64)))

    # ----------------------------------------------------------------- outputs
    def trust(self) -> np.ndarray:
        return self.alpha / (self.alpha + self.beta)

    def record(self, model: QunModel, rec: Recorder) -> None:
        rec.add("trust_pairs", self.keys.size)
        alpha, beta = self.alpha, self.beta
        for code, tie in enumerate(TIES):
            ids = self._ids_of_tie(code)  # (the entries of the tie, in order: as a mask takes them)
            if ids.size:
                a, b = alpha[ids], beta[ids]
                rec.add(f"trust_mean_{tie}", float((a / (a + b)).mean()))  # (as trust() per entry)

    def _ids_of_tie(self, code: int) -> np.ndarray:
        """The ids of the entries of tie ``code``, ascending (the entries made since the last
        call sorted out by tie first)."""
        if self._new_ids:
            made = np.concatenate(self._new_ids)  # ascending: ids are given in order
            self._new_ids = []
            tie = self.tie[made]
            for c, table in enumerate(self._tie_ids):
                of_tie = made[tie == c]
                if of_tie.size:
                    table.append(id=of_tie)
        return self._tie_ids[code]["id"]

    def frame(self) -> pd.DataFrame:
        """One row per stored pair (the ``trust`` table)."""
        pop = self.model.pop
        reader, sender = self.keys // self.n, self.keys % self.n
        return pd.DataFrame(
            {
                "clinician": reader,
                "other": sender,
                "tie": pd.Categorical.from_codes(self.tie, TIES),
                "tier": pd.Categorical.from_codes(pop.tier[reader], TIERS),
                "other_tier": pd.Categorical.from_codes(pop.tier[sender], TIERS),
                "prior": self.alpha0 / (self.alpha0 + self.beta0),
                "trust": self.trust(),
                "right_answers": self.right,
                "wrong_answers": self.wrong,
                "meetings": self.met,
            }
        )

    def finish(self, model: QunModel, out: Outputs) -> None:
        m = out.metrics
        table = self.frame()
        m.add("trust", "pairs", len(table))
        m.add("trust", "meetings", self.meetings)
        m.add("trust", "answers_right", int(self.right.sum()))
        m.add("trust", "answers_wrong", int(self.wrong.sum()))
        if len(table):
            m.add("trust", "mean", float(table["trust"].mean()))
            m.add("trust", "mean_prior", float(table["prior"].mean()))
            for tie in TIES:
                for tier in TIERS:
                    sel = (table["tie"] == tie) & (table["tier"] == tier)
                    if sel.any():
                        m.add("trust", f"mean_{tie}", float(table["trust"][sel].mean()), tier=tier)
        out.tables["trust"] = table
