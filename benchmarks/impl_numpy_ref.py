"""Vectorised numpy reference of the benchmark workload (correctness reference).

Per step, with S = current spreaders:
  1. gather every (spreader, group) membership of S via the clinician->group CSR;
  2. each posts with probability P_POST -> list of posts (group, poster's slot in group);
  3. a post delivers to the group's other s-1 members. The per-delivery Bernoulli(P_ADOPT)
     trials of all posts of the step, laid end to end, form one Bernoulli sequence, so the
     positions of successes are drawn directly as cumulative Geometric(P_ADOPT) gaps and
     mapped back to (post, member) with searchsorted: cost O(posts + hits), not O(deliveries);
  4. hit members who have never been spreaders become spreaders from the next step;
  5. every current spreader stops with probability P_STOP.
No per-clinician Python loops; the only loop is over steps.
"""

from __future__ import annotations

import numpy as np

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


class Reference:
    def __init__(self, n: int, indptr: np.ndarray, indices: np.ndarray):
        self.n, self.indptr, self.indices = n, indptr, indices
        self.gsize = np.diff(indptr)
        nnz = indices.size
        group_of = np.repeat(np.arange(self.gsize.size, dtype=np.int64), self.gsize)
        slot = np.arange(nnz, dtype=np.int64) - indptr[group_of]  # member's slot in its group
        order = np.argsort(indices, kind="stable")
        self.c_group = group_of[order]  # clinician -> groups CSR (values)
        self.c_slot = slot[order]
        self.c_indptr = np.zeros(n + 1, np.int64)
        np.cumsum(np.bincount(indices, minlength=n), out=self.c_indptr[1:])

    def _hit_positions(self, rng, total: int) -> np.ndarray:
        """Success positions of `total` Bernoulli(P_ADOPT) trials, via geometric gaps."""
        if total <= 0:
            return np.empty(0, np.int64)
        mean = total * P_ADOPT
        k = int(mean + 6.0 * np.sqrt(mean) + 16)
        pos = np.cumsum(rng.geometric(P_ADOPT, size=k)) - 1
        while pos[-1] < total:  # rarely needed: extend the sequence
            more = np.cumsum(rng.geometric(P_ADOPT, size=k)) + pos[-1]
            pos = np.concatenate([pos, more])
        return pos[: np.searchsorted(pos, total)]

    def run(self, seeds: np.ndarray, rng: np.random.Generator) -> dict:
        ever = np.zeros(self.n, bool)
        ever[seeds] = True
        spreaders = seeds.astype(np.int64)
        steps = posts = deliveries = 0
        while spreaders.size and steps < MAX_STEPS:
            # 1. memberships of current spreaders
            cnt = self.c_indptr[spreaders + 1] - self.c_indptr[spreaders]
            tot = int(cnt.sum())
            first = np.cumsum(cnt) - cnt
            ent = np.repeat(self.c_indptr[spreaders] - first, cnt) + np.arange(tot)
            # 2. posts
            posted = rng.random(tot) < P_POST
            pg, pslot = self.c_group[ent[posted]], self.c_slot[ent[posted]]
            d = self.gsize[pg] - 1  # deliveries per post
            cum = np.cumsum(d)
            total = int(cum[-1]) if cum.size else 0
            posts += pg.size
            deliveries += total
            # 3. successful deliveries -> (post, member)
            h = self._hit_positions(rng, total)
            pi = np.searchsorted(cum, h, side="right")
            off = h - (cum[pi] - d[pi])  # index among the poster's co-members
            off += off >= pslot[pi]  # skip the poster's own slot
            target = self.indices[self.indptr[pg[pi]] + off]
            # 4. ignorant targets become spreaders next step
            new = np.unique(target[~ever[target]]).astype(np.int64)
            ever[new] = True
            # 5. stopping
            spreaders = np.concatenate([spreaders[rng.random(spreaders.size) >= P_STOP], new])
            steps += 1
        return {"reach": float(ever.mean()), "steps": steps, "posts": posts, "deliveries": deliveries}


def main() -> None:
    a = parse_args(__doc__.splitlines()[0])
    n, indptr, indices = load_network(a.network)
    base_rss = rss_mb()
    seeds = initial_spreaders(n, a.seed)
    build_s, sim_s, runs, out = timed(
        lambda: Reference(n, indptr, indices), lambda ref: ref.run(seeds, np.random.default_rng(a.seed))
    )
    emit("numpy_ref", n, a.seed, build_s, sim_s, **out, timed_runs=runs, base_rss_mb=round(base_rss, 1))


if __name__ == "__main__":
    main()
