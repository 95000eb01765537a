"""Probe page: how fast errors surface, what the live view costs, how close the sim's numbers are.

Run: `make bench` or `.venv/bin/python bench/bench_probe_page.py`. Prints figures; asserts nothing.

- unreachable endpoint: seconds from pressing Launch (JobManager.start) to the message;
- live view: JobSnapshot with 10,000 finished requests, and the live chart of 1,000 points;
- page rerun with a finished probe (AppTest script time, the fragment's work included);
- dashboard sim (child process) at its defaults, TTFT 200 ms / TPOT 20 ms, concurrency 8:
  the p50s the job measured;
- a dashboard-style job (JobManager.start) against that sim at concurrency 4 while a
  thread of this process does busy Python work (building the live chart over and over,
  as Streamlit reruns do): TTFT p95 and ITL p99 with the job in a thread of this process
  (before) and in its own process (after), against the set 200 ms / 20 ms.
"""

from __future__ import annotations

import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    os.environ["INFERLAB_DB"] = str(tmp / "bench.duckdb")
    busy_comparison()  # first: Streamlit's AppTest below leaves its runtime behind

    from inferlab.charts.probe import live_latency
    from inferlab.dashboard.jobs import JobError, JobManager, LivePoint
    from inferlab.netpolicy import NetPolicy
    from inferlab.probe import ProbeConfig
    from inferlab.records import RequestRecord

    manager = JobManager()
    open_policy = NetPolicy()
    t0 = time.perf_counter()
    try:
        manager.start(
            ProbeConfig(url=f"http://127.0.0.1:{free_port()}/v1", model="m"), policy=open_policy
        )
    except JobError as exc:
        print(f"unreachable endpoint -> message in {time.perf_counter() - t0:.3f} s: {exc}")

    url = manager.sim_url()
    job = manager.start(
        ProbeConfig(url=url, model="inferlab-sim", concurrency=8, requests=80, max_tokens=64),
        policy=open_policy,
        check_endpoint=False,
    )
    job.wait(120)
    snap = job.snapshot()
    print(
        f"dashboard sim TTFT 200 ms / TPOT 20 ms, concurrency 8, 80 requests: measured "
        f"TTFT p50 {snap.ttft_p50_ms:.1f} ms, p95 {snap.ttft_p95_ms:.1f} ms; "
        f"TPOT p50 {snap.tpot_p50_ms:.2f} ms, p95 {snap.tpot_p95_ms:.2f} ms"
    )

    for i in range(10_000):  # feed a big job's worth of records straight into the live figures
        job._observe(
            RequestRecord(
                index=i,
                scheduled_ms=i,
                sent_ms=i,
                ok=True,
                ttft_ms=200 + i % 50,
                e2e_ms=1500 + i % 70,
                output_tokens=64,
            )
        )
    times = []
    for _ in range(20):
        t = time.perf_counter()
        job.snapshot()
        times.append((time.perf_counter() - t) * 1000)
    print(f"snapshot of a job with 10,080 requests: median {statistics.median(times):.2f} ms")

    points = [
        LivePoint(i / 10, 200.0 + i % 40, 20.0 + i % 3, 1500.0, i % 50 != 0) for i in range(1000)
    ]
    for n in (1000, 300):  # 300: what the Probe page now passes
        times = []
        for _ in range(10):
            t = time.perf_counter()
            live_latency(points[-n:])
            times.append((time.perf_counter() - t) * 1000)
        print(f"live chart of {n:,} points: median {statistics.median(times):.1f} ms to build")

    from streamlit.testing.v1 import AppTest

    import inferlab.dashboard.jobs as jobs_module

    jobs_module._MANAGER = manager  # the page shows this manager's (finished) job
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.switch_page("pages/probe.py")
    at.run()
    times = []
    for _ in range(10):
        t = time.perf_counter()
        at.run()
        times.append((time.perf_counter() - t) * 1000)
    print(f"Probe page rerun with one finished probe: median {statistics.median(times):.0f} ms")
    manager.shutdown()


def busy_comparison(requests: int = 120, max_tokens: int = 64) -> None:
    """The same probe with the job in a thread (before) and in its own process (after)."""
    from inferlab.charts.probe import live_latency
    from inferlab.dashboard.jobs import JobManager, LivePoint, dashboard_sim_config
    from inferlab.netpolicy import NetPolicy
    from inferlab.probe import ProbeConfig
    from inferlab.store import Store, default_db_path

    points = [
        LivePoint(i / 10, 200.0 + i % 40, 20.0 + i % 3, 1500.0, i % 50 != 0) for i in range(1000)
    ]
    stop = threading.Event()

    def rerun_like() -> None:  # pure Python holding the GIL, like a fragment rerun
        while not stop.is_set():
            live_latency(points).to_dict()

    for name, in_process in (
        ("thread of it (before)", False),
        ("process of its own (after)", True),
    ):
        manager = JobManager(job_process=in_process)
        url = manager.sim_url(dashboard_sim_config())
        busy = threading.Thread(target=rerun_like, daemon=True)
        stop.clear()
        busy.start()
        try:
            t = time.perf_counter()
            job = manager.start(
                ProbeConfig(
                    url=url,
                    model="inferlab-sim",
                    concurrency=4,
                    requests=requests,
                    max_tokens=max_tokens,
                    label=f"bench busy {name}",
                ),
                policy=NetPolicy(),
                check_endpoint=False,
            )
            start_s = time.perf_counter() - t
            job.wait(300)
        finally:
            stop.set()
            busy.join()
        summary = Store(default_db_path()).summary(job.run_id)
        print(
            f"job in a {name}: sim set TTFT 200 ms / TPOT 20 ms, concurrency 4, {requests} "
            f"requests x {max_tokens} tokens, busy thread in the dashboard process: "
            f"TTFT p50 {summary.ttft_ms.p50:.1f} ms, p95 {summary.ttft_ms.p95:.1f} ms; "
            f"ITL p50 {summary.itl_ms.p50:.1f} ms, p99 {summary.itl_ms.p99:.1f} ms "
            f"(Launch returned in {start_s:.2f} s)"
        )
        manager.shutdown()


if __name__ == "__main__":
    main()
