"""Quality answers and scores live in the store: migrated with it, deleted with their run."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from inferlab.quality import QualityOutput, TemperatureScores
from inferlab.store import SCHEMA_VERSION, Store, StoreError
from inferlab.store.quality import QualityStore
from tests.unit.store_helpers import make_info, make_record

# The tables exactly as the quality store created them itself before they had a
# migration (inferlab.store_quality._SCHEMA, removed).
_OLD_QUALITY_SCHEMA = """
CREATE TABLE IF NOT EXISTS quality_outputs (
    run_id VARCHAR NOT NULL, idx INTEGER NOT NULL, prompt_id VARCHAR NOT NULL,
    repeat INTEGER NOT NULL, temperature DOUBLE NOT NULL, prompt VARCHAR NOT NULL,
    reference VARCHAR NOT NULL, output VARCHAR, ok BOOLEAN NOT NULL, error_class VARCHAR,
    PRIMARY KEY (run_id, idx)
);
CREATE TABLE IF NOT EXISTS quality_scores (
    run_id VARCHAR PRIMARY KEY, group_id VARCHAR, eval_set VARCHAR NOT NULL,
    temperature DOUBLE NOT NULL, repeats INTEGER NOT NULL, requests INTEGER NOT NULL,
    failed INTEGER NOT NULL, exact_match DOUBLE, rouge_l DOUBLE, identical_share DOUBLE,
    pairwise_similarity DOUBLE, created_at TIMESTAMP NOT NULL
);
"""


def _outputs(n: int = 2) -> list[tuple[int, QualityOutput]]:
    return [
        (i, QualityOutput(f"p{i}", 0, 0.0, f"prompt {i}", "Paris", "Paris", True, None))
        for i in range(n)
    ]


def _scores(exact_match: float = 0.5) -> TemperatureScores:
    return TemperatureScores(
        temperature=0.0,
        requests=2,
        failed=0,
        answered=2,
        exact_match=exact_match,
        rouge_l=0.75,
        identical_share=1.0,
        pairwise_similarity=1.0,
        failure_classes={},
    )


def _save_quality_run(store: Store, run_id: str, exact_match: float = 0.5) -> QualityStore:
    store.create_run(make_info(run_id, tags=("quality",)))
    store.add_requests(run_id, [make_record(0), make_record(1)])
    store.finish_run(run_id)
    qstore = QualityStore(store)
    qstore.save(
        run_id,
        group_id=None,
        eval_set="capitals",
        repeats=1,
        outputs=_outputs(),
        scores=_scores(exact_match),
    )
    return qstore


def _versions(db: Path) -> list[int]:
    con = duckdb.connect(str(db))
    try:
        return [
            v for (v,) in con.execute("SELECT version FROM schema_version ORDER BY 1").fetchall()
        ]
    finally:
        con.close()


def test_a_new_store_has_the_quality_tables_from_its_migrations(tmp_path: Path) -> None:
    db = tmp_path / "new.duckdb"
    Store(db)
    con = duckdb.connect(str(db))
    tables = {
        t for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    con.close()
    assert {"quality_outputs", "quality_scores"} <= tables
    assert _versions(db) == list(range(1, SCHEMA_VERSION + 1))


def test_a_file_whose_quality_tables_the_old_code_created_upgrades_and_keeps_them(
    tmp_path: Path,
) -> None:
    # A version-2 store whose quality tables (with one run's rows) the old
    # quality store created on its own: the state every existing file is in.
    db = tmp_path / "old.duckdb"
    store = Store(db)
    _save_quality_run(store, "q1", exact_match=0.25)
    con = duckdb.connect(str(db))
    con.execute("DELETE FROM schema_version WHERE version >= 3")
    con.execute("DROP TABLE quality_outputs")
    con.execute("DROP TABLE quality_scores")
    con.execute(_OLD_QUALITY_SCHEMA)
    con.execute(
        "INSERT INTO quality_outputs VALUES "
        "('q1', 0, 'p0', 0, 0.0, 'prompt 0', 'Paris', 'Paris', true, NULL), "
        "('q1', 1, 'p1', 0, 0.0, 'prompt 1', 'Paris', 'Lyon', true, NULL)"
    )
    con.execute(
        "INSERT INTO quality_scores VALUES ('q1', NULL, 'capitals', 0.0, 1, 2, 0, 0.25, 0.5, "
        "1.0, 1.0, TIMESTAMP '2026-01-01 10:00:00')"
    )
    con.close()
    assert _versions(db) == [1, 2]

    qstore = QualityStore(db)
    assert _versions(db) == list(range(1, SCHEMA_VERSION + 1))
    assert [o.output for o in qstore.outputs("q1")] == ["Paris", "Lyon"]
    assert qstore.exact_match_pct("q1") == pytest.approx(25.0)
    assert qstore.scores()["run_id"].tolist() == ["q1"]


def test_a_file_with_only_the_old_quality_tables_becomes_a_store(tmp_path: Path) -> None:
    # The old quality store could create its tables before the run store ever opened the file.
    db = tmp_path / "quality-first.duckdb"
    con = duckdb.connect(str(db))
    con.execute(_OLD_QUALITY_SCHEMA)
    con.close()
    store = Store(db)
    assert _versions(db) == list(range(1, SCHEMA_VERSION + 1))
    qstore = _save_quality_run(store, "q1")
    assert qstore.exact_match_pct("q1") == pytest.approx(50.0)


def test_delete_run_removes_its_quality_rows_and_keeps_the_others(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    _save_quality_run(store, "q1", exact_match=0.25)
    qstore = _save_quality_run(store, "q2", exact_match=0.75)

    store.delete_run("q1")

    assert qstore.outputs("q1") == []
    assert qstore.exact_match_pct("q1") is None
    assert qstore.scores()["run_id"].tolist() == ["q2"]
    assert len(qstore.outputs("q2")) == 2
    con = duckdb.connect(str(store.path))
    left = con.execute(
        "SELECT (SELECT count(*) FROM quality_outputs WHERE run_id = 'q1'), "
        "(SELECT count(*) FROM quality_scores WHERE run_id = 'q1')"
    ).fetchall()
    con.close()
    assert left == [(0, 0)]


def test_saving_again_replaces_a_runs_answers_and_scores(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    qstore = _save_quality_run(store, "q1", exact_match=0.25)
    qstore.save(
        "q1", group_id="g", eval_set="capitals", repeats=1, outputs=_outputs(1), scores=_scores(1.0)
    )
    assert len(qstore.outputs("q1")) == 1
    assert qstore.exact_match_pct("q1") == pytest.approx(100.0)


def test_a_file_that_is_not_duckdb_is_named_clearly_by_the_quality_store(tmp_path: Path) -> None:
    bad = tmp_path / "notes.duckdb"
    bad.write_text("these are my notes, not a database\n" * 200, encoding="utf-8")
    with pytest.raises(StoreError, match="not an inferlab database"):
        QualityStore(bad)
    assert bad.read_text(encoding="utf-8").startswith("these are my notes")
