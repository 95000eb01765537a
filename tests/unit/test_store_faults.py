"""Hostile files and races: SQLite and damaged files, read-only files, concurrent imports."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from inferlab.store import NewRun, Store, StoreError, records_to_arrow
from tests.unit.store_helpers import make_info, make_record

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "import"
SWEEP = FIX / "guidellm-sweep-c1-2-4.json"
_ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "inferlab", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=_ROOT,
        env={**os.environ, **(env or {})},
    )


# -- imports racing each other ------------------------------------------------------------


def test_save_imported_runs_can_skip_runs_stored_meanwhile(isolated_db: Path) -> None:
    store = Store(isolated_db)
    first = NewRun(make_info("a"), records_to_arrow([make_record(0)]))
    store.save_imported_runs([first])
    both = [first, NewRun(make_info("b"), records_to_arrow([make_record(0)]))]
    with pytest.raises(StoreError, match="already exists"):
        store.save_imported_runs(both)
    assert store.save_imported_runs(both, skip_existing=True) == {"a"}
    assert store.run_status("b") == "completed"
    assert len(store.records("a")) == 1  # not saved twice


def test_concurrent_imports_of_one_file_say_already_imported(tmp_path: Path) -> None:
    db = tmp_path / "race.duckdb"
    Store(db)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "inferlab", "import", str(SWEEP), "--db", str(db)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=_ROOT,
        )
        for _ in range(4)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    for (out, err), p in zip(outs, procs, strict=True):
        assert p.returncode == 0, err
        assert "already exists" not in out + err
    lines = [line for out, _ in outs for line in out.splitlines() if "from " in line]
    assert sum(line.startswith("imported:") for line in lines) == 3  # each run once
    assert all(line.startswith(("imported:", "already imported:")) for line in lines)
    assert len(Store(db).list_runs()) == 3


# -- not a DuckDB file ----------------------------------------------------------------------


def test_a_sqlite_file_is_refused_without_fetching_an_extension(tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    home = tmp_path / "home"
    home.mkdir()
    done = _cli("runs", "--db", str(db), env={"HOME": str(home)})
    assert done.returncode == 1
    assert "not a DuckDB database file: it is a SQLite database" in done.stderr
    assert "Traceback" not in done.stderr
    # DuckDB would have created ~/.duckdb/extensions/... to download sqlite_scanner.
    assert not (home / ".duckdb").exists()


# -- damaged files ----------------------------------------------------------------------------

_BLOCK = 262144  # DuckDB's block size; blocks start after three 4 KB headers
_HEADERS = 3 * 4096


def _two_runs(db: Path) -> Store:
    store = Store(db)
    for rid in ("a", "b"):
        rows = records_to_arrow([make_record(i, chunks=16) for i in range(5000)])
        store.save_imported_runs([NewRun(make_info(rid), rows)])
    return store


def test_a_file_cut_in_half_gives_a_clear_message_in_the_cli(tmp_path: Path) -> None:
    db = tmp_path / "cut.duckdb"
    _two_runs(db)
    os.truncate(db, db.stat().st_size // 2)
    for args in (["runs"], ["show", "a"], ["export", "a", "-o", str(tmp_path / "a.csv")]):
        done = _cli(*args, "--db", str(db))
        assert done.returncode == 1, args
        assert f"{db} is damaged" in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr


def test_a_file_with_a_bad_block_refuses_writes_while_its_reads_fail(tmp_path: Path) -> None:
    import duckdb

    db = tmp_path / "bad.duckdb"
    store = _two_runs(db)
    with duckdb.connect(str(db)) as con:
        blocks = con.execute(
            "SELECT DISTINCT block_id FROM pragma_storage_info('requests') WHERE block_id >= 0"
        ).fetchall()
    with open(db, "r+b") as f:  # damage the blocks holding request rows
        for (block,) in blocks:
            f.seek(_HEADERS + int(block) * _BLOCK + 64)
            f.write(b"\xff" * 256)
    size = db.stat().st_size
    with pytest.raises(StoreError, match="is damaged"):
        store.requests_frame("a")
    with pytest.raises(StoreError, match=r"is damaged .*nothing was written"):
        store.save_imported_runs([NewRun(make_info("c"), records_to_arrow([make_record(0)]))])
    with pytest.raises(StoreError, match="nothing was written"):
        store.update_run("b", label="renamed")
    reopened = Store(db)
    assert reopened.run_status("c") is None
    assert reopened.get_run("b") is not None  # what still reads, reads
    assert db.stat().st_size == size


# -- read-only files --------------------------------------------------------------------------


def test_a_database_on_a_read_only_file_system_can_be_read_by_cli_and_dashboard(
    tmp_path: Path,
) -> None:
    from tests.unit.fullfs import run_on_tmpfs

    here = Path(__file__).parent
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    results = run_on_tmpfs(
        here / "fullfs_readonly_worker.py",
        tmp_path / "mnt",
        8192,
        str(out_dir),
        read_only_after=here / "fullfs_readonly_setup.py",
    )
    for name in ("runs", "show", "compare", "export", "report"):
        code, _out, err = results[name]
        assert code == 0, (name, err)
    runs = json.loads(results["runs"][1])
    assert {r["run_id"]: r["status"] for r in runs} == {
        "base": "completed",
        "next": "completed",
        "pending": "running",  # its spool cannot be ingested into a read-only file
    }
    assert all(r["requests"] for r in runs)
    assert json.loads(results["show"][1])["requests"] == 20
    assert len(json.loads((out_dir / "base.json").read_text())["runs"][0]["requests"]) == 20
    code, _, err = results["write"]
    assert code == 1 and "is read-only" in err
    exceptions, errors, tables = results["page"]  # the Runs page compares the two runs
    assert exceptions == 0 and errors == [] and tables > 0


# -- set-aside spools -------------------------------------------------------------------------


def test_a_set_aside_spool_is_offered_and_recovered_by_runs_recover(isolated_db: Path) -> None:
    store = Store(isolated_db)
    w = store.run_writer(make_info("aside"))
    for i in range(3):
        w.add(make_record(i))
    w._spool._lock_file.close()  # type: ignore[union-attr]  # the writer "dies"
    w._spool._lock_file = None
    data = store.spool_dir / "aside.jsonl"
    lines = data.read_bytes()
    data.unlink()
    data.mkdir()  # unreadable for now: the spool is set aside on the next open
    assert Store(isolated_db).set_aside_spools() == ["aside"]
    listed = _cli("runs", "--db", str(isolated_db))
    assert "`inferlab runs --recover` tries again" in listed.stderr
    assert "aside" in listed.stderr
    aside = store.spool_dir / "aside.jsonl.unreadable"
    aside.rmdir()  # the cause is fixed: the lines are readable again
    aside.write_bytes(lines)
    done = _cli("runs", "--recover", "--json", "--db", str(isolated_db))
    assert done.returncode == 0, done.stderr
    assert "recovered: aside: saved 3 requests" in done.stderr
    assert "set aside" not in done.stderr
    assert json.loads(done.stdout)[0]["status"] == "interrupted"
    assert len(Store(isolated_db).records("aside")) == 3
    assert list(store.spool_dir.iterdir()) == []


def test_every_duckdb_connection_has_extension_downloads_off(tmp_path: Path) -> None:
    from inferlab.store.db import duckdb_connect

    for target in (":memory:", str(tmp_path / "x.duckdb")):
        with duckdb_connect(target) as con:
            settings = con.execute(
                "SELECT current_setting('autoinstall_known_extensions'), "
                "current_setting('autoload_known_extensions')"
            ).fetchall()
        assert settings == [(False, False)]
