"""A run's summary: the types, and the straightforward pure-Python reference.

The store computes the same summary in SQL (`inferlab.store`); a test proves
both agree. Conventions (../shared/METRICS.md):

- warm-up requests are excluded from everything except `warmup_requests`;
- latency statistics (TTFT, TPOT, ITL, E2E) use completed (`ok`) requests;
  ITL is per gap between consecutive content chunks; client queue uses every
  sent request, completed or failed;
- std is the population standard deviation (numpy's default, as vLLM reports);
  percentiles interpolate linearly (numpy's default, DuckDB `quantile_cont`);
- duration = first send -> last completion (send + E2E of any request that has
  an E2E); RPS = completed / duration; output TPS = output tokens of completed
  requests / duration;
- goodput = completed requests meeting every SLO that is set / duration;
  attainment = those requests / all (non-warm-up) requests, so failures count
  as misses. A request with fewer than 2 output tokens has no TPOT and cannot
  miss a TPOT SLO (vLLM treats its TPOT as 0).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from inferlab.metrics.percentile import percentile
from inferlab.metrics.requests import goodput_rps as goodput_of
from inferlab.records import RequestRecord

__all__ = [
    "PERCENTILES",
    "RunSummary",
    "Slo",
    "Stats",
    "meets_slo",
    "stats",
    "summarize",
]

PERCENTILES = (50, 90, 95, 99)


@dataclass(frozen=True)
class Slo:
    """Service-level objectives a request must meet to count as goodput (ms; None = not set)."""

    ttft_ms: float | None = None
    tpot_ms: float | None = None
    e2e_ms: float | None = None

    @property
    def is_set(self) -> bool:
        return any(v is not None for v in (self.ttft_ms, self.tpot_ms, self.e2e_ms))

    def to_json(self) -> dict[str, float | None]:
        return {"ttft_ms": self.ttft_ms, "tpot_ms": self.tpot_ms, "e2e_ms": self.e2e_ms}

    def describe(self) -> str:
        """'TTFT ≤ 500 ms and TPOT ≤ 30 ms', or 'no limits'."""
        parts = [
            f"{name} ≤ {limit:g} ms"
            for name, limit in (
                ("TTFT", self.ttft_ms),
                ("TPOT", self.tpot_ms),
                ("E2E", self.e2e_ms),
            )
            if limit is not None
        ]
        return " and ".join(parts) if parts else "no limits"


@dataclass(frozen=True)
class Stats:
    """Distribution of one metric; every field is None when there is no value."""

    count: int = 0
    mean: float | None = None
    std: float | None = None
    p50: float | None = None
    p90: float | None = None
    p95: float | None = None
    p99: float | None = None

    def to_json(self) -> dict[str, float | None]:
        return {
            "mean": self.mean,
            "std": self.std,
            "p50": self.p50,
            "p90": self.p90,
            "p95": self.p95,
            "p99": self.p99,
        }


@dataclass(frozen=True)
class RunSummary:
    """What `inferlab probe --json`, `inferlab show` and the pages report for a run."""

    run_id: str
    status: str
    requests: int  # non-warm-up requests
    completed: int
    failed: int
    error_rate: float
    errors_by_class: dict[str, int] = field(default_factory=dict)
    warmup_requests: int = 0
    output_tokens: int = 0  # of completed requests
    duration_s: float | None = None
    rps: float | None = None
    output_tps: float | None = None
    slo: Slo | None = None
    goodput_rps: float | None = None
    slo_attainment: float | None = None
    ttft_ms: Stats = Stats()
    tpot_ms: Stats = Stats()
    itl_ms: Stats = Stats()
    e2e_ms: Stats = Stats()
    client_queue_ms: Stats = Stats()

    @property
    def error_rate_by_class(self) -> dict[str, float]:
        """Share of (non-warm-up) requests that failed with each error class."""
        if not self.requests:
            return {}
        return {k: v / self.requests for k, v in self.errors_by_class.items()}

    def to_json(self) -> dict[str, object]:
        """The JSON object of `--json` (contract: see the README)."""
        return {
            "run_id": self.run_id,
            "status": self.status,
            "requests": self.requests,
            "completed": self.completed,
            "failed": self.failed,
            "error_rate": self.error_rate,
            "errors_by_class": dict(self.errors_by_class),
            "error_rate_by_class": self.error_rate_by_class,
            "warmup_requests": self.warmup_requests,
            "output_tokens": self.output_tokens,
            "duration_s": self.duration_s,
            "rps": self.rps,
            "output_tps": self.output_tps,
            "slo": self.slo.to_json() if self.slo is not None else None,
            "goodput_rps": self.goodput_rps,
            "slo_attainment": self.slo_attainment,
            "ttft_ms": self.ttft_ms.to_json(),
            "tpot_ms": self.tpot_ms.to_json(),
            "itl_ms": self.itl_ms.to_json(),
            "e2e_ms": self.e2e_ms.to_json(),
            "client_queue_ms": self.client_queue_ms.to_json(),
        }


def stats(values: Iterable[float]) -> Stats:
    """Mean, population std and p50/p90/p95/p99 of `values`."""
    xs = sorted(values)
    if not xs:
        return Stats()
    n = len(xs)
    mean = math.fsum(xs) / n
    std = math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / n)
    p50, p90, p95, p99 = (percentile(xs, p) for p in PERCENTILES)
    return Stats(n, mean, std, p50, p90, p95, p99)


def meets_slo(rec: RequestRecord, slo: Slo) -> bool:
    """Whether a completed request meets every SLO that is set."""
    if not rec.ok:
        return False
    if slo.ttft_ms is not None and (rec.ttft_ms is None or rec.ttft_ms > slo.ttft_ms):
        return False
    if slo.e2e_ms is not None and (rec.e2e_ms is None or rec.e2e_ms > slo.e2e_ms):
        return False
    tpot = rec.tpot_ms
    return not (slo.tpot_ms is not None and tpot is not None and tpot > slo.tpot_ms)


def summarize(
    records: Iterable[RequestRecord],
    slo: Slo | None = None,
    *,
    run_id: str = "",
    status: str = "completed",
) -> RunSummary:
    """The reference summary of one run's records (see the module docstring)."""
    all_recs = list(records)
    recs = [r for r in all_recs if not r.warmup]
    ok = [r for r in recs if r.ok]
    failed = [r for r in recs if not r.ok]
    errors = Counter(r.error_class or "unknown" for r in failed)
    output_tokens = sum(r.output_tokens or 0 for r in ok)

    ends = [r.sent_ms + r.e2e_ms for r in recs if r.e2e_ms is not None]
    duration_s: float | None = None
    if recs and ends:
        span_ms = max(ends) - min(r.sent_ms for r in recs)
        duration_s = span_ms / 1000.0 if span_ms > 0 else None

    def per_s(n: float) -> float | None:
        return n / duration_s if duration_s else None

    goodput_rps = attainment = None
    if slo is not None and slo.is_set:
        good = sum(1 for r in recs if meets_slo(r, slo))
        goodput_rps = goodput_of(good, duration_s)
        attainment = good / len(recs) if recs else None

    return RunSummary(
        run_id=run_id,
        status=status,
        requests=len(recs),
        completed=len(ok),
        failed=len(failed),
        error_rate=len(failed) / len(recs) if recs else 0.0,
        errors_by_class=dict(sorted(errors.items())),
        warmup_requests=len(all_recs) - len(recs),
        output_tokens=output_tokens,
        duration_s=duration_s,
        rps=per_s(len(ok)),
        output_tps=per_s(output_tokens),
        slo=slo if slo is not None and slo.is_set else None,
        goodput_rps=goodput_rps,
        slo_attainment=attainment,
        ttft_ms=stats(r.ttft_ms for r in ok if r.ttft_ms is not None),
        tpot_ms=stats(t for r in ok if (t := r.tpot_ms) is not None),
        itl_ms=stats(g for r in ok for g in r.itls_ms),
        e2e_ms=stats(r.e2e_ms for r in ok if r.e2e_ms is not None),
        client_queue_ms=stats(r.client_queue_ms for r in recs),
    )
