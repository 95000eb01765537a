"""Deltas over a run's scrapes: counters across restarts, histograms, gauges (pure).

- A counter's delta is the sum of its increases between consecutive scrapes; when
  the value drops (the server restarted and its counters began again at 0) the
  post-reset value counts as the increase. A series missing from the first
  scrape starts at 0 (servers create labelled series on first use).
- A histogram's delta is that, per bucket, plus `_sum` and `_count`: the exact
  mean is Δsum / Δcount; a percentile interpolates linearly inside the bucket
  that holds it (as Prometheus' `histogram_quantile` does), so it is an estimate
  whose error is at most the bucket's width.
- A gauge is a step function between scrapes: its time-weighted mean and max.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from inferlab.server.adapters import Series
from inferlab.server.samples import Labels, Scrape

__all__ = [
    "GaugeStats",
    "HistogramDelta",
    "counter_delta",
    "counter_total",
    "first_present",
    "gauge_stats",
    "histogram_delta",
]


def _matches(labels: Labels, where: tuple[tuple[str, str], ...]) -> bool:
    if not where:
        return True
    d = dict(labels)
    return all(d.get(k) == v for k, v in where)


def _series_points(
    scrapes: Sequence[Scrape], name: str, where: tuple[tuple[str, str], ...] = ()
) -> dict[tuple[Labels, float | None], list[float]]:
    """Values per (labels, le) series, one per scrape holding it, baseline 0 if absent at first."""
    out: dict[tuple[Labels, float | None], list[float]] = defaultdict(list)
    for i, scrape in enumerate(scrapes):
        for s in scrape.samples:
            if s.name != name or not _matches(s.labels, where):
                continue
            key = (s.labels, s.le)
            if i > 0 and key not in out:
                out[key].append(0.0)  # created during the run
            out[key].append(s.value)
    return out


def counter_delta(values: Sequence[float]) -> float:
    """Increase over `values` (in scrape order), a drop counted as a restart from 0."""
    total = 0.0
    for a, b in itertools.pairwise(values):
        total += b - a if b >= a else b
    return total


def first_present(
    scrapes: Sequence[Scrape], candidates: Sequence[Series], suffix: str = ""
) -> Series | None:
    """The first candidate whose name (plus `suffix`) appears in any scrape."""
    names = {s.name for scrape in scrapes for s in scrape.samples}
    for c in candidates:
        if c.name + suffix in names:
            return c
    return None


def counter_total(scrapes: Sequence[Scrape], candidates: Sequence[Series]) -> float | None:
    """Δ of the first present counter over the run (all label series summed); None if absent."""
    series = first_present(scrapes, candidates)
    if series is None:
        return None
    points = _series_points(scrapes, series.name, series.where)
    return sum(counter_delta(v) for v in points.values())


@dataclass(frozen=True)
class HistogramDelta:
    """A histogram's increase over the run, in ms (buckets: upper bound ms, cumulative count)."""

    count: float
    sum_ms: float
    buckets: tuple[tuple[float, float], ...]

    @property
    def mean_ms(self) -> float | None:
        return self.sum_ms / self.count if self.count > 0 else None

    def quantile_ms(self, q: float) -> float | None:
        """Bucket-interpolated estimate of the q-quantile (0..1); None without observations."""
        if not self.buckets or self.count <= 0:
            return None
        total = self.buckets[-1][1]
        if total <= 0:
            return None
        rank = q * total
        lower_bound, lower_count = 0.0, 0.0
        for upper, cum in self.buckets:
            if cum >= rank:
                if math.isinf(upper):
                    return lower_bound  # the top bucket has no width: its lower edge
                if cum == lower_count:
                    return upper
                return lower_bound + (upper - lower_bound) * (rank - lower_count) / (
                    cum - lower_count
                )
            lower_bound, lower_count = upper, cum
        return lower_bound


def histogram_delta(
    scrapes: Sequence[Scrape], candidates: Sequence[Series]
) -> HistogramDelta | None:
    """Δ of the first present histogram (label series merged); None if the server has none."""
    series = first_present(scrapes, candidates, "_count")
    if series is None:
        return None
    count = sum(
        counter_delta(v)
        for v in _series_points(scrapes, series.name + "_count", series.where).values()
    )
    total = sum(
        counter_delta(v)
        for v in _series_points(scrapes, series.name + "_sum", series.where).values()
    )
    per_le: dict[float, float] = defaultdict(float)
    for (_, le), values in _series_points(scrapes, series.name + "_bucket", series.where).items():
        if le is not None:
            per_le[le] += counter_delta(values)
    buckets = tuple(
        (le * series.scale_ms if not math.isinf(le) else le, c) for le, c in sorted(per_le.items())
    )
    return HistogramDelta(count=count, sum_ms=total * series.scale_ms, buckets=buckets)


@dataclass(frozen=True)
class GaugeStats:
    """A gauge over the run: time-weighted mean and max; `points` are (t_ms, value)."""

    mean: float
    max: float
    points: tuple[tuple[float, float], ...]


def gauge_points(
    scrapes: Sequence[Scrape], candidates: Sequence[Series], combine: str = "sum"
) -> tuple[tuple[float, float], ...] | None:
    """(t_ms, value) per scrape of the first present gauge (label series summed, or max)."""
    series = first_present(scrapes, candidates)
    if series is None:
        return None
    points = []
    for scrape in scrapes:
        values = [
            s.value
            for s in scrape.samples
            if s.name == series.name and _matches(s.labels, series.where)
        ]
        if values:
            points.append((scrape.t_ms, max(values) if combine == "max" else sum(values)))
    return tuple(points)


def gauge_stats(
    scrapes: Sequence[Scrape], candidates: Sequence[Series], combine: str = "sum"
) -> GaugeStats | None:
    """Time-weighted mean (each value holds until the next scrape) and max; None if absent."""
    points = gauge_points(scrapes, candidates, combine)
    if not points:
        return None
    peak = max(v for _, v in points)
    span = points[-1][0] - points[0][0]
    if span <= 0:
        return GaugeStats(points[-1][1], peak, points)
    weighted = sum(a[1] * (b[0] - a[0]) for a, b in itertools.pairwise(points))
    return GaugeStats(weighted / span, peak, points)
