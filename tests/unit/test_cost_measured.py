"""Measured session cost, the fitted session shape and the cold-system-prompt choice."""

from __future__ import annotations

import re

import pytest

from inferlab import cost

PRICES = cost.ApiPrices(input_per_mtok=2.0, output_per_mtok=8.0, cached_input_per_mtok=0.5)


def test_measured_sessions_are_priced_per_session_with_their_cached_tokens() -> None:
    m = cost.measured_session_cost(
        [(3000.0, 300.0, 1000.0), (5000.0, 500.0, 3000.0)],
        3,
        PRICES,
        cached_reported=True,
        run_duration_s=36.0,
        gpu_hour_usd=3.0,
        n_gpus=2,
    )
    # (2000 x 2 + 1000 x 0.5 + 300 x 8 + 2000 x 2 + 3000 x 0.5 + 500 x 8) / 2 per 1M
    assert m.api_usd == pytest.approx((6900 + 9500) / 2 / 1e6)
    assert m.api_no_cache_usd == pytest.approx((8400 + 14000) / 2 / 1e6)
    assert m.input_tokens == 4000 and m.cached_tokens == 2000 and m.cached_share == 0.5
    assert m.self_hosted_usd == pytest.approx(3.0 * 2 * 36 / 3600 / 2)
    with pytest.raises(ValueError, match="no sessions"):
        cost.measured_session_cost([], 3, PRICES, cached_reported=False)


def test_the_fitted_shape_reproduces_the_measured_inputs_by_turn() -> None:
    shape = cost.fitted_session_shape([1100.0, 1450.0, 1800.0], 250.0)
    assert shape is not None
    assert [shape.input_tokens(k) for k in (1, 2, 3)] == [1100.0, 1450.0, 1800.0]
    assert (shape.system_tokens, shape.user_tokens) == (1000.0, 100.0)
    assert cost.fitted_session_shape([1000.0], 10.0) is None


def test_a_cold_system_prompt_is_paid_in_full_on_turn_one() -> None:
    shape = cost.SessionShape(3, 1000, 100, 200)
    warm = cost.session_cost(shape, PRICES, 1.0)
    cold = cost.session_cost(shape, PRICES, 1.0, system_warm_from_turn_1=False)
    assert warm.turns[0].cached_tokens == 1000 and cold.turns[0].cached_tokens == 0
    assert [t.cached_tokens for t in cold.turns[1:]] == [t.cached_tokens for t in warm.turns[1:]]
    assert cold.total_usd - warm.total_usd == pytest.approx(1000 * (2.0 - 0.5) / 1e6)


def test_the_explained_parts_add_up_to_the_difference() -> None:
    model = cost.session_cost(cost.SessionShape(3, 1000, 100, 200), PRICES, 0.8)
    measured = cost.measured_session_cost(
        [(4000.0, 500.0, 1500.0)], 3, PRICES, cached_reported=True
    )
    first = cost.explain_session_difference(measured, model, PRICES)[0]
    amount = r"(?:input|output) ([+-])\$([0-9][0-9,]*(?:\.[0-9]+)?(?:e-?[0-9]+)?)"
    parts = [
        float(x.replace(",", "")) * (1 if sign == "+" else -1)
        for sign, x in re.findall(amount, first)
    ]
    assert len(parts) == 3
    assert sum(parts) == pytest.approx(measured.api_usd - model.total_usd, rel=1e-3)
    text = " ".join(cost.explain_session_difference(measured, model, PRICES))
    assert "Token counts are the server's own" in text and "whole blocks" in text
    unreported = cost.measured_session_cost(
        [(4000.0, 500.0, 0.0)], 3, PRICES, cached_reported=False
    )
    assert "reported no cached tokens" in " ".join(
        cost.explain_session_difference(unreported, model, PRICES)
    )
