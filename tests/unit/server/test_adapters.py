"""Each server kind's documented /metrics text, read into the server block."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from inferlab.server import ClientTotals, Scrape, detect_kind, parse_metrics_text, server_view

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "server_metrics"
CLIENT = ClientTotals(requests=1000, completed=1000, prompt_tokens=None, output_tokens=10**6)


def run_of(kind: str) -> dict[str, object]:
    """A run whose baseline scrape had every value at 0 and whose last is the fixture."""
    after = parse_metrics_text((FIXTURES / f"{kind}.txt").read_text())
    before = [replace(s, value=0.0) for s in after]
    scrapes = [
        Scrape("http://h/metrics", 0.0, True, None, tuple(before)),
        Scrape("http://h/metrics", 1000.0, True, None, tuple(after)),
    ]
    return server_view("http://h/metrics", scrapes, CLIENT).to_json()


@pytest.mark.parametrize("kind", ["vllm", "sglang", "tgi", "llamacpp", "trtllm", "triton"])
def test_kind_is_detected_from_the_name_prefixes(kind: str) -> None:
    samples = parse_metrics_text((FIXTURES / f"{kind}.txt").read_text())
    assert detect_kind(s.name for s in samples) == kind


def test_vllm_histograms_give_exact_means_and_bucket_estimates() -> None:
    v = run_of("vllm")
    assert v["kind"] == "vllm" and v["scrapes"] == 2
    assert v["simulated"] is False  # a real vLLM's names, without the sim's marker
    assert (v["prompt_tokens"], v["generation_tokens"], v["requests_completed"]) == (1280, 1270, 10)
    # TTFT buckets 20/40/60/100 ms hold 0/4/8/10: the median (rank 5) is 40 + 20 * 1/4.
    assert v["ttft_ms"] == {"mean": 45.0, "p50_estimate": 45.0, "p99_estimate": 98.0}
    assert v["decode_ms_per_token"] == 20.0
    assert v["queue_ms"] == {"mean": 10.0, "p50_estimate": 150.0, "p99_estimate": 297.0}
    assert (v["running_max"], v["waiting_max"], v["kv_cache_max_pct"]) == (3, 1, 25.0)
    assert v["other_traffic"] is False
    assert any("estimate" in n for n in v["notes"])  # type: ignore[attr-defined]


def test_sglang() -> None:
    v = run_of("sglang")
    assert (v["prompt_tokens"], v["generation_tokens"], v["requests_completed"]) == (640, 500, 5)
    assert v["ttft_ms"]["mean"] == 140.0  # type: ignore[index]
    assert v["decode_ms_per_token"] == 15.0
    assert (v["running_max"], v["waiting_max"], v["kv_cache_max_pct"]) == (2, 5, 50.0)


def test_tgi_counts_tokens_from_its_length_histograms_and_has_no_ttft() -> None:
    v = run_of("tgi")
    assert (v["prompt_tokens"], v["generation_tokens"], v["requests_completed"]) == (512, 400, 4)
    assert v["ttft_ms"] is None
    assert v["decode_ms_per_token"] == 30.0
    assert v["queue_ms"]["mean"] == 5.0  # type: ignore[index]


def test_llamacpp_decode_time_per_token_is_the_ratio_of_its_counters() -> None:
    v = run_of("llamacpp")
    assert (v["prompt_tokens"], v["generation_tokens"]) == (300, 400)
    assert v["decode_ms_per_token"] == 20.0  # 8 s / 400 tokens
    assert v["ttft_ms"] is None and v["queue_ms"] is None and v["requests_completed"] is None
    assert (v["running_max"], v["waiting_max"], v["kv_cache_max_pct"]) == (1, 0, None)


def test_tensorrt_llm() -> None:
    v = run_of("trtllm")
    assert v["requests_completed"] == 8 and v["generation_tokens"] is None
    assert v["ttft_ms"]["mean"] == 30.0  # type: ignore[index]
    assert v["decode_ms_per_token"] == 10.0
    assert v["queue_ms"]["mean"] == 50.0  # type: ignore[index]


def test_triton_queue_mean_from_its_microsecond_counter() -> None:
    v = run_of("triton")
    assert v["requests_completed"] == 10
    assert v["queue_ms"] == {"mean": 5.0, "p50_estimate": None, "p99_estimate": None}
    assert (v["running_max"], v["waiting_max"], v["kv_cache_max_pct"]) == (4, 2, 12.5)


def test_servers_are_named_as_people_call_them() -> None:
    from inferlab.server.adapters import server_name

    assert server_name("llamacpp") == "llama.cpp" and server_name("trtllm") == "TensorRT-LLM"
    assert server_name(None) == "unknown server"
    assert server_name("vllm", simulated=True) == "inferlab simulator (vLLM's metric names)"
