"""A small growable columnar table: named numpy columns, each of a fixed dtype.

The processes keep logs and queues of records (events, pending deliveries, requests)
as columns rather than rows. :class:`Table` holds them::

    log = Table({"sender": np.int32, "receiver": np.int32, "t": np.float32})
    log.append(sender=senders, receiver=receivers, t=now)     # arrays, or scalars for all rows
    new = log.grow(k)                                         # k rows, a view of each column's
    log["sender"]                                             # a view of the filled part
    late = log.take(log["t"] > 3)                             # a new table (copies)
    log.keep(log["receiver"] >= 0)                            # drop rows in place
    frame = log.to_frame()                                    # a pandas DataFrame (copies)

A column may have a default (``defaults``): an append may leave it out, and its new rows
take the default. Rows that leave get the defaults written over them, and so do the rows an
append reaches for the first time in a buffer: past the rows held, the buffer holds the
defaults up to the furthest row filled (and :data:`FILL_AHEAD` rows more), so an append
there writes only the columns it is given (and the pages of a grown buffer are touched only
as rows reach them).

Appending is amortized O(rows appended): each column is a buffer that doubles when full,
so many small appends cost about as much as one large one. Values are cast to the
column's dtype (as numpy assignment casts). A view from ``table[name]`` is valid until
the next ``append``, ``keep`` or ``clear``; take a copy to keep it longer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, DTypeLike

__all__ = ["Table", "row_count"]

_MIN_CAPACITY = 16
#: rows past an append that reaches them for the first time that get the defaults with its own
FILL_AHEAD = 4096


class Table:
    """Named numpy columns of equal length, appended in bulk.

    ``spec`` maps each column name to its dtype, in column order. ``capacity`` reserves
    room for that many rows. ``defaults`` maps some columns to the value an append that
    leaves them out gives them.
    """

    __slots__ = ("_cap", "_clean", "_cols", "_defaults", "_n", "_required", "spec")

    def __init__(self, spec: Mapping[str, DTypeLike], capacity: int = 0, defaults: Mapping[str, Any] | None = None):
        self.spec: dict[str, np.dtype] = _normalized(spec)
        self._defaults = _checked_defaults(self.spec, defaults)
        self._required = _required(self.spec, self._defaults)  # what an append must give
        if capacity:
            self._cols = {name: np.empty(capacity, dtype) for name, dtype in self.spec.items()}
        else:  # nothing is ever written into a zero-length buffer: share one per dtype
            self._cols = {name: _empty(dtype) for name, dtype in self.spec.items()}
        self._n = 0
        self._cap = capacity  # rows of every buffer (kept: appends are on hot paths)
        self._clean = 0  # the rows from the last one held to this one hold the defaults

    @classmethod
    def _of(cls, spec: dict[str, np.dtype], cols: dict[str, np.ndarray], n: int, like: Table | None = None) -> Table:
        """A table over ``cols`` as they are (no checks, no copies), with the defaults of the
        table ``like`` (none without it)."""
        out = object.__new__(cls)
        out.spec, out._cols, out._n, out._clean = spec, cols, n, n
        out._defaults, out._required = (like._defaults, like._required) if like is not None else ({}, spec.keys())
        out._cap = next(iter(cols.values())).size if cols else 0
        return out

    @property
    def defaults(self) -> dict[str, Any]:
        """The columns an append may leave out, and the value they then take."""
        return dict(self._defaults)

    # ------------------------------------------------------------------ reading
    @property
    def names(self) -> tuple[str, ...]:
        """The column names, in order."""
        return tuple(self.spec)

    def __len__(self) -> int:
        return self._n

    @property
    def capacity(self) -> int:
        """Rows the buffers hold before they grow."""
        return self._cap

    def __getitem__(self, name: str) -> np.ndarray:
        """A view of the filled part of column ``name``."""
        return self._cols[name][: self._n]

    def columns(self) -> tuple[np.ndarray, ...]:
        """Views of every column, in order (e.g. ``NamedTuple(*table.columns())``)."""
        n = self._n
        return tuple([col[:n] for col in self._cols.values()])

    def __repr__(self) -> str:
        cols = ", ".join(f"{k}: {v}" for k, v in self.spec.items())
        return f"Table({self._n} rows; {cols})"

    # ------------------------------------------------------------------ writing
    def append(self, rows: Mapping[str, ArrayLike] | Sequence[ArrayLike] | None = None, **columns: ArrayLike) -> None:
        """Append rows given as one value per column: by name (a mapping, or keywords) or
        in column order (a sequence such as a named tuple). A value is an array of the
        rows' length or a scalar for all of them; at least one must be an array."""
        values = self._by_name(rows, columns)
        k = row_count(values.items())
        if k == 0:
            return
        n = self._n
        end = n + k
        if end > self._cap:
            self._reserve(end)
        if self._defaults and end > self._clean:  # rows reached for the first time in this buffer
            ahead = min(self._cap, end + FILL_AHEAD)  # a table that grows by small appends: a fill now and then
            self._fill(max(n, self._clean), ahead)
            self._clean = ahead
        cols = self._cols
        for name, v in values.items():
            cols[name][n:end] = v
        self._n = end

    def grow(self, k: int) -> tuple[np.ndarray, ...]:
        """Add ``k`` rows and return a view of them in every column, in column order, for the
        caller to fill (a log that writes a few columns on a hot path: no mapping, no checks);
        the columns with defaults hold them there, the others hold garbage until written."""
        n = self._n
        end = n + k
        if end > self._cap:
            self._reserve(end)
        if self._defaults and end > self._clean:
            ahead = min(self._cap, end + FILL_AHEAD)
            self._fill(max(n, self._clean), ahead)
            self._clean = ahead
        self._n = end
        return tuple([col[n:end] for col in self._cols.values()])

    def extend(self, other: Table) -> None:
        """Append the rows of ``other`` (a table with the same columns)."""
        self._check_same(other)
        if len(other):
            self.append(other.columns())

    def keep(self, mask: np.ndarray) -> None:
        """Keep only the rows where ``mask`` (bool, one per row) is true, in order, in place."""
        mask = np.asarray(mask)
        if mask.dtype != bool or mask.shape != (self._n,):
            raise ValueError(f"keep: need a bool mask of {self._n} rows, got {mask.dtype} {mask.shape}")
        n, m = self._n, 0
        compact = _compactor()
        for col in self._cols.values():
            if col.dtype in _COMPILED_DTYPES:
                m = compact(col[:n], mask)
            else:
                kept = col[:n][mask]
                m = kept.size
                col[:m] = kept
        self._n = m
        self._fill(m, n)

    def truncate(self, n: int) -> None:
        """Keep the first ``n`` rows (the rows were compacted in place, e.g. by a compiled
        pass over the views ``table[name]``)."""
        if not 0 <= n <= self._n:
            raise ValueError(f"truncate: {n} rows asked of a table of {self._n}")
        self._fill(n, self._n)
        self._n = int(n)

    def clear(self) -> None:
        """Remove every row (the buffers stay allocated)."""
        self._fill(0, self._n)
        self._n = 0

    def shrink(self, capacity: int) -> None:
        """Cut the buffers to ``capacity`` rows (at least the rows held), giving back the room
        a burst of rows left (the buffers only grow otherwise). Views taken before stay
        valid but no longer belong to the table."""
        capacity = max(int(capacity), self._n, _MIN_CAPACITY)
        if capacity < self._cap:
            self._resize(capacity)

    # ------------------------------------------------------------------ new tables
    def take(self, index: np.ndarray) -> Table:
        """A new table of the rows ``index`` (a bool mask, or positions in any order)."""
        n = self._n
        index = np.asarray(index)
        if index.dtype == bool and len(self._cols) > 1:  # the positions once, not a mask pass per column
            if index.shape != (n,):
                raise IndexError(f"take: a bool mask of {index.shape} for a table of {n} rows")
            index = np.flatnonzero(index)
        cols = {name: np.ascontiguousarray(col[:n][index]) for name, col in self._cols.items()}
        return Table._of(self.spec, cols, next(iter(cols.values())).size, self)

    def empty_like(self) -> Table:
        """A new empty table with the same columns (and defaults)."""
        return Table(self.spec, defaults=self._defaults)

    @staticmethod
    def concat(tables: Iterable[Table]) -> Table:
        """The rows of several tables with the same columns, one after the other."""
        tables = list(tables)
        if not tables:
            raise ValueError("concat: no tables")
        first = tables[0]
        for t in tables[1:]:
            first._check_same(t)
        out = Table(first.spec, capacity=sum(len(t) for t in tables), defaults=first._defaults)
        for t in tables:
            out.extend(t)
        return out

    @classmethod
    def wrap(cls, spec: Mapping[str, DTypeLike], columns: Sequence[np.ndarray]) -> Table:
        """A table over the arrays ``columns`` (in column order, e.g. a named tuple)
        themselves, without copying them: they must be 1-d, of one length and of the
        spec's dtypes. The table then owns them (it writes into them on ``keep`` and
        replaces them when it grows): hand over fresh arrays only."""
        known = _WRAPPED.get(id(spec))
        if known is None or known[0] is not spec:  # (a spec is a constant: normalized once)
            norm = _normalized(spec)
            known = _WRAPPED[id(spec)] = (spec, norm, tuple(norm.values()))
        _, spec, dtypes = known
        # the usual case in one pass (this is on hot paths); anything else is told apart below
        if len(columns) == len(dtypes) and type(columns[0]) is np.ndarray:
            shape = columns[0].shape
            if len(shape) == 1 and all(
                type(v) is np.ndarray and v.shape == shape and v.dtype == d
                for v, d in zip(columns, dtypes, strict=True)
            ):
                return cls._of(spec, dict(zip(spec, columns, strict=True)), shape[0])
        if len(columns) != len(spec):
            raise ValueError(f"wrap: {len(columns)} columns given, the table has {len(spec)}")
        try:
            given, shapes = tuple([v.dtype for v in columns]), {v.shape for v in columns}
        except AttributeError:
            raise TypeError("wrap: the columns must be numpy arrays") from None
        if given != dtypes or any(len(shape) != 1 for shape in shapes):
            raise TypeError(f"wrap: need 1-d arrays of dtypes {list(dtypes)}, got {list(given)}")
        if len(shapes) != 1:
            raise ValueError(f"wrap: the columns differ in length: {sorted(shapes)}")
        return cls._of(spec, dict(zip(spec, columns, strict=True)), shapes.pop()[0])

    def to_frame(self) -> pd.DataFrame:
        """The table as a pandas DataFrame (its own copy of the data)."""
        return pd.DataFrame({name: col[: self._n].copy() for name, col in self._cols.items()})

    # ------------------------------------------------------------------ internals
    def _by_name(self, rows: Any, columns: dict[str, Any]) -> dict[str, Any]:
        if rows is None:
            values = columns
        elif columns:
            raise TypeError("append: give the columns either as one argument or as keywords, not both")
        elif type(rows) is dict:  # (read, not kept: no copy needed)
            values = rows
        elif isinstance(rows, Mapping):
            values = dict(rows)
        else:
            if len(rows) != len(self.spec):
                raise ValueError(f"append: {len(rows)} columns given in order, the table has {len(self.spec)}")
            values = dict(zip(self.spec, rows, strict=True))
        keys = values.keys()
        # the columns left out take their defaults (the buffer holds them); set comparisons of
        # the key views, no sets made (this is on hot paths)
        if keys != self.spec.keys() and not (keys <= self.spec.keys() and keys >= self._required):
            missing, extra = self._required - keys, keys - self.spec.keys()
            raise KeyError(f"append: columns missing {sorted(missing)}, unknown {sorted(extra)}")
        return values

    def _reserve(self, rows: int) -> None:
        cap = self.capacity
        if rows <= cap:
            return
        self._resize(max(2 * cap, rows, _MIN_CAPACITY))

    def _resize(self, cap: int) -> None:
        """New buffers of ``cap`` rows holding the rows held."""
        n = self._n
        for name, col in self._cols.items():
            buf = np.empty(cap, col.dtype)
            buf[:n] = col[:n]
            self._cols[name] = buf
        self._cap = cap
        self._clean = n

    def _fill(self, start: int, stop: int) -> None:
        """Write the defaults into rows ``[start, stop)`` of the buffers (rows not held)."""
        if stop > start:
            for name, value in self._defaults.items():
                self._cols[name][start:stop] = value

    def _check_same(self, other: Table) -> None:
        if other.spec != self.spec:
            raise ValueError(f"tables differ in columns: {self.spec} vs {other.spec}")


#: column dtypes that ``keep`` compacts with the compiled pass (others: numpy's mask)
_COMPILED_DTYPES = frozenset(
    np.dtype(t) for t in (np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
                          np.uint64, np.float32, np.float64)
)  # fmt: skip
_COMPACT: list = []  # the compiled compaction, once imported (numba is not imported with the package)


def _compactor():
    """:func:`sim.kernels.compact_in_place`, imported at the first ``keep``."""
    if not _COMPACT:
        from .kernels import compact_in_place

        _COMPACT.append(compact_in_place)
    return _COMPACT[0]


def _checked_defaults(spec: dict[str, np.dtype], defaults: Mapping[str, Any] | None) -> dict[str, Any]:
    """``defaults`` of columns of ``spec``, as scalars of their dtypes."""
    if not defaults:
        return {}
    unknown = defaults.keys() - spec.keys()
    if unknown:
        raise KeyError(f"defaults for columns the table does not have: {sorted(unknown)}")
    out = {}
    for name, value in defaults.items():
        if np.ndim(value):
            raise ValueError(f"the default of column {name!r} must be a scalar, got {value!r}")
        out[name] = np.asarray(value, dtype=spec[name])[()]  # a value the dtype cannot hold is refused
    return out


def _required(spec: dict[str, np.dtype], defaults: dict[str, Any]):
    """The columns without a default: the spec's keys themselves (no set made) when none has one."""
    return frozenset(spec.keys() - defaults.keys()) if defaults else spec.keys()


class _Spec(dict):
    """A table spec whose dtypes are numpy dtypes (normalized once, then shared)."""


def row_count(values: Iterable[tuple[str, Any]], what: str = "append") -> int:
    """The rows that the ``(column, value)`` pairs ``values`` give: the length of the arrays
    among them, which must be equal (a scalar holds for every row; at least one array)."""
    k = -1
    for name, v in values:
        if type(v) is np.ndarray:  # the usual case: no np.ndim call (this is on hot paths)
            if not v.ndim:
                continue
            size = v.size
        elif type(v) is int or type(v) is float or isinstance(v, np.generic) or not np.ndim(v):
            continue
        else:
            size = np.size(v)
        if k < 0:
            k = size
        elif size != k:
            raise ValueError(f"column {name!r} has {size} values, another has {k}")
    if k < 0:
        raise ValueError(f"{what}: give at least one column as an array (scalars need a row count)")
    return k


_SPECS: dict[tuple, _Spec] = {}  # normalized specs, by their (name, dtype) items


def _normalized(spec: Mapping[str, DTypeLike]) -> dict[str, np.dtype]:
    """``spec`` with numpy dtypes, made once per distinct spec (tables are wrapped and
    made on hot paths, often from one module's constant spec)."""
    if type(spec) is _Spec:
        return spec
    if not spec:
        raise ValueError("a Table needs at least one column")
    try:
        key = tuple(spec.items())
        out = _SPECS.get(key)
    except TypeError:  # an unhashable dtype-like
        return _Spec((name, np.dtype(dtype)) for name, dtype in spec.items())
    if out is None:
        out = _SPECS[key] = _Spec((name, np.dtype(dtype)) for name, dtype in spec.items())
    return out


#: per spec given to ``wrap`` (by id): the spec itself (kept, so that its id stays its own), normalized,
#: and its dtypes in column order
_WRAPPED: dict[int, tuple[Mapping, dict[str, np.dtype], tuple[np.dtype, ...]]] = {}

_EMPTY: dict[np.dtype, np.ndarray] = {}


def _empty(dtype: np.dtype) -> np.ndarray:
    out = _EMPTY.get(dtype)
    if out is None:
        out = _EMPTY[dtype] = np.empty(0, dtype)
    return out
