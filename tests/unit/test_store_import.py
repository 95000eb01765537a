"""Store.save_imported_runs: several complete runs in one transaction, all or nothing."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from inferlab.store import NewRun, Store, StoreError, records_to_arrow
from tests.unit.store_helpers import make_info, make_record


def _run(run_id: str, n: int = 5, **kw: object) -> NewRun:
    table = records_to_arrow([make_record(i) for i in range(n)])
    return NewRun(info=make_info(run_id), requests=table, **kw)  # type: ignore[arg-type]


def test_saves_rows_requests_metadata_and_final_status(isolated_db: Path) -> None:
    store = Store()
    store.save_imported_runs(
        [
            _run("a", 5, metadata={"import": {"format": "csv"}, "api_key": "sk-x"}),
            _run("b", 3, status="cancelled"),
            NewRun(info=make_info("c")),  # aggregate only: no request rows
        ]
    )
    assert [store.run_status(r) for r in "abc"] == ["completed", "cancelled", "completed"]
    assert store.summary("a").requests == 5 and store.summary("b").requests == 3
    assert store.summary("c").requests == 0
    meta = store.run_metadata("a")
    assert meta["import"] == {"format": "csv"} and "sk-x" not in str(meta)
    assert store.list_runs().set_index("run_id").loc["a", "finished_at"] is not None


def test_an_existing_id_saves_nothing(isolated_db: Path) -> None:
    store = Store()
    store.save_imported_runs([_run("b")])
    with pytest.raises(StoreError, match=r"run 'b' already exists"):
        store.save_imported_runs([_run("a"), _run("b"), _run("c")])
    assert list(store.list_runs()["run_id"]) == ["b"]


def test_a_bad_request_row_in_the_second_run_saves_nothing(isolated_db: Path) -> None:
    store = Store()
    good = _run("a")
    bad_table = records_to_arrow([make_record(0)]).set_column(
        0,
        "idx",
        pa.array([None], pa.int32()),  # idx is NOT NULL
    )
    with pytest.raises(StoreError, match=r"database error"):
        store.save_imported_runs([good, NewRun(info=make_info("b"), requests=bad_table)])
    assert store.list_runs().empty
    store.save_imported_runs([good])  # the connection and file are fine afterwards
    assert store.summary("a").requests == 5


def test_refuses_running_status_and_repeated_ids(isolated_db: Path) -> None:
    store = Store()
    with pytest.raises(StoreError, match=r"needs a final status"):
        store.save_imported_runs([_run("a", status="running")])
    with pytest.raises(StoreError, match=r"appears twice"):
        store.save_imported_runs([_run("a"), _run("a")])
    with pytest.raises(StoreError, match=r"run id"):
        store.save_imported_runs([NewRun(info=make_info("bad id/"))])
    assert store.list_runs().empty


def test_a_failed_summary_precompute_does_not_undo_the_import(
    isolated_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(cls: type, con: object, run_id: str) -> None:
        raise duckdb.OutOfMemoryException("out of memory")

    store = Store()
    monkeypatch.setattr(Store, "_store_summary", classmethod(boom))
    store.save_imported_runs([_run("a", 4)])
    monkeypatch.undo()
    assert store.run_status("a") == "completed"
    assert store.summary("a").requests == 4  # computed on first use instead
