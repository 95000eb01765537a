"""guidellm `benchmarks.json` (guidellm 0.8 layout): each benchmark a run, several a sweep group.

Per request (`requests.successful|errored|incomplete[]`, `info.timings`, epoch s):
`request_start` -> `sent_ms`, `targeted_start` (when the scheduler meant to
send it) -> `scheduled_ms`, `first_token_iteration` -> TTFT (first output
token -> TTFOT when reasoning came first), `last_token_iteration` -> E2E
(inferlab's E2E ends at the last content chunk; guidellm's `request_latency`
ends at `request_end`). guidellm records only the first and last token times,
so per-chunk gaps (ITL per gap) are not available; TTFT, TPOT, E2E, RPS and
token rates are recomputed. guidellm's own numbers are kept under their names:
its "inter_token_latency_ms" is (last - first) / (n - 1), inferlab's TPOT, but
token-weighted; its "time_per_output_token_ms" includes TTFT.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from inferlab.importers.base import (
    ImportFileError,
    ParsedRun,
    ToolMetric,
    finite,
    http_error_class,
    read_json_document,
    requests_table,
)
from inferlab.records import RequestRecord, RunInfo

__all__ = ["looks_like_guidellm", "parse_guidellm"]

FMT = "guidellm"
_SCOPES = ("successful", "errored", "incomplete", "total")
_KEPT_SCOPES = ("successful", "total")
_STATS = ("mean", "median", "std_dev", "min", "max", "count")
_PCTS = ("p50", "p90", "p95", "p99")
_STATUS_RE = re.compile(r"\b([45]\d\d)\b")


def looks_like_guidellm(obj: Any) -> bool:
    return isinstance(obj, dict) and isinstance(obj.get("benchmarks"), list)


def _unit_of(name: str) -> str:
    if name.endswith("_ms"):
        return "ms"
    if name in ("request_latency", "request_dispatch_delay", "request_scheduled_latency"):
        return "s"
    if name == "requests_per_second":
        return "requests/s"
    if name.endswith("tokens_per_second"):
        return "tokens/s"
    if name.endswith("_count"):
        return "count"
    return ""


def _tool_metrics(bench: dict[str, Any]) -> list[ToolMetric]:
    out: list[ToolMetric] = []
    metrics = bench.get("metrics")
    if not isinstance(metrics, dict):
        return out
    totals = metrics.get("request_totals")
    if isinstance(totals, dict):
        for scope in _SCOPES:
            v = finite(totals.get(scope))
            if v is not None:
                out.append(ToolMetric("request_totals", "count", v, "requests", scope))
    for name, dist in metrics.items():
        if not isinstance(dist, dict) or not isinstance(dist.get("successful"), dict):
            continue
        unit = _unit_of(name)
        for scope in _KEPT_SCOPES:
            d = dist.get(scope)
            if not isinstance(d, dict):
                continue
            for stat in _STATS:
                v = finite(d.get(stat))
                if v is not None:
                    out.append(ToolMetric(name, stat, v, unit, scope))
            pcts = d.get("percentiles")
            if isinstance(pcts, dict):
                for p in _PCTS:
                    v = finite(pcts.get(p))
                    if v is not None:
                        out.append(ToolMetric(name, p, v, unit, scope))
    dur = finite(bench.get("duration"))
    if dur is not None:
        out.append(ToolMetric("duration", "value", dur, "s"))
    return out


def _load(strategy: dict[str, Any]) -> tuple[str, float, str]:
    """(load_mode, load_value, words) from a benchmark's config.strategy."""
    kind = str(strategy.get("type_") or strategy.get("type") or "unknown")
    if kind == "synchronous":
        return "concurrency", 1.0, "synchronous"
    if kind == "concurrent":
        streams = finite(strategy.get("streams")) or finite(strategy.get("max_concurrency"))
        n = streams or 0.0
        return "concurrency", n, f"concurrent {n:g} stream{'' if n == 1 else 's'}"
    if kind == "throughput":
        mc = finite(strategy.get("max_concurrency")) or 0.0
        return "concurrency", mc, f"throughput (max {mc:g} in flight)"
    if kind in ("constant", "poisson", "async"):
        rate = finite(strategy.get("rate")) or 0.0
        mode = "poisson" if kind == "poisson" else "constant"
        return mode, rate, f"{kind} {rate:g} req/s"
    return "unknown", 0.0, kind


def _opt_int(x: Any) -> int | None:
    v = finite(x)
    return int(v) if v is not None else None


def _request(item: Any, status: str, path: Path, where: str, anchor_s: float) -> RequestRecord:
    if not isinstance(item, dict) or not isinstance(item.get("info"), dict):
        raise ImportFileError(path, FMT, f"{where} is not a guidellm request (no info)")
    info = item["info"]
    t = info.get("timings") if isinstance(info.get("timings"), dict) else {}
    assert isinstance(t, dict)
    start = finite(t.get("request_start")) or finite(item.get("request_start_time"))
    if start is None:
        # A request that never started (cancelled in the queue) has no send time.
        start = finite(t.get("targeted_start")) or finite(t.get("scheduled_at"))
    if start is None:
        raise ImportFileError(path, FMT, f"{where} has no info.timings.request_start")
    target = finite(t.get("targeted_start"))
    sched = target if target is not None and target <= start else start
    first = finite(t.get("first_token_iteration"))
    first_out = finite(t.get("first_output_token_iteration"))
    last = finite(t.get("last_token_iteration"))
    ok = status == "successful"
    ttft = (first - start) * 1000.0 if first is not None else None
    ttfot = (
        (first_out - start) * 1000.0
        if first_out is not None and first is not None and first_out > first
        else None
    )
    e2e = (last - start) * 1000.0 if last is not None else None
    if e2e is None and ok:
        lat = finite(item.get("request_latency"))
        e2e = lat * 1000.0 if lat is not None else None
    error_class = error_message = None
    http_status = None
    if not ok:
        msg = str(info.get("error") or item.get("error") or "")
        if status == "incomplete":
            error_class = "incomplete"
            error_message = msg or "guidellm stopped the benchmark before the request finished"
        else:
            m = _STATUS_RE.search(msg)
            http_status = int(m.group(1)) if m else None
            error_class = http_error_class(http_status) if m else "client_error"
            error_message = msg[:500] or "guidellm reported an error"
    return RequestRecord(
        index=0,
        scheduled_ms=(sched - anchor_s) * 1000.0,
        sent_ms=(start - anchor_s) * 1000.0,
        ok=ok,
        ttft_ms=ttft,
        e2e_ms=e2e,
        ttfot_ms=ttfot,
        input_tokens=_opt_int(item.get("prompt_tokens")),
        output_tokens=_opt_int(item.get("output_tokens")),
        token_count_source="imported",
        http_status=http_status,
        error_class=error_class,
        error_message=error_message,
    )


def _anchor(bench: dict[str, Any]) -> float | None:
    times: list[float] = []
    reqs = bench.get("requests")
    if isinstance(reqs, dict):
        for status in ("successful", "errored", "incomplete"):
            for item in reqs.get(status) or []:
                t = (item.get("info") or {}).get("timings") if isinstance(item, dict) else None
                if isinstance(t, dict):
                    for k in ("targeted_start", "request_start"):
                        v = finite(t.get(k))
                        if v is not None:
                            times.append(v)
    if times:
        return min(times)
    return finite(bench.get("start_time"))


def parse_guidellm(path: Path, run_id_prefix: str) -> list[ParsedRun]:
    """Every benchmark of the file as a run; several benchmarks share one group id."""
    obj = read_json_document(path, FMT, truncation_hint=True)
    if not looks_like_guidellm(obj):
        raise ImportFileError(path, FMT, "no `benchmarks` list: not a guidellm benchmarks.json")
    benches = obj["benchmarks"]
    if not benches:
        raise ImportFileError(path, FMT, "the file holds no benchmarks")
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    assert isinstance(meta, dict)
    version = str(meta.get("guidellm_version") or "")
    spec = (
        ((obj.get("config") or {}).get("spec") or {}) if isinstance(obj.get("config"), dict) else {}
    )
    backend = spec.get("backend") if isinstance(spec.get("backend"), dict) else {}
    assert isinstance(backend, dict)
    model = str(backend.get("model") or "unknown")
    endpoint = str(backend.get("target") or "")
    req_format = str(backend.get("request_format") or "")
    api = (
        "completions"
        if req_format.endswith("/completions") and "chat" not in req_format
        else "chat"
    )
    data_settings: dict[str, Any] = {}
    for d in spec.get("data") or []:
        if isinstance(d, dict):
            for k_src, k_dst in (
                ("prompt_tokens", "prompt_tokens"),
                ("output_tokens", "max_tokens"),
            ):
                v = finite(d.get(k_src))
                if v is not None:
                    data_settings[k_dst] = v
            break
    group = f"{run_id_prefix}-sweep" if len(benches) > 1 else None
    runs: list[ParsedRun] = []
    for bi, bench in enumerate(benches):
        where = f"benchmarks[{bi}]"
        if not isinstance(bench, dict):
            raise ImportFileError(path, FMT, f"{where} is not an object")
        cfg = bench.get("config") if isinstance(bench.get("config"), dict) else {}
        assert isinstance(cfg, dict)
        strategy = cfg.get("strategy") if isinstance(cfg.get("strategy"), dict) else {}
        assert isinstance(strategy, dict)
        mode, value, words = _load(strategy)
        anchor = _anchor(bench)
        if anchor is None:
            raise ImportFileError(path, FMT, f"{where} has neither start_time nor request timings")
        records: list[RequestRecord] = []
        reqs = bench.get("requests")
        notes: list[str] = []
        if isinstance(reqs, dict):
            for status in ("successful", "errored", "incomplete"):
                items = reqs.get(status) or []
                if not isinstance(items, list):
                    raise ImportFileError(path, FMT, f"{where}.requests.{status} is not a list")
                for ri, item in enumerate(items):
                    records.append(
                        _request(item, status, path, f"{where}.requests.{status}[{ri}]", anchor)
                    )
        records.sort(key=lambda r: (r.sent_ms, r.scheduled_ms))
        records = [replace(r, index=i) for i, r in enumerate(records)]
        if not records:
            notes.append("guidellm saved no per-request data for this benchmark")
        else:
            notes.append(
                "guidellm records only the first and last token of each request: "
                "ITL per chunk gap cannot be recomputed"
            )
        if any(r.error_class == "incomplete" for r in records):
            notes.append("requests guidellm cut off at the end of the benchmark count as failed")
        start_s = finite(bench.get("start_time")) or anchor
        settings: dict[str, Any] = {"guidellm_strategy": words, **data_settings}
        if cfg.get("run_index") is not None:
            settings["guidellm_run_index"] = cfg.get("run_index")
        info = RunInfo(
            run_id=f"{run_id_prefix}-{bi}" if len(benches) > 1 else run_id_prefix,
            started_at=datetime.fromtimestamp(start_s, tz=UTC),
            endpoint=endpoint,
            model=model,
            api=api,
            load_mode=mode,
            load_value=value,
            label=f"guidellm {words}",
            source_tool="guidellm",
            group_id=group,
            settings=settings,
        )
        runs.append(
            ParsedRun(
                info=info,
                requests=requests_table(records),
                tool_metrics=tuple(_tool_metrics(bench)),
                tool_version=version,
                per_chunk_timings=False,
                send_times_known=bool(records),
                notes=tuple(notes),
            )
        )
    return runs
