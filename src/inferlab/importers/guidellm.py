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
    Problems,
    ToolMetric,
    as_count,
    dict_at,
    finite,
    http_error_class,
    list_at,
    read_json_document,
    requests_table,
)
from inferlab.importers.checks import check_requests
from inferlab.records import RequestRecord, RunInfo

__all__ = ["looks_like_guidellm", "parse_guidellm"]

FMT = "guidellm"
_SCOPES = ("successful", "errored", "incomplete", "total")
_KEPT_SCOPES = ("successful", "total")
_STATS = ("mean", "median", "std_dev", "min", "max", "count")
_PCTS = ("p50", "p90", "p95", "p99")
_STATUS_RE = re.compile(r"\b([45]\d\d)\b")
# Where inferlab's request columns come from, for messages about impossible values.
_FIELDS = {
    "sent_ms": "info.timings.request_start",
    "scheduled_ms": "info.timings.targeted_start",
    "ttft_ms": "info.timings.first_token_iteration",
    "ttfot_ms": "info.timings.first_output_token_iteration",
    "e2e_ms": "info.timings.last_token_iteration",
    "input_tokens": "prompt_tokens",
    "output_tokens": "output_tokens",
}


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


_TIMINGS = ("request_start", "targeted_start", "scheduled_at", "first_token_iteration",
            "first_output_token_iteration", "last_token_iteration")  # fmt: skip
_NUMBERS = ("request_start_time", "request_latency", "prompt_tokens", "output_tokens")


class _Reader:
    """Reads one request's numbers; a field present but not a usable number is a problem."""

    def __init__(self, problems: Problems, where: str) -> None:
        self.problems, self.where = problems, where

    def num(self, d: dict[str, Any], key: str, prefix: str = "") -> float | None:
        x = d.get(key)
        if x is None:
            return None
        v = finite(x)
        if v is None:
            self.problems.add(self.where, f"{prefix}{key} is not a finite number: {_show(x)}")
        return v

    def time(self, d: dict[str, Any], key: str, prefix: str = "") -> float | None:
        v = self.num(d, key, prefix)
        if v is not None and _epoch(v) is None:
            self.problems.add(self.where, f"{prefix}{key} {v:g} is not a time (epoch seconds)")
            return None
        return v

    def count(self, d: dict[str, Any], key: str) -> int | None:
        v = self.num(d, key)
        n = as_count(v)
        if v is not None and n is None:
            self.problems.add(self.where, f"{key} {v:g} is not a token count")
        return n


_LAST_EPOCH_S = 32_503_680_000.0  # the year 3000


def _epoch(x: Any) -> float | None:
    """x if it can be a wall-clock time in epoch seconds (guidellm's timings), else None."""
    v = finite(x)
    return v if v is not None and 0.0 <= v <= _LAST_EPOCH_S else None


def _show(x: Any) -> str:
    text = repr(x)
    return text if len(text) <= 40 else text[:40] + "…"


def _first_of(*values: float | None) -> float | None:
    return next((v for v in values if v is not None), None)


def _request(
    item: Any, status: str, path: Path, where: str, anchor_s: float, problems: Problems
) -> RequestRecord | None:
    """One request, or None (its problems added) when its numbers are not usable."""
    if not isinstance(item, dict) or not isinstance(item.get("info"), dict):
        raise ImportFileError(path, FMT, f"{where} is not a guidellm request (no info)")
    info = item["info"]
    t = info.get("timings") if isinstance(info.get("timings"), dict) else {}
    assert isinstance(t, dict)
    before = problems.count
    read = _Reader(problems, where)
    times = {k: read.time(t, k, "info.timings.") for k in _TIMINGS}
    item_start = read.time(item, "request_start_time")
    latency = read.num(item, "request_latency")
    prompt_tokens, output_tokens = (
        read.count(item, "prompt_tokens"),
        read.count(item, "output_tokens"),
    )
    if problems.count > before:
        return None
    # A request that never started (cancelled in the queue) has no send time.
    start = _first_of(
        times["request_start"], item_start, times["targeted_start"], times["scheduled_at"]
    )
    if start is None:
        problems.add(where, "no info.timings.request_start (nor another start time)")
        return None
    target = times["targeted_start"]
    sched = target if target is not None and target <= start else start
    first = times["first_token_iteration"]
    first_out = times["first_output_token_iteration"]
    last = times["last_token_iteration"]
    ok = status == "successful"
    ttft = (first - start) * 1000.0 if first is not None else None
    ttfot = (
        (first_out - start) * 1000.0
        if first_out is not None and first is not None and first_out > first
        else None
    )
    e2e = (last - start) * 1000.0 if last is not None else None
    if e2e is None and ok and latency is not None:
        e2e = latency * 1000.0
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
        input_tokens=prompt_tokens,
        output_tokens=output_tokens,
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
                        v = _epoch(t.get(k))
                        if v is not None:
                            times.append(v)
    if times:
        return min(times)
    return _epoch(bench.get("start_time"))


def _backend(obj: dict[str, Any]) -> tuple[str, str, str, dict[str, Any]]:
    """(model, endpoint, api, data settings) from the file's run configuration."""
    backend = dict_at(obj, "config", "spec", "backend")
    req_format = str(backend.get("request_format") or "")
    api = (
        "completions"
        if req_format.endswith("/completions") and "chat" not in req_format
        else "chat"
    )
    data_settings: dict[str, Any] = {}
    for d in list_at(obj, "config", "spec", "data")[:1]:
        for k_src, k_dst in (("prompt_tokens", "prompt_tokens"), ("output_tokens", "max_tokens")):
            v = finite(d.get(k_src)) if isinstance(d, dict) else None
            if v is not None:
                data_settings[k_dst] = v
    return (
        str(backend.get("model") or "unknown"),
        str(backend.get("target") or ""),
        api,
        data_settings,
    )


def _bench_requests(
    bench: dict[str, Any], where: str, path: Path, anchor: float, problems: Problems
) -> tuple[list[RequestRecord], list[str]]:
    """A benchmark's requests in send order, and the name of each in the file."""
    found: list[tuple[RequestRecord, str]] = []
    reqs = bench.get("requests")
    if isinstance(reqs, dict):
        for status in ("successful", "errored", "incomplete"):
            items = reqs.get(status) or []
            if not isinstance(items, list):
                raise ImportFileError(path, FMT, f"{where}.requests.{status} is not a list")
            for ri, item in enumerate(items):
                name = f"{where}.requests.{status}[{ri}]"
                rec = _request(item, status, path, name, anchor, problems)
                if rec is not None:
                    found.append((rec, name))
    found.sort(key=lambda f: (f[0].sent_ms, f[0].scheduled_ms))
    return [replace(r, index=i) for i, (r, _) in enumerate(found)], [n for _, n in found]


def parse_guidellm(path: Path, run_id_prefix: str) -> list[ParsedRun]:
    """Every benchmark of the file as a run; several benchmarks share one group id."""
    obj = read_json_document(path, FMT)
    if not looks_like_guidellm(obj):
        raise ImportFileError(path, FMT, "no `benchmarks` list: not a guidellm benchmarks.json")
    benches = obj["benchmarks"]
    if not benches:
        raise ImportFileError(path, FMT, "the file holds no benchmarks")
    version = str(dict_at(obj, "metadata").get("guidellm_version") or "")
    model, endpoint, api, data_settings = _backend(obj)
    group = f"{run_id_prefix}-sweep" if len(benches) > 1 else None
    problems = Problems(path, FMT)
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
        records, names = _bench_requests(bench, where, path, anchor, problems)
        notes: list[str] = []
        table = requests_table(records)
        check_requests(table, problems, names.__getitem__, _FIELDS)
        if not records:
            notes.append("guidellm saved no per-request data for this benchmark")
        else:
            notes.append(
                "guidellm records only the first and last token of each request: "
                "ITL per chunk gap cannot be recomputed"
            )
        if any(r.error_class == "incomplete" for r in records):
            notes.append("requests guidellm cut off at the end of the benchmark count as failed")
        start_s = _epoch(bench.get("start_time")) or anchor
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
                requests=table,
                tool_metrics=tuple(_tool_metrics(bench)),
                tool_version=version,
                per_chunk_timings=False,
                send_times_known=bool(records),
                notes=tuple(notes),
            )
        )
    problems.check()
    return runs
