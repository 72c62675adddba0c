"""Streamed tables (the event log, answers and cases written in chunks during the run) equal the in-memory ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import sim
from sim import Results, load_scenario, streaming
from sim.streaming import StreamedTable, part_name

from .conftest import SCENARIOS

CASES = {"classroom": ["run.duration_days=10"], "guangdong_study": ["run.duration_days=10"]}
CHUNKS = {"classroom": 4, "guangdong_study": 50}  # rows: several chunks of events and answers
CHUNK = 50


@pytest.fixture(params=sorted(CASES))
def pair(request, tmp_path, monkeypatch):
    """(in-memory results, streamed results, the folder streamed to) of one scenario."""
    scen = load_scenario(SCENARIOS / f"{request.param}.toml", CASES[request.param])
    memory = sim.run(scen, seed=3)
    monkeypatch.setattr(streaming, "CHUNK_ROWS", CHUNKS[request.param])
    out = tmp_path / "out"
    streamed = sim.run(scen, seed=3, stream_to=out)
    return memory, streamed, out, CHUNKS[request.param]


def test_streamed_tables_equal_the_in_memory_ones(pair):
    memory, streamed, out, chunk = pair
    held = streamed.tables.raw("events")
    assert isinstance(held, StreamedTable) and held.path == out / part_name("events")
    assert held.path.exists() and not (out / "events.parquet").exists()  # not complete until saved
    n = len(memory.tables["events"])
    assert n > 3 * chunk  # several chunks were written
    assert len(held) == n and pq.ParquetFile(held.path).metadata.num_row_groups >= 3
    answers = streamed.tables.raw("answers")
    assert isinstance(answers, StreamedTable) and len(answers) == len(memory.tables["answers"]) > 3 * chunk
    assert pq.ParquetFile(answers.path).metadata.num_row_groups >= 3
    # cases: written during the run (a row group each time the finished ones were dropped)
    cases = streamed.tables.raw("cases")
    assert isinstance(cases, StreamedTable) and len(cases) == len(memory.tables["cases"]) > 3 * chunk
    assert pq.ParquetFile(cases.path).metadata.num_row_groups >= 3
    items = streamed.tables.raw("item_states")  # written at the end, an item (a row group) at a time
    assert isinstance(items, StreamedTable) and pq.ParquetFile(items.path).metadata.num_row_groups >= 2
    assert list(streamed.tables) == list(memory.tables)
    for name in memory.tables:
        pd.testing.assert_frame_equal(streamed.tables[name], memory.tables[name], check_exact=True)
    assert streamed.table("events").equals(memory.events)
    pd.testing.assert_frame_equal(streamed.timeseries, memory.timeseries, check_exact=True)
    pd.testing.assert_frame_equal(streamed.metrics_table, memory.metrics_table, check_exact=True)
    assert streamed.metrics == memory.metrics


def test_a_streamed_folder_has_the_same_files_and_loads_back(pair, tmp_path):
    memory, streamed, out, _ = pair
    streamed.save(out)
    memory.save(tmp_path / "memory")
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(p.name for p in (tmp_path / "memory").iterdir())
    assert streamed.tables.raw("events").path == out / "events.parquet"  # the file moved, and its reference
    schema = pq.read_schema(out / "events.parquet")
    assert schema.equals(pq.read_schema(tmp_path / "memory" / "events.parquet"), check_metadata=True)
    for lazy in (False, True):
        back = Results.load(out, lazy=lazy)
        pd.testing.assert_frame_equal(back.tables["events"], memory.tables["events"], check_exact=True)
        pd.testing.assert_frame_equal(back.tables["cases"], memory.tables["cases"], check_exact=True)
        assert len(back.tables.raw("events")) == len(memory.tables["events"])
    again = tmp_path / "copy"
    streamed.save(again)  # a second save copies the file
    pd.testing.assert_frame_equal(Results.load(again).events, memory.events, check_exact=True)


def test_a_failed_streamed_run_leaves_no_file(tmp_path, monkeypatch):
    from sim.model import QunModel

    monkeypatch.setattr(streaming, "CHUNK_ROWS", CHUNK)
    calls = {"n": 0}
    real = QunModel.step

    def failing(self):
        calls["n"] += 1
        if calls["n"] == 200:
            raise RuntimeError("boom")
        real(self)

    monkeypatch.setattr(QunModel, "step", failing)
    out = tmp_path / "out"
    scen = load_scenario(SCENARIOS / "classroom.toml", ["run.duration_days=10"])
    with pytest.raises(RuntimeError, match="boom"):
        sim.run(scen, seed=3, stream_to=out)
    assert not out.exists()  # the folder it made, and the part file in it, are gone
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(RuntimeError, match="boom"):
        calls["n"] = 0
        sim.run(scen, seed=3, stream_to=out)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_rows_out_of_time_order_are_refused(tmp_path):
    from sim.processes.information.outputs import EventLog
    from sim.processes.information.state import Catalog
    from sim.streaming import TableStream

    scen = load_scenario(SCENARIOS / "classroom.toml")
    log = EventLog(True, Catalog(scen.information.items))
    log.stream(TableStream(tmp_path, "events"))
    log.add(0, "post", np.arange(3), -1, 0, 2.0)
    log.flush()
    log.add(0, "post", np.arange(3), -1, 0, 1.0)  # earlier than a row already written
    with pytest.raises(RuntimeError, match="out of time order"):
        log.flush()


def test_the_event_log_takes_arrays_and_scalars_per_entry():
    """A log entry's arrays (or lists) give its rows, its scalars hold for every row; arrays of
    different lengths, no array at all, or a value that is no number are refused and add
    nothing."""
    from sim.processes.information.outputs import EventLog
    from sim.processes.information.state import Catalog

    scen = load_scenario(SCENARIOS / "classroom.toml")
    log = EventLog(True, Catalog(scen.information.items))
    log.add(0, "post", np.arange(3), -1, np.array([4, 5, 6]), 2.0)
    log.add(np.array([1, 0]), "aware", [7, 8], np.array([1, 2]), -1, 3.0)
    with pytest.raises(ValueError, match="'receiver' has 2 values, another has 3"):
        log.add(0, "post", np.arange(3), np.arange(2), -1, 1.0)
    with pytest.raises(ValueError, match="event log: give at least one column as an array"):
        log.add(0, "post", 1, 2, 3, 1.0)
    with pytest.raises(ValueError, match="invalid literal"):  # written into its rows, then taken back
        log.add(0, "post", np.arange(2), np.array(["x", "y"]), -1, 1.0)
    frame = log.frame()
    assert frame["item"].tolist() == [0, 0, 0, 1, 0] and frame["sender"].tolist() == [0, 1, 2, 7, 8]
    assert frame["receiver"].tolist() == [-1, -1, -1, 1, 2] and frame["group"].tolist() == [4, 5, 6, -1, -1]
    assert frame["kind"].tolist() == ["post"] * 3 + ["aware"] * 2 and frame["t"].tolist() == [2.0] * 3 + [3.0] * 2


def test_qunsim_run_stream_writes_the_same_folder(tmp_path, capsys):
    from sim.cli import main

    base = ["run", "classroom", "--set", "run.duration_days=3", "--seed", "5", "--quiet", "--no-plot"]
    assert main([*base, "--out", str(tmp_path / "mem")]) == 0
    assert main([*base, "--out", str(tmp_path / "str"), "--stream"]) == 0
    capsys.readouterr()
    names = sorted(p.name for p in (tmp_path / "str").iterdir())
    assert "events.parquet" in names and names == sorted(p.name for p in (tmp_path / "mem").iterdir())
    mem, streamed = Results.load(tmp_path / "mem"), Results.load(tmp_path / "str")
    pd.testing.assert_frame_equal(streamed.events, mem.events, check_exact=True)


def test_an_answer_starting_before_those_written_is_refused(tmp_path, monkeypatch):
    from sim.processes.diagnosis import outputs
    from sim.processes.diagnosis.state import ANSWER_SPEC, DxState
    from sim.streaming import TableStream
    from sim.table import Table

    monkeypatch.setattr(streaming, "CHUNK_ROWS", 2)
    st = DxState(5, 3, np.random.default_rng(0))
    st.answer_sink = TableStream(tmp_path, "answers")

    def finished(start):
        A = Table(ANSWER_SPEC)
        flags = dict.fromkeys(("correct", "offhours", "counted", "after_diagnosis"), False)
        A.append(
            case=0, req=0, exp=1, route=0, group=-1, start=np.asarray(start), end=5.0, label=0, confidence=0.9, **flags
        )
        return A

    st.log_finished(finished([1.0, 2.0, 3.0]))
    outputs.stream_answers(st, 2.5)  # before the step at 2.5: the first two are written
    assert st.answer_sink.rows == 2 and len(st.answer_log[0]) == 1 and st.answer_log_rows == 1
    st.log_finished(finished([1.5, 4.0]))
    with pytest.raises(RuntimeError, match="started before answers already written"):
        outputs.stream_answers(st, 5.0)


def test_a_streamed_finish_frees_the_run_state_before_reading_back(tmp_path, monkeypatch):
    from sim.components import Outputs
    from sim.model import QunModel
    from sim.processes.diagnosis.outputs import REQUEST_COLUMNS_READ
    from sim.results import Metrics

    monkeypatch.setattr(streaming, "CHUNK_ROWS", CHUNK)
    scen = load_scenario(SCENARIOS / "guangdong_study.toml", CASES["guangdong_study"])
    model = QunModel(scen, seed=3)
    streaming.stream_tables(model, tmp_path / "out")
    assert model.process("diagnosis").state.requests.names == REQUEST_COLUMNS_READ  # logged lean from the start
    model.run_model()
    st, info = model.process("diagnosis").state, model.process("information")
    held = (len(st.cases), len(st.requests), len(info.queues.pending))
    assert min(held) > 0  # there is state to free
    out = model.finish(Outputs(metrics=Metrics()))
    assert len(st.cases) == len(st.pairs) == len(st.inflight) == st.scores.shape[0] == 0
    assert st.requests.names == REQUEST_COLUMNS_READ and len(st.requests) == 0  # its figures were taken first
    assert out.metrics["dx_group_requests"] + out.metrics["dx_contact_requests"] == held[1]
    assert len(info.queues.pending) == 0
    assert len(out.tables["cases"]) >= held[0] and out.metrics["dx_requests"] == held[1]


def test_finished_cases_are_written_before_the_case_table_outgrows_its_buffers(tmp_path, monkeypatch):
    """Half a chunk held and the buffers 90% full: the finished cases go out then, and the
    buffers do not grow for them (a full chunk held, they would have doubled first)."""
    from sim.model import QunModel
    from sim.processes.diagnosis import outputs as dx_outputs

    scen = load_scenario(SCENARIOS / "guangdong_study.toml", ["run.duration_days=10"])  # 422 cases
    monkeypatch.setattr(streaming, "CHUNK_ROWS", 400)
    model = QunModel(scen, seed=3)
    streaming.stream_tables(model, tmp_path)
    st = model.process("diagnosis").state
    seen = {"capacity": 0, "held": 0}

    def watch(step: int, total: int) -> None:
        seen["capacity"] = max(seen["capacity"], st.cases.capacity)
        seen["held"] = max(seen["held"], len(st.cases))

    model.run_model(progress=watch)
    assert st.n_written > 0  # cases went out during the run, with fewer than a chunk (400) ever held
    assert seen["held"] < 400
    memory = sim.run(scen, seed=3)
    assert seen["capacity"] < dx_outputs.STREAM_FULL * len(memory.tables["cases"])  # room for 256 of 422 cases
    pd.testing.assert_frame_equal(model.finish().tables["cases"].frame(), memory.tables["cases"], check_exact=True)
