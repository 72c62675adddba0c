"""The growable columnar table (sim/table.py)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sim.table import Table

SPEC = {"who": np.int32, "kind": np.int8, "t": np.float64}


class Row(NamedTuple):
    who: np.ndarray
    kind: np.ndarray
    t: np.ndarray


def test_append_by_name_in_order_and_with_scalars():
    tab = Table(SPEC)
    assert len(tab) == 0 and tab.names == ("who", "kind", "t")
    tab.append(who=np.array([1, 2]), kind=3, t=0.5)  # keywords; scalars for all rows
    tab.append({"who": [4], "kind": [5], "t": [1.5]})  # a mapping
    tab.append(Row(np.array([6, 7, 8]), np.array([0, 1, 2]), np.zeros(3)))  # in column order
    assert len(tab) == 6
    np.testing.assert_array_equal(tab["who"], [1, 2, 4, 6, 7, 8])
    np.testing.assert_array_equal(tab["kind"], [3, 3, 5, 0, 1, 2])
    np.testing.assert_array_equal(tab["t"], [0.5, 0.5, 1.5, 0, 0, 0])
    assert [c.dtype for c in tab.columns()] == [np.dtype(np.int32), np.dtype(np.int8), np.dtype(np.float64)]


def test_values_are_cast_to_the_column_dtype():
    tab = Table({"x": np.int32, "t": np.float32})
    tab.append(x=np.array([2**31 + 5], np.int64), t=np.array([0.1]))
    assert tab["x"].dtype == np.int32 and tab["t"].dtype == np.float32
    assert tab["t"][0] == np.float32(0.1)


def test_appending_nothing_changes_nothing():
    tab = Table(SPEC)
    tab.append(who=np.zeros(0), kind=1, t=2.0)
    assert len(tab) == 0


@pytest.mark.parametrize(
    "call,error",
    [
        (lambda t: t.append(who=[1, 2], kind=[1], t=0.0), ValueError),  # lengths differ
        (lambda t: t.append(who=1, kind=1, t=0.0), ValueError),  # no array: no row count
        (lambda t: t.append(who=[1], kind=[1]), KeyError),  # a column missing
        (lambda t: t.append(who=[1], kind=[1], t=[0.0], extra=[1]), KeyError),  # an unknown column
        (lambda t: t.append(([1], [1])), ValueError),  # too few in order
        (lambda t: t.append({"who": [1], "kind": [1], "t": [0.0]}, who=[1]), TypeError),
        (lambda t: t.keep(np.ones(3, bool)), ValueError),  # mask of the wrong length
    ],
)
def test_bad_calls_are_refused(call, error):
    tab = Table(SPEC)
    tab.append(who=[1], kind=[1], t=[0.0])
    with pytest.raises(error):
        call(tab)
    assert len(tab) == 1  # and leave it as it was


def test_growth_is_by_doubling():
    tab = Table({"x": np.int64})
    capacities = set()
    for i in range(5000):
        tab.append(x=np.array([i]))
        capacities.add(tab.capacity)
    np.testing.assert_array_equal(tab["x"], np.arange(5000))
    assert len(capacities) <= int(np.log2(5000)) + 2  # O(log n) reallocations
    assert tab.capacity < 2 * 5000


def test_take_keep_clear():
    tab = Table(SPEC)
    tab.append(who=np.arange(10), kind=np.arange(10) % 3, t=np.linspace(0, 1, 10))
    odd = tab.take(tab["who"] % 2 == 1)
    np.testing.assert_array_equal(odd["who"], [1, 3, 5, 7, 9])
    picked = tab.take(np.array([9, 0, 9]))  # positions, in any order, repeats allowed
    np.testing.assert_array_equal(picked["who"], [9, 0, 9])
    picked["who"][:] = -1  # a taken table owns its data
    assert (tab["who"] >= 0).all()
    tab.keep(tab["kind"] == 0)
    np.testing.assert_array_equal(tab["who"], [0, 3, 6, 9])
    np.testing.assert_allclose(tab["t"], np.linspace(0, 1, 10)[[0, 3, 6, 9]])
    tab.append(who=[42], kind=[0], t=[2.0])  # appending after keep continues the rows
    np.testing.assert_array_equal(tab["who"], [0, 3, 6, 9, 42])
    tab.clear()
    assert len(tab) == 0 and tab.take(np.zeros(0, bool)).names == tab.names


def test_concat_extend_and_frame():
    a, b = Table(SPEC), Table(SPEC)
    a.append(who=[1, 2], kind=0, t=[0.0, 1.0])
    b.append(who=[3], kind=1, t=[2.0])
    both = Table.concat([a, b, a.empty_like()])
    np.testing.assert_array_equal(both["who"], [1, 2, 3])
    a.extend(b)
    np.testing.assert_array_equal(a["kind"], [0, 0, 1])
    df = a.to_frame()
    expected = pd.DataFrame(
        {"who": np.array([1, 2, 3], np.int32), "kind": np.array([0, 0, 1], np.int8), "t": [0.0, 1.0, 2.0]}
    )
    pd.testing.assert_frame_equal(df, expected)
    df.loc[0, "who"] = 99  # the frame is a copy
    assert a["who"][0] == 1
    with pytest.raises(ValueError):
        Table.concat([a, Table({"who": np.int64})])
    with pytest.raises(ValueError):
        Table({})


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(st.integers(0, 40).map(lambda k: ("append", k)), st.integers(0, 2**16).map(lambda m: ("keep", m))),
        max_size=30,
    )
)
def test_matches_plain_concatenation(ops):
    """Any sequence of appends and filters gives what concatenating and masking arrays gives."""
    tab = Table({"x": np.int64, "y": np.float32})
    ref_x, ref_y = np.zeros(0, np.int64), np.zeros(0, np.float32)
    counter = 0
    for op, arg in ops:
        if op == "append":
            x = np.arange(counter, counter + arg)
            counter += arg
            tab.append(x=x, y=x / 7)
            ref_x, ref_y = np.concatenate([ref_x, x]), np.concatenate([ref_y, (x / 7).astype(np.float32)])
        else:
            mask = (np.arange(len(tab)) * 2654435761 + arg) % 3 != 0
            tab.keep(mask)
            ref_x, ref_y = ref_x[mask], ref_y[mask]
        np.testing.assert_array_equal(tab["x"], ref_x)
        np.testing.assert_array_equal(tab["y"], ref_y)


OPS_WITH_DEFAULTS = st.lists(
    st.one_of(
        st.tuples(st.just("append"), st.integers(0, 40), st.booleans()),  # rows, and whether y is given
        st.tuples(st.just("keep"), st.integers(0, 2**16), st.just(False)),
        st.tuples(st.just("truncate"), st.integers(0, 2**16), st.just(False)),
        st.tuples(st.just("clear"), st.just(0), st.just(False)),
        st.tuples(st.just("shrink"), st.integers(0, 64), st.just(False)),
    ),
    max_size=30,
)


@settings(max_examples=200, deadline=None)
@given(OPS_WITH_DEFAULTS)
@example([("append", 4, True), ("keep", 0, False), ("append", 3, False)])  # rows left behind by each
@example([("append", 4, True), ("truncate", 1, False), ("append", 3, False)])
@example([("append", 4, True), ("clear", 0, False), ("append", 3, False)])
@example([("append", 40, True), ("keep", 1, False), ("shrink", 0, False), ("append", 40, False)])
def test_a_column_left_out_takes_its_default_whatever_came_before(ops):
    """Rows appended without the defaulted column hold its default, whatever rows were in
    the buffer before (kept, truncated, cleared, shrunk, grown); given, it holds the values."""
    tab = Table({"x": np.int64, "y": np.float32, "z": np.int8}, defaults={"y": np.nan, "z": -1})
    ref = {"x": np.zeros(0, np.int64), "y": np.zeros(0, np.float32), "z": np.zeros(0, np.int8)}
    counter = 0
    for op, arg, given_y in ops:
        if op == "append":
            x = np.arange(counter, counter + arg)
            counter += arg
            y = (x / 7).astype(np.float32) if given_y else np.full(arg, np.nan, np.float32)
            if given_y:
                tab.append(x=x, y=x / 7, z=5)
            else:
                tab.append(x=x)
            new = {"x": x, "y": y, "z": np.full(arg, 5 if given_y else -1, np.int8)}
            ref = {k: np.concatenate([ref[k], new[k]]) for k in ref}
        elif op == "keep":
            mask = (np.arange(len(tab)) * 2654435761 + arg) % 3 != 0
            tab.keep(mask)
            ref = {k: v[mask] for k, v in ref.items()}
        elif op == "truncate":
            m = arg % (len(tab) + 1)
            tab.truncate(m)
            ref = {k: v[:m] for k, v in ref.items()}
        elif op == "clear":
            tab.clear()
            ref = {k: v[:0] for k, v in ref.items()}
        else:
            tab.shrink(arg)
        for k in ref:
            np.testing.assert_array_equal(tab[k], ref[k])
    for other in (tab.take(np.arange(len(tab))), tab.empty_like(), Table.concat([tab, tab])):
        m = len(other)
        other.append(x=np.arange(3))
        assert np.isnan(other["y"][m:]).all() and (other["z"][m:] == -1).all()


def test_defaults_are_checked():
    with pytest.raises(KeyError, match="missing"):  # a column without a default must be given
        Table({"x": np.int64, "y": np.float32}, defaults={"y": 0.0}).append(y=np.zeros(2))
    with pytest.raises(KeyError, match="does not have"):
        Table({"x": np.int64}, defaults={"w": 0})
    with pytest.raises(ValueError):
        Table({"x": np.int8}, defaults={"x": np.nan})  # not a value of the column's dtype
    with pytest.raises(ValueError, match="scalar"):
        Table({"x": np.int8}, defaults={"x": [1, 2]})
    assert Table({"x": np.int8}, defaults={"x": 3}).defaults == {"x": 3}


def test_wrap_adopts_fresh_arrays_without_copying():
    who, kind, t = np.array([1, 2, 3], np.int32), np.array([0, 1, 0], np.int8), np.array([0.5, 1.0, 1.5])
    tab = Table.wrap(SPEC, Row(who, kind, t))
    assert len(tab) == 3 and np.shares_memory(tab["who"], who)
    tab.keep(tab["kind"] == 0)  # it owns them now: written in place
    np.testing.assert_array_equal(tab["who"], [1, 3])
    tab.append(who=[4], kind=[2], t=[2.0])  # fills their room
    assert np.shares_memory(tab["who"], who)
    tab.append(who=[5], kind=[2], t=[2.5])  # and replaces them when it grows
    np.testing.assert_array_equal(tab["who"], [1, 3, 4, 5])
    assert not np.shares_memory(tab["who"], who)
    with pytest.raises(TypeError):
        Table.wrap(SPEC, Row(who.astype(np.int64), kind, t))  # a dtype other than the spec's
    with pytest.raises(ValueError):
        Table.wrap(SPEC, Row(who, kind, t[:2]))  # lengths differ


def test_truncate_keeps_the_first_rows():
    tab = Table({"who": np.int32, "t": np.float64})
    tab.append(who=[1, 2, 3], t=[0.5, 1.5, 2.5])
    tab.truncate(2)
    assert tab["who"].tolist() == [1, 2] and len(tab) == 2
    tab.append(who=[9], t=[9.0])
    assert tab["who"].tolist() == [1, 2, 9]
    with pytest.raises(ValueError):
        tab.truncate(4)


def test_label_masks_by_code_equal_the_string_comparison():
    from sim.arrays import label_masks

    values = np.array(["primary", "tertiary", "primary", "secondary", "tertiary"])
    labels = ["primary", "secondary", "tertiary", "abroad"]  # "abroad": no row, not a category
    want = {x: values == x for x in labels}
    for column in (pd.Series(pd.Categorical(values)), pd.Series(values)):
        got = label_masks(column, labels)
        assert list(got) == labels and all(np.array_equal(got[x], want[x]) for x in labels)


def test_unique_first_is_np_unique_with_first_indices():
    """Sorted distinct values and the first index of each, as ``np.unique(return_index=True)``:
    with repeats, unsorted, and already strictly increasing (returned without a sort)."""
    from sim.arrays import unique_first

    rng = np.random.default_rng(2)
    for values in (
        rng.integers(0, 30, 200),  # repeats, any order
        np.sort(rng.choice(10**9, 300, replace=False)),  # strictly increasing
        np.array([1, 2, 2, 3]),  # increasing, not strictly
        np.array([5]),
        np.zeros(0, np.int64),
    ):
        want_v, want_i = np.unique(values, return_index=True)
        got_v, got_i = unique_first(values)
        np.testing.assert_array_equal(got_v, want_v)
        np.testing.assert_array_equal(got_i, want_i)


def test_shrink_gives_back_room_and_keeps_the_rows():
    t = Table({"a": np.int32, "b": np.float64})
    t.append(a=np.arange(5000), b=np.arange(5000) * 0.5)
    t.keep(t["a"] % 100 == 0)
    big = t.capacity
    t.shrink(100)
    assert t.capacity == 100 < big and len(t) == 50
    np.testing.assert_array_equal(t["a"], np.arange(0, 5000, 100))
    np.testing.assert_array_equal(t["b"], np.arange(0, 5000, 100) * 0.5)
    t.shrink(10)  # never below the rows held
    assert t.capacity == 50 and len(t) == 50
    t.append(a=np.array([7]), b=1.0)  # and it grows again
    assert len(t) == 51 and t["a"][-1] == 7 and t.capacity >= 51


def test_equal_specs_are_normalized_once_and_stay_distinct_from_others():
    """A plain-dict spec is normalized once (tables are made and wrapped on hot paths):
    equal specs share it, with numpy dtypes; a spec differing in a dtype or a name does not."""
    a = Table({"x": np.int32, "t": "float64"})
    b = Table.wrap({"x": np.int32, "t": "float64"}, [np.zeros(2, np.int32), np.zeros(2)])
    assert a.spec is b.spec
    assert list(a.spec.values()) == [np.dtype(np.int32), np.dtype(np.float64)]
    other = Table({"x": np.int64, "t": "float64"})
    renamed = Table({"y": np.int32, "t": "float64"})
    assert other.spec is not a.spec and other.spec["x"] == np.dtype(np.int64)
    assert renamed.spec is not a.spec and renamed.names == ("y", "t")


def test_keep_and_take_give_numpy_masking_for_every_dtype():
    """``keep`` compacts the numeric and bool columns with a compiled pass and the others with
    numpy's mask; ``take`` turns a bool mask into positions once: either way, the rows of
    ``col[mask]``, in order, for every column type (a compaction that wrote a dropped row
    last, or read a position twice, would differ)."""
    rng = np.random.default_rng(5)
    dtypes = [np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint32, np.float32, np.float64]
    spec = {f"c{i}": d for i, d in enumerate(dtypes)} | {"when": "datetime64[s]", "tag": "U3"}
    n = 997
    cols = {f"c{i}": (rng.random(n) * 100).astype(d) for i, d in enumerate(dtypes)}
    cols["when"] = np.arange(n).astype("datetime64[s]")
    cols["tag"] = np.array([f"t{i % 50}" for i in range(n)], "U3")
    for p in (0.0, 0.3, 0.97, 1.0):
        mask = rng.random(n) < p
        tab = Table(spec)
        tab.append(cols)
        taken = tab.take(mask)
        tab.keep(mask)
        assert len(tab) == len(taken) == int(mask.sum())
        for name, col in cols.items():
            np.testing.assert_array_equal(tab[name], col[mask])
            np.testing.assert_array_equal(taken[name], col[mask])
    tab = Table(spec)
    tab.append(cols)
    with pytest.raises(IndexError):
        tab.take(np.ones(n - 1, bool))


def test_grow_adds_rows_for_the_caller_to_fill():
    """``grow(k)`` adds k rows and returns a view of them in each column (in column order):
    past the capacity the buffers grow and the rows held stay; a column with a default holds
    it in the new rows until written."""
    t = Table({"a": np.int32, "b": np.float64}, defaults={"b": np.nan})
    t.append(a=np.arange(3), b=np.ones(3))
    a, b = t.grow(40)
    assert a.shape == b.shape == (40,) and len(t) == 43 and t.capacity >= 43
    a[:] = 7
    assert t["a"].tolist() == [0, 1, 2, *[7] * 40]
    assert t["b"][:3].tolist() == [1.0] * 3 and np.isnan(t["b"][3:]).all()
    b[:2] = 5.0
    assert t["b"][3:5].tolist() == [5.0, 5.0]
    assert [len(col) for col in t.grow(0)] == [0, 0] and len(t) == 43
