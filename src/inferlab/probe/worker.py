"""Send one streaming request and measure it: the per-request half of the engine.

Independent of the scheduler and of where records go, so the same function can
later run inside several worker processes or hosts. Every event gets the
perf_counter_ns stamp of the TCP read that completed it, taken by the
stamping transport when the bytes arrived (the kernel's receive time on plain
TCP), and the request counts from when its bytes were handed to the kernel
(see transport.py), so neither stamp depends on when the event loop got to it.
"""

from __future__ import annotations

import asyncio
import json
import math
import ssl
import time
from dataclasses import dataclass, field, replace

import httpx
from httpx_sse import EventSource, SSEError

from inferlab.netpolicy import Pins
from inferlab.outbound import GuardedAsyncTransport, guarded
from inferlab.probe.bounds import BoundedStream
from inferlab.probe.config import (
    DEFAULT_MAX_EVENT_BYTES,
    Api,
    ProbeConfig,
    api_url,
    response_cap_bytes,
)
from inferlab.probe.errors import classify_exception, scrub
from inferlab.probe.prompts import Prompt
from inferlab.probe.stale import STALE_NOTE, ConnectionTrace, is_stale
from inferlab.probe.stream import StreamAccumulator, StreamError
from inferlab.probe.transport import (
    StampedStream,
    StampingBackend,
    backend_of,
    stamping_transport,
)
from inferlab.records import RequestRecord
from inferlab.redaction import secret_values

__all__ = [
    "Target",
    "build_client",
    "build_clients",
    "close_unused",
    "http_error_message",
    "open_connections",
    "send_request",
]

_ERROR_BODY_BYTES = 4096
_AFTER_DONE_S = 1.0


@dataclass(frozen=True)
class Target:
    """Where and how to send: everything the worker needs besides the prompt."""

    url: str
    api: Api
    model: str
    max_tokens: int
    ignore_eos: bool = False
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    request_id_prefix: str = ""  # X-Request-Id = prefix + index, to match server logs
    secrets: tuple[str, ...] = field(default=(), repr=False)
    deadline_s: float | None = None  # the whole request; None = unbounded
    max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES
    max_response_bytes: int | None = None  # None: 4 KiB per max token (response_cap_bytes)
    keep_text: bool = False  # records carry the answer text (multi-turn sessions)

    @classmethod
    def from_config(cls, cfg: ProbeConfig, request_id_prefix: str = "") -> Target:
        path = "/chat/completions" if cfg.api == "chat" else "/completions"
        headers = {"Accept": "text/event-stream", "Content-Type": "application/json"}
        if cfg.api_key:
            headers["Authorization"] = f"Bearer {cfg.api_key}"
        headers.update(cfg.headers)
        secrets = secret_values((cfg.api_key, *cfg.headers.values()))
        return cls(
            url=api_url(cfg.url, path),
            api=cfg.api,
            model=cfg.model,
            max_tokens=cfg.max_tokens,
            ignore_eos=cfg.ignore_eos,
            headers=headers,
            request_id_prefix=request_id_prefix,
            secrets=secrets,
            deadline_s=cfg.deadline_s,
            max_event_bytes=cfg.max_event_bytes,
            max_response_bytes=cfg.max_response_bytes,
        )

    def body(self, prompt: Prompt) -> bytes:
        payload: dict[str, object] = {"model": self.model}
        if self.api == "chat":
            payload["messages"] = prompt.chat_messages()
        else:
            payload["prompt"] = prompt.completion_text()
        payload["max_tokens"] = prompt.max_tokens or self.max_tokens
        payload["stream"] = True
        payload["stream_options"] = {"include_usage": True}
        if self.ignore_eos:
            payload["ignore_eos"] = True  # vLLM / SGLang extension; sent only when asked
        return json.dumps(payload).encode()


def build_client(
    timeout_s: float,
    max_in_flight: int | None,
    ssl_context: ssl.SSLContext | None = None,
    pins: Pins | None = None,
) -> httpx.AsyncClient:
    """One client per run, its pool sized to the load (httpx's default caps at 100),
    on the stamping transport (arrival stamps taken before any parsing), connecting
    only to the checked addresses in `pins` (inferlab.outbound)."""
    if max_in_flight is None:
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    else:
        limits = httpx.Limits(
            max_connections=max_in_flight + 8, max_keepalive_connections=max_in_flight + 8
        )
    return httpx.AsyncClient(
        transport=guarded(stamping_transport(limits, ssl_context), pins),
        timeout=httpx.Timeout(timeout_s),
        follow_redirects=False,
        trust_env=False,  # proxies from the environment would distort timings
    )


# At c=64, four pools of 16 took ~11% less CPU than one pool of 64 (3 alternated
# runs of bench/bench_probe_cost.py's engine, 2026-11-28); the pool's idle check
# is quadratic in its size.
STREAMS_PER_POOL = 16


def build_clients(
    timeout_s: float,
    max_in_flight: int | None,
    *,
    closed_loop: bool = True,
    pins: Pins | None = None,
) -> list[httpx.AsyncClient]:
    """Clients for one run, each with its own connection pool of at most
    STREAMS_PER_POOL streams.

    httpcore's pool walks all its connections on every request and response (with
    an O(n²) idle check), which at 1,000 streams costs more CPU than the streams
    themselves; several small pools keep that walk short. In closed loop, slot k
    uses client k % n, so no pool ever holds more streams than it was sized for;
    in the rate modes the pools are unbounded (the run's own cap, if any, limits).
    """
    shards = math.ceil((max_in_flight or 8 * STREAMS_PER_POOL) / STREAMS_PER_POOL)
    per_pool = math.ceil(max_in_flight / shards) if closed_loop and max_in_flight else None
    ctx = httpx.create_ssl_context(trust_env=False)  # shared: one CA bundle load per run
    return [build_client(timeout_s, per_pool, ctx, pins) for _ in range(shards)]


def _backend(client: httpx.AsyncClient) -> StampingBackend | None:
    transport = client._transport
    inner = transport.inner if isinstance(transport, GuardedAsyncTransport) else transport
    return backend_of(inner) if isinstance(inner, httpx.AsyncHTTPTransport) else None


async def open_connections(
    clients: list[httpx.AsyncClient],
    url: str,
    slots: int,
    timeout_s: float,
    pins: Pins | None = None,
) -> int:
    """Open the TCP connections of a closed-loop run's `slots` before its clock starts
    (slot k uses client k % n), so the first wave neither waits for connects nor shares
    the event loop with them. With `pins`, only to the first checked address (where the
    guarded transport sends the requests). Returns how many opened; a failure is left
    to the requests to report."""
    target = httpx.URL(url)
    host, port = target.host, target.port or (443 if target.scheme == "https" else 80)
    if pins is not None:
        addresses = pins.addresses(target.raw_host.decode("ascii"), port)
        if not addresses:
            return 0  # refused or unresolved: the requests say so
        host = target.copy_with(host=addresses[0]).host  # as the guard connects
    opened = 0
    for k, client in enumerate(clients):
        backend = _backend(client)
        count = len(range(k, slots, len(clients)))
        if backend is not None and count:
            opened += await backend.preconnect(host, port, count, timeout_s)
    return opened


def close_unused(clients: list[httpx.AsyncClient]) -> None:
    """Close preconnected sockets a run did not use."""
    for client in clients:
        backend = _backend(client)
        if backend is not None:
            backend.close_ready()


def http_error_message(status: int, body: bytes, headers: httpx.Headers) -> str:
    """A one-line reason for a non-200 answer, using the OpenAI error shape when present."""
    detail = body[:_ERROR_BODY_BYTES].decode("utf-8", "replace").strip()
    try:
        obj = json.loads(detail)
        if isinstance(obj, dict):
            err = obj.get("error", obj)
            if isinstance(err, dict) and err.get("message"):
                detail = str(err["message"])
            elif isinstance(obj.get("detail"), str):
                detail = obj["detail"]
    except ValueError:
        pass
    if status in (401, 403):
        reason = "the server rejected the credentials (set the key with --api-key-env VAR)"
    elif status == 429:
        retry = headers.get("retry-after")
        reason = "rate limited" + (f", Retry-After {retry}s" if retry else "")
    elif status == 404:
        reason = "not found (check --url, --api and --model)"
    else:
        reason = httpx.codes.get_reason_phrase(status) or "error"
    return f"HTTP {status}: {reason}" + (f" - {detail[:200]}" if detail else "")


async def send_request(
    client: httpx.AsyncClient,
    target: Target,
    prompt: Prompt,
    *,
    index: int,
    scheduled_ms: float,
    anchor_ns: int,
    warmup: bool = False,
) -> RequestRecord:
    """Send one request and return its record; never raises for request faults.

    A request a stale keep-alive connection swallowed (probe/stale.py) goes out once
    more; its record is the retry's, with the scheduled time moved by the time the
    failed attempt took (so it adds no queue time) and the note `retried_stale_connection`.
    """
    content = target.body(prompt)
    headers = target.headers
    if target.request_id_prefix and "X-Request-Id" not in headers:
        headers = {**headers, "X-Request-Id": f"{target.request_id_prefix}{index}"}
    attempt = _Attempt(target, index, scheduled_ms, anchor_ns, warmup)
    cap = response_cap_bytes(target.max_response_bytes, prompt.max_tokens or target.max_tokens)
    record = await attempt.send(client, content, headers, cap, retry_stale=True)
    if record is not None:
        return record
    lag_ms = attempt.sent_ms - scheduled_ms
    retry = _Attempt(target, index, scheduled_ms, anchor_ns, warmup, lag_ms=lag_ms)
    record = await retry.send(client, content, headers, cap, retry_stale=False)
    assert record is not None
    return replace(record, notes=(*record.notes, STALE_NOTE))


class _Attempt:
    """One send of a request on the pool's next connection."""

    def __init__(
        self,
        target: Target,
        index: int,
        scheduled_ms: float,
        anchor_ns: int,
        warmup: bool,
        lag_ms: float | None = None,
    ) -> None:
        self.target = target
        self.index = index
        self.anchor_ns = anchor_ns
        self.warmup = warmup
        self.acc = StreamAccumulator(keep_text=target.keep_text)
        self.status: int | None = None
        self.started = False
        # Until the stream says when the request's bytes went out, the call's start.
        self.sent_ns = time.perf_counter_ns()
        self.sent_ms = (self.sent_ns - anchor_ns) / 1e6
        self.scheduled_ms = scheduled_ms if lag_ms is None else self.sent_ms - lag_ms
        self.connect_ms: float | None = None

    def _record(self, end_ns: int | None, **failure: str) -> RequestRecord:
        """This attempt's record: its own times and status, and a failure if any."""
        return self.acc.record(
            index=self.index,
            scheduled_ms=self.scheduled_ms,
            sent_ms=self.sent_ms,
            warmup=self.warmup,
            http_status=self.status,
            end_ns=end_ns,
            connect_ms=self.connect_ms,
            **failure,
        )

    def failed(self, error_class: str, message: str) -> RequestRecord:
        return self._record(
            None,
            error_class=error_class,
            error_message=scrub(message, list(self.target.secrets)),
        )

    async def send(
        self,
        client: httpx.AsyncClient,
        content: bytes,
        headers: dict[str, str],
        max_response_bytes: int,
        *,
        retry_stale: bool,
    ) -> RequestRecord | None:
        """The record, or None when this attempt met a stale connection and may be retried."""
        deadline_s = self.target.deadline_s
        try:
            async with asyncio.timeout(deadline_s):
                return await self._send(
                    client, content, headers, max_response_bytes, retry_stale=retry_stale
                )
        except TimeoutError:
            if self.acc.done:  # complete at [DONE]; only the wait for the connection's end ran over
                return self._record(time.perf_counter_ns() - self.sent_ns)
            return self.failed(
                "deadline_exceeded",
                f"the request took longer than its deadline of {deadline_s:g} s "
                "(--request-deadline)",
            )

    async def _send(
        self,
        client: httpx.AsyncClient,
        content: bytes,
        headers: dict[str, str],
        max_response_bytes: int,
        *,
        retry_stale: bool,
    ) -> RequestRecord | None:
        trace = ConnectionTrace()
        acc = self.acc
        failed = self.failed
        try:
            async with client.stream(
                "POST",
                self.target.url,
                content=content,
                headers=headers,
                extensions=trace.extensions,
            ) as r:
                self.status = status = r.status_code
                stream = r.extensions.get("network_stream")
                stamped = stream if isinstance(stream, StampedStream) else None
                if stamped is not None and stamped.request_sent_ns >= self.sent_ns:
                    # TTFT counts from the request's first byte handed to the kernel: a
                    # wait for a pooled connection and its set-up are not in it.
                    self.sent_ns = stamped.request_sent_ns
                    self.sent_ms = (self.sent_ns - self.anchor_ns) / 1e6
                    setup_ns = stamped.take_connect_ns()
                    self.connect_ms = None if setup_ns is None else setup_ns / 1e6
                if status != 200:
                    body = await r.aread()
                    return failed(f"http_{status}", http_error_message(status, body, r.headers))
                self.started = True
                assert isinstance(r.stream, httpx.AsyncByteStream)
                r.stream = bounded = BoundedStream(
                    r.stream, self.target.max_event_bytes, max_response_bytes
                )
                sent_ns = self.sent_ns
                try:
                    async with asyncio.timeout(None) as after_done:
                        async for sse in EventSource(r).aiter_sse():
                            # When the bytes that completed this event arrived (transport.py);
                            # without the stamping transport, now.
                            arrival_ns = (
                                stamped.last_stamp_ns if stamped else time.perf_counter_ns()
                            )
                            acc.feed(arrival_ns - sent_ns, sse.data)
                            if acc.done and after_done.when() is None:
                                # Read on to the end so the connection can be reused, but do
                                # not wait long for a server that keeps it open after [DONE].
                                after_done.reschedule(
                                    asyncio.get_running_loop().time() + _AFTER_DONE_S
                                )
                except (
                    TimeoutError,
                    httpx.ReadTimeout,
                    httpx.RemoteProtocolError,
                    httpx.ReadError,
                ):
                    if not acc.done:
                        raise
                    # The answer was complete at [DONE]; a server that then stalls or drops
                    # the connection has not lost anything.
                end_ns = time.perf_counter_ns() - sent_ns
                if not acc.done:
                    if bounded.pending_bytes:
                        return failed(
                            "disconnected",
                            f"connection closed mid-stream inside an event ({acc.events} "
                            f"events and {bounded.pending_bytes} bytes of an unfinished one)",
                        )
                    if acc.events == 0:
                        if r.num_bytes_downloaded == 0:
                            return failed("empty_stream", "HTTP 200 with an empty body")
                        return failed(
                            "malformed_sse",
                            f"{r.num_bytes_downloaded} bytes arrived but no SSE 'data:' event",
                        )
                    return failed(
                        "incomplete_stream",
                        f"stream ended without [DONE] after {acc.events} events",
                    )
        except SSEError as exc:
            return failed("not_event_stream", f"HTTP 200 but not a stream: {exc}")
        except StreamError as exc:
            return failed(exc.error_class, str(exc))
        except Exception as exc:
            if retry_stale and is_stale(exc, trace):
                return None
            error_class, message = classify_exception(exc, response_started=self.started)
            return failed(error_class, message)
        return self._record(end_ns)
