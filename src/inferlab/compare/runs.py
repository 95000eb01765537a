"""Comparing benchmark runs: deltas against a baseline, confidence intervals, SLOs,
sweeps, metric conventions, Little's law and the regression gate.

Pure numpy/pandas; the Runs page and `inferlab compare` only display what these
return. Conventions follow ../shared/METRICS.md: times in ms from the request's
send, percentiles by linear interpolation (numpy's default, DuckDB's
quantile_cont), warm-up requests excluded, latency percentiles over completed
requests, ITL pooled over all chunk gaps of completed requests.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd

from inferlab.metrics.percentile import percentile, percentiles

# One SLO type everywhere: the store's summary and the comparison use the same limits.
from inferlab.metrics.requests import goodput_rps, mean_chunk_gap_ms_array, tpot_ms_array
from inferlab.metrics.summary import Slo

__all__ = [
    "BOOTSTRAP_RESAMPLES",
    "CONVENTIONS",
    "KNEE_MAX_GAIN",
    "LATENCY_METRICS",
    "MAX_COMPARE",
    "METRICS",
    "NEGLIGIBLE_PCT",
    "PERCENTILES",
    "Condition",
    "Convention",
    "Delta",
    "GateResult",
    "LittleCheck",
    "MetricSpec",
    "NameEntry",
    "RunRequests",
    "Slo",
    "SloResult",
    "SweepAnalysis",
    "SweepPoint",
    "bootstrap_delta_ci",
    "bootstrap_rate_delta_ci",
    "compare_table",
    "confirmed_knee",
    "delta",
    "evaluate_conditions",
    "knee_index",
    "little_check",
    "load_phrase",
    "load_words",
    "negligible",
    "parse_conditions",
    "request_values",
    "row_name_entry",
    "run_metrics",
    "run_names",
    "slo_result",
    "sorted_metric_values",
    "sweep_analysis",
    "unique_names",
]

MAX_COMPARE = 12
PERCENTILES: tuple[int, ...] = (50, 90, 95, 99)
LATENCY_METRICS: tuple[str, ...] = ("ttft", "tpot", "itl", "e2e")
BOOTSTRAP_RESAMPLES = 2000
# Relative tolerance before Little's law is called violated.
LITTLE_TOLERANCE = 0.10

Direction = Literal["lower", "higher"]


@dataclass(frozen=True)
class MetricSpec:
    """One row of the comparison table."""

    key: str  # e.g. "ttft_p95", "rps"
    label: str
    unit: str  # "ms", "req/s", "tokens/s", "%"
    better: Direction
    base: str  # latency metric ("ttft") or the key itself
    pct: int | None = None


def _metric_specs() -> tuple[MetricSpec, ...]:
    names = {"ttft": "TTFT", "tpot": "TPOT", "itl": "ITL", "e2e": "E2E"}
    specs = [
        MetricSpec(f"{m}_p{p}", f"{names[m]} p{p}", "ms", "lower", m, p)
        for m in LATENCY_METRICS
        for p in PERCENTILES
    ]
    specs += [
        MetricSpec("rps", "Requests/s", "req/s", "higher", "rps"),
        MetricSpec("output_tps", "Output tokens/s", "tokens/s", "higher", "output_tps"),
        MetricSpec("error_rate", "Error rate", "%", "lower", "error_rate"),
    ]
    return tuple(specs)


METRICS: tuple[MetricSpec, ...] = _metric_specs()
METRIC_BY_KEY: dict[str, MetricSpec] = {m.key: m for m in METRICS}


# --------------------------------------------------------------------------- data


def _float_array(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _flatten_lists(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(flat values, per-row lengths) of a column of lists (arrays, lists or None)."""
    empty = np.empty(0)
    rows = [
        empty if v is None or (isinstance(v, float) and math.isnan(v)) else v
        for v in column.to_numpy(dtype=object)
    ]
    lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    if not rows or not lengths.any():
        return empty, lengths
    flat: np.ndarray = np.concatenate([np.asarray(r, dtype=float) for r in rows])
    return flat, lengths


@dataclass(frozen=True, eq=False)
class RunRequests:
    """One run's per-request data as arrays (warm-up already removed).

    Built from a requests frame whose columns are named like
    :class:`inferlab.records.RequestRecord` fields (`sent_ms`, `ok`, `ttft_ms`,
    `e2e_ms`, `output_tokens`, `chunk_offsets_ms`, ...). `chunk_offsets` holds
    every request's chunk arrival offsets back to back; `chunk_counts` how many
    belong to each request.
    """

    run_id: str
    label: str
    index: np.ndarray
    scheduled_ms: np.ndarray
    sent_ms: np.ndarray
    ok: np.ndarray
    ttft_ms: np.ndarray
    e2e_ms: np.ndarray
    output_tokens: np.ndarray
    chunk_offsets: np.ndarray
    chunk_counts: np.ndarray
    error_class: np.ndarray
    load_mode: str = "concurrency"
    load_value: float = math.nan
    meta: Mapping[str, Any] = field(default_factory=dict)
    # Prompt tokens per request (NaN where unknown; empty for runs built without them).
    input_tokens: np.ndarray = field(default_factory=lambda: np.empty(0))

    @classmethod
    def from_frame(
        cls,
        run_id: str,
        frame: pd.DataFrame,
        *,
        label: str = "",
        load_mode: str = "concurrency",
        load_value: float = math.nan,
        meta: Mapping[str, Any] | None = None,
    ) -> RunRequests:
        if "warmup" in frame:
            frame = frame[~frame["warmup"].fillna(False).astype(bool)]
        n = len(frame)
        if "chunk_offsets_ms" in frame and n:
            flat, counts = _flatten_lists(frame["chunk_offsets_ms"])
        else:
            flat, counts = np.empty(0), np.zeros(n, dtype=np.int64)
        sent = _float_array(frame, "sent_ms")
        scheduled = _float_array(frame, "scheduled_ms")
        scheduled = np.where(np.isnan(scheduled), sent, scheduled)
        index_col = next((c for c in ("index", "idx") if c in frame), None)
        index = (frame[index_col].to_numpy(dtype=np.int64) if index_col else np.arange(n)).astype(
            np.int64
        )
        errors = (
            frame["error_class"].astype(object).where(frame["error_class"].notna(), "").to_numpy()
            if "error_class" in frame
            else np.array([""] * n, dtype=object)
        )
        return cls(
            run_id=run_id,
            label=label or run_id,
            index=index,
            scheduled_ms=scheduled,
            sent_ms=sent,
            ok=frame["ok"].fillna(False).to_numpy(dtype=bool)
            if "ok" in frame
            else np.ones(n, dtype=bool),
            ttft_ms=_float_array(frame, "ttft_ms"),
            e2e_ms=_float_array(frame, "e2e_ms"),
            output_tokens=_float_array(frame, "output_tokens"),
            chunk_offsets=flat,
            chunk_counts=counts,
            error_class=errors,
            load_mode=load_mode,
            load_value=float(load_value),
            meta=dict(meta or {}),
            input_tokens=_float_array(frame, "input_tokens"),
        )

    @property
    def n(self) -> int:
        return int(self.sent_ms.size)

    def tpot_ms(self) -> np.ndarray:
        """(E2E - TTFT) / (N - 1) per request; NaN for failures and N < 2."""
        return tpot_ms_array(self.ttft_ms, self.e2e_ms, self.output_tokens, self.ok)

    @cached_property
    def _itl(self) -> tuple[np.ndarray, np.ndarray]:
        if self.chunk_offsets.size < 2:
            return np.empty(0), np.empty(0, dtype=np.int64)
        gaps = np.diff(self.chunk_offsets)
        # A gap is real only when both chunks belong to the same request.
        owner = np.repeat(np.arange(self.n), self.chunk_counts)
        keep = (owner[1:] == owner[:-1]) & self.ok[owner[1:]]
        return gaps[keep], owner[1:][keep]

    def itl_ms(self) -> np.ndarray:
        """Gaps between consecutive content chunks of completed requests, pooled."""
        return self._itl[0]

    def itl_owner(self) -> np.ndarray:
        """Request position of every ITL gap returned by :meth:`itl_ms`."""
        return self._itl[1]

    def chunks_of(self, position: int) -> np.ndarray:
        """Chunk arrival offsets (ms after send) of the request at `position`."""
        start = int(self.chunk_counts[:position].sum())
        return self.chunk_offsets[start : start + int(self.chunk_counts[position])]

    def end_ms(self) -> np.ndarray:
        """When each request finished, ms from run start (NaN when unknown)."""
        end = self.e2e_ms.copy()
        last_chunk = np.full(self.n, np.nan)
        has = self.chunk_counts > 0
        if has.any():
            ends = np.cumsum(self.chunk_counts)[has] - 1
            last_chunk[has] = self.chunk_offsets[ends]
        end = np.where(np.isnan(end), last_chunk, end)
        out: np.ndarray = self.sent_ms + end
        return out

    def duration_s(self) -> float:
        """First send -> last completion (send + E2E of any request that has an E2E).

        Same as :func:`inferlab.metrics.summary.summarize`; NaN when there is no span.
        """
        ends = self.sent_ms + self.e2e_ms
        if self.n == 0 or np.isnan(ends).all():
            return math.nan
        span_ms = float(np.nanmax(ends)) - float(np.nanmin(self.sent_ms))
        return span_ms / 1000.0 if span_ms > 0 else math.nan


# --------------------------------------------------------------------------- conventions


@dataclass(frozen=True)
class Convention:
    """How one tool defines the two per-token latencies, in words and as arrays."""

    key: str
    name: str
    tpot_label: str
    itl_label: str
    tpot_words: str
    itl_words: str
    note: str

    def tpot_ms(self, run: RunRequests) -> np.ndarray:
        if self.key == "guidellm":
            with np.errstate(invalid="ignore", divide="ignore"):
                v = run.e2e_ms / run.output_tokens
            return np.where(run.ok & (run.output_tokens >= 1), v, np.nan)
        if self.key == "aiperf":
            return np.full(run.n, np.nan)
        return run.tpot_ms()

    def itl_ms(self, run: RunRequests) -> np.ndarray:
        if self.key in ("guidellm", "aiperf"):
            return run.tpot_ms()
        return run.itl_ms()

    def itl_per_request(self) -> bool:
        return self.key in ("guidellm", "aiperf")

    def request_itl_ms(self, run: RunRequests) -> np.ndarray:
        """The ITL each request saw: the convention's per-request ITL, else its mean chunk gap."""
        if self.itl_per_request():
            return self.itl_ms(run)
        return mean_chunk_gap_ms_array(run.ttft_ms, run.e2e_ms, run.chunk_counts)


CONVENTIONS: dict[str, Convention] = {
    c.key: c
    for c in (
        Convention(
            "inferlab",
            "inferlab",
            "TPOT",
            "ITL",
            "TPOT = (E2E − TTFT) / (output tokens − 1), one value per request with at least "
            "2 output tokens.",
            "ITL = the gap between two consecutive content chunks; every gap of every completed "
            "request counts once (a chunk carrying k tokens is one gap).",
            "inferlab's own definitions (the glossary on the Home page).",
        ),
        Convention(
            "vllm",
            "vLLM bench serve",
            "TPOT",
            "ITL",
            "TPOT = (E2E − TTFT) / (output tokens − 1) per request: the same formula as inferlab.",
            "ITL = per-chunk gaps pooled over all chunks: the same as inferlab.",
            "The numbers equal inferlab's. vLLM's client counts a role-only first chunk as the "
            "first token, which inferlab skips, so against servers that send one vLLM reports a "
            "lower TTFT (and a higher TPOT) than is recomputed here.",
        ),
        Convention(
            "guidellm",
            "guidellm",
            "TPOT (guidellm)",
            "ITL (guidellm)",
            "guidellm's TPOT = (last token − request start) / output tokens = E2E / N: it "
            "includes the time to the first token, so it is larger than inferlab's TPOT.",
            "guidellm's ITL = (last token − first token) / (N − 1) per request: what inferlab "
            "and vLLM call TPOT.",
            "guidellm averages token-weighted and trims warm-up/cool-down; percentiles here are "
            "per request over inferlab's window.",
        ),
        Convention(
            "aiperf",
            "AIPerf / GenAI-Perf",
            "TPOT (not reported by AIPerf)",
            "ITL (AIPerf)",
            "AIPerf reports no TPOT; the quantity inferlab calls TPOT is AIPerf's ITL.",
            "AIPerf's ITL = (request latency − TTFT) / (output length − 1) per request: what "
            "inferlab and vLLM call TPOT.",
            "AIPerf calls the per-chunk gaps (inferlab's ITL) 'inter chunk latency'.",
        ),
    )
}


def _metric_values(run: RunRequests, base: str, convention: Convention) -> np.ndarray:
    if base == "ttft":
        v = run.ttft_ms[run.ok]
    elif base == "e2e":
        v = run.e2e_ms[run.ok]
    elif base == "tpot":
        v = convention.tpot_ms(run)
    elif base == "itl":
        v = convention.itl_ms(run)
    else:
        raise KeyError(base)
    out: np.ndarray = v[~np.isnan(v)]
    return out


def request_values(run: RunRequests, metric: str, convention: str) -> np.ndarray:
    """One value per request (NaN where it has none) of `metric` under `convention`."""
    conv = CONVENTIONS[convention]
    if metric == "ttft":
        return run.ttft_ms
    if metric == "e2e":
        return run.e2e_ms
    if metric == "tpot":
        return conv.tpot_ms(run)
    if metric == "itl":
        return conv.request_itl_ms(run)
    raise KeyError(metric)


# --------------------------------------------------------------------------- table


def sorted_metric_values(run: RunRequests, convention: str) -> dict[str, np.ndarray]:
    """Each latency metric's values of one run under `convention`, sorted (NaN dropped)."""
    conv = CONVENTIONS[convention]
    return {m: np.sort(_metric_values(run, m, conv)) for m in LATENCY_METRICS}


def run_metrics(
    run: RunRequests,
    convention: str = "inferlab",
    sorted_values: Mapping[str, np.ndarray] | None = None,
) -> dict[str, float]:
    """Every table metric of one run: percentiles in ms, rps, output_tps, error_rate in %."""
    if sorted_values is None:
        sorted_values = sorted_metric_values(run, convention)
    out: dict[str, float] = {}
    for m in LATENCY_METRICS:
        ps = percentiles(sorted_values[m], PERCENTILES)
        out.update({f"{m}_p{p}": v for p, v in zip(PERCENTILES, ps, strict=True)})
    duration = run.duration_s()
    completed = int(run.ok.sum())
    tokens = float(np.nansum(run.output_tokens[run.ok]))
    ok_duration = duration > 0 and not math.isnan(duration)
    out["rps"] = completed / duration if ok_duration else math.nan
    out["output_tps"] = tokens / duration if ok_duration else math.nan
    out["error_rate"] = 100.0 * (run.n - completed) / run.n if run.n else math.nan
    return out


# A change smaller than this (in % of the baseline) is not coloured as better or worse,
# however certain: a 0.3% TTFT shift matters to nobody.
NEGLIGIBLE_PCT = 1.0


def negligible(pct: float) -> bool:
    """True for a relative change below NEGLIGIBLE_PCT (NaN, i.e. no relative change, is not)."""
    return not math.isnan(pct) and abs(pct) < NEGLIGIBLE_PCT


@dataclass(frozen=True)
class Delta:
    """A run's value against the baseline's, with a 95% bootstrap CI for percentiles."""

    value: float
    baseline: float
    abs: float
    pct: float  # relative change in %, NaN when the baseline is 0 or missing
    better: bool | None  # None when unchanged or not comparable
    ci_low: float | None = None
    ci_high: float | None = None

    @property
    def significant(self) -> bool | None:
        """True when the CI excludes 0; None when there is no CI."""
        if self.ci_low is None or self.ci_high is None:
            return None
        return self.ci_low > 0 or self.ci_high < 0


def delta(value: float, baseline: float, better: Direction) -> Delta:
    d = value - baseline
    pct = 100.0 * d / baseline if baseline and not math.isnan(baseline) else math.nan
    if math.isnan(d) or d == 0:
        good: bool | None = None
    else:
        good = d < 0 if better == "lower" else d > 0
    return Delta(value, baseline, d, pct, good)


def _bootstrap_percentiles(
    sorted_values: np.ndarray, pct: float, resamples: int, rng: np.random.Generator
) -> np.ndarray:
    """`resamples` bootstrap draws of the linear-interpolation `pct` percentile.

    Resampling n values with replacement and taking order statistics k and k+1 is
    equivalent to drawing the k-th and (k+1)-th order statistics of n uniforms
    (Beta(k, n-k+1), then the next one a Beta(1, n-k) step above) and mapping
    them through the sample's empirical quantile function X_(ceil(n u)). That
    costs O(resamples) instead of O(resamples x n) and gives the same distribution.
    """
    n = sorted_values.size
    if n == 1:
        return np.full(resamples, sorted_values[0])
    h = (n - 1) * pct / 100.0
    k = math.floor(h)  # 0-based lower order statistic
    frac = h - k
    u_lo = rng.beta(k + 1, n - k, size=resamples)
    lo = sorted_values[np.clip(np.ceil(n * u_lo).astype(np.int64) - 1, 0, n - 1)]
    if frac == 0 or k + 1 >= n:
        return lo
    u_hi = u_lo + (1 - u_lo) * rng.beta(1, n - k - 1, size=resamples)
    hi = sorted_values[np.clip(np.ceil(n * u_hi).astype(np.int64) - 1, 0, n - 1)]
    out: np.ndarray = lo + frac * (hi - lo)
    return out


def bootstrap_delta_ci(
    baseline: np.ndarray,
    candidate: np.ndarray,
    pct: float,
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
    level: float = 0.95,
    presorted: bool = False,
) -> tuple[float, float]:
    """95% percentile-bootstrap CI of percentile(candidate) - percentile(baseline).

    The two runs are resampled independently (they are independent samples);
    seeded, so the same data always gives the same interval.
    """
    if baseline.size == 0 or candidate.size == 0:
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    b = baseline if presorted else np.sort(baseline)
    c = candidate if presorted else np.sort(candidate)
    diffs = _bootstrap_percentiles(c, pct, resamples, rng) - _bootstrap_percentiles(
        b, pct, resamples, rng
    )
    alpha = (1 - level) / 2
    diffs.sort()
    lo, hi = percentiles(diffs, (100 * alpha, 100 * (1 - alpha)))
    return lo, hi


def _rate_draws(run: RunRequests, key: str, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Bootstrap draws of a run's rps, output_tps or error_rate, the duration held fixed.

    Resampling the n requests with replacement makes the completed count
    Binomial(n, share completed), drawn exactly; the resampled token total is
    drawn from its normal approximation (mean n x mean, variance n x variance of
    each request's output tokens, 0 for failures).
    """
    n = run.n
    if n == 0:
        return np.full(resamples, np.nan)
    if key == "output_tps":
        tokens = np.where(run.ok, np.nan_to_num(run.output_tokens), 0.0)
        total = rng.normal(n * tokens.mean(), math.sqrt(n * tokens.var()), resamples)
        out: np.ndarray = total / run.duration_s()
        return out
    completed = rng.binomial(n, float(run.ok.mean()), resamples).astype(float)
    out = completed / run.duration_s() if key == "rps" else 100.0 * (n - completed) / n
    return out


def bootstrap_rate_delta_ci(
    baseline: RunRequests,
    candidate: RunRequests,
    key: str,
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float]:
    """95% bootstrap CI of the change in rps, output_tps or error_rate (see _rate_draws)."""
    rng = np.random.default_rng(seed)
    diffs = _rate_draws(candidate, key, resamples, rng) - _rate_draws(baseline, key, resamples, rng)
    if np.isnan(diffs).any():
        return (math.nan, math.nan)
    diffs.sort()
    alpha = (1 - level) / 2
    lo, hi = percentiles(diffs, (100 * alpha, 100 * (1 - alpha)))
    return lo, hi


def compare_table(
    runs: Sequence[RunRequests],
    baseline_id: str,
    *,
    convention: str = "inferlab",
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
    sorted_by_run: Mapping[str, Mapping[str, np.ndarray]] | None = None,
) -> pd.DataFrame:
    """Long table: one row per (metric, run) with value, delta vs baseline and CI.

    Columns: metric, label, unit, better, run_id, run_label (the run's unique name,
    :func:`run_names`), value, baseline, abs_delta, pct_delta, is_better, ci_low,
    ci_high, significant.

    CIs resample each metric's own values: requests for TTFT/TPOT/E2E, chunk
    gaps for ITL (gaps of one request are treated as independent, so ITL
    intervals can be narrower than a request-level resample would give), and
    requests with the duration fixed for rps/output_tps/error_rate.
    `sorted_by_run` (from :func:`sorted_metric_values`) saves sorting again when
    the caller has them.
    """
    if len(runs) > MAX_COMPARE:
        raise ValueError(f"compare at most {MAX_COMPARE} runs at once, got {len(runs)}")
    by_id = {r.run_id: r for r in runs}
    if baseline_id not in by_id:
        raise KeyError(f"baseline {baseline_id!r} is not among the compared runs")
    base = by_id[baseline_id]
    if sorted_by_run is None:
        sorted_by_run = {r.run_id: sorted_metric_values(r, convention) for r in runs}
    metrics = {r.run_id: run_metrics(r, convention, sorted_by_run[r.run_id]) for r in runs}
    names = run_names(runs)
    sorted_values = {(rid, m): v for rid, d in sorted_by_run.items() for m, v in d.items()}
    rows: list[dict[str, Any]] = []
    for spec in METRICS:
        b_val = metrics[baseline_id][spec.key]
        for i, run in enumerate(runs):
            val = metrics[run.run_id][spec.key]
            d = delta(val, b_val, spec.better)
            ci: tuple[float | None, float | None] = (None, None)
            if spec.pct is not None and run.run_id != baseline_id:
                lo, hi = bootstrap_delta_ci(
                    sorted_values[(base.run_id, spec.base)],
                    sorted_values[(run.run_id, spec.base)],
                    spec.pct,
                    resamples=resamples,
                    seed=seed + 1000 * i + spec.pct,
                    presorted=True,
                )
                if not math.isnan(lo):
                    ci = (lo, hi)
            elif run.run_id != baseline_id:
                lo, hi = bootstrap_rate_delta_ci(
                    base, run, spec.key, resamples=resamples, seed=seed + 1000 * i + 7
                )
                if not math.isnan(lo):
                    ci = (lo, hi)
            d = Delta(d.value, d.baseline, d.abs, d.pct, d.better, ci[0], ci[1])
            rows.append(
                {
                    "metric": spec.key,
                    "label": spec.label,
                    "unit": spec.unit,
                    "better": spec.better,
                    "run_id": run.run_id,
                    "run_label": names[run.run_id],
                    "value": val,
                    "baseline": b_val,
                    "abs_delta": d.abs,
                    "pct_delta": d.pct,
                    "is_better": d.better,
                    "ci_low": d.ci_low,
                    "ci_high": d.ci_high,
                    "significant": d.significant,
                }
            )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- SLOs


@dataclass(frozen=True)
class SloResult:
    run_id: str
    requests: int
    met: int
    attainment: float  # share of all (non-warm-up) requests that completed within every limit
    goodput_rps: float  # requests meeting every limit / run duration
    misses: pd.DataFrame  # one row per request that missed: index, reason, ttft_ms, tpot_ms, e2e_ms


def slo_result(run: RunRequests, slo: Slo) -> SloResult:
    """Attainment and goodput of one run under `slo`; failed requests count as misses.

    A request with fewer than 2 output tokens has no TPOT and passes a TPOT limit
    (as in vLLM's goodput).
    """
    tpot = run.tpot_ms()
    reasons = np.full(run.n, "", dtype=object)
    miss = ~run.ok
    reasons[~run.ok] = "failed"
    for name, values, limit in (
        ("TTFT", run.ttft_ms, slo.ttft_ms),
        ("TPOT", tpot, slo.tpot_ms),
        ("E2E", run.e2e_ms, slo.e2e_ms),
    ):
        if limit is None:
            continue
        over = run.ok & ~np.isnan(values) & (values > limit)
        if name != "TPOT":
            over |= run.ok & np.isnan(values)
        for i in np.flatnonzero(over):
            reasons[i] = f"{reasons[i]}, {name}" if reasons[i] else name
        miss |= over
    met = int(run.n - miss.sum())
    duration = run.duration_s()
    goodput = goodput_rps(met, duration)
    if goodput is None:
        goodput = math.nan
    idx = np.flatnonzero(miss)
    misses = pd.DataFrame(
        {
            "request": run.index[idx],
            "missed": [
                ("failed: " + str(run.error_class[i]) if run.error_class[i] else "failed")
                if reasons[i] == "failed"
                else f"{reasons[i]} over the limit"
                for i in idx
            ],
            "sent_s": run.sent_ms[idx] / 1000.0,
            "ttft_ms": run.ttft_ms[idx],
            "tpot_ms": tpot[idx],
            "e2e_ms": run.e2e_ms[idx],
        }
    )
    return SloResult(run.run_id, run.n, met, met / run.n if run.n else math.nan, goodput, misses)


# --------------------------------------------------------------------------- sweeps


@dataclass(frozen=True)
class SweepPoint:
    run_id: str
    label: str
    load_value: float
    output_tps: float
    ttft_p50_ms: float
    ttft_p99_ms: float
    tpot_p50_ms: float
    tpot_p99_ms: float
    attainment: float | None
    meets_slo: bool | None


@dataclass(frozen=True)
class SweepAnalysis:
    points: tuple[SweepPoint, ...]  # sorted by load
    knee: int | None  # index into points: where throughput stops growing with load
    best_under_slo: int | None  # highest load whose attainment >= target
    target: float
    load_mode: str = "concurrency"  # what the load values are: concurrency, rate, ...

    def load(self, value: float) -> str:
        """A step's load in words: "concurrency 4", "2 req/s", "8 sessions"."""
        return load_phrase(self.load_mode, value)

    def knee_sentence(self) -> tuple[str, str]:
        """("Knee" or "No knee", the rest of the sentence) with the numbers behind it."""
        pts = self.points
        if self.knee is None:
            grown = [p for p in pts if not math.isnan(p.output_tps)]
            if len(grown) >= 2 and grown[-2].output_tps > 0:
                a, b = grown[-2], grown[-1]
                gain = 100 * (b.output_tps / a.output_tps - 1)
                return (
                    "No knee",
                    f"throughput still grows {gain:+.0f}% from {self.load(a.load_value)} to "
                    f"{self.load(b.load_value)} ({a.output_tps:,.0f} → {b.output_tps:,.0f} "
                    "output tokens/s): sweep higher loads to find where it saturates.",
                )
            return (
                "No knee",
                "throughput grows steadily with load over this sweep; sweep higher loads to "
                "find where it saturates.",
            )
        k = pts[self.knee]
        at_k = f"at {self.load(k.load_value)} ({k.output_tps:,.0f} output tokens/s)"
        later = [p for p in pts[self.knee + 1 :] if not math.isnan(p.output_tps)]
        if not later:
            return ("Knee", f"{at_k}, the sweep's last step: sweep higher loads to confirm it.")
        beyond = max(later, key=lambda p: p.output_tps)
        last = pts[-1]
        gain = 100 * (beyond.output_tps / k.output_tps - 1) if k.output_tps > 0 else math.nan
        grows = (
            f"throughput grows only {gain:.0f}% (at most {beyond.output_tps:,.0f} tokens/s, "
            f"at {self.load(beyond.load_value)})"
            if gain > 0
            else f"throughput does not grow (at most {beyond.output_tps:,.0f} tokens/s)"
        )
        return (
            "Knee",
            f"{at_k}: beyond it {grows} while TTFT p99 goes from {k.ttft_p99_ms:,.0f} ms to "
            f"{last.ttft_p99_ms:,.0f} ms at {self.load(last.load_value)}: more load mostly "
            "adds waiting.",
        )


# A knee only where at most this much more throughput (relative) lies beyond it.
KNEE_MAX_GAIN = 0.15


def load_phrase(load_mode: str, load_value: float) -> str:
    """A load in words: "concurrency 4", "2 req/s", "8 sessions", "trace at 2x"."""
    if load_mode == "concurrency":
        return f"concurrency {load_value:g}"
    if load_mode == "sessions":
        return f"{load_value:g} sessions"
    if load_mode == "trace":
        return f"trace at {load_value:g}x"
    return f"{load_value:g} req/s"


def confirmed_knee(output_tps: Sequence[float], candidate: int | None) -> int | None:
    """The first step from `candidate` (Kneedle's) on beyond which throughput grows by at
    most :data:`KNEE_MAX_GAIN`; None when every later step still adds more than that
    (no knee yet: the curve only bends)."""
    if candidate is None:
        return None
    tps = np.asarray(output_tps, dtype=float)
    for i in range(candidate, tps.size - 1):
        rest = tps[i + 1 :]
        if math.isnan(tps[i]) or np.isnan(rest).all():
            continue
        if float(np.nanmax(rest)) <= tps[i] * (1 + KNEE_MAX_GAIN):
            return i
    return None


def knee_index(
    x: Sequence[float], y: Sequence[float], curve: Literal["convex", "concave"] = "convex"
) -> int | None:
    """The knee of an increasing curve, or None.

    Method (Kneedle, Satopää et al. 2011): scale both axes to [0, 1], draw the
    straight line from the first to the last point, and take the point farthest
    below it for a convex curve (latency that starts to shoot up) or farthest
    above it for a concave one (throughput that stops growing). Needs at least 3
    points; None when no point lies on the bending side of the line.
    """
    xs = np.asarray(x, dtype=float)
    ys = np.asarray(y, dtype=float)
    ok = ~(np.isnan(xs) | np.isnan(ys))
    if ok.sum() < 3:
        return None
    positions = np.flatnonzero(ok)
    xs, ys = xs[ok], ys[ok]
    xr = xs.max() - xs.min()
    yr = ys.max() - ys.min()
    if xr == 0 or yr == 0:
        return None
    xn = (xs - xs.min()) / xr
    yn = (ys - ys.min()) / yr
    x0, y0, x1, y1 = xn[0], yn[0], xn[-1], yn[-1]
    chord = y0 + (y1 - y0) * (xn - x0) / (x1 - x0) if x1 != x0 else np.full(xn.size, y0)
    # Vertical distance to the chord, positive on the bending side.
    bend = chord - yn if curve == "convex" else yn - chord
    i = int(np.argmax(bend))
    return int(positions[i]) if bend[i] > 1e-9 else None


def sweep_analysis(
    runs: Sequence[RunRequests],
    slo: Slo | None = None,
    *,
    target: float = 0.95,
) -> SweepAnalysis:
    """One point per sweep step (sorted by load), the knee and the highest load meeting the SLO.

    The knee is where output tokens/s stops growing with load: Kneedle on the
    concave curve of output TPS against load (load on a log scale when every
    step is positive, as sweeps usually double the load), confirmed only where
    at most :data:`KNEE_MAX_GAIN` more throughput lies beyond it (else the next
    step that passes, or none). Past it, more load only adds queueing: latency
    rises while throughput stays flat.
    """
    pts: list[SweepPoint] = []
    for run in sorted(runs, key=lambda r: (r.load_value, r.run_id)):
        m = run_metrics(run)
        att: float | None = None
        meets: bool | None = None
        if slo is not None and slo.is_set:
            att = slo_result(run, slo).attainment
            meets = att >= target
        pts.append(
            SweepPoint(
                run.run_id,
                run.label,
                run.load_value,
                m["output_tps"],
                m["ttft_p50"],
                m["ttft_p99"],
                m["tpot_p50"],
                m["tpot_p99"],
                att,
                meets,
            )
        )
    loads = np.array([p.load_value for p in pts], dtype=float)
    xs = np.log2(loads) if loads.size and np.all(loads > 0) else loads
    tps = [p.output_tps for p in pts]
    knee = confirmed_knee(tps, knee_index(list(xs), tps, curve="concave"))
    best = None
    for i, p in enumerate(pts):
        if p.meets_slo:
            best = i
    modes = Counter(r.load_mode for r in runs)
    mode = modes.most_common(1)[0][0] if modes else "concurrency"
    return SweepAnalysis(tuple(pts), knee, best, target, mode)


# --------------------------------------------------------------------------- Little's law


@dataclass(frozen=True)
class LittleCheck:
    """Little's law L = λW for one run, and what a mismatch means."""

    run_id: str
    measured_concurrency: float  # time-integral of requests in flight / duration
    little_concurrency: float  # RPS x mean E2E of completed requests
    configured_concurrency: float | None  # the load setting, in concurrency mode
    client_queue_p99_ms: float
    agrees: bool
    short_of_target: bool
    message: str
    below_configured_in_tail: bool = False  # below the setting only while the run drained

    @property
    def verdict(self) -> str:
        """Short words for a table cell; the message says the rest."""
        if math.isnan(self.measured_concurrency):
            return "not checked"
        if not self.agrees:
            return "mismatch: see below"
        if self.short_of_target:
            return "below configured: client overload"
        if self.below_configured_in_tail:
            return "ok (below configured only in the tail)"
        return "ok"


def load_words(load_mode: str, load_value: float) -> str:
    """A run's load as a name suffix: "c=4", "2 req/s", "8 sessions", "trace 2x"."""
    if math.isnan(load_value):
        return load_mode
    if load_mode == "sessions":
        return f"{load_value:g} sessions"
    if load_mode == "trace":
        return f"trace {load_value:g}x"
    return f"c={load_value:g}" if load_mode == "concurrency" else f"{load_value:g} req/s"


NameEntry = tuple[str, str, str, float]  # run id, label, load mode, load value


def unique_names(entries: Sequence[NameEntry], *, with_ids: bool = True) -> dict[str, str]:
    """run_id -> the one name a run has everywhere: its label, made unique.

    Runs of one sweep share a label, so "sweep" x 3 becomes "sweep · c=1",
    "sweep · c=4", ...; a name still shared after that gets its run id (unless
    `with_ids` is false: the caller shows the id anyway).
    """
    names = {rid: label or rid for rid, label, _, _ in entries}
    counts = Counter(names.values())
    names = {
        rid: names[rid] + (f" · {load_words(mode, value)}" if counts[names[rid]] > 1 else "")
        for rid, _, mode, value in entries
    }
    if not with_ids:
        return names
    counts = Counter(names.values())
    return {rid: (f"{n} ({rid})" if counts[n] > 1 else n) for rid, n in names.items()}


def row_name_entry(row: Mapping[str, Any], run_id: str | None = None) -> NameEntry:
    """A stored run's row (label, load_mode, load_value) as a :data:`NameEntry`, so code
    holding rows rather than loaded runs names them the same way."""
    value = row.get("load_value")
    load = float(value) if value is not None else math.nan
    rid = run_id if run_id is not None else str(row["run_id"])
    return (rid, str(row.get("label") or ""), str(row.get("load_mode")), load)


def run_names(runs: Sequence[RunRequests]) -> dict[str, str]:
    """run_id -> a name to show in tables, legends and pickers (:func:`unique_names`)."""
    return unique_names([(r.run_id, r.label, r.load_mode, r.load_value) for r in runs])


def _in_flight_integral_ms(start: np.ndarray, end: np.ndarray, lo: float, hi: float) -> float:
    s = np.clip(start, lo, hi)
    e = np.clip(end, lo, hi)
    return float(np.sum(np.maximum(e - s, 0.0)))


def little_check(run: RunRequests, tolerance: float = LITTLE_TOLERANCE) -> LittleCheck:
    """Measured concurrency against RPS x mean E2E (and against the configured concurrency).

    Measured concurrency counts every request, failed ones included, from its send
    to its last chunk (or its recorded end), clipped to the run window (first send
    -> last completion). When all requests complete inside the window the two
    agree exactly; they disagree when requests were held in flight without
    completing (timeouts, errors). Falling short of the configured concurrency
    means the load generator did not keep the slots busy: client overload, seen
    also in a high client-queue time.
    """
    duration_ms = run.duration_s() * 1000.0
    queue = run.sent_ms - run.scheduled_ms
    q99 = percentile(np.sort(queue[~np.isnan(queue)]), 99)
    configured = run.load_value if run.load_mode == "concurrency" else None
    if not duration_ms or math.isnan(duration_ms):
        return LittleCheck(
            run.run_id,
            math.nan,
            math.nan,
            configured,
            q99,
            True,
            False,
            "No completed requests: Little's law cannot be checked.",
        )
    lo = float(np.nanmin(run.sent_ms))
    hi = lo + duration_ms
    end = run.end_ms()
    end = np.where(np.isnan(end), run.sent_ms, end)
    measured = _in_flight_integral_ms(run.sent_ms, end, lo, hi) / duration_ms
    completed = run.ok
    rps_per_ms = completed.sum() / duration_ms
    with np.errstate(invalid="ignore", over="ignore"):  # a run of µs-long requests
        little = float(rps_per_ms * np.nanmean(run.e2e_ms[completed]))
    agrees = abs(measured - little) <= tolerance * max(little, 1e-9)
    # While requests were still being sent every slot should be busy; after the last
    # send the run drains with fewer in flight (its tail), which lowers the average
    # without any client fault. Judge the client on the sending phase only.
    last_send = float(np.nanmax(run.sent_ms))
    sending_ms = last_send - lo
    steady = (
        _in_flight_integral_ms(run.sent_ms, end, lo, last_send) / sending_ms
        if sending_ms > 0
        else measured
    )
    below = configured is not None and measured < (1 - tolerance) * configured
    short = below and configured is not None and steady < (1 - tolerance) * configured
    parts = [
        f"Measured concurrency {measured:.2f} vs RPS × mean E2E = {little:.2f}"
        + (" — they agree." if agrees else " — they disagree.")
    ]
    if not agrees:
        parts.append(
            "Requests were in flight without completing (errors or timeouts held their slots), "
            "or timestamps are inconsistent; if the client queue is high the load generator "
            "itself was overloaded."
        )
    if short and configured is not None:
        parts.append(
            f"Only {steady:.2f} of the configured {configured:g} requests were in flight on "
            f"average while requests were still being sent: the client did not keep its slots "
            f"busy (client overload; client queue p99 {q99:.1f} ms)."
        )
    elif below and configured is not None:
        parts.append(
            f"The average is below the configured {configured:g} only because of the run's "
            f"tail: after the last request was sent the rest finished with fewer in flight. "
            f"While requests were being sent, {steady:.2f} were in flight — the client kept "
            "its slots busy."
        )
    return LittleCheck(
        run.run_id,
        measured,
        little,
        configured,
        q99,
        agrees,
        short,
        " ".join(parts),
        below_configured_in_tail=below and not short,
    )


# --------------------------------------------------------------------------- regression gate

_COND = re.compile(
    r"^\s*(?P<metric>[a-z0-9_]+)\s*(?P<op>>=|<=|>|<)\s*(?P<sign>[+-])?\s*"
    r"(?P<num>\d+(?:\.\d+)?|\.\d+)\s*(?P<unit>%|pp|ms|s)?\s*$"
)


@dataclass(frozen=True)
class Condition:
    """One `--fail-on` condition; it trips (fails the gate) when true.

    kind "relative": change vs baseline in % ("ttft_p95>+10%");
    "absolute_delta": change vs baseline in the metric's unit ("ttft_p95>+50ms",
    "error_rate>+0.5pp"); "level": the run's own value ("error_rate>1%", "ttft_p99>800ms").
    """

    text: str
    metric: str
    op: str
    kind: Literal["relative", "absolute_delta", "level"]
    threshold: float

    def evaluate(self, value: float, baseline: float) -> tuple[bool, float]:
        """(tripped, observed quantity the threshold is compared with)."""
        if self.kind == "level":
            observed = value
        elif self.kind == "absolute_delta":
            observed = value - baseline
        elif baseline == 0:
            observed = 0.0 if value == 0 else math.copysign(math.inf, value)
        else:
            observed = 100.0 * (value - baseline) / abs(baseline)
        if math.isnan(observed):
            return True, observed  # missing data never passes a gate silently
        tripped = {
            ">": observed > self.threshold,
            "<": observed < self.threshold,
            ">=": observed >= self.threshold,
            "<=": observed <= self.threshold,
        }[self.op]
        return tripped, observed


def parse_conditions(text: str) -> list[Condition]:
    """Parse "ttft_p95>+10%,error_rate>1%"; ValueError naming the bad part."""
    conditions = []
    parts = [p for p in text.split(",") if p.strip()]
    if not parts:
        raise ValueError("--fail-on is empty: give conditions like 'ttft_p95>+10%,error_rate>1%'")
    known = ", ".join(METRIC_BY_KEY)
    for part in parts:
        m = _COND.match(part)
        if not m:
            raise ValueError(
                f"cannot read condition {part.strip()!r}: write METRIC OP VALUE, e.g. "
                "'ttft_p95>+10%' (relative change), 'ttft_p95>+50ms' (absolute change) or "
                "'error_rate>1%' (level)"
            )
        metric, op, sign, unit = m["metric"], m["op"], m["sign"], m["unit"]
        if metric not in METRIC_BY_KEY:
            raise ValueError(f"unknown metric {metric!r} in {part.strip()!r}; known: {known}")
        spec = METRIC_BY_KEY[metric]
        num = float(m["num"]) * (-1 if sign == "-" else 1)
        kind: Literal["relative", "absolute_delta", "level"]
        if sign and unit == "%":
            kind = "relative"
        elif sign:
            kind = "absolute_delta"
        else:
            kind = "level"
        if unit == "pp" and (metric != "error_rate" or not sign):
            raise ValueError(
                f"{part.strip()!r}: 'pp' (percentage points) is for error_rate changes, "
                "e.g. 'error_rate>+0.5pp'"
            )
        if unit in ("ms", "s") and spec.unit != "ms":
            raise ValueError(f"{part.strip()!r}: {metric} is in {spec.unit}, not a time")
        if unit == "%" and kind == "level" and metric != "error_rate":
            raise ValueError(
                f"{part.strip()!r}: only error_rate is a percentage; "
                f"write {metric}{op}+{m['num']}% for a relative change"
            )
        if unit == "s":
            num *= 1000.0
        conditions.append(Condition(part.strip(), metric, op, kind, num))
    return conditions


@dataclass(frozen=True)
class GateResult:
    condition: Condition
    value: float
    baseline: float
    observed: float
    tripped: bool
    within_noise: bool = False  # the condition held, but the change's CI includes 0

    def describe(self) -> str:
        c = self.condition
        unit = METRIC_BY_KEY[c.metric].unit
        if c.kind == "relative":
            what = f"changed {self.observed:+.1f}%"
        elif c.kind == "absolute_delta":
            what = f"changed {self.observed:+.4g} {'pp' if unit == '%' else unit}"
        else:
            what = f"is {self.observed:.4g} {unit}"
        verdict = "FAIL" if self.tripped else "ok"
        noise = " — held, but within noise (CI includes 0)" if self.within_noise else ""
        return f"{verdict}: {c.metric} {what} (condition {c.text}){noise}"


def evaluate_conditions(
    conditions: Sequence[Condition],
    values: Mapping[str, float],
    baseline: Mapping[str, float],
    significant: Mapping[str, bool | None] | None = None,
) -> list[GateResult]:
    """Evaluate every condition; with `significant` (metric -> CI excludes 0), a
    change-condition (relative or absolute delta) whose change is within noise
    does not trip. Level conditions ("error_rate>1%") never depend on noise."""
    out = []
    for c in conditions:
        v, b = values[c.metric], baseline[c.metric]
        tripped, observed = c.evaluate(v, b)
        noise = False
        if tripped and significant is not None and c.kind != "level":
            noise = significant.get(c.metric) is False
            tripped = not noise
        out.append(GateResult(c, v, b, observed, tripped, noise))
    return out
