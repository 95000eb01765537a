"""Import a 100,000-request AIPerf profile_export.jsonl (target < 5 s).

Run: `.venv/bin/python bench/bench_import.py [--requests N] [--repeat R]`.
The file is generated from the real AIPerf 0.13 fixture: its 24 lines are
repeated with shifted timestamps and fresh request ids, so every line has the
real shape (31 inter-chunk gaps, ~50 metrics). Timed separately: parsing to
request columns (DuckDB's JSON reader + numpy, and the impossible-value checks, also
timed on their own), and the whole `import_file`
into a fresh DuckDB store (parse + hash + bulk insert + metadata).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from inferlab.importers import import_file, parse_file  # noqa: E402
from inferlab.importers.base import Problems  # noqa: E402
from inferlab.importers.checks import check_requests  # noqa: E402
from inferlab.store import Store  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "import" / "aiperf-c4" / "profile_export.jsonl"


def generate(path: Path, n: int) -> None:
    """n request lines in the fixture's shape, timestamps shifted block by block."""
    lines = [json.loads(x) for x in FIXTURE.read_text().splitlines() if x.strip()]
    t0 = min(r["metadata"]["credit_issued_ns"] for r in lines)
    t1 = max(r["metadata"]["request_end_ns"] for r in lines)
    block_ns = t1 - t0
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            rec = lines[i % len(lines)]
            shift = (i // len(lines)) * block_ns
            md = dict(rec["metadata"])
            for k in ("credit_issued_ns", "request_start_ns", "request_ack_ns", "request_end_ns"):
                if k in md:
                    md[k] += shift
            md["x_request_id"] = str(uuid.UUID(int=i))
            md["session_num"] = i
            f.write(json.dumps({"metadata": md, "metrics": rec["metrics"]}, separators=(",", ":")))
            f.write("\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--requests", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="inferlab-bench-import-") as tmp:
        folder = Path(tmp)
        path = folder / "profile_export.jsonl"
        t = time.perf_counter()
        generate(path, args.requests)
        size_mb = path.stat().st_size / 1e6
        print(
            f"generated {args.requests:,} AIPerf request lines, {size_mb:,.0f} MB, "
            f"in {time.perf_counter() - t:.1f} s"
        )
        limit = path.stat().st_size + 1
        parse_s, import_s, check_s = [], [], []
        for k in range(args.repeat):
            t = time.perf_counter()
            _, _, runs = parse_file(path, "aiperf", max_bytes=limit)
            parse_s.append(time.perf_counter() - t)
            assert runs[0].n_requests == args.requests
            t = time.perf_counter()  # (already part of the parse: shown on its own)
            problems = Problems(path, "aiperf")
            check_requests(runs[0].requests, problems, str)
            check_s.append(time.perf_counter() - t)
            assert not problems
            store = Store(folder / f"bench-{k}.duckdb")
            t = time.perf_counter()
            imported = import_file(store, path, "aiperf", max_bytes=limit)
            import_s.append(time.perf_counter() - t)
            s = store.summary(imported[0].run_id)
            assert s.requests == args.requests and s.itl_ms.count == args.requests * 31
        print(
            f"parse to request columns: median {statistics.median(parse_s):.2f} s "
            f"(runs: {', '.join(f'{x:.2f}' for x in parse_s)})"
        )
        print(
            f"  of which the impossible-value checks: median {statistics.median(check_s):.3f} s "
            f"(runs: {', '.join(f'{x:.3f}' for x in check_s)})"
        )
        print(
            f"import_file into a new DuckDB store: median {statistics.median(import_s):.2f} s "
            f"(runs: {', '.join(f'{x:.2f}' for x in import_s)}) (target < 5 s)"
        )


if __name__ == "__main__":
    main()
