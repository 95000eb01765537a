"""Candidates from stored runs: speed and errors measured, quality from a quality run.

Pure: takes the store's `RunSummary` (and optionally a quality score and the
run's metadata) and returns a `Candidate` whose `source` says which numbers
were measured and which must still be typed in.
"""

from __future__ import annotations

from collections.abc import Mapping

from inferlab.metrics.summary import RunSummary
from inferlab.quality.tradeoff import Candidate

__all__ = ["candidate_from_summary"]

_COST_KEYS = ("cost_per_request_usd",)
_PRICE_KEYS = ("price_per_mtok_usd", "price_per_mtok")


def _first_number(meta: Mapping[str, object], keys: tuple[str, ...]) -> float | None:
    for k in keys:
        v = meta.get(k)
        if isinstance(v, int | float) and not isinstance(v, bool) and v >= 0:
            return float(v)
    return None


def candidate_from_summary(
    summary: RunSummary,
    name: str,
    quality_pct: float | None = None,
    metadata: Mapping[str, object] | None = None,
) -> Candidate:
    """A candidate from one run: TTFT and TPOT medians, mean output tokens, p95 E2E, errors.

    Cost comes from the run's metadata (`cost_per_request_usd`, or
    `price_per_mtok_usd`) when someone recorded it; a run does not measure cost.
    """
    meta = metadata or {}
    tokens = summary.output_tokens / summary.completed if summary.completed else None
    p95 = summary.e2e_ms.p95
    measured = ["TTFT/TPOT p50", "p95 E2E", "error rate"]
    missing = []
    if quality_pct is not None:
        measured.append("quality (exact match of its quality run)")
    else:
        missing.append("quality")
    cost = _first_number(meta, _COST_KEYS)
    price = _first_number(meta, _PRICE_KEYS)
    if cost is None and price is None:
        missing.append("cost")
    else:
        measured.append("cost from run metadata")
    source = f"run {summary.run_id}: measured {', '.join(measured)}"
    if missing:
        source += f"; type in {' and '.join(missing)}"
    return Candidate(
        name=name,
        quality_pct=quality_pct,
        ttft_ms=summary.ttft_ms.p50,
        tpot_ms=summary.tpot_ms.p50,
        output_tokens=round(tokens, 1) if tokens is not None else None,
        p95_latency_s=None if p95 is None else p95 / 1000.0,
        cost_per_request_usd=cost,
        price_per_mtok_usd=price if cost is None else None,
        error_rate_pct=summary.error_rate * 100.0 if summary.requests else None,
        source=source,
    )
