"""Every request is bounded in time and bytes (issue 18 item 4), and faults are classed by
what happened (item 11, probe part). Real loopback servers that misbehave on purpose."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from inferlab.probe import MemorySink, ProbeConfig, run_probe
from inferlab.probe.config import response_cap_bytes
from inferlab.probe.preflight import preflight
from inferlab.records import RequestRecord
from tests.unit.probe_server import Request, ScriptedServer, chunk, sse_head, sse_stream


def run(url: str, **kw: Any) -> RequestRecord:
    cfg = ProbeConfig(url=url, model="m", requests=1, timeout_s=kw.pop("timeout_s", 5), **kw)
    sink = MemorySink()
    result = asyncio.run(run_probe(cfg, sink))
    assert result.status == "completed"
    assert len(sink.records) == 1
    return sink.records[0]


def server(parts: list[bytes], *, then: bytes = b"", forever: bool = False) -> ScriptedServer:
    """Writes `parts`, then `then` again and again (a byte at a time every 50 ms when
    it is one byte, else as fast as the client reads) when `forever`, else closes."""

    async def handler(req: Request, w: asyncio.StreamWriter) -> None:
        for part in parts:
            w.write(part)
            await w.drain()
        while forever:
            w.write(then)
            await w.drain()
            await asyncio.sleep(0.05 if len(then) == 1 else 0)
        w.close()

    return ScriptedServer(handler)


def test_a_server_trickling_a_byte_at_a_time_meets_the_request_deadline() -> None:
    # Each byte comes well within --timeout, so only the deadline can end the request.
    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n"
    with server([head], then=b":", forever=True) as srv:
        record = run(srv.base_url, request_deadline_s=1.0)
    assert record.error_class == "deadline_exceeded"
    assert "deadline of 1 s" in (record.error_message or "")


def test_the_default_deadline_comes_from_the_duration_and_max_tokens() -> None:
    cfg = ProbeConfig(url="http://x/v1", model="m", timeout_s=5, max_tokens=64)
    assert cfg.deadline_s == 5 + 64 * 0.5
    assert ProbeConfig(url="http://x/v1", model="m", timeout_s=5, duration_s=5).deadline_s == 10
    assert ProbeConfig(url="http://x/v1", model="m", request_deadline_s=3).deadline_s == 3
    assert cfg.run_settings()["request_deadline_s"] == 37


def test_the_default_response_cap_grows_with_max_tokens() -> None:
    assert response_cap_bytes(None, 64) == 1 << 20
    assert response_cap_bytes(None, 1024) == 4 << 20
    assert response_cap_bytes(5000, 1024) == 5000


def test_a_fast_stream_without_done_stops_at_the_default_cap() -> None:
    event = chunk(b'data: {"choices": [{"delta": {"content": "x"}}]}\n\n')
    with server([sse_head()], then=event * 100, forever=True) as srv:
        record = run(srv.base_url, max_tokens=16)
    assert record.error_class == "response_too_large"
    assert "1,048,576 bytes" in (record.error_message or "")


def test_a_stream_that_never_sends_done_is_cut_at_the_response_cap() -> None:
    event = chunk(b'data: {"choices": [{"delta": {"content": "x"}}]}\n\n')
    with server([sse_head()], then=event * 100, forever=True) as srv:
        record = run(srv.base_url, max_event_bytes=1024, max_response_bytes=256 * 1024)
    assert record.error_class == "response_too_large"
    assert "262,144 bytes" in (record.error_message or "")
    assert len(record.chunk_offsets_ms) > 0  # what arrived before the cap is kept


def test_one_huge_line_without_a_newline_is_cut_at_the_event_cap() -> None:
    with server([sse_head(), chunk(b"data: ")], then=chunk(b"x" * 65536), forever=True) as srv:
        # A generous read timeout: on a loaded machine 1 MiB can take longer than 5 s to
        # arrive, and the test is about the cap, not the clock.
        record = run(srv.base_url, max_event_bytes=1 << 20, timeout_s=60)
    assert record.error_class == "event_too_large"
    assert "1,048,576 bytes" in (record.error_message or "")


def test_a_trickled_then_cut_stream_is_a_disconnect_mid_stream() -> None:
    # A close-delimited body (no length, not chunked): EOF is a legal end, but it
    # came inside an event.
    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"
    parts = [head, *[bytes([b]) for b in b'data: {"choices": [{"delta": {"con']]
    with server(parts) as srv:
        record = run(srv.base_url)
    assert record.error_class == "disconnected"
    assert "mid-stream" in (record.error_message or "")


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (b"HTTP/1.1 200 OK\r\nx-pad: " + b"a" * (20 << 20), "too large"),
        (b"SSH-2.0-OpenSSH_9.2\r\n\r\n", "not valid HTTP/1.1"),
    ],
)
def test_huge_headers_or_a_garbage_status_line_are_a_protocol_error(
    answer: bytes, says: str
) -> None:
    with server([answer]) as srv:
        record = run(srv.base_url)
    assert record.error_class == "protocol_error"
    assert says in (record.error_message or "")


def test_preflight_read_timeout_warns_with_its_reason() -> None:
    models = b'{"object": "list", "data": [{"id": "m"}]}'

    async def handler(req: Request, w: asyncio.StreamWriter) -> None:
        if req.method == "GET":
            w.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                + f"content-length: {len(models)}\r\n\r\n".encode()
                + models
            )
            await w.drain()
            return
        w.write(sse_head() + sse_stream(["x"])[0])  # a first event, then silence
        await w.drain()
        await asyncio.sleep(30)

    with ScriptedServer(handler) as srv:
        result = asyncio.run(preflight(srv.base_url, "m", timeout_s=1.0))
    (warning,) = result.warnings
    assert "broke: no bytes within the timeout" in warning
    assert "(3 tries)" in warning


def test_preflight_stops_reading_an_endless_test_stream() -> None:
    models = b'{"object": "list", "data": [{"id": "m"}]}'

    async def handler(req: Request, w: asyncio.StreamWriter) -> None:
        if req.method == "GET":
            w.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                + f"content-length: {len(models)}\r\n\r\n".encode()
                + models
            )
            await w.drain()
            return
        w.write(sse_head() + chunk(b"data: "))
        while True:  # one line that never ends
            w.write(chunk(b"x" * 65536))
            await w.drain()

    with ScriptedServer(handler) as srv:
        result = asyncio.run(preflight(srv.base_url, "m"))
    (warning,) = result.warnings
    assert "without a blank line" in warning


def test_an_answer_complete_at_done_is_kept_when_the_deadline_hits_after_it() -> None:
    # The server finishes the stream, then holds the connection open without ending
    # the chunked body; the deadline (shorter than the 1 s read-on after [DONE]) hits there.
    parts = sse_stream(["a", "b"])[:-1]  # everything but the body's final 0-chunk

    async def hold(req: Request, w: asyncio.StreamWriter) -> None:
        w.write(sse_head() + b"".join(parts))
        await w.drain()
        await asyncio.sleep(30)

    with ScriptedServer(hold) as srv:
        record = run(srv.base_url, request_deadline_s=0.5)
    assert record.ok and record.error_class is None
    assert len(record.chunk_offsets_ms) == 2
