"""Layout the chart modules share: a horizontal legend above the plot and narrow margins."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

__all__ = ["DASHBOARD_COLORWAY", "dashboard_look", "legend_above", "plain_layout"]


def legend_above(y: float = 1.02) -> dict[str, object]:
    """A horizontal legend above the plot: below it, a legend collides with the x-axis title."""
    return {"orientation": "h", "yanchor": "bottom", "y": y, "x": 0}


def plain_layout(fig: go.Figure, height: int, *, top: int = 40, **more: Any) -> None:
    """`height` px, narrow side margins, `top` px above the plot for the legend, and `more`."""
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": top, "b": 40},
        legend=legend_above(),
        **more,
    )


# The dashboard's look outside Streamlit (the HTML report): white background, light grid,
# the theme's text colour (.streamlit/config.toml) and Streamlit's own categorical colours.
DASHBOARD_COLORWAY = [
    "#0068C9",
    "#83C9FF",
    "#FF2B2B",
    "#FFABAB",
    "#29B09D",
    "#7DEFA1",
    "#FF8700",
    "#FFD16A",
    "#6D3FC0",
    "#D5DAE5",
]


def dashboard_look(fig: go.Figure) -> go.Figure:
    """`fig` styled like the dashboard's charts instead of plotly's grey default theme."""
    fig.update_layout(
        template="plotly_white",
        font={"family": "sans-serif", "color": "#1B1F24"},
        paper_bgcolor="#FFFFFF",
        plot_bgcolor="#FFFFFF",
    )
    if not fig.layout.colorway:
        fig.update_layout(colorway=DASHBOARD_COLORWAY)
    fig.update_xaxes(gridcolor="#E6EAF1", zerolinecolor="#D5DAE5")
    fig.update_yaxes(gridcolor="#E6EAF1", zerolinecolor="#D5DAE5")
    return fig
