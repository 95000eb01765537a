"""inferlab's CSV: one row per request (what `inferlab export --format csv` writes).

Columns (header names; order free; unknown columns are ignored):

| column | required | meaning |
|---|---|---|
| sent_ms | yes | when the request was sent, ms after the run's start |
| ok | yes | true/false (also 1/0, yes/no): the request completed |
| index | no | request number (default: row order within the run) |
| scheduled_ms | no | when it was meant to be sent (default: sent_ms) |
| ttft_ms, e2e_ms, ttfot_ms | no | ms after the request's send |
| chunk_offsets_ms | no | JSON list of content-chunk arrivals, ms after send, e.g. `[101.5, 111.2]` |
| chunk_tokens | no | JSON list of tokens per chunk |
| input_tokens, output_tokens | no | token counts |
| token_count_source | no | usage / chunks / imported / unknown |
| http_status, error_class, error_message | no | why a request failed |
| warmup | no | true for warm-up requests (excluded from summaries) |
| run_id | no | rows with the same value form one run (default: the whole file is one run) |
| label, model, endpoint, api, load_mode, load_value, source_tool, started_at, group_id, tags | no | the run's settings, repeated on its rows (started_at ISO 8601; tags separated by `;`) |
"""

from __future__ import annotations

import contextlib
import json
import math
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from inferlab.importers.base import (
    ImportFileError,
    ParsedRun,
    ToolMetric,
    empty_requests,
    read_json_document,
)
from inferlab.records import RunInfo

__all__ = [
    "REQUEST_COLUMNS",
    "REQUIRED_COLUMNS",
    "RUN_COLUMNS",
    "looks_like_csv",
    "looks_like_inferlab_json",
    "parse_csv",
    "parse_frame",
    "parse_inferlab_json",
    "parse_parquet",
]

FMT = "csv"
REQUIRED_COLUMNS = ("sent_ms", "ok")
REQUEST_COLUMNS = (
    "index",
    "scheduled_ms",
    "sent_ms",
    "ok",
    "ttft_ms",
    "e2e_ms",
    "ttfot_ms",
    "chunk_offsets_ms",
    "chunk_tokens",
    "input_tokens",
    "output_tokens",
    "token_count_source",
    "http_status",
    "error_class",
    "error_message",
    "warmup",
)
RUN_COLUMNS = (
    "run_id",
    "label",
    "model",
    "endpoint",
    "api",
    "load_mode",
    "load_value",
    "source_tool",
    "started_at",
    "group_id",
    "tags",
)
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}
_SOURCES = {"usage", "chunks", "imported", "unknown"}


def looks_like_csv(head: str) -> bool:
    first = head.splitlines()[0] if head else ""
    cols = {c.strip().strip('"') for c in first.split(",")}
    return all(c in cols for c in REQUIRED_COLUMNS)


def _bool_col(
    s: pd.Series, name: str, path: Path, rows: pd.Index, default: bool | None, fmt: str = FMT
) -> np.ndarray:
    text = s.fillna("").astype(str).str.strip().str.lower()
    out = np.zeros(len(text), dtype=bool)
    is_t, is_f = text.isin(_TRUE).to_numpy(), text.isin(_FALSE).to_numpy()
    empty = (text == "").to_numpy()
    bad = ~(is_t | is_f | (empty if default is not None else False))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ImportFileError(
            path,
            fmt,
            f"row {rows[i] + 2}: column {name} should be true or false, got {s.iloc[i]!r}",
        )
    out[is_t] = True
    if default:
        out[empty] = True
    return out


def _num_col(df: pd.DataFrame, name: str, path: Path, fmt: str = FMT) -> np.ndarray:
    if name not in df:
        return np.full(len(df), math.nan)
    raw = df[name]
    num = pd.to_numeric(raw, errors="coerce")
    bad = num.isna() & raw.notna() & (raw.astype(str).str.strip() != "")
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise ImportFileError(
            path, fmt, f"row {df.index[i] + 2}: column {name} is not a number: {raw.iloc[i]!r}"
        )
    return np.asarray(num.to_numpy(dtype=np.float64, na_value=math.nan))


def _list_col(
    df: pd.DataFrame, name: str, path: Path, kind: type, fmt: str = FMT
) -> list[list[Any]]:
    if name not in df:
        return [[] for _ in range(len(df))]
    out: list[list[Any]] = []
    for i, v in enumerate(df[name].tolist()):
        if isinstance(v, list | tuple | np.ndarray):
            out.append([kind(x) for x in v])
            continue
        if v is None or (isinstance(v, float) and math.isnan(v)) or str(v).strip() == "":
            out.append([])
            continue
        try:
            vals = json.loads(str(v))
            if not isinstance(vals, list):
                raise ValueError
            out.append([kind(x) for x in vals])
        except (ValueError, TypeError):
            raise ImportFileError(
                path,
                fmt,
                f"row {df.index[i] + 2}: column {name} should be a JSON list of numbers "
                f"like [101.5, 111.2], got {str(v)[:60]!r}",
            ) from None
    return out


def _str_col(df: pd.DataFrame, name: str) -> list[str | None]:
    if name not in df:
        return [None] * len(df)
    return [None if v is None or (isinstance(v, float) and math.isnan(v)) or v == "" else str(v)
            for v in df[name].tolist()]  # fmt: skip


def _opt(a: np.ndarray, typ: pa.DataType) -> pa.Array:
    mask = np.isnan(a)
    if pa.types.is_integer(typ):
        return pa.array(np.where(mask, 0, a).astype(np.int64), mask=mask).cast(typ)
    return pa.array(a, mask=mask, type=typ)


def _table(df: pd.DataFrame, path: Path, fmt: str = FMT) -> pa.Table:
    n = len(df)
    sent = _num_col(df, "sent_ms", path, fmt)
    if np.isnan(sent).any():
        i = int(np.flatnonzero(np.isnan(sent))[0])
        raise ImportFileError(path, fmt, f"row {df.index[i] + 2}: sent_ms is empty")
    sched = _num_col(df, "scheduled_ms", path, fmt)
    sched = np.where(np.isnan(sched), sent, sched)
    idx = _num_col(df, "index", path, fmt)
    idx = np.where(np.isnan(idx), np.arange(n), idx)
    ok = _bool_col(df["ok"], "ok", path, df.index, None, fmt)
    warm = (
        _bool_col(df["warmup"], "warmup", path, df.index, False, fmt)
        if "warmup" in df
        else np.zeros(n, dtype=bool)
    )
    sources = [s if s in _SOURCES else "unknown" for s in _str_col(df, "token_count_source")]
    return pa.table(
        {
            "idx": pa.array(idx.astype(np.int32)),
            "scheduled_ms": pa.array(sched),
            "sent_ms": pa.array(sent),
            "ok": pa.array(ok),
            "ttft_ms": _opt(_num_col(df, "ttft_ms", path, fmt), pa.float64()),
            "e2e_ms": _opt(_num_col(df, "e2e_ms", path, fmt), pa.float64()),
            "ttfot_ms": _opt(_num_col(df, "ttfot_ms", path, fmt), pa.float64()),
            "chunk_offsets_ms": pa.array(
                _list_col(df, "chunk_offsets_ms", path, float, fmt), type=pa.list_(pa.float64())
            ),
            "chunk_tokens": pa.array(
                _list_col(df, "chunk_tokens", path, int, fmt), type=pa.list_(pa.int32())
            ),
            "input_tokens": _opt(_num_col(df, "input_tokens", path, fmt), pa.int32()),
            "output_tokens": _opt(_num_col(df, "output_tokens", path, fmt), pa.int32()),
            "token_count_source": pa.array(sources, type=pa.string()),
            "http_status": _opt(_num_col(df, "http_status", path, fmt), pa.int32()),
            "error_class": pa.array(_str_col(df, "error_class"), type=pa.string()),
            "error_message": pa.array(_str_col(df, "error_message"), type=pa.string()),
            "warmup": pa.array(warm),
            "notes": pa.nulls(n, pa.list_(pa.string())),
        },
        schema=empty_requests().schema,
    )


def _first(df: pd.DataFrame, name: str) -> str | None:
    vals = _str_col(df, name)
    return next((v for v in vals if v is not None), None)


def _run_from_frame(
    part: pd.DataFrame, path: Path, run_id: str, fmt: str, orig_id: str, group_prefix: str
) -> ParsedRun:
    table = _table(part, path, fmt) if len(part) else empty_requests()
    started = datetime.now(UTC)
    raw_start = _first(part, "started_at")
    if raw_start:
        try:
            started = datetime.fromisoformat(raw_start)
        except ValueError:
            raise ImportFileError(
                path, fmt, f"started_at {raw_start!r} is not an ISO 8601 time"
            ) from None
        if started.tzinfo is None:
            started = started.replace(tzinfo=UTC)
    load_value = 0.0
    raw_load = _first(part, "load_value")
    if raw_load:
        try:
            load_value = float(raw_load)
        except ValueError:
            raise ImportFileError(path, fmt, f"load_value {raw_load!r} is not a number") from None
    tags = tuple(t.strip() for t in (_first(part, "tags") or "").split(";") if t.strip())
    group = _first(part, "group_id")
    info = RunInfo(
        run_id=run_id,
        started_at=started,
        endpoint=_first(part, "endpoint") or "",
        model=_first(part, "model") or "unknown",
        api=_first(part, "api") or "chat",
        load_mode=_first(part, "load_mode") or "unknown",
        load_value=load_value,
        label=_first(part, "label") or (f"{fmt} {orig_id}" if orig_id else f"{fmt} {path.stem}"),
        tags=tags,
        source_tool=_first(part, "source_tool") or fmt,
        group_id=f"{group_prefix}-{group}" if group else None,
        settings={},
    )
    n_chunks = [len(x) for x in table.column("chunk_offsets_ms").to_pylist()]
    return ParsedRun(
        info=info,
        requests=table,
        per_chunk_timings=any(c > 1 for c in n_chunks),
        send_times_known=len(part) > 0,
        extra={"original_run_id": orig_id} if orig_id else {},
    )


def parse_frame(df: pd.DataFrame, path: Path, run_id_prefix: str, fmt: str) -> list[ParsedRun]:
    """Runs from a table of requests with inferlab's columns (CSV or Parquet)."""
    df = df.rename(columns=lambda c: str(c).strip())
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        found = ", ".join(list(df.columns)[:8]) or "none"
        raise ImportFileError(
            path,
            fmt,
            f"missing required column(s) {', '.join(missing)} (columns found: {found}); "
            "see the CSV columns in the README",
        )
    if df.empty:
        raise ImportFileError(path, fmt, "the file has a header but no rows")
    df = df.reset_index(drop=True)
    if "run_id" in df:
        keys = df["run_id"].astype(object).where(df["run_id"].notna(), "").astype(str)
        groups = [(k, df[keys == k]) for k in dict.fromkeys(keys.tolist())]
    else:
        groups = [("", df)]
    multi = len(groups) > 1
    return [
        _run_from_frame(
            part, path, f"{run_id_prefix}-{k}" if multi else run_id_prefix, fmt, orig, run_id_prefix
        )
        for k, (orig, part) in enumerate(groups)
    ]


def parse_csv(path: Path, run_id_prefix: str) -> list[ParsedRun]:
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except UnicodeDecodeError:
        raise ImportFileError(path, FMT, "the file is not UTF-8 text") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise ImportFileError(path, FMT, f"not a readable CSV: {str(exc).strip()}") from None
    return parse_frame(df, path, run_id_prefix, FMT)


def parse_parquet(path: Path, run_id_prefix: str) -> list[ParsedRun]:
    """An `inferlab export --format parquet` requests file (same columns as the CSV)."""
    try:
        df = pq.read_table(path).to_pandas()
    except (pa.ArrowInvalid, OSError) as exc:
        raise ImportFileError(path, "parquet", f"not a readable Parquet file: {exc}") from None
    return parse_frame(df, path, run_id_prefix, "parquet")


def looks_like_inferlab_json(obj: Any) -> bool:
    return isinstance(obj, dict) and "inferlab_export" in obj and isinstance(obj.get("runs"), list)


def parse_inferlab_json(path: Path, run_id_prefix: str) -> list[ParsedRun]:
    """An `inferlab export --format json` document: runs with settings, metadata and requests."""
    fmt = "inferlab-json"
    doc = read_json_document(path, fmt)
    if not looks_like_inferlab_json(doc):
        raise ImportFileError(path, fmt, "not an inferlab export (no inferlab_export / runs)")
    if not doc["runs"]:
        raise ImportFileError(path, fmt, "the export holds no runs")
    multi = len(doc["runs"]) > 1
    out: list[ParsedRun] = []
    for k, run in enumerate(doc["runs"]):
        where = f"runs[{k}]"
        if not isinstance(run, dict) or not isinstance(run.get("requests"), list):
            raise ImportFileError(path, fmt, f"{where} has no requests list")
        info = run.get("info") if isinstance(run.get("info"), dict) else {}
        assert isinstance(info, dict)
        rows = pd.DataFrame(run["requests"], columns=list(REQUEST_COLUMNS))
        for col in RUN_COLUMNS:
            if col == "run_id":
                continue
            val = info.get(col)
            if col == "tags" and isinstance(val, list):
                val = ";".join(str(t) for t in val)
            rows[col] = None if val is None else str(val)
        if not rows.empty and ("sent_ms" not in rows or "ok" not in rows):
            raise ImportFileError(path, fmt, f"{where}: requests lack sent_ms / ok")
        orig = str(run.get("run_id") or "")
        parsed = _run_from_frame(
            rows, path, f"{run_id_prefix}-{k}" if multi else run_id_prefix, fmt, orig, run_id_prefix
        )
        parsed = replace(parsed, info=_info_from_json(info, parsed.info, run_id_prefix))
        meta = run.get("metadata") if isinstance(run.get("metadata"), dict) else {}
        assert isinstance(meta, dict)
        imp = meta.get("import") if isinstance(meta.get("import"), dict) else {}
        assert isinstance(imp, dict)
        metrics = tuple(
            ToolMetric.from_json(m) for m in meta.get("tool_metrics") or [] if isinstance(m, dict)
        )
        out.append(
            replace(
                parsed,
                tool_metrics=metrics,
                tool_version=str(imp.get("tool_version") or ""),
                notes=tuple(str(n) for n in imp.get("notes") or []),
                per_chunk_timings=bool(imp.get("per_chunk_timings", parsed.per_chunk_timings)),
                send_times_known=bool(imp.get("send_times_known", parsed.send_times_known)),
            )
        )
    return out


def _info_from_json(info: dict[str, Any], base: RunInfo, group_prefix: str) -> RunInfo:
    """The run's settings as the export wrote them (also for runs without requests)."""
    started = base.started_at
    if isinstance(info.get("started_at"), str):
        with contextlib.suppress(ValueError):
            started = datetime.fromisoformat(info["started_at"])
    group = info.get("group_id")
    return replace(
        base,
        started_at=started,
        endpoint=str(info.get("endpoint") or ""),
        model=str(info.get("model") or "unknown"),
        api=str(info.get("api") or "chat"),
        load_mode=str(info.get("load_mode") or "unknown"),
        load_value=float(info.get("load_value") or 0.0),
        label=str(info.get("label") or base.label),
        tags=tuple(str(t) for t in info.get("tags") or ()),
        source_tool=str(info.get("source_tool") or base.source_tool),
        group_id=f"{group_prefix}-{group}" if group else None,
    )
