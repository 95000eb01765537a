from inferlab import charts, metrics


def _labels(fig) -> list[str]:  # type: ignore[no-untyped-def]
    return list(fig.data[0].y)


def test_timeline_small_n_draws_one_row_per_token() -> None:
    fig = charts.latency_timeline(1200, 80, 5)
    assert _labels(fig) == [
        "Prompt processing → token 1",
        "Token 2",
        "Token 3",
        "Token 4",
        "Token 5",
    ]
    assert fig.layout.xaxis.title.text == "Time since the request was sent (s)"
    # last bar ends at the exact total: 1.2 + 4 x 0.08 = 1.52 s
    assert abs(fig.data[0].base[-1] + fig.data[0].x[-1] - 1.52) < 1e-9


def test_timeline_large_n_folds_the_middle_and_stays_small() -> None:
    fig = charts.latency_timeline(200, 20, 2000)
    labels = _labels(fig)
    assert len(labels) == 6
    assert "Tokens 4–1,998" in labels
    total_s = metrics.total_latency_exact_ms(200, 20, 2000) / 1000
    assert abs(fig.data[0].base[-1] + fig.data[0].x[-1] - total_s) < 1e-9


def test_timeline_short_answer_in_milliseconds() -> None:
    fig = charts.latency_timeline(100, 10, 3)
    assert fig.layout.xaxis.title.text.endswith("(ms)")


def test_comparison_marks_breakeven_and_labels_axes() -> None:
    be = metrics.breakeven(1200, 80, 800, 100)
    fig = charts.latency_comparison(1200, 80, 800, 100, 50, be)
    names = [t.name for t in fig.data]
    assert any(n.startswith("breakeven: 20 tokens") for n in names)
    assert fig.layout.xaxis.title.text == "Output tokens N"
    assert "(s)" in fig.layout.yaxis.title.text
