"""The Ray engine (2 local actors) vs the single-process engine, against a server in its own process.

`python bench/bench_probe_ray.py [--steps 256:1000,1000:2000] [--server sim|truth]`

The server logs its own truth: `sim` is inferlab's sim as a child process
(`SimServer(process=True)`, arrival and chunk-write stamps); `truth` is
bench/truth_server.py (stdlib only, kernel arrival stamps; the accuracy bench's). Both stamp CLOCK_MONOTONIC like the clients, so on one host
TTFT error = measured TTFT - (first chunk written - request arrived) per request.
Client CPU: the bench process (the driver, or the whole local engine) plus, for
Ray, the actors' own process CPU, as a share of one core over the run's wall time.
The machine is shared: the `load` lines say how busy it was.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from inferlab.metrics.percentile import percentile
from inferlab.probe import MemorySink, ProbeConfig, ProbeResult, run_probe
from inferlab.probe.engines.ray import ray_session, run_probe_ray
from inferlab.sim import SimConfig, SimServer

MAX_TOKENS = 64
TTFT_MS, TPOT_MS = 200, 20
Truth = dict[str, tuple[int, int]]  # request id -> (arrival_ns, first chunk written ns)


@contextmanager
def sim_server() -> Iterator[tuple[str, Callable[[], None], Callable[[], Truth]]]:
    cfg = SimConfig(ttft_ms=TTFT_MS, tpot_ms=TPOT_MS, max_batch=4096, truth_limit=10_000)
    with SimServer(cfg, process=True) as sim:

        def read() -> Truth:
            return {
                t.client_request_id or "": (t.arrival_ns, t.chunk_sent_ns[0])
                for t in sim.truth()
                if t.chunk_sent_ns
            }

        yield sim.base_url, sim.clear_truth, read


@contextmanager
def truth_server() -> Iterator[tuple[str, Callable[[], None], Callable[[], Truth]]]:
    script = Path(__file__).with_name("truth_server.py")
    if not script.exists():
        sys.exit(
            "bench/truth_server.py is not here (it comes with branch `accuracy`); use --server sim"
        )
    proc = subprocess.Popen(
        [sys.executable, str(script), "--ttft-ms", str(TTFT_MS), "--tpot-ms", str(TPOT_MS)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = f"http://127.0.0.1:{int(proc.stdout.readline().split()[1])}"

        def read() -> Truth:
            rows = httpx.get(f"{url}/truth", timeout=60).json()
            return {
                r["request_id"]: (r["arrival_ns"], r["chunk_sent_ns"][0])
                for r in rows
                if r["chunk_sent_ns"]
            }

        def clear() -> None:
            httpx.delete(f"{url}/truth").raise_for_status()

        yield url + "/v1", clear, read
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(10)


def pct(values: list[float], p: float) -> float:
    return percentile(sorted(values), p)  # inferlab's one percentile; NaN when empty


def own_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--steps", default="256:1000,1000:2000", help="c:requests,...")
    parser.add_argument("--server", choices=["sim", "truth"], default="sim")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    steps = [tuple(int(x) for x in part.split(":")) for part in args.steps.split(",")]
    serve = sim_server if args.server == "sim" else truth_server
    with serve() as (url, clear, read), ray_session(None, args.workers) as workers:
        print(f"{args.server} server in its own process: TTFT {TTFT_MS} ms, {TPOT_MS} ms/token, "
              f"{MAX_TOKENS} tokens; Ray: {workers} local actors")  # fmt: skip
        print(f"load average before: {', '.join(f'{x:.1f}' for x in os.getloadavg())} "
              f"({os.cpu_count()} CPUs)")  # fmt: skip
        print("engine     c   done | TTFT err p50      p99 | client CPU (driver + actors)")
        for concurrency, requests in steps:
            cfg = ProbeConfig(
                url=url,
                model="inferlab-sim",
                concurrency=concurrency,
                requests=requests,
                max_tokens=MAX_TOKENS,
                prompt_tokens=32,
                timeout_s=120,
            )
            for engine in ("local", "ray"):
                clear()
                sink = MemorySink()
                cpu0, wall0 = own_cpu_s(), time.perf_counter()
                result: ProbeResult = asyncio.run(
                    run_probe(cfg, sink)
                    if engine == "local"
                    else run_probe_ray(cfg, sink, workers=workers)
                )
                wall = time.perf_counter() - wall0
                driver = own_cpu_s() - cpu0
                actors = result.worker_cpu_s or 0.0
                truth = read()
                errs = []
                for rec in sink.records:
                    t = truth.get(f"{result.info.run_id}-{rec.index}")
                    if rec.ok and rec.ttft_ms is not None and t is not None:
                        errs.append(rec.ttft_ms - (t[1] - t[0]) / 1e6)
                print(
                    f"{engine:6s} {concurrency:5d} {len(errs):6d} | {pct(errs, 50):+8.2f} ms "
                    f"{pct(errs, 99):+8.2f} | {(driver + actors) / wall:6.1%} "
                    f"({driver / wall:.1%} + {actors / wall:.1%})",
                    flush=True,
                )
        print(f"load average after: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
