"""Error classes of failed requests: a small, stable vocabulary for the store and pages.

| class | meaning |
|---|---|
| connection_refused | nothing listens at host:port |
| dns_error | the host name does not resolve |
| connect_error | another failure to connect (TLS, network unreachable, ...) |
| connect_timeout | no connection within the timeout |
| read_timeout | no bytes for the timeout while waiting for the response or the next chunk |
| write_timeout / pool_timeout | sending the body / waiting for a pooled connection took too long |
| http_<status> | the server answered with that status (http_401, http_429, http_500, ...) |
| disconnected | the connection closed or reset before the response was complete |
| deadline_exceeded | the whole request took longer than its deadline (--request-deadline) |
| event_too_large / response_too_large | one SSE event / the response passed its byte cap |
| not_event_stream | a 200 response that is not `text/event-stream` |
| malformed_sse | bytes arrived but no SSE data event could be read from them |
| invalid_json | an SSE data line that is not a JSON object |
| api_error | a JSON `error` object inside the stream |
| incomplete_stream | the stream ended without `data: [DONE]` |
| empty_stream | a 200 response with an empty body |
| protocol_error | the HTTP exchange itself was malformed (a garbage status line, huge headers) |
| client_error | anything else (the message names the exception) |
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Sequence

import httpx

from inferlab.redaction import redact

__all__ = ["classify_exception", "scrub"]


def _causes(exc: BaseException) -> list[BaseException]:
    chain = []
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__
    return chain


# What h11 / httpcore say when the peer closed the connection (as opposed to sending
# something that is not HTTP).
_DISCONNECT_WORDS = (
    "disconnected",
    "closed connection",
    "incomplete chunked read",
    "without sending",
)


def _is_disconnect(text: str) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in _DISCONNECT_WORDS)


def _protocol_message(text: str) -> str:
    if "receive buffer too long" in text.lower():
        return (
            "the server's response head (status line and headers) is too large: over "
            "16 KiB without ending; the server or a proxy in front of it is misbehaving"
        )
    return (
        f"the server's answer is not valid HTTP/1.1 ({text[:120]}); check --url points "
        "at an HTTP server (not TLS, not another protocol)"
    )


def _connect_error(exc: httpx.ConnectError, text: str) -> tuple[str, str]:
    """A failed connect: the name does not resolve, the port refuses, or something else."""
    for cause in _causes(exc):
        if (
            isinstance(cause, socket.gaierror)
            or "name or service not known" in str(cause).lower()
            or "name resolution" in str(cause).lower()
        ):
            return "dns_error", f"host name does not resolve ({text})"
        if isinstance(cause, ConnectionRefusedError) or (
            isinstance(cause, OSError) and cause.errno == errno.ECONNREFUSED
        ):
            return "connection_refused", f"connection refused ({text})"
    if "refused" in text.lower():
        return "connection_refused", f"connection refused ({text})"
    return "connect_error", f"cannot connect ({text})"


def classify_exception(exc: BaseException, *, response_started: bool) -> tuple[str, str]:
    """(error_class, one-line message) for an exception raised while requesting."""
    text = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectTimeout):
        return "connect_timeout", f"no connection within the timeout ({text})"
    if isinstance(exc, httpx.ReadTimeout):
        what = "the next chunk" if response_started else "the response"
        return "read_timeout", f"no bytes within the timeout while waiting for {what}"
    if isinstance(exc, httpx.WriteTimeout):
        return "write_timeout", "sending the request timed out"
    if isinstance(exc, httpx.PoolTimeout):
        return "pool_timeout", "no free connection within the timeout"
    if isinstance(exc, httpx.ConnectError):
        return _connect_error(exc, text)
    if isinstance(exc, httpx.RemoteProtocolError) and not _is_disconnect(text):
        return "protocol_error", _protocol_message(text)
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
        if response_started:
            return "disconnected", f"connection closed mid-stream ({text})"
        return "disconnected", f"connection closed before a response ({text})"
    if isinstance(exc, httpx.DecodingError):
        return "malformed_sse", f"response body cannot be decoded ({text})"
    if isinstance(exc, httpx.ProtocolError):
        return "protocol_error", text
    if isinstance(exc, httpx.TransportError):
        return "connect_error", f"{type(exc).__name__}: {text}"
    return "client_error", f"{type(exc).__name__}: {text}"


def scrub(message: str, secrets: Sequence[str]) -> str:
    """`message` with every secret redacted (inferlab/redaction.py), on one line, at most 300
    characters."""
    return redact(" ".join(redact(message, secrets).split())[:300], secrets)
