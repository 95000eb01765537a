"""Series points made by hand, for the pure monitor functions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from inferlab.monitor import METRICS, SeriesPoint

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def points(
    values: Sequence[float | None], metric: str = "ttft_p95", start: int = 0
) -> list[SeriesPoint]:
    """One point per value, five minutes apart, other metrics empty."""
    out = []
    for i, v in enumerate(values, start=start):
        vals: dict[str, float | None] = {m.key: None for m in METRICS}
        vals[metric] = v
        out.append(
            SeriesPoint(f"run{i:03d}", T0 + timedelta(minutes=5 * i), "", "inferlab", 20, vals)
        )
    return out
