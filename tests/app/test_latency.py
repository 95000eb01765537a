import logging

import pytest

from inferlab.dashboard.latency import MAX_TIME_MS, MAX_TOKENS
from tests.app.conftest import OpenPage, link_query, metric


def test_default_render_shows_both_forms_and_charts(open_page: OpenPage) -> None:
    at = open_page("latency")
    assert not at.exception
    # defaults: TTFT 200 ms, TPOT 20 ms, N 256
    assert metric(at, "Total latency (textbook)") == "5.32 s"
    assert metric(at, "Total latency (exact)") == "5.30 s"  # as many decimals as its neighbour
    assert metric(at, "Streaming speed") == "50.0 tokens/s"
    assert len(at.get("plotly_chart")) == 2
    assert not at.warning


def test_deep_link_shows_chatbot_total(open_page: OpenPage) -> None:
    at = open_page("latency", {"ttft_ms": "1200", "tpot_ms": "80", "tokens": "50"})
    assert metric(at, "Total latency (textbook)") == "5.20 s"
    assert metric(at, "Total latency (exact)") == "5.12 s"
    assert metric(at, "Share of the wait before token 1") == "23%"


def test_changed_inputs_update_results_and_share_link(open_page: OpenPage) -> None:
    at = open_page("latency")
    at.number_input(key="ttft_ms").set_value(800.0)
    at.number_input(key="tpot_ms").set_value(100.0)
    at.number_input(key="tokens").set_value(50).run()
    assert metric(at, "Total latency (textbook)") == "5.8 s"
    query = link_query(at)
    assert query == {"ttft_ms": "800", "tpot_ms": "100", "tokens": "50"}


def test_share_link_round_trip_reopens_the_same_view(open_page: OpenPage) -> None:
    at = open_page("latency")
    for key, value in {
        "ttft_ms": 350.0,
        "tpot_ms": 12.5,
        "tokens": 900,
        "ttft_b_ms": 90.0,
        "tpot_b_ms": 25.0,
    }.items():
        at.number_input(key=key).set_value(value)
    at.run()
    query = link_query(at)
    reopened = open_page("latency", query)
    for key in ("ttft_ms", "tpot_ms", "tokens", "ttft_b_ms", "tpot_b_ms"):
        assert reopened.number_input(key=key).value == at.number_input(key=key).value
    assert metric(reopened, "Total latency (textbook)") == metric(at, "Total latency (textbook)")
    assert [i.value for i in reopened.info] == [i.value for i in at.info]


def test_bad_link_values_fall_back_with_visible_warning(open_page: OpenPage) -> None:
    at = open_page(
        "latency", {"ttft_ms": "abc", "tpot_ms": "-5", "tokens": "2000000", "ttft_b_ms": "99999999"}
    )
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "`ttft_ms`" in warnings and "not a number" in warnings
    assert "`tpot_ms`" in warnings and "below the minimum" in warnings
    assert "`tokens`" in warnings and "above the maximum" in warnings
    assert "`ttft_b_ms`" in warnings
    assert at.number_input(key="ttft_ms").value == 200.0
    assert at.number_input(key="tokens").value == 256


def test_breakeven_sentence_for_the_exercise(open_page: OpenPage) -> None:
    at = open_page(
        "latency",
        {
            "ttft_ms": "1200",
            "tpot_ms": "80",
            "tokens": "50",
            "ttft_b_ms": "800",
            "tpot_b_ms": "100",
        },
    )
    assert "B is faster for answers shorter than 20 tokens" in at.info[0].value
    assert any("A is faster by 0.6 s" in m.value for m in at.markdown)


def test_exercise_preset_loads_numbers(open_page: OpenPage) -> None:
    at = open_page("latency")
    at.button[0].click().run()
    assert at.number_input(key="ttft_ms").value == 1200
    assert at.number_input(key="tpot_b_ms").value == 100
    assert metric(at, "Total latency (textbook)") == "5.20 s"
    assert "B is faster for answers shorter than 20 tokens" in at.info[0].value


def test_exercise_answers_are_checked(open_page: OpenPage) -> None:
    at = open_page("latency")
    at.number_input(key="q1_answer").set_value(5.2)
    at.number_input(key="q2_answer").set_value(5.0)
    at.number_input(key="q2b_answer").set_value(20.0)
    next(b for b in at.button if b.label == "Check my answers").click().run()
    assert [s.value for s in at.success] == [
        "Q1: Correct: 5.2 s.",
        "Q2 breakeven: Correct: 20 tokens.",
    ]
    assert "Q2: Not quite: 5 s is too low" in at.error[0].value


def test_worked_solution_is_in_the_expander(open_page: OpenPage) -> None:
    at = open_page("latency")
    solution = at.expander[0]
    text = " ".join(m.value for m in solution.markdown)
    assert "5.2 s" in text and "5.8 s" in text and "0.6 s later" in text and "20 tokens" in text


@pytest.mark.parametrize(
    ("page", "query"),
    [
        ("latency", {"tokens": "inf"}),
        ("throughput", {"conc": "inf"}),
        ("cost", {"turns": "-inf"}),
        ("probe", {"requests": "1e999"}),
    ],
)
def test_infinite_whole_numbers_in_links_warn_instead_of_crashing(
    open_page: OpenPage, page: str, query: dict[str, str]
) -> None:
    at = open_page(page, query)
    assert not at.exception
    name = next(iter(query))
    assert any(f"`{name}`" in w.value and "not a finite number" in w.value for w in at.warning)


def test_a_fractional_token_count_really_falls_back_to_the_default(open_page: OpenPage) -> None:
    at = open_page("latency", {"tokens": "50.7"})
    assert any("not a whole number" in w.value and "default 256" in w.value for w in at.warning)
    assert at.number_input(key="tokens").value == 256


def test_exercise_address_bar_matches_the_share_box_and_logs_no_warning(
    open_page: OpenPage, caplog: pytest.LogCaptureFixture
) -> None:
    at = open_page("latency")
    with caplog.at_level(logging.WARNING):
        next(b for b in at.button if b.label == "Load the chatbot exercise").click().run()
    assert not any("Session State API" in r.getMessage() for r in caplog.records)
    assert dict(at.query_params) == link_query(at)  # ttft_ms=1200 in both, not 1200.0
    assert link_query(at)["ttft_ms"] == "1200"


def test_typing_the_exact_form_explains_textbook_vs_exact(open_page: OpenPage) -> None:
    at = open_page("latency")
    at.number_input(key="q1_answer").set_value(5.12)
    next(b for b in at.button if b.label == "Check my answers").click().run()
    message = at.error[0].value
    assert "exact form" in message and "textbook" in message and "too low" not in message


def test_zero_ttft_and_tpot_is_no_wait_not_100_percent(open_page: OpenPage) -> None:
    at = open_page("latency", {"ttft_ms": "0", "tpot_ms": "0"})
    assert not at.exception
    assert metric(at, "Share of the wait before token 1") == "no wait"


def test_number_boxes_name_their_allowed_range(open_page: OpenPage) -> None:
    # A typed value outside the range only turns the box red and keeps the last value:
    # the help says what is allowed.
    at = open_page("latency")
    assert at.number_input(key="tokens").help.endswith(f"Allowed: 1 to {int(MAX_TOKENS):,}.")
    assert at.number_input(key="ttft_ms").help.endswith(f"Allowed: 0 to {MAX_TIME_MS:,.0f}.")
