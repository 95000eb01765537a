"""Latency formulas of the teaching calculator.

Conventions (../shared/METRICS.md): times in milliseconds unless a name says
otherwise. The textbook total is TTFT + TPOT x N; the exact total is
TTFT + TPOT x (N - 1), because the first of the N tokens arrives at TTFT and
only the remaining N - 1 each take one TPOT.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "READING_SPEED_SOURCE",
    "READING_TOKENS_PER_S",
    "READING_WORDS_PER_MIN",
    "TOKENS_PER_WORD",
    "Breakeven",
    "breakeven",
    "describe_breakeven",
    "streaming_tokens_per_s",
    "total_latency_exact_ms",
    "total_latency_textbook_ms",
    "ttft_share",
]

# Silent reading of English non-fiction, meta-analysis of 190 studies.
READING_WORDS_PER_MIN = 238.0
READING_SPEED_SOURCE = (
    "Brysbaert (2019), 'How many words do we read per minute? A review and "
    "meta-analysis of reading rate', Journal of Memory and Language 109: "
    "238 words/min for silent reading of English non-fiction"
)
# OpenAI's rule of thumb for English: 1 token ~ 0.75 words.
TOKENS_PER_WORD = 1 / 0.75
READING_TOKENS_PER_S = READING_WORDS_PER_MIN * TOKENS_PER_WORD / 60.0


def total_latency_textbook_ms(ttft_ms: float, tpot_ms: float, output_tokens: float) -> float:
    """Teaching form: TTFT + TPOT x N."""
    return ttft_ms + tpot_ms * output_tokens


def total_latency_exact_ms(ttft_ms: float, tpot_ms: float, output_tokens: float) -> float:
    """Exact form: TTFT + TPOT x (N - 1); zero tokens means nothing after TTFT."""
    return ttft_ms + tpot_ms * max(output_tokens - 1, 0)


def streaming_tokens_per_s(tpot_ms: float) -> float:
    """Decode speed a reader sees once tokens flow: 1000 / TPOT. Infinite for TPOT 0."""
    return math.inf if tpot_ms <= 0 else 1000.0 / tpot_ms


def ttft_share(ttft_ms: float, tpot_ms: float, output_tokens: float) -> float:
    """Share (0..1) of the exact total wait spent before the first token."""
    total = total_latency_exact_ms(ttft_ms, tpot_ms, output_tokens)
    return 1.0 if total <= 0 else ttft_ms / total


@dataclass(frozen=True)
class Breakeven:
    """Where the textbook totals of configurations A and B cross.

    `tokens` is the output length N at which A and B take equally long, or
    None when the lines are parallel or never cross at a positive length.
    `faster_below` names the configuration that wins for shorter answers
    (the other wins for longer ones); `always_faster` is set when one
    configuration wins, or ties, at every positive length.
    """

    tokens: float | None
    faster_below: str | None
    always_faster: str | None


def breakeven(ttft_a_ms: float, tpot_a_ms: float, ttft_b_ms: float, tpot_b_ms: float) -> Breakeven:
    """Solve TTFT_A + TPOT_A x N = TTFT_B + TPOT_B x N for N (textbook form).

    The exact form crosses one token later (N + 1), since it counts N - 1 TPOTs.
    """
    d_ttft = ttft_a_ms - ttft_b_ms
    d_tpot = tpot_b_ms - tpot_a_ms
    if d_tpot == 0:
        if d_ttft == 0:
            return Breakeven(None, None, None)
        return Breakeven(None, None, "B" if d_ttft > 0 else "A")
    n = d_ttft / d_tpot
    faster_below = "B" if d_ttft > 0 else "A"
    if not math.isfinite(n):
        # The lines converge so slowly that they never cross at a representable length.
        return Breakeven(None, None, faster_below)
    if n <= 0:
        # Crossing at or before zero tokens: the one with the lower TPOT wins throughout.
        return Breakeven(None, None, "A" if tpot_a_ms < tpot_b_ms else "B")
    return Breakeven(n, faster_below, None)


def _fmt_tokens(n: float) -> str:
    return f"{n:,.0f}" if abs(n - round(n)) < 1e-9 else f"{n:,.1f}"


def describe_breakeven(be: Breakeven) -> str:
    """One sentence a stakeholder can read, e.g. 'B is faster for answers shorter than 20 tokens'."""
    if be.tokens is not None and be.faster_below is not None:
        other = "A" if be.faster_below == "B" else "B"
        n = _fmt_tokens(be.tokens)
        return (
            f"{be.faster_below} is faster for answers shorter than {n} tokens; "
            f"{other} is faster for longer answers; at {n} tokens they take equally long."
        )
    if be.always_faster is not None:
        return f"{be.always_faster} is faster (or equal) at every answer length: the lines never cross."
    return "A and B are identical: they take equally long at every answer length."
