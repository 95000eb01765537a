"""Stale keep-alive connections (issue 17): retried once, invisibly; real drops still recorded.

The scripted servers close a connection exactly when the next request on it
arrives, so the client always writes into a connection the server has given
up on (the race a short keep-alive timeout, or llama-server's per-connection
request cap, makes at random); no timing luck involved.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import httpx

from inferlab.probe import MemorySink, ProbeConfig, run_probe
from inferlab.probe.preflight import preflight
from inferlab.probe.quality import EvalItem, QualityProbeConfig, run_quality
from inferlab.probe.stale import STALE_NOTE, send_stream
from inferlab.records import RequestRecord
from inferlab.sim import SimConfig, SimServer
from tests.unit.probe_server import Request, ScriptedServer, sse_head, sse_stream

_MODELS = b'{"object": "list", "data": [{"id": "m"}]}'


def _models_response() -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
        + f"content-length: {len(_MODELS)}\r\n\r\n".encode()
        + _MODELS
    )


def one_request_per_connection(*, partial_on_reuse: bool = False) -> ScriptedServer:
    """Answers the first request of every connection; a second one on it: the server
    closes without a byte (or, with `partial_on_reuse`, after half a stream)."""
    seen: set[int] = set()

    async def handler(req: Request, w: asyncio.StreamWriter) -> None:
        if id(w) in seen:
            if partial_on_reuse:
                for part in [sse_head(), *sse_stream(["a", "b"], done=False)[:2]]:
                    w.write(part)
                await w.drain()
            w.close()
            return
        seen.add(id(w))
        parts = [_models_response()] if req.method == "GET" else [sse_head(), *sse_stream(["x"])]
        for part in parts:
            w.write(part)
        await w.drain()

    return ScriptedServer(handler)


def run(url: str, requests: int, **kw: Any) -> list[RequestRecord]:
    cfg = ProbeConfig(url=url, model="m", requests=requests, timeout_s=5, max_tokens=4, **kw)
    sink = MemorySink()
    result = asyncio.run(run_probe(cfg, sink))
    assert result.status == "completed"
    return sorted(sink.records, key=lambda r: r.index)


def test_a_request_a_stale_connection_swallowed_is_retried_on_a_fresh_one() -> None:
    with one_request_per_connection() as srv:
        records = run(srv.base_url, 4)
    assert [r.ok for r in records] == [True] * 4
    assert records[0].notes == ()  # its connection was new
    assert all(r.notes == (STALE_NOTE,) for r in records[1:])
    # Each retried request went out twice: 4 answered + 3 swallowed.
    assert len(srv.requests) == 7


def test_a_retried_request_adds_no_queue_time() -> None:
    with one_request_per_connection() as srv:
        records = run(srv.base_url, 3)
    for r in records[1:]:
        # Scheduled moves with the send: the failed attempt is not client queue time.
        assert 0 <= r.client_queue_ms < records[0].e2e_ms + 1_000  # type: ignore[operator]
        assert r.ttft_ms is not None and r.error_class is None


def test_a_drop_after_response_bytes_on_a_reused_connection_is_not_retried() -> None:
    with one_request_per_connection(partial_on_reuse=True) as srv:
        records = run(srv.base_url, 2)
    assert records[0].ok
    assert records[1].error_class == "disconnected"
    assert "mid-stream" in (records[1].error_message or "")
    assert records[1].notes == ()
    assert len(srv.requests) == 2


def test_a_server_that_drops_every_request_is_still_disconnected_after_one_retry() -> None:
    answered = False

    async def handler(req: Request, w: asyncio.StreamWriter) -> None:
        nonlocal answered
        if answered:
            w.close()  # every request but the first: no response at all
            return
        answered = True
        for part in [sse_head(), *sse_stream(["x"])]:
            w.write(part)
        await w.drain()

    with ScriptedServer(handler) as srv:
        records = run(srv.base_url, 2)
    assert records[0].ok
    assert records[1].error_class == "disconnected"
    assert "before a response" in (records[1].error_message or "")
    assert records[1].notes == (STALE_NOTE,)
    assert len(srv.requests) == 3  # one retry, not more


def test_send_stream_retries_once_and_says_so() -> None:
    async def go(url: str) -> list[bool]:
        out = []
        async with httpx.AsyncClient() as client:
            for _ in range(3):
                r, retried = await send_stream(client, client.build_request("GET", url))
                await r.aread()
                await r.aclose()
                assert r.status_code == 200
                out.append(retried)
        return out

    with one_request_per_connection() as srv:
        assert asyncio.run(go(srv.base_url + "/models")) == [False, True, True]


def test_preflight_survives_a_stale_connection() -> None:
    with one_request_per_connection() as srv:
        result = asyncio.run(preflight(srv.base_url, "m"))
    assert result.models == ("m",)
    assert result.warnings == ()


def test_sim_closing_idle_connections_gives_no_failures_with_longer_gaps() -> None:
    # 2 requests/s against a 50 ms keep-alive timeout: every pooled connection
    # is closed by the server before the next request wants it.
    sim = SimConfig(model="m", ttft_ms=0, tpot_ms=0, keepalive_timeout_ms=50)
    with SimServer(sim) as server:
        records = run(server.base_url, 4, load_mode="constant", rate_rps=2.0, concurrency=0)
    assert [r.error_class for r in records] == [None] * 4


def test_sim_that_really_drops_mid_request_is_still_disconnected() -> None:
    sim = SimConfig(model="m", ttft_ms=0, tpot_ms=0, disconnect_pct=100, keepalive_timeout_ms=50)
    with SimServer(sim) as server:
        records = run(server.base_url, 2)
    assert [r.error_class for r in records] == ["disconnected"] * 2


def test_the_quality_probe_follows_the_same_rule() -> None:
    cfg = QualityProbeConfig(
        url="",
        model="m",
        eval_set="t",
        items=(EvalItem("a", "the river", "x"), EvalItem("b", "the stone", "x")),
        repeats=2,
        concurrency=1,
        max_tokens=4,
        timeout_s=5,
    )
    with one_request_per_connection() as srv:
        results = asyncio.run(run_quality(replace(cfg, url=srv.base_url), lambda _: MemorySink()))
    (result,) = results
    assert result.status == "completed"
    assert [o.ok for _, o in result.outputs] == [True] * 4
    assert [o.output for _, o in result.outputs] == ["x"] * 4
