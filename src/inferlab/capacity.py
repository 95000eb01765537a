"""Throughput and capacity: Little's law, capacity planning and roofline estimates.

Conventions: times in milliseconds or seconds as the name says; memory in GB
(10⁹ bytes), bandwidth in TB/s (10¹² bytes/s), compute in TFLOPS (10¹²
FLOP/s, dense, no sparsity). The roofline model is the usual first-order one:
a decode step reads every weight once plus the KV cache of every sequence in
the batch, so it cannot be faster than bytes / bandwidth; prefill does about
2 x params FLOPs per prompt token, so it cannot be faster than FLOPs / peak.
Attention FLOPs, activations and communication between GPUs are ignored; the
efficiency factors MBU and MFU stand for everything the model leaves out.
Every function raises ValueError with a message naming the bad input.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from inferlab.metrics.latency import total_latency_exact_ms

__all__ = [
    "BYTES_PER_PARAM",
    "DEFAULT_MBU",
    "DEFAULT_MEMORY_UTILISATION",
    "DEFAULT_MFU",
    "MODEL_PRESETS",
    "PRECISIONS",
    "BatchPoint",
    "CapacityPlan",
    "GpuSpec",
    "KvBudget",
    "ModelShape",
    "Roofline",
    "RunPrediction",
    "ThroughputFromLatency",
    "batch_sizes",
    "concurrency_for_rps",
    "decode_step_ms",
    "implied_mbu",
    "kv_budget",
    "little_concurrency",
    "little_rps",
    "max_batch_for_latency",
    "plan_capacity",
    "predict_run",
    "prefill_ms",
    "request_latency_s",
    "ridge_point_flop_per_byte",
    "roofline",
    "throughput_from_latency",
    "tpot_floor_ms",
    "tradeoff_curve",
]

BYTES_PER_PARAM: dict[str, float] = {"BF16": 2.0, "FP8": 1.0, "INT4": 0.5}
PRECISIONS: tuple[str, ...] = tuple(BYTES_PER_PARAM)
# Sensible defaults for a tuned serving engine: decode reaches roughly 60-80 % of peak
# memory bandwidth, prefill roughly 40-60 % of peak dense FLOPS.
DEFAULT_MBU = 0.7
DEFAULT_MFU = 0.5
# Share of GPU memory the engine may use for weights + KV cache (vLLM's default 0.9).
DEFAULT_MEMORY_UTILISATION = 0.9


def _check(name: str, value: float, *, low: float = 0.0, strict: bool = True) -> None:
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if strict and value <= low:
        raise ValueError(f"{name} must be greater than {low:g}, got {value:g}")
    if not strict and value < low:
        raise ValueError(f"{name} must be at least {low:g}, got {value:g}")


def _check_share(name: str, value: float) -> None:
    if not math.isfinite(value) or not 0 < value <= 1:
        raise ValueError(f"{name} must be above 0 and at most 1 (100 %), got {value:g}")


# ---------------------------------------------------------------- Little's law


def request_latency_s(ttft_ms: float, tpot_ms: float, output_tokens: float) -> float:
    """Exact end-to-end latency of one request: TTFT + TPOT x (N - 1), in seconds."""
    _check("TTFT", ttft_ms, strict=False)
    _check("TPOT", tpot_ms, strict=False)
    _check("output tokens", output_tokens, low=1, strict=False)
    return total_latency_exact_ms(ttft_ms, tpot_ms, output_tokens) / 1000.0


def little_concurrency(rps: float, latency_s: float) -> float:
    """Little's law L = λ x W: requests in flight = arrival rate x time each spends inside."""
    _check("requests per second", rps, strict=False)
    _check("latency", latency_s, strict=False)
    return rps * latency_s


def little_rps(concurrency: float, latency_s: float) -> float:
    """Little's law solved for the rate: λ = L / W."""
    _check("concurrency", concurrency, strict=False)
    _check("latency", latency_s)
    return concurrency / latency_s


@dataclass(frozen=True)
class ThroughputFromLatency:
    concurrency: float
    latency_s: float
    rps: float
    output_tokens_per_s: float


def throughput_from_latency(
    concurrency: float, ttft_ms: float, tpot_ms: float, output_tokens: float
) -> ThroughputFromLatency:
    """RPS and output tokens/s of `concurrency` streams that each take TTFT + TPOT x (N - 1)."""
    _check("concurrency", concurrency)
    latency_s = request_latency_s(ttft_ms, tpot_ms, output_tokens)
    if latency_s <= 0:
        raise ValueError("TTFT and TPOT are both 0: a request must take some time")
    rps = little_rps(concurrency, latency_s)
    return ThroughputFromLatency(concurrency, latency_s, rps, rps * output_tokens)


def concurrency_for_rps(
    target_rps: float, ttft_ms: float, tpot_ms: float, output_tokens: float
) -> float:
    """Requests that must be in flight to sustain `target_rps` at this per-request latency."""
    _check("target requests per second", target_rps, strict=False)
    return little_concurrency(target_rps, request_latency_s(ttft_ms, tpot_ms, output_tokens))


# ---------------------------------------------------------------- capacity planning


@dataclass(frozen=True)
class CapacityPlan:
    arrival_rps: float
    required_concurrency: float
    replicas: int
    concurrency_per_replica: float
    utilisation: float  # average share of the replicas' slots in use
    input_tokens_per_s: float
    output_tokens_per_s: float


def plan_capacity(
    users: float,
    requests_per_user_per_min: float,
    input_tokens: float,
    output_tokens: float,
    latency_s: float,
    concurrency_per_replica: float,
    target_utilisation: float = 0.8,
) -> CapacityPlan:
    """Replicas needed so `users` get answers within `latency_s` on average.

    Arrival rate λ = users x requests/user/min / 60; Little's law gives the
    requests in flight L = λ x latency; each replica serves
    `concurrency_per_replica` at that latency, filled only to
    `target_utilisation` to leave headroom for bursts.
    """
    _check("users", users, strict=False)
    _check("requests per user per minute", requests_per_user_per_min, strict=False)
    _check("input tokens per request", input_tokens, strict=False)
    _check("output tokens per request", output_tokens, low=1, strict=False)
    _check("target latency", latency_s)
    _check("concurrent requests per replica", concurrency_per_replica)
    _check_share("target utilisation", target_utilisation)
    rps = users * requests_per_user_per_min / 60.0
    inflight = little_concurrency(rps, latency_s)
    replicas = max(1, math.ceil(inflight / (concurrency_per_replica * target_utilisation) - 1e-9))
    return CapacityPlan(
        arrival_rps=rps,
        required_concurrency=inflight,
        replicas=replicas,
        concurrency_per_replica=concurrency_per_replica,
        utilisation=inflight / (replicas * concurrency_per_replica),
        input_tokens_per_s=rps * input_tokens,
        output_tokens_per_s=rps * output_tokens,
    )


# ---------------------------------------------------------------- roofline


@dataclass(frozen=True)
class GpuSpec:
    """One accelerator: dense peak figures from the vendor's datasheet."""

    name: str
    memory_gb: float
    bandwidth_tb_s: float
    bf16_tflops: float
    fp8_tflops: float | None = None
    source_url: str = ""
    as_of: str = ""

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("GPU name must not be empty")
        _check(f"{self.name}: memory (GB)", self.memory_gb)
        _check(f"{self.name}: bandwidth (TB/s)", self.bandwidth_tb_s)
        _check(f"{self.name}: BF16 TFLOPS", self.bf16_tflops)
        if self.fp8_tflops is not None:
            _check(f"{self.name}: FP8 TFLOPS", self.fp8_tflops)

    def tflops(self, precision: str) -> float:
        """Dense peak for the matmuls of `precision` weights.

        FP8 uses the FP8 tensor cores where the GPU has them; INT4 is
        weight-only quantisation whose matmuls run in BF16.
        """
        if precision == "FP8" and self.fp8_tflops is not None:
            return self.fp8_tflops
        return self.bf16_tflops


@dataclass(frozen=True)
class ModelShape:
    """What the roofline needs to know about a dense transformer."""

    params_b: float
    precision: str = "BF16"
    n_layers: int = 32
    n_kv_heads: int = 8
    head_dim: int = 128
    kv_precision: str = "BF16"

    def __post_init__(self) -> None:
        _check("model size (billion parameters)", self.params_b)
        for label, value in (("weight", self.precision), ("KV-cache", self.kv_precision)):
            if value not in BYTES_PER_PARAM:
                raise ValueError(
                    f"{label} precision must be one of {', '.join(PRECISIONS)}, got {value!r}"
                )
        _check("layers", self.n_layers)
        _check("KV heads", self.n_kv_heads)
        _check("head dimension", self.head_dim)

    @property
    def weight_bytes(self) -> float:
        return self.params_b * 1e9 * BYTES_PER_PARAM[self.precision]

    @property
    def kv_bytes_per_token(self) -> float:
        """K and V, every layer: 2 x layers x KV heads x head dim x bytes."""
        return (
            2.0
            * self.n_layers
            * self.n_kv_heads
            * self.head_dim
            * BYTES_PER_PARAM[self.kv_precision]
        )


# Published architectures (config.json of each model): (params_b, layers, KV heads, head dim).
MODEL_PRESETS: dict[str, tuple[float, int, int, int]] = {
    "Llama 3.1 8B": (8.0, 32, 8, 128),
    "Llama 3.1 70B": (70.0, 80, 8, 128),
    "Llama 3.1 405B": (405.0, 126, 8, 128),
    "Mistral 7B": (7.2, 32, 8, 128),
    "Qwen2.5 32B": (32.5, 64, 8, 128),
}


def _gpus(n_gpus: int) -> None:
    if n_gpus < 1:
        raise ValueError(f"number of GPUs must be at least 1, got {n_gpus}")


def decode_step_ms(
    gpu: GpuSpec,
    model: ModelShape,
    batch: int = 1,
    context_tokens: float = 0.0,
    n_gpus: int = 1,
    mbu: float = 1.0,
    mfu: float = 1.0,
) -> tuple[float, float]:
    """(memory-bound ms, compute-bound ms) of one decode step for `batch` sequences.

    Memory: (weights + batch x context x KV bytes/token) / (bandwidth x MBU).
    Compute: 2 x params x batch / (FLOPS x MFU). The step takes the larger one.
    """
    _gpus(n_gpus)
    if batch < 1:
        raise ValueError(f"batch size must be at least 1, got {batch}")
    _check("context tokens", context_tokens, strict=False)
    _check_share("MBU", mbu)
    _check_share("MFU", mfu)
    bytes_moved = model.weight_bytes + batch * context_tokens * model.kv_bytes_per_token
    memory_ms = bytes_moved / (gpu.bandwidth_tb_s * 1e12 * n_gpus * mbu) * 1000.0
    flops = 2.0 * model.params_b * 1e9 * batch
    compute_ms = flops / (gpu.tflops(model.precision) * 1e12 * n_gpus * mfu) * 1000.0
    return memory_ms, compute_ms


def tpot_floor_ms(
    gpu: GpuSpec,
    model: ModelShape,
    batch: int = 1,
    context_tokens: float = 0.0,
    n_gpus: int = 1,
    mbu: float = 1.0,
    mfu: float = 1.0,
) -> float:
    """Lower bound on TPOT: the slower of the memory and compute time of one decode step."""
    return max(decode_step_ms(gpu, model, batch, context_tokens, n_gpus, mbu, mfu))


def prefill_ms(
    gpu: GpuSpec, model: ModelShape, prompt_tokens: float, n_gpus: int = 1, mfu: float = 1.0
) -> float:
    """Compute-bound prefill time: 2 x params x prompt tokens / (FLOPS x MFU)."""
    _gpus(n_gpus)
    _check("prompt tokens", prompt_tokens, strict=False)
    _check_share("MFU", mfu)
    flops = 2.0 * model.params_b * 1e9 * prompt_tokens
    return flops / (gpu.tflops(model.precision) * 1e12 * n_gpus * mfu) * 1000.0


def ridge_point_flop_per_byte(gpu: GpuSpec, precision: str = "BF16") -> float:
    """Arithmetic intensity where the roofline turns from memory- to compute-bound."""
    return gpu.tflops(precision) / gpu.bandwidth_tb_s


@dataclass(frozen=True)
class KvBudget:
    usable_gb: float
    weights_gb: float
    kv_free_gb: float
    kv_bytes_per_token: float
    max_tokens: int
    max_batch: int  # sequences of the given context length that fit at once
    fits: bool  # do the weights fit at all?


def kv_budget(
    gpu: GpuSpec,
    model: ModelShape,
    context_tokens: float,
    n_gpus: int = 1,
    memory_utilisation: float = DEFAULT_MEMORY_UTILISATION,
) -> KvBudget:
    """KV-cache memory left after the weights, and how many sequences of `context_tokens` fit."""
    _gpus(n_gpus)
    _check("context tokens", context_tokens)
    _check_share("memory utilisation", memory_utilisation)
    usable_gb = gpu.memory_gb * n_gpus * memory_utilisation
    weights_gb = model.weight_bytes / 1e9
    free_gb = max(usable_gb - weights_gb, 0.0)
    max_tokens = int(free_gb * 1e9 // model.kv_bytes_per_token)
    return KvBudget(
        usable_gb=usable_gb,
        weights_gb=weights_gb,
        kv_free_gb=free_gb,
        kv_bytes_per_token=model.kv_bytes_per_token,
        max_tokens=max_tokens,
        max_batch=int(max_tokens // context_tokens),
        fits=weights_gb <= usable_gb,
    )


@dataclass(frozen=True)
class Roofline:
    tpot_floor_ms: float  # batch 1, 100 % bandwidth, no KV reads: the textbook floor
    tpot_floor_kv_ms: float  # at `batch` and full context, 100 % bandwidth
    tpot_estimate_ms: float  # at `batch` and full context, with MBU/MFU
    prefill_floor_ms: float
    prefill_estimate_ms: float
    ridge_flop_per_byte: float
    decode_intensity_flop_per_byte: float
    compute_bound_batch: float  # batch where decode would cross the ridge (ignoring KV)
    kv: KvBudget
    tokens_per_s: float  # batch / estimated TPOT


def roofline(
    gpu: GpuSpec,
    model: ModelShape,
    prompt_tokens: float,
    output_tokens: float,
    batch: int = 1,
    n_gpus: int = 1,
    mbu: float = DEFAULT_MBU,
    mfu: float = DEFAULT_MFU,
    memory_utilisation: float = DEFAULT_MEMORY_UTILISATION,
) -> Roofline:
    """Every roofline figure the Throughput page shows, for one GPU/model/workload."""
    _check("output tokens", output_tokens, low=1, strict=False)
    context = prompt_tokens + output_tokens
    step_mem_ms, step_cmp_ms = decode_step_ms(gpu, model, batch, context, n_gpus, mbu, mfu)
    tpot_est = max(step_mem_ms, step_cmp_ms)
    bytes_moved = model.weight_bytes + batch * context * model.kv_bytes_per_token
    flops = 2.0 * model.params_b * 1e9 * batch
    return Roofline(
        tpot_floor_ms=tpot_floor_ms(gpu, model, 1, 0.0, n_gpus),
        tpot_floor_kv_ms=tpot_floor_ms(gpu, model, batch, context, n_gpus),
        tpot_estimate_ms=tpot_est,
        prefill_floor_ms=prefill_ms(gpu, model, prompt_tokens, n_gpus),
        prefill_estimate_ms=prefill_ms(gpu, model, prompt_tokens, n_gpus, mfu),
        ridge_flop_per_byte=ridge_point_flop_per_byte(gpu, model.precision),
        decode_intensity_flop_per_byte=flops / bytes_moved,
        compute_bound_batch=ridge_point_flop_per_byte(gpu, model.precision)
        * BYTES_PER_PARAM[model.precision]
        / 2.0,
        kv=kv_budget(gpu, model, context, n_gpus, memory_utilisation),
        tokens_per_s=batch / tpot_est * 1000.0,
    )


@dataclass(frozen=True)
class BatchPoint:
    batch: int
    tpot_ms: float
    tokens_per_s: float
    compute_bound: bool
    fits_kv: bool


def batch_sizes(max_batch: int) -> list[int]:
    """1, 2, 4, ... up to and including `max_batch` (at least [1])."""
    sizes, b = [], 1
    while b < max_batch:
        sizes.append(b)
        b *= 2
    sizes.append(max(int(max_batch), 1))
    return sorted(set(sizes))


def tradeoff_curve(
    gpu: GpuSpec,
    model: ModelShape,
    context_tokens: float,
    batches: Sequence[int],
    n_gpus: int = 1,
    mbu: float = DEFAULT_MBU,
    mfu: float = DEFAULT_MFU,
    memory_utilisation: float = DEFAULT_MEMORY_UTILISATION,
) -> list[BatchPoint]:
    """Estimated TPOT and total output tokens/s at each batch size (full context per sequence)."""
    limit = kv_budget(gpu, model, max(context_tokens, 1.0), n_gpus, memory_utilisation).max_batch
    points = []
    for b in batches:
        mem_ms, cmp_ms = decode_step_ms(gpu, model, b, context_tokens, n_gpus, mbu, mfu)
        tpot = max(mem_ms, cmp_ms)
        points.append(BatchPoint(b, tpot, b / tpot * 1000.0, cmp_ms > mem_ms, b <= limit))
    return points


def max_batch_for_latency(
    gpu: GpuSpec,
    model: ModelShape,
    prompt_tokens: float,
    output_tokens: float,
    latency_s: float,
    n_gpus: int = 1,
    mbu: float = DEFAULT_MBU,
    mfu: float = DEFAULT_MFU,
    memory_utilisation: float = DEFAULT_MEMORY_UTILISATION,
) -> int:
    """Largest batch whose estimated prefill + (N - 1) x TPOT stays within `latency_s`
    and whose KV cache fits; 0 when not even one request makes it."""
    _check("target latency", latency_s)
    context = prompt_tokens + output_tokens
    limit = kv_budget(gpu, model, max(context, 1.0), n_gpus, memory_utilisation).max_batch
    pre_ms = prefill_ms(gpu, model, prompt_tokens, n_gpus, mfu)

    def ok(b: int) -> bool:
        tpot = tpot_floor_ms(gpu, model, b, context, n_gpus, mbu, mfu)
        return total_latency_exact_ms(pre_ms, tpot, output_tokens) / 1000.0 <= latency_s

    if limit < 1 or not ok(1):
        return 0
    lo, hi = 1, limit  # TPOT grows with the batch, so bisect on the largest ok batch
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if ok(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def implied_mbu(
    measured_tpot_ms: float,
    gpu: GpuSpec,
    model: ModelShape,
    batch: int = 1,
    context_tokens: float = 0.0,
    n_gpus: int = 1,
) -> float:
    """Memory bandwidth utilisation a measured TPOT implies: bytes per step / TPOT / peak."""
    _check("measured TPOT", measured_tpot_ms)
    memory_ms, _ = decode_step_ms(gpu, model, batch, context_tokens, n_gpus)
    return memory_ms / measured_tpot_ms


@dataclass(frozen=True)
class RunPrediction:
    """What the roofline predicts for a measured closed-loop run."""

    tpot_ms: float
    e2e_ms: float  # prefill + (N - 1) x TPOT
    output_tokens_per_s: float  # concurrency x N / E2E, by Little's law


def predict_run(
    gpu: GpuSpec,
    model: ModelShape,
    concurrency: int,
    context_tokens: float,
    output_tokens: float,
    n_gpus: int = 1,
    mbu: float = DEFAULT_MBU,
    mfu: float = DEFAULT_MFU,
) -> RunPrediction:
    """TPOT, E2E and output tokens/s the roofline predicts at `concurrency` streams."""
    tpot = tpot_floor_ms(gpu, model, concurrency, context_tokens, n_gpus, mbu, mfu)
    prefill = prefill_ms(gpu, model, context_tokens - output_tokens, n_gpus, mfu)
    e2e = total_latency_exact_ms(prefill, tpot, output_tokens)
    return RunPrediction(tpot, e2e, concurrency / e2e * 1000.0 * output_tokens)
