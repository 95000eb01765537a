"""The Trends page's state: its URL parameters (series, metrics, SLO lines), their
checks, the share link, and the tables the page shows. Logic lives in
:mod:`inferlab.monitor`; the figure in :mod:`inferlab.charts.trends`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import quote, urlencode

import pandas as pd

from inferlab.dashboard.params import (
    NumberParam,
    check_params,
    ignored_message,
    last_value,
    repeated_messages,
)
from inferlab.monitor import METRICS, SeriesPoint, SeriesTrend, metric_spec

__all__ = [
    "DEFAULT_METRICS",
    "METRIC_BY_LABEL",
    "SLO_METRICS",
    "TREND_SLO_PARAMS",
    "bad_params",
    "changes_table",
    "default_series",
    "link_problems",
    "points_table",
    "run_link",
    "slo_lines",
    "trends_link_params",
    "trends_share_url",
    "worse_summary",
]

METRIC_BY_LABEL = {m.label: m.key for m in METRICS}
DEFAULT_METRICS = ("TTFT p95", "E2E p95", "Error rate")
MAX_LIMIT_MS = 3_600_000.0

TREND_SLO_PARAMS: tuple[NumberParam, ...] = (
    NumberParam("slo_ttft_ms", "TTFT SLO (ms)", 0.0, 0.0, MAX_LIMIT_MS),
    NumberParam("slo_tpot_ms", "TPOT SLO (ms)", 0.0, 0.0, MAX_LIMIT_MS),
    NumberParam("slo_e2e_ms", "E2E SLO (ms)", 0.0, 0.0, MAX_LIMIT_MS),
    NumberParam("slo_error_pct", "Error-rate SLO (%)", 0.0, 0.0, 100.0),
)
"""Same names as the Runs page's SLO parameters, so a link's SLOs carry over; 0 = none."""

SLO_METRICS = {
    "slo_ttft_ms": ("ttft_p50", "ttft_p95"),
    "slo_tpot_ms": ("tpot_p50", "tpot_p95"),
    "slo_e2e_ms": ("e2e_p50", "e2e_p95"),
    "slo_error_pct": ("error_rate",),
}


def _all(query: Mapping[str, str | list[str]], name: str) -> list[str]:
    raw = query.get(name)
    if raw is None:
        return []
    return list(raw) if isinstance(raw, list) else [raw]


def default_series(series: Mapping[str, Sequence[SeriesPoint]]) -> str | None:
    """The series with the newest run."""
    newest = [(points[-1].started_at, name) for name, points in series.items() if points]
    return max(newest)[1] if newest else None


def link_problems(query: Mapping[str, str | list[str]], series_names: Iterable[str]) -> list[str]:
    """Messages for every link value the page cannot use, naming it and the fallback."""
    names = list(series_names)
    messages = []
    raw = _all(query, "series")
    if raw and raw[-1] not in names:
        messages.append(
            ignored_message(
                "series",
                "series",
                f"there is no series '{raw[-1]}' in this database",
                "Showing the series with the newest run instead; pick another above.",
            )
        )
    linked = _all(query, "metrics")
    bad = [m for m in linked if m not in METRIC_BY_LABEL]
    if bad:
        some_good = len(bad) < len(linked)
        messages.append(
            ignored_message(
                "metrics",
                "metrics",
                f"{', '.join(repr(b) for b in bad)} "
                f"{'is' if len(bad) == 1 else 'are'} not one of {', '.join(METRIC_BY_LABEL)}",
                "The other metrics linked are shown."
                if some_good
                else f"Showing the default metrics ({', '.join(DEFAULT_METRICS)}) instead.",
            )
        )
    labels = {p.name: p.label for p in TREND_SLO_PARAMS}
    messages += [p.message(labels[p.name]) for p in check_params(query, TREND_SLO_PARAMS)]
    labels["series"] = "series"  # metrics may repeat: it is a list
    messages += repeated_messages({n: _all(query, n) for n in labels}, labels)
    return messages


def empty_store_problem(query: Mapping[str, str | list[str]]) -> str | None:
    """With no series at all: the link's series cannot be shown, said once, not silently."""
    raw = _all(query, "series")
    if not raw:
        return None
    return (
        f"The link asks for series '{raw[-1]}', but this database has no series yet: the link "
        "comes from another database, or the series' runs were removed. Start one as shown "
        "below, or open the link on the dashboard it was shared from."
    )


def bad_params(query: Mapping[str, str | list[str]], series_names: Iterable[str]) -> list[str]:
    """URL parameters whose values must not seed their widgets (they were rejected)."""
    names = set(series_names)
    out = [p.name for p in check_params(query, TREND_SLO_PARAMS)]
    raw = _all(query, "series")
    if raw and last_value(raw) not in names:
        out.append("series")
    return out


def slo_lines(values: Mapping[str, float | None]) -> dict[str, float]:
    """Metric key -> SLO line in the metric's own unit (error rate as a 0..1 share)."""
    out: dict[str, float] = {}
    for name, metrics in SLO_METRICS.items():
        v = values.get(name)
        if v is None or v <= 0:
            continue
        for key in metrics:
            out[key] = v / 100 if name == "slo_error_pct" else v
    return out


def run_link(run_id: str, base: str = "/runs") -> str:
    """The Runs page with this run selected."""
    return f"{base}?runs={quote(run_id)}"


def points_table(
    trend: SeriesTrend, metrics: Sequence[str], runs_base: str = "/runs"
) -> pd.DataFrame:
    """One row per run, newest first: when, its Runs-page link, label and the metrics."""
    starts = {trend.at(c).run_id for c in trend.all_changes()}
    rows = []
    for p in reversed(trend.points):
        row: dict[str, object] = {
            "Date (UTC)": p.started_at.replace(tzinfo=None),
            "Run": run_link(p.run_id, runs_base),
            "Label": p.label,
            "Source": p.source_tool,
            "Requests": p.requests,
        }
        for key in metrics:
            spec = metric_spec(key)
            v = p.values.get(key)
            scale = 100.0 if spec.unit == "%" else 1.0
            row[f"{spec.label} ({spec.unit})"] = None if v is None else v * scale
        row["Change starts"] = "yes" if p.run_id in starts else ""
        rows.append(row)
    return pd.DataFrame(rows)


def changes_table(trend: SeriesTrend, runs_base: str = "/runs") -> pd.DataFrame:
    """One row per detected change, newest first."""
    rows = []
    for c in reversed(trend.all_changes()):
        spec, point = metric_spec(c.metric), trend.at(c)
        if spec.unit == "%":
            size = f"{100 * c.delta:+.2f} points"
        else:
            size = "-" if c.relative is None else f"{c.relative:+.0%}"
        rows.append(
            {
                "From (UTC)": point.started_at.replace(tzinfo=None),
                "Metric": spec.label,
                "Before": spec.fmt(c.before),
                "After": spec.fmt(c.after),
                "Size": size,
                "Verdict": "worse" if c.worse else "better",
                "First run": run_link(point.run_id, runs_base),
            }
        )
    return pd.DataFrame(rows)


def worse_summary(trend: SeriesTrend, runs_base: str = "/runs") -> str | None:
    """Markdown naming each run since which metrics are worse (linked), or None."""
    by_run: dict[int, list[str]] = {}
    for c in trend.worse_now():
        spec = metric_spec(c.metric)
        by_run.setdefault(c.index, []).append(
            f"**{spec.label}** {spec.fmt(c.before)} → {spec.fmt(c.after)}"
        )
    if not by_run:
        return None
    parts = []
    for index in sorted(by_run):
        point = trend.points[index]
        parts.append(
            f"since run [{point.run_id}]({run_link(point.run_id, runs_base)}) "
            f"({point.started_at:%Y-%m-%d %H:%M} UTC): " + ", ".join(by_run[index])
        )
    return "Worse " + "; ".join(parts)


def trends_link_params() -> frozenset[str]:
    """Every name a Trends link can carry (anything else is not a setting of the page)."""
    return frozenset(["series", "metrics", *(p.name for p in TREND_SLO_PARAMS)])


def trends_share_url(
    base_url: str,
    series: str | None,
    metrics: Sequence[str],
    slo_values: Mapping[str, float | None],
) -> str:
    """The share link: the series always, metrics unless the default, SLOs when set."""
    base = base_url.split("?", 1)[0]
    params: list[tuple[str, str]] = []
    if series:
        params.append(("series", series))
    if tuple(metrics) != DEFAULT_METRICS:
        params += [("metrics", m) for m in metrics]
    for p in TREND_SLO_PARAMS:
        v = slo_values.get(p.name)
        if v is not None and v != p.default:
            params.append((p.name, f"{v:g}"))
    return f"{base}?{urlencode(params)}" if params else base
