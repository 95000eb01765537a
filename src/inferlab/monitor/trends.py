"""The runs of each series as points in time, and what changed in them.

Points come from `Store.list_runs()` (its cached per-run statistics), so a
trend is as cheap as the run list. Only completed runs count: a cancelled or
interrupted run measured part of its load, a `running` one is not done yet.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from inferlab.monitor.changes import METRICS, Change, detect_changes
from inferlab.monitor.series import series_of, series_tag

if TYPE_CHECKING:
    import pandas as pd

    from inferlab.store import Store

__all__ = ["SeriesPoint", "SeriesTrend", "load_series", "series_points", "trend_of"]

COUNTED_STATUSES = frozenset({"completed"})


@dataclass(frozen=True)
class SeriesPoint:
    """One run of a series: when, which run, and its value of every tracked metric."""

    run_id: str
    started_at: datetime  # UTC
    label: str
    source_tool: str
    requests: int
    values: Mapping[str, float | None] = field(default_factory=dict)  # metric key -> value


def _number(value: Any) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _utc(value: Any) -> datetime:
    ts: datetime = value.to_pydatetime() if hasattr(value, "to_pydatetime") else value
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def series_points(runs: pd.DataFrame) -> dict[str, list[SeriesPoint]]:
    """`list_runs()` rows grouped by series (completed runs only), each oldest first."""
    out: dict[str, list[SeriesPoint]] = {}
    for row in runs.to_dict(orient="records"):
        name = series_of(row.get("tags"))
        if name is None or row.get("status") not in COUNTED_STATUSES:
            continue
        out.setdefault(name, []).append(
            SeriesPoint(
                run_id=str(row["run_id"]),
                started_at=_utc(row["started_at"]),
                label=str(row.get("label") or ""),
                source_tool=str(row.get("source_tool") or ""),
                requests=int(_number(row.get("requests")) or 0),
                values={m.key: _number(row.get(m.column)) for m in METRICS},
            )
        )
    for points in out.values():
        points.sort(key=lambda p: (p.started_at, p.run_id))
    return dict(sorted(out.items()))


def load_series(store: Store, series: str | None = None) -> dict[str, list[SeriesPoint]]:
    """Every series in `store` (or just `series`) with its points."""
    runs = store.list_runs(tag=None if series is None else series_tag(series))
    found = series_points(runs)
    return found if series is None else {k: v for k, v in found.items() if k == series}


@dataclass(frozen=True)
class SeriesTrend:
    """A series' points and, per metric, its detected changes (oldest first)."""

    series: str
    points: tuple[SeriesPoint, ...]
    changes: Mapping[str, tuple[Change, ...]]

    def latest(self, metric: str) -> float | None:
        """The newest run's value of `metric` (None when that run has none, e.g. all failed)."""
        return self.points[-1].values.get(metric) if self.points else None

    def all_changes(self) -> list[Change]:
        """Every change of every metric, in time order."""
        return sorted(
            (c for cs in self.changes.values() for c in cs), key=lambda c: (c.index, c.metric)
        )

    def worse_now(self) -> list[Change]:
        """Metrics whose latest segment is worse than the one before: their last change."""
        return [cs[-1] for cs in self.changes.values() if cs and cs[-1].worse]

    def at(self, change: Change) -> SeriesPoint:
        """The first run of the segment a change starts."""
        return self.points[change.index]


def trend_of(series: str, points: list[SeriesPoint], effect_scale: float = 1.0) -> SeriesTrend:
    """Detect every tracked metric's changes in `points` (oldest first)."""
    changes = {
        m.key: tuple(
            detect_changes([p.values.get(m.key) for p in points], m, effect_scale=effect_scale)
        )
        for m in METRICS
    }
    return SeriesTrend(series, tuple(points), changes)
