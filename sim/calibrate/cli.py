"""The ``qunsim calibrate`` command. Importing this module is light (argparse only)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

__all__ = ["EPILOG", "add_arguments", "cmd_calibrate"]

EXIT_OK, EXIT_MISS, EXIT_USAGE = 0, 1, 2

EPILOG = """examples:
  qunsim calibrate calibration/consult_group_answers.toml --jobs 2 --out results/cal
  qunsim calibrate calibration/consult_group_answers.toml --out results/cal --resume
  qunsim calibrate --check                       the target table for the shipped scenarios
  qunsim calibrate --check --target carmona_median_first_answer --replicates 2
  qunsim calibrate --check --scenario guangdong_study    only the targets on one scenario
  qunsim calibrate --check --jobs 2 --figure check.png   the table and a figure of it

A calibration (ABC-SMC with pyabc: pip install 'qunsim[calibrate]') writes DIR/posterior.csv,
DIR/calibrated.toml (the scenario at the posterior medians, or [abc] point), DIR/report.md with its figures,
and keeps DIR/abc.db and DIR/sims/ so that --resume continues after an interruption.
Targets and their sources: calibration/targets.toml, docs/calibration.md.

exit codes:
  0    calibration written; --check: every target passes
  1    --check: some target misses (the table says which); a simulation raised
  2    bad input: the calibration or targets file (field and value), --out, --jobs, an unknown target
  130  interrupted: the finished generations and simulations are kept; add --resume"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", nargs="?", help="calibration file (TOML), see calibration/")
    p.add_argument("--check", action="store_true", help="print the target table for the shipped scenarios")
    p.add_argument("--targets-file", metavar="FILE", help="targets file for --check (default: the shipped targets)")
    p.add_argument("--target", action="append", metavar="ID", help="--check only this target (repeatable)")
    p.add_argument(
        "--scenario", action="append", metavar="NAME", help="--check only the targets on this scenario (repeatable)"
    )
    p.add_argument("--replicates", type=int, default=None, help="runs per scenario for --check (default 4)")
    p.add_argument("--figure", metavar="PNG", help="--check: also draw the table, one panel per target")
    p.add_argument("--out", help="output folder (default: results/calibration-<file name>)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--jobs", type=int, default=1, help="local worker processes (results do not depend on it)")
    where.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="run on the Dask cluster of this scheduler")
    where.add_argument("--dask-local", type=int, metavar="N", help="start a local Dask cluster of N workers")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--resume", action="store_true", help="continue the calibration in --out")
    mode.add_argument("--overwrite", action="store_true", help="empty --out first, then start over")
    p.add_argument("--quiet", action="store_true", help="no progress lines")


def _log(quiet: bool):
    def log(msg: str) -> None:
        if not quiet:
            print(f"qunsim: {msg}", file=sys.stderr, flush=True)

    return log


def _executor(args):
    from ..experiments.executors import make_executor
    from ..schema import ScenarioError

    if args.jobs < 1 or (args.dask_local is not None and args.dask_local < 1):
        raise ScenarioError("--jobs and --dask-local must be at least 1")
    return make_executor(jobs=args.jobs, scheduler=args.scheduler, dask_local=args.dask_local)


def _check(args) -> int:
    from ..schema import ScenarioError
    from .check import check_targets, format_table
    from .targets import load_targets

    if args.figure and not Path(args.figure).resolve().parent.is_dir():
        raise ScenarioError(f"--figure {args.figure}: its folder does not exist")
    targets = load_targets(args.targets_file)
    if args.target:
        unknown = [t for t in args.target if t not in targets]
        if unknown:
            raise ScenarioError(f"--target: unknown {', '.join(unknown)}; known: {', '.join(targets)}")
        targets = {t: targets[t] for t in args.target}
    if args.scenario:
        from dataclasses import replace

        known = sorted({s for t in targets.values() for s in t.scenarios})
        unknown = [s for s in args.scenario if s not in known]
        if unknown:
            raise ScenarioError(f"--scenario: no target is checked on {', '.join(unknown)}; known: {', '.join(known)}")
        keep = {}
        for tid, t in targets.items():
            on = tuple(s for s in t.scenarios if s in args.scenario)
            if on:
                keep[tid] = replace(t, scenarios=on)
        targets = keep
    replicates = 4 if args.replicates is None else args.replicates
    if replicates < 2:
        raise ScenarioError(f"--replicates {replicates}: at least 2 (an interval needs two runs)")
    with _executor(args) as ex:
        rows = check_targets(targets, ex, replicates=replicates, log=_log(args.quiet))
    print(format_table(rows))
    if args.figure:
        from .report import plot_targets

        plot_targets(rows).savefig(args.figure, dpi=110)
    return EXIT_OK if all(j.passed for j in rows) else EXIT_MISS


def _calibrate(args) -> int:
    import shutil

    from ..config import scenario_to_toml
    from ..experiments.store import check_output
    from ..results import OutputExistsError
    from ..schema import ScenarioError
    from .abc import calibrate
    from .check import check_targets
    from .report import identification, write_report
    from .spec import load_calibration

    spec = load_calibration(args.file)
    out = Path(args.out) if args.out else Path("results") / f"calibration-{Path(args.file).stem}"
    check_output(out)
    if out.exists() and any(out.iterdir()):
        if args.overwrite:
            shutil.rmtree(out)
        elif not args.resume:
            raise OutputExistsError(
                f"--out {out} is not empty: add --resume to continue it or --overwrite to start over"
            )
    out.mkdir(parents=True, exist_ok=True)
    if args.replicates is not None:
        if args.replicates < 2:
            raise ScenarioError(f"--replicates {args.replicates}: at least 2")
        spec.replicates = args.replicates
    log = _log(args.quiet)
    t0 = time.monotonic()
    with _executor(args) as ex:
        log(f"calibrating {len(spec.parameters)} parameters to {len(spec.targets)} targets on {ex.describe()}")
        result = calibrate(spec, out, ex, resume=args.resume, log=log)
        ident = identification(spec, result.posterior)
        medians = dict(zip(ident["parameter"], ident["median"], strict=True))
        point = medians if spec.point == "median" else result.closest
        calibrated = spec.scenario_for(point)
        (out / "calibrated.toml").write_text(scenario_to_toml(calibrated), encoding="utf-8")
        # the targets at the calibrated scenario, on the calibration's own scenario and settings
        from dataclasses import replace

        sets = tuple(spec.set) + tuple(f"{p.setting}={float(point[p.name])!r}" for p in spec.parameters)
        where = str(spec.scenario_path)
        here = {tid: replace(t, scenarios=(where,), set=sets) for tid, t in spec.targets.items()}
        rows = check_targets(here, ex, replicates=spec.replicates, seed=spec.seed, log=log)
    info = {
        "generations": result.generations,
        "simulations": result.simulations,
        "epsilons": result.epsilons,
        "wall_seconds": time.monotonic() - t0,
        "executor": ex.describe(),
        "point": spec.point,
        "point_values": point,
    }
    report = write_report(out, spec, result.posterior, rows, info)
    print(ident.to_string(index=False))
    print(f"report: {report}; calibrated scenario: {out / 'calibrated.toml'}; wall time {info['wall_seconds']:.0f} s")
    return EXIT_OK


def cmd_calibrate(args) -> int:
    from ..experiments.core import sigterm_as_interrupt
    from ..schema import ScenarioError

    if args.check == bool(args.file):
        raise ScenarioError("give a calibration FILE, or --check (not both)")
    with sigterm_as_interrupt():
        try:
            return _check(args) if args.check else _calibrate(args)
        except RuntimeError as exc:
            print(f"qunsim: {exc}", file=sys.stderr)
            return EXIT_MISS
        except KeyboardInterrupt:
            print("qunsim: interrupted; finished generations and simulations are kept: add --resume", file=sys.stderr)
            return 130
