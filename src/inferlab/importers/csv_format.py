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

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from inferlab.importers.base import ImportFileError, ParsedRun, empty_requests
from inferlab.records import RunInfo

__all__ = ["REQUEST_COLUMNS", "REQUIRED_COLUMNS", "RUN_COLUMNS", "looks_like_csv", "parse_csv"]

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
    s: pd.Series, name: str, path: Path, rows: pd.Index, default: bool | None
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
            FMT,
            f"row {rows[i] + 2}: column {name} should be true or false, got {s.iloc[i]!r}",
        )
    out[is_t] = True
    if default:
        out[empty] = True
    return out


def _num_col(df: pd.DataFrame, name: str, path: Path) -> np.ndarray:
    if name not in df:
        return np.full(len(df), math.nan)
    raw = df[name]
    num = pd.to_numeric(raw, errors="coerce")
    bad = num.isna() & raw.notna() & (raw.astype(str).str.strip() != "")
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise ImportFileError(
            path, FMT, f"row {df.index[i] + 2}: column {name} is not a number: {raw.iloc[i]!r}"
        )
    return np.asarray(num.to_numpy(dtype=np.float64, na_value=math.nan))


def _list_col(df: pd.DataFrame, name: str, path: Path, kind: type) -> list[list[Any]]:
    if name not in df:
        return [[] for _ in range(len(df))]
    out: list[list[Any]] = []
    for i, v in enumerate(df[name].tolist()):
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
                FMT,
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


def _table(df: pd.DataFrame, path: Path) -> pa.Table:
    n = len(df)
    sent = _num_col(df, "sent_ms", path)
    if np.isnan(sent).any():
        i = int(np.flatnonzero(np.isnan(sent))[0])
        raise ImportFileError(path, FMT, f"row {df.index[i] + 2}: sent_ms is empty")
    sched = _num_col(df, "scheduled_ms", path)
    sched = np.where(np.isnan(sched), sent, sched)
    idx = _num_col(df, "index", path)
    idx = np.where(np.isnan(idx), np.arange(n), idx)
    ok = _bool_col(df["ok"], "ok", path, df.index, None)
    warm = (
        _bool_col(df["warmup"], "warmup", path, df.index, False)
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
            "ttft_ms": _opt(_num_col(df, "ttft_ms", path), pa.float64()),
            "e2e_ms": _opt(_num_col(df, "e2e_ms", path), pa.float64()),
            "ttfot_ms": _opt(_num_col(df, "ttfot_ms", path), pa.float64()),
            "chunk_offsets_ms": pa.array(
                _list_col(df, "chunk_offsets_ms", path, float), type=pa.list_(pa.float64())
            ),
            "chunk_tokens": pa.array(
                _list_col(df, "chunk_tokens", path, int), type=pa.list_(pa.int32())
            ),
            "input_tokens": _opt(_num_col(df, "input_tokens", path), pa.int32()),
            "output_tokens": _opt(_num_col(df, "output_tokens", path), pa.int32()),
            "token_count_source": pa.array(sources, type=pa.string()),
            "http_status": _opt(_num_col(df, "http_status", path), pa.int32()),
            "error_class": pa.array(_str_col(df, "error_class"), type=pa.string()),
            "error_message": pa.array(_str_col(df, "error_message"), type=pa.string()),
            "warmup": pa.array(warm),
        },
        schema=empty_requests().schema,
    )


def _first(df: pd.DataFrame, name: str) -> str | None:
    vals = _str_col(df, name)
    return next((v for v in vals if v is not None), None)


def parse_csv(path: Path, run_id_prefix: str) -> list[ParsedRun]:
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except UnicodeDecodeError:
        raise ImportFileError(path, FMT, "the file is not UTF-8 text") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise ImportFileError(path, FMT, f"not a readable CSV: {str(exc).strip()}") from None
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        found = ", ".join(list(df.columns)[:8]) or "none"
        raise ImportFileError(
            path,
            FMT,
            f"missing required column(s) {', '.join(missing)} (columns found: {found}); "
            "see the CSV columns in the README",
        )
    if df.empty:
        raise ImportFileError(path, FMT, "the CSV has a header but no rows")
    if "run_id" in df:
        keys = df["run_id"].fillna("")
        groups = [(k, df[keys == k]) for k in dict.fromkeys(keys.tolist())]
    else:
        groups = [("", df)]
    multi = len(groups) > 1
    runs: list[ParsedRun] = []
    for k, (orig_id, part) in enumerate(groups):
        table = _table(part, path)
        started = datetime.now(UTC)
        raw_start = _first(part, "started_at")
        if raw_start:
            try:
                started = datetime.fromisoformat(raw_start)
            except ValueError:
                raise ImportFileError(
                    path, FMT, f"started_at {raw_start!r} is not an ISO 8601 time"
                ) from None
            if started.tzinfo is None:
                started = started.replace(tzinfo=UTC)
        load_value = 0.0
        raw_load = _first(part, "load_value")
        if raw_load:
            try:
                load_value = float(raw_load)
            except ValueError:
                raise ImportFileError(
                    path, FMT, f"load_value {raw_load!r} is not a number"
                ) from None
        tags = tuple(t.strip() for t in (_first(part, "tags") or "").split(";") if t.strip())
        info = RunInfo(
            run_id=f"{run_id_prefix}-{k}" if multi else run_id_prefix,
            started_at=started,
            endpoint=_first(part, "endpoint") or "",
            model=_first(part, "model") or "unknown",
            api=_first(part, "api") or "chat",
            load_mode=_first(part, "load_mode") or "unknown",
            load_value=load_value,
            label=_first(part, "label") or (f"CSV {orig_id}" if orig_id else f"CSV {path.stem}"),
            tags=tags,
            source_tool=_first(part, "source_tool") or "csv",
            group_id=(_first(part, "group_id") and f"{run_id_prefix}-{_first(part, 'group_id')}"),
            settings={},
        )
        n_chunks = [len(x) for x in table.column("chunk_offsets_ms").to_pylist()]
        runs.append(
            ParsedRun(
                info=info,
                requests=table,
                per_chunk_timings=any(c > 1 for c in n_chunks),
                send_times_known=True,
                extra={"original_run_id": orig_id} if orig_id else {},
            )
        )
    return runs
