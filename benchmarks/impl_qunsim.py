"""qunsim's own engine on the shared workload, configured by ``benchmarks/scenarios/workload.toml``.

    python -m benchmarks.impl_qunsim --network FILE --seed S

The network file's membership is written once as Parquet (not timed, as the peers'
loading of the .npz is not timed); ``build_s`` is the model's construction from it
(population arrays, membership indexes), ``sim_s`` the steps until no spreader is left.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common import MAX_STEPS, emit, initial_spreaders, load_network, parse_args
from sim import load_scenario
from sim.model import QunModel

SCENARIO = Path(__file__).resolve().parent / "scenarios" / "workload.toml"


def main() -> None:
    args = parse_args(__doc__)
    n, indptr, indices = load_network(args.network)
    seeds = initial_spreaders(n, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        members = Path(tmp) / "members.parquet"
        pd.DataFrame(
            {"clinician": indices, "group": np.repeat(np.arange(indptr.size - 1, dtype=np.int32), np.diff(indptr))}
        ).to_parquet(members, index=False)
        scen = load_scenario(
            SCENARIO,
            [f"population.n_clinicians={n}", f'groups.membership_file="{members}"', f"run.duration_days={MAX_STEPS}"],
        )
        scen.information.items[0].seed_clinicians = seeds.tolist()
        t0 = time.perf_counter()
        model = QunModel(scen, seed=args.seed)
        build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    model.run_model()
    sim_s = time.perf_counter() - t0
    info = model.process("information")
    emit(
        "qunsim",
        n,
        args.seed,
        build_s,
        sim_s,
        reach=float(np.isfinite(info.arrays.t_first[0]).mean()),
        steps=model.clock.step,
        posts=info.counters["posts"],
        deliveries=info.counters["deliveries"],
    )


if __name__ == "__main__":
    main()
