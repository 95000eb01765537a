"""The sim's Prometheus /metrics, in vLLM's names, from what the sim actually did.

Built on prometheus-client's registry and exposition (one registry per sim, so
several sims in one process never share counters). Histograms are in seconds,
as vLLM's are; the KV-cache gauge is the fraction of batch slots in use (the
sim has no real cache, and this is what fills one).
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, generate_latest

from inferlab import __version__

__all__ = ["CONTENT_TYPE", "SIM_INFO", "SimMetrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
SIM_INFO = "inferlab_sim"  # exposed as inferlab_sim_info{version="..."} 1.0

# vLLM's own bucket edges for TTFT and inter-token latency (seconds); queue and prefill
# use the TTFT edges too (vLLM's start at 0.3 s, too coarse for the sim's short waits).
_TTFT_BUCKETS = (
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0,
    2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0,
)  # fmt: skip
_ITL_BUCKETS = (
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5,
    5.0, 7.5, 10.0, 20.0, 40.0, 80.0,
)  # fmt: skip
_REQUEST_BUCKETS = (
    0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0,
    60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0,
)  # fmt: skip


class SimMetrics:
    """Counters, histograms and gauges of one sim, updated as it serves."""

    def __init__(
        self,
        model: str,
        running: Callable[[], float],
        waiting: Callable[[], float],
        max_batch: int,
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        labels = ["model_name"]
        r = self.registry
        self._model = model
        self.prompt_tokens = Counter(
            "vllm:prompt_tokens", "Number of prefill tokens processed.", labels, registry=r
        ).labels(model)
        self.generation_tokens = Counter(
            "vllm:generation_tokens", "Number of generation tokens processed.", labels, registry=r
        ).labels(model)
        # vLLM's prefix-cache counters, in tokens: looked up, and found cached.
        self.prefix_queries = Counter(
            "vllm:prefix_cache_queries", "Prefix cache queries, in tokens.", labels, registry=r
        ).labels(model)
        self.prefix_hits = Counter(
            "vllm:prefix_cache_hits", "Prefix cache hits, in tokens.", labels, registry=r
        ).labels(model)
        self._success = Counter(
            "vllm:request_success",
            "Count of successfully processed requests.",
            [*labels, "finished_reason"],
            registry=r,
        )
        self.ttft = Histogram(
            "vllm:time_to_first_token_seconds",
            "Histogram of time to first token in seconds.",
            labels,
            buckets=_TTFT_BUCKETS,
            registry=r,
        ).labels(model)
        self.itl = Histogram(
            "vllm:inter_token_latency_seconds",
            "Histogram of inter-token latency in seconds.",
            labels,
            buckets=_ITL_BUCKETS,
            registry=r,
        ).labels(model)
        self.e2e = Histogram(
            "vllm:e2e_request_latency_seconds",
            "Histogram of end to end request latency in seconds.",
            labels,
            buckets=_REQUEST_BUCKETS,
            registry=r,
        ).labels(model)
        self.prefill = Histogram(
            "vllm:request_prefill_time_seconds",
            "Histogram of time spent in PREFILL phase for request.",
            labels,
            buckets=_TTFT_BUCKETS,
            registry=r,
        ).labels(model)
        self.queue = Histogram(
            "vllm:request_queue_time_seconds",
            "Histogram of time spent in WAITING phase for request.",
            labels,
            buckets=_TTFT_BUCKETS,
            registry=r,
        ).labels(model)
        # Says which server this really is: vLLM's names, but simulated timings.
        Info(SIM_INFO, "The inferlab simulator (vLLM's metric names).", registry=r).info(
            {"version": __version__}
        )
        Gauge(
            "vllm:num_requests_running", "Number of requests in model execution batches.", labels,
            registry=r,
        ).labels(model).set_function(running)  # fmt: skip
        Gauge(
            "vllm:num_requests_waiting", "Number of requests waiting to be processed.", labels,
            registry=r,
        ).labels(model).set_function(waiting)  # fmt: skip
        Gauge(
            "vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", labels,
            registry=r,
        ).labels(model).set_function(lambda: running() / max(max_batch, 1))  # fmt: skip

    def success(self, finished_reason: str) -> None:
        self._success.labels(self._model, finished_reason).inc()

    def exposition(self) -> bytes:
        """The registry in Prometheus text format."""
        return generate_latest(self.registry)
