"""The Runs page in a real browser: two runs measured against the simulator, compared.

The runs are made by the real probe against the in-process simulated endpoint
(the same function as the page's first-run button); the dashboard is a real
`python -m inferlab.dashboard` on loopback reading the same database.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from inferlab.compare.loaders import fmt_value
from inferlab.dashboard.jobs import probe_simulator_once
from inferlab.store import Store
from tests.e2e.conftest import ARTIFACTS, _require_chromium, screenshot, serve_app


def num(value: float | None) -> float:
    assert value is not None
    return value


@pytest.fixture(scope="module")
def runs_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    _require_chromium()
    db = tmp_path_factory.mktemp("runs-e2e") / "inferlab.duckdb"
    first = probe_simulator_once(db_path=db, requests=24, concurrency=2, label="two at a time")
    second = probe_simulator_once(db_path=db, requests=48, concurrency=12, label="twelve at a time")
    return db, first, second


@pytest.fixture(scope="module")
def runs_app(runs_db: tuple[Path, str, str]) -> Iterator[str]:
    with serve_app(runs_db[0]) as url:
        yield url


def row_cells(page, metric: str) -> list[str]:  # type: ignore[no-untyped-def]
    row = page.get_by_test_id("stTable").locator("tr", has_text=metric).first
    return [c.inner_text().strip() for c in row.locator("td").all()]


def test_compared_numbers_equal_the_store_summary(  # type: ignore[no-untyped-def]
    runs_app: str, runs_db: tuple[Path, str, str], page
) -> None:
    db, first, second = runs_db
    page.goto(f"{runs_app}/runs?runs={first}&runs={second}&slo_ttft_ms=400")
    page.get_by_test_id("stTable").wait_for(timeout=60_000)
    store = Store(db)
    base, cand = store.summary(first), store.summary(second)

    ttft = row_cells(page, "TTFT p95 (ms)")
    assert ttft[0] == fmt_value(base.ttft_ms.p95, "ms")
    assert ttft[1].startswith(fmt_value(cand.ttft_ms.p95, "ms"))
    pct = 100 * (num(cand.ttft_ms.p95) - num(base.ttft_ms.p95)) / num(base.ttft_ms.p95)
    assert f"{pct:+.1f}%" in ttft[1]
    tpot = row_cells(page, "TPOT p50 (ms)")
    assert tpot[0] == fmt_value(base.tpot_ms.p50, "ms")
    rps = row_cells(page, "Requests/s (req/s)")
    assert rps[0] == fmt_value(base.rps, "req/s")
    assert rps[1].startswith(fmt_value(cand.rps, "req/s"))
    errors = row_cells(page, "Error rate (%)")
    assert errors[1].startswith(fmt_value(100 * cand.error_rate, "%"))

    page.get_by_test_id("stPlotlyChart").first.wait_for(timeout=30_000)
    page.get_by_text("Share this view").scroll_into_view_if_needed()
    link = page.get_by_label("Share link").last.input_value()
    assert f"runs={first}&runs={second}" in link and "slo_ttft_ms=400" in link
    page.wait_for_timeout(1500)
    assert screenshot(page, "runs-compare").stat().st_size > 10_000


def test_server_view_tab_shows_the_joined_timeline(  # type: ignore[no-untyped-def]
    runs_app: str, runs_db: tuple[Path, str, str], page
) -> None:
    _, first, _ = runs_db
    page.goto(f"{runs_app}/runs?runs={first}")
    page.get_by_role("tab", name="Server's view").click()
    page.get_by_text("Server TTFT, mean").wait_for(timeout=60_000)
    panel = page.get_by_role("tabpanel", name="Server's view")
    text = panel.inner_text()
    assert "inferlab simulator (vLLM's metric names)" in text and "requests completed" in text
    charts = panel.get_by_test_id("stPlotlyChart")
    charts.last.wait_for(timeout=30_000)
    assert charts.count() == 2  # the TTFT breakdown and the joined timeline
    text = charts.last.inner_text()
    assert "Time since the run began (s)" in text and "TTFT (ms)" in text
    assert "server: requests running" in text
    page.wait_for_timeout(1500)
    shot = ARTIFACTS / "runs-server-view.png"
    charts.last.scroll_into_view_if_needed()
    charts.last.screenshot(path=str(shot))  # the joined timeline (the page scrolls inside)
    assert shot.stat().st_size > 10_000
