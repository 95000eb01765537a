"""The Trends page in a real browser over series a real `inferlab monitor` recorded.

The monitor probes the simulator at 50 ms TTFT, then the same series after the sim
is restarted on the same port at 300 ms; the page shows the one TTFT change, marked
on the chart and linked to the Runs page, and its share link reopens the view.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import pytest

from inferlab.monitor import load_series
from inferlab.sim import SimConfig, SimServer
from inferlab.store import Store
from tests.e2e.conftest import _require_chromium, free_port, screenshot, serve_app


@pytest.fixture(scope="module")
def trends_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    _require_chromium()
    db = tmp_path_factory.mktemp("trends-e2e") / "inferlab.duckdb"
    port = free_port()
    for ttft_ms in (50, 300):
        with SimServer(SimConfig(ttft_ms=ttft_ms, tpot_ms=1), port=port) as sim:
            done = subprocess.run(
                [sys.executable, "-m", "inferlab", "monitor", "--url", sim.base_url,
                 "--model", "inferlab-sim", "--db", str(db), "--every", "10ms", "--count", "6",
                 "--concurrency", "4", "--requests", "4", "--max-tokens", "8",
                 "--series", "sim endpoint", "--alert", "ttft_p95>+20%"],
                capture_output=True, text=True, timeout=300,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
    points = load_series(Store(db))["sim endpoint"]
    return db, points[6].run_id, points[-1].run_id


@pytest.fixture(scope="module")
def trends_app(trends_db: tuple[Path, str, str]) -> Iterator[str]:
    with serve_app(trends_db[0]) as url:
        yield url


def test_the_change_is_marked_linked_to_its_run_and_shareable(  # type: ignore[no-untyped-def]
    trends_app: str, trends_db: tuple[Path, str, str], page
) -> None:
    _, first_slow, _ = trends_db
    page.goto(f"{trends_app}/trends?slo_ttft_ms=200")
    page.get_by_test_id("stPlotlyChart").first.wait_for(timeout=60_000)
    # The chart annotates the change "before → after (size)" and draws the SLO line.
    chart = page.get_by_test_id("stPlotlyChart").first
    chart.locator("text", has_text="→").first.wait_for(timeout=30_000)
    assert "SLO 200.0 ms" in chart.inner_text()
    alert = page.get_by_test_id("stAlertContentError")
    assert f"since run {first_slow}" in alert.inner_text()
    assert "TTFT p95" in alert.inner_text()
    link = alert.get_by_role("link", name=first_slow)
    href = link.get_attribute("href")
    assert href is not None and href.endswith(f"runs?runs={first_slow}")
    page.wait_for_timeout(1500)  # let plotly finish drawing before the screenshot
    assert screenshot(page, "trends").stat().st_size > 10_000
    page.get_by_text("Share this view").scroll_into_view_if_needed()
    share = page.get_by_label("Share link").last.input_value()
    assert "series=sim+endpoint" in share and "slo_ttft_ms=200" in share

    # The run behind the change is one click away on the Runs page.
    page.goto(urljoin(page.url, href))
    page.get_by_text("Runs: compare benchmark results").wait_for(timeout=60_000)
    page.get_by_test_id("stTable").wait_for(timeout=60_000)
    assert f"runs={first_slow}" in page.url

    # The share link reopens the same view.
    page.goto(share)
    page.get_by_test_id("stPlotlyChart").first.wait_for(timeout=60_000)
    assert "SLO 200.0 ms" in page.get_by_test_id("stPlotlyChart").first.inner_text()
