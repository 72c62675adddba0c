"""Tables written to Parquet in chunks while a run goes on, so that memory stays flat.

A run given a results folder (``run(..., stream_to=folder)``, ``qunsim run --stream``)
streams its event log, its answers and its cases: the rows go to
``<folder>/.events.parquet.part.tmp`` (``.answers.parquet.part.tmp``,
``.cases.parquet.part.tmp``) every :data:`CHUNK_ROWS` rows (one Parquet file written
incrementally with pyarrow's ``ParquetWriter``, a row group per chunk, the schema of the
in-memory table written by ``DataFrame.to_parquet``). Events come in order of time; answers
are written once no answer still to come can start before them
(:func:`sim.processes.diagnosis.outputs.stream_answers`); cases in order of arrival, once
finished, and dropped from memory (:func:`sim.processes.diagnosis.outputs.stream_cases`). The
item states (a row per item and clinician) are written at the end, an item at a time
(:func:`sim.processes.information.outputs.item_states`). Hidden and ending in ``.tmp``, a
part file never looks like a result: :meth:`sim.results.Results.save` renames it to
``events.parquet`` together with the other files, and a run that fails removes it.

In the results, a streamed table is a :class:`StreamedTable` (a path); ``res.tables[name]``
reads it from disk when asked, and gives the same DataFrame as the in-memory run.

At the end of a streamed run, ``finish`` frees the run state its tables and metrics no
longer need and hands the freed memory back to the system (:func:`trim_heap`) before it
reads the tables back.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa
    import pyarrow.parquet as pq

    from .model import QunModel

__all__ = [
    "CHUNK_ROWS",
    "PARQUET_OPTIONS",
    "READ_OPTIONS",
    "Sink",
    "StreamedTable",
    "TableStream",
    "merge_sorted",
    "part_name",
    "stream_tables",
    "trim_heap",
]

#: rows a streamed log holds in memory before it writes them out (about 17 bytes a row for events)
CHUNK_ROWS = 1_000_000

#: how the Parquet files of a run are written. A column whose distinct values do not fit a
#: 64 KiB dictionary page (ids, times) goes plain after that page, not after 1 MiB of them:
#: writing takes about half the time (cases, answers and item states come out a few percent
#: smaller, the event log about a fifth larger; measured at 200,000 clinicians)
PARQUET_OPTIONS: dict = {"dictionary_pagesize_limit": 1 << 16}

#: how a streamed table is read back (``pd.read_parquet``): without pyarrow's pre-buffering of
#: whole row groups, and arrow's buffers freed column by column as pandas takes them over.
#: The same frame; at a million clinicians, reading the cases columns the metrics use peaks
#: about 100 MB lower and takes half the time, and the merge of late cases (read a batch at a
#: time) peaks at +0.3 GB instead of +0.8 GB
READ_OPTIONS: dict = {"pre_buffer": False, "to_pandas_kwargs": {"self_destruct": True, "split_blocks": True}}


def part_name(name: str) -> str:
    """The file a streamed table is written to until the results are saved."""
    return f".{name}.parquet.part.tmp"


@dataclass
class StreamedTable:
    """A table on disk (a Parquet file), read when asked."""

    path: Path
    rows: int | None = None  # None: read from the file's footer when asked

    def frame(self, columns: list[str] | None = None) -> pd.DataFrame:
        """The table (or only ``columns`` of it, for a figure that needs a few)."""
        import pyarrow as pa

        try:
            return pd.read_parquet(self.path, columns=columns, **READ_OPTIONS)
        finally:
            pa.default_memory_pool().release_unused()  # arrow's buffers are gone: give their pages back

    def __len__(self) -> int:
        if self.rows is None:
            import pyarrow.parquet as pq

            self.rows = int(pq.ParquetFile(self.path).metadata.num_rows)
        return self.rows


class TableStream:
    """One Parquet file written a chunk (a DataFrame) at a time; the schema is the first chunk's."""

    def __init__(self, folder: Path, name: str):
        self.name = name
        self.path = Path(folder) / part_name(name)
        self.rows = 0
        self._writer: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None

    def write(self, frame: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # the schema of an empty frame of the same columns: its pandas metadata is that of
            # DataFrame.to_parquet(index=False) on the whole table
            self._schema = pa.Schema.from_pandas(frame.iloc[:0], preserve_index=False)
            self._writer = pq.ParquetWriter(self.path, self._schema, **PARQUET_OPTIONS)
        if len(frame):
            self._writer.write_table(pa.Table.from_pandas(frame, schema=self._schema, preserve_index=False))
            self.rows += len(frame)
            pa.default_memory_pool().release_unused()  # the chunk's arrow copy is gone: give its pages back

    def close(self, last: pd.DataFrame) -> StreamedTable:
        """Write ``last`` (possibly empty: it gives the schema of a table never written) and close."""
        self.write(last)
        assert self._writer is not None
        self._writer.close()
        return StreamedTable(self.path, self.rows)

    def abort(self) -> None:
        """Close and remove the part file (a failed run)."""
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
        self.path.unlink(missing_ok=True)


def merge_sorted(table: StreamedTable, rows: pd.DataFrame, key: str) -> StreamedTable:
    """Merge ``rows`` into the file ``table``, both sorted by the distinct values of column
    ``key``: a quarter chunk of the file's rows at a time (and its rows due before them),
    into a new file that then replaces it. The merged file has the schema of the first."""
    import pyarrow.parquet as pq

    src = Path(table.path)
    tmp = src.with_name(src.name + ".merge.tmp")
    out = TableStream(src.parent, "")
    out.path = tmp
    keys = rows[key].to_numpy()
    taken = 0
    f = batch = part = None
    try:
        f = pq.ParquetFile(src, pre_buffer=False)  # see READ_OPTIONS
        for batch in f.iter_batches(batch_size=max(CHUNK_ROWS // 4, 1)):
            part = batch.to_pandas()
            if not len(part):
                continue
            upto = int(np.searchsorted(keys, part[key].to_numpy()[-1], side="right"))
            both = pd.concat([part, rows.iloc[taken:upto]], ignore_index=True)
            out.write(both.sort_values(key, kind="stable", ignore_index=True))
            taken = upto
        merged = out.close(rows.iloc[taken:].reset_index(drop=True))
    except BaseException:
        out.abort()
        raise
    finally:
        f = batch = part = None
        trim_heap()  # the batches read are gone: give their pages back
    tmp.replace(src)
    return StreamedTable(src, merged.rows)


@dataclass
class Sink:
    """Where a run streams its tables: a folder, and the streams opened in it."""

    folder: Path
    streams: list[TableStream] = field(default_factory=list)

    def __post_init__(self):
        self._made = not self.folder.exists()  # a failed run leaves no folder it made

    def open(self, name: str) -> TableStream:
        s = TableStream(self.folder, name)
        self.streams.append(s)
        return s

    def abort(self) -> None:
        for s in self.streams:
            s.abort()
        if self._made:
            with contextlib.suppress(OSError):
                self.folder.rmdir()  # only when empty


def stream_tables(model: QunModel, folder: str | Path) -> Sink:
    """Make the model's large logs stream to ``folder`` (call after building, before running).

    The model's ``finish`` then also frees the run state that its tables and metrics no
    longer need, before it reads the streamed tables back: the end of a large run does not
    hold both."""
    sink = Sink(Path(folder))
    model.streamed = True
    for comp in model.components:
        log = getattr(comp, "log", None)
        if comp.name == "information" and log is not None and log.enabled:
            log.stream(sink.open("events"))
        if comp.name == "information":
            comp.item_sink = sink.open("item_states")  # type: ignore[attr-defined]
        state = getattr(comp, "state", None) if comp.name == "diagnosis" else None
        if state is not None:
            state.answer_sink = sink.open("answers")
            state.case_sink = sink.open("cases")
            state.log_requests_lean()
            state.load_kernels()  # (the streamed run's own rare passes)
    return sink


def trim_heap() -> bool:
    """Hand the free pages of the C heap (glibc's ``malloc_trim``) and of pyarrow's memory
    pool, when pyarrow is loaded, back to the system. Whether the C heap could be trimmed:
    False where the C library has no such call."""
    arrow = sys.modules.get("pyarrow")
    if arrow is not None:
        arrow.default_memory_pool().release_unused()
    try:
        trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return False
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    trim(0)
    return True
