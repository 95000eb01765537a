"""AIPerf `profile_export.jsonl` (one request per line) and its aggregate `profile_export_aiperf.json`.

Mapping (AIPerf 0.13 field names, ../shared/METRICS.md):

- `metadata.request_start_ns` -> `sent_ms`, `metadata.credit_issued_ns` (when
  the timing manager released the request) -> `scheduled_ms`; both relative to
  the earliest of them, epoch ns kept as the run's `started_at`;
- `metrics.time_to_first_token` -> TTFT; chunk arrivals are TTFT plus the
  running sum of `metrics.inter_chunk_latency` (AIPerf's per-chunk gaps), so
  E2E is the last chunk (it equals AIPerf's `request_latency` when every chunk
  was content); without chunk gaps E2E is `request_latency`;
- `output_sequence_length` / `input_sequence_length` (or `error_isl`) -> tokens;
- `error` {code, type, message} or `was_cancelled` -> a failed request;
  `benchmark_phase` other than "profiling" -> warm-up.

AIPerf's own "inter_token_latency" is (latency - TTFT) / (OSL - 1), i.e.
inferlab's TPOT; it is kept under its own name with the aggregate file's
numbers. The fast path reads the JSON lines with DuckDB's reader (C++, columnar) and
builds the request columns with numpy; any line DuckDB cannot read sends the
file through a line-by-line reader that names the offending line.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from inferlab.importers.base import (
    MAX_COUNT,
    ImportFileError,
    JsonError,
    ParsedRun,
    Problems,
    ToolMetric,
    as_count,
    dict_at,
    empty_requests,
    finite,
    http_error_class,
    list_at,
    parse_json,
    read_json_document,
)
from inferlab.importers.checks import check_requests
from inferlab.records import RunInfo, RunStatus
from inferlab.store.db import duckdb_connect

__all__ = [
    "AGGREGATE_NAME",
    "aggregate_beside",
    "looks_like_aggregate",
    "looks_like_record",
    "parse_aggregate_file",
    "parse_aiperf",
]

FMT = "aiperf"
AGGREGATE_NAME = "profile_export_aiperf.json"
# Where inferlab's request columns come from, for messages about impossible values.
_FIELDS = {
    "sent_ms": "metadata.request_start_ns",
    "scheduled_ms": "metadata.credit_issued_ns",
    "ttft_ms": "metrics.time_to_first_token",
    "e2e_ms": "metrics.request_latency or inter_chunk_latency",
    "chunk_offsets_ms": "time_to_first_token + inter_chunk_latency",
}
_KEPT_STATS = ("avg", "p50", "p90", "p95", "p99", "min", "max", "std", "count")
_UNIT_TO_MS = {"ms": 1.0, "ns": 1e-6, "us": 1e-3, "sec": 1000.0, "s": 1000.0}

_VAL = pa.struct([("value", pa.float64()), ("unit", pa.string())])
_SCHEMA = pa.schema(
    [
        (
            "metadata",
            pa.struct(
                [
                    ("request_start_ns", pa.int64()),
                    ("request_end_ns", pa.int64()),
                    ("credit_issued_ns", pa.int64()),
                    ("benchmark_phase", pa.string()),
                    ("was_cancelled", pa.bool_()),
                ]
            ),
        ),
        (
            "metrics",
            pa.struct(
                [
                    ("time_to_first_token", _VAL),
                    ("request_latency", _VAL),
                    ("output_sequence_length", _VAL),
                    ("input_sequence_length", _VAL),
                    ("error_isl", _VAL),
                    (
                        "inter_chunk_latency",
                        pa.struct([("value", pa.list_(pa.float64())), ("unit", pa.string())]),
                    ),
                ]
            ),
        ),
        (
            "error",
            pa.struct([("code", pa.int64()), ("type", pa.string()), ("message", pa.string())]),
        ),
    ]
)


def looks_like_record(obj: Any) -> bool:
    """Whether a parsed JSON line is an AIPerf per-request record."""
    return (
        isinstance(obj, dict)
        and isinstance(obj.get("metadata"), dict)
        and "request_start_ns" in obj["metadata"]
        and "metrics" in obj
    )


def looks_like_aggregate(obj: Any) -> bool:
    return isinstance(obj, dict) and (
        "aiperf_version" in obj or ("benchmark_duration" in obj and "request_throughput" in obj)
    )


def aggregate_beside(path: Path) -> Path | None:
    """profile_export_aiperf.json in the same folder as a profile_export.jsonl, if any."""
    cand = path.with_name(AGGREGATE_NAME)
    return cand if cand.is_file() and cand != path else None


@dataclass
class _Cols:
    """The per-request columns both readers produce (numpy/Arrow, one entry per line)."""

    start_ns: np.ndarray  # int64
    credit_ns: np.ndarray  # int64, -1 = absent
    phase: list[str | None]
    cancelled: np.ndarray  # bool
    ttft_ms: np.ndarray  # float, NaN = absent
    latency_ms: np.ndarray
    osl: np.ndarray
    isl: np.ndarray
    icl: pa.ListArray  # ms gaps, null = absent
    err_code: list[int | None]
    err_type: list[str | None]
    err_msg: list[str | None]


def _scale(values: np.ndarray, units: pa.Array) -> np.ndarray:
    """Convert a latency column to ms from its per-row unit (AIPerf writes "ms")."""
    uniq = [u for u in pc.unique(units).to_pylist() if u is not None]
    if all(u == "ms" for u in uniq):
        return values
    unit_list = units.to_pylist()
    factors = np.array([_UNIT_TO_MS.get(u or "ms", math.nan) for u in unit_list])
    return np.asarray(values * factors, dtype=np.float64)


def _duckdb_type(t: pa.DataType) -> str:
    if pa.types.is_struct(t):
        inner = ", ".join(f"{f.name} {_duckdb_type(f.type)}" for f in t)
        return f"STRUCT({inner})"
    if pa.types.is_list(t):
        return f"{_duckdb_type(t.value_type)}[]"
    return {pa.int64(): "BIGINT", pa.float64(): "DOUBLE", pa.string(): "VARCHAR",
            pa.bool_(): "BOOLEAN"}[t]  # fmt: skip


_COLUMNS_SQL = "{" + ", ".join(f"'{f.name}': '{_duckdb_type(f.type)}'" for f in _SCHEMA) + "}"


def _fast_columns(path: Path) -> _Cols:
    """DuckDB's JSON reader (C++, multi-threaded) reads only the fields inferlab needs."""
    src = str(path).replace("'", "''")
    con = duckdb_connect()  # no extension is ever fetched
    try:
        table = con.sql(
            f"SELECT * FROM read_json('{src}', format='newline_delimited', columns={_COLUMNS_SQL})"
        ).to_arrow_table()
    finally:
        con.close()
    table = table.combine_chunks()
    md = table.column("metadata").chunk(0) if table.num_rows else None
    if md is None:
        raise ValueError("no rows")
    mt = table.column("metrics").chunk(0)
    er = table.column("error").chunk(0)
    start = md.field("request_start_ns")
    if start.null_count or md.null_count:
        raise ValueError("a line lacks metadata.request_start_ns")

    def val(name: str) -> tuple[np.ndarray, pa.Array]:
        s = mt.field(name)
        v = pc.fill_null(s.field("value"), math.nan)
        v = pc.if_else(pc.is_valid(s), v, math.nan)
        return np.asarray(v.to_numpy(zero_copy_only=False), dtype=np.float64), s.field("unit")

    ttft, ttft_u = val("time_to_first_token")
    lat, lat_u = val("request_latency")
    osl, _ = val("output_sequence_length")
    isl, _ = val("input_sequence_length")
    eisl, _ = val("error_isl")
    icl_s = mt.field("inter_chunk_latency")
    icl = icl_s.field("value")
    icl = pc.if_else(pc.is_valid(icl_s), icl, pa.scalar(None, icl.type))
    icl_units = icl_s.field("unit")
    uniq = [u for u in pc.unique(icl_units).to_pylist() if u is not None]
    if any(u != "ms" for u in uniq):
        raise ValueError("inter_chunk_latency not in ms")  # rare: the line reader converts
    err_valid = pc.is_valid(er)
    code = pc.if_else(err_valid, er.field("code"), pa.scalar(None, pa.int64()))
    etype = pc.if_else(err_valid, er.field("type"), pa.scalar(None, pa.string()))
    emsg = pc.if_else(err_valid, er.field("message"), pa.scalar(None, pa.string()))
    # An error object with no fields at all still marks a failure.
    has_err = np.asarray(err_valid.to_numpy(zero_copy_only=False), dtype=bool)
    etype_list = etype.to_pylist()
    etype_list = [
        (t if t is not None else "error") if h else None
        for t, h in zip(etype_list, has_err, strict=True)
    ]
    credit = pc.fill_null(md.field("credit_issued_ns"), -1)
    return _Cols(
        start_ns=np.asarray(start.to_numpy(zero_copy_only=False), dtype=np.int64),
        credit_ns=np.asarray(credit.to_numpy(zero_copy_only=False), dtype=np.int64),
        phase=md.field("benchmark_phase").to_pylist(),
        cancelled=np.asarray(
            pc.fill_null(md.field("was_cancelled"), False).to_numpy(zero_copy_only=False),
            dtype=bool,
        ),
        ttft_ms=_scale(ttft, ttft_u),
        latency_ms=_scale(lat, lat_u),
        osl=osl,
        isl=np.where(np.isnan(isl), eisl, isl),
        icl=icl,
        err_code=code.to_pylist(),
        err_type=etype_list,
        err_msg=emsg.to_pylist(),
    )


def _is_ns(x: Any) -> bool:
    """An epoch time in ns that fits the int64 columns (JSON integers are unbounded)."""
    return isinstance(x, int) and not isinstance(x, bool) and 0 <= x < 2**63


def _metric_ms(path: Path, m: dict[str, Any], name: str, lineno: int) -> float:
    """metrics.NAME.value in ms (lengths as they are); NaN when absent."""
    item = m.get(name)
    if not isinstance(item, dict) or item.get("value") is None:
        return math.nan
    v = finite(item["value"])
    if v is None:
        raise ImportFileError(path, FMT, f"line {lineno}: metrics.{name}.value is not a number")
    factor = _UNIT_TO_MS.get(str(item.get("unit") or "ms"))
    if name.endswith("length") or name.endswith("isl"):
        factor = 1.0
    if factor is None:
        raise ImportFileError(
            path, FMT, f"line {lineno}: metrics.{name} has an unknown unit {item.get('unit')!r}"
        )
    return v * factor


def _record_of_line(path: Path, lineno: int, line: str) -> dict[str, Any]:
    """One JSON line as an AIPerf request record, refused with the line number if it is not."""
    try:
        obj = parse_json(line.strip())
    except JsonError as exc:
        hint = " (the file looks truncated)" if not line.endswith("\n") else ""
        raise ImportFileError(
            path, FMT, f"line {lineno} is not valid JSON: {exc.reason}{hint}"
        ) from None
    if not looks_like_record(obj):
        raise ImportFileError(
            path,
            FMT,
            f"line {lineno} is not an AIPerf request record "
            "(expected metadata.request_start_ns and metrics)",
        )
    if not isinstance(obj.get("metrics") or {}, dict):
        raise ImportFileError(path, FMT, f"line {lineno}: metrics is not an object")
    s = obj["metadata"].get("request_start_ns")
    if not _is_ns(s):
        raise ImportFileError(
            path,
            FMT,
            f"line {lineno}: metadata.request_start_ns is not a time "
            f"(a whole number of ns since 1970): {s!r:.40}",
        )
    return dict(obj)


def _chunk_gaps_ms(path: Path, m: dict[str, Any], lineno: int) -> list[float] | None:
    item = m.get("inter_chunk_latency")
    if not (isinstance(item, dict) and isinstance(item.get("value"), list)):
        return None
    factor = _UNIT_TO_MS.get(str(item.get("unit") or "ms"), math.nan)
    vals = [finite(g) for g in item["value"]]
    if any(g is None for g in vals) or math.isnan(factor):
        raise ImportFileError(path, FMT, f"line {lineno}: inter_chunk_latency holds a non-number")
    return [float(g) * factor for g in vals if g is not None]


def _line_columns(path: Path) -> _Cols:
    """The slow, precise reader: one json.loads per line, errors name the line."""
    start: list[int] = []
    credit: list[int] = []
    phase: list[str | None] = []
    cancelled: list[bool] = []
    ttft: list[float] = []
    lat: list[float] = []
    osl: list[float] = []
    isl: list[float] = []
    icl: list[list[float] | None] = []
    codes: list[int | None] = []
    types: list[str | None] = []
    msgs: list[str | None] = []

    with path.open("r", encoding="utf-8", errors="strict") as f:
        lineno = 0
        try:
            for lineno, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                obj = _record_of_line(path, lineno, line)
                md, m = obj["metadata"], obj.get("metrics") or {}
                start.append(md["request_start_ns"])
                c = md.get("credit_issued_ns")
                credit.append(c if _is_ns(c) else -1)
                phase.append(md.get("benchmark_phase"))
                cancelled.append(bool(md.get("was_cancelled")))
                ttft.append(_metric_ms(path, m, "time_to_first_token", lineno))
                lat.append(_metric_ms(path, m, "request_latency", lineno))
                osl.append(_metric_ms(path, m, "output_sequence_length", lineno))
                i = _metric_ms(path, m, "input_sequence_length", lineno)
                isl.append(i if not math.isnan(i) else _metric_ms(path, m, "error_isl", lineno))
                icl.append(_chunk_gaps_ms(path, m, lineno))
                err = obj.get("error")
                if isinstance(err, dict):
                    code = err.get("code")
                    codes.append(code if isinstance(code, int) else None)
                    types.append(str(err.get("type") or "error"))
                    msgs.append(None if err.get("message") is None else str(err.get("message")))
                else:
                    codes.append(None)
                    types.append(None)
                    msgs.append(None)
        except UnicodeDecodeError:
            raise ImportFileError(path, FMT, f"line {lineno + 1} is not UTF-8 text") from None
    if not start:
        raise ImportFileError(path, FMT, "the file holds no request records")
    return _Cols(
        start_ns=np.array(start, dtype=np.int64),
        credit_ns=np.array(credit, dtype=np.int64),
        phase=phase,
        cancelled=np.array(cancelled, dtype=bool),
        ttft_ms=np.array(ttft, dtype=np.float64),
        latency_ms=np.array(lat, dtype=np.float64),
        osl=np.array(osl, dtype=np.float64),
        isl=np.array(isl, dtype=np.float64),
        icl=pa.array(icl, type=pa.list_(pa.float64())),
        err_code=codes,
        err_type=types,
        err_msg=msgs,
    )


def _chunk_offsets(ttft: np.ndarray, icl: pa.ListArray) -> tuple[pa.ListArray, np.ndarray]:
    """Per request [ttft, ttft + g1, ttft + g1 + g2, ...] as one Arrow list column; last offsets."""
    n = len(ttft)
    lengths = np.asarray(
        pc.fill_null(pc.list_value_length(icl), 0).to_numpy(zero_copy_only=False), dtype=np.int64
    )
    flat = np.asarray(icl.flatten().to_numpy(zero_copy_only=False), dtype=np.float64)
    valid = ~np.isnan(ttft)
    row_of_flat = np.repeat(np.arange(n), lengths)
    keep = valid[row_of_flat]
    flat_v, rows_v = flat[keep], row_of_flat[keep]
    keep_len = np.where(valid, lengths, 0)
    cs = np.cumsum(flat_v)
    starts = np.concatenate([[0], np.cumsum(keep_len)])[:-1]
    base = np.concatenate([[0.0], cs])[starts]
    row_cum = cs - base[rows_v]
    new_len = np.where(valid, keep_len + 1, 0)
    new_off = np.concatenate([[0], np.cumsum(new_len)]).astype(np.int32)
    out = np.empty(int(new_off[-1]), dtype=np.float64)
    first = new_off[:-1][valid]
    rest = np.ones(out.size, dtype=bool)
    rest[first] = False
    out[first] = ttft[valid]
    out[rest] = ttft[rows_v] + row_cum
    last = np.full(n, math.nan)
    has = new_len > 0
    last[has] = out[new_off[1:][has] - 1]
    return pa.ListArray.from_arrays(pa.array(new_off), pa.array(out)), last


def _error_class(code: int | None, etype: str | None, msg: str | None) -> str:
    if code is not None:
        return http_error_class(code)
    text = f"{etype or ''} {msg or ''}".lower()
    if "timeout" in text:
        return "read_timeout"
    if "disconnect" in text or "connection" in text or "closed" in text:
        return "disconnected"
    return "client_error"


def _check_counts(cols: _Cols, problems: Problems, row: Callable[[int], str]) -> None:
    """Token counts must be whole numbers that fit the store's columns; else problems (and NaN)."""
    for name, attr in (("output_sequence_length", "osl"), ("input_sequence_length", "isl")):
        a = getattr(cols, attr)
        with np.errstate(invalid="ignore"):
            bad = ~np.isnan(a) & ~((a >= 0) & (a <= MAX_COUNT) & (a == np.round(a)))
        for i in np.flatnonzero(bad)[: problems.KEEP]:
            problems.add(row(int(i)), f"metrics.{name} {a[i]:g} is not a token count")
    for i in np.flatnonzero(cols.start_ns < 0)[: problems.KEEP]:
        problems.add(row(int(i)), "metadata.request_start_ns is negative")


def _line_namer(path: Path) -> Callable[[int], str]:
    """Names record i by its line in the file (read once, only when a problem is named)."""
    lines: list[int] = []

    def name(i: int) -> str:
        if not lines:
            with path.open("rb") as f:
                lines.extend(k for k, ln in enumerate(f, start=1) if ln.strip())
        return f"line {lines[i]:,}" if i < len(lines) else f"record {i + 1:,}"

    return name


def _requests_table(cols: _Cols) -> tuple[pa.Table, int, bool]:
    """The store's request columns from AIPerf's; also the anchor (epoch ns) and chunk flag."""
    n = len(cols.start_ns)
    starts = cols.start_ns
    credits = np.where(cols.credit_ns >= 0, cols.credit_ns, starts)
    anchor = int(min(starts.min(), credits.min()))
    sent_ms = (starts - anchor) / 1e6
    sched_ms = (credits - anchor) / 1e6
    offsets, last = _chunk_offsets(cols.ttft_ms, cols.icl)
    e2e = np.where(np.isnan(last), cols.latency_ms, last)
    failed_mask = np.array([t is not None for t in cols.err_type], dtype=bool) | cols.cancelled
    ok = ~failed_mask
    err_class: list[str | None] = [None] * n
    err_msg: list[str | None] = [None] * n
    http: list[int | None] = [None] * n
    for i in np.flatnonzero(failed_mask):
        if cols.err_type[i] is None:  # cancelled without an error object
            err_class[i], err_msg[i] = "cancelled", "AIPerf cancelled the request"
            continue
        code, etype, msg = cols.err_code[i], cols.err_type[i], cols.err_msg[i]
        err_class[i] = _error_class(code, etype, msg)
        err_msg[i] = f"{etype}: {msg}"[:500] if msg else etype
        http[i] = code if code is not None and 100 <= code <= 599 else None
    warmup = np.array([p is not None and p != "profiling" for p in cols.phase], dtype=bool)

    def opt_int(a: np.ndarray) -> pa.Array:
        return pa.array(np.where(np.isnan(a), 0, a).astype(np.int32), mask=np.isnan(a))

    def opt_f(a: np.ndarray) -> pa.Array:
        return pa.array(a, mask=np.isnan(a))

    n_chunks = np.asarray(pc.list_value_length(offsets).to_numpy(zero_copy_only=False))
    table = pa.table(
        {
            "idx": pa.array(np.arange(n, dtype=np.int32)),
            "scheduled_ms": pa.array(sched_ms),
            "sent_ms": pa.array(sent_ms),
            "ok": pa.array(ok),
            "ttft_ms": opt_f(cols.ttft_ms),
            "e2e_ms": opt_f(e2e),
            "ttfot_ms": pa.nulls(n, pa.float64()),
            "chunk_offsets_ms": offsets,
            "chunk_tokens": pa.array([[]] * n, type=pa.list_(pa.int32())),
            "input_tokens": opt_int(cols.isl),
            "output_tokens": opt_int(cols.osl),
            "token_count_source": pa.array(["imported"] * n),
            "http_status": pa.array(http, type=pa.int32()),
            "error_class": pa.array(err_class, type=pa.string()),
            "error_message": pa.array(err_msg, type=pa.string()),
            "warmup": pa.array(warmup),
            "notes": pa.nulls(n, pa.list_(pa.string())),
        },
        schema=empty_requests().schema,
    )
    per_chunk = bool(np.any(n_chunks[ok] > 1)) if ok.any() else False
    return table, anchor, per_chunk


def _aggregate_metrics(agg: dict[str, Any]) -> list[ToolMetric]:
    out: list[ToolMetric] = []
    for name, item in agg.items():
        if not isinstance(item, dict) or "unit" not in item:
            continue
        unit = str(item.get("unit") or "")
        for stat in _KEPT_STATS:
            v = finite(item.get(stat))
            if v is not None:
                out.append(ToolMetric(name, stat, v, unit))
    return out


def _load_aggregate(path: Path) -> dict[str, Any]:
    obj = read_json_document(path, FMT, what="the aggregate file")
    if not looks_like_aggregate(obj):
        raise ImportFileError(
            path, FMT, "not an AIPerf aggregate (no aiperf_version / benchmark_duration)"
        )
    return dict(obj)


def _phase_load(ph: dict[str, Any], mode: str, value: float) -> tuple[str, float]:
    """(load mode, load value) a profiling phase sets; the ones given when it sets none."""
    rate, concurrency = finite(ph.get("request_rate")), finite(ph.get("concurrency"))
    if rate is not None:
        pattern = str(ph.get("type", "")) + str(ph.get("arrival_pattern", ""))
        return ("constant" if "constant" in pattern else "poisson"), rate
    if concurrency is not None:
        return "concurrency", concurrency
    return mode, value


def _settings_from(agg: dict[str, Any] | None) -> tuple[str, str, str, str, float, dict[str, Any]]:
    """(model, endpoint, api, load_mode, load_value, settings) from the aggregate's input_config."""
    model, endpoint, api, mode, value = "unknown", "", "chat", "unknown", 0.0
    settings: dict[str, Any] = {}
    if not agg:
        return model, endpoint, api, mode, value, settings
    cfg = dict_at(agg, "input_config")
    items = list_at(cfg, "models", "items")
    if items and isinstance(items[0], dict) and items[0].get("name"):
        model = str(items[0]["name"])
    ep = dict_at(cfg, "endpoint")
    urls = list_at(ep, "urls")
    if urls:
        endpoint = str(urls[0])
    if ep.get("type"):
        api = "completions" if str(ep["type"]) == "completions" else str(ep["type"])
    if "streaming" in ep:
        settings["streaming"] = bool(ep["streaming"])
    for ph in list_at(cfg, "phases"):
        if isinstance(ph, dict) and ph.get("kind", "profiling") == "profiling":
            mode, value = _phase_load(ph, mode, value)
            requests = as_count(ph.get("requests"))
            if requests is not None:
                settings["requests"] = requests
    for ds in list_at(cfg, "datasets")[:1]:
        isl = finite(dict_at(ds, "prompts", "isl").get("mean"))
        osl = finite(dict_at(ds, "prompts", "osl").get("mean"))
        if isl is not None:
            settings["prompt_tokens"] = isl
        if osl is not None:
            settings["max_tokens"] = osl
    run_info = agg.get("run_info")
    if isinstance(run_info, dict) and run_info.get("benchmark_id"):
        settings["aiperf_benchmark_id"] = str(run_info["benchmark_id"])
    return model, endpoint, api, mode, value, settings


def _info(
    run_id: str,
    started_ns: int | None,
    agg: dict[str, Any] | None,
    group_id: str | None = None,
) -> tuple[RunInfo, RunStatus, str]:
    model, endpoint, api, mode, value, settings = _settings_from(agg)
    if started_ns is not None:
        started = datetime.fromtimestamp(started_ns / 1e9, tz=UTC)
    else:
        started = _parse_iso((agg or {}).get("start_time")) or datetime.now(UTC)
    label = "AIPerf" + (f" {model}" if model != "unknown" else "")
    if mode == "concurrency":
        label += f" c{value:g}"
    elif mode != "unknown":
        label += f" {value:g} req/s"
    info = RunInfo(
        run_id=run_id,
        started_at=started,
        endpoint=endpoint,
        model=model,
        api=api,
        load_mode=mode,
        load_value=value,
        label=label,
        source_tool="aiperf",
        group_id=group_id,
        settings=settings,
    )
    status: RunStatus = "cancelled" if agg and agg.get("was_cancelled") else "completed"
    return info, status, str((agg or {}).get("aiperf_version") or "")


def _parse_iso(x: Any) -> datetime | None:
    if not isinstance(x, str):
        return None
    try:
        dt = datetime.fromisoformat(x)
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def parse_aggregate_file(path: Path, run_id: str) -> list[ParsedRun]:
    """An aggregate file on its own: a run with the tool's numbers and no per-request data."""
    agg = _load_aggregate(path)
    info, status, version = _info(run_id, None, agg)
    return [
        ParsedRun(
            info=info,
            requests=empty_requests(),
            tool_metrics=tuple(_aggregate_metrics(agg)),
            status=status,
            tool_version=version,
            per_chunk_timings=False,
            send_times_known=False,
            notes=(
                "only AIPerf's aggregate numbers were imported (no profile_export.jsonl "
                "beside the file), so inferlab cannot recompute them",
            ),
        )
    ]


def parse_aiperf(path: Path, run_id: str, aggregate: Path | None = None) -> list[ParsedRun]:
    """One run from a profile_export.jsonl (plus the aggregate file's numbers when given)."""
    try:
        cols = _fast_columns(path)
    except (duckdb.Error, pa.ArrowInvalid, pa.ArrowTypeError, ValueError, KeyError, IndexError):
        cols = _line_columns(path)
    problems = Problems(path, FMT)
    row = _line_namer(path)
    _check_counts(cols, problems, row)
    problems.check()
    table, anchor, per_chunk = _requests_table(cols)
    check_requests(table, problems, row, _FIELDS)
    problems.check()
    agg = _load_aggregate(aggregate) if aggregate is not None else None
    info, status, version = _info(run_id, anchor, agg)
    notes = []
    if agg is None:
        notes.append(
            f"no {AGGREGATE_NAME} beside the file: model, endpoint and load settings "
            "are unknown and AIPerf's own aggregate numbers are not shown"
        )
    return [
        ParsedRun(
            info=info,
            requests=table,
            tool_metrics=tuple(_aggregate_metrics(agg)) if agg else (),
            status=status,
            tool_version=version,
            per_chunk_timings=per_chunk,
            send_times_known=True,
            notes=tuple(notes),
            extra={"aggregate_file": aggregate.name} if aggregate is not None else {},
        )
    ]
