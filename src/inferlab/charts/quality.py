"""Figures of the Quality page: the trade-off scatter, the satisfaction assumption, probe scores."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from inferlab.charts.labels import Box, LabelPoint, axis_range, label_positions
from inferlab.charts.layout import legend_above
from inferlab.quality import (
    METRICS,
    Candidate,
    QualityReport,
    SatisfactionModel,
    metric_value,
    pareto_front,
)

__all__ = ["quality_scores_chart", "satisfaction_curve", "tradeoff_scatter"]

FRONT_LINE_COLOR = "#2E86AB"
DOMINATED_COLOR = "#B8B8B8"
BEST_COLOR = "#E4572E"
MIN_SIZE_PX = 14.0
MAX_SIZE_PX = 40.0
# The trade-off chart's plot area in a 1400 px window (the figure minus margins and colour
# bar): what label placement assumes. Wider windows only add room.
PLOT_W_PX = 760.0
PLOT_H_PX = 340.0


def _axis_title(key: str) -> str:
    m = METRICS[key]
    return f"{m.label} — {'higher' if m.sense == 'max' else 'lower'} is better"


def tradeoff_scatter(
    candidates: Sequence[Candidate],
    x_key: str,
    y_key: str,
    size_key: str,
    model: SatisfactionModel | None = None,
    best: str | None = None,
) -> go.Figure:
    """Options on two criteria, marker size and colour a third; Pareto frontier drawn.

    The frontier is computed on the two plotted criteria: an option is greyed
    out when another is at least as good on both and strictly better on one.
    Options missing either plotted value are left out (the page lists them).
    """
    xm, ym, sm = METRICS[x_key], METRICS[y_key], METRICS[size_key]
    pts = []
    for c in candidates:
        x, y = metric_value(c, x_key, model), metric_value(c, y_key, model)
        if x is not None and y is not None:
            pts.append((c, x, y, metric_value(c, size_key, model)))
    fig = go.Figure()
    fig.update_layout(
        xaxis_title=_axis_title(x_key),
        yaxis_title=_axis_title(y_key),
        legend=legend_above(),
        margin={"t": 60},
        height=480,
    )
    if not pts:
        fig.add_annotation(
            text="No option has both values: fill them in the table",
            showarrow=False,
            xref="paper",
            yref="paper",
            x=0.5,
            y=0.5,
        )
        return fig
    optimal = pareto_front([(x, y) for _, x, y, _ in pts], [xm.sense, ym.sense])
    sizes = [s for *_, s in pts if s is not None]
    lo, hi = (min(sizes), max(sizes)) if sizes else (0.0, 0.0)

    def px(v: float | None) -> float:
        if v is None:
            return MIN_SIZE_PX
        if hi == lo:
            return (MIN_SIZE_PX + MAX_SIZE_PX) / 2
        return MIN_SIZE_PX + (v - lo) / (hi - lo) * (MAX_SIZE_PX - MIN_SIZE_PX)

    def hover(c: Candidate) -> str:
        lines = [f"<b>{c.name}</b>"]
        for k, m in METRICS.items():
            lines.append(f"{m.label}: {m.fmt(metric_value(c, k, model))}")
        lines.append(f"Latency for the p95 limit: {c.latency_note}")
        if c.source:
            lines.append(f"Source: {c.source}")
        return "<br>".join(lines)

    # Explicit ranges, so label placement knows where each point is drawn.
    x_lo, x_hi = axis_range([x for _, x, _, _ in pts])
    y_lo, y_hi = axis_range([y for _, _, y, _ in pts], 0.18)
    fig.update_layout(xaxis_range=[x_lo, x_hi], yaxis_range=[y_lo, y_hi])
    # Labels placed best first, then the Pareto-optimal options, then the rest.
    order = sorted(range(len(pts)), key=lambda i: (pts[i][0].name != best, not optimal[i], i))
    placed = label_positions(
        [
            LabelPoint(
                (pts[i][1] - x_lo) / (x_hi - x_lo) * PLOT_W_PX,
                (pts[i][2] - y_lo) / (y_hi - y_lo) * PLOT_H_PX,
                px(pts[i][3]),
                pts[i][0].name,
            )
            for i in order
        ],
        PLOT_W_PX,
        PLOT_H_PX,
    )
    where = {pts[i][0].name: pos for i, pos in zip(order, placed, strict=True)}

    front = sorted(((x, y) for (_, x, y, _), o in zip(pts, optimal, strict=True) if o))
    if len(front) > 1:
        fig.add_trace(
            go.Scatter(
                x=[p[0] for p in front],
                y=[p[1] for p in front],
                mode="lines",
                line={"color": FRONT_LINE_COLOR, "width": 2, "dash": "dot"},
                # The step passes through the worse-of-both corner between neighbours.
                line_shape="hv" if xm.sense == "min" else "vh",
                name="Pareto frontier",
                hoverinfo="skip",
            )
        )
    dom = [p for p, o in zip(pts, optimal, strict=True) if not o]
    if dom:
        fig.add_trace(
            go.Scatter(
                x=[x for _, x, _, _ in dom],
                y=[y for _, _, y, _ in dom],
                mode="markers+text",
                text=[c.name for c, *_ in dom],
                textposition=[where[c.name] for c, *_ in dom],
                textfont={"color": "#888888"},
                marker={
                    "size": [px(s) for *_, s in dom],
                    "color": DOMINATED_COLOR,
                    "opacity": 0.6,
                    "line": {"color": "#888888", "width": 1},
                },
                name="Dominated (another option is better on both axes)",
                hovertext=[hover(c) for c, *_ in dom],
                hoverinfo="text",
            )
        )
    opt = [p for p, o in zip(pts, optimal, strict=True) if o]
    known = [s for *_, s in opt if s is not None]
    fig.add_trace(
        go.Scatter(
            x=[x for _, x, _, _ in opt],
            y=[y for _, _, y, _ in opt],
            mode="markers+text",
            text=[c.name for c, *_ in opt],
            textposition=[where[c.name] for c, *_ in opt],
            marker={
                "size": [px(s) for *_, s in opt],
                "color": [s if s is not None else lo for *_, s in opt]
                if known
                else FRONT_LINE_COLOR,
                "colorscale": "Viridis",
                "reversescale": sm.sense == "min",
                "cmin": lo,
                "cmax": hi if hi > lo else lo + 1,
                "showscale": bool(known),
                "colorbar": {"title": {"text": f"{sm.label}<br>(size too)"}},
                "line": {
                    "color": [BEST_COLOR if c.name == best else "#333333" for c, *_ in opt],
                    "width": [4 if c.name == best else 1 for c, *_ in opt],
                },
            },
            name="Pareto-optimal" + (" (red ring: best under your constraints)" if best else ""),
            hovertext=[hover(c) for c, *_ in opt],
            hoverinfo="text",
        )
    )
    if best and any(c.name == best for c, *_ in dom):
        # The best option under constraints can be dominated on the two plotted axes.
        c, x, y, s = next(p for p in dom if p[0].name == best)
        fig.add_trace(
            go.Scatter(
                x=[x],
                y=[y],
                mode="markers",
                marker={
                    "size": px(s) + 6,
                    "color": "rgba(0,0,0,0)",
                    "line": {"color": BEST_COLOR, "width": 4},
                },
                name="Best under your constraints",
                hoverinfo="skip",
            )
        )
    return fig


def satisfaction_curve(
    model: SatisfactionModel, candidates: Sequence[Candidate], baseline: str | None = None
) -> go.Figure:
    """The assumed satisfaction against total latency (at the baseline's quality), options marked.

    Options whose quality differs from the baseline's sit above or below the line
    by the quality term; a thin vertical segment shows that offset.
    """
    lats = [c.total_latency_s for c in candidates if c.total_latency_s is not None]
    x_max = max([*lats, model.baseline_latency_s, model.fast_enough_s, 1.0]) * 1.25
    steps = 200
    xs = [x_max * i / steps for i in range(steps + 1)]
    line_model = model
    ys = [
        line_model.expected_pct(Candidate("", model.baseline_quality_pct, x * 1000, 0.0, 0.0))
        or 0.0
        for x in xs
    ]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=ys,
            mode="lines",
            name="Assumed satisfaction at the baseline's quality",
            line={"color": FRONT_LINE_COLOR, "width": 2},
            hovertemplate="%{x:.2f} s → %{y:.1f}%<extra></extra>",
        )
    )
    fig.add_vline(
        x=model.fast_enough_s,
        line={"dash": "dot", "color": "#888888"},
        annotation_text=f"fast enough: {model.fast_enough_s:g} s",
        annotation_position="bottom right",
    )
    shown = sorted(
        (
            c
            for c in candidates
            if c.total_latency_s is not None and model.expected_pct(c) is not None
        ),
        key=lambda c: c.total_latency_s or 0.0,
    )
    sats = [model.expected_pct(c) or 0.0 for c in shown]
    y_range = (
        max(0.0, min([*sats, min(ys)]) - 8.0),
        min(105.0, max([*sats, max(ys)]) + 6.0),
    )
    curve_w_px, curve_h_px = 940.0, 260.0

    def px(lat_s: float, pct: float) -> tuple[float, float]:
        return (
            lat_s / x_max * curve_w_px,
            (pct - y_range[0]) / (y_range[1] - y_range[0]) * curve_h_px,
        )

    # Each option's satisfaction on the line at its latency (its quality offset is the
    # thin segment from there to the option), computed once for the labels and the drawing.
    on_lines = [
        line_model.expected_pct(
            Candidate("", model.baseline_quality_pct, (c.total_latency_s or 0.0) * 1000, 0, 0)
        )
        for c in shown
    ]
    # The segments and the "fast enough" line: labels keep off them.
    fast_x = model.fast_enough_s / x_max * curve_w_px
    segments = [Box(fast_x - 2.0, 0.0, fast_x + 2.0, curve_h_px)]
    for c, pct, on in zip(shown, sats, on_lines, strict=True):
        if on is not None and abs(on - pct) > 1e-9:
            (x, y0), (_, y1) = px(c.total_latency_s or 0.0, on), px(c.total_latency_s or 0.0, pct)
            segments.append(Box(x - 2.0, min(y0, y1), x + 2.0, max(y0, y1)))
    positions = label_positions(
        [
            LabelPoint(
                *px(c.total_latency_s or 0.0, sat), 14.0 if c.name == baseline else 11.0, c.name
            )
            for c, sat in zip(shown, sats, strict=True)
        ],
        curve_w_px,
        curve_h_px,
        segments,
    )
    legend_done = False
    for k, c in enumerate(shown):
        lat = c.total_latency_s
        sat = model.expected_pct(c)
        assert lat is not None and sat is not None
        on_line = on_lines[k]
        if on_line is not None and abs(on_line - sat) > 1e-9:
            fig.add_trace(
                go.Scatter(
                    x=[lat, lat],
                    y=[on_line, sat],
                    mode="lines",
                    line={"color": "#888888", "width": 1},
                    showlegend=False,
                    hoverinfo="skip",
                )
            )
        is_base = c.name == baseline
        show_legend = is_base or not legend_done
        legend_done = legend_done or not is_base
        fig.add_trace(
            go.Scatter(
                x=[lat],
                y=[sat],
                mode="markers+text",
                text=[c.name],
                textposition=positions[k],
                marker={
                    "size": 14 if is_base else 11,
                    "color": BEST_COLOR if is_base else "#333333",
                    "symbol": "star" if is_base else "circle",
                },
                name="Baseline" if is_base else "Options",
                showlegend=show_legend,
                legendgroup="base" if is_base else "options",
                hovertemplate=f"<b>{c.name}</b><br>%{{x:.2f}} s → %{{y:.1f}}%<extra></extra>",
            )
        )
    fig.update_layout(
        xaxis_title="Total latency TTFT + TPOT × N (s)",
        yaxis_title="Expected satisfaction (%)",
        yaxis_range=list(y_range),
        xaxis_range=[0, x_max],
        legend=legend_above(),
        margin={"t": 60},
        height=380,
    )
    return fig


def quality_scores_chart(report: QualityReport) -> go.Figure:
    """Accuracy, consistency and error rate per temperature of a quality run (all in %)."""
    series = (
        ("Exact match", "exact_match", "#2E86AB"),
        ("ROUGE-L", "rouge_l", "#17BEBB"),
        ("Identical repeats", "identical_share", "#F18F01"),
        ("Pairwise similarity", "pairwise_similarity", "#C5D86D"),
        ("Error rate", "error_rate", "#E4572E"),
    )
    temps = [f"T = {t.temperature:g}" for t in report.by_temperature]
    fig = go.Figure()
    for name, attr, color in series:
        vals = [getattr(t, attr) for t in report.by_temperature]
        fig.add_trace(
            go.Bar(
                x=temps,
                y=[None if v is None else v * 100 for v in vals],
                name=name,
                marker_color=color,
                text=["n/a" if v is None else f"{v * 100:.0f}%" for v in vals],
                textposition="outside",
            )
        )
    fig.update_layout(
        barmode="group",
        xaxis_title="Sampling temperature",
        yaxis_title="Share (%)",
        yaxis_range=[0, 115],
        legend=legend_above(),
        margin={"t": 60},
        height=380,
    )
    return fig
