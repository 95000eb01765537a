"""A probe job's spawned process does not re-run the dashboard's main script (app.py)."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from inferlab.dashboard.jobs import JobManager, dashboard_sim_config
from inferlab.netpolicy import NetPolicy
from inferlab.probe import ProbeConfig


def test_spawned_job_does_not_run_the_main_script(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Stand-in for Streamlit's __main__ (app.py): spawn would re-run it in the child.
    marker = tmp_path / "main-ran"
    script = tmp_path / "fake_app.py"
    script.write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    fake = types.ModuleType("__main__")
    fake.__file__ = str(script)
    fake.__spec__ = None
    monkeypatch.setitem(sys.modules, "__main__", fake)
    manager = JobManager(sim_process=False)
    try:
        url = manager.sim_url(dashboard_sim_config(ttft_ms=5, tpot_ms=1))
        job = manager.start(
            ProbeConfig(url=url, model="inferlab-sim", concurrency=1, requests=2, max_tokens=4),
            policy=NetPolicy(),
            session_id="s",
        )
        assert job.process and job.wait(60)
        assert job.snapshot().state == "completed"
    finally:
        manager.shutdown()
    assert sys.modules["__main__"] is fake  # restored after the start
    assert not marker.exists(), "the job's process re-ran the main script"
