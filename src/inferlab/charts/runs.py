"""Figures of the Runs page: CDFs, distributions, per-request scatter, one request's
timeline from its real chunk arrivals, and a sweep's throughput against latency.

Only the per-request scatter can hold many points; it switches to WebGL
(Scattergl) above :data:`WEBGL_ABOVE` points and downsamples above
:data:`MAX_POINTS`, always keeping every failed request. CDFs and histograms are
drawn from at most :data:`CDF_POINTS` quantiles / bins, so they stay small SVG.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from inferlab.charts.latency import (
    DECODE_COLOR,
    PREFILL_COLOR,
    TimeBar,
    add_time_bars,
)
from inferlab.charts.layout import legend_above, plain_layout
from inferlab.compare import SweepAnalysis
from inferlab.compare.runs import load_words

# What the sweep chart's point labels count, by load mode.
_LOAD_NAMES = {"concurrency": "concurrency", "sessions": "sessions", "trace": "trace speed"}

__all__ = [
    "CDF_POINTS",
    "CDF_VALUES",
    "MAX_POINTS",
    "PALETTE",
    "WEBGL_ABOVE",
    "ScatterSeries",
    "cdf_figure",
    "distribution_figure",
    "downsample",
    "order_statistics",
    "request_timeline",
    "scatter_over_time",
    "sweep_figure",
]

MAX_POINTS = 50_000
WEBGL_ABOVE = 5_000
CDF_POINTS = 400
CDF_VALUES = 20_000  # order statistics kept per run for a CDF or histogram
MAX_CHUNK_ROWS = 24
ERROR_COLOR = "#D62728"
PALETTE = (
    "#2E86AB",
    "#F18F01",
    "#3BB273",
    "#C73E1D",
    "#7768AE",
    "#E15554",
    "#4D9DE0",
    "#E1BC29",
    "#1B998B",
    "#8E6C8A",
    "#5D576B",
    "#A4036F",
)


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def cdf_figure(
    values: Mapping[str, np.ndarray], metric_label: str, unit: str = "ms", log_x: bool = False
) -> go.Figure:
    """Empirical CDF per run (x: value, y: share of requests at or below it)."""
    fig = go.Figure()
    probs = np.linspace(0, 1, CDF_POINTS)
    for i, (name, v) in enumerate(values.items()):
        v = v[~np.isnan(v)]
        if v.size == 0:
            continue
        if v.size <= CDF_POINTS:
            xs = np.sort(v)
            ys = np.arange(1, v.size + 1) / v.size
        else:
            xs = np.quantile(v, probs)
            ys = probs
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys * 100,
                mode="lines",
                line={"shape": "hv", "color": color(i), "width": 2},
                name=name,
                hovertemplate=f"{name}<br>%{{y:.1f}}% of values ≤ %{{x:.4g}} {unit}<extra></extra>",
            )
        )
    for p in (50, 90, 99):
        # Labels in the right margin, outside the plot: no curve can cross them.
        fig.add_hline(
            y=p,
            line_dash="dot",
            line_color="#aaa",
            annotation_text=f"p{p}",
            annotation_position="right",
        )
    fig.update_xaxes(title_text=f"{metric_label} ({unit})", type="log" if log_x else "linear")
    fig.update_yaxes(title_text="Share of values at or below (%)", range=[0, 101])
    plain_layout(fig, 400, top=50)
    fig.update_layout(margin={"r": 40})
    return fig


def distribution_figure(
    values: Mapping[str, np.ndarray], metric_label: str, unit: str = "ms", bins: int = 60
) -> go.Figure:
    """Histogram per run on shared bins (share of the run's values per bin)."""
    finite = [v[~np.isnan(v)] for v in values.values()]
    allv = np.concatenate([v for v in finite if v.size]) if any(v.size for v in finite) else None
    fig = go.Figure()
    if allv is not None:
        lo, hi = np.quantile(allv, [0.0, 0.995])  # the far tail would squash the body
        if hi <= lo:
            hi = lo + 1.0
        edges = np.linspace(lo, hi, bins + 1)
        centers = (edges[:-1] + edges[1:]) / 2
        for i, (name, v) in enumerate(zip(values, finite, strict=True)):
            if v.size == 0:
                continue
            counts, _ = np.histogram(np.clip(v, lo, hi), bins=edges)
            fig.add_trace(
                go.Scatter(
                    x=centers,
                    y=100 * counts / v.size,
                    mode="lines",
                    line={"shape": "hvh", "color": color(i), "width": 2},
                    fill="tozeroy" if len(values) <= 3 else None,
                    opacity=0.6,
                    name=name,
                    hovertemplate=f"{name}<br>%{{y:.1f}}% of values near %{{x:.4g}} {unit}"
                    "<extra></extra>",
                )
            )
    fig.update_xaxes(title_text=f"{metric_label} ({unit}; values above p99.5 in the last bin)")
    fig.update_yaxes(title_text="Share of the run's values (%)", rangemode="tozero")
    plain_layout(fig, 360, top=50)
    return fig


@dataclass(frozen=True)
class ScatterSeries:
    """One run's requests for the scatter: start time, latency, failures."""

    name: str
    start_s: np.ndarray
    latency_ms: np.ndarray  # NaN for failed requests without a value
    ok: np.ndarray
    request: np.ndarray  # request index, shown on hover
    error: np.ndarray  # error class ('' for completed)


def downsample(n: int, budget: int, keep: np.ndarray, seed: int = 0) -> np.ndarray:
    """Positions to draw: all of `keep` plus a seeded uniform sample, at most ~`budget`."""
    if n <= budget:
        return np.arange(n)
    must = np.flatnonzero(keep)
    rest = np.flatnonzero(~keep)
    room = max(budget - must.size, 0)
    picked = np.random.default_rng(seed).choice(rest, size=min(room, rest.size), replace=False)
    return np.sort(np.concatenate([must, picked]))


def order_statistics(sorted_values: np.ndarray, budget: int = CDF_VALUES) -> np.ndarray:
    """At most `budget` evenly spaced order statistics of sorted values (all of them if fewer).

    Enough for a CDF or a histogram of any size: the first and last value are always kept.
    """
    if sorted_values.size <= budget:
        return sorted_values
    out: np.ndarray = sorted_values[
        np.linspace(0, sorted_values.size - 1, budget).round().astype(np.int64)
    ]
    return out


def scatter_over_time(
    series: Sequence[ScatterSeries], metric_label: str, unit: str = "ms"
) -> tuple[go.Figure, int]:
    """Latency of every request against its start time; failures as red crosses.

    Returns the figure and how many points were left out by downsampling.
    """
    total = sum(s.start_s.size for s in series)
    budget_each = MAX_POINTS // max(len(series), 1)
    webgl = total > WEBGL_ABOVE
    trace = go.Scattergl if webgl else go.Scatter
    dropped = 0
    fig = go.Figure()
    fail_x: list[np.ndarray] = []
    fail_y: list[np.ndarray] = []
    fail_text: list[np.ndarray] = []
    ymax = 0.0
    for s in series:
        if np.any(~np.isnan(s.latency_ms)):
            ymax = max(ymax, float(np.nanmax(s.latency_ms)))
    for i, s in enumerate(series):
        keep = downsample(s.start_s.size, budget_each, ~s.ok)
        dropped += s.start_s.size - keep.size
        good = keep[s.ok[keep]]
        fig.add_trace(
            trace(
                x=s.start_s[good],
                y=s.latency_ms[good],
                mode="markers",
                marker={"size": 4, "color": color(i), "opacity": 0.6},
                name=s.name,
                customdata=s.request[good],
                hovertemplate=f"{s.name}<br>request %{{customdata}}<br>start %{{x:.2f}} s"
                f"<br>{metric_label} %{{y:.4g}} {unit}<extra></extra>",
            )
        )
        bad = keep[~s.ok[keep]]
        if bad.size:
            # A failed request has no latency of its own: drawn at the bottom unless known.
            y = np.where(np.isnan(s.latency_ms[bad]), 0.0, s.latency_ms[bad])
            fail_x.append(s.start_s[bad])
            fail_y.append(y)
            fail_text.append(
                np.array(
                    [
                        f"{s.name}: request {r} failed ({e or 'error'})"
                        for r, e in zip(s.request[bad], s.error[bad], strict=True)
                    ]
                )
            )
    if fail_x:
        fig.add_trace(
            trace(
                x=np.concatenate(fail_x),
                y=np.concatenate(fail_y),
                mode="markers",
                marker={"size": 8, "color": ERROR_COLOR, "symbol": "x"},
                name="failed request",
                text=np.concatenate(fail_text),
                hovertemplate="%{text}<br>start %{x:.2f} s<extra></extra>",
            )
        )
    fig.update_xaxes(title_text="Request start, time since the run began (s)", rangemode="tozero")
    fig.update_yaxes(
        title_text=f"{metric_label} ({unit})", rangemode="tozero", range=[0, ymax * 1.05 or 1]
    )
    plain_layout(fig, 400, top=50)
    return fig, dropped


def request_timeline(
    chunk_offsets_ms: Sequence[float] | np.ndarray,
    chunk_tokens: Sequence[int] | None = None,
    *,
    title: str = "",
) -> go.Figure:
    """Gantt of one measured request from its real chunk arrivals (like the Latency page's).

    Row 1: send -> first content chunk (TTFT). Then one bar per gap between
    consecutive chunks (the ITLs); beyond :data:`MAX_CHUNK_ROWS` chunks the middle
    gaps fold into one bar whose length is their sum.
    """
    offs = [float(x) for x in chunk_offsets_ms]
    fig = go.Figure()
    if not offs:
        fig.add_annotation(text="This request received no content chunks.", showarrow=False)
        fig.update_layout(height=200)
        return fig
    tokens = (
        list(chunk_tokens) if chunk_tokens is not None and len(chunk_tokens) == len(offs) else None
    )
    total = offs[-1]
    scale = 1000.0 if total >= 1000 else 1.0
    unit = "s" if scale == 1000.0 else "ms"

    def t(ms: float) -> float:
        return ms / scale

    rows: list[TimeBar] = [
        ("Sent → chunk 1", 0.0, offs[0], PREFILL_COLOR, f"TTFT = {t(offs[0]):.4g} {unit}")
    ]

    def chunk_row(k: int) -> TimeBar:
        gap = offs[k] - offs[k - 1]
        tok = f", {tokens[k]} tokens" if tokens and tokens[k] != 1 else ""
        return (
            f"Chunk {k + 1:,}{tok}",
            offs[k - 1],
            gap,
            DECODE_COLOR,
            f"{t(gap):.3g} {unit}" if k == 1 else "",
        )

    n = len(offs)
    if n <= MAX_CHUNK_ROWS:
        rows += [chunk_row(k) for k in range(1, n)]
    else:
        rows += [chunk_row(1), chunk_row(2)]
        lo, hi = 3, n - 3
        span = offs[hi] - offs[lo - 1]
        rows.append(
            (
                f"Chunks {lo + 1:,}–{hi + 1:,}",
                offs[lo - 1],
                span,
                DECODE_COLOR,
                f"{hi - lo + 1:,} gaps = {t(span):.3g} {unit}",
            )
        )
        rows += [chunk_row(n - 2), chunk_row(n - 1)]
    add_time_bars(
        fig,
        rows,
        t,
        unit,
        [
            (PREFILL_COLOR, "TTFT: until the first chunk"),
            (DECODE_COLOR, "gap to the next chunk (ITL)"),
        ],
        [(0.0, "sent"), (offs[0], "first chunk"), (total, "last chunk")],
    )
    fig.update_layout(
        title={"text": title, "x": 0, "y": 0.98, "yanchor": "top", "font": {"size": 14}}
        if title
        else None,
        barmode="overlay",
        height=max(280, 30 * len(rows) + 190),
        margin={"l": 10, "r": 10, "t": 110 if title else 80, "b": 40},
        legend=legend_above(1.12),
        uniformtext={"minsize": 9, "mode": "hide"},
    )
    return fig


def sweep_figure(
    sweep: SweepAnalysis,
    *,
    ttft_limit_ms: float | None = None,
    tpot_limit_ms: float | None = None,
) -> go.Figure:
    """Output tokens/s against TTFT (left) and TPOT (right), p50 and p99, one point per step
    (each p50 point labelled with its load).

    The knee (where throughput stops growing with load) and the highest load
    that still meets the SLO are marked; SLO limits are dotted lines.
    """
    pts = sweep.points
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("TTFT vs throughput", "TPOT vs throughput"),
        horizontal_spacing=0.08,
    )
    x = [p.output_tps for p in pts]
    text = [f"{p.label} ({sweep.load(p.load_value)})" for p in pts]
    # Each p50 point is labelled with its load: "c=4", "2 req/s", "8 sessions".
    point_labels = [load_words(sweep.load_mode, p.load_value) for p in pts]
    # The highest-throughput step sits at the right edge: its label goes leftwards.
    right = max(range(len(pts)), key=lambda i: np.nan_to_num(x[i], nan=-1.0)) if pts else -1
    label_sides = ["bottom left" if i == right else "bottom right" for i in range(len(pts))]
    for col, metric, limit in ((1, "ttft", ttft_limit_ms), (2, "tpot", tpot_limit_ms)):
        for pct, dash, c in (("p50", "solid", "#2E86AB"), ("p99", "dash", "#C73E1D")):
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=[getattr(p, f"{metric}_{pct}_ms") for p in pts],
                    mode="lines+markers+text" if pct == "p50" else "lines+markers",
                    textposition=label_sides,
                    texttemplate=point_labels if pct == "p50" else None,
                    textfont={"size": 10, "color": "#555"},
                    line={"dash": dash, "color": c},
                    name=f"{pct} (points: {_LOAD_NAMES.get(sweep.load_mode, 'request rate')})"
                    if pct == "p50"
                    else pct,
                    legendgroup=pct,
                    showlegend=col == 1,
                    text=text,
                    hovertemplate="%{text}<br>%{x:.4g} tokens/s<br>"
                    + f"{metric.upper()} {pct} "
                    + "%{y:.4g} ms<extra></extra>",
                ),
                row=1,
                col=col,
            )
        if limit is not None:
            fig.add_hline(
                y=limit,
                line_dash="dot",
                line_color="#555",
                row=1,
                col=col,
                annotation_text=f"SLO {limit:g} ms",
                # Left: the "highest load" line is on the right, where throughput is high.
                annotation_position="top left",
                annotation_bgcolor="rgba(255,255,255,0.8)",
            )
        fig.update_xaxes(title_text="Output tokens/s", row=1, col=col, rangemode="tozero")
        fig.update_yaxes(title_text=f"{metric.upper()} (ms)", row=1, col=col, rangemode="tozero")
    if sweep.knee is not None:
        k = pts[sweep.knee]
        for col, metric in ((1, "ttft"), (2, "tpot")):
            fig.add_trace(
                go.Scatter(
                    x=[k.output_tps],
                    y=[getattr(k, f"{metric}_p99_ms")],
                    mode="markers",
                    marker={"symbol": "star", "size": 16, "color": "#222"},
                    name=f"knee: throughput stops growing ({sweep.load(k.load_value)})",
                    legendgroup="knee",
                    showlegend=col == 1,
                    hovertemplate="knee: %{x:.4g} tokens/s<extra></extra>",
                ),
                row=1,
                col=col,
            )
    if sweep.best_under_slo is not None:
        b = pts[sweep.best_under_slo]
        for col in (1, 2):
            fig.add_vline(x=b.output_tps, line_dash="dash", line_color="#3BB273", row=1, col=col)
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="lines",
                line={"dash": "dash", "color": "#3BB273"},
                name=f"highest load meeting the SLO ({sweep.load(b.load_value)})",
            )
        )
    fig.update_layout(
        height=440,
        margin={"l": 10, "r": 10, "t": 50, "b": 110},
        legend={"orientation": "h", "yanchor": "top", "y": -0.22, "x": 0},
    )
    return fig
