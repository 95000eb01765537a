"""Settings of the simulated endpoint, and the simple rules it counts tokens with.

Timing model (all times in milliseconds):

- A request is *admitted* at once when fewer than ``max_batch`` streams are
  active, else it waits in a FIFO queue; queued time adds to its TTFT.
- First token: ``ttft_ms + prefill_ms_per_1k_tokens * prompt_tokens / 1000``
  after admission (plus jitter). With ``prefix_cache``, prompt tokens already
  seen (an earlier turn of the conversation, a shared system prompt) are not
  prefilled again and are reported in ``usage.prompt_tokens_details.cached_tokens``
  (see ``inferlab.sim.prefix_cache``).
- Each following token: ``tpot_ms + tpot_growth_per_stream_ms * (active - 1)``
  after the previous one (plus jitter), where ``active`` is the number of
  admitted streams at that moment.
- Jitter: every one of those gaps gets a uniform offset in
  ``[-jitter_ms, +jitter_ms]`` (never below zero), seeded per request.
- Chunks: the first token is sent alone (as vLLM's ``--stream-interval`` does),
  later tokens ``tokens_per_chunk`` at a time; a chunk leaves when its last
  token is due. Deadlines are absolute, so sending late never shifts later
  chunks.

Prompt tokens are counted as ``ceil(characters / 4)`` of all message text
(:data:`CHARS_PER_TOKEN`); output tokens are words of the answer text.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

__all__ = [
    "CHARS_PER_TOKEN",
    "FAULTS",
    "SimConfig",
    "count_prompt_tokens",
    "load_answers",
]

CHARS_PER_TOKEN = 4
"""Prompt-token rule of the sim: ceil(len(text) / 4), the usual English rule of thumb."""

FAULTS = ("500", "429", "disconnect", "truncate", "malformed")
"""Injected faults, in the order their percentages are drawn."""


def count_prompt_tokens(text: str) -> int:
    """Prompt tokens of `text` by the sim's rule: ceil(characters / 4)."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


@dataclass(frozen=True)
class SimConfig:
    """Everything that shapes the sim's answers and timing. Validated on creation."""

    ttft_ms: float = 200.0
    tpot_ms: float = 20.0
    jitter_ms: float = 0.0
    tokens_per_chunk: int = 1
    role_first_chunk: bool = False
    max_batch: int = 256
    prefill_ms_per_1k_tokens: float = 0.0
    tpot_growth_per_stream_ms: float = 0.0
    prefix_cache: bool = False
    prefix_cache_blocks: int = 65_536  # 16-token blocks kept (about 1M tokens)
    default_max_tokens: int = 128
    max_output_tokens: int = 65_536
    error_500_pct: float = 0.0
    error_429_pct: float = 0.0
    disconnect_pct: float = 0.0
    truncate_pct: float = 0.0
    malformed_pct: float = 0.0
    retry_after_s: int = 1
    seed: int = 0
    model: str = "inferlab-sim"
    api_key: str | None = None
    answers: Mapping[str, str] | None = field(default=None, hash=False)
    answer_accuracy: float = 1.0
    answer_determinism: float = 1.0
    truth_limit: int = 10_000  # requests kept in the ground-truth log (~12 KB per 128 tokens)
    keepalive_timeout_ms: float = 5000.0  # idle keep-alive connections are closed after this
    # A finished request enters /metrics' request-success counter this long after its
    # last byte (a server that updates its stats asynchronously, as vLLM does).
    metrics_lag_ms: float = 0.0

    def __post_init__(self) -> None:
        problems = list(self._problems())
        if problems:
            raise ValueError("; ".join(problems))

    def _problems(self) -> list[str]:
        out: list[str] = []

        def number(name: str, low: float, high: float) -> None:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                out.append(f"{name} must be a number, got {value!r}")
            elif not math.isfinite(value) or not low <= value <= high:
                out.append(f"{name} must be between {low:g} and {high:g}, got {value!r}")

        def integer(name: str, low: int, high: int) -> None:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                out.append(f"{name} must be a whole number, got {value!r}")
            elif not low <= value <= high:
                out.append(f"{name} must be between {low} and {high}, got {value}")

        number("ttft_ms", 0, 3_600_000)
        number("tpot_ms", 0, 60_000)
        number("jitter_ms", 0, 60_000)
        integer("tokens_per_chunk", 1, 10_000)
        integer("max_batch", 1, 1_000_000)
        number("prefill_ms_per_1k_tokens", 0, 3_600_000)
        number("tpot_growth_per_stream_ms", 0, 60_000)
        integer("prefix_cache_blocks", 0, 100_000_000)
        integer("default_max_tokens", 1, 1_000_000)
        integer("max_output_tokens", 1, 1_000_000)
        for fault in ("error_500_pct", "error_429_pct", "disconnect_pct", "truncate_pct"):
            number(fault, 0, 100)
        number("malformed_pct", 0, 100)
        integer("retry_after_s", 0, 86_400)
        integer("seed", -(2**63), 2**63 - 1)
        integer("truth_limit", 0, 100_000_000)
        number("keepalive_timeout_ms", 1, 3_600_000)
        number("metrics_lag_ms", 0, 3_600_000)
        number("answer_accuracy", 0, 1)
        number("answer_determinism", 0, 1)
        if not out and sum(self.fault_pcts()) > 100:
            out.append(f"error percentages add up to {sum(self.fault_pcts()):g}, more than 100")
        if not self.model or not isinstance(self.model, str):
            out.append("model must be a non-empty name")
        if self.api_key is not None and not self.api_key:
            out.append("api_key must not be empty (use None for no key)")
        if self.answers is not None and not isinstance(self.answers, Mapping):
            out.append("answers must map prompt text to a reference answer")
        return out

    def fault_pcts(self) -> tuple[float, ...]:
        """Percentages of the injected faults, in the order of :data:`FAULTS`."""
        return (
            self.error_500_pct,
            self.error_429_pct,
            self.disconnect_pct,
            self.truncate_pct,
            self.malformed_pct,
        )

    def public_dict(self) -> dict[str, object]:
        """The settings as plain JSON values, without the API key or the answer texts."""
        out: dict[str, object] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "api_key":
                out["api_key_required"] = value is not None
            elif f.name == "answers":
                out["answers"] = None if value is None else len(value)
            else:
                out[f.name] = value
        return out


def load_answers(path: Path) -> dict[str, str]:
    """Read an evaluation set (JSONL: ``prompt`` and ``reference`` or ``answer``) as a map.

    Raises ValueError naming the file and line when something is unusable.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read answers file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ValueError(f"answers file {path} is not UTF-8 text") from None
    answers: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
        if not isinstance(item, dict):
            raise ValueError(f"{path}:{number}: expected a JSON object with prompt and reference")
        prompt = item.get("prompt")
        reference = item.get("reference", item.get("answer"))
        if not isinstance(prompt, str) or not prompt.strip():
            raise ValueError(f"{path}:{number}: 'prompt' must be a non-empty string")
        if not isinstance(reference, str):
            raise ValueError(f"{path}:{number}: 'reference' (or 'answer') must be a string")
        answers[prompt.strip()] = reference
    if not answers:
        raise ValueError(f"answers file {path} holds no prompts")
    return answers
