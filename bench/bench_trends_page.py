"""Trends page figures: a week of 5-minute monitor runs in one series (2,016 runs).

Run: `.venv/bin/python bench/bench_trends_page.py` (or `make bench`). Builds a
temporary database with one series of 2,016 runs of 20 requests (a TTFT step
half-way) through the Store API, then times `inferlab trends` work and AppTest
renders of the Trends page: cold (empty caches, after a warm-up render of an
empty store so imports are not counted) and a rerun after changing the metrics.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from inferlab.monitor import load_series, trend_of  # noqa: E402
from inferlab.records import RunInfo  # noqa: E402
from inferlab.store import NewRun, Store, records_to_arrow  # noqa: E402
from tests.runs_data import make_records  # noqa: E402

RUNS = 2016
REQUESTS = 20


def build(db: Path) -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    items = []
    for i in range(RUNS):
        ttft = 50.0 if i < RUNS // 2 else 80.0
        info = RunInfo(
            run_id=f"m{i:05d}",
            started_at=start + timedelta(minutes=5 * i),
            endpoint="http://127.0.0.1:8001/v1",
            model="inferlab-sim",
            tags=("monitor", "series:week"),
        )
        table = records_to_arrow(make_records(REQUESTS, ttft_ms=ttft, concurrency=2, seed=i))
        items.append(NewRun(info, table))
    store = Store(db)
    for k in range(0, RUNS, 200):
        store.save_imported_runs(items[k : k + 200])
    store.list_runs()  # fills the per-run statistics cache, as any page or CLI would


def page_ms(db: Path) -> tuple[float, list[float]]:
    os.environ["INFERLAB_DB"] = str(tempfile.mktemp(suffix=".duckdb"))
    warm = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    warm.switch_page("pages/trends.py")
    warm.run()  # imports, on an empty store
    os.environ["INFERLAB_DB"] = str(db)
    st.cache_data.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.switch_page("pages/trends.py")
    t0 = time.perf_counter()
    at.run()
    cold = 1000 * (time.perf_counter() - t0)
    assert not at.exception, at.exception
    reruns = []
    for choice in (["TTFT p50"], ["TTFT p95", "Error rate"], ["E2E p95"]):
        at.multiselect(key="metrics").set_value(choice)
        t0 = time.perf_counter()
        at.run()
        reruns.append(1000 * (time.perf_counter() - t0))
    return cold, reruns


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.duckdb"
        t0 = time.perf_counter()
        build(db)
        print(f"built {RUNS:,} runs x {REQUESTS} requests in {time.perf_counter() - t0:.1f} s")
        store = Store(db)
        t0 = time.perf_counter()
        points = load_series(store)["week"]
        t1 = time.perf_counter()
        trend_of("week", points[:50])  # imports ruptures and scipy (about a second, once)
        t2 = time.perf_counter()
        trend = trend_of("week", points)
        t3 = time.perf_counter()
        print(
            f"load_series: {1000 * (t1 - t0):.0f} ms; first detection (imports): "
            f"{1000 * (t2 - t1):.0f} ms; trend_of, 8 metrics: {1000 * (t3 - t2):.0f} ms"
        )
        print(f"TTFT p95 changes found: {len(trend.changes['ttft_p95'])}")
        cold, reruns = page_ms(db)
        print(
            f"Trends page: cold render {cold:.0f} ms; metric change rerun median "
            f"{statistics.median(reruns):.0f} ms ({', '.join(f'{r:.0f}' for r in reruns)})"
        )


if __name__ == "__main__":
    main()
