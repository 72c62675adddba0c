"""The experiment folder: a store of finished runs that survives being killed at any moment.

Layout of a folder written by ``qunsim experiment`` or ``qunsim sweep``::

    plan.json            what the experiment runs: its fingerprint and every run's key, in order
    manifest.json        provenance: versions, git commit, executor, start/end of every session
    parts/<key>.json         one finished run: its seed and metrics
    parts/<key>.ts.parquet   its time series (when kept)
    failures/<key>.log       the traceback of a run that raised
    runs.parquet, ...        the final tables, built from the parts when every run is in

Each finished run is written at once, atomically: to a hidden temporary name, then renamed,
the metrics row last, so a run is either complete on disk or absent. A run's key is a hash of
its resolved settings and seed, so ``--resume`` runs exactly the runs that are missing, and
refuses a folder whose plan differs (the experiment or its scenario changed). Hidden
``.*.tmp`` files left by a killed write are removed when the folder is opened again and
never make a folder count as "not empty". One process at a time works in a folder (a lock
that the operating system releases when its holder dies).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..results import OutputExistsError
from ..schema import ScenarioError

__all__ = ["Plan", "Store", "atomic_write", "check_output", "folder_status", "format_status", "is_ignorable"]

PLAN_FILE = "plan.json"
MANIFEST_FILE = "manifest.json"
LOCK_FILE = ".qunsim.lock"
PARTS = "parts"
FAILURES = "failures"


def is_ignorable(path: Path) -> bool:
    """Temporary files of an interrupted write and the lock file: never block a re-run."""
    return path.name == LOCK_FILE or (path.name.startswith(".") and path.name.endswith(".tmp"))


def _empty(folder: Path) -> bool:
    return all(is_ignorable(p) for p in folder.iterdir())


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """``write(tmp)`` to a hidden temporary name beside ``path``, flush it to disk, rename."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def check_output(out: Path) -> None:
    """The output folder can be created and written, else ScenarioError naming the path and why."""
    out = Path(out)
    for parent in [out, *out.parents]:
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                what = "is" if parent == out else f"lies below {parent}, which is"
                raise ScenarioError(f"--out {out}: {what} a file, not a folder; choose another --out")
            break
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".write-test.{os.getpid()}.tmp"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            reason += "; the folder is read-only for this user"
        raise ScenarioError(f"--out {out}: cannot write there ({reason}); choose another --out") from None


@dataclass
class Plan:
    """What an experiment runs: one entry per distinct run, in the order of its tables."""

    kind: str  # "experiment" or "sweep"
    name: str
    source: str  # the experiment or sweep file
    fingerprint: str  # changes when anything that affects a run changes
    keys: list[str]
    labels: list[str]  # human names of the runs ("baseline r3", "point 17 r0")
    extra: dict = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {
                "kind": self.kind,
                "name": self.name,
                "source": self.source,
                "fingerprint": self.fingerprint,
                "runs": [{"key": k, "label": lab} for k, lab in zip(self.keys, self.labels, strict=True)],
                **self.extra,
            },
            indent=1,
        )

    @classmethod
    def read(cls, folder: Path) -> Plan:
        raw = json.loads((folder / PLAN_FILE).read_text())
        runs = raw.pop("runs")
        base = {k: raw.pop(k) for k in ("kind", "name", "source", "fingerprint")}
        return cls(**base, keys=[r["key"] for r in runs], labels=[r["label"] for r in runs], extra=raw)


class Store:
    """A folder of run parts. Open it with :meth:`prepare` then :meth:`start`; only that process writes to it."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.parts = self.folder / PARTS
        self.failures = self.folder / FAILURES
        self._lock_fd: int | None = None
        self._plan: Plan | None = None
        self._overwrite = False
        self._resume_plan = False

    # ------------------------------------------------------------- opening
    @classmethod
    def prepare(cls, folder: str | Path, plan: Plan, *, overwrite: bool = False, resume: bool = False) -> Store:
        """Check ``folder`` for ``plan`` and lock it, changing nothing in it yet (:meth:`start` does).

        A new or empty folder is fine; ``overwrite`` empties a qunsim folder; ``resume``
        continues the same plan. Anything else raises, naming the folder and what to do.
        """
        folder = Path(folder)
        check_output(folder)
        store = cls(folder)
        store._lock()
        try:
            has_plan = (folder / PLAN_FILE).is_file()
            if overwrite and not _empty(folder):
                if not has_plan and not (folder / MANIFEST_FILE).is_file():
                    raise OutputExistsError(
                        f"{folder} is not a qunsim results folder (no {PLAN_FILE} or {MANIFEST_FILE}); "
                        "refusing to empty it: choose another --out"
                    )
            elif resume and has_plan:
                old = Plan.read(folder)
                if old.fingerprint != plan.fingerprint:
                    raise OutputExistsError(
                        f"{folder} holds a different {old.kind} ({old.source}, {len(old.keys)} runs): the {plan.kind} "
                        "file, its scenario or --replicates changed since; pass --overwrite to start over or "
                        "choose another --out"
                    )
            elif not _empty(folder):
                if has_plan:
                    old = Plan.read(folder)
                    n_done = len(store.done() & set(old.keys))
                    raise OutputExistsError(
                        f"{folder} already holds a {old.kind} ({n_done} of {len(old.keys)} runs done); pass --resume "
                        "to continue it or --overwrite to start over"
                    )
                raise OutputExistsError(f"{folder} is not empty; choose another --out or pass --overwrite")
        except BaseException:
            store.close()
            raise
        store._plan = plan
        store._overwrite = overwrite
        store._resume_plan = resume and has_plan
        return store

    def start(self) -> None:
        """Empty the folder (``overwrite``), remove leftover temporary files, write the plan."""
        if self._overwrite:
            self._empty_folder()
        self.clean_temporaries()
        self.parts.mkdir(exist_ok=True)
        self.failures.mkdir(exist_ok=True)
        if not self._resume_plan:
            plan = self._plan
            assert plan is not None, "prepare() first"
            atomic_write(self.folder / PLAN_FILE, lambda p: p.write_text(plan.to_json()))

    def _lock(self) -> None:
        import fcntl

        fd = os.open(self.folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise OutputExistsError(
                f"{self.folder} is in use by another qunsim process (pid {holder}); wait for it or choose another --out"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._lock_fd = fd

    def close(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the lock
            self._lock_fd = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _empty_folder(self) -> None:
        for p in self.folder.iterdir():
            if p.name == LOCK_FILE:
                continue
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()

    def clean_temporaries(self) -> int:
        """Remove hidden ``.*.tmp`` files left by writes that were killed; returns how many."""
        n = 0
        for sub in (self.folder, self.parts, self.failures):
            if sub.is_dir():
                for p in sub.glob(".*.tmp"):
                    with contextlib.suppress(OSError):
                        p.unlink()
                        n += 1
        return n

    # ------------------------------------------------------------ contents
    def done(self) -> set[str]:
        """Keys of the runs that are complete on disk."""
        if not self.parts.is_dir():
            return set()
        return {p.stem for p in self.parts.glob("*.json")}

    def failed(self) -> set[str]:
        """Keys of the runs whose last attempt raised (and that are not done since)."""
        if not self.failures.is_dir():
            return set()
        return {p.stem for p in self.failures.glob("*.log")} - self.done()

    def write_run(self, key: str, row: dict, timeseries: pd.DataFrame | None = None) -> None:
        """Store one finished run: its time series first, then its metrics row (the 'done' mark).

        The row is JSON (floats written exactly, NaN as null): a one-row Parquet file of a
        few hundred columns would be a hundred times larger.
        """
        if timeseries is not None:
            atomic_write(self.parts / f"{key}.ts.parquet", lambda p: timeseries.to_parquet(p, index=False))
        clean = {k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
        text = json.dumps(clean, allow_nan=False)
        atomic_write(self.parts / f"{key}.json", lambda p: p.write_text(text))
        with contextlib.suppress(FileNotFoundError):
            (self.failures / f"{key}.log").unlink()

    def write_failure(self, key: str, label: str, text: str) -> None:
        atomic_write(self.failures / f"{key}.log", lambda p: p.write_text(f"{label}\n\n{text}"))

    def row(self, key: str) -> dict:
        return json.loads((self.parts / f"{key}.json").read_text())

    def timeseries(self, key: str) -> pd.DataFrame | None:
        path = self.parts / f"{key}.ts.parquet"
        return pd.read_parquet(path) if path.exists() else None

    def rows(self, keys: Iterable[str]) -> pd.DataFrame:
        """The metrics rows of ``keys`` that are done, in that order (one row per key; metrics as floats)."""
        done = self.done()
        records = [self.row(k) for k in dict.fromkeys(keys) if k in done]
        frame = pd.DataFrame.from_records(records) if records else pd.DataFrame({"key": pd.Series(dtype=str)})
        metrics = [c for c in frame.columns if c not in ("key", "seed")]
        return frame.astype(dict.fromkeys(metrics, "float64"))


def write_streamed(path: Path, frames: Iterable[pd.DataFrame]) -> int:
    """Concatenate ``frames`` into one Parquet file without holding them all; returns the rows written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = 0

    def write(tmp: Path) -> None:
        nonlocal rows
        writer = None
        try:
            for df in frames:
                table = pa.Table.from_pandas(df, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema)
                elif table.schema != writer.schema:
                    table = table.cast(writer.schema)
                writer.write_table(table)
                rows += len(df)
        finally:
            if writer is not None:
                writer.close()
        if writer is None:
            pd.DataFrame().to_parquet(tmp)

    atomic_write(path, write)
    return rows


# ------------------------------------------------------------------ status
def lock_holder(folder: Path) -> str | None:
    """The pid of the qunsim process working in ``folder`` now (None when none is)."""
    import fcntl

    path = folder / LOCK_FILE
    if not path.is_file():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return os.read(fd, 32).decode(errors="replace").strip() or "?"
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def folder_status(folder: str | Path) -> dict:
    """What a folder holds: its plan, and how many runs are done, failed and missing."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ScenarioError(f"--status {folder}: no such folder")
    if not (folder / PLAN_FILE).is_file():
        raise ScenarioError(f"--status {folder}: not an experiment or sweep folder (no {PLAN_FILE})")
    plan = Plan.read(folder)
    store = Store(folder)
    done, failed = store.done(), store.failed()
    keys = set(plan.keys)
    manifest = {}
    if (folder / MANIFEST_FILE).is_file():
        manifest = json.loads((folder / MANIFEST_FILE).read_text())
    sessions = manifest.get("sessions", [])
    complete = bool(sessions) and sessions[-1].get("finished_utc") is not None and not (keys - done)
    return {
        "running": lock_holder(folder),
        "folder": str(folder),
        "kind": plan.kind,
        "name": plan.name,
        "source": plan.source,
        "planned": len(plan.keys),
        "distinct": len(keys),
        "done": sum(k in done for k in plan.keys),
        "failed": sorted(plan.labels[i] for i, k in enumerate(plan.keys) if k in failed),
        "failed_logs": sorted(str(store.failures / f"{k}.log") for k in keys & failed),
        "missing": sorted(plan.labels[i] for i, k in enumerate(plan.keys) if k not in done and k not in failed),
        "complete": complete,
        "sessions": sessions,
    }


def format_status(st: dict) -> str:
    distinct = f" ({st['distinct']} distinct: identical runs are run once)" if st["distinct"] != st["planned"] else ""
    lines = [
        f"{st['folder']}: {st['kind']} {st['name']!r} ({st['source']})",
        f"  runs: {st['planned']} planned{distinct}, {st['done']} done, {len(st['failed'])} failed, "
        f"{len(st['missing'])} missing",
    ]
    if st["failed"]:
        shown = ", ".join(st["failed"][:10]) + (" ..." if len(st["failed"]) > 10 else "")
        lines.append(f"  failed: {shown} (tracebacks in {Path(st['folder']) / FAILURES})")
    if st["missing"]:
        shown = ", ".join(st["missing"][:10]) + (" ..." if len(st["missing"]) > 10 else "")
        lines.append(f"  missing: {shown}")
    running = st.get("running")
    for k, s in enumerate(st["sessions"]):
        live = running is not None and k == len(st["sessions"]) - 1 and not s.get("finished_utc")
        end = (
            f"running now (pid {running})"
            if live
            else s.get("finished_utc") or f"stopped ({s.get('stopped', 'killed')})"
        )
        ex = s.get("executor") or {}
        lines.append(
            f"  session: {s.get('started_utc')} -> {end}, {s.get('runs_done', '?')} runs on {ex.get('kind')} "
            f"({ex.get('workers')} workers)"
        )
    if st["complete"]:
        lines.append("  complete: every run is in and the tables are written")
    elif running is not None:
        lines.append(f"  running: process {running} is working in this folder; ask again later")
    else:
        lines.append(f"  incomplete: continue with  qunsim {st['kind']} {st['source']} --out {st['folder']} --resume")
    return "\n".join(lines)
