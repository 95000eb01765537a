"""Several processes save runs into one database file at once; a killed probe loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from inferlab.store import Store
from tests.unit.store_helpers import make_info, make_record

WORKER = str(Path(__file__).resolve().parent / "store_worker.py")


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, WORKER, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen[str]) -> str:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return out


def test_two_probe_processes_and_a_bulk_writer_lose_nothing(tmp_path: Path) -> None:
    db = tmp_path / "shared.duckdb"
    procs = [
        _start("spool", str(db), "probe-a", "300"),
        _start("spool", str(db), "probe-b", "300"),
        _start("bulk", str(db), "import", "8", "50"),
    ]
    # Meanwhile this process (the "dashboard") keeps reading the store.
    while any(p.poll() is None for p in procs):
        Store(db).list_runs()
    for p in procs:
        _finish(p)
    store = Store(db)
    runs = store.list_runs().set_index("run_id")
    assert len(runs) == 2 + 8
    for run_id in ("probe-a", "probe-b"):
        assert runs.loc[run_id, "status"] == "completed"
        assert [r.index for r in store.records(run_id)] == list(range(300))
        assert store.summary(run_id).failed == len([i for i in range(300) if i % 7 == 3])
    for r in range(8):
        assert runs.loc[f"import-{r}", "requests"] == 50
    assert not [p for p in store.spool_dir.iterdir() if not p.name.startswith(".")]


def test_kill_9_of_a_probe_keeps_every_added_record_and_marks_the_run_interrupted(
    tmp_path: Path,
) -> None:
    db = tmp_path / "crash.duckdb"
    proc = _start("spool", str(db), "doomed", "100000", "--no-close")
    assert proc.stdout is not None
    acked = 0
    for line in proc.stdout:
        acked = int(line.split()[1])
        if acked >= 200:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    store = Store(db)  # the next open ingests the orphaned spool
    assert store.run_status("doomed") == "interrupted"
    indices = [r.index for r in store.records("doomed")]
    assert len(indices) >= acked
    assert indices == list(range(len(indices)))  # no gaps, no duplicates, no torn rows
    assert store.summary("doomed").status == "interrupted"
    assert not list(store.spool_dir.glob("doomed.*"))


def test_writer_close_while_another_process_holds_the_file_defers_to_next_open(
    tmp_path: Path,
) -> None:
    db = tmp_path / "busy.duckdb"
    store = Store(db, busy_timeout_s=0.2)
    writer = store.run_writer(make_info("deferred"))
    for i in range(20):
        writer.add(make_record(i))
    holder = _start("hold", str(db), "2")
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "locked"
    assert writer.close("cancelled") is False  # file busy: the spool stays on disk
    assert (store.spool_dir / "deferred.jsonl").exists()
    _finish(holder)
    reopened = Store(db)
    assert reopened.run_status("deferred") == "cancelled"
    assert len(reopened.records("deferred")) == 20


def test_a_live_run_is_listed_as_running_with_its_records_so_far(tmp_path: Path) -> None:
    store = Store(tmp_path / "live.duckdb")
    writer = store.run_writer(make_info("live"))
    for i in range(5):
        writer.add(make_record(i))
    assert store.run_status("live") == "running"
    assert store.summary("live").requests == 5
    listed = store.list_runs().set_index("run_id").loc["live"]
    assert listed["requests"] == 5 and listed["ttft_p50_ms"] == 202.0
    assert len(store.requests_frame("live")) == 5
    writer.add(make_record(5))
    writer.close("completed")
    assert store.run_status("live") == "completed"
    assert store.summary("live").requests == 6


def test_a_probe_starts_and_saves_while_another_process_holds_the_file(tmp_path: Path) -> None:
    db = tmp_path / "held.duckdb"
    store = Store(db, busy_timeout_s=0.2)
    holder = _start("hold", str(db), "4")
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "locked"
    writer = store.run_writer(make_info("while-held"))  # no database needed to start
    for i in range(30):
        writer.add(make_record(i))
    assert writer.close("completed") is False
    _finish(holder)
    after = Store(db)
    assert after.run_status("while-held") == "completed"
    assert [r.index for r in after.records("while-held")] == list(range(30))
