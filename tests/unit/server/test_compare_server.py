"""compare_server: client vs server TTFT, the breakdown, the timeline figure."""

from __future__ import annotations

from inferlab.charts.server import server_timeline_figure, ttft_breakdown_figure
from inferlab.compare.server import compare_server
from inferlab.records import RequestRecord
from inferlab.server import Sample, Scrape

URL = "http://h/metrics"


def hist(name: str, count: float, total_s: float) -> tuple[Sample, ...]:
    return (
        Sample(f"{name}_bucket", (), count, 1.0),
        Sample(f"{name}_bucket", (), count, float("inf")),
        Sample(f"{name}_count", (), count),
        Sample(f"{name}_sum", (), total_s),
    )


def scrape(t_ms: float, n: float, running: float) -> Scrape:
    samples = (
        *hist("vllm:time_to_first_token_seconds", n, n * 0.030),
        *hist("vllm:request_queue_time_seconds", n, n * 0.010),
        *hist("vllm:request_prefill_time_seconds", n, n * 0.015),
        Sample("vllm:num_requests_running", (), running),
        Sample("vllm:kv_cache_usage_perc", (), running / 10),
    )
    return Scrape(URL, t_ms, True, None, samples)


def rec(i: int, ttft_ms: float) -> RequestRecord:
    return RequestRecord(
        index=i, scheduled_ms=i * 10.0, sent_ms=i * 10.0 + 2, ok=True, ttft_ms=ttft_ms,
        e2e_ms=ttft_ms + 90, output_tokens=10,
    )  # fmt: skip


def test_breakdown_and_transport() -> None:
    cmp = compare_server([scrape(0, 0, 0), scrape(1000, 4, 2)], [rec(i, 40.0) for i in range(4)])
    assert cmp.server_ttft_mean_ms == 30.0 and cmp.client_ttft_mean_ms == 40.0
    assert cmp.transport_ms == 10.0
    parts = {p.name: p.ms for p in cmp.breakdown}
    assert parts == {
        "client dispatch lag": 2.0,
        "server queue": 10.0,
        "prefill": 15.0,
        "rest": 15.0,
    }
    assert cmp.client_tpot_mean_ms == 10.0


def test_timeline_shares_one_time_axis_with_labelled_units() -> None:
    cmp = compare_server([scrape(0, 0, 0), scrape(1000, 4, 2)], [rec(i, 40.0) for i in range(4)])
    fig = server_timeline_figure(cmp)
    names = [t.name for t in fig.data]
    assert names == ["client TTFT per request", "server: requests running", "server: KV cache used"]
    layout = fig.layout
    assert layout.yaxis.title.text == "TTFT (ms)" and layout.yaxis3.title.text == "KV cache (%)"
    assert layout.xaxis3.title.text == "Time since the run began (s)"
    assert layout.xaxis.matches == "x3" or layout.xaxis2.matches == "x3"
    assert [t.name.split(" (")[0] for t in ttft_breakdown_figure(cmp).data] == [
        "client dispatch lag", "server queue", "prefill", "rest",
    ]  # fmt: skip


def test_no_scrapes_no_view() -> None:
    cmp = compare_server([], [rec(0, 40.0)])
    assert cmp.view is None and cmp.server_ttft_mean_ms is None
