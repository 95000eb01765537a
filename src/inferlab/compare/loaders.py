"""Runs from the store for comparison: loading their requests, the run table, the delta table.

Used by the Runs page, `inferlab compare` and the HTML report alike. The page's
URL parameters live in :mod:`inferlab.dashboard.runs`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from inferlab.compare.runs import (
    METRIC_BY_KEY,
    RunRequests,
    Slo,
    negligible,
)
from inferlab.probe.config import describe_load
from inferlab.store import Store

__all__ = [
    "METRIC_KEYS",
    "METRIC_NAMES",
    "DeltaView",
    "filter_runs",
    "fmt_value",
    "load_run",
    "run_option_label",
    "run_table",
    "saturated_runs",
    "slo_from_values",
    "wide_delta_table",
]

METRIC_NAMES = {"ttft": "TTFT", "tpot": "TPOT", "itl": "ITL", "e2e": "E2E"}
METRIC_KEYS = {v: k for k, v in METRIC_NAMES.items()}  # the URL carries "TTFT", ...
DEFAULT_CONVENTION = "inferlab"
DEFAULT_METRIC = "ttft"


def slo_from_values(ttft_ms: float | None, tpot_ms: float | None, e2e_ms: float | None) -> Slo:
    """An SLO from the panel's inputs; 0 or empty means no limit."""

    def lim(v: float | None) -> float | None:
        return float(v) if v is not None and v > 0 else None

    return Slo(lim(ttft_ms), lim(tpot_ms), lim(e2e_ms))


# --------------------------------------------------------------------------- run table


def _tags(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, float) and math.isnan(value):
        return []
    return [str(t) for t in value]  # type: ignore[attr-defined]


def run_option_label(row: Mapping[str, object]) -> str:
    """'label · model · 2026-11-28 00:40 (run id)' for selection widgets."""
    label = str(row.get("label") or "") or "(no label)"
    started = pd.Timestamp(row.get("started_at"))  # type: ignore[arg-type]
    date = started.strftime("%Y-%m-%d %H:%M") if not pd.isna(started) else "?"
    return f"{label} · {row.get('model')} · {date} ({row.get('run_id')})"


def _load(row: pd.Series) -> str:
    mode, value = row.get("load_mode"), row.get("load_value")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return str(mode)
    return describe_load(str(mode), float(value))


def _status(row: pd.Series) -> str:
    """The run's status, marked when the load saturated the server (issue 13)."""
    reason = row.get("saturation")
    if isinstance(reason, str) and reason:
        return f"{row.get('status')} · over-saturated"
    return str(row.get("status"))


def saturated_runs(runs: pd.DataFrame) -> dict[str, str]:
    """run_id -> why the server could not keep up, for the runs the probe flagged."""
    if "saturation" not in runs.columns:
        return {}
    flagged = runs[runs["saturation"].notna() & (runs["saturation"] != "")]
    return {str(r): str(s) for r, s in zip(flagged["run_id"], flagged["saturation"], strict=True)}


def filter_runs(
    runs: pd.DataFrame,
    text: str = "",
    tags: Sequence[str] = (),
    sources: Sequence[str] = (),
) -> pd.DataFrame:
    """Runs whose label/model/endpoint/id contains `text`, carrying all `tags`, from `sources`."""
    mask = pd.Series(True, index=runs.index)
    needle = text.strip().lower()
    if needle:
        hay = (
            runs["label"].fillna("")
            + " "
            + runs["model"].fillna("")
            + " "
            + runs["endpoint"].fillna("")
            + " "
            + runs["run_id"]
        ).str.lower()
        mask &= hay.str.contains(needle, regex=False)
    if tags:
        mask &= runs["tags"].map(lambda t: set(tags) <= set(_tags(t)))
    if sources:
        mask &= runs["source_tool"].isin(list(sources))
    return runs[mask]


def run_table(runs: pd.DataFrame, verdicts: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The run list as shown: one row per run, units in the column names; with
    `verdicts` (run id -> valid / suspect / unknown) a Validity column too."""
    table = pd.DataFrame(
        {
            "Label": runs["label"].fillna(""),
            "Tags": runs["tags"].map(lambda t: ", ".join(_tags(t))),
            "Model": runs["model"],
            "Endpoint": runs["endpoint"],
            "Date (UTC)": pd.to_datetime(runs["started_at"]),
            "Load": runs.apply(_load, axis=1) if len(runs) else pd.Series(dtype=str),
            "Requests": runs["requests"],
            "TTFT p50 (ms)": runs["ttft_p50_ms"],
            "TTFT p95 (ms)": runs["ttft_p95_ms"],
            "TPOT p50 (ms)": runs["tpot_p50_ms"],
            "E2E p95 (ms)": runs["e2e_p95_ms"],
            "Error rate (%)": 100 * runs["error_rate"],
            "Source": runs["source_tool"],
            "Status": runs.apply(_status, axis=1) if len(runs) else runs["status"],
            "Run id": runs["run_id"],
        }
    ).reset_index(drop=True)
    if verdicts is not None:
        table.insert(
            list(table.columns).index("Status"),
            "Validity",
            [verdicts.get(str(rid), "unknown") for rid in table["Run id"]],
        )
    return table


# --------------------------------------------------------------------------- loading


def load_run(store: Store, run_id: str, row: Mapping[str, Any] | None = None) -> RunRequests:
    """One run's requests from the store as arrays.

    `row` is the run's `Store.list_runs()` row when the caller has it (saves a
    query); otherwise the run's settings are read with `Store.get_run`.
    """
    mode: Any
    value: Any
    if row is None:
        info = store.get_run(run_id)
        if info is None:
            raise KeyError(run_id)
        label, mode, value = info.label, info.load_mode, info.load_value
        meta = {"group_id": info.group_id, "model": info.model, "endpoint": info.endpoint}
    else:
        label, mode, value = (
            str(row.get("label") or ""),
            row.get("load_mode"),
            row.get("load_value"),
        )
        meta = {k: row.get(k) for k in ("group_id", "model", "endpoint")}
    table = store.requests_table(run_id, _LOAD_COLUMNS, warmup=False)
    return _run_requests(
        run_id,
        table,
        label=label or run_id,
        load_mode=str(mode),
        load_value=float(value) if value is not None else math.nan,
        meta=meta,
    )


def load_runs(
    store: Store, run_ids: Sequence[str], rows: Mapping[str, Mapping[str, Any]]
) -> list[RunRequests]:
    """Several runs' requests (`load_run` each) read in one store session.

    `rows` maps run ids to their `Store.list_runs()` rows; a run missing there
    is read with `load_run` (its settings via `Store.get_run`).
    """
    known = [rid for rid in run_ids if rid in rows]
    tables = store.requests_tables(known, _LOAD_COLUMNS, warmup=False)
    out = []
    for rid in run_ids:
        if rid not in tables:
            out.append(load_run(store, rid))
            continue
        row = rows[rid]
        value = row.get("load_value")
        out.append(
            _run_requests(
                rid,
                tables[rid],
                label=str(row.get("label") or "") or rid,
                load_mode=str(row.get("load_mode")),
                load_value=float(value) if value is not None else math.nan,
                meta={k: row.get(k) for k in ("group_id", "model", "endpoint")},
            )
        )
    return out


_LOAD_COLUMNS = (
    "idx",
    "scheduled_ms",
    "sent_ms",
    "ok",
    "ttft_ms",
    "e2e_ms",
    "output_tokens",
    "input_tokens",
    "chunk_offsets_ms",
    "error_class",
)


def _run_requests(
    run_id: str,
    table: pa.Table,
    *,
    label: str,
    load_mode: str,
    load_value: float,
    meta: Mapping[str, Any],
) -> RunRequests:
    """`RunRequests` straight from Arrow columns (warm-up already left out).

    Same arrays as `RunRequests.from_frame(store.requests_frame(...))`, without
    a pandas column of per-request lists: nulls become NaN (numbers), False
    (`ok`), "" (`error_class`) or an empty list (chunk offsets).
    """

    def floats(name: str) -> np.ndarray:
        out: np.ndarray = table.column(name).cast(pa.float64()).to_numpy()
        return out

    sent = floats("sent_ms")
    scheduled = floats("scheduled_ms")
    offsets = table.column("chunk_offsets_ms").combine_chunks()
    counts = pc.fill_null(pc.list_value_length(offsets), 0).to_numpy().astype(np.int64)
    flat = pc.list_flatten(offsets).cast(pa.float64()).to_numpy() if counts.any() else np.empty(0)
    return RunRequests(
        run_id=run_id,
        label=label,
        index=table.column("idx").to_numpy().astype(np.int64),
        scheduled_ms=np.where(np.isnan(scheduled), sent, scheduled),
        sent_ms=sent,
        ok=pc.fill_null(table.column("ok"), False).to_numpy().astype(bool),
        ttft_ms=floats("ttft_ms"),
        e2e_ms=floats("e2e_ms"),
        output_tokens=floats("output_tokens"),
        chunk_offsets=flat,
        chunk_counts=counts,
        error_class=pc.fill_null(table.column("error_class"), "").to_numpy(zero_copy_only=False),
        load_mode=load_mode,
        load_value=float(load_value),
        meta=dict(meta),
        input_tokens=floats("input_tokens"),
    )


# --------------------------------------------------------------------------- delta table


def fmt_value(value: float | None, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if unit == "%":
        return f"{value:.2f} %"
    if unit == "ms":
        return f"{value:,.1f} ms" if abs(value) < 10_000 else f"{value / 1000:,.2f} s"
    return f"{value:,.2f} {unit}"


def _fmt_delta(abs_delta: float, pct: float, unit: str) -> str:
    if math.isnan(abs_delta):
        return ""
    a = (
        f"{abs_delta:+.2f} pp"
        if unit == "%"
        else f"{abs_delta:+,.1f} ms"
        if unit == "ms"
        else f"{abs_delta:+,.2f}"
    )
    return f"{pct:+.1f}% ({a})" if not math.isnan(pct) else a


@dataclass(frozen=True)
class DeltaView:
    """The comparison as a metrics x runs grid of text and a matching grid of colours."""

    text: pd.DataFrame
    colors: pd.DataFrame  # "better" | "worse" | "noise" | "" per cell


def wide_delta_table(table: pd.DataFrame, baseline_id: str) -> DeltaView:
    """Rows: metrics; columns: runs (baseline first). A cell reads
    '212.3 ms · +6.2% (+12.4 ms) · CI +3.1 to +20.8' for a run and just the value
    for the baseline. Colour: better/worse when the change is real (CI excludes 0,
    or no CI for throughput and errors), 'noise' when the CI includes 0."""
    runs = list(dict.fromkeys(table["run_id"]))
    runs.remove(baseline_id)
    runs.insert(0, baseline_id)
    labels = dict(zip(table["run_id"], table["run_label"], strict=False))
    # run_label is the run's unique name (the verdict's, the legends'): no id needed.
    headers = {r: f"{labels[r]} (baseline)" if r == baseline_id else labels[r] for r in runs}
    text: dict[str, list[str]] = {headers[r]: [] for r in runs}
    colors: dict[str, list[str]] = {headers[r]: [] for r in runs}
    index: list[str] = []
    for metric, group in table.groupby("metric", sort=False):
        spec = METRIC_BY_KEY[str(metric)]
        index.append(f"{spec.label} ({spec.unit})")
        by_run: dict[str, Any] = {str(row.run_id): row for row in group.itertuples()}
        for r in runs:
            row = by_run[r]
            val = fmt_value(row.value, spec.unit)
            if r == baseline_id:
                text[headers[r]].append(val)
                colors[headers[r]].append("")
                continue
            parts = [val]
            d = _fmt_delta(row.abs_delta, row.pct_delta, spec.unit)
            if d:
                parts.append(d)
            ci_low, ci_high = row.ci_low, row.ci_high
            has_ci = ci_low is not None and not (isinstance(ci_low, float) and math.isnan(ci_low))
            if has_ci:
                digits = 1 if spec.unit == "ms" else 2
                parts.append(f"CI {ci_low:+,.{digits}f} to {ci_high:+,.{digits}f}")
            text[headers[r]].append(" · ".join(parts))
            if row.is_better is None or (isinstance(row.is_better, float)):
                colors[headers[r]].append("")
            elif (has_ci and not row.significant) or negligible(float(row.pct_delta)):
                colors[headers[r]].append("noise")
            else:
                colors[headers[r]].append("better" if row.is_better else "worse")
    return DeltaView(pd.DataFrame(text, index=index), pd.DataFrame(colors, index=index))


def finite(values: np.ndarray) -> np.ndarray:
    out: np.ndarray = values[~np.isnan(values)]
    return out
