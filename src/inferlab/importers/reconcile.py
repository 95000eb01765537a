"""The tool's own numbers next to inferlab's recomputed ones, and where they disagree.

Each row pairs one inferlab statistic (from the run's per-request data) with
the tool's number that means the same thing, converted to inferlab's unit,
and says what convention differs when they do not match (../shared/METRICS.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

from inferlab.importers.base import ToolMetric
from inferlab.metrics.summary import RunSummary, Stats

__all__ = ["DEFAULT_TOLERANCE", "Pairing", "pairings", "tool_comparison", "tool_metrics_frame"]

DEFAULT_TOLERANCE = 0.01  # relative difference under which two numbers agree

_STATS = ("mean", "p50", "p90", "p95", "p99")
_LATENCY_LABEL = {"ttft_ms": "TTFT", "tpot_ms": "TPOT", "itl_ms": "ITL", "e2e_ms": "E2E"}


@dataclass(frozen=True)
class Pairing:
    """inferlab `key`.`stat` is the tool's `name`/`stat`/`scope` times `factor`."""

    key: str  # ttft_ms | tpot_ms | itl_ms | e2e_ms | rps | output_tps | duration_s | completed | failed
    stat: str  # mean / p50 / ... for latencies, "value" for scalars
    name: str
    tool_stat: str
    scope: str = ""
    factor: float = 1.0
    note: str = ""


def _lat(key: str, name: str, stat_names: dict[str, str], scope: str = "", factor: float = 1.0,
         note: str = "") -> list[Pairing]:  # fmt: skip
    return [
        Pairing(key, s, name, stat_names[s], scope, factor, note) for s in _STATS if s in stat_names
    ]


_AIPERF_STATS = {"mean": "avg", "p50": "p50", "p90": "p90", "p95": "p95", "p99": "p99"}
_GUIDELLM_STATS = {"mean": "mean", "p50": "median", "p90": "p90", "p95": "p95", "p99": "p99"}
_GUIDELLM_PCT = "guidellm's percentiles are sample values (no interpolation between them)"


def _aiperf() -> list[Pairing]:
    return [
        *_lat("ttft_ms", "time_to_first_token", _AIPERF_STATS),
        *_lat(
            "tpot_ms",
            "inter_token_latency",
            _AIPERF_STATS,
            note="AIPerf's inter_token_latency is (latency − TTFT) / (OSL − 1): inferlab's TPOT",
        ),
        *_lat(
            "itl_ms",
            "inter_chunk_latency",
            _AIPERF_STATS,
            note="AIPerf's inter_chunk_latency is the per-chunk gap: inferlab's ITL",
        ),
        *_lat("e2e_ms", "request_latency", _AIPERF_STATS),
        Pairing("rps", "value", "request_throughput", "avg"),
        Pairing("output_tps", "value", "output_token_throughput", "avg"),
        Pairing(
            "duration_s",
            "value",
            "benchmark_duration",
            "avg",
            note="AIPerf's duration runs from the first credit to the last response",
        ),
        Pairing("completed", "value", "request_count", "avg"),
        Pairing("failed", "value", "error_request_count", "avg"),
    ]


def _vllm(present: set[str]) -> list[Pairing]:
    out: list[Pairing] = []
    for key, m in (("ttft_ms", "ttft"), ("tpot_ms", "tpot"), ("itl_ms", "itl"), ("e2e_ms", "e2el")):
        note = ""
        if m == "e2el":
            note = "vLLM's E2E ends when the stream closes; inferlab's at the last content chunk"
        for s in _STATS:
            name = f"mean_{m}_ms" if s == "mean" else f"{s}_{m}_ms"
            if s == "p50" and name not in present:
                name = f"median_{m}_ms"
            out.append(Pairing(key, s, name, "value", note=note))
    dur_note = "vLLM's duration starts before the first request is dispatched"
    out += [
        Pairing("rps", "value", "request_throughput", "value", note=dur_note),
        Pairing("output_tps", "value", "output_throughput", "value", note=dur_note),
        Pairing("duration_s", "value", "duration", "value", note=dur_note),
        Pairing("completed", "value", "completed", "value"),
        Pairing("failed", "value", "failed", "value"),
    ]
    return out


def _guidellm() -> list[Pairing]:
    sc = "successful"
    return [
        *_lat("ttft_ms", "time_to_first_token_ms", _GUIDELLM_STATS, sc, note=_GUIDELLM_PCT),
        *_lat(
            "tpot_ms",
            "inter_token_latency_ms",
            _GUIDELLM_STATS,
            sc,
            note="guidellm's inter_token_latency_ms is inferlab's TPOT, but weighted per token "
            "(its mean and percentiles run over tokens, inferlab's over requests)",
        ),
        *_lat(
            "e2e_ms",
            "request_latency",
            _GUIDELLM_STATS,
            sc,
            1000.0,
            note="guidellm's request_latency (s) ends at request_end, after the last token",
        ),
        Pairing("rps", "value", "requests_per_second", "mean", sc),
        Pairing("output_tps", "value", "output_tokens_per_second", "mean", sc),
        Pairing("duration_s", "value", "duration", "value"),
        Pairing("completed", "value", "request_totals", "count", "successful"),
        Pairing("failed", "value", "request_totals", "count", "errored"),
    ]


def pairings(source_tool: str, metrics: Sequence[ToolMetric]) -> list[Pairing]:
    """The pairs that make sense for `source_tool` (empty for inferlab's own runs)."""
    if source_tool == "aiperf":
        return _aiperf()
    if source_tool == "vllm":
        return _vllm({m.name for m in metrics})
    if source_tool == "guidellm":
        return _guidellm()
    return []


def _inferlab_value(summary: RunSummary, key: str, stat: str) -> float | None:
    if key in _LATENCY_LABEL:
        st: Stats = getattr(summary, key)
        return getattr(st, stat) if st.count else None
    if summary.requests == 0:
        return None
    if key in ("completed", "failed"):
        return float(getattr(summary, key))
    v = getattr(summary, key)
    return float(v) if v is not None else None


def _label(key: str, stat: str) -> str:
    if key in _LATENCY_LABEL:
        return f"{_LATENCY_LABEL[key]} {stat} (ms)"
    return {
        "rps": "requests/s",
        "output_tps": "output tokens/s",
        "duration_s": "duration (s)",
        "completed": "completed requests",
        "failed": "failed requests",
    }[key]


def tool_comparison(
    source_tool: str,
    metrics: Iterable[ToolMetric],
    summary: RunSummary,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
) -> pd.DataFrame:
    """One row per comparable number: inferlab's, the tool's (original name), and whether they agree.

    Columns: metric, inferlab, tool_metric, tool_value, rel_diff, agrees, note.
    `inferlab` is None when the run has no per-request data for it (only the
    tool's number exists); `agrees` is None when either side is missing.
    """
    ms = list(metrics)
    index = {(m.name, m.stat, m.scope): m.value for m in ms}
    rows = []
    for p in pairings(source_tool, ms):
        raw = index.get((p.name, p.tool_stat, p.scope))
        tool_v = raw * p.factor if raw is not None else None
        ours = _inferlab_value(summary, p.key, p.stat)
        if tool_v is None and ours is None:
            continue
        rel = agrees = None
        if tool_v is not None and ours is not None:
            denom = max(abs(tool_v), abs(ours))
            rel = abs(ours - tool_v) / denom if denom else 0.0
            agrees = rel <= tolerance
        tool_name = p.name + (f" [{p.scope}]" if p.scope else "")
        tool_name += "" if p.tool_stat == "value" else f" {p.tool_stat}"
        rows.append(
            {
                "metric": _label(p.key, p.stat),
                "inferlab": ours,
                "tool_metric": tool_name,
                "tool_value": tool_v,
                "rel_diff": rel,
                "agrees": agrees,
                "note": p.note if agrees is not True else "",
            }
        )
    return pd.DataFrame(
        rows,
        columns=["metric", "inferlab", "tool_metric", "tool_value", "rel_diff", "agrees", "note"],
    )


def tool_metrics_frame(metrics: Iterable[ToolMetric]) -> pd.DataFrame:
    """All of the tool's numbers as it named them: name, scope, stat, value, unit."""
    return pd.DataFrame(
        [(m.name, m.scope, m.stat, m.value, m.unit) for m in metrics],
        columns=["name", "scope", "stat", "value", "unit"],
    )
