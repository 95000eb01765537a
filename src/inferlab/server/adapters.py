"""Which server names mean which logical field, per server kind.

A server kind is detected from the name prefixes present in a scrape
(`vllm:`, `sglang:`, `tgi_`, `llamacpp:`, `trtllm_`/`trtllm:`, `nv_`). Each
logical field lists candidate series, newest naming first; the first one the
server exposes is used. Histograms are in seconds unless `scale_ms` says
otherwise (Triton's are in microseconds or milliseconds).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["ADAPTERS", "Adapter", "Series", "ServerKind", "adapter_for", "detect_kind"]

ServerKind = Literal["vllm", "sglang", "tgi", "llamacpp", "trtllm", "triton"]


@dataclass(frozen=True)
class Series:
    """A metric by base name, optionally restricted to label values."""

    name: str  # histogram base name, counter sample name (with _total), gauge name
    where: tuple[tuple[str, str], ...] = ()
    scale_ms: float = 1000.0  # histogram unit -> ms (seconds by default)


@dataclass(frozen=True)
class Adapter:
    """A server kind's names for the logical fields (empty tuple = the server does not say)."""

    kind: ServerKind
    prefixes: tuple[str, ...]
    ttft: tuple[Series, ...] = ()
    itl: tuple[Series, ...] = ()  # time per output token / inter-token latency
    e2e: tuple[Series, ...] = ()
    queue: tuple[Series, ...] = ()
    prefill: tuple[Series, ...] = ()
    running: tuple[Series, ...] = ()
    waiting: tuple[Series, ...] = ()
    kv_cache_fraction: tuple[Series, ...] = ()  # 0..1
    prompt_tokens: tuple[Series, ...] = ()  # counters (sample names)
    generation_tokens: tuple[Series, ...] = ()
    cached_prompt_tokens: tuple[Series, ...] = ()
    requests_completed: tuple[Series, ...] = ()
    # Counter pairs whose delta ratio is a mean in ms: (numerator in s, denominator).
    decode_seconds_per_token: tuple[tuple[Series, Series], ...] = ()
    queue_us_per_request: tuple[tuple[Series, Series], ...] = field(default=())


def _s(*names: str) -> tuple[Series, ...]:
    return tuple(Series(n) for n in names)


def _vllm_like(kind: ServerKind, p: str) -> Adapter:
    return Adapter(
        kind=kind,
        prefixes=(p,),
        ttft=_s(f"{p}time_to_first_token_seconds"),
        itl=_s(f"{p}inter_token_latency_seconds", f"{p}time_per_output_token_seconds"),
        e2e=_s(f"{p}e2e_request_latency_seconds"),
        queue=_s(f"{p}request_queue_time_seconds", f"{p}queue_time_seconds"),
        prefill=_s(f"{p}request_prefill_time_seconds"),
        running=_s(f"{p}num_requests_running", f"{p}num_running_reqs"),
        waiting=_s(f"{p}num_requests_waiting", f"{p}num_queue_reqs"),
        kv_cache_fraction=_s(
            f"{p}kv_cache_usage_perc", f"{p}gpu_cache_usage_perc", f"{p}token_usage"
        ),
        prompt_tokens=_s(f"{p}prompt_tokens_total"),
        generation_tokens=_s(f"{p}generation_tokens_total"),
        cached_prompt_tokens=_s(f"{p}prefix_cache_hits_total", f"{p}cached_tokens_total"),
        requests_completed=_s(f"{p}request_success_total", f"{p}num_requests_total"),
    )


def _trtllm(p: str) -> Adapter:
    return Adapter(
        kind="trtllm",
        prefixes=(p,),
        ttft=_s(f"{p}time_to_first_token_seconds"),
        itl=_s(f"{p}time_per_output_token_seconds"),
        e2e=_s(f"{p}e2e_request_latency_seconds"),
        queue=_s(f"{p}request_queue_time_seconds"),
        requests_completed=_s(f"{p}request_success_total"),
    )


ADAPTERS: tuple[Adapter, ...] = (
    _vllm_like("vllm", "vllm:"),
    _vllm_like("sglang", "sglang:"),
    Adapter(
        kind="tgi",
        prefixes=("tgi_",),
        itl=_s("tgi_request_mean_time_per_token_duration"),
        e2e=_s("tgi_request_duration"),
        queue=_s("tgi_request_queue_duration"),
        running=_s("tgi_batch_current_size"),
        waiting=_s("tgi_queue_size"),
        # TGI counts tokens in histograms; their _sum series are the totals.
        prompt_tokens=_s("tgi_request_input_length_sum"),
        generation_tokens=_s("tgi_request_generated_tokens_sum"),
        requests_completed=_s("tgi_request_success_total"),
    ),
    Adapter(
        kind="llamacpp",
        prefixes=("llamacpp:",),
        running=_s("llamacpp:requests_processing"),
        waiting=_s("llamacpp:requests_deferred"),
        kv_cache_fraction=_s("llamacpp:kv_cache_usage_ratio"),
        prompt_tokens=_s("llamacpp:prompt_tokens_total"),
        generation_tokens=_s("llamacpp:tokens_predicted_total"),
        cached_prompt_tokens=_s("llamacpp:prompt_tokens_cached_total"),
        decode_seconds_per_token=(
            (
                Series("llamacpp:tokens_predicted_seconds_total"),
                Series("llamacpp:tokens_predicted_total"),
            ),
        ),
    ),
    _trtllm("trtllm_"),
    _trtllm("trtllm:"),
    Adapter(
        kind="triton",
        prefixes=("nv_",),
        ttft=(Series("nv_inference_first_response_histogram_ms", scale_ms=1.0),),
        running=(Series("nv_trt_llm_request_metrics", (("request_type", "active"),)),),
        waiting=(
            Series("nv_trt_llm_request_metrics", (("request_type", "waiting"),)),
            Series("nv_inference_pending_request_count"),
        ),
        kv_cache_fraction=(
            Series("nv_trt_llm_kv_cache_block_metrics", (("kv_cache_block_type", "fraction"),)),
        ),
        requests_completed=_s("nv_inference_request_success_total"),
        # prometheus-client's parser names every counter sample `..._total`.
        queue_us_per_request=(
            (
                Series("nv_inference_queue_duration_us_total"),
                Series("nv_inference_request_success_total"),
            ),
        ),
    ),
)


KIND_NAMES: dict[ServerKind, str] = {
    "vllm": "vLLM",
    "sglang": "SGLang",
    "tgi": "TGI",
    "llamacpp": "llama.cpp",
    "trtllm": "TensorRT-LLM",
    "triton": "Triton",
}
SIM_INFO_METRIC = "inferlab_sim_info"  # the built-in simulator's marker (sim/metrics.py)


def server_name(kind: ServerKind | None, simulated: bool = False) -> str:
    """'vLLM', 'llama.cpp', ...; the simulator says what it is: it only borrows vLLM's names."""
    if simulated:
        return "inferlab simulator (vLLM's metric names)"
    return "unknown server" if kind is None else KIND_NAMES[kind]


def detect_kind(names: Iterable[str]) -> ServerKind | None:
    """The server kind whose prefix most names carry; None if no known prefix is present."""
    counts: dict[ServerKind, int] = {}
    for name in names:
        for adapter in ADAPTERS:
            if any(name.startswith(p) for p in adapter.prefixes):
                counts[adapter.kind] = counts.get(adapter.kind, 0) + 1
    if not counts:
        return None
    # Triton hosting a TRT-LLM model exposes both nv_ and (via the backend) nv_trt_llm_;
    # either way the count decides, ties resolved in ADAPTERS order.
    return max(counts, key=lambda k: (counts[k], -[a.kind for a in ADAPTERS].index(k)))


def adapter_for(kind: ServerKind, names: Iterable[str] = ()) -> Adapter:
    """The adapter of `kind` (for trtllm, the prefix variant the names use)."""
    present = list(names)
    candidates = [a for a in ADAPTERS if a.kind == kind]
    for adapter in candidates:
        if any(n.startswith(adapter.prefixes) for n in present):
            return adapter
    return candidates[0]
