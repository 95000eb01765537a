"""Trace replay: how late requests leave against their trace timestamps.

Run: `.venv/bin/python bench/bench_trace_replay.py [rate_rps] [seconds]` (defaults 50, 20).
Writes a trace of `rate` req/s for `seconds` (constant gaps, 256-2,048-token prompts
sharing 512-token blocks, 64 output tokens) to a temporary file, replays it with
`--trace` semantics against the sim in its own process (TTFT 50 ms, TPOT 10 ms, 4
tokens per chunk, prefix cache on) and prints the send lag (sent - scheduled, the
`client_queue_ms` of every request) percentiles. Target: p99 < 5 ms at 50 req/s.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from inferlab.metrics import percentiles  # noqa: E402
from inferlab.probe import MemorySink, ProbeConfig, run_probe  # noqa: E402
from inferlab.sim import SimConfig, SimServer  # noqa: E402


def write_trace(path: Path, rate_rps: float, seconds: float) -> int:
    rng = random.Random(50)
    n = int(rate_rps * seconds)
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            blocks = rng.randint(1, 4)
            ids = [rng.randrange(8)] + [1000 + i * 4 + k for k in range(blocks - 1)]
            f.write(
                json.dumps(
                    {
                        "timestamp": round(i * 1000.0 / rate_rps, 3),
                        "input_length": (blocks - 1) * 512 + rng.randint(256, 512),
                        "output_length": 64,
                        "hash_ids": ids,
                    }
                )
                + "\n"
            )
    return n


def main() -> None:
    import faulthandler

    faulthandler.dump_traceback_later(float(os.environ.get("BENCH_DUMP_S", "1e9")))
    rate = float(sys.argv[1]) if len(sys.argv) > 1 else 50.0
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 20.0
    sim_cfg = SimConfig(ttft_ms=50, tpot_ms=10, tokens_per_chunk=4, prefix_cache=True)
    with tempfile.TemporaryDirectory() as tmp, SimServer(sim_cfg, process=True) as sim:
        trace = Path(tmp) / "trace.jsonl"
        n = write_trace(trace, rate, seconds)
        cfg = ProbeConfig(
            url=sim.base_url,
            model="inferlab-sim",
            load_mode="trace",
            trace_file=str(trace),
            requests=None,
            concurrency=0,  # no cap: the trace alone decides when requests go
            timeout_s=30,
        )
        sink = MemorySink()
        result = asyncio.run(run_probe(cfg, sink))
    lags = sorted(r.client_queue_ms for r in sink.measured)
    p50, p90, p99, p100 = percentiles(lags, (50, 90, 99, 100))
    ok = sum(r.ok for r in sink.measured)
    print(
        f"trace replay at {rate:g} req/s for {seconds:g} s: {len(lags)}/{n} sent, {ok} ok, "
        f"status {result.status}; load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print(f"send lag ms: p50 {p50:.3f}  p90 {p90:.3f}  p99 {p99:.3f}  max {p100:.3f}")


if __name__ == "__main__":
    main()
