"""Starsim's plain SIR on a random network: the full-model peer (a bench extra).

    python -m benchmarks.impl_starsim --n 60000 [--days 365] [--seed 1]

One simulation of ``ss.SIR`` (Starsim's defaults: beta 0.1 per year per contact, 1% seeded,
log-normal infection of mean 6 years) on ``ss.RandomNet`` (Starsim's default: 10 contacts
per agent, a new random network every step) for ``--days`` daily steps, the agents'
built-in results collected every step, nothing printed. It is the simplest agent-based
model a researcher would reach for, at the same N and number of days as the province
year, so the ratio of the two is what the full model costs over it.

Prints one JSON line: impl, n, seed, days, steps, build_s (``sim.init()``: people,
network, disease states), sim_s (``sim.run()``), peak_rss_mb, base_rss_mb, version.
Exits 3 with a message on stderr when starsim is not installed (``pip install
'qunsim[bench]'``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time

from benchmarks.common import rss_mb

os.environ.setdefault("STARSIM_INSTALL_FONTS", "0")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    try:
        import starsim as ss
    except ImportError:
        print("starsim is not installed (pip install 'qunsim[bench]')", file=sys.stderr)
        sys.exit(3)
    base = rss_mb()
    t0 = time.perf_counter()
    sim = ss.Sim(
        n_agents=a.n,
        networks=ss.RandomNet(),
        diseases=ss.SIR(),
        start=ss.date("2000-01-01"),
        dur=ss.days(a.days),
        dt=ss.days(1),
        rand_seed=a.seed,
        verbose=0,
    )
    sim.init()
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    sim.run()
    sim_s = time.perf_counter() - t0
    rec = {
        "impl": "starsim_sir",
        "n": a.n,
        "seed": a.seed,
        "days": a.days,
        "steps": int(sim.t.npts) - 1 if hasattr(sim.t, "npts") else None,
        "build_s": round(build_s, 3),
        "sim_s": round(sim_s, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "base_rss_mb": round(base, 1),
        "version": ss.__version__,
    }
    sys.stdout.write(json.dumps(rec) + "\n")


if __name__ == "__main__":
    main()
