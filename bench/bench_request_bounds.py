"""How long and how much memory `inferlab probe` spends against hostile servers (issue 18 item 4).

Three loopback servers: one trickles a byte per second, one streams chunks without
`[DONE]` as fast as it can, one sends a single line without a newline (each answers
`GET /models` and preflight's 1-token request normally, so the run starts). Each is
probed by a real `inferlab probe --duration 5 --timeout 5 --concurrency 1` process;
prints its wall time, peak RSS and how its requests ended. Run once:
    .venv/bin/python bench/bench_request_bounds.py
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

Writer = Callable[[asyncio.StreamWriter], Awaitable[None]]

HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"
EVENT = b'data: {"choices": [{"delta": {"content": "x"}}]}\n\n'
_LIST = b'{"object": "list", "data": [{"id": "m"}]}'
MODELS = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n"
    + f"content-length: {len(_LIST)}\r\n\r\n".encode()
    + _LIST
)


async def trickle(w: asyncio.StreamWriter) -> None:
    w.write(HEAD)
    while True:
        w.write(b":")
        await w.drain()
        await asyncio.sleep(1.0)


async def no_done(w: asyncio.StreamWriter) -> None:
    w.write(HEAD)
    while True:
        w.write(EVENT * 200)
        await w.drain()


async def huge_line(w: asyncio.StreamWriter) -> None:
    w.write(HEAD + b"data: ")
    block = b"x" * (1 << 20)
    while True:
        w.write(block)
        await w.drain()


def serve(behaviour: Writer) -> int:
    """A port served by a daemon thread until the script ends."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    port = 0

    async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        try:
            head = await r.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.decode("latin-1").split("\r\n"):
                if line.lower().startswith("content-length:"):
                    length = int(line.split(":", 1)[1])
            body = await r.readexactly(length)
            if head.startswith(b"GET"):
                w.write(MODELS)
            elif json.loads(body).get("max_tokens") == 1:  # the preflight
                w.write(HEAD + EVENT + b"data: [DONE]\n\n")
            else:
                await behaviour(w)
            await w.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            w.close()

    async def start() -> None:
        nonlocal port
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        ready.set()

    def run() -> None:
        loop.run_until_complete(start())
        loop.run_forever()

    threading.Thread(target=run, daemon=True).start()
    ready.wait(5)
    return port


def probe(port: int, db: Path) -> tuple[float, float, dict[str, int]]:
    """Wall seconds, the probe process's own peak RSS (MiB) and its errors by class."""
    inferlab = Path(sys.executable).with_name("inferlab")
    cmd = [
        str(inferlab), "probe", "--url", f"http://127.0.0.1:{port}/v1", "--model", "m",
        "--duration", "5", "--timeout", "5", "--concurrency", "1", "--json",
    ]  # fmt: skip
    env = {**os.environ, "INFERLAB_DB": str(db)}
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    assert proc.stdout is not None
    stdout = proc.stdout.read()
    _, _, usage = os.wait4(proc.pid, 0)  # this child's own peak RSS, in KiB on Linux
    proc.returncode = 0  # reaped by wait4; keeps Popen from waiting again
    wall_s = time.perf_counter() - start
    try:
        errors = json.loads(stdout).get("errors_by_class", {})
    except ValueError:
        errors = {"(no summary)": 0}
    return wall_s, usage.ru_maxrss / 1024, errors


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for name, behaviour in (
            ("1 byte/s", trickle),
            ("no [DONE]", no_done),
            ("one huge line", huge_line),
        ):
            port = serve(behaviour)
            wall_s, peak_mib, errors = probe(port, Path(tmp) / f"{port}.duckdb")
            print(f"{name:>14}: {wall_s:5.1f} s wall, peak RSS {peak_mib:.0f} MiB, errors {errors}")


if __name__ == "__main__":
    main()
