"""Results of a run: metrics, a tidy time series, tables, and their folder on disk.

A results folder holds::

    scenario.toml        the fully resolved scenario (every default written out)
    manifest.json        qunsim version, seed, git commit, start/end time, wall time
    metrics.json         outcome figures (flat name -> value) and summary lines
    metrics.parquet      the same figures, tidy: run keys, metric, item, tier, role, route, specialty, value
    timeseries.parquet   run keys, t (days), metric, item, tier, role, route, specialty, value
                         (dimensions are columns, null where they do not apply; t is stored)
    agents.parquet       one row per clinician
    groups.parquet       one row per group
    memberships.parquet  one row per (clinician, group)
    facilities.parquet   one row per facility
    <process tables>     e.g. events.parquet, cases.parquet

A streamed run (:mod:`sim.streaming`) holds its event log on disk: ``res.tables["events"]``
reads the Parquet file when asked; saving moves the file into place with the others.
"""

from __future__ import annotations

import json
import os
import shutil
import tomllib
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import OutputExistsError
from .paths import folder_is_empty
from .streaming import PARQUET_OPTIONS, StreamedTable

__all__ = [
    "DIMS",
    "Metrics",
    "OutputExistsError",
    "Recorder",
    "Results",
    "Tables",
    "folder_is_empty",
    "metric_name",
    "select",
]

SCENARIO_FILE = "scenario.toml"
MANIFEST_FILE = "manifest.json"
METRICS_FILE = "metrics.json"
METRICS_TABLE = "metrics.parquet"


DIMS = ("item", "tier", "role", "route", "specialty")


class Recorder:
    """Collects tidy time-series rows ``t, metric, <dims>, value``.

    ``at(t)`` sets the time of the rows that follow; ``add(metric, value, item=..., tier=...)``
    adds one row, its dimensions (:data:`DIMS`) given by name and null where they do not
    apply. Analysis selects by column, never by building metric names.
    """

    def __init__(self):
        self._t: list[float] = []
        self._metric: list[str] = []
        self._value: list[float] = []
        self._dims: dict[str, list[str | None]] = {d: [] for d in DIMS}
        self._now = 0.0

    def at(self, t: float) -> None:
        self._now = float(t)

    def add(
        self,
        metric: str,
        value: float,
        *,
        item: str | None = None,
        tier: str | None = None,
        role: str | None = None,
        route: str | None = None,
        specialty: str | None = None,
    ) -> None:
        self._t.append(self._now)
        self._metric.append(metric)
        self._value.append(float(value))
        d = self._dims
        d["item"].append(item)
        d["tier"].append(tier)
        d["role"].append(role)
        d["route"].append(route)
        d["specialty"].append(specialty)

    def frame(self, **keys) -> pd.DataFrame:
        return _tidy_frame(
            keys,
            {"t": np.asarray(self._t, dtype=float), "metric": self._metric},
            self._dims,
            np.asarray(self._value, dtype=float),
        )


def _tidy_frame(keys: dict, head: dict, dims: dict[str, list], value: np.ndarray) -> pd.DataFrame:
    cols: dict = dict(head)
    for d in DIMS:
        cols[d] = pd.array(dims[d], dtype="string")
    cols["value"] = value
    df = pd.DataFrame(cols)
    for i, (k, v) in enumerate(keys.items()):
        df.insert(i, k, v)
    return df


def metric_name(
    prefix: str,
    metric: str,
    *,
    item: str | None = None,
    tier: str | None = None,
    role: str | None = None,
    route: str | None = None,
    specialty: str | None = None,
) -> str:
    """The flat name of a metric in ``metrics.json``:
    ``<prefix>_[<item>_]<metric>[_<tier>][_<role>][_route_<route>][_spec_<specialty>]``."""
    parts = [prefix] if prefix else []
    if item is not None:
        parts.append(item)
    parts.append(metric)
    if tier is not None:
        parts.append(tier)
    if role is not None:
        parts.append(role)
    if route is not None:
        parts += ["route", route]
    if specialty is not None:
        parts += ["spec", specialty]
    return "_".join(parts)


class Metrics:
    """Outcome figures of a run, each with its dimensions.

    ``add(prefix, metric, value, **dims)`` stores one figure; :meth:`flat` gives the
    ``name -> value`` mapping written to ``metrics.json`` (names by :func:`metric_name`),
    :meth:`frame` the tidy table ``metric, <dims>, value`` written to ``metrics.parquet``.
    ``note(name, text)`` keeps a line of the printed summary (flat only).
    """

    def __init__(self):
        self._rows: list[tuple] = []
        self._names: dict[str, int] = {}
        self.notes: dict[str, str] = {}

    def add(
        self,
        prefix: str,
        metric: str,
        value,
        *,
        item: str | None = None,
        tier: str | None = None,
        role: str | None = None,
        route: str | None = None,
        specialty: str | None = None,
    ) -> None:
        name = metric_name(prefix, metric, item=item, tier=tier, role=role, route=route, specialty=specialty)
        full = f"{prefix}_{metric}" if prefix else metric
        row = (name, full, item, tier, role, route, specialty, value)
        if name in self._names:
            self._rows[self._names[name]] = row
        else:
            self._names[name] = len(self._rows)
            self._rows.append(row)

    def note(self, name: str, text: str) -> None:
        self.notes[name] = text

    def __getitem__(self, name: str):
        return self._rows[self._names[name]][-1]

    def get(self, name: str, default=None):
        i = self._names.get(name)
        return default if i is None else self._rows[i][-1]

    def __contains__(self, name: str) -> bool:
        return name in self._names

    def flat(self) -> dict:
        out = {row[0]: row[-1] for row in self._rows}
        out.update(self.notes)
        return out

    def frame(self, **keys) -> pd.DataFrame:
        rows = self._rows
        dims = {d: [r[2 + k] for r in rows] for k, d in enumerate(DIMS)}
        value = np.array([np.nan if r[-1] is None else float(r[-1]) for r in rows], dtype=float)
        return _tidy_frame(keys, {"metric": [r[1] for r in rows]}, dims, value)


def select(frame: pd.DataFrame, metric: str, **dims: str | None) -> pd.DataFrame:
    """Rows of a tidy frame (time series or metrics table) for ``metric`` and ``dims``."""
    unknown = set(dims) - set(DIMS)
    if unknown:
        raise ValueError(f"unknown dimension(s) {sorted(unknown)}; dimensions are {DIMS}")
    keep = (frame["metric"] == metric).to_numpy(dtype=bool, copy=True)
    for dim, value in dims.items():
        col = frame[dim]
        keep &= (col.isna() if value is None else (col == value).fillna(False)).to_numpy(bool)
    return frame[keep]


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return None if not np.isfinite(v) else v
    if isinstance(value, np.bool_):
        return bool(value)
    return value


class Tables(MutableMapping):
    """The tables of a run by name: DataFrames, and tables on disk (:class:`StreamedTable`)
    that are read each time they are asked for (``tables[name]``); :meth:`raw` gives either
    as it is held."""

    def __init__(self, tables: Mapping[str, pd.DataFrame | StreamedTable] | None = None):
        self._tables: dict[str, pd.DataFrame | StreamedTable] = {}
        if tables is not None:
            for name in tables:  # as held, not read
                self._tables[name] = tables.raw(name) if isinstance(tables, Tables) else tables[name]

    def raw(self, name: str) -> pd.DataFrame | StreamedTable:
        return self._tables[name]

    def __getitem__(self, name: str) -> pd.DataFrame:
        table = self._tables[name]
        return table.frame() if isinstance(table, StreamedTable) else table

    def __setitem__(self, name: str, table: pd.DataFrame | StreamedTable) -> None:
        self._tables[name] = table

    def __delitem__(self, name: str) -> None:
        del self._tables[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tables)

    def __len__(self) -> int:
        return len(self._tables)

    def __repr__(self) -> str:
        return f"Tables({list(self._tables)})"


@dataclass
class Results:
    """What a run produced. ``save(dir)`` writes it; ``Results.load(dir)`` reads it back."""

    metrics: dict
    timeseries: pd.DataFrame
    tables: Tables = field(default_factory=Tables)
    scenario_toml: str = ""
    manifest: dict = field(default_factory=dict)
    metrics_table: pd.DataFrame | None = None

    def __post_init__(self):
        if not isinstance(self.tables, Tables):
            self.tables = Tables(self.tables)

    @property
    def scenario(self) -> dict:
        """The resolved scenario as a dict."""
        return tomllib.loads(self.scenario_toml) if self.scenario_toml else {}

    def __getattr__(self, name):  # results.agents, results.events, ...
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(name)

    def table(self, name: str) -> pd.DataFrame:
        """The table ``name`` (a streamed one is read from its file)."""
        return self.tables[name]

    def select(self, metric: str, **dims: str | None) -> pd.DataFrame:
        """Rows of the time series for ``metric`` whose dimensions equal ``dims``
        (``item="g1", tier="primary"``; a dimension given as None must be null)."""
        return select(self.timeseries, metric, **dims)

    def series(self, metric: str, **dims: str | None) -> pd.Series:
        """One curve of the time series, indexed by t (``res.series("p_aware", item="g1", tier="primary")``)."""
        df = self.select(metric, **dims)
        return pd.Series(df["value"].to_numpy(), index=df["t"].to_numpy(), name=metric)

    def save(self, out: str | Path, overwrite: bool = False) -> Path:
        out = Path(out)
        if out.exists() and not out.is_dir():
            raise OutputExistsError(f"{out} exists and is not a folder")
        if out.exists() and not folder_is_empty(out) and not overwrite:
            raise OutputExistsError(
                f"{out} is not empty; choose another --out or pass --overwrite to replace its results"
            )
        out.mkdir(parents=True, exist_ok=True)
        # write to temporary names, then move into place: a failure leaves no half folder
        staged = []

        def stage(name: str, write):
            tmp = out / f".{name}.tmp"
            write(tmp)
            staged.append((tmp, out / name))

        stage(SCENARIO_FILE, lambda p: p.write_text(self.scenario_toml))
        stage(METRICS_FILE, lambda p: p.write_text(json.dumps(_jsonable(self.metrics), indent=2)))
        if self.metrics_table is not None:
            stage(METRICS_TABLE, lambda p: self.metrics_table.to_parquet(p, index=False, **PARQUET_OPTIONS))
        stage("timeseries.parquet", lambda p: self.timeseries.to_parquet(p, index=False, **PARQUET_OPTIONS))
        moved: list[tuple[StreamedTable, Path]] = []
        for name in self.tables:
            table = self.tables.raw(name)
            if isinstance(table, StreamedTable):
                stage(f"{name}.parquet", lambda p, table=table: _place(table, p))
                moved.append((table, out / f"{name}.parquet"))
            else:
                stage(f"{name}.parquet", lambda p, df=table: df.to_parquet(p, index=False, **PARQUET_OPTIONS))
        stage(MANIFEST_FILE, lambda p: p.write_text(json.dumps(_jsonable(self.manifest), indent=2)))
        keep = {p.name for pair in staged for p in pair}
        for old in out.iterdir():  # --overwrite: nothing of an earlier run stays behind
            if old.is_file() and old.name not in keep:
                old.unlink()
        for tmp, final in staged:
            tmp.replace(final)
        for table, final in moved:
            table.path = final
        return out

    @classmethod
    def load(cls, folder: str | Path, lazy: bool = False) -> Results:
        """The results in ``folder``; ``lazy``: its tables are read when asked for."""
        folder = Path(folder)
        if not (folder / MANIFEST_FILE).exists():
            raise FileNotFoundError(f"{folder} is not a qunsim results folder (no {MANIFEST_FILE})")
        tables = Tables(
            {
                p.stem: StreamedTable(p) if lazy else pd.read_parquet(p)
                for p in sorted(folder.glob("*.parquet"))
                if p.name not in ("timeseries.parquet", METRICS_TABLE)
            }
        )
        table = folder / METRICS_TABLE
        return cls(
            metrics=json.loads((folder / METRICS_FILE).read_text()),
            timeseries=pd.read_parquet(folder / "timeseries.parquet"),
            tables=tables,
            scenario_toml=(folder / SCENARIO_FILE).read_text(),
            manifest=json.loads((folder / MANIFEST_FILE).read_text()),
            metrics_table=pd.read_parquet(table) if table.exists() else None,
        )


def _place(table: StreamedTable, tmp: Path) -> None:
    """Put a streamed table's file at ``tmp``: moved when on the same file system, else copied."""
    src = table.path
    if src.parent.resolve() == tmp.parent.resolve() and src.name.endswith(".tmp"):
        os.replace(src, tmp)  # its own part file: no copy of a large file
        table.path = tmp
    else:
        shutil.copyfile(src, tmp)
