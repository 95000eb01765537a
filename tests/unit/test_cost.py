import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inferlab import cost

GPT_4O = cost.ApiPrices(2.5, 10.0, 1.25)


def test_api_request_cost_worked_example() -> None:
    # 1000 x $2.50/1M + 250 x $10/1M = $0.0025 + $0.0025
    assert cost.api_request_cost_usd(GPT_4O, 1000, 250) == pytest.approx(0.005)


def test_cached_input_tokens_are_billed_at_the_cached_price() -> None:
    # 200 x 2.50 + 800 x 1.25 + 250 x 10 = 4000 per 1M
    assert cost.api_request_cost_usd(GPT_4O, 1000, 250, 800) == pytest.approx(0.004)
    no_discount = cost.ApiPrices(2.5, 10.0)
    assert cost.api_request_cost_usd(no_discount, 1000, 250, 800) == pytest.approx(0.005)


def test_blended_price_weights_input_and_output() -> None:
    assert cost.blended_price_per_mtok(GPT_4O, 3) == pytest.approx(4.375)
    assert cost.blended_price_per_mtok(GPT_4O, 0) == pytest.approx(10.0)


def test_self_hosted_costs_at_the_slo_throughput() -> None:
    c = cost.self_hosted_costs(2.99, 1, 2.5, 1000, 250, 0.6)
    assert c.cost_per_hour_usd == pytest.approx(2.99)
    assert c.requests_per_hour == pytest.approx(5400)
    assert c.cost_per_request_usd == pytest.approx(2.99 / 5400)
    assert c.cost_per_mtok_output_usd == pytest.approx(2.99 / 1.35)
    assert c.cost_per_mtok_total_usd == pytest.approx(2.99 / (5400 * 1250 / 1e6))
    peak = cost.self_hosted_costs(2.99, 1, 4.0, 1000, 250, 0.6)
    assert peak.cost_per_request_usd < c.cost_per_request_usd


def test_session_input_grows_with_the_history() -> None:
    shape = cost.SessionShape(10, 500, 100, 250)
    assert shape.input_tokens(1) == 600
    assert shape.input_tokens(10) == 500 + 1000 + 2250
    assert shape.cacheable_tokens(1) == 500
    assert shape.cacheable_tokens(10) == 500 + 9 * 350


def test_session_cost_worked_example_with_and_without_caching() -> None:
    s = cost.session_cost(cost.SessionShape(10, 500, 100, 250), GPT_4O, 0.8)
    assert s.input_tokens == 21_750 and s.output_tokens == 2_500
    # no caching: 21,750 x 2.50 + 2,500 x 10 per 1M
    assert s.total_no_cache_usd == pytest.approx(0.079375)
    # caching saves 80 % of 20,750 cacheable tokens x (2.50 - 1.25) per 1M
    assert s.total_usd == pytest.approx(0.079375 - 0.8 * 20_750 * 1.25e-6)
    assert s.savings_share == pytest.approx(1 - 0.058625 / 0.079375)
    cumulative = [t.cumulative_usd for t in s.turns]
    assert cumulative == sorted(cumulative) and len(cumulative) == 10


def test_zero_hit_rate_means_no_savings() -> None:
    s = cost.session_cost(cost.SessionShape(5, 100, 50, 50), GPT_4O, 0.0)
    assert s.total_usd == pytest.approx(s.total_no_cache_usd)


def test_monthly_self_hosted_bill_for_always_on_replicas() -> None:
    m = cost.monthly_self_hosted(1_000_000, 2.5, 1, 2.99, 0.6)
    assert m.average_rps == pytest.approx(1e6 / (730 * 3600))
    assert m.replicas == 1
    assert m.bill_usd == pytest.approx(730 * 2.99)
    big = cost.monthly_self_hosted(100_000_000, 2.5, 2, 2.99, 0.6)
    assert big.replicas == math.ceil(1e8 / (730 * 3600) / 1.5)
    assert big.gpu_hours == big.replicas * 2 * 730


def test_chatbot_exercise_cost_per_satisfied_answer_and_breakeven() -> None:
    assert cost.cost_per_satisfied_request_usd(0.05, 0.85) == pytest.approx(0.0588235, abs=1e-6)
    # (0.08 - 0.05) / (0.92 - 0.85) = 0.4286
    assert cost.dissatisfaction_breakeven_usd(0.05, 0.85, 0.08, 0.92) == pytest.approx(
        0.428571, abs=1e-6
    )


def test_no_breakeven_when_one_option_dominates() -> None:
    assert cost.dissatisfaction_breakeven_usd(0.05, 0.9, 0.08, 0.85) is None
    assert cost.dissatisfaction_breakeven_usd(0.05, 0.85, 0.05, 0.9) is None
    assert cost.dissatisfaction_breakeven_usd(0.05, 0.85, 0.08, 0.85) is None


def test_token_cost_is_tokens_times_price_per_million() -> None:
    assert cost.token_cost_usd(1000, 2.5) == pytest.approx(0.0025)
    assert cost.token_cost_usd(0, 2.5) == 0.0


def test_api_views_price_the_average_turn_the_tokens_and_the_month() -> None:
    s = cost.session_cost(cost.SessionShape(10, 500, 100, 250), GPT_4O, 0.8)
    v = cost.api_views(s, 100_000)
    assert v.per_session_usd == pytest.approx(0.058625)
    assert v.per_request_usd == pytest.approx(0.0058625)
    assert v.per_mtok_usd == pytest.approx(0.058625 / ((21_750 + 2_500) / 1e6))
    assert v.monthly_bill_usd == pytest.approx(5862.5)


def test_api_views_of_a_session_without_tokens_have_no_price_per_token() -> None:
    s = cost.session_cost(cost.SessionShape(1, 0, 0, 0), GPT_4O, 0.0)
    assert math.isnan(cost.api_views(s, 10).per_mtok_usd)


def test_self_hosted_views_multiply_per_request_by_turns() -> None:
    at_slo = cost.self_hosted_costs(2.99, 1, 2.5, 1000, 250, 0.6)
    monthly = cost.monthly_self_hosted(1_000_000, 2.5, 1, 2.99, 0.6)
    v = cost.self_hosted_views(at_slo, 10, monthly)
    assert v.per_request_usd == pytest.approx(2.99 / 5400)
    assert v.per_session_usd == pytest.approx(10 * 2.99 / 5400)
    assert v.per_mtok_usd == pytest.approx(at_slo.cost_per_mtok_output_usd)
    assert v.monthly_bill_usd == pytest.approx(730 * 2.99)


def test_cost_with_dissatisfaction_meets_at_the_breakeven_loss() -> None:
    assert cost.cost_with_dissatisfaction_usd(0.05, 0.85, 0.5) == pytest.approx(0.125)
    loss = cost.dissatisfaction_breakeven_usd(0.05, 0.85, 0.08, 0.92)
    assert loss is not None
    assert cost.cost_with_dissatisfaction_usd(0.05, 0.85, loss) == pytest.approx(
        cost.cost_with_dissatisfaction_usd(0.08, 0.92, loss)
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: cost.ApiPrices(-1, 1),
            r"input price \(\$/1M tokens\) must be a number of at least 0",
        ),
        (lambda: cost.ApiPrices(1, 1, -0.5), "cached-input price"),
        (lambda: cost.api_request_cost_usd(GPT_4O, 10, 1, 20), "cannot exceed input tokens"),
        (lambda: cost.self_hosted_costs(2.0, 0, 1, 1, 1), "number of GPUs must be at least 1"),
        (lambda: cost.self_hosted_costs(-2.0, 1, 1, 1, 1), "price per GPU-hour"),
        (lambda: cost.self_hosted_costs(2.0, 1, 0, 1, 1), "throughput"),
        (lambda: cost.self_hosted_costs(2.0, 1, 1, 1, 1, 0), "utilisation"),
        (lambda: cost.SessionShape(0, 1, 1, 1), "turns per session"),
        (lambda: cost.session_cost(cost.SessionShape(1, 1, 1, 1), GPT_4O, 1.5), "cache hit rate"),
        (lambda: cost.cost_per_satisfied_request_usd(0.05, 0), "satisfaction"),
        (lambda: cost.monthly_self_hosted(-1, 1, 1, 1), "requests per month"),
    ],
)
def test_invalid_input_gets_a_clear_message(call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        call()


price = st.floats(min_value=0, max_value=10_000)
tokens = st.integers(0, 1_000_000)
share = st.floats(min_value=0, max_value=1)


@settings(max_examples=200, deadline=None)
@given(
    p_in=price,
    p_out=price,
    p_cached=price,
    turns=st.integers(1, 200),
    sys_t=tokens,
    user_t=tokens,
    asst_t=tokens,
    hit=share,
)
def test_session_cost_is_never_negative(
    p_in: float,
    p_out: float,
    p_cached: float,
    turns: int,
    sys_t: int,
    user_t: int,
    asst_t: int,
    hit: float,
) -> None:
    prices = cost.ApiPrices(p_in, p_out, p_cached)
    s = cost.session_cost(cost.SessionShape(turns, sys_t, user_t, asst_t), prices, hit)
    assert s.total_usd >= 0 and s.total_no_cache_usd >= 0
    assert all(t.cost_usd >= 0 and t.cached_tokens <= t.input_tokens for t in s.turns)
    if p_cached <= p_in:
        assert s.total_usd <= s.total_no_cache_usd * (1 + 1e-9) + 1e-12


@settings(max_examples=200, deadline=None)
@given(
    gpu_hour=price,
    n_gpus=st.integers(1, 1024),
    rps=st.floats(min_value=1e-4, max_value=1e6),
    in_t=tokens,
    out_t=st.integers(1, 1_000_000),
    util=st.floats(min_value=0.01, max_value=1),
    requests_pm=st.floats(min_value=0, max_value=1e13),
)
def test_self_hosted_cost_is_never_negative(
    gpu_hour: float,
    n_gpus: int,
    rps: float,
    in_t: int,
    out_t: int,
    util: float,
    requests_pm: float,
) -> None:
    c = cost.self_hosted_costs(gpu_hour, n_gpus, rps, in_t, out_t, util)
    assert c.cost_per_request_usd >= 0 and c.cost_per_mtok_output_usd >= 0
    m = cost.monthly_self_hosted(requests_pm, rps, n_gpus, gpu_hour, util)
    assert m.bill_usd >= 0 and m.replicas >= 1


@settings(max_examples=100, deadline=None)
@given(value=st.floats(max_value=-1e-9) | st.just(math.nan) | st.just(-math.inf))
def test_negative_prices_are_refused_by_name(value: float) -> None:
    with pytest.raises(ValueError, match="output price"):
        cost.ApiPrices(1.0, value)


def test_a_session_of_zero_tokens_has_no_price_per_token() -> None:
    shape = cost.SessionShape(3, 0, 0, 0)
    session = cost.session_cost(shape, cost.ApiPrices(2.5, 10.0, 1.25), 0.5)
    views = cost.api_views(session, 1000)
    assert session.total_usd == 0 and math.isnan(views.per_mtok_usd)
    one = cost.session_cost(cost.SessionShape(1, 1000, 0, 0), cost.ApiPrices(2.5, 10.0))
    assert cost.api_views(one, 1).per_mtok_usd == pytest.approx(2.5)
