"""Figures of the server's view: the joined timeline and the TTFT breakdown (pure)."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from inferlab.charts.layout import plain_layout
from inferlab.compare.server import ServerComparison

__all__ = ["server_timeline_figure", "ttft_breakdown_figure"]

_GAUGE_COLORS = {"running": "#1F77B4", "waiting": "#FF7F0E", "KV cache": "#2CA02C"}


def server_timeline_figure(cmp: ServerComparison) -> go.Figure:
    """Per-request client TTFT (top) over the server's gauges (below), one time axis (s)."""
    gauges = cmp.gauges()
    kv = gauges.pop("KV cache", None)
    rows = 1 + bool(gauges) + (kv is not None)
    heights = [0.5] + [0.5 / (rows - 1)] * (rows - 1) if rows > 1 else [1.0]
    fig = make_subplots(
        rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.06, row_heights=heights
    )
    good = [
        (x, y)
        for x, y, ok in zip(cmp.sent_s, cmp.ttft_ms, cmp.ok, strict=True)
        if ok and y is not None
    ]
    failed = [x for x, ok in zip(cmp.sent_s, cmp.ok, strict=True) if not ok]
    fig.add_trace(
        go.Scatter(
            x=[x for x, _ in good],
            y=[y for _, y in good],
            mode="markers",
            marker={"size": 5, "opacity": 0.7, "color": "#9467BD"},
            name="client TTFT per request",
            hovertemplate="sent %{x:.2f} s<br>TTFT %{y:.1f} ms<extra></extra>",
        ),
        row=1,
        col=1,
    )
    if failed:
        fig.add_trace(
            go.Scatter(
                x=failed,
                y=[0.0] * len(failed),
                mode="markers",
                name="failed request",
                marker={"size": 8, "symbol": "x", "color": "#D62728"},
            ),
            row=1,
            col=1,
        )
    fig.update_yaxes(title_text="TTFT (ms)", rangemode="tozero", row=1, col=1)
    row = 2
    if gauges:
        for name, g in gauges.items():
            fig.add_trace(
                go.Scatter(
                    x=[t / 1000 for t, _ in g.points],
                    y=[v for _, v in g.points],
                    mode="lines",
                    line={"shape": "hv", "color": _GAUGE_COLORS[name]},
                    name=f"server: requests {name}",
                ),
                row=row,
                col=1,
            )
        fig.update_yaxes(title_text="requests", rangemode="tozero", row=row, col=1)
        row += 1
    if kv is not None:
        fig.add_trace(
            go.Scatter(
                x=[t / 1000 for t, _ in kv.points],
                y=[v * 100 for _, v in kv.points],
                mode="lines",
                line={"shape": "hv", "color": _GAUGE_COLORS["KV cache"]},
                name="server: KV cache used",
            ),
            row=row,
            col=1,
        )
        fig.update_yaxes(title_text="KV cache (%)", rangemode="tozero", row=row, col=1)
    fig.update_xaxes(title_text="Time since the run began (s)", row=rows, col=1)
    plain_layout(fig, 260 + 160 * rows, top=50)
    return fig


def ttft_breakdown_figure(cmp: ServerComparison) -> go.Figure:
    """The mean wait for a first token as stacked parts (ms)."""
    fig = go.Figure()
    for part in cmp.breakdown:
        fig.add_trace(
            go.Bar(
                x=[part.ms],
                y=["mean wait for the first token"],
                orientation="h",
                name=f"{part.name} ({part.ms:,.1f} ms)",
                hovertemplate=f"{part.name}: %{{x:.1f}} ms<br>{part.source}<extra></extra>",
            )
        )
    fig.update_layout(barmode="stack", legend_traceorder="normal")
    fig.update_xaxes(title_text="Time (ms)", rangemode="tozero")
    plain_layout(fig, 220, top=50)
    return fig
