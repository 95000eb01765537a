"""Quality probes as dashboard jobs: in the background, with progress, cancel, limits and caps."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from inferlab.dashboard.jobs import JobError, JobManager
from inferlab.dashboard.quality import QualityProbeForm, start_quality_probe
from inferlab.netpolicy import Limits, NetPolicy
from inferlab.probe import ProbeConfig
from inferlab.probe.quality import EvalItem, QualityProbeConfig
from inferlab.store import Store
from inferlab.store.quality import QualityStore
from tests.unit.probe_server import Request, ScriptedServer, sse_head, sse_stream

OPEN = NetPolicy()
ITEMS = tuple(EvalItem(f"q{i}", f"What is {i} + 1?", str(i + 1)) for i in range(3))


@pytest.fixture
def manager() -> Iterator[JobManager]:
    m = JobManager(sim_process=False, job_process=False)
    yield m
    m.shutdown()


@pytest.fixture(params=[False, True], ids=["thread", "process"])
def any_manager(request: pytest.FixtureRequest) -> Iterator[JobManager]:
    """A manager running jobs in threads (tests' default) or, as the dashboard does, processes."""
    m = JobManager(sim_process=False, job_process=request.param)
    yield m
    m.shutdown()


class HeldServer:
    """An OpenAI-style endpoint that answers correctly, holding answers while `hold` is set."""

    def __init__(self, answer_first: int = 0) -> None:
        self.hold = threading.Event()
        self.hold.set()
        self.answer_first = answer_first  # answered at once before holding starts
        self.received = threading.Semaphore(0)
        self.count = 0

    async def handler(self, request: Request, writer: asyncio.StreamWriter) -> None:
        prompt = request.json()["messages"][-1]["content"]
        self.count += 1
        self.received.release()
        if self.count > self.answer_first:
            while self.hold.is_set():
                await asyncio.sleep(0.01)
        answer = next((i.reference for i in ITEMS if i.prompt == prompt), "?")
        writer.write(sse_head())
        for part in sse_stream([answer], usage={"completion_tokens": 1}):
            writer.write(part)
        await writer.drain()


def qcfg(url: str, **kw: Any) -> QualityProbeConfig:
    base: dict[str, Any] = {"repeats": 1, "temperatures": (0.0,), "concurrency": 1}
    base.update(kw)
    return QualityProbeConfig(url, "m", "tiny", ITEMS, **base)


def wait_until(cond: Any, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def test_a_quality_job_runs_in_the_background_and_saves_its_scores(
    any_manager: JobManager, isolated_db: Path
) -> None:
    server = HeldServer()
    with ScriptedServer(server.handler) as srv:
        job = any_manager.start_quality(
            qcfg(srv.base_url, temperatures=(0.0, 1.0)), policy=OPEN, check_endpoint=False
        )
        assert server.received.acquire(timeout=30)  # the first request is at the server
        snap = job.snapshot()
        assert job.active and snap.active and snap.state == "running"
        assert snap.text == "Starting…" and snap.fraction == 0.0
        assert snap.total_requests == 6 and snap.group_id is not None
        assert any_manager.quality_jobs() == [job] and any_manager.get_quality(job.job_id) is job
        # In process mode the answers are scored in the job's own process, not this one.
        assert (job.worker_pid not in (None, os.getpid())) == any_manager.job_process
        server.hold.clear()
        assert job.wait(30)
    snap = job.snapshot()
    assert snap.state == "completed" and snap.error is None
    assert job.cfg.pins is not None  # only the address the policy checked was contacted
    assert snap.text == "Done: 6 requests." and snap.fraction == 1.0
    assert len(snap.run_ids) == 2
    qstore = QualityStore(Store(isolated_db))
    scores = qstore.scores()
    assert sorted(scores["run_id"]) == sorted(snap.run_ids)
    assert set(scores["group_id"]) == {snap.group_id}
    assert all(qstore.exact_match_pct(r) == pytest.approx(100.0) for r in snap.run_ids)


def test_cancel_stops_sending_and_keeps_the_answers_so_far(
    any_manager: JobManager, isolated_db: Path
) -> None:
    server = HeldServer(answer_first=1)
    with ScriptedServer(server.handler) as srv:
        job = any_manager.start_quality(qcfg(srv.base_url), policy=OPEN, check_endpoint=False)
        wait_until(lambda: job.snapshot().done == 1)
        assert server.received.acquire(timeout=30) and server.received.acquire(timeout=30)
        snap = job.snapshot()
        assert snap.text == "T = 0: 1/3 answers, 0 errors"
        job.cancel()
        server.hold.clear()  # the request in flight completes; no further one is sent
        assert job.wait(30)
    snap = job.snapshot()
    assert snap.state == "cancelled" and snap.text == "Cancelled after 2 of 3 requests."
    assert server.count == 2
    (run_id,) = snap.run_ids
    assert len(QualityStore(Store(isolated_db)).outputs(run_id)) == 2
    assert Store(isolated_db).run_status(run_id) == "cancelled"


def test_the_dashboards_limits_apply_to_quality_probes(manager: JobManager) -> None:
    tight = NetPolicy(limits=Limits(max_requests=5, max_concurrency=2))
    with pytest.raises(JobError, match="would send 6 requests at concurrency 1"):
        manager.start_quality(
            qcfg("http://127.0.0.1:9/v1", repeats=2), policy=tight, check_endpoint=False
        )
    with pytest.raises(JobError, match="allows 5 requests and concurrency 2"):
        manager.start_quality(
            qcfg("http://127.0.0.1:9/v1", concurrency=3), policy=tight, check_endpoint=False
        )
    with pytest.raises(JobError, match="never contacts"):
        manager.start_quality(qcfg("http://169.254.169.254/v1"), policy=OPEN)
    allow = NetPolicy(allowed=("http://10.1.2.3:8000",))
    with pytest.raises(JobError, match="not"):
        manager.start_quality(qcfg("http://127.0.0.1:9/v1"), policy=allow)
    assert manager.quality_jobs() == []


def test_quality_and_probe_jobs_share_the_cap_on_running_jobs(
    manager: JobManager, isolated_db: Path
) -> None:
    one = NetPolicy(limits=Limits(max_running_jobs=1))
    server = HeldServer()
    with ScriptedServer(server.handler) as srv:
        job = manager.start_quality(
            qcfg(srv.base_url), session_id="s1", policy=one, check_endpoint=False
        )
        assert server.received.acquire(timeout=30)
        with pytest.raises(JobError, match="1 probes of yours are still running"):
            manager.start_quality(
                qcfg(srv.base_url), session_id="s1", policy=one, check_endpoint=False
            )
        probe = ProbeConfig(url=srv.base_url, model="m", requests=1)
        with pytest.raises(JobError, match="still running"):
            manager.start(probe, session_id="s1", policy=one, check_endpoint=False)
        server.hold.clear()
        assert job.wait(30)
    assert len(manager.quality_jobs(session_id="s1")) == 1
    assert manager.quality_jobs(session_id="other") == []
    manager.clear()
    assert manager.quality_jobs() == []


def test_an_unreachable_endpoint_is_refused_before_a_job_starts(manager: JobManager) -> None:
    with pytest.raises(JobError, match=r"The endpoint cannot be probed: .*connection refused"):
        manager.start_quality(qcfg("http://127.0.0.1:1/v1"), policy=OPEN)
    assert manager.quality_jobs() == []


def test_the_key_is_dropped_from_memory_when_the_job_ends(
    manager: JobManager, isolated_db: Path
) -> None:
    server = HeldServer()
    server.hold.clear()
    with ScriptedServer(server.handler) as srv:
        job = manager.start_quality(
            qcfg(srv.base_url, api_key="sk-secret-123"), policy=OPEN, check_endpoint=False
        )
        assert job.wait(30)
        assert srv.requests[0].headers["authorization"] == "Bearer sk-secret-123"
    assert job.cfg.api_key is None
    (run_id,) = job.snapshot().run_ids
    info = Store(isolated_db).get_run(run_id)
    assert info is not None and info.settings["authenticated"] is True
    assert "sk-secret-123" not in repr(info)


def form(**kw: Any) -> QualityProbeForm:
    base: dict[str, Any] = {
        "target": "sim",
        "eval_set": "units",
        "eval_path": None,
        "temperatures": "0",
        "repeats": 1,
        "concurrency": 4,
        "max_tokens": 8,
        "sim_accuracy_pct": 100.0,
        "sim_determinism_pct": 100.0,
    }
    base.update(kw)
    return QualityProbeForm(**base)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"temperatures": "hot"}, "Temperatures: 'hot' is not a number"),
        ({"eval_path": Path("/nonexistent/set.jsonl")}, "Evaluation set: "),
        ({"target": "url", "url": " ", "model": "m"}, "Type the endpoint's API root URL"),
        (
            {"target": "url", "url": "http://127.0.0.1:1/v1", "model": "m", "key_source": "field"},
            "The API key field is empty",
        ),
    ],
)
def test_the_form_names_what_is_wrong(
    manager: JobManager, kw: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        start_quality_probe(manager, form(**kw), session_id="s", environ={}, secrets={})
    assert manager.quality_jobs() == []


def test_the_form_starts_the_simulator_in_answer_mode(
    manager: JobManager, isolated_db: Path
) -> None:
    from inferlab.probe.quality import list_eval_sets

    job = start_quality_probe(
        manager,
        form(eval_path=list_eval_sets()["units"]),
        session_id="s",
        environ={},
        secrets={},
    )
    assert job.wait(60)
    snap = job.snapshot()
    assert snap.state == "completed" and snap.total_requests == 15
    (run_id,) = snap.run_ids
    assert QualityStore(Store(isolated_db)).exact_match_pct(run_id) == pytest.approx(100.0)
    assert manager.sims.config_for(job.url) is not None  # the dashboard's own sim served it


def test_a_new_session_finds_the_running_quality_probe_only_when_probes_are_shared(
    manager: JobManager, isolated_db: Path
) -> None:
    from inferlab.dashboard.quality import shares_probes, shown_quality_job

    assert shown_quality_job(manager, None, shared=True) is None
    server = HeldServer()
    with ScriptedServer(server.handler) as srv:
        job = manager.start_quality(
            qcfg(srv.base_url), policy=OPEN, check_endpoint=False, session_id="browser-1"
        )
        assert shown_quality_job(manager, job.job_id) is job
        assert shown_quality_job(manager, None) is None  # another visitor: not theirs
        assert shown_quality_job(manager, None, visitor="browser-2") is None
        assert shown_quality_job(manager, None, visitor="browser-1") is job  # same browser
        assert shown_quality_job(manager, None, shared=True) is job  # a refreshed browser
        assert shown_quality_job(manager, "gone", shared=True) is job
        server.hold.clear()
        assert job.wait(30)
    assert shown_quality_job(manager, job.job_id) is job  # its own, finished, stays shown
    assert shown_quality_job(manager, None, shared=True) is None  # nobody else's finished one
    assert shares_probes({"inferlab": {"shared_probes": True}}) is True
    assert shares_probes({"inferlab": {"shared_probes": "perhaps"}}) is False
