"""The records every part of inferlab shares: one request's timings, one run's settings.

Times: offsets are milliseconds (float) from the run's anchor (`RunInfo.started_at`
wall clock, measured with perf_counter_ns) for `scheduled_ms` / `sent_ms`, and
from the request's own send for everything else. Conventions: ../shared/METRICS.md.
The probe produces these, importers build them from peer files, the store keeps them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from inferlab.metrics.requests import tpot_ms as _tpot_ms
from inferlab.server.timings import ServerTiming

__all__ = ["RequestRecord", "RunInfo", "RunStatus", "TokenCountSource"]

RunStatus = Literal["running", "completed", "cancelled", "interrupted", "failed"]
TokenCountSource = Literal["usage", "chunks", "imported", "unknown"]


@dataclass(frozen=True)
class RequestRecord:
    """One request as measured on the client.

    `chunk_offsets_ms[i]` is when content chunk i arrived (ms after send) and
    `chunk_tokens[i]` how many tokens it carried (1 when the server does not
    say). TTFT is `chunk_offsets_ms[0]`, E2E the last offset. The probe's send
    time is when the request's bytes went to the kernel, so neither a wait for a
    pooled connection nor connection set-up is inside TTFT (`connect_ms` holds
    the latter; both show in `client_queue_ms`). `ttfot_ms` is the first
    non-reasoning content, when reasoning content came first. `notes` name
    events that left the numbers untouched (probe/stale.py).
    """

    index: int
    scheduled_ms: float
    sent_ms: float
    ok: bool
    ttft_ms: float | None = None
    e2e_ms: float | None = None
    ttfot_ms: float | None = None
    chunk_offsets_ms: tuple[float, ...] = ()
    chunk_tokens: tuple[int, ...] = ()
    input_tokens: int | None = None
    output_tokens: int | None = None
    token_count_source: TokenCountSource = "unknown"
    http_status: int | None = None
    error_class: str | None = None
    error_message: str | None = None
    warmup: bool = False
    notes: tuple[str, ...] = ()  # e.g. "retried_stale_connection"
    # Set-up time of the connection this request opened (None: reused one, or not
    # measured). Not stored per request; the run's validity facts summarise it.
    connect_ms: float | None = None
    server_timing: ServerTiming | None = None  # what the server said it spent (llama.cpp, Ollama)
    cached_tokens: int | None = None  # usage.prompt_tokens_details.cached_tokens
    session_id: str | None = None  # multi-turn sessions: which conversation
    turn: int | None = None  # 1-based turn within the session
    # The answer text, only when the caller asked for it (sessions re-send it);
    # never stored.
    output_text: str | None = field(default=None, repr=False, compare=False)

    @property
    def client_queue_ms(self) -> float:
        """Scheduled send -> actual send: the load generator's own lag."""
        return self.sent_ms - self.scheduled_ms

    @property
    def tpot_ms(self) -> float | None:
        """(E2E - TTFT) / (output_tokens - 1), for requests with >= 2 output tokens."""
        return _tpot_ms(self.ttft_ms, self.e2e_ms, self.output_tokens)

    @property
    def itls_ms(self) -> tuple[float, ...]:
        """Gaps between consecutive content chunks (a k-token chunk is one gap)."""
        offs = self.chunk_offsets_ms
        return tuple(b - a for a, b in itertools.pairwise(offs))


@dataclass(frozen=True)
class RunInfo:
    """One run's identity and settings. Never holds credentials."""

    run_id: str
    started_at: datetime
    endpoint: str  # URL without credentials or query secrets
    model: str
    api: str = "chat"  # chat | completions
    load_mode: str = "concurrency"  # concurrency | constant | poisson
    load_value: float = 1.0  # concurrency, or requests/s for rate modes
    label: str = ""
    tags: tuple[str, ...] = ()
    source_tool: str = "inferlab"
    group_id: str | None = None  # sweep / multi-benchmark file grouping
    settings: dict[str, object] = field(default_factory=dict)  # prompt/output lengths, seed, ...
