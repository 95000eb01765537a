"""Per-request metrics from a request's timings, and goodput, one definition each.

Conventions (../shared/METRICS.md): TPOT of a request is
(E2E - TTFT) / (output_tokens - 1), defined for completed requests with at
least 2 output tokens (vLLM's serving benchmark convention). The array form
is the same formula over a whole run at once, kept for speed and pinned to the
scalar one by ``tests/unit/metrics/test_requests.py``; the store's SQL twin is
pinned by ``tests/unit/test_store_summary.py``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["goodput_rps", "mean_chunk_gap_ms_array", "tpot_ms", "tpot_ms_array"]


def tpot_ms(ttft_ms: float | None, e2e_ms: float | None, output_tokens: int | None) -> float | None:
    """(E2E - TTFT) / (N - 1); None without both times or with fewer than 2 tokens."""
    if ttft_ms is None or e2e_ms is None or not output_tokens or output_tokens < 2:
        return None
    return (e2e_ms - ttft_ms) / (output_tokens - 1)


def tpot_ms_array(
    ttft_ms: np.ndarray, e2e_ms: np.ndarray, output_tokens: np.ndarray, ok: np.ndarray
) -> np.ndarray:
    """:func:`tpot_ms` of every request; NaN for failures, missing times and N < 2."""
    with np.errstate(invalid="ignore", divide="ignore"):
        tpot = (e2e_ms - ttft_ms) / (output_tokens - 1)
    out: np.ndarray = np.where(ok & (output_tokens >= 2), tpot, np.nan)
    return out


def mean_chunk_gap_ms_array(
    ttft_ms: np.ndarray, e2e_ms: np.ndarray, chunk_counts: np.ndarray
) -> np.ndarray:
    """Each request's mean gap between content chunks, (E2E - TTFT) / (chunks - 1).

    The ITL one request saw (its per-chunk gaps averaged); NaN with fewer than 2 chunks.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        gap = (e2e_ms - ttft_ms) / (chunk_counts - 1)
    out: np.ndarray = np.where(chunk_counts > 1, gap, np.nan)
    return out


def goodput_rps(requests_meeting_slo: int, duration_s: float | None) -> float | None:
    """Requests per second that met every SLO set; None without a positive duration."""
    if duration_s is None or not duration_s > 0:  # also rejects NaN
        return None
    return requests_meeting_slo / duration_s
