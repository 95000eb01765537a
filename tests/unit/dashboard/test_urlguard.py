"""urlguard: link values a page rejected never seed its widgets (inside a script run),
and nothing happens outside one."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from inferlab.dashboard.urlguard import drop_infinite_seeds, drop_seeds, is_infinite_number


def test_infinite_numbers_are_recognised_and_others_are_not() -> None:
    for raw in ("inf", "-inf", "Infinity", "1e999", "nan"):
        assert is_infinite_number(raw)
    for raw in ("50", "1e6", "-3.5", "abc", "", "infinite-loop"):
        assert not is_infinite_number(raw)


def test_outside_a_script_run_nothing_is_dropped() -> None:
    assert drop_infinite_seeds() == []


def test_drop_seeds_outside_a_script_run_drops_nothing() -> None:
    assert drop_seeds(["tokens"]) == []


def _seeded_page() -> None:
    """A page with widgets bound to the URL; which guard runs is chosen by `guard`."""
    import streamlit as st

    from inferlab.dashboard.urlguard import drop_infinite_seeds, drop_seeds

    guard = st.query_params.get("guard", "none")
    if guard == "drop":
        st.session_state["dropped"] = drop_seeds(["tokens", "absent"])
    elif guard == "infinite":
        st.session_state["dropped"] = drop_infinite_seeds()
    st.number_input("Tokens", 1, 1_000_000, 100, key="tokens", bind="query-params")
    st.number_input("Rate", 0.0, 1e9, 4.0, key="rate", bind="query-params")
    st.text_input("Label", key="label", bind="query-params")


def _run(query: dict[str, str]) -> AppTest:
    at = AppTest.from_function(_seeded_page, default_timeout=30)
    at.query_params.update(query)
    return at.run()


def test_without_a_guard_the_link_seeds_the_widgets() -> None:
    at = _run({"tokens": "512", "rate": "2.5", "label": "nightly"})
    assert not at.exception
    assert at.number_input(key="tokens").value == 512
    assert at.number_input(key="rate").value == 2.5
    assert at.text_input(key="label").value == "nightly"


def test_drop_seeds_makes_the_named_widgets_start_at_their_default() -> None:
    at = _run({"guard": "drop", "tokens": "512", "rate": "2.5", "label": "nightly"})
    assert not at.exception
    assert at.session_state["dropped"] == ["tokens"]  # only names the link carried
    assert at.number_input(key="tokens").value == 100  # dropped: the default
    assert at.number_input(key="rate").value == 2.5  # not named: still seeded
    assert at.text_input(key="label").value == "nightly"
    assert at.query_params["tokens"] == "512"  # the link still shows it, for the warning


def test_drop_infinite_seeds_removes_only_non_finite_numbers() -> None:
    at = _run({"guard": "infinite", "tokens": "inf", "rate": "1e999", "label": "nan-lab"})
    assert not at.exception  # inf would crash Streamlit's integer widget
    assert sorted(at.session_state["dropped"]) == ["rate", "tokens"]
    assert at.number_input(key="tokens").value == 100
    assert at.number_input(key="rate").value == 4.0
    assert at.text_input(key="label").value == "nan-lab"
    again = _run({"guard": "infinite", "tokens": "7"})
    assert again.session_state["dropped"] == []
    assert again.number_input(key="tokens").value == 7
