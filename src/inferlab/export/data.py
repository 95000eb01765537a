"""Per-request data and summaries of stored runs as CSV, Parquet or JSON.

The request rows carry inferlab's CSV columns (see `inferlab.importers.csv_format`),
so an exported CSV imports back into the same summaries. Nothing secret is
written: endpoints are stored without credentials and are scrubbed again here,
settings pass through the store's secret filter, and no API key is ever stored.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from inferlab import __version__, jsonsafe
from inferlab.importers.csv_format import REQUEST_COLUMNS, RUN_COLUMNS
from inferlab.records import RunInfo
from inferlab.store import Store, UnknownRunError
from inferlab.store.redact import clean_endpoint, clean_settings

__all__ = [
    "EXPORT_FORMATS",
    "export_bytes",
    "export_runs",
    "output_paths",
    "requests_frame",
    "summaries_frame",
]

EXPORT_FORMATS = ("csv", "parquet", "json")


def _require(store: Store, run_ids: Sequence[str]) -> None:
    if not run_ids:
        raise UnknownRunError("no runs given; `inferlab runs` lists the run ids")
    for rid in run_ids:
        if store.get_run(rid) is None:
            raise UnknownRunError(f"no run {rid!r} in {store.path}; `inferlab runs` lists them")


def _plain(x: Any) -> Any:
    """numpy / pandas scalars and arrays as JSON-ready Python values."""
    if isinstance(x, np.ndarray):
        return [_plain(v) for v in x.tolist()]
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and math.isnan(x):
        return None
    if x is pd.NA or x is pd.NaT:
        return None
    return x


def _run_columns(info: RunInfo) -> dict[str, Any]:
    """A run's settings as flat CSV columns (endpoint cleaned, tags joined with ';')."""
    return {
        "label": info.label,
        "source_tool": info.source_tool,
        "model": info.model,
        "endpoint": clean_endpoint(info.endpoint),
        "api": info.api,
        "load_mode": info.load_mode,
        "load_value": info.load_value,
        "started_at": info.started_at.astimezone(UTC).isoformat(),
        "group_id": info.group_id,
        "tags": ";".join(info.tags),
    }


def requests_frame(store: Store, run_ids: Sequence[str]) -> pd.DataFrame:
    """One row per request of every run (list columns), with the run's settings repeated."""
    _require(store, run_ids)
    parts = []
    for rid in run_ids:
        info = store.get_run(rid)
        assert info is not None
        df = store.requests_frame(rid)
        out = pd.DataFrame({c: df.get(c) for c in REQUEST_COLUMNS}, index=df.index)
        out.insert(0, "run_id", rid)
        for column, value in _run_columns(info).items():
            out[column] = value
        parts.append(out)
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    cols = ["run_id", *REQUEST_COLUMNS, *[c for c in RUN_COLUMNS if c != "run_id"]]
    return frame[cols]


def _flat_summary(summary: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for k, v in summary.items():
        if isinstance(v, dict) and k.endswith("_ms"):
            for stat, x in v.items():
                flat[f"{k.removesuffix('_ms')}_{stat}_ms"] = x
        elif isinstance(v, dict):
            flat[k] = jsonsafe.dumps(v) if v else ""
        else:
            flat[k] = v
    return flat


def summaries_frame(store: Store, run_ids: Sequence[str]) -> pd.DataFrame:
    """One row per run: settings and the summary (ttft_p50_ms, rps, ... flattened)."""
    _require(store, run_ids)
    rows = []
    for rid in run_ids:
        info = store.get_run(rid)
        assert info is not None
        row = {"run_id": rid, **_run_columns(info)}
        summary = store.summary(rid).to_json()
        summary.pop("run_id", None)
        row.update(_flat_summary(summary))
        rows.append(row)
    return pd.DataFrame(rows)


def _json_document(store: Store, run_ids: Sequence[str]) -> dict[str, Any]:
    _require(store, run_ids)
    runs = []
    for rid in run_ids:
        info = store.get_run(rid)
        assert info is not None
        meta = clean_settings(store.run_metadata(rid))
        df = store.requests_frame(rid)
        reqs = [
            {c: _plain(row[c]) for c in REQUEST_COLUMNS if c in df} for row in df.to_dict("records")
        ]
        runs.append(
            {
                "run_id": rid,
                "info": {
                    "label": info.label,
                    "started_at": info.started_at.astimezone(UTC).isoformat(),
                    "endpoint": clean_endpoint(info.endpoint),
                    "model": info.model,
                    "api": info.api,
                    "load_mode": info.load_mode,
                    "load_value": info.load_value,
                    "tags": list(info.tags),
                    "source_tool": info.source_tool,
                    "group_id": info.group_id,
                    "settings": clean_settings(info.settings),
                    "status": store.run_status(rid),
                },
                "metadata": meta,
                "summary": store.summary(rid).to_json(),
                "requests": reqs,
            }
        )
    return {
        "inferlab_export": 1,
        "inferlab_version": __version__,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "runs": runs,
    }


def output_paths(fmt: str, out: Path) -> tuple[Path, Path | None]:
    """(requests file, summaries file) for `out`; JSON is one file holding both."""
    if fmt == "json":
        return out, None
    return out, out.with_name(f"{out.stem}.summaries{out.suffix or '.' + fmt}")


def _csv_ready(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in ("chunk_offsets_ms", "chunk_tokens"):
        if col in out:
            out[col] = [jsonsafe.dumps(v) if v is not None and len(v) else "" for v in out[col]]
    return out


def export_runs(store: Store, run_ids: Sequence[str], fmt: str, out: str | Path) -> list[Path]:
    """Write the runs' requests and summaries in `fmt`; returns the files written."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}")
    out = Path(out)
    req_path, sum_path = output_paths(fmt, out)
    if fmt == "json":
        doc = _json_document(store, run_ids)
        req_path.write_text(jsonsafe.dumps(doc, indent=1), encoding="utf-8")
        return [req_path]
    reqs = requests_frame(store, run_ids)
    sums = summaries_frame(store, run_ids)
    assert sum_path is not None
    if fmt == "csv":
        _csv_ready(reqs).to_csv(req_path, index=False)
        sums.to_csv(sum_path, index=False)
    else:
        reqs.to_parquet(req_path, index=False)
        sums.to_parquet(sum_path, index=False)
    return [req_path, sum_path]


def export_bytes(store: Store, run_ids: Sequence[str], fmt: str) -> dict[str, bytes]:
    """The export as {file name: bytes} (for download buttons): requests and summaries."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="inferlab-export-") as tmp:
        paths = export_runs(store, run_ids, fmt, Path(tmp) / f"inferlab-runs.{fmt}")
        return {p.name: p.read_bytes() for p in paths}
