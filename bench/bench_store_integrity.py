"""Cost of the integrity check before a process's first write (issue 18, item 9).

Run: `.venv/bin/python bench/bench_store_integrity.py [--rows N] [--chunks K]`.

Builds a database of N request rows (default 1,000,000, K = 16 chunk offsets
each, in 10 runs), then, in a fresh process, times two label updates through
the public Store API: the first reads every table once (checksums of every
block), the second finds the file verified and only writes. The difference
is what the check costs the first write of each process.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from inferlab.records import RequestRecord, RunInfo
from inferlab.store import NewRun, Store, records_to_arrow

_CHILD = """
import sys, time
from inferlab.store import Store
db = sys.argv[1]
for label in ("first", "second"):
    t0 = time.perf_counter()
    Store(db).update_run("r0", label=label)
    print(f"{label} write: {time.perf_counter() - t0:.3f} s")
"""


def _build(db: Path, rows: int, chunks: int) -> None:
    from datetime import UTC, datetime

    per_run = rows // 10
    offs = tuple(200.0 + 20.0 * k for k in range(chunks))
    recs = [
        RequestRecord(
            index=i,
            scheduled_ms=10.0 * i,
            sent_ms=10.0 * i,
            ok=True,
            ttft_ms=offs[0],
            e2e_ms=offs[-1],
            chunk_offsets_ms=offs,
            chunk_tokens=(1,) * chunks,
            output_tokens=chunks,
        )
        for i in range(per_run)
    ]
    table = records_to_arrow(recs)
    store = Store(db)
    started = datetime(2026, 1, 1, tzinfo=UTC)
    for k in range(10):
        info = RunInfo(run_id=f"r{k}", started_at=started, endpoint="http://x/v1", model="m")
        store.save_imported_runs([NewRun(info, table)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--chunks", type=int, default=16)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.duckdb"
        _build(db, args.rows, args.chunks)
        size_mb = db.stat().st_size / 1e6
        print(f"{args.rows:,} request rows x {args.chunks} chunks, {size_mb:.0f} MB")
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, str(db)], capture_output=True, text=True
        )
        print(out.stdout.strip() or out.stderr)


if __name__ == "__main__":
    main()
