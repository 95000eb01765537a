"""Per-response server timings some servers put in the stream (pure).

- llama.cpp (llama-server) adds `timings` to the last chunk: `prompt_n`,
  `prompt_ms`, `predicted_n`, `predicted_ms`, `cache_n`, per-token and
  per-second figures (derived; recomputed from these when needed).
- Ollama's native responses carry `prompt_eval_count`, `prompt_eval_duration`,
  `eval_count`, `eval_duration` (durations in nanoseconds) on the final object.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["ServerTiming", "server_timing_of"]


@dataclass(frozen=True)
class ServerTiming:
    """What the server says it spent on one request: prefill (prompt) and decode."""

    source: Literal["llamacpp", "ollama"]
    prompt_ms: float | None = None
    prompt_tokens: int | None = None
    decode_ms: float | None = None
    decode_tokens: int | None = None
    cached_tokens: int | None = None

    @property
    def decode_ms_per_token(self) -> float | None:
        if self.decode_ms is None or not self.decode_tokens:
            return None
        return self.decode_ms / self.decode_tokens


def _f(x: object) -> float | None:
    return float(x) if isinstance(x, int | float) and not isinstance(x, bool) else None


def _i(x: object) -> int | None:
    return int(x) if isinstance(x, int | float) and not isinstance(x, bool) else None


def server_timing_of(obj: dict[str, Any]) -> ServerTiming | None:
    """The server timing carried by one parsed chunk, if any."""
    t = obj.get("timings")
    if isinstance(t, dict) and ("prompt_ms" in t or "predicted_ms" in t):
        return ServerTiming(
            source="llamacpp",
            prompt_ms=_f(t.get("prompt_ms")),
            prompt_tokens=_i(t.get("prompt_n")),
            decode_ms=_f(t.get("predicted_ms")),
            decode_tokens=_i(t.get("predicted_n")),
            cached_tokens=_i(t.get("cache_n")),
        )
    if "eval_duration" in obj or "prompt_eval_duration" in obj:
        prompt_ns, eval_ns = _f(obj.get("prompt_eval_duration")), _f(obj.get("eval_duration"))
        return ServerTiming(
            source="ollama",
            prompt_ms=None if prompt_ns is None else prompt_ns / 1e6,
            prompt_tokens=_i(obj.get("prompt_eval_count")),
            decode_ms=None if eval_ns is None else eval_ns / 1e6,
            decode_tokens=_i(obj.get("eval_count")),
        )
    return None
