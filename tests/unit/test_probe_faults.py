"""Faults the probe must survive: each becomes a failed request with its error class.

Servers are real loopback sockets (tests/unit/probe_server.py) or nothing at all.
"""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import pytest

from inferlab.probe import MemorySink, ProbeConfig, run_probe
from inferlab.records import RequestRecord
from tests.unit.probe_server import (
    Request,
    ScriptedServer,
    chunk,
    free_port,
    sse_head,
    sse_stream,
    stalled_listener,
)


def probe(url: str, requests: int = 2, **kw: Any) -> tuple[list[RequestRecord], MemorySink]:
    cfg = ProbeConfig(url=url, model="m", requests=requests, timeout_s=kw.pop("timeout_s", 5), **kw)
    sink = MemorySink()
    result = asyncio.run(run_probe(cfg, sink))
    assert result.status == "completed"
    assert sink.status == "completed"
    assert result.completed == requests
    return sink.records, sink


def only_class(records: list[RequestRecord]) -> str:
    classes = {r.error_class for r in records}
    assert len(classes) == 1, classes
    assert all(not r.ok for r in records)
    cls = classes.pop()
    assert cls is not None
    return cls


def serve(*parts: bytes, close: bool = False, delay_s: float = 0.0) -> ScriptedServer:
    async def handler(req: Request, w: asyncio.StreamWriter) -> None:
        for part in parts:
            w.write(part)
            await w.drain()
            if delay_s:
                await asyncio.sleep(delay_s)
        if close:
            w.close()

    return ScriptedServer(handler)


def status_response(status: int, body: dict[str, Any], extra: str = "") -> bytes:
    data = json.dumps(body).encode()
    return (
        f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n{extra}"
        f"content-length: {len(data)}\r\n\r\n"
    ).encode() + data


def test_connection_refused_is_recorded() -> None:
    records, _ = probe(f"http://127.0.0.1:{free_port()}/v1")
    assert only_class(records) == "connection_refused"
    assert records[0].http_status is None


def test_unknown_host_is_a_dns_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # Resolve nothing over the network: the resolver itself reports the unknown name.
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kw: Any) -> Any:
        if host == "no-such-host.invalid":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    records, _ = probe("http://no-such-host.invalid:8001/v1")
    assert only_class(records) == "dns_error"


def test_connect_timeout_when_the_accept_queue_is_full() -> None:
    with stalled_listener() as port:
        records, _ = probe(f"http://127.0.0.1:{port}/v1", requests=1, timeout_s=0.3)
    assert only_class(records) == "connect_timeout"


def test_read_timeout_when_the_server_never_answers() -> None:
    async def silent(req: Request, w: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    with ScriptedServer(silent) as srv:
        records, _ = probe(srv.base_url, requests=1, timeout_s=0.3)
    assert only_class(records) == "read_timeout"
    assert "response" in (records[0].error_message or "")


def test_read_timeout_between_chunks_keeps_what_arrived() -> None:
    head_and_two = [sse_head(), *sse_stream(["a", "b"], done=False)[:-1]]
    with serve(*head_and_two, delay_s=0.0) as srv:
        records, _ = probe(srv.base_url, requests=1, timeout_s=0.3)
    assert only_class(records) == "read_timeout"
    assert len(records[0].chunk_offsets_ms) == 2
    assert records[0].ttft_ms is not None


@pytest.mark.parametrize(
    ("status", "body", "expect"),
    [
        (401, {"error": {"message": "Incorrect API key provided: sk-se***et"}}, "credentials"),
        (404, {"error": {"message": "model m not found"}}, "model m not found"),
        (400, {"error": {"message": "max_tokens too large"}}, "max_tokens too large"),
        (429, {"error": {"message": "slow down"}}, "Retry-After 3s"),
        (500, {"error": {"message": "kaputt"}}, "kaputt"),
        (503, {"detail": "overloaded"}, "overloaded"),
    ],
)
def test_http_errors_are_classed_by_status(status: int, body: dict[str, Any], expect: str) -> None:
    extra = "retry-after: 3\r\n" if status == 429 else ""
    with serve(status_response(status, body, extra)) as srv:
        records, _ = probe(srv.base_url)
    assert only_class(records) == f"http_{status}"
    assert records[0].http_status == status
    assert expect in (records[0].error_message or "")


def test_api_key_never_reaches_the_record() -> None:
    key = "sk-very-secret-key-123"
    body = {"error": {"message": f"key {key} is revoked"}}
    with serve(status_response(401, body)) as srv:
        cfg = ProbeConfig(url=srv.base_url, model="m", requests=1, api_key=key, timeout_s=5)
        sink = MemorySink()
        asyncio.run(run_probe(cfg, sink))
        sent = srv.requests[0]
    assert sent.headers["authorization"] == f"Bearer {key}"
    assert key not in repr(sink.records) and key not in repr(cfg)
    assert "***" in (sink.records[0].error_message or "")


def test_disconnect_mid_stream_keeps_the_chunks_that_arrived() -> None:
    events = sse_stream(["a", "b", "c"], done=False)[:3]  # role + two contents, no terminator
    with serve(sse_head(), *events, close=True) as srv:
        records, _ = probe(srv.base_url)
    assert only_class(records) == "disconnected"
    assert "mid-stream" in (records[0].error_message or "")
    assert len(records[0].chunk_offsets_ms) == 2


def test_disconnect_before_any_response() -> None:
    async def hang_up(req: Request, w: asyncio.StreamWriter) -> None:
        w.close()

    with ScriptedServer(hang_up) as srv:
        records, _ = probe(srv.base_url)
    assert only_class(records) == "disconnected"


def test_malformed_sse_lines_without_data_field() -> None:
    ndjson = chunk(b'{"choices": [{"delta": {"content": "x"}}]}\n\n')
    with serve(sse_head(), ndjson, b"0\r\n\r\n") as srv:
        records, _ = probe(srv.base_url)
    assert only_class(records) == "malformed_sse"


def test_non_json_data_line() -> None:
    events = sse_stream(["a"])
    events.insert(2, chunk(b"data: {not json\n\n"))
    with serve(sse_head(), *events) as srv:
        records, _ = probe(srv.base_url)
    assert only_class(records) == "invalid_json"
    assert len(records[0].chunk_offsets_ms) == 1  # the chunk before the bad line counts


def test_stream_without_done() -> None:
    with serve(sse_head(), *sse_stream(["a", "b"], done=False)) as srv:
        records, _ = probe(srv.base_url)
    assert only_class(records) == "incomplete_stream"


def test_empty_stream() -> None:
    empty = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: 0\r\n\r\n"
    with serve(empty) as srv:
        records, _ = probe(srv.base_url)
    assert only_class(records) == "empty_stream"


def test_json_instead_of_a_stream() -> None:
    body = {"choices": [{"message": {"content": "hi"}}]}
    with serve(status_response(200, body)) as srv:
        records, _ = probe(srv.base_url)
    assert only_class(records) == "not_event_stream"


def test_error_object_inside_the_stream() -> None:
    error = chunk(b'data: {"error": {"message": "engine died"}}\n\n')
    with serve(sse_head(), error, b"0\r\n\r\n") as srv:
        records, _ = probe(srv.base_url)
    assert only_class(records) == "api_error"
    assert "engine died" in (records[0].error_message or "")


def test_a_mix_of_good_and_bad_requests_finishes_with_an_error_rate() -> None:
    calls = 0

    async def every_other(req: Request, w: asyncio.StreamWriter) -> None:
        nonlocal calls
        calls += 1
        if calls % 2:
            w.write(status_response(500, {"error": {"message": "x"}}))
        else:
            for part in [sse_head(), *sse_stream(["a", "b"], usage={"completion_tokens": 2})]:
                w.write(part)
        await w.drain()

    with ScriptedServer(every_other) as srv:
        records, _ = probe(srv.base_url, requests=6)
    assert sum(r.ok for r in records) == 3
    assert {r.error_class for r in records if not r.ok} == {"http_500"}


def test_server_that_keeps_the_stream_open_after_done_does_not_hold_the_request() -> None:
    # No chunked terminator and no close after [DONE]: the answer is complete and the
    # probe moves on after a short grace (with --timeout 600 this would hang otherwise).
    open_after_done = sse_stream(["a", "b"], usage={"completion_tokens": 2})[:-1]
    with serve(sse_head(), *open_after_done, delay_s=0.0) as srv:
        records, _ = probe(srv.base_url, requests=2, timeout_s=600)
    assert all(r.ok and r.output_tokens == 2 for r in records)
