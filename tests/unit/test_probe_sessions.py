"""Sessions, trace replay and over-saturation against the real sim on loopback."""

from __future__ import annotations

import asyncio
import itertools
import json
from pathlib import Path
from typing import Any

import httpx

from inferlab.metrics.sessions import summarize_sessions
from inferlab.probe import MemorySink, ProbeConfig, ProgressUpdate, make_run_info, run_probe
from inferlab.probe.trace import load_trace, trace_offsets_s
from inferlab.sim import SimConfig, SimServer
from inferlab.store import Store


def probe(sim: SimServer, **kw: Any) -> tuple[Any, MemorySink]:
    cfg = ProbeConfig(url=sim.base_url, model="inferlab-sim", timeout_s=30, **kw)
    sink = MemorySink()
    return asyncio.run(run_probe(cfg, sink)), sink


def sessions_probe(sim: SimServer) -> tuple[Any, MemorySink]:
    return probe(
        sim,
        load_mode="sessions",
        sessions=4,
        turns=5,
        system_prompt_tokens=1000,
        user_tokens=50,
        max_tokens=40,
    )


def test_prefix_cached_sessions_show_ttft_falling_and_input_rising_by_turn() -> None:
    cfg = SimConfig(ttft_ms=20, tpot_ms=1, prefill_ms_per_1k_tokens=300, prefix_cache=True)
    with SimServer(cfg) as sim:
        result, sink = sessions_probe(sim)
        metrics = httpx.get(f"{sim.url}/metrics").text
    assert result.status == "completed"
    recs = sink.measured
    # the cache's effect is in the sim's /metrics too, in vLLM's names (tokens)
    hits = sum(r.cached_tokens or 0 for r in recs)
    assert f'vllm:prefix_cache_hits_total{{model_name="{cfg.model}"}} {float(hits)}' in metrics
    assert "vllm:prefix_cache_queries_total" in metrics
    assert len(recs) == 20 and all(r.ok for r in recs)
    block = summarize_sessions(recs, turns=5)
    assert block is not None and block.count == 4 and block.completed == 4
    inputs = block.input_tokens_by_turn
    assert all(b is not None and a is not None and b > a for a, b in itertools.pairwise(inputs))
    ttft = [t for t in block.ttft_ms_by_turn if t is not None]
    assert len(ttft) == 5
    # Turn 1 prefills the whole prompt; later turns only what the cache has not seen.
    assert ttft[0] > max(ttft[1:])
    cached = block.cached_tokens_by_turn
    assert cached[0] is not None and cached[0] < 1000 / 4  # concurrent first turns mostly miss
    assert all(c is not None and c > 0 for c in cached[1:])


def test_without_a_prefix_cache_ttft_grows_with_the_history() -> None:
    cfg = SimConfig(ttft_ms=20, tpot_ms=1, prefill_ms_per_1k_tokens=300)
    with SimServer(cfg) as sim:
        _, sink = sessions_probe(sim)
    block = summarize_sessions(sink.measured, turns=5)
    assert block is not None
    ttft = [t for t in block.ttft_ms_by_turn if t is not None]
    assert ttft[-1] > ttft[0]  # the sim's prefill lower bound: 300 ms per 1k prompt tokens
    assert all(c is None for c in block.cached_tokens_by_turn)


def test_each_turn_resends_the_history_with_the_real_answers() -> None:
    with SimServer(SimConfig(ttft_ms=1, tpot_ms=0)) as sim:
        result, sink = probe(
            sim, load_mode="sessions", sessions=2, turns=3, user_tokens=10, max_tokens=7
        )
        truth = {t.client_request_id: t for t in sim.truth()}
    by_session: dict[str, list[Any]] = {}
    for r in sink.measured:
        assert r.session_id is not None and r.session_id.startswith(result.info.run_id)
        assert r.output_text is None  # never kept beyond the conversation
        by_session.setdefault(r.session_id, []).append(r)
    assert len(by_session) == 2
    for recs in by_session.values():
        recs.sort(key=lambda r: r.turn)
        assert [r.turn for r in recs] == [1, 2, 3]
        prompts = [truth[f"{result.info.run_id}-{r.index}"].prompt_tokens for r in recs]
        # Each turn's prompt = the previous one + its 7-token answer + a new question.
        assert prompts[0] < prompts[1] < prompts[2]
        assert all(r.output_tokens == 7 for r in recs)


def test_a_trace_replays_on_its_timestamps(tmp_path: Path) -> None:
    trace = tmp_path / "t.jsonl"
    lines = [
        {"timestamp": 1000 + 40 * i, "input_length": 64, "output_length": 4, "hash_ids": [i % 3]}
        for i in range(30)
    ]
    trace.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    with SimServer(SimConfig(ttft_ms=5, tpot_ms=1, prefix_cache=True)) as sim:
        result, sink = probe(
            sim, load_mode="trace", trace_file=str(trace), trace_speed=2.0, concurrency=0,
            requests=None,
        )  # fmt: skip
    assert result.status == "completed"
    recs = sorted(sink.measured, key=lambda r: r.index)
    assert len(recs) == 30 and all(r.ok and r.output_tokens == 4 for r in recs)
    offsets = trace_offsets_s(load_trace(trace), 2.0)
    t0 = recs[0].scheduled_ms
    for r, off in zip(recs, offsets, strict=True):
        assert abs((r.scheduled_ms - t0) - off * 1000.0) < 1e-6  # the schedule is the trace's
        assert r.sent_ms >= r.scheduled_ms  # never early
    assert recs[-1].scheduled_ms - t0 == 29 * 20.0


def test_a_rate_the_server_cannot_serve_is_called_saturated_and_stopped() -> None:
    updates: list[ProgressUpdate] = []
    # One stream at a time, 100 ms each: 10 req/s at most, asked for 60 req/s.
    with SimServer(SimConfig(ttft_ms=50, tpot_ms=5, max_batch=1)) as sim:
        cfg = ProbeConfig(
            url=sim.base_url, model="inferlab-sim", load_mode="constant", rate_rps=60.0,
            concurrency=0, requests=None, duration_s=120.0, max_tokens=10, timeout_s=120,
            stop_on_saturation=True,
        )  # fmt: skip
        result = asyncio.run(run_probe(cfg, MemorySink(), progress=updates.append))
    assert result.saturation is not None and result.stopped_on_saturation
    assert "in flight" in result.saturation.reason or "TTFT" in result.saturation.reason
    assert result.dropped > 0
    assert any(u.saturation for u in updates)  # said live, in the progress
    meta = result.saturation_metadata()["saturation"]
    assert isinstance(meta, dict) and meta["stopped"] is True


def test_session_columns_survive_the_store(tmp_path: Path) -> None:
    with SimServer(SimConfig(ttft_ms=1, tpot_ms=0, prefix_cache=True)) as sim:
        cfg = ProbeConfig(
            url=sim.base_url, model="inferlab-sim", load_mode="sessions", sessions=2, turns=2,
            system_prompt_tokens=200, max_tokens=5,
        )  # fmt: skip
        store = Store(tmp_path / "s.duckdb")
        info = make_run_info(cfg)
        writer: Any = store.run_writer(info)  # a Sink whose close() also reports success
        asyncio.run(run_probe(cfg, writer, info=info))
    recs = store.records(info.run_id)
    assert sorted((r.session_id, r.turn) for r in recs) == sorted(
        (f"{info.run_id}-s{k}", t) for k in range(2) for t in (1, 2)
    )
    assert all(r.cached_tokens is not None for r in recs)
    assert any((r.cached_tokens or 0) > 0 for r in recs if r.turn == 2)
    stored = store.get_run(info.run_id)
    assert stored is not None and stored.load_mode == "sessions"
    assert stored.settings["sessions"] == {
        "count": 2, "turns": 2, "think_time_s": 0.0, "system_prompt_tokens": 200,
        "user_tokens": 64,
    }  # fmt: skip


def test_the_sim_reports_cached_prompt_tokens_in_usage() -> None:
    body = {
        "model": "inferlab-sim",
        "messages": [{"role": "user", "content": "word " * 200}],
        "max_tokens": 3,
    }
    with SimServer(SimConfig(ttft_ms=0, tpot_ms=0, prefix_cache=True)) as sim:
        first = httpx.post(f"{sim.base_url}/chat/completions", json=body).json()["usage"]
        again = httpx.post(f"{sim.base_url}/chat/completions", json=body).json()["usage"]
        stats = httpx.get(f"{sim.url}/sim/stats").json()["prefix_cache"]
    assert first["prompt_tokens_details"]["cached_tokens"] == 0
    cached = again["prompt_tokens_details"]["cached_tokens"]
    assert 0 < cached < again["prompt_tokens"]  # whole 16-token blocks, never the last token
    assert stats["hit_tokens"] == cached
    with SimServer(SimConfig(ttft_ms=0, tpot_ms=0)) as sim:
        plain = httpx.post(f"{sim.base_url}/chat/completions", json=body).json()["usage"]
    assert "prompt_tokens_details" not in plain
