"""SQL of the run summary and of the cached per-run statistics.

The summary mirrors `inferlab.metrics.summary.summarize` exactly (same filters, same
conventions); `tests/unit/test_store_summary.py` proves they agree. `{src}`
is a relation holding the run's request rows (the `requests` table filtered
on the run, or that plus a live spool file).
"""

from __future__ import annotations

__all__ = [
    "ERRORS_SQL",
    "GOODPUT_SQL",
    "ITL_SQL",
    "REFRESH_STATS_SQL",
    "SPOOL_COLUMNS",
    "SUMMARY_SQL",
]

_Q = "[0.5, 0.9, 0.95, 0.99]"

# Columns of a spool line and of the `requests` table (besides run_id).
SPOOL_COLUMNS: dict[str, str] = {
    "idx": "INTEGER",
    "scheduled_ms": "DOUBLE",
    "sent_ms": "DOUBLE",
    "ok": "BOOLEAN",
    "ttft_ms": "DOUBLE",
    "e2e_ms": "DOUBLE",
    "ttfot_ms": "DOUBLE",
    "chunk_offsets_ms": "DOUBLE[]",
    "chunk_tokens": "INTEGER[]",
    "input_tokens": "INTEGER",
    "output_tokens": "INTEGER",
    "token_count_source": "VARCHAR",
    "http_status": "INTEGER",
    "error_class": "VARCHAR",
    "error_message": "VARCHAR",
    "warmup": "BOOLEAN",
    "notes": "VARCHAR[]",
    "cached_tokens": "INTEGER",
    "session_id": "VARCHAR",
    "turn": "INTEGER",
}

_TPOT = (
    "CASE WHEN output_tokens >= 2 AND ttft_ms IS NOT NULL AND e2e_ms IS NOT NULL "
    "THEN (e2e_ms - ttft_ms) / (output_tokens - 1) END"
)


def _stats(col: str, cond: str) -> str:
    f = f"FILTER (WHERE {cond})"
    return (
        f"count({col}) {f}, avg({col}) {f}, stddev_pop({col}) {f}, quantile_cont({col}, {_Q}) {f}"
    )


_OK = "NOT warmup AND ok"
_MEETS = (
    "NOT warmup AND ok"
    " AND ($slo_ttft IS NULL OR ttft_ms <= $slo_ttft)"
    " AND ($slo_e2e IS NULL OR e2e_ms <= $slo_e2e)"
    " AND ($slo_tpot IS NULL OR tpot_ms IS NULL OR tpot_ms <= $slo_tpot)"
)

# One row: counts, span, then 4 columns per metric (ttft, tpot, e2e, queue).
SUMMARY_SQL = f"""
WITH r AS (
    SELECT ok, warmup, ttft_ms, e2e_ms, output_tokens, sent_ms,
           sent_ms - scheduled_ms AS queue_ms,
           {_TPOT} AS tpot_ms
    FROM {{src}}
)
SELECT
    count(*) FILTER (WHERE NOT warmup),
    count(*) FILTER (WHERE {_OK}),
    count(*) FILTER (WHERE warmup),
    coalesce(sum(output_tokens) FILTER (WHERE {_OK}), 0),
    min(sent_ms) FILTER (WHERE NOT warmup),
    max(sent_ms + e2e_ms) FILTER (WHERE NOT warmup),
    {_stats("ttft_ms", _OK)},
    {_stats("tpot_ms", _OK)},
    {_stats("e2e_ms", _OK)},
    {_stats("queue_ms", "NOT warmup")}
FROM r
"""

# Completed requests meeting every SLO that is set (NULL parameters = not set).
GOODPUT_SQL = f"""
WITH r AS (SELECT ok, warmup, ttft_ms, e2e_ms, {_TPOT} AS tpot_ms FROM {{src}})
SELECT count(*) FILTER (WHERE {_MEETS}) FROM r
"""

ERRORS_SQL = """
SELECT coalesce(error_class, 'unknown') AS cls, count(*) AS n
FROM {src} WHERE NOT warmup AND NOT ok GROUP BY cls ORDER BY cls
"""

# ITL: one value per gap between consecutive content chunks of completed requests.
# Two unnests of equal-length slices run in lockstep, pairing each offset with
# the one before it (about 3x cheaper than a list_transform lambda per element).
ITL_SQL = f"""
WITH g AS (
    SELECT unnest(chunk_offsets_ms[2:]) AS later_ms, unnest(chunk_offsets_ms[:-2]) AS earlier_ms
    FROM {{src}} WHERE {_OK}
), d AS (SELECT later_ms - earlier_ms AS gap_ms FROM g)
SELECT {_stats("gap_ms", "true")} FROM d
"""

# Fill run_stats for every run that has no row yet (rows are deleted when a
# run's requests change), so listing runs never scans all requests.
REFRESH_STATS_SQL = f"""
INSERT INTO run_stats
WITH dirty AS (SELECT run_id FROM runs ANTI JOIN run_stats USING (run_id)),
q AS (
    SELECT run_id, ok, warmup, ttft_ms, e2e_ms, output_tokens, sent_ms,
           {_TPOT} AS tpot_ms
    FROM requests SEMI JOIN dirty USING (run_id)
),
a AS (
    SELECT run_id,
        count(*) FILTER (WHERE NOT warmup) AS n,
        count(*) FILTER (WHERE NOT warmup AND NOT ok) AS failed,
        count(*) FILTER (WHERE {_OK}) AS n_ok,
        coalesce(sum(output_tokens) FILTER (WHERE {_OK}), 0) AS out_tok,
        (max(sent_ms + e2e_ms) FILTER (WHERE NOT warmup)
            - min(sent_ms) FILTER (WHERE NOT warmup)) / 1000.0 AS span_s,
        quantile_cont(ttft_ms, [0.5, 0.95]) FILTER (WHERE {_OK}) AS ttft,
        quantile_cont(tpot_ms, [0.5, 0.95]) FILTER (WHERE {_OK}) AS tpot,
        quantile_cont(e2e_ms, [0.5, 0.95]) FILTER (WHERE {_OK}) AS e2e
    FROM q GROUP BY run_id
)
SELECT d.run_id,
    coalesce(a.n, 0),
    coalesce(a.failed, 0),
    CASE WHEN coalesce(a.n, 0) > 0 THEN a.failed / a.n ELSE 0.0 END,
    a.ttft[1], a.ttft[2], a.tpot[1], a.tpot[2], a.e2e[1], a.e2e[2],
    CASE WHEN a.span_s > 0 THEN a.n_ok / a.span_s END,
    CASE WHEN a.span_s > 0 THEN a.out_tok / a.span_s END
FROM dirty d LEFT JOIN a USING (run_id)
"""

# The run-list figures of a live run (stored rows plus its spool), same columns
# and order as run_stats without run_id.
LIVE_STATS_SQL = f"""
WITH q AS (
    SELECT ok, warmup, ttft_ms, e2e_ms, output_tokens, sent_ms, {_TPOT} AS tpot_ms FROM {{src}}
),
a AS (
    SELECT
        count(*) FILTER (WHERE NOT warmup) AS n,
        count(*) FILTER (WHERE NOT warmup AND NOT ok) AS failed,
        count(*) FILTER (WHERE {_OK}) AS n_ok,
        coalesce(sum(output_tokens) FILTER (WHERE {_OK}), 0) AS out_tok,
        (max(sent_ms + e2e_ms) FILTER (WHERE NOT warmup)
            - min(sent_ms) FILTER (WHERE NOT warmup)) / 1000.0 AS span_s,
        quantile_cont(ttft_ms, [0.5, 0.95]) FILTER (WHERE {_OK}) AS ttft,
        quantile_cont(tpot_ms, [0.5, 0.95]) FILTER (WHERE {_OK}) AS tpot,
        quantile_cont(e2e_ms, [0.5, 0.95]) FILTER (WHERE {_OK}) AS e2e
    FROM q
)
SELECT n, failed, CASE WHEN n > 0 THEN failed / n ELSE 0.0 END,
    ttft[1], ttft[2], tpot[1], tpot[2], e2e[1], e2e[2],
    CASE WHEN span_s > 0 THEN n_ok / span_s END,
    CASE WHEN span_s > 0 THEN out_tok / span_s END
FROM a
"""
