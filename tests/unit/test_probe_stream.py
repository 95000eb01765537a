"""Record building from chunks: what counts as the first token, the end, and the token count."""

from __future__ import annotations

import json
from typing import Any

import pytest

from inferlab.probe.stream import StreamAccumulator, StreamError, classify_chunk

MS = 1_000_000  # ns per ms


def chat(**delta: Any) -> str:
    return json.dumps({"choices": [{"index": 0, "delta": delta}]})


def build(events: list[tuple[float, str]], end_ms: float | None = None) -> Any:
    acc = StreamAccumulator()
    for t_ms, data in events:
        acc.feed(int(t_ms * MS), data)
    end_ns = int((end_ms if end_ms is not None else events[-1][0]) * MS)
    return acc.record(
        index=3, scheduled_ms=1.0, sent_ms=1.5, warmup=False, http_status=200, end_ns=end_ns
    )


def test_role_only_first_chunk_does_not_set_ttft() -> None:
    rec = build(
        [
            (5, chat(role="assistant")),
            (7, chat(role="assistant", content="")),
            (200, chat(content="Hello")),
            (220, chat(content=" world")),
            (221, "[DONE]"),
        ]
    )
    assert rec.ok and rec.ttft_ms == 200 and rec.e2e_ms == 220
    assert rec.chunk_offsets_ms == (200, 220)
    assert rec.output_tokens == 2 and rec.token_count_source == "chunks"
    assert rec.client_queue_ms == 0.5 and rec.index == 3


def test_trailing_usage_chunk_and_done_do_not_extend_e2e() -> None:
    usage = json.dumps(
        {"choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19}}
    )
    rec = build(
        [
            (100, chat(content="a")),
            (140, chat(content="bcd")),
            (141, json.dumps({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})),
            (150, usage),
            (160, "[DONE]"),
        ],
        end_ms=170,
    )
    assert rec.e2e_ms == 140
    assert rec.output_tokens == 7 and rec.token_count_source == "usage"
    assert rec.input_tokens == 12
    assert rec.chunk_tokens == (1, 1)  # the server did not say how many per chunk
    assert rec.tpot_ms == pytest.approx(40 / 6)


def test_multi_token_chunks_counted_from_continuous_usage() -> None:
    def with_usage(text: str, cum: int) -> str:
        return json.dumps(
            {
                "choices": [{"index": 0, "delta": {"content": text}}],
                "usage": {"completion_tokens": cum},
            }
        )

    rec = build(
        [
            (
                1,
                json.dumps(
                    {
                        "choices": [{"delta": {"role": "assistant"}}],
                        "usage": {"completion_tokens": 0},
                    }
                ),
            ),
            (100, with_usage("a", 1)),
            (130, with_usage("bcd", 4)),
            (160, with_usage("ef", 6)),
            (161, "[DONE]"),
        ]
    )
    assert rec.chunk_tokens == (1, 3, 2)
    assert rec.output_tokens == 6 and rec.token_count_source == "usage"
    assert rec.itls_ms == (30, 30)


def test_completions_api_text_chunks() -> None:
    def text(t: str) -> str:
        return json.dumps({"choices": [{"index": 0, "text": t}]})

    rec = build([(50, text("")), (80, text("x")), (90, text("y")), (95, "[DONE]")])
    assert rec.ttft_ms == 80 and rec.e2e_ms == 90 and rec.output_tokens == 2


def test_reasoning_counts_for_ttft_and_ttfot_is_kept() -> None:
    rec = build(
        [
            (40, chat(reasoning_content="Let me think")),
            (60, chat(reasoning="more")),
            (300, chat(content="Answer")),
            (301, "[DONE]"),
        ]
    )
    assert rec.ttft_ms == 40 and rec.ttfot_ms == 300 and rec.e2e_ms == 300


def test_ttfot_absent_without_reasoning() -> None:
    rec = build([(40, chat(content="a")), (41, "[DONE]")])
    assert rec.ttfot_ms is None and rec.tpot_ms is None  # one token: no TPOT


def test_tool_call_deltas_are_output() -> None:
    out = classify_chunk(
        {"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{"}}]}}]}
    )
    assert out.content and out.answer


def test_no_content_but_done_is_a_complete_empty_answer() -> None:
    rec = build([(5, chat(role="assistant")), (9, "[DONE]")], end_ms=10)
    assert rec.ok and rec.ttft_ms is None and rec.e2e_ms == 10 and rec.output_tokens == 0


def test_non_json_and_error_payloads_raise_with_their_class() -> None:
    acc = StreamAccumulator()
    with pytest.raises(StreamError) as bad:
        acc.feed(1, "{oops")
    assert bad.value.error_class == "invalid_json"
    with pytest.raises(StreamError) as arr:
        acc.feed(1, "[1, 2]")
    assert arr.value.error_class == "invalid_json"
    with pytest.raises(StreamError) as err:
        acc.feed(1, json.dumps({"error": {"message": "overloaded"}}))
    assert err.value.error_class == "api_error" and "overloaded" in str(err.value)


def test_failed_record_keeps_partial_chunks() -> None:
    acc = StreamAccumulator()
    acc.feed(100 * MS, chat(content="a"))
    rec = acc.record(
        index=0,
        scheduled_ms=0,
        sent_ms=0,
        warmup=True,
        http_status=200,
        end_ns=None,
        error_class="disconnected",
        error_message="gone",
    )
    assert not rec.ok and rec.ttft_ms == 100 and rec.warmup
    assert rec.error_class == "disconnected"


def test_deeply_nested_json_from_a_hostile_server_is_invalid_json_not_a_crash() -> None:
    with pytest.raises(StreamError) as bad:
        StreamAccumulator().feed(0, "[" * 100_000 + "]" * 100_000)
    assert bad.value.error_class == "invalid_json"
