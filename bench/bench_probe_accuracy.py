"""Probe accuracy at load against a server in its own process whose truth is its own log.

Run: `.venv/bin/python bench/bench_probe_accuracy.py` (about 5 minutes; options:
`--steps 1:20,64:256,256:1000`, `--clients inferlab,local,userspace,bare`
(and `processes:N`: N worker processes), `--server truth|sim`).

The server (TTFT 200 ms, 20 ms between chunks, 128 tokens, 32-token prompts)
runs in its own process and stamps, with its own clock, when each request
arrived and just before it wrote every chunk; it hands that log over at the
end. Both sides read CLOCK_MONOTONIC (`time.perf_counter_ns` on Linux), shared
by all processes, so the stamps compare directly. Requests are matched by
their X-Request-Id. Servers:
- `truth` (default): bench/truth_server.py, stdlib only, whose request arrival
  is the kernel's receive stamp, so its own lag in reading a request is not
  blamed on the client;
- `sim`: inferlab's simulator (`SimServer(process=True)`), whose arrival is
  stamped when its ASGI handler starts: at load that adds the server's own
  request-parsing lag to every client's `send` column.

Per request:
- true TTFT = server's first content chunk write - its arrival of the request
  (what the server did); TTFT error = measured TTFT - true TTFT. It splits into
  `send` (server arrival - client send stamp: the client's send stamp being
  early, or the server parsing late) and `recv` (client stamp of the first chunk
  - server write of it: delivery plus any client lag in stamping it).
- TPOT error = measured (E2E - TTFT)/(n - 1) - the server's (last chunk write -
  first chunk write)/(n - 1).

Clients, each run at every step in the same session so ratios compare:
- `inferlab`: the probe as shipped, on its default engine (`--engine auto`:
  one process up to 128 streams, worker processes above; the `engine` column
  names the one that ran).
- `local`: the one-process engine (`run_probe`, kernel receive stamps), at the
  steps where the default engine is another one.
- `userspace` (not run by default): the one-process engine with kernel stamps
  off (stamps taken when the event loop reads the socket): what they buy.
- `bare`: a bare stdlib-socket client (one selector loop, connections opened
  before the clock, stamps taken right after `recv`, minimal parsing): the
  floor a user-space Python client reaches on this machine.
- `aiperf` / `guidellm`: not run by this script (not installed here; see
  docs/PERFORMANCE.md for their published error from the issue's session).

The machine is shared; compare the clients within one run, and read the
`load` line: a busy machine raises every client's error.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import resource
import selectors
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from inferlab.metrics.percentile import percentile
from inferlab.probe import MemorySink, ProbeConfig, make_run_info, run_probe
from inferlab.probe import transport as probe_transport
from inferlab.probe.engines.choice import choose, run_chosen
from inferlab.records import RunInfo
from inferlab.sim import SimConfig, SimServer

MAX_TOKENS = 128
PROMPT_TOKENS = 32


@dataclass(frozen=True)
class Sample:
    """One request as a client measured it (absolute perf_counter_ns stamps)."""

    request_id: str
    sent_ns: int
    first_ns: int
    last_ns: int


@dataclass(frozen=True)
class Truth:
    """One request as the server logged it."""

    arrival_ns: int
    chunk_sent_ns: list[int]
    tokens: int


class TruthSource:
    """Where the bench's server is and how to read and clear its log."""

    def __init__(
        self, base_url: str, clear: Callable[[], None], read: Callable[[], dict[str, Truth]]
    ):
        self.base_url, self.clear, self.read = base_url, clear, read


@contextmanager
def truth_server() -> Iterator[TruthSource]:
    script = Path(__file__).with_name("truth_server.py")
    proc = subprocess.Popen(
        [sys.executable, str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline().split()[1])
        url = f"http://127.0.0.1:{port}"

        def read() -> dict[str, Truth]:
            rows = httpx.get(f"{url}/truth", timeout=60).json()
            return {
                r["request_id"]: Truth(r["arrival_ns"], r["chunk_sent_ns"], len(r["chunk_sent_ns"]))
                for r in rows
            }

        def clear() -> None:
            httpx.delete(f"{url}/truth").raise_for_status()

        yield TruthSource(url + "/v1", clear, read)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(10)


@contextmanager
def sim_server() -> Iterator[TruthSource]:
    cfg = SimConfig(
        ttft_ms=200, tpot_ms=20, max_batch=1024, default_max_tokens=MAX_TOKENS, truth_limit=5000
    )
    with SimServer(cfg, process=True) as sim:

        def read() -> dict[str, Truth]:
            return {
                t.client_request_id or "": Truth(t.arrival_ns, t.chunk_sent_ns, sum(t.tokens))
                for t in sim.truth()
            }

        yield TruthSource(sim.base_url, sim.clear_truth, read)


def pct(values: list[float], p: float) -> float:
    return percentile(sorted(values), p)  # inferlab's one percentile; NaN when empty


def cpu_s() -> float:
    self_ = resource.getrusage(resource.RUSAGE_SELF)
    return self_.ru_utime + self_.ru_stime


# --- inferlab ---------------------------------------------------------------------


def _cfg(url: str, concurrency: int, requests: int) -> ProbeConfig:
    return ProbeConfig(
        url=url,
        model="inferlab-sim",
        concurrency=concurrency,
        requests=requests,
        max_tokens=MAX_TOKENS,
        prompt_tokens=PROMPT_TOKENS,
        timeout_s=120,
    )


def engine_of(info: RunInfo) -> str:
    """'local', 'processes x2': the engine a run's settings name."""
    workers = info.settings.get("workers", 1)
    n = workers if isinstance(workers, int) else 1
    return str(info.settings.get("engine", "local")) + (f" x{n}" if n > 1 else "")


def default_engine(concurrency: int, requests: int) -> str:
    """What `inferlab probe` (--engine auto) runs this step on, e.g. 'processes x2'."""
    return engine_of(choose(make_run_info(_cfg("http://127.0.0.1:1/v1", concurrency, requests))))


@dataclass(frozen=True)
class Measured:
    samples: list[Sample]
    engine: str  # the engine that ran, e.g. "local", "processes x2"
    worker_cpu_s: float = 0.0  # CPU of worker processes (not in this process's rusage)


def run_inferlab(url: str, concurrency: int, requests: int, engine: str) -> Measured:
    """One inferlab run: `engine` is auto (the default), local, userspace (local
    with kernel stamps off) or processes:N (N worker processes)."""
    cfg = _cfg(url, concurrency, requests)
    sink = MemorySink()
    if engine == "auto":
        result = asyncio.run(run_chosen(cfg, sink))
    elif engine.startswith("processes:"):
        workers = int(engine.split(":", 1)[1])
        result = asyncio.run(run_chosen(cfg, sink, engine="processes", workers=workers))
    else:
        probe_transport.KERNEL_STAMPS = engine != "userspace"
        try:
            result = asyncio.run(run_probe(cfg, sink))
        finally:
            probe_transport.KERNEL_STAMPS = True
    samples = []
    for rec in sink.records:
        if not rec.ok or rec.ttft_ms is None or rec.e2e_ms is None:
            continue
        sent_ns = result.anchor_ns + round(rec.sent_ms * 1e6)
        samples.append(
            Sample(
                request_id=f"{result.info.run_id}-{rec.index}",
                sent_ns=sent_ns,
                first_ns=sent_ns + round(rec.ttft_ms * 1e6),
                last_ns=sent_ns + round(rec.e2e_ms * 1e6),
            )
        )
    return Measured(samples, engine_of(result.info), result.worker_cpu_s or 0.0)


# --- the bare stdlib-socket floor -------------------------------------------------------


class _Slot:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""
        self.head_done = False
        self.request_id = ""
        self.sent_ns = self.first_ns = self.last_ns = 0
        self.done_seen = False


def _request_bytes(host: str, port: int, request_id: str) -> bytes:
    body = json.dumps(
        {
            "model": "inferlab-sim",
            "messages": [{"role": "user", "content": " ".join(["hello"] * PROMPT_TOKENS)}],
            "max_tokens": MAX_TOKENS,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
    ).encode()
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Content-Type: application/json\r\nAccept: text/event-stream\r\n"
        f"X-Request-Id: {request_id}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def run_bare(host: str, port: int, concurrency: int, requests: int) -> list[Sample]:
    """One selector loop; every slot keeps one connection, opened before the clock."""
    sel = selectors.DefaultSelector()
    prefix = f"bare{time.monotonic_ns()}-"
    slots = []
    for _ in range(min(concurrency, requests)):
        sock = socket.create_connection((host, port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        slots.append(_Slot(sock))
    issued = 0
    samples: list[Sample] = []

    def send(slot: _Slot) -> None:
        nonlocal issued
        slot.request_id = f"{prefix}{issued}"
        issued += 1
        slot.buf, slot.head_done, slot.done_seen = b"", False, False
        slot.first_ns = slot.last_ns = 0
        data = _request_bytes(host, port, slot.request_id)
        slot.sent_ns = time.perf_counter_ns()
        slot.sock.setblocking(True)
        slot.sock.sendall(data)
        slot.sock.setblocking(False)

    for slot in slots:
        send(slot)
        sel.register(slot.sock, selectors.EVENT_READ, slot)
    while len(samples) < requests and sel.get_map():
        for key, _ in sel.select():
            slot = key.data
            data = slot.sock.recv(65536)
            now = time.perf_counter_ns()
            if not data:
                sel.unregister(slot.sock)
                continue
            slot.buf += data
            if not slot.head_done:
                end = slot.buf.find(b"\r\n\r\n")
                if end < 0:
                    continue
                slot.head_done, slot.buf = True, slot.buf[end + 4 :]
            while (cut := slot.buf.find(b"\n\n")) >= 0:
                event, slot.buf = slot.buf[:cut], slot.buf[cut + 2 :]
                if b"[DONE]" in event:
                    slot.done_seen = True
                elif b'"content":"' in event and b'"content":""' not in event:
                    slot.first_ns = slot.first_ns or now
                    slot.last_ns = now
            if slot.done_seen and slot.buf.endswith(b"0\r\n\r\n"):
                samples.append(Sample(slot.request_id, slot.sent_ns, slot.first_ns, slot.last_ns))
                if issued < requests:
                    send(slot)
                else:
                    sel.unregister(slot.sock)
    for slot in slots:
        slot.sock.close()
    return samples


# --- scoring -------------------------------------------------------------------------


def score(samples: list[Sample], truth: dict[str, Truth]) -> dict[str, float]:
    ttft_err, send_err, recv_err, tpot_err = [], [], [], []
    for s in samples:
        t = truth.get(s.request_id)
        if t is None or not t.chunk_sent_ns or s.first_ns == 0:
            continue
        true_ttft = t.chunk_sent_ns[0] - t.arrival_ns
        ttft_err.append((s.first_ns - s.sent_ns - true_ttft) / 1e6)
        send_err.append((t.arrival_ns - s.sent_ns) / 1e6)
        recv_err.append((s.first_ns - t.chunk_sent_ns[0]) / 1e6)
        n = t.tokens
        if n >= 2:
            true_tpot = (t.chunk_sent_ns[-1] - t.chunk_sent_ns[0]) / (n - 1)
            tpot_err.append(abs((s.last_ns - s.first_ns) / (n - 1) - true_tpot) / 1e6)
    return {
        "n": float(len(ttft_err)),
        "ttft_p50": pct(ttft_err, 50),
        "ttft_p99": pct(ttft_err, 99),
        "send_p50": pct(send_err, 50),
        "send_p99": pct(send_err, 99),
        "recv_p50": pct(recv_err, 50),
        "recv_p99": pct(recv_err, 99),
        "tpot_p50": pct(tpot_err, 50),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--steps", default="1:20,64:256,256:1000", help="c:requests,...")
    parser.add_argument("--clients", default="inferlab,local,bare")
    parser.add_argument("--server", choices=["truth", "sim"], default="truth")
    args = parser.parse_args()
    steps = [tuple(int(x) for x in part.split(":")) for part in args.steps.split(",")]
    clients = args.clients.split(",")
    with truth_server() if args.server == "truth" else sim_server() as server:
        url = server.base_url
        host, port = "127.0.0.1", int(url.rsplit(":", 1)[1].split("/")[0])
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(
            f"{args.server} server in its own process: TTFT 200 ms, 20 ms/chunk, {MAX_TOKENS} tokens"
        )
        print(f"load average before: {load} ({os.cpu_count()} CPUs)")
        print(
            "client     engine         c  done | TTFT err p50     p99 |  send p50    p99 |"
            "  recv p50     p99 | |TPOT err| p50 | client CPU"
        )
        runners: dict[str, Callable[[int, int], Measured]] = {
            "inferlab": lambda c, n: run_inferlab(url, c, n, "auto"),
            "local": lambda c, n: run_inferlab(url, c, n, "local"),
            "userspace": lambda c, n: run_inferlab(url, c, n, "userspace"),
            "bare": lambda c, n: Measured(run_bare(host, port, c, n), "bare socket"),
        }
        for name in clients:
            if name.startswith("processes:"):
                runners[name] = functools.partial(run_inferlab, url, engine=name)
        for concurrency, requests in steps:
            for name in clients:
                if name == "local" and default_engine(concurrency, requests) == "local":
                    continue  # the `inferlab` row is this engine already
                server.clear()
                cpu0, wall0 = cpu_s(), time.perf_counter()
                got = runners[name](concurrency, requests)
                cpu_share = (cpu_s() - cpu0 + got.worker_cpu_s) / (time.perf_counter() - wall0)
                m = score(got.samples, server.read())
                print(
                    f"{name:10s} {got.engine:12s} {concurrency:3d} {m['n']:5.0f} | "
                    f"{m['ttft_p50']:+8.2f} ms "
                    f"{m['ttft_p99']:+7.2f} | {m['send_p50']:+7.2f} {m['send_p99']:+6.2f} | "
                    f"{m['recv_p50']:+7.2f} {m['recv_p99']:+7.2f} | {m['tpot_p50']:10.4f} ms | "
                    f"{cpu_share:6.1%}",
                    flush=True,
                )
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"load average after: {load}")


if __name__ == "__main__":
    main()
