"""Probe accuracy against the sim's ground truth: |measured - true| TTFT and TPOT at
p50 and p99 for concurrency 1, 64 and 256 (targets at c=64: TTFT p50 error < 2 ms,
TPOT p50 error < 0.2 ms).

Run: `.venv/bin/python bench/bench_probe_accuracy.py [--thread] [--plain-httpx]`
(about a minute each).

The sim (TTFT 200 ms, TPOT 20 ms, 128 output tokens, max batch 512) runs in a
separate process by default, so it does not share this process's GIL with the
probe; `--thread` runs it in a thread of this process instead. Both stamp with
time.perf_counter_ns, which on Linux reads CLOCK_MONOTONIC, shared by all
processes, so the two sides' stamps compare directly.

For each request (matched by its X-Request-Id):
- true TTFT = when the sim wrote the first content chunk - when the probe sent;
  measured TTFT = when the probe stamped that chunk - when it sent. The error
  is the delivery + client-side lag of the first chunk.
- true TPOT = (sim's last chunk write - first chunk write) / (tokens - 1);
  measured TPOT = the probe's (E2E - TTFT) / (tokens - 1).
The sim's own lag behind its schedule (write time - deadline) is printed too:
it is the server being late, which the probe measures correctly, not an error.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time

import httpx

from inferlab.probe import MemorySink, ProbeConfig, run_probe, worker
from inferlab.sim import SimConfig, SimServer

MAX_TOKENS = 128
STEPS = ((1, 10), (64, 128), (256, 256))  # (concurrency, requests)


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    if not s:
        return float("nan")
    pos = (len(s) - 1) * p / 100
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def measure(sim: SimServer, concurrency: int, requests: int) -> dict[str, float]:
    sim.clear_truth()
    cfg = ProbeConfig(
        url=sim.base_url,
        model="inferlab-sim",
        concurrency=concurrency,
        requests=requests,
        max_tokens=MAX_TOKENS,
        timeout_s=120,
    )
    sink = MemorySink()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    result = asyncio.run(run_probe(cfg, sink))
    cpu_share = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
    truth = {t.client_request_id: t for t in sim.truth()}
    ttft_err: list[float] = []
    tpot_err: list[float] = []
    sim_lag: list[float] = []
    for rec in sink.records:
        t = truth.get(f"{result.info.run_id}-{rec.index}")
        if not rec.ok or t is None or rec.ttft_ms is None or rec.tpot_ms is None:
            continue
        sent_ns = result.anchor_ns + rec.sent_ms * 1e6
        true_ttft_ms = (t.chunk_sent_ns[0] - sent_ns) / 1e6
        ttft_err.append(abs(rec.ttft_ms - true_ttft_ms))
        n = sum(t.tokens)
        true_tpot_ms = (t.chunk_sent_ns[-1] - t.chunk_sent_ns[0]) / 1e6 / (n - 1)
        tpot_err.append(abs(rec.tpot_ms - true_tpot_ms))
        sim_lag.extend(lag / 1e6 for lag in t.lag_ns)
    return {
        "ok": float(len(ttft_err)),
        "ttft_p50": pct(ttft_err, 50),
        "ttft_p99": pct(ttft_err, 99),
        "tpot_p50": pct(tpot_err, 50),
        "tpot_p99": pct(tpot_err, 99),
        "lag_p50": pct(sim_lag, 50),
        "lag_p99": pct(sim_lag, 99),
        "queue_p99": pct([r.client_queue_ms for r in sink.records], 99),
        "ttft_p50_ms": statistics.median(r.ttft_ms for r in sink.records if r.ttft_ms),
        "cpu_share": cpu_share,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--thread", action="store_true", help="run the sim in this process")
    parser.add_argument(
        "--plain-httpx",
        action="store_true",
        help="for comparison: httpx's own transport, chunks stamped after HTTP/SSE parsing",
    )
    args = parser.parse_args()
    if args.plain_httpx:
        worker.stamping_transport = lambda limits, ssl_context=None: httpx.AsyncHTTPTransport(  # type: ignore[attr-defined]
            limits=limits, trust_env=False
        )
    cfg = SimConfig(ttft_ms=200, tpot_ms=20, max_batch=512, default_max_tokens=MAX_TOKENS)
    where = "a thread of this process" if args.thread else "a separate process"
    where += "; probe on plain httpx (stamps after parsing)" if args.plain_httpx else ""
    with SimServer(cfg, process=not args.thread) as sim:
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"sim in {where}: TTFT 200 ms, TPOT 20 ms, {MAX_TOKENS} output tokens")
        print(f"load average before: {load} ({os.cpu_count()} CPUs)")
        print(
            "   c  reqs | |TTFT err| p50    p99 | |TPOT err| p50    p99 | "
            "sim lag p50    p99 | measured TTFT p50 | client queue p99 | client CPU"
        )
        for concurrency, requests in STEPS:
            m = measure(sim, concurrency, requests)
            print(
                f"{concurrency:4d} {m['ok']:5.0f} | {m['ttft_p50']:8.3f} ms {m['ttft_p99']:6.2f} | "
                f"{m['tpot_p50']:8.4f} ms {m['tpot_p99']:6.4f} | "
                f"{m['lag_p50']:7.3f} ms {m['lag_p99']:6.2f} | {m['ttft_p50_ms']:13.2f} ms | "
                f"{m['queue_p99']:10.3f} ms | {m['cpu_share']:6.1%}",
                flush=True,
            )


if __name__ == "__main__":
    main()
