"""Synthetic clinician chat-group network for the benchmark workload (vectorised numpy).

Model (all draws from ``np.random.default_rng(seed)``):

* N clinicians are split into facility clusters with sizes ~ U{cluster_min..cluster_max}
  (a short final remainder is merged into the previous cluster). Clinician ids are a
  random permutation, so a cluster's members are not contiguous ids.
* Each clinician has m ~ U{groups_min..groups_max} group memberships ("stubs"); each stub is
  local (within the own cluster) with probability ``local_share``, otherwise cross-cluster.
* Group sizes are lognormal (mean ``size_mean`` before clipping, log-sd ``size_sigma``),
  rounded and clipped to [size_min, size_max]; a local group is further capped at its
  cluster's size.
* Stubs are dealt into groups: within a pool (a cluster for local stubs, everyone for
  cross stubs) each clinician's stubs get evenly spread positions, stubs are ordered by
  position and consecutive runs of stubs form the groups; a clinician's two stubs are
  about 1/m of the pool apart, so it rarely lands in one group twice.
  The stub total of each pool is met exactly: the last group of a pool takes the
  remainder (topped up to size_min from, or merged into, the previous group).
* Memberships dropped as duplicates are re-drawn into random local groups of the
  clinician's cluster (then, if still needed, into any group below size_max), so every
  clinician keeps its drawn number of groups.
* Group ids are randomly permuted.

Output: CSR ``indptr`` (int64, G+1) / ``indices`` (int32, member ids sorted per group) and
``n``; saved with :func:`save` as an uncompressed .npz (also ``cluster`` per clinician).

CLI: ``python -m benchmarks.network --n 1000000 --seed 1 --out net.npz`` prints stats JSON.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class NetParams:
    cluster_min: int = 50
    cluster_max: int = 300
    groups_min: int = 3
    groups_max: int = 8
    local_share: float = 0.8
    size_mean: float = 46.0  # before clipping; realised mean is ~40
    size_sigma: float = 1.0
    size_min: int = 3
    size_max: int = 500
    repair_rounds: int = 20


def _lognormal_sizes(rng, count, p: NetParams, cap):
    mu = np.log(p.size_mean) - 0.5 * p.size_sigma**2
    s = np.rint(rng.lognormal(mu, p.size_sigma, size=count)).astype(np.int64)
    return np.clip(s, p.size_min, np.minimum(p.size_max, cap))


def _partition(rng, totals, caps, p: NetParams):
    """For each pool i, group sizes (each in [size_min, caps[i]]) summing exactly to totals[i].

    Returns (sizes, pool_of_group), groups ordered by pool. Vectorised over pools: draw a
    block of candidate sizes per pool, keep the prefix whose cumsum stays below the total,
    and let the last group take the remainder; the rare pools not yet filled draw again.
    """
    totals = np.asarray(totals, np.int64)
    caps = np.asarray(caps, np.int64)
    out_sizes, out_pool = [], []
    pools = np.flatnonzero(totals > 0)
    need = totals[pools].copy()
    while pools.size:
        width = int(np.ceil(need.max() / (0.5 * p.size_mean))) + 8
        width = min(width, max(64, 2**22 // pools.size))
        s = _lognormal_sizes(rng, (pools.size, width), p, caps[pools][:, None])
        cs = np.cumsum(s, axis=1)
        full = cs[:, -1] >= need  # pools whose total is reached within this block
        # pools not reached: keep the whole block and continue with the rest
        nf = ~full
        if nf.any():
            out_sizes.append(s[nf].ravel())
            out_pool.append(np.repeat(pools[nf], width))
        if full.any():
            sf, cf, nd = s[full], cs[full], need[full]
            keep = cf < nd[:, None]  # groups that fit strictly below the total
            nkeep = keep.sum(axis=1)
            rem = nd - np.where(nkeep > 0, cf[np.arange(sf.shape[0]), np.maximum(nkeep - 1, 0)], 0)
            # a remainder below size_min borrows from the last kept group (which stays
            # >= size_min), or, if that group is too small to lend, is merged into it;
            # either way no group leaves [size_min, cap]
            last_idx = np.maximum(nkeep - 1, 0)
            sf = sf.copy()
            r = np.arange(sf.shape[0])
            small = (rem < p.size_min) & (nkeep > 0)
            lend = p.size_min - rem
            borrow = small & (sf[r, last_idx] >= p.size_min + lend)
            merge = small & ~borrow
            sf[r[borrow], last_idx[borrow]] -= lend[borrow]
            rem = np.where(borrow, p.size_min, rem)
            sf[r[merge], last_idx[merge]] += rem[merge]
            alone = ~merge
            sizes_kept = sf[keep]
            pool_kept = np.repeat(pools[full], nkeep)
            out_sizes += [sizes_kept, rem[alone]]
            out_pool += [pool_kept, pools[full][alone]]
        pools, need = pools[nf], need[nf] - cs[nf, -1]
    sizes = np.concatenate(out_sizes) if out_sizes else np.empty(0, np.int64)
    pool = np.concatenate(out_pool) if out_pool else np.empty(0, np.int64)
    order = np.argsort(pool, kind="stable")
    return sizes[order], pool[order]


def _deal(rng, n_stubs, pool_of_owner, sizes):
    """Deal stubs into groups. n_stubs[i]: stubs of owner i; pool_of_owner[i]: its pool.

    Each owner's stubs get evenly spread positions (j + u_i) / n_stubs[i] in [0, 1),
    j = 0..n_stubs[i]-1, u_i ~ U(0, 1); stubs are ordered by (pool, position) and cut into
    consecutive runs of ``sizes`` (groups are ordered by pool, so each pool's runs cover
    exactly its stubs). Two stubs of one owner are about 1/n_stubs of the pool apart, so
    an owner lands in a group twice only if the group is a large part of its pool.
    Returns (group index per stub, owner per stub).
    """
    owner = np.repeat(np.arange(n_stubs.size), n_stubs)
    j = np.arange(owner.size) - np.repeat(np.cumsum(n_stubs) - n_stubs, n_stubs)
    pos = (j + rng.random(n_stubs.size)[owner]) / n_stubs[owner]
    order = np.lexsort((pos, pool_of_owner[owner]))
    gidx = np.repeat(np.arange(sizes.size), sizes)
    assert gidx.size == owner.size, "stub totals and group sizes must match"
    return gidx, owner[order]


def _unique(a):
    """Sorted distinct values (sort-based; faster here than np.unique's hash path)."""
    a = np.sort(a)
    return a[np.concatenate(([True], a[1:] != a[:-1]))] if a.size else a


def generate(n: int, seed: int, p: NetParams = NetParams()):
    """Build the network. Returns dict(n, indptr, indices, cluster)."""
    rng = np.random.default_rng(seed)
    # clusters over positions 0..n-1; clinician id = perm[position]
    draws = rng.integers(p.cluster_min, p.cluster_max + 1, size=n // p.cluster_min + 2)
    ends = np.cumsum(draws)
    c = int(np.searchsorted(ends, n)) + 1
    csize = draws[:c].copy()
    csize[-1] = n - (ends[c - 2] if c > 1 else 0)
    if c > 1 and csize[-1] < p.cluster_min:
        csize[-2] += csize[-1]
        csize = csize[:-1]
    c = csize.size
    perm = rng.permutation(n).astype(np.int64)
    cluster_pos = np.repeat(np.arange(c), csize)  # cluster of each position

    m = rng.integers(p.groups_min, p.groups_max + 1, size=n)
    local = rng.binomial(m, p.local_share)
    cross = m - local

    # local groups: one pool per cluster, capped at the cluster size
    ltot = np.bincount(cluster_pos, weights=local, minlength=c).astype(np.int64)
    lsizes, lpool = _partition(rng, ltot, csize, p)
    lg, lmem = _deal(rng, local, cluster_pos, lsizes)
    # cross-cluster groups: a single global pool
    xsizes, _ = _partition(rng, [int(cross.sum())], [p.size_max], p)
    xg, xmem = _deal(rng, cross, np.zeros(n, np.int64), xsizes)

    # (group, position) keys, sorted and without duplicate memberships
    g_local = lsizes.size
    key = _unique(np.concatenate([lg, xg + g_local]).astype(np.int64) * n + np.concatenate([lmem, xmem]))
    # repair: memberships lost as duplicates are re-drawn into random local groups of the
    # clinician's own cluster, after `repair_rounds // 2` vectorised rounds into any group
    # (a small cluster may have fewer local groups than a clinician's local stubs);
    # leftovers after `repair_rounds`, if any, are dropped.
    G = g_local + xsizes.size
    lstart = np.searchsorted(lpool, np.arange(c))
    lcount = np.bincount(lpool, minlength=c)
    for r in range(p.repair_rounds):
        deficit = m - np.bincount(key % n, minlength=n)
        if not deficit.any():
            break
        who = np.repeat(np.arange(n), deficit)
        u = rng.random(who.size)
        if r < p.repair_rounds // 2:
            cl = cluster_pos[who]
            g = lstart[cl] + (u * lcount[cl]).astype(np.int64)
        else:  # any group still below size_max
            open_g = np.flatnonzero(np.bincount(key // n, minlength=G) < p.size_max)
            g = open_g[(u * open_g.size).astype(np.int64)]
        key = _unique(np.concatenate([key, g * n + who]))
    gperm = rng.permutation(G)
    key = np.sort(gperm[key // n] * n + perm[key % n])
    group, member = key // n, key % n
    indptr = np.zeros(G + 1, np.int64)
    np.cumsum(np.bincount(group, minlength=G), out=indptr[1:])
    cluster = np.empty(n, np.int32)
    cluster[perm] = cluster_pos
    return {"n": n, "indptr": indptr, "indices": member.astype(np.int32), "cluster": cluster, "n_local_groups": g_local}


def stats(net) -> dict:
    n, indptr, indices = net["n"], net["indptr"], net["indices"]
    s = np.diff(indptr)
    per = np.bincount(indices, minlength=n)
    s64 = s.astype(np.int64)
    out = {
        "n": int(n),
        "groups": int(s.size),
        "memberships": int(indices.size),
        "group_size_mean": float(s.mean()),
        "group_size_median": float(np.median(s)),
        "group_size_p99": float(np.percentile(s, 99)),
        "group_size_min": int(s.min()),
        "group_size_max": int(s.max()),
        "size_biased_group_size": float((s64 * s64).sum() / s64.sum()),
        "groups_per_clinician_mean": float(per.mean()),
        "groups_per_clinician_min": int(per.min()),
        "groups_per_clinician_max": int(per.max()),
        "projection_pairs_upper_bound": int((s64 * (s64 - 1) // 2).sum()),
    }
    if "cluster" in net:
        out["clusters"] = int(net["cluster"].max()) + 1
    if "n_local_groups" in net:
        out["local_group_share"] = net["n_local_groups"] / s.size
    return out


def save(path, net, params: NetParams | None = None, seed: int | None = None) -> None:
    meta = json.dumps({"params": asdict(params) if params else None, "seed": seed})
    np.savez(
        path,
        n=np.int64(net["n"]),
        indptr=net["indptr"],
        indices=net["indices"],
        cluster=net["cluster"],
        meta=np.array(meta),
    )


def load(path):
    with np.load(path) as z:
        return {"n": int(z["n"]), "indptr": z["indptr"], "indices": z["indices"], "cluster": z["cluster"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", help="write the network .npz here")
    a = ap.parse_args()
    t0 = time.perf_counter()
    net = generate(a.n, a.seed)
    gen_s = time.perf_counter() - t0
    if a.out:
        save(a.out, net, NetParams(), a.seed)
    print(json.dumps({"gen_s": round(gen_s, 3), **stats(net)}))


if __name__ == "__main__":
    main()
