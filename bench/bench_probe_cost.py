"""Client cost of the probe: CPU share of one core and peak RSS (targets at c=64: < 25 %,
< 100 MiB), and whether 1,000 concurrent streams complete.

Run: `.venv/bin/python bench/bench_probe_cost.py` (about a minute).
The sim runs as a separate `inferlab sim` process (TTFT 200 ms, TPOT 20 ms,
128 output tokens, max batch 2,000), so only the client is measured:
- "engine": run_probe in this process with a sink that discards records;
  CPU = this process's user+sys time over the run's wall time, RSS = peak of
  this process (Python, httpx and the probe; no streamlit, pandas or duckdb);
  run with the probe's connection pools of 16 streams and, for comparison,
  one pool of 64 (alternated twice).
- "CLI": a whole `inferlab probe` process writing a DuckDB file (start-up
  imports, spool writes and the final summary included), measured by wait4(),
  and its peak RSS until the last request was written (VmHWM at that moment);
  once as `python -m inferlab probe` and once with only the probe subcommand
  registered (the CLI otherwise imports every subcommand's module).
"""

from __future__ import annotations

import asyncio
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from inferlab.probe import ProbeConfig, run_probe, worker
from inferlab.records import RequestRecord, RunStatus

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
MAX_TOKENS = 128


class CountingSink:
    def __init__(self) -> None:
        self.ok = self.failed = 0
        self.queue_ms: list[float] = []

    def add(self, record: RequestRecord) -> None:
        if record.ok:
            self.ok += 1
        else:
            self.failed += 1
        self.queue_ms.append(record.client_queue_ms)

    def close(self, status: RunStatus) -> None:
        pass


def start_sim() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [PY, "-m", "inferlab", "sim", "--port", "0", "--ttft-ms", "200", "--tpot-ms", "20",
         "--max-batch", "2000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "listening on" not in line:
        raise SystemExit(f"sim did not start: {line!r}")
    return proc, line.split("listening on", 1)[1].strip()


def engine(url: str, concurrency: int, requests: int) -> dict[str, float]:
    cfg = ProbeConfig(
        url=url,
        model="inferlab-sim",
        concurrency=concurrency,
        requests=requests,
        max_tokens=MAX_TOKENS,
        timeout_s=120,
    )
    sink = CountingSink()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    asyncio.run(run_probe(cfg, sink))
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    q = sorted(sink.queue_ms)
    return {
        "ok": sink.ok,
        "failed": sink.failed,
        "wall_s": wall,
        "cpu_s": cpu,
        "cpu_share": cpu / wall,
        "chunks_per_s": sink.ok * MAX_TOKENS / wall,
        "cpu_us_per_chunk": cpu / max(sink.ok * MAX_TOKENS, 1) * 1e6,
        "queue_p99_ms": q[int(0.99 * (len(q) - 1))] if q else float("nan"),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


_PROBE_ONLY = (
    "import argparse, sys\n"
    "from inferlab.cli import probe\n"
    "p = argparse.ArgumentParser(prog='inferlab')\n"
    "probe.register(p.add_subparsers())\n"
    "a = p.parse_args(sys.argv[1:])\n"
    "sys.exit(a.func(a))\n"
)


def _status_kib(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cli(url: str, concurrency: int, requests: int, *, probe_only: bool = False) -> dict[str, float]:
    """A whole `inferlab probe` process; peak RSS up to the end of the measurement and overall.

    The measurement ends when the spool's `<run>.end.json` appears (the run's
    last request is written; ingest and summary follow). Its figure is the
    kernel's VmHWM read then (start-up and measurement included, sampled every
    5 ms, so it can be a few ms late); the overall peak comes from wait4().
    `probe_only` starts the same command with only the probe subcommand
    registered, as if the CLI imported just the subcommand it runs.
    """
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "cost.duckdb"
        head = [PY, "-c", _PROBE_ONLY] if probe_only else [PY, "-m", "inferlab"]
        cmd = [
            *head,
            "probe", "--url", url, "--model", "inferlab-sim",
            "--concurrency", str(concurrency), "--requests", str(requests),
            "--max-tokens", str(MAX_TOKENS), "--db", str(db), "--json",
        ]  # fmt: skip
        spool = db.with_name(db.name + ".spool")
        wall0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        run_hwm = 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if not run_hwm and spool.is_dir() and any(spool.glob("*.end.json")):
                run_hwm = _status_kib(proc.pid, "VmHWM:")
            time.sleep(0.005)
        wall = time.perf_counter() - wall0
        proc.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    return {
        "exit": proc.returncode,
        "wall_s": wall,
        "cpu_s": cpu,
        "cpu_share": cpu / wall,
        "run_peak_rss_mib": run_hwm / 1024 if run_hwm else float("nan"),
        "peak_rss_mib": usage.ru_maxrss / 1024,
    }


def _print_engine(name: str, r: dict[str, float]) -> None:
    print(
        f"{name}: {r['ok']:.0f} ok / {r['failed']:.0f} failed in {r['wall_s']:.1f} s; "
        f"CPU {r['cpu_s']:.2f} s = {r['cpu_share']:.1%} of a core ({r['chunks_per_s']:,.0f} "
        f"chunks/s, {r['cpu_us_per_chunk']:.0f} us CPU each); peak RSS so far "
        f"{r['peak_rss_mib']:.1f} MiB; client queue p99 {r['queue_p99_ms']:.2f} ms"
    )


def _print_cli(name: str, c: dict[str, float]) -> None:
    print(
        f"{name} c=64, 320 requests: exit {c['exit']:.0f} in {c['wall_s']:.1f} s; CPU "
        f"{c['cpu_s']:.2f} s = {c['cpu_share']:.1%} of a core (start-up included); "
        f"peak RSS until the last request {c['run_peak_rss_mib']:.1f} MiB, "
        f"overall (ingest + summary included) {c['peak_rss_mib']:.1f} MiB"
    )


def main() -> None:
    sim, url = start_sim()
    try:
        print(f"sim: separate process at {url}; TTFT 200 ms, TPOT 20 ms, {MAX_TOKENS} tokens")
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"load average before: {load} ({os.cpu_count()} CPUs)")
        # c=64 first: ru_maxrss never goes down, so the c=1000 peak includes it.
        # Connection pools of STREAMS_PER_POOL streams, then one pool of 64 for
        # comparison, alternated twice (the machine is shared: compare the ratio).
        for _ in range(2):
            _print_engine(f"engine c=64, pools of {worker.STREAMS_PER_POOL}", engine(url, 64, 320))
            per_pool, worker.STREAMS_PER_POOL = worker.STREAMS_PER_POOL, 64
            try:
                _print_engine("engine c=64, one pool of 64", engine(url, 64, 320))
            finally:
                worker.STREAMS_PER_POOL = per_pool
        _print_cli("CLI   ", cli(url, 64, 320))
        _print_cli("CLI, probe subcommand alone,", cli(url, 64, 320, probe_only=True))
        r = engine(url, 1000, 1000)
        _print_engine("engine c=1000, 1000 requests", r)
        if r["ok"] != 1000:
            raise SystemExit("1,000 concurrent streams did not all complete")
    finally:
        sim.send_signal(signal.SIGINT)
        try:
            sim.wait(10)
        except subprocess.TimeoutExpired:
            sim.kill()


if __name__ == "__main__":
    main()
