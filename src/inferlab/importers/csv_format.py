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
import math
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from inferlab.importers.base import (
    ImportFileError,
    JsonError,
    ParsedRun,
    Problems,
    ToolMetric,
    empty_requests,
    finite,
    parse_json,
    read_json_document,
)
from inferlab.importers.checks import check_requests
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


RowName = Callable[[int], str]
_INT32 = 2**31


def _bool_col(
    df: pd.DataFrame, name: str, problems: Problems, row: RowName, default: bool | None
) -> np.ndarray:
    s = df[name]
    text = s.fillna("").astype(str).str.strip().str.lower()
    out = np.zeros(len(text), dtype=bool)
    is_t, is_f = text.isin(_TRUE).to_numpy(), text.isin(_FALSE).to_numpy()
    empty = (text == "").to_numpy()
    bad = ~(is_t | is_f | (empty if default is not None else False))
    for i in np.flatnonzero(bad)[: problems.KEEP]:
        problems.add(row(int(i)), f"column {name} should be true or false, got {s.iloc[i]!r}")
    out[is_t] = True
    if default:
        out[empty] = True
    return out


def _num_col(
    df: pd.DataFrame, name: str, problems: Problems, row: RowName, *, integer: bool = False
) -> np.ndarray:
    """The column as float64 (NaN where empty); unreadable cells are problems.

    Infinite and absurd values are left for `checks.check_requests`, except that an
    integer column must hold whole numbers that fit the store's 32-bit columns.
    """
    if name not in df:
        return np.full(len(df), math.nan)
    raw = df[name]
    num = pd.to_numeric(raw, errors="coerce")
    text = raw.astype(str).str.strip()
    bad = (num.isna() & raw.notna() & (text != "")).to_numpy()
    for i in np.flatnonzero(bad)[: problems.KEEP]:
        problems.add(row(int(i)), f"column {name} is not a number: {raw.iloc[i]!r}")
    out = np.asarray(num.to_numpy(dtype=np.float64, na_value=math.nan), dtype=np.float64)
    if integer:
        with np.errstate(invalid="ignore"):
            given = ~np.isnan(out)
            whole = given & np.isfinite(out) & (out == np.round(out))
            fits = whole & (np.abs(out) < _INT32)
        for i in np.flatnonzero(given & ~whole)[: problems.KEEP]:
            problems.add(
                row(int(i)), f"column {name} should be a whole number, got {raw.iloc[i]!r}"
            )
        for i in np.flatnonzero(whole & ~fits)[: problems.KEEP]:
            problems.add(row(int(i)), f"column {name} is {raw.iloc[i]}, too large for a count")
        out = np.where(fits | ~given, out, math.nan)
    return out


def _list_items(v: Any) -> list[Any] | None:
    """The items of a list cell (a JSON list in a CSV, an array in Parquet); None if not one."""
    if isinstance(v, list | tuple | np.ndarray):
        return list(v)
    try:
        vals = parse_json(str(v))
    except JsonError:
        return None
    return vals if isinstance(vals, list) else None


def _number(x: Any, integer: bool) -> float | int | None:
    """A list item as a number (a whole one that fits 32 bits if `integer`); None if not."""
    if isinstance(x, bool | np.bool_):
        return None
    if isinstance(x, int | np.integer):
        n = int(x)  # JSON integers are unbounded: 99999999999999999999 must not overflow
        if integer:
            return n if abs(n) < _INT32 else None
        return float(n) if abs(n) < 1e300 else None
    if not isinstance(x, float | np.floating):
        return None
    if integer:
        v = float(x)
        return int(v) if math.isfinite(v) and v.is_integer() and abs(v) < _INT32 else None
    try:
        return float(x)  # non-finite values are for checks.check_requests to name
    except OverflowError:
        return None


def _list_col(
    df: pd.DataFrame, name: str, problems: Problems, row: RowName, *, integer: bool
) -> list[list[Any]]:
    if name not in df:
        return [[] for _ in range(len(df))]
    example = "[1, 2, 1]" if integer else "[101.5, 111.2]"
    what = "whole numbers" if integer else "numbers"
    out: list[list[Any]] = []
    for i, v in enumerate(df[name].tolist()):
        if not isinstance(v, list | tuple | np.ndarray) and (
            v is None or (isinstance(v, float) and math.isnan(v)) or str(v).strip() == ""
        ):
            out.append([])
            continue
        items = _list_items(v)
        nums = [_number(x, integer) for x in items] if items is not None else [None]
        if any(x is None for x in nums):
            problems.add(
                row(i),
                f"column {name} should be a JSON list of {what} like {example}, "
                f"got {str(v)[:60]!r}",
            )
            out.append([])
            continue
        out.append(nums)
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


def _table(df: pd.DataFrame, problems: Problems, row: RowName) -> pa.Table:
    """The request columns of `df`; every unreadable cell is added to `problems` and
    left blank, so the caller can still check the readable ones."""
    n = len(df)
    sent = _num_col(df, "sent_ms", problems, row)
    blank = (df["sent_ms"].isna() | (df["sent_ms"].astype(str).str.strip() == "")).to_numpy()
    for i in np.flatnonzero(blank)[: problems.KEEP]:
        problems.add(row(int(i)), "sent_ms is empty")
    sched = _num_col(df, "scheduled_ms", problems, row)
    sched = np.where(np.isnan(sched), sent, sched)
    idx = _num_col(df, "index", problems, row, integer=True)
    idx = np.where(np.isnan(idx), np.arange(n), idx)
    ok = _bool_col(df, "ok", problems, row, None)
    warm = (
        _bool_col(df, "warmup", problems, row, False) if "warmup" in df else np.zeros(n, dtype=bool)
    )
    floats = {c: _num_col(df, c, problems, row) for c in ("ttft_ms", "e2e_ms", "ttfot_ms")}
    ints = {
        c: _num_col(df, c, problems, row, integer=True)
        for c in ("input_tokens", "output_tokens", "http_status")
    }
    offsets = _list_col(df, "chunk_offsets_ms", problems, row, integer=False)
    tokens = _list_col(df, "chunk_tokens", problems, row, integer=True)
    # Unreadable cells are blank (NaN, false, []) from here on, so `check_requests` still
    # names every impossible value of the readable ones: all bad rows in one pass.
    sources = [s if s in _SOURCES else "unknown" for s in _str_col(df, "token_count_source")]
    return pa.table(
        {
            "idx": pa.array(idx.astype(np.int32)),
            "scheduled_ms": pa.array(sched),
            "sent_ms": pa.array(sent),
            "ok": pa.array(ok),
            **{c: _opt(v, pa.float64()) for c, v in floats.items()},
            "chunk_offsets_ms": pa.array(offsets, type=pa.list_(pa.float64())),
            "chunk_tokens": pa.array(tokens, type=pa.list_(pa.int32())),
            "input_tokens": _opt(ints["input_tokens"], pa.int32()),
            "output_tokens": _opt(ints["output_tokens"], pa.int32()),
            "token_count_source": pa.array(sources, type=pa.string()),
            "http_status": _opt(ints["http_status"], pa.int32()),
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
    part: pd.DataFrame,
    path: Path,
    run_id: str,
    fmt: str,
    orig_id: str,
    group_prefix: str,
    problems: Problems,
    row: RowName,
) -> ParsedRun:
    """One run of a frame's rows; unreadable or impossible values are added to `problems`."""
    table = empty_requests()
    if len(part):
        table = _table(part, problems, row)
        check_requests(table, problems, row)
    started = datetime.now(UTC)
    raw_start = _first(part, "started_at")
    if raw_start:
        try:
            started = datetime.fromisoformat(raw_start)
        except ValueError:
            problems.add("", f"started_at {raw_start!r} is not an ISO 8601 time")
        if started.tzinfo is None:
            started = started.replace(tzinfo=UTC)
    load_value = 0.0
    raw_load = _first(part, "load_value")
    if raw_load:
        value = finite(raw_load)
        if value is None:
            problems.add("", f"load_value {raw_load!r} is not a finite number")
        load_value = value or 0.0
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
    n_chunks = pc.list_value_length(table.column("chunk_offsets_ms")).to_numpy(zero_copy_only=False)
    return ParsedRun(
        info=info,
        requests=table,
        per_chunk_timings=bool(np.any(np.nan_to_num(n_chunks) > 1)),
        send_times_known=len(part) > 0,
        extra={"original_run_id": orig_id} if orig_id else {},
    )


def parse_frame(df: pd.DataFrame, path: Path, run_id_prefix: str, fmt: str) -> list[ParsedRun]:
    """Runs from a table of requests with inferlab's columns (CSV or Parquet).

    Every unreadable or impossible cell is reported (the first few named by row and
    column), not just the first.
    """
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
    first_row = 2 if fmt == FMT else 1  # a CSV's row 1 is its header
    problems = Problems(path, fmt)
    runs = []
    for k, (orig, part) in enumerate(groups):
        labels = part.index.to_numpy()

        def row(i: int, labels: np.ndarray = labels) -> str:
            return f"row {int(labels[i]) + first_row:,}"

        run_id = f"{run_id_prefix}-{k}" if multi else run_id_prefix
        runs.append(_run_from_frame(part, path, run_id, fmt, orig, run_id_prefix, problems, row))
    problems.check()
    return runs


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
        problems = Problems(path, fmt)

        def row(i: int, where: str = where) -> str:
            return f"{where}.requests[{i}]"

        run_id = f"{run_id_prefix}-{k}" if multi else run_id_prefix
        parsed = _run_from_frame(rows, path, run_id, fmt, orig, run_id_prefix, problems, row)
        problems.check()
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
        load_value=finite(info.get("load_value")) or 0.0,
        label=str(info.get("label") or base.label),
        tags=tuple(str(t) for t in info.get("tags") or ()),
        source_tool=str(info.get("source_tool") or base.source_tool),
        group_id=f"{group_prefix}-{group}" if group else None,
    )
