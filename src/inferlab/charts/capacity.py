"""Figures of the Throughput & capacity page: latency vs throughput by batch, and the roofline."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from inferlab.capacity import BatchPoint
from inferlab.charts.layout import plain_layout

__all__ = ["MeasuredPoint", "nice_step", "roofline_chart", "shared_ticks", "tradeoff_chart"]

TPOT_COLOR = "#E4572E"
TPS_COLOR = "#2E86AB"
MEASURED_COLOR = "#1B1F24"
ROOF_COLOR = "#555555"

MeasuredPoint = tuple[int, float, float]  # (concurrency, TPOT ms, output tokens/s)


def nice_step(top: float, intervals: int = 5) -> float:
    """A round tick step (1, 2, 2.5 or 5 x 10^k) giving about `intervals` ticks up to `top`."""
    if not (top > 0 and math.isfinite(top)):
        return 1.0
    raw = top / max(intervals, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    return next(m * power for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * power >= raw * (1 - 1e-9))


def shared_ticks(left_top: float, right_top: float) -> tuple[float, float, int]:
    """Round steps for two axes from zero and one tick count for both, so that the right
    axis's ticks land on the left axis's grid lines: (left step, right step, intervals)."""
    left, right = nice_step(left_top), nice_step(right_top)
    count = max(math.ceil(left_top / left - 1e-9), math.ceil(right_top / right - 1e-9), 1)
    return left, right, count


def tradeoff_chart(
    points: Sequence[BatchPoint],
    kv_limit: int | None = None,
    measured: Sequence[MeasuredPoint] = (),
    tpot_target_ms: float | None = None,
) -> go.Figure:
    """Estimated TPOT (left axis) and total output tokens/s (right axis) against batch size."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    xs = [p.batch for p in points]
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=[p.tpot_ms for p in points],
            mode="lines+markers",
            name="TPOT, roofline estimate (ms)",
            line={"color": TPOT_COLOR, "width": 3},
            hovertemplate="batch %{x}<br>TPOT %{y:.2f} ms<extra></extra>",
        ),
        secondary_y=False,
    )
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=[p.tokens_per_s for p in points],
            mode="lines+markers",
            name="Output tokens/s while decoding, roofline estimate",
            line={"color": TPS_COLOR, "width": 3, "dash": "dash"},
            hovertemplate="batch %{x}<br>%{y:,.0f} tokens/s<extra></extra>",
        ),
        secondary_y=True,
    )
    if measured:
        fig.add_trace(
            go.Scatter(
                x=[m[0] for m in measured],
                y=[m[1] for m in measured],
                mode="markers",
                name="Measured TPOT p50 (ms)",
                marker={
                    "color": TPOT_COLOR,
                    "size": 12,
                    "symbol": "diamond",
                    "line": {"width": 2, "color": MEASURED_COLOR},
                },
                hovertemplate="concurrency %{x}<br>measured TPOT %{y:.2f} ms<extra></extra>",
            ),
            secondary_y=False,
        )
        fig.add_trace(
            go.Scatter(
                x=[m[0] for m in measured],
                y=[m[2] for m in measured],
                mode="markers",
                name="Measured output tokens/s",
                marker={
                    "color": TPS_COLOR,
                    "size": 12,
                    "symbol": "square",
                    "line": {"width": 2, "color": MEASURED_COLOR},
                },
                hovertemplate="concurrency %{x}<br>measured %{y:,.0f} tokens/s<extra></extra>",
            ),
            secondary_y=True,
        )
    tpot_top = max(
        [p.tpot_ms for p in points] + [m[1] for m in measured] + [tpot_target_ms or 0.0, 1e-9]
    )
    tps_top = max([p.tokens_per_s for p in points] + [m[2] for m in measured] + [1e-9])
    tpot_step, tps_step, intervals = shared_ticks(tpot_top * 1.05, tps_top * 1.05)
    if kv_limit is not None and kv_limit >= 1:
        # A trace, not add_vline: shape annotations on a log axis take log10 coordinates.
        top = tpot_step * intervals / 1.05
        fig.add_trace(
            go.Scatter(
                x=[kv_limit, kv_limit],
                y=[0, top * 1.05],
                mode="lines",
                line={"color": ROOF_COLOR, "dash": "dot"},
                name=f"KV cache full at batch {kv_limit:,}",
                hoverinfo="skip",
            ),
            secondary_y=False,
        )
    if tpot_target_ms is not None:
        fig.add_hline(
            y=tpot_target_ms,
            line_dash="dot",
            line_color=TPOT_COLOR,
            annotation_text=f"TPOT target {tpot_target_ms:g} ms",
            annotation_position="bottom right",
        )
    # Ticks at the batch sizes drawn (1, 2, 4, ...): plotly's own log ticks read "5 1 2 5 10".
    ticks = xs if len(xs) <= 14 else xs[:: -(-len(xs) // 14)]
    if len(ticks) >= 2 and ticks[-1] < 1.5 * ticks[-2]:
        # The last size (the KV-cache limit, e.g. 340) next to a power of two (256): the
        # labels would touch on a log axis; the limit is the one worth reading.
        ticks = [*ticks[:-2], ticks[-1]]
    fig.update_xaxes(
        title_text="Batch size (concurrent sequences), log scale",
        type="log",
        tickvals=ticks,
        tickformat=",d",
    )
    # Round ticks on both axes, as many on each, so the two scales share the grid lines.
    fig.update_yaxes(
        title_text="TPOT (ms per token)",
        range=[0, tpot_step * intervals],
        tickmode="linear",
        tick0=0,
        dtick=tpot_step,
        tickformat=",~g",
        secondary_y=False,
    )
    fig.update_yaxes(
        title_text="Total output (tokens/s)",
        range=[0, tps_step * intervals],
        tickmode="linear",
        tick0=0,
        dtick=tps_step,
        tickformat=",~g",
        secondary_y=True,
        showgrid=False,
    )
    plain_layout(fig, 420, hovermode="closest")
    return fig


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.3g}"


def roofline_chart(
    peak_tflops: float,
    bandwidth_tb_s: float,
    points: Sequence[tuple[str, float]],
) -> go.Figure:
    """Attainable TFLOPS = min(peak, bandwidth x intensity), with workloads placed on it.

    `points` are (label, arithmetic intensity in FLOP/byte).
    """
    ridge = peak_tflops / bandwidth_tb_s
    lo = min([ridge / 100, *[p[1] / 3 for p in points if p[1] > 0]])
    hi = max([ridge * 30, *[p[1] * 3 for p in points]])
    xs = np.logspace(np.log10(max(lo, 1e-3)), np.log10(hi), 200)
    ys = np.minimum(peak_tflops, bandwidth_tb_s * xs)
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=ys,
            mode="lines",
            name="Roofline: min(peak FLOPS, bandwidth × intensity)",
            line={"color": ROOF_COLOR, "width": 3},
            hovertemplate="%{x:.3g} FLOP/byte → %{y:,.1f} TFLOPS<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[ridge, ridge],
            y=[float(ys.min()), peak_tflops],
            mode="lines",
            line={"color": ROOF_COLOR, "dash": "dash", "width": 1},
            name=f"Ridge point: {ridge:,.0f} FLOP/byte",
            hoverinfo="skip",
        )
    )
    colors = [TPOT_COLOR, TPS_COLOR, "#0E7C7B", "#F18F01"]
    for i, (label, intensity) in enumerate(points):
        y = min(peak_tflops, bandwidth_tb_s * intensity)
        fig.add_trace(
            go.Scatter(
                x=[intensity],
                y=[y],
                mode="markers",
                name=f"{label}: {_fmt(intensity)} FLOP/byte",
                marker={"size": 14, "color": colors[i % len(colors)]},
                hovertemplate=f"{label}<br>%{{x:.3g}} FLOP/byte<br>≤ %{{y:,.1f}} TFLOPS<extra></extra>",
            )
        )
    # One labelled tick per power of ten (plotly's default labels "2 5" between them too).
    fig.update_xaxes(
        title_text="Arithmetic intensity (FLOP per byte read), log scale",
        type="log",
        dtick=1,
        tickformat=",~g",
    )
    fig.update_yaxes(
        title_text="Attainable TFLOPS (dense), log scale", type="log", dtick=1, tickformat=",~g"
    )
    plain_layout(fig, 380)
    return fig
