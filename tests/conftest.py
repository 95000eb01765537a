"""Shared fixtures: an isolated database per test and AppTest helpers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests run last and are marked `e2e`: Playwright's sync API keeps an event loop running in
    the main thread while a browser is open, which would break asyncio.run() in
    any test scheduled after it."""
    items.sort(key=lambda item: "/tests/e2e/" in str(item.path))
    # Every browser test carries the e2e marker, so `-m "not e2e"` skips them all.
    for item in items:
        if "/tests/e2e/" in str(item.path):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(autouse=True)
def isolated_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own database file so nothing touches data/inferlab.duckdb."""
    db = tmp_path / "inferlab.duckdb"
    monkeypatch.setenv("INFERLAB_DB", str(db))
    yield db
