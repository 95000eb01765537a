"""An httpcore network backend that stamps every received TCP read on arrival.

Why: with many streams, one event-loop iteration finds many sockets readable;
asyncio delivers all their bytes first (`data_received`), then runs the
waiting tasks one after another, each through httpx/httpcore/h11/httpx-sse
(~100 µs per chunk in CPython). Stamping at the end of that stack would add
every earlier task's processing to the later chunks' times. This backend
stamps in `data_received`, before any parsing, and `read()` hands out what
has arrived with the stamp of its last piece, so `StampedStream.last_stamp_ns`
is the arrival time of the bytes that completed an SSE event when it comes
out. (When pieces queued up because the client fell behind, earlier events in
the batch get the batch's stamp: the client saw them no sooner.)

Everything else stays httpx: the connection pool, HTTP/1.1, TLS, timeouts.
Failures raise httpcore's own exceptions, which httpx maps as usual.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections import deque
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

__all__ = ["StampedStream", "StampingBackend", "stamping_transport"]

_perf_ns = time.perf_counter_ns


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.segments: deque[tuple[int, bytes]] = deque()
        self.eof = False
        self.error: BaseException | None = None
        self.transport: asyncio.Transport | None = None
        self._read_waiter: asyncio.Future[None] | None = None
        self._drain_waiter: asyncio.Future[None] | None = None
        self._paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.segments.append((_perf_ns(), data))
        self._wake_reader()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake_reader()
        return False  # close the transport

    def connection_lost(self, exc: BaseException | None) -> None:
        self.eof = True
        self.error = exc
        self._wake_reader()
        self._paused = False
        waiter, self._drain_waiter = self._drain_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        waiter, self._drain_waiter = self._drain_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _wake_reader(self) -> None:
        waiter, self._read_waiter = self._read_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait_readable(self, timeout: float | None) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._read_waiter = waiter
        await _wait(waiter, timeout, httpcore.ReadTimeout)

    async def drain(self, timeout: float | None) -> None:
        if not self._paused:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._drain_waiter = waiter
        await _wait(waiter, timeout, httpcore.WriteTimeout)


async def _wait(
    waiter: asyncio.Future[None], timeout: float | None, error: type[Exception]
) -> None:
    if timeout is None:
        await waiter
        return
    handle = asyncio.get_running_loop().call_later(timeout, _expire, waiter, error)
    try:
        await waiter
    finally:
        handle.cancel()


def _expire(waiter: asyncio.Future[None], error: type[Exception]) -> None:
    if not waiter.done():
        waiter.set_exception(error("timed out"))


class StampedStream(httpcore.AsyncNetworkStream):
    """One connection; `last_stamp_ns` = arrival of the segment `read()` last returned."""

    def __init__(self, transport: asyncio.Transport, protocol: _Protocol) -> None:
        self._transport = transport
        self._protocol = protocol
        self.last_stamp_ns = 0

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        proto = self._protocol
        if not proto.segments and not proto.eof:
            await proto.wait_readable(timeout)
        segments = proto.segments
        if segments:
            stamp, data = segments.popleft()
            if len(data) > max_bytes:
                segments.appendleft((stamp, data[max_bytes:]))
                data = data[:max_bytes]
            elif segments:
                # Several reads queued up (the client is behind, or the server wrote one
                # chunk in pieces): hand them over together, stamped by the last one.
                # One pass through the parsers instead of one per piece keeps a busy
                # client from falling further behind.
                parts = [data]
                size = len(data)
                while segments and size + len(segments[0][1]) <= max_bytes:
                    stamp, more = segments.popleft()
                    parts.append(more)
                    size += len(more)
                data = b"".join(parts)
            self.last_stamp_ns = stamp
            return data
        if proto.error is not None:
            raise httpcore.ReadError(str(proto.error) or type(proto.error).__name__)
        return b""  # end of stream

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        if self._transport.is_closing():
            raise httpcore.WriteError("connection closed")
        self._transport.write(buffer)
        await self._protocol.drain(timeout)

    async def aclose(self) -> None:
        self._transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            transport = await asyncio.wait_for(
                loop.start_tls(
                    self._transport, self._protocol, ssl_context, server_hostname=server_hostname
                ),
                timeout,
            )
        except TimeoutError:
            self._transport.close()
            raise httpcore.ConnectTimeout("TLS handshake timed out") from None
        except (OSError, ssl.SSLError) as exc:
            self._transport.close()
            raise httpcore.ConnectError(str(exc)) from exc
        if transport is None:
            raise httpcore.ConnectError("TLS handshake failed")
        assert isinstance(transport, asyncio.Transport)
        return StampedStream(transport, self._protocol)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # An idle keep-alive connection with bytes or EOF pending was closed by the server.
            return bool(self._protocol.segments) or self._protocol.eof
        if info == "ssl_object":
            return self._transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._transport.get_extra_info("sockname")
        if info == "server_addr":
            return self._transport.get_extra_info("peername")
        if info == "socket":
            return self._transport.get_extra_info("socket")
        return None


class StampingBackend(httpcore.AsyncNetworkBackend):
    """asyncio TCP connections whose received segments carry arrival stamps."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        local = (local_address, 0) if local_address else None
        try:
            transport, protocol = await asyncio.wait_for(
                loop.create_connection(_Protocol, host, port, local_addr=local), timeout
            )
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"no connection to {host}:{port} in time") from None
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        sock = transport.get_extra_info("socket")
        if sock is not None:
            for option in socket_options or ():
                sock.setsockopt(*option)
        assert isinstance(transport, asyncio.Transport)
        return StampedStream(transport, protocol)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not supported by the probe")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def stamping_transport(
    limits: httpx.Limits, ssl_context: ssl.SSLContext | None = None
) -> httpx.AsyncHTTPTransport:
    """httpx's own transport, with its connection pool on the stamping backend.

    httpx 0.28 takes no network backend, so the pool it built is swapped for an
    identical one on ours (httpx is pinned; a test checks the swap still works).
    """
    # One TLS context for both (loading the CA bundle costs ~1 MiB and a few ms each).
    ctx = ssl_context or httpx.create_ssl_context(trust_env=False)
    transport = httpx.AsyncHTTPTransport(verify=ctx, limits=limits, trust_env=False)
    pool = getattr(transport, "_pool", None)
    if not isinstance(pool, httpcore.AsyncConnectionPool):
        return transport  # an httpx we do not know: plain httpx, stamps at the event
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=ctx,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        http1=True,
        http2=False,
        socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
        network_backend=StampingBackend(),
    )
    return transport
