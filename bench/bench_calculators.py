"""Throughput & capacity and Cost pages: script time per rerun, and the pure calculators.

Run: `make bench` or `.venv/bin/python bench/bench_calculators.py`.
Script time is measured with AppTest (the page's Python only, no browser) against a
temporary database holding one run, with that run chosen on the Throughput page.
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
RERUNS = 20


def rerun_ms(page: str, key: str, values: list[float], query: dict[str, str]) -> list[float]:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.switch_page(f"pages/{page}.py")
    at.query_params.update(query)
    at.run()  # warm imports
    times = []
    for value in values:
        at.number_input(key=key).set_value(value)
        start = time.perf_counter()
        at.run()
        times.append((time.perf_counter() - start) * 1000)
        assert not at.exception, at.exception
    return times


def pure_us() -> tuple[float, float]:
    from inferlab import capacity as cap
    from inferlab import cost
    from inferlab.catalog import load_gpus

    h100 = next(g for g in load_gpus() if g.name == "H100 SXM")
    model = cap.ModelShape(8.0)
    start = time.perf_counter()
    for _ in range(1000):
        cap.roofline(h100, model, 1000, 256, 8)
        cap.tradeoff_curve(h100, model, 1256, cap.batch_sizes(340))
        cap.max_batch_for_latency(h100, model, 1000, 256, 15.0)
    roof = (time.perf_counter() - start) * 1000
    start = time.perf_counter()
    for _ in range(1000):
        cost.session_cost(cost.SessionShape(100, 500, 100, 250), cost.ApiPrices(2.5, 10, 1.25), 0.8)
    session = (time.perf_counter() - start) * 1000
    return roof, session


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["INFERLAB_DB"] = str(Path(tmp) / "bench.duckdb")
        from inferlab.store import Store
        from tests.app.calc_fixtures import make_run

        store = Store()
        make_run(store, "bench", concurrency=8, tpot_ms=7.4, requests=200)
        store.add_run_metadata(
            "bench", {"gpu": "H100 SXM", "model_params_b": 8, "precision": "BF16", "n_gpus": 1}
        )
        tp = rerun_ms("throughput", "batch", [1 + i for i in range(RERUNS)], {"run": "bench"})
        co = rerun_ms("cost", "turns", [5 + i for i in range(RERUNS)], {})
    roof, session = pure_us()
    for name, times in (("throughput (run chosen)", tp), ("cost", co)):
        print(
            f"{name} page script time per rerun: median {statistics.median(times):.0f} ms, "
            f"max {max(times):.0f} ms over {RERUNS} reruns (target < 300 ms)"
        )
    print(f"roofline + trade-off curve + max batch for latency: {roof:.0f} µs per call")
    print(f"100-turn session with caching: {session:.0f} µs per call")


if __name__ == "__main__":
    main()
