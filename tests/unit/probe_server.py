"""A scripted HTTP/1.1 server on loopback for probe tests: real sockets, any misbehaviour.

Each connection is handled by an async function of (request, writer). The
server runs its own event loop in a thread, so the probe under test runs in
the test's own `asyncio.run` exactly as in production.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Request",
    "ScriptedServer",
    "chunk",
    "free_port",
    "sse_head",
    "sse_stream",
    "stalled_listener",
]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Handler = Callable[[Request, asyncio.StreamWriter], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Request(method, path, headers, body)


class ScriptedServer:
    """`with ScriptedServer(handler) as srv:` serves on `srv.base_url` until the block ends."""

    def __init__(self, handler: Handler, host: str = "127.0.0.1", port: int = 0) -> None:
        self.handler = handler
        self.host = host  # any of 127.0.0.0/8 is loopback
        self.requests: list[Request] = []
        self.metrics_requests: list[Request] = []  # the probe's /metrics scrapes, answered 404
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.port = port

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while (request := await _read_request(reader)) is not None:
                if request.method == "GET" and request.path == "/metrics":
                    self.metrics_requests.append(request)
                    writer.write(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
                    await writer.drain()
                    continue
                self.requests.append(request)
                await self.handler(request, writer)
                if writer.is_closing():
                    return
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def start() -> None:
            self._server = await asyncio.start_server(self._serve, self.host, self.port)
            self.port = self._server.sockets[0].getsockname()[1]
            self._ready.set()

        self._loop.run_until_complete(start())
        self._loop.run_forever()

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        self._ready.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            if self._server is not None:
                self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self._loop.close()


def chunk(data: bytes) -> bytes:
    """One HTTP/1.1 chunked-encoding frame."""
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def sse_head(status: int = 200, content_type: str = "text/event-stream") -> bytes:
    return (
        f"HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ntransfer-encoding: chunked\r\n\r\n"
    ).encode()


def sse_stream(
    contents: list[str],
    *,
    role_first: bool = True,
    usage: dict[str, int] | None = None,
    done: bool = True,
    api: str = "chat",
) -> list[bytes]:
    """SSE events (each one chunk) of a normal OpenAI stream, then the terminator."""
    events = []

    def event(obj: object) -> bytes:
        return chunk(b"data: " + json.dumps(obj).encode() + b"\n\n")

    if role_first and api == "chat":
        events.append(event({"choices": [{"index": 0, "delta": {"role": "assistant"}}]}))
    for text in contents:
        if api == "chat":
            events.append(event({"choices": [{"index": 0, "delta": {"content": text}}]}))
        else:
            events.append(event({"choices": [{"index": 0, "text": text}]}))
    if usage is not None:
        events.append(event({"choices": [], "usage": usage}))
    if done:
        events.append(chunk(b"data: [DONE]\n\n"))
    events.append(b"0\r\n\r\n")
    return events


def free_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def stalled_listener() -> Iterator[int]:
    """A loopback port whose accept queue is full, so new connections hang (connect timeout)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(8):
            s = socket.socket()
            s.setblocking(False)
            with suppress(BlockingIOError):
                s.connect(("127.0.0.1", port))
            fillers.append(s)
        yield port
    finally:
        for s in fillers:
            s.close()
        listener.close()
