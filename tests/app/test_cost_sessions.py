"""The Cost page prices a stored multi-turn session run beside its calculator."""

from __future__ import annotations

from datetime import UTC, datetime

from inferlab.records import RequestRecord, RunInfo
from inferlab.store import Store
from tests.app.conftest import OpenPage, metric

# 2 sessions x 3 turns; turn k sends 1000 + 300 (k - 1) tokens and gets 100 back,
# of which 0 / 900 / 1200 were served from the server's prefix cache.
INPUTS = (1000, 1300, 1600)
CACHED = (0, 900, 1200)


def make_session_run(store: Store, run_id: str = "sess1") -> None:
    store.create_run(
        RunInfo(
            run_id=run_id,
            started_at=datetime(2026, 1, 1, tzinfo=UTC),
            endpoint="http://127.0.0.1:1/v1",
            model="test-model",
            load_mode="sessions",
            load_value=2.0,
            label="chat sessions",
            settings={"sessions": {"count": 2, "turns": 3}},
        )
    )
    records = []
    for k in range(2):
        for turn in range(1, 4):
            i = k * 3 + turn - 1
            records.append(
                RequestRecord(
                    index=i,
                    scheduled_ms=1000.0 * i,
                    sent_ms=1000.0 * i,
                    ok=True,
                    ttft_ms=50.0,
                    e2e_ms=500.0,
                    chunk_offsets_ms=(50.0, 500.0),
                    input_tokens=INPUTS[turn - 1],
                    output_tokens=100,
                    token_count_source="usage",
                    cached_tokens=CACHED[turn - 1],
                    session_id=f"{run_id}-s{k}",
                    turn=turn,
                )
            )
    store.add_requests(run_id, records)
    store.finish_run(run_id, "completed")


def test_a_stored_session_run_is_priced_beside_the_calculator(open_page: OpenPage) -> None:
    make_session_run(Store())
    at = open_page("cost", {"session_run": "sess1"})
    assert not at.exception and not at.error
    # Per session: 3,900 input (2,100 cached), 300 output at $2.5 / $1.25 / $10 per 1M:
    # 1,800 x 2.5 + 2,100 x 1.25 + 300 x 10 = 10,125 per 1M = $0.010125.
    assert metric(at, "Measured, API") == "$0.01013"
    assert metric(at, "Measured, no caching") == "$0.01275"  # 3,900 x 2.5 + 300 x 10
    text = " ".join(m.value for m in at.markdown)
    assert "**2 sessions × 3 turns**" in text
    assert "Measured $0.01013 per session vs the calculator's $0.05862" in text
    assert "uncached input" in text and "cached input" in text
    # Every assumption is on the page, the warm system prompt among them.
    assert "already cached on turn 1" in text
    assert "served only this run for its duration" in text


def test_the_calculator_takes_the_runs_shape_and_the_cold_system_prompt(
    open_page: OpenPage,
) -> None:
    make_session_run(Store())
    at = open_page("cost", {"session_run": "sess1"})
    next(b for b in at.button if b.label == "Set the calculator to this run's shape").click().run()
    assert at.number_input(key="turns").value == 3
    assert at.number_input(key="asst_tokens").value == 100
    assert at.number_input(key="user_tokens").value == 200  # growth 300 per turn - 100 answer
    assert at.number_input(key="sys_tokens").value == 800
    warm = metric(at, "Session cost, with caching")
    at.checkbox(key="sys_warm").uncheck().run()
    cold = metric(at, "Session cost, with caching")
    assert float(cold.strip("$")) > float(warm.strip("$"))
    text = " ".join(m.value for m in at.markdown)
    assert "not cached on turn 1" in text


def test_no_session_runs_says_how_to_make_one(open_page: OpenPage) -> None:
    at = open_page("cost")
    assert not at.exception
    captions = " ".join(c.value for c in at.caption)
    assert "No stored session runs yet" in captions


def test_a_link_to_a_run_without_sessions_is_pointed_out(open_page: OpenPage) -> None:
    at = open_page("cost", {"session_run": "nope"})
    assert not at.exception
    assert any("names no stored session run" in w.value for w in at.warning)
