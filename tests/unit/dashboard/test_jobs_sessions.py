"""Per-visitor limits on a dashboard session probe."""

from __future__ import annotations

import pytest

from inferlab.dashboard.jobs import JobError, JobManager
from inferlab.netpolicy import Limits, NetPolicy
from inferlab.probe import ProbeConfig

URL = "http://127.0.0.1:1/v1"


def sessions(**kw: object) -> ProbeConfig:
    base: dict[str, object] = {"load_mode": "sessions", "sessions": 4, "turns": 5}
    return ProbeConfig(url=URL, model="m", **{**base, **kw})  # type: ignore[arg-type]


def test_session_runs_are_held_to_the_visitor_limits() -> None:
    manager = JobManager(sim_process=False, job_process=False)
    tight = NetPolicy(limits=Limits(max_concurrency=4, max_requests=10, max_duration_s=30))
    with pytest.raises(JobError, match="8 sessions is above"):
        manager.apply_limits(sessions(sessions=8), tight)
    with pytest.raises(JobError, match="4 sessions x 5 turns is 20 requests"):
        manager.apply_limits(sessions(), tight)
    with pytest.raises(JobError, match="duration of 60 s"):
        manager.apply_limits(sessions(turns=2, duration_s=60.0), tight)
    ok = manager.apply_limits(sessions(turns=2), tight)
    # Think times could make it run for ever: the dashboard's time limit ends it.
    assert ok.requests is None and ok.duration_s == 30.0


def test_session_settings_errors_use_the_forms_words() -> None:
    from inferlab.dashboard.jobs import ui_message

    msg = ui_message("--sessions needs --api chat (a conversation is chat messages)")
    assert msg == "Sessions needs the Chat completions API style (a conversation is chat messages)"
