import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inferlab import metrics
from inferlab.exercise import CHATBOT

times = st.floats(min_value=0, max_value=3_600_000, allow_nan=False)
tokens = st.integers(min_value=1, max_value=1_000_000)


def test_chatbot_exercise_textbook_and_exact_totals() -> None:
    assert metrics.total_latency_textbook_ms(1200, 80, 50) == pytest.approx(5200)
    assert metrics.total_latency_exact_ms(1200, 80, 50) == pytest.approx(5120)
    assert metrics.total_latency_textbook_ms(800, 100, 50) == pytest.approx(5800)
    assert metrics.total_latency_exact_ms(800, 100, 50) == pytest.approx(5700)


def test_chatbot_exercise_breakeven_is_20_tokens_and_b_wins_below() -> None:
    be = metrics.breakeven(1200, 80, 800, 100)
    assert be.tokens == pytest.approx(20)
    assert be.faster_below == "B"
    assert "B is faster for answers shorter than 20 tokens" in metrics.describe_breakeven(be)
    assert CHATBOT.breakeven_tokens == pytest.approx(20)
    assert CHATBOT.q1_total_s == pytest.approx(5.2)
    assert CHATBOT.q2_total_s == pytest.approx(5.8)


def test_breakeven_when_one_configuration_dominates() -> None:
    be = metrics.breakeven(100, 10, 200, 20)
    assert be.tokens is None and be.always_faster == "A"
    assert "never cross" in metrics.describe_breakeven(be)


def test_breakeven_parallel_lines_and_identical() -> None:
    assert metrics.breakeven(300, 20, 100, 20).always_faster == "B"
    same = metrics.breakeven(100, 20, 100, 20)
    assert same.tokens is None and same.always_faster is None
    assert "identical" in metrics.describe_breakeven(same)


def test_exact_total_of_zero_tokens_is_ttft() -> None:
    assert metrics.total_latency_exact_ms(500, 20, 0) == 500


def test_streaming_speed_and_reading_speed() -> None:
    assert metrics.streaming_tokens_per_s(80) == pytest.approx(12.5)
    assert math.isinf(metrics.streaming_tokens_per_s(0))
    # 238 words/min at 0.75 words per token
    assert pytest.approx(238 / 0.75 / 60) == metrics.READING_TOKENS_PER_S


def test_ttft_share_of_chatbot_is_ttft_over_exact_total() -> None:
    assert metrics.ttft_share(1200, 80, 50) == pytest.approx(1200 / 5120)
    assert metrics.ttft_share(0, 0, 1) == 1.0


@given(times, times, tokens, times)
def test_totals_are_monotonic_in_each_input(ttft: float, tpot: float, n: int, bump: float) -> None:
    for f in (metrics.total_latency_textbook_ms, metrics.total_latency_exact_ms):
        base = f(ttft, tpot, n)
        assert f(ttft + bump, tpot, n) >= base
        assert f(ttft, tpot + bump, n) >= base
        assert f(ttft, tpot, n + 1) >= base
    # The exact form counts one TPOT fewer than the textbook form (N >= 1 here).
    textbook = metrics.total_latency_textbook_ms(ttft, tpot, n)
    exact = metrics.total_latency_exact_ms(ttft, tpot, n)
    assert exact <= textbook
    assert exact == pytest.approx(textbook - tpot, rel=1e-9, abs=1e-6)


@given(times, times, times, times)
def test_breakeven_is_where_the_two_totals_are_equal(
    a1: float, a2: float, b1: float, b2: float
) -> None:
    be = metrics.breakeven(a1, a2, b1, b2)
    if be.tokens is not None:
        ta = metrics.total_latency_textbook_ms(a1, a2, be.tokens)
        tb = metrics.total_latency_textbook_ms(b1, b2, be.tokens)
        assert ta == pytest.approx(tb, rel=1e-6, abs=1e-3)
        assert be.tokens > 0
        winner_short = be.faster_below
        n_short = be.tokens / 2
        short_a = metrics.total_latency_textbook_ms(a1, a2, n_short)
        short_b = metrics.total_latency_textbook_ms(b1, b2, n_short)
        assert (short_b <= short_a) if winner_short == "B" else (short_a <= short_b)
        assert be.always_faster is None
        assert "shorter than" in metrics.describe_breakeven(be)
    else:
        # No crossing at a positive length: one configuration is never slower, or they tie.
        assert be.faster_below is None
        for n in (1.0, 1_000.0):
            ta = metrics.total_latency_textbook_ms(a1, a2, n)
            tb = metrics.total_latency_textbook_ms(b1, b2, n)
            slack = 1e-9 * max(ta, tb) + 1e-6
            if be.always_faster == "A":
                assert ta <= tb + slack
            elif be.always_faster == "B":
                assert tb <= ta + slack
            else:
                assert ta == pytest.approx(tb)
        words = "identical" if be.always_faster is None else "never cross"
        assert words in metrics.describe_breakeven(be)


@given(
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(allow_nan=False, allow_infinity=False),
)
def test_any_finite_input_gives_a_number_and_a_sentence(ttft: float, tpot: float, n: float) -> None:
    for value in (
        metrics.total_latency_textbook_ms(ttft, tpot, n),
        metrics.total_latency_exact_ms(ttft, tpot, n),
        metrics.ttft_share(ttft, tpot, n),
    ):
        assert isinstance(value, float)
    speed = metrics.streaming_tokens_per_s(tpot)
    assert speed > 0 and (math.isinf(speed) or speed == pytest.approx(1000.0 / tpot))
    if metrics.total_latency_exact_ms(ttft, tpot, n) <= 0:
        assert metrics.ttft_share(ttft, tpot, n) == 1.0
    sentence = metrics.describe_breakeven(metrics.breakeven(ttft, tpot, n, ttft))
    assert sentence.endswith(".") and ("A" in sentence or "B" in sentence)


def test_breakeven_beyond_any_representable_length_counts_as_never_crossing() -> None:
    be = metrics.breakeven(1.0, 0.0, 0.0, 2.225073858507203e-309)
    assert be.tokens is None and be.always_faster == "B"
    assert "never cross" in metrics.describe_breakeven(be)
