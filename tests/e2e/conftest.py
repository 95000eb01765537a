"""Real-browser fixtures: the app served on a free loopback port, driven by headless Chromium.

Chromium is Debian's (/usr/bin/chromium); Playwright never downloads a browser.
Without Chromium the tests skip with a message, unless INFERLAB_REQUIRE_BROWSER
is set (CI), where a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT

CHROMIUM = os.environ.get("INFERLAB_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _require_chromium() -> None:
    if Path(CHROMIUM).exists() or shutil.which(CHROMIUM):
        return
    message = f"no Chromium at {CHROMIUM}: install Debian's 'chromium' to run browser tests"
    if os.environ.get("INFERLAB_REQUIRE_BROWSER"):
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def serve_app(db: Path, root: Path = ROOT) -> Iterator[str]:
    """A real `python -m inferlab.dashboard` of the checkout at `root` (its app.py, pages/ and
    src/) on a free 127.0.0.1 port reading `db`; stopped on exit. The page benchmark serves
    another checkout with it, so a failure to start raises rather than failing a test."""
    port = free_port()
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "inferlab.dashboard", "--server.address", "127.0.0.1"),
            *("--server.port", str(port), "--server.headless", "true"),
        ],
        cwd=root,
        env={**os.environ, "INFERLAB_DB": str(db), "PYTHONPATH": str(root / "src")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/_stcore/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise RuntimeError(f"the dashboard of {root} did not start within 60 s")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The dashboard with an empty database of its own."""
    _require_chromium()
    with serve_app(tmp_path_factory.mktemp("e2e") / "inferlab.duckdb") as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    pg = ctx.new_page()
    yield pg
    ctx.close()


def screenshot(pg: object, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    pg.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path
