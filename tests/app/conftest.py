"""AppTest helpers: open a page of the real app, optionally with query parameters."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import APP

OpenPage = Callable[..., AppTest]


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
