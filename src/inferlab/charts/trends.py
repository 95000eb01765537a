"""Figure of the Trends page: chosen metrics of one series over time, changes marked."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from inferlab.charts.layout import plain_layout
from inferlab.monitor import SeriesTrend, metric_spec

__all__ = ["trend_figure"]

POINT_COLOR = "#1f77b4"
LEVEL_COLOR = "#7f7f7f"
WORSE_COLOR = "#d62728"
BETTER_COLOR = "#2ca02c"
SLO_COLOR = "#ff7f0e"


def _scale(unit: str) -> float:
    return 100.0 if unit == "%" else 1.0


def trend_figure(
    trend: SeriesTrend, metrics: Sequence[str], slos: Mapping[str, float] | None = None
) -> go.Figure:
    """One panel per metric (shared time axis): each run a point (run id on hover, in
    `customdata`), the level of each segment as a grey step, a vertical line at each
    detected change annotated "before -> after (size)", and a dashed SLO line."""
    slos = slos or {}
    rows = max(len(metrics), 1)
    fig = make_subplots(
        rows=rows,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.06 if rows > 1 else 0.0,
        subplot_titles=[metric_spec(m).label for m in metrics],
    )
    x = [p.started_at for p in trend.points]
    ids = [p.run_id for p in trend.points]
    for row, key in enumerate(metrics, start=1):
        spec = metric_spec(key)
        k = _scale(spec.unit)
        y = [None if p.values.get(key) is None else p.values[key] * k for p in trend.points]  # type: ignore[operator]
        fig.add_trace(
            go.Scatter(
                x=x,
                y=y,
                customdata=ids,
                mode="lines+markers",
                name=spec.label,
                showlegend=False,
                line={"color": POINT_COLOR, "width": 1},
                marker={"size": 7},
                hovertemplate=f"%{{x|%Y-%m-%d %H:%M:%S}} UTC<br>{spec.label} %{{y:,.2f}} "
                f"{spec.unit}<br>run %{{customdata}}<extra></extra>",
            ),
            row=row,
            col=1,
        )
        changes = trend.changes.get(key, ())
        if changes:
            starts = [0, *(c.index for c in changes)]
            ends = [*(c.index for c in changes), len(trend.points)]
            levels = [changes[0].before, *(c.after for c in changes)]
            lx: list[object] = []
            ly: list[float | None] = []
            for s, e, level in zip(starts, ends, levels, strict=True):
                lx += [x[s], x[e - 1], None]
                ly += [level * k, level * k, None]
            fig.add_trace(
                go.Scatter(
                    x=lx,
                    y=ly,
                    mode="lines",
                    name="segment level",
                    showlegend=False,
                    line={"color": LEVEL_COLOR, "width": 3, "dash": "dot"},
                    hoverinfo="skip",
                ),
                row=row,
                col=1,
            )
        for c in changes:
            at = x[c.index]
            color = WORSE_COLOR if c.worse else BETTER_COLOR
            size = (
                f"{100 * c.delta:+.1f} pt"
                if spec.unit == "%"
                else ("" if c.relative is None else f"{c.relative:+.0%}")
            )
            fig.add_vline(x=at, line={"color": color, "dash": "dash", "width": 2}, row=row, col=1)
            fig.add_annotation(
                x=at,
                y=1.0,
                yref=f"y{row if row > 1 else ''} domain",
                xref=f"x{row if row > 1 else ''}",
                text=f"{spec.fmt(c.before)} → {spec.fmt(c.after)} ({size})",
                showarrow=False,
                xanchor="left",
                yanchor="top",
                font={"color": color, "size": 12},
                bgcolor="rgba(255,255,255,0.8)",
                name="change",
            )
        if key in slos:
            fig.add_hline(
                y=slos[key] * k,
                line={"color": SLO_COLOR, "dash": "dash", "width": 1.5},
                annotation_text=f"SLO {spec.fmt(slos[key])}",
                annotation_position="bottom right",
                row=row,
                col=1,
            )
        fig.update_yaxes(title_text=spec.unit, rangemode="tozero", row=row, col=1)
    fig.update_xaxes(title_text="run start (UTC)", row=rows, col=1)
    if x and max(x) - min(x) < timedelta(minutes=1):
        # One run (or a burst): plotly would zoom to milliseconds ("00:15:41.7785").
        mid = min(x) + (max(x) - min(x)) / 2
        fig.update_xaxes(range=[mid - timedelta(hours=1), mid + timedelta(hours=1)])
    fig.update_xaxes(tickformat="%H:%M\n%Y-%m-%d")
    plain_layout(fig, height=140 + 220 * rows, top=40, hovermode="closest")
    return fig
