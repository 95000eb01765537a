"""Preflight: unusable endpoints give one clear line before anything is measured."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from inferlab.probe import PreflightError, preflight
from inferlab.sim import FAULT_HEADER, SimConfig, SimServer
from tests.unit.probe_server import Request, ScriptedServer, free_port, stalled_listener


def check(url: str, model: str = "inferlab-sim", **kw: Any) -> Any:
    return asyncio.run(preflight(url, model, timeout_s=kw.pop("timeout_s", 2.0), **kw))


def fails(url: str, model: str = "inferlab-sim", **kw: Any) -> str:
    with pytest.raises(PreflightError) as err:
        check(url, model, **kw)
    message = str(err.value)
    assert "\n" not in message
    return message


def respond(status: int, body: bytes, ctype: str = "application/json") -> Any:
    async def handler(req: Request, w: Any) -> None:
        w.write(
            f"HTTP/1.1 {status} X\r\ncontent-type: {ctype}\r\ncontent-length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await w.drain()

    return handler


@pytest.fixture(scope="module")
def sim() -> Any:
    with SimServer(SimConfig(ttft_ms=0, tpot_ms=0, api_key="sk-right-key")) as s:
        yield s


def test_a_working_endpoint_passes_and_lists_models(sim: SimServer) -> None:
    result = check(sim.base_url, api_key="sk-right-key")
    assert result.models == ("inferlab-sim",) and result.warnings == ()


def test_wrong_key_is_one_clear_line(sim: SimServer) -> None:
    msg = fails(sim.base_url, api_key="sk-wrong-key")
    assert "rejected the credentials (HTTP 401)" in msg and "--api-key-env" in msg
    assert "sk-wrong-key" not in msg


def test_unknown_model_names_the_served_ones(sim: SimServer) -> None:
    msg = fails(sim.base_url, model="gpt-5", api_key="sk-right-key")
    assert "'gpt-5' is not served" in msg and "it serves: inferlab-sim" in msg


def test_missing_v1_is_suggested(sim: SimServer) -> None:
    msg = fails(sim.url, api_key="sk-right-key")
    assert f"did you mean --url {sim.url}/v1" in msg


def test_connection_refused() -> None:
    assert "connection refused" in fails(f"http://127.0.0.1:{free_port()}/v1")


def test_connect_timeout_is_reported_within_the_timeout() -> None:
    with stalled_listener() as port:
        assert "did not answer within" in fails(f"http://127.0.0.1:{port}/v1", timeout_s=0.3)


def test_malformed_url() -> None:
    assert "not an http(s) URL" in fails("localhost:8001/v1")


def test_html_server_is_not_openai() -> None:
    with ScriptedServer(respond(200, b"<html>hello</html>", "text/html")) as srv:
        msg = fails(srv.base_url)
    assert "not an OpenAI-compatible API" in msg and "text/html" in msg


def test_server_without_models_route_must_stream_openai_chunks() -> None:
    async def handler(req: Request, w: Any) -> None:
        if req.method == "GET":
            await respond(404, b"{}")(req, w)
            return
        body = b'data: {"choices": [{"delta": {"content": "hi"}}]}\n\ndata: [DONE]\n\n'
        w.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            + f"content-length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await w.drain()

    with ScriptedServer(handler) as srv:
        result = check(srv.base_url, model="any")
        sent = json.loads(srv.requests[-1].body)
    assert result.models == () and "no /models route" in result.warnings[0]
    assert sent["max_tokens"] == 1 and sent["stream"] is True


def test_an_overloaded_server_is_a_warning_not_a_refusal() -> None:
    with ScriptedServer(respond(502, b'{"error": {"message": "bad gateway"}}')) as srv:
        result = check(srv.base_url)
        tries = sum(r.method == "POST" for r in srv.requests)
    assert tries == 3
    assert any("HTTP 502" in w and "bad gateway" in w for w in result.warnings)
    assert any("3 tries" in w and "starting anyway" in w for w in result.warnings)


@pytest.mark.parametrize("fault", ["429", "500", "disconnect", "malformed"])
def test_injected_faults_in_the_test_request_do_not_stop_the_run(
    sim: SimServer, fault: str
) -> None:
    result = check(sim.base_url, api_key="sk-right-key", headers={FAULT_HEADER: fault})
    assert result.models == ("inferlab-sim",)
    assert "starting anyway" in result.warnings[-1]


def test_a_client_error_on_models_is_reported() -> None:
    with ScriptedServer(respond(400, b'{"error": {"message": "bad path"}}')) as srv:
        msg = fails(srv.base_url)
    assert "HTTP 400" in msg and "bad path" in msg
