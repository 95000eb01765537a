"""Cost of scraping the server's /metrics during a probe.

Run: `.venv/bin/python bench/bench_server_scrape.py` (about half a minute).
- parse: prometheus-client's text parser on the sim's /metrics after a run
  and on a vLLM-sized body (the recorded vLLM fixture's histograms repeated
  for 8 engines and 6 models' worth of label sets, ~1,500 lines), per scrape;
- probe: the same c=16 probe of an in-process sim with and without scraping
  (interval 1 s and 0.2 s), client CPU time per request and TTFT p50
  (one run each: figures, not assertions).
"""

from __future__ import annotations

import asyncio
import resource
import statistics
import time
from pathlib import Path
from typing import Any

import httpx

from inferlab.probe import MemorySink, ProbeConfig, run_probe
from inferlab.server.samples import parse_metrics_text
from inferlab.sim import SimConfig, SimServer

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "server_metrics" / "vllm.txt"


def big_vllm_body() -> str:
    lines = [ln for ln in FIXTURE.read_text().splitlines() if ln and not ln.startswith("#")]
    out = []
    for engine in range(8):
        for model in range(6):
            for ln in lines:
                out.append(
                    ln.replace('engine="0"', f'engine="{engine}"').replace(
                        "meta-llama/Llama-3.1-8B-Instruct", f"model-{model}"
                    )
                )
    return "\n".join(out) + "\n"


def parse_ms(body: str, repeats: int = 20) -> tuple[float, int]:
    times = []
    n = 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        n = len(parse_metrics_text(body))
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), n


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def probe(sim: SimServer, **kw: Any) -> tuple[float, float, int]:
    cfg = ProbeConfig(
        url=sim.base_url, model="inferlab-sim", requests=400, concurrency=16, max_tokens=64, **kw
    )
    sink = MemorySink()
    c0 = cpu_s()
    result = asyncio.run(run_probe(cfg, sink))
    ttfts = sorted(r.ttft_ms for r in sink.records if r.ok and r.ttft_ms is not None)
    return (cpu_s() - c0) / len(sink.records) * 1000, ttfts[len(ttfts) // 2], len(result.scrapes)


def main() -> None:
    with SimServer(SimConfig(ttft_ms=50, tpot_ms=5, max_batch=64)) as sim:
        asyncio.run(
            run_probe(
                ProbeConfig(
                    url=sim.base_url,
                    model="inferlab-sim",
                    requests=20,
                    concurrency=4,
                    server_metrics_enabled=False,
                ),
                MemorySink(),
            )
        )
        body = httpx.get(sim.base_url.rsplit("/v1", 1)[0] + "/metrics").text
        ms, n = parse_ms(body)
        print(f"parse sim /metrics: {len(body.splitlines())} lines, {n} samples: {ms:.2f} ms")
        big = big_vllm_body()
        ms, n = parse_ms(big)
        print(f"parse vLLM-sized body: {len(big.splitlines())} lines, {n} samples: {ms:.2f} ms")
        runs: tuple[tuple[str, dict[str, Any]], ...] = (
            ("no scraping", {"server_metrics_enabled": False}),
            ("scrape every 1 s", {}),
            ("scrape every 0.2 s", {"server_metrics_interval_s": 0.2}),
        )
        for label, kw in runs:
            cpu_ms, p50, scrapes = probe(sim, **kw)
            print(
                f"probe c=16, 400 requests, {label}: client CPU {cpu_ms:.2f} ms/request "
                f"(sim in-process, included), TTFT p50 {p50:.1f} ms, {scrapes} scrapes"
            )


if __name__ == "__main__":
    main()
