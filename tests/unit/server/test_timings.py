"""Per-response server timings: llama.cpp's `timings`, Ollama's durations."""

from __future__ import annotations

from inferlab.probe.stream import StreamAccumulator
from inferlab.server.timings import ServerTiming, server_timing_of


def test_llamacpp_timings_on_the_last_chunk() -> None:
    obj = {
        "choices": [{"delta": {}, "finish_reason": "stop"}],
        "timings": {
            "prompt_n": 20, "prompt_ms": 40.5, "prompt_per_token_ms": 2.0, "predicted_n": 10,
            "predicted_ms": 95.0, "predicted_per_token_ms": 9.5, "cache_n": 3,
        },
    }  # fmt: skip
    t = server_timing_of(obj)
    assert t == ServerTiming("llamacpp", 40.5, 20, 95.0, 10, 3)
    assert t.decode_ms_per_token == 9.5


def test_ollama_durations_are_nanoseconds() -> None:
    obj = {"done": True, "prompt_eval_count": 8, "prompt_eval_duration": 12_000_000,
           "eval_count": 4, "eval_duration": 80_000_000}  # fmt: skip
    assert server_timing_of(obj) == ServerTiming("ollama", 12.0, 8, 80.0, 4, None)


def test_an_ordinary_chunk_has_none() -> None:
    assert server_timing_of({"choices": [{"delta": {"content": "x"}}]}) is None


def test_the_stream_keeps_the_timing_on_the_record() -> None:
    acc = StreamAccumulator()
    acc.feed(1_000_000, '{"choices":[{"delta":{"content":"a"}}]}')
    acc.feed(
        2_000_000,
        '{"choices":[],"timings":{"prompt_n":2,"prompt_ms":1.5,"predicted_n":1,"predicted_ms":0.5}}',
    )
    acc.feed(2_100_000, "[DONE]")
    rec = acc.record(
        index=0, scheduled_ms=0, sent_ms=0, warmup=False, http_status=200, end_ns=3_000_000
    )
    assert rec.server_timing == ServerTiming("llamacpp", 1.5, 2, 0.5, 1, None)
    assert rec.e2e_ms == 1.0  # the timings chunk carries no content: it never extends E2E
