"""The scraper inside real probes: the sim's /metrics, a server without one,
llama.cpp's per-response timings, and what the store keeps of them."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from inferlab.compare.server import compare_server
from inferlab.probe import MemorySink, ProbeConfig, run_probe
from inferlab.probe.config import ConfigError, make_run_info
from inferlab.records import RequestRecord, RunInfo
from inferlab.server import ClientTotals, Scrape, server_view
from inferlab.server.scraper import Scraper
from inferlab.sim import SimConfig, SimServer
from inferlab.store import Store
from tests.unit.probe_server import Request, ScriptedServer, chunk, sse_head


@pytest.fixture(scope="module")
def sim() -> Iterator[SimServer]:
    with SimServer(SimConfig(ttft_ms=5, tpot_ms=1, tokens_per_chunk=4)) as s:
        yield s


def writer_of(store: Store, info: RunInfo) -> Any:
    return store.run_writer(info)  # a Sink whose close() also reports success


def totals(records: list[RequestRecord]) -> ClientTotals:
    return ClientTotals(
        requests=len(records),
        completed=sum(r.ok for r in records),
        prompt_tokens=sum(r.input_tokens or 0 for r in records),
        output_tokens=sum(r.output_tokens or 0 for r in records),
    )


def test_a_probe_of_the_sim_scrapes_before_and_after_and_the_counts_match(sim: SimServer) -> None:
    cfg = ProbeConfig(
        url=sim.base_url, model="inferlab-sim", requests=6, concurrency=2, max_tokens=17,
        warmup=1, server_metrics_interval_s=0.2,
    )  # fmt: skip
    sink = MemorySink()
    before = sim.truth()
    result = asyncio.run(run_probe(cfg, sink))
    assert result.status == "completed"
    assert len(sink.scrapes) == len(result.scrapes) >= 2
    assert all(s.ok for s in result.scrapes), [s.error for s in result.scrapes]
    assert all(s.samples for s in sink.scrapes)  # the sink has the samples ...
    assert not any(s.samples for s in result.scrapes)  # ... the result only the times
    first_sent = min(r.sent_ms for r in sink.records)
    last_done = max(r.sent_ms + (r.e2e_ms or 0) for r in sink.records)
    assert result.scrapes[0].t_ms <= first_sent and result.scrapes[-1].t_ms >= last_done
    view = server_view(sink.scrapes[0].endpoint, sink.scrapes, totals(sink.records)).to_json()
    assert view["kind"] == "vllm"
    # The module's sim served only this run since its start... unless other tests ran first:
    served = len(sim.truth()) - len(before)
    assert view["requests_completed"] == served == 7
    assert view["generation_tokens"] == sum(r.output_tokens or 0 for r in sink.records) == 7 * 17
    assert view["prompt_tokens"] == sum(r.input_tokens or 0 for r in sink.records)
    assert view["ttft_ms"] is not None and view["queue_ms"] is not None
    assert view["other_traffic"] is False
    cmp = compare_server(sink.scrapes, sink.records)
    parts = [p.name for p in cmp.breakdown]
    assert parts == ["client dispatch lag", "server queue", "prefill", "rest"]


def test_a_server_without_metrics_records_why_and_the_probe_completes() -> None:
    body = [sse_head(), chunk(b'data: {"choices":[{"delta":{"content":"hi"}}]}\n\n')]
    body.append(chunk(b"data: [DONE]\n\n") + chunk(b""))

    async def handler(req: Request, w: asyncio.StreamWriter) -> None:
        for part in body:
            w.write(part)
        await w.drain()

    with ScriptedServer(handler) as srv:
        cfg = ProbeConfig(url=srv.base_url, model="m", requests=2, timeout_s=5)
        sink = MemorySink()
        result = asyncio.run(run_probe(cfg, sink))
        assert srv.metrics_requests  # it was asked
    assert result.status == "completed" and all(r.ok for r in sink.records)
    assert result.scrapes and not any(s.ok for s in result.scrapes)
    assert "HTTP 404" in (result.scrapes[0].error or "")
    assert "--metrics" in (result.scrapes[0].error or "")


def test_no_server_metrics_means_no_scrape(sim: SimServer) -> None:
    cfg = ProbeConfig(
        url=sim.base_url, model="inferlab-sim", requests=1, server_metrics_enabled=False
    )
    assert asyncio.run(run_probe(cfg, MemorySink())).scrapes == ()


def test_a_metadata_address_is_never_scraped(sim: SimServer) -> None:
    cfg = ProbeConfig(
        url=sim.base_url, model="inferlab-sim", requests=1,
        server_metrics=("http://169.254.169.254/metrics",),
    )  # fmt: skip
    scrapes = asyncio.run(run_probe(cfg, MemorySink())).scrapes
    assert len(scrapes) == 1 and not scrapes[0].ok
    assert "not scraped" in (scrapes[0].error or "")


def llama_stream() -> list[bytes]:
    timings = {
        "prompt_n": 12,
        "prompt_ms": 30.0,
        "predicted_n": 3,
        "predicted_ms": 60.0,
        "cache_n": 4,
    }
    events: list[dict[str, Any]] = [
        {"choices": [{"delta": {"content": w}}]} for w in ("a", "b", "c")
    ]
    events.append({"choices": [{"delta": {}, "finish_reason": "stop"}], "timings": timings})
    out = [sse_head()]
    out += [chunk(b"data: " + json.dumps(e).encode() + b"\n\n") for e in events]
    out.append(chunk(b"data: [DONE]\n\n") + chunk(b""))
    return out


def test_llamacpp_timings_are_kept_per_request_and_stored(isolated_db: Path) -> None:
    parts = llama_stream()

    async def handler(req: Request, w: asyncio.StreamWriter) -> None:
        for part in parts:
            w.write(part)
        await w.drain()

    store = Store(isolated_db)
    with ScriptedServer(handler) as srv:
        cfg = ProbeConfig(url=srv.base_url, model="m", requests=2, timeout_s=5)
        info = make_run_info(cfg)
        asyncio.run(run_probe(cfg, writer_of(store, info), info=info))
    frame = store.server_timings(info.run_id)
    assert list(frame["idx"]) == [0, 1]
    row = frame.iloc[0]
    assert (row["source"], row["prompt_ms"], row["prompt_tokens"]) == ("llamacpp", 30.0, 12)
    assert (row["decode_ms"], row["decode_tokens"], row["cached_tokens"]) == (60.0, 3, 4)
    scrapes = store.server_scrapes(info.run_id)
    assert scrapes and "HTTP 404" in (scrapes[0].error or "")


def test_the_store_keeps_every_scrape_and_sample(sim: SimServer, isolated_db: Path) -> None:
    store = Store(isolated_db)
    cfg = ProbeConfig(url=sim.base_url, model="inferlab-sim", requests=3, max_tokens=5)
    info = make_run_info(cfg)
    result = asyncio.run(run_probe(cfg, writer_of(store, info), info=info))
    kept = store.server_scrapes(info.run_id)
    assert [(s.endpoint, s.t_ms, s.ok) for s in kept] == [
        (s.endpoint, s.t_ms, s.ok) for s in result.scrapes
    ]
    assert all(s.samples for s in kept)
    records = store.records(info.run_id)
    view = server_view(kept[0].endpoint, kept, totals(records)).to_json()
    assert view["generation_tokens"] == sum(r.output_tokens or 0 for r in records) == 3 * 5
    store.delete_run(info.run_id)


def test_a_dashboard_job_saves_its_scrapes_and_refuses_what_the_policy_refuses(
    isolated_db: Path,
) -> None:
    from inferlab.dashboard.jobs import JobError, JobManager, dashboard_sim_config
    from inferlab.netpolicy import NetPolicy

    # The job in a thread: the same _job_main and child sink as a process, without a spawn
    # (a spawned child re-imports __main__, which an earlier AppTest.from_function replaces).
    manager = JobManager(sim_process=False, job_process=False)
    try:
        url = manager.sim_url(dashboard_sim_config(ttft_ms=5, tpot_ms=1))
        default = manager.sim_url(dashboard_sim_config(ttft_ms=5, tpot_ms=1)).rsplit("/v1", 1)[0]
        cfg = ProbeConfig(
            url=url, model="inferlab-sim", requests=3, max_tokens=4,
            server_metrics=(default + "/metrics", "http://10.1.2.3:9400/metrics"),
        )  # fmt: skip
        policy = NetPolicy(allowed=("api.example.com",))  # the sim is the dashboard's own
        # A metrics URL the policy refuses is refused at launch, like the endpoint.
        with pytest.raises(JobError, match=r"metrics URL http://10\.1\.2\.3:9400/metrics"):
            manager.start(cfg, policy=policy, db_path=isolated_db)
        cfg = replace(cfg, server_metrics=(default + "/metrics",))
        job = manager.start(cfg, policy=policy, db_path=isolated_db)
        assert job.wait(60) and job.snapshot().state == "completed"
    finally:
        manager.shutdown()
    scrapes = Store(isolated_db).server_scrapes(job.run_id)
    sim_scrapes = [s for s in scrapes if s.endpoint.startswith(default)]
    assert len(sim_scrapes) >= 2 and all(s.ok for s in sim_scrapes)
    assert {s.endpoint for s in scrapes} == {default + "/metrics"}


def test_a_metrics_url_with_a_password_is_refused_by_the_config_and_the_guard(
    sim: SimServer,
) -> None:
    root = sim.base_url.rsplit("/v1", 1)[0].replace("http://", "http://u:secret@")
    cfg = ProbeConfig(
        url=sim.base_url, model="inferlab-sim", requests=1, server_metrics=(root + "/metrics",)
    )
    with pytest.raises(ConfigError, match="user name or password") as caught:
        asyncio.run(run_probe(cfg, MemorySink()))
    assert "secret" not in str(caught.value)

    async def scrape_directly() -> list[Scrape]:  # past the config: the policy and the guard
        scraper = Scraper([root + "/metrics"], anchor_ns=time.perf_counter_ns())
        await scraper.start()
        return await scraper.stop()

    scrapes = asyncio.run(scrape_directly())
    assert scrapes and not any(s.ok for s in scrapes)  # refused by the policy check
    assert "user name or password" in (scrapes[0].error or "")
    assert all("secret" not in (s.error or "") + s.endpoint for s in scrapes)
