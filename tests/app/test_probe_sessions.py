"""The Probe page's multi-turn sessions mode and the simulator's prefix cache."""

from __future__ import annotations

from pathlib import Path

from inferlab.dashboard.jobs import get_manager
from inferlab.metrics.sessions import summarize_sessions
from inferlab.store import Store
from tests.app.conftest import OpenPage, launch, link_query, metric, wait_done


def test_sessions_mode_runs_conversations_on_the_cached_simulator(
    open_page: OpenPage, isolated_db: Path
) -> None:
    at = open_page("probe", {"load_mode": "Multi-turn sessions"})
    assert not at.exception and not at.error
    at.number_input(key="sim_ttft_ms").set_value(5.0)
    at.number_input(key="sim_tpot_ms").set_value(0.5)
    at.number_input(key="sim_prefill_ms").set_value(200.0)
    at.checkbox(key="sim_prefix_cache").check()
    at.number_input(key="sessions").set_value(3)
    at.number_input(key="turns").set_value(4)
    at.number_input(key="system_prompt_tokens").set_value(800)
    at.number_input(key="max_tokens").set_value(12)
    at.run()
    assert not any(n.key == "requests" for n in at.number_input)  # sessions set the count
    launch(at)
    assert not at.exception and not at.error
    (job,) = get_manager().jobs()
    assert job.cfg.load_mode == "sessions" and job.cfg.sessions == 3 and job.cfg.turns == 4
    at = wait_done(at)
    assert metric(at, "Done") == "12" and metric(at, "Failed") == "0"
    records = Store(isolated_db).records(job.run_id)
    block = summarize_sessions(records, turns=4)
    assert block is not None and block.count == 3 and block.completed == 3
    ttft = [t for t in block.ttft_ms_by_turn if t is not None]
    assert ttft[0] > max(ttft[1:])  # the prefix cache skips the history's prefill
    assert all(c and c > 0 for c in block.cached_tokens_by_turn[1:])
    query = link_query(at)
    assert query["load_mode"] == "Multi-turn sessions"
    assert query["sessions"] == "3" and query["turns"] == "4"
    assert "requests" not in query
