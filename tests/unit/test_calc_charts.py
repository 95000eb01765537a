import math

import pytest

from inferlab import capacity as cap
from inferlab import cost
from inferlab.catalog import load_gpus
from inferlab.charts.capacity import nice_step, roofline_chart, tradeoff_chart
from inferlab.charts.cost import satisfaction_chart, session_chart

H100 = next(g for g in load_gpus() if g.name == "H100 SXM")


def test_tradeoff_chart_has_estimates_measured_points_and_kv_limit() -> None:
    pts = cap.tradeoff_curve(H100, cap.ModelShape(8.0), 1256, cap.batch_sizes(340))
    fig = tradeoff_chart(pts, 340, [(8, 7.4, 792.0)])
    names = [t.name for t in fig.data]
    assert names[:2] == [
        "TPOT, roofline estimate (ms)",
        "Output tokens/s while decoding, roofline estimate",
    ]
    assert "Measured TPOT p50 (ms)" in names and "KV cache full at batch 340" in names
    assert fig.layout.xaxis.type == "log"
    assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
    # no shape annotations on the log axis (they would take log10 coordinates)
    assert not fig.layout.annotations


def test_roofline_chart_marks_the_ridge_and_workloads() -> None:
    fig = roofline_chart(989.0, 3.35, [("decode", 1.0), ("prefill", 1000.0)])
    names = [t.name for t in fig.data]
    assert "Ridge point: 295 FLOP/byte" in names
    assert any(n.startswith("decode") for n in names)
    roof = fig.data[0]
    assert max(roof.y) == 989.0 and min(roof.y) > 0


def test_session_chart_has_both_cumulative_lines() -> None:
    s = cost.session_cost(cost.SessionShape(10, 500, 100, 250), cost.ApiPrices(2.5, 10, 1.25), 0.8)
    fig = session_chart(s, 0.8)
    assert [t.name for t in fig.data][:2] == [
        "Without prompt caching",
        "With prompt caching (80% hit rate)",
    ]
    assert list(fig.data[1].y)[-1] == s.total_usd
    # the bars are one turn each, not cumulative: the title says which is which
    assert fig.layout.yaxis.title.text == "US$: session so far (lines), one turn (bars)"


def test_satisfaction_chart_marks_the_breakeven() -> None:
    fig = satisfaction_chart(0.05, 0.85, 0.08, 0.92, 0.4286, 0.5)
    assert len(fig.data) == 3
    assert "equal at a loss of $0.429" in fig.data[2].name


def test_every_bar_colour_of_the_latency_timeline_is_in_its_legend() -> None:
    from inferlab.charts import latency_timeline

    for tokens in (5, 200):
        fig = latency_timeline(200.0, 20.0, tokens)
        bars = [t for t in fig.data if t.type == "bar"]
        used = {c for t in bars if t.showlegend is False for c in t.marker.color}
        legend = {t.marker.color for t in bars if t.showlegend is not False and t.name}
        assert used and used <= legend, (used, legend)


def test_log_axes_label_powers_of_ten_or_the_batch_sizes() -> None:
    from inferlab.capacity import BatchPoint

    points = [BatchPoint(b, 5.0 + b / 100, b * 100.0, False, True) for b in (1, 2, 4, 8, 16)]
    fig = tradeoff_chart(points, 16)
    assert list(fig.layout.xaxis.tickvals) == [1, 2, 4, 8, 16]
    # a KV limit of 340 right after 256: 256's label would touch it, so only 340 is labelled
    full = [
        BatchPoint(b, 5.0, b * 100.0, False, True) for b in (1, 2, 4, 8, 16, 32, 64, 128, 256, 340)
    ]
    assert list(tradeoff_chart(full, 340).layout.xaxis.tickvals)[-2:] == [128, 340]
    roof = roofline_chart(989.0, 3.35, [("decode", 1.0)])
    assert roof.layout.xaxis.dtick == 1 and roof.layout.yaxis.dtick == 1


def test_both_axes_of_the_batch_chart_have_round_ticks_on_the_same_grid() -> None:
    # 70B on 4 x H100: the right axis used to read 46.2 / 92.5 / 138.7
    pts = cap.tradeoff_curve(
        H100, cap.ModelShape(70.0, "BF16", 80), 1256, cap.batch_sizes(359), n_gpus=4
    )
    fig = tradeoff_chart(pts, 359, [(8, 30.0, 250.0)])
    left, right = fig.layout.yaxis, fig.layout.yaxis2
    for axis in (left, right):
        assert axis.tickmode == "linear" and axis.tick0 == 0
        mantissa = axis.dtick / 10 ** math.floor(math.log10(axis.dtick))
        assert round(mantissa, 9) in (1.0, 2.0, 2.5, 5.0)
        assert axis.range[0] == 0
    # as many intervals on each axis, so the right ticks sit on the left grid lines
    assert left.range[1] / left.dtick == pytest.approx(right.range[1] / right.dtick)
    assert max(p.tokens_per_s for p in pts) <= right.range[1]
    assert max(p.tpot_ms for p in pts) <= left.range[1]
    assert "(ms" in left.title.text and "(tokens/s)" in right.title.text


@pytest.mark.parametrize(
    ("top", "step"), [(46.0, 10.0), (138.7, 50.0), (9.4, 2.0), (1200.0, 250.0), (0.0, 1.0)]
)
def test_nice_step_is_one_two_two_and_a_half_or_five(top: float, step: float) -> None:
    assert nice_step(top) == pytest.approx(step)
