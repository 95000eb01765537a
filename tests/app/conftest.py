"""AppTest helpers: open a page of the real app, optionally with query parameters."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable, Iterator, Mapping
from urllib.parse import parse_qs, urlparse

import pytest
from streamlit.testing.v1 import AppTest

from inferlab.dashboard.jobs import get_manager
from inferlab.dashboard.share import SHARE_CLASS
from tests.conftest import APP

OpenPage = Callable[..., AppTest]

_SHARE_URL = re.compile(f'class="{SHARE_CLASS}" data-share-url="([^"]*)"')


def metric(at: AppTest, label: str) -> str:
    """The shown value of the metric labelled `label`."""
    return str(next(m.value for m in at.metric if m.label == label))


def share_link(at: AppTest) -> str:
    """The link in the page's (last) share box, as the browser shows it in the box."""
    links = [m.group(1) for h in at.html if (m := _SHARE_URL.search(h.value))]
    assert links, "the page shows no share box"
    return html.unescape(links[-1])


def link_query(at: AppTest) -> dict[str, str]:
    """The parameters of the page's share link, one value each."""
    return {k: v[0] for k, v in parse_qs(urlparse(share_link(at)).query).items()}


@pytest.fixture
def open_page() -> OpenPage:
    def _open(page: str, query: Mapping[str, str] | None = None, timeout: float = 30) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=timeout)
        at.switch_page(f"pages/{page}.py")
        if query:
            at.query_params.update(query)
        at.run()
        return at

    return _open


@pytest.fixture(autouse=True)
def fresh_jobs() -> Iterator[None]:
    """The job registry is process-wide: start and end every test with none."""
    manager = get_manager()
    manager.shutdown()
    manager.clear()
    yield
    manager.shutdown()
    manager.clear()


def launch(at: AppTest) -> AppTest:
    """Press the Probe page's Launch button."""
    next(b for b in at.button if b.label == "Launch probe").click()
    return at.run()


def wait_done(at: AppTest, timeout_s: float = 60) -> AppTest:
    """Rerun the page until no probe job is running, as its timer would."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        at.run()
        if not any(j.active for j in get_manager().jobs()):
            return at.run()
        time.sleep(0.2)
    raise AssertionError("the probe did not finish")
