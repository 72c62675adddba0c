"""qunsim's own engine on the shared workload, configured by ``benchmarks/scenarios/workload.toml``.

    python -m benchmarks.impl_qunsim --network FILE --seed S

The network file's membership is written once as Parquet (not timed, as the peers'
loading of the .npz is not timed); ``build_s`` is the model's construction from it
(population arrays, membership indexes), ``sim_s`` the steps until no spreader is left.
Before the clock starts, the same scenario runs once on a tiny network (as numba_ref
compiles its kernel on one): numba loads each compiled kernel from its cache at the first
call in a process, so neither time counts that loading.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common import MAX_STEPS, emit, initial_spreaders, load_network, parse_args, timed
from sim import load_scenario
from sim.model import QunModel
from sim.scenario import Scenario

SCENARIO = Path(__file__).resolve().parent / "scenarios" / "workload.toml"


def workload(folder: Path, n: int, indptr: np.ndarray, indices: np.ndarray, seeds: np.ndarray) -> Scenario:
    """The workload scenario on the network (``indptr``, ``indices``) of ``n`` clinicians, its
    membership written to ``folder``, spread from ``seeds``."""
    members = folder / f"members_{n}.parquet"
    group = np.repeat(np.arange(indptr.size - 1, dtype=np.int32), np.diff(indptr))
    pd.DataFrame({"clinician": indices, "group": group}).to_parquet(members, index=False)
    scen = load_scenario(
        SCENARIO,
        [f"population.n_clinicians={n}", f'groups.membership_file="{members}"', f"run.duration_days={MAX_STEPS}"],
    )
    scen.information.items[0].seed_clinicians = seeds.tolist()
    return scen


def main() -> None:
    args = parse_args(__doc__)
    n, indptr, indices = load_network(args.network)
    seeds = initial_spreaders(n, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        # load the kernels before timing: a tiny network (every clinician in two of four
        # groups) where every copy is noticed, so that every path of the step runs
        tiny = np.arange(40, dtype=indices.dtype)
        warm = workload(Path(tmp), 40, np.arange(5) * 20, np.concatenate([tiny, tiny]), np.array([0]))
        warm.information.items[0].notice_prob = 1.0
        QunModel(warm, seed=args.seed).run_model()
        scen = workload(Path(tmp), n, indptr, indices, seeds)
        build_s, sim_s, runs, out = timed(lambda: QunModel(scen, seed=args.seed), simulate)
    emit("qunsim", n, args.seed, build_s, sim_s, **out, timed_runs=runs)


def simulate(model: QunModel) -> dict:
    model.run_model()
    info = model.process("information")
    return {
        "reach": float(np.isfinite(info.arrays.t_first[0]).mean()),
        "steps": model.clock.step,
        "posts": info.counters["posts"],
        "deliveries": info.counters["deliveries"],
    }


if __name__ == "__main__":
    main()
