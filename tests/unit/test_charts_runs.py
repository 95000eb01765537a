"""Runs page figures: axes with units, WebGL only when needed, downsampling, markers."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from inferlab.charts.runs import (
    CDF_POINTS,
    MAX_POINTS,
    ScatterSeries,
    cdf_figure,
    distribution_figure,
    downsample,
    request_timeline,
    scatter_over_time,
    sweep_figure,
)
from inferlab.compare import SweepAnalysis, SweepPoint


def series(name: str, n: int, fail_every: int = 0) -> ScatterSeries:
    ok = np.ones(n, dtype=bool)
    if fail_every:
        ok[::fail_every] = False
    lat = np.linspace(100, 200, n)
    lat[~ok] = np.nan
    return ScatterSeries(
        name,
        np.linspace(0, 60, n),
        lat,
        ok,
        np.arange(n),
        np.where(ok, "", "timeout").astype(object),
    )


def test_cdf_reaches_100_percent_and_is_compact() -> None:
    fig = cdf_figure(
        {"a": np.arange(1, 11.0), "b": np.random.default_rng(0).normal(5, 1, 10_000)}, "TTFT"
    )
    a, b = fig.data
    assert list(a.y)[-1] == 100 and a.x[0] == 1
    assert len(b.x) == CDF_POINTS
    assert fig.layout.xaxis.title.text == "TTFT (ms)"
    # p50/p90/p99 labels in the right margin, outside the plot: no curve crosses them
    labels = [a for a in fig.layout.annotations if a.text in ("p50", "p90", "p99")]
    assert len(labels) == 3 and all(a.xanchor == "left" and a.x == 1 for a in labels)
    assert fig.layout.margin.r >= 40


def test_distribution_shares_sum_to_100() -> None:
    fig = distribution_figure({"a": np.random.default_rng(1).exponential(50, 1000)}, "E2E")
    assert abs(sum(fig.data[0].y) - 100) < 1e-6


def test_scatter_uses_svg_for_small_runs_and_webgl_with_downsampling_for_large() -> None:
    small, dropped = scatter_over_time([series("a", 100, fail_every=10)], "E2E")
    assert all(isinstance(t, go.Scatter) for t in small.data) and dropped == 0
    assert small.data[-1].name == "failed request" and len(small.data[-1].x) == 10
    big, dropped = scatter_over_time(
        [series(str(i), 10_000, fail_every=1000) for i in range(12)], "E2E"
    )
    assert all(isinstance(t, go.Scattergl) for t in big.data)
    drawn = sum(len(t.x) for t in big.data)
    assert drawn <= MAX_POINTS + 120 and dropped == 120_000 - drawn
    assert len(big.data[-1].x) == 120  # every failure kept


def test_downsample_keeps_flagged_points() -> None:
    keep = np.zeros(1000, dtype=bool)
    keep[[3, 500]] = True
    pos = downsample(1000, 100, keep)
    assert pos.size == 100 and {3, 500} <= set(pos.tolist())


def test_request_timeline_uses_real_chunk_gaps_and_folds_long_answers() -> None:
    fig = request_timeline([100.0, 130.0, 190.0])
    bars = fig.data[0]
    assert list(bars.y) == ["Sent → chunk 1", "Chunk 2", "Chunk 3"]
    assert list(bars.x) == [100.0, 30.0, 60.0] and list(bars.base) == [0.0, 100.0, 130.0]
    long = request_timeline([100.0 + 10 * k for k in range(200)])
    assert len(long.data[0].y) == 1 + 2 + 1 + 2
    assert long.layout.xaxis.title.text == "Time since the request was sent (s)"


def test_sweep_figure_marks_knee_and_slo() -> None:
    pts = tuple(
        SweepPoint(
            f"r{i}", f"c={c}", c, tps, 100 + i, 150 + i * 50, 20, 25 + i * i * 10, None, i < 3
        )
        for i, (c, tps) in enumerate([(1, 50.0), (2, 95.0), (4, 180.0), (8, 200.0)])
    )
    fig = sweep_figure(SweepAnalysis(pts, 2, 2, 0.95), tpot_limit_ms=60)
    names = [t.name for t in fig.data]
    assert "knee: throughput stops growing (concurrency 4)" in names
    assert "highest load meeting the SLO (concurrency 4)" in names
    # the p50 points are labelled with their load, and the legend says what it counts
    p50 = next(t for t in fig.data if t.name == "p50 (points: concurrency)")
    assert list(p50.texttemplate) == ["c=1", "c=2", "c=4", "c=8"]
    assert p50.textposition[-1] == "bottom left"  # the right-most label is not clipped
    assert fig.layout.xaxis.title.text == "Output tokens/s"
    # The SLO label sits at the left end of its line, clear of the "highest load" line
    # (throughput 180 of 200, near the right end).
    slo = next(a for a in fig.layout.annotations if a.text == "SLO 60 ms")
    assert slo.xanchor == "left" and slo.x < 0.5
