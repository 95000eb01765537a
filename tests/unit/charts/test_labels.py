"""Point labels on the Quality charts: no two labels overlap, none covers another marker."""

from __future__ import annotations

import itertools

import pytest

from inferlab.charts.labels import (
    POSITIONS,
    Box,
    LabelPoint,
    axis_range,
    label_boxes,
    label_positions,
)
from inferlab.charts.quality import PLOT_H_PX, PLOT_W_PX, satisfaction_curve, tradeoff_scatter
from inferlab.quality import SatisfactionModel
from inferlab.quality.table import EXAMPLE_CANDIDATES


def _no_overlaps(boxes: list[Box]) -> bool:
    return all(a.overlap(b) == 0 for a, b in itertools.combinations(boxes, 2))


def test_two_stacked_points_get_labels_that_do_not_collide() -> None:
    # The case: "Baseline (exercise)" and "Alternative config (Q2)" at one cost,
    # satisfaction 85.0 and 83.2: both labels above their markers overlapped.
    pts = [
        LabelPoint(400, 120, 27, "Baseline (exercise)"),
        LabelPoint(400, 90, 27, "Alternative config (Q2)"),
    ]
    pos = label_positions(pts, 760, 340)
    boxes = label_boxes(pts, pos)
    assert _no_overlaps(boxes)
    markers = [Box(386.5, 106.5, 413.5, 133.5), Box(386.5, 76.5, 413.5, 103.5)]
    assert all(b.overlap(m) == 0 for b in boxes for m in markers)  # clear of both markers
    assert pos[0] == "top center"  # the preferred side when it is free


def test_labels_stay_inside_the_plot_area() -> None:
    pts = [LabelPoint(755, 300, 14, "near the right edge")]
    (pos,) = label_positions(pts, 760, 340)
    assert pos == "middle left"  # above or below would run past the right edge
    (box,) = label_boxes(pts, [pos])
    assert box.outside(760, 340) == 0


def test_unknown_position_and_axis_range() -> None:
    with pytest.raises(ValueError, match="top center"):
        label_boxes([LabelPoint(0, 0, 1, "x")], ["above"])
    assert axis_range([1.0, 3.0]) == pytest.approx((0.76, 3.24))
    assert axis_range([5.0]) == pytest.approx((4.5, 5.5))
    assert axis_range([0.0]) == (-1.0, 1.0)


def _chart_labels(fig, w: float, h: float) -> list[Box]:  # type: ignore[no-untyped-def]
    x0, x1 = fig.layout.xaxis.range
    y0, y1 = fig.layout.yaxis.range
    points, positions = [], []
    for trace in fig.data:
        if trace.mode != "markers+text":
            continue
        sizes = trace.marker.size
        for i, (x, y, text) in enumerate(zip(trace.x, trace.y, trace.text, strict=True)):
            pos = trace.textposition
            pos = pos if isinstance(pos, tuple | list) else [pos] * len(trace.x)
            assert pos[i] in POSITIONS
            size = sizes[i] if isinstance(sizes, tuple | list) else sizes
            points.append(
                LabelPoint((x - x0) / (x1 - x0) * w, (y - y0) / (y1 - y0) * h, size, text)
            )
            positions.append(pos[i])
    return label_boxes(points, positions)


def test_the_example_tradeoff_chart_has_no_overlapping_labels() -> None:
    model = SatisfactionModel()
    fig = tradeoff_scatter(
        EXAMPLE_CANDIDATES, "cost_per_request_usd", "satisfaction_pct", "quality_pct", model
    )
    boxes = _chart_labels(fig, PLOT_W_PX, PLOT_H_PX)
    assert len(boxes) == len(EXAMPLE_CANDIDATES)
    assert _no_overlaps(boxes)
    assert all(b.outside(PLOT_W_PX, PLOT_H_PX) == 0 for b in boxes)
    assert "($)" in fig.layout.xaxis.title.text and "(%)" in fig.layout.yaxis.title.text
    assert fig.layout.showlegend is not False
    hovers = " ".join(" ".join(t.hovertext or ()) for t in fig.data)
    assert "Latency for the p95 limit: typical TTFT + TPOT × N, not a p95" in hovers


def test_the_satisfaction_curve_labels_do_not_overlap() -> None:
    model = SatisfactionModel()
    fig = satisfaction_curve(model, EXAMPLE_CANDIDATES, EXAMPLE_CANDIDATES[0].name)
    boxes = _chart_labels(fig, 940.0, 260.0)
    assert len(boxes) == len(EXAMPLE_CANDIDATES)
    assert _no_overlaps(boxes)


def test_satisfaction_curve_labels_keep_off_the_quality_offset_segments() -> None:
    # "Smaller model" (10 quality points below) hangs under the line on a thin segment;
    # its label was placed across that segment.
    model = SatisfactionModel()
    fig = satisfaction_curve(model, EXAMPLE_CANDIDATES, EXAMPLE_CANDIDATES[0].name)
    boxes = _chart_labels(fig, 940.0, 260.0)
    (x0, x1), (y0, y1) = fig.layout.xaxis.range, fig.layout.yaxis.range
    segments = [
        Box(
            (t.x[0] - x0) / (x1 - x0) * 940.0 - 1,
            (min(t.y) - y0) / (y1 - y0) * 260.0,
            (t.x[0] - x0) / (x1 - x0) * 940.0 + 1,
            (max(t.y) - y0) / (y1 - y0) * 260.0,
        )
        for t in fig.data
        if t.mode == "lines" and len(t.x) == 2 and t.x[0] == t.x[1]
    ]
    assert segments  # the example has options of another quality
    fast = (model.fast_enough_s - x0) / (x1 - x0) * 940.0  # the dotted "fast enough" line
    segments.append(Box(fast - 1, 0, fast + 1, 260.0))
    assert all(b.overlap(s) == 0 for b in boxes for s in segments)
