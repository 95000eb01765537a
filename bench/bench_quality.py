"""Quality figures: page script time, scoring and Pareto speed, a quality probe on the sim.

Run: `make bench` or `.venv/bin/python bench/bench_quality.py`. Prints figures; asserts nothing.
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from inferlab.probe import MemorySink
from inferlab.probe.quality import QualityProbeConfig, load_eval_set, run_quality_sync
from inferlab.quality import QualityOutput, pareto_front, score_outputs
from inferlab.sim import SimConfig, SimServer

ROOT = Path(__file__).resolve().parents[1]


def page_script_ms(reruns: int = 15) -> list[float]:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.switch_page("pages/quality.py")
    at.run()  # warm imports
    times = []
    for i in range(reruns):
        at.number_input(key="sat_per_s").set_value(2.0 + i % 5)
        t0 = time.perf_counter()
        at.run()
        times.append((time.perf_counter() - t0) * 1000)
    return times


def scoring_ms(n_prompts: int = 100, repeats: int = 5) -> float:
    rng = random.Random(0)
    words = ["paris", "berlin", "the", "capital", "of", "france", "is", "answer", "number"]
    outputs = [
        QualityOutput(
            f"p{p}",
            r,
            0.7,
            f"q{p}",
            "paris",
            " ".join(rng.choice(words) for _ in range(rng.randint(1, 12))),
            True,
        )
        for p in range(n_prompts)
        for r in range(repeats)
    ]
    t0 = time.perf_counter()
    score_outputs(outputs)
    return (time.perf_counter() - t0) * 1000


def pareto_ms(n: int = 2000) -> float:
    rng = random.Random(1)
    pts = [(rng.random(), rng.random(), rng.random()) for _ in range(n)]
    t0 = time.perf_counter()
    pareto_front(pts, ["max", "min", "min"])
    return (time.perf_counter() - t0) * 1000


def probe_s() -> tuple[float, int, float | None]:
    items = load_eval_set("capitals")
    sim_cfg = SimConfig(
        ttft_ms=150,
        tpot_ms=15,
        answers={i.prompt: i.reference for i in items},
        answer_accuracy=0.8,
        answer_determinism=0.5,
    )
    with SimServer(sim_cfg) as sim:
        cfg = QualityProbeConfig(
            sim.base_url, sim_cfg.model, "capitals", tuple(items), repeats=3, temperatures=(0, 1)
        )
        t0 = time.perf_counter()
        results = run_quality_sync(cfg, lambda _: MemorySink())
        elapsed = time.perf_counter() - t0
    n = sum(r.report.by_temperature[0].requests for r in results)
    return elapsed, n, results[0].report.by_temperature[0].exact_match


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["INFERLAB_DB"] = str(Path(tmp) / "bench.duckdb")
        times = page_script_ms()
        q = statistics.quantiles(times, n=10)
        print(
            f"quality page script time per rerun over {len(times)} reruns: median "
            f"{statistics.median(times):.0f} ms, p90 {q[-1]:.0f} ms, max {max(times):.0f} ms"
        )
        print(f"scoring 100 prompts x 5 repeats (EM, ROUGE-L, pairwise): {scoring_ms():.0f} ms")
        print(f"Pareto front of 2,000 options on 3 criteria: {pareto_ms():.0f} ms")
        elapsed, n, em = probe_s()
        print(
            f"quality probe on the sim (capitals, 20 prompts x 3 repeats x 2 temperatures, "
            f"TTFT 150 ms, TPOT 15 ms, concurrency 4): {n} requests in {elapsed:.1f} s; "
            f"exact match at T=0 {em:.0%} (sim set to 80%)"
        )


if __name__ == "__main__":
    main()
