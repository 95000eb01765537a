"""AppTest helpers: open a page of the real app, optionally with query parameters."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from urllib.parse import parse_qs, urlparse

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import APP

OpenPage = Callable[..., AppTest]


def metric(at: AppTest, label: str) -> str:
    """The shown value of the metric labelled `label`."""
    return str(next(m.value for m in at.metric if m.label == label))


def link_query(at: AppTest) -> dict[str, str]:
    """The parameters of the page's share link (its last code block), one value each."""
    return {k: v[0] for k, v in parse_qs(urlparse(at.code[-1].value).query).items()}


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
