"""What experiments and sweeps share: run keys, the metrics probe, progress, provenance, and the loop
that sends runs to an executor and stores each one as it finishes."""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import platform
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from .executors import Executor, Task
from .store import MANIFEST_FILE, Store, atomic_write

__all__ = [
    "Interrupted",
    "RunSpec",
    "Session",
    "known_metrics",
    "run_key",
    "scenario_hash",
    "sigterm_as_interrupt",
]

KEY_PACKAGES = ("numpy", "scipy", "pandas", "pyarrow", "numba", "mesa", "pydantic", "SALib", "dask", "distributed")


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM: the finished runs are kept; ``--resume`` continues."""

    def __init__(self, signum: int = signal.SIGINT):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM is handled like SIGINT (raised as :class:`Interrupted`)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise Interrupted(signum)

    old_term = signal.signal(signal.SIGTERM, handler)
    old_int = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old_term)
        signal.signal(signal.SIGINT, old_int)


def scenario_hash(scenario) -> str:
    """A stable hash of a resolved scenario (every setting, defaults included)."""
    text = json.dumps(scenario.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def run_key(scenario_digest: str, seed: int, keep_timeseries: bool) -> str:
    """The key of a run: its resolved settings and seed (the same run always gets the same key)."""
    text = f"{scenario_digest}:{seed}:{int(keep_timeseries)}"
    return hashlib.blake2b(text.encode(), digest_size=10).hexdigest()


def fingerprint(*parts: Any) -> str:
    return hashlib.blake2b(json.dumps(parts, sort_keys=True).encode(), digest_size=16).hexdigest()


def known_metrics(scenario) -> set[str]:
    """The numeric metric names of runs of ``scenario``, from a run of one step."""
    from ..runner import run
    from .executors import numeric_metrics

    probe = scenario.model_copy(deep=True)
    probe.run.duration_days = scenario.run.step_minutes / (24 * 60)
    return set(numeric_metrics(run(probe, seed=0).metrics))


@dataclass
class RunSpec:
    """One distinct run of a plan; ``build()`` gives its scenario when it is sent to a worker."""

    key: str
    label: str
    seed: int
    build: Callable[[], Any]
    keep_timeseries: bool


# ------------------------------------------------------------- provenance
def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return (out.stdout.strip() or None) if out.returncode == 0 else None


def _git_dirty() -> bool | None:
    try:
        out = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return bool(out.stdout.strip()) if out.returncode == 0 else None


def provenance() -> dict:
    from .. import __version__

    versions: dict[str, str | None] = {}
    for name in KEY_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "qunsim_version": __version__,
        "git_commit": _git_commit(),
        "git_dirty": _git_dirty(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": versions,
    }


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat()


@dataclass
class Session:
    """One invocation working in a folder: writes the manifest at its start and at its end."""

    store: Store
    manifest: dict
    executor: Executor
    started: str = field(default_factory=_now)
    t0: float = field(default_factory=time.perf_counter)
    runs_done: int = 0
    runs_failed: int = 0

    def __post_init__(self) -> None:
        path = self.store.folder / MANIFEST_FILE
        sessions = []
        if path.is_file():
            with contextlib.suppress(ValueError, OSError):
                sessions = json.loads(path.read_text()).get("sessions", [])
        self.manifest = {**provenance(), **self.manifest, "sessions": sessions}
        code = {"qunsim_version": self.manifest["qunsim_version"], "git_commit": self.manifest["git_commit"]}
        commits = [(s.get("code") or {}).get("git_commit") for s in sessions]
        earlier: set[str] = {str(c) for c in commits if c is not None and c != code["git_commit"]}
        if earlier and code["git_commit"] is not None:
            print(
                f"qunsim: warning: {self.store.folder}: earlier runs were made by commit(s) {sorted(earlier)}, "
                f"these by {code['git_commit']}; if the model changed, start over with --overwrite",
                file=sys.stderr,
            )
        self.manifest["sessions"].append(
            {
                "started_utc": self.started,
                "finished_utc": None,
                "executor": self.executor.info(),
                "code": code,
                "runs_done": 0,
                "runs_failed": 0,
                "argv": sys.argv,
            }
        )
        self.write()

    def write(self) -> None:
        text = json.dumps(self.manifest, indent=2, default=str)
        atomic_write(self.store.folder / MANIFEST_FILE, lambda p: p.write_text(text))

    def end(self, stopped: str | None = None) -> None:
        s = self.manifest["sessions"][-1]
        s.update(runs_done=self.runs_done, runs_failed=self.runs_failed)
        s["wall_seconds"] = round(time.perf_counter() - self.t0, 3)
        if stopped is None:
            s["finished_utc"] = _now()
            self.manifest["started_utc"] = self.manifest["sessions"][0]["started_utc"]
            self.manifest["finished_utc"] = s["finished_utc"]
        else:
            s["stopped"] = stopped
            s["stopped_utc"] = _now()
        self.write()


# --------------------------------------------------------------- progress
class Progress:
    """A tqdm bar over runs (done / total, ETA) on a terminal; silent otherwise or when quiet.

    The ETA leaves out the first-use cost (spawning workers, numba compiling the kernels):
    its clock starts once every worker has finished its first run.
    """

    def __init__(self, total: int, done: int, header: str, quiet: bool, warmup: int, stream=None):
        from tqdm import tqdm

        stream = stream if stream is not None else sys.stderr
        self.quiet = quiet
        if not quiet:
            print(f"qunsim: {header}", file=stream, flush=True)
        enabled = not quiet and hasattr(stream, "isatty") and stream.isatty()
        self.bar = tqdm(
            total=total,
            initial=done,
            disable=not enabled,
            smoothing=0,
            unit="run",
            file=stream,
            dynamic_ncols=True,
            desc="runs",
        )
        self.warmup = max(1, warmup)
        self.count = 0
        self.failed = 0

    def update(self, ok: bool) -> None:
        self.count += 1
        if not ok:
            self.failed += 1
            self.bar.set_postfix(failed=self.failed, refresh=False)
        self.bar.update(1)
        if self.count == self.warmup and not self.bar.disable:
            # restart the rate's clock: the runs so far carried the one-off start-up costs
            self.bar.initial = self.bar.n
            self.bar.start_t = self.bar.last_print_t = self.bar._time()
            self.bar.refresh()

    def close(self) -> None:
        self.bar.close()


def execute(
    specs: list[RunSpec],
    store: Store,
    executor: Executor,
    session: Session,
    progress: Progress,
) -> None:
    """Run every spec not yet done, storing each run the moment it finishes."""
    done = store.done()
    by_key = {s.key: s for s in specs}
    todo = [s for s in by_key.values() if s.key not in done]

    def tasks() -> Iterator[Task]:
        for spec in todo:
            yield Task(spec.key, spec.label, spec.build(), spec.seed, spec.keep_timeseries)

    for key, ok, payload in executor.imap_unordered(tasks()):
        if ok:
            metrics, ts = payload
            store.write_run(key, {"key": key, "seed": by_key[key].seed, **metrics}, ts)
            session.runs_done += 1
        else:
            store.write_failure(key, by_key[key].label, str(payload))
            session.runs_failed += 1
        progress.update(ok)


def run_session(
    store: Store,
    specs: list[RunSpec],
    manifest: dict,
    header: Callable[[Executor, int], str],
    finish: Callable[[], Any],
    executor: Executor,
    *,
    quiet: bool,
):
    """One session in a started folder: record it, run what is missing, build the tables (``finish``).

    On Ctrl-C or SIGTERM the session is recorded as interrupted and :class:`Interrupted`
    (a KeyboardInterrupt) propagates. The caller owns (and closes) the executor.
    """
    session = Session(store, manifest, executor)
    done = len(store.done() & {s.key for s in specs})
    progress = Progress(len(specs), done, header(executor, done), quiet, warmup=executor.workers)
    try:
        execute(specs, store, executor, session, progress)
    except KeyboardInterrupt as exc:
        progress.close()
        signame = exc.args[0] if isinstance(exc, Interrupted) and exc.args else "SIGINT"
        session.end(stopped=f"interrupted ({signame})")
        raise
    except BaseException as exc:
        progress.close()
        session.end(stopped=f"error: {type(exc).__name__}: {exc}")
        raise
    progress.close()
    result = finish()
    session.end()
    return result
