"""The run store: one DuckDB file, opened briefly for each operation.

No connection outlives a method call, so the dashboard, several `inferlab
probe` processes and the CLI can share one file (DuckDB allows one process to
hold it at a time): a call that finds the file locked retries with backoff
for up to `busy_timeout_s`. Running probes write to spool files instead
(`inferlab.store.spool`); every open ingests finished or orphaned spools.
Design and reasons: docs/DESIGN-storage.md.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import itertools
import json
import logging
import os
import random
import threading
import time
import types
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inferlab.metrics.summary import RunSummary, Slo, Stats
from inferlab.records import RequestRecord, RunInfo, RunStatus
from inferlab.server.samples import Sample, Scrape
from inferlab.store import spool as spool_mod
from inferlab.store.redact import clean_endpoint, clean_settings
from inferlab.store.schema import SCHEMA_VERSION, SchemaTooNewError, current_version, migrate
from inferlab.store.sql import (
    ERRORS_SQL,
    GOODPUT_SQL,
    ITL_SQL,
    LIVE_STATS_SQL,
    REFRESH_STATS_SQL,
    SPOOL_COLUMNS,
    SUMMARY_SQL,
)
from inferlab.validity import Validity, ValidityFacts, judge

if TYPE_CHECKING:
    import duckdb
    import numpy as np
    import pandas as pd
    import pyarrow as pa
else:  # imported on first use: `inferlab probe` measures without them
    from inferlab.store._lazy import LazyModule

    duckdb = LazyModule("duckdb")
    np = LazyModule("numpy")
    pd = LazyModule("pandas")
    pa = LazyModule("pyarrow")

__all__ = [
    "RUN_STATUSES",
    "SESSION_COLUMNS",
    "NewRun",
    "RecoveredSpool",
    "RunWriter",
    "Store",
    "StoreBusyError",
    "StoreError",
    "UnknownRunError",
    "default_db_path",
    "duckdb_connect",
    "records_to_arrow",
]

_log = logging.getLogger(__name__)
RUN_STATUSES: tuple[RunStatus, ...] = ("running", "completed", "cancelled", "interrupted", "failed")
_PROJECT_ROOT = Path(__file__).resolve().parents[3]


class StoreError(Exception):
    """The database cannot be used as asked; the message says why and what to do."""


class StoreBusyError(StoreError):
    """Another process kept the database file locked for longer than the busy timeout."""


class UnknownRunError(StoreError):
    """No run has this id."""


def default_db_path() -> Path:
    """$INFERLAB_DB, else <project root>/data/inferlab.duckdb."""
    env = os.environ.get("INFERLAB_DB")
    if env:
        return Path(env).expanduser()
    # A non-editable install has no project root: use the working directory's data/.
    root = _PROJECT_ROOT if (_PROJECT_ROOT / "pyproject.toml").exists() else Path.cwd()
    return root / "data" / "inferlab.duckdb"


# One lock per database file and process: DuckDB shares one instance between a
# process's connections, and serialising our writers avoids transaction conflicts.
_PROCESS_LOCKS: dict[str, threading.RLock] = {}
_PROCESS_LOCKS_GUARD = threading.Lock()


def _process_lock(path: Path) -> threading.RLock:
    with _PROCESS_LOCKS_GUARD:
        return _PROCESS_LOCKS.setdefault(str(path), threading.RLock())


# DuckDB must never fetch an extension from the internet (e.g. `sqlite_scanner`
# when it is handed a SQLite file): no auto-install, no auto-load, on every connection.
_CONNECT_CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}


def duckdb_connect(
    path: str | os.PathLike[str] = ":memory:", read_only: bool = False
) -> duckdb.DuckDBPyConnection:
    """The one way inferlab opens DuckDB (a file or in memory): extensions never fetched."""
    return duckdb.connect(str(path), read_only=read_only, config=dict(_CONNECT_CONFIG))


_connect = duckdb_connect


def _first_line(msg: str) -> str:
    return msg.strip().splitlines()[0] if msg.strip() else msg


_DAMAGE_SIGNS = ("corrupt database file", "could not read enough bytes", "checksum")


def _damage_message(path: Path, msg: str) -> str | None:
    """A clear message if `msg` is DuckDB finding the file damaged (cut short, bad block)."""
    if not any(sign in msg.lower() for sign in _DAMAGE_SIGNS):
        return None
    return (
        f"{path} is damaged ({_first_line(msg)}). Restore it from a backup, or move it "
        "away (a new one is created on next use); `inferlab export` can copy runs "
        "that still read"
    )


def _is_not_writable(msg: str) -> bool:
    low = msg.lower()
    return "read-only file system" in low or "permission denied" in low


def _not_duckdb_message(path: Path, kind: str = "") -> str:
    return (
        f"{path} is not an inferlab database (not a DuckDB database file{kind}); "
        "pass another --db or move the file away"
    )


_DUCKDB_MAGIC = b"DUCK"  # bytes 8-11 of every DuckDB database file


def _check_is_duckdb(path: Path) -> None:
    """Refuse a file that is not DuckDB's (SQLite, CSV, ...) before DuckDB guesses at it."""
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except (FileNotFoundError, IsADirectoryError):
        return
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror}") from exc
    if head and head[8:12] != _DUCKDB_MAGIC:
        kind = ": it is a SQLite database" if head.startswith(b"SQLite format 3") else ""
        raise StoreError(_not_duckdb_message(path, kind))


# Files whose every table was read back without a checksum error, by path, with
# the (device, inode, size, mtime) they had then: a change by anyone else voids it.
_VERIFIED: dict[str, tuple[int, int, int, int]] = {}
# Files whose scan failed, with their identity then and the message (no rescan per read).
_DAMAGED: dict[str, tuple[tuple[int, int, int, int] | None, str]] = {}


def _file_identity(path: Path) -> tuple[int, int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _is_verified(path: Path) -> bool:
    ident = _file_identity(path)
    return ident is not None and _VERIFIED.get(str(path)) == ident


def _mark_verified(path: Path) -> None:
    ident = _file_identity(path)
    if ident is not None:
        _VERIFIED[str(path)] = ident


def _scan_all_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Read every column of every table (a damaged block raises its checksum error)."""
    tables = con.execute(
        "SELECT table_name FROM duckdb_tables() "
        "WHERE database_name = current_database() AND schema_name = 'main' AND NOT temporary"
    ).fetchall()
    for (name,) in tables:
        quoted = '"' + str(name).replace('"', '""') + '"'
        con.execute(f"SELECT count(*), max(hash(COLUMNS(*))) FROM {quoted}").fetchall()


def _to_utc_naive(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(tzinfo=None)  # naive input = local time


def _from_db_ts(ts: datetime | None) -> datetime | None:
    return None if ts is None else ts.replace(tzinfo=UTC)


@functools.cache
def _req_schema() -> pa.Schema:
    return pa.schema(
        [
            ("idx", pa.int32()),
            ("scheduled_ms", pa.float64()),
            ("sent_ms", pa.float64()),
            ("ok", pa.bool_()),
            ("ttft_ms", pa.float64()),
            ("e2e_ms", pa.float64()),
            ("ttfot_ms", pa.float64()),
            ("chunk_offsets_ms", pa.list_(pa.float64())),
            ("chunk_tokens", pa.list_(pa.int32())),
            ("input_tokens", pa.int32()),
            ("output_tokens", pa.int32()),
            ("token_count_source", pa.string()),
            ("http_status", pa.int32()),
            ("error_class", pa.string()),
            ("error_message", pa.string()),
            ("warmup", pa.bool_()),
            ("notes", pa.list_(pa.string())),
            ("cached_tokens", pa.int32()),
            ("session_id", pa.string()),
            ("turn", pa.int32()),
        ]
    )


def _list_array(seqs: list[tuple[Any, ...]], value_type: pa.DataType, np_type: Any) -> pa.Array:
    """A list column from Python sequences via one flat numpy buffer (fast for millions)."""
    lens = np.fromiter(map(len, seqs), dtype=np.int64, count=len(seqs))
    offsets = np.zeros(len(seqs) + 1, dtype=np.int32)
    np.cumsum(lens, out=offsets[1:])
    flat = np.fromiter(itertools.chain.from_iterable(seqs), dtype=np_type, count=int(offsets[-1]))
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(flat, value_type))


SESSION_COLUMNS = ("cached_tokens", "session_id", "turn")
"""Request columns only inferlab's own probe fills (absent from imported tables)."""


def records_to_arrow(records: Sequence[RequestRecord]) -> pa.Table:
    """Records as an Arrow table with the `requests` columns (no run_id), built column-wise."""
    recs = list(records)
    cols: dict[str, Any] = {
        "idx": [r.index for r in recs],
        "scheduled_ms": [r.scheduled_ms for r in recs],
        "sent_ms": [r.sent_ms for r in recs],
        "ok": [r.ok for r in recs],
        "ttft_ms": [r.ttft_ms for r in recs],
        "e2e_ms": [r.e2e_ms for r in recs],
        "ttfot_ms": [r.ttfot_ms for r in recs],
        "chunk_offsets_ms": _list_array(
            [r.chunk_offsets_ms for r in recs], pa.float64(), np.float64
        ),
        "chunk_tokens": _list_array([r.chunk_tokens for r in recs], pa.int32(), np.int32),
        "input_tokens": [r.input_tokens for r in recs],
        "output_tokens": [r.output_tokens for r in recs],
        "token_count_source": [r.token_count_source for r in recs],
        "http_status": [r.http_status for r in recs],
        "error_class": [r.error_class for r in recs],
        "error_message": [r.error_message for r in recs],
        "warmup": [r.warmup for r in recs],
        "notes": [list(r.notes) if r.notes else None for r in recs],
        "cached_tokens": [r.cached_tokens for r in recs],
        "session_id": [r.session_id for r in recs],
        "turn": [r.turn for r in recs],
    }
    return pa.table(cols, schema=_req_schema())


_REQ_COLS = ", ".join(SPOOL_COLUMNS)
_STAT_FIELDS = ("ttft_ms", "tpot_ms", "itl_ms", "e2e_ms", "client_queue_ms")
_RUN_COLS = (
    "run_id, started_at, finished_at, endpoint, model, api, load_mode, load_value, label, "
    "tags, source_tool, group_id, settings, metadata, status"
)


def _read_spool_sql(path: Path) -> str:
    cols = ", ".join(f"'{k}': '{v}'" for k, v in SPOOL_COLUMNS.items())
    p = str(path).replace("'", "''")
    # ignore_errors: a line torn by a power cut becomes all-NULL and is filtered out.
    return (
        f"SELECT {_REQ_COLS} FROM read_json('{p}', format='newline_delimited', "
        f"columns={{{cols}}}, ignore_errors=true) "
        "WHERE idx IS NOT NULL AND ok IS NOT NULL AND sent_ms IS NOT NULL "
        "AND scheduled_ms IS NOT NULL AND warmup IS NOT NULL"
    )


_SERVER_TABLES = ("server_samples", "server_scrapes", "request_server_timings")
_TIMING_COLS = {
    "source": "VARCHAR",
    "prompt_ms": "DOUBLE",
    "prompt_tokens": "INTEGER",
    "decode_ms": "DOUBLE",
    "decode_tokens": "INTEGER",
    "cached_tokens": "INTEGER",
}


def _ingest_server_spool(con: duckdb.DuckDBPyConnection, run_id: str, data_path: Path) -> None:
    """A run's per-request server timings and /metrics scrapes (inside the ingest transaction)."""
    for table in _SERVER_TABLES:
        con.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])
    p = str(data_path).replace("'", "''")
    struct = ", ".join(f"{k} {v}" for k, v in _TIMING_COLS.items())
    fields = ", ".join(f"server_timing.{k}" for k in _TIMING_COLS)
    con.execute(
        f"INSERT INTO request_server_timings (run_id, idx, {', '.join(_TIMING_COLS)}) "
        f"SELECT ?, idx, {fields} FROM read_json('{p}', format='newline_delimited', "
        f"columns={{'idx': 'INTEGER', 'server_timing': 'STRUCT({struct})'}}, ignore_errors=true) "
        "WHERE idx IS NOT NULL AND server_timing IS NOT NULL AND server_timing.source IS NOT NULL",
        [run_id],
    )
    path = spool_mod.scrapes_path(data_path.parent, run_id)
    if path.exists():
        _insert_scrapes(con, run_id, _read_scrapes(path))


def _read_scrapes(path: Path) -> list[Scrape]:
    """The scrapes of a spool's server file; a line torn by a crash is skipped."""
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                d = json.loads(line)
                samples = tuple(
                    Sample(str(n), tuple(sorted(json.loads(lab).items())), float(v), le)
                    for n, lab, le, v in d["samples"]
                )
                out.append(
                    Scrape(
                        str(d["endpoint"]), float(d["t_ms"]), bool(d["ok"]), d.get("error"), samples
                    )
                )
            except (ValueError, KeyError, TypeError):
                continue
    return out


def _insert_scrapes(con: duckdb.DuckDBPyConnection, run_id: str, scrapes: Sequence[Scrape]) -> None:
    scrape_rows = pa.table(
        {
            "endpoint": [s.endpoint for s in scrapes],
            "t_ms": [s.t_ms for s in scrapes],
            "ok": [s.ok for s in scrapes],
            "error": [s.error for s in scrapes],
            "samples": [len(s.samples) for s in scrapes],
        }
    )
    pairs = [(s, x) for s in scrapes for x in s.samples]
    sample_rows = pa.table(
        {
            "endpoint": pa.array([s.endpoint for s, _ in pairs], pa.string()),
            "t_ms": pa.array([s.t_ms for s, _ in pairs], pa.float64()),
            "name": pa.array([x.name for _, x in pairs], pa.string()),
            "labels": pa.array([x.labels_json for _, x in pairs], pa.string()),
            "le": pa.array([x.le for _, x in pairs], pa.float64()),
            "value": pa.array([x.value for _, x in pairs], pa.float64()),
        }
    )
    con.register("_scrapes", scrape_rows)
    con.register("_samples", sample_rows)
    try:
        con.execute(
            "INSERT INTO server_scrapes SELECT ?, endpoint, t_ms, ok, error, samples FROM _scrapes",
            [run_id],
        )
        con.execute(
            "INSERT INTO server_samples SELECT ?, endpoint, t_ms, name, labels, le, value FROM _samples",
            [run_id],
        )
    finally:
        con.unregister("_scrapes")
        con.unregister("_samples")


@dataclasses.dataclass(frozen=True)
class NewRun:
    """A complete run to save in one go (`Store.save_imported_runs`)."""

    info: RunInfo
    requests: pa.Table | pd.DataFrame | None = None  # `requests` columns, no run_id
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)
    status: RunStatus = "completed"
    scrapes: Sequence[Scrape] = ()  # the server's /metrics as the tool scraped them


def _insert_requests(
    con: duckdb.DuckDBPyConnection, run_id: str, table: pa.Table | pd.DataFrame
) -> None:
    """Bulk-insert request rows of one run (inside the caller's transaction)."""
    present = set(table.column_names if isinstance(table, pa.Table) else table.columns)
    # Columns a table may lack (imported runs have no sessions) are stored as NULL.
    select = ", ".join(c if c in present else f"NULL AS {c}" for c in SPOOL_COLUMNS)
    con.register("_batch", table)
    try:
        con.execute(
            f"INSERT INTO requests (run_id, {_REQ_COLS}) SELECT ?, {select} FROM _batch",
            [run_id],
        )
    finally:
        con.unregister("_batch")


def _invalidate(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """Drop a run's cached statistics after its requests changed."""
    con.execute("DELETE FROM run_stats WHERE run_id = ?", [run_id])
    con.execute("DELETE FROM run_summaries WHERE run_id = ?", [run_id])


def _stats_from(row: Sequence[Any], i: int) -> Stats:
    count, mean, std, qs = row[i], row[i + 1], row[i + 2], row[i + 3]
    if not count:
        return Stats()
    p50, p90, p95, p99 = (float(q) for q in qs)
    return Stats(int(count), float(mean), float(std), p50, p90, p95, p99)


@dataclasses.dataclass(frozen=True)
class RecoveredSpool:
    """What `Store.recover_spools` did with one set-aside spool."""

    run_id: str
    saved: bool
    status: RunStatus | None  # the run's status after the attempt
    requests: int  # request rows stored for the run
    message: str


class Store:
    """The run store in one DuckDB file (created and migrated on first use)."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *, busy_timeout_s: float = 30.0):
        self.path = Path(path).expanduser() if path is not None else default_db_path()
        self.busy_timeout_s = busy_timeout_s
        if not self.path.name or self.path.is_dir():
            raise StoreError(
                f"{str(self.path)!r} is a directory, not a database file; "
                "pass a file path such as data/inferlab.duckdb with --db"
            )
        self.spool_dir = spool_mod.spool_dir(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the folder for {self.path}: {exc.strerror}") from exc
        self._migrated = False
        self._read_only = False
        self._wrote = False
        with self._session():
            pass

    # -- connections -----------------------------------------------------------------

    def _open(self) -> tuple[duckdb.DuckDBPyConnection, bool]:
        """A connection and whether it is read-only (a file we may not write is read only)."""
        _check_is_duckdb(self.path)
        read_only = self.path.exists() and not os.access(self.path, os.W_OK)
        deadline = time.monotonic() + self.busy_timeout_s
        delay = 0.005
        while True:
            try:
                return _connect(self.path, read_only), read_only
            except duckdb.IOException as exc:
                msg = str(exc)
                if not read_only and _is_not_writable(msg) and self.path.exists():
                    read_only = True  # e.g. a read-only file system: reading still works
                    continue
                if "lock" not in msg.lower():
                    if "not a valid DuckDB database" in msg:
                        raise StoreError(_not_duckdb_message(self.path)) from exc
                    if damaged := _damage_message(self.path, msg):
                        raise StoreError(damaged) from exc
                    raise StoreError(f"cannot open {self.path}: {_first_line(msg)}") from exc
                if time.monotonic() >= deadline:
                    raise StoreBusyError(
                        f"{self.path} stayed locked by another process for "
                        f"{self.busy_timeout_s:g} s; close long-running tools using it and retry"
                    ) from exc
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 0.25)
            except duckdb.Error as exc:
                msg = str(exc)
                damaged = _damage_message(self.path, msg)
                raise StoreError(damaged or f"cannot open {self.path}: {_first_line(msg)}") from exc

    @contextlib.contextmanager
    def _session(
        self, ingest: bool = True, *, write: bool = False
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived connection: migrated, spools ingested, closed on exit.

        `write=True` for a call that changes the file: it is refused with a clear
        message on a read-only or damaged file (`_writable`).
        """
        with _process_lock(self.path):
            con, read_only = self._open()
            self._read_only = read_only
            wrote = False
            try:
                if not self._migrated:
                    self._migrate(con, read_only)
                if ingest and not read_only:
                    try:
                        self._ingest_spools(con)
                    except OSError as exc:  # e.g. an unreadable spool folder: reads still work
                        _log.error("cannot ingest spools in %s: %s", self.spool_dir, exc)
                if write:
                    self._require_writable(con)
                    wrote = True
                yield con
            except duckdb.Error as exc:
                # Disk full, a damaged file, ...: one clear line instead of a traceback.
                msg = str(exc)
                damaged = _damage_message(self.path, msg)
                raise StoreError(
                    damaged or f"database error in {self.path}: {_first_line(msg)}"
                ) from exc
            finally:
                try:
                    con.close()  # checkpoints: can fail on a full disk
                except duckdb.Error as exc:
                    raise StoreError(f"cannot save {self.path}: {_first_line(str(exc))}") from exc
                if wrote or self._wrote:
                    _mark_verified(self.path)  # our own writes keep a verified file verified
                self._wrote = False

    def _migrate(self, con: duckdb.DuckDBPyConnection, read_only: bool) -> None:
        try:
            version = current_version(con)
            if version > SCHEMA_VERSION:
                migrate(con)  # raises SchemaTooNewError with the message
            if version < SCHEMA_VERSION:
                if read_only:
                    raise StoreError(
                        f"{self.path} is read-only and has schema version {version} "
                        f"(this inferlab needs {SCHEMA_VERSION}); open it once where it is "
                        "writable to upgrade it, or copy it to a writable place"
                    )
                if version > 0:  # a new, empty file has nothing to damage
                    self._require_writable(con)
                migrate(con)
                self._wrote = True
        except SchemaTooNewError as exc:
            raise StoreError(f"{self.path}: {exc}") from exc
        except duckdb.Error as exc:
            msg = str(exc)
            damaged = _damage_message(self.path, msg)
            raise StoreError(damaged or f"cannot upgrade {self.path}: {_first_line(msg)}") from exc
        self._migrated = True

    def _writable(self, con: duckdb.DuckDBPyConnection) -> bool:
        """True when this session may write: the file is writable and passed its check."""
        if self._read_only:
            return False
        try:
            self._require_writable(con)
        except StoreError:
            return False
        return True

    def _require_writable(self, con: duckdb.DuckDBPyConnection) -> None:
        """Refuse to write a read-only file, or one with a block that fails its checksum.

        DuckDB only notices a damaged block when it reads it, and appending rows
        reads none of the old ones, so a damaged file would keep taking writes
        that the next read can no longer reach. Every table is read once per
        process (and again after another process changed the file) before the
        first write; about 0.5 s for 1,000,000 stored requests
        (bench/bench_store_integrity.py).
        """
        if self._read_only:
            raise StoreError(
                f"{self.path} is read-only: reading works, but saving needs write access; "
                "copy it somewhere writable and pass that with --db"
            )
        if _is_verified(self.path):
            return
        ident = _file_identity(self.path)
        known = _DAMAGED.get(str(self.path))
        if known is not None and known[0] == ident:
            raise StoreError(known[1])  # scanned already; unchanged since
        try:
            _scan_all_tables(con)
        except duckdb.Error as exc:
            msg = (
                f"{self.path} is damaged ({_first_line(str(exc))}), so nothing was written "
                "to it. Restore it from a backup, or move it away (a new one is created on "
                "next use); `inferlab export` can copy runs that still read"
            )
            _DAMAGED[str(self.path)] = (ident, msg)
            raise StoreError(msg) from exc
        _mark_verified(self.path)

    # -- spools ----------------------------------------------------------------------

    def _ingest_spools(self, con: duckdb.DuckDBPyConnection) -> None:
        """Ingest finished/orphaned spools (one transaction each); register live ones."""
        if not self.spool_dir.is_dir():
            return
        entries = spool_mod.claim_finished(self.spool_dir)
        claimed = {e.run_id for e in entries}
        if entries and not self._writable(con):
            # A damaged file: leave the spools for when it is repaired or replaced.
            for entry in entries:
                entry.release()
            _log.error("%s cannot be written; %d spool(s) kept", self.path, len(entries))
            entries = []
        for i, entry in enumerate(entries):
            try:
                self._ingest_one(con, entry)
            except duckdb.Error as exc:
                with contextlib.suppress(duckdb.Error):
                    con.execute("ROLLBACK")
                if self._spool_readable(entry):
                    # The database could not be written (a full disk, ...): the spool
                    # is fine, so keep it for the next open to retry; stop here.
                    for rest in entries[i:]:
                        rest.release()
                    _log.error(
                        "cannot save run %s into %s (%s); its spool is kept and saved "
                        "on the next open",
                        entry.run_id,
                        self.path,
                        _first_line(str(exc)),
                    )
                    return
                # An unreadable spool must not make the store unusable: set it
                # aside (`inferlab runs --recover` retries it) and carry on.
                entry.quarantine()
                with contextlib.suppress(duckdb.Error):  # it may have been listed as running
                    con.execute(
                        "UPDATE runs SET status = 'failed' WHERE run_id = ? AND status = 'running'",
                        [entry.run_id],
                    )
                _log.error(
                    "cannot ingest the spool of run %s (%s); kept as *.unreadable "
                    "(`inferlab runs --recover` retries it)",
                    entry.run_id,
                    _first_line(str(exc)),
                )
                continue
            except BaseException:
                with contextlib.suppress(duckdb.Error):
                    con.execute("ROLLBACK")
                for rest in entries[i:]:
                    rest.release()
                raise
            self._wrote = True
            entry.remove()
            self._materialise_summary(con, entry.run_id)  # the run is final
        # Live spools: make their runs visible as `running`.
        for run_id in spool_mod.list_spools(self.spool_dir):
            if run_id in claimed or self._exists(con, run_id) or not self._writable(con):
                continue
            header = self.spool_dir / f"{run_id}.run.json"
            with contextlib.suppress(FileNotFoundError, ValueError, KeyError, TypeError):
                info = spool_mod.info_from_json(json.loads(header.read_text(encoding="utf-8")))
                self._upsert_run(con, info, "running", None)
                self._wrote = True

    def set_aside_spools(self) -> list[str]:
        """Run ids whose spool could not be read and was set aside (`*.unreadable`)."""
        try:
            return spool_mod.list_set_aside(self.spool_dir)
        except OSError:
            return []

    def recover_spools(self) -> list[RecoveredSpool]:
        """Try to save every set-aside spool again (e.g. after fixing what made it unreadable).

        A spool that still cannot be read is set aside again; nothing is lost either way.
        """
        if self._read_only:
            raise StoreError(f"{self.path} is read-only: recovering spools needs write access")
        out = []
        for run_id in self.set_aside_spools():
            try:
                restored = spool_mod.restore_set_aside(self.spool_dir, run_id)
            except OSError as exc:
                out.append(RecoveredSpool(run_id, False, None, 0, f"cannot restore: {exc}"))
                continue
            if not restored:
                msg = "a spool of that run id is in use; retry when it has finished"
                out.append(RecoveredSpool(run_id, False, self.run_status(run_id), 0, msg))
                continue
            with self._session() as con:  # ingests it
                rows = con.execute(
                    "SELECT (SELECT status FROM runs WHERE run_id = $id), "
                    "(SELECT count(*) FROM requests WHERE run_id = $id)",
                    {"id": run_id},
                ).fetchall()
            status, n = rows[0][0], int(rows[0][1])
            if run_id in self.set_aside_spools():
                msg = "still unreadable; set aside again (see the log for why)"
                out.append(RecoveredSpool(run_id, False, status, n, msg))
            elif (self.spool_dir / f"{run_id}.run.json").exists():
                msg = "kept for the next open: the database could not be written now"
                out.append(RecoveredSpool(run_id, False, status, n, msg))
            else:
                out.append(RecoveredSpool(run_id, True, status, n, f"saved {n:,} requests"))
        return out

    def _ingest_one(self, con: duckdb.DuckDBPyConnection, entry: spool_mod.SpoolEntry) -> None:
        con.execute("BEGIN TRANSACTION")
        self._upsert_run(con, entry.info, entry.status, entry.finished_at)
        con.execute("DELETE FROM requests WHERE run_id = ?", [entry.run_id])
        if entry.data_path.exists():
            # Rows may land in any order (reads order by idx): lets DuckDB
            # parse and write the JSON lines on every core.
            con.execute("SET preserve_insertion_order = false")
            try:
                con.execute(
                    f"INSERT INTO requests (run_id, {_REQ_COLS}) "
                    f"SELECT ?, {_REQ_COLS} FROM ({_read_spool_sql(entry.data_path)})",
                    [entry.run_id],
                )
            finally:
                con.execute("RESET preserve_insertion_order")
            _ingest_server_spool(con, entry.run_id, entry.data_path)
        if entry.validity is not None:
            con.execute(
                "INSERT OR REPLACE INTO run_validity VALUES (?, ?)",
                [entry.run_id, json.dumps(entry.validity, allow_nan=False)],
            )
        _invalidate(con, entry.run_id)
        con.execute("COMMIT")

    @staticmethod
    def _spool_readable(entry: spool_mod.SpoolEntry) -> bool:
        """Whether the spool's lines can be read (tells a bad spool from a failed write).

        Read on a connection of its own: after a failed write (a full disk) DuckDB
        may refuse every further statement on the database's connection.
        """
        if not entry.data_path.exists():
            return True
        try:
            with _connect(Path(":memory:")) as mem:
                mem.execute(f"SELECT count(*) FROM ({_read_spool_sql(entry.data_path)})").fetchall()
        except duckdb.Error:
            return False
        return True

    def _live_spool(self, run_id: str) -> Path | None:
        data = self.spool_dir / f"{run_id}.jsonl"
        return data if data.exists() else None

    # -- runs ------------------------------------------------------------------------

    @staticmethod
    def _exists(con: duckdb.DuckDBPyConnection, run_id: str) -> bool:
        return con.execute("SELECT 1 FROM runs WHERE run_id = ?", [run_id]).fetchall() != []

    def _require(self, con: duckdb.DuckDBPyConnection, run_id: str) -> None:
        if not self._exists(con, run_id):
            raise UnknownRunError(f"no run {run_id!r} in {self.path}; `inferlab runs` lists them")

    @staticmethod
    def _upsert_run(
        con: duckdb.DuckDBPyConnection,
        info: RunInfo,
        status: RunStatus,
        finished_at: datetime | None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Insert the run, or (if present) set its status and end time only."""
        fin = _to_utc_naive(finished_at) if finished_at is not None else None
        if Store._exists(con, info.run_id):
            con.execute(
                "UPDATE runs SET status = ?, finished_at = coalesce(?, finished_at) "
                "WHERE run_id = ?",
                [status, fin, info.run_id],
            )
            return
        con.execute(
            f"INSERT INTO runs ({_RUN_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                info.run_id,
                _to_utc_naive(info.started_at),
                fin,
                clean_endpoint(info.endpoint),
                info.model,
                info.api,
                info.load_mode,
                float(info.load_value),
                info.label,
                list(info.tags),
                info.source_tool,
                info.group_id,
                json.dumps(clean_settings(info.settings), default=str),
                json.dumps(clean_settings(dict(metadata or {})), default=str),
                status,
            ],
        )

    def create_run(self, info: RunInfo, status: RunStatus = "running") -> None:
        """Register a run whose requests come later through `add_requests`."""
        if not spool_mod.RUN_ID_PATTERN.match(info.run_id):
            raise StoreError(
                f"run id {info.run_id!r} must be 1-128 letters, digits, '.', '_', ':' or '-'"
            )
        with self._session(write=True) as con:
            if self._exists(con, info.run_id):
                raise StoreError(f"run {info.run_id!r} already exists in {self.path}")
            self._upsert_run(con, info, status, None)

    def add_requests(self, run_id: str, records: Sequence[RequestRecord]) -> None:
        """Append requests to a run in one bulk insert (Arrow)."""
        self.add_requests_table(run_id, records_to_arrow(records))

    def add_requests_table(self, run_id: str, table: pa.Table | pd.DataFrame) -> None:
        """Bulk-append request rows given column-wise (the `requests` columns, no run_id)."""
        with self._session(write=True) as con:
            self._require(con, run_id)
            con.execute("BEGIN TRANSACTION")
            try:
                _insert_requests(con, run_id, table)
                _invalidate(con, run_id)
                con.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(duckdb.Error):
                    con.execute("ROLLBACK")
                raise

    def save_imported_runs(
        self, items: Sequence[NewRun], *, skip_existing: bool = False
    ) -> set[str]:
        """Save complete runs (row, requests, metadata, final status) all together or not at all.

        One connection, one transaction: any failure (an id that already exists,
        a bad request row, a full disk, a crash) leaves none of them in the file.
        Raises StoreError naming the problem. With `skip_existing`, runs whose id
        is already stored (e.g. another process imported the same file a moment
        ago) are left out instead, decided inside the transaction; returns their ids.
        """
        runs = list(items)
        seen: set[str] = set()
        for item in runs:
            rid = item.info.run_id
            if not spool_mod.RUN_ID_PATTERN.match(rid):
                raise StoreError(
                    f"run id {rid!r} must be 1-128 letters, digits, '.', '_', ':' or '-'"
                )
            if item.status not in RUN_STATUSES or item.status == "running":
                raise StoreError(
                    f"run {rid!r}: an imported run needs a final status, not {item.status!r}"
                )
            if rid in seen:
                raise StoreError(f"run id {rid!r} appears twice in one import")
            seen.add(rid)
        now = datetime.now(UTC)
        skipped: set[str] = set()
        with self._session(write=True) as con:
            con.execute("BEGIN TRANSACTION")
            try:
                for item in runs:
                    rid = item.info.run_id
                    if self._exists(con, rid):
                        if skip_existing:
                            skipped.add(rid)
                            continue
                        raise StoreError(f"run {rid!r} already exists in {self.path}")
                    self._upsert_run(con, item.info, item.status, now, item.metadata)
                    if item.requests is not None and len(item.requests):
                        _insert_requests(con, rid, item.requests)
                    if item.scrapes:
                        _insert_scrapes(con, rid, item.scrapes)
                con.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(duckdb.Error):
                    con.execute("ROLLBACK")
                raise
            for item in runs:
                if item.info.run_id not in skipped:
                    self._materialise_summary(con, item.info.run_id)
        return skipped

    def finish_run(self, run_id: str, status: RunStatus = "completed") -> None:
        if status not in RUN_STATUSES:
            raise StoreError(f"unknown run status {status!r}; use one of {', '.join(RUN_STATUSES)}")
        with self._session(write=True) as con:
            self._require(con, run_id)
            con.execute(
                "UPDATE runs SET status = ?, finished_at = ? WHERE run_id = ?",
                [status, _to_utc_naive(datetime.now(UTC)), run_id],
            )
            if status != "running" and self._live_spool(run_id) is None:
                self._materialise_summary(con, run_id)

    def run_writer(self, info: RunInfo, *, fsync_interval_s: float = 0.2) -> RunWriter:
        """A crash-safe incremental writer for a running probe (see `RunWriter`)."""
        return RunWriter(self, info, fsync_interval_s=fsync_interval_s)

    def run_ids_starting_with(self, prefix: str, limit: int = 10) -> list[str]:
        """Up to `limit` run ids that begin with `prefix`, in id order."""
        with self._session() as con:
            rows = con.execute(
                "SELECT run_id FROM runs WHERE starts_with(run_id, ?) ORDER BY run_id LIMIT ?",
                [prefix, limit],
            ).fetchall()
        return [str(r[0]) for r in rows]

    def get_run(self, run_id: str) -> RunInfo | None:
        with self._session() as con:
            rows = con.execute(
                "SELECT run_id, started_at, endpoint, model, api, load_mode, load_value, label, "
                "tags, source_tool, group_id, settings FROM runs WHERE run_id = ?",
                [run_id],
            ).fetchall()
        if not rows:
            return None
        row = rows[0]
        started = _from_db_ts(row[1])
        assert started is not None
        return RunInfo(
            run_id=row[0],
            started_at=started,
            endpoint=row[2],
            model=row[3],
            api=row[4],
            load_mode=row[5],
            load_value=float(row[6]),
            label=row[7],
            tags=tuple(row[8] or ()),
            source_tool=row[9],
            group_id=row[10],
            settings=json.loads(row[11] or "{}"),
        )

    def run_status(self, run_id: str) -> RunStatus | None:
        with self._session() as con:
            rows = con.execute("SELECT status FROM runs WHERE run_id = ?", [run_id]).fetchall()
        return rows[0][0] if rows else None

    def run_metadata(self, run_id: str) -> dict[str, Any]:
        with self._session() as con:
            self._require(con, run_id)
            rows = con.execute("SELECT metadata FROM runs WHERE run_id = ?", [run_id]).fetchall()
        return dict(json.loads(rows[0][0] or "{}")) if rows else {}

    def runs_metadata(self, run_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """`run_metadata` of several runs in one session (unknown ids are left out)."""
        with self._session() as con:
            rows = con.execute(
                "SELECT run_id, metadata FROM runs WHERE list_contains(?, run_id)",
                [list(run_ids)],
            ).fetchall()
        return {str(r[0]): dict(json.loads(r[1] or "{}")) for r in rows}

    def add_run_metadata(self, run_id: str, metadata: dict[str, Any]) -> None:
        """Merge free-form metadata (gpu, model_params_b, precision, ...) into the run's."""
        with self._session(write=True) as con:
            self._require(con, run_id)
            rows = con.execute("SELECT metadata FROM runs WHERE run_id = ?", [run_id]).fetchall()
            merged = dict(json.loads(rows[0][0] or "{}")) if rows else {}
            merged.update(clean_settings(dict(metadata)))  # type: ignore[call-overload]
            con.execute(
                "UPDATE runs SET metadata = ? WHERE run_id = ?",
                [json.dumps(merged, default=str), run_id],
            )

    def validity(self, run_id: str) -> Validity:
        """The run's validity verdict (`unknown` for imported or older runs)."""
        return self.validities([run_id]).get(run_id) or judge(None)

    def validities(self, run_ids: Sequence[str]) -> dict[str, Validity]:
        """Validity verdicts of several runs, one store session; unknown ids left out."""
        if not run_ids:
            return {}
        ids = list(run_ids)
        with self._session() as con:
            rows = con.execute(
                "SELECT r.run_id, r.source_tool, v.facts FROM runs r "
                "LEFT JOIN run_validity v USING (run_id) WHERE r.run_id IN "
                "(SELECT unnest(?::VARCHAR[]))",
                [ids],
            ).fetchall()
        out: dict[str, Validity] = {}
        for run_id, tool, facts in rows:
            parsed = None
            if facts:
                with contextlib.suppress(ValueError, TypeError):
                    parsed = ValidityFacts.from_json(json.loads(facts))
            out[run_id] = judge(parsed, tool or "inferlab")
        return out

    def update_run(
        self, run_id: str, label: str | None = None, tags: Sequence[str] | None = None
    ) -> None:
        with self._session(write=True) as con:
            self._require(con, run_id)
            if label is not None:
                con.execute("UPDATE runs SET label = ? WHERE run_id = ?", [label, run_id])
            if tags is not None:
                con.execute("UPDATE runs SET tags = ? WHERE run_id = ?", [list(tags), run_id])

    def delete_run(self, run_id: str) -> None:
        with self._session(write=True) as con:
            self._require(con, run_id)
            con.execute("BEGIN TRANSACTION")
            for table in (
                "requests",
                *_SERVER_TABLES,
                "run_stats",
                "run_summaries",
                "quality_outputs",
                "quality_scores",
                "run_validity",
                "runs",
            ):
                con.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])
            con.execute("COMMIT")

    def list_runs(
        self,
        *,
        tag: str | None = None,
        group_id: str | None = None,
        status: str | None = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """One row per run, newest first: settings, status, tags and key statistics."""
        where, params = ["true"], []
        if tag is not None:
            where.append("list_contains(r.tags, ?)")
            params.append(tag)
        if group_id is not None:
            where.append("r.group_id = ?")
            params.append(group_id)
        if status is not None:
            where.append("r.status = ?")
            params.append(status)
        lim = f"LIMIT {int(limit)}" if limit is not None else ""
        with self._session() as con:
            dirty = con.execute(
                "SELECT count(*) FROM runs ANTI JOIN run_stats USING (run_id)"
            ).fetchall()[0][0]
            if not dirty:
                pass  # every run's figures are cached: nothing to write
            elif self._writable(con):
                con.execute(REFRESH_STATS_SQL)
                self._wrote = True
            else:  # a read-only or damaged file: the missing figures go to a temp table
                con.execute("CREATE TEMP TABLE run_stats AS SELECT * FROM main.run_stats")
                con.execute(
                    REFRESH_STATS_SQL.replace(
                        "INSERT INTO run_stats", "INSERT INTO temp.run_stats", 1
                    )
                )
            df = con.execute(
                "SELECT r.run_id, r.label, r.status, r.started_at, r.finished_at, r.model, "
                "r.endpoint, r.api, r.load_mode, r.load_value, r.tags, r.group_id, "
                "r.source_tool, s.requests, s.failed, s.error_rate, s.ttft_p50_ms, "
                "s.ttft_p95_ms, s.tpot_p50_ms, s.tpot_p95_ms, s.e2e_p50_ms, s.e2e_p95_ms, "
                "s.rps, s.output_tps, "
                "json_extract_string(r.metadata, '$.saturation.reason') AS saturation "
                "FROM runs r LEFT JOIN run_stats s USING (run_id) "
                f"WHERE {' AND '.join(where)} ORDER BY r.started_at DESC, r.run_id {lim}",
                params,
            ).df()
            # Runs still being written: figures so far, straight from their spools.
            stat_cols = [
                "requests",
                "failed",
                "error_rate",
                "ttft_p50_ms",
                "ttft_p95_ms",
                "tpot_p50_ms",
                "tpot_p95_ms",
                "e2e_p50_ms",
                "e2e_p95_ms",
                "rps",
                "output_tps",
            ]
            for i in df.index[df["status"] == "running"]:
                run_id = str(df.at[i, "run_id"])
                if self._live_spool(run_id) is None:
                    continue
                sql = LIVE_STATS_SQL.replace("{src}", self._source(con, run_id))
                row = con.execute(sql, {"run_id": run_id}).fetchall()[0]
                for col, value in zip(stat_cols, row, strict=True):
                    df.at[i, col] = value
        return df

    # -- alerts (inferlab monitor) -----------------------------------------------------

    _ALERT_COLS = (
        "alert_id", "fired_at", "series", "rule", "metric", "kind", "run_id", "started_at",
        "latest_run_id", "latest_at", "before_value", "after_value", "message", "deliveries",
    )  # fmt: skip

    def add_alert(self, values: dict[str, Any]) -> None:
        """Append one fired alert (keys: `_ALERT_COLS`; timestamps aware or UTC-naive)."""
        row = []
        for col in self._ALERT_COLS:
            v = values.get(col)
            if col == "deliveries":
                v = json.dumps(v or {})
            elif isinstance(v, datetime):
                v = _to_utc_naive(v)
            row.append(v)
        with self._session() as con:
            con.execute(
                f"INSERT INTO alerts ({', '.join(self._ALERT_COLS)}) "
                f"VALUES ({', '.join('?' for _ in row)})",
                row,
            )

    def set_alert_deliveries(self, alert_id: str, deliveries: dict[str, str]) -> None:
        """Record how an alert's deliveries went (e.g. {"webhook": "HTTP 200"})."""
        with self._session() as con:
            con.execute(
                "UPDATE alerts SET deliveries = ? WHERE alert_id = ?",
                [json.dumps(deliveries), alert_id],
            )

    def alerts(self, series: str | None = None) -> list[dict[str, Any]]:
        """Fired alerts, oldest first (of one series if given); timestamps UTC-aware."""
        where, params = ("WHERE series = ?", [series]) if series is not None else ("", [])
        with self._session() as con:
            rows = con.execute(
                f"SELECT {', '.join(self._ALERT_COLS)} FROM alerts {where} "
                "ORDER BY fired_at, alert_id",
                params,
            ).fetchall()
        out = []
        for r in rows:
            item = dict(zip(self._ALERT_COLS, r, strict=True))
            for col in ("fired_at", "started_at", "latest_at"):
                item[col] = _from_db_ts(item[col])
            item["deliveries"] = json.loads(item["deliveries"] or "{}")
            out.append(item)
        return out

    # -- requests and summaries --------------------------------------------------------

    def _source(self, con: duckdb.DuckDBPyConnection, run_id: str) -> str:
        """SQL relation of the run's requests: stored rows, plus a live spool's rows."""
        stored = f"SELECT {_REQ_COLS} FROM requests WHERE run_id = $run_id"
        live = self._live_spool(run_id)
        if live is None:
            return f"({stored})"
        return f"({stored} UNION ALL {_read_spool_sql(live)})"

    def requests_frame(self, run_id: str) -> pd.DataFrame:
        """One row per request (warm-up included, flagged), ordered by index; list columns."""
        with self._session() as con:
            self._require(con, run_id)
            src = self._source(con, run_id)
            df = con.execute(
                f"SELECT idx AS index, {_REQ_COLS.replace('idx, ', '')}, "
                "sent_ms - scheduled_ms AS client_queue_ms, "
                "CASE WHEN output_tokens >= 2 AND ttft_ms IS NOT NULL AND e2e_ms IS NOT NULL "
                "THEN (e2e_ms - ttft_ms) / (output_tokens - 1) END AS tpot_ms "
                f"FROM {src} ORDER BY idx",
                {"run_id": run_id},
            ).df()
        return df

    def requests_table(
        self, run_id: str, columns: Sequence[str] | None = None, *, warmup: bool = True
    ) -> pa.Table:
        """The run's requests as an Arrow table ordered by `idx` (list columns stay Arrow lists).

        `columns` picks `requests` columns (default: all); `warmup=False` leaves
        warm-up requests out. Columnar and several times faster than
        `requests_frame` for large runs (no per-row Python lists).
        """
        cols = list(SPOOL_COLUMNS) if columns is None else list(columns)
        unknown = [c for c in cols if c not in SPOOL_COLUMNS]
        if unknown:
            raise ValueError(f"unknown requests column(s): {', '.join(unknown)}")
        where = "" if warmup else "WHERE NOT coalesce(warmup, false) "
        with self._session() as con:
            self._require(con, run_id)
            src = self._source(con, run_id)
            sql = f"SELECT {', '.join(cols)} FROM {src} {where}ORDER BY idx"
            table: pa.Table = con.sql(sql, params={"run_id": run_id}).to_arrow_table()
        return table

    def requests_tables(
        self, run_ids: Sequence[str], columns: Sequence[str] | None = None, *, warmup: bool = True
    ) -> dict[str, pa.Table]:
        """`requests_table` for several runs, read in one session (one open, not one per run)."""
        cols = list(SPOOL_COLUMNS) if columns is None else list(columns)
        unknown = [c for c in cols if c not in SPOOL_COLUMNS]
        if unknown:
            raise ValueError(f"unknown requests column(s): {', '.join(unknown)}")
        where = "" if warmup else "WHERE NOT coalesce(warmup, false) "
        out: dict[str, pa.Table] = {}
        with self._session() as con:
            for run_id in run_ids:
                self._require(con, run_id)
                src = self._source(con, run_id)
                sql = f"SELECT {', '.join(cols)} FROM {src} {where}ORDER BY idx"
                out[run_id] = con.sql(sql, params={"run_id": run_id}).to_arrow_table()
        return out

    def server_scrapes(self, run_id: str) -> list[Scrape]:
        """The run's /metrics scrapes with their samples, in time order (empty if none)."""
        with self._session() as con:
            self._require(con, run_id)
            heads = con.execute(
                "SELECT endpoint, t_ms, ok, error FROM server_scrapes WHERE run_id = ? "
                "ORDER BY t_ms, endpoint",
                [run_id],
            ).fetchall()
            rows = con.execute(
                "SELECT endpoint, t_ms, name, labels, le, value FROM server_samples "
                "WHERE run_id = ? ORDER BY t_ms, endpoint",
                [run_id],
            ).fetchall()
        by_scrape: dict[tuple[str, float], list[Sample]] = {}
        for endpoint, t_ms, name, labels, le, value in rows:
            by_scrape.setdefault((endpoint, t_ms), []).append(
                Sample(name, tuple(sorted(json.loads(labels).items())), float(value), le)
            )
        return [
            Scrape(e, float(t), bool(ok), err, tuple(by_scrape.get((e, t), ())))
            for e, t, ok, err in heads
        ]

    def add_server_scrapes(self, run_id: str, scrapes: Sequence[Scrape]) -> bool:
        """Attach scrapes to a stored run that has none (an imported run whose server
        metrics came later), in one transaction; False when it already has some."""
        with self._session(write=True) as con:
            self._require(con, run_id)
            con.execute("BEGIN TRANSACTION")
            try:
                rows = con.execute(
                    "SELECT count(*) FROM server_scrapes WHERE run_id = ?", [run_id]
                ).fetchall()
                if rows[0][0] > 0:
                    con.execute("ROLLBACK")
                    return False
                _insert_scrapes(con, run_id, scrapes)
                con.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(duckdb.Error):
                    con.execute("ROLLBACK")
                raise
        return True

    def server_timings(self, run_id: str) -> pd.DataFrame:
        """Per-request timings the server reported in its stream (idx, source, prompt_ms, ...)."""
        with self._session() as con:
            self._require(con, run_id)
            return con.execute(
                "SELECT t.idx, t.source, t.prompt_ms, t.prompt_tokens, t.decode_ms, "
                "t.decode_tokens, t.cached_tokens FROM request_server_timings t "
                "JOIN requests r ON r.run_id = t.run_id AND r.idx = t.idx "
                "WHERE t.run_id = ? AND NOT r.warmup ORDER BY t.idx",
                [run_id],
            ).df()

    def records(self, run_id: str) -> list[RequestRecord]:
        """The run's requests as RequestRecord objects (for Python callers and tests)."""
        df = self.requests_frame(run_id)

        def opt_f(x: Any) -> float | None:
            return None if x is None or pd.isna(x) else float(x)

        def opt_i(x: Any) -> int | None:
            return None if x is None or pd.isna(x) else int(x)

        def opt_s(x: Any) -> str | None:
            return None if x is None or pd.isna(x) else str(x)

        out = []
        rows: list[dict[str, Any]] = df.to_dict(orient="records")  # type: ignore[assignment]
        for row in rows:
            offs, toks = row["chunk_offsets_ms"], row["chunk_tokens"]
            notes = row.get("notes")
            out.append(
                RequestRecord(
                    index=int(row["index"]),
                    scheduled_ms=float(row["scheduled_ms"]),
                    sent_ms=float(row["sent_ms"]),
                    ok=bool(row["ok"]),
                    ttft_ms=opt_f(row["ttft_ms"]),
                    e2e_ms=opt_f(row["e2e_ms"]),
                    ttfot_ms=opt_f(row["ttfot_ms"]),
                    chunk_offsets_ms=tuple(float(x) for x in offs) if offs is not None else (),
                    chunk_tokens=tuple(int(x) for x in toks) if toks is not None else (),
                    input_tokens=opt_i(row["input_tokens"]),
                    output_tokens=opt_i(row["output_tokens"]),
                    token_count_source=opt_s(row["token_count_source"]) or "unknown",  # type: ignore[arg-type]
                    http_status=opt_i(row["http_status"]),
                    error_class=opt_s(row["error_class"]),
                    error_message=opt_s(row["error_message"]),
                    warmup=bool(row["warmup"]),
                    notes=tuple(str(n) for n in notes) if notes is not None else (),
                    cached_tokens=opt_i(row["cached_tokens"]),
                    session_id=opt_s(row["session_id"]),
                    turn=opt_i(row["turn"]),
                )
            )
        return out

    def summary(self, run_id: str, slo: Slo | None = None) -> RunSummary:
        """The run's summary, computed in SQL (same conventions as `inferlab.metrics.summary`).

        The SLO-independent part is computed when the run finishes (or on first
        use) and cached until its requests change, so a call (any SLO, a page
        rerun) usually costs one goodput count.
        """
        slo_set = slo if slo is not None and slo.is_set else None
        with self._session() as con:
            status_rows = con.execute(
                "SELECT status FROM runs WHERE run_id = ?", [run_id]
            ).fetchall()
            if not status_rows:
                raise UnknownRunError(
                    f"no run {run_id!r} in {self.path}; `inferlab runs` lists them"
                )
            src = self._source(con, run_id)
            live = self._live_spool(run_id) is not None
            cached = (
                []
                if live
                else con.execute(
                    "SELECT summary FROM run_summaries WHERE run_id = ?", [run_id]
                ).fetchall()
            )
            if cached:
                base = json.loads(cached[0][0])
            else:
                base = self._base_summary(con, src, run_id)
                if not live and self._writable(con):
                    self._wrote = True
                    con.execute(
                        "INSERT OR REPLACE INTO run_summaries VALUES (?, ?)",
                        [run_id, json.dumps(base)],
                    )
            good = 0
            if slo_set is not None:
                sql = GOODPUT_SQL.replace("{src}", src)
                for name in ("slo_ttft", "slo_tpot", "slo_e2e"):
                    sql = sql.replace(f"${name}", f"CAST(${name} AS DOUBLE)")
                params = {
                    "run_id": run_id,
                    "slo_ttft": slo_set.ttft_ms,
                    "slo_tpot": slo_set.tpot_ms,
                    "slo_e2e": slo_set.e2e_ms,
                }
                good = int(con.execute(sql, params).fetchall()[0][0])
        n, n_ok = base["requests"], base["completed"]
        duration_s = base["duration_s"]

        def per_s(x: float) -> float | None:
            return x / duration_s if duration_s else None

        return RunSummary(
            run_id=run_id,
            status=status_rows[0][0],
            requests=n,
            completed=n_ok,
            failed=n - n_ok,
            error_rate=(n - n_ok) / n if n else 0.0,
            errors_by_class=dict(base["errors_by_class"]),
            warmup_requests=base["warmup_requests"],
            output_tokens=base["output_tokens"],
            duration_s=duration_s,
            rps=per_s(n_ok),
            output_tps=per_s(base["output_tokens"]),
            slo=slo_set,
            goodput_rps=per_s(good) if slo_set else None,
            slo_attainment=(good / n if n else None) if slo_set else None,
            **{k: Stats(**base[k]) for k in _STAT_FIELDS},
        )

    @classmethod
    def _materialise_summary(cls, con: duckdb.DuckDBPyConnection, run_id: str) -> None:
        """Compute and cache a final run's summary, so users meet it precomputed.

        Runs after the run's data is committed and only fills a cache: if it
        fails (e.g. out of memory) the error is logged and `summary()` computes
        it on first use instead.
        """
        try:
            cls._store_summary(con, run_id)
        except duckdb.Error as exc:
            _log.warning("could not precompute the summary of run %s: %s", run_id, exc)

    @classmethod
    def _store_summary(cls, con: duckdb.DuckDBPyConnection, run_id: str) -> None:
        base = cls._base_summary(
            con, f"(SELECT {_REQ_COLS} FROM requests WHERE run_id = $run_id)", run_id
        )
        con.execute(
            "INSERT OR REPLACE INTO run_summaries VALUES (?, ?)", [run_id, json.dumps(base)]
        )

    @staticmethod
    def _base_summary(con: duckdb.DuckDBPyConnection, src: str, run_id: str) -> dict[str, Any]:
        """Counts, duration and distributions of a run (everything but the SLO part)."""
        params = {"run_id": run_id}
        row = con.execute(SUMMARY_SQL.replace("{src}", src), params).fetchall()[0]
        errors = con.execute(ERRORS_SQL.replace("{src}", src), params).fetchall()
        itl = con.execute(ITL_SQL.replace("{src}", src), params).fetchall()[0]
        n, n_ok, n_warm, out_tok, first_send, last_end = row[:6]
        duration_s = None
        if n and last_end is not None and last_end - first_send > 0:
            duration_s = (last_end - first_send) / 1000.0
        stats = {
            "ttft_ms": _stats_from(row, 6),
            "tpot_ms": _stats_from(row, 10),
            "e2e_ms": _stats_from(row, 14),
            "client_queue_ms": _stats_from(row, 18),
            "itl_ms": _stats_from(itl, 0),
        }
        return {
            "requests": int(n),
            "completed": int(n_ok),
            "warmup_requests": int(n_warm),
            "output_tokens": int(out_tok),
            "duration_s": duration_s,
            "errors_by_class": {str(c): int(k) for c, k in errors},
            **{k: dataclasses.asdict(v) for k, v in stats.items()},
        }


class RunWriter:
    """Saves a running probe's records safely while other processes use the database.

    Each `add()` appends to the run's spool file (durable against a crash of this
    process once it returns). `close(status)` seals the spool and ingests it; if
    the database stays busy, the next process to open the store ingests it.
    As a context manager it closes with `completed`, `cancelled` (Ctrl-C /
    task cancellation) or `failed` (any other exception).
    """

    def __init__(self, store: Store, info: RunInfo, *, fsync_interval_s: float = 0.2) -> None:
        if not spool_mod.RUN_ID_PATTERN.match(info.run_id):
            raise StoreError(
                f"run id {info.run_id!r} must be 1-128 letters, digits, '.', '_', ':' or '-'"
            )
        # The database may be busy for a while: check for a duplicate id briefly,
        # then rely on the spool alone (saving must not depend on the database).
        quick = min(store.busy_timeout_s, 2.0)
        exists = False
        with contextlib.suppress(StoreBusyError):
            exists = Store(store.path, busy_timeout_s=quick).get_run(info.run_id) is not None
        if exists:
            raise StoreError(f"run {info.run_id!r} already exists in {store.path}")
        self.store = store
        self.run_id = info.run_id
        self._lock = threading.Lock()
        try:
            self._spool = spool_mod.SpoolWriter(store.spool_dir, info, fsync_interval_s)
        except OSError as exc:
            raise StoreError(
                f"cannot start the spool of run {info.run_id!r} in {store.spool_dir} "
                f"({exc.strerror or exc}); nothing was sent. Free space or fix the folder's "
                "permissions, then retry"
            ) from exc
        self._validity: dict[str, Any] | None = None
        self.ingested = False
        # Make the run visible as `running` now if the file is free; else the next open does.
        with contextlib.suppress(StoreBusyError):
            Store(store.path, busy_timeout_s=min(quick, 1.0))

    @property
    def count(self) -> int:
        return self._spool.count

    def add(self, record: RequestRecord) -> None:
        """Append one record; StoreError (the caller should stop the run) if the disk refuses."""
        with self._lock:
            self._add(record)

    def add_scrape(self, scrape: Scrape) -> None:
        """One /metrics scrape of the server (the probe engine calls this while it runs)."""
        with self._lock:
            self._spool.add_scrape(scrape)

    def add_many(self, records: Sequence[RequestRecord]) -> None:
        with self._lock:
            for rec in records:
                self._add(rec)

    def _add(self, record: RequestRecord) -> None:
        try:
            self._spool.add(record)
        except OSError as exc:
            raise StoreError(
                f"cannot write the spool of run {self.run_id!r} ({exc.strerror or exc}) in "
                f"{self._spool.directory}; the run stops here and keeps the "
                f"{self._spool.count} requests saved so far as `interrupted`. Free space "
                "on that disk, then any inferlab command (e.g. `inferlab runs`) stores them"
            ) from exc

    def set_validity(self, facts: ValidityFacts) -> None:
        """Keep what the probe's client cost; saved with the run when it closes."""
        with self._lock:
            self._validity = facts.to_json()

    def close(self, status: RunStatus = "completed") -> bool:
        """Seal the run with `status` and ingest it; False if left for the next open.

        A disk that refuses the end marker leaves the run to be ingested as
        `interrupted`; a database that cannot be written (busy, full, damaged)
        leaves the spool for the next open.
        """
        with self._lock:
            if not self._spool.closed:
                try:
                    self._spool.close(status, self._validity)
                except OSError as exc:
                    _log.error("cannot seal the spool of run %s: %s", self.run_id, exc)
        try:
            Store(self.store.path, busy_timeout_s=self.store.busy_timeout_s)
        except StoreBusyError:
            return False
        self.ingested = not self._spool.header_path.exists()
        return self.ingested

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close("completed")
        elif issubclass(exc_type, KeyboardInterrupt) or exc_type.__name__ == "CancelledError":
            self.close("cancelled")
        else:
            self.close("failed")
