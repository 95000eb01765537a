"""The Cost page's sentences: worked sums, catalog notes, the three views and Q3's verdict."""

from __future__ import annotations

import pytest

from inferlab import cost
from inferlab.catalog import ApiOffer, GpuOffer
from inferlab.compare.run_facts import RunFacts
from inferlab.dashboard.cost import (
    api_catalog_caption,
    api_request_caption,
    cost_views,
    exercise_verdict,
    gpu_catalog_caption,
    run_throughput_update,
    self_hosted_caption,
    session_caption,
)

GPT_4O = cost.ApiPrices(2.5, 10.0, 1.25)


def test_api_request_caption_shows_the_worked_sum() -> None:
    text = api_request_caption(1000, 250, GPT_4O, 0.005)
    assert text == (
        "1,000 × $2.5/1M + 250 × $10/1M = $0.0025 + $0.0025 = **$0.005** per request; "
        "200 requests per dollar."
    )
    assert api_request_caption(1000, 250, cost.ApiPrices(0, 0), 0.0).startswith("Both prices are 0")


def test_catalog_captions_say_when_the_typed_prices_are_your_own() -> None:
    offer = ApiOffer("OpenAI GPT-4o", GPT_4O, "https://example.test/p", "2026-01")
    assert "differ" not in api_catalog_caption(offer, GPT_4O)
    assert "as of 2026-01" in api_catalog_caption(offer, GPT_4O)
    assert "they are your own" in api_catalog_caption(offer, cost.ApiPrices(3.0, 10.0, 1.25))
    gpu = GpuOffer("H100", 2.99)
    assert "source not given" in gpu_catalog_caption(gpu, 2.99)
    assert "it is your own" in gpu_catalog_caption(gpu, 3.5)


def test_self_hosted_caption_compares_peak_with_the_slo_throughput() -> None:
    at_slo = cost.self_hosted_costs(2.99, 1, 2.5, 1000, 250, 0.6)
    text = self_hosted_caption(1, 2.99, 2.5, 0.6, 4.0, at_slo)
    assert "**$2.99 per hour**" in text and "5,400 requests per hour" in text
    assert "looks 1.6× cheaper" in text
    assert "meeting the SLO" not in text
    named = self_hosted_caption(1, 2.99, 2.5, 0.6, 4.0, at_slo, 500.0, 50.0)
    assert named.startswith(
        "*Throughput meeting the SLO* counts the requests with TTFT ≤ 500 ms and TPOT ≤ 50 ms, "
        "each (a per-request limit, as goodput counts it, not a percentile"
    )
    assert named.endswith(text)


def test_session_caption_says_the_session_view_always_uses_api_prices() -> None:
    shape = cost.SessionShape(10, 500, 100, 250)
    s = cost.session_cost(shape, GPT_4O, 0.8)
    assert session_caption(shape, s, "API").startswith("Turn 1 sends 600 input tokens; turn 10")
    assert "caching is an API discount" in session_caption(shape, s, "Self-hosted")
    assert "caching is an API discount" not in session_caption(shape, s, "API")


def test_cost_views_follow_the_mode() -> None:
    s = cost.session_cost(cost.SessionShape(10, 500, 100, 250), GPT_4O, 0.8)
    at_slo = cost.self_hosted_costs(2.99, 1, 2.5, 1000, 250, 0.6)
    api, note = cost_views("API", s, 100_000, at_slo, 2.5, 1, 2.99, 0.6)
    assert api.monthly_bill_usd == pytest.approx(5862.5)
    assert note == "100,000 sessions × $0.05862"
    hosted, note = cost_views("Self-hosted", s, 100_000, at_slo, 2.5, 1, 2.99, 0.6)
    assert hosted.monthly_bill_usd == pytest.approx(730 * 2.99)  # 1M requests: one replica
    assert note.startswith("1 always-on replica(s) × 1 GPU × 730 h × $2.99")


def test_exercise_verdict_with_and_without_a_trade_off() -> None:
    text, trade_off = exercise_verdict(0.05, 0.85, 0.08, 0.92, 0.5, 0.42857, 1000)
    assert trade_off
    assert "A costs $0.05 + 15% × $0.5 = **$0.125** per request" in text
    assert "B costs **$0.12**" in text and "more than **$0.429**" in text
    assert text.endswith("the difference is $5 in favour of B.")
    text, trade_off = exercise_verdict(0.05, 0.9, 0.08, 0.85, 0.5, None, 1000)
    assert not trade_off and text.startswith("A is cheaper and at least as satisfying")


def test_a_runs_throughput_fills_the_inputs_it_has() -> None:
    facts = RunFacts(
        *("r1", "run", "m", "completed", "concurrency", 8.0, None, 100),
        rps=4.1234567,
        output_tps=None,
        goodput_rps=None,
        slo_attainment=0.0,
        ttft_p50_ms=None,
        tpot_p50_ms=None,
        tpot_mean_ms=None,
        e2e_mean_ms=None,
        e2e_p95_ms=None,
        mean_input_tokens=None,
        mean_output_tokens=0.4,
        gpu=None,
        model_params_b=None,
        precision=None,
        n_gpus=1,
    )
    assert run_throughput_update(facts) == {"peak_rps": 4.123457, "out_tokens": 1}
