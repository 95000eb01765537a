"""Layout the chart modules share: a horizontal legend above the plot and narrow margins."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

__all__ = ["legend_above", "plain_layout"]


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
