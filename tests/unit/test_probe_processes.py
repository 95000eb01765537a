"""The probe in local worker processes (`--engine processes`): one run, one store.

Against the sim on 127.0.0.1; the workers are real spawned processes.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from inferlab.probe import MemorySink, ProbeConfig, ProgressUpdate, Sink, make_run_info
from inferlab.probe.engines.choice import choose, run_chosen
from inferlab.probe.engines.pool import LOST_ERROR_CLASS
from inferlab.probe.engines.processes import run_probe_processes
from inferlab.sim import SimConfig, SimServer
from inferlab.store import Store

ALIGN_NS = 1_000_000  # the workers' time zero is the parent's to within this (one host)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimServer]:
    with SimServer(SimConfig(ttft_ms=20, tpot_ms=2, max_batch=1024, truth_limit=5000)) as s:
        yield s


def cfg_for(sim: SimServer, **kw: Any) -> ProbeConfig:
    return ProbeConfig(url=sim.base_url, model="inferlab-sim", timeout_s=30, **kw)


def _workers_of(run_id: str) -> list[Any]:
    return [p for p in mp.active_children() if p.name.startswith(f"inferlab-probe:{run_id}:")]


def test_two_workers_make_one_ordinary_run(sim: SimServer, tmp_path: Path) -> None:
    sim.clear_truth()
    store = Store(tmp_path / "p.duckdb")
    cfg = cfg_for(sim, requests=96, concurrency=16, max_tokens=8)
    info = choose(make_run_info(cfg), "processes", 2)
    updates: list[ProgressUpdate] = []
    writer: Sink = store.run_writer(info)  # type: ignore[assignment]
    result = asyncio.run(
        run_chosen(cfg, writer, info=info, progress=updates.append, engine="processes", workers=2)
    )
    assert result.status == "completed" and result.completed == 96 and result.failed == 0
    records = store.records(info.run_id)
    assert sorted(r.index for r in records) == list(range(96))
    assert store.run_status(info.run_id) == "completed"
    run = store.get_run(info.run_id)
    assert run is not None and run.settings["engine"] == "processes"
    assert run.settings["workers"] == 2
    # The workers' client facts make the run's: shares add up, the engine is named.
    facts = store.validity(info.run_id).facts
    assert facts is not None and facts.engine == "processes" and facts.workers == 2
    assert facts.target_concurrency == 16 and facts.connections_opened >= 16
    assert updates[-1].phase == "finished" and updates[-1].done == 96
    assert result.worker_cpu_s is not None and result.worker_cpu_s > 0
    # Measured in the workers against the sim's own log (same host, same monotonic clock).
    truth = {t.client_request_id: t for t in sim.truth()}
    for rec in records:
        t = truth[f"{info.run_id}-{rec.index}"]
        sent_ns = result.anchor_ns + rec.sent_ms * 1e6
        assert t.arrival_ns >= sent_ns - ALIGN_NS
        assert rec.ttft_ms is not None
        assert sent_ns + rec.ttft_ms * 1e6 >= t.chunk_sent_ns[0] - ALIGN_NS
    assert not _workers_of(info.run_id)  # all ended with the run


def test_the_parent_scrapes_the_servers_metrics_once(sim: SimServer) -> None:
    cfg = cfg_for(sim, requests=16, concurrency=4, max_tokens=4)
    sink = MemorySink()
    result = asyncio.run(run_probe_processes(cfg, sink, workers=2))
    assert result.status == "completed"
    # baseline and final scrape at least, from one scraper (the workers have none)
    assert len(result.scrapes) >= 2 and len(sink.scrapes) == len(result.scrapes)


def test_open_loop_workers_share_one_schedule(sim: SimServer) -> None:
    cfg = cfg_for(
        sim, load_mode="constant", concurrency=0, rate_rps=100.0, requests=30, max_tokens=2
    )
    sink = MemorySink()
    result = asyncio.run(run_probe_processes(cfg, sink, workers=2))
    assert result.status == "completed" and sink.status == "completed"
    by_index = {r.index: r for r in sink.records}
    assert sorted(by_index) == list(range(30))
    for i, rec in by_index.items():
        assert rec.scheduled_ms == pytest.approx(i * 10.0, abs=1e-3)
    assert result.validity is not None and result.validity.target_rps == pytest.approx(100.0)


def test_a_trace_is_split_over_workers_on_its_own_timestamps(
    sim: SimServer, tmp_path: Path
) -> None:
    trace = tmp_path / "t.jsonl"
    lines = [
        {"timestamp": 1000 + 40 * i, "input_length": 32, "output_length": 3} for i in range(20)
    ]
    trace.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    cfg = cfg_for(
        sim, load_mode="trace", trace_file=str(trace), trace_speed=2.0, concurrency=0,
        requests=None,
    )  # fmt: skip
    sink = MemorySink()
    result = asyncio.run(run_probe_processes(cfg, sink, workers=2))
    assert result.status == "completed"
    recs = sorted(sink.measured, key=lambda r: r.index)
    assert [r.index for r in recs] == list(range(20))
    assert all(r.ok and r.output_tokens == 3 for r in recs)
    for r in recs:  # one schedule (the trace's, at 2x) over both workers
        assert r.scheduled_ms == pytest.approx(recs[0].scheduled_ms + 20.0 * r.index, abs=1e-3)


def test_ramp_up_and_a_sweep_choose_per_step(sim: SimServer, tmp_path: Path) -> None:
    db = str(tmp_path / "sweep.duckdb")
    out = _cli(
        "probe", "--url", sim.base_url, "--model", "inferlab-sim", "--sweep", "4,65",
        "--requests", "65", "--max-tokens", "2", "--ramp-up", "0.2", "--db", db, "--json",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    steps = json.loads(out.stdout)
    assert [s["engine"]["name"] for s in steps] == ["local", "processes"]
    assert steps[1]["engine"]["workers"] == 2 and steps[1]["completed"] == 65


def test_cancel_stops_every_worker_and_keeps_completed(sim: SimServer) -> None:
    cfg = cfg_for(sim, requests=100_000, concurrency=8, max_tokens=4)
    sink = MemorySink()
    run_ids: list[str] = []

    async def go() -> Any:
        cancel = asyncio.Event()

        def progress(u: ProgressUpdate) -> None:
            run_ids.append(u.run_id)
            if u.done >= 20:
                cancel.set()

        return await run_probe_processes(cfg, sink, progress=progress, cancel=cancel, workers=2)

    result = asyncio.run(go())
    assert result.status == "cancelled" and sink.status == "cancelled"
    assert 20 <= len(sink.records) < 100_000
    assert all(r.ok for r in sink.records)
    assert {r.index % 2 for r in sink.records} == {0, 1}  # both workers worked
    assert not _workers_of(run_ids[-1])


def test_a_killed_worker_fails_its_in_flight_requests_and_the_run_goes_on() -> None:
    # Slow streams (about 2 s each), so requests are in flight when the worker dies.
    with SimServer(SimConfig(ttft_ms=50, tpot_ms=100)) as slow:
        cfg = cfg_for(slow, requests=16, concurrency=8, max_tokens=20)
        sink = MemorySink()
        killed: list[int] = []

        def progress(u: ProgressUpdate) -> None:
            if not killed and u.in_flight >= 8:
                (victim,) = [p for p in _workers_of(u.run_id) if p.name.endswith(":1")]
                assert victim.pid is not None
                killed.append(victim.pid)
                os.kill(victim.pid, signal.SIGKILL)

        result = asyncio.run(run_probe_processes(cfg, sink, progress=progress, workers=2))
    assert killed and result.status == "completed" and sink.status == "completed"
    lost = [r for r in sink.records if r.error_class == LOST_ERROR_CLASS]
    assert lost and all(r.index % 2 == 1 and not r.ok for r in lost)
    assert "worker process" in (lost[0].error_message or "")
    # The other worker finished its whole share.
    assert sorted(r.index for r in sink.records if r.index % 2 == 0) == list(range(0, 16, 2))


def test_sessions_are_split_by_user_and_keep_their_history(sim: SimServer) -> None:
    cfg = cfg_for(sim, load_mode="sessions", concurrency=0, sessions=4, turns=3, max_tokens=4)
    info = choose(make_run_info(cfg), "processes", 2)
    assert info.settings["engine"] == "processes" and info.settings["workers"] == 2
    sink = MemorySink()
    result = asyncio.run(run_chosen(cfg, sink, info=info, engine="processes", workers=2))
    assert result.status == "completed" and len(sink.records) == 12
    assert all(r.ok for r in sink.records)
    by_session: dict[str, list[int]] = {}
    for r in sink.records:
        assert r.session_id is not None and r.turn is not None
        by_session.setdefault(r.session_id, []).append(r.turn)
    # Every user had all its turns, in one worker or the other, under its own id.
    assert len(by_session) == 4 and all(sorted(t) == [1, 2, 3] for t in by_session.values())
    # A later turn re-sends the history: its prompt is longer than the first turn's.
    first = {r.session_id: r.input_tokens for r in sink.records if r.turn == 1}
    later = [r for r in sink.records if r.turn == 3]
    assert all((r.input_tokens or 0) > (first[r.session_id] or 0) for r in later)
    assert sink.validity is not None and sink.validity.engine == "processes"
    assert sink.validity.workers == 2


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "inferlab", *args],
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_cli_engine_processes_and_show_json_name_it(sim: SimServer, tmp_path: Path) -> None:
    db = str(tmp_path / "cli.duckdb")
    out = _cli(
        "probe", "--url", sim.base_url, "--model", "inferlab-sim", "--concurrency", "8",
        "--requests", "32", "--max-tokens", "4", "--engine", "processes", "--workers", "2",
        "--db", db, "--json",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    run = json.loads(out.stdout)
    assert run["completed"] == 32
    assert run["engine"] == {"name": "processes", "workers": 2, "note": None}
    assert run["validity"]["engine"]["name"] == "processes"
    shown = _cli("show", run["run_id"], "--db", db, "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["engine"]["workers"] == 2


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--workers", "0"], "--workers"),
        (["--engine", "local", "--workers", "2"], "--workers needs --engine processes"),
        (["--engine", "threads"], "--engine"),
    ],
)
def test_cli_bad_engine_flags_are_clear(extra: list[str], needle: str) -> None:
    out = _cli("probe", "--url", "http://127.0.0.1:1/v1", "--model", "m", *extra)
    assert out.returncode == 2 and needle in out.stderr, out.stderr
    assert "Traceback" not in out.stderr
