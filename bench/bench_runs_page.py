"""Runs page figures: comparing 12 runs of 10,000 requests each (target < 1 s of script time).

Run: `.venv/bin/python bench/bench_runs_page.py` (or `make bench`).
Builds a temporary database with 12 synthetic runs of 10,000 requests (32
output tokens each, so 3.8 million chunk arrivals) through the Store API, then
times AppTest runs of the Runs page with all 12 selected:
- cold: the first render of the 12 runs with empty caches (store reads of all
  requests + bootstrap + charts), after one warm-up render of another view so
  interpreter imports are not counted;
- rerun: a rerun after changing the chart metric (cached queries, charts rebuilt);
- new baseline: a rerun after choosing another baseline (runs cached; the
  comparison table and its bootstrap CIs recomputed);
- new SLO: a rerun after changing an SLO limit (attainment recomputed).
Also times the requests read (Arrow path vs the pandas frame) and `compare_table` alone (the bootstrap CIs of 11 runs x 16 percentiles).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from inferlab.compare import RunRequests, compare_table  # noqa: E402
from inferlab.compare.loaders import load_run  # noqa: E402
from inferlab.store import Store  # noqa: E402
from tests.runs_data import store_comparison_runs  # noqa: E402

RUNS = 12
REQUESTS = 10_000
RERUNS = 5


def build(db: Path) -> list[str]:
    return store_comparison_runs(db, RUNS, REQUESTS)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.duckdb"
        t0 = time.perf_counter()
        ids = build(db)
        print(f"built {RUNS} runs x {REQUESTS:,} requests in {time.perf_counter() - t0:.1f} s")
        os.environ["INFERLAB_DB"] = str(db)

        store = Store(db)
        # The requests read, both ways (alternated, best of 3): Arrow columns to
        # numpy (load_run, given the list_runs row as the page does) vs the pandas
        # frame with per-request list objects. Each opens the database once per run.
        rows = {
            str(r["run_id"]): {str(k): v for k, v in r.items()}
            for r in store.list_runs().to_dict("records")
        }
        frame_s, arrow_s = [], []
        for _ in range(3):
            t = time.perf_counter()
            for rid in ids:
                RunRequests.from_frame(rid, store.requests_frame(rid))
            frame_s.append(time.perf_counter() - t)
            t = time.perf_counter()
            runs = [load_run(store, rid, rows[rid]) for rid in ids]
            arrow_s.append(time.perf_counter() - t)
        print(
            f"read {RUNS} runs' requests: load_run (Arrow) {1000 * min(arrow_s):.0f} ms; "
            f"via requests_frame (pandas list columns) {1000 * min(frame_s):.0f} ms"
        )
        t = time.perf_counter()
        compare_table(runs, ids[0])
        print(
            f"compare_table alone (12 runs, bootstrap CIs): {1000 * (time.perf_counter() - t):.0f} ms"
        )

        # Warm the interpreter (imports, first plotly figure) on one run, then drop the
        # caches so the timed render reads and compares all 12 runs from the store.
        warm = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
        warm.switch_page("pages/runs.py")
        warm.query_params.update({"runs": ids[:1]})
        warm.run()
        st.cache_data.clear()
        st.cache_resource.clear()
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
        at.switch_page("pages/runs.py")
        at.query_params.update({"runs": ids})
        t = time.perf_counter()
        at.run()
        cold = time.perf_counter() - t
        assert not at.exception, at.exception
        assert len(at.multiselect(key="runs").value) == RUNS
        reruns = []
        for i in range(RERUNS):
            at.selectbox(key="metric").set_value(["TPOT", "E2E", "ITL", "TTFT", "TPOT"][i])
            t = time.perf_counter()
            at.run()
            reruns.append(time.perf_counter() - t)
            assert not at.exception
        baseline = []
        for i in range(1, RERUNS + 1):
            at.selectbox(key="baseline").set_value(ids[i])
            t = time.perf_counter()
            at.run()
            baseline.append(time.perf_counter() - t)
            assert not at.exception
        slo = []
        for i in range(RERUNS):
            at.number_input(key="slo_ttft_ms").set_value(200.0 + 25 * i)
            t = time.perf_counter()
            at.run()
            slo.append(time.perf_counter() - t)
            assert not at.exception
        print(
            f"runs page, {RUNS} runs x {REQUESTS:,} requests: first render, caches empty {cold:.2f} s; "
            f"rerun after a chart change median {statistics.median(reruns):.2f} s "
            f"(max {max(reruns):.2f} s); rerun after a new baseline (comparison and CIs "
            f"recomputed) median {statistics.median(baseline):.2f} s (max {max(baseline):.2f} s); "
            f"rerun after an SLO change median "
            f"{statistics.median(slo):.2f} s (max {max(slo):.2f} s) (target < 1 s)"
        )


if __name__ == "__main__":
    main()
