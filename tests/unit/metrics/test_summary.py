"""The pure-Python reference summary, checked against hand-computed numbers."""

from __future__ import annotations

import pytest

from inferlab.metrics.summary import Slo, stats, summarize
from inferlab.records import RequestRecord
from tests.unit.store_helpers import make_record


def test_stats_use_population_std_and_are_empty_without_values() -> None:
    s = stats([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0])
    assert s.mean == pytest.approx(5.0)
    assert s.std == pytest.approx(2.0)
    assert s.count == 8
    assert stats([]).mean is None and stats([]).p99 is None


def test_summary_of_a_small_run_by_hand() -> None:
    recs = [
        make_record(0, warmup=True),
        make_record(1),  # sent 10.5, ttft 201, offsets 201,221,241,261
        make_record(2),  # sent 20.5, ttft 202, e2e 262
        make_record(3, ok=False),
    ]
    s = summarize(recs, Slo(ttft_ms=201.5), run_id="r")
    assert (s.requests, s.completed, s.failed, s.warmup_requests) == (3, 2, 1, 1)
    assert s.error_rate == pytest.approx(1 / 3)
    assert s.errors_by_class == {"http_5xx": 1}
    assert s.error_rate_by_class == {"http_5xx": pytest.approx(1 / 3)}
    # first send 10.5 -> last completion 20.5 + 262 = 282.5: 272 ms
    assert s.duration_s == pytest.approx(0.272)
    assert s.rps == pytest.approx(2 / 0.272)
    assert s.output_tps == pytest.approx(8 / 0.272)
    assert s.ttft_ms.p50 == pytest.approx(201.5)
    assert s.tpot_ms.mean == pytest.approx(20.0)  # (261 - 201) / 3
    assert s.itl_ms.count == 6 and s.itl_ms.p99 == pytest.approx(20.0)
    assert s.client_queue_ms.mean == pytest.approx(0.5)
    # only request 1 meets TTFT <= 201.5; attainment counts the failure as a miss
    assert s.goodput_rps == pytest.approx(1 / 0.272)
    assert s.slo_attainment == pytest.approx(1 / 3)


def test_tpot_slo_ignores_requests_with_a_single_token() -> None:
    one = RequestRecord(0, 0.0, 0.0, True, ttft_ms=50.0, e2e_ms=50.0, output_tokens=1)
    assert summarize([one], Slo(tpot_ms=1.0)).slo_attainment == 1.0


def test_empty_run_has_no_rates() -> None:
    s = summarize([])
    assert s.requests == 0 and s.error_rate == 0.0
    assert s.duration_s is None and s.rps is None and s.ttft_ms.mean is None
    assert s.to_json()["ttft_ms"] == {
        "mean": None,
        "std": None,
        "p50": None,
        "p90": None,
        "p95": None,
        "p99": None,
    }
