"""Counter deltas across restarts, gauges over time, the other-traffic check."""

from __future__ import annotations

from inferlab.server import ClientTotals, Sample, Scrape, server_view
from inferlab.server.deltas import counter_delta

URL = "http://h/metrics"
LABELS = (("model_name", "m"),)


def scrape(t_ms: float, generated: float, running: float = 0.0, success: float = 0.0) -> Scrape:
    return Scrape(
        URL,
        t_ms,
        True,
        None,
        (
            Sample("vllm:generation_tokens_total", LABELS, generated),
            Sample("vllm:request_success_total", (*LABELS, ("finished_reason", "length")), success),
            Sample("vllm:num_requests_running", LABELS, running),
        ),
    )


def client(requests: int, output_tokens: int) -> ClientTotals:
    return ClientTotals(requests, requests, None, output_tokens)


def test_counter_delta_adds_the_post_reset_value_after_a_drop() -> None:
    assert counter_delta([100, 150, 30, 80]) == 50 + 30 + 50


def test_a_server_restart_mid_run_keeps_counter_deltas_right() -> None:
    scrapes = [scrape(0, 100, success=10), scrape(1000, 150, success=12)]
    scrapes += [scrape(2000, 30, success=1), scrape(3000, 80, success=3)]  # restarted
    v = server_view(URL, scrapes, client(5, 130)).to_json()
    assert v["generation_tokens"] == 130
    assert v["requests_completed"] == 5
    assert v["other_traffic"] is False


def test_a_failed_scrape_in_between_is_skipped_and_noted() -> None:
    scrapes = [scrape(0, 0), Scrape(URL, 500, False, "cannot reach it"), scrape(1000, 40)]
    v = server_view(URL, scrapes, client(1, 40)).to_json()
    assert v["generation_tokens"] == 40 and v["scrapes"] == 2
    assert v["notes"] == ["1 scrape failed: cannot reach it"]


def test_gauges_are_time_weighted() -> None:
    scrapes = [scrape(0, 0, running=4), scrape(3000, 0, running=0), scrape(4000, 0, running=0)]
    v = server_view(URL, scrapes, client(0, 0))
    assert v.running is not None
    assert v.running.mean == 3.0  # 4 for 3 of the 4 seconds
    assert v.running.max == 4.0


def test_more_tokens_or_requests_than_the_probe_sent_flags_other_traffic() -> None:
    scrapes = [scrape(0, 0, success=0), scrape(1000, 500, success=9)]
    v = server_view(URL, scrapes, client(4, 200))
    assert v.other_traffic
    assert any("9 requests" in n for n in v.notes) and any("500 tokens" in n for n in v.notes)


def test_one_scrape_is_not_enough_and_says_so() -> None:
    v = server_view(URL, [scrape(0, 5)], client(1, 5)).to_json()
    assert v["generation_tokens"] is None and v["kind"] == "vllm"
    assert "deltas need one before and one after" in v["notes"][0]


def test_other_traffic_is_kept_as_run_metadata_only_when_there_is_some() -> None:
    from inferlab.server.run import other_traffic_metadata

    busy = server_view(URL, [scrape(0, 0, success=0), scrape(1000, 500, success=9)], client(4, 200))
    kept = other_traffic_metadata(busy.to_json())
    assert list(kept) == ["other_traffic"]
    assert "9 requests" in kept["other_traffic"] and "500 tokens" in kept["other_traffic"]
    alone = server_view(
        URL, [scrape(0, 0, success=0), scrape(1000, 200, success=4)], client(4, 200)
    )
    assert other_traffic_metadata(alone.to_json()) == {}
    assert other_traffic_metadata(None) == {}
