"""Share links the fuzz suite (or issue 18) found crashing a page, kept as explicit tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.app.conftest import OpenPage
from tests.runs_data import store_run


@pytest.fixture
def two_runs(isolated_db: Path) -> Path:
    store_run(isolated_db, "base", label="baseline", n=30)
    store_run(isolated_db, "slow", label="slower", n=30, ttft_ms=320, seed=1)
    return isolated_db


@pytest.mark.parametrize("value", ["", "nope", ["vllm", ""]])
def test_runs_link_with_an_unusable_convention_warns_and_uses_inferlab(
    open_page: OpenPage, two_runs: Path, value: str | list[str]
) -> None:
    at = open_page("runs", {"convention": value, "baseline": ""})
    assert not at.exception
    assert any("`convention`" in w.value and "Using inferlab" in w.value for w in at.warning)
    assert getattr(at.get("button_group")[0], "value", None) == "inferlab"


@pytest.mark.parametrize("mode", ["API", "Self-hosted"])
def test_cost_link_with_a_session_of_zero_tokens_shows_no_price_per_token(
    open_page: OpenPage, mode: str
) -> None:
    at = open_page(
        "cost", {"sys_tokens": "0", "user_tokens": "0", "asst_tokens": "0", "mode": mode}
    )
    assert not at.exception
    per_mtok = next(m.value for m in at.metric if m.label.startswith("Per 1M tokens"))
    assert per_mtok == ("— (no tokens)" if mode == "API" else per_mtok)
    assert next(m.value for m in at.metric if m.label == "Session cost, with caching") == "$0"


def test_runs_page_upload_of_deep_json_still_shows_the_other_files_result(
    open_page: OpenPage, isolated_db: Path
) -> None:
    good = Path(__file__).resolve().parents[1] / "fixtures" / "import" / "vllm-detailed.json"
    at = open_page("runs")
    at.file_uploader(key="import_files").set_value(
        [
            ("deep.json", b"[" * 50_000 + b"]" * 50_000, "application/json"),
            ("v.json", good.read_bytes(), "application/json"),
        ]
    ).run()
    next(b for b in at.button if b.label == "Import").click().run()
    assert not at.exception
    assert any("**deep.json**" in e.value and "nested too deeply" in e.value for e in at.error)
    assert any("v.json" in s.value and "imported 1 run" in s.value for s in at.success)
