"""Database schema and its migrations.

`schema_version` holds one row per applied migration. Each migration moves the
file from version N-1 to N inside one transaction, so an older file upgrades in
place the first time a newer inferlab opens it. Never edit a released
migration: append a new one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "SchemaTooNewError", "current_version", "migrate"]


class SchemaTooNewError(Exception):
    """The file was written by a newer inferlab than this one."""


# Version 1: the first layout (runs + requests, timings and chunk offsets).
_V1 = [
    """
    CREATE TABLE runs (
        run_id VARCHAR PRIMARY KEY,
        started_at TIMESTAMP NOT NULL,
        finished_at TIMESTAMP,
        endpoint VARCHAR NOT NULL,
        model VARCHAR NOT NULL,
        api VARCHAR NOT NULL,
        load_mode VARCHAR NOT NULL,
        load_value DOUBLE NOT NULL,
        label VARCHAR NOT NULL DEFAULT '',
        source_tool VARCHAR NOT NULL DEFAULT 'inferlab',
        settings VARCHAR NOT NULL DEFAULT '{}',
        status VARCHAR NOT NULL
    )
    """,
    """
    CREATE TABLE requests (
        run_id VARCHAR NOT NULL,
        idx INTEGER NOT NULL,
        scheduled_ms DOUBLE NOT NULL,
        sent_ms DOUBLE NOT NULL,
        ok BOOLEAN NOT NULL,
        ttft_ms DOUBLE,
        e2e_ms DOUBLE,
        chunk_offsets_ms DOUBLE[],
        input_tokens INTEGER,
        output_tokens INTEGER,
        token_count_source VARCHAR,
        http_status INTEGER,
        error_class VARCHAR,
        error_message VARCHAR,
        warmup BOOLEAN NOT NULL DEFAULT false
    )
    """,
]

# Version 2: sweep groups, tags, free-form metadata, per-chunk token counts,
# TTFOT, a cache of per-run statistics for fast run lists, and a cache of each
# run's SLO-independent summary (both dropped whenever the run's requests change).
_V2 = [
    "ALTER TABLE runs ADD COLUMN group_id VARCHAR",
    "ALTER TABLE runs ADD COLUMN tags VARCHAR[] DEFAULT []",
    "UPDATE runs SET tags = [] WHERE tags IS NULL",
    "ALTER TABLE runs ADD COLUMN metadata VARCHAR DEFAULT '{}'",
    "UPDATE runs SET metadata = '{}' WHERE metadata IS NULL",
    "ALTER TABLE requests ADD COLUMN ttfot_ms DOUBLE",
    "ALTER TABLE requests ADD COLUMN chunk_tokens INTEGER[]",
    """
    CREATE TABLE run_stats (
        run_id VARCHAR PRIMARY KEY,
        requests BIGINT,
        failed BIGINT,
        error_rate DOUBLE,
        ttft_p50_ms DOUBLE,
        ttft_p95_ms DOUBLE,
        tpot_p50_ms DOUBLE,
        tpot_p95_ms DOUBLE,
        e2e_p50_ms DOUBLE,
        e2e_p95_ms DOUBLE,
        rps DOUBLE,
        output_tps DOUBLE
    )
    """,
    "CREATE TABLE run_summaries (run_id VARCHAR PRIMARY KEY, summary VARCHAR NOT NULL)",
]

# Version 3: quality runs' answers and scores (`inferlab.store.quality`). Files
# written before this migration may already hold both tables (the quality store
# used to create them itself), hence IF NOT EXISTS.
_V3 = [
    """
    CREATE TABLE IF NOT EXISTS quality_outputs (
        run_id VARCHAR NOT NULL,
        idx INTEGER NOT NULL,
        prompt_id VARCHAR NOT NULL,
        repeat INTEGER NOT NULL,
        temperature DOUBLE NOT NULL,
        prompt VARCHAR NOT NULL,
        reference VARCHAR NOT NULL,
        output VARCHAR,
        ok BOOLEAN NOT NULL,
        error_class VARCHAR,
        PRIMARY KEY (run_id, idx)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS quality_scores (
        run_id VARCHAR PRIMARY KEY,
        group_id VARCHAR,
        eval_set VARCHAR NOT NULL,
        temperature DOUBLE NOT NULL,
        repeats INTEGER NOT NULL,
        requests INTEGER NOT NULL,
        failed INTEGER NOT NULL,
        exact_match DOUBLE,
        rouge_l DOUBLE,
        identical_share DOUBLE,
        pairwise_similarity DOUBLE,
        created_at TIMESTAMP NOT NULL
    )
    """,
]

# Version 4: alerts fired by `inferlab monitor` (one row per alert, never updated
# except its delivery outcome; see inferlab.monitor.alerts).
_V4 = [
    """
    CREATE TABLE IF NOT EXISTS alerts (
        alert_id VARCHAR PRIMARY KEY,
        fired_at TIMESTAMP NOT NULL,
        series VARCHAR NOT NULL,
        rule VARCHAR NOT NULL,
        metric VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,
        run_id VARCHAR NOT NULL,
        started_at TIMESTAMP NOT NULL,
        latest_run_id VARCHAR NOT NULL,
        latest_at TIMESTAMP NOT NULL,
        before_value DOUBLE,
        after_value DOUBLE NOT NULL,
        message VARCHAR NOT NULL,
        deliveries VARCHAR NOT NULL DEFAULT '{}'
    )
    """,
]

# Version 5: notes on a request (e.g. "retried_stale_connection", probe/stale.py).
_V5 = ["ALTER TABLE requests ADD COLUMN IF NOT EXISTS notes VARCHAR[]"]

# Version 6: what each probe run's own client cost (inferlab.validity.ValidityFacts
# as JSON), from which its validity verdict is judged. No row: not measured.
_V6 = [
    "CREATE TABLE IF NOT EXISTS run_validity (run_id VARCHAR PRIMARY KEY, facts VARCHAR NOT NULL)",
]

# Version 7 (issue 12): the server's view. Raw /metrics samples of every scrape
# (t_ms from the run's anchor, like requests.sent_ms; labels as sorted JSON
# without `le`), one row per scrape attempt with why it failed, and per-request
# timings a server reported in its stream (llama.cpp `timings`, Ollama).
_V7 = [
    """
    CREATE TABLE IF NOT EXISTS server_samples (
        run_id VARCHAR NOT NULL,
        endpoint VARCHAR NOT NULL,
        t_ms DOUBLE NOT NULL,
        name VARCHAR NOT NULL,
        labels VARCHAR NOT NULL,
        le DOUBLE,
        value DOUBLE NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS server_scrapes (
        run_id VARCHAR NOT NULL,
        endpoint VARCHAR NOT NULL,
        t_ms DOUBLE NOT NULL,
        ok BOOLEAN NOT NULL,
        error VARCHAR,
        samples INTEGER NOT NULL DEFAULT 0
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS request_server_timings (
        run_id VARCHAR NOT NULL,
        idx INTEGER NOT NULL,
        source VARCHAR NOT NULL,
        prompt_ms DOUBLE,
        prompt_tokens INTEGER,
        decode_ms DOUBLE,
        decode_tokens INTEGER,
        cached_tokens INTEGER
    )
    """,
]

# Version 8: multi-turn sessions (issue 13): which conversation and turn a request
# belongs to, and the prompt tokens the server answered from its prefix cache.
_V8 = [
    "ALTER TABLE requests ADD COLUMN IF NOT EXISTS cached_tokens INTEGER",
    "ALTER TABLE requests ADD COLUMN IF NOT EXISTS session_id VARCHAR",
    "ALTER TABLE requests ADD COLUMN IF NOT EXISTS turn INTEGER",
]

MIGRATIONS: list[list[str]] = [_V1, _V2, _V3, _V4, _V5, _V6, _V7, _V8]
SCHEMA_VERSION = len(MIGRATIONS)


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    """The file's schema version; 0 for an empty file."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_name = 'schema_version' AND table_schema = 'main'"
    ).fetchall()
    if not exists or not exists[0][0]:
        return 0
    rows = con.execute("SELECT max(version) FROM schema_version").fetchall()
    return int(rows[0][0]) if rows and rows[0][0] is not None else 0


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Apply every missing migration, each in its own transaction; returns the new version."""
    version = current_version(con)
    if version > SCHEMA_VERSION:
        raise SchemaTooNewError(
            f"database schema version {version} is newer than this inferlab supports "
            f"({SCHEMA_VERSION}); upgrade inferlab or use another --db"
        )
    for target in range(version + 1, SCHEMA_VERSION + 1):
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(
                "CREATE TABLE IF NOT EXISTS schema_version ("
                "version INTEGER PRIMARY KEY, applied_at TIMESTAMP DEFAULT now())"
            )
            for stmt in MIGRATIONS[target - 1]:
                con.execute(stmt)
            con.execute("INSERT INTO schema_version (version) VALUES (?)", [target])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return SCHEMA_VERSION
