"""The Trends page's state: link checks, share link, SLO lines, tables with Runs-page links."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from inferlab.charts.trends import trend_figure
from inferlab.dashboard.trends import (
    DEFAULT_METRICS,
    bad_params,
    changes_table,
    default_series,
    link_problems,
    points_table,
    run_link,
    slo_lines,
    trends_share_url,
    worse_summary,
)
from inferlab.monitor import trend_of
from tests.unit.monitor.helpers import points

STEP = [50.0] * 6 + [300.0] * 6


def test_link_problems_name_the_parameter_and_the_fallback() -> None:
    query = {"series": ["gone"], "metrics": ["TTFT p95", "TTFT p99"], "slo_ttft_ms": ["-5"]}
    messages = link_problems(query, ["prod"])
    assert len(messages) == 3
    assert "`series`" in messages[0] and "no series 'gone'" in messages[0]
    assert "'TTFT p99'" in messages[1]
    assert "`slo_ttft_ms`" in messages[2] and "below the minimum" in messages[2]
    assert set(bad_params(query, ["prod"])) == {"series", "slo_ttft_ms"}
    assert link_problems({"series": ["prod"]}, ["prod"]) == []
    (repeated,) = link_problems({"series": ["old", "prod"]}, ["old", "prod"])
    assert "gives `series` 2 times" in repeated and "using the last, prod" in repeated


def test_share_link_round_trips_series_metrics_and_slos() -> None:
    url = trends_share_url(
        "http://h:8501/trends?x=1",
        "a · b c=2",
        ["TTFT p50", "Error rate"],
        {"slo_ttft_ms": 500.0, "slo_e2e_ms": 0.0, "slo_error_pct": 1.5},
    )
    q = parse_qs(urlparse(url).query)
    assert q == {
        "series": ["a · b c=2"],
        "metrics": ["TTFT p50", "Error rate"],
        "slo_ttft_ms": ["500"],
        "slo_error_pct": ["1.5"],
    }
    assert "metrics" not in trends_share_url("http://h/trends", "s", list(DEFAULT_METRICS), {})


def test_slo_lines_apply_to_their_metrics_and_zero_means_none() -> None:
    lines = slo_lines({"slo_ttft_ms": 400.0, "slo_tpot_ms": 0.0, "slo_error_pct": 2.0})
    assert lines == {"ttft_p50": 400.0, "ttft_p95": 400.0, "error_rate": 0.02}


def test_tables_link_every_run_and_change_to_the_runs_page() -> None:
    trend = trend_of("s", points(STEP))
    table = points_table(trend, ["ttft_p95"], "http://h/runs")
    assert next(iter(table["Run"])) == "http://h/runs?runs=run011"  # newest first
    assert list(table["Change starts"]).count("yes") == 1
    assert table.loc[table["Change starts"] == "yes", "Run"].item().endswith("run006")
    (row,) = changes_table(trend, "http://h/runs").to_dict("records")
    assert row["Metric"] == "TTFT p95" and row["Verdict"] == "worse"
    assert row["First run"] == "http://h/runs?runs=run006" and row["Size"].startswith("+")
    assert run_link("a b") == "/runs?runs=a%20b"


def test_default_series_is_the_one_with_the_newest_run() -> None:
    assert default_series({"old": points([1.0]), "new": points([1.0], start=3)}) == "new"
    assert default_series({}) is None


def test_the_figure_marks_each_change_and_draws_slo_lines() -> None:
    trend = trend_of("s", points(STEP))
    fig = trend_figure(trend, ["ttft_p95", "error_rate"], {"ttft_p95": 200.0})
    texts = [a.text for a in fig.layout.annotations]
    (change,) = [t for t in texts if "→" in t]
    assert "50.0 ms → 300.0 ms" in change and "+500%" in change
    assert any(t.startswith("SLO 200.0 ms") for t in texts)
    assert [a.text for a in fig.layout.annotations][:2] == ["TTFT p95", "Error rate"]  # titles
    runs = fig.data[0].customdata
    assert list(runs) == [p.run_id for p in trend.points]


def test_the_worse_summary_groups_metrics_by_the_run_they_changed_at() -> None:
    trend = trend_of("s", points(STEP))
    text = worse_summary(trend, "http://h/runs")
    assert text is not None and text.startswith(
        "Worse since run [run006](http://h/runs?runs=run006)"
    )
    assert "**TTFT p95** 50.0 ms → 300.0 ms" in text
    assert worse_summary(trend_of("s", points(STEP[::-1]))) is None  # better is not worse


def test_one_run_gets_a_readable_two_hour_axis_not_milliseconds() -> None:
    from datetime import timedelta

    trend = trend_of("s", points([80.0]))
    fig = trend_figure(trend, ["ttft_p95"])
    lo, hi = fig.layout.xaxis.range
    assert hi - lo == timedelta(hours=2)  # centred on the run, not a 1 ms window
    assert fig.layout.xaxis.tickformat == "%H:%M\n%Y-%m-%d"
    many = trend_figure(trend_of("s", points(STEP)), ["ttft_p95"])
    assert many.layout.xaxis.range is None  # a real span: plotly fits it
