"""The ``qunsim experiment`` and ``qunsim sweep`` commands (options, checks, printed summaries).

Importing this module is light (argparse only): ``qunsim --help`` stays fast.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

__all__ = ["EPILOG_EXPERIMENT", "EPILOG_SWEEP", "add_experiment_arguments", "add_sweep_arguments", "cmd_experiment"]

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2

_EXIT = """exit codes:
  0    every run finished; the tables and figures are written
  1    some runs raised (tracebacks in DIR/failures/); the tables hold the others
  2    bad input, found before any run: the {what} file (field and value), --out, --replicates, --jobs,
       an unknown metric, a folder that holds something else (use --resume or --overwrite)
  130  interrupted by Ctrl-C, 143 by SIGTERM: the finished runs are kept; add --resume to continue"""

EPILOG_EXPERIMENT = """examples:
  qunsim experiment experiments/misinformation.toml --jobs 2
  qunsim experiment experiments/misinformation.toml --replicates 30 --out results/mis --resume
  qunsim experiment experiments/misinformation.toml --dask-local 2
  qunsim experiment experiments/misinformation.toml --scheduler tcp://10.0.0.5:8786
  qunsim experiment --status results/mis

Every finished run is written at once (DIR/parts/); a killed experiment re-run with --resume
runs only what is missing, and its tables equal those of an uninterrupted run.

""" + _EXIT.format(what="experiment")

EPILOG_SWEEP = """examples:
  qunsim sweep experiments/classroom_rumor_sobol.toml --jobs 2
  qunsim sweep experiments/classroom_rumor_sobol.toml --dask-local 2 --out results/sobol --resume
  qunsim sweep experiments/classroom_rumor_sobol.toml --scheduler tcp://10.0.0.5:8786
  qunsim sweep --status results/sobol

""" + _EXIT.format(what="sweep")


def _integer(what: str):
    """An integer option; its range is checked by the command, which says what is allowed."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        return value

    parse.__name__ = what
    return parse


def _common(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("file", nargs="?", help=f"{what} file (TOML), see experiments/")
    p.add_argument("--out", help="results folder (default: results/<file name>)")
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--jobs", type=_integer("jobs"), default=1, help="local worker processes (results do not depend on it)"
    )
    where.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="run on the Dask cluster of this scheduler")
    where.add_argument(
        "--dask-local", type=_integer("dask-local"), metavar="N", help="start a local Dask cluster of N workers"
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--resume", action="store_true", help="continue the runs in --out: only what is missing runs")
    mode.add_argument("--overwrite", action="store_true", help="empty --out first, then start over")
    p.add_argument("--quiet", action="store_true", help="no header and no progress bar")
    p.add_argument(
        "--status", metavar="DIR", help=f"say what the {what} folder DIR holds: runs done, missing and failed"
    )


def add_experiment_arguments(p: argparse.ArgumentParser) -> None:
    _common(p, "experiment")
    p.add_argument("--replicates", type=_integer("replicates"), default=None, help="override the file's (at least 2)")


def add_sweep_arguments(p: argparse.ArgumentParser) -> None:
    _common(p, "sweep")
    p.add_argument("--replicates", type=_integer("replicates"), default=None, help="override the file's per point")
    p.add_argument("-n", type=_integer("n"), default=None, help="override the design's n")


def _check(args, what: str) -> Path | None:
    """Argument checks shared by both commands; returns the output folder (None for --status)."""
    from ..schema import ScenarioError

    if args.status:
        if args.file:
            raise ScenarioError(f"--status {args.status}: give either a {what} file or --status DIR, not both")
        return None
    if not args.file:
        raise ScenarioError(f"give the {what} file (qunsim {what} FILE) or --status DIR")
    if args.jobs < 1:
        raise ScenarioError(f"--jobs: {args.jobs} is not allowed; give at least 1")
    if args.dask_local is not None and args.dask_local < 1:
        raise ScenarioError(f"--dask-local: {args.dask_local} is not allowed; give at least 1 worker")
    if getattr(args, "replicates", None) is not None and args.replicates < (2 if what == "experiment" else 1):
        least = "2 (a paired comparison needs pairs)" if what == "experiment" else "1"
        raise ScenarioError(f"--replicates: {args.replicates} is not allowed; give at least {least}")
    if getattr(args, "n", None) is not None and args.n < 2:
        raise ScenarioError(f"-n: {args.n} is not allowed; give at least 2")
    if args.scheduler is not None:
        import re

        if not re.fullmatch(r"(tcp|tls|ucx|inproc)://[^\s:/]+(:\d{1,5})?/?|[^\s:/]+:\d{1,5}", args.scheduler):
            raise ScenarioError(f"--scheduler: {args.scheduler!r} is not a scheduler address; give tcp://HOST:PORT")
    return Path(args.out) if args.out else Path("results") / Path(args.file).stem


def _status(folder: str) -> int:
    from .store import folder_status, format_status

    print(format_status(folder_status(folder)))
    return EXIT_OK


def _interrupted(exc: KeyboardInterrupt, out: Path, what: str, file: str) -> int:
    from .store import Store

    done = len(Store(out).done())
    signame = exc.args[0] if exc.args and isinstance(exc.args[0], str) else "SIGINT"
    print(
        f"\nqunsim: interrupted ({signame}); {done} finished runs are kept in {out}; continue with\n"
        f"  qunsim {what} {file} --out {out} --resume",
        file=sys.stderr,
    )
    return 128 + (signal.SIGTERM if signame == "SIGTERM" else signal.SIGINT)


def _write_failed(exc: OSError, out: Path, what: str, file: str) -> int:
    from .store import Store

    done = len(Store(out).done())
    print(
        f"qunsim: could not write in {out}: {exc}\n{done} finished runs are kept; once the cause is fixed, continue with\n"
        f"  qunsim {what} {file} --out {out} --resume",
        file=sys.stderr,
    )
    return EXIT_FAIL


def _fmt(v: float) -> str:
    return "" if v != v else f"{v:+.4g}"


def cmd_experiment(args) -> int:
    from .core import sigterm_as_interrupt

    out = _check(args, "experiment")
    if out is None:
        return _status(args.status)
    with sigterm_as_interrupt():
        from .compare import run_experiment_to

        try:
            res = run_experiment_to(
                args.file,
                out,
                jobs=args.jobs,
                scheduler=args.scheduler,
                dask_local=args.dask_local,
                overwrite=args.overwrite,
                resume=args.resume,
                replicates=args.replicates,
                quiet=args.quiet,
            )
        except KeyboardInterrupt as exc:
            return _interrupted(exc, out, "experiment", args.file)
        except OSError as exc:
            return _write_failed(exc, out, "experiment", args.file)
    table = res.comparison
    baseline = table["baseline"].iloc[0] if len(table) else "?"
    print(f"baseline: {baseline!r} (the first arm in the file); paired differences, bootstrap 95% intervals")
    print(f"{'metric':<45} {'arm':<24} {'n':>4} {'mean':>10} {'diff vs baseline [95% CI]':>36}")
    for r in table.itertuples():
        ci = "" if r.arm == baseline else f"{_fmt(r.diff_mean)} [{_fmt(r.diff_low)}, {_fmt(r.diff_high)}]"
        print(f"{r.metric:<45} {r.arm:<24} {r.n:>4} {r.mean:>10.4g} {ci:>36}")
    if res.takeoff is not None:
        print(f"\n{res.note}")
        print(
            f"{'arm':<24} {'P(take-off) [Wilson 95%]':>30} {'paired diff [95% CI]':>30} {'fizzle->off':>11} {'off->fizzle':>11}"
        )
        for r in res.takeoff.itertuples():
            p = f"{r.p_takeoff:.2f} [{r.p_low:.2f}, {r.p_high:.2f}] ({r.n_takeoff}/{r.n})"
            d = "" if r.arm == baseline else f"{_fmt(r.diff_p)} [{_fmt(r.diff_low)}, {_fmt(r.diff_high)}]"
            print(f"{r.arm:<24} {p:>30} {d:>30} {r.fizzle_to_takeoff:>11} {r.takeoff_to_fizzle:>11}")
        print(f"outcomes among the runs that took off: {out / 'takeoff_conditional.csv'}")
    if res.failed:
        print(
            f"qunsim: {len(res.failed)} of {res.planned} runs failed ({', '.join(res.failed[:5])}"
            f"{' ...' if len(res.failed) > 5 else ''}); tracebacks in {out / 'failures'}; the tables hold the others; "
            "retry them with --resume",
            file=sys.stderr,
        )
    print(f"results in {out} ({res.planned - len(res.failed)} of {res.planned} runs)")
    return EXIT_FAIL if res.failed else EXIT_OK


def cmd_sweep(args) -> int:
    from .core import sigterm_as_interrupt

    out = _check(args, "sweep")
    if out is None:
        return _status(args.status)
    with sigterm_as_interrupt():
        from .sweep import run_sweep_to

        try:
            res = run_sweep_to(
                args.file,
                out,
                jobs=args.jobs,
                scheduler=args.scheduler,
                dask_local=args.dask_local,
                overwrite=args.overwrite,
                resume=args.resume,
                quiet=args.quiet,
                n=args.n,
                replicates=args.replicates,
            )
        except KeyboardInterrupt as exc:
            return _interrupted(exc, out, "sweep", args.file)
        except OSError as exc:
            return _write_failed(exc, out, "sweep", args.file)
    ind = res.indices
    print(f"{'output':<40} {'method':<10} {'parameter':<24} {'index':<18} {'value [95% CI]':>28}")
    for r in ind.itertuples():
        if r.value != r.value:
            print(f"{r.output:<40} {r.method:<10} {r.note}")
            continue
        ci = f"{r.value:.3f}" + ("" if r.low != r.low else f" [{r.low:.3f}, {r.high:.3f}]")
        print(f"{r.output:<40} {r.method:<10} {r.parameter!s:<24} {r.index!s:<18} {ci:>28}")
    if res.failed:
        print(
            f"qunsim: {len(res.failed)} of {res.planned} runs failed; tracebacks in {out / 'failures'}; "
            "retry them with --resume",
            file=sys.stderr,
        )
    print(
        f"results in {out} (runs.parquet, indices.csv, indices.png; {res.planned - len(res.failed)} of {res.planned} runs)"
    )
    return EXIT_FAIL if res.failed else EXIT_OK
