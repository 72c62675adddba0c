"""Interactive speed: the time to compute one step of ``scenarios/classroom.toml``.

    python -m benchmarks.classroom_step [--runs 3] [--seed 1]

The teaching page animates the classroom scenario step by step, so a step must compute in
well under the frame budget (the target: 20 ms). Each run builds the model and times every
one of its steps (30 days of hourly steps: 720) with the model's own ``step()``, the
computation only (the page's drawing is measured by ``benchmarks.demo_load``). A first
run, not timed, compiles the kernels. Prints one JSON line: median, 95th percentile and
maximum milliseconds over all timed steps, and the steps timed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3, help="timed runs (each a fresh model, seed, seed + 1, ...)")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    from sim import load_scenario
    from sim.model import QunModel

    scen = load_scenario("classroom")
    QunModel(scen, seed=a.seed).run_model()  # compile (and warm every cache) before timing
    ms: list[float] = []
    for r in range(a.runs):
        model = QunModel(scen, seed=a.seed + r)
        while model.running:
            t0 = time.perf_counter()
            model.step()
            ms.append((time.perf_counter() - t0) * 1000.0)
    ms.sort()
    out = {
        "scenario": "classroom",
        "steps": len(ms),
        "median_ms": round(statistics.median(ms), 3),
        "p95_ms": round(ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))], 3),
        "max_ms": round(ms[-1], 3),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
