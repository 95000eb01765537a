"""An httpcore network backend that stamps every received TCP read on arrival.

Why: with many streams, one event-loop iteration finds many sockets readable
and then runs the waiting tasks one after another, each through
httpx/httpcore/h11/httpx-sse (~100 µs per chunk in CPython). A stamp taken in
user space, however early, is late by every other stream's processing that
came first (at c=64 that was +30 ms p50, +170 ms p99 in issue 10).

So on plain TCP the stamp comes from the kernel: the socket has
SO_TIMESTAMPNS on and every read is a `recvmsg` whose ancillary data holds
when the kernel received the last segment it returns. That time does not
depend on when the event loop gets to the socket. (When segments queued up
because the client fell behind, earlier events in the batch get the batch's
stamp: the client saw them no sooner.) A kernel or platform without it, and
TLS connections, fall back to a stamp taken in `data_received`, before any
parsing.

Every stream also records when the request's bytes went to the kernel
(`request_sent_ns`: just before the first byte of the latest request went to
the kernel; TTFT counts from it, so pool waits and connection set-up are not
inside TTFT) and how long its own connection
set-up took (`connect_ns`, reported once by `take_connect_ns`).

Everything else stays httpx: the connection pool, HTTP/1.1, TLS, timeouts.
Failures raise httpcore's own exceptions, which httpx maps as usual.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import select
import socket
import ssl
import struct
import threading
import time
from collections import deque
from collections.abc import Iterable
from typing import Any, cast

import httpcore
import httpx

__all__ = [
    "StampedStream",
    "StampingBackend",
    "backend_of",
    "kernel_stamps_for",
    "stamping_transport",
    "warm_imports",
]

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


# Linux: SO_TIMESTAMPNS (asm-generic value; Python's socket module lacks the name).
# The ancillary data is a struct timespec of CLOCK_REALTIME, two native longs.
_SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
_TIMESPEC = struct.Struct("@ll")
_ANC_BYTES = socket.CMSG_SPACE(_TIMESPEC.size) if hasattr(socket, "CMSG_SPACE") else 0
_realtime_ns = time.time_ns

# Off only to measure what kernel stamps buy (bench/bench_probe_accuracy.py).
KERNEL_STAMPS = True


_keeper: socket.socket | None = None


def _keep_kernel_stamps_on() -> None:
    """Hold one socket with SO_TIMESTAMPNS for the process's life.

    Linux stamps received packets only while some socket asks for stamps, and
    switches that on lazily: without a keeper the first segments of the first
    connection can arrive unstamped (that read then falls back to a user-space
    stamp), and every last-connection close switches it off again. The switch
    takes effect asynchronously (a kernel work item), so this runs at import,
    well before the first connection.
    """
    global _keeper
    if _keeper is None and KERNEL_STAMPS and _ANC_BYTES > 0:
        try:
            keeper = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            keeper.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
        except OSError:
            return
        _keeper = keeper


_keep_kernel_stamps_on()


def kernel_stamps_for(url: str) -> bool:
    """Whether chunk arrivals from `url` get kernel stamps (plain http on this platform)."""
    return KERNEL_STAMPS and _ANC_BYTES > 0 and url.lower().startswith("http://")


def _kernel_stamp_ns(ancdata: list[tuple[int, int, bytes]], now_ns: int) -> int:
    """The perf_counter_ns time of a recvmsg's kernel timestamp; `now_ns` without one."""
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS and len(data) >= _TIMESPEC.size:
            sec, nsec = cast(tuple[int, int], _TIMESPEC.unpack_from(data))
            # CLOCK_REALTIME -> perf_counter (CLOCK_MONOTONIC): offset taken now, so a
            # clock step between reads cannot skew it by more than the read's age.
            stamp = sec * 1_000_000_000 + nsec - (_realtime_ns() - now_ns)
            if now_ns - 10_000_000_000 < stamp <= now_ns:
                return stamp
    return now_ns


class StampedStream(httpcore.AsyncNetworkStream):
    """One connection that stamps what it receives and sends.

    `last_stamp_ns`: arrival of the bytes `read()` last returned; `request_sent_ns`:
    just before the first write after a read (a new request on the connection)
    handed its bytes to the kernel; `connect_ns`: TCP (+TLS) set-up time.
    """

    kernel_stamps = False

    def __init__(self, connect_ns: int = 0) -> None:
        self.last_stamp_ns = 0
        self.request_sent_ns = 0
        self.connect_ns = connect_ns
        self._connect_reported = False
        self._sending = False

    def _mark_send(self) -> None:
        if not self._sending:
            self._sending = True
            self.request_sent_ns = _perf_ns()

    def take_connect_ns(self) -> int | None:
        """This connection's set-up time the first time it is asked, then None (reused)."""
        if self._connect_reported:
            return None
        self._connect_reported = True
        return self.connect_ns


class _Reader:
    """One thread per process that reads every plain-TCP probe socket as soon as bytes
    arrive and queues them with their arrival stamps.

    Why a thread: TCP merges segments that wait in the kernel into one, keeping only
    the latest stamp, so a chunk's stamp is exact only if its socket is read before
    the next chunk of that stream arrives. When the event loop is busy parsing other
    streams (or the machine is busy), it can be tens of ms late; this thread does
    nothing but `recvmsg`, releases the GIL while it waits, and so reads within a
    GIL switch interval (5 ms) whatever the loop is doing. The loop then parses the
    queued segments one by one, each with its own stamp.
    """

    def __init__(self) -> None:
        self._pid = os.getpid()
        self._epoll = select.epoll()
        self._streams: dict[int, _SocketStream] = {}
        self._lock = threading.Lock()  # no socket is closed while it is being read
        self._thread = threading.Thread(target=self._run, name="inferlab-reader", daemon=True)
        self._thread.start()

    def add(self, stream: _SocketStream) -> None:
        fd = stream.fileno
        with self._lock:
            self._streams[fd] = stream
            self._epoll.register(fd, select.EPOLLIN)
            self._pull(stream)  # bytes that arrived before it was registered

    def close(self, stream: _SocketStream) -> None:
        """Stop reading `stream` and close its socket (under the lock: the fd cannot be
        reused by a new socket while this thread still reads the old one)."""
        with self._lock:
            self._forget(stream)
            stream.sock.close()

    def _forget(self, stream: _SocketStream) -> None:
        fd = stream.fileno
        if self._streams.get(fd) is stream:
            del self._streams[fd]
            with contextlib.suppress(OSError, ValueError):
                self._epoll.unregister(fd)

    def _run(self) -> None:
        while True:
            try:
                events = self._epoll.poll()
            except InterruptedError:
                continue
            for fd, _mask in events:
                with self._lock:
                    stream = self._streams.get(fd)
                    if stream is not None:
                        self._pull(stream)

    def _pull(self, stream: _SocketStream) -> None:
        """Read all that is there (the caller holds the lock)."""
        sock, kernel = stream.sock, stream.kernel_stamps
        got = False
        while True:
            try:
                if kernel:
                    data, anc, _flags, _addr = sock.recvmsg(_READ_BYTES, _ANC_BYTES)
                    stamp = _kernel_stamp_ns(anc, _perf_ns())
                else:
                    data = sock.recv(_READ_BYTES)
                    stamp = _perf_ns()
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                stream.error = exc
                stream.eof = True
                self._forget(stream)
                got = True
                break
            got = True
            if not data:
                stream.eof = True
                self._forget(stream)
                break
            stream.segments.append((stamp, data))
        if got:
            stream.wake()


_READ_BYTES = 65536
_reader: _Reader | None = None


def _the_reader() -> _Reader:
    global _reader
    if _reader is None or _reader._pid != os.getpid():  # none yet, or a forked child
        _reader = _Reader()
    return _reader


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*([0-9]+)", re.IGNORECASE)


def _announces_body(head: bytes) -> bool:
    """A complete HTTP request head that says a non-empty body follows."""
    if not head.endswith(b"\r\n\r\n"):
        return False
    m = _CONTENT_LENGTH.search(head)
    return m is not None and int(m.group(1)) > 0


class _SocketStream(StampedStream):
    """Plain TCP on a non-blocking socket, read by the process's reader thread
    (`recvmsg` with kernel stamps), written from the event loop."""

    def __init__(self, sock: socket.socket, connect_ns: int) -> None:
        super().__init__(connect_ns)
        self.sock = sock
        self.fileno = sock.fileno()
        self.segments: deque[tuple[int, bytes]] = deque()
        self.eof = False
        self.error: OSError | None = None
        self._closed = False
        self._reader: _Reader | None = None  # registered at the first write/read (TLS never)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._held = b""  # a request head waiting for its body (see write)
        try:
            if KERNEL_STAMPS and _ANC_BYTES > 0:
                sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
                self.kernel_stamps = True
        except OSError:
            self.kernel_stamps = False

    def _register(self) -> None:
        # At the first write or read, whichever comes first (a TLS stream has moved to
        # asyncio by then): before any answer can arrive, so none waits for the loop.
        self._reader = _the_reader()
        self._reader.add(self)

    def wake(self) -> None:
        """From the reader thread: new bytes (or the end) for a waiting `read()`."""
        waiter, loop = self._waiter, self._loop
        if waiter is not None and loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                loop.call_soon_threadsafe(_wake, waiter)

    async def _wait(self, writable: bool, timeout: float | None, error: type[Exception]) -> None:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        fd = self.fileno

        def ready() -> None:
            if not waiter.done():
                waiter.set_result(None)

        if writable:
            loop.add_writer(fd, ready)
        else:
            loop.add_reader(fd, ready)
        try:
            await _wait(waiter, timeout, error)
        finally:
            if writable:
                loop.remove_writer(fd)
            else:
                loop.remove_reader(fd)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        if self._held:  # a head whose body never came: send what there is
            held, self._held = self._held, b""
            self._mark_send()
            try:
                await self._send_all(held, timeout)
            except httpcore.WriteError as exc:
                raise httpcore.ReadError(str(exc)) from exc
        self._sending = False
        if self._closed:
            raise httpcore.ReadError("connection closed")
        if self._reader is None:
            self._register()
        segments = self.segments
        while not segments:
            if self.eof:
                if self.error is not None:
                    raise httpcore.ReadError(str(self.error) or type(self.error).__name__)
                return b""  # end of stream
            loop = asyncio.get_running_loop()
            waiter: asyncio.Future[None] = loop.create_future()
            self._loop, self._waiter = loop, waiter
            if segments or self.eof:  # arrived while the waiter was being set up
                self._waiter = None
                continue
            try:
                await _wait(waiter, timeout, httpcore.ReadTimeout)
            finally:
                self._waiter = None
        # One segment per read, never merged: each SSE event keeps the stamp of the
        # segment that completed it, however far behind the parsing is.
        stamp, data = segments[0]
        if len(data) > max_bytes:
            segments[0] = (stamp, data[max_bytes:])
            data = data[:max_bytes]
        else:
            segments.popleft()
        self.last_stamp_ns = stamp
        return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if self._reader is None and not self._closed:
            self._register()
        if not buffer:
            return
        if self._held:
            buffer, self._held = self._held + buffer, b""
        elif not self._sending and _announces_body(buffer):
            # httpcore writes a request's head and body in two calls; sent apart, a GIL
            # switch between them would delay the body after the send stamp. Hold the
            # head for the body that follows in the same task: one send, one stamp.
            self._held = bytes(buffer)
            return
        self._mark_send()
        await self._send_all(buffer, timeout)

    async def _send_all(self, buffer: bytes, timeout: float | None) -> None:
        view = memoryview(buffer)
        while view:
            if self._closed:
                raise httpcore.WriteError("connection closed")
            try:
                sent = self.sock.send(view)
            except (BlockingIOError, InterruptedError):
                await self._wait(True, timeout, httpcore.WriteTimeout)
                continue
            except OSError as exc:
                raise httpcore.WriteError(str(exc) or type(exc).__name__) from exc
            view = view[sent:]

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            if self._reader is not None:
                self._reader.close(self)
            else:
                self.sock.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        # TLS is asyncio's: the socket moves to a protocol transport (user-space stamps).
        loop = asyncio.get_running_loop()
        begin = _perf_ns()
        self._closed = True  # this object no longer owns the socket
        try:
            transport, protocol = await loop.create_connection(_Protocol, sock=self.sock)
        except OSError as exc:
            self.sock.close()
            raise httpcore.ConnectError(str(exc)) from exc
        assert isinstance(transport, asyncio.Transport)
        plain = _ProtocolStream(transport, protocol, self.connect_ns)
        tls = await plain.start_tls(ssl_context, server_hostname, timeout)
        assert isinstance(tls, StampedStream)
        tls.connect_ns = self.connect_ns + (_perf_ns() - begin)
        return tls

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # An idle keep-alive connection with bytes or EOF pending was closed by the server.
            if self._closed or self.segments or self.eof:
                return True
            if self._reader is not None:
                return False  # the reader thread would have queued bytes or seen EOF
            try:
                self.sock.recv(1, socket.MSG_PEEK)  # bytes or b"" (EOF) pending
            except (BlockingIOError, InterruptedError):
                return False
            except OSError:
                pass
            return True
        if info == "client_addr":
            return self.sock.getsockname()
        if info == "server_addr":
            return self.sock.getpeername()
        if info == "socket":
            return self.sock
        return None


class _ProtocolStream(StampedStream):
    """A connection on an asyncio transport (TLS): stamped in `data_received`."""

    def __init__(self, transport: asyncio.Transport, protocol: _Protocol, connect_ns: int) -> None:
        super().__init__(connect_ns)
        self._transport = transport
        self._protocol = protocol

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        proto = self._protocol
        self._sending = False
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
        self._mark_send()
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
        begin = _perf_ns()
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
        return _ProtocolStream(transport, self._protocol, self.connect_ns + _perf_ns() - begin)

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
    """TCP connections whose received bytes carry arrival stamps (kernel ones on plain TCP)."""

    def __init__(self) -> None:
        _keep_kernel_stamps_on()
        # Connections opened before the run's clock starts (`preconnect`), by host:port.
        self._ready: dict[tuple[str, int], list[tuple[socket.socket, int]]] = {}

    async def preconnect(self, host: str, port: int, count: int, timeout_s: float) -> int:
        """Open up to `count` TCP connections now, for the pool's first requests to use;
        returns how many opened (a failure is left for the requests to report)."""
        opened = 0
        ready = self._ready.setdefault((host, port), [])
        for _ in range(count):
            begin = _perf_ns()
            try:
                sock = await asyncio.wait_for(_connect(host, port, None), timeout_s)
            except (OSError, TimeoutError):
                break
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            ready.append((sock, _perf_ns() - begin))
            opened += 1
        return opened

    def _take_ready(self, host: str, port: int) -> tuple[socket.socket, int] | None:
        ready = self._ready.get((host, port))
        while ready:
            sock, connect_ns = ready.pop()
            try:
                sock.recv(1, socket.MSG_PEEK)
            except (BlockingIOError, InterruptedError):
                return sock, connect_ns  # idle and open, as it should be
            except OSError:
                pass
            sock.close()  # closed by the server meanwhile (or sent bytes unasked)
        return None

    def close_ready(self) -> None:
        """Close preconnected sockets nobody used."""
        for ready in self._ready.values():
            for sock, _ in ready:
                sock.close()
        self._ready.clear()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if not local_address and (taken := self._take_ready(host, port)) is not None:
            sock, connect_ns = taken
            for option in socket_options or ():
                sock.setsockopt(*option)
            return _SocketStream(sock, connect_ns)
        begin = _perf_ns()
        try:
            sock = await asyncio.wait_for(_connect(host, port, local_address), timeout)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"no connection to {host}:{port} in time") from None
        except OSError as exc:
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        for option in socket_options or ():
            sock.setsockopt(*option)
        return _SocketStream(sock, _perf_ns() - begin)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not supported by the probe")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


async def _connect(host: str, port: int, local_address: str | None) -> socket.socket:
    """A connected non-blocking socket to the first address of `host` that answers."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    if not infos:
        raise OSError(f"{host} has no address")
    error: OSError | None = None
    for family, kind, proto, _name, address in infos:
        sock = socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            if local_address:
                sock.bind((local_address, 0))
            await loop.sock_connect(sock, address)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
        except BaseException:
            sock.close()
            raise
    assert error is not None
    raise error


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


def warm_imports() -> None:
    """Import what httpx/httpcore would otherwise import at the first request.

    anyio's asyncio backend (httpcore's pool lock), the IDNA codec (httpx's URL
    hosts) and the executor getaddrinfo uses are loaded lazily, by the first
    requests: a few hundred ms of a stalled event loop in the first wave on a
    busy machine. Called before a run's clock starts.
    """
    import concurrent.futures.thread  # noqa: F401
    import encodings.idna  # noqa: F401

    with contextlib.suppress(ImportError):
        import anyio._backends._asyncio  # noqa: F401


def backend_of(transport: httpx.AsyncHTTPTransport) -> StampingBackend | None:
    """The stamping backend under a transport `stamping_transport` built, else None."""
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    return backend if isinstance(backend, StampingBackend) else None
