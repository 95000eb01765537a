"""The Runs page's state: its URL parameters (runs, baseline, convention, metric, SLO),
their checks and the share link, and the views it shows (comparison values, the
scatter, sweep sentences, the SLO and Little's-law tables). The page lays these
out; every number comes from :mod:`inferlab.compare`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pandas as pd

from inferlab.charts.runs import ScatterSeries, order_statistics
from inferlab.compare.loaders import DEFAULT_CONVENTION, DEFAULT_METRIC, METRIC_KEYS, METRIC_NAMES
from inferlab.compare.runs import (
    CONVENTIONS,
    LATENCY_METRICS,
    MAX_COMPARE,
    LittleCheck,
    RunRequests,
    Slo,
    SloResult,
    SweepAnalysis,
    compare_table,
    request_values,
    row_name_entry,
    run_names,
    sorted_metric_values,
    unique_names,
)
from inferlab.dashboard.params import NumberParam, check_params

__all__ = [
    "MISS_COLUMNS",
    "SLO_PARAMS",
    "SLO_SPEC",
    "Rows",
    "chip_names",
    "comparison_view",
    "default_baseline",
    "first_sweep_with",
    "link_problems",
    "little_frame",
    "metric_label",
    "parse_tags",
    "rejected_link_params",
    "request_position",
    "request_title",
    "rows_by_run_id",
    "run_name",
    "run_version",
    "runs_link_params",
    "runs_share_url",
    "runs_without_requests",
    "scatter_series",
    "selection_names",
    "slo_frame",
    "slowest_completed",
    "source_options",
    "sweep_group_label",
    "sweep_groups",
    "sweep_sentences",
    "tag_options",
    "tags_text",
    "url_run_ids",
]

Rows = Mapping[str, Mapping[str, Any]]  # run id -> its row of `Store.list_runs`

MAX_LIMIT_MS = 3_600_000.0
SLO_PARAMS: tuple[NumberParam, ...] = (
    NumberParam("slo_ttft_ms", "TTFT limit (ms)", 0.0, 0.0, MAX_LIMIT_MS),
    NumberParam("slo_tpot_ms", "TPOT limit (ms)", 0.0, 0.0, MAX_LIMIT_MS),
    NumberParam("slo_e2e_ms", "E2E limit (ms)", 0.0, 0.0, MAX_LIMIT_MS),
    NumberParam("slo_target_pct", "Attainment target (%)", 95.0, 1.0, 100.0),
)
SLO_SPEC = {p.name: p for p in SLO_PARAMS}


def _all(query: Mapping[str, str | list[str]], name: str) -> list[str]:
    raw = query.get(name)
    if raw is None:
        return []
    return list(raw) if isinstance(raw, list) else [raw]


def url_run_ids(query: Mapping[str, str | list[str]]) -> list[str]:
    """Run ids in the link (`runs` repeated, as Streamlit writes them), de-duplicated."""
    out: list[str] = []
    for raw in _all(query, "runs"):
        if raw and raw not in out:
            out.append(raw)
    return out


def link_problems(query: Mapping[str, str | list[str]], existing_ids: Iterable[str]) -> list[str]:
    """Messages for every link value the page cannot use, naming it and the fallback."""
    existing = set(existing_ids)
    messages: list[str] = []
    ids = url_run_ids(query)
    missing = [i for i in ids if i not in existing]
    if missing:
        shown = ", ".join(f"`{i}`" for i in missing)
        rest = len(ids) - len(missing)
        messages.append(
            f"The link names {len(missing)} run(s) that no longer exist: {shown}. "
            + (
                f"Showing the other {rest}."
                if rest
                else "None of its runs exist; showing the newest runs instead."
            )
        )
    found = [i for i in ids if i in existing]
    if len(found) > MAX_COMPARE:
        messages.append(
            f"The link selects {len(found)} runs; at most {MAX_COMPARE} can be compared, "
            f"so only the first {MAX_COMPARE} are shown."
        )
    baseline = _all(query, "baseline")
    if baseline and found and baseline[-1] not in found[:MAX_COMPARE]:
        messages.append(
            f"The link's `baseline` ({baseline[-1]}) is not among the selected runs; "
            "using the oldest selected run (in a sweep, its lowest load) as the baseline."
        )
    for name, allowed, default in _CHOICES:
        value = _all(query, name)
        if value and value[-1] not in allowed:
            messages.append(
                f"The link's `{name}` ({value[-1] or 'empty'}) was ignored: choose one of "
                f"{', '.join(allowed)}. Using {default} instead."
            )
    for problem in check_params(query, SLO_PARAMS):
        messages.append(problem.message(SLO_SPEC[problem.name].label))
    return messages


_CHOICES = (
    ("convention", tuple(CONVENTIONS), DEFAULT_CONVENTION),
    ("metric", tuple(METRIC_KEYS), METRIC_NAMES[DEFAULT_METRIC]),
)


def rejected_link_params(query: Mapping[str, str | list[str]]) -> list[str]:
    """The bound parameters `link_problems` rejects: their widgets must start at the default.

    (Streamlit would otherwise seed them with the rejected value: `convention=` made the
    segmented control return "" and the page fail.)
    """
    names = [
        name
        for name, allowed, _ in _CHOICES
        if (value := _all(query, name)) and any(v not in allowed for v in value)
    ]
    return names + [p.name for p in check_params(query, SLO_PARAMS)]


def runs_link_params() -> frozenset[str]:
    """Every name a Runs link can carry (anything else is not a setting of the page)."""
    return frozenset(["runs", "baseline", "convention", "metric", *(p.name for p in SLO_PARAMS)])


def runs_share_url(
    base_url: str,
    run_ids: Sequence[str],
    baseline: str | None,
    convention: str,
    metric: str,
    slo_values: Mapping[str, float | None],
    default_baseline: str | None = None,
) -> str:
    """The share link: run ids always, other values only when not the default
    (the baseline when not `default_baseline`, the one the page picks by itself;
    without it, the first run)."""
    base = base_url.split("?", 1)[0]
    params: list[tuple[str, str]] = [("runs", r) for r in run_ids]
    default = default_baseline or (run_ids[0] if run_ids else None)
    if baseline and run_ids and baseline != default:
        params.append(("baseline", baseline))
    if convention != DEFAULT_CONVENTION:
        params.append(("convention", convention))
    if metric != DEFAULT_METRIC:
        params.append(("metric", METRIC_NAMES[metric]))
    for p in SLO_PARAMS:
        v = slo_values.get(p.name)
        if v is not None and v != p.default:
            params.append((p.name, f"{v:g}"))
    return f"{base}?{urlencode(params)}" if params else base


# -- the run table -------------------------------------------------------------------------


def rows_by_run_id(runs: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """`Store.list_runs` rows keyed by run id."""
    return {str(r["run_id"]): {str(k): v for k, v in r.items()} for r in runs.to_dict("records")}


def run_name(rows: Rows, run_id: str) -> str:
    """A run's label, or its id when it has none."""
    return str(rows[run_id].get("label") or run_id)


def run_version(row: Mapping[str, Any]) -> str:
    """Status and request count: changes while a run grows, so cached views refresh."""
    return f"{row.get('status')}:{row.get('requests')}"


def runs_without_requests(rows: Rows, run_ids: Sequence[str]) -> list[str]:
    """The runs that hold no per-request data (aggregate-only imports, empty runs)."""
    return [rid for rid in run_ids if not (rows[rid].get("requests") or 0) > 0]


def tag_options(runs: pd.DataFrame) -> list[str]:
    """Every tag used by any run, sorted."""
    return sorted({str(t) for tags in runs["tags"] if tags is not None for t in tags})


def source_options(runs: pd.DataFrame) -> list[str]:
    """Every tool that produced a run, sorted."""
    return sorted({str(s) for s in runs["source_tool"]})


def tags_text(row: Mapping[str, Any]) -> str:
    """A run's tags as the comma-separated text the tag field edits."""
    tags = row.get("tags")
    return ", ".join(str(t) for t in tags) if tags is not None else ""


def parse_tags(text: str) -> list[str]:
    """Comma-separated tags, trimmed, empty ones dropped."""
    return [t.strip() for t in text.split(",") if t.strip()]


# -- comparison and charts -----------------------------------------------------------------


def selection_names(rows: Rows, run_ids: Sequence[str]) -> dict[str, str]:
    """run_id -> the runs' unique names (as :func:`inferlab.compare.run_names` gives for
    the loaded runs), from their rows: for the baseline picker before any run is read."""
    return unique_names([row_name_entry(rows[rid], rid) for rid in run_ids])


def chip_names(rows: Rows, run_ids: Sequence[str]) -> dict[str, str]:
    """run_id -> 'name · model · 2026-12-04 03:56 (run id)' for the run multiselect.

    The name is the label, with the load when runs share it (as in the tables), so a
    chip starts with the name the tables use; stable while the selection changes
    (the widget keeps its value by these texts)."""
    names = unique_names([row_name_entry(rows[rid], rid) for rid in run_ids], with_ids=False)
    out = {}
    for rid in run_ids:
        started = pd.Timestamp(rows[rid].get("started_at"))  # type: ignore[arg-type]
        date = started.strftime("%Y-%m-%d %H:%M") if not pd.isna(started) else "?"
        out[rid] = f"{names[rid]} · {rows[rid].get('model')} · {date} ({rid})"
    return out


def default_baseline(rows: Rows, run_ids: Sequence[str]) -> str:
    """The baseline a person expects: the oldest of the runs; when that run is a sweep
    step, the lowest load of its sweep among the runs. Runs with per-request data
    first (nothing compares against an empty run). `run_ids` is not empty."""

    def started(rid: str) -> pd.Timestamp:
        t = pd.Timestamp(rows[rid].get("started_at"))  # type: ignore[arg-type]
        return pd.Timestamp.max.tz_localize("UTC") if pd.isna(t) else _utc(t)

    def load(rid: str) -> float:
        v = rows[rid].get("load_value")
        f = float(v) if v is not None else math.nan
        return math.inf if math.isnan(f) else f

    measured = [rid for rid in run_ids if (rows[rid].get("requests") or 0) > 0]
    run_ids = measured or list(run_ids)
    oldest = min(run_ids, key=lambda rid: (started(rid), load(rid)))
    group = rows[oldest].get("group_id")
    if not isinstance(group, str) or not group:
        return oldest
    steps = [rid for rid in run_ids if rows[rid].get("group_id") == group]
    return min(steps, key=lambda rid: (load(rid), started(rid)))


def _utc(t: pd.Timestamp) -> pd.Timestamp:
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def comparison_view(
    runs: Sequence[RunRequests], baseline: str, convention: str
) -> tuple[pd.DataFrame, dict[str, dict[str, np.ndarray]]]:
    """The delta table and, per latency metric, each run's sorted values (for CDF/histograms).

    At most :data:`inferlab.charts.runs.CDF_VALUES` order statistics per run are kept.
    """
    # numpy sorts without the GIL: sort the runs' values on all cores (same arrays).
    with ThreadPoolExecutor(max_workers=min(len(runs), os.cpu_count() or 1) or 1) as pool:
        sorted_list = list(pool.map(partial(sorted_metric_values, convention=convention), runs))
    sorted_by_run = {r.run_id: v for r, v in zip(runs, sorted_list, strict=True)}
    table = compare_table(runs, baseline, convention=convention, sorted_by_run=sorted_by_run)
    names = run_names(runs)  # the legends use the tables' names
    values = {
        metric: {names[r.run_id]: order_statistics(sorted_by_run[r.run_id][metric]) for r in runs}
        for metric in LATENCY_METRICS
    }
    return table, values


def metric_label(metric: str, convention: str) -> str:
    """The chart axis name of a metric under a convention (guidellm's TPOT, ...)."""
    conv = CONVENTIONS[convention]
    if metric == "tpot":
        return conv.tpot_label
    if metric == "itl":
        return conv.itl_label
    return METRIC_NAMES[metric]


def scatter_series(
    runs: Sequence[RunRequests], metric: str, convention: str
) -> list[ScatterSeries]:
    """Every request's value of `metric` against its send time (s since the run began)."""
    names = run_names(runs)
    out = []
    for r in runs:
        start_s = (r.sent_ms - np.nanmin(r.sent_ms)) / 1000.0 if r.n else r.sent_ms
        y = request_values(r, metric, convention)
        out.append(ScatterSeries(names[r.run_id], start_s, y, r.ok, r.index, r.error_class))
    return out


def slowest_completed(run: RunRequests) -> int | None:
    """Position of the completed request (with chunks) that took longest; None without one."""
    completed = np.flatnonzero(run.ok & (run.chunk_counts > 0))
    if completed.size == 0:
        return None
    return int(completed[np.nanargmax(run.e2e_ms[completed])])


def request_position(run: RunRequests, request_index: int) -> int | None:
    """Position of the request numbered `request_index`; None when the run has none."""
    hits = np.flatnonzero(run.index == int(request_index))
    return int(hits[0]) if hits.size else None


def request_title(run: RunRequests, position: int, name: str | None = None) -> str:
    """The title of one request's timeline: number, run (`name`: its unique name),
    outcome, output tokens."""
    status = "completed" if run.ok[position] else f"failed ({run.error_class[position] or 'error'})"
    tokens = run.output_tokens[position]
    shown = str(int(tokens)) if not np.isnan(tokens) else "?"
    of = name or run.label
    return f"Request {int(run.index[position])} of {of}: {status}, {shown} output tokens"


# -- SLO, sweeps, Little's law -------------------------------------------------------------


def slo_frame(
    results: Sequence[SloResult], names: Mapping[str, str], target_pct: float
) -> pd.DataFrame:
    """One row per run (named by :func:`inferlab.compare.run_names`): attainment, goodput
    and whether it meets the target."""
    return pd.DataFrame(
        {
            "Run": [names.get(r.run_id, r.run_id) for r in results],
            "Run id": [r.run_id for r in results],
            "Requests": [r.requests for r in results],
            "Met the SLO": [r.met for r in results],
            "Attainment (%)": [100 * r.attainment for r in results],
            "Goodput (req/s)": [r.goodput_rps for r in results],
            f"Meets the {target_pct:g}% target": [
                "yes" if 100 * r.attainment >= target_pct else "no" for r in results
            ],
        }
    )


MISS_COLUMNS = {
    "request": "Request",
    "missed": "Missed",
    "sent_s": "Sent at (s)",
    "ttft_ms": "TTFT (ms)",
    "tpot_ms": "TPOT (ms)",
    "e2e_ms": "E2E (ms)",
}


def little_frame(checks: Sequence[LittleCheck], names: Mapping[str, str]) -> pd.DataFrame:
    """One row per run: measured against Little's-law concurrency, and a verdict."""
    return pd.DataFrame(
        {
            "Run": [names.get(c.run_id, c.run_id) for c in checks],
            "Measured concurrency": [c.measured_concurrency for c in checks],
            "RPS × mean E2E": [c.little_concurrency for c in checks],
            "Configured concurrency": [c.configured_concurrency for c in checks],
            "Client queue p99 (ms)": [c.client_queue_p99_ms for c in checks],
            "Verdict": [c.verdict for c in checks],
        }
    )


def sweep_groups(runs: pd.DataFrame) -> dict[str, list[str]]:
    """Run groups with at least two runs (sweeps), each with its run ids in list order."""
    grouped = runs.dropna(subset=["group_id"]).groupby("group_id")["run_id"].apply(list)
    return {str(g): [str(r) for r in ids] for g, ids in grouped.items() if len(ids) >= 2}


def first_sweep_with(groups: Mapping[str, Sequence[str]], run_ids: Sequence[str]) -> str:
    """The first sweep holding one of the runs, else the first sweep (`groups` is not empty)."""
    chosen = set(run_ids)
    return next((g for g, ids in groups.items() if chosen & set(ids)), next(iter(groups)))


def sweep_group_label(rows: Rows, run_ids: Sequence[str], group_id: str) -> str:
    """A sweep's label · model · load range · steps (group id)."""
    steps = [rows[r] for r in run_ids]
    loads = sorted(float(r.get("load_value") or 0) for r in steps)
    first = steps[-1]
    return (
        f"{first.get('label') or 'sweep'} · {first.get('model')} · {first.get('load_mode')} "
        f"{loads[0]:g}–{loads[-1]:g} · {len(steps)} steps ({group_id})"
    )


def sweep_sentences(sweep: SweepAnalysis, slo: Slo, target_pct: float) -> list[str]:
    """What the sweep says: where its knee is and the highest load meeting the SLO."""
    head, rest = sweep.knee_sentence()
    sentences = [f"**{head}** {rest}" if head == "Knee" else f"{head}: {rest}"]
    if not slo.is_set:
        sentences.append("Set SLO limits above to find the highest load that meets them.")
    elif sweep.best_under_slo is not None:
        b = sweep.points[sweep.best_under_slo]
        sentences.append(
            f"**Highest load meeting the SLO** ({slo.describe()} for {target_pct:g}% of "
            f"requests): {sweep.load(b.load_value)} ({b.output_tps:,.0f} output tokens/s)."
        )
    else:
        sentences.append(f"No step meets the SLO ({slo.describe()}) for {target_pct:g}%.")
    return sentences
