"""Point labels that do not overlap: a text position per point, chosen to avoid neighbours.

Pure: points are given in pixels of the plot area (x right, y up) with their
marker size; `label_positions` places each label above, below, right or left
of its marker, greedily in the order given (put the important points first),
picking the side that overlaps other markers, labels already placed and the
plot's edges least. `axis_range` pads a data range so the pixel estimate and
the drawn axis agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["POSITIONS", "Box", "LabelPoint", "axis_range", "label_boxes", "label_positions"]

# Plotly textposition values, in order of preference when several are equally clear.
POSITIONS = ("top center", "bottom center", "middle right", "middle left")
CHAR_PX = 7.0  # average width of a character of the 12 px label font
LINE_PX = 16.0  # height of one label line
GAP_PX = 3.0  # between marker and label


@dataclass(frozen=True)
class LabelPoint:
    """A marker at (x_px, y_px) in the plot area, `size_px` across, labelled `text`."""

    x_px: float
    y_px: float
    size_px: float
    text: str


@dataclass(frozen=True)
class Box:
    """An axis-aligned rectangle in plot pixels."""

    x0: float
    y0: float
    x1: float
    y1: float

    def overlap(self, other: Box) -> float:
        """Area shared with `other` (0 when they do not touch)."""
        w = min(self.x1, other.x1) - max(self.x0, other.x0)
        h = min(self.y1, other.y1) - max(self.y0, other.y0)
        return w * h if w > 0 and h > 0 else 0.0

    def outside(self, width_px: float, height_px: float) -> float:
        """Area of the box beyond the plot area."""
        inside = self.overlap(Box(0.0, 0.0, width_px, height_px))
        return (self.x1 - self.x0) * (self.y1 - self.y0) - inside


def _marker(p: LabelPoint) -> Box:
    r = p.size_px / 2
    return Box(p.x_px - r, p.y_px - r, p.x_px + r, p.y_px + r)


def _box(p: LabelPoint, position: str) -> Box:
    r = p.size_px / 2 + GAP_PX
    w = max(len(p.text), 1) * CHAR_PX
    if position == "top center":
        return Box(p.x_px - w / 2, p.y_px + r, p.x_px + w / 2, p.y_px + r + LINE_PX)
    if position == "bottom center":
        return Box(p.x_px - w / 2, p.y_px - r - LINE_PX, p.x_px + w / 2, p.y_px - r)
    if position == "middle right":
        return Box(p.x_px + r, p.y_px - LINE_PX / 2, p.x_px + r + w, p.y_px + LINE_PX / 2)
    if position == "middle left":
        return Box(p.x_px - r - w, p.y_px - LINE_PX / 2, p.x_px - r, p.y_px + LINE_PX / 2)
    raise ValueError(f"unknown text position {position!r}; use one of {', '.join(POSITIONS)}")


def label_boxes(points: Sequence[LabelPoint], positions: Sequence[str]) -> list[Box]:
    """Where each label lands for the given positions (for checks and tests)."""
    return [_box(p, pos) for p, pos in zip(points, positions, strict=True)]


def label_positions(
    points: Sequence[LabelPoint],
    width_px: float,
    height_px: float,
    obstacles: Sequence[Box] = (),
) -> list[str]:
    """A plotly textposition per point, chosen so labels avoid markers, labels, edges and
    `obstacles` (other marks drawn on the chart, in the same pixel frame)."""
    markers = [_marker(p) for p in points] + list(obstacles)
    placed: list[Box] = []
    out: list[str] = []
    for i, p in enumerate(points):

        def cost(position: str, p: LabelPoint = p, i: int = i) -> float:
            box = _box(p, position)
            hit_markers = sum(box.overlap(m) for j, m in enumerate(markers) if j != i)
            hit_labels = sum(box.overlap(b) for b in placed)
            return 2.0 * hit_labels + hit_markers + 3.0 * box.outside(width_px, height_px)

        best = min(POSITIONS, key=lambda pos: (cost(pos), POSITIONS.index(pos)))
        placed.append(_box(p, best))
        out.append(best)
    return out


def axis_range(values: Sequence[float], pad_frac: float = 0.12) -> tuple[float, float]:
    """The data range of `values` widened by `pad_frac` of its span on each side.

    A single value (or all equal) gets ±10% of itself, or ±1 at zero.
    """
    lo, hi = min(values), max(values)
    span = hi - lo
    if span == 0:
        half = abs(lo) * 0.1 or 1.0
        return lo - half, hi + half
    return lo - pad_frac * span, hi + pad_frac * span
