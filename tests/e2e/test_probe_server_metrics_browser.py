"""The Probe page's server-metrics box in real Chromium: choose other URLs, type one,
launch against the built-in simulator, and the run keeps that server's scrapes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from inferlab.server.samples import is_note
from inferlab.sim import SimConfig, SimServer
from inferlab.store import Store
from tests.e2e.conftest import screenshot, serve_app

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def probe_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    db = tmp_path_factory.mktemp("probe-metrics-e2e") / "inferlab.duckdb"
    with serve_app(db) as url:
        yield url, db


def set_number(page: Any, label: str, value: str) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(value)
    box.press("Enter")
    page.wait_for_timeout(400)


def test_a_custom_metrics_url_is_scraped(probe_app: tuple[str, Path], page: Any) -> None:
    url, db = probe_app
    with SimServer(SimConfig()) as other:
        metrics = other.base_url.rsplit("/v1", 1)[0] + "/metrics"
        page.goto(f"{url}/probe")
        launch = page.get_by_role("button", name="Launch probe")
        launch.wait_for(timeout=30_000)
        set_number(page, "Simulator TTFT (ms)", "5")
        set_number(page, "Simulator TPOT (ms)", "1")
        set_number(page, "Requests", "6")
        set_number(page, "Output tokens", "8")
        page.get_by_text("Other URL(s)", exact=True).click()
        box = page.get_by_label("Metrics URL(s)", exact=True)
        box.wait_for(timeout=10_000)
        box.fill(metrics)
        box.press("Enter")
        page.wait_for_timeout(400)
        set_number(page, "Scrape interval (s)", "0.2")
        share = page.locator('[data-share-url*="metrics_urls="]').get_by_label("Share link")
        share.first.wait_for(timeout=10_000)
        assert "server_metrics_interval_s=0.2" in share.first.input_value()
        screenshot(page, "probe-server-metrics")
        launch.click()
        card = page.locator("[class*='st-key-probe_job_']").first
        card.get_by_text("Open this run in Runs").wait_for(timeout=120_000)
        run_id = re.search(r"run ([0-9a-f]{12})", card.inner_text())
    assert run_id is not None
    scrapes = Store(db).server_scrapes(run_id.group(1))
    attempts = [s for s in scrapes if not is_note(s)]
    assert len(attempts) >= 2 and all(s.ok and s.endpoint == metrics for s in attempts)
