"""Plotly figure builders, one module per page topic: data in, ``go.Figure`` out.

Pages only display what these return. Every figure has labelled axes with
units and a legend where more than one series is drawn.
"""

from inferlab.charts.latency import latency_comparison, latency_timeline

__all__ = ["latency_comparison", "latency_timeline"]
