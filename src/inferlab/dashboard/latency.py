"""The Latency page's inputs: URL parameter specs and their defaults."""

from __future__ import annotations

from inferlab.dashboard.params import NumberParam

__all__ = ["LATENCY_PARAMS", "MAX_TIME_MS", "MAX_TOKENS"]

MAX_TIME_MS = 3_600_000.0  # one hour: anything longer is a typo, not a latency
MAX_TOKENS = 1_000_000

LATENCY_PARAMS: tuple[NumberParam, ...] = (
    NumberParam("ttft_ms", "TTFT of A (ms)", 200.0, 0.0, MAX_TIME_MS, typical_max=60_000),
    NumberParam("tpot_ms", "TPOT of A (ms)", 20.0, 0.0, MAX_TIME_MS, typical_max=1_000),
    NumberParam("tokens", "Output tokens N", 256, 1, MAX_TOKENS, integer=True),
    NumberParam("ttft_b_ms", "TTFT of B (ms)", 100.0, 0.0, MAX_TIME_MS, typical_max=60_000),
    NumberParam("tpot_b_ms", "TPOT of B (ms)", 30.0, 0.0, MAX_TIME_MS, typical_max=1_000),
)
