"""Figures of the Latency page: the timeline of one answer and A vs B."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import plotly.graph_objects as go

from inferlab.charts.layout import plain_layout
from inferlab.metrics import Breakeven, total_latency_textbook_ms

__all__ = ["TimeBar", "add_time_bars", "latency_comparison", "latency_timeline"]

PREFILL_COLOR = "#E4572E"
DECODE_COLOR = "#17BEBB"
A_COLOR = "#2E86AB"
B_COLOR = "#F18F01"
# Up to this many tokens every token gets its own row; beyond, the middle folds into one bar.
MAX_TOKEN_ROWS = 24

TimeBar = tuple[str, float, float, str, str]  # label, start (ms), length (ms), colour, bar text


def add_time_bars(
    fig: go.Figure,
    rows: Sequence[TimeBar],
    t: Callable[[float], float],
    unit: str,
    legend: Sequence[tuple[str, str]],
    marks: Sequence[tuple[float, str]],
    *,
    text_anchor: str | None = None,
) -> None:
    """Draw `rows` as a Gantt of one request, first row on top, in `unit` (`t` converts ms).

    `legend` is (colour, name) entries explaining the bar colours; `marks` are dotted
    vertical lines at (ms, text).
    """
    labels = [r[0] for r in rows]
    fig.add_trace(
        go.Bar(
            y=labels,
            x=[t(r[2]) for r in rows],
            base=[t(r[1]) for r in rows],
            orientation="h",
            marker_color=[r[3] for r in rows],
            text=[r[4] for r in rows],
            textposition="auto",
            insidetextanchor=text_anchor,
            hovertemplate="%{y}<br>from %{base:.4g} to %{customdata:.4g} "
            + unit
            + "<extra></extra>",
            customdata=[t(r[1] + r[2]) for r in rows],
            showlegend=False,
        )
    )
    for legend_color, name in legend:
        fig.add_trace(go.Bar(x=[None], y=[None], marker_color=legend_color, name=name))
    for i, (x_ms, text) in enumerate(marks):
        fig.add_vline(
            x=t(x_ms),
            line_dash="dot",
            line_color="#555",
            annotation_text=text,
            annotation_position="top",
            # Alternate heights so neighbouring labels (sent / first token) never overlap.
            annotation_yshift=16 * (i % 2),
        )
    fig.update_yaxes(categoryorder="array", categoryarray=labels[::-1], title_text=None)
    fig.update_xaxes(title_text=f"Time since the request was sent ({unit})", rangemode="tozero")


def latency_timeline(ttft_ms: float, tpot_ms: float, output_tokens: int) -> go.Figure:
    """Gantt of one streamed answer: prefill until the first token, then one TPOT per token.

    Drawn in the exact form: token 1 arrives at TTFT, token k at TTFT + (k - 1) x TPOT.
    """
    n = max(int(output_tokens), 1)
    total_ms = ttft_ms + tpot_ms * (n - 1)
    scale = 1000.0 if total_ms >= 1000 else 1.0
    unit = "s" if scale == 1000.0 else "ms"

    def t(ms: float) -> float:
        return ms / scale

    rows: list[TimeBar] = [
        (
            "Prompt processing → token 1",
            0.0,
            ttft_ms,
            PREFILL_COLOR,
            f"TTFT = {t(ttft_ms):.3g} {unit}",
        )
    ]
    if n <= MAX_TOKEN_ROWS:
        shown = list(range(2, n + 1))
        folded: tuple[int, int] | None = None
    else:
        shown = [2, 3]
        folded = (4, n - 2)
        shown_tail = [n - 1, n]
    for k in shown:
        start = ttft_ms + (k - 2) * tpot_ms
        # Only the first decode bar is labelled; repeating the label clutters the chart.
        label = f"TPOT = {t(tpot_ms):.3g} {unit}" if k == 2 else ""
        rows.append((f"Token {k:,}", start, tpot_ms, DECODE_COLOR, label))
    if folded is not None:
        lo, hi = folded
        count = hi - lo + 1
        start = ttft_ms + (lo - 2) * tpot_ms
        rows.append(
            (
                f"Tokens {lo:,}–{hi:,}",
                start,
                count * tpot_ms,
                DECODE_COLOR,
                f"{count:,} × TPOT = {t(count * tpot_ms):.3g} {unit}",
            )
        )
        for k in shown_tail:
            start = ttft_ms + (k - 2) * tpot_ms
            rows.append((f"Token {k:,}", start, tpot_ms, DECODE_COLOR, ""))

    fig = go.Figure()
    add_time_bars(
        fig,
        rows,
        t,
        unit,
        [
            (PREFILL_COLOR, "TTFT: prefill until the first token"),
            (DECODE_COLOR, "TPOT: one decode step per token"),
        ],
        [(0.0, "request sent"), (ttft_ms, "first token"), (total_ms, "complete")],
        text_anchor="middle",
    )
    fig.update_layout(
        barmode="overlay",
        height=max(280, 34 * len(rows) + 170),
        margin={"l": 10, "r": 10, "t": 50, "b": 90},
        # Anchored to the container's bottom edge so it never overlaps the axis title.
        legend={"orientation": "h", "yref": "container", "y": 0.0, "yanchor": "bottom", "x": 0},
        uniformtext={"minsize": 9, "mode": "hide"},
    )
    return fig


def latency_comparison(
    ttft_a_ms: float,
    tpot_a_ms: float,
    ttft_b_ms: float,
    tpot_b_ms: float,
    output_tokens: int,
    be: Breakeven,
) -> go.Figure:
    """Textbook total latency (s) against output length for A and B, breakeven marked."""
    n_max = max(int(output_tokens) * 2, 10)
    if be.tokens is not None:
        n_max = max(n_max, int(be.tokens * 1.5) + 1)
    ns = np.linspace(0, n_max, 200)
    fig = go.Figure()
    for name, ttft, tpot, color in (
        ("A", ttft_a_ms, tpot_a_ms, A_COLOR),
        ("B", ttft_b_ms, tpot_b_ms, B_COLOR),
    ):
        ys = [total_latency_textbook_ms(ttft, tpot, float(n)) / 1000.0 for n in ns]
        fig.add_trace(
            go.Scatter(
                x=ns,
                y=ys,
                mode="lines",
                name=f"{name}: TTFT {ttft:g} ms, TPOT {tpot:g} ms",
                line={"color": color, "width": 3},
                hovertemplate="N = %{x:.0f} tokens<br>total = %{y:.3f} s<extra>"
                + name
                + "</extra>",
            )
        )
    if be.tokens is not None:
        y = total_latency_textbook_ms(ttft_a_ms, tpot_a_ms, be.tokens) / 1000.0
        fig.add_trace(
            go.Scatter(
                x=[be.tokens],
                y=[y],
                mode="markers",
                marker={"size": 12, "color": "#222", "symbol": "x"},
                name=f"breakeven: {be.tokens:,.4g} tokens",
                hovertemplate="equal at N = %{x:.4g} tokens, %{y:.3f} s<extra></extra>",
            )
        )
        fig.add_vline(x=be.tokens, line_dash="dash", line_color="#222")
    fig.add_vline(
        x=output_tokens,
        line_dash="dot",
        line_color="#888",
        annotation_text=f"N = {output_tokens:,}",
        annotation_position="top left",
    )
    fig.update_xaxes(title_text="Output tokens N", rangemode="tozero")
    fig.update_yaxes(title_text="Total latency, TTFT + TPOT × N (s)", rangemode="tozero")
    plain_layout(fig, 380, top=30, hovermode="x unified")
    return fig
