"""The workload approximated with NDlib ``SIRModel`` on the clique projection of the groups.

NDlib 6.0.1 ``SIRModel.iteration`` (read from its source): iteration 0 only reports the
initial state; each later iteration visits every infected node u (status read from the
previous iteration, so updates are synchronous), infects each susceptible neighbour
independently with probability ``beta`` (``np.random.random_sample() < beta``), and then
removes u with probability ``gamma``. Randomness is numpy's *global* generator, which the
model constructor seeds with ``np.random.seed(seed)``.

Mapping: beta = q_1 = P_POST * P_ADOPT (per-step conversion probability for a pair sharing
one group) and gamma = P_STOP. This is exact per step for pairs sharing one group, and the
infectious period is exactly Geometric(P_STOP) posting steps as in the workload. Inexact:
(a) a single global beta, so pairs sharing k > 1 groups get q_1 instead of
q_k = 1 - (1 - q_1)^k (SIRModel has no per-edge rate); (b) contacts are independent per
pair, whereas one post reaches all co-members of a group at once.

Initial infected = the shared seed set, via ``config.add_model_initial_configuration``.
Steps = dynamic iterations run (stop at no infected or MAX_STEPS). No posts/deliveries.
"""

from __future__ import annotations

import ndlib.models.epidemics as ep
import ndlib.models.ModelConfig as mc
import networkx as nx

from benchmarks.common import (
    MAX_STEPS,
    P_ADOPT,
    P_POST,
    P_STOP,
    clique_projection,
    emit,
    initial_spreaders,
    load_network,
    parse_args,
    projection_pairs_upper_bound,
    rss_mb,
    timed,
)


def main() -> None:
    a = parse_args(__doc__.splitlines()[0])
    n, indptr, indices = load_network(a.network)
    base_rss = rss_mb()
    seeds = initial_spreaders(n, a.seed).tolist()
    edges = 0

    def build() -> ep.SIRModel:
        nonlocal edges
        u, v, _ = clique_projection(n, indptr, indices)
        g = nx.Graph()
        g.add_nodes_from(range(n))
        g.add_edges_from(zip(u.tolist(), v.tolist()))
        edges = g.number_of_edges()
        model = ep.SIRModel(g, seed=a.seed)  # seeds numpy's global RNG
        cfg = mc.Configuration()
        cfg.add_model_parameter("beta", P_POST * P_ADOPT)
        cfg.add_model_parameter("gamma", P_STOP)
        cfg.add_model_initial_configuration("Infected", seeds)
        model.set_initial_status(cfg)
        return model

    def simulate(model: ep.SIRModel) -> dict:
        model.iteration(node_status=False)  # iteration 0: initial state only
        steps, infected = 0, 1
        while infected and steps < MAX_STEPS:
            infected = model.iteration(node_status=False)["node_count"][1]
            steps += 1
        susceptible = sum(1 for s in model.status.values() if s == 0)
        return {"reach": 1.0 - susceptible / n, "steps": steps}

    build_s, sim_s, runs, out = timed(build, simulate)
    emit(
        "ndlib",
        n,
        a.seed,
        build_s,
        sim_s,
        reach=out["reach"],
        steps=out["steps"],
        posts=None,
        deliveries=None,
        timed_runs=runs,
        proj_edges=edges,
        proj_pairs_ub=projection_pairs_upper_bound(indptr),
        base_rss_mb=round(base_rss, 1),
    )


if __name__ == "__main__":
    main()
