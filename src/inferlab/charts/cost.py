"""Figures of the Cost page: cumulative session cost by turn, and cost against satisfaction."""

from __future__ import annotations

import plotly.graph_objects as go

from inferlab.charts.layout import plain_layout
from inferlab.cost import SessionCost

__all__ = ["satisfaction_chart", "session_chart"]

CACHED_COLOR = "#17BEBB"
UNCACHED_COLOR = "#E4572E"
A_COLOR = "#2E86AB"
B_COLOR = "#F18F01"


def _money_format(max_usd: float) -> str:
    return ",.4f" if max_usd < 0.1 else ",.2f"


def session_chart(session: SessionCost, hit_rate: float) -> go.Figure:
    """Cumulative cost (US$) after each turn, with and without prompt caching."""
    turns = [t.turn for t in session.turns]
    fmt = _money_format(session.total_no_cache_usd)
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=turns,
            y=[t.cumulative_no_cache_usd for t in session.turns],
            mode="lines+markers",
            name="Without prompt caching",
            line={"color": UNCACHED_COLOR, "width": 3},
            hovertemplate="after turn %{x}: $%{y:" + fmt + "}<extra>no caching</extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=turns,
            y=[t.cumulative_usd for t in session.turns],
            mode="lines+markers",
            name=f"With prompt caching ({hit_rate:.0%} hit rate)",
            line={"color": CACHED_COLOR, "width": 3},
            hovertemplate="after turn %{x}: $%{y:" + fmt + "}<extra>with caching</extra>",
        )
    )
    fig.add_trace(
        go.Bar(
            x=turns,
            y=[t.cost_no_cache_usd for t in session.turns],
            name="Cost of that turn alone, no caching",
            marker_color=UNCACHED_COLOR,
            opacity=0.25,
            hovertemplate="turn %{x} alone: $%{y:" + fmt + "}<extra></extra>",
        )
    )
    fig.update_xaxes(title_text="Turn of the conversation", dtick=1 if len(turns) <= 30 else None)
    fig.update_yaxes(
        title_text="US$: session so far (lines), one turn (bars)",
        rangemode="tozero",
        tickformat="$" + fmt,
    )
    plain_layout(fig, 380, hovermode="x unified")
    return fig


def satisfaction_chart(
    cost_a_usd: float,
    satisfaction_a: float,
    cost_b_usd: float,
    satisfaction_b: float,
    breakeven_usd: float | None,
    loss_usd: float,
) -> go.Figure:
    """Cost per request including lost value, price + (1 - satisfaction) x loss, against the loss."""
    x_max = max(loss_usd * 2, (breakeven_usd or 0) * 1.5, 0.1)
    xs = [0.0, x_max]
    fig = go.Figure()
    for name, cost, sat, color in (
        ("A", cost_a_usd, satisfaction_a, A_COLOR),
        ("B", cost_b_usd, satisfaction_b, B_COLOR),
    ):
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=[cost + (1 - sat) * x for x in xs],
                mode="lines",
                name=f"{name}: ${cost:g} per request, {sat:.0%} satisfied",
                line={"color": color, "width": 3},
                hovertemplate="loss $%{x:.3f}<br>total $%{y:.4f} per request<extra>"
                + name
                + "</extra>",
            )
        )
    if breakeven_usd is not None:
        y = cost_a_usd + (1 - satisfaction_a) * breakeven_usd
        fig.add_trace(
            go.Scatter(
                x=[breakeven_usd],
                y=[y],
                mode="markers",
                marker={"size": 12, "color": "#222", "symbol": "x"},
                name=f"equal at a loss of ${breakeven_usd:,.3g} per unhappy user",
            )
        )
    fig.add_vline(
        x=loss_usd,
        line_dash="dot",
        line_color="#888",
        annotation_text=f"your estimate ${loss_usd:g}",
        annotation_position="top left",
    )
    fig.update_xaxes(title_text="Value lost per dissatisfied user (US$)", rangemode="tozero")
    fig.update_yaxes(title_text="Price + expected loss per request (US$)", rangemode="tozero")
    plain_layout(fig, 360)
    return fig
