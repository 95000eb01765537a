"""The stamping transport: arrival stamps taken on receipt, and plain httpx behaviour
otherwise (keep-alive, TLS)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import ssl
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from inferlab.probe.transport import StampedStream, StampingBackend, stamping_transport
from inferlab.probe.worker import build_client
from tests.unit.probe_server import Request, ScriptedServer, sse_head, sse_stream


def test_stamp_is_taken_when_bytes_arrive_not_when_they_are_read() -> None:
    sent = threading.Event()

    async def handler(req: Request, w: asyncio.StreamWriter) -> None:
        w.write(b"hello")
        await w.drain()
        sent.set()
        await asyncio.sleep(1)

    async def main(port: int) -> tuple[int, int, bytes]:
        stream = await StampingBackend().connect_tcp("127.0.0.1", port, timeout=5)
        await stream.write(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        await asyncio.to_thread(sent.wait, 5)
        await asyncio.sleep(0.05)  # the loop receives the bytes meanwhile
        before_read = time.perf_counter_ns()
        data = await stream.read(1024)
        assert isinstance(stream, StampedStream)
        await stream.aclose()
        return stream.last_stamp_ns, before_read, data

    with ScriptedServer(handler) as srv:
        stamp, before_read, data = asyncio.run(main(srv.port))
    assert data == b"hello"
    assert 0 < stamp < before_read


def test_read_splits_a_segment_larger_than_asked_and_keeps_its_stamp() -> None:
    async def handler(req: Request, w: asyncio.StreamWriter) -> None:
        w.write(b"abcdef")
        await w.drain()
        await asyncio.sleep(1)

    async def main(port: int) -> list[tuple[bytes, int]]:
        stream = await StampingBackend().connect_tcp("127.0.0.1", port, timeout=5)
        assert isinstance(stream, StampedStream)
        await stream.write(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        out: list[tuple[bytes, int]] = []
        while sum(len(d) for d, _ in out) < 6:
            out.append((await stream.read(4), stream.last_stamp_ns))
        await stream.aclose()
        return out

    with ScriptedServer(handler) as srv:
        parts = asyncio.run(main(srv.port))
    assert b"".join(d for d, _ in parts) == b"abcdef"
    assert all(len(d) <= 4 for d, _ in parts)


def test_client_uses_the_stamping_stream_and_reuses_connections() -> None:
    async def handler(req: Request, w: asyncio.StreamWriter) -> None:
        for part in [sse_head(), *sse_stream(["a"])]:
            w.write(part)
        await w.drain()

    async def main(url: str) -> list[object]:
        streams = []
        async with build_client(5.0, 4) as client:
            for _ in range(3):
                async with client.stream("POST", url, content=b"{}") as r:
                    streams.append(r.extensions.get("network_stream"))
                    await r.aread()
        return streams

    with ScriptedServer(handler) as srv:
        streams = asyncio.run(main(srv.base_url + "/chat/completions"))
    assert all(isinstance(s, StampedStream) for s in streams)
    assert len({id(s) for s in streams}) == 1  # one kept-alive connection for all three


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_tls_works_through_the_stamping_backend(tmp_path: Path) -> None:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.create_default_context(cafile=str(cert))

    async def main() -> tuple[int, bytes, bool]:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server_ctx)
        port = server.sockets[0].getsockname()[1]
        transport = stamping_transport(httpx.Limits(max_connections=2), ssl_context=client_ctx)
        async with server, httpx.AsyncClient(transport=transport) as client:
            r = await client.get(f"https://127.0.0.1:{port}/")
            stream = r.extensions.get("network_stream")
            return r.status_code, r.content, isinstance(stream, StampedStream)

    status, content, stamped = asyncio.run(main())
    assert (status, content, stamped) == (200, b"ok", True)


def test_large_loads_get_several_small_connection_pools() -> None:
    from inferlab.probe.worker import STREAMS_PER_POOL, build_clients

    assert STREAMS_PER_POOL == 16
    assert len(build_clients(5.0, 1000)) == 63  # 16 streams each at most
    assert len(build_clients(5.0, 64)) == 4
    assert len(build_clients(5.0, 16)) == 1 and len(build_clients(5.0, 17)) == 2
    assert len(build_clients(5.0, None, closed_loop=False)) == 8


def test_each_chunk_keeps_its_own_stamp_while_the_event_loop_is_blocked() -> None:
    # Two chunks arrive while the client's event loop is blocked (reads nothing): the
    # reader thread queues them apart, so when the loop reads at last, each comes out
    # alone with its own arrival stamp instead of both with the later one.
    first_read = threading.Event()
    second_pulled = threading.Event()
    third_sent = threading.Event()
    sent_ns: dict[str, int] = {}

    async def handler(req: Request, w: asyncio.StreamWriter) -> None:
        w.write(b"first")
        await w.drain()
        await asyncio.to_thread(first_read.wait, 10)
        sent_ns["second"] = time.perf_counter_ns()
        w.write(b"second")
        await w.drain()
        await asyncio.to_thread(second_pulled.wait, 10)
        sent_ns["third"] = time.perf_counter_ns()
        w.write(b"third")
        await w.drain()
        third_sent.set()
        await asyncio.sleep(1)

    async def main(port: int) -> list[tuple[bytes, int]]:
        stream = await StampingBackend().connect_tcp("127.0.0.1", port, timeout=5)
        assert isinstance(stream, StampedStream)
        await stream.write(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        out = [(await stream.read(1024), stream.last_stamp_ns)]  # registers with the reader
        first_read.set()
        # From here the event loop is blocked until the third chunk was sent.
        deadline = time.monotonic() + 10
        while not stream.segments and time.monotonic() < deadline:  # type: ignore[attr-defined]
            time.sleep(0.001)
        second_pulled.set()
        assert third_sent.wait(10)
        while sum(len(d) for d, _ in out) < len(b"firstsecondthird"):
            out.append((await stream.read(1024), stream.last_stamp_ns))
        await stream.aclose()
        return out

    with ScriptedServer(handler) as srv:
        parts = asyncio.run(main(srv.port))
    assert [d for d, _ in parts] == [b"first", b"second", b"third"]
    (_, first), (_, second), (_, third) = parts
    # Kernel stamps are CLOCK_REALTIME turned into perf_counter time with an offset read
    # at the same moment: a few µs of slack, far below a chunk gap.
    slack = 50_000
    assert first < sent_ns["second"] - slack < second < sent_ns["third"] - slack < third
    assert second >= sent_ns["second"] - slack and third >= sent_ns["third"] - slack


def test_preconnected_sockets_serve_the_first_requests() -> None:
    import socket

    listener = socket.create_server(("127.0.0.1", 0), backlog=16)
    port = listener.getsockname()[1]

    async def main() -> tuple[int, list[int | None]]:
        backend = StampingBackend()
        opened = await backend.preconnect("127.0.0.1", port, 2, 5.0)
        setups = []
        for _ in range(3):  # two preconnected, then a fresh one
            stream = await backend.connect_tcp("127.0.0.1", port, timeout=5)
            assert isinstance(stream, StampedStream)
            setups.append(stream.take_connect_ns())
            assert stream.take_connect_ns() is None  # reported once
        backend.close_ready()
        return opened, setups

    try:
        opened, setups = asyncio.run(main())
        listener.setblocking(False)
        accepted = []
        with contextlib.suppress(BlockingIOError):
            while True:  # every finished handshake is already in the backlog
                accepted.append(listener.accept()[0])
    finally:
        listener.close()
    assert opened == 2 and len(accepted) == 3  # not 5: the first two were the ready ones
    assert all(s is not None and s > 0 for s in setups)
    for conn in accepted:
        conn.close()


def test_a_preconnected_socket_the_server_closed_is_not_handed_out() -> None:
    import socket

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    async def main() -> bool:
        backend = StampingBackend()
        assert await backend.preconnect("127.0.0.1", port, 1, 5.0) == 1
        conn, _ = listener.accept()
        conn.close()  # the server drops the idle connection
        await asyncio.sleep(0.05)
        ready = backend._take_ready("127.0.0.1", port)
        return ready is None

    try:
        assert asyncio.run(main())
    finally:
        listener.close()


def test_connections_are_opened_before_the_clock_through_the_address_guard() -> None:
    import socket

    from inferlab.netpolicy import Pins
    from inferlab.probe.worker import build_clients, close_unused, open_connections

    listener = socket.create_server(("127.0.0.1", 0), backlog=64)
    port = listener.getsockname()[1]
    pins = Pins(entries=(("127.0.0.1", port, ("127.0.0.1",)),))
    url = f"http://127.0.0.1:{port}/v1"

    async def main() -> tuple[int, int]:
        clients = build_clients(5.0, 20, pins=pins)  # 2 pools: slots 0, 2, ... and 1, 3, ...
        opened = await open_connections(clients, url, 20, 5.0, pins)
        refused = await open_connections(clients, "http://127.0.0.2:1/v1", 4, 5.0, pins)
        close_unused(clients)
        return opened, refused

    try:
        opened, refused = asyncio.run(main())
    finally:
        listener.close()
    assert (opened, refused) == (20, 0)  # an unchecked target gets no connection at all
