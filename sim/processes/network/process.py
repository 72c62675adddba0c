"""Network dynamics: groups change while the run goes on.

Once a day (at the first step of each day):

* a conference is held every ``conference_interval_days`` (0: none, e.g. a lockdown);
  a share ``conference_attendance`` of the clinicians of one specialty (drawn at
  random) attend, with others at a fifth of that rate; attendees form new
  ``conference`` groups of log-normal size;
* each group invites ``invite_per_member_per_year / 365`` colleagues per member
  (from the members' facilities); full groups spill into new groups;
* each membership is muted with probability ``mute_per_year / 365`` (a muted member
  stays in the group but reads nothing from it) and ends with probability
  ``leave_per_year / 365``; a group left without a moderator gets a new one.

Membership indexes are rebuilt once per day at most.
"""

from __future__ import annotations

import numpy as np

from ...components import Component
from ...groups import JOIN_BASIS, assign_moderators, form_groups, invite, load_kernels
from ...rng import bernoulli_hits

__all__ = ["NetworkProcess"]


class NetworkProcess(Component):
    name = "network"
    affects = ("information", "diagnosis")  # who is in which group

    def setup(self, model) -> None:
        self.rng = model.streams(self.name)
        self.next_conference = self._interval() or np.inf
        self.n_conferences = 0
        self.new_memberships = 0
        self.left = 0
        self.muted = 0
        self.attendees = np.zeros(0, np.int64)  # members of the last conference's new group (trust)
        load_kernels()  # the daily rebuild's, now rather than at the first change

    def _interval(self) -> float:
        return self.config.conference_interval_days

    def step(self, model) -> None:
        clock = model.clock
        day_now = int(np.floor(clock.t + 1e-9))
        day_prev = int(np.floor(clock.t - clock.step_days + 1e-9)) if clock.step else -1
        if day_now == day_prev:
            return
        cfg, net, pop, rng = self.config, model.net, model.pop, self.rng
        t = clock.t
        changed = False
        if self._interval() > 0 and t + 1e-9 >= self.next_conference:
            self._conference(model)
            self.next_conference += self._interval()
            changed = True
        elif self._interval() <= 0:
            self.next_conference = np.inf
        elif not np.isfinite(self.next_conference):
            self.next_conference = t + self._interval()
        # invitations are appended while the indexes are current; then today's mutes and
        # departures are drawn over all rows; the indexes are rebuilt once
        added = invite(net, pop, cfg.invite_per_member_per_year / 365.0, t, rng, reindex=False)
        self.new_memberships += added
        p_mute = -np.expm1(-cfg.mute_per_year / 365.0)
        p_leave = -np.expm1(-cfg.leave_per_year / 365.0)
        # a uniform per membership decides each, drawn only where it is below the chance
        mute = bernoulli_hits(rng, net.n_rows, p_mute)[0]
        mute = mute[~net.m_muted[mute]]
        net.mute(mute)
        self.muted += int(mute.size)
        leave = bernoulli_hits(rng, net.n_rows, p_leave)[0]
        if leave.size:
            self.left += int(leave.size)
            net.remove_rows(leave, reindex=False)
        changed |= added > 0 or leave.size > 0 or mute.size > 0
        if changed:
            net.reindex()
            from ...group_index import unmoderated

            orphan = unmoderated(net.g_indptr, net.m_moderator)  # groups left without a moderator
            if orphan.size:
                assign_moderators(net, pop, 1, rng, groups=orphan)

    def _conference(self, model) -> None:
        cfg, net, pop, rng = self.config, model.net, model.pop, self.rng
        focus = rng.integers(0, int(pop.specialty.max()) + 1)
        p = np.where(pop.specialty == focus, cfg.conference_attendance, cfg.conference_attendance / 5)
        attend = rng.random(pop.n) < p * cfg.conference_join_prob
        members = np.flatnonzero(attend)
        self.attendees = members
        self.n_conferences += 1
        self.new_memberships += form_groups(
            net,
            pop,
            members,
            np.zeros(members.size, np.int64),
            "conference",
            model.t,
            cfg.conference_group_size_median,
            0.5,
            JOIN_BASIS,
            2,
            rng,
        )

    def record(self, model, rec) -> None:
        rec.add("n_muted_memberships", int(model.net.m_muted.sum()))
        rec.add("cum_conferences", self.n_conferences)
        rec.add("cum_memberships_left", self.left)

    def finish(self, model, out) -> None:
        m = out.metrics
        m.add("network", "conferences_held", self.n_conferences)
        m.add("network", "memberships_added", self.new_memberships)
        m.add("network", "memberships_left", self.left)
        m.add("network", "memberships_muted", self.muted)
