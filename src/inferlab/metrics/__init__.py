"""Every formula and statistic of inferlab, one definition each.

Per-request metrics and run summaries (:mod:`inferlab.metrics.summary`), the
teaching formulas of the latency calculator (:mod:`inferlab.metrics.latency`).
Conventions: ../shared/METRICS.md.
"""

from __future__ import annotations

from inferlab.metrics.latency import (
    READING_SPEED_SOURCE,
    READING_TOKENS_PER_S,
    READING_WORDS_PER_MIN,
    TOKENS_PER_WORD,
    Breakeven,
    breakeven,
    describe_breakeven,
    streaming_tokens_per_s,
    total_latency_exact_ms,
    total_latency_textbook_ms,
    ttft_share,
)
from inferlab.metrics.percentile import percentile, percentiles

__all__ = [
    "READING_SPEED_SOURCE",
    "READING_TOKENS_PER_S",
    "READING_WORDS_PER_MIN",
    "TOKENS_PER_WORD",
    "Breakeven",
    "breakeven",
    "describe_breakeven",
    "percentile",
    "percentiles",
    "streaming_tokens_per_s",
    "total_latency_exact_ms",
    "total_latency_textbook_ms",
    "ttft_share",
]
