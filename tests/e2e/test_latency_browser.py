"""The Latency deep link in a real browser."""

from tests.e2e.conftest import screenshot

WARMUP_LINK = 'link[rel="modulepreload"][data-inferlab="warmup"][href*="/static/js/PlotlyChart."]'


def test_deep_link_shows_chatbot_total_in_chromium(app_url: str, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{app_url}/latency?ttft_ms=1200&tpot_ms=80&tokens=50")
    metric = page.get_by_test_id("stMetric").filter(has_text="Total latency (textbook)")
    metric.get_by_test_id("stMetricValue").wait_for(timeout=30_000)
    assert metric.get_by_test_id("stMetricValue").inner_text() == "5.20 s"
    # plotly.js was preloaded as the page opened (dashboard/warmup.py), then drawn.
    assert page.locator(WARMUP_LINK).count() == 1
    page.get_by_test_id("stPlotlyChart").first.wait_for(timeout=30_000)
    page.locator("[data-testid=stPlotlyChart] .main-svg").first.wait_for(timeout=30_000)
    page.wait_for_timeout(1000)
    assert screenshot(page, "latency-deep-link").stat().st_size > 10_000


def test_home_page_renders_glossary_in_chromium(app_url: str, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(app_url)
    page.get_by_text("Glossary").wait_for(timeout=30_000)
    assert page.get_by_text("Time to first token").count() >= 1
    # No chart on Home: plotly.js is not preloaded there (dashboard/warmup.py).
    assert page.locator(WARMUP_LINK).count() == 0
    screenshot(page, "home")


def test_share_box_copies_its_link_in_chromium(app_url: str, page) -> None:  # type: ignore[no-untyped-def]
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=app_url)
    page.goto(f"{app_url}/latency?ttft_ms=1200&tpot_ms=80&tokens=50")
    box = page.get_by_label("Share link")
    box.wait_for(timeout=30_000)
    link = box.input_value()
    assert link.startswith(f"{app_url}/latency?") and "ttft_ms=1200" in link
    page.get_by_role("button", name="Copy").click()
    page.get_by_role("button", name="Copied").wait_for(timeout=10_000)
    assert page.evaluate("navigator.clipboard.readText()") == link
    box.click()  # focusing the box selects the whole link, ready for Ctrl+C
    assert page.evaluate("getSelection().toString() || document.activeElement.value") == link


def test_a_rejected_link_value_leaves_the_address_bar_in_chromium(  # type: ignore[no-untyped-def]
    app_url: str, page
) -> None:
    # tokens=-3 is refused with a warning and the default used; the address bar then shows
    # what the page shows, so a reload or bookmark does not bring the bad value back.
    page.goto(f"{app_url}/latency?tokens=-3&ttft_ms=500")
    page.get_by_text("was ignored").first.wait_for(timeout=30_000)
    page.wait_for_function("!location.search.includes('tokens=')", timeout=10_000)
    assert "ttft_ms=500" in page.url and "tokens" not in page.url


def test_a_repeated_link_value_keeps_only_the_one_used_in_chromium(  # type: ignore[no-untyped-def]
    app_url: str, page
) -> None:
    page.goto(f"{app_url}/latency?ttft_ms=100&ttft_ms=300")
    page.get_by_text("2 times").first.wait_for(timeout=30_000)
    page.wait_for_function("location.search === '?ttft_ms=300'", timeout=10_000)
