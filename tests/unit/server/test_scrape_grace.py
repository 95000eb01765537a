"""The scraper's grace after the last request: it waits (at most 2 intervals) until a
server whose counters lag has counted the probe's requests, and notes when it gave up."""

from __future__ import annotations

import asyncio
import time

from inferlab.probe import MemorySink, ProbeConfig, run_probe
from inferlab.server import ClientTotals, server_view
from inferlab.server.samples import is_note
from inferlab.server.scraper import GRACE_INTERVALS, Scraper, progress_of
from inferlab.sim import SimConfig, SimServer


def _totals(sink: MemorySink) -> ClientTotals:
    return ClientTotals(
        requests=len(sink.records),
        completed=sum(r.ok for r in sink.records),
        prompt_tokens=sum(r.input_tokens or 0 for r in sink.records),
        output_tokens=sum(r.output_tokens or 0 for r in sink.records),
    )


def _probe(url: str, interval_s: float, requests: int = 4) -> MemorySink:
    cfg = ProbeConfig(
        url=url, model="inferlab-sim", requests=requests, concurrency=2, max_tokens=8,
        server_metrics_interval_s=interval_s,
    )  # fmt: skip
    sink = MemorySink()
    result = asyncio.run(run_probe(cfg, sink))
    assert result.status == "completed"
    return sink


def test_the_grace_waits_for_a_lagging_success_counter() -> None:
    # The sim counts a request's success 300 ms after its last byte; the grace is
    # 2 x 0.25 s, so a scrape inside it sees every request counted.
    with SimServer(SimConfig(ttft_ms=2, tpot_ms=1, metrics_lag_ms=300)) as sim:
        sink = _probe(sim.base_url, 0.25)
    view = server_view(sink.scrapes[0].endpoint, sink.scrapes, _totals(sink))
    assert view.requests_completed == 4
    assert view.generation_tokens == 4 * 8
    assert not any(is_note(s) for s in sink.scrapes)
    assert not [n for n in view.notes if "grace" in n]


def test_the_grace_ends_at_once_when_the_counters_are_already_there() -> None:
    with SimServer(SimConfig(ttft_ms=2, tpot_ms=1)) as sim:
        sink = _probe(sim.base_url, 5.0, requests=2)  # a 10 s grace would show in the count
    # Baseline and last scrape only: no grace scrape was needed (no interval passed).
    assert len([s for s in sink.scrapes if s.ok]) == 2
    view = server_view(sink.scrapes[0].endpoint, sink.scrapes, _totals(sink))
    assert view.requests_completed == 2


def test_when_the_grace_runs_out_the_server_notes_say_so() -> None:
    with SimServer(SimConfig(ttft_ms=2, tpot_ms=1, metrics_lag_ms=60_000)) as sim:
        sink = _probe(sim.base_url, 0.1)
    notes = [s for s in sink.scrapes if is_note(s)]
    assert len(notes) == 1
    view = server_view(sink.scrapes[0].endpoint, sink.scrapes, _totals(sink))
    grace = [n for n in view.notes if "grace" in n]
    assert len(grace) == 1
    assert f"{GRACE_INTERVALS} intervals" in grace[0] and "0 of 4 requests" in grace[0]
    assert view.failed_scrapes == 0  # a note is not a failed scrape
    # Baseline, last, and one scrape per grace interval.
    assert len([s for s in sink.scrapes if s.ok]) >= 2 + GRACE_INTERVALS


def test_without_expectations_the_grace_lasts_until_the_counters_stop_changing() -> None:
    async def scrape(url: str) -> list[bool]:
        scraper = Scraper([url], anchor_ns=time.perf_counter_ns(), interval_s=0.05)
        await scraper.start()
        scrapes = await scraper.stop()
        return [s.ok for s in scrapes]

    with SimServer(SimConfig()) as sim:
        oks = asyncio.run(scrape(sim.base_url.rsplit("/v1", 1)[0] + "/metrics"))
    assert oks == [True, True, True]  # baseline, last, one grace scrape that changed nothing


def test_progress_reads_the_success_and_generation_counters() -> None:
    from inferlab.server.samples import parse_metrics_text

    text = (
        "# TYPE vllm:request_success counter\n"
        'vllm:request_success_total{finished_reason="stop"} 3\n'
        'vllm:request_success_total{finished_reason="length"} 2\n'
        "# TYPE vllm:generation_tokens counter\n"
        "vllm:generation_tokens_total 40\n"
    )
    assert progress_of(parse_metrics_text(text)) == (5.0, 40.0)
    assert progress_of(parse_metrics_text("# TYPE foo gauge\nfoo 1\n")) == (None, None)
