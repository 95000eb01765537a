"""Series names: endpoint, model and settings, never credentials; found back from tags."""

from __future__ import annotations

import pytest

from inferlab.monitor import SeriesError, check_series_name, series_name, series_of, series_tag
from inferlab.probe import ProbeConfig


def test_the_name_holds_endpoint_model_and_load_settings() -> None:
    cfg = ProbeConfig(url="http://127.0.0.1:8001/v1", model="m", concurrency=2, requests=20)
    assert series_name(cfg) == "http://127.0.0.1:8001/v1 · m · chat · c=2 · 20 req · 128->128 tok"
    assert series_name(cfg) != series_name(ProbeConfig(url=cfg.url, model="m", requests=20))


def test_the_name_never_holds_credentials() -> None:
    cfg = ProbeConfig(
        url="https://user:secret@api.example.com/v1?key=sk-123",
        model="m",
        api_key="sk-456",
        headers={"x-token": "tok-789"},
    )
    name = series_name(cfg)
    assert all(s not in name for s in ("secret", "sk-123", "sk-456", "tok-789", "user"))


def test_a_series_tag_round_trips() -> None:
    assert series_of(["monitor", series_tag("prod llama")]) == "prod llama"
    assert series_of(["monitor"]) is None and series_of(None) is None


@pytest.mark.parametrize("bad", ["", "  ", "a,b", "x" * 201])
def test_unusable_names_are_refused(bad: str) -> None:
    with pytest.raises(SeriesError):
        check_series_name(bad)
