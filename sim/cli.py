"""The ``qunsim`` command.

    qunsim run SCENARIO [--seed N] [--out DIR] [--overwrite] [--stream] [--set key=value ...]
    qunsim show SCENARIO [--set key=value ...]      print the resolved scenario
    qunsim validate [--case NAME] [--set ...]        classical special cases vs closed form
    qunsim experiment FILE [--jobs N] [--out DIR]    intervention arms x paired replicates
    qunsim sweep FILE [--dask-local N] [--resume]    parameter sweep and sensitivity indices
    qunsim params                                    the parameter reference (Markdown)
    qunsim demo [SCENARIO] [--port P] [--host H]     the live teaching page in the browser

Exit codes: 0 success, 1 a validation case failed, 2 bad input (the message says what),
130 interrupted. ``qunsim --help`` and ``qunsim COMMAND --help`` show examples.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from . import __version__
from .errors import OutputExistsError, ScenarioError
from .limits import MAX_CLINICIAN_STEPS, MAX_STEPS
from .paths import folder_is_empty

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class _UsageError(Exception):
    """Bad command-line input found by the command itself (exit 2)."""


class _Parser(argparse.ArgumentParser):
    #: a function giving the epilog, called only when the help is shown (e.g. the validation cases)
    lazy_epilog: Callable[[], str] | None = None

    def error(self, message):  # argparse's own errors: usage + exit 2, no traceback
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"qunsim: error: {message}\n")

    def format_help(self):
        if self.lazy_epilog is not None:
            self.epilog, self.lazy_epilog = self.lazy_epilog(), None
        return super().format_help()


MAX_SEED = 2**64 - 1


def _seed(text: str) -> int:
    """``--seed``: an integer 0 <= seed < 2**64 (refused here, before anything runs)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not an integer; give 0 <= seed < 2**64") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(
            f"{value if value < 0 else text[:40]} is outside 0 <= seed < 2**64 (the largest seed is {MAX_SEED})"
        )
    return value


def _progress(stream=sys.stderr):
    """Progress lines at every 10%. The time left is extrapolated from the steps after the
    first report only: the first step carries one-off costs (building the model, numba
    compiling its kernels on first use) that the remaining steps do not repeat."""
    state = {"t0": time.perf_counter(), "last": -1, "t1": 0.0, "s1": -1}

    def report(step: int, total: int) -> None:
        now = time.perf_counter()
        if state["s1"] < 0:
            state["t1"], state["s1"] = now, step
        pct = int(100 * step / total)
        if pct // 10 != state["last"] // 10 or step == total:
            state["last"] = pct
            done = step - state["s1"]
            if step == total:
                left = "done"
            elif done > 0:
                left = f"~{(now - state['t1']) / done * (total - step):.0f}s left"
            else:
                left = "time left: estimated from the next steps (the first includes one-off set-up)"
            print(f"  step {step}/{total} ({pct}%), {now - state['t0']:.1f}s elapsed, {left}", file=stream, flush=True)

    return report


def _warn(source: str, scenario) -> list[str]:
    """Print the scenario's warnings to stderr; return them (for the manifest)."""
    from .config import scenario_warnings  # the schema (pydantic, numpy) only when a command needs it

    found = scenario_warnings(scenario)
    for line in found:
        print(f"qunsim: warning: {source}: {line}", file=sys.stderr)
    return found


def _report_large(scenario) -> None:
    """Say how large a run above the ceilings will be (it was allowed with run.allow_large)."""
    from .config import run_estimate, run_size

    size = run_size(scenario)
    if size["steps"] > MAX_STEPS or size["clinician_steps"] > MAX_CLINICIAN_STEPS:
        print(
            f"qunsim: large run allowed by run.allow_large: {size['steps']:,.0f} steps, "
            f"{size['clinician_steps']:.3g} clinicians x steps (ceiling {MAX_STEPS:,} and "
            f"{MAX_CLINICIAN_STEPS:.0e}); {run_estimate(scenario)}",
            file=sys.stderr,
            flush=True,
        )


_NAME_MAX = 255


def _check_out(out: Path, overwrite: bool, option: str = "--out") -> None:
    """Refuse, before the run, an output folder that cannot be written."""
    for part in out.parts:
        if len(os.fsencode(part)) > _NAME_MAX:
            raise _UsageError(
                f"{option}: the folder name {part[:30]!r}... is {len(os.fsencode(part)):,} bytes "
                f"long; file systems allow at most {_NAME_MAX}"
            )
    try:
        exists, is_dir = out.exists(), out.is_dir()
        parent = out.absolute()
        while not parent.exists():
            parent = parent.parent
    except OSError as exc:
        raise _UsageError(f"{option} {str(out)[:200]}: not a usable path ({exc.strerror or exc})") from None
    if exists and not is_dir:
        raise _UsageError(
            f"{option} {out}: is a file, not a folder; give the path of a folder "
            "(new, empty, or a results folder to replace with --overwrite)"
        )
    if exists and not folder_is_empty(out) and not overwrite:
        raise OutputExistsError(f"{out} is not empty; choose another {option} or pass --overwrite")
    if not parent.is_dir():
        raise _UsageError(f"{option} {out}: {parent} is a file, so no folder can be made under it")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise _UsageError(f"{option} {out}: cannot write in {parent} (permission denied)")


def summary_lines(metrics: dict) -> list[str]:
    """A short human summary of a run's metrics, grouped by topic."""
    m = metrics
    lines = [
        f"clinicians {m['n_clinicians']:,} in {m['n_facilities']:,} facilities; "
        f"{m['network_n_groups']:,} groups (size median {m['network_group_size_median']:.0f}, "
        f"p90 {m['network_group_size_p90']:.0f}, max {m['network_group_size_max']}); "
        f"{m['network_groups_per_clinician_mean']:.1f} groups per clinician; "
        f"cross-tier memberships {m['network_p_memberships_cross_tier']:.0%}, "
        f"cross-region {m['network_p_memberships_cross_region']:.0%}",
    ]
    for key in sorted(m, key=lambda k: (k == "summary_cost", k)):  # the cost of it all comes last
        if key.startswith("summary_"):
            lines.append(str(m[key]))
    return lines


def _cmd_run(args) -> int:
    from .config import load_scenario
    from .runner import run

    scenario = load_scenario(args.scenario, _overrides(args))
    _warn(args.scenario, scenario)  # the manifest records these and those found when the model is built
    # run.name is a name (no separators, no leading '.'): the default folder stays inside results/
    out = (
        Path(args.out)
        if args.out
        else Path("results")
        / (
            f"{scenario.run.name}-seed{args.seed if args.seed is not None else scenario.run.seed}-"
            f"{_dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"
        )
    )
    _check_out(out, args.overwrite)
    _report_large(scenario)
    print(
        f"qunsim: running {scenario.run.name!r} ({scenario.n_steps} steps of {scenario.run.step_minutes:g} min) ...",
        file=sys.stderr,
        flush=True,
    )
    res = run(
        scenario,
        seed=args.seed,
        progress=None if args.quiet else _progress(),
        warn=lambda line: print(f"qunsim: warning: {args.scenario}: {line}", file=sys.stderr, flush=True),
        stream_to=out if args.stream else None,
    )
    try:
        res.save(out, overwrite=args.overwrite)
    except OSError as exc:
        raise _UsageError(f"--out {out}: cannot write the results ({exc.strerror or exc})") from None
    if not args.no_plot:
        from analysis.plots import plot_run

        plot_run(res, out / "summary.png")
    print(f"scenario {scenario.run.name!r}, seed {res.manifest['seed']}, {res.manifest['wall_seconds']:.1f}s")
    for line in summary_lines(res.metrics):
        print("  " + line)
    print(f"results in {out}")
    return EXIT_OK


def _overrides(args) -> list[str]:
    """``--set`` values, and ``run.allow_large=true`` for ``--allow-large``."""
    return [*(args.set or []), *(["run.allow_large=true"] if getattr(args, "allow_large", False) else [])]


def _cmd_show(args) -> int:
    from .config import load_scenario, scenario_to_toml

    scenario = load_scenario(args.scenario, _overrides(args))
    _warn(args.scenario, scenario)
    if args.plan:
        from .plan import describe

        print(describe(scenario), end="")
    else:
        print(scenario_to_toml(scenario), end="")
    return EXIT_OK


def _cmd_experiment(args) -> int:
    from .experiments.cli import cmd_experiment

    return cmd_experiment(args)


def _cmd_sweep(args) -> int:
    from .experiments.cli import cmd_sweep

    return cmd_sweep(args)


def _cmd_calibrate(args) -> int:
    from .calibrate.cli import cmd_calibrate

    return cmd_calibrate(args)


def _cmd_params(args) -> int:
    from .docs import parameter_markdown

    print(parameter_markdown(), end="")
    return EXIT_OK


def _cmd_validate(args) -> int:
    from .validation import run_cases

    return EXIT_OK if run_cases(args.case, args.set, quick=args.quick) else EXIT_FAIL


def _cmd_demo(args) -> int:
    try:
        from .demo.server import serve  # the web stack is imported only for this command
    except ImportError as exc:
        print(
            f"qunsim demo: the teaching page needs the demo extra ({exc.name} is missing): pip install -e '.[demo]'",
            file=sys.stderr,
        )
        return EXIT_USAGE
    return serve(args.scenario, host=args.host, port=args.port)


_EXIT_CODES = """exit codes:
  0    success
  1    a validation case failed (qunsim validate only)
  2    bad input: the message names the file, the setting, the value and what is allowed
  130  interrupted (Ctrl-C); nothing is written"""

_EPILOG = {
    "qunsim": """examples:
  qunsim run scenarios/classroom.toml                      run a scenario, write results/<name>-seed0-<time>/
  qunsim run scenarios/guangdong_study.toml --seed 7 --out results/gd
  qunsim show scenarios/province.toml                      the resolved scenario, every default written out
  qunsim show --plan scenarios/classroom.toml              the order of set-up and of one step
  qunsim validate --quick                                  the classical special cases vs their closed forms
  qunsim experiment experiments/misinformation.toml --jobs 2
  qunsim sweep experiments/classroom_rumor_sobol.toml --dask-local 2     sensitivity indices (Sobol)
  qunsim calibrate --check                                 the calibration targets: observed vs simulated
  qunsim params > docs/parameters.md                       every setting, default, unit and meaning

`qunsim COMMAND --help` gives the examples and exit codes of each command.

"""
    + _EXIT_CODES,
    "run": f"""examples:
  qunsim run scenarios/classroom.toml
  qunsim run scenarios/guangdong_study.toml --seed 7 --out results/gd
  qunsim run scenarios/classroom.toml --set run.duration_days=10 --set population.literacy_mean=0.8
  qunsim run results/gd/scenario.toml --seed 8          rerun a results folder's resolved scenario
  qunsim run big.toml --allow-large --stream            events, answers and cases written to --out as the run goes
  qunsim run big.toml --allow-large                     above {MAX_STEPS:,} steps or {MAX_CLINICIAN_STEPS:.0e} clinicians x steps

exit codes:
  0    the results folder was written (scenario.toml, manifest.json, metrics, tables, summary.png)
  2    bad input: scenario file, --set, --seed, --out (the message says which and what is allowed);
       checked before the run starts
  130  interrupted (Ctrl-C); nothing is written""",
    "show": """examples:
  qunsim show scenarios/province.toml
  qunsim show scenarios/classroom.toml --set run.duration_days=10 > mine.toml
  qunsim show --plan scenarios/guangdong_study.toml

exit codes:
  0    printed
  2    bad input (the message names the file, the setting, the value and what is allowed)""",
    "params": """examples:
  qunsim params > docs/parameters.md
  qunsim params | grep literacy

exit codes:
  0    printed
  2    a bad option (usage error)""",
}


def _validate_epilog() -> str:
    from .validation import describe_cases

    return (
        f"cases (--case NAME):\n{describe_cases()}\n\n"
        "examples:\n"
        "  qunsim validate                   every case, full replicates\n"
        "  qunsim validate --quick           fewer replicates, wider intervals\n"
        "  qunsim validate --case mmc --case reed_frost\n\n"
        "exit codes:\n"
        "  0    every case passed\n"
        "  1    a case failed: the closed form lies outside its interval\n"
        "  2    bad input (an unknown --case, a bad --set)\n"
        "  130  interrupted (Ctrl-C)"
    )


def build_parser() -> argparse.ArgumentParser:
    raw = argparse.RawDescriptionHelpFormatter
    p = _Parser(
        prog="qunsim",
        description="Information diffusion in clinicians' chat groups.",
        epilog=_EPILOG["qunsim"],
        formatter_class=raw,
    )
    p.add_argument("--version", action="version", version=f"qunsim {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    r = sub.add_parser(
        "run", help="run a scenario and write a results folder", epilog=_EPILOG["run"], formatter_class=raw
    )
    r.add_argument("scenario", help="scenario file (TOML) or a shipped name: classroom, guangdong_study, province")
    r.add_argument("--seed", type=_seed, default=None, help="root seed, 0 <= N < 2**64 (default: run.seed)")
    r.add_argument("--out", help="results folder (default: results/<name>-seed<N>-<time>)")
    r.add_argument("--overwrite", action="store_true", help="replace the results in a non-empty --out")
    r.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a setting (repeatable)")
    r.add_argument("--quiet", action="store_true", help="no progress lines")
    r.add_argument("--no-plot", action="store_true", help="do not draw summary.png")
    r.add_argument(
        "--stream",
        action="store_true",
        help="write events, answers and cases to --out in chunks as the run goes (same files; less memory)",
    )
    r.add_argument(
        "--allow-large",
        action="store_true",
        help=f"allow more than {MAX_STEPS:,} steps or {MAX_CLINICIAN_STEPS:.0e} clinicians x steps "
        "(same as --set run.allow_large=true); prints the estimated time and memory",
    )
    r.set_defaults(func=_cmd_run)
    s = sub.add_parser("show", help="print the resolved scenario", epilog=_EPILOG["show"], formatter_class=raw)
    s.add_argument("scenario")
    s.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a setting (repeatable)")
    s.add_argument("--allow-large", action="store_true", help="as for run: a scenario above the ceilings")
    s.add_argument("--plan", action="store_true", help="print the order of set-up and of one step instead")
    s.set_defaults(func=_cmd_show)
    from .experiments import cli as ecli  # light: argparse only

    e = sub.add_parser(
        "experiment",
        help="compare intervention arms over paired replicates",
        epilog=ecli.EPILOG_EXPERIMENT,
        formatter_class=raw,
    )
    ecli.add_experiment_arguments(e)
    e.set_defaults(func=_cmd_experiment)
    sw = sub.add_parser(
        "sweep",
        help="a parameter sweep with sensitivity indices (Sobol, Morris, LHS, factorial)",
        epilog=ecli.EPILOG_SWEEP,
        formatter_class=raw,
    )
    ecli.add_sweep_arguments(sw)
    sw.set_defaults(func=_cmd_sweep)
    from .calibrate import cli as ccli  # light: argparse only

    ca = sub.add_parser(
        "calibrate",
        help="calibrate to the field's targets (ABC-SMC); --check prints the target table",
        epilog=ccli.EPILOG,
        formatter_class=raw,
    )
    ccli.add_arguments(ca)
    ca.set_defaults(func=_cmd_calibrate)
    pr = sub.add_parser(
        "params", help="print the parameter reference (Markdown)", epilog=_EPILOG["params"], formatter_class=raw
    )
    pr.set_defaults(func=_cmd_params)
    v = sub.add_parser(
        "validate", help="run the classical special cases against their closed forms", formatter_class=raw
    )
    v.lazy_epilog = _validate_epilog
    v.add_argument("--case", action="append", help="only this case (repeatable)")
    v.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a setting of the cases")
    v.add_argument("--quick", action="store_true", help="fewer replicates (wider intervals)")
    v.set_defaults(func=_cmd_validate)
    d = sub.add_parser(
        "demo",
        help="the live teaching page in the browser (offline; see docs/teaching.md)",
        epilog=_DEMO_EPILOG,
        formatter_class=raw,
    )
    d.add_argument(
        "scenario",
        nargs="?",
        default=None,
        help="scenario file or shipped name (default: classroom; at most 2,000 clinicians)",
    )
    d.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    d.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, this machine only; another warns)"
    )
    d.set_defaults(func=_cmd_demo)
    return p


_DEMO_EPILOG = """examples:
  qunsim demo                                  the classroom scenario at http://127.0.0.1:8765/
  qunsim demo scenarios/classroom.toml --port 8800
  qunsim demo --host 0.0.0.0                   reachable from the classroom network (prints a warning)

exit codes:
  0    stopped with Ctrl-C
  2    bad input: scenario, --port or --host (the message says which and what is allowed)"""


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ScenarioError, OutputExistsError, _UsageError) as exc:
        print(f"qunsim: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("qunsim: interrupted; nothing was written", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
