"""The Store API: runs, requests, metadata, credentials kept out, clear errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest

from inferlab.store import (
    Store,
    StoreError,
    UnknownRunError,
    default_db_path,
)
from tests.unit.store_helpers import make_info, make_record


def test_default_path_follows_inferlab_db(
    isolated_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert default_db_path() == isolated_db
    monkeypatch.delenv("INFERLAB_DB")
    assert default_db_path().parts[-2:] == ("data", "inferlab.duckdb")


def test_store_is_created_on_first_use(tmp_path: Path) -> None:
    db = tmp_path / "nested" / "dir" / "x.duckdb"
    store = Store(db)
    assert db.exists()
    assert store.list_runs().empty


def test_run_round_trip_with_tags_group_and_settings(isolated_db: Path) -> None:
    store = Store()
    started = datetime(2026, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    info = make_info(
        "r1",
        started_at=started,
        label="baseline",
        tags=("a", "b"),
        group_id="g1",
        load_mode="poisson",
        load_value=2.5,
        settings={"max_tokens": 128, "prompt_tokens": 512, "seed": 1},
    )
    store.create_run(info)
    got = store.get_run("r1")
    assert got is not None
    assert got.started_at == started  # same instant, returned in UTC
    assert got.started_at.tzinfo == UTC
    assert (got.label, got.tags, got.group_id, got.load_mode, got.load_value) == (
        "baseline",
        ("a", "b"),
        "g1",
        "poisson",
        2.5,
    )
    assert got.settings == {"max_tokens": 128, "prompt_tokens": 512, "seed": 1}
    assert store.run_status("r1") == "running"
    store.finish_run("r1", "cancelled")
    assert store.run_status("r1") == "cancelled"
    assert store.get_run("missing") is None and store.run_status("missing") is None


def test_credentials_never_reach_the_database(isolated_db: Path) -> None:
    store = Store()
    info = make_info(
        "sec",
        endpoint="https://user:hunter2@api.example.com/v1?api-version=2024&api_key=sk-123",
        settings={
            "api_key": "sk-123",
            "headers": {"Authorization": "Bearer sk-123", "X-Trace": "1"},
        },
    )
    store.create_run(info)
    store.add_run_metadata("sec", {"gpu": "H100", "token": "sk-123"})
    got = store.get_run("sec")
    assert got is not None
    assert got.endpoint == "https://api.example.com/v1?api-version=2024"
    assert got.settings == {"headers": {"X-Trace": "1"}}
    con = duckdb.connect(str(isolated_db))
    dump = json.dumps(con.execute("SELECT * FROM runs").fetchall(), default=str)
    con.close()
    assert "sk-123" not in dump and "hunter2" not in dump


def test_list_filters_update_metadata_and_delete(isolated_db: Path) -> None:
    store = Store()
    for i, (tags, group) in enumerate([(("x",), "g"), (("y",), "g"), ((), None)]):
        store.create_run(
            make_info(
                f"r{i}", tags=tags, group_id=group, started_at=datetime(2026, 1, 1 + i, tzinfo=UTC)
            )
        )
        store.add_requests(f"r{i}", [make_record(j) for j in range(10 * (i + 1))])
    df = store.list_runs()
    assert df["run_id"].tolist() == ["r2", "r1", "r0"]  # newest first
    assert df.set_index("run_id").loc["r1", "requests"] == 20
    assert store.list_runs(group_id="g")["run_id"].tolist() == ["r1", "r0"]
    assert store.list_runs(tag="y")["run_id"].tolist() == ["r1"]
    assert store.list_runs(limit=1)["run_id"].tolist() == ["r2"]

    store.update_run("r0", label="renamed", tags=["z"])
    assert store.list_runs(tag="z")["label"].tolist() == ["renamed"]

    store.add_run_metadata("r0", {"gpu": "A100"})
    store.add_run_metadata("r0", {"precision": "fp8"})
    assert store.run_metadata("r0") == {"gpu": "A100", "precision": "fp8"}

    # adding requests refreshes the cached statistics of the list
    store.add_requests("r0", [make_record(100 + j) for j in range(5)])
    assert store.list_runs().set_index("run_id").loc["r0", "requests"] == 15

    store.delete_run("r1")
    assert store.get_run("r1") is None
    assert "r1" not in store.list_runs()["run_id"].tolist()


def test_requests_frame_has_one_row_per_request_with_list_columns(isolated_db: Path) -> None:
    store = Store()
    store.create_run(make_info("f"))
    store.add_requests("f", [make_record(i, ok=i != 1) for i in range(3)])
    df = store.requests_frame("f")
    assert df["index"].tolist() == [0, 1, 2]
    assert list(df["chunk_offsets_ms"].iloc[0]) == [200.0, 220.0, 240.0, 260.0]
    assert df.loc[0, "tpot_ms"] == pytest.approx(20.0)
    assert df.loc[0, "client_queue_ms"] == pytest.approx(0.5)
    assert df.loc[1, "error_class"] == "http_5xx"


def test_unknown_runs_and_bad_input_give_clear_errors(isolated_db: Path, tmp_path: Path) -> None:
    store = Store()
    with pytest.raises(UnknownRunError, match="no run 'nope'"):
        store.summary("nope")
    with pytest.raises(UnknownRunError):
        store.add_requests("nope", [make_record(0)])
    with pytest.raises(UnknownRunError):
        store.delete_run("nope")
    store.create_run(make_info("dup"))
    with pytest.raises(StoreError, match="already exists"):
        store.create_run(make_info("dup"))
    with pytest.raises(StoreError, match="run id"):
        store.create_run(make_info("../escape"))
    with pytest.raises(StoreError, match="unknown run status"):
        store.finish_run("dup", "done")  # type: ignore[arg-type]

    junk = tmp_path / "junk.duckdb"
    junk.write_text("this is not a database\n" * 200)
    with pytest.raises(StoreError, match="not an inferlab database"):
        Store(junk)
    with pytest.raises(StoreError, match="is a directory, not a database file"):
        Store(tmp_path)


def test_run_writer_as_context_manager_records_the_outcome(isolated_db: Path) -> None:
    store = Store()
    with store.run_writer(make_info("ok")) as w:
        w.add_many([make_record(i) for i in range(3)])
    assert store.run_status("ok") == "completed"
    with pytest.raises(KeyboardInterrupt), store.run_writer(make_info("ctrl-c")) as w:
        w.add(make_record(0))
        raise KeyboardInterrupt
    assert store.run_status("ctrl-c") == "cancelled"
    assert len(store.records("ctrl-c")) == 1
    with pytest.raises(StoreError, match="already exists"):
        store.run_writer(make_info("ok"))


def test_a_torn_last_spool_line_is_skipped(isolated_db: Path) -> None:
    store = Store()
    w = store.run_writer(make_info("torn"))
    for i in range(3):
        w.add(make_record(i))
    # simulate a power cut in the middle of a line, then the writer vanishing
    with open(store.spool_dir / "torn.jsonl", "a", encoding="utf-8") as f:
        f.write('{"idx": 3, "scheduled_ms": 1.0, "sent')
    w._spool._lock_file.close()  # type: ignore[union-attr]  # the kernel would drop the lock
    w._spool._lock_file = None
    assert [r.index for r in Store().records("torn")] == [0, 1, 2]
    assert store.run_status("torn") == "interrupted"


def test_an_abandoned_writer_is_ingested_as_interrupted(isolated_db: Path) -> None:
    import gc

    store = Store()
    w = store.run_writer(make_info("abandoned"))
    w.add(make_record(0))
    del w
    gc.collect()
    assert store.run_status("abandoned") == "interrupted"
    assert len(store.records("abandoned")) == 1


def test_an_unreadable_spool_is_set_aside_and_the_store_stays_usable(isolated_db: Path) -> None:
    store = Store()
    w = store.run_writer(make_info("bad"))
    w.add(make_record(0))
    w._spool._lock_file.close()  # type: ignore[union-attr]  # the writer "dies"
    w._spool._lock_file = None
    data = store.spool_dir / "bad.jsonl"
    data.unlink()
    data.mkdir()  # DuckDB cannot read a directory as JSON lines
    reopened = Store()
    assert reopened.run_status("bad") == "failed"  # it was listed as running
    assert (store.spool_dir / "bad.run.json.unreadable").exists()
    assert not (store.spool_dir / "bad.run.json").exists()


def test_request_notes_survive_the_spool_and_the_database(isolated_db: Path) -> None:
    from dataclasses import replace

    store = Store()
    w = store.run_writer(make_info("noted"))
    w.add(replace(make_record(0), notes=("retried_stale_connection",)))
    w.add(make_record(1))
    live = [r.notes for r in store.records("noted")]  # read through the live spool
    w.close("completed")
    stored = [r.notes for r in Store().records("noted")]
    assert live == stored == [("retried_stale_connection",), ()]
