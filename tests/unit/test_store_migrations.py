"""An older database file upgrades in place; a newer one is refused clearly."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from inferlab.store import SCHEMA_VERSION, Store, StoreError
from tests.unit.store_helpers import make_info, make_record


def _write_v1_file(path: Path) -> None:
    """The version-1 layout, written by hand as an early inferlab would have."""
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMP)")
    con.execute("INSERT INTO schema_version VALUES (1, TIMESTAMP '2026-01-01 00:00:00')")
    con.execute(
        """CREATE TABLE runs (
            run_id VARCHAR PRIMARY KEY, started_at TIMESTAMP NOT NULL, finished_at TIMESTAMP,
            endpoint VARCHAR NOT NULL, model VARCHAR NOT NULL, api VARCHAR NOT NULL,
            load_mode VARCHAR NOT NULL, load_value DOUBLE NOT NULL,
            label VARCHAR NOT NULL DEFAULT '', source_tool VARCHAR NOT NULL DEFAULT 'inferlab',
            settings VARCHAR NOT NULL DEFAULT '{}', status VARCHAR NOT NULL)"""
    )
    con.execute(
        """CREATE TABLE requests (
            run_id VARCHAR NOT NULL, idx INTEGER NOT NULL, scheduled_ms DOUBLE NOT NULL,
            sent_ms DOUBLE NOT NULL, ok BOOLEAN NOT NULL, ttft_ms DOUBLE, e2e_ms DOUBLE,
            chunk_offsets_ms DOUBLE[], input_tokens INTEGER, output_tokens INTEGER,
            token_count_source VARCHAR, http_status INTEGER, error_class VARCHAR,
            error_message VARCHAR, warmup BOOLEAN NOT NULL DEFAULT false)"""
    )
    con.execute(
        "INSERT INTO runs VALUES ('old', TIMESTAMP '2026-01-01 10:00:00', "
        "TIMESTAMP '2026-01-01 10:01:00', 'http://h/v1', 'llama', 'chat', 'concurrency', 4, "
        "'legacy run', 'inferlab', '{\"max_tokens\": 64}', 'completed')"
    )
    con.execute(
        "INSERT INTO requests VALUES "
        "('old', 0, 0, 1, true, 100, 160, [100, 120, 140, 160], 10, 4, 'usage', 200, "
        "NULL, NULL, false), "
        "('old', 1, 5, 6, false, NULL, NULL, [], 10, NULL, 'unknown', 500, 'http_5xx', "
        "'HTTP 500', false)"
    )
    con.close()


def test_a_v1_file_upgrades_in_place_and_keeps_its_runs(tmp_path: Path) -> None:
    db = tmp_path / "old.duckdb"
    _write_v1_file(db)
    store = Store(db)

    con = duckdb.connect(str(db))
    versions = [
        v for (v,) in con.execute("SELECT version FROM schema_version ORDER BY 1").fetchall()
    ]
    con.close()
    assert versions == list(range(1, SCHEMA_VERSION + 1))

    info = store.get_run("old")
    assert info is not None and info.label == "legacy run" and info.tags == ()
    assert info.settings == {"max_tokens": 64}
    s = store.summary("old")
    assert (s.requests, s.failed, s.ttft_ms.p50, s.tpot_ms.p50) == (2, 1, 100.0, 20.0)
    assert s.itl_ms.count == 3
    rec = store.records("old")[0]
    assert rec.chunk_tokens == () and rec.ttfot_ms is None
    assert store.list_runs().iloc[0]["requests"] == 2

    # new-schema features work on the upgraded file
    store.update_run("old", tags=["baseline"])
    store.add_run_metadata("old", {"gpu": "A100"})
    assert store.list_runs(tag="baseline")["run_id"].tolist() == ["old"]
    assert store.run_metadata("old") == {"gpu": "A100"}
    store.create_run(make_info("new", group_id="sweep-1"))
    store.add_requests("new", [make_record(0)])
    assert store.records("new")[0].chunk_tokens == (1, 1, 1, 1)


def test_upgrading_twice_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "old.duckdb"
    _write_v1_file(db)
    Store(db)
    Store(db)
    assert len(Store(db).list_runs()) == 1


def test_a_file_from_a_newer_inferlab_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    db = tmp_path / "future.duckdb"
    Store(db)
    con = duckdb.connect(str(db))
    con.execute("INSERT INTO schema_version (version) VALUES (?)", [SCHEMA_VERSION + 1])
    con.close()
    with pytest.raises(StoreError, match="newer than this inferlab supports"):
        Store(db)
