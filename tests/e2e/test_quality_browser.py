"""The Quality page in a real browser: a deep link with constraints, then the quality probe."""

from tests.e2e.conftest import screenshot


def test_quality_deep_link_and_probe_in_chromium(app_url: str, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(
        f"{app_url}/quality?min_quality_pct=75&max_p95_s=5&max_cost_usd=0.06"
        "&q_eval=units&q_repeats=1&q_temps=0&sim_accuracy_pct=100"
    )
    best = page.get_by_test_id("stAlertContentSuccess").filter(has_text="Best:")
    best.wait_for(timeout=30_000)
    assert "Best: Prompt caching." in best.inner_text()
    page.wait_for_function(
        "document.querySelectorAll('[data-testid=stPlotlyChart]').length == 2", timeout=30_000
    )
    page.get_by_role("button", name="Run the quality probe").click()
    page.get_by_text("Done: 15 requests.").wait_for(timeout=60_000)
    page.wait_for_function(
        "document.querySelectorAll('[data-testid=stPlotlyChart]').length >= 3", timeout=30_000
    )
    assert "qrun=" in page.url
    page.wait_for_timeout(1000)
    assert screenshot(page, "quality-deep-link-and-probe").stat().st_size > 10_000
