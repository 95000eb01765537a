"""The simulated endpoint over real HTTP: OpenAI formats, settings, errors, faults."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from inferlab.sim import FAULT_HEADER, SimConfig, SimServer

FAST = SimConfig(ttft_ms=5, tpot_ms=1, default_max_tokens=8)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimServer]:
    with SimServer(FAST) as server:
        yield server


def chat_body(**extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": "inferlab-sim",
        "messages": [{"role": "user", "content": "Say something."}],
        "stream": True,
    }
    body.update(extra)
    return body


def stream_events(
    url: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> list[str]:
    """The `data:` payloads of one SSE response, in order."""
    with (
        httpx.Client(timeout=10) as client,
        client.stream("POST", url, json=body, headers=headers) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        return [line[6:] for line in response.iter_lines() if line.startswith("data: ")]


def content_of(events: list[str]) -> list[str]:
    out = []
    for e in events:
        if e == "[DONE]":
            continue
        for choice in json.loads(e)["choices"]:
            text = choice.get("delta", {}).get("content") if "delta" in choice else choice["text"]
            if text:
                out.append(text)
    return out


def test_chat_stream_follows_the_openai_chunk_format(sim: SimServer) -> None:
    events = stream_events(f"{sim.base_url}/chat/completions", chat_body(max_tokens=5))
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    for chunk in chunks:
        assert chunk["object"] == "chat.completion.chunk"
        assert chunk["model"] == "inferlab-sim"
        assert chunk["id"].startswith("chatcmpl-")
        assert "usage" not in chunk  # only with stream_options.include_usage
    assert len({c["id"] for c in chunks}) == 1
    assert [c["choices"][0]["finish_reason"] for c in chunks] == [None] * 5 + ["length"]
    assert chunks[-1]["choices"][0]["delta"] == {}
    assert content_of(events) == ["the", " quick", " brown", " fox", " jumps"]


def test_usage_chunk_comes_last_when_asked_for(sim: SimServer) -> None:
    body = chat_body(max_tokens=4, stream_options={"include_usage": True})
    events = stream_events(f"{sim.base_url}/chat/completions", body)
    assert events[-1] == "[DONE]"
    usage_chunk = json.loads(events[-2])
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"] == {"prompt_tokens": 4, "completion_tokens": 4, "total_tokens": 8}
    assert all(json.loads(e)["usage"] is None for e in events[:-2])


def test_max_completion_tokens_wins_over_max_tokens(sim: SimServer) -> None:
    body = chat_body(max_tokens=9, max_completion_tokens=3)
    assert len(content_of(stream_events(f"{sim.base_url}/chat/completions", body))) == 3


def test_default_output_length_without_max_tokens(sim: SimServer) -> None:
    assert len(content_of(stream_events(f"{sim.base_url}/chat/completions", chat_body()))) == 8


def test_completions_stream_uses_text_completion_chunks(sim: SimServer) -> None:
    body = {"model": "inferlab-sim", "prompt": "Once upon a time", "max_tokens": 3, "stream": True}
    body["stream_options"] = {"include_usage": True}
    events = stream_events(f"{sim.base_url}/completions", body)
    first = json.loads(events[0])
    assert first["object"] == "text_completion"
    assert first["id"].startswith("cmpl-")
    assert content_of(events) == ["the", " quick", " brown"]
    assert json.loads(events[-2])["usage"]["prompt_tokens"] == 4  # 16 characters / 4


def test_non_streaming_responses_carry_the_whole_text_and_usage(sim: SimServer) -> None:
    chat = httpx.post(
        f"{sim.base_url}/chat/completions", json=chat_body(stream=False, max_tokens=3)
    )
    assert chat.status_code == 200
    data = chat.json()
    assert data["object"] == "chat.completion"
    assert data["choices"][0]["message"] == {"role": "assistant", "content": "the quick brown"}
    assert data["choices"][0]["finish_reason"] == "length"
    assert data["usage"]["completion_tokens"] == 3
    comp = httpx.post(
        f"{sim.base_url}/completions",
        json={"model": "inferlab-sim", "prompt": "hi", "max_tokens": 2},
    )
    assert comp.json()["choices"][0]["text"] == "the quick"
    assert comp.json()["object"] == "text_completion"


def test_models_and_health(sim: SimServer) -> None:
    models = httpx.get(f"{sim.base_url}/models").json()
    assert models["object"] == "list"
    assert [m["id"] for m in models["data"]] == ["inferlab-sim"]
    health = httpx.get(f"{sim.url}/health")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"


def test_ignore_eos_and_request_id_are_accepted(sim: SimServer) -> None:
    body = chat_body(max_tokens=2, ignore_eos=True)
    events = stream_events(f"{sim.base_url}/chat/completions", body, {"x-request-id": "probe-7"})
    assert len(content_of(events)) == 2
    record = next(r for r in sim.truth() if r.client_request_id == "probe-7")
    assert record.completion_tokens == 2
    assert record.request_id == json.loads(events[0])["id"]


def test_truth_records_every_content_chunk_in_order(sim: SimServer) -> None:
    stream_events(
        f"{sim.base_url}/chat/completions", chat_body(max_tokens=6), {"x-request-id": "t1"}
    )
    record = next(r for r in sim.truth() if r.client_request_id == "t1")
    assert record.tokens == [1] * 6
    assert len(record.chunk_sent_ns) == len(record.chunk_deadline_ns) == 6
    assert record.arrival_ns <= record.chunk_sent_ns[0]
    assert record.chunk_sent_ns == sorted(record.chunk_sent_ns)
    assert record.finished_ns is not None and record.finished_ns >= record.chunk_sent_ns[-1]
    # Deadlines follow the settings exactly: TTFT 5 ms after arrival, then 1 ms per token.
    offsets = [d - record.arrival_ns for d in record.chunk_deadline_ns]
    assert offsets == [5_000_000 + i * 1_000_000 for i in range(6)]
    assert record.ttft_ns is not None and len(record.lag_ns) == 6


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"model": "other", "messages": [{"role": "user", "content": "x"}]}, 404, "does not exist"),
        ({"model": "inferlab-sim"}, 400, "messages"),
        ({"messages": [{"role": "user", "content": "x"}], "max_tokens": 0}, 400, "max_tokens"),
        ({"messages": [{"role": "user", "content": "x"}], "max_tokens": "5"}, 400, "max_tokens"),
        ({"messages": [{"role": "user", "content": "x"}], "n": 2}, 400, "n=1"),
        ({"messages": [{"content": "x"}]}, 400, "role"),
        (
            {"messages": [{"role": "user", "content": "x"}], "temperature": "hot"},
            400,
            "temperature",
        ),
    ],
)
def test_bad_requests_get_openai_style_errors(
    sim: SimServer, body: dict[str, Any], status: int, words: str
) -> None:
    response = httpx.post(f"{sim.base_url}/chat/completions", json=body)
    assert response.status_code == status
    assert words in response.json()["error"]["message"]


def test_body_that_is_not_json_is_refused(sim: SimServer) -> None:
    response = httpx.post(f"{sim.base_url}/completions", content=b"{not json")
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]["message"]


def test_unknown_fault_header_is_refused(sim: SimServer) -> None:
    url = f"{sim.base_url}/chat/completions"
    response = httpx.post(url, json=chat_body(), headers={FAULT_HEADER: "explode"})
    assert response.status_code == 400
    assert FAULT_HEADER in response.json()["error"]["message"]


def test_api_key_is_required_when_configured() -> None:
    with SimServer(SimConfig(ttft_ms=1, tpot_ms=1, api_key="s3cret")) as sim:
        url = f"{sim.base_url}/chat/completions"
        body = chat_body(stream=False, max_tokens=1)
        wrong = httpx.post(url, json=body, headers={"authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert wrong.json()["error"]["code"] == "invalid_api_key"
        assert httpx.post(url, json=body).status_code == 401
        right = httpx.post(url, json=body, headers={"authorization": "Bearer s3cret"})
        assert right.status_code == 200
        assert "s3cret" not in httpx.get(f"{sim.url}/sim/stats").text


# --- faults ---------------------------------------------------------------------------------


def fault_stream(sim: SimServer, fault: str) -> httpx.Response:
    return httpx.post(
        f"{sim.base_url}/chat/completions",
        json=chat_body(max_tokens=6),
        headers={FAULT_HEADER: fault},
    )


def test_injected_500(sim: SimServer) -> None:
    response = fault_stream(sim, "500")
    assert response.status_code == 500
    assert response.json()["error"]["type"] == "server_error"


def test_injected_429_says_when_to_retry(sim: SimServer) -> None:
    response = fault_stream(sim, "429")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert response.json()["error"]["type"] == "rate_limit_exceeded"


def test_injected_disconnect_breaks_the_stream_mid_way(sim: SimServer) -> None:
    lines: list[str] = []
    with pytest.raises(httpx.RemoteProtocolError):  # noqa: SIM117 - the raise is inside the stream
        with httpx.stream(
            "POST",
            f"{sim.base_url}/chat/completions",
            json=chat_body(max_tokens=6),
            headers={FAULT_HEADER: "disconnect", "x-request-id": "cut"},
        ) as response:
            lines.extend(line for line in response.iter_lines() if line.startswith("data: "))
    assert len(lines) == 3  # half of the 6 content chunks, then the connection drops
    record = next(r for r in sim.truth() if r.client_request_id == "cut")
    assert record.fault == "disconnect"
    assert len(record.chunk_sent_ns) == 3


def test_injected_truncation_ends_cleanly_without_done(sim: SimServer) -> None:
    events = stream_events(
        f"{sim.base_url}/chat/completions", chat_body(max_tokens=6), {FAULT_HEADER: "truncate"}
    )
    assert "[DONE]" not in events
    assert len(content_of(events)) == 3
    assert all(json.loads(e)["choices"][0]["finish_reason"] is None for e in events)


def test_injected_malformed_chunk_is_not_json(sim: SimServer) -> None:
    events = stream_events(
        f"{sim.base_url}/chat/completions", chat_body(max_tokens=6), {FAULT_HEADER: "malformed"}
    )
    bad = []
    for e in events[:-1]:
        try:
            json.loads(e)
        except json.JSONDecodeError:
            bad.append(e)
    assert len(bad) == 1
    assert events[-1] == "[DONE]"


def test_non_streaming_faults_leave_an_unusable_body(sim: SimServer) -> None:
    url = f"{sim.base_url}/chat/completions"
    body = chat_body(stream=False, max_tokens=4)
    truncated = httpx.post(url, json=body, headers={FAULT_HEADER: "truncate"})
    assert truncated.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(truncated.content)
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.post(url, json=body, headers={FAULT_HEADER: "disconnect"})


def test_fault_percentages_apply_to_whole_runs() -> None:
    with SimServer(SimConfig(ttft_ms=1, tpot_ms=1, error_429_pct=100, retry_after_s=7)) as sim:
        for _ in range(3):
            response = httpx.post(f"{sim.base_url}/chat/completions", json=chat_body(max_tokens=1))
            assert response.status_code == 429
            assert response.headers["retry-after"] == "7"
        assert [r.fault for r in sim.truth()] == ["429"] * 3


def test_role_chunk_comes_first_and_carries_no_content() -> None:
    config = SimConfig(ttft_ms=5, tpot_ms=1, role_first_chunk=True, tokens_per_chunk=3)
    with SimServer(config) as sim:
        events = stream_events(f"{sim.base_url}/chat/completions", chat_body(max_tokens=7))
        (record,) = sim.truth()
    first = json.loads(events[0])["choices"][0]
    assert first["delta"] == {"role": "assistant", "content": ""}
    # The first token goes alone, then three per chunk.
    assert content_of(events) == ["the", " quick brown fox", " jumps over a"]
    assert record.tokens == [1, 3, 3]
    assert record.role_chunk_sent_ns is not None
    assert record.role_chunk_sent_ns < record.chunk_sent_ns[0]


def test_client_that_leaves_early_frees_its_slot() -> None:
    with SimServer(SimConfig(ttft_ms=1, tpot_ms=20, max_batch=1)) as sim:
        with httpx.stream(
            "POST", f"{sim.base_url}/chat/completions", json=chat_body(max_tokens=200)
        ) as response:
            for line in response.iter_lines():
                if line.startswith("data: "):
                    break
        # The next request only gets the single slot once the first one noticed the hang-up.
        quick = httpx.post(
            f"{sim.base_url}/chat/completions",
            json=chat_body(stream=False, max_tokens=1),
            timeout=10,
        )
        assert quick.status_code == 200
        first = sim.truth()[0]
    assert first.client_disconnected
    assert len(first.chunk_sent_ns) < 200


def test_process_mode_serves_and_reports_truth() -> None:
    with SimServer(SimConfig(ttft_ms=2, tpot_ms=1), process=True) as sim:
        assert sim.pid is not None
        events = stream_events(
            f"{sim.base_url}/chat/completions", chat_body(max_tokens=3), {"x-request-id": "p"}
        )
        assert len(content_of(events)) == 3
        (record,) = sim.truth()
        assert record.client_request_id == "p"
        assert record.tokens == [1, 1, 1]
        sim.clear_truth()
        assert sim.truth() == []
    assert not sim.running


def test_refuses_a_non_loopback_host() -> None:
    with pytest.raises(ValueError, match="loopback"):
        SimServer(host="0.0.0.0")
    with pytest.raises(ValueError, match="not an IP address"):
        SimServer(host="example.com")


def test_process_mode_child_stops_when_its_parent_is_killed() -> None:
    script = (
        "from inferlab.sim import SimServer, SimConfig\n"
        "import time\n"
        "sim = SimServer(SimConfig(), process=True).start()\n"
        "print(sim.pid, sim.url, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        pid_text, url = parent.stdout.readline().split()
        assert httpx.get(f"{url}/health").status_code == 200
    finally:
        parent.kill()
        parent.wait()
    child = int(pid_text)
    for _ in range(200):  # bounded wait for the orphan to notice
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(child, signal.SIGKILL)
    pytest.fail("the sim child outlived its parent")


def test_client_that_gives_up_while_queued_leaves_the_queue() -> None:
    with SimServer(SimConfig(ttft_ms=1, tpot_ms=20, max_batch=1)) as sim:
        url = f"{sim.base_url}/chat/completions"
        with httpx.stream("POST", url, json=chat_body(max_tokens=100)) as busy:
            lines = busy.iter_lines()  # kept: dropping the iterator would close the stream
            next(lines)  # the only slot is taken
            with pytest.raises(httpx.ReadTimeout):
                httpx.post(
                    url, json=chat_body(stream=False), headers={"x-request-id": "q"}, timeout=0.3
                )
            for _ in range(100):  # bounded wait for the server to notice the hang-up
                queued = next(r for r in sim.truth() if r.client_request_id == "q")
                if queued.client_disconnected:
                    break
                time.sleep(0.05)
            assert sim.stats()["queued"] == 0
    assert queued.client_disconnected
    assert queued.admitted_ns is None
    assert queued.chunk_sent_ns == []
