"""How closely the sim keeps its own schedule: chunk write time minus its deadline.

The sim runs in its own process (``SimServer(process=True)``) with TTFT 200 ms,
TPOT 20 ms and 128 output tokens; an httpx client in this process opens 1, 64
and 256 concurrent streams and reads them to the end. The figures come from
the sim's ground truth (``perf_counter_ns`` when each content chunk was
written vs when it was due), so the client's own speed does not enter them; the
client runs at nice 10 so that on a small machine its CPU use does not starve the sim
(the sims start before that and keep the normal priority).

    .venv/bin/python bench/bench_sim_schedule.py [--levels 1,64,256] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import time

import httpx

from inferlab.sim import SimConfig, SimServer

TTFT_MS = 200.0
TPOT_MS = 20.0
TOKENS = 128


async def _one(client: httpx.AsyncClient, url: str) -> int:
    body = {
        "model": "inferlab-sim",
        "messages": [{"role": "user", "content": "Tell me about deadlines."}],
        "max_tokens": TOKENS,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    lines = 0
    async with client.stream("POST", url, json=body) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                lines += 1
    return lines


async def _worker(client: httpx.AsyncClient, url: str, rounds: int) -> None:
    for _ in range(rounds):
        await _one(client, url)


async def _level(url: str, concurrency: int, rounds: int) -> float:
    # One small client per stream, made before the clock starts: httpx's shared pool does
    # per-request work that grows with its connections, and client set-up costs CPU that
    # this 2-core machine's sim process would otherwise have to share.
    clients = [httpx.AsyncClient(timeout=120.0) for _ in range(concurrency)]
    try:
        started = time.perf_counter()
        await asyncio.gather(*(_worker(c, url, rounds) for c in clients))
        return time.perf_counter() - started
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def _cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="1,64,256")
    parser.add_argument("--rounds", type=int, default=2, help="waves of requests per level")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    config = SimConfig(ttft_ms=TTFT_MS, tpot_ms=TPOT_MS, max_batch=max(levels))
    print(
        f"sim schedule lag (written - due), TTFT {TTFT_MS:g} ms, TPOT {TPOT_MS:g} ms, "
        f"{TOKENS} tokens, {args.rounds} wave(s) per level, sim in its own process; "
        f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
    )
    print(
        f"{'streams':>8} {'chunks':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
        f"{'TTFT p50 err ms':>16} {'sim CPU %':>10}"
    )
    with contextlib.ExitStack() as stack:
        # One fresh sim per level, all started before this process lowers its priority, so
        # they keep the normal one: the client yields the CPU to the sim it measures, whose
        # punctuality a busy client on a 2-core machine would otherwise disturb.
        sims = [stack.enter_context(SimServer(config, process=True)) for _ in levels]
        os.nice(10)
        for level, sim in zip(levels, sims, strict=True):
            assert sim.pid is not None
            cpu0 = _cpu_s(sim.pid)
            wall_s = asyncio.run(_level(f"{sim.base_url}/chat/completions", level, args.rounds))
            cpu_pct = 100.0 * (_cpu_s(sim.pid) - cpu0) / wall_s
            truth = sim.truth()
            lags_ms = [lag / 1e6 for r in truth for lag in r.lag_ns]
            ttft_err_ms = [
                (r.chunk_sent_ns[0] - r.arrival_ns) / 1e6 - TTFT_MS
                for r in truth
                if r.chunk_sent_ns
            ]
            print(
                f"{level:>8} {len(lags_ms):>8} {statistics.median(lags_ms):>8.3f} "
                f"{_pct(lags_ms, 0.99):>8.3f} {max(lags_ms):>8.3f} "
                f"{statistics.median(ttft_err_ms):>16.3f} {cpu_pct:>10.1f}"
            )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
