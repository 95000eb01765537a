"""Store figures: ingest 1,000,000 request rows (target < 3 s), summary of a
1,000,000-row run (target < 0.5 s), list 1,000 runs (target < 0.2 s).

Run: `make bench` or `.venv/bin/python bench/bench_store.py [--rows N] [--chunks K]`.

Each request row carries K chunk offsets (default 16, so the run's ITL
statistics cover 15,000,000 gaps) and K chunk token counts. Every timed call
goes through the public Store API and so includes opening and closing the
database file. Ingest is measured three ways: RequestRecord objects
(`add_requests`, including the Python -> Arrow conversion), a ready Arrow
table (`add_requests_table`), and a probe's spool file (JSON lines, ingested
by the next `Store()` open, which also precomputes the finished run's
summary). `finish_run` precomputes the summary of a run written with
`add_requests`; the summary a user then asks for (any SLO) is timed, and so
is the cold path (cache dropped: everything computed in SQL again). Test
data is generated before timing (seeded).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from inferlab.records import RequestRecord, RunInfo
from inferlab.store import Slo, Store, records_to_arrow
from inferlab.store.spool import SpoolWriter, spool_dir


def make_records(n: int, chunks: int, seed: int = 0) -> list[RequestRecord]:
    """n plausible requests: TTFT ~200 ms + exponential, ~22 ms gaps, 1% HTTP 500."""
    rng = np.random.default_rng(seed)
    ttft = 200.0 + rng.exponential(30.0, n)
    gaps = 20.0 + rng.gamma(2.0, 1.0, (n, max(chunks - 1, 0)))
    offs = np.concatenate([ttft[:, None], ttft[:, None] + np.cumsum(gaps, axis=1)], axis=1)
    # Whole nanoseconds, as the probe records them (perf_counter_ns / 1e6).
    offs = np.round(offs, 6)
    ttft = offs[:, 0]
    ok = rng.random(n) > 0.01
    sent = np.round(np.arange(n, dtype=np.float64) + rng.random(n), 6)
    offs_l, ok_l, sent_l, ttft_l = offs.tolist(), ok.tolist(), sent.tolist(), ttft.tolist()
    ones = (1,) * chunks
    out = []
    for i in range(n):
        good = ok_l[i]
        row = tuple(offs_l[i]) if good else ()
        out.append(
            RequestRecord(
                index=i,
                scheduled_ms=float(i),
                sent_ms=sent_l[i],
                ok=good,
                ttft_ms=ttft_l[i] if good else None,
                e2e_ms=row[-1] if good else None,
                chunk_offsets_ms=row,
                chunk_tokens=ones if good else (),
                input_tokens=512,
                output_tokens=chunks if good else None,
                token_count_source="usage",
                http_status=200 if good else 500,
                error_class=None if good else "http_5xx",
                warmup=i < 10,
            )
        )
    return out


def info(run_id: str, started: datetime) -> RunInfo:
    return RunInfo(
        run_id=run_id, started_at=started, endpoint="http://127.0.0.1:8001/v1", model="m"
    )


CPU: dict[str, float] = {}


def timed(fn: Callable[[], Any], repeat: int = 1) -> list[float]:
    """Wall seconds per call; the last call's process CPU seconds go to CPU["last"]."""
    times = []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - t0)
        CPU["last"] = time.process_time() - c0
    return times


def cpu() -> str:
    return f"[cpu {CPU['last']:.2f} s]"


def bench_ingest_and_summary(db: Path, rows: int, chunks: int) -> None:
    store = Store(db)
    t0 = time.perf_counter()
    recs = make_records(rows, chunks)
    print(
        f"generated {rows:,} records x {chunks} chunks in {time.perf_counter() - t0:.1f} s (not timed)"
    )
    start = datetime(2026, 1, 1, tzinfo=UTC)

    store.create_run(info("big", start))
    (ingest_s,) = timed(lambda: store.add_requests("big", recs))
    print(
        f"ingest {rows:,} rows from RequestRecords (add_requests, incl. conversion): "
        f"{ingest_s:.2f} s {cpu()} ({rows / ingest_s:,.0f} rows/s) (target < 3 s)"
    )
    (conv_s,) = timed(lambda: records_to_arrow(recs))
    table = records_to_arrow(recs)
    store.create_run(info("big-arrow", start))
    (arrow_s,) = timed(lambda: store.add_requests_table("big-arrow", table))
    print(
        f"ingest {rows:,} rows from an Arrow table (add_requests_table): {arrow_s:.2f} s {cpu()} "
        f"({rows / arrow_s:,.0f} rows/s) (target < 3 s); RequestRecord -> Arrow alone {conv_s:.2f} s"
    )
    store.delete_run("big-arrow")

    # A finished probe spool of the same rows, written with DuckDB (not timed).
    sdir = spool_dir(db)
    writer = SpoolWriter(sdir, info("big-spool", start))
    writer.close("completed")
    con = duckdb.connect()
    con.register("t", table)
    con.execute(f"COPY (SELECT * FROM t) TO '{writer.data_path}' (FORMAT json)")
    con.close()
    mib = writer.data_path.stat().st_size / 2**20
    (spool_s,) = timed(lambda: Store(db))
    spool_cpu = cpu()
    (spool_sum_s,) = timed(lambda: store.summary("big-spool"))
    assert store.summary("big-spool").requests == rows - 10
    print(
        f"ingest {rows:,} rows from a probe spool ({mib:,.0f} MiB JSON lines, next Store() open, "
        f"incl. precomputing the run's summary): {spool_s:.2f} s {spool_cpu} "
        f"({rows / spool_s:,.0f} rows/s) (target < 3 s); its summary then {spool_sum_s:.3f} s"
    )
    store.delete_run("big-spool")

    (finish_s,) = timed(lambda: store.finish_run("big", "completed"))
    print(f"finish_run of the {rows:,}-row run (precomputes its summary): {finish_s:.2f} s {cpu()}")
    slo = Slo(ttft_ms=300, tpot_ms=25)
    asked = timed(lambda: store.summary("big", slo), repeat=5)
    asked_cpu = cpu()
    other = timed(lambda: store.summary("big", Slo(e2e_ms=600)), repeat=5)
    gaps = sum(max(len(r.chunk_offsets_ms) - 1, 0) for r in recs if r.ok and not r.warmup)
    print(
        f"summary of a {rows:,}-row finished run (ITL over {gaps:,} gaps) as a user asks for it: "
        f"median {statistics.median(asked):.3f} s {asked_cpu}, max {max(asked):.3f} s over 5; "
        f"with another SLO: median {statistics.median(other):.3f} s (target < 0.5 s)"
    )
    store.add_requests("big", [])  # drops the precomputed part: next call computes it all
    (cold,) = timed(lambda: store.summary("big", slo))
    print(
        f"summary of the same run, cold (cache dropped, everything recomputed in SQL): "
        f"{cold:.3f} s {cpu()}"
    )
    store.delete_run("big")


def bench_list(db: Path, runs: int) -> None:
    store = Store(db)
    small = records_to_arrow(make_records(100, 16))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    # Setup through one connection (1,000 separate API calls would time the file opens).
    con = duckdb.connect(str(db))
    con.register("small", small)
    for k in range(runs):
        run_id = f"run-{k:04d}"
        con.execute(
            "INSERT INTO runs (run_id, started_at, endpoint, model, api, load_mode, load_value, "
            "label, tags, source_tool, settings, metadata, status) VALUES "
            "(?, ?, 'http://127.0.0.1:8001/v1', 'm', 'chat', 'concurrency', ?, '', ['bench'], "
            "'inferlab', '{}', '{}', 'completed')",
            [run_id, (start + timedelta(minutes=k)).replace(tzinfo=None), float(1 + k % 64)],
        )
        con.execute("INSERT INTO requests BY NAME SELECT ? AS run_id, * FROM small", [run_id])
    con.close()
    (first,) = timed(store.list_runs)
    first_cpu = cpu()
    times = timed(store.list_runs, repeat=10)
    list_cpu = cpu()
    n = len(store.list_runs())
    print(
        f"list {n:,} runs (100 requests each): median {statistics.median(times):.3f} s {list_cpu}, "
        f"max {max(times):.3f} s over 10 (target < 0.2 s); first call after the writes "
        f"(fills the per-run statistics cache) {first:.3f} s {first_cpu}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description="Store benchmarks (see the module docstring).")
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--chunks", type=int, default=16)
    ap.add_argument("--runs", type=int, default=1_000)
    args = ap.parse_args()
    print("wall seconds; [cpu] = this process's CPU seconds incl. DuckDB threads (2-core machine)")
    with tempfile.TemporaryDirectory() as tmp:
        bench_ingest_and_summary(Path(tmp) / "big.duckdb", args.rows, args.chunks)
        bench_list(Path(tmp) / "list.duckdb", args.runs)


if __name__ == "__main__":
    main()
