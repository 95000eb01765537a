"""The fuzz suite reuses the AppTest fixtures of tests/app."""

from tests.app.conftest import open_page

__all__ = ["open_page"]
