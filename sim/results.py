"""Results of a run: metrics, a tidy time series, tables, and their folder on disk.

A results folder holds::

    scenario.toml        the fully resolved scenario (every default written out)
    manifest.json        qunsim version, seed, git commit, start/end time, wall time
    metrics.json         outcome figures (flat name -> value)
    timeseries.parquet   run keys, t (days), metric, value -- t is stored, never inferred
    agents.parquet       one row per clinician
    groups.parquet       one row per group
    memberships.parquet  one row per (clinician, group)
    facilities.parquet   one row per facility
    <process tables>     e.g. events.parquet, cases.parquet
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["Recorder", "Results", "OutputExistsError"]

SCENARIO_FILE = "scenario.toml"
MANIFEST_FILE = "manifest.json"
METRICS_FILE = "metrics.json"


class OutputExistsError(Exception):
    """The output folder is not empty and overwriting was not asked for."""


class Recorder:
    """Collects (t, metric, value) rows; ``at(t)`` sets the time of the rows that follow."""

    def __init__(self):
        self._t: list[float] = []
        self._metric: list[str] = []
        self._value: list[float] = []
        self._now = 0.0

    def at(self, t: float) -> None:
        self._now = float(t)

    def add(self, metric: str, value: float) -> None:
        self._t.append(self._now)
        self._metric.append(metric)
        self._value.append(float(value))

    def frame(self, **keys) -> pd.DataFrame:
        df = pd.DataFrame({"t": np.asarray(self._t, dtype=float), "metric": self._metric,
                           "value": np.asarray(self._value, dtype=float)})
        for i, (k, v) in enumerate(keys.items()):
            df.insert(i, k, v)
        return df


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


@dataclass
class Results:
    """What a run produced. ``save(dir)`` writes it; ``Results.load(dir)`` reads it back."""

    metrics: dict
    timeseries: pd.DataFrame
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    scenario_toml: str = ""
    manifest: dict = field(default_factory=dict)

    @property
    def scenario(self) -> dict:
        """The resolved scenario as a dict."""
        return tomllib.loads(self.scenario_toml) if self.scenario_toml else {}

    def __getattr__(self, name):  # results.agents, results.events, ...
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(name)

    def series(self, metric: str) -> pd.Series:
        """One metric of the time series, indexed by t."""
        df = self.timeseries[self.timeseries["metric"] == metric]
        return pd.Series(df["value"].to_numpy(), index=df["t"].to_numpy(), name=metric)

    def save(self, out: str | Path, overwrite: bool = False) -> Path:
        out = Path(out)
        if out.exists() and not out.is_dir():
            raise OutputExistsError(f"{out} exists and is not a folder")
        if out.exists() and any(out.iterdir()) and not overwrite:
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
        stage("timeseries.parquet", lambda p: self.timeseries.to_parquet(p, index=False))
        for name, df in self.tables.items():
            stage(f"{name}.parquet", lambda p, df=df: df.to_parquet(p, index=False))
        stage(MANIFEST_FILE, lambda p: p.write_text(json.dumps(_jsonable(self.manifest), indent=2)))
        for tmp, final in staged:
            tmp.replace(final)
        return out

    @classmethod
    def load(cls, folder: str | Path) -> "Results":
        folder = Path(folder)
        if not (folder / MANIFEST_FILE).exists():
            raise FileNotFoundError(f"{folder} is not a qunsim results folder (no {MANIFEST_FILE})")
        tables = {
            p.stem: pd.read_parquet(p)
            for p in sorted(folder.glob("*.parquet"))
            if p.stem != "timeseries"
        }
        return cls(
            metrics=json.loads((folder / METRICS_FILE).read_text()),
            timeseries=pd.read_parquet(folder / "timeseries.parquet"),
            tables=tables,
            scenario_toml=(folder / SCENARIO_FILE).read_text(),
            manifest=json.loads((folder / MANIFEST_FILE).read_text()),
        )
