"""Figure of the Probe page: a running probe's latency, request by request, as it happens."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from inferlab.charts.layout import legend_above

if TYPE_CHECKING:
    from inferlab.dashboard.jobs import LivePoint

__all__ = ["live_latency"]

TTFT_COLOR = "#E4572E"
TPOT_COLOR = "#17BEBB"
FAILED_COLOR = "#B00020"


def live_latency(points: Sequence[LivePoint], title: str = "") -> go.Figure:
    """TTFT (top) and TPOT (bottom) of each finished request against when it finished.

    Failed requests are red crosses on the time axis of the top panel, with their
    error class on hover. SVG scatter: the Probe page passes at most 300 recent points.
    """
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.08,
    )
    ok = [p for p in points if p.ok]
    failed = [p for p in points if not p.ok]
    with_ttft = [p for p in ok if p.ttft_ms is not None]
    with_tpot = [p for p in ok if p.tpot_ms is not None]
    fig.add_trace(
        go.Scatter(
            x=[p.done_s for p in with_ttft],
            y=[p.ttft_ms for p in with_ttft],
            mode="markers",
            name="TTFT (ms)",
            marker={"color": TTFT_COLOR, "size": 6, "opacity": 0.7},
            hovertemplate="finished at %{x:.2f} s<br>TTFT %{y:.1f} ms<extra></extra>",
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=[p.done_s for p in with_tpot],
            y=[p.tpot_ms for p in with_tpot],
            mode="markers",
            name="TPOT (ms/token)",
            marker={"color": TPOT_COLOR, "size": 6, "opacity": 0.7},
            hovertemplate="finished at %{x:.2f} s<br>TPOT %{y:.2f} ms/token<extra></extra>",
        ),
        row=2,
        col=1,
    )
    if failed:
        fig.add_trace(
            go.Scatter(
                x=[p.done_s for p in failed],
                y=[0.0] * len(failed),
                mode="markers",
                name=f"failed ({len(failed):,})",
                marker={"color": FAILED_COLOR, "symbol": "x", "size": 9},
                customdata=[p.error_class or "error" for p in failed],
                hovertemplate="failed at %{x:.2f} s: %{customdata}<extra></extra>",
            ),
            row=1,
            col=1,
        )
    fig.update_xaxes(
        title_text="Request finished (s since start)", row=2, col=1, rangemode="tozero"
    )
    fig.update_xaxes(rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="TTFT (ms)", row=1, col=1, rangemode="tozero")
    fig.update_yaxes(title_text="TPOT (ms/token)", row=2, col=1, rangemode="tozero")
    fig.update_layout(
        title=title or None,
        height=420,
        margin={"l": 60, "r": 20, "t": 70 if title else 40, "b": 50},
        legend=legend_above(),
        uirevision="live",  # keep zoom while the fragment redraws
    )
    return fig
