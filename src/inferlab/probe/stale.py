"""The stale keep-alive rule: one retry for a request a closed pooled connection swallowed.

A server (or a proxy) may close an idle keep-alive connection at the moment the
client writes the next request into it; that request never reached the server,
so recording it as a failure would be a false error (issue 17). The rule: a
request that failed before a single response byte arrived, on a connection
that was *reused* from the pool, is sent once more (the pool drops the closed
connection, so the retry goes out on a live or fresh one). Anything else -
a failure on a fresh connection, after response bytes, a timeout, a second
stale failure - is recorded as it is.

Every client of inferlab (probe worker, preflight, quality probe, scraper)
applies it the same way: pass `trace.extensions` to the request, and on an
exception ask `is_stale(exc, trace)`. httpcore reports what happened to the
connection through its `trace` extension, so this works with any transport.
"""

from __future__ import annotations

from typing import Any

import httpx

__all__ = ["STALE_NOTE", "ConnectionTrace", "is_stale", "send_stream"]

STALE_NOTE = "retried_stale_connection"
"""Note on a request record that went out a second time after a stale connection."""

# What h11 says when the connection closed before any byte of a response.
_NO_RESPONSE = "without sending a response"


class ConnectionTrace:
    """What httpcore did for one attempt: opened a connection? sent? got response headers?"""

    __slots__ = ("connected", "request_sent", "response_started")

    def __init__(self) -> None:
        self.connected = False  # a new TCP connection was opened for this attempt
        self.request_sent = False  # the request went into a connection
        self.response_started = False  # the status line and headers arrived

    async def __call__(self, name: str, info: dict[str, Any]) -> None:
        if name.startswith("connection.connect_tcp.") or name.startswith("connection.start_tls."):
            self.connected = True
        elif name.endswith(".send_request_headers.started"):
            self.request_sent = True
        elif name.endswith(".receive_response_headers.complete"):
            self.response_started = True

    @property
    def extensions(self) -> dict[str, Any]:
        """Request extensions that route httpcore's trace events here."""
        return {"trace": self}


def is_stale(exc: BaseException, trace: ConnectionTrace) -> bool:
    """True when `exc` is a reused connection closing before any response byte.

    Reuse needs evidence: the request was sent without a connection being opened
    (a transport that drops the trace extension never gets a retry)."""
    if not trace.request_sent or trace.connected or trace.response_started:
        return False
    if isinstance(exc, httpx.RemoteProtocolError):
        # h11's other complaints (a garbage status line, ...) mean bytes did arrive.
        return _NO_RESPONSE in str(exc)
    return isinstance(exc, httpx.ReadError | httpx.WriteError)


async def send_stream(
    client: httpx.AsyncClient, request: httpx.Request
) -> tuple[httpx.Response, bool]:
    """`client.send(request, stream=True)` under the rule: (response, whether it was retried).

    The caller closes the response (`await response.aclose()`).
    """
    trace = ConnectionTrace()
    request.extensions = {**request.extensions, **trace.extensions}
    try:
        return await client.send(request, stream=True), False
    except Exception as exc:
        if not is_stale(exc, trace):
            raise
    retry = ConnectionTrace()  # an unused request, so the body can be sent again
    request.extensions = {**request.extensions, **retry.extensions}
    return await client.send(request, stream=True), True
