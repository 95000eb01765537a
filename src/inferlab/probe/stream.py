"""Turn a streamed response's events into a RequestRecord (pure; no I/O).

The worker stamps each SSE event with perf_counter_ns when it arrives and
feeds it here; this module decides what counts (../shared/METRICS.md):
only chunks carrying output (content, reasoning, tool-call text, completions
text) count, so a role-only or empty first chunk never sets TTFT, and a
trailing usage-only chunk or `[DONE]` never extends E2E.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

from inferlab.records import RequestRecord, TokenCountSource
from inferlab.server.timings import ServerTiming, server_timing_of

__all__ = ["ChunkOutcome", "StreamAccumulator", "StreamError", "classify_chunk"]


class StreamError(Exception):
    """The stream broke the protocol; `error_class` names how."""

    def __init__(self, error_class: str, message: str) -> None:
        super().__init__(message)
        self.error_class = error_class


@dataclass(frozen=True)
class ChunkOutcome:
    """What one parsed chunk carried."""

    content: bool  # any output at all (sets TTFT / E2E)
    answer: bool  # non-reasoning output (sets TTFOT)
    cumulative_tokens: int | None  # usage.completion_tokens carried on this chunk, if any


def _nonempty(value: object) -> bool:
    return isinstance(value, str) and value != ""


def classify_chunk(obj: dict[str, Any]) -> ChunkOutcome:
    """Decide whether a chat or completions chunk carries output."""
    reasoning = answer = False
    choices = obj.get("choices")
    if isinstance(choices, list):
        for choice in choices:
            if not isinstance(choice, dict):
                continue
            delta = choice.get("delta")
            if isinstance(delta, dict):
                if _nonempty(delta.get("content")) or _nonempty(delta.get("refusal")):
                    answer = True
                if _nonempty(delta.get("reasoning_content")) or _nonempty(delta.get("reasoning")):
                    reasoning = True
                calls = delta.get("tool_calls")
                if isinstance(calls, list) and calls:
                    answer = True
            elif _nonempty(choice.get("text")):  # completions API
                answer = True
    cumulative = None
    usage = obj.get("usage")
    if isinstance(usage, dict) and isinstance(usage.get("completion_tokens"), int):
        cumulative = usage["completion_tokens"]
    return ChunkOutcome(content=answer or reasoning, answer=answer, cumulative_tokens=cumulative)


def _answer_text(obj: dict[str, Any]) -> str:
    """The answer text a chunk carries (chat delta content or completions text)."""
    parts = []
    for choice in obj.get("choices") or ():
        if not isinstance(choice, dict):
            continue
        delta = choice.get("delta")
        text = delta.get("content") if isinstance(delta, dict) else choice.get("text")
        if isinstance(text, str):
            parts.append(text)
    return "".join(parts)


class StreamAccumulator:
    """Collects one request's chunk arrivals (ns after send) and builds its record."""

    def __init__(self, keep_text: bool = False) -> None:
        self.keep_text = keep_text
        self.text_parts: list[str] = []
        self.usage_cached_tokens: int | None = None
        self.events = 0  # SSE data events seen, [DONE] included
        self.done = False
        self.offsets_ns: list[int] = []
        self._cumulative: list[int | None] = []
        self.first_answer_ns: int | None = None
        self.saw_reasoning_first = False
        self.usage_completion_tokens: int | None = None
        self.usage_prompt_tokens: int | None = None
        self.server_timing: ServerTiming | None = None

    def feed(self, offset_ns: int, data: str) -> None:
        """One SSE data payload that arrived `offset_ns` after send."""
        self.events += 1
        if self.done:
            return  # anything after [DONE] is ignored
        if data.strip() == "[DONE]":
            self.done = True
            return
        try:
            obj = json.loads(data)
        except (ValueError, RecursionError):  # RecursionError: hostile, deeply nested JSON
            raise StreamError("invalid_json", f"data line is not JSON: {data[:80]!r}") from None
        if not isinstance(obj, dict):
            raise StreamError("invalid_json", f"data line is not a JSON object: {data[:80]!r}")
        error = obj.get("error")
        if error is not None and not obj.get("choices"):
            msg = error.get("message") if isinstance(error, dict) else error
            raise StreamError("api_error", f"server sent an error mid-stream: {str(msg)[:200]}")
        outcome = classify_chunk(obj)
        timing = server_timing_of(obj)
        if timing is not None:
            self.server_timing = timing
        usage = obj.get("usage")
        if isinstance(usage, dict):
            if isinstance(usage.get("completion_tokens"), int):
                self.usage_completion_tokens = usage["completion_tokens"]
            if isinstance(usage.get("prompt_tokens"), int):
                self.usage_prompt_tokens = usage["prompt_tokens"]
            details = usage.get("prompt_tokens_details")
            if isinstance(details, dict) and isinstance(details.get("cached_tokens"), int):
                self.usage_cached_tokens = details["cached_tokens"]
        if self.keep_text and outcome.answer:
            self.text_parts.append(_answer_text(obj))
        if outcome.content:
            if not self.offsets_ns and not outcome.answer:
                self.saw_reasoning_first = True
            self.offsets_ns.append(offset_ns)
            self._cumulative.append(outcome.cumulative_tokens)
        if outcome.answer and self.first_answer_ns is None:
            self.first_answer_ns = offset_ns

    def chunk_tokens(self) -> list[int]:
        """Tokens per content chunk: from per-chunk cumulative usage when every
        content chunk carried it (vLLM's continuous usage stats), else 1 each."""
        cum = self._cumulative
        if cum and all(c is not None for c in cum):
            values = [int(c) for c in cum if c is not None]
            tokens = [values[0]] + [b - a for a, b in itertools.pairwise(values)]
            if all(t >= 0 for t in tokens):
                return tokens
        return [1] * len(cum)

    def record(
        self,
        *,
        index: int,
        scheduled_ms: float,
        sent_ms: float,
        warmup: bool,
        http_status: int | None,
        end_ns: int | None,
        error_class: str | None = None,
        error_message: str | None = None,
        connect_ms: float | None = None,
    ) -> RequestRecord:
        """The record; with an error it keeps whatever arrived before it."""
        tokens = self.chunk_tokens()
        source: TokenCountSource
        if self.usage_completion_tokens is not None:
            output_tokens, source = self.usage_completion_tokens, "usage"
        else:
            output_tokens, source = sum(tokens), "chunks"
        offsets_ms = tuple(ns / 1e6 for ns in self.offsets_ns)
        ttft_ms = offsets_ms[0] if offsets_ms else None
        if offsets_ms:
            e2e_ms: float | None = offsets_ms[-1]
        else:
            e2e_ms = end_ns / 1e6 if end_ns is not None and error_class is None else None
        ttfot_ms = None
        if self.saw_reasoning_first and self.first_answer_ns is not None:
            ttfot_ms = self.first_answer_ns / 1e6
        return RequestRecord(
            index=index,
            scheduled_ms=scheduled_ms,
            sent_ms=sent_ms,
            ok=error_class is None,
            ttft_ms=ttft_ms,
            e2e_ms=e2e_ms,
            ttfot_ms=ttfot_ms,
            chunk_offsets_ms=offsets_ms,
            chunk_tokens=tuple(tokens),
            input_tokens=self.usage_prompt_tokens,
            output_tokens=output_tokens,
            token_count_source=source,
            http_status=http_status,
            error_class=error_class,
            error_message=error_message,
            warmup=warmup,
            connect_ms=connect_ms,
            server_timing=self.server_timing,
            cached_tokens=self.usage_cached_tokens,
            output_text="".join(self.text_parts) if self.keep_text else None,
        )
