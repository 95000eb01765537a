"""Runs page on a damaged database file: a clear message, never an uncaught StoreError."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from inferlab.store import Store
from tests.app.conftest import OpenPage
from tests.runs_data import store_run

_BLOCK = 262144  # DuckDB's block size; blocks start after three 4 KB headers
_HEADERS = 3 * 4096


@pytest.fixture
def two_runs(isolated_db: Path) -> Path:
    store_run(isolated_db, "base", label="baseline", n=3000)
    store_run(isolated_db, "next", label="next", n=3000, seed=1)
    Store(isolated_db).list_runs()  # the run list's figures are cached in the file
    return isolated_db


def _shows_damage(at: object) -> None:
    assert not at.exception  # type: ignore[attr-defined]
    errors = [e.value for e in at.error]  # type: ignore[attr-defined]
    assert any("is damaged" in e for e in errors), errors


@pytest.mark.parametrize("fraction", [0.5, 0.9])
def test_a_file_cut_short_gives_a_message(
    open_page: OpenPage, two_runs: Path, fraction: float
) -> None:
    os.truncate(two_runs, int(two_runs.stat().st_size * fraction))
    _shows_damage(open_page("runs", {"runs": "base,next"}, timeout=60))


def test_damaged_request_blocks_give_a_message_when_runs_are_compared(
    open_page: OpenPage, two_runs: Path
) -> None:
    with duckdb.connect(str(two_runs)) as con:
        blocks = con.execute(
            "SELECT DISTINCT block_id FROM pragma_storage_info('requests') WHERE block_id >= 0"
        ).fetchall()
    with open(two_runs, "r+b") as f:
        for (block,) in blocks:
            f.seek(_HEADERS + int(block) * _BLOCK + 64)
            f.write(b"\xff" * 256)
    assert len(Store(two_runs).list_runs()) == 2  # the list still reads
    _shows_damage(open_page("runs", {"runs": "base,next"}, timeout=60))


def test_a_set_aside_spool_is_pointed_out_with_the_recover_command(
    open_page: OpenPage, isolated_db: Path
) -> None:
    store_run(isolated_db, "base", n=50)
    spool = Store(isolated_db).spool_dir
    spool.mkdir(exist_ok=True)
    (spool / "lost.run.json.unreadable").write_text("{}")
    at = open_page("runs")
    assert not at.exception
    warning = next(w.value for w in at.warning if "set aside" in w.value)
    assert "lost" in warning and "inferlab runs --recover" in warning
