"""The Cost deep link in a real browser."""

from tests.e2e.conftest import screenshot


def test_cost_deep_link_prices_a_request_in_chromium(app_url: str, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{app_url}/cost?in_price=1&out_price=2&in_tokens=1000&out_tokens=500&turns=4")
    metric = page.get_by_test_id("stMetric").filter(has_text="Cost per request")
    value = metric.get_by_test_id("stMetricValue")
    value.wait_for(timeout=30_000)
    # 1000 x $1/1M + 500 x $2/1M
    assert value.inner_text() == "$0.002"
    assert (
        page.get_by_test_id("stNumberInput")
        .filter(has_text="Turns per session")
        .locator("input")
        .input_value()
        == "4"
    )
    page.get_by_test_id("stPlotlyChart").first.wait_for(timeout=30_000)
    page.wait_for_timeout(1000)
    # the bound widgets keep the link's values in the address bar
    assert "in_price=1" in page.url and "turns=4" in page.url
    assert screenshot(page, "cost-deep-link").stat().st_size > 10_000
