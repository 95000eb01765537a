"""A self-contained HTML report of a comparison: the Runs page's tables and charts in one file.

The figures are the Runs page's own (`inferlab.charts.runs`) over the same data
(`inferlab.compare`, `inferlab.compare.loaders`); plotly.js is embedded once, so the
file opens offline, with no server, and stays interactive.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from inferlab import __version__
from inferlab.charts import runs as charts
from inferlab.charts.layout import dashboard_look
from inferlab.compare import runs as compare
from inferlab.compare.loaders import METRIC_NAMES, load_run, wide_delta_table
from inferlab.compare.verdict import comparison_verdict, next_step, setup_notes, shared_servers
from inferlab.importers import import_info, tool_comparison
from inferlab.metrics.summary import RunSummary
from inferlab.records import RunInfo
from inferlab.store import Store, UnknownRunError
from inferlab.store.redact import clean_endpoint
from inferlab.validity import comparison_warning

__all__ = ["build_report", "write_report"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:1200px;padding:0 1rem;color:#1f2933}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2.2rem;border-bottom:1px solid #ddd}
h3{font-size:1.05rem}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}
td,th{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f6f8}td.better{background:#e3f5e6}td.worse{background:#fbe4e2}
td.noise{color:#777}.note{color:#555;font-size:.85rem}.warn{color:#9a5b00}
"""


def _table(df: pd.DataFrame, classes: pd.DataFrame | None = None, index: bool = False) -> str:
    cols = list(df.columns)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in ([""] if index else []) + cols)
    rows = []
    for i, (idx, row) in enumerate(df.iterrows()):
        cells = [f"<th>{html.escape(str(idx))}</th>"] if index else []
        for j, c in enumerate(cols):
            v = row[c]
            text = _fmt(v)
            cls = ""
            if classes is not None:
                k = str(classes.iat[i, j])
                cls = f' class="{k}"' if k else ""
            cells.append(f"<td{cls}>{html.escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _fmt(v: object) -> str:
    if v is None:
        return "—"
    if isinstance(v, float | np.floating):
        if math.isnan(float(v)):
            return "—"
        return f"{float(v):,.4g}" if abs(float(v)) < 1e5 else f"{float(v):,.0f}"
    if isinstance(v, bool | np.bool_):
        return "yes" if v else "no"
    return str(v)


class _Figures:
    """Figures as HTML divs; plotly.js goes into the first one only."""

    def __init__(self) -> None:
        self.first = True

    def __call__(self, fig: go.Figure) -> str:
        out: str = pio.to_html(
            dashboard_look(fig),
            full_html=False,
            include_plotlyjs=self.first,
            config={"displaylogo": False, "responsive": True},
        )
        self.first = False
        return out


def _values(
    runs: Sequence[compare.RunRequests], metric: str, conv: compare.Convention
) -> dict[str, np.ndarray]:
    """Each run's values of `metric`, keyed by its unique name (the legend)."""
    names = compare.run_names(runs)
    out: dict[str, np.ndarray] = {}
    for r in runs:
        v = compare._metric_values(r, metric, conv)
        if v.size > 20_000:  # as on the Runs page: quantiles of a big run draw the same curve
            v = np.quantile(v, np.linspace(0, 1, 20_000))
        out[names[r.run_id]] = v
    return out


def _scatter(
    runs: Sequence[compare.RunRequests], metric: str, conv: compare.Convention
) -> list[charts.ScatterSeries]:
    names = compare.run_names(runs)
    out = []
    for r in runs:
        y = r.ttft_ms if metric == "ttft" else r.e2e_ms if metric == "e2e" else conv.tpot_ms(r)
        start_s = (r.sent_ms - np.nanmin(r.sent_ms)) / 1000.0 if r.n else r.sent_ms
        out.append(charts.ScatterSeries(names[r.run_id], start_s, y, r.ok, r.index, r.error_class))
    return out


@dataclass
class _Report:
    """What every section of one report reads: the runs, their names and the settings."""

    store: Store
    infos: list[RunInfo]
    runs: list[compare.RunRequests]
    names: dict[str, str]
    baseline: str
    conv: compare.Convention
    convention: str
    slo: compare.Slo | None
    fig: _Figures = field(default_factory=_Figures)

    @cached_property
    def slo_results(self) -> dict[str, compare.SloResult] | None:
        """Each run's SLO result (None without an SLO), for the verdict and the SLO table."""
        if self.slo is None or not self.slo.is_set:
            return None
        return {x.run_id: compare.slo_result(x, self.slo) for x in self.runs}

    @cached_property
    def little_checks(self) -> dict[str, compare.LittleCheck]:
        return {x.run_id: compare.little_check(x) for x in self.runs}


def _runs_section(r: _Report, summaries: dict[str, RunSummary]) -> list[str]:
    infos = r.infos
    validities = r.store.validities([i.run_id for i in infos])
    frame = pd.DataFrame(
        {
            "run": [i.run_id for i in infos],
            "name": [r.names[i.run_id] for i in infos],
            "source": [i.source_tool for i in infos],
            "model": [i.model for i in infos],
            "endpoint": [clean_endpoint(i.endpoint) for i in infos],
            "load": [f"{i.load_mode} {i.load_value:g}" for i in infos],
            "started": [i.started_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M") for i in infos],
            "requests": [summaries[i.run_id].requests for i in infos],
            "failed": [summaries[i.run_id].failed for i in infos],
            "status": [summaries[i.run_id].status for i in infos],
            "validity": [
                validities[i.run_id].label if i.run_id in validities else "unknown" for i in infos
            ],
        }
    )
    parts = ["<h2>Runs</h2>", _table(frame)]
    warning = comparison_warning(
        [(r.names[rid], v) for rid, v in validities.items() if v.verdict == "suspect"]
    )
    if warning:
        parts.append(f'<p class="warn">{html.escape(warning)}.</p>')
    parts.append(
        '<p class="note">Validity: whether the probe\'s own client kept up while it measured '
        "(its event-loop lag, CPU share, achieved load and dispatch lag); 'suspect' means a "
        "number may show the client rather than the server.</p>"
    )
    return parts


def _comparison_section(r: _Report) -> list[str]:
    table = compare.compare_table(r.runs, r.baseline, convention=r.convention)
    view = wide_delta_table(table, r.baseline)
    verdicts = comparison_verdict(
        table,
        r.runs,
        r.baseline,
        r.names,
        slo_results=r.slo_results,
        little=r.little_checks,
        shared=shared_servers(r.store.runs_metadata([x.run_id for x in r.runs])),
    )
    advice = next_step(verdicts, slo=r.slo)
    return [
        "<h2>Comparison</h2>",
        '<div class="verdict"><p><strong>Verdict</strong></p><ul>'
        + "".join(f"<li>{html.escape(v.sentence)}</li>" for v in verdicts)
        + "</ul>"
        + (f"<p>{html.escape(advice)}</p>" if advice else "")
        + "".join(
            f'<p class="warn">{html.escape(n)}</p>'
            for n in setup_notes(r.runs, r.baseline, r.names)
        )
        + "</div>",
        _table(view.text, view.colors, index=True),
        '<p class="note">Each cell: value · change vs the baseline in % (absolute) · 95% '
        "bootstrap confidence interval of the change. Green = better, red = worse, grey = the "
        "interval includes 0. Latencies over completed requests; warm-up excluded.</p>",
    ]


def _metric_section(r: _Report, metric: str) -> list[str]:
    label = {"tpot": r.conv.tpot_label, "itl": r.conv.itl_label}.get(metric, METRIC_NAMES[metric])
    values = _values(r.runs, metric, r.conv)
    parts = [f"<h2>{html.escape(label)}</h2>"]
    if not any(v.size for v in values.values()):
        return [*parts, '<p class="note">No values in these runs.</p>']
    missing = [name for name, v in values.items() if not v.size]
    if missing:
        parts.append(
            '<p class="note">No values for '
            + html.escape(", ".join(missing))
            + " (no per-request data, or no per-chunk timings for ITL).</p>"
        )
    parts.append(r.fig(charts.cdf_figure(values, label)))
    parts.append(r.fig(charts.distribution_figure(values, label)))
    if metric != "itl":
        scatter, dropped = charts.scatter_over_time(_scatter(r.runs, metric, r.conv), label)
        parts.append(r.fig(scatter))
        if dropped:
            parts.append(f'<p class="note">{dropped:,} completed requests not drawn.</p>')
    return parts


def _slo_section(r: _Report) -> list[str]:
    if r.slo is None or r.slo_results is None:
        return []
    res = list(r.slo_results.values())
    frame = pd.DataFrame(
        {
            "run": [r.names[x.run_id] for x in res],
            "requests": [x.requests for x in res],
            "met": [x.met for x in res],
            "attainment %": [100 * x.attainment for x in res],
            "goodput req/s": [x.goodput_rps for x in res],
        }
    )
    return [f"<h2>Service-level objectives: {html.escape(r.slo.describe())}</h2>", _table(frame)]


def _sweep_sections(r: _Report) -> list[str]:
    """One chart per group of at least two runs (a sweep)."""
    groups: dict[str, list[compare.RunRequests]] = {}
    for info, run in zip(r.infos, r.runs, strict=True):
        if info.group_id:
            groups.setdefault(info.group_id, []).append(run)
    parts = []
    slo = r.slo
    for gid, members in groups.items():
        if len(members) < 2:
            continue
        sweep = compare.sweep_analysis(members, slo)
        parts.append(f"<h2>Sweep {html.escape(gid)}: throughput against latency</h2>")
        parts.append(
            r.fig(
                charts.sweep_figure(
                    sweep,
                    ttft_limit_ms=slo.ttft_ms if slo else None,
                    tpot_limit_ms=slo.tpot_ms if slo else None,
                )
            )
        )
        head, rest = sweep.knee_sentence()
        said = f"<strong>{head}</strong> " if head == "Knee" else f"{head}: "
        parts.append(f"<p>{said}{html.escape(rest)}</p>")
    return parts


def _little_section(r: _Report) -> list[str]:
    checks = list(r.little_checks.values())
    frame = pd.DataFrame(
        {
            "run": [r.names[c.run_id] for c in checks],
            "measured concurrency": [c.measured_concurrency for c in checks],
            "RPS × mean E2E": [c.little_concurrency for c in checks],
            "configured": [c.configured_concurrency for c in checks],
            "verdict": [c.verdict for c in checks],
            "why": [c.message if c.verdict != "ok" else "" for c in checks],
        }
    )
    return ["<h2>Little's law check</h2>", _table(frame)]


def _imported_sections(r: _Report, summaries: dict[str, RunSummary]) -> list[str]:
    """For each imported run: the tool's own numbers beside inferlab's."""
    parts = []
    for info in r.infos:
        imp = import_info(r.store, info.run_id)
        if imp is None:
            continue
        version = " " + html.escape(imp.tool_version) if imp.tool_version else ""
        parts.append(
            f"<h2>{html.escape(r.names.get(info.run_id, info.run_id))}: "
            f"{html.escape(imp.source_tool)}'s numbers vs inferlab's</h2>"
        )
        parts.append(
            f'<p class="note">Imported from {html.escape(imp.file)} '
            f"({html.escape(imp.format)}{version}).</p>"
        )
        parts += [f'<p class="warn">{html.escape(n)}</p>' for n in imp.notes]
        cmp_df = tool_comparison(imp.source_tool, imp.tool_metrics, summaries[info.run_id])
        if not cmp_df.empty:
            parts.append(_table(cmp_df))
    return parts


def _checked_infos(store: Store, run_ids: Sequence[str], convention: str) -> list[RunInfo]:
    if not run_ids:
        raise UnknownRunError("no runs given; `inferlab runs` lists the run ids")
    if len(run_ids) > compare.MAX_COMPARE:
        raise ValueError(f"a report compares at most {compare.MAX_COMPARE} runs")
    if convention not in compare.CONVENTIONS:
        raise ValueError(
            f"unknown convention {convention!r}; use one of {', '.join(compare.CONVENTIONS)}"
        )
    infos = []
    for rid in run_ids:
        info = store.get_run(rid)
        if info is None:
            raise UnknownRunError(f"no run {rid!r} in {store.path}; `inferlab runs` lists them")
        infos.append(info)
    return infos


def build_report(
    store: Store,
    run_ids: Sequence[str],
    *,
    baseline: str | None = None,
    convention: str = "inferlab",
    slo: compare.Slo | None = None,
    title: str | None = None,
) -> str:
    """The report as one HTML document (plotly.js embedded)."""
    infos = _checked_infos(store, run_ids, convention)
    baseline = baseline or run_ids[0]
    if baseline not in run_ids:
        raise ValueError(f"baseline {baseline!r} is not among the runs of the report")
    runs = [load_run(store, rid) for rid in run_ids]
    conv = compare.CONVENTIONS[convention]
    r = _Report(store, infos, runs, compare.run_names(runs), baseline, conv, convention, slo)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    title = title or f"inferlab report: {len(run_ids)} run{'s' if len(run_ids) > 1 else ''}"
    summaries = {rid: store.summary(rid) for rid in run_ids}
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="note">Generated {now} by inferlab {html.escape(__version__)}. '
        f"Baseline: {html.escape(r.names[baseline])} ({html.escape(baseline)}). Convention: "
        f"{html.escape(conv.name)} — {html.escape(conv.note)}</p>",
        *_runs_section(r, summaries),
        *_comparison_section(r),
        *(part for metric in compare.LATENCY_METRICS for part in _metric_section(r, metric)),
        *_slo_section(r),
        *_sweep_sections(r),
        *_little_section(r),
        *_imported_sections(r, summaries),
    ]
    body = "\n".join(parts)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>"
        f"<body>\n{body}\n</body></html>\n"
    )


def write_report(store: Store, run_ids: Sequence[str], out: str | Path, **kwargs: object) -> Path:
    """Build the report and write it to `out` (UTF-8)."""
    path = Path(out)
    path.write_text(build_report(store, run_ids, **kwargs), encoding="utf-8")  # type: ignore[arg-type]
    return path
