"""Per-run spool files: how a running probe keeps its records safe without the DB.

DuckDB lets one process hold a database file open for writing, so a probe
cannot keep the file open for the whole run while the dashboard (or another
probe) also saves runs. Instead the probe appends each completed request to a
spool file next to the database (`<db>.spool/<run_id>.jsonl`), and whoever
next opens the store ingests finished spools in one transaction and deletes
them. Layout of one spool, written in this order:

- `<run_id>.lock`: the writer's pid; the writer holds an exclusive `flock` on
  it while alive. The kernel drops the lock when the process dies (even after
  `kill -9`), so "lock can be taken" means "writer finished or dead", with no
  pid-reuse race.
- `<run_id>.run.json`: the run header (RunInfo), written atomically.
- `<run_id>.jsonl`: one JSON object per request, appended with one `write()`
  each (a process crash loses nothing that `add()` returned for), `fsync`ed
  by a helper thread every `fsync_interval_s` (a power cut loses at most that
  window; the caller never waits for the disk).
- `<run_id>.server.jsonl` (optional): one line per /metrics scrape of the
  server (`inferlab.server`), appended like the records, ingested with them.
- `<run_id>.end.json`: final status, written atomically by `close()`. A spool
  whose lock is free and has no end file belonged to a dead writer: its run is
  ingested with status `interrupted`.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import threading
import weakref
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from inferlab.records import RequestRecord, RunInfo, RunStatus
from inferlab.server.samples import Scrape

try:  # POSIX; elsewhere liveness falls back to checking the pid.
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "RUN_ID_PATTERN",
    "SpoolEntry",
    "SpoolWriter",
    "claim_finished",
    "info_from_json",
    "info_to_json",
    "list_set_aside",
    "list_spools",
    "record_to_json",
    "restore_set_aside",
    "scrape_to_json",
    "scrapes_path",
    "spool_dir",
]

RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")


def spool_dir(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".spool")


def _finite(x: float | None) -> float | None:
    return x if x is None or math.isfinite(x) else None


def record_to_json(rec: RequestRecord) -> dict[str, Any]:
    """One request as a spool line (column names of the `requests` table)."""
    return {
        "idx": rec.index,
        "scheduled_ms": _finite(rec.scheduled_ms),
        "sent_ms": _finite(rec.sent_ms),
        "ok": rec.ok,
        "ttft_ms": _finite(rec.ttft_ms),
        "e2e_ms": _finite(rec.e2e_ms),
        "ttfot_ms": _finite(rec.ttfot_ms),
        "chunk_offsets_ms": [_finite(x) for x in rec.chunk_offsets_ms],
        "chunk_tokens": list(rec.chunk_tokens),
        "input_tokens": rec.input_tokens,
        "output_tokens": rec.output_tokens,
        "token_count_source": rec.token_count_source,
        "http_status": rec.http_status,
        "error_class": rec.error_class,
        "error_message": rec.error_message,
        "warmup": rec.warmup,
        "notes": list(rec.notes) or None,
        **({"server_timing": asdict(rec.server_timing)} if rec.server_timing else {}),
        "cached_tokens": rec.cached_tokens,
        "session_id": rec.session_id,
        "turn": rec.turn,
    }


def scrape_to_json(scrape: Scrape) -> dict[str, Any]:
    """One /metrics scrape as a line of `<run_id>.server.jsonl`."""
    return {
        "endpoint": scrape.endpoint,
        "t_ms": scrape.t_ms,
        "ok": scrape.ok,
        "error": scrape.error,
        "samples": [[s.name, s.labels_json, s.le, s.value] for s in scrape.samples],
    }


def scrapes_path(directory: Path, run_id: str) -> Path:
    return directory / f"{run_id}.server.jsonl"


def info_to_json(info: RunInfo) -> dict[str, Any]:
    return {
        "run_id": info.run_id,
        "started_at": info.started_at.isoformat(),
        "endpoint": info.endpoint,
        "model": info.model,
        "api": info.api,
        "load_mode": info.load_mode,
        "load_value": info.load_value,
        "label": info.label,
        "tags": list(info.tags),
        "source_tool": info.source_tool,
        "group_id": info.group_id,
        "settings": info.settings,
    }


def info_from_json(d: dict[str, Any]) -> RunInfo:
    return RunInfo(
        run_id=str(d["run_id"]),
        started_at=datetime.fromisoformat(str(d["started_at"])),
        endpoint=str(d.get("endpoint", "")),
        model=str(d.get("model", "")),
        api=str(d.get("api", "chat")),
        load_mode=str(d.get("load_mode", "concurrency")),
        load_value=float(d.get("load_value", 1.0)),
        label=str(d.get("label", "")),
        tags=tuple(str(t) for t in d.get("tags", ())),
        source_tool=str(d.get("source_tool", "inferlab")),
        group_id=d.get("group_id"),
        settings=dict(d.get("settings") or {}),
    )


def _write_atomic(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, default=str)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):  # e.g. a full disk: leave no half file behind
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not supported on every platform
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class SpoolWriter:
    """Append-only, crash-safe record file of one running run (one process, any thread)."""

    def __init__(self, directory: Path, info: RunInfo, fsync_interval_s: float = 0.2) -> None:
        if not RUN_ID_PATTERN.match(info.run_id):
            raise ValueError(
                f"run id {info.run_id!r} must be 1-128 letters, digits, '.', '_', ':' or '-'"
            )
        directory.mkdir(parents=True, exist_ok=True)
        self.run_id = info.run_id
        self.directory = directory
        self.fsync_interval_s = fsync_interval_s
        base = directory / info.run_id
        self.lock_path = base.with_name(info.run_id + ".lock")
        self.header_path = base.with_name(info.run_id + ".run.json")
        self.data_path = base.with_name(info.run_id + ".jsonl")
        self.end_path = base.with_name(info.run_id + ".end.json")
        if self.header_path.exists():
            raise FileExistsError(f"a spool for run {info.run_id!r} already exists")
        self._lock_file: IO[str] | None = open(self.lock_path, "w", encoding="utf-8")  # noqa: SIM115
        if fcntl is not None:  # held by another writer of this id: raises, touches nothing
            fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        try:
            self._lock_file.write(str(os.getpid()))
            self._lock_file.flush()
            _write_atomic(self.header_path, info_to_json(info))
            self._fd: int | None = os.open(
                self.data_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644
            )
        except OSError:  # e.g. a full disk: leave no half-made spool behind
            for path in (self.header_path, self.lock_path):
                with contextlib.suppress(OSError):
                    path.unlink()
            with contextlib.suppress(OSError):
                self._lock_file.close()
            raise
        self._fd_finalizer = weakref.finalize(self, os.close, self._fd)  # closes once
        _fsync_dir(directory)
        self._dirty = False
        self.count = 0
        # fsync runs on a helper thread: a slow disk must not stall the probe's event
        # loop (that would delay reading streams and inflate measured latencies).
        self._io_lock = threading.Lock()
        self._stop = threading.Event()
        self._syncer = threading.Thread(
            target=_sync_loop,
            args=(weakref.ref(self), self._stop, fsync_interval_s),
            name=f"spool-fsync-{info.run_id}",
            daemon=True,
        )
        self._syncer.start()

    def add(self, rec: RequestRecord) -> None:
        """Append one record; on return it survives a crash of this process."""
        line = json.dumps(record_to_json(rec), separators=(",", ":"), allow_nan=False) + "\n"
        with self._io_lock:
            if self._fd is None:
                raise ValueError(f"spool of run {self.run_id!r} is closed")
            data = line.encode("utf-8")
            n = os.write(self._fd, data)  # one write: no torn lines on a kill
            while n < len(data):  # a short write (a nearly full disk): the rest raises why
                n += os.write(self._fd, data[n:])
            self.count += 1
            self._dirty = True

    def add_scrape(self, scrape: Scrape) -> None:
        """Append one /metrics scrape (a no-op once the spool is sealed)."""
        line = json.dumps(scrape_to_json(scrape), separators=(",", ":")) + "\n"  # le may be inf
        with self._io_lock:
            if self._fd is None:
                return
            fd = os.open(
                scrapes_path(self.directory, self.run_id),
                os.O_WRONLY | os.O_CREAT | os.O_APPEND,
                0o644,
            )
            try:
                os.write(fd, line.encode("utf-8"))
            finally:
                os.close(fd)

    def sync(self) -> None:
        """fsync pending lines (called every `fsync_interval_s` and on close)."""
        with self._io_lock:  # never held during the fsync itself: add() must not wait
            if self._fd is None or not self._dirty:
                return
            fd = self._fd
            self._dirty = False
        os.fsync(fd)  # close() joins the sync thread before closing fd

    def close(self, status: RunStatus, validity: dict[str, Any] | None = None) -> None:
        """Seal the spool with its final status (and the run's validity facts, when
        given) and release the lock (idempotent).

        The lock is released even if the disk refuses the last writes (full, failing):
        a spool without its end file is then ingested as `interrupted`.
        """
        if self._fd is None:
            return
        self._stop.set()
        if self._syncer is not threading.current_thread():
            self._syncer.join()
        try:
            self.sync()
            with self._io_lock:
                if self._fd is None:
                    return
                self._fd_finalizer()  # os.close(fd), at most once
                self._fd = None
            finished = datetime.now(UTC).isoformat()
            end: dict[str, Any] = {"status": status, "finished_at": finished}
            if validity is not None:
                end["validity"] = validity
            _write_atomic(self.end_path, end)
        finally:
            with self._io_lock:
                if self._fd is not None:
                    self._fd_finalizer()
                    self._fd = None
            if self._lock_file is not None:
                self._lock_file.close()  # releases the flock
                self._lock_file = None

    @property
    def closed(self) -> bool:
        return self._fd is None


def _sync_loop(ref: weakref.ref[SpoolWriter], stop: threading.Event, interval_s: float) -> None:
    # Holds the writer only weakly: an abandoned writer is still garbage-collected,
    # which releases its lock, so its run is then ingested as `interrupted`.
    while not stop.wait(interval_s):
        writer = ref()
        if writer is None:
            return
        with contextlib.suppress(OSError):
            writer.sync()
        del writer


@dataclass
class SpoolEntry:
    """A finished (or orphaned) spool claimed for ingestion; `release()` when done."""

    run_id: str
    info: RunInfo
    data_path: Path
    status: RunStatus
    finished_at: datetime | None
    _paths: list[Path]
    _lock_file: IO[str] | None
    validity: dict[str, Any] | None = None

    def remove(self) -> None:
        """Delete the spool files (after a committed ingest) and release the claim."""
        for p in self._paths:
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
        self.release()

    def quarantine(self) -> None:
        """Set an unreadable spool aside (renamed `*.unreadable`) and release the claim."""
        for p in self._paths:
            with contextlib.suppress(OSError):
                p.rename(p.with_name(p.name + ".unreadable"))
        self.release()

    def release(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None


def list_spools(directory: Path) -> list[str]:
    """Run ids that have a spool in `directory`."""
    if not directory.is_dir():
        return []
    return sorted(
        p.name[: -len(".run.json")] for p in directory.iterdir() if p.name.endswith(".run.json")
    )


_SET_ASIDE = ".unreadable"


def list_set_aside(directory: Path) -> list[str]:
    """Run ids whose spool was set aside as unreadable (`SpoolEntry.quarantine`)."""
    if not directory.is_dir():
        return []
    tail = ".run.json" + _SET_ASIDE
    return sorted(p.name[: -len(tail)] for p in directory.iterdir() if p.name.endswith(tail))


def restore_set_aside(directory: Path, run_id: str) -> bool:
    """Put a set-aside spool back so the next open ingests it again; False if it cannot be.

    The header goes back last: until it is there, no opener claims the spool.
    """
    if not RUN_ID_PATTERN.match(run_id) or (directory / f"{run_id}.run.json").exists():
        return False
    for suffix in (".jsonl", ".server.jsonl", ".end.json", ".lock", ".run.json"):
        src = directory / f"{run_id}{suffix}{_SET_ASIDE}"
        if src.exists():
            src.rename(directory / f"{run_id}{suffix}")
    return True


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _try_lock(lock_path: Path) -> IO[str] | None:
    """Take the writer's lock if its writer is gone; None while the writer is alive."""
    try:
        f = open(lock_path, "r+", encoding="utf-8")  # noqa: SIM115
    except FileNotFoundError:
        return None
    if fcntl is not None:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            return None
        return f
    try:  # pragma: no cover - no flock: fall back to the pid
        pid = int(f.read().strip() or 0)
    except ValueError:  # pragma: no cover
        pid = 0
    if pid and pid != os.getpid() and _pid_alive(pid):  # pragma: no cover
        f.close()
        return None
    return f  # pragma: no cover


def claim_finished(directory: Path) -> list[SpoolEntry]:
    """Claim every spool whose writer finished or died (live writers are left alone)."""
    entries: list[SpoolEntry] = []
    for run_id in list_spools(directory):
        lock_path = directory / f"{run_id}.lock"
        header_path = directory / f"{run_id}.run.json"
        data_path = directory / f"{run_id}.jsonl"
        end_path = directory / f"{run_id}.end.json"
        paths = [data_path, scrapes_path(directory, run_id), end_path, header_path, lock_path]
        lock = _try_lock(lock_path)
        if lock is None and lock_path.exists():
            continue  # writer alive
        # (No lock file at all: an earlier cleanup was interrupted; nobody writes it.)
        try:
            info = info_from_json(json.loads(header_path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            if lock is not None:
                lock.close()
            continue  # cleaned up by someone else meanwhile
        except (ValueError, KeyError, TypeError):
            # A header torn by a crash cannot be attributed to a run: set it aside.
            with contextlib.suppress(OSError):
                header_path.rename(header_path.with_name(header_path.name + ".corrupt"))
            if lock is not None:
                lock.close()
            continue
        status: RunStatus = "interrupted"
        finished_at: datetime | None = None
        validity: dict[str, Any] | None = None
        try:
            end = json.loads(end_path.read_text(encoding="utf-8"))
            if isinstance(end.get("validity"), dict):
                validity = end["validity"]
            if end.get("status") in ("running", "completed", "cancelled", "interrupted", "failed"):
                status = end["status"]
            finished_at = datetime.fromisoformat(end["finished_at"])
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            pass
        if status == "running":
            status = "interrupted"
        entries.append(
            SpoolEntry(run_id, info, data_path, status, finished_at, paths, lock, validity)
        )
    return entries
