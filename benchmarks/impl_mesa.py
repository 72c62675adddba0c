"""The benchmark workload as an idiomatic Mesa 3.5 model.

One ``Clinician`` agent per clinician; a group is a plain Python list of agents, and each
agent keeps the list of its groups. The model keeps an ``AgentSet`` of current spreaders
and only those act (``shuffle_do("step")``). Updates are synchronous: a clinician hit
during step t is marked at once (so it is hit at most once) but only joins the spreader
set for step t+1. All randomness comes from ``model.rng`` (numpy Generator seeded by
``mesa.Model(rng=seed)``) and ``model.random`` (used by ``shuffle_do``).

Per post, one vector of uniforms (one per group member) decides the deliveries; only the
few hits are inspected in Python. The poster's own draw is ignored, which leaves the
other members' Bernoulli(P_ADOPT) trials unchanged.
"""

from __future__ import annotations

import mesa
import numpy as np
from mesa.agentset import AgentSet

from benchmarks.common import (
    MAX_STEPS,
    P_ADOPT,
    P_POST,
    P_STOP,
    emit,
    initial_spreaders,
    load_network,
    parse_args,
    rss_mb,
    timed,
)


class Clinician(mesa.Agent):
    def __init__(self, model: Diffusion):
        super().__init__(model)
        self.groups: list[list[Clinician]] = []
        self.ever_spreader = False

    def step(self) -> None:
        """Called only for current spreaders: post, deliver, then maybe stop."""
        model, rng = self.model, self.model.rng
        for group, posts in zip(self.groups, rng.random(len(self.groups)) < P_POST):
            if not posts:
                continue
            model.posts += 1
            model.deliveries += len(group) - 1
            for i in np.flatnonzero(rng.random(len(group)) < P_ADOPT):
                member = group[i]
                if member is not self and not member.ever_spreader:
                    member.ever_spreader = True
                    model.next_spreaders.append(member)
        if rng.random() >= P_STOP:
            model.next_spreaders.append(self)


class Diffusion(mesa.Model):
    def __init__(self, n: int, indptr: np.ndarray, indices: np.ndarray, rng: int):
        super().__init__(rng=rng)
        self.clinicians: list[Clinician] = list(Clinician.create_agents(self, n))
        members = indices.tolist()
        bounds = indptr.tolist()
        self.groups = []
        for a, b in zip(bounds[:-1], bounds[1:]):
            group = [self.clinicians[i] for i in members[a:b]]
            for agent in group:
                agent.groups.append(group)
            self.groups.append(group)
        self.spreaders = AgentSet([], random=self.random)
        self.next_spreaders: list[Clinician] = []
        self.posts = self.deliveries = 0

    def seed(self, ids) -> None:
        for i in ids:
            agent = self.clinicians[i]
            agent.ever_spreader = True
        self.spreaders = AgentSet([self.clinicians[i] for i in ids], random=self.random)

    def step(self) -> None:
        self.next_spreaders = []
        self.spreaders.shuffle_do("step")
        self.spreaders = AgentSet(self.next_spreaders, random=self.random)
        self.running = len(self.spreaders) > 0


def main() -> None:
    a = parse_args(__doc__.splitlines()[0])
    n, indptr, indices = load_network(a.network)
    base_rss = rss_mb()
    seeds = initial_spreaders(n, a.seed).tolist()

    def build() -> Diffusion:
        model = Diffusion(n, indptr, indices, rng=a.seed)
        model.seed(seeds)
        return model

    def simulate(model: Diffusion) -> dict:
        while model.running and model.steps < MAX_STEPS:
            model.step()
        reach = sum(c.ever_spreader for c in model.clinicians) / n
        return {"reach": reach, "steps": model.steps, "posts": model.posts, "deliveries": model.deliveries}

    build_s, sim_s, runs, out = timed(build, simulate)
    emit("mesa", n, a.seed, build_s, sim_s, **out, timed_runs=runs, base_rss_mb=round(base_rss, 1))


if __name__ == "__main__":
    main()
