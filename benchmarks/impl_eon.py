"""The workload approximated with EoN ``fast_SIR`` on the clique projection of the groups.

Mapping (see README): a pair sharing k groups is converted per posting step with
q_k = 1 - (1 - P_POST * P_ADOPT)^k, over D ~ Geometric(P_STOP) posting steps, so its
transmissibility is T_k = 1 - E[(1 - q_k)^D] (``common.pair_transmissibility``). EoN is
continuous-time Markovian: with recovery rate gamma = 1 and per-edge rate tau, an edge
transmits with probability tau / (tau + gamma), so tau_k = T_k / (1 - T_k) matches T_k.

* ``--variant unweighted``: one rate tau_1 for every edge (pairs sharing k > 1 groups are
  under-weighted; a documented simplification).
* ``--variant weighted``: edge attribute ``rate`` = tau_k, passed to fast_SIR as
  ``transmission_weight="rate"`` with ``tau=1`` (EoN's rate is tau * G.adj[u][v]["rate"]).

EoN has no posts/deliveries and runs in continuous time: steps/posts/deliveries are
reported as null; the end time ``t_end`` (in units of the mean infectious period) and the
projection's edge count are reported instead.
"""

from __future__ import annotations

import EoN
import networkx as nx
import numpy as np

from benchmarks.common import (
    clique_projection,
    emit,
    initial_spreaders,
    load_network,
    pair_transmissibility,
    parse_args,
    projection_pairs_upper_bound,
    rss_mb,
    timed,
)


def tau_for(k):
    t = pair_transmissibility(k)
    return t / (1.0 - t)


def build_graph(n, indptr, indices, weighted: bool) -> nx.Graph:
    u, v, k = clique_projection(n, indptr, indices)
    g = nx.Graph()
    g.add_nodes_from(range(n))
    if weighted:
        g.add_weighted_edges_from(zip(u.tolist(), v.tolist(), tau_for(k).tolist()), weight="rate")
    else:
        g.add_edges_from(zip(u.tolist(), v.tolist()))
    return g


def main() -> None:
    a = parse_args(
        __doc__.splitlines()[0],
        lambda ap: ap.add_argument("--variant", choices=("unweighted", "weighted"), default="unweighted"),
    )
    n, indptr, indices = load_network(a.network)
    base_rss = rss_mb()
    seeds = initial_spreaders(n, a.seed).tolist()
    edges = 0

    def build() -> nx.Graph:
        nonlocal edges
        g = build_graph(n, indptr, indices, a.variant == "weighted")
        edges = g.number_of_edges()
        return g

    def simulate(g: nx.Graph) -> dict:
        rng = np.random.default_rng(a.seed)
        if a.variant == "weighted":
            t, S, _, _ = EoN.fast_SIR(g, 1.0, 1.0, initial_infecteds=seeds, transmission_weight="rate", rng=rng)
        else:
            t, S, _, _ = EoN.fast_SIR(g, float(tau_for(1)), 1.0, initial_infecteds=seeds, rng=rng)
        return {"reach": 1.0 - S[-1] / n, "t_end": float(t[-1])}

    build_s, sim_s, runs, out = timed(build, simulate)
    emit(
        f"eon_{a.variant}",
        n,
        a.seed,
        build_s,
        sim_s,
        reach=out["reach"],
        steps=None,
        posts=None,
        deliveries=None,
        t_end=out["t_end"],
        timed_runs=runs,
        proj_edges=edges,
        proj_pairs_ub=projection_pairs_upper_bound(indptr),
        base_rss_mb=round(base_rss, 1),
    )


if __name__ == "__main__":
    main()
