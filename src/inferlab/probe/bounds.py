"""Bounds on one response's size: bytes per SSE event and per response (issue 18 item 4).

A server that never ends a line, or streams without end, must not grow the
client's memory without limit: `BoundedStream` wraps the response body, counts
the bytes that go through it, and raises `StreamError` with a clear class as
soon as a bound is crossed, before the SSE parser buffers more. It also knows
whether the body stopped inside an event (a stream cut mid-event).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from inferlab.probe.stream import StreamError

__all__ = ["BoundedStream"]

_BOUNDARIES = (b"\r\n\r\n", b"\n\n", b"\r\r")  # blank lines end an SSE event


def _after_last_boundary(data: bytes) -> int:
    """Index just after the last event boundary in `data`, or -1 when there is none."""
    end = -1
    for sep in _BOUNDARIES:
        at = data.rfind(sep)
        if at >= 0:
            end = max(end, at + len(sep))
    return end


class BoundedStream(httpx.AsyncByteStream):
    """A response body that raises StreamError past `max_event_bytes` or `max_response_bytes`."""

    def __init__(
        self, inner: httpx.AsyncByteStream, max_event_bytes: int, max_response_bytes: int
    ) -> None:
        self._inner = inner
        self._max_event = max_event_bytes
        self._max_total = max_response_bytes
        self.total_bytes = 0
        self.pending_bytes = 0  # bytes since the last event boundary: an unfinished event
        self._tail = b""  # last bytes of the previous piece (a boundary may straddle pieces)

    def _count(self, piece: bytes) -> None:
        self.total_bytes += len(piece)
        data = self._tail + piece
        end = _after_last_boundary(data)
        if end >= 0:
            self.pending_bytes = len(data) - end
        else:
            self.pending_bytes += len(piece)
        self._tail = data[-3:]
        if self.pending_bytes > self._max_event:
            raise StreamError(
                "event_too_large",
                f"one SSE event passed {self._max_event:,} bytes without a blank line "
                "(--max-event-bytes)",
            )
        if self.total_bytes > self._max_total:
            raise StreamError(
                "response_too_large",
                f"the response passed {self._max_total:,} bytes without ending "
                "(--max-response-bytes)",
            )

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for piece in self._inner:
            self._count(piece)
            yield piece

    async def aclose(self) -> None:
        await self._inner.aclose()
