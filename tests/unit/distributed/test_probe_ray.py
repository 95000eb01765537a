"""The probe on local Ray actors (the `distributed` extra): one run, one store.

Ray starts once for the module (2 CPUs) and is shut down after it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ray = pytest.importorskip("ray")

from inferlab.probe import (  # noqa: E402
    MemorySink,
    ProbeConfig,
    ProgressUpdate,
    Sink,
    make_run_info,
)
from inferlab.probe.engines.ray import (  # noqa: E402
    LOST_ERROR_CLASS,
    actor_name,
    engine_info,
    ray_session,
    run_probe_ray,
)
from inferlab.sim import SimConfig, SimServer  # noqa: E402
from inferlab.store import Store  # noqa: E402

pytestmark = pytest.mark.distributed

ALIGN_NS = 1_000_000  # the actors' time zero is the driver's to within this (one host)


@pytest.fixture(scope="module")
def workers() -> Iterator[int]:
    with ray_session(None, 2) as n:
        yield n


@pytest.fixture(scope="module")
def sim() -> Iterator[SimServer]:
    with SimServer(SimConfig(ttft_ms=20, tpot_ms=2, max_batch=1024, truth_limit=5000)) as s:
        yield s


def cfg_for(sim: SimServer, **kw: Any) -> ProbeConfig:
    return ProbeConfig(url=sim.base_url, model="inferlab-sim", timeout_s=30, **kw)


def test_512_requests_at_c128_are_one_ordinary_run(
    workers: int, sim: SimServer, tmp_path: Path
) -> None:
    assert workers == 2
    sim.clear_truth()
    store = Store(tmp_path / "ray.duckdb")
    cfg = cfg_for(sim, requests=512, concurrency=128, max_tokens=8)
    info = engine_info(make_run_info(cfg), 2)
    updates: list[ProgressUpdate] = []
    writer: Sink = store.run_writer(info)  # type: ignore[assignment]
    result = asyncio.run(run_probe_ray(cfg, writer, info=info, progress=updates.append, workers=2))
    assert result.status == "completed" and result.completed == 512 and result.failed == 0
    # The client facts of both actors make the run's: their shares add up to the load.
    assert result.validity is not None and result.validity.target_concurrency == 128
    records = store.records(info.run_id)
    assert sorted(r.index for r in records) == list(range(512))
    assert store.run_status(info.run_id) == "completed"
    run = store.get_run(info.run_id)
    assert run is not None and run.settings["engine"] == "ray" and run.settings["workers"] == 2
    assert store.summary(info.run_id).completed == 512
    assert updates[-1].phase == "finished" and updates[-1].done == 512
    # Measured in the actors against the sim's own log (same host, same monotonic clock):
    # nothing arrived before the sim sent it, and the sim got each request after its send.
    truth = {t.client_request_id: t for t in sim.truth()}
    for rec in records:
        t = truth[f"{info.run_id}-{rec.index}"]
        sent_ns = result.anchor_ns + rec.sent_ms * 1e6
        assert t.arrival_ns >= sent_ns - ALIGN_NS
        assert rec.ttft_ms is not None
        assert sent_ns + rec.ttft_ms * 1e6 >= t.chunk_sent_ns[0] - ALIGN_NS


def test_open_loop_actors_share_one_schedule(workers: int, sim: SimServer) -> None:
    cfg = cfg_for(
        sim, load_mode="constant", concurrency=0, rate_rps=100.0, requests=30, max_tokens=2
    )
    sink = MemorySink()
    result = asyncio.run(run_probe_ray(cfg, sink, workers=workers))
    assert result.status == "completed" and sink.status == "completed"
    by_index = {r.index: r for r in sink.records}
    assert sorted(by_index) == list(range(30))
    for i, rec in by_index.items():
        assert rec.scheduled_ms == pytest.approx(i * 10.0, abs=1e-3)


def test_cancel_stops_every_actor_and_keeps_completed(workers: int, sim: SimServer) -> None:
    cfg = cfg_for(sim, requests=100_000, concurrency=8, max_tokens=4)
    sink = MemorySink()

    async def go() -> Any:
        cancel = asyncio.Event()

        def progress(u: ProgressUpdate) -> None:
            if u.done >= 20:
                cancel.set()

        return await run_probe_ray(cfg, sink, progress=progress, cancel=cancel, workers=workers)

    result = asyncio.run(go())
    assert result.status == "cancelled" and sink.status == "cancelled"
    assert 20 <= len(sink.records) < 100_000
    assert all(r.ok for r in sink.records)
    assert {r.index % 2 for r in sink.records} == {0, 1}  # both actors worked


def test_a_lost_actor_fails_its_in_flight_requests_and_the_run_goes_on(
    workers: int, tmp_path: Path
) -> None:
    # Slow streams (about 2 s each), so requests are in flight when the actor dies.
    with SimServer(SimConfig(ttft_ms=50, tpot_ms=100)) as slow:
        cfg = cfg_for(slow, requests=16, concurrency=8, max_tokens=20)
        sink = MemorySink()
        killed: list[str] = []

        def progress(u: ProgressUpdate) -> None:
            if not killed and u.in_flight >= 8:
                killed.append(u.run_id)
                ray.kill(ray.get_actor(actor_name(u.run_id, 1)))

        result = asyncio.run(run_probe_ray(cfg, sink, progress=progress, workers=workers))
    assert killed and result.status == "completed" and sink.status == "completed"
    lost = [r for r in sink.records if r.error_class == LOST_ERROR_CLASS]
    assert lost and all(r.index % 2 == 1 and not r.ok for r in lost)
    assert "Ray worker" in (lost[0].error_message or "")
    # The other actor finished its whole share.
    assert sorted(r.index for r in sink.records if r.index % 2 == 0) == list(range(0, 16, 2))
    assert all(r.ok for r in sink.records if r.index % 2 == 0)


def test_sessions_are_split_by_user_over_the_actors(workers: int, sim: SimServer) -> None:
    cfg = cfg_for(sim, load_mode="sessions", concurrency=0, sessions=4, turns=2, max_tokens=4)
    sink = MemorySink()
    info = engine_info(make_run_info(cfg), workers)
    result = asyncio.run(run_probe_ray(cfg, sink, info=info, workers=workers))
    assert result.status == "completed" and len(sink.records) == 8
    turns: dict[str, list[int]] = {}
    for r in sink.records:
        assert r.ok and r.session_id is not None and r.turn is not None
        turns.setdefault(r.session_id, []).append(r.turn)
    assert len(turns) == 4 and all(sorted(t) == [1, 2] for t in turns.values())
