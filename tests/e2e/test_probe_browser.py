"""The Probe page in real Chromium: launch against the built-in simulator, watch, open in Runs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from inferlab.store import Store
from tests.e2e.conftest import screenshot, serve_app


@pytest.fixture(scope="module")
def probe_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A dashboard of its own (with a database this test can read), stopped afterwards."""
    db = tmp_path_factory.mktemp("probe-e2e") / "inferlab.duckdb"
    with serve_app(db) as url:
        yield url, db


def set_number(page: Any, label: str, value: str) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(value)
    box.press("Enter")
    page.wait_for_timeout(400)


def test_probe_the_simulator_in_chromium(probe_app: tuple[str, Path], page: Any) -> None:
    url, db = probe_app
    page.goto(f"{url}/probe")
    launch = page.get_by_role("button", name="Launch probe")
    launch.wait_for(timeout=30_000)
    set_number(page, "Simulator TTFT (ms)", "100")
    set_number(page, "Simulator TPOT (ms)", "10")
    set_number(page, "Requests", "40")
    set_number(page, "Output tokens", "40")
    label = page.get_by_label("Label", exact=True)
    label.fill("e2e probe")
    label.press("Enter")
    page.wait_for_timeout(400)
    launch.click()
    card = page.locator("[class*='st-key-probe_job_']").filter(has_text="e2e probe")
    card.get_by_text("running").or_(card.get_by_text("completed")).first.wait_for(timeout=30_000)
    screenshot(page, "probe-running")
    # the job lives on the server: another page and a fresh load find it again
    page.goto(f"{url}/latency")
    page.get_by_test_id("stMetric").first.wait_for(timeout=30_000)
    page.goto(f"{url}/probe")
    card.wait_for(timeout=30_000)
    card.get_by_text("Open this run in Runs").wait_for(timeout=120_000)
    page.wait_for_timeout(1500)
    screenshot(page, "probe-done")

    run_id = re.search(r"run ([0-9a-f]{12})", card.inner_text())
    assert run_id is not None
    store = Store(db)
    assert store.run_status(run_id.group(1)) == "completed"
    summary: Any = store.summary(run_id.group(1)).to_json()
    assert summary["requests"] == 40

    def shown(name: str) -> str:
        metric = card.get_by_test_id("stMetric").filter(has_text=name)
        return str(metric.get_by_test_id("stMetricValue").inner_text())

    assert shown("Done") == "40" and shown("Failed") == "0"
    for name, key, pct in (
        ("TTFT p50", "ttft_ms", "p50"),
        ("TTFT p95", "ttft_ms", "p95"),
        ("TPOT p50", "tpot_ms", "p50"),
        ("TPOT p95", "tpot_ms", "p95"),
    ):
        assert shown(name) == f"{summary[key][pct]:,.1f} ms"

    card.get_by_text("Open this run in Runs").click()
    page.wait_for_url(re.compile(rf"/runs\?.*runs={run_id.group(1)}"), timeout=30_000)
    page.get_by_text("e2e probe").first.wait_for(timeout=30_000)
