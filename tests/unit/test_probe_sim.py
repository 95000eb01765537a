"""The probe against the simulated endpoint: chunking, token counts, injected faults, truth."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from inferlab.probe import MemorySink, ProbeConfig, ProbeResult, run_probe
from inferlab.sim import FAULT_HEADER, SimConfig, SimServer

EARLY_NS = 1_000_000


@pytest.fixture(scope="module")
def sim() -> Iterator[SimServer]:
    cfg = SimConfig(ttft_ms=5, tpot_ms=1, role_first_chunk=True, tokens_per_chunk=4)
    with SimServer(cfg) as s:
        yield s


def run(sim: SimServer, **kw: Any) -> tuple[ProbeResult, MemorySink]:
    cfg = ProbeConfig(url=sim.base_url, model="inferlab-sim", timeout_s=10, **kw)
    sink = MemorySink()
    return asyncio.run(run_probe(cfg, sink)), sink


def test_role_chunk_skipped_and_multi_token_chunks_counted_by_usage(sim: SimServer) -> None:
    sim.clear_truth()
    result, sink = run(sim, requests=4, concurrency=2, max_tokens=17)
    truth = {t.client_request_id: t for t in sim.truth()}
    for rec in sink.records:
        assert rec.ok, rec.error_message
        # First token alone, then 4 per chunk: 1 + 16/4 = 5 content chunks.
        assert len(rec.chunk_offsets_ms) == 5
        assert rec.output_tokens == 17 and rec.token_count_source == "usage"
        assert rec.input_tokens is not None and rec.input_tokens > 0
        t = truth[f"{result.info.run_id}-{rec.index}"]
        assert t.role_chunk_sent_ns is not None and len(t.chunk_sent_ns) == 5
        sent_ns = result.anchor_ns + rec.sent_ms * 1e6
        # Same clock: the sim got the request after we sent it, and no chunk arrived
        # here before the sim's deadline for it (the sim aims 0.5 ms early and stamps
        # its own writes only after handing them to the socket, so allow 1 ms).
        assert t.arrival_ns >= sent_ns - 1_000
        for due_ns, offset_ms in zip(t.chunk_deadline_ns, rec.chunk_offsets_ms, strict=True):
            assert sent_ns + offset_ms * 1e6 >= due_ns - EARLY_NS
        # The role chunk (sent at once) never set TTFT (the first content is due 5 ms later).
        assert rec.ttft_ms is not None
        assert sent_ns + rec.ttft_ms * 1e6 >= t.chunk_deadline_ns[0] - EARLY_NS


def test_completions_api(sim: SimServer) -> None:
    _, sink = run(sim, requests=2, api="completions", max_tokens=9)
    assert all(r.ok and r.output_tokens == 9 for r in sink.records)


@pytest.mark.parametrize(
    ("fault", "error_class"),
    [
        ("500", "http_500"),
        ("429", "http_429"),
        ("disconnect", "disconnected"),
        ("truncate", "incomplete_stream"),
        ("malformed", "invalid_json"),
    ],
)
def test_injected_faults_become_failed_requests(
    sim: SimServer, fault: str, error_class: str
) -> None:
    result, sink = run(sim, requests=3, max_tokens=8, headers={FAULT_HEADER: fault})
    assert result.status == "completed" and result.failed == 3
    assert {r.error_class for r in sink.records} == {error_class}
    if fault == "429":
        assert "Retry-After" in (sink.records[0].error_message or "")


def test_fault_percentages_give_a_partial_error_rate() -> None:
    cfg = SimConfig(ttft_ms=1, tpot_ms=0, error_500_pct=30, disconnect_pct=20, seed=4)
    with SimServer(cfg) as s:
        result, sink = run(s, requests=40, concurrency=4, max_tokens=4)
    assert result.completed == 40
    classes = {r.error_class for r in sink.records if not r.ok}
    assert classes == {"http_500", "disconnected"}
    assert 0 < result.failed < 40


def test_a_run_reports_what_its_own_client_cost(sim: SimServer) -> None:
    result, sink = run(sim, concurrency=4, requests=12, max_tokens=8, warmup=2)
    facts = result.validity
    assert facts is not None and sink.validity == facts  # handed to the sink before close
    assert facts.target_concurrency == 4 and facts.kernel_stamps is True
    assert facts.client_cpu_pct is not None and facts.client_cpu_pct >= 0
    assert facts.dispatch_lag_p50_ms is not None and facts.dispatch_lag_p99_ms is not None
    # The 4 slots' connections were opened before the clock and reused: the first
    # request on each reports its set-up, the rest none (and none is inside TTFT).
    setups = [r.connect_ms for r in sink.records if r.connect_ms is not None]
    assert len(setups) == 4 and facts.connections_opened == len(
        [r for r in sink.records if not r.warmup and r.connect_ms is not None]
    )
    assert all(r.ok for r in sink.records)


def test_the_request_is_timed_from_its_write_not_from_the_pool_wait(sim: SimServer) -> None:
    sim.clear_truth()
    result, sink = run(sim, concurrency=2, requests=6, max_tokens=4)
    truth = {t.client_request_id: t for t in sim.truth()}
    for rec in sink.records:
        t = truth[f"{result.info.run_id}-{rec.index}"]
        sent_ns = result.anchor_ns + rec.sent_ms * 1e6
        # The send stamp is taken just before the request's bytes go out: the sim can
        # only see the request after it, and the client's TTFT is never below the sim's.
        assert t.arrival_ns >= sent_ns - 1_000
        assert rec.ttft_ms is not None and t.ttft_ns is not None
        assert rec.ttft_ms * 1e6 >= t.ttft_ns - 1_000
