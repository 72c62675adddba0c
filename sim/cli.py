"""The ``qunsim`` command.

    qunsim run SCENARIO [--seed N] [--out DIR] [--overwrite] [--set key=value ...]
    qunsim show SCENARIO [--set key=value ...]      print the resolved scenario
    qunsim validate [--case NAME] [--set ...]        classical special cases vs closed form
    qunsim experiment FILE [--jobs N] [--out DIR]    intervention arms x paired replicates
    qunsim params                                    the parameter reference (Markdown)

Exit codes: 0 success, 1 a validation case failed, 2 bad input (the message says what).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import sys
import time
from pathlib import Path

import numpy as np

from .config import ScenarioError, load_scenario, scenario_to_toml
from .results import OutputExistsError, folder_is_empty

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own errors: usage + exit 2, no traceback
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"qunsim: error: {message}\n")


def _progress(stream=sys.stderr):
    state = {"t0": time.perf_counter(), "last": -1}

    def report(step: int, total: int) -> None:
        pct = int(100 * step / total)
        if pct // 10 != state["last"] // 10 or step == total:
            state["last"] = pct
            elapsed = time.perf_counter() - state["t0"]
            eta = elapsed / step * (total - step)
            print(f"  step {step}/{total} ({pct}%), {elapsed:.1f}s elapsed, ~{eta:.0f}s left",
                  file=stream, flush=True)

    return report


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
    for key in sorted(m):
        if key.startswith("summary_"):
            lines.append(str(m[key]))
    return lines


def _cmd_run(args) -> int:
    from .runner import run

    scenario = load_scenario(args.scenario, args.set)
    out = Path(args.out) if args.out else Path("results") / (
        f"{scenario.run.name}-seed{args.seed if args.seed is not None else scenario.run.seed}-"
        f"{_dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"
    )
    if out.exists() and (not out.is_dir() or not folder_is_empty(out)) and not args.overwrite:
        raise OutputExistsError(f"{out} is not empty; choose another --out or pass --overwrite")
    print(f"qunsim: running {scenario.run.name!r} ({scenario.n_steps} steps of "
          f"{scenario.run.step_minutes:g} min) ...", file=sys.stderr, flush=True)
    res = run(scenario, seed=args.seed, progress=None if args.quiet else _progress())
    res.save(out, overwrite=args.overwrite)
    if not args.no_plot:
        from .plots import plot_run

        plot_run(res, out / "summary.png")
    print(f"scenario {scenario.run.name!r}, seed {res.manifest['seed']}, "
          f"{res.manifest['wall_seconds']:.1f}s")
    for line in summary_lines(res.metrics):
        print("  " + line)
    print(f"results in {out}")
    return EXIT_OK


def _cmd_show(args) -> int:
    scenario = load_scenario(args.scenario, args.set)
    if args.plan:
        from .plan import describe

        print(describe(scenario), end="")
    else:
        print(scenario_to_toml(scenario), end="")
    return EXIT_OK


def _cmd_experiment(args) -> int:
    from .experiment import run_experiment_to

    out = Path(args.out) if args.out else Path("results") / (
        f"{Path(args.experiment).stem}-{_dt.datetime.now().strftime('%Y%m%d-%H%M%S')}")
    table = run_experiment_to(args.experiment, out, jobs=args.jobs, overwrite=args.overwrite,
                              replicates=args.replicates, progress=None if args.quiet else _progress())
    with_ci = table.dropna(subset=["diff_low"])
    print(f"{'metric':<45} {'arm':<22} {'mean':>10} {'diff vs baseline [95% CI]':>34}")
    for r in table.itertuples():
        ci = "" if np.isnan(r.diff_low) else f"{r.diff_mean:+.4g} [{r.diff_low:+.4g}, {r.diff_high:+.4g}]"
        print(f"{r.metric:<45} {r.arm:<22} {r.mean:>10.4g} {ci:>34}")
    print(f"results in {out} ({len(with_ci)} comparisons)")
    return EXIT_OK


def _cmd_params(args) -> int:
    from .docs import parameter_markdown

    print(parameter_markdown(), end="")
    return EXIT_OK


def _cmd_validate(args) -> int:
    from .validation import run_cases

    return EXIT_OK if run_cases(args.case, args.set, quick=args.quick) else EXIT_FAIL


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="qunsim", description="Information diffusion in clinicians' chat groups.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    r = sub.add_parser("run", help="run a scenario and write a results folder")
    r.add_argument("scenario", help="scenario file (TOML)")
    r.add_argument("--seed", type=int, default=None, help="root seed (default: run.seed)")
    r.add_argument("--out", help="results folder (default: results/<name>-seed<N>-<time>)")
    r.add_argument("--overwrite", action="store_true", help="replace the results in a non-empty --out")
    r.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a setting (repeatable)")
    r.add_argument("--quiet", action="store_true", help="no progress lines")
    r.add_argument("--no-plot", action="store_true", help="do not draw summary.png")
    r.set_defaults(func=_cmd_run)
    s = sub.add_parser("show", help="print the resolved scenario")
    s.add_argument("scenario")
    s.add_argument("--set", action="append", metavar="KEY=VALUE")
    s.add_argument("--plan", action="store_true", help="print the order of set-up and of one step instead")
    s.set_defaults(func=_cmd_show)
    e = sub.add_parser("experiment", help="compare intervention arms over paired replicates")
    e.add_argument("experiment", help="experiment file (TOML), see experiments/")
    e.add_argument("--out", help="results folder (default: results/<name>-<time>)")
    e.add_argument("--jobs", type=int, default=1, help="runs in parallel (results do not depend on it)")
    e.add_argument("--replicates", type=int, default=None, help="override the file's replicates")
    e.add_argument("--overwrite", action="store_true")
    e.add_argument("--quiet", action="store_true")
    e.set_defaults(func=_cmd_experiment)
    pr = sub.add_parser("params", help="print the parameter reference (Markdown)")
    pr.set_defaults(func=_cmd_params)
    v = sub.add_parser("validate", help="run the classical special cases against their closed forms")
    v.add_argument("--case", action="append", help="only this case (repeatable)")
    v.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a setting of the cases")
    v.add_argument("--quick", action="store_true", help="fewer replicates (wider intervals)")
    v.set_defaults(func=_cmd_validate)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "seed", None) is not None and args.seed < 0:
        print(f"qunsim: --seed must be a non-negative integer, got {args.seed}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return args.func(args)
    except (ScenarioError, OutputExistsError) as exc:
        print(f"qunsim: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("qunsim: interrupted; nothing was written", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
