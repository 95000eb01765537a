from inferlab import capacity as cap
from inferlab import cost
from inferlab.catalog import load_gpus
from inferlab.charts.capacity import roofline_chart, tradeoff_chart
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
    assert fig.layout.yaxis.title.text == "Cumulative cost of the session (US$)"


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
    roof = roofline_chart(989.0, 3.35, [("decode", 1.0)])
    assert roof.layout.xaxis.dtick == 1 and roof.layout.yaxis.dtick == 1
