"""A dashboard probe job on the Ray engine (its own process starts a local Ray)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("ray")

from inferlab.dashboard.jobs import JobManager, dashboard_sim_config
from inferlab.netpolicy import NetPolicy
from inferlab.probe import ProbeConfig
from inferlab.store import Store

pytestmark = pytest.mark.distributed


@pytest.fixture
def manager() -> Iterator[JobManager]:
    m = JobManager(sim_process=False)
    yield m
    m.shutdown()


def test_a_job_with_ray_workers_is_an_ordinary_run(manager: JobManager, isolated_db: Path) -> None:
    url = manager.sim_url(dashboard_sim_config(ttft_ms=5, tpot_ms=1))
    cfg = ProbeConfig(url=url, model="inferlab-sim", concurrency=4, requests=24, max_tokens=8)
    job = manager.start(cfg, policy=NetPolicy(), ray_workers=2)
    assert job.wait(120)
    snap = job.snapshot()
    assert (snap.state, snap.done, snap.failed) == ("completed", 24, 0), snap
    store = Store(isolated_db)
    run = store.get_run(job.run_id)
    assert run is not None and run.settings["engine"] == "ray" and run.settings["workers"] == 2
    assert sorted(r.index for r in store.records(job.run_id)) == list(range(24))
