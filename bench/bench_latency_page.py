"""Latency page figures: script time per rerun (target < 150 ms) and cold start (target < 5 s).

Run: `make bench` or `.venv/bin/python bench/bench_latency_page.py`.
Script time is measured with AppTest (the page's Python only, no browser);
cold start spawns `python -m inferlab.dashboard` and times until /latency is served.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
RERUNS = 30


def script_time_ms() -> list[float]:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.switch_page("pages/latency.py")
    at.query_params.update({"ttft_ms": "1200", "tpot_ms": "80", "tokens": "50"})
    at.run()  # warm imports
    times = []
    for i in range(RERUNS):
        at.number_input(key="tokens").set_value(50 + i * 67)
        start = time.perf_counter()
        at.run()
        times.append((time.perf_counter() - start) * 1000)
        assert not at.exception
    return times


def cold_start_s() -> float:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.perf_counter()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "inferlab.dashboard",
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
        ],
        cwd=ROOT,
        env={**os.environ, "INFERLAB_DB": "/tmp/inferlab-bench.duckdb"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while time.perf_counter() - start < 60:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/latency", timeout=1)
                if r.status_code == 200:
                    return time.perf_counter() - start
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError("dashboard did not serve /latency within 60 s")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    times = script_time_ms()
    print(
        f"latency page script time per rerun over {RERUNS} reruns: "
        f"median {statistics.median(times):.1f} ms, p90 {sorted(times)[int(0.9 * RERUNS)]:.1f} ms, "
        f"max {max(times):.1f} ms (target < 150 ms)"
    )
    colds = [cold_start_s() for _ in range(3)]
    print(
        f"cold start until /latency is served: {', '.join(f'{c:.2f}' for c in colds)} s; "
        f"median {statistics.median(colds):.2f} s (target < 5 s)"
    )


if __name__ == "__main__":
    main()
