"""Scheduling: request counts, warm-up, open-loop arrivals, sweeps, cancellation, pool size."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import statistics
import threading
from typing import Any

import pytest

from inferlab.probe import (
    MemorySink,
    ProbeConfig,
    ProgressUpdate,
    run_probe,
    run_probe_sync,
    run_sweep,
)
from inferlab.probe.schedule import arrival_offsets_s
from inferlab.records import RunInfo
from tests.unit.probe_server import Request, ScriptedServer, sse_head, sse_stream


class Counting:
    """A server that tracks how many requests are open at once; optionally holds
    each until `release_at` are open together."""

    def __init__(self, hold_s: float = 0.0, release_at: int | None = None) -> None:
        self.active = self.peak = self.served = 0
        self.hold_s = hold_s
        self.release_at = release_at
        self.gate = asyncio.Event()

    async def __call__(self, req: Request, w: asyncio.StreamWriter) -> None:
        self.served += 1
        self.active += 1
        self.peak = max(self.peak, self.active)
        if self.release_at is not None:
            if self.active >= self.release_at:
                self.gate.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.gate.wait(), 10)
        elif self.hold_s:
            await asyncio.sleep(self.hold_s)
        for part in [sse_head(), *sse_stream(["x", "y"], usage={"completion_tokens": 2})]:
            w.write(part)
        await w.drain()
        self.active -= 1


def cfg_for(url: str, **kw: Any) -> ProbeConfig:
    return ProbeConfig(url=url, model="m", timeout_s=15, **kw)


def test_constant_arrivals_are_evenly_spaced() -> None:
    got = list(itertools.islice(arrival_offsets_s("constant", 4.0), 5))
    assert got == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_poisson_arrivals_are_seeded_with_the_right_mean_gap() -> None:
    a = list(itertools.islice(arrival_offsets_s("poisson", 10.0, seed=7), 20_000))
    b = list(itertools.islice(arrival_offsets_s("poisson", 10.0, seed=7), 20_000))
    c = list(itertools.islice(arrival_offsets_s("poisson", 10.0, seed=8), 20_000))
    assert a == b and a != c
    gaps = [y - x for x, y in itertools.pairwise(a)]
    assert statistics.mean(gaps) == pytest.approx(0.1, rel=0.03)
    # Exponential gaps: the standard deviation equals the mean.
    assert statistics.stdev(gaps) == pytest.approx(0.1, rel=0.05)


def test_bad_schedule_arguments_raise() -> None:
    with pytest.raises(ValueError):
        arrival_offsets_s("poisson", 0.0)
    with pytest.raises(ValueError):
        arrival_offsets_s("bursty", 1.0)


def test_concurrency_mode_sends_exactly_the_count_with_warmup_first() -> None:
    server = Counting(hold_s=0.02)
    with ScriptedServer(server) as srv:
        sink = MemorySink()
        result = asyncio.run(
            run_probe(cfg_for(srv.base_url, concurrency=3, requests=10, warmup=4), sink)
        )
    assert result.status == "completed" and sink.status == "completed"
    assert (result.completed, result.failed, result.warmup) == (10, 0, 4)
    assert len(sink.records) == 14
    assert sorted(r.index for r in sink.records) == list(range(14))
    assert {r.index for r in sink.records if r.warmup} == {0, 1, 2, 3}
    assert len(sink.measured) == 10 and all(r.ok for r in sink.records)
    assert server.peak == 3
    assert all(r.sent_ms >= r.scheduled_ms for r in sink.records)
    ids = {r.headers["x-request-id"] for r in srv.requests}
    assert len(ids) == 14 and all(i.startswith(result.info.run_id) for i in ids)


def test_pool_is_not_capped_at_httpx_default_of_100() -> None:
    server = Counting(release_at=150)
    with ScriptedServer(server) as srv:
        sink = MemorySink()
        asyncio.run(run_probe(cfg_for(srv.base_url, concurrency=150, requests=150), sink))
    assert server.peak == 150
    assert sum(r.ok for r in sink.records) == 150


def test_rate_mode_follows_the_seeded_schedule_and_stops_at_the_duration() -> None:
    with ScriptedServer(Counting()) as srv:
        sink = MemorySink()
        cfg = cfg_for(
            srv.base_url, load_mode="constant", rate_rps=20.0, requests=None, duration_s=0.3
        )
        result = asyncio.run(run_probe(cfg, sink))
    # Offsets 0, 50, ..., 250 ms fall inside 0.3 s: exactly six sends.
    assert result.completed == 6
    sched = sorted(r.scheduled_ms for r in sink.records)
    gaps = [b - a for a, b in itertools.pairwise(sched)]
    assert gaps == pytest.approx([50.0] * 5, abs=1e-6)


def test_poisson_mode_scheduled_times_match_the_seed() -> None:
    with ScriptedServer(Counting()) as srv:
        sink = MemorySink()
        cfg = cfg_for(srv.base_url, load_mode="poisson", rate_rps=200.0, requests=8, seed=3)
        asyncio.run(run_probe(cfg, sink))
    sched = sorted(r.scheduled_ms for r in sink.records)
    expected = list(itertools.islice(arrival_offsets_s("poisson", 200.0, seed=3), 8))
    rel = [s - sched[0] for s in sched]
    assert rel == pytest.approx([e * 1000 for e in expected], abs=1e-3)


def test_rate_mode_concurrency_cap_queues_on_the_client() -> None:
    server = Counting(hold_s=0.05)
    with ScriptedServer(server) as srv:
        sink = MemorySink()
        cfg = cfg_for(
            srv.base_url, load_mode="constant", rate_rps=1000.0, concurrency=2, requests=6
        )
        asyncio.run(run_probe(cfg, sink))
    assert server.peak == 2
    # Requests beyond the cap waited on the client: that is client queue time.
    assert max(r.client_queue_ms for r in sink.records) > 0


def test_sweep_runs_one_grouped_run_per_step() -> None:
    sinks: dict[str, MemorySink] = {}
    infos: list[RunInfo] = []

    def open_sink(info: RunInfo) -> MemorySink:
        infos.append(info)
        sinks[info.run_id] = MemorySink()
        return sinks[info.run_id]

    with ScriptedServer(Counting()) as srv:
        results = asyncio.run(run_sweep(cfg_for(srv.base_url, requests=4), [1, 2, 4], open_sink))
    assert [r.info.load_value for r in results] == [1.0, 2.0, 4.0]
    assert len({i.group_id for i in infos}) == 1 and infos[0].group_id is not None
    assert len({i.run_id for i in infos}) == 3
    assert [i.settings["sweep_step"] for i in infos] == [0, 1, 2]
    assert all(len(s.records) == 4 and s.status == "completed" for s in sinks.values())


def test_rate_sweep_sets_the_rate_per_step() -> None:
    infos: list[RunInfo] = []

    def open_sink(info: RunInfo) -> MemorySink:
        infos.append(info)
        return MemorySink()

    with ScriptedServer(Counting()) as srv:
        cfg = cfg_for(srv.base_url, load_mode="poisson", rate_rps=1.0, requests=3)
        asyncio.run(run_sweep(cfg, [50, 100], open_sink))
    assert [(i.load_mode, i.load_value) for i in infos] == [("poisson", 50.0), ("poisson", 100.0)]


def test_cancel_keeps_completed_requests_and_marks_the_run_cancelled() -> None:
    updates: list[ProgressUpdate] = []
    cancel = threading.Event()
    sink = MemorySink()

    def progress(u: ProgressUpdate) -> None:
        updates.append(u)
        if u.done >= 3:
            cancel.set()

    with ScriptedServer(Counting(hold_s=0.05)) as srv:
        # The sync helper, as the dashboard's thread would call it.
        result = run_probe_sync(
            cfg_for(srv.base_url, concurrency=2, requests=10_000),
            sink,
            progress=progress,
            cancel=cancel,
        )
    assert result.status == "cancelled" and sink.status == "cancelled"
    assert 3 <= len(sink.records) < 10_000
    assert all(r.ok for r in sink.records)  # nothing half-done was recorded
    assert updates[-1].phase == "finished"
    assert updates[-1].ttft_p50_ms is not None


def test_broken_progress_callback_does_not_stop_the_run() -> None:
    def broken(u: ProgressUpdate) -> None:
        raise RuntimeError("display gone")

    with ScriptedServer(Counting(hold_s=0.3)) as srv:
        sink = MemorySink()
        result = asyncio.run(run_probe(cfg_for(srv.base_url, requests=2), sink, progress=broken))
    assert result.status == "completed" and len(sink.records) == 2


def test_a_failing_sink_stops_the_run_and_closes_it_interrupted() -> None:
    from inferlab.probe import SinkError

    class DiskFull(MemorySink):
        def add(self, record: Any) -> None:
            raise OSError("No space left on device")

    sink = DiskFull()
    server = Counting()
    with ScriptedServer(server) as srv, pytest.raises(SinkError, match="No space left"):
        asyncio.run(run_probe(cfg_for(srv.base_url, requests=100_000), sink))
    # What was saved before the disk filled stays, marked as cut short.
    assert sink.status == "interrupted"
    assert server.served < 1000  # stopped at the first refused record, not after 100,000


def test_a_sink_that_fails_to_close_is_reported() -> None:
    from inferlab.probe import SinkError

    class BrokenClose(MemorySink):
        def close(self, status: Any) -> None:
            raise RuntimeError("catalog error")

    with ScriptedServer(Counting()) as srv, pytest.raises(SinkError, match="catalog error"):
        asyncio.run(run_probe(cfg_for(srv.base_url, requests=1), BrokenClose()))
