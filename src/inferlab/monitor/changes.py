"""Change points: where a metric's level shifted in a series of runs, and by how much.

Method (one per metric, on the runs' values in time order, missing values left out):

0. Scale: latency and tokens/s are analysed as logarithms (their noise grows with
   their level, so a 300 ms TTFT wobbles more than a 50 ms one in ms but not in
   log); the error rate, a share whose effects are absolute, stays linear.
1. Noise: sigma = 1.4826 · median(|x[i+1] - x[i]|) / sqrt(2), the MAD of first
   differences (a level shift moves only one difference, so it barely counts).
   It is floored at a quarter of the minimum effect, so a series that is
   constant apart from a jump still has a finite penalty.
2. Segmentation: PELT (Killick, Fearnhead & Eckley 2012; ruptures' KernelCPD
   with the linear kernel, i.e. the l2 cost), segments of at least `min_size`
   runs, penalty 4 · sigma² · ln(n) per change: twice the BIC value, because
   run-level percentiles are skewed and noisier than Gaussian. How often noise
   is flagged and real shifts found: `bench/bench_changes.py`, in
   docs/PERFORMANCE.md.
3. Minimum effect: adjacent segments whose medians differ by less than
   max(`min_abs`, `min_rel` · |before|) are merged (smallest first), so noise
   that PELT splits on is not a change, however certain.
4. Location: each remaining break moves to the split between its neighbouring
   breaks with the least squared error. PELT's segments have `min_size` runs,
   so two slow runs after six fast ones come out as [fast, slow, slow]; the
   change then starts at the first slow run, not one earlier.

Each remaining break is a `Change`: the first run of the new segment, the
medians before and after, and whether that is worse for the metric.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["METRICS", "MIN_SEGMENT_RUNS", "Change", "MetricSpec", "detect_changes", "metric_spec"]

MIN_SEGMENT_RUNS = 3
"""A level needs this many runs before it counts: one slow run is not a change."""


@dataclass(frozen=True)
class MetricSpec:
    """One tracked metric: its run-statistics column, unit and what "worse" means."""

    key: str  # alert-rule name, e.g. ttft_p95
    column: str  # column of Store.list_runs(), e.g. ttft_p95_ms
    label: str
    unit: str  # "ms", "%" (a 0..1 share shown as percent), "tok/s"
    higher_is_worse: bool
    min_rel: float  # minimum relative effect (0.1 = 10 %; 0 = absolute only)
    min_abs: float  # minimum absolute effect, in the column's own unit

    def fmt(self, value: float | None) -> str:
        """The value for people: '52.1 ms', '2.00 %', '1,234 tok/s'."""
        if value is None or not math.isfinite(value):
            return "-"
        if self.unit == "%":
            return f"{100 * value:.2f} %"
        if self.unit == "ms":
            return f"{value:,.1f} ms"
        return f"{value:,.1f} {self.unit}"


METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("ttft_p50", "ttft_p50_ms", "TTFT p50", "ms", True, 0.10, 2.0),
    MetricSpec("ttft_p95", "ttft_p95_ms", "TTFT p95", "ms", True, 0.10, 2.0),
    MetricSpec("tpot_p50", "tpot_p50_ms", "TPOT p50", "ms", True, 0.10, 0.2),
    MetricSpec("tpot_p95", "tpot_p95_ms", "TPOT p95", "ms", True, 0.10, 0.2),
    MetricSpec("e2e_p50", "e2e_p50_ms", "E2E p50", "ms", True, 0.10, 5.0),
    MetricSpec("e2e_p95", "e2e_p95_ms", "E2E p95", "ms", True, 0.10, 5.0),
    # An error rate is a share: its effect is absolute (2 percentage points), not relative.
    MetricSpec("error_rate", "error_rate", "Error rate", "%", True, 0.0, 0.02),
    MetricSpec("output_tps", "output_tps", "Output tokens/s", "tok/s", False, 0.10, 1.0),
)
_BY_KEY = {m.key: m for m in METRICS}


def metric_spec(key: str) -> MetricSpec:
    """The metric named `key`; KeyError naming the known ones."""
    try:
        return _BY_KEY[key]
    except KeyError:
        raise KeyError(f"unknown metric {key!r}; use one of {', '.join(_BY_KEY)}") from None


@dataclass(frozen=True)
class Change:
    """A level shift: from the run at `index` (position in the series) on."""

    metric: str
    index: int
    before: float  # median of the previous segment
    after: float  # median of the segment that starts at `index`
    worse: bool

    @property
    def delta(self) -> float:
        return self.after - self.before

    @property
    def relative(self) -> float | None:
        """(after - before) / before, None when before is 0."""
        return self.delta / abs(self.before) if self.before else None


def _min_effect(spec: MetricSpec, level: float, scale: float = 1.0) -> float:
    """The smallest shift from `level` that counts as a change."""
    return scale * max(spec.min_abs, spec.min_rel * abs(level))


def _segments(x: npt.NDArray[np.float64], min_size: int, penalty: float) -> list[int]:
    """PELT breakpoints (segment ends, the last one len(x)).

    ruptures' KernelCPD with the linear kernel is PELT with the l2 cost in C: the same
    breakpoints as ``ruptures.Pelt(model="l2")`` (pure Python, 4 s for 1,000 runs) in ~1 ms.
    """
    import ruptures  # imported on use: it pulls in scipy

    algo = ruptures.KernelCPD(kernel="linear", min_size=min_size, jump=1).fit(x.reshape(-1, 1))
    return [int(b) for b in algo.predict(pen=penalty)]


def _merge_small(
    x: npt.NDArray[np.float64], ends: list[int], spec: MetricSpec, scale: float
) -> list[int]:
    """Merge adjacent segments whose medians differ by less than the minimum effect."""
    ends = list(ends)
    while len(ends) > 1:
        starts = [0, *ends[:-1]]
        medians = [float(np.median(x[s:e])) for s, e in zip(starts, ends, strict=True)]
        weakest, weakest_ratio = -1, math.inf
        for i in range(len(ends) - 1):
            effect = abs(medians[i + 1] - medians[i])
            ratio = effect / _min_effect(spec, medians[i], scale)
            if ratio < 1 and ratio < weakest_ratio:
                weakest, weakest_ratio = i, ratio
        if weakest < 0:
            break
        del ends[weakest]
    return ends


def _refine(x: npt.NDArray[np.float64], ends: list[int]) -> list[int]:
    """Move each break to the best split between its neighbours (least squared error)."""
    ends = list(ends)
    for k in range(len(ends) - 1):
        lo, hi = (ends[k - 1] if k else 0), ends[k + 1]
        seg = x[lo:hi]
        n = len(seg)
        c1, c2 = np.cumsum(seg), np.cumsum(seg**2)
        m = np.arange(1, n)  # left part seg[:m], right part seg[m:]
        left = c2[m - 1] - c1[m - 1] ** 2 / m
        right = (c2[-1] - c2[m - 1]) - (c1[-1] - c1[m - 1]) ** 2 / (n - m)
        ends[k] = lo + 1 + int(np.argmin(left + right))  # first minimum: ties go left
    return ends


def detect_changes(
    values: Sequence[float | None],
    spec: MetricSpec,
    *,
    min_size: int = MIN_SEGMENT_RUNS,
    effect_scale: float = 1.0,
) -> list[Change]:
    """Level shifts of `values` (time order; None/NaN = no value for that run), oldest first.

    `effect_scale` multiplies the metric's minimum effect (2.0 = only twice as large).
    `Change.index` is the position in `values`, so it maps back to the run.
    """
    positions = [i for i, v in enumerate(values) if v is not None and math.isfinite(float(v))]
    if len(positions) < 2 * min_size:
        return []
    x: npt.NDArray[np.float64] = np.array([float(values[i]) for i in positions])  # type: ignore[arg-type]
    # Latency and throughput noise grows with the level (a 300 ms TTFT wobbles more than a
    # 50 ms one): segment their logarithms, where it does not; an error rate stays linear.
    log_scale = spec.min_rel > 0 and bool(np.all(x > 0))
    y = np.log(x) if log_scale else x
    if log_scale:
        floor = math.log1p(spec.min_rel * effect_scale) / 4
    else:
        floor = _min_effect(spec, float(np.median(x)), effect_scale) / 4
    sigma = max(1.4826 * float(np.median(np.abs(np.diff(y)))) / math.sqrt(2), floor, 1e-12)
    ends = _segments(y, min_size, 4 * sigma**2 * math.log(len(y)))
    ends = _refine(y, _merge_small(x, ends, spec, effect_scale))
    out = []
    starts = [0, *ends[:-1]]
    for k in range(1, len(ends)):
        before = float(np.median(x[starts[k - 1] : ends[k - 1]]))
        after = float(np.median(x[starts[k] : ends[k]]))
        worse = after > before if spec.higher_is_worse else after < before
        out.append(Change(spec.key, positions[starts[k]], before, after, worse))
    return out
